//! HTML reports: one self-contained page per document, for people who sign off a change and do
//! not read JSON or a terminal.
//!
//! Each page is one file that opens offline: the stylesheet and a small optional script are
//! inline, and a Content-Security-Policy in the page allows nothing else (no network, no other
//! script, no other style). Markup is built with `maud`, which escapes what it is given; every
//! string from outside (server text, certificate fields, names, file names) also goes through
//! [`Text`], which shows control characters and bidirectional overrides instead of obeying them.
//! Each cell carries a symbol as well as a colour, so a black-and-white print and a colour-blind
//! reader lose nothing; a print stylesheet lays the page out on A4.

mod check;
mod clients;
mod diff;
mod discovery;
mod predict;
mod scan;
mod suites;

use std::borrow::Cow;
use std::io::{self, Write};

use maud::{DOCTYPE, Markup, PreEscaped, Render, html};

use crate::cert::{Certificate, FindingKey, Severity};
use crate::report::{Cell, Endpoint, Proof, Report, ScanOptions, TlsVersion, Unproven, Verdict};

pub use check::{CheckPage, write_check};
pub use clients::write_clients;
pub use diff::{DiffPage, write_diff};
pub use discovery::write_discovery;
pub use predict::{write_predict, write_profiles};
pub use scan::write_scan;

/// How a page was made, said at its foot: the tool that wrote it, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    /// `tlsmatrix 0.1.0`.
    pub tool: String,
    /// RFC 3339, to the second.
    pub generated: Option<String>,
}

impl Meta {
    /// This build, now.
    pub fn now() -> Meta {
        Meta {
            tool: format!("tlsmatrix {}", env!("CARGO_PKG_VERSION")),
            generated: Some(
                humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            ),
        }
    }
}

/// A saved scan a page is built from, with the file it was read from when there is one.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    pub report: &'a Report,
    pub file: Option<&'a str>,
}

/// Text from outside, made visible: control characters (ESC, BEL, CR, LF, ...) and bidirectional
/// overrides are shown as escapes (`\u{1b}`, `\u{a}`, `\u{202e}`, the shared layer's
/// [`escape::term`](super::escape::term)) rather than acted on or reordering the page; maud then
/// escapes `<`, `>`, `&` and `"`.
pub(crate) struct Text<'a>(pub &'a str);

impl Render for Text<'_> {
    fn render_to(&self, buffer: &mut String) {
        visible(self.0).as_ref().render_to(buffer)
    }
}

fn visible(s: &str) -> Cow<'_, str> {
    super::escape::term(s)
}

/// What a cell means for the reader, shown as a colour and a symbol together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mark {
    /// What a TLS 1.2-only estate wants (or the policy asks).
    Good,
    /// What it does not want: fails the change or breaks clients.
    Bad,
    /// Works partly, or will soon not (a handshake without LDAP, a certificate expiring).
    Warn,
    /// Nothing decided: timeout, error, unreachable, declined before the handshake.
    Unknown,
    /// Not testable, or not tested.
    Off,
    /// Neither wanted nor unwanted (TLS 1.3 refused where TLS 1.2 is enough, unchanged).
    Neutral,
    /// Covered by an exception: listed, not held against the change.
    Excepted,
    /// The same on both sides of a comparison.
    Same,
}

impl Mark {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Mark::Good => "✓",
            Mark::Bad => "✗",
            Mark::Warn => "!",
            Mark::Unknown => "?",
            Mark::Off => "–",
            Mark::Neutral => "○",
            Mark::Excepted => "⚑",
            Mark::Same => "=",
        }
    }

    pub(crate) fn class(self) -> &'static str {
        match self {
            Mark::Good => "m-good",
            Mark::Bad => "m-bad",
            Mark::Warn => "m-warn",
            Mark::Unknown => "m-unknown",
            Mark::Off => "m-off",
            Mark::Neutral => "m-neutral",
            Mark::Excepted => "m-excepted",
            Mark::Same => "m-same",
        }
    }

    /// Worst first, for sorting a column by what needs attention.
    pub(crate) fn rank(self) -> u8 {
        match self {
            Mark::Bad => 0,
            Mark::Unknown => 1,
            Mark::Warn => 2,
            Mark::Excepted => 3,
            Mark::Neutral => 4,
            Mark::Same => 5,
            Mark::Off => 6,
            Mark::Good => 7,
        }
    }

    /// Whether a row with this mark needs a reader's attention.
    pub(crate) fn attention(self) -> bool {
        matches!(self, Mark::Bad | Mark::Unknown | Mark::Warn)
    }
}

