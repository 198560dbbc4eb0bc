//! The report: what a scan found, in the shape it is saved and read back.
//!
//! Serialised as documented in the README ("JSON report"). `schema_version` changes whenever a
//! field changes meaning or disappears; new optional fields do not bump it.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use crate::cert::{Certificate, Inconsistency};
pub use crate::tls::{TlsVersion, alert_name};

mod cell;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod load;
pub mod suites;

pub use cell::{
    Cell, EngineAnswer, Engines, LdapCheck, Outcome, Phase, Proof, Refusal, RootDse, Status,
    Unproven,
};
pub use suites::{AcceptedSuite, DhGroup, Named, SuiteOrder, VersionSuites};

/// Version of the scan report's layout. 2: a cell never probed has status `interrupted`
/// (schema 1 saved it as an `error`); reports of schema 1 are still read.
pub const SCHEMA_VERSION: u32 = 2;

/// The oldest scan report layout this build reads.
pub const OLDEST_SCHEMA_VERSION: u32 = 1;

/// Which engines decide the cells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// OpenSSL handshakes only.
    Openssl,
    /// Hand-written ClientHellos only.
    Wire,
    /// Both; the wire engine alone where OpenSSL cannot offer the version.
    #[default]
    Both,
}

impl Engine {
    pub fn key(self) -> &'static str {
        match self {
            Engine::Openssl => "openssl",
            Engine::Wire => "wire",
            Engine::Both => "both",
        }
    }
}

/// How TLS is reached on an endpoint, and what runs inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// The handshake starts as soon as TCP is up (HTTPS or any TLS service).
    Tls,
    /// LDAP over TLS from the first byte (LDAPS 636, Global Catalog 3269).
    Ldaps,
    /// LDAP in clear, upgraded with the StartTLS extended operation (389, Global Catalog 3268).
    LdapStarttls,
    /// RDP: X.224 connection request with an RDP negotiation request, then TLS (3389).
    Rdp,
}

impl Protocol {
    pub fn key(self) -> &'static str {
        match self {
            Protocol::Tls => "tls",
            Protocol::Ldaps => "ldaps",
            Protocol::LdapStarttls => "ldap_starttls",
            Protocol::Rdp => "rdp",
        }
    }

    /// Whether LDAP runs inside the TLS connection, so a RootDSE search can prove it works.
    pub fn is_ldap(self) -> bool {
        matches!(self, Protocol::Ldaps | Protocol::LdapStarttls)
    }
}

/// The conclusion for one endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// TLS 1.2 or 1.3 accepted, no older version accepted.
    Ready,
    /// TLS 1.2 or 1.3 accepted, but an older version too.
    Legacy,
    /// Reachable and speaking TLS, but neither TLS 1.2 nor 1.3 accepted.
    Tls12Missing,
    /// Reachable, but every version refused: no working TLS service there.
    NoTls,
    Unreachable,
    /// Cells that could not be decided leave the verdict open.
    Incomplete,
}

impl Verdict {
    pub const ALL: [Verdict; 6] = [
        Verdict::Ready,
        Verdict::Legacy,
        Verdict::Tls12Missing,
        Verdict::NoTls,
        Verdict::Unreachable,
        Verdict::Incomplete,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::Legacy => "legacy",
            Verdict::Tls12Missing => "tls12_missing",
            Verdict::NoTls => "no_tls",
            Verdict::Unreachable => "unreachable",
            Verdict::Incomplete => "incomplete",
        }
    }

    /// The verdict's name for people: the same name as in the JSON, so that a summary, a
    /// table and a saved report never name one verdict two ways.
    pub fn label(self) -> &'static str {
        self.key()
    }
}

/// Whether an RDP server still lets a client in with Standard RDP Security, which has no TLS at
/// all: a client that fails TLS falls back to it, so "TLS 1.2 only" on 3389 does not stop old
/// clients while it is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RdpStandardSecurity {
    Allowed,
    Refused,
    /// The probe got no readable answer.
    Unknown,
}

impl RdpStandardSecurity {
    pub fn key(self) -> &'static str {
        match self {
            RdpStandardSecurity::Allowed => "allowed",
            RdpStandardSecurity::Refused => "refused",
            RdpStandardSecurity::Unknown => "unknown",
        }
    }

    /// What it means, for the verdict's explanation.
    pub fn sentence(self) -> &'static str {
        match self {
            RdpStandardSecurity::Allowed => {
                "Standard RDP Security is allowed: a client that fails TLS connects without TLS"
            }
            RdpStandardSecurity::Refused => "Standard RDP Security is refused",
            RdpStandardSecurity::Unknown => "whether Standard RDP Security is allowed is unknown",
        }
    }
}

