//! Zoom's own UDP media framing: the SFU encapsulation to and from Zoom's multimedia routers,
//! the media encapsulation that carries RTP/RTCP headers in clear, and the P2P variant.
//!
//! References (no public spec exists; these are reverse-engineered):
//! - Princeton-Cabernet/zoom-analysis `wireshark/zoom.lua`, `src/lib/zoom.{h,cc}` (IMC'22,
//!   doi 10.1145/3517745.3561414): SFU header (type, seq, dir byte 7: 0 = to Zoom, 4 = from),
//!   media types 15 audio (RTP @19), 16 video (@24 if byte 20 == 2, else @20), 13 server
//!   screen share (@27), 30 P2P screen share (@20), 33/34/35 RTCP (@16).
//! - nDPI `src/lib/protocols/zoom.c`: first packets `01 00 02|03` (client) and
//!   `02 00 02|03` (server), P2P hello `1F 02 01` with the peer IP as a length-prefixed string.
//! - Zoom KB0060548: UDP 8801–8810. Ports are hints only.
//!
//! Observed in the reference corpus (`zoom.pcap`, a 2020 client): SFU type 5 packets whose
//! media header starts at offset 1 instead of 8; this parser accepts that "short" variant
//! only when the embedded RTP/RTCP header checks out, and counts it.

use serde::Serialize;

use super::rtp::{self, RtpPacket};
use crate::model::Direction;

/// Zoom's documented media ports (KB0060548).
pub const ZOOM_UDP_PORTS: std::ops::RangeInclusive<u16> = 8801..=8810;
/// SFU encapsulation header (zoom.lua `zoom_o`).
pub const SFU_HEADER_LEN: usize = 8;
/// The short SFU header seen in older clients (see module docs).
const SFU_SHORT_HEADER_LEN: usize = 1;
/// SFU type that carries a media encapsulation.
pub const SFU_TYPE_MEDIA: u8 = 0x05;
/// Direction byte values (zoom.lua).
pub const DIR_TO_ZOOM: u8 = 0;
pub const DIR_FROM_ZOOM: u8 = 4;
/// P2P hello: fixed header before the length-prefixed IP string (nDPI `zoom.c`).
const P2P_HELLO_HEADER_LEN: usize = 24;
const P2P_HELLO_MAGIC: [u8; 3] = [0x1F, 0x02, 0x01];
/// Longest peer-IP text kept (an IPv6 literal with zone fits).
pub const MAX_PEER_IP_TEXT: usize = 64;
/// Bounded sets in the summary.
pub const MAX_ZOOM_SSRCS: usize = 8;
const MAX_TYPES_KEPT: usize = 16;

pub fn is_zoom_port(port: u16) -> bool {
    ZOOM_UDP_PORTS.contains(&port)
}

/// A media-encapsulation type. Unknown values survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MediaType(pub u8);

impl MediaType {
    pub const SERVER_SCREEN_SHARE: MediaType = MediaType(13);
    pub const AUDIO: MediaType = MediaType(15);
    pub const VIDEO: MediaType = MediaType(16);
    pub const P2P_SCREEN_SHARE: MediaType = MediaType(30);
    pub const RTCP_33: MediaType = MediaType(33);
    pub const RTCP_34: MediaType = MediaType(34);
    pub const RTCP_35: MediaType = MediaType(35);

    /// Offset of the embedded RTP/RTCP header in the media encapsulation, and whether it is RTCP.
    fn embedded_offset(self, media: &[u8]) -> Option<(usize, bool)> {
        Some(match self {
            MediaType::AUDIO => (19, false),
            MediaType::VIDEO if media.get(20) == Some(&2) => (24, false),
            MediaType::VIDEO => (20, false),
            MediaType::SERVER_SCREEN_SHARE => (27, false),
            MediaType::P2P_SCREEN_SHARE => (20, false),
            MediaType::RTCP_33 | MediaType::RTCP_34 | MediaType::RTCP_35 => (16, true),
            _ => return None,
        })
    }
}

