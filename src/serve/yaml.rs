//! Reading a YAML configuration into typed settings, every mistake reported at its line.
//!
//! The file is parsed by `saphyr`, which keeps the position of every node; the settings are then
//! read node by node, and each mistake (an unknown key, a value of the wrong kind, a bad duration
//! or version name) is recorded with its line and the path to it instead of ending the reading,
//! so one run lists every mistake of the file.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// One mistake in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based; 0 when the mistake is about the file as a whole.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    /// Where in the document, as `modules.ldaps.timeout`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: ", self.line, self.column)?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Parse a YAML document. An empty file gives `None`.
pub fn parse(text: &str) -> Result<Option<MarkedYaml<'_>>, ConfigError> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| ConfigError {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        path: String::new(),
        message: format!("not valid YAML: {}", e.info()),
    })?;
    if docs.len() > 1 {
        return Err(ConfigError {
            line: docs[1].span.start.line(),
            column: docs[1].span.start.col() + 1,
            path: String::new(),
            message: "more than one YAML document; the configuration is one document".into(),
        });
    }
    Ok(docs.into_iter().next().filter(|d| !is_null(d)))
}

/// Collects the mistakes while settings are read.
#[derive(Default)]
pub struct Reader {
    pub errors: Vec<ConfigError>,
}

/// `parent.key`, or `key` at the top.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn is_null(node: &MarkedYaml<'_>) -> bool {
    matches!(node.data, YamlData::Value(Scalar::Null))
}

