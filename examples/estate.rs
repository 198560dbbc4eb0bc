//! A loopback estate for benchmarks: N TLS endpoints, each on its own loopback address, with
//! mixed version ranges, or with four suite profiles, or N endpoints that never answer. Writes
//! the targets to a file, then serves until standard input closes.
//!
//! ```text
//! cargo run --release --example estate -- live 200 targets.txt
//! cargo run --release --example estate -- suites 48 targets.txt
//! cargo run --release --example estate -- dead 1000 dead.txt
//! ```
//!
//! The suite profiles, in turn: `modern` (TLS 1.2-1.3, three ECDHE AEAD suites, the server's
//! order), `legacy` (TLS 1.0-1.3, OpenSSL's DEFAULT at security level 0 with DHE), `3des`
//! (TLS 1.0-1.2, 3DES suites only: lighttpd with mbedTLS, since Debian's OpenSSL has no 3DES)
//! and `anon` (TLS 1.0-1.2, anonymous DH and ECDH suites only). Each line of the targets file is
//! `ADDRESS:PORT PROFILE`.

use std::io::{BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tlsmatrix::lab::{Behaviour, LabServer};
use tlsmatrix::tls::TlsVersion::{self, *};

/// The suite profiles of `suites` mode, in turn.
const PROFILES: [&str; 4] = ["modern", "legacy", "3des", "anon"];

fn profile(name: &str) -> Behaviour {
    match name {
        "modern" => Behaviour::Suites {
            min: Tls12,
            max: Tls13,
            ciphers: "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:\
                      ECDHE-RSA-AES128-GCM-SHA256"
                .into(),
            ciphersuites: None,
            server_order: true,
        },
        "legacy" => Behaviour::Suites {
            min: Tls10,
            max: Tls13,
            ciphers: "DEFAULT:@SECLEVEL=0".into(),
            ciphersuites: None,
            server_order: false,
        },
        _ => Behaviour::Suites {
            min: Tls10,
            max: Tls12,
            ciphers: "ADH-AES128-GCM-SHA256:ADH-AES256-GCM-SHA384:ADH-AES128-SHA:ADH-AES256-SHA:\
                      AECDH-AES128-SHA:AECDH-AES256-SHA:@SECLEVEL=0"
                .into(),
            ciphersuites: None,
            server_order: false,
        },
    }
}

/// lighttpd with mod_mbedtls serving 3DES alone, TLS 1.0-1.2, on each address given (one
/// process per endpoint, as each would be its own machine: lighttpd is single-threaded).
fn lighttpd_3des(addrs: &[SocketAddr], dir: &std::path::Path) -> std::process::Child {
    let (key, cert) = tlsmatrix::lab::identity();
    let pem = dir.join("both.pem");
    let mut both = key.private_key_to_pem_pkcs8().unwrap();
    both.extend(cert.to_pem().unwrap());
    std::fs::write(&pem, both).unwrap();
    let ssl = format!(
        "ssl.engine = \"enable\"\nssl.pemfile = \"{}\"\nssl.openssl.ssl-conf-cmd = (\
         \"MinProtocol\" => \"TLSv1.0\", \"MaxProtocol\" => \"TLSv1.2\", \"CipherString\" => \"3DES\")\n",
        pem.display()
    );
    let mut conf = format!(
        "server.document-root = \"{d}\"\nserver.errorlog = \"{d}/error.log\"\n\
         server.modules += ( \"mod_mbedtls\" )\nserver.max-fds = 16384\n",
        d = dir.display()
    );
    for (i, a) in addrs.iter().enumerate() {
        if i == 0 {
            conf.push_str(&format!(
                "server.bind = \"{}\"\nserver.port = {}\n{ssl}",
                a.ip(),
                a.port()
            ));
        } else {
            conf.push_str(&format!("$SERVER[\"socket\"] == \"{a}\" {{\n{ssl}}}\n"));
        }
    }
    let path = dir.join("lighttpd.conf");
    std::fs::write(&path, conf).unwrap();
    std::process::Command::new("lighttpd")
        .arg("-D")
        .arg("-f")
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("lighttpd (Debian packages lighttpd, lighttpd-mod-mbedtls)")
}

/// Wait until every address accepts TCP.
async fn wait_for(addrs: &[SocketAddr]) {
    for a in addrs {
        for _ in 0..500 {
            if tokio::net::TcpStream::connect(a).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

/// The version ranges of the estate, in turn: old and new, new only, TLS 1.2 only, TLS 1.3 only.
pub const RANGES: [(TlsVersion, TlsVersion); 4] = [
    (Tls10, Tls13),
    (Tls12, Tls13),
    (Tls12, Tls12),
    (Tls13, Tls13),
];

fn address(block: u8, i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        block,
        (i / 250) as u8,
        (i % 250 + 1) as u8,
    ))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, n, file) = match args.as_slice() {
        [m, n, f] => (m.as_str(), n.parse::<usize>().expect("a count"), f.clone()),
        _ => {
            eprintln!("usage: estate live|suites|dead N TARGETS_FILE");
            std::process::exit(2);
        }
    };
    let port = 4433;
    let mut out = std::fs::File::create(&file).expect("targets file");
    let mut live = Vec::new();
    let mut dead = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let mut des: Vec<SocketAddr> = Vec::new();
    for i in 0..n {
        match mode {
            "suites" => {
                let name = PROFILES[i % PROFILES.len()];
                let addr = SocketAddr::new(address(1, i), port);
                if name == "3des" {
                    des.push(addr);
                } else {
                    live.push(LabServer::start(addr, profile(name)).await.expect("bind"));
                }
                writeln!(out, "{addr} {name}").unwrap();
            }
            "live" => {
                let (min, max) = RANGES[i % RANGES.len()];
                let addr = SocketAddr::new(address(1, i), port);
                live.push(
                    LabServer::start(addr, Behaviour::tls(min, max))
                        .await
                        .expect("bind"),
                );
                writeln!(out, "{addr} {}-{}", min.key(), max.key()).unwrap();
            }
            "dead" => {
                // A listener whose accept queue is full: SYNs get no answer.
                let addr = SocketAddr::new(address(2, i), port);
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.bind(addr).expect("bind");
                let listener = socket.listen(0).unwrap();
                let filler = tokio::net::TcpStream::connect(addr).await.unwrap();
                dead.push((listener, filler));
                writeln!(out, "{addr}").unwrap();
            }
            _ => panic!("mode is live or dead"),
        }
    }
    drop(out);
    let mut lighttpd: Vec<std::process::Child> = des
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let d = dir.path().join(format!("3des-{i}"));
            std::fs::create_dir_all(&d).unwrap();
            lighttpd_3des(&[*a], &d)
        })
        .collect();
    wait_for(&des).await;
    println!("ready");
    std::io::stdout().flush().unwrap();
    // Serve until the benchmark closes our standard input.
    tokio::task::spawn_blocking(|| for _ in std::io::stdin().lock().lines() {})
        .await
        .unwrap();
    for child in &mut lighttpd {
        let _ = child.kill();
        let _ = child.wait();
    }
}
