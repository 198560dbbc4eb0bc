//! Reading saved reports back, with errors that name the file and what is wrong with it.

use crate::error::Error;
use crate::report::{OLDEST_SCHEMA_VERSION, Report, SCHEMA_VERSION};

/// Read a tlsmatrix scan from a file (`-` for standard input).
pub fn load(path: &str) -> Result<Report, Error> {
    let bad = |message: String| Error::BadReport {
        path: path.to_string(),
        message,
    };
    let bytes = crate::input::read_limited(path, crate::input::MAX_REPORT_FILE, "a saved scan")
        .map_err(|e| bad(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        bad(format!(
            "not UTF-8 text (byte {}), not a tlsmatrix scan",
            e.utf8_error().valid_up_to()
        ))
    })?;
    if text.trim().is_empty() {
        return Err(bad("the file is empty, not a tlsmatrix scan".into()));
    }
    // A first look at the outline only (nothing of the endpoints is kept), to say what is wrong
    // with a file that is not a scan; then the scan itself, straight into its types.
    #[derive(serde::Deserialize)]
    struct Outline {
        schema_version: Option<serde_json::Value>,
        endpoints: Option<serde::de::IgnoredAny>,
    }
    let outline: Outline = serde_json::from_str(&text).map_err(|e| match e.classify() {
        serde_json::error::Category::Eof => {
            bad(format!("truncated JSON (it ends at line {})", e.line()))
        }
        serde_json::error::Category::Data => bad("not a tlsmatrix scan (not a JSON object)".into()),
        _ => bad(format!("not JSON: {e}")),
    })?;
    let Some(version) = outline.schema_version.and_then(|v| v.as_u64()) else {
        return Err(bad("not a tlsmatrix scan (no schema_version field)".into()));
    };
    if outline.endpoints.is_none() {
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
    serde_json::from_str(&text).map_err(|e| bad(format!("not a valid tlsmatrix scan: {e}")))
}
