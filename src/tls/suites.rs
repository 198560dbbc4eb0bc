//! Cipher suites, key-exchange groups and signature algorithms: their names, what they are
//! made of, and a documented classification of each suite. Pure data and pure functions: the
//! scan's enumeration (`probe::suites`), the policy check, the comparison of scans and the
//! renderers all read their facts here, and so may any other part that meets a code point
//! (a client's ClientHello in a capture, a saved report).
//!
//! # The classification
//!
//! Every suite in the IANA registry falls in one of three classes, the worst flaw deciding:
//!
//! | class | flaws | sources |
//! |---|---|---|
//! | `insecure` | NULL encryption; anonymous key exchange (no server authentication); export-grade (40-56 bit) keys; RC4; single DES; 3DES and the other 64-bit block ciphers (IDEA, RC2) | RFC 9325 (BCP 195) 4.1: MUST NOT negotiate NULL, RC4 or less than 112 bits of security; RFC 7465 prohibits RC4; RFC 5246 F.1.1.1 on anonymous Diffie-Hellman; Sweet32 (CVE-2016-2183) on 64-bit blocks; RFC 8996 and the registry's `Recommended = N` |
//! | `weak` | CBC with an SHA-1 or MD5 MAC (Lucky 13, no AEAD); RSA key exchange; other key exchanges without forward secrecy (static DH or ECDH, PSK, Kerberos) | RFC 9325 4.1: SHOULD NOT RSA key transport or static DH, MUST prefer forward secrecy; draft-ietf-tls-deprecate-obsolete-kex; Mozilla's server-side TLS guidelines (5.7) leave them out of the "intermediate" configuration and keep them for "old" clients only |
//! | `ok` | none of the above: forward-secret key exchange with an AEAD or a CBC suite with a SHA-2 MAC; every TLS 1.3 suite but the integrity-only ones (RFC 9150), which are NULL encryption | IANA registry (`Recommended = Y` for the AEAD ones), Mozilla "intermediate" and "modern" |
//!
//! The facts of each suite (key exchange, authentication, cipher, key size, MAC) come from the
//! IANA registry as `tls-parser` carries it; the names are IANA's. OpenSSL's names for the same
//! code points are read from the linked OpenSSL at run time ([`openssl_name`]).

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
pub use tls_parser::{
    TlsCipherAu, TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac, TlsCipherSuite,
};

use crate::tls::TlsVersion;

/// TLS_EMPTY_RENEGOTIATION_INFO_SCSV: a signal, not a suite.
pub const SCSV_RENEGOTIATION: u16 = 0x00ff;
/// TLS_FALLBACK_SCSV: a signal, not a suite.
pub const SCSV_FALLBACK: u16 = 0x5600;

/// The registry's facts about a suite, if the code point is assigned.
pub fn info(id: u16) -> Option<&'static TlsCipherSuite> {
    TlsCipherSuite::from_id(id)
}

/// Every assigned suite (signalling values left out), in code point order.
pub fn all() -> Vec<&'static TlsCipherSuite> {
    let mut v: Vec<&'static TlsCipherSuite> = tls_parser::CIPHERS
        .values()
        .filter(|c| ![0, SCSV_RENEGOTIATION, SCSV_FALLBACK].contains(&c.id.0))
        .collect();
    v.sort_by_key(|c| c.id.0);
    v
}

/// The IANA name of a suite, or `0xC0FF` for an unassigned code point.
pub fn name(id: u16) -> String {
    match info(id) {
        Some(c) => c.name.to_string(),
        None => format!("0x{id:04X}"),
    }
}

/// A suite named by its IANA name (`TLS_RSA_WITH_3DES_EDE_CBC_SHA`, any case), its OpenSSL
/// name (`DES-CBC3-SHA`, as the linked OpenSSL knows it) or its code point (`0x000a`, `000A`).
pub fn id_of(name: &str) -> Option<u16> {
    let s = name.trim();
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if hex.len() == 4
        && let Ok(id) = u16::from_str_radix(hex, 16)
        && info(id).is_some()
    {
        return Some(id);
    }
    if let Some(c) = tls_parser::CIPHERS
        .values()
        .find(|c| c.name.eq_ignore_ascii_case(s))
    {
        return Some(c.id.0);
    }
    openssl_names()
        .iter()
        .map(|(id, n)| (*id, *n))
        .chain(LEGACY_OPENSSL_NAMES.iter().copied())
        .find(|(_, n)| n.eq_ignore_ascii_case(s))
        .map(|(id, _)| id)
}

