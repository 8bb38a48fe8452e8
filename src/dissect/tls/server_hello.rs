//! The ServerHello: what the server picked (version, cipher suite, ALPN, key-share group),
//! and whether it was a HelloRetryRequest.
//!
//! References: RFC 8446 §4.1.3 (ServerHello, HelloRetryRequest magic random),
//! §4.2.1 (supported_versions selects the version), §4.2.8 (key_share),
//! RFC 5246 §7.4.1.3 (ServerHello of TLS ≤ 1.2), RFC 7301 §3.1 (ALPN).

use super::client_hello::{ExtensionIter, ext};
use super::names::{cipher_is_weak, cipher_name, version_name};
use serde::Serialize;
use tls_parser::{
    TlsExtension, TlsMessage, TlsMessageHandshake, parse_tls_extension_alpn_content,
    parse_tls_extension_supported_versions, parse_tls_message_handshake,
};

/// Handshake message type of a ServerHello (RFC 8446 §4).
pub const HANDSHAKE_SERVER_HELLO: u8 = 2;

/// The random of a HelloRetryRequest: SHA-256("HelloRetryRequest"), RFC 8446 §4.1.3.
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// At most this many ServerHello extensions are kept (a server echoes a subset of the
/// client's, so the ClientHello bound applies).
pub const MAX_SERVER_EXTENSIONS: usize = super::client_hello::MAX_EXTENSIONS;

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

/// What the server chose.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ServerHelloInfo {
    /// The negotiated version: supported_versions if present, else `legacy_version`.
    pub version: u16,
    /// `version` as text, e.g. "TLS 1.3".
    pub version_name: String,
    /// `legacy_version` of the ServerHello (0x0303 in TLS 1.3).
    pub legacy_version: u16,
    pub cipher_suite: u16,
    /// IANA name of `cipher_suite`, e.g. "TLS_AES_128_GCM_SHA256".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_name: Option<&'static str>,
    /// The suite is NULL/EXPORT/anon/RC4/DES/3DES/MD5 (see [`cipher_is_weak`]).
    #[serde(skip_serializing_if = "is_false")]
    pub cipher_weak: bool,
    /// Compression method; anything but 0 (null) invites CRIME (RFC 7457 §2.6).
    #[serde(skip_serializing_if = "is_zero")]
    pub compression_method: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// Group of the server's key_share (TLS 1.3), e.g. 0x001d x25519, 0x11ec X25519MLKEM768.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_share_group: Option<u16>,
    /// Extension types in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<u16>,
    /// The message is a HelloRetryRequest (RFC 8446 §4.1.4): the server asks for another
    /// ClientHello; the real ServerHello follows later.
    #[serde(skip_serializing_if = "is_false")]
    pub hello_retry_request: bool,
    /// Some extension could not be read.
    #[serde(skip_serializing_if = "is_false")]
    pub malformed: bool,
}

