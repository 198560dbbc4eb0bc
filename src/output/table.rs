use std::io::{self, Write};

use comfy_table::{Cell as TCell, Color, ContentArrangement, LineStyle, Table, TableStyle};

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
                Some(c) => paint(TCell::new(cell_text(c)), cell_color(*v, c), color),
                None => TCell::new(""),
            });
        }
        if with_certs {
            row.push(paint(
                TCell::new(certs::column(e)),
                certs::column_color(e),
                color,
            ));
        }
        row.push(paint(
            TCell::new(verdict_text(e)),
            verdict_color(e.verdict),
            color,
        ));
        t.add_row(row);
    }
    write_lines(&t, w)?;
    super::suites::write_table(report, color, w)?;
    for e in &report.input_errors {
        writeln!(w, "input error: {e}")?;
    }
    for x in &report.excluded {
        let at = match x.address {
            Some(a) => format!(" [{a}]:{}", x.port),
            None => String::new(),
        };
        writeln!(w, "excluded: {}{at} (--exclude {})", x.target, x.pattern)?;
    }
    for n in notes(report, 50) {
        writeln!(w, "note: {n}")?;
    }
    for n in certs::notes(report) {
        writeln!(w, "note: {n}")?;
    }
    writeln!(w, "{}", summary_line(report))
}

/// TARGET, ADDRESS, PORT, a column per version, then `last`.
pub fn matrix_header(versions: &[TlsVersion], last: &str) -> Vec<TCell> {
    let mut header = vec![
        TCell::new("TARGET"),
        TCell::new("ADDRESS"),
        TCell::new("PORT"),
    ];
    header.extend(versions.iter().map(|v| TCell::new(v.name())));
    header.push(TCell::new(last));
    header
}

/// The first three cells of a matrix row.
pub fn endpoint_cells(target: &str, address: Option<std::net::IpAddr>, port: u16) -> Vec<TCell> {
    vec![
        TCell::new(target),
        TCell::new(address.map(|a| a.to_string()).unwrap_or_else(|| "-".into())),
        TCell::new(port),
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
