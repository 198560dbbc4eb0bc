//! Interoperability: real servers of seven TLS implementations on loopback, each in several
//! version ranges and cipher configurations, probed with every engine, every cell held against
//! a ground truth that independent clients establish in the same test.
//!
//! The stacks: GnuTLS (`gnutls-serv` with priority strings), OpenSSL (`openssl s_server`, and
//! nginx), NSS and mbedTLS (lighttpd's `mod_nss` and `mod_mbedtls`), tlslite-ng (PyPI, in the
//! venv `scripts/test` makes; it still serves SSLv3 and is strict about RFC 8446), and xrdp for
//! RDP. The ground truth of a cell: whether `openssl s_client`, `gnutls-cli` or tlslite-ng as a
//! client, each offering only that version, completes a handshake; SSLv3, 3DES and RC4 are
//! judged by the clients that still have them. Never by tlsmatrix.
//!
//! A cell is *right* when its decided answer equals the truth, *wrong* when it contradicts it,
//! and *undecided* otherwise. Wrong cells fail the test; so does any undecided cell of the wire
//! engine or of both engines. OpenSSL alone may leave a cell undecided only as `not_testable`
//! where the server wants a suite Debian's OpenSSL 3 cannot offer (3DES, RC4), or answered
//! handshake_failure / insufficient_security to what it can offer; its SSLv3 cells are not
//! counted (it cannot offer SSLv3). The counts per stack and engine are printed (run with
//! `--nocapture`).
//!
//! Each server is started once, all of them at the same time, each on its own loopback address
//! (127.0.1.N), and the scans and the clients run concurrently. `gnutls-serv` has no option to
//! choose its address: it listens on every address, on a free port, for the few seconds the
//! test runs; all traffic stays on loopback.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use tlsmatrix::report::{Engine, Outcome, RdpStandardSecurity, Report, Status};
use tlsmatrix::report::{TlsVersion, TlsVersion::*};
use tlsmatrix::scan::ScanConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

use crate::util::{free_port_on, row_at, scan_targets, tool_output};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stack {
    GnuTls,
    OpenSsl,
    Nginx,
    Nss,
    MbedTls,
    Tlslite,
    Xrdp,
}

impl Stack {
    fn name(self) -> &'static str {
        match self {
            Stack::GnuTls => "GnuTLS (gnutls-serv)",
            Stack::OpenSsl => "OpenSSL (s_server)",
            Stack::Nginx => "OpenSSL (nginx)",
            Stack::Nss => "NSS (lighttpd)",
            Stack::MbedTls => "mbedTLS (lighttpd)",
            Stack::Tlslite => "tlslite-ng",
            Stack::Xrdp => "xrdp (RDP)",
        }
    }
}

/// One server configuration under test.
#[derive(Clone, Debug)]
struct Server {
    stack: Stack,
    /// How it is configured, for people.
    config: String,
    addr: SocketAddr,
    rdp: bool,
    /// xrdp: its log, which says which security protocol it selected for each client.
    log: Option<PathBuf>,
}

/// Files and processes that must live while the servers run.
struct Lab {
    dir: tempfile::TempDir,
    children: Vec<Child>,
    servers: Vec<Server>,
}

/// Loopback addresses 127.0.1.N, one per server, so each server is its own host for the scan's
/// per-host limit.
fn next_host() -> IpAddr {
    static N: AtomicU8 = AtomicU8::new(10);
    IpAddr::V4(Ipv4Addr::new(127, 0, 1, N.fetch_add(1, Ordering::SeqCst)))
}

/// A port free on every address (for servers that cannot be told which address to use).
fn free_port_everywhere() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until `addr` accepts TCP, or the child exits.
async fn ready(addr: SocketAddr, child: &mut Child, what: &str, log: &Path) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if TcpStream::connect(addr).await.is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}) before listening on {addr}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what} did not listen on {addr} within 15s");
}