/// A symbol and a word in the mark's colours.
pub(crate) fn badge(mark: Mark, word: &str) -> Markup {
    html! {
        span class={ "badge " (mark.class()) } {
            span.sym aria-hidden="true" { (mark.symbol()) }
            " " (Text(word))
        }
    }
}

/// A cell of a scan for a TLS 1.2-only estate, by what it proves: an old version accepted is
/// bad, refused good; TLS 1.2 or 1.3 working is good; TLS 1.2 refused bad, TLS 1.3 refused
/// neither (TLS 1.2 is enough).
pub(crate) fn scan_mark(v: TlsVersion, cell: &Cell) -> Mark {
    match (cell.proof(), v.is_legacy()) {
        (Proof::Accepted { .. }, true) => Mark::Bad,
        (Proof::Accepted { works: true }, false) => Mark::Good,
        (Proof::Accepted { works: false }, false) => Mark::Warn,
        (Proof::Refused, true) => Mark::Good,
        (Proof::Refused, false) if v == TlsVersion::Tls13 => Mark::Neutral,
        (Proof::Refused, false) => Mark::Bad,
        (Proof::Unproven(Unproven::NotTestable | Unproven::NotProbed), _) => Mark::Off,
        (Proof::Unproven(_), _) => Mark::Unknown,
    }
}

pub(crate) fn verdict_mark(v: Verdict) -> Mark {
    match v {
        Verdict::Ready => Mark::Good,
        Verdict::Legacy | Verdict::Tls12Missing | Verdict::NoTls => Mark::Bad,
        Verdict::Unreachable | Verdict::Incomplete => Mark::Unknown,
    }
}

/// Everything a cell says, for its tooltip and the details: the outcome, the time taken, the
/// attempts, and each engine's answer.
pub(crate) fn cell_detail(c: &Cell) -> String {
    let mut s = c.outcome.detail();
    s.push_str(&format!(
        " ({} ms, {} attempt{})",
        c.elapsed_ms,
        c.attempts,
        if c.attempts == 1 { "" } else { "s" }
    ));
    if let Some(e) = &c.engines {
        for (name, a) in [("OpenSSL", &e.openssl), ("wire", &e.wire)] {
            if let Some(a) = a {
                s.push_str(&format!(
                    "; {name} engine: {}: {}",
                    a.status.key(),
                    a.detail
                ));
            }
        }
        if !e.agree {
            s.push_str("; the engines disagree");
        }
    }
    s
}

/// One cell of a scan's matrix: symbol and short text, the detail on hover.
pub(crate) fn scan_cell(v: TlsVersion, cell: Option<&Cell>) -> Markup {
    match cell {
        None => {
            html! { td.m-off.cell data-sort=(Mark::Off.rank()) title=(format!("{}: not in this scan", v.name())) { span.sym { "–" } } }
        }
        Some(c) => {
            let mark = scan_mark(v, c);
            html! {
                td class={ "cell " (mark.class()) } data-sort=(mark.rank()) title=(Text(&format!("{}: {}", v.name(), cell_detail(c)))) {
                    span.sym aria-hidden="true" { (mark.symbol()) } " " (Text(&super::cell_text(c)))
                }
            }
        }
    }
}

/// The certificate in a word, with its mark: `ok 341d`, `expires 12d`, `EXPIRED`, `name?`, ...
pub(crate) fn cert_mark(c: Option<&Certificate>) -> Mark {
    match c {
        None => Mark::Off,
        Some(c) => match c.problems().next().map(|f| f.severity) {
            Some(Severity::Error) => Mark::Bad,
            Some(_) => Mark::Warn,
            None => Mark::Good,
        },
    }
}

