//! Reports: one record per flow and a closing summary, written as NDJSON, one JSON
//! document, a readable text table, or a self-contained HTML page. Every sink gets the same records (push style, like
//! ripgrep's `Sink`), so the UI and the file formats never disagree.

pub mod html;
pub mod json;
pub mod json_ser;
pub mod json_text;
pub mod ndjson;
pub mod record;
pub mod sanitize;
pub mod text;

pub use crate::session::SessionRecord;
pub use record::{FlowRecord, InputSummary, LiveStats, Summary};
use std::io;

/// Where records go.
pub trait Sink {
    fn flow(&mut self, rec: &FlowRecord<'_>) -> io::Result<()>;
    /// A call or app session ended, with its verdict.
    fn session(&mut self, rec: &SessionRecord) -> io::Result<()>;
    /// The last call: the run's summary; sinks that buffer write everything now.
    fn summary(&mut self, summary: &Summary) -> io::Result<()>;
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn flow(&mut self, rec: &FlowRecord<'_>) -> io::Result<()> {
        (**self).flow(rec)
    }
    fn session(&mut self, rec: &SessionRecord) -> io::Result<()> {
        (**self).session(rec)
    }
    fn summary(&mut self, summary: &Summary) -> io::Result<()> {
        (**self).summary(summary)
    }
}

/// Output formats of `replay` and `live`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Ndjson,
    /// One self-contained HTML file (`> report.html`).
    Html,
}

/// A sink for the format, writing to `out`.
pub fn sink<'w>(format: Format, out: Box<dyn io::Write + 'w>) -> Box<dyn Sink + 'w> {
    match format {
        Format::Text => Box::new(text::TextSink::new(out)),
        Format::Json => Box::new(json::JsonSink::new(out)),
        Format::Ndjson => Box::new(ndjson::NdjsonSink::new(out)),
        Format::Html => Box::new(html::HtmlSink::new(out)),
    }
}
