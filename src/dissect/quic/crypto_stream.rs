//! Reassembly of the client's CRYPTO stream by offset (RFC 9000 §19.6): frames may arrive
//! split over several Initial packets and datagrams, out of order, or retransmitted.
//! Only the first [`MAX_CRYPTO_STREAM`] bytes are kept: the ClientHello is all we need.
//!
//! Reference: <https://www.rfc-editor.org/rfc/rfc9000#section-19.6>

use std::ops::Range;

/// Bytes of CRYPTO stream kept. A ClientHello with post-quantum key shares (ML-KEM-768,
/// ~1.2 KiB) plus ECH fits comfortably; RFC 9000 §7.5 lets endpoints cap buffered CRYPTO
/// data (at least 4096 bytes).
pub const MAX_CRYPTO_STREAM: usize = 16 * 1024;
/// Separate filled ranges tracked before further out-of-order data is dropped.
pub const MAX_RANGES: usize = 32;

/// What happened to one inserted fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// All bytes were stored (or were already there).
    Stored,
    /// Some bytes lay beyond [`MAX_CRYPTO_STREAM`] and were dropped.
    Truncated,
    /// Too many gaps: the fragment was dropped.
    TooFragmented,
}

/// A bounded buffer of stream bytes plus the sorted, disjoint ranges that are filled.
#[derive(Clone, Debug, Default)]
pub struct CryptoStream {
    buf: Vec<u8>,
    filled: Vec<Range<usize>>,
}

impl CryptoStream {
    /// Store `data` at stream offset `offset`. Overlapping bytes keep their first value.
    pub fn insert(&mut self, offset: u64, data: &[u8]) -> Inserted {
        let Ok(start) = usize::try_from(offset) else {
            return Inserted::Truncated;
        };
        if start >= MAX_CRYPTO_STREAM {
            return if data.is_empty() {
                Inserted::Stored
            } else {
                Inserted::Truncated
            };
        }
        let end = start.saturating_add(data.len()).min(MAX_CRYPTO_STREAM);
        let outcome = if end - start < data.len() {
            Inserted::Truncated
        } else {
            Inserted::Stored
        };
        if start == end {
            return outcome;
        }
        let touches = |r: &Range<usize>| r.start <= end && start <= r.end;
        if self.filled.len() >= MAX_RANGES && !self.filled.iter().any(touches) {
            return Inserted::TooFragmented;
        }
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        // Write only the gaps, so retransmitted bytes never overwrite the first copy.
        let mut pos = start;
        for r in self
            .filled
            .iter()
            .filter(|r| r.end > start && r.start < end)
        {
            if r.start > pos {
                self.buf[pos..r.start].copy_from_slice(&data[pos - start..r.start - start]);
            }
            pos = pos.max(r.end);
        }
        if pos < end {
            self.buf[pos..end].copy_from_slice(&data[pos - start..end - start]);
        }
        self.merge(start..end);
        outcome
    }

    fn merge(&mut self, new: Range<usize>) {
        let mut merged = new;
        self.filled.retain(|r| {
            let overlaps = r.start <= merged.end && merged.start <= r.end;
            if overlaps {
                merged = merged.start.min(r.start)..merged.end.max(r.end);
            }
            !overlaps
        });
        let at = self.filled.partition_point(|r| r.start < merged.start);
        self.filled.insert(at, merged);
    }

    /// The bytes available without a gap from offset 0.
    pub fn contiguous(&self) -> &[u8] {
        match self.filled.first() {
            Some(r) if r.start == 0 => self.buf.get(..r.end).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Whether any byte has been stored.
    pub fn is_empty(&self) -> bool {
        self.filled.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn in_order_and_out_of_order_fragments_join() {
        let mut s = CryptoStream::default();
        assert_eq!(s.insert(6, b"world"), Inserted::Stored);
        assert_eq!(s.contiguous(), b"");
        assert_eq!(s.insert(0, b"hel"), Inserted::Stored);
        assert_eq!(s.contiguous(), b"hel");
        assert_eq!(s.insert(3, b"lo "), Inserted::Stored);
        assert_eq!(s.contiguous(), b"hello world");
    }

    #[test]
    fn retransmission_keeps_first_bytes() {
        let mut s = CryptoStream::default();
        s.insert(0, b"abcdef");
        s.insert(2, b"XXXXXXyz");
        assert_eq!(s.contiguous(), b"abcdefXXyz");
    }

    #[test]
    fn bytes_beyond_the_cap_are_dropped() {
        let mut s = CryptoStream::default();
        let big = vec![7u8; 100];
        assert_eq!(
            s.insert((MAX_CRYPTO_STREAM - 10) as u64, &big),
            Inserted::Truncated
        );
        assert_eq!(s.insert(u64::MAX, b"x"), Inserted::Truncated);
        assert_eq!(
            s.insert(MAX_CRYPTO_STREAM as u64, b"x"),
            Inserted::Truncated
        );
        assert!(s.contiguous().is_empty());
    }

    #[test]
    fn too_many_gaps_are_refused() {
        let mut s = CryptoStream::default();
        for i in 0..MAX_RANGES {
            assert_eq!(s.insert((i * 10 + 5) as u64, b"ab"), Inserted::Stored);
        }
        assert_eq!(s.insert(1000, b"zz"), Inserted::TooFragmented);
        // Data that extends an existing range is still accepted.
        assert_eq!(s.insert(7, b"cd"), Inserted::Stored);
    }

    proptest! {
        #[test]
        fn any_fragment_order_rebuilds_the_stream(
            data in proptest::collection::vec(any::<u8>(), 1..600),
            cuts in proptest::collection::vec(0usize..600, 0..12),
            seed in any::<u64>(),
        ) {
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c % data.len()).collect();
            points.push(0);
            points.push(data.len());
            points.sort_unstable();
            points.dedup();
            let mut pieces: Vec<(usize, usize)> = points.windows(2).map(|w| (w[0], w[1])).collect();
            // Deterministic shuffle from the seed.
            let mut x = seed | 1;
            for i in (1..pieces.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                pieces.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut s = CryptoStream::default();
            for (a, b) in pieces {
                s.insert(a as u64, &data[a..b]);
            }
            prop_assert_eq!(s.contiguous(), &data[..]);
        }

        #[test]
        fn random_inserts_never_panic(ops in proptest::collection::vec((any::<u16>(), 0usize..300), 0..50)) {
            let mut s = CryptoStream::default();
            for (off, len) in ops {
                s.insert(u64::from(off), &vec![1u8; len]);
                prop_assert!(s.contiguous().len() <= MAX_CRYPTO_STREAM);
            }
        }
    }
}
