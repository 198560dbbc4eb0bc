//! `tlsmatrix merge`: scans of the same estate from several vantage points, in one report.

use crate::analysis::merge;
use crate::app::Exit;
use crate::app::emit::emit;
use crate::config::MergeJob;
use crate::error::Error;
use crate::report::Report;

pub(crate) fn run(job: MergeJob) -> Result<Exit, Error> {
    let reports: Vec<(String, Report)> =
        job.scans.into_iter().map(|l| (l.path, *l.report)).collect();
    let merged = merge::merge(&reports, job.label);
    emit(&merged, &job.output)?;
    let disagree = merged.endpoints.iter().any(|e| !e.disagreements.is_empty());
    Ok(if merged.has_undecided() || disagree {
        Exit::Undecided
    } else {
        Exit::Ok
    })
}
