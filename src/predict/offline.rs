//! The offline prediction: what an endpoint would answer a client's hello, computed from what a
//! saved `scan --suites` found (the versions it accepts, and for each its suites in the
//! server's order where it enforces one, its groups and its TLS 1.2 signature algorithms),
//! without a connection.
//!
//! The rules are a server's: the highest version both offer; a suite both accept, the server's
//! choice when it enforces its order, else the client's first; an ECDHE suite needs a group both
//! have and a signature the client allows; TLS 1.3 needs a shared group, and a signature
//! algorithm for the certificate. What the scan does not say is `unknown`, never a guess: a
//! version whose answer was not decided or whose lists are incomplete, and a TLS 1.3 signature
//! the scan's one certificate does not allow (the server may hold another).

use std::collections::BTreeMap;

use tls_parser::{TlsCipherAu, TlsCipherKx, TlsCipherSuite};

use super::{Mode, Prediction, Reason};
use crate::tls::clienthello::ClientHello;
use crate::tls::names::{group_name, signature_algorithm_name, suite_name};
use crate::tls::record::{is_grease, version_name};

/// The groups `scan --suites` asks an endpoint about: X25519, P-256, P-384 and P-521, and in TLS
/// 1.3 the FFDHE groups too. A client whose only groups are others may share one the scan did
/// not ask about.
const ASKED_GROUPS: &[u16] = &[29, 23, 24, 25];
const ASKED_GROUPS_13: &[u16] = &[29, 23, 24, 25, 256, 257, 258, 259, 260];

/// What a saved scan says one version of an endpoint accepts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lists {
    /// Accepted suites: in the server's order when `server_order` is `Some(true)`.
    pub suites: Vec<u16>,
    /// `Some(true)`: the server enforces its order; `Some(false)`: it takes the client's;
    /// `None`: not known.
    pub server_order: Option<bool>,
    /// Key-exchange groups it accepts, in its order.
    pub groups: Vec<u16>,
    /// TLS 1.2: the signature algorithms it signs its key exchange with.
    pub signature_algorithms: Vec<u16>,
    /// Every list is whole.
    pub complete: bool,
}

/// The key of the endpoint's certificate, for TLS 1.3 signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertKey {
    Rsa,
    RsaPss,
    /// An EC key on this group (TLS code point: 23, 24, 25).
    Ec(u16),
    Ed25519,
    Ed448,
}

impl CertKey {
    /// The TLS 1.3 signature schemes that sign with this key.
    fn schemes(self) -> &'static [u16] {
        match self {
            CertKey::Rsa => &[0x0804, 0x0805, 0x0806],
            CertKey::RsaPss => &[0x0809, 0x080a, 0x080b],
            CertKey::Ec(23) => &[0x0403],
            CertKey::Ec(24) => &[0x0503],
            CertKey::Ec(25) => &[0x0603],
            CertKey::Ec(_) => &[],
            CertKey::Ed25519 => &[0x0807],
            CertKey::Ed448 => &[0x0808],
        }
    }

    fn name(self) -> String {
        match self {
            CertKey::Rsa => "RSA".into(),
            CertKey::RsaPss => "RSA-PSS".into(),
            CertKey::Ec(g) => format!("EC {}", group_name(g)),
            CertKey::Ed25519 => "Ed25519".into(),
            CertKey::Ed448 => "Ed448".into(),
        }
    }
}

/// What a saved scan says an endpoint accepts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accepts {
    /// Per version (wire value): accepted, refused, or `None` when the scan did not decide.
    pub versions: BTreeMap<u16, Option<bool>>,
    /// Per accepted version, its lists (absent: the scan was made without `--suites`).
    pub lists: BTreeMap<u16, Lists>,
    /// The certificate's key, when the scan holds one.
    pub key: Option<CertKey>,
}

/// The versions a hello lets a server choose: its `supported_versions`, or its version field and
/// every older one.
fn client_versions(h: &ClientHello) -> Vec<u16> {
    match h.supported_versions() {
        Some(v) => v.into_iter().filter(|v| !is_grease(*v)).collect(),
        None => (0x0300..=h.legacy_version.min(0x0303)).collect(),
    }
}

