//! What is said before the TLS handshake on protocols that do not start with it: LDAP's
//! StartTLS extended operation, and RDP's X.224 connection request with a negotiation request.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::probe::ldap::{self, LdapError};
use crate::report::Protocol;
use crate::tls::record::show_bytes;

/// Why the handshake could not start.
#[derive(Debug, PartialEq, Eq)]
pub enum PreludeError {
    /// The server answered, and the answer is no TLS here (StartTLS error code, RDP standard
    /// security or negotiation failure).
    Declined(String),
    /// The exchange broke: garbage, a truncated reply, a closed or reset connection.
    Failed(String),
}

/// Run the prelude `protocol` needs on a fresh connection; `Ok` when TLS may start.
pub async fn prelude<S: AsyncRead + AsyncWrite + Unpin>(
    protocol: Protocol,
    s: &mut S,
) -> Result<(), PreludeError> {
    match protocol {
        Protocol::Tls | Protocol::Ldaps => Ok(()),
        Protocol::LdapStarttls => ldap::starttls(s).await.map_err(|e| match e {
            LdapError::Result { .. } => {
                PreludeError::Declined(format!("StartTLS refused by the server: {e}"))
            }
            other => PreludeError::Failed(format!("LDAP StartTLS: {other}")),
        }),
        Protocol::Rdp => rdp_negotiate(s).await,
    }
}

/// TPKT + X.224 Connection Request + RDP_NEG_REQ asking for TLS and CredSSP
/// (PROTOCOL_SSL | PROTOCOL_HYBRID), as in MS-RDPBCGR 2.2.1.1.
pub const RDP_CONNECTION_REQUEST: [u8; 19] = [
    0x03, 0x00, 0x00, 0x13, // TPKT, 19 bytes
    0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, // X.224 CR, LI 14
    0x01, 0x00, 0x08, 0x00, // RDP_NEG_REQ, flags 0, length 8
    0x03, 0x00, 0x00, 0x00, // requestedProtocols = SSL | HYBRID
];

const PROTOCOL_SSL: u32 = 0x1;
const PROTOCOL_HYBRID: u32 = 0x2;
const PROTOCOL_HYBRID_EX: u32 = 0x8;

/// Send the connection request and read the confirm; `Ok` when the server selected a
/// TLS-based security protocol.
async fn rdp_negotiate<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> Result<(), PreludeError> {
    let failed = |m: String| PreludeError::Failed(format!("RDP negotiation: {m}"));
    s.write_all(&RDP_CONNECTION_REQUEST)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let mut head = [0u8; 4];
    read_exact(s, &mut head, &[]).await.map_err(failed)?;
    let len = u16::from_be_bytes([head[2], head[3]]) as usize;
    if head[0] != 3 || !(11..=512).contains(&len) {
        return Err(failed(format!("not an RDP answer: {}", show_bytes(&head))));
    }
    let mut rest = vec![0u8; len - 4];
    read_exact(s, &mut rest, &head).await.map_err(failed)?;
    // rest: X.224 LI, code, dst-ref(2), src-ref(2), class, then the negotiation structure.
    if rest[1] & 0xf0 != 0xd0 {
        return Err(failed(format!(
            "expected an X.224 Connection Confirm, got code 0x{:02x}",
            rest[1]
        )));
    }
    let neg = &rest[7..];
    if neg.len() < 8 {
        return Err(PreludeError::Declined(
            "the RDP server sent no negotiation response: standard RDP security only, no TLS"
                .into(),
        ));
    }
    let value = u32::from_le_bytes([neg[4], neg[5], neg[6], neg[7]]);
    match neg[0] {
        0x02 => match value {
            0 => Err(PreludeError::Declined(
                "the RDP server selected standard RDP security: no TLS".into(),
            )),
            v if v & (PROTOCOL_SSL | PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX) != 0 => Ok(()),
            v => Err(failed(format!(
                "the server selected protocol 0x{v:x}, which was not offered"
            ))),
        },
        0x03 => Err(PreludeError::Declined(format!(
            "RDP negotiation failure: {} ({value})",
            rdp_failure_name(value)
        ))),
        t => Err(failed(format!(
            "unknown negotiation structure type 0x{t:02x}"
        ))),
    }
}

fn rdp_failure_name(code: u32) -> &'static str {
    match code {
        1 => "SSL_REQUIRED_BY_SERVER",
        2 => "SSL_NOT_ALLOWED_BY_SERVER",
        3 => "SSL_CERT_NOT_ON_SERVER",
        4 => "INCONSISTENT_FLAGS",
        5 => "HYBRID_REQUIRED_BY_SERVER",
        6 => "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER",
        _ => "unknown failure",
    }
}

async fn read_exact<S: AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut [u8],
    before: &[u8],
) -> Result<(), String> {
    let mut filled = 0;
    while filled < buf.len() {
        match s.read(&mut buf[filled..]).await {
            Ok(0) => {
                let mut got = before.to_vec();
                got.extend_from_slice(&buf[..filled]);
                return Err(if got.is_empty() {
                    "the server closed the connection without answering".into()
                } else {
                    format!("truncated answer: {}", show_bytes(&got))
                });
            }
            Ok(n) => filled += n,
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(bytes: &[u8]) -> Result<(), PreludeError> {
        let (mut client, mut server) = tokio::io::duplex(1024);
        server.write_all(bytes).await.unwrap();
        server.shutdown().await.unwrap();
        let r = prelude(Protocol::Rdp, &mut client).await;
        drop(server);
        r
    }

    fn confirm(neg: &[u8]) -> Vec<u8> {
        let mut v = vec![
            0x03,
            0x00,
            0x00,
            (11 + neg.len()) as u8,
            (6 + neg.len()) as u8,
            0xd0,
            0,
            0,
            0x12,
            0x34,
            0,
        ];
        v.extend_from_slice(neg);
        v
    }

    #[tokio::test]
    async fn rdp_tls_selected() {
        assert_eq!(answer(&confirm(&[2, 0, 8, 0, 1, 0, 0, 0])).await, Ok(()));
        assert_eq!(answer(&confirm(&[2, 0x1f, 8, 0, 2, 0, 0, 0])).await, Ok(()));
    }

    #[tokio::test]
    async fn rdp_standard_security_and_failures_are_declined() {
        for bytes in [
            confirm(&[2, 0, 8, 0, 0, 0, 0, 0]),
            confirm(&[]),
            confirm(&[3, 0, 8, 0, 2, 0, 0, 0]),
        ] {
            assert!(
                matches!(answer(&bytes).await, Err(PreludeError::Declined(_))),
                "{bytes:?}"
            );
        }
        match answer(&confirm(&[3, 0, 8, 0, 2, 0, 0, 0])).await {
            Err(PreludeError::Declined(m)) => {
                assert!(m.contains("SSL_NOT_ALLOWED_BY_SERVER"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn rdp_garbage_and_truncation_fail() {
        assert!(matches!(
            answer(b"HTTP/1.1 400 Bad").await,
            Err(PreludeError::Failed(_))
        ));
        assert!(matches!(
            answer(&confirm(&[2, 0, 8, 0, 1, 0, 0, 0])[..9]).await,
            Err(PreludeError::Failed(_))
        ));
        assert!(matches!(answer(&[]).await, Err(PreludeError::Failed(_))));
    }
}
