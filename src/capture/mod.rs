//! Which clients use which TLS versions, read from packet captures.
//!
//! pcap and pcapng (gzip-compressed too) are read as a stream with `pcap-parser`; link layers
//! (Ethernet with VLAN tags, Linux cooked v1 and v2, raw IP, BSD loopback) are peeled off, IPv4
//! and IPv6 and TCP are sliced with `etherparse`. Each TCP direction is put back in order (enough
//! to read a ClientHello or ServerHello split over segments, retransmitted or out of order),
//! LDAP messages before TLS (StartTLS) are skipped by their BER lengths, and the handshake is
//! read with `tls-parser`. A connection's state is dropped as soon as both hellos are read.
//!
//! Memory does not grow with the size of the capture, whatever it holds: at most
//! [`MAX_CONNECTIONS`] connections are followed at once and at most [`MAX_BUFFERED`] bytes are
//! kept for them overall; past either limit the connection idle the longest is dropped (in O(1):
//! connections are kept in order of their last packet), and the report counts what was dropped.
//! At most [`MAX_ROWS`] rows are kept; connections that would need more are counted.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

pub mod offers;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use hashlink::LinkedHashMap;
use pcap_parser::{Linktype, PcapBlockOwned, PcapError};
use serde::{Deserialize, Serialize};

use crate::tls::TlsVersion;
use crate::tls::clienthello::ClientHello;
use crate::tls::record::{HelloRead, ServerAnswer, read_client_hello, server_answer, version_name};

/// What is kept of one direction of a connection before its hello is read.
const MAX_STREAM: usize = 64 * 1024;
/// Connections followed at once; past this the one idle the longest is dropped.
pub const MAX_CONNECTIONS: usize = 100_000;
/// Bytes kept for all the connections followed (streams waiting for a whole hello, segments
/// ahead of a gap); past this the connections idle the longest are dropped until it fits.
pub const MAX_BUFFERED: usize = 64 << 20;
/// Rows of the report (distinct client, server, SNI, versions); connections that would need a
/// new row past this are counted, not listed.
pub const MAX_ROWS: usize = 100_000;
/// A server name longer than a DNS name can be is cut here.
const MAX_SNI: usize = 255;
/// What one pending segment costs besides its bytes (a map node and a vector).
const SEGMENT_OVERHEAD: usize = 64;

/// Version of the clients document's layout. 2: every distinct ClientHello per client
/// (`offers`), the connections left out as tlsmatrix's own (`own_probes`), a row's JA4.
pub const SCHEMA_VERSION: u32 = 2;

/// What a client's connections mean for a move to TLS 1.2-only.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientVerdict {
    /// Offers nothing above TLS 1.1: it will fail once the server enforces TLS 1.2.
    Breaks,
    /// Offers TLS 1.2 or newer, but the server chose TLS 1.0/1.1: fine once it enforces.
    OkButNegotiatedLegacy,
    Ok,
}

impl ClientVerdict {
    pub fn key(self) -> &'static str {
        match self {
            ClientVerdict::Breaks => "breaks",
            ClientVerdict::OkButNegotiatedLegacy => "ok_but_negotiated_legacy",
            ClientVerdict::Ok => "ok",
        }
    }
}

/// Connections from one client to one server (and server name) that offered and negotiated the
/// same versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRow {
    pub client: IpAddr,
    pub server: SocketAddr,
    pub sni: Option<String>,
    /// The highest version the client offered (from `supported_versions` where present).
    pub offered: String,
    /// The version the server chose in its ServerHello, when one was seen.
    pub negotiated: Option<String>,
    /// The JA4 fingerprint of the hello (see `offers` for the hello itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    /// TLS began after an LDAP StartTLS exchange.
    pub starttls: bool,
    pub connections: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub verdict: ClientVerdict,
}

/// What was read of one capture file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSummary {
    pub path: String,
    pub packets: u64,
    pub bytes: u64,
    /// Why the file could not be read to its end, if it could not.
    pub error: Option<String>,
}

