//! Pure functions over reports: what a cell proves, the verdict of an endpoint, the comparison
//! of two scans, policy checks and the merging of vantage points.

pub mod certs;
pub mod diff;
pub mod exceptions;
pub mod merge;
pub mod policy;
pub mod suites;
pub mod verdict;

/// Every kind of outcome against every consumer: each must follow what the cell proves
/// ([`crate::report::Proof`]), so the consumers cannot drift apart.
#[cfg(test)]
mod one_rule {
    use std::collections::BTreeMap;

    use crate::analysis::diff::{Transition, transition};
    use crate::analysis::policy::{Compliance, Policy, check_endpoint};
    use crate::analysis::{merge, verdict};
    use crate::report::fixtures::{accepted, cell, refused};
    use crate::report::{
        Cell, Endpoint, LdapCheck, Outcome, Phase, Proof, Protocol, Refusal, TlsVersion, Verdict,
    };
    use TlsVersion::*;

    fn every_outcome() -> Vec<Outcome> {
        let accepted = |completed, ldap| Outcome::Accepted {
            cipher: Some("TLS_RSA_WITH_AES_128_CBC_SHA".into()),
            completed,
            note: None,
            ldap,
        };
        vec![
            accepted(true, None),
            accepted(false, None),
            accepted(true, Some(LdapCheck::Answered)),
            accepted(true, Some(LdapCheck::Failed("no answer".into()))),
            Outcome::Refused(Refusal::Alert { code: 70 }),
            Outcome::Refused(Refusal::Alert { code: 40 }),
            Outcome::Refused(Refusal::Reset),
            Outcome::Refused(Refusal::Closed),
            Outcome::Refused(Refusal::OtherVersion {
                version: "TLS 1.2".into(),
            }),
            Outcome::Refused(Refusal::NotTls {
                received: "\"HTTP/1.1\"".into(),
            }),
            Outcome::TlsDeclined("StartTLS refused: result 52 unavailable".into()),
            Outcome::Unreachable("connection refused".into()),
            Outcome::Timeout {
                phase: Phase::Connect,
                message: "t".into(),
            },
            Outcome::Timeout {
                phase: Phase::Prelude,
                message: "t".into(),
            },
            Outcome::Timeout {
                phase: Phase::Handshake,
                message: "t".into(),
            },
            Outcome::NotTestable("no SSLv3 in this build".into()),
            Outcome::Error("broken".into()),
            Outcome::Interrupted,
        ]
    }

    fn works() -> Outcome {
        accepted()
    }

    /// A row whose only open question is TLS 1.0, which holds `x`.
    fn endpoint(x: &Outcome) -> Endpoint {
        let versions: BTreeMap<TlsVersion, Cell> = [
            (Ssl3, refused()),
            (Tls10, x.clone()),
            (Tls11, refused()),
            (Tls12, works()),
            (Tls13, works()),
        ]
        .into_iter()
        .map(|(v, o)| (v, cell(o)))
        .collect();
        let (verdict, verdict_detail) = verdict::judge(&versions);
        Endpoint {
            target: "ldaps://dc1".into(),
            host: "dc1".into(),
            address: None,
            port: 636,
            protocol: Protocol::Ldaps,
            sni: None,
            verdict,
            verdict_detail,
            root_dse: None,
            certificate: None,
            versions,
            seen_by: BTreeMap::new(),
            disagreements: Vec::new(),
            rdp_standard_security: None,
            suites: Default::default(),
            connections: None,
        }
    }

