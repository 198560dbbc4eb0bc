//! Every distinct ClientHello each client sent, with its fingerprints, and the retries a
//! client made with a lower version after a failure (fallbacks), grouped under the offer they
//! fell back from.
//!
//! Two hellos are the same offer when everything that decides a server's answer is the same:
//! the version field and `supported_versions`, the suites in order, the extensions (as a set:
//! some clients shuffle their order on every connection), the groups, the point formats, the
//! signature algorithms, the ALPN list, the key share groups and the compression methods;
//! GREASE values count as one value. The random, session ID, keys and server name do not: the
//! names a client sent are listed with its offer.
//!
//! A fallback is recognised two ways: the hello sends TLS_FALLBACK_SCSV (RFC 7507), or it came
//! within [`FALLBACK_WINDOW`] seconds of a connection from the same client to the same server
//! that offered a higher version and got no ServerHello (the latest such failure counted
//! before it: connections are counted when they end).
//! The second is an inference: two programs on one address, one failing and the other
//! offering less a moment later, look the same.
//!
//! Bounded: at most [`MAX_SHAPES`] distinct hellos and [`MAX_OFFERS`] (client, hello) pairs
//! are kept; what does not fit is counted.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::tls::clienthello::{ClientHello, to_hex};
use crate::tls::names::{extension_name, group_name, signature_algorithm_name, suite_name};
use crate::tls::record::{is_grease, version_name};

/// Seconds after a failed connection in which a lower-version hello counts as its fallback.
pub const FALLBACK_WINDOW: f64 = 10.0;
/// Distinct hellos kept.
pub const MAX_SHAPES: usize = 10_000;
/// (client, hello) pairs kept.
pub const MAX_OFFERS: usize = 100_000;
/// Server names and servers listed per offer.
const MAX_NAMES: usize = 16;
/// Failed connections remembered per (client, server) for fallbacks.
const RECENT: usize = 8;

/// One distinct ClientHello, as the clients report lists it: what it offers and its
/// fingerprints. Clients refer to it by `id` (JA4 alone does not tell hellos apart: it leaves
/// out the groups, for one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub id: usize,
    pub ja4: String,
    pub ja4_r: String,
    pub ja3: String,
    pub ja3_full: String,
    /// The versions offered, newest first: `supported_versions`, or for a hello without it
    /// the version field as `up to TLS 1.2` (older versions may be accepted too).
    pub versions: Vec<String>,
    pub highest: String,
    pub suites: Vec<String>,
    pub groups: Vec<String>,
    pub signature_algorithms: Vec<String>,
    pub extensions: Vec<String>,
    pub alpn: Vec<String>,
    /// The hello sends TLS_FALLBACK_SCSV: the client retries with a lower version.
    pub fallback_scsv: bool,
    /// The hello as first seen, as hex (the handshake message): what `predict` replays.
    pub hello: String,
}

/// One client's use of one hello.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub client: IpAddr,
    /// The hello's `id` in the report's `hellos`.
    pub hello: usize,
    pub ja4: String,
    /// The highest version the hello offers.
    pub highest: String,
    /// Server names sent with this hello (at most 16).
    pub sni: Vec<String>,
    /// Servers it was sent to (at most 16).
    pub servers: Vec<SocketAddr>,
    pub connections: u64,
    /// Connections with this hello that got no ServerHello.
    pub failed: u64,
    /// Versions the servers chose, with the number of connections.
    pub negotiated: BTreeMap<String, u64>,
    pub first_seen: String,
    pub last_seen: String,
    /// The hello sends TLS_FALLBACK_SCSV.
    pub fallback_scsv: bool,
    /// The `id` of this client's hello that this one retried, after that one failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_of: Option<usize>,
}

impl Offer {
    /// A retry after a failure, by either sign.
    pub fn is_fallback(&self) -> bool {
        self.fallback_scsv || self.fallback_of.is_some()
    }
}

