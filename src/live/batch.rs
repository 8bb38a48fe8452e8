//! Frames handed from the capture thread to the analysis many at a time: one queue message
//! (and at most one wake-up of the analysis) per batch instead of per frame, which is what
//! kept the live path under 1 Mpps. A batch keeps its two buffers when it goes back to the
//! capture thread through the pool, so a steady capture allocates nothing.

use crate::capture::{Frame, LinkType};
use crate::model::Timestamp;

/// Frames in one batch, at most: about what one libpcap TPACKET_V3 block holds (256 KiB,
/// ~1100 frames of 150 bytes with their headers), so one `pcap_dispatch` makes one batch.
pub const BATCH_FRAMES: usize = 2048;
/// Frame bytes in one batch, at most (one frame larger than this still gets a batch): the
/// size of a TPACKET_V3 block.
pub const BATCH_BYTES: usize = 256 * 1024;

/// Where one frame's bytes are in the batch's buffer.
#[derive(Clone, Copy, Debug)]
struct Slot {
    ts: Timestamp,
    orig_len: u32,
    end: usize,
}

/// Captured frames of one link type, their bytes back to back in one buffer.
#[derive(Debug)]
pub struct FrameBatch {
    link: LinkType,
    data: Vec<u8>,
    slots: Vec<Slot>,
}

impl FrameBatch {
    pub fn new(link: LinkType) -> Self {
        FrameBatch {
            link,
            data: Vec::new(),
            slots: Vec::with_capacity(BATCH_FRAMES),
        }
    }

    /// Empty it for reuse (the buffers keep their capacity).
    pub fn clear(&mut self, link: LinkType) {
        self.link = link;
        self.data.clear();
        self.slots.clear();
    }

    pub fn push(&mut self, ts: Timestamp, orig_len: u32, data: &[u8]) {
        self.data.extend_from_slice(data);
        self.slots.push(Slot {
            ts,
            orig_len,
            end: self.data.len(),
        });
    }

    pub fn is_full(&self) -> bool {
        self.slots.len() >= BATCH_FRAMES || self.data.len() >= BATCH_BYTES
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

    pub fn frames(&self) -> impl Iterator<Item = Frame<'_>> {
        let mut start = 0;
        self.slots.iter().map(move |s| {
            let data = self.data.get(start..s.end).unwrap_or_default();
            start = s.end;
            Frame {
                ts: s.ts,
                link: self.link,
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

    #[test]
    fn frames_come_back_in_order_with_their_bytes() {
        let mut b = FrameBatch::new(LinkType::RAW);
        assert!(b.is_empty());
        b.push(Timestamp(1), 3, b"abc");
        b.push(Timestamp(2), 100, b"");
        b.push(Timestamp(3), 2, b"de");
        assert_eq!(
            (b.len(), b.bytes(), b.last_ts()),
            (3, 5, Some(Timestamp(3)))
        );
        let got: Vec<_> = b
            .frames()
            .map(|f| (f.ts.0, f.data.to_vec(), f.orig_len))
            .collect();
        assert_eq!(
            got,
            [
                (1, b"abc".to_vec(), 3),
                (2, vec![], 100),
                (3, b"de".to_vec(), 2)
            ]
        );
        assert!(b.frames().all(|f| f.link == LinkType::RAW));
        b.clear(LinkType::ETHERNET);
        assert!(b.is_empty() && b.bytes() == 0 && b.frames().next().is_none());
    }

    #[test]
    fn full_by_frames_or_by_bytes() {
        let mut b = FrameBatch::new(LinkType::RAW);
        for _ in 0..BATCH_FRAMES - 1 {
            b.push(Timestamp(0), 1, b"x");
        }
        assert!(!b.is_full());
        b.push(Timestamp(0), 1, b"x");
        assert!(b.is_full());
        let mut b = FrameBatch::new(LinkType::RAW);
        b.push(Timestamp(0), 0, &vec![0; BATCH_BYTES - 1]);
        assert!(!b.is_full());
        b.push(Timestamp(0), 0, b"y");
        assert!(b.is_full());
    }

    proptest! {
        #[test]
        fn any_frames_round_trip(frames in proptest::collection::vec(
            (any::<u64>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..64)), 0..40)) {
            let mut b = FrameBatch::new(LinkType::ETHERNET);
            for (ts, len, data) in &frames {
                b.push(Timestamp(*ts), *len, data);
            }
            let got: Vec<_> = b.frames().map(|f| (f.ts.0, f.orig_len, f.data.to_vec())).collect();
            prop_assert_eq!(got, frames);
        }
    }
}
