//! ClientHello messages written byte by byte, for the wire engine: any version from SSLv3 to
//! TLS 1.3, offering every cipher suite the IANA registry assigns for it, whatever the local TLS
//! library can do.
//!
//! # The shape of the hellos
//!
//! Real servers reject hellos that scanners used to send, and a rejected hello looks like a
//! refused version. So each hello is one that strict servers take:
//!
//! - **At most 128 cipher suites per hello.** Some implementations reject a hello with more than
//!   about 128-150 suites. The suites a version may use are split into several hellos
//!   ([`suite_parts`]): the common ones first (ECDHE, DHE and RSA key exchange with AES,
//!   ChaCha20, 3DES or RC4), then the rarer (Camellia, ARIA, SEED, IDEA, DES, export, DSS, static
//!   DH), then the exotic (anonymous, PSK, SRP, Kerberos, NULL encryption). The wire engine sends
//!   the next hello on a new connection only when a server says no in a way that may mean "no
//!   suite in common" (handshake_failure, insufficient_security, a bare close or reset); together
//!   the hellos offer the whole list. SSLv3 and TLS 1.3 fit in one hello; TLS 1.0/1.1 and TLS
//!   1.2 take two and three.
//! - **Suites valid for the version.** SSLv3: RSA, DH and DHE key exchange with MD5/SHA-1 MACs
//!   (no elliptic curves: SSLv3 has no extensions to negotiate them). TLS 1.0/1.1: no AEAD and no
//!   SHA-256/384 MACs, which need TLS 1.2. TLS 1.2: every suite but TLS 1.3's. TLS 1.3: its own.
//! - **Secure renegotiation asked once.** RFC 5746 calls sending both the
//!   `TLS_EMPTY_RENEGOTIATION_INFO_SCSV` suite and the `renegotiation_info` extension NOT
//!   RECOMMENDED, and some servers reject it: SSLv3 sends the SCSV (it has no extensions), TLS
//!   1.0-1.2 the empty extension, TLS 1.3 neither (it has no renegotiation).
//!   `TLS_FALLBACK_SCSV` is never sent: it would make a server rightly refuse a lower version.
//! - **Groups per version.** A TLS 1.3 hello offers only groups RFC 8446 4.2.7 allows there
//!   (X25519, X448, P-256/384/521, FFDHE), since strict servers answer a TLS 1.3-only hello that
//!   lists others (secp256k1, P-224, P-192, brainpool) with `illegal_parameter`. TLS 1.0-1.2
//!   hellos offer those older curves too, but no FFDHE group: RFC 7919 lets a DHE-only server
//!   whose own group is not among the listed ones end the handshake with
//!   `insufficient_security`; without FFDHE groups listed it uses its own.
//! - **Valid key shares.** TLS 1.3 hellos carry shares for X25519 and P-256, both real public
//!   keys of fresh key pairs made with OpenSSL ([`HelloKeys::generate`]), so a server that
//!   validates public keys finds nothing wrong (32 random bytes are no X25519 key half the time:
//!   the top bit must be clear).
//! - **Signature algorithms per version.** TLS 1.2 lists SHA-1, SHA-224 and DSA too; TLS 1.3
//!   lists only what RFC 8446 4.2.3 lets it offer (no DSA, no SHA-224).
//! - **No sizes in 256..=511 bytes.** A hello whose handshake message is 256 to 511 bytes long
//!   hangs some server appliances; TLS 1.0-1.3 hellos in that range get a `padding` extension
//!   (RFC 7685) up to 512 bytes, as OpenSSL's own client does. (SSLv3 hellos carry no
//!   extensions and cannot be padded.)
//! - **One version offered.** The version field names the version (TLS 1.3: 0x0303 plus
//!   `supported_versions` with TLS 1.3 alone); the record layer says TLS 1.0 (SSLv3 for SSLv3).
//!   A TLS 1.3 hello carries a 32-byte session ID (middlebox compatibility, RFC 8446 D.4) and
//!   `psk_key_exchange_modes`.
//!
//! Every hello parses back with `tls-parser`; the property tests in this module and the
//! interoperability tests hold each shape against real servers.

use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, PointConversionForm};
use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use tls_parser::{
    CIPHERS, TlsCipherAu, TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherSuite,
};

use crate::tls::TlsVersion;
use crate::tls::suites;
/// TLS_EMPTY_RENEGOTIATION_INFO_SCSV asks for secure renegotiation without an extension;
/// TLS_FALLBACK_SCSV is never offered, or a server rightly refuses a lower version.
pub use crate::tls::suites::{SCSV_FALLBACK, SCSV_RENEGOTIATION};
/// The most cipher suites one hello offers (the SCSV counts).
pub const MAX_SUITES: usize = 128;

