use std::io::{self, Write};

use comfy_table::Color;

use super::csv::CsvOut;
use super::markdown::{self as md, Md};
use super::table::{endpoint_cells, line, matrix_header, new_table, paint, text, write_lines};
use super::{Format, certs};
use crate::analysis::diff::{
    Change, Diff, EndpointDiff, EndpointResult, Transition, not_verified, passes, summary_line,
};
use crate::report::{Status, TlsVersion};

/// Write a before/after comparison in a format.
pub fn write_diff(
    d: &Diff,
    format: Format,
    look: super::Look,
    allow_inconclusive: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Prometheus => Err(super::no_such_format("a comparison", format)),
        Format::Json => super::write_json(d, w),
        Format::Csv => csv(d, w),
        Format::Markdown => markdown(d, allow_inconclusive, w),
        Format::Table => table(d, look, allow_inconclusive, w),
        Format::Html => super::html::write_diff(
            &super::html::DiffPage {
                diff: d,
                before: None,
                after: None,
                allow_inconclusive,
            },
            &super::html::Meta::now(),
            w,
        ),
    }
}

fn versions(d: &Diff) -> Vec<TlsVersion> {
    let mut vs: Vec<TlsVersion> = d
        .endpoints
        .iter()
        .flat_map(|e| e.versions.keys().copied())
        .collect();
    vs.sort();
    vs.dedup();
    vs
}

fn cell_text(c: &Change) -> String {
    let word = |saved: &str, status: Option<Status>| {
        if !saved.is_empty() {
            saved.to_string()
        } else {
            // Read back from JSON: only the status is known.
            status.map_or("-".into(), |s| s.key().replace('_', " "))
        }
    };
    format!(
        "{} → {}",
        word(&c.short.0, c.before),
        word(&c.short.1, c.after)
    )
}

fn side_name(s: &crate::analysis::diff::Side, fallback: &str) -> String {
    s.label
        .clone()
        .or_else(|| s.file.clone())
        .unwrap_or_else(|| fallback.to_string())
}

fn endpoint_text(e: &EndpointDiff) -> String {
    match e.address {
        Some(a) => format!("{} [{a}]:{}", e.target, e.port),
        None => e.target.clone(),
    }
}

