//! The three views (Sessions, Flows, Findings) and the detail pane with its world map.

use super::draw::DrawContext;
use super::geo::centroid;
use super::state::View;
use super::style::{
    bytes, flow_badge, safe, severity_style, severity_word, time_of_day, verdict_badge,
};
use crate::live::collector::end_reason_word;
use crate::live::{FindingRow, FlowRow, SessionRow, Snapshot};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Map, MapResolution};
use ratatui::widgets::{
    Block, Borders, Cell, HighlightSpacing, Paragraph, Row, Table, TableState, Wrap,
};
use std::net::IpAddr;

/// From this width on, tables show extra columns (the flow's client).
const WIDE: u16 = 110;
/// Below this width the session detail pane leaves the map out.
const MAP_MIN_WIDTH: u16 = 70;

pub fn draw_main(frame: &mut Frame<'_>, area: Rect, ctx: &DrawContext<'_>) {
    let rows = ctx.state.visible(ctx.snap);
    let (table_area, detail_area) = if ctx.state.detail {
        let table_h = (area.height / 3).max(4);
        let [t, d] =
            Layout::vertical([Constraint::Length(table_h), Constraint::Min(3)]).areas(area);
        (t, Some(d))
    } else {
        (area, None)
    };
    let selected = ctx.state.selected().min(rows.len().saturating_sub(1));
    let mut ts = TableState::default().with_selected(if rows.is_empty() {
        None
    } else {
        Some(selected)
    });
    let snap = ctx.snap;
    let table = match ctx.state.view {
        View::Sessions => sessions_table(snap, &rows),
        View::Flows => flows_table(snap, &rows, table_area.width >= WIDE),
        View::Findings => findings_table(snap, &rows),
    };
    if rows.is_empty() {
        let msg = if ctx.state.filter.is_empty() {
            match ctx.state.view {
                View::Sessions => "No call or app sessions yet.",
                View::Flows => "No flows yet.",
                View::Findings => "No findings yet.",
            }
        } else {
            "Nothing matches the filter (Esc clears it)."
        };
        frame.render_widget(
            Paragraph::new(msg).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(format!(" {} ", ctx.state.view.title())),
            ),
            table_area,
        );
    } else {
        frame.render_stateful_widget(table, table_area, &mut ts);
    }
    let Some(detail_area) = detail_area else {
        return;
    };
    let Some(&idx) = rows.get(selected) else {
        frame.render_widget(
            Paragraph::new("Nothing selected.").block(Block::default().borders(Borders::ALL)),
            detail_area,
        );
        return;
    };
    match ctx.state.view {
        View::Sessions => {
            if let Some(s) = snap.sessions.get(idx) {
                session_detail(frame, detail_area, s, snap);
            }
        }
        View::Flows => {
            if let Some(f) = snap.flows.get(idx) {
                text_pane(frame, detail_area, " Flow details ", flow_lines(f, snap));
            }
        }
        View::Findings => {
            if let Some(f) = snap.findings.get(idx) {
                text_pane(frame, detail_area, " Finding ", finding_lines(f, snap));
            }
        }
    }
}

fn header(cells: &[&'static str]) -> Row<'static> {
    Row::new(cells.iter().map(|c| Cell::from(*c)))
        .style(Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED))
}

/// The selected row: bold and underlined, with a marker; no background, so the verdict
/// badge keeps its colour.
fn highlight() -> Style {
    Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}

const MARKER: &str = "▶";

fn block(title: String) -> Block<'static> {
    Block::default().borders(Borders::ALL).title(title)
}

