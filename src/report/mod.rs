//! The report: what a scan found, in the shape it is saved and read back.
//!
//! Serialised as documented in the README ("JSON report"). `schema_version` changes whenever a
//! field changes meaning or disappears; new optional fields do not bump it.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use crate::tls::{TlsVersion, alert_name};

pub mod load;

/// Version of the JSON report layout.
pub const SCHEMA_VERSION: u32 = 1;

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

/// The status of one cell of the matrix: one endpoint probed with one forced version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Accepted,
    Refused,
    Unreachable,
    Timeout,
    NotTestable,
    Error,
}

impl Status {
    pub fn key(self) -> &'static str {
        match self {
            Status::Accepted => "accepted",
            Status::Refused => "refused",
            Status::Unreachable => "unreachable",
            Status::Timeout => "timeout",
            Status::NotTestable => "not_testable",
            Status::Error => "error",
        }
    }
}

/// How a server said no to a version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    /// The server answered the ClientHello with a TLS alert.
    Alert { code: u8 },
    /// The server reset the connection.
    Reset,
    /// The server closed the connection without a TLS answer.
    Closed,
    /// The server answered with a ServerHello for a different version than the one offered.
    OtherVersion { version: String },
    /// The server answered with bytes that are not TLS.
    NotTls { received: String },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Alert { code } => write!(f, "alert {}({code})", alert_name(*code)),
            Refusal::Reset => f.write_str("connection reset by the server"),
            Refusal::Closed => f.write_str("connection closed without a TLS answer"),
            Refusal::OtherVersion { version } => write!(f, "server answered with {version}"),
            Refusal::NotTls { received } => {
                write!(f, "server answered with non-TLS data: {received}")
            }
        }
    }
}

/// Which step of a probe ran out of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Connect,
    /// The StartTLS exchange or the RDP negotiation before the handshake.
    Prelude,
    Handshake,
}

/// What happened when one version was forced on one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server chose exactly the forced version.
    Accepted {
        /// IANA name of the cipher suite the server chose.
        cipher: Option<String>,
        /// False when the server chose the version but the handshake failed later (a client
        /// certificate demanded, an oversized certificate, ...): the version is still accepted.
        completed: bool,
        note: Option<String>,
        /// For LDAP endpoints: whether the directory answered a RootDSE search over this
        /// version (`None` when not checked).
        ldap: Option<LdapCheck>,
    },
    Refused(Refusal),
    /// The server declined TLS itself before any ClientHello: StartTLS answered with an error
    /// code, or RDP negotiation chose standard RDP security or failed. Reported with status
    /// `error` (no version was put on the wire), but an endpoint where every version ends so has
    /// no TLS service.
    TlsDeclined(String),
    Unreachable(String),
    Timeout {
        phase: Phase,
        message: String,
    },
    NotTestable(String),
    Error(String),
}

impl Outcome {
    pub fn status(&self) -> Status {
        match self {
            Outcome::Accepted { .. } => Status::Accepted,
            Outcome::Refused(_) => Status::Refused,
            Outcome::TlsDeclined(_) => Status::Error,
            Outcome::Unreachable(_) => Status::Unreachable,
            Outcome::Timeout { .. } => Status::Timeout,
            Outcome::NotTestable(_) => Status::NotTestable,
            Outcome::Error(_) => Status::Error,
        }
    }

    /// A one-line explanation for people.
    pub fn detail(&self) -> String {
        match self {
            Outcome::Accepted {
                cipher,
                completed,
                note,
                ldap,
            } => {
                let mut s = match cipher {
                    Some(c) => format!("accepted with {c}"),
                    None => "accepted".to_string(),
                };
                if !completed {
                    s.push_str("; handshake not completed");
                }
                if let Some(n) = note {
                    s.push_str(": ");
                    s.push_str(n);
                }
                match ldap {
                    Some(LdapCheck::Answered) => s.push_str("; LDAP RootDSE search answered"),
                    Some(LdapCheck::Failed(why)) => {
                        s.push_str("; LDAP RootDSE search failed: ");
                        s.push_str(why);
                    }
                    None => {}
                }
                s
            }
            Outcome::Refused(r) => r.to_string(),
            Outcome::TlsDeclined(m)
            | Outcome::Unreachable(m)
            | Outcome::NotTestable(m)
            | Outcome::Error(m)
            | Outcome::Timeout { message: m, .. } => m.clone(),
        }
    }

    /// Accepted, and for LDAP the directory answered over it: the version really works.
    pub fn works(&self) -> bool {
        matches!(
            self,
            Outcome::Accepted {
                ldap: None | Some(LdapCheck::Answered),
                ..
            }
        )
    }

