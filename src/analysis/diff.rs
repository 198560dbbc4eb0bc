//! Before/after comparison of two reports: pure functions, no I/O.
//!
//! Endpoints are matched by (target, address, port, protocol). Each version of a matched endpoint
//! becomes one transition, named for what it means to someone enforcing "TLS 1.2 only".

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::analysis::exceptions::{Excepted, Exceptions, Subject};
use crate::analysis::verdict::declines_tls;
use crate::report::{
    Cell, Endpoint, Outcome, Proof, Protocol, Report, Status, TlsVersion, Unproven, Verdict,
};

/// Version of the diff document's layout. 2: a cell declined before any ClientHello is
/// `inconclusive`, no longer `enforced` or `unchanged`; endpoints may carry `notes`.
pub const SCHEMA_VERSION: u32 = 2;

/// What happened to one version of one endpoint between two scans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// TLS 1.2 or 1.3 worked before and does not now (refused, broken, or no longer answering).
    Regression,
    /// An old version (SSLv3, TLS 1.0, 1.1) is accepted after: enforcement is not done there.
    StillAccepted,
    /// A version accepted after that was not before. For an old version this fails like
    /// `still_accepted`; for TLS 1.2/1.3 it is good news.
    NewlyAccepted,
    /// A timeout, error or unreachable on either side, or a version tested on one side only.
    Inconclusive,
    /// An old version went from accepted to refused: the change worked.
    Enforced,
    Unchanged,
    /// Neither scan could test this version.
    NotTestable,
}

impl Transition {
    pub fn key(self) -> &'static str {
        match self {
            Transition::Regression => "regression",
            Transition::StillAccepted => "still_accepted",
            Transition::NewlyAccepted => "newly_accepted",
            Transition::Inconclusive => "inconclusive",
            Transition::Enforced => "enforced",
            Transition::Unchanged => "unchanged",
            Transition::NotTestable => "not_testable",
        }
    }
}

/// A cell reduced to what matters for a transition, from what it proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Accepted, and (on LDAP) the directory answered: the version works.
    Works,
    /// Accepted handshake, but the LDAP search failed.
    HandshakeOnly,
    /// Offered and refused.
    No,
    /// Nothing proven (timeout, error, declined before any hello, interrupted, ...).
    Undecided,
    NotTestable,
    /// The version was not in that scan.
    Missing,
}

/// `no_tls`: the endpoint declined TLS itself for every version in that scan (see
/// [`declines_tls`]), so none of its versions was accepted there: a fact about the endpoint,
/// said in the comparison's notes, not a refusal of any version.
fn state(cell: Option<&Cell>, no_tls: bool) -> State {
    match Proof::of(cell) {
        Proof::Unproven(Unproven::Declined) if no_tls => State::No,
        Proof::Accepted { works: true } => State::Works,
        Proof::Accepted { works: false } => State::HandshakeOnly,
        Proof::Refused => State::No,
        Proof::Unproven(Unproven::NotTestable) => State::NotTestable,
        Proof::Unproven(Unproven::NotProbed) => State::Missing,
        Proof::Unproven(_) => State::Undecided,
    }
}

/// The transition of version `v` from `before` to `after`, cells judged alone.
pub fn transition(v: TlsVersion, before: Option<&Cell>, after: Option<&Cell>) -> Transition {
    transition_of(v, state(before, false), state(after, false))
}

fn transition_of(v: TlsVersion, b: State, a: State) -> Transition {
    let accepted = |s: State| matches!(s, State::Works | State::HandshakeOnly);
    if v.is_legacy() {
        // For an old version any accepted handshake counts against the endpoint.
        match (b, a) {
            (_, a) if accepted(a) => {
                if accepted(b) {
                    Transition::StillAccepted
                } else if b == State::No {
                    Transition::NewlyAccepted
                } else {
                    Transition::Inconclusive
                }
            }
            (State::NotTestable, State::NotTestable)
            | (State::NotTestable, State::No)
            | (State::No, State::NotTestable) => Transition::NotTestable,
            (b, State::No) if accepted(b) => Transition::Enforced,
            (State::No, State::No) => Transition::Unchanged,
            _ => Transition::Inconclusive,
        }
    } else {
        match (b, a) {
            // Not tested after: nothing is known.
            (State::Works, State::Missing | State::NotTestable) => Transition::Inconclusive,
            // Worked before and not now, whatever "not" is: the change broke something.
            (State::Works, a) if a != State::Works => Transition::Regression,
            (State::Works, State::Works) => Transition::Unchanged,
            (State::No | State::HandshakeOnly, State::Works) => Transition::NewlyAccepted,
            (State::No, State::No)
            | (State::HandshakeOnly, State::HandshakeOnly)
            | (State::No, State::HandshakeOnly)
            | (State::HandshakeOnly, State::No) => Transition::Unchanged,
            (State::NotTestable, State::NotTestable) => Transition::NotTestable,
            _ => Transition::Inconclusive,
        }
    }
}

