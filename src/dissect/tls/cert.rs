//! X.509 certificates from TLS ≤ 1.2 and DTLS handshakes, read with x509-parser.
//!
//! References: RFC 5280 §4.1 (Certificate, Validity, UTCTime/GeneralizedTime), §4.2.1.6
//! (subjectAltName), RFC 4514 (distinguished names as strings), RFC 3339 (time stamps).

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use x509_parser::asn1_rs::{Any, Tag, ToDer as _};
use x509_parser::error::X509Error;
use x509_parser::extensions::GeneralName;
use x509_parser::objects::{oid_registry, oid2abbrev};
use x509_parser::prelude::{FromDer as _, X509Certificate};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// Largest DER certificate we parse. Real leaf certificates are 1–3 KiB; the TLS
/// Certificate message allows 2^24 − 1 (RFC 5246 §7.4.2) but our streams are capped at
/// 64 KiB, and a chain must fit in there.
pub const MAX_CERT_DER_LEN: usize = 32 * 1024;
/// At most this many subjectAltName entries are kept (CDN certificates carry a few hundred).
pub const MAX_SANS: usize = 256;

/// What a report needs from one certificate of a chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// The subject as an RFC 4514 string (last RDN first, `,` between RDNs, specials
    /// escaped), e.g. `CN=*.zoom.us,O=Zoom Video Communications\, Inc.,C=US`.
    pub subject: String,
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_cn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_org: Option<String>,
    /// DNS names (and IP literals) from the subjectAltName extension.
    #[serde(skip_serializing_if = "Vec::is_empty")]
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

/// Parse one DER certificate. `None` when the bytes are not a certificate (or exceed
/// [`MAX_CERT_DER_LEN`]).
pub fn parse_certificate(der: &[u8]) -> Option<CertInfo> {
    if der.len() > MAX_CERT_DER_LEN {
        return None;
    }
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let subject = cert.subject();
    let validity = cert.validity();
    let not_before_unix = validity.not_before.timestamp();
    let not_after_unix = validity.not_after.timestamp();
    Some(CertInfo {
        subject: rfc4514(subject),
        issuer: rfc4514(cert.issuer()),
        subject_cn: subject.iter_common_name().next().map(attr_string),
        subject_org: subject.iter_organization().next().map(attr_string),
        sans: sans(&cert),
        not_before: rfc3339(not_before_unix),
        not_after: rfc3339(not_after_unix),
        not_before_unix,
        not_after_unix,
        self_signed: is_self_signed(&cert),
        sha256: hex(&Sha256::digest(der)),
    })
}

/// Issuer and subject are the same name, and the certificate's own key verifies its
/// signature — unless the algorithm is one ring cannot check, then the name match counts.
fn is_self_signed(cert: &X509Certificate) -> bool {
    if cert.subject().as_raw() != cert.issuer().as_raw() {
        return false;
    }
    match cert.verify_signature(None) {
        Ok(()) => true,
        Err(X509Error::SignatureUnsupportedAlgorithm) => true,
        Err(_) => false,
    }
}

fn sans(cert: &X509Certificate) -> Vec<String> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            GeneralName::IPAddress(ip) => ip_literal(ip),
            _ => None,
        })
        .take(MAX_SANS)
        .collect()
}

/// An iPAddress SAN is 4 or 16 octets (RFC 5280 §4.2.1.6).
fn ip_literal(octets: &[u8]) -> Option<String> {
    let ip: IpAddr = match octets.len() {
        4 => Ipv4Addr::from(<[u8; 4]>::try_from(octets).ok()?).into(),
        16 => Ipv6Addr::from(<[u8; 16]>::try_from(octets).ok()?).into(),
        _ => return None,
    };
    Some(ip.to_string())
}

/// RFC 4514 §3 short names, plus a few common ones OpenSSL prints the same way.
fn attr_type_name(attr: &AttributeTypeAndValue) -> String {
    let oid = attr.attr_type();
    let dotted = oid.to_id_string();
    let short = match dotted.as_str() {
        "2.5.4.3" => "CN",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.6" => "C",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return oid2abbrev(oid, oid_registry()).map_or(dotted.clone(), str::to_owned),
    };
    short.to_owned()
}

