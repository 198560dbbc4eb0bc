//! From the chains an endpoint served to the saved [`Certificate`] with its findings.

use std::collections::BTreeMap;

use openssl::x509::X509;

use super::names::CertNames;
use super::parse;
use super::trust::TrustStore;
use super::{CertFinding, CertInfo, Certificate, FindingKey, NameCheck, NameSource, Severity};
use crate::tls::TlsVersion;

/// How certificates are judged in a scan.
#[derive(Clone, Copy, Debug)]
pub struct Settings<'a> {
    pub trust: &'a TrustStore,
    /// `expires_soon` below this many days left.
    pub warn_days: u32,
    /// The scan's time, seconds since 1970.
    pub now: i64,
}

/// The names a client of the endpoint may use.
#[derive(Clone, Copy, Debug, Default)]
pub struct EndpointNames<'a> {
    /// The server name sent, else the address scanned.
    pub scanned: Option<&'a str>,
    /// The directory's `dnsHostName`.
    pub dns_host_name: Option<&'a str>,
    /// The AD domain, for the `*.DOMAIN` check.
    pub domain: Option<&'a str>,
    /// An RDP endpoint: a self-signed certificate there is informational.
    pub rdp: bool,
}

/// The certificate of an endpoint from the chains (DER, leaf first) each accepted version
/// served, and the cipher suite each version negotiated. The chain of the newest version is the
/// endpoint's; versions that served another one get their own analysis in `other_chains`.
/// `None` when no chain was recorded or the server's certificate cannot be read.
pub fn examine(
    chains: &BTreeMap<TlsVersion, Vec<Vec<u8>>>,
    ciphers: &BTreeMap<TlsVersion, String>,
    names: &EndpointNames,
    settings: &Settings,
) -> Option<Certificate> {
    let mut groups: Vec<(&Vec<Vec<u8>>, Vec<TlsVersion>)> = Vec::new();
    // Newest version first, so the first group is the one a modern client sees.
    for (v, chain) in chains.iter().rev() {
        if chain.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|(c, _)| *c == chain) {
            Some((_, vs)) => vs.push(*v),
            None => groups.push((chain, vec![*v])),
        }
    }
    let mut groups = groups.into_iter();
    let (main_chain, mut main_versions) = groups.next()?;
    main_versions.sort();
    let mut main = one_chain(main_chain, main_versions, ciphers, names, settings)?;
    for (chain, mut versions) in groups {
        versions.sort();
        if let Some(other) = one_chain(chain, versions.clone(), ciphers, names, settings) {
            for v in versions {
                main.other_chains.insert(v, other.clone());
            }
        }
    }
    Some(main)
}

