//! Google QUIC before IETF QUIC: the public header of Q034–Q043, the Q046 long header, the
//! null-encrypted STREAM frames of the crypto stream (stream 1), and the QUIC Crypto `CHLO`
//! message whose tag/value map carries the server name (`SNI\0`) and user agent (`UAID`).
//! Q050 and T05x use IETF-style protected Initials and are handled by the IETF path.
//!
//! References:
//! - QUIC Wire Layout (Chromium, 2016):
//!   <https://docs.google.com/document/d/1WJvyZflAO2pq77yOLbp9NsGjC1CHetAXV8I0fQe-B_U>
//! - QUIC Crypto (Chromium): <https://docs.google.com/document/d/1g5nIXAIkN_Y-7XJW5K45IblHd_L2f5LTaDUDwvZ5L6g>
//! - Wireshark `epan/dissectors/packet-gquic.c` (header flags, frame types, Q046 layout)

use super::varint::Reader;
use super::version::QuicVersion;
use thiserror::Error;

/// Public flags (QUIC Wire Layout §Public Header).
const FLAG_VERSION: u8 = 0x01;
const FLAG_RESET: u8 = 0x02;
const FLAG_CID: u8 = 0x08;
const FLAG_PN_LEN: u8 = 0x30;
const FLAG_RESERVED: u8 = 0x80;
const CID_LEN: usize = 8;
/// Null encryption prefixes the plaintext with a 12-byte FNV-1a-128 hash.
const NULL_HASH_LEN: usize = 12;
/// The crypto handshake runs on stream 1 up to Q046.
pub const CRYPTO_STREAM_ID: u64 = 1;
/// Chromium's `kMaxEntries` for a handshake message.
pub const MAX_CHLO_TAGS: usize = 128;
/// SNI and UAID values kept at most this long (SNI: RFC 1035 name limit).
const MAX_VALUE_LEN: usize = 512;
/// STREAM frames read from one packet.
const MAX_FRAMES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GquicError {
    #[error("gquic: {field} truncated at offset {offset}")]
    Truncated { field: &'static str, offset: usize },
    #[error("gquic: flags {0:#04x} are not a client packet with version")]
    NotClientPacket(u8),
    #[error("gquic: version {0} does not use the Google public header")]
    Version(QuicVersion),
    #[error("gquic: handshake message tag {0:?} is not CHLO")]
    NotChlo([u8; 4]),
    #[error("gquic: CHLO has {0} tags, more than {MAX_CHLO_TAGS}")]
    TooManyTags(usize),
    #[error("gquic: CHLO tag {index} end offset {end} is before {previous} or past {available}")]
    BadOffset {
        index: usize,
        end: usize,
        previous: usize,
        available: usize,
    },
}

/// A client packet with the Google public header, borrowed from the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GquicPacket<'a> {
    pub version: QuicVersion,
    pub cid: &'a [u8],
    pub packet_number_len: usize,
    /// The plaintext frames after the null-encryption hash.
    pub frames: &'a [u8],
}

fn pn_len_of_flags(flags: u8) -> usize {
    match (flags & FLAG_PN_LEN) >> 4 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => 6,
    }
}