/// The signature schemes a TLS 1.2 hello allows: its list, or SHA-1 with each key type when it
/// sends none (RFC 5246 7.4.1.4.1).
fn client_sigalgs(h: &ClientHello) -> Vec<u16> {
    let own = h.signature_algorithms();
    if h.has_extension(crate::tls::clienthello::EXT_SIGNATURE_ALGORITHMS) {
        own
    } else {
        vec![0x0201, 0x0202, 0x0203]
    }
}

/// Whether a TLS 1.2 signature scheme signs with the key an authentication method needs.
fn signs_for(au: TlsCipherAu, scheme: u16) -> bool {
    match au {
        TlsCipherAu::Rsa => matches!(scheme & 0xff, 0x01) || (0x0804..=0x0806).contains(&scheme),
        TlsCipherAu::Ecdsa => matches!(scheme & 0xff, 0x03) || matches!(scheme, 0x0807 | 0x0808),
        TlsCipherAu::Dss => matches!(scheme & 0xff, 0x02),
        _ => true,
    }
}

/// What a computed prediction needs besides the hello.
pub struct Compute<'a> {
    pub mode: Mode,
    /// What to change when the client lacks TLS 1.2.
    pub enable_tls12: Option<&'a str>,
}

/// What the endpoint described by `a` answers `hello` (see the module docs).
pub fn compute(hello: &ClientHello, a: &Accepts, how: &Compute<'_>) -> Prediction {
    let unknown = |detail: String| Prediction::Unknown { detail };
    let mut offered = client_versions(hello);
    if how.mode == Mode::Tls12Only {
        offered.retain(|v| *v >= 0x0303);
        if offered.is_empty() {
            return super::live::no_tls12(hello.highest(), how.enable_tls12);
        }
    }
    offered.sort_unstable_by(|x, y| y.cmp(x));
    // The highest version both take; an undecided one above it leaves the answer open.
    let mut chosen = None;
    for v in &offered {
        if how.mode == Mode::Tls12Only && *v < 0x0303 {
            continue;
        }
        match a.versions.get(v).copied().flatten() {
            Some(true) => {
                chosen = Some(*v);
                break;
            }
            Some(false) => {}
            None => {
                return unknown(format!(
                    "the saved scan did not decide whether the endpoint accepts {}",
                    version_name(*v)
                ));
            }
        }
    }
    let Some(v) = chosen else {
        let theirs: Vec<String> = a
            .versions
            .iter()
            .filter(|(v, ok)| **ok == Some(true) && (how.mode == Mode::AsIs || **v >= 0x0303))
            .map(|(v, _)| version_name(*v))
            .collect();
        return Prediction::Breaks {
            reasons: vec![Reason::Other],
            alert: None,
            detail: format!(
                "computed: the endpoint accepts {} and the client offers {}",
                if theirs.is_empty() {
                    "no version".to_string()
                } else {
                    theirs.join(", ")
                },
                offered
                    .iter()
                    .map(|v| version_name(*v))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            change: "offer a version the endpoint accepts".into(),
        };
    };
    let Some(l) = a.lists.get(&v) else {
        return unknown(format!(
            "the saved scan has no suite list for {}: make it with scan --suites",
            version_name(v)
        ));
    };
    if !l.complete {
        return unknown(format!(
            "the saved scan's suite list for {} is incomplete",
            version_name(v)
        ));
    }
    let client_suites: Vec<u16> = hello
        .suites
        .iter()
        .copied()
        .filter(|s| !is_grease(*s))
        .collect();
    let client_groups: Vec<u16> = hello
        .groups()
        .into_iter()
        .filter(|g| !is_grease(*g))
        .collect();
    let shared_groups: Vec<u16> = l
        .groups
        .iter()
        .copied()
        .filter(|g| client_groups.contains(g))
        .collect();
    let ctx = Ctx {
        v,
        l,
        a,
        hello,
        client_suites: &client_suites,
        shared_groups: &shared_groups,
    };
    // As the live prediction does: the client's hello as it is, then with suites, groups or
    // signature algorithms added, one, two, then all three; the first that works names what
    // the client lacks.
    for (suites, groups, sigs) in [
        (false, false, false),
        (true, false, false),
        (false, true, false),
        (false, false, true),
        (true, true, false),
        (true, false, true),
        (false, true, true),
        (true, true, true),
    ] {
        let usable = match ctx.usable(suites, groups, sigs) {
            Ok(u) => u,
            Err(why) => return unknown(why),
        };
        if usable.is_empty() {
            continue;
        }
        if !(suites || groups || sigs) {
            return ctx.works(&usable);
        }
        return ctx.breaks(&usable, suites, groups, sigs);
    }
    Prediction::Breaks {
        reasons: vec![Reason::Other],
        alert: None,
        detail: format!(
            "computed: nothing the endpoint accepts with {} could be agreed on, even with every \
             suite, group and signature algorithm added",
            version_name(v)
        ),
        change: "compare the client's offer with the saved scan's suite lists".into(),
    }
}

/// What one computed cell looks at.
struct Ctx<'a> {
    v: u16,
    l: &'a Lists,
    a: &'a Accepts,
    hello: &'a ClientHello,
    client_suites: &'a [u16],
    shared_groups: &'a [u16],
}

