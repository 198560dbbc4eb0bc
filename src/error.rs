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
    /// A configuration file with mistakes: every one of them, each with its line (the command
    /// prints them one a line; see [`Error::lines`]).
    #[error("{}", config_summary(path, errors))]
    Config {
        path: PathBuf,
        errors: Vec<crate::serve::yaml::ConfigError>,
    },
}

impl Error {
    /// The error as the lines to print: one per mistake of a configuration file, else one.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Error::Config { path, errors } => errors
                .iter()
                .map(|e| format!("{}:{e}", path.display()))
                .collect(),
            other => vec![other.to_string()],
        }
    }
}

/// `FILE:LINE:COL: message`, and how many more mistakes there are.
fn config_summary(path: &std::path::Path, errors: &[crate::serve::yaml::ConfigError]) -> String {
    let first = errors
        .first()
        .map(|e| format!("{}:{e}", path.display()))
        .unwrap_or_else(|| path.display().to_string());
    match errors.len() {
        0 | 1 => first,
        n => format!("{first} (and {} more)", n - 1),
    }
}