/// The transitions that need a reader's attention: one line an endpoint and reason, the
/// versions that share a reason named together.
pub(crate) fn findings(d: &Diff) -> Vec<String> {
    let mut out: Vec<String> = d
        .expired_exceptions
        .iter()
        .map(|x| format!("expired: {x}"))
        .collect();
    for e in &d.endpoints {
        let name = endpoint_text(e);
        if let Some(x) = &e.excepted {
            out.push(format!(
                "excepted: {name}: {} ({} until {}: {})",
                e.result.key().replace('_', " "),
                x.source,
                x.expires,
                x.reason
            ));
            continue;
        }
        match e.result {
            EndpointResult::Removed => out.push(format!(
                "removed: {name}: in the before scan only, not verified after"
            )),
            EndpointResult::Added => out.push(format!("added: {name}: in the after scan only")),
            _ => {}
        }
        if let Some(c) = &e.certificate {
            let what = if c.became_invalid {
                "certificate regression"
            } else {
                "certificate"
            };
            out.push(certs::clean(&format!(
                "{what}: {}: {}",
                endpoint_text(e),
                c.describe()
            )));
        }
        for n in &e.notes {
            out.push(format!("note: {name}: {n}"));
        }
        for line in crate::analysis::suites::change_lines(&e.suites) {
            out.push(format!("suites: {name}: {line}"));
        }
        if e.unreachable_both() {
            let why = e
                .versions
                .values()
                .find_map(|c| c.after_detail.clone())
                .unwrap_or_default();
            out.push(format!(
                "not verified: {name}: unreachable before and after ({why})"
            ));
            continue;
        }
        // Versions with the same transition and the same details on one line.
        let mut groups: Vec<(String, Vec<&'static str>)> = Vec::new();
        for (v, c) in &e.versions {
            if !c.is_problem(*v) && c.excepted.is_none() {
                continue;
            }
            let text = match &c.excepted {
                Some(x) => format!(
                    "excepted ({}): {} until {}: {}",
                    c.transition.key(),
                    x.source,
                    x.expires,
                    x.reason
                ),
                None => format!(
                    "{}: {} → {}",
                    c.transition.key(),
                    c.before_detail.as_deref().unwrap_or("not tested"),
                    c.after_detail.as_deref().unwrap_or("not tested"),
                ),
            };
            match groups.iter_mut().find(|(t, _)| *t == text) {
                Some((_, vs)) => vs.push(v.name()),
                None => groups.push((text, vec![v.name()])),
            }
        }
        for (text, vs) in groups {
            let (kind, rest) = text.split_once(": ").unwrap_or((&text, ""));
            out.push(format!("{kind}: {name} {}: {rest}", vs.join(", ")));
        }
    }
    out
}

pub(crate) fn verdict_line(d: &Diff, allow_inconclusive: bool) -> String {
    if !passes(d, allow_inconclusive) {
        return "FAIL: see the transitions above".to_string();
    }
    let unverified = not_verified(d);
    let excepted = d
        .endpoints
        .iter()
        .filter(|e| e.result == EndpointResult::Excepted)
        .count();
    let mut line = if unverified.is_empty() {
        "PASS: no regression, no old version accepted after".to_string()
    } else {
        let n = d.endpoints.len();
        let names: Vec<String> = unverified.iter().map(|e| endpoint_text(e)).collect();
        format!(
            "PASS for {} of {n} endpoints; {} not verified (--allow-inconclusive): {}",
            n - unverified.len(),
            unverified.len(),
            names.join(", ")
        )
    };
    if excepted > 0 {
        line.push_str(&format!(
            "; {excepted} endpoint{} passed by exception (listed above)",
            if excepted == 1 { "" } else { "s" }
        ));
    }
    line
}

fn transition_color(t: Transition, legacy: bool) -> Option<Color> {
    match t {
        Transition::Enforced => Some(Color::Green),
        Transition::Regression | Transition::StillAccepted => Some(Color::Red),
        Transition::NewlyAccepted if legacy => Some(Color::Red),
        Transition::NewlyAccepted => Some(Color::Green),
        Transition::Inconclusive => Some(Color::Yellow),
        Transition::Unchanged | Transition::NotTestable => None,
    }
}

/// A cell's word in the compact matrix, as the scan's matrix writes it.
fn compact(word: &str) -> &str {
    match word {
        "yes, no LDAP" => "yes*",
        "declined" | "-" => "—",
        "unreachable" => "unreach",
        other => other,
    }
}

fn table(
    d: &Diff,
    look: super::Look,
    allow_inconclusive: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    let color = look.color;
    line(
        w,
        &format!(
            "{} → {}",
            side_name(&d.before, "before"),
            side_name(&d.after, "after")
        ),
    )?;
    let vs = versions(d);
    let mut t = new_table(look);
    if look.wide {
        t.set_header(matrix_header(&vs, "RESULT"));
    } else {
        t.set_header(super::table::compact_header(&vs, "RESULT"));
    }
    super::table::tighten(&mut t, look);
    for e in &d.endpoints {
        let mut row = if look.wide {
            endpoint_cells(&e.target, e.address, e.port)
        } else {
            let rows_of_target = d.endpoints.iter().filter(|o| o.target == e.target).count();
            match e.address {
                Some(a) if rows_of_target > 1 => vec![text(format!("{} [{a}]", e.target))],
                None => vec![text(format!("{} (no address)", e.target))],
                Some(_) => vec![text(&e.target)],
            }
        };
        for v in &vs {
            row.push(match e.versions.get(v) {
                Some(c) => {
                    let shown = if look.wide {
                        cell_text(c)
                    } else {
                        let full = cell_text(c);
                        let (b, a) = full.split_once(" → ").unwrap_or((&full, ""));
                        let (b, a) = (compact(b), compact(a));
                        if b == a {
                            b.to_string()
                        } else {
                            format!("{b}→{a}")
                        }
                    };
                    paint(
                        text(shown),
                        transition_color(c.transition, v.is_legacy()),
                        color,
                    )
                }
                None => text(""),
            });
        }
        let rc = match e.result {
            EndpointResult::Regression | EndpointResult::StillAccepted => Some(Color::Red),
            EndpointResult::Inconclusive | EndpointResult::Removed => Some(Color::Yellow),
            EndpointResult::Excepted => Some(Color::Blue),
            EndpointResult::Enforced | EndpointResult::Improved => Some(Color::Green),
            _ => None,
        };
        row.push(paint(text(e.result.key()), rc, color));
        t.add_row(row);
    }
    super::table::keep_first_column(&mut t, look);
    write_lines(&t, w)?;
    if !look.wide {
        super::table::say(
            w,
            look,
            "legend: a cell is before→after, or one word where nothing changed",
        )?;
    }
    for f in findings(d) {
        super::table::say(w, look, &f)?;
    }
    super::table::say(w, look, &summary_line(d))?;
    super::table::say(w, look, &verdict_line(d, allow_inconclusive))
}

fn markdown(d: &Diff, allow_inconclusive: bool, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "### TLS before/after: {} → {}\n",
        md::code(&side_name(&d.before, "before")),
        md::code(&side_name(&d.after, "after"))
    )?;
    md::evidence(w, &[("before", &d.before), ("after", &d.after)])?;
    let vs = versions(d);
    let mut names = vec!["Target", "Address", "Port"];
    names.extend(vs.iter().map(|v| v.name()));
    names.push("Result");
    md::header(w, &names)?;
    for e in &d.endpoints {
        let mut cells = vec![
            Md::text(e.target.as_str()),
            Md::text(
                e.address
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "-".into()),
            ),
            Md::text(e.port.to_string()),
        ];
        for v in &vs {
            cells.push(Md::text(
                e.versions
                    .get(v)
                    .map(|c| format!("{} ({})", cell_text(c), c.transition.key()))
                    .unwrap_or_default(),
            ));
        }
        cells.push(Md::bold(e.result.key().replace('_', " ")));
        md::row(w, cells)?;
    }
    writeln!(w)?;
    for f in findings(d) {
        md::line(w, "- ", &f)?;
    }
    writeln!(w)?;
    md::line(w, "", &summary_line(d))?;
    writeln!(w)?;
    writeln!(
        w,
        "**{}**",
        super::escape::markdown(&verdict_line(d, allow_inconclusive))
    )
}

