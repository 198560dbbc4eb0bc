//! One cell of the matrix: what happened when one version was forced on one endpoint, what
//! that proves, and how it is saved.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::tls::alert_name;

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
    /// Never probed: the scan was interrupted first.
    Interrupted,
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
            Status::Interrupted => "interrupted",
        }
    }
}

/// The detail of a cell never probed because the scan was interrupted (and how schema 1 wrote it).
const INTERRUPTED_V1: &str = "not probed: the scan was interrupted";

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
    /// The scan was interrupted before this cell was probed.
    Interrupted,
}

/// What a cell proves about its version: the one rule that verdicts, comparisons, policy
/// checks, merges and the combination of the engines all follow.
///
/// - `Accepted`: the server chose this version (a ServerHello for it), whether or not the
///   handshake then completed or the directory answered over it.
/// - `Refused`: a ClientHello offering this version reached the server and the server said no
///   (an alert, another version, non-TLS bytes, a reset or close with nothing received).
/// - `Unproven`: nothing is known about this version. That includes a StartTLS or RDP prelude
///   the server declined: no ClientHello for the version was ever sent, so the cell proves
///   nothing about it (an endpoint where every version is declined serves no TLS at all, which
///   the verdict says as `no_tls`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proof {
    Accepted {
        /// The handshake completed and, on LDAP with the check on, the directory answered.
        works: bool,
    },
    Refused,
    Unproven(Unproven),
}

/// Why a cell proves nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unproven {
    /// The engines in use cannot offer the version (or could not tell from what they offer).
    NotTestable,
    /// The server declined TLS in the prelude, before any ClientHello.
    Declined,
    Unreachable,
    Timeout,
    Error,
    Interrupted,
    /// The version was not part of the scan.
    NotProbed,
}

impl Proof {
    /// The proof of an optional cell: a version absent from a scan proves nothing.
    pub fn of(cell: Option<&Cell>) -> Proof {
        cell.map_or(Proof::Unproven(Unproven::NotProbed), Cell::proof)
    }

    pub fn is_accepted(self) -> bool {
        matches!(self, Proof::Accepted { .. })
    }

    /// Accepted or refused: the server answered this version.
    pub fn is_decided(self) -> bool {
        !matches!(self, Proof::Unproven(_))
    }
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
            Outcome::Interrupted => Status::Interrupted,
        }
    }

    /// What this outcome proves about its version (see [`Proof`]).
    pub fn proof(&self) -> Proof {
        match self {
            Outcome::Accepted { .. } => Proof::Accepted {
                works: self.works(),
            },
            Outcome::Refused(_) => Proof::Refused,
            Outcome::TlsDeclined(_) => Proof::Unproven(Unproven::Declined),
            Outcome::Unreachable(_) => Proof::Unproven(Unproven::Unreachable),
            Outcome::Timeout { .. } => Proof::Unproven(Unproven::Timeout),
            Outcome::NotTestable(_) => Proof::Unproven(Unproven::NotTestable),
            Outcome::Error(_) => Proof::Unproven(Unproven::Error),
            Outcome::Interrupted => Proof::Unproven(Unproven::Interrupted),
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
            Outcome::Interrupted => INTERRUPTED_V1.into(),
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

    /// What this cell proves about its version (see [`Proof`]).
    pub fn proof(&self) -> Proof {
        self.outcome.proof()
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
            Outcome::Unreachable(_)
            | Outcome::NotTestable(_)
            | Outcome::Error(_)
            | Outcome::Interrupted => {}
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
            // Reports of schema 1 saved an unprobed cell of an interrupted scan as an error.
            Status::Error if r.detail == INTERRUPTED_V1 => Outcome::Interrupted,
            Status::Error => Outcome::Error(r.detail),
            Status::Interrupted => Outcome::Interrupted,
        };
        Ok(Cell {
            outcome,
            elapsed_ms: r.elapsed_ms,
            attempts: r.attempts,
            engines: r.engines,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
