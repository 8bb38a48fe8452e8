//! A chunked reader over one reusable buffer: the parsers ask for "at least n bytes at the
//! current offset" and get borrowed views, so a packet costs no allocation and no syscall.

use super::error::{At, CaptureErrorKind};
use std::io::{self, Read};

/// Size of the reusable buffer and so of each read: 128 KiB fits in L2, so the frames the
/// kernel just copied are still in cache when they are parsed; a syscall per 128 KiB is
/// still rare.
pub(super) const READ_CHUNK: usize = 1 << 17;

pub(super) struct StreamBuf {
    reader: Box<dyn Read + Send>,
    /// Always fully initialised; `buf.len()` is the capacity in use.
    buf: Vec<u8>,
    /// First unconsumed byte.
    start: usize,
    /// End of the valid data.
    end: usize,
    /// Stream offset of `buf[0]`.
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
            reader,
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
    pub fn into_gzip(mut self) -> Self {
        let prefix = self.available().to_vec();
        let raw = std::mem::replace(&mut self.reader, Box::new(io::empty()));
        let decoder = flate2::read::MultiGzDecoder::new(io::Cursor::new(prefix).chain(raw));
        StreamBuf {
            reader: Box::new(decoder),
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

    /// Stream offset of the next unconsumed byte.
    pub fn offset(&self) -> u64 {
        self.base + self.start as u64
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
        if self.start.saturating_add(n) > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end = have;
            self.start = 0;
        }
        if n > self.buf.len() {
            self.buf.resize(n, 0);
        }
        while self.end - self.start < n {
            let Some(free) = self.buf.get_mut(self.end..) else {
                break;
            };
            // A misbehaving reader may claim more than it was given; never trust it past
            // the buffer's end.
            let room = free.len();
            match self.reader.read(free) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(k) => self.end += k.min(room),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.pending = Some(e);
                    break;
                }
            }
        }
        self.end - self.start
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
            let reached = self.base + self.end as u64;
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
        let reached = self.base + self.end as u64;
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
