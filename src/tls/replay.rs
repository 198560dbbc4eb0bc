//! A client's own ClientHello, written again to be sent on its behalf: what `predict` replays.
//!
//! The replay keeps what decides the server's answer (the client's suites in order, its
//! groups, signature algorithms and extensions in order, GREASE values included) and renews
//! what must not be reused:
//!
//! - a fresh random, marked as tlsmatrix's (see `clienthello`), and a fresh session ID of the
//!   same length, so no server resumes a session of the real client;
//! - fresh key shares: real public keys of new key pairs for X25519, X448, P-256, P-384 and
//!   P-521. Shares for other groups (FFDHE, post-quantum hybrids) are left out; a server that
//!   wants one of those groups answers with a HelloRetryRequest, which says as much as a
//!   ServerHello about the version and suite it chose;
//! - pre_shared_key, early_data and cookie are dropped (they belong to the client's earlier
//!   sessions), a session ticket is emptied, and padding is recomputed so that no hello is
//!   256-511 bytes long (see `hello`);
//! - the server name is the endpoint's when the endpoint has a name, else the client's own.
//!
//! Asked to, it removes the versions below TLS 1.2 from `supported_versions` (what a client
//! sees once a server accepts TLS 1.2 and newer only), or adds suites, groups or signature
//! algorithms to find out which of them the client lacks.

use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, PointConversionForm};
use openssl::nid::Nid;
use openssl::pkey::PKey;

use crate::tls::TlsVersion;
use crate::tls::clienthello::{
    ClientHello, EXT_COOKIE, EXT_EARLY_DATA, EXT_EC_POINT_FORMATS, EXT_KEY_SHARE, EXT_PADDING,
    EXT_PRE_SHARED_KEY, EXT_SERVER_NAME, EXT_SESSION_TICKET, EXT_SIGNATURE_ALGORITHMS,
    EXT_SUPPORTED_GROUPS, EXT_SUPPORTED_VERSIONS, Extension, list16, mark_random, put16,
};
use crate::tls::hello::{
    GROUPS_BEFORE_TLS13, GROUPS_TLS13, SIGALGS_TLS12, SIGALGS_TLS13, cipher_suites, suite_parts,
};
use crate::tls::record::is_grease;

/// The most suites a replay with added suites offers (see `hello::MAX_SUITES`).
const MAX_SUITES: usize = 128;

/// What to change in the client's hello.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Offer only the client's versions from TLS 1.2 up.
    pub without_old_versions: bool,
    /// What to do with the client's server name.
    pub server_name: ServerName,
    /// Add the common suites of the versions offered (the client's own stay first), and the
    /// groups elliptic-curve suites need when the hello lists none.
    pub add_suites: bool,
    /// Add every group the versions offered may use.
    pub add_groups: bool,
    /// Add every signature algorithm the versions offered may use.
    pub add_signature_algorithms: bool,
    /// Offer TLS 1.2 too, for a client that offers only older versions (to show that TLS
    /// 1.2 is what it lacks).
    pub add_tls12: bool,
}

/// The server name of a replay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ServerName {
    /// The client's own (or none, if it sent none).
    #[default]
    Keep,
    /// This name instead of the client's, when the client sends one.
    Set(String),
    /// No server name extension (a client connecting to an address sends none).
    Remove,
}

/// Why a hello cannot be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayError {
    /// The client offers nothing from TLS 1.2 up.
    NoTls12 { highest: u16 },
    /// No key pair could be made for a key share.
    Keys(String),
}

/// The replay's record bytes.
pub fn replay(hello: &ClientHello, changes: &Changes) -> Result<Vec<u8>, ReplayError> {
    Ok(rewrite(hello, changes)?.records())
}

