//! What a server chose, read in more detail than `record::server_flight` needs: whether its
//! ServerHello is a HelloRetryRequest, the group of its key exchange, and (TLS 1.2) the
//! signature algorithm of its ServerKeyExchange. `predict` names what a client lacks from these.

use tls_parser::{
    TlsCipherKx, TlsCipherSuite, TlsExtension, TlsMessage, TlsMessageHandshake,
    parse_tls_message_handshake, parse_tls_server_hello_extensions,
};

/// SHA-256("HelloRetryRequest"): the random of a TLS 1.3 HelloRetryRequest (RFC 8446 4.1.3).
pub const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

const HS_SERVER_HELLO: u8 = 2;
const HS_SERVER_KEY_EXCHANGE: u8 = 12;
const HS_SERVER_HELLO_DONE: u8 = 14;

/// What the server's ServerHello (and, for TLS 1.2, its ServerKeyExchange) chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerChoice {
    /// The version chosen (`supported_versions` where present, else the version field).
    pub version: u16,
    pub suite: u16,
    /// A TLS 1.3 HelloRetryRequest: the server chose TLS 1.3 and this suite, and asks for a
    /// key share of `group`.
    pub hello_retry: bool,
    /// The key exchange group: the ServerHello's or HelloRetryRequest's key_share (TLS 1.3),
    /// or the ServerKeyExchange's named curve (TLS 1.2 ECDHE).
    pub group: Option<u16>,
    /// The ServerKeyExchange's signature algorithm (TLS 1.2 ECDHE and DHE).
    pub signature: Option<u16>,
    /// The server's first flight is whole (its ServerHelloDone was read, or it is TLS 1.3).
    pub flight_complete: bool,
}

/// The handshake messages at the start of a server's bytes: records joined, each message
/// whole; reading stops at the first record that is not a handshake.
fn messages(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut joined = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 5 && rest[1] == 3 {
        let len = u16::from_be_bytes([rest[3], rest[4]]) as usize;
        let Some(body) = rest.get(5..5 + len) else {
            break;
        };
        match rest[0] {
            22 => joined.extend_from_slice(body),
            // Warning alerts before the ServerHello are passed over, as `record` does.
            21 if body.len() == 2 && body[0] == 1 && body[1] != 0 => {}
            _ => break,
        }
        rest = &rest[5 + len..];
    }
    let mut out = Vec::new();
    let mut at = 0;
    while joined.len() >= at + 4 {
        let len = u32::from_be_bytes([0, joined[at + 1], joined[at + 2], joined[at + 3]]) as usize;
        let Some(msg) = joined.get(at..at + 4 + len) else {
            break;
        };
        out.push((msg[0], msg.to_vec()));
        at += 4 + len;
    }
    out
}

/// Read the server's choice from its first bytes, once the ServerHello is whole.
pub fn server_choice(bytes: &[u8]) -> Option<ServerChoice> {
    let msgs = messages(bytes);
    let (kind, first) = msgs.first()?;
    if *kind != HS_SERVER_HELLO {
        return None;
    }
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) =
        parse_tls_message_handshake(first)
    else {
        return None;
    };
    let mut version = sh.version.0;
    let mut group = None;
    if let Some(ext) = sh.ext
        && let Ok((_, exts)) = parse_tls_server_hello_extensions(ext)
    {
        for e in exts {
            match e {
                TlsExtension::SupportedVersions(v) if v.len() == 1 => version = v[0].0,
                // A ServerHello's key_share is one entry (group, key); a HelloRetryRequest's
                // is the group alone.
                TlsExtension::KeyShare(b) if b.len() >= 2 => {
                    group = Some(u16::from_be_bytes([b[0], b[1]]));
                }
                _ => {}
            }
        }
    }
    let hello_retry = sh.random == HELLO_RETRY_RANDOM;
    let suite = sh.cipher.0;
    let mut signature = None;
    let mut flight_complete = version >= 0x0304;
    for (kind, msg) in &msgs[1..] {
        match *kind {
            HS_SERVER_KEY_EXCHANGE => {
                let (g, s) = key_exchange(suite, &msg[4..]);
                group = group.or(g);
                signature = s;
            }
            HS_SERVER_HELLO_DONE => flight_complete = true,
            _ => {}
        }
    }
    Some(ServerChoice {
        version,
        suite,
        hello_retry,
        group,
        signature,
        flight_complete,
    })
}

