//! The page of a before/after comparison: the pass or fail first, both scans' evidence side by
//! side, the transitions per endpoint and version (each cell before → after), the findings, and
//! every endpoint in detail.

use std::io::{self, Write};
use std::net::IpAddr;

use maud::{Markup, html};

use super::{
    Mark, Meta, Source, Text, bar, card, cert_cell, certificate_block, controls, legend, page,
    scan_evidence, verdict_mark, write_page,
};
use crate::analysis::diff::{
    Change, Diff, EndpointDiff, EndpointResult, Side, Transition, passes, summary_line,
};
use crate::analysis::suites::{SuiteChange, change_lines};
use crate::output::cell_text;
use crate::output::diff::{findings, verdict_line};
use crate::report::{Endpoint, TlsVersion};
use crate::tls::suites::SuiteClass;

/// A comparison and, when at hand, the two scans it was made from (their evidence, verdicts,
/// certificates and cells in full).
pub struct DiffPage<'a> {
    pub diff: &'a Diff,
    pub before: Option<Source<'a>>,
    pub after: Option<Source<'a>>,
    pub allow_inconclusive: bool,
}

/// Write the page of a comparison.
pub fn write_diff(p: &DiffPage<'_>, meta: &Meta, w: &mut dyn Write) -> io::Result<()> {
    let d = p.diff;
    let subtitle = format!(
        "{} → {}",
        side_name(&d.before, "before"),
        side_name(&d.after, "after")
    );
    let pass = passes(d, p.allow_inconclusive);
    let verdict = verdict_line(d, p.allow_inconclusive);
    let body = html! {
        div class={ "banner " (if pass { Mark::Good.class() } else { Mark::Bad.class() }) } {
            span.sym aria-hidden="true" { (if pass { Mark::Good.symbol() } else { Mark::Bad.symbol() }) }
            div {
                div { (if pass { "PASS" } else { "FAIL" }) }
                div.why { (Text(verdict.trim_start_matches("PASS: ").trim_start_matches("FAIL: "))) }
            }
        }
        h2 { "Evidence" }
        (evidence(p))
        h2 { "Summary" }
        (summary(d))
        h2 { "Before and after" }
        (matrix(p))
        (notable(d))
        (super::suites::changes(d.endpoints.iter().map(|e| (e.target.clone(), address_text(e), &e.suites))))
        section.details {
            h2 { "Every endpoint in detail" }
            @for (i, e) in d.endpoints.iter().enumerate() {
                (details(p, e, i))
            }
        }
    };
    write_page(
        page("TLS before/after comparison", &subtitle, meta, body),
        w,
    )
}

/// Whether a version took on a suite that is not ok.
fn suites_worse(c: &SuiteChange) -> bool {
    c.added.iter().any(|s| s.class != SuiteClass::Ok)
}

fn side_name(s: &Side, fallback: &str) -> String {
    s.label
        .clone()
        .or_else(|| s.file.clone())
        .unwrap_or_else(|| fallback.to_string())
}

