//! STUN and TURN messages: RFC 8489 (magic cookie) and classic RFC 3489, with the ICE,
//! TURN and vendor attributes that tell who talks to whom.
//!
//! References:
//! - RFC 8489 (STUN) <https://www.rfc-editor.org/rfc/rfc8489>, RFC 5389 (its predecessor)
//! - RFC 3489 §11 (classic STUN, no magic cookie) <https://www.rfc-editor.org/rfc/rfc3489#section-11>
//! - RFC 8656 (TURN) §18 attributes <https://www.rfc-editor.org/rfc/rfc8656#section-18>
//! - RFC 8445 §16.1 (ICE attributes) <https://www.rfc-editor.org/rfc/rfc8445#section-16.1>
//! - RFC 5769 (test vectors) <https://www.rfc-editor.org/rfc/rfc5769>
//! - IANA STUN parameters <https://www.iana.org/assignments/stun-parameters/>
//! - Vendor attributes: [MS-TURN], [MS-ICE2]; nDPI `src/lib/protocols/stun.c` (Zoom, WhatsApp,
//!   Google, Microsoft); Wireshark `packet-stun.c` names.
//!
//! The parser borrows the packet and allocates nothing: it walks at most
//! [`MAX_ATTRIBUTES`] attributes, keeps the first value of each interesting one, remembers up
//! to [`MAX_RECORDED_NONSTANDARD`] non-standard attribute types, and flags anomalies.

use serde::{Serialize, Serializer};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use thiserror::Error;

/// RFC 8489 §5: the fixed magic cookie.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// RFC 8489 §5: header length.
pub const HEADER_LEN: usize = 20;
/// Walk at most this many attributes (a UDP STUN message under the 576-byte path MTU of
/// RFC 8489 §6.1 holds far fewer; anything beyond is flagged as an anomaly).
pub const MAX_ATTRIBUTES: usize = 128;
/// Non-standard (vendor) attribute types remembered per message.
pub const MAX_RECORDED_NONSTANDARD: usize = 8;
/// RFC 8489 §14.3 caps USERNAME at 513 bytes; REALM and SOFTWARE at 763 (§14.9, §14.14).
pub const MAX_USERNAME_LEN: usize = 513;
/// RFC 8489 §14.7: FINGERPRINT = CRC-32 XOR this.
const FINGERPRINT_XOR: u32 = 0x5354_554E;
/// RFC 3489 §11.1: the classic transaction id is 16 bytes (it includes the cookie position).
const CLASSIC_TXID_LEN: usize = 16;

/// A 14-bit STUN message type (RFC 8489 §5). Unknown values survive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageType(pub u16);

impl MessageType {
    pub const BINDING_REQUEST: MessageType = MessageType(0x0001);
    pub const BINDING_INDICATION: MessageType = MessageType(0x0011);
    pub const BINDING_SUCCESS: MessageType = MessageType(0x0101);
    pub const BINDING_ERROR: MessageType = MessageType(0x0111);
    pub const ALLOCATE_REQUEST: MessageType = MessageType(0x0003);
    pub const ALLOCATE_SUCCESS: MessageType = MessageType(0x0103);
    pub const ALLOCATE_ERROR: MessageType = MessageType(0x0113);
    pub const SEND_INDICATION: MessageType = MessageType(0x0016);
    pub const DATA_INDICATION: MessageType = MessageType(0x0017);
    /// WhatsApp's own message types 0x0800–0x0805 (nDPI `stun.c`).
    pub const WHATSAPP_FIRST: MessageType = MessageType(0x0800);
    pub const WHATSAPP_LAST: MessageType = MessageType(0x0805);

    /// RFC 8489 §5: M11..M0 interleaved with C1, C0.
    pub fn method(self) -> Method {
        let t = self.0;
        Method((t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2))
    }

    pub fn class(self) -> Class {
        match ((self.0 & 0x0010) >> 4) | ((self.0 & 0x0100) >> 7) {
            0 => Class::Request,
            1 => Class::Indication,
            2 => Class::Success,
            _ => Class::Error,
        }
    }

    pub fn is_whatsapp(self) -> bool {
        (Self::WHATSAPP_FIRST.0..=Self::WHATSAPP_LAST.0).contains(&self.0)
    }

    /// Message types a classic (RFC 3489, pre-RFC 5766 TURN) peer sends; the list Wireshark
    /// and nDPI use to accept cookie-less messages.
    fn is_classic(self) -> bool {
        matches!(
            self.0,
            0x0001 | 0x0101 | 0x0111 // binding
                | 0x0002 | 0x0102 | 0x0112 // shared secret
                | 0x0003 | 0x0103 | 0x0113 // allocate (old TURN)
                | 0x0004 | 0x0104 | 0x0114 // send (old TURN)
                | 0x0115 // data indication (old TURN)
                | 0x0006 | 0x0106 | 0x0116 // set active destination (old TURN)
        )
    }
}

impl Serialize for MessageType {
    /// `binding_request`, `allocate_error`… for known methods, else `0x0800`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.method().name() {
            Some(m) if !self.is_whatsapp() => {
                s.collect_str(&format_args!("{m}_{}", self.class().name()))
            }
            _ => s.collect_str(&format_args!("0x{:04x}", self.0)),
        }
    }
}

/// A 12-bit STUN method. Unknown values survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Method(pub u16);

