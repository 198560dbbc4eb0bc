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
    // A hand-edited report's suite lists: names, groups, problems and disagreements.
    let mut r = with_suites(r);
    let e = &mut r.endpoints[0];
    for s in e.suites.values_mut() {
        for x in &mut s.suites {
            x.name = HOSTILE.into();
            x.openssl_name = Some(HOSTILE.into());
        }
        s.groups[0].name = HOSTILE.into();
        s.signature_algorithms = vec![crate::report::Named {
            id: 1,
            name: HOSTILE.into(),
        }];
        s.dh_group = Some(crate::report::DhGroup {
            name: HOSTILE.into(),
            bits: 1024,
        });
        s.problems = vec![HOSTILE.into()];
        s.disagreements = vec![HOSTILE.into()];
        if let Some(x) = s.suites.first_mut() {
            x.openssl = Some(crate::report::EngineAnswer {
                status: crate::report::Status::Error,
                detail: HOSTILE.into(),
            });
        }
    }
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
    let scanned = scan_page(&hostile);
    assert_contained("scan", &scanned);
    // The suite lists show the hostile names, groups and problems as text.
    let lists = texts(&scraper::Html::parse_document(&scanned), "details.suites").join("");
    assert!(
        lists.matches("<script>alert(1)</script>").count() >= 8,
        "the suite lists do not show the hostile text:\n{lists}"
    );
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
    // Suites added and removed, named by the hostile report.
    let mut before = hostile.clone();
    before.endpoints[0].suites = with_suites(sample()).endpoints[0].suites.clone();
    let diffed = diff_page(&before, &hostile, (HOSTILE, HOSTILE), &x);
    assert!(diffed.contains("suite-changes"), "no suite changes listed");
    assert_contained("diff of suites", &diffed);
    assert_contained("check", &check_page(&hostile, &x));
    let checked = check_page_with(&hostile, &x, &suites_policy());
    assert!(checked.contains("details class=\"endpoint suites\""));
    assert_contained("check of suites", &checked);
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

/// A scan made with `--suites`: dc1 takes 3DES with TLS 1.0, weak and insecure suites in its own
/// order with TLS 1.2, and TLS 1.3's three; dc2's TLS 1.2 list is not whole and the engines
/// disagree on it.
fn with_suites(mut r: Report) -> Report {
    use crate::report::{
        AcceptedSuite, DhGroup, EngineAnswer, Named, Status, SuiteOrder, VersionSuites,
    };
    let list = |ids: &[u16], order, complete| VersionSuites {
        suites: ids.iter().map(|id| AcceptedSuite::of(*id)).collect(),
        order,
        groups: vec![Named::group(0x001d)],
        complete,
        connections: ids.len() as u32 + 1,
        elapsed_ms: 12,
        ..Default::default()
    };
    r.options.suites = true;
    let accepted = |e: &Endpoint, v| e.versions.get(&v).is_some_and(|c| c.proof().is_accepted());
    let e = &mut r.endpoints[0];
    if accepted(e, TlsVersion::Tls10) {
        e.suites.insert(
            TlsVersion::Tls10,
            list(&[0xc013, 0x002f, 0x000a], SuiteOrder::Client, true),
        );
    }
    let mut tls12 = list(
        &[0xc02f, 0xc030, 0x009e, 0x002f, 0x000a],
        SuiteOrder::Server,
        true,
    );
    tls12.groups.push(Named::group(0x0017));
    tls12.dh_group = Some(DhGroup {
        name: "ffdhe2048".into(),
        bits: 2048,
    });
    tls12.signature_algorithms = vec![
        Named::signature_scheme(0x0804),
        Named::signature_scheme(0x0401),
    ];
    tls12.suites[0].openssl = Some(EngineAnswer {
        status: Status::Accepted,
        detail: "accepted: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into(),
    });
    e.suites.insert(TlsVersion::Tls12, tls12);
    e.suites.insert(
        TlsVersion::Tls13,
        list(&[0x1301, 0x1302, 0x1303], SuiteOrder::Client, true),
    );
    e.connections = Some(31);
    let e = &mut r.endpoints[1];
    if accepted(e, TlsVersion::Tls12) {
        let mut l = list(&[0xc02f], SuiteOrder::Unknown, false);
        l.problems = vec!["no answer within 10s to the third hello".into()];
        l.disagreements = vec![
            "OpenSSL accepted TLS_RSA_WITH_AES_128_CBC_SHA alone; the wire engine did not find it"
                .into(),
        ];
        e.suites.insert(TlsVersion::Tls12, l);
    }
    e.suites.insert(
        TlsVersion::Tls13,
        list(&[0x1301], SuiteOrder::Unknown, true),
    );
    e.connections = Some(9);
    r
}

