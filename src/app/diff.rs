//! `tlsmatrix diff`: two saved scans compared, version by version.

use crate::analysis::diff;
use crate::app::Exit;
use crate::app::emit::{emit_with, no_metrics};
use crate::config::DiffJob;
use crate::error::Error;
use crate::output::{self, Format, html};

pub(crate) fn run(job: DiffJob) -> Result<Exit, Error> {
    no_metrics(&job.output, "diff")?;
    let (before, after) = (&job.before, &job.after);
    let d = diff::diff(
        &before.report,
        &after.report,
        (Some(&before.path), Some(&after.path)),
        &job.exceptions,
    );
    if !before.report.endpoints.is_empty()
        && !after.report.endpoints.is_empty()
        && d.endpoints.iter().all(|e| e.only_in.is_some())
    {
        return Err(Error::Usage(format!(
            "{} and {} have no endpoint in common (endpoints match by target, address, port and protocol)",
            before.path, after.path
        )));
    }
    emit_with(&job.output, |w, format, look| match format {
        Format::Html => html::write_diff(
            &html::DiffPage {
                diff: &d,
                before: Some(html::Source {
                    report: &before.report,
                    file: Some(&before.path),
                }),
                after: Some(html::Source {
                    report: &after.report,
                    file: Some(&after.path),
                }),
                allow_inconclusive: job.allow_inconclusive,
            },
            &html::Meta::now(),
            w,
        ),
        _ => output::write_diff(&d, format, look, job.allow_inconclusive, w),
    })?;
    Ok(diff_exit(&d, job.allow_inconclusive))
}

pub(crate) fn diff_exit(d: &diff::Diff, allow_inconclusive: bool) -> Exit {
    if diff::passes(d, allow_inconclusive) {
        Exit::Ok
    } else {
        Exit::Fail
    }
}
