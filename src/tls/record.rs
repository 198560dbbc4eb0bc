//! Reading TLS records: a server's first flight (ServerHello or alert) and a client's
//! ClientHello, joined across records.
//!
//! The OpenSSL error after a failed handshake does not always say what the server did (an alert
//! it sent and one we raised look alike; a failure after the server chose our version looks like
//! a refusal). The bytes the server sent do say it, so the probe decides from them first.

use tls_parser::{
    SNIType, TlsExtension, TlsMessage, TlsMessageHandshake, parse_tls_extensions,
    parse_tls_message_handshake, parse_tls_server_hello_extensions,
};

use crate::tls::TlsVersion;

const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;

/// Warning alerts read before the ServerHello, at most: a server that sends more is not
/// answering.
pub const MAX_WARNINGS: usize = 8;

const LEVEL_WARNING: u8 = 1;
const CLOSE_NOTIFY: u8 = 0;

/// What the server's first bytes say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerAnswer {
    /// Nothing was received.
    Nothing,
    /// A ServerHello (or HelloRetryRequest). Whether it chose the version a hello offered is for
    /// the caller to judge with the offer's rules (`probe::classify`).
    Hello {
        /// The version the server says it chose: `supported_versions` if present, else the
        /// version field.
        version: u16,
        /// The ServerHello's version field.
        legacy_version: u16,
        /// The version in its `supported_versions` extension, if it has one.
        supported_version: Option<u16>,
        cipher: u16,
        /// TLS 1.3: the group of its `key_share` (a ServerHello's share, or the group a
        /// HelloRetryRequest asks for).
        key_share: Option<u16>,
    },
    /// A fatal alert before any ServerHello (or a warning-level close_notify, which ends the
    /// connection just as well). Other warnings do not end the answer: see `ServerFlight`.
    Alert { level: u8, code: u8 },
    /// Bytes that are not TLS records.
    NotTls,
    /// TLS records so far, but not yet a whole ServerHello or alert: more bytes may decide.
    Incomplete,
    /// TLS records that cannot be read as a ServerHello or alert.
    Unclear(String),
}

/// The start of one side of a connection: its handshake records joined (a message may be split
/// over several), up to what stopped the walk.
struct Flight {
    handshake: Vec<u8>,
    /// Warning alerts passed on the way (not close_notify).
    warnings: Vec<u8>,
    stop: Stop,
}

enum Stop {
    /// The bytes ran out (maybe in the middle of a record).
    End,
    Alert {
        level: u8,
        code: u8,
    },
    /// Bytes that are not a TLS record.
    NotTls,
    /// More warning alerts than `MAX_WARNINGS`.
    TooManyWarnings,
}

fn first_flight(bytes: &[u8]) -> Flight {
    let mut flight = Flight {
        handshake: Vec::new(),
        warnings: Vec::new(),
        stop: Stop::End,
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        if !looks_like_record(rest) {
            flight.stop = Stop::NotTls;
            return flight;
        }
        if rest.len() < 5 {
            break;
        }
        let len = u16::from_be_bytes([rest[3], rest[4]]) as usize;
        let body = &rest[5..rest.len().min(5 + len)];
        if body.len() < len {
            // Only whole records count: half an alert says nothing yet.
            if rest[0] == CONTENT_HANDSHAKE {
                flight.handshake.extend_from_slice(body);
            }
            break;
        }
        match rest[0] {
            CONTENT_HANDSHAKE => flight.handshake.extend_from_slice(body),
            CONTENT_ALERT => {
                // A record may hold several alerts. A warning (other than close_notify) does
                // not end the handshake: a server may warn, say unrecognized_name(112) for a
                // name it does not know, and go on with its ServerHello.
                for alert in body.chunks(2) {
                    let &[level, code] = alert else { break };
                    if level == LEVEL_WARNING && code != CLOSE_NOTIFY {
                        flight.warnings.push(code);
                        if flight.warnings.len() > MAX_WARNINGS {
                            flight.stop = Stop::TooManyWarnings;
                            return flight;
                        }
                    } else {
                        flight.stop = Stop::Alert { level, code };
                        return flight;
                    }
                }
            }
            _ => {}
        }
        rest = &rest[5 + len..];
    }
    flight
}

/// The first handshake message, once it is whole.
fn first_message(handshake: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes([
        0,
        *handshake.get(1)?,
        *handshake.get(2)?,
        *handshake.get(3)?,
    ]);
    handshake.get(..4 + len as usize)
}

