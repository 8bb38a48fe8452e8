//! Replay: read capture files in order through one engine and report every flow.
//!
//! Files are read one after another as one capture (as `mergecap -a` would join them), so a
//! flow split across a ring buffer's files stays one flow. A file that cannot be read to the
//! end is reported with its byte offset; the frames before the error count, and the other
//! files are still analysed.

use crate::capture::file::{CaptureFormat, FileSource};
use crate::engine::{Engine, EngineConfig};
use crate::flow::{EndReason, Flow};
use crate::model::Timestamp;
use crate::report::record::FlowCounts;
use crate::report::{FlowRecord, InputSummary, Sink, Summary};
use std::io;
use std::path::PathBuf;

/// What a replay read, for the exit status.
#[derive(Debug)]
pub struct Outcome {
    pub summary: Summary,
    /// At least one input yielded frames or was a valid, empty capture.
    pub anything_read: bool,
}

/// Replay `inputs` into `sink`. `on_error` gets one line per input that failed.
pub fn replay(
    inputs: &[PathBuf],
    config: EngineConfig,
    sink: &mut dyn Sink,
    on_error: &mut dyn FnMut(&str),
) -> io::Result<Outcome> {
    let mut engine = Engine::new(config);
    let mut summaries: Vec<InputSummary> = Vec::with_capacity(inputs.len());
    let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    let mut anything_read = false;
    let mut first_seen: Option<Timestamp> = None;
    let mut out = Emitter {
        names: &names,
        reported: 0,
        error: None,
        sink,
    };

    for (i, path) in inputs.iter().enumerate() {
        engine.set_source(u16::try_from(i).unwrap_or(u16::MAX));
        let mut input = InputSummary {
            name: names[i].clone(),
            ..Default::default()
        };
        match FileSource::open(path) {
            Err(e) => {
                let line = e.to_string();
                on_error(&line);
                input.error = Some(line);
            }
            Ok(mut src) => {
                input.format = Some(format_name(src.format()).to_string());
                anything_read = true;
                while let Some(frame) = src.next_frame() {
                    match frame {
                        Ok(frame) => {
                            input.frames += 1;
                            first_seen.get_or_insert(frame.ts);
                            engine.ingest(&frame, &mut |f, r| out.emit(f, r));
                        }
                        Err(e) => {
                            let line = e.to_string();
                            on_error(&line);
                            input.error = Some(line);
                        }
                    }
                    if out.error.is_some() {
                        break;
                    }
                }
            }
        }
        summaries.push(input);
        if out.error.is_some() {
            break;
        }
    }
    engine.finish(&mut |f, r| out.emit(f, r));
    if let Some(e) = out.error {
        return Err(e);
    }
    let errors = summaries.iter().filter(|s| s.error.is_some()).count() as u64;
    let summary = Summary {
        record: "summary",
        inputs: summaries,
        first_seen,
        last_seen: first_seen.map(|_| engine.now()),
        packets: engine.packets,
        flows: FlowCounts {
            reported: out.reported,
            table: engine.table().stats,
        },
        defrag: engine.defrag().stats,
        errors,
    };
    out.sink.summary(&summary)?;
    Ok(Outcome {
        summary,
        anything_read,
    })
}

/// Turns finished flows into records for the sink; remembers the first write error.
struct Emitter<'a> {
    names: &'a [String],
    reported: u64,
    error: Option<io::Error>,
    sink: &'a mut dyn Sink,
}

impl Emitter<'_> {
    fn emit(&mut self, flow: Flow, reason: EndReason) {
        if self.error.is_some() {
            return;
        }
        let source = self
            .names
            .get(usize::from(flow.source))
            .map_or("", String::as_str);
        let rec = FlowRecord::new(&flow, reason, source);
        self.reported += 1;
        if let Err(e) = self.sink.flow(&rec) {
            self.error = Some(e);
        }
    }
}

fn format_name(f: CaptureFormat) -> &'static str {
    match f {
        CaptureFormat::Pcap { nanos: false, .. } => "pcap",
        CaptureFormat::Pcap { nanos: true, .. } => "pcap-ns",
        CaptureFormat::PcapNg => "pcapng",
    }
}
