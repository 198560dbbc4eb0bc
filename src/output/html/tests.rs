//! The pages kept stable by snapshots (fixed times and versions), and held against hostile text.

use super::*;
use crate::analysis::diff::diff;
use crate::analysis::exceptions::{Date, Exceptions};
use crate::analysis::policy::{Policy, check};
use crate::capture::{ClientRow, ClientVerdict, ClientsReport, FileSummary};
use crate::output::tests::sample;
use crate::report::{Outcome, Refusal};

fn meta() -> Meta {
    Meta {
        tool: "tlsmatrix 0.0.0".into(),
        generated: Some("2026-11-25T10:00:00Z".into()),
    }
}

/// The scan fixture after the change: dc1 refuses TLS 1.0 and 1.1 now (enforced), dc2 lost
/// TLS 1.2 (a regression, excepted for the board to see), dc3 is as it was.
fn after() -> Report {
    let mut r = sample();
    r.label = Some("after".into());
    r.started = "2026-11-26T09:00:00.000Z".into();
    r.finished = "2026-11-26T09:00:02.000Z".into();
    let alert = || crate::report::fixtures::cell(Outcome::Refused(Refusal::Alert { code: 70 }));
    for v in [TlsVersion::Tls10, TlsVersion::Tls11] {
        r.endpoints[0].versions.insert(v, alert());
    }
    r.endpoints[1].versions.insert(TlsVersion::Tls12, alert());
    for e in &mut r.endpoints {
        let (v, d) = crate::analysis::verdict::judge(&e.versions);
        e.verdict = v;
        e.verdict_detail = d;
    }
    r.summary = Report::count_verdicts(&r.endpoints);
    r
}

fn exceptions() -> Exceptions {
    Exceptions::parse(
        "dc3.corp.example.com  all  2027-03-31  GC decommissioned in March\n\
         dc9.corp.example.com  tls1.0  2026-11-01  print server, replaced since\n",
        "exceptions.txt",
        Date::parse("2026-11-25").unwrap(),
    )
    .unwrap()
}

fn clients_fixture(sni: &str, path: &str) -> ClientsReport {
    let row = |client: &str, offered: &str, negotiated: &str, verdict, n| ClientRow {
        client: client.parse().unwrap(),
        server: "10.0.0.11:636".parse().unwrap(),
        sni: Some(sni.to_string()),
        offered: offered.into(),
        negotiated: Some(negotiated.into()),
        starttls: false,
        connections: n,
        first_seen: "2026-11-20T08:00:00Z".into(),
        last_seen: "2026-11-24T17:30:00Z".into(),
        verdict,
        ja4: Some("t13d1516h2_8daaf6152771_02713d6af862".into()),
    };
    ClientsReport {
        schema_version: 1,
        files: vec![FileSummary {
            path: path.into(),
            packets: 1200,
            bytes: 345_678,
            error: None,
        }],
        ports: vec![636],
        dropped: Default::default(),
        limits: Default::default(),
        hellos: vec![],
        offers: vec![],
        own_probes: 0,
        offers_over_limit: Default::default(),
        rows: vec![
            row("10.0.5.20", "TLS 1.3", "TLS 1.3", ClientVerdict::Ok, 40),
            row("10.0.5.31", "TLS 1.0", "TLS 1.0", ClientVerdict::Breaks, 7),
            row(
                "10.0.5.32",
                "TLS 1.2",
                "TLS 1.0",
                ClientVerdict::OkButNegotiatedLegacy,
                3,
            ),
        ],
    }
}

