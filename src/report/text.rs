//! The readable report: a flow table streamed row by row, then the summary.

use super::sanitize::for_terminal;
use super::{FlowRecord, Sink, Summary};
use std::io::{self, BufWriter, Write};

pub struct TextSink<'w> {
    out: BufWriter<Box<dyn Write + 'w>>,
    rows: u64,
}

impl<'w> TextSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        TextSink {
            out: BufWriter::new(out),
            rows: 0,
        }
    }
}

/// Cut to `width` characters, marking the cut with an ellipsis.
fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

impl Sink for TextSink<'_> {
    fn flow(&mut self, r: &FlowRecord<'_>) -> io::Result<()> {
        if self.rows == 0 {
            writeln!(
                self.out,
                "{:<10} {:<47} {:<30} {:<10} {:<10} {:<10} {:>7} {:>9}",
                "PROTO",
                "CLIENT → SERVER",
                "SERVER NAME",
                "APP",
                "ROLE",
                "ENCRYPTION",
                "PACKETS",
                "BYTES"
            )?;
        }
        self.rows += 1;
        let proto = match r.protocol {
            Some(p) => format!("{}/{p}", r.transport.name()),
            None => r.transport.name().into_owned(),
        };
        let ends = format!("{} → {}", r.src, r.dst);
        let name = r.server_name.map(for_terminal).unwrap_or_default();
        let app = r.app.map(for_terminal).unwrap_or_else(|| "-".into());
        let json = |v: &dyn erased::Ser| v.text();
        writeln!(
            self.out,
            "{:<10} {:<47} {:<30} {:<10} {:<10} {:<10} {:>7} {:>9}",
            fit(&proto, 10),
            fit(&ends, 47),
            fit(&name, 30),
            fit(&app, 10),
            json(&r.role),
            json(&r.encryption),
            r.packets.to_server + r.packets.to_client,
            human_bytes(r.bytes.to_server + r.bytes.to_client),
        )?;
        for f in &r.findings {
            writeln!(
                self.out,
                "    {:?} {}: {}",
                f.severity,
                f.code,
                for_terminal(&f.evidence)
            )?;
        }
        Ok(())
    }

    fn summary(&mut self, s: &Summary) -> io::Result<()> {
        writeln!(self.out)?;
        for input in &s.inputs {
            let fmt = input.format.as_deref().unwrap_or("unreadable");
            writeln!(
                self.out,
                "input {} ({fmt}): {} frames",
                for_terminal(&input.name),
                input.frames
            )?;
            if let Some(e) = &input.error {
                writeln!(self.out, "  error: {}", for_terminal(e))?;
            }
        }
        let p = &s.packets;
        writeln!(
            self.out,
            "{} frames, {}; {} flows reported ({} evicted at the flow cap); {} non-IP, {} truncated, {} unsupported link, {} bad IP frames",
            p.frames,
            human_bytes(p.bytes),
            s.flows.reported,
            s.flows.table.evicted,
            p.non_ip,
            p.truncated,
            p.unsupported_link,
            p.bad_ip
        )?;
        if let (Some(a), Some(b)) = (s.first_seen, s.last_seen) {
            writeln!(self.out, "capture time {} – {}", a.rfc3339(), b.rfc3339())?;
        }
        self.out.flush()
    }
}

/// Serialize a unit enum to its JSON string form without quotes.
mod erased {
    pub trait Ser {
        fn text(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn text(&self) -> String {
            serde_json::to_value(self)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        }
    }
}
