//! Exact matrices against in-process OpenSSL servers limited to version ranges.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use tlsmatrix::lab::{Behaviour, LabServer};
use tlsmatrix::report::{Outcome, Status, TlsVersion, TlsVersion::*, Verdict};
use tlsmatrix::target::ResolveOverrides;

use crate::util::*;

fn expect(cells: [&str; 5]) -> BTreeMap<&'static str, String> {
    TlsVersion::ALL
        .iter()
        .zip(cells)
        .map(|(v, c)| (v.key(), c.to_string()))
        .collect()
}

/// SSLv3 is "n/a" with Debian's OpenSSL, which has no SSLv3 at all; a build that has it
/// must not see it accepted by these servers (they all start at TLS 1.0).
fn ssl3_cell(e: &tlsmatrix::report::Endpoint) -> String {
    let c = &e.versions[&Ssl3];
    assert_ne!(c.status(), Status::Accepted);
    tlsmatrix::output::cell_text(c)
}

async fn check(min: TlsVersion, max: TlsVersion, cells: [&str; 4], verdict: Verdict) {
    let s = tls_server(min, max).await;
    let e = scan_addr(&quick(), s.addr()).await;
    let ssl3 = ssl3_cell(&e);
    let want = expect([&ssl3, cells[0], cells[1], cells[2], cells[3]]);
    assert_eq!(row(&e), want, "server {min}..{max}");
    assert_eq!(
        e.verdict, verdict,
        "server {min}..{max}: {}",
        e.verdict_detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls10_only_server() {
    check(
        Tls10,
        Tls10,
        ["yes", "no: got TLS 1.0", "no: got TLS 1.0", "no: alert 70"],
        Verdict::Tls12Missing,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls10_to_12_server() {
    check(
        Tls10,
        Tls12,
        ["yes", "yes", "yes", "no: alert 70"],
        Verdict::Legacy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_only_server() {
    check(
        Tls12,
        Tls12,
        ["no: alert 70", "no: alert 70", "yes", "no: alert 70"],
        Verdict::Ready,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls13_only_server() {
    check(
        Tls13,
        Tls13,
        ["no: alert 70", "no: alert 70", "no: alert 70", "yes"],
        Verdict::Ready,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_to_13_server() {
    check(
        Tls12,
        Tls13,
        ["no: alert 70", "no: alert 70", "yes", "yes"],
        Verdict::Ready,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_cells_name_the_cipher_and_refusals_the_alert() {
    let s = tls_server(Tls12, Tls13).await;
    let e = scan_addr(&quick(), s.addr()).await;
    match &e.versions[&Tls13].outcome {
        Outcome::Accepted {
            cipher: Some(c),
            completed: true,
            ..
        } => {
            assert!(
                c.starts_with("TLS_AES_") || c.starts_with("TLS_CHACHA20"),
                "{c}"
            )
        }
        other => panic!("{other:?}"),
    }
    match &e.versions[&Tls12].outcome {
        Outcome::Accepted {
            cipher: Some(c), ..
        } => assert!(c.starts_with("TLS_"), "{c}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.versions[&Tls10].outcome.detail(),
        "alert protocol_version(70)"
    );
    // Each cell is its own connection: both accepted versions completed a handshake.
    assert!(
        eventually(|| s.handshakes() == 2).await,
        "{}",
        s.handshakes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls13_probe_answered_with_tls12_is_refused_not_accepted() {
    let s = server(Behaviour::Pre13).await;
    let e = scan_addr(&quick(), s.addr()).await;
    assert_eq!(row(&e)["tls1.3"], "no: got TLS 1.2");
    assert_eq!(row(&e)["tls1.2"], "yes");
    assert_eq!(e.verdict, Verdict::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls10_with_only_ecdhe_suites_is_accepted_despite_security_level_trap() {
    // Debian's default security level makes OpenSSL abort a TLS 1.0 ECDHE handshake on the
    // client side ("legacy sigalg disallowed"), after the server accepted.
    let s = server(Behaviour::Tls {
        min: Tls10,
        max: Tls11,
        ciphers: Some("ECDHE-RSA-AES128-SHA:@SECLEVEL=0".into()),
    })
    .await;
    let e = scan_addr(&quick(), s.addr()).await;
    assert_eq!(row(&e)["tls1.0"], "yes");
    assert_eq!(row(&e)["tls1.1"], "yes");
    match &e.versions[&Tls10].outcome {
        Outcome::Accepted {
            cipher, completed, ..
        } => {
            assert_eq!(
                cipher.as_deref(),
                Some("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")
            );
            assert!(completed);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_sent_as_sni_addresses_are_not() {
    let s = tls_server(Tls12, Tls13).await;
    let port = s.addr().port();
    let mut config = quick();
    config.versions = vec![Tls12];
    config
        .resolve
        .add("dc1.lab.test", Some(port), vec![LOCALHOST]);
    scan_targets(&config, &[format!("ldaps://dc1.lab.test:{port}")]).await;
    scan_targets(&config, &[format!("127.0.0.1:{port}")]).await;
    config.sni = Some("override.lab.test".into());
    scan_targets(&config, &[format!("127.0.0.1:{port}")]).await;
    let want = vec![
        Some("dc1.lab.test".to_string()),
        None,
        Some("override.lab.test".into()),
    ];
    assert!(
        eventually(|| s.server_names() == want).await,
        "{:?}",
        s.server_names()
    );
}

/// Bind the same free port on 127.0.0.1 and ::1.
async fn dual_stack(behaviour_v4: Behaviour, behaviour_v6: Behaviour) -> (LabServer, LabServer) {
    for _ in 0..50 {
        let v4 = server(behaviour_v4.clone()).await;
        let v6_addr = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), v4.addr().port());
        if let Ok(v6) = LabServer::start(v6_addr, behaviour_v6.clone()).await {
            return (v4, v6);
        }
    }
    panic!("no port free on both 127.0.0.1 and ::1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_with_two_addresses_gives_two_rows_with_the_name_as_sni() {
    // Two DCs behind one name; the IPv6 one still accepts TLS 1.0.
    let (v4, v6) = dual_stack(Behaviour::tls(Tls12, Tls13), Behaviour::tls(Tls10, Tls13)).await;
    let port = v4.addr().port();
    let mut config = quick();
    let mut resolve = ResolveOverrides::default();
    resolve
        .parse_entry(&format!("corp.lab.test:{port}:127.0.0.1,[::1]"))
        .unwrap();
    config.resolve = resolve;
    let report = scan_targets(&config, &[format!("corp.lab.test:{port}")]).await;
    let rows: Vec<(String, Verdict)> = report
        .endpoints
        .iter()
        .map(|e| (e.address.unwrap().to_string(), e.verdict))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("127.0.0.1".into(), Verdict::Ready),
            ("::1".into(), Verdict::Legacy)
        ]
    );
    for e in &report.endpoints {
        assert_eq!(e.sni.as_deref(), Some("corp.lab.test"));
        assert_eq!(e.host, "corp.lab.test");
    }
    // TLS 1.2 and 1.3 complete on the IPv4 server, TLS 1.0 to 1.3 on the IPv6 one.
    for (server, handshakes) in [(&v4, 2), (&v6, 4)] {
        assert!(eventually(|| server.server_names().len() == handshakes).await);
        let names = server.server_names();
        assert!(
            names.iter().all(|n| n.as_deref() == Some("corp.lab.test")),
            "{names:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_address_the_system_resolver_gives_is_a_row() {
    let (_v4, _v6) = dual_stack(Behaviour::tls(Tls12, Tls13), Behaviour::tls(Tls12, Tls13)).await;
    let port = _v4.addr().port();
    let mut want: Vec<IpAddr> = Vec::new();
    for a in std::net::ToSocketAddrs::to_socket_addrs(&("localhost", port)).unwrap() {
        if !want.contains(&a.ip()) {
            want.push(a.ip());
        }
    }
    let report = scan_targets(&quick(), &[format!("localhost:{port}")]).await;
    let got: Vec<IpAddr> = report
        .endpoints
        .iter()
        .map(|e| e.address.unwrap())
        .collect();
    assert_eq!(got, want);
    assert!(report.endpoints.iter().all(|e| e.verdict == Verdict::Ready));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_literal_target() {
    let s = LabServer::start("[::1]:0".parse().unwrap(), Behaviour::tls(Tls12, Tls12))
        .await
        .unwrap();
    let e = scan_addr(&quick(), s.addr()).await;
    assert_eq!(e.address, Some("::1".parse().unwrap()));
    assert_eq!(e.sni, None);
    assert_eq!(e.verdict, Verdict::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_endpoints_under_tight_limits_all_get_the_right_row() {
    let mut servers = Vec::new();
    for i in 0..12 {
        let (min, max) = if i % 2 == 0 {
            (Tls10, Tls13)
        } else {
            (Tls12, Tls13)
        };
        servers.push(tls_server(min, max).await);
    }
    let mut config = quick();
    config.concurrency = 3;
    config.per_host = 2;
    let targets: Vec<String> = servers.iter().map(|s| s.addr().to_string()).collect();
    let report = scan_targets(&config, &targets).await;
    assert_eq!(report.endpoints.len(), 12);
    for (i, e) in report.endpoints.iter().enumerate() {
        assert_eq!(
            e.port,
            servers[i].addr().port(),
            "rows keep the input order"
        );
        let want = if i % 2 == 0 {
            Verdict::Legacy
        } else {
            Verdict::Ready
        };
        assert_eq!(e.verdict, want, "{}", e.target);
    }
    assert_eq!(report.summary[&Verdict::Legacy], 6);
    assert!(report.complete);
}
