//! Certificates: what an endpoint's TLS certificate says and whether it will carry a client.
//!
//! An expired or mis-scoped certificate breaks LDAPS as surely as a protocol cut. After an
//! accepted handshake the OpenSSL engine keeps the chain the server sent (DER); this module reads
//! it ([`parse`]), matches names ([`names`]), verifies trust against a store ([`trust`]), and turns
//! all of it into findings with stable keys ([`examine`]). Comparing endpoints with each other is
//! `analysis::certs`. Nothing here does network I/O or prints; loading a trust store reads files.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::tls::TlsVersion;

mod examine;
pub mod names;
pub mod parse;
pub mod trust;

pub use examine::{EndpointNames, Settings, day, examine, now};
pub use trust::TrustStore;

/// Days before expiry from which `expires_soon` is reported, unless `--cert-warn-days` says
/// otherwise.
pub const DEFAULT_WARN_DAYS: u32 = 30;

/// The certificate of one endpoint, as saved on the endpoint (`certificate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// The chain as the server sent it, its own certificate first.
    pub chain: Vec<CertInfo>,
    /// The subject common name of the server's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// DNS names in the subject alternative names.
    #[serde(default)]
    pub dns_names: Vec<String>,
    /// IP addresses in the subject alternative names.
    #[serde(default)]
    pub ip_addresses: Vec<String>,
    /// Key usage bits (`digitalSignature`, `keyEncipherment`, ...); absent when the certificate
    /// has no key usage extension (no restriction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_usage: Option<Vec<String>>,
    /// Extended key usage purposes (`serverAuth`, `clientAuth`, ...); absent when the
    /// certificate has no such extension (no restriction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_key_usage: Option<Vec<String>>,
    /// Each name a client may use, and whether the certificate covers it.
    #[serde(default)]
    pub names: Vec<NameCheck>,
    pub trust: Trust,
    #[serde(default)]
    pub findings: Vec<CertFinding>,
    /// The versions that served this chain.
    #[serde(default)]
    pub versions: Vec<TlsVersion>,
    /// Versions that served a different chain, each with its own analysis.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub other_chains: BTreeMap<TlsVersion, Certificate>,
}

/// One certificate of a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    /// The subject as an RFC 4514 string, most specific first (`CN=dc1,O=Corp`).
    pub subject: String,
    pub issuer: String,
    /// The serial number in hexadecimal, upper case.
    pub serial: String,
    /// SHA-256 of the DER encoding, upper-case hexadecimal pairs joined by `:`.
    pub sha256: String,
    /// RFC 3339 times.
    pub not_before: String,
    pub not_after: String,
    /// Whole days from the scan to `not_after`; negative once expired.
    pub days_left: i64,
    /// `RSA`, `EC`, `Ed25519`, `Ed448`, `DSA`, `RSA-PSS`, ...
    pub key_type: String,
    pub key_bits: u32,
    /// The named curve of an EC key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
    /// As OpenSSL names it (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`).
    pub signature_algorithm: String,
    /// Issued by itself and signed with its own key.
    pub self_signed: bool,
    /// A CA certificate (basic constraints CA:TRUE).
    pub ca: bool,
}

impl CertInfo {
    /// `not_after` in seconds since 1970.
    pub fn not_after_unix(&self) -> i64 {
        unix(&self.not_after)
    }

    /// `not_before` in seconds since 1970.
    pub fn not_before_unix(&self) -> i64 {
        unix(&self.not_before)
    }

    /// Whole days left at `now` (seconds since 1970); negative once expired.
    pub fn days_left_at(&self, now: i64) -> i64 {
        (self.not_after_unix() - now).div_euclid(86_400)
    }
}

fn unix(rfc3339: &str) -> i64 {
    match humantime::parse_rfc3339_weak(rfc3339) {
        Ok(t) => match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        },
        Err(_) => 0,
    }
}

/// Where a name checked against the certificate comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameSource {
    /// The name scanned (the server name sent, or the address scanned).
    Scanned,
    /// The directory's own `dnsHostName` from its RootDSE.
    DnsHostName,
    /// `*.DOMAIN`, the wildcard Entra Domain Services requires (its DCs have random names).
    DomainWildcard,
}