/// The key that makes two hellos the same offer (see the module docs), as bytes.
pub fn shape_key(h: &ClientHello) -> Vec<u8> {
    let g = |v: u16| if is_grease(v) { 0x0a0a } else { v };
    let mut k = Vec::with_capacity(256);
    let list = |k: &mut Vec<u8>, v: &[u16]| {
        k.extend_from_slice(&(v.len() as u16).to_be_bytes());
        for x in v {
            k.extend_from_slice(&g(*x).to_be_bytes());
        }
    };
    k.extend_from_slice(&h.legacy_version.to_be_bytes());
    list(&mut k, &h.supported_versions().unwrap_or_default());
    list(&mut k, &h.suites);
    match &h.extensions {
        Some(exts) => {
            let mut kinds: Vec<u16> = exts.iter().map(|e| g(e.kind)).collect();
            kinds.sort_unstable();
            list(&mut k, &kinds);
        }
        None => k.extend_from_slice(&[0xff, 0xff]),
    }
    list(&mut k, &h.groups());
    list(&mut k, &h.signature_algorithms());
    list(&mut k, &h.key_share_groups());
    let formats = h.point_formats();
    k.push(formats.len() as u8);
    k.extend_from_slice(&formats);
    k.push(h.compression.len() as u8);
    k.extend_from_slice(&h.compression);
    k.push(u8::from(!h.session_id.is_empty()));
    if let Some(alpn) = h.extension(crate::tls::clienthello::EXT_ALPN) {
        k.extend_from_slice(alpn);
    }
    k
}

/// One connection's part, as the capture reader hands it over.
pub struct Connection {
    pub client: IpAddr,
    pub server: SocketAddr,
    /// Index of its hello in the book (from [`OfferBook::intern`]).
    pub shape: usize,
    pub sni: Option<String>,
    pub first: f64,
    pub last: f64,
    /// The version the server chose, if a ServerHello was read.
    pub negotiated: Option<u16>,
}

/// One client's use of one hello, while the capture is read: kept small, there may be
/// [`MAX_OFFERS`] of them.
#[derive(Default)]
struct Agg {
    connections: u64,
    failed: u64,
    first: f64,
    last: f64,
    sni: Vec<String>,
    servers: Vec<SocketAddr>,
    negotiated: Vec<(u16, u64)>,
    fallback_of: Option<usize>,
}

#[derive(Clone, Copy)]
struct Recent {
    shape: usize,
    highest: u16,
    first: f64,
    last: f64,
    answered: bool,
}

/// Gathers the offers while a capture is read.
#[derive(Default)]
pub struct OfferBook {
    keys: HashMap<Vec<u8>, usize>,
    hellos: Vec<ClientHello>,
    /// Each hello's JA4 and highest version, computed once.
    ja4s: Vec<String>,
    highest: Vec<u16>,
    offers: BTreeMap<(IpAddr, usize), Agg>,
    recent: HashMap<(IpAddr, SocketAddr), VecDeque<Recent>>,
    /// Connections whose hello was tlsmatrix's own (left out of everything).
    pub own_probes: u64,
    /// Connections in no offer because a limit (of hellos, of offers) was reached.
    pub over_limit: u64,
}

impl OfferBook {
    /// The book's index for this hello, or `None` (counted) past the limit.
    pub fn intern(&mut self, hello: &ClientHello) -> Option<usize> {
        let key = shape_key(hello);
        if let Some(i) = self.keys.get(&key) {
            return Some(*i);
        }
        if self.hellos.len() >= MAX_SHAPES {
            self.over_limit += 1;
            return None;
        }
        self.hellos.push(hello.clone());
        self.ja4s.push(hello.ja4());
        self.highest.push(hello.highest());
        self.keys.insert(key, self.hellos.len() - 1);
        Some(self.hellos.len() - 1)
    }

    /// The JA4 of an interned hello.
    pub fn ja4(&self, shape: usize) -> String {
        self.ja4s[shape].clone()
    }