/// What was given up to keep memory bounded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// Connections whose state was dropped before both hellos were read, because more than
    /// `MAX_CONNECTIONS` were open at once or their buffers passed `MAX_BUFFERED`.
    pub connections: u64,
    /// Of those, connections whose ClientHello had not been read: they are in no row.
    pub unread: u64,
    /// Bytes that were buffered for the dropped connections.
    pub bytes: u64,
    /// Connections not counted in any row because the report had `MAX_ROWS` rows already.
    pub over_row_limit: u64,
}

impl Dropped {
    pub fn any(&self) -> bool {
        self.connections > 0 || self.over_row_limit > 0
    }
}

/// The limits the reading kept to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub connections: usize,
    pub buffered_bytes: usize,
    pub rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: MAX_CONNECTIONS,
            buffered_bytes: MAX_BUFFERED,
            rows: MAX_ROWS,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientsReport {
    pub schema_version: u32,
    pub files: Vec<FileSummary>,
    /// Server ports looked at; empty for every port.
    pub ports: Vec<u16>,
    pub rows: Vec<ClientRow>,
    /// What was dropped to stay within `limits`.
    #[serde(default)]
    pub dropped: Dropped,
    #[serde(default)]
    pub limits: Limits,
    /// Every distinct ClientHello seen, with its fingerprints (see `offers`).
    #[serde(default)]
    pub hellos: Vec<offers::Hello>,
    /// Each client's distinct hellos: one entry per client and hello.
    #[serde(default)]
    pub offers: Vec<offers::Offer>,
    /// Connections whose ClientHello was tlsmatrix's own probe, left out of rows and offers.
    #[serde(default)]
    pub own_probes: u64,
    /// Connections in no offer: past 10,000 distinct hellos or 100,000 (client, hello) pairs.
    #[serde(default)]
    pub offers_over_limit: u64,
}

impl ClientsReport {
    /// Client addresses with at least one connection that breaks.
    pub fn breaking_clients(&self) -> usize {
        let mut c: Vec<IpAddr> = self
            .rows
            .iter()
            .filter(|r| r.verdict == ClientVerdict::Breaks)
            .map(|r| r.client)
            .collect();
        c.sort();
        c.dedup();
        c.len()
    }

    pub fn clients(&self) -> usize {
        let mut c: Vec<IpAddr> = self.rows.iter().map(|r| r.client).collect();
        c.sort();
        c.dedup();
        c.len()
    }
}

/// One direction of a TCP connection, put back in order.
#[derive(Default)]
struct Direction {
    next: Option<u32>,
    data: Vec<u8>,
    pending: BTreeMap<u32, Vec<u8>>,
    pending_bytes: usize,
}

impl Direction {
    /// Bytes this direction holds in memory.
    fn held(&self) -> usize {
        self.data.capacity() + self.pending_bytes + self.pending.len() * SEGMENT_OVERHEAD
    }

