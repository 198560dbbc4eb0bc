//! Renderers: each writes a report to any `io::Write`. Nothing here decides anything.

mod certs;
mod check;
mod clients;
mod csv;
mod diff;
mod discovery;
pub mod escape;
mod file;
pub mod html;
mod json;
mod markdown;
mod predict;
pub mod prometheus;
mod suites;
mod table;

use std::io::{self, Write};
use std::path::Path;

use crate::report::{
    Cell, Endpoint, LdapCheck, Outcome, RdpStandardSecurity, Refusal, Report, Status, Verdict,
};

pub use self::check::write_check;
pub use self::clients::{clients_summary, write_client_hellos, write_clients};
pub use self::csv::write_csv;
pub use self::diff::write_diff;
pub use self::discovery::{discovery_summary, write_discovery, write_target_list};
pub use self::file::{Destination, abandon_partial_files, destination, write_atomic};
pub use self::json::write_json;
pub use self::markdown::write_markdown;
pub use self::predict::{
    break_lines, cell_short as predict_cell_short, endpoint_label, predict_summary, write_predict,
    write_profiles,
};
pub use self::prometheus::{Exposition, write_prometheus};
pub use self::table::{say, write_table};

/// How tables are laid out for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Look {
    pub color: bool,
    /// Today's detail in every cell (`no: alert 70`), one line a row, as wide as it takes.
    pub wide: bool,
    /// The width the compact tables fit, wrapping within a column where they must.
    pub width: u16,
}

impl Look {
    /// Compact, no colour, 80 columns.
    pub const PLAIN: Look = Look {
        color: false,
        wide: false,
        width: 80,
    };

    pub fn with_color(color: bool) -> Look {
        Look {
            color,
            ..Look::PLAIN
        }
    }

    /// Every cell's detail, one line a row.
    pub fn wide(color: bool) -> Look {
        Look {
            color,
            wide: true,
            ..Look::PLAIN
        }
    }
}

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
    Markdown,
    /// One self-contained page for people (see [`html`]).
    Html,
    /// The Prometheus exposition format (for node_exporter's textfile collector).
    Prometheus,
}

impl Format {
    /// The format a file name asks for, by its extension.
    /// The file name endings `-o` knows, for messages.
    pub const EXTENSIONS: [&'static str; 8] = [
        ".json",
        ".csv",
        ".md",
        ".markdown",
        ".txt",
        ".html",
        ".htm",
        ".prom",
    ];

    /// The format a path given to `-o` asks for: by its extension; `-` (standard output) gets
    /// the table, as standard output does without `-o`.
    pub fn from_path(path: &Path) -> Option<Format> {
        if path.as_os_str() == "-" {
            return Some(Format::Table);
        }
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "md" | "markdown" => Some(Format::Markdown),
            "txt" => Some(Format::Table),
            "html" | "htm" => Some(Format::Html),
            "prom" => Some(Format::Prometheus),
            _ => None,
        }
    }
}

/// Write a report in a format. `look` applies to the table only.
pub fn write_report(
    report: &Report,
    format: Format,
    look: Look,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => write_table(report, look, w),
        Format::Json => write_json(report, w),
        Format::Csv => write_csv(report, w),
        Format::Markdown => write_markdown(report, w),
        Format::Html => html::write_scan(report, &html::Meta::now(), w),
        Format::Prometheus => write_prometheus(
            &Exposition {
                report,
                probe: None,
                check: None,
            },
            w,
        ),
    }
}

/// The error of a renderer asked for a format its document does not have.
pub(crate) fn no_such_format(document: &str, format: Format) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{document} cannot be written as {format:?}"),
    )
}

/// A cell in a word, for the compact matrix; the legend says what each word means and the
/// notes say why.
pub fn cell_word(cell: &Cell) -> &'static str {
    match &cell.outcome {
        Outcome::Accepted {
            completed: true,
            ldap: None | Some(LdapCheck::Answered),
            ..
        } => "yes",
        Outcome::Accepted { .. } => "yes*",
        Outcome::Refused(_) => "no",
        Outcome::TlsDeclined(_) | Outcome::Interrupted => "—",
        Outcome::Unreachable(_) => "unreach",
        Outcome::Timeout { .. } => "timeout",
        Outcome::NotTestable(_) => "n/a",
        Outcome::Error(_) => "error",
    }
}

