//! NDJSON: one JSON object per line, flushed per record when the writer is a live stream.

use super::json_text::{
    push_ip, push_key, push_opt_str, push_serde, push_str, push_time, push_u64,
};
use super::record::PerDirection;
use super::{FlowRecord, SessionRecord, Sink, Summary};
use crate::model::Endpoint;
use std::io::{self, Write};

pub struct NdjsonSink<'w> {
    out: Box<dyn Write + 'w>,
    flush_each: bool,
    /// Lines are serialised straight into this buffer and written out in large blocks
    /// (a `BufWriter` would copy every line once more).
    buf: Vec<u8>,
}

/// Bytes collected before a write to the output.
const BLOCK: usize = 256 * 1024;

impl<'w> NdjsonSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        NdjsonSink {
            out,
            flush_each: false,
            buf: Vec::with_capacity(BLOCK + 64 * 1024),
        }
    }

    /// Flush after every record (for a SIEM reading a live stream).
    pub fn flushing(mut self) -> Self {
        self.flush_each = true;
        self
    }

    fn line(&mut self, value: &impl serde::Serialize) -> io::Result<()> {
        self.push_line(|buf| push_serde(buf, value))
    }

    /// Appends one line; a line that fails to serialise leaves nothing behind.
    fn push_line(&mut self, write: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> io::Result<()> {
        let start = self.buf.len();
        if let Err(e) = write(&mut self.buf) {
            self.buf.truncate(start);
            return Err(e);
        }
        self.buf.push(b'\n');
        if self.flush_each {
            self.flush()
        } else if self.buf.len() >= BLOCK {
            self.write_block()
        } else {
            Ok(())
        }
    }

    fn write_block(&mut self) -> io::Result<()> {
        let written = self.out.write_all(&self.buf);
        self.buf.clear();
        written
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_block()?;
        self.out.flush()
    }
}

impl Drop for NdjsonSink<'_> {
    /// Like `BufWriter`: what is still buffered goes out; an error here has nowhere to go.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl Sink for NdjsonSink<'_> {
    fn flow(&mut self, rec: &FlowRecord<'_>) -> io::Result<()> {
        self.push_line(|buf| flow_json(buf, rec))
    }

    fn session(&mut self, rec: &SessionRecord) -> io::Result<()> {
        self.line(rec)
    }

    fn summary(&mut self, summary: &Summary) -> io::Result<()> {
        self.line(summary)?;
        self.flush()
    }
}

/// The flow record as [`FlowRecord`]'s derived `Serialize` writes it (same keys, order and
/// skipped fields; a test compares on every shipped capture), without serde's per-key cost.
pub fn flow_json(out: &mut Vec<u8>, r: &FlowRecord<'_>) -> io::Result<()> {
    out.extend_from_slice(b"{\"record\":");
    push_str(out, r.record);
    push_key(out, "id");
    push_u64(out, r.id);
    push_key(out, "transport");
    push_str(out, &r.transport.name());
    push_key(out, "src");
    push_endpoint(out, r.src);
    push_key(out, "dst");
    push_endpoint(out, r.dst);
    push_key(out, "app");
    push_opt_str(out, r.app);
    if let Some(basis) = r.app_basis {
        push_key(out, "app_basis");
        push_str(out, basis);
    }
    push_key(out, "server_name");
    push_opt_str(out, r.server_name);
    push_key(out, "server_name_source");
    push_opt_str(out, r.server_name_source.map(|s| s.as_str()));
    push_key(out, "role");
    push_str(out, r.role.as_str());
    push_key(out, "route");
    push_opt_str(out, r.route.map(|s| s.as_str()));
    if let Some(basis) = r.route_basis {
        push_key(out, "route_basis");
        push_str(out, basis);
    }
    push_key(out, "encryption");
    push_str(out, r.encryption.as_str());
    push_key(out, "findings");
    out.push(b'[');
    for (i, f) in r.findings.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"code\":");
        push_str(out, f.code);
        push_key(out, "severity");
        push_str(out, f.severity.as_str());
        push_key(out, "evidence");
        push_str(out, &f.evidence);
        out.push(b'}');
    }
    out.push(b']');
    push_key(out, "protocol");
    push_opt_str(out, r.protocol);
    push_key(out, "first_seen");
    push_time(out, r.first_seen);
    push_key(out, "last_seen");
    push_time(out, r.last_seen);
    push_key(out, "duration_s");
    push_serde(out, &r.duration_s)?;
    push_key(out, "packets");
    push_per_direction(out, r.packets);
    push_key(out, "bytes");
    push_per_direction(out, r.bytes);
    push_key(out, "end_reason");
    push_str(out, r.end_reason.as_str());
    push_key(out, "source");
    push_str(out, r.source);
    push_opt_field(out, "server", r.server)?;
    let facts = r.facts;
    push_opt_field(out, "dns", facts.dns.as_deref())?;
    push_opt_field(out, "http", facts.http.as_deref())?;
    push_opt_field(out, "tls", facts.tls.as_deref())?;
    push_opt_field(out, "quic", facts.quic.as_deref())?;
    push_opt_field(out, "dtls", facts.dtls.as_deref())?;
    push_opt_field(out, "sip", facts.sip.as_deref())?;
    let media = facts.media.as_deref().filter(|m| !m.is_empty());
    push_opt_field(out, "media", media)?;
    out.push(b'}');
    Ok(())
}

/// `,"key":value` when there is a value (the derive's `skip_serializing_if = "Option::is_none"`).
fn push_opt_field(
    out: &mut Vec<u8>,
    key: &'static str,
    value: Option<&impl serde::Serialize>,
) -> io::Result<()> {
    if let Some(v) = value {
        push_key(out, key);
        push_serde(out, v)?;
    }
    Ok(())
}

fn push_endpoint(out: &mut Vec<u8>, e: Endpoint) {
    out.extend_from_slice(b"{\"ip\":");
    push_ip(out, e.ip);
    push_key(out, "port");
    push_u64(out, e.port.into());
    out.push(b'}');
}

fn push_per_direction(out: &mut Vec<u8>, v: PerDirection) {
    out.extend_from_slice(b"{\"to_server\":");
    push_u64(out, v.to_server);
    push_key(out, "to_client");
    push_u64(out, v.to_client);
    out.push(b'}');
}
