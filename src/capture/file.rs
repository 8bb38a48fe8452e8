//! Capture files. TEMPORARY minimal pcap reader until the full reader lands.
#![allow(clippy::all)]
use super::{Frame, LinkType};
use crate::model::Timestamp;
use std::io::Read;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
#[error("{source_name}: byte {offset}: {kind}")]
pub struct CaptureError {
    pub source_name: String,
    pub offset: u64,
    pub kind: String,
}

#[derive(Clone, Copy, Debug)]
pub enum CaptureFormat {
    Pcap { nanos: bool, big_endian: bool },
    PcapNg,
}

pub struct FileSource {
    data: Vec<u8>,
    pos: usize,
    link: LinkType,
    name: String,
    done: bool,
}

impl FileSource {
    pub fn open(path: &Path) -> Result<FileSource, CaptureError> {
        let name = path.display().to_string();
        let err = |k: &str| CaptureError {
            source_name: name.clone(),
            offset: 0,
            kind: k.into(),
        };
        let data = std::fs::read(path).map_err(|e| err(&e.to_string()))?;
        Self::from_bytes(&name, data)
    }
    pub fn from_reader(
        name: &str,
        mut r: Box<dyn Read + Send>,
    ) -> Result<FileSource, CaptureError> {
        let mut data = Vec::new();
        r.read_to_end(&mut data).map_err(|e| CaptureError {
            source_name: name.into(),
            offset: 0,
            kind: e.to_string(),
        })?;
        Self::from_bytes(name, data)
    }
    fn from_bytes(name: &str, data: Vec<u8>) -> Result<FileSource, CaptureError> {
        if data.len() < 24 || data[0..4] != [0xd4, 0xc3, 0xb2, 0xa1] {
            return Err(CaptureError {
                source_name: name.into(),
                offset: 0,
                kind: "not a pcap".into(),
            });
        }
        let link = LinkType(u32::from_le_bytes([data[20], data[21], data[22], data[23]]));
        Ok(FileSource {
            data,
            pos: 24,
            link,
            name: name.into(),
            done: false,
        })
    }
    pub fn format(&self) -> CaptureFormat {
        CaptureFormat::Pcap {
            nanos: false,
            big_endian: false,
        }
    }
    pub fn bytes_read(&self) -> u64 {
        self.pos as u64
    }
    pub fn total_bytes(&self) -> Option<u64> {
        Some(self.data.len() as u64)
    }
    pub fn next_frame(&mut self) -> Option<Result<Frame<'_>, CaptureError>> {
        if self.done || self.pos == self.data.len() {
            return None;
        }
        let h = &self.data[self.pos..];
        if h.len() < 16 {
            self.done = true;
            return Some(Err(CaptureError {
                source_name: self.name.clone(),
                offset: self.pos as u64,
                kind: "truncated".into(),
            }));
        }
        let r = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let (s, us, cap, orig) = (r(0), r(4), r(8) as usize, r(12));
        if h.len() < 16 + cap {
            self.done = true;
            return Some(Err(CaptureError {
                source_name: self.name.clone(),
                offset: self.pos as u64,
                kind: "truncated".into(),
            }));
        }
        let start = self.pos + 16;
        self.pos = start + cap;
        Some(Ok(Frame {
            ts: Timestamp::from_secs_nanos(u64::from(s), u64::from(us) * 1000),
            link: self.link,
            data: &self.data[start..start + cap],
            orig_len: orig,
        }))
    }
}
