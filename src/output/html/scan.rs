//! The page of one scan (or of a merged report): evidence, summary, the matrix, notes, and
//! every endpoint in detail.

use std::io::{self, Write};

use maud::{Markup, html};

use super::{
    Mark, Meta, Source, Text, bar, card, cert_cell, cert_counts, controls, endpoint_cell,
    endpoint_details, evidence_list, legend, page, scan_cell, scan_evidence, verdict_mark,
    write_page,
};
use crate::output::{certs, notes, summary_line, verdict_text};
use crate::report::{Report, Verdict};

/// Write the page of a scan report.
pub fn write_scan(report: &Report, meta: &Meta, w: &mut dyn Write) -> io::Result<()> {
    let subtitle = match &report.label {
        Some(l) => format!("{l} · {}", report.started),
        None => report.started.clone(),
    };
    let body = html! {
        h2 { "Evidence" }
        (evidence_list(&scan_evidence(Source { report, file: None })))
        h2 { "Summary" }
        (summary(report))
        h2 { "Matrix" }
        (matrix(report, "ep"))
        (input_and_notes(report))
        (super::suites::section(report, None, "suites"))
        section.details {
            h2 { "Every endpoint in detail" }
            p.sub { "Each cell in full: the outcome, the time it took, each engine's answer; and the certificate." }
            @for (i, e) in report.endpoints.iter().enumerate() {
                (endpoint_details(e, &format!("ep-{i}")))
            }
        }
    };
    write_page(page("TLS version scan", &subtitle, meta, body), w)
}

/// Counts per verdict, the certificates, and the one-line summary.
pub(crate) fn summary(report: &Report) -> Markup {
    let parts: Vec<(Mark, usize, String)> = Verdict::ALL
        .iter()
        .map(|v| {
            (
                verdict_mark(*v),
                report.summary.get(v).copied().unwrap_or(0),
                v.label().to_string(),
            )
        })
        .collect();
    let certs = cert_counts(report.endpoints.iter());
    let warn_days = report.options.cert_warn_days;
    html! {
        p.lead { (Text(&summary_line(report))) }
        div.cards {
            @for (mark, n, word) in &parts {
                (card(*mark, *n, word))
            }
        }
        (bar(&parts))
        @if certs.with_certificate > 0 {
            div.cards {
                (card(Mark::Bad, certs.expired, "certificates expired"))
                (card(Mark::Warn, certs.expiring, &format!("certificates expiring within {warn_days} days")))
                (card(Mark::Bad, certs.invalid, "certificates with other errors (name, trust, chain, usage)"))
                (card(Mark::Good, certs.with_certificate, "endpoints with a certificate"))
            }
        }
        (super::suites::cards(report))
        @if !report.input_errors.is_empty() {
            div.cards { (card(Mark::Bad, report.input_errors.len(), "targets that could not be read")) }
        }
    }
}

/// The legend of a scan's cells.
pub(crate) fn scan_legend() -> Markup {
    legend(&[
        (
            Mark::Good,
            "as wanted for TLS 1.2-only: an old version refused, TLS 1.2/1.3 working",
        ),
        (
            Mark::Bad,
            "not as wanted: an old version accepted, TLS 1.2 refused",
        ),
        (
            Mark::Warn,
            "handshake accepted, but not working through (LDAP did not answer)",
        ),
        (Mark::Neutral, "TLS 1.3 not offered (TLS 1.2 is enough)"),
        (
            Mark::Unknown,
            "not decided: timeout, error, unreachable, TLS declined",
        ),
        (Mark::Off, "not testable here, or not tested"),
    ])
}

/// The matrix: one row per endpoint, a column per version, the certificate, the verdict.
/// `anchor` prefixes the ids of the endpoint details the rows link to.
pub(crate) fn matrix(report: &Report, anchor: &str) -> Markup {
    let versions = &report.options.versions;
    let with_certs = certs::any(report);
    html! {
        (scan_legend())
        (controls("matrix"))
        div.scroll {
            table.matrix.filterable {
                thead {
                    tr {
                        th { "Endpoint" }
                        @for v in versions { th { (v.name()) } }
                        @if with_certs { th { "Certificate" } }
                        th { "Verdict" }
                    }
                }
                tbody {
                    @for (i, e) in report.endpoints.iter().enumerate() {
                        @let vmark = verdict_mark(e.verdict);
                        @let cmark = super::cert_mark(e.certificate.as_deref());
                        tr class=[(vmark.attention() || cmark.attention()).then_some("attention")] {
                            (endpoint_cell(e, Some(&format!("{anchor}-{i}"))))
                            @for v in versions { (scan_cell(*v, e.versions.get(v))) }
                            @if with_certs { (cert_cell(e)) }
                            td class={ "cell wrap " (vmark.class()) } data-sort=(vmark.rank()) title=(Text(&e.verdict_detail)) {
                                span.sym aria-hidden="true" { (vmark.symbol()) } " " (Text(&verdict_text(e, true)))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What the matrix has no room for: input errors, exclusions, notes on cells and certificates.
pub(crate) fn input_and_notes(report: &Report) -> Markup {
    let mut lines: Vec<String> = report
        .input_errors
        .iter()
        .map(|e| format!("input error: {e}"))
        .collect();
    for x in &report.excluded {
        let at = match x.address {
            Some(a) => format!(" [{a}]:{}", x.port),
            None => String::new(),
        };
        lines.push(format!(
            "excluded: {}{at} (--exclude {})",
            x.target, x.pattern
        ));
    }
    lines.extend(notes(report, 200));
    lines.extend(certs::notes(report));
    html! {
        @if !lines.is_empty() {
            h3 { "Notes" }
            (super::note_list(&lines))
        }
    }
}
