//! `tlsmatrix merge`: scans of the same estate from several vantage points, in one report.

use crate::analysis::merge;
use crate::app::Exit;
use crate::app::emit::emit;
use crate::error::Error;
use crate::report::load;
use crate::{cli, config};

pub(crate) fn run(args: cli::MergeArgs) -> Result<Exit, Error> {
    let mut reports = Vec::new();
    for path in &args.scans {
        reports.push((path.clone(), load::load(path)?));
    }
    let merged = merge::merge(&reports, args.label.clone());
    let out = config::output_config(&args.output);
    emit(&merged, &out)?;
    let disagree = merged.endpoints.iter().any(|e| !e.disagreements.is_empty());
    Ok(if merged.has_undecided() || disagree {
        Exit::Undecided
    } else {
        Exit::Ok
    })
}
