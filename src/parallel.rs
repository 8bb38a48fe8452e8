//! `replay --threads N`: the flow table split over N engine shards that run in parallel,
//! one analysis behind them, and the records a single-threaded replay writes, in its order.
//!
//! A reader thread packs frames into shared batches and sends every batch to every shard and
//! to the merger. Each shard ([`Engine::new_shard`]) decodes every frame, so clocks, idle
//! sweeps, IP reassembly and packet counters are the same in all shards, but keeps only the
//! flows whose symmetric 5-tuple hash falls to it, and returns per batch what happened as
//! [`ShardEvent`]s tagged with their frame and step. The merger (the calling thread: it owns
//! the sink) walks the frames of each batch in order and applies the shards' events of each
//! frame in step order, as one engine would have produced them: it numbers flows in creation
//! order, feeds the one DNS cache and names new flows from it, counts the flow table, and
//! hands finished flows to the [`Reporter`] (classify → verdict → sessions → sink), flows that
//! end at the same frame by flow id, as [`Analyzer`](crate::analyze::Analyzer) does. At the
//! end of input the shards' remaining flows are merged by flow id.
//!
//! Differences from a single thread: the flow cap (`max_flows`) is per shard (`max_flows / N`
//! each), so a capture that overflows the table evicts other flows. And with two or more
//! shards, a capture whose timestamps go backwards may expire a flow at another frame: a
//! flow's place in its idle list follows its last packet's arrival, not its time, and the
//! sweep stops at the first flow that is not idle yet, which may sit in another shard's
//! list (among the 531 nDPI corpus captures, one whose time goes backwards reports two flows
//! in swapped order with three shards, none with two; which one depends on the hash).

use crate::analyze::{AnalyzerConfig, EngineCounts, Reporter};
use crate::capture::Frame;
use crate::capture::batch::{FrameBatch, Limits};
use crate::capture::file::FileSource;
use crate::engine::{Engine, ShardEvent, ShardEventKind};
use crate::enrich::dns_cache::DnsCache;
use crate::flow::{EndReason, Flow, TableStats};
use crate::model::Timestamp;
use crate::replay::{Outcome, format_name};
use crate::report::{InputSummary, Sink};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::io;
use std::iter::Peekable;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::vec::IntoIter;

/// A batch is sent once it holds this many frame bytes or [`BATCH_FRAMES`] frames: large
/// enough that channel traffic is negligible, small enough to keep every thread busy.
/// (With one engine a batch carries no bytes, only frame times: -j 2 on the corpus mix took
/// 0.91× the wall time with 32 768 frames per batch as with 8 192, 1.24× with 2 048;
/// 131 072 gained nothing and held 20 MB more.)
const BATCH_BYTES: usize = 1 << 20;
const BATCH_FRAMES: usize = 32_768;
/// Batches (or shard results) queued per channel: bounds memory to a few MB per thread.
const QUEUE: usize = 4;
/// Flows per message when the shards empty their tables at the end of input.
const DRAIN_CHUNK: usize = 4096;
/// The most shards a replay runs (more would only duplicate decoding).
pub const MAX_SHARDS: usize = 64;

/// Frames of one input: copied out of the reader's buffer for the shards, only their times
/// for the one engine (which already saw the bytes).
struct Batch {
    /// The run-wide index of the first frame.
    first: u64,
    source: u16,
    frames: FrameBatch,
}

impl Batch {
    /// Room for what the route puts in, so a batch is not regrown (and copied) as it fills:
    /// frame bytes for shards, only frame times (up to [`BATCH_FRAMES`]) for the one engine.
    fn new(first: u64, source: u16, route: &Route<'_>) -> Batch {
        let full_at = Limits {
            frames: BATCH_FRAMES,
            bytes: BATCH_BYTES,
        };
        let room = match route {
            Route::Shards(_) => Limits {
                frames: BATCH_BYTES / 256,
                bytes: BATCH_BYTES + 2048,
            },
            Route::Engine { .. } => Limits {
                frames: BATCH_FRAMES,
                bytes: 0,
            },
        };
        Batch {
            first,
            source,
            frames: FrameBatch::new(full_at, room),
        }
    }

