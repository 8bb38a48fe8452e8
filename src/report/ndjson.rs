//! NDJSON: one JSON object per line, flushed per record when the writer is a live stream.

use super::{FlowRecord, SessionRecord, Sink, Summary};
use std::io::{self, BufWriter, Write};

pub struct NdjsonSink<'w> {
    out: BufWriter<Box<dyn Write + 'w>>,
    flush_each: bool,
    /// One record, serialised here first (reused: no allocation per record).
    line: Vec<u8>,
}

impl<'w> NdjsonSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        NdjsonSink {
            out: BufWriter::with_capacity(256 * 1024, out),
            flush_each: false,
            line: Vec::with_capacity(4096),
        }
    }

    /// Flush after every record (for a SIEM reading a live stream).
    pub fn flushing(mut self) -> Self {
        self.flush_each = true;
        self
    }

    fn line(&mut self, value: &impl serde::Serialize) -> io::Result<()> {
        self.line.clear();
        sonic_rs::to_writer(&mut self.line, value).map_err(io::Error::other)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        if self.flush_each {
            self.out.flush()?;
        }
        Ok(())
    }
}

impl Sink for NdjsonSink<'_> {
    fn flow(&mut self, rec: &FlowRecord<'_>) -> io::Result<()> {
        self.line(rec)
    }

    fn session(&mut self, rec: &SessionRecord) -> io::Result<()> {
        self.line(rec)
    }

    fn summary(&mut self, summary: &Summary) -> io::Result<()> {
        self.line(summary)?;
        self.out.flush()
    }
}