/// Both scans' evidence in two columns; a row whose values differ is marked, since a changed
/// tool, library or option can explain a transition.
fn evidence(p: &DiffPage<'_>) -> Markup {
    let d = p.diff;
    let rows_of = |side: &Side, src: Option<Source<'_>>| -> Vec<(&'static str, String)> {
        match src {
            Some(s) => {
                let mut rows = scan_evidence(Source {
                    report: s.report,
                    file: s.file.or(side.file.as_deref()),
                });
                if s.file.is_none() && side.file.is_none() {
                    rows.insert(0, ("Saved file", "(not saved)".into()));
                }
                rows
            }
            None => {
                let mut rows = vec![(
                    "Saved file",
                    side.file.clone().unwrap_or_else(|| "(not saved)".into()),
                )];
                if let Some(l) = &side.label {
                    rows.push(("Label", l.clone()));
                }
                if let Some(s) = &side.scanner {
                    rows.push(("Scanner host", s.clone()));
                }
                rows.push(("Time", super::times(&side.started, &side.finished)));
                if !side.tool.is_empty() {
                    rows.push(("Tool", side.tool.clone()));
                }
                if !side.tls_library.is_empty() {
                    rows.push(("TLS library", side.tls_library.clone()));
                }
                rows
            }
        }
    };
    let before = rows_of(&d.before, p.before);
    let after = rows_of(&d.after, p.after);
    let mut keys: Vec<&str> = Vec::new();
    for (k, _) in before.iter().chain(&after) {
        if !keys.contains(k) {
            keys.push(k);
        }
    }
    let get = |rows: &[(&str, String)], k: &str| -> String {
        rows.iter()
            .filter(|(x, _)| *x == k)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    // Rows expected to differ between two scans are not marked.
    let compared = [
        "Scanner host",
        "Tool",
        "TLS library",
        "Options",
        "Trust store",
    ];
    html! {
        table.sides {
            thead { tr { th {} th { "Before" } th { "After" } } }
            tbody {
                @for k in &keys {
                    @let (b, a) = (get(&before, k), get(&after, k));
                    @let differs = compared.contains(k) && b != a;
                    tr class=[differs.then_some("differs")] {
                        th scope="row" { (k) @if differs { " (differs)" } }
                        // The same on both sides: said once, across both columns.
                        @if b == a {
                            td.same colspan="2" { (Text(&b)) }
                        } @else {
                            td { (Text(&b)) }
                            td { (Text(&a)) }
                        }
                    }
                }
            }
        }
        @if !d.expired_exceptions.is_empty() {
            h3 { "Expired exceptions" }
            p { "The comparison fails until each is renewed or removed:" }
            (super::note_list(&d.expired_exceptions))
        }
    }
}

pub(crate) fn result_mark(r: EndpointResult) -> Mark {
    match r {
        EndpointResult::Regression | EndpointResult::StillAccepted => Mark::Bad,
        EndpointResult::Inconclusive | EndpointResult::Removed => Mark::Unknown,
        EndpointResult::Added => Mark::Neutral,
        EndpointResult::Excepted => Mark::Excepted,
        EndpointResult::Enforced | EndpointResult::Improved => Mark::Good,
        EndpointResult::Unchanged => Mark::Same,
    }
}

pub(crate) fn transition_mark(v: TlsVersion, c: &Change) -> Mark {
    if c.excepted.is_some() {
        return Mark::Excepted;
    }
    match c.transition {
        Transition::Enforced => Mark::Good,
        Transition::Regression | Transition::StillAccepted => Mark::Bad,
        Transition::NewlyAccepted if v.is_legacy() => Mark::Bad,
        Transition::NewlyAccepted => Mark::Good,
        Transition::Inconclusive => Mark::Unknown,
        Transition::Unchanged => Mark::Same,
        Transition::NotTestable => Mark::Off,
    }
}

const RESULTS: [EndpointResult; 9] = [
    EndpointResult::Regression,
    EndpointResult::StillAccepted,
    EndpointResult::Inconclusive,
    EndpointResult::Removed,
    EndpointResult::Added,
    EndpointResult::Excepted,
    EndpointResult::Enforced,
    EndpointResult::Improved,
    EndpointResult::Unchanged,
];