/// The certificate cell of a matrix: the column text, the subject, issuer, expiry and
/// findings on hover.
pub(crate) fn cert_cell(e: &Endpoint) -> Markup {
    let c = e.certificate.as_deref();
    let mark = cert_mark(c);
    let tip = c
        .map(cert_summary)
        .unwrap_or_else(|| "no certificate recorded".into());
    let word = match c {
        Some(_) => super::certs::column(e),
        None => "none".into(),
    };
    html! {
        td class={ "cell " (mark.class()) } data-sort=(mark.rank()) title=(Text(&tip)) {
            span.sym aria-hidden="true" { (mark.symbol()) } " " (Text(&word))
        }
    }
}

/// A certificate in one paragraph: subject, issuer, expiry, findings.
pub(crate) fn cert_summary(c: &Certificate) -> String {
    let mut s = match c.leaf() {
        Some(l) => format!(
            "{} issued by {}, valid until {} ({} days left)",
            l.subject, l.issuer, l.not_after, l.days_left
        ),
        None => "empty chain".into(),
    };
    for f in &c.findings {
        s.push_str(&format!("; {}", f.message));
    }
    s
}

/// Endpoints whose certificate (or one it sends) is expired or expires within the warning.
pub(crate) struct CertCounts {
    pub expiring: usize,
    pub expired: usize,
    /// With an error finding of another kind (name, trust, chain, usage).
    pub invalid: usize,
    pub with_certificate: usize,
}

pub(crate) fn cert_counts<'a>(endpoints: impl Iterator<Item = &'a Endpoint>) -> CertCounts {
    let mut n = CertCounts {
        expiring: 0,
        expired: 0,
        invalid: 0,
        with_certificate: 0,
    };
    for e in endpoints {
        let Some(c) = e.certificate.as_deref() else {
            continue;
        };
        n.with_certificate += 1;
        if c.has(FindingKey::Expired) {
            n.expired += 1;
        } else if c.has(FindingKey::ExpiresSoon) {
            n.expiring += 1;
        }
        if c.findings
            .iter()
            .any(|f| f.severity == Severity::Error && !matches!(f.key, FindingKey::Expired))
        {
            n.invalid += 1;
        }
    }
    n
}

/// The endpoint's name cell: the target, then address, port, protocol and server name.
pub(crate) fn endpoint_cell(e: &Endpoint, anchor: Option<&str>) -> Markup {
    let addr = super::endpoint_name(e);
    html! {
        th.endpoint scope="row" data-sort=(Text(&e.target)) {
            @if let Some(a) = anchor {
                a.target href={ "#" (a) } { (breakable(&e.target)) }
            } @else {
                span.target { (breakable(&e.target)) }
            }
            div.sub {
                (Text(&addr)) " · " (e.protocol.key())
                @if let Some(sni) = &e.sni {
                    @if *sni != e.host { " · SNI " (Text(sni)) }
                }
            }
        }
    }
}

/// A target that may wrap after its scheme and before its port, not inside a name or number.
pub(crate) fn breakable(target: &str) -> Markup {
    let (scheme, rest) = match target.find("://") {
        Some(i) => target.split_at(i + 3),
        None => ("", target),
    };
    let (name, port) = match rest.rfind(':') {
        Some(i) if !rest.ends_with(']') && rest[i + 1..].bytes().all(|b| b.is_ascii_digit()) => {
            rest.split_at(i)
        }
        _ => (rest, ""),
    };
    html! {
        (Text(scheme)) @if !scheme.is_empty() { wbr; }
        (Text(name)) @if !port.is_empty() { wbr; (Text(port)) }
    }
}

/// One summary card: a count, a word, and the mark's colour and symbol.
pub(crate) fn card(mark: Mark, n: usize, word: &str) -> Markup {
    html! {
        div class={ "card " (mark.class()) @if n == 0 { " zero" } } {
            div.n { span.sym aria-hidden="true" { (mark.symbol()) } " " (n) }
            div.w { (Text(word)) }
        }
    }
}

