//! Judging each row's certificate once its cells are in: the chains the accepted versions
//! served are read and judged, then dropped, so a large estate keeps no DER in memory.

use std::collections::BTreeMap;

use crate::cert::trust::TrustSources;
use crate::cert::{self, TrustStore};
use crate::report::{Outcome, Protocol, TlsVersion};
use crate::scan::CertConfig;
use crate::scan::row::Row;

/// What judging a row's certificate needs.
pub(super) struct CertJudge<'a> {
    pub(super) trust: Option<TrustStore>,
    config: &'a CertConfig,
    now: i64,
}

impl<'a> CertJudge<'a> {
    pub(super) fn new(config: &'a CertConfig) -> Self {
        CertJudge {
            trust: trust_store(&config.trust),
            config,
            now: cert::now(),
        }
    }

    /// Judge the chains a row collected and drop them.
    pub(super) fn settle(&self, row: &mut Row) {
        let chains = std::mem::take(&mut row.chains);
        let Some(trust) = &self.trust else { return };
        if chains.is_empty() || row.certificate.is_some() {
            return;
        }
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
