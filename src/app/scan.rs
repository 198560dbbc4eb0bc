//! `tlsmatrix scan`: the matrix, and with `--baseline` or a policy, the comparison.

use tokio_util::sync::CancellationToken;

use crate::analysis::{diff, policy};
use crate::app::check::check_exit;
use crate::app::diff::diff_exit;
use crate::app::emit::{emit, emit_with, save};
use crate::app::{Exit, progress};
use crate::config::{Compare, DomainJob, OutputConfig, ScanJob};
use crate::error::Error;
use crate::output::{self, Format, html};
use crate::report::Report;
use crate::{config, discover, report, scan};

pub(crate) async fn run(mut job: ScanJob, cancel: CancellationToken) -> Result<Exit, Error> {
    let out = job.output.clone();
    if out.format == Format::Prometheus && matches!(job.compare, Compare::Baseline { .. }) {
        return Err(Error::Usage(
            "a comparison with --baseline has no Prometheus form: write the scan with \
             --format prometheus, or compare with --format json"
                .into(),
        ));
    }
    let mut warnings = Vec::new();
    if let Some(domain) = job.domain.take() {
        warnings = add_discovered(&mut job, &domain).await;
    }
    for w in &warnings {
        eprintln!(
            "tlsmatrix: warning: {}",
            output::escape::term(&w.to_string())
        );
    }
    for e in &job.input_errors {
        eprintln!("tlsmatrix: error: {}", output::escape::term(&e.to_string()));
    }
    for pin in job.config.resolve.unused(&job.targets) {
        eprintln!("tlsmatrix: warning: --resolve {pin} matches no target; it is not used");
    }
    if job.targets.is_empty() {
        return Err(Error::NoTargets);
    }
    let per_probe = scan::sockets_per_probe(job.config.engine);
    let allowed = scan::allowed_concurrency(job.config.concurrency, per_probe);
    if allowed < job.config.concurrency && !out.quiet {
        eprintln!(
            "tlsmatrix: note: {allowed} probes at once instead of {}: the open-file limit (ulimit -n) leaves no more descriptors",
            job.config.concurrency
        );
    }
    let bar = progress::Bar::new(out.quiet);
    let mut report = scan::scan(&job.config, job.targets, job.input_errors, cancel, &bar).await;
    report.warnings = warnings;
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
            let after_file = saved_scan(&shown, &out);
            let after_file = after_file.as_deref();
            let d = diff::diff(
                &before.report,
                &report,
                (Some(&before.path), after_file),
                &job.exceptions,
            );
            emit_with(&shown, |w, format, look| match format {
                Format::Html => html::write_diff(
                    &html::DiffPage {
                        diff: &d,
                        before: Some(html::Source {
                            report: &before.report,
                            file: Some(&before.path),
                        }),
                        after: Some(html::Source {
                            report: &report,
                            file: after_file,
                        }),
                        allow_inconclusive: *allow_inconclusive,
                    },
                    &html::Meta::now(),
                    w,
                ),
                _ => output::write_diff(&d, format, look, *allow_inconclusive, w),
            })?;
            diff_exit(&d, *allow_inconclusive)
        }
        Compare::Policy(policy) if out.format == Format::Prometheus => {
            // The metrics of the scan and of its check, in one exposition (a textfile).
            let c = policy::check(&report, policy, &job.exceptions);
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
            check_exit(&c)
        }
        Compare::Policy(policy) => {
            let shown = comparison_output(&report, &out)?;
            let scan_file = saved_scan(&shown, &out);
            let mut c = policy::check(&report, policy, &job.exceptions);
            if let (Some(side), Some(file)) = (&mut c.scan, &scan_file) {
                side.file = Some(file.clone());
            }
            emit_with(&shown, |w, format, look| match format {
                Format::Html => html::write_check(
                    &html::CheckPage {
                        check: &c,
                        scan: Some(html::Source {
                            report: &report,
                            file: scan_file.as_deref(),
                        }),
                    },
                    &html::Meta::now(),
                    w,
                ),
                _ => output::write_check(&c, format, look, w),
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

/// Find the domain's controllers and add their services to the scan; returns what DNS could
/// not answer, which the report lists without failing the scan for it (no DC at all is still
/// "no targets").
async fn add_discovered(job: &mut ScanJob, d: &DomainJob) -> Vec<report::InputError> {
    let found = discover::discover(&d.domain, d.site.as_deref(), &d.dns).await;
    let problems = found
        .problems
        .iter()
        .map(|p| report::InputError {
            source: format!("DNS {}", d.domain),
            message: p.clone(),
        })
        .collect();
    if !job.output.quiet {
        eprintln!(
            "tlsmatrix: {}",
            output::escape::term(&output::discovery_summary(&found))
        );
    }
    let (targets, resolve) = discover::targets(&found, d.with_rdp);
    job.targets.extend(targets);
    config::dedupe(&mut job.targets);
    job.config.resolve.extend(resolve);
    problems
}

/// Where the scan itself was saved: the file of -o, unless the HTML page took it.
fn saved_scan(shown: &OutputConfig, out: &OutputConfig) -> Option<String> {
    match shown.file {
        None => out.file.as_ref().map(|p| p.display().to_string()),
        Some(_) => None,
    }
}

/// With a baseline or a policy the comparison is the answer: it goes to standard output (a
/// table on a terminal), and the scan itself to -o if asked. An HTML page asked for with -o is
/// the comparison itself (it holds the whole scan), written there.
fn comparison_output(report: &Report, out: &OutputConfig) -> Result<OutputConfig, Error> {
    if out.file.is_some() && out.format == Format::Html {
        return Ok(out.clone());
    }
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
