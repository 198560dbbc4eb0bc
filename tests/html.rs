//! HTML reports in a real browser: Debian's Chromium, headless, renders the demo's before/after
//! page, a scan with certificate findings and hostile servers, a policy check, and a scan with
//! its cipher suites (`--suites`) with a check forbidding weak ones. Each page is
//! read back from the browser's DOM (every endpoint, version cell and verdict there, the hostile
//! text shown as text, the optional script run under the page's own policy), checked to load
//! nothing (the browser's only way out is a recording proxy on loopback), validated with `tidy`,
//! and printed to PDF (A4, the matrix on paper). Screenshots at desktop and A4 width and the PDF
//! are kept under `target/tmp/html-report/` for people to look at.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rasn_ldap::{ExtendedResponse, LdapMessage, ProtocolOp, ResultCode};
use scraper::{ElementRef, Html, Selector};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use tlsmatrix::analysis::diff::{self, Diff};
use tlsmatrix::analysis::policy::CheckReport;
use tlsmatrix::capture::{ClientVerdict, ClientsReport};
use tlsmatrix::lab::pki::{self, CertSpec};
use tlsmatrix::lab::{Behaviour, Identity, LabServer};
use tlsmatrix::predict::PredictReport;
use tlsmatrix::report::{Report, TlsVersion};

use crate::util::*;

/// The browser binary itself: Debian's `/usr/bin/chromium` is a wrapper that adds flags for
/// remote extensions.
const CHROMIUM: [&str; 2] = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"];

/// Hosts Chromium itself calls (component updates, network time, sign-in) whatever the page.
/// They reach the recording proxy too and are told apart by name; anything else is the page's.
const BROWSER_OWN: [&str; 4] = [
    "update.googleapis.com",
    "clients2.google.com",
    "redirector.gvt1.com",
    "accounts.google.com",
];

fn chromium() -> Option<&'static str> {
    let found = CHROMIUM.into_iter().find(|p| Path::new(p).exists());
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("chromium is needed in CI (scripts/test installs it)");
        }
        eprintln!("\n*** SKIPPED: chromium missing; run scripts/test as root. ***\n");
    }
    found
}

/// Where the screenshots and PDFs are kept.
fn artefacts(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("html-report")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An HTTP proxy on loopback that answers nothing and writes down the host of every request
/// the browser sends it.
struct Recorder {
    addr: SocketAddr,
    hosts: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let hosts = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hosts.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut line = String::new();
                        let _ = BufReader::new(conn).read_line(&mut line);
                        h.lock().unwrap().push(request_host(&line));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Recorder {
            addr,
            hosts,
            stop,
            thread: Some(thread),
        }
    }

    /// The hosts requested, once the browser is done.
    fn finish(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.hosts.lock().unwrap().clone()
    }
}

/// `CONNECT host:443 HTTP/1.1` or `GET http://host:port/path HTTP/1.1` -> `host`.
fn request_host(line: &str) -> String {
    let target = line.split_whitespace().nth(1).unwrap_or("");
    let rest = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
        .unwrap_or(target);
    let authority = rest.split('/').next().unwrap_or("");
    match authority.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h.to_string(),
        _ => authority.to_string(),
    }
    .trim_matches(['[', ']'])
    .to_string()
}

/// What the browser made of a page.
struct Rendered {
    dom: String,
    /// The browser's log, console messages included (a blocked script or style says so here).
    log: String,
    /// Hosts the page asked for (the browser's own services left out).
    requests: Vec<String>,
    pdf: PathBuf,
}

/// One headless run on `page` with the proxy as the only way out, and `extra` arguments.
fn chromium_run(page: &Path, extra: &[String]) -> (String, String, Vec<String>) {
    let profile = tempfile::tempdir().unwrap();
    let proxy = Recorder::start();
    let mut cmd = Command::new(chromium().unwrap());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        "--mute-audio",
        "--enable-logging=stderr",
        "--v=0",
        // Loopback through the proxy too, and no name resolved anywhere.
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ])
    .arg(format!("--proxy-server=http://{}", proxy.addr))
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(format!("file://{}", page.canonicalize().unwrap().display()));
    // Into files, not pipes: a pipe nobody reads while waiting would stall the browser.
    let (out_path, err_path) = (profile.path().join("stdout"), profile.path().join("stderr"));
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = cmd.spawn().expect("start chromium");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish {} within 90s", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let requests = proxy
        .finish()
        .into_iter()
        .filter(|h| !BROWSER_OWN.contains(&h.as_str()))
        .collect();
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    (read(&out_path), read(&err_path), requests)
}

