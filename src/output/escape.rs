//! Text from outside (servers, captures, files, saved reports) made safe for each medium. Every
//! renderer puts its text through here: a table cell, a line on the terminal, a Markdown cell or
//! a CSV field never carries a control character, whoever wrote it.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for what a terminal may act on instead of showing: C0 controls (ESC, BEL, CR, LF, tab,
/// backspace...), DEL, the C1 controls (U+0080..U+009F, which some terminals take as CSI), and
/// the bidirectional overrides that reorder what is shown.
pub(crate) fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

fn escape_char(out: &mut String, c: char) {
    let _ = write!(out, "\\u{{{:x}}}", c as u32);
}

/// For a terminal (and any plain-text line): control characters shown as `\u{1b}`, `\u{a}`,
/// `\u{9b}`; everything else as it is.
pub fn term(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            escape_char(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// For a Markdown table cell or list item: control characters escaped as on the terminal, and
/// the characters Markdown would act on (`|` ends a cell, a backtick opens code, `*`, `_` and `~`
/// emphasis, `<`/`>` HTML, a `\` before punctuation, and a `]` that would close a link: before
/// `(`, `[` or `:`) backslash-escaped, so the text reads as written and stays in its cell.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' | '|' | '*' | '_' | '~' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            // A backslash matters to Markdown only before punctuation (`\|` would hide the
            // escape of a `|`); elsewhere, as in `\u{1b}`, it is shown as it is.
            '\\' if chars.peek().is_some_and(|n| n.is_ascii_punctuation()) => out.push_str("\\\\"),
            ']' if matches!(chars.peek(), Some('(' | '[' | ':')) => out.push_str("\\]"),
            c if is_unsafe(c) => escape_char(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// For a CSV field: control characters escaped as on the terminal, and a field that a
/// spreadsheet would take as a formula (it starts with `=`, `+`, `-`, `@`, tab or CR) prefixed
/// with `'`, as the OWASP guidance on CSV injection says. The CSV writer quotes every field, so a
/// separator inside a field cannot start a new cell.
pub fn csv(s: &str) -> Cow<'_, str> {
    let dangerous = matches!(
        s.chars().next(),
        Some(
            '=' | '+' | '-' | '@' | '\t' | '\r' | '\u{ff1d}' | '\u{ff0b}' | '\u{ff0d}' | '\u{ff20}'
        )
    );
    let text = term(s);
    if dangerous {
        Cow::Owned(format!("'{text}"))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_shown_not_obeyed() {
        assert_eq!(term("plain text: ok"), "plain text: ok");
        assert_eq!(
            term("a\x1b[32mPASS\x07\r\nb\t\u{9b}c\u{202e}d\x7f"),
            "a\\u{1b}[32mPASS\\u{7}\\u{d}\\u{a}b\\u{9}\\u{9b}c\\u{202e}d\\u{7f}"
        );
        assert!(!term("\x1b]0;title\x07").chars().any(|c| c.is_control()));
    }

    #[test]
    fn markdown_cells_keep_their_text_in_the_cell() {
        assert_eq!(markdown("a|b`c`\nd"), "a\\|b\\`c\\`\\u{a}d");
        assert_eq!(markdown("a\\|b \\u{1b}"), "a\\\\\\|b \\u{1b}");
        assert_eq!(markdown("[x](http://e) <b>"), "[x\\](http://e) \\<b\\>");
        assert_eq!(markdown("[::1]:636 [before]"), "[::1\\]:636 [before]");
        assert_eq!(markdown("dc1.corp.example.com"), "dc1.corp.example.com");
    }

    #[test]
    fn csv_formulas_are_neutralised() {
        for f in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "＝1+1"] {
            let out = csv(f);
            assert!(out.starts_with('\''), "{f:?} -> {out:?}");
            assert!(!out.chars().any(|c| c.is_control()), "{out:?}");
        }
        assert_eq!(csv("dc1.example.com"), "dc1.example.com");
        assert_eq!(csv("a=1"), "a=1");
    }
}