    #[test]
    fn every_consumer_follows_what_the_cell_proves() {
        let tls12_only = Policy::named("tls12-only").unwrap();
        for x in every_outcome() {
            let proof = x.proof();
            let e = endpoint(&x);

            let want_verdict = match proof {
                Proof::Accepted { .. } => Verdict::Legacy,
                Proof::Refused => Verdict::Ready,
                Proof::Unproven(_) => Verdict::Incomplete,
            };
            assert_eq!(e.verdict, want_verdict, "verdict of {x:?}");

            let want_transition = match proof {
                Proof::Accepted { .. } => Transition::StillAccepted,
                Proof::Refused => Transition::Enforced,
                Proof::Unproven(_) => Transition::Inconclusive,
            };
            let before = cell(works());
            let after = cell(x.clone());
            assert_eq!(
                transition(Tls10, Some(&before), Some(&after)),
                want_transition,
                "diff of accepted -> {x:?}"
            );

            let want_compliance = match proof {
                Proof::Accepted { .. } => Compliance::Fail,
                Proof::Refused => Compliance::Pass,
                Proof::Unproven(_) => Compliance::Inconclusive,
            };
            assert_eq!(
                check_endpoint(&e, &tls12_only).result,
                want_compliance,
                "policy on {x:?}"
            );

            // Two vantage points, one of which saw TLS 1.0 refused.
            let mut other = endpoint(&refused());
            other.target = e.target.clone();
            let merged = merge::combine(&[("a".into(), &e), ("b".into(), &other)]);
            assert_eq!(
                !merged.disagreements.is_empty(),
                proof.is_accepted(),
                "merge of {x:?} with refused: {:?}",
                merged.disagreements
            );
            if !proof.is_decided() {
                assert_eq!(merged.versions[&Tls10].proof(), Proof::Refused);
            }

            // The engines: OpenSSL's answer `x` beside the wire engine's refusal.
            let combined = crate::probe::combine::combine(cell(x.clone()), cell(refused()));
            let want = if proof.is_accepted() {
                proof
            } else {
                Proof::Refused
            };
            assert_eq!(combined.proof(), want, "engines: {x:?} and refused");
            // And beside a wire engine that proved nothing: nothing new is proven.
            let timeout = Outcome::Timeout {
                phase: Phase::Handshake,
                message: "t".into(),
            };
            let combined = crate::probe::combine::combine(cell(x.clone()), cell(timeout));
            assert_eq!(
                combined.proof().is_decided(),
                proof.is_decided(),
                "engines: {x:?} and a timeout"
            );
        }
    }

    #[test]
    fn a_declined_legacy_version_never_passes() {
        // The defect: accepted -> declined was `enforced`, and `check` passed a declined TLS 1.0.
        let declined = Outcome::TlsDeclined("StartTLS refused".into());
        let e = endpoint(&declined);
        assert_eq!(e.verdict, Verdict::Incomplete);
        assert_eq!(
            check_endpoint(&e, &Policy::named("tls12-only").unwrap()).result,
            Compliance::Inconclusive
        );
        assert_eq!(
            transition(Tls10, Some(&cell(works())), Some(&cell(declined))),
            Transition::Inconclusive
        );
    }

    #[test]
    fn every_version_declined_is_no_tls_and_the_policy_says_why() {
        let d = || {
            cell(Outcome::TlsDeclined(
                "StartTLS refused: 52 unavailable".into(),
            ))
        };
        let mut e = endpoint(&refused());
        e.versions = [
            (Ssl3, d()),
            (Tls10, d()),
            (Tls11, d()),
            (Tls12, d()),
            (Tls13, d()),
        ]
        .into_iter()
        .collect();
        assert_eq!(verdict::judge(&e.versions).0, Verdict::NoTls);
        let c = check_endpoint(&e, &Policy::named("tls12-only").unwrap());
        assert_eq!(c.result, Compliance::Fail);
        assert!(
            c.findings
                .iter()
                .any(|f| f.kind == Compliance::Pass && f.message.contains("serves no TLS at all")),
            "{:?}",
            c.findings
        );
        let forbid_only = Policy::custom(vec![], vec![Tls10]);
        let c = check_endpoint(&e, &forbid_only);
        assert_eq!(c.result, Compliance::Pass);
        assert!(c.findings[0].message.contains("serves no TLS at all"));
    }
}
