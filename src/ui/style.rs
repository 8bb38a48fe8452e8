//! Colours and text helpers shared by the views. Every string that came from a packet goes
//! through [`safe`] before it reaches a widget.

use crate::live::FlowState;
use crate::report::sanitize::for_terminal;
use crate::session::CallVerdict;
use crate::verdict::{Encryption, Severity};
use ratatui::style::{Color, Modifier, Style};

/// Text from packets, with control and bidi characters escaped.
pub fn safe(s: &str) -> String {
    for_terminal(s).into_owned()
}

pub const ORANGE: Color = Color::Rgb(255, 165, 0);

/// A verdict as a short badge and its colours: PLAINTEXT red, NOT E2EE orange, E2EE green,
/// UNKNOWN grey.
pub fn verdict_badge(v: CallVerdict) -> (&'static str, Style) {
    match v {
        CallVerdict::Plaintext => ("PLAINTEXT", badge(Color::Red, Color::White)),
        CallVerdict::NotE2ee => ("NOT E2EE", badge(ORANGE, Color::Black)),
        CallVerdict::E2ee => ("E2EE", badge(Color::Green, Color::Black)),
        CallVerdict::Unknown => ("UNKNOWN", badge(Color::DarkGray, Color::White)),
    }
}

/// A flow's badge: the same words and colours as sessions, by who can read it.
pub fn flow_badge(e: Encryption, state: FlowState) -> (&'static str, Style) {
    if state == FlowState::Live {
        return ("live", Style::new().fg(Color::Gray));
    }
    verdict_badge(flow_verdict(e))
}

pub fn flow_verdict(e: Encryption) -> CallVerdict {
    match e {
        Encryption::None => CallVerdict::Plaintext,
        Encryption::Transport => CallVerdict::NotE2ee,
        Encryption::E2ee => CallVerdict::E2ee,
        Encryption::Unknown => CallVerdict::Unknown,
    }
}

/// Sort rank: the worst verdict first.
pub fn verdict_rank(v: CallVerdict) -> u8 {
    match v {
        CallVerdict::Plaintext => 0,
        CallVerdict::NotE2ee => 1,
        CallVerdict::Unknown => 2,
        CallVerdict::E2ee => 3,
    }
}

fn badge(bg: Color, fg: Color) -> Style {
    Style::new().bg(bg).fg(fg).add_modifier(Modifier::BOLD)
}

pub fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Critical => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        Severity::High => Style::new().fg(Color::Red),
        Severity::Medium => Style::new().fg(ORANGE),
        Severity::Low => Style::new().fg(Color::Yellow),
        Severity::Info => Style::new().fg(Color::Gray),
    }
}

pub fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRIT",
        Severity::High => "HIGH",
        Severity::Medium => "MED",
        Severity::Low => "LOW",
        Severity::Info => "info",
    }
}

/// 1234567 → "1.2 MB".
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Seconds as `h:mm:ss`.
pub fn clock(secs: u64) -> String {
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Capture time as `HH:MM:SS` (UTC).
pub fn time_of_day(t: crate::model::Timestamp) -> String {
    let s = t.secs() % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_clock() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_234_567), "1.2 MB");
        assert_eq!(clock(3_725), "1:02:05");
        assert_eq!(safe("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
    }
}
