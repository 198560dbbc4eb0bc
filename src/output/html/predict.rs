//! The page of a prediction: who will break once the endpoints accept only TLS 1.2 and newer.
//! The answer first, what was asked, the counts, the matrix of clients and endpoints, then each
//! client that breaks with its reasons and what to change.

use std::io::{self, Write};

use maud::{Markup, html};

use super::{Mark, Meta, Text, bar, card, controls, evidence_list, legend, page, write_page};
use crate::output::predict::{
    break_lines, cell_short, client_sni, endpoint_label, notes, predict_summary,
};
use crate::predict::profiles::{Kind, Profile};
use crate::predict::{Cell, Client, Method, Mode, Origin, PredictReport, Prediction};
use crate::tls::alert_name;

pub(crate) fn prediction_mark(p: &Prediction) -> Mark {
    match p {
        Prediction::Works { .. } => Mark::Good,
        Prediction::Breaks { .. } => Mark::Bad,
        Prediction::Unknown { .. } => Mark::Unknown,
    }
}

/// Everything a cell says, for its tooltip.
fn cell_detail(r: &PredictReport, c: &Cell) -> String {
    let who = format!(
        "{} on {}",
        r.clients[c.client].name,
        endpoint_label(&r.endpoints[c.endpoint])
    );
    let how = match c.method {
        Method::Live => "replayed to the endpoint",
        Method::Computed => "computed, not sent",
    };
    match &c.prediction {
        Prediction::Works {
            version,
            suite,
            note,
        } => format!(
            "{who}: works with {version}, {suite} ({how}){}",
            note.as_deref()
                .map(|n| format!("; {n}"))
                .unwrap_or_default()
        ),
        Prediction::Breaks {
            reasons,
            alert,
            detail,
            change,
        } => format!(
            "{who}: breaks: {}{} ({how}); {detail}; change: {change}",
            reasons
                .iter()
                .map(|x| x.text())
                .collect::<Vec<_>>()
                .join(", "),
            alert
                .map(|a| format!(", alert {}({a})", alert_name(a)))
                .unwrap_or_default()
        ),
        Prediction::Unknown { detail } => format!("{who}: unknown ({how}): {detail}"),
    }
}

/// Where a client comes from, in a line.
fn origin_text(c: &Client) -> String {
    match &c.origin {
        Origin::Observed { connections, .. } => format!(
            "seen in the captures, {connections} connection{}, SNI {}",
            if *connections == 1 { "" } else { "s" },
            client_sni(c)
        ),
        Origin::Profile { title, .. } => format!("built-in profile: {title}"),
    }
}

/// Write the page of a prediction.
pub fn write_predict(r: &PredictReport, meta: &Meta, w: &mut dyn Write) -> io::Result<()> {
    let breaking = r.breaking().len();
    let unknown = r.unknown();
    let (mark, word) = if breaking > 0 {
        (
            Mark::Bad,
            format!(
                "{breaking} CLIENT{} WILL BREAK",
                if breaking == 1 { "" } else { "S" }
            ),
        )
    } else if unknown > 0 || !r.complete {
        (Mark::Unknown, "UNDECIDED".to_string())
    } else {
        (Mark::Good, "NO CLIENT BREAKS".to_string())
    };
    let subtitle = match r.mode {
        Mode::Tls12Only => "clients × endpoints, once the endpoints accept only TLS 1.2 and newer",
        Mode::AsIs => "clients × endpoints, as they are (--as-is)",
    };
    let body = html! {
        div class={ "banner " (mark.class()) } {
            span.sym aria-hidden="true" { (mark.symbol()) }
            div {
                div { (word) }
                div.why { (Text(&predict_summary(r))) }
            }
        }
        h2 { "Evidence" }
        (evidence_list(&evidence(r)))
        h2 { "Summary" }
        (summary(r))
        h2 { "Clients and endpoints" }
        (matrix(r))
        @let lines = break_lines(r);
        @if !lines.is_empty() {
            h3 { "The clients that will break, why, and what to change" }
            (super::note_list(&lines))
        }
        @let n = notes(r);
        @if !n.is_empty() {
            h3 { "Notes" }
            (super::note_list(&n))
        }
        section.details {
            h2 { "Every client in detail" }
            @for (i, c) in r.clients.iter().enumerate() {
                (client_details(r, c, i))
            }
        }
    };
    write_page(page("Who will break", subtitle, meta, body), w)
}