    fn next_index(&self) -> u64 {
        self.first + self.frames.len() as u64
    }
}

/// Reader → merger, in input order.
enum FromReader {
    Begin(String),
    Batch(Arc<Batch>),
    Error(String),
    /// The input's summary, and whether it was a capture at all.
    End(InputSummary, bool),
}

/// Shard → merger: one `Events` per batch, one for the end of input, then the remaining
/// flows in id order, then the shard's counters. The merger sends each emptied `Drained`
/// vector back on a channel of its own, for the shard's next chunk.
enum FromShard {
    Events(Vec<ShardEvent>),
    Drained(Vec<Flow>),
    Done(EngineCounts),
}

/// Replay `inputs` as [`crate::replay::replay`] does, with the flow table split over
/// `shards` engine threads (at least 1, at most [`MAX_SHARDS`]) plus a reader thread; the
/// analysis runs on the calling thread.
pub fn replay(
    inputs: &[PathBuf],
    config: AnalyzerConfig,
    shards: usize,
    sink: &mut dyn Sink,
    on_error: &mut dyn FnMut(&str),
) -> io::Result<Outcome> {
    let shards = shards.clamp(1, MAX_SHARDS);
    let engine_config = config.engine;
    let reporter = Reporter::new(config);
    std::thread::scope(|scope| {
        let (to_merger, from_reader) = sync_channel(QUEUE);
        let mut to_shards = Vec::with_capacity(shards);
        let mut from_shards = Vec::with_capacity(shards);
        let mut spares = Vec::with_capacity(shards);
        if shards == 1 {
            // One engine: it runs on the reader thread over the reader's own buffer, so no
            // frame is copied and no batch crosses a thread; the merger gets only times.
            let (out_tx, out_rx) = sync_channel(QUEUE);
            from_shards.push(out_rx);
            let (spare_tx, spare_rx) = sync_channel(QUEUE + 1);
            spares.push(spare_tx);
            let engine = Box::new(Engine::new_shard(engine_config, 0, 1));
            std::thread::Builder::new()
                .name("reader-engine".into())
                .spawn_scoped(scope, move || {
                    let mut to = Route::Engine {
                        engine,
                        events: Vec::new(),
                        out: &out_tx,
                    };
                    let frames = read(inputs, &mut to, &to_merger, 2);
                    // The merger reads the shard's end-of-input messages only once the
                    // reader's channel is closed; holding it open while they fill the
                    // shard's queue would deadlock.
                    drop(to_merger);
                    if let Some(frames) = frames
                        && let Route::Engine { engine, out, .. } = to
                    {
                        finish_shard(*engine, frames, out, &spare_rx);
                    }
                })?;
            let mut merger = Merger::new(reporter, 1);
            return merger.run(from_reader, from_shards, &spares, sink, on_error);
        }
        for k in 0..shards {
            let (batch_tx, batch_rx) = sync_channel(QUEUE);
            let (out_tx, out_rx) = sync_channel(QUEUE);
            let (spare_tx, spare_rx) = sync_channel(QUEUE + 1);
            to_shards.push(batch_tx);
            from_shards.push(out_rx);
            spares.push(spare_tx);
            let engine = Engine::new_shard(engine_config, k as u64, shards as u64);
            std::thread::Builder::new()
                .name(format!("shard-{k}"))
                .spawn_scoped(scope, move || {
                    run_shard(engine, &batch_rx, &out_tx, &spare_rx)
                })?;
        }
        std::thread::Builder::new()
            .name("reader".into())
            .spawn_scoped(scope, move || {
                read(
                    inputs,
                    &mut Route::Shards(&to_shards),
                    &to_merger,
                    shards + 2,
                );
            })?;
        let mut merger = Merger::new(reporter, shards);
        merger.run(from_reader, from_shards, &spares, sink, on_error)
    })
}

/// Where the reader's frames go.
enum Route<'a> {
    /// Copied into shared batches for the shard threads.
    Shards(&'a [SyncSender<Arc<Batch>>]),
    /// Straight into the one engine, on the reader's thread; its events follow each batch.
    Engine {
        engine: Box<Engine>,
        events: Vec<ShardEvent>,
        out: &'a SyncSender<FromShard>,
    },
}

