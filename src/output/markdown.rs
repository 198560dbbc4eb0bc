use std::io::{self, Write};

use super::{cell_text, certs, notes, summary_line, verdict_text};
use crate::report::Report;

/// The matrix as a GitHub-flavoured Markdown table, for a change ticket.
pub fn write_markdown(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    let versions = &report.options.versions;
    let label = report
        .label
        .as_deref()
        .map(|l| format!(" `{}`", l.replace('`', "'")))
        .unwrap_or_default();
    writeln!(w, "### TLS version matrix{label}")?;
    writeln!(w)?;
    writeln!(
        w,
        "Scanned {} to {} from {} with {}.",
        report.started,
        report.finished,
        esc(report.scanner.as_deref().unwrap_or("an unknown host")),
        esc(&report.tls_library)
    )?;
    writeln!(w)?;
    let mut header = vec!["Target".to_string(), "Address".into(), "Port".into()];
    header.extend(versions.iter().map(|v| v.name().to_string()));
    let with_certs = certs::any(report);
    if with_certs {
        header.push("Certificate".into());
    }
    header.push("Verdict".into());
    writeln!(w, "| {} |", header.join(" | "))?;
    writeln!(w, "|{}", "---|".repeat(header.len()))?;
    for e in &report.endpoints {
        let mut row = vec![
            esc(&e.target),
            e.address
                .map(|a| a.to_string())
                .unwrap_or_else(|| "-".into()),
            e.port.to_string(),
        ];
        for v in versions {
            row.push(e.versions.get(v).map(cell_text).unwrap_or_default());
        }
        if with_certs {
            row.push(certs::column(e));
        }
        row.push(format!("**{}**", verdict_text(e)));
        writeln!(w, "| {} |", row.join(" | "))?;
    }
    super::suites::write_markdown(report, esc, w)?;
    writeln!(w)?;
    writeln!(w, "{}", summary_line(report))?;
    let mut notes = notes(report, 200);
    notes.extend(certs::notes(report));
    let errors = &report.input_errors;
    if !notes.is_empty() || !errors.is_empty() {
        writeln!(w)?;
        for e in errors {
            writeln!(w, "- input error: {}", esc(&e.to_string()))?;
        }
        for n in notes {
            writeln!(w, "- {}", esc(&n))?;
        }
    }
    Ok(())
}

fn esc(s: &str) -> String {
    certs::clean(&s.replace('|', "\\|").replace('\n', " "))
}
