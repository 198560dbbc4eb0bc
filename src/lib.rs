//! tlsmatrix: which TLS versions do your endpoints accept?
//!
//! The library behind the `tlsmatrix` command. Data flows one way: targets
//! ([`target`]) are resolved and probed once per forced version ([`probe`], fanned out by
//! [`scan`]); each probe gives a [`model::Cell`], each endpoint a [`model::Verdict`]
//! ([`verdict`]); renderers in [`output`] write the [`model::Report`].
//!
//! ```no_run
//! # async fn f() {
//! use tlsmatrix::{scan, target};
//! let targets = vec![target::parse_target("ldaps://dc1.example.com").unwrap()];
//! let config = scan::ScanConfig::default();
//! let report = scan::scan(&config, targets, vec![], Default::default(), &scan::Silent).await;
//! for e in &report.endpoints {
//!     println!("{} {:?} {:?}", e.target, e.address, e.verdict);
//! }
//! # }
//! ```

pub mod capture;
pub mod cli;
pub mod client;
pub mod config;
pub mod demo;
pub mod diff;
pub mod discover;
pub mod engine;
pub mod error;
pub mod exit;
pub mod hello;
pub mod lab;
pub mod ldap;
pub mod merge;
pub mod model;
pub mod output;
pub mod policy;
pub mod probe;
pub mod progress;
pub mod report_file;
pub mod scan;
pub mod starttls;
pub mod target;
pub mod verdict;
pub mod wire;
pub mod wire_probe;

use std::io::{self, Write};

use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command};
use crate::error::Error;
use crate::exit::Exit;
use crate::model::Report;
use crate::output::{Format, write_atomic, write_report};

/// Run one command line. Returns the exit status; `Err` is an error that ended the run.
pub async fn run(cli: Cli, cancel: CancellationToken) -> Result<Exit, Error> {
    match cli.command {
        Command::Scan(args) => run_scan(config::scan_job(*args)?, cancel).await,
        Command::Demo(args) => demo::run(args, cancel).await,
        Command::Discover(args) => run_discover(args).await,
        Command::Diff(args) => run_diff(args),
        Command::Clients(args) => run_clients(args),
        Command::Check(args) => run_check(args),
        Command::Merge(args) => run_merge(args),
    }
}

async fn run_discover(args: cli::DiscoverArgs) -> Result<Exit, Error> {
    let settings = config::dns_settings(&args.dns);
    let out = config::output_config(&args.output);
    let found = discover::discover(&args.domain, args.dns.site.as_deref(), &settings).await;
    emit_with(&out, |w, format, _| {
        output::write_discovery(&found, format, args.dns.with_rdp, w)
    })?;
    Ok(if found.dcs.is_empty() {
        Exit::Input
    } else if !found.problems.is_empty() {
        Exit::Undecided
    } else {
        Exit::Ok
    })
}

fn run_clients(args: cli::ClientsArgs) -> Result<Exit, Error> {
    let out = config::output_config(&args.output);
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

fn run_diff(args: cli::DiffArgs) -> Result<Exit, Error> {
    let before = report_file::load(&args.before)?;
    let after = report_file::load(&args.after)?;
    let out = config::output_config(&args.output);
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

fn diff_exit(d: &diff::Diff, allow_inconclusive: bool) -> Exit {
    if diff::passes(d, allow_inconclusive) {
        Exit::Ok
    } else {
        Exit::Fail
    }
}

fn run_check(args: cli::CheckArgs) -> Result<Exit, Error> {
    let policy = config::policy(&args.policy)?.ok_or_else(|| {
        Error::Usage("check needs --policy NAME or --require/--forbid LIST".into())
    })?;
    let report = report_file::load(&args.scan)?;
    let out = config::output_config(&args.output);
    let c = policy::check(&report, &policy);
    emit_with(&out, |w, format, color| {
        output::write_check(&c, format, color, w)
    })?;
    Ok(check_exit(&c))
}

fn check_exit(c: &policy::CheckReport) -> Exit {
    match c.result {
        policy::Compliance::Pass => Exit::Ok,
        policy::Compliance::Fail => Exit::Fail,
        policy::Compliance::Inconclusive => Exit::Undecided,
    }
}

fn run_merge(args: cli::MergeArgs) -> Result<Exit, Error> {
    let mut reports = Vec::new();
    for path in &args.scans {
        reports.push((path.clone(), report_file::load(path)?));
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

/// Write a result (a comparison or a check) where `out` says: to the file in its format, and to
/// the terminal as a table; or to standard output.
fn emit_with(
    out: &config::OutputConfig,
    write: impl Fn(&mut dyn Write, Format, bool) -> io::Result<()>,
) -> Result<(), Error> {
    if let Some(path) = &out.file {
        save(path, |w| write(w, out.format, false))?;
        if out.echo_table {
            to_stdout(|w| write(w, Format::Table, out.color))?;
        }
        Ok(())
    } else {
        to_stdout(|w| write(w, out.format, out.color))
    }
}

async fn run_scan(mut job: config::ScanJob, cancel: CancellationToken) -> Result<Exit, Error> {
    let out = job.output.clone();
    if let Some((domain, site, settings, with_rdp)) = job.domain.take() {
        let found = discover::discover(&domain, site.as_deref(), &settings).await;
        for p in &found.problems {
            job.input_errors.push(model::InputError {
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
        let d = diff::diff(baseline, &report, (Some(path), after_file));
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

/// Write the report where it was asked for.
pub fn emit(report: &Report, out: &config::OutputConfig) -> Result<(), Error> {
    emit_with(out, |w, format, color| {
        write_report(report, format, color, w)
    })
}

/// Write a file atomically; a failure names the file.
pub fn save(
    path: &std::path::Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Error> {
    write_atomic(path, write).map_err(|source| Error::WriteOutput {
        path: path.to_path_buf(),
        source,
    })
}

/// Write to standard output; a reader that went away (a closed pipe) is not an error.
pub fn to_stdout(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Error> {
    let stdout = io::stdout();
    let mut lock = io::BufWriter::new(stdout.lock());
    match f(&mut lock).and_then(|()| lock.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Stdout(e)),
        Ok(()) => Ok(()),
    }
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

/// Cancel `token` on the first Ctrl-C; exit at once on the second.
pub fn cancel_on_ctrl_c(token: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!("tlsmatrix: interrupted; writing what is done (Ctrl-C again to quit at once)");
        token.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(Exit::Interrupted.code());
        }
    });
}
