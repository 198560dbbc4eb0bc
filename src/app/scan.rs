//! `tlsmatrix scan`: the matrix, and with `--baseline` or a policy, the comparison.

use tokio_util::sync::CancellationToken;

use crate::analysis::policy;
use crate::app::check::check_exit;
use crate::app::diff::diff_exit;
use crate::app::emit::{emit, emit_with, save};
use crate::app::{Exit, progress};
use crate::error::Error;
use crate::output::{self, Format};
use crate::report::Report;
use crate::{config, discover, report, scan};

pub(crate) async fn run(
    mut job: config::ScanJob,
    cancel: CancellationToken,
) -> Result<Exit, Error> {
    let out = job.output.clone();
    if out.format == Format::Prometheus && job.baseline.is_some() {
        return Err(Error::Usage(
            "a comparison with --baseline has no Prometheus form: write the scan with \
             --format prometheus, or compare with --format json"
                .into(),
        ));
    }
    if let Some((domain, site, settings, with_rdp)) = job.domain.take() {
        let found = discover::discover(&domain, site.as_deref(), &settings).await;
        for p in &found.problems {
            job.input_errors.push(report::InputError {
                source: format!("DNS {domain}"),
                message: p.clone(),
            });
        }
        if !out.quiet {
            eprintln!("tlsmatrix: {}", output::discovery_summary(&found));
        }
        let (targets, resolve) = discover::targets(&found, with_rdp);
        job.targets.extend(targets);
        config::dedupe(&mut job.targets);
        job.config.resolve.extend(resolve);
    }
    for e in &job.input_errors {
        eprintln!("tlsmatrix: error: {e}");
    }
    if job.targets.is_empty() {
        return Err(Error::NoTargets);
    }
    let bar = progress::Bar::new(out.quiet);
    let report = scan::scan(&job.config, job.targets, job.input_errors, cancel, &bar).await;
    bar.finish();
    if out.format == Format::Prometheus
        && let Some(policy) = &job.policy
    {
        // The metrics of the scan and of its check, in one exposition.
        let c = policy::check(&report, policy);
        emit_with(&out, |w, format, color| match format {
            Format::Prometheus => output::write_prometheus(
                &output::Exposition {
                    report: &report,
                    probe: None,
                    check: Some(&c),
                },
                w,
            ),
            _ => output::write_check(&c, format, color, w),
        })?;
        return Ok(if report.complete {
            check_exit(&c)
        } else {
            Exit::Interrupted
        });
    }
    if job.baseline.is_none() && job.policy.is_none() {
        emit(&report, &out)?;
        return Ok(exit_status(&report));
    }
    // With a baseline or a policy the comparison is the answer: it goes to standard output (a
    // table on a terminal), and the scan itself to -o if asked.
    if let Some(path) = &out.file {
        save(path, |w| output::write_json(&report, w))?;
    }
    let shown = config::OutputConfig {
        file: None,
        format: if out.file.is_some() && out.echo_table {
            Format::Table
        } else {
            out.format
        },
        ..out.clone()
    };
    let exit = if let Some((path, baseline)) = &job.baseline {
        let after_file = out.file.as_ref().and_then(|p| p.to_str());
        let d = crate::analysis::diff::diff(baseline, &report, (Some(path), after_file));
        emit_with(&shown, |w, format, color| {
            output::write_diff(&d, format, color, job.allow_inconclusive, w)
        })?;
        diff_exit(&d, job.allow_inconclusive)
    } else {
        let policy = job.policy.as_ref().expect("a policy");
        let c = policy::check(&report, policy);
        emit_with(&shown, |w, format, color| {
            output::write_check(&c, format, color, w)
        })?;
        check_exit(&c)
    };
    Ok(if report.complete {
        exit
    } else {
        Exit::Interrupted
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
