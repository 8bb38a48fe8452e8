//! The UI's sink: keeps the records an analysis reports as rows (bounded), counts bandwidth
//! per second of capture time, and builds [`Snapshot`]s from them and the analyser's live
//! state.

use super::details::detail_lines;
use super::snapshot::{
    Drops, FindingRow, FlowRow, FlowState, HISTORY_SECONDS, SessionRow, Snapshot, SourceKind,
};
use crate::analyze::Analyzer;
use crate::classify::{self, Role};
use crate::flow::{EndReason, Flow};
use crate::model::Timestamp;
use crate::report::{FlowRecord, SessionRecord, Sink, Summary};
use crate::verdict::Encryption;
use std::collections::VecDeque;
use std::io;
use std::sync::Arc;

/// Reported flows kept for the UI; older ones leave the list (they were in the stream).
pub const MAX_FLOW_ROWS: usize = 5_000;
/// Live (not yet reported) flows put in one snapshot; the table can hold a million.
pub const MAX_LIVE_ROWS: usize = 2_000;
/// Ended sessions kept for the UI.
pub const MAX_SESSION_ROWS: usize = 1_000;
/// Findings kept in the feed.
pub const MAX_FINDING_ROWS: usize = 2_000;

/// Per-second packet and byte counts in capture time.
#[derive(Debug, Default)]
struct Bandwidth {
    /// The second being counted.
    second: Option<u64>,
    bytes: u64,
    packets: u64,
    history_bytes: VecDeque<u64>,
    history_packets: VecDeque<u64>,
}

impl Bandwidth {
    fn frame(&mut self, ts: Timestamp, len: u64) {
        let s = ts.secs();
        match self.second {
            None => self.second = Some(s),
            Some(cur) if s > cur => {
                // Close the second, and count the silent seconds in between as zero.
                self.push(self.bytes, self.packets);
                for _ in 0..(s - cur - 1).min(HISTORY_SECONDS as u64) {
                    self.push(0, 0);
                }
                self.bytes = 0;
                self.packets = 0;
                self.second = Some(s);
            }
            // Same second, or time went backwards: count it in the current second.
            Some(_) => {}
        }
        self.bytes += len;
        self.packets += 1;
    }

    fn push(&mut self, bytes: u64, packets: u64) {
        if self.history_bytes.len() >= HISTORY_SECONDS {
            self.history_bytes.pop_front();
            self.history_packets.pop_front();
        }
        self.history_bytes.push_back(bytes);
        self.history_packets.push_back(packets);
    }
}

/// Collects reported records for the UI.
#[derive(Debug, Default)]
pub struct Collector {
    flows: VecDeque<Arc<FlowRow>>,
    sessions: VecDeque<SessionRow>,
    findings: VecDeque<FindingRow>,
    bandwidth: Bandwidth,
    summary: Option<Summary>,
}

impl Collector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Count a frame for the sparklines (call for every frame given to the analyser).
    pub fn frame(&mut self, ts: Timestamp, wire_len: u32) {
        self.bandwidth.frame(ts, u64::from(wire_len));
    }

    /// The summary, once the run ended.
    pub fn final_summary(&self) -> Option<&Summary> {
        self.summary.as_ref()
    }

    /// A snapshot of everything collected plus the analyser's open flows and sessions.
    pub fn snapshot(
        &self,
        analyzer: &Analyzer,
        source: &str,
        kind: SourceKind,
        first_seen: Option<Timestamp>,
        drops: Drops,
    ) -> Snapshot {
        let engine = analyzer.engine();
        let mut sessions: Vec<SessionRow> = self.sessions.iter().cloned().collect();
        sessions.extend(
            analyzer
                .open_sessions()
                .into_iter()
                .map(|record| SessionRow { open: true, record }),
        );
        let mut flows: Vec<Arc<FlowRow>> = self.flows.iter().cloned().collect();
        let mut live: Vec<Arc<FlowRow>> = engine
            .table()
            .iter()
            .take(MAX_LIVE_ROWS)
            .map(|f| Arc::new(live_row(f)))
            .collect();
        live.sort_by_key(|r| r.id);
        flows.extend(live);
        let bw = &self.bandwidth;
        Snapshot {
            source: source.to_string(),
            kind,
            first_seen,
            now: engine.now(),
            packets: engine.packets.frames,
            bytes: engine.packets.bytes,
            packets_per_s: bw.history_packets.back().copied().unwrap_or(bw.packets),
            bytes_per_s: bw.history_bytes.back().copied().unwrap_or(bw.bytes),
            drops,
            live_flows: engine.table().len(),
            flows_reported: analyzer.stats().flows_reported,
            sessions: sessions.into(),
            flows: flows.into(),
            findings: self.findings.iter().cloned().collect::<Vec<_>>().into(),
            // The second being counted is shown too, as the newest (partial) sample.
            bytes_history: bw
                .history_bytes
                .iter()
                .copied()
                .chain(bw.second.map(|_| bw.bytes))
                .collect::<Vec<_>>()
                .into(),
            packets_history: bw
                .history_packets
                .iter()
                .copied()
                .chain(bw.second.map(|_| bw.packets))
                .collect::<Vec<_>>()
                .into(),
            finished: self.summary.is_some(),
            note: None,
        }
    }
}

