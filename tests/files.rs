//! `-o PATH` as a careful Unix tool writes it: regular files replaced atomically with the mode
//! the umask gives (or the one they had), devices, FIFOs and standard output written through,
//! symbolic links followed, a missing folder named. The documents come from `clients` on a
//! capture with no packets, so no server is needed.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Output;

use crate::util::*;

/// A pcap file with no packet: `clients` on it writes a small, valid document.
fn empty_capture(dir: &Path) -> String {
    let mut h = Vec::new();
    h.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&65535u32.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    let p = dir.join("empty.pcap");
    std::fs::write(&p, h).unwrap();
    p.to_str().unwrap().to_string()
}

/// `tlsmatrix clients CAPTURE --format json -o OUT` under a shell with this umask.
async fn write_to(dir: &Path, out: &str, umask: &str) -> Output {
    let cap = empty_capture(dir);
    let script = format!("umask {umask}; exec \"$0\" clients \"$1\" --format json -o \"$2\"");
    tokio::process::Command::new("sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_tlsmatrix"), &cap, out])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap()
}

fn is_report(bytes: &[u8]) -> bool {
    serde_json::from_slice::<tlsmatrix::capture::ClientsReport>(bytes).is_ok()
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tlsmatrix-"))
        .collect()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_to_dev_null_leaves_it_a_character_device() {
    let dir = tempfile::tempdir().unwrap();
    // A device node of our own with /dev/null's numbers first (as root): if it were replaced,
    // nothing of the system's would be lost.
    if is_root() {
        let own = dir.path().join("null");
        let c = std::ffi::CString::new(own.to_str().unwrap()).unwrap();
        // SAFETY: a plain mknod on a path we own.
        let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
        if made == 0 {
            let mode = std::fs::symlink_metadata(&own).unwrap().mode();
            let out = write_to(dir.path(), own.to_str().unwrap(), "022").await;
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            let m = std::fs::symlink_metadata(&own).unwrap();
            assert!(
                m.file_type().is_char_device(),
                "the device node was replaced"
            );
            assert_eq!(m.rdev(), libc::makedev(1, 3));
            assert_eq!(m.mode(), mode);
        }
    }
    let before = std::fs::metadata("/dev/null").unwrap();
    let out = write_to(dir.path(), "/dev/null", "022").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after = std::fs::metadata("/dev/null").unwrap();
    assert!(after.file_type().is_char_device());
    assert_eq!(
        (after.rdev(), after.mode(), after.ino()),
        (before.rdev(), before.mode(), before.ino())
    );
    assert!(leftovers(Path::new("/dev")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_to_a_fifo_is_written_through_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("report.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a path in our own temporary folder.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || std::fs::read(reader_path).unwrap());
    let out = write_to(dir.path(), fifo.to_str().unwrap(), "022").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Checked before joining the reader: had the FIFO been replaced, the reader would wait on
    // it for ever.
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    let got = reader.join().unwrap();
    assert!(is_report(&got), "{}", String::from_utf8_lossy(&got));
    assert!(leftovers(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_to_dev_stdout_and_dash_goes_to_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    for target in ["/dev/stdout", "-"] {
        let out = write_to(dir.path(), target, "022").await;
        assert_eq!(out.status.code(), Some(0), "{target}: {}", stderr(&out));
        assert!(is_report(&out.stdout), "{target}: {}", stdout(&out));
    }
    assert!(!dir.path().join("-").exists(), "'-' is not a file name");
    // Without --format, `-o -` is standard output as without -o: the table.
    let cap = empty_capture(dir.path());
    let out = run_cli(&["clients", &cap, "-o", "-"], &[], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("CLIENT"), "{}", stdout(&out));
    // Standard output redirected to a file: the document lands in that file, which is not
    // replaced behind the shell's back.
    let file = dir.path().join("redirected.json");
    let cap = empty_capture(dir.path());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tlsmatrix"))
        .args(["clients", &cap, "--format", "json", "-o", "/dev/stdout"])
        .stdout(std::fs::File::create(&file).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(is_report(&std::fs::read(&file).unwrap()));
    assert!(leftovers(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_through_a_symlink_replaces_its_target_in_the_target_folder() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let target = real.join("report.json");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("latest.json");
    std::os::unix::fs::symlink("real/report.json", &link).unwrap();
    let out = write_to(dir.path(), link.to_str().unwrap(), "022").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("real/report.json")
    );
    assert!(is_report(&std::fs::read(&target).unwrap()));
    assert!(leftovers(dir.path()).is_empty() && leftovers(&real).is_empty());

    // A link to a file not made yet: the file is made where the link points.
    let dangling = dir.path().join("next.json");
    std::os::unix::fs::symlink("real/next.json", &dangling).unwrap();
    let out = write_to(dir.path(), dangling.to_str().unwrap(), "022").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(is_report(&std::fs::read(real.join("next.json")).unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_output_files_follow_the_umask_and_existing_ones_keep_mode_and_owner() {
    let dir = tempfile::tempdir().unwrap();
    for (umask, mode) in [("022", 0o644), ("077", 0o600), ("002", 0o664)] {
        let p = dir.path().join(format!("new-{umask}.json"));
        let out = write_to(dir.path(), p.to_str().unwrap(), umask).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!(m.mode() & 0o7777, mode, "umask {umask}");
    }
    let existing = dir.path().join("shared.json");
    std::fs::write(&existing, "old").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o640)).unwrap();
    if is_root() {
        std::os::unix::fs::chown(&existing, Some(4321), Some(4322)).unwrap();
    }
    let out = write_to(dir.path(), existing.to_str().unwrap(), "077").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let m = std::fs::metadata(&existing).unwrap();
    assert!(is_report(&std::fs::read(&existing).unwrap()));
    assert_eq!(m.mode() & 0o7777, 0o640, "the file keeps its mode");
    if is_root() {
        assert_eq!((m.uid(), m.gid()), (4321, 4322), "and its owner");
    }
    assert!(leftovers(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_output_folder_is_named_not_the_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder");
    let p = missing.join("report.json");
    let out = write_to(dir.path(), p.to_str().unwrap(), "022").await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "cannot write {}: the folder {} does not exist",
            p.display(),
            missing.display()
        )),
        "{err}"
    );
    assert!(!err.contains(".tlsmatrix-"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_during_the_write_leaves_no_temporary_file() {
    if !Path::new("/usr/bin/strace").exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("strace is needed in CI (scripts/test installs it)");
        }
        eprintln!("\n*** SKIPPED: strace missing; run scripts/test as root. ***\n");
        return;
    }
    // A scan that waits on a silent server; the first Ctrl-C makes it write what is done, and
    // strace holds that write in its fsync for three seconds: the second Ctrl-C lands mid-write.
    let silent = server(tlsmatrix::lab::Behaviour::Silent).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    std::fs::write(&out, "the previous report").unwrap();
    let mut strace = tokio::process::Command::new("/usr/bin/strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync"])
        .args(["-e", "inject=fsync:delay_enter=3000000"])
        .arg(env!("CARGO_BIN_EXE_tlsmatrix"))
        .args(["scan", "-q", "--timeout", "60s", "--format", "json", "-o"])
        .arg(&out)
        .arg(silent.addr().to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let strace_pid = strace.id().unwrap();
    // tlsmatrix is strace's child.
    let mut pid = None;
    for _ in 0..200 {
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        let children =
            std::fs::read_to_string(format!("/proc/{strace_pid}/task/{strace_pid}/children"))
                .unwrap_or_default();
        if let Some(p) = children.split_whitespace().next() {
            pid = p.parse::<i32>().ok();
            break;
        }
    }
    let pid = pid.expect("tlsmatrix started under strace");
    // Let the scan get its probes out (slower under strace).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    // SAFETY: a signal to our own child process.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let mut writing = false;
    for _ in 0..400 {
        if !leftovers(dir.path()).is_empty() {
            writing = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(writing, "the report's temporary file never appeared");
    unsafe { libc::kill(pid, libc::SIGINT) };
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), strace.wait())
        .await
        .expect("exits")
        .unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "the previous report",
        "the old report stays whole"
    );
}
