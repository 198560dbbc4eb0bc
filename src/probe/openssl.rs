//! The OpenSSL engine: a real handshake with only the forced version enabled, then (on LDAP) a
//! RootDSE search over it.
//!
//! The order of evidence when a handshake fails: first what the server sent (a ServerHello for our
//! version means the version is accepted whatever failed afterwards; an alert or another version
//! is a refusal), then what the socket saw (reset, close), and only then OpenSSL's reason. A cell
//! is `refused` only when a ClientHello left this machine and the server's answer says no.

use std::io;
use std::pin::Pin;
use std::time::Instant;

use openssl::ssl::{ErrorCode, Ssl, SslContext};
use tokio::net::TcpStream;
use tokio::time::timeout_at;
use tokio_openssl::SslStream;

use crate::probe::classify::answer_outcome;
use crate::probe::contexts::{certificate_requested, library_version, reason};
use crate::probe::ldap;
use crate::probe::tap::Tap;
use crate::probe::{Endpoint, Limits, Opened, ProbeResult, open, show_duration};
use crate::report::{Cell, LdapCheck, Outcome, Phase, Protocol, Refusal, RootDse, TlsVersion};
use crate::tls::record::{self, ServerAnswer};

/// OpenSSL reasons that mean the local library could not build a hello for the version.
const SSL_R_NO_PROTOCOLS_AVAILABLE: i32 = 191;
const SSL_R_NO_CIPHERS_AVAILABLE: i32 = 181;
/// OpenSSL reports a received alert as reason 1000 + alert code.
const SSL_AD_REASON_OFFSET: i32 = 1000;

/// Probe an endpoint with only `version` enabled in `ctx`.
pub async fn probe(
    ctx: &SslContext,
    version: TlsVersion,
    endpoint: &Endpoint<'_>,
    limits: Limits,
) -> ProbeResult {
    probe_offering(ctx, version, endpoint, limits, None).await
}

/// Probe as [`probe`] does, offering only `suites` (code points this OpenSSL knows) when given.
pub async fn probe_offering(
    ctx: &SslContext,
    version: TlsVersion,
    endpoint: &Endpoint<'_>,
    limits: Limits,
    suites: Option<&[u16]>,
) -> ProbeResult {
    let start = Instant::now();
    let deadline = tokio::time::Instant::from_std(start + limits.timeout);
    let mut root_dse = None;
    let mut peer_chain = None;
    let (outcome, attempts) = match open(endpoint, limits, deadline).await {
        Err(failed) => failed,
        Ok(Opened {
            tcp,
            attempts,
            deadline,
            permits: _permits,
        }) => {
            let (outcome, dse, chain) =
                handshake(ctx, version, tcp, endpoint, deadline, limits, suites).await;
            root_dse = dse;
            peer_chain = chain;
            (outcome, attempts)
        }
    };
    ProbeResult {
        cell: Cell {
            outcome,
            elapsed_ms: start.elapsed().as_millis() as u64,
            attempts,
            engines: None,
        },
        root_dse,
        peer_chain,
        wire_first_pick: None,
    }
}

/// The certificates the server sent, as DER, its own first (a client's view of the peer chain
/// includes the peer's certificate).
fn peer_chain(ssl: &openssl::ssl::SslRef) -> Option<Vec<Vec<u8>>> {
    let ders: Vec<Vec<u8>> = ssl
        .peer_cert_chain()?
        .iter()
        .filter_map(|c| c.to_der().ok())
        .collect();
    (!ders.is_empty()).then_some(ders)
}

async fn handshake(
    ctx: &SslContext,
    version: TlsVersion,
    tcp: TcpStream,
    endpoint: &Endpoint<'_>,
    deadline: tokio::time::Instant,
    limits: Limits,
    suites: Option<&[u16]>,
) -> (Outcome, Option<RootDse>, Option<Vec<Vec<u8>>>) {
    let outcome = tls_handshake(ctx, version, tcp, endpoint.sni, deadline, limits, suites).await;
    let (mut outcome, mut stream) = match outcome {
        Ok(pair) => pair,
        Err(outcome) => return (outcome, None, None),
    };
    let chain = peer_chain(stream.ssl());
    let mut dse = None;
    if endpoint.protocol.is_ldap() && endpoint.ldap_check {
        // The StartTLS request used message ID 1.
        let id = if endpoint.protocol == Protocol::LdapStarttls {
            2
        } else {
            1
        };
        let check = match timeout_at(deadline, ldap::root_dse(&mut stream, id)).await {
            Ok(Ok(found)) => {
                dse = Some(found);
                ldap::unbind(&mut stream, id + 1).await;
                LdapCheck::Answered
            }
            Ok(Err(e)) => LdapCheck::Failed(e.to_string()),
            Err(_) => LdapCheck::Failed(format!(
                "no answer within {}",
                show_duration(limits.timeout)
            )),
        };
        if let Outcome::Accepted { ldap, .. } = &mut outcome {
            *ldap = Some(check);
        }
    }
    (outcome, dse, chain)
}