/// What a node is, for messages.
fn kind(node: &MarkedYaml<'_>) -> &'static str {
    match &node.data {
        YamlData::Value(Scalar::Null) => "nothing",
        YamlData::Value(Scalar::Boolean(_)) => "a boolean",
        YamlData::Value(Scalar::Integer(_)) => "a number",
        YamlData::Value(Scalar::FloatingPoint(_)) => "a number",
        YamlData::Value(Scalar::String(_)) | YamlData::Representation(..) => "a string",
        YamlData::Sequence(_) => "a list",
        YamlData::Mapping(_) => "a mapping",
        YamlData::Tagged(..) => "a tagged value",
        YamlData::Alias(_) => "an alias",
        YamlData::BadValue => "an invalid value",
    }
}

impl Reader {
    pub fn error(&mut self, node: &MarkedYaml<'_>, path: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            line: node.span.start.line(),
            column: node.span.start.col() + 1,
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn expected(&mut self, node: &MarkedYaml<'_>, path: &str, what: &str) {
        let got = match &node.data {
            YamlData::Value(Scalar::String(s)) => format!("'{s}'"),
            YamlData::Value(Scalar::Integer(i)) => i.to_string(),
            YamlData::Value(Scalar::FloatingPoint(f)) => f.to_string(),
            YamlData::Value(Scalar::Boolean(b)) => b.to_string(),
            _ => kind(node).to_string(),
        };
        self.error(node, path, format!("expected {what}, got {got}"));
    }

    /// The entries of a mapping whose keys are all in `known`; every other key is a mistake
    /// (with the nearest known key as a suggestion). An empty value counts as an empty mapping.
    pub fn mapping<'a, 'i>(
        &mut self,
        node: &'a MarkedYaml<'i>,
        path: &str,
        known: &[&str],
    ) -> Vec<(String, &'a MarkedYaml<'i>)> {
        let mut out = Vec::new();
        for (key, key_node, value) in self.keyed(node, path) {
            if known.contains(&key.as_str()) {
                out.push((key, value));
                continue;
            }
            let near = known
                .iter()
                .map(|k| (strsim::levenshtein(k, &key), *k))
                .filter(|(d, _)| *d <= 2)
                .min();
            let message = match near {
                Some((_, k)) => format!("unknown key '{key}' (did you mean '{k}'?)"),
                None => format!(
                    "unknown key '{key}' (expected one of: {})",
                    known.join(", ")
                ),
            };
            self.error(key_node, &join(path, &key), message);
        }
        out
    }

    /// The entries of a mapping with free keys (names chosen by the user).
    pub fn entries<'a, 'i>(
        &mut self,
        node: &'a MarkedYaml<'i>,
        path: &str,
    ) -> Vec<(String, &'a MarkedYaml<'i>)> {
        self.keyed(node, path)
            .into_iter()
            .map(|(k, _, v)| (k, v))
            .collect()
    }

    /// Key, key node and value of each entry of a mapping with free keys.
    #[allow(clippy::type_complexity)]
    pub fn keyed<'a, 'i>(
        &mut self,
        node: &'a MarkedYaml<'i>,
        path: &str,
    ) -> Vec<(String, &'a MarkedYaml<'i>, &'a MarkedYaml<'i>)> {
        let map = match &node.data {
            YamlData::Mapping(m) => m,
            YamlData::Value(Scalar::Null) => return Vec::new(),
            _ => {
                self.expected(node, path, "a mapping of keys to values");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (k, v) in map {
            match &k.data {
                YamlData::Value(Scalar::String(s)) => out.push((s.to_string(), k, v)),
                _ => self.expected(k, path, "a key that is a string"),
            }
        }
        out
    }

    /// A string value (a number written as is, like an SNI of digits, is taken as its text).
    pub fn string(&mut self, node: &MarkedYaml<'_>, path: &str) -> Option<String> {
        match &node.data {
            YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
            _ => {
                self.expected(node, path, "a string");
                None
            }
        }
    }

    pub fn boolean(&mut self, node: &MarkedYaml<'_>, path: &str) -> Option<bool> {
        match &node.data {
            YamlData::Value(Scalar::Boolean(b)) => Some(*b),
            _ => {
                self.expected(node, path, "true or false");
                None
            }
        }
    }

    pub fn integer(
        &mut self,
        node: &MarkedYaml<'_>,
        path: &str,
        range: RangeInclusive<u64>,
    ) -> Option<u64> {
        let what = format!("a whole number from {} to {}", range.start(), range.end());
        match &node.data {
            YamlData::Value(Scalar::Integer(i)) if *i >= 0 && range.contains(&(*i as u64)) => {
                Some(*i as u64)
            }
            _ => {
                self.expected(node, path, &what);
                None
            }
        }
    }

    /// A duration: `5s`, `500ms`, `2m`, or a number of seconds. Zero only if `allow_zero`.
    pub fn duration(
        &mut self,
        node: &MarkedYaml<'_>,
        path: &str,
        allow_zero: bool,
    ) -> Option<Duration> {
        let what = "a duration such as 5s, 500ms or 2m";
        let d = match &node.data {
            YamlData::Value(Scalar::Integer(i)) if *i >= 0 => Duration::from_secs(*i as u64),
            YamlData::Value(Scalar::FloatingPoint(f)) if f.is_finite() && **f >= 0.0 => {
                Duration::from_secs_f64(**f)
            }
            YamlData::Value(Scalar::String(s)) => {
                let text = s.trim();
                if allow_zero && matches!(text, "0" | "0s") {
                    Duration::ZERO
                } else {
                    match crate::cli::parse_duration(text) {
                        Ok(d) => d,
                        Err(e) => {
                            self.error(node, path, e);
                            return None;
                        }
                    }
                }
            }
            _ => {
                self.expected(node, path, what);
                return None;
            }
        };
        if d.is_zero() && !allow_zero {
            self.error(node, path, "must be more than zero");
            return None;
        }
        Some(d)
    }

    /// A list of strings, or one string of comma-separated items; each item with its node.
    pub fn strings<'a, 'i>(
        &mut self,
        node: &'a MarkedYaml<'i>,
        path: &str,
    ) -> Option<Vec<(String, &'a MarkedYaml<'i>)>> {
        match &node.data {
            YamlData::Value(Scalar::String(s)) => Some(
                s.split(',')
                    .map(|p| (p.trim().to_string(), node))
                    .filter(|(p, _)| !p.is_empty())
                    .collect(),
            ),
            YamlData::Sequence(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if let Some(s) = self.string(item, &format!("{path}[{i}]")) {
                        out.push((s, item));
                    }
                }
                Some(out)
            }
            _ => {
                self.expected(node, path, "a list of strings");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mistake_is_reported_with_its_line() {
        let text = "a: 1\nb: x\ntimeot: 5s\n";
        let doc = parse(text).unwrap().unwrap();
        let mut r = Reader::default();
        let entries = r.mapping(&doc, "", &["a", "b", "timeout"]);
        assert_eq!(entries.len(), 2);
        for (k, v) in entries {
            match k.as_str() {
                "a" => assert_eq!(r.boolean(v, "a"), None),
                _ => assert_eq!(r.duration(v, "b", false), None),
            }
        }
        let lines: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            lines,
            [
                "3:1: timeot: unknown key 'timeot' (did you mean 'timeout'?)",
                "1:4: a: expected true or false, got 1",
                "2:4: b: invalid duration 'x': expected number at 0",
            ]
        );
    }

    #[test]
    fn syntax_errors_and_duplicate_keys_name_the_line() {
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("duplicated key"), "{e}");
        let e = parse("a: [1, 2\n").unwrap_err();
        assert!(e.message.starts_with("not valid YAML"), "{e}");
        assert!(parse("").unwrap().is_none());
        assert!(parse("# nothing\n").unwrap().is_none());
    }
}