/// Distinct countries of a session's counterparts and telemetry contacts.
fn session_countries(s: &SessionRow) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let r = &s.record;
    for c in r
        .counterparts
        .iter()
        .filter_map(|c| c.place.country.map(|c| c.to_string()))
        .chain(r.telemetry.iter().map(|t| t.country.clone()))
    {
        if !c.is_empty() && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

fn counterpart_names(s: &SessionRow) -> String {
    let names: Vec<String> = s
        .record
        .counterparts
        .iter()
        .map(|c| c.name.clone().unwrap_or_else(|| c.ip.to_string()))
        .collect();
    safe(&names.join(", "))
}

fn sessions_table(snap: &Snapshot, rows: &[usize]) -> Table<'static> {
    let body: Vec<Row<'static>> = rows
        .iter()
        .filter_map(|&i| snap.sessions.get(i))
        .map(|s| {
            let (badge, style) = verdict_badge(s.record.verdict_code);
            Row::new(vec![
                Cell::from(Span::styled(format!(" {badge:<9} "), style)),
                Cell::from(safe(&s.record.app_name)),
                Cell::from(s.record.client.to_string()),
                Cell::from(counterpart_names(s)),
                Cell::from(safe(&session_countries(s).join(" "))),
                Cell::from(if s.open { "open" } else { "ended" }),
            ])
        })
        .collect();
    Table::new(
        body,
        [
            Constraint::Length(11),
            Constraint::Length(12),
            Constraint::Length(15),
            Constraint::Min(10),
            Constraint::Length(9),
            Constraint::Length(5),
        ],
    )
    .header(header(&[
        "Verdict",
        "App",
        "Client",
        "Servers / peers",
        "Countries",
        "",
    ]))
    .row_highlight_style(highlight())
    .highlight_symbol(MARKER)
    .highlight_spacing(HighlightSpacing::Always)
    .block(block(format!(" Sessions ({}) ", rows.len())))
}

fn flow_server(f: &FlowRow) -> String {
    match &f.server_name {
        Some(n) => safe(n),
        None => f.dst.to_string(),
    }
}

fn flows_table(snap: &Snapshot, rows: &[usize], wide: bool) -> Table<'static> {
    let body: Vec<Row<'static>> = rows
        .iter()
        .filter_map(|&i| snap.flows.get(i))
        .map(|f| {
            let (badge, style) = flow_badge(f.encryption, f.state);
            let proto = f
                .protocol
                .map_or_else(|| f.transport.name().into_owned(), str::to_string);
            let finding = f
                .findings
                .iter()
                .max_by_key(|x| x.severity)
                .map(|x| (x.code, severity_style(x.severity)));
            let mut cells = vec![
                Cell::from(Span::styled(format!(" {badge:<9} "), style)),
                Cell::from(safe(f.app.as_deref().unwrap_or("-"))),
                Cell::from(proto),
                Cell::from(flow_server(f)),
            ];
            if wide {
                cells.push(Cell::from(f.src.to_string()));
            }
            cells.extend([
                Cell::from(bytes(f.total_bytes())),
                Cell::from(f.total_packets().to_string()),
                match finding {
                    Some((code, st)) => Cell::from(Span::styled(code, st)),
                    None => Cell::from(end_reason_word(f.state)),
                },
            ]);
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(11),
        Constraint::Length(9),
        Constraint::Length(5),
        Constraint::Fill(1),
    ];
    let mut titles = vec!["Verdict", "App", "Proto", "Server"];
    if wide {
        widths.push(Constraint::Length(21));
        titles.push("Client");
    }
    widths.extend([
        Constraint::Length(8),
        Constraint::Length(5),
        Constraint::Length(if wide { 20 } else { 12 }),
    ]);
    titles.extend(["Bytes", "Pkts", "Finding"]);
    Table::new(body, widths)
        .header(header(&titles))
        .row_highlight_style(highlight())
        .highlight_symbol(MARKER)
        .highlight_spacing(HighlightSpacing::Always)
        .block(block(format!(" Flows ({}) ", rows.len())))
}

fn findings_table(snap: &Snapshot, rows: &[usize]) -> Table<'static> {
    let body: Vec<Row<'static>> = rows
        .iter()
        .filter_map(|&i| snap.findings.get(i))
        .map(|f| {
            Row::new(vec![
                Cell::from(time_of_day(f.ts)),
                Cell::from(Span::styled(
                    severity_word(f.severity),
                    severity_style(f.severity),
                )),
                Cell::from(f.code),
                Cell::from(safe(&f.server)),
                Cell::from(safe(&f.evidence)),
            ])
        })
        .collect();
    Table::new(
        body,
        [
            Constraint::Length(8),
            Constraint::Length(4),
            Constraint::Length(21),
            Constraint::Length(18),
            Constraint::Min(10),
        ],
    )
    .header(header(&["Time", "Sev", "Finding", "Server", "Evidence"]))
    .row_highlight_style(highlight())
    .highlight_symbol(MARKER)
    .highlight_spacing(HighlightSpacing::Always)
    .block(block(format!(" Findings ({}) ", rows.len())))
}

