//! One self-contained HTML file for a data-protection officer: the summary, the verdict of
//! every call session in plain language, where the data went (an inline SVG chart), the
//! findings and the flow table. Nothing is loaded from the network (inline CSS and SVG, no
//! scripts, fonts or images), and a Content-Security-Policy forbids it anyway.
//!
//! Every string that can come from packets goes through
//! [`sanitize::for_terminal`](crate::report::sanitize::for_terminal) (control and bidi
//! characters) and then HTML escaping; no user data is written into attributes.
//!
//! References:
//! - HTML escaping: <https://html.spec.whatwg.org/multipage/parsing.html#escapingString>
//! - CSP: <https://www.w3.org/TR/CSP3/>

use super::sanitize::for_terminal;
use super::text::human_bytes;
use super::{FlowRecord, SessionRecord, Sink, Summary};
use crate::session::{Basis, CallVerdict};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};

/// Flow rows kept for the table; beyond this they are counted (use NDJSON for everything).
pub const MAX_TABLE_ROWS: usize = 5_000;
/// Findings listed in the findings table.
pub const MAX_LISTED_FINDINGS: usize = 2_000;
/// Bars in the "where data went" chart; the rest are summed into one bar.
pub const MAX_CHART_BARS: usize = 15;
/// Distinct places counted for the chart (a bound on memory, not on display).
pub const MAX_PLACES: usize = 1_024;

/// Text from packets, safe between HTML tags: controls and bidi overrides escaped first,
/// then `& < > " '`.
pub fn esc(s: &str) -> String {
    let s = for_terminal(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A serde unit enum's name (`"high"`, `"media"` …), for cells.
fn word(v: &impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "-".into())
}

/// The CSS class of a verdict badge (fixed strings only: never data in attributes).
fn verdict_class(v: CallVerdict) -> &'static str {
    match v {
        CallVerdict::Plaintext => "v-plain",
        CallVerdict::NotE2ee => "v-note2ee",
        CallVerdict::E2ee => "v-e2ee",
        CallVerdict::Unknown => "v-unknown",
    }
}

