//! `tlsmatrix serve` as Prometheus uses it: the real binary on a free loopback port, scraped over
//! HTTP, probing lab servers.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tlsmatrix::lab::{Behaviour, LabServer};
use tlsmatrix::report::TlsVersion::*;

use crate::util::*;

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, last))
}

/// Two lab servers on the same port of 127.0.0.1 and 127.0.0.2: the two addresses of a name.
async fn two_addresses(first: Behaviour, second: Behaviour) -> (LabServer, LabServer) {
    for _ in 0..20 {
        let a = server(first.clone()).await;
        let at = SocketAddr::new(loopback(2), a.addr().port());
        if let Ok(b) = LabServer::start(at, second.clone()).await {
            return (a, b);
        }
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

fn ldaps(min: tlsmatrix::report::TlsVersion) -> Behaviour {
    Behaviour::Ldap {
        starttls: None,
        min,
        max: Tls13,
        answers: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_answers_the_matrix_of_every_address_of_a_name() {
    // dc1.lab.test has two addresses: one enforced, one that still accepts TLS 1.0 and 1.1.
    let (_a, _b) = two_addresses(ldaps(Tls12), ldaps(Tls10)).await;
    let port = _a.addr().port();
    let dir = tempfile::tempdir().unwrap();
    let config = write_file(
        dir.path(),
        "exporter.yml",
        &format!(
            "modules:\n  lab:\n    versions: [tls1.0, tls1.1, tls1.2, tls1.3]\n    resolve: ['dc1.lab.test:{port}:127.0.0.1,127.0.0.2']\n"
        ),
    );
    let s = Served::start(&["--config", &config]).await;
    let target = format!("ldaps://dc1.lab.test:{port}");
    let (code, text) = s
        .get(&format!("/probe?module=lab&target={target}"), Some(10.0))
        .await;
    assert_eq!(code, 200, "{text}");
    let at = |addr: &'static str, v: &'static str| {
        let labels = [
            ("target", target.as_str()),
            ("address", addr),
            ("protocol", "ldaps"),
            ("version", v),
        ];
        sample(&text, "tlsmatrix_version_accepted", &labels)
    };
    for (addr, old) in [("127.0.0.1", 0.0), ("127.0.0.2", 1.0)] {
        assert_eq!(at(addr, "tls1.0"), Some(old), "{addr}\n{text}");
        assert_eq!(at(addr, "tls1.1"), Some(old), "{addr}");
        assert_eq!(at(addr, "tls1.2"), Some(1.0), "{addr}");
        assert_eq!(at(addr, "tls1.3"), Some(1.0), "{addr}");
        // The directory answered over TLS 1.2: it works, not just handshakes.
        let works = [("address", addr), ("version", "tls1.2")];
        assert_eq!(sample(&text, "tlsmatrix_version_works", &works), Some(1.0));
        let dse = [
            ("address", addr),
            ("dns_host_name", "dc1.lab.test"),
            ("default_naming_context", "DC=lab,DC=test"),
        ];
        assert_eq!(
            sample(&text, "tlsmatrix_ldap_root_dse_info", &dse),
            Some(1.0)
        );
    }
    let verdict = |addr, v| {
        sample(
            &text,
            "tlsmatrix_endpoint_verdict",
            &[("address", addr), ("verdict", v)],
        )
    };
    assert_eq!(verdict("127.0.0.1", "ready"), Some(1.0));
    assert_eq!(verdict("127.0.0.2", "legacy"), Some(1.0));
    assert_eq!(verdict("127.0.0.2", "ready"), Some(0.0));
    let refused = [
        ("address", "127.0.0.1"),
        ("version", "tls1.0"),
        ("status", "refused"),
    ];
    assert_eq!(
        sample(&text, "tlsmatrix_version_status", &refused),
        Some(1.0)
    );
    assert_eq!(sample(&text, "tlsmatrix_probe_success", &[]), Some(1.0));
    assert_eq!(sample(&text, "tlsmatrix_probe_endpoints", &[]), Some(2.0));
    assert_eq!(sample(&text, "tlsmatrix_probe_cached", &[]), Some(0.0));
    assert!(text.ends_with("# EOF\n"));
}

/// A module with `suites: true` enumerates each accepted version's suites and answers the
/// counts per class; a module without it answers no suite series.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suites_module_answers_the_suites_per_class() {
    // TLS 1.2 only, with one forward-secret AEAD suite and one RSA key exchange CBC suite.
    let lab = server(Behaviour::Tls {
        min: Tls12,
        max: Tls12,
        ciphers: Some("ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA".into()),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_file(
        dir.path(),
        "exporter.yml",
        "limits:\n  min_interval: 0\nmodules:\n  suites:\n    versions: [tls1.2]\n    suites: true\n  plain:\n    versions: [tls1.2]\n",
    );
    let s = Served::start(&["--config", &config]).await;
    let target = lab.addr().to_string();
    let (code, text) = s
        .get(&format!("/probe?module=suites&target={target}"), Some(10.0))
        .await;
    assert_eq!(code, 200, "{text}");
    let class = |c: &'static str| {
        sample(
            &text,
            "tlsmatrix_suites_accepted",
            &[("version", "tls1.2"), ("class", c)],
        )
    };
    assert_eq!(
        [class("insecure"), class("weak"), class("ok")],
        [Some(0.0), Some(1.0), Some(1.0)],
        "{text}"
    );
    assert_eq!(
        sample(&text, "tlsmatrix_suites_complete", &[("version", "tls1.2")]),
        Some(1.0)
    );
    let (code, plain) = s
        .get(&format!("/probe?module=plain&target={target}"), Some(10.0))
        .await;
    assert_eq!(code, 200, "{plain}");
    assert_eq!(
        sample(
            &plain,
            "tlsmatrix_version_accepted",
            &[("version", "tls1.2")]
        ),
        Some(1.0)
    );
    assert!(!plain.contains("tlsmatrix_suites"), "{plain}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_query_parameters_get_clear_400s_and_scan_nothing() {
    let s = Served::start(&[]).await;
    let cases = [
        (
            "/probe",
            "missing parameter 'target' (as in /probe?target=ldaps://dc1.example.com&module=NAME)",
        ),
        (
            "/probe?target=ldaps://dc1&module=nope",
            "unknown module 'nope' (this exporter has: default)",
        ),
        (
            "/probe?target=ftp://dc1",
            "target 'ftp://dc1': unknown scheme 'ftp://' (expected ldap, ldaps, gc, gcs, rdp, https or tls)",
        ),
        (
            "/probe?target=dc1:99999",
            "target 'dc1:99999': invalid port '99999' (expected 1 to 65535)",
        ),
        (
            "/probe?target=dc1&target=dc2",
            "parameter 'target' given twice",
        ),
        (
            "/probe?target=dc1&debug=true",
            "unknown parameter 'debug' (expected target and module)",
        ),
    ];
    for (path, message) in cases {
        let (code, text) = s.get(path, Some(10.0)).await;
        assert_eq!(
            (code, text.as_str()),
            (400, format!("{message}\n").as_str())
        );
    }
    let (code, text) = s.get("/probe?target=dc1", Some(0.4)).await;
    assert_eq!(code, 400);
    assert!(text.contains("raise scrape_timeout"), "{text}");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = client
        .get(format!("{}/probe?target=dc1", s.base))
        .header("X-Prometheus-Scrape-Timeout-Seconds", "soon")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(
        resp.text().await.unwrap(),
        "X-Prometheus-Scrape-Timeout-Seconds 'soon' is not a number of seconds\n"
    );
    let (code, _) = s.get("/nothing-here", None).await;
    assert_eq!(code, 404);

    let (_, metrics) = s.get("/metrics", None).await;
    let bad = |reason| {
        sample(
            &metrics,
            "tlsmatrix_exporter_bad_requests_total",
            &[("reason", reason)],
        )
    };
    assert_eq!(bad("parameter"), Some(3.0), "{metrics}");
    assert_eq!(bad("module"), Some(1.0));
    assert_eq!(bad("target"), Some(2.0));
    assert_eq!(bad("timeout_header"), Some(2.0));
    assert_eq!(
        sample(&metrics, "tlsmatrix_exporter_scans_total", &[]),
        None,
        "no scan ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_inside_the_minimum_interval_gets_the_cached_result() {
    let lab = tls_server(Tls12, Tls13).await;
    let dir = tempfile::tempdir().unwrap();
    let module = "versions: [tls1.2, tls1.3]\n    engine: openssl";
    let config = write_file(
        dir.path(),
        "exporter.yml",
        &format!(
            "limits:\n  min_interval: 1500ms\nmodules:\n  a:\n    {module}\n  b:\n    {module}\n"
        ),
    );
    let s = Served::start(&["--config", &config]).await;
    let path = |m: &str| format!("/probe?module={m}&target=tls://{}", lab.addr());

    let begun = Instant::now();
    let (_, first) = s.get(&path("a"), Some(5.0)).await;
    // The scan finished before this: its result expires before this plus the interval.
    let first_done = Instant::now();
    assert_eq!(sample(&first, "tlsmatrix_probe_cached", &[]), Some(0.0));
    assert_eq!(sample(&first, "tlsmatrix_probe_success", &[]), Some(1.0));
    assert!(
        eventually(|| lab.handshakes() == 2).await,
        "one scan: two versions"
    );

    let (_, second) = s.get(&path("a"), Some(5.0)).await;
    assert!(
        begun.elapsed() < Duration::from_millis(1500),
        "still inside the interval"
    );
    assert_eq!(sample(&second, "tlsmatrix_probe_cached", &[]), Some(1.0));
    assert!(sample(&second, "tlsmatrix_probe_age_seconds", &[]).unwrap() > 0.0);
    assert_eq!(
        sample(
            &second,
            "tlsmatrix_version_accepted",
            &[("version", "tls1.2")]
        ),
        Some(1.0),
        "the cached answer has the whole matrix"
    );
    // Another module is another scan.
    let (_, other) = s.get(&path("b"), Some(5.0)).await;
    assert_eq!(sample(&other, "tlsmatrix_probe_cached", &[]), Some(0.0));
    assert!(eventually(|| lab.handshakes() == 4).await);

    tokio::time::sleep(Duration::from_millis(1550).saturating_sub(first_done.elapsed())).await;
    let (_, third) = s.get(&path("a"), Some(5.0)).await;
    assert_eq!(sample(&third, "tlsmatrix_probe_cached", &[]), Some(0.0));
    assert!(eventually(|| lab.handshakes() == 6).await);

    let (_, metrics) = s.get("/metrics", None).await;
    let probes = |source| {
        sample(
            &metrics,
            "tlsmatrix_exporter_probes_total",
            &[("module", "a"), ("source", source)],
        )
    };
    assert_eq!(probes("scan"), Some(2.0), "{metrics}");
    assert_eq!(probes("cache"), Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_scrapes_of_one_target_share_one_scan() {
    // A server that never answers the hello: the scan lasts until its timeout, so every scrape
    // below arrives while it runs.
    let silent = server(Behaviour::Silent).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_file(
        dir.path(),
        "exporter.yml",
        "limits:\n  min_interval: 0\nmodules:\n  quick:\n    versions: [tls1.2]\n    engine: openssl\n    timeout: 2s\n",
    );
    let s = Arc::new(Served::start(&["--config", &config]).await);
    let path = format!("/probe?module=quick&target=tls://{}", silent.addr());
    let mut scrapes = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let s = s.clone();
        let path = path.clone();
        scrapes.spawn(async move { s.get(&path, Some(10.0)).await });
    }
    while let Some(r) = scrapes.join_next().await {
        let (code, text) = r.unwrap();
        assert_eq!(code, 200);
        let timeout = [("version", "tls1.2"), ("status", "timeout")];
        assert_eq!(
            sample(&text, "tlsmatrix_version_status", &timeout),
            Some(1.0)
        );
    }
    let (_, metrics) = s.get("/metrics", None).await;
    let scans = sample(&metrics, "tlsmatrix_exporter_scans_total", &[]);
    assert_eq!(scans, Some(1.0), "{metrics}");
    let cache = [("source", "cache")];
    assert_eq!(
        sample(&metrics, "tlsmatrix_exporter_probes_total", &cache),
        Some(7.0)
    );
}

/// Connections open at once, and the most ever.
#[derive(Default)]
struct Counter {
    open: AtomicUsize,
    most: AtomicUsize,
}

impl Counter {
    fn up(&self) {
        let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
    }

    fn down(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A listener that accepts connections, says nothing, and closes each after 400 ms (a refusal,
/// not a stall: a stalled address would have its per-host limit lifted), counting them at its
/// address and over all. The count goes down before the close, so a probe that follows it is
/// never counted as an overlap.
async fn counting_listener(
    addr: IpAddr,
    port: u16,
    here: Arc<Counter>,
    all: Arc<Counter>,
) -> Option<u16> {
    let l = tokio::net::TcpListener::bind((addr, port)).await.ok()?;
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            here.up();
            all.up();
            let (here, all) = (here.clone(), all.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(400)).await;
                here.down();
                all.down();
                drop(tcp);
            });
        }
    });
    Some(port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_over_concurrent_scrapes_of_different_targets() {
    // Two targets on 127.0.0.1 (written two ways, so two scans) and one on 127.0.0.2, all
    // scraped at once: at most 2 probes at one address and 3 overall, whatever the scrape.
    let (a, b, all) = (
        Arc::new(Counter::default()),
        Arc::new(Counter::default()),
        Arc::new(Counter::default()),
    );
    let mut port = None;
    for _ in 0..20 {
        let p = counting_listener(loopback(1), 0, a.clone(), all.clone())
            .await
            .unwrap();
        if counting_listener(loopback(2), p, b.clone(), all.clone())
            .await
            .is_some()
        {
            port = Some(p);
            break;
        }
    }
    let port = port.expect("a port free on both addresses");
    let dir = tempfile::tempdir().unwrap();
    let config = write_file(
        dir.path(),
        "exporter.yml",
        "limits:\n  concurrency: 3\n  per_host: 2\nmodules:\n  m:\n    versions: [tls1.0, tls1.1, tls1.2, tls1.3]\n    engine: openssl\n    timeout: 600ms\n",
    );
    let s = Arc::new(Served::start(&["--config", &config]).await);
    let targets = [
        format!("tls://127.0.0.1:{port}"),
        format!("127.0.0.1:{port}"),
        format!("tls://127.0.0.2:{port}"),
    ];
    let mut scrapes = tokio::task::JoinSet::new();
    for t in targets {
        let s = s.clone();
        scrapes.spawn(async move {
            s.get(&format!("/probe?module=m&target={t}"), Some(20.0))
                .await
        });
    }
    while let Some(r) = scrapes.join_next().await {
        let (code, text) = r.unwrap();
        assert_eq!(code, 200);
        // Every cell was probed (and refused): nothing was skipped to keep the limits.
        let refused = text
            .lines()
            .filter(|l| {
                l.starts_with("tlsmatrix_version_status{") && l.contains("status=\"refused\"")
            })
            .count();
        assert_eq!(refused, 4, "{text}");
    }
    let most = |c: &Counter| c.most.load(Ordering::SeqCst);
    assert_eq!(most(&a), 2, "per-host limit at 127.0.0.1 over two scrapes");
    assert!(most(&b) <= 2);
    assert_eq!(most(&all), 3, "global limit over three scrapes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_never_answers_ends_within_the_scrape_timeout() {
    // One server accepts and says nothing; at the other address TCP itself never completes.
    let silent = server(Behaviour::Silent).await;
    let (_listener, _filler, dead) = full_backlog().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_file(
        dir.path(),
        "exporter.yml",
        "modules:\n  patient:\n    connect_timeout: 30s\n    timeout: 60s\n",
    );
    let s = Served::start(&["--config", &config]).await;
    for (target, phase) in [
        (format!("tls://{}", silent.addr()), "handshake"),
        (format!("tls://{dead}"), "connect"),
    ] {
        let begun = Instant::now();
        let (code, text) = s
            .get(&format!("/probe?module=patient&target={target}"), Some(2.0))
            .await;
        let took = begun.elapsed();
        assert_eq!(code, 200);
        assert!(
            took < Duration::from_secs(2),
            "{target}: answered after {took:?}, past the scrape timeout"
        );
        // The probes had 90% of the 1.5 s left once the offset was taken.
        assert!(took >= Duration::from_millis(1300), "{target}: {took:?}");
        assert_eq!(sample(&text, "tlsmatrix_probe_success", &[]), Some(0.0));
        let timeout = [("version", "tls1.2"), ("status", "timeout"), ("how", phase)];
        assert_eq!(
            sample(&text, "tlsmatrix_version_status", &timeout),
            Some(1.0),
            "{target}\n{text}"
        );
        let nan = sample(
            &text,
            "tlsmatrix_version_accepted",
            &[("version", "tls1.2")],
        );
        assert!(nan.unwrap().is_nan(), "a timeout is never refused");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_validator_names_every_mistake_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_file(
        dir.path(),
        "bad.yml",
        "limits:\n  per_host: lots\nmodules:\n  dc:\n    versions: [tls1.2, tls1.4]\n    timout: 5s\n    engine: schannel\n",
    );
    for args in [
        vec!["serve", "--check-config", "--config", &bad],
        vec!["serve", "--listen", "127.0.0.1:0", "--config", &bad],
    ] {
        let out = run_cli(&args, &[], None).await;
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(
            lines,
            [
                format!(
                    "tlsmatrix: error: {bad}:2:13: limits.per_host: expected a whole number from 1 to 1000, got 'lots'"
                ),
                format!(
                    "tlsmatrix: error: {bad}:5:24: modules.dc.versions: unknown protocol version 'tls1.4' (expected ssl3, tls1.0, tls1.1, tls1.2 or tls1.3)"
                ),
                format!(
                    "tlsmatrix: error: {bad}:6:5: modules.dc.timout: unknown key 'timout' (did you mean 'timeout'?)"
                ),
                format!(
                    "tlsmatrix: error: {bad}:7:13: modules.dc.engine: unknown engine 'schannel' (expected openssl, wire or both)"
                ),
            ],
            "{err}"
        );
        assert!(!err.contains("listening"));
    }

    let web = write_file(
        dir.path(),
        "web.yml",
        "tls_server_config:\n  cert_file: nowhere.crt\n  key_file: nowhere.key\nbasic_auth_users:\n  prometheus: hunter2\n",
    );
    let out = run_cli(
        &["serve", "--check-config", "--web-config", &web],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 3, "{err}");
    assert!(err.contains(&format!(
        "{web}:2:14: tls_server_config.cert_file: cannot use "
    )));
    assert!(err.contains("nowhere.crt"));
    assert!(err.contains(&format!(
        "{web}:5:15: basic_auth_users.prometheus: not a bcrypt hash"
    )));

    let good = "contrib/prometheus/tlsmatrix-exporter.yml";
    let out = run_cli(&["serve", "--check-config", "--config", good], &[], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("{good}: 3 modules (dc, dc_suites, ldap_starttls)\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reads_the_config_again_and_a_broken_one_keeps_the_old() {
    let lab = tls_server(Tls12, Tls13).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_file(dir.path(), "exporter.yml", "modules:\n  a:\n");
    let s = Served::start(&["--config", &config]).await;
    let probe = |m: &str| format!("/probe?module={m}&target=tls://{}", lab.addr());
    assert_eq!(s.get(&probe("b"), Some(5.0)).await.0, 400);

    std::fs::write(&config, "modules:\n  a:\n  b:\n    versions: [tls1.2]\n").unwrap();
    s.signal("HUP");
    assert!(s.wait_log("configuration read again").await, "{}", s.log());
    let (code, text) = s.get(&probe("b"), Some(5.0)).await;
    assert_eq!(code, 200);
    assert_eq!(
        sample(
            &text,
            "tlsmatrix_version_accepted",
            &[("version", "tls1.2")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "tlsmatrix_version_accepted",
            &[("version", "tls1.3")]
        ),
        None
    );

    std::fs::write(&config, "modules:\n  a:\n  b:\n    versions: [tls9]\n").unwrap();
    s.signal("HUP");
    assert!(
        s.wait_log("the configuration in force stays").await,
        "{}",
        s.log()
    );
    assert!(s.log().contains(&format!(
        "{config}:4:16: modules.b.versions: unknown protocol version 'tls9'"
    )));
    assert_eq!(
        s.get(&probe("b"), Some(5.0)).await.0,
        200,
        "module b is still there"
    );
    let (_, metrics) = s.get("/metrics", None).await;
    let reloads = |r| {
        sample(
            &metrics,
            "tlsmatrix_exporter_config_reloads_total",
            &[("result", r)],
        )
    };
    assert_eq!(reloads("success"), Some(1.0));
    assert_eq!(reloads("failure"), Some(1.0));
    assert_eq!(
        sample(
            &metrics,
            "tlsmatrix_exporter_config_last_reload_successful",
            &[]
        ),
        Some(0.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_the_probe_in_progress_then_stops() {
    let silent = server(Behaviour::Silent).await;
    let mut s = Served::start(&[]).await;
    let url = format!("{}/probe?target=tls://{}", s.base, silent.addr());
    let begun = Instant::now();
    let scrape = tokio::spawn(async move { http_get(&url, Some(2.5)).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.signal("TERM");
    assert!(s.wait_log("tlsmatrix: stopping").await, "{}", s.log());
    // No new connection is taken...
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        tokio::net::TcpStream::connect(s.addr).await.is_err(),
        "still listening"
    );
    // ...but the scrape in progress gets its answer.
    let (code, text) = scrape.await.unwrap();
    assert_eq!(code, 200);
    assert_eq!(sample(&text, "tlsmatrix_probe_success", &[]), Some(0.0));
    let status = tokio::time::timeout(Duration::from_secs(5), s.child.wait())
        .await
        .expect("exits once the answer is sent")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        begun.elapsed() < Duration::from_secs(4),
        "{:?}",
        begun.elapsed()
    );
    assert!(s.wait_log("tlsmatrix: stopped").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_basic_auth_protect_the_exporter() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = tlsmatrix::lab::identity();
    let cert_pem = cert.to_pem().unwrap();
    std::fs::write(dir.path().join("exporter.crt"), &cert_pem).unwrap();
    std::fs::write(
        dir.path().join("exporter.key"),
        key.private_key_to_pem_pkcs8().unwrap(),
    )
    .unwrap();
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    // Relative file names are read from the web configuration's folder.
    let web = write_file(
        dir.path(),
        "web.yml",
        &format!(
            "tls_server_config:\n  cert_file: exporter.crt\n  key_file: exporter.key\nbasic_auth_users:\n  prometheus: '{hash}'\n"
        ),
    );
    let s = Served::start(&["--web-config", &web]).await;
    assert!(s.base.starts_with("https://"), "{}", s.base);
    let client = reqwest::Client::builder()
        .no_proxy()
        .resolve("localhost", s.addr)
        .add_root_certificate(reqwest::Certificate::from_pem(&cert_pem).unwrap())
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/metrics", s.addr.port());
    let get = |user: Option<(&str, &str)>| {
        let mut r = client.get(&url);
        if let Some((u, p)) = user {
            r = r.basic_auth(u, Some(p));
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(None).await, 401);
    assert_eq!(get(Some(("prometheus", "wrong"))).await, 401);
    assert_eq!(get(Some(("nobody", "s3cret"))).await, 401);
    assert_eq!(get(Some(("prometheus", "s3cret"))).await, 200);
    // Plain HTTP gets no answer from the TLS listener.
    let plain = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{}/metrics", s.addr.port()))
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status().as_u16() != 200);
}
