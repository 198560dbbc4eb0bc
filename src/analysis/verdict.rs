//! From a row of cells to a verdict.
//!
//! A verdict is given only when it cannot be changed by the cells that prove nothing (see
//! [`Proof`]): every unproven cell (timeout, error, declined among answered versions, not
//! testable by the engines in use, interrupted) is tried as accepted and as refused, and if the
//! answers differ the endpoint is `incomplete`. So one timed-out TLS 1.3 cell does not hide that
//! TLS 1.0 is accepted, and an untested TLS 1.1 never lets an endpoint pass as `ready`.
//! Versions left out of the scan are not judged.

use std::collections::BTreeMap;

use crate::report::{Cell, Proof, TlsVersion, Unproven, Verdict};

/// The verdict and a sentence that explains it.
pub fn judge(cells: &BTreeMap<TlsVersion, Cell>) -> (Verdict, String) {
    let proofs: Vec<(TlsVersion, Proof, &Cell)> =
        cells.iter().map(|(v, c)| (*v, c.proof(), c)).collect();
    let untestable = names(
        proofs
            .iter()
            .filter(|(_, p, _)| *p == Proof::Unproven(Unproven::NotTestable))
            .map(|(v, _, _)| *v),
    );
    let network: Vec<&(TlsVersion, Proof, &Cell)> = proofs
        .iter()
        .filter(|(_, p, _)| *p != Proof::Unproven(Unproven::NotTestable))
        .collect();

    if network.is_empty() {
        return (
            Verdict::Incomplete,
            format!("no version could be tested; {untestable} not testable by the engines in use"),
        );
    }
    if network
        .iter()
        .all(|(_, _, c)| c.outcome.is_connect_failure())
    {
        let why = network[0].2.outcome.detail();
        return (Verdict::Unreachable, format!("unreachable: {why}"));
    }
    if declines_tls(cells) {
        let why = network[0].2.outcome.detail();
        return (Verdict::NoTls, format!("no TLS service: {why}"));
    }

    // A version "works" when accepted and, on LDAP, the directory answered over it. Old
    // versions count as soon as the server chose them; new ones only when they work.
    let mut accepted = Vec::new();
    let mut undecided = Vec::new();
    let mut handshake_only = Vec::new();
    for (v, p, _) in &proofs {
        match p {
            Proof::Accepted { works } if v.is_legacy() || *works => accepted.push(*v),
            Proof::Accepted { .. } => handshake_only.push(*v),
            Proof::Refused => {}
            Proof::Unproven(_) => undecided.push(*v),
        }
    }

    let verdict = invariant_verdict(&accepted, &undecided, !handshake_only.is_empty());
    let acc_legacy = names(accepted.iter().copied().filter(|v| v.is_legacy()));
    let acc_modern = names(accepted.iter().copied().filter(|v| !v.is_legacy()));
    let open = names(undecided.iter().copied());
    let no_ldap = if handshake_only.is_empty() {
        String::new()
    } else {
        format!(
            "; {} handshake but LDAP does not answer over it",
            names(handshake_only.iter().copied())
        )
    };
    // Untestable versions that could not change the verdict are named, not hidden.
    let untested_note = if untestable.is_empty() || verdict.is_none() {
        String::new()
    } else {
        format!("; {untestable} not testable by the engines in use")
    };
    let detail = match verdict {
        Some(Verdict::Ready) => {
            format!("ready for TLS 1.2-only: {acc_modern} accepted, nothing older")
        }
        Some(Verdict::Legacy) => format!("still accepts {acc_legacy}"),
        Some(Verdict::Tls12Missing) if acc_legacy.is_empty() => {
            "TLS 1.2 broken: no TLS 1.2 or 1.3 that works".to_string()
        }
        Some(Verdict::Tls12Missing) => {
            format!("TLS 1.2 broken: neither TLS 1.2 nor TLS 1.3 works; only {acc_legacy}")
        }
        Some(Verdict::NoTls) => {
            let how = network[0].2.outcome.detail();
            format!("no working TLS: every version refused ({how})")
        }
        Some(other) => other.key().to_string(),
        None if untestable.is_empty() => format!("incomplete: {open} could not be decided"),
        None => format!(
            "incomplete: {open} could not be decided ({untestable} not testable by the engines in use)"
        ),
    };
    (
        verdict.unwrap_or(Verdict::Incomplete),
        format!("{detail}{no_ldap}{untested_note}"),
    )
}

