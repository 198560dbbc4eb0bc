use std::io::{self, Write};

use super::escape;
use super::{cell_text, certs, notes, summary_line, verdict_text};
use crate::report::Report;

/// A Markdown table cell. Its text is escaped when it is written, whoever made it.
pub enum Md {
    Text(String),
    Bold(String),
}

impl Md {
    pub fn text(s: impl Into<String>) -> Md {
        Md::Text(s.into())
    }

    pub fn bold(s: impl Into<String>) -> Md {
        Md::Bold(s.into())
    }
}

/// The header row and the line under it.
pub fn header(w: &mut dyn Write, names: &[&str]) -> io::Result<()> {
    row(w, names.iter().map(|n| Md::text(*n)))?;
    writeln!(w, "|{}", "---|".repeat(names.len()))
}

/// `| a | b |`, every cell escaped.
pub fn row(w: &mut dyn Write, cells: impl IntoIterator<Item = Md>) -> io::Result<()> {
    let cells: Vec<String> = cells
        .into_iter()
        .map(|c| match c {
            Md::Text(s) => escape::markdown(&s),
            Md::Bold(s) => format!("**{}**", escape::markdown(&s)),
        })
        .collect();
    writeln!(w, "| {} |", cells.join(" | "))
}

/// A paragraph or list item line: `prefix` is ours, `text` is escaped.
pub fn line(w: &mut dyn Write, prefix: &str, text: &str) -> io::Result<()> {
    writeln!(w, "{prefix}{}", escape::markdown(text))
}

/// The evidence a change ticket needs, one column per scan: file, label, scanner, times, the
/// tool and TLS library that made it.
pub fn evidence(
    w: &mut dyn Write,
    sides: &[(&str, &crate::analysis::diff::Side)],
) -> io::Result<()> {
    let mut names = vec![""];
    names.extend(sides.iter().map(|(n, _)| *n));
    header(w, &names)?;
    let field = |f: &dyn Fn(&crate::analysis::diff::Side) -> String, name: &str| {
        let mut cells = vec![Md::bold(name)];
        cells.extend(sides.iter().map(|(_, s)| Md::text(f(s))));
        cells
    };
    let or_dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    row(w, field(&|s| or_dash(&s.file), "file"))?;
    row(w, field(&|s| or_dash(&s.label), "label"))?;
    row(w, field(&|s| or_dash(&s.scanner), "scanner"))?;
    row(w, field(&|s| s.started.clone(), "started"))?;
    row(w, field(&|s| s.finished.clone(), "finished"))?;
    row(
        w,
        field(&|s| format!("{} ({})", s.tool, s.tls_library), "tool"),
    )?;
    writeln!(w)
}

/// Text as inline code: control characters escaped, and a fence of more backticks than the text
/// holds in a row, so the text cannot close it.
pub fn code(s: &str) -> String {
    let s = escape::term(s);
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// The matrix as a GitHub-flavoured Markdown table, for a change ticket.
pub fn write_markdown(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    let versions = &report.options.versions;
    let label = report
        .label
        .as_deref()
        .map(|l| format!(" {}", code(l)))
        .unwrap_or_default();
    writeln!(w, "### TLS version matrix{label}")?;
    writeln!(w)?;
    line(
        w,
        "",
        &format!(
            "Scanned {} to {} from {} with {}.",
            report.started,
            report.finished,
            report.scanner.as_deref().unwrap_or("an unknown host"),
            report.tls_library
        ),
    )?;
    writeln!(w)?;
    let mut names = vec!["Target", "Address", "Port"];
    names.extend(versions.iter().map(|v| v.name()));
    let with_certs = certs::any(report);
    if with_certs {
        names.push("Certificate");
    }
    names.push("Verdict");
    header(w, &names)?;
    for e in &report.endpoints {
        let mut cells = vec![
            Md::text(e.target.as_str()),
            Md::text(
                e.address
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "-".into()),
            ),
            Md::text(e.port.to_string()),
        ];
        for v in versions {
            cells.push(Md::text(
                e.versions.get(v).map(cell_text).unwrap_or_default(),
            ));
        }
        if with_certs {
            cells.push(Md::text(certs::column(e)));
        }
        cells.push(Md::bold(verdict_text(e, true)));
        row(w, cells)?;
    }
    super::suites::write_markdown(report, w)?;
    writeln!(w)?;
    line(w, "", &summary_line(report))?;
    let mut notes = notes(report, 200);
    notes.extend(certs::notes(report));
    let errors = &report.input_errors;
    if !notes.is_empty() || !errors.is_empty() {
        writeln!(w)?;
        for e in errors {
            line(w, "- input error: ", &e.to_string())?;
        }
        for n in notes {
            line(w, "- ", &n)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_code_cannot_be_closed_by_its_text() {
        assert_eq!(code("before"), "`before`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code("a\nb"), "`a\\u{a}b`");
    }
}
