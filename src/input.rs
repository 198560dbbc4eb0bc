//! Files from outside read with a bound: a targets list or a saved report read from
//! `/dev/zero`, an endless pipe or a file far larger than any real one ends in an error naming
//! the file, not in memory growing without limit.

use std::io::{self, Read};

/// The most read from a targets file: about half a million lines.
pub const MAX_TARGETS_FILE: u64 = 16 << 20;
/// The most read from a saved scan: a scan of tens of thousands of endpoints is a few tens of
/// MiB.
pub const MAX_REPORT_FILE: u64 = 128 << 20;

/// Read all of `path` (`-` for standard input), at most `limit` bytes; `what` names the kind of
/// file in the error ("a targets file").
pub fn read_limited(path: &str, limit: u64, what: &str) -> io::Result<Vec<u8>> {
    let too_large = || {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "more than {} MiB, the most tlsmatrix reads from {what}",
                limit >> 20
            ),
        )
    };
    if path == "-" {
        return read_up_to(io::stdin().lock(), limit).and_then(|b| b.ok_or_else(too_large));
    }
    let file = std::fs::File::open(path)?;
    // A regular file says its size: no need to read it to know it is too large.
    if file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() > limit)
    {
        return Err(too_large());
    }
    read_up_to(file, limit).and_then(|b| b.ok_or_else(too_large))
}

/// Everything `r` has if it is at most `limit` bytes, or `None`; the buffer never grows past
/// `limit + 1` bytes.
fn read_up_to(r: impl Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    let mut r = r.take(limit.saturating_add(1));
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.capacity() - buf.len() < n {
            let want = (buf.capacity() * 2).max(buf.len() + n).min(cap);
            buf.reserve_exact(want - buf.len());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok((buf.len() as u64 <= limit).then_some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_stops_one_byte_past_the_limit_and_the_buffer_stays_within_it() {
        let zeros = io::repeat(0);
        assert_eq!(read_up_to(zeros, 1 << 20).unwrap(), None);
        let got = read_up_to(&b"twelve bytes"[..], 12).unwrap().unwrap();
        assert_eq!(got, b"twelve bytes");
        assert_eq!(read_up_to(&b"twelve bytes"[..], 11).unwrap(), None);
    }
}
