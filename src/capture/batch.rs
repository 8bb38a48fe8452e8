//! Frames copied out of a reader's buffer, their bytes back to back in one buffer: how
//! frames cross threads, one queue message per batch instead of per frame (the live capture
//! thread to the analysis, the threaded replay's reader to its shards). A cleared batch
//! keeps its buffers, so a batch that goes back to its producer is reused without
//! allocating.

use super::{Frame, LinkType};
use crate::model::Timestamp;

/// When a batch is full, or how much room it starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub frames: usize,
    pub bytes: usize,
}

/// One frame: its metadata and where its bytes end in the batch's buffer.
#[derive(Clone, Copy, Debug)]
struct Slot {
    ts: Timestamp,
    link: LinkType,
    orig_len: u32,
    end: usize,
}

#[derive(Debug)]
pub struct FrameBatch {
    data: Vec<u8>,
    slots: Vec<Slot>,
    full_at: Limits,
}

impl FrameBatch {
    /// An empty batch, full at `full_at`, with room for `room` up front so that filling it
    /// does not regrow (and copy) its buffers.
    pub fn new(full_at: Limits, room: Limits) -> Self {
        FrameBatch {
            data: Vec::with_capacity(room.bytes),
            slots: Vec::with_capacity(room.frames),
            full_at,
        }
    }

    /// Empty it for reuse (the buffers keep their capacity).
    pub fn clear(&mut self) {
        self.data.clear();
        self.slots.clear();
    }

    /// A copy of the frame.
    pub fn push(&mut self, frame: &Frame<'_>) {
        self.data.extend_from_slice(frame.data);
        self.push_time(frame);
    }

    /// Only the frame's metadata and place (for a consumer that already saw its bytes):
    /// its data reads back empty.
    pub fn push_time(&mut self, frame: &Frame<'_>) {
        self.slots.push(Slot {
            ts: frame.ts,
            link: frame.link,
            orig_len: frame.orig_len,
            end: self.data.len(),
        });
    }

    pub fn is_full(&self) -> bool {
        self.slots.len() >= self.full_at.frames || self.data.len() >= self.full_at.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Captured bytes of all its frames.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// Capture time of the last frame.
    pub fn last_ts(&self) -> Option<Timestamp> {
        self.slots.last().map(|s| s.ts)
    }

    /// Capture times of the frames, in order.
    pub fn timestamps(&self) -> impl Iterator<Item = Timestamp> + '_ {
        self.slots.iter().map(|s| s.ts)
    }

    pub fn frames(&self) -> impl Iterator<Item = Frame<'_>> {
        let mut start = 0;
        self.slots.iter().map(move |s| {
            let data = self.data.get(start..s.end).unwrap_or_default();
            start = s.end;
            Frame {
                ts: s.ts,
                link: s.link,
                data,
                orig_len: s.orig_len,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ROOMY: Limits = Limits {
        frames: 1024,
        bytes: 1 << 20,
    };

    fn frame(ts: u64, link: LinkType, orig_len: u32, data: &[u8]) -> Frame<'_> {
        Frame {
            ts: Timestamp(ts),
            link,
            data,
            orig_len,
        }
    }

    #[test]
    fn frames_come_back_in_order_with_their_bytes() {
        let mut b = FrameBatch::new(ROOMY, ROOMY);
        assert!(b.is_empty());
        b.push(&frame(1, LinkType::RAW, 3, b"abc"));
        b.push(&frame(2, LinkType::ETHERNET, 100, b""));
        b.push_time(&frame(3, LinkType::RAW, 9, b"not kept"));
        b.push(&frame(4, LinkType::RAW, 2, b"de"));
        assert_eq!(
            (b.len(), b.bytes(), b.last_ts()),
            (4, 5, Some(Timestamp(4)))
        );
        let got: Vec<_> = b
            .frames()
            .map(|f| (f.ts.0, f.link, f.data.to_vec(), f.orig_len))
            .collect();
        assert_eq!(
            got,
            [
                (1, LinkType::RAW, b"abc".to_vec(), 3),
                (2, LinkType::ETHERNET, vec![], 100),
                (3, LinkType::RAW, vec![], 9),
                (4, LinkType::RAW, b"de".to_vec(), 2)
            ]
        );
        assert!(b.timestamps().map(|t| t.0).eq(1..=4));
        b.clear();
        assert!(b.is_empty() && b.bytes() == 0 && b.frames().next().is_none());
    }

    #[test]
    fn full_by_frames_or_by_bytes() {
        let limits = Limits {
            frames: 8,
            bytes: 100,
        };
        let mut b = FrameBatch::new(limits, limits);
        for _ in 0..7 {
            b.push(&frame(0, LinkType::RAW, 1, b"x"));
        }
        assert!(!b.is_full());
        b.push(&frame(0, LinkType::RAW, 1, b"x"));
        assert!(b.is_full());
        let mut b = FrameBatch::new(limits, limits);
        b.push(&frame(0, LinkType::RAW, 0, &[0; 99]));
        assert!(!b.is_full());
        b.push(&frame(0, LinkType::RAW, 0, b"y"));
        assert!(b.is_full());
    }

    proptest! {
        #[test]
        fn any_frames_round_trip(frames in proptest::collection::vec(
            (
                any::<u64>(),
                any::<u32>(),
                any::<u32>(),
                proptest::collection::vec(any::<u8>(), 0..64),
            ),
            0..40,
        )) {
            let mut b = FrameBatch::new(ROOMY, ROOMY);
            for (ts, link, len, data) in &frames {
                b.push(&frame(*ts, LinkType(*link), *len, data));
            }
            let got: Vec<_> = b
                .frames()
                .map(|f| (f.ts.0, f.link.0, f.orig_len, f.data.to_vec()))
                .collect();
            prop_assert_eq!(got, frames);
        }
    }
}
