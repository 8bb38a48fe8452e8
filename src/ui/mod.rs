//! The terminal UI (ratatui + crossterm), for `live` on a terminal and `replay --tui`.
//!
//! It follows the pattern of rustnet and the ratatui component template: the analysis runs
//! on its own thread and publishes immutable [`crate::live::Snapshot`]s; the UI keeps only
//! its own [`UiState`]; key presses become [`Action`]s that [`UiState::update`] applies,
//! returning [`Effect`]s (quit, export) that the loop performs; drawing gets a read-only
//! [`DrawContext`]. All text from packets is escaped with
//! [`crate::report::sanitize::for_terminal`] before it reaches a widget.

pub mod action;
pub mod draw;
pub mod export;
pub mod geo;
pub mod state;
pub mod style;
pub mod terminal;
mod views;

#[cfg(test)]
mod tests;

pub use action::{Action, Effect};
pub use draw::{DrawContext, draw};
pub use state::{SortKey, UiState, View};
pub use terminal::run;
