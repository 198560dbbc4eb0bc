use std::io::{self, Write};

use serde::Serialize;

/// Any of the documented results (scan report, comparison, check, discovery, clients) as
/// pretty-printed JSON, ending in a newline.
pub fn write_json<T: Serialize + ?Sized>(value: &T, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, value)?;
    writeln!(w)
}