fn csv(d: &Diff, w: &mut dyn Write) -> io::Result<()> {
    let mut out = CsvOut::new(w);
    out.row([
        "target",
        "address",
        "port",
        "protocol",
        "version",
        "before",
        "after",
        "transition",
        "before_detail",
        "after_detail",
        "result",
    ])?;
    for e in &d.endpoints {
        let address = e.address.map(|a| a.to_string()).unwrap_or_default();
        let port = e.port.to_string();
        if e.versions.is_empty() {
            out.row([
                e.target.as_str(),
                &address,
                &port,
                e.protocol.key(),
                "",
                "",
                "",
                "",
                "",
                "",
                e.result.key(),
            ])?;
        }
        if let Some(c) = &e.certificate {
            let fp = |s: &Option<crate::analysis::certs::CertSide>| {
                s.as_ref().map(|s| s.sha256.clone()).unwrap_or_default()
            };
            out.row([
                e.target.as_str(),
                &address,
                &port,
                e.protocol.key(),
                "certificate",
                &fp(&c.before),
                &fp(&c.after),
                if c.became_invalid {
                    "certificate_regression"
                } else {
                    "certificate_changed"
                },
                "",
                &certs::csv_field(&c.describe()),
                e.result.key(),
            ])?;
        }
        for (v, c) in &e.suites {
            let names = |l: &[crate::analysis::suites::NamedSuite]| {
                l.iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            out.row([
                e.target.as_str(),
                &address,
                &port,
                e.protocol.key(),
                v.key(),
                "",
                "",
                "suites_changed",
                &format!("removed: {}", names(&c.removed)),
                &format!("added: {}", names(&c.added)),
                e.result.key(),
            ])?;
        }
        for (v, c) in &e.versions {
            out.row([
                e.target.as_str(),
                &address,
                &port,
                e.protocol.key(),
                v.key(),
                c.before.map(|s| s.key()).unwrap_or(""),
                c.after.map(|s| s.key()).unwrap_or(""),
                c.transition.key(),
                c.before_detail.as_deref().unwrap_or(""),
                c.after_detail.as_deref().unwrap_or(""),
                e.result.key(),
            ])?;
        }
    }
    out.finish()
}
