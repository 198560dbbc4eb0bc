//! Suite enumeration (`scan --suites`): for one accepted version of an endpoint, every cipher
//! suite the server accepts, whose order decides, its key-exchange groups and (TLS 1.2) the
//! signature algorithms it signs with. The wire engine does the work. The OpenSSL engine checks
//! the list with full handshakes where it can offer the suites: with `--engine openssl` one
//! handshake per suite found, with both engines one handshake offering them all (the suite it
//! gets is confirmed); and in both cases one handshake offering every suite it has that was not
//! found, which must fail. Any difference is kept as a disagreement.
//!
//! # How
//!
//! A hello offers a list (at most 128 suites, see `tls::hello`); the server picks one; the
//! next hello offers the list without it; a list is done when the server refuses it. The
//! version's suites are split in the same parts as the wire engine's hellos, the common ones
//! first, and each part is enumerated on its own, side by side:
//!
//! - The first part goes out twice at once, as it is and reversed. The same pick from both
//!   means the server enforces its own order: the rest of the part is enumerated one hello after
//!   another, and the picks come in the server's order. Two different picks mean the server
//!   takes the client's order: the rest is split over several streams that run side by side
//!   (as many as `--per-host` allows), and the list is shown in the client's order.
//! - The other parts are enumerated one hello after another each.
//! - A server that enforces its order and accepted suites of several parts: each later suite
//!   finds its place by offering it with one of the first part's at a time (a binary search,
//!   the suites side by side).
//! - Where neither showed the order (fewer than two suites in the first part), the whole list is
//!   offered as it is and reversed once more.
//!
//! Then the groups (TLS 1.3: `supported_groups` without the groups found so far, the server's
//! key share or HelloRetryRequest naming the next; TLS 1.0-1.2: the curve of the
//! ServerKeyExchange of an ECDHE suite; the groups asked about are X25519, P-256, P-384, P-521
//! and in TLS 1.3 FFDHE), the server's own DH group for DHE suites, and for TLS
//! 1.2 the signature algorithm of the ServerKeyExchange, each the same way.
//!
//! TLS 1.3 hellos go without key shares, so a server taking one answers with a
//! HelloRetryRequest that names its suite and group without computing a key exchange or
//! signing anything: the server's CPU, not the connections, bounds an enumeration on a fast
//! network. A server that refuses both first hellos so gets key shares from then on. Every connection
//! takes a per-host permit, so `--per-host` bounds the enumeration as it bounds the probes, and
//! the connections are counted.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Instant;

use futures_util::future::join_all;
use openssl::ssl::SslContext;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::time::timeout_at;

use crate::probe::classify::{Choice, server_choice};
use crate::probe::{Endpoint, Limits, Opened, open, show_duration};
use crate::report::{
    AcceptedSuite, DhGroup, EngineAnswer, Named, Status, SuiteOrder, TlsVersion, VersionSuites,
};
use crate::tls::hello::{
    HelloKeys, Offer, SIGALGS_TLS12, cipher_suites, client_hello_with, suite_parts,
};
use crate::tls::record::{
    KeyExchangeSeen, ServerAnswer, only_warnings, server_flight, server_key_exchange,
};
use crate::tls::suites::{self, Flaw, KeyExchange};

/// What is read of a server's answer at most: its ServerHello, certificates and key exchange.
const MAX_ANSWER: usize = 96 * 1024;

/// The groups asked about: the ones clients use (X25519, P-256, P-384, P-521) and, in TLS 1.3,
/// the FFDHE groups of RFC 7919. Each one a server takes costs a connection, and servers that
/// take a dozen old curves (secp256k1, brainpool, P-192, P-224) would double the count of an
/// enumeration for groups no client of a directory offers.
const CURVES: &[u16] = &[29, 23, 24, 25];
const GROUPS_13: &[u16] = &[29, 23, 24, 25, 256, 257, 258, 259, 260];

/// Where and how to enumerate.
pub struct SuiteScan<'a> {
    /// The endpoint (no LDAP check, no connect gate).
    pub endpoint: Endpoint<'a>,
    pub limits: Limits,
    /// The endpoint's per-host permits: each connection takes one.
    pub per_host: Arc<Semaphore>,
    /// How many lists may be enumerated side by side (`--per-host`).
    pub streams: usize,
    /// The OpenSSL engine's check of the list, if it runs.
    pub openssl: Option<OpenSslCheck<'a>>,
    /// The suite the server chose from the version probe's first wire hello, which offered the
    /// first part of the suites as the enumeration's first hello does: its answer, known.
    pub first_pick: Option<u16>,
}

