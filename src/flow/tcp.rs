//! Just enough TCP reassembly to read handshakes and headers: one contiguous byte stream
//! per direction from its first byte, with out-of-order segments held back and
//! retransmissions trimmed, bounded in bytes and segments.
//!
//! References: RFC 9293 §3.4 (sequence numbers, modulo 2^32 comparisons).

/// Bytes of one direction kept for dissectors: a TLS 1.2 server flight with a long
/// certificate chain fits; later bytes are only counted.
pub const MAX_STREAM_BYTES: usize = 64 * 1024;
/// Out-of-order segments held per direction.
pub const MAX_OOO_SEGMENTS: usize = 16;
/// Bytes held in out-of-order segments per direction.
pub const MAX_OOO_BYTES: usize = 32 * 1024;
/// Smallest allocation of a direction's stream buffer.
const FIRST_RESERVE: usize = 256;

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct Stream {
    /// Sequence number of the next byte expected; `None` until the first SYN or data.
    next: Option<u32>,
    data: Vec<u8>,
    ooo: Vec<(u32, Vec<u8>)>,
    ooo_bytes: usize,
    /// The stream hit [`MAX_STREAM_BYTES`]; nothing more is appended.
    pub full: bool,
    /// Segments dropped because the holding area was full or they fell outside bounds.
    pub dropped_segments: u32,
}

impl Stream {
    /// All contiguous bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// A SYN fixes the initial sequence number: data starts at `seq + 1`.
    pub fn on_syn(&mut self, seq: u32) {
        if self.next.is_none() {
            self.next = Some(seq.wrapping_add(1));
        }
    }

    /// Add a segment. Returns true when new contiguous bytes were appended.
    pub fn on_segment(&mut self, seq: u32, payload: &[u8]) -> bool {
        if payload.is_empty() || self.full {
            return false;
        }
        // Joined mid-stream: the first data segment starts the stream.
        let next = *self.next.get_or_insert(seq);
        let offset = seq.wrapping_sub(next) as i32;
        if offset > 0 {
            self.hold(seq, payload);
            return false;
        }
        // A retransmission or overlap: keep only what lies beyond `next`.
        let skip = offset.unsigned_abs() as usize;
        let Some(fresh) = payload.get(skip..).filter(|f| !f.is_empty()) else {
            return false;
        };
        self.append(fresh);
        self.drain_held();
        true
    }

    fn append(&mut self, bytes: &[u8]) {
        let room = MAX_STREAM_BYTES - self.data.len();
        let take = bytes.len().min(room);
        if self.data.capacity() == 0 {
            // Most streams end with their first segment (a request, a ClientHello): room
            // for it and a little more; a server's certificate flight grows from there.
            self.data
                .reserve(take.next_power_of_two().max(FIRST_RESERVE).min(room));
        }
        self.data.extend_from_slice(&bytes[..take]);
        if let Some(n) = self.next.as_mut() {
            *n = n.wrapping_add(bytes.len() as u32);
        }
        if take < bytes.len() || self.data.len() == MAX_STREAM_BYTES {
            self.full = true;
            self.ooo.clear();
            self.ooo_bytes = 0;
        }
    }

    fn hold(&mut self, seq: u32, payload: &[u8]) {
        if self.ooo.len() >= MAX_OOO_SEGMENTS || self.ooo_bytes + payload.len() > MAX_OOO_BYTES {
            self.dropped_segments += 1;
            return;
        }
        if self
            .ooo
            .iter()
            .any(|(s, d)| *s == seq && d.len() >= payload.len())
        {
            return;
        }
        self.ooo_bytes += payload.len();
        self.ooo.push((seq, payload.to_vec()));
    }

    fn drain_held(&mut self) {
        while let (false, Some(next)) = (self.full, self.next) {
            // Forget held segments that now lie entirely behind `next`.
            self.ooo.retain(|(s, d)| {
                let off = next.wrapping_sub(*s) as i32;
                off < 0 || (off as usize) < d.len()
            });
            let ready = self
                .ooo
                .iter()
                .position(|(s, _)| next.wrapping_sub(*s) as i32 >= 0);
            let Some(i) = ready else { break };
            let (s, d) = self.ooo.swap_remove(i);
            self.append(&d[next.wrapping_sub(s) as usize..]);
        }
        self.ooo_bytes = self.ooo.iter().map(|(_, d)| d.len()).sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_after_syn() {
        let mut s = Stream::default();
        s.on_syn(99);
        assert!(s.on_segment(100, b"hello "));
        assert!(s.on_segment(106, b"world"));
        assert_eq!(s.bytes(), b"hello world");
    }

    #[test]
    fn out_of_order_and_retransmitted() {
        let mut s = Stream::default();
        s.on_syn(0);
        assert!(!s.on_segment(7, b"world"));
        assert!(s.on_segment(1, b"hello "));
        assert_eq!(s.bytes(), b"hello world");
        // A retransmission that overlaps and extends.
        assert!(s.on_segment(7, b"world!"));
        assert!(!s.on_segment(1, b"hello "));
        assert_eq!(s.bytes(), b"hello world!");
    }

    #[test]
    fn sequence_wraps() {
        let mut s = Stream::default();
        s.on_syn(u32::MAX - 2);
        assert!(s.on_segment(u32::MAX - 1, b"ab"));
        assert!(s.on_segment(0, b"cd"));
        assert_eq!(s.bytes(), b"abcd");
    }

    #[test]
    fn bounded() {
        let mut s = Stream::default();
        s.on_syn(0);
        for i in 0..100u32 {
            s.on_segment(1 + 2_000_000 + i * 1000, &[0; 1000]);
        }
        assert!(s.ooo.len() <= MAX_OOO_SEGMENTS && s.ooo_bytes <= MAX_OOO_BYTES);
        let big = vec![1u8; MAX_STREAM_BYTES + 10];
        s.on_segment(1, &big);
        assert!(s.full);
        assert_eq!(s.bytes().len(), MAX_STREAM_BYTES);
    }

    proptest::proptest! {
        /// Any arrival order of the segments of a stream rebuilds the stream.
        #[test]
        fn any_order_rebuilds(isn in proptest::num::u32::ANY, cuts in proptest::collection::vec(1usize..40, 1..10), seed in 0u64..1000) {
            let total: usize = cuts.iter().sum();
            let stream: Vec<u8> = (0..total).map(|i| i as u8).collect();
            let mut segs = Vec::new();
            let mut at = 0;
            for c in &cuts { segs.push((at, &stream[at..at + c])); at += c; }
            // Deterministic shuffle from the seed.
            let n = segs.len();
            for i in 0..n { segs.swap(i, (seed as usize * 31 + i * 17) % n); }
            let mut s = Stream::default();
            s.on_syn(isn);
            for (off, d) in &segs { s.on_segment(isn.wrapping_add(1).wrapping_add(*off as u32), d); }
            proptest::prop_assert_eq!(s.bytes(), &stream[..]);
        }
    }
}
