//! The wire engine: SSLv3 and legacy-only servers that OpenSSL cannot test here, tricky first
//! flights, and the cross-check of both engines with each other and with `openssl s_client`.
//!
//! No real SSLv3 server can be had with Debian's OpenSSL 3, so SSLv3 is served by the lab's
//! first-flight stub (`Behaviour::Stub`), which answers an SSLv3 ClientHello with an SSLv3
//! ServerHello; likewise the RC4-only TLS 1.0 server.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use tlsmatrix::lab::Behaviour;
use tlsmatrix::report::Engine;
use tlsmatrix::report::{Outcome, Status, TlsVersion, TlsVersion::*, Verdict};

use crate::util::*;

fn with(engine: Engine) -> tlsmatrix::scan::ScanConfig {
    let mut c = quick();
    c.engine = engine;
    c
}

fn stub(version: TlsVersion, only_cipher: Option<u16>, drip: bool) -> Behaviour {
    Behaviour::Stub {
        version,
        only_cipher,
        drip,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslv3_server_is_reported_accepted_on_stock_openssl() {
    let s = server(stub(Ssl3, None, false)).await;
    let e = scan_addr(&with(Engine::Both), s.addr()).await;
    let c = &e.versions[&Ssl3];
    assert_eq!(c.status(), Status::Accepted, "{:?}", c.outcome);
    let engines = c.engines.as_ref().expect("both engines recorded");
    assert_eq!(engines.wire.as_ref().unwrap().status, Status::Accepted);
    // Which OpenSSL answer depends on the build: Debian's cannot offer SSLv3 at all.
    let openssl = engines.openssl.as_ref().unwrap().status;
    assert!(
        matches!(openssl, Status::NotTestable | Status::Accepted),
        "{openssl:?}"
    );
    // A TLS 1.0 hello to an SSLv3-only server is answered with SSLv3: refused, never accepted.
    assert_eq!(row(&e)["tls1.0"], "no: got SSLv3");
    assert_eq!(e.verdict, Verdict::Tls12Missing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls10_with_rc4_only_is_accepted_by_the_wire_engine_and_not_testable_by_openssl_alone() {
    const RC4_SHA: u16 = 0x0005;
    let s = server(stub(Tls10, Some(RC4_SHA), false)).await;
    let both = scan_addr(&with(Engine::Both), s.addr()).await;
    match &both.versions[&Tls10].outcome {
        Outcome::Accepted { cipher, note, .. } => {
            assert_eq!(cipher.as_deref(), Some("TLS_RSA_WITH_RC4_128_SHA"));
            assert!(
                note.as_deref().unwrap_or("").contains("engines disagree"),
                "{note:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!both.versions[&Tls10].engines.as_ref().unwrap().agree);

    let alone = scan_addr(&with(Engine::Openssl), s.addr()).await;
    let c = &alone.versions[&Tls10];
    assert_eq!(c.status(), Status::NotTestable, "{:?}", c.outcome);
    assert!(
        c.outcome.detail().contains("handshake_failure(40)"),
        "{}",
        c.outcome.detail()
    );
    let json = serde_json::to_value(&both).unwrap();
    assert_eq!(
        json["versions"]["tls1.0"]["engines"]["wire"]["status"],
        "accepted"
    );
    // OpenSSL's handshake_failure settles nothing: it may only mean a suite it cannot offer.
    assert_eq!(
        json["versions"]["tls1.0"]["engines"]["openssl"]["status"],
        "not_testable"
    );
    assert_eq!(json["versions"]["tls1.0"]["engines"]["agree"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_hello_split_over_records_and_sent_a_byte_at_a_time() {
    let s = server(stub(Tls12, None, true)).await;
    let e = scan_addr(&with(Engine::Wire), s.addr()).await;
    assert_eq!(
        e.versions[&Tls12].status(),
        Status::Accepted,
        "{:?}",
        e.versions[&Tls12].outcome
    );
    assert_eq!(row(&e)["tls1.0"], "no: alert 70");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls13_answered_with_tls12_and_garbage_with_the_wire_engine() {
    let s = server(Behaviour::Pre13).await;
    let e = scan_addr(&with(Engine::Wire), s.addr()).await;
    assert_eq!(row(&e)["tls1.3"], "no: got TLS 1.2");
    let g = server(Behaviour::Garbage).await;
    let e = scan_addr(&with(Engine::Wire), g.addr()).await;
    assert_eq!(row(&e)["tls1.2"], "no: not TLS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_retry_request_counts_as_tls13_accepted() {
    let s = server(Behaviour::Tls13P384).await;
    let e = scan_addr(&with(Engine::Wire), s.addr()).await;
    assert_eq!(
        e.versions[&Tls13].status(),
        Status::Accepted,
        "{:?}",
        e.versions[&Tls13].outcome
    );
    let both = scan_addr(&with(Engine::Both), s.addr()).await;
    assert!(both.versions[&Tls13].engines.as_ref().unwrap().agree);
}

/// `openssl s_client` forced to one version: did the handshake complete?
async fn s_client_accepts(addr: SocketAddr, v: TlsVersion) -> bool {
    let flag = match v {
        Tls10 => "-tls1",
        Tls11 => "-tls1_1",
        Tls12 => "-tls1_2",
        Tls13 => "-tls1_3",
        Ssl3 => unreachable!(),
    };
    let out = tokio::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &addr.to_string(),
            flag,
            "-cipher",
            "ALL:@SECLEVEL=0",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("openssl s_client");
    out.status.success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engines_agree_with_each_other_and_with_s_client_on_the_fixture_set() {
    let fixtures = vec![
        Behaviour::tls(Tls10, Tls10),
        Behaviour::tls(Tls10, Tls12),
        Behaviour::tls(Tls12, Tls12),
        Behaviour::tls(Tls13, Tls13),
        Behaviour::tls(Tls12, Tls13),
        Behaviour::Pre13,
        Behaviour::Alert(40),
        Behaviour::Reset,
        Behaviour::Close,
    ];
    let mut compared = 0;
    for b in fixtures {
        let s = server(b.clone()).await;
        let o = scan_addr(&with(Engine::Openssl), s.addr()).await;
        let w = scan_addr(&with(Engine::Wire), s.addr()).await;
        let statuses = |e: &tlsmatrix::report::Endpoint| -> BTreeMap<TlsVersion, Status> {
            e.versions.iter().map(|(v, c)| (*v, c.status())).collect()
        };
        let (so, sw) = (statuses(&o), statuses(&w));
        for v in [Tls10, Tls11, Tls12, Tls13] {
            if so[&v] == Status::NotTestable || sw[&v] == Status::NotTestable {
                continue;
            }
            assert_eq!(
                so[&v], sw[&v],
                "{b:?} {v}: openssl {:?} / wire {:?}",
                o.versions[&v].outcome, w.versions[&v].outcome
            );
            let s_client = s_client_accepts(s.addr(), v).await;
            assert_eq!(
                s_client,
                so[&v] == Status::Accepted,
                "{b:?} {v}: s_client says {s_client}"
            );
            compared += 1;
        }
    }
    assert!(compared >= 30, "{compared} cells compared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_engine_completes_sslv3_when_the_build_has_it() {
    use tlsmatrix::probe::contexts::{ClientContexts, Offer};
    let has_ssl3 = matches!(
        ClientContexts::new(&[Ssl3]).get(Ssl3),
        Some(Offer::Ready(_))
    );
    #[cfg(feature = "vendored-ssl3")]
    assert!(has_ssl3, "the vendored-ssl3 build must offer SSLv3");
    if !has_ssl3 {
        // This build cannot: OpenSSL alone says so, and never that SSLv3 is refused.
        let s = server(stub(Ssl3, None, false)).await;
        let e = scan_addr(&with(Engine::Openssl), s.addr()).await;
        assert_eq!(e.versions[&Ssl3].status(), Status::NotTestable);
        return;
    }
    // Here the lab's OpenSSL can serve SSLv3 too: a real SSLv3 handshake, completed.
    let s = server(Behaviour::tls(Ssl3, Ssl3)).await;
    let e = scan_addr(&with(Engine::Openssl), s.addr()).await;
    match &e.versions[&Ssl3].outcome {
        Outcome::Accepted {
            completed: true, ..
        } => {}
        other => panic!("{other:?}"),
    }
    let both = scan_addr(&with(Engine::Both), s.addr()).await;
    assert!(both.versions[&Ssl3].engines.as_ref().unwrap().agree);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warning_alert_unrecognized_name_is_not_a_refusal() {
    let s = server(Behaviour::WarnThenTls {
        warning: 112,
        min: Tls10,
        max: Tls13,
    })
    .await;
    for engine in [Engine::Wire, Engine::Both, Engine::Openssl] {
        let e = scan_addr(&with(engine), s.addr()).await;
        for v in [Tls10, Tls11, Tls12, Tls13] {
            let c = &e.versions[&v];
            assert_eq!(
                c.status(),
                Status::Accepted,
                "{engine:?} {v}: {:?}",
                c.outcome
            );
        }
        assert_eq!(e.verdict, Verdict::Legacy, "{engine:?}");
        if engine == Engine::Wire {
            let d = e.versions[&Tls12].outcome.detail();
            assert!(d.contains("warning alert unrecognized_name(112)"), "{d}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsolicited_supported_version_is_not_accepted() {
    // ServerHello version field TLS 1.2 plus a supported_versions extension naming the hello's
    // own version: a TLS 1.0 hello never sent that extension, so TLS 1.0 is not chosen.
    let s = server(Behaviour::UnsolicitedSupportedVersions).await;
    for engine in [Engine::Wire, Engine::Both, Engine::Openssl] {
        let e = scan_addr(&with(engine), s.addr()).await;
        for (v, c) in &e.versions {
            assert_ne!(
                c.status(),
                Status::Accepted,
                "{engine:?} {v}: {:?}",
                c.outcome
            );
        }
        if engine == Engine::Wire {
            for v in [Ssl3, Tls10, Tls11, Tls12, Tls13] {
                let c = &e.versions[&v];
                assert_eq!(c.status(), Status::Error, "{v}: {:?}", c.outcome);
                assert!(
                    c.outcome.detail().contains("supported_versions"),
                    "{v}: {}",
                    c.outcome.detail()
                );
            }
        }
        assert_ne!(e.verdict, Verdict::Legacy, "{engine:?}");
    }
}
