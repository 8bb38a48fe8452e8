//! Input becomes [`Action`] values; [`super::state::UiState::update`] applies them and
//! returns [`Effect`]s (I/O) that only the event loop performs.

use super::state::{UiState, View};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    ToggleHelp,
    /// Close the topmost overlay (help, filter prompt, detail pane).
    Back,
    NextView,
    PrevView,
    ShowView(View),
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    ToggleDetail,
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    FilterDone,
    CycleSort,
    TogglePause,
    Export,
}

/// What the loop must do after an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Quit,
    /// Write the current view's rows as NDJSON.
    Export,
}

/// The action a key press means in the current state (`None`: ignore it).
pub fn from_key(key: KeyEvent, state: &UiState) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c')) {
        return Some(Action::Quit);
    }
    if state.editing_filter {
        return match key.code {
            KeyCode::Enter => Some(Action::FilterDone),
            KeyCode::Esc => Some(Action::Back),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Char(c) if !ctrl => Some(Action::FilterChar(c)),
            _ => None,
        };
    }
    if state.help {
        return match key.code {
            KeyCode::Char('q') => Some(Action::Quit),
            _ => Some(Action::ToggleHelp),
        };
    }
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') | KeyCode::F(1) => Action::ToggleHelp,
        KeyCode::Esc => Action::Back,
        KeyCode::Tab => Action::NextView,
        KeyCode::BackTab => Action::PrevView,
        KeyCode::Char('1') => Action::ShowView(View::Sessions),
        KeyCode::Char('2') => Action::ShowView(View::Flows),
        KeyCode::Char('3') => Action::ShowView(View::Findings),
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Home,
        KeyCode::End | KeyCode::Char('G') => Action::End,
        KeyCode::Enter => Action::ToggleDetail,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Char('s') => Action::CycleSort,
        KeyCode::Char('p') | KeyCode::Char(' ') => Action::TogglePause,
        KeyCode::Char('e') => Action::Export,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn keys_depend_on_mode() {
        let mut s = UiState::default();
        assert_eq!(from_key(key(KeyCode::Char('q')), &s), Some(Action::Quit));
        assert_eq!(
            from_key(key(KeyCode::Char('2')), &s),
            Some(Action::ShowView(View::Flows))
        );
        assert_eq!(
            from_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), &s),
            Some(Action::Quit)
        );
        s.editing_filter = true;
        assert_eq!(
            from_key(key(KeyCode::Char('q')), &s),
            Some(Action::FilterChar('q'))
        );
        s.editing_filter = false;
        s.help = true;
        assert_eq!(from_key(key(KeyCode::Down), &s), Some(Action::ToggleHelp));
    }
}