impl NameSource {
    pub fn label(self) -> &'static str {
        match self {
            NameSource::Scanned => "the scanned name",
            NameSource::DnsHostName => "the RootDSE dnsHostName",
            NameSource::DomainWildcard => "the domain wildcard",
        }
    }
}

/// One name and whether the certificate covers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameCheck {
    pub name: String,
    pub source: NameSource,
    pub matched: bool,
    /// What matched it: `DNS:*.corp.test`, `IP:10.0.0.1` or `CN:dc1.corp.test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// The outcome of verifying the chain as sent against a trust store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trust {
    pub verified: bool,
    /// The store used: `system`, plus `--ca-file PATH` / `--ca-dir PATH` when given.
    pub store: String,
    /// OpenSSL's verification error, with the certificate it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// OpenSSL's `X509_V_ERR_*` number of that error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i32>,
}

/// The stable keys of certificate findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKey {
    Expired,
    NotYetValid,
    NameMismatch,
    Untrusted,
    ChainIncomplete,
    NoServerAuthEku,
    KeyUsage,
    ExpiresSoon,
    WeakKey,
    WeakSignature,
    SelfSigned,
}

impl FindingKey {
    pub fn key(self) -> &'static str {
        match self {
            FindingKey::Expired => "expired",
            FindingKey::NotYetValid => "not_yet_valid",
            FindingKey::NameMismatch => "name_mismatch",
            FindingKey::Untrusted => "untrusted",
            FindingKey::ChainIncomplete => "chain_incomplete",
            FindingKey::NoServerAuthEku => "no_server_auth_eku",
            FindingKey::KeyUsage => "key_usage",
            FindingKey::ExpiresSoon => "expires_soon",
            FindingKey::WeakKey => "weak_key",
            FindingKey::WeakSignature => "weak_signature",
            FindingKey::SelfSigned => "self_signed",
        }
    }
}

impl fmt::Display for FindingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Clients fail, or will (expired, wrong name, untrusted, ...).
    Error,
    /// Clients may fail, or will soon (expires soon, weak key or signature, self-signed).
    Warning,
    /// Worth knowing, not a problem as configured (a self-signed RDP certificate).
    Info,
}

impl Severity {
    /// The name used in the JSON report and in metric labels.
    pub fn key(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One thing wrong (or worth knowing) about a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertFinding {
    pub key: FindingKey,
    pub severity: Severity,
    pub message: String,
}

impl Certificate {
    /// The server's own certificate.
    pub fn leaf(&self) -> Option<&CertInfo> {
        self.chain.first()
    }

    pub fn has(&self, key: FindingKey) -> bool {
        self.findings.iter().any(|f| f.key == key)
    }

    /// Findings that are problems (errors and warnings), worst first.
    pub fn problems(&self) -> impl Iterator<Item = &CertFinding> {
        let mut v: Vec<&CertFinding> = self
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .collect();
        v.sort_by_key(|f| (f.severity, f.key));
        v.into_iter()
    }

    /// Whether a client would accept it: no error-level finding.
    pub fn valid(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// How certificates of related endpoints disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InconsistencyKind {
    /// One directory server (one address) serves different certificates on its LDAP ports
    /// (636, 3269, and StartTLS on 389, 3268).
    PortsDiffer,
    /// Directory servers of one domain have certificates from different issuers.
    IssuersDiffer,
    /// Directory servers of one domain have certificates whose expiry dates lie far apart.
    ExpirySpread,
}

impl InconsistencyKind {
    pub fn key(self) -> &'static str {
        match self {
            InconsistencyKind::PortsDiffer => "ports_differ",
            InconsistencyKind::IssuersDiffer => "issuers_differ",
            InconsistencyKind::ExpirySpread => "expiry_spread",
        }
    }
}

/// Certificates that should look alike and do not: usually a renewal half done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inconsistency {
    pub kind: InconsistencyKind,
    pub message: String,
    /// The endpoints concerned, as `target [address]:port`.
    pub endpoints: Vec<String>,
}