/// The replayed hello, field by field.
pub fn rewrite(hello: &ClientHello, changes: &Changes) -> Result<ClientHello, ReplayError> {
    let mut out = hello.clone();
    let versions = hello.versions();
    let highest = hello.highest();
    if changes.without_old_versions && highest < TlsVersion::Tls12.wire() {
        return Err(ReplayError::NoTls12 { highest });
    }
    let offers = |v: TlsVersion| {
        if hello.supported_versions().is_some() {
            versions.contains(&v.wire())
                && (!changes.without_old_versions || v >= TlsVersion::Tls12)
        } else {
            // Without supported_versions a hello offers its version and every older one.
            v.wire() <= hello.legacy_version
        }
    };
    let tls13 = offers(TlsVersion::Tls13);
    let tls12 = offers(TlsVersion::Tls12) || changes.add_tls12;
    if (changes.without_old_versions || changes.add_tls12) && out.legacy_version < 0x0303 {
        out.legacy_version = 0x0303;
    }

    openssl::rand::rand_bytes(&mut out.random[..24])
        .map_err(|e| ReplayError::Keys(e.to_string()))?;
    mark_random(&mut out.random);
    openssl::rand::rand_bytes(&mut out.session_id).map_err(|e| ReplayError::Keys(e.to_string()))?;

    if changes.add_suites {
        let mut extra: Vec<u16> = Vec::new();
        if tls13 {
            extra.extend(cipher_suites(TlsVersion::Tls13));
        }
        if tls12 {
            extra.extend(&suite_parts(TlsVersion::Tls12)[0]);
        } else if !tls13 {
            extra.extend(&suite_parts(TlsVersion::Tls10)[0]);
        }
        for s in extra {
            if out.suites.len() >= MAX_SUITES.max(hello.suites.len()) {
                break;
            }
            if !out.suites.contains(&s) {
                out.suites.push(s);
            }
        }
    }

    let mut exts: Vec<Extension> = Vec::new();
    for e in hello.extensions.iter().flatten() {
        let body = match e.kind {
            EXT_PRE_SHARED_KEY | EXT_EARLY_DATA | EXT_COOKIE | EXT_PADDING => continue,
            EXT_SESSION_TICKET => Vec::new(),
            EXT_SERVER_NAME => match &changes.server_name {
                ServerName::Set(name) => server_name(name),
                ServerName::Remove => continue,
                ServerName::Keep => e.body.clone(),
            },
            EXT_SUPPORTED_VERSIONS if changes.without_old_versions => {
                let kept: Vec<u16> = hello
                    .supported_versions()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|v| is_grease(*v) || *v >= 0x0303)
                    .collect();
                let mut b = vec![(kept.len() * 2) as u8];
                for v in kept {
                    put16(&mut b, v);
                }
                b
            }
            EXT_SUPPORTED_VERSIONS if changes.add_tls12 => {
                let mut list = hello.supported_versions().unwrap_or_default();
                if !list.contains(&0x0303) {
                    list.insert(0, 0x0303);
                }
                let mut b = vec![(list.len() * 2) as u8];
                for v in list {
                    put16(&mut b, v);
                }
                b
            }
            EXT_KEY_SHARE => key_shares(hello)?,
            EXT_SUPPORTED_GROUPS if changes.add_groups => {
                list16(&with_extra(&hello.groups(), &groups_for(tls12, tls13)))
            }
            EXT_SIGNATURE_ALGORITHMS if changes.add_signature_algorithms => list16(&with_extra(
                &hello.signature_algorithms(),
                if tls12 { SIGALGS_TLS12 } else { SIGALGS_TLS13 },
            )),
            _ => e.body.clone(),
        };
        exts.push(Extension { kind: e.kind, body });
    }
    let has = |exts: &[Extension], k: u16| exts.iter().any(|e| e.kind == k);
    // A client library that offers elliptic-curve suites sends the groups they need: added
    // suites come with them when the client's hello has none (it offered no such suite).
    let ec_suites_added = changes.add_suites && !hello.has_extension(EXT_SUPPORTED_GROUPS);
    if (changes.add_groups || ec_suites_added) && !has(&exts, EXT_SUPPORTED_GROUPS) {
        exts.push(Extension {
            kind: EXT_SUPPORTED_GROUPS,
            body: list16(&groups_for(tls12, tls13)),
        });
        if !has(&exts, EXT_EC_POINT_FORMATS) {
            exts.push(Extension {
                kind: EXT_EC_POINT_FORMATS,
                body: vec![1, 0],
            });
        }
    }
    if changes.add_signature_algorithms && (tls12 || tls13) && !has(&exts, EXT_SIGNATURE_ALGORITHMS)
    {
        exts.push(Extension {
            kind: EXT_SIGNATURE_ALGORITHMS,
            body: list16(if tls12 { SIGALGS_TLS12 } else { SIGALGS_TLS13 }),
        });
    }
    out.extensions = if hello.extensions.is_none() && exts.is_empty() {
        None
    } else {
        Some(exts)
    };
    // No handshake message of 256-511 bytes: pad to 512 as OpenSSL's client does.
    let len = out.encode().len();
    if (256..512).contains(&len)
        && let Some(exts) = out.extensions.as_mut()
    {
        exts.push(Extension {
            kind: EXT_PADDING,
            body: vec![0; (512 - len).saturating_sub(4)],
        });
    }
    Ok(out)
}