/// The server's first flight: its answer, and the warning alerts it sent before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerFlight {
    pub answer: ServerAnswer,
    /// Warning alerts (codes) received before the answer, in order.
    pub warnings: Vec<u8>,
}

impl ServerFlight {
    /// The warnings for people: `warning alert unrecognized_name(112)`, or `None`.
    pub fn warnings_text(&self) -> Option<String> {
        if self.warnings.is_empty() {
            return None;
        }
        let names: Vec<String> = self
            .warnings
            .iter()
            .map(|c| format!("{}({c})", crate::tls::alert_name(*c)))
            .collect();
        let s = if names.len() == 1 { "" } else { "s" };
        Some(format!(
            "the server sent warning alert{s} {} before its answer",
            names.join(", ")
        ))
    }
}

/// Read the server's first flight: handshake records are joined (a ServerHello may be split over
/// several), warning alerts are noted and passed over (at most `MAX_WARNINGS`), and the first
/// ServerHello or fatal alert decides.
pub fn server_flight(bytes: &[u8]) -> ServerFlight {
    if bytes.is_empty() {
        return ServerFlight {
            answer: ServerAnswer::Nothing,
            warnings: Vec::new(),
        };
    }
    let flight = first_flight(bytes);
    let answer = if let Some(msg) = first_message(&flight.handshake) {
        hello_in(msg)
    } else {
        match flight.stop {
            Stop::Alert { level, code } => ServerAnswer::Alert { level, code },
            Stop::NotTls if flight.handshake.is_empty() && flight.warnings.is_empty() => {
                ServerAnswer::NotTls
            }
            Stop::NotTls => {
                ServerAnswer::Unclear("a record that is not TLS after the first".into())
            }
            Stop::TooManyWarnings => ServerAnswer::Unclear(format!(
                "more than {MAX_WARNINGS} warning alerts and no ServerHello"
            )),
            Stop::End => ServerAnswer::Incomplete,
        }
    };
    ServerFlight {
        answer,
        warnings: flight.warnings,
    }
}

/// True when `bytes` are whole alert records holding warnings only: a server that sent just
/// these and closed has given no answer.
pub fn only_warnings(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 5 || rest[0] != CONTENT_ALERT || rest[1] != 3 {
            return false;
        }
        let len = u16::from_be_bytes([rest[3], rest[4]]) as usize;
        let Some(body) = rest.get(5..5 + len) else {
            return false;
        };
        if len == 0 || !len.is_multiple_of(2) {
            return false;
        }
        if body
            .chunks(2)
            .any(|a| a[0] != LEVEL_WARNING || a[1] == CLOSE_NOTIFY)
        {
            return false;
        }
        rest = &rest[5 + len..];
    }
    !bytes.is_empty()
}

/// What the server's first flight says (see [`server_flight`]).
pub fn server_answer(bytes: &[u8]) -> ServerAnswer {
    server_flight(bytes).answer
}

fn looks_like_record(b: &[u8]) -> bool {
    (20..=24).contains(&b[0]) && (b.len() < 2 || b[1] == 3)
}

/// A whole first handshake message, read as a ServerHello (or HelloRetryRequest).
fn hello_in(msg: &[u8]) -> ServerAnswer {
    match parse_tls_message_handshake(msg) {
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) => {
            let mut supported_version = None;
            let mut key_share = None;
            if let Some(ext) = sh.ext {
                match parse_tls_server_hello_extensions(ext) {
                    Ok((_, exts)) => {
                        for e in exts {
                            if let TlsExtension::KeyShare(ks) = &e
                                && ks.len() >= 2
                            {
                                key_share = Some(u16::from_be_bytes([ks[0], ks[1]]));
                            }
                            if let TlsExtension::SupportedVersions(v) = e {
                                // A ServerHello names one version (RFC 8446 4.2.1).
                                match v.as_slice() {
                                    [one] => supported_version = Some(one.0),
                                    _ => {
                                        return ServerAnswer::Unclear(format!(
                                            "a ServerHello whose supported_versions holds {} \
                                             versions",
                                            v.len()
                                        ));
                                    }
                                }
                            }
                        }
                    }
                    Err(_) => {
                        return ServerAnswer::Unclear(
                            "a ServerHello whose extensions could not be parsed".into(),
                        );
                    }
                }
            }
            ServerAnswer::Hello {
                version: supported_version.unwrap_or(sh.version.0),
                legacy_version: sh.version.0,
                supported_version,
                cipher: sh.cipher.0,
                key_share,
            }
        }
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::HelloRetryRequest(hrr)))) => {
            // The draft form of TLS 1.3's HelloRetryRequest (its own message type), whose
            // version field carries a draft version.
            ServerAnswer::Hello {
                version: hrr.version.0,
                legacy_version: hrr.version.0,
                supported_version: None,
                cipher: hrr.cipher.0,
                key_share: None,
            }
        }
        Ok(_) => ServerAnswer::Unclear(format!(
            "the server's first handshake message is type {}, not a ServerHello",
            msg[0]
        )),
        Err(_) => ServerAnswer::Unclear("a ServerHello that could not be parsed".into()),
    }
}

