//! Frames handed from the capture thread to the analysis many at a time: one queue message
//! (and at most one wake-up of the analysis) per batch instead of per frame, which is what
//! kept the live path under 1 Mpps. A batch keeps its two buffers when it goes back to the
//! capture thread through the pool, so a steady capture allocates nothing.

pub use crate::capture::batch::FrameBatch;
use crate::capture::batch::Limits;

/// Frames in one batch, at most: about what one libpcap TPACKET_V3 block holds (256 KiB,
/// ~1100 frames of 150 bytes with their headers), so one `pcap_dispatch` makes one batch.
pub const BATCH_FRAMES: usize = 2048;
/// Frame bytes in one batch, at most (one frame larger than this still gets a batch): the
/// size of a TPACKET_V3 block.
pub const BATCH_BYTES: usize = 256 * 1024;

/// A new, empty batch for the live path; its byte buffer grows to its working size once.
pub fn new_batch() -> FrameBatch {
    FrameBatch::new(
        Limits {
            frames: BATCH_FRAMES,
            bytes: BATCH_BYTES,
        },
        Limits {
            frames: BATCH_FRAMES,
            bytes: 0,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Frame, LinkType};
    use crate::model::Timestamp;

    #[test]
    fn full_at_a_libpcap_block() {
        let push = |b: &mut FrameBatch, data: &[u8]| {
            b.push(&Frame {
                ts: Timestamp(0),
                link: LinkType::RAW,
                data,
                orig_len: data.len() as u32,
            })
        };
        let mut b = new_batch();
        for _ in 0..BATCH_FRAMES - 1 {
            push(&mut b, b"x");
        }
        assert!(!b.is_full());
        push(&mut b, b"x");
        assert!(b.is_full());
        let mut b = new_batch();
        push(&mut b, &vec![0; BATCH_BYTES - 1]);
        assert!(!b.is_full());
        push(&mut b, b"y");
        assert!(b.is_full());
    }
}
