use std::io::{self, Write};

use comfy_table::Color;

use super::Format;
use super::csv::CsvOut;
use super::markdown::{self as md, Md};
use super::table::{line, new_table, paint, text, write_lines};
use crate::analysis::policy::{CheckReport, Compliance, Finding};

/// Write a policy check in a format.
pub fn write_check(
    c: &CheckReport,
    format: Format,
    look: super::Look,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Html => super::html::write_check(
            &super::html::CheckPage {
                check: c,
                scan: None,
            },
            &super::html::Meta::now(),
            w,
        ),
        Format::Prometheus => Err(super::no_such_format("a policy check alone", format)),
        Format::Json => super::write_json(c, w),
        Format::Csv => {
            let mut out = CsvOut::new(w);
            out.row(["target", "address", "port", "result", "version", "finding"])?;
            for e in &c.endpoints {
                let address = e.address.map(|a| a.to_string()).unwrap_or_default();
                let port = e.port.to_string();
                if e.findings.is_empty() {
                    out.row([e.target.as_str(), &address, &port, "pass", "", ""])?;
                }
                for f in &e.findings {
                    let result = f.kind.to_string();
                    out.row([
                        e.target.as_str(),
                        &address,
                        &port,
                        &result,
                        f.version.map(|v| v.key()).unwrap_or(""),
                        &finding_text(f),
                    ])?;
                }
            }
            out.finish()
        }
        Format::Markdown => {
            writeln!(w, "### Policy {}\n", md::code(&c.policy.name))?;
            if let Some(scan) = &c.scan {
                md::evidence(w, &[("scan checked", scan)])?;
            }
            md::line(
                w,
                "",
                &format!("Checked {} by {}.", c.checked_at, c.checked_by),
            )?;
            writeln!(w)?;
            md::header(w, &["Target", "Address", "Port", "Result", "Findings"])?;
            for e in &c.endpoints {
                let findings: Vec<String> = e.findings.iter().map(finding_text).collect();
                md::row(
                    w,
                    [
                        Md::text(e.target.as_str()),
                        Md::text(
                            e.address
                                .map(|a| a.to_string())
                                .unwrap_or_else(|| "-".into()),
                        ),
                        Md::text(e.port.to_string()),
                        Md::bold(e.result.to_string()),
                        Md::text(findings.join("; ")),
                    ],
                )?;
            }
            for x in &c.expired_exceptions {
                writeln!(w)?;
                md::line(w, "- expired: ", x)?;
            }
            if let Some(h) = hint(c) {
                writeln!(w)?;
                md::line(w, "", &h)?;
            }
            writeln!(w)?;
            md::line(w, "", &summary_line(c))
        }
        Format::Table => {
            line(w, &format!("policy {}", c.policy.name))?;
            let mut t = new_table(look);
            if look.wide {
                t.set_header(vec!["TARGET", "ADDRESS", "PORT", "RESULT", "FINDINGS"]);
            } else {
                t.set_header(vec!["ENDPOINT", "RESULT", "FINDINGS"]);
            }
            super::table::tighten(&mut t, look);
            for e in &c.endpoints {
                let findings: Vec<String> = e.findings.iter().map(finding_text).collect();
                let rc = match e.result {
                    Compliance::Pass => Color::Green,
                    Compliance::Fail => Color::Red,
                    Compliance::Inconclusive => Color::Yellow,
                };
                let address = e
                    .address
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "-".into());
                let mut row = if look.wide {
                    vec![text(&e.target), text(&address), text(e.port.to_string())]
                } else if e.target.contains(&address) {
                    vec![text(&e.target)]
                } else {
                    vec![text(format!("{} [{address}]", e.target))]
                };
                row.push(paint(text(e.result.to_string()), Some(rc), look.color));
                row.push(text(findings.join("; ")));
                t.add_row(row);
            }
            super::table::keep_first_column(&mut t, look);
            write_lines(&t, w)?;
            for x in &c.expired_exceptions {
                line(w, &format!("expired: {x}"))?;
            }
            if let Some(h) = hint(c) {
                line(w, &h)?;
            }
            line(w, &summary_line(c))
        }
    }
}

/// A finding as people read it, with the exception that covers it, if any.
fn finding_text(f: &Finding) -> String {
    match &f.excepted {
        Some(x) => format!(
            "{} [excepted by {} until {}: {}]",
            f.message, x.source, x.expires, x.reason
        ),
        None => f.message.clone(),
    }
}

/// When SSLv3 alone keeps a check from passing because this build cannot test it, say what to do.
pub fn hint(c: &CheckReport) -> Option<String> {
    let ssl3_only = c.result == Compliance::Inconclusive
        && c.endpoints.iter().all(|e| {
            e.findings.iter().all(|f| {
                f.kind != Compliance::Inconclusive
                    || (f.version == Some(crate::tls::TlsVersion::Ssl3)
                        && f.message.contains("could not be tested"))
            })
        });
    ssl3_only.then(|| {
        "hint: only SSLv3 is undecided, because this build cannot offer it; \
         `--require tls1.2 --forbid tls1.0,tls1.1` checks everything else"
            .to_string()
    })
}

/// `3 endpoints: 2 pass, 1 fail: FAIL`.
pub fn summary_line(c: &CheckReport) -> String {
    let count = |k: Compliance| c.endpoints.iter().filter(|e| e.result == k).count();
    let n = c.endpoints.len();
    let overall = match c.result {
        Compliance::Pass => "PASS",
        Compliance::Fail if !c.expired_exceptions.is_empty() => "FAIL (an exception has expired)",
        Compliance::Fail => "FAIL",
        Compliance::Inconclusive => "INCONCLUSIVE (some cells could not be decided; never a pass)",
    };
    format!(
        "{n} endpoint{}: {} pass, {} fail, {} inconclusive: {overall}",
        if n == 1 { "" } else { "s" },
        count(Compliance::Pass),
        count(Compliance::Fail),
        count(Compliance::Inconclusive)
    )
}
