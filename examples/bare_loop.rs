//! The bare handshake rate: the same OpenSSL contexts the scanner uses, every target x version
//! handshaken once at a fixed concurrency, with no classification, reporting, or second engine.
//! The physical limit a scan of the same endpoints is measured against.
//!
//! ```text
//! cargo run --release --example bare_loop -- targets.txt 64
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tlsmatrix::probe::contexts::{ClientContexts, Offer};
use tlsmatrix::tls::TlsVersion;
use tokio::sync::Semaphore;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file = args
        .first()
        .expect("usage: bare_loop TARGETS [CONCURRENCY]");
    let concurrency: usize = args.get(1).map_or(64, |c| c.parse().expect("a number"));
    let targets: Vec<SocketAddr> = std::fs::read_to_string(file)
        .expect("targets")
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    let versions = [
        TlsVersion::Tls10,
        TlsVersion::Tls11,
        TlsVersion::Tls12,
        TlsVersion::Tls13,
    ];
    let contexts = Arc::new(ClientContexts::new(&versions));
    let sem = Arc::new(Semaphore::new(concurrency));
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for t in &targets {
        for v in versions {
            let permit = sem.clone().acquire_owned().await.unwrap();
            let contexts = contexts.clone();
            let t = *t;
            set.spawn(async move {
                let _p = permit;
                let Some(Offer::Ready(ctx)) = contexts.get(v) else {
                    return false;
                };
                let Ok(tcp) = tokio::net::TcpStream::connect(t).await else {
                    return false;
                };
                let ssl = openssl::ssl::Ssl::new(ctx).unwrap();
                let mut s = tokio_openssl::SslStream::new(ssl, tcp).unwrap();
                std::pin::Pin::new(&mut s).connect().await.is_ok()
            });
        }
    }
    let mut ok = 0usize;
    let mut total = 0usize;
    while let Some(r) = set.join_next().await {
        total += 1;
        ok += r.unwrap_or(false) as usize;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "probes={total} handshakes={ok} seconds={secs:.3} rate={:.1}",
        total as f64 / secs
    );
}
