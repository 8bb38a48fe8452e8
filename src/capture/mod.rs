//! Packet sources: capture files (pcap, pcapng, gzip-compressed, stdin), and the batches in
//! which frames cross threads; live interfaces are read in [`crate::live`]. A source yields
//! [`Frame`]s: borrowed bytes plus capture time and link type.

pub mod batch;
pub mod file;

pub use file::{CaptureError, CaptureErrorKind, CaptureFormat, FileSource};

use crate::model::Timestamp;
use std::fmt;

/// A link-layer header type (tcpdump.org/linktypes.html). A newtype: unknown values survive
/// so the decoder can count them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD's DLT_RAW value, written by some tools as the link type in files.
    pub const RAW_OPENBSD: LinkType = LinkType(14);
    pub const RAW_BSDOS: LinkType = LinkType(12);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One captured packet, borrowed from the source's buffer until the next call.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub ts: Timestamp,
    pub link: LinkType,
    /// The captured bytes (possibly cut by the snap length).
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub orig_len: u32,
}