fn spawn(cmd: &mut Command, log: &Path, what: &str) -> Child {
    let out = std::fs::File::create(log).unwrap();
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e} (scripts/test installs it)"))
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let (key, cert) = tlsmatrix::lab::identity();
        std::fs::write(
            dir.path().join("key.pem"),
            key.private_key_to_pem_pkcs8().unwrap(),
        )
        .unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert.to_pem().unwrap()).unwrap();
        let mut both = key.private_key_to_pem_pkcs8().unwrap();
        both.extend(cert.to_pem().unwrap());
        std::fs::write(dir.path().join("both.pem"), both).unwrap();
        Lab {
            dir,
            children: vec![],
            servers: vec![],
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cert(&self) -> String {
        self.path("cert.pem").to_str().unwrap().to_string()
    }

    fn key(&self) -> String {
        self.path("key.pem").to_str().unwrap().to_string()
    }

    /// `gnutls-serv` with a priority string and extra arguments.
    async fn gnutls(&mut self, config: &str, priority: &str, extra: &[&str]) {
        let host = next_host();
        let port = free_port_everywhere();
        let log = self.path(&format!("gnutls-{port}.log"));
        let mut child = spawn(
            Command::new("gnutls-serv")
                .args(["-q", "-p", &port.to_string()])
                .args(["--x509certfile", &self.cert(), "--x509keyfile", &self.key()])
                .arg("--priority")
                .arg(priority)
                .args(extra),
            &log,
            "gnutls-serv (Debian package gnutls-bin)",
        );
        let addr = SocketAddr::new(host, port);
        ready(addr, &mut child, "gnutls-serv", &log).await;
        self.children.push(child);
        self.servers.push(Server {
            stack: Stack::GnuTls,
            config: format!("{config}: --priority {priority} {}", extra.join(" ")),
            addr,
            rdp: false,
            log: None,
        });
    }

    /// `openssl s_server` with extra arguments.
    async fn s_server(&mut self, config: &str, args: &[&str]) {
        let host = next_host();
        let port = free_port_on(host);
        let addr = SocketAddr::new(host, port);
        let log = self.path(&format!("s_server-{port}.log"));
        let mut child = spawn(
            Command::new("openssl")
                .args(["s_server", "-accept", &addr.to_string(), "-www", "-quiet"])
                .args(["-cert", &self.cert(), "-key", &self.key()])
                .args(args),
            &log,
            "openssl s_server (Debian package openssl)",
        );
        ready(addr, &mut child, "openssl s_server", &log).await;
        self.children.push(child);
        self.servers.push(Server {
            stack: Stack::OpenSsl,
            config: format!("{config}: {}", args.join(" ")),
            addr,
            rdp: false,
            log: None,
        });
    }

    /// One nginx with one server block per configuration: (name, directives).
    async fn nginx(&mut self, blocks: &[(&str, &str)]) {
        let dir = self.path("nginx");
        std::fs::create_dir_all(&dir).unwrap();
        let mut servers = String::new();
        let mut addrs = vec![];
        for (name, directives) in blocks {
            let host = next_host();
            let addr = SocketAddr::new(host, free_port_on(host));
            servers.push_str(&format!(
                "server {{ listen {addr} ssl; ssl_certificate {}; ssl_certificate_key {}; \
                 {directives} location / {{ return 200 \"{name}\\n\"; }} }}\n",
                self.cert(),
                self.key()
            ));
            addrs.push((name.to_string(), directives.to_string(), addr));
        }
        let d = dir.display();
        let conf = format!(
            "daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid;\n\
             error_log {d}/error.log;\nevents {{ worker_connections 512; }}\n\
             http {{ access_log off; client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
             {servers} }}\n"
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let log = dir.join("stderr.log");
        let mut child = spawn(
            Command::new("nginx")
                .arg("-p")
                .arg(&dir)
                .arg("-e")
                .arg(dir.join("error.log"))
                .arg("-c")
                .arg(dir.join("nginx.conf")),
            &log,
            "nginx (Debian package nginx-light)",
        );
        for (_, _, addr) in &addrs {
            ready(*addr, &mut child, "nginx", &dir.join("error.log")).await;
        }
        self.children.push(child);
        for (name, directives, addr) in addrs {
            self.servers.push(Server {
                stack: Stack::Nginx,
                config: format!("{name}: {directives}"),
                addr,
                rdp: false,
                log: None,
            });
        }
    }

    /// One lighttpd with a TLS module (`mod_nss`, `mod_mbedtls`) and one socket per
    /// configuration: (name, ssl-conf-cmd pairs).
    async fn lighttpd(&mut self, module: &str, stack: Stack, blocks: &[(&str, &str)]) {
        let dir = self.path(module);
        std::fs::create_dir_all(&dir).unwrap();
        let both = self.path("both.pem");
        let mut conf = format!(
            "server.document-root = \"{d}\"\nserver.errorlog = \"{d}/error.log\"\n\
             server.pid-file = \"{d}/pid\"\nserver.modules += ( \"{module}\" )\n",
            d = dir.display()
        );
        let mut addrs = vec![];
        for (i, (name, cmds)) in blocks.iter().enumerate() {
            let host = next_host();
            let addr = SocketAddr::new(host, free_port_on(host));
            let ssl = format!(
                "ssl.engine = \"enable\"\nssl.pemfile = \"{}\"\nssl.openssl.ssl-conf-cmd = ({cmds})\n",
                both.display()
            );
            if i == 0 {
                conf.push_str(&format!(
                    "server.bind = \"{host}\"\nserver.port = {}\n{ssl}",
                    addr.port()
                ));
            } else {
                conf.push_str(&format!("$SERVER[\"socket\"] == \"{addr}\" {{\n{ssl}}}\n"));
            }
            addrs.push((name.to_string(), cmds.to_string(), addr));
        }
        let path = dir.join("lighttpd.conf");
        std::fs::write(&path, conf).unwrap();
        let log = dir.join("error.log");
        let mut child = spawn(
            Command::new("lighttpd").arg("-D").arg("-f").arg(&path),
            &dir.join("stderr.log"),
            "lighttpd (Debian packages lighttpd, lighttpd-mod-nss, lighttpd-mod-mbedtls)",
        );
        for (_, _, addr) in &addrs {
            ready(*addr, &mut child, module, &log).await;
        }
        self.children.push(child);
        for (name, cmds, addr) in addrs {
            self.servers.push(Server {
                stack,
                config: format!("{name}: {cmds}"),
                addr,
                rdp: false,
                log: None,
            });
        }
    }

    /// One tlslite-ng process with a listener per configuration: (name, min, max, ciphers,
    /// request a client certificate).
    async fn tlslite(&mut self, specs: &[(&str, &str, &str, &[&str], bool)]) {
        let mut json = vec![];
        let mut hosts = BTreeMap::new();
        for (name, min, max, ciphers, reqcert) in specs {
            let host = next_host();
            hosts.insert(name.to_string(), host);
            let mut spec = serde_json::json!({
                "name": name, "host": host.to_string(), "cert": self.cert(), "key": self.key(),
                "min": min, "max": max, "reqcert": reqcert,
            });
            if !ciphers.is_empty() {
                spec["ciphers"] = serde_json::json!(ciphers);
            }
            json.push(spec);
        }
        let mut child = Command::new(tlslite_python())
            .arg(peer_script())
            .arg("serve")
            .arg(serde_json::to_string(&json).unwrap())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("tlslite-ng venv (scripts/test makes it)");
        let mut out = child.stdout.take().unwrap();
        let mut line = vec![];
        let mut b = [0u8; 1];
        while out.read(&mut b).await.unwrap() == 1 && b[0] != b'\n' {
            line.push(b[0]);
        }
        let ports: BTreeMap<String, u16> = serde_json::from_slice(&line)
            .unwrap_or_else(|e| panic!("tlslite peer: {e}: {}", String::from_utf8_lossy(&line)));
        for (name, min, max, ciphers, reqcert) in specs {
            let cipher_text = if ciphers.is_empty() {
                "every cipher".to_string()
            } else {
                ciphers.join(",")
            };
            self.servers.push(Server {
                stack: Stack::Tlslite,
                config: format!(
                    "{name}: {min}..{max}, {cipher_text}{}",
                    if *reqcert {
                        ", client certificate requested"
                    } else {
                        ""
                    }
                ),
                addr: SocketAddr::new(hosts[*name], ports[*name]),
                rdp: false,
                log: None,
            });
        }
        self.children.push(child);
    }

    /// xrdp with a security layer and TLS versions, in the foreground, without a display (the
    /// negotiation and the TLS handshake happen before any session).
    async fn xrdp(&mut self, config: &str, security_layer: &str, protocols: &str) {
        let host = next_host();
        let port = free_port_on(host);
        let addr = SocketAddr::new(host, port);
        let log = self.path(&format!("xrdp-{port}.log"));
        let ini = self.path(&format!("xrdp-{port}.ini"));
        std::fs::write(
            &ini,
            format!(
                "[Globals]\nini_version=1\nfork=false\nport=tcp://{addr}\n\
                 security_layer={security_layer}\ncrypt_level=high\ncertificate={}\nkey_file={}\n\
                 ssl_protocols={protocols}\ntls_ciphers=DEFAULT:@SECLEVEL=0\n\
                 [Logging]\nLogFile={}\nLogLevel=INFO\nEnableSyslog=false\n",
                self.cert(),
                self.key(),
                log.display()
            ),
        )
        .unwrap();
        let mut child = spawn(
            Command::new("xrdp")
                .arg("--nodaemon")
                .arg("--config")
                .arg(&ini),
            &self.path(&format!("xrdp-{port}.out")),
            "xrdp (Debian package xrdp)",
        );
        ready(addr, &mut child, "xrdp", &log).await;
        self.children.push(child);
        self.servers.push(Server {
            stack: Stack::Xrdp,
            config: format!("{config}: security_layer={security_layer}, ssl_protocols={protocols}"),
            addr,
            rdp: true,
            log: Some(log),
        });
    }
}

