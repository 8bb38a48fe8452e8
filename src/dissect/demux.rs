//! First-byte demultiplexing of a media 5-tuple (STUN, ZRTP, DTLS, TURN ChannelData, RTP,
//! RTCP) and the TCP framings that carry these protocols over a byte stream.
//!
//! References:
//! - RFC 7983 §7 / RFC 9443 §3: first-byte ranges <https://www.rfc-editor.org/rfc/rfc9443#section-3>
//! - RFC 5761 §4: RTP vs. RTCP on one port <https://www.rfc-editor.org/rfc/rfc5761#section-4>
//! - RFC 8489 §6 / RFC 3489 §11.1: STUN header <https://www.rfc-editor.org/rfc/rfc8489#section-6>
//! - RFC 8656 §12.4–12.5: ChannelData and its TCP padding <https://www.rfc-editor.org/rfc/rfc8656#section-12.4>
//! - RFC 6189 §5: ZRTP packet format <https://www.rfc-editor.org/rfc/rfc6189#section-5>
//! - RFC 9147 §4: DTLS 1.3 unified header <https://www.rfc-editor.org/rfc/rfc9147#section-4>
//! - RFC 4571 §2: RTP/RTCP over connection-oriented transport <https://www.rfc-editor.org/rfc/rfc4571#section-2>
//! - [MS-TURN] §2.2.3 multiplexed TURN framing, as matched by nDPI `stun.c` (`FF 10`, 12-byte header)
//!
//! Zoom's own encapsulation is recognised by [`super::zoom`], not here: its first bytes
//! collide with the STUN, ZRTP and DTLS ranges.

use serde::Serialize;

use super::stun;

/// What a datagram (or a de-framed TCP message) most likely is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadKind {
    /// First byte 0–3 and a header that passes [`stun::looks_like_stun`].
    Stun,
    /// First byte 16–19 and the `ZRTP` magic cookie.
    Zrtp,
    /// First byte 20–25 with a DTLS version byte, or 32–63 (DTLS 1.3 unified header).
    Dtls,
    /// First byte 64–79 with a ChannelData length that fits. Only meaningful on a flow that
    /// has seen TURN (RFC 9443 shares this range with QUIC), so callers treat it as a candidate.
    TurnChannelData,
    /// First byte 128–191 and a second byte outside 192–223.
    Rtp,
    /// First byte 128–191 and a second byte (packet type) in 192–223 (RFC 5761 §4).
    Rtcp,
    Unknown,
}

/// STUN header length, RFC 8489 §5 and RFC 3489 §11.1.
pub const STUN_HEADER_LEN: usize = 20;
/// ChannelData header: channel number and length, RFC 8656 §12.4.
pub const CHANNEL_DATA_HEADER_LEN: usize = 4;
/// Fixed RTP header, RFC 3550 §5.1.
pub const RTP_MIN_LEN: usize = 12;
/// RTCP common header plus SSRC, RFC 3550 §6.4.
pub const RTCP_MIN_LEN: usize = 8;
/// DTLS record header, RFC 6347 §4.1.
const DTLS_RECORD_HEADER_LEN: usize = 13;
/// ZRTP header before the message: flags, seq, magic, SSRC (RFC 6189 §5).
const ZRTP_MIN_LEN: usize = 12;
/// `ZRTP` magic cookie at offset 4, RFC 6189 §5.
const ZRTP_MAGIC: [u8; 4] = *b"ZRTP";
/// RFC 6347 / RFC 9147 DTLS plaintext records carry major version 0xFE.
const DTLS_VERSION_MAJOR: u8 = 0xFE;

