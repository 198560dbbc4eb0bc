//! Policies: which versions must work and which must be refused, checked per endpoint.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::certs::{self, CertPolicy};
use super::suites::{self as suite_check, SuiteRule};
use crate::analysis::diff::Side;
use crate::analysis::exceptions::{Excepted, Exceptions, Subject};
use crate::analysis::verdict::declines_tls;
use crate::cert::FindingKey;
use crate::report::{Endpoint, Proof, Protocol, RdpStandardSecurity, Report, TlsVersion, Unproven};

/// Version of the check document's layout. 2: a declined cell is `inconclusive`, and a
/// finding may be of kind `pass` (an endpoint that serves no TLS at all, said explicitly).
pub const SCHEMA_VERSION: u32 = 2;

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
    /// What the certificates must be (see `analysis::certs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertPolicy>,
    /// Suites no accepted version may take (see `analysis::suites`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbid_suites: Option<SuiteRule>,
}

impl Policy {
    /// A named policy: `tls12-only`, `tls12-plus`, `tls13-only`, `tls12-only-certs`
    /// (`tls12-only` with the certificate requirements of [`CertPolicy::usual`]), or
    /// `tls12-only-suites` (`tls12-only`, and no weak or insecure suite accepted).
    pub fn named(name: &str) -> Option<Policy> {
        use TlsVersion::*;
        if name == "tls12-only-suites" {
            let mut p = Policy::named("tls12-only")?;
            p.name = name.to_string();
            p.forbid_suites = Some(SuiteRule::Class(crate::tls::suites::SuiteClass::Weak));
            return Some(p);
        }
        if name == "tls12-only-certs" {
            let mut p = Policy::named("tls12-only")?;
            p.name = name.to_string();
            p.certificate = Some(CertPolicy::usual());
            return Some(p);
        }
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
            certificate: None,
            forbid_suites: None,
        })
    }

    /// No version requirement: certificate flags alone.
    pub fn certificates_only() -> Policy {
        Policy {
            name: "certificates".into(),
            require_all: vec![],
            require_any: vec![],
            forbid: vec![],
            certificate: None,
            forbid_suites: None,
        }
    }

    /// `--require LIST --forbid LIST`.
    pub fn custom(require: Vec<TlsVersion>, forbid: Vec<TlsVersion>) -> Policy {
        let names = |vs: &[TlsVersion]| vs.iter().map(|v| v.key()).collect::<Vec<_>>().join(",");
        Policy {
            name: format!("require {} forbid {}", names(&require), names(&forbid)),
            require_all: require,
            require_any: vec![],
            forbid,
            certificate: None,
            forbid_suites: None,
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
    /// An exception covers this finding: it is listed, and not held against the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excepted: Option<Excepted>,
    /// For a certificate requirement: the finding's key (`expired`, `untrusted`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<FindingKey>,
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
    /// The scan checked: file, label, scanner, times, tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<Side>,
    /// When the check ran, and the tool that ran it.
    #[serde(default)]
    pub checked_at: String,
    #[serde(default)]
    pub checked_by: String,
    pub result: Compliance,
    pub endpoints: Vec<EndpointCheck>,
    /// Exceptions past their date: the check fails until each is renewed or removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired_exceptions: Vec<String>,
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

/// Check every endpoint of a report, with the exceptions in force.
pub fn check(report: &Report, policy: &Policy, exceptions: &Exceptions) -> CheckReport {
    let endpoints: Vec<EndpointCheck> = report
        .endpoints
        .iter()
        .map(|e| {
            let mut c = check_endpoint(e, policy);
            certs::add_to_check(&mut c, e, policy);
            suite_check::add_to_check(&mut c, e, policy);
            except(c, e, exceptions)
        })
        .collect();
    let expired_exceptions = exceptions.expired();
    let result = if expired_exceptions.is_empty() {
        endpoints
            .iter()
            .map(|e| e.result)
            .min()
            .unwrap_or(Compliance::Inconclusive)
    } else {
        Compliance::Fail
    };
    CheckReport {
        schema_version: SCHEMA_VERSION,
        policy: policy.clone(),
        label: report.label.clone(),
        scan: Some(Side::of(report, None)),
        checked_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        checked_by: format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")),
        result,
        endpoints,
        expired_exceptions,
    }
}

/// Mark the findings an exception covers, and judge the endpoint by the others.
fn except(mut c: EndpointCheck, e: &Endpoint, exceptions: &Exceptions) -> EndpointCheck {
    if exceptions.is_empty() {
        return c;
    }
    let subject = Subject {
        target: &e.target,
        host: &e.host,
        address: e.address,
        port: e.port,
    };
    for f in &mut c.findings {
        if f.kind != Compliance::Pass {
            f.excepted = exceptions.covering(&subject, f.version).map(Excepted::from);
        }
    }
    c.result = judge(&c.findings);
    c
}

fn judge(findings: &[Finding]) -> Compliance {
    findings
        .iter()
        .filter(|f| f.excepted.is_none())
        .map(|f| f.kind)
        .min()
        .unwrap_or(Compliance::Pass)
}

/// What the policy sees of one version of an endpoint, from what its cell proves.
enum Seen {
    Works,
    HandshakeOnly,
    No,
    Unknown(String),
}

fn seen(e: &Endpoint, v: TlsVersion) -> Seen {
    let cell = e.versions.get(&v);
    match (Proof::of(cell), cell) {
        (Proof::Accepted { works: true }, _) => Seen::Works,
        (Proof::Accepted { works: false }, _) => Seen::HandshakeOnly,
        (Proof::Refused, _) => Seen::No,
        (_, None) => Seen::Unknown(format!("{} was not tested", v.name())),
        (Proof::Unproven(Unproven::NotTestable), Some(c)) => Seen::Unknown(format!(
            "{} could not be tested: {}",
            v.name(),
            c.outcome.detail()
        )),
        (Proof::Unproven(Unproven::Declined), Some(c)) => Seen::Unknown(format!(
            "{} was never offered: the server declined TLS before any ClientHello ({})",
            v.name(),
            c.outcome.detail()
        )),
        (Proof::Unproven(_), Some(c)) => Seen::Unknown(format!(
            "{}: {}: {}",
            v.name(),
            c.status().key(),
            c.outcome.detail()
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
        excepted: None,
        certificate: None,
    })
}

pub(crate) fn check_endpoint(e: &Endpoint, p: &Policy) -> EndpointCheck {
    let mut findings = Vec::new();
    let mut push = |version, kind, message: String| {
        findings.push(Finding {
            version,
            kind,
            message,
            excepted: None,
            certificate: None,
        })
    };
    if declines_tls(&e.versions) {
        // No version was offered, so none is refused; but none can be accepted either. Said
        // explicitly, never counted silently.
        let why = e
            .versions
            .values()
            .map(|c| c.outcome.detail())
            .next()
            .unwrap_or_default();
        if !p.forbid.is_empty() {
            let names: Vec<&str> = p.forbid.iter().map(|v| v.name()).collect();
            push(
                None,
                Compliance::Pass,
                format!(
                    "{}: nothing accepted, because the endpoint serves no TLS at all ({why})",
                    names.join(", ")
                ),
            );
        }
        let required: Vec<&str> = p
            .require_all
            .iter()
            .chain(&p.require_any)
            .map(|v| v.name())
            .collect();
        if !required.is_empty() {
            push(
                None,
                Compliance::Fail,
                format!(
                    "{} not accepted: the endpoint serves no TLS at all ({why})",
                    required.join(", ")
                ),
            );
        }
        return finish(e, p, findings);
    }
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
    finish(e, p, findings)
}

fn finish(e: &Endpoint, p: &Policy, mut findings: Vec<Finding>) -> EndpointCheck {
    findings.extend(rdp_fallback(e, p));
    let result = judge(&findings);
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
    use super::*;
    use crate::report::fixtures::{accepted, endpoint};
    use crate::report::{Outcome, Phase, Refusal};
    use TlsVersion::*;

    fn acc() -> Outcome {
        accepted()
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
