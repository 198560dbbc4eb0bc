//! Judging each row's certificate once its cells are in: the chains the accepted versions
//! served are read and judged, then dropped, so a large estate keeps no DER in memory.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;

use crate::cert::trust::TrustSources;
use crate::cert::{self, TrustStore};
use crate::report::{Outcome, Protocol, TlsVersion};
use crate::scan::CertConfig;
use crate::scan::row::Row;

/// What judging a row's certificate needs.
pub(super) struct CertJudge<'a> {
    trust: LazyTrust,
    config: &'a CertConfig,
    now: i64,
}

/// The trust store, read on a thread of its own from the start of the scan: reading the system
/// store takes tens of milliseconds (more on a busy machine), and nothing needs it before a
/// handshake has been accepted, so the first probes do not wait for it.
struct LazyTrust {
    loading: Mutex<Option<JoinHandle<Option<TrustStore>>>>,
    loaded: OnceLock<Option<TrustStore>>,
}

impl LazyTrust {
    fn start(sources: &TrustSources) -> LazyTrust {
        let lazy = LazyTrust {
            loading: Mutex::new(None),
            loaded: OnceLock::new(),
        };
        let owned = sources.clone();
        match std::thread::Builder::new()
            .name("trust-store".into())
            .spawn(move || trust_store(&owned))
        {
            Ok(handle) => *lazy.loading.lock().expect("lock") = Some(handle),
            Err(_) => {
                let _ = lazy.loaded.set(trust_store(sources));
            }
        }
        lazy
    }

    fn get(&self) -> Option<&TrustStore> {
        self.loaded
            .get_or_init(|| {
                let handle = self.loading.lock().expect("lock").take();
                handle.and_then(|h| h.join().ok()).flatten()
            })
            .as_ref()
    }
}

impl<'a> CertJudge<'a> {
    pub(super) fn new(config: &'a CertConfig) -> Self {
        CertJudge {
            trust: LazyTrust::start(&config.trust),
            config,
            now: cert::now(),
        }
    }

    /// The trust store chains are verified against, once it is read.
    pub(super) fn trust(&self) -> Option<&TrustStore> {
        self.trust.get()
    }

    /// Judge the chains a row collected and drop them.
    pub(super) fn settle(&self, row: &mut Row) {
        let chains = std::mem::take(&mut row.chains);
        if chains.is_empty() || row.certificate.is_some() {
            return;
        }
        // Only now: a row with nothing accepted never waits for the store to be read.
        let Some(trust) = self.trust() else { return };
        let ciphers: BTreeMap<TlsVersion, String> = row
            .cells
            .iter()
            .filter_map(|(v, c)| match &c.outcome {
                Outcome::Accepted {
                    cipher: Some(s), ..
                } => Some((*v, s.clone())),
                _ => None,
            })
            .collect();
        let dse = row.root_dse.as_ref();
        let domain = self.config.domain.clone().or_else(|| {
            dse.and_then(|d| d.default_naming_context.as_deref())
                .and_then(cert::names::domain_of_naming_context)
        });
        // The name a client would use: the server name sent, else the address scanned.
        let address = row.address.map(|a| a.to_string());
        let scanned = match &row.sni {
            Some(n) => Some(n.as_str()),
            None => address.as_deref().or(Some(row.host.as_str())),
        };
        let names = cert::EndpointNames {
            scanned,
            dns_host_name: dse.and_then(|d| d.dns_host_name.as_deref()),
            domain: domain.as_deref(),
            rdp: row.protocol == Protocol::Rdp,
        };
        let settings = cert::Settings {
            trust,
            warn_days: self.config.warn_days,
            now: self.now,
        };
        row.certificate = cert::examine(&chains, &ciphers, &names, &settings).map(Box::new);
    }
}

/// The trust store a scan verifies against. CA files that cannot be read (they were checked
/// when the arguments were) leave the system store, and say so.
fn trust_store(sources: &TrustSources) -> Option<TrustStore> {
    match TrustStore::load(sources) {
        Ok(t) => Some(t),
        Err(why) => TrustStore::load(&TrustSources::default())
            .ok()
            .map(|mut t| {
                t.description = format!("system (not the CAs asked for: {why})");
                t
            }),
    }
}
