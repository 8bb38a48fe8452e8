//! The live pipeline:
//!
//! ```text
//! capture thread ──(bounded queue of frame batches, try_send: full → count, drop)──▶ analysis ──▶ Output
//!      ▲                                                                               │  (records, and
//!      └──────────────────────(batch pool: used batches back)─────────────────────────┘   snapshots for the UI)
//! ```
//!
//! Time: the engine only ever sees libpcap's capture timestamps. When no packet arrives,
//! a tick advances it to the last capture timestamp plus the monotonic time elapsed since
//! that packet was taken off the queue, minus [`TICK_SLACK`] (frames still in flight must
//! not look older than the clock). So TCP flows closed by FIN/RST are reported about
//! [`LIVE_CLOSED_LINGER_NS`] + slack after their last packet even on a silent link, and a
//! wall-clock jump can never move the engine's time.

use super::batch::FrameBatch;
use super::output::{Output, Status};
use super::pcapng::PcapngWriter;
use super::privs::{self, Identity, PrivError};
use super::snapshot::Drops;
use super::source::{self, CaptureCounters, CaptureOptions, OpenError};
use super::stop::StopHandle;
use crate::analyze::{Analyzer, AnalyzerConfig};
use crate::model::Timestamp;
use crate::report::{InputSummary, LiveStats, Summary};
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A closed TCP flow (FIN both ways, or RST) is reported this long after its last packet
/// in live mode (replay keeps the engine's 5 s): the final ACKs come within milliseconds on
/// a live link, and an admin wants to see a finished handshake named at once.
pub const LIVE_CLOSED_LINGER_NS: u64 = 500 * 1_000_000;
/// How often the analysis advances time when no packet arrives.
pub const TICK: Duration = Duration::from_millis(100);
/// How far behind the extrapolated time a tick stays (see the module docs).
pub const TICK_SLACK: Duration = Duration::from_millis(200);
/// How often the UI gets a snapshot.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(250);
/// How often the `--write` file is flushed, so a crash loses little.
const WRITE_FLUSH_EVERY: Duration = Duration::from_secs(1);

/// What `leakscope live` was asked to do.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub capture: CaptureOptions,
    /// The user to become when started as root (default `nobody`).
    pub user: Option<String>,
    /// Also write every analysed frame to this pcapng file.
    pub write: Option<PathBuf>,
    /// Stop after this long.
    pub duration: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Privileges(#[from] PrivError),
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: io::Error },
    #[error("cannot start the signal handler: {0}")]
    Signals(io::Error),
}

/// Latest capture time, extrapolated by the monotonic clock.
#[derive(Debug, Default)]
struct LiveClock {
    last: Option<(Timestamp, Instant)>,
}

impl LiveClock {
    fn saw(&mut self, ts: Timestamp) {
        self.last = Some((ts, Instant::now()));
    }

    fn now(&self) -> Option<Timestamp> {
        let (ts, at) = self.last?;
        let ahead = at.elapsed().saturating_sub(TICK_SLACK);
        let ahead = u64::try_from(ahead.as_nanos()).unwrap_or(u64::MAX);
        Some(Timestamp(ts.0.saturating_add(ahead)))
    }
}

/// A capture that is running: the capture thread reads, [`Running::analyse`] consumes.
pub struct Running {
    capture: Option<JoinHandle<()>>,
    queue: Receiver<FrameBatch>,
    pool: SyncSender<FrameBatch>,
    counters: Arc<CaptureCounters>,
    stop: StopHandle,
    breaker: pcap::BreakLoop,
    writer: Option<(String, PcapngWriter<BufWriter<File>>)>,
    interface: String,
    identity: Identity,
    first_seen: Option<Timestamp>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("interface", &self.interface)
            .field("identity", &self.identity)
            .finish()
    }
}

/// Open the interface (and the `--write` file), drop root, start the capture thread and
/// the signal/duration watcher.
pub fn start(opts: &LiveOptions) -> Result<Running, LiveError> {
    let mut capture = source::open(&opts.capture)?;
    let breaker = capture.breaker();
    // Created while still privileged: the unprivileged user may not write there.
    let writer = match &opts.write {
        None => None,
        Some(path) => {
            let name = path.display().to_string();
            let file = File::create(path).map_err(|source| LiveError::Write {
                path: name.clone(),
                source,
            })?;
            let w = PcapngWriter::new(BufWriter::new(file), capture.link, capture.snaplen)
                .map_err(|source| LiveError::Write {
                    path: name.clone(),
                    source,
                })?;
            Some((name, w))
        }
    };
    privs::drop_root(opts.user.as_deref())?;
    let identity = privs::identity();

    let stop = StopHandle::new();
    watch_signals(stop.clone(), opts.duration).map_err(LiveError::Signals)?;
    let (tx, queue) = mpsc::sync_channel(source::QUEUE_BATCHES);
    // Room for every batch there is: the queued ones, the one being filled, the one analysed.
    let (pool, pool_rx) = mpsc::sync_channel(source::QUEUE_BATCHES + 2);
    let counters = Arc::new(CaptureCounters::default());
    let interface = capture.interface.clone();
    let thread = {
        let counters = counters.clone();
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("leakscope-capture".into())
            .spawn(move || source::capture_loop(capture, tx, pool_rx, counters, stop))
            .map_err(LiveError::Signals)?
    };
    Ok(Running {
        capture: Some(thread),
        queue,
        pool,
        counters,
        stop,
        breaker,
        writer,
        interface,
        identity,
        first_seen: None,
    })
}

