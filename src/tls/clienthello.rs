//! A client's ClientHello in full: read from the wire (with `tls-parser`), named for people,
//! fingerprinted as JA3 and JA4 do, recognised as tlsmatrix's own, and written back to bytes.
//!
//! # Fingerprints
//!
//! - **JA3** (Salesforce; Wireshark's `tls.handshake.ja3_full` and `ja3`, Zeek, Suricata):
//!   `version,suites,extensions,groups,point formats` in decimal and in the hello's order, each
//!   list joined by `-`, GREASE values left out; the fingerprint is the MD5 of that string.
//! - **JA4** (FoxIO's open specification, TLS client part): `t`, the highest version offered
//!   (`supported_versions` where present, else the version field), `d` with a server name or
//!   `i` without, the number of suites and of extensions (GREASE left out, two digits, at most
//!   99), the first and last characters of the first ALPN value (`00` for none); then the first
//!   12 hex digits of the SHA-256 of the sorted suite list, and of the sorted extension list
//!   without SNI and ALPN followed by `_` and the signature algorithms in their order.
//!
//! # tlsmatrix's own hellos
//!
//! Every hello the wire engine and `predict` write carries a mark in its random: the last 8
//! bytes are the first 8 bytes of SHA-256("tlsmatrix probe" || the first 24). A client's random
//! matches by chance once in 2^64 hellos. The OpenSSL engine cannot choose its random, but its
//! hellos are fixed by tlsmatrix's settings: one version, and the supported groups (and, for TLS
//! 1.2 and 1.3, the signature algorithms) exactly as `probe::contexts` configures them, in its
//! order, which no client library uses by default. [`ClientHello::is_tlsmatrix_probe`] says
//! whether a hello is either.

use openssl::hash::{MessageDigest, hash};
use tls_parser::{
    SNIType, TlsExtension, TlsMessage, TlsMessageHandshake, parse_tls_client_hello_extension,
    parse_tls_message_handshake,
};

use crate::tls::record::is_grease;

pub const EXT_SERVER_NAME: u16 = 0;
pub const EXT_STATUS_REQUEST: u16 = 5;
pub const EXT_SUPPORTED_GROUPS: u16 = 10;
pub const EXT_EC_POINT_FORMATS: u16 = 11;
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
pub const EXT_ALPN: u16 = 16;
pub const EXT_PADDING: u16 = 21;
pub const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
pub const EXT_SESSION_TICKET: u16 = 35;
pub const EXT_PRE_SHARED_KEY: u16 = 41;
pub const EXT_EARLY_DATA: u16 = 42;
pub const EXT_SUPPORTED_VERSIONS: u16 = 43;
pub const EXT_COOKIE: u16 = 44;
pub const EXT_PSK_KEY_EXCHANGE_MODES: u16 = 45;
pub const EXT_KEY_SHARE: u16 = 51;
pub const EXT_RENEGOTIATION_INFO: u16 = 0xff01;

/// TLS_FALLBACK_SCSV (RFC 7507): a client sends it when it retries with a lower version.
pub const SCSV_FALLBACK: u16 = 0x5600;

/// One extension as it was sent: its type and its body.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Extension {
    pub kind: u16,
    pub body: Vec<u8>,
}

/// A ClientHello handshake message, field by field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHello {
    /// The version field (`legacy_version` in TLS 1.3).
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    /// Cipher suites in the client's order, GREASE and signalling values included.
    pub suites: Vec<u16>,
    pub compression: Vec<u8>,
    /// Extensions in the client's order; `None` when the hello has no extensions block at all
    /// (SSLv3-era hellos), which is not the same as an empty one.
    pub extensions: Option<Vec<Extension>>,
}

/// Why bytes are not a ClientHello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelloError {
    /// The message is not whole yet.
    Incomplete,
    /// Not a ClientHello, or one that cannot be read.
    Malformed(String),
}

