//! The event loop: terminal setup and restore (also on panic), input → actions, snapshots
//! from the analysis, and redraws at a capped rate.

use super::action::{Effect, from_key};
use super::draw::{DrawContext, draw};
use super::export;
use super::state::UiState;
use crate::live::{Snapshot, StopHandle};
use crossterm::event::{self, Event};
use ratatui::Terminal;
use ratatui::backend::Backend;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// At most this many redraws per second (10 fps): a busy link changes the snapshot far
/// more often than anyone can read.
pub const FRAME: Duration = Duration::from_millis(100);

/// Run the UI on the terminal until the user quits or `stop` is requested elsewhere (a
/// signal). The terminal is restored on return, on error and on panic.
pub fn run(snapshots: watch::Receiver<Arc<Snapshot>>, stop: &StopHandle) -> io::Result<()> {
    // try_init installs a panic hook that restores the terminal before the message prints.
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, snapshots, stop);
    ratatui::restore();
    result
}

/// The loop itself, for any backend.
pub fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    stop: &StopHandle,
) -> io::Result<()>
where
    B::Error: Into<io::Error>,
{
    let mut state = UiState::new();
    let mut latest = snapshots.borrow_and_update().clone();
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut exports = 0u32;
    loop {
        // Stopped by a signal (the quit key returns directly below).
        if stop.is_set() {
            return Ok(());
        }
        // Not `has_changed`: it errs once the analysis ended and dropped its sender, which
        // would hide the final snapshot.
        let current = snapshots.borrow_and_update().clone();
        if !Arc::ptr_eq(&current, &latest) {
            latest = current;
            dirty |= state.frozen.is_none();
        }
        // The analysis always publishes a finished snapshot before it ends; a closed
        // channel without one means it failed (or panicked): leave instead of showing
        // stale numbers as if all were well.
        if snapshots.has_changed().is_err() && !latest.finished {
            return Err(io::Error::other("the analysis stopped unexpectedly"));
        }
        let due = last_draw.is_none_or(|t| t.elapsed() >= FRAME);
        if dirty && due {
            let size = terminal.size().map_err(Into::into)?;
            // Header 3, tabs 1, status 1, table borders and header 3.
            state.page = usize::from(size.height.saturating_sub(8)).max(1);
            let shown = state.shown(&latest).clone();
            terminal
                .draw(|f| {
                    draw(
                        f,
                        &DrawContext {
                            state: &state,
                            snap: &shown,
                        },
                    )
                })
                .map_err(Into::into)?;
            dirty = false;
            last_draw = Some(Instant::now());
        }
        let wait = last_draw.map_or(FRAME, |t| FRAME.saturating_sub(t.elapsed()));
        if !event::poll(wait.max(Duration::from_millis(10)))? {
            continue;
        }
        let action = match event::read()? {
            Event::Key(key) => from_key(key, &state),
            Event::Resize(..) => {
                dirty = true;
                None
            }
            _ => None,
        };
        let Some(action) = action else { continue };
        dirty = true;
        match state.update(action, &latest) {
            Some(Effect::Quit) => {
                stop.request("quit");
                return Ok(());
            }
            Some(Effect::Export) => {
                exports += 1;
                let shown = state.shown(&latest).clone();
                let dir = std::env::current_dir().unwrap_or_else(|_| std::env::temp_dir());
                state.status = Some(match export::export(&state, &shown, &dir, exports) {
                    Ok((path, n)) => format!("exported {n} rows to {}", path.display()),
                    Err(e) => format!("export failed: {e}"),
                });
            }
            None => {}
        }
    }
}
