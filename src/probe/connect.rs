//! TCP connect (with retries for the connect phase only) and the prelude a protocol needs
//! before its ClientHello. Both engines start their probes here.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::timeout_at;

use crate::probe::prelude::{self, PreludeError};
use crate::report::{Cell, Outcome, Phase, Protocol, RdpStandardSecurity, RootDse};

/// Time limits and retries of one probe.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Limit of each TCP connect attempt.
    pub connect_timeout: Duration,
    /// Limit of the whole probe, connect attempts included.
    pub timeout: Duration,
    /// Extra connect attempts after a connect-phase failure.
    pub retries: u32,
}

/// Where and how to probe.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint<'a> {
    pub addr: SocketAddr,
    /// Server name for the ClientHello.
    pub sni: Option<&'a str>,
    pub protocol: Protocol,
    /// For LDAP protocols: search the RootDSE after an accepted handshake.
    pub ldap_check: bool,
    /// Told `Some(true)` as soon as a TCP connection to the endpoint is up.
    pub gate: Option<&'a ConnectGate>,
    /// The scan's limits on open connections and handshakes in flight, if any.
    pub slots: Option<&'a Slots>,
}

/// The two limits a scan puts on its connections. A connection holds a `files` permit from
/// before its connect until it is closed, so open sockets stay under the open-file limit, and a
/// `handshakes` permit (`--concurrency`) while it is open; waiting for a SYN that gets no answer
/// within [`SYN_GRACE`] gives that slot back until TCP is up. So a thousand dead hosts wait out
/// their connect timeouts side by side, holding file descriptors, while the live ones are
/// probed.
#[derive(Clone, Debug)]
pub struct Slots {
    pub files: Arc<Semaphore>,
    pub handshakes: Arc<Semaphore>,
}

impl Slots {
    pub fn new(files: usize, handshakes: usize) -> Slots {
        Slots {
            files: Arc::new(Semaphore::new(files.max(1))),
            handshakes: Arc::new(Semaphore::new(handshakes.max(1))),
        }
    }
}

/// The permits a connection holds; dropped with it.
#[derive(Default)]
pub struct Permits {
    _file: Option<OwnedSemaphorePermit>,
    _handshake: Option<OwnedSemaphorePermit>,
}

/// A connection ready for a ClientHello: the prelude said, the connect attempts made, the
/// probe's deadline (moved on by the time spent waiting for a handshake slot), and the permits
/// to hold while it is open.
pub struct Opened {
    pub tcp: TcpStream,
    pub attempts: u32,
    pub deadline: tokio::time::Instant,
    pub permits: Permits,
}

/// Whether an endpoint answers TCP at all: `None` until its first probe knows. The other
/// versions of the endpoint wait on it, so a dead endpoint costs one connect timeout and one
/// connection, not one per version.
pub type ConnectGate = tokio::sync::watch::Sender<Option<bool>>;

/// One probe's cell, the RootDSE when an LDAP search answered, and the certificates the server
/// sent (DER, its own first) when a handshake was accepted.
pub struct ProbeResult {
    pub cell: Cell,
    pub root_dse: Option<RootDse>,
    pub peer_chain: Option<Vec<Vec<u8>>>,
    /// The suite the server chose from the wire engine's first hello (the first part of the
    /// version's suites, the usual extensions), when it took that hello: the suite enumeration
    /// starts from it instead of asking again.
    pub wire_first_pick: Option<u16>,
}

impl ProbeResult {
    /// A cell with nothing else learnt.
    pub fn of(cell: Cell) -> Self {
        ProbeResult {
            cell,
            root_dse: None,
            peer_chain: None,
            wire_first_pick: None,
        }
    }
}

/// Connect and say what the protocol needs said before TLS: the stream ready for a ClientHello
/// and the connect attempts made, or what ended the probe before any hello (with the attempts).
/// Both engines start their probes here.
pub async fn open(
    endpoint: &Endpoint<'_>,
    limits: Limits,
    deadline: tokio::time::Instant,
) -> Result<Opened, (Outcome, u32)> {
    let connected = connect(
        endpoint.addr,
        limits,
        deadline,
        endpoint.gate,
        endpoint.slots,
    )
    .await?;
    let mut opened = connected;
    match prelude_within(endpoint.protocol, &mut opened.tcp, opened.deadline, limits).await {
        Ok(()) => Ok(opened),
        Err(failed) => Err((failed, opened.attempts)),
    }
}