/// What a TLS 1.0-1.2 server's first flight says about its key exchange, past its ServerHello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyExchangeSeen {
    /// The flight so far ends before its ServerKeyExchange or ServerHelloDone.
    NotYet,
    /// A ServerHelloDone and no ServerKeyExchange (RSA key exchange).
    None,
    /// An ECDHE ServerKeyExchange with a named curve.
    Curve {
        group: u16,
        /// TLS 1.2: the signature algorithm it is signed with.
        signature: Option<u16>,
    },
    /// A DHE ServerKeyExchange: the server's prime.
    Dh {
        prime: Vec<u8>,
        signature: Option<u16>,
    },
    /// A ServerKeyExchange that could not be read (explicit curves, a PSK hint, ...).
    Other,
}

const HS_SERVER_KEY_EXCHANGE: u8 = 12;
const HS_SERVER_HELLO_DONE: u8 = 14;

/// Read the ServerKeyExchange of a TLS 1.0-1.2 flight. `dhe` says whether the chosen suite
/// agrees the key over a finite field (else an elliptic curve); `tls12` whether the signature
/// names its algorithm (TLS 1.2) and `anonymous` whether it is unsigned.
pub fn server_key_exchange(
    bytes: &[u8],
    dhe: bool,
    tls12: bool,
    anonymous: bool,
) -> KeyExchangeSeen {
    let flight = first_flight(bytes);
    let mut rest = flight.handshake.as_slice();
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([0, rest[1], rest[2], rest[3]]) as usize;
        let Some(body) = rest.get(4..4 + len) else {
            return KeyExchangeSeen::NotYet;
        };
        match rest[0] {
            HS_SERVER_HELLO_DONE => return KeyExchangeSeen::None,
            HS_SERVER_KEY_EXCHANGE => return read_key_exchange(body, dhe, tls12 && !anonymous),
            _ => {}
        }
        rest = &rest[4 + len..];
    }
    KeyExchangeSeen::NotYet
}

fn read_key_exchange(b: &[u8], dhe: bool, signed_with_name: bool) -> KeyExchangeSeen {
    let vec16 = |b: &[u8]| -> Option<(Vec<u8>, usize)> {
        let len = u16::from_be_bytes([*b.first()?, *b.get(1)?]) as usize;
        Some((b.get(2..2 + len)?.to_vec(), 2 + len))
    };
    let sig_at = |b: &[u8], at: usize| -> Option<u16> {
        if !signed_with_name {
            return None;
        }
        Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
    };
    if dhe {
        let Some((prime, a)) = vec16(b) else {
            return KeyExchangeSeen::Other;
        };
        let Some((_, g)) = vec16(&b[a..]) else {
            return KeyExchangeSeen::Other;
        };
        let Some((_, y)) = vec16(&b[a + g..]) else {
            return KeyExchangeSeen::Other;
        };
        KeyExchangeSeen::Dh {
            prime,
            signature: sig_at(b, a + g + y),
        }
    } else {
        // ECParameters: curve_type named_curve(3), then the group; then the point.
        match b {
            [3, hi, lo, point_len, ..] => {
                let at = 4 + *point_len as usize;
                KeyExchangeSeen::Curve {
                    group: u16::from_be_bytes([*hi, *lo]),
                    signature: sig_at(b, at),
                }
            }
            _ => KeyExchangeSeen::Other,
        }
    }
}

/// What a ClientHello offers: its legacy version field, the `supported_versions` list, the
/// cipher suites and the server name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOffer {
    pub legacy_version: u16,
    pub supported_versions: Vec<u16>,
    pub ciphers: Vec<u16>,
    pub sni: Option<String>,
}

