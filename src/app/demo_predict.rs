//! The demo's last part: the lab's clients, captured, and who of them will break once the DC
//! accepts only TLS 1.2 with ECDHE-RSA AES-GCM suites.
//!
//! Four clients, each on its own loopback address, talk to a DC that accepts TLS 1.0 to 1.3:
//! one that only speaks TLS 1.0, one with TLS 1.2 but only RSA key exchange suites (none of
//! which the hardened DC accepts), and two modern ones. Their connections are recorded into a
//! pcap file (`lab::recorder`), read back as `clients` reads any capture, and each client's own
//! hello is replayed to the hardened DC; two built-in profiles join them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use openssl::ssl::{HandshakeError, Ssl, SslContext, SslMethod, SslVersion};
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::lab::recorder::Recording;
use crate::lab::{Behaviour, LabServer};
use crate::output::{Format, Look, write_client_hellos, write_json, write_predict};
use crate::predict::live::{LiveConfig, run};
use crate::predict::{Endpoint, Mode, PredictReport, SCHEMA_VERSION, clients, profiles};
use crate::report::{Protocol, TlsVersion};

/// A lab client: its address, and what its OpenSSL context allows.
struct LabClient {
    address: Ipv4Addr,
    min: SslVersion,
    max: SslVersion,
    ciphers: &'static str,
}

const CLIENTS: [LabClient; 4] = [
    // A legacy application: TLS 1.0 and nothing newer.
    LabClient {
        address: Ipv4Addr::new(127, 0, 0, 21),
        min: SslVersion::TLS1,
        max: SslVersion::TLS1,
        ciphers: "DEFAULT:@SECLEVEL=0",
    },
    // TLS 1.2, but RSA key exchange suites only, as some old Java and appliance clients.
    LabClient {
        address: Ipv4Addr::new(127, 0, 0, 22),
        min: SslVersion::TLS1,
        max: SslVersion::TLS1_2,
        ciphers: "AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA:@SECLEVEL=0",
    },
    // Modern clients.
    LabClient {
        address: Ipv4Addr::new(127, 0, 0, 23),
        min: SslVersion::TLS1_2,
        max: SslVersion::TLS1_3,
        ciphers: "DEFAULT",
    },
    LabClient {
        address: Ipv4Addr::new(127, 0, 0, 24),
        min: SslVersion::TLS1_2,
        max: SslVersion::TLS1_2,
        ciphers: "ECDHE+AESGCM",
    },
];

/// Connect one lab client to `server` through the recording, and finish its handshake.
async fn connect(
    client: &LabClient,
    server: SocketAddr,
    recording: &Recording,
) -> Result<(), String> {
    let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::new(IpAddr::V4(client.address), 0))
        .map_err(|e| format!("bind {}: {e}", client.address))?;
    let tcp = socket.connect(server).await.map_err(|e| e.to_string())?;
    let local = tcp.local_addr().map_err(|e| e.to_string())?;
    let tcp = tcp.into_std().map_err(|e| e.to_string())?;
    tcp.set_nonblocking(false).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let stream = recording
        .wrap(tcp, local, server)
        .map_err(|e| e.to_string())?;
    let (min, max, ciphers) = (client.min, client.max, client.ciphers);
    tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut b = SslContext::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
        b.set_security_level(0);
        b.set_min_proto_version(Some(min))
            .map_err(|e| e.to_string())?;
        b.set_max_proto_version(Some(max))
            .map_err(|e| e.to_string())?;
        b.set_cipher_list(ciphers).map_err(|e| e.to_string())?;
        let mut ssl = Ssl::new(&b.build()).map_err(|e| e.to_string())?;
        ssl.set_hostname("dc1.lab.test")
            .map_err(|e| e.to_string())?;
        let mut s = ssl.connect(stream).map_err(|e| match e {
            HandshakeError::SetupFailure(e) => e.to_string(),
            HandshakeError::Failure(m) | HandshakeError::WouldBlock(m) => m.error().to_string(),
        })?;
        let _ = s.shutdown();
        Ok(())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Capture the lab's clients, predict, print both. Returns false when interrupted.
