//! Scan results in the Prometheus exposition format: what `tlsmatrix serve` answers on `/probe`,
//! and what `--format prometheus` writes for node_exporter's textfile collector.
//!
//! The format itself (HELP and TYPE lines, number formatting, label values escaped, the closing
//! `# EOF`) comes from `prometheus-client`, which node_exporter and Prometheus both read; it
//! escapes label values since 0.26, so text from servers (RootDSE attributes) and from scrapes
//! (the target) cannot break a line or end a value early. Such text is also cut to a bounded
//! length ([`Text::outside`]).
//!
//! Every series carries `target` (as written in the scrape or the scan), and a row of the matrix
//! adds `address`, `port` and `protocol`. Values: 1 yes, 0 no, NaN when the cell could not be
//! decided (a timeout or an error is never a "refused"). Series appear in a fixed order.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::analysis::policy::{CheckReport, Compliance};
use crate::report::{Endpoint, LdapCheck, Outcome, Proof, Refusal, Report, Verdict};
use crate::tls::suites::SuiteClass;

/// The content type of what this module writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Longest label value taken from outside; longer text is cut (on a character boundary).
const MAX_TEXT: usize = 256;

/// What a probe of the exporter adds to a scan.
#[derive(Clone, Debug)]
pub struct ProbeMeta {
    /// How long the scan behind the answer took.
    pub duration: Duration,
    /// The answer comes from a scan made for an earlier or a concurrent scrape.
    pub cached: bool,
    /// Time since that scan finished.
    pub age: Duration,
}

/// What to write: a scan, and optionally what the exporter knows of the probe and a policy check
/// of the same scan.
pub struct Exposition<'a> {
    pub report: &'a Report,
    pub probe: Option<ProbeMeta>,
    pub check: Option<&'a CheckReport>,
}

/// Write the exposition.
pub fn write_prometheus(x: &Exposition<'_>, w: &mut dyn Write) -> io::Result<()> {
    w.write_all(render(x).as_bytes())
}

/// The exposition as text.
pub fn render(x: &Exposition<'_>) -> String {
    encode_families(families(x))
}

/// A label value (escaped by the encoder as the format requires).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Text(pub String);

impl Text {
    /// Text from outside, cut to a bounded length.
    pub fn outside(s: &str) -> Text {
        let mut end = s.len().min(MAX_TEXT);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        Text(s[..end].to_string())
    }
}

impl EncodeLabelValue for Text {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(&self.0)
    }
}

type Labels = Vec<(&'static str, Text)>;

/// One metric family with its samples, in the order they are written.
#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    samples: Vec<(Labels, f64)>,
}

impl Family {
    fn new(name: &'static str, help: &'static str) -> Self {
        Family {
            name,
            help,
            samples: Vec::new(),
        }
    }

    fn push(&mut self, labels: Labels, value: f64) {
        self.samples.push((labels, value));
    }
}

/// Writes the families in order; a label set seen twice in a family is written once (Prometheus
/// would refuse the whole scrape otherwise).
#[derive(Debug)]
struct Families(Vec<Family>);

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.0 {
            if f.samples.is_empty() {
                continue;
            }
            let gauge = ConstGauge::new(0.0f64);
            let mut metric =
                encoder.encode_descriptor(f.name, f.help, None, gauge.metric_type())?;
            let mut seen = HashSet::new();
            for (labels, value) in &f.samples {
                if !seen.insert(labels) {
                    continue;
                }
                ConstGauge::new(*value).encode(metric.encode_family(labels)?)?;
            }
        }
        Ok(())
    }
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn text(s: &str) -> Text {
    Text(s.to_string())
}

/// `target`, `address`, `port`, `protocol` of a row.
fn endpoint_labels(e: &Endpoint) -> Labels {
    vec![
        ("target", Text::outside(&e.target)),
        (
            "address",
            Text(e.address.map(|a| a.to_string()).unwrap_or_default()),
        ),
        ("port", Text(e.port.to_string())),
        ("protocol", text(e.protocol.key())),
    ]
}