/// The named curve and the signature algorithm of a TLS 1.2 ServerKeyExchange body.
fn key_exchange(suite: u16, body: &[u8]) -> (Option<u16>, Option<u16>) {
    let kx = TlsCipherSuite::from_id(suite).map(|c| c.kx);
    let params_end = match kx {
        Some(TlsCipherKx::Ecdhe) => {
            // curve_type named_curve(3), group, then the public point with a 1-byte length.
            if body.first() != Some(&3) || body.len() < 4 {
                return (None, None);
            }
            let group = u16::from_be_bytes([body[1], body[2]]);
            let end = 4 + body[3] as usize;
            return (Some(group), sigalg_at(body, end));
        }
        Some(TlsCipherKx::Dhe) => {
            // p, g and Ys, each with a 2-byte length.
            let mut at = 0;
            for _ in 0..3 {
                let Some(l) = body.get(at..at + 2) else {
                    return (None, None);
                };
                at += 2 + u16::from_be_bytes([l[0], l[1]]) as usize;
            }
            at
        }
        _ => return (None, None),
    };
    (None, sigalg_at(body, params_end))
}

fn sigalg_at(body: &[u8], at: usize) -> Option<u16> {
    let b = body.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(content: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![content, 3, 3];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(body);
        m
    }

    fn server_hello(random: [u8; 32], suite: u16, ext: &[u8]) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&random);
        b.push(0);
        b.extend_from_slice(&suite.to_be_bytes());
        b.push(0);
        b.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        b.extend_from_slice(ext);
        message(2, &b)
    }

    #[test]
    fn a_hello_retry_request_names_its_group() {
        // supported_versions TLS 1.3, key_share asking for P-256.
        let ext = [
            0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, 0x00, 0x33, 0x00, 0x02, 0x00, 0x17,
        ];
        let b = record(22, &server_hello(HELLO_RETRY_RANDOM, 0x1301, &ext));
        let c = server_choice(&b).unwrap();
        assert!(c.hello_retry);
        assert_eq!((c.version, c.suite, c.group), (0x0304, 0x1301, Some(23)));
    }

    #[test]
    fn tls12_ecdhe_group_and_signature_come_from_the_key_exchange() {
        let mut flight = server_hello([1; 32], 0xc02f, &[]);
        flight.extend(message(11, &[0, 0, 0]));
        // named_curve x25519, a 32-byte point, rsa_pss_rsae_sha256, a short signature.
        let mut ske = vec![3, 0, 29, 32];
        ske.extend_from_slice(&[9; 32]);
        ske.extend_from_slice(&[0x08, 0x04, 0, 2, 1, 2]);
        flight.extend(message(12, &ske));
        flight.extend(message(14, &[]));
        // Split over two records, as servers do.
        let mut b = record(22, &flight[..50]);
        b.extend(record(22, &flight[50..]));
        let c = server_choice(&b).unwrap();
        assert_eq!(
            c,
            ServerChoice {
                version: 0x0303,
                suite: 0xc02f,
                hello_retry: false,
                group: Some(29),
                signature: Some(0x0804),
                flight_complete: true,
            }
        );
        // The ServerHello alone: the choice, not yet the details.
        let c = server_choice(&record(22, &flight[..40 + 6])).unwrap();
        assert_eq!((c.group, c.flight_complete), (None, false));
        assert!(server_choice(&record(21, &[2, 40])).is_none());
    }
}
