//! RTP and RTCP headers, and the evidence that tells plain RTP from SRTP (SIGNALS.md §2.2).
//!
//! References:
//! - RFC 3550 §5.1 (RTP header), §6.4–6.6 (SR, RR, SDES, BYE, APP) <https://www.rfc-editor.org/rfc/rfc3550>
//! - RFC 4585 §6.1 (RTPFB 205, PSFB 206), RFC 3611 (XR 207)
//! - RFC 5761 §4 (RTP/RTCP on one port), RFC 8285 (header extensions)
//! - RFC 3711 §3.1 (SRTP: auth tag after the payload), §3.4 (SRTCP: E-flag ‖ 31-bit index, tag)
//! - RFC 3551 §4.5.14 (PCMU/PCMA: 8 bytes per ms), RFC 5905 §6 (NTP timestamp format)
//!
//! SRTP leaves the RTP header in clear, so the header alone cannot tell. The tests here, in
//! order of strength: the SRTCP trailer index that grows by one per packet; a plain RTCP
//! compound that walks exactly, with an SR NTP time near the capture time; G.711 payload
//! sizes (ptime·8, or +4/+10 with an auth tag); and whether the first payload byte of
//! dynamic payload types repeats (codec headers: H.264 NAL, VP8 descriptor, Opus TOC) or
//! looks uniformly random (ciphertext).

use serde::{Serialize, Serializer};
use thiserror::Error;

use crate::model::{Direction, Timestamp};

/// RFC 3550 §5.1: fixed header length.
pub const RTP_HEADER_LEN: usize = 12;
/// RFC 3550 §5.1: CC is 4 bits, so at most 15 CSRCs.
pub const MAX_CSRC: usize = 15;
/// RTCP packets walked per compound datagram (a compound holds a handful, RFC 3550 §6.1).
pub const MAX_RTCP_IN_COMPOUND: usize = 16;
/// SSRCs tracked per flow (a BUNDLEd call carries a few audio/video/RTX streams).
pub const MAX_SSRCS: usize = 8;
/// Payload types remembered per flow.
pub const MAX_PAYLOAD_TYPES: usize = 16;
/// Payload first bytes sampled for the randomness test.
pub const MAX_PAYLOAD_SAMPLES: u16 = 48;
/// Samples needed before the first-byte test decides.
const MIN_PAYLOAD_SAMPLES: u16 = 16;
/// G.711 packets needed before the size test decides.
const MIN_G711_SAMPLES: u16 = 4;
/// RFC 3711 §3.4: SRTCP index word.
const SRTCP_INDEX_LEN: usize = 4;
/// RFC 3711 §4.2 / RFC 4568: HMAC-SHA1-80 and HMAC-SHA1-32 tag lengths.
pub const SRTP_TAG_LENGTHS: [usize; 2] = [10, 4];
/// Index steps of +1 needed to call a flow SRTCP.
const MIN_SRTCP_STEPS: u32 = 2;
/// Seconds between the NTP (1900) and Unix (1970) epochs, RFC 5905 §6.
const NTP_UNIX_OFFSET: i64 = 2_208_988_800;
/// An SR clock this close to the capture clock is taken as a real wall clock.
const NTP_MAX_SKEW_SECS: i64 = 7 * 86_400;
/// Without a capture time, accept years 2000–2100 (weak; SIGNALS.md §2.2).
const NTP_FALLBACK_UNIX_RANGE: std::ops::Range<i64> = 946_684_800..4_102_444_800;
/// A sequence jump larger than this is a restart, not loss (RFC 3550 A.1 MAX_DROPOUT).
const MAX_DROPOUT: u16 = 3000;
/// SDES CNAME kept for the report.
const MAX_CNAME_LEN: usize = 64;
/// G.711 bytes per 10 ms (RFC 3551 §4.5.14: 8 kHz, 8 bits).
const G711_BYTES_PER_10MS: usize = 80;

/// An RTP payload type (7 bits). Unknown values survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PayloadType(pub u8);

impl PayloadType {
    pub const PCMU: PayloadType = PayloadType(0);
    pub const PCMA: PayloadType = PayloadType(8);
    pub const G722: PayloadType = PayloadType(9);
    /// RFC 3551 §6: 96–127 are dynamic (negotiated in SDP).
    pub fn is_dynamic(self) -> bool {
        self.0 >= 96
    }
}

/// Why bytes are not an RTP or RTCP packet.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum RtpError {
    #[error("{layer}: need {needed} bytes at offset {offset}, have {actual}")]
    Truncated {
        layer: &'static str,
        offset: usize,
        needed: usize,
        actual: usize,
    },
    #[error("{layer}: version {version} at offset {offset}, expected 2")]
    BadVersion {
        layer: &'static str,
        offset: usize,
        version: u8,
    },
    #[error("rtp padding: count {count} exceeds the {available}-byte payload")]
    BadPadding { count: u8, available: usize },
}

/// An RFC 8285 / RFC 3550 §5.3.1 header extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderExtension<'a> {
    /// `0xBEDE` one-byte, `0x100x` two-byte (RFC 8285), else profile-specific.
    pub profile: u16,
    pub data: &'a [u8],
}

/// A parsed RTP packet (borrowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub marker: bool,
    pub payload_type: PayloadType,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// CSRC list, 4 bytes each (at most [`MAX_CSRC`]).
    pub csrcs: &'a [u8],
    pub extension: Option<HeaderExtension<'a>>,
    /// Header length including CSRCs and extension.
    pub header_len: usize,
    /// Payload, padding removed (with SRTP it still ends in the auth tag).
    pub payload: &'a [u8],
    pub padding_len: u8,
}