fn one_chain(
    ders: &[Vec<u8>],
    versions: Vec<TlsVersion>,
    ciphers: &BTreeMap<TlsVersion, String>,
    names: &EndpointNames,
    settings: &Settings,
) -> Option<Certificate> {
    // The server's own certificate must be readable; an unreadable one further up is left out.
    let first = parse::from_der(ders.first()?).ok()?;
    let mut x509s: Vec<X509> = vec![first];
    x509s.extend(ders[1..].iter().filter_map(|d| parse::from_der(d).ok()));
    let leaf = &x509s[0];
    let verification = settings.trust.verify(&x509s);
    let chain: Vec<CertInfo> = x509s.iter().map(|x| parse::info(x, settings.now)).collect();
    let (dns_names, ip_addresses) = parse::alt_names(leaf);
    let mut c = Certificate {
        common_name: parse::common_name(leaf),
        dns_names,
        ip_addresses,
        key_usage: parse::key_usage(leaf),
        extended_key_usage: parse::extended_key_usage(leaf),
        names: Vec::new(),
        trust: verification.trust.clone(),
        findings: Vec::new(),
        versions,
        other_chains: BTreeMap::new(),
        chain,
    };
    c.names = check_names(&c, names);

    let mut findings = Vec::new();
    let mut add = |key, severity, message: String| {
        findings.push(CertFinding {
            key,
            severity,
            message,
        })
    };
    dates_and_strength(&c.chain, settings, &mut add);
    name_findings(&c, &mut add);

    let leaf_info = &c.chain[0];
    let explicitly_trusted = c.trust.verified;
    if !c.trust.verified {
        let info = names.rdp && leaf_info.self_signed;
        add(
            FindingKey::Untrusted,
            if info {
                Severity::Info
            } else {
                Severity::Error
            },
            format!(
                "not trusted ({}): {}",
                c.trust.store,
                c.trust.error.as_deref().unwrap_or("verification failed")
            ),
        );
    }
    if leaf_info.self_signed {
        let (severity, why) = if names.rdp {
            (
                Severity::Info,
                "; usual for RDP, which pins or prompts rather than verifying",
            )
        } else if explicitly_trusted {
            (Severity::Info, "; trusted because the trust store holds it")
        } else {
            (Severity::Warning, "")
        };
        add(
            FindingKey::SelfSigned,
            severity,
            format!("the certificate is self-signed{why}"),
        );
    }
    if !verification.from_store.is_empty() {
        add(
            FindingKey::ChainIncomplete,
            Severity::Error,
            format!(
                "verified only with {} from the trust store: the server does not send it, so \
                 clients without it cannot build the chain",
                verification.from_store.join(", ")
            ),
        );
    } else if let Some((subject, issuer)) = &verification.leaf_issuer_missing
        && !leaf_info.self_signed
    {
        add(
            FindingKey::ChainIncomplete,
            Severity::Error,
            format!(
                "the server sent no certificate for {issuer}, the issuer of {subject}, and the \
                 trust store does not hold it: an intermediate is missing (or that CA is not \
                 trusted here)"
            ),
        );
    }
    if let Some(eku) = &c.extended_key_usage
        && !eku.iter().any(|p| p == "serverAuth")
    {
        add(
            FindingKey::NoServerAuthEku,
            Severity::Error,
            format!(
                "extended key usage {} lacks serverAuth (1.3.6.1.5.5.7.3.1), which TLS clients \
                 and Active Directory require",
                eku.join(", ")
            ),
        );
    }
    if let Some(ku) = &c.key_usage {
        let mut missing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for v in &c.versions {
            let Some(suite) = ciphers.get(v) else {
                continue;
            };
            let need = needed_key_usage(suite, leaf_info);
            if !ku.iter().any(|k| k == need) {
                missing
                    .entry(need)
                    .or_default()
                    .push(format!("{suite} ({})", v.name()));
            }
        }
        for (need, uses) in missing {
            add(
                FindingKey::KeyUsage,
                Severity::Error,
                format!(
                    "key usage {} lacks {need}, which {} needs",
                    if ku.is_empty() {
                        "(none)".to_string()
                    } else {
                        ku.join(", ")
                    },
                    uses.join(", ")
                ),
            );
        }
    }
    findings.sort_by_key(|f| (f.severity, f.key));
    c.findings = findings;
    Some(c)
}

/// The key usage bit a suite needs from an RSA or EC server key: RSA key exchange encrypts to
/// the key; static (EC)DH agrees with it; everything else (ECDHE, DHE, TLS 1.3) signs with it.
fn needed_key_usage(suite: &str, leaf: &CertInfo) -> &'static str {
    if suite.starts_with("TLS_RSA_") && leaf.key_type.starts_with("RSA") {
        "keyEncipherment"
    } else if suite.starts_with("TLS_ECDH_") || suite.starts_with("TLS_DH_") {
        "keyAgreement"
    } else {
        "digitalSignature"
    }
}

fn which(i: usize, c: &CertInfo) -> String {
    if i == 0 {
        "the certificate".into()
    } else {
        format!("the intermediate {}", c.subject)
    }
}