/// Render a page: its DOM, a desktop screenshot and its PDF in one run; a screenshot at the
/// width of an A4 page (794 CSS pixels) in another; the PDF's pages as pictures when poppler's
/// `pdftoppm` is there.
fn render(page: &Path, out: &Path, name: &str) -> Rendered {
    let pdf = out.join(format!("{name}.pdf"));
    let desktop = out.join(format!("{name}-desktop.png"));
    let a4 = out.join(format!("{name}-a4.png"));
    let (dom, log, mut requests) = chromium_run(
        page,
        &[
            "--dump-dom".into(),
            "--window-size=1400,2400".into(),
            format!("--screenshot={}", desktop.display()),
            "--no-pdf-header-footer".into(),
            format!("--print-to-pdf={}", pdf.display()),
        ],
    );
    let (_, log_a4, more) = chromium_run(
        page,
        &[
            "--window-size=794,2400".into(),
            format!("--screenshot={}", a4.display()),
        ],
    );
    requests.extend(more);
    for p in [&desktop, &a4, &pdf] {
        assert!(
            std::fs::metadata(p).is_ok_and(|m| m.len() > 1000),
            "{} was not written:\n{log}",
            p.display()
        );
    }
    if Path::new("/usr/bin/pdftoppm").exists() {
        let status = Command::new("pdftoppm")
            .args(["-png", "-r", "60"])
            .arg(&pdf)
            .arg(out.join(format!("{name}-print")))
            .status()
            .unwrap();
        assert!(status.success());
    }
    Rendered {
        dom,
        log: log + &log_a4,
        requests,
        pdf,
    }
}

/// Nothing loaded, nothing blocked, one script (ours, which ran), markup valid for tidy.
fn assert_self_contained(what: &str, page: &Path, r: &Rendered) {
    assert!(
        r.requests.is_empty(),
        "{what}: the page asked the network for {:?}",
        r.requests
    );
    assert!(
        !r.log.contains("Content Security Policy"),
        "{what}: the browser blocked something:\n{}",
        r.log
    );
    let doc = Html::parse_document(&r.dom);
    let all = Selector::parse("*").unwrap();
    let mut scripts = 0;
    for el in doc.select(&all) {
        let name = el.value().name();
        assert!(
            !matches!(
                name,
                "img"
                    | "iframe"
                    | "object"
                    | "embed"
                    | "video"
                    | "audio"
                    | "source"
                    | "form"
                    | "base"
                    | "image"
                    | "use"
                    | "foreignObject"
            ),
            "{what}: a <{name}> in the page"
        );
        scripts += usize::from(name == "script");
        for (attr, value) in el.value().attrs() {
            assert!(!attr.starts_with("on"), "{what}: {attr}={value:?}");
            if matches!(attr, "href" | "src" | "srcset" | "action" | "xlink:href") {
                assert!(
                    value.starts_with('#') || value == "data:,",
                    "{what}: {attr}={value:?} on <{name}>"
                );
            }
        }
    }
    assert_eq!(scripts, 1, "{what}: one script, the page's own");
    // The script ran (the page's policy let it): it shows the filter, hidden without it.
    let controls = Selector::parse(".controls").unwrap();
    if let Some(c) = doc.select(&controls).next() {
        assert!(
            c.value().attr("hidden").is_none(),
            "{what}: the script did not run"
        );
    }
    // No address in the file other than as text: every http(s) in it is inside the text of
    // the page or a tooltip, none in the style, the script or an attribute that loads.
    let source = std::fs::read_to_string(page).unwrap();
    let src_doc = Html::parse_document(&source);
    let mut shown = String::new();
    for node in src_doc.root_element().descendants() {
        if let Some(t) = node.value().as_text() {
            let parent = node
                .parent()
                .and_then(|p| p.value().as_element().map(|e| e.name()));
            if !matches!(parent, Some("script" | "style")) {
                shown.push_str(t);
            }
        } else if let Some(e) = node.value().as_element() {
            for (attr, value) in e.attrs() {
                if matches!(attr, "title" | "data-sort") {
                    shown.push_str(value);
                }
            }
        }
    }
    for scheme in ["http://", "https://"] {
        assert_eq!(
            source.matches(scheme).count(),
            shown.matches(scheme).count(),
            "{what}: {scheme} outside text"
        );
    }
    tidy(what, page);
}