impl ClientHello {
    /// Read a ClientHello handshake message (type 1, its length, its body).
    pub fn parse(message: &[u8]) -> Result<ClientHello, HelloError> {
        if message.len() < 4 {
            return Err(HelloError::Incomplete);
        }
        let len = u32::from_be_bytes([0, message[1], message[2], message[3]]) as usize;
        if message.len() < 4 + len {
            return Err(HelloError::Incomplete);
        }
        let message = &message[..4 + len];
        let ch = match parse_tls_message_handshake(message) {
            Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)))) => ch,
            Ok(_) => return Err(HelloError::Malformed("not a ClientHello".into())),
            Err(_) => return Err(HelloError::Malformed("unreadable ClientHello".into())),
        };
        let random: [u8; 32] = ch
            .random
            .try_into()
            .map_err(|_| HelloError::Malformed("a random that is not 32 bytes".into()))?;
        let extensions = match ch.ext {
            None => None,
            Some(mut rest) => {
                let mut list = Vec::new();
                while !rest.is_empty() {
                    if rest.len() < 4 {
                        return Err(HelloError::Malformed("a cut extension".into()));
                    }
                    let kind = u16::from_be_bytes([rest[0], rest[1]]);
                    let n = u16::from_be_bytes([rest[2], rest[3]]) as usize;
                    let Some(body) = rest.get(4..4 + n) else {
                        return Err(HelloError::Malformed(format!(
                            "extension {kind} is longer than the hello"
                        )));
                    };
                    list.push(Extension {
                        kind,
                        body: body.to_vec(),
                    });
                    rest = &rest[4 + n..];
                }
                Some(list)
            }
        };
        Ok(ClientHello {
            legacy_version: ch.version.0,
            random,
            session_id: ch.session_id.unwrap_or_default().to_vec(),
            suites: ch.ciphers.iter().map(|c| c.0).collect(),
            compression: ch.comp.iter().map(|c| c.0).collect(),
            extensions,
        })
    }

    /// Read the ClientHello at the start of a client's TLS bytes (records; a hello may span
    /// several).
    pub fn from_records(bytes: &[u8]) -> Result<ClientHello, HelloError> {
        let mut handshake = Vec::new();
        let mut rest = bytes;
        while rest.len() >= 5 {
            if rest[0] != 22 || rest[1] != 3 {
                return Err(HelloError::Malformed("not a TLS handshake record".into()));
            }
            let len = u16::from_be_bytes([rest[3], rest[4]]) as usize;
            let body = &rest[5..rest.len().min(5 + len)];
            handshake.extend_from_slice(body);
            if body.len() < len {
                break;
            }
            rest = &rest[5 + len..];
            if let Ok(h) = ClientHello::parse(&handshake) {
                return Ok(h);
            }
        }
        ClientHello::parse(&handshake)
    }

    /// The handshake message, as it would go on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(512);
        put16(&mut body, self.legacy_version);
        body.extend_from_slice(&self.random);
        body.push(self.session_id.len() as u8);
        body.extend_from_slice(&self.session_id);
        put16(&mut body, (self.suites.len() * 2) as u16);
        for s in &self.suites {
            put16(&mut body, *s);
        }
        body.push(self.compression.len() as u8);
        body.extend_from_slice(&self.compression);
        if let Some(exts) = &self.extensions {
            let total: usize = exts.iter().map(|e| 4 + e.body.len()).sum();
            put16(&mut body, total as u16);
            for e in exts {
                put16(&mut body, e.kind);
                put16(&mut body, e.body.len() as u16);
                body.extend_from_slice(&e.body);
            }
        }
        let mut msg = Vec::with_capacity(body.len() + 4);
        msg.push(1);
        msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        msg.extend_from_slice(&body);
        msg
    }

    /// The hello in one or more handshake records (TLS 1.0 on the record layer, as clients
    /// send their first flight).
    pub fn records(&self) -> Vec<u8> {
        let msg = self.encode();
        let mut out = Vec::with_capacity(msg.len() + 10);
        for chunk in msg.chunks(16384) {
            out.push(22);
            put16(&mut out, 0x0301);
            put16(&mut out, chunk.len() as u16);
            out.extend_from_slice(chunk);
        }
        out
    }

    pub fn extension(&self, kind: u16) -> Option<&[u8]> {
        self.extensions
            .as_ref()?
            .iter()
            .find(|e| e.kind == kind)
            .map(|e| e.body.as_slice())
    }

    pub fn has_extension(&self, kind: u16) -> bool {
        self.extension(kind).is_some()
    }

    /// The extension types in order, GREASE left out.
    pub fn extension_types(&self) -> Vec<u16> {
        self.extensions
            .iter()
            .flatten()
            .map(|e| e.kind)
            .filter(|k| !is_grease(*k))
            .collect()
    }

    /// Decode one extension with tls-parser and hand the result to `f`.
    fn decoded<T>(&self, kind: u16, f: impl FnOnce(TlsExtension<'_>) -> T) -> Option<T> {
        let body = self.extension(kind)?;
        // tls-parser reads an extension with its header.
        let mut raw = Vec::with_capacity(body.len() + 4);
        put16(&mut raw, kind);
        put16(&mut raw, body.len() as u16);
        raw.extend_from_slice(body);
        let (_, e) = parse_tls_client_hello_extension(&raw).ok()?;
        Some(f(e))
    }

    /// The `supported_versions` list as sent (GREASE included), if the hello has one.
    pub fn supported_versions(&self) -> Option<Vec<u16>> {
        let body = self.extension(EXT_SUPPORTED_VERSIONS)?;
        let n = *body.first()? as usize;
        Some(u16_list(body.get(1..1 + n)?))
    }

    /// The versions offered, newest first, GREASE left out: the `supported_versions` list, or
    /// the version field alone for a hello without it (the client may also accept older
    /// versions, which the hello does not say).
    pub fn versions(&self) -> Vec<u16> {
        let mut v: Vec<u16> = match self.supported_versions() {
            Some(list) => list.into_iter().filter(|v| !is_grease(*v)).collect(),
            None => vec![self.legacy_version],
        };
        v.sort_unstable_by(|a, b| b.cmp(a));
        v.dedup();
        v
    }

    /// The highest version offered.
    pub fn highest(&self) -> u16 {
        self.versions()
            .first()
            .copied()
            .unwrap_or(self.legacy_version)
    }

    /// Supported groups, in order, GREASE included.
    pub fn groups(&self) -> Vec<u16> {
        self.extension(EXT_SUPPORTED_GROUPS)
            .and_then(|b| b.get(2..))
            .map(u16_list)
            .unwrap_or_default()
    }

    pub fn point_formats(&self) -> Vec<u8> {
        self.extension(EXT_EC_POINT_FORMATS)
            .and_then(|b| b.get(1..))
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    }

    /// Signature algorithms, in order, GREASE included.
    pub fn signature_algorithms(&self) -> Vec<u16> {
        self.extension(EXT_SIGNATURE_ALGORITHMS)
            .and_then(|b| b.get(2..))
            .map(u16_list)
            .unwrap_or_default()
    }

    /// The ALPN protocol names, in order.
    pub fn alpn(&self) -> Vec<Vec<u8>> {
        self.decoded(EXT_ALPN, |e| match e {
            TlsExtension::ALPN(list) => list.into_iter().map(<[u8]>::to_vec).collect(),
            _ => Vec::new(),
        })
        .unwrap_or_default()
    }

    /// The host name in the server_name extension.
    pub fn sni(&self) -> Option<String> {
        self.decoded(EXT_SERVER_NAME, |e| match e {
            TlsExtension::SNI(names) => names
                .iter()
                .find(|(t, _)| *t == SNIType::HostName)
                .map(|(_, n)| String::from_utf8_lossy(n).into_owned()),
            _ => None,
        })
        .flatten()
    }

    /// The groups the key_share extension carries shares for, in order.
    pub fn key_share_groups(&self) -> Vec<u16> {
        self.key_shares().into_iter().map(|(g, _)| g).collect()
    }

    /// The key shares: (group, key exchange bytes).
    pub fn key_shares(&self) -> Vec<(u16, Vec<u8>)> {
        let Some(body) = self.extension(EXT_KEY_SHARE) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut rest = body.get(2..).unwrap_or_default();
        while rest.len() >= 4 {
            let group = u16::from_be_bytes([rest[0], rest[1]]);
            let n = u16::from_be_bytes([rest[2], rest[3]]) as usize;
            let Some(key) = rest.get(4..4 + n) else { break };
            out.push((group, key.to_vec()));
            rest = &rest[4 + n..];
        }
        out
    }

    /// Whether the hello sends TLS_FALLBACK_SCSV: a retry with a lower version.
    pub fn signals_fallback(&self) -> bool {
        self.suites.contains(&SCSV_FALLBACK)
    }

    /// The JA3 string: `version,suites,extensions,groups,point formats`.
    pub fn ja3_full(&self) -> String {
        let dec = |v: &[u16]| {
            v.iter()
                .filter(|x| !is_grease(**x))
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("-")
        };
        let formats: Vec<String> = self.point_formats().iter().map(u8::to_string).collect();
        format!(
            "{},{},{},{},{}",
            self.legacy_version,
            dec(&self.suites),
            dec(&self.extension_types()),
            dec(&self.groups()),
            formats.join("-")
        )
    }

    /// The JA3 fingerprint: the MD5 of [`ClientHello::ja3_full`], in hex.
    pub fn ja3(&self) -> String {
        digest_hex(MessageDigest::md5(), &self.ja3_full())
    }

    /// JA4's first part: `t13d1516h2`.
    fn ja4_a(&self) -> String {
        let version = match self.highest() {
            0x0304 => "13",
            0x0303 => "12",
            0x0302 => "11",
            0x0301 => "10",
            0x0300 => "s3",
            0x0002 => "s2",
            _ => "00",
        };
        let sni = if self.has_extension(EXT_SERVER_NAME) {
            'd'
        } else {
            'i'
        };
        let suites = self.suites.iter().filter(|s| !is_grease(**s)).count();
        let exts = self.extension_types().len();
        let alpn = match self.alpn().first() {
            Some(first) if !first.is_empty() => alpn_chars(first),
            _ => "00".to_string(),
        };
        format!(
            "t{version}{sni}{:02}{:02}{alpn}",
            suites.min(99),
            exts.min(99)
        )
    }

    fn ja4_lists(&self) -> (String, String) {
        let hex = |v: &[u16]| {
            v.iter()
                .map(|x| format!("{x:04x}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut suites: Vec<u16> = self
            .suites
            .iter()
            .copied()
            .filter(|s| !is_grease(*s))
            .collect();
        suites.sort_unstable();
        let mut exts: Vec<u16> = self
            .extension_types()
            .into_iter()
            .filter(|e| *e != EXT_SERVER_NAME && *e != EXT_ALPN)
            .collect();
        exts.sort_unstable();
        let sigalgs: Vec<u16> = self
            .signature_algorithms()
            .into_iter()
            .filter(|s| !is_grease(*s))
            .collect();
        let mut c = hex(&exts);
        if !sigalgs.is_empty() {
            c.push('_');
            c.push_str(&hex(&sigalgs));
        }
        let b = if suites.is_empty() {
            String::new()
        } else {
            hex(&suites)
        };
        let c = if exts.is_empty() { String::new() } else { c };
        (b, c)
    }

    /// The JA4 fingerprint: `t13d1516h2_8daaf6152771_e5627efa2ab1`.
    pub fn ja4(&self) -> String {
        let (b, c) = self.ja4_lists();
        let h = |s: &str| {
            if s.is_empty() {
                "000000000000".to_string()
            } else {
                digest_hex(MessageDigest::sha256(), s)[..12].to_string()
            }
        };
        format!("{}_{}_{}", self.ja4_a(), h(&b), h(&c))
    }

    /// JA4 with the lists in clear (`JA4_r`).
    pub fn ja4_r(&self) -> String {
        let (b, c) = self.ja4_lists();
        format!("{}_{b}_{c}", self.ja4_a())
    }

    /// Whether tlsmatrix wrote this hello (see the module docs).
    pub fn is_tlsmatrix_probe(&self) -> bool {
        is_marked(&self.random) || self.has_openssl_engine_shape()
    }

    /// The OpenSSL engine's shape: one version, and the groups and signature algorithms in the
    /// order `probe::contexts` sets them (OpenSSL leaves out those a version cannot use).
    fn has_openssl_engine_shape(&self) -> bool {
        let versions = self.versions();
        let one_version = match self.supported_versions() {
            Some(_) => versions.len() == 1,
            // Without supported_versions a hello offers its version and, to a server, every
            // older one; OpenSSL sends none when TLS 1.2 or older is forced.
            None => true,
        };
        if !one_version {
            return false;
        }
        let groups = self.groups();
        if groups.len() < 5 || !is_subsequence(&groups, ENGINE_GROUPS) {
            return false;
        }
        let v = versions.first().copied().unwrap_or(0);
        if v >= 0x0303 {
            let sigalgs = self.signature_algorithms();
            sigalgs.len() >= 10 && is_subsequence(&sigalgs, ENGINE_SIGALGS)
        } else {
            // TLS 1.0/1.1 hellos carry no signature algorithms; the older curves after the
            // FFDHE groups are what no default client list has.
            groups.contains(&21) && groups.contains(&22)
        }
    }
}

/// The groups of `probe::contexts::GROUPS_WIDE`, in its order.
pub const ENGINE_GROUPS: &[u16] = &[
    29, 23, 30, 25, 24, 256, 257, 258, 259, 260, 21, 22, 26, 27, 28,
];
/// The signature algorithms of `probe::contexts::SIGALGS`, in its order.
pub const ENGINE_SIGALGS: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b, 0x0401,
    0x0501, 0x0601, 0x0303, 0x0301, 0x0203, 0x0201, 0x0402, 0x0202,
];

fn is_subsequence(items: &[u16], of: &[u16]) -> bool {
    let mut it = of.iter();
    items.iter().all(|x| it.any(|y| y == x))
}

/// The marker tlsmatrix puts in the last 8 bytes of its hellos' random.
fn marker(first: &[u8]) -> [u8; 8] {
    let mut input = b"tlsmatrix probe".to_vec();
    input.extend_from_slice(first);
    let d = hash(MessageDigest::sha256(), &input).expect("SHA-256 is always available");
    let mut m = [0u8; 8];
    m.copy_from_slice(&d[..8]);
    m
}

/// Mark a random (the first 24 bytes already random) as tlsmatrix's own.
pub fn mark_random(random: &mut [u8; 32]) {
    let m = marker(&random[..24]);
    random[24..].copy_from_slice(&m);
}

/// Whether a random carries tlsmatrix's mark.
pub fn is_marked(random: &[u8; 32]) -> bool {
    random[24..] == marker(&random[..24])
}

fn alpn_chars(first: &[u8]) -> String {
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    let (a, z) = (first[0], first[first.len() - 1]);
    if alnum(a) && alnum(z) {
        format!("{}{}", a as char, z as char)
    } else {
        let hex: String = first.iter().map(|b| format!("{b:02x}")).collect();
        let c: Vec<char> = hex.chars().collect();
        format!("{}{}", c[0], c[c.len() - 1])
    }
}

fn digest_hex(md: MessageDigest, s: &str) -> String {
    hash(md, s.as_bytes())
        .expect("digest")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn u16_list(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

/// A list of u16 values prefixed with its length in bytes (two bytes).
pub(crate) fn list16(items: &[u16]) -> Vec<u8> {
    let mut b = Vec::with_capacity(2 + 2 * items.len());
    put16(&mut b, (2 * items.len()) as u16);
    for i in items {
        put16(&mut b, *i);
    }
    b
}

/// Hex, two digits a byte.
pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Bytes from hex (whitespace ignored).
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hello of JA4's worked example (technical_details/JA4.md): TLS 1.3, a server name,
    /// ALPN h2, 15 suites, 16 extensions, 8 signature algorithms.
    fn spec_example() -> ClientHello {
        let suites = [
            0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
            0x009c, 0x009d, 0x002f, 0x0035,
        ];
        let order = [
            0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012,
            0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
        ];
        let sigalgs = [
            0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
        ];
        let mut exts = vec![Extension {
            kind: 0x2a2a, // GREASE, left out of every fingerprint
            body: vec![],
        }];
        for kind in order {
            let body = match kind {
                0x0000 => {
                    let name = b"example.com";
                    let mut b = Vec::new();
                    put16(&mut b, (name.len() + 3) as u16);
                    b.push(0);
                    put16(&mut b, name.len() as u16);
                    b.extend_from_slice(name);
                    b
                }
                0x0010 => vec![0, 3, 2, b'h', b'2'],
                0x000d => list16(&sigalgs),
                0x002b => vec![4, 0x03, 0x04, 0x03, 0x03],
                0x000a => list16(&[0x1a1a, 29, 23, 24]),
                0x000b => vec![1, 0],
                _ => vec![],
            };
            exts.push(Extension { kind, body });
        }
        ClientHello {
            legacy_version: 0x0303,
            random: [7; 32],
            session_id: vec![],
            suites: [&[0x0a0a][..], &suites[..]].concat(),
            compression: vec![0],
            extensions: Some(exts),
        }
    }

    #[test]
    fn ja4_of_the_specification_example() {
        let h = spec_example();
        assert_eq!(h.ja4(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(
            h.ja4_r(),
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,\
             cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,\
             0804,0401,0503,0805,0501,0806,0601"
        );
    }

    #[test]
    fn ja4_without_signature_algorithms_alpn_or_name() {
        let mut h = spec_example();
        let exts = h.extensions.as_mut().unwrap();
        exts.retain(|e| ![0x000d, 0x0000, 0x0010].contains(&e.kind));
        // The specification's example without signature algorithms: the extension list alone.
        let (_, c) = h.ja4_lists();
        assert_eq!(
            c,
            "0005,000a,000b,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"
        );
        assert!(
            h.ja4().starts_with("t13i151300_8daaf6152771_"),
            "{}",
            h.ja4()
        );
        // No suites, no extensions: zeros, not the hash of nothing.
        let empty = ClientHello {
            legacy_version: 0x0301,
            random: [0; 32],
            session_id: vec![],
            suites: vec![],
            compression: vec![0],
            extensions: None,
        };
        assert_eq!(empty.ja4(), "t10i000000_000000000000_000000000000");
    }

    #[test]
    fn alpn_characters_follow_the_specification() {
        assert_eq!(alpn_chars(b"h2"), "h2");
        assert_eq!(alpn_chars(b"http/1.1"), "h1");
        assert_eq!(alpn_chars(b"x"), "xx");
        assert_eq!(alpn_chars(&[0xab]), "ab");
        assert_eq!(alpn_chars(&[0x20]), "20");
        assert_eq!(alpn_chars(&[0xab, 0xcd]), "ad");
        assert_eq!(alpn_chars(&[0x30, 0xab]), "3b");
        assert_eq!(alpn_chars(&[0x30, 0x31, 0xab, 0xcd]), "3d");
        assert_eq!(alpn_chars(&[0x30, 0xab, 0xcd, 0x31]), "01");
    }

    #[test]
    fn encodes_back_to_the_same_bytes_and_reads_its_lists() {
        let h = spec_example();
        let bytes = h.encode();
        let back = ClientHello::parse(&bytes).unwrap();
        assert_eq!(back, h);
        assert_eq!(ClientHello::from_records(&h.records()).unwrap(), h);
        assert_eq!(h.versions(), [0x0304, 0x0303]);
        assert_eq!(h.sni().as_deref(), Some("example.com"));
        assert_eq!(h.alpn(), [b"h2".to_vec()]);
        assert_eq!(h.groups(), [0x1a1a, 29, 23, 24]);
        assert_eq!(
            h.ja3_full(),
            "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
             27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0"
        );
        assert_eq!(
            ClientHello::parse(&bytes[..20]),
            Err(HelloError::Incomplete)
        );
    }

    #[test]
    fn the_mark_is_recognised_and_random_bytes_are_not_marked() {
        let mut r = [0u8; 32];
        openssl::rand::rand_bytes(&mut r).unwrap();
        assert!(!is_marked(&r));
        mark_random(&mut r);
        assert!(is_marked(&r));
        r[3] ^= 1;
        assert!(!is_marked(&r));
    }

    #[test]
    fn the_engines_hellos_are_recognised_as_tlsmatrix_probes() {
        use crate::probe::contexts::{ClientContexts, Offer, client_hello};
        use crate::tls::TlsVersion;
        let ctxs = ClientContexts::new(&TlsVersion::ALL);
        for v in TlsVersion::ALL {
            if let Some(Offer::Ready(ctx)) = ctxs.get(v) {
                let h =
                    ClientHello::from_records(&client_hello(ctx, Some("x.test")).unwrap()).unwrap();
                assert!(!is_marked(&h.random), "OpenSSL chose this random");
                assert!(h.is_tlsmatrix_probe(), "OpenSSL engine, {v}: {h:?}");
            }
            for part in crate::tls::hello::suite_parts(v) {
                let keys = crate::tls::hello::HelloKeys::generate().unwrap();
                let w = crate::tls::hello::client_hello(v, &part, None, &keys);
                assert!(
                    ClientHello::from_records(&w).unwrap().is_tlsmatrix_probe(),
                    "wire engine, {v}"
                );
            }
        }
    }
}