    fn add(&mut self, seq: u32, payload: &[u8]) {
        let next = *self.next.get_or_insert(seq);
        let offset = seq.wrapping_sub(next) as i32;
        if offset > 0 {
            // Ahead of what we have: keep it until the gap is filled (bounded).
            if self.pending_bytes + payload.len() <= MAX_STREAM {
                self.pending_bytes += payload.len();
                self.pending.insert(seq, payload.to_vec());
            }
            return;
        }
        let skip = (-offset) as usize;
        if skip < payload.len() {
            self.push(&payload[skip..]);
        }
        // Anything pending that now fits.
        while let Some((&s, _)) = self.pending.iter().next() {
            let next = self.next.unwrap_or(s);
            let off = s.wrapping_sub(next) as i32;
            if off > 0 {
                break;
            }
            let bytes = self.pending.remove(&s).unwrap_or_default();
            self.pending_bytes -= bytes.len();
            let skip = (-off) as usize;
            if skip < bytes.len() {
                self.push(&bytes[skip..]);
            }
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = MAX_STREAM.saturating_sub(self.data.len());
        let take = bytes.len().min(room);
        if take > 0 {
            if self.data.capacity() - self.data.len() < take {
                // Grow by doubling, but never past what one direction may hold.
                let want = (self.data.capacity() * 2)
                    .max(self.data.len() + take)
                    .min(MAX_STREAM);
                self.data.reserve_exact(want - self.data.len());
            }
            self.data.extend_from_slice(&bytes[..take]);
        }
        self.next = Some(self.next.unwrap_or(0).wrapping_add(bytes.len() as u32));
    }
}

/// What the start of a direction's stream holds.
#[derive(Debug, PartialEq, Eq)]
enum Start {
    NeedMore,
    NotTls,
    /// The offset where TLS starts, and whether LDAP messages came first.
    Tls {
        at: usize,
        starttls: bool,
    },
}

/// Skip the LDAP messages (BER SEQUENCEs) before TLS.
fn tls_start(b: &[u8]) -> Start {
    let mut at = 0;
    let mut starttls = false;
    loop {
        let Some(&first) = b.get(at) else {
            return Start::NeedMore;
        };
        match first {
            0x30 => {
                let Some(&l) = b.get(at + 1) else {
                    return Start::NeedMore;
                };
                let (len, hdr) = if l < 0x80 {
                    (l as usize, 2)
                } else {
                    let n = (l & 0x7f) as usize;
                    if n == 0 || n > 4 {
                        return Start::NotTls;
                    }
                    let Some(bytes) = b.get(at + 2..at + 2 + n) else {
                        return Start::NeedMore;
                    };
                    (
                        bytes.iter().fold(0usize, |a, x| (a << 8) | *x as usize),
                        2 + n,
                    )
                };
                at += hdr + len;
                starttls = true;
                if at > b.len() {
                    return Start::NeedMore;
                }
            }
            20..=23 => return Start::Tls { at, starttls },
            _ => return Start::NotTls,
        }
    }
}

/// What a client's hello offered.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Hello {
    offered: u16,
    sni: Option<String>,
    /// The hello's place in the offer book, if it has one.
    shape: Option<usize>,
}

struct Flow {
    /// The two directions, by sender.
    dirs: [Option<(SocketAddr, Direction)>; 2],
    client: Option<SocketAddr>,
    server: Option<SocketAddr>,
    hello: Option<Hello>,
    negotiated: Option<u16>,
    starttls: bool,
    /// No TLS in this connection: ignore the rest.
    ignore: bool,
    first: f64,
    last: f64,
}

impl Flow {
    fn new(ts: f64) -> Flow {
        Flow {
            dirs: [None, None],
            client: None,
            server: None,
            hello: None,
            negotiated: None,
            starttls: false,
            ignore: false,
            first: ts,
            last: ts,
        }
    }

    fn dir_mut(&mut self, sender: SocketAddr) -> &mut Direction {
        let i = match self
            .dirs
            .iter()
            .position(|d| matches!(d, Some((a, _)) if *a == sender))
        {
            Some(i) => i,
            None => {
                // The key is the pair of addresses: a third sender cannot come.
                let i = self.dirs.iter().position(Option::is_none).unwrap_or(1);
                self.dirs[i] = Some((sender, Direction::default()));
                i
            }
        };
        &mut self.dirs[i].as_mut().expect("just set").1
    }

    /// The other end of the connection, seen from `a`.
    fn peer(&self, a: SocketAddr) -> Option<SocketAddr> {
        peer(&self.dirs, a)
    }

    fn held(&self) -> usize {
        self.dirs.iter().flatten().map(|(_, d)| d.held()).sum()
    }
}

fn peer(dirs: &[Option<(SocketAddr, Direction)>; 2], a: SocketAddr) -> Option<SocketAddr> {
    dirs.iter().flatten().map(|(s, _)| *s).find(|s| *s != a)
}

#[derive(Default)]
struct Agg {
    connections: u64,
    first: f64,
    last: f64,
}

