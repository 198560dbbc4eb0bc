//! LDAP messages: the StartTLS extended operation and the RootDSE search, encoded and decoded
//! with `rasn-ldap` (BER, long-form lengths included). Framing is read here: one message is a BER
//! SEQUENCE whose length says how many bytes follow, and nothing past it is read, because TLS
//! starts right after the StartTLS response.

use std::fmt;

pub use rasn_ldap::ResultCode;
use rasn_ldap::{
    ExtendedRequest, Filter, LdapMessage, ProtocolOp, SearchRequest, SearchRequestDerefAliases,
    SearchRequestScope, UnbindRequest,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::report::RootDse;
use crate::tls::record::show_bytes;

/// RFC 4511 StartTLS.
pub const STARTTLS_OID: &str = "1.3.6.1.4.1.1466.20037";
/// RFC 4511 Notice of Disconnection (an unsolicited notification).
const NOTICE_OF_DISCONNECTION_OID: &str = "1.3.6.1.4.1.1466.20036";
/// The largest single LDAP message we accept: bounds memory against a hostile server.
const MAX_MESSAGE: usize = 256 * 1024;

/// What went wrong in an LDAP exchange.
#[derive(Debug)]
pub enum LdapError {
    /// The server answered with an error result code.
    Result {
        code: u32,
        name: String,
        diagnostic: String,
    },
    /// What came back is not the expected LDAP message (garbage, truncated, wrong operation).
    Malformed(String),
    /// The connection ended before a whole message came.
    Closed {
        received: Vec<u8>,
    },
    Io(std::io::Error),
}

impl fmt::Display for LdapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LdapError::Result {
                code,
                name,
                diagnostic,
            } => {
                write!(f, "result {code} {name}")?;
                if !diagnostic.is_empty() {
                    write!(f, " ({diagnostic})")?;
                }
                Ok(())
            }
            LdapError::Malformed(m) => f.write_str(m),
            LdapError::Closed { received } if received.is_empty() => {
                f.write_str("the server closed the connection without answering")
            }
            LdapError::Closed { received } => write!(
                f,
                "the server closed the connection after {} bytes of a truncated reply: {}",
                received.len(),
                show_bytes(received)
            ),
            LdapError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// RFC 4511's name of a result code (`unavailable`, `protocolError`).
pub fn result_name(code: ResultCode) -> String {
    let debug = format!("{code:?}");
    let mut chars = debug.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => debug,
    }
}

fn encode(msg: &LdapMessage) -> Vec<u8> {
    rasn::ber::encode(msg).expect("LDAP requests built here always encode")
}

/// The StartTLS request, message ID 1.
pub fn starttls_request() -> Vec<u8> {
    let op = ProtocolOp::ExtendedReq(ExtendedRequest {
        request_name: STARTTLS_OID.as_bytes().to_vec().into(),
        request_value: None,
    });
    encode(&LdapMessage::new(1, op))
}

/// Send StartTLS and read the answer; `Ok` when the server agreed (result code 0).
pub async fn starttls<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> Result<(), LdapError> {
    s.write_all(&starttls_request())
        .await
        .map_err(LdapError::Io)?;
    let msg = read_message(s).await?;
    match msg.protocol_op {
        ProtocolOp::ExtendedResp(r) if msg.message_id == 1 => {
            if r.result_code == ResultCode::Success {
                Ok(())
            } else {
                Err(LdapError::Result {
                    code: r.result_code as u32,
                    name: result_name(r.result_code),
                    diagnostic: r.diagnostic_message.0,
                })
            }
        }
        ProtocolOp::ExtendedResp(r) if msg.message_id == 0 => {
            let what = match r.response_name.as_deref() {
                Some(n) if n == NOTICE_OF_DISCONNECTION_OID.as_bytes() => "notice of disconnection",
                _ => "unsolicited notification",
            };
            Err(LdapError::Result {
                code: r.result_code as u32,
                name: format!("{} ({what})", result_name(r.result_code)),
                diagnostic: r.diagnostic_message.0,
            })
        }
        other => Err(LdapError::Malformed(format!(
            "expected the StartTLS response (message 1), got {} with message ID {}",
            op_name(&other),
            msg.message_id
        ))),
    }
}

