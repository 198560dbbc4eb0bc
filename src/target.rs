//! Targets as the user writes them, and their resolution to addresses.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::report::{InputError, Protocol};

/// Port used when a bare host name or address is given.
pub const DEFAULT_PORT: u16 = 443;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    Name(String),
    Ip(IpAddr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// One thing to scan: a host and port reached with one protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// As written by the user.
    pub input: String,
    pub host: Host,
    pub port: u16,
    pub protocol: Protocol,
    /// True when the protocol came from a URL scheme rather than from the port.
    pub explicit: bool,
}

/// How `--starttls` treats targets written without a scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartTls {
    /// TLS from the first byte.
    None,
    Ldap,
    Rdp,
}

impl Target {
    /// The server name to send: the host name, never an address literal.
    pub fn default_sni(&self) -> Option<&str> {
        match &self.host {
            Host::Name(n) => Some(n.trim_end_matches('.')),
            Host::Ip(_) => None,
        }
    }
}

/// The five services of a domain controller, as `--dc HOST` expands them.
pub const DC_SCHEMES: [&str; 5] = ["ldap", "ldaps", "gc", "gcs", "rdp"];

/// Parse one target: `host`, `host:port`, `[v6]:port`, a bare IPv6 address, or a URL with
/// scheme `ldap://`, `ldaps://`, `gc://`, `gcs://`, `rdp://`, `https://` or `tls://`. Without a
/// scheme the port decides: 389 and 3268 use StartTLS, 3389 RDP, 636 and 3269 are LDAPS.
pub fn parse_target(input: &str) -> Result<Target, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("empty target".into());
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.len() > 1 && words.iter().all(|w| parse_target(w).is_ok()) {
        return Err(format!(
            "'{s}' holds more than one target: give one target per line or argument"
        ));
    }
    let (default_port, protocol, rest) = match s.split_once("://") {
        Some((scheme, rest)) => {
            let (port, protocol) = scheme_port(scheme)?;
            (port, Some(protocol), rest)
        }
        None => (Some(DEFAULT_PORT), None, s),
    };
    // A URL may carry a path, query or fragment: they do not matter for TLS.
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(format!("user names are not supported in targets: '{s}'"));
    }
    let (host, port) = split_host_port(authority)?;
    let port = match (port, default_port) {
        (Some(p), _) => p,
        (None, Some(p)) => p,
        (None, None) => return Err(format!("tls:// needs a port, as in tls://{host}:636")),
    };
    Ok(Target {
        input: s.to_string(),
        host,
        port,
        protocol: protocol.unwrap_or_else(|| protocol_for_port(port, None)),
        explicit: protocol.is_some(),
    })
}

/// The protocol a bare `host:port` gets, or the one `--starttls` asks for.
pub fn protocol_for_port(port: u16, starttls: Option<StartTls>) -> Protocol {
    let ldaps_port = matches!(port, 636 | 3269);
    match starttls {
        Some(StartTls::Ldap) => Protocol::LdapStarttls,
        Some(StartTls::Rdp) => Protocol::Rdp,
        Some(StartTls::None) if ldaps_port => Protocol::Ldaps,
        Some(StartTls::None) => Protocol::Tls,
        None => match port {
            389 | 3268 => Protocol::LdapStarttls,
            3389 => Protocol::Rdp,
            _ if ldaps_port => Protocol::Ldaps,
            _ => Protocol::Tls,
        },
    }
}

impl Target {
    /// Apply `--starttls` to a target written without a scheme.
    pub fn with_starttls(mut self, starttls: Option<StartTls>) -> Self {
        if !self.explicit && starttls.is_some() {
            self.protocol = protocol_for_port(self.port, starttls);
        }
        self
    }
}

