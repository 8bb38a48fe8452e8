//! The per-flow media tracker: demultiplexes each datagram of a UDP (or de-framed TCP) flow
//! into STUN/TURN, RTP/RTCP, Zoom framing and the rest, and keeps a bounded summary for the
//! report (`"media": {"stun": …, "turn": …, "rtp": …, "rtcp": …, "zoom": …}`).
//!
//! References: RFC 9443 §3 (demux), RFC 8445 §7 (ICE checks; ICE-lite peers do not send
//! them, RFC 8445 §2.5), RFC 8656 §11–12 (TURN Send/Data indications, ChannelData),
//! SIGNALS.md §2.1–2.5.
//!
//! Cost: the tracker examines at most [`MAX_MEDIA_PACKETS_EXAMINED`] media packets and
//! [`MAX_DATAGRAMS_EXAMINED`] datagrams per flow, then answers [`Progress::Done`] and does no
//! more work; later packets are only counted by the flow table. Per packet it only bumps
//! counters; it allocates when it meets something new (an SSRC, an address, a text value),
//! and every such collection is bounded.

use serde::Serialize;
use std::net::SocketAddr;

use super::demux::{self, PayloadKind};
use super::rtp::{self, RtcpSummary, RtpSummary, RtpTracker};
use super::stun::{self, Anomalies, AttrType, Class, MessageType, Method, StunMessage};
use super::zoom::{self, ZoomSummary, ZoomTracker};
use crate::model::{Direction, Progress, Timestamp};

/// Media packets (RTP, RTCP, Zoom media, ChannelData) examined before [`Progress::Done`].
pub const MAX_MEDIA_PACKETS_EXAMINED: u32 = 64;
/// Datagrams of any kind examined before [`Progress::Done`] (STUN-only or DTLS-heavy flows).
pub const MAX_DATAGRAMS_EXAMINED: u32 = 512;
/// Datagrams without a single recognised one before the flow is [`Progress::NotMine`].
pub const MAX_UNRECOGNISED_PREFIX: u32 = 8;
/// Bounded collections in the summaries.
pub const MAX_ADDRESSES: usize = 8;
pub const MAX_CHANNELS: usize = 8;
pub const MAX_MESSAGE_TYPES: usize = 16;
pub const MAX_VENDOR_ATTRIBUTES: usize = 16;
pub const MAX_ERROR_CODES: usize = 8;
/// USERNAME/REALM/SOFTWARE text kept (bytes, before lossy UTF-8).
pub const MAX_TEXT_LEN: usize = 128;

fn no_anomalies(a: &Anomalies) -> bool {
    a.is_empty()
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A counter per direction, so "both sides send checks" vs "only the client" is visible.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PerDirection {
    pub to_server: u32,
    pub to_client: u32,
}

impl PerDirection {
    fn bump(&mut self, dir: Direction) {
        match dir {
            Direction::ToServer => self.to_server = self.to_server.saturating_add(1),
            Direction::ToClient => self.to_client = self.to_client.saturating_add(1),
        }
    }
    pub fn is_zero(&self) -> bool {
        self.to_server == 0 && self.to_client == 0
    }
    pub fn both(&self) -> bool {
        self.to_server > 0 && self.to_client > 0
    }
}

/// Datagrams per demultiplexed kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    #[serde(skip_serializing_if = "is_zero")]
    pub stun: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub dtls: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub rtp: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub rtcp: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub zrtp: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub channel_data: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub zoom: u32,
    /// Datagrams inside [MS-TURN] multiplexed framing (`FF 10`).
    #[serde(skip_serializing_if = "is_zero")]
    pub ms_turn_framed: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub unknown: u32,
}

impl KindCounts {
    fn bump(&mut self, k: PayloadKind) {
        let c = match k {
            PayloadKind::Stun => &mut self.stun,
            PayloadKind::Dtls => &mut self.dtls,
            PayloadKind::Rtp => &mut self.rtp,
            PayloadKind::Rtcp => &mut self.rtcp,
            PayloadKind::Zrtp => &mut self.zrtp,
            PayloadKind::TurnChannelData => &mut self.channel_data,
            PayloadKind::Unknown => &mut self.unknown,
        };
        *c = c.saturating_add(1);
    }
    fn is_empty(&self) -> bool {
        *self == KindCounts::default()
    }
}

