//! The prediction: a matrix of clients and endpoints, then the clients that will break, why and
//! what to change; and the built-in profiles with their sources.

use std::io::{self, Write};

use comfy_table::Color;

use super::csv::CsvOut;
use super::markdown::{self as md, Md};
use super::table::{new_table, paint, say, text, tighten, write_lines};
use super::{Format, Look};
use crate::predict::profiles::Profile;
use crate::predict::{Cell, Client, Endpoint, Method, Mode, Origin, PredictReport, Prediction};
use crate::tls::alert_name;

/// How the matrix names an endpoint: the target as written, and the address when the target
/// names a host.
pub fn endpoint_label(e: &Endpoint) -> String {
    match e.address {
        Some(a) if a.to_string() != e.host => format!("{} [{a}]", e.target),
        _ => e.target.clone(),
    }
}

/// The client as a row label: its address or profile name.
fn client_label(c: &Client) -> String {
    c.name.clone()
}

/// Server names for people: `dc1.corp.test` or `-`.
pub(crate) fn client_sni(c: &Client) -> String {
    match &c.origin {
        Origin::Observed { sni, .. } if !sni.is_empty() => sni.join(" "),
        _ => "-".into(),
    }
}

/// What a cell shows in the matrix.
pub fn cell_short(c: &Cell) -> String {
    match &c.prediction {
        Prediction::Works { version, .. } => format!("works {version}"),
        p => p.short(),
    }
}

fn cell_color(p: &Prediction) -> Color {
    match p {
        Prediction::Works { .. } => Color::Green,
        Prediction::Breaks { .. } => Color::Red,
        Prediction::Unknown { .. } => Color::Yellow,
    }
}

/// `3 of 12 clients will break; 2 cells unknown; live, with the versions below TLS 1.2
/// removed`.
pub fn predict_summary(r: &PredictReport) -> String {
    let breaking = r.breaking().len();
    let mut s = format!(
        "{breaking} of {} client{} will break",
        r.clients.len(),
        if r.clients.len() == 1 { "" } else { "s" }
    );
    if r.mode == Mode::AsIs {
        s = format!(
            "{breaking} of {} client{} break on the endpoints as they are",
            r.clients.len(),
            if r.clients.len() == 1 { "" } else { "s" }
        );
    }
    let unknown = r.unknown();
    if unknown > 0 {
        s.push_str(&format!(
            "; {unknown} cell{} unknown",
            if unknown == 1 { "" } else { "s" }
        ));
    }
    match (&r.scan, r.mode) {
        (Some(scan), Mode::Tls12Only) => s.push_str(&format!(
            "; computed from the saved scan {scan}, with the clients' versions below TLS 1.2 \
             removed (offline: no hello was sent)"
        )),
        (Some(scan), Mode::AsIs) => s.push_str(&format!(
            "; computed from the saved scan {scan}, the hellos as they are (offline: no hello \
             was sent)"
        )),
        (None, Mode::Tls12Only) => {
            s.push_str("; each client's own hello replayed with its versions below TLS 1.2 removed")
        }
        (None, Mode::AsIs) => s.push_str("; each client's own hello replayed as it is (--as-is)"),
    }
    if r.scan.is_none() && r.cells.iter().any(|c| c.method == Method::Computed) {
        s.push_str(" (clients without TLS 1.2 computed, not sent)");
    }
    if r.own_probes > 0 {
        s.push_str(&format!(
            "; {} connection{} of tlsmatrix's own probes left out of the captures",
            r.own_probes,
            if r.own_probes == 1 { "" } else { "s" }
        ));
    }
    if !r.input_errors.is_empty() {
        s.push_str(&format!(
            "; {} input{} could not be used",
            r.input_errors.len(),
            if r.input_errors.len() == 1 { "" } else { "s" }
        ));
    }
    if !r.complete {
        s.push_str("; interrupted, unfinished cells unknown");
    }
    s
}