fn with(mut labels: Labels, more: &[(&'static str, Text)]) -> Labels {
    labels.extend(more.iter().cloned());
    labels
}

/// Whether a probe of one target worked: it has rows, and every row has a verdict. (A verdict of
/// "no TLS" is a result; unreachable rows and rows left incomplete are not.)
pub fn succeeded(report: &Report, target: &str) -> bool {
    let mut rows = report.endpoints.iter().filter(|e| e.target == target);
    let mut any = false;
    report.complete
        && rows.all(|e| {
            any = true;
            !matches!(e.verdict, Verdict::Unreachable | Verdict::Incomplete)
        })
        && any
}

/// The answer of a probe that got no result in time (it waited for a scan that another scrape
/// started, with a longer timeout): failed, and how long it waited.
pub fn render_without_result(target: &str, waited: Duration) -> String {
    let labels = vec![("target", Text::outside(target))];
    let mut success = Family::new(
        "tlsmatrix_probe_success",
        "1 when every address of the target got a verdict (reachable, every cell decided).",
    );
    success.push(labels.clone(), 0.0);
    let mut duration = Family::new(
        "tlsmatrix_probe_duration_seconds",
        "How long the scan behind this answer took.",
    );
    duration.push(labels, waited.as_secs_f64());
    encode_families(vec![success, duration])
}

fn encode_families(families: Vec<Family>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Families(families)));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry)
        .expect("writing to a String does not fail");
    out
}

/// The low-cardinality word for how a cell ended, beside its status.
pub fn how(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Accepted {
            ldap: Some(LdapCheck::Failed(_)),
            ..
        } => "ldap_failed".into(),
        Outcome::Accepted {
            completed: false, ..
        } => "handshake_incomplete".into(),
        Outcome::Accepted { .. } => String::new(),
        Outcome::Refused(r) => match r {
            Refusal::Alert { code } => format!("alert_{}", crate::report::alert_name(*code)),
            Refusal::Reset => "reset".into(),
            Refusal::Closed => "closed".into(),
            Refusal::OtherVersion { .. } => "other_version".into(),
            Refusal::NotTls { .. } => "not_tls".into(),
        },
        Outcome::TlsDeclined(_) => "tls_declined".into(),
        Outcome::Timeout { phase, .. } => match phase {
            crate::report::Phase::Connect => "connect".into(),
            crate::report::Phase::Prelude => "prelude".into(),
            crate::report::Phase::Handshake => "handshake".into(),
        },
        Outcome::Unreachable(_)
        | Outcome::NotTestable(_)
        | Outcome::Error(_)
        | Outcome::Interrupted => String::new(),
    }
}

/// 1 accepted, 0 refused, NaN when the cell proves nothing (a timeout, an error, TLS declined
/// before any ClientHello: see [`Proof`]).
fn accepted_value(o: &Outcome) -> f64 {
    match o.proof() {
        Proof::Accepted { .. } => 1.0,
        Proof::Refused => 0.0,
        Proof::Unproven(_) => f64::NAN,
    }
}

/// 1 when the version really works (for LDAP, the directory answered over it), 0 when refused or
/// when the handshake alone worked, NaN when the cell proves nothing.
fn works_value(o: &Outcome) -> f64 {
    match o.proof() {
        Proof::Accepted { works } => flag(works),
        Proof::Refused => 0.0,
        Proof::Unproven(_) => f64::NAN,
    }
}

fn unix_seconds(rfc3339: &str) -> Option<f64> {
    let t = humantime::parse_rfc3339_weak(rfc3339).ok()?;
    Some(t.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs_f64())
}

