//! Local TLS servers on loopback: the demo lab, and the fixtures of the test suite and the
//! examples. Each server is real OpenSSL (through tokio-openssl) restricted to a version range,
//! or a deliberately broken peer (silent, resetting, closing, speaking something else).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::ssl::{NameType, Ssl, SslContext, SslMethod, SslOptions, SslVersion};
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509, X509NameBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_openssl::SslStream;
use tokio_util::sync::CancellationToken;

pub mod pki;
pub mod recorder;

use crate::probe::contexts::ssl_version;
use crate::probe::ldap::{self, ResultCode, encode_for_lab as lab_ldap};
use crate::tls::TlsVersion;
use crate::tls::record::ClientOffer;

/// How a lab server answers.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// A TLS server accepting versions `min..=max`.
    Tls {
        min: TlsVersion,
        max: TlsVersion,
        /// OpenSSL cipher list for TLS 1.2 and older; `None` for every suite.
        ciphers: Option<String>,
    },
    /// A TLS server accepting versions `min..=max` with exactly these suites: an OpenSSL cipher
    /// list for TLS 1.2 and older, TLS 1.3 suites, its own order enforced or not, and DH
    /// parameters for DHE and anonymous DH suites (what `scan --suites` is tested against).
    Suites {
        min: TlsVersion,
        max: TlsVersion,
        ciphers: String,
        ciphersuites: Option<String>,
        server_order: bool,
    },
    /// Accepts TCP and never says anything.
    Silent,
    /// Reads the ClientHello, then resets the connection (what Active Directory does on 636 when
    /// LDAPS has no certificate).
    Reset,
    /// Reads the ClientHello, then closes without a word (what GnuTLS servers do to old versions).
    Close,
    /// Reads the ClientHello, then answers with an HTTP error.
    Garbage,
    /// Reads the ClientHello, then sends a fatal alert with this code.
    Alert(u8),
    /// Reads the ClientHello, then sends the start of a record one byte every 200 ms.
    SlowDrip,
    /// A TLS 1.2 server from before TLS 1.3: it does not know the `supported_versions`
    /// extension, so it answers a TLS 1.3-only hello with a TLS 1.2 ServerHello. (Modelled by
    /// rewriting the hello before OpenSSL reads it: see `as_seen_before_tls13`.)
    Pre13,
    /// A TLS 1.2 server whose certificate chain is about `kib` KiB long.
    OversizedChain { kib: usize },
    /// A directory server in the manner of Active Directory (BER long-form lengths), accepting
    /// TLS `min..=max`. With `starttls` it speaks LDAP in clear first and answers the StartTLS
    /// request as told (LDAP StartTLS on 389/3268); without, TLS comes first (LDAPS 636/3269).
    /// After the handshake it answers a RootDSE search if `answers` is set.
    Ldap {
        starttls: Option<StartTlsReply>,
        min: TlsVersion,
        max: TlsVersion,
        answers: bool,
    },
    /// An RDP server: reads the X.224 connection request and answers as told.
    Rdp(RdpReply),
    /// A server that speaks only the first flight, byte by byte, for what OpenSSL cannot serve
    /// here: it supports exactly `version` (SSLv3 included) and, if set, only the cipher suite
    /// `only_cipher` (RC4, say). It answers a ClientHello with a ServerHello (a lower version
    /// when the client offers more, as real servers do), or a protocol_version or
    /// handshake_failure alert, then closes. With `drip` the ServerHello goes out split over two
    /// records, one byte at a time.
    Stub {
        version: TlsVersion,
        only_cipher: Option<u16>,
        drip: bool,
    },
    /// A TLS 1.3 server that only knows the P-384 group, so a client offering an X25519 key
    /// share gets a HelloRetryRequest.
    Tls13P384,
    /// A TLS server accepting `min..=max` that first sends a warning alert with this code, as
    /// GnuTLS servers send unrecognized_name(112) for a server name they do not know, then goes
    /// on with the handshake.
    WarnThenTls {
        warning: u8,
        min: TlsVersion,
        max: TlsVersion,
    },
    /// A TLS server accepting `min..=max` that refuses, with a fatal handshake_failure(40), a
    /// hello offering TLS 1.3 whose `key_share` list is empty (RFC 8446 allows one; some servers
    /// do not), and handshakes with every other hello.
    NeedsKeyShare { min: TlsVersion, max: TlsVersion },
    /// A broken server that answers every ClientHello with a ServerHello whose version field
    /// says TLS 1.2 and whose `supported_versions` extension names the hello's own version
    /// field, whether or not the hello sent that extension; then closes.
    UnsolicitedSupportedVersions,
}