/// OpenSSL's name for a suite (`ECDHE-RSA-AES128-GCM-SHA256`), where the linked OpenSSL knows
/// the code point, or where older OpenSSL releases named a suite newer ones dropped (3DES, RC4,
/// DES, export); TLS 1.3 suites have their IANA names there too.
pub fn openssl_name(id: u16) -> Option<&'static str> {
    openssl_names().get(&id).copied().or_else(|| {
        LEGACY_OPENSSL_NAMES
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, n)| *n)
    })
}

/// OpenSSL 1.0.2's names for suites that OpenSSL 3 builds often lack (`ssl/s3_lib.c` of that
/// release), so that `--forbid-suites DES-CBC3-SHA` means what it meant there.
const LEGACY_OPENSSL_NAMES: &[(u16, &str)] = &[
    (0x0003, "EXP-RC4-MD5"),
    (0x0004, "RC4-MD5"),
    (0x0005, "RC4-SHA"),
    (0x0006, "EXP-RC2-CBC-MD5"),
    (0x0007, "IDEA-CBC-SHA"),
    (0x0008, "EXP-DES-CBC-SHA"),
    (0x0009, "DES-CBC-SHA"),
    (0x000a, "DES-CBC3-SHA"),
    (0x0011, "EXP-EDH-DSS-DES-CBC-SHA"),
    (0x0012, "EDH-DSS-DES-CBC-SHA"),
    (0x0013, "EDH-DSS-DES-CBC3-SHA"),
    (0x0014, "EXP-EDH-RSA-DES-CBC-SHA"),
    (0x0015, "EDH-RSA-DES-CBC-SHA"),
    (0x0016, "EDH-RSA-DES-CBC3-SHA"),
    (0x0017, "EXP-ADH-RC4-MD5"),
    (0x0018, "ADH-RC4-MD5"),
    (0x0019, "EXP-ADH-DES-CBC-SHA"),
    (0x001a, "ADH-DES-CBC-SHA"),
    (0x001b, "ADH-DES-CBC3-SHA"),
    (0xc007, "ECDHE-ECDSA-RC4-SHA"),
    (0xc008, "ECDHE-ECDSA-DES-CBC3-SHA"),
    (0xc011, "ECDHE-RSA-RC4-SHA"),
    (0xc012, "ECDHE-RSA-DES-CBC3-SHA"),
    (0xc016, "AECDH-RC4-SHA"),
    (0xc017, "AECDH-DES-CBC3-SHA"),
];

/// OpenSSL's names, asked once of the linked library: every registered code point is decoded
/// with `SSL_bytes_to_cipher_list`, which knows every suite the library was built with.
fn openssl_names() -> &'static HashMap<u16, &'static str> {
    static NAMES: OnceLock<HashMap<u16, &'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut out = HashMap::new();
        let ids: Vec<u8> = all().iter().flat_map(|c| c.id.0.to_be_bytes()).collect();
        let decoded = (|| {
            let mut b = openssl::ssl::SslContext::builder(openssl::ssl::SslMethod::tls())?;
            b.set_security_level(0);
            let ssl = openssl::ssl::Ssl::new(&b.build())?;
            ssl.bytes_to_cipher_list(&ids, false)
        })();
        if let Ok(lists) = decoded {
            for c in &lists.suites {
                out.insert(u16::from_be_bytes(c.protocol_id()), c.name());
            }
        }
        out
    })
}