impl<'a> RtpPacket<'a> {
    pub fn csrc_iter(&self) -> impl Iterator<Item = u32> + 'a {
        self.csrcs
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
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

fn truncated(layer: &'static str, offset: usize, needed: usize, actual: usize) -> RtpError {
    RtpError::Truncated {
        layer,
        offset,
        needed,
        actual,
    }
}

/// Parse an RTP packet (RFC 3550 §5.1). Padding that does not fit is an error; with SRTP
/// the padding count is in clear only for unencrypted payloads, so callers that only want
/// the header can use [`parse_rtp_header_only`].
pub fn parse_rtp(buf: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    let mut p = parse_rtp_header_only(buf)?;
    if buf.first().is_some_and(|b| b & 0x20 != 0) {
        let count = *buf.last().unwrap_or(&0);
        let available = p.payload.len();
        if count == 0 || usize::from(count) > available {
            return Err(RtpError::BadPadding { count, available });
        }
        p.payload = &p.payload[..available - usize::from(count)];
        p.padding_len = count;
    }
    Ok(p)
}

/// Parse the RTP header and take everything after it as payload (padding not removed).
pub fn parse_rtp_header_only(buf: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    let (Some(&b0), Some(&b1), Some(sequence), Some(timestamp), Some(ssrc)) = (
        buf.first(),
        buf.get(1),
        be16(buf, 2),
        be32(buf, 4),
        be32(buf, 8),
    ) else {
        return Err(truncated("rtp header", 0, RTP_HEADER_LEN, buf.len()));
    };
    if b0 >> 6 != 2 {
        return Err(RtpError::BadVersion {
            layer: "rtp header",
            offset: 0,
            version: b0 >> 6,
        });
    }
    let cc = usize::from(b0 & 0x0F);
    let csrc_end = RTP_HEADER_LEN + cc * 4;
    let csrcs = buf
        .get(RTP_HEADER_LEN..csrc_end)
        .ok_or_else(|| truncated("rtp csrc list", RTP_HEADER_LEN, csrc_end, buf.len()))?;
    let mut header_len = csrc_end;
    let mut extension = None;
    if b0 & 0x10 != 0 {
        let (Some(profile), Some(words)) = (be16(buf, csrc_end), be16(buf, csrc_end + 2)) else {
            return Err(truncated(
                "rtp header extension",
                csrc_end,
                csrc_end + 4,
                buf.len(),
            ));
        };
        let start = csrc_end + 4;
        let end = start + usize::from(words) * 4;
        let data = buf
            .get(start..end)
            .ok_or_else(|| truncated("rtp header extension", csrc_end, end, buf.len()))?;
        extension = Some(HeaderExtension { profile, data });
        header_len = end;
    }
    Ok(RtpPacket {
        marker: b1 & 0x80 != 0,
        payload_type: PayloadType(b1 & 0x7F),
        sequence,
        timestamp,
        ssrc,
        csrcs,
        extension,
        header_len,
        payload: buf.get(header_len..).unwrap_or_default(),
        padding_len: 0,
    })
}

/// An RTCP packet type. Unknown values survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RtcpType(pub u8);

impl RtcpType {
    pub const SR: RtcpType = RtcpType(200);
    pub const RR: RtcpType = RtcpType(201);
    pub const SDES: RtcpType = RtcpType(202);
    pub const BYE: RtcpType = RtcpType(203);
    pub const APP: RtcpType = RtcpType(204);
    pub const RTPFB: RtcpType = RtcpType(205);
    pub const PSFB: RtcpType = RtcpType(206);
    pub const XR: RtcpType = RtcpType(207);

    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            200 => "sr",
            201 => "rr",
            202 => "sdes",
            203 => "bye",
            204 => "app",
            205 => "rtpfb",
            206 => "psfb",
            207 => "xr",
            _ => return None,
        })
    }
}

impl Serialize for RtcpType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.name() {
            Some(n) => s.serialize_str(n),
            None => s.collect_str(&self.0),
        }
    }
}

/// One RTCP packet of a compound (RFC 3550 §6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtcpPacket<'a> {
    pub packet_type: RtcpType,
    /// RC / SC / FMT field.
    pub count: u8,
    pub padding: bool,
    /// First SSRC (sender) when the packet has one.
    pub ssrc: Option<u32>,
    /// The whole packet, header included, `(length+1)·4` bytes.
    pub bytes: &'a [u8],
}

/// Walks the packets of a compound RTCP datagram; stops at the first header that is not
/// RTCP (version ≠ 2, type outside 192–223, or length past the end) or after
/// [`MAX_RTCP_IN_COMPOUND`] packets. [`RtcpPackets::covered`] is the bytes walked.
#[derive(Clone, Debug)]
pub struct RtcpPackets<'a> {
    buf: &'a [u8],
    pos: usize,
    walked: usize,
}

pub fn rtcp_packets(buf: &[u8]) -> RtcpPackets<'_> {
    RtcpPackets {
        buf,
        pos: 0,
        walked: 0,
    }
}

