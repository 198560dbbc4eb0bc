//! A cell is `refused` only for a version that was really put on the wire: every lab server
//! records the ClientHellos it reads, and each refused cell must match hellos that offered
//! exactly that version (one per engine that probed it), under the system's OpenSSL settings
//! and under a strict OPENSSL_CONF alike.

use tlsmatrix::lab::{Behaviour, LabServer};
use tlsmatrix::probe::contexts::{ClientContexts, Offer};
use tlsmatrix::report::Engine;
use tlsmatrix::report::{Endpoint, Outcome, Refusal, Status, TlsVersion, TlsVersion::*};
use tlsmatrix::tls::hello::suite_parts;

use crate::util::*;

/// How many hellos offering `v` a scan with `engine` may put on the wire, at least and at most:
/// one per engine, but the wire engine sends its next hello (the version's suites are spread
/// over several) when a no may only mean that the server has none of the first hello's suites.
fn hellos_expected(engine: Engine, v: TlsVersion, outcome: &Outcome) -> (usize, usize) {
    let openssl_can = matches!(ClientContexts::new(&[v]).get(v), Some(Offer::Ready(_))) as usize;
    let parts = suite_parts(v).len();
    let suite_level = matches!(
        outcome,
        Outcome::Refused(Refusal::Alert { code: 40 | 71 } | Refusal::Closed | Refusal::Reset)
    );
    match engine {
        Engine::Openssl => (openssl_can, openssl_can),
        Engine::Wire if suite_level => (parts, parts),
        Engine::Wire => (1, 1),
        Engine::Both => (openssl_can + 1, openssl_can + parts),
    }
}

fn check(server: &LabServer, e: &Endpoint, engine: Engine) -> usize {
    let hellos = server.hellos();
    for h in &hellos {
        let single = TlsVersion::ALL
            .iter()
            .filter(|v| h.offers_only(v.wire()))
            .count();
        assert_eq!(single, 1, "every hello offers exactly one version: {h:?}");
    }
    let mut refused = 0;
    for (v, c) in &e.versions {
        let sent = hellos.iter().filter(|h| h.offers_only(v.wire())).count();
        if c.status() == Status::Refused {
            refused += 1;
            assert!(
                sent >= 1,
                "{v} refused, but no hello offering {v} reached the server: {:?}",
                c.outcome
            );
        }
        if c.status() != Status::NotTestable {
            let (least, most) = hellos_expected(engine, *v, &c.outcome);
            assert!(
                (least..=most).contains(&sent),
                "{v} ({engine:?}): hellos seen {sent}, expected {least}..={most}"
            );
        } else {
            assert_eq!(sent, 0, "{v} is not testable, yet a hello for it was sent");
        }
    }
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refused_cell_matches_a_hello_that_offered_that_version() {
    let behaviours = [
        Behaviour::tls(Tls10, Tls10),
        Behaviour::tls(Tls12, Tls12),
        Behaviour::tls(Tls13, Tls13),
        Behaviour::tls(Tls12, Tls13),
        Behaviour::Reset,
        Behaviour::Close,
        Behaviour::Alert(70),
        Behaviour::Pre13,
    ];
    let mut refused = 0;
    for engine in [Engine::Openssl, Engine::Wire, Engine::Both] {
        for b in &behaviours {
            let s = server(b.clone()).await;
            let mut config = quick();
            config.engine = engine;
            let e = scan_addr(&config, s.addr()).await;
            refused += check(&s, &e, engine);
        }
    }
    assert!(refused >= 60, "{refused} refused cells checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_strict_openssl_conf_refused_old_versions_were_still_offered() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("strict.cnf");
    std::fs::write(
        &conf,
        "openssl_conf = openssl_init\n[openssl_init]\nssl_conf = ssl_sect\n\
         [ssl_sect]\nsystem_default = s\n[s]\nMinProtocol = TLSv1.2\nCipherString = DEFAULT@SECLEVEL=2\n",
    )
    .unwrap();
    let s = tls_server(Tls12, Tls13).await;
    let out = run_cli(
        &[
            "scan",
            "--engine",
            "openssl",
            "--versions",
            "tls1.0,tls1.1,tls1.2,tls1.3",
            "--format",
            "json",
            &s.addr().to_string(),
        ],
        &[("OPENSSL_CONF", conf.to_str().unwrap())],
        None,
    )
    .await;
    let r = report(&out);
    let e = &r.endpoints[0];
    assert_eq!(row(e)["tls1.0"], "no: alert 70");
    assert_eq!(row(e)["tls1.1"], "no: alert 70");
    assert_eq!(check(&s, e, Engine::Openssl), 2);
}
