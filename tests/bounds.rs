//! Bounded work on any input: durations with a maximum, input files read with a limit, file
//! descriptors running out, targets files with bad bytes.

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_timeouts_are_rejected_not_a_panic_or_a_hang() {
    for (flag, value) in [
        ("--timeout", "1e20"),
        ("--timeout", "1e19"),
        ("--connect-timeout", "1e19"),
        ("--dns-timeout", "1e19"),
        ("--dns-timeout", "1e20"),
        ("--timeout", "2h"),
    ] {
        let out = run_cli(&["scan", flag, value, "127.0.0.1:1"], &[], None).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(flag), "{flag} {value}: {err}");
        assert!(err.contains("maximum of 1h"), "{flag} {value}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = run_cli(
        &["discover", "--dns-timeout", "1e19", "corp.test"],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // The maximum itself works: a scan with it finishes as usual.
    let s = tls_server(
        tlsmatrix::tls::TlsVersion::Tls12,
        tlsmatrix::tls::TlsVersion::Tls13,
    )
    .await;
    let out = run_cli(
        &[
            "scan",
            "--format",
            "json",
            "--timeout",
            "1h",
            "--connect-timeout",
            "1h",
            "--dns-timeout",
            "3600",
            &s.addr().to_string(),
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Run the binary through a shell (for pipes), with a time limit.
async fn sh(script: &str, args: &[&str]) -> std::process::Output {
    let mut a = vec!["-c", script, env!("CARGO_BIN_EXE_tlsmatrix")];
    a.extend(args);
    let child = tokio::process::Command::new("sh")
        .args(&a)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("finished within 60s")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_input_files_are_cut_off_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let s = tls_server(
        tlsmatrix::tls::TlsVersion::Tls12,
        tlsmatrix::tls::TlsVersion::Tls13,
    )
    .await;
    let good = dir.path().join("good.json");
    let good = good.to_str().unwrap();
    let out = run_cli(
        &[
            "scan",
            "--format",
            "json",
            "-o",
            good,
            &s.addr().to_string(),
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (script, args, needle) in [
        (
            "exec \"$0\" scan -f /dev/zero",
            vec![],
            "cannot read targets from /dev/zero: more than 16 MiB, the most tlsmatrix reads from a targets file",
        ),
        (
            "yes dc1.corp.test:636 | \"$0\" scan -f -",
            vec![],
            "cannot read targets from standard input: more than 16 MiB",
        ),
        (
            "exec \"$0\" diff /dev/zero \"$1\"",
            vec![good],
            "/dev/zero: more than 128 MiB, the most tlsmatrix reads from a saved scan",
        ),
        (
            "yes '{' | \"$0\" check - --policy tls12-only",
            vec![],
            "-: more than 128 MiB",
        ),
        (
            "exec \"$0\" merge \"$1\" /dev/zero",
            vec![good],
            "/dev/zero: more than 128 MiB",
        ),
        (
            "exec \"$0\" scan --baseline /dev/zero 127.0.0.1:1",
            vec![],
            "/dev/zero: more than 128 MiB",
        ),
        (
            "exec \"$0\" clients /dev/zero",
            vec![],
            "/dev/zero: not a pcap or pcapng capture",
        ),
        (
            "yes | \"$0\" clients /dev/stdin",
            vec![],
            "/dev/stdin: not a pcap or pcapng capture",
        ),
    ] {
        let out = sh(script, &args).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{script}: {err}");
        assert!(err.contains(needle), "{script}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_utf8_line_or_a_byte_order_mark_does_not_spoil_the_targets_file() {
    let s = tls_server(
        tlsmatrix::tls::TlsVersion::Tls12,
        tlsmatrix::tls::TlsVersion::Tls13,
    )
    .await;
    let other = tls_server(
        tlsmatrix::tls::TlsVersion::Tls10,
        tlsmatrix::tls::TlsVersion::Tls13,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dcs.txt");
    let mut text = b"\xef\xbb\xbf".to_vec();
    text.extend_from_slice(format!("{}\r\n", s.addr()).as_bytes());
    text.extend_from_slice(b"dc\xe9-latin1.corp.test:636\r\n");
    text.extend_from_slice(format!("{}\r\n", other.addr()).as_bytes());
    std::fs::write(&file, text).unwrap();
    let f = file.to_str().unwrap();
    let out = run_cli(&["scan", "-f", f, "--format", "json"], &[], None).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("{f}:2: not UTF-8 text")), "{err}");
    assert_eq!(
        err.lines().count(),
        1,
        "line 1 (after the BOM) is fine: {err}"
    );
    let r = report(&out);
    let targets: Vec<&str> = r.endpoints.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(
        targets,
        [s.addr().to_string(), other.addr().to_string()],
        "the other lines are scanned"
    );
}

/// `tlsmatrix ARGS` with the open-file limit set by `ulimit` first (e.g. `-n 64`, `-S -n 64`).
async fn under_ulimit(ulimit: &str, args: &[&str]) -> std::process::Output {
    let script = format!("ulimit {ulimit} || exit 99; exec \"$0\" \"$@\"");
    let mut a = vec!["-c", script.as_str(), env!("CARGO_BIN_EXE_tlsmatrix")];
    a.extend(args);
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        tokio::process::Command::new("bash")
            .args(&a)
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await
    .expect("finished within 120s")
    .unwrap();
    assert_ne!(out.status.code(), Some(99), "ulimit {ulimit} refused");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_file_descriptors_never_marks_live_endpoints_unreachable() {
    use tlsmatrix::report::{Status, Verdict};
    use tlsmatrix::tls::TlsVersion::*;
    let mut servers = Vec::new();
    for i in 0..40 {
        servers.push(if i % 4 == 0 {
            tls_server(Tls10, Tls13).await
        } else {
            tls_server(Tls12, Tls13).await
        });
    }
    let mut args = vec![
        "scan".to_string(),
        "--format".into(),
        "json".into(),
        "--concurrency".into(),
        "2048".into(),
        "--per-host".into(),
        "4".into(),
        "--versions".into(),
        "tls1.0,tls1.1,tls1.2,tls1.3".into(),
    ];
    args.extend(servers.iter().map(|s| s.addr().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let check = |out: &std::process::Output, what: &str| {
        let r = report(out);
        assert_eq!(r.endpoints.len(), 40, "{what}");
        for (i, e) in r.endpoints.iter().enumerate() {
            for (v, c) in &e.versions {
                assert_ne!(
                    c.status(),
                    Status::Unreachable,
                    "{what}: {} {v}: {}",
                    e.target,
                    c.outcome.detail()
                );
            }
            let want = if i % 4 == 0 {
                Verdict::Legacy
            } else {
                Verdict::Ready
            };
            assert_eq!(e.verdict, want, "{what}: {} {:?}", e.target, e.versions);
        }
        assert_eq!(out.status.code(), Some(0), "{what}: {}", stderr(out));
    };
    // A hard limit of 64: the concurrency is lowered to fit, and says so.
    let out = under_ulimit("-n 64", &args).await;
    check(&out, "hard limit 64");
    assert!(
        stderr(&out).contains("probes at once instead of 2048"),
        "{}",
        stderr(&out)
    );
    // A soft limit of 64 under a higher hard one: raised at start, nothing to lower.
    let out = under_ulimit("-S -n 64", &args).await;
    check(&out, "soft limit 64");
    assert!(!stderr(&out).contains("instead of"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_out_of_descriptors_waits_instead_of_calling_the_server_unreachable() {
    use tlsmatrix::report::Status;
    use tlsmatrix::tls::TlsVersion::*;
    let s = tls_server(Tls12, Tls13).await;
    let addr = s.addr().to_string();
    // Limits so low that the two engines of a probe cannot both have a socket at once (the
    // runtime holds about a dozen descriptors; where it starts depends on the machine): one
    // engine waits for the other's socket. A probe may run out of time waiting, but nothing
    // is ever unreachable, and with a few descriptors more everything is decided.
    let mut decided = false;
    for limit in 4..=24 {
        let out = under_ulimit(
            &format!("-n {limit}"),
            &[
                "scan",
                "--format",
                "json",
                "--timeout",
                "1s",
                "--connect-timeout",
                "1s",
                "--versions",
                "tls1.2,tls1.3",
                &addr,
            ],
        )
        .await;
        let Ok(r) = serde_json::from_slice::<tlsmatrix::report::Report>(&out.stdout) else {
            eprintln!("ulimit -n {limit}: {}", stderr(&out));
            continue; // too few descriptors for the runtime itself to start
        };
        eprintln!(
            "ulimit -n {limit}: {:?}",
            r.endpoints[0]
                .versions
                .values()
                .map(|c| c.outcome.detail())
                .collect::<Vec<_>>()
        );
        for c in r.endpoints[0].versions.values() {
            match c.status() {
                Status::Accepted => {}
                Status::Error => assert!(
                    c.outcome.detail().contains("no free file descriptor"),
                    "ulimit -n {limit}: {}",
                    c.outcome.detail()
                ),
                other => panic!("ulimit -n {limit}: {other:?}: {}", c.outcome.detail()),
            }
        }
        if r.endpoints[0]
            .versions
            .values()
            .all(|c| c.status() == Status::Accepted)
        {
            decided = true;
            break;
        }
    }
    assert!(decided, "no limit up to 24 let the scan decide");
}
