//! Opening an interface with libpcap, and the capture thread: it copies frames into
//! [`FrameBatch`]es and hands them to the analysis through a bounded queue. It never waits
//! for the analysis: when the queue is full the current batch fills up, and frames past it
//! are dropped and counted.

use super::batch::{BATCH_FRAMES, FrameBatch, new_batch};
use super::privs::setcap_hint;
use super::stop::StopHandle;
use crate::capture::{Frame, LinkType};
use crate::model::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::{Duration, Instant};

/// Frames waiting for the analysis, at most (in full batches, plus the one being filled):
/// 65 ms at 1 Mpps, on top of the kernel buffer. Enough to ride out a slow moment of the
/// analysis (a flush to a slow pipe, a burst of handshakes), small enough that a stalled
/// analysis shows as drops, not as memory growth.
pub const QUEUE_FRAMES: usize = 65_536;
/// Batches the queue holds.
pub const QUEUE_BATCHES: usize = QUEUE_FRAMES / BATCH_FRAMES;
/// Bytes waiting for the analysis, at most. Offloaded (GRO) frames can be 64 KiB each, so
/// the frame bound alone would allow half a gigabyte.
pub const QUEUE_BYTES: u64 = 64 * 1024 * 1024;
/// libpcap's read timeout. Not in immediate mode, libpcap uses TPACKET_V3: the kernel packs
/// frames into blocks and hands a block over when it is full or this old, so this is the
/// longest a frame waits before the analysis sees it. (Immediate mode would use TPACKET_V2,
/// whose ring has one fixed slot per frame sized for the interface's MTU: on `lo` (64 KiB
/// MTU) a 16 MiB buffer holds 256 frames and the kernel drops at 200 kpps.)
const READ_TIMEOUT_MS: i32 = 100;
/// How often the kernel's drop counters are read.
const STATS_INTERVAL: Duration = Duration::from_secs(1);
/// Kernel capture buffer: 256 TPACKET_V3 blocks of 256 KiB (the default 2 MiB overflows
/// within milliseconds of a burst). A small frame takes ~230 bytes of it (header, address,
/// data, alignment), so at 1 Mpps it rides out a 0.25 s stall of the analysis (a slow output
/// pipe, a busy machine).
const KERNEL_BUFFER_BYTES: i32 = 64 * 1024 * 1024;
/// Default snap length: whole frames, including jumbo and offloaded (GRO) ones.
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// What to open.
#[derive(Clone, Debug)]
pub struct CaptureOptions {
    pub interface: String,
    pub filter: Option<String>,
    pub snaplen: u32,
    pub promisc: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "cannot capture on {interface}: {message}\n  leakscope needs the CAP_NET_RAW and CAP_NET_ADMIN capabilities (or root). Grant them once with:\n    {hint}\n  and run leakscope again as your normal user."
    )]
    Permission {
        interface: String,
        message: String,
        hint: String,
    },
    #[error("cannot capture on {interface}: {message} (see `leakscope interfaces`)")]
    Device { interface: String, message: String },
    #[error("bad capture filter {filter:?}: {message}")]
    Filter { filter: String, message: String },
}

fn is_permission_error(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("permission") || m.contains("not permitted")
}

/// An open capture handle.
pub struct LiveCapture {
    cap: pcap::Capture<pcap::Active>,
    pub link: LinkType,
    pub interface: String,
    pub snaplen: u32,
}

impl std::fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCapture")
            .field("interface", &self.interface)
            .field("link", &self.link)
            .finish()
    }
}

impl LiveCapture {
    /// A handle that wakes the capture thread out of a blocking read (`pcap_breakloop`):
    /// libpcap's read timeout does not fire on an idle Linux interface.
    pub fn breaker(&mut self) -> pcap::BreakLoop {
        self.cap.breakloop_handle()
    }
}

/// Open and activate the interface, and set the filter.
pub fn open(opts: &CaptureOptions) -> Result<LiveCapture, OpenError> {
    let device_err = |e: pcap::Error| {
        let message = match e {
            pcap::Error::PcapError(m) => m,
            other => other.to_string(),
        };
        if is_permission_error(&message) {
            OpenError::Permission {
                interface: opts.interface.clone(),
                message,
                hint: setcap_hint(),
            }
        } else {
            OpenError::Device {
                interface: opts.interface.clone(),
                message,
            }
        }
    };
    // The `any` device cannot be promiscuous; libpcap warns, and the warning fails activation.
    let promisc = opts.promisc && opts.interface != super::device::ANY;
    let snaplen = opts.snaplen.clamp(64, DEFAULT_SNAPLEN);
    let mut cap = pcap::Capture::from_device(opts.interface.as_str())
        .map_err(device_err)?
        .promisc(promisc)
        .snaplen(snaplen as i32)
        .timeout(READ_TIMEOUT_MS)
        .immediate_mode(false)
        .buffer_size(KERNEL_BUFFER_BYTES)
        .open()
        .map_err(device_err)?;
    if let Some(filter) = &opts.filter {
        cap.filter(filter, true).map_err(|e| OpenError::Filter {
            filter: filter.clone(),
            message: e.to_string(),
        })?;
    }
    let link = LinkType(u32::try_from(cap.get_datalink().0).unwrap_or(u32::MAX));
    Ok(LiveCapture {
        cap,
        link,
        interface: opts.interface.clone(),
        snaplen,
    })
}