fn summary(d: &Diff) -> Markup {
    let parts: Vec<(Mark, usize, String)> = RESULTS
        .iter()
        .map(|r| {
            (
                result_mark(*r),
                d.summary.get(r).copied().unwrap_or(0),
                r.key().replace('_', " "),
            )
        })
        .collect();
    let count = |f: &dyn Fn(TlsVersion, &Change) -> bool| -> usize {
        d.endpoints
            .iter()
            .flat_map(|e| e.versions.iter())
            .filter(|(v, c)| f(**v, c))
            .count()
    };
    let regressions = count(&|_, c| c.transition == Transition::Regression && c.excepted.is_none());
    let old = count(&|v, c| {
        v.is_legacy()
            && matches!(
                c.transition,
                Transition::StillAccepted | Transition::NewlyAccepted
            )
            && c.excepted.is_none()
    });
    let enforced = count(&|_, c| c.transition == Transition::Enforced);
    let cert_regressions = d
        .endpoints
        .iter()
        .filter(|e| e.certificate.as_ref().is_some_and(|c| c.became_invalid))
        .count();
    let excepted = count(&|_, c| c.excepted.is_some())
        + d.endpoints.iter().filter(|e| e.excepted.is_some()).count();
    let suites_listed = d.endpoints.iter().any(|e| !e.suites.is_empty());
    let worse_suites = d
        .endpoints
        .iter()
        .flat_map(|e| e.suites.values())
        .filter(|c| suites_worse(c))
        .count();
    html! {
        p.lead { (Text(&summary_line(d))) }
        div.cards {
            (card(Mark::Bad, regressions, "TLS 1.2/1.3 regressions"))
            (card(Mark::Bad, old, "old versions still accepted"))
            (card(Mark::Bad, cert_regressions, "certificates now invalid"))
            (card(Mark::Good, enforced, "old versions now refused"))
            (card(Mark::Excepted, excepted, "passed by exception"))
            (card(Mark::Bad, d.expired_exceptions.len(), "expired exceptions"))
            @if suites_listed {
                (card(Mark::Bad, worse_suites, "versions that took on weak or insecure suites"))
            }
        }
        h3 { "Endpoints by result" }
        div.cards {
            @for (mark, n, word) in &parts {
                @if *n > 0 || matches!(mark, Mark::Bad) { (card(*mark, *n, word)) }
            }
        }
        (bar(&parts))
    }
}

type Key<'a> = (&'a str, Option<IpAddr>, u16, crate::report::Protocol);

fn find<'r>(r: Option<Source<'r>>, e: &EndpointDiff) -> Option<&'r Endpoint> {
    let key: Key<'_> = (&e.target, e.address, e.port, e.protocol);
    r?.report
        .endpoints
        .iter()
        .find(|x| (x.target.as_str(), x.address, x.port, x.protocol) == key)
}

fn versions(d: &Diff) -> Vec<TlsVersion> {
    let mut vs: Vec<TlsVersion> = d
        .endpoints
        .iter()
        .flat_map(|e| e.versions.keys().copied())
        .collect();
    vs.sort();
    vs.dedup();
    vs
}

fn address_text(e: &EndpointDiff) -> String {
    match e.address {
        Some(IpAddr::V6(a)) => format!("[{a}]:{}", e.port),
        Some(a) => format!("{a}:{}", e.port),
        None => format!("port {} (no address)", e.port),
    }
}

/// One side of a cell: its short text (from the scan when it is at hand).
fn side_word(
    v: TlsVersion,
    ep: Option<&Endpoint>,
    saved: &str,
    status: Option<crate::report::Status>,
) -> String {
    match ep.and_then(|e| e.versions.get(&v)) {
        Some(c) => cell_text(c),
        None if !saved.is_empty() => saved.to_string(),
        None => status.map_or("not tested".into(), |s| s.key().replace('_', " ")),
    }
}

fn change_cell(
    v: TlsVersion,
    c: Option<&Change>,
    suites: Option<&SuiteChange>,
    before: Option<&Endpoint>,
    after: Option<&Endpoint>,
) -> Markup {
    let Some(c) = c else {
        return html! { td.cell.m-off data-sort=(Mark::Off.rank()) { span.sym { "–" } } };
    };
    let mark = transition_mark(v, c);
    let mut tip = format!(
        "{}: {} → {}: {}",
        v.name(),
        c.before_detail.as_deref().unwrap_or("not tested"),
        c.after_detail.as_deref().unwrap_or("not tested"),
        c.transition.key().replace('_', " ")
    );
    if let Some(x) = &c.excepted {
        tip.push_str(&format!(
            "; excepted by {} until {}: {}",
            x.source, x.expires, x.reason
        ));
    }
    let word = match &c.excepted {
        Some(_) => format!("excepted ({})", c.transition.key().replace('_', " ")),
        None => c.transition.key().replace('_', " "),
    };
    let b = side_word(v, before, &c.short.0, c.before);
    let a = side_word(v, after, &c.short.1, c.after);
    html! {
        td class={ "cell change " (mark.class()) } data-sort=(mark.rank()) title=(Text(&tip)) {
            // The same on both sides is said once; the tooltip has both in full.
            @if b == a {
                span.side { (Text(&a)) }
            } @else {
                span.side { (Text(&b)) } " " span.arrow aria-label="then" { "→" } " " span.side { (Text(&a)) }
            }
            span.tr { span.sym aria-hidden="true" { (mark.symbol()) } " " (word) }
            @if let Some(sc) = suites {
                div.sub { "suites +" (sc.added.len()) " −" (sc.removed.len()) }
            }
        }
    }
}