/// Extension numbers.
pub const EXT_SERVER_NAME: u16 = 0;
pub const EXT_SUPPORTED_GROUPS: u16 = 10;
pub const EXT_EC_POINT_FORMATS: u16 = 11;
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
pub const EXT_PADDING: u16 = 21;
pub const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
pub const EXT_SUPPORTED_VERSIONS: u16 = 43;
pub const EXT_PSK_KEY_EXCHANGE_MODES: u16 = 45;
pub const EXT_KEY_SHARE: u16 = 51;
pub const EXT_RENEGOTIATION_INFO: u16 = 0xff01;

pub const GROUP_P256: u16 = 23;
pub const GROUP_X25519: u16 = 29;

/// Groups RFC 8446 4.2.7 allows in TLS 1.3: X25519, P-256/384/521, X448, FFDHE 2048-8192.
pub const GROUPS_TLS13: &[u16] = &[29, 23, 24, 25, 30, 256, 257, 258, 259, 260];
/// Groups of a TLS 1.0-1.2 hello: the same curves, then older ones some servers only know
/// (secp256k1, secp224k1, P-224, P-192, brainpool), and no FFDHE group (see the module docs).
pub const GROUPS_BEFORE_TLS13: &[u16] = &[29, 23, 24, 25, 30, 22, 20, 21, 19, 26, 27, 28];

/// Signature algorithms of a TLS 1.2 hello (RFC 5246 7.4.1.4.1, RFC 8446 4.2.3), SHA-1, SHA-224
/// and DSA included for old servers.
pub const SIGALGS_TLS12: &[u16] = &[
    0x0403, 0x0503, 0x0603, // ecdsa_secp256r1_sha256 .. secp521r1_sha512
    0x0807, 0x0808, // ed25519, ed448
    0x0804, 0x0805, 0x0806, // rsa_pss_rsae_sha256 .. sha512
    0x0809, 0x080a, 0x080b, // rsa_pss_pss_sha256 .. sha512
    0x0401, 0x0501, 0x0601, // rsa_pkcs1_sha256 .. sha512
    0x0303, 0x0301, 0x0302, // sha224 ecdsa, rsa, dsa
    0x0203, 0x0201, 0x0202, // sha1 ecdsa, rsa, dsa
    0x0402, 0x0502, 0x0602, // dsa sha256 .. sha512
];
/// Signature algorithms a TLS 1.3 hello may offer: no DSA and no SHA-224, which RFC 8446 4.2.3
/// marks obsolete; the PKCS #1 and SHA-1 ones stay for certificates.
pub const SIGALGS_TLS13: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b, 0x0401,
    0x0501, 0x0601, 0x0203, 0x0201,
];

/// Where a suite goes in the offer: common suites first, then rare, then exotic; within a tier
/// AEAD before CBC before 3DES before RC4, forward secrecy first.
fn rank(c: &TlsCipherSuite) -> (u8, u8, u8, u16) {
    use TlsCipherEnc as E;
    let usual_kx = matches!(
        c.kx,
        TlsCipherKx::Ecdhe | TlsCipherKx::Dhe | TlsCipherKx::Rsa | TlsCipherKx::Tls13
    );
    let usual_au = matches!(
        c.au,
        TlsCipherAu::Rsa | TlsCipherAu::Ecdsa | TlsCipherAu::Tls13
    );
    let usual_enc = matches!(c.enc, E::Aes | E::Chacha20_Poly1305 | E::TripleDes | E::Rc4);
    let authenticated = matches!(
        c.au,
        TlsCipherAu::Rsa | TlsCipherAu::Ecdsa | TlsCipherAu::Dss | TlsCipherAu::Tls13
    );
    let plain_kx = matches!(
        c.kx,
        TlsCipherKx::Ecdhe
            | TlsCipherKx::Dhe
            | TlsCipherKx::Rsa
            | TlsCipherKx::Ecdh
            | TlsCipherKx::Dh
    );
    let tier = if usual_kx && usual_au && usual_enc && c.enc_size >= 112 {
        0
    } else if (plain_kx || c.kx == TlsCipherKx::Tls13) && authenticated && c.enc != E::Null {
        1
    } else {
        2
    };
    let enc = match (c.enc, c.enc_mode) {
        (E::Aes, TlsCipherEncMode::Gcm) | (E::Chacha20_Poly1305, _) => 0,
        (E::Aes, TlsCipherEncMode::Ccm) => 1,
        (E::Aes, _) => 2,
        (E::TripleDes, _) => 3,
        (E::Rc4, _) => 4,
        _ => 5,
    };
    let kx = match c.kx {
        TlsCipherKx::Ecdhe | TlsCipherKx::Tls13 => 0,
        TlsCipherKx::Dhe => 1,
        TlsCipherKx::Rsa => 2,
        _ => 3,
    };
    (tier, enc, kx, c.id.0)
}

