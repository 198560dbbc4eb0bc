//! Policies: which versions must work and which must be refused, checked per endpoint.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::report::{Endpoint, Outcome, Protocol, RdpStandardSecurity, Report, TlsVersion};

/// What a policy demands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    /// Every one of these must work.
    pub require_all: Vec<TlsVersion>,
    /// At least one of these must work.
    pub require_any: Vec<TlsVersion>,
    /// Each of these must be refused.
    pub forbid: Vec<TlsVersion>,
}

impl Policy {
    /// A named policy: `tls12-only`, `tls12-plus` or `tls13-only`.
    pub fn named(name: &str) -> Option<Policy> {
        use TlsVersion::*;
        let (all, any, forbid) = match name {
            "tls12-only" => (vec![Tls12], vec![], vec![Ssl3, Tls10, Tls11]),
            "tls12-plus" => (vec![], vec![Tls12, Tls13], vec![Ssl3, Tls10, Tls11]),
            "tls13-only" => (vec![Tls13], vec![], vec![Ssl3, Tls10, Tls11, Tls12]),
            _ => return None,
        };
        Some(Policy {
            name: name.to_string(),
            require_all: all,
            require_any: any,
            forbid,
        })
    }

    /// `--require LIST --forbid LIST`.
    pub fn custom(require: Vec<TlsVersion>, forbid: Vec<TlsVersion>) -> Policy {
        let names = |vs: &[TlsVersion]| vs.iter().map(|v| v.key()).collect::<Vec<_>>().join(",");
        Policy {
            name: format!("require {} forbid {}", names(&require), names(&forbid)),
            require_all: require,
            require_any: vec![],
            forbid,
        }
    }
}

/// Whether one endpoint meets the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compliance {
    Fail,
    Inconclusive,
    Pass,
}

/// One reason an endpoint fails or could not be decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub version: Option<TlsVersion>,
    pub kind: Compliance,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointCheck {
    pub target: String,
    pub address: Option<std::net::IpAddr>,
    pub port: u16,
    pub result: Compliance,
    pub findings: Vec<Finding>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    pub schema_version: u32,
    pub policy: Policy,
    pub label: Option<String>,
    pub result: Compliance,
    pub endpoints: Vec<EndpointCheck>,
}

impl fmt::Display for Compliance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compliance::Fail => "fail",
            Compliance::Inconclusive => "inconclusive",
            Compliance::Pass => "pass",
        })
    }
}

/// Check every endpoint of a report.
pub fn check(report: &Report, policy: &Policy) -> CheckReport {
    let endpoints: Vec<EndpointCheck> = report
        .endpoints
        .iter()
        .map(|e| check_endpoint(e, policy))
        .collect();
    let result = endpoints
        .iter()
        .map(|e| e.result)
        .min()
        .unwrap_or(Compliance::Inconclusive);
    CheckReport {
        schema_version: crate::report::SCHEMA_VERSION,
        policy: policy.clone(),
        label: report.label.clone(),
        result,
        endpoints,
    }
}

enum Seen {
    Works,
    HandshakeOnly,
    No,
    Unknown(String),
}

fn seen(e: &Endpoint, v: TlsVersion) -> Seen {
    match e.versions.get(&v).map(|c| &c.outcome) {
        None => Seen::Unknown(format!("{} was not tested", v.name())),
        Some(o) if o.works() => Seen::Works,
        Some(Outcome::Accepted { .. }) => Seen::HandshakeOnly,
        Some(Outcome::Refused(_) | Outcome::TlsDeclined(_)) => Seen::No,
        Some(Outcome::NotTestable(why)) => {
            Seen::Unknown(format!("{} could not be tested: {why}", v.name()))
        }
        Some(o) => Seen::Unknown(format!(
            "{}: {}: {}",
            v.name(),
            o.status().key(),
            o.detail()
        )),
    }
}