impl<'a> RtcpPackets<'a> {
    pub fn covered(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for RtcpPackets<'a> {
    type Item = RtcpPacket<'a>;
    fn next(&mut self) -> Option<RtcpPacket<'a>> {
        if self.walked >= MAX_RTCP_IN_COMPOUND {
            return None;
        }
        let b0 = *self.buf.get(self.pos)?;
        let pt = *self.buf.get(self.pos + 1)?;
        let words = be16(self.buf, self.pos + 2)?;
        if b0 >> 6 != 2 || !(192..=223).contains(&pt) {
            return None;
        }
        let end = self.pos + (usize::from(words) + 1) * 4;
        let bytes = self.buf.get(self.pos..end)?;
        self.pos = end;
        self.walked += 1;
        Some(RtcpPacket {
            packet_type: RtcpType(pt),
            count: b0 & 0x1F,
            padding: b0 & 0x20 != 0,
            ssrc: be32(bytes, 4),
            bytes,
        })
    }
}

/// What one RTCP datagram shows about itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtcpShape<'a> {
    pub packets: u8,
    /// Bitset of types 200–207 seen (bit n = type 200+n); other types set bit 15.
    pub types: u16,
    pub first_ssrc: Option<u32>,
    /// Bytes covered by the packets walked.
    pub covered: usize,
    /// Bytes left after the walk: 0 for plain RTCP, 4+tag for SRTCP.
    pub rest: usize,
    /// NTP timestamp (64-bit) of the first SR.
    pub sr_ntp: Option<u64>,
    /// First SDES CNAME, when it is printable ASCII.
    pub cname: Option<&'a [u8]>,
}

/// Walk an RTCP datagram. Errors when even the first packet is not RTCP.
pub fn rtcp_shape(buf: &[u8]) -> Result<RtcpShape<'_>, RtpError> {
    let mut it = rtcp_packets(buf);
    let mut s = RtcpShape::default();
    for p in it.by_ref() {
        s.packets += 1;
        s.first_ssrc = s.first_ssrc.or(p.ssrc);
        s.types |= match p.packet_type.0 {
            t @ 200..=207 => 1 << (t - 200),
            _ => 1 << 15,
        };
        if p.packet_type == RtcpType::SR && s.sr_ntp.is_none() {
            s.sr_ntp = be32(p.bytes, 8)
                .zip(be32(p.bytes, 12))
                .map(|(hi, lo)| u64::from(hi) << 32 | u64::from(lo));
        }
        if p.packet_type == RtcpType::SDES && s.cname.is_none() {
            s.cname = first_cname(p.bytes);
        }
    }
    if s.packets == 0 {
        let version = buf.first().map_or(0, |b| b >> 6);
        return Err(if buf.len() < 8 {
            truncated("rtcp header", 0, 8, buf.len())
        } else if version != 2 {
            RtpError::BadVersion {
                layer: "rtcp header",
                offset: 0,
                version,
            }
        } else {
            let needed = be16(buf, 2).map_or(8, |w| (usize::from(w) + 1) * 4);
            truncated("rtcp packet", 0, needed, buf.len())
        });
    }
    s.covered = it.covered();
    s.rest = buf.len() - s.covered;
    Ok(s)
}

/// RFC 3550 §6.5: first chunk's first item, if it is a CNAME (type 1) of printable ASCII.
fn first_cname(sdes: &[u8]) -> Option<&[u8]> {
    let (&ty, &len) = (sdes.get(8)?, sdes.get(9)?);
    let text = sdes.get(10..10 + usize::from(len))?;
    (ty == 1 && !text.is_empty() && text.iter().all(|b| (0x20..0x7f).contains(b))).then_some(text)
}

/// An SRTCP trailer candidate (RFC 3711 §3.4): E flag and 31-bit index before a tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SrtcpTrailer {
    pub encrypted: bool,
    pub index: u32,
    pub tag_len: usize,
}

/// Read the E‖index word that would precede a `tag_len`-byte tag at the end of `buf`.
pub fn srtcp_trailer(buf: &[u8], tag_len: usize) -> Option<SrtcpTrailer> {
    let at = buf
        .len()
        .checked_sub(tag_len.checked_add(SRTCP_INDEX_LEN)?)?;
    // The word must follow at least one RTCP header + SSRC.
    if at < 8 {
        return None;
    }
    let w = be32(buf, at)?;
    Some(SrtcpTrailer {
        encrypted: w & 0x8000_0000 != 0,
        index: w & 0x7FFF_FFFF,
        tag_len,
    })
}

/// NTP seconds (RFC 5905 era 0, or era 1 after 2036) to Unix seconds.
pub fn ntp_to_unix_secs(ntp: u64) -> i64 {
    let secs = (ntp >> 32) as i64;
    // Era 1 (after 2036-02-07) wraps; values below 1970 are read as era 1.
    if secs < NTP_UNIX_OFFSET {
        secs + (1 << 32) - NTP_UNIX_OFFSET
    } else {
        secs - NTP_UNIX_OFFSET
    }
}

/// Whether an SR NTP timestamp reads as a wall clock: within a week of the capture time,
/// or (capture time unknown, i.e. 0) in the years 2000–2100.
pub fn ntp_plausible(ntp: u64, capture: Timestamp) -> bool {
    let unix = ntp_to_unix_secs(ntp);
    if capture.0 == 0 {
        return NTP_FALLBACK_UNIX_RANGE.contains(&unix);
    }
    (unix - capture.secs() as i64).abs() <= NTP_MAX_SKEW_SECS
}

/// Whether media payloads are encrypted, as far as the wire shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    Plain,
    Srtp,
    #[default]
    Unknown,
}