/// What each word of the compact matrix means, for the words in use.
pub fn legend(words: &[&str]) -> Option<String> {
    const MEANING: [(&str, &str); 8] = [
        ("yes", "accepted"),
        (
            "yes*",
            "the server chose it, but the handshake or the LDAP search did not finish",
        ),
        ("no", "refused (how: --wide or JSON)"),
        (
            "—",
            "no ClientHello sent: TLS declined before it, or not probed",
        ),
        ("n/a", "the engines in use cannot offer it"),
        ("timeout", "no answer in time"),
        ("unreach", "no connection"),
        ("error", "see the notes"),
    ];
    let used: Vec<String> = MEANING
        .iter()
        .filter(|(w, _)| words.contains(w))
        .map(|(w, m)| format!("{w} = {m}"))
        .collect();
    (!used.is_empty()).then(|| format!("legend: {}", used.join("; ")))
}

/// The short text of a cell in a matrix.
pub fn cell_text(cell: &Cell) -> String {
    match &cell.outcome {
        Outcome::Accepted {
            ldap: Some(LdapCheck::Failed(_)),
            ..
        } => "yes, no LDAP".into(),
        Outcome::Accepted {
            completed: true, ..
        } => "yes".into(),
        Outcome::Accepted {
            completed: false, ..
        } => "yes*".into(),
        Outcome::TlsDeclined(_) => "declined".into(),
        Outcome::Refused(r) => match r {
            Refusal::Alert { code } => format!("no: alert {code}"),
            Refusal::Reset => "no: reset".into(),
            Refusal::Closed => "no: closed".into(),
            Refusal::OtherVersion { version } => format!("no: got {version}"),
            Refusal::NotTls { .. } => "no: not TLS".into(),
        },
        Outcome::Unreachable(_) => "unreachable".into(),
        Outcome::Timeout { .. } => "timeout".into(),
        Outcome::NotTestable(_) => "n/a".into(),
        Outcome::Error(_) => "error".into(),
        Outcome::Interrupted => "not probed".into(),
    }
}

/// The verdict for a matrix: its one name, and in the wide table the old versions a `legacy`
/// endpoint accepts.
pub fn verdict_text(e: &Endpoint, wide: bool) -> String {
    match e.verdict {
        Verdict::Legacy if wide => {
            let old: Vec<&str> = e
                .versions
                .iter()
                .filter(|(v, c)| v.is_legacy() && c.status() == Status::Accepted)
                .map(|(v, _)| v.name())
                .collect();
            format!("legacy: {}", old.join(", "))
        }
        v => v.key().to_string(),
    }
}

/// `12 endpoints: 10 ready, 1 legacy, 1 unreachable`.
pub fn summary_line(report: &Report) -> String {
    let n = report.endpoints.len();
    let parts: Vec<String> = report
        .summary
        .iter()
        .filter(|(_, c)| **c > 0)
        .map(|(v, c)| format!("{c} {}", v.label()))
        .collect();
    let label = match &report.label {
        Some(l) => format!("[{l}] "),
        None => String::new(),
    };
    let mut s = format!(
        "{label}{n} endpoint{}: {}",
        if n == 1 { "" } else { "s" },
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    );
    if !report.input_errors.is_empty() {
        let k = report.input_errors.len();
        s.push_str(&format!(
            "; {k} target{} could not be read",
            if k == 1 { "" } else { "s" }
        ));
    }
    if !report.complete {
        s.push_str("; scan interrupted, unfinished cells marked error");
    }
    s
}

/// The endpoint as `host [address]:port`.
pub fn endpoint_name(e: &Endpoint) -> String {
    let addr = match e.address {
        Some(std::net::IpAddr::V6(a)) => format!("[{a}]"),
        Some(a) => a.to_string(),
        // A name that did not resolve: the name is all there is to show.
        None => return format!("{}:{} (no address)", e.host, e.port),
    };
    if e.host == addr || e.address.is_none_or(|a| a.to_string() == e.host) {
        format!("{addr}:{}", e.port)
    } else {
        format!("{} {addr}:{}", e.host, e.port)
    }
}

