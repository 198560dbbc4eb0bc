//! Exceptions: endpoints or versions an administrator has decided not to hold against the
//! after-proof for a while, each with a reason and an expiry date. An exception never hides a
//! result: what it covers is listed as excepted, and an expired exception fails the run.
//!
//! The file has one exception a line, `#` starting a comment:
//!
//! ```text
//! # PATTERN                      VERSIONS        EXPIRES     REASON
//! ldaps://dc3.corp.example.com   tls1.0,tls1.1   2027-03-31  print server still on TLS 1.0
//! 2001:db8::15                   all             2027-01-15  decommissioned DC, record to go
//! ```
//!
//! PATTERN is matched, case-insensitively and with `*` and `?` wildcards, against the target as
//! written, its host, its address, `host:port` and `address:port` (`[v6]:port`).

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use wildmatch::WildMatch;

use crate::report::TlsVersion;

/// A calendar date (UTC), as `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u32,
    day: u32,
}

impl Date {
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.split('-');
        let (y, m, d) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let date = Date {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
            day: d.parse().ok()?,
        };
        let leap = |y: i32| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = match date.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap(date.year) => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days).contains(&date.day).then_some(date)
    }

    /// Today in UTC.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date::from_days((secs / 86_400) as i64)
    }

    /// The date `days` after 1970-01-01 (the civil-from-days algorithm).
    fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// One line of an exceptions file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exception {
    pub pattern: String,
    /// `None`: every version, and the endpoint itself (unreachable, removed).
    pub versions: Option<Vec<TlsVersion>>,
    pub expires: Date,
    pub reason: String,
    /// `FILE:LINE`.
    pub source: String,
}

impl Exception {
    fn covers_version(&self, v: Option<TlsVersion>) -> bool {
        match (&self.versions, v) {
            (None, _) => true,
            (Some(list), Some(v)) => list.contains(&v),
            (Some(_), None) => false,
        }
    }

    fn matches(&self, e: &Subject<'_>) -> bool {
        matches_pattern(&self.pattern, e)
    }

    /// How an exception is named where it applies.
    pub fn describe(&self) -> String {
        format!(
            "{} (exception {}, until {})",
            self.reason, self.source, self.expires
        )
    }
}

/// Whether `pattern` (`*` and `?` wildcards, any case) names this endpoint: its target as
/// written, host, address, `host:port` or `address:port`.
pub fn matches_pattern(pattern: &str, e: &Subject<'_>) -> bool {
    {
        let m = WildMatch::new_case_insensitive(pattern);
        let addr = e.address.map(|a| match a {
            IpAddr::V6(v6) => (v6.to_string(), format!("[{v6}]:{}", e.port)),
            IpAddr::V4(v4) => (v4.to_string(), format!("{v4}:{}", e.port)),
        });
        m.matches(e.target)
            || m.matches(e.host)
            || m.matches(&format!("{}:{}", e.host, e.port))
            || addr
                .as_ref()
                .is_some_and(|(a, ap)| m.matches(a) || m.matches(ap))
    }
}

/// What an exception is held against: one endpoint of a report.
pub struct Subject<'a> {
    pub target: &'a str,
    pub host: &'a str,
    pub address: Option<IpAddr>,
    pub port: u16,
}

/// An exception that applied, as the documents record it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excepted {
    pub reason: String,
    pub expires: String,
    pub source: String,
}

impl From<&Exception> for Excepted {
    fn from(x: &Exception) -> Self {
        Excepted {
            reason: x.reason.clone(),
            expires: x.expires.to_string(),
            source: x.source.clone(),
        }
    }
}

/// The exceptions in force for one run, and those that have expired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exceptions {
    active: Vec<Exception>,
    expired: Vec<Exception>,
}

