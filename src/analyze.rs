//! The analyser: engine in front, then for every finished flow classify → verdict → session,
//! and hand the records to a sink. Replay and live capture both drive it.

use crate::capture::Frame;
use crate::classify::{self, Links};
use crate::decode::defrag::DefragStats;
use crate::engine::{Engine, EngineConfig, PacketStats};
use crate::enrich::geo::{GeoDb, Jurisdiction, TransferRules, country_name};
use crate::flow::{EndReason, Flow, TableStats};
use crate::model::Timestamp;
use crate::report::record::FlowCounts;
use crate::report::{FlowRecord, InputSummary, Sink, Summary};
use crate::session::{SessionRecord, Sessions};
use crate::signature::SignatureSet;
use crate::verdict::Severity;
use crate::verdict::{self, Place, SessionRef};
use std::io;
use std::sync::Arc;

/// How often (capture time) sessions are checked for idleness.
const SESSION_SWEEP_NS: u64 = 10 * Timestamp::NANOS_PER_SEC;
/// Flows reported per step at the end of input, so they are not all queued at once.
const FINISH_BATCH: usize = 4096;

#[derive(Clone)]
pub struct AnalyzerConfig {
    pub engine: EngineConfig,
    pub signatures: SignatureSet,
    /// GeoIP/ASN databases; `None` reports no places and no third-country transfers.
    pub geo: Option<Arc<GeoDb>>,
    pub transfer: TransferRules,
}

impl Default for AnalyzerConfig {
    /// The built-in signatures and GeoIP/ASN databases (empty ones if they fail to load).
    fn default() -> Self {
        AnalyzerConfig {
            engine: EngineConfig::default(),
            signatures: SignatureSet::builtin().unwrap_or_else(|_| SignatureSet::empty()),
            geo: GeoDb::builtin().ok().map(Arc::new),
            transfer: TransferRules::default(),
        }
    }
}

/// Counters of what the analysis found.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct AnalysisStats {
    pub flows_reported: u64,
    pub sessions_reported: u64,
    pub findings: u64,
}

/// Frame in, records out: an [`Engine`] in front of a [`Reporter`].
pub struct Analyzer {
    engine: Engine,
    reporter: Reporter,
    finished: Vec<(Flow, EndReason)>,
}

impl Analyzer {
    pub fn new(config: AnalyzerConfig) -> Self {
        let engine = Engine::new(config.engine);
        Analyzer {
            engine,
            reporter: Reporter::new(config),
            finished: Vec::new(),
        }
    }

    /// What the analysis found so far.
    pub fn stats(&self) -> AnalysisStats {
        self.reporter.stats
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn signatures(&self) -> &SignatureSet {
        &self.reporter.sigs
    }

    /// The closing summary record of a run over `inputs` (errors counted from them).
    pub fn summary(&self, inputs: Vec<InputSummary>, first_seen: Option<Timestamp>) -> Summary {
        let engine = &self.engine;
        self.reporter.summary(
            inputs,
            first_seen,
            engine.now(),
            EngineCounts {
                packets: engine.packets,
                table: engine.table().stats,
                defrag: engine.defrag().stats,
            },
        )
    }

    /// Sessions still open, with their verdict so far.
    pub fn open_sessions(&self) -> Vec<SessionRecord> {
        self.reporter.open_sessions()
    }

    /// The next frames come from this input (its name goes into flow records).
    pub fn begin_input(&mut self, name: &str) {
        let source = self.reporter.begin_input(name);
        self.engine.set_source(source);
    }

    /// Process one frame; flows and sessions that end are written to `sink`.
    pub fn ingest(&mut self, frame: &Frame<'_>, sink: &mut dyn Sink) -> io::Result<()> {
        let finished = &mut self.finished;
        self.engine.ingest(frame, &mut |f, r| finished.push((f, r)));
        self.report_finished(sink)
    }

    /// Advance capture time to `now` without a frame (live capture with no traffic): flows
    /// and sessions that are idle by then are reported. `now` must be capture time (e.g. the
    /// last packet's timestamp plus the monotonic time elapsed since it arrived), never a
    /// wall clock that may jump; a `now` behind the engine's clock changes nothing.
    pub fn tick(&mut self, now: Timestamp, sink: &mut dyn Sink) -> io::Result<()> {
        let finished = &mut self.finished;
        self.engine.advance(now, &mut |f, r| finished.push((f, r)));
        self.report_finished(sink)
    }

    /// The flows the engine just finished, then sessions idle by its clock.
    fn report_finished(&mut self, sink: &mut dyn Sink) -> io::Result<()> {
        // Most frames finish no flow.
        if !self.finished.is_empty() {
            self.reporter.report_all(&mut self.finished, sink)?;
        }
        self.reporter.sweep_sessions(self.engine.now(), sink)
    }

    /// End of input: report every remaining flow, then every open session.
    pub fn finish(&mut self, sink: &mut dyn Sink) -> io::Result<()> {
        self.finish_flows(sink)?;
        self.reporter.finish_sessions(sink)
    }

    fn finish_flows(&mut self, sink: &mut dyn Sink) -> io::Result<()> {
        let finished = &mut self.finished;
        self.engine
            .finish_fragments(&mut |f, r| finished.push((f, r)));
        self.reporter.report_all(&mut self.finished, sink)?;
        loop {
            let finished = &mut self.finished;
            let more = self
                .engine
                .finish_some(FINISH_BATCH, &mut |f, r| finished.push((f, r)));
            self.reporter.report_in_order(&mut self.finished, sink)?;
            if !more {
                return Ok(());
            }
        }
    }
}

/// The engine's counters, for the summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineCounts {
    pub packets: PacketStats,
    pub table: TableStats,
    pub defrag: DefragStats,
}

