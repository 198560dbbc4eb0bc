//! One DER certificate read into [`CertInfo`] and the leaf's names and usages, through OpenSSL's
//! own X.509 parser (the library that makes the handshakes reads the certificates too).

use foreign_types::ForeignTypeRef;
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::Id;
use openssl::x509::{X509, X509ExtendedKeyUsage, X509KeyUsage, X509NameRef, X509Ref};

use super::CertInfo;

/// A certificate read from DER, or why it could not be.
pub fn from_der(der: &[u8]) -> Result<X509, String> {
    X509::from_der(der)
        .map_err(|e| format!("the server sent a certificate that cannot be read: {e}"))
}

/// The facts of one certificate; `now` (seconds since 1970) gives `days_left`.
pub fn info(x: &X509Ref, now: i64) -> CertInfo {
    let not_before_unix = unix(x.not_before());
    let not_after_unix = unix(x.not_after());
    let (key_type, key_bits, curve) = key(x);
    CertInfo {
        subject: rfc4514(x.subject_name()),
        issuer: rfc4514(x.issuer_name()),
        serial: serial(x),
        sha256: x
            .digest(MessageDigest::sha256())
            .map(|d| hex_pairs(&d))
            .unwrap_or_default(),
        not_before: rfc3339(not_before_unix),
        not_after: rfc3339(not_after_unix),
        days_left: (not_after_unix - now).div_euclid(86_400),
        key_type,
        key_bits,
        curve,
        signature_algorithm: x.signature_algorithm().object().to_string(),
        self_signed: self_signed(x),
        ca: is_ca(x),
    }
}

/// `AB:CD:...`
pub fn hex_pairs(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn serial(x: &X509Ref) -> String {
    match x.serial_number().to_bn().and_then(|bn| bn.to_hex_str()) {
        Ok(s) => s.to_string(),
        Err(_) => String::new(),
    }
}

/// Seconds since 1970 of an ASN.1 time.
fn unix(t: &Asn1TimeRef) -> i64 {
    let Ok(epoch) = Asn1Time::from_unix(0) else {
        return 0;
    };
    match epoch.diff(t) {
        Ok(d) => d.days as i64 * 86_400 + d.secs as i64,
        Err(_) => 0,
    }
}

/// RFC 3339, to the second.
pub fn rfc3339(unix: i64) -> String {
    let t = if unix >= 0 {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix as u64)
    } else {
        std::time::UNIX_EPOCH - std::time::Duration::from_secs(unix.unsigned_abs())
    };
    humantime::format_rfc3339_seconds(t).to_string()
}

fn key(x: &X509Ref) -> (String, u32, Option<String>) {
    let Ok(k) = x.public_key() else {
        return ("unknown".into(), 0, None);
    };
    let id = k.id();
    let name = match id {
        Id::RSA => "RSA".to_string(),
        Id::RSA_PSS => "RSA-PSS".into(),
        Id::EC => "EC".into(),
        Id::DSA => "DSA".into(),
        Id::ED25519 => "Ed25519".into(),
        Id::ED448 => "Ed448".into(),
        Id::DH => "DH".into(),
        other => Nid::from_raw(other.as_raw())
            .short_name()
            .map(str::to_string)
            .unwrap_or_else(|_| format!("key type {}", other.as_raw())),
    };
    let curve = (id == Id::EC)
        .then(|| k.ec_key().ok())
        .flatten()
        .and_then(|ec| ec.group().curve_name())
        .and_then(|nid| nid.short_name().ok().map(str::to_string));
    (name, k.bits(), curve)
}

/// A CA certificate: basic constraints with CA:TRUE.
pub fn is_ca(x: &X509Ref) -> bool {
    flags(x) & openssl_sys::EXFLAG_CA != 0
}

fn flags(x: &X509Ref) -> u32 {
    // SAFETY: X509_get_extension_flags only reads (and caches) the parsed extensions of a valid
    // certificate, which `x` is for the whole call.
    unsafe { openssl_sys::X509_get_extension_flags(x.as_ptr() as *mut _) }
}

/// Issued by itself (subject and issuer alike) and carrying a signature its own key verifies.
/// (`X509_check_issued` would also ask for the keyCertSign usage, which a server's own
/// self-signed certificate seldom has.)
fn self_signed(x: &X509Ref) -> bool {
    x.subject_name()
        .try_cmp(x.issuer_name())
        .is_ok_and(|o| o == std::cmp::Ordering::Equal)
        && x.public_key().and_then(|k| x.verify(&k)).unwrap_or(false)
}

