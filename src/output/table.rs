use std::io::{self, Write};

use comfy_table::{Cell as TCell, Color, ContentArrangement, LineStyle, Table, TableStyle};

use super::escape;
use super::{Look, cell_text, cell_word, certs, legend, notes, summary_line, verdict_text};
use crate::report::{Cell, Endpoint, Outcome, Proof, Report, TlsVersion, Verdict};

/// A line under the header and nothing else: rows stay one line each, easy to read and to grep.
const STYLE: TableStyle =
    TableStyle::new().header_separator(LineStyle::none().fill('─').junction(' '));

/// The matrix for a terminal: one row per endpoint, one column per version, a verdict column,
/// then a legend, notes and a summary line. Compact (a word a cell, fitting `look.width`) unless
/// `look.wide` asks for every cell's detail.
pub fn write_table(report: &Report, look: Look, w: &mut dyn Write) -> io::Result<()> {
    let mut t = new_table(look);
    let versions = &report.options.versions;
    let with_certs = certs::any(report);
    let mut header = if look.wide {
        matrix_header(versions, "VERDICT")
    } else {
        compact_header(versions, "VERDICT")
    };
    if with_certs {
        header.insert(header.len() - 1, TCell::new("CERT"));
    }
    t.set_header(header);
    tighten(&mut t, look);
    let mut words: Vec<&str> = Vec::new();
    let several = several_addresses(report);
    for e in &report.endpoints {
        let mut row = if look.wide {
            endpoint_cells(&e.target, e.address, e.port)
        } else {
            vec![text(compact_endpoint(e, &several))]
        };
        for v in versions {
            row.push(match e.versions.get(v) {
                Some(c) => {
                    let shown = if look.wide {
                        cell_text(c)
                    } else {
                        let word = cell_word(c);
                        if !words.contains(&word) {
                            words.push(word);
                        }
                        word.to_string()
                    };
                    paint(text(shown), cell_color(*v, c, e), look.color)
                }
                None => text(""),
            });
        }
        if with_certs {
            row.push(paint(
                text(certs::column(e)),
                certs::column_color(e),
                look.color,
            ));
        }
        row.push(paint(
            text(verdict_text(e, look.wide)),
            verdict_color(e.verdict),
            look.color,
        ));
        t.add_row(row);
    }
    keep_first_column(&mut t, look);
    write_lines(&t, w)?;
    if let Some(l) = legend(&words) {
        say(w, look, &l)?;
    }
    super::suites::write_table(report, look, w)?;
    for e in &report.input_errors {
        say(w, look, &format!("input error: {e}"))?;
    }
    for e in &report.warnings {
        say(w, look, &format!("warning: {e}"))?;
    }
    for x in &report.excluded {
        let at = match x.address {
            Some(a) => format!(" [{a}]:{}", x.port),
            None => String::new(),
        };
        say(
            w,
            look,
            &format!("excluded: {}{at} (--exclude {})", x.target, x.pattern),
        )?;
    }
    for n in notes(report, 50) {
        say(w, look, &format!("note: {n}"))?;
    }
    for n in certs::notes(report) {
        say(w, look, &format!("note: {n}"))?;
    }
    say(w, look, &summary_line(report))
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

/// The compact matrix's header: ENDPOINT, a short column name per version, then `last`.
pub fn compact_header(versions: &[TlsVersion], last: &str) -> Vec<TCell> {
    let mut header = vec![text("ENDPOINT")];
    header.extend(
        versions
            .iter()
            .map(|v| text(v.name().trim_start_matches("TLS "))),
    );
    header.push(text(last));
    header
}

/// Targets that resolved to more than one address: their rows name the address too.
pub fn several_addresses(report: &Report) -> std::collections::HashSet<String> {
    let mut seen = std::collections::HashMap::<&str, usize>::new();
    for e in &report.endpoints {
        *seen.entry(e.target.as_str()).or_default() += 1;
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(t, _)| t.to_string())
        .collect()
}

/// An endpoint in one cell: the target as written, with its address where the target has
/// several, or `(no address)` where its name did not resolve.
pub fn compact_endpoint(e: &Endpoint, several: &std::collections::HashSet<String>) -> String {
    match e.address {
        None => format!("{} (no address)", e.target),
        Some(a) if several.contains(&e.target) => format!("{} [{a}]", e.target),
        Some(_) => e.target.clone(),
    }
}

/// A line under a table: escaped, and in the compact table wrapped to its width.
pub fn say(w: &mut dyn Write, look: Look, s: &str) -> io::Result<()> {
    if look.wide {
        return line(w, s);
    }
    for part in wrap(&escape::term(s), usize::from(look.width)) {
        writeln!(w, "{part}")?;
    }
    Ok(())
}

/// Split a long line at spaces so that it fits `width`.
pub fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in s.split(' ') {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut cur));
            cur.push_str("  ");
        } else if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The first three cells of a matrix row.
pub fn endpoint_cells(target: &str, address: Option<std::net::IpAddr>, port: u16) -> Vec<TCell> {
    vec![
        text(target),
        text(address.map(|a| a.to_string()).unwrap_or_else(|| "-".into())),
        text(port.to_string()),
    ]
}

/// An empty table in the house style: as wide as it takes when `look.wide`, else no wider than
/// `look.width`, long cells wrapping within their column.
pub fn new_table(look: Look) -> Table {
    let mut t = Table::new();
    t.load_style(STYLE);
    if look.wide {
        t.set_content_arrangement(ContentArrangement::Disabled);
    } else {
        t.set_content_arrangement(ContentArrangement::Dynamic);
        t.set_width(look.width);
    }
    if look.color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    t
}

/// In the compact table, one space between columns instead of two: room for the endpoint.
pub fn tighten(t: &mut Table, look: Look) {
    if !look.wide {
        for c in t.column_iter_mut() {
            c.set_padding((0, 1));
        }
    }
}

/// Before writing a compact table: the short columns (versions, certificate, verdict) keep
/// their words whole, and the first column (the endpoint) wraps when the width runs out.
pub fn keep_first_column(t: &mut Table, look: Look) {
    if look.wide {
        return;
    }
    let widths = t.column_max_content_widths();
    for (i, w) in widths.iter().enumerate().skip(1) {
        if let Some(c) = t.column_mut(i) {
            c.set_constraint(comfy_table::ColumnConstraint::LowerBoundary(
                comfy_table::Width::Fixed((*w).min(24) + 1),
            ));
        }
    }
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

/// Green is what a TLS 1.2-only world wants, red what it does not, yellow what is unknown. A
/// refused new version is red only when no new version works: a DC without TLS 1.3 (Server 2016
/// and 2019 have none) is fine under a TLS 1.2-only goal, so its refused TLS 1.3 is neutral.
fn cell_color(v: TlsVersion, c: &Cell, e: &Endpoint) -> Option<Color> {
    let another_new_works = || {
        e.versions
            .iter()
            .any(|(o, c)| *o != v && !o.is_legacy() && c.proof() == Proof::Accepted { works: true })
    };
    match (&c.outcome, v.is_legacy()) {
        (Outcome::Accepted { .. }, false) | (Outcome::Refused(_), true) => Some(Color::Green),
        (Outcome::Refused(_), false) if another_new_works() => None,
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