type Stream = SslStream<Tap<TcpStream>>;

/// The handshake; on success the outcome and the open stream.
async fn tls_handshake(
    ctx: &SslContext,
    version: TlsVersion,
    tcp: TcpStream,
    sni: Option<&str>,
    deadline: tokio::time::Instant,
    limits: Limits,
    suites: Option<&[u16]>,
) -> Result<(Outcome, Stream), Outcome> {
    let lib = library_version();
    let mut ssl = Ssl::new(ctx).map_err(|e| Outcome::Error(format!("{lib}: {e}")))?;
    if let Some(ids) = suites {
        restrict(&mut ssl, version, ids)?;
    }
    if let Some(name) = sni {
        ssl.set_hostname(name)
            .map_err(|e| Outcome::Error(format!("cannot send server name '{name}': {e}")))?;
    }
    let mut stream =
        SslStream::new(ssl, Tap::new(tcp)).map_err(|e| Outcome::Error(format!("{lib}: {e}")))?;
    let result = timeout_at(deadline, Pin::new(&mut stream).connect()).await;
    if let Ok(Err(_)) = &result
        && record::server_answer(stream.get_ref().received()) == ServerAnswer::NotTls
    {
        // OpenSSL stops at the first record header; show the reader more of what came.
        stream.get_mut().read_available();
    }
    let tap = stream.get_ref();
    match result {
        Ok(Ok(())) => {
            let outcome = accepted(stream.ssl(), version);
            let outcome = noted(outcome, stream.ssl(), tap.received());
            Ok((outcome, stream))
        }
        Ok(Err(e)) => Err(noted(classify_failure(&e, tap, version), stream.ssl(), &[])),
        Err(_) => {
            // A server that chose our version and then stalled still accepts it.
            let flight = record::server_flight(tap.received());
            let stalled = || {
                format!(
                    "the server chose {} but did not finish the handshake within {}",
                    version.name(),
                    show_duration(limits.timeout)
                )
            };
            if let Some(accepted @ Outcome::Accepted { .. }) =
                answer_outcome(&flight, version, tap.received(), stalled)
            {
                return Err(accepted);
            }
            let message = if tap.received().is_empty() {
                format!("no TLS answer within {}", show_duration(limits.timeout))
            } else {
                format!(
                    "handshake not finished within {} ({} bytes received)",
                    show_duration(limits.timeout),
                    tap.received().len()
                )
            };
            Err(Outcome::Timeout {
                phase: Phase::Handshake,
                message,
            })
        }
    }
}

/// Let this connection offer only `ids`, by OpenSSL's names for them.
fn restrict(ssl: &mut Ssl, version: TlsVersion, ids: &[u16]) -> Result<(), Outcome> {
    let names: Vec<&str> = ids
        .iter()
        .filter_map(|id| crate::tls::suites::openssl_name(*id))
        .collect();
    let not_offered = |e: openssl::error::ErrorStack| {
        Outcome::NotTestable(format!(
            "{} cannot offer {}: {e}",
            library_version(),
            names.join(":")
        ))
    };
    if names.is_empty() {
        return Err(Outcome::NotTestable(format!(
            "{} knows none of these suites",
            library_version()
        )));
    }
    if version == TlsVersion::Tls13 {
        ssl.set_ciphersuites(&names.join(":")).map_err(not_offered)
    } else {
        ssl.set_cipher_list(&format!("{}:@SECLEVEL=0", names.join(":")))
            .map_err(not_offered)
    }
}

