//! Where a running analysis puts its results: a record sink, plus (for the UI) periodic
//! snapshots.

use super::collector::Collector;
use super::snapshot::{Drops, Snapshot, SourceKind};
use crate::analyze::Analyzer;
use crate::model::Timestamp;
use crate::report::{FlowRecord, SessionRecord, Sink, Summary};
use std::io;
use std::sync::Arc;
use tokio::sync::watch;

/// The state of the run besides the analyser's own.
#[derive(Clone, Debug, Default)]
pub struct Status {
    pub first_seen: Option<Timestamp>,
    pub drops: Drops,
    /// Replay: fraction of the input read.
    pub progress: Option<f64>,
    pub finished: bool,
    pub note: Option<String>,
}

/// A sink that may also want every frame and periodic looks at the analyser.
pub trait Output: Sink {
    /// A frame is about to be analysed.
    fn frame(&mut self, _ts: Timestamp, _wire_len: u32) {}
    /// Called a few times a second, and once more at the end.
    fn publish(&mut self, _analyzer: &Analyzer, _status: &Status) {}
}

/// Records only (headless `live --format ndjson`).
pub struct Records<'w>(pub Box<dyn Sink + 'w>);

impl Sink for Records<'_> {
    fn flow(&mut self, rec: &FlowRecord<'_>) -> io::Result<()> {
        self.0.flow(rec)
    }
    fn session(&mut self, rec: &SessionRecord) -> io::Result<()> {
        self.0.session(rec)
    }
    fn summary(&mut self, summary: &Summary) -> io::Result<()> {
        self.0.summary(summary)
    }
}

impl Output for Records<'_> {}

/// Collects records for the UI and publishes snapshots through a watch channel: the UI
/// always sees the latest one and never makes the analysis wait.
pub struct Publisher {
    collector: Collector,
    tx: watch::Sender<Arc<Snapshot>>,
    source: String,
    kind: SourceKind,
}

impl Publisher {
    pub fn new(tx: watch::Sender<Arc<Snapshot>>, source: &str, kind: SourceKind) -> Self {
        Publisher {
            collector: Collector::new(),
            tx,
            source: source.to_string(),
            kind,
        }
    }

    pub fn collector(&self) -> &Collector {
        &self.collector
    }
}

impl Sink for Publisher {
    fn flow(&mut self, rec: &FlowRecord<'_>) -> io::Result<()> {
        self.collector.flow(rec)
    }
    fn session(&mut self, rec: &SessionRecord) -> io::Result<()> {
        self.collector.session(rec)
    }
    fn summary(&mut self, summary: &Summary) -> io::Result<()> {
        Sink::summary(&mut self.collector, summary)
    }
}

impl Output for Publisher {
    fn frame(&mut self, ts: Timestamp, wire_len: u32) {
        self.collector.frame(ts, wire_len);
    }

    fn publish(&mut self, analyzer: &Analyzer, status: &Status) {
        let kind = match &self.kind {
            SourceKind::Live => SourceKind::Live,
            SourceKind::Replay { speed, .. } => SourceKind::Replay {
                progress: status.progress,
                speed: *speed,
            },
        };
        let mut snap = self.collector.snapshot(
            analyzer,
            &self.source,
            kind,
            status.first_seen,
            status.drops,
        );
        snap.finished = status.finished;
        snap.note = status.note.clone();
        self.tx.send_replace(Arc::new(snap));
    }
}
