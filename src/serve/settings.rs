//! The exporter's configuration file: the limits that protect the servers probed, and the
//! modules a scrape names (`/probe?module=NAME`), each a way to scan a target.
//!
//! ```yaml
//! limits:
//!   concurrency: 64        # probes in flight over every scrape at once
//!   per_host: 4            # probes in flight against one address
//!   min_interval: 1m       # a target scanned less than this ago gets the cached result
//!   timeout_offset: 500ms  # taken from Prometheus' scrape timeout
//!   max_probe_time: 1m     # bound of a probe when the scrape sends no timeout
//! modules:
//!   ldaps:
//!     versions: [tls1.0, tls1.1, tls1.2, tls1.3]
//!     engine: both         # openssl | wire | both
//!     connect_timeout: 5s
//!     timeout: 10s
//!     retries: 0
//!     ldap_check: true     # search the RootDSE over each accepted version
//!     suites: false        # also enumerate each accepted version's cipher suites (--suites)
//!     starttls: ldap       # for targets written without a scheme: none | ldap | rdp
//!     sni: dc1.corp.example.com
//!     resolve: ["dc1.corp.example.com:636:10.0.0.11"]
//!     min_interval: 5m
//!     certificate:
//!       warn_days: 30      # certificates with fewer days left are found `expires_soon`
//!       ca_file: corp-root.pem   # an enterprise CA, besides the system store (relative to
//!       ca_dir: /etc/ssl/corp    # this file's folder)
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use saphyr::MarkedYaml;

use super::yaml::{self, ConfigError, Reader, join};
use crate::cert::trust::{TrustSources, TrustStore};
use crate::report::Engine;
use crate::scan::{CertConfig, ScanConfig};
use crate::target::{ResolveOverrides, StartTls};
use crate::tls::TlsVersion;

/// The name of the module used when a scrape names none, and the only module when the exporter
/// runs without a configuration file.
pub const DEFAULT_MODULE: &str = "default";

/// Everything the configuration file says, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ExporterSettings {
    pub limits: ServeLimits,
    pub modules: BTreeMap<String, Module>,
}

/// Limits over all scrapes.
#[derive(Clone, Debug, PartialEq)]
pub struct ServeLimits {
    /// Probes in flight at once, over every scrape.
    pub concurrency: usize,
    /// Probes in flight at once against one address, over every scrape.
    pub per_host: usize,
    /// A target scanned less than this ago is answered from the last scan (per module).
    pub min_interval: Duration,
    /// Taken from the scrape timeout Prometheus sends, to leave time for the answer.
    pub timeout_offset: Duration,
    /// Bound of one probe when the request carries no scrape timeout, and at most in any case.
    pub max_probe_time: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            concurrency: 64,
            per_host: 4,
            min_interval: Duration::from_secs(60),
            timeout_offset: Duration::from_millis(500),
            max_probe_time: Duration::from_secs(60),
        }
    }
}

/// One way to scan a target.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    pub versions: Vec<TlsVersion>,
    pub engine: Engine,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub ldap_check: bool,
    /// Enumerate the cipher suites of each accepted version (`scan --suites`).
    pub suites: bool,
    /// What to speak before TLS on targets written without a scheme (by port otherwise).
    pub starttls: Option<StartTls>,
    pub sni: Option<String>,
    /// Fixed addresses for names, in `--resolve` form (`HOST:PORT:ADDR[,ADDR...]`).
    pub resolve: Vec<String>,
    /// This module's minimum interval between two scans of one target.
    pub min_interval: Duration,
    /// Certificates with fewer days left than this are found `expires_soon`.
    pub cert_warn_days: u32,
    /// CA certificates trusted besides the system store.
    pub trust: TrustSources,
}

impl Module {
    fn defaults(limits: &ServeLimits) -> Module {
        let scan = ScanConfig::default();
        Module {
            versions: scan.versions,
            engine: scan.engine,
            connect_timeout: scan.connect_timeout,
            timeout: scan.timeout,
            retries: scan.retries,
            ldap_check: scan.ldap_check,
            suites: scan.suites,
            starttls: None,
            sni: None,
            resolve: Vec::new(),
            min_interval: limits.min_interval,
            cert_warn_days: scan.certificates.warn_days,
            trust: scan.certificates.trust,
        }
    }