fn push_bounded<T>(q: &mut VecDeque<T>, item: T, max: usize) {
    if q.len() >= max {
        q.pop_front();
    }
    q.push_back(item);
}

/// A flow still in the table: named and counted, not yet judged.
fn live_row(f: &Flow) -> FlowRow {
    let name = classify::server_name(f);
    FlowRow {
        id: f.id,
        transport: f.key.proto,
        src: f.client(),
        dst: f.server(),
        app: None,
        server_name: name.map(|(n, _)| n.to_string()),
        server_name_source: name.map(|(_, s)| s),
        protocol: f.facts().protocol_label(),
        role: Role::Other,
        route: None,
        encryption: Encryption::Unknown,
        findings: Vec::new(),
        first_seen: f.first_seen,
        last_seen: f.last_seen,
        packets: f.packets,
        bytes: f.bytes,
        state: FlowState::Live,
        server: None,
        details: detail_lines(f.facts(), None),
        record: None,
    }
}

/// A reported flow as a row.
pub fn flow_row(rec: &FlowRecord<'_>) -> FlowRow {
    FlowRow {
        id: rec.id,
        transport: rec.transport,
        src: rec.src,
        dst: rec.dst,
        app: rec.app.map(str::to_string),
        server_name: rec.server_name.map(str::to_string),
        server_name_source: rec.server_name_source,
        protocol: rec.protocol,
        role: rec.role,
        route: rec.route,
        encryption: rec.encryption,
        findings: rec.findings.clone(),
        first_seen: rec.first_seen,
        last_seen: rec.last_seen,
        packets: [rec.packets.to_server, rec.packets.to_client],
        bytes: [rec.bytes.to_server, rec.bytes.to_client],
        state: FlowState::Ended(rec.end_reason),
        server: rec.server.cloned(),
        details: detail_lines(rec.facts, rec.server),
        record: serde_json::to_string(rec).ok().map(Arc::from),
    }
}

impl Sink for Collector {
    fn flow(&mut self, rec: &FlowRecord<'_>) -> io::Result<()> {
        let row = flow_row(rec);
        let server = row
            .server_name
            .clone()
            .unwrap_or_else(|| row.dst.to_string());
        for f in &row.findings {
            push_bounded(
                &mut self.findings,
                FindingRow {
                    ts: row.last_seen,
                    flow: row.id,
                    app: row.app.clone(),
                    server: server.clone(),
                    code: f.code,
                    severity: f.severity,
                    evidence: f.evidence.clone(),
                },
                MAX_FINDING_ROWS,
            );
        }
        push_bounded(&mut self.flows, Arc::new(row), MAX_FLOW_ROWS);
        Ok(())
    }

    fn session(&mut self, rec: &SessionRecord) -> io::Result<()> {
        push_bounded(
            &mut self.sessions,
            SessionRow {
                open: false,
                record: rec.clone(),
            },
            MAX_SESSION_ROWS,
        );
        Ok(())
    }

    fn summary(&mut self, summary: &Summary) -> io::Result<()> {
        self.summary = Some(summary.clone());
        Ok(())
    }
}

/// The reason a flow row shows, in words.
pub fn end_reason_word(state: FlowState) -> &'static str {
    match state {
        FlowState::Live => "live",
        FlowState::Ended(EndReason::Idle) => "idle",
        FlowState::Ended(EndReason::Closed) => "closed",
        FlowState::Ended(EndReason::Evicted) => "evicted",
        FlowState::Ended(EndReason::EndOfInput) => "ended",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidth_counts_per_second_with_silent_gaps() {
        let mut b = Bandwidth::default();
        b.frame(Timestamp::from_secs(10), 100);
        b.frame(Timestamp::from_secs_nanos(10, 5), 50);
        b.frame(Timestamp::from_secs(13), 7);
        assert_eq!(b.history_bytes, [150, 0, 0]);
        assert_eq!(b.history_packets, [2, 0, 0]);
        assert_eq!((b.bytes, b.packets), (7, 1));
        // A huge jump fills at most the history.
        b.frame(Timestamp::from_secs(1_000_000), 1);
        assert_eq!(b.history_bytes.len(), HISTORY_SECONDS);
    }
}
