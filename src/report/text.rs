//! The readable report for a data-protection officer: session verdicts in plain language
//! first, then the findings, then the flow table, then the counters.

use super::sanitize::for_terminal;
use super::{FlowRecord, SessionRecord, Sink, Summary};
use std::io::{self, BufWriter, Write};

/// Flow rows kept for the table; beyond this they are counted (use NDJSON for everything).
pub const MAX_TABLE_ROWS: usize = 100_000;
/// Findings listed in the findings section.
pub const MAX_LISTED_FINDINGS: usize = 500;

pub struct TextSink<'w> {
    out: BufWriter<Box<dyn Write + 'w>>,
    sessions: Vec<SessionRecord>,
    findings: Vec<String>,
    findings_total: u64,
    rows: Vec<String>,
    rows_total: u64,
}

impl<'w> TextSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        TextSink {
            out: BufWriter::new(out),
            sessions: Vec::new(),
            findings: Vec::new(),
            findings_total: 0,
            rows: Vec::new(),
            rows_total: 0,
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

/// A unit enum's serde name, for table cells.
fn word(v: &impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "-".into())
}

const HEADER: &str = "PROTO      CLIENT → SERVER                                 SERVER NAME                    APP        ROLE       ENCRYPTION PACKETS     BYTES";

impl Sink for TextSink<'_> {
    fn flow(&mut self, r: &FlowRecord<'_>) -> io::Result<()> {
        for f in &r.findings {
            self.findings_total += 1;
            if self.findings.len() < MAX_LISTED_FINDINGS {
                self.findings.push(format!(
                    "  [{}] {} (flow {}): {}",
                    word(&f.severity),
                    f.code,
                    r.id,
                    for_terminal(&f.evidence)
                ));
            }
        }
        self.rows_total += 1;
        if self.rows.len() >= MAX_TABLE_ROWS {
            return Ok(());
        }
        let proto = r.protocol_words();
        let ends = format!("{} → {}", r.src, r.dst);
        let name = r.server_name.map(for_terminal).unwrap_or_default();
        let app = r.app.map(for_terminal).unwrap_or_else(|| "-".into());
        self.rows.push(format!(
            "{:<10} {:<47} {:<30} {:<10} {:<10} {:<10} {:>7} {:>9}",
            fit(&proto, 10),
            fit(&ends, 47),
            fit(&name, 30),
            fit(&app, 10),
            word(&r.role),
            word(&r.encryption),
            r.packets.to_server + r.packets.to_client,
            human_bytes(r.bytes.to_server + r.bytes.to_client),
        ));
        Ok(())
    }

    fn session(&mut self, rec: &SessionRecord) -> io::Result<()> {
        self.sessions.push(rec.clone());
        Ok(())
    }

    fn summary(&mut self, s: &Summary) -> io::Result<()> {
        let o = &mut self.out;
        writeln!(o, "CALLS AND APP SESSIONS")?;
        if self.sessions.is_empty() {
            writeln!(o, "  No call or conferencing-app session was recognised.")?;
        }
        for x in &self.sessions {
            writeln!(
                o,
                "  {} — {} session from {}, {} to {}",
                x.verdict,
                for_terminal(&x.app_name),
                x.client,
                x.first_seen.rfc3339(),
                x.last_seen.rfc3339()
            )?;
            let basis = match x.basis {
                crate::session::Basis::Wire => "what was seen on the wire",
                crate::session::Basis::AppKnowledge => "the app's documented design",
                crate::session::Basis::None => "nothing conclusive",
            };
            writeln!(o, "    based on {basis}; {} media flow(s)", x.media_flows)?;
            for e in &x.evidence {
                writeln!(o, "    - {}", for_terminal(e))?;
            }
        }
        writeln!(o)?;
        writeln!(o, "FINDINGS ({})", self.findings_total)?;
        for f in &self.findings {
            writeln!(o, "{f}")?;
        }
        if self.findings_total > self.findings.len() as u64 {
            writeln!(
                o,
                "  … {} more (see --format ndjson)",
                self.findings_total - self.findings.len() as u64
            )?;
        }
        writeln!(o)?;
        writeln!(o, "FLOWS ({})", self.rows_total)?;
        if !self.rows.is_empty() {
            writeln!(o, "{HEADER}")?;
        }
        for r in &self.rows {
            writeln!(o, "{r}")?;
        }
        if self.rows_total > self.rows.len() as u64 {
            writeln!(
                o,
                "… {} more flows (see --format ndjson)",
                self.rows_total - self.rows.len() as u64
            )?;
        }
        writeln!(o)?;
        for input in &s.inputs {
            let fmt = input.format.as_deref().unwrap_or("unreadable");
            writeln!(
                o,
                "input {} ({fmt}): {} frames",
                for_terminal(&input.name),
                input.frames
            )?;
            if let Some(e) = &input.error {
                writeln!(o, "  error: {}", for_terminal(e))?;
            }
        }
        let p = &s.packets;
        writeln!(
            o,
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
            writeln!(o, "capture time {} – {}", a.rfc3339(), b.rfc3339())?;
        }
        o.flush()
    }
}
