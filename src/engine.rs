//! The engine: frames in, finished flows out. It owns the flow table, IP reassembly and the
//! packet counters, and keeps time only from the frames it is given.

use crate::capture::Frame;
use crate::decode::{self, Decoded, PacketView, Skip, TcpMeta, defrag::Defrag};
use crate::dissect::tls::cert::CertCache;
use crate::enrich::dns_cache::{DnsCache, Learned};
use crate::flow::inspect::Ctx;
use crate::flow::{EndReason, Flow, FlowConfig, FlowTable, Inspection};
use crate::model::{Endpoint, FlowKey, IpProto, Timestamp};
use serde::Serialize;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

/// The sweep (of idle flows and stale fragments) after one at `now`: the start of the next
/// whole second of capture time. Sweeps fall at the first frame of every whole second, so
/// where a sweep falls does not depend on the frame an engine started reading at (one
/// started mid-capture sweeps at the same frames).
fn next_sweep_after(now: Timestamp) -> Timestamp {
    Timestamp::from_secs(now.secs().saturating_add(1))
}

/// Packet-level counters.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct PacketStats {
    pub frames: u64,
    pub bytes: u64,
    pub ip: u64,
    pub tcp: u64,
    pub udp: u64,
    pub icmp: u64,
    pub other_ip: u64,
    pub non_ip: u64,
    pub truncated: u64,
    pub unsupported_link: u64,
    pub bad_ip: u64,
    /// Frames whose timestamp went backwards (their time is clamped for expiry).
    pub time_went_backwards: u64,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct EngineConfig {
    pub flow: FlowConfig,
}

/// Sharded mode (`replay --threads N`): every shard engine sees every frame (so clocks,
/// sweeps, reassembly and packet counters match a single engine), but keeps flows only for
/// the 5-tuples whose symmetric hash falls to it, and reports in [`ShardEvent`]s.
#[derive(Clone, Copy, Debug)]
struct Shard {
    index: u64,
    count: u64,
}

impl Shard {
    fn owns(&self, key: &FlowKey) -> bool {
        shard_of(key, self.count) == self.index
    }

    /// One of several: the merger numbers and names the flows, so the shard reports their
    /// starts and its DNS answers (a lone shard does both itself).
    fn merger_names_flows(&self) -> bool {
        self.count > 1
    }
}

/// The shard (of `count`) that owns a flow. Both directions share a [`FlowKey`], so both
/// land on the same shard.
pub fn shard_of(key: &FlowKey, count: u64) -> u64 {
    // One shard (`--threads 2`) owns every flow: no hash for it, per frame.
    if count <= 1 {
        return 0;
    }
    let mut h = rustc_hash::FxHasher::default();
    key.hash(&mut h);
    // FxHash leaves the low bits weak; fold the high bits in, then map the mixed hash onto
    // 0..count by a multiply and shift (its high bits), not a remainder: every shard runs
    // this for every frame, and a 64-bit division was the hottest instruction of a shard.
    let x = h.finish();
    let x = (x ^ (x >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    let x = x ^ (x >> 33);
    ((u128::from(x) * u128::from(count)) >> 64) as u64
}

/// Where in the processing of a frame an event happened: a frame first sweeps idle flows
/// (step 0), then feeds first fragments of datagrams that timed out (steps 1, 2, …), then
/// its own packet ([`STEP_PACKET`]). All shards number the steps alike.
pub const STEP_PACKET: u32 = u32::MAX;

/// What a shard engine reports, tagged with the index of the frame that caused it (the
/// number of frames before it; end of input counts as one more frame) and the step within
/// that frame. Within a shard, events come in the order they happened.
#[derive(Debug)]
pub struct ShardEvent {
    pub frame: u64,
    pub step: u32,
    pub kind: ShardEventKind,
}

#[derive(Debug)]
pub enum ShardEventKind {
    /// A flow was created; `id` is the shard's own flow id. The merger gives it its global
    /// id and looks its server up in the one DNS cache at `ts`. A lone shard (one of one)
    /// sees every flow and every DNS answer, so it numbers and names its flows itself, as
    /// a single engine does, and reports neither `Started` nor `Dns`.
    Started {
        id: u64,
        server: IpAddr,
        ts: Timestamp,
    },
    /// A DNS answer seen on one of the shard's flows.
    Dns(Learned),
    /// A flow ended (its `id` is still the shard's own, `dns_name` unset, unless the shard
    /// is alone).
    Finished(Box<Flow>, EndReason),
}

/// Where the engine's results go: the caller's callback, or a shard's event list.
struct Out<'a, F> {
    finished: &'a mut F,
    events: Option<&'a mut Vec<ShardEvent>>,
    frame: u64,
    step: u32,
}

impl<F: FnMut(Flow, EndReason)> Out<'_, F> {
    fn finish(&mut self, flow: Flow, reason: EndReason) {
        match self.events.as_deref_mut() {
            Some(events) => events.push(ShardEvent {
                frame: self.frame,
                step: self.step,
                kind: ShardEventKind::Finished(Box::new(flow), reason),
            }),
            None => (self.finished)(flow, reason),
        }
    }

    fn event(&mut self, kind: ShardEventKind) {
        if let Some(events) = self.events.as_deref_mut() {
            events.push(ShardEvent {
                frame: self.frame,
                step: self.step,
                kind,
            });
        }
    }
}