/// The protocol's prelude on an open stream, bounded by the probe's deadline; what ended it
/// early as the cell's outcome.
pub async fn prelude_within<S: AsyncRead + AsyncWrite + Unpin>(
    protocol: Protocol,
    stream: &mut S,
    deadline: tokio::time::Instant,
    limits: Limits,
) -> Result<(), Outcome> {
    match timeout_at(deadline, prelude::prelude(protocol, stream)).await {
        Ok(Ok(())) => Ok(()),
        Err(_) => Err(Outcome::Timeout {
            phase: Phase::Prelude,
            message: format!(
                "no {} answer within {}",
                prelude_name(protocol),
                show_duration(limits.timeout)
            ),
        }),
        Ok(Err(PreludeError::Declined(m))) => Err(Outcome::TlsDeclined(m)),
        Ok(Err(PreludeError::Failed(m))) => Err(Outcome::Error(m)),
    }
}

/// Connect and ask an RDP server for Standard RDP Security only (see
/// `prelude::rdp_standard_security`): whether it still lets a client in without TLS, and why it
/// seems so.
pub async fn rdp_standard_security(
    endpoint: &Endpoint<'_>,
    limits: Limits,
) -> (RdpStandardSecurity, String) {
    let deadline = tokio::time::Instant::now() + limits.timeout;
    let Opened {
        mut tcp,
        deadline,
        permits: _permits,
        ..
    } = match connect(endpoint.addr, limits, deadline, None, endpoint.slots).await {
        Ok(opened) => opened,
        Err((failed, _)) => return (RdpStandardSecurity::Unknown, failed.detail()),
    };
    match timeout_at(deadline, prelude::rdp_standard_security(&mut tcp)).await {
        Ok(found) => found,
        Err(_) => (
            RdpStandardSecurity::Unknown,
            format!(
                "no RDP negotiation answer within {}",
                show_duration(limits.timeout)
            ),
        ),
    }
}

fn prelude_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Rdp => "RDP negotiation",
        _ => "StartTLS",
    }
}

/// How long a connect holds its handshake slot while its SYN gets no answer. A live host answers
/// within a round trip, so it connects holding its slot and no more connections are open than
/// `--concurrency` allows; one that does not answer gives the slot back and waits out its
/// connect timeout holding only a file permit, so silent hosts do not hold up the live ones.
pub const SYN_GRACE: Duration = Duration::from_millis(25);

