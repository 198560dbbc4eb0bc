use std::io::{self, Write};

use comfy_table::Color;

use super::Format;
use super::csv::CsvOut;
use super::markdown::{self as md, Md};
use super::table::{line, new_table, paint, text, write_lines};
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
    let errors = r.files.iter().filter(|f| f.error.is_some()).count();
    if errors > 0 {
        s.push_str(&format!(
            "; {errors} file{} not read to the end",
            if errors == 1 { "" } else { "s" }
        ));
    }
    s
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
            line(w, &clients_summary(r))
        }
    }
}