/// Parse a client datagram of Q034–Q043 (public header) or Q046 (long header).
pub fn parse_client_packet(buf: &[u8]) -> Result<GquicPacket<'_>, GquicError> {
    let mut r = Reader::new(buf);
    let t = |field, offset| GquicError::Truncated { field, offset };
    let flags = r.u8().ok_or(t("flags", 0))?;
    let (version, cid, pn_len) = if flags & 0x80 != 0 {
        // Q046: IETF-like long header with one byte of nibble-coded CID lengths.
        let version = QuicVersion(r.u32_be().ok_or(t("version", 1))?);
        if version != QuicVersion::Q046 {
            return Err(GquicError::Version(version));
        }
        let lens = r.u8().ok_or(t("cid lengths", 5))?;
        let nibble = |n: u8| if n == 0 { 0 } else { usize::from(n) + 3 };
        let dcid = r.bytes(nibble(lens >> 4)).ok_or(t("destination cid", 6))?;
        r.bytes(nibble(lens & 0x0f)).ok_or(t("source cid", 6))?;
        (version, dcid, usize::from(flags & 0x03) + 1)
    } else {
        // Clients still set 0x0c for an 8-byte CID (the old two-bit CID length), so 0x04
        // is a nonce flag only in server packets.
        if flags & (FLAG_VERSION | FLAG_CID) != FLAG_VERSION | FLAG_CID
            || flags & (FLAG_RESET | FLAG_RESERVED) != 0
        {
            return Err(GquicError::NotClientPacket(flags));
        }
        let cid = r.bytes(CID_LEN).ok_or(t("connection id", 1))?;
        let version = QuicVersion(r.u32_be().ok_or(t("version", 9))?);
        if !version.is_gquic_public_header() || version == QuicVersion::Q046 {
            return Err(GquicError::Version(version));
        }
        (version, cid, pn_len_of_flags(flags))
    };
    let offset = r.pos();
    r.bytes(pn_len).ok_or(t("packet number", offset))?;
    let offset = r.pos();
    r.bytes(NULL_HASH_LEN).ok_or(t("message hash", offset))?;
    // Q033 and older carry a private-flags byte first.
    if version.google().is_some_and(|(_, n)| n <= 33) {
        r.u8().ok_or(t("private flags", r.pos()))?;
    }
    let frames = buf.get(r.pos()..).unwrap_or(&[]);
    Ok(GquicPacket {
        version,
        cid,
        packet_number_len: pn_len,
        frames,
    })
}

/// One STREAM frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFrame<'a> {
    pub stream_id: u64,
    pub offset: u64,
    pub data: &'a [u8],
}

fn uint(r: &mut Reader<'_>, len: usize, big_endian: bool) -> Option<u64> {
    let b = r.bytes(len)?;
    let fold = |acc: u64, x: &u8| (acc << 8) | u64::from(*x);
    Some(if big_endian {
        b.iter().fold(0, fold)
    } else {
        b.iter().rev().fold(0, fold)
    })
}

/// The STREAM frames at the start of a packet's plaintext, stopping at PADDING (which
/// fills the rest of a gQUIC packet) or at any other frame type.
pub fn stream_frames<'a>(frames: &'a [u8], version: QuicVersion) -> Vec<StreamFrame<'a>> {
    // Q039 switched the wire format to big endian.
    let big_endian = version.google().is_some_and(|(_, n)| n >= 39);
    let mut r = Reader::new(frames);
    let mut out = Vec::new();
    for _ in 0..MAX_FRAMES {
        let Some(t) = r.u8() else { break };
        // STREAM frames are 1FDOOOSS; PING (0x07) has no body; anything else ends the walk.
        if t == 0x07 {
            continue;
        }
        if t & 0x80 == 0 {
            break;
        }
        let id_len = usize::from(t & 0x03) + 1;
        let off_len = match (t >> 2) & 0x07 {
            0 => 0,
            n => usize::from(n) + 1,
        };
        let Some(stream_id) = uint(&mut r, id_len, big_endian) else {
            break;
        };
        let Some(offset) = uint(&mut r, off_len, big_endian) else {
            break;
        };
        let data = if t & 0x20 != 0 {
            let Some(len) = uint(&mut r, 2, big_endian) else {
                break;
            };
            let Some(d) = r.bytes(len as usize) else {
                break;
            };
            d
        } else {
            r.bytes(r.remaining()).unwrap_or(&[])
        };
        out.push(StreamFrame {
            stream_id,
            offset,
            data,
        });
    }
    out
}

/// The total length of a CHLO message once its header and tag index are present.
pub fn chlo_len(buf: &[u8]) -> Option<usize> {
    let mut r = Reader::new(buf);
    if r.bytes(4)? != b"CHLO" {
        return None;
    }
    let n = usize::from(u16::from_le_bytes(r.bytes(2)?.try_into().ok()?));
    if n == 0 {
        return Some(8);
    }
    let last_end = 8 + 8 * (n - 1) + 4;
    let end = u32::from_le_bytes(buf.get(last_end..last_end + 4)?.try_into().ok()?);
    Some(8 + 8 * n + end as usize)
}