/// Per-SSRC counters for the packets examined.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SsrcStats {
    pub ssrc: u32,
    pub direction: Option<Direction>,
    pub payload_type: u8,
    pub packets: u32,
    /// Sequence numbers skipped (sum of gaps).
    pub lost: u32,
    /// Packets that arrived with an older sequence number.
    pub reordered: u32,
    pub duplicates: u32,
    /// Jumps beyond MAX_DROPOUT (sender restart or a different stream).
    pub restarts: u32,
    #[serde(skip)]
    last_seq: u16,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What a flow's RTP looked like over the packets examined.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RtpSummary {
    pub packets: u32,
    /// Parse failures in the RTP range (too short, bad extension…).
    #[serde(skip_serializing_if = "is_zero")]
    pub malformed: u32,
    pub ssrcs: Vec<SsrcStats>,
    /// SSRCs beyond [`MAX_SSRCS`] (counted, not tracked).
    #[serde(skip_serializing_if = "is_zero")]
    pub ssrcs_untracked: u32,
    pub payload_types: Vec<u8>,
    #[serde(skip_serializing_if = "is_zero")]
    pub with_header_extension: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub with_csrcs: u32,
    pub protection: Protection,
    pub protection_reason: String,
}

impl RtpSummary {
    pub fn is_empty(&self) -> bool {
        self.packets == 0 && self.malformed == 0
    }
}

/// What a flow's RTCP looked like over the packets examined.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RtcpSummary {
    pub packets: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub malformed: u32,
    /// Datagrams with two or more packets walked.
    #[serde(skip_serializing_if = "is_zero")]
    pub compound: u32,
    pub types: Vec<RtcpType>,
    #[serde(skip_serializing_if = "is_zero")]
    pub sender_reports: u32,
    /// SR NTP times that read as a wall clock near capture time (plain RTCP).
    #[serde(skip_serializing_if = "is_zero")]
    pub ntp_plausible: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub ntp_implausible: u32,
    /// First plausible SR wall clock, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sr_wallclock: Option<String>,
    /// First printable SDES CNAME (plain RTCP only; can name a user or host).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    /// Datagrams walked to their exact end (plain RTCP shape).
    #[serde(skip_serializing_if = "is_zero")]
    pub exact: u32,
    /// Datagrams leaving 4+10 or 4+4 bytes after the walk (SRTCP shape).
    #[serde(skip_serializing_if = "is_zero")]
    pub srtcp_trailers: u32,
    /// Consecutive SRTCP indexes that went up by exactly one.
    #[serde(skip_serializing_if = "is_zero")]
    pub srtcp_index_steps: u32,
    /// E flag of the last SRTCP index seen (false = RTCP sent unencrypted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srtcp_encrypted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srtcp_tag_len: Option<usize>,
    pub protection: Protection,
    pub protection_reason: String,
}

impl RtcpSummary {
    pub fn is_empty(&self) -> bool {
        self.packets == 0 && self.malformed == 0
    }
}

/// Last SRTCP candidate per direction, for the +1 index test.
#[derive(Clone, Copy, Debug, Default)]
struct SrtcpCandidate {
    ssrc: u32,
    words: [Option<u32>; 2],
}

/// Per-flow RTP/RTCP state: bounded counters and bitsets, no per-packet allocation.
#[derive(Clone, Debug, Default)]
pub struct RtpTracker {
    first_bytes: [u64; 4],
    first_byte_samples: u16,
    g711_plain: u16,
    g711_tagged: u16,
    g711_other: u16,
    srtcp_last: [Option<SrtcpCandidate>; 2],
    srtcp_steps: [u32; 2],
    rtcp_decided: Vote,
    rtp_decided: (Vote, Vote),
}

impl RtpTracker {
    /// Account one RTP packet.
    pub fn on_rtp(&mut self, dir: Direction, p: &RtpPacket<'_>, sum: &mut RtpSummary) {
        sum.packets = sum.packets.saturating_add(1);
        if p.extension.is_some() {
            sum.with_header_extension += 1;
        }
        if !p.csrcs.is_empty() {
            sum.with_csrcs += 1;
        }
        let pt = p.payload_type.0;
        if !sum.payload_types.contains(&pt) && sum.payload_types.len() < MAX_PAYLOAD_TYPES {
            let at = sum.payload_types.partition_point(|&x| x < pt);
            sum.payload_types.insert(at, pt);
        }
        self.track_sequence(dir, p, sum);
        self.sample_payload(p);
    }

    fn track_sequence(&mut self, dir: Direction, p: &RtpPacket<'_>, sum: &mut RtpSummary) {
        let Some(s) = sum.ssrcs.iter_mut().find(|s| s.ssrc == p.ssrc) else {
            if sum.ssrcs.len() < MAX_SSRCS {
                sum.ssrcs.push(SsrcStats {
                    ssrc: p.ssrc,
                    direction: Some(dir),
                    payload_type: p.payload_type.0,
                    packets: 1,
                    last_seq: p.sequence,
                    ..SsrcStats::default()
                });
            } else {
                sum.ssrcs_untracked = sum.ssrcs_untracked.saturating_add(1);
            }
            return;
        };
        s.packets = s.packets.saturating_add(1);
        let delta = p.sequence.wrapping_sub(s.last_seq);
        match delta {
            0 => s.duplicates += 1,
            1..=MAX_DROPOUT => {
                s.lost += u32::from(delta - 1);
                s.last_seq = p.sequence;
            }
            // Within 100 behind (RFC 3550 A.1 MAX_MISORDER): late packet, keep the max.
            d if d >= u16::MAX - 100 => s.reordered += 1,
            _ => {
                s.restarts += 1;
                s.last_seq = p.sequence;
            }
        }
    }

