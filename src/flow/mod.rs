//! Flows: bidirectional 5-tuple conversations with per-direction counters, capture-time
//! idle timeouts, a hard cap with eviction, and the per-flow dissector state.

pub mod inspect;
pub mod table;
pub mod tcp;

use crate::model::{Direction, Endpoint, FlowKey, Timestamp};
use std::sync::Arc;

pub use inspect::{Facts, Inspection, Inspector};
pub use table::{FlowConfig, FlowTable, TableStats};

/// Why a flow was reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
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

/// One bidirectional conversation.
#[derive(Debug)]
pub struct Flow {
    pub key: FlowKey,
    /// The SYN sender, else the first sender.
    pub client: Endpoint,
    pub server: Endpoint,
    /// Sequence number of the flow in the order it was first seen (stable ordering).
    pub id: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Packets and bytes on the wire, indexed by [`Direction::index`].
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// Transport payload bytes, by direction.
    pub payload_bytes: [u64; 2],
    /// TCP flags seen (OR of all packets), by direction.
    pub tcp_flags: [u8; 2],
    /// The name the DNS cache held for the server when the flow started.
    pub dns_name: Option<Arc<str>>,
    /// Index of the capture file (in the run's input list) where the flow was first seen.
    pub source: u16,
    /// What the dissectors found.
    pub facts: Facts,
    /// Dissector state: made at the first payload, dropped once the flow is understood.
    pub inspection: Inspection,
    pub(crate) lru: table::Links,
}

impl Flow {
    pub fn direction_of(&self, src: Endpoint) -> Direction {
        if src == self.client {
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
}