fn verdicts_cell(e: &EndpointDiff, before: Option<&Endpoint>, after: Option<&Endpoint>) -> Markup {
    let one = |v: Option<crate::report::Verdict>| -> Markup {
        match v {
            Some(v) => {
                let m = verdict_mark(v);
                html! { span.side { span.sym aria-hidden="true" { (m.symbol()) } " " (v.label()) } }
            }
            None => html! { span.side { "absent" } },
        }
    };
    let tip = [before, after]
        .iter()
        .map(|ep| ep.map_or("absent".to_string(), |e| e.verdict_detail.clone()))
        .collect::<Vec<_>>()
        .join(" → ");
    html! {
        td.cell.wrap title=(Text(&tip)) {
            (one(e.before_verdict)) " " span.arrow aria-label="then" { "→" } " " (one(e.after_verdict))
        }
    }
}

/// The certificate column: the after scan's certificate (the before one for a removed
/// endpoint); a change between the scans is said, and one that became invalid is marked.
fn cert_change_cell(
    e: &EndpointDiff,
    before: Option<&Endpoint>,
    after: Option<&Endpoint>,
) -> Markup {
    match &e.certificate {
        Some(ch) => {
            // A certificate that became invalid fails the comparison; another change is shown
            // as the after side's certificate is.
            let now = after.or(before).and_then(|e| e.certificate.as_deref());
            let (mark, word) = match (ch.became_invalid, &ch.before) {
                (true, _) => (Mark::Bad, "became invalid"),
                (false, None) => (super::cert_mark(now), "new"),
                (false, Some(_)) => (super::cert_mark(now), "changed"),
            };
            html! {
                td class={ "cell wrap " (mark.class()) } data-sort=(mark.rank()) title=(Text(&ch.describe())) {
                    span.sym aria-hidden="true" { (mark.symbol()) } " " (word)
                    @if let Some(a) = after.or(before) {
                        div.sub { (Text(&crate::output::certs::column(a))) }
                    }
                }
            }
        }
        None => match after.or(before) {
            Some(ep) => cert_cell(ep),
            None => html! { td.cell.m-off data-sort=(Mark::Off.rank()) { span.sym { "–" } } },
        },
    }
}