fn text_pane(frame: &mut Frame<'_>, area: Rect, title: &str, lines: Vec<Line<'static>>) {
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(title.to_string())),
        area,
    );
}

fn label(k: &str) -> Span<'static> {
    Span::styled(format!("{k}: "), Style::new().fg(Color::Cyan))
}

fn kv(k: &str, v: String) -> Line<'static> {
    Line::from(vec![label(k), Span::raw(v)])
}

fn session_lines(s: &SessionRow, snap: &Snapshot) -> Vec<Line<'static>> {
    let r = &s.record;
    let (_, style) = verdict_badge(r.verdict_code);
    let mut out = vec![
        Line::from(vec![
            Span::styled(format!(" {} ", r.verdict), style),
            Span::raw(format!(
                " {} · client {} · {}",
                safe(&r.app_name),
                r.client,
                if s.open { "open" } else { "ended" }
            )),
        ]),
        kv(
            "basis",
            match r.basis {
                crate::session::Basis::Wire => "seen on the wire".into(),
                crate::session::Basis::AppKnowledge => "the app's documented design".into(),
                crate::session::Basis::None => "nothing conclusive".into(),
            },
        ),
        kv(
            "time",
            format!(
                "{} – {} ({} media flows)",
                time_of_day(r.first_seen),
                time_of_day(r.last_seen),
                r.media_flows
            ),
        ),
        Line::from(label("evidence")),
    ];
    for (i, e) in r.evidence.iter().enumerate() {
        out.push(Line::raw(format!(" {}. {}", i + 1, safe(e))));
    }
    if !r.counterparts.is_empty() {
        out.push(Line::from(label("servers and peers")));
        for c in &r.counterparts {
            let mut place = String::new();
            if let Some(cc) = &c.place.country {
                place.push_str(&format!(" [{cc}]"));
            }
            if let Some(org) = &c.place.org {
                place.push_str(&format!(" {org}"));
            }
            out.push(Line::raw(format!(
                " - {} {} ({:?}){}",
                c.ip,
                safe(c.name.as_deref().unwrap_or("")),
                c.role,
                safe(&place)
            )));
        }
    }
    if !r.telemetry.is_empty() {
        out.push(Line::from(label("telemetry")));
        for t in &r.telemetry {
            out.push(Line::raw(format!(
                " - {} ({}, {}) at +{:.1} s",
                safe(&t.name),
                safe(&t.company),
                safe(&t.country),
                t.offset_s
            )));
        }
    }
    if !r.findings.is_empty() {
        out.push(kv("findings", r.findings.join(", ")));
    }
    out.push(Line::from(label("flows")));
    for id in r.flows.iter().take(12) {
        match snap.flows.iter().find(|f| f.id == *id) {
            Some(f) => out.push(Line::raw(format!(
                " #{id} {} {} → {} {}",
                f.protocol.unwrap_or("-"),
                f.src,
                flow_server(f),
                bytes(f.total_bytes())
            ))),
            None => out.push(Line::raw(format!(" #{id}"))),
        }
    }
    out
}

fn session_detail(frame: &mut Frame<'_>, area: Rect, s: &SessionRow, snap: &Snapshot) {
    let lines = session_lines(s, snap);
    if area.width < MAP_MIN_WIDTH {
        text_pane(frame, area, " Session ", lines);
        return;
    }
    let map_w = (area.width * 2 / 5).max(30);
    let [text, map] =
        Layout::horizontal([Constraint::Min(30), Constraint::Length(map_w)]).areas(area);
    text_pane(frame, text, " Session ", lines);
    world_map(frame, map, s);
}

