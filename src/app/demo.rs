//! `tlsmatrix demo`: a small estate on loopback, scanned before and after "TLS 1.2 only".

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio_util::sync::CancellationToken;

use crate::app::exit::Exit;
use crate::config::DemoJob;
use crate::error::Error;
use crate::lab::{Behaviour, Identity, LabServer, RdpReply, StartTlsReply, pki};
use crate::output::{Format, html, write_diff, write_json, write_table};
use crate::probe::ldap::ResultCode;
use crate::report::{Report, TlsVersion};
use crate::scan::{ScanConfig, Silent, scan};
use crate::target::{ResolveOverrides, Target, parse_target};

/// One service of the lab, as it behaves before and after enforcement, and the certificate it
/// presents.
struct Service {
    name: &'static str,
    scheme: &'static str,
    before: Behaviour,
    after: Behaviour,
    identity: Option<Identity>,
}

/// The lab's certificates: a CA of its own; dc1's certificate expires in 12 days (inside the
/// 30-day warning); dc1's RDP certificate is self-signed, as usual; dc2's is fresh; the web
/// server's is for another name.
struct LabCerts {
    ca: pki::Issued,
    dc1: Identity,
    dc1_rdp: Identity,
    dc2: Identity,
    web: Identity,
}

fn lab_certs() -> Result<LabCerts, openssl::error::ErrorStack> {
    let ca = pki::issue(&pki::CertSpec::ca("tlsmatrix lab CA"), None)?;
    let server = |name: &str, days: i64| -> Result<Identity, openssl::error::ErrorStack> {
        let spec = pki::CertSpec::server(name).days(-353, days);
        Ok(Identity::new(&pki::issue(&spec, Some(&ca))?, &[]))
    };
    Ok(LabCerts {
        dc1: server("dc1.lab.test", 12)?.host_name("dc1.lab.test"),
        dc1_rdp: Identity::new(
            &pki::issue(&pki::CertSpec::server("dc1.lab.test"), None)?,
            &[],
        ),
        dc2: server("dc2.lab.test", 365)?.host_name("dc2.lab.test"),
        web: server("intranet.lab.test", 200)?,
        ca,
    })
}

fn services(certs: &LabCerts) -> Vec<Service> {
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
            identity: Some(certs.dc1.clone()),
            before: ldap(ok(), Tls10, Tls13),
            after: ldap(ok(), Tls12, Tls13),
        },
        Service {
            name: "dc1.lab.test",
            scheme: "ldaps",
            identity: Some(certs.dc1.clone()),
            before: ldap(None, Tls10, Tls13),
            after: ldap(None, Tls12, Tls13),
        },
        Service {
            name: "dc1.lab.test",
            scheme: "gcs",
            identity: Some(certs.dc1.clone()),
            // A Global Catalog on an older server: no TLS 1.3.
            before: ldap(None, Tls10, Tls12),
            after: ldap(None, Tls12, Tls12),
        },
        Service {
            name: "dc1.lab.test",
            scheme: "rdp",
            identity: Some(certs.dc1_rdp.clone()),
            // Windows' default security layer: Standard RDP Security for old clients too.
            before: Behaviour::Rdp(RdpReply::Negotiate {
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
            identity: Some(certs.dc2.clone()),
            // No certificate for LDAP over TLS yet: LDAPS handshakes are reset...
            before: Behaviour::Reset,
            after: ldap(None, Tls12, Tls13),
        },
        Service {
            name: "dc2.lab.test",
            scheme: "ldap",
            identity: Some(certs.dc2.clone()),
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
            identity: Some(certs.web.clone()),
            before: Behaviour::tls(Tls12, Tls13),
            after: Behaviour::tls(Tls12, Tls13),
        },
    ]
}

