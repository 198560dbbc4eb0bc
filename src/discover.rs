//! Finding the domain controllers of an Active Directory domain through DNS, with
//! `hickory-resolver`.
//!
//! AD publishes its DCs as SRV records (`_ldap._tcp.dc._msdcs.DOMAIN`), its Global Catalogs
//! (`_gc._tcp.DOMAIN`), its KDCs (`_kerberos._tcp.DOMAIN`) and the DCs of each site
//! (`_ldap._tcp.SITE._sites.dc._msdcs.DOMAIN`); the domain name itself resolves to every DC.
//! Every source is asked, every target resolved to all its addresses, and one host found
//! through several records is one DC with several roles. Whatever goes wrong is reported, and
//! what was found is still returned.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use serde::{Deserialize, Serialize};

use crate::target::{ResolveOverrides, Target, parse_target};

/// What a DC was found as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Listed in `_ldap._tcp.dc._msdcs.DOMAIN`.
    Dc,
    /// Listed in `_gc._tcp.DOMAIN`.
    Gc,
    /// Listed in `_kerberos._tcp.DOMAIN`.
    Kdc,
    /// Listed for the site given with `--site`.
    Site,
    /// An address of the domain name itself.
    DomainAddress,
}

impl Role {
    pub fn key(self) -> &'static str {
        match self {
            Role::Dc => "dc",
            Role::Gc => "gc",
            Role::Kdc => "kdc",
            Role::Site => "site",
            Role::DomainAddress => "domain_address",
        }
    }
}

/// One domain controller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dc {
    /// Its host name, or its address when it was found only as an address of the domain.
    pub name: String,
    pub addresses: Vec<IpAddr>,
    pub roles: BTreeSet<Role>,
    /// LDAP port from its SRV record (389 when none; 0 when the record said 0, which is
    /// reported as a problem and not scanned).
    pub ldap_port: u16,
    /// Global Catalog port from its SRV record, when it is a GC.
    pub gc_port: Option<u16>,
}

/// Version of the discovery document's layout.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    pub schema_version: u32,
    pub domain: String,
    pub site: Option<String>,
    /// The DNS server asked, or `None` for the system's.
    pub dns_server: Option<String>,
    pub dcs: Vec<Dc>,
    /// What could not be found or resolved, one sentence each.
    pub problems: Vec<String>,
}

/// Where to ask.
#[derive(Clone, Debug)]
pub struct DnsSettings {
    pub server: Option<SocketAddr>,
    pub timeout: Duration,
}

fn resolver(settings: &DnsSettings) -> Result<TokioResolver, String> {
    let mut builder = match settings.server {
        Some(addr) => {
            let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
            for c in &mut ns.connections {
                c.port = addr.port();
            }
            Resolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![ns]),
                TokioRuntimeProvider::default(),
            )
        }
        None => Resolver::builder_tokio().map_err(|e| format!("system DNS configuration: {e}"))?,
    };
    let opts = builder.options_mut();
    opts.timeout = settings.timeout;
    opts.attempts = 1;
    builder.build().map_err(|e| format!("DNS resolver: {e}"))
}

fn explain(name: &str, e: &NetError, settings: &DnsSettings) -> String {
    if e.is_nx_domain() {
        format!("{name}: no such name (NXDOMAIN)")
    } else if e.is_no_records_found() {
        format!("{name}: no records")
    } else if matches!(e, NetError::Timeout) {
        let server = settings
            .server
            .map(|s| s.to_string())
            .unwrap_or_else(|| "the system's DNS server".into());
        format!(
            "{name}: {server} did not answer within {}",
            crate::probe::show_duration(settings.timeout)
        )
    } else {
        format!("{name}: {e}")
    }
}

fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

