//! A row of the matrix while the scan fills it: one address of one target.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::report::{Cell, Protocol, RootDse, TlsVersion};

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
}
