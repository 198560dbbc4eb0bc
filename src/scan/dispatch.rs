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
use crate::report::{Cell, Engine, Outcome, Phase, RdpStandardSecurity, RootDse, TlsVersion};
use crate::scan::assemble::Finisher;
use crate::scan::plan::{HostWork, Job, Task};
use crate::scan::row::Row;
use crate::scan::{HostLimit, ProbeId, ScanConfig, ScanObserver, SharedLimits};

/// The chain (DER) an accepted handshake showed.
type Chain = Option<Vec<Vec<u8>>>;

/// What a finished job found.
enum Done {
    /// Row, version, cell, the RootDSE if an LDAP search answered, and the chain the server
    /// sent if the handshake was accepted.
    Cell(usize, TlsVersion, Box<(Cell, Option<RootDse>, Chain)>),
    /// Row, and whether Standard RDP Security is allowed, with why it seems so.
    RdpStandard(usize, RdpStandardSecurity, String),
    /// A probe got its permits and is going on the wire.
    Started(ProbeId, String),
}

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
    cancel: &CancellationToken,
    observer: &dyn ScanObserver,
    finisher: &Finisher<'_>,
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
                Some(done) => {
                    let row = match done {
                        Done::Started(id, what) => {
                            observer.probe_started(id, &what);
                            continue;
                        }
                        Done::Cell(i, v, found) => {
                            observer.probe_finished((i, Some(v)));
                            let (cell, dse, chain) = *found;
                            let row = &mut rows[i];
                            row.cells.insert(v, cell);
                            if row.root_dse.is_none() {
                                row.root_dse = dse;
                            }
                            if let Some(chain) = chain {
                                row.chains.insert(v, chain);
                            }
                            row
                        }
                        Done::RdpStandard(i, found, why) => {
                            observer.probe_finished((i, None));
                            let row = &mut rows[i];
                            row.rdp_pending = false;
                            row.rdp_standard = Some((found, why));
                            row
                        }
                    };
                    if row.complete(wanted) {
                        observer.endpoint_done(&finisher.complete(row));
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

/// Run the jobs of one address, at most as many at once as `host` allows (the per-host limit,
/// shared with other scans of the address), each also holding a global permit.
async fn run_host(
    jobs: Vec<Job>,
    host: Arc<HostLimit>,
    global: Arc<Semaphore>,
    contexts: Arc<ClientContexts>,
    limits: Limits,
    (ldap_check, engine): (bool, Engine),
    tx: mpsc::Sender<Done>,
) {
    // Once a version of this address times out waiting for an answer, its other versions run
    // together rather than one timeout after another: a stalled server is not loaded by them
    // (the limit is lifted for every scan of the address running now).
    let local = host.permits();
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
        let host = host.clone();
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
                        let done = match job.task {
                            Task::Version(v) => {
                                let cell = Cell::unprobed(copied(outcome));
                                Done::Cell(job.row, v, Box::new((cell, None, None)))
                            }
                            Task::RdpStandard => Done::RdpStandard(
                                job.row,
                                RdpStandardSecurity::Unknown,
                                format!("not tried: {}", outcome.detail()),
                            ),
                        };
                        let _ = tx.send(done).await;
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
            let id = (
                job.row,
                match job.task {
                    Task::Version(v) => Some(v),
                    Task::RdpStandard => None,
                },
            );
            let what = match id.1 {
                Some(v) => format!("{} {}", job.addr, v.name()),
                None => format!("{} RDP standard security", job.addr),
            };
            let _ = tx.send(Done::Started(id, what)).await;
            let version = match job.task {
                Task::Version(v) => v,
                Task::RdpStandard => {
                    // Never the first job of its row: nobody waits on its gate.
                    let (found, why) = probe::rdp_standard_security(&endpoint, limits).await;
                    let _ = tx.send(Done::RdpStandard(job.row, found, why)).await;
                    return;
                }
            };
            // Boxed: a task waiting above holds a few bytes, not a whole probe's state, so
            // thousands of waiting endpoints stay cheap.
            let result = Box::pin(probe::probe_cell(
                &contexts, version, &endpoint, limits, engine,
            ))
            .await;
            let cell = result.cell;
            if matches!(
                cell.outcome,
                Outcome::Timeout {
                    phase: Phase::Handshake | Phase::Prelude,
                    ..
                }
            ) {
                host.lift();
            }
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
            let _ = tx
                .send(Done::Cell(
                    job.row,
                    version,
                    Box::new((cell, result.root_dse, result.peer_chain)),
                ))
                .await;
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
