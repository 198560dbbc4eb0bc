//! From what a server sent to a cell's outcome: the mapping both engines share.

use crate::report::{Outcome, Refusal};
use crate::tls::TlsVersion;
use crate::tls::record::{ServerAnswer, ServerFlight, cipher_name, show_bytes, version_name};

/// What the version of a ServerHello means for a hello that offered one version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The server chose the version offered.
    Offered,
    /// The server answered with another version (wire value) it may choose: it does not take
    /// the one offered.
    Other(u16),
    /// The answer breaks the rules of the version offered (a `supported_versions` the hello did
    /// not send, a version it did not list): no choice at all, and no proof either way.
    Invalid(String),
}

/// Judge a ServerHello's version fields by the rules of the version the hello offered.
///
/// A TLS 1.3 hello offers TLS 1.3 in `supported_versions` only: the server's choice is its own
/// `supported_versions`, which must name TLS 1.3; a ServerHello without one comes from a server
/// that does not do TLS 1.3 and answers with an older version. A hello for SSLv3 to TLS 1.2
/// sends no `supported_versions`, so the server's choice is its version field, and a
/// `supported_versions` in its answer is unsolicited (RFC 8446 4.2: a client must abort): it
/// proves nothing, whatever version it names.
pub fn server_choice(offered: TlsVersion, legacy: u16, supported: Option<u16>) -> Choice {
    match (offered, supported) {
        (TlsVersion::Tls13, Some(v)) if v == offered.wire() => Choice::Offered,
        (TlsVersion::Tls13, Some(v)) => Choice::Invalid(format!(
            "the ServerHello's supported_versions names {}, which the hello did not offer",
            version_name(v)
        )),
        (TlsVersion::Tls13, None) if legacy < TlsVersion::Tls13.wire() => Choice::Other(legacy),
        (TlsVersion::Tls13, None) => Choice::Invalid(format!(
            "a ServerHello with version field {} and no supported_versions",
            version_name(legacy)
        )),
        (_, Some(v)) => Choice::Invalid(format!(
            "the ServerHello carries a supported_versions extension naming {} that the {} hello \
             did not send (version field {})",
            version_name(v),
            offered.name(),
            version_name(legacy)
        )),
        (_, None) if legacy == offered.wire() => Choice::Offered,
        (_, None) => Choice::Other(legacy),
    }
}

/// What a decided server answer means for a hello that offered only `offered`; `None` while
/// the answer is not decided (nothing, incomplete, unreadable). `after_hello` explains an
/// acceptance: what became of the handshake after the server chose the version. Warning alerts
/// before the answer are noted in an accepted cell.
pub fn answer_outcome(
    flight: &ServerFlight,
    offered: TlsVersion,
    received: &[u8],
    after_hello: impl FnOnce() -> String,
) -> Option<Outcome> {
    Some(match &flight.answer {
        ServerAnswer::Hello {
            legacy_version,
            supported_version,
            cipher,
            ..
        } => match server_choice(offered, *legacy_version, *supported_version) {
            Choice::Offered => {
                let mut note = after_hello();
                if let Some(w) = flight.warnings_text() {
                    note = format!("{note}; {w}");
                }
                Outcome::Accepted {
                    cipher: Some(cipher_name(*cipher)),
                    completed: false,
                    note: Some(note),
                    ldap: None,
                }
            }
            Choice::Other(v) => Outcome::Refused(Refusal::OtherVersion {
                version: version_name(v),
            }),
            Choice::Invalid(why) => Outcome::Error(format!("{why}: not an acceptance")),
        },
        ServerAnswer::Alert { code, .. } => Outcome::Refused(Refusal::Alert { code: *code }),
        ServerAnswer::NotTls => Outcome::Refused(Refusal::NotTls {
            received: show_bytes(received),
        }),
        ServerAnswer::Nothing | ServerAnswer::Incomplete | ServerAnswer::Unclear(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use TlsVersion::*;

    #[test]
    fn unsolicited_supported_version_is_not_accepted() {
        // Version field TLS 1.2, supported_versions naming TLS 1.0, to a TLS 1.0 hello (which
        // sends no supported_versions): not TLS 1.0 accepted.
        for v in [Ssl3, Tls10, Tls11, Tls12] {
            assert!(
                matches!(server_choice(v, 0x0303, Some(v.wire())), Choice::Invalid(_)),
                "{v}"
            );
        }
        // TLS 1.3 names a version its hello did not list.
        assert!(matches!(
            server_choice(Tls13, 0x0303, Some(0x0303)),
            Choice::Invalid(_)
        ));
        assert!(matches!(
            server_choice(Tls13, 0x0304, None),
            Choice::Invalid(_)
        ));
    }

    #[test]
    fn choices_by_the_rules_of_the_version_offered() {
        assert_eq!(server_choice(Tls13, 0x0303, Some(0x0304)), Choice::Offered);
        assert_eq!(server_choice(Tls13, 0x0303, None), Choice::Other(0x0303));
        assert_eq!(server_choice(Tls10, 0x0301, None), Choice::Offered);
        assert_eq!(server_choice(Tls12, 0x0301, None), Choice::Other(0x0301));
        assert_eq!(server_choice(Ssl3, 0x0300, None), Choice::Offered);
        // A higher version than offered is no acceptance of the offered one either.
        assert_eq!(server_choice(Tls10, 0x0303, None), Choice::Other(0x0303));
    }
}