impl ClientOffer {
    /// True when this hello lets the server pick this version (wire value) and no other.
    pub fn offers_only(&self, wire: u16) -> bool {
        if self.supported_versions.is_empty() {
            self.legacy_version == wire
        } else {
            self.supported_versions == [wire]
        }
    }

    /// The highest version offered: from `supported_versions` (GREASE values aside) where
    /// present, else the legacy version field.
    pub fn highest(&self) -> u16 {
        self.supported_versions
            .iter()
            .copied()
            .filter(|v| !is_grease(*v))
            .max()
            .unwrap_or(self.legacy_version)
    }
}

/// GREASE values (RFC 8701) look like versions and mean nothing.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// The start of a client's side of a connection, read for its ClientHello.
#[derive(Debug, PartialEq, Eq)]
pub enum HelloRead {
    /// Not enough bytes yet.
    NeedMore,
    /// Not a TLS ClientHello.
    NotTls,
    Hello(ClientOffer),
}

/// Read a ClientHello, joined across records.
pub fn read_client_hello(bytes: &[u8]) -> HelloRead {
    let flight = first_flight(bytes);
    let Some(msg) = first_message(&flight.handshake) else {
        return match flight.stop {
            Stop::End => HelloRead::NeedMore,
            _ => HelloRead::NotTls,
        };
    };
    match parse_tls_message_handshake(msg) {
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)))) => {
            let mut supported_versions = Vec::new();
            let mut sni = None;
            if let Some(ext) = ch.ext
                && let Ok((_, exts)) = parse_tls_extensions(ext)
            {
                for e in exts {
                    match e {
                        TlsExtension::SupportedVersions(v) => {
                            supported_versions = v.iter().map(|v| v.0).collect();
                        }
                        TlsExtension::SNI(names) => {
                            sni = names
                                .iter()
                                .find(|(t, _)| *t == SNIType::HostName)
                                .map(|(_, n)| String::from_utf8_lossy(n).into_owned());
                        }
                        _ => {}
                    }
                }
            }
            HelloRead::Hello(ClientOffer {
                legacy_version: ch.version.0,
                supported_versions,
                ciphers: ch.ciphers.iter().map(|c| c.0).collect(),
                sni,
            })
        }
        _ => HelloRead::NotTls,
    }
}

/// Read the ClientHello a client wrote, if the bytes hold a whole one.
pub fn client_offer(bytes: &[u8]) -> Option<ClientOffer> {
    match read_client_hello(bytes) {
        HelloRead::Hello(offer) => Some(offer),
        _ => None,
    }
}

/// The name of a version number from the wire: `TLS 1.2`, or `version 0x7f12`.
pub fn version_name(v: u16) -> String {
    match TlsVersion::from_wire(v) {
        Some(t) => t.name().to_string(),
        None => format!("version 0x{v:04x}"),
    }
}

/// The IANA name of a cipher suite code point.
pub fn cipher_name(id: u16) -> String {
    match tls_parser::TlsCipherSuite::from_id(id) {
        Some(c) => c.name.to_string(),
        None => format!("0x{id:04X}"),
    }
}

