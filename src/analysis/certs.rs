//! Certificates across a report: consistency between endpoints, the certificate part of a
//! policy check, and certificate changes between two scans. Pure functions over documents.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::policy::{Compliance, EndpointCheck, Finding, Policy};
use crate::cert::names::{CertNames, domain_of_naming_context};
use crate::cert::{
    Certificate, FindingKey, Inconsistency, InconsistencyKind, NameSource, Severity, day,
};
use crate::report::{Endpoint, TlsVersion};

/// Expiry dates further apart than this, among the DCs of one domain, are shown.
pub const EXPIRY_SPREAD_DAYS: i64 = 180;

fn name(e: &Endpoint) -> String {
    match e.address {
        Some(std::net::IpAddr::V6(a)) => format!("{} [{a}]:{}", e.host, e.port),
        Some(a) => format!("{} {a}:{}", e.host, e.port),
        None => format!("{}:{}", e.host, e.port),
    }
}

fn short_fp(c: &Certificate) -> String {
    c.leaf()
        .map(|l| l.sha256.chars().take(11).collect::<String>())
        .unwrap_or_default()
}

fn describe(c: &Certificate) -> String {
    match c.leaf() {
        Some(l) => format!(
            "{} (issuer {}, expires {}, sha256 {}...)",
            l.subject,
            l.issuer,
            day(&l.not_after),
            short_fp(c)
        ),
        None => "no certificate".into(),
    }
}

/// The AD domain of an endpoint: from its RootDSE naming context, else from the domain
/// wildcard it was checked against.
pub fn domain_of(e: &Endpoint) -> Option<String> {
    if let Some(d) = e
        .root_dse
        .as_ref()
        .and_then(|r| r.default_naming_context.as_deref())
        .and_then(domain_of_naming_context)
    {
        return Some(d);
    }
    e.certificate.as_ref().and_then(|c| {
        c.names
            .iter()
            .find(|n| n.source == NameSource::DomainWildcard)
            .map(|n| n.name.trim_start_matches("*.").to_ascii_lowercase())
    })
}

/// Certificates that should look alike and do not: one directory server's LDAP ports with
/// different certificates, or the DCs of one domain with different issuers or expiry dates far
/// apart. RDP and other services are left out: they often have certificates of their own.
pub fn consistency(endpoints: &[Endpoint]) -> Vec<Inconsistency> {
    let ldap: Vec<(&Endpoint, &Certificate)> = endpoints
        .iter()
        .filter(|e| e.protocol.is_ldap())
        .filter_map(|e| e.certificate.as_deref().map(|c| (e, c)))
        .filter(|(_, c)| c.leaf().is_some())
        .collect();
    let mut out = Vec::new();

    // One directory server: one name at one address.
    let mut by_server: BTreeMap<(String, std::net::IpAddr), Vec<(&Endpoint, &Certificate)>> =
        BTreeMap::new();
    for (e, c) in &ldap {
        if let Some(a) = e.address {
            by_server
                .entry((e.host.to_ascii_lowercase(), a))
                .or_default()
                .push((e, c));
        }
    }
    for ((_, addr), list) in &by_server {
        let mut fps: Vec<&str> = list
            .iter()
            .filter_map(|(_, c)| c.leaf().map(|l| l.sha256.as_str()))
            .collect();
        fps.sort();
        fps.dedup();
        if fps.len() > 1 {
            let parts: Vec<String> = list
                .iter()
                .map(|(e, c)| format!("port {} serves {}", e.port, describe(c)))
                .collect();
            out.push(Inconsistency {
                kind: InconsistencyKind::PortsDiffer,
                message: format!(
                    "{} {addr} serves different certificates on its LDAP ports: {}",
                    list[0].0.host,
                    parts.join("; ")
                ),
                endpoints: list.iter().map(|(e, _)| name(e)).collect(),
            });
        }
    }

    // One certificate per DC (its first LDAP endpoint) for the domain comparisons.
    let mut by_domain: BTreeMap<String, Vec<(&Endpoint, &Certificate)>> = BTreeMap::new();
    for list in by_server.values() {
        let (e, c) = list[0];
        if let Some(d) = domain_of(e) {
            by_domain.entry(d).or_default().push((e, c));
        }
    }
    for (domain, dcs) in &by_domain {
        if dcs.len() < 2 {
            continue;
        }
        let mut issuers: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (e, c) in dcs {
            if let Some(l) = c.leaf() {
                issuers
                    .entry(l.issuer.as_str())
                    .or_default()
                    .push(e.host.clone());
            }
        }
        if issuers.len() > 1 {
            let parts: Vec<String> = issuers
                .iter()
                .map(|(i, hosts)| format!("{i} ({})", hosts.join(", ")))
                .collect();
            out.push(Inconsistency {
                kind: InconsistencyKind::IssuersDiffer,
                message: format!(
                    "the DCs of {domain} have certificates from different issuers: {}",
                    parts.join("; ")
                ),
                endpoints: dcs.iter().map(|(e, _)| name(e)).collect(),
            });
        }
        let dated: Vec<(i64, &Endpoint, &str)> = dcs
            .iter()
            .filter_map(|(e, c)| {
                c.leaf()
                    .map(|l| (l.not_after_unix(), *e, l.not_after.as_str()))
            })
            .collect();
        let first = dated.iter().min_by_key(|d| d.0);
        let last = dated.iter().max_by_key(|d| d.0);
        if let (Some(a), Some(b)) = (first, last) {
            let apart = (b.0 - a.0) / 86_400;
            if apart > EXPIRY_SPREAD_DAYS {
                out.push(Inconsistency {
                    kind: InconsistencyKind::ExpirySpread,
                    message: format!(
                        "the DCs of {domain} have certificates expiring {apart} days apart: {} \
                         on {}, {} on {} (a renewal half done?)",
                        a.1.host,
                        day(a.2),
                        b.1.host,
                        day(b.2)
                    ),
                    endpoints: dcs.iter().map(|(e, _)| name(e)).collect(),
                });
            }
        }
    }
    out
}