    fn sample_payload(&mut self, p: &RtpPacket<'_>) {
        let pt = p.payload_type;
        let len = p.payload.len();
        if pt == PayloadType::PCMU || pt == PayloadType::PCMA {
            // Comfort noise or odd ptimes fall in "other" and do not vote.
            if len > 0 && len.is_multiple_of(G711_BYTES_PER_10MS) {
                self.g711_plain += 1;
            } else if SRTP_TAG_LENGTHS
                .iter()
                .any(|&t| len > t && (len - t).is_multiple_of(G711_BYTES_PER_10MS))
            {
                self.g711_tagged += 1;
            } else {
                self.g711_other += 1;
            }
        } else if pt.is_dynamic() && self.first_byte_samples < MAX_PAYLOAD_SAMPLES {
            // Static PTs carry raw samples (G.711/G.722/L16) whose bytes vary anyway.
            if let Some(&b) = p.payload.first() {
                self.first_bytes[usize::from(b >> 6)] |= 1 << (b & 63);
                self.first_byte_samples += 1;
            }
        }
    }

    fn distinct_first_bytes(&self) -> u16 {
        self.first_bytes.iter().map(|w| w.count_ones() as u16).sum()
    }

    /// The vote of the RTP payloads alone.
    fn payload_vote(&self) -> Vote {
        let g = self.g711_plain + self.g711_tagged;
        if g >= MIN_G711_SAMPLES {
            if self.g711_plain > self.g711_tagged * 4 {
                return Some((Protection::Plain, Rule::G711Plain));
            }
            if self.g711_tagged > self.g711_plain * 4 {
                return Some((Protection::Srtp, Rule::G711Tagged));
            }
        }
        let n = self.first_byte_samples;
        if n >= MIN_PAYLOAD_SAMPLES {
            let d = self.distinct_first_bytes();
            if d * 4 >= n * 3 {
                return Some((Protection::Srtp, Rule::RandomFirstByte));
            }
            if d * 4 <= n {
                return Some((Protection::Plain, Rule::StructuredFirstByte));
            }
        }
        None
    }

    fn describe(&self, rule: Rule, rtcp: &RtcpSummary) -> String {
        let g = self.g711_plain + self.g711_tagged;
        let (d, n) = (self.distinct_first_bytes(), self.first_byte_samples);
        match rule {
            Rule::G711Plain => format!("g711 payloads are ptime*8 bytes ({}/{g})", self.g711_plain),
            Rule::G711Tagged => format!(
                "g711 payloads are ptime*8 + auth tag bytes ({}/{g})",
                self.g711_tagged
            ),
            Rule::RandomFirstByte => {
                format!("first payload byte looks random ({d} distinct in {n})")
            }
            Rule::StructuredFirstByte => {
                format!("first payload byte repeats like a codec header ({d} distinct in {n})")
            }
            Rule::SrtcpIndex => {
                let e = if rtcp.srtcp_encrypted == Some(false) {
                    ", E=0: RTCP itself unencrypted"
                } else {
                    ""
                };
                format!("srtcp index goes up by exactly 1 per packet{e}")
            }
            Rule::NtpWallclock => "rtcp walks exactly and the SR NTP time is a wall clock".into(),
            Rule::Cname => "rtcp walks exactly with a readable SDES CNAME".into(),
            Rule::SrtcpTrailer => format!(
                "{} rtcp datagrams end in an srtcp index + tag",
                rtcp.srtcp_trailers
            ),
        }
    }

    /// Account one RTCP datagram.
    pub fn on_rtcp(
        &mut self,
        dir: Direction,
        buf: &[u8],
        capture: Timestamp,
        sum: &mut RtcpSummary,
    ) {
        let shape = match rtcp_shape(buf) {
            Ok(s) => s,
            Err(_) => {
                sum.malformed = sum.malformed.saturating_add(1);
                return;
            }
        };
        sum.packets = sum.packets.saturating_add(1);
        if shape.packets >= 2 {
            sum.compound += 1;
        }
        for bit in 0..16u8 {
            if shape.types & (1 << bit) != 0 && bit < 8 {
                let t = RtcpType(200 + bit);
                if !sum.types.contains(&t) {
                    let at = sum.types.partition_point(|&x| x < t);
                    sum.types.insert(at, t);
                }
            }
        }
        if shape.rest == 0 {
            sum.exact += 1;
            if let Some(c) = shape.cname.filter(|_| sum.cname.is_none()) {
                sum.cname =
                    Some(String::from_utf8_lossy(c.get(..MAX_CNAME_LEN).unwrap_or(c)).into_owned());
            }
        } else if SRTP_TAG_LENGTHS
            .iter()
            .any(|&t| shape.rest == t + SRTCP_INDEX_LEN)
        {
            sum.srtcp_trailers += 1;
            sum.srtcp_tag_len = Some(shape.rest - SRTCP_INDEX_LEN);
        }
        if let Some(ntp) = shape.sr_ntp {
            sum.sender_reports += 1;
            // Only a plain-shaped SR has a readable NTP time; in SRTCP it is ciphertext.
            if ntp_plausible(ntp, capture) {
                sum.ntp_plausible += 1;
                if sum.sr_wallclock.is_none() {
                    let unix = ntp_to_unix_secs(ntp).max(0) as u64;
                    sum.sr_wallclock = Some(Timestamp::from_secs(unix).rfc3339());
                }
            } else {
                sum.ntp_implausible += 1;
            }
        }
        self.srtcp_index_step(dir, buf, &shape, sum);
        self.decide_rtcp(sum);
    }

