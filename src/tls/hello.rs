//! ClientHello messages written byte by byte, for the wire engine: any version from SSLv3 to
//! TLS 1.3, offering every cipher suite the IANA registry assigns for it, whatever the local TLS
//! library can do.

use tls_parser::{CIPHERS, TlsCipherKx, TlsPRF};

use crate::tls::TlsVersion;

/// TLS_EMPTY_RENEGOTIATION_INFO_SCSV: asks for secure renegotiation without an extension.
const SCSV_RENEGOTIATION: u16 = 0x00ff;
/// TLS_FALLBACK_SCSV: never offered, or a server rightly refuses a lower version.
const SCSV_FALLBACK: u16 = 0x5600;

/// Named groups offered (RFC 8422, RFC 7919): X25519, the NIST curves, X448, the FFDHE groups,
/// then older curves some TLS 1.0-1.2 servers only know.
const GROUPS: &[u16] = &[
    29, 23, 24, 25, 30, 256, 257, 258, 259, 260, // x25519, P-256/384/521, x448, ffdhe*
    22, 21, 20, 19, 26, 27, 28, // secp256k1, P-224, P-192, brainpool
];
const GROUP_X25519: u16 = 29;

/// Signature algorithms (RFC 8446 4.2.3), SHA-1 and DSA included for old servers.
const SIGALGS: &[u16] = &[
    0x0403, 0x0503, 0x0603, // ecdsa_secp256r1_sha256 .. secp521r1_sha512
    0x0807, 0x0808, // ed25519, ed448
    0x0804, 0x0805, 0x0806, // rsa_pss_rsae_sha256 .. sha512
    0x0809, 0x080a, 0x080b, // rsa_pss_pss_sha256 .. sha512
    0x0401, 0x0501, 0x0601, // rsa_pkcs1_sha256 .. sha512
    0x0303, 0x0301, 0x0302, // sha224 ecdsa, rsa, dsa
    0x0203, 0x0201, 0x0202, // sha1 ecdsa, rsa, dsa
    0x0402, 0x0502, 0x0602, // dsa sha256 .. sha512
];

/// The cipher suites a hello for `v` offers: TLS 1.3 suites for TLS 1.3; for TLS 1.2 every
/// other assigned suite; for SSLv3 to TLS 1.1 those with the classic PRF (no TLS 1.2-only
/// suites). Sorted by code point, then the renegotiation SCSV.
pub fn cipher_suites(v: TlsVersion) -> Vec<u16> {
    let mut ids: Vec<u16> = CIPHERS
        .values()
        .filter(|c| ![0, SCSV_RENEGOTIATION, SCSV_FALLBACK].contains(&c.id.0))
        .filter(|c| match v {
            TlsVersion::Tls13 => c.kx == TlsCipherKx::Tls13,
            TlsVersion::Tls12 => c.kx != TlsCipherKx::Tls13,
            _ => c.kx != TlsCipherKx::Tls13 && c.prf == TlsPRF::Default,
        })
        .map(|c| c.id.0)
        .collect();
    ids.sort_unstable();
    if v != TlsVersion::Tls13 {
        ids.push(SCSV_RENEGOTIATION);
    }
    ids
}

fn u16be(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    u16be(out, kind);
    u16be(out, body.len() as u16);
    out.extend_from_slice(body);
}

/// A list prefixed with its length in bytes (two bytes).
fn list16(items: &[u16]) -> Vec<u8> {
    let mut b = Vec::with_capacity(2 + 2 * items.len());
    u16be(&mut b, (2 * items.len()) as u16);
    for i in items {
        u16be(&mut b, *i);
    }
    b
}

