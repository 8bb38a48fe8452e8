//! One JSON document: `{"flows": [...], "sessions": [...], "summary": {...}}`.

use super::{FlowRecord, SessionRecord, Sink, Summary};
use std::io::{self, BufWriter, Write};

pub struct JsonSink<'w> {
    out: BufWriter<Box<dyn Write + 'w>>,
    flows: usize,
    /// Sessions are few; they are written after the flows.
    sessions: Vec<SessionRecord>,
}

impl<'w> JsonSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        JsonSink {
            out: BufWriter::new(out),
            flows: 0,
            sessions: Vec::new(),
        }
    }
}

impl Sink for JsonSink<'_> {
    fn flow(&mut self, rec: &FlowRecord<'_>) -> io::Result<()> {
        // Streamed element by element: the document never sits in memory whole.
        self.out.write_all(if self.flows == 0 {
            b"{\"flows\":[\n"
        } else {
            b",\n"
        })?;
        serde_json::to_writer(&mut self.out, rec)?;
        self.flows += 1;
        Ok(())
    }

    fn session(&mut self, rec: &SessionRecord) -> io::Result<()> {
        self.sessions.push(rec.clone());
        Ok(())
    }

    fn summary(&mut self, summary: &Summary) -> io::Result<()> {
        self.out.write_all(if self.flows == 0 {
            b"{\"flows\":["
        } else {
            b"\n"
        })?;
        self.out.write_all(b"],\n\"sessions\":")?;
        serde_json::to_writer(&mut self.out, &self.sessions)?;
        self.out.write_all(b",\n\"summary\":")?;
        serde_json::to_writer(&mut self.out, summary)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}
