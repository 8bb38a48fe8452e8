//! Settings of the leakscope process itself, checked on a running binary.

#![cfg(target_os = "linux")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The THP_enabled line of a process's status (kernels since 5.0 have it).
fn thp_line(pid: u32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("THP_enabled:"))?;
    Some(line.to_owned())
}

/// Transparent huge pages are off for the process (README, "Memory per flow"): set first
/// thing in `main`, so a replay waiting for its first bytes on stdin shows it.
#[test]
fn transparent_huge_pages_are_off() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(["replay", "-", "--format", "ndjson"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Right after the spawn the status may still be the forked test's: wait for the change.
    let deadline = Instant::now() + Duration::from_secs(20);
    let line = loop {
        let line = thp_line(child.id());
        if line.as_deref().is_none_or(|l| l.ends_with('0')) || Instant::now() > deadline {
            break line;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(child.stdin.take());
    let _ = child.wait();
    match line {
        None => eprintln!("skipped: this kernel reports no THP_enabled"),
        Some(line) => assert_eq!(line.split_whitespace().last(), Some("0"), "{line}"),
    }
}
