//! `tlsmatrix demo`: a small estate on loopback, scanned before and after "TLS 1.2 only".

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio_util::sync::CancellationToken;

use crate::app::exit::Exit;
use crate::config::DemoJob;
use crate::error::Error;
use crate::lab::{Behaviour, LabServer, RdpReply, StartTlsReply};
use crate::output::{Format, write_diff, write_json, write_table};
use crate::probe::ldap::ResultCode;
use crate::report::{Report, TlsVersion};
use crate::scan::{ScanConfig, Silent, scan};
use crate::target::{ResolveOverrides, Target, parse_target};

/// One service of the lab, as it behaves before and after enforcement.
struct Service {
    name: &'static str,
    scheme: &'static str,
    before: Behaviour,
    after: Behaviour,
}

fn services() -> Vec<Service> {
    use TlsVersion::*;
    let ldap = |starttls: Option<StartTlsReply>, min, max| Behaviour::Ldap {
        starttls,
        min,
        max,
        answers: true,
    };
    let ok = || Some(StartTlsReply::Result(ResultCode::Success));
    vec![
        Service {
            name: "dc1.lab.test",
            scheme: "ldap",
            before: ldap(ok(), Tls10, Tls13),
            after: ldap(ok(), Tls12, Tls13),
        },
        Service {
            name: "dc1.lab.test",
            scheme: "ldaps",
            before: ldap(None, Tls10, Tls13),
            after: ldap(None, Tls12, Tls13),
        },
        Service {
            name: "dc1.lab.test",
            scheme: "gcs",
            // A Global Catalog on an older server: no TLS 1.3.
            before: ldap(None, Tls10, Tls12),
            after: ldap(None, Tls12, Tls12),
        },
        Service {
            name: "dc1.lab.test",
            scheme: "rdp",
            before: Behaviour::Rdp(RdpReply::Tls {
                min: Tls10,
                max: Tls12,
            }),
            after: Behaviour::Rdp(RdpReply::Tls {
                min: Tls12,
                max: Tls12,
            }),
        },
        Service {
            name: "dc2.lab.test",
            scheme: "ldaps",
            // No certificate for LDAP over TLS yet: LDAPS handshakes are reset...
            before: Behaviour::Reset,
            after: ldap(None, Tls12, Tls13),
        },
        Service {
            name: "dc2.lab.test",
            scheme: "ldap",
            // ...and StartTLS is answered with 52 unavailable, as Active Directory does.
            before: Behaviour::Ldap {
                starttls: Some(StartTlsReply::Result(ResultCode::Unavailable)),
                min: Tls10,
                max: Tls13,
                answers: true,
            },
            after: ldap(ok(), Tls12, Tls13),
        },
        Service {
            name: "web.lab.test",
            scheme: "https",
            before: Behaviour::tls(Tls12, Tls13),
            after: Behaviour::tls(Tls12, Tls13),
        },
    ]
}

pub async fn run(job: DemoJob, cancel: CancellationToken) -> Result<Exit, Error> {
    let color = job.color;
    let services = services();
    // The same ports before and after, so that the two scans compare endpoint by endpoint.
    let mut ports = Vec::new();
    let mut reports = Vec::new();
    for (label, after) in [("before", false), ("after", true)] {
        let report = scan_lab(&services, &mut ports, label, after, cancel.clone()).await?;
        let title = if after {
            "After enforcement (TLS 1.2 and newer only)"
        } else {
            "Before enforcement"
        };
        crate::app::to_stdout(|w| {
            writeln!(w, "== {title} ==")?;
            write_table(&report, color, w)?;
            writeln!(w)
        })?;
        if !report.complete {
            return Ok(Exit::Interrupted);
        }
        reports.push(report);
    }
    let d =
        crate::analysis::diff::diff(&reports[0], &reports[1], (None, None), &Default::default());
    crate::app::to_stdout(|w| {
        writeln!(w, "== What changed ==")?;
        write_diff(&d, Format::Table, color, false, w)?;
        writeln!(w)
    })?;
    if let Some(dir) = &job.save {
        std::fs::create_dir_all(dir).map_err(|source| Error::WriteOutput {
            path: dir.clone(),
            source,
        })?;
        for r in &reports {
            let path = dir.join(format!("{}.json", r.label.as_deref().unwrap_or("scan")));
            crate::app::save(&path, |w| write_json(r, w))?;
            eprintln!("saved {}", path.display());
        }
    }
    crate::app::to_stdout(|w| {
        writeln!(
            w,
            "The lab servers ran on 127.0.0.1; their names are pinned as --resolve would pin them."
        )
    })?;
    Ok(Exit::Ok)
}

async fn scan_lab(
    services: &[Service],
    ports: &mut Vec<u16>,
    label: &str,
    after: bool,
    cancel: CancellationToken,
) -> Result<Report, Error> {
    let mut servers = Vec::new();
    let mut targets: Vec<Target> = Vec::new();
    let mut resolve = ResolveOverrides::default();
    for (i, s) in services.iter().enumerate() {
        let behaviour = if after { &s.after } else { &s.before };
        let server = match ports.get(i) {
            Some(&port) => {
                let bind = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
                LabServer::start_again(bind, behaviour.clone()).await
            }
            None => {
                let bind = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
                LabServer::start(bind, behaviour.clone()).await
            }
        }
        .map_err(Error::Lab)?;
        let port = server.addr().port();
        if ports.len() <= i {
            ports.push(port);
        }
        targets.push(parse_target(&format!("{}://{}:{port}", s.scheme, s.name)).expect("valid"));
        resolve.add(s.name, Some(port), vec![server.addr().ip()]);
        servers.push(server);
    }
    let config = ScanConfig {
        resolve,
        label: Some(label.to_string()),
        ..ScanConfig::default()
    };
    let report = scan(&config, targets, Vec::new(), cancel, &Silent).await;
    for s in servers {
        s.shutdown().await;
    }
    Ok(report)
}