/// True when the server declined TLS itself (StartTLS refused, RDP without TLS) for every
/// version the engines could offer: it serves no TLS at all, which is not the same as refusing
/// each version, since no ClientHello was sent.
pub fn declines_tls(cells: &BTreeMap<TlsVersion, Cell>) -> bool {
    let mut declined = false;
    for c in cells.values() {
        match c.proof() {
            Proof::Unproven(Unproven::Declined) => declined = true,
            Proof::Unproven(Unproven::NotTestable) => {}
            _ => return false,
        }
    }
    declined
}

/// The verdict shared by every way the undecided cells could turn out, if there is one.
fn invariant_verdict(
    accepted: &[TlsVersion],
    undecided: &[TlsVersion],
    handshake_only: bool,
) -> Option<Verdict> {
    let mut found: Option<Verdict> = None;
    for mask in 0u32..(1 << undecided.len()) {
        let mut acc: Vec<TlsVersion> = accepted.to_vec();
        acc.extend(
            undecided
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, v)| *v),
        );
        let v = decided_verdict(&acc, handshake_only);
        match found {
            None => found = Some(v),
            Some(f) if f != v => return None,
            Some(_) => {}
        }
    }
    found
}

/// The verdict when every tested cell is either accepted (listed) or not.
fn decided_verdict(accepted: &[TlsVersion], handshake_only: bool) -> Verdict {
    let legacy = accepted.iter().any(|v| v.is_legacy());
    let modern = accepted.iter().any(|v| !v.is_legacy());
    match (modern, legacy) {
        (true, true) => Verdict::Legacy,
        (true, false) => Verdict::Ready,
        (false, true) => Verdict::Tls12Missing,
        // TLS 1.2+ handshakes, but the service behind it does not answer.
        (false, false) if handshake_only => Verdict::Tls12Missing,
        (false, false) => Verdict::NoTls,
    }
}