impl Method {
    pub const BINDING: Method = Method(0x001);
    /// RFC 3489 only.
    pub const SHARED_SECRET: Method = Method(0x002);
    pub const ALLOCATE: Method = Method(0x003);
    pub const REFRESH: Method = Method(0x004);
    /// Pre-RFC 5766 TURN data indication (type 0x0115; [MS-TURN] still sends it).
    pub const DATA_INDICATION_OLD: Method = Method(0x005);
    pub const SEND: Method = Method(0x006);
    pub const DATA: Method = Method(0x007);
    pub const CREATE_PERMISSION: Method = Method(0x008);
    pub const CHANNEL_BIND: Method = Method(0x009);
    /// RFC 6062 (TURN over TCP).
    pub const CONNECT: Method = Method(0x00A);
    pub const CONNECTION_BIND: Method = Method(0x00B);
    pub const CONNECTION_ATTEMPT: Method = Method(0x00C);

    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Method::BINDING => "binding",
            Method::SHARED_SECRET => "shared_secret",
            Method::ALLOCATE => "allocate",
            Method::REFRESH => "refresh",
            Method::DATA_INDICATION_OLD => "data_old",
            Method::SEND => "send",
            Method::DATA => "data",
            Method::CREATE_PERMISSION => "create_permission",
            Method::CHANNEL_BIND => "channel_bind",
            Method::CONNECT => "connect",
            Method::CONNECTION_BIND => "connection_bind",
            Method::CONNECTION_ATTEMPT => "connection_attempt",
            _ => return None,
        })
    }

    /// Methods that only a TURN client/server uses (RFC 8656, RFC 6062).
    pub fn is_turn(self) -> bool {
        (Method::ALLOCATE.0..=Method::CONNECTION_ATTEMPT.0).contains(&self.0)
            && self != Method(0x005)
    }
}

/// RFC 8489 §5 message class (two bits: all four values are defined).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Request,
    Indication,
    Success,
    Error,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Request => "request",
            Class::Indication => "indication",
            Class::Success => "success",
            Class::Error => "error",
        }
    }
}

/// A STUN attribute type. Unknown values survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttrType(pub u16);

impl AttrType {
    pub const MAPPED_ADDRESS: AttrType = AttrType(0x0001);
    pub const RESPONSE_ADDRESS: AttrType = AttrType(0x0002);
    pub const CHANGE_REQUEST: AttrType = AttrType(0x0003);
    pub const SOURCE_ADDRESS: AttrType = AttrType(0x0004);
    pub const CHANGED_ADDRESS: AttrType = AttrType(0x0005);
    pub const USERNAME: AttrType = AttrType(0x0006);
    pub const PASSWORD: AttrType = AttrType(0x0007);
    pub const MESSAGE_INTEGRITY: AttrType = AttrType(0x0008);
    pub const ERROR_CODE: AttrType = AttrType(0x0009);
    pub const UNKNOWN_ATTRIBUTES: AttrType = AttrType(0x000A);
    pub const REFLECTED_FROM: AttrType = AttrType(0x000B);
    pub const CHANNEL_NUMBER: AttrType = AttrType(0x000C);
    pub const LIFETIME: AttrType = AttrType(0x000D);
    /// [MS-TURN] MS-MAGIC-COOKIE.
    pub const MS_MAGIC_COOKIE: AttrType = AttrType(0x000F);
    /// Old TURN BANDWIDTH; [MS-TURN] reuses it.
    pub const BANDWIDTH: AttrType = AttrType(0x0010);
    pub const XOR_PEER_ADDRESS: AttrType = AttrType(0x0012);
    pub const DATA: AttrType = AttrType(0x0013);
    pub const REALM: AttrType = AttrType(0x0014);
    pub const NONCE: AttrType = AttrType(0x0015);
    pub const XOR_RELAYED_ADDRESS: AttrType = AttrType(0x0016);
    pub const REQUESTED_ADDRESS_FAMILY: AttrType = AttrType(0x0017);
    pub const EVEN_PORT: AttrType = AttrType(0x0018);
    pub const REQUESTED_TRANSPORT: AttrType = AttrType(0x0019);
    pub const DONT_FRAGMENT: AttrType = AttrType(0x001A);
    pub const MESSAGE_INTEGRITY_SHA256: AttrType = AttrType(0x001C);
    pub const PASSWORD_ALGORITHM: AttrType = AttrType(0x001D);
    pub const USERHASH: AttrType = AttrType(0x001E);
    pub const XOR_MAPPED_ADDRESS: AttrType = AttrType(0x0020);
    pub const RESERVATION_TOKEN: AttrType = AttrType(0x0022);
    pub const PRIORITY: AttrType = AttrType(0x0024);
    pub const USE_CANDIDATE: AttrType = AttrType(0x0025);
    pub const PADDING: AttrType = AttrType(0x0026);
    pub const RESPONSE_PORT: AttrType = AttrType(0x0027);
    pub const CONNECTION_ID: AttrType = AttrType(0x002A);
    /// Zoom (nDPI `stun.c`): seen in Zoom's classic binding requests.
    pub const ZOOM_0101: AttrType = AttrType(0x0101);
    /// Zoom (nDPI `stun.c`): an address in Zoom's classic responses.
    pub const ZOOM_0103: AttrType = AttrType(0x0103);
    /// WhatsApp attributes 0x4000–0x4007 (nDPI `stun.c`).
    pub const WHATSAPP_FIRST: AttrType = AttrType(0x4000);
    pub const WHATSAPP_LAST: AttrType = AttrType(0x4007);
    pub const ADDITIONAL_ADDRESS_FAMILY: AttrType = AttrType(0x8000);
    pub const ADDRESS_ERROR_CODE: AttrType = AttrType(0x8001);
    pub const PASSWORD_ALGORITHMS: AttrType = AttrType(0x8002);
    pub const ALTERNATE_DOMAIN: AttrType = AttrType(0x8003);
    pub const ICMP: AttrType = AttrType(0x8004);
    /// [MS-TURN] MS-VERSION.
    pub const MS_VERSION: AttrType = AttrType(0x8008);
    pub const SOFTWARE: AttrType = AttrType(0x8022);
    pub const ALTERNATE_SERVER: AttrType = AttrType(0x8023);
    pub const TRANSACTION_TRANSMIT_COUNTER: AttrType = AttrType(0x8025);
    pub const CACHE_TIMEOUT: AttrType = AttrType(0x8027);
    pub const FINGERPRINT: AttrType = AttrType(0x8028);
    pub const ICE_CONTROLLED: AttrType = AttrType(0x8029);
    pub const ICE_CONTROLLING: AttrType = AttrType(0x802A);
    pub const RESPONSE_ORIGIN: AttrType = AttrType(0x802B);
    pub const OTHER_ADDRESS: AttrType = AttrType(0x802C);
    pub const ECN_CHECK: AttrType = AttrType(0x802D);
    pub const THIRD_PARTY_AUTHORIZATION: AttrType = AttrType(0x802E);
    pub const MOBILITY_TICKET: AttrType = AttrType(0x8030);
    /// [MS-TURN] MS-ALTERNATE-MAPPED-ADDRESS.
    pub const MS_ALT_MAPPED_ADDRESS: AttrType = AttrType(0x8037);
    /// [MS-TURN] MS-SEQUENCE-NUMBER.
    pub const MS_SEQUENCE_NUMBER: AttrType = AttrType(0x8050);
    /// [MS-ICE2] CANDIDATE-IDENTIFIER.
    pub const MS_CANDIDATE_IDENTIFIER: AttrType = AttrType(0x8054);
    /// [MS-TURNBWM] MS-SERVICE-QUALITY.
    pub const MS_SERVICE_QUALITY: AttrType = AttrType(0x8055);
    /// [MS-ICE2] MS-IMPLEMENTATION-VERSION.
    pub const MS_IMPLEMENTATION_VERSION: AttrType = AttrType(0x8070);
    /// [MS-TURN] MS-MULTIPLEXED-TURN-SESSION-ID.
    pub const MS_MULTIPLEXED_SESSION_ID: AttrType = AttrType(0x8095);
    /// libwebrtc GOOG-NETWORK-INFO.
    pub const GOOG_NETWORK_INFO: AttrType = AttrType(0xC057);
    pub const GOOG_LAST_ICE_CHECK_RECEIVED: AttrType = AttrType(0xC058);
    pub const GOOG_MISC_INFO: AttrType = AttrType(0xC059);
    /// Google Meet (nDPI `stun.c`).
    pub const GOOG_FF03: AttrType = AttrType(0xFF03);