/// The after scan with suites: dc1 no longer takes TLS 1.0 (its list went with it), and swapped
/// 3DES for RC4 with TLS 1.2.
fn after_with_suites() -> Report {
    let mut r = with_suites(after());
    let l = r.endpoints[0].suites.get_mut(&TlsVersion::Tls12).unwrap();
    l.suites.retain(|s| s.id != 0x000a);
    l.suites.push(crate::report::AcceptedSuite::of(0x0005));
    r
}

fn suites_policy() -> Policy {
    Policy::named("tls12-only-suites").unwrap()
}

fn check_page_with(r: &Report, x: &Exceptions, policy: &Policy) -> String {
    let mut c = check(r, policy, x);
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

#[test]
fn scan_with_suites_snapshot() {
    insta::assert_snapshot!(lines(scan_page(&with_suites(sample()))));
}

#[test]
fn diff_with_suites_snapshot() {
    insta::assert_snapshot!(lines(diff_page(
        &with_suites(sample()),
        &after_with_suites(),
        ("before.json", "after.json"),
        &exceptions()
    )));
}

#[test]
fn check_with_forbidden_suites_snapshot() {
    insta::assert_snapshot!(lines(check_page_with(
        &after_with_suites(),
        &exceptions(),
        &suites_policy()
    )));
}

fn texts(doc: &scraper::Html, css: &str) -> Vec<String> {
    let s = scraper::Selector::parse(css).unwrap();
    doc.select(&s)
        .map(|e| e.text().collect::<String>())
        .collect()
}

#[test]
fn the_suite_section_counts_marks_and_lists_every_suite() {
    let r = with_suites(sample());
    let doc = scraper::Html::parse_document(&scan_page(&r));
    // Without lists, no section; with them, one row per endpoint that has lists.
    assert!(!scan_page(&sample()).contains("Cipher suites"));
    let rows = scraper::Selector::parse("table.suites tbody tr").unwrap();
    let td = scraper::Selector::parse("td").unwrap();
    let listed: Vec<&Endpoint> = r
        .endpoints
        .iter()
        .filter(|e| !e.suites.is_empty())
        .collect();
    let trs: Vec<_> = doc.select(&rows).collect();
    assert_eq!(trs.len(), listed.len());
    let versions = [TlsVersion::Tls10, TlsVersion::Tls12, TlsVersion::Tls13];
    for (tr, e) in trs.iter().zip(&listed) {
        let cells: Vec<_> = tr.select(&td).collect();
        assert_eq!(cells.len(), versions.len() + 1);
        for (cell, v) in cells.iter().zip(versions) {
            let class = cell.value().attr("class").unwrap();
            let text: String = cell.text().collect();
            match e.suites.get(&v) {
                None => assert!(class.contains("m-off"), "{class}"),
                Some(s) => {
                    let n = s.suites.len();
                    assert!(text.contains(&format!("{n} suite")), "{text}");
                    assert!(class.contains(suites::list_mark(s).class()), "{class}");
                    assert!(text.contains(suites::list_mark(s).symbol()), "{text}");
                }
            }
        }
        assert_eq!(
            cells[versions.len()].text().collect::<String>(),
            e.connections.unwrap().to_string()
        );
    }
    // dc1's TLS 1.0 takes 3DES: insecure; its TLS 1.3 only ok; dc2's TLS 1.2 is not whole.
    let dc1 = &r.endpoints[0].suites;
    assert_eq!(suites::list_mark(&dc1[&TlsVersion::Tls10]), Mark::Bad);
    assert_eq!(suites::list_mark(&dc1[&TlsVersion::Tls13]), Mark::Good);
    assert_eq!(
        suites::list_mark(&r.endpoints[1].suites[&TlsVersion::Tls12]),
        Mark::Unknown
    );
    // Every suite of every list in the details, with its class, flaws and OpenSSL name.
    let details = texts(&doc, "details.suites");
    assert_eq!(details.len(), listed.len());
    for (d, e) in details.iter().zip(&listed) {
        for s in e.suites.values() {
            for x in &s.suites {
                assert!(d.contains(&x.name), "{} not listed", x.name);
                if let Some(o) = &x.openssl_name {
                    assert!(d.contains(o.as_str()), "{o}");
                }
                for f in &x.flaws {
                    assert!(d.contains(f.text()), "{}", f.text());
                }
            }
            for p in s.problems.iter().chain(&s.disagreements) {
                assert!(d.contains(p.as_str()), "{p}");
            }
        }
    }
    assert!(details[0].contains("ffdhe2048, 2048 bits"));
    assert!(details[0].contains("rsa_pss_rsae_sha256, rsa_pkcs1_sha256"));
    assert!(details[0].contains("the server's: it chose the same suite"));
    // The summary counts the lists by their worst class.
    let cards = texts(&doc, ".card");
    assert!(
        cards
            .iter()
            .any(|c| c.contains("versions accepting insecure suites") && c.contains("✗ 2")),
        "{cards:?}"
    );
}

#[test]
fn a_check_marks_the_versions_and_suites_its_rule_forbids() {
    let r = after_with_suites();
    let page = check_page_with(&r, &Exceptions::default(), &suites_policy());
    let doc = scraper::Html::parse_document(&page);
    let evidence = texts(&doc, "dl.evidence");
    assert!(evidence[0].contains("Suites forbidden"), "{evidence:?}");
    // dc1's TLS 1.2 (required, working) takes 2 forbidden suites (a weak and an insecure one): the cell is bad.
    let cells = scraper::Selector::parse("table.matrix:not(.suites) tbody tr").unwrap();
    let td = scraper::Selector::parse("td").unwrap();
    let tr = doc.select(&cells).next().unwrap();
    let tls12 = tr
        .select(&td)
        .nth(
            TlsVersion::ALL
                .iter()
                .position(|v| *v == TlsVersion::Tls12)
                .unwrap(),
        )
        .unwrap();
    assert!(tls12.value().attr("class").unwrap().contains("m-bad"));
    assert!(
        tls12
            .text()
            .collect::<String>()
            .contains("2 forbidden suites"),
        "{}",
        tls12.html()
    );
    let forbidden = texts(&doc, "details.suites td.m-bad");
    assert!(forbidden.iter().any(|t| t.contains("forbidden")));
}

#[test]
fn a_comparison_lists_the_suites_added_and_removed() {
    let page = diff_page(
        &with_suites(sample()),
        &after_with_suites(),
        ("a", "b"),
        &exceptions(),
    );
    let doc = scraper::Html::parse_document(&page);
    let rows = texts(&doc, "table.suite-changes tbody tr");
    let tls12 = rows
        .iter()
        .find(|r| r.contains("TLS 1.2") && r.contains("dc1"))
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert!(
        tls12.contains("TLS_RSA_WITH_RC4_128_SHA (insecure)"),
        "{tls12}"
    );
    assert!(tls12.contains("TLS_RSA_WITH_3DES_EDE_CBC_SHA (insecure)"));
    let tls10 = rows
        .iter()
        .find(|r| r.contains("TLS 1.0"))
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert!(
        tls10.contains("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
        "{tls10}"
    );
    // The matrix cell says how many changed; the row of dc1, which took on RC4, needs
    // attention even though its versions changed as wanted.
    assert!(page.contains("suites +1 −1"), "no count in the matrix");
    let dc1 = scraper::Selector::parse("table.matrix tbody tr.attention th.endpoint").unwrap();
    assert!(
        doc.select(&dc1)
            .any(|th| th.text().collect::<String>().contains("dc1")),
        "dc1's row is not marked"
    );
    let cards = texts(&doc, ".card");
    assert!(
        cards.iter().any(
            |c| c.contains("versions that took on weak or insecure suites") && c.contains("✗ 1")
        ),
        "{cards:?}"
    );
}
