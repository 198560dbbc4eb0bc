//! A row of the matrix while the scan fills it: one address of one target.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::report::{
    Cell, Certificate, Protocol, RdpStandardSecurity, RootDse, TlsVersion, VersionSuites,
};

#[derive(Clone)]
pub(super) struct Row {
    /// Index of the target the row came from.
    pub(super) target: usize,
    pub(super) host: String,
    pub(super) address: Option<IpAddr>,
    pub(super) port: u16,
    pub(super) protocol: Protocol,
    pub(super) sni: Option<String>,
    pub(super) cells: BTreeMap<TlsVersion, Cell>,
    pub(super) root_dse: Option<RootDse>,
    /// The chains accepted versions served (DER), until the row is complete.
    pub(super) chains: BTreeMap<TlsVersion, Vec<Vec<u8>>>,
    pub(super) certificate: Option<Box<Certificate>>,
    /// An RDP row waits for its Standard RDP Security probe too.
    pub(super) rdp_pending: bool,
    pub(super) rdp_standard: Option<(RdpStandardSecurity, String)>,
    /// Accepted versions whose suites are still being enumerated.
    pub(super) suites_pending: usize,
    pub(super) suites: BTreeMap<TlsVersion, VersionSuites>,
    /// TCP connections opened so far.
    pub(super) connections: u32,
}

impl Row {
    /// Every cell is in, and for RDP the Standard RDP Security answer.
    pub(super) fn complete(&self, wanted: usize) -> bool {
        self.cells.len() == wanted && !self.rdp_pending && self.suites_pending == 0
    }
}