/// SIGINT, SIGTERM and `--duration` set the stop request. Returns once the handlers are
/// installed, so a signal right after can no longer kill the process mid-write.
pub fn watch_signals(stop: StopHandle, duration: Option<Duration>) -> io::Result<()> {
    let (ready_tx, ready) = mpsc::sync_channel::<io::Result<()>>(1);
    std::thread::Builder::new()
        .name("leakscope-signals".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let (mut int, mut term) = match (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                ) {
                    (Ok(i), Ok(t)) => (i, t),
                    (Err(e), _) | (_, Err(e)) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let deadline = duration.map(|d| tokio::time::Instant::now() + d);
                loop {
                    tokio::select! {
                        _ = int.recv() => { stop.request("signal"); break; }
                        _ = term.recv() => { stop.request("signal"); break; }
                        _ = tokio::time::sleep(Duration::from_millis(50)) => {
                            if stop.is_set() {
                                break;
                            }
                            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                                stop.request("duration");
                                break;
                            }
                        }
                    }
                }
            });
        })?;
    ready
        .recv_timeout(Duration::from_secs(5))
        .map_err(|_| io::Error::other("signal thread did not start"))?
}

impl Running {
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// Who the process runs as now (after dropping root).
    pub fn identity(&self) -> Identity {
        self.identity
    }

    fn drops(&self) -> Drops {
        let c = &self.counters;
        Drops {
            kernel: c.kernel_dropped.load(Ordering::Relaxed),
            interface: c.interface_dropped.load(Ordering::Relaxed),
            leakscope: c.queue_full.load(Ordering::Relaxed),
        }
    }

    /// Analyse frames until the capture stops (signal, duration, [`StopHandle::request`],
    /// device error), then report the remaining flows and sessions and the summary.
    pub fn analyse(
        mut self,
        mut config: AnalyzerConfig,
        out: &mut dyn Output,
    ) -> io::Result<Summary> {
        let flow = &mut config.engine.flow;
        flow.closed_linger_ns = flow.closed_linger_ns.min(LIVE_CLOSED_LINGER_NS);
        let mut analyzer = Analyzer::new(config);
        analyzer.begin_input(&self.interface);
        let result = self.pump(&mut analyzer, out);
        if result.is_err() {
            self.stop.request("error");
        }
        // Let the capture thread end: it stops on the request or when the queue closes.
        if !self.stop.is_set() {
            self.stop.request("error");
        }
        self.breaker.breakloop();
        if let Some(t) = self.capture.take() {
            let _ = t.join();
        }
        result?;
        analyzer.finish(out)?;
        let mut written_to = None;
        if let Some((name, w)) = self.writer.as_mut() {
            w.flush()?;
            written_to = Some(name.clone());
        }
        let summary = self.summary(&analyzer, written_to);
        out.summary(&summary)?;
        let status = Status {
            first_seen: summary.first_seen,
            drops: self.drops(),
            finished: true,
            note: summary.inputs.first().and_then(|i| i.error.clone()),
            ..Status::default()
        };
        out.publish(&analyzer, &status);
        Ok(summary)
    }