    fn srtcp_index_step(
        &mut self,
        dir: Direction,
        buf: &[u8],
        shape: &RtcpShape<'_>,
        sum: &mut RtcpSummary,
    ) {
        let ssrc = shape.first_ssrc.unwrap_or(0);
        let mut words = [None; 2];
        for (i, &tag) in SRTP_TAG_LENGTHS.iter().enumerate() {
            words[i] = srtcp_trailer(buf, tag).map(|t| u32::from(t.encrypted) << 31 | t.index);
        }
        let slot = &mut self.srtcp_last[dir.index()];
        if let Some(prev) = slot.filter(|p| p.ssrc == ssrc) {
            for i in 0..SRTP_TAG_LENGTHS.len() {
                if let (Some(a), Some(b)) = (prev.words[i], words[i])
                    && b == a.wrapping_add(1)
                    && shape.rest != 0
                {
                    self.srtcp_steps[i] += 1;
                    sum.srtcp_index_steps = sum.srtcp_index_steps.saturating_add(1);
                    sum.srtcp_encrypted = Some(b & 0x8000_0000 != 0);
                    sum.srtcp_tag_len = Some(SRTP_TAG_LENGTHS[i]);
                }
            }
        }
        *slot = Some(SrtcpCandidate { ssrc, words });
    }

    fn rtcp_vote(&self, sum: &RtcpSummary) -> Vote {
        if self.srtcp_steps.iter().any(|&s| s >= MIN_SRTCP_STEPS) {
            return Some((Protection::Srtp, Rule::SrtcpIndex));
        }
        if sum.ntp_plausible > 0 && sum.exact > 0 {
            return Some((Protection::Plain, Rule::NtpWallclock));
        }
        if sum.cname.is_some() {
            return Some((Protection::Plain, Rule::Cname));
        }
        if sum.srtcp_trailers >= 2 && sum.exact == 0 {
            return Some((Protection::Srtp, Rule::SrtcpTrailer));
        }
        None
    }

    fn decide_rtcp(&mut self, sum: &mut RtcpSummary) {
        let vote = self.rtcp_vote(sum);
        if vote.is_some() && vote != self.rtcp_decided {
            self.rtcp_decided = vote;
            if let Some((p, rule)) = vote {
                sum.protection = p;
                sum.protection_reason = self.describe(rule, sum);
            }
        }
    }

    /// Combine the RTP payload vote with the RTCP vote into `rtp.protection`. Call after
    /// each packet; it only allocates when the decision changes.
    pub fn decide(&mut self, rtp: &mut RtpSummary, rtcp: &RtcpSummary) {
        let key = (self.payload_vote(), self.rtcp_vote(rtcp));
        if key == self.rtp_decided {
            if rtp.protection_reason.is_empty() && rtp.packets > 0 {
                rtp.protection_reason = "not enough evidence yet".into();
            }
            return;
        }
        self.rtp_decided = key;
        let (p, reason) = match key {
            (Some((p, a)), None) | (None, Some((p, a))) => (p, self.describe(a, rtcp)),
            (Some((p, a)), Some((q, b))) if p == q => (
                p,
                format!("{}; {}", self.describe(a, rtcp), self.describe(b, rtcp)),
            ),
            // Payload bytes are what the call content depends on: they win a conflict.
            (Some((p, a)), Some((_, b))) => (
                p,
                format!(
                    "{} (conflicts with: {})",
                    self.describe(a, rtcp),
                    self.describe(b, rtcp)
                ),
            ),
            (None, None) => (Protection::Unknown, "not enough evidence yet".into()),
        };
        rtp.protection = p;
        rtp.protection_reason = reason;
    }
}

/// A protection vote and the test behind it.
type Vote = Option<(Protection, Rule)>;

