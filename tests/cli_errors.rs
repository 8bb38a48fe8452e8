//! Misuse of the command line: clear messages, the right exit status, never a panic.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::ffi::OsStr;
use std::io::Write;
use std::process::{Command, Stdio};
use support::*;

fn run(args: &[&str]) -> (i32, Vec<u8>, String) {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    run_bin(&args)
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    for args in [
        &[][..],
        &["replay"],
        &["nonsense"],
        &["replay", "--format", "xml", "x.pcap"],
        &["replay", "--max-flows", "many", "x.pcap"],
        &["replay", "--tcp-timeout", "-1", "x.pcap"],
    ] {
        let (code, out, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}");
        assert!(
            !err.is_empty() && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn missing_file_and_directory() {
    let dir = TempDir::new("cli");
    let missing = dir.path().join("missing.pcap");
    let (code, _, err) = run_bin(&[OsStr::new("replay"), missing.as_os_str()]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("missing.pcap"), "{err}");
    let (code, _, err) = run_bin(&[OsStr::new("replay"), dir.path().as_os_str()]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn huge_timeouts_and_tiny_flow_cap() {
    let dir = TempDir::new("cli-cfg");
    let mut p = Pcap::ethernet();
    for port in 0..50u16 {
        p.push(&udp(
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            40_000 + port,
            9999,
            b"x",
        ));
    }
    let path = p.write(dir.path(), "in.pcap");
    let path = path.to_str().unwrap();
    let max = u64::MAX.to_string();
    for args in [
        &["replay", "-f", "ndjson", "--max-flows", "0", path][..],
        &["replay", "-f", "ndjson", "--max-flows", "1", path],
        &[
            "replay",
            "-f",
            "ndjson",
            "--udp-timeout",
            &max,
            "--tcp-timeout",
            &max,
            path,
        ],
        &["replay", "-f", "ndjson", "--udp-timeout", "0", path],
    ] {
        let (code, out, err) = run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        let out = String::from_utf8(out).unwrap();
        let flows = out
            .lines()
            .filter(|l| l.contains("\"record\":\"flow\""))
            .count();
        assert_eq!(flows, 50, "{args:?}: every flow is reported once");
    }
}

#[test]
fn garbage_on_stdin() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(["replay", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&[0x1b; 1000])
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("stdin: byte 0"), "{err}");
    assert!(
        !err.as_bytes().contains(&0x1b),
        "stderr is sanitised: {err}"
    );
}

#[test]
fn closed_stdout_is_not_an_error() {
    let dir = TempDir::new("cli-pipe");
    let mut p = Pcap::ethernet();
    for port in 0..2000u16 {
        p.push(&udp(
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            10_000 + port,
            9999,
            b"x",
        ));
    }
    let path = p.write(dir.path(), "in.pcap");
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args([
            OsStr::new("replay"),
            OsStr::new("-f"),
            OsStr::new("ndjson"),
            path.as_os_str(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}
