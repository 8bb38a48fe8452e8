//! Deep inspection of one flow: pick the dissector by probing the first payload bytes
//! (ports are only hints), feed it until it is done, then drop all inspection state so later
//! packets only update counters.

use super::tcp::Stream;
use crate::decode::{PacketView, TcpMeta};
use crate::dissect::demux::{self, PayloadKind};
use crate::dissect::dns::{self, DnsFeed, DnsInfo, DnsTracker};
use crate::dissect::dtls::{DtlsInfo, DtlsTracker};
use crate::dissect::http::{self, HttpInfo, HttpTracker};
use crate::dissect::media::{MediaInfo, MediaTracker};
use crate::dissect::quic::{self, QuicInfo, QuicTracker};
use crate::dissect::sip::{self, SipInfo, SipTracker};
use crate::dissect::tls::{self, TlsInfo, TlsTracker, cert::CertCache};
use crate::dissect::zoom;
use crate::enrich::dns_cache::DnsCache;
use crate::model::{Direction, IpProto, Progress, Timestamp};
use serde::Serialize;

/// Packets with payload inspected before giving up on a flow that nothing recognised.
pub const MAX_UNRECOGNISED_PACKETS: u32 = 8;
/// Packets of a recognised flow inspected at most (media trackers stop earlier by themselves).
pub const MAX_INSPECTED_PACKETS: u32 = 512;

/// What the dissectors found in a flow: owned records, kept until the flow is reported.
/// Flattened into the flow record; `report::ndjson::flow_json` writes the fields in this order.
#[derive(Debug, Default, Serialize)]
pub struct Facts {
    /// The application protocol recognised on the wire (`tls`, `quic`, `dns`, `http`, …).
    #[serde(skip)]
    pub protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<Box<DnsInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<Box<HttpInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Box<TlsInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quic: Option<Box<QuicInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dtls: Option<Box<DtlsInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip: Option<Box<SipInfo>>,
    #[serde(skip_serializing_if = "no_media")]
    pub media: Option<Box<MediaInfo>>,
}

fn no_media(m: &Option<Box<MediaInfo>>) -> bool {
    m.as_ref().is_none_or(|m| m.is_empty())
}

impl Facts {
    /// Nothing found.
    pub const EMPTY: Facts = Facts {
        protocol: None,
        dns: None,
        http: None,
        tls: None,
        quic: None,
        dtls: None,
        sip: None,
        media: None,
    };

    pub fn is_empty(&self) -> bool {
        let Facts {
            protocol,
            dns,
            http,
            tls,
            quic,
            dtls,
            sip,
            media,
        } = self;
        protocol.is_none()
            && dns.is_none()
            && http.is_none()
            && tls.is_none()
            && quic.is_none()
            && dtls.is_none()
            && sip.is_none()
            && media.is_none()
    }

    /// The protocol label for reports: the dissector's, else what the media tracker saw.
    pub fn protocol_label(&self) -> Option<&'static str> {
        if self.protocol.is_some() {
            return self.protocol;
        }
        let m = self.media.as_deref();
        let dtls = self.dtls.is_some();
        let m = match m {
            Some(m) => m,
            None => return dtls.then_some("dtls"),
        };
        if !m.zoom.is_empty() {
            Some("zoom")
        } else if dtls {
            Some("dtls")
        } else if !m.rtp.is_empty() || !m.rtcp.is_empty() {
            Some("rtp")
        } else if !m.turn.is_empty() {
            Some("turn")
        } else if !m.stun.is_empty() {
            Some("stun")
        } else {
            None
        }
    }
}

/// Services the engine gives dissectors while they run.
pub struct Ctx<'a> {
    pub now: Timestamp,
    /// DNS answers seen on the wire name later flows.
    pub dns: &'a mut DnsCache,
    /// Certificates already parsed on other flows.
    pub certs: &'a mut CertCache,
}

impl Ctx<'_> {
    fn learn(&mut self, feed: DnsFeed) -> Progress {
        for msg in &feed.responses {
            for (ip, name, ttl) in dns::answers_for_cache(msg) {
                self.dns.insert(ip, name, ttl, self.now);
            }
        }
        feed.progress
    }
}