impl Route<'_> {
    fn frame(&mut self, batch: &mut Batch, frame: &Frame<'_>) {
        match self {
            Route::Shards(_) => batch.frames.push(frame),
            Route::Engine { engine, events, .. } => {
                engine.set_source(batch.source);
                engine.ingest_shard(batch.next_index(), frame, events);
                batch.frames.push_time(frame);
            }
        }
    }

    /// Hand a finished batch on; false when a receiver is gone.
    fn send(&mut self, batch: Batch, merger: &SyncSender<FromReader>) -> bool {
        if batch.frames.is_empty() {
            return true;
        }
        let batch = Arc::new(batch);
        let delivered = match self {
            Route::Shards(shards) => shards.iter().all(|s| s.send(Arc::clone(&batch)).is_ok()),
            Route::Engine { events, out, .. } => {
                // The next batch's events are about as many: start at that size.
                let events = std::mem::replace(events, Vec::with_capacity(events.len()));
                out.send(FromShard::Events(events)).is_ok()
            }
        };
        delivered && merger.send(FromReader::Batch(batch)).is_ok()
    }
}

/// Read every input in order into batches for the shards (or the one engine) and the
/// merger, reading ahead on a thread of its own when that pays beside `busy` busy threads.
/// Returns the number of frames read, or `None` when a receiver is gone (the merger failed).
fn read(
    inputs: &[PathBuf],
    to: &mut Route<'_>,
    merger: &SyncSender<FromReader>,
    busy: usize,
) -> Option<u64> {
    let mut next = 0u64;
    for (source, path) in inputs.iter().enumerate() {
        let source = u16::try_from(source).unwrap_or(u16::MAX);
        let name = path.display().to_string();
        merger.send(FromReader::Begin(name.clone())).ok()?;
        let mut input = InputSummary {
            name,
            ..Default::default()
        };
        let mut opened = false;
        match FileSource::open(path) {
            Err(e) => {
                let line = e.to_string();
                input.error = Some(line.clone());
                merger.send(FromReader::Error(line)).ok()?;
            }
            Ok(mut src) => {
                src.read_ahead_beside(busy);
                input.format = Some(format_name(src.format()).to_string());
                opened = true;
                let mut batch = Batch::new(next, source, to);
                while let Some(frame) = src.next_frame() {
                    match frame {
                        Ok(frame) => {
                            input.frames += 1;
                            to.frame(&mut batch, &frame);
                            if batch.frames.is_full() {
                                next = batch.next_index();
                                let full =
                                    std::mem::replace(&mut batch, Batch::new(next, source, to));
                                if !to.send(full, merger) {
                                    return None;
                                }
                            }
                        }
                        Err(e) => {
                            let line = e.to_string();
                            input.error = Some(line.clone());
                            merger.send(FromReader::Error(line)).ok()?;
                        }
                    }
                }
                next = batch.next_index();
                if !to.send(batch, merger) {
                    return None;
                }
            }
        }
        merger.send(FromReader::End(input, opened)).ok()?;
    }
    Some(next)
}

/// One shard: every batch in, its events out; at the end its remaining flows in id order.
fn run_shard(
    mut engine: Engine,
    batches: &Receiver<Arc<Batch>>,
    out: &SyncSender<FromShard>,
    spare: &Receiver<Vec<Flow>>,
) {
    let mut frames = 0u64;
    let mut source = 0u16;
    for batch in batches {
        if batch.source != source {
            source = batch.source;
            engine.set_source(source);
        }
        let mut events = Vec::with_capacity(batch.frames.len() / 4);
        for (i, frame) in batch.frames.frames().enumerate() {
            engine.ingest_shard(batch.first + i as u64, &frame, &mut events);
        }
        frames = batch.next_index();
        if out.send(FromShard::Events(events)).is_err() {
            return;
        }
    }
    finish_shard(engine, frames, out, spare);
}

