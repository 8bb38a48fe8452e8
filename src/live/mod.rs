//! Watching an analysis while it runs: live capture from an interface (the only module that
//! uses the `pcap` crate) and replay for the terminal UI, both publishing immutable
//! [`Snapshot`]s.
//!
//! - [`device`] lists interfaces and picks the default one;
//! - [`source`] opens an interface and runs the capture thread ([`batch`]es of frames into
//!   a bounded queue; drops counted, never blocking);
//! - [`privs`] drops root after the capture handle is open;
//! - [`run`] is the pipeline: capture thread → queue → analysis → [`Output`];
//! - [`replay_feed`] replays files with progress and recorded-speed pacing;
//! - [`collector`] and [`snapshot`] turn records into the rows the UI shows.

pub mod batch;
pub mod collector;
pub mod details;
pub mod device;
pub mod output;
pub mod pcapng;
pub mod privs;
pub mod replay_feed;
pub mod run;
pub mod snapshot;
pub mod source;
pub mod stop;

pub use output::{Output, Publisher, Records, Status};
pub use run::{LiveError, LiveOptions, Running, start, watch_signals};
pub use snapshot::{Drops, FindingRow, FlowRow, FlowState, SessionRow, Snapshot, SourceKind};
pub use source::{CaptureOptions, DEFAULT_SNAPLEN};
pub use stop::StopHandle;
