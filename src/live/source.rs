//! Opening an interface with libpcap, and the capture thread: it copies every frame into an
//! owned buffer and hands it to the analysis through a bounded queue. It never waits for the
//! analysis: when the queue is full the frame is dropped and counted.

use super::privs::setcap_hint;
use super::stop::StopHandle;
use crate::capture::LinkType;
use crate::model::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::{Duration, Instant};

/// Frames waiting for the analysis. About 1 s of a busy 100 Mbit/s link (8k frames/s):
/// enough to ride out a slow moment of the analysis (a flush to a slow pipe, a burst of
/// handshakes), small enough that a stalled analysis shows as drops, not as memory growth.
pub const QUEUE_FRAMES: usize = 8_192;
/// Bytes waiting for the analysis, at most. Offloaded (GRO) frames can be 64 KiB each, so
/// the frame bound alone would allow half a gigabyte.
pub const QUEUE_BYTES: u64 = 64 * 1024 * 1024;
/// libpcap's read timeout: how quickly the capture thread notices a stop request.
const READ_TIMEOUT_MS: i32 = 100;
/// How often the kernel's drop counters are read.
const STATS_INTERVAL: Duration = Duration::from_secs(1);
/// Kernel capture buffer (the default 2 MiB overflows within milliseconds of a burst).
const KERNEL_BUFFER_BYTES: i32 = 16 * 1024 * 1024;
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
        .immediate_mode(true)
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

/// One captured frame in an owned buffer.
#[derive(Debug)]
pub struct OwnedFrame {
    pub ts: Timestamp,
    pub link: LinkType,
    pub orig_len: u32,
    pub data: Vec<u8>,
}

/// Counters the capture thread publishes.
#[derive(Debug, Default)]
pub struct CaptureCounters {
    /// Frames queued for the analysis.
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

/// Read frames until `stop` is set or the device fails. Buffers come from `pool` when it
/// has one (the analysis returns them), else are allocated.
pub fn capture_loop(
    mut live: LiveCapture,
    queue: SyncSender<OwnedFrame>,
    pool: Receiver<Vec<u8>>,
    counters: Arc<CaptureCounters>,
    stop: StopHandle,
) {
    let mut next_stats = Instant::now() + STATS_INTERVAL;
    while !stop.is_set() {
        match live.cap.next_packet() {
            Ok(p) => {
                let len = p.data.len() as u64;
                if counters.queued_bytes.load(Ordering::Relaxed) + len > QUEUE_BYTES {
                    counters.queue_full.fetch_add(1, Ordering::Relaxed);
                } else {
                    let mut data = pool.try_recv().unwrap_or_default();
                    data.clear();
                    data.extend_from_slice(p.data);
                    let frame = OwnedFrame {
                        ts: Timestamp::from_secs_nanos(
                            u64::try_from(p.header.ts.tv_sec).unwrap_or(0),
                            u64::try_from(p.header.ts.tv_usec).unwrap_or(0) * 1_000,
                        ),
                        link: live.link,
                        orig_len: p.header.len,
                        data,
                    };
                    // Counted before sending, so the analysis never subtracts first.
                    counters.queued_bytes.fetch_add(len, Ordering::Relaxed);
                    match queue.try_send(frame) {
                        Ok(()) => {
                            counters.queued.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(TrySendError::Full(_)) => {
                            counters.queued_bytes.fetch_sub(len, Ordering::Relaxed);
                            counters.queue_full.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(TrySendError::Disconnected(_)) => break,
                    }
                }
            }
            Err(pcap::Error::TimeoutExpired) => {}
            // pcap_breakloop makes the read fail with PCAP_ERROR_BREAK: a requested stop.
            Err(_) if stop.is_set() => break,
            Err(e) => {
                if let Ok(mut slot) = counters.error.lock() {
                    *slot = Some(format!("capture on {} failed: {e}", live.interface));
                }
                break;
            }
        }
        if Instant::now() >= next_stats {
            counters.stats(&mut live.cap);
            next_stats = Instant::now() + STATS_INTERVAL;
        }
    }
    counters.stats(&mut live.cap);
}
