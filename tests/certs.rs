//! Certificates made at test time (an enterprise root, an issuing CA and server certificates
//! with every flaw the findings name), served by in-process servers, `openssl s_server`, a real
//! slapd and `gnutls-serv`. What tlsmatrix reports is compared with an independent reader in the
//! same test: `openssl s_client -showcerts` fetches the chain from the server, `openssl x509`
//! reads each certificate, `openssl verify` decides trust and `openssl x509 -checkhost` names.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use openssl::hash::MessageDigest;
use tlsmatrix::analysis::{certs as cert_analysis, diff};
use tlsmatrix::cert::{Certificate, FindingKey, InconsistencyKind, NameSource, Severity};
use tlsmatrix::lab::pki::{self, CertSpec, Issued, KeySpec};
use tlsmatrix::lab::{Behaviour, Identity, LabServer, RdpReply};
use tlsmatrix::report::{Endpoint, Report, TlsVersion};
use tlsmatrix::scan::ScanConfig;
use tlsmatrix::target::parse_target;

use crate::util::*;

/// The test PKI, made once per run.
struct Pki {
    inter: Issued,
    dir: tempfile::TempDir,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let root = pki::issue(&CertSpec::ca("Corp Root CA"), None).unwrap();
        let inter = pki::issue(&CertSpec::ca("Corp Issuing CA"), Some(&root)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("root.pem"), pki::pem(&[&root.cert])).unwrap();
        std::fs::write(dir.path().join("inter.pem"), pki::pem(&[&inter.cert])).unwrap();
        Pki { inter, dir }
    })
}

fn root_pem() -> PathBuf {
    pki().dir.path().join("root.pem")
}

/// A server certificate issued by the enterprise issuing CA.
fn leaf(spec: CertSpec) -> Issued {
    pki::issue(&spec, Some(&pki().inter)).unwrap()
}

/// Served with the issuing CA, as a well-configured server does.
fn with_chain(i: &Issued) -> Identity {
    Identity::new(i, &[&pki().inter.cert])
}

fn config_trusting_root() -> ScanConfig {
    let mut c = quick();
    c.versions = vec![TlsVersion::Tls12, TlsVersion::Tls13];
    c.certificates.trust.ca_file = Some(root_pem());
    c
}

async fn lab(identity: Identity) -> LabServer {
    LabServer::start_as(
        SocketAddr::new(LOCALHOST, 0),
        Behaviour::tls(TlsVersion::Tls12, TlsVersion::Tls13),
        identity,
    )
    .await
    .unwrap()
}

/// Scan `scheme://name:port` targets with `name` pinned to 127.0.0.1.
async fn scan_named(config: &ScanConfig, targets: &[(&str, &str, u16)]) -> Report {
    let mut config = config.clone();
    let mut parsed = Vec::new();
    for (scheme, name, port) in targets {
        config.resolve.add(name, Some(*port), vec![LOCALHOST]);
        parsed.push(parse_target(&format!("{scheme}://{name}:{port}")).unwrap());
    }
    tlsmatrix::scan::scan(
        &config,
        parsed,
        vec![],
        Default::default(),
        &tlsmatrix::scan::Silent,
    )
    .await
}

fn cert_of<'a>(r: &'a Report, name: &str, port: u16) -> &'a Certificate {
    let e = r
        .endpoints
        .iter()
        .find(|e| e.host == name && e.port == port)
        .unwrap_or_else(|| panic!("{name}:{port} scanned"));
    e.certificate
        .as_deref()
        .unwrap_or_else(|| panic!("{name}:{port} has no certificate: {e:#?}"))
}

fn keys(c: &Certificate) -> Vec<FindingKey> {
    let mut k: Vec<FindingKey> = c.findings.iter().map(|f| f.key).collect();
    k.sort();
    k
}

// ---- the independent reader ----

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The chain a server sends, as `openssl s_client -showcerts` receives it (PEM, leaf first).
fn served_chain(addr: SocketAddr, sni: Option<&str>, starttls_ldap: bool) -> Vec<String> {
    let connect = addr.to_string();
    let mut args = vec!["s_client", "-connect", &connect, "-showcerts"];
    if let Some(n) = sni {
        args.extend(["-servername", n]);
    }
    if starttls_ldap {
        args.extend(["-starttls", "ldap"]);
    }
    let out = Command::new("timeout")
        .arg("20")
        .arg("openssl")
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl s_client");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut chain = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line == "-----BEGIN CERTIFICATE-----" {
            current = Some(String::new());
        }
        if let Some(c) = &mut current {
            c.push_str(line);
            c.push('\n');
        }
        if line == "-----END CERTIFICATE-----" {
            chain.extend(current.take());
        }
    }
    assert!(!chain.is_empty(), "s_client got no certificate: {text}");
    chain
}