pub async fn run(job: DemoJob, cancel: CancellationToken) -> Result<Exit, Error> {
    let look = job.look;
    let certs = lab_certs().map_err(|e| Error::Lab(std::io::Error::other(e)))?;
    // The lab's CA is trusted as an enterprise CA would be, through a --ca-file.
    let trust_dir = tempfile::tempdir().map_err(Error::Lab)?;
    let ca_file = trust_dir.path().join("lab-ca.pem");
    std::fs::write(&ca_file, pki::pem(&[&certs.ca.cert])).map_err(Error::Lab)?;
    let services = services(&certs);
    // The same ports before and after, so that the two scans compare endpoint by endpoint.
    let mut ports = Vec::new();
    let mut reports = Vec::new();
    for (label, after) in [("before", false), ("after", true)] {
        let report = scan_lab(
            &services,
            &mut ports,
            label,
            after,
            &ca_file,
            job.suites,
            cancel.clone(),
        )
        .await?;
        let title = if after {
            "After enforcement (TLS 1.2 and newer only)"
        } else {
            "Before enforcement"
        };
        crate::app::to_stdout(|w| {
            writeln!(w, "== {title} ==")?;
            write_table(&report, look, w)?;
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
        write_diff(&d, Format::Table, look, false, w)?;
        writeln!(w)
    })?;
    if let Some(dir) = &job.save {
        std::fs::create_dir_all(dir).map_err(|source| Error::WriteOutput {
            path: dir.clone(),
            source,
        })?;
        let mut files = Vec::new();
        for r in &reports {
            let name = format!("{}.json", r.label.as_deref().unwrap_or("scan"));
            let path = dir.join(&name);
            crate::app::save(&path, |w| write_json(r, w))?;
            eprintln!("saved {}", path.display());
            files.push(name);
        }
        // The before/after page for people, made of the files beside it.
        let d = crate::analysis::diff::diff(
            &reports[0],
            &reports[1],
            (Some(&files[0]), Some(&files[1])),
            &Default::default(),
        );
        let path = dir.join("report.html");
        crate::app::save(&path, |w| {
            html::write_diff(
                &html::DiffPage {
                    diff: &d,
                    before: Some(html::Source {
                        report: &reports[0],
                        file: Some(&files[0]),
                    }),
                    after: Some(html::Source {
                        report: &reports[1],
                        file: Some(&files[1]),
                    }),
                    allow_inconclusive: false,
                },
                &html::Meta::now(),
                w,
            )
        })?;
        eprintln!("saved {}", path.display());
    }
    // Who of the lab's clients will break, from a capture of them.
    if !crate::app::demo_predict::show(look, job.save.as_deref(), cancel).await? {
        return Ok(Exit::Interrupted);
    }
    crate::app::to_stdout(|w| {
        crate::output::say(
            w,
            look,
            "The lab servers ran on 127.0.0.1; their names are pinned as --resolve would pin them. \
             Certificates were verified against the lab's own CA, as --ca-file would have it.",
        )
    })?;
    Ok(Exit::Ok)
}

async fn scan_lab(
    services: &[Service],
    ports: &mut Vec<u16>,
    label: &str,
    after: bool,
    ca_file: &std::path::Path,
    suites: bool,
    cancel: CancellationToken,
) -> Result<Report, Error> {
    let mut servers = Vec::new();
    let mut targets: Vec<Target> = Vec::new();
    let mut resolve = ResolveOverrides::default();
    for (i, s) in services.iter().enumerate() {
        let behaviour = if after { &s.after } else { &s.before };
        let port = ports.get(i).copied().unwrap_or(0);
        let bind = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        let server = LabServer::start_again_as(bind, behaviour.clone(), s.identity.clone())
            .await
            .map_err(Error::Lab)?;
        let port = server.addr().port();
        if ports.len() <= i {
            ports.push(port);
        }
        targets.push(parse_target(&format!("{}://{}:{port}", s.scheme, s.name)).expect("valid"));
        resolve.add(s.name, Some(port), vec![server.addr().ip()]);
        servers.push(server);
    }
    let mut config = ScanConfig {
        resolve,
        label: Some(label.to_string()),
        suites,
        ..ScanConfig::default()
    };
    config.certificates.trust.ca_file = Some(ca_file.to_path_buf());
    let report = scan(&config, targets, Vec::new(), cancel, &Silent).await;
    for s in servers {
        s.shutdown().await;
    }
    Ok(report)
}
