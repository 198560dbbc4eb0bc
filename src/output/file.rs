//! Writing a document to the path given with `-o`, the way a careful Unix tool does.
//!
//! A regular file (or a new path) is replaced atomically: a temporary file beside it, synced,
//! then renamed over it, so a reader sees the old document or the whole new one. Anything else is
//! not a file to replace: a character device (`/dev/null`, a terminal) or a FIFO is written
//! straight through, standard output (`-`, `/dev/stdout`, or any path that is the file standard
//! output already points to) is written as standard output, and a symbolic link is followed, its
//! target replaced in the target's own folder. A new file gets the mode the umask gives (0644
//! under 022); an existing file keeps its mode and, where the process may set it, its owner.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Where a document written "to PATH" really goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Destination {
    /// Standard output: `-`, or a path that names what standard output already is.
    Stdout,
    /// Standard error, when the path names what it already is.
    Stderr,
    /// A character device or a FIFO: opened and written through, never replaced.
    Stream(PathBuf),
    /// A regular file (symbolic links followed) or a new path: replaced atomically.
    File {
        path: PathBuf,
        /// Mode and owner to keep, when a file was there.
        existing: Option<(u32, u32, u32)>,
    },
}

/// How many symbolic links are followed before giving up, as the kernel does (ELOOP).
const MAX_LINKS: usize = 40;

/// Temporary files being written: a second Ctrl-C removes them before the process exits.
static PARTIAL: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn partial() -> MutexGuard<'static, Vec<PathBuf>> {
    PARTIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Remove every temporary file being written, and keep any other from being made or renamed
/// into place while the returned guard lives: for an exit in the middle of a write.
pub fn abandon_partial_files() -> impl Sized {
    let mut files = partial();
    for p in files.drain(..) {
        let _ = fs::remove_file(p);
    }
    files
}

fn same_file(m: &Metadata, fd: i32) -> bool {
    // SAFETY: fstat only fills the struct it is given.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::fstat(fd, &mut st) } == 0;
    ok && st.st_dev == m.dev() && st.st_ino == m.ino()
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Decide where a document written to `path` goes, without touching anything.
pub fn destination(path: &Path) -> io::Result<Destination> {
    if path.as_os_str() == "-" {
        return Ok(Destination::Stdout);
    }
    match fs::metadata(path) {
        Ok(m) => {
            if same_file(&m, 1) {
                return Ok(Destination::Stdout);
            }
            if same_file(&m, 2) {
                return Ok(Destination::Stderr);
            }
            let t = m.file_type();
            if t.is_char_device() || t.is_fifo() {
                Ok(Destination::Stream(path.to_path_buf()))
            } else if t.is_file() {
                Ok(Destination::File {
                    path: fs::canonicalize(path)?,
                    existing: Some((m.mode() & 0o7777, m.uid(), m.gid())),
                })
            } else if t.is_dir() {
                Err(invalid(format!("{} is a folder", path.display())))
            } else {
                Err(invalid(format!(
                    "{} is neither a regular file, a character device nor a FIFO",
                    path.display()
                )))
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let target = dangling_target(path)?;
            check_folder(&target)?;
            Ok(Destination::File {
                path: target,
                existing: None,
            })
        }
        Err(e) => Err(e),
    }
}

/// Where a path that does not exist yet will be created: the path itself, or the end of the
/// chain of symbolic links it starts.
fn dangling_target(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                };
            }
            Ok(_) => return Ok(p),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(p),
            Err(e) => return Err(e),
        }
    }
    Err(invalid(format!(
        "{}: too many levels of symbolic links",
        path.display()
    )))
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn check_folder(path: &Path) -> io::Result<()> {
    let dir = folder_of(path);
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(invalid(format!("{} is not a folder", dir.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the folder {} does not exist", dir.display()),
        )),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
    }
}

/// Write a document to `path` as [`destination`] decides.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    match destination(path)? {
        Destination::Stdout => through(io::stdout().lock(), write),
        Destination::Stderr => through(io::stderr().lock(), write),
        Destination::Stream(p) => {
            let f = OpenOptions::new().write(true).open(&p)?;
            through(f, write)
        }
        Destination::File { path, existing } => replace(&path, existing, write),
    }
}

fn through(
    out: impl Write,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = io::BufWriter::new(out);
    write(&mut buf)?;
    buf.flush()
}

/// A temporary file in `dir`, registered so that a second Ctrl-C removes it. New files are made
/// with mode 0666, which the umask narrows as it does for every tool.
fn create_temporary(dir: &Path) -> io::Result<(File, PathBuf)> {
    let mut files = partial();
    let pid = std::process::id();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for i in 0..100u32 {
        let p = dir.join(format!(".tlsmatrix-{pid}-{nanos:x}-{i}.tmp"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(&p)
        {
            Ok(f) => {
                files.push(p.clone());
                return Ok((f, p));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot create a file in {}: {e}", dir.display()),
                ));
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("cannot create a temporary file in {}", dir.display()),
    ))
}

fn forget(p: &Path) {
    partial().retain(|x| x != p);
}

fn replace(
    path: &Path,
    existing: Option<(u32, u32, u32)>,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = folder_of(path);
    let (file, tmp) = create_temporary(dir)?;
    let result = (|| {
        if let Some((mode, uid, gid)) = existing {
            // The owner first: changing it may clear set-id bits that the mode then restores.
            // Only root may give a file away; others keep what they can.
            let _ = std::os::unix::fs::fchown(&file, Some(uid), Some(gid));
            file.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        let mut buf = io::BufWriter::new(&file);
        write(&mut buf)?;
        buf.flush()?;
        drop(buf);
        file.sync_all()?;
        let files = partial();
        if !files.contains(&tmp) {
            // A second Ctrl-C has removed it: the process is exiting.
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        let renamed = fs::rename(&tmp, path);
        drop(files);
        renamed
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    forget(&tmp);
    // The rename is durable once the folder is synced too (best effort: not every file system
    // lets a folder be opened for that).
    if result.is_ok()
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(destination(Path::new("-")).unwrap(), Destination::Stdout);
        assert_eq!(
            destination(Path::new("/dev/null")).unwrap(),
            Destination::Stream("/dev/null".into())
        );
        let new = d.join("new.json");
        assert_eq!(
            destination(&new).unwrap(),
            Destination::File {
                path: new.clone(),
                existing: None
            }
        );
        // A dangling link: the file is made where it points.
        let link = d.join("link.json");
        std::os::unix::fs::symlink("target.json", &link).unwrap();
        assert_eq!(
            destination(&link).unwrap(),
            Destination::File {
                path: d.join("target.json"),
                existing: None
            }
        );
        let e = destination(&d.join("missing/x.json")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("the folder {} does not exist", d.join("missing").display())
        );
        assert!(
            destination(d)
                .unwrap_err()
                .to_string()
                .contains("is a folder")
        );
    }

    #[test]
    fn a_second_ctrl_c_during_the_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "old").unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let p = path.clone();
        let writer = std::thread::spawn(move || {
            write_atomic(&p, |w| {
                w.write_all(b"new, partly written")?;
                started_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                w.write_all(b" and the rest")
            })
        });
        started_rx.recv().unwrap();
        let names = || -> Vec<String> {
            std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            names().len(),
            2,
            "the temporary file is there while writing"
        );
        // What the second Ctrl-C does before it exits.
        let guard = abandon_partial_files();
        assert_eq!(names(), vec!["report.json".to_string()]);
        drop(guard);
        go_tx.send(()).unwrap();
        assert!(writer.join().unwrap().is_err());
        assert_eq!(names(), vec!["report.json".to_string()]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    }
}