fn severity_class(s: crate::verdict::Severity) -> &'static str {
    use crate::verdict::Severity::*;
    match s {
        Critical => "s-critical",
        High => "s-high",
        Medium => "s-medium",
        Low => "s-low",
        Info => "s-info",
    }
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2125;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid #d8dce0;padding-bottom:4px}
h3{font-size:15px;margin:0}
.muted{color:#5f6b76}.card{background:#fff;border:1px solid #d8dce0;border-radius:8px;padding:14px 16px;margin:10px 0}
.counts{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}.count{background:#fff;border:1px solid #d8dce0;border-radius:8px;padding:8px 14px;min-width:110px}
.count b{display:block;font-size:20px}
.badge{display:inline-block;border-radius:4px;padding:2px 8px;font-weight:700;font-size:12px;color:#fff;letter-spacing:.02em;white-space:nowrap}
.v-plain{background:#c62828}.v-note2ee{background:#e65100}.v-e2ee{background:#2e7d32}.v-unknown{background:#6b7280}
.s-critical{background:#8e0000}.s-high{background:#c62828}.s-medium{background:#e65100}.s-low{background:#9a7d0a}.s-info{background:#6b7280}
.session-head{display:flex;align-items:center;gap:10px;flex-wrap:wrap}
ul{margin:6px 0 6px 20px;padding:0}li{margin:2px 0}
.violations{border-left:4px solid #c62828;background:#fdecea;padding:6px 10px;margin:8px 0;border-radius:4px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border:1px solid #e1e4e8;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef0f3;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.mono,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
.scroll{max-height:640px;overflow:auto;border:1px solid #d8dce0}
svg text{font:12px system-ui,sans-serif;fill:#1d2125}
footer{margin:32px 0 8px;color:#5f6b76;font-size:12px}
"#;

/// Buffers what the report needs and writes the file at the summary.
pub struct HtmlSink<'w> {
    out: BufWriter<Box<dyn Write + 'w>>,
    sessions: Vec<SessionRecord>,
    /// Rendered rows with their severity, listed most severe first.
    findings: Vec<(crate::verdict::Severity, String)>,
    findings_total: u64,
    by_severity: BTreeMap<crate::verdict::Severity, u64>,
    rows: Vec<String>,
    rows_total: u64,
    /// Bytes per place ("DE", "local network", "unknown").
    places: BTreeMap<String, u64>,
}

impl<'w> HtmlSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        HtmlSink {
            out: BufWriter::new(out),
            sessions: Vec::new(),
            findings: Vec::new(),
            findings_total: 0,
            by_severity: BTreeMap::new(),
            rows: Vec::new(),
            rows_total: 0,
            places: BTreeMap::new(),
        }
    }
}

/// Where a flow's server is, for the chart and the table.
fn place_of(r: &FlowRecord<'_>) -> String {
    if !crate::policy::is_public(r.dst.ip) {
        return "local network".into();
    }
    r.server
        .and_then(|p| p.country)
        .map_or_else(|| "unknown".into(), |c| c.to_string())
}

impl Sink for HtmlSink<'_> {
    fn flow(&mut self, r: &FlowRecord<'_>) -> io::Result<()> {
        for f in &r.findings {
            self.findings_total += 1;
            *self.by_severity.entry(f.severity).or_default() += 1;
            if self.findings.len() < MAX_LISTED_FINDINGS {
                self.findings.push((f.severity, format!(
                    "<tr><td><span class=\"badge {}\">{}</span></td><td class=\"mono\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                    severity_class(f.severity),
                    esc(&word(&f.severity)),
                    esc(f.code),
                    r.id,
                    esc(&f.evidence)
                )));
            }
        }
        let bytes = r.bytes.to_server.saturating_add(r.bytes.to_client);
        let place = place_of(r);
        if self.places.len() < MAX_PLACES || self.places.contains_key(&place) {
            let v = self.places.entry(place.clone()).or_default();
            *v = v.saturating_add(bytes);
        }
        self.rows_total += 1;
        if self.rows.len() >= MAX_TABLE_ROWS {
            return Ok(());
        }
        let proto = r.protocol_words();
        self.rows.push(format!(
            "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"mono\">{} → {}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            r.id,
            esc(&proto),
            esc(&r.src.to_string()),
            esc(&r.dst.to_string()),
            esc(r.server_name.unwrap_or("")),
            esc(r.app.unwrap_or("-")),
            esc(&word(&r.role)),
            esc(&word(&r.encryption)),
            esc(&place),
            r.packets.to_server.saturating_add(r.packets.to_client),
            esc(&human_bytes(bytes)),
            r.findings.len(),
        ));
        Ok(())
    }

    fn session(&mut self, rec: &SessionRecord) -> io::Result<()> {
        self.sessions.push(rec.clone());
        Ok(())
    }

    fn summary(&mut self, s: &Summary) -> io::Result<()> {
        let mut h = String::with_capacity(64 * 1024);
        self.head(&mut h, s);
        self.sessions_section(&mut h);
        self.chart_section(&mut h);
        self.findings_section(&mut h);
        self.flows_section(&mut h);
        self.inputs_section(&mut h, s);
        let _ = write!(
            h,
            "<footer>Written by leakscope {}. Verdicts rest on what the capture shows and on the apps' documented designs; see the evidence under each verdict.</footer>\n</main>\n</body>\n</html>\n",
            esc(env!("CARGO_PKG_VERSION"))
        );
        self.out.write_all(h.as_bytes())?;
        self.out.flush()
    }
}

impl HtmlSink<'_> {
    fn head(&self, h: &mut String, s: &Summary) {
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        // Defence in depth: even a mistake in escaping cannot run script or load anything.
        h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
        h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        h.push_str("<title>leakscope report</title>\n<style>");
        h.push_str(STYLE);
        h.push_str("</style>\n</head>\n<body>\n<main>\n<h1>leakscope report</h1>\n");
        let names: Vec<String> = s.inputs.iter().map(|i| esc(&i.name)).collect();
        let _ = write!(
            h,
            "<p class=\"muted\">Input: <span class=\"mono\">{}</span>",
            names.join(", ")
        );
        if let (Some(a), Some(b)) = (s.first_seen, s.last_seen) {
            let _ = write!(
                h,
                "<br>Capture time: {} – {}",
                esc(&a.rfc3339()),
                esc(&b.rfc3339())
            );
        }
        h.push_str("</p>\n<div class=\"counts\">");
        let mut count = |label: &str, value: String| {
            let _ = write!(
                h,
                "<div class=\"count\"><b>{}</b>{}</div>",
                esc(&value),
                esc(label)
            );
        };
        count("call sessions", self.sessions.len().to_string());
        for v in [
            CallVerdict::Plaintext,
            CallVerdict::NotE2ee,
            CallVerdict::E2ee,
            CallVerdict::Unknown,
        ] {
            let n = self.sessions.iter().filter(|x| x.verdict_code == v).count();
            if n > 0 {
                count(&format!("{} sessions", v.label()), n.to_string());
            }
        }
        count("findings", self.findings_total.to_string());
        count("flows", s.flows.reported.to_string());
        count("frames", s.packets.frames.to_string());
        count("on the wire", human_bytes(s.packets.bytes));
        if let Some(p) = &s.policy {
            count("policy violations", p.violations.to_string());
        }
        h.push_str("</div>\n");
        if let Some(p) = &s.policy {
            let _ = write!(
                h,
                "<p>Policy <span class=\"mono\">{}</span>: ",
                esc(&p.file)
            );
            if p.violations == 0 {
                h.push_str("no violation.</p>\n");
            } else {
                let rules: Vec<String> = p
                    .by_rule
                    .iter()
                    .map(|(r, n)| format!("{} × {}", esc(r), n))
                    .collect();
                let _ = writeln!(
                    h,
                    "<b>{} violation(s)</b> ({}).</p>",
                    p.violations,
                    rules.join(", ")
                );
            }
        }
    }

    fn sessions_section(&self, h: &mut String) {
        h.push_str("<h2>Calls and app sessions</h2>\n");
        if self.sessions.is_empty() {
            h.push_str("<p>No call or conferencing-app session was recognised.</p>\n");
        }
        for x in &self.sessions {
            let basis = match x.basis {
                Basis::Wire => "what was seen on the wire",
                Basis::AppKnowledge => "the app's documented design",
                Basis::None => "nothing conclusive",
            };
            let _ = write!(
                h,
                "<section class=\"card\">\n<div class=\"session-head\"><span class=\"badge {}\">{}</span><h3>{} session from <span class=\"mono\">{}</span></h3></div>\n<p class=\"muted\">{} – {}; based on {}; {} media flow(s)</p>\n",
                verdict_class(x.verdict_code),
                esc(x.verdict),
                esc(&x.app_name),
                esc(&x.client.to_string()),
                esc(&x.first_seen.rfc3339()),
                esc(&x.last_seen.rfc3339()),
                basis,
                x.media_flows
            );
            if !x.policy_violations.is_empty() {
                h.push_str("<div class=\"violations\"><b>Policy violations</b><ul>");
                for v in &x.policy_violations {
                    let _ = write!(h, "<li>{}</li>", esc(v));
                }
                h.push_str("</ul></div>\n");
            }
            if !x.evidence.is_empty() {
                h.push_str("<b>Why</b><ul>");
                for e in &x.evidence {
                    let _ = write!(h, "<li>{}</li>", esc(e));
                }
                h.push_str("</ul>\n");
            }
            if !x.counterparts.is_empty() {
                h.push_str("<b>Servers and peers</b>\n<table><tr><th>address</th><th>name</th><th>role</th><th>route</th><th>country</th><th>network</th></tr>\n");
                for c in &x.counterparts {
                    let network = match (&c.place.asn, &c.place.org) {
                        (Some(asn), Some(org)) => format!("AS{asn} {org}"),
                        (Some(asn), None) => format!("AS{asn}"),
                        (None, Some(org)) => org.to_string(),
                        (None, None) => String::new(),
                    };
                    let country = if crate::policy::is_public(c.ip) {
                        c.place.country.as_deref().unwrap_or("unknown")
                    } else {
                        "local network"
                    };
                    let _ = writeln!(
                        h,
                        "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(&c.ip.to_string()),
                        esc(c.name.as_deref().unwrap_or("")),
                        esc(&word(&c.role)),
                        esc(&c.route.map(|r| word(&r)).unwrap_or_default()),
                        esc(country),
                        esc(&network)
                    );
                }
                h.push_str("</table>\n");
            }
            if !x.telemetry.is_empty() {
                h.push_str("<p><b>Telemetry contacted during the session</b></p>\n<table><tr><th>name</th><th>company</th><th>country</th><th>when</th><th>whose</th></tr>\n");
                for t in &x.telemetry {
                    let _ = writeln!(
                        h,
                        "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(&t.name),
                        esc(&t.company),
                        esc(&t.country),
                        esc(&crate::session::offset_words(t.offset_s)),
                        if t.first_party {
                            "the vendor's own"
                        } else {
                            "third party"
                        }
                    );
                }
                h.push_str("</table>\n");
            }
            h.push_str("</section>\n");
        }
    }

    fn chart_section(&self, h: &mut String) {
        h.push_str("<h2>Where data went</h2>\n");
        let mut bars: Vec<(String, u64)> =
            self.places.iter().map(|(k, v)| (k.clone(), *v)).collect();
        bars.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if bars.len() > MAX_CHART_BARS {
            let rest: u64 = bars
                .iter()
                .skip(MAX_CHART_BARS - 1)
                .fold(0u64, |a, (_, v)| a.saturating_add(*v));
            bars.truncate(MAX_CHART_BARS - 1);
            bars.push(("other".into(), rest));
        }
        if bars.is_empty() {
            h.push_str("<p>No flows.</p>\n");
            return;
        }
        h.push_str("<p class=\"muted\">Bytes exchanged with servers, by the country of the server (GeoIP). \"local network\" is private, loopback and link-local addresses; \"unknown\" is a public address without location data.</p>\n");
        const ROW: usize = 26;
        const LABEL_W: usize = 130;
        const BAR_W: f64 = 560.0;
        let max = bars.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64;
        let height = bars.len() * ROW + 10;
        let _ = writeln!(
            h,
            "<div class=\"card\"><svg width=\"820\" height=\"{height}\" viewBox=\"0 0 820 {height}\" role=\"img\" aria-label=\"bytes per country\">"
        );
        for (i, (place, bytes)) in bars.iter().enumerate() {
            let y = i * ROW + 5;
            let w = ((*bytes as f64 / max) * BAR_W).max(1.0);
            let colour = match place.as_str() {
                "local network" => "#9aa5b1",
                "unknown" => "#c3c9d0",
                _ => "#3b6ea5",
            };
            let _ = writeln!(
                h,
                "<text x=\"0\" y=\"{}\">{}</text><rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" rx=\"3\" fill=\"{colour}\"></rect><text x=\"{:.1}\" y=\"{}\">{}</text>",
                y + 15,
                esc(place),
                ROW - 6,
                LABEL_W as f64 + w + 6.0,
                y + 15,
                esc(&human_bytes(*bytes))
            );
        }
        h.push_str("</svg></div>\n");
    }

    fn findings_section(&mut self, h: &mut String) {
        let _ = writeln!(h, "<h2>Findings ({})</h2>", self.findings_total);
        if self.findings_total == 0 {
            h.push_str("<p>No findings.</p>\n");
            return;
        }
        let per: Vec<String> = self
            .by_severity
            .iter()
            .rev()
            .map(|(s, n)| format!("{n} {}", esc(&word(s))))
            .collect();
        let _ = writeln!(h, "<p class=\"muted\">{}</p>", per.join(", "));
        h.push_str("<div class=\"scroll\"><table><tr><th>severity</th><th>code</th><th>flow</th><th>evidence</th></tr>\n");
        // Stable: within a severity, flows stay in the order they ended.
        self.findings.sort_by_key(|f| std::cmp::Reverse(f.0));
        for (_, f) in &self.findings {
            h.push_str(f);
            h.push('\n');
        }
        h.push_str("</table></div>\n");
        if self.findings_total > self.findings.len() as u64 {
            let _ = writeln!(
                h,
                "<p class=\"muted\">… {} more findings are not listed here (see --format ndjson).</p>",
                self.findings_total - self.findings.len() as u64
            );
        }
    }

    fn flows_section(&self, h: &mut String) {
        let _ = writeln!(h, "<h2>Flows ({})</h2>", self.rows_total);
        if self.rows.is_empty() {
            return;
        }
        h.push_str("<div class=\"scroll\"><table><tr><th>id</th><th>protocol</th><th>client → server</th><th>server name</th><th>app</th><th>role</th><th>encryption</th><th>country</th><th>packets</th><th>bytes</th><th>findings</th></tr>\n");
        for r in &self.rows {
            h.push_str(r);
            h.push('\n');
        }
        h.push_str("</table></div>\n");
        if self.rows_total > self.rows.len() as u64 {
            let _ = writeln!(
                h,
                "<p class=\"muted\">Only the first {} flows are listed; {} more are not (see --format ndjson).</p>",
                self.rows.len(),
                self.rows_total - self.rows.len() as u64
            );
        }
    }

    fn inputs_section(&self, h: &mut String, s: &Summary) {
        h.push_str("<h2>Inputs and counters</h2>\n<ul>");
        for i in &s.inputs {
            let _ = write!(
                h,
                "<li><span class=\"mono\">{}</span> ({}): {} frames",
                esc(&i.name),
                esc(i.format.as_deref().unwrap_or("unreadable")),
                i.frames
            );
            if let Some(e) = &i.error {
                let _ = write!(h, "; error: {}", esc(e));
            }
            h.push_str("</li>");
        }
        let p = &s.packets;
        let _ = writeln!(
            h,
            "</ul>\n<p class=\"muted\">{} frames, {}; {} flows reported ({} evicted at the flow cap); {} non-IP, {} truncated, {} unsupported link, {} bad IP frames.</p>",
            p.frames,
            esc(&human_bytes(p.bytes)),
            s.flows.reported,
            s.flows.table.evicted,
            p.non_ip,
            p.truncated,
            p.unsupported_link,
            p.bad_ip
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{EndReason, Facts};
    use crate::model::{Endpoint, IpProto, Timestamp};
    use crate::policy::PolicySummary;
    use crate::report::record::{FlowCounts, InputSummary, PerDirection};
    use crate::session::{Counterpart, TelemetryContact};
    use crate::verdict::{Encryption, Finding, Place, Severity};

    const HOSTILE: &str = "<script>alert(1)</script>\u{1b}]0;pwned\u{7}\u{1b}[31m\u{202e}exe.\"'&";

    fn flow<'a>(facts: &'a Facts, name: &'a str, place: Option<&'a Place>) -> FlowRecord<'a> {
        FlowRecord {
            record: "flow",
            id: 3,
            transport: IpProto::TCP,
            src: Endpoint::new([192, 168, 1, 10].into(), 50000),
            dst: Endpoint::new([203, 0, 113, 9].into(), 443),
            app: Some("zoom"),
            app_basis: None,
            server_name: Some(name),
            server_name_source: None,
            role: crate::classify::Role::Signalling,
            route: None,
            route_basis: None,
            encryption: Encryption::Transport,
            findings: vec![Finding {
                code: "third-party-telemetry",
                severity: Severity::High,
                evidence: format!("the client contacted {name}"),
            }],
            protocol: Some("tls"),
            first_seen: Timestamp(1_700_000_000_000_000_000),
            last_seen: Timestamp(1_700_000_001_000_000_000),
            duration_s: 1.0,
            packets: PerDirection::from([10, 12]),
            bytes: PerDirection::from([4_000, 96_000]),
            end_reason: EndReason::Closed,
            source: "t.pcap",
            server: place,
            facts,
        }
    }

    fn session(name: &str) -> SessionRecord {
        SessionRecord {
            record: "session",
            id: 0,
            app: "zoom".into(),
            app_name: "Zoom".into(),
            client: [192, 168, 1, 10].into(),
            first_seen: Timestamp(1_700_000_000_000_000_000),
            last_seen: Timestamp(1_700_000_060_000_000_000),
            verdict: CallVerdict::NotE2ee.label(),
            verdict_code: CallVerdict::NotE2ee,
            basis: Basis::AppKnowledge,
            evidence: vec![format!("media goes through {name}")],
            media_flows: 2,
            routes: Vec::new(),
            flows: vec![3],
            counterparts: vec![Counterpart {
                ip: [203, 0, 113, 9].into(),
                name: Some(name.into()),
                role: crate::classify::Role::Media,
                route: Some(crate::classify::Route::Relayed),
                place: Place {
                    country: Some(crate::enrich::geo::CountryCode::from_static("US")),
                    asn: Some(64_500),
                    org: Some(name.into()),
                    ..Place::default()
                },
            }],
            telemetry: vec![TelemetryContact {
                name: name.into(),
                company: "Meta Platforms, Inc.".into(),
                country: "US".into(),
                offset_s: 2.5,
                first_party: false,
            }],
            findings: vec!["server-terminated"],
            policy_violations: vec![format!("require_e2ee: {name}")],
        }
    }

    fn summary() -> Summary {
        Summary {
            record: "summary",
            inputs: vec![InputSummary {
                name: "call.pcap".into(),
                format: Some("pcap".into()),
                frames: 22,
                error: None,
            }],
            first_seen: Some(Timestamp(1_700_000_000_000_000_000)),
            last_seen: Some(Timestamp(1_700_000_060_000_000_000)),
            packets: Default::default(),
            flows: FlowCounts::default(),
            analysis: Default::default(),
            defrag: Default::default(),
            errors: 0,
            policy: Some(PolicySummary {
                file: "policy.toml".into(),
                violations: 1,
                by_rule: [("require_e2ee", 1)].into_iter().collect(),
            }),
            live: None,
        }
    }

    fn render(name: &str, flows: usize) -> String {
        let mut buf = Vec::new();
        {
            let mut sink = HtmlSink::new(Box::new(&mut buf));
            let facts = Facts::default();
            let de = Place {
                country: Some(crate::enrich::geo::CountryCode::from_static("DE")),
                ..Place::default()
            };
            for i in 0..flows {
                let place = if i % 2 == 0 { Some(&de) } else { None };
                sink.flow(&flow(&facts, name, place)).unwrap_or_default();
            }
            sink.session(&session(name)).unwrap_or_default();
            sink.summary(&summary()).unwrap_or_default();
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    #[test]
    fn escape_covers_markup_controls_and_bidi() {
        assert_eq!(esc("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
        assert_eq!(esc("x\u{1b}[2Jy\u{202e}"), "x\\u{1b}[2Jy\\u{202e}");
    }

    #[test]
    fn hostile_names_end_up_escaped() {
        let html = render(HOSTILE, 3);
        assert!(!html.contains("<script"), "raw script tag");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(
            !html.chars().any(|c| c.is_control() && c != '\n'),
            "control characters"
        );
        assert!(!html.contains('\u{202e}'), "bidi override");
        assert!(html.contains("\\u{1b}]0;pwned"));
        assert!(html.contains("&quot;&#39;&amp;"));
    }

    #[test]
    fn self_contained_without_external_resources() {
        let html = render("zoom.us", 4);
        assert_eq!(html.matches("<html").count(), 1);
        for banned in [
            "http://", "https://", "src=", "href=", "url(", "@import", "<script", "<link", "<img",
            "<iframe",
        ] {
            assert!(!html.contains(banned), "{banned}");
        }
        assert!(html.contains("Content-Security-Policy"));
        assert!(html.trim_end().ends_with("</html>"));
    }

    #[test]
    fn session_verdict_comes_first_with_evidence_and_places() {
        let html = render("zoom.us", 2);
        let verdict =
            html.find("<span class=\"badge v-note2ee\">NOT E2EE (vendor can read)</span>");
        let findings = html.find("<h2>Findings");
        assert!(
            verdict.is_some() && verdict < findings,
            "verdict before findings"
        );
        assert!(html.contains("Zoom session from"));
        assert!(html.contains("<li>media goes through zoom.us</li>"));
        assert!(
            html.contains("<li>require_e2ee: zoom.us</li>"),
            "policy violation"
        );
        assert!(
            html.contains("<td>US</td><td>AS64500 zoom.us</td>"),
            "counterpart country"
        );
        assert!(html.contains("at +2.5 s"), "telemetry offset");
        assert!(html.contains("1 violation(s)"));
        // The chart: one bar for DE, one for the flow without location.
        assert!(
            html.contains("<svg")
                && html.contains(">DE</text>")
                && html.contains(">unknown</text>")
        );
        assert!(html.contains("<h2>Flows (2)</h2>"));
    }

    #[test]
    fn flow_table_is_bounded() {
        let html = render("zoom.us", MAX_TABLE_ROWS + 3);
        assert_eq!(
            html.matches("<td class=\"num\">3</td><td>tcp/tls</td>")
                .count(),
            MAX_TABLE_ROWS
        );
        assert!(html.contains("3 more are not"));
    }

    proptest::proptest! {
        #[test]
        fn nothing_escapes_escaping(s in "\\PC*|[<>&\"'\u{0}-\u{1f}\u{202a}-\u{202e}a]*") {
            let e = esc(&s);
            proptest::prop_assert!(!e.contains('<') && !e.contains('>') && !e.contains('"') && !e.contains('\''));
            proptest::prop_assert!(!e.chars().any(|c| c.is_control()));
        }
    }
}
