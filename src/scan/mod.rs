//! Bounded fan-out of probes over endpoints and versions, collected into a report.
//!
//! Two limits hold at all times: `concurrency` probes in flight overall, and `per_host` probes in
//! flight against any one address. Each address gets one small task that takes a per-host permit
//! and then a global one before it starts a probe, so no probe future exists before it may run and
//! memory does not grow with the number of endpoints waiting. When a probe cannot even connect,
//! the versions of that endpoint not started yet are given the same answer instead of being
//! tried again (a dead host costs one connect timeout, not one per version).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::analysis::verdict;
use crate::probe::contexts::{ClientContexts, Offer, library_version};
use crate::probe::{self, ConnectGate, Limits};
use crate::report::Engine;
use crate::report::{
    Cell, Endpoint, InputError, Outcome, Protocol, Report, RootDse, ScanOptions, TlsVersion,
    ToolInfo,
};
use crate::target::{ResolveOverrides, Target, resolve};

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

#[derive(Clone)]
struct Row {
    target: usize,
    host: String,
    address: Option<IpAddr>,
    port: u16,
    protocol: Protocol,
    sni: Option<String>,
    cells: BTreeMap<TlsVersion, Cell>,
    root_dse: Option<RootDse>,
}

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

    /// The per-address semaphore, shared with every scan that probes the address now.
    fn host(&self, addr: IpAddr) -> Arc<Semaphore> {
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

    /// Addresses some scan holds a per-host semaphore for (for tests and metrics).
    pub fn hosts_held(&self) -> usize {
        let hosts = self.hosts.lock().expect("lock");
        hosts.values().filter(|w| w.strong_count() > 0).count()
    }
}

/// Scan every target with every configured version. Never fails: what goes wrong with an
/// endpoint is recorded in its cells. Cancelling stops new probes and returns what is done,
/// with `complete: false`.
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
    let started = now_rfc3339();
    let contexts = Arc::new(ClientContexts::new(&config.versions));
    let limits = Limits {
        connect_timeout: config.connect_timeout,
        timeout: config.timeout,
        retries: config.retries,
    };

    let mut rows = resolve_all(config, &targets, &cancel).await;
    observer.started(rows.len());

    // Versions this build cannot offer are answered without touching the network, unless the
    // wire engine can stand in.
    for v in &config.versions {
        if config.engine != Engine::Openssl {
            break;
        }
        if let Some(Offer::NotTestable(why)) = contexts.get(*v) {
            for row in &mut rows {
                row.cells
                    .insert(*v, Cell::unprobed(Outcome::NotTestable(why.clone())));
            }
        }
    }
    let wanted = config.versions.len();
    let mut done = vec![false; rows.len()];
    for (i, row) in rows.iter().enumerate() {
        if row.cells.len() == wanted {
            done[i] = true;
        }
    }

    // One task per address; each row's missing versions are its jobs.
    let mut by_address: HashMap<IpAddr, Vec<usize>> = HashMap::new();
    let mut order: Vec<IpAddr> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if let (Some(addr), false) = (row.address, done[i]) {
            by_address
                .entry(addr)
                .or_insert_with(|| {
                    order.push(addr);
                    Vec::new()
                })
                .push(i);
        }
    }

    let global = shared.global.clone();
    let (tx, mut rx) = mpsc::channel::<Done>(256);
    let work: Vec<(IpAddr, Vec<Job>)> = order
        .into_iter()
        .map(|addr| {
            let jobs = by_address[&addr]
                .iter()
                .flat_map(|&i| {
                    let row = &rows[i];
                    config
                        .versions
                        .iter()
                        .filter(|v| !row.cells.contains_key(v))
                        .map(move |&v| Job {
                            row: i,
                            version: v,
                            addr: SocketAddr::new(addr, row.port),
                            sni: row.sni.clone(),
                            protocol: row.protocol,
                        })
                })
                .collect();
            (addr, jobs)
        })
        .collect();
    // At most `concurrency` hosts are active at once (each needs a global slot to do anything),
    // so the tasks alive do not grow with the size of the estate.
    let host_slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let settings = (config.ldap_check, config.engine);
    let dispatch_contexts = contexts.clone();
    let shared = shared.clone();
    let dispatcher = tokio::spawn(async move {
        let mut hosts = JoinSet::new();
        for (addr, jobs) in work {
            let Ok(slot) = host_slots.clone().acquire_owned().await else {
                break;
            };
            let host = run_host(
                jobs,
                shared.host(addr),
                global.clone(),
                dispatch_contexts.clone(),
                limits,
                settings,
                tx.clone(),
            );
            hosts.spawn(async move {
                let _slot = slot;
                host.await
            });
            while hosts.try_join_next().is_some() {}
        }
        drop(tx);
        while hosts.join_next().await.is_some() {}
    });

    let mut interrupted = false;
    for (i, row) in rows.iter().enumerate() {
        if done[i] {
            observer.endpoint_done(&finish(row, &targets));
        }
    }
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some((i, v, cell, dse)) => {
                    rows[i].cells.insert(v, cell);
                    if rows[i].root_dse.is_none() {
                        rows[i].root_dse = dse;
                    }
                    if rows[i].cells.len() == wanted {
                        observer.endpoint_done(&finish(&rows[i], &targets));
                    }
                }
                None => break,
            },
            _ = cancel.cancelled() => {
                interrupted = true;
                break;
            }
        }
    }
    dispatcher.abort();
    let _ = dispatcher.await;

    if interrupted {
        for row in &mut rows {
            for v in &config.versions {
                row.cells.entry(*v).or_insert_with(|| {
                    Cell::unprobed(Outcome::Error(
                        "not probed: the scan was interrupted".into(),
                    ))
                });
            }
        }
    }

    let endpoints: Vec<Endpoint> = rows.into_iter().map(|r| finish_row(r, &targets)).collect();
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
        summary: Report::count_verdicts(&endpoints),
        vantage_points: Vec::new(),
        endpoints,
    }
}

