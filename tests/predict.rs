//! `predict` against reality. Real clients (Python's ssl with TLS 1.0/1.1 ceilings, restricted
//! suites or groups; openssl s_client; gnutls-cli; ldapsearch over StartTLS and LDAPS) talk to
//! "before" servers (openssl s_server and slapd accepting TLS 1.0-1.3) while tcpdump captures;
//! tlsmatrix predicts from that capture what happens on "after" servers (TLS 1.2 and newer only,
//! a few ECDHE-RSA AES-GCM suites, X25519 and P-256); then every client runs against the after
//! servers for real, and the prediction must equal what each client experienced.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tlsmatrix::capture::ClientsReport;
use tlsmatrix::predict::{Origin, PredictReport, Prediction, Reason};
use tlsmatrix::tls::clienthello::{ClientHello, from_hex};

use crate::s_server::s_server;
use crate::slapd::{Slapd, slapd_available};
use crate::util::*;

const TCPDUMP: &str = "/usr/bin/tcpdump";

/// The after servers' restrictions: OpenSSL's and GnuTLS's spelling.
const AFTER_CIPHERS: &str = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384";
const AFTER_SUITES_13: &str = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";
const AFTER_GROUPS: &str = "X25519:P-256";
const AFTER_GNUTLS: &str = "NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:\
+AES-256-GCM:-KX-ALL:+ECDHE-RSA:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1";
const BEFORE_GNUTLS: &str = "NORMAL:-VERS-ALL:+VERS-TLS1.0:+VERS-TLS1.1:+VERS-TLS1.2:+VERS-TLS1.3";

fn tools_available() -> bool {
    let tools = [
        TCPDUMP,
        "/usr/bin/tshark",
        "/usr/bin/gnutls-cli",
        "/usr/bin/ldapsearch",
        "/usr/bin/python3",
    ];
    let have = tools.iter().all(|t| Path::new(t).exists()) && slapd_available();
    if !have {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("tcpdump, tshark, gnutls-cli, ldapsearch, python3 and slapd are needed in CI");
        }
        eprintln!("\n*** SKIPPED: a tool of the predict tests is missing; run scripts/test. ***\n");
    }
    have
}

/// tcpdump writing the TCP packets of some ports on every interface to a file.
struct Capture {
    child: std::process::Child,
    path: PathBuf,
}

impl Capture {
    async fn start(dir: &Path, ports: &[u16]) -> Capture {
        let path = dir.join("clients.pcap");
        let filter = ports
            .iter()
            .map(|p| format!("tcp port {p}"))
            .collect::<Vec<_>>()
            .join(" or ");
        let mut child = std::process::Command::new(TCPDUMP)
            .args(["-i", "any", "-U", "-w"])
            .arg(&path)
            .arg(&filter)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("tcpdump");
        // tcpdump says it listens before it captures: knock until a packet shows in the file.
        for _ in 0..200 {
            let _ = tokio::net::TcpStream::connect(("127.0.0.1", ports[0])).await;
            tokio::time::sleep(Duration::from_millis(25)).await;
            if std::fs::metadata(&path)
                .map(|m| m.len() > 24)
                .unwrap_or(false)
            {
                return Capture { child, path };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("tcpdump captured nothing");
    }

    async fn stop(mut self) -> PathBuf {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        self.path
    }
}

/// How a client reaches a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Via {
    /// TLS from the first byte on the s_server port.
    Tls,
    /// LDAP StartTLS on slapd's ldap port.
    StartTls,
    /// LDAPS on slapd's ldaps port.
    Ldaps,
}

/// The servers of one state (before or after).
struct Estate {
    tls: SocketAddr,
    slapd: Slapd,
    _s_server: crate::s_server::SServer,
}

impl Estate {
    fn addr(&self, via: Via) -> SocketAddr {
        match via {
            Via::Tls => self.tls,
            Via::StartTls => self.slapd.ldap,
            Via::Ldaps => self.slapd.ldaps,
        }
    }

    fn target(&self, via: Via) -> String {
        match via {
            Via::Tls => format!("tls://{}", self.tls),
            Via::StartTls => format!("ldap://{}", self.slapd.ldap),
            Via::Ldaps => format!("ldaps://{}", self.slapd.ldaps),
        }
    }
}

/// What a client experienced.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Reality {
    /// The handshake completed: the version and IANA suite, where the client says them.
    Works {
        version: Option<String>,
        suite: Option<String>,
    },
    Fails(String),
}

