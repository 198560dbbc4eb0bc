//! A packet capture of the lab's own clients, without tcpdump (which needs root): each client's
//! connection goes through a [`Recorded`] stream that notes every byte written and read, and
//! [`Recording::pcap`] writes them as a pcap file of IPv4/TCP packets (link type raw IP) with
//! the connection's real loopback addresses and ports: a SYN, a SYN-ACK, the data in order,
//! and a FIN. `tlsmatrix clients` and `predict` read it as they read tcpdump's.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use etherparse::PacketBuilder;

/// Which way bytes went.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    ToServer,
    ToClient,
}

struct Connection {
    client: SocketAddrV4,
    server: SocketAddrV4,
    start: f64,
    chunks: Vec<(f64, Way, Vec<u8>)>,
}

/// The connections recorded so far.
#[derive(Clone, Default)]
pub struct Recording {
    connections: Arc<Mutex<Vec<Connection>>>,
}

/// A stream whose bytes are recorded: a client's TCP connection.
pub struct Recorded<S> {
    inner: S,
    index: usize,
    recording: Recording,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Recording {
    /// Record the connection `client` -> `server` through `inner` (IPv4 addresses only).
    pub fn wrap<S>(
        &self,
        inner: S,
        client: SocketAddr,
        server: SocketAddr,
    ) -> io::Result<Recorded<S>> {
        let (SocketAddr::V4(client), SocketAddr::V4(server)) = (client, server) else {
            return Err(io::Error::other("the lab records IPv4 connections only"));
        };
        let mut all = self.connections.lock().expect("recording");
        all.push(Connection {
            client,
            server,
            start: now(),
            chunks: Vec::new(),
        });
        Ok(Recorded {
            inner,
            index: all.len() - 1,
            recording: self.clone(),
        })
    }

    fn note(&self, index: usize, way: Way, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(c) = self.connections.lock().expect("recording").get_mut(index) {
            c.chunks.push((now(), way, bytes.to_vec()));
        }
    }

    /// The recorded connections as a pcap file.
    pub fn pcap(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&101u32.to_le_bytes()); // LINKTYPE_RAW: IPv4 from the first byte
        for c in self.connections.lock().expect("recording").iter() {
            let (cip, sip) = (c.client.ip().octets(), c.server.ip().octets());
            let (cp, sp) = (c.client.port(), c.server.port());
            // Initial sequence numbers of each side; data follows them.
            let (mut cseq, mut sseq) = (1_000u32, 5_000u32);
            let packet = |from_client: bool, seq: u32, ack: u32, flags: &str, data: &[u8]| {
                let (src, dst, a, b) = if from_client {
                    (cip, sip, cp, sp)
                } else {
                    (sip, cip, sp, cp)
                };
                let mut b = PacketBuilder::ipv4(src, dst, 64).tcp(a, b, seq, 65535);
                if flags.contains('S') {
                    b = b.syn();
                }
                if flags.contains('F') {
                    b = b.fin();
                }
                if flags.contains('A') {
                    b = b.ack(ack);
                }
                let mut bytes = Vec::with_capacity(40 + data.len());
                b.write(&mut bytes, data).expect("a packet");
                bytes
            };
            let mut records: Vec<(f64, Vec<u8>)> = vec![
                (c.start, packet(true, cseq, 0, "S", &[])),
                (c.start, packet(false, sseq, cseq + 1, "SA", &[])),
            ];
            cseq += 1;
            sseq += 1;
            for (ts, way, bytes) in &c.chunks {
                for part in bytes.chunks(1400) {
                    let from_client = *way == Way::ToServer;
                    let (seq, ack) = if from_client {
                        (cseq, sseq)
                    } else {
                        (sseq, cseq)
                    };
                    records.push((*ts, packet(from_client, seq, ack, "A", part)));
                    if from_client {
                        cseq = cseq.wrapping_add(part.len() as u32);
                    } else {
                        sseq = sseq.wrapping_add(part.len() as u32);
                    }
                }
            }
            let end = c.chunks.last().map_or(c.start, |(t, _, _)| *t);
            records.push((end, packet(true, cseq, sseq, "FA", &[])));
            for (ts, bytes) in records {
                let secs = ts.floor();
                out.extend_from_slice(&(secs as u32).to_le_bytes());
                out.extend_from_slice(&(((ts - secs) * 1e6) as u32).to_le_bytes());
                out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                out.extend_from_slice(&bytes);
            }
        }
        out
    }
}

impl<S: Read> Read for Recorded<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.recording.note(self.index, Way::ToClient, &buf[..n]);
        Ok(n)
    }
}

impl<S: Write> Write for Recorded<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.recording.note(self.index, Way::ToServer, &buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
