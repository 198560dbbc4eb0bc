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
    pub(super) cells: Cells,
    /// Boxed: most rows have none, and ten thousand rows are held at once.
    pub(super) root_dse: Option<Box<RootDse>>,
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

/// The cells of a row while the scan fills it: a list with room for the versions asked, no
/// more. A map's node has room for eleven cells, which made it most of a row's memory in a scan
/// of thousands of endpoints; the report's map is made when the row is finished.
#[derive(Clone, Default)]
pub(super) struct Cells(Vec<(TlsVersion, Cell)>);

impl Cells {
    /// Room for `versions` cells.
    pub(super) fn with_capacity(versions: usize) -> Cells {
        Cells(Vec::with_capacity(versions))
    }

    /// Put the cell of `version`, replacing the one it had.
    pub(super) fn insert(&mut self, version: TlsVersion, cell: Cell) {
        match self.0.iter_mut().find(|(v, _)| *v == version) {
            Some(slot) => slot.1 = cell,
            None => self.0.push((version, cell)),
        }
    }

    /// Put the cell `make` gives if `version` has none yet.
    pub(super) fn insert_if_missing(&mut self, version: TlsVersion, make: impl FnOnce() -> Cell) {
        if !self.contains_key(&version) {
            self.0.push((version, make()));
        }
    }

    pub(super) fn contains_key(&self, version: &TlsVersion) -> bool {
        self.0.iter().any(|(v, _)| v == version)
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&TlsVersion, &Cell)> {
        self.0.iter().map(|(v, c)| (v, c))
    }

    /// The report's map of the cells.
    pub(super) fn into_map(self) -> BTreeMap<TlsVersion, Cell> {
        self.0.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Outcome, Refusal};

    #[test]
    fn a_cell_put_twice_is_replaced_and_the_map_is_in_version_order() {
        let mut cells = Cells::with_capacity(2);
        cells.insert(
            TlsVersion::Tls13,
            Cell::unprobed(Outcome::Refused(Refusal::Closed)),
        );
        cells.insert(TlsVersion::Tls10, Cell::unprobed(Outcome::Interrupted));
        cells.insert(
            TlsVersion::Tls13,
            Cell::unprobed(Outcome::Refused(Refusal::Reset)),
        );
        cells.insert_if_missing(TlsVersion::Tls10, || {
            Cell::unprobed(Outcome::Refused(Refusal::Reset))
        });
        assert_eq!(cells.len(), 2);
        assert!(cells.contains_key(&TlsVersion::Tls10));
        let map = cells.into_map();
        let order: Vec<TlsVersion> = map.keys().copied().collect();
        assert_eq!(order, [TlsVersion::Tls10, TlsVersion::Tls13]);
        assert_eq!(
            map[&TlsVersion::Tls13].outcome,
            Outcome::Refused(Refusal::Reset)
        );
        assert_eq!(map[&TlsVersion::Tls10].outcome, Outcome::Interrupted);
    }
}