    /// True when a connection never got as far as TCP, so other versions will fare the same.
    pub fn is_connect_failure(&self) -> bool {
        matches!(
            self,
            Outcome::Unreachable(_)
                | Outcome::Timeout {
                    phase: Phase::Connect,
                    ..
                }
        )
    }
}

/// The result of the LDAP proof after a handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LdapCheck {
    Answered,
    Failed(String),
}

#[derive(Serialize, Deserialize)]
struct LdapCheckRepr {
    answered: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// What a directory's RootDSE says about itself, as far as the scan asked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootDse {
    #[serde(
        rename = "dnsHostName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub dns_host_name: Option<String>,
    #[serde(
        rename = "defaultNamingContext",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub default_naming_context: Option<String>,
    #[serde(
        rename = "supportedLDAPVersion",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub supported_ldap_version: Vec<String>,
    #[serde(
        rename = "vendorName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vendor_name: Option<String>,
    #[serde(
        rename = "vendorVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vendor_version: Option<String>,
    #[serde(
        rename = "domainControllerFunctionality",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub domain_controller_functionality: Option<String>,
}

/// One cell of the matrix as it is saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "CellRepr", try_from = "CellRepr")]
pub struct Cell {
    pub outcome: Outcome,
    pub elapsed_ms: u64,
    /// TCP connection attempts made (retries + 1), 0 when nothing was sent.
    pub attempts: u32,
    /// What each engine found, when both ran or when the wire engine stood in for OpenSSL.
    pub engines: Option<Box<Engines>>,
}

/// The answers of the two probe engines for one cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engines {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openssl: Option<EngineAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire: Option<EngineAnswer>,
    /// False when the engines gave different decided answers (or one could not decide).
    pub agree: bool,
}

/// One engine's answer, as status and explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineAnswer {
    pub status: Status,
    pub detail: String,
}

impl EngineAnswer {
    pub fn of(o: &Outcome) -> Self {
        EngineAnswer {
            status: o.status(),
            detail: o.detail(),
        }
    }
}

impl Cell {
    /// A cell decided without a probe of its own (nothing sent, no time spent).
    pub fn unprobed(outcome: Outcome) -> Cell {
        Cell {
            outcome,
            elapsed_ms: 0,
            attempts: 0,
            engines: None,
        }
    }

    pub fn status(&self) -> Status {
        self.outcome.status()
    }
}

#[derive(Serialize, Deserialize)]
struct CellRepr {
    status: Status,
    detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cipher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    handshake_completed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ldap: Option<LdapCheckRepr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    how: Option<RefusalRepr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase: Option<Phase>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    tls_declined: bool,
    elapsed_ms: u64,
    #[serde(default)]
    attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    engines: Option<Box<Engines>>,
}

/// A refusal with the alert's name spelled out for readers of the JSON.
#[derive(Serialize, Deserialize)]
struct RefusalRepr {
    #[serde(flatten)]
    refusal: Refusal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

impl From<Cell> for CellRepr {
    fn from(cell: Cell) -> Self {
        let detail = cell.outcome.detail();
        let mut repr = CellRepr {
            status: cell.outcome.status(),
            detail,
            cipher: None,
            handshake_completed: None,
            note: None,
            ldap: None,
            how: None,
            phase: None,
            tls_declined: false,
            elapsed_ms: cell.elapsed_ms,
            attempts: cell.attempts,
            engines: cell.engines,
        };
        match cell.outcome {
            Outcome::Accepted {
                cipher,
                completed,
                note,
                ldap,
            } => {
                repr.cipher = cipher;
                repr.handshake_completed = Some(completed);
                repr.note = note;
                repr.ldap = ldap.map(|l| match l {
                    LdapCheck::Answered => LdapCheckRepr {
                        answered: true,
                        error: None,
                    },
                    LdapCheck::Failed(e) => LdapCheckRepr {
                        answered: false,
                        error: Some(e),
                    },
                });
            }
            Outcome::TlsDeclined(_) => repr.tls_declined = true,
            Outcome::Refused(r) => {
                let name = match &r {
                    Refusal::Alert { code } => Some(alert_name(*code).to_string()),
                    _ => None,
                };
                repr.how = Some(RefusalRepr { refusal: r, name });
            }
            Outcome::Timeout { phase, .. } => repr.phase = Some(phase),
            Outcome::Unreachable(_) | Outcome::NotTestable(_) | Outcome::Error(_) => {}
        }
        repr
    }
}

impl TryFrom<CellRepr> for Cell {
    type Error = String;