/// One row of the matrix: one address of one target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The target as the user wrote it.
    pub target: String,
    /// The host name or address literal from the target.
    pub host: String,
    /// The address probed; absent when the name did not resolve.
    pub address: Option<IpAddr>,
    pub port: u16,
    pub protocol: Protocol,
    /// The server name sent in the ClientHello, if any.
    pub sni: Option<String>,
    pub verdict: Verdict,
    /// A sentence explaining the verdict.
    pub verdict_detail: String,
    /// For LDAP endpoints: the RootDSE attributes from the first search that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_dse: Option<RootDse>,
    pub versions: BTreeMap<TlsVersion, Cell>,
    /// The certificate the server sent with its newest accepted version, with its findings
    /// (absent when no handshake was accepted by the OpenSSL engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Box<Certificate>>,
    /// In a merged report: the cells each vantage point saw.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub seen_by: BTreeMap<String, BTreeMap<TlsVersion, Cell>>,
    /// In a merged report: versions on which vantage points gave different decided answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disagreements: Vec<String>,
    /// For RDP endpoints: whether Standard RDP Security (no TLS) is still allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdp_standard_security: Option<RdpStandardSecurity>,
    /// With `scan --suites`: per accepted version, the suites, groups and signature algorithms
    /// the server accepts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub suites: BTreeMap<TlsVersion, VersionSuites>,
    /// TCP connections the scan opened to the endpoint: every probe's connect attempts, the
    /// suite enumeration's and the Standard RDP Security probe's (absent in older reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<u32>,
}

/// One scan that went into a merged report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VantagePoint {
    /// The name used in `seen_by`: the scan's label, else its scanning host, else its file.
    pub name: String,
    pub label: Option<String>,
    pub scanner: Option<String>,
    pub started: String,
    pub finished: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

/// The settings a scan ran with, so that two reports can be compared knowingly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanOptions {
    pub versions: Vec<TlsVersion>,
    pub concurrency: usize,
    pub per_host: usize,
    pub connect_timeout_ms: u64,
    pub timeout_ms: u64,
    pub retries: u32,
    pub sni: Option<String>,
    /// Whether LDAP endpoints were checked with a RootDSE search.
    #[serde(default)]
    pub ldap_check: bool,
    /// The probe engines used (`openssl`, `wire`, `both`).
    #[serde(default = "engine_of_old_reports")]
    pub engine: Engine,
    /// Certificates expiring in fewer days than this were reported `expires_soon`.
    #[serde(default = "default_warn_days")]
    pub cert_warn_days: u32,
    /// The trust store certificates were verified against (`system + --ca-file ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_store: Option<String>,
    /// Whether the accepted suites of each version were enumerated (`--suites`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suites: bool,
}

fn default_warn_days() -> u32 {
    crate::cert::DEFAULT_WARN_DAYS
}

/// Reports written before the wire engine existed were made with OpenSSL alone.
fn engine_of_old_reports() -> Engine {
    Engine::Openssl
}

/// An endpoint left out of the scan by `--exclude`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excluded {
    pub target: String,
    pub address: Option<IpAddr>,
    pub port: u16,
    /// The pattern that named it.
    pub pattern: String,
}

/// A target that could not be read, kept in the report so nothing is dropped silently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputError {
    /// `file:line`, or `argument N`.
    pub source: String,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    /// The TLS library that made the handshakes, with its version.
    pub tls_library: String,
    pub label: Option<String>,
    /// The machine the scan ran on (its host name).
    pub scanner: Option<String>,
    /// RFC 3339 times.
    pub started: String,
    pub finished: String,
    /// False when the scan was interrupted; unfinished cells are then `error`.
    pub complete: bool,
    pub options: ScanOptions,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_errors: Vec<InputError>,
    /// What went wrong around the scan without stopping it (DNS discovery problems); listed,
    /// not counted against the scan's exit status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<InputError>,
    /// Endpoints left out with `--exclude`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<Excluded>,
    pub summary: BTreeMap<Verdict, usize>,
    /// In a merged report: the scans merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vantage_points: Vec<VantagePoint>,
    pub endpoints: Vec<Endpoint>,
    /// Certificates that should look alike and do not (one DC's LDAP ports, DCs of a domain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificate_consistency: Vec<Inconsistency>,
}

impl Report {
    /// Counts of endpoints per verdict, every verdict present.
    pub fn count_verdicts(endpoints: &[Endpoint]) -> BTreeMap<Verdict, usize> {
        let mut m: BTreeMap<Verdict, usize> = Verdict::ALL.iter().map(|v| (*v, 0)).collect();
        for e in endpoints {
            *m.entry(e.verdict).or_default() += 1;
        }
        m
    }

    /// True when some endpoint could not be judged (unreachable or incomplete).
    pub fn has_undecided(&self) -> bool {
        self.endpoints
            .iter()
            .any(|e| matches!(e.verdict, Verdict::Unreachable | Verdict::Incomplete))
    }
}
