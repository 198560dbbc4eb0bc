//! Built-in client profiles: the ClientHello each client of a directory sends by default, and
//! where it comes from (`profiles.toml`, next to this file, says how each was made).

use serde::Deserialize;

use crate::tls::TlsVersion;
use crate::tls::clienthello::{ClientHello, Extension, from_hex, list16, put16};
use crate::tls::names::{extension_value, group_value, signature_algorithm_value, suite_value};
use crate::tls::replay::fresh_key;

const DATA: &str = include_str!("profiles.toml");

/// The server name a documented profile's hello carries until a replay sets the endpoint's.
const PLACEHOLDER_NAME: &str = "client.invalid";

#[derive(Deserialize)]
struct File {
    profile: Vec<Spec>,
}

/// How a profile was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The real client's hello, recorded here.
    Captured,
    /// Built from the vendor's published defaults.
    Documented,
}

impl Kind {
    pub fn key(self) -> &'static str {
        match self {
            Kind::Captured => "captured",
            Kind::Documented => "documented",
        }
    }
}

/// A profile as the data file writes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    name: String,
    title: String,
    kind: Kind,
    source: String,
    #[serde(default)]
    enable_tls12: Option<String>,
    #[serde(default)]
    captured_with: Option<String>,
    #[serde(default)]
    hello: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    supported_versions: Vec<String>,
    #[serde(default)]
    suites: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    point_formats: Vec<u8>,
    #[serde(default)]
    signature_algorithms: Vec<String>,
    #[serde(default)]
    extensions: Vec<String>,
    #[serde(default)]
    key_shares: Vec<String>,
    #[serde(default)]
    alpn: Vec<String>,
}

/// A built-in profile, ready to replay.
#[derive(Clone, Debug)]
pub struct Profile {
    pub name: String,
    pub title: String,
    pub kind: Kind,
    /// Where its data comes from (and, for a captured one, the command).
    pub source: String,
    pub enable_tls12: Option<String>,
    pub hello: ClientHello,
}

/// Every built-in profile, in the data file's order.
pub fn all() -> Result<Vec<Profile>, String> {
    let file: File = toml::from_str(DATA).map_err(|e| format!("profiles.toml: {e}"))?;
    file.profile.into_iter().map(build).collect()
}

