//! Replay for the terminal UI: the same analysis as `replay`, plus snapshots a few times a
//! second, a progress fraction for large files, and optional pacing at recorded speed.

use super::output::{Output, Status};
use super::run::PUBLISH_EVERY;
use super::stop::StopHandle;
use crate::analyze::{Analyzer, AnalyzerConfig};
use crate::capture::FileSource;
use crate::model::Timestamp;
use crate::replay::format_name;
use crate::report::{InputSummary, Summary};
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Longest single sleep while pacing, so stop requests and snapshots stay prompt.
const PACE_STEP: Duration = Duration::from_millis(50);
/// Frames between looks at the wall clock when not pacing.
const CLOCK_EVERY_FRAMES: u32 = 256;

/// Paces frames at `speed` × recorded speed.
#[derive(Debug)]
struct Pacer {
    speed: f64,
    start: Option<(Timestamp, Instant)>,
}

impl Pacer {
    /// How long to wait before the frame at `ts` is due.
    fn wait(&mut self, ts: Timestamp) -> Duration {
        let (t0, w0) = *self.start.get_or_insert((ts, Instant::now()));
        let due = Duration::from_secs_f64(ts.since(t0) as f64 / 1e9 / self.speed);
        due.saturating_sub(w0.elapsed())
    }
}

/// Replay `inputs` through one analyser into `out`; stops early when `stop` is set.
pub fn replay_feed(
    inputs: &[PathBuf],
    config: AnalyzerConfig,
    speed: Option<f64>,
    out: &mut dyn Output,
    stop: &StopHandle,
) -> io::Result<Summary> {
    let mut analyzer = Analyzer::new(config);
    let mut pacer = speed
        .filter(|s| *s > 0.0)
        .map(|speed| Pacer { speed, start: None });
    let mut summaries = Vec::with_capacity(inputs.len());
    let mut status = Status::default();
    let mut last_publish = Instant::now();
    let n = inputs.len().max(1) as f64;
    let mut since_clock = 0u32;

    'inputs: for (i, path) in inputs.iter().enumerate() {
        let name = path.display().to_string();
        analyzer.begin_input(&name);
        let mut input = InputSummary {
            name,
            ..Default::default()
        };
        let mut src = match FileSource::open(path) {
            Ok(src) => {
                input.format = Some(format_name(src.format()).to_string());
                src
            }
            Err(e) => {
                input.error = Some(e.to_string());
                status.note = input.error.clone();
                summaries.push(input);
                continue;
            }
        };
        loop {
            if stop.is_set() {
                summaries.push(input);
                break 'inputs;
            }
            let progress = match src.total_bytes() {
                Some(total) if total > 0 => src.bytes_read() as f64 / total as f64,
                _ => 0.0,
            };
            status.progress = Some((i as f64 + progress.min(1.0)) / n);
            let Some(next) = src.next_frame() else { break };
            let frame = match next {
                Ok(f) => f,
                Err(e) => {
                    input.error = Some(e.to_string());
                    status.note = input.error.clone();
                    continue;
                }
            };
            input.frames += 1;
            status.first_seen.get_or_insert(frame.ts);
            if let Some(p) = pacer.as_mut() {
                loop {
                    let wait = p.wait(frame.ts);
                    if wait.is_zero() || stop.is_set() {
                        break;
                    }
                    std::thread::sleep(wait.min(PACE_STEP));
                    if last_publish.elapsed() >= PUBLISH_EVERY {
                        last_publish = Instant::now();
                        out.publish(&analyzer, &status);
                    }
                }
            }
            out.frame(frame.ts, frame.orig_len);
            analyzer.ingest(&frame, out)?;
            since_clock += 1;
            if (pacer.is_some() || since_clock >= CLOCK_EVERY_FRAMES)
                && last_publish.elapsed() >= PUBLISH_EVERY
            {
                since_clock = 0;
                last_publish = Instant::now();
                out.publish(&analyzer, &status);
            }
        }
        summaries.push(input);
    }
    analyzer.finish(out)?;
    let summary = analyzer.summary(summaries, status.first_seen);
    out.summary(&summary)?;
    status.finished = true;
    status.progress = Some(1.0);
    out.publish(&analyzer, &status);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_waits_for_recorded_time() {
        let mut p = Pacer {
            speed: 2.0,
            start: None,
        };
        assert!(p.wait(Timestamp::from_secs(100)).is_zero());
        let w = p.wait(Timestamp::from_secs(104));
        // 4 s of capture at 2× speed: about 2 s from the first frame.
        assert!(
            w > Duration::from_millis(1_900) && w <= Duration::from_secs(2),
            "{w:?}"
        );
    }
}
