//! The wire engine: ClientHellos written by us (see `tls::hello`), the server's first flight read
//! and classified. It needs nothing from the local TLS library, so it tests SSLv3 and suites the
//! library lacks; it stops at the ServerHello, so it proves what the server chose, not that a
//! client completes the handshake.
//!
//! A version's suites are split over several hellos of at most 128 suites, the common ones
//! first. The first hello decides unless the server's no could mean "no suite in common"
//! (handshake_failure, insufficient_security, a bare close or reset): then the next hello goes
//! out on a new connection, and the version is refused only when every hello was.

use std::io;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout_at;

use crate::probe::classify::answer_outcome;
use crate::probe::{Endpoint, Limits, Opened, open, show_duration};
use crate::report::{Cell, Outcome, Phase, Refusal, TlsVersion};
use crate::tls::hello::{HelloKeys, client_hello, suite_parts};
use crate::tls::record::{ServerAnswer, only_warnings, server_flight, show_bytes};

/// What is read of the server's answer at most: a ServerHello fits many times over.
const MAX_ANSWER: usize = 16 * 1024 + 5;

/// Which of a version's hellos a connection carries.
#[derive(Clone, Copy)]
struct Part {
    index: usize,
    count: usize,
}

impl Part {
    fn label(self) -> String {
        format!("hello {} of {}", self.index + 1, self.count)
    }
}

/// Probe with hand-written ClientHellos offering only `version`.
pub async fn probe(version: TlsVersion, endpoint: &Endpoint<'_>, limits: Limits) -> Cell {
    probe_picking(version, endpoint, limits).await.0
}

/// [`probe`], with the suite the server chose from the first hello if it took that hello.
pub async fn probe_picking(
    version: TlsVersion,
    endpoint: &Endpoint<'_>,
    limits: Limits,
) -> (Cell, Option<u16>) {
    let start = Instant::now();
    let mut deadline = tokio::time::Instant::from_std(start + limits.timeout);
    let parts = suite_parts(version);
    let mut attempts = 0;
    // The first "no" that may only mean that this hello's suites were not the server's.
    let mut suite_refusal: Option<(Part, Refusal)> = None;
    let mut outcome = Outcome::Error("no ClientHello was sent".into());
    let mut first_pick = None;
    for (index, suites) in parts.iter().enumerate() {
        let part = Part {
            index,
            count: parts.len(),
        };
        let (this, tries) = match open(endpoint, limits, deadline).await {
            Err(failed) => failed,
            Ok(opened) => {
                // Time spent waiting for a handshake slot is not the server's.
                deadline = opened.deadline;
                let Opened {
                    mut tcp,
                    attempts,
                    permits: _permits,
                    ..
                } = opened;
                let outcome = exchange(
                    version,
                    suites,
                    part,
                    &mut tcp,
                    endpoint.sni,
                    deadline,
                    limits,
                )
                .await;
                (outcome, attempts)
            }
        };
        attempts += tries;
        if let (
            0,
            Outcome::Accepted {
                cipher: Some(name), ..
            },
        ) = (index, &this)
        {
            first_pick = crate::tls::suites::id_of(name).filter(|id| suites.contains(id));
        }
        outcome = match (this, &suite_refusal) {
            (Outcome::Refused(r), _) if may_mean_no_shared_suite(&r) => {
                suite_refusal.get_or_insert((part, r));
                continue;
            }
            (
                Outcome::Accepted {
                    cipher,
                    completed,
                    note,
                    ldap,
                },
                Some((first, r)),
            ) => Outcome::Accepted {
                cipher,
                completed,
                note: Some(format!(
                    "{}; {}: {r}, so the server has no suite of it",
                    note.unwrap_or_default(),
                    first.label()
                )),
                ldap,
            },
            // A version-level answer decides whatever came before.
            (decided @ Outcome::Refused(_), _) | (decided, None) => decided,
            (undecided, Some((first, r))) => Outcome::Error(format!(
                "{}: {r}; {}: {}: {}",
                first.label(),
                part.label(),
                undecided.status().key(),
                undecided.detail()
            )),
        };
        suite_refusal = None;
        break;
    }
    if let Some((_, r)) = suite_refusal {
        // Every hello was refused, so every suite was: the version is.
        outcome = Outcome::Refused(r);
    }
    let cell = Cell {
        outcome,
        elapsed_ms: start.elapsed().as_millis() as u64,
        attempts,
        engines: None,
    };
    (cell, first_pick)
}

