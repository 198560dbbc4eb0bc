//! The page of a policy check: the result first, the policy and the scan's evidence, the counts,
//! and the matrix with each cell judged against the policy and each endpoint's findings.

use std::io::{self, Write};

use maud::{Markup, html};

use super::{
    Mark, Meta, Source, Text, bar, card, cert_cell, cert_counts, controls, endpoint_cell,
    endpoint_details, evidence_list, legend, page, scan_evidence, write_page,
};
use crate::analysis::policy::{CheckReport, Compliance, EndpointCheck, Finding, Policy};
use crate::analysis::verdict::declines_tls;
use crate::output::certs;
use crate::output::check::{hint, summary_line};
use crate::report::{Cell, Endpoint, Proof, TlsVersion, Unproven};

/// A check and, when at hand, the scan it was made from (its evidence and cells).
pub struct CheckPage<'a> {
    pub check: &'a CheckReport,
    pub scan: Option<Source<'a>>,
}

pub(crate) fn compliance_mark(c: Compliance) -> Mark {
    match c {
        Compliance::Pass => Mark::Good,
        Compliance::Fail => Mark::Bad,
        Compliance::Inconclusive => Mark::Unknown,
    }
}

fn compliance_word(c: Compliance) -> &'static str {
    match c {
        Compliance::Pass => "PASS",
        Compliance::Fail => "FAIL",
        Compliance::Inconclusive => "INCONCLUSIVE",
    }
}

/// Write the page of a policy check.
pub fn write_check(p: &CheckPage<'_>, meta: &Meta, w: &mut dyn Write) -> io::Result<()> {
    let c = p.check;
    let mark = compliance_mark(c.result);
    // The summary without its last word, which the banner says in large.
    let line = summary_line(c);
    let word = compliance_word(c.result);
    let why = match line.rsplit_once(&format!(": {word}")) {
        Some((counts, "")) => counts.to_string(),
        _ => line.clone(),
    };
    let mut subtitle = format!("policy {}", c.policy.name);
    if let Some(l) = &c.label {
        subtitle.push_str(&format!(" · {l}"));
    }
    let body = html! {
        div class={ "banner " (mark.class()) } {
            span.sym aria-hidden="true" { (mark.symbol()) }
            div {
                div { (compliance_word(c.result)) }
                div.why { (Text(&why)) }
            }
        }
        @if let Some(h) = hint(c) { p { (Text(&h)) } }
        h2 { "Evidence" }
        (evidence_list(&policy_rows(c)))
        @if let Some(s) = p.scan {
            h3 { "The scan checked" }
            (evidence_list(&scan_evidence(Source { report: s.report, file: s.file.or(c.scan.as_ref().and_then(|x| x.file.as_deref())) })))
        } @else if let Some(side) = &c.scan {
            h3 { "The scan checked" }
            (evidence_list(&side_rows(side)))
        } @else if let Some(l) = &c.label {
            (evidence_list(&[("Scan label", l.clone())]))
        }
        @if !c.expired_exceptions.is_empty() {
            h3 { "Expired exceptions" }
            p { "The check fails until each is renewed or removed:" }
            (super::note_list(&c.expired_exceptions))
        }
        h2 { "Summary" }
        (summary(p))
        h2 { "Endpoints against the policy" }
        (matrix(p))
        @if let Some(s) = p.scan {
            (super::suites::section(s.report, c.policy.forbid_suites.as_ref(), "suites"))
            section.details {
                h2 { "Every endpoint in detail" }
                @for (i, e) in s.report.endpoints.iter().enumerate() {
                    (endpoint_details(e, &format!("ep-{i}")))
                }
            }
        }
    };
    write_page(page("TLS policy check", &subtitle, meta, body), w)
}

fn names(vs: &[TlsVersion]) -> String {
    vs.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
}

/// What the policy demands, and when and by what the check ran, as rows of evidence.
fn policy_rows(c: &CheckReport) -> Vec<(&'static str, String)> {
    let p = &c.policy;
    let mut rows = vec![("Policy", p.name.clone())];
    if !p.require_all.is_empty() {
        rows.push(("Must work", names(&p.require_all)));
    }
    if !p.require_any.is_empty() {
        rows.push(("At least one must work", names(&p.require_any)));
    }
    if !p.forbid.is_empty() {
        rows.push(("Must be refused", names(&p.forbid)));
    }
    if let Some(r) = &p.forbid_suites {
        rows.push(("Suites forbidden", r.describe()));
    }
    if let Some(cp) = &p.certificate {
        let mut parts = Vec::new();
        if let Some(d) = cp.min_days {
            parts.push(format!("at least {d} days left"));
        }
        if cp.trusted {
            parts.push("trusted, with a complete chain".into());
        }
        if cp.name {
            parts.push("covering the names clients use".into());
        }
        for n in &cp.names {
            parts.push(format!("covering {n}"));
        }
        rows.push(("Certificates", parts.join("; ")));
    }
    if !c.checked_at.is_empty() {
        let by = if c.checked_by.is_empty() {
            String::new()
        } else {
            format!(" by {}", c.checked_by)
        };
        rows.push(("Checked", format!("{}{by}", c.checked_at)));
    }
    rows
}

