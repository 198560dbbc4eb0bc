//! `tlsmatrix clients`: captures made here, from real handshakes (tcpdump on loopback while
//! openssl s_client and tlsmatrix connect) and written by hand (segments split and out of
//! order, gzip, truncated), read back and cross-checked with tshark's dissector.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tlsmatrix::capture::{ClientVerdict, ClientsReport, analyze};
use tlsmatrix::lab::Behaviour;
use tlsmatrix::tls::TlsVersion::{self, *};

use crate::util::*;

const TCPDUMP: &str = "/usr/bin/tcpdump";

fn tools_available() -> bool {
    let have = Path::new(TCPDUMP).exists() && Path::new("/usr/bin/tshark").exists();
    if !have {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("tcpdump and tshark are needed in CI (scripts/test installs them)");
        }
        eprintln!("\n*** SKIPPED: tcpdump or tshark missing; run scripts/test as root. ***\n");
    }
    have
}

/// tcpdump writing every TCP packet of `port` on all interfaces (Linux cooked v2) to a file.
struct Capture {
    child: std::process::Child,
    path: PathBuf,
}

impl Capture {
    /// Start tcpdump for `port`, knocking on `host` until packets show in the file.
    async fn start_on(dir: &Path, host: &str, port: u16) -> Capture {
        let path = dir.join(format!("cap-{port}.pcap"));
        let mut child = std::process::Command::new(TCPDUMP)
            .args(["-i", "any", "-U", "-w"])
            .arg(&path)
            .arg(format!("tcp port {port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("tcpdump");
        // tcpdump says it listens before it captures: knock until a packet shows in the file.
        for _ in 0..200 {
            let _ = tokio::net::TcpStream::connect((host, port)).await;
            tokio::time::sleep(Duration::from_millis(25)).await;
            if std::fs::metadata(&path)
                .map(|m| m.len() > 24)
                .unwrap_or(false)
            {
                return Capture { child, path };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("tcpdump captured nothing");
    }

    async fn start(dir: &Path, port: u16) -> Capture {
        Self::start_on(dir, "127.0.0.1", port).await
    }

    async fn stop(mut self) -> PathBuf {
        // Packets reach tcpdump a moment after they were sent here.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        self.path
    }
}

async fn s_client(addr: SocketAddr, args: &[&str]) {
    let _ = tokio::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &addr.to_string(),
            "-cipher",
            "ALL:@SECLEVEL=0",
        ])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("openssl s_client");
}

/// (offered, negotiated) per connection, as tshark's dissector reads them.
fn tshark_hellos(path: &Path) -> Vec<(String, Option<String>)> {
    tshark_hellos_decoded(path, "tcp.port==0,tls")
}

/// (offered, negotiated) per connection, from our report.
fn ours(r: &ClientsReport) -> Vec<(String, Option<String>)> {
    let mut v = Vec::new();
    for row in &r.rows {
        for _ in 0..row.connections {
            v.push((row.offered.clone(), row.negotiated.clone()));
        }
    }
    v.sort();
    v
}

/// offered, negotiated, SNI, verdict, StartTLS.
type Row = (String, Option<String>, Option<String>, ClientVerdict, bool);

fn rows(r: &ClientsReport) -> Vec<Row> {
    r.rows
        .iter()
        .map(|x| {
            (
                x.offered.clone(),
                x.negotiated.clone(),
                x.sni.clone(),
                x.verdict,
                x.starttls,
            )
        })
        .collect()
}

fn n(v: TlsVersion) -> String {
    v.name().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_client_each_version_then_a_modern_client_on_an_old_server() {
    if !tools_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let modern = tls_server(Tls10, Tls13).await;
    let port = modern.addr().port();
    let cap = Capture::start(dir.path(), port).await;
    for flag in ["-tls1", "-tls1_1", "-tls1_2", "-tls1_3"] {
        s_client(modern.addr(), &[flag, "-servername", "app.corp.test"]).await;
    }
    let path = cap.stop().await;
    let r = analyze(&[path.to_str().unwrap().to_string()], vec![port]);
    assert!(r.files[0].error.is_none(), "{:?}", r.files[0]);
    let sni = Some("app.corp.test".to_string());
    assert_eq!(
        rows(&r),
        vec![
            (
                n(Tls10),
                Some(n(Tls10)),
                sni.clone(),
                ClientVerdict::Breaks,
                false
            ),
            (
                n(Tls11),
                Some(n(Tls11)),
                sni.clone(),
                ClientVerdict::Breaks,
                false
            ),
            (
                n(Tls12),
                Some(n(Tls12)),
                sni.clone(),
                ClientVerdict::Ok,
                false
            ),
            (
                n(Tls13),
                Some(n(Tls13)),
                sni.clone(),
                ClientVerdict::Ok,
                false
            ),
        ]
    );
    assert_eq!(r.breaking_clients(), 1);
    assert_eq!(
        tshark_hellos(&path),
        ours(&r),
        "tshark reads the same versions"
    );

    // A client that offers up to TLS 1.3 to a server that only speaks TLS 1.0.
    let old = tls_server(Tls10, Tls10).await;
    let cap = Capture::start(dir.path(), old.addr().port()).await;
    s_client(old.addr(), &["-min_protocol", "TLSv1"]).await;
    let path = cap.stop().await;
    let r = analyze(&[path.to_str().unwrap().to_string()], vec![]);
    assert_eq!(
        rows(&r),
        vec![(
            n(Tls13),
            Some(n(Tls10)),
            None,
            ClientVerdict::OkButNegotiatedLegacy,
            false
        )]
    );
    assert_eq!(tshark_hellos(&path), ours(&r));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_capture() {
    if !tools_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s =
        tlsmatrix::lab::LabServer::start("[::1]:0".parse().unwrap(), Behaviour::tls(Tls12, Tls13))
            .await
            .unwrap();
    let cap = Capture::start_on(dir.path(), "::1", s.addr().port()).await;
    s_client(s.addr(), &["-tls1_2"]).await;
    let path = cap.stop().await;
    let r = analyze(&[path.to_str().unwrap().to_string()], vec![s.addr().port()]);
    assert_eq!(r.rows.len(), 1, "{r:?}");
    assert_eq!(r.rows[0].client, "::1".parse::<IpAddr>().unwrap());
    assert_eq!(r.rows[0].offered, n(Tls12));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldap_starttls_sessions_against_slapd() {
    if !tools_available() || !crate::slapd::slapd_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let slapd = crate::slapd::Slapd::start(
        "NORMAL:-VERS-ALL:+VERS-TLS1.0:+VERS-TLS1.1:+VERS-TLS1.2:+VERS-TLS1.3",
    );
    let port = slapd.ldap.port();
    let cap = Capture::start(dir.path(), port).await;
    // Two clients (OpenSSL's, over StartTLS), and tlsmatrix's own scan, which is left out.
    s_client(slapd.ldap, &["-starttls", "ldap", "-tls1"]).await;
    s_client(slapd.ldap, &["-starttls", "ldap", "-tls1_2"]).await;
    let target = format!("ldap://{}", slapd.ldap);
    let out = run_cli(
        &[
            "scan",
            "-q",
            "--versions",
            "tls1.0,tls1.2",
            "--format",
            "json",
            &target,
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = cap.stop().await;
    let r = analyze(&[path.to_str().unwrap().to_string()], vec![port]);
    assert_eq!(
        rows(&r),
        vec![
            (n(Tls10), Some(n(Tls10)), None, ClientVerdict::Breaks, true),
            (n(Tls12), Some(n(Tls12)), None, ClientVerdict::Ok, true),
        ]
    );
    // Both engines' probes (the OpenSSL engine's and the wire engine's, each version).
    assert!(r.own_probes >= 4, "{}", r.own_probes);
    drop(slapd);
}

// --- captures written by hand ----------------------------------------------------------------

fn pcap_header(linktype: u32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&65535u32.to_le_bytes());
    h.extend_from_slice(&linktype.to_le_bytes());
    h
}

fn pcap_record(out: &mut Vec<u8>, ts: u32, frame: &[u8]) {
    out.extend_from_slice(&ts.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(frame);
}

/// An Ethernet/IPv4/TCP frame.
fn frame(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    syn: bool,
    fin: bool,
    payload: &[u8],
) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src.0, dst.0, 64);
    let mut tcp = b.tcp(src.1, dst.1, seq, 65535);
    if syn {
        tcp = tcp.syn();
    } else {
        tcp = tcp.ack(1);
    }
    if fin {
        tcp = tcp.fin();
    }
    let mut out = Vec::new();
    tcp.write(&mut out, payload).unwrap();
    out
}

fn server_hello(version: u16) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[9; 32]);
    body.push(0);
    body.extend_from_slice(&[0xc0, 0x2f, 0]);
    if version == 0x0304 {
        body.extend_from_slice(&[0, 6, 0, 43, 0, 2, 3, 4]);
    } else {
        body[..2].copy_from_slice(&version.to_be_bytes());
    }
    let mut hs = vec![2, 0, 0, body.len() as u8];
    hs.extend_from_slice(&body);
    let mut r = vec![22, 3, 3, 0, hs.len() as u8];
    r.extend_from_slice(&hs);
    r
}

/// One connection: SYN, the ClientHello in two segments (the second sent first), ServerHello,
/// FIN.
fn connection(
    out: &mut Vec<u8>,
    client: [u8; 4],
    cport: u16,
    offer: TlsVersion,
    answer: u16,
    ts: u32,
) {
    let c = (client, cport);
    let s = ([10, 0, 0, 10], 636);
    let hello = tlsmatrix::lab::client_hello_unmarked(offer, Some("split.corp.test"));
    let (a, b) = hello.split_at(hello.len() / 2);
    pcap_record(out, ts, &frame(c, s, 999, true, false, &[]));
    pcap_record(out, ts, &frame(s, c, 4999, true, false, &[]));
    pcap_record(
        out,
        ts,
        &frame(c, s, 1000 + a.len() as u32, false, false, b),
    );
    pcap_record(out, ts, &frame(c, s, 1000, false, false, a));
    pcap_record(out, ts, &frame(c, s, 1000, false, false, a)); // a retransmission
    pcap_record(
        out,
        ts + 1,
        &frame(s, c, 5000, false, false, &server_hello(answer)),
    );
    pcap_record(
        out,
        ts + 2,
        &frame(c, s, 1000 + hello.len() as u32, false, true, &[]),
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn split_and_out_of_order_client_hello_gzip_truncated_and_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut cap = pcap_header(1);
    connection(&mut cap, [10, 0, 0, 1], 50000, Tls10, 0x0301, 1_700_000_000);
    connection(&mut cap, [10, 0, 0, 2], 50001, Tls13, 0x0304, 1_700_000_100);
    let plain = write(dir.path(), "split.pcap", &cap);
    let r = analyze(std::slice::from_ref(&plain), vec![636]);
    assert!(r.files[0].error.is_none(), "{:?}", r.files[0]);
    let got: Vec<(String, String, Option<String>, ClientVerdict)> = r
        .rows
        .iter()
        .map(|x| {
            (
                x.client.to_string(),
                x.offered.clone(),
                x.negotiated.clone(),
                x.verdict,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "10.0.0.1".into(),
                n(Tls10),
                Some(n(Tls10)),
                ClientVerdict::Breaks
            ),
            (
                "10.0.0.2".into(),
                n(Tls13),
                Some(n(Tls13)),
                ClientVerdict::Ok
            ),
        ]
    );
    assert_eq!(r.rows[0].first_seen, "2023-11-14T22:13:20Z");
    assert_eq!(r.rows[0].sni.as_deref(), Some("split.corp.test"));
    assert_eq!(tshark_or_skip(Path::new(&plain)), Some(ours(&r)));

    // The same, gzip-compressed.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&cap).unwrap();
    let gzipped = write(dir.path(), "split.pcap.gz", &gz.finish().unwrap());
    assert_eq!(rows(&analyze(&[gzipped], vec![636])), rows(&r));

    // Cut in the middle of the last packet: an error naming the file, and what came before it.
    let truncated = write(dir.path(), "truncated.pcap", &cap[..cap.len() - 10]);
    let t = analyze(&[truncated], vec![636]);
    assert!(
        t.files[0].error.as_deref().unwrap().contains("truncated"),
        "{:?}",
        t.files[0]
    );
    assert_eq!(t.rows.len(), 2, "both handshakes were before the cut");

    let text = write(
        dir.path(),
        "notes.txt",
        b"this is not a capture at all, just text\n",
    );
    assert_eq!(
        analyze(&[text], vec![]).files[0].error.as_deref(),
        Some("not a pcap or pcapng capture")
    );
    let mut wifi = pcap_header(105);
    pcap_record(&mut wifi, 0, &[0u8; 40]);
    let wifi = write(dir.path(), "wifi.pcap", &wifi);
    assert!(
        analyze(&[wifi], vec![]).files[0]
            .error
            .as_deref()
            .unwrap()
            .contains("link type 105 is not supported")
    );
}

fn tshark_or_skip(path: &Path) -> Option<Vec<(String, Option<String>)>> {
    if !Path::new("/usr/bin/tshark").exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("tshark is needed in CI");
        }
        return None;
    }
    // Port 636 is LDAPS to tshark; decode it as TLS.
    Some(tshark_hellos_decoded(path, "tcp.port==636,tls"))
}

fn tshark_hellos_decoded(path: &Path, decode: &str) -> Vec<(String, Option<String>)> {
    let out = std::process::Command::new("tshark")
        .args(["-r", path.to_str().unwrap(), "-d", decode])
        .args(["-o", "tcp.reassemble_out_of_order:TRUE"])
        .args([
            "-Y",
            "tls.handshake.type == 1 || tls.handshake.type == 2",
            "-T",
            "fields",
            "-E",
            "separator=;",
        ])
        .args([
            "-e",
            "tcp.stream",
            "-e",
            "tls.handshake.type",
            "-e",
            "tls.handshake.version",
        ])
        .args(["-e", "tls.handshake.extensions.supported_version"])
        .output()
        .expect("tshark");
    parse_tshark(&String::from_utf8_lossy(&out.stdout))
}

fn parse_tshark(text: &str) -> Vec<(String, Option<String>)> {
    let name = |n: u16| {
        TlsVersion::from_wire(n)
            .map(|t| t.name().to_string())
            .unwrap_or(format!("0x{n:04x}"))
    };
    let hex = |v: &str| u16::from_str_radix(v.trim().trim_start_matches("0x"), 16).ok();
    let mut by_stream: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(';').collect();
        if f.len() < 4 {
            continue;
        }
        // One frame may carry several handshake messages: "2,11,12,14".
        let types: Vec<&str> = f[1].split(',').collect();
        let supported = f[3]
            .split(',')
            .filter_map(hex)
            .filter(|v| v & 0x0f0f != 0x0a0a)
            .max();
        let Some(version) = supported.or_else(|| hex(f[2].split(',').next().unwrap_or(""))) else {
            continue;
        };
        let entry = by_stream.entry(f[0].parse().unwrap_or(0)).or_default();
        if types.contains(&"1") {
            entry.0 = Some(name(version));
        } else if types.contains(&"2") {
            entry.1 = Some(name(version));
        }
    }
    let mut v: Vec<(String, Option<String>)> = by_stream
        .into_values()
        .filter_map(|(o, n)| o.map(|o| (o, n)))
        .collect();
    v.sort();
    v
}

#[test]
fn a_large_capture_is_read_in_bounded_memory_and_its_speed_printed() {
    let dir = tempfile::tempdir().unwrap();
    let mut cap = pcap_header(1);
    let connections = 20_000u32;
    for i in 0..connections {
        let client = [10, 1, (i / 250) as u8, (i % 250) as u8 + 1];
        let offer = if i % 10 == 0 { Tls10 } else { Tls12 };
        let answer = if i % 10 == 0 { 0x0301 } else { 0x0303 };
        connection(
            &mut cap,
            client,
            40000 + (i % 20000) as u16,
            offer,
            answer,
            1_700_000_000 + i,
        );
        // Bulk data after the handshake, which the reader must skip cheaply.
        let c = (client, 40000 + (i % 20000) as u16);
        pcap_record(
            &mut cap,
            1_700_000_000 + i,
            &frame(([10, 0, 0, 10], 636), c, 9000, false, false, &[0x17; 1400]),
        );
    }
    let path = write(dir.path(), "large.pcap", &cap);
    let mb = cap.len() as f64 / 1e6;
    drop(cap);
    let start = std::time::Instant::now();
    let r = analyze(&[path], vec![636]);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "read {mb:.1} MB ({connections} connections) in {secs:.2} s: {:.0} MB/s",
        mb / secs
    );
    let total: u64 = r.rows.iter().map(|x| x.connections).sum();
    assert_eq!(total, connections as u64);
    assert_eq!(r.breaking_clients(), (connections / 10) as usize);
}

