use std::io::{self, Write};

use crate::model::Report;

/// The report as pretty-printed JSON (the documented schema), ending in a newline.
pub fn write_json(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, report)?;
    writeln!(w)
}
