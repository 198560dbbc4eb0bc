//! `tlsmatrix completions SHELL` and `tlsmatrix man`: the command line described for shells and
//! for `man`, generated from the same definition that parses it.

use clap::CommandFactory;

use crate::app::{Exit, to_stdout};
use crate::cli::Cli;
use crate::config::Describe;
use crate::error::Error;

pub(crate) fn run(what: Describe) -> Result<Exit, Error> {
    let mut cmd = Cli::command();
    match what {
        Describe::Completions(shell) => {
            to_stdout(|w| {
                clap_complete::generate(shell, &mut cmd, "tlsmatrix", w);
                Ok(())
            })?;
        }
        Describe::Man => {
            to_stdout(|w| clap_mangen::Man::new(cmd).render(w))?;
        }
    }
    Ok(Exit::Ok)
}
