//! The two probe engines and how their answers make one cell.
//!
//! OpenSSL completes real handshakes (the proof a client gets through, the negotiated suite of a
//! modern client, the LDAP check) but offers only what the local build can. The wire engine
//! offers every registered suite and any version, SSLv3 included, and reads the ServerHello.
//! With both, a ServerHello choosing the version from either engine means accepted (a refusal by
//! one engine can come from what it could not offer); any difference is recorded in the cell's
//! `engines`, never smoothed over.

use crate::probe::contexts::{ClientContexts, Offer, library_version};
use crate::probe::{Endpoint, Limits, ProbeResult};
use crate::report::{
    Cell, Engine, EngineAnswer, Engines, Outcome, Proof, Refusal, Status, TlsVersion,
};

/// Probe one cell with the chosen engines.
pub async fn probe_cell(
    contexts: &ClientContexts,
    version: TlsVersion,
    endpoint: &Endpoint<'_>,
    limits: Limits,
    engine: Engine,
) -> ProbeResult {
    let ctx = match contexts.get(version) {
        Some(Offer::Ready(ctx)) => Some(ctx),
        _ => None,
    };
    let not_testable = || match contexts.get(version) {
        Some(Offer::NotTestable(why)) => why.clone(),
        _ => format!("{} cannot offer {}", library_version(), version.name()),
    };
    match (engine, ctx) {
        (Engine::Openssl, Some(ctx)) => {
            let mut r = super::openssl::probe(ctx, version, endpoint, limits).await;
            r.cell.outcome = openssl_alone(r.cell.outcome, version);
            r
        }
        (Engine::Openssl, None) => {
            ProbeResult::of(Cell::unprobed(Outcome::NotTestable(not_testable())))
        }
        (Engine::Wire, _) => {
            let (cell, pick) = super::wire::probe_picking(version, endpoint, limits).await;
            ProbeResult {
                wire_first_pick: pick,
                ..ProbeResult::of(cell)
            }
        }
        (Engine::Both, None) => {
            let (mut cell, pick) = super::wire::probe_picking(version, endpoint, limits).await;
            cell.engines = Some(Box::new(Engines {
                openssl: Some(EngineAnswer {
                    status: Status::NotTestable,
                    detail: not_testable(),
                }),
                wire: Some(EngineAnswer::of(&cell.outcome)),
                agree: true,
            }));
            ProbeResult {
                wire_first_pick: pick,
                ..ProbeResult::of(cell)
            }
        }
        (Engine::Both, Some(ctx)) => {
            // Side by side, so a cell takes no longer than one probe (two connections at once).
            let (o, (w, pick)) = tokio::join!(
                super::openssl::probe(ctx, version, endpoint, limits),
                super::wire::probe_picking(version, endpoint, limits)
            );
            if o.cell.outcome.is_connect_failure() && w.outcome.is_connect_failure() {
                return o;
            }
            ProbeResult {
                cell: both(o.cell, w, version),
                root_dse: o.root_dse,
                peer_chain: o.peer_chain,
                wire_first_pick: pick,
            }
        }
    }
}

/// With OpenSSL alone, a handshake_failure or insufficient_security alert may only mean that
/// the server wants a suite or group this OpenSSL did not offer: the version is not refused as
/// far as anyone can tell.
fn openssl_alone(o: Outcome, version: TlsVersion) -> Outcome {
    match o {
        Outcome::Refused(Refusal::Alert {
            code: code @ (40 | 71),
        }) => Outcome::NotTestable(format!(
            "the server answered alert {}({code}) to what {} can offer; it may accept {} with a \
             suite only the wire engine offers",
            crate::tls::alert_name(code),
            library_version(),
            version.name()
        )),
        other => other,
    }
}

/// One cell from both engines. OpenSSL's handshake_failure or insufficient_security settles
/// nothing on its own here either (the server may want a suite it cannot offer): only the wire
/// engine's answer, which offered every suite, can then refuse the version.
fn both(o: Cell, w: Cell, version: TlsVersion) -> Cell {
    let mut o = o;
    o.outcome = openssl_alone(o.outcome, version);
    combine(o, w)
}

/// How a cell's answer ranks when the engines are compared: what the cell proves.
fn rank(o: &Outcome) -> u8 {
    match o.proof() {
        Proof::Accepted { .. } => 0,
        Proof::Refused => 1,
        Proof::Unproven(_) => 2,
    }
}