/// Which scan an endpoint was found in, when only one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnlyIn {
    /// Only in the after scan.
    Added,
    /// Only in the before scan: it was not verified after.
    Removed,
}

/// One version of one endpoint, before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub before: Option<Status>,
    pub after: Option<Status>,
    /// The cells as the matrix shows them (`yes`, `no`, `declined`, ...); not saved.
    #[serde(skip)]
    pub short: (String, String),
    pub transition: Transition,
    pub before_detail: Option<String>,
    pub after_detail: Option<String>,
    /// An exception covers this version: its transition is listed, not held against the proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excepted: Option<Excepted>,
}

impl Change {
    /// A transition that keeps the after-proof from passing (unless excepted or allowed).
    pub fn is_problem(&self, v: TlsVersion) -> bool {
        match self.transition {
            Transition::Regression | Transition::StillAccepted | Transition::Inconclusive => true,
            Transition::NewlyAccepted => v.is_legacy(),
            _ => false,
        }
    }
}

/// The overall result for one endpoint, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointResult {
    Regression,
    StillAccepted,
    Inconclusive,
    Removed,
    Added,
    /// What would fail the proof is covered by exceptions, each listed.
    Excepted,
    Enforced,
    /// TLS 1.2 or 1.3 works now where it did not, and nothing got worse.
    Improved,
    Unchanged,
}

