use std::process::ExitCode;

use tlsmatrix::app::Exit;
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let cli = match tlsmatrix::app::parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(exit) => return ExitCode::from(exit.code() as u8),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tlsmatrix: error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        let cancel = CancellationToken::new();
        tlsmatrix::cancel_on_ctrl_c(cancel.clone());
        tlsmatrix::run(cli, cancel).await
    });
    let exit = match result {
        Ok(exit) => exit,
        Err(e) => {
            // Errors may quote a file's contents or a target line: never raw on the terminal.
            for line in e.lines() {
                let message = tlsmatrix::output::escape::term(&line).into_owned();
                eprintln!("tlsmatrix: error: {message}");
            }
            Exit::Input
        }
    };
    // The runtime may still hold probes of an interrupted scan: do not wait for them.
    runtime.shutdown_background();
    ExitCode::from(exit.code() as u8)
}