pub(crate) async fn show(
    look: Look,
    save: Option<&Path>,
    cancel: CancellationToken,
) -> Result<bool, Error> {
    let lab = |e: String| Error::Lab(std::io::Error::other(e));
    let bind = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let before = LabServer::start(
        bind,
        Behaviour::Tls {
            min: TlsVersion::Tls10,
            max: TlsVersion::Tls13,
            ciphers: Some("ALL:@SECLEVEL=0".into()),
        },
    )
    .await
    .map_err(Error::Lab)?;
    let after = LabServer::start(
        bind,
        Behaviour::Tls {
            min: TlsVersion::Tls12,
            max: TlsVersion::Tls13,
            ciphers: Some("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384".into()),
        },
    )
    .await
    .map_err(Error::Lab)?;

    let recording = Recording::default();
    for c in &CLIENTS {
        connect(c, before.addr(), &recording).await.map_err(lab)?;
    }
    let dir = tempfile::tempdir().map_err(Error::Lab)?;
    let pcap = match save {
        Some(d) => d.join("clients.pcap"),
        None => dir.path().join("clients.pcap"),
    };
    crate::app::save(&pcap, |w| w.write_all(&recording.pcap()))?;
    let seen = crate::capture::analyze(&[pcap.to_string_lossy().into_owned()], Vec::new());
    crate::app::to_stdout(|w| {
        writeln!(w, "== The lab's clients, captured ==")?;
        write_client_hellos(&seen, look, w)?;
        writeln!(w)
    })?;

    let mut replayed = clients::from_offers(&seen.hellos, &seen.offers).map_err(lab)?;
    let profiles =
        profiles::select(&["windows-7-tls12".into(), "windows-10-1809".into()]).map_err(lab)?;
    replayed.extend(clients::from_profiles(&profiles));
    let endpoints = vec![Endpoint {
        target: format!("ldaps://dc1.lab.test:{}", after.addr().port()),
        host: "dc1.lab.test".into(),
        address: Some(after.addr().ip()),
        port: after.addr().port(),
        protocol: Protocol::Ldaps,
        sni: Some("dc1.lab.test".into()),
        unresolved: None,
    }];
    let config = LiveConfig {
        mode: Mode::Tls12Only,
        limits: crate::probe::Limits {
            connect_timeout: std::time::Duration::from_secs(5),
            timeout: std::time::Duration::from_secs(10),
            retries: 0,
        },
        concurrency: 16,
        per_host: 4,
    };
    let (cells, complete) = run(&config, &replayed, &endpoints, &cancel).await;
    let report = PredictReport {
        schema_version: SCHEMA_VERSION,
        mode: Mode::Tls12Only,
        clients: replayed.into_iter().map(|r| r.client).collect(),
        endpoints,
        cells,
        input_errors: Vec::new(),
        own_probes: seen.own_probes,
        scan: None,
        complete,
    };
    crate::app::to_stdout(|w| {
        writeln!(
            w,
            "== Who will break when dc1 takes TLS 1.2+ with ECDHE-RSA AES-GCM only =="
        )?;
        write_predict(&report, Format::Table, look, w)?;
        writeln!(w)
    })?;
    if let Some(d) = save {
        let path = d.join("predict.json");
        crate::app::save(&path, |w| write_json(&report, w))?;
        // The same for people: clients x endpoints as a page.
        let page = d.join("predict.html");
        crate::app::save(&page, |w| {
            crate::output::html::write_predict(&report, &crate::output::html::Meta::now(), w)
        })?;
        eprintln!(
            "saved {}, {} and {}",
            pcap.display(),
            path.display(),
            page.display()
        );
    }
    before.shutdown().await;
    after.shutdown().await;
    Ok(complete)
}
