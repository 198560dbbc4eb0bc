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

pub mod cli;
pub mod client;
pub mod config;
pub mod demo;
pub mod error;
pub mod exit;
pub mod lab;
pub mod ldap;
pub mod model;
pub mod output;
pub mod probe;
pub mod progress;
pub mod scan;
pub mod starttls;
pub mod target;
pub mod verdict;
pub mod wire;

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
    }
}

async fn run_scan(job: config::ScanJob, cancel: CancellationToken) -> Result<Exit, Error> {
    let out = job.output.clone();
    for e in &job.input_errors {
        eprintln!("tlsmatrix: error: {e}");
    }
    if job.targets.is_empty() {
        return Err(Error::NoTargets);
    }
    let bar = progress::Bar::new(out.quiet);
    let report = scan::scan(&job.config, job.targets, job.input_errors, cancel, &bar).await;
    bar.finish();
    emit(&report, &out)?;
    Ok(exit_status(&report))
}

/// Write the report where it was asked for.
pub fn emit(report: &Report, out: &config::OutputConfig) -> Result<(), Error> {
    if let Some(path) = &out.file {
        write_atomic(path, |w| write_report(report, out.format, false, w)).map_err(|source| {
            Error::WriteOutput {
                path: path.clone(),
                source,
            }
        })?;
        if out.echo_table {
            to_stdout(|w| write_report(report, Format::Table, out.color, w))?;
        }
    } else {
        to_stdout(|w| write_report(report, out.format, out.color, w))?;
    }
    Ok(())
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