/// Two clients (one seen, one a profile) on two endpoints: one works, one breaks for want of a
/// suite, one cannot be asked.
fn predict_fixture(name: &str, detail: &str) -> crate::predict::PredictReport {
    use crate::predict::*;
    let client = |name: &str, origin: Origin, versions: &[&str]| Client {
        name: name.into(),
        origin,
        ja4: "t12d050500_be5a453c3937_dd2006f5fa1e".into(),
        ja3: "2d5a01c0b34a422b987cc2349e8cc595".into(),
        versions: versions.iter().map(|v| v.to_string()).collect(),
        suites: 5,
        enable_tls12: None,
        hello: "0100".into(),
    };
    let endpoint = |target: &str, port| Endpoint {
        target: target.into(),
        host: "dc1.corp.example.com".into(),
        address: Some("10.0.0.11".parse().unwrap()),
        port,
        protocol: crate::report::Protocol::Ldaps,
        sni: Some("dc1.corp.example.com".into()),
        unresolved: None,
    };
    let cell = |client, endpoint, prediction| Cell {
        client,
        endpoint,
        method: Method::Live,
        prediction,
    };
    PredictReport {
        schema_version: SCHEMA_VERSION,
        scan: None,
        mode: Mode::Tls12Only,
        clients: vec![
            client(
                name,
                Origin::Observed {
                    address: "10.0.5.31".parse().unwrap(),
                    sni: vec![name.into()],
                    connections: 12,
                    fallbacks: vec![],
                    fallback_only: false,
                },
                &["up to TLS 1.2"],
            ),
            client(
                "windows-10-1809",
                Origin::Profile {
                    name: "windows-10-1809".into(),
                    title: "Windows 10 1809 / Server 2019, Schannel defaults".into(),
                    source: "captured with scripts/record-profiles".into(),
                },
                &["up to TLS 1.2"],
            ),
        ],
        endpoints: vec![
            endpoint("ldaps://dc1.corp.example.com", 636),
            endpoint("dc1.corp.example.com:3269", 3269),
        ],
        cells: vec![
            cell(
                0,
                0,
                Prediction::Breaks {
                    reasons: vec![Reason::NoSharedSuite],
                    alert: Some(40),
                    detail: detail.into(),
                    change: "add suite TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 on the client".into(),
                },
            ),
            cell(
                0,
                1,
                Prediction::Unknown {
                    detail: detail.into(),
                },
            ),
            cell(
                1,
                0,
                Prediction::Works {
                    version: "TLS 1.2".into(),
                    suite: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into(),
                    note: None,
                },
            ),
            cell(
                1,
                1,
                Prediction::Works {
                    version: "TLS 1.2".into(),
                    suite: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into(),
                    note: None,
                },
            ),
        ],
        input_errors: vec![],
        own_probes: 0,
        complete: true,
    }
}

fn cert_policy() -> Policy {
    // No minimum of days: that one is counted from today, and the snapshot must not move.
    let mut p = Policy::named("tls12-only").unwrap();
    p.certificate = Some(crate::analysis::certs::CertPolicy {
        min_days: None,
        trusted: true,
        name: true,
        names: vec![],
    });
    p
}