fn evidence(r: &PredictReport) -> Vec<(&'static str, String)> {
    let observed = r
        .clients
        .iter()
        .filter(|c| matches!(c.origin, Origin::Observed { .. }))
        .count();
    let profiles = r.clients.len() - observed;
    let live = r.cells.iter().filter(|c| c.method == Method::Live).count();
    let mut rows = vec![
        (
            "Question",
            match r.mode {
                Mode::Tls12Only => "which clients break once the endpoints accept only TLS 1.2 and newer: each client's own hello, its versions below TLS 1.2 removed, replayed to each endpoint".to_string(),
                Mode::AsIs => "which clients break on the endpoints as they are: each client's own hello replayed unchanged (--as-is)".to_string(),
            },
        ),
        (
            "Clients",
            format!(
                "{} ({observed} seen in captures, {profiles} built-in profile{})",
                r.clients.len(),
                if profiles == 1 { "" } else { "s" }
            ),
        ),
        (
            "Endpoints",
            format!(
                "{}: {}",
                r.endpoints.len(),
                r.endpoints
                    .iter()
                    .map(endpoint_label)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        (
            "Cells",
            format!(
                "{} ({live} replayed live, {} computed without a connection)",
                r.cells.len(),
                r.cells.len() - live
            ),
        ),
    ];
    if r.own_probes > 0 {
        rows.push((
            "Left out",
            format!(
                "{} connection{} of tlsmatrix's own probes in the captures",
                r.own_probes,
                if r.own_probes == 1 { "" } else { "s" }
            ),
        ));
    }
    if !r.complete {
        rows.push((
            "Complete",
            "no: interrupted, unfinished cells unknown".into(),
        ));
    }
    for e in &r.input_errors {
        rows.push(("Input error", e.to_string()));
    }
    rows
}

fn summary(r: &PredictReport) -> Markup {
    let count = |k: &str| r.cells.iter().filter(|c| c.prediction.key() == k).count();
    let parts: Vec<(Mark, usize, String)> = vec![
        (Mark::Bad, count("breaks"), "cells: breaks".into()),
        (Mark::Unknown, count("unknown"), "cells: unknown".into()),
        (Mark::Good, count("works"), "cells: works".into()),
    ];
    let breaking = r.breaking().len();
    let fine = r
        .clients
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            r.cells
                .iter()
                .filter(|c| c.client == *i)
                .all(|c| matches!(c.prediction, Prediction::Works { .. }))
        })
        .count();
    html! {
        div.cards {
            (card(Mark::Bad, breaking, "clients that will break"))
            (card(Mark::Good, fine, "clients that work everywhere"))
            @for (m, n, w) in &parts { (card(*m, *n, w)) }
        }
        (bar(&parts))
    }
}

