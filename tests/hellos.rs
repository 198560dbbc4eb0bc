//! Every ClientHello the wire engine builds, held against what strict servers demand: it parses
//! back (with `tls-parser`, not our own reader), offers at most 128 suites and exactly one
//! version, asks for secure renegotiation once, lists only the groups and signature algorithms
//! its version allows, and carries key shares OpenSSL accepts as public keys.

use openssl::bn::BigNumContext;
use openssl::derive::Deriver;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey};
use proptest::prelude::*;
use tls_parser::{
    SNIType, TlsExtension, TlsExtensionType, TlsMessage, TlsMessageHandshake, parse_tls_extensions,
    parse_tls_plaintext,
};
use tlsmatrix::report::TlsVersion;
use tlsmatrix::tls::hello::{
    GROUP_P256, GROUP_X25519, GROUPS_TLS13, HelloKeys, MAX_SUITES, SCSV_FALLBACK,
    SCSV_RENEGOTIATION, SIGALGS_TLS13, cipher_suites, client_hello, suite_parts,
};

/// What a hello says, read with tls-parser.
struct Parsed {
    legacy_version: u16,
    ciphers: Vec<u16>,
    extensions: Vec<u16>,
    sni: Option<String>,
    groups: Vec<u16>,
    sigalgs: Vec<u16>,
    supported_versions: Vec<u16>,
    /// (group, public key) from `key_share`.
    key_shares: Vec<(u16, Vec<u8>)>,
    /// The handshake message's length, header included.
    handshake_len: usize,
}

fn parse(record: &[u8]) -> Parsed {
    let (rest, plain) = parse_tls_plaintext(record).expect("a TLS record");
    assert!(rest.is_empty(), "bytes after the record");
    assert_eq!(plain.msg.len(), 1, "one message");
    let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) = &plain.msg[0] else {
        panic!("not a ClientHello: {:?}", plain.msg[0]);
    };
    let mut p = Parsed {
        legacy_version: ch.version.0,
        ciphers: ch.ciphers.iter().map(|c| c.0).collect(),
        extensions: vec![],
        sni: None,
        groups: vec![],
        sigalgs: vec![],
        supported_versions: vec![],
        key_shares: vec![],
        handshake_len: record.len() - 5,
    };
    assert_eq!(
        ch.comp,
        [tls_parser::TlsCompressionID(0)],
        "null compression only"
    );
    if let Some(ext) = ch.ext {
        let (rest, exts) = parse_tls_extensions(ext).expect("extensions parse");
        assert!(rest.is_empty());
        for e in &exts {
            p.extensions.push(TlsExtensionType::from(e).0);
            match e {
                TlsExtension::SNI(names) => {
                    assert_eq!(names.len(), 1);
                    assert_eq!(names[0].0, SNIType::HostName);
                    p.sni = Some(String::from_utf8(names[0].1.to_vec()).unwrap());
                }
                TlsExtension::EllipticCurves(g) => p.groups = g.iter().map(|g| g.0).collect(),
                TlsExtension::SignatureAlgorithms(s) => p.sigalgs = s.clone(),
                TlsExtension::SupportedVersions(v) => {
                    p.supported_versions = v.iter().map(|v| v.0).collect()
                }
                TlsExtension::KeyShare(raw) => p.key_shares = key_shares(raw),
                _ => {}
            }
        }
    }
    p
}

/// KeyShareClientHello: a list of (group, key_exchange) entries (RFC 8446 4.2.8).
fn key_shares(raw: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let len = u16::from_be_bytes([raw[0], raw[1]]) as usize;
    assert_eq!(len + 2, raw.len(), "key_share length");
    let mut out = vec![];
    let mut rest = &raw[2..];
    while !rest.is_empty() {
        let group = u16::from_be_bytes([rest[0], rest[1]]);
        let n = u16::from_be_bytes([rest[2], rest[3]]) as usize;
        out.push((group, rest[4..4 + n].to_vec()));
        rest = &rest[4 + n..];
    }
    out
}

