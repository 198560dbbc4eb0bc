//! Resolution: every target becomes one row per address (its name resolved, or pinned with
//! `--resolve`); a name that does not resolve is one row of unreachable cells.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::report::{Cell, Outcome};
use crate::scan::ScanConfig;
use crate::scan::row::{Cells, Row};
use crate::target::{Target, resolve};

pub(super) async fn rows(
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

    // One row a target, mostly: no room for twice as many.
    let mut rows = Vec::with_capacity(targets.len());
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
            cells: Cells::with_capacity(config.versions.len()),
            root_dse: None,
            chains: BTreeMap::new(),
            certificate: None,
            rdp_pending: false,
            rdp_standard: None,
            suites_pending: 0,
            suites: BTreeMap::new(),
            connections: 0,
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
                    row.cells.insert(*v, Cell::unprobed(Outcome::Interrupted));
                }
                rows.push(row);
            }
        }
    }
    rows
}