/// Whether a suite can be used with version `v`: SSLv3 only with RSA, DH and DHE key exchange
/// and MD5/SHA-1 MACs (it has no extensions to agree on a curve); TLS 1.0 and 1.1 without AEAD
/// and SHA-2 MACs, which came with TLS 1.2; TLS 1.2 with everything but TLS 1.3's own suites;
/// TLS 1.3 with those alone.
pub fn usable(id: u16, v: TlsVersion) -> bool {
    let Some(c) = info(id) else { return false };
    if [0, SCSV_RENEGOTIATION, SCSV_FALLBACK].contains(&id) {
        return false;
    }
    let tls13 = c.kx == TlsCipherKx::Tls13;
    let old_mac = matches!(
        c.mac,
        TlsCipherMac::HmacMd5 | TlsCipherMac::HmacSha1 | TlsCipherMac::Null
    );
    match v {
        TlsVersion::Tls13 => tls13,
        TlsVersion::Tls12 => !tls13,
        TlsVersion::Tls10 | TlsVersion::Tls11 => !tls13 && old_mac,
        TlsVersion::Ssl3 => {
            old_mac && matches!(c.kx, TlsCipherKx::Rsa | TlsCipherKx::Dh | TlsCipherKx::Dhe)
        }
    }
}

/// Every suite usable with `v`, in code point order.
pub fn usable_with(v: TlsVersion) -> Vec<u16> {
    all()
        .into_iter()
        .map(|c| c.id.0)
        .filter(|id| usable(*id, v))
        .collect()
}

/// How the key is agreed, in the words people use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyExchange {
    /// Ephemeral elliptic-curve Diffie-Hellman (ECDHE, and TLS 1.3's groups).
    Ecdhe,
    /// Ephemeral finite-field Diffie-Hellman.
    Dhe,
    /// The client encrypts the secret to the server's RSA key: no forward secrecy.
    Rsa,
    /// Static (EC)DH, PSK, Kerberos, SRP and the rest.
    Other,
}

/// The key exchange of a suite (TLS 1.3 suites: `Ecdhe`, the groups deciding).
pub fn key_exchange(id: u16) -> Option<KeyExchange> {
    let c = info(id)?;
    Some(match c.kx {
        TlsCipherKx::Ecdhe | TlsCipherKx::Tls13 => KeyExchange::Ecdhe,
        TlsCipherKx::Dhe => KeyExchange::Dhe,
        TlsCipherKx::Rsa => KeyExchange::Rsa,
        _ => KeyExchange::Other,
    })
}

/// The class of a suite, worst first: `Insecure < Weak < Ok`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuiteClass {
    Insecure,
    Weak,
    Ok,
}

impl SuiteClass {
    pub const ALL: [SuiteClass; 3] = [SuiteClass::Insecure, SuiteClass::Weak, SuiteClass::Ok];

    pub fn key(self) -> &'static str {
        match self {
            SuiteClass::Insecure => "insecure",
            SuiteClass::Weak => "weak",
            SuiteClass::Ok => "ok",
        }
    }
}

impl fmt::Display for SuiteClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl std::str::FromStr for SuiteClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "insecure" => Ok(SuiteClass::Insecure),
            "weak" => Ok(SuiteClass::Weak),
            "ok" => Ok(SuiteClass::Ok),
            _ => Err(format!("unknown suite class '{s}' (insecure, weak, ok)")),
        }
    }
}

/// One reason a suite is not `ok`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flaw {
    /// No encryption at all.
    NullCipher,
    /// The server is not authenticated: anyone in the path can stand in for it.
    Anonymous,
    /// 40- or 56-bit "export" keys (FREAK, Logjam).
    Export,
    Rc4,
    /// Single DES: 56-bit keys.
    Des,
    /// 3DES: a 64-bit block (Sweet32) and 112 bits of security.
    #[serde(rename = "3des")]
    TripleDes,
    /// Another 64-bit block cipher (IDEA, RC2): Sweet32.
    SmallBlock,
    /// CBC with an SHA-1 or MD5 MAC: MAC-then-encrypt padding oracles (Lucky 13), no AEAD.
    CbcSha1,
    /// RSA key transport: no forward secrecy, and Bleichenbacher-style oracles (ROBOT).
    RsaKeyExchange,
    /// Static DH or ECDH, PSK or Kerberos key exchange: no forward secrecy.
    NoForwardSecrecy,
}

impl Flaw {
    pub const ALL: [Flaw; 10] = [
        Flaw::NullCipher,
        Flaw::Anonymous,
        Flaw::Export,
        Flaw::Rc4,
        Flaw::Des,
        Flaw::TripleDes,
        Flaw::SmallBlock,
        Flaw::CbcSha1,
        Flaw::RsaKeyExchange,
        Flaw::NoForwardSecrecy,
    ];

