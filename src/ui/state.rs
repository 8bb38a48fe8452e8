//! The UI's own state (view, selection, filter, sort, pause) and the one function that
//! changes it. It never touches the analysis: rows come from an immutable snapshot.

use super::action::{Action, Effect};
use super::style::{flow_verdict, verdict_rank};
use crate::live::{FindingRow, FlowRow, SessionRow, Snapshot};
use std::cmp::Reverse;
use std::sync::Arc;

/// Longest filter text.
const MAX_FILTER_LEN: usize = 64;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    #[default]
    Sessions,
    Flows,
    Findings,
}

impl View {
    pub const ALL: [View; 3] = [View::Sessions, View::Flows, View::Findings];

    pub fn index(self) -> usize {
        match self {
            View::Sessions => 0,
            View::Flows => 1,
            View::Findings => 2,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            View::Sessions => "Sessions",
            View::Flows => "Flows",
            View::Findings => "Findings",
        }
    }
}

/// Row order of the Sessions and Flows views (Findings are always newest first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    Start,
    Bytes,
    Packets,
    App,
    Verdict,
}

impl SortKey {
    pub fn next(self) -> SortKey {
        match self {
            SortKey::Start => SortKey::Bytes,
            SortKey::Bytes => SortKey::Packets,
            SortKey::Packets => SortKey::App,
            SortKey::App => SortKey::Verdict,
            SortKey::Verdict => SortKey::Start,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            SortKey::Start => "start",
            SortKey::Bytes => "bytes",
            SortKey::Packets => "packets",
            SortKey::App => "app",
            SortKey::Verdict => "verdict",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct UiState {
    pub view: View,
    /// Selected row per view (an index into the visible rows).
    pub selected: [usize; 3],
    pub detail: bool,
    pub help: bool,
    pub filter: String,
    pub editing_filter: bool,
    pub sort: SortKey,
    /// The snapshot frozen by `p`; capture and analysis go on.
    pub frozen: Option<Arc<Snapshot>>,
    /// One line for the status bar (export path, errors).
    pub status: Option<String>,
    /// Rows a page moves (set from the terminal height by the loop).
    pub page: usize,
}

impl UiState {
    pub fn new() -> Self {
        UiState {
            page: 10,
            ..Self::default()
        }
    }

    /// The snapshot to show: the frozen one when paused, else the latest.
    pub fn shown<'a>(&'a self, latest: &'a Arc<Snapshot>) -> &'a Arc<Snapshot> {
        self.frozen.as_ref().unwrap_or(latest)
    }

    pub fn selected(&self) -> usize {
        self.selected[self.view.index()]
    }

    /// Apply one action; returns what the loop must do.
    pub fn update(&mut self, action: Action, latest: &Arc<Snapshot>) -> Option<Effect> {
        let len = self.visible(self.shown(latest)).len();
        let sel = &mut self.selected[self.view.index()];
        let page = self.page.max(1);
        match action {
            Action::Quit => return Some(Effect::Quit),
            Action::ToggleHelp => self.help = !self.help,
            Action::Back => {
                if self.help {
                    self.help = false;
                } else if self.editing_filter {
                    self.editing_filter = false;
                    self.filter.clear();
                } else if self.detail {
                    self.detail = false;
                } else if !self.filter.is_empty() {
                    self.filter.clear();
                }
            }
            Action::NextView => self.view = View::ALL[(self.view.index() + 1) % 3],
            Action::PrevView => self.view = View::ALL[(self.view.index() + 2) % 3],
            Action::ShowView(v) => self.view = v,
            Action::Up => *sel = sel.saturating_sub(1),
            Action::Down => *sel = (*sel + 1).min(len.saturating_sub(1)),
            Action::PageUp => *sel = sel.saturating_sub(page),
            Action::PageDown => *sel = (*sel + page).min(len.saturating_sub(1)),
            Action::Home => *sel = 0,
            Action::End => *sel = len.saturating_sub(1),
            Action::ToggleDetail => self.detail = !self.detail,
            Action::StartFilter => {
                self.editing_filter = true;
                self.status = None;
            }
            Action::FilterChar(c) => {
                if self.filter.chars().count() < MAX_FILTER_LEN && !c.is_control() {
                    self.filter.push(c);
                    self.selected = [0; 3];
                }
            }
            Action::FilterBackspace => {
                self.filter.pop();
            }
            Action::FilterDone => self.editing_filter = false,
            Action::CycleSort => {
                self.sort = self.sort.next();
                self.status = Some(format!("sorted by {}", self.sort.word()));
            }
            Action::TogglePause => {
                self.frozen = match self.frozen.take() {
                    Some(_) => None,
                    None => Some(latest.clone()),
                };
            }
            Action::Export => return Some(Effect::Export),
        }
        let len = self.visible(self.shown(latest)).len();
        for (i, s) in self.selected.iter_mut().enumerate() {
            if i == self.view.index() {
                *s = (*s).min(len.saturating_sub(1));
            }
        }
        None
    }

    /// Indices of the rows the current view shows, filtered and sorted.
    pub fn visible(&self, snap: &Snapshot) -> Vec<usize> {
        self.visible_in(self.view, snap)
    }

    pub fn visible_in(&self, view: View, snap: &Snapshot) -> Vec<usize> {
        let needle = self.filter.to_lowercase();
        match view {
            View::Sessions => {
                let mut v: Vec<usize> = (0..snap.sessions.len())
                    .filter(|&i| {
                        snap.sessions
                            .get(i)
                            .is_some_and(|s| session_matches(s, &needle))
                    })
                    .collect();
                let rows = &snap.sessions;
                let key = |i: &usize| rows.get(*i);
                match self.sort {
                    SortKey::App => {
                        v.sort_by_key(|i| key(i).map(|s| s.record.app_name.to_lowercase()))
                    }
                    SortKey::Verdict => {
                        v.sort_by_key(|i| key(i).map(|s| verdict_rank(s.record.verdict_code)))
                    }
                    SortKey::Bytes | SortKey::Packets => {
                        v.sort_by_key(|i| Reverse(key(i).map_or(0, |s| s.record.flows.len())))
                    }
                    SortKey::Start => v.sort_by_key(|i| key(i).map(|s| s.record.first_seen)),
                }
                v
            }
            View::Flows => {
                let rows = &snap.flows;
                let mut v: Vec<usize> = (0..rows.len())
                    .filter(|&i| rows.get(i).is_some_and(|f| flow_matches(f, &needle)))
                    .collect();
                let key = |i: &usize| rows.get(*i);
                match self.sort {
                    SortKey::Start => v.sort_by_key(|i| key(i).map(|f| (f.first_seen, f.id))),
                    SortKey::Bytes => {
                        v.sort_by_key(|i| Reverse(key(i).map_or(0, |f| f.total_bytes())))
                    }
                    SortKey::Packets => {
                        v.sort_by_key(|i| Reverse(key(i).map_or(0, |f| f.total_packets())))
                    }
                    SortKey::App => {
                        v.sort_by_key(|i| key(i).map(|f| (f.app.is_none(), f.app.clone(), f.id)))
                    }
                    SortKey::Verdict => v.sort_by_key(|i| {
                        key(i).map(|f| (verdict_rank(flow_verdict(f.encryption)), f.id))
                    }),
                }
                v
            }
            View::Findings => {
                let rows = &snap.findings;
                // Newest first: a live feed.
                (0..rows.len())
                    .rev()
                    .filter(|&i| rows.get(i).is_some_and(|f| finding_matches(f, &needle)))
                    .collect()
            }
        }
    }
}

fn has(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(needle)
}

fn session_matches(s: &SessionRow, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let r = &s.record;
    has(&r.app, needle)
        || has(&r.app_name, needle)
        || has(&r.client.to_string(), needle)
        || has(r.verdict, needle)
        || r.findings.iter().any(|f| has(f, needle))
        || r.counterparts.iter().any(|c| {
            has(&c.ip.to_string(), needle)
                || c.name.as_deref().is_some_and(|n| has(n, needle))
                || c.place.country.as_deref().is_some_and(|n| has(n, needle))
        })
        || r.telemetry
            .iter()
            .any(|t| has(&t.name, needle) || has(&t.company, needle))
}

fn flow_matches(f: &FlowRow, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    f.app.as_deref().is_some_and(|a| has(a, needle))
        || f.server_name.as_deref().is_some_and(|n| has(n, needle))
        || has(&f.src.to_string(), needle)
        || has(&f.dst.to_string(), needle)
        || f.protocol.is_some_and(|p| has(p, needle))
        || f.findings
            .iter()
            .any(|x| has(x.code, needle) || has(&x.evidence, needle))
}

fn finding_matches(f: &FindingRow, needle: &str) -> bool {
    needle.is_empty()
        || f.app.as_deref().is_some_and(|a| has(a, needle))
        || has(&f.server, needle)
        || has(f.code, needle)
        || has(&f.evidence, needle)
}