/// Every suite a hello for `v` may offer, common ones first (see the module docs).
pub fn cipher_suites(v: TlsVersion) -> Vec<u16> {
    let mut suites: Vec<&TlsCipherSuite> = CIPHERS
        .values()
        .filter(|c| suites::usable(c.id.0, v))
        .collect();
    suites.sort_by_key(|c| rank(c));
    suites.into_iter().map(|c| c.id.0).collect()
}

/// The suites of `v` split into hellos of at most [`MAX_SUITES`] suites each (the SSLv3 hello
/// keeps a place for the renegotiation SCSV), in order: the first holds the common suites.
/// Parts are as even as the limit allows, so no hello is left with a handful.
pub fn suite_parts(v: TlsVersion) -> Vec<Vec<u16>> {
    let all = cipher_suites(v);
    let room = if v == TlsVersion::Ssl3 {
        MAX_SUITES - 1
    } else {
        MAX_SUITES
    };
    let parts = all.len().div_ceil(room).max(1);
    let each = all.len().div_ceil(parts);
    all.chunks(each.max(1)).map(<[u16]>::to_vec).collect()
}

/// The fresh values one hello carries: its random, a session ID, and the public halves of new
/// X25519 and P-256 key pairs for the TLS 1.3 key shares. The private halves are dropped: the
/// wire engine never finishes a handshake.
#[derive(Clone, Debug)]
pub struct HelloKeys {
    pub random: [u8; 32],
    pub session_id: [u8; 32],
    /// An X25519 public key (RFC 7748), 32 bytes.
    pub x25519: Vec<u8>,
    /// A P-256 public key as an uncompressed point (RFC 8446 4.2.8.2), 65 bytes.
    pub p256: Vec<u8>,
}

impl HelloKeys {
    /// New random values and key pairs, from OpenSSL.
    pub fn generate() -> Result<HelloKeys, ErrorStack> {
        let mut random = [0u8; 32];
        let mut session_id = [0u8; 32];
        openssl::rand::rand_bytes(&mut random)?;
        // Marked, so that captures can tell tlsmatrix's probes from clients.
        crate::tls::clienthello::mark_random(&mut random);
        openssl::rand::rand_bytes(&mut session_id)?;
        let x25519 = PKey::generate_x25519()?.raw_public_key()?;
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
        let key = EcKey::generate(&group)?;
        let mut ctx = BigNumContext::new()?;
        let p256 =
            key.public_key()
                .to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut ctx)?;
        Ok(HelloKeys {
            random,
            session_id,
            x25519,
            p256,
        })
    }
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

/// What a hello offers besides its version and suites, where it differs from the usual lists
/// (the suite enumeration asks for one group or signature algorithm at a time this way).
#[derive(Clone, Copy, Debug, Default)]
pub struct Offer<'a> {
    /// The `supported_groups` list (TLS 1.0 and up); a TLS 1.3 hello sends key shares for the
    /// groups of these it has keys for (X25519, P-256), or none, which asks for a
    /// HelloRetryRequest.
    pub groups: Option<&'a [u16]>,
    /// The `signature_algorithms` list (TLS 1.2 and 1.3).
    pub signature_algorithms: Option<&'a [u16]>,
    /// TLS 1.3: send an empty `key_share` list (RFC 8446 4.2.8 allows it), so that a server
    /// taking the hello answers with a HelloRetryRequest naming its suite and group, without
    /// computing a key exchange or a signature.
    pub no_key_shares: bool,
}