fn groups_for(tls12: bool, tls13: bool) -> Vec<u16> {
    let mut g = Vec::new();
    if tls13 {
        g.extend_from_slice(GROUPS_TLS13);
    }
    if tls12 || !tls13 {
        g = with_extra(&g, GROUPS_BEFORE_TLS13);
    }
    g
}

/// The client's list, then what it lacks of `extra`.
fn with_extra(own: &[u16], extra: &[u16]) -> Vec<u16> {
    let mut v = own.to_vec();
    v.extend(extra.iter().filter(|x| !own.contains(x)));
    v
}

fn server_name(name: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(name.len() + 5);
    put16(&mut b, (name.len() + 3) as u16);
    b.push(0); // host_name
    put16(&mut b, name.len() as u16);
    b.extend_from_slice(name.as_bytes());
    b
}

/// The client's key shares with fresh keys (see the module docs for the groups left out).
fn key_shares(hello: &ClientHello) -> Result<Vec<u8>, ReplayError> {
    let mut shares = Vec::new();
    for (group, old) in hello.key_shares() {
        let key = if is_grease(group) {
            Some(old)
        } else {
            fresh_key(group).map_err(|e| ReplayError::Keys(format!("group {group}: {e}")))?
        };
        if let Some(key) = key {
            put16(&mut shares, group);
            put16(&mut shares, key.len() as u16);
            shares.extend_from_slice(&key);
        }
    }
    let mut b = Vec::with_capacity(shares.len() + 2);
    put16(&mut b, shares.len() as u16);
    b.extend_from_slice(&shares);
    Ok(b)
}