/// `tidy` finds nothing to say (no error, no warning), where it is installed.
fn tidy(what: &str, page: &Path) {
    if !Path::new("/usr/bin/tidy").exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("tidy is needed in CI (scripts/test installs it)");
        }
        eprintln!("*** {what}: tidy missing, the page is not validated ***");
        return;
    }
    let out = Command::new("tidy")
        .args(["-q", "-e", "--show-warnings", "yes"])
        .arg(page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: tidy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The PDF is A4 and carries every string asked for (the print stylesheet hides none of it).
fn assert_printed(what: &str, pdf: &Path, wanted: &[String]) {
    if !Path::new("/usr/bin/pdftotext").exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("pdftotext is needed in CI (scripts/test installs poppler-utils)");
        }
        return;
    }
    let info = Command::new("pdfinfo").arg(pdf).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Page size:") && l.contains("(A4)")),
        "{what}: not A4:\n{info}"
    );
    // Reading order: a table cell's lines stay together.
    let text = Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    // Lines wrap in table cells: compare without white space.
    let squeeze = |s: &str| s.split_whitespace().collect::<String>();
    let text = squeeze(&String::from_utf8_lossy(&text.stdout));
    for w in wanted {
        assert!(text.contains(&squeeze(w)), "{what}: {w:?} not printed");
    }
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn text_of(e: ElementRef<'_>) -> String {
    e.text().collect::<String>()
}

/// The matrix rows, by the target their first cell names (not the suites table's).
fn rows<'a>(doc: &'a Html) -> Vec<(String, ElementRef<'a>)> {
    doc.select(&sel("table.matrix:not(.suites) tbody tr"))
        .map(|tr| {
            let name = tr
                .select(&sel("th.endpoint .target"))
                .next()
                .map(text_of)
                .unwrap_or_default();
            (name, tr)
        })
        .collect()
}

/// The headings of the matrix, without their sub-lines (`must work`, an address).
fn headers(doc: &Html) -> Vec<String> {
    doc.select(&sel("table.matrix:not(.suites) thead th"))
        .map(|th| {
            th.children()
                .filter_map(|n| n.value().as_text().map(|t| t.to_string()))
                .collect::<String>()
                .trim()
                .to_string()
        })
        .collect()
}

