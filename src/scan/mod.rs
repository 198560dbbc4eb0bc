//! A scan: every target, every configured version, collected into a report. Four steps:
//! [`resolve`] (targets to rows, one per address), [`plan`] (what each address must probe),
//! [`dispatch`] (bounded fan-out, cancellation) and [`assemble`] (verdicts and the report).

mod assemble;
mod certs;
mod dispatch;
mod plan;
mod resolve;
mod row;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use dispatch::{MAX_OPEN, open_budget};

use crate::cert::{self, trust::TrustSources};
use crate::probe::contexts::ClientContexts;
use crate::report::{Cell, Endpoint, Engine, InputError, Outcome, Report, TlsVersion};
use crate::target::{ResolveOverrides, Target};

/// Everything a scan needs to know, validated.
#[derive(Clone, Debug)]
pub struct ScanConfig {
    pub versions: Vec<TlsVersion>,
    pub concurrency: usize,
    pub per_host: usize,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub retries: u32,
    /// Server name to send instead of each target's host name.
    pub sni: Option<String>,
    pub resolve: ResolveOverrides,
    pub label: Option<String>,
    /// Search the RootDSE after each accepted handshake on LDAP endpoints.
    pub ldap_check: bool,
    /// Which probe engines decide the cells.
    pub engine: Engine,
    /// Endpoints matching one of these patterns are left out (and listed as excluded).
    pub exclude: Vec<String>,
    /// How certificates are judged.
    pub certificates: CertConfig,
    /// Enumerate the suites, groups and signature algorithms of each accepted version.
    pub suites: bool,
    /// TCP connects in flight at most (each holds a file descriptor until its connection is
    /// closed); `None`: from the open-file limit.
    pub max_open: Option<usize>,
}

/// How certificates are judged: the `expires_soon` threshold, where trusted CAs are, and the
/// AD domain whose `*.DOMAIN` wildcard is checked.
#[derive(Clone, Debug)]
pub struct CertConfig {
    pub warn_days: u32,
    pub trust: TrustSources,
    pub domain: Option<String>,
}

impl Default for CertConfig {
    fn default() -> Self {
        CertConfig {
            warn_days: cert::DEFAULT_WARN_DAYS,
            trust: TrustSources::default(),
            domain: None,
        }
    }
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            versions: TlsVersion::ALL.to_vec(),
            concurrency: 64,
            per_host: 4,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            retries: 0,
            sni: None,
            resolve: ResolveOverrides::default(),
            label: None,
            ldap_check: true,
            engine: Engine::Both,
            exclude: Vec::new(),
            certificates: CertConfig::default(),
            suites: false,
            max_open: None,
        }
    }
}

/// Told about progress while a scan runs. Called from the scan's task; keep it quick.
pub trait ScanObserver: Send + Sync {
    /// The number of endpoints (rows) is known.
    fn started(&self, _endpoints: usize) {}
    /// One endpoint has all its cells.
    fn endpoint_done(&self, _endpoint: &Endpoint) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl ScanObserver for Silent {}

/// Scan every target with every configured version. Never fails: what goes wrong with an
/// endpoint is recorded in its cells. Cancelling stops new probes and returns what is done,
/// with `complete: false` and the cells never probed marked `interrupted`.
pub async fn scan(
    config: &ScanConfig,
    targets: Vec<Target>,
    input_errors: Vec<InputError>,
    cancel: CancellationToken,
    observer: &dyn ScanObserver,
) -> Report {
    let started = assemble::now_rfc3339();
    let contexts = Arc::new(ClientContexts::new(&config.versions));
    let judge = certs::CertJudge::new(&config.certificates);
    let mut rows = resolve::rows(config, &targets, &cancel).await;
    let excluded = plan::exclude(config, &mut rows, &targets);
    observer.started(rows.len());
    let done = plan::prefill(config, &contexts, &mut rows);
    for (row, _) in rows.iter().zip(&done).filter(|(_, d)| **d) {
        observer.endpoint_done(&assemble::finish(row, &targets));
    }
    let work = plan::work(config, &mut rows, &done);
    let interrupted = dispatch::run(
        config,
        contexts,
        work,
        &mut rows,
        &cancel,
        observer,
        &assemble::Finisher {
            targets: &targets,
            judge: &judge,
        },
    )
    .await;
    if interrupted {
        for row in &mut rows {
            for v in &config.versions {
                row.cells
                    .entry(*v)
                    .or_insert_with(|| Cell::unprobed(Outcome::Interrupted));
            }
        }
    }
    let mut report = assemble::report(
        config,
        rows,
        &targets,
        input_errors,
        started,
        interrupted,
        &judge,
    );
    report.excluded = excluded;
    report
}