/// A TCP stream that began with bytes no TCP dissector's probe can match, whatever follows
/// (an empty stream may still start anything).
fn unclaimable(start: &[u8]) -> bool {
    !start.is_empty() && tls::ruled_out(start) && http::ruled_out(start) && sip::ruled_out(start)
}

/// DNS, mDNS and LLMNR ports: a hint, confirmed by parsing.
fn dns_port(port: u16) -> bool {
    matches!(port, 53 | 5353 | 5355)
}

/// Which dissector owns the flow.
#[derive(Debug, Default)]
enum State {
    #[default]
    Probing,
    Media(Box<MediaState>),
    Sip(Box<SipTracker>),
    Quic(Box<QuicTracker>),
    Tls(Box<TlsTracker>),
    Dns(Box<DnsTracker>),
    Http(Box<HttpTracker>),
}

/// A UDP media flow multiplexes STUN/TURN, DTLS and RTP on one 5-tuple (RFC 7983).
#[derive(Debug, Default)]
struct MediaState {
    media: MediaTracker,
    media_done: bool,
    dtls: DtlsTracker,
    /// `None` until a DTLS record appears; then whether the DTLS tracker is finished.
    dtls_done: Option<bool>,
}

impl MediaState {
    fn on_datagram(
        &mut self,
        dir: Direction,
        payload: &[u8],
        facts: &mut Facts,
        ctx: &mut Ctx<'_>,
    ) -> Progress {
        let now = ctx.now;
        let mut dtls_payload = is_dtls_byte(payload).then_some(payload);
        if !self.media_done {
            let info = facts.media.get_or_insert_with(Box::default);
            let step = self.media.on_datagram(dir, payload, now, info);
            self.media_done = step.progress != Progress::NeedMore;
            // DTLS relayed inside TURN is still the call's DTLS.
            if let Some(inner) = step.relayed.filter(|p| is_dtls_byte(p)) {
                dtls_payload = Some(inner);
            }
        }
        if let (Some(p), false) = (dtls_payload, self.dtls_done == Some(true)) {
            let info = facts.dtls.get_or_insert_with(Box::default);
            let progress = self.dtls.on_datagram_cached(dir, p, info, ctx.certs);
            self.dtls_done = Some(progress != Progress::NeedMore);
            if progress == Progress::NotMine
                && self.dtls_done == Some(true)
                && info.client_hello.is_none()
            {
                facts.dtls = None;
            }
        }
        if self.media_done && self.dtls_done != Some(false) {
            Progress::Done
        } else {
            Progress::NeedMore
        }
    }
}

/// RFC 7983: a first byte of 20–63 is DTLS.
fn is_dtls_byte(payload: &[u8]) -> bool {
    matches!(payload.first(), Some(20..=63))
}

/// Where deep inspection of a flow stands. A flow carries no [`Inspector`] until its first
/// payload: a SYN flood or a port scan costs no dissector state, only the initial sequence
/// numbers the reassembler needs once data arrives.
#[derive(Debug)]
pub enum Inspection {
    /// No payload yet. `isn[d]` is the sequence number of the first SYN sent in direction
    /// `d` (by [`Direction::index`]) if `syn[d]` (RFC 9293 §3.4: data starts at ISN + 1).
    Pending { isn: [u32; 2], syn: [bool; 2] },
    /// Dissectors are running.
    Active(Box<Inspector>),
    /// Inspection is over (or the protocol has nothing to inspect).
    Done,
}

impl Inspection {
    /// The starting state of a flow of `proto`: only TCP and UDP are inspected.
    pub fn for_proto(proto: IpProto) -> Self {
        if proto.has_ports() {
            Inspection::Pending {
                isn: [0; 2],
                syn: [false; 2],
            }
        } else {
            Inspection::Done
        }
    }

