//! What `scan --suites` found for one accepted version of an endpoint: the cipher suites the
//! server accepts (with their class and, where it has one, the server's order), its key-exchange
//! groups and signature algorithms, and how many connections it took.

use serde::{Deserialize, Serialize};

use crate::report::EngineAnswer;
use crate::tls::suites::{self, Flaw, SuiteClass};

/// The suites, groups and signature algorithms one version of an endpoint accepts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionSuites {
    /// The accepted suites: in the server's preference order when `order` is `server`, else in
    /// the order they were found (the client's, most common first).
    pub suites: Vec<AcceptedSuite>,
    pub order: SuiteOrder,
    /// Key-exchange groups the server accepted with this version, in the order found (TLS 1.3:
    /// the group of its key share or HelloRetryRequest; TLS 1.0-1.2: the curve of its
    /// ServerKeyExchange for an ECDHE suite).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Named>,
    /// For DHE suites before TLS 1.3: the server's own finite-field group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dh_group: Option<DhGroup>,
    /// TLS 1.2: the signature algorithms the server signs its key exchange with, in the order
    /// found (TLS 1.3 encrypts that signature, so it is not listed there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signature_algorithms: Vec<Named>,
    /// Every hello got a decided answer, so the lists are whole.
    pub complete: bool,
    /// What kept a list from being whole (a timeout, an unreadable answer), for people.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Where the OpenSSL engine's handshakes disagree with the wire engine's list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disagreements: Vec<String>,
    /// TCP connections the enumeration made (OpenSSL's confirmations included).
    pub connections: u32,
    pub elapsed_ms: u64,
}

/// One accepted suite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedSuite {
    /// The code point (`0xc02f` is 49199).
    pub id: u16,
    /// IANA's name.
    pub name: String,
    /// OpenSSL's name, where the linked OpenSSL knows the suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openssl_name: Option<String>,
    pub class: SuiteClass,
    /// Why the suite is not `ok`, worst first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flaws: Vec<Flaw>,
    /// The OpenSSL engine's handshake offering this suite alone, where it can offer it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openssl: Option<EngineAnswer>,
}

impl AcceptedSuite {
    /// A suite with its names and class from the registry.
    pub fn of(id: u16) -> AcceptedSuite {
        let (class, flaws) = match suites::classify(id) {
            Some(c) => (c.class, c.flaws),
            None => (SuiteClass::Insecure, Vec::new()),
        };
        AcceptedSuite {
            id,
            name: suites::name(id),
            openssl_name: suites::openssl_name(id).map(str::to_string),
            class,
            flaws,
            openssl: None,
        }
    }
}

/// Whose order decides which suite a connection gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuiteOrder {
    /// The server enforces its own preference: it chose the same suite from a list and from the
    /// same list reversed.
    Server,
    /// The server takes the client's first suite it accepts.
    Client,
    /// Fewer than two suites, or answers that showed neither.
    #[default]
    Unknown,
}

impl SuiteOrder {
    pub fn key(self) -> &'static str {
        match self {
            SuiteOrder::Server => "server",
            SuiteOrder::Client => "client",
            SuiteOrder::Unknown => "unknown",
        }
    }
}

/// A group or signature algorithm: its code point and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub id: u16,
    pub name: String,
}

impl Named {
    pub fn group(id: u16) -> Named {
        Named {
            id,
            name: suites::group_name(id),
        }
    }

    pub fn signature_scheme(id: u16) -> Named {
        Named {
            id,
            name: suites::signature_scheme_name(id),
        }
    }
}

/// A server's own finite-field Diffie-Hellman group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhGroup {
    /// `ffdhe2048` (RFC 7919), `modp2048` (RFC 3526), or `1024-bit custom`.
    pub name: String,
    pub bits: u32,
}

impl VersionSuites {
    /// The worst class among the accepted suites, if any was accepted.
    pub fn worst(&self) -> Option<SuiteClass> {
        self.suites.iter().map(|s| s.class).min()
    }

    /// How many accepted suites are of `class`.
    pub fn count(&self, class: SuiteClass) -> usize {
        self.suites.iter().filter(|s| s.class == class).count()
    }

    /// `12, 2 weak`: the summary for a narrow column.
    pub fn short(&self) -> String {
        let mut s = self.suites.len().to_string();
        if let Some(worst) = self.worst().filter(|w| *w != SuiteClass::Ok) {
            s.push_str(&format!(", {} {worst}", self.count(worst)));
        }
        if !self.complete {
            s.push_str(", incomplete");
        }
        s
    }

    /// `12 suites, 2 weak`: the count and how many are of the worst class.
    pub fn summary(&self) -> String {
        let n = self.suites.len();
        let mut s = format!("{n} suite{}", if n == 1 { "" } else { "s" });
        if let Some(worst) = self.worst().filter(|w| *w != SuiteClass::Ok) {
            s.push_str(&format!(", {} {worst}", self.count(worst)));
        }
        if !self.complete {
            s.push_str(" (incomplete)");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_the_worst_class() {
        let mut v = VersionSuites {
            suites: [0xc02f, 0xc030, 0x002f, 0x0035]
                .into_iter()
                .map(AcceptedSuite::of)
                .collect(),
            complete: true,
            ..Default::default()
        };
        assert_eq!(v.summary(), "4 suites, 2 weak");
        v.suites.push(AcceptedSuite::of(0x000a));
        assert_eq!(v.summary(), "5 suites, 1 insecure");
        v.suites = vec![AcceptedSuite::of(0x1301)];
        v.complete = false;
        assert_eq!(v.summary(), "1 suite (incomplete)");
        let json = serde_json::to_value(AcceptedSuite::of(0x000a)).unwrap();
        assert_eq!(json["name"], "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
        assert_eq!(json["class"], "insecure");
        assert_eq!(json["flaws"][0], "3des");
        assert_eq!(json["id"], 10);
    }
}
