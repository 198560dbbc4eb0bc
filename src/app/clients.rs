//! `tlsmatrix clients`: which clients use which TLS versions, from packet captures.

use crate::app::Exit;
use crate::app::emit::{emit_with, no_metrics};
use crate::config::ClientsJob;
use crate::error::Error;
use crate::{capture, output};

pub(crate) fn run(job: ClientsJob) -> Result<Exit, Error> {
    let out = &job.output;
    no_metrics(out, "clients")?;
    let report = capture::analyze(&job.captures, job.ports.clone());
    for f in &report.files {
        if let Some(e) = &f.error {
            let line = format!("{}: {e}", f.path);
            eprintln!("tlsmatrix: error: {}", output::escape::term(&line));
        }
    }
    // Nothing read at all: the errors above are the answer, not an empty report.
    if report
        .files
        .iter()
        .all(|f| f.error.is_some() && f.packets == 0)
    {
        return Ok(Exit::Input);
    }
    emit_with(out, |w, format, look| {
        output::write_clients(&report, format, look.color, w)
    })?;
    Ok(if report.files.iter().any(|f| f.error.is_some()) {
        Exit::Input
    } else {
        Exit::Ok
    })
}
