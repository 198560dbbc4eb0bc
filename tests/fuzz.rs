//! Property-based fuzzing, on stable Rust with `proptest`, of every parser that reads bytes from
//! outside: the server's first flight and the record reader, the ClientHello reader, LDAP
//! messages, the RDP negotiation, pcap/pcapng captures and TCP reassembly, saved reports and
//! target lines. Each property holds for arbitrary input (no panic, no hang, an answer that
//! fits the input) and round-trips what the tool itself writes.
//!
//! CI runs 64 cases per property; `PROPTEST_CASES=100000 cargo test --release --test tests
//! fuzz::` runs as many as wanted.

use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

use proptest::prelude::*;
use tlsmatrix::capture::{Analyzer, Segment};
use tlsmatrix::report::Protocol;
use tlsmatrix::tls::TlsVersion;
use tlsmatrix::tls::record::{HelloRead, ServerAnswer, read_client_hello, server_answer};

/// 64 cases unless PROPTEST_CASES says otherwise.
fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 64;
    }
    c.failure_persistence = None;
    c
}

fn version() -> impl Strategy<Value = TlsVersion> {
    prop::sample::select(TlsVersion::ALL.to_vec())
}

fn host_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,14}[a-z0-9](\\.[a-z][a-z0-9]{0,9}){1,3}"
}

/// Handshake bytes cut into records at the given sizes (1 and up).
fn records(content: u8, version: u16, body: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut i = 0;
    while !rest.is_empty() {
        let n = cuts
            .get(i)
            .copied()
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        out.push(content);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&(n as u16).to_be_bytes());
        out.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        i += 1;
    }
    out
}

/// A ServerHello message (handshake header included) choosing `version` and `cipher`.
fn server_hello(version: u16, cipher: u16, session: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    let legacy = if version >= 0x0304 { 0x0303 } else { version };
    body.extend_from_slice(&legacy.to_be_bytes());
    body.extend_from_slice(&[7; 32]);
    body.push(session.len() as u8);
    body.extend_from_slice(session);
    body.extend_from_slice(&cipher.to_be_bytes());
    body.push(0);
    if version >= 0x0304 {
        body.extend_from_slice(&[0, 6, 0, 43, 0, 2]);
        body.extend_from_slice(&version.to_be_bytes());
    }
    let mut msg = vec![2, 0, (body.len() >> 8) as u8, body.len() as u8];
    msg.extend_from_slice(&body);
    msg
}

/// The handshake messages inside a record stream (its own writer's records).
fn unwrap_records(rec: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = rec;
    while rest.len() >= 5 {
        let n = u16::from_be_bytes([rest[3], rest[4]]) as usize;
        out.extend_from_slice(&rest[5..5 + n]);
        rest = &rest[5 + n..];
    }
    out
}

