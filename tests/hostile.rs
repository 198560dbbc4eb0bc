//! Broken and hostile peers: each ends in a classified cell within the limits, never a hang.

use std::time::{Duration, Instant};

use tlsmatrix::lab::Behaviour;
use tlsmatrix::report::{Outcome, Phase, Refusal, Status, TlsVersion::*, Verdict};

use crate::util::*;

fn short() -> tlsmatrix::scan::ScanConfig {
    let mut c = quick();
    c.connect_timeout = Duration::from_millis(500);
    c.timeout = Duration::from_millis(800);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_is_unreachable() {
    let port = closed_port();
    let e = scan_addr(&short(), format!("127.0.0.1:{port}").parse().unwrap()).await;
    assert_eq!(e.verdict, Verdict::Unreachable);
    for (v, c) in &e.versions {
        if *v != Ssl3 || c.status() != Status::NotTestable {
            assert_eq!(c.status(), Status::Unreachable, "{v}");
        }
    }
    assert!(
        e.verdict_detail.contains("connection refused"),
        "{}",
        e.verdict_detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_times_out_in_the_handshake_phase_within_the_bound() {
    let s = server(Behaviour::Silent).await;
    // Four probes run at once against one host (per-host 4), five versions: two rounds at most.
    let e = scan_addr_within(&short(), s.addr(), Duration::from_secs(3)).await;
    for v in [Tls10, Tls11, Tls12, Tls13] {
        match &e.versions[&v].outcome {
            Outcome::Timeout {
                phase: Phase::Handshake,
                message,
            } => {
                assert!(message.contains("800ms"), "{message}")
            }
            other => panic!("{v}: {other:?}"),
        }
    }
    assert_eq!(
        e.verdict,
        Verdict::Incomplete,
        "a timeout is never a refusal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_after_hello_on_every_version_is_no_tls() {
    let s = server(Behaviour::Reset).await;
    let e = scan_addr(&short(), s.addr()).await;
    for v in [Tls10, Tls11, Tls12, Tls13] {
        assert_eq!(
            e.versions[&v].outcome,
            Outcome::Refused(Refusal::Reset),
            "{v}"
        );
    }
    assert_eq!(e.verdict, Verdict::NoTls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_close_is_refused_closed() {
    let s = server(Behaviour::Close).await;
    let e = scan_addr(&short(), s.addr()).await;
    assert_eq!(
        e.versions[&Tls10].outcome,
        Outcome::Refused(Refusal::Closed)
    );
    assert_eq!(e.verdict, Verdict::NoTls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_is_reported_with_its_name() {
    let s = server(Behaviour::Alert(40)).await;
    let e = scan_addr(&short(), s.addr()).await;
    assert_eq!(
        e.versions[&Tls12].outcome,
        Outcome::Refused(Refusal::Alert { code: 40 })
    );
    assert_eq!(
        e.versions[&Tls12].outcome.detail(),
        "alert handshake_failure(40)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_answer_is_not_tls() {
    let s = server(Behaviour::Garbage).await;
    let e = scan_addr(&short(), s.addr()).await;
    match &e.versions[&Tls12].outcome {
        Outcome::Refused(Refusal::NotTls { received }) => {
            assert!(received.contains("HTTP/1.1 400"), "{received}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_drip_ends_in_a_timeout_not_a_hang() {
    let s = server(Behaviour::SlowDrip).await;
    let e = scan_addr_within(&short(), s.addr(), Duration::from_secs(3)).await;
    match &e.versions[&Tls12].outcome {
        Outcome::Timeout {
            phase: Phase::Handshake,
            message,
        } => {
            assert!(message.contains("bytes received"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_certificate_chain_still_shows_the_version_accepted() {
    let s = server(Behaviour::OversizedChain { kib: 300 }).await;
    let e = scan_addr(&quick(), s.addr()).await;
    match &e.versions[&Tls12].outcome {
        Outcome::Accepted {
            completed: false,
            note: Some(n),
            cipher: Some(_),
            ..
        } => {
            assert!(n.contains("the server chose TLS 1.2"), "{n}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.versions[&Tls10].outcome,
        Outcome::Refused(Refusal::Alert { code: 70 })
    );
    assert_eq!(e.verdict, Verdict::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolvable_name_is_one_unreachable_row_and_others_still_scan() {
    let s = tls_server(Tls12, Tls13).await;
    let report = scan_targets(
        &short(),
        &["no-such-host.invalid:636".to_string(), s.addr().to_string()],
    )
    .await;
    assert_eq!(report.endpoints.len(), 2);
    let bad = &report.endpoints[0];
    assert_eq!(bad.address, None);
    assert_eq!(bad.verdict, Verdict::Unreachable);
    assert!(bad.verdict_detail.contains("DNS"), "{}", bad.verdict_detail);
    assert_eq!(report.endpoints[1].verdict, Verdict::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_returns_what_is_done_marked_incomplete() {
    let s = server(Behaviour::Silent).await;
    let mut config = quick();
    config.timeout = Duration::from_secs(30);
    config.connect_timeout = Duration::from_secs(30);
    let cancel = tokio_util::sync::CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        c2.cancel();
    });
    let start = Instant::now();
    let targets = vec![tlsmatrix::target::parse_target(&s.addr().to_string()).unwrap()];
    let report =
        tlsmatrix::scan::scan(&config, targets, vec![], cancel, &tlsmatrix::scan::Silent).await;
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(!report.complete);
    // A cell never probed is its own outcome, not an error string.
    assert_eq!(
        report.endpoints[0].versions[&Tls12].status(),
        Status::Interrupted
    );
    assert_eq!(report.endpoints[0].verdict, Verdict::Incomplete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout_is_a_connect_phase_timeout_and_is_retried() {
    let (_listener, _filler, addr) = full_backlog().await;
    let mut config = short();
    config.connect_timeout = std::time::Duration::from_millis(300);
    config.timeout = std::time::Duration::from_secs(2);
    config.retries = 1;
    let start = Instant::now();
    let e = scan_addr(&config, addr).await;
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
    let mut tried = 0;
    for (v, c) in &e.versions {
        match &c.outcome {
            Outcome::Timeout {
                phase: Phase::Connect,
                message,
            } => {
                assert!(
                    message.contains("no TCP connection within 300ms"),
                    "{message}"
                )
            }
            other => panic!("{v}: {other:?}"),
        }
        if c.attempts > 0 {
            assert_eq!(c.attempts, 2, "one retry");
            tried += 1;
        }
    }
    // Only the first version connects; the others wait for it and take its answer.
    assert_eq!(tried, 1);
    assert_eq!(e.verdict, Verdict::Unreachable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_is_not_tried_again_for_every_version() {
    let port = closed_port();
    let mut config = short();
    config.per_host = 1;
    config.retries = 2;
    let e = scan_addr(&config, format!("127.0.0.1:{port}").parse().unwrap()).await;
    let attempts: Vec<u32> = e.versions.values().map(|c| c.attempts).collect();
    // The first version made three attempts (two retries); the rest reuse its answer.
    assert_eq!(attempts[0], 3);
    assert!(attempts[1..].iter().all(|a| *a == 0), "{attempts:?}");
    assert!(e.versions[&Tls13].outcome.detail().contains("not tried"));
    assert_eq!(e.verdict, Verdict::Unreachable);
}

/// Counts probes in flight at once.
#[derive(Default)]
struct InFlight {
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

impl tlsmatrix::scan::ScanObserver for InFlight {
    fn probe_started(&self, _id: tlsmatrix::scan::ProbeId, _what: &str) {
        use std::sync::atomic::Ordering::SeqCst;
        let n = self.now.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(n, SeqCst);
    }
    fn probe_finished(&self, _id: tlsmatrix::scan::ProbeId) {
        self.now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A server that never answers costs one timeout, then its other versions wait together, not
/// one timeout each in series (even with --per-host 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_timeout_the_other_versions_of_the_address_run_together() {
    let s = server(Behaviour::Silent).await;
    let mut config = quick();
    config.per_host = 1;
    config.timeout = Duration::from_millis(800);
    config.connect_timeout = Duration::from_millis(800);
    let seen = InFlight::default();
    let targets = vec![tlsmatrix::target::parse_target(&s.addr().to_string()).unwrap()];
    let report = tlsmatrix::scan::scan(&config, targets, vec![], Default::default(), &seen).await;
    assert!(
        report.endpoints[0]
            .versions
            .values()
            .all(|c| c.status() == Status::Timeout)
    );
    let most = seen.most.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(most, config.versions.len() - 1, "probes in flight at once");
}
