//! Assembly: finished rows become endpoints with their verdicts, and the report.

use std::collections::BTreeMap;

use crate::analysis::{certs, verdict};
use crate::probe::contexts::library_version;
use crate::report::{Endpoint, InputError, Report, ScanOptions, ToolInfo};
use crate::scan::ScanConfig;
use crate::scan::certs::CertJudge;
use crate::scan::row::Row;
use crate::target::Target;

/// The report of a scan, from its rows.
pub(super) fn report(
    config: &ScanConfig,
    rows: Vec<Row>,
    targets: &[Target],
    input_errors: Vec<InputError>,
    started: String,
    interrupted: bool,
    judge: &CertJudge<'_>,
) -> Report {
    let mut rows = rows;
    for row in &mut rows {
        judge.settle(row);
    }
    let endpoints: Vec<Endpoint> = rows.into_iter().map(|r| finish_row(r, targets)).collect();
    let certificate_consistency = certs::consistency(&endpoints);
    Report {
        schema_version: crate::report::SCHEMA_VERSION,
        tool: ToolInfo {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        tls_library: library_version(),
        label: config.label.clone(),
        scanner: gethostname::gethostname().into_string().ok(),
        started,
        finished: now_rfc3339(),
        complete: !interrupted,
        options: ScanOptions {
            versions: config.versions.clone(),
            concurrency: config.concurrency,
            per_host: config.per_host,
            connect_timeout_ms: config.connect_timeout.as_millis() as u64,
            timeout_ms: config.timeout.as_millis() as u64,
            retries: config.retries,
            sni: config.sni.clone(),
            ldap_check: config.ldap_check,
            engine: config.engine,
            cert_warn_days: config.certificates.warn_days,
            trust_store: judge.trust().map(|t| t.description.clone()),
            suites: config.suites,
        },
        input_errors,
        excluded: Vec::new(),
        warnings: Vec::new(),
        summary: Report::count_verdicts(&endpoints),
        vantage_points: Vec::new(),
        endpoints,
        certificate_consistency,
    }
}

/// The endpoint of a finished row, taking the row's cells.
fn finish_row(row: Row, targets: &[Target]) -> Endpoint {
    let t = &targets[row.target];
    let versions = row.cells.into_map();
    let (verdict, mut verdict_detail) = verdict::judge(&versions);
    if let Some((found, why)) = &row.rdp_standard {
        verdict_detail = format!("{verdict_detail}; {} ({why})", found.sentence());
    }
    Endpoint {
        target: t.input.clone(),
        host: row.host,
        address: row.address,
        port: row.port,
        protocol: row.protocol,
        sni: row.sni,
        verdict,
        verdict_detail,
        root_dse: row.root_dse.map(|d| *d),
        certificate: row.certificate,
        seen_by: BTreeMap::new(),
        disagreements: Vec::new(),
        rdp_standard_security: row.rdp_standard.map(|(found, _)| found),
        connections: Some(row.connections),
        suites: row.suites,
        versions,
    }
}

/// What makes the endpoint of a row whose cells are all in: its certificate judged, then the
/// endpoint.
pub(super) struct Finisher<'a> {
    pub(super) targets: &'a [Target],
    pub(super) judge: &'a CertJudge<'a>,
}

impl Finisher<'_> {
    pub(super) fn complete(&self, row: &mut Row) -> Endpoint {
        self.judge.settle(row);
        finish(row, self.targets)
    }
}

pub(super) fn finish(row: &Row, targets: &[Target]) -> Endpoint {
    finish_row(row.clone(), targets)
}

pub(super) fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}
