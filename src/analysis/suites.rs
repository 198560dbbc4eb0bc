//! Cipher suites in the policy check (`--forbid-suites`) and in the comparison of two scans
//! (suites added and removed per version). Pure functions over saved reports.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::policy::{Compliance, EndpointCheck, Finding, Policy};
use crate::report::{Endpoint, Proof, TlsVersion, VersionSuites};
use crate::tls::suites::{self, SuiteClass};

/// Which suites a policy forbids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuiteRule {
    /// Every suite of this class or worse: `insecure`, or `weak` (weak and insecure).
    Class(SuiteClass),
    /// These suites (code points).
    List(Vec<u16>),
}

impl SuiteRule {
    /// `insecure`, `weak`, or a comma-separated list of suites (IANA or OpenSSL names, or code
    /// points such as `0x000a`).
    pub fn parse(s: &str) -> Result<SuiteRule, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "insecure" => return Ok(SuiteRule::Class(SuiteClass::Insecure)),
            "weak" => return Ok(SuiteRule::Class(SuiteClass::Weak)),
            _ => {}
        }
        let mut ids = Vec::new();
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match suites::id_of(name) {
                Some(id) if !ids.contains(&id) => ids.push(id),
                Some(_) => {}
                None => {
                    return Err(format!(
                        "unknown cipher suite '{name}' (give insecure, weak, or suites by IANA \
                         or OpenSSL name or code point, comma-separated)"
                    ));
                }
            }
        }
        if ids.is_empty() {
            return Err("--forbid-suites needs insecure, weak or a list of suites".into());
        }
        Ok(SuiteRule::List(ids))
    }

    /// Whether the rule forbids a suite.
    pub fn forbids(&self, id: u16) -> bool {
        match self {
            SuiteRule::Class(c) => suites::class_of(id) <= *c,
            SuiteRule::List(ids) => ids.contains(&id),
        }
    }

    /// For people: `weak or insecure suites`, `TLS_RSA_WITH_RC4_128_SHA`.
    pub fn describe(&self) -> String {
        match self {
            SuiteRule::Class(SuiteClass::Insecure) => "insecure suites".into(),
            SuiteRule::Class(SuiteClass::Weak) => "weak or insecure suites".into(),
            SuiteRule::Class(SuiteClass::Ok) => "any suite".into(),
            SuiteRule::List(ids) => ids
                .iter()
                .map(|id| suites::name(*id))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// The suite findings of one endpoint: for every version it accepts (and the policy does not
/// forbid already), the forbidden suites it accepts fail it; an accepted version without a
/// whole suite list leaves it inconclusive (never a pass).
pub fn add_to_check(check: &mut EndpointCheck, e: &Endpoint, policy: &Policy) {
    let Some(rule) = &policy.forbid_suites else {
        return;
    };
    for (v, cell) in &e.versions {
        if policy.forbid.contains(v) || !Proof::of(Some(cell)).is_accepted() {
            continue;
        }
        let finding = |kind, message: String| Finding {
            version: Some(*v),
            kind,
            message,
            excepted: None,
            certificate: None,
        };
        let Some(list) = e.suites.get(v) else {
            check.findings.push(finding(
                Compliance::Inconclusive,
                format!(
                    "{} is accepted, and its suites were not enumerated (scan with --suites)",
                    v.name()
                ),
            ));
            continue;
        };
        let bad: Vec<&str> = list
            .suites
            .iter()
            .filter(|s| rule.forbids(s.id))
            .map(|s| s.name.as_str())
            .collect();
        if !bad.is_empty() {
            check.findings.push(finding(
                Compliance::Fail,
                format!(
                    "{} accepts {} forbidden suite{} ({}): {}",
                    v.name(),
                    bad.len(),
                    if bad.len() == 1 { "" } else { "s" },
                    rule.describe(),
                    bad.join(", ")
                ),
            ));
        } else if !list.complete {
            check.findings.push(finding(
                Compliance::Inconclusive,
                format!(
                    "{}: the suite list is incomplete ({}), and what was found is allowed",
                    v.name(),
                    list.problems.join("; ")
                ),
            ));
        }
    }
    check.result = check
        .findings
        .iter()
        .filter(|f| f.excepted.is_none())
        .map(|f| f.kind)
        .min()
        .unwrap_or(Compliance::Pass);
}

/// How one version's suites changed between two scans.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteChange {
    /// Suites accepted after and not before (IANA names), with their class.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<NamedSuite>,
    /// Suites accepted before and not after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<NamedSuite>,
}

/// A suite in a comparison.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedSuite {
    pub name: String,
    pub class: SuiteClass,
}

/// Per version, the suites added and removed, where both scans listed suites (a version whose
/// list is missing on one side because it was not accepted there counts as an empty list).
pub fn compare(
    before: &Endpoint,
    after: &Endpoint,
    both_listed: bool,
) -> BTreeMap<TlsVersion, SuiteChange> {
    let mut out = BTreeMap::new();
    if !both_listed {
        return out;
    }
    let versions: BTreeSet<TlsVersion> = before
        .suites
        .keys()
        .chain(after.suites.keys())
        .copied()
        .collect();
    let empty = VersionSuites::default();
    for v in versions {
        let b = before.suites.get(&v).unwrap_or(&empty);
        let a = after.suites.get(&v).unwrap_or(&empty);
        let ids = |s: &VersionSuites| s.suites.iter().map(|x| x.id).collect::<BTreeSet<u16>>();
        let (bi, ai) = (ids(b), ids(a));
        let named = |s: &VersionSuites, keep: &BTreeSet<u16>| {
            s.suites
                .iter()
                .filter(|x| keep.contains(&x.id))
                .map(|x| NamedSuite {
                    name: x.name.clone(),
                    class: x.class,
                })
                .collect::<Vec<_>>()
        };
        let change = SuiteChange {
            added: named(a, &ai.difference(&bi).copied().collect()),
            removed: named(b, &bi.difference(&ai).copied().collect()),
        };
        if !change.added.is_empty() || !change.removed.is_empty() {
            out.insert(v, change);
        }
    }
    out
}

