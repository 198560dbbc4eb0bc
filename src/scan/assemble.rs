//! Assembly: finished rows become endpoints with their verdicts, and the report.

use std::collections::BTreeMap;

use crate::analysis::verdict;
use crate::probe::contexts::library_version;
use crate::report::{Endpoint, InputError, Report, ScanOptions, ToolInfo};
use crate::scan::ScanConfig;
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
) -> Report {
    let endpoints: Vec<Endpoint> = rows.into_iter().map(|r| finish_row(r, targets)).collect();
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
        },
        input_errors,
        excluded: Vec::new(),
        summary: Report::count_verdicts(&endpoints),
        vantage_points: Vec::new(),
        endpoints,
    }
}

/// The endpoint of a finished row, taking the row's cells.
fn finish_row(row: Row, targets: &[Target]) -> Endpoint {
    let t = &targets[row.target];
    let (verdict, verdict_detail) = verdict::judge(&row.cells);
    Endpoint {
        target: t.input.clone(),
        host: row.host,
        address: row.address,
        port: row.port,
        protocol: row.protocol,
        sni: row.sni,
        verdict,
        verdict_detail,
        root_dse: row.root_dse,
        seen_by: BTreeMap::new(),
        disagreements: Vec::new(),
        versions: row.cells,
    }
}

pub(super) fn finish(row: &Row, targets: &[Target]) -> Endpoint {
    finish_row(row.clone(), targets)
}

pub(super) fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}
