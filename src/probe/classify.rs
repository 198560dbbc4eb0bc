//! From what a server sent to a cell's outcome: the mapping both engines share.

use crate::report::{Outcome, Refusal};
use crate::tls::TlsVersion;
use crate::tls::record::{ServerAnswer, cipher_name, show_bytes, version_name};

/// What a decided server answer means for a hello that offered only `offered`; `None` while
/// the answer is not decided (nothing, incomplete, unreadable). `after_hello` explains an
/// acceptance: what became of the handshake after the server chose the version.
pub fn answer_outcome(
    answer: &ServerAnswer,
    offered: TlsVersion,
    received: &[u8],
    after_hello: impl FnOnce() -> String,
) -> Option<Outcome> {
    Some(match answer {
        ServerAnswer::Hello { version, cipher } if *version == offered.wire() => {
            Outcome::Accepted {
                cipher: Some(cipher_name(*cipher)),
                completed: false,
                note: Some(after_hello()),
                ldap: None,
            }
        }
        ServerAnswer::Hello { version, .. } => Outcome::Refused(Refusal::OtherVersion {
            version: version_name(*version),
        }),
        ServerAnswer::Alert { code, .. } => Outcome::Refused(Refusal::Alert { code: *code }),
        ServerAnswer::NotTls => Outcome::Refused(Refusal::NotTls {
            received: show_bytes(received),
        }),
        ServerAnswer::Nothing | ServerAnswer::Incomplete | ServerAnswer::Unclear(_) => return None,
    })
}
