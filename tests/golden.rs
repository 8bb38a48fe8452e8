//! Golden NDJSON over every capture the project recorded (`captures/`): any change in what
//! leakscope reports about real traffic shows up as a snapshot diff.

mod support;

use leakscope::analyze::AnalyzerConfig;
use leakscope::report::ndjson::NdjsonSink;
use std::path::Path;
use support::harness::{FanOut, SameAsSerde};
use support::project_captures;

fn replay_ndjson(path: &Path) -> String {
    let mut out = Vec::new();
    {
        // The NDJSON flow line is hand-written: every record is also checked against serde.
        let mut sink = FanOut(vec![
            Box::new(NdjsonSink::new(Box::new(&mut out))),
            Box::new(SameAsSerde),
        ]);
        let mut errors = Vec::new();
        let outcome = leakscope::replay::replay(
            &[path.to_path_buf()],
            AnalyzerConfig::default(),
            &mut sink,
            &mut |e| errors.push(e.to_string()),
        );
        assert!(outcome.is_ok(), "{}: {outcome:?}", path.display());
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
    String::from_utf8(out).unwrap_or_default()
}

#[test]
fn every_capture_matches_its_golden_ndjson() {
    let files = project_captures();
    assert!(files.len() >= 10, "captures/ holds {} files", files.len());
    for path in files {
        let ndjson = replay_ndjson(&path);
        // One pretty-printed record after another, so snapshot diffs read field by field.
        let mut pretty = String::new();
        for line in ndjson.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            assert!(v.get("record").is_some(), "{}: {line}", path.display());
            pretty.push_str(&serde_json::to_string_pretty(&v).unwrap_or_default());
            pretty.push('\n');
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("capture")
            .to_string();
        insta::assert_snapshot!(name, pretty);
    }
}
