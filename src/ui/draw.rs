//! Drawing: a pure function of a read-only [`DrawContext`] (UI state + snapshot).

use super::state::{UiState, View};
use super::style::{bytes, clock, safe};
use super::views;
use crate::live::{Snapshot, SourceKind};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Sparkline, Wrap};

/// Everything a draw may read, and nothing it may change.
pub struct DrawContext<'a> {
    pub state: &'a UiState,
    pub snap: &'a Snapshot,
}

/// Smallest useful terminal; below it only a hint is drawn.
const MIN_WIDTH: u16 = 40;
const MIN_HEIGHT: u16 = 12;

pub fn draw(frame: &mut Frame<'_>, ctx: &DrawContext<'_>) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        frame.render_widget(
            Paragraph::new(format!(
                "leakscope needs at least {MIN_WIDTH}×{MIN_HEIGHT} (now {}×{})",
                area.width, area.height
            ))
            .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let [header, tabs, main, status] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, header, ctx);
    draw_tabs(frame, tabs, ctx);
    views::draw_main(frame, main, ctx);
    draw_status(frame, status, ctx);
    if ctx.state.help {
        draw_help(frame, area);
    }
}

fn draw_header(frame: &mut Frame<'_>, area: Rect, ctx: &DrawContext<'_>) {
    let s = ctx.snap;
    let [l1, l2, l3] = Layout::vertical([Constraint::Length(1); 3]).areas(area);
    let (mode, mode_style) = if ctx.state.frozen.is_some() {
        ("PAUSED (capture continues)", Style::new().fg(Color::Yellow))
    } else if s.finished {
        ("finished", Style::new().fg(Color::Green))
    } else {
        match s.kind {
            SourceKind::Live => ("capturing", Style::new().fg(Color::Cyan)),
            SourceKind::Replay { .. } => ("replaying", Style::new().fg(Color::Cyan)),
        }
    };
    let kind = match &s.kind {
        SourceKind::Live => "live".to_string(),
        SourceKind::Replay { speed: Some(x), .. } => format!("replay ×{x}"),
        SourceKind::Replay { speed: None, .. } => "replay".to_string(),
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                " leakscope ",
                Style::new().bg(Color::Blue).fg(Color::White).bold(),
            ),
            Span::raw(format!(" {} ({kind}) ", safe(&s.source))),
            Span::styled(mode, mode_style),
            Span::raw(format!("  elapsed {}", clock(s.elapsed_s()))),
        ])),
        l1,
    );
    let drops = s.drops.total();
    let (drop_text, drop_style) = if drops == 0 {
        ("drops 0".to_string(), Style::new())
    } else {
        let mut parts = Vec::new();
        for (n, what) in [
            (s.drops.kernel, "kernel"),
            (s.drops.interface, "interface"),
            (s.drops.leakscope, "leakscope"),
        ] {
            if n > 0 {
                parts.push(format!("{what} {n}"));
            }
        }
        (
            format!("DROPS {drops} ({})", parts.join(", ")),
            Style::new().fg(Color::Red).bold(),
        )
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw(format!(
                " pkts {} ({}/s)  bytes {} ({}/s)  flows {} live, {} done  ",
                s.packets,
                s.packets_per_s,
                bytes(s.bytes),
                bytes(s.bytes_per_s),
                s.live_flows,
                s.flows_reported
            )),
            Span::styled(drop_text, drop_style),
        ])),
        l2,
    );
    match s.kind {
        SourceKind::Replay {
            progress: Some(p), ..
        } if !s.finished => {
            let p = p.clamp(0.0, 1.0);
            frame.render_widget(
                Gauge::default()
                    .gauge_style(Style::new().fg(Color::Cyan).bg(Color::Black))
                    .ratio(p)
                    .label(format!("reading {:.0}%", p * 100.0)),
                l3,
            );
        }
        _ => {
            let [a, b] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(l3);
            sparkline(frame, a, " bytes/s ", &s.bytes_history, Color::Green);
            sparkline(frame, b, " pkts/s ", &s.packets_history, Color::Cyan);
        }
    }
}