    /// The lowercase name for known attributes.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            AttrType::MAPPED_ADDRESS => "mapped-address",
            AttrType::RESPONSE_ADDRESS => "response-address",
            AttrType::CHANGE_REQUEST => "change-request",
            AttrType::SOURCE_ADDRESS => "source-address",
            AttrType::CHANGED_ADDRESS => "changed-address",
            AttrType::USERNAME => "username",
            AttrType::PASSWORD => "password",
            AttrType::MESSAGE_INTEGRITY => "message-integrity",
            AttrType::ERROR_CODE => "error-code",
            AttrType::UNKNOWN_ATTRIBUTES => "unknown-attributes",
            AttrType::REFLECTED_FROM => "reflected-from",
            AttrType::CHANNEL_NUMBER => "channel-number",
            AttrType::LIFETIME => "lifetime",
            AttrType::MS_MAGIC_COOKIE => "ms-magic-cookie",
            AttrType::BANDWIDTH => "bandwidth",
            AttrType::XOR_PEER_ADDRESS => "xor-peer-address",
            AttrType::DATA => "data",
            AttrType::REALM => "realm",
            AttrType::NONCE => "nonce",
            AttrType::XOR_RELAYED_ADDRESS => "xor-relayed-address",
            AttrType::REQUESTED_ADDRESS_FAMILY => "requested-address-family",
            AttrType::EVEN_PORT => "even-port",
            AttrType::REQUESTED_TRANSPORT => "requested-transport",
            AttrType::DONT_FRAGMENT => "dont-fragment",
            AttrType::MESSAGE_INTEGRITY_SHA256 => "message-integrity-sha256",
            AttrType::PASSWORD_ALGORITHM => "password-algorithm",
            AttrType::USERHASH => "userhash",
            AttrType::XOR_MAPPED_ADDRESS => "xor-mapped-address",
            AttrType::RESERVATION_TOKEN => "reservation-token",
            AttrType::PRIORITY => "priority",
            AttrType::USE_CANDIDATE => "use-candidate",
            AttrType::PADDING => "padding",
            AttrType::RESPONSE_PORT => "response-port",
            AttrType::CONNECTION_ID => "connection-id",
            AttrType::ZOOM_0101 => "zoom-0101",
            AttrType::ZOOM_0103 => "zoom-0103",
            AttrType(0x4000..=0x4007) => "whatsapp",
            AttrType::ADDITIONAL_ADDRESS_FAMILY => "additional-address-family",
            AttrType::ADDRESS_ERROR_CODE => "address-error-code",
            AttrType::PASSWORD_ALGORITHMS => "password-algorithms",
            AttrType::ALTERNATE_DOMAIN => "alternate-domain",
            AttrType::ICMP => "icmp",
            AttrType::MS_VERSION => "ms-version",
            AttrType::SOFTWARE => "software",
            AttrType::ALTERNATE_SERVER => "alternate-server",
            AttrType::TRANSACTION_TRANSMIT_COUNTER => "transaction-transmit-counter",
            AttrType::CACHE_TIMEOUT => "cache-timeout",
            AttrType::FINGERPRINT => "fingerprint",
            AttrType::ICE_CONTROLLED => "ice-controlled",
            AttrType::ICE_CONTROLLING => "ice-controlling",
            AttrType::RESPONSE_ORIGIN => "response-origin",
            AttrType::OTHER_ADDRESS => "other-address",
            AttrType::ECN_CHECK => "ecn-check",
            AttrType::THIRD_PARTY_AUTHORIZATION => "third-party-authorization",
            AttrType::MOBILITY_TICKET => "mobility-ticket",
            AttrType::MS_ALT_MAPPED_ADDRESS => "ms-alt-mapped-address",
            AttrType::MS_SEQUENCE_NUMBER => "ms-sequence-number",
            AttrType::MS_CANDIDATE_IDENTIFIER => "ms-candidate-identifier",
            AttrType::MS_SERVICE_QUALITY => "ms-service-quality",
            AttrType::MS_IMPLEMENTATION_VERSION => "ms-implementation-version",
            AttrType::MS_MULTIPLEXED_SESSION_ID => "ms-multiplexed-turn-session-id",
            AttrType::GOOG_NETWORK_INFO => "goog-network-info",
            AttrType::GOOG_LAST_ICE_CHECK_RECEIVED => "goog-last-ice-check-received",
            AttrType::GOOG_MISC_INFO => "goog-misc-info",
            AttrType::GOOG_FF03 => "goog-ff03",
            _ => return None,
        })
    }

    /// Whose attribute this is, for the vendor-specific ones this crate knows.
    pub fn vendor(self) -> Option<&'static str> {
        Some(match self.0 {
            0x000F | 0x8008 | 0x8037 | 0x8050 | 0x8054 | 0x8055 | 0x8070 | 0x8095 | 0x8036
            | 0x8006 | 0x24DF | 0x3802 => "microsoft",
            0xC057..=0xC05F | 0xFF03 => "google",
            0x0101 | 0x0103 => "zoom",
            0x4000..=0x4007 => "whatsapp",
            _ => return None,
        })
    }

    /// Attributes from the IETF specs (RFC 3489/5389/8489/8656/8445/5780/6062…).
    pub fn is_standard(self) -> bool {
        matches!(self.0, 0x0001..=0x000D | 0x0012..=0x001E | 0x0020 | 0x0022 | 0x0024..=0x0027 | 0x002A)
            || matches!(self.0, 0x8000..=0x8004 | 0x8022..=0x802E | 0x8030)
    }

    pub fn is_whatsapp(self) -> bool {
        (Self::WHATSAPP_FIRST.0..=Self::WHATSAPP_LAST.0).contains(&self.0)
    }
}