/// Explanations that the matrix has no room for: errors, timeouts, unreachable endpoints,
/// handshakes that did not complete, versions not testable. At most `limit` lines.
pub fn notes(report: &Report, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut not_testable: Vec<String> = Vec::new();
    let mut more = 0;
    for e in &report.endpoints {
        let mut lines = Vec::new();
        if e.verdict == Verdict::Unreachable {
            lines.push(format!("{}: {}", endpoint_name(e), e.verdict_detail));
        } else {
            // Versions with the same explanation share one line.
            let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
            for (v, c) in &e.versions {
                let show = match &c.outcome {
                    Outcome::NotTestable(why) => {
                        let line = format!("{}: not testable: {why}", v.name());
                        if !not_testable.contains(&line) {
                            not_testable.push(line);
                        }
                        false
                    }
                    Outcome::Accepted {
                        completed, ldap, ..
                    } => !completed || matches!(ldap, Some(LdapCheck::Failed(_))),
                    _ if c.engines.as_ref().is_some_and(|e| !e.agree) => true,
                    Outcome::Refused(Refusal::NotTls { .. }) => true,
                    Outcome::Refused(_) => false,
                    _ => true,
                };
                if show {
                    let text = format!("{}: {}", c.status().key(), c.outcome.detail());
                    match groups.iter_mut().find(|(t, _)| *t == text) {
                        Some((_, vs)) => vs.push(v.name()),
                        None => groups.push((text, vec![v.name()])),
                    }
                }
            }
            for (text, vs) in groups {
                lines.push(format!("{} {}: {text}", endpoint_name(e), vs.join(", ")));
            }
        }
        if let Some(s @ (RdpStandardSecurity::Allowed | RdpStandardSecurity::Unknown)) =
            e.rdp_standard_security
        {
            lines.push(format!("{}: {}", endpoint_name(e), s.sentence()));
        }
        for l in lines {
            if out.len() < limit {
                out.push(l);
            } else {
                more += 1;
            }
        }
    }
    if more > 0 {
        out.push(format!(
            "... and {more} more (the JSON report has every detail)"
        ));
    }
    out.extend(not_testable);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::{Phase, Protocol, ScanOptions, TlsVersion, ToolInfo};

    fn cell(outcome: Outcome) -> Cell {
        Cell {
            outcome,
            elapsed_ms: 3,
            attempts: 1,
            engines: None,
        }
    }

    /// A fixed report covering every kind of cell and verdict the table shows.
    pub(super) fn sample() -> Report {
        use TlsVersion::*;
        let acc = || {
            cell(Outcome::Accepted {
                cipher: Some("TLS_AES_128_GCM_SHA256".into()),
                completed: true,
                note: None,
                ldap: None,
            })
        };
        let alert = || cell(Outcome::Refused(Refusal::Alert { code: 70 }));
        let nt = || cell(Outcome::NotTestable("no SSLv3 in this build".into()));
        let rows: Vec<(&str, &str, BTreeMap<TlsVersion, Cell>)> = vec![
            (
                "ldaps://dc1.corp.example.com",
                "10.0.0.11",
                [
                    (Ssl3, nt()),
                    (Tls10, acc()),
                    (Tls11, acc()),
                    (Tls12, acc()),
                    (Tls13, acc()),
                ]
                .into(),
            ),
            (
                "ldaps://dc2.corp.example.com",
                "10.0.0.12",
                [
                    (Ssl3, nt()),
                    (Tls10, alert()),
                    (Tls11, alert()),
                    (Tls12, acc()),
                    (Tls13, acc()),
                ]
                .into(),
            ),
            (
                "dc3.corp.example.com:3269",
                "2001:db8::13",
                [
                    (Ssl3, nt()),
                    (Tls10, cell(Outcome::Refused(Refusal::Reset))),
                    (Tls11, cell(Outcome::Refused(Refusal::Closed))),
                    (
                        Tls12,
                        cell(Outcome::Timeout {
                            phase: Phase::Handshake,
                            message: "no TLS answer within 10s".into(),
                        }),
                    ),
                    (
                        Tls13,
                        cell(Outcome::Refused(Refusal::OtherVersion {
                            version: "TLS 1.2".into(),
                        })),
                    ),
                ]
                .into(),
            ),
        ];
        let endpoints: Vec<Endpoint> = rows
            .into_iter()
            .map(|(target, addr, versions)| {
                let (verdict, verdict_detail) = crate::analysis::verdict::judge(&versions);
                let t = crate::target::parse_target(target).unwrap();
                Endpoint {
                    target: target.into(),
                    host: t.host.to_string(),
                    address: Some(addr.parse().unwrap()),
                    port: t.port,
                    protocol: Protocol::Tls,
                    sni: Some(t.host.to_string()),
                    verdict,
                    verdict_detail,
                    root_dse: None,
                    certificate: certificate(&t.host.to_string()),
                    seen_by: BTreeMap::new(),
                    disagreements: vec![],
                    rdp_standard_security: None,
                    suites: Default::default(),
                    connections: None,
                    versions,
                }
            })
            .collect();
        Report {
            schema_version: 1,
            tool: ToolInfo {
                name: "tlsmatrix".into(),
                version: "0.0.0".into(),
            },
            tls_library: "OpenSSL 3.0.19".into(),
            label: Some("before".into()),
            scanner: Some("admin1".into()),
            started: "2026-11-25T09:00:00.000Z".into(),
            finished: "2026-11-25T09:00:01.000Z".into(),
            complete: true,
            options: ScanOptions {
                versions: TlsVersion::ALL.to_vec(),
                concurrency: 64,
                per_host: 4,
                connect_timeout_ms: 5000,
                timeout_ms: 10000,
                retries: 0,
                sni: None,
                ldap_check: true,
                engine: crate::report::Engine::Both,
                cert_warn_days: 30,
                trust_store: Some("system + --ca-file corp-root.pem".into()),
                suites: false,
            },
            input_errors: vec![],
            excluded: vec![],
            warnings: vec![],
            summary: Report::count_verdicts(&endpoints),
            vantage_points: vec![],
            endpoints,
            certificate_consistency: vec![],
        }
    }

    /// dc1 has a good certificate, dc2 one for another name that expires soon (its subject
    /// carries a terminal escape), dc3 none.
    fn certificate(host: &str) -> Option<Box<crate::cert::Certificate>> {
        use crate::cert::*;
        let (cn, days, findings) = match host {
            "dc1.corp.example.com" => ("dc1.corp.example.com", 341, vec![]),
            "dc2.corp.example.com" => (
                "web\u{1b}[31m.corp.example.com",
                12,
                vec![
                    CertFinding {
                        key: FindingKey::NameMismatch,
                        severity: Severity::Error,
                        message: "the certificate does not cover dc2.corp.example.com (the \
                                  scanned name); it names DNS:web\u{1b}[31m.corp.example.com"
                            .into(),
                    },
                    CertFinding {
                        key: FindingKey::ExpiresSoon,
                        severity: Severity::Warning,
                        message: "the certificate expires in 12 days (2026-12-07T09:00:00Z)".into(),
                    },
                ],
            ),
            _ => return None,
        };
        Some(Box::new(Certificate {
            chain: vec![CertInfo {
                subject: format!("CN={cn}"),
                issuer: "CN=Corp Issuing CA".into(),
                serial: "1A2B".into(),
                sha256: "AB:CD:EF:01".into(),
                not_before: "2026-01-01T00:00:00Z".into(),
                not_after: "2026-12-07T09:00:00Z".into(),
                days_left: days,
                key_type: "RSA".into(),
                key_bits: 2048,
                curve: None,
                signature_algorithm: "sha256WithRSAEncryption".into(),
                self_signed: false,
                ca: false,
            }],
            common_name: Some(cn.into()),
            dns_names: vec![cn.into()],
            ip_addresses: vec![],
            key_usage: Some(vec!["digitalSignature".into(), "keyEncipherment".into()]),
            extended_key_usage: Some(vec!["serverAuth".into()]),
            names: vec![],
            trust: Trust {
                verified: true,
                store: "system + --ca-file corp-root.pem".into(),
                error: None,
                error_code: None,
            },
            findings,
            versions: vec![TlsVersion::Tls12, TlsVersion::Tls13],
            other_chains: Default::default(),
        }))
    }

    fn render(format: Format) -> String {
        render_as(format, Look::wide(false))
    }

    fn render_as(format: Format, look: Look) -> String {
        let mut out = Vec::new();
        write_report(&sample(), format, look, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn table_snapshot() {
        insta::assert_snapshot!(render(Format::Table));
    }

    /// The default table fits the terminal: every line within 80 and within 120 columns.
    #[test]
    fn compact_table_snapshots_at_80_and_120_columns() {
        for width in [80u16, 120] {
            let out = render_as(
                Format::Table,
                Look {
                    color: false,
                    wide: false,
                    width,
                },
            );
            for line in out.lines() {
                assert!(
                    line.chars().count() <= usize::from(width),
                    "{width}: {} columns: {line}",
                    line.chars().count()
                );
            }
            insta::assert_snapshot!(format!("compact_table_{width}"), out);
        }
    }

    #[test]
    fn markdown_snapshot() {
        insta::assert_snapshot!(render(Format::Markdown));
    }

    #[cfg(unix)]
    #[test]
    fn atomic_files_are_readable_as_plain_files_not_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // A new file: the mode a plain `File::create` gets under the same umask.
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let new = dir.path().join("tls.prom");
        write_atomic(&new, |w| w.write_all(b"x 1\n")).unwrap();
        assert_eq!(mode(&new), mode(&plain));
        // A file replaced keeps its mode.
        std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&new, |w| w.write_all(b"x 2\n")).unwrap();
        assert_eq!(mode(&new), 0o640);
        assert_eq!(std::fs::read_to_string(&new).unwrap(), "x 2\n");
    }

    #[test]
    fn certificate_text_from_servers_never_reaches_a_table_raw() {
        for format in [Format::Table, Format::Markdown, Format::Csv] {
            let out = render(format);
            assert!(!out.contains('\u{1b}'), "{format:?}: {out}");
            assert!(out.contains("web\\u{1b}[31m"), "{format:?}: {out}");
        }
    }

    #[test]
    fn json_reads_back_as_the_same_report() {
        let back: Report = serde_json::from_str(&render(Format::Json)).unwrap();
        assert_eq!(back, sample());
    }
}