    pub fn class(self) -> SuiteClass {
        match self {
            Flaw::NullCipher
            | Flaw::Anonymous
            | Flaw::Export
            | Flaw::Rc4
            | Flaw::Des
            | Flaw::TripleDes
            | Flaw::SmallBlock => SuiteClass::Insecure,
            Flaw::CbcSha1 | Flaw::RsaKeyExchange | Flaw::NoForwardSecrecy => SuiteClass::Weak,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Flaw::NullCipher => "null_cipher",
            Flaw::Anonymous => "anonymous",
            Flaw::Export => "export",
            Flaw::Rc4 => "rc4",
            Flaw::Des => "des",
            Flaw::TripleDes => "3des",
            Flaw::SmallBlock => "small_block",
            Flaw::CbcSha1 => "cbc_sha1",
            Flaw::RsaKeyExchange => "rsa_key_exchange",
            Flaw::NoForwardSecrecy => "no_forward_secrecy",
        }
    }

    /// What it means, for people.
    pub fn text(self) -> &'static str {
        match self {
            Flaw::NullCipher => "no encryption",
            Flaw::Anonymous => "anonymous: the server is not authenticated",
            Flaw::Export => "export-grade keys (40-56 bits)",
            Flaw::Rc4 => "RC4 (prohibited by RFC 7465)",
            Flaw::Des => "single DES (56-bit keys)",
            Flaw::TripleDes => "3DES (64-bit block: Sweet32)",
            Flaw::SmallBlock => "a 64-bit block cipher (Sweet32)",
            Flaw::CbcSha1 => "CBC with an SHA-1 or MD5 MAC",
            Flaw::RsaKeyExchange => "RSA key exchange (no forward secrecy)",
            Flaw::NoForwardSecrecy => "no forward secrecy",
        }
    }

    /// Where the judgement comes from.
    pub fn source(self) -> &'static str {
        match self {
            Flaw::NullCipher => "RFC 9325 4.1 (MUST NOT negotiate NULL encryption)",
            Flaw::Anonymous => "RFC 5246 F.1.1.1; RFC 9325 4.1 (authenticated key exchange)",
            Flaw::Export | Flaw::Des => "RFC 9325 4.1 (MUST NOT: less than 112 bits); RFC 8996",
            Flaw::Rc4 => "RFC 7465; RFC 9325 4.1",
            Flaw::TripleDes | Flaw::SmallBlock => {
                "CVE-2016-2183 (Sweet32); RFC 9325 4.1 (SHOULD NOT: less than 128 bits)"
            }
            Flaw::CbcSha1 => {
                "Mozilla server-side TLS 5.7 (not in intermediate); IANA Recommended = N"
            }
            Flaw::RsaKeyExchange | Flaw::NoForwardSecrecy => {
                "RFC 9325 4.1 (SHOULD NOT static RSA or DH; prefer forward secrecy); \
                 draft-ietf-tls-deprecate-obsolete-kex"
            }
        }
    }
}

/// A suite's class and every flaw that put it there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    pub class: SuiteClass,
    /// Worst first; empty for `ok`.
    pub flaws: Vec<Flaw>,
}

/// The flaws of a registered suite (see the module docs); `None` for an unassigned code point.
pub fn flaws(id: u16) -> Option<Vec<Flaw>> {
    let c = info(id)?;
    let mut out = Vec::new();
    if c.enc == TlsCipherEnc::Null {
        out.push(Flaw::NullCipher);
    }
    if c.au == TlsCipherAu::Null && c.kx != TlsCipherKx::Null {
        out.push(Flaw::Anonymous);
    }
    if c.name.contains("_EXPORT") || (c.enc != TlsCipherEnc::Null && c.enc_size < 56) {
        out.push(Flaw::Export);
    }
    match c.enc {
        TlsCipherEnc::Rc4 => out.push(Flaw::Rc4),
        TlsCipherEnc::Des if !out.contains(&Flaw::Export) => out.push(Flaw::Des),
        TlsCipherEnc::TripleDes => out.push(Flaw::TripleDes),
        TlsCipherEnc::Idea => out.push(Flaw::SmallBlock),
        TlsCipherEnc::Rc2 if !out.contains(&Flaw::Export) => out.push(Flaw::SmallBlock),
        _ => {}
    }
    if c.enc_mode == TlsCipherEncMode::Cbc
        && matches!(c.mac, TlsCipherMac::HmacSha1 | TlsCipherMac::HmacMd5)
    {
        out.push(Flaw::CbcSha1);
    }
    match c.kx {
        TlsCipherKx::Rsa => out.push(if c.au == TlsCipherAu::Psk {
            Flaw::NoForwardSecrecy
        } else {
            Flaw::RsaKeyExchange
        }),
        TlsCipherKx::Dh
        | TlsCipherKx::Ecdh
        | TlsCipherKx::Psk
        | TlsCipherKx::Krb5
        | TlsCipherKx::Null
            if !out.contains(&Flaw::Anonymous) =>
        {
            out.push(Flaw::NoForwardSecrecy)
        }
        _ => {}
    }
    out.sort_by_key(|f| (f.class(), *f));
    out.dedup();
    Some(out)
}