impl Serialize for AttrType {
    /// Hex with the name when known, e.g. `0xc057 goog-network-info`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.name() {
            Some(n) => s.collect_str(&format_args!("0x{:04x} {n}", self.0)),
            None => s.collect_str(&format_args!("0x{:04x}", self.0)),
        }
    }
}

/// Oddities seen while walking a message; none of them stops the parse.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Anomalies(pub u16);

impl Anomalies {
    pub const TRUNCATED_ATTRIBUTE: Anomalies = Anomalies(1 << 0);
    pub const TOO_MANY_ATTRIBUTES: Anomalies = Anomalies(1 << 1);
    pub const BAD_ADDRESS: Anomalies = Anomalies(1 << 2);
    pub const ATTRIBUTE_AFTER_FINGERPRINT: Anomalies = Anomalies(1 << 3);
    pub const BAD_FINGERPRINT: Anomalies = Anomalies(1 << 4);
    /// Bytes after the declared message length (a second message over TCP, or junk).
    pub const TRAILING_BYTES: Anomalies = Anomalies(1 << 5);
    /// RFC 8489 §5: the length must be a multiple of 4.
    pub const UNALIGNED_LENGTH: Anomalies = Anomalies(1 << 6);
    pub const BAD_ATTRIBUTE_LENGTH: Anomalies = Anomalies(1 << 7);

    const NAMES: [(Anomalies, &'static str); 8] = [
        (Self::TRUNCATED_ATTRIBUTE, "truncated_attribute"),
        (Self::TOO_MANY_ATTRIBUTES, "too_many_attributes"),
        (Self::BAD_ADDRESS, "bad_address"),
        (
            Self::ATTRIBUTE_AFTER_FINGERPRINT,
            "attribute_after_fingerprint",
        ),
        (Self::BAD_FINGERPRINT, "bad_fingerprint"),
        (Self::TRAILING_BYTES, "trailing_bytes"),
        (Self::UNALIGNED_LENGTH, "unaligned_length"),
        (Self::BAD_ATTRIBUTE_LENGTH, "bad_attribute_length"),
    ];

    pub fn contains(self, other: Anomalies) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn insert(&mut self, other: Anomalies) {
        self.0 |= other.0;
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(a, _)| self.contains(*a))
            .map(|(_, n)| n)
    }
}

impl Serialize for Anomalies {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

/// Why bytes are not a STUN message.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum StunError {
    #[error("stun header: need {needed} bytes at offset 0, have {actual}")]
    Truncated { needed: usize, actual: usize },
    #[error("stun header: message type 0x{0:04x} at offset 0 has a top bit set")]
    NotStun(u16),
    #[error("stun header: length {declared} at offset 2 needs {needed} bytes, have {actual}")]
    LengthOverrun {
        declared: u16,
        needed: usize,
        actual: usize,
    },
    #[error("stun header: no magic cookie and 0x{0:04x} is not a classic RFC 3489 message type")]
    NotClassic(u16),
}

/// One attribute: type and value (padding excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attribute<'a> {
    pub typ: AttrType,
    pub value: &'a [u8],
}

/// A parsed STUN message: header, and the first value of each attribute this crate uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StunMessage<'a> {
    pub msg_type: MessageType,
    /// Declared attribute length (header field).
    pub length: u16,
    /// RFC 5389/8489 magic cookie present; `false` = classic RFC 3489.
    pub has_cookie: bool,
    /// 12 bytes after the cookie (RFC 8489), or the 16-byte classic id (RFC 3489).
    pub transaction_id: &'a [u8],
    /// Attributes walked (at most [`MAX_ATTRIBUTES`]).
    pub attribute_count: u16,
    pub mapped_address: Option<SocketAddr>,
    pub xor_mapped_address: Option<SocketAddr>,
    pub xor_relayed_address: Option<SocketAddr>,
    pub xor_peer_address: Option<SocketAddr>,
    /// XOR-PEER-ADDRESS can repeat in CreatePermission (RFC 8656 §9).
    pub xor_peer_count: u16,
    /// Zoom 0x0103: a plain address (nDPI `stun.c`; observed in classic Zoom responses).
    pub zoom_address: Option<SocketAddr>,
    pub username: Option<&'a [u8]>,
    pub realm: Option<&'a [u8]>,
    pub software: Option<&'a [u8]>,
    pub nonce: bool,
    pub priority: Option<u32>,
    pub ice_controlling: Option<u64>,
    pub ice_controlled: Option<u64>,
    pub use_candidate: bool,
    pub lifetime: Option<u32>,
    pub channel_number: Option<u16>,
    /// TURN DATA attribute: the relayed payload of a Send/Data indication.
    pub data: Option<&'a [u8]>,
    /// ERROR-CODE as class·100 + number (RFC 8489 §14.8).
    pub error_code: Option<u16>,
    pub message_integrity: bool,
    /// FINGERPRINT present and whether its CRC-32 matches (RFC 8489 §14.7).
    pub fingerprint: Option<bool>,
    /// Non-standard attribute types, first [`MAX_RECORDED_NONSTANDARD`] distinct ones.
    pub nonstandard: NonStandard,
    pub anomalies: Anomalies,
}