// --- bounded memory on any capture -------------------------------------------------------------

fn seg<'a>(client: u32, seq: u32, syn: bool, payload: &'a [u8]) -> tlsmatrix::capture::Segment<'a> {
    let c = std::net::Ipv4Addr::from(0x0a00_0000 | (client >> 16));
    tlsmatrix::capture::Segment {
        ts: 1_700_000_000.0 + client as f64 / 1000.0,
        src: SocketAddr::new(IpAddr::V4(c), (client & 0xffff) as u16),
        dst: "10.255.0.1:636".parse().unwrap(),
        seq,
        syn,
        ack: false,
        end: false,
        payload,
    }
}

#[test]
fn a_syn_flood_is_dropped_oldest_first_in_constant_time() {
    use tlsmatrix::capture::{Analyzer, MAX_CONNECTIONS};
    let mut a = Analyzer::new(vec![636]);
    let start = std::time::Instant::now();
    let n = 300_000u32;
    for i in 0..n {
        a.segment(seg(i + 1, 1000, true, &[]));
        assert!(a.in_memory().0 <= MAX_CONNECTIONS);
    }
    let secs = start.elapsed().as_secs_f64();
    // Past 200,000 open connections each new one used to scan them all (quadratic: 162 s for
    // 300,000 in a release build); dropping the oldest is O(1).
    assert!(secs < 20.0, "{n} SYNs took {secs:.1} s");
    let r = a.finish(vec![]);
    assert_eq!(r.dropped.connections, (n as usize - MAX_CONNECTIONS) as u64);
    assert_eq!(r.dropped.unread, r.dropped.connections);
    assert!(r.rows.is_empty());
}