    /// Count one connection.
    pub fn connection(&mut self, c: Connection) {
        let key = (c.client, c.shape);
        if !self.offers.contains_key(&key) && self.offers.len() >= MAX_OFFERS {
            self.over_limit += 1;
            return;
        }
        let highest = self.highest[c.shape];
        let agg = self.offers.entry(key).or_insert_with(|| Agg {
            first: c.first,
            last: c.last,
            ..Agg::default()
        });
        agg.connections += 1;
        agg.first = agg.first.min(c.first);
        agg.last = agg.last.max(c.last);
        match c.negotiated {
            Some(v) => match agg.negotiated.iter_mut().find(|(x, _)| *x == v) {
                Some((_, n)) => *n += 1,
                None => agg.negotiated.push((v, 1)),
            },
            None => agg.failed += 1,
        }
        if let Some(name) = c.sni
            && agg.sni.len() < MAX_NAMES
            && !agg.sni.contains(&name)
        {
            agg.sni.push(name);
        }
        if agg.servers.len() < MAX_NAMES && !agg.servers.contains(&c.server) {
            agg.servers.push(c.server);
        }
        // Fallbacks: only failed connections are remembered (most succeed), a few per client
        // and server.
        if self.recent.len() >= MAX_OFFERS {
            self.recent.clear();
        }
        let this = Recent {
            shape: c.shape,
            highest,
            first: c.first,
            last: c.last,
            answered: c.negotiated.is_some(),
        };
        let key = (c.client, c.server);
        // This one retries the failure closest before it (another program on the same
        // address may have failed earlier).
        let retried = self.recent.get(&key).and_then(|ring| {
            ring.iter()
                .filter(|r| falls_back(r, &this))
                .max_by(|a, b| a.last.total_cmp(&b.last))
                .map(|r| r.shape)
        });
        if let Some(of) = retried
            && let Some(a) = self.offers.get_mut(&(c.client, c.shape))
        {
            a.fallback_of.get_or_insert(of);
        }
        if !this.answered {
            let ring = self.recent.entry(key).or_default();
            ring.push_back(this);
            if ring.len() > RECENT {
                ring.pop_front();
            }
        }
    }

    /// The distinct hellos and, by client, the offers.
    pub fn finish(self) -> (Vec<Hello>, Vec<Offer>) {
        let hellos: Vec<Hello> = self
            .hellos
            .iter()
            .enumerate()
            .map(|(id, h)| describe(id, h))
            .collect();
        let offers = self
            .offers
            .into_iter()
            .map(|((client, shape), a)| Offer {
                client,
                hello: shape,
                ja4: hellos[shape].ja4.clone(),
                highest: hellos[shape].highest.clone(),
                sni: {
                    let mut v = a.sni;
                    v.sort();
                    v
                },
                servers: {
                    let mut v = a.servers;
                    v.sort();
                    v
                },
                connections: a.connections,
                failed: a.failed,
                negotiated: a
                    .negotiated
                    .into_iter()
                    .map(|(v, n)| (version_name(v), n))
                    .collect::<BTreeMap<String, u64>>(),
                first_seen: super::rfc3339(a.first),
                last_seen: super::rfc3339(a.last),
                fallback_scsv: hellos[shape].fallback_scsv,
                fallback_of: a.fallback_of,
            })
            .collect();
        (hellos, offers)
    }
}

/// A hello for the report.
pub fn describe(id: usize, h: &ClientHello) -> Hello {
    let names = |v: Vec<u16>, f: fn(u16) -> String| v.into_iter().map(f).collect();
    Hello {
        id,
        ja4: h.ja4(),
        ja4_r: h.ja4_r(),
        ja3: h.ja3(),
        ja3_full: h.ja3_full(),
        versions: versions(h),
        highest: version_name(h.highest()),
        suites: names(h.suites.clone(), suite_name),
        groups: names(h.groups(), group_name),
        signature_algorithms: names(h.signature_algorithms(), signature_algorithm_name),
        extensions: names(
            h.extensions.iter().flatten().map(|e| e.kind).collect(),
            extension_name,
        ),
        alpn: h
            .alpn()
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
        fallback_scsv: h.signals_fallback(),
        hello: to_hex(&h.encode()),
    }
}