/// The analysis behind the engine: classify → verdict → sessions → sink for each finished
/// flow. [`Analyzer`] drives it from its own engine; `replay --threads N` from the merged
/// events of N engine shards.
pub struct Reporter {
    sigs: SignatureSet,
    geo: Option<Arc<GeoDb>>,
    transfer: TransferRules,
    sessions: Sessions,
    sources: Vec<String>,
    next_session_sweep: Timestamp,
    pub stats: AnalysisStats,
    /// Scratch for [`Reporter::report_all`]: the report order as indices (flows are large;
    /// sorting them would move each one log n times).
    order: Vec<u32>,
}

impl Reporter {
    /// Everything of `config` but the engine part.
    pub fn new(config: AnalyzerConfig) -> Self {
        Reporter {
            sigs: config.signatures,
            geo: config.geo,
            transfer: config.transfer,
            sessions: Sessions::default(),
            sources: Vec::new(),
            next_session_sweep: Timestamp(0),
            stats: AnalysisStats::default(),
            order: Vec::new(),
        }
    }

    pub fn signatures(&self) -> &SignatureSet {
        &self.sigs
    }

    /// A new input's name; returns its index for [`Flow::source`].
    pub fn begin_input(&mut self, name: &str) -> u16 {
        self.sources.push(name.to_string());
        u16::try_from(self.sources.len() - 1).unwrap_or(u16::MAX)
    }

    /// Sessions still open, with their verdict so far.
    pub fn open_sessions(&self) -> Vec<SessionRecord> {
        self.sessions.open_records(&self.sigs)
    }

    /// The closing summary record.
    pub fn summary(
        &self,
        inputs: Vec<InputSummary>,
        first_seen: Option<Timestamp>,
        now: Timestamp,
        engine: EngineCounts,
    ) -> Summary {
        let errors = inputs.iter().filter(|s| s.error.is_some()).count() as u64;
        Summary {
            record: "summary",
            inputs,
            first_seen,
            last_seen: first_seen.map(|_| now),
            packets: engine.packets,
            flows: FlowCounts {
                reported: self.stats.flows_reported,
                table: engine.table,
            },
            analysis: self.stats,
            defrag: engine.defrag,
            errors,
            policy: None,
            live: None,
        }
    }

    /// Report flows that ended at the same moment (one frame) in the order they went quiet
    /// (last packet, then flow id): the order does not depend on which table list or shard
    /// they came from, and within one timeout class it is the table's own. Empties
    /// `finished`.
    pub fn report_all(
        &mut self,
        finished: &mut Vec<(Flow, EndReason)>,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        if finished.len() <= 1 {
            return self.report_in_order(finished, sink);
        }
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        order.extend(0..finished.len() as u32);
        // Ids are unique, so the unstable sort gives one order.
        order.sort_unstable_by_key(|&i| {
            let f = &finished[i as usize].0;
            (f.last_seen, f.id)
        });
        let ordered = order.iter().map(|&i| &finished[i as usize]);
        let result = self.report_each(ordered, sink);
        finished.clear();
        self.order = order;
        result
    }

    /// Report `finished` in its order (the end of input's flows, by id). Empties it.
    pub fn report_in_order(
        &mut self,
        finished: &mut Vec<(Flow, EndReason)>,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let result = self.report_each(finished.iter(), sink);
        finished.clear();
        result
    }