/// The class of a registered suite and why; `None` for an unassigned code point.
pub fn classify(id: u16) -> Option<Classification> {
    let flaws = flaws(id)?;
    let class = flaws.first().map_or(SuiteClass::Ok, |f| f.class());
    Some(Classification { class, flaws })
}

/// The class of a suite; an unassigned code point counts as `insecure` (nobody can say what it
/// is).
pub fn class_of(id: u16) -> SuiteClass {
    classify(id).map_or(SuiteClass::Insecure, |c| c.class)
}

/// What kind of key exchange a group is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// An elliptic curve (ECDHE).
    Ecdhe,
    /// A finite-field group of RFC 7919 (FFDHE).
    Ffdhe,
    /// A hybrid or pure post-quantum key exchange (ML-KEM).
    PostQuantum,
}

/// A key-exchange group of the IANA "TLS Supported Groups" registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Group {
    pub id: u16,
    /// The registry's name (`secp256r1`, `x25519`, `ffdhe2048`).
    pub name: &'static str,
    /// The name people often use instead (`P-256`), if any.
    pub alias: Option<&'static str>,
    pub kind: GroupKind,
    /// Whether RFC 8446 4.2.7 (and later registrations) let TLS 1.3 use it.
    pub tls13: bool,
}

const fn g(
    id: u16,
    name: &'static str,
    alias: Option<&'static str>,
    kind: GroupKind,
    tls13: bool,
) -> Group {
    Group {
        id,
        name,
        alias,
        kind,
        tls13,
    }
}

use GroupKind::{Ecdhe as EC, Ffdhe as FF, PostQuantum as PQ};

/// The registered groups a client may meet, in code point order.
pub const GROUPS: &[Group] = &[
    g(1, "sect163k1", Some("K-163"), EC, false),
    g(2, "sect163r1", None, EC, false),
    g(3, "sect163r2", Some("B-163"), EC, false),
    g(4, "sect193r1", None, EC, false),
    g(5, "sect193r2", None, EC, false),
    g(6, "sect233k1", Some("K-233"), EC, false),
    g(7, "sect233r1", Some("B-233"), EC, false),
    g(8, "sect239k1", None, EC, false),
    g(9, "sect283k1", Some("K-283"), EC, false),
    g(10, "sect283r1", Some("B-283"), EC, false),
    g(11, "sect409k1", Some("K-409"), EC, false),
    g(12, "sect409r1", Some("B-409"), EC, false),
    g(13, "sect571k1", Some("K-571"), EC, false),
    g(14, "sect571r1", Some("B-571"), EC, false),
    g(15, "secp160k1", None, EC, false),
    g(16, "secp160r1", None, EC, false),
    g(17, "secp160r2", None, EC, false),
    g(18, "secp192k1", None, EC, false),
    g(19, "secp192r1", Some("P-192"), EC, false),
    g(20, "secp224k1", None, EC, false),
    g(21, "secp224r1", Some("P-224"), EC, false),
    g(22, "secp256k1", None, EC, false),
    g(23, "secp256r1", Some("P-256"), EC, true),
    g(24, "secp384r1", Some("P-384"), EC, true),
    g(25, "secp521r1", Some("P-521"), EC, true),
    g(26, "brainpoolP256r1", None, EC, false),
    g(27, "brainpoolP384r1", None, EC, false),
    g(28, "brainpoolP512r1", None, EC, false),
    g(29, "x25519", Some("X25519"), EC, true),
    g(30, "x448", Some("X448"), EC, true),
    g(31, "brainpoolP256r1tls13", None, EC, true),
    g(32, "brainpoolP384r1tls13", None, EC, true),
    g(33, "brainpoolP512r1tls13", None, EC, true),
    g(256, "ffdhe2048", None, FF, true),
    g(257, "ffdhe3072", None, FF, true),
    g(258, "ffdhe4096", None, FF, true),
    g(259, "ffdhe6144", None, FF, true),
    g(260, "ffdhe8192", None, FF, true),
    g(0x0200, "MLKEM512", None, PQ, true),
    g(0x0201, "MLKEM768", None, PQ, true),
    g(0x0202, "MLKEM1024", None, PQ, true),
    g(0x11eb, "SecP256r1MLKEM768", None, PQ, true),
    g(0x11ec, "X25519MLKEM768", None, PQ, true),
    g(0x11ed, "SecP384r1MLKEM1024", None, PQ, true),
    g(0x6399, "X25519Kyber768Draft00", None, PQ, true),
];

