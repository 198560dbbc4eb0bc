//! Cells and rows for unit tests, shared so that every test module builds them alike.

use std::collections::BTreeMap;

use crate::report::{
    Cell, Endpoint, LdapCheck, Outcome, Phase, Protocol, Refusal, TlsVersion, Verdict,
};

pub(crate) fn cell(outcome: Outcome) -> Cell {
    Cell {
        outcome,
        elapsed_ms: 1,
        attempts: 1,
        engines: None,
    }
}

/// Accepted, handshake completed, no LDAP check.
pub(crate) fn accepted() -> Outcome {
    Outcome::Accepted {
        cipher: None,
        completed: true,
        note: None,
        ldap: None,
    }
}

/// Accepted, but the directory did not answer over it.
pub(crate) fn no_ldap() -> Outcome {
    Outcome::Accepted {
        cipher: None,
        completed: true,
        note: None,
        ldap: Some(LdapCheck::Failed("no answer".into())),
    }
}

/// Refused with protocol_version(70).
pub(crate) fn refused() -> Outcome {
    Outcome::Refused(Refusal::Alert { code: 70 })
}

pub(crate) fn declined() -> Outcome {
    Outcome::TlsDeclined("StartTLS refused by the server: result 52 unavailable".into())
}

pub(crate) fn timeout() -> Outcome {
    Outcome::Timeout {
        phase: Phase::Handshake,
        message: "no TLS answer within 2s".into(),
    }
}

pub(crate) fn not_testable() -> Outcome {
    Outcome::NotTestable("no SSLv3 in this build".into())
}

pub(crate) fn row(cells: &[(TlsVersion, Outcome)]) -> BTreeMap<TlsVersion, Cell> {
    cells.iter().map(|(v, o)| (*v, cell(o.clone()))).collect()
}

/// An LDAPS endpoint with these cells; its verdict is not judged.
pub(crate) fn endpoint(cells: &[(TlsVersion, Outcome)]) -> Endpoint {
    Endpoint {
        target: "ldaps://dc1".into(),
        host: "dc1".into(),
        address: None,
        port: 636,
        protocol: Protocol::Ldaps,
        sni: None,
        verdict: Verdict::Incomplete,
        verdict_detail: String::new(),
        root_dse: None,
        certificate: None,
        versions: row(cells),
        seen_by: BTreeMap::new(),
        disagreements: Vec::new(),
        rdp_standard_security: None,
        suites: Default::default(),
        connections: None,
    }
}
