//! A chunked reader over one reusable buffer: the parsers ask for "at least n bytes at the
//! current offset" and get borrowed views, so a packet costs no allocation and no syscall.

use super::error::{At, CaptureErrorKind};
use super::read_ahead::{Chunk, ReadAhead};
use std::io::{self, Read};

/// Size of the reusable buffer and so of each read: 128 KiB fits in L2, so the frames the
/// kernel just copied are still in cache when they are parsed; a syscall per 128 KiB is
/// still rare.
pub(super) const READ_CHUNK: usize = 1 << 17;

/// Where the bytes come from.
enum Source {
    /// Read on demand into the buffer.
    Direct(Box<dyn Read + Send>),
    /// Read ahead on a thread; its chunks become the buffer.
    Ahead(ReadAhead),
}

pub(super) struct StreamBuf {
    source: Source,
    /// Always fully initialised; `buf.len()` is the capacity in use.
    buf: Vec<u8>,
    /// First unconsumed byte.
    start: usize,
    /// End of the valid data.
    end: usize,
    /// Stream offset of `buf[0]`, modulo 2^64: a read-ahead chunk's data starts after its
    /// headroom, so at the start of a stream `buf[0]` lies "before" offset 0.
    base: u64,
    eof: bool,
    /// A read error, kept until the parsers run out of buffered bytes so the frames read
    /// before it are still delivered.
    pending: Option<io::Error>,
    gzip: bool,
}

impl StreamBuf {
    pub fn new(reader: Box<dyn Read + Send>) -> Self {
        StreamBuf {
            source: Source::Direct(reader),
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            pending: None,
            gzip: false,
        }
    }

    /// Restarts the stream through a gzip decoder; the bytes already buffered are the
    /// start of the compressed stream.
    /// Called before [`read_ahead`](Self::read_ahead); a read-ahead stream stays as it is.
    pub fn into_gzip(self) -> Self {
        let prefix = self.available().to_vec();
        let Source::Direct(raw) = self.source else {
            return self;
        };
        let decoder = flate2::read::MultiGzDecoder::new(io::Cursor::new(prefix).chain(raw));
        StreamBuf {
            source: Source::Direct(Box::new(decoder)),
            buf: self.buf,
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            // The chained raw reader is read again through the decoder and reports any
            // error itself.
            pending: None,
            gzip: true,
        }
    }

    /// From now on read on a thread of its own in chunks of `chunk` bytes with `headroom`
    /// bytes of room for a cut record (see [`super::read_ahead`]). Stays direct when no thread can
    /// be started.
    pub fn read_ahead(&mut self, chunk: usize, headroom: usize) {
        let source = std::mem::replace(&mut self.source, Source::Direct(Box::new(io::empty())));
        self.source = match source {
            Source::Direct(reader) => match ReadAhead::spawn(reader, chunk, headroom) {
                Ok(ahead) => Source::Ahead(ahead),
                Err(reader) => Source::Direct(reader),
            },
            ahead => ahead,
        };
    }

    /// Whether the stream is read through a gzip decoder.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Stream offset of buffer position `i`.
    fn at(&self, i: usize) -> u64 {
        self.base.wrapping_add(i as u64)
    }

    /// Stream offset of the next unconsumed byte.
    pub fn offset(&self) -> u64 {
        self.at(self.start)
    }

