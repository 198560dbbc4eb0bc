//! The live prediction: each client's hello replayed to each endpoint (see `tls::replay`),
//! through the endpoint's StartTLS or RDP prelude, and the server's first answer read.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout_at};
use tokio_util::sync::CancellationToken;

use super::{Cell, Client, Endpoint, Method, Mode, Prediction, Reason};
use crate::probe::{self, Limits, open, show_duration};
use crate::tls::alert_name;
use crate::tls::answer::{ServerChoice, server_choice};
use crate::tls::clienthello::ClientHello;
use crate::tls::names::{group_name, signature_algorithm_name, suite_name};
use crate::tls::record::{ServerAnswer, only_warnings, server_flight, show_bytes, version_name};
use crate::tls::replay::{Changes, ReplayError, ServerName, rewrite};

/// What is read of a server's answer at most.
const MAX_ANSWER: usize = 64 * 1024;
/// How long a diagnosis waits for the rest of a TLS 1.2 server's first flight (its
/// ServerKeyExchange names the group and signature) once the ServerHello is in.
const FLIGHT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How the live prediction runs.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub mode: Mode,
    pub limits: Limits,
    /// Replays in flight at once.
    pub concurrency: usize,
    /// Replays in flight at once against one address.
    pub per_host: usize,
}

/// A client to replay: its document entry and its hello.
pub struct Replayed {
    pub client: Client,
    pub hello: ClientHello,
    /// A built-in profile: its placeholder server name goes, when the endpoint has no name.
    pub profile: bool,
}

/// Every client on every endpoint. Returns the cells (by client, then endpoint) and whether
/// the run was complete (not cancelled).
pub async fn run(
    config: &LiveConfig,
    clients: &[Replayed],
    endpoints: &[Endpoint],
    cancel: &CancellationToken,
) -> (Vec<Cell>, bool) {
    let all = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut per_host: HashMap<SocketAddr, Arc<Semaphore>> = HashMap::new();
    let mut set = JoinSet::new();
    let clients: Arc<Vec<Input>> = Arc::new(
        clients
            .iter()
            .map(|c| Input {
                hello: c.hello.clone(),
                profile: c.profile,
                enable_tls12: c.client.enable_tls12.clone(),
                versions: c.client.versions.clone(),
            })
            .collect(),
    );
    let mut cells: Vec<Option<Cell>> = vec![None; clients.len() * endpoints.len()];
    for (ci, _) in clients.iter().enumerate() {
        for (ei, ep) in endpoints.iter().enumerate() {
            let host = ep.address.map(|a| SocketAddr::new(a, ep.port)).map(|a| {
                per_host
                    .entry(a)
                    .or_insert_with(|| Arc::new(Semaphore::new(config.per_host.max(1))))
                    .clone()
            });
            let (all, clients, ep, config) =
                (all.clone(), clients.clone(), ep.clone(), config.clone());
            set.spawn(async move {
                let _a = all.acquire_owned().await;
                let _h = match host {
                    Some(h) => Some(h.acquire_owned().await),
                    None => None,
                };
                let (method, prediction) = predict_one(&config, &clients[ci], &ep).await;
                (ci, ei, method, prediction)
            });
        }
    }
    let width = endpoints.len();
    let mut complete = true;
    loop {
        tokio::select! {
            r = set.join_next() => match r {
                Some(Ok((ci, ei, method, prediction))) => {
                    cells[ci * width + ei] = Some(Cell { client: ci, endpoint: ei, method, prediction });
                }
                Some(Err(_)) => {}
                None => break,
            },
            _ = cancel.cancelled() => {
                set.abort_all();
                complete = false;
                break;
            }
        }
    }
    let cells = cells
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            c.unwrap_or(Cell {
                client: i / width.max(1),
                endpoint: i % width.max(1),
                method: Method::Live,
                prediction: Prediction::Unknown {
                    detail: "not predicted: the run was interrupted".into(),
                },
            })
        })
        .collect();
    (cells, complete)
}