fn scheme_port(scheme: &str) -> Result<(Option<u16>, Protocol), String> {
    match scheme.to_ascii_lowercase().as_str() {
        "ldap" => Ok((Some(389), Protocol::LdapStarttls)),
        "ldaps" => Ok((Some(636), Protocol::Ldaps)),
        "gc" => Ok((Some(3268), Protocol::LdapStarttls)),
        "gcs" => Ok((Some(3269), Protocol::Ldaps)),
        "rdp" => Ok((Some(3389), Protocol::Rdp)),
        "https" => Ok((Some(443), Protocol::Tls)),
        "tls" => Ok((None, Protocol::Tls)),
        other => Err(format!(
            "unknown scheme '{other}://' (expected ldap, ldaps, gc, gcs, rdp, https or tls)"
        )),
    }
}

fn split_host_port(authority: &str) -> Result<(Host, Option<u16>), String> {
    if authority.is_empty() {
        return Err("missing host".into());
    }
    if let Some(rest) = authority.strip_prefix('[') {
        let (addr, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("unclosed '[' in '{authority}'"))?;
        let ip: Ipv6Addr = addr
            .parse()
            .map_err(|_| format!("invalid IPv6 address '{addr}'"))?;
        let port = match after {
            "" => None,
            p => Some(parse_port(p.strip_prefix(':').ok_or_else(|| {
                format!("expected ':port' after ']' in '{authority}'")
            })?)?),
        };
        return Ok((Host::Ip(IpAddr::V6(ip)), port));
    }
    if authority.matches(':').count() > 1 {
        // Several colons and no brackets: only a bare IPv6 address can look like that.
        return match authority.parse::<Ipv6Addr>() {
            Ok(ip) => Ok((Host::Ip(IpAddr::V6(ip)), None)),
            Err(_) => Err(format!(
                "invalid target '{authority}' (an IPv6 address with a port is written [addr]:port)"
            )),
        };
    }
    let (h, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(parse_port(p)?)),
        None => (authority, None),
    };
    Ok((parse_host(h)?, port))
}

fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        _ => Err(format!("invalid port '{p}' (expected 1 to 65535)")),
    }
}

fn parse_host(h: &str) -> Result<Host, String> {
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Ok(Host::Ip(ip));
    }
    let name = h.to_ascii_lowercase();
    let bare = name.strip_suffix('.').unwrap_or(&name);
    let valid = !bare.is_empty()
        && bare.len() <= 253
        && bare.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if valid {
        Ok(Host::Name(name))
    } else {
        Err(format!("invalid host name '{h}'"))
    }
}

/// Parse a list of targets, one a line; `#` starts a comment. Bad lines are returned as errors
/// naming `source` and the line number; the good ones are kept.
pub fn parse_target_list(text: &str, source: &str) -> (Vec<Target>, Vec<InputError>) {
    parse_target_bytes(text.as_bytes(), source)
}

/// [`parse_target_list`] on bytes as read from a file: a UTF-8 byte order mark is skipped, and a
/// line that is not UTF-8 is an error for that line alone.
pub fn parse_target_bytes(bytes: &[u8], source: &str) -> (Vec<Target>, Vec<InputError>) {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut targets = Vec::new();
    let mut errors = Vec::new();
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for (i, raw) in lines.into_iter().enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(line) = std::str::from_utf8(raw) else {
            errors.push(InputError {
                source: format!("{source}:{}", i + 1),
                message: "not UTF-8 text".into(),
            });
            continue;
        };
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match parse_target(line) {
            Ok(t) => targets.push(t),
            Err(message) => errors.push(InputError {
                source: format!("{source}:{}", i + 1),
                message,
            }),
        }
    }
    (targets, errors)
}

/// Read and parse a targets file (`-` for standard input), at most
/// [`crate::input::MAX_TARGETS_FILE`] bytes of it.
pub fn read_target_file(path: &str) -> Result<(Vec<Target>, Vec<InputError>), crate::error::Error> {
    let (name, shown) = if path == "-" {
        ("<stdin>", "standard input")
    } else {
        (path, path)
    };
    let bytes = crate::input::read_limited(path, crate::input::MAX_TARGETS_FILE, "a targets file")
        .map_err(|source| crate::error::Error::ReadTargets {
            path: shown.to_string(),
            source,
        })?;
    Ok(parse_target_bytes(&bytes, name))
}