/// Counters the capture thread publishes.
#[derive(Debug, Default)]
pub struct CaptureCounters {
    /// Frames queued for the analysis (counted when their batch is queued).
    pub queued: AtomicU64,
    /// Frames dropped because the queue was full.
    pub queue_full: AtomicU64,
    /// Bytes in the queue now (the analysis subtracts what it takes out).
    pub queued_bytes: AtomicU64,
    /// pcap_stats: received, dropped by the kernel, dropped by the interface.
    pub pcap_received: AtomicU64,
    pub kernel_dropped: AtomicU64,
    pub interface_dropped: AtomicU64,
    /// The capture ended with this error.
    pub error: std::sync::Mutex<Option<String>>,
}

impl CaptureCounters {
    fn stats(&self, cap: &mut pcap::Capture<pcap::Active>) {
        if let Ok(s) = cap.stats() {
            self.pcap_received
                .store(u64::from(s.received), Ordering::Relaxed);
            self.kernel_dropped
                .store(u64::from(s.dropped), Ordering::Relaxed);
            self.interface_dropped
                .store(u64::from(s.if_dropped), Ordering::Relaxed);
        }
    }
}

/// Frames read but not yet queued: the batch being filled.
struct Pending<'a> {
    batch: Option<FrameBatch>,
    link: LinkType,
    queue: &'a SyncSender<FrameBatch>,
    pool: &'a Receiver<FrameBatch>,
    counters: &'a CaptureCounters,
    /// The analysis is gone: stop capturing.
    closed: bool,
}

impl Pending<'_> {
    fn add(&mut self, ts: Timestamp, orig_len: u32, data: &[u8]) {
        let len = data.len() as u64;
        if self.batch.as_ref().is_some_and(FrameBatch::is_full) {
            // The queue was full when this batch filled up; maybe it has room now.
            self.send();
        }
        let (full, pending) = self
            .batch
            .as_ref()
            .map_or((false, 0), |b| (b.is_full(), b.bytes() as u64));
        let c = self.counters;
        // One read of the shared counter per frame; it is written once per batch.
        if full || c.queued_bytes.load(Ordering::Relaxed) + pending + len > QUEUE_BYTES {
            c.queue_full.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let link = self.link;
        let batch = self
            .batch
            .get_or_insert_with(|| match self.pool.try_recv() {
                Ok(mut b) => {
                    b.clear();
                    b
                }
                Err(_) => new_batch(),
            });
        batch.push(&Frame {
            ts,
            link,
            data,
            orig_len,
        });
        if batch.is_full() {
            self.send();
        }
    }

    /// Queue the batch; if the queue is full keep it (and fill it up) for the next try.
    fn send(&mut self) {
        let Some(batch) = self.batch.take() else {
            return;
        };
        let (frames, bytes) = (batch.len() as u64, batch.bytes() as u64);
        let c = self.counters;
        // Counted before sending, so the analysis never subtracts first. Once per batch: an
        // atomic add per frame on the line the analysis writes cost a tenth of the CPU.
        c.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
        match self.queue.try_send(batch) {
            Ok(()) => {
                c.queued.fetch_add(frames, Ordering::Relaxed);
            }
            Err(e) => {
                c.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
                match e {
                    TrySendError::Full(batch) => self.batch = Some(batch),
                    TrySendError::Disconnected(_) => self.closed = true,
                }
            }
        }
    }

    /// Frames still waiting when the capture ends could not be queued: count them dropped.
    fn give_up(&mut self) {
        if let Some(batch) = self.batch.take() {
            let c = self.counters;
            c.queue_full
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
        }
    }
}

