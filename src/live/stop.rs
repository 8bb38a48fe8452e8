//! A shared stop request: set by a signal, the duration timer, the UI's quit key or an
//! error; the first reason wins.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Default)]
pub struct StopHandle(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    set: AtomicBool,
    reason: Mutex<Option<&'static str>>,
}

impl StopHandle {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask everything to stop; `reason` is reported in the summary (`signal`, `duration`,
    /// `quit`, `error`).
    pub fn request(&self, reason: &'static str) {
        if let Ok(mut r) = self.0.reason.lock() {
            r.get_or_insert(reason);
        }
        self.0.set.store(true, Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.set.load(Ordering::SeqCst)
    }

    pub fn reason(&self) -> Option<&'static str> {
        self.0.reason.lock().ok().and_then(|r| *r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_reason_wins() {
        let s = StopHandle::new();
        assert!(!s.is_set() && s.reason().is_none());
        s.request("signal");
        s.request("quit");
        assert!(s.is_set());
        assert_eq!(s.reason(), Some("signal"));
    }
}
