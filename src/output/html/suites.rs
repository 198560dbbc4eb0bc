//! The cipher suites of a scan made with `--suites`, on a page: per endpoint and accepted
//! version the count and the worst class (coloured and marked like the matrix), then each
//! endpoint's lists in full (suite, class, flaws, OpenSSL's name), the server's order, groups,
//! DH group, signature algorithms, what kept a list from being whole and where the engines
//! disagree. Also the suites a comparison found added and removed.
//!
//! Suite names, groups and problems come from a saved report, which may have been edited by
//! hand: every one of them is outside text and goes through [`Text`].

use std::collections::BTreeMap;

use maud::{Markup, html};

use super::{Mark, Text, badge, card, endpoint_cell, legend};
use crate::analysis::suites::{NamedSuite, SuiteChange, SuiteRule};
use crate::report::{Endpoint, Named, Report, SuiteOrder, TlsVersion, VersionSuites};
use crate::tls::suites::SuiteClass;

/// A suite's class as a mark: insecure is bad, weak a warning, ok good.
pub(crate) fn class_mark(c: SuiteClass) -> Mark {
    match c {
        SuiteClass::Insecure => Mark::Bad,
        SuiteClass::Weak => Mark::Warn,
        SuiteClass::Ok => Mark::Good,
    }
}

/// A version's list as a mark: an insecure suite is bad whatever else; a list that is not whole
/// decides nothing more (what was not found may be worse); else the worst class found.
pub(crate) fn list_mark(s: &VersionSuites) -> Mark {
    match s.worst() {
        Some(SuiteClass::Insecure) => Mark::Bad,
        _ if !s.complete => Mark::Unknown,
        Some(c) => class_mark(c),
        None => Mark::Off,
    }
}

/// The worst mark over an endpoint's lists.
fn endpoint_mark(e: &Endpoint) -> Mark {
    e.suites
        .values()
        .map(list_mark)
        .min_by_key(|m| m.rank())
        .unwrap_or(Mark::Off)
}

fn order_sentence(o: SuiteOrder) -> &'static str {
    match o {
        SuiteOrder::Server => {
            "the server's: it chose the same suite from a list and from that list reversed"
        }
        SuiteOrder::Client => "the client's: the server takes the first suite offered it accepts",
        SuiteOrder::Unknown => "not known (fewer than two suites, or answers that showed neither)",
    }
}

