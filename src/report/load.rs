//! Reading saved reports back, with errors that name the file and what is wrong with it.

use std::path::Path;

use crate::error::Error;
use crate::report::{OLDEST_SCHEMA_VERSION, Report, SCHEMA_VERSION};

/// Read a tlsmatrix scan from a file (`-` for standard input).
pub fn load(path: &str) -> Result<Report, Error> {
    let bad = |message: String| Error::BadReport {
        path: path.to_string(),
        message,
    };
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| bad(e.to_string()))?
    } else {
        std::fs::read_to_string(Path::new(path)).map_err(|e| bad(e.to_string()))?
    };
    if text.trim().is_empty() {
        return Err(bad("the file is empty, not a tlsmatrix scan".into()));
    }
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        if e.is_eof() {
            bad(format!("truncated JSON (it ends at line {})", e.line()))
        } else {
            bad(format!("not JSON: {e}"))
        }
    })?;
    let Some(version) = value.get("schema_version").and_then(|v| v.as_u64()) else {
        return Err(bad("not a tlsmatrix scan (no schema_version field)".into()));
    };
    if value.get("endpoints").is_none() {
        return Err(bad(
            "not a tlsmatrix scan (no endpoints; a diff or check result cannot be read here)"
                .into(),
        ));
    }
    if !(OLDEST_SCHEMA_VERSION as u64..=SCHEMA_VERSION as u64).contains(&version) {
        return Err(bad(format!(
            "schema version {version} is not supported by this tlsmatrix (it reads versions {OLDEST_SCHEMA_VERSION} to {SCHEMA_VERSION})"
        )));
    }
    serde_json::from_value(value).map_err(|e| bad(format!("not a valid tlsmatrix scan: {e}")))
}