/// How a lab directory answers a StartTLS request.
#[derive(Clone, Debug)]
pub enum StartTlsReply {
    /// An ExtendedResponse with this result code; TLS follows when it is success.
    Result(ResultCode),
    /// The first bytes of a success response, then a close.
    Truncated,
    /// Plain text instead of LDAP.
    Garbage,
    /// Nothing at all.
    Silent,
}

/// How a lab RDP server answers the negotiation request.
#[derive(Clone, Debug)]
pub enum RdpReply {
    /// Security layer "SSL": selects TLS (PROTOCOL_SSL) for a client that asks for it, then
    /// handshakes with versions `min..=max`; answers a client that asks for Standard RDP Security
    /// only with SSL_REQUIRED_BY_SERVER.
    Tls { min: TlsVersion, max: TlsVersion },
    /// Security layer "Negotiate" (Windows' default): TLS as above for a client that asks for
    /// it, Standard RDP Security for a client that asks for nothing else.
    Negotiate { min: TlsVersion, max: TlsVersion },
    /// Selects standard RDP security: no TLS.
    StandardSecurity,
    /// Sends an RDP negotiation failure with this code.
    Failure(u32),
    /// A Connection Confirm whose negotiation response is cut short (two bytes of eight), with
    /// lengths that say so.
    Truncated,
}

impl Behaviour {
    pub fn tls(min: TlsVersion, max: TlsVersion) -> Self {
        Behaviour::Tls {
            min,
            max,
            ciphers: None,
        }
    }
}

/// A running lab server; it stops when dropped.
pub struct LabServer {
    addr: SocketAddr,
    stop: CancellationToken,
    seen: Arc<Seen>,
    accepting: Option<tokio::task::JoinHandle<()>>,
}

/// What a lab server saw, for tests to look at.
#[derive(Default)]
struct Seen {
    /// The server name of each completed handshake.
    names: Mutex<Vec<Option<String>>>,
    handshakes: AtomicUsize,
    /// What each ClientHello read before TLS began offered.
    hellos: Mutex<Vec<ClientOffer>>,
}

impl LabServer {
    /// Start a server on `bind` (port 0 picks a free port).
    pub async fn start(bind: SocketAddr, behaviour: Behaviour) -> io::Result<LabServer> {
        let listener = TcpListener::bind(bind).await?;
        Self::serve(listener, behaviour)
    }

    /// Start a server that presents `identity` (TLS, LDAP and RDP behaviours).
    pub async fn start_as(
        bind: SocketAddr,
        behaviour: Behaviour,
        identity: Identity,
    ) -> io::Result<LabServer> {
        let listener = TcpListener::bind(bind).await?;
        Self::serve_as(listener, behaviour, Some(identity))
    }

    /// Serve on a listener that is already bound.
    pub fn serve(listener: TcpListener, behaviour: Behaviour) -> io::Result<LabServer> {
        Self::serve_as(listener, behaviour, None)
    }

