//! The commands: the only code that prints, writes files or picks an exit status. Each command
//! turns its validated job into a document, hands it to a renderer and says how the run ended.

mod check;
mod clients;
#[cfg(feature = "lab")]
pub mod demo;
#[cfg(feature = "lab")]
mod demo_predict;
mod describe;
mod diff;
mod discover;
mod emit;
pub mod exit;
mod merge;
mod predict;
pub mod progress;
mod scan;
mod serve;

use tokio_util::sync::CancellationToken;

use crate::cli::Cli;
use crate::config::{self, Job};
use crate::error::Error;
pub use emit::{emit, save, to_stdout};
pub use exit::Exit;

/// Run one command line. Returns the exit status; `Err` is an error that ended the run.
pub async fn run(cli: Cli, cancel: CancellationToken) -> Result<Exit, Error> {
    // Every probe holds sockets: take all the descriptors the system lets this process have.
    crate::scan::raise_open_file_limit();
    match config::job(cli)? {
        Job::Scan(job) => scan::run(*job, cancel).await,
        #[cfg(feature = "lab")]
        Job::Demo(job) => demo::run(job, cancel).await,
        Job::Discover(job) => discover::run(job).await,
        Job::Diff(job) => diff::run(job),
        Job::Clients(job) => clients::run(job),
        Job::Predict(job) => predict::run(*job, cancel).await,
        Job::Check(job) => check::run(job),
        Job::Merge(job) => merge::run(job),
        Job::Describe(what) => describe::run(what),
        Job::Serve(job) => serve::run(*job, cancel).await,
    }
}

/// Parse the command line. Help and version go to standard output as clap writes them; a
/// mistake is one line on standard error in the form every other error takes, with exit 2.
pub fn parse_args<I, T>(args: I) -> Result<Cli, Exit>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::Parser;
    use clap::error::ErrorKind;
    match Cli::try_parse_from(args) {
        Ok(cli) => Ok(cli),
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                Err(if e.exit_code() == 0 {
                    Exit::Ok
                } else {
                    Exit::Input
                })
            }
            _ => {
                let message = usage_message(&e);
                eprintln!(
                    "tlsmatrix: error: {}",
                    crate::output::escape::term(&message)
                );
                Err(Exit::Input)
            }
        },
    }
}

/// clap's message on one line, with the hint it gives (a similar flag) kept.
fn usage_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut parts: Vec<&str> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("Usage:") || line.starts_with("For more information")
        {
            continue;
        }
        parts.push(line.strip_prefix("error: ").unwrap_or(line));
    }
    format!("{} (see --help)", parts.join("; "))
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
            // No half-written temporary file is left behind, and none is renamed into place.
            let _writes_stopped = crate::output::abandon_partial_files();
            std::process::exit(Exit::Interrupted.code());
        }
    });
}