/// A registered group.
pub fn group(id: u16) -> Option<&'static Group> {
    GROUPS.iter().find(|g| g.id == id)
}

/// The registry's name of a group, or `0x001F` when unknown here.
pub fn group_name(id: u16) -> String {
    match group(id) {
        Some(g) => g.name.to_string(),
        None => format!("0x{id:04X}"),
    }
}

/// A group by its registry name, its common alias (`P-256`) or its code point, any case.
pub fn group_id(name: &str) -> Option<u16> {
    let s = name.trim();
    GROUPS
        .iter()
        .find(|g| {
            g.name.eq_ignore_ascii_case(s) || g.alias.is_some_and(|a| a.eq_ignore_ascii_case(s))
        })
        .map(|g| g.id)
        .or_else(|| {
            let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
            u16::from_str_radix(hex, 16).ok()
        })
}

/// A signature scheme of the IANA "TLS SignatureScheme" registry, or one of TLS 1.2's
/// (hash, signature) pairs that the registry keeps for backward compatibility.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureScheme {
    pub id: u16,
    pub name: &'static str,
    /// Whether TLS 1.3 lets a client offer it (RFC 8446 4.2.3: no DSA, no SHA-224).
    pub tls13: bool,
}

const fn s(id: u16, name: &'static str, tls13: bool) -> SignatureScheme {
    SignatureScheme { id, name, tls13 }
}

/// The signature schemes a client may meet, in code point order.
pub const SIGNATURE_SCHEMES: &[SignatureScheme] = &[
    s(0x0101, "rsa_md5", false),
    s(0x0201, "rsa_pkcs1_sha1", true),
    s(0x0202, "dsa_sha1", false),
    s(0x0203, "ecdsa_sha1", true),
    s(0x0301, "rsa_sha224", false),
    s(0x0302, "dsa_sha224", false),
    s(0x0303, "ecdsa_sha224", false),
    s(0x0401, "rsa_pkcs1_sha256", true),
    s(0x0402, "dsa_sha256", false),
    s(0x0403, "ecdsa_secp256r1_sha256", true),
    s(0x0501, "rsa_pkcs1_sha384", true),
    s(0x0502, "dsa_sha384", false),
    s(0x0503, "ecdsa_secp384r1_sha384", true),
    s(0x0601, "rsa_pkcs1_sha512", true),
    s(0x0602, "dsa_sha512", false),
    s(0x0603, "ecdsa_secp521r1_sha512", true),
    s(0x0804, "rsa_pss_rsae_sha256", true),
    s(0x0805, "rsa_pss_rsae_sha384", true),
    s(0x0806, "rsa_pss_rsae_sha512", true),
    s(0x0807, "ed25519", true),
    s(0x0808, "ed448", true),
    s(0x0809, "rsa_pss_pss_sha256", true),
    s(0x080a, "rsa_pss_pss_sha384", true),
    s(0x080b, "rsa_pss_pss_sha512", true),
    s(0x081a, "ecdsa_brainpoolP256r1tls13_sha256", true),
    s(0x081b, "ecdsa_brainpoolP384r1tls13_sha384", true),
    s(0x081c, "ecdsa_brainpoolP512r1tls13_sha512", true),
];

