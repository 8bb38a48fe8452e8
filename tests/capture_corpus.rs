//! Reads every capture of the shared nDPI corpus: no panics, and every file but the few
//! deliberately broken ones reads to the end without error.
//!
//! The corpus lives outside the repository (`../shared/corpus/ndpi/pcap` beside the
//! checkout, or `/work/shared/...`); without it the test prints a line and passes.

use leakscope::capture::FileSource;
use std::path::{Path, PathBuf};

/// Files that are broken on purpose (fuzzer seeds, truncated or corrupted captures). Each
/// may fail; any other file failing is a reader bug.
const KNOWN_BROKEN: &[&str] = &[
    // A fuzzer output (pcap 2.0 with swapped lengths): one 197-byte packet, then cut short.
    "fuzz-2021-10-13.pcap",
];

/// At most this many files may fail at all, known or not, so a regression that breaks
/// everything cannot hide behind the list.
const MAX_BROKEN: usize = 12;

fn corpus_dir() -> Option<PathBuf> {
    [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/ndpi/pcap"),
        PathBuf::from("/work/shared/corpus/ndpi/pcap"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
}

#[test]
fn corpus_reads_without_errors() {
    let Some(dir) = corpus_dir() else {
        println!("capture corpus not found; skipping");
        return;
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    assert!(!paths.is_empty(), "empty corpus at {}", dir.display());

    let mut failures = Vec::new();
    let (mut files, mut frames, mut bytes) = (0usize, 0u64, 0u64);
    for path in &paths {
        files += 1;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut src = match FileSource::open(path) {
            Ok(s) => s,
            Err(e) => {
                failures.push((name, 0, e.to_string()));
                continue;
            }
        };
        let mut n = 0u64;
        let mut error = None;
        while let Some(f) = src.next_frame() {
            match f {
                Ok(f) => {
                    n += 1;
                    bytes += f.data.len() as u64;
                }
                Err(e) => error = Some(e.to_string()),
            }
        }
        frames += n;
        if let Some(e) = error {
            failures.push((name, n, e));
        }
    }

    println!("{files} files, {frames} frames, {bytes} captured bytes");
    println!("{} files with errors:", failures.len());
    for (name, n, e) in &failures {
        println!("  {name} (after {n} frames): {e}");
    }
    let unexpected: Vec<_> = failures
        .iter()
        .filter(|(name, _, _)| !KNOWN_BROKEN.contains(&name.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpected failures: {unexpected:#?}"
    );
    assert!(failures.len() <= MAX_BROKEN);
}