/// A bar of the counts, proportional, each part titled: the summary at a glance.
pub(crate) fn bar(parts: &[(Mark, usize, String)]) -> Markup {
    let total: usize = parts.iter().map(|p| p.1).sum();
    if total == 0 {
        return html! {};
    }
    let mut x = 0.0;
    let mut segments = Vec::new();
    for (mark, n, word) in parts.iter().filter(|p| p.1 > 0) {
        let w = 1000.0 * (*n as f64) / (total as f64);
        segments.push((mark, n, word, x, w));
        x += w;
    }
    html! {
        svg.bar viewBox="0 0 1000 18" preserveAspectRatio="none" role="img" aria-label="summary" {
            @for (mark, n, word, x, w) in &segments {
                rect class=(mark.class()) x=(format!("{x:.1}")) y="0" width=(format!("{w:.1}")) height="18" {
                    title { (n) " " (Text(word)) }
                }
            }
        }
    }
}

/// The legend of the marks used in a matrix.
pub(crate) fn legend(items: &[(Mark, &str)]) -> Markup {
    html! {
        ul.legend {
            @for (mark, text) in items {
                li { span class={ "sym " (mark.class()) } aria-hidden="true" { (mark.symbol()) } " " (text) }
            }
        }
    }
}

/// The options a scan ran with, as people read them.
pub(crate) fn options_text(o: &ScanOptions) -> String {
    let versions: Vec<&str> = o.versions.iter().map(|v| v.name()).collect();
    let mut s = format!(
        "versions {}; engine {}; concurrency {}, {} per host; connect timeout {} ms, timeout {} ms; {} retr{}",
        versions.join(", "),
        o.engine.key(),
        o.concurrency,
        o.per_host,
        o.connect_timeout_ms,
        o.timeout_ms,
        o.retries,
        if o.retries == 1 { "y" } else { "ies" }
    );
    if let Some(sni) = &o.sni {
        s.push_str(&format!("; SNI {sni}"));
    }
    s.push_str(if o.ldap_check {
        "; LDAP checked with a RootDSE search"
    } else {
        "; LDAP not checked"
    });
    s.push_str(&format!(
        "; certificates warned {} days before expiry",
        o.cert_warn_days
    ));
    if o.suites {
        s.push_str("; the cipher suites of each accepted version enumerated (--suites)");
    }
    s
}

/// `started → finished (N s)`, from RFC 3339 times.
pub(crate) fn times(started: &str, finished: &str) -> String {
    let secs = |t: &str| humantime::parse_rfc3339_weak(t).ok();
    match (secs(started), secs(finished)) {
        (Some(a), Some(b)) => match b.duration_since(a) {
            Ok(d) => format!("{started} → {finished} ({:.1} s)", d.as_secs_f64()),
            Err(_) => format!("{started} → {finished}"),
        },
        _ => format!("{started} → {finished}"),
    }
}

/// The evidence rows of one scan: what, where, when, with what.
pub(crate) fn scan_evidence(src: Source<'_>) -> Vec<(&'static str, String)> {
    let r = src.report;
    let mut rows = Vec::new();
    if let Some(f) = src.file {
        rows.push(("Saved file", f.to_string()));
    }
    let targets = {
        let mut t: Vec<&str> = r.endpoints.iter().map(|e| e.target.as_str()).collect();
        t.sort();
        t.dedup();
        t.len()
    };
    rows.push((
        "Scanned",
        format!(
            "{} endpoint{} of {targets} target{}{}",
            r.endpoints.len(),
            if r.endpoints.len() == 1 { "" } else { "s" },
            if targets == 1 { "" } else { "s" },
            if r.complete {
                ""
            } else {
                "; the scan was interrupted, cells never probed are marked"
            }
        ),
    ));
    if let Some(l) = &r.label {
        rows.push(("Label", l.clone()));
    }
    if let Some(s) = &r.scanner {
        rows.push(("Scanner host", s.clone()));
    }
    rows.push(("Time", times(&r.started, &r.finished)));
    rows.push(("Tool", format!("{} {}", r.tool.name, r.tool.version)));
    rows.push(("TLS library", r.tls_library.clone()));
    rows.push(("Options", options_text(&r.options)));
    if let Some(t) = &r.options.trust_store {
        rows.push(("Trust store", t.clone()));
    }
    for v in &r.vantage_points {
        rows.push((
            "Vantage point",
            format!(
                "{}: {}{}",
                v.name,
                times(&v.started, &v.finished),
                v.scanner
                    .as_deref()
                    .map(|s| format!(" from {s}"))
                    .unwrap_or_default()
            ),
        ));
    }
    rows
}

