use std::io::{self, Write};

use comfy_table::Color;

use super::Format;
use super::csv::CsvOut;
use super::markdown::{self as md, Md};
use super::table::{line, new_table, paint, text, write_lines};
use crate::capture::offers::{Hello, Offer};
use crate::capture::{ClientRow, ClientVerdict, ClientsReport};

/// `3 clients will break (they offer nothing above TLS 1.1); 1 negotiates ...`.
pub fn clients_summary(r: &ClientsReport) -> String {
    let count = |v: ClientVerdict| {
        r.rows
            .iter()
            .filter(|x| x.verdict == v)
            .map(|x| x.connections)
            .sum::<u64>()
    };
    let breaking = r.breaking_clients();
    let mut s = format!(
        "{breaking} client{} will break (offering nothing above TLS 1.1) out of {}; connections: {} break, {} ok but negotiated TLS 1.0/1.1, {} ok",
        if breaking == 1 { "" } else { "s" },
        r.clients(),
        count(ClientVerdict::Breaks),
        count(ClientVerdict::OkButNegotiatedLegacy),
        count(ClientVerdict::Ok)
    );
    let d = &r.dropped;
    if d.connections > 0 {
        s.push_str(&format!(
            "; {} connection{} dropped unfinished to stay within {} connections and {} MiB \
             at once ({} before their ClientHello was read)",
            d.connections,
            if d.connections == 1 { "" } else { "s" },
            r.limits.connections,
            r.limits.buffered_bytes >> 20,
            d.unread
        ));
    }
    if d.over_row_limit > 0 {
        s.push_str(&format!(
            "; {} connection{} not listed: the report holds at most {} rows",
            d.over_row_limit,
            if d.over_row_limit == 1 { "" } else { "s" },
            r.limits.rows
        ));
    }
    let fallbacks = r.offers.iter().filter(|o| o.is_fallback()).count();
    if fallbacks > 0 {
        s.push_str(&format!(
            "; {fallbacks} hello{} retried with a lower version after a failure (fallback)",
            if fallbacks == 1 { "" } else { "s" }
        ));
    }
    if r.offers_over_limit > 0 {
        s.push_str(&format!(
            "; {} connection{} in no client hello: past the limit of 10,000 distinct hellos or \
             100,000 client and hello pairs",
            r.offers_over_limit,
            if r.offers_over_limit == 1 { "" } else { "s" }
        ));
    }
    if r.own_probes > 0 {
        s.push_str(&format!(
            "; {} connection{} of tlsmatrix's own probes left out",
            r.own_probes,
            if r.own_probes == 1 { "" } else { "s" }
        ));
    }
    let errors = r.files.iter().filter(|f| f.error.is_some()).count();
    if errors > 0 {
        s.push_str(&format!(
            "; {errors} file{} not read to the end",
            if errors == 1 { "" } else { "s" }
        ));
    }
    s
}

/// The offers in reading order: by client, each hello followed by the hellos it fell back to.
pub fn offers_in_order(r: &ClientsReport) -> Vec<&Offer> {
    let mut out: Vec<&Offer> = Vec::with_capacity(r.offers.len());
    for o in r.offers.iter().filter(|o| o.fallback_of.is_none()) {
        out.push(o);
        out.extend(
            r.offers
                .iter()
                .filter(|f| f.client == o.client && f.fallback_of == Some(o.hello)),
        );
    }
    // A retry whose first hello is not listed (cannot happen; kept whole all the same).
    for o in &r.offers {
        if !out.iter().any(|x| std::ptr::eq(*x, o)) {
            out.push(o);
        }
    }
    out
}

/// How an offer relates to the client's others: `fallback after t13d... failed` or `-`.
pub fn fallback_text(r: &ClientsReport, o: &Offer) -> String {
    match (o.fallback_of, o.fallback_scsv) {
        (Some(of), _) => format!(
            "fallback after {} failed",
            r.hellos.get(of).map_or("?", |h| h.ja4.as_str())
        ),
        (None, true) => "fallback (TLS_FALLBACK_SCSV)".into(),
        (None, false) => "-".into(),
    }
}

/// JA3, versions, suites, groups, ALPN, SNI and fallback of an offer, for people.
pub(crate) fn offer_summary(r: &ClientsReport, o: &Offer) -> [String; 7] {
    let dash = |v: &[String], sep: &str| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(sep)
        }
    };
    let h: Option<&Hello> = r.hellos.get(o.hello);
    [
        h.map_or("-".into(), |h| h.ja3.clone()),
        h.map_or(o.highest.clone(), |h| h.versions.join(", ")),
        h.map_or("-".into(), |h| format!("{} suites", h.suites.len())),
        h.map_or("-".into(), |h| dash(&h.groups, " ")),
        h.map_or("-".into(), |h| dash(&h.alpn, " ")),
        dash(&o.sni, " "),
        fallback_text(r, o),
    ]
}

fn server(r: &ClientRow) -> String {
    let mut s = r.server.to_string();
    if r.starttls {
        s.push_str(" (StartTLS)");
    }
    s
}