/// Fixed answers for names, in curl's `--resolve HOST:PORT:ADDR[,ADDR...]` form (`*` for any
/// port). They take the place of DNS for those names.
#[derive(Clone, Debug, Default)]
pub struct ResolveOverrides {
    map: HashMap<(String, Option<u16>), Vec<IpAddr>>,
}

impl ResolveOverrides {
    pub fn parse_entry(&mut self, spec: &str) -> Result<(), String> {
        let bad = || format!("invalid --resolve '{spec}' (expected HOST:PORT:ADDR[,ADDR...])");
        let (host, rest) = spec.split_once(':').ok_or_else(bad)?;
        let (port, addrs) = rest.split_once(':').ok_or_else(bad)?;
        let port = match port {
            "*" => None,
            p => Some(parse_port(p)?),
        };
        let mut list = Vec::new();
        for a in addrs.split(',') {
            let a = a.trim().trim_start_matches('[').trim_end_matches(']');
            list.push(
                a.parse::<IpAddr>()
                    .map_err(|_| format!("invalid address '{a}' in --resolve '{spec}'"))?,
            );
        }
        if host.is_empty() || list.is_empty() {
            return Err(bad());
        }
        self.map.insert((host.to_ascii_lowercase(), port), list);
        Ok(())
    }

    /// Take over the entries of another set (they win).
    pub fn extend(&mut self, other: ResolveOverrides) {
        self.map.extend(other.map);
    }

    pub fn add(&mut self, host: &str, port: Option<u16>, addrs: Vec<IpAddr>) {
        self.map.insert((host.to_ascii_lowercase(), port), addrs);
    }

    /// The pins that no target uses, as `HOST:PORT` (`*` for any port).
    pub fn unused(&self, targets: &[Target]) -> Vec<String> {
        let mut out: Vec<String> = self
            .map
            .keys()
            .filter(|(host, port)| {
                !targets.iter().any(|t| {
                    matches!(&t.host, Host::Name(n) if n.eq_ignore_ascii_case(host))
                        && port.is_none_or(|p| p == t.port)
                })
            })
            .map(|(host, port)| match port {
                Some(p) => format!("{host}:{p}"),
                None => format!("{host}:*"),
            })
            .collect();
        out.sort();
        out
    }

    fn lookup(&self, host: &str, port: u16) -> Option<&Vec<IpAddr>> {
        self.map
            .get(&(host.to_string(), Some(port)))
            .or_else(|| self.map.get(&(host.to_string(), None)))
    }
}