/// Connect within the connect timeout (and the probe's deadline), holding a file permit from
/// the start and a handshake slot while connecting for at most [`SYN_GRACE`], then again once TCP
/// is up (see [`Slots`]). Time spent waiting for permits does not count against the probe's
/// limits: the deadlines move on by as much.
async fn connect(
    addr: SocketAddr,
    limits: Limits,
    deadline: tokio::time::Instant,
    gate: Option<&ConnectGate>,
    slots: Option<&Slots>,
) -> Result<Opened, (Outcome, u32)> {
    let mut deadline = deadline;
    let mut permits = Permits::default();
    // Waiting for a permit is the scan's time, not the server's.
    async fn take(
        sem: &Arc<Semaphore>,
        deadline: &mut tokio::time::Instant,
    ) -> Option<OwnedSemaphorePermit> {
        let asked = tokio::time::Instant::now();
        let permit = sem.clone().acquire_owned().await.ok();
        *deadline += asked.elapsed();
        permit
    }
    if let Some(s) = slots {
        permits._file = take(&s.files, &mut deadline).await;
    }
    let mut attempts = 0;
    loop {
        attempts += 1;
        if let (Some(s), None) = (slots, &permits._handshake) {
            permits._handshake = take(&s.handshakes, &mut deadline).await;
        }
        let attempt_deadline = deadline.min(tokio::time::Instant::now() + limits.connect_timeout);
        let connecting = timeout_at(attempt_deadline, TcpStream::connect(addr));
        tokio::pin!(connecting);
        let result = tokio::select! {
            // A connect that is done wins over a grace that has just run out.
            biased;
            r = &mut connecting => r,
            _ = tokio::time::sleep(SYN_GRACE), if permits._handshake.is_some() => {
                // No answer to the SYN yet: let a live host have the slot meanwhile.
                permits._handshake = None;
                connecting.await
            }
        };
        let failure = match result {
            Ok(Ok(tcp)) => {
                let _ = tcp.set_nodelay(true);
                if let Some(g) = gate {
                    g.send_replace(Some(true));
                }
                if let (Some(s), None) = (slots, &permits._handshake) {
                    permits._handshake = take(&s.handshakes, &mut deadline).await;
                }
                return Ok(Opened {
                    tcp,
                    attempts,
                    deadline,
                    permits,
                });
            }
            Ok(Err(e)) if crate::scan::out_of_descriptors(&e) => {
                // This machine is out of file descriptors: wait for another probe to end. It
                // is not an attempt, and never the server's answer.
                attempts -= 1;
                let wait = std::time::Duration::from_millis(20);
                if tokio::time::Instant::now() + wait >= deadline {
                    return Err((
                        Outcome::Error(format!(
                            "no free file descriptor on this machine within {} ({e}): raise \
                             `ulimit -n` or lower --concurrency",
                            show_duration(limits.timeout)
                        )),
                        attempts,
                    ));
                }
                tokio::time::sleep(wait).await;
                continue;
            }
            Ok(Err(e)) => Outcome::Unreachable(connect_error(&e)),
            Err(_) => Outcome::Timeout {
                phase: Phase::Connect,
                message: format!(
                    "no TCP connection within {}",
                    show_duration(limits.connect_timeout.min(limits.timeout))
                ),
            },
        };
        let time_left = deadline > tokio::time::Instant::now();
        if attempts > limits.retries || !time_left {
            return Err((failure, attempts));
        }
    }
}

fn connect_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::HostUnreachable => "no route to host".into(),
        io::ErrorKind::NetworkUnreachable => "network unreachable".into(),
        _ => format!("connect failed: {e}"),
    }
}

/// `5s`, `1.5s`, `200ms`.
pub fn show_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn limits() -> Limits {
        Limits {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            retries: 0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_starttls_peer_is_a_prelude_timeout_at_the_deadline() {
        let (mut client, _server) = tokio::io::duplex(1024);
        let start = tokio::time::Instant::now();
        let deadline = start + limits().timeout;
        let r = prelude_within(Protocol::LdapStarttls, &mut client, deadline, limits()).await;
        assert_eq!(
            r,
            Err(Outcome::Timeout {
                phase: Phase::Prelude,
                message: "no StartTLS answer within 10s".into()
            })
        );
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_rdp_peer_times_out_and_an_early_deadline_wins() {
        let (mut client, _server) = tokio::io::duplex(1024);
        let start = tokio::time::Instant::now();
        // Half the probe's time already went into connecting.
        let deadline = start + Duration::from_secs(4);
        let r = prelude_within(Protocol::Rdp, &mut client, deadline, limits()).await;
        assert!(
            matches!(&r, Err(Outcome::Timeout { phase: Phase::Prelude, message }) if message.contains("RDP negotiation")),
            "{r:?}"
        );
        assert_eq!(start.elapsed(), Duration::from_secs(4));
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_just_before_the_deadline_is_not_a_timeout() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let peer = tokio::spawn(async move {
            let mut req = [0u8; 64];
            let _ = server.read(&mut req).await;
            tokio::time::sleep(Duration::from_millis(9_999)).await;
            // slapd's StartTLS success reply.
            let ok = [
                0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
            ];
            server.write_all(&ok).await.unwrap();
            server
        });
        let deadline = tokio::time::Instant::now() + limits().timeout;
        let r = prelude_within(Protocol::LdapStarttls, &mut client, deadline, limits()).await;
        assert_eq!(r, Ok(()));
        drop(peer.await);
    }
}