#[test]
fn held_bytes_stay_within_the_limit_and_the_report_says_what_was_dropped() {
    use tlsmatrix::capture::{Analyzer, MAX_BUFFERED};
    let mut a = Analyzer::new(vec![636]);
    // Each connection: a record header announcing a ClientHello that never ends, then 64 KiB
    // of segments past a gap, which wait for the gap to be filled.
    let header = [22, 3, 1, 0x40, 0x00, 1, 0, 0x3f, 0xfc];
    let bulk = [0x42u8; 1400];
    let connections = 2_000u32;
    let mut peak = 0;
    for c in 1..=connections {
        a.segment(seg(c, 999, true, &[]));
        a.segment(seg(c, 1000, false, &header));
        for k in 0..47u32 {
            a.segment(seg(c, 1000 + 5_000 + k * 1400, false, &bulk));
        }
        peak = peak.max(a.in_memory().1);
        assert!(a.in_memory().1 <= MAX_BUFFERED, "{:?}", a.in_memory());
    }
    // 2,000 connections of 64 KiB each would be 128 MiB: about half had to go.
    assert!(peak > MAX_BUFFERED / 2, "{peak}");
    let r = a.finish(vec![]);
    assert!(r.dropped.connections > 500, "{:?}", r.dropped);
    assert_eq!(r.dropped.unread, r.dropped.connections);
    assert!(r.dropped.bytes > 32 << 20, "{:?}", r.dropped);
    let summary = tlsmatrix::output::clients_summary(&r);
    assert!(
        summary.contains(&format!(
            "{} connections dropped unfinished to stay within 100000 connections and 64 MiB at once",
            r.dropped.connections
        )),
        "{summary}"
    );
}

