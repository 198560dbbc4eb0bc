use std::io::{self, Write};

use super::Format;
use super::csv::CsvOut;
use super::markdown::{self as md, Md};
use super::table::{line, new_table, text, write_lines};
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
    let mut s = Vec::new();
    if dc.ldap_port != 0 {
        s.push(format!("ldap:{}", dc.ldap_port));
    }
    s.push("ldaps:636".to_string());
    if dc.roles.contains(&Role::Gc) {
        if dc.gc_port != Some(0) {
            s.push(format!("gc:{}", dc.gc_port.unwrap_or(3268)));
        }
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

/// What discovery found as a targets file for `scan -f`: one target a line, each DC's roles,
/// addresses and the site in a comment above its services. Names and sites come from DNS, so
/// a name that is not a valid target is left out (and said in a comment), and no control
/// character reaches the file.
pub fn write_target_list(d: &Discovery, with_rdp: bool, w: &mut dyn Write) -> io::Result<()> {
    let clean = |s: &str| -> String { super::escape::term(s).into_owned() };
    writeln!(w, "# {} (tlsmatrix discover)", clean(&discovery_summary(d)))?;
    if let Some(site) = &d.site {
        writeln!(w, "# site: {}", clean(site))?;
    }
    for p in &d.problems {
        writeln!(w, "# problem: {}", clean(p))?;
    }
    for dc in &d.dcs {
        writeln!(
            w,
            "\n# {}: {} ({})",
            clean(&dc.name),
            roles(dc),
            addresses(dc)
        )?;
        for url in crate::discover::service_urls(dc, with_rdp) {
            if crate::target::parse_target(&url).is_ok() {
                writeln!(w, "{url}")?;
            } else {
                writeln!(w, "# not a valid target, left out: {}", clean(&url))?;
            }
        }
    }
    Ok(())
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
        Format::Prometheus => Err(super::no_such_format("a discovery", format)),
        Format::Json => super::write_json(d, w),
        Format::Csv => {
            let mut out = CsvOut::new(w);
            out.row(["name", "addresses", "roles", "services"])?;
            for dc in &d.dcs {
                out.row([
                    dc.name.as_str(),
                    &addresses(dc),
                    &roles(dc),
                    &services(dc, with_rdp),
                ])?;
            }
            out.finish()
        }
        Format::Markdown => {
            writeln!(w, "### Domain controllers of {}\n", md::code(&d.domain))?;
            md::header(w, &["Name", "Addresses", "Roles", "Services"])?;
            for dc in &d.dcs {
                md::row(
                    w,
                    [
                        Md::text(dc.name.as_str()),
                        Md::text(addresses(dc)),
                        Md::text(roles(dc)),
                        Md::text(services(dc, with_rdp)),
                    ],
                )?;
            }
            writeln!(w)?;
            for p in &d.problems {
                md::line(w, "- problem: ", p)?;
            }
            writeln!(w)?;
            md::line(w, "", &discovery_summary(d))
        }
        Format::Table => {
            let mut t = new_table(super::Look::wide(false));
            t.set_header(vec!["NAME", "ADDRESSES", "ROLES", "SERVICES"]);
            for dc in &d.dcs {
                t.add_row(vec![
                    text(&dc.name),
                    text(addresses(dc)),
                    text(roles(dc)),
                    text(services(dc, with_rdp)),
                ]);
            }
            write_lines(&t, w)?;
            for p in &d.problems {
                line(w, &format!("problem: {p}"))?;
            }
            line(w, &discovery_summary(d))
        }
    }
}