/// Validity and strength of each certificate sent, but for a root sent along (clients use
/// their own copy of a root; its dates and self-signature do not matter).
fn dates_and_strength(
    chain: &[CertInfo],
    s: &Settings,
    add: &mut impl FnMut(FindingKey, Severity, String),
) {
    for (i, c) in chain.iter().enumerate() {
        if i > 0 && c.self_signed {
            continue;
        }
        let who = which(i, c);
        if s.now >= c.not_after_unix() {
            let ago = (s.now - c.not_after_unix()) / 86_400;
            add(
                FindingKey::Expired,
                Severity::Error,
                format!(
                    "{who} expired on {} ({ago} day{} ago)",
                    c.not_after,
                    if ago == 1 { "" } else { "s" }
                ),
            );
        } else if s.now < c.not_before_unix() {
            add(
                FindingKey::NotYetValid,
                Severity::Error,
                format!("{who} is not valid before {}", c.not_before),
            );
        } else if c.days_left < s.warn_days as i64 {
            add(
                FindingKey::ExpiresSoon,
                Severity::Warning,
                format!(
                    "{who} expires in {} day{} ({})",
                    c.days_left,
                    if c.days_left == 1 { "" } else { "s" },
                    c.not_after
                ),
            );
        }
        let weak_key = match c.key_type.as_str() {
            "RSA" | "RSA-PSS" | "DSA" => c.key_bits < 2048,
            "EC" => c.key_bits < 224,
            _ => false,
        };
        if weak_key {
            add(
                FindingKey::WeakKey,
                Severity::Warning,
                format!("{who} has a {}-bit {} key", c.key_bits, c.key_type),
            );
        }
        let alg = c.signature_algorithm.to_ascii_lowercase();
        if !(i == 0 && c.self_signed)
            && ["sha1", "md5", "md4", "md2"]
                .iter()
                .any(|weak| alg.contains(weak))
        {
            add(
                FindingKey::WeakSignature,
                Severity::Warning,
                format!("{who} is signed with {}", c.signature_algorithm),
            );
        }
    }
}

fn cert_names(c: &Certificate) -> CertNames<'_> {
    CertNames {
        common_name: c.common_name.as_deref(),
        dns_names: &c.dns_names,
        ip_addresses: &c.ip_addresses,
    }
}

fn check_names(c: &Certificate, names: &EndpointNames) -> Vec<NameCheck> {
    let cn = cert_names(c);
    let mut out = Vec::new();
    if let Some(s) = names.scanned {
        let by = cn.covering(s);
        out.push(NameCheck {
            name: s.to_string(),
            source: NameSource::Scanned,
            matched: by.is_some(),
            by,
        });
    }
    if let Some(h) = names.dns_host_name
        && !names.scanned.is_some_and(|s| s.eq_ignore_ascii_case(h))
    {
        let by = cn.covering(h);
        out.push(NameCheck {
            name: h.to_string(),
            source: NameSource::DnsHostName,
            matched: by.is_some(),
            by,
        });
    }
    if let Some(d) = names.domain {
        let by = cn.wildcard_for(d);
        out.push(NameCheck {
            name: format!("*.{}", d.trim_end_matches('.')),
            source: NameSource::DomainWildcard,
            matched: by.is_some(),
            by,
        });
    }
    out
}

/// A host name a client uses (the scanned name when it is a name, the directory's own name)
/// that the certificate does not cover. An address scanned is checked and shown, but not a
/// finding: clients name servers by DNS name. The domain wildcard is shown, not required.
fn name_findings(c: &Certificate, add: &mut impl FnMut(FindingKey, Severity, String)) {
    let listed = cert_names(c).listed();
    for n in &c.names {
        let is_address = n
            .name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok();
        if n.matched || n.source == NameSource::DomainWildcard || is_address {
            continue;
        }
        add(
            FindingKey::NameMismatch,
            Severity::Error,
            format!(
                "the certificate does not cover {} ({}); it names {listed}",
                n.name,
                n.source.label()
            ),
        );
    }
}

/// The time now, seconds since 1970.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `2026-12-13` from RFC 3339.
pub fn day(rfc3339_time: &str) -> &str {
    rfc3339_time.get(..10).unwrap_or(rfc3339_time)
}