fn cells(tr: ElementRef<'_>) -> Vec<String> {
    tr.select(&sel("td")).map(text_of).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_sees_what_a_page_loads_and_what_its_policy_blocks() {
    if chromium().is_none() {
        return;
    }
    // The detector itself: a page that loads two images and runs a script its policy forbids.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("canary.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'\"><title>canary</title></head>\
         <body><img src=\"http://tlsmatrix-canary.invalid/a.png\"><img src=\"http://127.0.0.1:9/b.png\"><script>document.title='ran'</script></body></html>",
    )
    .unwrap();
    let (dom, log, requests) =
        tokio::task::spawn_blocking(move || chromium_run(&page, &["--dump-dom".into()]))
            .await
            .unwrap();
    assert!(
        requests.contains(&"tlsmatrix-canary.invalid".to_string()),
        "{requests:?}"
    );
    assert!(log.contains("Content Security Policy"), "{log}");
    assert!(dom.contains("<title>canary</title>"), "{dom}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_pages_in_a_browser_before_after_check_prediction_clients() {
    if chromium().is_none() {
        return;
    }
    let out = artefacts("demo");
    let saved = out.join("lab");
    let run = run_cli(&["demo", "--save", saved.to_str().unwrap()], &[], None).await;
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("report.html"), "{}", stderr(&run));
    let page = saved.join("report.html");
    // `diff --format html` to standard output is the same kind of page, naming both files.
    let (b, a) = (saved.join("before.json"), saved.join("after.json"));
    let to_stdout = run_cli(
        &[
            "diff",
            b.to_str().unwrap(),
            a.to_str().unwrap(),
            "--format",
            "html",
        ],
        &[],
        None,
    )
    .await;
    let text = stdout(&to_stdout);
    assert!(
        text.starts_with("<!DOCTYPE html>"),
        "{}",
        stderr(&to_stdout)
    );
    for f in [&b, &a] {
        assert!(text.contains(&*f.to_string_lossy()), "{f:?} is not named");
    }
    let before =
        tlsmatrix::report::load::load(saved.join("before.json").to_str().unwrap()).unwrap();
    let after = tlsmatrix::report::load::load(saved.join("after.json").to_str().unwrap()).unwrap();
    let d: Diff = diff::diff(&before, &after, (None, None), &Default::default());

    // The check of the after scan, from the command line as a person would run it.
    let after_file = saved.join("after.json");
    let check_page = out.join("check.html");
    let args = [
        "check",
        after_file.to_str().unwrap(),
        "--policy",
        "tls12-only-certs",
    ];
    let mut html_args = args.to_vec();
    html_args.extend(["-o", check_page.to_str().unwrap()]);
    run_cli(&html_args, &[], None).await;
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let check: CheckReport =
        serde_json::from_slice(&run_cli(&json_args, &[], None).await.stdout).expect("check JSON");

    // The demo's prediction page (clients x endpoints), and its capture as a clients page.
    let predict_page = saved.join("predict.html");
    let prediction: PredictReport =
        serde_json::from_slice(&std::fs::read(saved.join("predict.json")).unwrap()).unwrap();
    let clients_page = out.join("clients.html");
    let capture = saved.join("clients.pcap");
    let run = run_cli(
        &[
            "clients",
            capture.to_str().unwrap(),
            "-o",
            clients_page.to_str().unwrap(),
        ],
        &[],
        None,
    )
    .await;
    assert!(run.status.success(), "{}", stderr(&run));
    let seen: ClientsReport = serde_json::from_slice(
        &run_cli(
            &["clients", capture.to_str().unwrap(), "--format", "json"],
            &[],
            None,
        )
        .await
        .stdout,
    )
    .unwrap();

    let pages = [
        (page.clone(), "demo-diff"),
        (check_page.clone(), "check"),
        (predict_page.clone(), "predict"),
        (clients_page.clone(), "clients"),
    ];
    let mut handles = Vec::new();
    for (p, name) in pages {
        let o = out.clone();
        handles.push(tokio::task::spawn_blocking(move || render(&p, &o, name)));
    }
    let mut rendered = Vec::new();
    for h in handles {
        rendered.push(h.await.unwrap());
    }
    let clients_r = rendered.pop().unwrap();
    let predict_r = rendered.pop().unwrap();
    let check_r = rendered.pop().unwrap();
    let diff_r = rendered.pop().unwrap();

    // The prediction: a row per client, a cell per endpoint saying what the JSON says.
    assert_self_contained("predict", &predict_page, &predict_r);
    let doc = Html::parse_document(&predict_r.dom);
    let banner = text_of(doc.select(&sel(".banner")).next().unwrap());
    let breaking = prediction.breaking().len();
    assert!(
        banner.contains(&format!("{breaking} CLIENT")) || breaking == 0,
        "{banner}"
    );
    let hs = headers(&doc);
    for e in &prediction.endpoints {
        assert!(hs.contains(&e.target), "{}: {hs:?}", e.target);
    }
    let rs = rows(&doc);
    assert_eq!(rs.len(), prediction.clients.len());
    let mut printed = Vec::new();
    for (i, c) in prediction.clients.iter().enumerate() {
        let (_, tr) = rs
            .iter()
            .find(|(n, _)| *n == c.name)
            .unwrap_or_else(|| panic!("{} has no row", c.name));
        let cs = cells(*tr);
        assert_eq!(
            cs.len(),
            prediction.endpoints.len() + 1,
            "{}: {cs:?}",
            c.name
        );
        for j in 0..prediction.endpoints.len() {
            let cell = prediction.cell(i, j).unwrap();
            let short = tlsmatrix::output::predict_cell_short(cell);
            assert!(
                cs[j + 1].contains(&short),
                "{} {j}: {:?} lacks {short}",
                c.name,
                cs[j + 1]
            );
            printed.push(short);
        }
        printed.push(c.name.clone());
    }
    assert_printed("predict", &predict_r.pdf, &printed);

    // The clients of the capture: a row each, with its verdict.
    assert_self_contained("clients", &clients_page, &clients_r);
    let doc = Html::parse_document(&clients_r.dom);
    let trs: Vec<ElementRef<'_>> = doc.select(&sel("table.filterable tbody tr")).collect();
    assert_eq!(trs.len(), seen.rows.len());
    for row in &seen.rows {
        let tr = trs
            .iter()
            .find(|tr| {
                tr.select(&sel("th .target"))
                    .next()
                    .is_some_and(|t| text_of(t) == row.client.to_string())
            })
            .unwrap_or_else(|| panic!("{} has no row", row.client));
        let cs = cells(*tr);
        assert!(
            cs.last().unwrap().contains(match row.verdict {
                ClientVerdict::Breaks => "breaks",
                _ => "ok",
            }),
            "{}: {cs:?}",
            row.client
        );
        assert!(
            cs.iter().any(|c| c == &row.offered),
            "{}: {cs:?}",
            row.client
        );
    }
    let hellos = doc
        .select(&sel("table.matrix:not(.filterable) tbody tr"))
        .count();
    assert_eq!(hellos, seen.offers.len(), "a row per client hello");

    // The before/after page.
    assert_self_contained("demo diff", &page, &diff_r);
    let doc = Html::parse_document(&diff_r.dom);
    let banner = text_of(doc.select(&sel(".banner")).next().unwrap());
    assert!(
        banner.contains(if diff::passes(&d, false) {
            "PASS"
        } else {
            "FAIL"
        }),
        "{banner}"
    );
    let versions: Vec<TlsVersion> = TlsVersion::ALL.to_vec();
    let hs = headers(&doc);
    for v in &versions {
        assert!(hs.contains(&v.name().to_string()), "{v}: {hs:?}");
    }
    let rs = rows(&doc);
    assert_eq!(rs.len(), d.endpoints.len());
    let mut printed = Vec::new();
    for e in &d.endpoints {
        let (_, tr) = rs
            .iter()
            .find(|(name, _)| *name == e.target)
            .unwrap_or_else(|| panic!("{} has no row", e.target));
        let cs = cells(*tr);
        // A cell per version, the certificate, the verdicts, the result.
        assert_eq!(cs.len(), versions.len() + 3, "{}: {cs:?}", e.target);
        for (i, v) in versions.iter().enumerate() {
            let c = &e.versions[v];
            let word = c.transition.key().replace('_', " ");
            assert!(
                cs[i].contains(&word),
                "{} {v}: {:?} lacks {word}",
                e.target,
                cs[i]
            );
            let after_cell = after
                .endpoints
                .iter()
                .find(|x| x.target == e.target)
                .and_then(|x| x.versions.get(v))
                .unwrap();
            let short = tlsmatrix::output::cell_text(after_cell);
            assert!(
                cs[i].contains(&short),
                "{} {v}: {:?} lacks {short}",
                e.target,
                cs[i]
            );
        }
        let verdicts = &cs[versions.len() + 1];
        for v in [e.before_verdict, e.after_verdict].into_iter().flatten() {
            assert!(verdicts.contains(v.label()), "{}: {verdicts}", e.target);
        }
        assert!(
            cs[versions.len() + 2].contains(&e.result.key().replace('_', " ")),
            "{}: {cs:?}",
            e.target
        );
        printed.push(e.target.clone());
        printed.push(e.result.key().replace('_', " "));
    }
    assert_printed("demo diff", &diff_r.pdf, &printed);

    // The check page: every endpoint with its result and each finding.
    assert_self_contained("check", &check_page, &check_r);
    let doc = Html::parse_document(&check_r.dom);
    let banner = text_of(doc.select(&sel(".banner")).next().unwrap());
    assert!(
        banner.contains(&check.result.to_string().to_uppercase()),
        "{banner}"
    );
    let rs = rows(&doc);
    assert_eq!(rs.len(), check.endpoints.len());
    let mut printed = Vec::new();
    for e in &check.endpoints {
        let (_, tr) = rs.iter().find(|(n, _)| *n == e.target).unwrap();
        let cs = cells(*tr);
        // A cell per version, the certificate, the result, the findings.
        assert_eq!(cs.len(), versions.len() + 3, "{}: {cs:?}", e.target);
        assert!(
            cs[versions.len() + 1].contains(&e.result.to_string()),
            "{cs:?}"
        );
        for f in &e.findings {
            assert!(
                cs[versions.len() + 2].contains(&f.message),
                "{}: {}",
                e.target,
                f.message
            );
        }
        printed.push(e.target.clone());
    }
    assert_printed("check", &check_r.pdf, &printed);
}