/// The RTP or RTCP header a media encapsulation carries in clear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Embedded<'a> {
    Rtp(RtpPacket<'a>),
    /// An RTCP datagram (walk it with [`rtp::rtcp_shape`]).
    Rtcp(&'a [u8]),
}

/// A Zoom media encapsulation with a valid embedded RTP/RTCP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoomMedia<'a> {
    pub media_type: MediaType,
    pub embedded: Embedded<'a>,
}

/// Parse a media encapsulation (the bytes after the SFU header, or a whole P2P datagram).
/// `None` unless the type is a known media type and the embedded header is RTP v2 / RTCP.
pub fn parse_media(media: &[u8]) -> Option<ZoomMedia<'_>> {
    let media_type = MediaType(*media.first()?);
    let (offset, is_rtcp) = media_type.embedded_offset(media)?;
    let inner = media.get(offset..)?;
    let embedded = if is_rtcp {
        rtp::rtcp_shape(inner).ok()?;
        Embedded::Rtcp(inner)
    } else {
        Embedded::Rtp(rtp::parse_rtp_header_only(inner).ok()?)
    };
    Some(ZoomMedia {
        media_type,
        embedded,
    })
}

/// One Zoom datagram to or from a multimedia router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerPacket<'a> {
    /// First packets: `01 00 02|03` from the client, `02 00 01|02|03` from the server.
    Hello { from_client: bool },
    /// SFU type 5 with a media encapsulation.
    Media {
        seq: u16,
        direction: Option<u8>,
        short_header: bool,
        media: ZoomMedia<'a>,
    },
    /// Any other SFU type (3/4 keepalives, control), not validated further.
    Other { sfu_type: u8 },
}

/// Parse a datagram of the SFU encapsulation (zoom.lua `zoom_o`).
pub fn parse_server(payload: &[u8]) -> Option<ServerPacket<'_>> {
    let (&t, &b1, &b2) = (payload.first()?, payload.get(1)?, payload.get(2)?);
    match (t, b1, b2) {
        (0x01, 0x00, 0x02 | 0x03) => return Some(ServerPacket::Hello { from_client: true }),
        (0x02, 0x00, 0x01..=0x03) => return Some(ServerPacket::Hello { from_client: false }),
        _ => {}
    }
    if t != SFU_TYPE_MEDIA || payload.len() <= SFU_HEADER_LEN {
        return (payload.len() >= 4).then_some(ServerPacket::Other { sfu_type: t });
    }
    let seq = u16::from_be_bytes([b1, b2]);
    if let Some(media) = payload.get(SFU_HEADER_LEN..).and_then(parse_media) {
        let direction = payload.get(7).copied();
        return Some(ServerPacket::Media {
            seq,
            direction,
            short_header: false,
            media,
        });
    }
    if let Some(media) = payload.get(SFU_SHORT_HEADER_LEN..).and_then(parse_media) {
        return Some(ServerPacket::Media {
            seq: 0,
            direction: None,
            short_header: true,
            media,
        });
    }
    Some(ServerPacket::Other { sfu_type: t })
}

/// The P2P hello (nDPI `zoom.c`): `1F 02 01`, a 24-byte header, a u32-length-prefixed IP
/// string, a u32-length-prefixed id, then 4 zero bytes, all of it exactly filling the datagram.
/// Returns the IP text (not validated as an address).
pub fn parse_p2p_hello(payload: &[u8]) -> Option<&[u8]> {
    if payload.get(..3)? != P2P_HELLO_MAGIC
        || payload.get(payload.len().checked_sub(4)?..)? != [0, 0, 0, 0]
    {
        return None;
    }
    let ip_len = usize::try_from(be32(payload, P2P_HELLO_HEADER_LEN)?).ok()?;
    let ip_start = P2P_HELLO_HEADER_LEN + 4;
    let ip_end = ip_start.checked_add(ip_len)?;
    let ip = payload.get(ip_start..ip_end)?;
    let id_len = usize::try_from(be32(payload, ip_end)?).ok()?;
    let total = ip_end.checked_add(4)?.checked_add(id_len)?.checked_add(4)?;
    (total == payload.len()).then_some(ip)
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Server-relayed (SFU/MMR) or peer-to-peer framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoomMode {
    Server,
    P2p,
}

/// Packets per media type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MediaCounts {
    #[serde(skip_serializing_if = "is_zero")]
    pub audio: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub video: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub screen_share: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub rtcp: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What a flow's Zoom framing looked like over the packets examined.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ZoomSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<ZoomMode>,
    pub packets: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub hellos: u32,
    pub media: MediaCounts,
    /// Direction bytes: 0 = to Zoom, 4 = from Zoom.
    #[serde(skip_serializing_if = "is_zero")]
    pub to_zoom: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub from_zoom: u32,
    /// SFU type-5 packets with the 1-byte header variant.
    #[serde(skip_serializing_if = "is_zero")]
    pub short_header: u32,
    /// SFU types seen other than 5 (bounded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_sfu_types: Vec<u8>,
    pub ssrcs: Vec<u32>,
    pub payload_types: Vec<u8>,
    /// Peer IP string from the P2P hello (often a LAN address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p2p_peer_ip: Option<String>,
}