/// A small fixed set of attribute types (no allocation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NonStandard {
    types: [u16; MAX_RECORDED_NONSTANDARD],
    len: u8,
}

impl NonStandard {
    fn insert(&mut self, t: AttrType) {
        let len = usize::from(self.len);
        if self.types[..len].contains(&t.0) || len >= MAX_RECORDED_NONSTANDARD {
            return;
        }
        self.types[len] = t.0;
        self.len += 1;
    }
    pub fn iter(&self) -> impl Iterator<Item = AttrType> + '_ {
        self.types[..usize::from(self.len)]
            .iter()
            .map(|&t| AttrType(t))
    }
}

impl<'a> StunMessage<'a> {
    pub fn method(&self) -> Method {
        self.msg_type.method()
    }
    pub fn class(&self) -> Class {
        self.msg_type.class()
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(be32(b, at)?) << 32 | u64::from(be32(b, at + 4)?))
}

fn pad4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

/// Iterator over the attributes of a message body, at most [`MAX_ATTRIBUTES`].
#[derive(Clone, Debug)]
pub struct Attributes<'a> {
    body: &'a [u8],
    pos: usize,
    walked: usize,
    /// Set when the walk stopped early.
    pub anomalies: Anomalies,
}

impl<'a> Attributes<'a> {
    pub fn new(body: &'a [u8]) -> Self {
        Attributes {
            body,
            pos: 0,
            walked: 0,
            anomalies: Anomalies::default(),
        }
    }
    /// Offset of the next attribute within the body.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;
    fn next(&mut self) -> Option<Attribute<'a>> {
        if self.pos >= self.body.len() {
            return None;
        }
        if self.walked >= MAX_ATTRIBUTES {
            self.anomalies.insert(Anomalies::TOO_MANY_ATTRIBUTES);
            return None;
        }
        let (Some(typ), Some(len)) = (be16(self.body, self.pos), be16(self.body, self.pos + 2))
        else {
            self.anomalies.insert(Anomalies::TRUNCATED_ATTRIBUTE);
            self.pos = self.body.len();
            return None;
        };
        let start = self.pos + 4;
        let Some(value) = self.body.get(start..start + usize::from(len)) else {
            self.anomalies.insert(Anomalies::TRUNCATED_ATTRIBUTE);
            self.pos = self.body.len();
            return None;
        };
        self.pos = start + pad4(usize::from(len));
        self.walked += 1;
        Some(Attribute {
            typ: AttrType(typ),
            value,
        })
    }
}

/// Cheap check used by the demultiplexer: a full-length RFC 8489 header with the magic
/// cookie, or a classic RFC 3489 message whose type is on the classic list and whose
/// attributes tile the body exactly. The datagram must be exactly one message.
pub fn looks_like_stun(buf: &[u8]) -> bool {
    let (Some(t), Some(len), Some(cookie)) = (be16(buf, 0), be16(buf, 2), be32(buf, 4)) else {
        return false;
    };
    if t & 0xC000 != 0 || t == 0 || usize::from(len) + HEADER_LEN != buf.len() {
        return false;
    }
    if cookie == MAGIC_COOKIE {
        return len % 4 == 0;
    }
    MessageType(t).is_classic() && attributes_tile(buf.get(HEADER_LEN..).unwrap_or_default())
}

fn attributes_tile(body: &[u8]) -> bool {
    let mut it = Attributes::new(body);
    for _ in it.by_ref() {}
    it.anomalies.is_empty() && it.position() == body.len()
}

/// Parse one STUN message at the start of `buf`. Bytes after the declared length are
/// allowed (TCP) and flagged as [`Anomalies::TRAILING_BYTES`].
pub fn parse(buf: &[u8]) -> Result<StunMessage<'_>, StunError> {
    let (Some(t), Some(length), Some(cookie)) = (be16(buf, 0), be16(buf, 2), be32(buf, 4)) else {
        return Err(StunError::Truncated {
            needed: HEADER_LEN,
            actual: buf.len(),
        });
    };
    if buf.len() < HEADER_LEN {
        return Err(StunError::Truncated {
            needed: HEADER_LEN,
            actual: buf.len(),
        });
    }
    if t & 0xC000 != 0 {
        return Err(StunError::NotStun(t));
    }
    let end = HEADER_LEN + usize::from(length);
    let Some(body) = buf.get(HEADER_LEN..end) else {
        return Err(StunError::LengthOverrun {
            declared: length,
            needed: end,
            actual: buf.len(),
        });
    };
    let has_cookie = cookie == MAGIC_COOKIE;
    let msg_type = MessageType(t);
    if !has_cookie && !msg_type.is_classic() {
        return Err(StunError::NotClassic(t));
    }
    let transaction_id = if has_cookie {
        &buf[8..HEADER_LEN]
    } else {
        &buf[4..4 + CLASSIC_TXID_LEN]
    };
    let mut m = StunMessage {
        msg_type,
        length,
        has_cookie,
        transaction_id,
        ..StunMessage::default()
    };
    if buf.len() > end {
        m.anomalies.insert(Anomalies::TRAILING_BYTES);
    }
    if length % 4 != 0 {
        m.anomalies.insert(Anomalies::UNALIGNED_LENGTH);
    }
    let mut attrs = Attributes::new(body);
    let mut seen_fingerprint = false;
    while let Some(a) = attrs.next() {
        m.attribute_count = m.attribute_count.saturating_add(1);
        if seen_fingerprint {
            m.anomalies.insert(Anomalies::ATTRIBUTE_AFTER_FINGERPRINT);
        }
        if a.typ == AttrType::FINGERPRINT {
            seen_fingerprint = true;
            // The attribute starts 4 bytes before its value; CRC covers everything before it.
            let at = HEADER_LEN + attrs.position() - pad4(a.value.len()) - 4;
            m.fingerprint = Some(fingerprint_ok(buf.get(..at).unwrap_or_default(), a.value));
            if m.fingerprint == Some(false) {
                m.anomalies.insert(Anomalies::BAD_FINGERPRINT);
            }
        }
        m.apply(a);
    }
    m.anomalies.insert(attrs.anomalies);
    Ok(m)
}

