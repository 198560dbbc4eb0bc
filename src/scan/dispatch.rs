//! Dispatch: bounded fan-out of the planned probes, and the collection of their cells.
//!
//! Three limits hold at all times: `per_host` probes in flight against any one address;
//! `concurrency` connections in flight; and open sockets under the open-file limit. Each
//! address gets one small task that takes a per-host permit before it starts a probe; a
//! connection takes a file permit before its connect and a slot of `concurrency`, which it gives
//! back if its SYN gets no answer within `probe::connect::SYN_GRACE` and takes again once TCP is
//! up (`probe::Slots`), so endpoints that never answer a SYN wait out their connect timeouts side
//! by side without holding up the live ones. At most as many addresses
//! are active as there are file permits, so memory does not grow with the estate. When a probe
//! cannot even connect, the versions of that endpoint not started yet are given the same answer
//! instead of being tried again (a dead host costs one connect timeout, not one per version).
//!
//! With `--suites`, a version probe that was accepted goes on to enumerate the version's
//! suites (`probe::suites`), each of its connections taking a per-host permit of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::probe::contexts::{ClientContexts, Offer};
use crate::probe::suites::{OpenSslCheck, SuiteScan};
use crate::probe::{self, ConnectGate, Limits, Slots};
use crate::report::{
    Cell, Engine, Outcome, Phase, RdpStandardSecurity, RootDse, TlsVersion, VersionSuites,
};
use crate::scan::assemble::Finisher;
use crate::scan::plan::{HostWork, Job, Task};
use crate::scan::row::Row;
use crate::scan::{HostLimit, ProbeId, ScanConfig, ScanObserver, SharedLimits};

/// The chain (DER) an accepted handshake showed.
type Chain = Option<Vec<Vec<u8>>>;

/// What a finished job found.
enum Done {
    /// Row, version, cell, the RootDSE if an LDAP search answered, and the chain the server
    /// sent if the handshake was accepted; and whether the version's suites follow.
    Cell(usize, TlsVersion, Box<(Cell, Option<RootDse>, Chain)>, bool),
    /// Row, version, and its suites.
    Suites(usize, TlsVersion, Box<VersionSuites>),
    /// Row, and whether Standard RDP Security is allowed, with why it seems so, and the
    /// connections the probe made.
    RdpStandard(usize, RdpStandardSecurity, String, u32),
    /// A probe got its permits and is going on the wire.
    Started(ProbeId, String),
}

/// What the probes are made with: the client contexts, and the limits they count against.
pub(super) struct Means {
    pub contexts: Arc<ClientContexts>,
    pub limits: Arc<SharedLimits>,
}

/// What every probe of a scan shares.
#[derive(Clone, Copy)]
struct Settings {
    limits: Limits,
    per_host: usize,
    ldap_check: bool,
    engine: Engine,
    suites: bool,
}

