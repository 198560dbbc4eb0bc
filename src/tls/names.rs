//! Names of the values a ClientHello lists, as the IANA TLS registries spell them, and back:
//! groups, signature algorithms, extensions (cipher suites come from `tls-parser`'s table).

use crate::tls::record::is_grease;

/// (value, IANA name) of the supported groups registry that clients send.
const GROUPS: &[(u16, &str)] = &[
    (1, "sect163k1"),
    (2, "sect163r1"),
    (3, "sect163r2"),
    (4, "sect193r1"),
    (5, "sect193r2"),
    (6, "sect233k1"),
    (7, "sect233r1"),
    (8, "sect239k1"),
    (9, "sect283k1"),
    (10, "sect283r1"),
    (11, "sect409k1"),
    (12, "sect409r1"),
    (13, "sect571k1"),
    (14, "sect571r1"),
    (15, "secp160k1"),
    (16, "secp160r1"),
    (17, "secp160r2"),
    (18, "secp192k1"),
    (19, "secp192r1"),
    (20, "secp224k1"),
    (21, "secp224r1"),
    (22, "secp256k1"),
    (23, "secp256r1"),
    (24, "secp384r1"),
    (25, "secp521r1"),
    (26, "brainpoolP256r1"),
    (27, "brainpoolP384r1"),
    (28, "brainpoolP512r1"),
    (29, "x25519"),
    (30, "x448"),
    (31, "brainpoolP256r1tls13"),
    (32, "brainpoolP384r1tls13"),
    (33, "brainpoolP512r1tls13"),
    (256, "ffdhe2048"),
    (257, "ffdhe3072"),
    (258, "ffdhe4096"),
    (259, "ffdhe6144"),
    (260, "ffdhe8192"),
    (0x11eb, "SecP256r1MLKEM768"),
    (0x11ec, "X25519MLKEM768"),
    (0x11ed, "SecP384r1MLKEM1024"),
    (0x6399, "X25519Kyber768Draft00"),
];

/// (value, IANA name) of the signature schemes (RFC 8446) and the TLS 1.2 hash/signature pairs
/// (RFC 5246) clients send.
const SIGNATURE_ALGORITHMS: &[(u16, &str)] = &[
    (0x0201, "rsa_pkcs1_sha1"),
    (0x0202, "dsa_sha1"),
    (0x0203, "ecdsa_sha1"),
    (0x0301, "rsa_pkcs1_sha224"),
    (0x0302, "dsa_sha224"),
    (0x0303, "ecdsa_sha224"),
    (0x0401, "rsa_pkcs1_sha256"),
    (0x0402, "dsa_sha256"),
    (0x0403, "ecdsa_secp256r1_sha256"),
    (0x0420, "rsa_pkcs1_sha256_legacy"),
    (0x0501, "rsa_pkcs1_sha384"),
    (0x0502, "dsa_sha384"),
    (0x0503, "ecdsa_secp384r1_sha384"),
    (0x0520, "rsa_pkcs1_sha384_legacy"),
    (0x0601, "rsa_pkcs1_sha512"),
    (0x0602, "dsa_sha512"),
    (0x0603, "ecdsa_secp521r1_sha512"),
    (0x0620, "rsa_pkcs1_sha512_legacy"),
    (0x0101, "rsa_pkcs1_md5"),
    (0x0102, "dsa_md5"),
    (0x0103, "ecdsa_md5"),
    (0x0704, "eccsi_sha256"),
    (0x0708, "sm2sig_sm3"),
    (0x0804, "rsa_pss_rsae_sha256"),
    (0x0805, "rsa_pss_rsae_sha384"),
    (0x0806, "rsa_pss_rsae_sha512"),
    (0x0807, "ed25519"),
    (0x0808, "ed448"),
    (0x0809, "rsa_pss_pss_sha256"),
    (0x080a, "rsa_pss_pss_sha384"),
    (0x080b, "rsa_pss_pss_sha512"),
    (0x081a, "ecdsa_brainpoolP256r1tls13_sha256"),
    (0x081b, "ecdsa_brainpoolP384r1tls13_sha384"),
    (0x081c, "ecdsa_brainpoolP512r1tls13_sha512"),
];

