//! The page of a discovery: the domain controllers DNS names, and what it could not answer.

use std::io::{self, Write};

use maud::html;

use super::{Mark, Meta, Text, card, evidence_list, page, write_page};
use crate::discover::{Discovery, Role};
use crate::output::discovery::{addresses, discovery_summary, roles, services};

/// Write the page of a discovery.
pub fn write_discovery(
    d: &Discovery,
    with_rdp: bool,
    meta: &Meta,
    w: &mut dyn Write,
) -> io::Result<()> {
    let mut rows = vec![("Domain", d.domain.clone())];
    if let Some(s) = &d.site {
        rows.push(("Site", s.clone()));
    }
    rows.push((
        "DNS server",
        d.dns_server
            .clone()
            .unwrap_or_else(|| "the system's".into()),
    ));
    let gcs = d
        .dcs
        .iter()
        .filter(|dc| dc.roles.contains(&Role::Gc))
        .count();
    let body = html! {
        h2 { "Evidence" }
        (evidence_list(&rows))
        h2 { "Summary" }
        p.lead { (Text(&discovery_summary(d))) }
        div.cards {
            (card(Mark::Good, d.dcs.len(), "domain controllers"))
            (card(Mark::Neutral, gcs, "Global Catalogs"))
            (card(Mark::Bad, d.problems.len(), "problems"))
        }
        h2 { "Domain controllers" }
        div.scroll {
            table.matrix {
                thead { tr { th { "Name" } th { "Addresses" } th { "Roles" } th { "Services to scan" } } }
                tbody {
                    @for dc in &d.dcs {
                        tr {
                            th.endpoint scope="row" { span.target { (Text(&dc.name)) } }
                            td.wrap { (Text(&addresses(dc))) }
                            td.wrap { (Text(&roles(dc))) }
                            td.wrap { (Text(&services(dc, with_rdp))) }
                        }
                    }
                }
            }
        }
        @if !d.problems.is_empty() {
            h3 { "Problems" }
            (super::note_list(&d.problems))
        }
    };
    write_page(page("Domain controllers", &d.domain, meta, body), w)
}