fn bare(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Find the DCs of `domain`.
pub async fn discover(domain: &str, site: Option<&str>, settings: &DnsSettings) -> Discovery {
    let domain = bare(domain);
    let mut out = Discovery {
        schema_version: SCHEMA_VERSION,
        domain: domain.clone(),
        site: site.map(str::to_string),
        dns_server: settings.server.map(|s| s.to_string()),
        dcs: Vec::new(),
        problems: Vec::new(),
    };
    let r = match resolver(settings) {
        Ok(r) => r,
        Err(e) => {
            out.problems.push(e);
            return out;
        }
    };
    let mut queries = vec![
        (format!("_ldap._tcp.dc._msdcs.{domain}"), Role::Dc),
        (format!("_gc._tcp.{domain}"), Role::Gc),
        (format!("_kerberos._tcp.{domain}"), Role::Kdc),
    ];
    if let Some(s) = site {
        queries.push((
            format!("_ldap._tcp.{s}._sites.dc._msdcs.{domain}"),
            Role::Site,
        ));
    }
    // Ask everything at once; a DNS round trip each is enough.
    let srv_answers =
        futures_util::future::join_all(queries.iter().map(|(q, _)| r.srv_lookup(fqdn(q)))).await;
    let domain_ips = r.lookup_ip(fqdn(&domain)).await;

    for ((query, role), answer) in queries.iter().zip(srv_answers) {
        match answer {
            Ok(lookup) => {
                for rec in lookup.answers() {
                    if let RData::SRV(srv) = &rec.data {
                        let name = bare(&srv.target.to_ascii());
                        if name.is_empty() {
                            continue; // "." means the service is not offered
                        }
                        if parse_target(&format!("ldaps://{name}")).is_err() {
                            out.problems.push(format!(
                                "{query}: target '{name}' is not a host name that can be scanned"
                            ));
                            continue;
                        }
                        if srv.port == 0 && matches!(role, Role::Dc | Role::Site | Role::Gc) {
                            // Port 0 is no port: say so rather than drop the service unseen.
                            out.problems.push(format!(
                                "{query}: {name} has port 0 in its SRV record: its {} service is not scanned",
                                if *role == Role::Gc { "gc" } else { "ldap" }
                            ));
                        }
                        let dc = entry(&mut out.dcs, &name);
                        dc.roles.insert(*role);
                        match role {
                            Role::Dc | Role::Site => dc.ldap_port = srv.port,
                            Role::Gc => dc.gc_port = Some(srv.port),
                            _ => {}
                        }
                    }
                }
            }
            Err(e) => {
                let why = explain(query, &e, settings);
                let hint = if *role == Role::Dc && (e.is_nx_domain() || e.is_no_records_found()) {
                    format!(" (is {domain} an Active Directory domain?)")
                } else {
                    String::new()
                };
                out.problems.push(format!("{why}{hint}"));
            }
        }
    }

    // Every target name to all its addresses.
    let names: Vec<String> = out.dcs.iter().map(|d| d.name.clone()).collect();
    let lookups = futures_util::future::join_all(names.iter().map(|n| r.lookup_ip(fqdn(n)))).await;
    let mut unresolved = Vec::new();
    for (name, res) in names.iter().zip(lookups) {
        match res {
            Ok(ips) => {
                let dc = entry(&mut out.dcs, name);
                for ip in ips.iter() {
                    if !dc.addresses.contains(&ip) {
                        dc.addresses.push(ip);
                    }
                }
            }
            Err(e) => {
                out.problems.push(format!(
                    "{} (a target of the SRV records) does not resolve: {}",
                    name,
                    explain(name, &e, settings)
                ));
                unresolved.push(name.clone());
            }
        }
    }
    out.dcs.retain(|d| !unresolved.contains(&d.name));

    // The domain's own addresses: each is a DC; add the role to the one that has it.
    match domain_ips {
        Ok(ips) => {
            for ip in ips.iter() {
                match out.dcs.iter_mut().find(|d| d.addresses.contains(&ip)) {
                    Some(dc) => {
                        dc.roles.insert(Role::DomainAddress);
                    }
                    None => {
                        let dc = entry(&mut out.dcs, &ip.to_string());
                        dc.addresses.push(ip);
                        dc.roles.insert(Role::DomainAddress);
                    }
                }
            }
        }
        Err(e) => out.problems.push(explain(&domain, &e, settings)),
    }
    for dc in &mut out.dcs {
        dc.addresses.sort();
    }
    out.dcs.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn entry<'a>(dcs: &'a mut Vec<Dc>, name: &str) -> &'a mut Dc {
    let i = match dcs.iter().position(|d| d.name == name) {
        Some(i) => i,
        None => {
            dcs.push(Dc {
                name: name.to_string(),
                addresses: Vec::new(),
                roles: BTreeSet::new(),
                ldap_port: 389,
                gc_port: None,
            });
            dcs.len() - 1
        }
    };
    &mut dcs[i]
}

/// The services to scan on each DC, and the addresses to use for their names (so the scan sees
/// exactly what discovery resolved, through the same DNS server).
pub fn targets(d: &Discovery, with_rdp: bool) -> (Vec<Target>, ResolveOverrides) {
    let mut targets = Vec::new();
    let mut resolve = ResolveOverrides::default();
    for dc in &d.dcs {
        if dc.name.parse::<IpAddr>().is_err() {
            resolve.add(&dc.name, None, dc.addresses.clone());
        }
        targets.extend(
            service_urls(dc, with_rdp)
                .iter()
                .filter_map(|u| parse_target(u).ok()),
        );
    }
    (targets, resolve)
}

/// The scan targets of one DC's services, as `scan` and a targets file write them.
pub fn service_urls(dc: &Dc, with_rdp: bool) -> Vec<String> {
    let host = match dc.name.parse::<IpAddr>() {
        Ok(IpAddr::V6(a)) => format!("[{a}]"),
        Ok(a) => a.to_string(),
        Err(_) => dc.name.clone(),
    };
    // A port of 0 from an SRV record was reported as a problem by `discover`: no service there.
    let mut urls = Vec::new();
    if dc.ldap_port != 0 {
        urls.push(format!("ldap://{host}:{}", dc.ldap_port));
    }
    urls.push(format!("ldaps://{host}"));
    if dc.roles.contains(&Role::Gc) {
        if dc.gc_port != Some(0) {
            urls.push(format!("gc://{host}:{}", dc.gc_port.unwrap_or(3268)));
        }
        urls.push(format!("gcs://{host}"));
    }
    if with_rdp {
        urls.push(format!("rdp://{host}"));
    }
    urls
}
