//! Where a document goes: a file (written atomically, see `output::write_atomic`) and the
//! terminal, or standard output.

use std::io::{self, Write};

use crate::config;
use crate::error::Error;
use crate::output::{Destination, Format, Look, destination, write_atomic, write_report};
use crate::report::Report;

/// Write a result (a comparison or a check) where `out` says: to the file in its format, and to
/// the terminal as a table; or to standard output.
pub(crate) fn emit_with(
    out: &config::OutputConfig,
    write: impl Fn(&mut dyn Write, Format, Look) -> io::Result<()>,
) -> Result<(), Error> {
    if let Some(path) = &out.file {
        // A file keeps the wide table: no terminal decides its width.
        save(path, |w| write(w, out.format, Look::wide(false)))?;
        // `-o -` or `-o /dev/stdout` already put the document on the terminal.
        let on_stdout = matches!(destination(path), Ok(Destination::Stdout));
        if out.echo_table && !on_stdout {
            to_stdout(|w| write(w, Format::Table, out.look))?;
        }
        Ok(())
    } else {
        to_stdout(|w| write(w, out.format, out.look))
    }
}

/// Refuse `--format prometheus` for a command whose document has no metrics form.
pub(crate) fn no_metrics(out: &config::OutputConfig, command: &str) -> Result<(), Error> {
    if out.format == Format::Prometheus {
        return Err(Error::Usage(format!(
            "`{command}` has no Prometheus form: --format prometheus is for scan, check and merge"
        )));
    }
    Ok(())
}

/// Write the report where it was asked for.
pub fn emit(report: &Report, out: &config::OutputConfig) -> Result<(), Error> {
    emit_with(out, |w, format, look| write_report(report, format, look, w))?;
    // Saved without a table on the terminal: say in one line what was found, so an exit status
    // of 3 is never the only word.
    if let (Some(path), false, false) = (&out.file, out.echo_table, out.quiet) {
        let said = format!(
            "saved {}: {}",
            path.display(),
            crate::output::summary_line(report)
        );
        eprintln!("tlsmatrix: {}", crate::output::escape::term(&said));
    }
    Ok(())
}

/// Write a document to a path (atomically when it is a regular file); a failure names the path.
pub fn save(
    path: &std::path::Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Error> {
    write_atomic(path, write).map_err(|source| Error::WriteOutput {
        path: path.to_path_buf(),
        source,
    })
}

/// Write to standard output; a reader that went away (a closed pipe) is not an error.
pub fn to_stdout(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Error> {
    let stdout = io::stdout();
    let mut lock = io::BufWriter::new(stdout.lock());
    match f(&mut lock).and_then(|()| lock.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Stdout(e)),
        Ok(()) => Ok(()),
    }
}
