//! Against the system's `openssl s_server`: another TLS stack configuration than our own lab.

use std::net::SocketAddr;
use std::time::Duration;

use tlsmatrix::report::Verdict;
use tokio::process::{Child, Command};

use crate::util::*;

pub(crate) struct SServer {
    _child: Child,
    _dir: tempfile::TempDir,
    pub(crate) addr: SocketAddr,
}

/// Start `openssl s_server` on a free loopback port with extra arguments.
pub(crate) async fn s_server(host: &str, args: &[&str]) -> SServer {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = tlsmatrix::lab::identity();
    let key_path = dir.path().join("key.pem");
    let cert_path = dir.path().join("cert.pem");
    std::fs::write(&key_path, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&cert_path, cert.to_pem().unwrap()).unwrap();
    for _ in 0..20 {
        let port = {
            let l = std::net::TcpListener::bind((host, 0)).unwrap();
            l.local_addr().unwrap().port()
        };
        let accept = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let addr: SocketAddr = accept.parse().unwrap();
        let child = Command::new("openssl")
            .arg("s_server")
            .args(["-accept", &accept, "-www", "-quiet"])
            .arg("-cert")
            .arg(&cert_path)
            .arg("-key")
            .arg(&key_path)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("openssl s_server (Debian package openssl)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return SServer {
                    _child: child,
                    _dir: dir,
                    addr,
                };
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    panic!("openssl s_server did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_server_tls10_only() {
    let s = s_server("127.0.0.1", &["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]).await;
    let e = scan_addr(&quick(), s.addr).await;
    let r = row(&e);
    assert_eq!(r["tls1.0"], "yes");
    assert_eq!(r["tls1.1"], "no: got TLS 1.0");
    assert_eq!(r["tls1.2"], "no: got TLS 1.0");
    assert!(r["tls1.3"].starts_with("no: "), "{}", r["tls1.3"]);
    assert_eq!(e.verdict, Verdict::Tls12Missing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_server_tls12_only() {
    let s = s_server("127.0.0.1", &["-tls1_2"]).await;
    let e = scan_addr(&quick(), s.addr).await;
    let r = row(&e);
    assert_eq!(r["tls1.0"], "no: alert 70");
    assert_eq!(r["tls1.1"], "no: alert 70");
    assert_eq!(r["tls1.2"], "yes");
    assert_eq!(r["tls1.3"], "no: alert 70");
    assert_eq!(e.verdict, Verdict::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_server_tls10_to_12_over_ipv6() {
    let s = s_server(
        "::1",
        &[
            "-min_protocol",
            "TLSv1",
            "-max_protocol",
            "TLSv1.2",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
        ],
    )
    .await;
    let e = scan_addr(&quick(), s.addr).await;
    let r = row(&e);
    assert_eq!(
        (
            r["tls1.0"].as_str(),
            r["tls1.1"].as_str(),
            r["tls1.2"].as_str()
        ),
        ("yes", "yes", "yes")
    );
    assert_eq!(e.verdict, Verdict::Legacy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_server_tls13_only() {
    let s = s_server("127.0.0.1", &["-tls1_3"]).await;
    let e = scan_addr(&quick(), s.addr).await;
    let r = row(&e);
    assert_eq!(r["tls1.2"], "no: alert 70");
    assert_eq!(r["tls1.3"], "yes");
    assert_eq!(e.verdict, Verdict::Ready);
}
