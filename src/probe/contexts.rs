//! OpenSSL client contexts, one per forced version, built so that the version is really offered.
//!
//! The system configuration (`openssl.cnf`, `OPENSSL_CONF`) is loaded by OpenSSL into every new
//! context: a `MinProtocol = TLSv1.2` there, or the security level 2 Debian compiles in, would
//! silently stop TLS 1.0/1.1 from being offered or make an accepted TLS 1.0 fail on our side. So
//! every setting that decides what goes into the ClientHello is set here explicitly, and each
//! context is checked by writing a ClientHello offline and reading it back.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use openssl::ssl::{
    HandshakeError, Ssl, SslContext, SslMethod, SslOptions, SslVerifyMode, SslVersion,
};

use crate::tls::TlsVersion;
use crate::tls::record;

/// Every cipher suite this OpenSSL has for TLS 1.2 and older, weak ones included: a server that
/// accepts a version only with an old suite still accepts the version.
const CIPHERS: &str = "ALL:COMPLEMENTOFALL:@SECLEVEL=0";
/// Every TLS 1.3 suite OpenSSL implements.
const CIPHERSUITES_13: &str = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:\
TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256";
/// Groups offered; the first list has older curves that some TLS 1.0-1.2 servers only know.
const GROUPS_WIDE: &str = "X25519:P-256:X448:P-521:P-384:ffdhe2048:ffdhe3072:ffdhe4096:\
ffdhe6144:ffdhe8192:P-224:secp256k1:brainpoolP256r1:brainpoolP384r1:brainpoolP512r1";
const GROUPS_BASIC: &str = "X25519:P-256:X448:P-521:P-384:ffdhe2048:ffdhe3072:ffdhe4096";
/// Signature algorithms, SHA-1 included for old servers.
const SIGALGS: &str = "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ed25519:ed448:\
rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:rsa_pss_pss_sha256:\
rsa_pss_pss_sha384:rsa_pss_pss_sha512:RSA+SHA256:RSA+SHA384:RSA+SHA512:ECDSA+SHA224:\
RSA+SHA224:ECDSA+SHA1:RSA+SHA1:DSA+SHA256:DSA+SHA1";

/// Whether this build can put a version on the wire, and the context that does it.
pub enum Offer {
    Ready(SslContext),
    NotTestable(String),
}

/// One client context per version to test.
pub struct ClientContexts {
    contexts: BTreeMap<TlsVersion, Offer>,
    /// The suites each ready context's ClientHello offers (signalling values left out).
    suites: BTreeMap<TlsVersion, Vec<u16>>,
}

impl ClientContexts {
    pub fn new(versions: &[TlsVersion]) -> Self {
        let mut suites = BTreeMap::new();
        let contexts = versions
            .iter()
            .map(|&v| {
                let offer = match build(v) {
                    Ok(ctx) => match check_offer(&ctx, v) {
                        Ok(offered) => {
                            suites.insert(v, offered);
                            Offer::Ready(ctx)
                        }
                        Err(why) => Offer::NotTestable(why),
                    },
                    Err(why) => Offer::NotTestable(why),
                };
                (v, offer)
            })
            .collect();
        ClientContexts { contexts, suites }
    }

    pub fn get(&self, v: TlsVersion) -> Option<&Offer> {
        self.contexts.get(&v)
    }

    /// The suites this OpenSSL offers for `v` (empty when it cannot offer the version).
    pub fn suites(&self, v: TlsVersion) -> &[u16] {
        self.suites.get(&v).map_or(&[], Vec::as_slice)
    }
}

/// OpenSSL's name for a version.
pub fn ssl_version(v: TlsVersion) -> SslVersion {
    match v {
        TlsVersion::Ssl3 => SslVersion::SSL3,
        TlsVersion::Tls10 => SslVersion::TLS1,
        TlsVersion::Tls11 => SslVersion::TLS1_1,
        TlsVersion::Tls12 => SslVersion::TLS1_2,
        TlsVersion::Tls13 => SslVersion::TLS1_3,
    }
}