    /// The unconsumed bytes in the buffer.
    pub fn available(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// Bytes at absolute buffer positions (as returned by [`consume`](Self::consume)); they
    /// stay put until the next `fill`.
    pub fn slice(&self, start: usize, len: usize) -> &[u8] {
        start
            .checked_add(len)
            .and_then(|end| self.buf.get(start..end))
            .unwrap_or_default()
    }

    /// Makes at least `n` bytes available unless the stream ends or fails first, and returns
    /// how many are available. The buffer grows only when `n` exceeds it; callers bound `n`.
    #[inline]
    pub fn fill(&mut self, n: usize) -> usize {
        let have = self.end - self.start;
        // Almost every call: the record is already buffered.
        if have >= n {
            return have;
        }
        self.refill(n)
    }

    #[cold]
    fn refill(&mut self, n: usize) -> usize {
        let have = self.end - self.start;
        if self.eof || self.pending.is_some() {
            return have;
        }
        if let Source::Ahead(_) = self.source {
            return self.refill_ahead(n);
        }
        if self.start.saturating_add(n) > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.base = self.base.wrapping_add(self.start as u64);
            self.end = have;
            self.start = 0;
        }
        if n > self.buf.len() {
            self.buf.resize(n, 0);
        }
        while self.end - self.start < n {
            let (Some(free), Source::Direct(reader)) =
                (self.buf.get_mut(self.end..), &mut self.source)
            else {
                break;
            };
            match read_into(&mut **reader, free) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(k) => self.end += k,
                Err(e) => {
                    self.pending = Some(e);
                    break;
                }
            }
        }
        self.end - self.start
    }

    fn refill_ahead(&mut self, n: usize) -> usize {
        while self.end - self.start < n {
            let Source::Ahead(ahead) = &self.source else {
                break;
            };
            match ahead.next() {
                None => {
                    self.eof = true;
                    break;
                }
                Some(Err(e)) => {
                    self.pending = Some(e);
                    break;
                }
                Some(Ok(chunk)) => self.splice(chunk),
            }
        }
        self.end - self.start
    }

    /// Continues the stream with the next read-ahead chunk: the unconsumed tail moves into
    /// the chunk's headroom (or, when longer, the chunk is appended to it).
    fn splice(&mut self, chunk: Chunk) {
        let Source::Ahead(ahead) = &self.source else {
            return;
        };
        let headroom = ahead.headroom();
        let offset = self.offset();
        let Chunk { buf: mut next, end } = chunk;
        let tail = self.buf.get(self.start..self.end).unwrap_or_default();
        let room = headroom
            .checked_sub(tail.len())
            .and_then(|at| next.get_mut(at..headroom));
        let used = match room {
            Some(room) => {
                room.copy_from_slice(tail);
                self.start = headroom - tail.len();
                self.end = end;
                std::mem::replace(&mut self.buf, next)
            }
            None => {
                let have = tail.len();
                self.buf.copy_within(self.start..self.end, 0);
                self.buf.truncate(have);
                self.buf
                    .extend_from_slice(next.get(headroom..end).unwrap_or_default());
                self.start = 0;
                self.end = self.buf.len();
                next
            }
        };
        self.base = offset.wrapping_sub(self.start as u64);
        ahead.recycle(used);
    }

    /// Consumes `n` available bytes and returns the buffer position where they start.
    pub fn consume(&mut self, n: usize) -> usize {
        let at = self.start;
        self.start = self.start.saturating_add(n).min(self.end);
        at
    }

    /// The error to report when the parsers needed `need` bytes at `offset` for `what` and
    /// only `left` were there: a pending read error first, else a clean end when nothing is
    /// left, else truncation.
    pub fn ran_out(
        &mut self,
        offset: u64,
        what: &'static str,
        need: usize,
        left: usize,
    ) -> Result<(), At> {
        if let Some(e) = self.pending.take() {
            let reached = self.at(self.end);
            return Err(At::new(reached, self.io_kind(e)));
        }
        if left == 0 {
            return Ok(());
        }
        Err(At::new(
            offset,
            CaptureErrorKind::Truncated {
                what,
                need: need as u64,
                left: left as u64,
            },
        ))
    }

    /// A read error that stopped the stream before `n` bytes were available, if any.
    pub fn take_pending(&mut self) -> Option<At> {
        let e = self.pending.take()?;
        let reached = self.at(self.end);
        Some(At::new(reached, self.io_kind(e)))
    }

    fn io_kind(&self, e: io::Error) -> CaptureErrorKind {
        use io::ErrorKind::{InvalidData, InvalidInput, UnexpectedEof};
        if self.gzip && matches!(e.kind(), InvalidData | InvalidInput | UnexpectedEof) {
            CaptureErrorKind::Gzip(e)
        } else {
            CaptureErrorKind::Io(e)
        }
    }
}