/// Classify one datagram by its first byte (RFC 9443 §3), with a cheap sanity check per range
/// so that random bytes are rarely taken for a protocol.
pub fn classify(payload: &[u8]) -> PayloadKind {
    let Some(&first) = payload.first() else {
        return PayloadKind::Unknown;
    };
    match first {
        0..=3 if stun::looks_like_stun(payload) => PayloadKind::Stun,
        16..=19 if is_zrtp(payload) => PayloadKind::Zrtp,
        20..=25
            if payload.len() >= DTLS_RECORD_HEADER_LEN
                && payload.get(1) == Some(&DTLS_VERSION_MAJOR) =>
        {
            PayloadKind::Dtls
        }
        // DTLS 1.3 unified header: 0b001CSLEE, no version byte to check.
        32..=63 if payload.len() >= 2 => PayloadKind::Dtls,
        64..=79 if channel_data(payload).is_some() => PayloadKind::TurnChannelData,
        128..=191 => match payload.get(1) {
            Some(192..=223) if payload.len() >= RTCP_MIN_LEN => PayloadKind::Rtcp,
            Some(_) if payload.len() >= RTP_MIN_LEN => PayloadKind::Rtp,
            _ => PayloadKind::Unknown,
        },
        _ => PayloadKind::Unknown,
    }
}

fn is_zrtp(payload: &[u8]) -> bool {
    payload.len() >= ZRTP_MIN_LEN && payload.get(4..8) == Some(&ZRTP_MAGIC[..])
}

/// A TURN ChannelData message (RFC 8656 §12.4): channel 0x4000–0x4FFF and its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelData<'a> {
    pub channel: u16,
    pub data: &'a [u8],
    /// Bytes after `data` (padding over TCP, or junk); up to 3 is normal.
    pub trailing: usize,
}

/// Largest padding a ChannelData message carries, RFC 8656 §12.5 (to a multiple of 4).
const CHANNEL_DATA_MAX_PADDING: usize = 3;

/// Parse a ChannelData datagram. `None` unless the channel is in 0x4000–0x4FFF and the
/// length field fits the datagram with at most 3 bytes of padding.
pub fn channel_data(payload: &[u8]) -> Option<ChannelData<'_>> {
    let channel = be16(payload, 0)?;
    if !(0x4000..=0x4FFF).contains(&channel) {
        return None;
    }
    let len = usize::from(be16(payload, 2)?);
    let end = CHANNEL_DATA_HEADER_LEN.checked_add(len)?;
    let data = payload.get(CHANNEL_DATA_HEADER_LEN..end)?;
    let trailing = payload.len() - end;
    (trailing <= CHANNEL_DATA_MAX_PADDING).then_some(ChannelData {
        channel,
        data,
        trailing,
    })
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// RFC 4571 length prefix.
pub const RFC4571_PREFIX_LEN: usize = 2;
/// [MS-TURN] multiplexed header: `FF 10`, length, then 8 more bytes before the inner message.
pub const MS_TURN_HEADER_LEN: usize = 12;
/// The [MS-TURN] multiplexed-framing type, as matched by nDPI `stun.c`.
pub const MS_TURN_MAGIC: u16 = 0xFF10;
/// [MS-TURN] length counts the bytes after the first 4 (type + length).
const MS_TURN_LENGTH_BASE: usize = 4;

/// Iterator over RFC 4571 frames (2-byte big-endian length, then that many bytes) in a TCP
/// stream buffer. Stops at the first incomplete frame; [`Rfc4571Frames::consumed`] says how
/// many bytes were whole frames so the caller can keep the rest for the next segment.
#[derive(Clone, Debug)]
pub struct Rfc4571Frames<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Split a TCP stream buffer into RFC 4571 frames.
pub fn rfc4571_frames(buf: &[u8]) -> Rfc4571Frames<'_> {
    Rfc4571Frames { buf, pos: 0 }
}

impl<'a> Rfc4571Frames<'a> {
    /// Bytes consumed by the frames returned so far.
    pub fn consumed(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Rfc4571Frames<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let len = usize::from(be16(self.buf, self.pos)?);
        let start = self.pos.checked_add(RFC4571_PREFIX_LEN)?;
        let end = start.checked_add(len)?;
        let frame = self.buf.get(start..end)?;
        self.pos = end;
        Some(frame)
    }
}

/// One [MS-TURN] multiplexed frame: the 8 header bytes after type and length (their meaning
/// is not documented publicly; they look like a session token) and the inner message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsTurnFrame<'a> {
    pub token: &'a [u8],
    pub inner: &'a [u8],
}