/// A complete ClientHello record offering only `v`. `random` fills the random fields (and the
/// key share); `sni` is sent for TLS 1.0 and up.
pub fn client_hello(v: TlsVersion, sni: Option<&str>, random: &[u8; 64]) -> Vec<u8> {
    let legacy = match v {
        TlsVersion::Tls13 => 0x0303,
        other => other.wire(),
    };
    let mut body = Vec::with_capacity(1024);
    u16be(&mut body, legacy);
    body.extend_from_slice(&random[..32]);
    if v == TlsVersion::Tls13 {
        // A session ID makes middleboxes see a resumption attempt (RFC 8446 D.4).
        body.push(32);
        body.extend_from_slice(&random[32..64]);
    } else {
        body.push(0);
    }
    let suites = cipher_suites(v);
    body.extend_from_slice(&list16(&suites));
    body.extend_from_slice(&[1, 0]); // compression: null only

    // SSLv3 servers may not expect extensions at all; the SCSV carries renegotiation there.
    if v != TlsVersion::Ssl3 {
        let mut ext = Vec::with_capacity(256);
        if let Some(name) = sni {
            let mut b = Vec::new();
            u16be(&mut b, (name.len() + 3) as u16);
            b.push(0); // host_name
            u16be(&mut b, name.len() as u16);
            b.extend_from_slice(name.as_bytes());
            extension(&mut ext, 0, &b);
        }
        extension(&mut ext, 10, &list16(GROUPS)); // supported_groups
        extension(&mut ext, 11, &[1, 0]); // ec_point_formats: uncompressed
        if v >= TlsVersion::Tls12 {
            extension(&mut ext, 13, &list16(SIGALGS)); // signature_algorithms
        }
        if v != TlsVersion::Tls13 {
            extension(&mut ext, 23, &[]); // extended_master_secret
            extension(&mut ext, 0xff01, &[0]); // renegotiation_info, empty
        } else {
            // supported_versions: TLS 1.3 only.
            extension(&mut ext, 43, &[2, 0x03, 0x04]);
            // psk_key_exchange_modes: psk_dhe_ke (some servers insist on seeing it).
            extension(&mut ext, 45, &[1, 1]);
            // key_share: one X25519 share. Any 32 bytes are a valid X25519 public key, and the
            // handshake is never finished; a server that wants another group answers with a
            // HelloRetryRequest, which also shows it negotiates TLS 1.3.
            let mut ks = Vec::new();
            u16be(&mut ks, 36);
            u16be(&mut ks, GROUP_X25519);
            u16be(&mut ks, 32);
            ks.extend_from_slice(&random[32..64]);
            extension(&mut ext, 51, &ks);
        }
        u16be(&mut body, ext.len() as u16);
        body.extend_from_slice(&ext);
    }

    let mut hs = Vec::with_capacity(body.len() + 4);
    hs.push(1); // client_hello
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);

    let record_version: u16 = if v == TlsVersion::Ssl3 {
        0x0300
    } else {
        0x0301
    };
    let mut record = Vec::with_capacity(hs.len() + 5);
    record.push(22);
    u16be(&mut record, record_version);
    u16be(&mut record, hs.len() as u16);
    record.extend_from_slice(&hs);
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::record::client_offer;

    #[test]
    fn each_hello_offers_exactly_its_version_and_parses() {
        for v in TlsVersion::ALL {
            let hello = client_hello(v, Some("dc1.example.com"), &[7u8; 64]);
            let offer = client_offer(&hello).unwrap_or_else(|| panic!("{v}: unreadable hello"));
            assert!(offer.offers_only(v.wire()), "{v}: {offer:?}");
            assert_eq!(offer.ciphers.len(), cipher_suites(v).len(), "{v}");
        }
    }

    #[test]
    fn suites_per_version() {
        let old = cipher_suites(TlsVersion::Tls10);
        assert!(old.contains(&0x0005), "RC4-SHA");
        assert!(old.contains(&0x000a), "3DES");
        assert!(old.contains(&0x0003), "an export suite");
        assert!(
            !old.contains(&0x009c),
            "no TLS 1.2-only GCM suite in a TLS 1.0 hello"
        );
        assert!(!old.contains(&SCSV_FALLBACK));
        let v12 = cipher_suites(TlsVersion::Tls12);
        assert!(v12.contains(&0x009c) && v12.contains(&0xc02f));
        let v13 = cipher_suites(TlsVersion::Tls13);
        for id in [0x1301, 0x1302, 0x1303, 0x1304, 0x1305, 0x00c6] {
            assert!(v13.contains(&id), "{id:04x}");
        }
        assert!(!v13.contains(&0xc02f));
    }
}