/// What a replay needs of a client.
struct Input {
    hello: ClientHello,
    profile: bool,
    enable_tls12: Option<String>,
    versions: Vec<String>,
}

/// What one replay got.
enum Attempt {
    /// A ServerHello (or HelloRetryRequest).
    Answer(ServerChoice),
    /// The server said no: an alert, a close or a reset before any ServerHello.
    Refused { alert: Option<u8>, how: String },
    /// Nothing that decides: unreachable, timeout, a prelude that failed, not TLS.
    Undecided(String),
}

/// The changes a diagnosis tries, in order: one thing at a time, then pairs, then all three.
const DIAGNOSES: [(bool, bool, bool); 7] = [
    (true, false, false),
    (false, true, false),
    (false, false, true),
    (true, true, false),
    (true, false, true),
    (false, true, true),
    (true, true, true),
];

async fn predict_one(config: &LiveConfig, client: &Input, ep: &Endpoint) -> (Method, Prediction) {
    let hello = &client.hello;
    let enable_tls12 = client.enable_tls12.as_deref();
    let versions = &client.versions;
    let profile = client.profile;
    if let Some(why) = &ep.unresolved {
        return (
            Method::Live,
            Prediction::Unknown {
                detail: why.clone(),
            },
        );
    }
    let Some(address) = ep.address else {
        return (
            Method::Live,
            Prediction::Unknown {
                detail: "no address".into(),
            },
        );
    };
    let server_name = match (&ep.sni, profile) {
        (Some(name), _) => ServerName::Set(name.clone()),
        (None, true) => ServerName::Remove,
        (None, false) => ServerName::Keep,
    };
    let base = Changes {
        without_old_versions: config.mode == Mode::Tls12Only,
        server_name,
        ..Changes::default()
    };
    let sni = match &base.server_name {
        ServerName::Set(n) => Some(n.clone()),
        _ => None,
    };
    let target = probe::Endpoint {
        addr: SocketAddr::new(address, ep.port),
        sni: sni.as_deref(),
        protocol: ep.protocol,
        ldap_check: false,
        gate: None,
        slots: None,
    };
    let first = match rewrite(hello, &base) {
        Ok(h) => h,
        Err(ReplayError::NoTls12 { highest }) => {
            return (Method::Computed, no_tls12(highest, enable_tls12));
        }
        Err(ReplayError::Keys(e)) => {
            return (
                Method::Live,
                Prediction::Unknown {
                    detail: format!("no hello could be written: {e}"),
                },
            );
        }
    };
    let (alert, how) = match attempt(&target, &first.records(), config.limits, false).await {
        Attempt::Answer(choice) => return (Method::Live, answered(config.mode, &choice)),
        Attempt::Undecided(why) => return (Method::Live, Prediction::Unknown { detail: why }),
        Attempt::Refused { alert, how } => (alert, how),
    };
    let highest = hello.highest();
    if alert == Some(70) {
        let prediction = if highest < 0x0303 {
            no_tls12(highest, enable_tls12)
        } else {
            Prediction::Breaks {
                reasons: vec![Reason::Other],
                alert,
                detail: format!(
                    "{how}: the endpoint accepts none of the versions the client offers ({})",
                    versions.join(", ")
                ),
                change: "offer a version the endpoint accepts (tlsmatrix scan lists them)".into(),
            }
        };
        return (Method::Live, prediction);
    }
    if highest < 0x0303 {
        // As it is, a client without TLS 1.2 was refused: does TLS 1.2 make the difference?
        // Offered as a client that enables it would: with TLS 1.2's suites, groups and
        // signature algorithms.
        let changes = Changes {
            add_tls12: true,
            add_suites: true,
            add_groups: true,
            add_signature_algorithms: true,
            ..base.clone()
        };
        if let Ok(h) = rewrite(hello, &changes)
            && let Attempt::Answer(choice) =
                attempt(&target, &h.records(), config.limits, false).await
            && choice.version >= 0x0303
        {
            let mut p = no_tls12(highest, enable_tls12);
            if let Prediction::Breaks {
                alert: a, detail, ..
            } = &mut p
            {
                *a = alert;
                *detail = format!(
                    "{how}; offered TLS 1.2 too (with its suites, groups and signature \
                     algorithms), the endpoint chose {} and {}",
                    version_name(choice.version),
                    suite_name(choice.suite)
                );
            }
            return (Method::Live, p);
        }
    }
    // The server said no to the client's own hello: find what the client lacks.
    for (suites, groups, sigalgs) in DIAGNOSES {
        let changes = Changes {
            add_suites: suites,
            add_groups: groups,
            add_signature_algorithms: sigalgs,
            ..base.clone()
        };
        let Ok(h) = rewrite(hello, &changes) else {
            continue;
        };
        if let Attempt::Answer(choice) = attempt(&target, &h.records(), config.limits, true).await
            && (choice.version >= 0x0303 || config.mode == Mode::AsIs)
        {
            let mut reasons = Vec::new();
            let mut change = Vec::new();
            if suites {
                reasons.push(Reason::NoSharedSuite);
                change.push(format!(
                    "add suite {} (the endpoint chose it)",
                    suite_name(choice.suite)
                ));
            }
            if groups {
                reasons.push(Reason::NoSharedGroup);
                change.push(match choice.group {
                    Some(g) => format!("add group {} (the endpoint chose it)", group_name(g)),
                    None => "add a group the endpoint accepts (x25519, secp256r1)".into(),
                });
            }
            if sigalgs {
                reasons.push(Reason::NoSharedSignatureAlgorithm);
                change.push(match choice.signature {
                    Some(s) => format!(
                        "add signature algorithm {} (the endpoint used it)",
                        signature_algorithm_name(s)
                    ),
                    None => "add the signature algorithms the endpoint's certificate needs \
                             (rsa_pss_rsae_sha256, rsa_pkcs1_sha256, ecdsa_secp256r1_sha256)"
                        .into(),
                });
            }
            return (
                Method::Live,
                Prediction::Breaks {
                    reasons,
                    alert,
                    detail: format!(
                        "{how}; with the added {} the endpoint chose {} and {}",
                        added(suites, groups, sigalgs),
                        version_name(choice.version),
                        suite_name(choice.suite)
                    ),
                    change: format!("{} on the client", change.join(" and ")),
                },
            );
        }
    }
    (
        Method::Live,
        Prediction::Breaks {
            reasons: vec![Reason::Other],
            alert,
            detail: format!(
                "{how}; offering more suites, groups and signature algorithms did not change it"
            ),
            change: "see the alert; compare the client's offer with tlsmatrix scan --suites of \
                     the endpoint"
                .into(),
        },
    )
}