/// (value, IANA name) of the extensions registry.
const EXTENSIONS: &[(u16, &str)] = &[
    (0, "server_name"),
    (1, "max_fragment_length"),
    (2, "client_certificate_url"),
    (3, "trusted_ca_keys"),
    (4, "truncated_hmac"),
    (5, "status_request"),
    (6, "user_mapping"),
    (7, "client_authz"),
    (8, "server_authz"),
    (9, "cert_type"),
    (10, "supported_groups"),
    (11, "ec_point_formats"),
    (12, "srp"),
    (13, "signature_algorithms"),
    (14, "use_srtp"),
    (15, "heartbeat"),
    (16, "application_layer_protocol_negotiation"),
    (17, "status_request_v2"),
    (18, "signed_certificate_timestamp"),
    (19, "client_certificate_type"),
    (20, "server_certificate_type"),
    (21, "padding"),
    (22, "encrypt_then_mac"),
    (23, "extended_master_secret"),
    (24, "token_binding"),
    (25, "cached_info"),
    (27, "compress_certificate"),
    (28, "record_size_limit"),
    (34, "delegated_credential"),
    (35, "session_ticket"),
    (41, "pre_shared_key"),
    (42, "early_data"),
    (43, "supported_versions"),
    (44, "cookie"),
    (45, "psk_key_exchange_modes"),
    (47, "certificate_authorities"),
    (48, "oid_filters"),
    (49, "post_handshake_auth"),
    (50, "signature_algorithms_cert"),
    (51, "key_share"),
    (57, "quic_transport_parameters"),
    (13172, "next_protocol_negotiation"),
    (17513, "application_settings"),
    (17613, "application_settings_new"),
    (0xfe0d, "encrypted_client_hello"),
    (0xff01, "renegotiation_info"),
];

fn name_of(table: &[(u16, &str)], v: u16) -> String {
    if is_grease(v) {
        return format!("GREASE(0x{v:04x})");
    }
    table
        .iter()
        .find(|(x, _)| *x == v)
        .map(|(_, n)| (*n).to_string())
        .unwrap_or_else(|| format!("0x{v:04x}"))
}

fn value_of(table: &[(u16, &str)], name: &str) -> Option<u16> {
    let name = name.trim();
    if let Some(hex) = name.strip_prefix("0x") {
        return u16::from_str_radix(hex, 16).ok();
    }
    table
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(v, _)| *v)
}

pub fn group_name(v: u16) -> String {
    name_of(GROUPS, v)
}

pub fn signature_algorithm_name(v: u16) -> String {
    name_of(SIGNATURE_ALGORITHMS, v)
}

pub fn extension_name(v: u16) -> String {
    name_of(EXTENSIONS, v)
}

/// A group by name (`x25519`, `secp256r1`; `P-256` style too) or `0x` value.
pub fn group_value(name: &str) -> Option<u16> {
    let alias = match name.trim().to_ascii_uppercase().as_str() {
        "P-256" => "secp256r1",
        "P-384" => "secp384r1",
        "P-521" => "secp521r1",
        "X25519" => "x25519",
        "X448" => "x448",
        _ => name,
    };
    value_of(GROUPS, alias)
}

pub fn signature_algorithm_value(name: &str) -> Option<u16> {
    value_of(SIGNATURE_ALGORITHMS, name)
}

pub fn extension_value(name: &str) -> Option<u16> {
    value_of(EXTENSIONS, name)
}

/// A cipher suite by its IANA name or `0x` value.
pub fn suite_value(name: &str) -> Option<u16> {
    let name = name.trim();
    if let Some(hex) = name.strip_prefix("0x") {
        return u16::from_str_radix(hex, 16).ok();
    }
    if name == "TLS_EMPTY_RENEGOTIATION_INFO_SCSV" {
        return Some(0x00ff);
    }
    if name == "TLS_FALLBACK_SCSV" {
        return Some(0x5600);
    }
    tls_parser::TlsCipherSuite::from_name(name).map(|c| c.id.0)
}

/// A cipher suite's IANA name (`0x...` when unknown, GREASE marked).
pub fn suite_name(v: u16) -> String {
    match v {
        _ if is_grease(v) => format!("GREASE(0x{v:04x})"),
        0x00ff => "TLS_EMPTY_RENEGOTIATION_INFO_SCSV".into(),
        0x5600 => "TLS_FALLBACK_SCSV".into(),
        _ => crate::tls::record::cipher_name(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_round_trip() {
        for (v, n) in GROUPS {
            assert_eq!(group_value(n), Some(*v));
        }
        for (v, n) in SIGNATURE_ALGORITHMS {
            assert_eq!(signature_algorithm_value(n), Some(*v));
        }
        for (v, n) in EXTENSIONS {
            assert_eq!(extension_value(n), Some(*v));
        }
        assert_eq!(group_value("P-256"), Some(23));
        assert_eq!(group_name(0x2a2a), "GREASE(0x2a2a)");
        assert_eq!(group_name(0x7777), "0x7777");
        assert_eq!(
            suite_value("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            Some(0xc02f)
        );
        assert_eq!(suite_name(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(suite_value("0x1301"), Some(0x1301));
        assert_eq!(suite_value("TLS_NO_SUCH_SUITE"), None);
    }
}