/// A fresh X25519 key pair of our own derives a secret with `public`: OpenSSL takes it as a
/// public key. And its top bit is clear, as RFC 7748 encodes a u-coordinate below 2^255 - 19.
fn assert_x25519_valid(public: &[u8]) {
    assert_eq!(public.len(), 32);
    assert_eq!(public[31] & 0x80, 0, "top bit set: {public:02x?}");
    let peer = PKey::public_key_from_raw_bytes(public, Id::X25519).expect("an X25519 key");
    let ours = PKey::generate_x25519().unwrap();
    let mut d = Deriver::new(&ours).unwrap();
    d.set_peer(&peer).unwrap();
    let secret = d.derive_to_vec().expect("a shared secret");
    assert!(secret.iter().any(|b| *b != 0), "a low-order point");
}

/// An uncompressed point on P-256 that OpenSSL's key check accepts.
fn assert_p256_valid(public: &[u8]) {
    assert_eq!(public.len(), 65);
    assert_eq!(public[0], 4, "uncompressed");
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    let point = EcPoint::from_bytes(&group, public, &mut ctx).expect("a point");
    assert!(point.is_on_curve(&group, &mut ctx).unwrap(), "on the curve");
    EcKey::from_public_key(&group, &point)
        .unwrap()
        .check_key()
        .expect("a valid public key");
}

/// Everything one hello must be.
fn check_hello(v: TlsVersion, part: &[u16], sni: Option<&str>, record: &[u8]) {
    let p = parse(record);
    assert!(
        record.len() <= 1024,
        "{v}: a hello of {} bytes",
        record.len()
    );
    assert!(
        p.ciphers.len() <= MAX_SUITES,
        "{v}: {} suites",
        p.ciphers.len()
    );
    assert!(
        !p.ciphers.contains(&SCSV_FALLBACK),
        "{v}: TLS_FALLBACK_SCSV"
    );
    let dup = |xs: &[u16]| {
        let mut s = xs.to_vec();
        s.sort_unstable();
        s.windows(2).any(|w| w[0] == w[1])
    };
    assert!(!dup(&p.ciphers), "{v}: a suite twice");
    assert!(!dup(&p.extensions), "{v}: an extension twice");
    // The suites of this part, and the SCSV where there are no extensions.
    let suites: Vec<u16> = p
        .ciphers
        .iter()
        .copied()
        .filter(|c| *c != SCSV_RENEGOTIATION)
        .collect();
    assert_eq!(suites, part, "{v}");

    // Secure renegotiation asked once, never twice (RFC 5746).
    let scsv = p.ciphers.contains(&SCSV_RENEGOTIATION);
    let ext = p.extensions.contains(&0xff01);
    match v {
        TlsVersion::Ssl3 => assert!(scsv && p.extensions.is_empty(), "{v}"),
        TlsVersion::Tls13 => assert!(!scsv && !ext, "{v}"),
        _ => assert!(!scsv && ext, "{v}: SCSV {scsv}, extension {ext}"),
    }

    // Exactly one version offered.
    match v {
        TlsVersion::Tls13 => {
            assert_eq!(p.legacy_version, 0x0303);
            assert_eq!(p.supported_versions, [0x0304]);
        }
        _ => {
            assert_eq!(p.legacy_version, v.wire());
            assert!(p.supported_versions.is_empty());
        }
    }
    if v != TlsVersion::Ssl3 {
        assert_eq!(p.sni.as_deref(), sni, "{v}");
        // A handshake of 256..=511 bytes hangs some appliances: padded past it.
        assert!(
            !(256..512).contains(&p.handshake_len),
            "{v}: {} bytes",
            p.handshake_len
        );
    }

    if v == TlsVersion::Tls13 {
        for g in &p.groups {
            assert!(
                GROUPS_TLS13.contains(g),
                "group {g} is not allowed in a TLS 1.3-only hello"
            );
        }
        for s in &p.sigalgs {
            assert!(SIGALGS_TLS13.contains(s), "sigalg {s:04x} in TLS 1.3");
        }
        let groups: Vec<u16> = p.key_shares.iter().map(|(g, _)| *g).collect();
        assert_eq!(groups, [GROUP_X25519, GROUP_P256]);
        for (g, key) in &p.key_shares {
            assert!(p.groups.contains(g), "a share for a group not listed");
            match *g {
                GROUP_X25519 => assert_x25519_valid(key),
                GROUP_P256 => assert_p256_valid(key),
                other => panic!("share for group {other}"),
            }
        }
    } else {
        assert!(p.key_shares.is_empty());
        // No FFDHE group: a DHE-only server would answer insufficient_security (RFC 7919).
        assert!(
            p.groups.iter().all(|g| !(256..512).contains(g)),
            "{v}: {:?}",
            p.groups
        );
    }
}

