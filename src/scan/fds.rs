//! File descriptors: every probe holds one socket per engine, and running out of them is a
//! condition of this machine, never an answer of the server. The soft limit is raised to the
//! hard one at start where allowed, and the concurrency is kept under what is left.

use std::io;

/// Descriptors kept free for everything else: DNS lookups, files, the runtime's own.
const RESERVE: u64 = 32;

/// Raise the soft RLIMIT_NOFILE to the hard limit (a process may always do that). Returns the
/// soft limit in force afterwards.
pub fn raise_open_file_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and fill the struct they are given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim = raised;
        }
    }
    Some(lim.rlim_cur)
}

fn soft_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: as above.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0).then_some(lim.rlim_cur)
}

/// Descriptors open now (Linux: /proc/self/fd), or a guess.
fn open_now() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(16)
}

/// The concurrency the open-file limit allows for probes needing `per_probe` sockets each, at
/// most `wanted` and at least 1.
pub fn allowed_concurrency(wanted: usize, per_probe: usize) -> usize {
    let Some(limit) = soft_limit() else {
        return wanted.max(1);
    };
    if limit == libc::RLIM_INFINITY {
        return wanted.max(1);
    }
    let free = limit.saturating_sub(open_now() + RESERVE);
    let fits = (free / per_probe.max(1) as u64).max(1);
    wanted
        .max(1)
        .min(usize::try_from(fits).unwrap_or(usize::MAX))
}

/// Connections open at once at most, whatever the open-file limit: enough for thousands of
/// endpoints that never answer to wait out one connect timeout together, few enough that the
/// probes waiting stay small in memory.
pub const MAX_OPEN: usize = 4096;

/// How many connections may be open at once: `configured` (`--max-open`) if set, else what the
/// open-file limit leaves free, at most [`MAX_OPEN`].
pub fn open_budget(configured: Option<usize>) -> usize {
    if let Some(n) = configured {
        return n.max(1);
    }
    match soft_limit() {
        Some(limit) if limit != libc::RLIM_INFINITY => {
            let free = limit.saturating_sub(open_now() + RESERVE);
            usize::try_from(free)
                .unwrap_or(MAX_OPEN)
                .clamp(16, MAX_OPEN)
        }
        _ => MAX_OPEN,
    }
}

/// True for the errors that say this machine is out of file descriptors (EMFILE for the
/// process, ENFILE for the system): wait for one, do not blame the server.
pub fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}