impl<'a> StunMessage<'a> {
    fn apply(&mut self, a: Attribute<'a>) {
        let v = a.value;
        let bad = |m: &mut Self| m.anomalies.insert(Anomalies::BAD_ATTRIBUTE_LENGTH);
        match a.typ {
            AttrType::MAPPED_ADDRESS => set_addr(
                &mut self.mapped_address,
                plain_address(v),
                &mut self.anomalies,
            ),
            AttrType::ZOOM_0103 => set_addr(
                &mut self.zoom_address,
                plain_address(v),
                &mut self.anomalies,
            ),
            AttrType::XOR_MAPPED_ADDRESS => {
                let x = xor_address(v, self.transaction_id);
                set_addr(&mut self.xor_mapped_address, x, &mut self.anomalies)
            }
            AttrType::XOR_RELAYED_ADDRESS => {
                let x = xor_address(v, self.transaction_id);
                set_addr(&mut self.xor_relayed_address, x, &mut self.anomalies)
            }
            AttrType::XOR_PEER_ADDRESS => {
                self.xor_peer_count = self.xor_peer_count.saturating_add(1);
                let x = xor_address(v, self.transaction_id);
                set_addr(&mut self.xor_peer_address, x, &mut self.anomalies)
            }
            AttrType::USERNAME => {
                self.username
                    .get_or_insert(v.get(..MAX_USERNAME_LEN).unwrap_or(v));
            }
            AttrType::REALM => {
                self.realm
                    .get_or_insert(v.get(..MAX_USERNAME_LEN).unwrap_or(v));
            }
            AttrType::SOFTWARE => {
                self.software
                    .get_or_insert(v.get(..MAX_USERNAME_LEN).unwrap_or(v));
            }
            AttrType::NONCE => self.nonce = true,
            AttrType::PRIORITY => match (v.len(), be32(v, 0)) {
                (4, Some(p)) => self.priority = self.priority.or(Some(p)),
                _ => bad(self),
            },
            AttrType::ICE_CONTROLLING => match (v.len(), be64(v, 0)) {
                (8, Some(x)) => self.ice_controlling = self.ice_controlling.or(Some(x)),
                _ => bad(self),
            },
            AttrType::ICE_CONTROLLED => match (v.len(), be64(v, 0)) {
                (8, Some(x)) => self.ice_controlled = self.ice_controlled.or(Some(x)),
                _ => bad(self),
            },
            AttrType::USE_CANDIDATE => self.use_candidate = true,
            AttrType::LIFETIME => match (v.len(), be32(v, 0)) {
                (4, Some(x)) => self.lifetime = self.lifetime.or(Some(x)),
                _ => bad(self),
            },
            AttrType::CHANNEL_NUMBER => match (v.len(), be16(v, 0)) {
                (4, Some(x)) => self.channel_number = self.channel_number.or(Some(x)),
                _ => bad(self),
            },
            AttrType::DATA => {
                self.data.get_or_insert(v);
            }
            AttrType::ERROR_CODE => match (v.get(2), v.get(3)) {
                (Some(&class), Some(&number)) if v.len() >= 4 => {
                    let code = u16::from(class & 0x07) * 100 + u16::from(number);
                    self.error_code = self.error_code.or(Some(code));
                }
                _ => bad(self),
            },
            AttrType::MESSAGE_INTEGRITY | AttrType::MESSAGE_INTEGRITY_SHA256 => {
                self.message_integrity = true
            }
            t if !t.is_standard() => self.nonstandard.insert(t),
            _ => {}
        }
    }

    /// Non-standard attribute types this message carried.
    pub fn nonstandard_types(&self) -> impl Iterator<Item = AttrType> + '_ {
        self.nonstandard.iter()
    }
}

fn set_addr(slot: &mut Option<SocketAddr>, value: Option<SocketAddr>, anomalies: &mut Anomalies) {
    match value {
        Some(a) => {
            slot.get_or_insert(a);
        }
        None => anomalies.insert(Anomalies::BAD_ADDRESS),
    }
}