/// One read into `free`, retried when interrupted; 0 at the end of the stream. A
/// misbehaving reader may claim more than it was given: never counted past `free`'s end.
pub(super) fn read_into(reader: &mut dyn Read, free: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(free) {
            Ok(k) => return Ok(k.min(free.len())),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Hands out at most `step` bytes per read.
    struct Dribble {
        data: Vec<u8>,
        pos: usize,
        step: usize,
    }

    impl Read for Dribble {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len() - self.pos);
            out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn fill_gathers_small_reads_and_keeps_offsets() {
        let data: Vec<u8> = (0..=255u8).cycle().take(3 * READ_CHUNK + 17).collect();
        let mut s = StreamBuf::new(Box::new(Dribble {
            data: data.clone(),
            pos: 0,
            step: 4093,
        }));
        let mut seen = Vec::new();
        loop {
            let off = s.offset();
            let n = s.fill(70_001);
            if n == 0 {
                break;
            }
            let take = n.min(70_001);
            assert_eq!(
                s.available()[..take],
                data[off as usize..off as usize + take]
            );
            let at = s.consume(take);
            seen.extend_from_slice(s.slice(at, take));
        }
        assert_eq!(seen, data);
    }

    /// Drains `s` asking for `sizes` bytes in turn; checks every view against `data`.
    fn drain(s: &mut StreamBuf, data: &[u8], sizes: &[usize]) -> Vec<u8> {
        let mut seen = Vec::new();
        for turn in 0.. {
            let want = sizes[turn % sizes.len()];
            let off = s.offset() as usize;
            let n = s.fill(want);
            if n == 0 {
                break;
            }
            let take = n.min(want);
            assert_eq!(s.available()[..take], data[off..off + take]);
            let at = s.consume(take);
            seen.extend_from_slice(s.slice(at, take));
        }
        seen
    }

    #[test]
    fn reading_ahead_keeps_bytes_and_offsets() {
        let data: Vec<u8> = (0..=255u8).cycle().take(3 * READ_CHUNK + 17).collect();
        for (chunk, headroom) in [(1000, 100), (7, 0), (64 * 1024, 16), (READ_CHUNK, 65_536)] {
            let mut s = StreamBuf::new(Box::new(Dribble {
                data: data.clone(),
                pos: 0,
                step: 4093,
            }));
            // Some bytes read in place first, as a capture's header is.
            assert!(s.fill(24) >= 24);
            s.consume(24);
            s.read_ahead(chunk, headroom);
            let mut seen = data[..24].to_vec();
            seen.extend(drain(&mut s, &data, &[1, 250, 70_001, 16, 3000]));
            assert_eq!(seen, data, "chunk {chunk}, headroom {headroom}");
            assert_eq!(s.offset(), data.len() as u64);
        }
    }

    /// Gives `data`, then fails.
    struct FailsAfter {
        data: io::Cursor<Vec<u8>>,
    }

    impl Read for FailsAfter {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match self.data.read(out)? {
                0 => Err(io::Error::other("disk on fire")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn a_read_error_ahead_comes_after_the_bytes_before_it() {
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let mut s = StreamBuf::new(Box::new(FailsAfter {
            data: io::Cursor::new(data.clone()),
        }));
        s.read_ahead(999, 10);
        assert_eq!(drain(&mut s, &data, &[300]), data);
        let err = s.take_pending().expect("the error is kept");
        assert_eq!(err.offset, 10_000);
        assert!(format!("{:?}", err.kind).contains("disk on fire"));
    }

    #[test]
    fn fill_grows_for_a_request_larger_than_the_buffer() {
        let data = vec![7u8; READ_CHUNK * 2 + 5];
        let mut s = StreamBuf::new(Box::new(io::Cursor::new(data)));
        s.fill(3);
        s.consume(3);
        assert_eq!(s.fill(READ_CHUNK * 2), READ_CHUNK * 2);
        assert_eq!(s.available().len(), READ_CHUNK * 2);
        assert_eq!(s.offset(), 3);
    }
}