/// Write the clients found in captures.
pub fn write_clients(
    r: &ClientsReport,
    format: Format,
    color: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Html => super::html::write_clients(r, &super::html::Meta::now(), w),
        Format::Prometheus => Err(super::no_such_format("the clients report", format)),
        Format::Json => super::write_json(r, w),
        Format::Csv => {
            let mut out = CsvOut::new(w);
            out.row([
                "client",
                "server",
                "sni",
                "starttls",
                "connections",
                "offered",
                "negotiated",
                "first_seen",
                "last_seen",
                "verdict",
                "ja4",
            ])?;
            for x in &r.rows {
                out.row([
                    x.client.to_string(),
                    x.server.to_string(),
                    x.sni.clone().unwrap_or_default(),
                    x.starttls.to_string(),
                    x.connections.to_string(),
                    x.offered.clone(),
                    x.negotiated.clone().unwrap_or_default(),
                    x.first_seen.clone(),
                    x.last_seen.clone(),
                    x.verdict.key().to_string(),
                    x.ja4.clone().unwrap_or_default(),
                ])?;
            }
            out.finish()
        }
        Format::Markdown => {
            md::header(
                w,
                &[
                    "Client",
                    "Server",
                    "SNI",
                    "Connections",
                    "Offered up to",
                    "Negotiated",
                    "First seen",
                    "Last seen",
                    "Verdict",
                ],
            )?;
            for x in &r.rows {
                md::row(
                    w,
                    [
                        Md::text(x.client.to_string()),
                        Md::text(server(x)),
                        Md::text(x.sni.as_deref().unwrap_or("-")),
                        Md::text(x.connections.to_string()),
                        Md::text(x.offered.as_str()),
                        Md::text(x.negotiated.as_deref().unwrap_or("-")),
                        Md::text(x.first_seen.as_str()),
                        Md::text(x.last_seen.as_str()),
                        Md::bold(x.verdict.key()),
                    ],
                )?;
            }
            writeln!(w)?;
            if !r.offers.is_empty() {
                md::header(
                    w,
                    &[
                        "Client",
                        "JA4",
                        "JA3",
                        "Versions",
                        "Suites",
                        "Groups",
                        "ALPN",
                        "SNI",
                        "Connections",
                        "Fallback",
                    ],
                )?;
                for o in offers_in_order(r) {
                    let [ja3, versions, suites, groups, alpn, sni, fallback] = offer_summary(r, o);
                    md::row(
                        w,
                        [
                            Md::text(o.client.to_string()),
                            Md::text(o.ja4.as_str()),
                            Md::text(ja3),
                            Md::text(versions),
                            Md::text(suites),
                            Md::text(groups),
                            Md::text(alpn),
                            Md::text(sni),
                            Md::text(o.connections.to_string()),
                            Md::text(fallback),
                        ],
                    )?;
                }
                writeln!(w)?;
            }
            for f in r.files.iter().filter(|f| f.error.is_some()) {
                md::line(
                    w,
                    "- ",
                    &format!("{}: {}", f.path, f.error.as_deref().unwrap_or("")),
                )?;
            }
            writeln!(w)?;
            md::line(w, "", &clients_summary(r))
        }
        Format::Table => {
            let mut t = new_table(super::Look::wide(color));
            t.set_header(vec![
                "CLIENT",
                "SERVER",
                "SNI",
                "CONN",
                "OFFERED",
                "NEGOTIATED",
                "FIRST SEEN",
                "LAST SEEN",
                "VERDICT",
            ]);
            for x in &r.rows {
                let c = match x.verdict {
                    ClientVerdict::Breaks => Color::Red,
                    ClientVerdict::OkButNegotiatedLegacy => Color::Yellow,
                    ClientVerdict::Ok => Color::Green,
                };
                t.add_row(vec![
                    text(x.client.to_string()),
                    text(server(x)),
                    text(x.sni.as_deref().unwrap_or("-")),
                    text(x.connections.to_string()),
                    text(&x.offered),
                    text(x.negotiated.as_deref().unwrap_or("-")),
                    text(&x.first_seen),
                    text(&x.last_seen),
                    paint(text(x.verdict.key()), Some(c), color),
                ]);
            }
            write_lines(&t, w)?;
            if !r.offers.is_empty() {
                let mut t = new_table(super::Look::wide(color));
                t.set_header(vec![
                    "CLIENT", "JA4", "JA3", "VERSIONS", "SUITES", "GROUPS", "ALPN", "SNI", "CONN",
                    "FALLBACK",
                ]);
                for o in offers_in_order(r) {
                    let [ja3, versions, suites, groups, alpn, sni, fallback] = offer_summary(r, o);
                    let fb = o.is_fallback().then_some(Color::Yellow);
                    t.add_row(vec![
                        text(o.client.to_string()),
                        text(&o.ja4),
                        text(ja3),
                        text(versions),
                        text(suites),
                        text(groups),
                        text(alpn),
                        text(sni),
                        text(o.connections.to_string()),
                        paint(text(fallback), fb, color),
                    ]);
                }
                line(w, "")?;
                line(
                    w,
                    "Client hellos (every distinct ClientHello of each client):",
                )?;
                write_lines(&t, w)?;
            }
            line(w, &clients_summary(r))
        }
    }
}

/// The distinct hellos of a capture as a compact table (client, JA4, versions, suites, server
/// names, fallback), laid out by `look`, and the summary line.
pub fn write_client_hellos(
    r: &ClientsReport,
    look: super::Look,
    w: &mut dyn Write,
) -> io::Result<()> {
    let mut t = new_table(look);
    t.set_header(vec![
        "CLIENT", "JA4", "VERSIONS", "SUITES", "SNI", "FALLBACK",
    ]);
    for o in offers_in_order(r) {
        let [_, versions, suites, _, _, sni, fallback] = offer_summary(r, o);
        t.add_row(vec![
            text(o.client.to_string()),
            text(&o.ja4),
            text(versions),
            text(suites),
            text(sni),
            paint(
                text(fallback),
                o.is_fallback().then_some(Color::Yellow),
                look.color,
            ),
        ]);
    }
    write_lines(&t, w)?;
    super::table::say(w, look, &clients_summary(r))
}