fn render(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn scan_page(r: &Report) -> String {
    render(|w| write_scan(r, &meta(), w))
}

fn diff_page(before: &Report, after: &Report, files: (&str, &str), x: &Exceptions) -> String {
    let d = diff(before, after, (Some(files.0), Some(files.1)), x);
    render(|w| {
        write_diff(
            &DiffPage {
                diff: &d,
                before: Some(Source {
                    report: before,
                    file: Some(files.0),
                }),
                after: Some(Source {
                    report: after,
                    file: Some(files.1),
                }),
                allow_inconclusive: false,
            },
            &meta(),
            w,
        )
    })
}

fn check_page(r: &Report, x: &Exceptions) -> String {
    let mut c = check(r, &cert_policy(), x);
    c.checked_at = "2026-11-26T10:00:00Z".into();
    c.checked_by = "tlsmatrix 0.0.0".into();
    render(|w| {
        write_check(
            &CheckPage {
                check: &c,
                scan: Some(Source {
                    report: r,
                    file: Some("after.json"),
                }),
            },
            &meta(),
            w,
        )
    })
}

/// A page with a line break after each row, item and block, so that a snapshot's diff shows
/// what changed (the page itself is one line).
fn lines(html: String) -> String {
    let mut s = html;
    for tag in [
        "</tr>",
        "</li>",
        "</dd>",
        "</h2>",
        "</h3>",
        "</p>",
        "</details>",
        "</style>",
    ] {
        s = s.replace(tag, &format!("{tag}\n"));
    }
    s
}

#[test]
fn scan_snapshot() {
    insta::assert_snapshot!(lines(scan_page(&sample())));
}

#[test]
fn diff_snapshot() {
    insta::assert_snapshot!(lines(diff_page(
        &sample(),
        &after(),
        ("before.json", "after.json"),
        &exceptions()
    )));
}

#[test]
fn check_snapshot() {
    insta::assert_snapshot!(lines(check_page(&after(), &exceptions())));
}

#[test]
fn clients_snapshot() {
    insta::assert_snapshot!(lines(render(|w| write_clients(
        &clients_fixture("dc1.corp.example.com", "dc1-636.pcapng"),
        &meta(),
        w
    ))));
}

#[test]
fn predict_snapshot() {
    insta::assert_snapshot!(lines(render(|w| write_predict(
        &predict_fixture(
            "10.0.5.31",
            "alert handshake_failure(40) to the hello as it is"
        ),
        &meta(),
        w
    ))));
}

#[test]
fn html_is_a_format_of_its_own_by_name_and_by_extension() {
    use crate::output::Format;
    for name in ["report.html", "REPORT.HTM"] {
        assert_eq!(
            Format::from_path(std::path::Path::new(name)),
            Some(Format::Html)
        );
    }
    assert!(Format::EXTENSIONS.contains(&".html"));
}

/// What a hostile server, certificate, capture or file name says: terminal escapes, a bell, line
/// ends, markup and script, both quotes to leave an attribute, an event handler, a bidi override
/// that would reorder the line, and what would close a table, a comment or the style.
const HOSTILE: &str = "\x1b[2J\x1b[31mPASS\x07\r\n<script>alert(1)</script><img src=x onerror=alert(2)>\"' onmouseover=\"alert(3)\" \u{202e}exe.txt\u{2066} </td></tr></table><!-- </style> &amp; https://evil.example/x.js";

/// Every string from outside in the scan fixture replaced by the hostile text.
fn hostile_report() -> Report {
    let mut r = sample();
    r.label = Some(HOSTILE.into());
    r.scanner = Some(HOSTILE.into());
    r.tls_library = HOSTILE.into();
    r.options.sni = Some(HOSTILE.into());
    r.options.trust_store = Some(HOSTILE.into());
    r.input_errors.push(crate::report::InputError {
        source: HOSTILE.into(),
        message: HOSTILE.into(),
    });
    let e = &mut r.endpoints[0];
    e.target = HOSTILE.into();
    e.host = HOSTILE.into();
    e.sni = Some(HOSTILE.into());
    e.verdict_detail = HOSTILE.into();
    e.disagreements.push(HOSTILE.into());
    e.versions.insert(
        TlsVersion::Tls10,
        crate::report::fixtures::cell(Outcome::Error(HOSTILE.into())),
    );
    e.versions.insert(
        TlsVersion::Tls11,
        crate::report::fixtures::cell(Outcome::Refused(Refusal::NotTls {
            received: HOSTILE.into(),
        })),
    );
    let c = r.endpoints[1].certificate.as_mut().unwrap();
    c.chain[0].subject = HOSTILE.into();
    c.chain[0].issuer = HOSTILE.into();
    c.dns_names = vec![HOSTILE.into()];
    c.trust.store = HOSTILE.into();
    c.findings[0].message = HOSTILE.into();
    r
}

/// The elements a page may contain: nothing that loads, embeds or runs anything but the one
/// inline script.
const ELEMENTS: &[&str] = &[
    "html", "head", "meta", "title", "link", "style", "script", "body", "header", "main", "footer",
    "section", "h1", "h2", "h3", "h4", "p", "div", "span", "a", "dl", "dt", "dd", "table", "thead",
    "tbody", "tr", "th", "td", "ul", "li", "details", "summary", "svg", "rect", "label", "input",
    "wbr",
];

/// The page keeps the hostile text as text: nothing injected, nothing acted on.
fn assert_contained(what: &str, html: &str) {
    for c in html.chars() {
        assert!(
            c == '\n'
                || !(c.is_control()
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)),
            "{what}: {c:?} reached the page"
        );
    }
    let doc = scraper::Html::parse_document(html);
    let all = scraper::Selector::parse("*").unwrap();
    let mut scripts = 0;
    for el in doc.select(&all) {
        let name = el.value().name();
        assert!(
            ELEMENTS.contains(&name),
            "{what}: a <{name}> element in the page"
        );
        for (attr, value) in el.value().attrs() {
            assert!(
                !attr.starts_with("on"),
                "{what}: {attr}={value:?} on <{name}>"
            );
            if matches!(attr, "href" | "src" | "action" | "formaction" | "srcset") {
                assert!(
                    value.starts_with('#') || value == "data:,",
                    "{what}: {attr}={value:?} on <{name}>"
                );
            }
        }
        if name == "script" {
            scripts += 1;
            assert_eq!(
                el.text().collect::<String>(),
                SCRIPT,
                "{what}: the script is ours alone"
            );
        }
        if name == "style" {
            assert_eq!(
                el.text().collect::<String>(),
                CSS,
                "{what}: the style is ours alone"
            );
        }
    }
    assert_eq!(scripts, 1, "{what}");
    // The hostile markup shows as text, with its controls made visible.
    let text: String = doc.root_element().text().collect();
    assert!(
        text.contains("<script>alert(1)</script><img src=x onerror=alert(2)>"),
        "{what}: the markup is not shown as text"
    );
    assert!(text.contains("\\u{1b}[2J"), "{what}: ESC is not shown");
    assert!(
        text.contains("\\u{202e}exe.txt"),
        "{what}: the override is not shown"
    );
    assert!(
        !html.contains("<script>alert") && !html.contains("<img"),
        "{what}: markup reached the page raw"
    );
}

