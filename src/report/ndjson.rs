//! NDJSON: one JSON object per line, flushed per record when the writer is a live stream.

use super::json_text::{
    push_ip, push_key, push_opt_str, push_serde, push_str, push_time, push_u64,
};
use super::record::PerDirection;
use super::{FlowRecord, SessionRecord, Sink, Summary};
use crate::model::Endpoint;
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
        push_serde(&mut self.line, value)?;
        self.end_line()
    }

    fn end_line(&mut self) -> io::Result<()> {
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
        self.line.clear();
        flow_json(&mut self.line, rec)?;
        self.end_line()
    }

    fn session(&mut self, rec: &SessionRecord) -> io::Result<()> {
        self.line(rec)
    }

    fn summary(&mut self, summary: &Summary) -> io::Result<()> {
        self.line(summary)?;
        self.out.flush()
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
    if let Some(server) = r.server {
        push_key(out, "server");
        push_serde(out, server)?;
    }
    let facts = r.facts;
    if let Some(v) = &facts.dns {
        push_key(out, "dns");
        push_serde(out, v)?;
    }
    if let Some(v) = &facts.http {
        push_key(out, "http");
        push_serde(out, v)?;
    }
    if let Some(v) = &facts.tls {
        push_key(out, "tls");
        push_serde(out, v)?;
    }
    if let Some(v) = &facts.quic {
        push_key(out, "quic");
        push_serde(out, v)?;
    }
    if let Some(v) = &facts.dtls {
        push_key(out, "dtls");
        push_serde(out, v)?;
    }
    if let Some(v) = &facts.sip {
        push_key(out, "sip");
        push_serde(out, v)?;
    }
    if let Some(v) = facts.media.as_ref().filter(|m| !m.is_empty()) {
        push_key(out, "media");
        push_serde(out, v)?;
    }
    out.push(b'}');
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