    /// Feed one packet, starting the inspector (and the flow's facts) at the first
    /// payload. Exactly what feeding every packet to an inspector made at the first packet
    /// would do: until payload arrives, an inspector only notes SYN sequence numbers. Facts
    /// still empty when inspection ends are freed.
    pub fn on_packet(
        &mut self,
        dir: Direction,
        pkt: &PacketView<'_>,
        facts: &mut Option<Box<Facts>>,
        ctx: &mut Ctx<'_>,
    ) {
        if let Inspection::Pending { isn, syn } = self {
            if pkt.payload.is_empty() {
                let d = dir.index();
                if let Some(tcp) = pkt.tcp.filter(|t| t.has(TcpMeta::SYN) && !syn[d]) {
                    isn[d] = tcp.seq;
                    syn[d] = true;
                }
                return;
            }
            let mut inspector = Box::<Inspector>::default();
            for ((stream, seq), seen) in inspector.streams.iter_mut().zip(*isn).zip(*syn) {
                if seen {
                    stream.on_syn(seq);
                }
            }
            *self = Inspection::Active(inspector);
        }
        if let Inspection::Active(inspector) = self {
            let found = facts.get_or_insert_with(Box::default);
            if inspector.on_packet(dir, pkt, found, ctx) == Progress::Done {
                *self = Inspection::Done;
                if found.is_empty() {
                    *facts = None;
                }
            }
        }
    }
}

/// Per-flow inspection state.
#[derive(Debug, Default)]
pub struct Inspector {
    streams: [Stream; 2],
    /// Packets with payload seen so far.
    packets: u32,
    state: State,
}

impl Inspector {
    /// Feed one packet. Returns `Done` when inspection of this flow should stop.
    pub fn on_packet(
        &mut self,
        dir: Direction,
        pkt: &PacketView<'_>,
        facts: &mut Facts,
        ctx: &mut Ctx<'_>,
    ) -> Progress {
        if pkt.payload.is_empty() && pkt.proto != IpProto::TCP {
            return Progress::NeedMore;
        }
        let progress = match pkt.proto {
            IpProto::TCP => self.on_tcp(dir, pkt, facts, ctx),
            IpProto::UDP => self.on_udp(dir, pkt, facts, ctx),
            _ => Progress::Done,
        };
        if !pkt.payload.is_empty() {
            self.packets += 1;
        }
        match (progress, &self.state) {
            (Progress::NotMine | Progress::Done, _) => Progress::Done,
            (_, State::Probing) if self.packets >= MAX_UNRECOGNISED_PACKETS => Progress::Done,
            _ if self.packets >= MAX_INSPECTED_PACKETS => Progress::Done,
            _ => Progress::NeedMore,
        }
    }

    fn on_udp(
        &mut self,
        dir: Direction,
        pkt: &PacketView<'_>,
        facts: &mut Facts,
        ctx: &mut Ctx<'_>,
    ) -> Progress {
        if let State::Probing = self.state {
            if dns_port(pkt.sport) || dns_port(pkt.dport) {
                // The tracker's first message is the probe: parsed once, not twice.
                let mut t = Box::<DnsTracker>::default();
                let info = facts.dns.get_or_insert_with(Box::default);
                let feed = t.on_datagram(dir, pkt.payload, info);
                if feed.progress != Progress::NotMine {
                    facts.protocol = Some("dns");
                    self.state = State::Dns(t);
                    return ctx.learn(feed);
                }
                facts.dns = None;
            }
            let zoom_port = zoom::is_zoom_port(pkt.sport) || zoom::is_zoom_port(pkt.dport);
            if quic::probe(pkt.payload) {
                facts.protocol = Some("quic");
                self.state = State::Quic(Box::default());
            } else if sip::probe(pkt.payload) {
                facts.protocol = Some("sip");
                self.state = State::Sip(Box::default());
            } else if zoom_port
                || demux::classify(pkt.payload) != PayloadKind::Unknown
                || zoom::parse_p2p_hello(pkt.payload).is_some()
            {
                let mut media = MediaState::default();
                media.media.set_zoom_port_hint(zoom_port);
                self.state = State::Media(Box::new(media));
            } else {
                return Progress::NeedMore;
            }
        }
        match &mut self.state {
            State::Media(media) => media.on_datagram(dir, pkt.payload, facts, ctx),
            State::Sip(t) => {
                let info = facts.sip.get_or_insert_with(Box::default);
                t.on_datagram(dir, pkt.payload, info)
            }
            State::Quic(quic) => {
                let info = facts.quic.get_or_insert_with(Box::default);
                quic.on_datagram(dir, pkt.payload, info)
            }
            State::Dns(d) => {
                let info = facts.dns.get_or_insert_with(Box::default);
                let feed = d.on_datagram(dir, pkt.payload, info);
                ctx.learn(feed)
            }
            _ => Progress::NeedMore,
        }
    }

