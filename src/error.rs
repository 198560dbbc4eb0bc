//! Errors that end a run. What goes wrong with one endpoint is not here: it is a cell.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Command-line arguments that cannot work together.
    #[error("{0}")]
    Usage(String),
    /// A targets file that cannot be read.
    #[error("cannot read targets from {path}: {source}")]
    ReadTargets { path: String, source: io::Error },
    /// No usable target after reading every input.
    #[error("no valid target to scan")]
    NoTargets,
    /// The results file cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    WriteOutput { path: PathBuf, source: io::Error },
    /// Standard output failed (other than a closed pipe).
    #[error("cannot write to standard output: {0}")]
    Stdout(io::Error),
    /// A saved report that cannot be used.
    #[error("{path}: {message}")]
    BadReport { path: String, message: String },
    #[error("cannot start the demo lab: {0}")]
    Lab(io::Error),
    /// A configuration file with mistakes: every one of them, each with its line.
    #[error("{}", config_errors(path, errors))]
    Config {
        path: PathBuf,
        errors: Vec<crate::serve::yaml::ConfigError>,
    },
}

/// `FILE:LINE:COL: message`, one mistake a line.
fn config_errors(path: &std::path::Path, errors: &[crate::serve::yaml::ConfigError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}:{e}", path.display()))
        .collect::<Vec<_>>()
        .join("\ntlsmatrix: error: ")
}
