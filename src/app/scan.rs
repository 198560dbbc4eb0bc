//! `tlsmatrix scan`: the matrix, and with `--baseline` or a policy, the comparison.

use tokio_util::sync::CancellationToken;

use crate::analysis::{diff, policy};
use crate::app::check::check_exit;
use crate::app::diff::diff_exit;
use crate::app::emit::{emit, emit_with, save};
use crate::app::{Exit, progress};
use crate::config::{Compare, DomainJob, OutputConfig, ScanJob};
use crate::error::Error;
use crate::output::{self, Format};
use crate::report::Report;
use crate::{config, discover, report, scan};

pub(crate) async fn run(mut job: ScanJob, cancel: CancellationToken) -> Result<Exit, Error> {
    let out = job.output.clone();
    if let Some(domain) = job.domain.take() {
        add_discovered(&mut job, &domain).await;
    }
    for e in &job.input_errors {
        eprintln!("tlsmatrix: error: {e}");
    }
    for pin in job.config.resolve.unused(&job.targets) {
        eprintln!("tlsmatrix: warning: --resolve {pin} matches no target; it is not used");
    }
    if job.targets.is_empty() {
        return Err(Error::NoTargets);
    }
    // Endpoints that never answer each hold a socket while their connects wait: let the soft
    // open-file limit rise to what the hard limit allows (the scan stays below it).
    let _ = rlimit::increase_nofile_limit(scan::MAX_OPEN as u64 + 1024);
    let bar = progress::Bar::new(out.quiet);
    let report = scan::scan(&job.config, job.targets, job.input_errors, cancel, &bar).await;
    bar.finish();
    let exit = match &job.compare {
        Compare::Nothing => {
            emit(&report, &out)?;
            return Ok(exit_status(&report));
        }
        Compare::Baseline {
            before,
            allow_inconclusive,
        } => {
            let shown = comparison_output(&report, &out)?;
            let after_file = out.file.as_ref().and_then(|p| p.to_str());
            let d = diff::diff(
                &before.report,
                &report,
                (Some(&before.path), after_file),
                &job.exceptions,
            );
            emit_with(&shown, |w, format, color| {
                output::write_diff(&d, format, color, *allow_inconclusive, w)
            })?;
            diff_exit(&d, *allow_inconclusive)
        }
        Compare::Policy(policy) => {
            let shown = comparison_output(&report, &out)?;
            let c = policy::check(&report, policy, &job.exceptions);
            emit_with(&shown, |w, format, color| {
                output::write_check(&c, format, color, w)
            })?;
            check_exit(&c)
        }
    };
    Ok(if report.complete {
        exit
    } else {
        Exit::Interrupted
    })
}

/// Find the domain's controllers and add their services to the scan; what DNS could not
/// answer is kept as input errors.
async fn add_discovered(job: &mut ScanJob, d: &DomainJob) {
    let found = discover::discover(&d.domain, d.site.as_deref(), &d.dns).await;
    for p in &found.problems {
        job.input_errors.push(report::InputError {
            source: format!("DNS {}", d.domain),
            message: p.clone(),
        });
    }
    if !job.output.quiet {
        eprintln!("tlsmatrix: {}", output::discovery_summary(&found));
    }
    let (targets, resolve) = discover::targets(&found, d.with_rdp);
    job.targets.extend(targets);
    config::dedupe(&mut job.targets);
    job.config.resolve.extend(resolve);
}

/// With a baseline or a policy the comparison is the answer: it goes to standard output (a
/// table on a terminal), and the scan itself to -o if asked.
fn comparison_output(report: &Report, out: &OutputConfig) -> Result<OutputConfig, Error> {
    if let Some(path) = &out.file {
        save(path, |w| output::write_json(report, w))?;
    }
    Ok(OutputConfig {
        file: None,
        format: if out.file.is_some() && out.echo_table {
            Format::Table
        } else {
            out.format
        },
        ..out.clone()
    })
}

/// The exit status a finished scan deserves.
pub fn exit_status(report: &Report) -> Exit {
    if !report.complete {
        Exit::Interrupted
    } else if !report.input_errors.is_empty() {
        Exit::Input
    } else if report.has_undecided() {
        Exit::Undecided
    } else {
        Exit::Ok
    }
}
