//! `tlsmatrix check`: a saved scan held against a policy.

use crate::analysis::policy;
use crate::app::Exit;
use crate::app::emit::emit_with;
use crate::config::CheckJob;
use crate::error::Error;
use crate::output::{self, Format, html};

pub(crate) fn run(job: CheckJob) -> Result<Exit, Error> {
    let mut c = policy::check(&job.scan.report, &job.policy, &job.exceptions);
    if let Some(side) = &mut c.scan {
        side.file = Some(job.scan.path.clone());
    }
    emit_with(&job.output, |w, format, look| match format {
        Format::Html => html::write_check(
            &html::CheckPage {
                check: &c,
                scan: Some(html::Source {
                    report: &job.scan.report,
                    file: Some(&job.scan.path),
                }),
            },
            &html::Meta::now(),
            w,
        ),
        // The metrics of the scan with those of its check, for a textfile collector.
        output::Format::Prometheus => output::write_prometheus(
            &output::Exposition {
                report: &job.scan.report,
                probe: None,
                check: Some(&c),
            },
            w,
        ),
        _ => output::write_check(&c, format, look, w),
    })?;
    Ok(check_exit(&c))
}

pub(crate) fn check_exit(c: &policy::CheckReport) -> Exit {
    match c.result {
        policy::Compliance::Pass => Exit::Ok,
        policy::Compliance::Fail => Exit::Fail,
        policy::Compliance::Inconclusive => Exit::Undecided,
    }
}
