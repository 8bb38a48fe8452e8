//! DTLS handshakes over UDP (WebRTC DTLS-SRTP and others): ClientHello (with use_srtp and
//! ALPN), HelloVerifyRequest, ServerHello, the certificates each side sends, and whether the
//! handshake finished. DTLS 1.3 ciphertext (unified header) is recognised, not decrypted.
//!
//! The record and handshake layers are read by hand: tls-parser's DTLS parser rejects a
//! whole record when one message in it is of a type it does not know (ServerKeyExchange,
//! CertificateRequest, …) and does not expose its ClientHello body parser; its protocol
//! number newtypes are reused here.
//!
//! References:
//! - RFC 6347 (DTLS 1.2) §4.1 record layer, §4.2.2 handshake header, §4.2.3 fragmentation,
//!   §4.2.1 HelloVerifyRequest: <https://www.rfc-editor.org/rfc/rfc6347>
//! - RFC 4347 (DTLS 1.0): <https://www.rfc-editor.org/rfc/rfc4347>
//! - RFC 9147 (DTLS 1.3) §4 unified header: <https://www.rfc-editor.org/rfc/rfc9147>
//! - RFC 9146 (connection IDs, content type 25): <https://www.rfc-editor.org/rfc/rfc9146>
//! - RFC 5764 §4.1 use_srtp: <https://www.rfc-editor.org/rfc/rfc5764>; RFC 7714 §14.2 (GCM)
//! - RFC 8833 (ALPN `webrtc`, `c-webrtc`): <https://www.rfc-editor.org/rfc/rfc8833>
//! - RFC 8701 (GREASE), RFC 7983 §7 (first-byte demultiplexing)

use crate::dissect::tls::cert::{CertCache, CertInfo};
use crate::dissect::tls::{self, ClientHelloInfo};
use crate::model::{Direction, Progress};
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use std::sync::Arc;
use tls_parser::{TlsExtensionType, TlsHandshakeType, TlsRecordType};

/// RFC 6347 §4.1: type(1) version(2) epoch(2) sequence_number(6) length(2).
pub const RECORD_HEADER_LEN: usize = 13;
/// RFC 6347 §4.2.2: type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3).
pub const HANDSHAKE_HEADER_LEN: usize = 12;
/// RFC 6347 §4.1 (as RFC 5246 §6.2.3): a DTLSCiphertext fragment is at most 2^14 + 2048 bytes.
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;
/// Records read from one datagram (RFC 6347 §4.1.1 allows several; real flights carry ≤ 10).
pub const MAX_RECORDS_PER_DATAGRAM: usize = 32;
/// Handshake messages read from one record.
pub const MAX_MESSAGES_PER_RECORD: usize = 16;
/// Largest handshake message reassembled. RFC 6347 allows 2^24 − 1 bytes; WebRTC certificates
/// are < 1 KiB and CA-signed server chains < 16 KiB, so 64 KiB loses nothing real.
pub const MAX_HANDSHAKE_MESSAGE_LEN: usize = 64 * 1024;
/// Messages reassembled at once per direction (one flight, RFC 6347 §4.2.4).
pub const MAX_PENDING_MESSAGES: usize = 8;
/// Disjoint fragment ranges kept per message before giving up on it.
pub const MAX_FRAGMENT_RANGES: usize = 64;
/// Completed handshake messages remembered per direction, to drop retransmissions.
pub const MAX_MESSAGES_PER_DIRECTION: usize = 32;
/// Certificates read from one Certificate message.
pub const MAX_CERTS_PER_CHAIN: usize = 8;
/// Datagrams looked at before the tracker stops: a handshake is 2–3 round trips plus
/// retransmissions (RFC 6347 §4.2.4).
pub const MAX_DATAGRAMS: u32 = 64;
/// Entries kept from one ClientHello list (cipher suites, groups, signature algorithms).
pub const MAX_LIST_ENTRIES: usize = 256;
/// Extensions read from one hello.
pub const MAX_EXTENSIONS: usize = 64;
/// Longest SNI or ALPN name kept (RFC 7301 §3.1: ALPN names are 1–255 bytes).
pub const MAX_NAME_LEN: usize = 255;
/// ALPN protocols kept from one ClientHello.
pub const MAX_ALPN_PROTOCOLS: usize = 16;
/// SRTP protection profiles kept from one use_srtp extension.
pub const MAX_SRTP_PROFILES: usize = 16;
/// Plaintext alerts kept per flow.
pub const MAX_ALERTS: usize = 4;

/// RFC 9146: DTLS 1.2 record with a connection ID (its header length depends on a CID length
/// negotiated in the hellos, so it is not read).
const RECORD_TLS12_CID: TlsRecordType = TlsRecordType(25);
/// draft-ietf-tls-esni: encrypted_client_hello.
const EXT_ECH: TlsExtensionType = TlsExtensionType(0xfe0d);

/// A DTLS version number. DTLS versions count down: 1.0 = 0xfeff, 1.2 = 0xfefd, 1.3 = 0xfefc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DtlsVersion(pub u16);

impl DtlsVersion {
    pub const DTLS_1_0: DtlsVersion = DtlsVersion(0xfeff);
    pub const DTLS_1_2: DtlsVersion = DtlsVersion(0xfefd);
    pub const DTLS_1_3: DtlsVersion = DtlsVersion(0xfefc);
    /// OpenSSL's pre-RFC 4347 DTLS (`DTLS1_BAD_VER`), still spoken by old Cisco AnyConnect.
    pub const DTLS_BAD_VER: DtlsVersion = DtlsVersion(0x0100);

    pub fn name(self) -> Cow<'static, str> {
        match self {
            DtlsVersion::DTLS_1_0 => "dtls1.0".into(),
            DtlsVersion::DTLS_1_2 => "dtls1.2".into(),
            DtlsVersion::DTLS_1_3 => "dtls1.3".into(),
            DtlsVersion::DTLS_BAD_VER => "dtls-openssl-pre-rfc".into(),
            DtlsVersion(v) => format!("0x{v:04x}").into(),
        }
    }

    /// A version seen in DTLS record headers (major byte 0xfe, or OpenSSL's 0x0100).
    pub fn is_dtls(self) -> bool {
        self.0 >> 8 == 0xfe || self == DtlsVersion::DTLS_BAD_VER
    }

    /// Larger is newer (DTLS 1.x is the one's complement of a TLS-like number).
    fn rank(self) -> u16 {
        if self.0 >> 8 == 0xfe { !self.0 } else { 0 }
    }
}

impl Serialize for DtlsVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// An SRTP protection profile from use_srtp (RFC 5764 §4.1.2, RFC 7714 §14.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SrtpProfile(pub u16);

impl SrtpProfile {
    pub const AES128_CM_SHA1_80: SrtpProfile = SrtpProfile(0x0001);
    pub const AES128_CM_SHA1_32: SrtpProfile = SrtpProfile(0x0002);
    /// No encryption, authentication only.
    pub const NULL_SHA1_80: SrtpProfile = SrtpProfile(0x0005);
    /// No encryption, authentication only.
    pub const NULL_SHA1_32: SrtpProfile = SrtpProfile(0x0006);
    pub const AEAD_AES_128_GCM: SrtpProfile = SrtpProfile(0x0007);
    pub const AEAD_AES_256_GCM: SrtpProfile = SrtpProfile(0x0008);

    /// OpenSSL-style names (`SRTP_AES128_CM_SHA1_80`); IANA spells the first ones
    /// `SRTP_AES128_CM_HMAC_SHA1_80`.
    pub fn name(self) -> Cow<'static, str> {
        match self {
            SrtpProfile::AES128_CM_SHA1_80 => "SRTP_AES128_CM_SHA1_80".into(),
            SrtpProfile::AES128_CM_SHA1_32 => "SRTP_AES128_CM_SHA1_32".into(),
            SrtpProfile::NULL_SHA1_80 => "SRTP_NULL_SHA1_80".into(),
            SrtpProfile::NULL_SHA1_32 => "SRTP_NULL_SHA1_32".into(),
            SrtpProfile::AEAD_AES_128_GCM => "SRTP_AEAD_AES_128_GCM".into(),
            SrtpProfile::AEAD_AES_256_GCM => "SRTP_AEAD_AES_256_GCM".into(),
            SrtpProfile(v) => format!("0x{v:04x}").into(),
        }
    }

    /// The profile leaves media unencrypted.
    pub fn is_null_cipher(self) -> bool {
        self == SrtpProfile::NULL_SHA1_80 || self == SrtpProfile::NULL_SHA1_32
    }
}