pub fn signature_scheme(id: u16) -> Option<&'static SignatureScheme> {
    SIGNATURE_SCHEMES.iter().find(|s| s.id == id)
}

/// The name of a signature scheme, or `0x0420` when unknown here.
pub fn signature_scheme_name(id: u16) -> String {
    match signature_scheme(id) {
        Some(s) => s.name.to_string(),
        None => format!("0x{id:04X}"),
    }
}

/// A name for a server's own finite-field Diffie-Hellman prime (the `dh_p` of a TLS 1.0-1.2
/// ServerKeyExchange, big-endian): `ffdhe2048` for the RFC 7919 groups, `modp2048` for the
/// RFC 2409/3526 ones (both recognised by their first 128 bits: both kinds start with 64 one
/// bits, then the digits of e or of pi), else `2048-bit custom`.
pub fn dh_prime_name(p: &[u8]) -> String {
    let p = {
        let start = p.iter().position(|b| *b != 0).unwrap_or(p.len());
        &p[start..]
    };
    let bits = if p.is_empty() {
        0
    } else {
        (p.len() - 1) * 8 + (8 - p[0].leading_zeros() as usize)
    };
    const FFDHE: [u8; 16] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xad, 0xf8, 0x54, 0x58, 0xa2, 0xbb, 0x4a,
        0x9a,
    ];
    const MODP: [u8; 16] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc9, 0x0f, 0xda, 0xa2, 0x21, 0x68, 0xc2,
        0x34,
    ];
    let ends_in_ones = p.len() >= 8 && p[p.len() - 8..].iter().all(|b| *b == 0xff);
    match p.get(..16) {
        Some(head) if head == FFDHE && ends_in_ones => format!("ffdhe{bits}"),
        Some(head) if head == MODP && ends_in_ones => format!("modp{bits}"),
        _ => format!("{bits}-bit custom"),
    }
}

