//! The per-packet fast path does not allocate: once a flow is understood (inspection state
//! dropped), its packets only update counters. A counting global allocator watches a second
//! pass over the media of a recorded SIP/RTP call. Also prints and bounds the memory a flow
//! costs (see README "Performance").

use leakscope::capture::file::FileSource;
use leakscope::capture::{Frame, LinkType};
use leakscope::decode::{self, Decoded};
use leakscope::engine::{Engine, EngineConfig};
use leakscope::flow::{Facts, Flow, Inspector};
use leakscope::model::{IpProto, Timestamp};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Only the measuring thread counts (the test harness allocates on its own threads).
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// Forwards to the system allocator. The library forbids `unsafe`; a GlobalAlloc impl
// needs it, so this test binary alone allows it.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Owned {
    ts: Timestamp,
    link: LinkType,
    data: Vec<u8>,
    orig_len: u32,
}

fn frames(path: &Path) -> Vec<Owned> {
    let mut out = Vec::new();
    let Ok(mut src) = FileSource::open(path) else {
        return out;
    };
    while let Some(Ok(f)) = src.next_frame() {
        out.push(Owned {
            ts: f.ts,
            link: f.link,
            data: f.data.to_vec(),
            orig_len: f.orig_len,
        });
    }
    out
}

fn feed(engine: &mut Engine, frames: &[Owned], shift: u64) {
    for f in frames {
        let frame = Frame {
            ts: Timestamp(f.ts.0 + shift),
            link: f.link,
            data: &f.data,
            orig_len: f.orig_len,
        };
        engine.ingest(&frame, &mut |_, _| {});
    }
}

/// The RTP port of the recorded call's answerer (see captures/README.md).
const RTP_PORT: u16 = 8916;

#[test]
fn established_media_packets_do_not_allocate() {
    let frames = frames(Path::new("captures/sip_rtp_plain.pcap"));
    assert!(frames.len() > 600, "capture missing or short");
    let (first, last) = (frames[0].ts.0, frames[frames.len() - 1].ts.0);
    let mut engine = Engine::new(EngineConfig::default());
    // First pass: every flow is created and inspected until understood.
    feed(&mut engine, &frames, 0);
    // Second pass: the call's RTP continues (timestamps follow on) on a flow whose
    // inspection finished in the first pass.
    let media: Vec<Owned> = frames
        .into_iter()
        .filter(|f| match decode::decode(f.link, &f.data) {
            Decoded::Packet(p) => {
                p.proto == IpProto::UDP && (p.sport == RTP_PORT || p.dport == RTP_PORT)
            }
            _ => false,
        })
        .collect();
    assert!(media.len() > 600);
    let shift = last - first + Timestamp::NANOS_PER_SEC / 1000;
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    feed(&mut engine, &media, shift);
    COUNTING.with(|c| c.set(false));
    let allocs = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(
        allocs,
        0,
        "{allocs} allocations over {} established packets",
        media.len()
    );
    assert!(!engine.table().is_empty());
}

#[test]
fn flow_memory_is_bounded() {
    let flow = size_of::<Flow>();
    let slot = size_of::<Option<Flow>>();
    // hashbrown: one slot-number bucket plus one control byte per entry, at most 8/7 load
    // (the key is hashed from the slot, not stored twice).
    let index = (size_of::<u32>() + 1) * 8 / 7;
    println!(
        "Flow {flow} B, slot {slot} B, Facts {} B, index entry ~{index} B, total ~{} B/flow \
         (+ Inspector {} B boxed from a TCP/UDP flow's first payload until it is understood)",
        size_of::<Facts>(),
        slot + index,
        size_of::<Inspector>(),
    );
    // Regression guard at today's size (README "Performance" explains where it goes).
    assert!(slot + index <= 152, "a flow costs {} bytes", slot + index);
    assert!(size_of::<Inspector>() <= 192);
}
