//! TLS over TCP: ClientHello (SNI, ALPN, versions, ciphers, ECH), ServerHello, the
//! certificate chain of TLS ≤ 1.2, and the JA3/JA4 fingerprints.
//!
//! Layout: `record` (record header, probe), `client_hello` / `server_hello` (pure message
//! parsers), `cert` (X.509), `fingerprint` (JA3, JA4), `names` (versions, cipher suites,
//! alerts), `info` (the report record) and `tracker` (per-flow state over both directions).
//! Records and handshake messages are read with tls-parser, certificates with x509-parser.
//!
//! References: RFC 8446 (TLS 1.3), RFC 5246 (TLS 1.2), RFC 6066 §3 (SNI), RFC 7301 (ALPN),
//! RFC 8701 (GREASE), draft-ietf-tls-esni (ECH, extension 0xfe0d), JA3 (salesforce/ja3),
//! JA4 (FoxIO, BSD-3).

pub mod cert;
pub mod client_hello;
pub mod fingerprint;
pub mod info;
pub mod names;
pub mod record;
pub mod server_hello;
pub mod tracker;

pub use cert::{CertInfo, parse_certificate};
pub use client_hello::{client_hello_from_parts, is_grease, parse_client_hello_message};
pub use fingerprint::{ja3, ja3_string, ja4};
pub use info::{ClientHelloReport, TlsAlert, TlsAnomaly, TlsAnomalyKind, TlsInfo};
pub use names::{alert_name, cipher_is_weak, cipher_name, version_name};
pub use record::{probe, ruled_out};
pub use server_hello::{ServerHelloInfo, parse_server_hello_message};
pub use tracker::TlsTracker;

use serde::Serialize;

fn is_false(b: &bool) -> bool {
    !*b
}

/// What a ClientHello offers. Shared by TLS, DTLS and QUIC.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClientHelloInfo {
    /// `legacy_version` of the ClientHello (0x0303 for TLS 1.2 and 1.3).
    pub legacy_version: u16,
    /// Versions from the supported_versions extension, GREASE removed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_versions: Vec<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// Offered cipher suites in order, GREASE removed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cipher_suites: Vec<u16>,
    /// Extension types in order, GREASE removed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<u16>,
    /// Signature algorithms in order, GREASE removed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signature_algorithms: Vec<u16>,
    /// Supported groups in order, GREASE removed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_groups: Vec<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ec_point_formats: Vec<u8>,
    /// An encrypted_client_hello (0xfe0d) extension was offered.
    #[serde(skip_serializing_if = "is_false")]
    pub ech: bool,
    /// A legacy encrypted_server_name (0xffce) extension was offered.
    #[serde(skip_serializing_if = "is_false")]
    pub esni: bool,
    /// The first ALPN protocol name as sent (JA4 needs the bytes when they are not
    /// UTF-8); `None` when there is no ALPN extension.
    #[serde(skip)]
    pub first_alpn_raw: Option<Vec<u8>>,
    /// Some extension was malformed or the extension block was cut; the other fields hold
    /// what could be read.
    #[serde(skip_serializing_if = "is_false")]
    pub malformed: bool,
}