impl EndpointResult {
    pub fn key(self) -> &'static str {
        match self {
            EndpointResult::Regression => "regression",
            EndpointResult::StillAccepted => "still_accepted",
            EndpointResult::Inconclusive => "inconclusive",
            EndpointResult::Removed => "removed",
            EndpointResult::Added => "added",
            EndpointResult::Excepted => "excepted",
            EndpointResult::Enforced => "enforced",
            EndpointResult::Improved => "improved",
            EndpointResult::Unchanged => "unchanged",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDiff {
    pub target: String,
    pub address: Option<IpAddr>,
    pub port: u16,
    pub protocol: Protocol,
    pub result: EndpointResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_in: Option<OnlyIn>,
    pub versions: BTreeMap<TlsVersion, Change>,
    /// The endpoint's verdict in each scan (absent where it was not in that scan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_verdict: Option<Verdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_verdict: Option<Verdict>,
    /// An exception for the whole endpoint (added, removed or unreachable on both sides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excepted: Option<Excepted>,
    /// How the certificate changed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<super::certs::CertChange>,
    /// What the reader must know to trust the transitions (an endpoint that served no TLS).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Per version, the cipher suites added and removed (both scans made with `--suites`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub suites: BTreeMap<TlsVersion, super::suites::SuiteChange>,
}

impl EndpointDiff {
    /// Unreachable in both scans: nothing about it was verified.
    pub fn unreachable_both(&self) -> bool {
        self.before_verdict == Some(Verdict::Unreachable)
            && self.after_verdict == Some(Verdict::Unreachable)
    }
}

/// Which scan a side of a comparison (or a check) is: the evidence a change ticket quotes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    pub label: Option<String>,
    pub scanner: Option<String>,
    pub started: String,
    #[serde(default)]
    pub finished: String,
    pub file: Option<String>,
    /// `tlsmatrix 0.1.0`, the tool that made the scan.
    #[serde(default)]
    pub tool: String,
    #[serde(default)]
    pub tls_library: String,
}

impl Side {
    pub fn of(r: &Report, file: Option<&str>) -> Side {
        Side {
            label: r.label.clone(),
            scanner: r.scanner.clone(),
            started: r.started.clone(),
            finished: r.finished.clone(),
            file: file.map(str::to_string),
            tool: format!("{} {}", r.tool.name, r.tool.version),
            tls_library: r.tls_library.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    pub schema_version: u32,
    pub before: Side,
    pub after: Side,
    pub summary: BTreeMap<EndpointResult, usize>,
    pub endpoints: Vec<EndpointDiff>,
    /// Exceptions past their date: the comparison fails until each is renewed or removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired_exceptions: Vec<String>,
}

type Key = (String, Option<IpAddr>, u16, Protocol);

fn key(e: &Endpoint) -> Key {
    (e.target.clone(), e.address, e.port, e.protocol)
}

/// Compare two reports, with the exceptions in force. Endpoints keep the order of the after
/// scan, then those only before.
pub fn diff(
    before: &Report,
    after: &Report,
    files: (Option<&str>, Option<&str>),
    exceptions: &Exceptions,
) -> Diff {
    let before_by_key: BTreeMap<Key, &Endpoint> =
        before.endpoints.iter().map(|e| (key(e), e)).collect();
    let after_keys: std::collections::HashSet<Key> = after.endpoints.iter().map(key).collect();
    let mut endpoints = Vec::new();
    let suites_listed = before.options.suites && after.options.suites;
    for a in &after.endpoints {
        let b = before_by_key.get(&key(a)).copied();
        endpoints.push(compare(b, Some(a), exceptions, suites_listed));
    }
    for b in &before.endpoints {
        if !after_keys.contains(&key(b)) {
            endpoints.push(compare(Some(b), None, exceptions, suites_listed));
        }
    }
    let mut summary: BTreeMap<EndpointResult, usize> = BTreeMap::new();
    for e in &endpoints {
        *summary.entry(e.result).or_default() += 1;
    }
    Diff {
        schema_version: SCHEMA_VERSION,
        before: Side::of(before, files.0),
        after: Side::of(after, files.1),
        summary,
        endpoints,
        expired_exceptions: exceptions.expired(),
    }
}

fn compare(
    before: Option<&Endpoint>,
    after: Option<&Endpoint>,
    exceptions: &Exceptions,
    suites_listed: bool,
) -> EndpointDiff {
    let e = after.or(before).expect("one side");
    let subject = Subject {
        target: &e.target,
        host: &e.host,
        address: e.address,
        port: e.port,
    };
    let only_in = match (before, after) {
        (None, Some(_)) => Some(OnlyIn::Added),
        (Some(_), None) => Some(OnlyIn::Removed),
        _ => None,
    };
    let mut versions = BTreeMap::new();
    let no_tls = |e: Option<&Endpoint>| e.is_some_and(|e| declines_tls(&e.versions));
    let (b_no_tls, a_no_tls) = (no_tls(before), no_tls(after));
    let mut notes = Vec::new();
    for (side, e, yes) in [("before", before, b_no_tls), ("after", after, a_no_tls)] {
        if let (true, Some(e)) = (yes, e) {
            let why = e.versions.values().next().map(|c| c.outcome.detail());
            notes.push(format!(
                "{side}: the endpoint served no TLS at all ({}); its versions count as not accepted there",
                why.unwrap_or_default()
            ));
        }
    }
    if only_in.is_none() {
        let all: std::collections::BTreeSet<TlsVersion> = before
            .iter()
            .chain(after.iter())
            .flat_map(|e| e.versions.keys().copied())
            .collect();
        for v in all {
            let b = before.and_then(|e| e.versions.get(&v));
            let a = after.and_then(|e| e.versions.get(&v));
            let mut change = Change {
                before: b.map(Cell::status),
                after: a.map(Cell::status),
                short: (short(b), short(a)),
                transition: transition_of(v, state(b, b_no_tls), state(a, a_no_tls)),
                before_detail: b.map(|c| c.outcome.detail()),
                after_detail: a.map(|c| c.outcome.detail()),
                excepted: None,
            };
            if change.is_problem(v) {
                change.excepted = exceptions.covering(&subject, Some(v)).map(Excepted::from);
            }
            versions.insert(v, change);
        }
    }
    let (before_verdict, after_verdict) = (before.map(|e| e.verdict), after.map(|e| e.verdict));
    let whole_endpoint_in_doubt = only_in.is_some()
        || (before_verdict == Some(Verdict::Unreachable)
            && after_verdict == Some(Verdict::Unreachable));
    let excepted = if whole_endpoint_in_doubt {
        exceptions.covering(&subject, None).map(Excepted::from)
    } else {
        None
    };
    let certificate = match (before, after) {
        (Some(b), Some(a)) => super::certs::compare(b, a),
        _ => None,
    };
    let suites = match (before, after) {
        (Some(b), Some(a)) => super::suites::compare(b, a, suites_listed),
        _ => BTreeMap::new(),
    };
    let result = match only_in {
        Some(_) if excepted.is_some() => EndpointResult::Excepted,
        Some(OnlyIn::Added) => EndpointResult::Added,
        Some(OnlyIn::Removed) => EndpointResult::Removed,
        // A certificate that became invalid breaks clients as a refused TLS 1.2 does.
        None if certificate.as_ref().is_some_and(|c| c.became_invalid) => {
            EndpointResult::Regression
        }
        None => endpoint_result(&versions),
    };
    EndpointDiff {
        target: e.target.clone(),
        address: e.address,
        port: e.port,
        protocol: e.protocol,
        result,
        only_in,
        versions,
        before_verdict,
        after_verdict,
        excepted,
        certificate,
        notes,
        suites,
    }
}

/// A cell in a word or two.
fn short(c: Option<&Cell>) -> String {
    let Some(c) = c else {
        return "-".into();
    };
    match &c.outcome {
        o if o.works() => "yes".into(),
        Outcome::Accepted { .. } => "yes, no LDAP".into(),
        Outcome::Refused(_) => "no".into(),
        Outcome::TlsDeclined(_) => "declined".into(),
        Outcome::NotTestable(_) => "n/a".into(),
        o => o.status().key().into(),
    }
}

/// The endpoint's result from its versions' transitions; those an exception covers are left
/// out, and an endpoint whose only problems are excepted is `excepted`.
fn endpoint_result(versions: &BTreeMap<TlsVersion, Change>) -> EndpointResult {
    let counted = || versions.iter().filter(|(_, c)| c.excepted.is_none());
    let has = |t: Transition| counted().any(|(_, c)| c.transition == t);
    let legacy_new =
        counted().any(|(v, c)| v.is_legacy() && c.transition == Transition::NewlyAccepted);
    let any_excepted = versions.values().any(|c| c.excepted.is_some());
    if has(Transition::Regression) {
        EndpointResult::Regression
    } else if has(Transition::StillAccepted) || legacy_new {
        EndpointResult::StillAccepted
    } else if has(Transition::Inconclusive) {
        EndpointResult::Inconclusive
    } else if any_excepted {
        EndpointResult::Excepted
    } else if has(Transition::Enforced) {
        EndpointResult::Enforced
    } else if has(Transition::NewlyAccepted) {
        EndpointResult::Improved
    } else {
        EndpointResult::Unchanged
    }
}

/// Whether the comparison passes: no regression, no old version accepted after, no expired
/// exception, no endpoint removed without an exception, and (unless allowed) nothing undecided.
pub fn passes(d: &Diff, allow_inconclusive: bool) -> bool {
    d.expired_exceptions.is_empty()
        && d.endpoints.iter().all(|e| match e.result {
            EndpointResult::Regression
            | EndpointResult::StillAccepted
            | EndpointResult::Removed => false,
            EndpointResult::Inconclusive => allow_inconclusive,
            EndpointResult::Added
            | EndpointResult::Excepted
            | EndpointResult::Enforced
            | EndpointResult::Improved
            | EndpointResult::Unchanged => true,
        })
}

/// The endpoints that passed without being verified: inconclusive ones let through by
/// `--allow-inconclusive`.
pub fn not_verified(d: &Diff) -> Vec<&EndpointDiff> {
    d.endpoints
        .iter()
        .filter(|e| e.result == EndpointResult::Inconclusive)
        .collect()
}

/// `12 endpoints: 10 enforced, 1 still accepts TLS 1.0, 1 regression`.
pub fn summary_line(d: &Diff) -> String {
    let n = d.endpoints.len();
    let mut parts = Vec::new();
    for (r, count) in &d.summary {
        let text = match r {
            EndpointResult::StillAccepted => {
                let mut old: Vec<TlsVersion> = d
                    .endpoints
                    .iter()
                    .filter(|e| e.result == EndpointResult::StillAccepted)
                    .flat_map(|e| {
                        e.versions.iter().filter(|(v, c)| {
                            v.is_legacy()
                                && matches!(
                                    c.transition,
                                    Transition::StillAccepted | Transition::NewlyAccepted
                                )
                        })
                    })
                    .map(|(v, _)| *v)
                    .collect();
                old.sort();
                old.dedup();
                let names: Vec<&str> = old.iter().map(|v| v.name()).collect();
                format!(
                    "{count} still accept{} {}",
                    if *count == 1 { "s" } else { "" },
                    names.join(", ")
                )
            }
            EndpointResult::Regression => {
                format!("{count} regression{}", if *count == 1 { "" } else { "s" })
            }
            other => format!("{count} {}", other.key()),
        };
        parts.push(text);
    }
    format!(
        "{n} endpoint{}: {}",
        if n == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{self, accepted, cell, not_testable};
    use TlsVersion::*;

    fn acc() -> Option<Cell> {
        Some(cell(accepted()))
    }
    fn refused() -> Option<Cell> {
        Some(cell(fixtures::refused()))
    }
    fn declined() -> Option<Cell> {
        Some(cell(fixtures::declined()))
    }
    fn timeout() -> Option<Cell> {
        Some(cell(fixtures::timeout()))
    }
    fn unreachable() -> Option<Cell> {
        Some(cell(Outcome::Unreachable("refused".into())))
    }
    fn error() -> Option<Cell> {
        Some(cell(Outcome::Error("e".into())))
    }
    fn nt() -> Option<Cell> {
        Some(cell(not_testable()))
    }
    fn no_ldap() -> Option<Cell> {
        Some(cell(fixtures::no_ldap()))
    }

    fn t(v: TlsVersion, b: Option<Cell>, a: Option<Cell>) -> Transition {
        transition(v, b.as_ref(), a.as_ref())
    }

    #[test]
    fn old_versions() {
        use Transition::*;
        assert_eq!(t(Tls10, acc(), refused()), Enforced);
        // A declined prelude put no hello for the version on the wire: nothing is proven.
        assert_eq!(t(Tls10, acc(), declined()), Inconclusive);
        assert_eq!(t(Tls11, acc(), acc()), StillAccepted);
        assert_eq!(t(Tls11, no_ldap(), no_ldap()), StillAccepted);
        assert_eq!(t(Tls10, refused(), acc()), NewlyAccepted);
        assert_eq!(t(Tls10, refused(), refused()), Unchanged);
        assert_eq!(t(Ssl3, nt(), nt()), NotTestable);
        assert_eq!(t(Ssl3, nt(), refused()), NotTestable);
        // An acceptance is never hidden by the other side being undecided.
        assert_eq!(t(Tls10, timeout(), acc()), Inconclusive);
        assert_eq!(t(Ssl3, nt(), acc()), Inconclusive);
    }

    #[test]
    fn inconclusive_on_either_side() {
        for v in [Tls10, Tls12] {
            for undecided in [timeout(), unreachable(), error(), None] {
                assert_eq!(
                    t(v, undecided.clone(), refused()),
                    Transition::Inconclusive,
                    "{v} before"
                );
                assert_eq!(
                    t(v, refused(), undecided.clone()),
                    Transition::Inconclusive,
                    "{v} after"
                );
            }
        }
        assert_eq!(t(Tls10, acc(), timeout()), Transition::Inconclusive);
    }

    #[test]
    fn new_versions() {
        use Transition::*;
        assert_eq!(t(Tls12, acc(), acc()), Unchanged);
        assert_eq!(t(Tls12, acc(), refused()), Regression);
        assert_eq!(t(Tls12, acc(), declined()), Regression);
        assert_eq!(
            t(Tls12, acc(), no_ldap()),
            Regression,
            "handshake without LDAP is broken"
        );
        // Worked before and does not answer now: a regression, which --allow-inconclusive
        // cannot hide.
        assert_eq!(t(Tls13, acc(), timeout()), Regression);
        assert_eq!(t(Tls13, acc(), unreachable()), Regression);
        assert_eq!(t(Tls13, acc(), None), Inconclusive, "not tested after");
        assert_eq!(t(Tls13, refused(), acc()), NewlyAccepted);
        assert_eq!(t(Tls13, refused(), refused()), Unchanged);
        assert_eq!(t(Tls12, no_ldap(), refused()), Unchanged);
    }
}