/// The extensions of a hello for `v` (none for SSLv3), before any padding.
fn extensions(v: TlsVersion, sni: Option<&str>, keys: &HelloKeys, offer: Offer<'_>) -> Vec<u8> {
    let mut ext = Vec::with_capacity(256);
    if let Some(name) = sni {
        let mut b = Vec::new();
        u16be(&mut b, (name.len() + 3) as u16);
        b.push(0); // host_name
        u16be(&mut b, name.len() as u16);
        b.extend_from_slice(name.as_bytes());
        extension(&mut ext, EXT_SERVER_NAME, &b);
    }
    if v == TlsVersion::Tls13 {
        let groups = offer.groups.unwrap_or(GROUPS_TLS13);
        extension(&mut ext, EXT_SUPPORTED_GROUPS, &list16(groups));
        extension(
            &mut ext,
            EXT_SIGNATURE_ALGORITHMS,
            &list16(offer.signature_algorithms.unwrap_or(SIGALGS_TLS13)),
        );
        extension(&mut ext, EXT_SUPPORTED_VERSIONS, &[2, 0x03, 0x04]);
        // psk_dhe_ke: some servers insist on seeing it.
        extension(&mut ext, EXT_PSK_KEY_EXCHANGE_MODES, &[1, 1]);
        // A server that wants another group answers with a HelloRetryRequest, which also shows
        // it negotiates TLS 1.3.
        let mut shares = Vec::new();
        for (group, key) in [(GROUP_X25519, &keys.x25519), (GROUP_P256, &keys.p256)] {
            // A share for a group not listed breaks RFC 8446 4.2.8.
            if offer.no_key_shares || !groups.contains(&group) {
                continue;
            }
            u16be(&mut shares, group);
            u16be(&mut shares, key.len() as u16);
            shares.extend_from_slice(key);
        }
        let mut ks = Vec::with_capacity(shares.len() + 2);
        u16be(&mut ks, shares.len() as u16);
        ks.extend_from_slice(&shares);
        extension(&mut ext, EXT_KEY_SHARE, &ks);
    } else {
        extension(
            &mut ext,
            EXT_SUPPORTED_GROUPS,
            &list16(offer.groups.unwrap_or(GROUPS_BEFORE_TLS13)),
        );
        extension(&mut ext, EXT_EC_POINT_FORMATS, &[1, 0]); // uncompressed
        if v == TlsVersion::Tls12 {
            extension(
                &mut ext,
                EXT_SIGNATURE_ALGORITHMS,
                &list16(offer.signature_algorithms.unwrap_or(SIGALGS_TLS12)),
            );
        }
        extension(&mut ext, EXT_EXTENDED_MASTER_SECRET, &[]);
        extension(&mut ext, EXT_RENEGOTIATION_INFO, &[0]); // empty: a first handshake
    }
    ext
}

/// A complete ClientHello record offering only `v` and the cipher suites `suites` (one of
/// [`suite_parts`]); `sni` is sent for TLS 1.0 and up.
pub fn client_hello(v: TlsVersion, suites: &[u16], sni: Option<&str>, keys: &HelloKeys) -> Vec<u8> {
    client_hello_with(v, suites, sni, keys, Offer::default())
}