    /// Serve on a bound listener, presenting `identity` if given, else the shared localhost
    /// certificate.
    pub fn serve_as(
        listener: TcpListener,
        behaviour: Behaviour,
        identity: Option<Identity>,
    ) -> io::Result<LabServer> {
        let addr = listener.local_addr()?;
        let id = identity.as_ref();
        let host_name: Arc<str> = id
            .and_then(|i| i.host_name.as_deref())
            .unwrap_or("dc1.lab.test")
            .into();
        let ctx = match &behaviour {
            Behaviour::Tls { min, max, ciphers } => Some(
                server_context_as(*min, *max, ciphers.as_deref(), id).map_err(io::Error::other)?,
            ),
            Behaviour::Pre13 => Some(
                server_context_as(TlsVersion::Tls12, TlsVersion::Tls12, None, id)
                    .map_err(io::Error::other)?,
            ),
            Behaviour::Suites {
                min,
                max,
                ciphers,
                ciphersuites,
                server_order,
            } => Some(
                suites_context(*min, *max, ciphers, ciphersuites.as_deref(), *server_order)
                    .map_err(io::Error::other)?,
            ),
            Behaviour::OversizedChain { kib } => {
                Some(oversized_context(*kib).map_err(io::Error::other)?)
            }
            Behaviour::Tls13P384 => {
                let mut b =
                    SslContext::builder(SslMethod::tls_server()).map_err(io::Error::other)?;
                let (key, cert) = self::identity();
                b.set_min_proto_version(Some(SslVersion::TLS1_3))
                    .map_err(io::Error::other)?;
                b.set_private_key(key).map_err(io::Error::other)?;
                b.set_certificate(cert).map_err(io::Error::other)?;
                b.set_groups_list("P-384").map_err(io::Error::other)?;
                Some(b.build())
            }
            Behaviour::Ldap { min, max, .. }
            | Behaviour::WarnThenTls { min, max, .. }
            | Behaviour::NeedsKeyShare { min, max }
            | Behaviour::Rdp(RdpReply::Tls { min, max } | RdpReply::Negotiate { min, max }) => {
                Some(server_context_as(*min, *max, None, id).map_err(io::Error::other)?)
            }
            _ => None,
        };
        let stop = CancellationToken::new();
        let seen: Arc<Seen> = Arc::default();
        let mut server = LabServer {
            addr,
            stop: stop.clone(),
            seen: seen.clone(),
            accepting: None,
        };
        server.accepting = Some(tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    _ = stop.cancelled() => break,
                    c = listener.accept() => c,
                };
                let Ok((tcp, _)) = conn else { continue };
                let behaviour = behaviour.clone();
                let ctx = ctx.clone();
                let stop = stop.clone();
                let seen = seen.clone();
                let host_name = host_name.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = handle(tcp, behaviour, ctx, seen, &host_name) => {}
                    }
                });
            }
        }));
        Ok(server)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server name each completed handshake carried, in order.
    pub fn server_names(&self) -> Vec<Option<String>> {
        self.seen.names.lock().expect("lock").clone()
    }

    /// Stop, and wait until the port is free again (to start another server on it).
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.accepting.take() {
            let _ = task.await;
        }
    }

    /// Start a server on a port that was just released, retrying while the system frees it.
    pub async fn start_again(bind: SocketAddr, behaviour: Behaviour) -> io::Result<LabServer> {
        Self::start_again_as(bind, behaviour, None).await
    }

    /// `start_again`, presenting `identity` if given.
    pub async fn start_again_as(
        bind: SocketAddr,
        behaviour: Behaviour,
        identity: Option<Identity>,
    ) -> io::Result<LabServer> {
        let mut last = None;
        for _ in 0..50 {
            let started = match TcpListener::bind(bind).await {
                Ok(l) => Self::serve_as(l, behaviour.clone(), identity.clone()),
                Err(e) => Err(e),
            };
            match started {
                Ok(s) => return Ok(s),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("address in use")))
    }

    /// What every ClientHello received so far offered, in order of arrival. (Directory and RDP
    /// servers, whose hello follows a prelude, do not record it.)
    pub fn hellos(&self) -> Vec<ClientOffer> {
        self.seen.hellos.lock().expect("lock").clone()
    }

    /// Handshakes completed so far.
    pub fn handshakes(&self) -> usize {
        self.seen.handshakes.load(Ordering::SeqCst)
    }
}