fn added(suites: bool, groups: bool, sigalgs: bool) -> String {
    let mut v = Vec::new();
    if suites {
        v.push("suites");
    }
    if groups {
        v.push("groups");
    }
    if sigalgs {
        v.push("signature algorithms");
    }
    v.join(" and ")
}

/// A client that offers nothing from TLS 1.2 up.
pub fn no_tls12(highest: u16, enable_tls12: Option<&str>) -> Prediction {
    Prediction::Breaks {
        reasons: vec![Reason::NoTls12],
        alert: None,
        detail: format!(
            "the client offers nothing newer than {}",
            version_name(highest)
        ),
        change: enable_tls12
            .unwrap_or("enable TLS 1.2 on the client")
            .to_string(),
    }
}

/// A ServerHello to the client's own hello.
fn answered(mode: Mode, choice: &ServerChoice) -> Prediction {
    if choice.version < 0x0303 {
        return match mode {
            Mode::Tls12Only => Prediction::Unknown {
                detail: format!(
                    "the endpoint chose {} for a hello from TLS 1.2 up: it does not accept TLS \
                     1.2 yet, so what a TLS 1.2-only endpoint does cannot be seen here",
                    version_name(choice.version)
                ),
            },
            Mode::AsIs => Prediction::Works {
                version: version_name(choice.version),
                suite: suite_name(choice.suite),
                note: Some("the endpoint still accepts a version below TLS 1.2".into()),
            },
        };
    }
    Prediction::Works {
        version: version_name(choice.version),
        suite: suite_name(choice.suite),
        note: choice.hello_retry.then(|| match choice.group {
            Some(g) => format!(
                "after a HelloRetryRequest for {} (the client's second hello carries it)",
                group_name(g)
            ),
            None => "after a HelloRetryRequest".into(),
        }),
    }
}