/// An accepted cell says what else the server did on the way: warning alerts before its
/// ServerHello (from `received`, when OpenSSL read past them), and a client certificate request.
/// A server that requires a certificate chose the version before it asked: still accepted.
fn noted(mut outcome: Outcome, ssl: &openssl::ssl::SslRef, received: &[u8]) -> Outcome {
    if let Outcome::Accepted { note, .. } = &mut outcome {
        let mut add = Vec::new();
        if let Some(w) = record::server_flight(received).warnings_text() {
            add.push(w);
        }
        if certificate_requested(ssl) {
            add.push("the server asked for a client certificate (none was sent)".to_string());
        }
        if !add.is_empty() {
            let add = add.join("; ");
            *note = Some(match note.take() {
                Some(n) => format!("{n}; {add}"),
                None => add,
            });
        }
    }
    outcome
}

fn accepted(ssl: &openssl::ssl::SslRef, version: TlsVersion) -> Outcome {
    let negotiated = ssl.version_str();
    if negotiated_version(ssl) != Some(version) {
        return Outcome::Error(format!(
            "negotiated {negotiated} although only {} was enabled",
            version.name()
        ));
    }
    let cipher = ssl
        .current_cipher()
        .map(|c| c.standard_name().unwrap_or(c.name()).to_string());
    Outcome::Accepted {
        cipher,
        completed: true,
        note: None,
        ldap: None,
    }
}

fn negotiated_version(ssl: &openssl::ssl::SslRef) -> Option<TlsVersion> {
    match ssl.version_str() {
        "SSLv3" => Some(TlsVersion::Ssl3),
        "TLSv1" => Some(TlsVersion::Tls10),
        "TLSv1.1" => Some(TlsVersion::Tls11),
        "TLSv1.2" => Some(TlsVersion::Tls12),
        "TLSv1.3" => Some(TlsVersion::Tls13),
        _ => None,
    }
}

/// Decide what a failed handshake means.
pub fn classify_failure(
    e: &openssl::ssl::Error,
    tap: &Tap<TcpStream>,
    version: TlsVersion,
) -> Outcome {
    let reason_code = e
        .ssl_error()
        .and_then(|s| s.errors().first())
        .map(|first| first.reason_code());
    if tap.written() == 0 {
        // Nothing went on the wire: whatever the server does, it was not asked.
        return match reason_code {
            Some(SSL_R_NO_PROTOCOLS_AVAILABLE | SSL_R_NO_CIPHERS_AVAILABLE) => {
                Outcome::NotTestable(format!(
                    "{} cannot offer {}: {}",
                    library_version(),
                    version.name(),
                    reason(e)
                ))
            }
            _ => Outcome::Error(format!("no ClientHello was sent: {}", describe(e))),
        };
    }
    let flight = record::server_flight(tap.received());
    let failed_after = || {
        format!(
            "the server chose {}, then the handshake failed: {}",
            version.name(),
            describe(e)
        )
    };
    if let Some(decided) = answer_outcome(&flight, version, tap.received(), failed_after) {
        return decided;
    }
    match flight.answer {
        ServerAnswer::Unclear(what) => Outcome::Error(format!("{what}: {}", describe(e))),
        ServerAnswer::Incomplete => Outcome::Error(format!(
            "{} bytes of TLS without a whole ServerHello: {}",
            tap.received().len(),
            describe(e)
        )),
        _ => nothing_received(e, reason_code),
    }
}

/// The server sent nothing: the socket says how it ended.
fn nothing_received(e: &openssl::ssl::Error, reason_code: Option<i32>) -> Outcome {
    if let Some(io) = e.io_error() {
        return match io.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Outcome::Refused(Refusal::Reset),
            io::ErrorKind::UnexpectedEof => Outcome::Refused(Refusal::Closed),
            _ => Outcome::Error(format!("I/O error during the handshake: {io}")),
        };
    }
    if e.code() == ErrorCode::SYSCALL || e.code() == ErrorCode::ZERO_RETURN {
        return Outcome::Refused(Refusal::Closed);
    }
    match reason_code {
        // "unexpected eof while reading"
        Some(294) => Outcome::Refused(Refusal::Closed),
        Some(r) if r > SSL_AD_REASON_OFFSET && r < SSL_AD_REASON_OFFSET + 256 => {
            Outcome::Refused(Refusal::Alert {
                code: (r - SSL_AD_REASON_OFFSET) as u8,
            })
        }
        _ => Outcome::Error(describe(e)),
    }
}

fn describe(e: &openssl::ssl::Error) -> String {
    if let Some(io) = e.io_error() {
        return io.to_string();
    }
    reason(e)
}
