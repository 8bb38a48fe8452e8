//! Replay: read capture files in order through one analyser and report every flow and session.
//!
//! Files are read one after another as one capture (as `mergecap -a` would join them), so a
//! flow split across a ring buffer's files stays one flow. A file that cannot be read to the
//! end is reported with its byte offset; the frames before the error count, and the other
//! files are still analysed.

use crate::analyze::{Analyzer, AnalyzerConfig};
use crate::capture::file::{CaptureFormat, FileSource};
use crate::model::Timestamp;
use crate::report::{InputSummary, Sink, Summary};
use std::io;
use std::path::PathBuf;

/// What a replay read, for the exit status.
#[derive(Debug)]
pub struct Outcome {
    pub summary: Summary,
    /// At least one input yielded frames or was a valid, empty capture.
    pub anything_read: bool,
}

/// [`replay`] on `threads` busy threads ([`crate::parallel`]): 1 runs everything on the
/// calling thread; N > 1 runs the analysis (classify → verdict → sessions → sink) on the
/// calling thread and splits the flow table over N − 1 engine threads, so 2 threads
/// pipeline engine and analysis; 0 means one thread per CPU. The records are the same, in
/// the same order, whatever the number (as long as no engine thread's flow cap,
/// `max_flows / (N − 1)`, is reached).
pub fn replay_threads(
    inputs: &[PathBuf],
    config: AnalyzerConfig,
    threads: usize,
    sink: &mut dyn Sink,
    on_error: &mut dyn FnMut(&str),
) -> io::Result<Outcome> {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        n => n,
    };
    if threads <= 1 {
        replay(inputs, config, sink, on_error)
    } else {
        crate::parallel::replay(inputs, config, threads - 1, sink, on_error)
    }
}

/// Replay `inputs` into `sink`. `on_error` gets one line per input that failed.
pub fn replay(
    inputs: &[PathBuf],
    config: AnalyzerConfig,
    sink: &mut dyn Sink,
    on_error: &mut dyn FnMut(&str),
) -> io::Result<Outcome> {
    let mut analyzer = Analyzer::new(config);
    let mut summaries: Vec<InputSummary> = Vec::with_capacity(inputs.len());
    let mut anything_read = false;
    let mut first_seen: Option<Timestamp> = None;

    for path in inputs {
        let name = path.display().to_string();
        analyzer.begin_input(&name);
        let mut input = InputSummary {
            name,
            ..Default::default()
        };
        match FileSource::open(path) {
            Err(e) => {
                let line = e.to_string();
                on_error(&line);
                input.error = Some(line);
            }
            Ok(mut src) => {
                src.read_ahead_beside(1);
                input.format = Some(format_name(src.format()).to_string());
                anything_read = true;
                while let Some(frame) = src.next_frame() {
                    match frame {
                        Ok(frame) => {
                            input.frames += 1;
                            first_seen.get_or_insert(frame.ts);
                            analyzer.ingest(&frame, sink)?;
                        }
                        Err(e) => {
                            let line = e.to_string();
                            on_error(&line);
                            input.error = Some(line);
                        }
                    }
                }
            }
        }
        summaries.push(input);
    }
    analyzer.finish(sink)?;
    let summary = analyzer.summary(summaries, first_seen);
    sink.summary(&summary)?;
    Ok(Outcome {
        summary,
        anything_read,
    })
}

/// The name of a capture format in reports.
pub fn format_name(f: CaptureFormat) -> &'static str {
    match f {
        CaptureFormat::Pcap { nanos: false, .. } => "pcap",
        CaptureFormat::Pcap { nanos: true, .. } => "pcap-ns",
        CaptureFormat::PcapNg => "pcapng",
    }
}