impl Drop for LabServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn handle(
    mut tcp: TcpStream,
    behaviour: Behaviour,
    ctx: Option<SslContext>,
    seen: Arc<Seen>,
    host_name: &str,
) {
    match behaviour {
        Behaviour::Stub {
            version,
            only_cipher,
            drip,
        } => stub(&mut tcp, version, only_cipher, drip, &seen).await,
        Behaviour::Tls { .. }
        | Behaviour::Suites { .. }
        | Behaviour::Pre13
        | Behaviour::OversizedChain { .. }
        | Behaviour::Tls13P384 => {
            let Some(ctx) = ctx else { return };
            let Ok(ssl) = Ssl::new(&ctx) else { return };
            // The hello is read here first, to record what it offered, then handed to OpenSSL.
            let Ok(hello) = read_hello(&mut tcp, &seen).await else {
                return;
            };
            let prefix = match behaviour {
                Behaviour::Pre13 => as_seen_before_tls13(hello),
                _ => hello,
            };
            let stream = Prefixed {
                prefix,
                pos: 0,
                inner: tcp,
            };
            if let Some(mut s) = accept_tls(ssl, stream, &seen).await {
                let mut buf = [0u8; 256];
                let _ = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
            }
        }
        Behaviour::WarnThenTls { warning, .. } => {
            let Some(ctx) = ctx else { return };
            let Ok(ssl) = Ssl::new(&ctx) else { return };
            let Ok(hello) = read_hello(&mut tcp, &seen).await else {
                return;
            };
            if tcp.write_all(&[21, 3, 1, 0, 2, 1, warning]).await.is_err() {
                return;
            }
            let stream = Prefixed {
                prefix: hello,
                pos: 0,
                inner: tcp,
            };
            if let Some(mut s) = accept_tls(ssl, stream, &seen).await {
                linger(&mut s).await;
            }
        }
        Behaviour::NeedsKeyShare { .. } => {
            let Some(ctx) = ctx else { return };
            let Ok(ssl) = Ssl::new(&ctx) else { return };
            let Ok(hello) = read_hello(&mut tcp, &seen).await else {
                return;
            };
            let no_shares =
                crate::tls::clienthello::ClientHello::from_records(&hello).is_ok_and(|h| {
                    h.versions().contains(&0x0304) && h.extension(51) == Some(&[0u8, 0][..])
                });
            if no_shares {
                let _ = tcp.write_all(&[21, 3, 3, 0, 2, 2, 40]).await;
                let _ = tcp.shutdown().await;
                return;
            }
            let stream = Prefixed {
                prefix: hello,
                pos: 0,
                inner: tcp,
            };
            if let Some(mut s) = accept_tls(ssl, stream, &seen).await {
                linger(&mut s).await;
            }
        }
        Behaviour::UnsolicitedSupportedVersions => {
            let Ok(hello) = read_hello(&mut tcp, &seen).await else {
                return;
            };
            let Some(offer) = crate::tls::record::client_offer(&hello) else {
                return;
            };
            let names = offer.legacy_version.to_be_bytes();
            let cipher = offer.ciphers.first().copied().unwrap_or(0x002f);
            let ext = [0, 43, 0, 2, names[0], names[1]];
            let _ = tcp
                .write_all(&server_hello_record(0x0303, cipher, &ext))
                .await;
            let _ = tcp.shutdown().await;
            linger(&mut tcp).await;
        }
        Behaviour::Ldap {
            starttls, answers, ..
        } => {
            let Some(ctx) = ctx else { return };
            if let Some(reply) = starttls
                && !answer_starttls(&mut tcp, reply).await
            {
                return;
            }
            let Ok(ssl) = Ssl::new(&ctx) else { return };
            if let Some(mut s) = accept_tls(ssl, Prefixed::plain(tcp), &seen).await {
                if answers {
                    answer_root_dse(&mut s, host_name).await;
                } else {
                    linger(&mut s).await;
                }
            }
        }
        Behaviour::Rdp(reply) => {
            let mut request = [0u8; 19];
            if tcp.read_exact(&mut request).await.is_err() {
                return;
            }
            let requested =
                u32::from_le_bytes([request[15], request[16], request[17], request[18]]);
            let wants_tls = requested & 1 != 0;
            // X.224 Connection Confirm with an RDP_NEG_RSP or RDP_NEG_FAILURE.
            let (kind, value) = match reply {
                RdpReply::Tls { .. } | RdpReply::Negotiate { .. } if wants_tls => (2u8, 1u32),
                RdpReply::Tls { .. } => (3, 1), // SSL_REQUIRED_BY_SERVER
                RdpReply::Negotiate { .. } | RdpReply::StandardSecurity => (2, 0),
                RdpReply::Failure(code) => (3, code),
                RdpReply::Truncated => {
                    let cut = [
                        0x03, 0x00, 0x00, 0x0d, 0x08, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0,
                    ];
                    let _ = tcp.write_all(&cut).await;
                    let _ = tcp.shutdown().await;
                    linger(&mut tcp).await;
                    return;
                }
            };
            let mut confirm = vec![0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0, 0, 0x12, 0x34, 0];
            confirm.extend_from_slice(&[kind, 0, 8, 0]);
            confirm.extend_from_slice(&value.to_le_bytes());
            if tcp.write_all(&confirm).await.is_err() {
                return;
            }
            match (ctx, kind, value) {
                (Some(ctx), 2, 1) => {
                    let Ok(ssl) = Ssl::new(&ctx) else { return };
                    let plain = Prefixed::plain(tcp);
                    if let Some(mut s) = accept_tls(ssl, plain, &seen).await {
                        linger(&mut s).await;
                    }
                }
                _ => {
                    let _ = tcp.shutdown().await;
                    linger(&mut tcp).await;
                }
            }
        }
        Behaviour::Silent => {
            let mut buf = [0u8; 4096];
            while let Ok(n) = tcp.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        }
        Behaviour::Reset => {
            let _ = read_hello(&mut tcp, &seen).await;
            let _ = tcp.set_zero_linger();
            drop(tcp);
        }
        Behaviour::Close => {
            let _ = read_hello(&mut tcp, &seen).await;
            let _ = tcp.shutdown().await;
            linger(&mut tcp).await;
        }
        Behaviour::Garbage => {
            let _ = read_hello(&mut tcp, &seen).await;
            let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            let _ = tcp.shutdown().await;
            linger(&mut tcp).await;
        }
        Behaviour::Alert(code) => {
            let _ = read_hello(&mut tcp, &seen).await;
            let _ = tcp.write_all(&[21, 3, 1, 0, 2, 2, code]).await;
            let _ = tcp.shutdown().await;
            linger(&mut tcp).await;
        }
        Behaviour::SlowDrip => {
            let _ = read_hello(&mut tcp, &seen).await;
            for b in [22u8, 3, 3, 0x40, 0x00]
                .iter()
                .chain([2u8, 0, 0x3f].iter().cycle())
            {
                if tcp.write_all(&[*b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Run the server side of a handshake; count it and keep the server name if it completes.
async fn accept_tls(ssl: Ssl, stream: Prefixed, seen: &Seen) -> Option<SslStream<Prefixed>> {
    let mut s = SslStream::new(ssl, stream).ok()?;
    let r = tokio::time::timeout(Duration::from_secs(10), Pin::new(&mut s).accept()).await;
    if let Ok(Ok(())) = r {
        let sni = s.ssl().servername(NameType::HOST_NAME).map(str::to_string);
        seen.names.lock().expect("lock").push(sni);
        seen.handshakes.fetch_add(1, Ordering::SeqCst);
        Some(s)
    } else {
        None
    }
}

/// The first flight of a server that supports one version and maybe one suite.
async fn stub(
    tcp: &mut TcpStream,
    version: TlsVersion,
    only_cipher: Option<u16>,
    drip: bool,
    seen: &Seen,
) {
    let Ok(hello) = read_hello(tcp, seen).await else {
        return;
    };
    let Some(offer) = crate::tls::record::client_offer(&hello) else {
        return;
    };
    let client_max = offer
        .supported_versions
        .iter()
        .copied()
        .max()
        .unwrap_or(offer.legacy_version);
    let alert = |code: u8| vec![21, 3, 1, 0, 2, 2, code];
    let no_tls13 = version == TlsVersion::Tls13 && !offer.supported_versions.contains(&0x0304);
    let reply = if client_max < version.wire() || no_tls13 {
        alert(70)
    } else {
        let cipher = match only_cipher {
            Some(c) if offer.ciphers.contains(&c) => Some(c),
            Some(_) => None,
            None => offer.ciphers.first().copied(),
        };
        match cipher {
            None => alert(40),
            Some(c) => {
                let legacy = version.wire().min(0x0303);
                let mut body = legacy.to_be_bytes().to_vec();
                body.extend_from_slice(&[0x5a; 32]);
                body.push(0); // no session ID
                body.extend_from_slice(&c.to_be_bytes());
                body.push(0);
                if version == TlsVersion::Tls13 {
                    body.extend_from_slice(&[0, 6, 0, 43, 0, 2, 3, 4]);
                }
                let mut hs = vec![2];
                hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
                hs.extend_from_slice(&body);
                let rv = version.wire().min(0x0303).to_be_bytes();
                let record = |part: &[u8]| {
                    let mut r = vec![22, rv[0], rv[1]];
                    r.extend_from_slice(&(part.len() as u16).to_be_bytes());
                    r.extend_from_slice(part);
                    r
                };
                if drip {
                    let (a, b) = hs.split_at(hs.len() / 2);
                    let mut both = record(a);
                    both.extend(record(b));
                    both
                } else {
                    record(&hs)
                }
            }
        }
    };
    if drip {
        for b in reply {
            if tcp.write_all(&[b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    } else if tcp.write_all(&reply).await.is_err() {
        return;
    }
    let _ = tcp.shutdown().await;
    linger(tcp).await;
}

/// A ServerHello record: version field `version`, a fixed random, no session ID, `cipher`, and
/// the extensions `ext` (already encoded).
fn server_hello_record(version: u16, cipher: u16, ext: &[u8]) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend_from_slice(&[0x5a; 32]);
    body.push(0);
    body.extend_from_slice(&cipher.to_be_bytes());
    body.push(0);
    if !ext.is_empty() {
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(ext);
    }
    let mut hs = vec![2];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut r = vec![22, 3, 3];
    r.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    r.extend_from_slice(&hs);
    r
}

/// Read the StartTLS request and answer it; true when TLS should follow.
async fn answer_starttls(tcp: &mut TcpStream, reply: StartTlsReply) -> bool {
    let id = match ldap::read_message(tcp).await {
        Ok(msg) => msg.message_id,
        Err(_) => return false,
    };
    let ok = lab_ldap::long_form(&lab_ldap::extended_response(id, ResultCode::Success));
    match reply {
        StartTlsReply::Result(code) => {
            let bytes = lab_ldap::long_form(&lab_ldap::extended_response(id, code));
            if tcp.write_all(&bytes).await.is_err() {
                return false;
            }
            if code == ResultCode::Success {
                return true;
            }
            linger(tcp).await;
            false
        }
        StartTlsReply::Truncated => {
            let _ = tcp.write_all(&ok[..7]).await;
            let _ = tcp.shutdown().await;
            linger(tcp).await;
            false
        }
        StartTlsReply::Garbage => {
            let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            let _ = tcp.shutdown().await;
            linger(tcp).await;
            false
        }
        StartTlsReply::Silent => {
            linger(tcp).await;
            let mut buf = [0u8; 64];
            while let Ok(n) = tcp.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
            false
        }
    }
}

/// Answer RootDSE searches the way a domain controller would, until the client goes away.
async fn answer_root_dse<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    s: &mut S,
    host_name: &str,
) {
    while let Ok(Ok(msg)) =
        tokio::time::timeout(Duration::from_secs(5), ldap::read_message(s)).await
    {
        if !matches!(msg.protocol_op, rasn_ldap::ProtocolOp::SearchRequest(_)) {
            break;
        }
        let id = msg.message_id;
        let entry = lab_ldap::long_form(&lab_ldap::root_dse_entry(
            id,
            &[
                ("dnsHostName", &[host_name]),
                ("defaultNamingContext", &["DC=lab,DC=test"]),
                ("supportedLDAPVersion", &["3", "2"]),
                ("domainControllerFunctionality", &["7"]),
            ],
        ));
        let done = lab_ldap::long_form(&lab_ldap::search_done(id));
        if s.write_all(&entry).await.is_err() || s.write_all(&done).await.is_err() {
            break;
        }
    }
}

/// Read one whole TLS record (the ClientHello), and record what it offered.
async fn read_hello(tcp: &mut TcpStream, seen: &Seen) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 5];
    tcp.read_exact(&mut buf).await?;
    let len = u16::from_be_bytes([buf[3], buf[4]]) as usize;
    let mut body = vec![0u8; len];
    tcp.read_exact(&mut body).await?;
    buf.extend(body);
    if let Some(offer) = crate::tls::record::client_offer(&buf) {
        seen.hellos.lock().expect("lock").push(offer);
    }
    Ok(buf)
}

/// The ClientHello as a server from before TLS 1.3 reads it: without the `supported_versions`
/// extension (43), so only the legacy version field counts, and with two TLS 1.2 suites added
/// (such servers pick a suite they know from whatever is offered). Anything that is not a
/// single-record ClientHello is returned as it is.
fn as_seen_before_tls13(record: Vec<u8>) -> Vec<u8> {
    fn rewrite(r: &[u8]) -> Option<Vec<u8>> {
        let hs = r.get(5..)?;
        if *hs.first()? != 1 {
            return None;
        }
        let body = hs.get(4..)?;
        let mut p = 2 + 32;
        p += 1 + *body.get(p)? as usize;
        let suites_at = p;
        let suites_len = u16::from_be_bytes([*body.get(p)?, *body.get(p + 1)?]) as usize;
        p += 2 + suites_len;
        p += 1 + *body.get(p)? as usize;
        let ext_len = u16::from_be_bytes([*body.get(p)?, *body.get(p + 1)?]) as usize;
        let exts = body.get(p + 2..p + 2 + ext_len)?;
        let mut kept = Vec::new();
        let mut q = 0;
        while q + 4 <= exts.len() {
            let ty = u16::from_be_bytes([exts[q], exts[q + 1]]);
            let len = u16::from_be_bytes([exts[q + 2], exts[q + 3]]) as usize;
            let whole = exts.get(q..q + 4 + len)?;
            if ty != 43 {
                kept.extend_from_slice(whole);
            }
            q += 4 + len;
        }
        if kept.len() == exts.len() {
            // No supported_versions: a TLS 1.2 hello, which such a server reads as it is.
            return None;
        }
        // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_GCM_SHA256
        let extra = [0xc0, 0x2f, 0x00, 0x9c];
        let mut new_body = body[..suites_at].to_vec();
        new_body.extend_from_slice(&((suites_len + extra.len()) as u16).to_be_bytes());
        new_body.extend_from_slice(body.get(suites_at + 2..suites_at + 2 + suites_len)?);
        new_body.extend_from_slice(&extra);
        new_body.extend_from_slice(&body[suites_at + 2 + suites_len..p]);
        new_body.extend_from_slice(&(kept.len() as u16).to_be_bytes());
        new_body.extend_from_slice(&kept);
        let mut out = r[..3].to_vec();
        out.extend_from_slice(&((new_body.len() + 4) as u16).to_be_bytes());
        out.push(1);
        out.extend_from_slice(&(new_body.len() as u32).to_be_bytes()[1..]);
        out.extend_from_slice(&new_body);
        Some(out)
    }
    rewrite(&record).unwrap_or(record)
}

/// A stream that yields `prefix` before what the socket reads.
struct Prefixed {
    prefix: Vec<u8>,
    pos: usize,
    inner: TcpStream,
}

impl Prefixed {
    fn plain(inner: TcpStream) -> Self {
        Prefixed {
            prefix: Vec::new(),
            pos: 0,
            inner,
        }
    }
}

impl tokio::io::AsyncRead for Prefixed {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.prefix.len() {
            let n = buf.remaining().min(this.prefix.len() - this.pos);
            buf.put_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            return std::task::Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Prefixed {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Wait for the client to go away, so our close is seen as a close and not a reset.
async fn linger<S: tokio::io::AsyncRead + Unpin>(tcp: &mut S) {
    let mut buf = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(n) = tcp.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// What a lab server presents: its key, its chain (its own certificate first, then what it
/// sends with it), and the `dnsHostName` its directory gives (else `dc1.lab.test`).
#[derive(Clone)]
pub struct Identity {
    pub key: PKey<Private>,
    pub chain: Vec<X509>,
    pub host_name: Option<String>,
}

impl Identity {
    /// A certificate and what to send with it.
    pub fn new(issued: &pki::Issued, sent_with_it: &[&X509]) -> Identity {
        let mut chain = vec![issued.cert.clone()];
        chain.extend(sent_with_it.iter().map(|c| (*c).clone()));
        Identity {
            key: issued.key.clone(),
            chain,
            host_name: None,
        }
    }

    /// The name the directory gives in its RootDSE.
    pub fn host_name(mut self, name: &str) -> Identity {
        self.host_name = Some(name.to_string());
        self
    }
}

/// A server context for `min..=max`, with every suite and security level 0 so that old versions
/// really work, whatever the system configuration says.
pub fn server_context(
    min: TlsVersion,
    max: TlsVersion,
    ciphers: Option<&str>,
) -> Result<SslContext, openssl::error::ErrorStack> {
    server_context_as(min, max, ciphers, None)
}

/// `server_context` presenting `identity`, if given.
pub fn server_context_as(
    min: TlsVersion,
    max: TlsVersion,
    ciphers: Option<&str>,
    identity: Option<&Identity>,
) -> Result<SslContext, openssl::error::ErrorStack> {
    let shared = self::identity();
    let (key, cert) = match identity {
        Some(id) => (&id.key, &id.chain[0]),
        None => (&shared.0, &shared.1),
    };
    let mut b = SslContext::builder(SslMethod::tls_server())?;
    b.clear_options(
        SslOptions::NO_SSLV3
            | SslOptions::NO_TLSV1
            | SslOptions::NO_TLSV1_1
            | SslOptions::NO_TLSV1_2
            | SslOptions::NO_TLSV1_3,
    );
    b.set_security_level(0);
    b.set_min_proto_version(Some(ssl_version(min)))?;
    b.set_max_proto_version(Some(ssl_version(max)))?;
    b.set_cipher_list(ciphers.unwrap_or("ALL:@SECLEVEL=0"))?;
    b.set_private_key(key)?;
    b.set_certificate(cert)?;
    for extra in identity.map(|id| &id.chain[1..]).unwrap_or(&[]) {
        b.add_extra_chain_cert(extra.clone())?;
    }
    b.check_private_key()?;
    Ok(b.build())
}

/// The context of [`Behaviour::Suites`].
fn suites_context(
    min: TlsVersion,
    max: TlsVersion,
    ciphers: &str,
    ciphersuites: Option<&str>,
    server_order: bool,
) -> Result<SslContext, openssl::error::ErrorStack> {
    let (key, cert) = identity();
    let mut b = SslContext::builder(SslMethod::tls_server())?;
    b.clear_options(
        SslOptions::NO_SSLV3
            | SslOptions::NO_TLSV1
            | SslOptions::NO_TLSV1_1
            | SslOptions::NO_TLSV1_2
            | SslOptions::NO_TLSV1_3,
    );
    if server_order {
        b.set_options(SslOptions::CIPHER_SERVER_PREFERENCE);
    }
    b.set_security_level(0);
    b.set_min_proto_version(Some(ssl_version(min)))?;
    b.set_max_proto_version(Some(ssl_version(max)))?;
    b.set_cipher_list(ciphers)?;
    if let Some(s) = ciphersuites {
        b.set_ciphersuites(s)?;
    }
    // DH parameters chosen by OpenSSL to match the key, as `openssl s_server` does.
    // SAFETY: the builder owns a valid SSL_CTX.
    unsafe {
        openssl_sys::SSL_CTX_set_dh_auto(b.as_ptr(), 1);
    }
    b.set_private_key(key)?;
    b.set_certificate(cert)?;
    b.check_private_key()?;
    Ok(b.build())
}

/// A TLS 1.2 server that sends its certificate again and again as a chain of about `kib` KiB.
fn oversized_context(kib: usize) -> Result<SslContext, openssl::error::ErrorStack> {
    let (key, cert) = identity();
    let mut b = SslContext::builder(SslMethod::tls_server())?;
    b.set_security_level(0);
    b.set_min_proto_version(Some(SslVersion::TLS1_2))?;
    b.set_max_proto_version(Some(SslVersion::TLS1_2))?;
    b.set_private_key(key)?;
    b.set_certificate(cert)?;
    let one = cert.to_der()?.len().max(1);
    for _ in 0..(kib * 1024 / one + 1) {
        b.add_extra_chain_cert(cert.clone())?;
    }
    Ok(b.build())
}

/// A self-signed certificate for localhost, 127.0.0.1 and ::1, made once per process.
pub fn identity() -> &'static (PKey<Private>, X509) {
    static ID: OnceLock<(PKey<Private>, X509)> = OnceLock::new();
    ID.get_or_init(|| make_identity().expect("generate a test certificate"))
}

fn make_identity() -> Result<(PKey<Private>, X509), openssl::error::ErrorStack> {
    let key = PKey::from_rsa(Rsa::generate(2048)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", "localhost")?;
    let name = name.build();
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(64, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(&key)?;
    let not_before = Asn1Time::days_from_now(0)?;
    let not_after = Asn1Time::days_from_now(30)?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .ip("::1")
        .build(&b.x509v3_context(None, None))?;
    b.append_extension(san)?;
    b.sign(&key, MessageDigest::sha256())?;
    Ok((key, b.build()))
}

/// A ClientHello offering only `v` (the wire engine's first hello for it) without tlsmatrix's
/// mark in its random: what a client with the same offer sends. Tests and capture generators
/// use it to stand for a client; with the mark, `clients` would leave it out as a probe.
pub fn client_hello_unmarked(v: TlsVersion, sni: Option<&str>) -> Vec<u8> {
    let mut keys = crate::tls::hello::HelloKeys::generate().expect("key pairs");
    openssl::rand::rand_bytes(&mut keys.random).expect("random bytes");
    let parts = crate::tls::hello::suite_parts(v);
    crate::tls::hello::client_hello(v, &parts[0], sni, &keys)
}
