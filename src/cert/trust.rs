//! Trust: the chain as sent, verified by OpenSSL against the system store plus the enterprise
//! CAs given with `--ca-file` / `--ca-dir`.
//!
//! Dates are left out of this verification (`NO_CHECK_TIME`): an expired certificate is its own
//! finding (`expired`), and `untrusted` then means only that no path leads to a trusted root.
//! Key usage purposes are not checked here either (`no_server_auth_eku` is its own finding), as
//! with `openssl verify` without `-purpose`.

use std::path::{Path, PathBuf};

use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509, X509Ref, X509StoreContext};

use super::Trust;
use super::parse::{hex_pairs, rfc4514};

/// `X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT` and `..._LOCALLY`: the issuer was not found.
const ISSUER_NOT_FOUND: [i32; 2] = [2, 20];

/// Where to look for trusted CAs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustSources {
    pub ca_file: Option<PathBuf>,
    pub ca_dir: Option<PathBuf>,
}

/// A loaded trust store and how it was made.
pub struct TrustStore {
    store: X509Store,
    /// `system`, `system + --ca-file corp-root.pem`, ...
    pub description: String,
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustStore")
            .field("description", &self.description)
            .finish()
    }
}

/// What verification found besides the verdict.
pub struct Verification {
    pub trust: Trust,
    /// Certificates of the verified path that the server did not send, other than the root:
    /// intermediates only the trust store supplied.
    pub from_store: Vec<String>,
    /// The server's own certificate (not a CA) has an issuer that was neither sent nor trusted:
    /// (its subject, its issuer).
    pub leaf_issuer_missing: Option<(String, String)>,
}

fn pem_certificates(path: &Path) -> Result<Vec<X509>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    X509::stack_from_pem(&bytes)
        .map_err(|e| format!("{}: not PEM certificates: {e}", path.display()))
}

impl TrustStore {
    /// The system store plus the CAs in `sources`. A file without a certificate, or a folder
    /// with none, is an error naming it.
    pub fn load(sources: &TrustSources) -> Result<TrustStore, String> {
        let fail = |e: openssl::error::ErrorStack| format!("trust store: {e}");
        let mut b = X509StoreBuilder::new().map_err(fail)?;
        b.set_default_paths().map_err(fail)?;
        b.set_flags(X509VerifyFlags::NO_CHECK_TIME).map_err(fail)?;
        let mut description = "system".to_string();
        if let Some(file) = &sources.ca_file {
            let certs = pem_certificates(file).map_err(|e| format!("--ca-file {e}"))?;
            if certs.is_empty() {
                return Err(format!(
                    "--ca-file {}: no PEM certificate in it",
                    file.display()
                ));
            }
            for c in certs {
                add(&mut b, c)?;
            }
            description.push_str(&format!(" + --ca-file {}", file.display()));
        }
        if let Some(dir) = &sources.ca_dir {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| format!("--ca-dir {}: {e}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            entries.sort();
            let mut found = 0;
            for p in entries {
                // Files that are not PEM certificates (a README, a key) are passed over.
                if let Ok(certs) = pem_certificates(&p) {
                    for c in certs {
                        found += 1;
                        add(&mut b, c)?;
                    }
                }
            }
            if found == 0 {
                return Err(format!(
                    "--ca-dir {}: no PEM certificate in its files",
                    dir.display()
                ));
            }
            description.push_str(&format!(" + --ca-dir {}", dir.display()));
        }
        Ok(TrustStore {
            store: b.build(),
            description,
        })
    }

    /// Verify `chain` (the server's certificate first, then what it sent with it).
    pub fn verify(&self, chain: &[X509]) -> Verification {
        let mut v = Verification {
            trust: Trust {
                verified: false,
                store: self.description.clone(),
                error: None,
                error_code: None,
            },
            from_store: Vec::new(),
            leaf_issuer_missing: None,
        };
        let Some(leaf) = chain.first() else {
            v.trust.error = Some("no certificate".into());
            return v;
        };
        let mut run = || -> Result<(), openssl::error::ErrorStack> {
            let mut untrusted = Stack::new()?;
            for c in &chain[1..] {
                untrusted.push(c.clone())?;
            }
            let mut ctx = X509StoreContext::new()?;
            ctx.init(&self.store, leaf, &untrusted, |c| {
                let ok = c.verify_cert()?;
                let sent: Vec<String> = chain.iter().map(|x| fingerprint(x)).collect();
                if ok {
                    v.trust.verified = true;
                    if let Some(path) = c.chain() {
                        let n = path.len();
                        v.from_store = path
                            .iter()
                            .take(n.saturating_sub(1))
                            .filter(|x| !sent.contains(&fingerprint(x)))
                            .map(|x| rfc4514(x.subject_name()))
                            .collect();
                    }
                } else {
                    let err = c.error();
                    let at = c.current_cert();
                    let who = at
                        .map(|x| format!(" (at {})", rfc4514(x.subject_name())))
                        .unwrap_or_default();
                    v.trust.error = Some(format!("{}{who}", err.error_string()));
                    v.trust.error_code = Some(err.as_raw());
                    if let Some(x) = at
                        && ISSUER_NOT_FOUND.contains(&err.as_raw())
                        && !super::parse::is_ca(x)
                    {
                        v.leaf_issuer_missing =
                            Some((rfc4514(x.subject_name()), rfc4514(x.issuer_name())));
                    }
                }
                Ok(())
            })
        };
        if let Err(e) = run() {
            v.trust.verified = false;
            v.trust.error = Some(format!("verification could not run: {e}"));
        }
        v
    }
}

fn add(b: &mut X509StoreBuilder, c: X509) -> Result<(), String> {
    match b.add_cert(c) {
        Ok(()) => Ok(()),
        // The same CA twice (in the file and the system store) is not an error.
        Err(e) if e.to_string().contains("already in hash table") => Ok(()),
        Err(e) => Err(format!("trust store: {e}")),
    }
}

fn fingerprint(x: &X509Ref) -> String {
    x.digest(openssl::hash::MessageDigest::sha256())
        .map(|d| hex_pairs(&d))
        .unwrap_or_default()
}
