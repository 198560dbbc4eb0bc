//! `scan --suites` against real servers whose suite sets are known: `openssl s_server` with
//! `-cipher`/`-ciphersuites` lists over TLS 1.0-1.3, one enforcing its own order, one that
//! serves anonymous Diffie-Hellman only; `gnutls-serv` with a priority string, with 3DES alone
//! and with RC4 alone. For every server and version the expected list comes from the server's
//! configuration, read by the server's own library (`openssl ciphers -V -s`, `gnutls-cli -l
//! --priority`), and an independent client (`openssl s_client`, `gnutls-cli`) completes a
//! handshake offering each expected suite alone and fails offering every other suite it has.
//! Never from tlsmatrix.
//!
//! All servers start at once, each on its own loopback address (127.0.3.N); the clients and the
//! scan run side by side.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use tlsmatrix::report::{SuiteOrder, TlsVersion, TlsVersion::*};
use tlsmatrix::scan::ScanConfig;
use tlsmatrix::tls::suites::{Flaw, SuiteClass};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

use crate::util::{free_port_on, row_at, scan_targets, tool_output};

fn next_host() -> IpAddr {
    static N: AtomicU8 = AtomicU8::new(10);
    IpAddr::V4(Ipv4Addr::new(127, 0, 3, N.fetch_add(1, Ordering::SeqCst)))
}

async fn ready(addr: SocketAddr, child: &mut Child, what: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if TcpStream::connect(addr).await.is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}) before listening on {addr}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what} did not listen on {addr} within 15s");
}

/// Which library's client is the oracle for a server.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Client {
    OpenSsl,
    GnuTls,
}

/// A server under test: where it is, what its configuration says it accepts per version (in
/// its configured order), and whose order it should follow.
struct Server {
    name: &'static str,
    addr: SocketAddr,
    expected: BTreeMap<TlsVersion, Vec<u16>>,
    order: Option<SuiteOrder>,
    client: Client,
    /// Also check the groups (TLS 1.2 and 1.3) against this set.
    groups: Option<BTreeSet<&'static str>>,
    /// Also check the TLS 1.2 signature algorithms against this set.
    sigalgs: Option<BTreeSet<&'static str>>,
    /// Every suite accepted has this flaw.
    flaw: Option<Flaw>,
}

struct Lab {
    dir: tempfile::TempDir,
    children: Vec<Child>,
}

impl Lab {
    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    async fn s_server(&mut self, args: &[&str]) -> SocketAddr {
        let host = next_host();
        let addr = SocketAddr::new(host, free_port_on(host));
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", &addr.to_string(), "-www", "-quiet"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("openssl s_server");
        ready(addr, &mut child, "openssl s_server").await;
        self.children.push(child);
        addr
    }

    async fn gnutls_serv(&mut self, priority: &str) -> SocketAddr {
        let host = next_host();
        // gnutls-serv cannot be told its address: a port free everywhere, loopback traffic only.
        let port = std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = SocketAddr::new(host, port);
        let mut child = Command::new("gnutls-serv")
            .args(["-q", "-a", "-p", &port.to_string()])
            .args(["--x509certfile", &self.file("cert.pem")])
            .args(["--x509keyfile", &self.file("key.pem")])
            .arg(format!("--priority={priority}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("gnutls-serv (Debian package gnutls-bin)");
        ready(addr, &mut child, "gnutls-serv").await;
        self.children.push(child);
        addr
    }
}

fn version_flag(v: TlsVersion) -> &'static str {
    match v {
        Tls10 => "-tls1",
        Tls11 => "-tls1_1",
        Tls12 => "-tls1_2",
        Tls13 => "-tls1_3",
        Ssl3 => "-ssl3",
    }
}

/// `openssl ciphers -V -s`: the suites (code point, OpenSSL name) a cipher string enables for
/// one version, in its order, keeping those a server with an RSA certificate (or none, for
/// anonymous suites) can use.
async fn openssl_ciphers(v: TlsVersion, cipher: &str, suites13: &str) -> Vec<(u16, String)> {
    let (ok, out) = tool_output(
        Command::new("openssl")
            .args(["ciphers", "-V", "-s", version_flag(v)])
            .args(["-ciphersuites", suites13, cipher]),
    )
    .await;
    assert!(ok, "openssl ciphers: {out}");
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (hi, lo) = f.first()?.split_once(',')?;
            let id = u16::from_str_radix(hi.trim_start_matches("0x"), 16).ok()? << 8
                | u16::from_str_radix(lo.trim_start_matches("0x"), 16).ok()?;
            let au = f.iter().find(|x| x.starts_with("Au="))?;
            let usable = matches!(*au, "Au=RSA" | "Au=None" | "Au=any");
            // -s keeps suites of versions up to the one given: keep the version's own.
            let for_v = match v {
                Tls13 => f.contains(&"TLSv1.3"),
                _ => !f.contains(&"TLSv1.3") && (v == Tls12 || !f.contains(&"TLSv1.2")),
            };
            (usable && for_v).then(|| (id, f[2].to_string()))
        })
        .collect()
}