    fn try_from(r: CellRepr) -> Result<Self, String> {
        let outcome = match r.status {
            Status::Accepted => Outcome::Accepted {
                cipher: r.cipher,
                completed: r.handshake_completed.unwrap_or(true),
                note: r.note,
                ldap: r.ldap.map(|l| {
                    if l.answered {
                        LdapCheck::Answered
                    } else {
                        LdapCheck::Failed(l.error.unwrap_or_default())
                    }
                }),
            },
            Status::Refused => Outcome::Refused(
                r.how
                    .ok_or("a refused cell must say how (field \"how\")")?
                    .refusal,
            ),
            Status::Timeout => Outcome::Timeout {
                phase: r.phase.ok_or("a timeout cell must name its phase")?,
                message: r.detail,
            },
            Status::Unreachable => Outcome::Unreachable(r.detail),
            Status::NotTestable => Outcome::NotTestable(r.detail),
            Status::Error if r.tls_declined => Outcome::TlsDeclined(r.detail),
            Status::Error => Outcome::Error(r.detail),
        };
        Ok(Cell {
            outcome,
            elapsed_ms: r.elapsed_ms,
            attempts: r.attempts,
            engines: r.engines,
        })
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

    /// The verdict's name for people, as in summaries.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::Legacy => "legacy",
            Verdict::Tls12Missing => "TLS 1.2 missing",
            Verdict::NoTls => "no TLS",
            Verdict::Unreachable => "unreachable",
            Verdict::Incomplete => "incomplete",
        }
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
    /// In a merged report: the cells each vantage point saw.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub seen_by: BTreeMap<String, BTreeMap<TlsVersion, Cell>>,
    /// In a merged report: versions on which vantage points gave different decided answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disagreements: Vec<String>,
    /// For RDP endpoints: whether Standard RDP Security (no TLS) is still allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdp_standard_security: Option<RdpStandardSecurity>,
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
}

/// Reports written before the wire engine existed were made with OpenSSL alone.
fn engine_of_old_reports() -> Engine {
    Engine::Openssl
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
    pub summary: BTreeMap<Verdict, usize>,
    /// In a merged report: the scans merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vantage_points: Vec<VantagePoint>,
    pub endpoints: Vec<Endpoint>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_keys_round_trip_through_serde_and_fromstr() {
        for v in TlsVersion::ALL {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.key()));
            assert_eq!(v.key().parse::<TlsVersion>().unwrap(), v);
            assert_eq!(TlsVersion::from_wire(v.wire()), Some(v));
        }
        assert_eq!("TLSv1".parse::<TlsVersion>().unwrap(), TlsVersion::Tls10);
        assert_eq!("TLS 1.2".parse::<TlsVersion>().unwrap(), TlsVersion::Tls12);
        assert!("tls1.4".parse::<TlsVersion>().is_err());
    }

    #[test]
    fn cells_round_trip_with_their_details() {
        let cells = [
            Outcome::Accepted {
                cipher: Some("TLS_AES_128_GCM_SHA256".into()),
                completed: true,
                note: None,
                ldap: None,
            },
            Outcome::Accepted {
                cipher: None,
                completed: true,
                note: None,
                ldap: Some(LdapCheck::Failed("no answer".into())),
            },
            Outcome::TlsDeclined("StartTLS answered 52 unavailable".into()),
            Outcome::Refused(Refusal::Alert { code: 70 }),
            Outcome::Refused(Refusal::Reset),
            Outcome::Refused(Refusal::OtherVersion {
                version: "TLS 1.2".into(),
            }),
            Outcome::Timeout {
                phase: Phase::Handshake,
                message: "no TLS answer within 2s".into(),
            },
            Outcome::NotTestable("no SSLv3 in this build".into()),
        ];
        for outcome in cells {
            let cell = Cell {
                outcome,
                elapsed_ms: 3,
                attempts: 1,
                engines: None,
            };
            let json = serde_json::to_value(&cell).unwrap();
            let back: Cell = serde_json::from_value(json).unwrap();
            assert_eq!(back, cell);
        }
        let json = serde_json::to_value(Cell {
            outcome: Outcome::Refused(Refusal::Alert { code: 70 }),
            elapsed_ms: 1,
            attempts: 1,
            engines: None,
        })
        .unwrap();
        assert_eq!(json["how"]["kind"], "alert");
        assert_eq!(json["how"]["code"], 70);
        assert_eq!(json["how"]["name"], "protocol_version");
        assert_eq!(json["detail"], "alert protocol_version(70)");
    }

    #[test]
    fn a_refused_cell_without_how_is_rejected() {
        let r: Result<Cell, _> =
            serde_json::from_str(r#"{"status":"refused","detail":"x","elapsed_ms":1}"#);
        assert!(r.is_err());
    }
}