/// STUN as seen on this flow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StunSummary {
    pub messages: u32,
    /// Messages without the magic cookie (RFC 3489).
    #[serde(skip_serializing_if = "is_zero")]
    pub classic: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub malformed: u32,
    pub message_types: Vec<MessageType>,
    pub binding_requests: PerDirection,
    pub binding_responses: PerDirection,
    /// First USERNAME (ICE: `ufragA:ufragB`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// The operator a REALM names (`google`, `signal`, `facebook`, `telegram`, `viber`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm_operator: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nonce: bool,
    /// Non-standard attribute types (sorted, bounded) and the vendors they name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vendor_attributes: Vec<AttrType>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vendors: Vec<&'static str>,
    /// WhatsApp message types 0x0800–0x0805.
    #[serde(skip_serializing_if = "is_zero")]
    pub whatsapp_messages: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub xor_mapped_addresses: Vec<SocketAddr>,
    /// MAPPED-ADDRESS and Zoom's 0x0103 address.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mapped_addresses: Vec<SocketAddr>,
    #[serde(skip_serializing_if = "PerDirection::is_zero")]
    pub ice_controlling: PerDirection,
    #[serde(skip_serializing_if = "PerDirection::is_zero")]
    pub ice_controlled: PerDirection,
    #[serde(skip_serializing_if = "PerDirection::is_zero")]
    pub use_candidate: PerDirection,
    #[serde(skip_serializing_if = "is_zero")]
    pub message_integrity: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub fingerprint: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub error_codes: Vec<u16>,
    #[serde(skip_serializing_if = "no_anomalies")]
    pub anomalies: Anomalies,
}

impl StunSummary {
    pub fn is_empty(&self) -> bool {
        self.messages == 0 && self.malformed == 0
    }
    /// Both sides sent ICE connectivity checks (P2P, SIGNALS.md §2.4).
    pub fn bidirectional_checks(&self) -> bool {
        self.binding_requests.both()
    }
}

/// A TURN channel binding (RFC 8656 §12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ChannelBinding {
    pub channel: u16,
    pub peer: SocketAddr,
}

/// TURN as seen on this flow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TurnSummary {
    #[serde(skip_serializing_if = "is_zero")]
    pub allocate_requests: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub allocate_success: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub allocate_errors: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub refreshes: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub create_permissions: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub channel_binds: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub send_indications: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub data_indications: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relayed_addresses: Vec<SocketAddr>,
    /// XOR-PEER-ADDRESS values: the remote candidates reached through the relay.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peer_addresses: Vec<SocketAddr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ChannelBinding>,
    #[serde(skip_serializing_if = "is_zero")]
    pub channel_data: u32,
    /// Kinds of the payloads relayed in ChannelData and Send/Data indications.
    #[serde(skip_serializing_if = "KindCounts::is_empty")]
    pub relayed_kinds: KindCounts,
}

impl TurnSummary {
    pub fn is_empty(&self) -> bool {
        *self == TurnSummary::default()
    }
}

/// The media part of a flow report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MediaInfo {
    /// Datagrams per demultiplexed kind (examined ones only).
    #[serde(skip_serializing_if = "KindCounts::is_empty")]
    pub kinds: KindCounts,
    #[serde(skip_serializing_if = "StunSummary::is_empty")]
    pub stun: StunSummary,
    #[serde(skip_serializing_if = "TurnSummary::is_empty")]
    pub turn: TurnSummary,
    #[serde(skip_serializing_if = "RtpSummary::is_empty")]
    pub rtp: RtpSummary,
    #[serde(skip_serializing_if = "RtcpSummary::is_empty")]
    pub rtcp: RtcpSummary,
    #[serde(skip_serializing_if = "ZoomSummary::is_empty")]
    pub zoom: ZoomSummary,
}

impl MediaInfo {
    /// Nothing media-like was seen: the flow report can leave `"media"` out.
    pub fn is_empty(&self) -> bool {
        self.stun.is_empty()
            && self.turn.is_empty()
            && self.rtp.is_empty()
            && self.rtcp.is_empty()
            && self.zoom.is_empty()
    }
}

/// The answer to one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaStep<'a> {
    pub progress: Progress,
    /// Payload relayed inside TURN (ChannelData, Send/Data indication DATA) for the caller to
    /// demux again (it may be DTLS). STUN, RTP and RTCP inside it are already accounted here.
    pub relayed: Option<&'a [u8]>,
}