proptest! {
    #![proptest_config(config())]

    // --- the server's first flight (ServerHello and record reader) ----------------------------

    #[test]
    fn server_answer_reads_any_bytes_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = server_answer(&bytes);
    }

    #[test]
    fn a_server_hello_split_over_records_is_read_and_its_prefixes_are_incomplete(
        v in prop::sample::select(vec![0x0300u16, 0x0301, 0x0302, 0x0303, 0x0304]),
        cipher in any::<u16>(),
        session in prop::collection::vec(any::<u8>(), 0..=32),
        cuts in prop::collection::vec(1usize..40, 0..8),
    ) {
        let msg = server_hello(v, cipher, &session);
        let bytes = records(22, 0x0303, &msg, &cuts);
        match server_answer(&bytes) {
            ServerAnswer::Hello { version, cipher: c, .. } => {
                prop_assert_eq!((version, c), (v, cipher));
            }
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
        for end in 1..bytes.len() {
            let got = server_answer(&bytes[..end]);
            prop_assert_eq!(got, ServerAnswer::Incomplete, "prefix of {} bytes", end);
        }
    }

    #[test]
    fn a_fatal_alert_first_is_an_alert(code in any::<u8>(), tail in prop::collection::vec(any::<u8>(), 0..64)) {
        let level = 2;
        let mut bytes = vec![21, 3, 3, 0, 2, level, code];
        bytes.extend_from_slice(&tail);
        prop_assert_eq!(server_answer(&bytes), ServerAnswer::Alert { level, code });
    }

    // --- the ClientHello reader ----------------------------------------------------------------

    #[test]
    fn read_client_hello_reads_any_bytes_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_client_hello(&bytes);
    }

    #[test]
    fn our_client_hellos_read_back_whole_split_or_cut(
        v in version(),
        name in proptest::option::of(host_name()),
        random in prop::array::uniform32(any::<u8>()),
        cuts in prop::collection::vec(1usize..200, 0..6),
    ) {
        let hello = hello_of(v, name.as_deref(), random);
        let check = |bytes: &[u8]| -> Result<(), TestCaseError> {
            match read_client_hello(bytes) {
                HelloRead::Hello(offer) => {
                    prop_assert_eq!(offer.highest(), v.wire());
                    prop_assert!(offer.offers_only(v.wire()));
                    let sent = if v == TlsVersion::Ssl3 { None } else { name.clone() };
                    prop_assert_eq!(offer.sni, sent);
                    Ok(())
                }
                other => Err(TestCaseError::fail(format!("{other:?}"))),
            }
        };
        check(&hello)?;
        // The same handshake cut into several records.
        let split = records(22, 0x0301, &unwrap_records(&hello), &cuts);
        check(&split)?;
        // Any strict prefix asks for more; it is never a wrong answer.
        for end in 0..split.len() {
            prop_assert_eq!(read_client_hello(&split[..end]), HelloRead::NeedMore, "prefix {}", end);
        }
    }

    // --- LDAP messages ------------------------------------------------------------------------

    #[test]
    fn ldap_read_message_ends_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let mut r = &bytes[..];
            // Every answer is fine but a hang or a panic; read until the bytes run out.
            for _ in 0..64 {
                if tlsmatrix::probe::ldap::read_message(&mut r).await.is_err() {
                    break;
                }
            }
        });
    }

    #[test]
    fn starttls_answers_round_trip_short_and_long_form(
        code in prop::sample::select(vec![0u32, 1, 2, 52, 53, 80]),
        diagnostic in "\\PC{0,80}",
        long in any::<bool>(),
        tail in prop::collection::vec(any::<u8>(), 0..32),
    ) {
        use rasn_ldap::{ExtendedResponse, LdapMessage, ProtocolOp, ResultCode};
        let result_code = match code {
            0 => ResultCode::Success,
            1 => ResultCode::OperationsError,
            2 => ResultCode::ProtocolError,
            52 => ResultCode::Unavailable,
            53 => ResultCode::UnwillingToPerform,
            _ => ResultCode::Other,
        };
        let msg = rasn::ber::encode(&LdapMessage::new(1, ProtocolOp::ExtendedResp(ExtendedResponse {
            result_code,
            matched_dn: "".into(),
            diagnostic_message: diagnostic.as_str().into(),
            referral: None,
            response_name: None,
            response_value: None,
        }))).unwrap();
        let mut bytes = if long { tlsmatrix::probe::ldap::encode_for_lab::long_form(&msg) } else { msg };
        let whole = bytes.len();
        bytes.extend_from_slice(&tail);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (read, left) = rt.block_on(async {
            let mut r = &bytes[..];
            let m = tlsmatrix::probe::ldap::read_message(&mut r).await;
            (m, r.len())
        });
        let read = read.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(read.message_id, 1);
        match read.protocol_op {
            ProtocolOp::ExtendedResp(r) => {
                prop_assert_eq!(r.result_code, result_code);
                prop_assert_eq!(&r.diagnostic_message.0, &diagnostic);
            }
            _ => return Err(TestCaseError::fail("not an extended response")),
        }
        // Nothing past the message was taken: TLS bytes after it stay for the handshake.
        prop_assert_eq!(left, bytes.len() - whole);
    }

    // --- the RDP negotiation ------------------------------------------------------------------

    #[test]
    fn rdp_negotiation_ends_on_any_answer(answer in prop::collection::vec(any::<u8>(), 0..600)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (mut ours, mut theirs) = tokio::io::duplex(4096);
            use tokio::io::AsyncWriteExt;
            theirs.write_all(&answer).await.unwrap();
            drop(theirs);
            let r = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                tlsmatrix::probe::prelude::prelude(Protocol::Rdp, &mut ours),
            ).await;
            assert!(r.is_ok(), "the negotiation hung on {answer:?}");
        });
    }

    #[test]
    fn rdp_confirms_selecting_tls_open_the_way(
        selected in prop::sample::select(vec![1u32, 2, 3, 8, 9, 0xb]),
        flags in any::<u8>(),
    ) {
        let mut confirm = vec![3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, flags, 8, 0];
        confirm.extend_from_slice(&selected.to_le_bytes());
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let r = rt.block_on(async {
            let (mut ours, mut theirs) = tokio::io::duplex(4096);
            use tokio::io::AsyncWriteExt;
            theirs.write_all(&confirm).await.unwrap();
            tlsmatrix::probe::prelude::prelude(Protocol::Rdp, &mut ours).await
        });
        prop_assert_eq!(r, Ok(()));
    }

    // --- captures: pcap/pcapng and TCP reassembly -------------------------------------------

    #[test]
    fn captures_of_any_bytes_are_read_or_refused(bytes in prop::collection::vec(any::<u8>(), 0..4096), header in 0usize..3) {
        // Arbitrary bytes, or arbitrary bytes behind a valid pcap or pcapng header.
        let mut input = match header {
            0 => Vec::new(),
            1 => pcap_header(),
            _ => pcapng_header(),
        };
        input.extend_from_slice(&bytes);
        let mut a = Analyzer::new(vec![]);
        let summary = a.read_stream("fuzz", Cursor::new(input));
        let r = a.finish(vec![summary]);
        prop_assert!(r.rows.len() as u64 <= r.files[0].packets);
    }

    #[test]
    fn a_valid_capture_with_bytes_flipped_never_panics(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
    ) {
        let mut cap = capture_of_one_connection(TlsVersion::Tls12, "flip.corp.test", &[]);
        for (i, b) in flips {
            let at = i.index(cap.len());
            cap[at] ^= b;
        }
        let mut a = Analyzer::new(vec![]);
        let summary = a.read_stream("flipped", Cursor::new(cap));
        let _ = a.finish(vec![summary]);
    }

    #[test]
    fn a_client_hello_in_segments_out_of_order_and_repeated_is_read(
        v in version(),
        name in host_name(),
        cuts in prop::collection::vec(1usize..300, 1..10),
        order in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let hello = hello_of(v, Some(&name), [3; 32]);
        // Segments at the cuts, sent in a shuffled order, some twice.
        let mut segments = Vec::new();
        let mut at = 0;
        for c in cuts.iter().chain(std::iter::once(&usize::MAX)) {
            if at >= hello.len() {
                break;
            }
            let end = at.saturating_add(*c).min(hello.len());
            segments.push((at, end));
            at = end;
        }
        let mut sent: Vec<(usize, usize)> = segments.clone();
        for i in &order {
            let k = i.index(sent.len());
            let s = sent[k];
            sent.push(s); // a retransmission
            let j = i.index(sent.len());
            sent.swap(k, j);
        }
        let client: SocketAddr = "10.9.0.1:50000".parse().unwrap();
        let server: SocketAddr = "10.9.0.2:636".parse().unwrap();
        let mut a = Analyzer::new(vec![636]);
        fn seg(client: SocketAddr, server: SocketAddr, seq: u32, syn: bool, end: bool, payload: &[u8]) -> Segment<'_> {
            Segment { ts: 1.0, src: client, dst: server, seq, syn, ack: !syn, end, payload }
        }
        a.segment(seg(client, server, 999, true, false, &[]));
        for (s, e) in &sent {
            a.segment(seg(client, server, 1000 + *s as u32, false, false, &hello[*s..*e]));
        }
        a.segment(seg(client, server, 1000 + hello.len() as u32, false, true, &[]));
        let r = a.finish(vec![]);
        prop_assert_eq!(r.rows.len(), 1);
        prop_assert_eq!(&r.rows[0].offered, v.name());
        let sni = if v == TlsVersion::Ssl3 { None } else { Some(name.clone()) };
        prop_assert_eq!(&r.rows[0].sni, &sni);
        prop_assert_eq!(r.rows[0].client, IpAddr::from([10, 9, 0, 1]));
    }

    // --- saved reports ------------------------------------------------------------------------

    #[test]
    fn report_loading_refuses_any_bytes_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, &bytes).unwrap();
        let _ = tlsmatrix::report::load::load(p.to_str().unwrap());
    }

    #[test]
    fn a_saved_report_with_bytes_flipped_never_panics(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut text = sample_report_json("x").into_bytes();
        for (i, b) in flips {
            let at = i.index(text.len());
            text[at] ^= b;
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, &text).unwrap();
        let _ = tlsmatrix::report::load::load(p.to_str().unwrap());
    }

    #[test]
    fn any_label_and_target_text_saves_and_loads_back(label in "\\PC{0,40}|[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]{1,8}", target in "\\PC{1,60}") {
        let text = sample_report_json(&target);
        let mut report: tlsmatrix::report::Report = serde_json::from_str(&text).unwrap();
        report.label = Some(label);
        let mut out = Vec::new();
        tlsmatrix::output::write_json(&report, &mut out).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, &out).unwrap();
        let back = tlsmatrix::report::load::load(p.to_str().unwrap()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, report);
    }

    // --- target lines -------------------------------------------------------------------------

    #[test]
    fn any_target_line_parses_or_says_why(line in "\\PC{0,80}|[ -~]{0,80}") {
        match tlsmatrix::target::parse_target(&line) {
            Ok(t) => prop_assert!(t.port >= 1),
            Err(why) => prop_assert!(!why.is_empty()),
        }
    }

    #[test]
    fn any_targets_file_names_each_bad_line_within_the_file(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let (targets, errors) = tlsmatrix::target::parse_target_bytes(&bytes, "f.txt");
        let lines = bytes.split(|b| *b == b'\n').count();
        prop_assert!(targets.len() + errors.len() <= lines);
        for e in errors {
            let n: usize = e.source.strip_prefix("f.txt:").unwrap().parse().unwrap();
            prop_assert!((1..=lines).contains(&n));
        }
    }

    #[test]
    fn written_targets_read_back(
        scheme in prop::sample::select(vec!["", "ldap://", "ldaps://", "gc://", "gcs://", "rdp://", "https://", "tls://"]),
        host in host_name(),
        port in 1u16..,
        bom in any::<bool>(),
        crlf in any::<bool>(),
    ) {
        let line = format!("{scheme}{host}:{port}");
        let mut file = if bom { b"\xef\xbb\xbf".to_vec() } else { Vec::new() };
        file.extend_from_slice(line.as_bytes());
        file.extend_from_slice(if crlf { b"  # a comment\r\n" } else { b"\n" });
        let (targets, errors) = tlsmatrix::target::parse_target_bytes(&file, "f.txt");
        prop_assert!(errors.is_empty(), "{:?}", errors);
        prop_assert_eq!(targets.len(), 1);
        prop_assert_eq!(targets[0].host.to_string(), host);
        prop_assert_eq!(targets[0].port, port);
    }
}

