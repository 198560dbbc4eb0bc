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

/// What the server's first bytes say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerAnswer {
    /// Nothing was received.
    Nothing,
    /// A ServerHello (or HelloRetryRequest) choosing this version (wire value) and cipher suite.
    Hello { version: u16, cipher: u16 },
    /// An alert before any ServerHello.
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
}

fn first_flight(bytes: &[u8]) -> Flight {
    let mut handshake = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if !looks_like_record(rest) {
            return Flight {
                handshake,
                stop: Stop::NotTls,
            };
        }
        if rest.len() < 5 {
            break;
        }
        let len = u16::from_be_bytes([rest[3], rest[4]]) as usize;
        let body = &rest[5..rest.len().min(5 + len)];
        match rest[0] {
            CONTENT_HANDSHAKE => handshake.extend_from_slice(body),
            CONTENT_ALERT if body.len() >= 2 => {
                return Flight {
                    handshake,
                    stop: Stop::Alert {
                        level: body[0],
                        code: body[1],
                    },
                };
            }
            _ => {}
        }
        if body.len() < len {
            break;
        }
        rest = &rest[5 + len..];
    }
    Flight {
        handshake,
        stop: Stop::End,
    }
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

/// Read the server's first flight: handshake records are joined (a ServerHello may be split over
/// several), and the first ServerHello or alert decides.
pub fn server_answer(bytes: &[u8]) -> ServerAnswer {
    if bytes.is_empty() {
        return ServerAnswer::Nothing;
    }
    let flight = first_flight(bytes);
    if let Some(msg) = first_message(&flight.handshake) {
        return hello_in(msg);
    }
    match flight.stop {
        Stop::Alert { level, code } => ServerAnswer::Alert { level, code },
        Stop::NotTls if flight.handshake.is_empty() => ServerAnswer::NotTls,
        Stop::NotTls => ServerAnswer::Unclear("a record that is not TLS after the first".into()),
        Stop::End => ServerAnswer::Incomplete,
    }
}

fn looks_like_record(b: &[u8]) -> bool {
    (20..=24).contains(&b[0]) && (b.len() < 2 || b[1] == 3)
}

/// A whole first handshake message, read as a ServerHello (or HelloRetryRequest).
fn hello_in(msg: &[u8]) -> ServerAnswer {
    match parse_tls_message_handshake(msg) {
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) => {
            let mut version = sh.version.0;
            if let Some(ext) = sh.ext
                && let Ok((_, exts)) = parse_tls_server_hello_extensions(ext)
            {
                for e in exts {
                    if let TlsExtension::SupportedVersions(v) = e
                        && let Some(first) = v.first()
                    {
                        version = first.0;
                    }
                }
            }
            ServerAnswer::Hello {
                version,
                cipher: sh.cipher.0,
            }
        }
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::HelloRetryRequest(hrr)))) => {
            ServerAnswer::Hello {
                version: hrr.version.0,
                cipher: hrr.cipher.0,
            }
        }
        Ok(_) => ServerAnswer::Unclear(format!(
            "the server's first handshake message is type {}, not a ServerHello",
            msg[0]
        )),
        Err(_) => ServerAnswer::Unclear("a ServerHello that could not be parsed".into()),
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
                cipher: 0x002f
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
                cipher: 0x002f
            }
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
