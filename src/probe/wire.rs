//! The wire engine: a ClientHello written by us (see `hello`), the server's first flight read
//! and classified. It needs nothing from the local TLS library, so it tests SSLv3 and suites the
//! library lacks; it stops at the ServerHello, so it proves what the server chose, not that a
//! client completes the handshake.

use std::io;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout_at;

use crate::probe::{Endpoint, Limits, open, show_duration};
use crate::report::{Cell, Outcome, Phase, Refusal, TlsVersion};
use crate::tls::hello::client_hello;
use crate::tls::record::{ServerAnswer, server_answer, show_bytes};

/// What is read of the server's answer at most: a ServerHello fits many times over.
const MAX_ANSWER: usize = 16 * 1024 + 5;

/// Probe with a hand-written ClientHello offering only `version`.
pub async fn probe(version: TlsVersion, endpoint: &Endpoint<'_>, limits: Limits) -> Cell {
    let start = Instant::now();
    let deadline = tokio::time::Instant::from_std(start + limits.timeout);
    let (outcome, attempts) = match open(endpoint, limits, deadline).await {
        Err(failed) => failed,
        Ok((mut tcp, attempts)) => (
            exchange(version, &mut tcp, endpoint.sni, deadline, limits).await,
            attempts,
        ),
    };
    Cell {
        outcome,
        elapsed_ms: start.elapsed().as_millis() as u64,
        attempts,
        engines: None,
    }
}

async fn exchange(
    version: TlsVersion,
    tcp: &mut tokio::net::TcpStream,
    sni: Option<&str>,
    deadline: tokio::time::Instant,
    limits: Limits,
) -> Outcome {
    let mut random = [0u8; 64];
    if openssl::rand::rand_bytes(&mut random).is_err() {
        return Outcome::Error("no random bytes for the ClientHello".into());
    }
    let hello = client_hello(version, sni, &random);
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
    let mut chunk = [0u8; 4096];
    loop {
        // Decide as soon as the bytes so far allow it; a ServerHello may come a byte at a time.
        match server_answer(&got) {
            ServerAnswer::Nothing | ServerAnswer::Incomplete => {}
            answer => return decide(version, answer, &got),
        }
        if got.len() >= MAX_ANSWER {
            return Outcome::Error(format!(
                "{} bytes of TLS without a whole ServerHello",
                got.len()
            ));
        }
        match timeout_at(deadline, tcp.read(&mut chunk)).await {
            Err(_) => {
                let message = if got.is_empty() {
                    format!("no TLS answer within {}", show_duration(limits.timeout))
                } else {
                    format!(
                        "handshake not finished within {} ({} bytes received)",
                        show_duration(limits.timeout),
                        got.len()
                    )
                };
                return Outcome::Timeout {
                    phase: Phase::Handshake,
                    message,
                };
            }
            Ok(Ok(0)) => {
                return if got.is_empty() {
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

fn decide(version: TlsVersion, answer: ServerAnswer, got: &[u8]) -> Outcome {
    let chose = || {
        format!(
            "the server chose {} in its ServerHello (wire engine: the handshake is not finished)",
            version.name()
        )
    };
    match crate::probe::classify::answer_outcome(&answer, version, got, chose) {
        Some(decided) => decided,
        None => match answer {
            ServerAnswer::Unclear(what) => Outcome::Error(what),
            _ => Outcome::Error("no answer".into()),
        },
    }
}

fn socket_end(e: &io::Error, got: &[u8]) -> Outcome {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
            if got.is_empty() =>
        {
            Outcome::Refused(Refusal::Reset)
        }
        _ => Outcome::Error(format!("I/O error during the handshake: {e}")),
    }
}
