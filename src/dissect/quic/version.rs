//! QUIC version numbers and what each one implies for the Initial packets: salt, HKDF labels,
//! long-header packet-type bits and which handshake (TLS or Google's QUIC Crypto) it carries.
//!
//! References:
//! - RFC 9000 §15 (versions), RFC 9001 §5.2 (v1 initial salt), RFC 9369 §3 (v2 salt, labels,
//!   packet types): <https://www.rfc-editor.org/rfc/rfc9001#section-5.2>,
//!   <https://www.rfc-editor.org/rfc/rfc9369#section-3>
//! - draft-ietf-quic-tls-22/-23/-29 §5.2 (draft salts; drafts 23–28 share the draft-23 salt,
//!   drafts 29–32 the draft-29 salt)
//! - Google QUIC Q050/T050/T051 salts: Wireshark `epan/dissectors/packet-quic.c`

use serde::{Serialize, Serializer};
use std::fmt;

/// A QUIC version as carried on the wire. A newtype, not an enum: unknown versions survive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QuicVersion(pub u32);

/// Which TLS label prefix a version uses for its packet-protection keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyLabels {
    /// "quic key", "quic iv", "quic hp" (RFC 9001 §5.1, drafts, gQUIC Q050/T05x).
    V1,
    /// "quicv2 key", "quicv2 iv", "quicv2 hp" (RFC 9369 §3.3.2).
    V2,
}

impl KeyLabels {
    pub fn key(self) -> &'static [u8] {
        match self {
            KeyLabels::V1 => b"quic key",
            KeyLabels::V2 => b"quicv2 key",
        }
    }
    pub fn iv(self) -> &'static [u8] {
        match self {
            KeyLabels::V1 => b"quic iv",
            KeyLabels::V2 => b"quicv2 iv",
        }
    }
    pub fn hp(self) -> &'static [u8] {
        match self {
            KeyLabels::V1 => b"quic hp",
            KeyLabels::V2 => b"quicv2 hp",
        }
    }
}

/// The handshake protocol inside the CRYPTO stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handshake {
    /// A TLS 1.3 ClientHello (IETF QUIC and Google's T05x).
    Tls,
    /// Google's QUIC Crypto: a `CHLO` tag/value message (Q0xx).
    QuicCrypto,
}

/// The long-header packet types (RFC 9000 §17.2, RFC 9369 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongPacketType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
const SALT_DRAFT_22: [u8; 20] = [
    0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a, 0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd,
    0x7a, 0x02, 0x64, 0x4a,
];
const SALT_DRAFT_23: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65,
    0xbe, 0xf9, 0xf5, 0x02,
];
const SALT_DRAFT_29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];
const SALT_Q050: [u8; 20] = [
    0x50, 0x45, 0x74, 0xef, 0xd0, 0x66, 0xfe, 0x2f, 0x9d, 0x94, 0x5c, 0xfc, 0xdb, 0xd3, 0xa7, 0xf0,
    0xd3, 0xb5, 0x6b, 0x45,
];
const SALT_T050: [u8; 20] = [
    0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72, 0x91, 0x55, 0x80, 0x30, 0x4c, 0x43, 0xa2, 0x36, 0x7c,
    0x60, 0x48, 0x83, 0x10,
];
const SALT_T051: [u8; 20] = [
    0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50, 0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc,
    0xda, 0x6e, 0x03, 0x3d,
];