type RowKey = (
    IpAddr,
    SocketAddr,
    Option<String>,
    u16,
    Option<u16>,
    bool,
    Option<usize>,
);

type FlowKey = (SocketAddr, SocketAddr);

/// Reads captures and gathers the rows.
pub struct Analyzer {
    ports: Vec<u16>,
    /// Connections followed, the one idle the longest first.
    flows: LinkedHashMap<FlowKey, Flow>,
    /// Bytes held by `flows`.
    buffered: usize,
    rows: BTreeMap<RowKey, Agg>,
    /// Every distinct hello of every client.
    book: offers::OfferBook,
    dropped: Dropped,
    limits: Limits,
}

/// A TCP segment, as the analyzer needs it.
pub struct Segment<'a> {
    pub ts: f64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub syn: bool,
    pub ack: bool,
    pub end: bool,
    pub payload: &'a [u8],
}

impl Analyzer {
    pub fn new(ports: Vec<u16>) -> Self {
        Self::with_limits(ports, Limits::default())
    }

    /// An analyzer keeping to other limits (smaller ones, for tests).
    pub fn with_limits(ports: Vec<u16>, limits: Limits) -> Self {
        Analyzer {
            ports,
            flows: LinkedHashMap::new(),
            buffered: 0,
            rows: BTreeMap::new(),
            book: offers::OfferBook::default(),
            dropped: Dropped::default(),
            limits,
        }
    }

    /// Connections followed right now, and the bytes held for them.
    pub fn in_memory(&self) -> (usize, usize) {
        (self.flows.len(), self.buffered)
    }

    /// Feed one TCP segment.
    pub fn segment(&mut self, s: Segment<'_>) {
        if !self.ports.is_empty()
            && !self.ports.contains(&s.src.port())
            && !self.ports.contains(&s.dst.port())
        {
            return;
        }
        let key = if s.src < s.dst {
            (s.src, s.dst)
        } else {
            (s.dst, s.src)
        };
        // The connection moves to the back: the front is always the one idle the longest.
        if self.flows.to_back(&key).is_none() {
            if s.payload.is_empty() && !s.syn {
                return;
            }
            while self.flows.len() >= self.limits.connections.max(1) {
                self.drop_oldest();
            }
            self.flows.insert(key, Flow::new(s.ts));
        }
        let flow = self.flows.get_mut(&key).expect("flow");
        let before = flow.held();
        flow.last = s.ts;
        // Who is the client: the port filter, else the SYN without ACK.
        if flow.client.is_none() {
            if !self.ports.is_empty() {
                let (c, sv) = if self.ports.contains(&s.dst.port()) {
                    (s.src, s.dst)
                } else {
                    (s.dst, s.src)
                };
                flow.client = Some(c);
                flow.server = Some(sv);
            } else if s.syn && !s.ack {
                flow.client = Some(s.src);
                flow.server = Some(s.dst);
            }
        }
        let ignore = flow.ignore;
        let dir = flow.dir_mut(s.src);
        if s.syn {
            dir.next = Some(s.seq.wrapping_add(1));
        } else if !s.payload.is_empty() && !ignore {
            dir.add(s.seq, s.payload);
            Self::read(flow, s.src, &mut self.book);
        }
        let after = flow.held();
        self.buffered = (self.buffered + after).saturating_sub(before);
        let finished = flow.ignore || (flow.hello.is_some() && flow.negotiated.is_some());
        if s.end || finished {
            self.close(&key);
        }
        while self.buffered > self.limits.buffered_bytes && !self.flows.is_empty() {
            self.drop_oldest();
        }
    }

    /// Stop following a connection that ended (or whose hellos are read), and count it.
    fn close(&mut self, key: &FlowKey) {
        if let Some(flow) = self.flows.remove(key) {
            self.buffered = self.buffered.saturating_sub(flow.held());
            self.record(flow);
        }
    }