/// Parse one [MS-TURN] multiplexed frame at the start of `buf`; returns it and its total length.
pub fn ms_turn_frame(buf: &[u8]) -> Option<(MsTurnFrame<'_>, usize)> {
    if be16(buf, 0)? != MS_TURN_MAGIC {
        return None;
    }
    let total = MS_TURN_LENGTH_BASE.checked_add(usize::from(be16(buf, 2)?))?;
    if total < MS_TURN_HEADER_LEN {
        return None;
    }
    let token = buf.get(MS_TURN_LENGTH_BASE..MS_TURN_HEADER_LEN)?;
    let inner = buf.get(MS_TURN_HEADER_LEN..total)?;
    Some((MsTurnFrame { token, inner }, total))
}

/// Strip the [MS-TURN] header from a datagram whose length matches it exactly (as nDPI does).
pub fn strip_ms_turn(datagram: &[u8]) -> Option<&[u8]> {
    match ms_turn_frame(datagram) {
        Some((f, total)) if total == datagram.len() => Some(f.inner),
        _ => None,
    }
}

/// Iterator over [MS-TURN] multiplexed frames in a TCP stream buffer.
#[derive(Clone, Debug)]
pub struct MsTurnFrames<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Split a TCP stream buffer into [MS-TURN] multiplexed frames.
pub fn ms_turn_frames(buf: &[u8]) -> MsTurnFrames<'_> {
    MsTurnFrames { buf, pos: 0 }
}

impl<'a> MsTurnFrames<'a> {
    /// Bytes consumed by the frames returned so far.
    pub fn consumed(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for MsTurnFrames<'a> {
    type Item = MsTurnFrame<'a>;
    fn next(&mut self) -> Option<MsTurnFrame<'a>> {
        let rest = self.buf.get(self.pos..)?;
        let (frame, total) = ms_turn_frame(rest)?;
        self.pos = self.pos.checked_add(total)?;
        Some(frame)
    }
}

