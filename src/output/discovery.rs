use std::io::{self, Write};

use comfy_table::Cell as TCell;

use super::Format;
use super::table::{new_table, write_lines};
use crate::discover::{Dc, Discovery, Role};

pub(crate) fn roles(dc: &Dc) -> String {
    dc.roles
        .iter()
        .map(|r| r.key())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn addresses(dc: &Dc) -> String {
    dc.addresses
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn services(dc: &Dc, with_rdp: bool) -> String {
    let mut s = vec![format!("ldap:{}", dc.ldap_port), "ldaps:636".to_string()];
    if dc.roles.contains(&Role::Gc) {
        s.push(format!("gc:{}", dc.gc_port.unwrap_or(3268)));
        s.push("gcs:3269".into());
    }
    if with_rdp {
        s.push("rdp:3389".into());
    }
    s.join(" ")
}

/// `3 domain controllers (1 Global Catalog) for corp.example.com; 1 problem`.
pub fn discovery_summary(d: &Discovery) -> String {
    let gcs = d
        .dcs
        .iter()
        .filter(|dc| dc.roles.contains(&Role::Gc))
        .count();
    let n = d.dcs.len();
    let mut s = format!(
        "{n} domain controller{} ({gcs} Global Catalog{}) for {}",
        if n == 1 { "" } else { "s" },
        if gcs == 1 { "" } else { "s" },
        d.domain
    );
    if !d.problems.is_empty() {
        let k = d.problems.len();
        s.push_str(&format!("; {k} problem{}", if k == 1 { "" } else { "s" }));
    }
    s
}

/// Write what discovery found.
pub fn write_discovery(
    d: &Discovery,
    format: Format,
    with_rdp: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Html => super::html::write_discovery(d, with_rdp, &super::html::Meta::now(), w),
        Format::Json => super::write_json(d, w),
        Format::Csv => {
            let mut out = ::csv::Writer::from_writer(w);
            out.write_record(["name", "addresses", "roles", "services"])?;
            for dc in &d.dcs {
                out.write_record([
                    dc.name.as_str(),
                    &addresses(dc),
                    &roles(dc),
                    &services(dc, with_rdp),
                ])?;
            }
            out.flush()
        }
        Format::Markdown => {
            writeln!(w, "### Domain controllers of `{}`\n", d.domain)?;
            writeln!(
                w,
                "| Name | Addresses | Roles | Services |\n|---|---|---|---|"
            )?;
            for dc in &d.dcs {
                writeln!(
                    w,
                    "| {} | {} | {} | {} |",
                    dc.name,
                    addresses(dc),
                    roles(dc),
                    services(dc, with_rdp)
                )?;
            }
            writeln!(w)?;
            for p in &d.problems {
                writeln!(w, "- problem: {p}")?;
            }
            writeln!(w, "\n{}", discovery_summary(d))
        }
        Format::Table => {
            let mut t = new_table(false);
            t.set_header(vec!["NAME", "ADDRESSES", "ROLES", "SERVICES"]);
            for dc in &d.dcs {
                t.add_row(vec![
                    TCell::new(&dc.name),
                    TCell::new(addresses(dc)),
                    TCell::new(roles(dc)),
                    TCell::new(services(dc, with_rdp)),
                ]);
            }
            write_lines(&t, w)?;
            for p in &d.problems {
                writeln!(w, "problem: {p}")?;
            }
            writeln!(w, "{}", discovery_summary(d))
        }
    }
}