/// `gnutls-cli -l --priority`: the suites a priority string enables (code point, first
/// version), for a server with an RSA certificate.
async fn gnutls_suites(priority: &str) -> Vec<(u16, TlsVersion)> {
    let (ok, out) =
        tool_output(Command::new("gnutls-cli").args(["-l", "--priority", priority])).await;
    assert!(ok, "gnutls-cli -l: {out}");
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').map(str::trim).collect();
            let [name, id, min] = f.as_slice() else {
                return None;
            };
            if name.contains("ECDSA") || name.contains("PSK") || name.contains("SRP") {
                return None;
            }
            let (hi, lo) = id.split_once(", ")?;
            let id = u16::from_str_radix(hi.trim_start_matches("0x"), 16).ok()? << 8
                | u16::from_str_radix(lo.trim_start_matches("0x"), 16).ok()?;
            let min = match *min {
                "TLS1.0" => Tls10,
                "TLS1.1" => Tls11,
                "TLS1.2" => Tls12,
                "TLS1.3" => Tls13,
                "SSL3.0" => Ssl3,
                _ => return None,
            };
            Some((id, min))
        })
        .collect()
}

/// Per version, the suites a gnutls-serv priority string accepts.
async fn gnutls_expected(
    priority: &str,
    versions: &[TlsVersion],
) -> BTreeMap<TlsVersion, Vec<u16>> {
    let all = gnutls_suites(priority).await;
    versions
        .iter()
        .map(|v| {
            let ids = all
                .iter()
                .filter(|(_, min)| {
                    // TLS 1.3 suites are TLS 1.3's alone; the others run from their first
                    // version up to TLS 1.2.
                    if *v == Tls13 {
                        *min == Tls13
                    } else {
                        *min != Tls13 && min <= v
                    }
                })
                .map(|(id, _)| *id)
                .collect();
            (*v, ids)
        })
        .collect()
}

/// Every code point OpenSSL's `ALL:COMPLEMENTOFALL` and TLS 1.3 lists know, with its name.
async fn openssl_names() -> BTreeMap<u16, String> {
    let mut out = BTreeMap::new();
    for v in [Tls10, Tls12, Tls13] {
        for (id, name) in openssl_ciphers(v, "ALL:COMPLEMENTOFALL:@SECLEVEL=0", TLS13_ALL).await {
            out.insert(id, name);
        }
    }
    out
}

const TLS13_ALL: &str = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:\
TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256";

/// `openssl s_client` offering `v` and only `names` (TLS 1.3 suites for TLS 1.3); whether the
/// handshake completed.
async fn s_client(addr: SocketAddr, v: TlsVersion, names: &[&str]) -> bool {
    let list = names.join(":");
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &addr.to_string(), version_flag(v)])
        .args(["-servername", "localhost", "-no_ticket"]);
    if v == Tls13 {
        cmd.args(["-ciphersuites", &list]);
    } else {
        cmd.args([
            "-cipher",
            &format!("{list}:@SECLEVEL=0"),
            "-ciphersuites",
            "",
        ]);
    }
    let (ok, out) = tool_output(&mut cmd).await;
    ok && out.contains(", Cipher is ") && !out.contains("Cipher is (NONE)")
}