/// A definition list of evidence rows.
pub(crate) fn evidence_list(rows: &[(&str, String)]) -> Markup {
    html! {
        dl.evidence {
            @for (k, v) in rows {
                dt { (k) } dd { (Text(v)) }
            }
        }
    }
}

/// The per-endpoint details: the verdict's explanation, every cell in full, the certificate.
pub(crate) fn endpoint_details(e: &Endpoint, id: &str) -> Markup {
    let mark = verdict_mark(e.verdict);
    html! {
        details.endpoint id=(id) {
            summary {
                (badge(mark, &super::verdict_text(e, true))) " " span.target { (Text(&e.target)) }
                " " span.sub { (Text(&super::endpoint_name(e))) }
            }
            p { (Text(&e.verdict_detail)) }
            @if let Some(s) = e.rdp_standard_security {
                p { (s.sentence()) }
            }
            @for d in &e.disagreements {
                p { "Vantage points disagree: " (Text(d)) }
            }
            table.cells {
                thead { tr { th { "Version" } th { "Status" } th { "Detail" } } }
                tbody {
                    @for (v, c) in &e.versions {
                        @let mark = scan_mark(*v, c);
                        tr {
                            td { (v.name()) }
                            td class=(mark.class()) { span.sym { (mark.symbol()) } " " (c.status().key().replace('_', " ")) }
                            td { (Text(&cell_detail(c))) }
                        }
                    }
                }
            }
            @if let Some(c) = e.certificate.as_deref() {
                (certificate_block(c))
            }
        }
    }
}

/// A certificate in full: chain, names, usages, trust, findings.
pub(crate) fn certificate_block(c: &Certificate) -> Markup {
    html! {
        div.cert {
            h4 { "Certificate" }
            @if let Some(l) = c.leaf() {
                dl.evidence {
                    dt { "Subject" } dd { (Text(&l.subject)) }
                    dt { "Issuer" } dd { (Text(&l.issuer)) }
                    dt { "Valid" } dd { (Text(&l.not_before)) " → " (Text(&l.not_after)) " (" (l.days_left) " days left)" }
                    dt { "Key" } dd { (Text(&l.key_type)) " " (l.key_bits) @if let Some(cv) = &l.curve { " " (Text(cv)) } ", " (Text(&l.signature_algorithm)) }
                    dt { "SHA-256" } dd.mono { (Text(&l.sha256)) }
                    @if !c.dns_names.is_empty() || !c.ip_addresses.is_empty() {
                        dt { "Names" } dd { (Text(&c.dns_names.iter().chain(&c.ip_addresses).cloned().collect::<Vec<_>>().join(", "))) }
                    }
                    dt { "Trust" } dd {
                        @if c.trust.verified { "verified against " } @else { "not verified against " }
                        (Text(&c.trust.store))
                        @if let Some(err) = &c.trust.error { ": " (Text(err)) }
                    }
                    @if c.chain.len() > 1 {
                        dt { "Chain" } dd { (Text(&c.chain.iter().skip(1).map(|x| x.subject.clone()).collect::<Vec<_>>().join(" ← "))) }
                    }
                }
            }
            @if !c.findings.is_empty() {
                ul.findings {
                    @for f in &c.findings {
                        @let mark = match f.severity { Severity::Error => Mark::Bad, Severity::Warning => Mark::Warn, Severity::Info => Mark::Neutral };
                        li { (badge(mark, f.key.key())) " " (Text(&f.message)) }
                    }
                }
            }
        }
    }
}

/// A list of notes, each line from outside made visible.
pub(crate) fn note_list(lines: &[String]) -> Markup {
    html! {
        @if !lines.is_empty() {
            ul.notes {
                @for l in lines { li { (Text(l)) } }
            }
        }
    }
}

