//! LDAP StartTLS, LDAPS and RDP against in-process fixtures: what slapd cannot show (Active
//! Directory's long-form BER, result code 52, broken replies, RDP negotiation).

use std::time::Duration;

use clap::Parser;
use tlsmatrix::analysis::policy::Compliance;
use tlsmatrix::lab::{Behaviour, RdpReply, StartTlsReply};
use tlsmatrix::probe::ldap::ResultCode;
use tlsmatrix::report::{
    LdapCheck, Outcome, Phase, Protocol, RdpStandardSecurity, Status, TlsVersion::*, Verdict,
};

use crate::util::*;

fn ldap(starttls: Option<StartTlsReply>, answers: bool) -> Behaviour {
    Behaviour::Ldap {
        starttls,
        min: Tls10,
        max: Tls13,
        answers,
    }
}

async fn scan_url(scheme: &str, behaviour: Behaviour) -> tlsmatrix::report::Endpoint {
    let s = server(behaviour).await;
    let mut config = quick();
    config.timeout = Duration::from_secs(2);
    let report = scan_targets(&config, &[format!("{scheme}://{}", s.addr())]).await;
    report.endpoints.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_style_starttls_with_long_form_lengths_then_rootdse_over_each_version() {
    let e = scan_url(
        "ldap",
        ldap(Some(StartTlsReply::Result(ResultCode::Success)), true),
    )
    .await;
    assert_eq!(e.protocol, Protocol::LdapStarttls);
    for v in [Tls10, Tls11, Tls12, Tls13] {
        match &e.versions[&v].outcome {
            Outcome::Accepted {
                ldap: Some(LdapCheck::Answered),
                completed: true,
                ..
            } => {}
            other => panic!("{v}: {other:?}"),
        }
    }
    assert_eq!(e.verdict, Verdict::Legacy);
    let dse = e.root_dse.expect("RootDSE attributes");
    assert_eq!(dse.dns_host_name.as_deref(), Some("dc1.lab.test"));
    assert_eq!(
        dse.default_naming_context.as_deref(),
        Some("DC=lab,DC=test")
    );
    assert_eq!(dse.supported_ldap_version, vec!["2", "3"]);
    assert_eq!(dse.domain_controller_functionality.as_deref(), Some("7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldaps_with_rootdse() {
    let e = scan_url("ldaps", ldap(None, true)).await;
    assert_eq!(e.protocol, Protocol::Ldaps);
    assert_eq!(row(&e)["tls1.2"], "yes");
    assert!(e.root_dse.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_result_52_is_declined_never_refused_and_the_endpoint_has_no_tls() {
    let e = scan_url(
        "ldap",
        ldap(Some(StartTlsReply::Result(ResultCode::Unavailable)), true),
    )
    .await;
    for v in [Tls10, Tls11, Tls12, Tls13] {
        let c = &e.versions[&v];
        assert_eq!(
            c.status(),
            Status::Error,
            "{v}: no version was put on the wire"
        );
        assert!(
            matches!(c.outcome, Outcome::TlsDeclined(_)),
            "{v}: {:?}",
            c.outcome
        );
        assert!(
            c.outcome.detail().contains("result 52 unavailable"),
            "{}",
            c.outcome.detail()
        );
    }
    assert_eq!(e.verdict, Verdict::NoTls);
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["versions"]["tls1.2"]["tls_declined"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_starttls_reply_is_an_error_with_what_was_received() {
    let e = scan_url("ldap", ldap(Some(StartTlsReply::Truncated), true)).await;
    let c = &e.versions[&Tls12];
    assert_eq!(c.status(), Status::Error);
    assert!(
        c.outcome.detail().contains("truncated reply"),
        "{}",
        c.outcome.detail()
    );
    assert_eq!(e.verdict, Verdict::Incomplete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_starttls_reply_is_an_error_never_accepted() {
    let e = scan_url("ldap", ldap(Some(StartTlsReply::Garbage), true)).await;
    let c = &e.versions[&Tls12];
    assert_eq!(c.status(), Status::Error);
    assert!(
        c.outcome.detail().contains("not an LDAP message"),
        "{}",
        c.outcome.detail()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_starttls_server_times_out_in_the_prelude() {
    let s = server(ldap(Some(StartTlsReply::Silent), true)).await;
    let mut config = quick();
    config.timeout = Duration::from_millis(600);
    config.connect_timeout = Duration::from_millis(300);
    let start = std::time::Instant::now();
    let report = scan_targets(&config, &[format!("ldap://{}", s.addr())]).await;
    assert!(start.elapsed() < Duration::from_secs(3));
    match &report.endpoints[0].versions[&Tls12].outcome {
        Outcome::Timeout {
            phase: Phase::Prelude,
            message,
        } => {
            assert!(message.contains("no StartTLS answer"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_without_ldap_answer_is_shown_apart_and_tls12_counts_as_broken() {
    let e = scan_url("ldaps", ldap(None, false)).await;
    assert_eq!(row(&e)["tls1.2"], "yes, no LDAP");
    assert_eq!(e.versions[&Tls12].status(), Status::Accepted);
    // Old versions are accepted (the handshake is enough to count against them), and no new
    // version works: switching to TLS 1.2-only would break this directory.
    assert_eq!(e.verdict, Verdict::Tls12Missing, "{}", e.verdict_detail);
    assert!(
        e.verdict_detail.contains("LDAP does not answer"),
        "{}",
        e.verdict_detail
    );

    let s = server(Behaviour::Ldap {
        starttls: None,
        min: Tls12,
        max: Tls13,
        answers: false,
    })
    .await;
    let mut config = quick();
    config.timeout = Duration::from_secs(1);
    let report = scan_targets(&config, &[format!("ldaps://{}", s.addr())]).await;
    assert_eq!(report.endpoints[0].verdict, Verdict::Tls12Missing);

    config.ldap_check = false;
    let report = scan_targets(&config, &[format!("ldaps://{}", s.addr())]).await;
    assert_eq!(row(&report.endpoints[0])["tls1.2"], "yes");
    assert_eq!(report.endpoints[0].verdict, Verdict::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdp_negotiating_tls_is_probed_per_version() {
    let e = scan_url(
        "rdp",
        Behaviour::Rdp(RdpReply::Tls {
            min: Tls12,
            max: Tls12,
        }),
    )
    .await;
    assert_eq!(e.protocol, Protocol::Rdp);
    let r = row(&e);
    assert_eq!(
        (r["tls1.0"].as_str(), r["tls1.2"].as_str()),
        ("no: alert 70", "yes")
    );
    assert_eq!(e.verdict, Verdict::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdp_standard_security_is_declined_not_refused() {
    let e = scan_url("rdp", Behaviour::Rdp(RdpReply::StandardSecurity)).await;
    let c = &e.versions[&Tls12];
    assert!(
        matches!(c.outcome, Outcome::TlsDeclined(_)),
        "{:?}",
        c.outcome
    );
    assert!(c.outcome.detail().contains("standard RDP security"));
    assert_eq!(e.verdict, Verdict::NoTls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdp_negotiation_failure_is_named() {
    let e = scan_url("rdp", Behaviour::Rdp(RdpReply::Failure(3))).await;
    let d = e.versions[&Tls12].outcome.detail();
    assert!(d.contains("SSL_CERT_NOT_ON_SERVER (3)"), "{d}");
    assert_eq!(e.verdict, Verdict::NoTls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_rdp_negotiation_is_an_error() {
    let e = scan_url("rdp", Behaviour::Rdp(RdpReply::Truncated)).await;
    for v in [Tls10, Tls12, Tls13] {
        let c = &e.versions[&v];
        match &c.outcome {
            Outcome::Error(m) => {
                assert!(m.contains("truncated RDP negotiation response"), "{m}");
                assert!(m.contains("03 00 00 0d"), "names what was received: {m}");
            }
            other => panic!("{v}: a truncated answer is no decline: {other:?}"),
        }
    }
    assert_eq!(e.verdict, Verdict::Incomplete);
    assert_eq!(e.rdp_standard_security, Some(RdpStandardSecurity::Unknown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdp_standard_security_allowed_is_reported_and_fails_a_tls12_only_check() {
    let negotiate = scan_url(
        "rdp",
        Behaviour::Rdp(RdpReply::Negotiate {
            min: Tls12,
            max: Tls12,
        }),
    )
    .await;
    assert_eq!(negotiate.verdict, Verdict::Ready, "the versions are right");
    assert_eq!(
        negotiate.rdp_standard_security,
        Some(RdpStandardSecurity::Allowed)
    );
    assert!(
        negotiate
            .verdict_detail
            .contains("Standard RDP Security is allowed"),
        "{}",
        negotiate.verdict_detail
    );
    let json = serde_json::to_value(&negotiate).unwrap();
    assert_eq!(json["rdp_standard_security"], "allowed");

    let tls_only = scan_url(
        "rdp",
        Behaviour::Rdp(RdpReply::Tls {
            min: Tls12,
            max: Tls12,
        }),
    )
    .await;
    assert_eq!(
        tls_only.rdp_standard_security,
        Some(RdpStandardSecurity::Refused)
    );
    assert!(
        tls_only.verdict_detail.contains("SSL_REQUIRED_BY_SERVER"),
        "{}",
        tls_only.verdict_detail
    );

    // `check` with the TLS 1.2-only policy: the one that allows it fails, the other passes.
    let policy = tlsmatrix::analysis::policy::Policy::named("tls12-only").unwrap();
    let report = |e: tlsmatrix::report::Endpoint| {
        let mut r = scan_report_of(e);
        r.summary = tlsmatrix::report::Report::count_verdicts(&r.endpoints);
        r
    };
    let fails =
        tlsmatrix::analysis::policy::check(&report(negotiate), &policy, &Default::default());
    assert_eq!(fails.result, Compliance::Fail);
    assert!(
        fails.endpoints[0].findings[0]
            .message
            .contains("Standard RDP Security is allowed"),
        "{:?}",
        fails.endpoints[0].findings
    );
    let passes =
        tlsmatrix::analysis::policy::check(&report(tls_only), &policy, &Default::default());
    assert_eq!(passes.result, Compliance::Pass, "{:?}", passes.endpoints);
}

/// A report holding one endpoint (scanned just before).
fn scan_report_of(e: tlsmatrix::report::Endpoint) -> tlsmatrix::report::Report {
    use tlsmatrix::report::*;
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "tlsmatrix".into(),
            version: "test".into(),
        },
        tls_library: String::new(),
        label: None,
        scanner: None,
        started: String::new(),
        finished: String::new(),
        complete: true,
        options: ScanOptions {
            versions: TlsVersion::ALL.to_vec(),
            concurrency: 1,
            per_host: 1,
            connect_timeout_ms: 1,
            timeout_ms: 1,
            retries: 0,
            sni: None,
            ldap_check: false,
            engine: Engine::Both,
            cert_warn_days: 30,
            trust_store: None,
            suites: false,
        },
        input_errors: vec![],
        excluded: vec![],
        warnings: vec![],
        certificate_consistency: vec![],
        summary: Default::default(),
        vantage_points: vec![],
        endpoints: vec![e],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_ports_pick_the_protocol_and_starttls_flag_overrides() {
    // A StartTLS directory on a port that is not 389: only --starttls ldap makes it work.
    let s = server(ldap(Some(StartTlsReply::Result(ResultCode::Success)), true)).await;
    let addr = s.addr().to_string();
    let plain = run_cli(
        &["scan", "--format", "json", "--versions", "tls1.2", &addr],
        &[],
        None,
    )
    .await;
    assert_ne!(
        report(&plain).endpoints[0].versions[&Tls12].status(),
        Status::Accepted
    );
    let with = run_cli(
        &[
            "scan",
            "--format",
            "json",
            "--versions",
            "tls1.2",
            "--starttls",
            "ldap",
            &addr,
        ],
        &[],
        None,
    )
    .await;
    let r = report(&with);
    assert_eq!(r.endpoints[0].protocol, Protocol::LdapStarttls);
    assert_eq!(row(&r.endpoints[0])["tls1.2"], "yes");
}

#[test]
fn dc_expands_to_the_five_services() {
    let cli =
        tlsmatrix::cli::Cli::try_parse_from(["tlsmatrix", "scan", "--dc", "dc1.corp.example.com"])
            .unwrap();
    let tlsmatrix::cli::Command::Scan(args) = cli.command else {
        panic!()
    };
    let job = tlsmatrix::config::scan_job(*args).unwrap();
    let got: Vec<(String, u16, Protocol)> = job
        .targets
        .iter()
        .map(|t| (t.input.clone(), t.port, t.protocol))
        .collect();
    let host = "dc1.corp.example.com";
    assert_eq!(
        got,
        vec![
            (format!("ldap://{host}"), 389, Protocol::LdapStarttls),
            (format!("ldaps://{host}"), 636, Protocol::Ldaps),
            (format!("gc://{host}"), 3268, Protocol::LdapStarttls),
            (format!("gcs://{host}"), 3269, Protocol::Ldaps),
            (format!("rdp://{host}"), 3389, Protocol::Rdp),
        ]
    );
}
