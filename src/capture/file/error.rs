//! Errors of the capture-file reader: what went wrong, in which source, at which byte.

use std::io;
use thiserror::Error;

/// A capture file could not be read further. After one of these the source is finished.
///
/// Displays on one line as `{source_name}: byte {offset}: {kind}`, for example
/// `broken.pcap: byte 24: record header truncated (need 16 bytes, 7 left)`.
#[derive(Debug, Error)]
#[error("{source_name}: byte {offset}: {kind}")]
pub struct CaptureError {
    /// The path as given, or `stdin`.
    pub source_name: String,
    /// Offset in the (decompressed) stream where the broken record or block starts; for
    /// I/O and gzip errors, how far the stream was read.
    pub offset: u64,
    pub kind: CaptureErrorKind,
}

/// What went wrong while reading a capture file.
#[derive(Debug, Error)]
pub enum CaptureErrorKind {
    #[error("read failed: {0}")]
    Io(io::Error),
    /// Not pcap, pcapng or gzip, or shorter than the file header.
    #[error("not a capture file: {found}")]
    NotACapture { found: String },
    /// The stream ended in the middle of a record or block.
    #[error("{what} truncated (need {need} bytes, {left} left)")]
    Truncated {
        what: &'static str,
        need: u64,
        left: u64,
    },
    /// A length field larger than any sane capture would write.
    #[error("{what} {len} exceeds the limit of {max} bytes")]
    AbsurdLength {
        what: &'static str,
        len: u64,
        max: u64,
    },
    /// A pcapng block whose structure is inconsistent.
    #[error("bad pcapng {block} block: {reason}")]
    BadBlock { block: &'static str, reason: String },
    /// A pcapng packet naming an interface its section never described.
    #[error("packet refers to interface {id}, but the section describes {count}")]
    UnknownInterface { id: u32, count: usize },
    /// The gzip layer could not be decoded.
    #[error("gzip stream corrupt: {0}")]
    Gzip(io::Error),
}

/// An error before the source name is attached; the parsers return these.
#[derive(Debug)]
pub(super) struct At {
    pub offset: u64,
    pub kind: CaptureErrorKind,
}

impl At {
    pub fn new(offset: u64, kind: CaptureErrorKind) -> Self {
        At { offset, kind }
    }

    pub fn named(self, source_name: &str) -> CaptureError {
        CaptureError {
            source_name: source_name.to_owned(),
            offset: self.offset,
            kind: self.kind,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn displays_on_one_line_with_source_and_offset() {
        let e = At::new(
            24,
            CaptureErrorKind::Truncated {
                what: "record header",
                need: 16,
                left: 7,
            },
        )
        .named("broken.pcap");
        assert_eq!(
            e.to_string(),
            "broken.pcap: byte 24: record header truncated (need 16 bytes, 7 left)"
        );
    }
}
