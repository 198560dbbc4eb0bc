//! Protocol versions: their names, keys and wire numbers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A protocol version that can be forced on a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TlsVersion {
    #[serde(rename = "ssl3")]
    Ssl3,
    #[serde(rename = "tls1.0")]
    Tls10,
    #[serde(rename = "tls1.1")]
    Tls11,
    #[serde(rename = "tls1.2")]
    Tls12,
    #[serde(rename = "tls1.3")]
    Tls13,
}

impl TlsVersion {
    pub const ALL: [TlsVersion; 5] = [
        TlsVersion::Ssl3,
        TlsVersion::Tls10,
        TlsVersion::Tls11,
        TlsVersion::Tls12,
        TlsVersion::Tls13,
    ];

    /// The key used in reports and on the command line (`tls1.2`).
    pub fn key(self) -> &'static str {
        match self {
            TlsVersion::Ssl3 => "ssl3",
            TlsVersion::Tls10 => "tls1.0",
            TlsVersion::Tls11 => "tls1.1",
            TlsVersion::Tls12 => "tls1.2",
            TlsVersion::Tls13 => "tls1.3",
        }
    }

    /// The name people read (`TLS 1.2`).
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Ssl3 => "SSLv3",
            TlsVersion::Tls10 => "TLS 1.0",
            TlsVersion::Tls11 => "TLS 1.1",
            TlsVersion::Tls12 => "TLS 1.2",
            TlsVersion::Tls13 => "TLS 1.3",
        }
    }

    /// Versions that a "TLS 1.2 only" policy turns off.
    pub fn is_legacy(self) -> bool {
        self < TlsVersion::Tls12
    }

    /// The two-byte version number used on the wire.
    pub fn wire(self) -> u16 {
        match self {
            TlsVersion::Ssl3 => 0x0300,
            TlsVersion::Tls10 => 0x0301,
            TlsVersion::Tls11 => 0x0302,
            TlsVersion::Tls12 => 0x0303,
            TlsVersion::Tls13 => 0x0304,
        }
    }

    pub fn from_wire(v: u16) -> Option<TlsVersion> {
        TlsVersion::ALL.into_iter().find(|t| t.wire() == v)
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TlsVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | 'v'))
            .collect();
        match norm.as_str() {
            "ssl3" | "ssl3.0" => Ok(TlsVersion::Ssl3),
            "tls1" | "tls1.0" | "tls10" | "1.0" => Ok(TlsVersion::Tls10),
            "tls1.1" | "tls11" | "1.1" => Ok(TlsVersion::Tls11),
            "tls1.2" | "tls12" | "1.2" => Ok(TlsVersion::Tls12),
            "tls1.3" | "tls13" | "1.3" => Ok(TlsVersion::Tls13),
            _ => Err(format!(
                "unknown protocol version '{s}' (expected ssl3, tls1.0, tls1.1, tls1.2 or tls1.3)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_keys_round_trip_through_serde_and_fromstr() {
        for v in TlsVersion::ALL {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.key()));
            assert_eq!(v.key().parse::<TlsVersion>().unwrap(), v);
            assert_eq!(TlsVersion::from_wire(v.wire()), Some(v));
        }
        assert_eq!("TLSv1".parse::<TlsVersion>().unwrap(), TlsVersion::Tls10);
        assert_eq!("TLS 1.2".parse::<TlsVersion>().unwrap(), TlsVersion::Tls12);
        assert!("tls1.4".parse::<TlsVersion>().is_err());
    }
}