    /// Report flows in the given order, stopping at the first write error.
    fn report_each<'f>(
        &mut self,
        flows: impl Iterator<Item = &'f (Flow, EndReason)>,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        for (flow, reason) in flows {
            self.report(flow, *reason, sink)?;
        }
        Ok(())
    }

    /// Report sessions idle at capture time `now` (checked every few seconds of it).
    #[inline] // once per frame: the time check stays in the caller
    pub fn sweep_sessions(&mut self, now: Timestamp, sink: &mut dyn Sink) -> io::Result<()> {
        if now >= self.next_session_sweep {
            self.expire_sessions(now, sink)?;
        }
        Ok(())
    }

    #[cold]
    fn expire_sessions(&mut self, now: Timestamp, sink: &mut dyn Sink) -> io::Result<()> {
        self.next_session_sweep = Timestamp(now.0.saturating_add(SESSION_SWEEP_NS));
        let mut ended = Vec::new();
        self.sessions.expire(now, &self.sigs, &mut ended);
        for s in &ended {
            self.write_session(s, sink)?;
        }
        Ok(())
    }

    /// End of input: report every open session.
    pub fn finish_sessions(&mut self, sink: &mut dyn Sink) -> io::Result<()> {
        for s in self.sessions.drain(&self.sigs) {
            self.write_session(&s, sink)?;
        }
        Ok(())
    }

    fn write_session(&mut self, s: &SessionRecord, sink: &mut dyn Sink) -> io::Result<()> {
        self.stats.sessions_reported += 1;
        sink.session(s)
    }

    /// Where the flow's far side is, judged against the transfer rules.
    fn place(&self, flow: &Flow) -> Option<Place> {
        let geo = self.geo.as_deref()?;
        let ip = crate::session::remote_endpoint(flow).ip;
        let info = geo.lookup(ip);
        let country = info.country?;
        let third_country = match self.transfer.jurisdiction(&info) {
            Jurisdiction::UsDpf | Jurisdiction::ThirdCountry => {
                Some((Severity::Medium, self.transfer.note(country)))
            }
            Jurisdiction::NoAdequacyHighRisk => Some((Severity::High, self.transfer.note(country))),
            _ => None,
        };
        Some(Place {
            country: Some(country),
            country_name: Some(country_name(country)),
            asn: info.asn,
            org: info.as_org,
            third_country,
        })
    }

    /// Classify, judge and write one finished flow (and the sessions it ended).
    pub fn report(
        &mut self,
        flow: &Flow,
        reason: EndReason,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let sigs = &self.sigs;
        let links = Links {
            local_endpoint_app: self
                .sessions
                .local_endpoint_app(flow)
                .and_then(|a| sigs.app(a))
                .map(|a| a.id.as_str()),
            sdp_announced: self.sessions.sdp_keys(flow.client(), flow.server()),
        };
        let class = classify::classify(flow, sigs, links);
        let name = classify::server_name(flow);
        let place = self.place(flow);
        let mut ended = Vec::new();
        let session = self.sessions.attach(flow, &class, sigs, &mut ended);
        let input = verdict::Input {
            flow,
            class: &class,
            sigs,
            server_name: name.map(|(n, _)| n),
            place: place.as_ref(),
            session: session.as_ref().map(|a| SessionRef {
                app: &a.app,
                app_name: &a.app_name,
                offset_s: a.offset_s,
            }),
            keys_in_clear_sdp: links.sdp_announced == Some(true),
        };
        let (encryption, findings) = verdict::judge(&input);
        self.sessions.learn(flow, &class);
        if let Some(at) = &session {
            self.sessions.record(
                at,
                flow,
                &class,
                name.map(|(n, _)| n),
                place.as_ref(),
                encryption,
                &findings,
            );
        }
        self.stats.flows_reported += 1;
        self.stats.findings += findings.len() as u64;
        let source = self
            .sources
            .get(usize::from(flow.source))
            .map_or("", String::as_str);
        let mut rec = FlowRecord::new(flow, reason, source);
        rec.app = class.app;
        rec.app_basis = class.app_basis.as_deref();
        rec.role = class.role;
        rec.route = class.route;
        rec.route_basis = class.route_basis.as_deref();
        rec.encryption = encryption;
        rec.findings = findings;
        rec.server = place.as_ref();
        sink.flow(&rec)?;
        for s in &ended {
            self.write_session(s, sink)?;
        }
        Ok(())
    }
}
