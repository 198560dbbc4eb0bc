//! A synthetic pcap capture on standard output, for the `clients` benchmark (benches/clients.py).
//!
//! `capture_gen MODE BYTES`: about BYTES bytes of Ethernet/IPv4/TCP frames, in one of two modes:
//! - `mixed`: complete connections to port 636, as a busy domain controller sees them: SYN,
//!   a ClientHello (one in ten offers nothing above TLS 1.1), a ServerHello, then 32 KiB of
//!   application data, FIN; clients spread over 65,000 addresses.
//! - `hostile`: what drove memory up before the limits: connections that announce a ClientHello
//!   and never finish it, each followed by 64 KiB of segments beyond a gap, and never closed.
//!
//! Checksums are left at zero (the reader does not check them).

use std::io::{self, Write};

use tlsmatrix::tls::TlsVersion;

fn frame(
    out: &mut Vec<u8>,
    ts: u32,
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    flags: u8,
    payload: &[u8],
) {
    let len = 14 + 20 + 20 + payload.len();
    out.extend_from_slice(&ts.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    // Ethernet
    out.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    // IPv4
    let total = (20 + 20 + payload.len()) as u16;
    out.extend_from_slice(&[0x45, 0]);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    out.extend_from_slice(&src.0);
    out.extend_from_slice(&dst.0);
    // TCP
    out.extend_from_slice(&src.1.to_be_bytes());
    out.extend_from_slice(&dst.1.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&1u32.to_be_bytes());
    out.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    out.extend_from_slice(payload);
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;

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

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (mode, bytes) = match args.as_slice() {
        [_, m, b] => (m.clone(), b.parse::<u64>().expect("BYTES")),
        _ => {
            eprintln!("usage: capture_gen mixed|hostile BYTES");
            std::process::exit(2);
        }
    };
    let stdout = io::stdout();
    let mut w = io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut h = Vec::new();
    h.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&65535u32.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    w.write_all(&h)?;
    let mut written = h.len() as u64;
    let server = ([10, 0, 0, 10], 636u16);
    // Hellos standing for clients: without tlsmatrix's mark, which `clients` leaves out.
    let old = tlsmatrix::lab::client_hello_unmarked(TlsVersion::Tls10, Some("app.corp.test"));
    let new = tlsmatrix::lab::client_hello_unmarked(TlsVersion::Tls13, Some("app.corp.test"));
    let sh10 = server_hello(0x0301);
    let sh13 = server_hello(0x0304);
    let bulk = [0x17u8; 1400];
    let announce = [22u8, 3, 1, 0x40, 0x00, 1, 0, 0x3f, 0xfc];
    let mut buf = Vec::with_capacity(1 << 20);
    let mut i: u32 = 0;
    while written < bytes {
        buf.clear();
        let n = i % 65_000;
        let client = (
            [
                10,
                1 + (n / 250 / 250) as u8,
                ((n / 250) % 250) as u8,
                (n % 250) as u8 + 1,
            ],
            1024 + (i % 60_000) as u16,
        );
        let ts = 1_700_000_000 + i / 100;
        match mode.as_str() {
            "mixed" => {
                let (hello, sh) = if i.is_multiple_of(10) {
                    (&old, &sh10)
                } else {
                    (&new, &sh13)
                };
                frame(&mut buf, ts, client, server, 999, SYN, &[]);
                frame(&mut buf, ts, server, client, 4999, SYN | ACK, &[]);
                frame(&mut buf, ts, client, server, 1000, ACK, hello);
                frame(&mut buf, ts, server, client, 5000, ACK, sh);
                for k in 0..23u32 {
                    frame(
                        &mut buf,
                        ts,
                        server,
                        client,
                        5000 + sh.len() as u32 + k * 1400,
                        ACK,
                        &bulk,
                    );
                }
                frame(
                    &mut buf,
                    ts,
                    client,
                    server,
                    1000 + hello.len() as u32,
                    ACK | FIN,
                    &[],
                );
            }
            "hostile" => {
                frame(&mut buf, ts, client, server, 999, SYN, &[]);
                frame(&mut buf, ts, client, server, 1000, ACK, &announce);
                for k in 0..47u32 {
                    frame(&mut buf, ts, client, server, 6000 + k * 1400, ACK, &bulk);
                }
            }
            other => {
                eprintln!("unknown mode {other}");
                std::process::exit(2);
            }
        }
        if w.write_all(&buf).is_err() {
            break; // the reader went away
        }
        written += buf.len() as u64;
        i = i.wrapping_add(1);
    }
    let _ = w.flush();
    Ok(())
}