/// Whether `later` is a retry of `earlier` after it failed.
fn falls_back(earlier: &Recent, later: &Recent) -> bool {
    !earlier.answered
        && earlier.shape != later.shape
        && later.highest < earlier.highest
        && later.first >= earlier.first
        && later.first - earlier.last <= FALLBACK_WINDOW
}

/// The versions of a hello for people (see [`Offer::versions`]).
pub fn versions(h: &ClientHello) -> Vec<String> {
    match h.supported_versions() {
        Some(_) => h.versions().into_iter().map(version_name).collect(),
        None => vec![format!("up to {}", version_name(h.legacy_version))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::clienthello::Extension;

    fn hello(version: u16, grease: u16, order: bool) -> ClientHello {
        let mut exts = vec![
            Extension {
                kind: 10,
                body: vec![0, 2, 0, 23],
            },
            Extension {
                kind: 23,
                body: vec![],
            },
            Extension {
                kind: grease,
                body: vec![],
            },
        ];
        if order {
            exts.reverse();
        }
        ClientHello {
            legacy_version: version,
            random: [0; 32],
            session_id: vec![],
            suites: vec![grease, 0xc02f, 0x002f],
            compression: vec![0],
            extensions: Some(exts),
        }
    }

    fn conn(shape: usize, t: f64, answered: bool) -> Connection {
        Connection {
            client: "10.0.0.5".parse().unwrap(),
            server: "10.0.0.1:636".parse().unwrap(),
            shape,
            sni: Some("dc1.corp.test".into()),
            first: t,
            last: t + 0.1,
            negotiated: answered.then_some(0x0303),
        }
    }

    #[test]
    fn grease_and_shuffled_extensions_make_one_offer() {
        assert_eq!(
            shape_key(&hello(0x0303, 0x1a1a, false)),
            shape_key(&hello(0x0303, 0xfafa, true))
        );
        assert_ne!(
            shape_key(&hello(0x0303, 0x1a1a, false)),
            shape_key(&hello(0x0301, 0x1a1a, false))
        );
    }

    #[test]
    fn a_lower_version_after_a_failure_is_a_fallback() {
        let mut book = OfferBook::default();
        let tls12 = book.intern(&hello(0x0303, 0x1a1a, false)).unwrap();
        let tls10 = book.intern(&hello(0x0301, 0x1a1a, false)).unwrap();
        book.connection(conn(tls12, 100.0, false));
        book.connection(conn(tls10, 100.5, true));
        let (_, offers) = book.finish();
        let primary = offers.iter().find(|o| o.highest == "TLS 1.2").unwrap();
        let retry = offers.iter().find(|o| o.highest == "TLS 1.0").unwrap();
        assert_eq!(primary.fallback_of, None);
        assert_eq!(retry.fallback_of, Some(primary.hello));
        assert_eq!((primary.failed, retry.failed), (1, 0));
    }

    #[test]
    fn no_fallback_after_a_success_or_long_after() {
        let mut book = OfferBook::default();
        let tls12 = book.intern(&hello(0x0303, 0x1a1a, false)).unwrap();
        let tls10 = book.intern(&hello(0x0301, 0x1a1a, false)).unwrap();
        book.connection(conn(tls12, 100.0, true));
        book.connection(conn(tls10, 100.5, true));
        book.connection(conn(tls12, 200.0, false));
        book.connection(conn(tls10, 200.1 + FALLBACK_WINDOW + 1.0, true));
        assert!(book.finish().1.iter().all(|o| !o.is_fallback()));
    }

    #[test]
    fn distinct_hellos_stop_at_the_limit_and_are_counted() {
        let mut book = OfferBook::default();
        let mut h = hello(0x0303, 0x1a1a, false);
        let suites = (0u16..).filter(|v| !is_grease(*v));
        for (i, suite) in suites.take(MAX_SHAPES + 5).enumerate() {
            h.suites = vec![suite];
            let got = book.intern(&h);
            assert_eq!(got.is_some(), i < MAX_SHAPES, "{i}");
        }
        assert_eq!(book.over_limit, 5);
    }
}