    /// Stop following the connection idle the longest, to stay within the limits.
    fn drop_oldest(&mut self) {
        if let Some((_, flow)) = self.flows.pop_front() {
            let held = flow.held();
            self.buffered = self.buffered.saturating_sub(held);
            self.dropped.connections += 1;
            self.dropped.bytes += held as u64;
            if flow.hello.is_none() {
                self.dropped.unread += 1;
            }
            self.record(flow);
        }
    }

    fn read(flow: &mut Flow, sender: SocketAddr, book: &mut offers::OfferBook) {
        let Some((_, dir)) = flow.dirs.iter().flatten().find(|(a, _)| *a == sender) else {
            return;
        };
        let start = match tls_start(&dir.data) {
            Start::NeedMore => return,
            Start::NotTls => {
                flow.ignore = flow.hello.is_none();
                return;
            }
            Start::Tls { at, starttls } => {
                flow.starttls |= starttls;
                at
            }
        };
        let tls = &dir.data[start..];
        let is_client = flow.client.map(|c| c == sender);
        if flow.hello.is_none() && is_client != Some(false) {
            match read_client_hello(tls) {
                HelloRead::Hello(offer) => {
                    let shape = match ClientHello::from_records(tls) {
                        // tlsmatrix's own probe: left out, only counted.
                        Ok(h) if h.is_tlsmatrix_probe() => {
                            book.own_probes += 1;
                            flow.ignore = true;
                            return;
                        }
                        Ok(h) => book.intern(&h),
                        Err(_) => None,
                    };
                    flow.hello = Some(Hello {
                        shape,
                        offered: offer.highest(),
                        sni: offer.sni.map(|mut n| {
                            if n.len() > MAX_SNI {
                                let mut cut = MAX_SNI;
                                while !n.is_char_boundary(cut) {
                                    cut -= 1;
                                }
                                n.truncate(cut);
                            }
                            n
                        }),
                    });
                    if flow.client.is_none() {
                        flow.client = Some(sender);
                        flow.server = peer(&flow.dirs, sender);
                    }
                    return;
                }
                HelloRead::NeedMore => return,
                HelloRead::NotTls if is_client == Some(true) => {
                    flow.ignore = true;
                    return;
                }
                HelloRead::NotTls => {}
            }
        }
        if flow.negotiated.is_none()
            && is_client != Some(true)
            && let ServerAnswer::Hello { version, .. } = server_answer(tls)
        {
            flow.negotiated = Some(version);
        }
    }

    fn record(&mut self, flow: Flow) {
        let (Some(hello), Some(client)) = (flow.hello.clone(), flow.client) else {
            return;
        };
        let Some(server) = flow.server.or_else(|| flow.peer(client)) else {
            return;
        };
        if let Some(shape) = hello.shape {
            self.book.connection(offers::Connection {
                client: client.ip(),
                server,
                shape,
                sni: hello.sni.clone(),
                first: flow.first,
                last: flow.last,
                negotiated: flow.negotiated,
            });
        }
        let key = (
            client.ip(),
            server,
            hello.sni,
            hello.offered,
            flow.negotiated,
            flow.starttls,
            hello.shape,
        );
        if !self.rows.contains_key(&key) && self.rows.len() >= self.limits.rows {
            self.dropped.over_row_limit += 1;
            return;
        }
        let agg = self.rows.entry(key).or_insert(Agg {
            connections: 0,
            first: flow.first,
            last: flow.last,
        });
        agg.connections += 1;
        agg.first = agg.first.min(flow.first);
        agg.last = agg.last.max(flow.last);
    }