/// What leakscope keeps from a CHLO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChloInfo {
    pub sni: Option<String>,
    pub user_agent: Option<String>,
    pub tags: usize,
}

fn text(value: &[u8]) -> Option<String> {
    let value = value.get(..value.len().min(MAX_VALUE_LEN))?;
    (!value.is_empty()).then(|| String::from_utf8_lossy(value).into_owned())
}

/// Parse a complete CHLO: tag `CHLO`, u16 count, u16 padding, `count` × (tag, u32 end
/// offset) little endian, then the values back to back.
pub fn parse_chlo(msg: &[u8]) -> Result<ChloInfo, GquicError> {
    let mut r = Reader::new(msg);
    let t = |field, offset| GquicError::Truncated { field, offset };
    let tag: [u8; 4] = r
        .bytes(4)
        .and_then(|b| b.try_into().ok())
        .ok_or(t("message tag", 0))?;
    if &tag != b"CHLO" {
        return Err(GquicError::NotChlo(tag));
    }
    let n = r
        .bytes(2)
        .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
        .ok_or(t("tag count", 4))?;
    if n > MAX_CHLO_TAGS {
        return Err(GquicError::TooManyTags(n));
    }
    r.bytes(2).ok_or(t("padding", 6))?;
    let values_start = 8 + 8 * n;
    let values = msg.get(values_start..).ok_or(t("tag index", 8))?;
    let mut info = ChloInfo {
        tags: n,
        ..ChloInfo::default()
    };
    let mut previous = 0usize;
    for index in 0..n {
        let entry = r.bytes(8).ok_or(t("tag index", r.pos()))?;
        let end = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]) as usize;
        let bad = GquicError::BadOffset {
            index,
            end,
            previous,
            available: values.len(),
        };
        let value = values.get(previous..end).ok_or(bad)?;
        match &entry[..4] {
            b"SNI\0" => info.sni = text(value),
            b"UAID" => info.user_agent = text(value),
            _ => {}
        }
        previous = end;
    }
    Ok(info)
}

#[cfg(test)]
pub(crate) mod build {
    //! Builders for gQUIC test packets (layouts from the QUIC Wire Layout document).