impl ZoomSummary {
    pub fn is_empty(&self) -> bool {
        self.packets == 0
    }
}

fn insert_sorted<T: Ord + Copy>(v: &mut Vec<T>, x: T, max: usize) {
    if let Err(at) = v.binary_search(&x)
        && v.len() < max
    {
        v.insert(at, x);
    }
}

/// Per-flow Zoom state.
#[derive(Clone, Debug, Default)]
pub struct ZoomTracker {
    mode: Option<ZoomMode>,
    /// Media packets with a valid embedded header before the mode is confirmed.
    candidates: u8,
    /// The flow uses a Zoom port (set by the caller).
    pub port_hint: bool,
}

/// Media packets with valid embedded headers needed to call a flow Zoom without a hello.
const CONFIRM_MEDIA_PACKETS: u8 = 2;

impl ZoomTracker {
    pub fn mode(&self) -> Option<ZoomMode> {
        self.mode
    }

    /// Feed one datagram. Returns the embedded media when the packet is Zoom media, and
    /// `true` in `.1` when the packet was taken as Zoom at all.
    pub fn on_datagram<'a>(
        &mut self,
        _dir: Direction,
        payload: &'a [u8],
        sum: &mut ZoomSummary,
    ) -> (Option<ZoomMedia<'a>>, bool) {
        if self.mode != Some(ZoomMode::Server)
            && let Some(ip) = parse_p2p_hello(payload)
        {
            self.mode = Some(ZoomMode::P2p);
            sum.mode = self.mode;
            sum.packets += 1;
            sum.hellos += 1;
            if sum.p2p_peer_ip.is_none() {
                let ip = ip.get(..MAX_PEER_IP_TEXT).unwrap_or(ip);
                sum.p2p_peer_ip = Some(String::from_utf8_lossy(ip).into_owned());
            }
            return (None, true);
        }
        if self.mode != Some(ZoomMode::P2p) {
            match parse_server(payload) {
                Some(ServerPacket::Hello { .. }) if self.port_hint || self.mode.is_some() => {
                    self.confirm(ZoomMode::Server, sum);
                    sum.hellos += 1;
                    return (None, true);
                }
                Some(ServerPacket::Media {
                    direction,
                    short_header,
                    media,
                    ..
                }) => {
                    if self.mode.is_none() && !self.port_hint {
                        self.candidates += 1;
                        if self.candidates < CONFIRM_MEDIA_PACKETS {
                            return (None, false);
                        }
                    }
                    self.confirm(ZoomMode::Server, sum);
                    match direction {
                        Some(DIR_TO_ZOOM) => sum.to_zoom += 1,
                        Some(DIR_FROM_ZOOM) => sum.from_zoom += 1,
                        _ => {}
                    }
                    if short_header {
                        sum.short_header += 1;
                    }
                    self.count_media(&media, sum);
                    return (Some(media), true);
                }
                Some(ServerPacket::Other { sfu_type }) if self.mode == Some(ZoomMode::Server) => {
                    sum.packets += 1;
                    insert_sorted(&mut sum.other_sfu_types, sfu_type, MAX_TYPES_KEPT);
                    return (None, true);
                }
                _ => {}
            }
        }
        if self.mode != Some(ZoomMode::Server)
            && let Some(media) = parse_media(payload)
        {
            if self.mode.is_none() {
                self.candidates += 1;
                if self.candidates < CONFIRM_MEDIA_PACKETS {
                    return (None, false);
                }
            }
            self.confirm(ZoomMode::P2p, sum);
            self.count_media(&media, sum);
            return (Some(media), true);
        }
        if self.mode.is_some() {
            sum.packets += 1;
            return (None, true);
        }
        (None, false)
    }

    fn confirm(&mut self, mode: ZoomMode, sum: &mut ZoomSummary) {
        self.mode.get_or_insert(mode);
        sum.mode = self.mode;
        sum.packets += 1;
    }

    fn count_media(&self, media: &ZoomMedia<'_>, sum: &mut ZoomSummary) {
        match media.media_type {
            MediaType::AUDIO => sum.media.audio += 1,
            MediaType::VIDEO => sum.media.video += 1,
            MediaType::SERVER_SCREEN_SHARE | MediaType::P2P_SCREEN_SHARE => {
                sum.media.screen_share += 1
            }
            _ => sum.media.rtcp += 1,
        }
        if let Embedded::Rtp(p) = media.embedded {
            insert_sorted(&mut sum.ssrcs, p.ssrc, MAX_ZOOM_SSRCS);
            insert_sorted(&mut sum.payload_types, p.payload_type.0, MAX_TYPES_KEPT);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rtp_header(pt: u8, ssrc: u32) -> Vec<u8> {
        let mut b = vec![0x90, pt, 0, 1, 0, 0, 0, 2];
        b.extend_from_slice(&ssrc.to_be_bytes());
        b.extend_from_slice(&[0xBE, 0xDE, 0, 1, 0x10, 0xff, 0, 0]);
        b.extend_from_slice(&[0x5a; 40]);
        b
    }

    /// A media encapsulation of `ty` with its RTP/RTCP header at the documented offset.
    fn media(ty: u8, video_byte20: u8, inner: &[u8]) -> Vec<u8> {
        let off = match ty {
            15 => 19,
            16 if video_byte20 == 2 => 24,
            16 | 30 => 20,
            13 => 27,
            _ => 16,
        };
        let mut m = vec![0u8; off];
        m[0] = ty;
        if ty == 16 && video_byte20 == 2 {
            m[20] = 2;
        }
        m.extend_from_slice(inner);
        m
    }

    fn sfu(dir: u8, m: &[u8]) -> Vec<u8> {
        let mut b = vec![SFU_TYPE_MEDIA, 0x12, 0x34, 0, 0, 0, 0, dir];
        b.extend_from_slice(m);
        b
    }

    fn rtcp_rr() -> Vec<u8> {
        vec![0x80, 201, 0, 1, 0, 0, 0, 9]
    }

    #[test]
    fn documented_offsets() {
        let b = media(15, 0, &rtp_header(112, 0xA));
        let a = parse_media(&b).unwrap();
        assert!(matches!(a.embedded, Embedded::Rtp(p) if p.ssrc == 0xA && p.payload_type.0 == 112));
        let b = media(16, 2, &rtp_header(98, 0xB));
        assert!(matches!(parse_media(&b).unwrap().embedded, Embedded::Rtp(p) if p.ssrc == 0xB));
        let b = media(16, 1, &rtp_header(98, 0xC));
        assert!(matches!(parse_media(&b).unwrap().embedded, Embedded::Rtp(p) if p.ssrc == 0xC));
        let b = media(13, 0, &rtp_header(99, 0xD));
        assert_eq!(
            parse_media(&b).unwrap().media_type,
            MediaType::SERVER_SCREEN_SHARE
        );
        let b = media(30, 0, &rtp_header(99, 0xE));
        assert_eq!(
            parse_media(&b).unwrap().media_type,
            MediaType::P2P_SCREEN_SHARE
        );
        let b = media(34, 0, &rtcp_rr());
        assert!(matches!(
            parse_media(&b).unwrap().embedded,
            Embedded::Rtcp(_)
        ));
        // Wrong offset: the byte at 19 is not RTP v2.
        assert_eq!(parse_media(&media(16, 2, &[0x00; 40])), None);
        assert_eq!(parse_media(&[21, 0, 0]), None);
    }

    #[test]
    fn server_flow_with_hello() {
        let mut t = ZoomTracker {
            port_hint: true,
            ..ZoomTracker::default()
        };
        let mut s = ZoomSummary::default();
        let hello = [0x01, 0x00, 0x03, 0x7d, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            t.on_datagram(Direction::ToServer, &hello, &mut s),
            (None, true)
        );
        let up = sfu(DIR_TO_ZOOM, &media(15, 0, &rtp_header(112, 7)));
        let down = sfu(DIR_FROM_ZOOM, &media(16, 2, &rtp_header(98, 8)));
        assert!(t.on_datagram(Direction::ToServer, &up, &mut s).0.is_some());
        assert!(
            t.on_datagram(Direction::ToClient, &down, &mut s)
                .0
                .is_some()
        );
        t.on_datagram(Direction::ToClient, &[0x04, 0, 0, 0, 1, 2], &mut s);
        assert_eq!(s.mode, Some(ZoomMode::Server));
        assert_eq!((s.to_zoom, s.from_zoom), (1, 1));
        assert_eq!((s.media.audio, s.media.video), (1, 1));
        assert_eq!(s.ssrcs, vec![7, 8]);
        assert_eq!(s.other_sfu_types, vec![4]);
        assert_eq!(s.packets, 4);
    }

    #[test]
    fn hello_without_port_hint_is_not_enough() {
        let mut t = ZoomTracker::default();
        let mut s = ZoomSummary::default();
        assert_eq!(
            t.on_datagram(Direction::ToServer, &[0x01, 0x00, 0x02, 9, 9], &mut s),
            (None, false)
        );
        let up = sfu(DIR_TO_ZOOM, &media(15, 0, &rtp_header(112, 7)));
        assert!(!t.on_datagram(Direction::ToServer, &up, &mut s).1);
        assert!(t.on_datagram(Direction::ToServer, &up, &mut s).1);
        assert_eq!(s.mode, Some(ZoomMode::Server));
    }

    #[test]
    fn short_sfu_header_variant() {
        let mut b = vec![SFU_TYPE_MEDIA];
        b.extend_from_slice(&media(34, 0, &rtcp_rr()));
        assert!(matches!(
            parse_server(&b),
            Some(ServerPacket::Media {
                short_header: true,
                ..
            })
        ));
    }

    fn p2p_hello(ip: &str) -> Vec<u8> {
        let mut b = vec![0x1F, 0x02, 0x01, 0x00, 0x08, 0x00, 0x01, 0x00, 0x04];
        b.resize(P2P_HELLO_HEADER_LEN, 0x11);
        b.extend_from_slice(&(ip.len() as u32).to_be_bytes());
        b.extend_from_slice(ip.as_bytes());
        let id = b"00000000-1111-2222-3333-444444444444";
        b.extend_from_slice(&(id.len() as u32).to_be_bytes());
        b.extend_from_slice(id);
        b.extend_from_slice(&[0, 0, 0, 0]);
        b
    }

    #[test]
    fn p2p_flow() {
        let h = p2p_hello("192.0.2.44");
        assert_eq!(parse_p2p_hello(&h), Some(&b"192.0.2.44"[..]));
        let mut bad = h.clone();
        bad.push(0);
        assert_eq!(parse_p2p_hello(&bad), None);
        let mut t = ZoomTracker::default();
        let mut s = ZoomSummary::default();
        assert!(t.on_datagram(Direction::ToServer, &h, &mut s).1);
        let m = media(15, 0, &rtp_header(112, 3));
        assert!(t.on_datagram(Direction::ToClient, &m, &mut s).0.is_some());
        assert_eq!(s.mode, Some(ZoomMode::P2p));
        assert_eq!(s.p2p_peer_ip.as_deref(), Some("192.0.2.44"));
        assert_eq!(s.media.audio, 1);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300), hint in any::<bool>()) {
            let _ = parse_media(&data);
            let _ = parse_server(&data);
            let _ = parse_p2p_hello(&data);
            let mut t = ZoomTracker { port_hint: hint, ..ZoomTracker::default() };
            let mut s = ZoomSummary::default();
            for _ in 0..3 { let _ = t.on_datagram(Direction::ToServer, &data, &mut s); }
        }
    }
}