impl Serialize for SrtpProfile {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// Who made a DTLS certificate, per SIGNALS.md §2.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DtlsCertKind {
    /// A browser's per-call self-signed certificate: libwebrtc `CN=WebRTC`, Firefox
    /// `CN=<32 hex digits>`. Suggests the far end is a browser peer.
    BrowserSelfSigned,
    /// A media server whose certificate names it: `hangouts` (Google Meet), `cloud.zoom.us`
    /// (Zoom web client), `mediasoup` (BigBlueButton and others), `jitsi` (JVB),
    /// `discord`. DTLS ends at that server.
    KnownServer(&'static str),
    /// Issued by someone else (a CA): a server.
    CaSigned,
    /// Self-signed, but not in a browser's style.
    OtherSelfSigned,
}

/// Classify one certificate (normally the leaf a side sent).
pub fn cert_kind(cert: &CertInfo) -> DtlsCertKind {
    let cn = cert.subject_cn.as_deref().unwrap_or("");
    let org = cert.subject_org.as_deref().unwrap_or("");
    let names = || std::iter::once(cn).chain(cert.sans.iter().map(String::as_str));
    let has_suffix = |suffix: &str| {
        names().any(|n| {
            let n = n.trim_start_matches("*.");
            n.eq_ignore_ascii_case(suffix)
                || (n.len() > suffix.len()
                    && n.is_char_boundary(n.len() - suffix.len())
                    && n[n.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                    && n.as_bytes().get(n.len() - suffix.len() - 1) == Some(&b'.'))
        })
    };
    if cn.eq_ignore_ascii_case("hangouts") {
        return DtlsCertKind::KnownServer("hangouts");
    }
    if has_suffix("cloud.zoom.us") {
        return DtlsCertKind::KnownServer("cloud.zoom.us");
    }
    if cn.eq_ignore_ascii_case("mediasoup") || org.eq_ignore_ascii_case("mediasoup") {
        return DtlsCertKind::KnownServer("mediasoup");
    }
    if cn.starts_with("TODO-APP-NAME") {
        return DtlsCertKind::KnownServer("jitsi");
    }
    if has_suffix("discord.gg") || has_suffix("discord.media") {
        return DtlsCertKind::KnownServer("discord");
    }
    let self_signed = cert.self_signed || (!cert.subject.is_empty() && cert.subject == cert.issuer);
    if !self_signed {
        return DtlsCertKind::CaSigned;
    }
    let firefox = cn.len() == 32 && cn.bytes().all(|b| b.is_ascii_hexdigit());
    if cn == "WebRTC" || firefox {
        DtlsCertKind::BrowserSelfSigned
    } else {
        DtlsCertKind::OtherSelfSigned
    }
}

/// Something odd in a DTLS flow. Recorded once each, never fatal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DtlsAnomaly {
    /// A later datagram did not start with a DTLS record.
    NotDtls,
    TruncatedRecord,
    RecordTooLong,
    UnknownRecordVersion,
    UnknownContentType,
    TooManyRecords,
    /// A handshake header or fragment runs past its record.
    TruncatedHandshake,
    /// fragment_offset + fragment_length exceeds the message length.
    FragmentOutOfRange,
    /// Fragments of one message_seq disagree on its length.
    FragmentLengthMismatch,
    OversizedHandshakeMessage,
    TooManyPendingMessages,
    TooManyFragments,
    MalformedClientHello,
    MalformedServerHello,
    MalformedHelloVerifyRequest,
    MalformedCertificate,
    /// A certificate's DER could not be read.
    CertificateNotParsed,
    TooManyCertificates,
    /// A list in a hello was longer than the bound and was cut.
    ListTruncated,
    /// RFC 9146 connection-ID records: the rest of the datagram is not read.
    ConnectionIdRecord,
    /// The server chose an SRTP profile without encryption.
    NullSrtpCipherSelected,
    /// Handshake messages from one direction claim both client and server roles.
    RoleConflict,
    /// A certificate arrived before either side's role was known; the flow's direction was
    /// used instead.
    RoleGuessed,
}

/// A plaintext (epoch 0) alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DtlsAlert {
    pub from: Direction,
    pub level: u8,
    pub description: u8,
}

/// What one side (DTLS client or DTLS server) showed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DtlsPeer {
    /// Certificates that parsed, leaf first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<Arc<CertInfo>>,
    /// Certificates in the chain as sent, parsed or not.
    #[serde(skip_serializing_if = "is_zero")]
    pub certificate_count: u32,
    /// Kind of the leaf certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_kind: Option<DtlsCertKind>,
    #[serde(skip_serializing_if = "is_false")]
    pub change_cipher_spec: bool,
    /// An encrypted handshake record (Finished in DTLS 1.2, the epoch-2 flight in 1.3).
    #[serde(skip_serializing_if = "is_false")]
    pub finished: bool,
}

/// What a DTLS flow revealed. Embedded in flow output as `"dtls": {...}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DtlsInfo {
    /// Highest version the client offered (supported_versions, else client_version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_offered: Option<DtlsVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_negotiated: Option<DtlsVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_hello: Option<ClientHelloInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    /// The server answered with a HelloVerifyRequest (cookie exchange, RFC 6347 §4.2.1).
    #[serde(skip_serializing_if = "is_false")]
    pub hello_verify_request: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub srtp_profiles_offered: Vec<SrtpProfile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srtp_profile_selected: Option<SrtpProfile>,
    /// ALPN protocols offered by the client (`webrtc`, `c-webrtc` for WebRTC).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpn_selected: Option<String>,
    /// The flow direction in which the DTLS client sends. In WebRTC the DTLS client is
    /// chosen by `a=setup`, so it need not be the flow's first sender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_direction: Option<Direction>,
    /// The DTLS client.
    pub client: DtlsPeer,
    /// The DTLS server.
    pub server: DtlsPeer,
    /// ChangeCipherSpec and Finished seen both ways (DTLS 1.3: encrypted flights both ways).
    pub handshake_complete: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub application_data: bool,
    /// DTLS 1.3 ciphertext records were seen: the handshake is encrypted and the
    /// certificates are not visible.
    #[serde(skip_serializing_if = "is_false")]
    pub encrypted_handshake: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<DtlsAlert>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub anomalies: Vec<DtlsAnomaly>,
}