/// Per-flow state for [`MediaInfo`].
#[derive(Clone, Debug, Default)]
pub struct MediaTracker {
    datagrams: u32,
    media_examined: u32,
    recognised: u32,
    turn_seen: bool,
    done: bool,
    rtp: RtpTracker,
    zoom: ZoomTracker,
}

fn insert_sorted<T: Ord + Copy>(v: &mut Vec<T>, x: T, max: usize) {
    if let Err(at) = v.binary_search(&x)
        && v.len() < max
    {
        v.insert(at, x);
    }
}

fn push_unique<T: PartialEq + Copy>(v: &mut Vec<T>, x: T, max: usize) {
    if !v.contains(&x) && v.len() < max {
        v.push(x);
    }
}

/// Keep printable text as is; binary values ([MS-TURN] usernames are tokens) as `hex:…`.
fn text(slot: &mut Option<String>, value: Option<&[u8]>) {
    if let (None, Some(v)) = (slot.as_ref(), value) {
        let v = v.get(..MAX_TEXT_LEN).unwrap_or(v);
        *slot = Some(match std::str::from_utf8(v) {
            Ok(s) if !s.chars().any(char::is_control) => s.to_owned(),
            _ => {
                let hex: String = v
                    .iter()
                    .take(MAX_TEXT_LEN / 4)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("hex:{hex}")
            }
        });
    }
}

impl MediaTracker {
    /// Tell the tracker the flow uses a Zoom media port (UDP 8801–8810): Zoom's first
    /// packets then count without further confirmation.
    pub fn set_zoom_port_hint(&mut self, hint: bool) {
        self.zoom.port_hint = hint;
    }