/// What hostile servers say: markup, script, an event handler, terminal escapes, a bell, line
/// ends and a bidi override.
const HOSTILE: &str =
    "<script>alert(1)</script><b onmouseover=alert(2)>\"'x\u{1b}[31m\u{7}\r\n\u{202e}gpj.exe";

/// As much of it as a certificate's common name holds (64 characters).
const HOSTILE_CN: &str = "<script>alert(1)</script><b onclick=x>\u{1b}[31m\u{202e}gpj.exe";

/// An LDAP server that answers StartTLS with "unavailable" and the hostile text as diagnostic.
async fn hostile_directory() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let reply = rasn::ber::encode(&LdapMessage::new(
        1,
        ProtocolOp::ExtendedResp(ExtendedResponse {
            result_code: ResultCode::Unavailable,
            matched_dn: "".into(),
            diagnostic_message: HOSTILE.into(),
            referral: None,
            response_name: None,
            response_value: None,
        }),
    ))
    .unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 256];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(&reply).await;
                let _ = s.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_with_certificate_findings_and_hostile_servers_in_a_browser() {
    if chromium().is_none() {
        return;
    }
    let out = artefacts("scan");
    // A CA of the test's own, trusted through --ca-file.
    let ca = pki::issue(&CertSpec::ca("Report Test CA"), None).unwrap();
    let ca_file = out.join("ca.pem");
    std::fs::write(&ca_file, pki::pem(&[&ca.cert])).unwrap();
    let serve = |spec: CertSpec| {
        let id = Identity::new(&pki::issue(&spec, Some(&ca)).unwrap(), &[]);
        LabServer::start_as(
            SocketAddr::new(LOCALHOST, 0),
            Behaviour::tls(TlsVersion::Tls10, TlsVersion::Tls13),
            id,
        )
    };
    // A subject full of markup and escapes, naming no host scanned; an expired one; one
    // expiring in ten days; a directory whose StartTLS refusal carries the hostile text.
    let mut evil = CertSpec::server("evil.report.test");
    evil.cn = HOSTILE_CN.into();
    evil.dns = vec![];
    let servers = [
        ("evil.report.test", serve(evil).await.unwrap()),
        (
            "expired.report.test",
            serve(CertSpec::server("expired.report.test").days(-400, -2))
                .await
                .unwrap(),
        ),
        (
            "soon.report.test",
            serve(CertSpec::server("soon.report.test").days(-300, 10))
                .await
                .unwrap(),
        ),
    ];
    let dir_addr = hostile_directory().await;
    let mut args: Vec<String> = vec![
        "scan".into(),
        "--ca-file".into(),
        ca_file.to_str().unwrap().into(),
        "--timeout".into(),
        "4s".into(),
        "--label".into(),
        format!("board review {HOSTILE}"),
    ];
    for (name, s) in &servers {
        let port = s.addr().port();
        args.push("--resolve".into());
        args.push(format!("{name}:{port}:127.0.0.1"));
        args.push(format!("tls://{name}:{port}"));
    }
    args.push(format!("ldap://127.0.0.1:{}", dir_addr.port()));
    let page = out.join("scan.html");
    let mut html_args = args.clone();
    html_args.extend(["-o".into(), page.to_str().unwrap().into()]);
    let a: Vec<&str> = html_args.iter().map(String::as_str).collect();
    run_cli(&a, &[], None).await;
    let mut json_args = args.clone();
    json_args.extend(["--format".into(), "json".into()]);
    let a: Vec<&str> = json_args.iter().map(String::as_str).collect();
    let json = run_cli(&a, &[], None).await;
    let report: Report = report(&json);
    assert_eq!(report.endpoints.len(), 4);

    // The same scan against the saved one: with `-o NAME.html` the file is the comparison
    // page (it holds the whole scan), the terminal gets the usual answer.
    let saved = out.join("before.json");
    std::fs::write(&saved, &json.stdout).unwrap();
    let compared = out.join("compare.html");
    let mut cmp_args = args.clone();
    cmp_args.extend([
        "--baseline".into(),
        saved.to_str().unwrap().into(),
        "-o".into(),
        compared.to_str().unwrap().into(),
    ]);
    let a: Vec<&str> = cmp_args.iter().map(String::as_str).collect();
    let cmp = run_cli(&a, &[], None).await;
    let html = std::fs::read_to_string(&compared).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", stderr(&cmp));
    assert!(html.contains("TLS before/after comparison"));
    assert!(
        html.contains(&*saved.to_string_lossy()),
        "the baseline file is named"
    );
    assert_eq!(
        cmp.status.code(),
        Some(1),
        "still accepts TLS 1.0: {}",
        stderr(&cmp)
    );
    tidy("scan --baseline", &compared);

    let (p, o) = (page.clone(), out.clone());
    let r = tokio::task::spawn_blocking(move || render(&p, &o, "scan-certs"))
        .await
        .unwrap();
    assert_self_contained("scan", &page, &r);
    let doc = Html::parse_document(&r.dom);
    let versions = &report.options.versions;
    let hs = headers(&doc);
    for v in versions {
        assert!(hs.contains(&v.name().to_string()), "{v}: {hs:?}");
    }
    assert!(hs.contains(&"Certificate".to_string()), "{hs:?}");
    let rs = rows(&doc);
    assert_eq!(rs.len(), report.endpoints.len());
    let mut printed = Vec::new();
    for e in &report.endpoints {
        let (_, tr) = rs
            .iter()
            .find(|(n, _)| *n == e.target)
            .unwrap_or_else(|| panic!("{} has no row", e.target));
        let cs = cells(*tr);
        assert_eq!(cs.len(), versions.len() + 2, "{}: {cs:?}", e.target);
        for (i, v) in versions.iter().enumerate() {
            let short = tlsmatrix::output::cell_text(&e.versions[v]);
            assert!(
                cs[i].contains(&short),
                "{} {v}: {:?} lacks {short}",
                e.target,
                cs[i]
            );
        }
        let verdict = tlsmatrix::output::verdict_text(e, true);
        assert!(
            cs[versions.len() + 1].contains(&verdict),
            "{}: {cs:?}",
            e.target
        );
        printed.push(e.target.clone());
        printed.push(verdict);
    }
    let cert = |name: &str| {
        let (_, tr) = rs.iter().find(|(n, _)| n.contains(name)).unwrap();
        cells(*tr)[versions.len()].clone()
    };
    assert!(cert("expired.report.test").contains("EXPIRED"));
    assert!(cert("soon.report.test").contains("expires"));
    assert!(cert("evil.report.test").contains("name?"));
    assert!(cert("127.0.0.1").contains("none"));
    // The summary counts the certificates.
    let cards: Vec<(String, String)> = doc
        .select(&sel(".card"))
        .map(|c| {
            let part = |s: &str| c.select(&sel(s)).next().map(text_of).unwrap_or_default();
            (part(".n"), part(".w"))
        })
        .collect();
    for word in [
        "certificates expired",
        "certificates expiring within 30 days",
    ] {
        assert!(
            cards.iter().any(|(n, w)| w == word && n.ends_with(" 1")),
            "{word}: {cards:?}"
        );
    }
    // The hostile subject, diagnostic and label are text on the page, with the escapes shown
    // and nothing of them run or parsed as markup.
    let text = text_of(doc.root_element());
    let shown = "<script>alert(1)</script><b onmouseover=alert(2)>\"'x\\u{1b}[31m\\u{7}\\u{d}\\u{a}\\u{202e}gpj.exe";
    assert!(
        text.matches(shown).count() >= 2,
        "the label and the diagnostic are not shown as text:\n{text}"
    );
    assert!(
        // The subject as RFC 4514 writes it: `<` and `>` escaped with a backslash.
        text.contains(
            "CN=\\<script\\>alert(1)\\</script\\>\\<b onclick=x\\>\\u{1b}[31m\\u{202e}gpj.exe"
        ),
        "the certificate's subject is not shown as text:\n{text}"
    );
    assert!(!r.dom.contains('\u{1b}') && !r.dom.contains('\u{202e}'));
    assert_eq!(
        doc.select(&sel("b")).count(),
        0,
        "hostile markup became an element"
    );
    assert_printed("scan", &r.pdf, &printed);
}