/// `gnutls-cli` with a priority string; whether the handshake completed.
async fn gnutls_cli(addr: SocketAddr, priority: &str) -> bool {
    let (ok, out) = tool_output(
        Command::new("gnutls-cli")
            .args(["--insecure", "-p", &addr.port().to_string()])
            .arg(format!("--priority={priority}"))
            .arg(addr.ip().to_string()),
    )
    .await;
    ok && out.contains("Handshake was completed")
}

fn gnutls_version(v: TlsVersion) -> &'static str {
    match v {
        Tls10 => "VERS-TLS1.0",
        Tls11 => "VERS-TLS1.1",
        Tls12 => "VERS-TLS1.2",
        Tls13 => "VERS-TLS1.3",
        Ssl3 => "VERS-SSL3.0",
    }
}

/// GnuTLS's priority pieces for the suites of the 3DES and RC4 servers.
fn gnutls_pieces(id: u16) -> (&'static str, &'static str) {
    match id {
        0x000a => ("RSA", "3DES-CBC"),
        0xc012 => ("ECDHE-RSA", "3DES-CBC"),
        0x0005 => ("RSA", "ARCFOUR-128"),
        0xc011 => ("ECDHE-RSA", "ARCFOUR-128"),
        other => panic!("no GnuTLS pieces for 0x{other:04x}"),
    }
}

/// The independent client's word on one server and version: each expected suite alone must
/// complete a handshake, and every other suite the client has must not. Returns what went
/// against the expectation.
async fn oracle(
    s: &Server,
    v: TlsVersion,
    names: &BTreeMap<u16, String>,
    limit: Arc<Semaphore>,
) -> Vec<String> {
    let expected = &s.expected[&v];
    let mut wrong = Vec::new();
    match s.client {
        Client::OpenSsl => {
            let name = |id: &u16| {
                names
                    .get(id)
                    .unwrap_or_else(|| panic!("OpenSSL has no name for 0x{id:04x}"))
                    .clone()
            };
            let mut jobs = tokio::task::JoinSet::new();
            for id in expected {
                let (n, addr, limit) = (name(id), s.addr, limit.clone());
                let id = *id;
                jobs.spawn(async move {
                    let _p = limit.acquire().await;
                    (id, s_client(addr, v, &[&n]).await)
                });
            }
            while let Some(r) = jobs.join_next().await {
                let (id, ok) = r.unwrap();
                if !ok {
                    wrong.push(format!("{v} 0x{id:04x}: s_client offering it alone failed"));
                }
            }
            // Everything else OpenSSL has for the version.
            let others: Vec<String> = if v == Tls13 {
                TLS13_ALL
                    .split(':')
                    .filter(|n| {
                        !expected
                            .iter()
                            .any(|id| names.get(id).is_some_and(|x| x == n))
                    })
                    .map(str::to_string)
                    .collect()
            } else {
                let mut o = vec!["ALL:COMPLEMENTOFALL".to_string()];
                o.extend(expected.iter().map(|id| format!("!{}", name(id))));
                o
            };
            if !others.is_empty() {
                let refs: Vec<&str> = others.iter().map(String::as_str).collect();
                let _p = limit.acquire().await;
                if s_client(s.addr, v, &refs).await {
                    wrong.push(format!(
                        "{v}: s_client offering every other suite completed a handshake"
                    ));
                }
            }
        }
        Client::GnuTls => {
            let base = |rest: &str| {
                format!(
                    "NONE:+{}:{rest}:+COMP-NULL:+SIGN-ALL:+CURVE-ALL",
                    gnutls_version(v)
                )
            };
            for id in expected {
                let (kx, cipher) = gnutls_pieces(*id);
                let _p = limit.acquire().await;
                if !gnutls_cli(s.addr, &base(&format!("+{kx}:+{cipher}:+SHA1"))).await {
                    wrong.push(format!(
                        "{v} 0x{id:04x}: gnutls-cli offering it alone failed"
                    ));
                }
            }
            let ciphers: BTreeSet<&str> = expected.iter().map(|id| gnutls_pieces(*id).1).collect();
            let mut rest = format!(
                "NORMAL:+3DES-CBC:+ARCFOUR-128:+RSA:+SHA1:+MD5:-VERS-ALL:+{}",
                gnutls_version(v)
            );
            for c in ciphers {
                rest.push_str(&format!(":-{c}"));
            }
            let _p = limit.acquire().await;
            if gnutls_cli(s.addr, &rest).await {
                wrong.push(format!(
                    "{v}: gnutls-cli offering every other suite completed a handshake"
                ));
            }
        }
    }
    wrong
}

