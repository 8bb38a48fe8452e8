//! Dissectors: pure parsers over borrowed bytes, plus small per-flow trackers that keep
//! the state a protocol needs between packets.
//!
//! Rules every dissector follows:
//! - parsers take `&[u8]` and never panic, allocate only for what they keep, and bound every
//!   length and loop with a named constant;
//! - no clock, no I/O, no globals: capture time and direction come in as arguments;
//! - ports are hints, never proof: a dissector probes the bytes and answers
//!   [`Progress::NotMine`](crate::model::Progress) when they are not its protocol.

pub mod demux;
pub mod dns;
pub mod dtls;
pub mod http;
pub mod media;
pub mod quic;
pub mod rtp;
pub mod sdp;
pub mod sip;
pub mod stun;
pub mod tls;
pub mod zoom;