/// The stylesheet: screen first, then the print layout for A4.
const CSS: &str = r#"
:root{--good:#116329;--good-bg:#dcf5e3;--bad:#a40e26;--bad-bg:#ffe1de;--warn:#7a4a00;--warn-bg:#fff0c2;
--unknown:#3d4451;--unknown-bg:#e4e7ec;--off:#6e7781;--off-bg:#f5f6f8;--neutral:#424a53;--neutral-bg:#fff;
--excepted:#1f3f9e;--excepted-bg:#e3e9ff;--line:#d0d7de;--muted:#59636e;--ink:#1f2328;--head:#12263f}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;color:var(--ink);background:#fff}
header.top{background:var(--head);color:#fff;padding:18px 28px 16px}
header.top h1{margin:0;font-size:22px;font-weight:650;letter-spacing:.2px}
header.top .sub{margin-top:4px;color:#d5dde8;font-size:15px}
main{padding:8px 28px 32px;max-width:1500px}
h2{font-size:17px;margin:26px 0 10px;padding-bottom:4px;border-bottom:2px solid #e6e9ed}
h3{font-size:15px;margin:18px 0 8px}
h4{font-size:13px;margin:10px 0 4px}
p{margin:6px 0}
.banner{display:flex;gap:14px;align-items:center;border:2px solid;border-radius:8px;padding:12px 16px;margin:18px 0 4px;font-size:18px;font-weight:650}
.banner .sym{font-size:26px;line-height:1}
.banner .why{font-size:14px;font-weight:400}
.banner.m-good{border-color:var(--good)}.banner.m-bad{border-color:var(--bad)}.banner.m-unknown{border-color:var(--unknown)}
dl.evidence{display:grid;grid-template-columns:max-content 1fr;gap:3px 18px;margin:0}
dl.evidence dt{color:var(--muted)}
dl.evidence dd{margin:0;overflow-wrap:anywhere}
table.sides{border-collapse:collapse;margin:4px 0}
table.sides th,table.sides td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
table.sides th[scope=row]{color:var(--muted);font-weight:500;white-space:nowrap}
table.sides tr.differs td{background:var(--warn-bg)}
table.sides td.same{color:var(--ink)}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.card{border:1px solid var(--line);border-left-width:6px;border-radius:6px;padding:5px 11px;min-width:112px;background:#fff}
.card .n{font-size:22px;font-weight:700}
.card .w{color:var(--muted);font-size:13px}
.card.zero{opacity:.5}
.card.m-good{border-left-color:var(--good)}.card.m-bad{border-left-color:var(--bad)}.card.m-warn{border-left-color:#c98a00}
.card.m-unknown{border-left-color:#8a93a0}.card.m-off{border-left-color:#c5cad1}.card.m-neutral{border-left-color:#8c959f}.card.m-excepted{border-left-color:var(--excepted)}.card.m-same{border-left-color:#afb8c1}
svg.bar{display:block;width:100%;max-width:900px;height:14px;margin:8px 0 2px;border-radius:3px}
svg.bar rect.m-good{fill:#2da44e}svg.bar rect.m-bad{fill:#cf222e}svg.bar rect.m-warn{fill:#d4a72c}svg.bar rect.m-unknown{fill:#8c959f}
svg.bar rect.m-off{fill:#d0d7de}svg.bar rect.m-neutral{fill:#afb8c1}svg.bar rect.m-excepted{fill:#4063d8}svg.bar rect.m-same{fill:#e6e9ed}
.legend{list-style:none;padding:0;margin:6px 0 10px;display:flex;flex-wrap:wrap;gap:4px 16px;color:var(--muted);font-size:12.5px}
.legend .sym{display:inline-block;min-width:1.5em;text-align:center;border-radius:3px;font-weight:700}
.controls{display:flex;gap:14px;align-items:center;margin:6px 0;font-size:13px}
.controls input[type=search]{padding:4px 8px;border:1px solid var(--line);border-radius:4px;min-width:260px;font:inherit}
.scroll{overflow-x:auto}
table.matrix{border-collapse:collapse;width:100%;font-size:13px}
table.matrix th,table.matrix td{border:1px solid var(--line);padding:4px 7px;text-align:left;vertical-align:top}
table.matrix thead th{background:#f3f5f8;position:sticky;top:0;z-index:1;white-space:nowrap;cursor:default}
table.matrix thead th.sortable{cursor:pointer}
table.matrix thead th.sorted-asc::after{content:" ▲";font-size:10px}
table.matrix thead th.sorted-desc::after{content:" ▼";font-size:10px}
table.matrix th.endpoint{font-weight:400;min-width:200px}
table.matrix .target{font-weight:600;color:var(--ink);text-decoration:none;overflow-wrap:break-word}
table.matrix a.target:hover{text-decoration:underline}
.sub{color:var(--muted);font-size:12px;overflow-wrap:anywhere}
td.cell{white-space:nowrap}
td.wrap{white-space:normal;overflow-wrap:anywhere}
td.nw{white-space:nowrap}
td.name{min-width:9em;overflow-wrap:break-word}
.sym{font-weight:700}
.m-good{background:var(--good-bg);color:var(--good)}
.m-bad{background:var(--bad-bg);color:var(--bad)}
.m-warn{background:var(--warn-bg);color:var(--warn)}
.m-unknown{background:var(--unknown-bg);color:var(--unknown)}
.m-off{background:var(--off-bg);color:var(--off)}
.m-neutral{background:var(--neutral-bg);color:var(--neutral)}
.m-excepted{background:var(--excepted-bg);color:var(--excepted)}
.m-same{background:#fff;color:var(--neutral)}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:14px}
.badge{display:inline-block;padding:0 6px;border-radius:10px;font-size:12.5px;white-space:nowrap}
td.cell .tr{display:block;font-size:11.5px;margin-top:1px;white-space:nowrap}
td.cell.change{white-space:normal;min-width:7em}
td.cell .side{color:var(--ink);white-space:nowrap}
td.cell .arrow{color:var(--muted);padding:0 2px}
ul.notes,ul.findings{margin:4px 0;padding-left:20px}
ul.notes li,ul.findings li{margin:2px 0;overflow-wrap:anywhere}
ul.findings.inline{padding-left:0;list-style:none}
details.endpoint{border:1px solid var(--line);border-radius:6px;margin:6px 0;padding:4px 10px}
details.endpoint summary{cursor:pointer;padding:2px 0}
details.endpoint[open]{padding-bottom:10px}
table.cells{border-collapse:collapse;font-size:12.5px;margin:6px 0}
details table.cells{width:100%}
table.cells td:nth-child(-n+2){white-space:nowrap}
table.cells th,table.cells td{border:1px solid var(--line);padding:2px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
.mono{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:12px}
footer{margin-top:28px;padding-top:8px;border-top:1px solid var(--line);color:var(--muted);font-size:12px}
tr.hidden{display:none}
@media screen and (max-width:1000px){
main{padding:6px 14px 24px}header.top{padding:14px}
table.matrix{font-size:11.5px}
table.matrix th,table.matrix td{padding:3px 4px}
table.matrix th.endpoint{min-width:0}
td.cell.change{min-width:0}
td.cell .side{white-space:normal}
td.cell .tr{font-size:10.5px;white-space:normal}
table.matrix thead th{white-space:normal}
.card{min-width:0}
}
@media print{
@page{size:A4 portrait;margin:11mm 9mm 12mm}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{font-size:8pt;line-height:1.3}
header.top{background:none;color:#000;padding:0 0 4pt;border-bottom:1.5pt solid #000}
header.top h1{font-size:14pt}
header.top .sub{color:#333;font-size:9pt}
main{padding:0;max-width:none}
h2{font-size:10.5pt;margin:10pt 0 4pt;break-after:avoid}
.banner{font-size:11pt;padding:5pt 8pt;margin:8pt 0 2pt}
.banner .sym{font-size:14pt}.banner .why{font-size:8.5pt}
.card{padding:2pt 6pt;min-width:0}.card .n{font-size:12pt}.card .w{font-size:7.5pt}
.controls{display:none!important}
.scroll{overflow:visible}
table.matrix{font-size:7pt;width:100%}
table.matrix th,table.matrix td{padding:1.5pt 3pt}
table.matrix thead th{position:static}
table.matrix thead th.sorted-asc::after,table.matrix thead th.sorted-desc::after{content:none}
table.matrix th.endpoint{min-width:0}
td.cell{white-space:normal}
td.cell.change{min-width:0}
td.cell .tr{font-size:6.5pt}
td.cell .side{white-space:normal}
.sub{font-size:6.5pt}
tr,.card,.banner,details.endpoint{break-inside:avoid}
a{color:inherit;text-decoration:none}
.legend{font-size:7pt}
section.details{break-before:page}
section.details details:not([open]){display:none}
section.details:not(:has(details[open])){display:none}
details.endpoint{padding:2pt 5pt}
footer{font-size:7pt}
}
"#;

/// Sorting and filtering, for a reader with a browser; the page reads the same without it.
const SCRIPT: &str = r#"
(function(){
document.querySelectorAll('.controls').forEach(function(c){c.hidden=false;});
var q=document.getElementById('filter'),only=document.getElementById('attention');
function apply(){var t=q?q.value.toLowerCase():'',a=only&&only.checked;
document.querySelectorAll('table.filterable tbody tr').forEach(function(r){
var show=(!t||r.textContent.toLowerCase().indexOf(t)>=0)&&(!a||r.classList.contains('attention'));
r.classList.toggle('hidden',!show);});}
if(q)q.addEventListener('input',apply);if(only)only.addEventListener('change',apply);
document.querySelectorAll('table.matrix').forEach(function(tb){
var ths=tb.querySelectorAll('thead tr:last-child th');
ths.forEach(function(th,i){th.classList.add('sortable');th.addEventListener('click',function(){
var asc=!th.classList.contains('sorted-asc');ths.forEach(function(h){h.classList.remove('sorted-asc','sorted-desc');});
th.classList.add(asc?'sorted-asc':'sorted-desc');var body=tb.tBodies[0];
var rows=Array.prototype.slice.call(body.rows);
function key(r){var c=r.cells[i];if(!c)return '';var s=c.getAttribute('data-sort');return s!==null?s:c.textContent.trim();}
rows.sort(function(x,y){var a=key(x),b=key(y),na=parseFloat(a),nb=parseFloat(b);
var d=(!isNaN(na)&&!isNaN(nb))?na-nb:a.localeCompare(b,undefined,{numeric:true});return asc?d:-d;});
rows.forEach(function(r){body.appendChild(r);});});});});
window.addEventListener('beforeprint',function(){if(q){q.value='';}if(only){only.checked=false;}apply();});
})();
"#;

fn csp_hash(s: &str) -> String {
    format!(
        "'sha256-{}'",
        openssl::base64::encode_block(&openssl::sha::sha256(s.as_bytes()))
    )
}

/// The filter box and the attention switch, shown only when the script runs.
pub(crate) fn controls(what: &str) -> Markup {
    html! {
        div.controls hidden {
            label { "Filter " input #filter type="search" placeholder=(format!("any text in the {what}")); }
            label { input #attention type="checkbox"; " only rows that need attention" }
            span.sub { "Click a column heading to sort." }
        }
    }
}

/// The whole page: head with the inline style, script and the policy that forbids anything
/// else; the title bar; the body; the foot saying how the page was made.
pub(crate) fn page(title: &str, subtitle: &str, meta: &Meta, body: Markup) -> Markup {
    let csp = format!(
        "default-src 'none'; style-src {}; script-src {}; img-src data:; base-uri 'none'; form-action 'none'",
        csp_hash(CSS),
        csp_hash(SCRIPT)
    );
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(csp);
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content=(meta.tool);
                title { (Text(title)) " — " (Text(subtitle)) }
                link rel="icon" href="data:,";
                style { (PreEscaped(CSS)) }
            }
            body {
                header.top {
                    h1 { (Text(title)) }
                    div.sub { (Text(subtitle)) }
                }
                main {
                    (body)
                    footer {
                        "Written by " (Text(&meta.tool))
                        @if let Some(t) = &meta.generated { " on " (Text(t)) }
                        ". This page is one file: it loads nothing, and every value in it comes from the documents named above."
                    }
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
}

pub(crate) fn write_page(m: Markup, w: &mut dyn Write) -> io::Result<()> {
    w.write_all(m.into_string().as_bytes())?;
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests;