    /// Everything read so far, the connections still open included.
    pub fn finish(mut self, files: Vec<FileSummary>) -> ClientsReport {
        while let Some((_, f)) = self.flows.pop_front() {
            self.record(f);
        }
        let book = &self.book;
        let rows: Vec<ClientRow> = self
            .rows
            .into_iter()
            .map(
                |((client, server, sni, offered, negotiated, starttls, shape), a)| {
                    let verdict = if offered < TlsVersion::Tls12.wire() {
                        ClientVerdict::Breaks
                    } else if negotiated.is_some_and(|n| n < TlsVersion::Tls12.wire()) {
                        ClientVerdict::OkButNegotiatedLegacy
                    } else {
                        ClientVerdict::Ok
                    };
                    ClientRow {
                        client,
                        server,
                        sni,
                        offered: version_name(offered),
                        negotiated: negotiated.map(version_name),
                        ja4: shape.map(|s| book.ja4(s)),
                        starttls,
                        connections: a.connections,
                        first_seen: rfc3339(a.first),
                        last_seen: rfc3339(a.last),
                        verdict,
                    }
                },
            )
            .collect();
        let own_probes = self.book.own_probes;
        let offers_over_limit = self.book.over_limit;
        let (hellos, offers) = self.book.finish();
        ClientsReport {
            schema_version: SCHEMA_VERSION,
            files,
            ports: self.ports,
            rows,
            dropped: self.dropped,
            limits: self.limits,
            own_probes,
            offers_over_limit,
            hellos,
            offers,
        }
    }

    /// Read one capture file into the analyzer. Errors are reported in the summary, and what
    /// was read before them still counts.
    pub fn read_file(&mut self, path: &str) -> FileSummary {
        let mut summary = FileSummary {
            path: path.to_string(),
            packets: 0,
            bytes: 0,
            error: None,
        };
        if let Err(e) = self.read_file_inner(path, &mut summary) {
            summary.error = Some(e);
        }
        summary
    }

    /// Read a capture from any reader (a pipe, a buffer) into the analyzer; `name` is how the
    /// summary names it.
    pub fn read_stream(&mut self, name: &str, input: impl Read + Send + 'static) -> FileSummary {
        let mut summary = FileSummary {
            path: name.to_string(),
            packets: 0,
            bytes: 0,
            error: None,
        };
        if let Err(e) = self.read_input(input, &mut summary) {
            summary.error = Some(e);
        }
        summary
    }

    fn read_file_inner(&mut self, path: &str, summary: &mut FileSummary) -> Result<(), String> {
        let file = File::open(path).map_err(|e| e.to_string())?;
        self.read_input(file, summary)
    }

