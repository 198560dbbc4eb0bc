//! `tlsmatrix diff`: two saved scans compared, version by version.

use crate::analysis::diff;
use crate::app::Exit;
use crate::app::emit::{emit_with, no_metrics};
use crate::error::Error;
use crate::report::load;
use crate::{cli, config, output};

pub(crate) fn run(args: cli::DiffArgs) -> Result<Exit, Error> {
    let out = config::output_config(&args.output);
    no_metrics(&out, "diff")?;
    let before = load::load(&args.before)?;
    let after = load::load(&args.after)?;
    let d = diff::diff(&before, &after, (Some(&args.before), Some(&args.after)));
    if !before.endpoints.is_empty()
        && !after.endpoints.is_empty()
        && d.endpoints.iter().all(|e| e.only_in.is_some())
    {
        return Err(Error::Usage(format!(
            "{} and {} have no endpoint in common (endpoints match by target, address, port and protocol)",
            args.before, args.after
        )));
    }
    emit_with(&out, |w, format, color| {
        output::write_diff(&d, format, color, args.allow_inconclusive, w)
    })?;
    Ok(diff_exit(&d, args.allow_inconclusive))
}

pub(crate) fn diff_exit(d: &diff::Diff, allow_inconclusive: bool) -> Exit {
    if diff::passes(d, allow_inconclusive) {
        Exit::Ok
    } else {
        Exit::Fail
    }
}
