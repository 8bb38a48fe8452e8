//! `replay --format html`: one self-contained page with the session verdict first.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn zoom_capture_renders_a_self_contained_page() {
    let capture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/dns_then_connect.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .arg("replay")
        .arg(capture)
        .args(["--format", "html"])
        .output();
    let Ok(out) = out else {
        panic!("leakscope did not run");
    };
    assert_eq!(out.status.code(), Some(0));
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<span class=\"badge v-note2ee\">NOT E2EE (vendor can read)</span>"));
    assert!(html.contains("graph.facebook.com"));
    let verdict = html.find("Calls and app sessions");
    assert!(verdict.is_some() && verdict < html.find("<h2>Findings"));
    for banned in ["http://", "https://", "src=", "href=", "<script"] {
        assert!(!html.contains(banned), "{banned}");
    }
}