/// Send one hello and read the server's first answer.
async fn attempt(
    target: &probe::Endpoint<'_>,
    hello: &[u8],
    limits: Limits,
    details: bool,
) -> Attempt {
    let deadline = Instant::now() + limits.timeout;
    // No scan slots here: the deadline stays as it was.
    let mut tcp = match open(target, limits, deadline).await {
        Ok(opened) => opened.tcp,
        Err((outcome, _)) => {
            return Attempt::Undecided(format!("{}: {}", outcome.status().key(), outcome.detail()));
        }
    };
    match timeout_at(deadline, tcp.write_all(hello)).await {
        Err(_) => {
            return Attempt::Undecided(format!(
                "the ClientHello could not be sent within {}",
                show_duration(limits.timeout)
            ));
        }
        Ok(Err(e)) => return socket_end(&e, &[]),
        Ok(Ok(())) => {}
    }
    let mut got: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let mut flight_deadline: Option<Instant> = None;
    loop {
        let flight = server_flight(&got);
        match &flight.answer {
            ServerAnswer::Hello { .. } => {
                let Some(choice) = server_choice(&got) else {
                    return Attempt::Undecided("a ServerHello that could not be read".into());
                };
                if !details || choice.flight_complete || got.len() >= MAX_ANSWER {
                    return Attempt::Answer(choice);
                }
                let until = *flight_deadline
                    .get_or_insert_with(|| deadline.min(Instant::now() + FLIGHT_WAIT));
                match timeout_at(until, tcp.read(&mut chunk)).await {
                    Ok(Ok(n)) if n > 0 => got.extend_from_slice(&chunk[..n]),
                    _ => return Attempt::Answer(choice),
                }
                continue;
            }
            ServerAnswer::Alert { code, .. } => {
                return Attempt::Refused {
                    alert: Some(*code),
                    how: format!("alert {}({code})", alert_name(*code)),
                };
            }
            ServerAnswer::NotTls => {
                return Attempt::Undecided(format!(
                    "the endpoint answered with something that is not TLS: {}",
                    show_bytes(&got)
                ));
            }
            ServerAnswer::Unclear(what) => return Attempt::Undecided(what.clone()),
            ServerAnswer::Nothing | ServerAnswer::Incomplete => {}
        }
        if got.len() >= MAX_ANSWER {
            return Attempt::Undecided(format!("{} bytes without a ServerHello", got.len()));
        }
        match timeout_at(deadline, tcp.read(&mut chunk)).await {
            Err(_) => {
                return Attempt::Undecided(format!(
                    "no answer to the ClientHello within {}",
                    show_duration(limits.timeout)
                ));
            }
            Ok(Ok(0)) => {
                return if got.is_empty() || only_warnings(&got) {
                    Attempt::Refused {
                        alert: None,
                        how: "the endpoint closed the connection without a word".into(),
                    }
                } else {
                    Attempt::Undecided(format!(
                        "the endpoint closed after {} bytes, before a whole ServerHello",
                        got.len()
                    ))
                };
            }
            Ok(Ok(n)) => got.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => return socket_end(&e, &got),
        }
    }
}

fn socket_end(e: &std::io::Error, got: &[u8]) -> Attempt {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionReset | ConnectionAborted | BrokenPipe
            if got.is_empty() || only_warnings(got) =>
        {
            Attempt::Refused {
                alert: None,
                how: "the endpoint reset the connection".into(),
            }
        }
        _ => Attempt::Undecided(format!("I/O error during the handshake: {e}")),
    }
}