/// Addresses being probed at once at most. Each holds about 7 KiB while it waits for its
/// connects (its task, its probes' tasks and their connections: peak RSS at 10,000 endpoints
/// that refuse, measured over `--max-open` 512 to 2,048), so this many keep such a scan under
/// 64 MiB with room to spare (2,048 took it over). A thousand hosts that never answer still
/// wait out one connect timeout side by side; more take one more timeout for each further
/// thousand.
const MAX_ACTIVE_HOSTS: usize = 1024;

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
    let settings = Settings {
        limits: Limits {
            connect_timeout: config.connect_timeout,
            timeout: config.timeout,
            retries: config.retries,
        },
        per_host: config.per_host.max(1),
        ldap_check: config.ldap_check,
        engine: config.engine,
        suites: config.suites,
    };
    let wanted = config.versions.len();
    let slots = Arc::new(Slots {
        files: shared.files(),
        handshakes: shared.global(),
    });
    let files = slots.files.available_permits().max(1);
    let (tx, mut rx) = mpsc::channel::<Done>(256);
    // No more hosts are active at once than connections may be open (each needs one to do
    // anything), and never more than MAX_ACTIVE_HOSTS: the tasks alive do not grow with the
    // size of the estate.
    let host_slots = Arc::new(Semaphore::new(files.min(MAX_ACTIVE_HOSTS)));
    let dispatcher = tokio::spawn(async move {
        let mut hosts = JoinSet::new();
        for (addr, jobs) in work {
            let Ok(slot) = host_slots.clone().acquire_owned().await else {
                break;
            };
            let host = run_host(
                jobs,
                shared.host(addr),
                slots.clone(),
                contexts.clone(),
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
                        Done::Cell(i, v, found, suites_follow) => {
                            observer.probe_finished((i, Some(v)));
                            let (cell, dse, chain) = *found;
                            let row = &mut rows[i];
                            row.connections += cell.attempts;
                            if suites_follow {
                                row.suites_pending += 1;
                            }
                            row.cells.insert(v, cell);
                            if row.root_dse.is_none() {
                                row.root_dse = dse.map(Box::new);
                            }
                            if let Some(chain) = chain {
                                row.chains.insert(v, chain);
                            }
                            row
                        }
                        Done::Suites(i, v, found) => {
                            let row = &mut rows[i];
                            row.connections += found.connections;
                            row.suites_pending -= 1;
                            row.suites.insert(v, *found);
                            row
                        }
                        Done::RdpStandard(i, found, why, connections) => {
                            observer.probe_finished((i, None));
                            let row = &mut rows[i];
                            row.connections += connections;
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
/// shared with other scans of the address); their connections take file permits and handshake
/// slots from `slots`.
async fn run_host(
    jobs: Vec<Job>,
    host: Arc<HostLimit>,
    slots: Arc<Slots>,
    contexts: Arc<ClientContexts>,
    settings: Settings,
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
    // The first job of every row first: each learns whether its endpoint answers TCP. The others
    // wait for that here, not in tasks of their own, so an address with a hundred silent
    // endpoints holds a hundred small probes, not five hundred.
    let mut rows_seen = std::collections::HashSet::new();
    let (firsts, rest): (Vec<Job>, Vec<Job>) =
        jobs.into_iter().partition(|j| rows_seen.insert(j.row));
    let ordered = firsts
        .into_iter()
        .map(|j| (j, true))
        .chain(rest.into_iter().map(|j| (j, false)));
    for (job, first) in ordered {
        let gate = gates
            .entry(job.row)
            .or_insert_with(|| Arc::new(tokio::sync::watch::channel(None).0))
            .clone();
        if !first {
            // Wait until the endpoint's first probe knows whether TCP gets through.
            let mut rx = gate.subscribe();
            let up = rx
                .wait_for(|v| v.is_some())
                .await
                .map(|v| *v)
                .ok()
                .flatten();
            let known = match up {
                Some(false) => dead.lock().expect("lock").get(&job.row).cloned(),
                _ => None,
            };
            if let Some(outcome) = known {
                let done = match job.task {
                    Task::Version(v) => {
                        let cell = Cell::unprobed(copied(outcome));
                        Done::Cell(job.row, v, Box::new((cell, None, None)), false)
                    }
                    Task::RdpStandard => Done::RdpStandard(
                        job.row,
                        RdpStandardSecurity::Unknown,
                        format!("not tried: {}", outcome.detail()),
                        0,
                    ),
                };
                let _ = tx.send(done).await;
                continue;
            }
        }
        let Ok(local_permit) = local.clone().acquire_owned().await else {
            return;
        };
        let slots = slots.clone();
        let contexts = contexts.clone();
        let tx = tx.clone();
        let dead = dead.clone();
        let local = local.clone();
        let host = host.clone();
        running.spawn(async move {
            let mut local_permit = Some(local_permit);
            let endpoint = probe::Endpoint {
                addr: job.addr,
                sni: job.sni.as_deref(),
                protocol: job.protocol,
                ldap_check: settings.ldap_check,
                gate: Some(&gate),
                slots: Some(&slots),
            };
            let limits = settings.limits;
            let id: ProbeId = (
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
                    // Never the first job of its row: nobody waits on its gate. Boxed, as the
                    // version probe below: a task waiting for its permits stays small.
                    let (found, why) =
                        Box::pin(probe::rdp_standard_security(&endpoint, limits)).await;
                    let tried = u32::from(!why.starts_with("not tried"));
                    let _ = tx.send(Done::RdpStandard(job.row, found, why, tried)).await;
                    return;
                }
            };
            // Boxed: a task waiting above holds a few bytes, not a whole probe's state, so
            // thousands of waiting endpoints stay cheap.
            let result = Box::pin(probe::probe_cell(
                &contexts,
                version,
                &endpoint,
                limits,
                settings.engine,
            ))
            .await;
            let first_pick = result.wire_first_pick;
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
            let enumerate = settings.suites && cell.proof().is_accepted();
            let _ = tx
                .send(Done::Cell(
                    job.row,
                    version,
                    Box::new((cell, result.root_dse, result.peer_chain)),
                    enumerate,
                ))
                .await;
            if enumerate {
                // The enumeration's connections take per-host permits of their own.
                drop(local_permit.take());
                // With OpenSSL alone, its word on every suite; with both engines, one handshake
                // on the list.
                let openssl = match (settings.engine, contexts.get(version)) {
                    (Engine::Openssl | Engine::Both, Some(Offer::Ready(ctx))) => {
                        Some(OpenSslCheck {
                            ctx,
                            offerable: contexts.suites(version),
                            each: settings.engine == Engine::Openssl,
                        })
                    }
                    _ => None,
                };
                let scan = SuiteScan {
                    endpoint: probe::Endpoint {
                        ldap_check: false,
                        gate: None,
                        ..endpoint
                    },
                    limits,
                    per_host: local,
                    streams: settings.per_host,
                    openssl,
                    first_pick,
                };
                let found = Box::pin(probe::suites::enumerate(version, &scan)).await;
                let _ = tx
                    .send(Done::Suites(job.row, version, Box::new(found)))
                    .await;
            }
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
