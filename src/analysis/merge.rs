//! Scans of one estate from several vantage points, merged into one report.
//!
//! Each endpoint keeps what every vantage point saw (`seen_by`). Its combined cell per version
//! is the shared decided answer; when vantage points gave different decided answers (accepted
//! from one, refused from another), the combined cell is an `error` that says so and the
//! disagreement is listed: it is shown, never resolved quietly.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::analysis::verdict;
use crate::report::{
    Cell, Endpoint, Outcome, Proof, Protocol, RdpStandardSecurity, Report, Status, TlsVersion,
    VantagePoint,
};

type Key = (String, Option<IpAddr>, u16, Protocol);

/// What a decided cell says, for comparing vantage points; `None` when it proves nothing.
fn class(c: &Cell) -> Option<&'static str> {
    match c.proof() {
        Proof::Accepted { works: true } => Some("accepted"),
        Proof::Accepted { works: false } => Some("accepted without an LDAP answer"),
        Proof::Refused => Some("refused"),
        Proof::Unproven(_) => None,
    }
}

/// A name per report: its label, else its scanning host, else its file; made unique.
fn names(reports: &[(String, Report)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (file, r) in reports {
        let base = r
            .label
            .clone()
            .or_else(|| r.scanner.clone())
            .unwrap_or_else(|| file.clone());
        let mut name = base.clone();
        let mut n = 2;
        while out.contains(&name) {
            name = format!("{base}#{n}");
            n += 1;
        }
        out.push(name);
    }
    out
}

/// Merge reports given with the file each came from.
pub fn merge(reports: &[(String, Report)], label: Option<String>) -> Report {
    let names = names(reports);
    let mut order: Vec<Key> = Vec::new();
    let mut seen: BTreeMap<Key, Vec<(String, &Endpoint)>> = BTreeMap::new();
    for ((_, r), name) in reports.iter().zip(&names) {
        for e in &r.endpoints {
            let key = (e.target.clone(), e.address, e.port, e.protocol);
            if !seen.contains_key(&key) {
                order.push(key.clone());
            }
            seen.entry(key).or_default().push((name.clone(), e));
        }
    }
    let endpoints: Vec<Endpoint> = order.iter().map(|k| combine(&seen[k])).collect();
    let first = &reports[0].1;
    let mut versions: Vec<TlsVersion> = reports
        .iter()
        .flat_map(|(_, r)| r.options.versions.iter().copied())
        .collect();
    versions.sort();
    versions.dedup();
    let mut options = first.options.clone();
    options.versions = versions;
    Report {
        schema_version: crate::report::SCHEMA_VERSION,
        tool: first.tool.clone(),
        tls_library: first.tls_library.clone(),
        label: label.or_else(|| Some("merged".into())),
        scanner: None,
        started: reports
            .iter()
            .map(|(_, r)| r.started.clone())
            .min()
            .unwrap_or_default(),
        finished: reports
            .iter()
            .map(|(_, r)| r.finished.clone())
            .max()
            .unwrap_or_default(),
        complete: reports.iter().all(|(_, r)| r.complete),
        options,
        input_errors: reports
            .iter()
            .flat_map(|(_, r)| r.input_errors.iter().cloned())
            .collect(),
        warnings: reports
            .iter()
            .flat_map(|(_, r)| r.warnings.iter().cloned())
            .collect(),
        excluded: reports
            .iter()
            .flat_map(|(_, r)| r.excluded.iter().cloned())
            .collect(),
        summary: Report::count_verdicts(&endpoints),
        vantage_points: reports
            .iter()
            .zip(&names)
            .map(|((_, r), name)| VantagePoint {
                name: name.clone(),
                label: r.label.clone(),
                scanner: r.scanner.clone(),
                started: r.started.clone(),
                finished: r.finished.clone(),
            })
            .collect(),
        certificate_consistency: super::certs::consistency(&endpoints),
        endpoints,
    }
}

pub(crate) fn combine(views: &[(String, &Endpoint)]) -> Endpoint {
    let base = views[0].1;
    let mut all: Vec<TlsVersion> = views
        .iter()
        .flat_map(|(_, e)| e.versions.keys().copied())
        .collect();
    all.sort();
    all.dedup();
    let mut versions = BTreeMap::new();
    let mut disagreements = Vec::new();
    for v in all {
        let cells: Vec<(&str, &Cell)> = views
            .iter()
            .filter_map(|(n, e)| e.versions.get(&v).map(|c| (n.as_str(), c)))
            .collect();
        let decided: Vec<(&str, &Cell, &str)> = cells
            .iter()
            .filter_map(|(n, c)| class(c).map(|k| (*n, *c, k)))
            .collect();
        let cell = match decided.first() {
            None => cells[0].1.clone(),
            Some((_, c, k)) if decided.iter().all(|(_, _, k2)| k2 == k) => (*c).clone(),
            Some(_) => {
                let who: Vec<String> = cells
                    .iter()
                    .map(|(n, c)| format!("{n}: {}", short(c)))
                    .collect();
                let text = format!("{}: vantage points disagree ({})", v.name(), who.join("; "));
                disagreements.push(text.clone());
                Cell::unprobed(Outcome::Error(text))
            }
        };
        versions.insert(v, cell);
    }
    let (verdict, mut verdict_detail) = verdict::judge(&versions);
    // Allowed from any vantage point is allowed.
    let rdp_standard_security = [
        RdpStandardSecurity::Allowed,
        RdpStandardSecurity::Refused,
        RdpStandardSecurity::Unknown,
    ]
    .into_iter()
    .find(|s| {
        views
            .iter()
            .any(|(_, e)| e.rdp_standard_security == Some(*s))
    });
    if let Some(s) = rdp_standard_security {
        verdict_detail = format!("{verdict_detail}; {}", s.sentence());
    }

    // The same server should show every vantage point the same certificate; one that does not
    // may sit behind something that intercepts TLS.
    let certs: Vec<(&str, &str)> = views
        .iter()
        .filter_map(|(n, e)| {
            let leaf = e.certificate.as_ref()?.leaf()?;
            Some((n.as_str(), leaf.sha256.as_str()))
        })
        .collect();
    if certs.iter().any(|(_, fp)| *fp != certs[0].1) {
        let who: Vec<String> = certs
            .iter()
            .map(|(n, fp)| format!("{n}: sha256 {}...", fp.chars().take(11).collect::<String>()))
            .collect();
        disagreements.push(format!(
            "certificate: vantage points saw different certificates ({})",
            who.join("; ")
        ));
    }
    let suites = merged_suites(views, &mut disagreements);
    Endpoint {
        target: base.target.clone(),
        host: base.host.clone(),
        address: base.address,
        port: base.port,
        protocol: base.protocol,
        sni: base.sni.clone(),
        verdict,
        verdict_detail,
        root_dse: views.iter().find_map(|(_, e)| e.root_dse.clone()),
        certificate: views.iter().find_map(|(_, e)| e.certificate.clone()),
        versions,
        seen_by: views
            .iter()
            .map(|(n, e)| (n.clone(), e.versions.clone()))
            .collect(),
        disagreements,
        rdp_standard_security,
        suites,
        connections: views
            .iter()
            .filter_map(|(_, e)| e.connections)
            .reduce(|a, b| a + b),
    }
}

/// The suites of each version as the first vantage point that enumerated them saw them; a
/// vantage point that saw another set is a disagreement.
fn merged_suites(
    views: &[(String, &Endpoint)],
    disagreements: &mut Vec<String>,
) -> BTreeMap<TlsVersion, crate::report::VersionSuites> {
    let mut out = BTreeMap::new();
    let versions: std::collections::BTreeSet<TlsVersion> = views
        .iter()
        .flat_map(|(_, e)| e.suites.keys().copied())
        .collect();
    for v in versions {
        let seen: Vec<(&str, &crate::report::VersionSuites)> = views
            .iter()
            .filter_map(|(n, e)| e.suites.get(&v).map(|s| (n.as_str(), s)))
            .collect();
        let ids = |s: &crate::report::VersionSuites| {
            let mut ids: Vec<u16> = s.suites.iter().map(|x| x.id).collect();
            ids.sort_unstable();
            ids
        };
        if seen.iter().any(|(_, s)| ids(s) != ids(seen[0].1)) {
            let who: Vec<String> = seen
                .iter()
                .map(|(n, s)| format!("{n}: {}", s.summary()))
                .collect();
            disagreements.push(format!(
                "{}: vantage points saw different suites ({})",
                v.name(),
                who.join("; ")
            ));
        }
        out.insert(v, seen[0].1.clone());
    }
    out
}

fn short(c: &Cell) -> String {
    match c.status() {
        Status::Accepted | Status::NotTestable => c.status().key().replace('_', " "),
        _ => format!("{} ({})", c.status().key(), c.outcome.detail()),
    }
}