/// The wire engine's first ClientHello of `v`, with keys made from `random` (deterministic).
fn hello_of(v: TlsVersion, sni: Option<&str>, random: [u8; 32]) -> Vec<u8> {
    let mut p256 = vec![4];
    p256.extend_from_slice(&random);
    p256.extend_from_slice(&random);
    let keys = tlsmatrix::tls::hello::HelloKeys {
        random,
        session_id: random,
        x25519: random.to_vec(),
        p256,
    };
    let parts = tlsmatrix::tls::hello::suite_parts(v);
    tlsmatrix::tls::hello::client_hello(v, &parts[0], sni, &keys)
}

fn pcap_header() -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&65535u32.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    h
}

/// A pcapng section header and one Ethernet interface.
fn pcapng_header() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0x0a0d0d0au32.to_le_bytes());
    b.extend_from_slice(&28u32.to_le_bytes());
    b.extend_from_slice(&0x1a2b3c4du32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(-1i64).to_le_bytes());
    b.extend_from_slice(&28u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&20u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&20u32.to_le_bytes());
    b
}

fn capture_of_one_connection(v: TlsVersion, name: &str, extra: &[u8]) -> Vec<u8> {
    let mut cap = pcap_header();
    let hello = hello_of(v, Some(name), [9; 32]);
    let frame =
        |seq: u32, syn: bool, payload: &[u8]| {
            let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64);
            let tcp = b.tcp(50000, 636, seq, 65535);
            let tcp = if syn { tcp.syn() } else { tcp.ack(1) };
            let mut out = Vec::new();
            tcp.write(&mut out, payload).unwrap();
            out
        };
    for (seq, syn, payload) in [
        (999u32, true, &[][..]),
        (1000, false, &hello[..]),
        (1000 + hello.len() as u32, false, extra),
    ] {
        let f = frame(seq, syn, payload);
        cap.extend_from_slice(&1u32.to_le_bytes());
        cap.extend_from_slice(&0u32.to_le_bytes());
        cap.extend_from_slice(&(f.len() as u32).to_le_bytes());
        cap.extend_from_slice(&(f.len() as u32).to_le_bytes());
        cap.extend_from_slice(&f);
    }
    cap
}