/// What `openssl x509` says about one PEM certificate.
#[derive(Debug, Default)]
struct Read {
    subject: String,
    issuer: String,
    serial: String,
    sha256: String,
    not_before: String,
    not_after: String,
    key_bits: u32,
    signature_algorithm: String,
    dns: Vec<String>,
    ips: Vec<String>,
    key_usage: Option<Vec<String>>,
    eku: Option<Vec<String>>,
}

fn write_tmp(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn x509_read(dir: &Path, pem: &str) -> Read {
    let f = write_tmp(dir, "one.pem", pem);
    let f = f.to_str().unwrap();
    let (ok, fields) = openssl(&[
        "x509",
        "-in",
        f,
        "-noout",
        "-subject",
        "-issuer",
        "-serial",
        "-fingerprint",
        "-sha256",
        "-startdate",
        "-enddate",
        "-dateopt",
        "iso_8601",
        "-nameopt",
        "RFC2253",
    ]);
    assert!(ok, "{fields}");
    let mut r = Read::default();
    for line in fields.lines() {
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        let v = v.to_string();
        match k {
            "subject" => r.subject = v,
            "issuer" => r.issuer = v,
            "serial" => r.serial = v,
            "sha256 Fingerprint" => r.sha256 = v,
            "notBefore" => r.not_before = v.replace(' ', "T"),
            "notAfter" => r.not_after = v.replace(' ', "T"),
            _ => {}
        }
    }
    let (ok, text) = openssl(&["x509", "-in", f, "-noout", "-text"]);
    assert!(ok, "{text}");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for (i, line) in lines.iter().enumerate() {
        let next = lines.get(i + 1).copied().unwrap_or("");
        if let Some(bits) = line
            .strip_prefix("Public-Key: (")
            .and_then(|s| s.strip_suffix(" bit)"))
        {
            r.key_bits = bits.parse().unwrap();
        }
        if let Some(alg) = line.strip_prefix("Signature Algorithm: ")
            && r.signature_algorithm.is_empty()
        {
            r.signature_algorithm = alg.to_string();
        }
        if line.starts_with("X509v3 Subject Alternative Name") {
            for part in next.split(", ") {
                if let Some(d) = part.strip_prefix("DNS:") {
                    r.dns.push(d.to_string());
                } else if let Some(ip) = part.strip_prefix("IP Address:") {
                    r.ips.push(ip.to_string());
                }
            }
        }
        if line.starts_with("X509v3 Key Usage") {
            r.key_usage = Some(
                next.split(", ")
                    .map(|k| match k {
                        "Digital Signature" => "digitalSignature",
                        "Key Encipherment" => "keyEncipherment",
                        "Key Agreement" => "keyAgreement",
                        "Certificate Sign" => "keyCertSign",
                        "CRL Sign" => "cRLSign",
                        other => other,
                    })
                    .map(str::to_string)
                    .collect(),
            );
        }
        if line.starts_with("X509v3 Extended Key Usage") {
            r.eku = Some(
                next.split(", ")
                    .map(|k| match k {
                        "TLS Web Server Authentication" => "serverAuth",
                        "TLS Web Client Authentication" => "clientAuth",
                        "Code Signing" => "codeSigning",
                        other => other,
                    })
                    .map(str::to_string)
                    .collect(),
            );
        }
    }
    r
}

/// Compare what tlsmatrix reported for an endpoint with what the OpenSSL command line reads
/// from the same server, and return `openssl verify`'s verdict and output.
fn cross_check(
    c: &Certificate,
    addr: SocketAddr,
    sni: Option<&str>,
    starttls: bool,
    ca_file: Option<&Path>,
) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let pems = served_chain(addr, sni, starttls);
    assert_eq!(pems.len(), c.chain.len(), "chain length, {sni:?}");
    for (pem, info) in pems.iter().zip(&c.chain) {
        let r = x509_read(dir.path(), pem);
        assert_eq!(info.subject, r.subject, "subject");
        assert_eq!(info.issuer, r.issuer, "issuer");
        assert_eq!(
            info.serial.trim_start_matches('0'),
            r.serial.trim_start_matches('0'),
            "serial"
        );
        assert_eq!(info.sha256, r.sha256, "fingerprint");
        assert_eq!(info.not_before, r.not_before, "not before");
        assert_eq!(info.not_after, r.not_after, "not after");
        assert_eq!(info.key_bits, r.key_bits, "key size");
        assert_eq!(info.signature_algorithm, r.signature_algorithm, "signature");
    }
    let leaf = x509_read(dir.path(), &pems[0]);
    assert_eq!(c.dns_names, leaf.dns, "DNS names");
    assert_eq!(c.ip_addresses, leaf.ips, "IP names");
    assert_eq!(c.key_usage, leaf.key_usage, "key usage");
    assert_eq!(c.extended_key_usage, leaf.eku, "extended key usage");

    // Days left: the certificate outlives days_left whole days and not one more.
    let leaf_file = write_tmp(dir.path(), "leaf.pem", &pems[0]);
    let lf = leaf_file.to_str().unwrap();
    let days = c.chain[0].days_left;
    if days >= 0 {
        let lives = (days * 86_400 - 120).max(0).to_string();
        assert!(openssl(&["x509", "-in", lf, "-noout", "-checkend", &lives]).0);
        let dies = ((days + 1) * 86_400).to_string();
        assert!(!openssl(&["x509", "-in", lf, "-noout", "-checkend", &dies]).0);
    } else {
        assert!(!openssl(&["x509", "-in", lf, "-noout", "-checkend", "0"]).0);
    }

    // Names, as OpenSSL's own host check decides them.
    for n in c
        .names
        .iter()
        .filter(|n| n.source != NameSource::DomainWildcard)
    {
        let flag = if n.name.parse::<std::net::IpAddr>().is_ok() {
            "-checkip"
        } else {
            "-checkhost"
        };
        let (_, said) = openssl(&["x509", "-in", lf, "-noout", flag, &n.name]);
        assert_eq!(
            n.matched,
            !said.contains("NOT"),
            "{} for {}: openssl says {said}",
            n.source.label(),
            n.name
        );
    }

    // Trust: openssl verify, with dates out of it as in tlsmatrix, and the rest of the chain
    // as untrusted certificates.
    let mut args = vec!["verify".to_string(), "-no_check_time".into()];
    if let Some(ca) = ca_file {
        args.extend(["-CAfile".into(), ca.display().to_string()]);
    }
    if pems.len() > 1 {
        let rest = write_tmp(dir.path(), "rest.pem", &pems[1..].concat());
        args.extend(["-untrusted".into(), rest.display().to_string()]);
    }
    args.push(lf.to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (verified, said) = openssl(&args);
    assert_eq!(
        c.trust.verified, verified,
        "trust: openssl verify says {said}"
    );
    if let Some(err) = &c.trust.error {
        let reason = err.split(" (at ").next().unwrap();
        assert!(
            said.contains(reason),
            "openssl verify says {said}, we say {err}"
        );
    }
    (verified, said)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_of_in_process_servers_match_openssl() {
    let mut sha1 = CertSpec::server("sha1.corp.test");
    sha1.digest = MessageDigest::sha1();
    let mut rsa1024 = CertSpec::server("weak.corp.test");
    rsa1024.key = KeySpec::Rsa(1024);
    let mut client_only = CertSpec::server("client.corp.test");
    client_only.eku = Some(vec!["clientAuth"]);
    let mut wildcard = CertSpec::server("*.corp.test");
    wildcard.dns = vec!["*.corp.test".into()];
    let mut encipher_only = CertSpec::server("ku.corp.test");
    encipher_only.key_usage = Some(vec!["keyEncipherment"]);
    // (name scanned, certificate, served with the issuing CA)
    let cases: Vec<(&str, CertSpec, bool)> = vec![
        ("dc1.corp.test", CertSpec::server("dc1.corp.test"), true),
        (
            "expired.corp.test",
            CertSpec::server("expired.corp.test").days(-400, -2),
            true,
        ),
        (
            "future.corp.test",
            CertSpec::server("future.corp.test").days(5, 400),
            true,
        ),
        (
            "soon.corp.test",
            CertSpec::server("soon.corp.test").days(-355, 10),
            true,
        ),
        ("dc2.corp.test", CertSpec::server("other.corp.test"), true),
        ("dc7.corp.test", wildcard, true),
        ("sha1.corp.test", sha1, true),
        ("weak.corp.test", rsa1024, true),
        ("client.corp.test", client_only, true),
        (
            "alone.corp.test",
            CertSpec::server("alone.corp.test"),
            false,
        ),
        ("ku.corp.test", encipher_only, true),
    ];
    let mut servers = Vec::new();
    for (name, spec, chained) in &cases {
        let issued = leaf(spec.clone());
        let id = if *chained {
            with_chain(&issued)
        } else {
            Identity::new(&issued, &[])
        };
        servers.push((*name, lab(id).await));
    }
    let targets: Vec<(&str, &str, u16)> = servers
        .iter()
        .map(|(n, s)| ("tls", *n, s.addr().port()))
        .collect();
    let mut config = config_trusting_root();
    config.certificates.domain = Some("corp.test".into());
    let report = scan_named(&config, &targets).await;

    let expected: Vec<(&str, Vec<FindingKey>)> = vec![
        ("dc1.corp.test", vec![]),
        ("expired.corp.test", vec![FindingKey::Expired]),
        ("future.corp.test", vec![FindingKey::NotYetValid]),
        ("soon.corp.test", vec![FindingKey::ExpiresSoon]),
        ("dc2.corp.test", vec![FindingKey::NameMismatch]),
        ("dc7.corp.test", vec![]),
        ("sha1.corp.test", vec![FindingKey::WeakSignature]),
        ("weak.corp.test", vec![FindingKey::WeakKey]),
        ("client.corp.test", vec![FindingKey::NoServerAuthEku]),
        (
            "alone.corp.test",
            vec![FindingKey::Untrusted, FindingKey::ChainIncomplete],
        ),
        // ECDHE (TLS 1.2) and TLS 1.3 sign with the key: digitalSignature is needed.
        ("ku.corp.test", vec![FindingKey::KeyUsage]),
    ];
    for ((name, want), (_, server)) in expected.iter().zip(&servers) {
        let c = cert_of(&report, name, server.addr().port());
        assert_eq!(&keys(c), want, "{name}: {:#?}", c.findings);
        cross_check(c, server.addr(), Some(name), false, Some(&root_pem()));
    }

    // The details of a few, beyond what openssl x509 printed.
    let port = |n: &str| {
        servers
            .iter()
            .find(|(s, _)| *s == n)
            .unwrap()
            .1
            .addr()
            .port()
    };
    let good = cert_of(&report, "dc1.corp.test", port("dc1.corp.test"));
    assert!(good.trust.verified);
    assert_eq!(good.chain.len(), 2);
    assert_eq!(good.chain[0].key_type, "RSA");
    assert!(good.chain[1].ca && !good.chain[0].ca);
    assert_eq!(good.versions, [TlsVersion::Tls12, TlsVersion::Tls13]);
    let soon = cert_of(&report, "soon.corp.test", port("soon.corp.test"));
    assert!((9..=10).contains(&soon.chain[0].days_left), "{soon:#?}");
    let wild = cert_of(&report, "dc7.corp.test", port("dc7.corp.test"));
    let by: Vec<(NameSource, bool, Option<&str>)> = wild
        .names
        .iter()
        .map(|n| (n.source, n.matched, n.by.as_deref()))
        .collect();
    assert_eq!(
        by,
        [
            (NameSource::Scanned, true, Some("DNS:*.corp.test")),
            (NameSource::DomainWildcard, true, Some("DNS:*.corp.test")),
        ]
    );
    let wrong = cert_of(&report, "dc2.corp.test", port("dc2.corp.test"));
    assert!(!wrong.names[0].matched);
    assert_eq!(
        wrong.names[1],
        tlsmatrix::cert::NameCheck {
            name: "*.corp.test".into(),
            source: NameSource::DomainWildcard,
            matched: false,
            by: None,
        }
    );
    let ku = cert_of(&report, "ku.corp.test", port("ku.corp.test"));
    let message = &ku.findings[0].message;
    assert!(
        message.contains("lacks digitalSignature") && message.contains("(TLS 1.3)"),
        "{message}"
    );
    let alone = cert_of(&report, "alone.corp.test", port("alone.corp.test"));
    assert_eq!(alone.trust.error_code, Some(20));

    // Without --ca-file the enterprise chain is untrusted (its root is unknown), but nothing
    // is missing from it: the server sends the issuing CA.
    let mut system_only = config_trusting_root();
    system_only.certificates.trust.ca_file = None;
    let good_port = port("dc1.corp.test");
    let report = scan_named(&system_only, &[("tls", "dc1.corp.test", good_port)]).await;
    let c = cert_of(&report, "dc1.corp.test", good_port);
    assert_eq!(keys(c), [FindingKey::Untrusted]);
    assert_eq!(c.trust.store, "system");
    let addr = servers[0].1.addr();
    cross_check(c, addr, Some("dc1.corp.test"), false, None);
}

struct Process {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start a server process on a free loopback port (retrying if another grabbed it), and wait
/// until it accepts connections.
async fn spawn_server(make: impl Fn(u16) -> Command) -> Process {
    for _ in 0..10 {
        let port = free_port();
        let mut cmd = make(port);
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let mut p = Process {
            child,
            addr: SocketAddr::new(LOCALHOST, port),
        };
        for _ in 0..250 {
            if tokio::net::TcpStream::connect(p.addr).await.is_ok() {
                return p;
            }
            if let Ok(Some(_)) = p.child.try_wait() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = p.child.kill();
    }
    panic!("the server did not start");
}

fn write_identity(dir: &Path, stem: &str, i: &Issued, chain: &[&openssl::x509::X509]) {
    let mut all = vec![&i.cert];
    all.extend(chain.iter().copied());
    std::fs::write(dir.join(format!("{stem}.pem")), pki::pem(&all)).unwrap();
    std::fs::write(
        dir.join(format!("{stem}.key")),
        i.key.private_key_to_pem_pkcs8().unwrap(),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_server_enterprise_chain_weak_certificate_and_one_per_version() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    write_identity(&d, "good", &leaf(CertSpec::server("dc1.corp.test")), &[]);
    let mut weak = CertSpec::server("old.corp.test");
    weak.key = KeySpec::Rsa(1024);
    weak.digest = MessageDigest::sha1();
    write_identity(&d, "weak", &leaf(weak), &[]);
    let mut ec = CertSpec::server("dual.corp.test");
    ec.key = KeySpec::P256;
    write_identity(&d, "ec", &leaf(ec), &[]);
    write_identity(&d, "rsa", &leaf(CertSpec::server("dual.corp.test")), &[]);
    let inter = pki().dir.path().join("inter.pem");

    let s_server = |stem: &'static str, extra: Vec<String>| {
        let d = d.clone();
        let inter = inter.clone();
        move |port: u16| {
            let mut c = Command::new("openssl");
            c.args(["s_server", "-quiet", "-www", "-accept"])
                .arg(format!("127.0.0.1:{port}"))
                .arg("-cert")
                .arg(d.join(format!("{stem}.pem")))
                .arg("-key")
                .arg(d.join(format!("{stem}.key")))
                .arg("-cert_chain")
                .arg(&inter)
                .args(&extra);
            c
        }
    };
    let good = spawn_server(s_server("good", vec![])).await;
    let weak = spawn_server(s_server(
        "weak",
        vec!["-cipher".into(), "DEFAULT:@SECLEVEL=0".into()],
    ))
    .await;
    // RSA for TLS 1.2 (its suites are RSA-authenticated only), ECDSA for TLS 1.3.
    let dual = spawn_server(s_server(
        "ec",
        vec![
            "-dcert".into(),
            d.join("rsa.pem").display().to_string(),
            "-dkey".into(),
            d.join("rsa.key").display().to_string(),
            "-dcert_chain".into(),
            inter.display().to_string(),
            "-cipher".into(),
            "aRSA:@SECLEVEL=0".into(),
        ],
    ))
    .await;
    let report = scan_named(
        &config_trusting_root(),
        &[
            ("tls", "dc1.corp.test", good.addr.port()),
            ("tls", "old.corp.test", weak.addr.port()),
            ("tls", "dual.corp.test", dual.addr.port()),
        ],
    )
    .await;
    let c = cert_of(&report, "dc1.corp.test", good.addr.port());
    assert_eq!(keys(c), []);
    cross_check(
        c,
        good.addr,
        Some("dc1.corp.test"),
        false,
        Some(&root_pem()),
    );
    let c = cert_of(&report, "old.corp.test", weak.addr.port());
    assert_eq!(keys(c), [FindingKey::WeakKey, FindingKey::WeakSignature]);
    assert_eq!(c.chain[0].signature_algorithm, "sha1WithRSAEncryption");
    cross_check(
        c,
        weak.addr,
        Some("old.corp.test"),
        false,
        Some(&root_pem()),
    );

    // The dual server: TLS 1.3 got the ECDSA certificate, TLS 1.2 another one (RSA).
    let c = cert_of(&report, "dual.corp.test", dual.addr.port());
    assert_eq!(c.versions, [TlsVersion::Tls13]);
    assert_eq!(c.chain[0].key_type, "EC");
    assert_eq!(c.chain[0].curve.as_deref(), Some("prime256v1"));
    let other = &c.other_chains[&TlsVersion::Tls12];
    assert_eq!(other.chain[0].key_type, "RSA");
    assert_eq!(other.versions, [TlsVersion::Tls12]);
    assert_ne!(other.chain[0].sha256, c.chain[0].sha256);
    // openssl s_client sees the same two certificates, one per version.
    let fp = |version_flag: &str| {
        let connect = dual.addr.to_string();
        let out = Command::new("timeout")
            .args([
                "20",
                "openssl",
                "s_client",
                "-connect",
                &connect,
                version_flag,
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pem = String::from_utf8_lossy(&out.stdout);
        let start = pem.find("-----BEGIN CERTIFICATE-----").unwrap();
        let end = pem.find("-----END CERTIFICATE-----").unwrap() + 25;
        x509_read(dir.path(), &format!("{}\n", &pem[start..end])).sha256
    };
    assert_eq!(fp("-tls1_3"), c.chain[0].sha256);
    assert_eq!(fp("-tls1_2"), other.chain[0].sha256);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slapd_ldaps_and_starttls_send_the_enterprise_chain() {
    if !crate::slapd::slapd_available() {
        return;
    }
    let issued = leaf(CertSpec::server("ldap.corp.test"));
    let slapd = crate::slapd::Slapd::start_with(
        "NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3",
        &pki::pem(&[&issued.cert, &pki().inter.cert]),
        &issued.key.private_key_to_pem_pkcs8().unwrap(),
    );
    let report = scan_named(
        &config_trusting_root(),
        &[
            ("ldaps", "ldap.corp.test", slapd.ldaps.port()),
            ("ldap", "ldap.corp.test", slapd.ldap.port()),
        ],
    )
    .await;
    let ldaps = cert_of(&report, "ldap.corp.test", slapd.ldaps.port());
    let starttls = cert_of(&report, "ldap.corp.test", slapd.ldap.port());
    assert_eq!(keys(ldaps), []);
    assert_eq!(
        ldaps.chain.len(),
        2,
        "GnuTLS sends the issuing CA from the file"
    );
    assert_eq!(ldaps.chain[0].sha256, starttls.chain[0].sha256);
    assert!(report.certificate_consistency.is_empty());
    cross_check(
        ldaps,
        slapd.ldaps,
        Some("ldap.corp.test"),
        false,
        Some(&root_pem()),
    );
    cross_check(
        starttls,
        slapd.ldap,
        Some("ldap.corp.test"),
        true,
        Some(&root_pem()),
    );
}

fn gnutls_available() -> bool {
    if Path::new("/usr/bin/gnutls-serv").exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("gnutls-serv is missing, and CI must run its tests (scripts/test installs it)");
    }
    eprintln!("\n*** SKIPPED: gnutls-serv is missing; run scripts/test as root. ***\n");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gnutls_serv_wildcard_and_expired_certificates() {
    if !gnutls_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let mut wildcard = CertSpec::server("*.corp.test");
    wildcard.dns = vec!["*.corp.test".into()];
    write_identity(&d, "wild", &leaf(wildcard), &[&pki().inter.cert]);
    write_identity(
        &d,
        "expired",
        &leaf(CertSpec::server("old.corp.test").days(-400, -30)),
        &[&pki().inter.cert],
    );
    // gnutls-serv has no listen address: it binds every interface; all traffic here is to
    // 127.0.0.1.
    let gnutls = |stem: &'static str| {
        let d = d.clone();
        move |port: u16| {
            let mut c = Command::new("gnutls-serv");
            c.arg("--port")
                .arg(port.to_string())
                .arg("--x509certfile")
                .arg(d.join(format!("{stem}.pem")))
                .arg("--x509keyfile")
                .arg(d.join(format!("{stem}.key")))
                .args(["--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3"]);
            c
        }
    };
    let wild = spawn_server(gnutls("wild")).await;
    let old = spawn_server(gnutls("expired")).await;
    let mut config = config_trusting_root();
    config.certificates.domain = Some("corp.test".into());
    let report = scan_named(
        &config,
        &[
            ("tls", "dc9.corp.test", wild.addr.port()),
            ("tls", "old.corp.test", old.addr.port()),
        ],
    )
    .await;
    let c = cert_of(&report, "dc9.corp.test", wild.addr.port());
    assert_eq!(keys(c), []);
    assert!(c.names.iter().all(|n| n.matched), "{:#?}", c.names);
    cross_check(
        c,
        wild.addr,
        Some("dc9.corp.test"),
        false,
        Some(&root_pem()),
    );
    let c = cert_of(&report, "old.corp.test", old.addr.port());
    assert_eq!(keys(c), [FindingKey::Expired]);
    assert!(c.chain[0].days_left <= -30);
    cross_check(c, old.addr, Some("old.corp.test"), false, Some(&root_pem()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdp_self_signed_is_informational_unless_trust_is_asked() {
    let own = pki::issue(&CertSpec::server("dc1.corp.test"), None).unwrap();
    let rdp = LabServer::start_as(
        SocketAddr::new(LOCALHOST, 0),
        Behaviour::Rdp(RdpReply::Tls {
            min: TlsVersion::Tls12,
            max: TlsVersion::Tls12,
        }),
        Identity::new(&own, &[]),
    )
    .await
    .unwrap();
    let report = scan_named(
        &config_trusting_root(),
        &[("rdp", "dc1.corp.test", rdp.addr().port())],
    )
    .await;
    let e = &report.endpoints[0];
    let c = e.certificate.as_deref().expect("RDP certificate");
    assert_eq!(keys(c), [FindingKey::Untrusted, FindingKey::SelfSigned]);
    assert!(c.findings.iter().all(|f| f.severity == Severity::Info));
    assert!(c.chain[0].self_signed);
    assert!(tlsmatrix::output::cell_text(&e.versions[&TlsVersion::Tls12]) == "yes");

    let policy = |trusted: bool| tlsmatrix::analysis::policy::Policy {
        certificate: Some(cert_analysis::CertPolicy {
            trusted,
            min_days: Some(30),
            ..Default::default()
        }),
        ..tlsmatrix::analysis::policy::Policy::certificates_only()
    };
    let check = |p| tlsmatrix::analysis::policy::check(&report, &p, &Default::default());
    assert_eq!(
        check(policy(false)).result,
        tlsmatrix::analysis::policy::Compliance::Pass
    );
    let asked = check(policy(true));
    assert_eq!(asked.result, tlsmatrix::analysis::policy::Compliance::Fail);
    let found: Vec<Option<FindingKey>> = asked.endpoints[0]
        .findings
        .iter()
        .map(|f| f.certificate)
        .collect();
    assert_eq!(
        found,
        [Some(FindingKey::Untrusted), Some(FindingKey::SelfSigned)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_dc_with_two_certificates_and_dcs_with_two_issuers() {
    let other_ca = pki::issue(&CertSpec::ca("Other CA"), None).unwrap();
    let ldaps = |id: Identity| async move {
        LabServer::start_as(
            SocketAddr::new(LOCALHOST, 0),
            Behaviour::Ldap {
                starttls: None,
                min: TlsVersion::Tls12,
                max: TlsVersion::Tls13,
                answers: true,
            },
            id,
        )
        .await
        .unwrap()
    };
    // dc1: its 636 has the renewed certificate, its 3269 the old one. dc2: another CA.
    let renewed =
        ldaps(with_chain(&leaf(CertSpec::server("dc1.corp.test"))).host_name("dc1.corp.test"))
            .await;
    let old = ldaps(
        with_chain(&leaf(CertSpec::server("dc1.corp.test").days(-300, 20)))
            .host_name("dc1.corp.test"),
    )
    .await;
    let dc2_cert = pki::issue(&CertSpec::server("dc2.corp.test"), Some(&other_ca)).unwrap();
    let dc2 = ldaps(Identity::new(&dc2_cert, &[&other_ca.cert]).host_name("dc2.corp.test")).await;
    let report = scan_named(
        &config_trusting_root(),
        &[
            ("ldaps", "dc1.corp.test", renewed.addr().port()),
            ("gcs", "dc1.corp.test", old.addr().port()),
            ("ldaps", "dc2.corp.test", dc2.addr().port()),
        ],
    )
    .await;
    let kinds: Vec<InconsistencyKind> = report
        .certificate_consistency
        .iter()
        .map(|i| i.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            InconsistencyKind::PortsDiffer,
            InconsistencyKind::IssuersDiffer
        ],
        "{:#?}",
        report.certificate_consistency
    );
    assert_eq!(report.certificate_consistency[0].endpoints.len(), 2);
    // The lab directory names its domain lab.test in its RootDSE; the DC's own name is checked.
    let c = cert_of(&report, "dc2.corp.test", dc2.addr().port());
    assert!(
        c.names
            .iter()
            .any(|n| n.source == NameSource::Scanned && n.matched)
    );
    assert_eq!(keys(c), [FindingKey::Untrusted]);
}

/// A saved scan of three servers (10 days left, another name, a good one), checked as a user
/// would configure it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_on_certificates_as_configured() {
    let soon = lab(with_chain(&leaf(
        CertSpec::server("soon.corp.test").days(-355, 10),
    )))
    .await;
    let wrong = lab(with_chain(&leaf(CertSpec::server("other.corp.test")))).await;
    let good = lab(with_chain(&leaf(CertSpec::server("dc1.corp.test")))).await;
    let dir = tempfile::tempdir().unwrap();
    let scan_file = dir.path().join("scan.json");
    let mut args: Vec<String> = vec![
        "scan".into(),
        "-q".into(),
        "--format".into(),
        "json".into(),
        "-o".into(),
        scan_file.display().to_string(),
        "--versions".into(),
        "tls1.2,tls1.3".into(),
        "--ca-file".into(),
        root_pem().display().to_string(),
    ];
    for (name, s) in [
        ("soon.corp.test", &soon),
        ("dc2.corp.test", &wrong),
        ("dc1.corp.test", &good),
    ] {
        let port = s.addr().port();
        args.push("--resolve".into());
        args.push(format!("{name}:{port}:127.0.0.1"));
        args.push(format!("tls://{name}:{port}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_cli(&args, &[], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let file = scan_file.to_str().unwrap();

    let check = |extra: &[&str]| {
        let mut a = vec!["check", file, "--format", "json"];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| async move {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let out = run_cli(&a, &[], None).await;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
        let failing: Vec<(String, Vec<String>)> = v["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["result"] != "pass")
            .map(|e| {
                (
                    e["target"]
                        .as_str()
                        .unwrap()
                        .split(':')
                        .nth(1)
                        .unwrap()
                        .trim_start_matches('/')
                        .to_string(),
                    e["findings"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| f["certificate"].as_str().unwrap_or("version").to_string())
                        .collect(),
                )
            })
            .collect();
        (out.status.code(), failing)
    };
    let (code, failing) = run(check(&["--cert-min-days", "30"])).await;
    assert_eq!(code, Some(1));
    assert_eq!(
        failing,
        [(
            "soon.corp.test".to_string(),
            vec!["expires_soon".to_string()]
        )]
    );
    let (code, failing) = run(check(&["--cert-min-days", "5", "--cert-trusted"])).await;
    assert_eq!((code, failing.len()), (Some(0), 0), "{failing:?}");
    let (code, failing) = run(check(&["--cert-name"])).await;
    assert_eq!(code, Some(1));
    assert_eq!(
        failing,
        [(
            "dc2.corp.test".to_string(),
            vec!["name_mismatch".to_string()]
        )]
    );
    let (code, failing) = run(check(&["--cert-require-name", "*.corp.test"])).await;
    assert_eq!((code, failing.len()), (Some(1), 3));
    // The named policy: TLS 1.2 only (SSLv3 to 1.1 were not scanned: undecided) and the
    // certificates: the two bad ones fail, the good one is inconclusive, never a pass.
    let (code, failing) = run(check(&["--policy", "tls12-only-certs"])).await;
    assert_eq!(code, Some(1));
    let certs: Vec<(&str, Vec<&str>)> = failing
        .iter()
        .map(|(t, f)| {
            (
                t.as_str(),
                f.iter()
                    .filter(|k| *k != "version")
                    .map(String::as_str)
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        certs,
        [
            ("soon.corp.test", vec!["expires_soon"]),
            ("dc2.corp.test", vec!["name_mismatch"]),
            ("dc1.corp.test", vec![]),
        ]
    );
    // The table lists the findings like version violations.
    let a: Vec<&str> = vec!["check", file, "--format", "table", "--cert-min-days", "30"];
    let out = run_cli(&a, &[], None).await;
    assert!(
        stdout(&out).contains("certificate: expires in"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_calls_a_certificate_that_became_invalid_a_regression() {
    let before_id = with_chain(&leaf(CertSpec::server("dc1.corp.test")));
    let server = lab(before_id).await;
    let addr = server.addr();
    let targets = [("tls", "dc1.corp.test", addr.port())];
    let before = scan_named(&config_trusting_root(), &targets).await;
    server.shutdown().await;
    // Renewed by mistake with a certificate for another name.
    let after_id = with_chain(&leaf(CertSpec::server("dc1.corp.test.invalid")));
    let server = LabServer::start_again_as(
        addr,
        Behaviour::tls(TlsVersion::Tls12, TlsVersion::Tls13),
        Some(after_id),
    )
    .await
    .unwrap();
    let after = scan_named(&config_trusting_root(), &targets).await;
    drop(server);
    let d = diff::diff(&before, &after, (None, None), &Default::default());
    let e = &d.endpoints[0];
    assert_eq!(e.result, diff::EndpointResult::Regression);
    let c = e.certificate.as_ref().expect("a certificate change");
    assert!(c.became_invalid);
    assert_eq!(c.new_errors, [FindingKey::NameMismatch]);
    assert!(c.changed.contains(&"fingerprint".to_string()));
    assert!(
        !diff::passes(&d, true),
        "never hidden by --allow-inconclusive"
    );
    let mut out = Vec::new();
    tlsmatrix::output::write_diff(
        &d,
        tlsmatrix::output::Format::Table,
        tlsmatrix::output::Look::wide(false),
        false,
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("certificate regression: "), "{text}");
    assert!(text.contains("FAIL"), "{text}");
    // The same server unchanged is no change at all.
    let same = diff::diff(&after, &after, (None, None), &Default::default());
    assert!(same.endpoints[0].certificate.is_none());
    assert!(diff::passes(&same, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_text_with_terminal_escapes_is_escaped_in_every_format() {
    let mut evil = CertSpec::server("dc1.corp.test");
    evil.cn = "evil\u{1b}[2J\u{1b}]0;owned\u{7}.corp.test".into();
    evil.dns = vec![];
    let server = lab(with_chain(&leaf(evil))).await;
    let port = server.addr().port();
    let resolve = format!("dc1.corp.test:{port}:127.0.0.1");
    let target = format!("tls://dc1.corp.test:{port}");
    for format in ["table", "csv", "md"] {
        let out = run_cli(
            &[
                "scan",
                "--format",
                format,
                "--versions",
                "tls1.2",
                "--resolve",
                &resolve,
                &target,
            ],
            &[],
            None,
        )
        .await;
        let text = stdout(&out);
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{format}: {text:?}"
        );
        assert!(text.contains("\\u{1b}"), "{format}: {text}");
    }
    // JSON keeps the text as it is, escaped by JSON itself.
    let out = run_cli(
        &[
            "scan",
            "--format",
            "json",
            "--versions",
            "tls1.2",
            "--resolve",
            &resolve,
            &target,
        ],
        &[],
        None,
    )
    .await;
    let r: Report = report(&out);
    let e: &Endpoint = &r.endpoints[0];
    assert!(
        e.certificate.as_ref().unwrap().chain[0]
            .subject
            .contains('\u{1b}')
    );
}