/// The venv python with tlslite-ng: `TLSMATRIX_TLSLITE_PYTHON`, else the one `scripts/test`
/// makes under target/.
fn tlslite_python() -> PathBuf {
    if let Some(p) = std::env::var_os("TLSMATRIX_TLSLITE_PYTHON") {
        return p.into();
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tlslite-venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/test, which makes the tlslite-ng venv",
        p.display()
    );
    p
}

fn peer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/tlslite_peer.py")
}

/// Every server of the suite.
async fn start_all(lab: &mut Lab) {
    let normal = "NORMAL:-VERS-ALL";
    lab.gnutls(
        "TLS 1.0-1.3, a server name it does not know (warns unrecognized_name)",
        &format!("{normal}:+VERS-TLS1.0:+VERS-TLS1.1:+VERS-TLS1.2:+VERS-TLS1.3"),
        &["--sni-hostname", "other.invalid"],
    )
    .await;
    lab.gnutls("TLS 1.2", &format!("{normal}:+VERS-TLS1.2"), &["-a"])
        .await;
    lab.gnutls("TLS 1.3", &format!("{normal}:+VERS-TLS1.3"), &["-a"])
        .await;
    lab.gnutls(
        "TLS 1.0-1.1",
        &format!("{normal}:+VERS-TLS1.0:+VERS-TLS1.1"),
        &["-a"],
    )
    .await;
    let only = |cipher: &str| {
        format!(
            "NONE:+VERS-TLS1.0:+VERS-TLS1.1:+VERS-TLS1.2:+{cipher}:+RSA:+ECDHE-RSA:+SHA1:\
             +COMP-NULL:+SIGN-ALL:+CURVE-ALL"
        )
    };
    lab.gnutls("3DES only, TLS 1.0-1.2", &only("3DES-CBC"), &["-a"])
        .await;
    lab.gnutls("RC4 only, TLS 1.0-1.2", &only("ARCFOUR-128"), &["-a"])
        .await;
    lab.gnutls(
        "TLS 1.0-1.3, client certificate required",
        &format!("{normal}:+VERS-TLS1.0:+VERS-TLS1.1:+VERS-TLS1.2:+VERS-TLS1.3"),
        &["-r"],
    )
    .await;

    let weak = ["-cipher", "DEFAULT:@SECLEVEL=0"];
    lab.s_server("TLS 1.0", &[&["-tls1"][..], &weak].concat())
        .await;
    lab.s_server(
        "TLS 1.0-1.2",
        &[
            &["-min_protocol", "TLSv1", "-max_protocol", "TLSv1.2"][..],
            &weak,
        ]
        .concat(),
    )
    .await;
    lab.s_server(
        "TLS 1.3, P-384 only (HelloRetryRequest)",
        &["-tls1_3", "-groups", "P-384"],
    )
    .await;
    lab.s_server(
        "TLS 1.0-1.3, client certificate required",
        &[&["-min_protocol", "TLSv1", "-Verify", "1"][..], &weak].concat(),
    )
    .await;

    lab.nginx(&[
        (
            "TLS 1.0-1.3",
            "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; ssl_ciphers DEFAULT:@SECLEVEL=0;",
        ),
        (
            "TLS 1.2-1.3, ECDHE-AESGCM only",
            "ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers ECDHE+AESGCM;",
        ),
        (
            "TLS 1.1, RSA key exchange only",
            "ssl_protocols TLSv1.1; ssl_ciphers kRSA:@SECLEVEL=0;",
        ),
        (
            "TLS 1.2, client certificate requested",
            "ssl_protocols TLSv1.2; ssl_verify_client optional_no_ca;",
        ),
    ])
    .await;

    let tls10_13 =
        r#""MinProtocol" => "TLSv1.0", "MaxProtocol" => "TLSv1.3", "CipherString" => "HIGH""#;
    let tls12 = r#""MinProtocol" => "TLSv1.2", "MaxProtocol" => "TLSv1.2""#;
    let des3 =
        r#""MinProtocol" => "TLSv1.0", "MaxProtocol" => "TLSv1.2", "CipherString" => "3DES""#;
    lab.lighttpd(
        "mod_nss",
        Stack::Nss,
        &[
            ("TLS 1.0-1.3", tls10_13),
            ("TLS 1.2", tls12),
            ("TLS 1.3", r#""MinProtocol" => "TLSv1.3", "MaxProtocol" => "TLSv1.3""#),
            ("3DES only, TLS 1.0-1.2", des3),
            (
                "RC4 only, TLS 1.0-1.2",
                r#""MinProtocol" => "TLSv1.0", "MaxProtocol" => "TLSv1.2", "CipherString" => "RC4""#,
            ),
        ],
    )
    .await;
    lab.lighttpd(
        "mod_mbedtls",
        Stack::MbedTls,
        &[
            ("TLS 1.0-1.2 (mbedTLS 2.28 has no TLS 1.3)", tls10_13),
            ("TLS 1.2", tls12),
            ("3DES only, TLS 1.0-1.2", des3),
            (
                "TLS 1.1",
                r#""MinProtocol" => "TLSv1.1", "MaxProtocol" => "TLSv1.1", "CipherString" => "HIGH""#,
            ),
        ],
    )
    .await;

    let every: &[&str] = &[];
    lab.tlslite(&[
        ("SSLv3-TLS 1.3", "ssl3", "tls1.3", every, false),
        ("TLS 1.3 only", "tls1.3", "tls1.3", every, false),
        ("SSLv3 only, RC4 only", "ssl3", "ssl3", &["rc4"], false),
        (
            "3DES only, TLS 1.0-1.2",
            "tls1.0",
            "tls1.2",
            &["3des"],
            false,
        ),
        (
            "TLS 1.2-1.3, AES-GCM only",
            "tls1.2",
            "tls1.3",
            &["aes128gcm", "aes256gcm"],
            false,
        ),
        (
            "TLS 1.2-1.3, client certificate requested",
            "tls1.2",
            "tls1.3",
            every,
            true,
        ),
    ])
    .await;

    lab.xrdp(
        "negotiate (Standard RDP Security allowed), TLS 1.0-1.2",
        "negotiate",
        "TLSv1, TLSv1.1, TLSv1.2",
    )
    .await;
    lab.xrdp("TLS required, TLS 1.2-1.3", "tls", "TLSv1.2, TLSv1.3")
        .await;
}

// --- The ground truth: independent clients ------------------------------------------------

/// Which independent client completed a handshake with only this version, if any.
type Truth = Option<&'static str>;

const TLS13_SUITES: &str = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:\
TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256";

/// `openssl s_client` offering only `v` (every suite it has, security level 0), with a client
/// certificate for servers that ask.
async fn s_client(addr: SocketAddr, v: TlsVersion, lab: &LabFiles) -> bool {
    let flag = match v {
        Tls10 => "-tls1",
        Tls11 => "-tls1_1",
        Tls12 => "-tls1_2",
        Tls13 => "-tls1_3",
        Ssl3 => return false,
    };
    let (ok, out) = tool_output(
        Command::new("openssl")
            .args(["s_client", "-connect", &addr.to_string(), flag])
            .args(["-servername", "localhost", "-no_ticket"])
            .args(["-cipher", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"])
            .args(["-ciphersuites", TLS13_SUITES])
            .args(["-cert", &lab.cert, "-key", &lab.key]),
    )
    .await;
    ok && out.contains(", Cipher is ") && !out.contains("Cipher is (NONE)")
}

/// `gnutls-cli` offering only `v`, 3DES and RC4 included.
async fn gnutls_cli(addr: SocketAddr, v: TlsVersion, lab: &LabFiles) -> bool {
    let name = match v {
        Tls10 => "TLS1.0",
        Tls11 => "TLS1.1",
        Tls12 => "TLS1.2",
        Tls13 => "TLS1.3",
        Ssl3 => return false,
    };
    let (ok, out) = tool_output(
        Command::new("gnutls-cli")
            .args(["--insecure", "-p", &addr.port().to_string()])
            .arg(format!(
                "--priority=NORMAL:+ARCFOUR-128:+3DES-CBC:+RSA:+SHA1:-VERS-ALL:+VERS-{name}"
            ))
            .args(["--x509certfile", &lab.cert, "--x509keyfile", &lab.key])
            .arg(addr.ip().to_string()),
    )
    .await;
    ok && out.contains("Handshake was completed") && out.contains(&format!("({name}"))
}

/// tlslite-ng as a client, one handshake per (address, version), SSLv3 included.
async fn tlslite_clients(jobs: &[(SocketAddr, TlsVersion)], lab: &LabFiles) -> Vec<bool> {
    if jobs.is_empty() {
        return vec![];
    }
    let json: Vec<serde_json::Value> = jobs
        .iter()
        .map(|(a, v)| {
            serde_json::json!({"host": a.ip().to_string(), "port": a.port(), "version": v.key(),
                "cert": lab.cert, "key": lab.key})
        })
        .collect();
    let (ok, out) = tool_output(
        Command::new(tlslite_python())
            .arg(peer_script())
            .arg("probe")
            .arg(serde_json::to_string(&json).unwrap()),
    )
    .await;
    assert!(ok, "tlslite client: {out}");
    let line = out.lines().next().unwrap_or_default();
    let results: Vec<serde_json::Value> = serde_json::from_str(line).unwrap();
    results.iter().map(|r| r["ok"] == true).collect()
}

#[derive(Clone)]
struct LabFiles {
    cert: String,
    key: String,
}

/// A relay on 127.0.0.1 to an RDP server: it says the X.224 connection request (asking for
/// TLS) itself, checks that TLS was selected, then passes bytes both ways, so TLS clients that
/// know nothing of RDP can handshake with it.
async fn rdp_relay(upstream: SocketAddr) -> SocketAddr {
    const REQUEST: [u8; 19] = [3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0, 1, 0, 8, 0, 1, 0, 0, 0];
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let mut confirm = [0u8; 19];
                if server.write_all(&REQUEST).await.is_err()
                    || server.read_exact(&mut confirm).await.is_err()
                    || confirm[11] != 2
                    || confirm[15] & 1 == 0
                {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    addr
}

/// The truth for every (server, version): s_client first, gnutls-cli where it failed, then
/// tlslite-ng (which alone still speaks SSLv3) where both failed.
async fn ground_truth(servers: &[Server], lab: &LabFiles) -> BTreeMap<(usize, TlsVersion), Truth> {
    let mut targets = vec![];
    for s in servers {
        targets.push(if s.rdp {
            rdp_relay(s.addr).await
        } else {
            s.addr
        });
    }
    let limit = Arc::new(Semaphore::new(6));
    let mut truth: BTreeMap<(usize, TlsVersion), Truth> = BTreeMap::new();
    for (name, client) in [("openssl s_client", 0), ("gnutls-cli", 1)] {
        let mut set = tokio::task::JoinSet::new();
        for (i, addr) in targets.iter().enumerate() {
            for v in [Tls10, Tls11, Tls12, Tls13] {
                if truth.get(&(i, v)).copied().flatten().is_some() {
                    continue;
                }
                let (addr, lab, limit) = (*addr, lab.clone(), limit.clone());
                set.spawn(async move {
                    let _p = limit.acquire().await;
                    let ok = if client == 0 {
                        s_client(addr, v, &lab).await
                    } else {
                        gnutls_cli(addr, v, &lab).await
                    };
                    (i, v, ok)
                });
            }
        }
        while let Some(r) = set.join_next().await {
            let (i, v, ok) = r.unwrap();
            truth.insert((i, v), ok.then_some(name));
        }
    }
    let mut jobs = vec![];
    let mut keys = vec![];
    for (i, addr) in targets.iter().enumerate() {
        for v in TlsVersion::ALL {
            if truth.get(&(i, v)).copied().flatten().is_none() {
                jobs.push((*addr, v));
                keys.push((i, v));
            }
        }
    }
    for (key, ok) in keys.into_iter().zip(tlslite_clients(&jobs, lab).await) {
        truth.insert(key, ok.then_some("tlslite-ng"));
    }
    truth
}

// --- Scans and the tally --------------------------------------------------------------------

async fn scan_all(servers: &[Server], engine: Engine) -> Report {
    let config = ScanConfig {
        engine,
        per_host: 5,
        concurrency: 48,
        connect_timeout: Duration::from_secs(4),
        timeout: Duration::from_secs(8),
        sni: Some("localhost".into()),
        ldap_check: false,
        ..ScanConfig::default()
    };
    let targets: Vec<String> = servers
        .iter()
        .map(|s| {
            let scheme = if s.rdp { "rdp" } else { "tls" };
            format!("{scheme}://{}", s.addr)
        })
        .collect();
    scan_targets(&config, &targets).await
}

#[derive(Default)]
struct Tally {
    right: usize,
    /// Undecided cells the rules allow (OpenSSL alone, not_testable for what it cannot offer).
    undecided: Vec<String>,
    wrong: Vec<String>,
}

/// How an engine's cell compares with the truth.
enum Judged {
    Right,
    Undecided(String),
    Wrong(String),
    /// Not counted: OpenSSL cannot offer the version at all.
    Skipped,
}

fn judge(engine: Engine, v: TlsVersion, cell: &Outcome, truth: Truth) -> Judged {
    let status = cell.status();
    let accepted = truth.is_some();
    let wrong = || {
        Judged::Wrong(format!(
            "{v}: {} ({}) but {}",
            status.key(),
            cell.detail(),
            match truth {
                Some(by) => format!("{by} completed a {v} handshake"),
                None => format!("no independent client completed a {v} handshake"),
            }
        ))
    };
    match (status, accepted) {
        (Status::Accepted, true) | (Status::Refused, false) => Judged::Right,
        (Status::Accepted, false) | (Status::Refused, true) => wrong(),
        (Status::NotTestable, _) if engine == Engine::Openssl && v == Ssl3 => Judged::Skipped,
        // OpenSSL alone: a suite it cannot offer (only gnutls-cli or tlslite-ng got through),
        // or a handshake_failure that may mean just that.
        (Status::NotTestable, true)
            if engine == Engine::Openssl && truth != Some("openssl s_client") =>
        {
            Judged::Undecided(format!(
                "{v}: not_testable, and only {} got through",
                truth.unwrap_or_default()
            ))
        }
        (Status::NotTestable, false)
            if engine == Engine::Openssl
                && (cell.detail().contains("(40)") || cell.detail().contains("(71)")) =>
        {
            Judged::Undecided(format!(
                "{v}: not_testable after {}",
                alert_in(&cell.detail())
            ))
        }
        _ => wrong(),
    }
}

fn alert_in(detail: &str) -> &'static str {
    if detail.contains("(71)") {
        "insufficient_security(71)"
    } else {
        "handshake_failure(40)"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cell_right_on_every_stack() {
    let start = Instant::now();
    let mut lab = Lab::new();
    start_all(&mut lab).await;
    let started = start.elapsed();
    let files = LabFiles {
        cert: lab.cert(),
        key: lab.key(),
    };
    let servers = lab.servers.clone();
    let (truth, wire, openssl, both) = tokio::join!(
        ground_truth(&servers, &files),
        scan_all(&servers, Engine::Wire),
        scan_all(&servers, Engine::Openssl),
        scan_all(&servers, Engine::Both),
    );

    let mut tally: BTreeMap<(Stack, &str), Tally> = BTreeMap::new();
    let mut lines = vec![];
    for (i, s) in servers.iter().enumerate() {
        let mut shown = format!("{:<22} {:<75}", s.stack.name(), s.config);
        for v in TlsVersion::ALL {
            shown.push_str(match truth[&(i, v)] {
                Some(_) => " yes",
                None => "  no",
            });
        }
        lines.push(shown);
        for (engine, report) in [
            (Engine::Wire, &wire),
            (Engine::Openssl, &openssl),
            (Engine::Both, &both),
        ] {
            let e = row_at(report, s.addr);
            let t = tally.entry((s.stack, engine.key())).or_default();
            for v in TlsVersion::ALL {
                match judge(engine, v, &e.versions[&v].outcome, truth[&(i, v)]) {
                    Judged::Right => t.right += 1,
                    Judged::Undecided(why) => t.undecided.push(format!("[{}] {why}", s.config)),
                    Judged::Skipped => {}
                    Judged::Wrong(why) => t.wrong.push(format!(
                        "{} {} [{}] --engine {}: {why}",
                        s.stack.name(),
                        s.addr,
                        s.config,
                        engine.key()
                    )),
                }
            }
        }
    }

    eprintln!("ground truth (SSLv3, TLS 1.0, 1.1, 1.2, 1.3) by independent clients:");
    for l in &lines {
        eprintln!("  {l}");
    }
    eprintln!(
        "cells right per stack and engine (right / counted; undecided = not_testable by \
         OpenSSL alone):"
    );
    let mut totals: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for ((stack, engine), t) in &tally {
        let counted = t.right + t.undecided.len() + t.wrong.len();
        eprintln!(
            "  {:<22} {:<8} {:>3} / {:<3} right, {} undecided, {} wrong",
            stack.name(),
            engine,
            t.right,
            counted,
            t.undecided.len(),
            t.wrong.len()
        );
        for u in &t.undecided {
            eprintln!("      undecided: {u}");
        }
        let e = totals.entry(engine).or_default();
        e.0 += t.right;
        e.1 += counted;
        e.2 += t.undecided.len();
    }
    for (engine, (right, counted, undecided)) in &totals {
        eprintln!(
            "  all stacks             {engine:<8} {right:>3} / {counted:<3} right, {undecided} undecided"
        );
    }
    eprintln!(
        "{} servers, {} endpoints x 5 versions x 3 engines; servers up in {:.1}s, all done in {:.1}s",
        servers.len(),
        servers.len(),
        started.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );

    let wrong: Vec<&String> = tally.values().flat_map(|t| &t.wrong).collect();
    assert!(
        wrong.is_empty(),
        "wrong cells:\n{}",
        wrong
            .iter()
            .map(|w| w.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    for ((stack, engine), t) in &tally {
        if *engine != "openssl" {
            assert!(
                t.undecided.is_empty(),
                "{} {engine}: {:?}",
                stack.name(),
                t.undecided
            );
        }
    }

    // The causes, on the real stacks that showed them.
    let gnutls_sni = servers
        .iter()
        .find(|s| s.stack == Stack::GnuTls && s.config.contains("unrecognized_name"))
        .unwrap();
    let d = row_at(&wire, gnutls_sni.addr).versions[&Tls12]
        .outcome
        .detail();
    assert!(d.contains("warning alert unrecognized_name(112)"), "{d}");
    let strict13 = servers
        .iter()
        .find(|s| s.stack == Stack::Tlslite && s.config.starts_with("TLS 1.3 only"))
        .unwrap();
    assert_eq!(
        row_at(&wire, strict13.addr).versions[&Tls13].status(),
        Status::Accepted,
        "tlslite-ng takes the wire engine's TLS 1.3 hello"
    );
    for s in servers
        .iter()
        .filter(|s| s.config.contains("client certificate"))
    {
        let e = row_at(&openssl, s.addr);
        let asked = e
            .versions
            .values()
            .filter(|c| {
                c.outcome
                    .detail()
                    .contains("asked for a client certificate")
            })
            .count();
        assert!(
            asked >= 1,
            "{}: the request is noted: {:?}",
            s.config,
            e.versions
        );
    }
    // RDP: Standard RDP Security, against what xrdp's own log says it selected.
    for s in servers.iter().filter(|s| s.rdp) {
        let log = std::fs::read_to_string(s.log.as_ref().unwrap()).unwrap_or_default();
        let selected_rdp = log
            .lines()
            .any(|l| l.contains("requested [RDP]") && l.contains("selected [RDP]"));
        let expected = if selected_rdp {
            RdpStandardSecurity::Allowed
        } else {
            RdpStandardSecurity::Refused
        };
        assert_eq!(
            s.config.contains("negotiate"),
            selected_rdp,
            "{}: xrdp's log: {log}",
            s.config
        );
        for report in [&wire, &openssl, &both] {
            assert_eq!(
                row_at(report, s.addr).rdp_standard_security,
                Some(expected),
                "{}",
                s.config
            );
        }
    }
    drop(lab);
}

/// A server that requires a client certificate chose the version before it asked: the cell
/// stays accepted (and says that a certificate was asked for), with OpenSSL alone and with both
/// engines, on GnuTLS and OpenSSL servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_required_keeps_accepted_versions_accepted() {
    let mut lab = Lab::new();
    lab.gnutls(
        "client certificate required",
        "NORMAL:-VERS-ALL:+VERS-TLS1.0:+VERS-TLS1.1:+VERS-TLS1.2:+VERS-TLS1.3",
        &["-r"],
    )
    .await;
    lab.s_server(
        "client certificate required",
        &[
            "-min_protocol",
            "TLSv1",
            "-Verify",
            "1",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
        ],
    )
    .await;
    let files = LabFiles {
        cert: lab.cert(),
        key: lab.key(),
    };
    for engine in [Engine::Openssl, Engine::Both] {
        let report = scan_all(&lab.servers, engine).await;
        for s in &lab.servers {
            let e = row_at(&report, s.addr);
            for v in [Tls10, Tls11, Tls12, Tls13] {
                // The truth: s_client with a certificate gets through.
                assert!(s_client(s.addr, v, &files).await, "{} {v}", s.config);
                let c = &e.versions[&v];
                assert_eq!(
                    c.status(),
                    Status::Accepted,
                    "{engine:?} {:?} {v}: {:?}",
                    s.stack,
                    c.outcome
                );
                if engine == Engine::Openssl {
                    assert!(
                        c.outcome
                            .detail()
                            .contains("asked for a client certificate"),
                        "{}",
                        c.outcome.detail()
                    );
                }
            }
        }
    }
}