fn families(x: &Exposition<'_>) -> Vec<Family> {
    let report = x.report;
    let mut targets: Vec<&str> = Vec::new();
    for e in &report.endpoints {
        if !targets.contains(&e.target.as_str()) {
            targets.push(&e.target);
        }
    }

    let mut success = Family::new(
        "tlsmatrix_probe_success",
        "1 when every address of the target got a verdict (reachable, every cell decided).",
    );
    let mut rows = Family::new(
        "tlsmatrix_probe_endpoints",
        "Rows of the matrix for the target: one per address it resolved to.",
    );
    let mut duration = Family::new(
        "tlsmatrix_probe_duration_seconds",
        "How long the scan behind this answer took.",
    );
    let mut cached = Family::new(
        "tlsmatrix_probe_cached",
        "1 when this answer is the result of a scan made for an earlier or concurrent scrape (the target's minimum interval).",
    );
    let mut age = Family::new(
        "tlsmatrix_probe_age_seconds",
        "Time since the scan behind this answer finished.",
    );
    for t in &targets {
        let labels = vec![("target", Text::outside(t))];
        success.push(labels.clone(), flag(succeeded(report, t)));
        let n = report.endpoints.iter().filter(|e| e.target == *t).count();
        rows.push(labels.clone(), n as f64);
        if let Some(p) = &x.probe {
            duration.push(labels.clone(), p.duration.as_secs_f64());
            cached.push(labels.clone(), flag(p.cached));
            age.push(labels, p.age.as_secs_f64());
        }
    }

    let mut scan_time = Family::new(
        "tlsmatrix_scan_timestamp_seconds",
        "When the scan finished, in seconds since the Unix epoch.",
    );
    if let Some(t) = unix_seconds(&report.finished) {
        scan_time.push(Vec::new(), t);
    }
    let mut complete = Family::new(
        "tlsmatrix_scan_complete",
        "0 when the scan was interrupted (or ran out of time) before every cell was probed.",
    );
    complete.push(Vec::new(), flag(report.complete));
    let mut input_errors = Family::new(
        "tlsmatrix_scan_input_errors",
        "Targets of the scan that could not be read (bad lines in a targets file).",
    );
    input_errors.push(Vec::new(), report.input_errors.len() as f64);

    let mut verdict = Family::new(
        "tlsmatrix_endpoint_verdict",
        "The verdict of the row for a move to TLS 1.2-only: 1 for the current one, 0 for the others.",
    );
    let mut accepted = Family::new(
        "tlsmatrix_version_accepted",
        "1 when the server accepted the forced version, 0 when it refused it, NaN when the cell could not be decided (see tlsmatrix_version_status).",
    );
    let mut works = Family::new(
        "tlsmatrix_version_works",
        "1 when the version works (on LDAP, the directory answered a RootDSE search over it), 0 when it is refused or only the handshake works, NaN when undecided.",
    );
    let mut status = Family::new(
        "tlsmatrix_version_status",
        "The status of the cell (accepted, refused, unreachable, timeout, not_testable, error) and how it ended.",
    );
    let mut root_dse = Family::new(
        "tlsmatrix_ldap_root_dse_info",
        "What the directory's RootDSE says about itself, as read over TLS.",
    );
    let mut not_after = Family::new(
        "tlsmatrix_certificate_not_after_timestamp_seconds",
        "When the certificate the server sent (with its newest accepted version) expires, in seconds since the Unix epoch.",
    );
    let mut remaining = Family::new(
        "tlsmatrix_certificate_remaining_seconds",
        "Time from the scan to the certificate's expiry (days left x 86400); negative once expired.",
    );
    let scanned = unix_seconds(&report.finished);
    let mut trusted = Family::new(
        "tlsmatrix_certificate_trusted",
        "1 when the certificate chain verified against the trust store of the scan.",
    );
    let mut finding = Family::new(
        "tlsmatrix_certificate_finding",
        "1 for each finding about the certificate (expired, expires_soon, name_mismatch, untrusted, ...), with its severity.",
    );
    let mut cert_info = Family::new(
        "tlsmatrix_certificate_info",
        "The server's certificate: subject, issuer, serial number.",
    );
    let mut suites = Family::new(
        "tlsmatrix_suites_accepted",
        "With scan --suites: how many cipher suites the server accepts with the version, by class (insecure, weak, ok).",
    );
    let mut suites_complete = Family::new(
        "tlsmatrix_suites_complete",
        "With scan --suites: 1 when every hello of the version's suite enumeration got a decided answer, so the counts are whole; 0 when the list may miss suites.",
    );
    for e in &report.endpoints {
        let base = endpoint_labels(e);
        for (v, list) in &e.suites {
            let labels = with(base.clone(), &[("version", text(v.key()))]);
            for class in SuiteClass::ALL {
                suites.push(
                    with(labels.clone(), &[("class", text(class.key()))]),
                    list.count(class) as f64,
                );
            }
            suites_complete.push(labels, flag(list.complete));
        }
        for v in Verdict::ALL {
            verdict.push(
                with(base.clone(), &[("verdict", text(v.key()))]),
                flag(e.verdict == v),
            );
        }
        for (v, cell) in &e.versions {
            let labels = with(base.clone(), &[("version", text(v.key()))]);
            accepted.push(labels.clone(), accepted_value(&cell.outcome));
            works.push(labels.clone(), works_value(&cell.outcome));
            status.push(
                with(
                    labels,
                    &[
                        ("status", text(cell.status().key())),
                        ("how", Text(how(&cell.outcome))),
                    ],
                ),
                1.0,
            );
        }
        if let Some(c) = &e.certificate
            && let Some(leaf) = c.leaf()
        {
            not_after.push(base.clone(), leaf.not_after_unix() as f64);
            // The time left when the scan finished (a cached answer says how old it is).
            let left = match scanned {
                Some(t) => leaf.not_after_unix() as f64 - t,
                None => leaf.days_left as f64 * 86400.0,
            };
            remaining.push(base.clone(), left);
            trusted.push(base.clone(), flag(c.trust.verified));
            for f in &c.findings {
                finding.push(
                    with(
                        base.clone(),
                        &[
                            ("finding", text(f.key.key())),
                            ("severity", text(f.severity.key())),
                        ],
                    ),
                    1.0,
                );
            }
            cert_info.push(
                with(
                    base.clone(),
                    &[
                        ("subject", Text::outside(&leaf.subject)),
                        ("issuer", Text::outside(&leaf.issuer)),
                        ("serial", Text::outside(&leaf.serial)),
                    ],
                ),
                1.0,
            );
        }
        if let Some(d) = &e.root_dse {
            let field = |v: &Option<String>| Text::outside(v.as_deref().unwrap_or(""));
            root_dse.push(
                with(
                    base.clone(),
                    &[
                        ("dns_host_name", field(&d.dns_host_name)),
                        ("default_naming_context", field(&d.default_naming_context)),
                        ("vendor_name", field(&d.vendor_name)),
                        ("vendor_version", field(&d.vendor_version)),
                        (
                            "domain_controller_functionality",
                            field(&d.domain_controller_functionality),
                        ),
                    ],
                ),
                1.0,
            );
        }
    }

    let mut out = vec![
        success,
        rows,
        duration,
        cached,
        age,
        scan_time,
        complete,
        input_errors,
        verdict,
        accepted,
        works,
        status,
        root_dse,
        not_after,
        remaining,
        trusted,
        finding,
        cert_info,
        suites,
        suites_complete,
    ];
    if let Some(c) = x.check {
        out.extend(policy_families(report, c));
    }
    out
}

