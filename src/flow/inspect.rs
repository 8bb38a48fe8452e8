//! Deep inspection of one flow: pick the dissector by probing the first payload bytes
//! (ports are only hints), feed it until it is done, then drop all inspection state so later
//! packets only update counters.

use super::tcp::Stream;
use crate::decode::{PacketView, TcpMeta};
use crate::model::{Direction, IpProto, Progress, Timestamp};
use serde::Serialize;

/// Packets of a flow inspected before giving up on one that nothing recognised.
pub const MAX_UNRECOGNISED_PACKETS: u32 = 12;
/// Packets of a recognised flow inspected at most (media trackers stop earlier by themselves).
pub const MAX_INSPECTED_PACKETS: u32 = 256;

/// What the dissectors found in a flow: owned records, kept until the flow is reported.
#[derive(Debug, Default, Serialize)]
pub struct Facts {
    /// The application protocol recognised on the wire (`tls`, `quic`, `dns`, `http`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<&'static str>,
}

/// Services the engine gives dissectors while they run.
pub struct Ctx {
    pub now: Timestamp,
}

/// Which dissector owns the flow.
#[derive(Debug, Default)]
enum State {
    #[default]
    Probing,
}

/// Per-flow inspection state.
#[derive(Debug, Default)]
pub struct Inspector {
    streams: [Stream; 2],
    packets: u32,
    state: State,
}

impl Inspector {
    /// Feed one packet. Returns `Done` when inspection of this flow should stop.
    pub fn on_packet(
        &mut self,
        dir: Direction,
        pkt: &PacketView<'_>,
        _facts: &mut Facts,
        _ctx: &mut Ctx,
    ) -> Progress {
        self.packets += 1;
        if pkt.proto == IpProto::TCP {
            let stream = &mut self.streams[dir.index()];
            let tcp = pkt.tcp.unwrap_or_default();
            if tcp.has(TcpMeta::SYN) {
                stream.on_syn(tcp.seq);
            }
            stream.on_segment(tcp.seq, pkt.payload);
        }
        match self.state {
            State::Probing if self.packets >= MAX_UNRECOGNISED_PACKETS => Progress::Done,
            State::Probing => Progress::NeedMore,
        }
    }
}