fn matrix(p: &DiffPage<'_>) -> Markup {
    let d = p.diff;
    let vs = versions(d);
    let with_certs = p.before.is_some()
        || p.after.is_some()
        || d.endpoints.iter().any(|e| e.certificate.is_some());
    html! {
        (legend(&[
            (Mark::Good, "enforced (an old version now refused), or TLS 1.2/1.3 newly working"),
            (Mark::Bad, "regression, or an old version accepted after"),
            (Mark::Unknown, "inconclusive: not decided on one side"),
            (Mark::Excepted, "covered by an exception (listed below)"),
            (Mark::Same, "unchanged"),
            (Mark::Off, "not testable on either side"),
        ]))
        p.sub { "Each cell: before → after (said once when the same), then the transition; hover a cell for both sides in full." }
        (controls("comparison"))
        div.scroll {
            table.matrix.filterable {
                thead {
                    tr {
                        th { "Endpoint" }
                        @for v in &vs { th { (v.name()) } }
                        @if with_certs { th { "Certificate" } }
                        th { "Verdict" div.sub { "before → after" } }
                        th { "Result" }
                    }
                }
                tbody {
                    @for (i, e) in d.endpoints.iter().enumerate() {
                        @let (b, a) = (find(p.before, e), find(p.after, e));
                        @let mark = if e.excepted.is_some() { Mark::Excepted } else { result_mark(e.result) };
                        @let worse = e.suites.values().any(suites_worse);
                        tr class=[(mark.attention() || worse || matches!(mark, Mark::Excepted)).then_some("attention")] {
                            th.endpoint scope="row" data-sort=(Text(&e.target)) {
                                a.target href=(format!("#ep-{i}")) { (super::breakable(&e.target)) }
                                div.sub { (Text(&address_text(e))) " · " (e.protocol.key()) }
                            }
                            @for v in &vs { (change_cell(*v, e.versions.get(v), e.suites.get(v), b, a)) }
                            @if with_certs { (cert_change_cell(e, b, a)) }
                            (verdicts_cell(e, b, a))
                            td class={ "cell " (mark.class()) } data-sort=(mark.rank()) {
                                span.sym aria-hidden="true" { (mark.symbol()) } " " (e.result.key().replace('_', " "))
                                @if let Some(x) = &e.excepted {
                                    div.sub { "excepted by " (Text(&x.source)) " until " (Text(&x.expires)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The transitions that need a reader's attention, as the terminal lists them.
fn notable(d: &Diff) -> Markup {
    let lines = findings(d);
    html! {
        @if !lines.is_empty() {
            h3 { "What needs attention" }
            (super::note_list(&lines))
        }
        p.lead { (Text(&summary_line(d))) }
    }
}

fn details(p: &DiffPage<'_>, e: &EndpointDiff, i: usize) -> Markup {
    let (b, a) = (find(p.before, e), find(p.after, e));
    let mark = if e.excepted.is_some() {
        Mark::Excepted
    } else {
        result_mark(e.result)
    };
    html! {
        details.endpoint id=(format!("ep-{i}")) {
            summary {
                (super::badge(mark, &e.result.key().replace('_', " "))) " "
                span.target { (Text(&e.target)) } " " span.sub { (Text(&address_text(e))) }
            }
            @for n in &e.notes { p { (Text(n)) } }
            @if let Some(x) = &e.excepted {
                p { "Excepted by " (Text(&x.source)) " until " (Text(&x.expires)) ": " (Text(&x.reason)) }
            }
            table.cells {
                thead { tr { th { "Version" } th { "Before" } th { "After" } th { "Transition" } } }
                tbody {
                    @for (v, c) in &e.versions {
                        @let m = transition_mark(*v, c);
                        tr {
                            td { (v.name()) }
                            td { (Text(&side_detail(*v, b, c.before_detail.as_deref()))) }
                            td { (Text(&side_detail(*v, a, c.after_detail.as_deref()))) }
                            td class=(m.class()) {
                                span.sym { (m.symbol()) } " " (c.transition.key().replace('_', " "))
                                @if let Some(x) = &c.excepted {
                                    div.sub { "excepted by " (Text(&x.source)) " until " (Text(&x.expires)) ": " (Text(&x.reason)) }
                                }
                            }
                        }
                    }
                }
            }
            @for l in change_lines(&e.suites) {
                p { "Cipher suites: " (Text(&l)) }
            }
            @if let Some(ch) = &e.certificate {
                p { "Certificate: " (Text(&ch.describe())) }
            }
            @if let (Some(bc), Some(ac)) = (b.and_then(|x| x.certificate.as_deref()), a.and_then(|x| x.certificate.as_deref())) {
                @if bc.leaf().map(|l| &l.sha256) != ac.leaf().map(|l| &l.sha256) {
                    div.cols {
                        div { h4 { "Before" } (certificate_block(bc)) }
                        div { h4 { "After" } (certificate_block(ac)) }
                    }
                } @else {
                    (certificate_block(ac))
                }
            } @else if let Some(c) = a.or(b).and_then(|x| x.certificate.as_deref()) {
                (certificate_block(c))
            }
        }
    }
}

/// A side's cell in full when the scan is at hand, else the saved detail.
fn side_detail(v: TlsVersion, ep: Option<&Endpoint>, saved: Option<&str>) -> String {
    match ep.and_then(|e| e.versions.get(&v)) {
        Some(c) => super::cell_detail(c),
        None => saved.unwrap_or("not tested").to_string(),
    }
}