impl Exceptions {
    /// Read an exceptions file's text; `source` names it in messages. An exception whose date
    /// is before `today` is expired.
    pub fn parse(text: &str, source: &str, today: Date) -> Result<Exceptions, String> {
        let mut out = Exceptions::default();
        for (i, line) in text.lines().enumerate() {
            let at = format!("{source}:{}", i + 1);
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(pattern), Some(versions), Some(expires)) =
                (words.next(), words.next(), words.next())
            else {
                return Err(format!(
                    "{at}: expected PATTERN VERSIONS EXPIRES REASON, as in 'ldaps://dc3 tls1.0,tls1.1 2027-03-31 print server'"
                ));
            };
            let reason = words.collect::<Vec<_>>().join(" ");
            if reason.is_empty() {
                return Err(format!("{at}: an exception needs a reason after its date"));
            }
            let versions = if versions.eq_ignore_ascii_case("all") {
                None
            } else {
                Some(
                    versions
                        .split(',')
                        .map(|v| v.parse::<TlsVersion>().map_err(|e| format!("{at}: {e}")))
                        .collect::<Result<Vec<_>, _>>()?,
                )
            };
            let expires = Date::parse(expires)
                .ok_or_else(|| format!("{at}: '{expires}' is not a date (expected YYYY-MM-DD)"))?;
            let x = Exception {
                pattern: pattern.to_string(),
                versions,
                expires,
                reason,
                source: at,
            };
            if x.expires < today {
                out.expired.push(x);
            } else {
                out.active.push(x);
            }
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.active.is_empty() && self.expired.is_empty()
    }

    /// The exception in force that covers this endpoint and version (`None`: the endpoint as a
    /// whole), if any.
    pub fn covering(&self, e: &Subject<'_>, v: Option<TlsVersion>) -> Option<&Exception> {
        self.active
            .iter()
            .find(|x| x.covers_version(v) && x.matches(e))
    }

    /// Expired exceptions, each as a sentence: a run that has any fails.
    pub fn expired(&self) -> Vec<String> {
        self.expired
            .iter()
            .map(|x| {
                format!(
                    "the exception for {} at {} expired on {} ({}): renew it with a new date or remove it",
                    x.pattern, x.source, x.expires, x.reason
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::parse("2026-12-01").unwrap()
    }

    #[test]
    fn dates() {
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(20_788).to_string(), "2026-12-01");
        assert_eq!(Date::from_days(11_016).to_string(), "2000-02-29");
        assert!(Date::parse("2027-02-29").is_none());
        assert!(Date::parse("2028-02-29").is_some());
        assert!(Date::parse("27-02-01").is_none());
        assert!(Date::today() > Date::parse("2025-01-01").unwrap());
    }

    #[test]
    fn parse_match_and_expire() {
        let text = "# comment\n\
            ldaps://dc3.corp.test  tls1.0,tls1.1  2027-03-31  print server still on TLS 1.0\n\
            2001:db8::*            all            2026-11-30  old DC\n\
            *.lab.test:389         ALL            2026-12-01  last day counts\n";
        let x = Exceptions::parse(text, "ex.txt", today()).unwrap();
        assert_eq!(x.active.len(), 2);
        assert_eq!(x.expired().len(), 1);
        assert!(x.expired()[0].contains("ex.txt:3"), "{:?}", x.expired());
        let dc3 = Subject {
            target: "ldaps://dc3.corp.test",
            host: "dc3.corp.test",
            address: Some("10.0.0.3".parse().unwrap()),
            port: 636,
        };
        assert!(x.covering(&dc3, Some(TlsVersion::Tls10)).is_some());
        assert!(x.covering(&dc3, Some(TlsVersion::Tls12)).is_none());
        assert!(
            x.covering(&dc3, None).is_none(),
            "a version list is not the endpoint"
        );
        let lab = Subject {
            target: "ldap://DC1.lab.test",
            host: "DC1.lab.test",
            address: Some("127.0.0.1".parse().unwrap()),
            port: 389,
        };
        assert!(x.covering(&lab, None).is_some());
    }

    #[test]
    fn mistakes_name_the_line() {
        for (text, needle) in [
            ("dc1 tls1.0", "ex.txt:1: expected PATTERN"),
            (
                "dc1 tls1.0 2027-01-01",
                "ex.txt:1: an exception needs a reason",
            ),
            (
                "\ndc1 tls9 2027-01-01 r",
                "ex.txt:2: unknown protocol version 'tls9'",
            ),
            (
                "dc1 all 31/01/2027 r",
                "ex.txt:1: '31/01/2027' is not a date",
            ),
        ] {
            let e = Exceptions::parse(text, "ex.txt", today()).unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
    }
}