pub struct Engine {
    table: FlowTable,
    defrag: Defrag,
    dns: DnsCache,
    certs: CertCache,
    /// Latest capture time seen: the engine's clock.
    now: Timestamp,
    next_sweep: Timestamp,
    source: u16,
    shard: Option<Shard>,
    /// Scratch for a shard's recorded DNS answers.
    learned: Vec<Learned>,
    pub packets: PacketStats,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        Engine {
            table: FlowTable::new(config.flow),
            defrag: Defrag::default(),
            dns: DnsCache::new(),
            certs: CertCache::default(),
            now: Timestamp(0),
            next_sweep: Timestamp(0),
            source: 0,
            shard: None,
            learned: Vec::new(),
            packets: PacketStats::default(),
        }
    }

    /// Shard `index` of `count` (see [`ShardEvent`]). The flow cap is split evenly:
    /// each shard keeps at most `max_flows / count` flows and evicts among its own.
    pub fn new_shard(config: EngineConfig, index: u64, count: u64) -> Self {
        let count = count.max(1);
        let mut flow = config.flow;
        flow.max_flows = (flow.max_flows / count as usize).max(1);
        let mut engine = Engine::new(EngineConfig { flow });
        let shard = Shard {
            index: index % count,
            count,
        };
        if shard.merger_names_flows() {
            engine.dns = DnsCache::recording();
        }
        engine.shard = Some(shard);
        engine
    }

    /// The index of the input now being read; new flows remember it.
    pub fn set_source(&mut self, source: u16) {
        self.source = source;
    }

    pub fn table(&self) -> &FlowTable {
        &self.table
    }

    pub fn defrag(&self) -> &Defrag {
        &self.defrag
    }

    pub fn dns_cache(&self) -> &DnsCache {
        &self.dns
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Process one frame; flows that end are handed to `finished`.
    pub fn ingest(&mut self, frame: &Frame<'_>, finished: &mut impl FnMut(Flow, EndReason)) {
        let mut out = Out {
            finished,
            events: None,
            frame: 0,
            step: 0,
        };
        self.frame(frame, &mut out);
    }

    /// A shard engine ([`Engine::new_shard`]) processes frame number `index` (counting from
    /// 0 over the whole run) and appends what happened to `events`.
    pub fn ingest_shard(&mut self, index: u64, frame: &Frame<'_>, events: &mut Vec<ShardEvent>) {
        let mut out = Out {
            finished: &mut |_: Flow, _: EndReason| {},
            events: Some(events),
            frame: index,
            step: 0,
        };
        self.frame(frame, &mut out);
    }

    fn frame<F: FnMut(Flow, EndReason)>(&mut self, frame: &Frame<'_>, out: &mut Out<'_, F>) {
        self.packets.frames += 1;
        self.packets.bytes += u64::from(frame.orig_len);
        if frame.ts < self.now {
            self.packets.time_went_backwards += 1;
        } else {
            self.now = frame.ts;
        }
        if self.now >= self.next_sweep {
            self.table.expire(self.now, &mut |f, r| out.finish(f, r));
            self.defrag.expire(self.now);
            self.stale_fragments(out);
            self.next_sweep = next_sweep_after(self.now);
        }
        out.step = STEP_PACKET;
        match decode::decode(frame.link, frame.data) {
            Decoded::Packet(p) => self.packet(&p, frame.orig_len, frame.ts, out),
            Decoded::Fragment(f) => {
                self.packets.ip += 1;
                if let Some(d) = self.defrag.push(&f, frame.ts)
                    && let Decoded::Packet(p) = decode::transport(d.src, d.dst, d.proto, &d.data)
                {
                    self.packet(&p, frame.orig_len, frame.ts, out);
                }
            }
            Decoded::Skipped(skip) => match skip {
                Skip::NonIp => self.packets.non_ip += 1,
                Skip::Truncated => self.packets.truncated += 1,
                Skip::UnsupportedLink => self.packets.unsupported_link += 1,
                Skip::BadIp => self.packets.bad_ip += 1,
            },
        }
    }

    /// Move the clock to `now` without a frame (a live capture gone quiet) and expire idle
    /// flows and stale fragments at once. A `now` behind the clock is ignored: time only
    /// moves forward, and it is still capture time, supplied by the caller.
    pub fn advance(&mut self, now: Timestamp, finished: &mut impl FnMut(Flow, EndReason)) {
        if now <= self.now {
            return;
        }
        self.now = now;
        self.table.expire(now, finished);
        self.defrag.expire(now);
        self.next_sweep = next_sweep_after(now);
    }

    /// The input ended: report every remaining flow.
    pub fn finish(&mut self, finished: &mut impl FnMut(Flow, EndReason)) {
        self.finish_fragments(finished);
        self.table.drain(finished);
    }

    /// The input ended: first fragments of datagrams never completed count for their flows
    /// (which may start or end flows). The first part of [`Engine::finish`].
    pub fn finish_fragments(&mut self, finished: &mut impl FnMut(Flow, EndReason)) {
        let mut out = Out {
            finished,
            events: None,
            frame: 0,
            step: 0,
        };
        self.defrag.expire_all();
        self.stale_fragments(&mut out);
    }

    /// [`Engine::finish_fragments`] for a shard; `index` is the number of frames read.
    pub fn finish_fragments_shard(&mut self, index: u64, events: &mut Vec<ShardEvent>) {
        let mut out = Out {
            finished: &mut |_: Flow, _: EndReason| {},
            events: Some(events),
            frame: index,
            step: 0,
        };
        self.defrag.expire_all();
        self.stale_fragments(&mut out);
    }

    /// The input ended: report up to `max` of the remaining flows (oldest first); false
    /// once none is left. Callers that queue flows use this to bound the queue. Reports
    /// exactly what [`Engine::finish`] reports, in the same order.
    pub fn finish_some(&mut self, max: usize, finished: &mut impl FnMut(Flow, EndReason)) -> bool {
        // Idempotent: after the first call no fragment is pending.
        self.finish_fragments(finished);
        self.table.drain_some(max, finished)
    }

    /// First fragments of datagrams that were never completed still count for their flow.
    fn stale_fragments<F: FnMut(Flow, EndReason)>(&mut self, out: &mut Out<'_, F>) {
        while let Some(d) = self.defrag.take_stale() {
            out.step = out.step.saturating_add(1);
            if let Decoded::Packet(p) = decode::transport(d.src, d.dst, d.proto, &d.data) {
                let len = u32::try_from(d.data.len()).unwrap_or(u32::MAX);
                self.packet(&p, len, d.first_seen, out);
            }
        }
    }

    fn packet<F: FnMut(Flow, EndReason)>(
        &mut self,
        p: &PacketView<'_>,
        wire_len: u32,
        ts: Timestamp,
        out: &mut Out<'_, F>,
    ) {
        self.packets.ip += 1;
        match p.proto {
            IpProto::TCP => self.packets.tcp += 1,
            IpProto::UDP => self.packets.udp += 1,
            IpProto::ICMP | IpProto::ICMPV6 => self.packets.icmp += 1,
            _ => self.packets.other_ip += 1,
        }
        let src = Endpoint::new(p.src, p.sport);
        let dst = Endpoint::new(p.dst, p.dport);
        let (key, _) = FlowKey::new(p.proto, src, dst);
        if self.shard.is_some_and(|s| !s.owns(&key)) {
            return;
        }
        let tcp = p.tcp.unwrap_or_default();
        let opens = tcp.has(TcpMeta::SYN) && !tcp.has(TcpMeta::ACK);

        let idx = match self.table.get(&key) {
            // A new connection on the 5-tuple of a closed one starts a new flow.
            Some(idx) if opens && self.table.flow(idx).is_some_and(Flow::tcp_closed) => {
                self.table
                    .finish(idx, EndReason::Closed, &mut |f, r| out.finish(f, r));
                None
            }
            found => found,
        };
        let idx = match idx {
            Some(idx) => idx,
            None => {
                let (client, server) = client_server(p, src, dst);
                let idx = self
                    .table
                    .insert(key, client, server, ts, &mut |f, r| out.finish(f, r));
                if let Some(flow) = self.table.flow_mut(idx) {
                    if self.shard.is_some_and(|s| s.merger_names_flows()) {
                        out.event(ShardEventKind::Started {
                            id: flow.id,
                            server: server.ip,
                            ts,
                        });
                    }
                    flow.source = self.source;
                    flow.dns_name = self.dns.lookup_shared(server.ip, ts);
                }
                idx
            }
        };
        let Some(flow) = self.table.flow_mut(idx) else {
            return;
        };
        let dir = flow.direction_of(src);
        let d = dir.index();
        flow.packets[d] += 1;
        flow.bytes[d] += u64::from(wire_len);
        flow.tcp_flags[d] |= tcp.flags;
        flow.last_seen = flow.last_seen.max(ts);
        if !matches!(flow.inspection, Inspection::Done) {
            let mut ctx = Ctx {
                now: ts,
                dns: &mut self.dns,
                certs: &mut self.certs,
            };
            flow.inspect(dir, p, &mut ctx);
        }
        self.table.touch(idx);
        if self.shard.is_some_and(|s| s.merger_names_flows()) {
            self.dns.take_recorded(&mut self.learned);
            for l in self.learned.drain(..) {
                out.event(ShardEventKind::Dns(l));
            }
        }
    }
}