impl Ctx<'_> {
    /// The suites the endpoint would take with the client's hello, changed as asked: its own
    /// suites (or every suite the endpoint accepts, when suites are added), each with the group
    /// and signature it needs (or any, when those are added).
    fn usable(
        &self,
        add_suites: bool,
        add_groups: bool,
        add_sigs: bool,
    ) -> Result<Vec<u16>, String> {
        let l = self.l;
        let candidates: Vec<u16> = if add_suites {
            l.suites.clone()
        } else {
            self.client_suites
                .iter()
                .copied()
                .filter(|s| l.suites.contains(s))
                .collect()
        };
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        if self.v >= 0x0304 {
            let group_ok = add_groups || !self.shared_groups.is_empty();
            if !group_ok {
                self.groups_not_asked(ASKED_GROUPS_13)?;
            }
            let sig_ok = add_sigs || self.tls13_signature_ok()?;
            return Ok(if group_ok && sig_ok {
                candidates
            } else {
                Vec::new()
            });
        }
        let sigalgs = client_sigalgs(self.hello);
        let groups_any = !self
            .hello
            .has_extension(crate::tls::clienthello::EXT_SUPPORTED_GROUPS);
        let mut usable = Vec::new();
        for s in candidates {
            let Some(c) = TlsCipherSuite::from_id(s) else {
                usable.push(s);
                continue;
            };
            let anonymous = c.au == TlsCipherAu::Null;
            let needs_group = c.kx == TlsCipherKx::Ecdhe;
            let needs_signature =
                matches!(c.kx, TlsCipherKx::Ecdhe | TlsCipherKx::Dhe) && !anonymous;
            if needs_group && l.groups.is_empty() {
                return Err(format!(
                    "the saved scan lists no group for the ECDHE suites of {}",
                    version_name(self.v)
                ));
            }
            if needs_signature && self.v >= 0x0303 && l.signature_algorithms.is_empty() {
                return Err("the saved scan lists no TLS 1.2 signature algorithm".into());
            }
            // A client that offers ECDHE suites sends the groups they need: added suites count
            // as bringing any group when the hello lists none.
            let group_ok =
                !needs_group || add_groups || groups_any || !self.shared_groups.is_empty();
            if !group_ok {
                self.groups_not_asked(ASKED_GROUPS)?;
            }
            // Before TLS 1.2 the signature is fixed by the key (MD5+SHA-1 or SHA-1).
            let signature_ok = !needs_signature
                || add_sigs
                || self.v < 0x0303
                || l.signature_algorithms
                    .iter()
                    .any(|x| sigalgs.contains(x) && signs_for(c.au, *x));
            if group_ok && signature_ok {
                usable.push(s);
            }
        }
        Ok(usable)
    }

    /// No group is shared among those the scan asked about: unknown if the client offers
    /// others the endpoint may take.
    fn groups_not_asked(&self, asked: &[u16]) -> Result<(), String> {
        let others: Vec<u16> = self
            .hello
            .groups()
            .into_iter()
            .filter(|g| !is_grease(*g) && !asked.contains(g))
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        Err(format!(
            "the client offers {} and none of the groups the saved scan asked the endpoint \
             about ({}); whether the endpoint takes one it does not show (predict live to know)",
            others
                .iter()
                .map(|g| group_name(*g))
                .collect::<Vec<_>>()
                .join(", "),
            asked
                .iter()
                .map(|g| group_name(*g))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    /// Whether the client allows a TLS 1.3 signature for the endpoint's keys: those its TLS 1.2
    /// signatures show (the walk offered every scheme), else the one certificate the scan holds.
    fn tls13_signature_ok(&self) -> Result<bool, String> {
        let sigs = self.hello.signature_algorithms();
        let shown: Vec<u16> = self
            .a
            .lists
            .get(&0x0303)
            .filter(|l| l.complete)
            .map(|l| l.signature_algorithms.clone())
            .unwrap_or_default();
        if !shown.is_empty() {
            return Ok(self.tls13_schemes(&shown).iter().any(|s| sigs.contains(s)));
        }
        let Some(key) = self.a.key else {
            return Err(
                "the saved scan shows neither TLS 1.2 signatures nor a certificate to check the \
                 client's TLS 1.3 signature algorithms against"
                    .into(),
            );
        };
        if key.schemes().iter().any(|s| sigs.contains(s)) {
            Ok(true)
        } else {
            Err(format!(
                "the client offers no TLS 1.3 signature algorithm for the {} certificate the \
                 saved scan holds; whether the endpoint has another certificate it does not \
                 show (predict live to know)",
                key.name()
            ))
        }
    }

    /// The TLS 1.3 schemes the keys behind these TLS 1.2 signatures can make.
    fn tls13_schemes(&self, shown: &[u16]) -> Vec<u16> {
        shown
            .iter()
            .flat_map(|x| match *x {
                0x0804..=0x0806 => vec![0x0804, 0x0805, 0x0806],
                x if x & 0xff == 0x01 => vec![0x0804, 0x0805, 0x0806],
                0x0809..=0x080b => vec![0x0809, 0x080a, 0x080b],
                x if x & 0xff == 0x03 => match self.a.key {
                    Some(k @ CertKey::Ec(_)) => k.schemes().to_vec(),
                    _ => vec![0x0403, 0x0503, 0x0603],
                },
                x @ (0x0807 | 0x0808) => vec![x],
                _ => Vec::new(),
            })
            .collect()
    }

    /// The suite the server picks among `usable`: its order when it enforces one, else the
    /// client's first; both named when the scan does not say whose order decides.
    fn pick(&self, usable: &[u16]) -> Result<u16, String> {
        match self.l.server_order {
            Some(true) => Ok(self
                .l
                .suites
                .iter()
                .copied()
                .find(|s| usable.contains(s))
                .unwrap_or(usable[0])),
            Some(false) => Ok(usable[0]),
            None if usable.len() == 1 => Ok(usable[0]),
            None => Err(usable
                .iter()
                .map(|s| suite_name(*s))
                .collect::<Vec<_>>()
                .join(" or ")),
        }
    }

    fn works(&self, usable: &[u16]) -> Prediction {
        let (suite, order) = match self.pick(usable) {
            Ok(s) => (suite_name(s), None),
            Err(choices) => (
                choices,
                Some("whose order decides is not in the saved scan".to_string()),
            ),
        };
        let retry = (self.v >= 0x0304)
            .then(|| self.shared_groups.first().copied())
            .flatten()
            .filter(|g| !self.hello.key_share_groups().contains(g))
            .map(|g| {
                format!(
                    "after a HelloRetryRequest for {} (the client's second hello carries it)",
                    group_name(g)
                )
            });
        let notes: Vec<String> = retry.into_iter().chain(order).collect();
        Prediction::Works {
            version: version_name(self.v),
            suite,
            note: Some(if notes.is_empty() {
                "computed from the saved scan".into()
            } else {
                format!("computed from the saved scan; {}", notes.join("; "))
            }),
        }
    }

    fn breaks(&self, usable: &[u16], suites: bool, groups: bool, sigs: bool) -> Prediction {
        let l = self.l;
        let mut reasons = Vec::new();
        let mut change = Vec::new();
        if suites {
            reasons.push(Reason::NoSharedSuite);
            let s = self.pick(usable).unwrap_or(usable[0]);
            change.push(format!(
                "add suite {} (the endpoint accepts it)",
                suite_name(s)
            ));
        }
        if groups {
            reasons.push(Reason::NoSharedGroup);
            change.push(match l.groups.first() {
                Some(g) => format!("add group {} (the endpoint accepts it)", group_name(*g)),
                None => "add a group the endpoint accepts".into(),
            });
        }
        if sigs {
            reasons.push(Reason::NoSharedSignatureAlgorithm);
            let shown = &self
                .a
                .lists
                .get(&0x0303)
                .map(|l| l.signature_algorithms.clone())
                .unwrap_or_default();
            let first = if self.v >= 0x0304 {
                self.tls13_schemes(shown).first().copied()
            } else {
                shown.first().copied()
            };
            change.push(match first {
                Some(s) => format!(
                    "add signature algorithm {} (the endpoint signs with it)",
                    signature_algorithm_name(s)
                ),
                None => "add a signature algorithm the endpoint signs with".into(),
            });
        }
        Prediction::Breaks {
            reasons,
            alert: None,
            detail: format!(
                "computed: with {} the endpoint accepts {} suites; the client's hello lacks \
                 what they need",
                version_name(self.v),
                l.suites.len()
            ),
            change: format!("{} on the client", change.join(" and ")),
        }
    }
}

/// What a saved scan's endpoint says it accepts. A version accepted by the server counts as
/// accepted (the server chose it, whatever the rest of its handshake did), a refused one as
/// refused, anything else as undecided.
pub fn accepts(e: &crate::report::Endpoint) -> Accepts {
    use crate::report::Proof;
    let versions = e
        .versions
        .iter()
        .map(|(v, cell)| {
            let decided = match cell.proof() {
                Proof::Accepted { .. } => Some(true),
                Proof::Refused => Some(false),
                Proof::Unproven(_) => None,
            };
            (v.wire(), decided)
        })
        .collect();
    let key = e
        .certificate
        .as_deref()
        .and_then(|c| c.chain.first())
        .and_then(|leaf| match leaf.key_type.as_str() {
            "RSA" => Some(CertKey::Rsa),
            "RSA-PSS" => Some(CertKey::RsaPss),
            "Ed25519" => Some(CertKey::Ed25519),
            "Ed448" => Some(CertKey::Ed448),
            "EC" => match leaf.curve.as_deref() {
                Some("prime256v1") => Some(CertKey::Ec(23)),
                Some("secp384r1") => Some(CertKey::Ec(24)),
                Some("secp521r1") => Some(CertKey::Ec(25)),
                _ => None,
            },
            _ => None,
        });
    Accepts {
        versions,
        lists: suite_lists(e),
        key,
    }
}

/// The suite lists a saved scan holds for an endpoint, per version: none in a scan without
/// `--suites`.
fn suite_lists(e: &crate::report::Endpoint) -> BTreeMap<u16, Lists> {
    use crate::report::SuiteOrder;
    e.suites
        .iter()
        .map(|(v, l)| {
            let lists = Lists {
                suites: l.suites.iter().map(|s| s.id).collect(),
                server_order: match l.order {
                    SuiteOrder::Server => Some(true),
                    SuiteOrder::Client => Some(false),
                    SuiteOrder::Unknown => None,
                },
                groups: l.groups.iter().map(|g| g.id).collect(),
                signature_algorithms: l.signature_algorithms.iter().map(|g| g.id).collect(),
                complete: l.complete,
            };
            (v.wire(), lists)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::clienthello::{Extension, list16};

    fn hello(
        legacy: u16,
        versions: &[u16],
        suites: &[u16],
        groups: &[u16],
        sigs: &[u16],
    ) -> ClientHello {
        let mut exts = vec![
            Extension {
                kind: 10,
                body: list16(groups),
            },
            Extension {
                kind: 13,
                body: list16(sigs),
            },
        ];
        if !versions.is_empty() {
            let mut b = vec![(versions.len() * 2) as u8];
            for v in versions {
                b.extend_from_slice(&v.to_be_bytes());
            }
            exts.push(Extension { kind: 43, body: b });
            let mut ks = Vec::new();
            ks.extend_from_slice(&36u16.to_be_bytes());
            ks.extend_from_slice(&29u16.to_be_bytes());
            ks.extend_from_slice(&32u16.to_be_bytes());
            ks.extend_from_slice(&[1; 32]);
            exts.push(Extension { kind: 51, body: ks });
        }
        ClientHello {
            legacy_version: legacy,
            random: [0; 32],
            session_id: vec![],
            suites: suites.to_vec(),
            compression: vec![0],
            extensions: Some(exts),
        }
    }

    /// An endpoint after the switch: TLS 1.2 (ECDHE-RSA GCM, server order) and TLS 1.3.
    fn after() -> Accepts {
        let mut a = Accepts {
            key: Some(CertKey::Rsa),
            ..Accepts::default()
        };
        for (v, ok) in [
            (0x0301, false),
            (0x0302, false),
            (0x0303, true),
            (0x0304, true),
        ] {
            a.versions.insert(v, Some(ok));
        }
        a.lists.insert(
            0x0303,
            Lists {
                suites: vec![0xc030, 0xc02f],
                server_order: Some(true),
                groups: vec![29, 23],
                signature_algorithms: vec![0x0804, 0x0401],
                complete: true,
            },
        );
        a.lists.insert(
            0x0304,
            Lists {
                suites: vec![0x1302, 0x1301],
                server_order: Some(false),
                groups: vec![29, 23],
                signature_algorithms: vec![],
                complete: true,
            },
        );
        a
    }

    fn reasons(p: Prediction) -> Vec<Reason> {
        match p {
            Prediction::Breaks { reasons, .. } => reasons,
            other => panic!("{other:?}"),
        }
    }

    const HOW: Compute<'static> = Compute {
        mode: Mode::Tls12Only,
        enable_tls12: None,
    };

    #[test]
    fn each_reason_computed_as_a_server_decides() {
        let a = after();
        // TLS 1.0 only.
        let h = hello(0x0301, &[], &[0xc014, 0x002f], &[23], &[]);
        assert_eq!(reasons(compute(&h, &a, &HOW)), [Reason::NoTls12]);
        // TLS 1.2 with RSA-CBC suites only.
        let h = hello(0x0303, &[], &[0x002f, 0x0035], &[23], &[0x0401]);
        assert_eq!(reasons(compute(&h, &a, &HOW)), [Reason::NoSharedSuite]);
        // TLS 1.2, the right suites, P-521 only.
        let h = hello(0x0303, &[], &[0xc02f], &[25], &[0x0401]);
        assert_eq!(reasons(compute(&h, &a, &HOW)), [Reason::NoSharedGroup]);
        // TLS 1.2, ECDSA signatures only.
        let h = hello(0x0303, &[], &[0xc02f], &[23], &[0x0403]);
        assert_eq!(
            reasons(compute(&h, &a, &HOW)),
            [Reason::NoSharedSignatureAlgorithm]
        );
        // TLS 1.3 and 1.2 with P-521 only: TLS 1.3 is chosen and has no group.
        let h = hello(
            0x0303,
            &[0x0304, 0x0303],
            &[0x1301, 0xc02f],
            &[25],
            &[0x0804],
        );
        assert_eq!(reasons(compute(&h, &a, &HOW)), [Reason::NoSharedGroup]);
    }

    #[test]
    fn the_suite_follows_whose_order_decides() {
        let a = after();
        // TLS 1.2: the server's order.
        let h = hello(0x0303, &[], &[0xc02f, 0xc030], &[23], &[0x0401]);
        match compute(&h, &a, &HOW) {
            Prediction::Works { version, suite, .. } => {
                assert_eq!(version, "TLS 1.2");
                assert_eq!(suite, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
            }
            other => panic!("{other:?}"),
        }
        // TLS 1.3: the client's order; a group without a key share means a HelloRetryRequest.
        let h = hello(
            0x0303,
            &[0x0304, 0x0303],
            &[0x1301, 0x1302],
            &[23],
            &[0x0804],
        );
        match compute(&h, &a, &HOW) {
            Prediction::Works {
                version,
                suite,
                note,
            } => {
                assert_eq!(version, "TLS 1.3");
                assert_eq!(suite, "TLS_AES_128_GCM_SHA256");
                assert!(note.unwrap().contains("HelloRetryRequest"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_the_scan_does_not_say_is_unknown() {
        let mut a = after();
        a.versions.insert(0x0304, None);
        let h = hello(0x0303, &[0x0304, 0x0303], &[0x1301], &[29], &[0x0804]);
        assert!(matches!(compute(&h, &a, &HOW), Prediction::Unknown { .. }));
        let mut a = after();
        a.lists.get_mut(&0x0303).unwrap().complete = false;
        let h = hello(0x0303, &[], &[0xc02f], &[23], &[0x0401]);
        assert!(matches!(compute(&h, &a, &HOW), Prediction::Unknown { .. }));
        // TLS 1.3 with ECDSA signatures only and the scan's RSA certificate, without TLS 1.2
        // signatures to show the endpoint's keys: it may hold another certificate.
        let mut a = after();
        a.lists
            .get_mut(&0x0303)
            .unwrap()
            .signature_algorithms
            .clear();
        let h = hello(0x0303, &[0x0304], &[0x1301], &[29], &[0x0403]);
        assert!(matches!(compute(&h, &a, &HOW), Prediction::Unknown { .. }));
        // With them (RSA only): it breaks.
        assert_eq!(
            reasons(compute(&h, &after(), &HOW)),
            [Reason::NoSharedSignatureAlgorithm]
        );
        // No suite lists at all (a scan without --suites).
        let mut a = after();
        a.lists.clear();
        let h = hello(0x0303, &[], &[0xc02f], &[23], &[0x0401]);
        assert!(matches!(compute(&h, &a, &HOW), Prediction::Unknown { .. }));
    }

    #[test]
    fn the_least_change_is_named_as_live_predictions_name_it() {
        let a = after();
        // ECDHE-ECDSA suites and ECDSA signatures only: suites alone would not do (the endpoint
        // signs with RSA), suites and signatures do.
        let h = hello(0x0303, &[], &[0xc02b, 0xc02c], &[23], &[0x0403]);
        assert_eq!(
            reasons(compute(&h, &a, &HOW)),
            [Reason::NoSharedSuite, Reason::NoSharedSignatureAlgorithm]
        );
        // RSA key exchange suites and no groups: a client adding ECDHE suites adds groups.
        let mut h = hello(0x0303, &[], &[0x002f], &[23], &[0x0401]);
        h.extensions.as_mut().unwrap().retain(|e| e.kind != 10);
        assert_eq!(reasons(compute(&h, &a, &HOW)), [Reason::NoSharedSuite]);
        // RSA-CBC suites and P-521 only: suites and a group.
        let h = hello(0x0303, &[], &[0x002f], &[25], &[0x0401]);
        assert_eq!(
            reasons(compute(&h, &a, &HOW)),
            [Reason::NoSharedSuite, Reason::NoSharedGroup]
        );
    }

    #[test]
    fn a_group_the_scan_did_not_ask_about_is_unknown() {
        // brainpoolP256r1 only: the scan asked about X25519 and the NIST curves.
        let h = hello(0x0303, &[], &[0xc02f], &[26], &[0x0401]);
        match compute(&h, &after(), &HOW) {
            Prediction::Unknown { detail } => assert!(detail.contains("brainpoolP256r1")),
            other => panic!("{other:?}"),
        }
    }
}
