//! QUIC long headers (RFC 9000 §17.2): version, connection IDs, and for Initial packets the
//! Token and Length fields that tell where the packet number starts and the packet ends, so
//! coalesced packets in one datagram (RFC 9000 §12.2) can be walked.
//!
//! References:
//! - <https://www.rfc-editor.org/rfc/rfc9000#section-17.2>
//! - <https://www.rfc-editor.org/rfc/rfc8999#section-5.1> (version-independent invariants)
//! - <https://www.rfc-editor.org/rfc/rfc9369#section-3.2> (v2 packet types)

use super::varint::Reader;
use super::version::{LongPacketType, QuicVersion};
use thiserror::Error;

/// Header Form bit: 1 = long header (RFC 9000 §17.2).
pub const HEADER_FORM_LONG: u8 = 0x80;
/// Fixed Bit, 1 in every v1/v2 packet unless greased (RFC 9000 §17.2, RFC 9287).
pub const FIXED_BIT: u8 = 0x40;
/// Connection IDs of v1 and v2 are at most 20 bytes (RFC 9000 §17.2).
pub const MAX_CID_LEN: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeaderError {
    #[error("quic header: not a long header (first byte {0:#04x})")]
    NotLong(u8),
    #[error("quic header: {field} truncated at offset {offset}")]
    Truncated { field: &'static str, offset: usize },
    #[error(
        "quic header: {field} connection ID of {len} bytes at offset {offset} exceeds {MAX_CID_LEN}"
    )]
    CidTooLong {
        field: &'static str,
        offset: usize,
        len: usize,
    },
    #[error("quic header: length {length} at offset {offset} exceeds the {available} bytes left")]
    LengthBeyondDatagram {
        offset: usize,
        length: usize,
        available: usize,
    },
}

/// What a long header says, borrowed from the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongHeader<'a> {
    /// The first byte as sent (its low bits are still header-protected).
    pub first_byte: u8,
    pub version: QuicVersion,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    /// The packet type, when the version is one whose type bits are known.
    pub packet_type: Option<LongPacketType>,
    /// The Initial token (empty for other types).
    pub token: &'a [u8],
    /// Where the (protected) packet number starts, from the packet's first byte. Zero when
    /// the packet has no packet number (Retry, Version Negotiation, unknown versions).
    pub pn_offset: usize,
    /// Bytes of this packet within the datagram; the next coalesced packet starts here.
    pub packet_len: usize,
}

fn cid<'a>(r: &mut Reader<'a>, field: &'static str) -> Result<&'a [u8], HeaderError> {
    let offset = r.pos();
    let len = usize::from(r.u8().ok_or(HeaderError::Truncated { field, offset })?);
    if len > MAX_CID_LEN {
        return Err(HeaderError::CidTooLong { field, offset, len });
    }
    r.bytes(len).ok_or(HeaderError::Truncated { field, offset })
}

/// Parse the long header at the start of `buf` (one packet, possibly followed by others).
pub fn parse_long_header(buf: &[u8]) -> Result<LongHeader<'_>, HeaderError> {
    let mut r = Reader::new(buf);
    let first_byte = r.u8().ok_or(HeaderError::Truncated {
        field: "first byte",
        offset: 0,
    })?;
    if first_byte & HEADER_FORM_LONG == 0 {
        return Err(HeaderError::NotLong(first_byte));
    }
    let version = QuicVersion(r.u32_be().ok_or(HeaderError::Truncated {
        field: "version",
        offset: 1,
    })?);
    let dcid = cid(&mut r, "destination")?;
    let scid = cid(&mut r, "source")?;
    let mut header = LongHeader {
        first_byte,
        version,
        dcid,
        scid,
        packet_type: None,
        token: &[],
        pn_offset: 0,
        packet_len: buf.len(),
    };
    // Version Negotiation lists versions to the end; unknown versions cannot be walked.
    if version == QuicVersion::NEGOTIATION || !version.has_ietf_initial() {
        return Ok(header);
    }
    let packet_type = version.long_packet_type(first_byte >> 4);
    header.packet_type = Some(packet_type);
    match packet_type {
        // Retry has no Length: it runs to the end of the datagram (RFC 9000 §17.2.5).
        LongPacketType::Retry => return Ok(header),
        LongPacketType::Initial => {
            let offset = r.pos();
            let len = r.varint_len().ok_or(HeaderError::Truncated {
                field: "token",
                offset,
            })?;
            header.token = r.bytes(len).ok_or(HeaderError::Truncated {
                field: "token",
                offset,
            })?;
        }
        LongPacketType::ZeroRtt | LongPacketType::Handshake => {}
    }
    let offset = r.pos();
    let length = r.varint().ok_or(HeaderError::Truncated {
        field: "length",
        offset,
    })?;
    let available = r.remaining();
    let length = usize::try_from(length)
        .ok()
        .filter(|l| *l <= available)
        .ok_or(HeaderError::LengthBeyondDatagram {
            offset,
            length: usize::try_from(length).unwrap_or(usize::MAX),
            available,
        })?;
    header.pn_offset = r.pos();
    header.packet_len = r.pos() + length;
    Ok(header)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // RFC 9001 Appendix A.2, unprotected header of the client Initial.
    const A2_HEADER: [u8; 22] = [
        0xc3, 0x00, 0x00, 0x00, 0x01, 0x08, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08, 0x00,
        0x00, 0x44, 0x9e, 0x00, 0x00, 0x00, 0x02,
    ];

    #[test]
    fn rfc9001_a2_header_fields() {
        let mut pkt = A2_HEADER.to_vec();
        pkt.resize(18 + 0x049e, 0);
        let h = parse_long_header(&pkt).expect("valid header");
        assert_eq!(h.version, QuicVersion::V1);
        assert_eq!(h.dcid, &[0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08]);
        assert!(h.scid.is_empty());
        assert_eq!(h.packet_type, Some(LongPacketType::Initial));
        assert!(h.token.is_empty());
        assert_eq!(h.pn_offset, 18);
        assert_eq!(h.packet_len, 1200);
    }

    #[test]
    fn length_beyond_datagram_is_an_error() {
        let err = parse_long_header(&A2_HEADER).unwrap_err();
        assert!(matches!(
            err,
            HeaderError::LengthBeyondDatagram {
                offset: 16,
                length: 1182,
                ..
            }
        ));
    }

    #[test]
    fn v2_initial_type_bits() {
        // RFC 9369 A.2 unprotected header starts 0xd3: type bits 01 = Initial in v2.
        let mut pkt = vec![0xd3, 0x6b, 0x33, 0x43, 0xcf, 0x00, 0x00, 0x00, 0x01, 0x00];
        pkt.push(0xaa);
        let h = parse_long_header(&pkt).expect("valid header");
        assert_eq!(h.packet_type, Some(LongPacketType::Initial));
        assert_eq!(h.packet_len, 10);
    }

    #[test]
    fn cid_too_long_and_short_header_are_rejected() {
        let pkt = [0xc0, 0, 0, 0, 1, 21];
        assert!(matches!(
            parse_long_header(&pkt),
            Err(HeaderError::CidTooLong { len: 21, .. })
        ));
        assert_eq!(
            parse_long_header(&[0x40, 1]),
            Err(HeaderError::NotLong(0x40))
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(h) = parse_long_header(&bytes) {
                prop_assert!(h.packet_len <= bytes.len());
                prop_assert!(h.pn_offset <= h.packet_len);
            }
        }
    }
}
