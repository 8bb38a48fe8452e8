//! End to end: `leakscope replay … --tui` in a real terminal (tmux), driven by keys, read
//! back with `capture-pane`, quit with `q` and with Ctrl-C; the shell must get a sane
//! terminal back. Skips (with a message) where tmux is missing. Every wait is bounded.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// A tmux server of our own (its own socket), killed on drop.
struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output();
        match out {
            Ok(o) => o,
            Err(e) => panic!("tmux {args:?}: {e}"),
        }
    }

    fn start(tag: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("SKIP: tmux is not installed");
            return None;
        }
        let t = Tmux {
            socket: format!("leakscope-test-{tag}-{}", std::process::id()),
            session: "ui".into(),
        };
        let o = t.cmd(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            &t.session,
            "-x",
            "120",
            "-y",
            "40",
            "sh",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        Some(t)
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        let o = self.cmd(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    /// Wait until the screen contains all of `needles`.
    fn wait_for(&self, needles: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if needles.iter().all(|n| s.contains(n)) {
                return s;
            }
            if start.elapsed() > WAIT {
                panic!("timed out waiting for {needles:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn leakscope() -> &'static str {
    env!("CARGO_BIN_EXE_leakscope")
}

fn tmp(name: &str) -> String {
    std::env::temp_dir()
        .join(format!("leakscope-tmux-{}-{name}", std::process::id()))
        .display()
        .to_string()
}

#[test]
fn replay_tui_views_keys_and_terminal_restore() {
    let Some(t) = Tmux::start("keys") else { return };
    assert!(Path::new("captures/sip_sdes_srtp.pcap").exists());
    let before = tmp("stty-before");
    let after = tmp("stty-after");
    let cmd = format!(
        "cd {}; stty -g > {before}; {} replay captures/sip_sdes_srtp.pcap captures/tls12_zoom.pcap --tui; echo EXIT=$?; stty -g > {after}",
        std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| ".".into()),
        leakscope()
    );
    t.keys(&[&cmd, "Enter"]);
    // Sessions: the Zoom session's verdict.
    let s = t.wait_for(&["Sessions (2)", "NOT E2EE", "Zoom", "PLAINTEXT", "finished"]);
    assert!(s.contains("leakscope"), "{s}");
    // Flows: the SIP call with keys in clear is PLAINTEXT.
    t.keys(&["2"]);
    t.wait_for(&["Flows (", "PLAINTEXT", "keys-exposed", "sip"]);
    // Findings, then details of the newest finding.
    t.keys(&["3"]);
    t.wait_for(&["Findings (", "CRIT", "keys-exposed"]);
    t.keys(&["Enter"]);
    t.wait_for(&["┌ Finding ", "traffic:"]);
    // Filter the flows view by app.
    t.keys(&["Escape", "2", "/", "zoom", "Enter"]);
    let s = t.wait_for(&["Flows (1)", "filter: zoom"]);
    assert!(!s.contains("keys-exposed"), "{s}");
    // Help overlay, then close it.
    t.keys(&["?"]);
    t.wait_for(&["Help", "export the current view"]);
    t.keys(&["x"]);
    // Resize: still drawn, at 80×24.
    let o = t.cmd(&["resize-window", "-t", &t.session, "-x", "80", "-y", "24"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    t.wait_for(&["Flows (1)", "leakscope"]);
    // Export: the status line says where.
    t.keys(&["e"]);
    let s = t.wait_for(&["exported 1 rows to"]);
    let path = s
        .lines()
        .find_map(|l| l.split("exported 1 rows to ").nth(1))
        .map(|p| p.trim().to_string())
        .unwrap_or_default();
    // Quit: the shell is back, the screen restored, the terminal settings unchanged.
    t.keys(&["q"]);
    let s = t.wait_for(&["EXIT=0"]);
    assert!(
        !s.contains("Sessions ("),
        "alternate screen left behind:\n{s}"
    );
    std::thread::sleep(Duration::from_millis(300));
    let b = std::fs::read_to_string(&before).unwrap_or_default();
    let a = std::fs::read_to_string(&after).unwrap_or_else(|_| "missing".into());
    assert_eq!(b, a, "terminal settings changed");
    t.keys(&["echo typed-$((20+22))", "Enter"]);
    t.wait_for(&["typed-42"]);
    // The export file holds the one flow the filter left.
    assert!(
        path.ends_with(".ndjson") && Path::new(&path).exists(),
        "{path:?}"
    );
    let body = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    assert!(body.contains("\"server_name\":\"zoom.us\""), "{body}");
    let _ = std::fs::remove_file(before);
    let _ = std::fs::remove_file(after);
}

#[test]
fn ctrl_c_quits_and_restores_the_terminal() {
    let Some(t) = Tmux::start("ctrlc") else {
        return;
    };
    let before = tmp("c-before");
    let after = tmp("c-after");
    let cmd = format!(
        "stty -g > {before}; {} replay {}/captures/webrtc_p2p.pcap --tui --speed 0.5; echo EXIT=$?; stty -g > {after}",
        leakscope(),
        std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| ".".into()),
    );
    t.keys(&[&cmd, "Enter"]);
    // At half speed the 4 s capture is still being read: a progress bar shows.
    t.wait_for(&["replaying", "reading"]);
    t.keys(&["C-c"]);
    let s = t.wait_for(&["EXIT=0"]);
    assert!(!s.contains("Sessions ("), "{s}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        std::fs::read_to_string(&before).unwrap_or_default(),
        std::fs::read_to_string(&after).unwrap_or_else(|_| "missing".into())
    );
    let _ = std::fs::remove_file(before);
    let _ = std::fs::remove_file(after);
}
