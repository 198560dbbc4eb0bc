//! Certificates made on the spot for the lab and the tests: CAs, intermediates and server
//! certificates with chosen names, dates, key sizes, digests and usages.

use std::net::IpAddr;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509NameBuilder};

/// The key of a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySpec {
    Rsa(u32),
    /// ECDSA on P-256.
    P256,
}

/// What a certificate should say.
#[derive(Clone)]
pub struct CertSpec {
    /// Subject common name.
    pub cn: String,
    /// Subject organisation, if any.
    pub org: Option<String>,
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
    /// Validity, in days from now (negative: in the past).
    pub not_before_days: i64,
    pub not_after_days: i64,
    pub key: KeySpec,
    pub digest: MessageDigest,
    pub ca: bool,
    /// `None`: no extended key usage extension.
    pub eku: Option<Vec<&'static str>>,
    /// `None`: no key usage extension.
    pub key_usage: Option<Vec<&'static str>>,
}

impl CertSpec {
    /// A server certificate for `name`: DNS SAN `name`, a year from yesterday, RSA 2048,
    /// SHA-256, serverAuth, digitalSignature + keyEncipherment.
    pub fn server(name: &str) -> CertSpec {
        CertSpec {
            cn: name.to_string(),
            org: None,
            dns: vec![name.to_string()],
            ips: vec![],
            not_before_days: -1,
            not_after_days: 365,
            key: KeySpec::Rsa(2048),
            digest: MessageDigest::sha256(),
            ca: false,
            eku: Some(vec!["serverAuth"]),
            key_usage: Some(vec!["digitalSignature", "keyEncipherment"]),
        }
    }

    /// A CA certificate named `cn`, valid ten years.
    pub fn ca(cn: &str) -> CertSpec {
        CertSpec {
            cn: cn.to_string(),
            org: Some("tlsmatrix lab".into()),
            dns: vec![],
            ips: vec![],
            not_before_days: -1,
            not_after_days: 3650,
            key: KeySpec::Rsa(2048),
            digest: MessageDigest::sha256(),
            ca: true,
            eku: None,
            key_usage: Some(vec!["keyCertSign", "cRLSign"]),
        }
    }

    pub fn days(mut self, not_before: i64, not_after: i64) -> Self {
        self.not_before_days = not_before;
        self.not_after_days = not_after;
        self
    }
}

/// A certificate and its key.
#[derive(Clone)]
pub struct Issued {
    pub key: PKey<Private>,
    pub cert: X509,
}

fn time(days: i64) -> Result<Asn1Time, ErrorStack> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Asn1Time::from_unix((now + days * 86_400) as _)
}

fn new_key(k: KeySpec) -> Result<PKey<Private>, ErrorStack> {
    match k {
        KeySpec::Rsa(bits) => PKey::from_rsa(Rsa::generate(bits)?),
        KeySpec::P256 => {
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
            PKey::from_ec_key(EcKey::generate(&group)?)
        }
    }
}

/// Issue a certificate: by `issuer`, or self-signed when `None`.
pub fn issue(spec: &CertSpec, issuer: Option<&Issued>) -> Result<Issued, ErrorStack> {
    let key = new_key(spec.key)?;
    let mut name = X509NameBuilder::new()?;
    if let Some(o) = &spec.org {
        name.append_entry_by_text("O", o)?;
    }
    name.append_entry_by_text("CN", &spec.cn)?;
    let name = name.build();
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(64, MsbOption::ONE, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(issuer.map_or(&*name, |i| i.cert.subject_name()))?;
    b.set_pubkey(&key)?;
    let (not_before, not_after) = (time(spec.not_before_days)?, time(spec.not_after_days)?);
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    if spec.ca {
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    } else {
        b.append_extension(BasicConstraints::new().build()?)?;
    }
    if let Some(kus) = &spec.key_usage {
        let mut ku = KeyUsage::new();
        ku.critical();
        for k in kus {
            match *k {
                "digitalSignature" => ku.digital_signature(),
                "keyEncipherment" => ku.key_encipherment(),
                "keyAgreement" => ku.key_agreement(),
                "keyCertSign" => ku.key_cert_sign(),
                "cRLSign" => ku.crl_sign(),
                other => panic!("key usage {other} is not known to the lab"),
            };
        }
        b.append_extension(ku.build()?)?;
    }
    if let Some(ekus) = &spec.eku {
        let mut eku = ExtendedKeyUsage::new();
        for e in ekus {
            match *e {
                "serverAuth" => eku.server_auth(),
                "clientAuth" => eku.client_auth(),
                "codeSigning" => eku.code_signing(),
                other => panic!("extended key usage {other} is not known to the lab"),
            };
        }
        b.append_extension(eku.build()?)?;
    }
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    if let Some(i) = issuer {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(&i.cert), None))?;
        b.append_extension(aki)?;
    }
    if !spec.dns.is_empty() || !spec.ips.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for d in &spec.dns {
            san.dns(d);
        }
        for ip in &spec.ips {
            san.ip(&ip.to_string());
        }
        let san = san.build(&b.x509v3_context(issuer.map(|i| &*i.cert), None))?;
        b.append_extension(san)?;
    }
    let signer = issuer.map_or(&key, |i| &i.key);
    b.sign(signer, spec.digest)?;
    Ok(Issued {
        key,
        cert: b.build(),
    })
}

/// PEM of several certificates, in order.
pub fn pem(certs: &[&X509]) -> Vec<u8> {
    certs
        .iter()
        .flat_map(|c| c.to_pem().expect("PEM of a certificate"))
        .collect()
}