    /// The scan settings of one probe that must end within `within`: the module's limits,
    /// shortened so that a probe that gets no answer ends as a timeout before the deadline.
    pub fn scan_config(&self, limits: &ServeLimits, within: Duration) -> ScanConfig {
        let mut resolve = ResolveOverrides::default();
        for r in &self.resolve {
            // Validated when the file was read.
            let _ = resolve.parse_entry(r);
        }
        let timeout = self.timeout.min(within);
        ScanConfig {
            versions: self.versions.clone(),
            concurrency: limits.concurrency,
            per_host: limits.per_host,
            connect_timeout: self.connect_timeout.min(timeout),
            timeout,
            retries: self.retries,
            sni: self.sni.clone(),
            resolve,
            label: None,
            ldap_check: self.ldap_check,
            suites: self.suites,
            engine: self.engine,
            certificates: CertConfig {
                warn_days: self.cert_warn_days,
                trust: self.trust.clone(),
                domain: None,
            },
            ..ScanConfig::default()
        }
    }
}

impl Default for ExporterSettings {
    /// No configuration file: one module, `default`, that scans as `tlsmatrix scan` does.
    fn default() -> Self {
        let limits = ServeLimits::default();
        let modules = [(DEFAULT_MODULE.to_string(), Module::defaults(&limits))].into();
        ExporterSettings { limits, modules }
    }
}

const TOP_KEYS: &[&str] = &["limits", "modules"];
const LIMIT_KEYS: &[&str] = &[
    "concurrency",
    "per_host",
    "min_interval",
    "timeout_offset",
    "max_probe_time",
];
const MODULE_KEYS: &[&str] = &[
    "versions",
    "engine",
    "connect_timeout",
    "timeout",
    "retries",
    "ldap_check",
    "suites",
    "starttls",
    "sni",
    "resolve",
    "min_interval",
    "certificate",
];
const CERT_KEYS: &[&str] = &["warn_days", "ca_file", "ca_dir"];

/// Read and validate a configuration. Every mistake is returned, each with its line. File
/// names in it are taken from `base` (the configuration file's folder) when relative.
pub fn parse(text: &str, base: &Path) -> Result<ExporterSettings, Vec<ConfigError>> {
    let doc = match yaml::parse(text) {
        Ok(Some(doc)) => doc,
        Ok(None) => {
            return Err(vec![ConfigError {
                line: 0,
                column: 0,
                path: String::new(),
                message: "the file is empty: it needs at least 'modules'".into(),
            }]);
        }
        Err(e) => return Err(vec![e]),
    };
    let mut r = Reader::default();
    let mut limits = ServeLimits::default();
    let mut modules_node = None;
    for (key, value) in r.mapping(&doc, "", TOP_KEYS) {
        match key.as_str() {
            "limits" => read_limits(&mut r, value, &mut limits),
            _ => modules_node = Some(value),
        }
    }
    let mut modules = BTreeMap::new();
    match modules_node {
        None if r.errors.is_empty() => r.errors.push(ConfigError {
            line: doc.span.start.line(),
            column: doc.span.start.col() + 1,
            path: String::new(),
            message: "no 'modules': define at least one (see `tlsmatrix serve --help`)".into(),
        }),
        None => {}
        Some(node) => {
            let entries = r.keyed(node, "modules");
            if entries.is_empty() && r.errors.is_empty() {
                r.error(node, "modules", "no module defined");
            }
            for (name, name_node, body) in entries {
                let path = join("modules", &name);
                if !valid_module_name(&name) {
                    r.error(
                        name_node,
                        &path,
                        format!("module name '{name}': use letters, digits, '_', '-' and '.' only"),
                    );
                    continue;
                }
                if let Some(m) = read_module(&mut r, body, &path, &limits, base) {
                    modules.insert(name, m);
                }
            }
        }
    }
    if r.errors.is_empty() {
        Ok(ExporterSettings { limits, modules })
    } else {
        r.errors.sort_by_key(|e| (e.line, e.column));
        Err(r.errors)
    }
}

fn valid_module_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn read_limits(r: &mut Reader, node: &MarkedYaml<'_>, limits: &mut ServeLimits) {
    for (key, value) in r.mapping(node, "limits", LIMIT_KEYS) {
        let path = join("limits", &key);
        match key.as_str() {
            "concurrency" => {
                if let Some(n) = r.integer(value, &path, 1..=100_000) {
                    limits.concurrency = n as usize;
                }
            }
            "per_host" => {
                if let Some(n) = r.integer(value, &path, 1..=1000) {
                    limits.per_host = n as usize;
                }
            }
            "min_interval" => {
                if let Some(d) = r.duration(value, &path, true) {
                    limits.min_interval = d;
                }
            }
            "timeout_offset" => {
                if let Some(d) = r.duration(value, &path, true) {
                    limits.timeout_offset = d;
                }
            }
            _ => {
                if let Some(d) = r.duration(value, &path, false) {
                    limits.max_probe_time = d;
                }
            }
        }
    }
}

