//! Which clients use which TLS versions, read from packet captures.
//!
//! pcap and pcapng (gzip-compressed too) are read as a stream with `pcap-parser`; link layers
//! (Ethernet with VLAN tags, Linux cooked v1 and v2, raw IP, BSD loopback) are peeled off, IPv4
//! and IPv6 and TCP are sliced with `etherparse`. Each TCP direction is put back in order (enough
//! to read a ClientHello or ServerHello split over segments, retransmitted or out of order),
//! LDAP messages before TLS (StartTLS) are skipped by their BER lengths, and the handshake is
//! read with `tls-parser`. A connection's state is dropped as soon as both hellos are read, so
//! memory does not grow with the size of the capture.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_parser::{Linktype, PcapBlockOwned, PcapError};
use serde::{Deserialize, Serialize};

use crate::tls::TlsVersion;
use crate::tls::record::{HelloRead, ServerAnswer, read_client_hello, server_answer, version_name};

/// What is kept of one direction of a connection before its hello is read.
const MAX_STREAM: usize = 64 * 1024;
/// Connections followed at once; beyond this the oldest idle ones are dropped.
const MAX_FLOWS: usize = 200_000;

/// What a client's connections mean for a move to TLS 1.2-only.
/// Version of the clients document's layout.
pub const SCHEMA_VERSION: u32 = 1;

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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientsReport {
    pub schema_version: u32,
    pub files: Vec<FileSummary>,
    /// Server ports looked at; empty for every port.
    pub ports: Vec<u16>,
    pub rows: Vec<ClientRow>,
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
        self.data.extend_from_slice(&bytes[..bytes.len().min(room)]);
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
}

struct Flow {
    /// Directions by sender.
    dirs: HashMap<SocketAddr, Direction>,
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

#[derive(Default)]
struct Agg {
    connections: u64,
    first: f64,
    last: f64,
}

type RowKey = (IpAddr, SocketAddr, Option<String>, u16, Option<u16>, bool);

/// Reads captures and gathers the rows.
pub struct Analyzer {
    ports: Vec<u16>,
    flows: HashMap<(SocketAddr, SocketAddr), Flow>,
    rows: BTreeMap<RowKey, Agg>,
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
        Analyzer {
            ports,
            flows: HashMap::new(),
            rows: BTreeMap::new(),
        }
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
        if !self.flows.contains_key(&key) {
            if s.payload.is_empty() && !s.syn {
                return;
            }
            if self.flows.len() >= MAX_FLOWS {
                self.evict(s.ts);
            }
            self.flows.insert(
                key,
                Flow {
                    dirs: HashMap::new(),
                    client: None,
                    server: None,
                    hello: None,
                    negotiated: None,
                    starttls: false,
                    ignore: false,
                    first: s.ts,
                    last: s.ts,
                },
            );
        }
        let ports = self.ports.clone();
        let flow = self.flows.get_mut(&key).expect("flow");
        flow.last = s.ts;
        // Who is the client: the port filter, else the SYN without ACK.
        if flow.client.is_none() {
            if !ports.is_empty() {
                let (c, sv) = if ports.contains(&s.dst.port()) {
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
        let dir = flow.dirs.entry(s.src).or_default();
        if s.syn {
            dir.next = Some(s.seq.wrapping_add(1));
        } else if !s.payload.is_empty() && !flow.ignore {
            dir.add(s.seq, s.payload);
            Self::read(flow, s.src);
        }
        let finished = flow.ignore || (flow.hello.is_some() && flow.negotiated.is_some());
        if (s.end || finished)
            && let Some(flow) = self.flows.remove(&key)
        {
            self.record(flow);
        }
    }

    fn read(flow: &mut Flow, sender: SocketAddr) {
        let Some(dir) = flow.dirs.get(&sender) else {
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
                    flow.hello = Some(Hello {
                        offered: offer.highest(),
                        sni: offer.sni,
                    });
                    if flow.client.is_none() {
                        flow.client = Some(sender);
                        flow.server = flow.dirs.keys().copied().find(|a| *a != sender);
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
        let (Some(hello), Some(client)) = (flow.hello, flow.client) else {
            return;
        };
        let server = flow
            .server
            .or_else(|| flow.dirs.keys().copied().find(|a| *a != client));
        let Some(server) = server else {
            return;
        };
        let key = (
            client.ip(),
            server,
            hello.sni,
            hello.offered,
            flow.negotiated,
            flow.starttls,
        );
        let agg = self.rows.entry(key).or_insert(Agg {
            connections: 0,
            first: flow.first,
            last: flow.last,
        });
        agg.connections += 1;
        agg.first = agg.first.min(flow.first);
        agg.last = agg.last.max(flow.last);
    }

    /// Drop connections idle for two minutes of capture time.
    fn evict(&mut self, now: f64) {
        let stale: Vec<(SocketAddr, SocketAddr)> = self
            .flows
            .iter()
            .filter(|(_, f)| now - f.last > 120.0)
            .map(|(k, _)| *k)
            .collect();
        for k in stale {
            if let Some(f) = self.flows.remove(&k) {
                self.record(f);
            }
        }
    }

    /// Everything read so far, the connections still open included.
    pub fn finish(mut self, files: Vec<FileSummary>) -> ClientsReport {
        let open: Vec<Flow> = self.flows.drain().map(|(_, f)| f).collect();
        for f in open {
            self.record(f);
        }
        let rows = self
            .rows
            .into_iter()
            .map(
                |((client, server, sni, offered, negotiated, starttls), a)| {
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
                        starttls,
                        connections: a.connections,
                        first_seen: rfc3339(a.first),
                        last_seen: rfc3339(a.last),
                        verdict,
                    }
                },
            )
            .collect();
        ClientsReport {
            schema_version: SCHEMA_VERSION,
            files,
            ports: self.ports,
            rows,
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

    fn read_file_inner(&mut self, path: &str, summary: &mut FileSummary) -> Result<(), String> {
        let file = File::open(path).map_err(|e| e.to_string())?;
        let mut input = BufReader::new(file);
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
        let mut pcap = match pcap_parser::create_reader(1 << 20, reader) {
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
                    pcap.refill().map_err(|e| format!("{e:?}"))?;
                }
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