    /// Feed one datagram (UDP payload, or one frame de-framed from TCP with
    /// [`demux::rfc4571_frames`] and friends).
    pub fn on_datagram<'a>(
        &mut self,
        dir: Direction,
        payload: &'a [u8],
        ts: Timestamp,
        info: &mut MediaInfo,
    ) -> MediaStep<'a> {
        if self.done {
            return MediaStep {
                progress: Progress::Done,
                relayed: None,
            };
        }
        self.datagrams += 1;
        let relayed = self.demux(dir, payload, ts, info);
        let progress = if self.media_examined >= MAX_MEDIA_PACKETS_EXAMINED
            || self.datagrams >= MAX_DATAGRAMS_EXAMINED
        {
            self.done = true;
            Progress::Done
        } else if self.recognised == 0 && self.datagrams >= MAX_UNRECOGNISED_PREFIX {
            self.done = true;
            Progress::NotMine
        } else {
            Progress::NeedMore
        };
        MediaStep { progress, relayed }
    }

    fn demux<'a>(
        &mut self,
        dir: Direction,
        payload: &'a [u8],
        ts: Timestamp,
        info: &mut MediaInfo,
    ) -> Option<&'a [u8]> {
        if (self.zoom.mode().is_some() || self.zoom.port_hint) && self.try_zoom(dir, payload, info)
        {
            return None;
        }
        let mut payload = payload;
        if let Some(inner) = demux::strip_ms_turn(payload) {
            info.kinds.ms_turn_framed += 1;
            payload = inner;
        }
        let kind = demux::classify(payload);
        match kind {
            PayloadKind::Stun => {
                info.kinds.bump(kind);
                self.recognised += 1;
                return self.on_stun(dir, payload, ts, info);
            }
            PayloadKind::TurnChannelData if self.turn_seen => {
                if let Some(cd) = demux::channel_data(payload) {
                    info.kinds.bump(kind);
                    self.recognised += 1;
                    self.media_examined += 1;
                    info.turn.channel_data += 1;
                    self.on_relayed(dir, cd.data, ts, info);
                    return Some(cd.data);
                }
            }
            PayloadKind::Rtp | PayloadKind::Rtcp => {
                info.kinds.bump(kind);
                self.recognised += 1;
                self.media_examined += 1;
                self.on_rtp_or_rtcp(kind, dir, payload, ts, info);
                return None;
            }
            PayloadKind::Dtls | PayloadKind::Zrtp => {
                info.kinds.bump(kind);
                self.recognised += 1;
                return None;
            }
            _ => {}
        }
        if self.zoom.mode().is_none() && !self.zoom.port_hint && self.try_zoom(dir, payload, info) {
            return None;
        }
        // ChannelData-range bytes before any TURN stay a candidate: counted as unknown.
        info.kinds.unknown += 1;
        None
    }

    /// Zoom's embedded RTP/RTCP headers are summarised in `zoom`, not `rtp`/`rtcp`: the
    /// payload behind them is Zoom's own encryption, not SRTP.
    fn try_zoom(&mut self, dir: Direction, payload: &[u8], info: &mut MediaInfo) -> bool {
        let (media, taken) = self.zoom.on_datagram(dir, payload, &mut info.zoom);
        if taken {
            info.kinds.zoom += 1;
            self.recognised += 1;
        }
        if media.is_some() {
            self.media_examined += 1;
        }
        taken
    }

    fn on_rtp_or_rtcp(
        &mut self,
        kind: PayloadKind,
        dir: Direction,
        payload: &[u8],
        ts: Timestamp,
        info: &mut MediaInfo,
    ) {
        if kind == PayloadKind::Rtcp {
            self.rtp.on_rtcp(dir, payload, ts, &mut info.rtcp);
        } else {
            // Header only: with SRTP the padding count sits in the encrypted payload.
            match rtp::parse_rtp_header_only(payload) {
                Ok(p) => self.rtp.on_rtp(dir, &p, &mut info.rtp),
                Err(_) => info.rtp.malformed = info.rtp.malformed.saturating_add(1),
            }
        }
        self.rtp.decide(&mut info.rtp, &info.rtcp);
    }

    /// Account what TURN relays: RTP/RTCP/STUN inside are examined here; DTLS is left to
    /// the caller via [`MediaStep::relayed`].
    fn on_relayed(&mut self, dir: Direction, inner: &[u8], ts: Timestamp, info: &mut MediaInfo) {
        let kind = demux::classify(inner);
        info.turn.relayed_kinds.bump(kind);
        match kind {
            PayloadKind::Rtp | PayloadKind::Rtcp => self.on_rtp_or_rtcp(kind, dir, inner, ts, info),
            // Relayed ICE checks between the peers: count them, do not recurse into TURN again.
            PayloadKind::Stun => {
                if let Ok(m) = stun::parse(inner) {
                    self.account_stun(dir, &m, info);
                }
            }
            _ => {}
        }
    }

    fn on_stun<'a>(
        &mut self,
        dir: Direction,
        payload: &'a [u8],
        ts: Timestamp,
        info: &mut MediaInfo,
    ) -> Option<&'a [u8]> {
        let m = match stun::parse(payload) {
            Ok(m) => m,
            Err(_) => {
                info.stun.malformed = info.stun.malformed.saturating_add(1);
                return None;
            }
        };
        self.account_stun(dir, &m, info);
        self.account_turn(&m, info);
        let data = m.data?;
        if matches!(
            m.method(),
            Method::SEND | Method::DATA | Method::DATA_INDICATION_OLD
        ) {
            self.media_examined += 1;
            self.on_relayed(dir, data, ts, info);
        }
        Some(data)
    }

    fn account_stun(&mut self, dir: Direction, m: &StunMessage<'_>, info: &mut MediaInfo) {
        let s = &mut info.stun;
        s.messages = s.messages.saturating_add(1);
        if !m.has_cookie {
            s.classic += 1;
        }
        insert_sorted(&mut s.message_types, m.msg_type, MAX_MESSAGE_TYPES);
        if m.msg_type.is_whatsapp() {
            s.whatsapp_messages += 1;
        }
        if m.method() == Method::BINDING {
            match m.class() {
                Class::Request => s.binding_requests.bump(dir),
                Class::Success | Class::Error => s.binding_responses.bump(dir),
                Class::Indication => {}
            }
        }
        text(&mut s.username, m.username);
        if s.realm.is_none() && m.realm.is_some() {
            text(&mut s.realm, m.realm);
            s.realm_operator = s.realm.as_deref().and_then(stun::realm_operator);
        }
        text(&mut s.software, m.software);
        s.nonce |= m.nonce;
        for t in m.nonstandard_types() {
            insert_sorted(&mut s.vendor_attributes, t, MAX_VENDOR_ATTRIBUTES);
            if let Some(v) = t.vendor() {
                insert_sorted(&mut s.vendors, v, MAX_VENDOR_ATTRIBUTES);
            }
        }
        if m.msg_type.is_whatsapp() {
            insert_sorted(&mut s.vendors, "whatsapp", MAX_VENDOR_ATTRIBUTES);
        }
        if let Some(a) = m.xor_mapped_address {
            push_unique(&mut s.xor_mapped_addresses, a, MAX_ADDRESSES);
        }
        for a in [m.mapped_address, m.zoom_address].into_iter().flatten() {
            push_unique(&mut s.mapped_addresses, a, MAX_ADDRESSES);
        }
        if m.ice_controlling.is_some() {
            s.ice_controlling.bump(dir);
        }
        if m.ice_controlled.is_some() {
            s.ice_controlled.bump(dir);
        }
        if m.use_candidate {
            s.use_candidate.bump(dir);
        }
        if m.message_integrity {
            s.message_integrity += 1;
        }
        if m.fingerprint.is_some() {
            s.fingerprint += 1;
        }
        if let Some(code) = m.error_code {
            insert_sorted(&mut s.error_codes, code, MAX_ERROR_CODES);
        }
        s.anomalies.insert(m.anomalies);
    }

    fn account_turn(&mut self, m: &StunMessage<'_>, info: &mut MediaInfo) {
        let method = m.method();
        if !method.is_turn() {
            return;
        }
        self.turn_seen = true;
        let t = &mut info.turn;
        match (method, m.class()) {
            (Method::ALLOCATE, Class::Request) => t.allocate_requests += 1,
            (Method::ALLOCATE, Class::Success) => t.allocate_success += 1,
            (Method::ALLOCATE, Class::Error) => t.allocate_errors += 1,
            (Method::REFRESH, Class::Request) => t.refreshes += 1,
            (Method::CREATE_PERMISSION, Class::Request) => t.create_permissions += 1,
            (Method::CHANNEL_BIND, Class::Request) => t.channel_binds += 1,
            (Method::SEND, Class::Indication) => t.send_indications += 1,
            (Method::DATA | Method::DATA_INDICATION_OLD, Class::Indication | Class::Error) => {
                t.data_indications += 1
            }
            _ => {}
        }
        if let Some(l) = m.lifetime {
            t.lifetime = Some(l);
        }
        if let Some(a) = m.xor_relayed_address {
            push_unique(&mut t.relayed_addresses, a, MAX_ADDRESSES);
        }
        if let Some(a) = m.xor_peer_address {
            push_unique(&mut t.peer_addresses, a, MAX_ADDRESSES);
        }
        if let (Method::CHANNEL_BIND, Class::Request, Some(channel), Some(peer)) =
            (method, m.class(), m.channel_number, m.xor_peer_address)
            && !t.channels.iter().any(|c| c.channel == channel)
        {
            push_unique(
                &mut t.channels,
                ChannelBinding { channel, peer },
                MAX_CHANNELS,
            );
        }
    }
}

