//! The page of the clients found in captures: who will break first, then every client, server
//! and version seen, with the capture files as evidence.

use std::io::{self, Write};

use maud::html;

use super::{Mark, Meta, Text, bar, card, controls, legend, page, write_page};
use crate::capture::{ClientRow, ClientVerdict, ClientsReport};
use crate::output::clients::{offer_summary, offers_in_order};
use crate::output::clients_summary;

pub(crate) fn client_mark(v: ClientVerdict) -> Mark {
    match v {
        ClientVerdict::Breaks => Mark::Bad,
        ClientVerdict::OkButNegotiatedLegacy => Mark::Warn,
        ClientVerdict::Ok => Mark::Good,
    }
}

fn verdict_word(v: ClientVerdict) -> &'static str {
    match v {
        ClientVerdict::Breaks => "breaks",
        ClientVerdict::OkButNegotiatedLegacy => "ok (TLS 1.0/1.1 today)",
        ClientVerdict::Ok => "ok",
    }
}

/// An RFC 3339 time that may wrap between its date and its time of day.
fn time(t: &str) -> maud::Markup {
    match t.split_once('T') {
        Some((day, rest)) => html! { (Text(day)) wbr; "T" (Text(rest)) },
        None => html! { (Text(t)) },
    }
}

fn server(r: &ClientRow) -> String {
    let mut s = r.server.to_string();
    if r.starttls {
        s.push_str(" (StartTLS)");
    }
    s
}

/// Write the page of the clients found in captures.
pub fn write_clients(r: &ClientsReport, meta: &Meta, w: &mut dyn Write) -> io::Result<()> {
    let connections = |v: ClientVerdict| -> usize {
        r.rows
            .iter()
            .filter(|x| x.verdict == v)
            .map(|x| x.connections as usize)
            .sum()
    };
    let parts: Vec<(Mark, usize, String)> = [
        ClientVerdict::Breaks,
        ClientVerdict::OkButNegotiatedLegacy,
        ClientVerdict::Ok,
    ]
    .iter()
    .map(|v| {
        (
            client_mark(*v),
            connections(*v),
            format!("connections: {}", verdict_word(*v)),
        )
    })
    .collect();
    let mut rows: Vec<&ClientRow> = r.rows.iter().collect();
    rows.sort_by_key(|x| x.verdict);
    let ports = if r.ports.is_empty() {
        "every port".to_string()
    } else {
        r.ports
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let subtitle = format!(
        "{} capture file{}",
        r.files.len(),
        if r.files.len() == 1 { "" } else { "s" }
    );
    let body = html! {
        h2 { "Evidence" }
        dl.evidence {
            dt { "Server ports read" } dd { (ports) }
        }
        table.cells {
            thead { tr { th { "Capture file" } th { "Packets" } th { "Bytes" } th { "Read" } } }
            tbody {
                @for f in &r.files {
                    tr {
                        td { (Text(&f.path)) }
                        td { (f.packets) }
                        td { (f.bytes) }
                        @if let Some(e) = &f.error {
                            td.m-bad { span.sym { "✗" } " not to its end: " (Text(e)) }
                        } @else {
                            td.m-good { span.sym { "✓" } " to its end" }
                        }
                    }
                }
            }
        }
        h2 { "Summary" }
        p.lead { (Text(&clients_summary(r))) }
        div.cards {
            (card(Mark::Bad, r.breaking_clients(), "clients that will break (nothing above TLS 1.1 offered)"))
            (card(Mark::Neutral, r.clients(), "clients seen"))
            @for (mark, n, word) in &parts { (card(*mark, *n, word)) }
        }
        (bar(&parts))
        h2 { "Clients" }
        (legend(&[
            (Mark::Bad, "breaks once the server enforces TLS 1.2: it offers nothing newer than TLS 1.1"),
            (Mark::Warn, "offers TLS 1.2 or newer, but the server chose TLS 1.0/1.1: fine once it enforces"),
            (Mark::Good, "already on TLS 1.2 or newer"),
        ]))
        (controls("clients"))
        div.scroll {
            table.matrix.filterable {
                thead {
                    tr {
                        th { "Client" } th { "Server" } th { "SNI" } th { "Connections" }
                        th { "Offered up to" } th { "Negotiated" } th { "First seen" } th { "Last seen" } th { "Verdict" }
                    }
                }
                tbody {
                    @for x in &rows {
                        @let m = client_mark(x.verdict);
                        tr class=[m.attention().then_some("attention")] {
                            th.endpoint scope="row" {
                                span.target { (x.client) }
                                @if let Some(j) = &x.ja4 { div.sub.mono { (Text(j)) } }
                            }
                            td.nw { (server(x)) }
                            td.name { (Text(x.sni.as_deref().unwrap_or("–"))) }
                            td data-sort=(x.connections) { (x.connections) }
                            td { (Text(&x.offered)) }
                            td { (Text(x.negotiated.as_deref().unwrap_or("–"))) }
                            td { (time(&x.first_seen)) }
                            td { (time(&x.last_seen)) }
                            td class={ "cell wrap " (m.class()) } data-sort=(m.rank()) {
                                span.sym aria-hidden="true" { (m.symbol()) } " " (verdict_word(x.verdict))
                            }
                        }
                    }
                }
            }
        }
        @if !r.offers.is_empty() {
            h2 { "Client hellos" }
            p.sub { "Every distinct ClientHello of each client; a retry after a failure is marked as a fallback." }
            div.scroll {
                table.matrix {
                    thead {
                        tr {
                            th { "Client" } th { "JA4" } th { "JA3" } th { "Versions" } th { "Suites" }
                            th { "Groups" } th { "ALPN" } th { "SNI" } th { "Connections" } th { "Fallback" }
                        }
                    }
                    tbody {
                        @for o in offers_in_order(r) {
                            @let [ja3, versions, suites, groups, alpn, sni, fallback] = offer_summary(r, o);
                            @let (m, fallback) = if o.is_fallback() { (Mark::Warn, fallback) } else { (Mark::Off, "no".to_string()) };
                            tr {
                                th.endpoint scope="row" { span.target { (o.client) } }
                                td.mono { (Text(&o.ja4)) }
                                td.mono.wrap { (Text(&ja3)) }
                                td.wrap { (Text(&versions)) }
                                td.wrap { (Text(&suites)) }
                                td.wrap { (Text(&groups)) }
                                td.wrap { (Text(&alpn)) }
                                td.name { (Text(&sni)) }
                                td data-sort=(o.connections) { (o.connections) }
                                td class={ "cell wrap " (m.class()) } { span.sym aria-hidden="true" { (m.symbol()) } " " (Text(&fallback)) }
                            }
                        }
                    }
                }
            }
        }
    };
    write_page(page("TLS clients in captures", &subtitle, meta, body), w)
}