fn names(versions: impl Iterator<Item = TlsVersion>) -> String {
    versions.map(|v| v.name()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{accepted, not_testable, refused, row, timeout};
    use crate::report::{LdapCheck, Outcome, Phase, Refusal};

    fn acc() -> Outcome {
        accepted()
    }
    fn nt() -> Outcome {
        not_testable()
    }
    use TlsVersion::*;

    #[test]
    fn ready_when_only_modern_versions_are_accepted() {
        let (v, d) = judge(&row(&[
            (Tls10, refused()),
            (Tls11, refused()),
            (Tls12, acc()),
            (Tls13, acc()),
        ]));
        assert_eq!(v, Verdict::Ready);
        assert!(d.contains("nothing older"), "{d}");
    }

    /// The defect (`--engine openssl`): a not-testable TLS 1.1 that could change the verdict was
    /// left out, and an endpoint that may accept TLS 1.1 came out `ready`.
    #[test]
    fn engine_openssl_untestable_tls11_is_not_ready() {
        let (v, _) = judge(&row(&[
            (Tls10, refused()),
            (Tls11, nt()),
            (Tls12, acc()),
            (Tls13, acc()),
        ]));
        assert_eq!(v, Verdict::Incomplete);
    }

    #[test]
    fn an_untestable_old_version_blocks_ready() {
        // The server may accept SSLv3 with what the engines could not offer.
        let (v, d) = judge(&row(&[(Ssl3, nt()), (Tls10, refused()), (Tls12, acc())]));
        assert_eq!(v, Verdict::Incomplete);
        assert!(d.contains("SSLv3 not testable"), "{d}");
    }

    #[test]
    fn an_untestable_version_that_cannot_change_the_verdict_is_named() {
        let (v, d) = judge(&row(&[(Ssl3, nt()), (Tls10, acc()), (Tls12, acc())]));
        assert_eq!(v, Verdict::Legacy);
        assert!(d.contains("SSLv3 not testable"), "{d}");
    }

    #[test]
    fn legacy_is_certain_even_with_an_undecided_cell() {
        let row = row(&[(Tls10, acc()), (Tls12, acc()), (Tls13, timeout())]);
        assert_eq!(judge(&row).0, Verdict::Legacy);
    }

    #[test]
    fn an_undecided_old_version_blocks_ready() {
        let row = row(&[(Tls10, timeout()), (Tls11, refused()), (Tls12, acc())]);
        assert_eq!(judge(&row).0, Verdict::Incomplete);
    }

    #[test]
    fn an_undecided_new_version_does_not_block_ready_when_tls12_works() {
        let row = row(&[(Tls10, refused()), (Tls12, acc()), (Tls13, timeout())]);
        assert_eq!(judge(&row).0, Verdict::Ready);
    }

    #[test]
    fn tls12_missing_when_only_old_versions_are_accepted() {
        let row = row(&[(Tls10, acc()), (Tls12, refused()), (Tls13, refused())]);
        assert_eq!(judge(&row).0, Verdict::Tls12Missing);
    }

    #[test]
    fn every_version_reset_is_no_tls_not_enforcement() {
        let r = Outcome::Refused(Refusal::Reset);
        let (v, d) = judge(&row(&[
            (Tls10, r.clone()),
            (Tls11, r.clone()),
            (Tls12, r.clone()),
            (Tls13, r),
        ]));
        assert_eq!(v, Verdict::NoTls);
        assert!(d.contains("reset"), "{d}");
    }

    #[test]
    fn unreachable_when_no_connection_was_made() {
        let u = Outcome::Unreachable("connection refused".into());
        let t = Outcome::Timeout {
            phase: Phase::Connect,
            message: "t".into(),
        };
        assert_eq!(
            judge(&row(&[(Ssl3, nt()), (Tls10, u), (Tls12, t)])).0,
            Verdict::Unreachable
        );
    }

    #[test]
    fn tls12_that_handshakes_without_ldap_answering_is_broken() {
        let no_ldap = Outcome::Accepted {
            cipher: None,
            completed: true,
            note: None,
            ldap: Some(LdapCheck::Failed("no answer".into())),
        };
        let (v, d) = judge(&row(&[(Tls10, refused()), (Tls12, no_ldap.clone())]));
        assert_eq!(v, Verdict::Tls12Missing);
        assert!(d.contains("LDAP does not answer"), "{d}");
        // An old version that only handshakes is still accepted.
        assert_eq!(
            judge(&row(&[(Tls10, no_ldap), (Tls12, acc())])).0,
            Verdict::Legacy
        );
    }

    #[test]
    fn tls_declined_everywhere_is_no_tls() {
        let d =
            || Outcome::TlsDeclined("StartTLS refused by the server: result 52 unavailable".into());
        let (v, detail) = judge(&row(&[(Tls10, d()), (Tls12, d())]));
        assert_eq!(v, Verdict::NoTls);
        assert!(detail.contains("52 unavailable"), "{detail}");
        // Declined once among accepted answers is not a decided answer.
        assert_eq!(
            judge(&row(&[(Tls10, d()), (Tls12, acc())])).0,
            Verdict::Incomplete
        );
    }

    #[test]
    fn nothing_testable_is_incomplete() {
        assert_eq!(judge(&row(&[(Ssl3, nt())])).0, Verdict::Incomplete);
    }
}
