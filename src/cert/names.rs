//! Does a certificate cover a name? RFC 6125 matching: DNS subject alternative names first, the
//! subject common name only when there are none; a wildcard is a whole left-most label and
//! stands for exactly one label; addresses match IP subject alternative names only.

use std::net::IpAddr;

/// The names a certificate carries, as saved in the report.
#[derive(Clone, Copy, Debug)]
pub struct CertNames<'a> {
    pub common_name: Option<&'a str>,
    pub dns_names: &'a [String],
    pub ip_addresses: &'a [String],
}

fn normal(s: &str) -> String {
    s.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Whether `pattern` (a DNS name from a certificate, maybe `*.domain`) matches host `name`.
pub fn dns_matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (normal(pattern), normal(name));
    if p.is_empty() || n.is_empty() {
        return false;
    }
    match p.strip_prefix("*.") {
        Some(rest) => {
            // `*.com` is no wildcard any client honours; the rest needs two labels.
            if !rest.contains('.') || rest.contains('*') {
                return false;
            }
            match n.split_once('.') {
                Some((first, tail)) => !first.is_empty() && tail == rest,
                None => false,
            }
        }
        None => !p.contains('*') && p == n,
    }
}

impl CertNames<'_> {
    /// What in the certificate covers `name` (`DNS:...`, `IP:...`, `CN:...`), if anything.
    pub fn covering(&self, name: &str) -> Option<String> {
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return self
                .ip_addresses
                .iter()
                .find(|a| a.parse::<IpAddr>().is_ok_and(|a| a == ip))
                .map(|a| format!("IP:{a}"));
        }
        if !self.dns_names.is_empty() {
            return self
                .dns_names
                .iter()
                .find(|d| dns_matches(d, name))
                .map(|d| format!("DNS:{d}"));
        }
        self.common_name
            .filter(|cn| dns_matches(cn, name))
            .map(|cn| format!("CN:{cn}"))
    }

    /// Whether the certificate carries the wildcard `*.domain` itself (what Entra Domain
    /// Services requires), rather than covering one host of the domain.
    pub fn wildcard_for(&self, domain: &str) -> Option<String> {
        let want = format!("*.{}", normal(domain));
        if !self.dns_names.is_empty() {
            return self
                .dns_names
                .iter()
                .find(|d| normal(d) == want)
                .map(|d| format!("DNS:{d}"));
        }
        self.common_name
            .filter(|cn| normal(cn) == want)
            .map(|cn| format!("CN:{cn}"))
    }

    /// The names for people: `DNS:a, DNS:b, IP:1.2.3.4`, or the common name.
    pub fn listed(&self) -> String {
        let mut all: Vec<String> = self.dns_names.iter().map(|d| format!("DNS:{d}")).collect();
        all.extend(self.ip_addresses.iter().map(|a| format!("IP:{a}")));
        if all.is_empty() {
            return match self.common_name {
                Some(cn) => format!("CN:{cn}"),
                None => "no name".into(),
            };
        }
        all.join(", ")
    }
}

/// The domain named by an LDAP naming context: `DC=corp,DC=example,DC=com` is corp.example.com.
pub fn domain_of_naming_context(dn: &str) -> Option<String> {
    let labels: Vec<&str> = dn
        .split(',')
        .filter_map(|rdn| {
            let (k, v) = rdn.trim().split_once('=')?;
            k.trim().eq_ignore_ascii_case("dc").then_some(v.trim())
        })
        .collect();
    (!labels.is_empty()).then(|| labels.join(".").to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_exactly_one_label() {
        assert!(dns_matches("*.corp.test", "dc7.corp.test"));
        assert!(dns_matches("*.CORP.test", "DC7.corp.test."));
        assert!(!dns_matches("*.corp.test", "corp.test"));
        assert!(!dns_matches("*.corp.test", "a.dc7.corp.test"));
        assert!(!dns_matches("*.test", "corp.test"));
        assert!(!dns_matches("dc*.corp.test", "dc1.corp.test"));
        assert!(dns_matches("dc1.corp.test", "dc1.corp.test"));
        assert!(!dns_matches("dc1.corp.test", "dc2.corp.test"));
    }

    #[test]
    fn common_name_counts_only_without_dns_names() {
        let dns = vec!["web.corp.test".to_string()];
        let with = CertNames {
            common_name: Some("dc1.corp.test"),
            dns_names: &dns,
            ip_addresses: &[],
        };
        assert_eq!(with.covering("dc1.corp.test"), None);
        assert_eq!(
            with.covering("web.corp.test").as_deref(),
            Some("DNS:web.corp.test")
        );
        let without = CertNames {
            common_name: Some("dc1.corp.test"),
            dns_names: &[],
            ip_addresses: &[],
        };
        assert_eq!(
            without.covering("dc1.corp.test").as_deref(),
            Some("CN:dc1.corp.test")
        );
    }

    #[test]
    fn addresses_match_ip_names_only() {
        let ips = vec!["127.0.0.1".to_string(), "::1".to_string()];
        let n = CertNames {
            common_name: Some("127.0.0.1"),
            dns_names: &[],
            ip_addresses: &ips,
        };
        assert_eq!(n.covering("127.0.0.1").as_deref(), Some("IP:127.0.0.1"));
        assert_eq!(n.covering("[::1]").as_deref(), Some("IP:::1"));
        assert_eq!(n.covering("10.0.0.1"), None);
    }

    #[test]
    fn domain_wildcard_must_be_the_wildcard_itself() {
        let dns = vec!["dc1.corp.test".to_string(), "*.corp.test".to_string()];
        let n = CertNames {
            common_name: None,
            dns_names: &dns,
            ip_addresses: &[],
        };
        assert_eq!(
            n.wildcard_for("CORP.test").as_deref(),
            Some("DNS:*.corp.test")
        );
        assert_eq!(n.wildcard_for("other.test"), None);
    }

    #[test]
    fn naming_contexts_name_domains() {
        assert_eq!(
            domain_of_naming_context("DC=corp,DC=Example,DC=com").as_deref(),
            Some("corp.example.com")
        );
        assert_eq!(domain_of_naming_context("O=x"), None);
    }
}
