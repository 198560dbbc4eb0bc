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

use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command};
use crate::config;
use crate::error::Error;
pub use emit::{emit, save, to_stdout};
pub use exit::Exit;

/// Run one command line. Returns the exit status; `Err` is an error that ended the run.
pub async fn run(cli: Cli, cancel: CancellationToken) -> Result<Exit, Error> {
    // Every probe holds sockets: take all the descriptors the system lets this process have.
    crate::scan::raise_open_file_limit();
    match cli.command {
        Command::Scan(args) => scan::run(config::scan_job(*args)?, cancel).await,
        #[cfg(feature = "lab")]
        Command::Demo(args) => demo::run(args, cancel).await,
        Command::Discover(args) => discover::run(args).await,
        Command::Diff(args) => diff::run(args),
        Command::Clients(args) => clients::run(args),
        Command::Check(args) => check::run(args),
        Command::Merge(args) => merge::run(args),
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
            // No half-written temporary file is left behind, and none is renamed into place.
            let _writes_stopped = crate::output::abandon_partial_files();
            std::process::exit(Exit::Interrupted.code());
        }
    });
}
