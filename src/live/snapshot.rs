//! Immutable snapshots of a running analysis, for the terminal UI. The analysis thread builds
//! one every few hundred milliseconds and publishes it; the UI only ever reads them, so
//! drawing can never slow the capture or the analysis down.
//!
//! Rows hold text from packets as it was seen: whoever displays it must escape it
//! (`report::sanitize::for_terminal`), and exports write it as JSON.

use crate::classify::{NameSource, Role, Route};
use crate::flow::EndReason;
use crate::model::{Endpoint, IpProto, Timestamp};
use crate::session::SessionRecord;
use crate::verdict::{Encryption, Finding, Place, Severity};
use serde::Serialize;
use std::sync::Arc;

/// Where the frames come from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Live,
    Replay {
        /// Fraction of the input bytes read, when the total is known.
        progress: Option<f64>,
        /// Recorded-speed factor; `None` is as fast as possible.
        speed: Option<f64>,
    },
}

/// Frames lost before analysis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Drops {
    /// The kernel's capture buffer was full.
    pub kernel: u64,
    /// The interface or its driver dropped them.
    pub interface: u64,
    /// leakscope's analysis queue was full.
    pub leakscope: u64,
}

impl Drops {
    pub fn total(&self) -> u64 {
        self.kernel + self.interface + self.leakscope
    }
}

/// Whether a flow is still in the table or was reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlowState {
    /// Still open: not yet classified or judged.
    Live,
    Ended(EndReason),
}

/// One flow as the UI shows it.
#[derive(Clone, Debug, Serialize)]
pub struct FlowRow {
    pub id: u64,
    pub transport: IpProto,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub app: Option<String>,
    pub server_name: Option<String>,
    pub server_name_source: Option<NameSource>,
    pub protocol: Option<&'static str>,
    pub role: Role,
    pub route: Option<Route>,
    pub encryption: Encryption,
    pub findings: Vec<Finding>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// To server, to client.
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub state: FlowState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<Place>,
    /// Readable facts for the detail pane: TLS/DTLS certificate, STUN/TURN, SIP, …
    pub details: Vec<String>,
    /// The flow's full NDJSON record, once it was reported (for exports).
    #[serde(skip)]
    pub record: Option<Arc<str>>,
}

impl FlowRow {
    pub fn total_bytes(&self) -> u64 {
        self.bytes[0] + self.bytes[1]
    }

    pub fn total_packets(&self) -> u64 {
        self.packets[0] + self.packets[1]
    }
}

/// A session, open (verdict so far) or ended.
#[derive(Clone, Debug, Serialize)]
pub struct SessionRow {
    pub open: bool,
    #[serde(flatten)]
    pub record: SessionRecord,
}

/// One finding in the live feed.
#[derive(Clone, Debug, Serialize)]
pub struct FindingRow {
    pub ts: Timestamp,
    pub flow: u64,
    pub app: Option<String>,
    pub server: String,
    pub code: &'static str,
    pub severity: Severity,
    pub evidence: String,
}

/// Seconds of bandwidth history kept for the sparklines.
pub const HISTORY_SECONDS: usize = 120;

/// Everything the UI shows, at one moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Interface or file names.
    pub source: String,
    pub kind: SourceKind,
    /// Capture time of the first frame and the engine's clock.
    pub first_seen: Option<Timestamp>,
    pub now: Timestamp,
    pub packets: u64,
    pub bytes: u64,
    /// Rates over the last full second of capture time.
    pub packets_per_s: u64,
    pub bytes_per_s: u64,
    pub drops: Drops,
    /// Flows in the table now, and reported so far.
    pub live_flows: usize,
    pub flows_reported: u64,
    pub sessions: Arc<[SessionRow]>,
    /// Reported flows (the most recent ones, bounded) and then live flows.
    pub flows: Arc<[Arc<FlowRow>]>,
    /// Newest last.
    pub findings: Arc<[FindingRow]>,
    /// Bytes and packets per second of capture time, oldest first.
    pub bytes_history: Arc<[u64]>,
    pub packets_history: Arc<[u64]>,
    /// The input ended (replay done, or the capture stopped).
    pub finished: bool,
    /// A problem worth a line in the UI (e.g. an unreadable file).
    pub note: Option<String>,
}

impl Snapshot {
    /// A snapshot of nothing yet.
    pub fn empty(source: &str, kind: SourceKind) -> Self {
        Snapshot {
            source: source.to_string(),
            kind,
            first_seen: None,
            now: Timestamp(0),
            packets: 0,
            bytes: 0,
            packets_per_s: 0,
            bytes_per_s: 0,
            drops: Drops::default(),
            live_flows: 0,
            flows_reported: 0,
            sessions: Arc::from(Vec::new()),
            flows: Arc::from(Vec::new()),
            findings: Arc::from(Vec::new()),
            bytes_history: Arc::from(Vec::new()),
            packets_history: Arc::from(Vec::new()),
            finished: false,
            note: None,
        }
    }

    /// Capture time covered so far, in seconds.
    pub fn elapsed_s(&self) -> u64 {
        self.first_seen
            .map_or(0, |f| self.now.since(f) / Timestamp::NANOS_PER_SEC)
    }
}