/// A public key of a new key pair for `group`, or `None` for a group tlsmatrix makes no keys
/// for.
pub fn fresh_key(group: u16) -> Result<Option<Vec<u8>>, openssl::error::ErrorStack> {
    let ec = |nid: Nid| -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let g = EcGroup::from_curve_name(nid)?;
        let key = EcKey::generate(&g)?;
        let mut ctx = BigNumContext::new()?;
        key.public_key()
            .to_bytes(&g, PointConversionForm::UNCOMPRESSED, &mut ctx)
    };
    Ok(Some(match group {
        29 => PKey::generate_x25519()?.raw_public_key()?,
        30 => PKey::generate_x448()?.raw_public_key()?,
        23 => ec(Nid::X9_62_PRIME256V1)?,
        24 => ec(Nid::SECP384R1)?,
        25 => ec(Nid::SECP521R1)?,
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::clienthello::is_marked;

    /// A TLS 1.0-1.3 hello with a key share for X25519 and one for a hybrid group.
    fn hello() -> ClientHello {
        let mut ks = Vec::new();
        for (g, n) in [(0x0a0a_u16, 1usize), (29, 32), (0x11ec, 1216)] {
            put16(&mut ks, g);
            put16(&mut ks, n as u16);
            ks.extend(vec![1; n]);
        }
        let mut key_share = Vec::new();
        put16(&mut key_share, ks.len() as u16);
        key_share.extend(ks);
        ClientHello {
            legacy_version: 0x0303,
            random: [0; 32],
            session_id: vec![5; 32],
            suites: vec![0x1301, 0xc02f, 0x002f],
            compression: vec![0],
            extensions: Some(vec![
                Extension {
                    kind: EXT_SERVER_NAME,
                    body: server_name("client.example"),
                },
                Extension {
                    kind: EXT_SUPPORTED_VERSIONS,
                    body: vec![8, 0x0a, 0x0a, 0x03, 0x04, 0x03, 0x03, 0x03, 0x01],
                },
                Extension {
                    kind: EXT_SUPPORTED_GROUPS,
                    body: list16(&[29]),
                },
                Extension {
                    kind: EXT_KEY_SHARE,
                    body: key_share,
                },
                Extension {
                    kind: EXT_SESSION_TICKET,
                    body: vec![9; 100],
                },
                Extension {
                    kind: EXT_PRE_SHARED_KEY,
                    body: vec![1; 40],
                },
            ]),
        }
    }

    #[test]
    fn old_versions_removed_keys_renewed_psk_dropped() {
        let h = hello();
        let changes = Changes {
            without_old_versions: true,
            server_name: ServerName::Set("dc1.corp.test".into()),
            ..Changes::default()
        };
        let r = rewrite(&h, &changes).unwrap();
        assert_eq!(r.supported_versions().unwrap(), [0x0a0a, 0x0304, 0x0303]);
        assert!(is_marked(&r.random));
        assert_eq!(r.session_id.len(), 32);
        assert_ne!(r.session_id, h.session_id);
        assert_eq!(r.sni().as_deref(), Some("dc1.corp.test"));
        let shares = r.key_shares();
        assert_eq!(
            shares.iter().map(|s| s.0).collect::<Vec<_>>(),
            [0x0a0a, 29],
            "the hybrid share is left out"
        );
        assert_ne!(shares[1].1, vec![1; 32], "a fresh X25519 key");
        assert!(!r.has_extension(EXT_PRE_SHARED_KEY));
        assert_eq!(r.extension(EXT_SESSION_TICKET), Some(&[][..]));
        assert_eq!(r.suites, h.suites);
        // What stays decides the fingerprint's lists.
        let len = r.encode().len();
        assert!(!(256..512).contains(&len), "{len}");
        // Parses back.
        assert_eq!(ClientHello::from_records(&r.records()).unwrap(), r);
    }

    #[test]
    fn a_client_without_tls12_cannot_be_replayed_without_its_old_versions() {
        let mut h = hello();
        h.extensions
            .as_mut()
            .unwrap()
            .retain(|e| e.kind != EXT_SUPPORTED_VERSIONS);
        h.legacy_version = 0x0301;
        let changes = Changes {
            without_old_versions: true,
            ..Changes::default()
        };
        assert_eq!(
            rewrite(&h, &changes),
            Err(ReplayError::NoTls12 { highest: 0x0301 })
        );
        // As it is, it goes out.
        assert!(rewrite(&h, &Changes::default()).is_ok());
    }

    #[test]
    fn additions_keep_the_clients_own_first() {
        let h = hello();
        let changes = Changes {
            add_suites: true,
            add_groups: true,
            add_signature_algorithms: true,
            ..Changes::default()
        };
        let r = rewrite(&h, &changes).unwrap();
        assert_eq!(&r.suites[..3], &h.suites[..]);
        assert!(r.suites.contains(&0xc030) && r.suites.len() <= MAX_SUITES);
        assert_eq!(r.groups()[0], 29);
        assert!(r.groups().contains(&23) && r.groups().contains(&24));
        assert!(r.signature_algorithms().contains(&0x0401));
    }

    #[test]
    fn fresh_keys_have_the_sizes_of_their_groups() {
        for (g, n) in [(29, 32), (30, 56), (23, 65), (24, 97), (25, 133)] {
            assert_eq!(fresh_key(g).unwrap().unwrap().len(), n, "group {g}");
        }
        assert_eq!(fresh_key(256).unwrap(), None);
    }
}
