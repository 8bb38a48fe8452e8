//! TLS over TCP: ClientHello (SNI, ALPN, versions, ciphers, ECH), ServerHello, the
//! certificate chain of TLS ≤ 1.2, and the JA3/JA4 fingerprints.
//!
//! References: RFC 8446 (TLS 1.3), RFC 5246 (TLS 1.2), RFC 6066 §3 (SNI), RFC 7301 (ALPN),
//! draft-ietf-tls-esni (ECH, extension 0xfe0d), JA3 (salesforce/ja3), JA4 (FoxIO, BSD-3).

pub mod cert;

use serde::Serialize;

/// What a ClientHello offers. Shared by TLS, DTLS and QUIC.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClientHelloInfo {
    /// `legacy_version` of the ClientHello (0x0303 for TLS 1.2 and 1.3).
    pub legacy_version: u16,
    /// Versions from the supported_versions extension, GREASE removed.
    pub supported_versions: Vec<u16>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// Offered cipher suites in order, GREASE removed.
    pub cipher_suites: Vec<u16>,
    /// Extension types in order, GREASE removed.
    pub extensions: Vec<u16>,
    pub signature_algorithms: Vec<u16>,
    pub supported_groups: Vec<u16>,
    pub ec_point_formats: Vec<u8>,
    /// An encrypted_client_hello (0xfe0d) extension was offered.
    pub ech: bool,
    /// A legacy encrypted_server_name (0xffce) extension was offered.
    pub esni: bool,
}

/// Parse one handshake message that starts with its 4-byte header (type 1 = ClientHello).
/// Used by TLS, and by QUIC on the CRYPTO stream.
pub fn parse_client_hello_message(_msg: &[u8]) -> Option<ClientHelloInfo> {
    None
}

/// The JA3 fingerprint (MD5 of the JA3 string, lowercase hex) of a ClientHello.
pub fn ja3(_ch: &ClientHelloInfo) -> String {
    String::new()
}

/// The JA4 fingerprint (FoxIO, BSD-3) of a ClientHello. `transport` is `'t'` for TLS over
/// TCP, `'q'` for QUIC and `'d'` for DTLS.
pub fn ja4(_ch: &ClientHelloInfo, _transport: char) -> String {
    String::new()
}