/// The lines of the break list: one per client, its endpoints and reasons, what to change.
pub fn break_lines(r: &PredictReport) -> Vec<String> {
    let mut out = Vec::new();
    for b in r.breaking() {
        let c = b.client;
        let who = match &c.origin {
            Origin::Observed { address, .. } => format!(
                "{address} (JA4 {}, JA3 {}, SNI {})",
                c.ja4,
                c.ja3,
                client_sni(c)
            ),
            Origin::Profile { title, .. } => format!("{} ({title}; JA4 {})", c.name, c.ja4),
        };
        let mut parts = Vec::new();
        let mut changes: Vec<String> = Vec::new();
        for cell in &b.cells {
            if let Prediction::Breaks {
                reasons,
                alert,
                change,
                ..
            } = &cell.prediction
            {
                let reason = reasons
                    .iter()
                    .map(|r| r.text())
                    .collect::<Vec<_>>()
                    .join(", ");
                let alert = alert
                    .map(|a| format!(" (alert {}({a}))", alert_name(a)))
                    .unwrap_or_default();
                parts.push(format!(
                    "{}: {reason}{alert}",
                    endpoint_label(&r.endpoints[cell.endpoint])
                ));
                if !changes.contains(change) {
                    changes.push(change.clone());
                }
            }
        }
        out.push(format!(
            "{who}: {}; change: {}",
            parts.join("; "),
            changes.join("; ")
        ));
    }
    out
}

/// Fallbacks and unknown cells, for the notes under the matrix.
pub(crate) fn notes(r: &PredictReport) -> Vec<String> {
    let mut out = Vec::new();
    for c in &r.clients {
        if let Origin::Observed {
            fallbacks,
            fallback_only,
            ..
        } = &c.origin
        {
            for f in fallbacks {
                out.push(format!(
                    "{} ({}) retries with {} ({}) after a failure: a fallback, shown under the hello it retries",
                    c.name, c.ja4, f.ja4, f.highest
                ));
            }
            if *fallback_only {
                out.push(format!(
                    "{} ({}) sends TLS_FALLBACK_SCSV: it is itself a retry after a failed first attempt the captures do not hold",
                    c.name, c.ja4
                ));
            }
        }
    }
    for cell in &r.cells {
        match &cell.prediction {
            Prediction::Unknown { detail } => out.push(format!(
                "{} on {}: unknown: {detail}",
                client_label(&r.clients[cell.client]),
                endpoint_label(&r.endpoints[cell.endpoint])
            )),
            Prediction::Works {
                note: Some(note), ..
            } => out.push(format!(
                "{} on {}: {note}",
                client_label(&r.clients[cell.client]),
                endpoint_label(&r.endpoints[cell.endpoint])
            )),
            _ => {}
        }
    }
    for e in &r.input_errors {
        out.push(format!("input: {e}"));
    }
    out
}

fn breaking_title(r: &PredictReport) -> String {
    let n = r.breaking().len();
    format!("{n} client{} will break:", if n == 1 { "" } else { "s" })
}

