use std::io::{self, Write};

use comfy_table::{Cell as TCell, Color};

use super::Format;
use super::table::{new_table, paint, write_lines};
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
            let mut out = ::csv::Writer::from_writer(w);
            out.write_record([
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
                out.write_record([
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
            out.flush()
        }
        Format::Markdown => {
            writeln!(
                w,
                "| Client | Server | SNI | Connections | Offered up to | Negotiated | First seen | Last seen | Verdict |"
            )?;
            writeln!(w, "|---|---|---|---|---|---|---|---|---|")?;
            for x in &r.rows {
                writeln!(
                    w,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | **{}** |",
                    x.client,
                    server(x),
                    x.sni.as_deref().unwrap_or("-"),
                    x.connections,
                    x.offered,
                    x.negotiated.as_deref().unwrap_or("-"),
                    x.first_seen,
                    x.last_seen,
                    x.verdict.key()
                )?;
            }
            writeln!(w)?;
            for f in r.files.iter().filter(|f| f.error.is_some()) {
                writeln!(w, "- {}: {}", f.path, f.error.as_deref().unwrap_or(""))?;
            }
            writeln!(w, "\n{}", clients_summary(r))
        }
        Format::Table => {
            let mut t = new_table(color);
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
                    TCell::new(x.client),
                    TCell::new(server(x)),
                    TCell::new(x.sni.as_deref().unwrap_or("-")),
                    TCell::new(x.connections),
                    TCell::new(&x.offered),
                    TCell::new(x.negotiated.as_deref().unwrap_or("-")),
                    TCell::new(&x.first_seen),
                    TCell::new(&x.last_seen),
                    paint(TCell::new(x.verdict.key()), Some(c), color),
                ]);
            }
            write_lines(&t, w)?;
            writeln!(w, "{}", clients_summary(r))
        }
    }
}
