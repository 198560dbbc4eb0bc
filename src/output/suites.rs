//! The suite pieces of the renderers (`scan --suites`): a table of counts per version under the
//! matrix, the lists in the notes, the CSV fields and the Markdown section.

use std::io::{self, Write};

use comfy_table::Color;

use super::markdown::line;
use super::table::{
    compact_endpoint, compact_header, endpoint_cells, keep_first_column, matrix_header, new_table,
    paint, say, several_addresses, text, tighten, write_lines,
};
use super::{Look, endpoint_name};
use crate::report::{Endpoint, Report, SuiteOrder, TlsVersion, VersionSuites};
use crate::tls::suites::SuiteClass;

/// Whether any endpoint has suite lists.
pub fn any(report: &Report) -> bool {
    report.endpoints.iter().any(|e| !e.suites.is_empty())
}

/// The versions with a suite list somewhere, in order.
pub fn versions(report: &Report) -> Vec<TlsVersion> {
    let mut vs: Vec<TlsVersion> = report
        .endpoints
        .iter()
        .flat_map(|e| e.suites.keys().copied())
        .collect();
    vs.sort();
    vs.dedup();
    vs
}

fn class_color(class: Option<SuiteClass>) -> Option<Color> {
    match class {
        Some(SuiteClass::Insecure) => Some(Color::Red),
        Some(SuiteClass::Weak) => Some(Color::Yellow),
        Some(SuiteClass::Ok) => Some(Color::Green),
        None => None,
    }
}

/// `server order` / `client order` / ``.
fn order_text(s: &VersionSuites) -> &'static str {
    match s.order {
        SuiteOrder::Server => "server order",
        SuiteOrder::Client => "client order",
        SuiteOrder::Unknown => "",
    }
}

/// The suites table under the matrix: per endpoint and version, `12 suites, 2 weak`; then one
/// note per endpoint and version naming the suites that are not ok, the groups, and what kept
/// a list from being whole.
pub fn write_table(report: &Report, look: Look, w: &mut dyn Write) -> io::Result<()> {
    if !any(report) {
        return Ok(());
    }
    let versions = versions(report);
    writeln!(w)?;
    let mut t = new_table(look);
    let several = several_addresses(report);
    t.set_header(if look.wide {
        matrix_header(&versions, "CONNECTIONS")
    } else {
        compact_header(&versions, "CONN")
    });
    tighten(&mut t, look);
    for e in report.endpoints.iter().filter(|e| !e.suites.is_empty()) {
        let mut row = if look.wide {
            endpoint_cells(&e.target, e.address, e.port)
        } else {
            vec![text(compact_endpoint(e, &several))]
        };
        for v in &versions {
            row.push(match e.suites.get(v) {
                Some(s) => paint(
                    text(if look.wide { s.summary() } else { s.short() }),
                    class_color(s.worst()),
                    look.color,
                ),
                None => text(""),
            });
        }
        row.push(text(
            e.connections.map(|c| c.to_string()).unwrap_or_default(),
        ));
        t.add_row(row);
    }
    keep_first_column(&mut t, look);
    write_lines(&t, w)?;
    if !look.wide {
        say(
            w,
            look,
            "suites per accepted version: how many, and how many of the worst class if not ok; \
             CONN = connections the enumeration took",
        )?;
    }
    for n in notes(report) {
        say(w, look, &format!("suites: {n}"))?;
    }
    Ok(())
}

/// One line per endpoint and version: its order, the suites that are not ok (by class), the
/// groups; problems and disagreements on lines of their own.
pub fn notes(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for e in &report.endpoints {
        for (v, s) in &e.suites {
            let mut parts = Vec::new();
            let order = order_text(s);
            if !order.is_empty() {
                parts.push(order.to_string());
            }
            for class in [SuiteClass::Insecure, SuiteClass::Weak] {
                let names: Vec<&str> = s
                    .suites
                    .iter()
                    .filter(|x| x.class == class)
                    .map(|x| x.name.as_str())
                    .collect();
                if !names.is_empty() {
                    parts.push(format!("{class}: {}", names.join(" ")));
                }
            }
            if !s.groups.is_empty() {
                let g: Vec<&str> = s.groups.iter().map(|g| g.name.as_str()).collect();
                parts.push(format!("groups {}", g.join(" ")));
            }
            if let Some(dh) = &s.dh_group {
                parts.push(format!("DH {}", dh.name));
            }
            if !parts.is_empty() {
                out.push(format!(
                    "{} {}: {}",
                    endpoint_name(e),
                    v.name(),
                    parts.join("; ")
                ));
            }
            for p in &s.problems {
                out.push(format!(
                    "{} {}: list incomplete: {p}",
                    endpoint_name(e),
                    v.name()
                ));
            }
            for d in &s.disagreements {
                out.push(format!(
                    "{} {}: the engines disagree: {d}",
                    endpoint_name(e),
                    v.name()
                ));
            }
        }
    }
    out
}

/// The CSV columns that describe a version's suites.
pub const CSV_HEADER: [&str; 6] = [
    "suites",
    "suite_order",
    "suites_worst",
    "groups",
    "signature_algorithms",
    "connections",
];

/// The suite columns of one endpoint and version (empty without a list): IANA names separated
/// by spaces, in the order of the list.
pub fn csv_fields(e: &Endpoint, v: TlsVersion) -> [String; 6] {
    let connections = e.connections.map(|c| c.to_string()).unwrap_or_default();
    let Some(s) = e.suites.get(&v) else {
        return [
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            connections,
        ];
    };
    let names = |it: Vec<&str>| it.join(" ");
    [
        names(s.suites.iter().map(|x| x.name.as_str()).collect()),
        s.order.key().to_string(),
        s.worst().map(|c| c.key().to_string()).unwrap_or_default(),
        names(s.groups.iter().map(|g| g.name.as_str()).collect()),
        names(
            s.signature_algorithms
                .iter()
                .map(|g| g.name.as_str())
                .collect(),
        ),
        connections,
    ]
}

/// The Markdown section: per endpoint and version, every accepted suite with its class (every
/// line escaped for Markdown).
pub fn write_markdown(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    if !any(report) {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "#### Cipher suites")?;
    writeln!(w)?;
    for e in &report.endpoints {
        for (v, s) in &e.suites {
            let order = match order_text(s) {
                "" => String::new(),
                o => format!(", {o}"),
            };
            line(
                w,
                "- ",
                &format!(
                    "{} {} ({}{order}):",
                    endpoint_name(e),
                    v.name(),
                    s.summary()
                ),
            )?;
            for x in &s.suites {
                line(w, "  - ", &format!("{} ({})", x.name, x.class))?;
            }
            let names = |l: &[crate::report::Named]| {
                l.iter()
                    .map(|g| g.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if !s.groups.is_empty() {
                line(w, "  - ", &format!("groups: {}", names(&s.groups)))?;
            }
            if let Some(dh) = &s.dh_group {
                line(w, "  - ", &format!("DH group: {}", dh.name))?;
            }
            if !s.signature_algorithms.is_empty() {
                line(
                    w,
                    "  - ",
                    &format!("signature algorithms: {}", names(&s.signature_algorithms)),
                )?;
            }
            for p in &s.problems {
                line(w, "  - ", &format!("list incomplete: {p}"))?;
            }
            for d in &s.disagreements {
                line(w, "  - ", &format!("the engines disagree: {d}"))?;
            }
        }
    }
    Ok(())
}