fn read_module(
    r: &mut Reader,
    node: &MarkedYaml<'_>,
    path: &str,
    limits: &ServeLimits,
    base: &Path,
) -> Option<Module> {
    let mut m = Module::defaults(limits);
    let before = r.errors.len();
    let mut timeouts = None;
    let mut explicit_connect = false;
    for (key, value) in r.mapping(node, path, MODULE_KEYS) {
        let p = join(path, &key);
        match key.as_str() {
            "versions" => {
                if let Some(items) = r.strings(value, &p) {
                    let mut vs = Vec::new();
                    for (item, at) in items {
                        match item.parse::<TlsVersion>() {
                            Ok(v) => vs.push(v),
                            Err(e) => r.error(at, &p, e),
                        }
                    }
                    vs.sort();
                    vs.dedup();
                    if vs.is_empty() && r.errors.len() == before {
                        r.error(value, &p, "no version to probe");
                    }
                    m.versions = vs;
                }
            }
            "engine" => {
                if let Some(s) = r.string(value, &p) {
                    match s.as_str() {
                        "openssl" => m.engine = Engine::Openssl,
                        "wire" => m.engine = Engine::Wire,
                        "both" => m.engine = Engine::Both,
                        other => r.error(
                            value,
                            &p,
                            format!("unknown engine '{other}' (expected openssl, wire or both)"),
                        ),
                    }
                }
            }
            "connect_timeout" => {
                if let Some(d) = r.duration(value, &p, false) {
                    m.connect_timeout = d;
                    explicit_connect = true;
                    timeouts.get_or_insert(value);
                }
            }
            "timeout" => {
                if let Some(d) = r.duration(value, &p, false) {
                    m.timeout = d;
                    timeouts = Some(value);
                }
            }
            "retries" => {
                if let Some(n) = r.integer(value, &p, 0..=10) {
                    m.retries = n as u32;
                }
            }
            "ldap_check" => {
                if let Some(b) = r.boolean(value, &p) {
                    m.ldap_check = b;
                }
            }
            "suites" => {
                if let Some(b) = r.boolean(value, &p) {
                    m.suites = b;
                }
            }
            "starttls" => {
                if let Some(s) = r.string(value, &p) {
                    match s.as_str() {
                        "none" => m.starttls = Some(StartTls::None),
                        "ldap" => m.starttls = Some(StartTls::Ldap),
                        "rdp" => m.starttls = Some(StartTls::Rdp),
                        other => r.error(
                            value,
                            &p,
                            format!("unknown StartTLS mode '{other}' (expected none, ldap or rdp)"),
                        ),
                    }
                }
            }
            "sni" => {
                if let Some(s) = r.string(value, &p) {
                    if s.is_empty() || s.parse::<std::net::IpAddr>().is_ok() {
                        r.error(
                            value,
                            &p,
                            format!(
                                "'{s}' must be a host name (TLS sends no address as server name)"
                            ),
                        );
                    } else {
                        m.sni = Some(s);
                    }
                }
            }
            "resolve" => {
                if let Some(items) = r.strings(value, &p) {
                    for (item, at) in items {
                        match ResolveOverrides::default().parse_entry(&item) {
                            Ok(()) => m.resolve.push(item),
                            Err(e) => r.error(at, &p, e),
                        }
                    }
                }
            }
            "certificate" => read_certificate(r, value, &p, base, &mut m),
            _ => {
                if let Some(d) = r.duration(value, &p, true) {
                    m.min_interval = d;
                }
            }
        }
    }
    if !explicit_connect {
        // Only `timeout` given: the connect attempts fit in it.
        m.connect_timeout = m.connect_timeout.min(m.timeout);
    }
    if let Some(at) = timeouts
        && m.connect_timeout > m.timeout
    {
        r.error(
            at,
            path,
            format!(
                "connect_timeout ({:?}) is longer than timeout ({:?}), which bounds the whole probe",
                m.connect_timeout, m.timeout
            ),
        );
    }
    (r.errors.len() == before).then_some(m)
}