/// A ClientHello as [`client_hello`] makes it, with other groups or signature algorithms.
pub fn client_hello_with(
    v: TlsVersion,
    suites: &[u16],
    sni: Option<&str>,
    keys: &HelloKeys,
    offer: Offer<'_>,
) -> Vec<u8> {
    let legacy = match v {
        TlsVersion::Tls13 => 0x0303,
        other => other.wire(),
    };
    let mut body = Vec::with_capacity(1024);
    u16be(&mut body, legacy);
    body.extend_from_slice(&keys.random);
    if v == TlsVersion::Tls13 {
        // A session ID makes middleboxes see a resumption attempt (RFC 8446 D.4).
        body.push(32);
        body.extend_from_slice(&keys.session_id);
    } else {
        body.push(0);
    }
    let mut offered = suites.to_vec();
    if v == TlsVersion::Ssl3 {
        offered.push(SCSV_RENEGOTIATION);
    }
    body.extend_from_slice(&list16(&offered));
    body.extend_from_slice(&[1, 0]); // compression: null only

    if v != TlsVersion::Ssl3 {
        let mut ext = extensions(v, sni, keys, offer);
        // The handshake message: 4 bytes of header, the body so far, 2 bytes of extension
        // length, the extensions.
        let len = 4 + body.len() + 2 + ext.len();
        if (256..512).contains(&len) {
            let pad = (512 - len).saturating_sub(4);
            extension(&mut ext, EXT_PADDING, &vec![0; pad]);
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

/// The first hello of `v` with fresh keys: what the wire engine sends first.
pub fn first_hello(v: TlsVersion, sni: Option<&str>) -> Result<Vec<u8>, ErrorStack> {
    let parts = suite_parts(v);
    Ok(client_hello(v, &parts[0], sni, &HelloKeys::generate()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::record::client_offer;

    #[test]
    fn each_hello_offers_exactly_its_version_and_parses() {
        let keys = HelloKeys::generate().unwrap();
        for v in TlsVersion::ALL {
            let mut offered = 0;
            for part in suite_parts(v) {
                let hello = client_hello(v, &part, Some("dc1.example.com"), &keys);
                let offer = client_offer(&hello).unwrap_or_else(|| panic!("{v}: unreadable hello"));
                assert!(offer.offers_only(v.wire()), "{v}: {offer:?}");
                offered += offer
                    .ciphers
                    .iter()
                    .filter(|c| **c != SCSV_RENEGOTIATION)
                    .count();
            }
            assert_eq!(offered, cipher_suites(v).len(), "{v}");
        }
    }

    #[test]
    fn a_tls13_hello_without_key_shares_still_lists_its_groups() {
        let keys = HelloKeys::generate().unwrap();
        let suites = cipher_suites(TlsVersion::Tls13);
        let with = client_hello(TlsVersion::Tls13, &suites, None, &keys);
        let offer = Offer {
            no_key_shares: true,
            ..Offer::default()
        };
        let without = client_hello_with(TlsVersion::Tls13, &suites, None, &keys, offer);
        let read = client_offer(&without).expect("a readable hello");
        assert!(read.offers_only(TlsVersion::Tls13.wire()), "{read:?}");
        // The key_share extension's body: the shares' length, then the shares.
        let shares = |hello: &[u8]| -> Vec<u8> {
            use tls_parser::{
                TlsMessage, TlsMessageHandshake, parse_tls_extensions, parse_tls_message_handshake,
            };
            let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)))) =
                parse_tls_message_handshake(&hello[5..])
            else {
                panic!("not a ClientHello");
            };
            let (_, exts) = parse_tls_extensions(ch.ext.expect("extensions")).unwrap();
            exts.into_iter()
                .find_map(|e| match e {
                    tls_parser::TlsExtension::KeyShare(b) => Some(b.to_vec()),
                    _ => None,
                })
                .expect("a key_share extension")
        };
        assert_eq!(shares(&without), [0, 0], "an empty client_shares list");
        // X25519's 32 bytes and P-256's 65, each with its group and length.
        assert_eq!(shares(&with).len(), 2 + (4 + 32) + (4 + 65));
    }

    #[test]
    fn suites_per_version() {
        let old = cipher_suites(TlsVersion::Tls10);
        assert!(old.contains(&0x0005), "RC4-SHA");
        assert!(old.contains(&0x000a), "3DES");
        assert!(old.contains(&0x0003), "an export suite");
        for tls12_only in [0x009c, 0x003c, 0xc09c, 0xcca8] {
            assert!(
                !old.contains(&tls12_only),
                "{tls12_only:04x}: no TLS 1.2-only suite in a TLS 1.0 hello"
            );
        }
        assert!(!old.contains(&SCSV_FALLBACK) && !old.contains(&SCSV_RENEGOTIATION));
        let v12 = cipher_suites(TlsVersion::Tls12);
        assert!(v12.contains(&0x009c) && v12.contains(&0xc02f));
        let v13 = cipher_suites(TlsVersion::Tls13);
        for id in [0x1301, 0x1302, 0x1303, 0x1304, 0x1305, 0x00c6] {
            assert!(v13.contains(&id), "{id:04x}");
        }
        assert!(!v13.contains(&0xc02f));
        let ssl3 = cipher_suites(TlsVersion::Ssl3);
        assert!(ssl3.contains(&0x000a) && ssl3.contains(&0x0005));
        assert!(!ssl3.contains(&0xc013), "no elliptic curves in SSLv3");
    }

    #[test]
    fn common_suites_come_first() {
        let first = &suite_parts(TlsVersion::Tls12)[0];
        for common in [
            0xc02f, 0xc030, 0xc02b, 0xcca8, 0x009c, 0x002f, 0x0035, 0x000a, 0x0005,
        ] {
            assert!(first.contains(&common), "{common:04x}");
        }
        assert_eq!(first[0], 0xc02b, "ECDHE-ECDSA-AES128-GCM leads");
        let old = &suite_parts(TlsVersion::Tls10)[0];
        for common in [0xc013, 0xc014, 0x002f, 0x0035, 0x000a, 0x0005, 0x0004] {
            assert!(old.contains(&common), "{common:04x}");
        }
    }

    #[test]
    fn parts_count_and_sizes() {
        let counts: Vec<usize> = TlsVersion::ALL
            .iter()
            .map(|v| suite_parts(*v).len())
            .collect();
        assert_eq!(counts, [1, 2, 2, 3, 1], "SSLv3 .. TLS 1.3");
        for v in TlsVersion::ALL {
            let parts = suite_parts(v);
            for part in &parts {
                assert!(part.len() + usize::from(v == TlsVersion::Ssl3) <= MAX_SUITES);
                // Even parts: no hello left with a handful of suites.
                assert!(parts.len() == 1 || part.len() > 40, "{v}: {}", part.len());
            }
        }
    }
}