// Re-exported for callers that only need the summary types.
pub use rtp::Protection;
pub use zoom::ZoomMode;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use stun::MAGIC_COOKIE;

    const TS: Timestamp = Timestamp(1_700_000_000 * 1_000_000_000);

    fn stun_msg(t: u16, tid: u8, body: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&t.to_be_bytes());
        b.extend_from_slice(&(body.len() as u16).to_be_bytes());
        b.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        b.extend_from_slice(&[tid; 12]);
        b.extend_from_slice(body);
        b
    }

    fn attr(t: u16, v: &[u8]) -> Vec<u8> {
        let mut b = t.to_be_bytes().to_vec();
        b.extend_from_slice(&(v.len() as u16).to_be_bytes());
        b.extend_from_slice(v);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        b
    }

    fn xor_peer_v4(ip: [u8; 4], port: u16) -> Vec<u8> {
        let p = (port ^ 0x2112).to_be_bytes();
        let c = MAGIC_COOKIE.to_be_bytes();
        vec![
            0,
            1,
            p[0],
            p[1],
            ip[0] ^ c[0],
            ip[1] ^ c[1],
            ip[2] ^ c[2],
            ip[3] ^ c[3],
        ]
    }

    fn rtp_pkt(seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut b = vec![0x80, 111];
        b.extend_from_slice(&seq.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x12, 0x34]);
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn ice_checks_both_ways_then_rtp() {
        let mut t = MediaTracker::default();
        let mut info = MediaInfo::default();
        let mut req = attr(0x0006, b"abcd:efgh");
        req.extend(attr(0x802A, &[1; 8]));
        req.extend(attr(0x0025, &[]));
        req.extend(attr(0xC057, &[0, 1, 0, 0]));
        let first = stun_msg(0x0001, 1, &req);
        let step = t.on_datagram(Direction::ToServer, &first, TS, &mut info);
        assert_eq!(step.progress, Progress::NeedMore);
        let mut req2 = attr(0x0006, b"efgh:abcd");
        req2.extend(attr(0x8029, &[2; 8]));
        t.on_datagram(
            Direction::ToClient,
            &stun_msg(0x0001, 2, &req2),
            TS,
            &mut info,
        );
        t.on_datagram(
            Direction::ToClient,
            &stun_msg(
                0x0101,
                1,
                &attr(0x0020, &xor_peer_v4([198, 51, 100, 1], 5000)),
            ),
            TS,
            &mut info,
        );
        assert!(info.stun.bidirectional_checks());
        assert_eq!(info.stun.username.as_deref(), Some("abcd:efgh"));
        assert_eq!(info.stun.use_candidate.to_server, 1);
        assert_eq!(info.stun.ice_controlling.to_server, 1);
        assert_eq!(info.stun.ice_controlled.to_client, 1);
        assert_eq!(info.stun.vendors, vec!["google"]);
        assert_eq!(
            info.stun.xor_mapped_addresses,
            vec!["198.51.100.1:5000".parse().unwrap()]
        );
        let mut last = Progress::NeedMore;
        for seq in 0..MAX_MEDIA_PACKETS_EXAMINED as u16 {
            last = t
                .on_datagram(
                    Direction::ToServer,
                    &rtp_pkt(seq, &[0x78, 1, 2, 3]),
                    TS,
                    &mut info,
                )
                .progress;
        }
        assert_eq!(last, Progress::Done);
        assert_eq!(info.rtp.packets, MAX_MEDIA_PACKETS_EXAMINED);
        assert_eq!(info.rtp.protection, Protection::Plain);
        // Later packets cost nothing and change nothing.
        let late = rtp_pkt(999, &[0; 4]);
        let after = t.on_datagram(Direction::ToServer, &late, TS, &mut info);
        assert_eq!(after.progress, Progress::Done);
        assert_eq!(info.rtp.packets, MAX_MEDIA_PACKETS_EXAMINED);
        let json = serde_json::to_value(&info).unwrap();
        assert!(json.get("stun").is_some() && json.get("rtp").is_some());
        assert!(
            json.get("turn").is_none() && json.get("zoom").is_none() && json.get("rtcp").is_none()
        );
    }

    #[test]
    fn turn_allocate_channel_bind_and_channel_data() {
        let mut t = MediaTracker::default();
        let mut info = MediaInfo::default();
        let mut alloc = attr(0x0019, &[17, 0, 0, 0]);
        alloc.extend(attr(0x0014, b"turn.l.google.com"));
        t.on_datagram(
            Direction::ToServer,
            &stun_msg(0x0003, 3, &alloc),
            TS,
            &mut info,
        );
        let mut ok = attr(0x0016, &xor_peer_v4([203, 0, 113, 9], 40000));
        ok.extend(attr(0x000D, &[0, 0, 2, 0x58]));
        t.on_datagram(
            Direction::ToClient,
            &stun_msg(0x0103, 3, &ok),
            TS,
            &mut info,
        );
        let mut bind = attr(0x000C, &[0x40, 0x01, 0, 0]);
        bind.extend(attr(0x0012, &xor_peer_v4([192, 0, 2, 77], 50000)));
        t.on_datagram(
            Direction::ToServer,
            &stun_msg(0x0009, 4, &bind),
            TS,
            &mut info,
        );
        let inner = rtp_pkt(1, &[0x11; 20]);
        let mut cd = vec![0x40, 0x01];
        cd.extend_from_slice(&(inner.len() as u16).to_be_bytes());
        cd.extend_from_slice(&inner);
        let step = t.on_datagram(Direction::ToServer, &cd, TS, &mut info);
        assert_eq!(step.relayed, Some(&inner[..]));
        // Data indication carrying DTLS: handed back to the caller.
        let dtls = [0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0];
        let mut ind = attr(0x0012, &xor_peer_v4([192, 0, 2, 77], 50000));
        ind.extend(attr(0x0013, &dtls));
        let indication = stun_msg(0x0017, 5, &ind);
        let step = t.on_datagram(Direction::ToClient, &indication, TS, &mut info);
        assert_eq!(step.relayed, Some(&dtls[..]));
        let turn = &info.turn;
        assert_eq!(
            (
                turn.allocate_requests,
                turn.allocate_success,
                turn.channel_binds
            ),
            (1, 1, 1)
        );
        assert_eq!(
            turn.relayed_addresses,
            vec!["203.0.113.9:40000".parse().unwrap()]
        );
        assert_eq!(turn.lifetime, Some(600));
        assert_eq!(
            turn.channels,
            vec![ChannelBinding {
                channel: 0x4001,
                peer: "192.0.2.77:50000".parse().unwrap()
            }]
        );
        assert_eq!(turn.channel_data, 1);
        assert_eq!((turn.relayed_kinds.rtp, turn.relayed_kinds.dtls), (1, 1));
        assert_eq!(info.stun.realm_operator, Some("google"));
        assert_eq!(info.rtp.packets, 1);
    }

    #[test]
    fn channel_data_range_before_turn_is_not_taken() {
        let mut t = MediaTracker::default();
        let mut info = MediaInfo::default();
        let cd = [0x40, 0x01, 0x00, 0x02, 0xaa, 0xbb];
        let step = t.on_datagram(Direction::ToServer, &cd, TS, &mut info);
        assert_eq!(step.relayed, None);
        assert_eq!(info.kinds.unknown, 1);
        assert!(info.is_empty());
    }

    #[test]
    fn binary_username_is_kept_as_hex() {
        let mut slot = None;
        text(&mut slot, Some(&[0x02, 0x00, 0xff][..]));
        assert_eq!(slot.as_deref(), Some("hex:0200ff"));
        let mut slot = None;
        text(&mut slot, Some(&b"abcd:efgh"[..]));
        assert_eq!(slot.as_deref(), Some("abcd:efgh"));
    }

    #[test]
    fn unrelated_flow_is_not_mine() {
        let mut t = MediaTracker::default();
        let mut info = MediaInfo::default();
        let mut last = Progress::NeedMore;
        for _ in 0..MAX_UNRECOGNISED_PREFIX {
            last = t
                .on_datagram(Direction::ToServer, b"GET / HTTP/1.1\r\n", TS, &mut info)
                .progress;
        }
        assert_eq!(last, Progress::NotMine);
    }

    #[test]
    fn ms_turn_framed_stun() {
        let mut t = MediaTracker::default();
        let mut info = MediaInfo::default();
        let inner = stun_msg(0x0003, 9, &attr(0x8070, &[0, 0, 0, 2]));
        let mut f = vec![0xff, 0x10];
        f.extend_from_slice(&((inner.len() + 8) as u16).to_be_bytes());
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&inner);
        t.on_datagram(Direction::ToServer, &f, TS, &mut info);
        assert_eq!(info.kinds.ms_turn_framed, 1);
        assert_eq!(info.turn.allocate_requests, 1);
        assert_eq!(info.stun.vendors, vec!["microsoft"]);
    }

    #[test]
    fn zoom_with_port_hint() {
        let mut t = MediaTracker::default();
        t.set_zoom_port_hint(true);
        let mut info = MediaInfo::default();
        t.on_datagram(
            Direction::ToServer,
            &[0x01, 0x00, 0x03, 0x7d, 1, 2, 3, 4, 5],
            TS,
            &mut info,
        );
        let mut pkt = vec![5, 0, 1, 0, 0, 0, 0, 0];
        let mut m = vec![0u8; 19];
        m[0] = 15;
        m.extend_from_slice(&rtp_pkt(1, &[9; 30]));
        pkt.extend_from_slice(&m);
        t.on_datagram(Direction::ToServer, &pkt, TS, &mut info);
        assert_eq!(info.zoom.mode, Some(ZoomMode::Server));
        assert_eq!(info.zoom.media.audio, 1);
        assert_eq!(info.zoom.ssrcs, vec![0x1234]);
        assert!(info.rtp.is_empty());
    }

    proptest! {
        #[test]
        fn never_panics(packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..20), hint in any::<bool>()) {
            let mut t = MediaTracker::default();
            t.set_zoom_port_hint(hint);
            let mut info = MediaInfo::default();
            for (i, p) in packets.iter().enumerate() {
                let dir = if i % 2 == 0 { Direction::ToServer } else { Direction::ToClient };
                let _ = t.on_datagram(dir, p, TS, &mut info);
            }
            let _ = serde_json::to_string(&info).unwrap();
        }
    }
}