fn matrix(r: &PredictReport) -> Markup {
    html! {
        (legend(&[
            (Mark::Good, "works (the version the client would get)"),
            (Mark::Bad, "breaks (what the client lacks)"),
            (Mark::Unknown, "unknown: the endpoint could not be asked"),
        ]))
        (controls("prediction"))
        div.scroll {
            table.matrix.filterable {
                thead {
                    tr {
                        th { "Client" }
                        th { "Offers" }
                        @for e in &r.endpoints {
                            th {
                                (super::breakable(&e.target))
                                @if let Some(a) = e.address {
                                    @if a.to_string() != e.host { div.sub { (a) } }
                                }
                            }
                        }
                    }
                }
                tbody {
                    @for (i, c) in r.clients.iter().enumerate() {
                        @let breaks = r.cells.iter().any(|x| x.client == i && x.prediction.breaks());
                        tr class=[breaks.then_some("attention")] {
                            th.endpoint scope="row" data-sort=(Text(&c.name)) {
                                a.target href=(format!("#client-{i}")) { (Text(&c.name)) }
                                div.sub { (Text(&origin_text(c))) }
                            }
                            td.wrap { (Text(&c.versions.join(", "))) }
                            @for j in 0..r.endpoints.len() {
                                @match r.cell(i, j) {
                                    Some(cell) => {
                                        @let m = prediction_mark(&cell.prediction);
                                        td class={ "cell wrap " (m.class()) } data-sort=(m.rank()) title=(Text(&cell_detail(r, cell))) {
                                            span.sym aria-hidden="true" { (m.symbol()) } " " (Text(&cell_short(cell)))
                                        }
                                    }
                                    None => {
                                        td.cell.m-off data-sort=(Mark::Off.rank()) { span.sym { "–" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn client_details(r: &PredictReport, c: &Client, i: usize) -> Markup {
    let breaks = r
        .cells
        .iter()
        .any(|x| x.client == i && x.prediction.breaks());
    let mark = if breaks { Mark::Bad } else { Mark::Good };
    html! {
        details.endpoint id=(format!("client-{i}")) {
            summary {
                (super::badge(mark, if breaks { "breaks" } else { "works" })) " "
                span.target { (Text(&c.name)) } " " span.sub { (Text(&origin_text(c))) }
            }
            dl.evidence {
                dt { "Offers" } dd { (Text(&c.versions.join(", "))) ", " (c.suites) " suites" }
                dt { "JA4" } dd.mono { (Text(&c.ja4)) }
                dt { "JA3" } dd.mono { (Text(&c.ja3)) }
                @if let Origin::Profile { source, .. } = &c.origin {
                    dt { "Source" } dd { (Text(source)) }
                }
                @if let Some(e) = &c.enable_tls12 {
                    dt { "To enable TLS 1.2" } dd { (Text(e)) }
                }
            }
            table.cells {
                thead { tr { th { "Endpoint" } th { "Result" } th { "Detail" } } }
                tbody {
                    @for cell in r.cells.iter().filter(|x| x.client == i) {
                        @let m = prediction_mark(&cell.prediction);
                        tr {
                            td { (Text(&endpoint_label(&r.endpoints[cell.endpoint]))) }
                            td class=(m.class()) { span.sym { (m.symbol()) } " " (cell.prediction.key()) }
                            td { (Text(&cell_detail(r, cell))) }
                        }
                    }
                }
            }
        }
    }
}

/// Write the page of the built-in profiles and where each comes from.
pub fn write_profiles(profiles: &[Profile], meta: &Meta, w: &mut dyn Write) -> io::Result<()> {
    let body = html! {
        p {
            "captured: the real client's hello, recorded with scripts/record-profiles; "
            "documented: built from the vendor's published defaults (see each source)."
        }
        div.scroll {
            table.matrix {
                thead { tr { th { "Profile" } th { "Kind" } th { "Client" } th { "Versions" } th { "JA4" } th { "Source" } } }
                tbody {
                    @for p in profiles {
                        @let m = match p.kind { Kind::Captured => Mark::Good, Kind::Documented => Mark::Neutral };
                        tr {
                            th.endpoint scope="row" { span.target { (Text(&p.name)) } }
                            td class={ "cell " (m.class()) } { span.sym aria-hidden="true" { (m.symbol()) } " " (p.kind.key()) }
                            td.wrap { (Text(&p.title)) }
                            td.wrap { (Text(&crate::capture::offers::versions(&p.hello).join(", "))) }
                            td.mono { (Text(&p.hello.ja4())) }
                            td.wrap { (Text(&p.source)) }
                        }
                    }
                }
            }
        }
    };
    write_page(
        page(
            "Client profiles",
            "built into tlsmatrix predict",
            meta,
            body,
        ),
        w,
    )
}