/// The name and version of the TLS library in use.
pub fn library_version() -> String {
    openssl::version::version().to_string()
}

fn build(v: TlsVersion) -> Result<SslContext, String> {
    let lib = library_version();
    let fail = |what: &str, e: openssl::error::ErrorStack| format!("{lib}: {what}: {e}");
    let mut b = SslContext::builder(SslMethod::tls_client()).map_err(|e| fail("context", e))?;
    b.clear_options(
        SslOptions::NO_SSLV2
            | SslOptions::NO_SSLV3
            | SslOptions::NO_TLSV1
            | SslOptions::NO_TLSV1_1
            | SslOptions::NO_TLSV1_2
            | SslOptions::NO_TLSV1_3,
    );
    // Old servers without secure renegotiation must still be reachable.
    b.set_options(
        SslOptions::ALL
            | SslOptions::from_bits_retain(openssl_sys::SSL_OP_LEGACY_SERVER_CONNECT as _)
            | SslOptions::NO_COMPRESSION,
    );
    b.set_security_level(0);
    let ver = ssl_version(v);
    b.set_min_proto_version(Some(ver))
        .map_err(|e| fail("minimum version", e))?;
    b.set_max_proto_version(Some(ver))
        .map_err(|e| fail("maximum version", e))?;
    b.set_cipher_list(CIPHERS)
        .map_err(|e| fail("cipher list", e))?;
    b.set_ciphersuites(CIPHERSUITES_13)
        .map_err(|e| fail("TLS 1.3 suites", e))?;
    if b.set_groups_list(GROUPS_WIDE).is_err() {
        b.set_groups_list(GROUPS_BASIC)
            .map_err(|e| fail("groups", e))?;
    }
    b.set_sigalgs_list(SIGALGS)
        .map_err(|e| fail("signature algorithms", e))?;
    // We test what the server accepts, not whom it claims to be.
    b.set_verify(SslVerifyMode::NONE);
    certificate_request::notice(&mut b);
    Ok(b.build())
}

/// Whether the server asked this connection for a client certificate (none is ever sent).
pub fn certificate_requested(ssl: &openssl::ssl::SslRef) -> bool {
    certificate_request::requested(ssl)
}

/// Client certificate requests, noticed through OpenSSL's client certificate callback, which
/// the `openssl` crate does not wrap: TLS 1.3 encrypts the CertificateRequest, so the bytes on
/// the wire cannot tell, and a server that requires a certificate must not make an accepted
/// version look refused without saying why the handshake ended.
mod certificate_request {
    use std::os::raw::{c_int, c_void};
    use std::ptr;
    use std::sync::OnceLock;

    use foreign_types::ForeignTypeRef;
    use openssl::ssl::{SslContextBuilder, SslRef};
    use openssl_sys::{EVP_PKEY, SSL, SSL_CTX, X509};

    type ClientCertCb = unsafe extern "C" fn(*mut SSL, *mut *mut X509, *mut *mut EVP_PKEY) -> c_int;

    unsafe extern "C" {
        // void SSL_CTX_set_client_cert_cb(SSL_CTX *ctx, int (*cb)(SSL *, X509 **, EVP_PKEY **));
        fn SSL_CTX_set_client_cert_cb(ctx: *mut SSL_CTX, cb: Option<ClientCertCb>);
    }

    /// The ex-data slot that marks a connection asked for a certificate: a bare non-null
    /// pointer, never freed (the slot has no free function).
    fn slot() -> c_int {
        static SLOT: OnceLock<c_int> = OnceLock::new();
        // SAFETY: registers an ex-data index with no callbacks; OpenSSL is initialised by the
        // `openssl` crate before any context exists.
        *SLOT.get_or_init(|| unsafe {
            openssl_sys::SSL_get_ex_new_index(0, ptr::null_mut(), None, None, None)
        })
    }