/// Where the session's data goes: a dot per country of its servers, peers and trackers.
fn world_map(frame: &mut Frame<'_>, area: Rect, s: &SessionRow) {
    let places: Vec<(String, f64, f64)> = session_countries(s)
        .into_iter()
        .filter_map(|c| centroid(&c).map(|(lat, lon)| (c, lat, lon)))
        .collect();
    let local = s
        .record
        .counterparts
        .iter()
        .filter(|c| is_local(c.ip))
        .count();
    let title = if places.is_empty() {
        if local > 0 {
            " Map: local network only ".to_string()
        } else {
            " Map: no location known ".to_string()
        }
    } else {
        format!(" Map: {} countries ", places.len())
    };
    let canvas = Canvas::default()
        .block(block(title))
        .marker(Marker::Braille)
        .x_bounds([-180.0, 180.0])
        .y_bounds([-60.0, 85.0])
        .paint(move |ctx| {
            ctx.draw(&Map {
                color: Color::DarkGray,
                resolution: MapResolution::High,
            });
            ctx.layer();
            for (code, lat, lon) in &places {
                ctx.print(
                    *lon,
                    *lat,
                    Span::styled(format!("●{code}"), Style::new().fg(Color::Yellow).bold()),
                );
            }
        });
    frame.render_widget(canvas, area);
}

fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_private() || v.is_loopback() || v.is_link_local(),
        IpAddr::V6(v) => v.is_loopback() || (v.segments()[0] & 0xfe00) == 0xfc00,
    }
}

fn flow_lines(f: &FlowRow, snap: &Snapshot) -> Vec<Line<'static>> {
    let (badge, style) = flow_badge(f.encryption, f.state);
    let mut out = vec![
        Line::from(vec![
            Span::styled(format!(" {badge} "), style),
            Span::raw(format!(
                " #{} {} {} → {}",
                f.id,
                f.protocol
                    .map_or_else(|| f.transport.name().into_owned(), str::to_string),
                f.src,
                f.dst
            )),
        ]),
        kv(
            "server",
            format!(
                "{}{}",
                f.server_name
                    .as_deref()
                    .map(safe)
                    .unwrap_or_else(|| "-".into()),
                f.server_name_source
                    .map(|s| format!(" (from {s:?})"))
                    .unwrap_or_default()
            ),
        ),
        kv(
            "app",
            format!(
                "{} · role {:?}{}",
                safe(f.app.as_deref().unwrap_or("unknown")),
                f.role,
                f.route
                    .map(|r| format!(" · route {r:?}"))
                    .unwrap_or_default()
            ),
        ),
        kv(
            "traffic",
            format!(
                "{} pkts / {} to server, {} pkts / {} to client, {:.1} s, {}",
                f.packets[0],
                bytes(f.bytes[0]),
                f.packets[1],
                bytes(f.bytes[1]),
                f.last_seen.since(f.first_seen) as f64 / 1e9,
                end_reason_word(f.state)
            ),
        ),
    ];
    for x in &f.findings {
        out.push(Line::from(vec![
            Span::styled(
                format!("{} {}: ", severity_word(x.severity), x.code),
                severity_style(x.severity),
            ),
            Span::raw(safe(&x.evidence)),
        ]));
    }
    for d in &f.details {
        out.push(Line::raw(safe(d)));
    }
    if let Some(s) = snap
        .sessions
        .iter()
        .find(|s| s.record.flows.contains(&f.id))
    {
        out.push(kv(
            "session",
            format!(
                "{} of {} — {}",
                safe(&s.record.app_name),
                s.record.client,
                s.record.verdict
            ),
        ));
    }
    out
}

fn finding_lines(f: &FindingRow, snap: &Snapshot) -> Vec<Line<'static>> {
    let mut out = vec![
        Line::from(vec![
            Span::styled(
                format!("{} {}", severity_word(f.severity), f.code),
                severity_style(f.severity),
            ),
            Span::raw(format!(
                " at {} · {} · flow #{}",
                time_of_day(f.ts),
                safe(&f.server),
                f.flow
            )),
        ]),
        Line::raw(safe(&f.evidence)),
        Line::raw(""),
    ];
    if let Some(flow) = snap.flows.iter().find(|x| x.id == f.flow) {
        out.extend(flow_lines(flow, snap));
    }
    out
}
