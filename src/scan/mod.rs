//! A scan: every target, every configured version, collected into a report. Four steps:
//! [`resolve`] (targets to rows, one per address), [`plan`] (what each address must probe),
//! [`dispatch`] (bounded fan-out, cancellation) and [`assemble`] (verdicts and the report).

mod assemble;
mod dispatch;
mod plan;
mod resolve;
mod row;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

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

/// The two limits of a scan (probes in flight overall, and against one address), held by
/// permits that several scans running at once can share: the exporter's concurrent probes take
/// them from one `SharedLimits`, so two scrapes of the same domain controller never double its
/// load.
pub struct SharedLimits {
    global: Arc<Semaphore>,
    per_host: usize,
    /// One semaphore per address while some scan holds it; dead entries are swept as it grows.
    hosts: Mutex<HashMap<IpAddr, Weak<Semaphore>>>,
}

impl SharedLimits {
    pub fn new(concurrency: usize, per_host: usize) -> Self {
        SharedLimits {
            global: Arc::new(Semaphore::new(concurrency.max(1))),
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The permits of the global limit.
    pub(crate) fn global(&self) -> Arc<Semaphore> {
        self.global.clone()
    }

    /// The per-address semaphore, shared with every scan that probes the address now.
    pub(crate) fn host(&self, addr: IpAddr) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().expect("lock");
        if let Some(s) = hosts.get(&addr).and_then(Weak::upgrade) {
            return s;
        }
        let s = Arc::new(Semaphore::new(self.per_host));
        hosts.insert(addr, Arc::downgrade(&s));
        // Forget addresses no scan holds any more, so the map does not grow with every address
        // ever probed (amortised: only when it has doubled since the last sweep).
        if hosts.len() > 64 && hosts.len().is_power_of_two() {
            hosts.retain(|_, w| w.strong_count() > 0);
        }
        s
    }

    /// Addresses some scan holds a per-host semaphore for now.
    pub fn hosts_held(&self) -> usize {
        let hosts = self.hosts.lock().expect("lock");
        hosts.values().filter(|w| w.strong_count() > 0).count()
    }
}

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
    let limits = Arc::new(SharedLimits::new(config.concurrency, config.per_host));
    scan_within(config, targets, input_errors, cancel, observer, &limits).await
}

/// [`scan`], with its probes counted against limits shared with other scans (`config`'s own
/// `concurrency` and `per_host` are then only recorded in the report).
pub async fn scan_within(
    config: &ScanConfig,
    targets: Vec<Target>,
    input_errors: Vec<InputError>,
    cancel: CancellationToken,
    observer: &dyn ScanObserver,
    shared: &Arc<SharedLimits>,
) -> Report {
    let started = assemble::now_rfc3339();
    let contexts = Arc::new(ClientContexts::new(&config.versions));
    let mut rows = resolve::rows(config, &targets, &cancel).await;
    let excluded = plan::exclude(config, &mut rows, &targets);
    observer.started(rows.len());
    let done = plan::prefill(config, &contexts, &mut rows);
    for (row, _) in rows.iter().zip(&done).filter(|(_, d)| **d) {
        observer.endpoint_done(&assemble::finish(row, &targets));
    }
    let work = plan::work(config, &rows, &done);
    let means = dispatch::Means {
        contexts,
        limits: shared.clone(),
    };
    let interrupted =
        dispatch::run(config, means, work, &mut rows, &targets, &cancel, observer).await;
    if interrupted {
        for row in &mut rows {
            for v in &config.versions {
                row.cells
                    .entry(*v)
                    .or_insert_with(|| Cell::unprobed(Outcome::Interrupted));
            }
        }
    }
    let mut report = assemble::report(config, rows, &targets, input_errors, started, interrupted);
    report.excluded = excluded;
    report
}
