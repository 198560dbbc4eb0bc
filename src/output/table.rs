use std::io::{self, Write};

use comfy_table::{Cell as TCell, Color, ContentArrangement, LineStyle, Table, TableStyle};

use super::escape;
use super::{cell_text, certs, notes, summary_line, verdict_text};
use crate::report::{Cell, Outcome, Report, TlsVersion, Verdict};

/// A line under the header and nothing else: rows stay one line each, easy to read and to grep.
const STYLE: TableStyle =
    TableStyle::new().header_separator(LineStyle::none().fill('─').junction(' '));

/// The matrix for a terminal: one row per endpoint, one column per version, a verdict column,
/// then notes and a summary line.
pub fn write_table(report: &Report, color: bool, w: &mut dyn Write) -> io::Result<()> {
    let mut t = new_table(color);
    let versions = &report.options.versions;
    let with_certs = certs::any(report);
    let mut header = matrix_header(versions, "VERDICT");
    if with_certs {
        header.insert(header.len() - 1, TCell::new("CERT"));
    }
    t.set_header(header);
    for e in &report.endpoints {
        let mut row = endpoint_cells(&e.target, e.address, e.port);
        for v in versions {
            row.push(match e.versions.get(v) {
                Some(c) => paint(text(cell_text(c)), cell_color(*v, c), color),
                None => text(""),
            });
        }
        if with_certs {
            row.push(paint(text(certs::column(e)), certs::column_color(e), color));
        }
        row.push(paint(
            text(verdict_text(e)),
            verdict_color(e.verdict),
            color,
        ));
        t.add_row(row);
    }
    write_lines(&t, w)?;
    for e in &report.input_errors {
        line(w, &format!("input error: {e}"))?;
    }
    for e in &report.warnings {
        writeln!(w, "warning: {e}")?;
    }
    for x in &report.excluded {
        let at = match x.address {
            Some(a) => format!(" [{a}]:{}", x.port),
            None => String::new(),
        };
        line(
            w,
            &format!("excluded: {}{at} (--exclude {})", x.target, x.pattern),
        )?;
    }
    for n in notes(report, 50) {
        line(w, &format!("note: {n}"))?;
    }
    for n in certs::notes(report) {
        line(w, &format!("note: {n}"))?;
    }
    line(w, &summary_line(report))
}

/// A table cell holding text that may come from outside: control characters escaped.
pub fn text(s: impl AsRef<str>) -> TCell {
    TCell::new(escape::term(s.as_ref()))
}

/// A line of text for the terminal, control characters escaped.
pub fn line(w: &mut dyn Write, s: &str) -> io::Result<()> {
    writeln!(w, "{}", escape::term(s))
}

/// TARGET, ADDRESS, PORT, a column per version, then `last`.
pub fn matrix_header(versions: &[TlsVersion], last: &str) -> Vec<TCell> {
    let mut header = vec![text("TARGET"), text("ADDRESS"), text("PORT")];
    header.extend(versions.iter().map(|v| text(v.name())));
    header.push(text(last));
    header
}

/// The first three cells of a matrix row.
pub fn endpoint_cells(target: &str, address: Option<std::net::IpAddr>, port: u16) -> Vec<TCell> {
    vec![
        text(target),
        text(address.map(|a| a.to_string()).unwrap_or_else(|| "-".into())),
        text(port.to_string()),
    ]
}

/// An empty table in the house style.
pub fn new_table(color: bool) -> Table {
    let mut t = Table::new();
    t.load_style(STYLE);
    t.set_content_arrangement(ContentArrangement::Disabled);
    if color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    t
}

/// Write a table without trailing blanks.
pub fn write_lines(t: &Table, w: &mut dyn Write) -> io::Result<()> {
    for line in t.lines() {
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

pub fn paint(cell: TCell, color: Option<Color>, enabled: bool) -> TCell {
    match (color, enabled) {
        (Some(c), true) => cell.fg(c),
        _ => cell,
    }
}

/// Green is what a TLS 1.2-only world wants, red what it does not, yellow what is unknown.
fn cell_color(v: TlsVersion, c: &Cell) -> Option<Color> {
    match (&c.outcome, v.is_legacy()) {
        (Outcome::Accepted { .. }, false) | (Outcome::Refused(_), true) => Some(Color::Green),
        (Outcome::Accepted { .. }, true) | (Outcome::Refused(_), false) => Some(Color::Red),
        (Outcome::NotTestable(_), _) => Some(Color::DarkGrey),
        _ => Some(Color::Yellow),
    }
}

fn verdict_color(v: Verdict) -> Option<Color> {
    match v {
        Verdict::Ready => Some(Color::Green),
        Verdict::Legacy | Verdict::Tls12Missing | Verdict::NoTls => Some(Color::Red),
        Verdict::Unreachable | Verdict::Incomplete => Some(Color::Yellow),
    }
}