/// How the OpenSSL engine checks a version's list: a full handshake offering the suites found
/// that it can offer (each alone with `each`, else all together: one handshake, whose suite is
/// then confirmed), and one offering every suite it has that was not found, which must fail.
#[derive(Clone, Copy)]
pub struct OpenSslCheck<'a> {
    pub ctx: &'a SslContext,
    /// The suites this OpenSSL offers for the version.
    pub offerable: &'a [u16],
    pub each: bool,
}

/// One hello's answer.
#[derive(Debug)]
enum Reply {
    /// The server chose the version and this suite.
    Chose {
        suite: u16,
        key_share: Option<u16>,
        kex: KeyExchangeSeen,
    },
    /// The server said no.
    No,
    /// Nothing decided: why.
    Undecided(String),
}

/// One step of a "take the pick out and ask again" walk.
enum Step {
    Picked(u16),
    Done,
    Problem(String),
}

/// What a walk asks the server to pick.
#[derive(Clone, Copy)]
enum Ask<'x> {
    /// A suite, from the list offered.
    Suite,
    /// A TLS 1.3 group (its key share or HelloRetryRequest), offering these suites.
    Group13(&'x [u16]),
    /// A TLS 1.0-1.2 curve (its ServerKeyExchange), offering these ECDHE suites.
    Curve(&'x [u16]),
    /// A TLS 1.2 signature algorithm (its ServerKeyExchange), offering these suites.
    Signature(&'x [u16]),
}

/// What a walk found, and what kept it from the end.
struct Walk {
    found: Vec<u16>,
    problem: Option<String>,
}

struct Run<'s, 'a> {
    scan: &'s SuiteScan<'a>,
    version: TlsVersion,
    connections: AtomicU32,
    /// TLS 1.3 hellos carry key shares. Without them (the start), a server taking a hello
    /// answers with a HelloRetryRequest naming its suite and group, and spends no key exchange
    /// and no signature on it: most of what an enumeration costs the server. A server that
    /// refuses hellos without shares gets them.
    key_shares: AtomicBool,
}

/// Enumerate what `version` accepts on the endpoint.
pub async fn enumerate(version: TlsVersion, scan: &SuiteScan<'_>) -> VersionSuites {
    let start = Instant::now();
    let run = Run {
        scan,
        version,
        connections: AtomicU32::new(0),
        key_shares: AtomicBool::new(false),
    };
    let mut problems = Vec::new();
    let (found, order) = run.suites(&mut problems).await;
    let mut out = VersionSuites {
        suites: found.iter().map(|id| AcceptedSuite::of(*id)).collect(),
        order,
        ..Default::default()
    };
    let (groups, dh, sigalgs, confirmed) = tokio::join!(
        run.groups(&found),
        run.dh_group(&found),
        run.signature_algorithms(&found),
        run.confirm(&found),
    );
    problems.extend(groups.1.clone());
    problems.extend(sigalgs.1.clone());
    out.groups = groups.0.into_iter().map(Named::group).collect();
    out.signature_algorithms = sigalgs.0.into_iter().map(Named::signature_scheme).collect();
    match dh {
        Ok(d) => out.dh_group = d,
        Err(p) => problems.push(p),
    }
    let (answers, disagreements) = confirmed;
    for s in &mut out.suites {
        s.openssl = answers
            .iter()
            .find(|(id, _)| *id == s.id)
            .map(|(_, a)| a.clone());
    }
    out.disagreements = disagreements;
    out.complete = problems.is_empty();
    out.problems = problems;
    out.connections = run.connections.load(Ordering::Relaxed);
    out.elapsed_ms = start.elapsed().as_millis() as u64;
    out
}

impl Run<'_, '_> {
    fn count(&self, n: u32) {
        self.connections.fetch_add(n, Ordering::Relaxed);
    }

    /// One connection: the hello for our version with `suites` (and `offer`), and the server's
    /// answer; with `need_kex`, read on to its ServerKeyExchange (before TLS 1.3).
    async fn hello(&self, suites: &[u16], offer: Offer<'_>, need_kex: bool) -> Reply {
        let offer = Offer {
            no_key_shares: !self.key_shares.load(Ordering::Relaxed),
            ..offer
        };
        let Ok(_permit) = self.scan.per_host.clone().acquire_owned().await else {
            return Reply::Undecided("the scan was stopped".into());
        };
        let limits = self.scan.limits;
        let deadline = tokio::time::Instant::now() + limits.timeout;
        let Opened {
            mut tcp,
            attempts,
            deadline,
            permits: _permits,
        } = match open(&self.scan.endpoint, limits, deadline).await {
            Ok(o) => o,
            Err((failed, attempts)) => {
                self.count(attempts);
                return Reply::Undecided(failed.detail());
            }
        };
        self.count(attempts);
        let keys = match HelloKeys::generate() {
            Ok(k) => k,
            Err(e) => return Reply::Undecided(format!("no keys for the ClientHello: {e}")),
        };
        let v = self.version;
        let hello = client_hello_with(v, suites, self.scan.endpoint.sni, &keys, offer);
        match timeout_at(deadline, tcp.write_all(&hello)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Reply::Undecided(format!("sending the ClientHello: {e}")),
            Err(_) => {
                return Reply::Undecided(format!(
                    "could not send the ClientHello within {}",
                    show_duration(limits.timeout)
                ));
            }
        }
        let mut got: Vec<u8> = Vec::with_capacity(4096);
        let mut chunk = vec![0u8; 8192];
        loop {
            let flight = server_flight(&got);
            match &flight.answer {
                ServerAnswer::Nothing | ServerAnswer::Incomplete => {}
                ServerAnswer::Hello {
                    legacy_version,
                    supported_version,
                    cipher,
                    key_share,
                    ..
                } => {
                    let kex = if need_kex && v != TlsVersion::Tls13 {
                        let anonymous =
                            suites::flaws(*cipher).is_some_and(|f| f.contains(&Flaw::Anonymous));
                        server_key_exchange(
                            &got,
                            suites::key_exchange(*cipher) == Some(KeyExchange::Dhe),
                            v == TlsVersion::Tls12,
                            anonymous,
                        )
                    } else {
                        KeyExchangeSeen::None
                    };
                    if kex != KeyExchangeSeen::NotYet || got.len() >= MAX_ANSWER {
                        return chose(
                            v,
                            *legacy_version,
                            *supported_version,
                            *cipher,
                            *key_share,
                            kex,
                        );
                    }
                }
                ServerAnswer::Alert { .. } | ServerAnswer::NotTls => return Reply::No,
                ServerAnswer::Unclear(what) => return Reply::Undecided(what.clone()),
            }
            if got.len() >= MAX_ANSWER {
                return Reply::Undecided(format!("{} bytes without a ServerHello", got.len()));
            }
            let hello_seen = matches!(flight.answer, ServerAnswer::Hello { .. });
            match timeout_at(deadline, tcp.read(&mut chunk)).await {
                Err(_) if hello_seen => {
                    return Reply::Undecided(format!(
                        "no ServerKeyExchange within {}",
                        show_duration(limits.timeout)
                    ));
                }
                Err(_) => {
                    return Reply::Undecided(format!(
                        "no answer within {}",
                        show_duration(limits.timeout)
                    ));
                }
                Ok(Ok(0)) if got.is_empty() || only_warnings(&got) => return Reply::No,
                Ok(Ok(0)) => {
                    return Reply::Undecided(format!(
                        "the server closed after {} bytes, before its answer was whole",
                        got.len()
                    ));
                }
                Ok(Ok(n)) => got.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => {
                    return match e.kind() {
                        std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::BrokenPipe
                            if got.is_empty() || only_warnings(&got) =>
                        {
                            Reply::No
                        }
                        _ => Reply::Undecided(format!("I/O error during the handshake: {e}")),
                    };
                }
            }
        }
    }

    /// Offer `suites` with the usual groups: the suite picked.
    async fn pick_suite(&self, suites: Vec<u16>) -> Step {
        match self.hello(&suites, Offer::default(), false).await {
            Reply::Chose { suite, .. } => Step::Picked(suite),
            Reply::No => Step::Done,
            Reply::Undecided(why) => Step::Problem(why),
        }
    }

    /// One pick of `ask` from `left`.
    async fn ask(&self, ask: Ask<'_>, left: Vec<u16>) -> Step {
        match ask {
            Ask::Suite => self.pick_suite(left).await,
            Ask::Group13(suites) => {
                let offer = Offer {
                    groups: Some(&left),
                    ..Offer::default()
                };
                match self.hello(suites, offer, false).await {
                    Reply::Chose {
                        key_share: Some(g), ..
                    } => Step::Picked(g),
                    Reply::Chose {
                        key_share: None, ..
                    } => Step::Problem("a TLS 1.3 ServerHello without a key share".into()),
                    Reply::No => Step::Done,
                    Reply::Undecided(why) => Step::Problem(why),
                }
            }
            Ask::Curve(suites) => {
                let offer = Offer {
                    groups: Some(&left),
                    ..Offer::default()
                };
                match self.hello(suites, offer, true).await {
                    Reply::Chose {
                        kex: KeyExchangeSeen::Curve { group, .. },
                        ..
                    } => Step::Picked(group),
                    Reply::Chose { kex, .. } => Step::Problem(format!(
                        "an ECDHE suite chosen without a named curve ({kex:?})"
                    )),
                    Reply::No => Step::Done,
                    Reply::Undecided(why) => Step::Problem(why),
                }
            }
            Ask::Signature(suites) => {
                let offer = Offer {
                    signature_algorithms: Some(&left),
                    ..Offer::default()
                };
                match self.hello(suites, offer, true).await {
                    Reply::Chose {
                        kex:
                            KeyExchangeSeen::Curve {
                                signature: Some(s), ..
                            }
                            | KeyExchangeSeen::Dh {
                                signature: Some(s), ..
                            },
                        ..
                    } => Step::Picked(s),
                    Reply::Chose { kex, .. } => Step::Problem(format!(
                        "a ServerKeyExchange without a signature algorithm ({kex:?})"
                    )),
                    Reply::No => Step::Done,
                    Reply::Undecided(why) => Step::Problem(why),
                }
            }
        }
    }

    /// Ask again and again, taking each pick out, until the server refuses what is left.
    async fn walk(&self, mut left: Vec<u16>, ask: Ask<'_>) -> Walk {
        let mut found = Vec::new();
        while !left.is_empty() {
            match self.ask(ask, left.clone()).await {
                Step::Picked(x) if left.contains(&x) => {
                    found.push(x);
                    left.retain(|y| *y != x);
                }
                Step::Picked(x) => {
                    return Walk {
                        found,
                        problem: Some(format!("the server chose 0x{x:04X}, which was not offered")),
                    };
                }
                Step::Done => break,
                Step::Problem(why) => {
                    return Walk {
                        found,
                        problem: Some(why),
                    };
                }
            }
        }
        Walk {
            found,
            problem: None,
        }
    }

    /// The same walk over `streams` lists dealt from `left` in turn, side by side.
    async fn walk_split(&self, left: Vec<u16>, streams: usize, ask: Ask<'_>) -> Walk {
        let streams = streams.clamp(1, left.len().max(1));
        let mut lists = vec![Vec::new(); streams];
        for (i, x) in left.into_iter().enumerate() {
            lists[i % streams].push(x);
        }
        let walks = join_all(lists.into_iter().map(|l| self.walk(l, ask))).await;
        let mut out = Walk {
            found: Vec::new(),
            problem: None,
        };
        for w in walks {
            out.found.extend(w.found);
            if out.problem.is_none() {
                out.problem = w.problem;
            }
        }
        out
    }

    /// Every accepted suite, in the server's order where it has one, and whose order it is.
    async fn suites(&self, problems: &mut Vec<String>) -> (Vec<u16>, SuiteOrder) {
        let parts = suite_parts(self.version);
        let ask = Ask::Suite;
        let first = parts[0].clone();
        let reversed: Vec<u16> = first.iter().rev().copied().collect();
        // Before TLS 1.3 the version probe's first hello was this one (TLS 1.3's carried key
        // shares): its answer stands.
        let known = self
            .scan
            .first_pick
            .filter(|x| self.version != TlsVersion::Tls13 && first.contains(x));
        let (mut a, mut b, others) = tokio::join!(
            async {
                match known {
                    Some(x) => Step::Picked(x),
                    None => self.pick_suite(first.clone()).await,
                }
            },
            self.pick_suite(reversed.clone()),
            join_all(parts[1..].iter().map(|p| self.walk(p.clone(), ask)))
        );
        if self.version == TlsVersion::Tls13
            && !matches!(a, Step::Picked(_))
            && !matches!(b, Step::Picked(_))
        {
            // The version was accepted with key shares: this server wants them.
            self.key_shares.store(true, Ordering::Relaxed);
            (a, b) = tokio::join!(self.pick_suite(first.clone()), self.pick_suite(reversed));
        }
        // The first part, given its two first answers.
        let mut hint_server = false;
        let mut hint_client = false;
        let mut part0 = Vec::new();
        let mut picks = Vec::new();
        for step in [a, b] {
            match step {
                Step::Picked(x) if first.contains(&x) => picks.push(x),
                Step::Picked(x) => {
                    problems.push(format!("the server chose 0x{x:04X}, which was not offered"))
                }
                Step::Done => {}
                Step::Problem(why) => problems.push(why),
            }
        }
        match picks.as_slice() {
            [x, y] if x == y => {
                hint_server = true;
                let rest: Vec<u16> = first.iter().copied().filter(|s| s != x).collect();
                let w = self.walk(rest, ask).await;
                part0.push(*x);
                part0.extend(w.found);
                problems.extend(w.problem);
            }
            [x, y] => {
                hint_client = true;
                let rest: Vec<u16> = first.iter().copied().filter(|s| s != x && s != y).collect();
                let w = self.walk_split(rest, self.scan.streams, ask).await;
                part0.extend([*x, *y]);
                part0.extend(w.found);
                problems.extend(w.problem);
            }
            [x] => {
                // One answer only (the other undecided or refused): go on from it.
                let rest: Vec<u16> = first.iter().copied().filter(|s| s != x).collect();
                let w = self.walk(rest, ask).await;
                part0.push(*x);
                part0.extend(w.found);
                problems.extend(w.problem);
            }
            _ => {}
        }
        let mut lists = vec![part0];
        for w in others {
            lists.push(w.found);
            problems.extend(w.problem);
        }
        let total: usize = lists.iter().map(Vec::len).sum();
        let order = if total < 2 {
            SuiteOrder::Unknown
        } else if hint_client {
            SuiteOrder::Client
        } else if hint_server && lists[0].len() >= 2 {
            SuiteOrder::Server
        } else {
            // Nothing showed it yet: the whole list as found, and reversed.
            let all: Vec<u16> = lists.iter().flatten().copied().collect();
            let reversed: Vec<u16> = all.iter().rev().copied().collect();
            match tokio::join!(self.pick_suite(all), self.pick_suite(reversed)) {
                (Step::Picked(x), Step::Picked(y)) if x == y => SuiteOrder::Server,
                (Step::Picked(_), Step::Picked(_)) => SuiteOrder::Client,
                _ => SuiteOrder::Unknown,
            }
        };
        let found = match order {
            SuiteOrder::Server => self.merge(lists, problems).await,
            _ => {
                // The client's order: ours, most common first.
                let rank: Vec<u16> = cipher_suites(self.version);
                let mut all: Vec<u16> = lists.into_iter().flatten().collect();
                all.sort_by_key(|id| rank.iter().position(|r| r == id).unwrap_or(usize::MAX));
                all
            }
        };
        (found, order)
    }

    /// Lists each in the server's order, merged into one in that order: each suite of a later
    /// list finds its place in the first by a binary search of two-suite hellos.
    async fn merge(&self, lists: Vec<Vec<u16>>, problems: &mut Vec<String>) -> Vec<u16> {
        let mut lists = lists.into_iter().filter(|l| !l.is_empty());
        let Some(mut merged) = lists.next() else {
            return Vec::new();
        };
        for later in lists {
            let base = merged.clone();
            let places = join_all(later.iter().map(|b| self.place(&base, *b))).await;
            let mut insert: Vec<(usize, usize, u16)> = Vec::new();
            for (i, (b, place)) in later.iter().zip(places).enumerate() {
                match place {
                    Ok(p) => insert.push((p, i, *b)),
                    Err(why) => {
                        problems.push(why);
                        insert.push((base.len(), i, *b));
                    }
                }
            }
            // Later suites keep their own order among themselves.
            insert.sort();
            let mut out = Vec::with_capacity(base.len() + insert.len());
            let mut next = insert.into_iter().peekable();
            for (i, a) in base.into_iter().enumerate() {
                while let Some((_, _, b)) = next.next_if(|(p, _, _)| *p <= i) {
                    out.push(b);
                }
                out.push(a);
            }
            out.extend(next.map(|(_, _, b)| b));
            merged = out;
        }
        merged
    }

    /// Where `b` goes in `sorted` (the server's order): the index of the first suite the
    /// server prefers it to.
    async fn place(&self, sorted: &[u16], b: u16) -> Result<usize, String> {
        let (mut lo, mut hi) = (0, sorted.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.pick_suite(vec![sorted[mid], b]).await {
                Step::Picked(x) if x == b => hi = mid,
                Step::Picked(x) if x == sorted[mid] => lo = mid + 1,
                Step::Picked(x) => {
                    return Err(format!("the server chose 0x{x:04X}, which was not offered"));
                }
                Step::Done => {
                    return Err(format!(
                        "the server refused {} and {} together, having taken each",
                        suites::name(sorted[mid]),
                        suites::name(b)
                    ));
                }
                Step::Problem(why) => return Err(why),
            }
        }
        Ok(lo)
    }

    /// The key-exchange groups, in the order the server picked them.
    async fn groups(&self, found: &[u16]) -> (Vec<u16>, Option<String>) {
        if self.version == TlsVersion::Tls13 {
            if found.is_empty() {
                return (Vec::new(), None);
            }
            let w = self.walk(GROUPS_13.to_vec(), Ask::Group13(found)).await;
            return (w.found, w.problem);
        }
        let ecdhe: Vec<u16> = found
            .iter()
            .copied()
            .filter(|s| suites::key_exchange(*s) == Some(KeyExchange::Ecdhe))
            .collect();
        if ecdhe.is_empty() {
            return (Vec::new(), None);
        }
        let w = self.walk(CURVES.to_vec(), Ask::Curve(&ecdhe)).await;
        (w.found, w.problem)
    }

    /// The server's own finite-field group, for DHE suites before TLS 1.3.
    async fn dh_group(&self, found: &[u16]) -> Result<Option<DhGroup>, String> {
        let dhe: Vec<u16> = found
            .iter()
            .copied()
            .filter(|s| suites::key_exchange(*s) == Some(KeyExchange::Dhe))
            .collect();
        if dhe.is_empty() || self.version == TlsVersion::Tls13 {
            return Ok(None);
        }
        match self.hello(&dhe, Offer::default(), true).await {
            Reply::Chose {
                kex: KeyExchangeSeen::Dh { prime, .. },
                ..
            } => Ok(Some(DhGroup {
                name: suites::dh_prime_name(&prime),
                bits: suites::bit_length(&prime) as u32,
            })),
            Reply::Chose { kex, .. } => Err(format!(
                "a DHE suite chosen without DH parameters ({kex:?})"
            )),
            Reply::No => Err("the server refused the DHE suites it had taken".into()),
            Reply::Undecided(why) => Err(why),
        }
    }

    /// TLS 1.2: the signature algorithms the server signs its key exchange with.
    async fn signature_algorithms(&self, found: &[u16]) -> (Vec<u16>, Option<String>) {
        if self.version != TlsVersion::Tls12 {
            return (Vec::new(), None);
        }
        let signed: Vec<u16> = found
            .iter()
            .copied()
            .filter(|s| {
                matches!(
                    suites::key_exchange(*s),
                    Some(KeyExchange::Ecdhe | KeyExchange::Dhe)
                ) && !suites::flaws(*s).is_some_and(|f| f.contains(&Flaw::Anonymous))
                    && suites::info(*s).is_some_and(|c| {
                        !matches!(c.au, suites::TlsCipherAu::Psk | suites::TlsCipherAu::Srp)
                    })
            })
            .collect();
        if signed.is_empty() {
            return (Vec::new(), None);
        }
        let w = self
            .walk_split(
                SIGALGS_TLS12.to_vec(),
                self.scan.streams.min(2),
                Ask::Signature(&signed),
            )
            .await;
        let mut found = w.found;
        let rank = SIGALGS_TLS12;
        found.sort_by_key(|s| rank.iter().position(|r| r == s));
        (found, w.problem)
    }

    /// OpenSSL's word on each suite it can offer (a handshake offering it alone), and one
    /// handshake offering every suite it has that the wire engine did not find: what they say
    /// against the wire engine's list.
    async fn confirm(&self, found: &[u16]) -> (Vec<(u16, EngineAnswer)>, Vec<String>) {
        let Some(OpenSslCheck {
            ctx,
            offerable,
            each,
        }) = self.scan.openssl
        else {
            return (Vec::new(), Vec::new());
        };
        let mine: Vec<u16> = found
            .iter()
            .copied()
            .filter(|s| offerable.contains(s))
            .collect();
        let found_set: HashSet<u16> = found.iter().copied().collect();
        let rest: Vec<u16> = offerable
            .iter()
            .copied()
            .filter(|s| !found_set.contains(s))
            .collect();
        let offers: Vec<Vec<u16>> = if each {
            mine.iter().map(|s| vec![*s]).collect()
        } else if mine.is_empty() {
            Vec::new()
        } else {
            vec![mine.clone()]
        };
        let (each_answer, others) = tokio::join!(
            join_all(offers.iter().map(|o| self.openssl_offering(ctx, o.clone()))),
            async {
                if rest.is_empty() {
                    None
                } else {
                    self.openssl_offering(ctx, rest.clone()).await
                }
            }
        );
        let mut answers = Vec::new();
        let mut disagreements = Vec::new();
        for (offered, outcome) in offers.iter().zip(each_answer) {
            let Some(outcome) = outcome else { continue };
            let answer = EngineAnswer::of(&outcome);
            let names = || {
                offered
                    .iter()
                    .map(|id| suites::name(*id))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if answer.status == Status::Refused {
                disagreements.push(format!(
                    "the server chose {} in the wire engine's hellos, but refused OpenSSL's \
                     handshake offering {} ({})",
                    if offered.len() == 1 { "it" } else { "each" },
                    names(),
                    answer.detail
                ));
            }
            // The suite the handshake got is the one it confirms.
            let got = match &outcome {
                crate::report::Outcome::Accepted {
                    cipher: Some(name), ..
                } => suites::id_of(name),
                _ => None,
            };
            match (offered.as_slice(), got) {
                ([one], _) => answers.push((*one, answer)),
                (_, Some(id)) if offered.contains(&id) => answers.push((id, answer)),
                (_, Some(id)) => disagreements.push(format!(
                    "OpenSSL's handshake offering {} was accepted with {}, which it did not offer",
                    names(),
                    suites::name(id)
                )),
                _ => {}
            }
        }
        if let Some(crate::report::Outcome::Accepted {
            cipher: Some(name), ..
        }) = others
        {
            disagreements.push(format!(
                "OpenSSL's handshake offering the {} suites it has that the wire engine did not \
                 list was accepted with {name}",
                rest.len()
            ));
        }
        (answers, disagreements)
    }
}

impl Run<'_, '_> {
    /// An OpenSSL handshake offering only `only`.
    async fn openssl_offering(
        &self,
        ctx: &SslContext,
        only: Vec<u16>,
    ) -> Option<crate::report::Outcome> {
        let _permit = self.scan.per_host.clone().acquire_owned().await.ok()?;
        let r = super::openssl::probe_offering(
            ctx,
            self.version,
            &self.scan.endpoint,
            self.scan.limits,
            Some(&only),
        )
        .await;
        self.count(r.cell.attempts);
        Some(r.cell.outcome)
    }
}

/// A ServerHello read by the rules of the version offered.
fn chose(
    v: TlsVersion,
    legacy: u16,
    supported: Option<u16>,
    cipher: u16,
    key_share: Option<u16>,
    kex: KeyExchangeSeen,
) -> Reply {
    match server_choice(v, legacy, supported) {
        Choice::Offered => Reply::Chose {
            suite: cipher,
            key_share,
            kex,
        },
        // Another version: nothing of this list for ours.
        Choice::Other(_) => Reply::No,
        Choice::Invalid(why) => Reply::Undecided(why),
    }
}
