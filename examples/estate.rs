//! A loopback estate for benchmarks: N TLS endpoints, each on its own loopback address, with
//! mixed version ranges, or N endpoints that never answer. Writes the targets to a file, then
//! serves until standard input closes.
//!
//! ```text
//! cargo run --release --example estate -- live 200 targets.txt
//! cargo run --release --example estate -- dead 1000 dead.txt
//! ```

use std::io::{BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tlsmatrix::lab::{Behaviour, LabServer};
use tlsmatrix::tls::TlsVersion::{self, *};

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
            eprintln!("usage: estate live|dead N TARGETS_FILE");
            std::process::exit(2);
        }
    };
    let port = 4433;
    let mut out = std::fs::File::create(&file).expect("targets file");
    let mut live = Vec::new();
    let mut dead = Vec::new();
    for i in 0..n {
        match mode {
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
    println!("ready");
    std::io::stdout().flush().unwrap();
    // Serve until the benchmark closes our standard input.
    tokio::task::spawn_blocking(|| for _ in std::io::stdin().lock().lines() {})
        .await
        .unwrap();
}