/// A refusal the next hello's suites might turn into an acceptance.
fn may_mean_no_shared_suite(r: &Refusal) -> bool {
    matches!(
        r,
        Refusal::Alert { code: 40 | 71 } | Refusal::Closed | Refusal::Reset
    )
}

async fn exchange(
    version: TlsVersion,
    suites: &[u16],
    part: Part,
    tcp: &mut tokio::net::TcpStream,
    sni: Option<&str>,
    deadline: tokio::time::Instant,
    limits: Limits,
) -> Outcome {
    let keys = match HelloKeys::generate() {
        Ok(k) => k,
        Err(e) => return Outcome::Error(format!("no keys for the ClientHello: {e}")),
    };
    let hello = client_hello(version, suites, sni, &keys);
    match timeout_at(deadline, tcp.write_all(&hello)).await {
        Err(_) => {
            return Outcome::Timeout {
                phase: Phase::Handshake,
                message: format!(
                    "could not send the ClientHello within {}",
                    show_duration(limits.timeout)
                ),
            };
        }
        Ok(Err(e)) => return socket_end(&e, &[]),
        Ok(Ok(())) => {}
    }
    let mut got: Vec<u8> = Vec::with_capacity(2048);
    // On the heap: a probe waiting for its connect stays small.
    let mut chunk = vec![0u8; 4096];
    loop {
        // Decide as soon as the bytes so far allow it; a ServerHello may come a byte at a time,
        // after warning alerts.
        let flight = server_flight(&got);
        match &flight.answer {
            ServerAnswer::Nothing | ServerAnswer::Incomplete => {}
            _ => return decide(version, part, &flight, &got),
        }
        if got.len() >= MAX_ANSWER {
            return Outcome::Error(format!(
                "{} bytes of TLS without a whole ServerHello",
                got.len()
            ));
        }
        match timeout_at(deadline, tcp.read(&mut chunk)).await {
            Err(_) => {
                let mut message = if got.is_empty() {
                    format!("no TLS answer within {}", show_duration(limits.timeout))
                } else {
                    format!(
                        "handshake not finished within {} ({} bytes received)",
                        show_duration(limits.timeout),
                        got.len()
                    )
                };
                if let Some(w) = flight.warnings_text() {
                    message = format!("{message}; {w}");
                }
                return Outcome::Timeout {
                    phase: Phase::Handshake,
                    message,
                };
            }
            Ok(Ok(0)) => {
                // A close after nothing, or after warnings only, is a close without an answer.
                return if got.is_empty() || only_warnings(&got) {
                    Outcome::Refused(Refusal::Closed)
                } else {
                    Outcome::Error(format!(
                        "the server closed after {} bytes, before a whole ServerHello: {}",
                        got.len(),
                        show_bytes(&got)
                    ))
                };
            }
            Ok(Ok(n)) => {
                got.extend_from_slice(&chunk[..n.min(MAX_ANSWER - got.len().min(MAX_ANSWER))])
            }
            Ok(Err(e)) => return socket_end(&e, &got),
        }
    }
}

fn decide(
    version: TlsVersion,
    part: Part,
    flight: &crate::tls::record::ServerFlight,
    got: &[u8],
) -> Outcome {
    let chose = || {
        let mut s = format!(
            "the server chose {} in its ServerHello (wire engine: the handshake is not finished)",
            version.name()
        );
        if part.index > 0 {
            s = format!("{s}; with {}", part.label());
        }
        s
    };
    match answer_outcome(flight, version, got, chose) {
        Some(decided) => decided,
        None => match &flight.answer {
            ServerAnswer::Unclear(what) => Outcome::Error(what.clone()),
            _ => Outcome::Error("no answer".into()),
        },
    }
}

fn socket_end(e: &io::Error, got: &[u8]) -> Outcome {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
            if got.is_empty() || only_warnings(got) =>
        {
            Outcome::Refused(Refusal::Reset)
        }
        _ => Outcome::Error(format!("I/O error during the handshake: {e}")),
    }
}
