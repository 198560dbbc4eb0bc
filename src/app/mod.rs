//! The commands: the only code that prints, writes files or picks an exit status. Each command
//! turns its validated job into a document, hands it to a renderer and says how the run ended.

mod check;
mod clients;
#[cfg(feature = "lab")]
pub mod demo;
mod diff;
mod discover;
mod emit;
pub mod exit;
mod merge;
pub mod progress;
mod scan;
mod serve;

use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command};
use crate::config;
use crate::error::Error;
pub use emit::{emit, save, to_stdout};
pub use exit::Exit;

/// Run one command line. Returns the exit status; `Err` is an error that ended the run.
pub async fn run(cli: Cli, cancel: CancellationToken) -> Result<Exit, Error> {
    match cli.command {
        Command::Scan(args) => scan::run(config::scan_job(*args)?, cancel).await,
        #[cfg(feature = "lab")]
        Command::Demo(args) => demo::run(args, cancel).await,
        Command::Discover(args) => discover::run(args).await,
        Command::Diff(args) => diff::run(args),
        Command::Clients(args) => clients::run(args),
        Command::Check(args) => check::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Serve(args) => serve::run(args, cancel).await,
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