/// The first bytes, shown safely: printable ASCII as text, the rest as hex.
pub fn show_bytes(b: &[u8]) -> String {
    let head = &b[..b.len().min(16)];
    if head
        .iter()
        .all(|c| c.is_ascii_graphic() || *c == b' ' || *c == b'\r' || *c == b'\n')
    {
        let text: String = head
            .iter()
            .map(|&c| {
                if c == b'\r' || c == b'\n' {
                    ' '
                } else {
                    c as char
                }
            })
            .collect();
        format!("\"{}\"", text.trim_end())
    } else {
        head.iter()
            .map(|c| format!("{c:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A TLS 1.2 ServerHello choosing TLS_RSA_WITH_AES_128_CBC_SHA (0x002f), no extensions.
    fn server_hello(version: [u8; 2], ext: &[u8]) -> Vec<u8> {
        let mut body = vec![version[0], version[1]];
        body.extend_from_slice(&[0u8; 32]);
        body.push(0); // session id
        body.extend_from_slice(&[0x00, 0x2f, 0x00]);
        if !ext.is_empty() {
            body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
            body.extend_from_slice(ext);
        }
        let mut hs = vec![2, 0, 0, body.len() as u8];
        hs.extend_from_slice(&body);
        hs
    }

    fn record(content: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![content, 3, 3];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    #[test]
    fn reads_a_server_hello() {
        let b = record(22, &server_hello([3, 1], &[]));
        assert_eq!(
            server_answer(&b),
            ServerAnswer::Hello {
                version: 0x0301,
                legacy_version: 0x0301,
                supported_version: None,
                cipher: 0x002f,
                key_share: None,
            }
        );
    }

    #[test]
    fn tls13_version_comes_from_supported_versions() {
        let ext = [0x00, 0x2b, 0x00, 0x02, 0x03, 0x04];
        let b = record(22, &server_hello([3, 3], &ext));
        assert_eq!(
            server_answer(&b),
            ServerAnswer::Hello {
                version: 0x0304,
                legacy_version: 0x0303,
                supported_version: Some(0x0304),
                cipher: 0x002f,
                key_share: None,
            }
        );
    }

    #[test]
    fn warning_alerts_before_the_server_hello_are_passed_over_and_kept() {
        // unrecognized_name(112) as a warning, then the ServerHello: what GnuTLS servers send
        // to a name they do not know.
        let mut b = record(21, &[1, 112]);
        b.extend(record(22, &server_hello([3, 3], &[])));
        let f = server_flight(&b);
        assert!(
            matches!(
                f.answer,
                ServerAnswer::Hello {
                    version: 0x0303,
                    ..
                }
            ),
            "{f:?}"
        );
        assert_eq!(f.warnings, [112]);
        assert!(
            f.warnings_text()
                .unwrap()
                .contains("unrecognized_name(112)")
        );
        // The warning alone: nothing decided yet, more may come.
        let f = server_flight(&record(21, &[1, 112]));
        assert_eq!(f.answer, ServerAnswer::Incomplete);
        // A warning then a fatal alert: the fatal one decides.
        let mut b = record(21, &[1, 112, 2, 70]);
        b.extend(record(21, &[2, 40]));
        let f = server_flight(&b);
        assert_eq!(f.answer, ServerAnswer::Alert { level: 2, code: 70 });
        assert_eq!(f.warnings, [112]);
        // A warning-level close_notify ends the connection.
        assert_eq!(
            server_answer(&record(21, &[1, 0])),
            ServerAnswer::Alert { level: 1, code: 0 }
        );
        // Bounded: a server that only warns is not answering.
        let many: Vec<u8> = (0..=MAX_WARNINGS)
            .flat_map(|_| record(21, &[1, 112]))
            .collect();
        assert!(matches!(server_answer(&many), ServerAnswer::Unclear(_)));
        // Half an alert record: undecided.
        assert_eq!(
            server_answer(&[21, 3, 3, 0, 2, 2]),
            ServerAnswer::Incomplete
        );
    }

    #[test]
    fn a_server_hello_split_over_records_is_joined() {
        let hs = server_hello([3, 2], &[]);
        let mut b = record(22, &hs[..10]);
        b.extend(record(22, &hs[10..]));
        assert!(matches!(
            server_answer(&b),
            ServerAnswer::Hello {
                version: 0x0302,
                ..
            }
        ));
        // Only the first part: undecided, never a refusal.
        assert_eq!(
            server_answer(&record(22, &hs[..10])),
            ServerAnswer::Incomplete
        );
    }

    #[test]
    fn alerts_garbage_and_nothing() {
        assert_eq!(
            server_answer(&record(21, &[2, 70])),
            ServerAnswer::Alert { level: 2, code: 70 }
        );
        assert_eq!(
            server_answer(b"HTTP/1.1 400 Bad Request\r\n"),
            ServerAnswer::NotTls
        );
        assert_eq!(server_answer(&[]), ServerAnswer::Nothing);
        assert_eq!(server_answer(&[22, 3, 1]), ServerAnswer::Incomplete);
    }

    #[test]
    fn grease_is_not_a_version() {
        assert!(is_grease(0x0a0a) && is_grease(0xfafa));
        assert!(!is_grease(0x0304));
    }

    #[test]
    fn shows_bytes_readably() {
        assert_eq!(show_bytes(b"HTTP/1.1 400\r\n"), "\"HTTP/1.1 400\"");
        assert_eq!(show_bytes(&[0x30, 0x0c, 0x02]), "30 0c 02");
    }
}
