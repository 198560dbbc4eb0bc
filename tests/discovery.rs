//! Discovery of domain controllers through a real DNS server (dnsmasq) on loopback serving a
//! zone shaped like Active Directory's, and `scan --domain` against lab servers named in it.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use tlsmatrix::discover::{Dc, Discovery, DnsSettings, Role, discover};
use tlsmatrix::lab::{Behaviour, LabServer, StartTlsReply};
use tlsmatrix::probe::ldap::ResultCode;
use tlsmatrix::report::{Report, TlsVersion::*, Verdict};
use tokio::process::{Child, Command};

use crate::util::*;

const DNSMASQ: &str = "/usr/sbin/dnsmasq";
const D: &str = "corp.test";

struct Dns {
    _child: Child,
    addr: SocketAddr,
}

/// dnsmasq answering for corp.test (and empty.test, which has no SRV records) and nothing else.
async fn dns() -> Dns {
    let srv =
        |name: &str, target: &str, port: u16| format!("--srv-host={name},{target},{port},0,100");
    let mut args = vec![
        "--no-daemon".to_string(),
        "--conf-file=/dev/null".into(),
        "--listen-address=127.0.0.1".into(),
        "--bind-interfaces".into(),
        "--no-resolv".into(),
        "--no-hosts".into(),
        "--user=root".into(),
        format!("--local=/{D}/"),
        "--local=/empty.test/".into(),
        "--host-record=empty.test,127.0.0.9".into(),
        format!("--host-record=dc1.{D},127.0.0.2"),
        format!("--host-record=dc2.{D},127.0.0.3"),
        format!("--host-record=dc3.{D},127.0.0.4,::1"),
        format!("--host-record={D},127.0.0.2"),
        format!("--host-record={D},127.0.0.3"),
        // zero.test: SRV records with port 0.
        "--local=/zero.test/".into(),
        "--host-record=dc9.zero.test,127.0.0.5".into(),
        srv("_ldap._tcp.dc._msdcs.zero.test", "dc9.zero.test", 0),
        srv("_gc._tcp.zero.test", "dc9.zero.test", 0),
    ];
    for dc in ["dc1", "dc2", "dc3", "ghost"] {
        args.push(srv(
            &format!("_ldap._tcp.dc._msdcs.{D}"),
            &format!("{dc}.{D}"),
            389,
        ));
    }
    for dc in ["dc1", "dc2", "dc3"] {
        args.push(srv(
            &format!("_kerberos._tcp.{D}"),
            &format!("{dc}.{D}"),
            88,
        ));
    }
    args.push(srv(&format!("_gc._tcp.{D}"), &format!("dc1.{D}"), 3268));
    args.push(srv(
        &format!("_ldap._tcp.Paris._sites.dc._msdcs.{D}"),
        &format!("dc2.{D}"),
        389,
    ));
    for _ in 0..20 {
        let port = std::net::UdpSocket::bind((LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(DNSMASQ)
            .args(&args)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("run dnsmasq");
        let addr = SocketAddr::new(LOCALHOST, port);
        // dnsmasq also serves TCP on its port: up when that accepts.
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Dns {
                    _child: child,
                    addr,
                };
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    panic!("dnsmasq did not start");
}

fn dnsmasq_available() -> bool {
    if Path::new(DNSMASQ).exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "dnsmasq is not installed, and CI must run the discovery tests (scripts/test installs it)"
        );
    }
    eprintln!("\n*** SKIPPED: {DNSMASQ} is missing; run scripts/test as root to install it. ***\n");
    false
}

fn settings(dns: &Dns) -> DnsSettings {
    DnsSettings {
        server: Some(dns.addr),
        timeout: Duration::from_secs(2),
    }
}

fn dc(name: &str, addrs: &[&str], roles: &[Role], gc_port: Option<u16>) -> Dc {
    Dc {
        name: name.into(),
        addresses: addrs.iter().map(|a| a.parse::<IpAddr>().unwrap()).collect(),
        roles: roles.iter().copied().collect::<BTreeSet<_>>(),
        ldap_port: 389,
        gc_port,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovers_dcs_gc_site_and_ipv6_and_names_the_target_that_does_not_resolve() {
    if !dnsmasq_available() {
        return;
    }
    let dns = dns().await;
    let found = discover(D, Some("Paris"), &settings(&dns)).await;
    let want = Discovery {
        schema_version: tlsmatrix::discover::SCHEMA_VERSION,
        domain: D.into(),
        site: Some("Paris".into()),
        dns_server: Some(dns.addr.to_string()),
        dcs: vec![
            dc("dc1.corp.test", &["127.0.0.2"], &[Role::Dc, Role::Gc, Role::Kdc, Role::DomainAddress], Some(3268)),
            dc("dc2.corp.test", &["127.0.0.3"], &[Role::Dc, Role::Kdc, Role::Site, Role::DomainAddress], None),
            dc("dc3.corp.test", &["127.0.0.4", "::1"], &[Role::Dc, Role::Kdc], None),
        ],
        problems: vec![
            "ghost.corp.test (a target of the SRV records) does not resolve: ghost.corp.test: no such name (NXDOMAIN)".into(),
        ],
    };
    assert_eq!(found, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nxdomain_no_srv_records_and_a_silent_server_are_clear_messages() {
    if !dnsmasq_available() {
        return;
    }
    let dns = dns().await;
    let nx = discover("nosuch.corp.test", None, &settings(&dns)).await;
    assert!(nx.dcs.is_empty());
    assert_eq!(
        nx.problems[0],
        "_ldap._tcp.dc._msdcs.nosuch.corp.test: no such name (NXDOMAIN) (is nosuch.corp.test an Active Directory domain?)"
    );
    let empty = discover("empty.test", None, &settings(&dns)).await;
    assert!(
        empty.problems[0].contains("(is empty.test an Active Directory domain?)"),
        "{:?}",
        empty.problems
    );
    // Its own address is still found, and would still be scanned.
    assert_eq!(empty.dcs.len(), 1);
    assert_eq!(empty.dcs[0].name, "127.0.0.9");

    let silent = std::net::UdpSocket::bind((LOCALHOST, 0)).unwrap();
    let quiet = DnsSettings {
        server: Some(silent.local_addr().unwrap()),
        timeout: Duration::from_millis(300),
    };
    let start = std::time::Instant::now();
    let none = discover(D, None, &quiet).await;
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(
        none.problems[0].contains("did not answer within 300ms"),
        "{:?}",
        none.problems
    );

    let out = run_cli(
        &[
            "discover",
            "nosuch.corp.test",
            "--dns-server",
            &dns.addr.to_string(),
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "nothing found");
    let out = run_cli(
        &[
            "discover",
            D,
            "--dns-server",
            &dns.addr.to_string(),
            "--format",
            "json",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "found, with a problem");
    let d: Discovery = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d.dcs.len(), 3);
}

/// Bind a lab server on a DC's real port, on one of the loopback addresses of the zone.
async fn at(addr: &str, port: u16, behaviour: Behaviour) -> LabServer {
    let ip: IpAddr = addr.parse().unwrap();
    LabServer::start_again(SocketAddr::new(ip, port), behaviour)
        .await
        .expect("bind a DC port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_domain_end_to_end() {
    if !dnsmasq_available() {
        return;
    }
    let dns = dns().await;
    let starttls = |min, max| Behaviour::Ldap {
        starttls: Some(StartTlsReply::Result(ResultCode::Success)),
        min,
        max,
        answers: true,
    };
    let ldaps = |min, max| Behaviour::Ldap {
        starttls: None,
        min,
        max,
        answers: true,
    };
    let mut servers = Vec::new();
    // dc1: a Global Catalog still on TLS 1.0; dc2 and dc3 (both addresses) on TLS 1.2+.
    for (port, b) in [
        (389, starttls(Tls10, Tls13)),
        (636, ldaps(Tls10, Tls13)),
        (3268, starttls(Tls10, Tls13)),
        (3269, ldaps(Tls10, Tls13)),
    ] {
        servers.push(at("127.0.0.2", port, b).await);
    }
    for addr in ["127.0.0.3", "127.0.0.4", "::1"] {
        servers.push(at(addr, 389, starttls(Tls12, Tls13)).await);
        servers.push(at(addr, 636, ldaps(Tls12, Tls13)).await);
    }
    let out = run_cli(
        &[
            "scan",
            "--domain",
            D,
            "--dns-server",
            &dns.addr.to_string(),
            "--versions",
            "tls1.0,tls1.2",
            "--format",
            "json",
            "-q",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "the scan completed; the SRV target that does not resolve is listed, not an input error: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("ghost.corp.test"), "{}", stderr(&out));
    let r: Report = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.message.contains("ghost.corp.test")),
        "{:?}",
        r.warnings
    );

    // The same estate as an editable targets file that `scan -f` reads.
    let list = run_cli(
        &[
            "discover",
            D,
            "--dns-server",
            &dns.addr.to_string(),
            "--format",
            "targets",
        ],
        &[],
        None,
    )
    .await;
    let text = stdout(&list);
    assert!(text.contains("# dc1.corp.test: dc,gc,kdc"), "{text}");
    let (listed, bad) = tlsmatrix::target::parse_target_list(&text, "list");
    assert!(bad.is_empty(), "{bad:?}");
    let mut listed: Vec<String> = listed.into_iter().map(|t| t.input).collect();
    let mut scanned: Vec<String> = r.endpoints.iter().map(|e| e.target.clone()).collect();
    scanned.dedup();
    listed.sort();
    scanned.sort();
    assert_eq!(listed, scanned);
    let rows: Vec<(String, String, Verdict)> = r
        .endpoints
        .iter()
        .map(|e| (e.target.clone(), e.address.unwrap().to_string(), e.verdict))
        .collect();
    let row = |t: &str, a: &str, v| (t.to_string(), a.to_string(), v);
    assert_eq!(
        rows,
        vec![
            row("ldap://dc1.corp.test:389", "127.0.0.2", Verdict::Legacy),
            row("ldaps://dc1.corp.test", "127.0.0.2", Verdict::Legacy),
            row("gc://dc1.corp.test:3268", "127.0.0.2", Verdict::Legacy),
            row("gcs://dc1.corp.test", "127.0.0.2", Verdict::Legacy),
            row("ldap://dc2.corp.test:389", "127.0.0.3", Verdict::Ready),
            row("ldaps://dc2.corp.test", "127.0.0.3", Verdict::Ready),
            row("ldap://dc3.corp.test:389", "127.0.0.4", Verdict::Ready),
            row("ldap://dc3.corp.test:389", "::1", Verdict::Ready),
            row("ldaps://dc3.corp.test", "127.0.0.4", Verdict::Ready),
            row("ldaps://dc3.corp.test", "::1", Verdict::Ready),
        ]
    );
    assert!(
        r.endpoints
            .iter()
            .all(|e| e.sni.as_deref() == Some(e.host.as_str()))
    );
    assert!(r.input_errors.is_empty());
    assert_eq!(r.warnings[0].source, "DNS corp.test");
    drop(servers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_srv_record_with_port_0_is_reported_not_dropped_silently() {
    if !dnsmasq_available() {
        return;
    }
    let dns = dns().await;
    let found = discover("zero.test", None, &settings(&dns)).await;
    assert_eq!(found.dcs.len(), 1, "{found:?}");
    let dc9 = &found.dcs[0];
    assert_eq!(dc9.name, "dc9.zero.test");
    assert_eq!((dc9.ldap_port, dc9.gc_port), (0, Some(0)));
    assert!(
        found.problems.contains(
            &"_ldap._tcp.dc._msdcs.zero.test: dc9.zero.test has port 0 in its SRV record: its ldap service is not scanned".to_string()
        ),
        "{:?}",
        found.problems
    );
    assert!(
        found.problems.contains(
            &"_gc._tcp.zero.test: dc9.zero.test has port 0 in its SRV record: its gc service is not scanned".to_string()
        ),
        "{:?}",
        found.problems
    );
    // What can be scanned still is: LDAPS and the Global Catalog over TLS on their own ports.
    let (targets, _) = tlsmatrix::discover::targets(&found, false);
    let urls: Vec<&str> = targets.iter().map(|t| t.input.as_str()).collect();
    assert_eq!(urls, ["ldaps://dc9.zero.test", "gcs://dc9.zero.test"]);
    let out = run_cli(
        &[
            "discover",
            "zero.test",
            "--dns-server",
            &dns.addr.to_string(),
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "a problem: {}", stderr(&out));
    assert!(
        stdout(&out).contains("dc9.zero.test has port 0 in its SRV record"),
        "{}",
        stdout(&out)
    );
}
