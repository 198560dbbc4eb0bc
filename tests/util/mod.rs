//! Test helpers: lab servers on loopback, in-process scans, and runs of the real binary.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Output;
use std::time::Duration;

use tlsmatrix::lab::{Behaviour, LabServer};
use tlsmatrix::report::{Endpoint, Report, Status, TlsVersion};
use tlsmatrix::scan::{ScanConfig, Silent, scan};
use tlsmatrix::target::parse_target;

pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

pub async fn server(behaviour: Behaviour) -> LabServer {
    LabServer::start(SocketAddr::new(LOCALHOST, 0), behaviour)
        .await
        .expect("start a lab server")
}

pub async fn tls_server(min: TlsVersion, max: TlsVersion) -> LabServer {
    server(Behaviour::tls(min, max)).await
}

/// A config with short limits, for tests.
pub fn quick() -> ScanConfig {
    ScanConfig {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(4),
        ..ScanConfig::default()
    }
}

pub async fn scan_targets(config: &ScanConfig, targets: &[String]) -> Report {
    let parsed = targets.iter().map(|t| parse_target(t).unwrap()).collect();
    scan(config, parsed, vec![], Default::default(), &Silent).await
}

/// Scan one address and return its only row.
pub async fn scan_addr(config: &ScanConfig, addr: SocketAddr) -> Endpoint {
    let target = match addr {
        SocketAddr::V4(a) => format!("{a}"),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    };
    let report = scan_targets(config, &[target]).await;
    assert_eq!(report.endpoints.len(), 1);
    report.endpoints.into_iter().next().unwrap()
}

/// Scan one address, and check that it took less than `limit`.
pub async fn scan_addr_within(config: &ScanConfig, addr: SocketAddr, limit: Duration) -> Endpoint {
    let start = std::time::Instant::now();
    let e = scan_addr(config, addr).await;
    assert!(start.elapsed() < limit, "took {:?}", start.elapsed());
    e
}

/// The row as `version -> short cell text`, for exact comparisons.
pub fn row(e: &Endpoint) -> BTreeMap<&'static str, String> {
    e.versions
        .iter()
        .map(|(v, c)| (v.key(), tlsmatrix::output::cell_text(c)))
        .collect()
}

pub fn status(e: &Endpoint, v: TlsVersion) -> Status {
    e.versions[&v].status()
}

/// Run the built binary with arguments and optional standard input.
pub async fn run_cli(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tlsmatrix"));
    cmd.args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .env_remove("NO_COLOR")
        // Wide enough that the tests' lines are not wrapped; a test of widths sets its own.
        .env("COLUMNS", "500");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run tlsmatrix");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("tlsmatrix finished within 60s")
        .expect("tlsmatrix output")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parse a JSON report from the binary's standard output.
pub fn report(o: &Output) -> Report {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a report: {e}\nstdout: {}\nstderr: {}",
            stdout(o),
            stderr(o)
        )
    })
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind((LOCALHOST, 0)).unwrap();
    l.local_addr().unwrap().port()
}

/// A listener whose accept queue is full, so further connection attempts get no answer: the
/// loopback way to make a TCP connect time out. Keep the returned values alive.
pub async fn full_backlog() -> (tokio::net::TcpListener, tokio::net::TcpStream, SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(LOCALHOST, 0)).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let filler = tokio::net::TcpStream::connect(addr).await.unwrap();
    (listener, filler, addr)
}

/// Wait until `check` holds (a lab server counts a handshake a moment after the client has
/// finished it), for at most two seconds.
pub async fn eventually(check: impl Fn() -> bool) -> bool {
    for _ in 0..200 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    check()
}