/// A real client.
#[derive(Clone, Copy, Debug)]
enum Tool {
    /// Python's ssl with a mode of `PY_CLIENT`.
    Python(&'static str),
    /// openssl s_client with these arguments.
    SClient(&'static [&'static str]),
    /// gnutls-cli with this priority string (None: the default).
    Gnutls(Option<&'static str>),
    /// ldapsearch with this GnuTLS priority string in LDAPTLS_CIPHER_SUITE.
    Ldapsearch(Option<&'static str>),
}

struct RealClient {
    name: &'static str,
    tool: Tool,
    /// The server name it sends (how its hello is found in the capture).
    sni: &'static str,
    /// How it reaches the servers.
    via: &'static [Via],
    /// What the prediction must say, besides agreeing with reality: None for works, or the
    /// reasons it breaks.
    expect: Option<&'static [Reason]>,
}

const PY_CLIENT: &str = r#"
import json, socket, ssl, sys, warnings
warnings.simplefilter("ignore")
port, mode, sni = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode in ("tls10", "tls11"):
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1 if mode == "tls10" else ssl.TLSVersion.TLSv1_1
elif mode == "cbc":
    ctx.set_ciphers("AES128-SHA:AES256-SHA")
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
elif mode == "p521":
    ctx.set_ecdh_curve("secp521r1")
elif mode == "tls12":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
try:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname=sni) as t:
            name = t.cipher()[0]
            ids = {c["name"]: c["id"] & 0xffff for c in ctx.get_ciphers()}
            print(json.dumps({"ok": True, "version": t.version(), "id": ids.get(name)}))
except Exception as e:
    print(json.dumps({"ok": False, "error": str(e)}))
"#;

fn clients() -> Vec<RealClient> {
    use Reason::*;
    use Via::*;
    vec![
        RealClient {
            name: "python, TLS 1.0 ceiling",
            tool: Tool::Python("tls10"),
            sni: "py-tls10.test",
            via: &[Tls, Ldaps],
            expect: Some(&[NoTls12]),
        },
        RealClient {
            name: "python, TLS 1.1 ceiling",
            tool: Tool::Python("tls11"),
            sni: "py-tls11.test",
            via: &[Tls, Ldaps],
            expect: Some(&[NoTls12]),
        },
        RealClient {
            name: "python, TLS 1.2, RSA-CBC suites only",
            tool: Tool::Python("cbc"),
            sni: "py-cbc.test",
            via: &[Tls, Ldaps],
            expect: Some(&[NoSharedSuite]),
        },
        RealClient {
            name: "python, P-521 only",
            tool: Tool::Python("p521"),
            sni: "py-p521.test",
            via: &[Tls],
            expect: Some(&[NoSharedGroup]),
        },
        RealClient {
            name: "python, TLS 1.2 ceiling",
            tool: Tool::Python("tls12"),
            sni: "py-tls12.test",
            via: &[Tls, Ldaps],
            expect: None,
        },
        RealClient {
            name: "python, defaults",
            tool: Tool::Python("default"),
            sni: "py-default.test",
            via: &[Tls, Ldaps],
            expect: None,
        },
        RealClient {
            name: "s_client, defaults",
            tool: Tool::SClient(&[]),
            sni: "s-client.test",
            via: &[Tls, StartTls, Ldaps],
            expect: None,
        },
        RealClient {
            name: "s_client -tls1",
            tool: Tool::SClient(&["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]),
            sni: "s-client-tls1.test",
            via: &[Tls, StartTls, Ldaps],
            expect: Some(&[NoTls12]),
        },
        RealClient {
            name: "s_client -tls1_3, ECDSA signatures only",
            tool: Tool::SClient(&["-tls1_3", "-sigalgs", "ECDSA+SHA256:ECDSA+SHA384"]),
            sni: "s-client-ecdsa13.test",
            via: &[Tls],
            expect: Some(&[NoSharedSignatureAlgorithm]),
        },
        RealClient {
            // OpenSSL leaves out the suites its signature algorithms cannot verify: no RSA
            // suite either.
            name: "s_client -tls1_2, ECDSA signatures only",
            tool: Tool::SClient(&["-tls1_2", "-sigalgs", "ECDSA+SHA256:ECDSA+SHA384"]),
            sni: "s-client-ecdsa12.test",
            via: &[Tls],
            expect: Some(&[NoSharedSuite, NoSharedSignatureAlgorithm]),
        },
        RealClient {
            name: "gnutls-cli, defaults",
            tool: Tool::Gnutls(None),
            sni: "gnutls.test",
            via: &[Tls, StartTls, Ldaps],
            expect: None,
        },
        RealClient {
            name: "gnutls-cli, TLS 1.1 only",
            tool: Tool::Gnutls(Some("NORMAL:-VERS-ALL:+VERS-TLS1.1")),
            sni: "gnutls-tls11.test",
            via: &[Tls, StartTls, Ldaps],
            expect: Some(&[NoTls12]),
        },
        RealClient {
            name: "ldapsearch, defaults",
            tool: Tool::Ldapsearch(None),
            sni: "localhost",
            via: &[StartTls, Ldaps],
            expect: None,
        },
        RealClient {
            name: "ldapsearch, TLS 1.0 only",
            tool: Tool::Ldapsearch(Some("NORMAL:-VERS-ALL:+VERS-TLS1.0")),
            sni: "localhost",
            via: &[StartTls, Ldaps],
            expect: Some(&[NoTls12]),
        },
    ]
}

/// OpenSSL's suite names to IANA's, from `openssl ciphers -stdname`.
fn iana_names() -> BTreeMap<String, String> {
    let out = std::process::Command::new("openssl")
        .args(["ciphers", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"])
        .output()
        .expect("openssl ciphers");
    let mut map = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 - ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 ..."
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 3 && f[1] == "-" {
            map.insert(f[2].to_string(), f[0].to_string());
        }
    }
    map
}

fn version_of(tool_text: &str) -> Option<String> {
    let v = match tool_text {
        "TLSv1" | "TLSv1.0" | "TLS1.0" => "TLS 1.0",
        "TLSv1.1" | "TLS1.1" => "TLS 1.1",
        "TLSv1.2" | "TLS1.2" => "TLS 1.2",
        "TLSv1.3" | "TLS1.3" => "TLS 1.3",
        _ => return None,
    };
    Some(v.to_string())
}

/// Run a real client once against `addr`, the way `via` says.
async fn run(
    c: &RealClient,
    via: Via,
    addr: SocketAddr,
    names: &BTreeMap<String, String>,
) -> Reality {
    let port = addr.port().to_string();
    let timeout = Duration::from_secs(20);
    match c.tool {
        Tool::Python(mode) => {
            let out = tokio::time::timeout(
                timeout,
                tokio::process::Command::new("/usr/bin/python3")
                    .args(["-c", PY_CLIENT, &port, mode, c.sni])
                    .output(),
            )
            .await
            .expect("python in time")
            .expect("python3");
            let v: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|_| panic!("python said {}", String::from_utf8_lossy(&out.stderr)));
            if v["ok"] == true {
                let id = v["id"].as_u64().map(|i| i as u16);
                Reality::Works {
                    version: v["version"].as_str().and_then(version_of),
                    suite: id.map(tlsmatrix::tls::names::suite_name),
                }
            } else {
                Reality::Fails(v["error"].as_str().unwrap_or("").to_string())
            }
        }
        Tool::SClient(args) => {
            let mut cmd = tokio::process::Command::new("openssl");
            cmd.args([
                "s_client",
                "-connect",
                &addr.to_string(),
                "-servername",
                c.sni,
            ])
            .args(args);
            if via == Via::StartTls {
                cmd.args(["-starttls", "ldap"]);
            }
            let out =
                tokio::time::timeout(timeout, cmd.stdin(std::process::Stdio::null()).output())
                    .await
                    .expect("s_client in time")
                    .expect("openssl s_client");
            let text = String::from_utf8_lossy(&out.stdout);
            // "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" or "New, (NONE), Cipher is (NONE)"
            let line = text
                .lines()
                .find(|l| l.starts_with("New, "))
                .unwrap_or("")
                .to_string();
            let f: Vec<&str> = line.split([',', ' ']).filter(|s| !s.is_empty()).collect();
            match (f.get(1).copied().and_then(version_of), f.last()) {
                (Some(version), Some(cipher)) if *cipher != "(NONE)" => Reality::Works {
                    version: Some(version),
                    suite: Some(
                        names
                            .get(*cipher)
                            .cloned()
                            .unwrap_or_else(|| cipher.to_string()),
                    ),
                },
                _ => Reality::Fails(String::from_utf8_lossy(&out.stderr).trim().to_string()),
            }
        }
        Tool::Gnutls(priority) => {
            let mut cmd = tokio::process::Command::new("gnutls-cli");
            cmd.args([
                "--insecure",
                "--sni-hostname",
                c.sni,
                "-p",
                &port,
                "127.0.0.1",
            ]);
            if let Some(p) = priority {
                cmd.arg(format!("--priority={p}"));
            }
            if via == Via::StartTls {
                cmd.arg("--starttls-proto=ldap");
            }
            let out =
                tokio::time::timeout(timeout, cmd.stdin(std::process::Stdio::null()).output())
                    .await
                    .expect("gnutls-cli in time")
                    .expect("gnutls-cli");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if text.contains("Handshake was completed") {
                // "- Description: (TLS1.3-X.509)-(ECDHE-X25519)-(RSA-PSS-RSAE-SHA256)-(AES-256-GCM)"
                let version = text
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("- Description: ("))
                    .and_then(|d| d.split('-').next())
                    .and_then(version_of);
                Reality::Works {
                    version,
                    suite: None,
                }
            } else {
                Reality::Fails(
                    text.lines()
                        .filter(|l| l.contains("rror") || l.contains("failed"))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            }
        }
        Tool::Ldapsearch(priority) => {
            let url = match via {
                Via::StartTls => format!("ldap://localhost:{port}"),
                _ => format!("ldaps://localhost:{port}"),
            };
            let mut cmd = tokio::process::Command::new("ldapsearch");
            cmd.args([
                "-x",
                "-H",
                &url,
                "-b",
                "",
                "-s",
                "base",
                "-o",
                "nettimeout=5",
            ]);
            if via == Via::StartTls {
                cmd.arg("-ZZ");
            }
            cmd.env("LDAPTLS_REQCERT", "never");
            if let Some(p) = priority {
                cmd.env("LDAPTLS_CIPHER_SUITE", p);
            }
            let out =
                tokio::time::timeout(timeout, cmd.stdin(std::process::Stdio::null()).output())
                    .await
                    .expect("ldapsearch in time")
                    .expect("ldapsearch");
            if out.status.success() {
                Reality::Works {
                    version: None,
                    suite: None,
                }
            } else {
                Reality::Fails(String::from_utf8_lossy(&out.stderr).trim().to_string())
            }
        }
    }
}

/// The predicted client standing for a real one: the hello seen with its server name and the
/// highest version it offers.
/// A prediction agrees with what the client experienced: the same version and suite where the
/// client says them, or a failure for a predicted break.
fn agrees(p: &Prediction, real: &Reality) -> bool {
    match (p, real) {
        (
            Prediction::Works { version, suite, .. },
            Reality::Works {
                version: rv,
                suite: rs,
            },
        ) => rv.as_ref().is_none_or(|v| v == version) && rs.as_ref().is_none_or(|s| s == suite),
        (Prediction::Breaks { .. }, Reality::Fails(_)) => true,
        _ => false,
    }
}

fn predicted_client(p: &PredictReport, c: &RealClient, highest: u16) -> usize {
    let found: Vec<usize> = p
        .clients
        .iter()
        .enumerate()
        .filter(|(_, x)| match &x.origin {
            Origin::Observed { sni, .. } => sni.iter().any(|s| s == c.sni),
            Origin::Profile { .. } => false,
        })
        .filter(|(_, x)| {
            let h = ClientHello::parse(&from_hex(&x.hello).unwrap()).unwrap();
            h.highest() == highest
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(found.len(), 1, "{}: {found:?} in {:#?}", c.name, p.clients);
    found[0]
}

/// The highest version a real client offers, by its configuration.
fn highest(c: &RealClient) -> u16 {
    match c.tool {
        Tool::Python("tls10") | Tool::Ldapsearch(Some(_)) => 0x0301,
        Tool::SClient(args) if args.contains(&"-tls1") => 0x0301,
        Tool::Python("tls11") | Tool::Gnutls(Some(_)) => 0x0302,
        Tool::Python("cbc") | Tool::Python("tls12") => 0x0303,
        Tool::SClient(args) if args.contains(&"-tls1_2") => 0x0303,
        _ => 0x0304,
    }
}

/// An ECDSA (P-256) certificate and key for the before server, beside its RSA one: a client
/// that allows only ECDSA signatures works there and not on the after server, which has the
/// RSA certificate alone.
fn ecdsa_identity(dir: &Path) -> (String, String) {
    let cert = dir.join("ecdsa-cert.pem");
    let key = dir.join("ecdsa-key.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl req")
        .status
        .success();
    assert!(ok, "an ECDSA certificate");
    (
        cert.to_str().unwrap().to_string(),
        key.to_str().unwrap().to_string(),
    )
}

async fn start_estate(after: bool, dir: &Path) -> Estate {
    let s = if after {
        s_server(
            "127.0.0.1",
            &[
                "-min_protocol",
                "TLSv1.2",
                "-cipher",
                AFTER_CIPHERS,
                "-ciphersuites",
                AFTER_SUITES_13,
                "-groups",
                AFTER_GROUPS,
            ],
        )
        .await
    } else {
        let (cert, key) = ecdsa_identity(dir);
        s_server(
            "127.0.0.1",
            &[
                "-min_protocol",
                "TLSv1",
                "-max_protocol",
                "TLSv1.3",
                "-cipher",
                "ALL:@SECLEVEL=0",
                "-dcert",
                &cert,
                "-dkey",
                &key,
            ],
        )
        .await
    };
    let slapd = Slapd::start(if after { AFTER_GNUTLS } else { BEFORE_GNUTLS });
    Estate {
        tls: s.addr,
        slapd,
        _s_server: s,
    }
}

/// The JA3 strings tshark reads in a capture, by JA3 hash.
fn tshark_ja3(path: &Path, decode: &[String]) -> BTreeMap<String, String> {
    let mut cmd = std::process::Command::new("tshark");
    cmd.args(["-r", path.to_str().unwrap()]);
    for d in decode {
        cmd.args(["-d", d]);
    }
    let out = cmd
        .args([
            "-Y",
            "tls.handshake.type == 1",
            "-T",
            "fields",
            "-E",
            "separator=;",
        ])
        .args(["-e", "tls.handshake.ja3", "-e", "tls.handshake.ja3_full"])
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(';'))
        .map(|(h, f)| (h.to_string(), f.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prediction_equals_reality_for_every_client_live() {
    if !tools_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let names = iana_names();
    let clients = clients();

    // Before: every client talks to servers that accept TLS 1.0 to 1.3, under tcpdump; and so
    // do tlsmatrix's scan and a prediction, whose probes the capture must leave out.
    let before = start_estate(false, dir.path()).await;
    let ports = [
        before.tls.port(),
        before.slapd.ldap.port(),
        before.slapd.ldaps.port(),
    ];
    let cap = Capture::start(dir.path(), &ports).await;
    for c in &clients {
        for via in c.via {
            let r = run(c, *via, before.addr(*via), &names).await;
            assert!(
                matches!(r, Reality::Works { .. }),
                "{} against the before server ({via:?}): {r:?}",
                c.name
            );
        }
    }
    let before_targets: Vec<String> = [Via::Tls, Via::StartTls, Via::Ldaps]
        .iter()
        .map(|v| before.target(*v))
        .collect();
    let mut args = vec!["scan", "-q", "--format", "json"];
    args.extend(before_targets.iter().map(String::as_str));
    let scan = run_cli(&args, &[], None).await;
    assert!(scan.status.code().is_some(), "{}", stderr(&scan));
    let mut args = vec![
        "predict",
        "-q",
        "--profiles",
        "openssl-3,java-7",
        "--format",
        "json",
    ];
    args.extend(before_targets.iter().map(String::as_str));
    let probe = run_cli(&args, &[], None).await;
    assert!(probe.status.code().is_some(), "{}", stderr(&probe));
    let pcap = cap.stop().await;
    let pcap_arg = pcap.to_str().unwrap().to_string();

    // The capture: one hello per distinct client configuration, none of tlsmatrix's.
    let out = run_cli(&["clients", &pcap_arg, "--format", "json"], &[], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: ClientsReport = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report.own_probes >= 20,
        "the scan's and the prediction's probes are left out: {}",
        report.own_probes
    );
    let snis: Vec<&str> = report
        .offers
        .iter()
        .flat_map(|o| o.sni.iter().map(String::as_str))
        .collect();
    for c in &clients {
        assert!(snis.contains(&c.sni), "{} not in the capture", c.name);
    }
    // Two pairs send the same hello: gnutls-cli and ldapsearch with their defaults (GnuTLS's
    // NORMAL), and Python and s_client limited to TLS 1.0 with the same OpenSSL cipher string.
    assert_eq!(
        report.hellos.len(),
        clients.len() - 2,
        "{:#?}",
        report.hellos
    );
    assert!(report.offers.iter().all(|o| !o.is_fallback()));

    // JA3 as Wireshark's dissector computes it, for every hello.
    let decode: Vec<String> = vec![
        format!("tcp.port=={},tls", before.tls.port()),
        format!("tcp.port=={},ldap", before.slapd.ldap.port()),
        format!("tcp.port=={},tls", before.slapd.ldaps.port()),
    ];
    let ja3 = tshark_ja3(&pcap, &decode);
    for h in &report.hellos {
        assert_eq!(
            ja3.get(&h.ja3),
            Some(&h.ja3_full),
            "JA3 of hello {} ({}) as tshark reads it",
            h.id,
            h.ja4
        );
    }

    // Predict, live, against the after servers.
    let after = start_estate(true, dir.path()).await;
    let after_targets: Vec<String> = [Via::Tls, Via::StartTls, Via::Ldaps]
        .iter()
        .map(|v| after.target(*v))
        .collect();
    let mut args = vec!["predict", "-q", "--clients", &pcap_arg, "--format", "json"];
    args.extend(after_targets.iter().map(String::as_str));
    let out = run_cli(&args, &[], None).await;
    assert_eq!(out.status.code(), Some(1), "some break: {}", stderr(&out));
    let predicted: PredictReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(predicted.unknown(), 0, "{:#?}", predicted.cells);
    let endpoint = |via: Via| {
        predicted
            .endpoints
            .iter()
            .position(|e| e.target == after.target(via))
            .unwrap()
    };

    // Reality: every client against the after servers, compared cell by cell.
    let mut table = Vec::new();
    let mut mismatches = Vec::new();
    let mut realities = Vec::new();
    for c in &clients {
        let ci = predicted_client(&predicted, c, highest(c));
        for via in c.via {
            let cell = predicted.cell(ci, endpoint(*via)).unwrap();
            let real = run(c, *via, after.addr(*via), &names).await;
            let agree = agrees(&cell.prediction, &real);
            let expected = match (&cell.prediction, c.expect) {
                (Prediction::Works { .. }, None) => true,
                (Prediction::Breaks { reasons, .. }, Some(want)) => {
                    // The reasons are checked where the after server is OpenSSL's and the cause
                    // is known by construction; slapd's GnuTLS may fail a client differently.
                    *via != Via::Tls || reasons == want
                }
                _ => false,
            };
            let real_text = match &real {
                Reality::Works { version, suite } => format!(
                    "works {} {}",
                    version.as_deref().unwrap_or("(version not shown)"),
                    suite.as_deref().unwrap_or("")
                ),
                Reality::Fails(e) => format!("fails: {}", e.lines().next().unwrap_or("")),
            };
            table.push(format!(
                "{:42} {:9} {:48} | {}",
                c.name,
                format!("{via:?}"),
                match &cell.prediction {
                    Prediction::Works { version, suite, .. } => format!("works {version} {suite}"),
                    p => p.short(),
                },
                real_text
            ));
            if !agree || !expected {
                mismatches.push(format!(
                    "{} {via:?}: predicted {:?}, reality {real:?}",
                    c.name, cell.prediction
                ));
            }
            realities.push((c.name, *via, real));
        }
    }
    // After the switch: the same clients verified with their hellos as they are (--as-is)
    // must agree with the prediction, and so with reality.
    let mut args = vec![
        "predict",
        "-q",
        "--as-is",
        "--clients",
        &pcap_arg,
        "--format",
        "json",
    ];
    args.extend(after_targets.iter().map(String::as_str));
    let out = run_cli(&args, &[], None).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let as_is: PredictReport = serde_json::from_slice(&out.stdout).unwrap();
    for c in &clients {
        let ci = predicted_client(&as_is, c, highest(c));
        let before_switch = predicted_client(&predicted, c, highest(c));
        for via in c.via {
            let a = &as_is.cell(ci, endpoint(*via)).unwrap().prediction;
            let p = &predicted
                .cell(before_switch, endpoint(*via))
                .unwrap()
                .prediction;
            match (a, p) {
                (
                    Prediction::Works { version, suite, .. },
                    Prediction::Works {
                        version: v2,
                        suite: s2,
                        ..
                    },
                ) if version == v2 && suite == s2 => {}
                (Prediction::Breaks { reasons, .. }, Prediction::Breaks { reasons: r2, .. })
                    if reasons == r2 => {}
                _ => mismatches.push(format!("{} {via:?}: --as-is {a:?}, before {p:?}", c.name)),
            }
        }
    }

    // Offline: the same prediction computed from a saved `scan --suites` of the after servers
    // must equal reality too, cell by cell, with nothing left unknown.
    let saved = dir.path().join("after-suites.json");
    let saved_arg = saved.to_str().unwrap().to_string();
    let mut args = vec!["scan", "-q", "--suites", "-o", &saved_arg];
    args.extend(after_targets.iter().map(String::as_str));
    let out = run_cli(&args, &[], None).await;
    assert!(saved.exists(), "{}", stderr(&out));
    let out = run_cli(
        &[
            "predict",
            "-q",
            "--scan",
            &saved_arg,
            "--clients",
            &pcap_arg,
            "--format",
            "json",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "some break: {}", stderr(&out));
    let offline: PredictReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(offline.unknown(), 0, "{:#?}", offline.cells);
    let mut offline_table = Vec::new();
    for (name, via, real) in &realities {
        let c = clients.iter().find(|c| c.name == *name).unwrap();
        let ci = predicted_client(&offline, c, highest(c));
        let ei = offline
            .endpoints
            .iter()
            .position(|e| e.target == after.target(*via))
            .unwrap();
        let cell = offline.cell(ci, ei).unwrap();
        assert_eq!(cell.method, tlsmatrix::predict::Method::Computed);
        offline_table.push(format!(
            "{name:42} {:9} {}",
            format!("{via:?}"),
            match &cell.prediction {
                Prediction::Works { version, suite, .. } => format!("works {version} {suite}"),
                p => p.short(),
            }
        ));
        let live = &predicted
            .cell(predicted_client(&predicted, c, highest(c)), endpoint(*via))
            .unwrap()
            .prediction;
        let same_reasons = match (&cell.prediction, live) {
            (Prediction::Breaks { reasons, .. }, Prediction::Breaks { reasons: r2, .. }) => {
                // slapd's GnuTLS may fail a client differently from what its lists say.
                *via != Via::Tls || reasons == r2
            }
            _ => true,
        };
        if !agrees(&cell.prediction, real) || !same_reasons {
            mismatches.push(format!(
                "{name} {via:?}: computed {:?}, live {live:?}, reality {real:?}",
                cell.prediction
            ));
        }
    }

    println!(
        "\nclient                                     via       prediction (live)                                | reality"
    );
    for l in &table {
        println!("{l}");
    }
    println!(
        "\nclient                                     via       prediction (offline, from scan --suites)"
    );
    for l in &offline_table {
        println!("{l}");
    }
    println!(
        "{} cells compared live and {} offline, {} mismatches",
        table.len(),
        offline_table.len(),
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{mismatches:#?}");

    // The human table names the breaking clients with what to change.
    let mut args = vec!["predict", "-q", "--clients", &pcap_arg];
    args.extend(after_targets.iter().map(String::as_str));
    let out = run_cli(&args, &[], None).await;
    let text = stdout(&out);
    let breaking = predicted.breaking().len();
    assert!(
        text.contains(&format!("{breaking} clients will break:")),
        "{text}"
    );
    assert!(
        text.contains("change: add suite TLS_ECDHE_RSA_WITH_AES_"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_with_a_lower_version_is_grouped_under_its_first_hello() {
    if !tools_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A server that drops every hello: a client that falls back retries with TLS 1.0.
    let dropper = server(tlsmatrix::lab::Behaviour::Close).await;
    let cap = Capture::start(dir.path(), &[dropper.addr().port()]).await;
    let fallback = r#"
import socket, ssl, sys, warnings
warnings.simplefilter("ignore")
port = int(sys.argv[1])
for ceiling in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ceiling
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            ctx.wrap_socket(s, server_hostname="fallback.test").close()
        break
    except OSError:
        pass
"#;
    // OpenSSL's client says it is a fallback itself (first: a retry links to the failure
    // closest before it, which is then Python's own).
    let _ = tokio::process::Command::new("openssl")
        .args(["s_client", "-connect", &dropper.addr().to_string()])
        .args(["-servername", "scsv.test", "-tls1_1", "-fallback_scsv"])
        .args(["-cipher", "DEFAULT:@SECLEVEL=0"])
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    let port = dropper.addr().port().to_string();
    let out = tokio::process::Command::new("/usr/bin/python3")
        .args(["-c", fallback, &port])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pcap = cap.stop().await;
    let pcap_arg = pcap.to_str().unwrap().to_string();
    let out = run_cli(&["clients", &pcap_arg, "--format", "json"], &[], None).await;
    let report: ClientsReport = serde_json::from_slice(&out.stdout).unwrap();
    let by_sni = |n: &str| {
        report
            .offers
            .iter()
            .filter(|o| o.sni.iter().any(|s| s == n))
            .collect::<Vec<_>>()
    };
    let python = by_sni("fallback.test");
    assert_eq!(python.len(), 2, "{python:#?}");
    let first = python.iter().find(|o| o.highest == "TLS 1.2").unwrap();
    let retry = python.iter().find(|o| o.highest == "TLS 1.0").unwrap();
    assert_eq!(first.fallback_of, None);
    assert_eq!(retry.fallback_of, Some(first.hello));
    assert_eq!((first.failed, retry.failed), (1, 1));
    let scsv = by_sni("scsv.test");
    assert!(scsv.len() == 1 && scsv[0].fallback_scsv, "{scsv:#?}");

    // The table shows the retry under its first hello; a prediction counts the client once.
    let out = run_cli(&["clients", &pcap_arg], &[], None).await;
    let text = stdout(&out);
    assert!(
        text.contains(&format!("fallback after {} failed", first.ja4)),
        "{text}"
    );
    let after = s_server("127.0.0.1", &["-min_protocol", "TLSv1.2"]).await;
    let target = format!("tls://{}", after.addr);
    let out = run_cli(
        &[
            "predict",
            "-q",
            "--clients",
            &pcap_arg,
            "--format",
            "json",
            &target,
        ],
        &[],
        None,
    )
    .await;
    let p: PredictReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p.clients.len(), 2, "{:#?}", p.clients);
    let has_sni = |o: &Origin, n: &str| matches!(o, Origin::Observed { sni, .. } if sni.iter().any(|s| s == n));
    let python = p
        .clients
        .iter()
        .position(|c| has_sni(&c.origin, "fallback.test"))
        .unwrap();
    match &p.clients[python].origin {
        Origin::Observed { fallbacks, .. } => {
            assert_eq!(fallbacks.len(), 1);
            assert_eq!(fallbacks[0].highest, "TLS 1.0");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        p.cell(python, 0).unwrap().prediction,
        Prediction::Works { .. }
    ));
    let text = stdout(
        &run_cli(
            &["predict", "-q", "--clients", &pcap_arg, &target],
            &[],
            None,
        )
        .await,
    );
    assert!(text.contains("retries with"), "{text}");
    // A saved clients report predicts the same as its capture.
    let saved = pcap.with_extension("json");
    let out = run_cli(
        &["clients", &pcap_arg, "-o", saved.to_str().unwrap()],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run_cli(
        &[
            "predict",
            "-q",
            "--clients",
            saved.to_str().unwrap(),
            "--format",
            "json",
            &target,
        ],
        &[],
        None,
    )
    .await;
    let q: PredictReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(q.clients, p.clients);
    assert_eq!(
        q.cells
            .iter()
            .map(|c| c.prediction.key())
            .collect::<Vec<_>>(),
        p.cells
            .iter()
            .map(|c| c.prediction.key())
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_exit_statuses_and_a_server_that_closes_on_old_versions() {
    if !tools_available() {
        return;
    }
    // slapd after the switch closes old versions without a word, as Windows resets them.
    let slapd = Slapd::start(AFTER_GNUTLS);
    let ldaps = format!("ldaps://{}", slapd.ldaps);
    let ldap = format!("ldap://{}", slapd.ldap);
    let predict = |extra: Vec<&str>| {
        let mut v = vec!["predict", "-q", "--format", "json"];
        v.extend(extra);
        v.into_iter().map(str::to_string).collect::<Vec<String>>()
    };
    let go = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_cli(&args, &[], None).await
    };

    // No client breaks: exit 0.
    let out = go(predict(vec![
        "--profiles",
        "openssl-3,java-17",
        &ldaps,
        &ldap,
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Windows 7 with its defaults breaks (no TLS 1.2, computed); with TLS 1.2 it lacks the
    // ECDHE_RSA GCM suites this directory insists on.
    let out = go(predict(vec![
        "--profiles",
        "windows-7,windows-7-tls12",
        &ldaps,
    ]))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let p: PredictReport = serde_json::from_slice(&out.stdout).unwrap();
    let cell = p.cell(0, 0).unwrap();
    assert_eq!(cell.method, tlsmatrix::predict::Method::Computed);
    match &cell.prediction {
        Prediction::Breaks { reasons, .. } => assert_eq!(reasons, &[Reason::NoTls12]),
        other => panic!("{other:?}"),
    }
    match &p.cell(1, 0).unwrap().prediction {
        Prediction::Breaks {
            reasons, change, ..
        } => {
            assert_eq!(reasons, &[Reason::NoSharedSuite]);
            assert!(change.contains("TLS_ECDHE_RSA_WITH_AES_"), "{change}");
        }
        other => panic!("{other:?}"),
    }
    // After the switch, --as-is sends Windows 7's TLS 1.0 hello for real: slapd closes without
    // an alert, and offering TLS 1.2 too shows that TLS 1.2 is what it lacks.
    let out = go(predict(vec!["--as-is", "--profiles", "windows-7", &ldaps])).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let p: PredictReport = serde_json::from_slice(&out.stdout).unwrap();
    let cell = p.cell(0, 0).unwrap();
    assert_eq!(cell.method, tlsmatrix::predict::Method::Live);
    match &cell.prediction {
        Prediction::Breaks {
            reasons, detail, ..
        } => {
            assert_eq!(reasons, &[Reason::NoTls12]);
            assert!(detail.contains("offered TLS 1.2 too"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // An endpoint nobody answers on: unknown, never a guess; exit 3.
    let dead = format!("tls://127.0.0.1:{}", closed_port());
    let out = go(predict(vec!["--profiles", "openssl-3", &dead])).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let p: PredictReport = serde_json::from_slice(&out.stdout).unwrap();
    assert!(matches!(
        p.cell(0, 0).unwrap().prediction,
        Prediction::Unknown { .. }
    ));
    // The profiles list names each profile's source.
    let out = run_cli(&["predict", "--profiles", "list"], &[], None).await;
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for name in ["windows-7", "java-7", "openssl-1.0.2", "gnutls", "java-17"] {
        assert!(text.contains(name), "{name}: {text}");
    }
    assert!(text.contains("TLS Cipher Suites in Windows 7"), "{text}");
    assert!(text.contains("scripts/record-profiles"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_captures_its_clients_and_names_who_will_break() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_cli(&["demo", "--save", dir.path().to_str().unwrap()], &[], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("== The lab's clients, captured =="), "{text}");
    assert!(text.contains("== Who will break when dc1"), "{text}");
    assert!(text.contains("3 clients will break:"), "{text}");
    let p: PredictReport =
        serde_json::from_slice(&std::fs::read(dir.path().join("predict.json")).unwrap()).unwrap();
    let result = |name: &str| {
        let i = p.clients.iter().position(|c| c.name == name).unwrap();
        p.cell(i, 0).unwrap().prediction.clone()
    };
    let reasons = |name: &str| match result(name) {
        Prediction::Breaks { reasons, .. } => reasons,
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(reasons("127.0.0.21"), [Reason::NoTls12]);
    assert_eq!(reasons("127.0.0.22"), [Reason::NoSharedSuite]);
    assert_eq!(reasons("windows-7-tls12"), [Reason::NoSharedSuite]);
    for modern in ["127.0.0.23", "127.0.0.24", "windows-10-1809"] {
        assert!(
            matches!(result(modern), Prediction::Works { .. }),
            "{modern}"
        );
    }
    // The capture is a real pcap file that `clients` reads.
    let pcap = dir.path().join("clients.pcap");
    let out = run_cli(
        &["clients", pcap.to_str().unwrap(), "--format", "json"],
        &[],
        None,
    )
    .await;
    let r: ClientsReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r.offers.len(), 4);
}

/// A server name from a capture is outside text: it reaches no terminal, CSV or Markdown cell
/// unescaped in a prediction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_name_from_a_capture_cannot_inject_into_a_prediction() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let target = tls_server(
        tlsmatrix::tls::TlsVersion::Tls12,
        tlsmatrix::tls::TlsVersion::Tls13,
    )
    .await;
    // A client's connection, recorded by the lab into a pcap file, whose hello names a hostile
    // server.
    let sink = server(tlsmatrix::lab::Behaviour::Close).await;
    let recording = tlsmatrix::lab::recorder::Recording::default();
    let tcp = std::net::TcpStream::connect(sink.addr()).unwrap();
    let local = tcp.local_addr().unwrap();
    let mut rec = recording.wrap(tcp, local, sink.addr()).unwrap();
    let hostile = "=HYPERLINK(\"x\")\x1b[2J|`x`.test";
    rec.write_all(&tlsmatrix::lab::client_hello_unmarked(
        tlsmatrix::tls::TlsVersion::Tls10,
        Some(hostile),
    ))
    .unwrap();
    drop(rec);
    let pcap = dir.path().join("hostile.pcap");
    std::fs::write(&pcap, recording.pcap()).unwrap();
    let endpoint = format!("tls://{}", target.addr());
    for format in ["table", "csv", "md", "json"] {
        let out = run_cli(
            &[
                "predict",
                "-q",
                "--clients",
                pcap.to_str().unwrap(),
                "--format",
                format,
                &endpoint,
            ],
            &[],
            None,
        )
        .await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(!text.contains('\x1b'), "{format}: {text}");
        match format {
            "csv" => {
                let mut r = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_reader(text.as_bytes());
                for rec in r.records() {
                    for f in rec.unwrap().iter() {
                        assert!(!f.starts_with(['=', '+', '-', '@']), "{f:?}");
                    }
                }
            }
            "md" => {
                let cells = |l: &str| {
                    let (mut n, mut esc) = (0, false);
                    for c in l.chars() {
                        match c {
                            '\\' if !esc => {
                                esc = true;
                                continue;
                            }
                            '|' if !esc => n += 1,
                            _ => {}
                        }
                        esc = false;
                    }
                    n
                };
                let rows: Vec<usize> = text
                    .lines()
                    .filter(|l| l.starts_with('|'))
                    .map(cells)
                    .collect();
                assert!(rows.windows(2).all(|w| w[0] == w[1]), "{text}");
                assert!(!text.contains("`x`"), "{text}");
            }
            "json" => {
                let p: PredictReport = serde_json::from_str(&text).unwrap();
                match &p.clients[0].origin {
                    Origin::Observed { sni, .. } => assert_eq!(sni[0], hostile),
                    other => panic!("{other:?}"),
                }
            }
            _ => assert!(text.contains("breaks: no TLS 1.2"), "{text}"),
        }
    }
}

/// Offline, from a saved scan: what the scan does not hold is unknown, never a guess; a client
/// without TLS 1.2 breaks whatever the lists would say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_from_a_scan_without_suite_lists_decides_only_what_it_can() {
    let dir = tempfile::tempdir().unwrap();
    let s = tls_server(
        tlsmatrix::tls::TlsVersion::Tls12,
        tlsmatrix::tls::TlsVersion::Tls13,
    )
    .await;
    let scan = dir.path().join("after.json");
    let target = format!("tls://{}", s.addr());
    let out = run_cli(
        &["scan", "-q", &target, "-o", scan.to_str().unwrap()],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    drop(s);
    let out = run_cli(
        &[
            "predict",
            "-q",
            "--scan",
            scan.to_str().unwrap(),
            "--profiles",
            "windows-7,openssl-3",
            "--format",
            "json",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let p: PredictReport = serde_json::from_slice(&out.stdout).unwrap();
    assert!(p.scan.is_some());
    assert!(
        p.cells
            .iter()
            .all(|c| c.method == tlsmatrix::predict::Method::Computed)
    );
    match &p.cell(0, 0).unwrap().prediction {
        Prediction::Breaks { reasons, .. } => assert_eq!(reasons, &[Reason::NoTls12]),
        other => panic!("{other:?}"),
    }
    match &p.cell(1, 0).unwrap().prediction {
        Prediction::Unknown { detail } => assert!(detail.contains("--suites"), "{detail}"),
        other => panic!("{other:?}"),
    }
    // Endpoints come from the scan: targets beside it are a usage error.
    let out = run_cli(
        &[
            "predict",
            "--scan",
            scan.to_str().unwrap(),
            "--profiles",
            "all",
            &target,
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