/// Every address of a target, in resolver order, without repeats.
pub async fn resolve(
    target: &Target,
    overrides: &ResolveOverrides,
    limit: Duration,
) -> Result<Vec<IpAddr>, String> {
    let name = match &target.host {
        Host::Ip(ip) => return Ok(vec![*ip]),
        Host::Name(n) => n,
    };
    if let Some(list) = overrides.lookup(name, target.port) {
        return Ok(list.clone());
    }
    let deadline = tokio::time::Instant::now() + limit;
    let addrs: Vec<SocketAddr> = loop {
        let lookup = tokio::net::lookup_host((name.as_str(), target.port));
        match tokio::time::timeout_at(deadline, lookup).await {
            Err(_) => return Err(format!("DNS: no answer for {name} within {limit:?}")),
            // Out of file descriptors here: wait for one, it says nothing about the name.
            Ok(Err(e)) if crate::scan::out_of_descriptors(&e) => {
                if tokio::time::Instant::now() + Duration::from_millis(20) >= deadline {
                    return Err(format!(
                        "DNS: {name} not looked up: no free file descriptor on this machine ({e})"
                    ));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(Err(e)) => return Err(format!("DNS: {name}: {e}")),
            Ok(Ok(it)) => break it.collect(),
        }
    };
    let mut out: Vec<IpAddr> = Vec::new();
    for a in addrs {
        if !out.contains(&a.ip()) {
            out.push(a.ip());
        }
    }
    if out.is_empty() {
        return Err(format!("DNS: {name} has no address"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> (Host, u16) {
        let t = parse_target(s).unwrap();
        (t.host, t.port)
    }

    #[test]
    fn forms_and_default_ports() {
        let name = |n: &str| Host::Name(n.into());
        assert_eq!(
            t("dc1.corp.example.com"),
            (name("dc1.corp.example.com"), 443)
        );
        assert_eq!(
            t("DC1.Corp.Example.com:636"),
            (name("dc1.corp.example.com"), 636)
        );
        assert_eq!(
            t("ldaps://dc2.corp.example.com"),
            (name("dc2.corp.example.com"), 636)
        );
        assert_eq!(
            t("https://web.example.com/path?q=1"),
            (name("web.example.com"), 443)
        );
        assert_eq!(
            t("tls://10.0.0.5:3269"),
            (Host::Ip("10.0.0.5".parse().unwrap()), 3269)
        );
        assert_eq!(t("[::1]:8443"), (Host::Ip("::1".parse().unwrap()), 8443));
        assert_eq!(t("::1"), (Host::Ip("::1".parse().unwrap()), 443));
        assert_eq!(
            t("LDAPS://[2001:db8::1]"),
            (Host::Ip("2001:db8::1".parse().unwrap()), 636)
        );
    }

    #[test]
    fn bad_targets_say_what_is_wrong() {
        let e = |s: &str| parse_target(s).unwrap_err();
        assert!(e("ftp://x").contains("unknown scheme"));
        assert!(e("tls://x").contains("needs a port"));
        assert!(e("dc1:99999").contains("invalid port '99999'"));
        assert!(e("dc1:").contains("invalid port"));
        assert!(e("bad host!").contains("invalid host name"));
        assert!(e("2001:db8::1:636x").contains("[addr]:port"));
        assert!(e("[::1").contains("unclosed"));
    }

    #[test]
    fn list_keeps_good_lines_and_names_bad_ones() {
        let text = "# DCs\n\ndc1:636  # primary\ndc2:0\n[::1]:8443\n";
        let (targets, errors) = parse_target_list(text, "dcs.txt");
        assert_eq!(targets.len(), 2);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "dcs.txt:4: invalid port '0' (expected 1 to 65535)"
        );
    }

    #[test]
    fn a_non_utf8_line_is_named_and_the_rest_is_read() {
        let text = b"dc1:636\n\xffdc2\xfe:636\r\ndc3:636\r\n";
        let (targets, errors) = parse_target_bytes(text, "dcs.txt");
        let hosts: Vec<String> = targets.iter().map(|t| t.host.to_string()).collect();
        assert_eq!(hosts, ["dc1", "dc3"]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].to_string(), "dcs.txt:2: not UTF-8 text");
    }

    #[test]
    fn a_byte_order_mark_does_not_break_line_1() {
        let (targets, errors) = parse_target_bytes(b"\xef\xbb\xbfdc1.corp.test:636\n", "bom.txt");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(targets[0].host.to_string(), "dc1.corp.test");
    }

    #[test]
    fn sni_is_the_name_never_an_address() {
        assert_eq!(
            parse_target("dc1.example.com.").unwrap().default_sni(),
            Some("dc1.example.com")
        );
        assert_eq!(parse_target("127.0.0.1:636").unwrap().default_sni(), None);
    }

    #[test]
    fn resolve_overrides_take_curl_syntax() {
        let mut o = ResolveOverrides::default();
        o.parse_entry("dc.test:636:127.0.0.1,[::1]").unwrap();
        o.parse_entry("any.test:*:127.0.0.2").unwrap();
        assert_eq!(o.lookup("dc.test", 636).unwrap().len(), 2);
        assert!(o.lookup("dc.test", 389).is_none());
        assert!(o.lookup("any.test", 1).is_some());
        assert!(o.parse_entry("dc.test:636").is_err());
        assert!(o.parse_entry("dc.test:636:nope").is_err());
    }
}