/// A distinguished name in RFC 4514 form: most specific first, `,` between attributes.
pub fn rfc4514(name: &X509NameRef) -> String {
    let mut parts: Vec<String> = name
        .entries()
        .map(|e| {
            let nid = e.object().nid();
            let key = match nid.short_name() {
                Ok(s) if nid != Nid::UNDEF => s.to_string(),
                _ => e.object().to_string(),
            };
            let value = string(e.data());
            format!("{key}={}", escape_value(&value))
        })
        .collect();
    parts.reverse();
    parts.join(",")
}

/// The text of an ASN.1 string, whatever its type; bytes that are not text are replaced.
fn string(s: &openssl::asn1::Asn1StringRef) -> String {
    s.to_string()
        .unwrap_or_else(|_| String::from_utf8_lossy(s.as_slice()).into_owned())
}

/// RFC 4514 escaping of an attribute value.
fn escape_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The subject's common name (the last one when there are several, as clients read it).
pub fn common_name(x: &X509Ref) -> Option<String> {
    x.subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .last()
        .map(|e| string(e.data()))
}

/// DNS names and IP addresses of the subject alternative names.
pub fn alt_names(x: &X509Ref) -> (Vec<String>, Vec<String>) {
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    if let Some(names) = x.subject_alt_names() {
        for n in &names {
            if let Some(d) = n.dnsname() {
                dns.push(d.to_string());
            } else if let Some(ip) = n.ipaddress() {
                let text = match ip.len() {
                    4 => std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string(),
                    16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(ip);
                        std::net::Ipv6Addr::from(a).to_string()
                    }
                    _ => hex_pairs(ip),
                };
                ips.push(text);
            }
        }
    }
    (dns, ips)
}

/// Key usage bits by their RFC 5280 names; `None` without the extension.
pub fn key_usage(x: &X509Ref) -> Option<Vec<String>> {
    let ku = x.key_usage()?;
    let names = [
        (X509KeyUsage::DIGITAL_SIGNATURE, "digitalSignature"),
        (X509KeyUsage::NON_REPUDIATION, "nonRepudiation"),
        (X509KeyUsage::KEY_ENCIPHERMENT, "keyEncipherment"),
        (X509KeyUsage::DATA_ENCIPHERMENT, "dataEncipherment"),
        (X509KeyUsage::KEY_AGREEMENT, "keyAgreement"),
        (X509KeyUsage::KEY_CERT_SIGN, "keyCertSign"),
        (X509KeyUsage::CRL_SIGN, "cRLSign"),
        (X509KeyUsage::ENCIPHER_ONLY, "encipherOnly"),
        (X509KeyUsage::DECIPHER_ONLY, "decipherOnly"),
    ];
    Some(
        names
            .iter()
            .filter(|(bit, _)| ku.contains(*bit))
            .map(|(_, n)| n.to_string())
            .collect(),
    )
}

/// Extended key usage purposes by their usual names; `None` without the extension. Purposes
/// OpenSSL does not know are shown as `other`.
pub fn extended_key_usage(x: &X509Ref) -> Option<Vec<String>> {
    let eku = x.extended_key_usage()?;
    let names = [
        (X509ExtendedKeyUsage::SSL_SERVER, "serverAuth"),
        (X509ExtendedKeyUsage::SSL_CLIENT, "clientAuth"),
        (X509ExtendedKeyUsage::SMIME, "emailProtection"),
        (X509ExtendedKeyUsage::CODE_SIGN, "codeSigning"),
        (X509ExtendedKeyUsage::SGC, "serverGatedCrypto"),
        (X509ExtendedKeyUsage::OCSP_SIGN, "OCSPSigning"),
        (X509ExtendedKeyUsage::TIMESTAMP, "timeStamping"),
        (X509ExtendedKeyUsage::DVCS, "DVCS"),
        (X509ExtendedKeyUsage::ANYEKU, "anyExtendedKeyUsage"),
    ];
    let mut out: Vec<String> = names
        .iter()
        .filter(|(bit, _)| eku.contains(*bit))
        .map(|(_, n)| n.to_string())
        .collect();
    if out.is_empty() {
        out.push("other".into());
    }
    Some(out)
}
