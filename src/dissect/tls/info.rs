//! What the TLS dissector reports about one flow (`"tls": {...}` in the flow report).

use super::cert::CertInfo;
use super::names::alert_name;
use super::server_hello::ServerHelloInfo;
use super::{ClientHelloInfo, ja3, ja4};
use crate::model::Direction;
use serde::{Serialize, Serializer};
use std::sync::Arc;

/// At most this many anomalies are kept per flow; the first ones say the most.
pub const MAX_ANOMALIES: usize = 16;

fn is_false(b: &bool) -> bool {
    !*b
}

/// The ClientHello and what its fingerprints need. JA3 and JA4 are computed when the
/// report is written, not when the hello is parsed: nothing else reads them, and with
/// `replay -j N` that puts their hashing on the analysis thread instead of the engine's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHelloReport {
    pub hello: ClientHelloInfo,
    /// JA4's transport letter (`'t'`, `'q'`, `'d'`, as for [`ja4`]).
    pub transport: char,
}

impl ClientHelloReport {
    pub fn new(hello: ClientHelloInfo, transport: char) -> Self {
        ClientHelloReport { hello, transport }
    }

    pub fn ja3(&self) -> String {
        ja3(&self.hello)
    }

    pub fn ja4(&self) -> String {
        ja4(&self.hello, self.transport)
    }
}

/// The JSON form: the hello's own fields, then its fingerprints.
#[derive(Serialize)]
struct ClientHelloJson<'a> {
    #[serde(flatten)]
    hello: &'a ClientHelloInfo,
    ja3: String,
    ja4: String,
}

impl Serialize for ClientHelloReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ClientHelloJson {
            hello: &self.hello,
            ja3: self.ja3(),
            ja4: self.ja4(),
        }
        .serialize(serializer)
    }
}

/// A plaintext alert record (RFC 8446 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TlsAlert {
    /// Who sent it.
    pub from: Direction,
    /// 1 = warning, 2 = fatal.
    pub level: u8,
    pub description: u8,
    /// RFC name of `description`, e.g. "handshake_failure".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_name: Option<&'static str>,
}

impl TlsAlert {
    pub const FATAL: u8 = 2;

    pub fn new(from: Direction, level: u8, description: u8) -> Self {
        TlsAlert {
            from,
            level,
            description,
            description_name: alert_name(description),
        }
    }

    pub fn is_fatal(&self) -> bool {
        self.level == Self::FATAL
    }
}

/// Something in the stream that a well-behaved peer would not send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsAnomalyKind {
    /// A record header after the first one is not TLS; parsing stopped there.
    BadRecordHeader,
    /// A plaintext record longer than 2^14 (RFC 8446 §5.1).
    RecordTooLarge,
    /// A handshake message longer than we reassemble; that direction was not read further.
    HandshakeMessageTooLarge,
    ClientHelloUnparsable,
    ServerHelloUnparsable,
    CertificateMessageUnparsable,
    /// One certificate of the chain is not DER X.509.
    CertificateUnparsable,
    /// One certificate exceeds [`super::cert::MAX_CERT_DER_LEN`]; skipped.
    CertificateTooLarge,
    /// The chain is longer than [`super::tracker::MAX_CERTIFICATES`]; the rest skipped.
    TooManyCertificates,
    /// A heartbeat record (RFC 6520): rare in practice, and the Heartbleed vector.
    Heartbeat,
    /// An alert record that is not exactly two bytes.
    MalformedAlert,
}

/// One anomaly, with where it was seen: the stream offset of the record in that direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TlsAnomaly {
    pub kind: TlsAnomalyKind,
    pub direction: Direction,
    pub offset: usize,
}

/// What the TLS dissector learned about one flow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_hello: Option<ClientHelloReport>,
    /// The ServerHello (or, until the real one arrives, the HelloRetryRequest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_hello: Option<ServerHelloInfo>,
    /// The server's chain as sent, leaf first (TLS ≤ 1.2 only: TLS 1.3 encrypts it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<Arc<CertInfo>>,
    /// The first plaintext alert.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<TlsAlert>,
    /// The server accepted the ClientHello: a ServerHello (not a HelloRetryRequest) fixed
    /// version and cipher suite. False with an alert means the handshake failed.
    #[serde(skip_serializing_if = "is_false")]
    pub negotiated: bool,
    /// The server sent a HelloRetryRequest first (RFC 8446 §4.1.4).
    #[serde(skip_serializing_if = "is_false")]
    pub hello_retry_request: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub anomalies: Vec<TlsAnomaly>,
}

impl TlsInfo {
    /// Record an anomaly (bounded by [`MAX_ANOMALIES`]; the same kind is kept once).
    pub fn flag(&mut self, kind: TlsAnomalyKind, direction: Direction, offset: usize) {
        if self.anomalies.len() < MAX_ANOMALIES && !self.anomalies.iter().any(|a| a.kind == kind) {
            self.anomalies.push(TlsAnomaly {
                kind,
                direction,
                offset,
            });
        }
    }

    pub fn has(&self, kind: TlsAnomalyKind) -> bool {
        self.anomalies.iter().any(|a| a.kind == kind)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn empty_info_is_an_empty_object() {
        assert_eq!(
            serde_json::to_string(&TlsInfo::default()).expect("json"),
            "{}"
        );
    }

    #[test]
    fn anomalies_are_bounded_and_unique() {
        let mut info = TlsInfo::default();
        info.flag(TlsAnomalyKind::RecordTooLarge, Direction::ToServer, 5);
        info.flag(TlsAnomalyKind::RecordTooLarge, Direction::ToClient, 9);
        info.flag(TlsAnomalyKind::Heartbeat, Direction::ToClient, 9);
        assert_eq!(info.anomalies.len(), 2);
        assert!(info.has(TlsAnomalyKind::Heartbeat));
        let json = serde_json::to_value(&info).expect("json");
        assert_eq!(json["anomalies"][0]["kind"], "record_too_large");
        assert_eq!(json["anomalies"][0]["direction"], "to_server");
        assert_eq!(json["anomalies"][0]["offset"], 5);
    }

    #[test]
    fn client_hello_report_flattens() {
        let hello = ClientHelloInfo {
            legacy_version: 0x0303,
            sni: Some("x.example".into()),
            ..Default::default()
        };
        let json = serde_json::to_value(ClientHelloReport::new(hello, 't')).expect("json");
        assert_eq!(json["sni"], "x.example");
        assert_eq!(json["legacy_version"], 771);
        assert!(json["ja4"].as_str().is_some_and(|j| j.starts_with("t12i")));
        assert_eq!(json["ja3"].as_str().map(str::len), Some(32));
        assert!(json.get("alpn").is_none());
    }

    #[test]
    fn alert_names_serialize() {
        let a = TlsAlert::new(Direction::ToClient, 2, 40);
        assert!(a.is_fatal());
        let json = serde_json::to_value(a).expect("json");
        assert_eq!(json["description_name"], "handshake_failure");
        assert_eq!(json["from"], "to_client");
    }
}