#[test]
fn hostile_text_stays_text_in_every_page() {
    let hostile = hostile_report();
    assert_contained("scan", &scan_page(&hostile));
    let x = Exceptions::parse(
        &format!("* tls1.0 2099-01-01 {}", HOSTILE.replace(['\n', '\r'], " ")),
        "exceptions.txt",
        Date::parse("2026-11-25").unwrap(),
    )
    .unwrap();
    assert_contained(
        "diff",
        &diff_page(&sample(), &hostile, (HOSTILE, HOSTILE), &x),
    );
    assert_contained("check", &check_page(&hostile, &x));
    let clients = clients_fixture(HOSTILE, HOSTILE);
    assert_contained("clients", &render(|w| write_clients(&clients, &meta(), w)));
    assert_contained(
        "predict",
        &render(|w| write_predict(&predict_fixture(HOSTILE, HOSTILE), &meta(), w)),
    );
    let d = crate::discover::Discovery {
        schema_version: 1,
        domain: HOSTILE.into(),
        site: Some(HOSTILE.into()),
        dns_server: None,
        dcs: vec![crate::discover::Dc {
            name: HOSTILE.into(),
            addresses: vec![],
            roles: Default::default(),
            ldap_port: 389,
            gc_port: None,
        }],
        problems: vec![HOSTILE.into()],
    };
    assert_contained(
        "discovery",
        &render(|w| write_discovery(&d, false, &meta(), w)),
    );
}

#[test]
fn a_page_names_no_address_to_load() {
    for (what, page) in [
        ("scan", scan_page(&sample())),
        (
            "diff",
            diff_page(&sample(), &after(), ("a.json", "b.json"), &exceptions()),
        ),
        ("check", check_page(&after(), &exceptions())),
    ] {
        for bad in ["http:", "https:", "url(", "@import", "src=", "//"] {
            // `//` only in the targets' schemes (`ldaps://`), which are text.
            let hits = page.matches(bad).count();
            let allowed = if bad == "//" {
                page.matches("ldaps://").count()
            } else {
                0
            };
            assert_eq!(hits, allowed, "{what}: {bad}");
        }
    }
}

#[test]
fn the_policy_allows_exactly_the_inline_style_and_script() {
    let page = scan_page(&sample());
    let doc = scraper::Html::parse_document(&page);
    let sel = scraper::Selector::parse(r#"meta[http-equiv="Content-Security-Policy"]"#).unwrap();
    let csp = doc
        .select(&sel)
        .next()
        .unwrap()
        .value()
        .attr("content")
        .unwrap()
        .to_string();
    let hash = |s: &str| {
        format!(
            "'sha256-{}'",
            openssl::base64::encode_block(
                &openssl::hash::hash(openssl::hash::MessageDigest::sha256(), s.as_bytes()).unwrap()
            )
        )
    };
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    assert!(csp.contains(&format!("style-src {};", hash(CSS))), "{csp}");
    assert!(
        csp.contains(&format!("script-src {};", hash(SCRIPT))),
        "{csp}"
    );
}

#[test]
fn every_cell_has_a_symbol_as_well_as_a_colour() {
    let page = diff_page(&sample(), &after(), ("a", "b"), &exceptions());
    let doc = scraper::Html::parse_document(&page);
    let cells = scraper::Selector::parse("td.cell").unwrap();
    let sym = scraper::Selector::parse(".sym").unwrap();
    let mut n = 0;
    for td in doc.select(&cells) {
        n += 1;
        let s: String = td.select(&sym).flat_map(|s| s.text()).collect();
        assert!(!s.trim().is_empty(), "no symbol in {}", td.html());
    }
    assert!(n > 15, "{n} cells");
}