    fn read_input(
        &mut self,
        input: impl Read + Send + 'static,
        summary: &mut FileSummary,
    ) -> Result<(), String> {
        let mut input = BufReader::new(input);
        let mut magic = [0u8; 2];
        let gz = {
            use std::io::BufRead;
            let buf = input.fill_buf().map_err(|e| e.to_string())?;
            if buf.len() >= 2 {
                magic.copy_from_slice(&buf[..2]);
            }
            magic == [0x1f, 0x8b]
        };
        let reader: Box<dyn Read + Send> = if gz {
            Box::new(flate2::read::MultiGzDecoder::new(input))
        } else {
            Box::new(input)
        };
        let mut pcap = match pcap_parser::create_reader(BLOCK_BUFFER, reader) {
            Ok(r) => r,
            Err(PcapError::Eof) => return Err("empty file, not a capture".into()),
            Err(_) => return Err("not a pcap or pcapng capture".into()),
        };
        // Link type per interface (pcapng) or for the file (pcap), and timestamp resolution.
        let mut links: Vec<(Linktype, u64, i64)> = Vec::new();
        let mut legacy: Option<(Linktype, bool)> = None;
        loop {
            match pcap.next() {
                Ok((offset, block)) => {
                    let outcome = match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            legacy = Some((h.network, h.is_nanosecond_precision()));
                            Ok(())
                        }
                        PcapBlockOwned::Legacy(b) => {
                            let (link, nano) = legacy.unwrap_or((Linktype::ETHERNET, false));
                            let frac = if nano { 1e-9 } else { 1e-6 };
                            let ts = b.ts_sec as f64 + b.ts_usec as f64 * frac;
                            summary.packets += 1;
                            summary.bytes += b.data.len() as u64;
                            self.packet(link, ts, b.data)
                        }
                        PcapBlockOwned::NG(pcap_parser::Block::InterfaceDescription(idb)) => {
                            links.push((
                                idb.linktype,
                                idb.ts_resolution().unwrap_or(1_000_000),
                                idb.ts_offset(),
                            ));
                            Ok(())
                        }
                        PcapBlockOwned::NG(pcap_parser::Block::EnhancedPacket(epb)) => {
                            let (link, res, off) = links
                                .get(epb.if_id as usize)
                                .copied()
                                .unwrap_or((Linktype::ETHERNET, 1_000_000, 0));
                            let ts = epb.decode_ts_f64(off.max(0) as u64, res);
                            summary.packets += 1;
                            summary.bytes += epb.data.len() as u64;
                            self.packet(link, ts, epb.data)
                        }
                        PcapBlockOwned::NG(pcap_parser::Block::SimplePacket(spb)) => {
                            let (link, _, _) =
                                links.first().copied().unwrap_or((Linktype::ETHERNET, 0, 0));
                            summary.packets += 1;
                            summary.bytes += spb.data.len() as u64;
                            self.packet(link, 0.0, spb.data)
                        }
                        PcapBlockOwned::NG(_) => Ok(()),
                    };
                    pcap.consume(offset);
                    outcome?;
                }
                Err(PcapError::Eof) => return Ok(()),
                Err(PcapError::Incomplete(_)) => {
                    if pcap.reader_exhausted() {
                        return Err(truncated(summary));
                    }
                    let held = pcap.data().len();
                    pcap.refill().map_err(|e| format!("{e:?}"))?;
                    if pcap.data().len() == held && !pcap.reader_exhausted() {
                        return Err(too_large(summary));
                    }
                }
                Err(PcapError::BufferTooSmall) => return Err(too_large(summary)),
                Err(PcapError::UnexpectedEof) => return Err(truncated(summary)),
                Err(e) => {
                    return Err(format!(
                        "unreadable block after {} packets: {e:?}",
                        summary.packets
                    ));
                }
            }
        }
    }

    /// One captured frame.
    fn packet(&mut self, link: Linktype, ts: f64, data: &[u8]) -> Result<(), String> {
        let sliced = match link {
            Linktype::ETHERNET => SlicedPacket::from_ethernet(data),
            Linktype::LINUX_SLL => SlicedPacket::from_linux_sll(data),
            // Linux cooked v2: a 20-byte header, protocol in the first two bytes.
            Linktype::LINUX_SLL2 => match data.get(20..) {
                Some(rest) => SlicedPacket::from_ip(rest),
                None => return Ok(()),
            },
            Linktype::RAW | Linktype::IPV4 | Linktype::IPV6 => SlicedPacket::from_ip(data),
            Linktype(12) | Linktype(14) => SlicedPacket::from_ip(data),
            // BSD loopback (DLT_NULL, DLT_LOOP): a 4-byte address family, then IP.
            Linktype::NULL | Linktype::LOOP => match data.get(4..) {
                Some(rest) => SlicedPacket::from_ip(rest),
                None => return Ok(()),
            },
            other => {
                return Err(format!(
                    "link type {} is not supported (Ethernet, Linux cooked, raw IP and loopback are)",
                    other.0
                ));
            }
        };
        let Ok(p) = sliced else {
            return Ok(()); // a frame that is not IP/TCP, or cut short by the snap length
        };
        let (src_ip, dst_ip): (IpAddr, IpAddr) = match &p.net {
            Some(NetSlice::Ipv4(v4)) => (
                v4.header().source_addr().into(),
                v4.header().destination_addr().into(),
            ),
            Some(NetSlice::Ipv6(v6)) => (
                v6.header().source_addr().into(),
                v6.header().destination_addr().into(),
            ),
            _ => return Ok(()),
        };
        let Some(TransportSlice::Tcp(tcp)) = &p.transport else {
            return Ok(());
        };
        self.segment(Segment {
            ts,
            src: SocketAddr::new(src_ip, tcp.source_port()),
            dst: SocketAddr::new(dst_ip, tcp.destination_port()),
            seq: tcp.sequence_number(),
            syn: tcp.syn(),
            ack: tcp.ack(),
            end: tcp.fin() || tcp.rst(),
            payload: tcp.payload(),
        });
        Ok(())
    }
}