/// A scan with `--suites` of a server whose suites are set (TLS 1.0-1.2: two CBC suites with
/// SHA-1, weak; TLS 1.2 also one ECDHE GCM suite; TLS 1.3 OpenSSL's three): the page's suites
/// table has each version's count and worst class as the JSON of the same scan says, its lists
/// name every suite, the browser loads nothing; and the check of the saved scan forbidding weak
/// suites marks them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_with_its_suites_in_a_browser() {
    if chromium().is_none() {
        return;
    }
    let out = artefacts("suites");
    let server = LabServer::start(
        SocketAddr::new(LOCALHOST, 0),
        Behaviour::Tls {
            min: TlsVersion::Tls10,
            max: TlsVersion::Tls13,
            ciphers: Some("ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA:AES256-SHA".into()),
        },
    )
    .await
    .unwrap();
    let target = server.addr().to_string();
    let page = out.join("scan.html");
    let saved = out.join("scan.json");
    let args = |o: &Path| -> Vec<String> {
        [
            "scan",
            "--suites",
            "--versions",
            "tls1.0,tls1.1,tls1.2,tls1.3",
            "-q",
            &target,
            "-o",
            o.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };
    for o in [&page, &saved] {
        let a = args(o);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let r = run_cli(&a, &[], None).await;
        assert!(r.status.code().is_some_and(|c| c < 2), "{}", stderr(&r));
    }
    let report: Report = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    let e = &report.endpoints[0];
    let count = |v: TlsVersion| e.suites.get(&v).map_or(0, |s| s.suites.len());
    // What the server was told (the lists themselves are tested against clients in suites::).
    assert_eq!(
        [TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12].map(count),
        [2, 2, 3],
        "{:?}",
        e.suites
    );
    assert!(count(TlsVersion::Tls13) >= 1);

    let (p, o) = (page.clone(), out.clone());
    let r = tokio::task::spawn_blocking(move || render(&p, &o, "scan-suites"))
        .await
        .unwrap();
    assert_self_contained("scan --suites", &page, &r);
    let doc = Html::parse_document(&r.dom);
    let heads: Vec<String> = doc
        .select(&sel("table.suites thead th"))
        .map(text_of)
        .collect();
    let trs: Vec<ElementRef<'_>> = doc.select(&sel("table.suites tbody tr")).collect();
    assert_eq!(trs.len(), 1, "one endpoint with lists");
    let cs = cells(trs[0]);
    let classes: Vec<String> = trs[0]
        .select(&sel("td"))
        .map(|td| td.value().attr("class").unwrap_or_default().to_string())
        .collect();
    let mut printed = vec!["Cipher suites".to_string()];
    for (v, s) in &e.suites {
        let i = heads
            .iter()
            .position(|h| h == v.name())
            .unwrap_or_else(|| panic!("{v}: {heads:?}"))
            - 1;
        let n = s.suites.len();
        let words = format!("{n} suite{}", if n == 1 { "" } else { "s" });
        assert!(cs[i].contains(&words), "{v}: {:?} lacks {words}", cs[i]);
        let (mark, sym) = match s.worst() {
            Some(tlsmatrix::tls::suites::SuiteClass::Insecure) => ("m-bad", "✗"),
            Some(tlsmatrix::tls::suites::SuiteClass::Weak) => ("m-warn", "!"),
            _ => ("m-good", "✓"),
        };
        assert!(s.complete, "{v}: {:?}", s.problems);
        assert!(classes[i].contains(mark), "{v}: {}", classes[i]);
        assert!(cs[i].contains(sym), "{v}: {}", cs[i]);
        // In print the sub-line comes after the row in reading order.
        printed.push(format!("{sym} {words}"));
    }
    assert_eq!(
        cs.last().unwrap().trim(),
        e.connections.unwrap().to_string(),
        "connections"
    );
    // Every suite in the folded lists, with its class.
    let lists = doc
        .select(&sel("details.suites"))
        .map(text_of)
        .collect::<String>();
    for s in e.suites.values() {
        for x in &s.suites {
            assert!(lists.contains(&x.name), "{} not listed", x.name);
        }
    }
    assert!(lists.contains("TLS_RSA_WITH_AES_128_CBC_SHA") && lists.contains("weak"));
    assert_printed("scan --suites", &r.pdf, &printed);

    // The check of the saved scan: TLS 1.2 takes two weak suites, and the page says which.
    let check_page = out.join("check.html");
    let c = run_cli(
        &[
            "check",
            saved.to_str().unwrap(),
            "--forbid-suites",
            "weak",
            "-o",
            check_page.to_str().unwrap(),
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(c.status.code(), Some(1), "{}", stderr(&c));
    let (p, o) = (check_page.clone(), out.clone());
    let r = tokio::task::spawn_blocking(move || render(&p, &o, "check-suites"))
        .await
        .unwrap();
    assert_self_contained("check --forbid-suites", &check_page, &r);
    let doc = Html::parse_document(&r.dom);
    let forbidden: Vec<String> = doc
        .select(&sel("details.suites tr"))
        .map(text_of)
        .filter(|t| t.contains("forbidden"))
        .collect();
    for name in [
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        "TLS_RSA_WITH_AES_256_CBC_SHA",
    ] {
        assert!(
            forbidden.iter().any(|t| t.contains(name)),
            "{name}: {forbidden:?}"
        );
    }
    assert!(
        !forbidden
            .iter()
            .any(|t| t.contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")),
        "{forbidden:?}"
    );
    let row = rows(&doc);
    let tls12 = headers(&doc).iter().position(|h| h == "TLS 1.2").unwrap() - 1;
    assert!(
        cells(row[0].1)[tls12].contains("2 forbidden suites"),
        "{:?}",
        cells(row[0].1)
    );
    drop(server);
}

/// `demo --suites --save DIR`: the reports carry the lab's suite lists, and report.html lists
/// the suites added and removed per version as `diff` of the two saved reports says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_with_suites_writes_the_suite_changes_into_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let save = dir.path().to_str().unwrap();
    let out = run_cli(&["demo", "--suites", "--save", save], &[], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let before = dir.path().join("before.json");
    let after = dir.path().join("after.json");
    let d = run_cli(
        &[
            "diff",
            before.to_str().unwrap(),
            after.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
        None,
    )
    .await;
    let d: Diff = serde_json::from_slice(&d.stdout).expect("diff JSON");
    let changed: Vec<_> = d
        .endpoints
        .iter()
        .filter(|e| !e.suites.is_empty())
        .collect();
    assert!(!changed.is_empty(), "the lab's suites changed nowhere");
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    let doc = Html::parse_document(&page);
    let rows: Vec<String> = doc
        .select(&sel("table.suite-changes tbody tr"))
        .map(text_of)
        .collect();
    assert_eq!(
        rows.len(),
        changed.iter().map(|e| e.suites.len()).sum::<usize>(),
        "{rows:?}"
    );
    for e in &changed {
        for (v, c) in &e.suites {
            let row = rows
                .iter()
                .find(|r| r.contains(&e.target) && r.contains(v.name()))
                .unwrap_or_else(|| panic!("{} {v}: {rows:?}", e.target));
            for s in c.added.iter().chain(&c.removed) {
                assert!(
                    row.contains(&s.name),
                    "{} {v}: {} missing",
                    e.target,
                    s.name
                );
            }
        }
    }
    tidy("demo --suites report.html", &dir.path().join("report.html"));
}