/// The profiles a `--profiles` list names (`all` for every one).
pub fn select(names: &[String]) -> Result<Vec<Profile>, String> {
    let every = all()?;
    if names.iter().any(|n| n == "all") {
        return Ok(every);
    }
    let mut out = Vec::new();
    for n in names {
        match every.iter().find(|p| p.name.eq_ignore_ascii_case(n.trim())) {
            Some(p) => out.push(p.clone()),
            None => {
                return Err(format!(
                    "--profiles: no profile '{n}'; known: all, {}",
                    every
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    Ok(out)
}

fn build(s: Spec) -> Result<Profile, String> {
    let at = |what: String| format!("profiles.toml, profile {}: {what}", s.name);
    let (hello, source) = match s.kind {
        Kind::Captured => {
            let hex = s.hello.as_deref().ok_or_else(|| at("no hello".into()))?;
            let bytes = from_hex(hex).ok_or_else(|| at("hello is not hex".into()))?;
            let hello = ClientHello::parse(&bytes).map_err(|e| at(format!("{e:?}")))?;
            let with = s.captured_with.as_deref().unwrap_or("");
            (hello, format!("{} Captured with: {with}.", s.source))
        }
        Kind::Documented => (documented(&s).map_err(at)?, s.source.clone()),
    };
    Ok(Profile {
        name: s.name,
        title: s.title,
        kind: s.kind,
        source,
        enable_tls12: s.enable_tls12,
        hello,
    })
}

fn values(names: &[String], what: &str, f: fn(&str) -> Option<u16>) -> Result<Vec<u16>, String> {
    names
        .iter()
        .map(|n| f(n).ok_or_else(|| format!("unknown {what} '{n}'")))
        .collect()
}

fn version(name: &str) -> Result<u16, String> {
    name.parse::<TlsVersion>().map(TlsVersion::wire)
}

/// A hello from a documented profile's fields.
fn documented(s: &Spec) -> Result<ClientHello, String> {
    let legacy = version(s.version.as_deref().ok_or("no version")?)?;
    let suites = values(&s.suites, "suite", suite_value)?;
    let groups = values(&s.groups, "group", group_value)?;
    let sigalgs = values(
        &s.signature_algorithms,
        "signature algorithm",
        signature_algorithm_value,
    )?;
    let versions: Vec<u16> = s
        .supported_versions
        .iter()
        .map(|v| version(v))
        .collect::<Result<_, _>>()?;
    let shares = values(&s.key_shares, "key share group", group_value)?;
    let mut exts = Vec::new();
    for name in &s.extensions {
        let kind = extension_value(name).ok_or_else(|| format!("unknown extension '{name}'"))?;
        let body = match name.as_str() {
            "server_name" => {
                let mut b = Vec::new();
                put16(&mut b, (PLACEHOLDER_NAME.len() + 3) as u16);
                b.push(0);
                put16(&mut b, PLACEHOLDER_NAME.len() as u16);
                b.extend_from_slice(PLACEHOLDER_NAME.as_bytes());
                b
            }
            "status_request" => vec![1, 0, 0, 0, 0],
            "supported_groups" => list16(&groups),
            "ec_point_formats" => {
                let f = if s.point_formats.is_empty() {
                    vec![0]
                } else {
                    s.point_formats.clone()
                };
                [vec![f.len() as u8], f].concat()
            }
            "signature_algorithms" | "signature_algorithms_cert" => list16(&sigalgs),
            "supported_versions" => {
                let mut b = vec![(versions.len() * 2) as u8];
                for v in &versions {
                    put16(&mut b, *v);
                }
                b
            }
            "psk_key_exchange_modes" => vec![1, 1],
            "key_share" => {
                let mut entries = Vec::new();
                for g in &shares {
                    let key = fresh_key(*g)
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| format!("no key share for group {g}"))?;
                    put16(&mut entries, *g);
                    put16(&mut entries, key.len() as u16);
                    entries.extend_from_slice(&key);
                }
                let mut b = Vec::new();
                put16(&mut b, entries.len() as u16);
                b.extend(entries);
                b
            }
            "application_layer_protocol_negotiation" => {
                let mut list = Vec::new();
                for p in &s.alpn {
                    list.push(p.len() as u8);
                    list.extend_from_slice(p.as_bytes());
                }
                let mut b = Vec::new();
                put16(&mut b, list.len() as u16);
                b.extend(list);
                b
            }
            "renegotiation_info" => vec![0],
            "heartbeat" => vec![1],
            "status_request_v2" => vec![0, 7, 2, 0, 4, 0, 0, 0, 0],
            "session_ticket"
            | "extended_master_secret"
            | "encrypt_then_mac"
            | "signed_certificate_timestamp"
            | "post_handshake_auth" => Vec::new(),
            other => return Err(format!("no contents known for extension '{other}'")),
        };
        exts.push(Extension { kind, body });
    }
    let tls13 = versions.contains(&0x0304);
    Ok(ClientHello {
        legacy_version: legacy,
        random: [0; 32],
        // TLS 1.3 clients send a session ID for middlebox compatibility (RFC 8446 D.4).
        session_id: if tls13 { vec![0; 32] } else { Vec::new() },
        suites,
        compression: vec![0],
        extensions: Some(exts),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_builds_and_has_a_source() {
        let all = all().unwrap();
        assert!(all.len() >= 18, "{}", all.len());
        let mut names = std::collections::BTreeSet::new();
        for p in &all {
            assert!(names.insert(p.name.clone()), "{} twice", p.name);
            assert!(!p.source.is_empty() && !p.title.is_empty(), "{}", p.name);
            let h = &p.hello;
            // What they send parses back as it was built, and is no tlsmatrix probe.
            assert_eq!(&ClientHello::parse(&h.encode()).unwrap(), h, "{}", p.name);
            assert!(!h.is_tlsmatrix_probe(), "{}", p.name);
            assert!(!h.suites.is_empty(), "{}", p.name);
        }
        for required in [
            "windows-7",
            "windows-7-tls12",
            "windows-8.1",
            "windows-10-1607",
            "windows-10-1809",
            "windows-11",
            "dotnet-framework-4.5",
            "java-7",
            "java-8",
            "java-11",
            "java-17",
            "openssl-1.0.1",
            "openssl-1.0.2",
            "openssl-1.1.1",
            "openssl-3",
            "gnutls",
            "python-ssl",
        ] {
            assert!(names.contains(required), "{required}");
        }
    }

    #[test]
    fn the_windows_7_defaults_offer_tls_1_0_and_no_ecdhe_rsa_gcm_with_tls12() {
        let all = all().unwrap();
        let get = |n: &str| all.iter().find(|p| p.name == n).unwrap();
        assert_eq!(get("windows-7").hello.highest(), 0x0301);
        assert_eq!(get("java-7").hello.highest(), 0x0301);
        let w7 = &get("windows-7-tls12").hello;
        assert_eq!(w7.highest(), 0x0303);
        assert!(!w7.suites.contains(&0xc02f) && !w7.suites.contains(&0xc030));
        assert_eq!(get("windows-11").hello.highest(), 0x0304);
        assert!(select(&["nope".into()]).unwrap_err().contains("windows-7"));
        assert_eq!(select(&["all".into()]).unwrap().len(), all.len());
    }
}