/// The scan's evidence as the check recorded it, when the scan itself is not at hand.
fn side_rows(s: &crate::analysis::diff::Side) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    if let Some(f) = &s.file {
        rows.push(("Saved file", f.clone()));
    }
    if let Some(l) = &s.label {
        rows.push(("Label", l.clone()));
    }
    if let Some(h) = &s.scanner {
        rows.push(("Scanner host", h.clone()));
    }
    rows.push(("Time", super::times(&s.started, &s.finished)));
    if !s.tool.is_empty() {
        rows.push(("Tool", s.tool.clone()));
    }
    if !s.tls_library.is_empty() {
        rows.push(("TLS library", s.tls_library.clone()));
    }
    rows
}

fn summary(p: &CheckPage<'_>) -> Markup {
    let c = p.check;
    let count = |k: Compliance| c.endpoints.iter().filter(|e| e.result == k).count();
    let parts: Vec<(Mark, usize, String)> =
        [Compliance::Fail, Compliance::Inconclusive, Compliance::Pass]
            .iter()
            .map(|k| (compliance_mark(*k), count(*k), k.to_string()))
            .collect();
    let excepted = c
        .endpoints
        .iter()
        .flat_map(|e| &e.findings)
        .filter(|f| f.excepted.is_some())
        .count();
    let certs = p.scan.map(|s| cert_counts(s.report.endpoints.iter()));
    html! {
        div.cards {
            @for (mark, n, word) in &parts { (card(*mark, *n, word)) }
            (card(Mark::Excepted, excepted, "findings passed by exception"))
            (card(Mark::Bad, c.expired_exceptions.len(), "expired exceptions"))
        }
        (bar(&parts))
        @if let (Some(n), Some(s)) = (certs, p.scan) {
            @if n.with_certificate > 0 {
                div.cards {
                    (card(Mark::Bad, n.expired, "certificates expired"))
                    (card(Mark::Warn, n.expiring, &format!("certificates expiring within {} days", s.report.options.cert_warn_days)))
                    (card(Mark::Bad, n.invalid, "certificates with other errors (name, trust, chain, usage)"))
                }
            }
        }
    }
}

/// A cell judged against the policy: a forbidden version accepted is bad and refused good; a
/// required version working is good and refused bad; any other version is neither.
fn policy_mark(p: &Policy, e: &Endpoint, v: TlsVersion, cell: &Cell) -> Mark {
    let forbidden = p.forbid.contains(&v);
    let required_all = p.require_all.contains(&v);
    let required = required_all || p.require_any.contains(&v);
    match cell.proof() {
        Proof::Accepted { .. } if forbidden => Mark::Bad,
        Proof::Accepted { works: true } if required => Mark::Good,
        Proof::Accepted { works: false } if required_all => Mark::Bad,
        Proof::Accepted { works: false } if required => Mark::Warn,
        Proof::Refused if forbidden => Mark::Good,
        Proof::Refused if required_all => Mark::Bad,
        Proof::Accepted { .. } | Proof::Refused => Mark::Neutral,
        // An endpoint that serves no TLS at all accepts none of the forbidden versions.
        Proof::Unproven(Unproven::Declined) if forbidden && declines_tls(&e.versions) => Mark::Good,
        Proof::Unproven(_) if forbidden || required => Mark::Unknown,
        Proof::Unproven(_) => Mark::Off,
    }
}

