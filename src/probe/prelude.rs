//! What is said before the TLS handshake on protocols that do not start with it: LDAP's
//! StartTLS extended operation, and RDP's X.224 connection request with a negotiation request.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::probe::ldap::{self, LdapError};
use crate::report::{Protocol, RdpStandardSecurity};
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

/// The same request asking for Standard RDP Security only (requestedProtocols = PROTOCOL_RDP),
/// as an old client falling back from TLS would.
pub const RDP_STANDARD_REQUEST: [u8; 19] = [
    0x03, 0x00, 0x00, 0x13, // TPKT, 19 bytes
    0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, // X.224 CR, LI 14
    0x01, 0x00, 0x08, 0x00, // RDP_NEG_REQ, flags 0, length 8
    0x00, 0x00, 0x00, 0x00, // requestedProtocols = PROTOCOL_RDP
];

const TYPE_RDP_NEG_RSP: u8 = 0x02;
const TYPE_RDP_NEG_FAILURE: u8 = 0x03;

/// A server's X.224 Connection Confirm, read.
#[derive(Debug, PartialEq, Eq)]
enum Confirm {
    /// No negotiation structure: a server from before RDP negotiation, Standard RDP Security.
    Legacy,
    /// RDP_NEG_RSP with the selected protocol.
    Selected(u32),
    /// RDP_NEG_FAILURE with its code.
    Failure(u32),
}

/// Send `request` and read the Connection Confirm. An answer that is cut short or malformed is
/// an error naming the bytes received, never a decision.
async fn rdp_exchange<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    request: &[u8],
) -> Result<Confirm, String> {
    s.write_all(request).await.map_err(|e| e.to_string())?;
    let mut head = [0u8; 4];
    read_exact(s, &mut head, &[]).await?;
    let len = u16::from_be_bytes([head[2], head[3]]) as usize;
    if head[0] != 3 || !(11..=512).contains(&len) {
        return Err(format!("not an RDP answer: {}", show_bytes(&head)));
    }
    let mut rest = vec![0u8; len - 4];
    read_exact(s, &mut rest, &head).await?;
    let mut all = head.to_vec();
    all.extend_from_slice(&rest);
    // rest: X.224 LI, code, dst-ref(2), src-ref(2), class, then the negotiation structure.
    if rest[1] & 0xf0 != 0xd0 {
        return Err(format!(
            "expected an X.224 Connection Confirm, got code 0x{:02x}: {}",
            rest[1],
            show_bytes(&all)
        ));
    }
    if rest[0] as usize != rest.len() - 1 {
        return Err(format!(
            "the X.224 length ({}) does not match the TPKT length ({len}): {}",
            rest[0],
            show_bytes(&all)
        ));
    }
    let neg = &rest[7..];
    if neg.is_empty() {
        return Ok(Confirm::Legacy);
    }
    let declared = neg.get(2..4).map(|l| u16::from_le_bytes([l[0], l[1]]));
    if neg.len() < 8 || declared != Some(8) {
        return Err(format!(
            "truncated RDP negotiation response ({} bytes of negotiation data, 8 expected): {}",
            neg.len(),
            show_bytes(&all)
        ));
    }
    let value = u32::from_le_bytes([neg[4], neg[5], neg[6], neg[7]]);
    match neg[0] {
        TYPE_RDP_NEG_RSP => Ok(Confirm::Selected(value)),
        TYPE_RDP_NEG_FAILURE => Ok(Confirm::Failure(value)),
        t => Err(format!(
            "unknown negotiation structure type 0x{t:02x}: {}",
            show_bytes(&all)
        )),
    }
}