fn names(list: &[Named]) -> String {
    list.iter()
        .map(|n| n.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The suites a rule forbids in a list.
fn forbidden(s: &VersionSuites, rule: Option<&SuiteRule>) -> usize {
    rule.map_or(0, |r| s.suites.iter().filter(|x| r.forbids(x.id)).count())
}

/// Cards for the summary: how many accepted versions take insecure suites, weak ones at worst,
/// only ok ones, and how many lists are not whole. Nothing without lists.
pub(crate) fn cards(report: &Report) -> Markup {
    let lists: Vec<&VersionSuites> = report
        .endpoints
        .iter()
        .flat_map(|e| e.suites.values())
        .collect();
    if lists.is_empty() {
        return html! {};
    }
    let worst = |c: SuiteClass| lists.iter().filter(|s| s.worst() == Some(c)).count();
    let incomplete = lists.iter().filter(|s| !s.complete).count();
    html! {
        div.cards {
            (card(Mark::Bad, worst(SuiteClass::Insecure), "versions accepting insecure suites"))
            (card(Mark::Warn, worst(SuiteClass::Weak), "versions accepting weak suites (none insecure)"))
            (card(Mark::Good, worst(SuiteClass::Ok), "versions accepting only ok suites"))
            (card(Mark::Unknown, incomplete, "suite lists not whole"))
        }
    }
}

/// The section of a scan with suite lists: the counts per endpoint and version, then every
/// list in full. `rule`, in a policy check, marks the suites it forbids. `anchor` prefixes the
/// ids of the lists the rows link to. Nothing when the scan has no list.
pub(crate) fn section(report: &Report, rule: Option<&SuiteRule>, anchor: &str) -> Markup {
    if !report.endpoints.iter().any(|e| !e.suites.is_empty()) {
        return html! {};
    }
    let vs = crate::output::suites::versions(report);
    html! {
        section.suites {
            h2 { "Cipher suites" }
            p.sub {
                "The suites each accepted version takes (scan --suites), counted by class: "
                "insecure (NULL, anonymous, EXPORT, RC4, DES, 3DES), weak (CBC with SHA-1, RSA key exchange, no forward secrecy), ok. "
                "Open an endpoint below for its lists in full."
            }
            (legend(&[
                (Mark::Bad, "insecure suites accepted"),
                (Mark::Warn, "weak suites accepted, none insecure"),
                (Mark::Good, "only ok suites"),
                (Mark::Unknown, "the list is not whole, and what was found is not insecure"),
                (Mark::Off, "no list: the version is not accepted, or was not enumerated"),
            ]))
            div.scroll {
                table.matrix.suites.filterable {
                    thead {
                        tr {
                            th { "Endpoint" }
                            @for v in &vs { th { (v.name()) } }
                            th { "Connections" }
                        }
                    }
                    tbody {
                        @for (i, e) in report.endpoints.iter().enumerate() {
                            @if !e.suites.is_empty() {
                                tr class=[endpoint_mark(e).attention().then_some("attention")] {
                                    (endpoint_cell(e, Some(&format!("{anchor}-{i}"))))
                                    @for v in &vs { (count_cell(*v, e.suites.get(v), rule)) }
                                    td.nw data-sort=(e.connections.unwrap_or(0)) {
                                        @if let Some(c) = e.connections { (c) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @for (i, e) in report.endpoints.iter().enumerate() {
                @if !e.suites.is_empty() {
                    (lists(e, rule, &format!("{anchor}-{i}")))
                }
            }
        }
    }
}

/// `12 suites` with `2 weak · server order` under it; the groups and what is missing on hover.
fn count_cell(v: TlsVersion, s: Option<&VersionSuites>, rule: Option<&SuiteRule>) -> Markup {
    let Some(s) = s else {
        return html! {
            td.cell.m-off data-sort=(Mark::Off.rank()) title=(format!("{}: no suite list", v.name())) {
                span.sym aria-hidden="true" { (Mark::Off.symbol()) }
            }
        };
    };
    let mark = list_mark(s);
    let n = s.suites.len();
    let mut sub = Vec::new();
    for c in [SuiteClass::Insecure, SuiteClass::Weak] {
        let k = s.count(c);
        if k > 0 {
            sub.push(format!("{k} {c}"));
        }
    }
    let banned = forbidden(s, rule);
    if banned > 0 {
        sub.push(format!("{banned} forbidden"));
    }
    match s.order {
        SuiteOrder::Server => sub.push("server order".into()),
        SuiteOrder::Client => sub.push("client order".into()),
        SuiteOrder::Unknown => {}
    }
    if !s.complete {
        sub.push("incomplete".into());
    }
    let mut tip = format!("{}: {}", v.name(), s.summary());
    if !s.groups.is_empty() {
        tip.push_str(&format!("; groups {}", names(&s.groups)));
    }
    for p in &s.problems {
        tip.push_str(&format!("; list incomplete: {p}"));
    }
    for d in &s.disagreements {
        tip.push_str(&format!("; the engines disagree: {d}"));
    }
    html! {
        td class={ "cell " (mark.class()) } data-sort=(mark.rank()) title=(Text(&tip)) {
            span.sym aria-hidden="true" { (mark.symbol()) }
            " " (n) " suite" @if n != 1 { "s" }
            @if !sub.is_empty() { div.sub { (sub.join(" · ")) } }
        }
    }
}

/// One endpoint's lists, folded: per version the order, groups, DH group, signature
/// algorithms, problems and disagreements, and every suite in a table.
fn lists(e: &Endpoint, rule: Option<&SuiteRule>, id: &str) -> Markup {
    let mark = endpoint_mark(e);
    let word = match mark {
        Mark::Bad => "insecure suites",
        Mark::Warn => "weak suites",
        Mark::Good => "ok suites",
        Mark::Unknown => "lists not whole",
        _ => "no suites",
    };
    let with_openssl = e
        .suites
        .values()
        .flat_map(|s| &s.suites)
        .any(|x| x.openssl.is_some());
    html! {
        details.endpoint.suites id=(id) {
            summary {
                (badge(mark, word)) " " span.target { (Text(&e.target)) }
                " " span.sub { (Text(&crate::output::endpoint_name(e))) }
            }
            @if let Some(c) = e.connections {
                p { (c) " connection" @if c != 1 { "s" } " to the endpoint over the scan, enumeration included." }
            }
            @for (v, s) in &e.suites {
                h4 { (v.name()) ": " (Text(&s.summary())) }
                dl.evidence {
                    dt { "Order" } dd { (order_sentence(s.order)) }
                    @if !s.groups.is_empty() { dt { "Groups" } dd { (Text(&names(&s.groups))) } }
                    @if let Some(dh) = &s.dh_group { dt { "DH group" } dd { (Text(&dh.name)) ", " (dh.bits) " bits" } }
                    @if !s.signature_algorithms.is_empty() {
                        dt { "Signature algorithms" } dd { (Text(&names(&s.signature_algorithms))) }
                    }
                    dt { "List" } dd {
                        @if s.complete { "whole: every hello got a decided answer" }
                        @else { (badge(Mark::Unknown, "incomplete")) " what was not found may be accepted too" }
                        " (" (s.connections) " connection" @if s.connections != 1 { "s" } ", " (s.elapsed_ms) " ms)"
                    }
                }
                @if !s.problems.is_empty() || !s.disagreements.is_empty() {
                    ul.findings {
                        @for p in &s.problems { li { (badge(Mark::Unknown, "incomplete")) " " (Text(p)) } }
                        @for d in &s.disagreements { li { (badge(Mark::Warn, "engines disagree")) " " (Text(d)) } }
                    }
                }
                @if !s.suites.is_empty() {
                    table.cells {
                        thead {
                            tr {
                                th { "#" }
                                th { "Suite (IANA)" }
                                th { "Class" }
                                @if let Some(r) = rule { th title=(Text(&format!("forbidden: {}", r.describe()))) { "Policy" } }
                                th { "Flaws" }
                                th { "OpenSSL name" }
                                @if with_openssl { th { "OpenSSL handshake" } }
                            }
                        }
                        tbody {
                            @for (k, x) in s.suites.iter().enumerate() {
                                @let m = class_mark(x.class);
                                tr {
                                    td { (k + 1) }
                                    td.mono { (Text(&x.name)) }
                                    td class=(m.class()) { span.sym aria-hidden="true" { (m.symbol()) } " " (x.class.key()) }
                                    @if let Some(r) = rule {
                                        @if r.forbids(x.id) {
                                            td.m-bad { span.sym aria-hidden="true" { (Mark::Bad.symbol()) } " forbidden" }
                                        } @else {
                                            td.m-good { span.sym aria-hidden="true" { (Mark::Good.symbol()) } " allowed" }
                                        }
                                    }
                                    td { (x.flaws.iter().map(|f| f.text()).collect::<Vec<_>>().join("; ")) }
                                    td.mono { @if let Some(o) = &x.openssl_name { (Text(o)) } }
                                    @if with_openssl {
                                        td title=[x.openssl.as_ref().map(|a| Text(&a.detail))] {
                                            @if let Some(a) = &x.openssl { (a.status.key().replace('_', " ")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The suites a comparison found added and removed, per endpoint and version: an insecure or
/// weak suite added is marked as needing attention, one removed as an improvement.
pub(crate) fn changes<'a>(
    rows: impl Iterator<Item = (String, String, &'a BTreeMap<TlsVersion, SuiteChange>)>,
) -> Markup {
    let rows: Vec<_> = rows.filter(|(_, _, c)| !c.is_empty()).collect();
    if rows.is_empty() {
        return html! {};
    }
    let list = |l: &[NamedSuite], added: bool| -> Markup {
        html! {
            @if l.is_empty() { span.sub { "none" } }
            @else {
                ul.findings.inline {
                    @for s in l {
                        @let m = match (s.class, added) {
                            (SuiteClass::Ok, _) => Mark::Neutral,
                            (c, true) => class_mark(c),
                            (_, false) => Mark::Good,
                        };
                        li { span class={ "sym " (m.class()) } aria-hidden="true" { (m.symbol()) } " " span.mono { (Text(&s.name)) } " (" (s.class.key()) ")" }
                    }
                }
            }
        }
    };
    html! {
        h3 { "Cipher suites added and removed" }
        (legend(&[
            (Mark::Bad, "an insecure suite added"),
            (Mark::Warn, "a weak suite added"),
            (Mark::Good, "a weak or insecure suite removed"),
            (Mark::Neutral, "an ok suite added or removed"),
        ]))
        div.scroll {
            table.cells.suite-changes {
                thead { tr { th { "Endpoint" } th { "Version" } th { "Added" } th { "Removed" } } }
                tbody {
                    @for (target, address, changes) in &rows {
                        @for (v, c) in changes.iter() {
                            tr {
                                td { span.target { (Text(target)) } div.sub { (Text(address)) } }
                                td { (v.name()) }
                                td { (list(&c.added, true)) }
                                td { (list(&c.removed, false)) }
                            }
                        }
                    }
                }
            }
        }
    }
}
