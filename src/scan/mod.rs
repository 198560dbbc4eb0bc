//! A scan: every target, every configured version, collected into a report. Four steps:
//! [`resolve`] (targets to rows, one per address), [`plan`] (what each address must probe),
//! [`dispatch`] (bounded fan-out, cancellation) and [`assemble`] (verdicts and the report).

mod assemble;
mod certs;
mod dispatch;
mod fds;
mod plan;
mod resolve;
mod row;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::cert::{self, trust::TrustSources};
use crate::probe::contexts::ClientContexts;
use crate::report::{Cell, Endpoint, Engine, InputError, Outcome, Report, TlsVersion};
use crate::target::{ResolveOverrides, Target};

pub use fds::{
    MAX_OPEN, allowed_concurrency, open_budget, out_of_descriptors, raise_open_file_limit,
};

/// Sockets one probe holds at once: both engines run side by side.
pub fn sockets_per_probe(engine: Engine) -> usize {
    match engine {
        Engine::Both => 2,
        Engine::Openssl | Engine::Wire => 1,
    }
}

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
    /// The number of probes that will go on the wire is known.
    fn probes_planned(&self, _probes: usize) {}
    /// A probe has its permits and starts; `what` names it (`10.0.0.5:636 TLS 1.0`).
    fn probe_started(&self, _id: ProbeId, _what: &str) {}
    /// A probe (or a job answered without one) is done.
    fn probe_finished(&self, _id: ProbeId) {}
    /// One endpoint has all its cells.
    fn endpoint_done(&self, _endpoint: &Endpoint) {}
}

/// One probe of a scan: its row and version (`None` for the RDP standard-security probe).
pub type ProbeId = (usize, Option<TlsVersion>);

/// An observer that ignores everything.
pub struct Silent;
impl ScanObserver for Silent {}

/// The two limits of a scan (probes in flight overall, and against one address), held by
/// permits that several scans running at once can share: the exporter's concurrent probes take
/// them from one `SharedLimits`, so two scrapes of the same domain controller never double its
/// load.
pub struct SharedLimits {
    /// Handshakes in flight: a connection takes one once TCP is up.
    global: Arc<Semaphore>,
    /// Connections open: a connection takes one before its connect (see `probe::Slots`).
    files: Arc<Semaphore>,
    per_host: usize,
    /// One limit per address while some scan holds it; dead entries are swept as it grows.
    hosts: Mutex<HashMap<IpAddr, Weak<HostLimit>>>,
}

/// The per-address limit, shared by every scan probing the address now.
pub(crate) struct HostLimit {
    permits: Arc<Semaphore>,
    /// Lifted once a version of the address stalled (see `dispatch`): by one scan, for all.
    lifted: AtomicBool,
}

impl HostLimit {
    pub(crate) fn permits(&self) -> Arc<Semaphore> {
        self.permits.clone()
    }

    /// Let the other versions of a stalled address run together (once, whatever the number of
    /// scans that find it stalled).
    pub(crate) fn lift(&self) {
        if !self.lifted.swap(true, Ordering::Relaxed) {
            self.permits.add_permits(Semaphore::MAX_PERMITS / 2);
        }
    }
}

impl SharedLimits {
    /// At most `concurrency` probes at once (fewer if the open-file limit cannot hold that many
    /// probes of both engines), `per_host` against one address.
    pub fn new(concurrency: usize, per_host: usize) -> Self {
        Self::with_max_open(concurrency, per_host, None)
    }

    /// [`SharedLimits::new`], with at most `max_open` connections open at once (default: what
    /// the open-file limit leaves, see [`open_budget`]).
    pub fn with_max_open(concurrency: usize, per_host: usize, max_open: Option<usize>) -> Self {
        let concurrency = allowed_concurrency(concurrency, sockets_per_probe(Engine::Both));
        SharedLimits {
            global: Arc::new(Semaphore::new(concurrency)),
            files: Arc::new(Semaphore::new(open_budget(max_open))),
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The permits of the global limit.
    pub(crate) fn global(&self) -> Arc<Semaphore> {
        self.global.clone()
    }

    /// The permits of open connections.
    pub(crate) fn files(&self) -> Arc<Semaphore> {
        self.files.clone()
    }

    /// The limit of one address, shared with every scan that probes the address now.
    pub(crate) fn host(&self, addr: IpAddr) -> Arc<HostLimit> {
        let mut hosts = self.hosts.lock().expect("lock");
        if let Some(h) = hosts.get(&addr).and_then(Weak::upgrade) {
            return h;
        }
        let h = Arc::new(HostLimit {
            permits: Arc::new(Semaphore::new(self.per_host)),
            lifted: AtomicBool::new(false),
        });
        hosts.insert(addr, Arc::downgrade(&h));
        // Forget addresses no scan holds any more, so the map does not grow with every address
        // ever probed (amortised: only when it has doubled since the last sweep).
        if hosts.len() > 64 && hosts.len().is_power_of_two() {
            hosts.retain(|_, w| w.strong_count() > 0);
        }
        h
    }

    /// Addresses some scan holds a limit for now.
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
    let wanted = allowed_concurrency(config.concurrency, sockets_per_probe(config.engine));
    let limits = Arc::new(SharedLimits::with_max_open(
        wanted,
        config.per_host,
        config.max_open,
    ));
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
    // Never more probes at once than there are file descriptors for: running out would make
    // live endpoints look unreachable.
    let concurrency = allowed_concurrency(config.concurrency, sockets_per_probe(config.engine));
    let config = &ScanConfig {
        concurrency,
        ..config.clone()
    };
    let judge = certs::CertJudge::new(&config.certificates);
    let mut rows = resolve::rows(config, &targets, &cancel).await;
    let excluded = plan::exclude(config, &mut rows, &targets);
    observer.started(rows.len());
    let done = plan::prefill(config, &contexts, &mut rows);
    for (row, _) in rows.iter().zip(&done).filter(|(_, d)| **d) {
        observer.endpoint_done(&assemble::finish(row, &targets));
    }
    let work = plan::work(config, &mut rows, &done);
    observer.probes_planned(work.iter().map(|(_, jobs)| jobs.len()).sum());
    let means = dispatch::Means {
        contexts,
        limits: shared.clone(),
    };
    let interrupted = dispatch::run(
        config,
        means,
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
                    .insert_if_missing(*v, || Cell::unprobed(Outcome::Interrupted));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_of_one_address_share_its_limit_and_lift_it_once() {
        let limits = SharedLimits::new(8, 2);
        let addr: IpAddr = "10.0.0.1".parse().unwrap();
        let (a, b) = (limits.host(addr), limits.host(addr));
        assert!(Arc::ptr_eq(&a, &b), "two scans, one limit");
        assert_eq!(a.permits().available_permits(), 2);
        // Two scans find the address stalled: lifting twice would overflow the semaphore.
        a.lift();
        b.lift();
        assert_eq!(
            a.permits().available_permits(),
            2 + Semaphore::MAX_PERMITS / 2
        );
        drop((a, b));
        assert_eq!(limits.hosts_held(), 0);
        assert_eq!(
            limits.host(addr).permits().available_permits(),
            2,
            "a new scan starts fresh"
        );
    }
}
