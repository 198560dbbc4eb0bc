//! TLS and basic authentication for the exporter itself, configured as Prometheus' own
//! exporters are (the exporter-toolkit web configuration file), so an estate can reuse its file:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: /etc/tlsmatrix/exporter.crt   # relative paths are read from the file's folder
//!   key_file: /etc/tlsmatrix/exporter.key
//!   client_auth_type: RequireAndVerifyClientCert   # optional
//!   client_ca_file: /etc/tlsmatrix/prometheus-ca.crt
//!   min_version: TLS12                             # TLS12 (default) or TLS13
//! basic_auth_users:
//!   prometheus: $2y$10$...                         # bcrypt hashes (htpasswd -nBC 10 "" | tr -d ':\n')
//! ```
//!
//! The TLS listener is OpenSSL's (the library the probes use), through `axum-server`; passwords
//! are checked with the `bcrypt` crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod, SslVerifyMode, SslVersion};
use saphyr::MarkedYaml;

use super::yaml::{self, ConfigError, Reader, join};

/// What the web configuration file says, validated (files loaded).
#[derive(Clone)]
pub struct WebSettings {
    pub tls: Option<TlsSettings>,
    /// User name -> bcrypt hash.
    pub users: BTreeMap<String, String>,
}

impl std::fmt::Debug for WebSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSettings")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The exporter's TLS: an acceptor built from the files named.
#[derive(Clone)]
pub struct TlsSettings {
    pub acceptor: std::sync::Arc<SslAcceptor>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientAuth {
    None,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

const TOP_KEYS: &[&str] = &["tls_server_config", "basic_auth_users"];
const TLS_KEYS: &[&str] = &[
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "min_version",
    "max_version",
];

/// Read a web configuration; relative file names are taken from `base` (the file's folder).
pub fn parse(text: &str, base: &Path) -> Result<WebSettings, Vec<ConfigError>> {
    let doc = match yaml::parse(text) {
        Ok(Some(doc)) => doc,
        Ok(None) => {
            return Ok(WebSettings {
                tls: None,
                users: BTreeMap::new(),
            });
        }
        Err(e) => return Err(vec![e]),
    };
    let mut r = Reader::default();
    let mut tls = None;
    let mut users = BTreeMap::new();
    for (key, value) in r.mapping(&doc, "", TOP_KEYS) {
        match key.as_str() {
            "tls_server_config" => tls = read_tls(&mut r, value, base),
            _ => {
                for (name, hash_node) in r.entries(value, "basic_auth_users") {
                    let path = join("basic_auth_users", &name);
                    let Some(hash) = r.string(hash_node, &path) else {
                        continue;
                    };
                    if hash.parse::<bcrypt::HashParts>().is_err() {
                        r.error(
                            hash_node,
                            &path,
                            "not a bcrypt hash (make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n')",
                        );
                        continue;
                    }
                    users.insert(name, hash);
                }
            }
        }
    }
    if r.errors.is_empty() {
        Ok(WebSettings { tls, users })
    } else {
        r.errors.sort_by_key(|e| (e.line, e.column));
        Err(r.errors)
    }
}

fn read_tls(r: &mut Reader, node: &MarkedYaml<'_>, base: &Path) -> Option<TlsSettings> {
    let before = r.errors.len();
    let section = "tls_server_config";
    let mut cert = None;
    let mut key = None;
    let mut ca = None;
    let mut auth = (ClientAuth::None, None);
    let mut min = SslVersion::TLS1_2;
    let mut max = None;
    for (k, value) in r.mapping(node, section, TLS_KEYS) {
        let path = join(section, &k);
        let Some(s) = r.string(value, &path) else {
            continue;
        };
        match k.as_str() {
            "cert_file" => cert = Some((base.join(&s), value)),
            "key_file" => key = Some((base.join(&s), value)),
            "client_ca_file" => ca = Some((base.join(&s), value)),
            "client_auth_type" => {
                let a = match s.as_str() {
                    "NoClientCert" => ClientAuth::None,
                    "RequestClientCert" => ClientAuth::RequestClientCert,
                    "RequireAnyClientCert" => ClientAuth::RequireAnyClientCert,
                    "VerifyClientCertIfGiven" => ClientAuth::VerifyClientCertIfGiven,
                    "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerifyClientCert,
                    other => {
                        r.error(
                            value,
                            &path,
                            format!(
                                "unknown client_auth_type '{other}' (expected NoClientCert, \
                                 RequestClientCert, RequireAnyClientCert, \
                                 VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
                            ),
                        );
                        continue;
                    }
                };
                auth = (a, Some(value));
            }
            _ => {
                let v = match s.as_str() {
                    "TLS12" => SslVersion::TLS1_2,
                    "TLS13" => SslVersion::TLS1_3,
                    "TLS10" | "TLS11" => {
                        r.error(
                            value,
                            &path,
                            format!("{s} is not offered by this exporter (TLS12 or TLS13)"),
                        );
                        continue;
                    }
                    other => {
                        r.error(
                            value,
                            &path,
                            format!("unknown version '{other}' (expected TLS12 or TLS13)"),
                        );
                        continue;
                    }
                };
                if k == "min_version" {
                    min = v;
                } else {
                    max = Some(v);
                }
            }
        }
    }
    let (Some((cert, cert_node)), Some((key, key_node))) = (cert, key) else {
        if r.errors.len() == before {
            r.error(node, section, "needs both cert_file and key_file");
        }
        return None;
    };
    let verifies = matches!(
        auth.0,
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
    );
    if verifies && ca.is_none() {
        r.error(
            auth.1.unwrap_or(node),
            section,
            "client_auth_type verifies client certificates: it needs client_ca_file",
        );
    }
    if r.errors.len() > before {
        return None;
    }
    let Ok(mut b) = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()) else {
        r.error(node, section, "OpenSSL cannot make a TLS server context");
        return None;
    };
    let file_error = |r: &mut Reader, n: &MarkedYaml<'_>, what: &str, p: &PathBuf, e: String| {
        r.error(
            n,
            &join(section, what),
            format!("cannot use {}: {e}", p.display()),
        )
    };
    if let Err(e) = b.set_certificate_chain_file(&cert) {
        file_error(r, cert_node, "cert_file", &cert, first_reason(&e));
    }
    if let Err(e) = b.set_private_key_file(&key, SslFiletype::PEM) {
        file_error(r, key_node, "key_file", &key, first_reason(&e));
    } else if r.errors.len() == before && b.check_private_key().is_err() {
        r.error(
            key_node,
            &join(section, "key_file"),
            "the key does not match the certificate of cert_file",
        );
    }
    if let Some((ca, ca_node)) = &ca
        && let Err(e) = b.set_ca_file(ca)
    {
        file_error(r, ca_node, "client_ca_file", ca, first_reason(&e));
    }
    let _ = b.set_min_proto_version(Some(min));
    let _ = b.set_max_proto_version(max);
    let mode = match auth.0 {
        ClientAuth::None => SslVerifyMode::NONE,
        ClientAuth::RequestClientCert | ClientAuth::VerifyClientCertIfGiven => SslVerifyMode::PEER,
        ClientAuth::RequireAnyClientCert | ClientAuth::RequireAndVerifyClientCert => {
            SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT
        }
    };
    if matches!(
        auth.0,
        ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert
    ) {
        // Any certificate will do: accept it whoever signed it.
        b.set_verify_callback(mode, |_, _| true);
    } else {
        b.set_verify(mode);
    }
    if r.errors.len() > before {
        return None;
    }
    Some(TlsSettings {
        acceptor: std::sync::Arc::new(b.build()),
    })
}