/// Length of the self-delimiting message (STUN or ChannelData, padded to 4 over TCP per
/// RFC 8656 §12.5) at the start of a TCP stream buffer, when it is complete.
/// This is how TURN over TCP/TLS frames messages without RFC 4571.
pub fn stun_or_channel_data_len(buf: &[u8]) -> Option<usize> {
    let first = *buf.first()?;
    let len = usize::from(be16(buf, 2)?);
    let total = match first {
        0..=3 => STUN_HEADER_LEN.checked_add(len)?,
        64..=79 => (CHANNEL_DATA_HEADER_LEN.checked_add(len)?).checked_add(3)? & !3,
        _ => return None,
    };
    (total <= buf.len()).then_some(total)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ranges() {
        let mut rtp = [0u8; 20];
        rtp[0] = 0x80;
        rtp[1] = 0x60;
        assert_eq!(classify(&rtp), PayloadKind::Rtp);
        rtp[1] = 200;
        assert_eq!(classify(&rtp), PayloadKind::Rtcp);
        // RTP PT 72 with marker bit = 200: RFC 5761 says that is RTCP; it is.
        rtp[1] = 0x80 | 72;
        assert_eq!(classify(&rtp), PayloadKind::Rtcp);
        assert_eq!(classify(&[0x80, 0x00]), PayloadKind::Unknown);
        let dtls = [0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(classify(&dtls), PayloadKind::Dtls);
        // Zoom P2P screen share type 30 is not DTLS (no 0xFE version byte).
        assert_eq!(
            classify(&[30, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            PayloadKind::Unknown
        );
        let mut zrtp = [0u8; 16];
        zrtp[0] = 0x10;
        zrtp[4..8].copy_from_slice(b"ZRTP");
        assert_eq!(classify(&zrtp), PayloadKind::Zrtp);
        zrtp[4] = b'X';
        assert_eq!(classify(&zrtp), PayloadKind::Unknown);
        assert_eq!(classify(&[5, 0, 0, 0]), PayloadKind::Unknown);
        assert_eq!(classify(&[]), PayloadKind::Unknown);
        assert_eq!(classify(&[0xff; 30]), PayloadKind::Unknown);
    }

    #[test]
    fn stun_range_needs_a_real_header() {
        // Zoom's client hello `01 00 02 ..` is in the STUN range but is not STUN.
        let mut zoom_hello = vec![0x01, 0x00, 0x02, 0x7d];
        zoom_hello.extend_from_slice(&[0x11; 40]);
        assert_eq!(classify(&zoom_hello), PayloadKind::Unknown);
        let mut binding = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        binding.extend_from_slice(&[7; 12]);
        assert_eq!(classify(&binding), PayloadKind::Stun);
    }

    #[test]
    fn channel_data_lengths() {
        let cd = [0x40, 0x01, 0x00, 0x03, 0x80, 0x00, 0x01, 0x00];
        let parsed = channel_data(&cd).unwrap();
        assert_eq!(parsed.channel, 0x4001);
        assert_eq!(parsed.data, &[0x80, 0, 1]);
        assert_eq!(parsed.trailing, 1);
        assert_eq!(classify(&cd), PayloadKind::TurnChannelData);
        // Length overruns the datagram.
        assert_eq!(channel_data(&[0x40, 0x01, 0x00, 0x09, 1]), None);
        // Too much trailing data for padding.
        assert_eq!(channel_data(&[0x40, 0x01, 0x00, 0x00, 1, 2, 3, 4]), None);
        // 0x5000 is outside the channel range (RFC 8656 §12).
        assert_eq!(channel_data(&[0x50, 0x00, 0x00, 0x00]), None);
    }

    #[test]
    fn rfc4571_splits_and_keeps_partial_tail() {
        let stream = [0, 2, 0xaa, 0xbb, 0, 1, 0xcc, 0, 5, 1, 2];
        let mut it = rfc4571_frames(&stream);
        assert_eq!(it.next(), Some(&[0xaa, 0xbb][..]));
        assert_eq!(it.next(), Some(&[0xcc][..]));
        assert_eq!(it.next(), None);
        assert_eq!(it.consumed(), 7);
    }

    #[test]
    fn ms_turn_framing() {
        // FF 10, length 0x0020 (= 8 token bytes + 24-byte STUN message), token, STUN.
        let mut f = vec![0xff, 0x10, 0x00, 0x20];
        f.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        f.extend_from_slice(&[0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xa4, 0x42]);
        f.extend_from_slice(&[9; 12]);
        f.extend_from_slice(&[0x80, 0x22, 0x00, 0x00]);
        let inner = strip_ms_turn(&f).unwrap();
        assert_eq!(inner.len(), 24);
        assert_eq!(classify(inner), PayloadKind::Stun);
        let mut two = f.clone();
        two.extend_from_slice(&f);
        two.push(0xff);
        let mut it = ms_turn_frames(&two);
        assert_eq!(
            it.next().map(|x| x.token),
            Some(&[1, 2, 3, 4, 5, 6, 7, 8][..])
        );
        assert!(it.next().is_some());
        assert!(it.next().is_none());
        assert_eq!(it.consumed(), 2 * f.len());
        assert_eq!(strip_ms_turn(&two), None);
    }

    #[test]
    fn tcp_self_delimiting() {
        assert_eq!(
            stun_or_channel_data_len(&[0x40, 0, 0, 1, 9, 0, 0, 0, 1]),
            Some(8)
        );
        assert_eq!(stun_or_channel_data_len(&[0x40, 0, 0, 5, 9, 0, 0]), None);
        let mut stun = vec![0, 1, 0, 0];
        stun.extend_from_slice(&[0; 16]);
        assert_eq!(stun_or_channel_data_len(&stun), Some(20));
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = classify(&data);
            let _ = channel_data(&data);
            let _ = rfc4571_frames(&data).count();
            let _ = ms_turn_frames(&data).count();
            let _ = strip_ms_turn(&data);
            let _ = stun_or_channel_data_len(&data);
        }

        #[test]
        fn rfc4571_roundtrip(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 0..6)) {
            let mut stream = Vec::new();
            for f in &frames {
                stream.extend_from_slice(&(f.len() as u16).to_be_bytes());
                stream.extend_from_slice(f);
            }
            let got: Vec<&[u8]> = rfc4571_frames(&stream).collect();
            prop_assert_eq!(got.len(), frames.len());
            for (a, b) in got.iter().zip(frames.iter()) { prop_assert_eq!(*a, &b[..]); }
        }
    }
}
