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
