//! Planning: versions the engines cannot offer are answered without touching the network, and
//! the rest become one list of probes per address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::analysis::exceptions::{Subject, matches_pattern};
use crate::probe::contexts::{ClientContexts, Offer};
use crate::report::{Cell, Engine, Excluded, Outcome, Protocol, TlsVersion};
use crate::scan::ScanConfig;
use crate::scan::row::Row;
use crate::target::Target;

/// One probe to run: one version of one row, or an RDP row's Standard RDP Security.
pub(super) struct Job {
    pub(super) row: usize,
    pub(super) task: Task,
    pub(super) addr: SocketAddr,
    pub(super) sni: Option<String>,
    pub(super) protocol: Protocol,
}

/// What a job probes.
#[derive(Clone, Copy)]
pub(super) enum Task {
    Version(TlsVersion),
    /// Whether an RDP endpoint still allows Standard RDP Security.
    RdpStandard,
}

/// The probes of one address.
pub(super) type HostWork = (IpAddr, Vec<Job>);

/// Leave out the rows an `--exclude` pattern names; returns them as the report lists them.
pub(super) fn exclude(
    config: &ScanConfig,
    rows: &mut Vec<Row>,
    targets: &[Target],
) -> Vec<Excluded> {
    if config.exclude.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    rows.retain(|row| {
        let target = &targets[row.target];
        let subject = Subject {
            target: &target.input,
            host: &row.host,
            address: row.address,
            port: row.port,
        };
        match config.exclude.iter().find(|p| matches_pattern(p, &subject)) {
            Some(p) => {
                out.push(Excluded {
                    target: target.input.clone(),
                    address: row.address,
                    port: row.port,
                    pattern: p.clone(),
                });
                false
            }
            None => true,
        }
    });
    out
}

/// Answer the cells that need no probe. Returns, per row, whether it is already whole.
pub(super) fn prefill(
    config: &ScanConfig,
    contexts: &ClientContexts,
    rows: &mut [Row],
) -> Vec<bool> {
    // Versions this build cannot offer are answered without touching the network, unless the
    // wire engine can stand in.
    if config.engine == Engine::Openssl {
        for v in &config.versions {
            if let Some(Offer::NotTestable(why)) = contexts.get(*v) {
                for row in rows.iter_mut() {
                    row.cells
                        .insert(*v, Cell::unprobed(Outcome::NotTestable(why.clone())));
                }
            }
        }
    }
    let wanted = config.versions.len();
    rows.iter().map(|r| r.complete(wanted)).collect()
}

/// One list of probes per address, addresses in the order they first appear; each row's
/// missing versions are its probes, and an RDP row's Standard RDP Security probe comes last,
/// after a version has learnt whether the endpoint answers at all. Marks the RDP rows that wait
/// for it.
pub(super) fn work(config: &ScanConfig, rows: &mut [Row], done: &[bool]) -> Vec<HostWork> {
    let mut by_address: HashMap<IpAddr, Vec<usize>> = HashMap::new();
    let mut order: Vec<IpAddr> = Vec::new();
    for (i, row) in rows.iter_mut().enumerate() {
        if let (Some(addr), false) = (row.address, done[i]) {
            row.rdp_pending = row.protocol == Protocol::Rdp;
            by_address
                .entry(addr)
                .or_insert_with(|| {
                    order.push(addr);
                    Vec::new()
                })
                .push(i);
        }
    }
    order
        .into_iter()
        .map(|addr| {
            let jobs = by_address[&addr]
                .iter()
                .flat_map(|&i| {
                    let row = &rows[i];
                    let job = move |task| Job {
                        row: i,
                        task,
                        addr: SocketAddr::new(addr, row.port),
                        sni: row.sni.clone(),
                        protocol: row.protocol,
                    };
                    config
                        .versions
                        .iter()
                        .filter(|v| !row.cells.contains_key(v))
                        .map(|&v| Task::Version(v))
                        .chain(row.rdp_pending.then_some(Task::RdpStandard))
                        .map(job)
                        .collect::<Vec<_>>()
                })
                .collect();
            (addr, jobs)
        })
        .collect()
}
