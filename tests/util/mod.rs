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

/// A loopback port nothing listens on: a socket stays bound to it without listening for the
/// rest of the test run, so a connect is refused and no server started meanwhile (on port 0)
/// can be given that port.
pub fn closed_port() -> u16 {
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind(SocketAddr::new(LOCALHOST, 0)).unwrap();
    let port = s.local_addr().unwrap().port();
    std::mem::forget(s);
    port
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

/// A `tlsmatrix serve` process on a free loopback port; killed when dropped.
pub struct Served {
    pub child: tokio::process::Child,
    /// `http://127.0.0.1:PORT` (or https).
    pub base: String,
    pub addr: SocketAddr,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Served {
    /// Start `tlsmatrix serve --listen 127.0.0.1:0 ARGS` and wait until it listens.
    pub async fn start(args: &[&str]) -> Served {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tlsmatrix"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("run tlsmatrix serve");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let sink = log.clone();
        tokio::spawn(async move {
            let mut tx = Some(tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.strip_prefix("tlsmatrix: listening on ")
                    && let Some(tx) = tx.take()
                {
                    let url = rest.split(';').next().unwrap_or("").to_string();
                    let _ = tx.send(url);
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let base = match tokio::time::timeout(Duration::from_secs(20), rx).await {
            Ok(Ok(url)) => url,
            _ => {
                let _ = child.kill().await;
                panic!(
                    "tlsmatrix serve did not start: {}",
                    log.lock().unwrap().as_str()
                );
            }
        };
        let addr = base.rsplit('/').next().unwrap().parse().unwrap();
        Served {
            child,
            base,
            addr,
            log,
        }
    }

    /// What the exporter said on standard error so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Wait (at most 10 s) until the log contains `needle`.
    pub async fn wait_log(&self, needle: &str) -> bool {
        for _ in 0..1000 {
            if self.log().contains(needle) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    /// Send a signal (`HUP`, `TERM`, ...).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("running").to_string();
        let ok = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{name} {pid}");
    }

    /// GET a path; with `scrape_timeout`, as Prometheus sends it.
    pub async fn get(&self, path: &str, scrape_timeout: Option<f64>) -> (u16, String) {
        http_get(&format!("{}{path}", self.base), scrape_timeout).await
    }
}

/// GET a URL over plain HTTP, as Prometheus would.
pub async fn http_get(url: &str, scrape_timeout: Option<f64>) -> (u16, String) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut req = client.get(url);
    if let Some(t) = scrape_timeout {
        req = req.header("X-Prometheus-Scrape-Timeout-Seconds", t.to_string());
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

/// The value of the sample of `name` whose labels include every `k="v"` of `labels`
/// (exposition text; `None` when there is no such sample).
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .map(|v| v.parse::<f64>().expect("a number"))
}

/// Write a file in `dir` and return its path as a string.
pub fn write_file(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// A port free on `host` now, for a server process told to listen there.
pub fn free_port_on(host: IpAddr) -> u16 {
    std::net::TcpListener::bind((host, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A free loopback port for a server process.
pub fn free_port() -> u16 {
    free_port_on(LOCALHOST)
}

/// Run an independent tool with no input: whether it succeeded, and its standard output and
/// error together; a tool that has not finished within 15 s is killed and counts as failed.
pub async fn tool_output(cmd: &mut tokio::process::Command) -> (bool, String) {
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    match tokio::time::timeout(Duration::from_secs(15), cmd.output()).await {
        Ok(Ok(o)) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Ok(Err(e)) => panic!("could not run {cmd:?}: {e}"),
        Err(_) => (false, "no answer within 15s".into()),
    }
}

/// The report's row for the endpoint at `addr`.
pub fn row_at(report: &Report, addr: SocketAddr) -> &Endpoint {
    report
        .endpoints
        .iter()
        .find(|e| e.address == Some(addr.ip()) && e.port == addr.port())
        .expect("a row per server")
}
