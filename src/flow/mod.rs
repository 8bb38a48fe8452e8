//! Flows: bidirectional 5-tuple conversations with per-direction counters, capture-time
//! idle timeouts, a hard cap with eviction, and the per-flow dissector state.

pub mod inspect;
mod slab;
pub mod table;
pub mod tcp;

use crate::decode::PacketView;
use crate::model::{Direction, Endpoint, FlowKey, Timestamp};
use inspect::Ctx;

pub use inspect::{Facts, Inspection, Inspector};
pub use table::{FlowConfig, FlowTable, TableStats};

/// Why a flow was reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// No packet for longer than the transport's idle timeout.
    Idle,
    /// TCP FIN from both sides or RST, then a short linger.
    Closed,
    /// The table was full: the least recently seen flow made room.
    Evicted,
    /// The input ended.
    EndOfInput,
}

crate::model::word_enum!(EndReason {
    Idle => "idle",
    Closed => "closed",
    Evicted => "evicted",
    EndOfInput => "end-of-input",
});

/// One bidirectional conversation. Kept small (see the size test below): a table holds up
/// to `--max-flows` of them.
#[derive(Debug)]
pub struct Flow {
    pub key: FlowKey,
    /// Whether the client (the SYN sender, else the first sender) is `key.lo`.
    client_is_lo: bool,
    /// Sequence number of the flow in the order it was first seen (stable ordering).
    pub id: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Packets and bytes on the wire, indexed by [`Direction::index`].
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// TCP flags seen (OR of all packets), by direction.
    pub tcp_flags: [u8; 2],
    /// The name the DNS cache held for the server when the flow started.
    pub dns_name: Option<crate::enrich::dns_cache::SharedName>,
    /// Index of the capture file (in the run's input list) where the flow was first seen.
    pub source: u16,
    /// What the dissectors found; boxed at the first payload, `None` while nothing is known.
    facts: Option<Box<Facts>>,
    /// Dissector state: made at the first payload, dropped once the flow is understood.
    pub inspection: Inspection,
    pub(crate) lru: table::Links,
    pub(crate) lru_class: table::Class,
}

/// The facts of a flow where nothing was found.
static NO_FACTS: Facts = Facts::EMPTY;

impl Flow {
    /// The SYN sender, else the first sender.
    pub fn client(&self) -> Endpoint {
        if self.client_is_lo {
            self.key.lo
        } else {
            self.key.hi
        }
    }

    pub fn server(&self) -> Endpoint {
        if self.client_is_lo {
            self.key.hi
        } else {
            self.key.lo
        }
    }

    /// What the dissectors found so far.
    pub fn facts(&self) -> &Facts {
        self.facts.as_deref().unwrap_or(&NO_FACTS)
    }

    pub fn direction_of(&self, src: Endpoint) -> Direction {
        if src == self.client() {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    pub fn total_packets(&self) -> u64 {
        self.packets[0] + self.packets[1]
    }

    /// True once FIN was seen both ways, or RST either way.
    pub fn tcp_closed(&self) -> bool {
        use crate::decode::TcpMeta;
        let f = self.tcp_flags;
        (f[0] | f[1]) & TcpMeta::RST != 0 || (f[0] & f[1] & TcpMeta::FIN != 0)
    }

    /// Drop the dissector state as the flow leaves the table: its report reads only the
    /// facts, and with `replay -j N` the flow is reported on another thread, where freeing
    /// what this thread made costs both threads more (`_mi_page_free_collect` on the engine
    /// thread: 2.3 % → 1.0 % of the `-j 2` samples).
    pub(crate) fn leave_inspection(&mut self) {
        self.inspection = Inspection::Done;
    }

    /// Feed one packet to the dissectors (a no-op once inspection is over).
    pub(crate) fn inspect(&mut self, dir: Direction, pkt: &PacketView<'_>, ctx: &mut Ctx<'_>) {
        self.inspection.on_packet(dir, pkt, &mut self.facts, ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A regression guard: the table holds up to `--max-flows` flows (README "Memory per
    /// flow"). Grows only with a reason written down there.
    #[test]
    fn flow_stays_small() {
        assert!(size_of::<Flow>() <= 144, "Flow is {} B", size_of::<Flow>());
        assert_eq!(size_of::<Option<Flow>>(), size_of::<Flow>());
    }

    #[test]
    fn client_and_server_follow_the_key() {
        let a = Endpoint::new([10, 0, 0, 9].into(), 5000);
        let b = Endpoint::new([10, 0, 0, 2].into(), 443);
        for (client, server) in [(a, b), (b, a)] {
            let key = FlowKey::new(crate::model::IpProto::TCP, client, server).0;
            let mut t = FlowTable::new(FlowConfig::default());
            let i = t.insert(key, client, server, Timestamp(0), &mut |_, _| {});
            let Some(f) = t.flow(i) else {
                panic!("the inserted flow is missing")
            };
            assert_eq!((f.client(), f.server()), (client, server));
            assert_eq!(f.direction_of(client), Direction::ToServer);
            assert_eq!(f.direction_of(server), Direction::ToClient);
            assert!(f.facts().protocol_label().is_none());
        }
    }
}