/// A small saved scan, as `scan --format json` writes it, with `target` as its one target.
fn sample_report_json(target: &str) -> String {
    let endpoint = serde_json::json!({
        "target": target, "host": "dc1.corp.test", "address": "127.0.0.1", "port": 636,
        "protocol": "ldaps", "sni": "dc1.corp.test", "verdict": "ready",
        "verdict_detail": "ready for TLS 1.2-only",
        "versions": {
            "tls1.0": {"status": "refused", "detail": "alert protocol_version(70)",
                       "how": {"kind": "alert", "code": 70, "name": "protocol_version"},
                       "elapsed_ms": 1, "attempts": 1},
            "tls1.2": {"status": "accepted", "detail": "accepted",
                       "cipher": "TLS_AES_128_GCM_SHA256", "handshake_completed": true,
                       "elapsed_ms": 2, "attempts": 1}
        }
    });
    let v = serde_json::json!({
        "schema_version": 1,
        "tool": {"name": "tlsmatrix", "version": "0.1.0"},
        "tls_library": "OpenSSL 3",
        "label": "before", "scanner": "admin1",
        "started": "2026-11-25T09:00:00.000Z", "finished": "2026-11-25T09:00:01.000Z",
        "complete": true,
        "options": {"versions": ["tls1.0", "tls1.2"], "concurrency": 64, "per_host": 4,
                    "connect_timeout_ms": 5000, "timeout_ms": 10000, "retries": 0,
                    "sni": null, "ldap_check": true, "engine": "both"},
        "input_errors": [],
        "summary": {"ready": 1, "legacy": 0, "tls12_missing": 0, "no_tls": 0, "unreachable": 0, "incomplete": 0},
        "endpoints": [endpoint]
    });
    serde_json::to_string_pretty(&v).unwrap()
}