impl QuicVersion {
    /// Version Negotiation packets carry version 0 (RFC 9000 §17.2.1).
    pub const NEGOTIATION: QuicVersion = QuicVersion(0);
    pub const V1: QuicVersion = QuicVersion(0x0000_0001);
    pub const V2: QuicVersion = QuicVersion(0x6b33_43cf);
    pub const DRAFT_29: QuicVersion = QuicVersion(0xff00_001d);
    /// Facebook's mvfst builds of draft-22, draft-27 and an experimental one.
    pub const MVFST_22: QuicVersion = QuicVersion(0xface_b001);
    pub const MVFST_27: QuicVersion = QuicVersion(0xface_b002);
    pub const MVFST_EXP: QuicVersion = QuicVersion(0xface_b00e);
    /// Google QUIC, ASCII `Q039`, `Q043`, `Q046`, `Q050`, `T050`, `T051`.
    pub const Q039: QuicVersion = QuicVersion(u32::from_be_bytes(*b"Q039"));
    pub const Q043: QuicVersion = QuicVersion(u32::from_be_bytes(*b"Q043"));
    pub const Q046: QuicVersion = QuicVersion(u32::from_be_bytes(*b"Q046"));
    pub const Q050: QuicVersion = QuicVersion(u32::from_be_bytes(*b"Q050"));
    pub const T050: QuicVersion = QuicVersion(u32::from_be_bytes(*b"T050"));
    pub const T051: QuicVersion = QuicVersion(u32::from_be_bytes(*b"T051"));

    /// The IETF draft number of `0xff0000NN` versions.
    pub fn draft(self) -> Option<u8> {
        (self.0 >> 8 == 0x00ff_0000).then_some(self.0 as u8)
    }

    /// The two-digit number of a Google QUIC version (`Q046` → 46), with its letter.
    pub fn google(self) -> Option<(char, u8)> {
        let [letter, a, b, c] = self.0.to_be_bytes();
        if !matches!(letter, b'Q' | b'T') || !a.is_ascii_digit() {
            return None;
        }
        if !b.is_ascii_digit() || !c.is_ascii_digit() {
            return None;
        }
        Some((
            letter as char,
            (a - b'0') * 100 + (b - b'0') * 10 + (c - b'0'),
        ))
    }

    /// Reserved `0x?a?a?a?a` versions that force version negotiation (RFC 9000 §15).
    pub fn is_reserved(self) -> bool {
        self.0 & 0x0f0f_0f0f == 0x0a0a_0a0a
    }

    /// Google QUIC that still uses the pre-IETF public header (Q046 and older).
    pub fn is_gquic_public_header(self) -> bool {
        matches!(self.google(), Some(('Q', n)) if n <= 46)
    }

    /// Versions whose Initial packets follow the IETF long header with Token and Length
    /// fields, so this module can walk and decrypt them.
    pub fn has_ietf_initial(self) -> bool {
        self.initial_salt().is_some()
    }

    /// The salt that turns the client's Destination Connection ID into the initial secret.
    pub fn initial_salt(self) -> Option<&'static [u8; 20]> {
        match self {
            QuicVersion::V1 => Some(&SALT_V1),
            QuicVersion::V2 => Some(&SALT_V2),
            QuicVersion::Q050 => Some(&SALT_Q050),
            QuicVersion::T050 => Some(&SALT_T050),
            QuicVersion::T051 => Some(&SALT_T051),
            QuicVersion::MVFST_22 => Some(&SALT_DRAFT_22),
            QuicVersion::MVFST_27 | QuicVersion::MVFST_EXP => Some(&SALT_DRAFT_23),
            v => match v.draft()? {
                22 => Some(&SALT_DRAFT_22),
                23..=28 => Some(&SALT_DRAFT_23),
                29..=32 => Some(&SALT_DRAFT_29),
                // draft-33 and -34 already used the v1 salt.
                33..=34 => Some(&SALT_V1),
                _ => None,
            },
        }
    }

    pub fn key_labels(self) -> KeyLabels {
        if self == QuicVersion::V2 {
            KeyLabels::V2
        } else {
            KeyLabels::V1
        }
    }

    pub fn handshake(self) -> Handshake {
        match self.google() {
            Some(('Q', _)) => Handshake::QuicCrypto,
            _ => Handshake::Tls,
        }
    }

    /// The packet type of the two type bits (`(first_byte >> 4) & 3`); v2 rotates them.
    pub fn long_packet_type(self, bits: u8) -> LongPacketType {
        let bits = if self == QuicVersion::V2 {
            // RFC 9369 §3.2: Initial 0b01, 0-RTT 0b10, Handshake 0b11, Retry 0b00.
            bits.wrapping_add(3) & 3
        } else {
            bits & 3
        };
        match bits {
            0 => LongPacketType::Initial,
            1 => LongPacketType::ZeroRtt,
            2 => LongPacketType::Handshake,
            _ => LongPacketType::Retry,
        }
    }

    /// Versions this module recognises at all (IETF, mvfst, Google QUIC).
    pub fn is_known(self) -> bool {
        self.has_ietf_initial() || self.google().is_some()
    }

    /// A readable name: `v1`, `v2`, `draft-29`, `Q046`, `mvfst-27`, else `0x…` hex.
    pub fn name(self) -> String {
        match self {
            QuicVersion::V1 => "v1".into(),
            QuicVersion::V2 => "v2".into(),
            QuicVersion::MVFST_22 => "mvfst-22".into(),
            QuicVersion::MVFST_27 => "mvfst-27".into(),
            QuicVersion::MVFST_EXP => "mvfst-exp".into(),
            v => match (v.draft(), v.google()) {
                (Some(d), _) => format!("draft-{d}"),
                (_, Some((letter, n))) => format!("{letter}{n:03}"),
                _ => format!("0x{:08x}", v.0),
            },
        }
    }
}