    fn on_tcp(
        &mut self,
        dir: Direction,
        pkt: &PacketView<'_>,
        facts: &mut Facts,
        ctx: &mut Ctx<'_>,
    ) -> Progress {
        let stream = &mut self.streams[dir.index()];
        let tcp = pkt.tcp.unwrap_or_default();
        if tcp.has(TcpMeta::SYN) {
            stream.on_syn(tcp.seq);
        }
        if !stream.on_segment(tcp.seq, pkt.payload) {
            return Progress::NeedMore;
        }
        let bytes = stream.bytes();
        if let State::Probing = self.state {
            if tls::probe(bytes) {
                facts.protocol = Some("tls");
                self.state = State::Tls(Box::default());
            } else if http::probe(bytes) {
                facts.protocol = Some("http");
                self.state = State::Http(Box::default());
            } else if sip::probe(bytes) {
                facts.protocol = Some("sip");
                self.state = State::Sip(Box::default());
            } else if dns_port(pkt.sport) || dns_port(pkt.dport) {
                facts.protocol = Some("dns");
                self.state = State::Dns(Box::default());
            } else if self.streams.iter().all(|s| unclaimable(s.bytes())) {
                // Both directions began with bytes no dissector takes, and a stream's start
                // never changes: probing until the packet limit would only copy segments.
                return Progress::Done;
            } else {
                return Progress::NeedMore;
            }
        }
        match &mut self.state {
            State::Tls(t) => {
                let info = facts.tls.get_or_insert_with(Box::default);
                t.on_stream_cached(dir, bytes, info, ctx.certs)
            }
            State::Sip(t) => {
                let info = facts.sip.get_or_insert_with(Box::default);
                t.on_stream(dir, bytes, info)
            }
            State::Http(h) => {
                let info = facts.http.get_or_insert_with(Box::default);
                h.on_stream(dir, bytes, info)
            }
            State::Dns(d) => {
                let info = facts.dns.get_or_insert_with(Box::default);
                let feed = d.on_stream(dir, bytes, info);
                ctx.learn(feed)
            }
            _ => Progress::NeedMore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unclaimable_only_once_every_probe_has_decided() {
        assert!(unclaimable(b"SSH-2.0-OpenSSH_9.6\r\n"));
        assert!(!unclaimable(b""));
        // Still prefixes of a TLS record, an HTTP method, a SIP request.
        assert!(!unclaimable(b"\x16\x03"));
        assert!(!unclaimable(b"GE"));
        assert!(!unclaimable(b"INVITE si"));
        assert!(!unclaimable(b"HTTP/1."));
    }

    proptest! {
        /// A stream's start never changes, so once unclaimable no later bytes make a
        /// probe match: ending inspection then loses nothing.
        #[test]
        fn unclaimable_stays_so_whatever_follows(
            random in proptest::collection::vec(any::<u8>(), 0..24),
            seed in proptest::option::of(0usize..4),
            cut in 0usize..24,
            more in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            // Random bytes, or a real start cut anywhere, so both outcomes are explored.
            const STARTS: [&[u8]; 4] = [
                b"GET / HTTP/1.1\r\n",
                b"SIP/2.0 200 OK",
                b"\x16\x03\x01\x00\x05\x01",
                b"REGISTER sip:a",
            ];
            // The start, and what follows it: the rest of the real start, then anything.
            let (start, mut longer) = match seed {
                Some(k) => (STARTS[k][..cut.min(STARTS[k].len())].to_vec(), STARTS[k].to_vec()),
                None => (random.clone(), random),
            };
            longer.extend_from_slice(&more);
            if unclaimable(&start) {
                prop_assert!(!tls::probe(&longer) && !http::probe(&longer) && !sip::probe(&longer));
                prop_assert!(unclaimable(&longer));
            }
        }
    }
}
