//! `e`: the rows of the current view (filtered and sorted as shown) as NDJSON. Reported
//! flows are written as their full flow record; live flows, sessions and findings as the
//! rows the UI holds, each tagged with `"record"`.

use super::state::{UiState, View};
use crate::live::Snapshot;
use serde_json::{Value, json};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

fn tagged(record: &str, value: impl serde::Serialize) -> io::Result<String> {
    let mut v = serde_json::to_value(value)?;
    if let Value::Object(map) = &mut v {
        map.insert("record".into(), json!(record));
    }
    Ok(serde_json::to_string(&v)?)
}

/// The NDJSON lines of the current view.
pub fn lines(state: &UiState, snap: &Snapshot) -> io::Result<Vec<String>> {
    let rows = state.visible(snap);
    let mut out = Vec::with_capacity(rows.len());
    for i in rows {
        match state.view {
            View::Sessions => {
                if let Some(s) = snap.sessions.get(i) {
                    out.push(serde_json::to_string(s)?);
                }
            }
            View::Flows => {
                if let Some(f) = snap.flows.get(i) {
                    out.push(match &f.record {
                        Some(line) => line.to_string(),
                        None => tagged("flow", &**f)?,
                    });
                }
            }
            View::Findings => {
                if let Some(f) = snap.findings.get(i) {
                    out.push(tagged("finding", f)?);
                }
            }
        }
    }
    Ok(out)
}

fn write_to(path: &Path, lines: &[String]) -> io::Result<()> {
    let mut w = BufWriter::new(File::create(path)?);
    for l in lines {
        w.write_all(l.as_bytes())?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

/// Write the view to `leakscope-<view>-<pid>-<n>.ndjson` in `dir`, else in the temporary
/// directory (after dropping root the working directory may not be writable). Returns the
/// path and the number of rows.
pub fn export(
    state: &UiState,
    snap: &Snapshot,
    dir: &Path,
    n: u32,
) -> io::Result<(PathBuf, usize)> {
    let lines = lines(state, snap)?;
    let name = format!(
        "leakscope-{}-{}-{n}.ndjson",
        state.view.title().to_lowercase(),
        std::process::id()
    );
    let first = dir.join(&name);
    match write_to(&first, &lines) {
        Ok(()) => Ok((first, lines.len())),
        Err(_) => {
            let second = std::env::temp_dir().join(&name);
            write_to(&second, &lines)?;
            Ok((second, lines.len()))
        }
    }
}
