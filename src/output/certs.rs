//! The certificate pieces of the renderers: the short column, the notes, the CSV fields.
//!
//! Certificate text (subjects, issuers, names) comes from servers: it goes through [`clean`]
//! before any medium sees it.

use comfy_table::Color;

use super::endpoint_name;
use crate::cert::{Certificate, FindingKey, Severity};
use crate::report::{Endpoint, Report, TlsVersion};

/// Server text made safe to show: control characters (terminal escapes, newlines, DEL, C1) and
/// bidirectional overrides become `\u{..}` escapes.
pub fn clean(s: &str) -> String {
    super::escape::term(s).into_owned()
}

/// A CSV field from server text: cleaned, and never read as a formula by a spreadsheet.
pub fn csv_field(s: &str) -> String {
    let c = clean(s);
    if c.starts_with(['=', '+', '-', '@']) {
        format!("'{c}")
    } else {
        c
    }
}

fn short(key: FindingKey, c: &Certificate) -> String {
    match key {
        FindingKey::Expired => "EXPIRED".into(),
        FindingKey::NotYetValid => "not yet valid".into(),
        FindingKey::NameMismatch => "name?".into(),
        FindingKey::Untrusted => "untrusted".into(),
        FindingKey::ChainIncomplete => "chain?".into(),
        FindingKey::NoServerAuthEku => "no serverAuth".into(),
        FindingKey::KeyUsage => "key usage?".into(),
        FindingKey::ExpiresSoon => {
            // The soonest certificate of the chain that expires soon.
            let days = c
                .chain
                .iter()
                .enumerate()
                .filter(|(i, x)| *i == 0 || !x.self_signed)
                .map(|(_, x)| x.days_left)
                .min()
                .unwrap_or(0);
            format!("expires {days}d")
        }
        FindingKey::WeakKey => "weak key".into(),
        FindingKey::WeakSignature => "weak sig".into(),
        FindingKey::SelfSigned => "self-signed".into(),
    }
}

/// The certificate in a word or two: `ok 341d`, `expires 12d`, `EXPIRED`, `name?`,
/// `untrusted`, ... with `+N` when there are more problems; `-` without a certificate.
pub fn column(e: &Endpoint) -> String {
    let Some(c) = e.certificate.as_deref() else {
        return "-".into();
    };
    let problems: Vec<_> = c.problems().collect();
    match problems.first() {
        None => format!("ok {}d", c.leaf().map(|l| l.days_left).unwrap_or(0)),
        Some(worst) => {
            let mut s = short(worst.key, c);
            if problems.len() > 1 {
                s.push_str(&format!(" +{}", problems.len() - 1));
            }
            s
        }
    }
}

/// Red for what breaks clients, yellow for what may or soon will, green otherwise.
pub fn column_color(e: &Endpoint) -> Option<Color> {
    let c = e.certificate.as_deref()?;
    match c.problems().next().map(|f| f.severity) {
        Some(Severity::Error) => Some(Color::Red),
        Some(_) => Some(Color::Yellow),
        None => Some(Color::Green),
    }
}

/// Whether a report has any certificate, so the column is worth showing.
pub fn any(report: &Report) -> bool {
    report.endpoints.iter().any(|e| e.certificate.is_some())
}

fn findings_text(c: &Certificate) -> String {
    c.findings
        .iter()
        .map(|f| f.message.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

fn versions_text(vs: &[TlsVersion]) -> String {
    vs.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
}

/// Notes on certificates, cleaned: the findings of each certificate (endpoints serving the
/// same certificate with the same findings share a line), the versions that served another
/// certificate, and the inconsistencies between endpoints.
pub fn notes(report: &Report) -> Vec<String> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for e in &report.endpoints {
        let Some(c) = e.certificate.as_deref() else {
            continue;
        };
        let mut parts = Vec::new();
        let subject = c.leaf().map(|l| l.subject.as_str()).unwrap_or("");
        if !c.findings.is_empty() {
            parts.push(format!("certificate {subject}: {}", findings_text(c)));
        }
        let mut shown: Vec<&str> = Vec::new();
        for other in c.other_chains.values() {
            let fp = other.leaf().map(|l| l.sha256.as_str()).unwrap_or("");
            if shown.contains(&fp) {
                continue;
            }
            shown.push(fp);
            let mut s = format!(
                "{} served another certificate: {} (sha256 {}...)",
                versions_text(&other.versions),
                other.leaf().map(|l| l.subject.as_str()).unwrap_or(""),
                fp.chars().take(11).collect::<String>()
            );
            if !other.findings.is_empty() {
                s.push_str(&format!(": {}", findings_text(other)));
            }
            parts.push(s);
        }
        if parts.is_empty() {
            continue;
        }
        let text = parts.join("; ");
        match groups.iter_mut().find(|(t, _)| *t == text) {
            Some((_, names)) => names.push(endpoint_name(e)),
            None => groups.push((text, vec![endpoint_name(e)])),
        }
    }
    let mut out: Vec<String> = groups
        .into_iter()
        .map(|(text, names)| clean(&format!("{}: {text}", names.join(", "))))
        .collect();
    for i in &report.certificate_consistency {
        out.push(clean(&format!("certificates: {}", i.message)));
    }
    out
}

/// The certificate a version served, for a per-version row.
pub fn served_by(e: &Endpoint, v: TlsVersion) -> Option<&Certificate> {
    let c = e.certificate.as_deref()?;
    if c.versions.contains(&v) {
        Some(c)
    } else {
        c.other_chains.get(&v)
    }
}

/// The CSV columns of a version's certificate: status, subject, issuer, sha256, not after, days
/// left, finding keys.
pub const CSV_HEADER: [&str; 7] = [
    "cert",
    "cert_subject",
    "cert_issuer",
    "cert_sha256",
    "cert_not_after",
    "cert_days_left",
    "cert_findings",
];

pub fn csv_fields(e: &Endpoint, v: TlsVersion) -> [String; 7] {
    let Some(c) = served_by(e, v) else {
        return Default::default();
    };
    let Some(l) = c.leaf() else {
        return Default::default();
    };
    let status = match c.problems().next() {
        Some(f) => short(f.key, c),
        None => "ok".into(),
    };
    let keys: Vec<&str> = c.findings.iter().map(|f| f.key.key()).collect();
    [
        status,
        csv_field(&l.subject),
        csv_field(&l.issuer),
        l.sha256.clone(),
        l.not_after.clone(),
        l.days_left.to_string(),
        keys.join(" "),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_bidi_overrides_are_escaped() {
        assert_eq!(clean("CN=a\u{1b}[2Jb"), "CN=a\\u{1b}[2Jb");
        assert_eq!(clean("x\ny\u{202e}z\u{7f}"), "x\\u{a}y\\u{202e}z\\u{7f}");
        assert_eq!(clean("dc1.corp.test é"), "dc1.corp.test é");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