/// The certificate requirements of a policy (`check --cert-min-days N --cert-trusted
/// --cert-name [NAME]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertPolicy {
    /// At least this many days left, counted from the check (not the scan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_days: Option<u32>,
    /// Verified against the scan's trust store, with a complete chain (a self-signed RDP
    /// certificate fails too).
    #[serde(default)]
    pub trusted: bool,
    /// Covering the names clients use (no `name_mismatch`).
    #[serde(default)]
    pub name: bool,
    /// Also covering each of these names (e.g. `*.corp.example.com` for Entra Domain Services).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

impl CertPolicy {
    /// What `tls12-only-certs` adds: 30 days left, trusted, names covered.
    pub fn usual() -> CertPolicy {
        CertPolicy {
            min_days: Some(30),
            trusted: true,
            name: true,
            names: vec![],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.min_days.is_none() && !self.trusted && !self.name && self.names.is_empty()
    }
}

/// One certificate problem a policy found: a stable key and a sentence; `decided` is false when
/// there was no certificate to judge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertViolation {
    pub key: Option<FindingKey>,
    pub decided: bool,
    pub message: String,
}

/// The certificate requirements held against one endpoint at time `now` (seconds since 1970).
/// Every chain served by a version the policy does not forbid is checked.
pub fn check_endpoint(
    e: &Endpoint,
    p: &CertPolicy,
    forbidden: &[TlsVersion],
    now: i64,
) -> Vec<CertViolation> {
    let mut out = Vec::new();
    if p.is_empty() {
        return out;
    }
    let Some(main) = e.certificate.as_deref() else {
        out.push(CertViolation {
            key: None,
            decided: false,
            message: "no certificate recorded (no handshake accepted by the OpenSSL engine, or \
                      a scan made before certificates were recorded)"
                .into(),
        });
        return out;
    };
    let mut chains: Vec<(String, &Certificate)> = vec![(String::new(), main)];
    let mut seen_other: Vec<&str> = Vec::new();
    for (v, c) in &main.other_chains {
        if forbidden.contains(v) {
            continue;
        }
        let fp = c.leaf().map(|l| l.sha256.as_str()).unwrap_or("");
        if seen_other.contains(&fp) {
            continue;
        }
        seen_other.push(fp);
        let vs: Vec<&str> = c
            .versions
            .iter()
            .filter(|v| !forbidden.contains(v))
            .map(|v| v.name())
            .collect();
        chains.push((format!(" ({} certificate)", vs.join(", ")), c));
    }
    for (which, c) in chains {
        let mut push = |key, message: String| {
            out.push(CertViolation {
                key: Some(key),
                decided: true,
                message: format!("certificate{which}: {message}"),
            })
        };
        if let Some(min) = p.min_days {
            for (i, cert) in c.chain.iter().enumerate() {
                if i > 0 && cert.self_signed {
                    continue;
                }
                let who = if i == 0 {
                    String::new()
                } else {
                    format!("intermediate {} ", cert.subject)
                };
                let left = cert.days_left_at(now);
                if now < cert.not_before_unix() {
                    push(
                        FindingKey::NotYetValid,
                        format!("{who}not valid before {}", cert.not_before),
                    );
                } else if left < 0 {
                    push(
                        FindingKey::Expired,
                        format!("{who}expired on {}", day(&cert.not_after)),
                    );
                } else if left < min as i64 {
                    push(
                        FindingKey::ExpiresSoon,
                        format!(
                            "{who}expires in {left} days ({}), fewer than the {min} required",
                            day(&cert.not_after)
                        ),
                    );
                }
            }
        }
        if p.trusted {
            for f in &c.findings {
                if matches!(
                    f.key,
                    FindingKey::Untrusted | FindingKey::ChainIncomplete | FindingKey::SelfSigned
                ) && !(f.key == FindingKey::SelfSigned && c.trust.verified)
                {
                    push(f.key, f.message.clone());
                }
            }
        }
        if p.name {
            for f in c
                .findings
                .iter()
                .filter(|f| f.key == FindingKey::NameMismatch)
            {
                push(f.key, f.message.clone());
            }
        }
        let names = CertNames {
            common_name: c.common_name.as_deref(),
            dns_names: &c.dns_names,
            ip_addresses: &c.ip_addresses,
        };
        for wanted in &p.names {
            let covered = if let Some(domain) = wanted.strip_prefix("*.") {
                names.wildcard_for(domain).is_some()
            } else {
                names.covering(wanted).is_some()
            };
            if !covered {
                push(
                    FindingKey::NameMismatch,
                    format!("does not cover {wanted}; it names {}", names.listed()),
                );
            }
        }
    }
    out
}