    fn pump(&mut self, analyzer: &mut Analyzer, out: &mut dyn Output) -> io::Result<()> {
        let mut clock = LiveClock::default();
        let mut last_tick = Instant::now();
        let mut last_publish = Instant::now();
        let mut last_flush = Instant::now();
        let mut woken = false;
        loop {
            // Wake the capture thread once; it ends, the queue closes, and we drain it.
            if self.stop.is_set() && !woken {
                self.breaker.breakloop();
                woken = true;
            }
            match self.queue.recv_timeout(TICK) {
                Ok(batch) => {
                    self.counters
                        .queued_bytes
                        .fetch_sub(batch.bytes() as u64, Ordering::Relaxed);
                    for frame in batch.frames() {
                        self.first_seen.get_or_insert(frame.ts);
                        if let Some((_, w)) = self.writer.as_mut() {
                            w.frame(frame.ts, frame.data, frame.orig_len)?;
                        }
                        out.frame(frame.ts, frame.orig_len);
                        analyzer.ingest(&frame, out)?;
                    }
                    // One clock read per batch: a batch spans at most a kernel block's
                    // timeout, far less than the tick slack.
                    if let Some(ts) = batch.last_ts() {
                        clock.saw(ts);
                    }
                    // Back to the capture thread; if the pool is full the batch is freed.
                    let _ = self.pool.try_send(batch);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            let now = Instant::now();
            if now.duration_since(last_tick) >= TICK {
                last_tick = now;
                if let Some(now) = clock.now() {
                    analyzer.tick(now, out)?;
                }
            }
            if now.duration_since(last_publish) >= PUBLISH_EVERY {
                last_publish = now;
                let status = Status {
                    first_seen: self.first_seen,
                    drops: self.drops(),
                    ..Status::default()
                };
                out.publish(analyzer, &status);
            }
            if now.duration_since(last_flush) >= WRITE_FLUSH_EVERY {
                last_flush = now;
                if let Some((_, w)) = self.writer.as_mut() {
                    w.flush()?;
                }
            }
        }
    }

    fn summary(&self, analyzer: &Analyzer, written_to: Option<String>) -> Summary {
        let engine = analyzer.engine();
        let c = &self.counters;
        let error = c.error.lock().ok().and_then(|e| e.clone());
        let drops = self.drops();
        let input = InputSummary {
            name: self.interface.clone(),
            format: Some("live".into()),
            frames: engine.packets.frames,
            error,
        };
        Summary {
            live: Some(LiveStats {
                interface: self.interface.clone(),
                captured: c.queued.load(Ordering::Relaxed) + drops.leakscope,
                kernel_dropped: drops.kernel,
                interface_dropped: drops.interface,
                leakscope_dropped: drops.leakscope,
                stopped_by: self.stop.reason().unwrap_or("end").to_string(),
                uid: self.identity.uid,
                euid: self.identity.euid,
                gid: self.identity.gid,
                written_to,
            }),
            ..analyzer.summary(vec![input], self.first_seen)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_extrapolates_behind_by_the_slack() {
        let mut c = LiveClock::default();
        assert!(c.now().is_none());
        let t = Timestamp::from_secs(1_000);
        c.saw(t);
        // Just seen: the slack keeps the clock at the packet's time.
        assert_eq!(c.now(), Some(t));
    }

    /// Records flows only.
    #[derive(Default)]
    struct Flows(Vec<(u64, crate::flow::EndReason)>);

    impl crate::report::Sink for Flows {
        fn flow(&mut self, rec: &crate::report::FlowRecord<'_>) -> io::Result<()> {
            self.0.push((rec.id, rec.end_reason));
            Ok(())
        }
        fn session(&mut self, _: &crate::report::SessionRecord) -> io::Result<()> {
            Ok(())
        }
        fn summary(&mut self, _: &Summary) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn tick_reports_a_closed_flow_without_more_packets() {
        use etherparse::PacketBuilder;
        let (c, s) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let packets = [
            PacketBuilder::ipv4(c, s, 64).tcp(40000, 443, 1, 100).syn(),
            PacketBuilder::ipv4(s, c, 64)
                .tcp(443, 40000, 9, 100)
                .syn()
                .ack(2),
            PacketBuilder::ipv4(c, s, 64)
                .tcp(40000, 443, 2, 100)
                .ack(10)
                .fin(),
            PacketBuilder::ipv4(s, c, 64)
                .tcp(443, 40000, 10, 100)
                .ack(3)
                .fin(),
            PacketBuilder::ipv4(c, s, 64)
                .tcp(40000, 443, 3, 100)
                .ack(11),
        ];
        let mut config = AnalyzerConfig {
            signatures: crate::signature::SignatureSet::empty(),
            geo: None,
            ..AnalyzerConfig::default()
        };
        config.engine.flow.closed_linger_ns = LIVE_CLOSED_LINGER_NS;
        let mut a = Analyzer::new(config);
        let mut out = Flows::default();
        let t0 = Timestamp::from_secs(1_000);
        for (i, p) in packets.into_iter().enumerate() {
            let mut data = Vec::new();
            assert!(p.write(&mut data, &[]).is_ok());
            let frame = crate::capture::Frame {
                ts: Timestamp(t0.0 + i as u64 * 1_000),
                link: crate::capture::LinkType::RAW,
                data: &data,
                orig_len: data.len() as u32,
            };
            assert!(a.ingest(&frame, &mut out).is_ok());
        }
        let ms = 1_000_000;
        assert!(a.tick(Timestamp(t0.0 + 400 * ms), &mut out).is_ok());
        assert!(out.0.is_empty(), "reported before the linger: {:?}", out.0);
        // Time never goes back: an older tick changes nothing.
        assert!(a.tick(t0, &mut out).is_ok());
        assert!(a.tick(Timestamp(t0.0 + 600 * ms), &mut out).is_ok());
        assert_eq!(out.0, [(0, crate::flow::EndReason::Closed)]);
        assert_eq!(a.engine().now(), Timestamp(t0.0 + 600 * ms));
    }
}