/// The reader's buffer: a block (a packet) larger than this is refused, so a hostile length
/// field cannot make the buffer grow.
const BLOCK_BUFFER: usize = 1 << 20;

fn too_large(summary: &FileSummary) -> String {
    format!(
        "a block of more than {} MiB after {} packets: not a capture tlsmatrix reads",
        BLOCK_BUFFER >> 20,
        summary.packets
    )
}

fn truncated(summary: &FileSummary) -> String {
    format!(
        "truncated capture: the last packet is cut off (the {} packets before it were read)",
        summary.packets
    )
}

fn rfc3339(ts: f64) -> String {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(ts.max(0.0));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Read every file and report the clients.
pub fn analyze(paths: &[String], ports: Vec<u16>) -> ClientsReport {
    let mut a = Analyzer::new(ports);
    let files = paths.iter().map(|p| a.read_file(p)).collect();
    a.finish(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldap_messages_before_tls_are_skipped() {
        let starttls = crate::probe::ldap::starttls_request();
        let mut b = starttls.clone();
        b.extend_from_slice(&[22, 3, 1, 0, 5]);
        assert_eq!(
            tls_start(&b),
            Start::Tls {
                at: starttls.len(),
                starttls: true
            }
        );
        assert_eq!(tls_start(&starttls[..10]), Start::NeedMore);
        assert_eq!(tls_start(b"GET / HTTP/1.1"), Start::NotTls);
    }

    proptest::proptest! {
        #![proptest_config({
            let mut c = proptest::prelude::ProptestConfig::default();
            if std::env::var_os("PROPTEST_CASES").is_none() {
                c.cases = 64;
            }
            c.failure_persistence = None;
            c
        })]

        /// Whatever order and overlap the segments come in, the stream is put back whole
        /// (what fits in a direction's buffer), starting at any sequence number, wrap included.
        #[test]
        fn reassembly_of_shuffled_repeated_segments(
            stream in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..3000),
            cuts in proptest::collection::vec(1usize..400, 1..20),
            swaps in proptest::collection::vec((0usize..64, 0usize..64), 0..20),
            repeats in proptest::collection::vec(0usize..64, 0..8),
            start in proptest::prelude::any::<u32>(),
        ) {
            let mut segs = Vec::new();
            let mut at = 0;
            for c in cuts.iter().cycle() {
                if at >= stream.len() {
                    break;
                }
                let end = (at + c).min(stream.len());
                segs.push((at, end));
                at = end;
            }
            for r in repeats {
                let s = segs[r % segs.len()];
                segs.push(s);
            }
            // The first segment stays first: it sets where the stream starts.
            for (a, b) in swaps {
                let n = segs.len();
                if n > 1 {
                    segs.swap(1 + a % (n - 1), 1 + b % (n - 1));
                }
            }
            let mut d = Direction::default();
            for (a, b) in &segs {
                d.add(start.wrapping_add(*a as u32), &stream[*a..*b]);
            }
            proptest::prop_assert_eq!(&d.data[..], &stream[..stream.len().min(MAX_STREAM)]);
            proptest::prop_assert!(d.held() <= 2 * MAX_STREAM + d.pending.len() * SEGMENT_OVERHEAD);
        }

        #[test]
        fn tls_start_reads_any_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            match tls_start(&bytes) {
                Start::Tls { at, .. } => proptest::prop_assert!(at < bytes.len()),
                Start::NeedMore | Start::NotTls => {}
            }
        }
    }

    #[test]
    fn segments_out_of_order_and_retransmitted_are_put_back_in_order() {
        let mut d = Direction::default();
        d.add(100, b"abc");
        d.add(106, b"ghi");
        d.add(103, b"def");
        d.add(100, b"abcd"); // retransmission
        assert_eq!(d.data, b"abcdefghi");
    }
}