/// Add a policy's certificate findings to an endpoint's check, listed like version violations.
pub fn add_to_check(check: &mut EndpointCheck, e: &Endpoint, policy: &Policy) {
    let Some(p) = &policy.certificate else {
        return;
    };
    for v in check_endpoint(e, p, &policy.forbid, crate::cert::now()) {
        check.findings.push(Finding {
            version: None,
            kind: if v.decided {
                Compliance::Fail
            } else {
                Compliance::Inconclusive
            },
            message: v.message,
            certificate: v.key,
            excepted: None,
        });
    }
    check.result = check
        .findings
        .iter()
        .map(|f| f.kind)
        .min()
        .unwrap_or(Compliance::Pass);
}

/// The certificate of an endpoint reduced to what a comparison shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSide {
    pub subject: String,
    pub issuer: String,
    pub sha256: String,
    pub not_after: String,
    /// No error-level finding.
    pub valid: bool,
    /// The keys of its error-level findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FindingKey>,
}

/// How an endpoint's certificate changed between two scans.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertChange {
    pub before: Option<CertSide>,
    pub after: Option<CertSide>,
    /// What changed: `fingerprint`, `issuer`, `expiry`, `validity`.
    pub changed: Vec<String>,
    /// Valid (or at least without these errors) before, with new errors after: a regression.
    pub became_invalid: bool,
    /// The error findings that are new after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_errors: Vec<FindingKey>,
}

fn side(c: &Certificate) -> Option<CertSide> {
    let l = c.leaf()?;
    let mut errors: Vec<FindingKey> = c
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.key)
        .collect();
    errors.sort();
    errors.dedup();
    Some(CertSide {
        subject: l.subject.clone(),
        issuer: l.issuer.clone(),
        sha256: l.sha256.clone(),
        not_after: l.not_after.clone(),
        valid: errors.is_empty(),
        errors,
    })
}

/// The certificate change of one endpoint, `None` when nothing about it changed (or neither
/// scan recorded a certificate). An endpoint whose certificate disappeared while handshakes
/// stopped is a version regression already, not a certificate one.
pub fn compare(before: &Endpoint, after: &Endpoint) -> Option<CertChange> {
    let b = before.certificate.as_deref().and_then(side);
    let a = after.certificate.as_deref().and_then(side);
    let mut changed = Vec::new();
    match (&b, &a) {
        (Some(b), Some(a)) => {
            if b.sha256 != a.sha256 {
                changed.push("fingerprint".to_string());
            }
            if b.issuer != a.issuer {
                changed.push("issuer".into());
            }
            if b.not_after != a.not_after {
                changed.push("expiry".into());
            }
            if b.errors != a.errors {
                changed.push("validity".into());
            }
        }
        (None, None) => return None,
        _ => changed.push("presence".into()),
    }
    if changed.is_empty() {
        return None;
    }
    let new_errors: Vec<FindingKey> = match (&b, &a) {
        (Some(b), Some(a)) => a
            .errors
            .iter()
            .filter(|k| !b.errors.contains(k))
            .copied()
            .collect(),
        _ => Vec::new(),
    };
    Some(CertChange {
        became_invalid: !new_errors.is_empty(),
        before: b,
        after: a,
        changed,
        new_errors,
    })
}

impl CertChange {
    /// One line for people.
    pub fn describe(&self) -> String {
        let show = |s: &Option<CertSide>| match s {
            Some(s) => format!(
                "{} from {} until {} (sha256 {}...){}",
                s.subject,
                s.issuer,
                day(&s.not_after),
                s.sha256.chars().take(11).collect::<String>(),
                if s.errors.is_empty() {
                    String::new()
                } else {
                    format!(
                        " [{}]",
                        s.errors
                            .iter()
                            .map(|k| k.key())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
            None => "none".into(),
        };
        let mut s = format!(
            "{} changed: {} → {}",
            self.changed.join(", "),
            show(&self.before),
            show(&self.after)
        );
        if self.became_invalid {
            let keys: Vec<&str> = self.new_errors.iter().map(|k| k.key()).collect();
            s.push_str(&format!("; it became invalid ({})", keys.join(", ")));
        }
        s
    }
}