#[test]
fn distinct_rows_stop_at_the_row_limit_and_are_counted() {
    use tlsmatrix::capture::{Analyzer, Limits};
    let mut a = Analyzer::with_limits(
        vec![636],
        Limits {
            rows: 10,
            ..Limits::default()
        },
    );
    for c in 1..=25u32 {
        // A different server name each time: a row each.
        let name = format!("app{c}.corp.test");
        let hello = tlsmatrix::lab::client_hello_unmarked(Tls12, Some(&name));
        a.segment(seg(c, 999, true, &[]));
        let mut s = seg(c, 1000, false, &hello);
        s.end = true;
        a.segment(s);
    }
    let r = a.finish(vec![]);
    assert_eq!(r.rows.len(), 10);
    assert_eq!(r.dropped.over_row_limit, 15);
    assert!(
        tlsmatrix::output::clients_summary(&r)
            .contains("15 connections not listed: the report holds at most 10 rows")
    );
}

#[test]
fn an_sni_from_a_capture_cannot_inject_a_formula_or_a_control_character() {
    let dir = tempfile::tempdir().unwrap();
    let mut cap = pcap_header(1);
    let c = ([10, 0, 0, 7], 50007);
    let s = ([10, 0, 0, 10], 636);
    let hello =
        tlsmatrix::lab::client_hello_unmarked(Tls12, Some("=HYPERLINK(\"http://x\")\x1b[2J|`x`"));
    pcap_record(&mut cap, 1, &frame(c, s, 999, true, false, &[]));
    pcap_record(&mut cap, 1, &frame(c, s, 1000, false, false, &hello));
    let path = write(dir.path(), "sni.pcap", &cap);
    for format in ["csv", "md", "table"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tlsmatrix"))
            .args(["clients", &path, "--format", format])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("HYPERLINK"), "{format}: {text}");
        assert!(!text.contains('\x1b'), "{format}: {text}");
        if format == "csv" {
            let mut r = csv::Reader::from_reader(text.as_bytes());
            let row = r.records().next().unwrap().unwrap();
            assert!(row[2].starts_with("'="), "{:?}", &row[2]);
        }
        if format == "md" {
            assert!(text.contains("\\|\\`x\\`"), "{text}");
        }
    }
}
