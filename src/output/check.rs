use std::io::{self, Write};

use comfy_table::{Cell as TCell, Color};

use super::table::{new_table, paint, write_lines};
use super::{Format, certs};
use crate::analysis::policy::{CheckReport, Compliance, Finding};

/// Write a policy check in a format.
pub fn write_check(
    c: &CheckReport,
    format: Format,
    color: bool,
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
        Format::Json => super::write_json(c, w),
        Format::Csv => {
            let mut out = ::csv::Writer::from_writer(w);
            out.write_record(["target", "address", "port", "result", "version", "finding"])?;
            for e in &c.endpoints {
                let address = e.address.map(|a| a.to_string()).unwrap_or_default();
                let port = e.port.to_string();
                if e.findings.is_empty() {
                    out.write_record([e.target.as_str(), &address, &port, "pass", "", ""])?;
                }
                for f in &e.findings {
                    let result = f.kind.to_string();
                    out.write_record([
                        e.target.as_str(),
                        &address,
                        &port,
                        &result,
                        f.version.map(|v| v.key()).unwrap_or(""),
                        &certs::csv_field(&finding_text(f)),
                    ])?;
                }
            }
            out.flush()
        }
        Format::Markdown => {
            writeln!(w, "### Policy `{}`\n", c.policy.name)?;
            writeln!(
                w,
                "| Target | Address | Port | Result | Findings |\n|---|---|---|---|---|"
            )?;
            for e in &c.endpoints {
                let findings: Vec<String> = e.findings.iter().map(finding_text).collect();
                writeln!(
                    w,
                    "| {} | {} | {} | **{}** | {} |",
                    e.target.replace('|', "\\|"),
                    e.address
                        .map(|a| a.to_string())
                        .unwrap_or_else(|| "-".into()),
                    e.port,
                    e.result,
                    certs::clean(&findings.join("; ").replace('|', "\\|"))
                )?;
            }
            for x in &c.expired_exceptions {
                writeln!(w, "\n- expired: {}", x.replace('|', "\\|"))?;
            }
            if let Some(h) = hint(c) {
                writeln!(w, "\n{h}")?;
            }
            writeln!(w, "\n{}", summary_line(c))
        }
        Format::Table => {
            writeln!(w, "policy {}", c.policy.name)?;
            let mut t = new_table(color);
            t.set_header(vec!["TARGET", "ADDRESS", "PORT", "RESULT", "FINDINGS"]);
            for e in &c.endpoints {
                let findings: Vec<String> = e.findings.iter().map(finding_text).collect();
                let rc = match e.result {
                    Compliance::Pass => Color::Green,
                    Compliance::Fail => Color::Red,
                    Compliance::Inconclusive => Color::Yellow,
                };
                t.add_row(vec![
                    TCell::new(&e.target),
                    TCell::new(
                        e.address
                            .map(|a| a.to_string())
                            .unwrap_or_else(|| "-".into()),
                    ),
                    TCell::new(e.port),
                    paint(TCell::new(e.result), Some(rc), color),
                    TCell::new(certs::clean(&findings.join("; "))),
                ]);
            }
            write_lines(&t, w)?;
            for x in &c.expired_exceptions {
                writeln!(w, "expired: {x}")?;
            }
            if let Some(h) = hint(c) {
                writeln!(w, "{h}")?;
            }
            writeln!(w, "{}", summary_line(c))
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