impl fmt::Display for QuicVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for QuicVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_readable_and_unknown_versions_survive() {
        assert_eq!(QuicVersion::V1.name(), "v1");
        assert_eq!(QuicVersion::V2.name(), "v2");
        assert_eq!(QuicVersion::DRAFT_29.name(), "draft-29");
        assert_eq!(QuicVersion::Q046.name(), "Q046");
        assert_eq!(QuicVersion::T051.name(), "T051");
        assert_eq!(QuicVersion(0x1a2a_3a4a).name(), "0x1a2a3a4a");
        assert!(QuicVersion(0x1a2a_3a4a).is_reserved());
        assert_eq!(
            serde_json::to_string(&QuicVersion::V2).ok().as_deref(),
            Some("\"v2\"")
        );
    }

    #[test]
    fn drafts_pick_their_salt_family() {
        assert_eq!(
            QuicVersion(0xff00_001b).initial_salt(),
            Some(&SALT_DRAFT_23)
        );
        assert_eq!(
            QuicVersion(0xff00_001c).initial_salt(),
            Some(&SALT_DRAFT_23)
        );
        assert_eq!(
            QuicVersion(0xff00_0020).initial_salt(),
            Some(&SALT_DRAFT_29)
        );
        assert_eq!(QuicVersion::DRAFT_29.initial_salt(), Some(&SALT_DRAFT_29));
        assert_eq!(QuicVersion(0xff00_0010).initial_salt(), None);
        assert_eq!(QuicVersion::Q046.initial_salt(), None);
        assert!(QuicVersion::Q046.is_gquic_public_header());
        assert!(!QuicVersion::Q050.is_gquic_public_header());
        assert_eq!(QuicVersion::Q050.handshake(), Handshake::QuicCrypto);
        assert_eq!(QuicVersion::T050.handshake(), Handshake::Tls);
    }

    #[test]
    fn v2_rotates_packet_types() {
        assert_eq!(QuicVersion::V1.long_packet_type(0), LongPacketType::Initial);
        assert_eq!(QuicVersion::V1.long_packet_type(3), LongPacketType::Retry);
        assert_eq!(QuicVersion::V2.long_packet_type(1), LongPacketType::Initial);
        assert_eq!(QuicVersion::V2.long_packet_type(2), LongPacketType::ZeroRtt);
        assert_eq!(
            QuicVersion::V2.long_packet_type(3),
            LongPacketType::Handshake
        );
        assert_eq!(QuicVersion::V2.long_packet_type(0), LongPacketType::Retry);
    }
}