/// Parse one handshake message that starts with its 4-byte header (type 2 = ServerHello).
/// `None` if the message is not a complete ServerHello.
pub fn parse_server_hello_message(msg: &[u8]) -> Option<ServerHelloInfo> {
    if msg.first() != Some(&HANDSHAKE_SERVER_HELLO) {
        return None;
    }
    let Ok((_, TlsMessage::Handshake(hs))) = parse_tls_message_handshake(msg) else {
        return None;
    };
    let (legacy_version, random, cipher, compression, ext_block) = match hs {
        TlsMessageHandshake::ServerHello(sh) => (
            sh.version.0,
            sh.random,
            sh.cipher.0,
            sh.compression.0,
            sh.ext,
        ),
        // TLS 1.3 draft 18 had no session id and no compression.
        TlsMessageHandshake::ServerHelloV13Draft18(sh) => {
            (sh.version.0, sh.random, sh.cipher.0, 0, sh.ext)
        }
        _ => return None,
    };
    let mut info = ServerHelloInfo {
        version: legacy_version,
        legacy_version,
        cipher_suite: cipher,
        compression_method: compression,
        hello_retry_request: random == HELLO_RETRY_REQUEST_RANDOM,
        ..ServerHelloInfo::default()
    };
    let mut iter = ExtensionIter::new(ext_block.unwrap_or_default());
    for raw in iter.by_ref() {
        if info.extensions.len() >= MAX_SERVER_EXTENSIONS {
            info.malformed = true;
            break;
        }
        info.extensions.push(raw.ext_type);
        let ok = match raw.ext_type {
            ext::SUPPORTED_VERSIONS => match parse_tls_extension_supported_versions(raw.whole) {
                Ok((_, TlsExtension::SupportedVersions(v))) if v.len() == 1 => {
                    info.version = v.first().map_or(legacy_version, |v| v.0);
                    true
                }
                _ => false,
            },
            ext::ALPN => match parse_tls_extension_alpn_content(raw.data) {
                // RFC 7301 §3.1: the server answers with exactly one name.
                Ok((_, TlsExtension::ALPN(names))) if names.len() == 1 => {
                    info.alpn = names
                        .first()
                        .map(|n| String::from_utf8_lossy(n).into_owned());
                    true
                }
                _ => false,
            },
            // KeyShareEntry (ServerHello) or selected_group (HRR): the group comes first.
            ext::KEY_SHARE => match raw.data {
                [a, b, ..] => {
                    info.key_share_group = Some(u16::from_be_bytes([*a, *b]));
                    true
                }
                _ => false,
            },
            _ => true,
        };
        info.malformed |= !ok;
    }
    info.malformed |= iter.truncated;
    info.version_name = version_name(info.version).into_owned();
    info.cipher_name = cipher_name(cipher);
    info.cipher_weak = cipher_is_weak(cipher);
    Some(info)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::dissect::tls::client_hello::tests::{alpn_ext, extension};
    use proptest::prelude::*;

    /// A ServerHello handshake message (with header) from its parts.
    pub(crate) fn server_hello(
        legacy_version: u16,
        random: [u8; 32],
        cipher: u16,
        extensions: &[Vec<u8>],
    ) -> Vec<u8> {
        let mut body = legacy_version.to_be_bytes().to_vec();
        body.extend_from_slice(&random);
        body.push(32);
        body.extend_from_slice(&[0x22; 32]);
        body.extend_from_slice(&cipher.to_be_bytes());
        body.push(0);
        let block = extensions.concat();
        if !block.is_empty() {
            body.extend_from_slice(&(block.len() as u16).to_be_bytes());
            body.extend_from_slice(&block);
        }
        let mut msg = vec![HANDSHAKE_SERVER_HELLO];
        msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        msg.extend_from_slice(&body);
        msg
    }

    pub(crate) fn tls13_server_hello() -> Vec<u8> {
        server_hello(
            0x0303,
            [0x33; 32],
            0x1301,
            &[
                extension(ext::SUPPORTED_VERSIONS, &[0x03, 0x04]),
                extension(ext::KEY_SHARE, &[0x00, 0x1d, 0x00, 0x02, 0xaa, 0xbb]),
            ],
        )
    }

    #[test]
    fn tls13_version_comes_from_supported_versions() {
        let sh = parse_server_hello_message(&tls13_server_hello()).expect("server hello");
        assert_eq!(sh.version, 0x0304);
        assert_eq!(sh.version_name, "TLS 1.3");
        assert_eq!(sh.legacy_version, 0x0303);
        assert_eq!(sh.cipher_suite, 0x1301);
        assert_eq!(sh.cipher_name, Some("TLS_AES_128_GCM_SHA256"));
        assert!(!sh.cipher_weak);
        assert_eq!(sh.key_share_group, Some(0x001d));
        assert_eq!(sh.extensions, [0x002b, 0x0033]);
        assert!(!sh.hello_retry_request && !sh.malformed);
        assert_eq!(sh.alpn, None);
    }

    #[test]
    fn tls12_with_alpn_and_weak_cipher() {
        let msg = server_hello(
            0x0303,
            [1; 32],
            0x000a,
            &[alpn_ext(&[b"h2"]), extension(0xff01, &[0])],
        );
        let sh = parse_server_hello_message(&msg).expect("server hello");
        assert_eq!(sh.version, 0x0303);
        assert_eq!(sh.version_name, "TLS 1.2");
        assert_eq!(sh.alpn.as_deref(), Some("h2"));
        assert!(sh.cipher_weak);
        let json = serde_json::to_value(&sh).expect("json");
        assert_eq!(json["cipher_name"], "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
        assert_eq!(json["version_name"], "TLS 1.2");
        assert_eq!(json["cipher_suite"], 10);
        assert!(json.get("hello_retry_request").is_none());
    }

    #[test]
    fn hello_retry_request_is_flagged() {
        let msg = server_hello(
            0x0303,
            HELLO_RETRY_REQUEST_RANDOM,
            0x1302,
            &[
                extension(ext::SUPPORTED_VERSIONS, &[3, 4]),
                extension(ext::KEY_SHARE, &[0x00, 0x17]),
            ],
        );
        let sh = parse_server_hello_message(&msg).expect("hrr");
        assert!(sh.hello_retry_request);
        assert_eq!(sh.key_share_group, Some(0x0017));
        assert_eq!(sh.version, 0x0304);
    }

    #[test]
    fn tls10_without_extensions() {
        let msg = server_hello(0x0301, [7; 32], 0x0005, &[]);
        let sh = parse_server_hello_message(&msg).expect("server hello");
        assert_eq!(sh.version_name, "TLS 1.0");
        assert!(sh.extensions.is_empty());
        assert!(sh.cipher_weak);
    }

    #[test]
    fn rejects_client_hello_and_truncation() {
        let msg = tls13_server_hello();
        assert!(parse_server_hello_message(&msg[..msg.len() - 3]).is_none());
        let mut other = msg.clone();
        other[0] = 1;
        assert!(parse_server_hello_message(&other).is_none());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_server_hello_message(&bytes);
            let mut msg = vec![2u8, 0, (bytes.len() >> 8) as u8, bytes.len() as u8, 3, 3];
            msg.extend_from_slice(&bytes);
            let _ = parse_server_hello_message(&msg);
        }
    }
}
