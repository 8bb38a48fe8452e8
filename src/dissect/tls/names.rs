//! Readable names for TLS protocol numbers: versions, cipher suites, alerts, and which
//! cipher suites count as weak.
//!
//! References: IANA TLS parameters
//! (<https://www.iana.org/assignments/tls-parameters/tls-parameters.xhtml>),
//! RFC 8446 §6 (alerts), RFC 7465 (no RC4), RFC 8996 (TLS 1.0/1.1 deprecated),
//! RFC 9325 §4.1 (NULL, anonymous, EXPORT, RC4, DES/3DES must not be negotiated).

use std::borrow::Cow;
use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherKx, TlsCipherMac, TlsCipherSuite};

/// TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3): a signal, not a cipher suite.
pub const SCSV_RENEGOTIATION: u16 = 0x00ff;
/// TLS_FALLBACK_SCSV (RFC 7507): a signal, not a cipher suite.
pub const SCSV_FALLBACK: u16 = 0x5600;

/// The name of a protocol version: "SSL 3.0", "TLS 1.0" .. "TLS 1.3", "DTLS 1.0/1.2/1.3",
/// else the hex value such as "0x7f17".
pub fn version_name(version: u16) -> Cow<'static, str> {
    match version {
        0x0002 => "SSL 2.0".into(),
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        0xfeff => "DTLS 1.0".into(),
        0xfefd => "DTLS 1.2".into(),
        0xfefc => "DTLS 1.3".into(),
        // Pre-standard TLS 1.3 drafts (draft-ietf-tls-tls13-NN used 0x7fNN).
        0x7f00..=0x7fff => format!("TLS 1.3 draft {}", version & 0xff).into(),
        v => format!("{v:#06x}").into(),
    }
}

/// The IANA name of a cipher suite, e.g. `TLS_AES_128_GCM_SHA256`.
pub fn cipher_name(id: u16) -> Option<&'static str> {
    TlsCipherSuite::from_id(id).map(|c| c.name)
}

/// A cipher suite no server should pick today: NULL encryption, EXPORT grade, anonymous
/// key exchange, RC4, RC2, DES or 3DES, or an HMAC-MD5 record MAC. Unknown ids and the
/// signalling values are not weak (we cannot tell).
pub fn cipher_is_weak(id: u16) -> bool {
    if id == SCSV_RENEGOTIATION || id == SCSV_FALLBACK {
        return false;
    }
    let Some(c) = TlsCipherSuite::from_id(id) else {
        return false;
    };
    let weak_enc = matches!(
        c.enc,
        TlsCipherEnc::Null
            | TlsCipherEnc::Rc4
            | TlsCipherEnc::Rc2
            | TlsCipherEnc::Des
            | TlsCipherEnc::TripleDes
    );
    // anon suites authenticate nobody (au NULL); TLS 1.3 suites have their own marker.
    let anon = c.au == TlsCipherAu::Null || c.kx == TlsCipherKx::Null;
    weak_enc || anon || c.mac == TlsCipherMac::HmacMd5 || c.name.contains("EXPORT")
}

/// The RFC name of an alert description (RFC 8446 §6, RFC 5246 §7.2, RFC 7301 §3.2),
/// `None` when unknown.
pub fn alert_name(description: u8) -> Option<&'static str> {
    Some(match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn version_names() {
        assert_eq!(version_name(0x0300), "SSL 3.0");
        assert_eq!(version_name(0x0301), "TLS 1.0");
        assert_eq!(version_name(0x0302), "TLS 1.1");
        assert_eq!(version_name(0x0303), "TLS 1.2");
        assert_eq!(version_name(0x0304), "TLS 1.3");
        assert_eq!(version_name(0xfeff), "DTLS 1.0");
        assert_eq!(version_name(0xfefd), "DTLS 1.2");
        assert_eq!(version_name(0xfefc), "DTLS 1.3");
        assert_eq!(version_name(0x7f17), "TLS 1.3 draft 23");
        assert_eq!(version_name(0x1234), "0x1234");
        assert_eq!(version_name(0x0a0a), "0x0a0a");
    }

    #[test]
    fn cipher_names() {
        assert_eq!(cipher_name(0x1301), Some("TLS_AES_128_GCM_SHA256"));
        assert_eq!(
            cipher_name(0xc02f),
            Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        );
        assert_eq!(cipher_name(0x000a), Some("TLS_RSA_WITH_3DES_EDE_CBC_SHA"));
        assert_eq!(cipher_name(0x0a0a), None);
    }

    #[test]
    fn weak_ciphers() {
        for weak in [
            0x0000, // TLS_NULL_WITH_NULL_NULL
            0x0001, // TLS_RSA_WITH_NULL_MD5
            0x0002, // TLS_RSA_WITH_NULL_SHA
            0x0003, // TLS_RSA_EXPORT_WITH_RC4_40_MD5
            0x0005, // TLS_RSA_WITH_RC4_128_SHA
            0x0008, // TLS_RSA_EXPORT_WITH_DES40_CBC_SHA
            0x0009, // TLS_RSA_WITH_DES_CBC_SHA
            0x000a, // TLS_RSA_WITH_3DES_EDE_CBC_SHA
            0x0034, // TLS_DH_anon_WITH_AES_128_CBC_SHA
            0xc018, // TLS_ECDH_anon_WITH_AES_128_CBC_SHA
            0xc011, // TLS_ECDHE_RSA_WITH_RC4_128_SHA
        ] {
            assert!(cipher_is_weak(weak), "{weak:#06x} {:?}", cipher_name(weak));
        }
        for strong in [
            0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xcca8, 0x009c, 0x002f, 0x00ff,
        ] {
            assert!(
                !cipher_is_weak(strong),
                "{strong:#06x} {:?}",
                cipher_name(strong)
            );
        }
        assert!(!cipher_is_weak(0x0a0a));
    }

    #[test]
    fn alert_names() {
        assert_eq!(alert_name(40), Some("handshake_failure"));
        assert_eq!(alert_name(0), Some("close_notify"));
        assert_eq!(alert_name(255), None);
    }

    proptest! {
        #[test]
        fn names_never_panic(v in any::<u16>(), a in any::<u8>()) {
            prop_assert!(!version_name(v).is_empty());
            let _ = cipher_name(v);
            let _ = cipher_is_weak(v);
            let _ = alert_name(a);
        }
    }
}