/// One cell from both engines' answers.
pub(crate) fn combine(o: Cell, w: Cell) -> Cell {
    let engines = Engines {
        openssl: Some(EngineAnswer::of(&o.outcome)),
        wire: Some(EngineAnswer::of(&w.outcome)),
        agree: o.outcome.status() == w.outcome.status(),
    };
    let (co, cw) = (rank(&o.outcome), rank(&w.outcome));
    let elapsed_ms = o.elapsed_ms.max(w.elapsed_ms);
    let attempts = o.attempts + w.attempts;
    // Accepted by either wins; otherwise a decided answer beats an undecided one; OpenSSL's
    // answer (a full handshake, the LDAP check) is kept when they are alike.
    let mut chosen = if cw < co { w } else { o };
    if !engines.agree
        && let Outcome::Accepted { note, .. } = &mut chosen.outcome
    {
        let other = if engines
            .openssl
            .as_ref()
            .is_some_and(|a| a.status == Status::Accepted)
        {
            engines.wire.as_ref()
        } else {
            engines.openssl.as_ref()
        };
        if let Some(other) = other {
            let add = format!(
                "the engines disagree: the other engine got {}: {}",
                other.status.key(),
                other.detail
            );
            *note = Some(match note.take() {
                Some(n) => format!("{n}; {add}"),
                None => add,
            });
        }
    }
    chosen.elapsed_ms = elapsed_ms;
    chosen.attempts = attempts;
    chosen.engines = Some(Box::new(engines));
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Phase;
    use crate::report::fixtures::cell;
    fn acc(completed: bool) -> Outcome {
        Outcome::Accepted {
            cipher: Some("TLS_RSA_WITH_RC4_128_SHA".into()),
            completed,
            note: None,
            ldap: None,
        }
    }

    #[test]
    fn an_acceptance_by_either_engine_wins_and_the_disagreement_is_recorded() {
        let c = combine(
            cell(Outcome::Refused(Refusal::Alert { code: 40 })),
            cell(acc(false)),
        );
        assert_eq!(c.status(), Status::Accepted);
        let e = c.engines.unwrap();
        assert!(!e.agree);
        assert_eq!(e.openssl.unwrap().status, Status::Refused);
        match c.outcome {
            Outcome::Accepted { note: Some(n), .. } => {
                assert!(n.contains("engines disagree"), "{n}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn agreement_keeps_the_openssl_answer() {
        let c = combine(cell(acc(true)), cell(acc(false)));
        assert!(matches!(
            c.outcome,
            Outcome::Accepted {
                completed: true,
                ..
            }
        ));
        assert!(c.engines.unwrap().agree);
    }

    #[test]
    fn a_decided_answer_beats_a_timeout() {
        let t = Outcome::Timeout {
            phase: Phase::Handshake,
            message: "t".into(),
        };
        let c = combine(cell(t), cell(Outcome::Refused(Refusal::Alert { code: 70 })));
        assert_eq!(c.status(), Status::Refused);
        assert!(!c.engines.unwrap().agree);
    }

    /// The defect: with both engines, OpenSSL's handshake_failure(40) was a settled refusal
    /// when the wire engine could not decide.
    #[test]
    fn both_engines_openssl_handshake_failure_is_no_refusal_without_the_wire_engine() {
        let timeout = Outcome::Timeout {
            phase: Phase::Handshake,
            message: "t".into(),
        };
        for code in [40, 71] {
            let c = both(
                cell(Outcome::Refused(Refusal::Alert { code })),
                cell(timeout.clone()),
                TlsVersion::Tls11,
            );
            assert_ne!(c.status(), Status::Refused, "alert {code}: {:?}", c.outcome);
            let c = both(
                cell(Outcome::Refused(Refusal::Alert { code })),
                cell(Outcome::Refused(Refusal::Alert { code: 70 })),
                TlsVersion::Tls11,
            );
            assert_eq!(
                c.status(),
                Status::Refused,
                "the wire engine's answer decides"
            );
        }
    }

    #[test]
    fn openssl_alone_does_not_call_a_handshake_failure_a_refusal() {
        let o = openssl_alone(
            Outcome::Refused(Refusal::Alert { code: 40 }),
            TlsVersion::Tls10,
        );
        assert_eq!(o.status(), Status::NotTestable);
        let o = openssl_alone(
            Outcome::Refused(Refusal::Alert { code: 70 }),
            TlsVersion::Tls10,
        );
        assert_eq!(o.status(), Status::Refused);
    }
}