fn policy_cell(p: &Policy, e: &Endpoint, ec: &EndpointCheck, v: TlsVersion) -> Markup {
    let Some(c) = e.versions.get(&v) else {
        let mark = if p.forbid.contains(&v) || p.require_all.contains(&v) {
            Mark::Unknown
        } else {
            Mark::Off
        };
        return html! { td class={ "cell " (mark.class()) } data-sort=(mark.rank()) { span.sym { (mark.symbol()) } " not tested" } };
    };
    let mut mark = policy_mark(p, e, v, c);
    // Forbidden suites accepted with a version the policy does not forbid fail the cell too,
    // unless an exception covers the finding.
    let banned = match (&p.forbid_suites, e.suites.get(&v)) {
        (Some(rule), Some(s)) if !p.forbid.contains(&v) && c.proof().is_accepted() => {
            s.suites.iter().filter(|x| rule.forbids(x.id)).count()
        }
        _ => 0,
    };
    if banned > 0 {
        let excepted = ec
            .findings
            .iter()
            .any(|f| f.version == Some(v) && f.kind == Compliance::Fail && f.excepted.is_some());
        mark = if excepted { Mark::Excepted } else { Mark::Bad };
    }
    html! {
        td class={ "cell " (mark.class()) } data-sort=(mark.rank()) title=(Text(&format!("{}: {}", v.name(), super::cell_detail(c)))) {
            span.sym aria-hidden="true" { (mark.symbol()) } " " (Text(&crate::output::cell_text(c)))
            @if banned > 0 {
                div.sub { (banned) " forbidden suite" @if banned != 1 { "s" } }
            }
        }
    }
}

fn finding_mark(f: &Finding) -> Mark {
    if f.excepted.is_some() {
        Mark::Excepted
    } else {
        compliance_mark(f.kind)
    }
}

fn findings_cell(e: &EndpointCheck) -> Markup {
    html! {
        td.wrap {
            @if e.findings.is_empty() {
                span.sub { "none" }
            } @else {
                ul.findings.inline {
                    @for f in &e.findings {
                        @let m = finding_mark(f);
                        li {
                            span class={ "sym " (m.class()) } aria-hidden="true" { (m.symbol()) } " " (Text(&f.message))
                            @if let Some(x) = &f.excepted {
                                div.sub { "excepted by " (Text(&x.source)) " until " (Text(&x.expires)) ": " (Text(&x.reason)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn result_cell(e: &EndpointCheck) -> Markup {
    let m = compliance_mark(e.result);
    html! {
        td class={ "cell " (m.class()) } data-sort=(m.rank()) {
            span.sym aria-hidden="true" { (m.symbol()) } " " (e.result.to_string())
        }
    }
}

fn matrix(p: &CheckPage<'_>) -> Markup {
    let c = p.check;
    let policy = &c.policy;
    let scan = p.scan.map(|s| s.report);
    let versions: Vec<TlsVersion> = scan.map(|r| r.options.versions.clone()).unwrap_or_default();
    let with_certs = scan.is_some_and(certs::any);
    let find =
        |ec: &EndpointCheck| -> Option<(usize, &Endpoint)> {
            scan?.endpoints.iter().enumerate().find(|(_, e)| {
                e.target == ec.target && e.address == ec.address && e.port == ec.port
            })
        };
    html! {
        @if scan.is_some() {
            (legend(&[
                (Mark::Good, "as the policy asks: a forbidden version refused, a required one working"),
                (Mark::Bad, if policy.forbid_suites.is_some() {
                    "against the policy: a forbidden version or suite accepted, a required version refused"
                } else {
                    "against the policy: a forbidden version accepted, a required one refused"
                }),
                (Mark::Unknown, "not decided, so never a pass"),
                (Mark::Neutral, "neither required nor forbidden"),
                (Mark::Off, "not testable or not tested, and not asked about"),
                (Mark::Excepted, "a finding covered by an exception"),
            ]))
        }
        (controls("check"))
        div.scroll {
            table.matrix.filterable {
                thead {
                    tr {
                        th { "Endpoint" }
                        @for v in &versions {
                            th {
                                (v.name())
                                @if policy.forbid.contains(v) { div.sub { "must be refused" } }
                                @else if policy.require_all.contains(v) { div.sub { "must work" } }
                                @else if policy.require_any.contains(v) { div.sub { "one must work" } }
                            }
                        }
                        @if with_certs { th { "Certificate" } }
                        th { "Result" }
                        th { "Findings" }
                    }
                }
                tbody {
                    @for ec in &c.endpoints {
                        @let found = find(ec);
                        tr class=[compliance_mark(ec.result).attention().then_some("attention")] {
                            @if let Some((i, e)) = found {
                                (endpoint_cell(e, Some(&format!("ep-{i}"))))
                                @for v in &versions { (policy_cell(policy, e, ec, *v)) }
                                @if with_certs { (cert_cell(e)) }
                            } @else {
                                th.endpoint scope="row" data-sort=(Text(&ec.target)) {
                                    span.target { (Text(&ec.target)) }
                                    div.sub {
                                        @if let Some(a) = ec.address { (a) ", " }
                                        "port " (ec.port)
                                    }
                                }
                                @for _ in &versions { td.cell.m-off { "–" } }
                                @if with_certs { td.cell.m-off { "–" } }
                            }
                            (result_cell(ec))
                            (findings_cell(ec))
                        }
                    }
                }
            }
        }
    }
}