/// RFC 8489 §14.1 MAPPED-ADDRESS value: 0, family (1 = IPv4, 2 = IPv6), port, address.
pub fn plain_address(v: &[u8]) -> Option<SocketAddr> {
    let port = be16(v, 2)?;
    let ip = match (v.get(1)?, v.len()) {
        (1, 8) => IpAddr::V4(Ipv4Addr::from(be32(v, 4)?)),
        (2, 20) => {
            let b: [u8; 16] = v.get(4..20)?.try_into().ok()?;
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// RFC 8489 §14.2 XOR-MAPPED-ADDRESS (and XOR-PEER/RELAYED-ADDRESS, RFC 8656 §18): port XOR
/// the top 16 bits of the cookie; IPv4 XOR the cookie; IPv6 XOR cookie ‖ transaction id.
/// `transaction_id` must be the 12-byte RFC 8489 id.
pub fn xor_address(v: &[u8], transaction_id: &[u8]) -> Option<SocketAddr> {
    let port = be16(v, 2)? ^ (MAGIC_COOKIE >> 16) as u16;
    let ip = match (v.get(1)?, v.len()) {
        (1, 8) => IpAddr::V4(Ipv4Addr::from(be32(v, 4)? ^ MAGIC_COOKIE)),
        (2, 20) => {
            let tid: &[u8; 12] = transaction_id.try_into().ok()?;
            let mut key = [0u8; 16];
            key[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
            key[4..].copy_from_slice(tid);
            let mut b: [u8; 16] = v.get(4..20)?.try_into().ok()?;
            for (x, k) in b.iter_mut().zip(key) {
                *x ^= k;
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// CRC-32 (IEEE 802.3, reflected) as RFC 8489 §14.7 uses it. Bitwise: messages are small.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn fingerprint_ok(covered: &[u8], value: &[u8]) -> bool {
    be32(value, 0).is_some_and(|fp| value.len() == 4 && crc32(covered) ^ FINGERPRINT_XOR == fp)
}

/// The operator a TURN REALM names, by the substrings nDPI `stun.c` matches.
pub fn realm_operator(realm: &str) -> Option<&'static str> {
    let r = realm.to_ascii_lowercase();
    [
        ("google.com", "google"),
        ("whispersystems.org", "signal"),
        ("signal.org", "signal"),
        ("facebook", "facebook"),
        ("telegram", "telegram"),
        ("viber", "viber"),
    ]
    .into_iter()
    .find(|(needle, _)| r.contains(needle))
    .map(|(_, op)| op)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 5769 §2.1 sample request.
    const RFC5769_REQUEST: &str = "
        00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
        00 24 00 04 6e 00 01 ff
        80 29 00 08 93 2f f9 b1 51 26 3b 36
        00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
        00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
        80 28 00 04 e5 7a 3b cf";

    /// RFC 5769 §2.2 sample IPv4 response.
    const RFC5769_RESPONSE_V4: &str = "
        01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 08 00 01 a1 47 e1 12 a6 43
        00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
        80 28 00 04 c0 7d 4c 96";

    /// RFC 5769 §2.3 sample IPv6 response.
    const RFC5769_RESPONSE_V6: &str = "
        01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
        00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
        80 28 00 04 c8 fb 0b 4c";

    /// RFC 5769 §2.4 sample request with long-term authentication.
    const RFC5769_LONG_TERM: &str = "
        00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
        00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
        00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
        00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
        00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66";

    #[test]
    fn rfc5769_request() {
        let b = hex(RFC5769_REQUEST);
        assert!(looks_like_stun(&b));
        let m = parse(&b).unwrap();
        assert_eq!(m.msg_type, MessageType::BINDING_REQUEST);
        assert_eq!((m.method(), m.class()), (Method::BINDING, Class::Request));
        assert!(m.has_cookie);
        assert_eq!(m.transaction_id, &b[8..20]);
        assert_eq!(m.software, Some(&b"STUN test client"[..]));
        assert_eq!(m.username, Some(&b"evtj:h6vY"[..]));
        assert_eq!(m.priority, Some(0x6e0001ff));
        assert_eq!(m.ice_controlled, Some(0x932ff9b151263b36));
        assert_eq!(m.ice_controlling, None);
        assert!(m.message_integrity);
        assert_eq!(m.fingerprint, Some(true));
        assert_eq!(m.attribute_count, 6);
        assert!(m.anomalies.is_empty(), "{:?}", m.anomalies);
    }

    #[test]
    fn rfc5769_xor_mapped_v4_and_v6() {
        let m4 = hex(RFC5769_RESPONSE_V4);
        let m = parse(&m4).unwrap();
        assert_eq!(m.msg_type, MessageType::BINDING_SUCCESS);
        assert_eq!(
            m.xor_mapped_address,
            Some("192.0.2.1:32853".parse().unwrap())
        );
        assert_eq!(m.fingerprint, Some(true));
        let m6 = hex(RFC5769_RESPONSE_V6);
        let m = parse(&m6).unwrap();
        assert_eq!(
            m.xor_mapped_address,
            Some(
                "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
                    .parse()
                    .unwrap()
            )
        );
        assert_eq!(m.fingerprint, Some(true));
        assert_eq!(m.software, Some(&b"test vector"[..]));
    }

    #[test]
    fn rfc5769_long_term_auth() {
        let b = hex(RFC5769_LONG_TERM);
        let m = parse(&b).unwrap();
        assert_eq!(
            m.username
                .map(|u| String::from_utf8_lossy(u).into_owned())
                .as_deref(),
            Some("マトリックス")
        );
        assert_eq!(m.realm, Some(&b"example.org"[..]));
        assert!(m.nonce && m.message_integrity);
        assert_eq!(m.fingerprint, None);
    }

    #[test]
    fn corrupted_fingerprint_is_flagged() {
        let mut b = hex(RFC5769_RESPONSE_V4);
        let n = b.len();
        b[n - 1] ^= 1;
        let m = parse(&b).unwrap();
        assert_eq!(m.fingerprint, Some(false));
        assert!(m.anomalies.contains(Anomalies::BAD_FINGERPRINT));
    }

    #[test]
    fn message_type_bits() {
        let t = MessageType(0x0113);
        assert_eq!((t.method(), t.class()), (Method::ALLOCATE, Class::Error));
        assert_eq!(MessageType(0x0017).class(), Class::Indication);
        assert_eq!(MessageType(0x0017).method(), Method::DATA);
        assert_eq!(MessageType(0x0109).method(), Method::CHANNEL_BIND);
        assert!(Method::CHANNEL_BIND.is_turn() && !Method::BINDING.is_turn());
        assert_eq!(
            serde_json::to_string(&MessageType(0x0101)).unwrap(),
            "\"binding_success\""
        );
        assert_eq!(
            serde_json::to_string(&MessageType(0x0800)).unwrap(),
            "\"0x0800\""
        );
        assert_eq!(
            serde_json::to_string(&AttrType(0xC057)).unwrap(),
            "\"0xc057 goog-network-info\""
        );
    }

    /// A TURN Allocate success response built per RFC 8656 §7.3 with XOR-RELAYED-ADDRESS,
    /// XOR-MAPPED-ADDRESS, LIFETIME and a Microsoft vendor attribute.
    #[test]
    fn turn_allocate_success() {
        let tid = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        let relayed: SocketAddr = "203.0.113.5:49152".parse().unwrap();
        let mut body = Vec::new();
        body.extend_from_slice(&[0x00, 0x16, 0x00, 0x08]);
        body.extend_from_slice(&xor_v4(relayed));
        body.extend_from_slice(&[0x00, 0x0d, 0x00, 0x04, 0, 0, 0x02, 0x58]);
        body.extend_from_slice(&[0x80, 0x70, 0x00, 0x04, 0, 0, 0, 2]);
        let b = build(0x0103, &tid, &body);
        let m = parse(&b).unwrap();
        assert_eq!(m.method(), Method::ALLOCATE);
        assert_eq!(m.class(), Class::Success);
        assert_eq!(m.xor_relayed_address, Some(relayed));
        assert_eq!(m.lifetime, Some(600));
        assert_eq!(
            m.nonstandard_types().collect::<Vec<_>>(),
            vec![AttrType::MS_IMPLEMENTATION_VERSION]
        );
        assert_eq!(
            AttrType::MS_IMPLEMENTATION_VERSION.vendor(),
            Some("microsoft")
        );
    }

    fn xor_v4(a: SocketAddr) -> [u8; 8] {
        let SocketAddr::V4(a) = a else { panic!() };
        let p = (a.port() ^ 0x2112).to_be_bytes();
        let ip = (u32::from(*a.ip()) ^ MAGIC_COOKIE).to_be_bytes();
        [0, 1, p[0], p[1], ip[0], ip[1], ip[2], ip[3]]
    }

    fn build(t: u16, tid: &[u8; 12], body: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&t.to_be_bytes());
        b.extend_from_slice(&(body.len() as u16).to_be_bytes());
        b.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        b.extend_from_slice(tid);
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn classic_zoom_style_binding() {
        // RFC 3489 header (16-byte transaction id, no cookie) with Zoom's 0x0101 attribute,
        // and a classic response carrying Zoom's 0x0103 plain address.
        let mut req = vec![0x00, 0x01, 0x00, 0x08];
        req.extend_from_slice(&[0x55; 16]);
        req.extend_from_slice(&[0x01, 0x01, 0x00, 0x04, b'a', b'b', b'c', b'd']);
        assert!(looks_like_stun(&req));
        let m = parse(&req).unwrap();
        assert!(!m.has_cookie);
        assert_eq!(m.transaction_id.len(), 16);
        assert_eq!(m.nonstandard_types().next(), Some(AttrType::ZOOM_0101));
        let mut resp = vec![0x00, 0x02, 0x00, 0x0c];
        resp.extend_from_slice(&[0x55; 16]);
        resp.extend_from_slice(&[
            0x01, 0x03, 0x00, 0x08, 0x00, 0x01, 0x1f, 0x90, 198, 51, 100, 7,
        ]);
        let m = parse(&resp).unwrap();
        assert_eq!(m.zoom_address, Some("198.51.100.7:8080".parse().unwrap()));
        // Attributes that do not tile the body: not classic STUN.
        let mut bad = req.clone();
        bad[23] = 0x05;
        assert!(!looks_like_stun(&bad));
        // Not on the classic list and no cookie.
        let mut other = req.clone();
        other[1] = 0x09;
        assert_eq!(parse(&other), Err(StunError::NotClassic(0x0009)));
    }

    #[test]
    fn errors_say_where() {
        assert!(matches!(
            parse(&[0, 1, 0]),
            Err(StunError::Truncated {
                needed: 20,
                actual: 3
            })
        ));
        let mut b = hex(RFC5769_REQUEST);
        b.truncate(40);
        assert!(matches!(
            parse(&b),
            Err(StunError::LengthOverrun { declared: 0x58, .. })
        ));
        b[0] = 0x40;
        assert_eq!(parse(&b), Err(StunError::NotStun(0x4001)));
        let e = parse(&[0, 1, 0]).unwrap_err().to_string();
        assert!(e.contains("offset 0"), "{e}");
    }

    #[test]
    fn ten_thousand_attributes_are_bounded() {
        // 10 000 SOFTWARE attributes cannot fit the 16-bit length, so use 16 383 empty
        // attributes (the most a message can hold) plus a body sized to the maximum.
        let n = 10_000usize;
        let mut body = Vec::with_capacity(n * 4);
        for _ in 0..n {
            body.extend_from_slice(&[0xC0, 0x57, 0x00, 0x00]);
        }
        let b = build(0x0001, &[0; 12], &body);
        let m = parse(&b).unwrap();
        assert_eq!(usize::from(m.attribute_count), MAX_ATTRIBUTES);
        assert!(m.anomalies.contains(Anomalies::TOO_MANY_ATTRIBUTES));
        assert_eq!(m.nonstandard_types().count(), 1);
    }

    #[test]
    fn realms() {
        assert_eq!(realm_operator("turn.l.google.com"), Some("google"));
        assert_eq!(realm_operator("Signal.org"), Some("signal"));
        assert_eq!(realm_operator("example.org"), None);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = looks_like_stun(&data);
            let _ = parse(&data);
            let _ = Attributes::new(&data).count();
            let _ = plain_address(&data);
            let _ = xor_address(&data, &[0; 12]);
        }

        #[test]
        fn valid_header_with_random_body_parses(t in 0u16..0x3fff, body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let b = build(t, &[7; 12], &body);
            let m = parse(&b).unwrap();
            prop_assert_eq!(m.msg_type.0, t);
            prop_assert!(usize::from(m.attribute_count) <= MAX_ATTRIBUTES);
        }

        #[test]
        fn xor_address_roundtrip(ip in any::<u32>(), port in any::<u16>()) {
            let a = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port);
            prop_assert_eq!(xor_address(&xor_v4(a), &[0; 12]), Some(a));
        }
    }
}