/// `TLS 1.2 suites added: A (insecure), B; removed: C`, one line a version.
pub fn change_lines(changes: &BTreeMap<TlsVersion, SuiteChange>) -> Vec<String> {
    let show = |list: &[NamedSuite]| {
        list.iter()
            .map(|s| match s.class {
                SuiteClass::Ok => s.name.clone(),
                c => format!("{} ({c})", s.name),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    changes
        .iter()
        .map(|(v, c)| {
            let mut parts = Vec::new();
            if !c.added.is_empty() {
                parts.push(format!("added {}", show(&c.added)));
            }
            if !c.removed.is_empty() {
                parts.push(format!("removed {}", show(&c.removed)));
            }
            format!("{} suites {}", v.name(), parts.join("; "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{accepted, endpoint};
    use crate::report::{AcceptedSuite, Outcome, Refusal};
    use TlsVersion::*;

    fn listed(ids: &[u16]) -> VersionSuites {
        VersionSuites {
            suites: ids.iter().map(|id| AcceptedSuite::of(*id)).collect(),
            complete: true,
            ..Default::default()
        }
    }

    #[test]
    fn rules_parse_and_judge() {
        let weak = SuiteRule::parse("weak").unwrap();
        assert!(weak.forbids(0x002f) && weak.forbids(0x000a) && !weak.forbids(0xc02f));
        let insecure = SuiteRule::parse("INSECURE").unwrap();
        assert!(!insecure.forbids(0x002f) && insecure.forbids(0x000a));
        let list = SuiteRule::parse("DES-CBC3-SHA, TLS_RSA_WITH_RC4_128_SHA,0x0004").unwrap();
        assert_eq!(list, SuiteRule::List(vec![0x000a, 0x0005, 0x0004]));
        assert!(SuiteRule::parse("NOT-A-SUITE").is_err());
        assert!(SuiteRule::parse(" , ").is_err());
    }

    #[test]
    fn forbidden_suites_fail_and_missing_lists_are_inconclusive() {
        let mut p = Policy::named("tls12-only-suites").unwrap();
        let mut e = endpoint(&[
            (Tls10, Outcome::Refused(Refusal::Reset)),
            (Tls12, accepted()),
            (Tls13, accepted()),
        ]);
        let check = |e: &Endpoint, p: &Policy| {
            let mut c = super::super::policy::check_endpoint(e, p);
            add_to_check(&mut c, e, p);
            c
        };
        // No lists: never a pass.
        let missing = check(&e, &p);
        assert!(missing.findings.iter().any(|f| f.version == Some(Tls13)
            && f.kind == Compliance::Inconclusive
            && f.message.contains("--suites")));
        e.suites.insert(Tls12, listed(&[0xc02f, 0x002f]));
        e.suites.insert(Tls13, listed(&[0x1301]));
        let c = check(&e, &p);
        assert_eq!(c.result, Compliance::Fail);
        let f = c
            .findings
            .iter()
            .find(|f| f.kind == Compliance::Fail)
            .unwrap();
        assert!(
            f.message.contains("TLS_RSA_WITH_AES_128_CBC_SHA"),
            "{:?}",
            c.findings
        );
        assert_eq!(f.version, Some(Tls12));
        p.forbid_suites = Some(SuiteRule::Class(SuiteClass::Insecure));
        let suite_findings = |c: EndpointCheck| {
            c.findings
                .into_iter()
                .filter(|f| matches!(f.version, Some(Tls12 | Tls13)))
                .collect::<Vec<_>>()
        };
        assert!(suite_findings(check(&e, &p)).is_empty());
        e.suites.get_mut(&Tls12).unwrap().complete = false;
        assert_eq!(
            suite_findings(check(&e, &p))[0].kind,
            Compliance::Inconclusive
        );
    }

    #[test]
    fn changes_per_version() {
        let mut b = endpoint(&[(Tls12, accepted())]);
        let mut a = b.clone();
        b.suites.insert(Tls12, listed(&[0xc02f, 0x000a]));
        b.suites.insert(Tls10, listed(&[0x002f]));
        a.suites.insert(Tls12, listed(&[0xc02f, 0xc030]));
        let c = compare(&b, &a, true);
        assert_eq!(
            c[&Tls12].added[0].name,
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
        );
        assert_eq!(c[&Tls12].removed[0].class, SuiteClass::Insecure);
        assert_eq!(c[&Tls10].removed.len(), 1);
        assert_eq!(
            change_lines(&c)[1],
            "TLS 1.2 suites added TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384; removed \
             TLS_RSA_WITH_3DES_EDE_CBC_SHA (insecure)"
        );
        assert!(compare(&b, &a, false).is_empty());
    }
}
