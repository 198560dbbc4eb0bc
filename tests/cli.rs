//! The command line as a user runs it: the real binary against lab servers.

use tlsmatrix::lab::Behaviour;
use tlsmatrix::report::{Report, Status, TlsVersion::*, Verdict};

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_system_openssl_config_does_not_stop_old_versions_being_offered() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("strict.cnf");
    std::fs::write(
        &conf,
        "openssl_conf = openssl_init\n\
         [openssl_init]\nssl_conf = ssl_sect\n\
         [ssl_sect]\nsystem_default = system_default_sect\n\
         [system_default_sect]\nMinProtocol = TLSv1.2\nCipherString = DEFAULT@SECLEVEL=2\n",
    )
    .unwrap();
    // TLS 1.0/1.1 with only an ECDHE suite: the case the security level breaks.
    let old = server(Behaviour::Tls {
        min: Tls10,
        max: Tls11,
        ciphers: Some("ECDHE-RSA-AES128-SHA:@SECLEVEL=0".into()),
    })
    .await;
    let out = run_cli(
        &["scan", "--format", "json", &old.addr().to_string()],
        &[("OPENSSL_CONF", conf.to_str().unwrap())],
        None,
    )
    .await;
    let r = report(&out);
    let e = &r.endpoints[0];
    assert_eq!(row(e)["tls1.0"], "yes", "{}", stderr(&out));
    assert_eq!(row(e)["tls1.1"], "yes");
    assert_eq!(e.verdict, Verdict::Tls12Missing);
    assert_eq!(out.status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_strict_config_really_is_strict_for_a_default_client() {
    // The control for the test above: a default OpenSSL client under that config refuses to
    // offer TLS 1.0, so the test above would fail if our contexts inherited it.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("strict.cnf");
    std::fs::write(
        &conf,
        "openssl_conf = openssl_init\n[openssl_init]\nssl_conf = ssl_sect\n\
         [ssl_sect]\nsystem_default = s\n[s]\nMinProtocol = TLSv1.2\n",
    )
    .unwrap();
    let old = tls_server(Tls10, Tls10).await;
    let out = tokio::process::Command::new("openssl")
        .args(["s_client", "-connect", &old.addr().to_string(), "-tls1"])
        .env("OPENSSL_CONF", &conf)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("the openssl command");
    assert!(!out.status.success());
    assert_eq!(old.handshakes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_targets_file_names_file_and_line_and_scans_the_rest() {
    let s = tls_server(Tls12, Tls13).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dcs.txt");
    std::fs::write(
        &file,
        format!(
            "# domain controllers\n\n{}\ndc2:99999\nftp://dc3\n",
            s.addr()
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = run_cli(&["scan", "-f", f, "--format", "json"], &[], None).await;
    assert_eq!(out.status.code(), Some(2), "input errors exit 2");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{f}:4: invalid port '99999'")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:5: unknown scheme 'ftp://'")),
        "{err}"
    );
    let r = report(&out);
    assert_eq!(r.endpoints.len(), 1);
    assert_eq!(r.endpoints[0].verdict, Verdict::Ready);
    assert_eq!(r.input_errors.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_from_stdin() {
    let s = tls_server(Tls10, Tls13).await;
    let out = run_cli(
        &["scan", "-f", "-", "--format", "json", "--label", "before"],
        &[],
        Some(&format!("{}\n", s.addr())),
    )
    .await;
    let r = report(&out);
    assert_eq!(r.label.as_deref(), Some("before"));
    assert_eq!(r.endpoints[0].verdict, Verdict::Legacy);
    assert_eq!(out.status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_endpoint_exits_3_and_does_not_stop_the_others() {
    let s = tls_server(Tls12, Tls13).await;
    let closed = format!("127.0.0.1:{}", closed_port());
    let out = run_cli(
        &["scan", "--format", "json", &closed, &s.addr().to_string()],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    let r = report(&out);
    let verdicts: Vec<Verdict> = r.endpoints.iter().map(|e| e.verdict).collect();
    assert_eq!(verdicts, vec![Verdict::Unreachable, Verdict::Ready]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_report_has_the_documented_shape() {
    let s = tls_server(Tls12, Tls13).await;
    let out = run_cli(
        &["scan", "--format", "json", &s.addr().to_string()],
        &[],
        None,
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], tlsmatrix::report::SCHEMA_VERSION);
    assert_eq!(v["tool"]["name"], "tlsmatrix");
    assert!(v["tls_library"].as_str().unwrap().starts_with("OpenSSL"));
    for key in ["started", "finished"] {
        let t = v[key].as_str().unwrap();
        assert!(humantime::parse_rfc3339(t).is_ok(), "{key}: {t}");
    }
    let e = &v["endpoints"][0];
    for key in [
        "target", "host", "address", "port", "protocol", "sni", "verdict", "versions",
    ] {
        assert!(e.get(key).is_some(), "endpoint lacks {key}");
    }
    let keys: Vec<&str> = e["versions"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys, ["ssl3", "tls1.0", "tls1.1", "tls1.2", "tls1.3"]);
    let statuses = [
        "accepted",
        "refused",
        "unreachable",
        "timeout",
        "not_testable",
        "error",
    ];
    for (_, cell) in e["versions"].as_object().unwrap() {
        assert!(statuses.contains(&cell["status"].as_str().unwrap()));
        assert!(cell["detail"].is_string());
        assert!(cell["elapsed_ms"].is_u64());
    }
    assert_eq!(e["versions"]["tls1.0"]["how"]["name"], "protocol_version");
    assert!(
        e["versions"]["tls1.2"]["cipher"]
            .as_str()
            .unwrap()
            .starts_with("TLS_")
    );
    // And it reads back into the library's types.
    let _: Report = serde_json::from_value(v).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_markdown_and_table_outputs() {
    let s = tls_server(Tls10, Tls12).await;
    let addr = s.addr().to_string();
    let csv = run_cli(
        &[
            "scan",
            "--format",
            "csv",
            "--versions",
            "tls1.0,tls1.3",
            &addr,
        ],
        &[],
        None,
    )
    .await;
    let text = stdout(&csv);
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader
            .headers()
            .unwrap()
            .iter()
            .collect::<Vec<_>>()
            .join(","),
        "target,host,address,port,protocol,sni,version,status,how,detail,cipher,elapsed_ms,verdict,\
         cert,cert_subject,cert_issuer,cert_sha256,cert_not_after,cert_days_left,cert_findings,\
         suites,suite_order,suites_worst,groups,signature_algorithms,connections"
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][6], "tls1.0");
    assert_eq!(rows[0][7], "accepted");
    assert_eq!(rows[1][6], "tls1.3");
    assert_eq!(rows[1][7], "refused");
    assert_eq!(rows[1][8], "alert:70");
    // The certificate TLS 1.0 served (the lab's self-signed localhost one), none for TLS 1.3.
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(&records[0][col("cert_subject")], "CN=localhost");
    let keys = &records[0][col("cert_findings")];
    assert!(
        keys.split(' ').any(|k| k == "self_signed") && keys.contains("untrusted"),
        "{keys}"
    );
    assert_eq!(&records[1][col("cert_subject")], "");

    let md = run_cli(&["scan", "--format", "md", &addr], &[], None).await;
    let text = stdout(&md);
    assert!(
        text.contains(
            "| Target | Address | Port | SSLv3 | TLS 1.0 | TLS 1.1 | TLS 1.2 | TLS 1.3 | Certificate \
             | Verdict |"
        ),
        "{text}"
    );
    assert!(text.contains("**legacy: TLS 1.0, TLS 1.1**"), "{text}");

    let table = run_cli(&["scan", "--format", "table", &addr], &[], None).await;
    let text = stdout(&table);
    assert!(
        text.contains("ENDPOINT")
            && text.contains("legacy")
            && text.contains("legend: yes = accepted"),
        "{text}"
    );
    let wide = run_cli(&["scan", "--wide", &addr], &[], None).await;
    assert!(
        stdout(&wide).contains("legacy: TLS 1.0, TLS 1.1") && stdout(&wide).contains("no: alert"),
        "{}",
        stdout(&wide)
    );
    assert!(
        !text.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
    assert!(text.contains("1 endpoint: 1 legacy"), "{text}");
    let forced = run_cli(
        &["scan", "--format", "table", "--color", "always", &addr],
        &[],
        None,
    )
    .await;
    assert!(stdout(&forced).contains('\u{1b}'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_file_is_written_whole_with_format_from_its_extension() {
    let s = tls_server(Tls12, Tls13).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("before.json");
    let out = run_cli(
        &[
            "scan",
            "-o",
            path.to_str().unwrap(),
            "--quiet",
            &s.addr().to_string(),
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "report goes to the file only");
    let r: Report = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(r.endpoints[0].verdict, Verdict::Ready);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");

    let bad = run_cli(
        &[
            "scan",
            "-o",
            "/nonexistent-dir/x.json",
            &s.addr().to_string(),
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("cannot write /nonexistent-dir/x.json"),
        "{}",
        stderr(&bad)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_are_one_clear_line_and_exit_2() {
    for (args, needle) in [
        (vec!["scan"], "no targets"),
        (vec!["scan", "ftp://dc1"], "unknown scheme 'ftp://'"),
        (
            vec!["scan", "--starttls", "smtp", "x"],
            "invalid value 'smtp'",
        ),
        (
            vec!["scan", "--versions", "tls1.4", "x"],
            "unknown protocol version 'tls1.4'",
        ),
        (
            vec!["scan", "--timeout", "soon", "x"],
            "invalid duration 'soon'",
        ),
        (
            vec!["scan", "--concurrency", "0", "x"],
            "0 is not in 1..=100000",
        ),
        (
            vec!["scan", "-f", "/nonexistent/targets.txt"],
            "cannot read targets from /nonexistent/targets.txt",
        ),
        (
            vec!["scan", "--resolve", "dc:636", "x"],
            "invalid --resolve",
        ),
        (
            vec!["scan", "--connect-timeout", "20s", "--timeout", "5s", "x"],
            "--connect-timeout",
        ),
    ] {
        let out = run_cli(&args, &[], None).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl3_is_not_testable_never_refused_on_a_build_without_it() {
    let s = tls_server(Tls10, Tls13).await;
    let out = run_cli(
        &[
            "scan",
            "--format",
            "json",
            "--versions",
            "ssl3",
            &s.addr().to_string(),
        ],
        &[],
        None,
    )
    .await;
    let r = report(&out);
    let cell = &r.endpoints[0].versions[&Ssl3];
    // This build's OpenSSL decides which: either it offers SSLv3 (and this server, which starts
    // at TLS 1.0, must refuse it), or it cannot and the cell says so.
    match cell.status() {
        Status::NotTestable => {
            assert!(
                cell.outcome.detail().contains("SSLv3"),
                "{}",
                cell.outcome.detail()
            );
            assert_eq!(cell.attempts, 0, "nothing was sent");
            assert_eq!(r.endpoints[0].verdict, Verdict::Incomplete);
        }
        Status::Refused => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_prints_both_matrices() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_cli(&["demo", "--save", dir.path().to_str().unwrap()], &[], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("== Before enforcement =="), "{text}");
    assert!(
        text.contains("[before] 7 endpoints: 1 ready, 4 legacy, 2 no_tls"),
        "{text}"
    );
    assert!(text.contains("[after] 7 endpoints: 7 ready"), "{text}");
    let after: Report =
        serde_json::from_slice(&std::fs::read(dir.path().join("after.json")).unwrap()).unwrap();
    assert_eq!(after.label.as_deref(), Some("after"));
    // The first run shows certificates: dc1's expires within the warning, the web server's
    // names another host, and the DCs' expiry dates lie far apart.
    assert!(
        text.contains("expires 11d") || text.contains("expires 12d"),
        "{text}"
    );
    assert!(text.contains("name?"), "{text}");
    let cert_of = |port_of: &str| {
        after
            .endpoints
            .iter()
            .find(|e| e.target.starts_with(port_of))
            .and_then(|e| e.certificate.as_deref())
            .unwrap_or_else(|| panic!("{port_of} has a certificate"))
    };
    let keys = |c: &tlsmatrix::cert::Certificate| -> Vec<&str> {
        c.findings.iter().map(|f| f.key.key()).collect()
    };
    assert_eq!(keys(cert_of("ldaps://dc1.lab.test")), ["expires_soon"]);
    assert_eq!(keys(cert_of("https://web.lab.test")), ["name_mismatch"]);
    assert!(cert_of("ldaps://dc2.lab.test").findings.is_empty());
    assert_eq!(after.certificate_consistency.len(), 1);
    assert_eq!(
        after.certificate_consistency[0].kind,
        tlsmatrix::cert::InconsistencyKind::ExpirySpread
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conventions_a_user_expects() {
    let s = tls_server(Tls12, Tls13).await;
    let addr = s.addr().to_string();

    // clap's own mistakes take the documented one-line form.
    let out = run_cli(&["scan", "--versons", "tls1.0", &addr], &[], None).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("tlsmatrix: error: "), "{err}");
    assert!(err.contains("--versions"), "the hint is kept: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    // A probe timeout shorter than the default connect timeout is fine on its own.
    let out = run_cli(
        &["scan", "--timeout", "3", "--format", "json", &addr],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.options.connect_timeout_ms, 3000);

    // Environment variables set the common defaults.
    let out = run_cli(
        &["scan", "--format", "json", &addr],
        &[("TLSMATRIX_TIMEOUT", "7s"), ("TLSMATRIX_CONCURRENCY", "5")],
        None,
    )
    .await;
    let r = report(&out);
    assert_eq!((r.options.timeout_ms, r.options.concurrency), (7000, 5));

    // The human table in a pipe too, and JSON only when asked for.
    let out = run_cli(&["scan", &addr], &[], None).await;
    assert!(stdout(&out).contains("VERDICT"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("\x1b["), "no colour in a pipe");

    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.unknown");
    let out = run_cli(&["scan", "-o", html.to_str().unwrap(), &addr], &[], None).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(".json, .csv, .md"),
        "{}",
        stderr(&out)
    );

    for (args, needle) in [
        (
            vec![
                "check",
                "x.json",
                "--require",
                "tls1.0",
                "--forbid",
                "tls1.0",
            ],
            "tls1.0 is both in --require and in --forbid",
        ),
        (vec!["scan", "dc1 dc2"], "more than one target"),
        (
            vec!["clients", "--ports", "ldaps,ldapz", "x.pcap"],
            "'ldapz' is not a port",
        ),
    ] {
        let out = run_cli(&args, &[], None).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }

    // A missing capture is an error, with no empty report beside it.
    let out = run_cli(&["clients", "/nonexistent/x.pcap"], &[], None).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("/nonexistent/x.pcap"));

    // A pin that no target uses is said.
    let out = run_cli(
        &[
            "scan",
            "-q",
            "--resolve",
            "dc9.example:636:127.0.0.1",
            &addr,
        ],
        &[],
        None,
    )
    .await;
    assert!(
        stderr(&out).contains("--resolve dc9.example:636 matches no target"),
        "{}",
        stderr(&out)
    );

    // A report saved to a file is summed up on standard error.
    let saved = dir.path().join("r.json");
    let out = run_cli(&["scan", "-o", saved.to_str().unwrap(), &addr], &[], None).await;
    assert!(
        stderr(&out).contains("1 endpoint: 1 ready"),
        "{}",
        stderr(&out)
    );

    // Version on subcommands, completions, the manual page.
    let out = run_cli(&["scan", "--version"], &[], None).await;
    assert!(stdout(&out).contains(env!("CARGO_PKG_VERSION")));
    let out = run_cli(&["completions", "bash"], &[], None).await;
    assert!(stdout(&out).contains("_tlsmatrix()"), "{}", stdout(&out));
    let out = run_cli(&["man"], &[], None).await;
    assert!(stdout(&out).contains(".TH tlsmatrix 1"), "{}", stdout(&out));
}

/// The demo's tables fit an 80-column terminal and use a 120-column one, wrapping inside a
/// column rather than past the edge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_tables_fit_80_and_120_columns() {
    for width in [80usize, 120] {
        let cols = width.to_string();
        let out = run_cli(&["demo"], &[("COLUMNS", cols.as_str())], None).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(
            widest <= width,
            "{width}: a line of {widest} columns:\n{text}"
        );
        assert!(text.contains("ENDPOINT"), "{text}");
    }
}