impl DtlsInfo {
    fn note(&mut self, anomaly: DtlsAnomaly) {
        if !self.anomalies.contains(&anomaly) {
            self.anomalies.push(anomaly);
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Role in the DTLS handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Client,
    Server,
}

/// Per-flow DTLS state: handshake reassembly per direction and retransmission memory.
#[derive(Debug, Default)]
pub struct DtlsTracker {
    state: TrackerState,
    datagrams: u32,
    dirs: [DirState; 2],
}

#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
enum TrackerState {
    #[default]
    Fresh,
    Active,
    Rejected,
    Done,
}

#[derive(Debug, Default)]
struct DirState {
    pending: Vec<Reassembly>,
    /// (msg_type, message_seq) of messages already handled.
    completed: Vec<(u8, u16)>,
    /// DTLS 1.3 ciphertext records seen from this side.
    ciphertext: bool,
}

#[derive(Debug)]
struct Reassembly {
    msg_type: u8,
    message_seq: u16,
    length: u32,
    /// Grows to the highest byte received, never past `length`.
    buf: Vec<u8>,
    /// Sorted, disjoint, non-adjacent [start, end) ranges received.
    ranges: Vec<(u32, u32)>,
}

impl Reassembly {
    /// Copy a fragment in. Returns false when the ranges bound is exceeded.
    fn add(&mut self, offset: u32, fragment: &[u8]) -> bool {
        let Ok(len) = u32::try_from(fragment.len()) else {
            return false;
        };
        let Some(end) = offset.checked_add(len) else {
            return false;
        };
        let (start_us, end_us) = (offset as usize, end as usize);
        if self.buf.len() < end_us {
            self.buf.resize(end_us, 0);
        }
        if let Some(dst) = self.buf.get_mut(start_us..end_us) {
            dst.copy_from_slice(fragment);
        }
        let mut merged = (offset, end);
        self.ranges.retain(|&(s, e)| {
            if e < merged.0 || s > merged.1 {
                true
            } else {
                merged = (merged.0.min(s), merged.1.max(e));
                false
            }
        });
        let at = self.ranges.partition_point(|&(s, _)| s < merged.0);
        self.ranges.insert(at, merged);
        self.ranges.len() <= MAX_FRAGMENT_RANGES
    }

    fn is_complete(&self) -> bool {
        self.ranges.as_slice() == [(0, self.length)]
    }
}

/// Whether a datagram is made of DTLS records, back to back, filling it exactly: DTLS
/// 1.0/1.2 headers (content type 20–24, a DTLS version, length ≤ [`MAX_RECORD_LEN`]) or DTLS
/// 1.3 unified headers that carry a length. Strict, because it decides whether a flow is DTLS
/// at all: records whose extent cannot be checked (no length field, connection IDs) do not
/// count, so text such as a SIP keep-alive of spaces (0x20) is not taken for DTLS 1.3.
pub fn looks_like_dtls(payload: &[u8]) -> bool {
    let mut rest = payload;
    for _ in 0..MAX_RECORDS_PER_DATAGRAM {
        let Some(&first) = rest.first() else {
            return rest.len() != payload.len();
        };
        let len = if first & 0xe0 == 0x20 {
            if first & 0x04 == 0 {
                return false;
            }
            unified_record_len(rest)
        } else {
            RecordHeader::parse(rest)
                .filter(|h| (20..=24).contains(&h.content_type.0) && h.version.is_dtls())
                .map(|h| usize::from(h.length))
                .filter(|&n| n <= MAX_RECORD_LEN)
                .map(|n| RECORD_HEADER_LEN + n)
        };
        match len.and_then(|n| rest.get(n..)) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// Length of a DTLS 1.3 unified-header record (RFC 9147 §4: 0 0 1 C S L E E), or None when
/// it cannot be known (connection ID present) or the header is cut.
fn unified_record_len(rec: &[u8]) -> Option<usize> {
    let flags = *rec.first()?;
    if flags & 0x10 != 0 {
        return None;
    }
    let seq_len = if flags & 0x08 != 0 { 2 } else { 1 };
    let header = 1 + seq_len;
    if flags & 0x04 != 0 {
        let len = rec.get(header..header + 2)?;
        Some(header + 2 + usize::from(u16::from_be_bytes([len[0], len[1]])))
    } else {
        // No length: the record fills the datagram.
        (rec.len() >= header).then_some(rec.len())
    }
}

struct RecordHeader {
    content_type: TlsRecordType,
    version: DtlsVersion,
    epoch: u16,
    length: u16,
}

impl RecordHeader {
    fn parse(b: &[u8]) -> Option<RecordHeader> {
        let mut r = Reader::new(b);
        let content_type = TlsRecordType(r.u8()?);
        let version = DtlsVersion(r.u16()?);
        let epoch = r.u16()?;
        r.take(6)?; // sequence_number
        let length = r.u16()?;
        Some(RecordHeader {
            content_type,
            version,
            epoch,
            length,
        })
    }
}

impl DtlsTracker {
    /// Feed one datagram whose first byte is 20–63 (RFC 7983 demultiplexing is the caller's).
    pub fn on_datagram(&mut self, dir: Direction, payload: &[u8], info: &mut DtlsInfo) -> Progress {
        self.on_datagram_cached(dir, payload, info, &mut CertCache::default())
    }

    /// [`DtlsTracker::on_datagram`] with certificates parsed through a cache shared by flows.
    pub fn on_datagram_cached(
        &mut self,
        dir: Direction,
        payload: &[u8],
        info: &mut DtlsInfo,
        certs: &mut CertCache,
    ) -> Progress {
        match self.state {
            TrackerState::Rejected => return Progress::NotMine,
            TrackerState::Done => {
                self.datagrams = self.datagrams.saturating_add(1);
                return Progress::Done;
            }
            TrackerState::Fresh => {
                if !looks_like_dtls(payload) {
                    self.state = TrackerState::Rejected;
                    return Progress::NotMine;
                }
                self.state = TrackerState::Active;
            }
            TrackerState::Active => {}
        }
        self.datagrams = self.datagrams.saturating_add(1);
        self.read_records(dir, payload, info, certs);

        let c = &info.client;
        let s = &info.server;
        let dtls13 = info.version_negotiated == Some(DtlsVersion::DTLS_1_3)
            || (self.dirs[0].ciphertext && self.dirs[1].ciphertext);
        info.handshake_complete =
            c.finished && s.finished && ((c.change_cipher_spec && s.change_cipher_spec) || dtls13);
        if info.handshake_complete || info.application_data || self.datagrams >= MAX_DATAGRAMS {
            self.state = TrackerState::Done;
            self.dirs = Default::default();
            Progress::Done
        } else {
            Progress::NeedMore
        }
    }

    fn read_records(
        &mut self,
        dir: Direction,
        payload: &[u8],
        info: &mut DtlsInfo,
        certs: &mut CertCache,
    ) {
        let mut rest = payload;
        for _ in 0..MAX_RECORDS_PER_DATAGRAM {
            let Some(&first) = rest.first() else {
                return;
            };
            if first & 0xe0 == 0x20 {
                if info
                    .version_negotiated
                    .is_some_and(|v| v != DtlsVersion::DTLS_1_3)
                {
                    // Only DTLS 1.3 has unified headers.
                    info.note(DtlsAnomaly::NotDtls);
                    return;
                }
                let Some(len) = unified_record_len(rest) else {
                    if first & 0x10 != 0 {
                        info.note(DtlsAnomaly::ConnectionIdRecord);
                    } else {
                        info.note(DtlsAnomaly::TruncatedRecord);
                    }
                    self.on_ciphertext(dir, first, info);
                    return;
                };
                self.on_ciphertext(dir, first, info);
                match rest.get(len..) {
                    Some(r) => rest = r,
                    None => {
                        info.note(DtlsAnomaly::TruncatedRecord);
                        return;
                    }
                }
                continue;
            }
            let Some(h) = RecordHeader::parse(rest) else {
                info.note(
                    if rest.len() < RECORD_HEADER_LEN && rest.len() != payload.len() {
                        DtlsAnomaly::TruncatedRecord
                    } else {
                        DtlsAnomaly::NotDtls
                    },
                );
                return;
            };
            if !h.version.is_dtls() {
                info.note(if rest.len() == payload.len() {
                    DtlsAnomaly::NotDtls
                } else {
                    DtlsAnomaly::UnknownRecordVersion
                });
                return;
            }
            if h.content_type == RECORD_TLS12_CID {
                info.note(DtlsAnomaly::ConnectionIdRecord);
                info.application_data = true;
                return;
            }
            let len = usize::from(h.length);
            if len > MAX_RECORD_LEN {
                info.note(DtlsAnomaly::RecordTooLong);
                return;
            }
            let Some(body) = rest.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + len) else {
                info.note(DtlsAnomaly::TruncatedRecord);
                return;
            };
            rest = rest.get(RECORD_HEADER_LEN + len..).unwrap_or_default();
            self.on_record(dir, &h, body, info, certs);
        }
        if !rest.is_empty() {
            info.note(DtlsAnomaly::TooManyRecords);
        }
    }

    fn on_record(
        &mut self,
        dir: Direction,
        h: &RecordHeader,
        body: &[u8],
        info: &mut DtlsInfo,
        certs: &mut CertCache,
    ) {
        match h.content_type {
            TlsRecordType::ChangeCipherSpec => peer_mut(dir, info).change_cipher_spec = true,
            TlsRecordType::Alert => {
                if let (0, [level, description]) = (h.epoch, body)
                    && info.alerts.len() < MAX_ALERTS
                {
                    let alert = DtlsAlert {
                        from: dir,
                        level: *level,
                        description: *description,
                    };
                    info.alerts.push(alert);
                }
            }
            TlsRecordType::Handshake if h.epoch == 0 => {
                self.on_handshake_record(dir, body, info, certs)
            }
            // DTLS 1.2: the first message under the new epoch is Finished.
            TlsRecordType::Handshake => peer_mut(dir, info).finished = true,
            TlsRecordType::ApplicationData => info.application_data = true,
            TlsRecordType::Heartbeat => {}
            _ => info.note(DtlsAnomaly::UnknownContentType),
        }
    }

    /// A DTLS 1.3 ciphertext record (RFC 9147 §4). The low epoch bits tell handshake (2)
    /// from application data (3).
    fn on_ciphertext(&mut self, dir: Direction, flags: u8, info: &mut DtlsInfo) {
        info.encrypted_handshake = true;
        info.version_negotiated.get_or_insert(DtlsVersion::DTLS_1_3);
        self.dirs[dir.index()].ciphertext = true;
        match flags & 0x03 {
            2 => peer_mut(dir, info).finished = true,
            3 => info.application_data = true,
            _ => {}
        }
    }

    fn on_handshake_record(
        &mut self,
        dir: Direction,
        body: &[u8],
        info: &mut DtlsInfo,
        certs: &mut CertCache,
    ) {
        let mut rest = body;
        for _ in 0..MAX_MESSAGES_PER_RECORD {
            if rest.is_empty() {
                return;
            }
            let mut r = Reader::new(rest);
            let header = (|| Some((r.u8()?, r.u24()?, r.u16()?, r.u24()?, r.u24()?)))();
            let Some((msg_type, length, message_seq, offset, frag_len)) = header else {
                info.note(DtlsAnomaly::TruncatedHandshake);
                return;
            };
            let Some(fragment) = r.take(frag_len as usize) else {
                info.note(DtlsAnomaly::TruncatedHandshake);
                return;
            };
            rest = r.rest();
            self.on_fragment(
                dir,
                msg_type,
                length,
                message_seq,
                offset,
                fragment,
                info,
                certs,
            );
        }
        if !rest.is_empty() {
            info.note(DtlsAnomaly::TooManyRecords);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_fragment(
        &mut self,
        dir: Direction,
        msg_type: u8,
        length: u32,
        message_seq: u16,
        offset: u32,
        fragment: &[u8],
        info: &mut DtlsInfo,
        certs: &mut CertCache,
    ) {
        if let Some(role) = role_of_message(TlsHandshakeType(msg_type)) {
            learn_role(dir, role, info);
        }
        let d = &mut self.dirs[dir.index()];
        if d.completed.contains(&(msg_type, message_seq)) {
            return; // retransmission
        }
        if offset as usize + fragment.len() > length as usize {
            info.note(DtlsAnomaly::FragmentOutOfRange);
            return;
        }
        if length as usize > MAX_HANDSHAKE_MESSAGE_LEN {
            info.note(DtlsAnomaly::OversizedHandshakeMessage);
            return;
        }
        if offset == 0 && fragment.len() == length as usize {
            self.complete(dir, msg_type, message_seq, fragment, info, certs);
            return;
        }
        let pos = d
            .pending
            .iter()
            .position(|p| (p.msg_type, p.message_seq) == (msg_type, message_seq));
        let idx = match pos {
            Some(i) => i,
            None if d.pending.len() < MAX_PENDING_MESSAGES => {
                let r = Reassembly {
                    msg_type,
                    message_seq,
                    length,
                    buf: Vec::new(),
                    ranges: Vec::new(),
                };
                d.pending.push(r);
                d.pending.len() - 1
            }
            None => {
                info.note(DtlsAnomaly::TooManyPendingMessages);
                return;
            }
        };
        let Some(p) = d.pending.get_mut(idx) else {
            return;
        };
        if p.length != length {
            info.note(DtlsAnomaly::FragmentLengthMismatch);
            return;
        }
        if !p.add(offset, fragment) {
            info.note(DtlsAnomaly::TooManyFragments);
            d.pending.swap_remove(idx);
            return;
        }
        if p.is_complete() {
            let done = d.pending.swap_remove(idx);
            self.complete(dir, msg_type, message_seq, &done.buf, info, certs);
        }
    }

    /// A whole handshake message body arrived.
    fn complete(
        &mut self,
        dir: Direction,
        msg_type: u8,
        seq: u16,
        body: &[u8],
        info: &mut DtlsInfo,
        certs: &mut CertCache,
    ) {
        let d = &mut self.dirs[dir.index()];
        if d.completed.len() < MAX_MESSAGES_PER_DIRECTION {
            d.completed.push((msg_type, seq));
        }
        match TlsHandshakeType(msg_type) {
            TlsHandshakeType::ClientHello => on_client_hello(body, info),
            TlsHandshakeType::HelloVerifyRequest => {
                info.hello_verify_request = true;
                if parse_hello_verify_request(body).is_none() {
                    info.note(DtlsAnomaly::MalformedHelloVerifyRequest);
                }
            }
            TlsHandshakeType::ServerHello => on_server_hello(body, info),
            TlsHandshakeType::Certificate => {
                let peer = peer_mut(dir, info);
                if peer.certificate_count > 0 {
                    return; // already have this side's chain
                }
                let mut anomalies = Vec::new();
                read_certificate_chain(body, peer, &mut anomalies, certs);
                for a in anomalies {
                    info.note(a);
                }
            }
            _ => {}
        }
    }
}

/// The DTLS peer (by role) that sends in `dir`.
fn peer_mut(dir: Direction, info: &mut DtlsInfo) -> &mut DtlsPeer {
    let client_dir = match info.client_direction {
        Some(d) => d,
        None => {
            info.note(DtlsAnomaly::RoleGuessed);
            Direction::ToServer
        }
    };
    if dir == client_dir {
        &mut info.client
    } else {
        &mut info.server
    }
}

/// Which side sends a handshake message type (RFC 6347 §4.2, RFC 5246 §7.3).
fn role_of_message(t: TlsHandshakeType) -> Option<Role> {
    match t {
        TlsHandshakeType::ClientHello
        | TlsHandshakeType::ClientKeyExchange
        | TlsHandshakeType::CertificateVerify => Some(Role::Client),
        TlsHandshakeType::ServerHello
        | TlsHandshakeType::HelloVerifyRequest
        | TlsHandshakeType::ServerKeyExchange
        | TlsHandshakeType::CertificateRequest
        | TlsHandshakeType::ServerDone
        | TlsHandshakeType::NewSessionTicket => Some(Role::Server),
        _ => None,
    }
}

fn learn_role(dir: Direction, role: Role, info: &mut DtlsInfo) {
    let client_dir = if role == Role::Client {
        dir
    } else {
        dir.reverse()
    };
    match info.client_direction {
        None => info.client_direction = Some(client_dir),
        Some(d) if d != client_dir => info.note(DtlsAnomaly::RoleConflict),
        Some(_) => {}
    }
}

fn on_client_hello(body: &[u8], info: &mut DtlsInfo) {
    let Some(hello) = parse_client_hello_body(body) else {
        info.note(DtlsAnomaly::MalformedClientHello);
        return;
    };
    if hello.truncated {
        info.note(DtlsAnomaly::ListTruncated);
    }
    if info.client_hello.is_some() {
        return; // the retry after HelloVerifyRequest repeats the first
    }
    let ch = hello.info;
    let best = ch
        .supported_versions
        .iter()
        .map(|&v| DtlsVersion(v))
        .filter(|v| v.is_dtls())
        .max_by_key(|v| v.rank());
    info.version_offered = Some(best.unwrap_or(DtlsVersion(ch.legacy_version)));
    let ja4 = tls::ja4(&ch, 'd');
    info.ja4 = (!ja4.is_empty()).then_some(ja4);
    info.srtp_profiles_offered = hello.srtp_profiles;
    info.alpn = ch.alpn.clone();
    info.client_hello = Some(ch);
}

fn on_server_hello(body: &[u8], info: &mut DtlsInfo) {
    let Some(sh) = parse_server_hello_body(body) else {
        info.note(DtlsAnomaly::MalformedServerHello);
        return;
    };
    info.version_negotiated = Some(sh.selected_version.unwrap_or(sh.version));
    info.cipher_suite = Some(sh.cipher_suite);
    if let Some(p) = sh.srtp_profile {
        if p.is_null_cipher() {
            info.note(DtlsAnomaly::NullSrtpCipherSelected);
        }
        info.srtp_profile_selected = Some(p);
    }
    if sh.alpn.is_some() {
        info.alpn_selected = sh.alpn;
    }
}

/// Read a Certificate body (RFC 5246 §7.4.2: a 24-bit-length list of 24-bit-length DER
/// certificates) into `peer`.
fn read_certificate_chain(
    body: &[u8],
    peer: &mut DtlsPeer,
    anomalies: &mut Vec<DtlsAnomaly>,
    certs: &mut CertCache,
) {
    let mut r = Reader::new(body);
    let Some(list) = r.vec24() else {
        anomalies.push(DtlsAnomaly::MalformedCertificate);
        return;
    };
    let mut list = Reader::new(list);
    while !list.is_empty() {
        if peer.certificate_count as usize >= MAX_CERTS_PER_CHAIN {
            anomalies.push(DtlsAnomaly::TooManyCertificates);
            return;
        }
        let Some(der) = list.vec24() else {
            anomalies.push(DtlsAnomaly::MalformedCertificate);
            return;
        };
        peer.certificate_count += 1;
        match certs.parse(der) {
            Some(c) => {
                if peer.certificates.is_empty() {
                    peer.cert_kind = Some(cert_kind(&c));
                }
                peer.certificates.push(c);
            }
            None => anomalies.push(DtlsAnomaly::CertificateNotParsed),
        }
    }
}

/// A DTLS ClientHello as read from its body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DtlsClientHello {
    pub info: ClientHelloInfo,
    /// Length of the HelloVerifyRequest cookie echoed back (0 on the first hello).
    pub cookie_len: u8,
    pub srtp_profiles: Vec<SrtpProfile>,
    /// use_srtp carried a non-empty MKI.
    pub srtp_mki: bool,
    /// A list was longer than its bound and was cut.
    pub truncated: bool,
}

/// Parse a ClientHello body (after the 12-byte DTLS handshake header): RFC 6347 §4.2.1,
/// which adds a cookie after the session ID to the TLS layout.
pub fn parse_client_hello_body(body: &[u8]) -> Option<DtlsClientHello> {
    let mut r = Reader::new(body);
    let mut out = DtlsClientHello::default();
    out.info.legacy_version = r.u16()?;
    r.take(32)?; // random
    let session_id = r.vec8()?;
    if session_id.len() > 32 {
        return None;
    }
    let cookie = r.vec8()?;
    out.cookie_len = cookie.len() as u8;
    let mut ciphers = Reader::new(r.vec16()?);
    while let Some(c) = ciphers.u16() {
        if !is_grease(c) {
            push_bounded(&mut out.info.cipher_suites, c, &mut out.truncated);
        }
    }
    r.vec8()?; // compression methods
    if r.is_empty() {
        return Some(out);
    }
    let exts = r.vec16()?;
    let mut truncated = out.truncated;
    let ok = for_each_extension(exts, &mut truncated, |ty, data, truncated| {
        if !is_grease(ty) {
            push_bounded(&mut out.info.extensions, ty, truncated);
        }
        read_client_extension(TlsExtensionType(ty), data, &mut out, truncated);
    });
    out.truncated = truncated;
    ok.then_some(out)
}

fn read_client_extension(
    ty: TlsExtensionType,
    data: &[u8],
    out: &mut DtlsClientHello,
    truncated: &mut bool,
) {
    let ch = &mut out.info;
    let mut r = Reader::new(data);
    match ty {
        TlsExtensionType::ServerName => {
            let Some(list) = r.vec16() else { return };
            let mut list = Reader::new(list);
            while let (Some(name_type), Some(name)) = (list.u8(), list.vec16()) {
                if name_type == 0 && ch.sni.is_none() {
                    ch.sni = Some(bounded_text(name, MAX_NAME_LEN));
                }
            }
        }
        TlsExtensionType::ApplicationLayerProtocolNegotiation => {
            ch.alpn = read_alpn(data, truncated)
        }
        TlsExtensionType::SupportedGroups => {
            read_u16_list(r.vec16(), &mut ch.supported_groups, truncated)
        }
        TlsExtensionType::SignatureAlgorithms => {
            read_u16_list(r.vec16(), &mut ch.signature_algorithms, truncated)
        }
        TlsExtensionType::EcPointFormats => {
            if let Some(list) = r.vec8() {
                ch.ec_point_formats = list.iter().copied().take(MAX_LIST_ENTRIES).collect();
            }
        }
        TlsExtensionType::SupportedVersions => {
            read_u16_list(r.vec8(), &mut ch.supported_versions, truncated)
        }
        TlsExtensionType::UseSrtp => {
            let (profiles, mki) = read_use_srtp(data, truncated);
            out.srtp_profiles = profiles;
            out.srtp_mki = mki;
        }
        EXT_ECH => ch.ech = true,
        TlsExtensionType::EncryptedServerName => ch.esni = true,
        _ => {}
    }
}

/// RFC 7301 §3.1: ProtocolNameList, 16-bit length, then 8-bit-length names.
fn read_alpn(data: &[u8], truncated: &mut bool) -> Vec<String> {
    let mut out = Vec::new();
    let Some(list) = Reader::new(data).vec16() else {
        return out;
    };
    let mut list = Reader::new(list);
    while let Some(name) = list.vec8() {
        if out.len() >= MAX_ALPN_PROTOCOLS {
            *truncated = true;
            break;
        }
        out.push(bounded_text(name, MAX_NAME_LEN));
    }
    out
}

/// RFC 5764 §4.1.1: UseSRTPData = SRTPProtectionProfiles (16-bit length) + srtp_mki.
fn read_use_srtp(data: &[u8], truncated: &mut bool) -> (Vec<SrtpProfile>, bool) {
    let mut r = Reader::new(data);
    let mut profiles = Vec::new();
    if let Some(list) = r.vec16() {
        let mut list = Reader::new(list);
        while let Some(p) = list.u16() {
            if profiles.len() >= MAX_SRTP_PROFILES {
                *truncated = true;
                break;
            }
            profiles.push(SrtpProfile(p));
        }
    }
    let mki = r.vec8().is_some_and(|m| !m.is_empty());
    (profiles, mki)
}

fn read_u16_list(list: Option<&[u8]>, out: &mut Vec<u16>, truncated: &mut bool) {
    let Some(list) = list else { return };
    let mut r = Reader::new(list);
    while let Some(v) = r.u16() {
        if !is_grease(v) {
            push_bounded(out, v, truncated);
        }
    }
}

/// Walk an extension block (type, 16-bit length, data). False if it is malformed.
fn for_each_extension(
    block: &[u8],
    truncated: &mut bool,
    mut f: impl FnMut(u16, &[u8], &mut bool),
) -> bool {
    let mut r = Reader::new(block);
    let mut n = 0;
    while !r.is_empty() {
        if n >= MAX_EXTENSIONS {
            *truncated = true;
            return true;
        }
        n += 1;
        let (Some(ty), Some(data)) = (r.u16(), r.vec16()) else {
            return false;
        };
        f(ty, data, truncated);
    }
    true
}

/// What a ServerHello chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DtlsServerHello {
    pub version: DtlsVersion,
    /// From supported_versions (DTLS 1.3).
    pub selected_version: Option<DtlsVersion>,
    pub cipher_suite: u16,
    pub srtp_profile: Option<SrtpProfile>,
    pub alpn: Option<String>,
}

/// Parse a ServerHello body (after the 12-byte DTLS handshake header).
pub fn parse_server_hello_body(body: &[u8]) -> Option<DtlsServerHello> {
    let mut r = Reader::new(body);
    let version = DtlsVersion(r.u16()?);
    r.take(32)?; // random
    r.vec8()?; // session_id
    let cipher_suite = r.u16()?;
    r.u8()?; // compression
    let mut sh = DtlsServerHello {
        version,
        selected_version: None,
        cipher_suite,
        srtp_profile: None,
        alpn: None,
    };
    if r.is_empty() {
        return Some(sh);
    }
    let exts = r.vec16()?;
    let mut truncated = false;
    let ok = for_each_extension(
        exts,
        &mut truncated,
        |ty, data, truncated| match TlsExtensionType(ty) {
            TlsExtensionType::SupportedVersions => {
                sh.selected_version = Reader::new(data).u16().map(DtlsVersion);
            }
            TlsExtensionType::UseSrtp => {
                sh.srtp_profile = read_use_srtp(data, truncated).0.first().copied()
            }
            TlsExtensionType::ApplicationLayerProtocolNegotiation => {
                sh.alpn = read_alpn(data, truncated).into_iter().next();
            }
            _ => {}
        },
    );
    ok.then_some(sh)
}

/// Parse a HelloVerifyRequest body (RFC 6347 §4.2.1): server_version and the cookie length.
pub fn parse_hello_verify_request(body: &[u8]) -> Option<(DtlsVersion, usize)> {
    let mut r = Reader::new(body);
    let version = DtlsVersion(r.u16()?);
    let cookie = r.vec8()?;
    Some((version, cookie.len()))
}

/// RFC 8701: GREASE values are 0x?a?a with both bytes equal.
fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

fn push_bounded(out: &mut Vec<u16>, v: u16, truncated: &mut bool) {
    if out.len() < MAX_LIST_ENTRIES {
        out.push(v);
    } else {
        *truncated = true;
    }
}

fn bounded_text(b: &[u8], max: usize) -> String {
    String::from_utf8_lossy(b.get(..max).unwrap_or(b)).into_owned()
}

/// A cursor over big-endian wire fields that never panics.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn rest(&self) -> &'a [u8] {
        self.buf
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let head = self.buf.get(..n)?;
        self.buf = self.buf.get(n..)?;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn u24(&mut self) -> Option<u32> {
        self.take(3)
            .map(|b| u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.take(n as usize)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use Direction::{ToClient, ToServer};
    use proptest::prelude::*;

    const CCS: u8 = 20;
    const HANDSHAKE: u8 = 22;
    const APP_DATA: u8 = 23;

    fn record(ct: u8, epoch: u16, seq: u64, body: &[u8]) -> Vec<u8> {
        let mut v = vec![ct, 0xfe, 0xfd];
        v.extend(epoch.to_be_bytes());
        v.extend(&seq.to_be_bytes()[2..]);
        v.extend((body.len() as u16).to_be_bytes());
        v.extend(body);
        v
    }

    fn u24(n: usize) -> [u8; 3] {
        let b = (n as u32).to_be_bytes();
        [b[1], b[2], b[3]]
    }

    /// One handshake fragment of `msg` covering [off, off+len).
    fn frag(msg_type: u8, seq: u16, msg: &[u8], off: usize, len: usize) -> Vec<u8> {
        let mut v = vec![msg_type];
        v.extend(u24(msg.len()));
        v.extend(seq.to_be_bytes());
        v.extend(u24(off));
        v.extend(u24(len));
        v.extend(&msg[off..off + len]);
        v
    }

    fn whole(msg_type: u8, seq: u16, msg: &[u8]) -> Vec<u8> {
        frag(msg_type, seq, msg, 0, msg.len())
    }

    fn vec8(b: &[u8]) -> Vec<u8> {
        let mut v = vec![b.len() as u8];
        v.extend(b);
        v
    }

    fn vec16(b: &[u8]) -> Vec<u8> {
        let mut v = (b.len() as u16).to_be_bytes().to_vec();
        v.extend(b);
        v
    }

    fn u16s(list: &[u16]) -> Vec<u8> {
        list.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    fn ext(ty: u16, data: &[u8]) -> Vec<u8> {
        let mut v = ty.to_be_bytes().to_vec();
        v.extend(vec16(data));
        v
    }

    fn alpn(names: &[&str]) -> Vec<u8> {
        let list: Vec<u8> = names.iter().flat_map(|n| vec8(n.as_bytes())).collect();
        vec16(&list)
    }

    fn use_srtp(profiles: &[u16]) -> Vec<u8> {
        let mut v = vec16(&u16s(profiles));
        v.push(0); // empty MKI
        v
    }

    /// A Chrome-like DTLS ClientHello body with GREASE, use_srtp and ALPN `webrtc`.
    fn client_hello(cookie: &[u8], versions: &[u16]) -> Vec<u8> {
        let mut v = vec![0xfe, 0xfd];
        v.extend([7u8; 32]);
        v.extend(vec8(&[]));
        v.extend(vec8(cookie));
        v.extend(vec16(&u16s(&[0x3a3a, 0xc02b, 0xc02f, 0xcca9, 0xc00a])));
        v.extend(vec8(&[0]));
        let mut exts = ext(0x3a3a, &[]);
        exts.extend(ext(23, &[]));
        exts.extend(ext(0xff01, &[0]));
        exts.extend(ext(10, &vec16(&u16s(&[0x2a2a, 0x001d, 0x0017, 0x0018]))));
        exts.extend(ext(11, &vec8(&[0])));
        exts.extend(ext(16, &alpn(&["webrtc", "c-webrtc"])));
        exts.extend(ext(13, &vec16(&u16s(&[0x0403, 0x0804, 0x0401]))));
        exts.extend(ext(14, &use_srtp(&[0x0007, 0x0008, 0x0001, 0x0002])));
        if !versions.is_empty() {
            let list = u16s(versions);
            exts.extend(ext(43, &vec8(&list)));
        }
        v.extend(vec16(&exts));
        v
    }

    fn server_hello(version_ext: Option<u16>, profile: u16) -> Vec<u8> {
        let mut v = vec![0xfe, 0xfd];
        v.extend([9u8; 32]);
        v.extend(vec8(&[1; 32]));
        v.extend(0xc02bu16.to_be_bytes());
        v.push(0);
        let mut exts = ext(0xff01, &[0]);
        exts.extend(ext(23, &[]));
        exts.extend(ext(14, &use_srtp(&[profile])));
        exts.extend(ext(16, &alpn(&["webrtc"])));
        if let Some(ver) = version_ext {
            exts.extend(ext(43, &ver.to_be_bytes()));
        }
        v.extend(vec16(&exts));
        v
    }

    /// Certificate body with one fake DER blob (the parser stub, or x509, rejects it).
    fn certificate(der: &[u8]) -> Vec<u8> {
        let mut entry = u24(der.len()).to_vec();
        entry.extend(der);
        let mut v = u24(entry.len()).to_vec();
        v.extend(entry);
        v
    }

    fn ch_datagram() -> Vec<u8> {
        record(
            HANDSHAKE,
            0,
            0,
            &whole(1, 0, &client_hello(&[], &[0xfefc, 0xfefd])),
        )
    }

    fn feed(t: &mut DtlsTracker, info: &mut DtlsInfo, dir: Direction, d: &[u8]) -> Progress {
        t.on_datagram(dir, d, info)
    }

    #[test]
    fn client_hello_with_use_srtp_and_alpn() {
        let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
        assert_eq!(
            feed(&mut t, &mut info, ToServer, &ch_datagram()),
            Progress::NeedMore
        );
        let ch = info.client_hello.as_ref().unwrap();
        assert_eq!(ch.legacy_version, 0xfefd);
        assert_eq!(
            ch.cipher_suites,
            [0xc02b, 0xc02f, 0xcca9, 0xc00a],
            "GREASE removed"
        );
        assert_eq!(ch.extensions, [23, 0xff01, 10, 11, 16, 13, 14, 43]);
        assert_eq!(ch.supported_groups, [0x001d, 0x0017, 0x0018]);
        assert_eq!(ch.signature_algorithms, [0x0403, 0x0804, 0x0401]);
        assert_eq!(ch.ec_point_formats, [0]);
        assert_eq!(ch.supported_versions, [0xfefc, 0xfefd]);
        assert_eq!(ch.alpn, ["webrtc", "c-webrtc"]);
        assert_eq!(ch.sni, None);
        assert_eq!(info.alpn, ["webrtc", "c-webrtc"]);
        assert_eq!(info.version_offered, Some(DtlsVersion::DTLS_1_3));
        let names: Vec<_> = info
            .srtp_profiles_offered
            .iter()
            .map(|p| p.name())
            .collect();
        assert_eq!(
            names,
            [
                "SRTP_AEAD_AES_128_GCM",
                "SRTP_AEAD_AES_256_GCM",
                "SRTP_AES128_CM_SHA1_80",
                "SRTP_AES128_CM_SHA1_32"
            ]
        );
        assert_eq!(info.client_direction, Some(ToServer));
        assert!(info.anomalies.is_empty(), "{:?}", info.anomalies);
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["version_offered"], "dtls1.3");
        assert_eq!(json["srtp_profiles_offered"][2], "SRTP_AES128_CM_SHA1_80");
    }

    #[test]
    fn agrees_with_tls_parser_on_the_client_hello() {
        let d = ch_datagram();
        let (_, records) = tls_parser::parse_dtls_plaintext_records(&d).unwrap();
        let tls_parser::DTLSMessage::Handshake(hs) = &records[0].messages[0] else {
            panic!()
        };
        let tls_parser::DTLSMessageHandshakeBody::ClientHello(ch) = &hs.body else {
            panic!()
        };
        let theirs: Vec<u16> = ch
            .ciphers
            .iter()
            .map(|c| c.0)
            .filter(|&c| !is_grease(c))
            .collect();
        let ours = parse_client_hello_body(&client_hello(&[], &[0xfefc, 0xfefd])).unwrap();
        assert_eq!(ours.info.cipher_suites, theirs);
        assert_eq!(ours.cookie_len as usize, ch.cookie.len());
    }

    #[test]
    fn fragments_out_of_order_across_datagrams() {
        let body = client_hello(&[], &[]);
        let split = 50;
        let first = record(HANDSHAKE, 0, 0, &frag(1, 0, &body, 0, split));
        let second = record(
            HANDSHAKE,
            0,
            1,
            &frag(1, 0, &body, split, body.len() - split),
        );
        let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
        feed(&mut t, &mut info, ToServer, &second);
        assert!(info.client_hello.is_none(), "half a message is not parsed");
        feed(&mut t, &mut info, ToServer, &first);
        let expected = parse_client_hello_body(&body).unwrap().info;
        assert_eq!(info.client_hello.as_ref(), Some(&expected));
        assert_eq!(info.version_offered, Some(DtlsVersion::DTLS_1_2));
        // A retransmission of the whole message changes nothing.
        let before = info.clone();
        feed(
            &mut t,
            &mut info,
            ToServer,
            &record(HANDSHAKE, 0, 2, &whole(1, 0, &body)),
        );
        assert_eq!(info, before);
    }

    #[test]
    fn overlapping_fragments_in_one_datagram() {
        let body = client_hello(&[1, 2, 3], &[]);
        let n = body.len();
        let mut d = record(HANDSHAKE, 0, 0, &frag(1, 1, &body, 30, 40));
        d.extend(record(HANDSHAKE, 0, 1, &frag(1, 1, &body, 0, 35)));
        d.extend(record(HANDSHAKE, 0, 2, &frag(1, 1, &body, 60, n - 60)));
        let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
        feed(&mut t, &mut info, ToServer, &d);
        assert!(info.client_hello.is_some());
        assert!(info.anomalies.is_empty(), "{:?}", info.anomalies);
    }

    #[test]
    fn hello_verify_request_exchange() {
        let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
        feed(&mut t, &mut info, ToServer, &ch_datagram());
        let mut hvr = vec![0xfe, 0xff];
        hvr.extend(vec8(&[0xaa; 20]));
        feed(
            &mut t,
            &mut info,
            ToClient,
            &record(HANDSHAKE, 0, 0, &whole(3, 0, &hvr)),
        );
        let retry = client_hello(&[0xaa; 20], &[0xfefc, 0xfefd]);
        feed(
            &mut t,
            &mut info,
            ToServer,
            &record(HANDSHAKE, 0, 1, &whole(1, 1, &retry)),
        );
        assert!(info.hello_verify_request);
        assert_eq!(info.client_direction, Some(ToServer));
        assert!(info.anomalies.is_empty(), "{:?}", info.anomalies);
        assert_eq!(
            parse_hello_verify_request(&hvr),
            Some((DtlsVersion::DTLS_1_0, 20))
        );
        assert_eq!(parse_client_hello_body(&retry).unwrap().cookie_len, 20);
    }

    /// The DTLS client sends in the ToClient direction (WebRTC: `a=setup` decides, not who
    /// sent the first datagram of the flow).
    #[test]
    fn full_dtls12_handshake_with_reversed_roles() {
        let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
        let ch = record(HANDSHAKE, 0, 0, &whole(1, 0, &client_hello(&[], &[])));
        assert_eq!(feed(&mut t, &mut info, ToClient, &ch), Progress::NeedMore);
        let mut flight = record(HANDSHAKE, 0, 0, &whole(2, 0, &server_hello(None, 0x0001)));
        flight.extend(record(
            HANDSHAKE,
            0,
            1,
            &whole(11, 1, &certificate(b"not a certificate")),
        ));
        flight.extend(record(HANDSHAKE, 0, 2, &whole(14, 2, &[])));
        assert_eq!(
            feed(&mut t, &mut info, ToServer, &flight),
            Progress::NeedMore
        );
        let mut fin_c = record(HANDSHAKE, 0, 1, &whole(16, 1, &[0x20; 33]));
        fin_c.extend(record(CCS, 0, 2, &[1]));
        fin_c.extend(record(HANDSHAKE, 1, 0, &[0x55; 40]));
        assert_eq!(
            feed(&mut t, &mut info, ToClient, &fin_c),
            Progress::NeedMore
        );
        assert!(!info.handshake_complete);
        let mut fin_s = record(CCS, 0, 3, &[1]);
        fin_s.extend(record(HANDSHAKE, 1, 0, &[0x66; 40]));
        assert_eq!(feed(&mut t, &mut info, ToServer, &fin_s), Progress::Done);

        assert!(info.handshake_complete);
        assert_eq!(info.client_direction, Some(ToClient));
        assert_eq!(info.version_negotiated, Some(DtlsVersion::DTLS_1_2));
        assert_eq!(info.cipher_suite, Some(0xc02b));
        assert_eq!(
            info.srtp_profile_selected,
            Some(SrtpProfile::AES128_CM_SHA1_80)
        );
        assert_eq!(info.alpn_selected.as_deref(), Some("webrtc"));
        assert_eq!(info.server.certificate_count, 1);
        assert_eq!(info.client.certificate_count, 0);
        assert!(info.client.change_cipher_spec && info.client.finished);
        assert_eq!(info.anomalies, [DtlsAnomaly::CertificateNotParsed]);
        // Later datagrams only count.
        let app = record(APP_DATA, 1, 1, &[0; 30]);
        assert_eq!(feed(&mut t, &mut info, ToClient, &app), Progress::Done);
        assert!(!info.application_data);
    }

    #[test]
    fn null_srtp_profile_is_flagged() {
        let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
        feed(&mut t, &mut info, ToServer, &ch_datagram());
        let sh = record(HANDSHAKE, 0, 0, &whole(2, 0, &server_hello(None, 0x0005)));
        feed(&mut t, &mut info, ToClient, &sh);
        assert_eq!(
            info.srtp_profile_selected.map(|p| p.name()),
            Some("SRTP_NULL_SHA1_80".into())
        );
        assert!(
            info.anomalies
                .contains(&DtlsAnomaly::NullSrtpCipherSelected)
        );
    }

    #[test]
    fn dtls13_ciphertext_hides_certificates() {
        let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
        feed(&mut t, &mut info, ToServer, &ch_datagram());
        // ServerHello, then the encrypted flight in unified-header records:
        // 0x2e = 001 C=0 S=1 L=1 EE=10 (epoch 2: handshake).
        let mut flight = record(
            HANDSHAKE,
            0,
            0,
            &whole(2, 0, &server_hello(Some(0xfefc), 0x0007)),
        );
        for seq in 0u16..3 {
            flight.push(0x2e);
            flight.extend(seq.to_be_bytes());
            flight.extend(vec16(&[0x77; 50]));
        }
        assert_eq!(
            feed(&mut t, &mut info, ToClient, &flight),
            Progress::NeedMore
        );
        assert!(info.encrypted_handshake);
        assert_eq!(info.version_negotiated, Some(DtlsVersion::DTLS_1_3));
        assert_eq!(
            info.srtp_profile_selected,
            Some(SrtpProfile::AEAD_AES_128_GCM)
        );
        assert!(info.server.finished);
        // Client: 0x26 = S=0, L=1, EE=10 (its Finished), then a record without length
        // 0x23 = S=0, L=0, EE=11 (epoch 3: application data) filling the datagram.
        let mut d = vec![0x26, 0x00];
        d.extend(vec16(&[0x11; 30]));
        d.extend([0x23, 0x01, 0x99, 0x98, 0x97]);
        assert_eq!(feed(&mut t, &mut info, ToServer, &d), Progress::Done);
        assert!(info.application_data && info.handshake_complete);
        assert!(info.anomalies.is_empty(), "{:?}", info.anomalies);
        assert_eq!(info.server.certificate_count, 0);
    }

    #[test]
    fn unified_header_first_datagram_is_dtls() {
        assert!(looks_like_dtls(&[0x27, 0x01, 0x00, 0x02, 0xaa, 0xbb]));
        assert!(
            !looks_like_dtls(&[0x27, 0x01, 0x00, 0x09, 0xaa]),
            "length past the end"
        );
        assert!(looks_like_dtls(&ch_datagram()));
        // With a connection ID (C=1) the length cannot be checked: not enough to claim a flow,
        // but read later in a flow known to be DTLS.
        let cid = [0x3c, 0x01, 0x02, 0x03];
        assert!(!looks_like_dtls(&cid));
        let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
        assert_eq!(
            feed(&mut t, &mut info, ToServer, &ch_datagram()),
            Progress::NeedMore
        );
        assert_eq!(feed(&mut t, &mut info, ToClient, &cid), Progress::NeedMore);
        assert_eq!(info.anomalies, [DtlsAnomaly::ConnectionIdRecord]);
        assert!(info.encrypted_handshake);
    }

    #[test]
    fn text_starting_with_dtls13_bytes_is_not_dtls() {
        // A SIP keep-alive of spaces and an H.248 text message both start in 0x20..=0x3f.
        assert!(!looks_like_dtls(b"     "));
        assert!(!looks_like_dtls(
            b"!/1 <iMSS>\nT=5552827134{C=-{AV=DS/1/5{AT{M}}}}"
        ));
        // A DTLS 1.2 record followed by trailing garbage is not a DTLS datagram either.
        let mut d = ch_datagram();
        d.push(0);
        assert!(!looks_like_dtls(&d));
        // Once a flow negotiated DTLS 1.2, a unified header is not read as DTLS 1.3.
        let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
        feed(&mut t, &mut info, ToServer, &ch_datagram());
        let sh = record(HANDSHAKE, 0, 0, &whole(2, 0, &server_hello(None, 1)));
        feed(&mut t, &mut info, ToClient, &sh);
        feed(&mut t, &mut info, ToClient, &[0x27, 0, 0, 1, 0]);
        assert!(!info.encrypted_handshake);
        assert_eq!(info.anomalies, [DtlsAnomaly::NotDtls]);
    }

    #[test]
    fn not_dtls_first_datagram_is_not_mine() {
        let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
        // TLS (not DTLS) record version 0x0303.
        let tls = [22, 3, 3, 0, 2, 1, 0];
        assert_eq!(feed(&mut t, &mut info, ToServer, &tls), Progress::NotMine);
        assert_eq!(
            feed(&mut t, &mut info, ToServer, &ch_datagram()),
            Progress::NotMine
        );
        assert_eq!(info, DtlsInfo::default());
        let mut t = DtlsTracker::default();
        let mut short = ch_datagram();
        short.truncate(40);
        assert_eq!(
            feed(&mut t, &mut info, ToServer, &short),
            Progress::NotMine,
            "length must fit"
        );
        assert_eq!(
            feed(&mut DtlsTracker::default(), &mut info, ToServer, &[]),
            Progress::NotMine
        );
    }

    #[test]
    fn bounds_and_malformed_fragments_are_recorded() {
        let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
        feed(&mut t, &mut info, ToServer, &ch_datagram());
        // A 1 MiB Certificate claimed by one small fragment.
        let mut big = vec![11];
        big.extend(u24(1 << 20));
        big.extend(1u16.to_be_bytes());
        big.extend(u24(0));
        big.extend(u24(4));
        big.extend([0; 4]);
        feed(&mut t, &mut info, ToClient, &record(HANDSHAKE, 0, 0, &big));
        assert!(
            info.anomalies
                .contains(&DtlsAnomaly::OversizedHandshakeMessage)
        );
        // Fragment beyond the message length.
        let mut bad = vec![11];
        bad.extend(u24(10));
        bad.extend(2u16.to_be_bytes());
        bad.extend(u24(8));
        bad.extend(u24(4));
        bad.extend([0; 4]);
        feed(&mut t, &mut info, ToClient, &record(HANDSHAKE, 0, 1, &bad));
        assert!(info.anomalies.contains(&DtlsAnomaly::FragmentOutOfRange));
        // Too many half messages at once.
        let mut d = Vec::new();
        for seq in 10..10 + MAX_PENDING_MESSAGES as u16 + 2 {
            d.extend(record(
                HANDSHAKE,
                0,
                seq.into(),
                &frag(12, seq, &[0; 100], 0, 10),
            ));
        }
        feed(&mut t, &mut info, ToClient, &d);
        assert!(
            info.anomalies
                .contains(&DtlsAnomaly::TooManyPendingMessages)
        );
        // A record that runs past the datagram.
        let mut cut = record(HANDSHAKE, 0, 9, &[0; 20]);
        cut.truncate(25);
        feed(&mut t, &mut info, ToClient, &cut);
        assert!(info.anomalies.contains(&DtlsAnomaly::TruncatedRecord));
        // Plaintext alerts are kept.
        feed(&mut t, &mut info, ToClient, &record(21, 0, 12, &[2, 40]));
        assert_eq!(
            info.alerts,
            [DtlsAlert {
                from: ToClient,
                level: 2,
                description: 40
            }]
        );
    }

    #[test]
    fn gives_up_after_max_datagrams() {
        let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
        let mut last = Progress::NeedMore;
        for _ in 0..MAX_DATAGRAMS {
            last = feed(&mut t, &mut info, ToServer, &ch_datagram());
        }
        assert_eq!(last, Progress::Done);
    }

    fn cert(cn: &str, issuer: &str, self_signed: bool) -> CertInfo {
        CertInfo {
            subject: format!("CN={cn}"),
            issuer: issuer.into(),
            subject_cn: Some(cn.into()),
            self_signed,
            ..CertInfo::default()
        }
    }

    #[test]
    fn cert_kinds() {
        use DtlsCertKind::*;
        assert_eq!(
            cert_kind(&cert("WebRTC", "CN=WebRTC", true)),
            BrowserSelfSigned
        );
        let firefox = "0f5b2c9e3a7d41e8b6c4d2a1f9e8d7c6";
        assert_eq!(
            cert_kind(&cert(firefox, &format!("CN={firefox}"), true)),
            BrowserSelfSigned
        );
        assert_eq!(
            cert_kind(&cert("WebRTC", "CN=Some CA", false)),
            CaSigned,
            "a CA-issued WebRTC CN is no browser"
        );
        assert_eq!(
            cert_kind(&cert("hangouts", "CN=hangouts", true)),
            KnownServer("hangouts")
        );
        let zoom = cert(
            "*.cloud.zoom.us",
            "CN=DigiCert TLS RSA SHA256 2020 CA1",
            false,
        );
        assert_eq!(cert_kind(&zoom), KnownServer("cloud.zoom.us"));
        let mut ms = cert("mediasoup", "CN=mediasoup", true);
        ms.subject_org = Some("mediasoup".into());
        assert_eq!(cert_kind(&ms), KnownServer("mediasoup"));
        let jvb = "TODO-APP-NAME TODO-APP-VERSION";
        assert_eq!(
            cert_kind(&cert(jvb, &format!("CN={jvb}"), true)),
            KnownServer("jitsi")
        );
        let mut discord = cert("media.example", "CN=R3", false);
        discord.sans = vec!["*.discord.gg".into()];
        assert_eq!(cert_kind(&discord), KnownServer("discord"));
        assert_eq!(
            cert_kind(&cert("notdiscord.gg", "CN=R3", false)),
            CaSigned,
            "suffix must be a label"
        );
        assert_eq!(
            cert_kind(&cert("asterisk", "CN=asterisk", true)),
            OtherSelfSigned
        );
        assert_eq!(
            cert_kind(&cert("turn.example.org", "CN=R3", false)),
            CaSigned
        );
        let json = serde_json::to_string(&KnownServer("hangouts")).unwrap();
        assert_eq!(json, r#"{"known_server":"hangouts"}"#);
    }

    /// UDP payloads from a classic pcap made by `scripts/record-dtls-fixture.sh`
    /// (Ethernet/IPv4/UDP on loopback). Server port 40443.
    fn fixture_datagrams() -> Vec<(Direction, Vec<u8>)> {
        let pcap = include_bytes!("testdata/dtls_openssl_srtp.pcap");
        assert_eq!(
            &pcap[..4],
            &[0xd4, 0xc3, 0xb2, 0xa1],
            "little-endian microsecond pcap"
        );
        let mut out = Vec::new();
        let mut pos = 24;
        while pos + 16 <= pcap.len() {
            let incl = u32::from_le_bytes(pcap[pos + 8..pos + 12].try_into().unwrap()) as usize;
            let frame = &pcap[pos + 16..pos + 16 + incl];
            pos += 16 + incl;
            let ip = &frame[14..];
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let udp = &ip[ihl..];
            let src_port = u16::from_be_bytes([udp[0], udp[1]]);
            let dir = if src_port == 40443 {
                ToClient
            } else {
                ToServer
            };
            out.push((dir, udp[8..].to_vec()));
        }
        out
    }

    fn run_fixture() -> (DtlsInfo, Progress) {
        let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
        let mut last = Progress::NeedMore;
        for (dir, d) in fixture_datagrams() {
            last = t.on_datagram(dir, &d, &mut info);
        }
        (info, last)
    }

    #[test]
    fn openssl_dtls12_fixture() {
        let (info, last) = run_fixture();
        assert_eq!(last, Progress::Done);
        assert!(info.handshake_complete);
        assert!(info.hello_verify_request);
        assert_eq!(info.client_direction, Some(ToServer));
        let ch = info.client_hello.as_ref().unwrap();
        assert_eq!(ch.sni.as_deref(), Some("media.example"));
        assert_eq!(info.alpn, ["webrtc", "c-webrtc"]);
        assert_eq!(info.alpn_selected.as_deref(), Some("webrtc"));
        assert_eq!(
            info.srtp_profiles_offered,
            [
                SrtpProfile::AES128_CM_SHA1_80,
                SrtpProfile::AEAD_AES_128_GCM
            ]
        );
        assert_eq!(
            info.srtp_profile_selected,
            Some(SrtpProfile::AEAD_AES_128_GCM)
        );
        assert_eq!(info.version_negotiated, Some(DtlsVersion::DTLS_1_2));
        assert_eq!(
            info.server.certificate_count, 1,
            "the certificate came in 3 fragments"
        );
        assert_eq!(info.client.certificate_count, 0);
        let unexpected: Vec<_> = info
            .anomalies
            .iter()
            .filter(|a| **a != DtlsAnomaly::CertificateNotParsed)
            .collect();
        assert!(unexpected.is_empty(), "{unexpected:?}");
    }

    #[test]
    fn openssl_fixture_server_cert_is_browser_style() {
        let (info, _) = run_fixture();
        let leaf = &info.server.certificates[0];
        assert_eq!(leaf.subject_cn.as_deref(), Some("WebRTC"));
        assert_eq!(info.server.cert_kind, Some(DtlsCertKind::BrowserSelfSigned));
        assert!(info.anomalies.is_empty(), "{:?}", info.anomalies);
    }

    proptest! {
        #[test]
        fn on_datagram_never_panics(
            dgrams in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..400)), 0..12),
            valid_first: bool,
        ) {
            let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
            if valid_first {
                t.on_datagram(ToServer, &ch_datagram(), &mut info);
            }
            for (to_server, d) in dgrams {
                let dir = if to_server { ToServer } else { ToClient };
                t.on_datagram(dir, &d, &mut info);
            }
            prop_assert!(info.alerts.len() <= MAX_ALERTS);
        }

        #[test]
        fn record_shaped_garbage_never_panics(
            parts in proptest::collection::vec((20u8..26, any::<u16>(), proptest::collection::vec(any::<u8>(), 0..200)), 1..6),
        ) {
            let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
            let mut d = Vec::new();
            for (ct, epoch, body) in &parts {
                d.extend(record(*ct, *epoch % 3, 0, body));
            }
            t.on_datagram(ToServer, &d, &mut info);
            t.on_datagram(ToClient, &d, &mut info);
        }

        #[test]
        fn body_parsers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_client_hello_body(&b);
            let _ = parse_server_hello_body(&b);
            let _ = parse_hello_verify_request(&b);
            let _ = looks_like_dtls(&b);
        }

        /// Any cut into fragments, delivered in any order with duplicates, reassembles to
        /// the same ClientHello.
        #[test]
        fn fragmentation_is_transparent(
            cuts in proptest::collection::btree_set(1usize..140, 0..6),
            order in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            let body = client_hello(&[5; 8], &[0xfefd]);
            let mut bounds: Vec<usize> = cuts.into_iter().filter(|&c| c < body.len()).collect();
            bounds.insert(0, 0);
            bounds.push(body.len());
            let frags: Vec<_> = bounds.windows(2).map(|w| frag(1, 0, &body, w[0], w[1] - w[0])).collect();
            let mut seq: Vec<usize> = (0..frags.len()).collect();
            for (i, o) in order.iter().enumerate() {
                let (a, b) = (i % seq.len(), o % seq.len());
                seq.swap(a, b);
            }
            seq.extend(order.iter().take(2).map(|o| o % frags.len())); // duplicates
            let (mut t, mut info) = (DtlsTracker::default(), DtlsInfo::default());
            for (n, i) in seq.iter().enumerate() {
                t.on_datagram(ToServer, &record(HANDSHAKE, 0, n as u64, &frags[*i]), &mut info);
            }
            let expected = parse_client_hello_body(&body).unwrap().info;
            prop_assert_eq!(info.client_hello, Some(expected));
            prop_assert!(info.anomalies.is_empty());
        }
    }
}