/// Which test decided a protection vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    G711Plain,
    G711Tagged,
    RandomFirstByte,
    StructuredFirstByte,
    SrtcpIndex,
    NtpWallclock,
    Cname,
    SrtcpTrailer,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rtp(pt: u8, seq: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
        let mut b = vec![0x80, pt];
        b.extend_from_slice(&seq.to_be_bytes());
        b.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
        b.extend_from_slice(&ssrc.to_be_bytes());
        b.extend_from_slice(payload);
        b
    }

    /// Unix time 2017-01-01T00:00:00Z as NTP seconds.
    const NTP_2017: u32 = (1_483_228_800u64 + 2_208_988_800) as u32;
    const CAPTURE_2017: Timestamp = Timestamp(1_483_228_900 * 1_000_000_000);

    fn sr(ssrc: u32, ntp_secs: u32) -> Vec<u8> {
        // SR with no report blocks: length 6 (28 bytes).
        let mut b = vec![0x80, 200, 0x00, 0x06];
        b.extend_from_slice(&ssrc.to_be_bytes());
        b.extend_from_slice(&ntp_secs.to_be_bytes());
        b.extend_from_slice(&0x8000_0000u32.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0x10, 0, 0, 0, 0, 5, 0, 0, 3, 0x20]);
        b
    }

    fn sdes(ssrc: u32, cname: &[u8]) -> Vec<u8> {
        let mut chunk = ssrc.to_be_bytes().to_vec();
        chunk.extend_from_slice(&[1, cname.len() as u8]);
        chunk.extend_from_slice(cname);
        chunk.push(0);
        while !chunk.len().is_multiple_of(4) {
            chunk.push(0);
        }
        let mut b = vec![0x81, 202];
        b.extend_from_slice(&((chunk.len() / 4) as u16).to_be_bytes());
        b.extend_from_slice(&chunk);
        b
    }

    #[test]
    fn rtp_header_fields() {
        let mut b = vec![
            0x92, 0xE0, 0x12, 0x34, 0, 0, 0x03, 0xE8, 0xde, 0xad, 0xbe, 0xef,
        ];
        b.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
        b.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x01, 0x10, 0xAA, 0, 0]);
        b.extend_from_slice(&[0x7c, 0x85]);
        let p = parse_rtp(&b).unwrap();
        assert!(p.marker);
        assert_eq!(p.payload_type, PayloadType(96));
        assert_eq!(
            (p.sequence, p.timestamp, p.ssrc),
            (0x1234, 1000, 0xdeadbeef)
        );
        assert_eq!(p.csrc_iter().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(p.extension.map(|e| e.profile), Some(0xBEDE));
        assert_eq!(p.header_len, 28);
        assert_eq!(p.payload, &[0x7c, 0x85]);
    }

    #[test]
    fn rtp_errors() {
        assert!(matches!(
            parse_rtp(&[0x80; 5]),
            Err(RtpError::Truncated {
                layer: "rtp header",
                ..
            })
        ));
        assert!(matches!(
            parse_rtp(&[0x40; 12]),
            Err(RtpError::BadVersion { version: 1, .. })
        ));
        // CC = 15 but no CSRCs present.
        let mut b = rtp(0, 1, 1, &[]);
        b[0] = 0x8F;
        assert!(matches!(
            parse_rtp(&b),
            Err(RtpError::Truncated {
                layer: "rtp csrc list",
                needed: 72,
                ..
            })
        ));
        // Extension length 0xFFFF words past the end.
        let mut b = rtp(0, 1, 1, &[0xBE, 0xDE, 0xFF, 0xFF]);
        b[0] = 0x90;
        assert!(matches!(
            parse_rtp(&b),
            Err(RtpError::Truncated {
                layer: "rtp header extension",
                ..
            })
        ));
        // Padding count larger than payload.
        let mut b = rtp(0, 1, 1, &[1, 2, 9]);
        b[0] = 0xA0;
        assert_eq!(
            parse_rtp(&b),
            Err(RtpError::BadPadding {
                count: 9,
                available: 3
            })
        );
        let mut b = rtp(0, 1, 1, &[1, 2, 2]);
        b[0] = 0xA0;
        assert_eq!(parse_rtp(&b).unwrap().payload, &[1]);
    }

    #[test]
    fn rtcp_compound_walk() {
        let mut b = sr(0x1111, NTP_2017);
        b.extend_from_slice(&sdes(0x1111, b"alice@example.org"));
        let s = rtcp_shape(&b).unwrap();
        assert_eq!(s.packets, 2);
        assert_eq!(s.rest, 0);
        assert_eq!(s.first_ssrc, Some(0x1111));
        assert_eq!(s.types, 0b101);
        assert_eq!(s.cname, Some(&b"alice@example.org"[..]));
        assert_eq!(ntp_to_unix_secs(s.sr_ntp.unwrap()), 1_483_228_800);
        assert!(ntp_plausible(s.sr_ntp.unwrap(), CAPTURE_2017));
        assert!(ntp_plausible(s.sr_ntp.unwrap(), Timestamp(0)));
        assert!(!ntp_plausible(0x1234_5678_0000_0000, CAPTURE_2017));
        assert!(matches!(
            rtcp_shape(&[0x80, 200, 0, 6]),
            Err(RtpError::Truncated { .. })
        ));
        assert!(matches!(
            rtcp_shape(&[0x40, 200, 0, 1, 0, 0, 0, 0]),
            Err(RtpError::BadVersion { version: 1, .. })
        ));
    }

    /// An SRTCP packet: SR header and SSRC in clear, encrypted body, E‖index, 10-byte tag.
    fn srtcp(ssrc: u32, index: u32, noise: u8) -> Vec<u8> {
        let mut b = vec![0x80, 200, 0x00, 0x06];
        b.extend_from_slice(&ssrc.to_be_bytes());
        b.extend((0..20u8).map(|i| i.wrapping_mul(37).wrapping_add(noise)));
        b.extend_from_slice(&(0x8000_0000 | index).to_be_bytes());
        b.extend((0..10u8).map(|i| i.wrapping_mul(91) ^ noise));
        b
    }

    #[test]
    fn srtcp_trailer_absurd_tag_len_is_none() {
        // Found by the fuzz harness: `tag_len + 4` overflowed.
        assert_eq!(srtcp_trailer(&[0x80; 32], usize::MAX), None);
        assert_eq!(srtcp_trailer(&[0x80; 32], usize::MAX - 3), None);
    }

    #[test]
    fn srtcp_index_sequence_decides_srtp() {
        let mut t = RtpTracker::default();
        let mut rtcp = RtcpSummary::default();
        for i in 1..=4 {
            let b = srtcp(0xCAFE, i, i as u8 * 13);
            assert_eq!(b.len(), 28 + 4 + 10);
            t.on_rtcp(Direction::ToServer, &b, CAPTURE_2017, &mut rtcp);
        }
        assert_eq!(rtcp.srtcp_trailers, 4);
        assert_eq!(rtcp.srtcp_index_steps, 3);
        assert_eq!(rtcp.srtcp_encrypted, Some(true));
        assert_eq!(rtcp.srtcp_tag_len, Some(10));
        assert_eq!(rtcp.protection, Protection::Srtp);
        assert!(
            rtcp.protection_reason.contains("index"),
            "{}",
            rtcp.protection_reason
        );
        let mut rtp = RtpSummary::default();
        t.decide(&mut rtp, &rtcp);
        assert_eq!(rtp.protection, Protection::Srtp);
    }

    #[test]
    fn srtcp_index_needs_the_same_ssrc_and_plus_one() {
        let mut t = RtpTracker::default();
        let mut rtcp = RtcpSummary::default();
        for (ssrc, i) in [(1, 1), (2, 2), (1, 5), (1, 7)] {
            t.on_rtcp(
                Direction::ToServer,
                &srtcp(ssrc, i, 3),
                CAPTURE_2017,
                &mut rtcp,
            );
        }
        assert_eq!(rtcp.srtcp_index_steps, 0);
    }

    #[test]
    fn plain_rtcp_with_ntp_time_decides_plain() {
        let mut t = RtpTracker::default();
        let mut rtcp = RtcpSummary::default();
        let mut b = sr(7, NTP_2017);
        b.extend_from_slice(&sdes(7, b"host-1"));
        t.on_rtcp(Direction::ToClient, &b, CAPTURE_2017, &mut rtcp);
        assert_eq!(rtcp.protection, Protection::Plain);
        assert_eq!(rtcp.cname.as_deref(), Some("host-1"));
        assert_eq!(
            rtcp.sr_wallclock.as_deref(),
            Some("2017-01-01T00:00:00.000000Z")
        );
        assert_eq!(rtcp.types, vec![RtcpType::SR, RtcpType::SDES]);
        assert_eq!(
            serde_json::to_value(&rtcp.types).unwrap(),
            serde_json::json!(["sr", "sdes"])
        );
    }

    #[test]
    fn g711_sizes() {
        let mut t = RtpTracker::default();
        let mut s = RtpSummary::default();
        for seq in 0..6 {
            t.on_rtp(
                Direction::ToServer,
                &parse_rtp(&rtp(0, seq, 5, &[0xff; 160])).unwrap(),
                &mut s,
            );
        }
        t.decide(&mut s, &RtcpSummary::default());
        assert_eq!(s.protection, Protection::Plain);
        let mut t = RtpTracker::default();
        let mut s = RtpSummary::default();
        for seq in 0..6 {
            t.on_rtp(
                Direction::ToServer,
                &parse_rtp(&rtp(8, seq, 5, &[0x55; 170])).unwrap(),
                &mut s,
            );
        }
        t.decide(&mut s, &RtcpSummary::default());
        assert_eq!(s.protection, Protection::Srtp);
        assert!(s.protection_reason.contains("auth tag"));
    }

    #[test]
    fn first_byte_test() {
        // Opus with a constant TOC byte: structured.
        let mut t = RtpTracker::default();
        let mut s = RtpSummary::default();
        for seq in 0..32u16 {
            let payload = [0x78, seq as u8, 0x33];
            t.on_rtp(
                Direction::ToServer,
                &parse_rtp(&rtp(111, seq, 9, &payload)).unwrap(),
                &mut s,
            );
        }
        t.decide(&mut s, &RtcpSummary::default());
        assert_eq!(s.protection, Protection::Plain);
        // Pseudo-random first bytes (an LCG stands in for ciphertext).
        let mut t = RtpTracker::default();
        let mut s = RtpSummary::default();
        let mut x: u32 = 12345;
        for seq in 0..32u16 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let payload = [(x >> 16) as u8, 1, 2];
            t.on_rtp(
                Direction::ToServer,
                &parse_rtp(&rtp(111, seq, 9, &payload)).unwrap(),
                &mut s,
            );
        }
        t.decide(&mut s, &RtcpSummary::default());
        assert_eq!(s.protection, Protection::Srtp, "{}", s.protection_reason);
    }

    #[test]
    fn sequence_accounting() {
        let mut t = RtpTracker::default();
        let mut s = RtpSummary::default();
        for seq in [65534u16, 65535, 0, 3, 2, 2, 40000] {
            t.on_rtp(
                Direction::ToServer,
                &parse_rtp(&rtp(0, seq, 1, &[0; 160])).unwrap(),
                &mut s,
            );
        }
        let st = &s.ssrcs[0];
        assert_eq!(st.packets, 7);
        assert_eq!(st.lost, 2);
        assert_eq!(st.reordered, 2);
        assert_eq!(st.duplicates, 0);
        assert_eq!(st.restarts, 1);
        for ssrc in 0..20 {
            t.on_rtp(
                Direction::ToClient,
                &parse_rtp(&rtp(96, 1, 100 + ssrc, &[0; 4])).unwrap(),
                &mut s,
            );
        }
        assert_eq!(s.ssrcs.len(), MAX_SSRCS);
        assert_eq!(s.ssrcs_untracked, 13);
        assert_eq!(s.payload_types, vec![0, 96]);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..400), ts in any::<u64>()) {
            let _ = parse_rtp(&data);
            let _ = parse_rtp_header_only(&data);
            let _ = rtcp_shape(&data);
            let _ = rtcp_packets(&data).count();
            for tag in SRTP_TAG_LENGTHS { let _ = srtcp_trailer(&data, tag); }
            let mut t = RtpTracker::default();
            let mut r = RtpSummary::default();
            let mut c = RtcpSummary::default();
            t.on_rtcp(Direction::ToServer, &data, Timestamp(ts), &mut c);
            if let Ok(p) = parse_rtp(&data) { t.on_rtp(Direction::ToServer, &p, &mut r); }
            t.decide(&mut r, &c);
        }

        #[test]
        fn rtcp_walk_covers_built_compounds(n in 1usize..6) {
            let mut b = Vec::new();
            for i in 0..n { b.extend_from_slice(&sr(i as u32, NTP_2017)); }
            let s = rtcp_shape(&b).unwrap();
            prop_assert_eq!(usize::from(s.packets), n);
            prop_assert_eq!(s.rest, 0);
        }
    }
}