fn first_reason(e: &openssl::error::ErrorStack) -> String {
    e.errors()
        .first()
        .and_then(|e| e.reason().map(str::to_string))
        .unwrap_or_else(|| e.to_string())
}

/// A hash to check unknown users against, so that a wrong user name takes as long as a wrong
/// password.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| bcrypt::hash("tlsmatrix", bcrypt::DEFAULT_COST).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mistake_of_a_web_config_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let errors = parse(
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n  min_version: TLS10\n  cipher_suites: [x]\nbasic_auth_users:\n  alice: secret\n",
            dir.path(),
        )
        .unwrap_err();
        let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[0].starts_with("4:16: tls_server_config.min_version: TLS10 is not offered"));
        assert!(lines[1].starts_with("5:3: tls_server_config.cipher_suites: unknown key"));
        assert!(lines[2].starts_with("7:10: basic_auth_users.alice: not a bcrypt hash"));
    }

    #[test]
    fn files_that_cannot_be_read_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let errors = parse(
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
            dir.path(),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].to_string().contains("missing.crt"), "{errors:?}");
        assert!(errors[1].to_string().contains("missing.key"));
    }

    #[test]
    fn an_empty_file_means_plain_http_without_users() {
        let w = parse("", Path::new(".")).unwrap();
        assert!(w.tls.is_none() && w.users.is_empty());
    }
}