/// Write a prediction.
pub fn write_predict(
    r: &PredictReport,
    format: Format,
    look: Look,
    w: &mut dyn Write,
) -> io::Result<()> {
    let color = look.color;
    match format {
        Format::Html => super::html::write_predict(r, &super::html::Meta::now(), w),
        Format::Prometheus => Err(super::no_such_format("a prediction", format)),
        Format::Json => super::write_json(r, w),
        Format::Csv => {
            let mut out = CsvOut::new(w);
            out.row([
                "client", "kind", "ja4", "ja3", "sni", "endpoint", "address", "port", "protocol",
                "result", "version", "suite", "reasons", "alert", "detail", "change", "method",
            ])?;
            for cell in &r.cells {
                let c = &r.clients[cell.client];
                let e = &r.endpoints[cell.endpoint];
                let kind = match c.origin {
                    Origin::Observed { .. } => "observed",
                    Origin::Profile { .. } => "profile",
                };
                let (version, suite, reasons, alert, detail, change) = match &cell.prediction {
                    Prediction::Works {
                        version,
                        suite,
                        note,
                    } => (
                        version.clone(),
                        suite.clone(),
                        String::new(),
                        String::new(),
                        note.clone().unwrap_or_default(),
                        String::new(),
                    ),
                    Prediction::Breaks {
                        reasons,
                        alert,
                        detail,
                        change,
                    } => (
                        String::new(),
                        String::new(),
                        reasons
                            .iter()
                            .map(|r| r.key())
                            .collect::<Vec<_>>()
                            .join(" "),
                        alert.map(|a| a.to_string()).unwrap_or_default(),
                        detail.clone(),
                        change.clone(),
                    ),
                    Prediction::Unknown { detail } => (
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        detail.clone(),
                        String::new(),
                    ),
                };
                out.row([
                    c.name.clone(),
                    kind.to_string(),
                    c.ja4.clone(),
                    c.ja3.clone(),
                    client_sni(c),
                    e.target.clone(),
                    e.address.map(|a| a.to_string()).unwrap_or_default(),
                    e.port.to_string(),
                    e.protocol.key().to_string(),
                    cell.prediction.key().to_string(),
                    version,
                    suite,
                    reasons,
                    alert,
                    detail,
                    change,
                    match cell.method {
                        Method::Live => "live",
                        Method::Computed => "computed",
                    }
                    .to_string(),
                ])?;
            }
            out.finish()
        }
        Format::Markdown => {
            let mut header = vec!["Client".to_string(), "JA4".into(), "Offers".into()];
            header.extend(r.endpoints.iter().map(endpoint_label));
            let names: Vec<&str> = header.iter().map(String::as_str).collect();
            md::header(w, &names)?;
            for (i, c) in r.clients.iter().enumerate() {
                let mut row = vec![
                    Md::text(client_label(c)),
                    Md::text(c.ja4.as_str()),
                    Md::text(c.versions.join(", ")),
                ];
                for (j, _) in r.endpoints.iter().enumerate() {
                    row.push(match r.cell(i, j) {
                        Some(cell) if cell.prediction.breaks() => Md::bold(cell_short(cell)),
                        Some(cell) => Md::text(cell_short(cell)),
                        None => Md::text("-"),
                    });
                }
                md::row(w, row)?;
            }
            if !r.breaking().is_empty() {
                writeln!(w)?;
                md::line(w, "", &breaking_title(r))?;
                writeln!(w)?;
                for l in break_lines(r) {
                    md::line(w, "- ", &l)?;
                }
            }
            let notes = notes(r);
            if !notes.is_empty() {
                writeln!(w)?;
                for n in notes {
                    md::line(w, "- note: ", &n)?;
                }
            }
            writeln!(w)?;
            md::line(w, "", &predict_summary(r))
        }
        Format::Table => {
            // The compact table leaves the fingerprints to the list below it.
            let mut t = new_table(look);
            let mut header = vec![text("CLIENT")];
            if look.wide {
                header.push(text("JA4"));
            }
            header.push(text("OFFERS"));
            header.extend(r.endpoints.iter().map(|e| text(endpoint_label(e))));
            t.set_header(header);
            for (i, c) in r.clients.iter().enumerate() {
                let mut row = vec![text(client_label(c))];
                if look.wide {
                    row.push(text(&c.ja4));
                }
                row.push(text(c.versions.join(", ")));
                for (j, _) in r.endpoints.iter().enumerate() {
                    row.push(match r.cell(i, j) {
                        Some(cell) => paint(
                            text(cell_short(cell)),
                            Some(cell_color(&cell.prediction)),
                            color,
                        ),
                        None => text("-"),
                    });
                }
                t.add_row(row);
            }
            write_lines(&t, w)?;
            writeln!(w)?;
            if !r.breaking().is_empty() {
                say(w, look, &breaking_title(r))?;
                for l in break_lines(r) {
                    say(w, look, &format!("  - {l}"))?;
                }
            }
            for n in notes(r) {
                say(w, look, &format!("note: {n}"))?;
            }
            say(w, look, &predict_summary(r))
        }
    }
}