fn version() -> impl Strategy<Value = TlsVersion> {
    prop::sample::select(TlsVersion::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_wire_hello_parses_back_within_limits_with_valid_key_shares(
        v in version(),
        part in 0usize..3,
        sni in proptest::option::of("[a-z0-9]{1,20}(\\.[a-z0-9-]{1,20}){0,4}"),
    ) {
        let parts = suite_parts(v);
        let part = &parts[part % parts.len()];
        let keys = HelloKeys::generate().unwrap();
        let record = client_hello(v, part, sni.as_deref(), &keys);
        check_hello(v, part, sni.as_deref(), &record);
    }
}

#[test]
fn x25519_key_share_is_valid() {
    // Random bytes would have the top bit set half the time; a real public key never does.
    for _ in 0..200 {
        let keys = HelloKeys::generate().unwrap();
        assert_x25519_valid(&keys.x25519);
        assert_p256_valid(&keys.p256);
    }
}

#[test]
fn tls13_hello_lists_no_forbidden_groups() {
    let keys = HelloKeys::generate().unwrap();
    let record = client_hello(
        TlsVersion::Tls13,
        &suite_parts(TlsVersion::Tls13)[0],
        Some("dc1.lab.test"),
        &keys,
    );
    let p = parse(&record);
    // secp256k1, secp224k1, P-224, P-192 and the brainpool curves: RFC 8446 4.2.7 forbids them
    // in a TLS 1.3-only offer.
    for forbidden in [22, 20, 21, 19, 26, 27, 28] {
        assert!(!p.groups.contains(&forbidden), "{forbidden}");
    }
    assert!(p.groups.contains(&29) && p.groups.contains(&23));
}

#[test]
fn hellos_of_at_most_128_suites_cover_every_suite_common_first() {
    for v in TlsVersion::ALL {
        let parts = suite_parts(v);
        let joined: Vec<u16> = parts.concat();
        assert_eq!(joined, cipher_suites(v), "{v}");
        for p in &parts {
            assert!(p.len() <= MAX_SUITES, "{v}");
        }
    }
    // The first TLS 1.2 hello carries what real servers use, old 3DES and RC4 included.
    let first = &suite_parts(TlsVersion::Tls12)[0];
    for common in [
        0xc02f, 0xc030, 0xc02b, 0xc02c, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
        0x003c, 0x009e, 0x0033, 0x0039, 0x000a, 0xc012, 0x0005, 0x0004,
    ] {
        assert!(first.contains(&common), "{common:04x}");
    }
}

#[test]
fn no_hello_sends_both_the_renegotiation_scsv_and_the_extension() {
    let keys = HelloKeys::generate().unwrap();
    for v in TlsVersion::ALL {
        for part in suite_parts(v) {
            let p = parse(&client_hello(v, &part, Some("a.example"), &keys));
            let both = p.ciphers.contains(&SCSV_RENEGOTIATION) && p.extensions.contains(&0xff01);
            assert!(!both, "{v}");
        }
    }
}