struct Job {
    row: usize,
    version: TlsVersion,
    addr: SocketAddr,
    sni: Option<String>,
    protocol: Protocol,
}

/// A finished cell: row, version, cell, and the RootDSE if an LDAP search answered.
type Done = (usize, TlsVersion, Cell, Option<RootDse>);

/// Run the jobs of one address, at most as many at once as `local` has permits, each also
/// holding a global permit.
async fn run_host(
    jobs: Vec<Job>,
    local: Arc<Semaphore>,
    global: Arc<Semaphore>,
    contexts: Arc<ClientContexts>,
    limits: Limits,
    (ldap_check, engine): (bool, Engine),
    tx: mpsc::Sender<Done>,
) {
    // Rows whose first connect failed: later versions get the same answer.
    let dead: Arc<Mutex<HashMap<usize, Outcome>>> = Arc::default();
    let mut gates: HashMap<usize, Arc<ConnectGate>> = HashMap::new();
    let mut running = JoinSet::new();
    for job in jobs {
        let Ok(local_permit) = local.clone().acquire_owned().await else {
            return;
        };
        let first = !gates.contains_key(&job.row);
        let gate = gates
            .entry(job.row)
            .or_insert_with(|| Arc::new(tokio::sync::watch::channel(None).0))
            .clone();
        let global = global.clone();
        let contexts = contexts.clone();
        let tx = tx.clone();
        let dead = dead.clone();
        running.spawn(async move {
            let _local = local_permit;
            if !first {
                // Wait until the endpoint's first probe knows whether TCP gets through.
                let mut rx = gate.subscribe();
                let up = rx
                    .wait_for(|v| v.is_some())
                    .await
                    .map(|v| *v)
                    .ok()
                    .flatten();
                if up == Some(false) {
                    let known = dead.lock().expect("lock").get(&job.row).cloned();
                    if let Some(outcome) = known {
                        let cell = Cell::unprobed(copied(outcome));
                        let _ = tx.send((job.row, job.version, cell, None)).await;
                        return;
                    }
                }
            }
            let Ok(_global) = global.acquire_owned().await else {
                return;
            };
            let endpoint = probe::Endpoint {
                addr: job.addr,
                sni: job.sni.as_deref(),
                protocol: job.protocol,
                ldap_check,
                gate: Some(&gate),
            };
            // Boxed: a task waiting above holds a few bytes, not a whole probe's state, so
            // thousands of waiting endpoints stay cheap.
            let result = Box::pin(probe::probe_cell(
                &contexts,
                job.version,
                &endpoint,
                limits,
                engine,
            ))
            .await;
            let cell = result.cell;
            if cell.outcome.is_connect_failure() {
                dead.lock()
                    .expect("lock")
                    .entry(job.row)
                    .or_insert_with(|| cell.outcome.clone());
            }
            if first {
                let failed = cell.outcome.is_connect_failure();
                // Never leave the others waiting, whatever happened.
                gate.send_if_modified(|v| {
                    if v.is_none() {
                        *v = Some(!failed);
                        true
                    } else {
                        false
                    }
                });
            }
            let _ = tx.send((job.row, job.version, cell, result.root_dse)).await;
        });
        // Reap finished probes so the set does not grow with the job count.
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

/// The answer of another version's failed connect, marked as such.
fn copied(outcome: Outcome) -> Outcome {
    let note = " (not tried: connecting failed for another version of this endpoint)";
    match outcome {
        Outcome::Unreachable(m) => Outcome::Unreachable(format!("{m}{note}")),
        Outcome::Timeout { phase, message } => Outcome::Timeout {
            phase,
            message: format!("{message}{note}"),
        },
        other => other,
    }
}

async fn resolve_all(
    config: &ScanConfig,
    targets: &[Target],
    cancel: &CancellationToken,
) -> Vec<Row> {
    let sem = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut set = JoinSet::new();
    for (i, t) in targets.iter().enumerate() {
        let t = t.clone();
        let overrides = config.resolve.clone();
        let limit = config.connect_timeout;
        let sem = sem.clone();
        set.spawn(async move {
            let _p = sem.acquire_owned().await;
            (i, resolve(&t, &overrides, limit).await)
        });
    }
    let mut results: Vec<Option<Result<Vec<IpAddr>, String>>> = vec![None; targets.len()];
    loop {
        tokio::select! {
            r = set.join_next() => match r {
                Some(Ok((i, res))) => results[i] = Some(res),
                Some(Err(_)) => {}
                None => break,
            },
            _ = cancel.cancelled() => {
                set.abort_all();
                break;
            }
        }
    }

    let mut rows = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let sni = config
            .sni
            .clone()
            .or_else(|| t.default_sni().map(str::to_string));
        let base = |address| Row {
            target: i,
            host: t.host.to_string(),
            address,
            port: t.port,
            protocol: t.protocol,
            sni: sni.clone(),
            cells: BTreeMap::new(),
            root_dse: None,
        };
        match results[i].take() {
            Some(Ok(addrs)) => rows.extend(addrs.into_iter().map(|a| base(Some(a)))),
            Some(Err(why)) => {
                let mut row = base(None);
                for v in &config.versions {
                    row.cells
                        .insert(*v, Cell::unprobed(Outcome::Unreachable(why.clone())));
                }
                rows.push(row);
            }
            None => {
                let mut row = base(None);
                for v in &config.versions {
                    row.cells.insert(
                        *v,
                        Cell::unprobed(Outcome::Error(
                            "not probed: the scan was interrupted".into(),
                        )),
                    );
                }
                rows.push(row);
            }
        }
    }
    rows
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

fn finish(row: &Row, targets: &[Target]) -> Endpoint {
    finish_row(row.clone(), targets)
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}