/// The end of input in one shard: fragments never completed, then its remaining flows in id
/// order, in chunks the merger hands back (`spare`), then its counters. Recycled, because a
/// chunk made here and freed on the merger's thread is not always reused by the allocator:
/// with mimalloc v2 a million open flows peaked at 277 MB instead of 188 MB.
fn finish_shard(
    mut engine: Engine,
    frames: u64,
    out: &SyncSender<FromShard>,
    spare: &Receiver<Vec<Flow>>,
) {
    let mut events = Vec::new();
    engine.finish_fragments_shard(frames, &mut events);
    if out.send(FromShard::Events(events)).is_err() {
        return;
    }
    loop {
        let mut flows = spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(DRAIN_CHUNK));
        let more = engine.finish_some(DRAIN_CHUNK, &mut |f, _| flows.push(f));
        if !flows.is_empty() && out.send(FromShard::Drained(flows)).is_err() {
            return;
        }
        if !more {
            break;
        }
    }
    let _ = out.send(FromShard::Done(EngineCounts {
        packets: engine.packets,
        table: engine.table().stats,
        defrag: engine.defrag().stats,
    }));
}

fn shard_gone() -> io::Error {
    io::Error::other("an analysis thread stopped")
}

/// A flow's run-wide id and the name the DNS cache held for its server when it started.
struct Started {
    id: u64,
    dns_name: Option<crate::enrich::dns_cache::SharedName>,
}

/// The merger: what one engine would have done with the shards' events, then the analysis.
struct Merger {
    reporter: Reporter,
    /// One shard that numbers and names its flows itself (see [`ShardEventKind::Started`]):
    /// its events need no reordering and its table's counters are the run's.
    lone: bool,
    dns: DnsCache,
    /// (shard, shard's flow id) → what the flow got when it started, for live flows.
    ids: FxHashMap<(usize, u64), Started>,
    next_id: u64,
    live: u64,
    table: TableStats,
    now: Timestamp,
    first_seen: Option<Timestamp>,
    /// One frame's events: (step, shard, event).
    pending: Vec<(u32, usize, ShardEventKind)>,
    finished: Vec<(Flow, EndReason)>,
}

impl Merger {
    fn new(reporter: Reporter, shards: usize) -> Merger {
        Merger {
            reporter,
            lone: shards == 1,
            dns: DnsCache::new(),
            ids: FxHashMap::default(),
            next_id: 0,
            live: 0,
            table: TableStats::default(),
            now: Timestamp(0),
            first_seen: None,
            pending: Vec::new(),
            finished: Vec::new(),
        }
    }

    fn run(
        &mut self,
        from_reader: Receiver<FromReader>,
        from_shards: Vec<Receiver<FromShard>>,
        spares: &[SyncSender<Vec<Flow>>],
        sink: &mut dyn Sink,
        on_error: &mut dyn FnMut(&str),
    ) -> io::Result<Outcome> {
        let mut inputs = Vec::new();
        let mut anything_read = false;
        let mut frames = 0u64;
        for msg in &from_reader {
            match msg {
                FromReader::Begin(name) => {
                    self.reporter.begin_input(&name);
                }
                FromReader::Error(line) => on_error(&line),
                FromReader::End(input, opened) => {
                    anything_read |= opened;
                    inputs.push(input);
                }
                FromReader::Batch(batch) => {
                    let mut events = Vec::with_capacity(from_shards.len());
                    for rx in &from_shards {
                        match rx.recv() {
                            Ok(FromShard::Events(e)) => events.push(e.into_iter().peekable()),
                            _ => return Err(shard_gone()),
                        }
                    }
                    // The next frame any shard has an event for.
                    let next_event = |events: &mut [Peekable<IntoIter<ShardEvent>>]| {
                        events
                            .iter_mut()
                            .filter_map(|e| e.peek().map(|ev| ev.frame))
                            .min()
                            .unwrap_or(u64::MAX)
                    };
                    let mut next = next_event(&mut events);
                    for (i, ts) in batch.frames.timestamps().enumerate() {
                        let index = batch.first + i as u64;
                        self.first_seen.get_or_insert(ts);
                        self.now = self.now.max(ts);
                        if index == next {
                            for (shard, e) in events.iter_mut().enumerate() {
                                while let Some(ev) = e.next_if(|ev| ev.frame == index) {
                                    self.pending.push((ev.step, shard, ev.kind));
                                }
                            }
                            next = next_event(&mut events);
                            self.apply_pending();
                            self.reporter.report_all(&mut self.finished, sink)?;
                        }
                        self.reporter.sweep_sessions(self.now, sink)?;
                    }
                    frames = batch.next_index();
                }
            }
        }
        drop(from_reader);
        // End of input: fragments never completed, then the tables' flows by id.
        for (shard, rx) in from_shards.iter().enumerate() {
            match rx.recv() {
                Ok(FromShard::Events(e)) => {
                    for ev in e {
                        debug_assert_eq!(ev.frame, frames);
                        self.pending.push((ev.step, shard, ev.kind));
                    }
                }
                _ => return Err(shard_gone()),
            }
        }
        self.apply_pending();
        self.reporter.report_all(&mut self.finished, sink)?;
        let counts = self.drain(&from_shards, spares, sink)?;
        self.reporter.finish_sessions(sink)?;
        let summary = self.reporter.summary(
            inputs,
            self.first_seen,
            self.now,
            EngineCounts {
                table: if self.lone { counts.table } else { self.table },
                ..counts
            },
        );
        sink.summary(&summary)?;
        Ok(Outcome {
            summary,
            anything_read,
        })
    }