/// The built-in profiles and where each comes from.
pub fn write_profiles(
    profiles: &[Profile],
    format: Format,
    look: Look,
    w: &mut dyn Write,
) -> io::Result<()> {
    let color = look.color;
    match format {
        Format::Html => super::html::write_profiles(profiles, &super::html::Meta::now(), w),
        Format::Prometheus => Err(super::no_such_format("the profiles", format)),
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Row<'a> {
                name: &'a str,
                title: &'a str,
                kind: &'a str,
                source: &'a str,
                ja4: String,
                ja3: String,
                versions: Vec<String>,
                suites: usize,
            }
            let rows: Vec<Row> = profiles
                .iter()
                .map(|p| Row {
                    name: &p.name,
                    title: &p.title,
                    kind: p.kind.key(),
                    source: &p.source,
                    ja4: p.hello.ja4(),
                    ja3: p.hello.ja3(),
                    versions: crate::capture::offers::versions(&p.hello),
                    suites: p.hello.suites.len(),
                })
                .collect();
            super::write_json(&rows, w)
        }
        Format::Csv => {
            let mut out = CsvOut::new(w);
            out.row(["name", "kind", "title", "versions", "ja4", "source"])?;
            for p in profiles {
                out.row([
                    p.name.clone(),
                    p.kind.key().to_string(),
                    p.title.clone(),
                    crate::capture::offers::versions(&p.hello).join(", "),
                    p.hello.ja4(),
                    p.source.clone(),
                ])?;
            }
            out.finish()
        }
        Format::Markdown => {
            md::header(
                w,
                &["Profile", "Kind", "Client", "Versions", "JA4", "Source"],
            )?;
            for p in profiles {
                md::row(
                    w,
                    [
                        Md::text(p.name.as_str()),
                        Md::text(p.kind.key()),
                        Md::text(p.title.as_str()),
                        Md::text(crate::capture::offers::versions(&p.hello).join(", ")),
                        Md::text(p.hello.ja4()),
                        Md::text(p.source.as_str()),
                    ],
                )?;
            }
            Ok(())
        }
        Format::Table => {
            // Narrow: the name, kind and versions whole, the client's description wrapping,
            // and the JA4 beside each source below; --wide: one column each.
            let mut t = new_table(look);
            let mut header = vec!["PROFILE", "KIND", "VERSIONS", "CLIENT"];
            if look.wide {
                header.push("JA4");
            }
            t.set_header(header);
            tighten(&mut t, look);
            for p in profiles {
                let mut row = vec![
                    text(&p.name),
                    paint(
                        text(p.kind.key()),
                        Some(match p.kind {
                            crate::predict::profiles::Kind::Captured => Color::Green,
                            crate::predict::profiles::Kind::Documented => Color::Yellow,
                        }),
                        color,
                    ),
                    text(crate::capture::offers::versions(&p.hello).join(", ")),
                    text(&p.title),
                ];
                if look.wide {
                    row.push(text(p.hello.ja4()));
                }
                t.add_row(row);
            }
            if !look.wide {
                let widths = t.column_max_content_widths();
                for (i, w) in widths.iter().enumerate().take(3) {
                    if let Some(c) = t.column_mut(i) {
                        c.set_constraint(comfy_table::ColumnConstraint::LowerBoundary(
                            comfy_table::Width::Fixed((*w).min(if i == 2 { 17 } else { 24 }) + 1),
                        ));
                    }
                }
            }
            write_lines(&t, w)?;
            writeln!(w)?;
            for p in profiles {
                let ja4 = if look.wide {
                    String::new()
                } else {
                    format!(" (JA4 {})", p.hello.ja4())
                };
                say(w, look, &format!("{}{ja4}: {}", p.name, p.source))?;
            }
            say(
                w,
                look,
                "captured: the real client's hello, recorded here with scripts/record-profiles; \
                 documented: built from the vendor's published defaults (see each source)",
            )
        }
    }
}