/// Search the RootDSE anonymously (base "", scope base, `(objectClass=*)`) with message ID
/// `id`, and return the attributes we report.
pub async fn root_dse<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    id: u32,
) -> Result<RootDse, LdapError> {
    let attrs = [
        "dnsHostName",
        "defaultNamingContext",
        "supportedLDAPVersion",
        "vendorName",
        "vendorVersion",
        "domainControllerFunctionality",
    ];
    let req = SearchRequest::new(
        "".into(),
        SearchRequestScope::BaseObject,
        SearchRequestDerefAliases::NeverDerefAliases,
        0,
        10,
        false,
        Filter::Present("objectClass".into()),
        attrs.iter().map(|a| (*a).into()).collect(),
    );
    s.write_all(&encode(&LdapMessage::new(
        id,
        ProtocolOp::SearchRequest(req),
    )))
    .await
    .map_err(LdapError::Io)?;
    let mut dse = RootDse::default();
    // A RootDSE search returns one entry and a done message; allow a few referrals besides.
    for _ in 0..16 {
        let msg = read_message(s).await?;
        if msg.message_id != id {
            return Err(LdapError::Malformed(format!(
                "expected message ID {id}, got {} ({})",
                msg.message_id,
                op_name(&msg.protocol_op)
            )));
        }
        match msg.protocol_op {
            ProtocolOp::SearchResEntry(entry) => {
                for a in entry.attributes {
                    let values: Vec<String> = a
                        .vals
                        .iter()
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                        .collect();
                    let first = values.first().cloned();
                    match a.r#type.0.to_ascii_lowercase().as_str() {
                        "dnshostname" => dse.dns_host_name = first,
                        "defaultnamingcontext" => dse.default_naming_context = first,
                        "supportedldapversion" => {
                            dse.supported_ldap_version = values;
                            dse.supported_ldap_version.sort();
                        }
                        "vendorname" => dse.vendor_name = first,
                        "vendorversion" => dse.vendor_version = first,
                        "domaincontrollerfunctionality" => {
                            dse.domain_controller_functionality = first
                        }
                        _ => {}
                    }
                }
            }
            ProtocolOp::SearchResRef(_) => {}
            ProtocolOp::SearchResDone(done) => {
                let r = done.0;
                return if r.result_code == ResultCode::Success {
                    Ok(dse)
                } else {
                    Err(LdapError::Result {
                        code: r.result_code as u32,
                        name: result_name(r.result_code),
                        diagnostic: r.diagnostic_message.0,
                    })
                };
            }
            other => {
                return Err(LdapError::Malformed(format!(
                    "unexpected {} in a search",
                    op_name(&other)
                )));
            }
        }
    }
    Err(LdapError::Malformed(
        "the search did not end after 16 messages".into(),
    ))
}

/// A polite goodbye; errors do not matter.
pub async fn unbind<S: AsyncWrite + Unpin>(s: &mut S, id: u32) {
    let msg = LdapMessage::new(id, ProtocolOp::UnbindRequest(UnbindRequest));
    let _ = s.write_all(&encode(&msg)).await;
}

fn op_name(op: &ProtocolOp) -> String {
    let debug = format!("{op:?}");
    debug
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or("an operation")
        .to_string()
}