/// Send the connection request and read the confirm; `Ok` when the server selected a
/// TLS-based security protocol.
async fn rdp_negotiate<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> Result<(), PreludeError> {
    let failed = |m: String| PreludeError::Failed(format!("RDP negotiation: {m}"));
    match rdp_exchange(s, &RDP_CONNECTION_REQUEST)
        .await
        .map_err(failed)?
    {
        Confirm::Legacy => Err(PreludeError::Declined(
            "the RDP server sent no negotiation response: standard RDP security only, no TLS"
                .into(),
        )),
        Confirm::Selected(0) => Err(PreludeError::Declined(
            "the RDP server selected standard RDP security: no TLS".into(),
        )),
        Confirm::Selected(v) if v & (PROTOCOL_SSL | PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX) != 0 => {
            Ok(())
        }
        Confirm::Selected(v) => Err(failed(format!(
            "the server selected protocol 0x{v:x}, which was not offered"
        ))),
        Confirm::Failure(code) => Err(PreludeError::Declined(format!(
            "RDP negotiation failure: {} ({code})",
            rdp_failure_name(code)
        ))),
    }
}

/// Ask for Standard RDP Security only: whether the server still lets a client in without TLS,
/// and why it seems so.
pub async fn rdp_standard_security<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
) -> (RdpStandardSecurity, String) {
    use RdpStandardSecurity::*;
    match rdp_exchange(s, &RDP_STANDARD_REQUEST).await {
        Ok(Confirm::Selected(0)) => (
            Allowed,
            "the server selected it for a client asking for nothing else".into(),
        ),
        Ok(Confirm::Legacy) => (
            Allowed,
            "the server answered without RDP negotiation, as servers that only speak it do".into(),
        ),
        // The failures a server sends when it insists on TLS or CredSSP.
        Ok(Confirm::Failure(code @ (1 | 5 | 6))) => (
            Refused,
            format!("the server answered {}", rdp_failure_name(code)),
        ),
        Ok(Confirm::Failure(code)) => (
            Unknown,
            format!(
                "the server answered negotiation failure {} ({code})",
                rdp_failure_name(code)
            ),
        ),
        Ok(Confirm::Selected(v)) => (
            Unknown,
            format!("the server selected protocol 0x{v:x}, which was not requested"),
        ),
        Err(why) => (Unknown, why),
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
    async fn truncated_rdp_negotiation_is_an_error() {
        // The X.224 confirm says 13 bytes, two of them negotiation data: a response cut short,
        // not a server that declines TLS.
        let short = confirm(&[2, 0]);
        match answer(&short).await {
            Err(PreludeError::Failed(m)) => {
                assert!(m.contains("truncated RDP negotiation response"), "{m}");
                assert!(m.contains("03 00 00 0d"), "names the bytes received: {m}");
            }
            other => panic!("{other:?}"),
        }
        // A negotiation structure whose length field is not 8.
        assert!(matches!(
            answer(&confirm(&[2, 0, 4, 0, 1, 0, 0, 0])).await,
            Err(PreludeError::Failed(_))
        ));
        // An X.224 length that disagrees with the TPKT length.
        let mut lying = confirm(&[2, 0, 8, 0, 1, 0, 0, 0]);
        lying[4] = 20;
        assert!(matches!(answer(&lying).await, Err(PreludeError::Failed(_))));
    }

    async fn standard(bytes: &[u8]) -> (RdpStandardSecurity, String) {
        let (mut client, mut server) = tokio::io::duplex(1024);
        server.write_all(bytes).await.unwrap();
        server.shutdown().await.unwrap();
        rdp_standard_security(&mut client).await
    }

    #[tokio::test]
    async fn rdp_standard_security_answers() {
        use RdpStandardSecurity::*;
        assert_eq!(
            standard(&confirm(&[2, 0, 8, 0, 0, 0, 0, 0])).await.0,
            Allowed
        );
        assert_eq!(standard(&confirm(&[])).await.0, Allowed);
        let (s, why) = standard(&confirm(&[3, 0, 8, 0, 1, 0, 0, 0])).await;
        assert_eq!(s, Refused);
        assert!(why.contains("SSL_REQUIRED_BY_SERVER"), "{why}");
        assert_eq!(
            standard(&confirm(&[3, 0, 8, 0, 5, 0, 0, 0])).await.0,
            Refused
        );
        assert_eq!(standard(&confirm(&[2, 0])).await.0, Unknown);
        assert_eq!(standard(&[]).await.0, Unknown);
        assert_eq!(standard(b"HTTP/1.1 400 Bad").await.0, Unknown);
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