async fn start(lab: &mut Lab) -> Vec<Server> {
    let cert = lab.file("cert.pem");
    let key = lab.file("key.pem");
    let id = ["-cert", cert.as_str(), "-key", key.as_str()];
    let mut servers = Vec::new();

    // TLS 1.0-1.3, a cipher list and TLS 1.3 suites, the client's order.
    let list = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-SHA:AES128-SHA:\
                DHE-RSA-AES256-GCM-SHA384:@SECLEVEL=0";
    let list13 = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
    let addr = lab
        .s_server(
            &[
                &id[..],
                &[
                    "-min_protocol",
                    "TLSv1",
                    "-cipher",
                    list,
                    "-ciphersuites",
                    list13,
                ],
                &["-groups", "X25519:P-384"],
                &["-sigalgs", "RSA-PSS+SHA256:RSA+SHA384"],
            ]
            .concat(),
        )
        .await;
    let mut expected = BTreeMap::new();
    for v in [Tls10, Tls11, Tls12, Tls13] {
        let ids = openssl_ciphers(v, list, list13).await;
        expected.insert(v, ids.into_iter().map(|(id, _)| id).collect());
    }
    servers.push(Server {
        name: "s_server TLS 1.0-1.3 -cipher/-ciphersuites lists",
        addr,
        expected,
        order: Some(SuiteOrder::Client),
        client: Client::OpenSsl,
        groups: Some(["x25519", "secp384r1"].into()),
        sigalgs: Some(["rsa_pss_rsae_sha256", "rsa_pkcs1_sha384"].into()),
        flaw: None,
    });

    // TLS 1.2, its own order enforced, suites of several of the wire engine's parts
    // (Camellia is among the rarer ones).
    let ordered = "AES256-SHA:ECDHE-RSA-CHACHA20-POLY1305:CAMELLIA128-SHA:\
                   DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256:@SECLEVEL=0";
    let addr = lab
        .s_server(&[&id[..], &["-tls1_2", "-serverpref", "-cipher", ordered]].concat())
        .await;
    let ids: Vec<u16> = openssl_ciphers(Tls12, ordered, list13)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    servers.push(Server {
        name: "s_server TLS 1.2 -serverpref",
        addr,
        expected: [(Tls12, ids)].into(),
        order: Some(SuiteOrder::Server),
        client: Client::OpenSsl,
        groups: None,
        sigalgs: None,
        flaw: None,
    });

    // Anonymous Diffie-Hellman only, no certificate.
    let anon = "ADH-AES128-GCM-SHA256:ADH-AES256-SHA:AECDH-AES128-SHA:@SECLEVEL=0";
    let addr = lab
        .s_server(&[
            "-nocert",
            "-min_protocol",
            "TLSv1",
            "-max_protocol",
            "TLSv1.2",
            "-cipher",
            anon,
        ])
        .await;
    let mut expected = BTreeMap::new();
    for v in [Tls10, Tls11, Tls12] {
        let ids = openssl_ciphers(v, anon, list13).await;
        expected.insert(v, ids.into_iter().map(|(id, _)| id).collect());
    }
    servers.push(Server {
        name: "s_server anonymous DH only",
        addr,
        expected,
        order: None,
        client: Client::OpenSsl,
        groups: None,
        sigalgs: None,
        flaw: Some(Flaw::Anonymous),
    });

    // GnuTLS with a priority string, TLS 1.2 and 1.3.
    let priority = "NONE:+VERS-TLS1.2:+VERS-TLS1.3:+ECDHE-RSA:+RSA:+AES-128-GCM:+AES-256-CBC:\
                    +CHACHA20-POLY1305:+AEAD:+SHA1:+SIGN-ALL:+GROUP-ALL:+COMP-NULL";
    let addr = lab.gnutls_serv(priority).await;
    servers.push(Server {
        name: "gnutls-serv priority string, TLS 1.2-1.3",
        addr,
        expected: gnutls_expected(priority, &[Tls12, Tls13]).await,
        order: Some(SuiteOrder::Client),
        client: Client::OpenSsl,
        groups: None,
        sigalgs: None,
        flaw: None,
    });

    // 3DES alone and RC4 alone, TLS 1.0-1.2: suites Debian's OpenSSL cannot offer.
    for (name, cipher, flaw) in [
        ("gnutls-serv 3DES only", "3DES-CBC", Flaw::TripleDes),
        ("gnutls-serv RC4 only", "ARCFOUR-128", Flaw::Rc4),
    ] {
        let priority = format!(
            "NONE:+VERS-TLS1.0:+VERS-TLS1.1:+VERS-TLS1.2:+{cipher}:+RSA:+ECDHE-RSA:+SHA1:\
             +COMP-NULL:+SIGN-ALL:+CURVE-ALL"
        );
        let addr = lab.gnutls_serv(&priority).await;
        servers.push(Server {
            name,
            addr,
            expected: gnutls_expected(&priority, &[Tls10, Tls11, Tls12]).await,
            order: None,
            client: Client::GnuTls,
            groups: None,
            sigalgs: None,
            flaw: Some(flaw),
        });
    }
    servers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_suite_is_listed_as_the_configuration_and_a_client_say() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = tlsmatrix::lab::identity();
    std::fs::write(
        dir.path().join("key.pem"),
        key.private_key_to_pem_pkcs8().unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.to_pem().unwrap()).unwrap();
    let mut lab = Lab {
        dir,
        children: vec![],
    };
    let servers = start(&mut lab).await;
    let names = openssl_names().await;
    let up = started.elapsed();

    let config = ScanConfig {
        suites: true,
        per_host: 4,
        connect_timeout: Duration::from_secs(4),
        timeout: Duration::from_secs(8),
        sni: Some("localhost".into()),
        ldap_check: false,
        ..ScanConfig::default()
    };
    let targets: Vec<String> = servers
        .iter()
        .map(|s| format!("tls://{}", s.addr))
        .collect();
    let limit = Arc::new(Semaphore::new(6));
    let oracles = async {
        let mut all = Vec::new();
        for s in &servers {
            for v in s.expected.keys() {
                all.push(oracle(s, *v, &names, limit.clone()));
            }
        }
        futures_util::future::join_all(all).await
    };
    let scan_start = Instant::now();
    let (report, truth) = tokio::join!(
        async {
            let r = scan_targets(&config, &targets).await;
            (r, scan_start.elapsed())
        },
        oracles
    );
    let (report, scan_took) = report;
    let wrong_truth: Vec<String> = truth.into_iter().flatten().collect();
    assert!(
        wrong_truth.is_empty(),
        "the independent clients disagree with the configurations:\n{}",
        wrong_truth.join("\n")
    );

    let mut failures = Vec::new();
    let mut lines = Vec::new();
    for s in &servers {
        let e = row_at(&report, s.addr);
        for (v, want) in &s.expected {
            let Some(found) = e.suites.get(v) else {
                failures.push(format!(
                    "{} {v}: no suite list ({:?})",
                    s.name,
                    e.versions.get(v)
                ));
                continue;
            };
            let got: Vec<u16> = found.suites.iter().map(|x| x.id).collect();
            let got_set: BTreeSet<u16> = got.iter().copied().collect();
            let want_set: BTreeSet<u16> = want.iter().copied().collect();
            lines.push(format!(
                "{:<48} {v}: {} suites, {:?} order, {} connections: {}",
                s.name,
                got.len(),
                found.order,
                found.connections,
                found
                    .suites
                    .iter()
                    .map(|x| x.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
            if got_set != want_set {
                failures.push(format!(
                    "{} {v}: found {:?}, configured {:?}",
                    s.name,
                    got.iter().map(|i| format!("{i:04x}")).collect::<Vec<_>>(),
                    want.iter().map(|i| format!("{i:04x}")).collect::<Vec<_>>()
                ));
            }
            if !found.complete || !found.disagreements.is_empty() {
                failures.push(format!(
                    "{} {v}: problems {:?}, disagreements {:?}",
                    s.name, found.problems, found.disagreements
                ));
            }
            match s.order {
                Some(SuiteOrder::Server) if found.order != SuiteOrder::Server || &got != want => {
                    failures.push(format!(
                        "{} {v}: the server's order is {want:04x?}; found {:?} {got:04x?}",
                        s.name, found.order
                    ));
                }
                Some(o) if o != SuiteOrder::Server && want.len() >= 2 && found.order != o => {
                    failures.push(format!(
                        "{} {v}: order {:?}, not {o:?}",
                        s.name, found.order
                    ))
                }
                _ => {}
            }
            if let Some(flaw) = s.flaw {
                for x in &found.suites {
                    if x.class != SuiteClass::Insecure || !x.flaws.contains(&flaw) {
                        failures.push(format!("{} {v}: {} is {:?}", s.name, x.name, x.flaws));
                    }
                }
            }
            if let Some(groups) = &s.groups
                && *v >= Tls12
            {
                let got: BTreeSet<&str> = found.groups.iter().map(|g| g.name.as_str()).collect();
                if &got != groups {
                    failures.push(format!(
                        "{} {v}: groups {got:?}, configured {groups:?}",
                        s.name
                    ));
                }
            }
            if let Some(sigalgs) = &s.sigalgs
                && *v == Tls12
            {
                let got: BTreeSet<&str> = found
                    .signature_algorithms
                    .iter()
                    .map(|g| g.name.as_str())
                    .collect();
                if &got != sigalgs {
                    failures.push(format!(
                        "{} {v}: signature algorithms {got:?}, configured {sigalgs:?}",
                        s.name
                    ));
                }
            }
            // OpenSSL confirmed every suite it can offer.
            for x in &found.suites {
                if let Some(a) = &x.openssl
                    && a.status != tlsmatrix::report::Status::Accepted
                {
                    failures.push(format!("{} {v}: OpenSSL on {}: {a:?}", s.name, x.name));
                }
            }
        }
        // Nothing listed for a version the server does not take.
        for v in e.suites.keys() {
            if !s.expected.contains_key(v) {
                failures.push(format!("{} {v}: listed, not configured", s.name));
            }
        }
        let counted: u32 = e.versions.values().map(|c| c.attempts).sum::<u32>()
            + e.suites.values().map(|x| x.connections).sum::<u32>();
        if e.connections != Some(counted) {
            failures.push(format!(
                "{}: {:?} connections reported, {counted} counted",
                s.name, e.connections
            ));
        }
    }
    for l in &lines {
        eprintln!("  {l}");
    }
    eprintln!(
        "{} servers up in {:.1}s; scan with --suites {:.1}s; all done in {:.1}s",
        servers.len(),
        up.as_secs_f64(),
        scan_took.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    drop(lab);
}

fn lab_tls12(ciphers: &str) -> tlsmatrix::lab::Behaviour {
    tlsmatrix::lab::Behaviour::Tls {
        min: Tls12,
        max: Tls12,
        ciphers: Some(ciphers.to_string()),
    }
}

async fn scan_to(dir: &std::path::Path, name: &str, addr: SocketAddr, suites: bool) -> String {
    use crate::util::{run_cli, stderr};
    let file = dir.join(name).to_str().unwrap().to_string();
    let target = addr.to_string();
    let mut args = vec!["scan", "-q", "--format", "json", "-o", &file, &target];
    if suites {
        args.push("--suites");
    }
    let out = run_cli(&args, &[], None).await;
    assert!(out.status.code().is_some(), "{}", stderr(&out));
    file
}

/// `check --forbid-suites` and `--policy tls12-only-suites` on saved scans, and `diff` naming
/// the suites added and removed per version; the table's suite counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_diff_on_suites() {
    use crate::util::{run_cli, stdout};
    let dir = tempfile::tempdir().unwrap();
    // TLS 1.2 only, with one forward-secret AEAD suite and one RSA key exchange CBC suite.
    let server = crate::util::server(lab_tls12("ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA")).await;
    let addr = server.addr();
    let (before, plain) = tokio::join!(
        scan_to(dir.path(), "before.json", addr, true),
        scan_to(dir.path(), "plain.json", addr, false)
    );

    let check = |file: String, args: Vec<&'static str>| async move {
        let mut all = vec!["check", file.as_str(), "--format", "json"];
        all.extend(args);
        let out = run_cli(&all, &[], None).await;
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (out.status.code(), json)
    };
    let (code, json) = check(before.clone(), vec!["--forbid-suites", "weak"]).await;
    assert_eq!(code, Some(1), "{json}");
    let findings = json["endpoints"][0]["findings"].to_string();
    assert!(
        findings.contains("TLS_RSA_WITH_AES_128_CBC_SHA"),
        "{findings}"
    );
    assert!(
        !findings.contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        "{findings}"
    );
    assert_eq!(json["policy"]["forbid_suites"]["class"], "weak");
    // Nothing insecure there; a list by OpenSSL name or code point.
    assert_eq!(
        check(before.clone(), vec!["--forbid-suites", "insecure"])
            .await
            .0,
        Some(0)
    );
    assert_eq!(
        check(before.clone(), vec!["--forbid-suites", "AES128-SHA"])
            .await
            .0,
        Some(1)
    );
    assert_eq!(
        check(before.clone(), vec!["--forbid-suites", "0x0005,RC4-MD5"])
            .await
            .0,
        Some(0)
    );
    // The named policy: TLS 1.2 only and nothing weak.
    let (code, json) = check(before.clone(), vec!["--policy", "tls12-only-suites"]).await;
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["policy"]["name"], "tls12-only-suites");
    // A scan without --suites proves nothing about suites.
    let (code, json) = check(plain, vec!["--forbid-suites", "weak"]).await;
    assert_eq!(code, Some(3), "{json}");
    assert!(json.to_string().contains("scan with --suites"), "{json}");
    let out = run_cli(
        &["check", &before, "--forbid-suites", "NOPE-SUITE"],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(2));

    // The same address after the change: AES128-SHA gone, AES256-GCM added.
    drop(server);
    // The old listener closes a moment after it is dropped.
    let mut after_server = None;
    for _ in 0..100 {
        if let Ok(s) = tlsmatrix::lab::LabServer::start(
            addr,
            lab_tls12("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"),
        )
        .await
        {
            after_server = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after_server = after_server.expect("the same address again");
    let after = scan_to(dir.path(), "after.json", addr, true).await;
    let out = run_cli(&["diff", &before, &after, "--format", "json"], &[], None).await;
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let change = &d["endpoints"][0]["suites"]["tls1.2"];
    assert_eq!(
        change["added"][0]["name"], "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "{change}"
    );
    assert_eq!(change["removed"][0]["name"], "TLS_RSA_WITH_AES_128_CBC_SHA");
    assert_eq!(change["removed"][0]["class"], "weak");
    let table = run_cli(&["diff", &before, &after], &[], None).await;
    assert!(
        stdout(&table).contains(
            "TLS 1.2 suites added TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384; removed \
             TLS_RSA_WITH_AES_128_CBC_SHA (weak)"
        ),
        "{}",
        stdout(&table)
    );
    let csv = run_cli(&["diff", &before, &after, "--format", "csv"], &[], None).await;
    assert!(stdout(&csv).contains("suites_changed"), "{}", stdout(&csv));
    // The HTML comparison lists them too, with their class.
    let html = run_cli(&["diff", &before, &after, "--format", "html"], &[], None).await;
    let page = stdout(&html);
    let changes = page
        .split("suite-changes")
        .nth(1)
        .unwrap_or_else(|| panic!("no suite changes in the page"));
    assert!(
        changes.contains("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384</span> (ok)")
            && changes.contains("TLS_RSA_WITH_AES_128_CBC_SHA</span> (weak)"),
        "{changes}"
    );
    // The exposition of the saved scan (through check, which adds the policy): one suite of each
    // of the two classes, the list whole.
    let prom = run_cli(
        &[
            "check",
            &before,
            "--forbid-suites",
            "weak",
            "--format",
            "prometheus",
        ],
        &[],
        None,
    )
    .await;
    let text = stdout(&prom);
    for (class, n) in [("insecure", 0.0), ("weak", 1.0), ("ok", 1.0)] {
        assert_eq!(
            crate::util::sample(
                &text,
                "tlsmatrix_suites_accepted",
                &[("version", "tls1.2"), ("class", class)]
            ),
            Some(n),
            "{class}: {text}"
        );
    }
    assert_eq!(
        crate::util::sample(&text, "tlsmatrix_suites_complete", &[("version", "tls1.2")]),
        Some(1.0)
    );

    // The table of a scan with --suites: the count and the worst class per version.
    let out = run_cli(
        &[
            "scan",
            "--suites",
            "--versions",
            "tls1.2",
            &addr.to_string(),
        ],
        &[],
        None,
    )
    .await;
    let text = stdout(&out);
    let row = text
        .lines()
        .skip_while(|l| !l.contains("CONN"))
        .nth(2)
        .unwrap_or_default();
    assert!(
        row.split_whitespace().nth(1) == Some("2") && text.contains("suites per accepted version"),
        "{text}"
    );
    let out = run_cli(
        &[
            "scan",
            "--suites",
            "--wide",
            "--versions",
            "tls1.2",
            &addr.to_string(),
        ],
        &[],
        None,
    )
    .await;
    let text = stdout(&out);
    assert!(
        text.contains("2 suites") && text.contains("CONNECTIONS"),
        "{text}"
    );
    drop(after_server);
}

/// TLS 1.3 suites are enumerated with hellos without key shares (the server answers with a
/// HelloRetryRequest and computes nothing); a server that refuses such hellos still has its
/// whole list found, with key shares, as OpenSSL's own defaults say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_refuses_hellos_without_key_shares_still_gets_its_list() {
    let strict = crate::util::server(tlsmatrix::lab::Behaviour::NeedsKeyShare {
        min: Tls12,
        max: Tls13,
    })
    .await;
    // OpenSSL's default TLS 1.3 suites, as `openssl ciphers` names them.
    let defaults = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
    let mut expected: Vec<u16> = openssl_ciphers(Tls13, "DEFAULT", defaults)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 3, "{expected:?}");
    for engine in [
        tlsmatrix::report::Engine::Wire,
        tlsmatrix::report::Engine::Both,
    ] {
        let config = ScanConfig {
            suites: true,
            engine,
            versions: vec![Tls13],
            connect_timeout: Duration::from_secs(4),
            timeout: Duration::from_secs(8),
            ldap_check: false,
            ..ScanConfig::default()
        };
        let report = scan_targets(&config, &[format!("tls://{}", strict.addr())]).await;
        let e = row_at(&report, strict.addr());
        let list = &e.suites[&Tls13];
        let mut found: Vec<u16> = list.suites.iter().map(|s| s.id).collect();
        found.sort();
        assert_eq!(found, expected, "{engine:?}: {list:#?}");
        assert!(list.complete, "{engine:?}: {:?}", list.problems);
        assert!(list.disagreements.is_empty(), "{:?}", list.disagreements);
        assert!(
            list.groups.iter().any(|g| g.name == "x25519"),
            "{engine:?}: {:?}",
            list.groups
        );
    }
}
