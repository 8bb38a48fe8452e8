//! Broken inputs through the binary: each gives one line on stderr naming the file and the
//! byte offset; other inputs are still analysed; exit 2 only when nothing could be read.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use support::*;

/// A valid one-flow capture (a UDP datagram to port 9999).
fn good(dir: &Path) -> PathBuf {
    let mut p = Pcap::ethernet();
    p.push(&udp([10, 0, 0, 1], [10, 0, 0, 2], 40_000, 9999, b"hello"));
    p.write(dir, "good.pcap")
}

/// pcap of one packet, as bytes.
fn one_packet() -> Vec<u8> {
    let mut p = Pcap::ethernet();
    p.push(&udp([10, 0, 0, 1], [10, 0, 0, 2], 40_000, 9999, b"hello"));
    p.bytes
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The broken files: (name, bytes, byte offset the error must name, can frames be read).
fn broken() -> Vec<(&'static str, Vec<u8>, u64)> {
    let pkt = one_packet();
    let mut absurd = pkt.clone();
    absurd[24 + 8..24 + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let mut corrupt_gz = gzip(&pkt);
    let mid = corrupt_gz.len() / 2;
    for b in &mut corrupt_gz[mid..mid + 4] {
        *b ^= 0x5a;
    }
    let mut ng = Vec::new();
    // Section header block with a block length (13) that is not a multiple of 4.
    ng.extend_from_slice(&0x0a0d_0d0au32.to_le_bytes());
    ng.extend_from_slice(&28u32.to_le_bytes());
    ng.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    ng.extend_from_slice(&[1, 0, 0, 0]);
    ng.extend_from_slice(&u64::MAX.to_le_bytes());
    ng.extend_from_slice(&28u32.to_le_bytes());
    // Then an interface block claiming 13 bytes.
    ng.extend_from_slice(&1u32.to_le_bytes());
    ng.extend_from_slice(&13u32.to_le_bytes());
    ng.extend_from_slice(&[0; 12]);
    vec![
        ("empty.pcap", Vec::new(), 0),
        (
            "text.pcap",
            b"this is not a capture, just some notes\n".to_vec(),
            0,
        ),
        (
            "magic.pcap",
            [b"\xde\xad\xbe\xef".as_slice(), &pkt[4..]].concat(),
            0,
        ),
        ("short-header.pcap", pkt[..10].to_vec(), 0),
        ("short-record-header.pcap", pkt[..24 + 7].to_vec(), 24),
        ("short-record-body.pcap", pkt[..pkt.len() - 3].to_vec(), 24),
        ("absurd-caplen.pcap", absurd, 24),
        ("corrupt.pcap.gz", corrupt_gz, 0),
        ("bad-block-length.pcapng", ng, 28),
    ]
}

#[test]
fn each_broken_file_gives_one_line_with_name_and_offset() {
    let dir = TempDir::new("bad");
    for (name, bytes, offset) in broken() {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let (code, out, err) = run_bin(&[
            OsStr::new("replay"),
            path.as_os_str(),
            OsStr::new("-f"),
            OsStr::new("ndjson"),
        ]);
        println!("{name}: exit {code}: {}", err.trim_end());
        assert_eq!(err.lines().count(), 1, "{name}: one line on stderr: {err}");
        assert!(
            err.contains(&path.display().to_string()),
            "{name}: names the file: {err}"
        );
        let at = format!("byte {offset}");
        assert!(err.contains(&at), "{name}: says {at}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        // Truncated records still had a readable header: the file was read (exit 0);
        // files whose header is unusable leave nothing read (exit 2).
        let readable = offset > 0;
        assert_eq!(code, if readable { 0 } else { 2 }, "{name}: {err}");
        let out = String::from_utf8(out).unwrap();
        for line in out.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("NDJSON stays valid");
        }
    }
}

#[test]
fn a_broken_file_does_not_stop_the_others() {
    let dir = TempDir::new("mixed");
    let good = good(dir.path());
    for (name, bytes, _) in broken() {
        let bad = dir.path().join(name);
        std::fs::write(&bad, &bytes).unwrap();
        for order in [[&bad, &good], [&good, &bad]] {
            let (code, out, err) = run_bin(&[
                OsStr::new("replay"),
                OsStr::new("-f"),
                OsStr::new("ndjson"),
                order[0].as_os_str(),
                order[1].as_os_str(),
            ]);
            assert_eq!(code, 0, "{name}: {err}");
            assert_eq!(err.lines().count(), 1, "{name}: {err}");
            let out = String::from_utf8(out).unwrap();
            let recs: Vec<serde_json::Value> = out
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert!(
                recs.iter()
                    .any(|r| r["record"] == "flow" && r["dst"]["port"] == 9999),
                "{name}: the good file's flow is reported: {out}"
            );
            let summary = recs.last().unwrap();
            assert_eq!(summary["errors"], 1, "{name}: {summary}");
        }
    }
}

#[test]
fn nothing_readable_exits_2() {
    let dir = TempDir::new("none");
    let a = dir.path().join("a.pcap");
    let b = dir.path().join("missing.pcap");
    std::fs::write(&a, b"nope").unwrap();
    let (code, _, err) = run_bin(&[OsStr::new("replay"), a.as_os_str(), b.as_os_str()]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 2, "{err}");
}

#[test]
fn unsupported_link_type_is_counted_not_fatal() {
    let dir = TempDir::new("user0");
    let mut p = Pcap::new(147);
    for _ in 0..5 {
        p.push(b"\x01\x02\x03 opaque user0 frame");
    }
    let path = p.write(dir.path(), "user0.pcap");
    let (code, out, err) = run_bin(&[
        OsStr::new("replay"),
        OsStr::new("-f"),
        OsStr::new("json"),
        path.as_os_str(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let s = doc.get("summary").unwrap_or(&doc);
    println!("user0: {}", s["packets"]);
    assert_eq!(s["packets"]["unsupported_link"], 5, "{doc}");
}