/// Read exactly one LDAP message: the BER header says how long it is.
pub async fn read_message<R: AsyncRead + Unpin>(r: &mut R) -> Result<LdapMessage, LdapError> {
    let bytes = read_frame(r).await?;
    rasn::ber::decode::<LdapMessage>(&bytes).map_err(|e| {
        LdapError::Malformed(format!(
            "not a valid LDAP message ({}): {}",
            first_line(&e.to_string()),
            show_bytes(&bytes)
        ))
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

async fn read_byte<R: AsyncRead + Unpin>(r: &mut R, got: &mut Vec<u8>) -> Result<u8, LdapError> {
    let mut b = [0u8; 1];
    match r.read(&mut b).await {
        Ok(0) => Err(LdapError::Closed {
            received: std::mem::take(got),
        }),
        Ok(_) => {
            got.push(b[0]);
            Ok(b[0])
        }
        Err(e) => Err(LdapError::Io(e)),
    }
}

async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Vec<u8>, LdapError> {
    let mut got = Vec::with_capacity(64);
    // An LDAPMessage is a universal SEQUENCE.
    if read_byte(r, &mut got).await? != 0x30 {
        return Err(LdapError::Malformed(format!(
            "not an LDAP message: {}",
            show_bytes(&got)
        )));
    }
    let first = read_byte(r, &mut got).await?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return Err(LdapError::Malformed(format!(
                "not an LDAP message (BER length byte 0x{first:02x}): {}",
                show_bytes(&got)
            )));
        }
        let mut len = 0usize;
        for _ in 0..n {
            len = (len << 8) | read_byte(r, &mut got).await? as usize;
        }
        len
    };
    if len > MAX_MESSAGE {
        return Err(LdapError::Malformed(format!(
            "an LDAP message of {len} bytes, more than the {MAX_MESSAGE} accepted"
        )));
    }
    let header = got.len();
    got.resize(header + len, 0);
    let mut filled = header;
    while filled < got.len() {
        match r.read(&mut got[filled..]).await {
            Ok(0) => {
                got.truncate(filled);
                return Err(LdapError::Closed { received: got });
            }
            Ok(n) => filled += n,
            Err(e) => return Err(LdapError::Io(e)),
        }
    }
    Ok(got)
}

/// A StartTLS or search response as a server would send it, for lab servers.
pub mod encode_for_lab {
    use rasn_ldap::{
        ExtendedResponse, LdapMessage, LdapResult, PartialAttribute, ProtocolOp, ResultCode,
        SearchResultDone, SearchResultEntry,
    };

    pub fn extended_response(id: u32, code: ResultCode) -> Vec<u8> {
        let r = ExtendedResponse {
            result_code: code,
            matched_dn: "".into(),
            diagnostic_message: if code == ResultCode::Success {
                "".into()
            } else {
                "00002028: LdapErr: DSID-0C090C5F, comment: TLS not available".into()
            },
            referral: None,
            response_name: Some(super::STARTTLS_OID.as_bytes().to_vec().into()),
            response_value: None,
        };
        rasn::ber::encode(&LdapMessage::new(id, ProtocolOp::ExtendedResp(r))).expect("encode")
    }

    pub fn root_dse_entry(id: u32, attrs: &[(&str, &[&str])]) -> Vec<u8> {
        let attributes = attrs
            .iter()
            .map(|(name, vals)| {
                PartialAttribute::new(
                    (*name).into(),
                    rasn::types::SetOf::from_vec(
                        vals.iter().map(|v| v.as_bytes().to_vec().into()).collect(),
                    ),
                )
            })
            .collect();
        let entry = SearchResultEntry::new("".into(), attributes);
        rasn::ber::encode(&LdapMessage::new(id, ProtocolOp::SearchResEntry(entry))).expect("encode")
    }

    pub fn search_done(id: u32) -> Vec<u8> {
        let done = SearchResultDone(LdapResult::new(ResultCode::Success, "".into(), "".into()));
        rasn::ber::encode(&LdapMessage::new(id, ProtocolOp::SearchResDone(done))).expect("encode")
    }

    /// Re-encode a BER message with every definite length in long form, the way Active
    /// Directory writes its replies.
    pub fn long_form(ber: &[u8]) -> Vec<u8> {
        fn walk(input: &[u8], out: &mut Vec<u8>) -> Option<usize> {
            let tag = *input.first()?;
            let first = *input.get(1)? as usize;
            let (len, hdr) = if first < 0x80 {
                (first, 2)
            } else {
                let n = first & 0x7f;
                let mut l = 0usize;
                for i in 0..n {
                    l = (l << 8) | *input.get(2 + i)? as usize;
                }
                (l, 2 + n)
            };
            let body = input.get(hdr..hdr + len)?;
            let mut inner = Vec::new();
            if tag & 0x20 != 0 {
                let mut p = 0;
                while p < body.len() {
                    p += walk(&body[p..], &mut inner)?;
                }
            } else {
                inner.extend_from_slice(body);
            }
            out.push(tag);
            out.push(0x84);
            out.extend_from_slice(&(inner.len() as u32).to_be_bytes());
            out.extend_from_slice(&inner);
            Some(hdr + len)
        }
        let mut out = Vec::new();
        match walk(ber, &mut out) {
            Some(_) => out,
            None => ber.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::encode_for_lab::*;
    use super::*;

    #[test]
    fn starttls_request_is_the_rfc_4511_extended_request() {
        // LDAPMessage { id 1, [APPLICATION 23] { [0] "1.3.6.1.4.1.1466.20037" } }
        let mut want = vec![0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16];
        want.extend_from_slice(STARTTLS_OID.as_bytes());
        assert_eq!(starttls_request(), want);
    }

    #[tokio::test]
    async fn slapd_short_form_success_reply_is_read() {
        let reply = [
            0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
        ];
        let (mut client, mut server) = tokio::io::duplex(1024);
        server.write_all(&reply).await.unwrap();
        server.write_all(b"\x16\x03\x03").await.unwrap();
        assert!(starttls(&mut client).await.is_ok());
        // Nothing past the LDAP message was consumed: the TLS bytes are still there.
        let mut rest = [0u8; 3];
        client.read_exact(&mut rest).await.unwrap();
        assert_eq!(rest, [0x16, 0x03, 0x03]);
    }

    #[tokio::test]
    async fn long_form_unavailable_reply_reports_code_52() {
        let reply = long_form(&extended_response(1, ResultCode::Unavailable));
        assert_eq!(&reply[..2], &[0x30, 0x84]);
        let (mut client, mut server) = tokio::io::duplex(4096);
        server.write_all(&reply).await.unwrap();
        match starttls(&mut client).await {
            Err(LdapError::Result { code: 52, name, .. }) => assert_eq!(name, "unavailable"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn truncated_and_garbage_replies_are_errors() {
        let reply = extended_response(1, ResultCode::Success);
        let (mut client, mut server) = tokio::io::duplex(4096);
        server.write_all(&reply[..6]).await.unwrap();
        server.shutdown().await.unwrap();
        assert!(
            matches!(starttls(&mut client).await, Err(LdapError::Closed { received }) if received.len() == 6)
        );

        let (mut client, mut server) = tokio::io::duplex(4096);
        server.write_all(b"HTTP/1.0 400 Bad\r\n").await.unwrap();
        let e = starttls(&mut client).await.unwrap_err();
        assert!(e.to_string().contains("not an LDAP message"), "{e}");
    }

    #[tokio::test]
    async fn root_dse_attributes_are_read() {
        let (mut client, mut server) = tokio::io::duplex(8192);
        server
            .write_all(&long_form(&root_dse_entry(
                2,
                &[
                    ("dnsHostName", &["dc1.corp.example.com"]),
                    ("supportedLDAPVersion", &["3", "2"]),
                    ("domainControllerFunctionality", &["7"]),
                ],
            )))
            .await
            .unwrap();
        server.write_all(&search_done(2)).await.unwrap();
        let dse = root_dse(&mut client, 2).await.unwrap();
        assert_eq!(dse.dns_host_name.as_deref(), Some("dc1.corp.example.com"));
        assert_eq!(dse.supported_ldap_version, vec!["2", "3"]);
        assert_eq!(dse.domain_controller_functionality.as_deref(), Some("7"));
    }
}