/// A policy that refuses any version refuses no TLS at all too: an RDP server that still allows
/// Standard RDP Security lets a client that fails TLS connect without it.
fn rdp_fallback(e: &Endpoint, p: &Policy) -> Option<Finding> {
    if e.protocol != Protocol::Rdp || p.forbid.is_empty() {
        return None;
    }
    let (kind, message) = match e.rdp_standard_security? {
        RdpStandardSecurity::Allowed => (
            Compliance::Fail,
            "Standard RDP Security is allowed: a client that fails TLS connects without TLS",
        ),
        RdpStandardSecurity::Unknown => (
            Compliance::Inconclusive,
            "whether Standard RDP Security is allowed is unknown",
        ),
        RdpStandardSecurity::Refused => return None,
    };
    Some(Finding {
        version: None,
        kind,
        message: message.to_string(),
    })
}

fn check_endpoint(e: &Endpoint, p: &Policy) -> EndpointCheck {
    let mut findings = Vec::new();
    let mut push = |version, kind, message: String| {
        findings.push(Finding {
            version,
            kind,
            message,
        })
    };
    for &v in &p.forbid {
        match seen(e, v) {
            Seen::Works | Seen::HandshakeOnly => push(
                Some(v),
                Compliance::Fail,
                format!("{} is accepted", v.name()),
            ),
            Seen::No => {}
            Seen::Unknown(why) => push(Some(v), Compliance::Inconclusive, why),
        }
    }
    for &v in &p.require_all {
        match seen(e, v) {
            Seen::Works => {}
            Seen::HandshakeOnly => push(
                Some(v),
                Compliance::Fail,
                format!("{} handshakes but LDAP does not answer over it", v.name()),
            ),
            Seen::No => push(
                Some(v),
                Compliance::Fail,
                format!("{} is not accepted", v.name()),
            ),
            Seen::Unknown(why) => push(Some(v), Compliance::Inconclusive, why),
        }
    }
    if !p.require_any.is_empty() {
        let states: Vec<Seen> = p.require_any.iter().map(|v| seen(e, *v)).collect();
        let names: Vec<&str> = p.require_any.iter().map(|v| v.name()).collect();
        if !states.iter().any(|s| matches!(s, Seen::Works)) {
            let unknown: Vec<String> = states
                .into_iter()
                .filter_map(|s| match s {
                    Seen::Unknown(why) => Some(why),
                    _ => None,
                })
                .collect();
            if unknown.is_empty() {
                push(
                    None,
                    Compliance::Fail,
                    format!("none of {} works", names.join(", ")),
                );
            } else {
                push(None, Compliance::Inconclusive, unknown.join("; "));
            }
        }
    }
    if let Some(finding) = rdp_fallback(e, p) {
        findings.push(finding);
    }
    let result = findings
        .iter()
        .map(|f| f.kind)
        .min()
        .unwrap_or(Compliance::Pass);
    EndpointCheck {
        target: e.target.clone(),
        address: e.address,
        port: e.port,
        result,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::{Cell, Phase, Refusal, Verdict};
    use TlsVersion::*;

    fn endpoint(cells: &[(TlsVersion, Outcome)]) -> Endpoint {
        let versions: BTreeMap<TlsVersion, Cell> = cells
            .iter()
            .map(|(v, o)| {
                (
                    *v,
                    Cell {
                        outcome: o.clone(),
                        elapsed_ms: 1,
                        attempts: 1,
                        engines: None,
                    },
                )
            })
            .collect();
        Endpoint {
            target: "dc1:636".into(),
            host: "dc1".into(),
            address: None,
            port: 636,
            protocol: Protocol::Ldaps,
            sni: None,
            verdict: Verdict::Ready,
            verdict_detail: String::new(),
            root_dse: None,
            seen_by: BTreeMap::new(),
            disagreements: vec![],
            rdp_standard_security: None,
            versions,
        }
    }
    fn acc() -> Outcome {
        Outcome::Accepted {
            cipher: None,
            completed: true,
            note: None,
            ldap: None,
        }
    }
    fn no() -> Outcome {
        Outcome::Refused(Refusal::Reset)
    }

    #[test]
    fn tls12_only() {
        let p = Policy::named("tls12-only").unwrap();
        let good = endpoint(&[
            (Ssl3, no()),
            (Tls10, no()),
            (Tls11, no()),
            (Tls12, acc()),
            (Tls13, acc()),
        ]);
        assert_eq!(check_endpoint(&good, &p).result, Compliance::Pass);
        let old = endpoint(&[(Ssl3, no()), (Tls10, acc()), (Tls11, no()), (Tls12, acc())]);
        let c = check_endpoint(&old, &p);
        assert_eq!(c.result, Compliance::Fail);
        assert_eq!(c.findings[0].message, "TLS 1.0 is accepted");
        let untested = endpoint(&[
            (Ssl3, Outcome::NotTestable("no SSLv3 in this build".into())),
            (Tls10, no()),
            (Tls11, no()),
            (Tls12, acc()),
        ]);
        assert_eq!(
            check_endpoint(&untested, &p).result,
            Compliance::Inconclusive,
            "never a pass"
        );
    }

    #[test]
    fn a_failure_wins_over_an_undecided_cell() {
        let p = Policy::named("tls12-only").unwrap();
        let timeout = Outcome::Timeout {
            phase: Phase::Handshake,
            message: "t".into(),
        };
        let e = endpoint(&[
            (Ssl3, no()),
            (Tls10, timeout),
            (Tls11, acc()),
            (Tls12, acc()),
        ]);
        assert_eq!(check_endpoint(&e, &p).result, Compliance::Fail);
    }

    #[test]
    fn tls12_plus_needs_one_of_the_two() {
        let p = Policy::named("tls12-plus").unwrap();
        let only13 = endpoint(&[
            (Ssl3, no()),
            (Tls10, no()),
            (Tls11, no()),
            (Tls12, no()),
            (Tls13, acc()),
        ]);
        assert_eq!(check_endpoint(&only13, &p).result, Compliance::Pass);
        let none = endpoint(&[
            (Ssl3, no()),
            (Tls10, no()),
            (Tls11, no()),
            (Tls12, no()),
            (Tls13, no()),
        ]);
        assert_eq!(check_endpoint(&none, &p).result, Compliance::Fail);
        assert!(Policy::named("tls11-only").is_none());
    }

    #[test]
    fn tls12_only_fails_an_rdp_endpoint_that_allows_standard_rdp_security() {
        let p = Policy::named("tls12-only").unwrap();
        let mut e = endpoint(&[
            (Ssl3, no()),
            (Tls10, no()),
            (Tls11, no()),
            (Tls12, acc()),
            (Tls13, acc()),
        ]);
        e.protocol = Protocol::Rdp;
        e.port = 3389;
        e.rdp_standard_security = Some(RdpStandardSecurity::Refused);
        assert_eq!(check_endpoint(&e, &p).result, Compliance::Pass);
        e.rdp_standard_security = Some(RdpStandardSecurity::Allowed);
        let c = check_endpoint(&e, &p);
        assert_eq!(c.result, Compliance::Fail);
        assert!(
            c.findings[0]
                .message
                .contains("Standard RDP Security is allowed")
        );
        e.rdp_standard_security = Some(RdpStandardSecurity::Unknown);
        assert_eq!(check_endpoint(&e, &p).result, Compliance::Inconclusive);
        // A policy that forbids nothing does not care.
        let anything = Policy::custom(vec![Tls12], vec![]);
        e.rdp_standard_security = Some(RdpStandardSecurity::Allowed);
        assert_eq!(check_endpoint(&e, &anything).result, Compliance::Pass);
    }

    #[test]
    fn custom_policy() {
        let p = Policy::custom(vec![Tls12], vec![Tls10, Tls11]);
        let e = endpoint(&[(Tls10, no()), (Tls11, no()), (Tls12, acc())]);
        assert_eq!(check_endpoint(&e, &p).result, Compliance::Pass);
        let tls13 = Policy::named("tls13-only").unwrap();
        assert_eq!(
            check_endpoint(&e, &tls13).result,
            Compliance::Fail,
            "TLS 1.2 is accepted"
        );
    }
}