fn sparkline(frame: &mut Frame<'_>, area: Rect, label: &str, data: &[u64], color: Color) {
    let [l, r] = Layout::horizontal([Constraint::Length(label.len() as u16), Constraint::Min(1)])
        .areas(area);
    frame.render_widget(Paragraph::new(label.to_string()), l);
    // The newest samples that fit.
    let n = usize::from(r.width);
    let tail = &data[data.len().saturating_sub(n)..];
    frame.render_widget(
        Sparkline::default()
            .data(tail)
            .style(Style::new().fg(color)),
        r,
    );
}

fn draw_tabs(frame: &mut Frame<'_>, area: Rect, ctx: &DrawContext<'_>) {
    let mut spans = Vec::new();
    for v in View::ALL {
        let n = ctx.state.visible_in(v, ctx.snap).len();
        let text = format!(" {} {} ({n}) ", v.index() + 1, v.title());
        let style = if v == ctx.state.view {
            Style::new()
                .bg(Color::White)
                .fg(Color::Black)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(Color::Gray)
        };
        spans.push(Span::styled(text, style));
        spans.push(Span::raw(" "));
    }
    if ctx.state.view != View::Findings {
        spans.push(Span::styled(
            format!(" sort: {}", ctx.state.sort.word()),
            Style::new().fg(Color::DarkGray),
        ));
    }
    if !ctx.state.filter.is_empty() && !ctx.state.editing_filter {
        spans.push(Span::styled(
            format!("  filter: {}", safe(&ctx.state.filter)),
            Style::new().fg(Color::Yellow),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_status(frame: &mut Frame<'_>, area: Rect, ctx: &DrawContext<'_>) {
    let st = ctx.state;
    let line = if st.editing_filter {
        Line::from(vec![
            Span::styled("/", Style::new().fg(Color::Yellow).bold()),
            Span::raw(safe(&st.filter)),
            Span::styled("█", Style::new().fg(Color::Yellow)),
            Span::styled(
                "  (Enter keep, Esc clear) app, host, address, finding",
                Style::new().fg(Color::DarkGray),
            ),
        ])
    } else if let Some(msg) = &st.status {
        Line::from(Span::styled(safe(msg), Style::new().fg(Color::Yellow)))
    } else if let Some(note) = &ctx.snap.note {
        Line::from(Span::styled(safe(note), Style::new().fg(Color::Red)))
    } else {
        Line::from(Span::styled(
            "q quit  ? help  Tab views  Enter details  / filter  s sort  p pause  e export",
            Style::new().fg(Color::DarkGray),
        ))
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The help text, one key per line.
const HELP: &[(&str, &str)] = &[
    ("q, Ctrl-C", "quit (restores the terminal)"),
    ("?", "show or hide this help"),
    ("Tab, 1 2 3", "Sessions, Flows, Findings"),
    ("↑ ↓ j k", "move the selection"),
    ("PgUp PgDn", "move a page"),
    ("Home End", "first or last row"),
    ("Enter", "details: evidence, certificate, STUN/TURN, map"),
    ("/", "filter by app, host, address, finding"),
    ("s", "sort: start, bytes, packets, app, verdict"),
    ("p, Space", "pause the display (capture continues)"),
    ("e", "export the current view as NDJSON"),
    ("Esc", "close help, filter or details"),
];

fn draw_help(frame: &mut Frame<'_>, area: Rect) {
    let w = area.width.min(64);
    let h = (HELP.len() as u16 + 6).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let mut lines: Vec<Line<'_>> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<11}"), Style::new().fg(Color::Cyan).bold()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::raw(" "),
        Span::styled(
            " PLAINTEXT ",
            super::style::verdict_badge(crate::session::CallVerdict::Plaintext).1,
        ),
        Span::raw(" "),
        Span::styled(
            " NOT E2EE ",
            super::style::verdict_badge(crate::session::CallVerdict::NotE2ee).1,
        ),
        Span::raw(" "),
        Span::styled(
            " E2EE ",
            super::style::verdict_badge(crate::session::CallVerdict::E2ee).1,
        ),
        Span::raw(" "),
        Span::styled(
            " UNKNOWN ",
            super::style::verdict_badge(crate::session::CallVerdict::Unknown).1,
        ),
    ]));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Help — any key closes ")
                .title_alignment(Alignment::Center),
        ),
        rect,
    );
}
