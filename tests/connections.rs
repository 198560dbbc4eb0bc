//! The limits a scan keeps: `--per-host` holds for the suite enumeration too, the connections
//! counted per endpoint are the connections the server saw, and endpoints that never answer a
//! SYN do not hold handshake slots while they wait.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tlsmatrix::report::{Engine, Status, TlsVersion::*, Verdict};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::util::{quick, scan_targets, tls_server};

/// A relay on 127.0.0.1 to `upstream` that counts the connections it passes and the most a
/// client held open at once (from the accept to the client's end of its side). Each answer is
/// held back 20 ms, so a connection lasts far longer than the relay's own scheduling takes, and
/// a connection is counted 5 ms after its accept, when any other that closed before it began
/// has been seen to close.
struct Counter {
    addr: SocketAddr,
    total: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

async fn counting_relay(upstream: SocketAddr) -> Counter {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let total = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let open = Arc::new(AtomicUsize::new(0));
    let (t, m) = (total.clone(), most.clone());
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            t.fetch_add(1, Ordering::SeqCst);
            let open = open.clone();
            let m = m.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(upstream).await else {
                    open.fetch_sub(1, Ordering::SeqCst);
                    return;
                };
                let (mut cr, mut cw) = client.split();
                let (mut sr, mut sw) = { server }.into_split();
                let to_server = async {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                    // The client closed its side: it holds the connection no more.
                    open.fetch_sub(1, Ordering::SeqCst);
                    let _ = sw.shutdown().await;
                };
                let to_client = async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    tokio::io::copy(&mut sr, &mut cw).await
                };
                let _ = tokio::join!(to_server, to_client);
            });
        }
    });
    Counter { addr, total, most }
}

/// `--per-host 2` with the suite enumeration's many connections: never more than two open at
/// once with the wire engine (one connection a probe), four with both engines (two a probe);
/// and the connections the report counts are those the server saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_host_bounds_the_suite_enumeration_and_connections_are_counted() {
    let server = tls_server(Tls10, Tls13).await;
    for (engine, bound) in [(Engine::Wire, 2), (Engine::Both, 4)] {
        let relay = counting_relay(server.addr()).await;
        let mut config = quick();
        config.per_host = 2;
        config.suites = true;
        config.engine = engine;
        config.ldap_check = false;
        config.versions = vec![Tls10, Tls12];
        let report = scan_targets(&config, &[relay.addr.to_string()]).await;
        let e = &report.endpoints[0];
        assert_eq!(e.verdict, Verdict::Legacy, "{:?}", e.versions);
        assert!(e.suites[&Tls12].suites.len() > 10, "{:?}", e.suites[&Tls12]);
        // The relay counts a connection as it accepts it; give the last ones a moment.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let seen = relay.total.load(Ordering::SeqCst) as u32;
        assert_eq!(e.connections, Some(seen), "{engine:?}");
        let most = relay.most.load(Ordering::SeqCst);
        assert!(most <= bound, "{engine:?}: {most} connections open at once");
        assert!(
            most >= 2,
            "{engine:?}: the enumeration runs side by side ({most})"
        );
    }
}

/// A listener on its own loopback address whose accept queue is full: SYNs get no answer.
async fn silent(host: IpAddr) -> (tokio::net::TcpListener, TcpStream, SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(host, 0)).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let filler = TcpStream::connect(addr).await.unwrap();
    (listener, filler, addr)
}

/// Waiting for a SYN's answer holds no handshake slot past `SYN_GRACE`: 200 endpoints that never
/// answer and two live ones, with 32 handshake slots, finish in about one connect timeout
/// (holding slots while connecting took 200 / 32 connect timeouts), and the live ones are right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_hosts_wait_side_by_side_without_holding_handshake_slots() {
    let mut dead = Vec::new();
    for i in 0..200u8 {
        dead.push(silent(IpAddr::V4(Ipv4Addr::new(127, 0, 4, i + 1))).await);
    }
    let live = [
        tls_server(Tls12, Tls13).await,
        tls_server(Tls10, Tls13).await,
    ];
    let mut config = quick();
    config.concurrency = 32;
    config.engine = Engine::Wire;
    config.connect_timeout = Duration::from_secs(1);
    config.timeout = Duration::from_secs(3);
    config.versions = vec![Tls10, Tls12, Tls13];
    let mut targets: Vec<String> = dead.iter().map(|(_, _, a)| a.to_string()).collect();
    targets.extend(live.iter().map(|s| s.addr().to_string()));
    let start = Instant::now();
    let report = scan_targets(&config, &targets).await;
    let took = start.elapsed();
    // Not a speed target (the benchmark has those): the two behaviours are far apart. Waiting
    // in waves of 32 slots takes at least 200 / 32 = 6.25 connect timeouts; side by side, one
    // and a little; 4 s separates them even on a loaded machine.
    assert!(
        took < Duration::from_secs(4),
        "{:.1}s: the silent hosts waited in waves, not side by side (one connect timeout is 1s)",
        took.as_secs_f64()
    );
    for e in &report.endpoints[..200] {
        assert_eq!(e.verdict, Verdict::Unreachable, "{}", e.target);
        assert_eq!(e.versions[&Tls10].status(), Status::Timeout);
    }
    let verdicts: Vec<Verdict> = report.endpoints[200..].iter().map(|e| e.verdict).collect();
    assert_eq!(verdicts, [Verdict::Ready, Verdict::Legacy]);
    drop(dead);
}