fn read_certificate(
    r: &mut Reader,
    node: &MarkedYaml<'_>,
    path: &str,
    base: &Path,
    m: &mut Module,
) {
    let mut files: Vec<&MarkedYaml<'_>> = Vec::new();
    for (key, value) in r.mapping(node, path, CERT_KEYS) {
        let p = join(path, &key);
        match key.as_str() {
            "warn_days" => {
                if let Some(n) = r.integer(value, &p, 0..=3650) {
                    m.cert_warn_days = n as u32;
                }
            }
            _ => {
                let Some(s) = r.string(value, &p) else {
                    continue;
                };
                let file: PathBuf = base.join(s);
                if key == "ca_file" {
                    m.trust.ca_file = Some(file);
                } else {
                    m.trust.ca_dir = Some(file);
                }
                files.push(value);
            }
        }
    }
    // The CA files are read now, as `scan` reads --ca-file: a bad one is named at start.
    if let (Some(at), Err(e)) = (files.first(), TrustStore::load(&m.trust)) {
        r.error(at, path, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ExporterSettings, Vec<ConfigError>> {
        super::parse(text, Path::new("."))
    }

    #[test]
    fn a_full_module_is_read() {
        let s = parse(
            "limits:\n  concurrency: 8\n  min_interval: 0\nmodules:\n  ldaps:\n    versions: tls1.0,tls1.2\n    engine: wire\n    timeout: 3s\n    connect_timeout: 1s\n    starttls: ldap\n    resolve: ['dc1.test:636:127.0.0.1']\n  default:\n",
        )
        .unwrap();
        assert_eq!(s.limits.concurrency, 8);
        assert_eq!(s.limits.min_interval, Duration::ZERO);
        let m = &s.modules["ldaps"];
        assert_eq!(m.versions, [TlsVersion::Tls10, TlsVersion::Tls12]);
        assert_eq!(m.engine, Engine::Wire);
        assert_eq!(m.starttls, Some(StartTls::Ldap));
        assert_eq!(m.min_interval, Duration::ZERO, "the limits' default");
        assert!(!m.suites && !m.scan_config(&s.limits, Duration::from_secs(5)).suites);
        assert_eq!(s.modules["default"], Module::defaults(&s.limits));
    }

    #[test]
    fn one_error_per_mistake() {
        let errors = parse(
            "limits:\n  per_host: 0\nmodules:\n  a:\n    versions: [tls1.2, tls1.4]\n    engine: gnutls\n    timout: 2s\n  b:\n    timeout: 1s\n    connect_timeout: 2s\n  'bad name':\n    sni: 10.0.0.1\n",
        )
        .unwrap_err();
        let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(lines.len(), 6, "{lines:#?}");
        assert!(
            lines[0].starts_with(
                "2:13: limits.per_host: expected a whole number from 1 to 1000, got 0"
            )
        );
        assert!(
            lines[1].starts_with("5:24: modules.a.versions: unknown protocol version 'tls1.4'")
        );
        assert!(lines[2].starts_with("6:13: modules.a.engine: unknown engine 'gnutls'"));
        assert!(
            lines[3].starts_with(
                "7:5: modules.a.timout: unknown key 'timout' (did you mean 'timeout'?)"
            )
        );
        assert!(
            lines[4]
                .starts_with("9:14: modules.b: connect_timeout (2s) is longer than timeout (1s)")
        );
        assert!(lines[5].starts_with("11:3: modules.bad name: module name 'bad name'"));
    }

    #[test]
    fn a_short_timeout_alone_shortens_the_connect_limit() {
        let s = parse("modules:\n  quick:\n    timeout: 2s\n").unwrap();
        assert_eq!(s.modules["quick"].connect_timeout, Duration::from_secs(2));
        let e = parse("modules:\n  q:\n    timeout: 2s\n    connect_timeout: 3s\n").unwrap_err();
        assert!(
            e[0].message.starts_with("connect_timeout (3s) is longer"),
            "{e:?}"
        );
    }

    #[test]
    fn certificate_settings_and_a_ca_file_that_cannot_be_read() {
        let s = parse("modules:\n  dc:\n    certificate:\n      warn_days: 45\n").unwrap();
        assert_eq!(s.modules["dc"].cert_warn_days, 45);
        assert_eq!(
            s.modules["dc"]
                .scan_config(&s.limits, Duration::from_secs(9))
                .certificates
                .warn_days,
            45
        );
        let e =
            parse("modules:\n  dc:\n    certificate:\n      ca_file: missing.pem\n").unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].line, e[0].path.as_str()),
            (4, "modules.dc.certificate")
        );
        assert!(e[0].message.contains("missing.pem"), "{e:?}");
    }

    #[test]
    fn a_module_can_ask_for_the_suites() {
        let s = parse("modules:\n  suites:\n    suites: true\n").unwrap();
        assert!(s.modules["suites"].suites);
        assert!(
            s.modules["suites"]
                .scan_config(&s.limits, Duration::from_secs(9))
                .suites
        );
        let e = parse("modules:\n  s:\n    suites: yes please\n").unwrap_err();
        assert_eq!((e[0].line, e[0].path.as_str()), (3, "modules.s.suites"));
        let e = parse("modules:\n  s:\n    suite: true\n").unwrap_err();
        assert!(e[0].message.contains("did you mean 'suites'"), "{e:?}");
    }

    #[test]
    fn modules_are_required() {
        let e = parse("limits:\n  concurrency: 3\n").unwrap_err();
        assert!(e[0].message.starts_with("no 'modules'"), "{:?}", e);
        let e = parse("").unwrap_err();
        assert!(e[0].message.contains("empty"));
        let e = parse("- a\n- b\n").unwrap_err();
        assert!(e[0].message.starts_with("expected a mapping"), "{:?}", e);
    }
}