/// Read frames until `stop` is set or the device fails. libpcap hands over one kernel block
/// of frames per `pcap_dispatch`; they go to the analysis as one batch (or several, if more
/// than a batch). Batches come from `pool` when it has one (the analysis returns them),
/// else are allocated.
pub fn capture_loop(
    mut live: LiveCapture,
    queue: SyncSender<FrameBatch>,
    pool: Receiver<FrameBatch>,
    counters: Arc<CaptureCounters>,
    stop: StopHandle,
) {
    let mut next_stats = Instant::now() + STATS_INTERVAL;
    let mut pending = Pending {
        batch: None,
        link: live.link,
        queue: &queue,
        pool: &pool,
        counters: &counters,
        closed: false,
    };
    while !stop.is_set() && !pending.closed {
        let read = live.cap.dispatch(None, |p| {
            let ts = Timestamp::from_secs_nanos(
                u64::try_from(p.header.ts.tv_sec).unwrap_or(0),
                u64::try_from(p.header.ts.tv_usec).unwrap_or(0) * 1_000,
            );
            pending.add(ts, p.header.len, p.data);
        });
        match read {
            // A block is done: hand over what it held, however few frames.
            Ok(_) => pending.send(),
            // pcap_breakloop makes the read fail with PCAP_ERROR_BREAK: a requested stop.
            Err(_) if stop.is_set() => break,
            Err(e) => {
                if let Ok(mut slot) = counters.error.lock() {
                    *slot = Some(format!("capture on {} failed: {e}", live.interface));
                }
                break;
            }
        }
        let now = Instant::now();
        if now >= next_stats {
            counters.stats(&mut live.cap);
            next_stats = now + STATS_INTERVAL;
        }
    }
    pending.send();
    pending.give_up();
    counters.stats(&mut live.cap);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn pending<'a>(
        queue: &'a SyncSender<FrameBatch>,
        pool: &'a Receiver<FrameBatch>,
        counters: &'a CaptureCounters,
    ) -> Pending<'a> {
        Pending {
            batch: None,
            link: LinkType::RAW,
            queue,
            pool,
            counters,
            closed: false,
        }
    }

    fn count(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    #[test]
    fn a_full_queue_fills_the_batch_then_drops_and_counts() {
        let (tx, rx) = mpsc::sync_channel(1);
        let (_pool_tx, pool) = mpsc::sync_channel(1);
        let c = CaptureCounters::default();
        let mut p = pending(&tx, &pool, &c);
        p.add(Timestamp(1), 3, b"abc");
        p.send();
        assert_eq!((count(&c.queued), count(&c.queued_bytes)), (1, 3));
        // The queue is full: frames wait in the batch until it is full, then are dropped.
        for _ in 0..BATCH_FRAMES + 5 {
            p.add(Timestamp(2), 1, b"x");
        }
        p.send();
        assert_eq!(count(&c.queue_full), 5);
        assert_eq!(count(&c.queued), 1);
        // The analysis takes the first batch; the full one goes at the next try.
        let first = rx.try_recv().map(|b| b.len());
        assert_eq!(first, Ok(1));
        c.queued_bytes.fetch_sub(3, Ordering::Relaxed);
        p.add(Timestamp(3), 1, b"y");
        assert_eq!(count(&c.queued), 1 + BATCH_FRAMES as u64);
        assert_eq!(count(&c.queued_bytes), BATCH_FRAMES as u64);
        // What is left when the capture ends is counted dropped.
        p.give_up();
        assert_eq!(count(&c.queue_full), 6);
        let second = rx.try_recv().map(|b| b.frames().all(|f| f.data == b"x"));
        assert_eq!(second, Ok(true));
    }

    #[test]
    fn the_byte_bound_drops_before_the_queue_is_full() {
        let (tx, _rx) = mpsc::sync_channel(4);
        let (_pool_tx, pool) = mpsc::sync_channel(1);
        let c = CaptureCounters::default();
        c.queued_bytes.store(QUEUE_BYTES - 2, Ordering::Relaxed);
        let mut p = pending(&tx, &pool, &c);
        p.add(Timestamp(1), 2, b"ab");
        p.add(Timestamp(1), 1, b"c");
        p.send();
        assert_eq!((count(&c.queued), count(&c.queue_full)), (1, 1));
        assert_eq!(count(&c.queued_bytes), QUEUE_BYTES);
    }

    #[test]
    fn batches_come_back_from_the_pool_emptied() {
        let (tx, rx) = mpsc::sync_channel(1);
        let (pool_tx, pool) = mpsc::sync_channel(1);
        let c = CaptureCounters::default();
        let mut used = new_batch();
        used.push(&Frame {
            ts: Timestamp(9),
            link: LinkType::ETHERNET,
            data: b"old!",
            orig_len: 4,
        });
        assert!(pool_tx.try_send(used).is_ok());
        let mut p = pending(&tx, &pool, &c);
        p.add(Timestamp(1), 3, b"new");
        p.send();
        let got = rx.try_recv().map(|b| {
            b.frames()
                .map(|f| (f.link, f.data.to_vec()))
                .collect::<Vec<_>>()
        });
        assert_eq!(got, Ok(vec![(LinkType::RAW, b"new".to_vec())]));
    }

    #[test]
    fn a_closed_queue_stops_the_capture() {
        let (tx, rx) = mpsc::sync_channel(1);
        drop(rx);
        let (_pool_tx, pool) = mpsc::sync_channel(1);
        let c = CaptureCounters::default();
        let mut p = pending(&tx, &pool, &c);
        p.add(Timestamp(1), 1, b"z");
        p.send();
        assert!(p.closed);
        assert_eq!((count(&c.queued), count(&c.queued_bytes)), (0, 0));
    }
}
