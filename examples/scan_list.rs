//! Scan a list of targets from Rust and read the results.
//!
//! ```text
//! cargo run --example scan_list -- ldaps://dc1.example.com dc2.example.com:3269
//! cargo run --example scan_list            # no arguments: scans two local lab servers
//! ```

use std::net::SocketAddr;

use tlsmatrix::lab::{Behaviour, LabServer};
use tlsmatrix::report::{Status, TlsVersion};
use tlsmatrix::scan::{ScanConfig, Silent, scan};
use tlsmatrix::target::parse_target;

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // Without arguments, start two servers on loopback: one before and one after enforcement.
    let mut lab = Vec::new();
    if args.is_empty() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        for (min, max) in [
            (TlsVersion::Tls10, TlsVersion::Tls13),
            (TlsVersion::Tls12, TlsVersion::Tls13),
        ] {
            let server = LabServer::start(any, Behaviour::tls(min, max))
                .await
                .expect("lab server");
            args.push(server.addr().to_string());
            lab.push(server);
        }
    }

    let mut targets = Vec::new();
    for a in &args {
        match parse_target(a) {
            Ok(t) => targets.push(t),
            Err(e) => eprintln!("skipping {a}: {e}"),
        }
    }
    let config = ScanConfig {
        versions: vec![
            TlsVersion::Tls10,
            TlsVersion::Tls11,
            TlsVersion::Tls12,
            TlsVersion::Tls13,
        ],
        ..ScanConfig::default()
    };
    let report = scan(&config, targets, Vec::new(), Default::default(), &Silent).await;

    for e in &report.endpoints {
        let accepted: Vec<&str> = e
            .versions
            .iter()
            .filter(|(_, c)| c.status() == Status::Accepted)
            .map(|(v, _)| v.name())
            .collect();
        let address = e
            .address
            .map(|a| a.to_string())
            .unwrap_or_else(|| "-".into());
        println!(
            "{} ({address}): {} [accepts: {}]",
            e.target,
            e.verdict_detail,
            accepted.join(", ")
        );
    }
}
