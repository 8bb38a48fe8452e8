//! `replay --policy`: exit status 0 without violations, 1 with, 2 for a bad policy file.

// A test that cannot set up its files should stop with the reason.
#![allow(clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn capture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

/// Run `replay CAPTURE --policy FILE --format ndjson` with `policy` as the file's text.
fn run(policy: &str, capture_name: &str) -> Output {
    let dir = std::env::temp_dir().join(format!(
        "leakscope-policy-{}-{}",
        std::process::id(),
        capture_name.replace('.', "_")
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(format!("policy-{:x}.toml", fxhash(policy)));
    std::fs::write(&file, policy).expect("write policy");
    let out = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .arg("replay")
        .arg(capture(capture_name))
        .arg("--policy")
        .arg(&file)
        .args(["--format", "ndjson"])
        .output()
        .expect("run leakscope");
    let _ = std::fs::remove_file(&file);
    out
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn status(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn summary_policy(out: &Output) -> serde_json::Value {
    let text = stdout(out);
    let last = text.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(last).expect("summary line");
    v["policy"].clone()
}

#[test]
fn tls10_below_minimum_exits_1() {
    let out = run("min_tls_version = \"1.2\"\n", "tls10_weak.pcap");
    assert_eq!(status(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout(&out).contains("min_tls_version: legacy.example.org (127.0.0.1) negotiated TLS 1.0")
    );
    assert_eq!(summary_policy(&out)["violations"], 1);
}

#[test]
fn tls13_meets_minimum_exits_0() {
    let out = run("min_tls_version = \"1.2\"\n", "tls13_zoom.pcap");
    assert_eq!(status(&out), 0);
    assert_eq!(summary_policy(&out)["violations"], 0);
    assert!(!stdout(&out).contains("policy-violation"));
}

#[test]
fn require_e2ee_alone_flags_a_zoom_session() {
    let out = run("require_e2ee = true\n", "tls12_zoom.pcap");
    assert_eq!(status(&out), 1);
    let text = stdout(&out);
    let session = text
        .lines()
        .find(|l| l.contains("\"record\":\"session\""))
        .expect("a session");
    assert!(session.contains("\"policy_violations\":[\"require_e2ee: the Zoom session"));
}

#[test]
fn require_e2ee_flags_sip_media_with_exposed_keys() {
    let out = run("require_e2ee = true\n", "sip_sdes_srtp.pcap");
    assert_eq!(status(&out), 1);
    assert!(stdout(&out).contains("require_e2ee: call media with 127.0.0.1"));
}

#[test]
fn require_e2ee_accepts_webrtc_p2p() {
    let out = run("require_e2ee = true\n", "webrtc_p2p.pcap");
    assert_eq!(status(&out), 0);
}

#[test]
fn zoom_is_not_an_allowed_app() {
    let out = run("allowed_apps = [\"jitsi\"]\n", "tls13_zoom.pcap");
    assert_eq!(status(&out), 1);
    assert!(stdout(&out).contains("which is not an allowed app (allowed: jitsi)"));
    let out = run("allowed_apps = [\"zoom\"]\n", "tls13_zoom.pcap");
    assert_eq!(status(&out), 0);
}

#[test]
fn third_party_telemetry_is_forbidden() {
    let out = run("forbid_third_party_telemetry = true\n", "http_plain.pcap");
    assert_eq!(status(&out), 1);
    let text = stdout(&out);
    assert!(text.contains(
        "forbid_third_party_telemetry: the client 127.0.0.1 contacted app-measurement.com"
    ));
    assert!(text.contains("graph.facebook.com"));
    assert_eq!(
        summary_policy(&out)["by_rule"]["forbid_third_party_telemetry"],
        3
    );
}

#[test]
fn loopback_servers_never_break_allowed_countries() {
    let out = run("allowed_countries = [\"DE\"]\n", "http_plain.pcap");
    assert_eq!(status(&out), 0);
}

#[test]
fn broken_policy_exits_2_with_position_before_reading() {
    let out = run("# rules\nrequire_e2e = true\n", "tls12_zoom.pcap");
    assert_eq!(status(&out), 2);
    assert!(
        out.stdout.is_empty(),
        "no capture output before the policy is valid"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(".toml:2:1: unknown field `require_e2e`"),
        "{err}"
    );
    let out = run("min_tls_version = 1.2\n", "tls12_zoom.pcap");
    assert_eq!(status(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains(".toml:1:19:"));
}

#[test]
fn the_example_policy_parses() {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/policy.example.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .arg("replay")
        .arg(capture("tls13_zoom.pcap"))
        .arg("--policy")
        .arg(example)
        .args(["--format", "ndjson"])
        .output()
        .expect("run leakscope");
    // The example allows only E2EE apps and requires E2EE: a Zoom session breaks it.
    assert_eq!(status(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
}