/// The text of a directory string: UTF8/Printable/IA5/Numeric as they are, BMPString as
/// UTF-16BE, UniversalString as UTF-32BE, T61String as Latin-1 (what CAs actually put in).
fn any_text(any: &Any) -> Option<String> {
    let data = any.data;
    match any.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => std::str::from_utf8(data).ok().map(str::to_owned),
        Tag::BmpString => {
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        Tag::UniversalString => data
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        Tag::T61String => Some(data.iter().map(|&b| char::from(b)).collect()),
        _ => None,
    }
}

fn attr_string(attr: &AttributeTypeAndValue) -> String {
    any_text(attr.attr_value())
        .unwrap_or_else(|| String::from_utf8_lossy(attr.as_slice()).into_owned())
}

/// Escape an attribute value per RFC 4514 §2.4.
fn escape_value(value: &str, out: &mut String) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' | ' ' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' ' if i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
}

/// A distinguished name as an RFC 4514 string: RDNs in reverse order joined by `,`,
/// multi-valued RDNs joined by `+`, values that are not strings as `#` + hex of their DER.
fn rfc4514(name: &X509Name) -> String {
    let mut out = String::new();
    for (i, rdn) in name
        .iter_rdn()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .enumerate()
    {
        if i > 0 {
            out.push(',');
        }
        for (j, attr) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            out.push_str(&attr_type_name(attr));
            out.push('=');
            match any_text(attr.attr_value()) {
                Some(text) => escape_value(&text, &mut out),
                None => {
                    out.push('#');
                    out.push_str(&hex(&attr.attr_value().to_der_vec().unwrap_or_default()));
                }
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    super::fingerprint::push_hex(&mut s, bytes);
    s
}

/// Unix seconds as RFC 3339 UTC, e.g. `2020-01-01T00:00:00Z`.
fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = crate::model::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Distinct certificates remembered by [`CertCache`]; the cache starts over when full.
/// Servers present the same chain on every connection, so a few thousand cover a network
/// (at most this × ([`MAX_CERT_DER_LEN`] + parsed fields) bytes; typically ~3 KiB each).
pub const CERT_CACHE_ENTRIES: usize = 2048;

/// Parsed certificates by their DER bytes: parsing, hashing and signature checks run once
/// per distinct certificate, not once per connection. The answer equals
/// [`parse_certificate`]'s.
#[derive(Debug, Default)]
pub struct CertCache {
    parsed: rustc_hash::FxHashMap<Box<[u8]>, Option<Arc<CertInfo>>>,
    pub hits: u64,
}

impl CertCache {
    /// Shared, not copied: every connection to a server holds the same parsed chain.
    pub fn parse(&mut self, der: &[u8]) -> Option<Arc<CertInfo>> {
        if let Some(known) = self.parsed.get(der) {
            self.hits += 1;
            return known.clone();
        }
        let cert = parse_certificate(der).map(Arc::new);
        if self.parsed.len() >= CERT_CACHE_ENTRIES {
            self.parsed.clear();
        }
        self.parsed.insert(der.into(), cert.clone());
        cert
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Made by scripts/record-tls-fixtures.sh.
    const LEAF: &[u8] = include_bytes!("testdata/leaf.der");
    const CA: &[u8] = include_bytes!("testdata/ca.der");
    const EXPIRED_SELF_SIGNED: &[u8] = include_bytes!("testdata/expired-selfsigned.der");

    #[test]
    fn cache_answers_like_the_parser() {
        let mut cache = CertCache::default();
        for der in [
            LEAF,
            CA,
            LEAF,
            &b"not a certificate"[..],
            CA,
            &b"not a certificate"[..],
        ] {
            assert_eq!(cache.parse(der).as_deref(), parse_certificate(der).as_ref());
        }
        assert_eq!(cache.hits, 3);
    }

    #[test]
    fn leaf_fields() {
        let c = parse_certificate(LEAF).expect("leaf");
        assert_eq!(c.subject, r"CN=praxis.example,O=Praxis Muster\, GmbH,C=DE");
        assert_eq!(c.issuer, "CN=Leakscope Test Root,O=Leakscope Test CA,C=DE");
        assert_eq!(c.subject_cn.as_deref(), Some("praxis.example"));
        assert_eq!(c.subject_org.as_deref(), Some("Praxis Muster, GmbH"));
        assert_eq!(
            c.sans,
            [
                "praxis.example",
                "*.praxis.example",
                "192.0.2.7",
                "2001:db8::1"
            ]
        );
        assert_eq!(c.not_before, "2024-01-01T00:00:00Z");
        assert_eq!(c.not_after, "2034-01-01T00:00:00Z");
        assert_eq!(c.not_before_unix, 1_704_067_200);
        assert_eq!(c.not_after_unix, 2_019_686_400);
        assert!(!c.self_signed);
        // `openssl x509 -fingerprint -sha256` of the same file.
        assert_eq!(
            c.sha256,
            "a1a3bcba28dac64f675f614311a2f415e772337443616a01a2ee03f27bf6ec16"
        );
    }

    #[test]
    fn ca_is_self_signed_and_uses_generalized_time() {
        let c = parse_certificate(CA).expect("ca");
        assert!(c.self_signed);
        assert_eq!(c.subject, c.issuer);
        assert!(c.sans.is_empty());
        assert_eq!(c.not_after, "2099-12-31T23:59:59Z");
        assert_eq!(c.not_after_unix, 4_102_444_799);
        assert_eq!(
            c.sha256,
            "5140462dde599a8f3f4cf44b77b2815ba6bab4d5361d158eb74af4f8713f4d01"
        );
    }

    #[test]
    fn expired_rsa_self_signed() {
        let c = parse_certificate(EXPIRED_SELF_SIGNED).expect("cert");
        assert_eq!(c.subject, "CN=old.example");
        assert!(c.self_signed, "RSA signature verifies with its own key");
        assert_eq!(c.sans, ["old.example"]);
        assert_eq!(c.not_before, "2020-01-01T00:00:00Z");
        assert_eq!(c.not_after, "2021-01-01T00:00:00Z");
        assert_eq!(c.not_after_unix, 1_609_459_200);
        assert!(c.subject_org.is_none());
        let json = serde_json::to_value(&c).expect("json");
        assert!(json.get("subject_org").is_none());
        assert!(json.get("not_after_unix").is_none());
        assert_eq!(json["not_after"], "2021-01-01T00:00:00Z");
    }

    #[test]
    fn a_broken_signature_is_not_self_signed() {
        let mut der = EXPIRED_SELF_SIGNED.to_vec();
        // The signature BIT STRING is the last element: flip its last byte.
        if let Some(b) = der.last_mut() {
            *b ^= 0xff;
        }
        let c = parse_certificate(&der).expect("still parses");
        assert!(!c.self_signed);
    }

    #[test]
    fn escaping_and_time_format() {
        let mut s = String::new();
        escape_value(" #a,b+c\"d\\e<f>g;h ", &mut s);
        assert_eq!(s, r#"\ #a\,b\+c\"d\\e\<f\>g\;h\ "#);
        let mut s = String::new();
        escape_value("#x", &mut s);
        assert_eq!(s, r"\#x");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(ip_literal(&[10, 0, 0, 1]).as_deref(), Some("10.0.0.1"));
        assert_eq!(ip_literal(&[1, 2, 3]), None);
    }

    #[test]
    fn not_certificates() {
        assert!(parse_certificate(&[]).is_none());
        assert!(parse_certificate(b"not a certificate").is_none());
        assert!(parse_certificate(&LEAF[..LEAF.len() - 1]).is_none());
        assert!(parse_certificate(&vec![0x30; MAX_CERT_DER_LEN + 1]).is_none());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..800)) {
            let _ = parse_certificate(&bytes);
        }

        #[test]
        fn mutated_certificates_never_panic(pos in 0usize..531, byte in any::<u8>()) {
            let mut der = LEAF.to_vec();
            if let Some(b) = der.get_mut(pos) { *b = byte; }
            let _ = parse_certificate(&der);
        }
    }
}