const COMPLIANCE: [Compliance; 3] = [Compliance::Pass, Compliance::Fail, Compliance::Inconclusive];

fn policy_families(report: &Report, c: &CheckReport) -> Vec<Family> {
    let policy = Text::outside(&c.policy.name);
    let mut overall = Family::new(
        "tlsmatrix_policy_result",
        "The result of the policy check over every row: 1 for the current one (pass, fail, inconclusive), 0 for the others.",
    );
    for r in COMPLIANCE {
        overall.push(
            vec![("policy", policy.clone()), ("result", text(&r.to_string()))],
            flag(c.result == r),
        );
    }
    let mut rows = Family::new(
        "tlsmatrix_policy_compliance",
        "The result of the policy check for the row: 1 for the current one (pass, fail, inconclusive), 0 for the others.",
    );
    // The check has one entry per row of the report, in the same order.
    for (e, checked) in report.endpoints.iter().zip(&c.endpoints) {
        let base = with(endpoint_labels(e), &[("policy", policy.clone())]);
        for r in COMPLIANCE {
            rows.push(
                with(base.clone(), &[("result", text(&r.to_string()))]),
                flag(checked.result == r),
            );
        }
    }
    vec![overall, rows]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Phase, RootDse, TlsVersion, fixtures};

    /// A finished scan of these rows (the fields a scan report must have; the others default).
    fn report(endpoints: Vec<Endpoint>) -> Report {
        let mut r: Report = serde_json::from_value(serde_json::json!({
            "schema_version": crate::report::SCHEMA_VERSION,
            "tool": {"name": "tlsmatrix", "version": "0"},
            "tls_library": "OpenSSL",
            "label": null,
            "scanner": null,
            "started": "2026-01-01T00:00:00.000Z",
            "finished": "2026-01-01T00:00:01.500Z",
            "complete": true,
            "options": {"versions": ["tls1.0", "tls1.1", "tls1.2"], "concurrency": 1,
                        "per_host": 1, "connect_timeout_ms": 1, "timeout_ms": 1,
                        "retries": 0, "sni": null},
            "summary": {},
            "endpoints": []
        }))
        .expect("a minimal report");
        r.summary = Report::count_verdicts(&endpoints);
        r.endpoints = endpoints;
        r
    }

    /// An LDAPS row of `target` at 10.0.0.1, judged.
    fn endpoint(target: &str, cells: Vec<(TlsVersion, Outcome)>) -> Endpoint {
        let mut e = fixtures::endpoint(&cells);
        e.target = target.into();
        e.address = Some("10.0.0.1".parse().unwrap());
        (e.verdict, e.verdict_detail) = crate::analysis::verdict::judge(&e.versions);
        e
    }

    /// Accepted, and the directory answered over it.
    fn acc() -> Outcome {
        Outcome::Accepted {
            cipher: None,
            completed: true,
            note: None,
            ldap: Some(LdapCheck::Answered),
        }
    }

    #[test]
    fn undecided_cells_are_nan_never_refused() {
        let e = endpoint(
            "ldaps://dc1",
            vec![
                (
                    TlsVersion::Tls10,
                    Outcome::Timeout {
                        phase: Phase::Handshake,
                        message: "t".into(),
                    },
                ),
                (
                    TlsVersion::Tls11,
                    Outcome::Refused(Refusal::Alert { code: 70 }),
                ),
                (TlsVersion::Tls12, acc()),
            ],
        );
        let text = render(&Exposition {
            report: &report(vec![e]),
            probe: None,
            check: None,
        });
        let labels = r#"target="ldaps://dc1",address="10.0.0.1",port="636",protocol="ldaps""#;
        for line in [
            format!("tlsmatrix_version_accepted{{{labels},version=\"tls1.0\"}} NaN"),
            format!("tlsmatrix_version_accepted{{{labels},version=\"tls1.1\"}} 0.0"),
            format!("tlsmatrix_version_accepted{{{labels},version=\"tls1.2\"}} 1.0"),
            format!(
                "tlsmatrix_version_status{{{labels},version=\"tls1.0\",status=\"timeout\",how=\"handshake\"}} 1.0"
            ),
            format!(
                "tlsmatrix_version_status{{{labels},version=\"tls1.1\",status=\"refused\",how=\"alert_protocol_version\"}} 1.0"
            ),
            format!("tlsmatrix_endpoint_verdict{{{labels},verdict=\"incomplete\"}} 1.0"),
            format!("tlsmatrix_endpoint_verdict{{{labels},verdict=\"ready\"}} 0.0"),
            "tlsmatrix_probe_success{target=\"ldaps://dc1\"} 0.0".to_string(),
            "tlsmatrix_scan_timestamp_seconds 1767225601.5".to_string(),
        ] {
            assert!(text.lines().any(|l| l == line), "no line {line} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
        assert!(!text.contains("tlsmatrix_probe_cached"), "only for probes");
    }

    #[test]
    fn text_from_outside_cannot_break_the_format() {
        let mut e = endpoint("https://dc1/a\"b\\c\nx 1", vec![(TlsVersion::Tls12, acc())]);
        e.root_dse = Some(RootDse {
            vendor_name: Some("evil\"} 1\nfake_metric 1".into()),
            dns_host_name: Some("é".repeat(300)),
            ..RootDse::default()
        });
        let text = render(&Exposition {
            report: &report(vec![e]),
            probe: None,
            check: None,
        });
        assert!(
            text.contains(r#"target="https://dc1/a\"b\\c\nx 1""#),
            "{text}"
        );
        assert!(text.contains(r#"vendor_name="evil\"} 1\nfake_metric 1""#));
        assert!(!text.lines().any(|l| l.starts_with("fake_metric")));
        let long = text
            .lines()
            .find(|l| l.starts_with("tlsmatrix_ldap_root_dse_info"))
            .unwrap();
        assert!(long.contains(&format!("dns_host_name=\"{}\"", "é".repeat(128))));
    }

    #[test]
    fn the_certificate_gives_its_expiry_time_left_trust_and_findings() {
        let mut e = endpoint("ldaps://dc1", vec![(TlsVersion::Tls12, acc())]);
        e.certificate = Some(Box::new(
            serde_json::from_value(serde_json::json!({
                "chain": [{
                    "subject": "CN=dc1.corp.example.com", "issuer": "CN=Corp \"Root\" CA",
                    "serial": "0A1B", "sha256": "AA:BB", "not_before": "2026-01-01T00:00:00Z",
                    "not_after": "2026-02-01T00:00:00Z", "days_left": 31, "key_type": "RSA",
                    "key_bits": 2048, "signature_algorithm": "sha256WithRSAEncryption",
                    "self_signed": false, "ca": false
                }],
                "trust": {"verified": false, "store": "system"},
                "findings": [
                    {"key": "untrusted", "severity": "error", "message": "unknown CA"},
                    {"key": "expires_soon", "severity": "warning", "message": "31 days left"}
                ]
            }))
            .unwrap(),
        ));
        let text = render(&Exposition {
            report: &report(vec![e]),
            probe: None,
            check: None,
        });
        let row = r#"target="ldaps://dc1",address="10.0.0.1",port="636",protocol="ldaps""#;
        for line in [
            format!("tlsmatrix_certificate_not_after_timestamp_seconds{{{row}}} 1769904000.0"),
            // From the end of the scan (2026-01-01T00:00:01.5Z) to the expiry.
            format!("tlsmatrix_certificate_remaining_seconds{{{row}}} 2678398.5"),
            format!("tlsmatrix_certificate_trusted{{{row}}} 0.0"),
            format!(
                "tlsmatrix_certificate_finding{{{row},finding=\"untrusted\",severity=\"error\"}} 1.0"
            ),
            format!(
                "tlsmatrix_certificate_finding{{{row},finding=\"expires_soon\",severity=\"warning\"}} 1.0"
            ),
            format!(
                "tlsmatrix_certificate_info{{{row},subject=\"CN=dc1.corp.example.com\",issuer=\"CN=Corp \\\"Root\\\" CA\",serial=\"0A1B\"}} 1.0"
            ),
        ] {
            assert!(text.lines().any(|l| l == line), "no line {line} in\n{text}");
        }
    }

    #[test]
    fn suite_lists_give_counts_per_class_and_whether_they_are_whole() {
        use crate::report::{AcceptedSuite, VersionSuites};
        let mut e = endpoint("ldaps://dc1", vec![(TlsVersion::Tls12, acc())]);
        let mut list = VersionSuites {
            suites: [0xc02f, 0xc030, 0x002f, 0x000a]
                .into_iter()
                .map(AcceptedSuite::of)
                .collect(),
            complete: true,
            ..Default::default()
        };
        // A hand-edited name reaches no label: the counts are by class.
        list.suites[0].name = "evil\"} 1\nfake_metric 1".into();
        e.suites.insert(TlsVersion::Tls12, list.clone());
        list.complete = false;
        list.suites.truncate(1);
        e.suites.insert(TlsVersion::Tls13, list);
        let text = render(&Exposition {
            report: &report(vec![e]),
            probe: None,
            check: None,
        });
        let row = r#"target="ldaps://dc1",address="10.0.0.1",port="636",protocol="ldaps""#;
        for line in [
            format!("tlsmatrix_suites_accepted{{{row},version=\"tls1.2\",class=\"insecure\"}} 1.0"),
            format!("tlsmatrix_suites_accepted{{{row},version=\"tls1.2\",class=\"weak\"}} 1.0"),
            format!("tlsmatrix_suites_accepted{{{row},version=\"tls1.2\",class=\"ok\"}} 2.0"),
            format!("tlsmatrix_suites_accepted{{{row},version=\"tls1.3\",class=\"insecure\"}} 0.0"),
            format!("tlsmatrix_suites_complete{{{row},version=\"tls1.2\"}} 1.0"),
            format!("tlsmatrix_suites_complete{{{row},version=\"tls1.3\"}} 0.0"),
            "# HELP tlsmatrix_suites_accepted With scan --suites: how many cipher suites the server accepts with the version, by class (insecure, weak, ok).".to_string(),
        ] {
            assert!(text.lines().any(|l| l == line), "no line {line} in\n{text}");
        }
        assert!(!text.contains("fake_metric") && !text.contains("evil"));
        // Without lists, no suite series at all.
        let e = endpoint("ldaps://dc1", vec![(TlsVersion::Tls12, acc())]);
        let plain = render(&Exposition {
            report: &report(vec![e]),
            probe: None,
            check: None,
        });
        assert!(!plain.contains("tlsmatrix_suites"), "{plain}");
    }

    #[test]
    fn a_label_set_seen_twice_is_written_once() {
        let e = endpoint("dc1:636", vec![(TlsVersion::Tls12, acc())]);
        let text = render(&Exposition {
            report: &report(vec![e.clone(), e]),
            probe: None,
            check: None,
        });
        let n = text
            .lines()
            .filter(|l| l.starts_with("tlsmatrix_version_accepted{"))
            .count();
        assert_eq!(n, 1);
    }
}