    /// Called by OpenSSL when the server sent a CertificateRequest and the context has no
    /// certificate: mark the connection, and send none (return 0).
    unsafe extern "C" fn asked(
        ssl: *mut SSL,
        _x509: *mut *mut X509,
        _pkey: *mut *mut EVP_PKEY,
    ) -> c_int {
        // SAFETY: `ssl` is the live connection OpenSSL passes in; the slot holds no owned data.
        unsafe {
            openssl_sys::SSL_set_ex_data(ssl, slot(), ptr::NonNull::<c_void>::dangling().as_ptr());
        }
        0
    }

    pub fn notice(b: &mut SslContextBuilder) {
        let _ = slot();
        // SAFETY: `b` owns a valid SSL_CTX; the callback has the signature OpenSSL expects.
        unsafe { SSL_CTX_set_client_cert_cb(b.as_ptr(), Some(asked)) }
    }

    pub fn requested(ssl: &SslRef) -> bool {
        // SAFETY: reads the slot's pointer of a live connection; it is null unless `asked` ran.
        unsafe { !openssl_sys::SSL_get_ex_data(ssl.as_ptr(), slot()).is_null() }
    }
}

/// Captures what the client writes; reading never yields data, so the handshake stops after the
/// ClientHello.
struct Capture(Vec<u8>);

impl Read for Capture {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Write a ClientHello with this context and check that it offers the version and nothing else;
/// the suites it offers.
fn check_offer(ctx: &SslContext, v: TlsVersion) -> Result<Vec<u16>, String> {
    let lib = library_version();
    let hello = client_hello(ctx, Some("offline.check"))
        .map_err(|why| format!("{lib} cannot offer {}: {why}", v.name()))?;
    let offer = record::client_offer(&hello).ok_or_else(|| {
        format!(
            "{}: the ClientHello it wrote could not be read",
            library_version()
        )
    })?;
    if !offer.offers_only(v.wire()) {
        return Err(format!(
            "{}: its ClientHello for {} offers {:?} (legacy version 0x{:04x}) instead",
            library_version(),
            v.name(),
            offer.supported_versions,
            offer.legacy_version
        ));
    }
    if offer.ciphers.is_empty() {
        return Err(format!(
            "{}: no cipher suite for {}",
            library_version(),
            v.name()
        ));
    }
    Ok(offer
        .ciphers
        .into_iter()
        .filter(|c| crate::tls::suites::usable(*c, v))
        .collect())
}

/// The bytes of the ClientHello this context writes.
pub fn client_hello(ctx: &SslContext, sni: Option<&str>) -> Result<Vec<u8>, String> {
    let lib = library_version();
    let mut ssl = Ssl::new(ctx).map_err(|e| format!("{lib}: {e}"))?;
    if let Some(name) = sni {
        ssl.set_hostname(name).map_err(|e| format!("{lib}: {e}"))?;
    }
    match ssl.connect(Capture(Vec::new())) {
        Err(HandshakeError::WouldBlock(mid)) => Ok(mid.get_ref().0.clone()),
        Err(HandshakeError::Failure(mid)) => Err(reason(mid.error())),
        Err(HandshakeError::SetupFailure(e)) => Err(format!("{lib}: {e}")),
        Ok(_) => Err(format!("{lib}: handshake completed with no server")),
    }
}

/// The reason text of an OpenSSL error, without the error-queue noise.
pub fn reason(e: &openssl::ssl::Error) -> String {
    if let Some(stack) = e.ssl_error()
        && let Some(first) = stack.errors().first()
    {
        return first
            .reason()
            .map(str::to_string)
            .unwrap_or_else(|| first.to_string());
    }
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_context_offers_exactly_its_version() {
        let ctxs = ClientContexts::new(&TlsVersion::ALL);
        for v in [
            TlsVersion::Tls10,
            TlsVersion::Tls11,
            TlsVersion::Tls12,
            TlsVersion::Tls13,
        ] {
            match ctxs.get(v).unwrap() {
                Offer::Ready(ctx) => {
                    let hello = client_hello(ctx, None).unwrap();
                    let offer = record::client_offer(&hello).unwrap();
                    assert!(offer.offers_only(v.wire()), "{v} not offered: {offer:?}");
                }
                Offer::NotTestable(why) => panic!("{v} not testable: {why}"),
            }
        }
    }
}