/// The number of bits of a big-endian number.
pub fn bit_length(n: &[u8]) -> usize {
    let start = n.iter().position(|b| *b != 0).unwrap_or(n.len());
    let n = &n[start..];
    match n.first() {
        None => 0,
        Some(first) => (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str) -> SuiteClass {
        classify(id_of(name).unwrap_or_else(|| panic!("{name}")))
            .unwrap()
            .class
    }

    #[test]
    fn the_classes_of_well_known_suites() {
        use SuiteClass::*;
        for (n, c) in [
            ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", Ok),
            ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", Ok),
            ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", Ok),
            ("TLS_AES_128_GCM_SHA256", Ok),
            ("TLS_CHACHA20_POLY1305_SHA256", Ok),
            ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", Ok),
            ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", Weak),
            ("TLS_RSA_WITH_AES_128_GCM_SHA256", Weak),
            ("TLS_RSA_WITH_AES_256_CBC_SHA", Weak),
            ("TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256", Weak),
            ("TLS_PSK_WITH_AES_128_GCM_SHA256", Weak),
            ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", Insecure),
            ("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", Insecure),
            ("TLS_RSA_WITH_RC4_128_SHA", Insecure),
            ("TLS_RSA_WITH_DES_CBC_SHA", Insecure),
            ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", Insecure),
            ("TLS_RSA_WITH_NULL_SHA256", Insecure),
            ("TLS_DH_anon_WITH_AES_128_GCM_SHA256", Insecure),
            ("TLS_ECDH_anon_WITH_AES_128_CBC_SHA", Insecure),
            ("TLS_RSA_WITH_IDEA_CBC_SHA", Insecure),
            ("TLS_SHA256_SHA256", Insecure),
        ] {
            assert_eq!(class(n), c, "{n}");
        }
        let adh = classify(0x00a6).unwrap();
        assert_eq!(adh.flaws, [Flaw::Anonymous]);
        let exp = classify(0x0003).unwrap();
        assert_eq!(exp.class, SuiteClass::Insecure);
        assert!(exp.flaws.contains(&Flaw::Export) && exp.flaws.contains(&Flaw::Rc4));
        assert!(!exp.flaws.contains(&Flaw::Des));
        assert_eq!(
            classify(0x002f).unwrap().flaws,
            [Flaw::CbcSha1, Flaw::RsaKeyExchange]
        );
        assert!(classify(0xfefe).is_none());
        assert_eq!(class_of(0xfefe), SuiteClass::Insecure);
    }

    #[test]
    fn every_registered_suite_has_a_class_and_flaws_agree_with_it() {
        for c in all() {
            let k = classify(c.id.0).unwrap();
            assert_eq!(
                k.class,
                k.flaws.first().map_or(SuiteClass::Ok, |f| f.class()),
                "{}",
                c.name
            );
            // An ok suite has forward secrecy and real encryption.
            if k.class == SuiteClass::Ok {
                assert!(
                    matches!(
                        c.kx,
                        TlsCipherKx::Ecdhe
                            | TlsCipherKx::Dhe
                            | TlsCipherKx::Tls13
                            | TlsCipherKx::Eccpwd
                    ),
                    "{}",
                    c.name
                );
                assert!(
                    c.enc != TlsCipherEnc::Null && c.enc_size >= 128,
                    "{}",
                    c.name
                );
            }
        }
    }

    #[test]
    fn names_and_code_points() {
        assert_eq!(id_of("TLS_RSA_WITH_3DES_EDE_CBC_SHA"), Some(0x000a));
        assert_eq!(id_of("tls_rsa_with_3des_ede_cbc_sha"), Some(0x000a));
        assert_eq!(id_of("0x000a"), Some(0x000a));
        assert_eq!(id_of("C02F"), Some(0xc02f));
        assert_eq!(id_of("ECDHE-RSA-AES128-GCM-SHA256"), Some(0xc02f));
        assert_eq!(openssl_name(0xc02f), Some("ECDHE-RSA-AES128-GCM-SHA256"));
        assert_eq!(openssl_name(0x1301), Some("TLS_AES_128_GCM_SHA256"));
        assert_eq!(id_of("nonsense"), None);
        assert_eq!(name(0x1302), "TLS_AES_256_GCM_SHA384");
        assert_eq!(name(0xfefe), "0xFEFE");
        assert_eq!(group_name(29), "x25519");
        assert_eq!(group_id("P-256"), Some(23));
        assert_eq!(group_id("X25519MLKEM768"), Some(0x11ec));
        assert_eq!(signature_scheme_name(0x0804), "rsa_pss_rsae_sha256");
    }

    #[test]
    fn suites_per_version() {
        assert!(usable(0x000a, TlsVersion::Ssl3));
        assert!(!usable(0xc013, TlsVersion::Ssl3), "no curves in SSLv3");
        assert!(usable(0xc013, TlsVersion::Tls10));
        assert!(!usable(0xc02f, TlsVersion::Tls11), "AEAD needs TLS 1.2");
        assert!(usable(0xc02f, TlsVersion::Tls12));
        assert!(!usable(0x1301, TlsVersion::Tls12));
        assert!(usable(0x1301, TlsVersion::Tls13));
        assert!(!usable(SCSV_RENEGOTIATION, TlsVersion::Tls12));
        assert_eq!(usable_with(TlsVersion::Tls13).len(), 11);
    }

    #[test]
    fn dh_primes_are_named() {
        // RFC 7919 ffdhe2048 and RFC 3526 group 14 (2048-bit MODP), from their first and
        // last bytes.
        let mut ffdhe = vec![0xffu8; 256];
        ffdhe[8..16].copy_from_slice(&[0xad, 0xf8, 0x54, 0x58, 0xa2, 0xbb, 0x4a, 0x9a]);
        ffdhe[100] = 0x12;
        assert_eq!(dh_prime_name(&ffdhe), "ffdhe2048");
        let mut modp = vec![0xffu8; 256];
        modp[8..16].copy_from_slice(&[0xc9, 0x0f, 0xda, 0xa2, 0x21, 0x68, 0xc2, 0x34]);
        assert_eq!(dh_prime_name(&modp), "modp2048");
        let mut custom = vec![0x80u8; 128];
        custom[127] = 0x11;
        assert_eq!(dh_prime_name(&custom), "1024-bit custom");
        assert_eq!(bit_length(&[0, 0x01, 0]), 9);
    }
}
