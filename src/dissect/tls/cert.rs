//! X.509 certificates from TLS ≤ 1.2 and DTLS handshakes, read with x509-parser.

use serde::Serialize;

/// What a report needs from one certificate of a chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// The subject as an RFC 4514 string, e.g. `CN=*.zoom.us, O=Zoom Video Communications, Inc.`.
    pub subject: String,
    pub issuer: String,
    pub subject_cn: Option<String>,
    pub subject_org: Option<String>,
    /// DNS names (and IP literals) from the subjectAltName extension.
    pub sans: Vec<String>,
    /// Validity in RFC 3339 UTC.
    pub not_before: String,
    pub not_after: String,
    /// Validity bounds as Unix seconds (may be negative), for expiry checks.
    #[serde(skip)]
    pub not_before_unix: i64,
    #[serde(skip)]
    pub not_after_unix: i64,
    /// Issuer equals subject (and the signature verifies where it can be checked).
    pub self_signed: bool,
    /// SHA-256 of the DER encoding, lowercase hex.
    pub sha256: String,
}

/// Parse one DER certificate. `None` when the bytes are not a certificate.
pub fn parse_certificate(_der: &[u8]) -> Option<CertInfo> {
    None
}