    /// Apply one frame's events in step order (within a step, only the shard that owns the
    /// packet has events, except for idle expiry, which only ends flows).
    fn apply_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if !self.lone {
            self.pending.sort_by_key(|(step, shard, _)| (*step, *shard));
        }
        let mut pending = std::mem::take(&mut self.pending);
        for (_, shard, kind) in pending.drain(..) {
            match kind {
                ShardEventKind::Started { id, server, ts } => {
                    let name = self.dns.lookup_shared(server, ts);
                    let started = Started {
                        id: self.next_id,
                        dns_name: name,
                    };
                    self.ids.insert((shard, id), started);
                    self.next_id += 1;
                    self.live += 1;
                    self.table.created(self.live);
                }
                ShardEventKind::Dns(l) => self.dns.insert(l.ip, &l.name, l.ttl_secs, l.at),
                ShardEventKind::Finished(flow, reason) => {
                    self.live = self.live.saturating_sub(1);
                    self.table.ended(reason);
                    let mut flow = *flow;
                    self.name(shard, &mut flow);
                    self.finished.push((flow, reason));
                }
            }
        }
        self.pending = pending;
    }

    /// Give a shard's flow its run-wide id and the DNS name it got when it started.
    fn name(&mut self, shard: usize, flow: &mut Flow) {
        if let Some(started) = self.ids.remove(&(shard, flow.id)) {
            flow.id = started.id;
            flow.dns_name = started.dns_name;
        }
    }

    /// Report the flows left in the shards' tables, merged by id (each shard sends its own
    /// in id order); returns shard 0's counters (every shard counts every packet).
    fn drain(
        &mut self,
        from_shards: &[Receiver<FromShard>],
        spares: &[SyncSender<Vec<Flow>>],
        sink: &mut dyn Sink,
    ) -> io::Result<EngineCounts> {
        let mut heads: Vec<VecDeque<Flow>> = from_shards.iter().map(|_| VecDeque::new()).collect();
        let mut counts: Vec<Option<EngineCounts>> = from_shards.iter().map(|_| None).collect();
        loop {
            for (shard, rx) in from_shards.iter().enumerate() {
                while heads[shard].is_empty() && counts[shard].is_none() {
                    match rx.recv() {
                        Ok(FromShard::Drained(mut flows)) => {
                            for mut flow in flows.drain(..) {
                                self.name(shard, &mut flow);
                                heads[shard].push_back(flow);
                            }
                            // A full channel or a finished shard: the chunk is dropped.
                            let _ = spares[shard].try_send(flows);
                        }
                        Ok(FromShard::Done(c)) => counts[shard] = Some(c),
                        _ => return Err(shard_gone()),
                    }
                }
            }
            let next = heads
                .iter()
                .enumerate()
                .filter_map(|(shard, h)| h.front().map(|f| (f.id, shard)))
                .min();
            let Some((_, shard)) = next else { break };
            if let Some(flow) = heads[shard].pop_front() {
                self.reporter.report(&flow, EndReason::EndOfInput, sink)?;
            }
        }
        Ok(counts.first().copied().flatten().unwrap_or_default())
    }
}