/// The client is the SYN sender; a SYN-ACK names the other side. Without a handshake, the
/// first sender is the client, unless it sends from a well-known port to an ephemeral one
/// (a capture that starts mid-connection sees the server's answer first).
fn client_server(p: &PacketView<'_>, src: Endpoint, dst: Endpoint) -> (Endpoint, Endpoint) {
    if let Some(tcp) = p.tcp
        && tcp.has(TcpMeta::SYN)
    {
        return if tcp.has(TcpMeta::ACK) {
            (dst, src)
        } else {
            (src, dst)
        };
    }
    if p.proto.has_ports() && src.port < 1024 && dst.port >= 1024 {
        (dst, src)
    } else {
        (src, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LinkType;
    use etherparse::PacketBuilder;

    fn tcp(from_client: bool, syn: bool, ack: bool, payload: &[u8]) -> Vec<u8> {
        tcp_seq(from_client, syn, ack, 1, payload)
    }

    fn tcp_seq(from_client: bool, syn: bool, ack: bool, seq: u32, payload: &[u8]) -> Vec<u8> {
        let (s, d, sp, dp) = if from_client {
            ([10, 0, 0, 1], [10, 0, 0, 2], 40000, 443)
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1], 443, 40000)
        };
        let mut b = PacketBuilder::ipv4(s, d, 64).tcp(sp, dp, seq, 100);
        if syn {
            b = b.syn();
        }
        if ack {
            b = b.ack(1);
        }
        let mut out = Vec::new();
        let _ = b.write(&mut out, payload);
        out
    }

    /// Feed raw IP frames one second apart; flows that end go to `out`.
    fn ingest_all(e: &mut Engine, frames: &[Vec<u8>], out: &mut Vec<Flow>) {
        for (i, f) in frames.iter().enumerate() {
            let frame = Frame {
                ts: Timestamp::from_secs(1000 + i as u64),
                link: LinkType::RAW,
                data: f,
                orig_len: f.len() as u32,
            };
            e.ingest(&frame, &mut |f, _| out.push(f));
        }
    }

    fn run(frames: &[Vec<u8>]) -> Vec<Flow> {
        let mut e = Engine::new(EngineConfig::default());
        let mut out = Vec::new();
        ingest_all(&mut e, frames, &mut out);
        e.finish(&mut |f, _| out.push(f));
        out
    }

    #[test]
    fn syn_ack_first_still_names_the_client() {
        let flows = run(&[tcp(false, true, true, b""), tcp(true, false, true, b"x")]);
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].client().port, 40000);
        assert_eq!(flows[0].packets, [1, 1]);
    }

    #[test]
    fn inspector_starts_at_first_payload_from_the_syn_sequence_number() {
        let mut e = Engine::new(EngineConfig::default());
        let ingest = |e: &mut Engine, i: u64, f: &[u8]| {
            let frame = Frame {
                ts: Timestamp::from_secs(1000 + i),
                link: LinkType::RAW,
                data: f,
                orig_len: f.len() as u32,
            };
            e.ingest(&frame, &mut |_, _| {});
        };
        ingest(&mut e, 0, &tcp_seq(true, true, false, 1000, b""));
        ingest(&mut e, 1, &tcp_seq(false, true, true, 5000, b""));
        let pending = |e: &Engine| {
            e.table()
                .iter()
                .all(|f| matches!(f.inspection, Inspection::Pending { .. }))
        };
        assert!(pending(&e), "no inspector for a bare handshake");
        // The request's second half arrives first: it is held until the first half, which
        // only the SYN's sequence number places.
        let req = b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n";
        ingest(
            &mut e,
            2,
            &tcp_seq(true, false, true, 1001 + 10, &req[10..]),
        );
        assert!(!pending(&e));
        ingest(&mut e, 3, &tcp_seq(true, false, true, 1001, &req[..10]));
        let mut flows = Vec::new();
        e.finish(&mut |f, _| flows.push(f));
        let host = flows[0]
            .facts()
            .http
            .as_ref()
            .and_then(|h| h.request.as_ref())
            .and_then(|r| r.host.clone());
        assert_eq!(host.as_deref(), Some("example.org"));
    }

    fn udp_between(sport: u16, dport: u16) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(sport, dport)
            .write(&mut out, b"x");
        out
    }

    /// The frame (counted from the first one fed) at which the flow from port 2000 ended,
    /// feeding an engine the frames of `times` from `start` on: a filler flow in every
    /// frame, the watched flow in frame 1 only.
    fn idle_end_frame(times: &[Timestamp], start: usize) -> Option<usize> {
        let mut e = Engine::new(EngineConfig::default());
        let filler = udp_between(1000, 53);
        let watched = udp_between(2000, 53);
        let mut ended = None;
        for (i, &ts) in times.iter().enumerate().skip(start) {
            let data = if i == 1 { &watched } else { &filler };
            let frame = Frame {
                ts,
                link: LinkType::RAW,
                data,
                orig_len: data.len() as u32,
            };
            e.ingest(&frame, &mut |f, _| {
                if f.key.lo.port == 2000 || f.key.hi.port == 2000 {
                    ended = Some(i);
                }
            });
        }
        ended
    }

    #[test]
    fn idle_flows_end_at_the_same_frame_whichever_frame_the_engine_started_from() {
        // Frames 0.3 s apart: a sweep 1 s after the previous one drifts against the frames,
        // so an engine started one frame later would sweep at other frames.
        let times: Vec<Timestamp> = (0..500u64)
            .map(|i| Timestamp::from_secs_nanos(1000 + i * 3 / 10, (i * 3 % 10) * 100_000_000))
            .collect();
        let from_start = idle_end_frame(&times, 0);
        assert!(
            from_start.is_some(),
            "the watched flow idles out within the frames"
        );
        assert_eq!(idle_end_frame(&times, 1), from_start);
        // It ends at the first frame of the first whole second after its deadline.
        let end = from_start.unwrap_or_default();
        let deadline = Timestamp(times[1].0 + EngineConfig::default().flow.udp_timeout_ns);
        let sweep = next_sweep_after(deadline);
        assert!(times[end - 1] < sweep && sweep <= times[end]);
    }

    fn inspecting(e: &Engine) -> bool {
        e.table()
            .iter()
            .any(|f| matches!(f.inspection, Inspection::Active(_)))
    }

    #[test]
    fn inspection_ends_once_both_directions_began_with_no_dissectors_bytes() {
        let mut e = Engine::new(EngineConfig::default());
        let mut ended = Vec::new();
        let client = b"SSH-2.0-OpenSSH_9.6\r\n";
        ingest_all(&mut e, &[tcp_seq(true, false, true, 1, client)], &mut ended);
        assert!(
            inspecting(&e),
            "the server may still answer in a known protocol"
        );
        let server = b"SSH-2.0-dropbear\r\n";
        ingest_all(
            &mut e,
            &[tcp_seq(false, false, true, 1, server)],
            &mut ended,
        );
        assert!(
            !inspecting(&e),
            "two unclaimable starts: nothing left to find"
        );
    }

    #[test]
    fn a_known_answer_after_unknown_client_bytes_is_still_recognised() {
        let flows = run(&[
            tcp_seq(true, false, true, 1, b"\x00\x01binary"),
            tcp_seq(
                false,
                false,
                true,
                1,
                b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n",
            ),
        ]);
        assert_eq!(flows[0].facts().protocol, Some("http"));
    }

    #[test]
    fn midstream_server_packet_first() {
        let flows = run(&[
            tcp(false, false, true, b"data"),
            tcp(true, false, true, b""),
        ]);
        assert_eq!(flows[0].server().port, 443);
        assert_eq!(flows[0].packets, [1, 1]);
    }

    #[test]
    fn shards_split_flows_evenly_and_keep_both_directions_together() {
        for count in [1u64, 2, 3, 4, 7, 64] {
            let mut per_shard = vec![0u32; count as usize];
            for i in 0..20_000u32 {
                let client = Endpoint {
                    ip: IpAddr::from([10, 0, (i >> 8) as u8, i as u8]),
                    port: 40_000 + (i % 7) as u16,
                };
                let server = Endpoint {
                    ip: IpAddr::from([192, 0, 2, (i % 5) as u8]),
                    port: 443,
                };
                let (there, _) = FlowKey::new(IpProto::TCP, client, server);
                let (back, _) = FlowKey::new(IpProto::TCP, server, client);
                let shard = shard_of(&there, count);
                assert_eq!(shard, shard_of(&back, count));
                per_shard[shard as usize] += 1;
            }
            let mean = 20_000.0 / count as f64;
            for n in per_shard {
                let share = f64::from(n) / mean;
                assert!((0.85..1.15).contains(&share), "{count} shards: {share}");
            }
        }
    }
}
