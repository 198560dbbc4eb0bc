//! `tlsmatrix clients`: which clients use which TLS versions, from packet captures.

use crate::app::Exit;
use crate::app::emit::{emit_with, no_metrics};
use crate::error::Error;
use crate::{capture, cli, config, output};

pub(crate) fn run(args: cli::ClientsArgs) -> Result<Exit, Error> {
    let out = config::output_config(&args.output);
    no_metrics(&out, "clients")?;
    let report = capture::analyze(&args.captures, args.ports.clone());
    for f in &report.files {
        if let Some(e) = &f.error {
            eprintln!("tlsmatrix: error: {}: {e}", f.path);
        }
    }
    emit_with(&out, |w, format, color| {
        output::write_clients(&report, format, color, w)
    })?;
    Ok(if report.files.iter().any(|f| f.error.is_some()) {
        Exit::Input
    } else {
        Exit::Ok
    })
}
