//! Text from outside never acts on the reader: a hostile server's StartTLS diagnostic, a
//! hand-edited saved report, an SNI from a capture. Every format of every command is checked for
//! control characters (terminal), formula prefixes (CSV) and cells broken out of (Markdown).

use std::path::Path;

use rasn_ldap::{ExtendedResponse, LdapMessage, ProtocolOp, ResultCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::*;

/// What a hostile server says: clear the screen, print a green PASS, ring the bell, end the
/// line; and a Markdown cell break, a code span and a spreadsheet formula for good measure.
const HOSTILE: &str = "\x1b[2J\x1b[H\x1b[32mPASS: every endpoint ready\x1b[0m\x07\r\n| `x` =HYPERLINK(\"http://x\")\u{9b}31m\u{202e}";

/// An LDAP server that answers StartTLS with "unavailable" and the hostile text as diagnostic.
async fn hostile_directory() -> std::net::SocketAddr {
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
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
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

/// Nothing a terminal would act on: no control character but the line ends, no bidi override.
fn assert_inert(what: &str, text: &str) {
    for c in text.chars() {
        assert!(
            c == '\n' || !(c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{what}: {c:?} reached the output:\n{text}"
        );
    }
}

/// No CSV field a spreadsheet would take as a formula.
fn assert_csv_safe(what: &str, text: &str) {
    assert_inert(what, text);
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut fields = 0;
    for rec in r.records() {
        for f in rec.unwrap().iter() {
            fields += 1;
            assert!(
                !f.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{what}: field {f:?} would be a formula"
            );
        }
    }
    assert!(fields > 0, "{what}: no CSV");
}

/// Every table row has as many cells as its header: no text broke out of its cell.
fn assert_markdown_cells(what: &str, text: &str) {
    assert_inert(what, text);
    let cells = |line: &str| {
        let mut n = 0;
        let mut escaped = false;
        for c in line.chars() {
            match c {
                '\\' if !escaped => {
                    escaped = true;
                    continue;
                }
                '|' if !escaped => n += 1,
                _ => {}
            }
            escaped = false;
        }
        n
    };
    // Each table (a run of `|` lines) keeps one cell count on every row.
    let mut width = None;
    let mut tables = 0;
    for line in text.lines() {
        if !line.starts_with('|') {
            width = None;
            continue;
        }
        let n = cells(line);
        match width {
            None => {
                width = Some(n);
                tables += 1;
            }
            Some(w) => assert_eq!(n, w, "{what}: a cell broke out: {line}"),
        }
    }
    assert!(tables > 0, "{what}: no table:\n{text}");
    // An unescaped backtick from outside would open a code span.
    assert!(!text.contains("`x`"), "{what}: {text}");
}

/// Every format of a command, to standard output and through -o. `shown`: the table shows the
/// hostile text (escaped), not only keeps it from the terminal.
async fn outputs_are_inert(dir: &Path, args: &[&str], shown: bool) {
    for format in ["table", "md", "csv", "json", "html"] {
        let mut a = args.to_vec();
        a.extend(["--format", format]);
        let out = run_cli(&a, &[], None).await;
        let what = format!("{} --format {format}", args.join(" "));
        let text = stdout(&out);
        assert_inert(&format!("{what} (stderr)"), &stderr(&out));
        match format {
            "table" => {
                assert_inert(&what, &text);
                if shown {
                    assert!(
                        text.contains("\\u{1b}[2J"),
                        "{what}: shown escaped:\n{text}"
                    );
                }
            }
            "md" => assert_markdown_cells(&what, &text),
            "html" => {
                assert_inert(&what, &text);
                // The page's own script alone: the hostile text did not open another.
                assert_eq!(text.matches("<script").count(), 1, "{what}:\n{text}");
                if shown {
                    assert!(text.contains("\\u{1b}[2J"), "{what}: shown escaped");
                }
            }
            "csv" => assert_csv_safe(&what, &text),
            _ => assert_inert(&what, &text),
        }
        // The same through -o: the file gets the same treatment.
        let file = dir.join(format!("out.{format}"));
        let mut a = args.to_vec();
        a.extend(["--format", format, "-o", file.to_str().unwrap()]);
        run_cli(&a, &[], None).await;
        assert_inert(
            &format!("{what} -o"),
            &std::fs::read_to_string(&file).unwrap(),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_server_cannot_repaint_the_terminal_in_any_command() {
    let addr = hostile_directory().await;
    let dir = tempfile::tempdir().unwrap();
    let target = format!("ldap://{addr}");
    let scan = [
        "scan",
        "--versions",
        "tls1.0,tls1.2",
        "--engine",
        "openssl",
        &target,
    ];
    outputs_are_inert(dir.path(), &scan, true).await;

    // The saved report carries the text on to diff, check, merge and --baseline.
    let saved = dir.path().join("scan.json");
    let saved = saved.to_str().unwrap();
    let mut a = scan.to_vec();
    a.extend(["--format", "json", "-o", saved]);
    run_cli(&a, &[], None).await;
    assert!(std::fs::read_to_string(saved).unwrap().contains("PASS"));
    outputs_are_inert(dir.path(), &["diff", saved, saved], false).await;
    // A regression whose "after" detail is the hostile text: it is in the findings.
    let good = tls_server(
        tlsmatrix::tls::TlsVersion::Tls10,
        tlsmatrix::tls::TlsVersion::Tls13,
    )
    .await;
    let before = dir.path().join("before.json");
    let before = before.to_str().unwrap();
    run_cli(
        &[
            "scan",
            "--versions",
            "tls1.0,tls1.2",
            "--format",
            "json",
            "-o",
            before,
            &good.addr().to_string(),
        ],
        &[],
        None,
    )
    .await;
    let hostile: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    let mut after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(before).unwrap()).unwrap();
    after["endpoints"][0]["versions"]["tls1.2"] =
        hostile["endpoints"][0]["versions"]["tls1.2"].clone();
    let after_path = dir.path().join("after.json");
    std::fs::write(&after_path, after.to_string()).unwrap();
    let after_path = after_path.to_str().unwrap();
    outputs_are_inert(dir.path(), &["diff", before, after_path], true).await;
    outputs_are_inert(
        dir.path(),
        &["check", "--policy", "tls12-only", after_path],
        false,
    )
    .await;
    outputs_are_inert(
        dir.path(),
        &["check", "--policy", "tls12-only", saved],
        false,
    )
    .await;
    outputs_are_inert(dir.path(), &["merge", saved, saved], true).await;
    let mut a = scan.to_vec();
    a.extend(["--baseline", saved]);
    outputs_are_inert(dir.path(), &a, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_edited_report_cannot_inject_formulas_or_break_markdown() {
    let s = tls_server(
        tlsmatrix::tls::TlsVersion::Tls12,
        tlsmatrix::tls::TlsVersion::Tls13,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("scan.json");
    let saved = saved.to_str().unwrap();
    let out = run_cli(
        &[
            "scan",
            "--versions",
            "tls1.2",
            "--format",
            "json",
            "-o",
            saved,
            &s.addr().to_string(),
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    let e = &mut v["endpoints"][0];
    e["target"] = "=HYPERLINK(\"http://x\",\"ok\")|`x`\x1b[2J".into();
    e["host"] = "@SUM(1+1)*cmd|' /C calc'!A0".into();
    e["sni"] = "+1\t-1\r".into();
    v["label"] = "before`\x1b]0;owned\x07".into();
    v["scanner"] = "-2+3".into();
    std::fs::write(saved, serde_json::to_string(&v).unwrap()).unwrap();
    for args in [
        vec!["diff", saved, saved],
        vec!["check", "--policy", "tls12-plus", saved],
        vec!["merge", saved, saved],
    ] {
        for format in ["md", "csv", "table", "html"] {
            let mut a = args.clone();
            a.extend(["--format", format]);
            let out = run_cli(&a, &[], None).await;
            let what = format!("{a:?}");
            let text = stdout(&out);
            assert!(!text.is_empty(), "{what}: {}", stderr(&out));
            match format {
                "md" => assert_markdown_cells(&what, &text),
                "html" => {
                    assert_inert(&what, &text);
                    assert_eq!(text.matches("<script").count(), 1, "{what}:\n{text}");
                    assert!(text.contains("=HYPERLINK(&quot;http://x&quot;"), "{what}");
                }
                "csv" => assert_csv_safe(&what, &text),
                _ => assert_inert(&what, &text),
            }
        }
    }
}
