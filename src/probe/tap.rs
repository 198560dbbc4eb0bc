//! A stream wrapper that keeps the first bytes read and counts the bytes written, so a probe can
//! decide from what the server really sent.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How much of the server's answer is kept: a ServerHello fits many times over.
const KEEP_READ: usize = 8 * 1024;

/// Wraps a transport and keeps the first bytes read, and counts bytes written.
pub struct Tap<S> {
    inner: S,
    read: Vec<u8>,
    written: u64,
}

impl<S> Tap<S> {
    pub fn new(inner: S) -> Self {
        Tap {
            inner,
            read: Vec::new(),
            written: 0,
        }
    }

    /// The first bytes received (at most a few KiB).
    pub fn received(&self) -> &[u8] {
        &self.read
    }

    /// Read whatever more the peer has already sent, without waiting, up to the keep limit: to
    /// show more of an answer that OpenSSL stopped reading early.
    pub fn read_available(&mut self)
    where
        S: AsRef<tokio::net::TcpStream>,
    {
        let mut buf = [0u8; 256];
        while self.read.len() < KEEP_READ {
            match self.inner.as_ref().try_read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = KEEP_READ - self.read.len();
                    self.read.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
    }

    /// Bytes handed to the transport so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let new = &buf.filled()[before..];
            let room = KEEP_READ.saturating_sub(this.read.len());
            this.read.extend_from_slice(&new[..new.len().min(room)]);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            this.written += n as u64;
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