    /// A CHLO with the given tags (must be sorted as a real client sends them).
    pub fn chlo(tags: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut out = b"CHLO".to_vec();
        out.extend_from_slice(&(tags.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        let mut end = 0u32;
        for (tag, value) in tags {
            end += value.len() as u32;
            out.extend_from_slice(&tag[..]);
            out.extend_from_slice(&end.to_le_bytes());
        }
        for (_, value) in tags {
            out.extend_from_slice(value);
        }
        out
    }

    /// A Q043 client packet: flags 0x09 (version, 8-byte CID, 1-byte packet number), the
    /// null hash, one STREAM frame 0xa4 (data length present, 2-byte offset, 1-byte stream
    /// id) on stream 1, then PADDING.
    pub fn q043_packet(offset: u16, data: &[u8]) -> Vec<u8> {
        let mut p = vec![0x09];
        p.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        p.extend_from_slice(b"Q043");
        p.push(1); // packet number
        p.extend_from_slice(&[0xaa; 12]); // hash (not checked)
        p.push(0xa4); // STREAM, data length present, 2-byte offset, 1-byte stream id
        p.push(1);
        p.extend_from_slice(&offset.to_be_bytes());
        p.extend_from_slice(&(data.len() as u16).to_be_bytes());
        p.extend_from_slice(data);
        p.resize(p.len().max(1350), 0);
        p
    }

    /// A Q046 client packet: long header 0xc3, CID lengths 0x50, 4-byte packet number.
    pub fn q046_packet(data: &[u8]) -> Vec<u8> {
        let mut p = vec![0xc3];
        p.extend_from_slice(b"Q046");
        p.push(0x50);
        p.extend_from_slice(&[8, 7, 6, 5, 4, 3, 2, 1]);
        p.extend_from_slice(&1u32.to_be_bytes());
        p.extend_from_slice(&[0xbb; 12]);
        p.push(0xa0);
        p.push(1);
        p.extend_from_slice(&(data.len() as u16).to_be_bytes());
        p.extend_from_slice(data);
        p.resize(p.len().max(1350), 0);
        p
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::build::*;
    use super::*;
    use proptest::prelude::*;

    fn sample_chlo() -> Vec<u8> {
        chlo(&[
            (b"PAD\0", &[0x2d; 20]),
            (b"SNI\0", b"www.youtube.com"),
            (b"VER\0", b"Q043"),
            (b"UAID", b"Chrome/80.0.3987.122 Linux x86_64"),
        ])
    }

    #[test]
    fn chlo_tags_give_sni_and_user_agent() {
        let msg = sample_chlo();
        assert_eq!(chlo_len(&msg), Some(msg.len()));
        let info = parse_chlo(&msg).expect("chlo");
        assert_eq!(info.sni.as_deref(), Some("www.youtube.com"));
        assert_eq!(
            info.user_agent.as_deref(),
            Some("Chrome/80.0.3987.122 Linux x86_64")
        );
        assert_eq!(info.tags, 4);
    }

    #[test]
    fn chlo_with_bad_offsets_is_rejected() {
        let mut msg = sample_chlo();
        msg[8 + 4] = 0xff; // first end offset far past the values
        assert!(matches!(
            parse_chlo(&msg),
            Err(GquicError::BadOffset { index: 0, .. })
        ));
        assert_eq!(
            parse_chlo(b"SHLO\0\0\0\0"),
            Err(GquicError::NotChlo(*b"SHLO"))
        );
    }

    #[test]
    fn q043_public_header_and_stream_frame() {
        let msg = sample_chlo();
        let pkt = q043_packet(0, &msg);
        let p = parse_client_packet(&pkt).expect("q043");
        assert_eq!(p.version, QuicVersion::Q043);
        assert_eq!(p.cid, &[1, 2, 3, 4, 5, 6, 7, 8]);
        let frames = stream_frames(p.frames, p.version);
        assert_eq!(
            frames,
            vec![StreamFrame {
                stream_id: 1,
                offset: 0,
                data: &msg[..]
            }]
        );
    }

    #[test]
    fn q046_long_header_and_stream_frame() {
        let msg = sample_chlo();
        let pkt = q046_packet(&msg);
        let p = parse_client_packet(&pkt).expect("q046");
        assert_eq!(p.version, QuicVersion::Q046);
        assert_eq!(p.packet_number_len, 4);
        let frames = stream_frames(p.frames, p.version);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].data, &msg[..]);
    }

    #[test]
    fn little_endian_before_q039() {
        let frames = [0xa0, 0x01, 0x03, 0x00, b'a', b'b', b'c'];
        let got = stream_frames(&frames, QuicVersion(u32::from_be_bytes(*b"Q035")));
        assert_eq!(got[0].data, b"abc");
    }

    #[test]
    fn server_packets_are_not_client_packets() {
        // Flags 0x0c: 8-byte CID, no version: a server (or later client) packet.
        let pkt = [0x0c, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0];
        assert_eq!(
            parse_client_packet(&pkt),
            Err(GquicError::NotClientPacket(0x0c))
        );
        // Flags 0x0d (version + legacy 0x0c CID bits) is what Chrome sends.
        let mut pkt = build::q043_packet(0, b"x");
        pkt[0] = 0x0d;
        assert!(parse_client_packet(&pkt).is_ok());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(p) = parse_client_packet(&bytes) {
                let _ = stream_frames(p.frames, p.version);
            }
            let _ = stream_frames(&bytes, QuicVersion::Q043);
            let _ = chlo_len(&bytes);
            let _ = parse_chlo(&bytes);
        }

        #[test]
        fn chlo_round_trips(sni in "[a-z]{1,30}\\.[a-z]{2,5}", ua in "[ -~]{1,60}") {
            let msg = chlo(&[(b"SNI\0", sni.as_bytes()), (b"UAID", ua.as_bytes())]);
            prop_assert_eq!(chlo_len(&msg), Some(msg.len()));
            let info = parse_chlo(&msg).expect("chlo");
            prop_assert_eq!(info.sni, Some(sni));
            prop_assert_eq!(info.user_agent, Some(ua));
        }
    }
}
