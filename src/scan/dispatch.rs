//! Dispatch: bounded fan-out of the planned probes, and the collection of their cells.
//!
//! Two limits hold at all times: `concurrency` probes in flight overall, and `per_host` probes
//! in flight against any one address. Each address gets one small task that takes a per-host
//! permit and then a global one before it starts a probe, so no probe future exists before it
//! may run and memory does not grow with the number of endpoints waiting. When a probe cannot
//! even connect, the versions of that endpoint not started yet are given the same answer
//! instead of being tried again (a dead host costs one connect timeout, not one per version).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::probe::contexts::ClientContexts;
use crate::probe::{self, ConnectGate, Limits};
use crate::report::{Cell, Engine, Outcome, RootDse, TlsVersion};
use crate::scan::assemble::finish;
use crate::scan::plan::{HostWork, Job};
use crate::scan::row::Row;
use crate::scan::{ScanConfig, ScanObserver, SharedLimits};
use crate::target::Target;

/// A finished cell: row, version, cell, and the RootDSE if an LDAP search answered.
type Done = (usize, TlsVersion, Cell, Option<RootDse>);

/// What the probes are made with: the client contexts, and the limits they count against.
pub(super) struct Means {
    pub contexts: Arc<ClientContexts>,
    pub limits: Arc<SharedLimits>,
}

/// Run the planned probes and put their cells into the rows. Returns true when cancelled
/// before every probe was done.
pub(super) async fn run(
    config: &ScanConfig,
    means: Means,
    work: Vec<HostWork>,
    rows: &mut [Row],
    targets: &[Target],
    cancel: &CancellationToken,
    observer: &dyn ScanObserver,
) -> bool {
    let Means {
        contexts,
        limits: shared,
    } = means;
    let limits = Limits {
        connect_timeout: config.connect_timeout,
        timeout: config.timeout,
        retries: config.retries,
    };
    let wanted = config.versions.len();
    let global = shared.global();
    let (tx, mut rx) = mpsc::channel::<Done>(256);
    // At most `concurrency` hosts are active at once (each needs a global slot to do anything),
    // so the tasks alive do not grow with the size of the estate.
    let host_slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let settings = (config.ldap_check, config.engine);
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
                contexts.clone(),
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
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some((i, v, cell, dse)) => {
                    let row = &mut rows[i];
                    row.cells.insert(v, cell);
                    if row.root_dse.is_none() {
                        row.root_dse = dse;
                    }
                    if row.cells.len() == wanted {
                        observer.endpoint_done(&finish(row, targets));
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
    interrupted
}

/// Run the jobs of one address, at most as many at once as `local` has permits (the per-host
/// limit, shared with other scans of the address), each also holding a global permit.
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
