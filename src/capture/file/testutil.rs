//! Test helpers: tiny pcap and pcapng writers, and a reader that collects owned frames.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::{CaptureError, FileSource};
use crate::capture::LinkType;
use crate::model::Timestamp;
use std::io::Cursor;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedFrame {
    pub ts: Timestamp,
    pub link: LinkType,
    pub data: Vec<u8>,
    pub orig_len: u32,
}

/// Reads every frame of `bytes` (source name `test`), then the error that ended it, if any.
pub fn read_all(bytes: &[u8]) -> (Vec<OwnedFrame>, Option<CaptureError>) {
    read_from("test", Box::new(Cursor::new(bytes.to_vec())))
}

pub fn read_from(
    name: &str,
    r: Box<dyn std::io::Read + Send>,
) -> (Vec<OwnedFrame>, Option<CaptureError>) {
    read_from_ahead(name, r, None)
}

/// [`read_from`], read ahead on a thread in chunks of `(chunk, headroom)` bytes when given.
pub fn read_from_ahead(
    name: &str,
    r: Box<dyn std::io::Read + Send>,
    ahead: Option<(usize, usize)>,
) -> (Vec<OwnedFrame>, Option<CaptureError>) {
    let mut src = match FileSource::from_reader(name, r) {
        Ok(s) => s,
        Err(e) => return (Vec::new(), Some(e)),
    };
    if let Some((chunk, headroom)) = ahead {
        src.stream.read_ahead(chunk, headroom);
    }
    let mut frames = Vec::new();
    let mut err = None;
    while let Some(f) = src.next_frame() {
        match f {
            Ok(f) => frames.push(OwnedFrame {
                ts: f.ts,
                link: f.link,
                data: f.data.to_vec(),
                orig_len: f.orig_len,
            }),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    assert!(
        src.next_frame().is_none(),
        "a finished source stays finished"
    );
    (frames, err)
}

/// Writes classic pcap files.
#[derive(Clone, Debug)]
pub struct PcapWriter {
    pub big_endian: bool,
    pub nanos: bool,
    pub kuznetzov: bool,
    pub snaplen: u32,
    pub network: u32,
    pub version: (u16, u16),
}

impl Default for PcapWriter {
    fn default() -> Self {
        PcapWriter {
            big_endian: false,
            nanos: false,
            kuznetzov: false,
            snaplen: 65_535,
            network: 1,
            version: (2, 4),
        }
    }
}

impl PcapWriter {
    fn u16(&self, out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    fn u32(&self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    pub fn header(&self) -> Vec<u8> {
        let magic = match (self.kuznetzov, self.nanos) {
            (true, _) => 0xa1b2_cd34,
            (false, true) => 0xa1b2_3c4d,
            (false, false) => 0xa1b2_c3d4,
        };
        let mut out = Vec::new();
        self.u32(&mut out, magic);
        self.u16(&mut out, self.version.0);
        self.u16(&mut out, self.version.1);
        self.u32(&mut out, 0);
        self.u32(&mut out, 0);
        self.u32(&mut out, self.snaplen);
        self.u32(&mut out, self.network);
        out
    }

    pub fn record(&self, out: &mut Vec<u8>, secs: u32, frac: u32, data: &[u8], orig_len: u32) {
        self.u32(out, secs);
        self.u32(out, frac);
        self.u32(out, data.len() as u32);
        self.u32(out, orig_len);
        if self.kuznetzov {
            self.u32(out, 3); // ifindex
            self.u16(out, 0x0800); // protocol
            out.extend_from_slice(&[0, 0]); // pkt_type, pad
        }
        out.extend_from_slice(data);
    }

    /// A whole file of `(secs, fraction, data)` records with `orig_len == data.len()`.
    pub fn file(&self, packets: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut out = self.header();
        for (s, f, d) in packets {
            self.record(&mut out, *s, *f, d, d.len() as u32);
        }
        out
    }
}

/// Writes pcapng streams block by block; starts with a Section Header Block.
pub struct NgWriter {
    out: Vec<u8>,
    big: bool,
}

impl NgWriter {
    pub fn new(big: bool) -> Self {
        let mut w = NgWriter {
            out: Vec::new(),
            big,
        };
        w.section(big);
        w
    }

    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }

    fn u16(&self, out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    fn u32(&self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    /// Any block: header, body padded to 4, trailer.
    pub fn block(&mut self, block_type: u32, body: &[u8]) {
        let padded = body.len().next_multiple_of(4);
        let total = (12 + padded) as u32;
        let mut out = std::mem::take(&mut self.out);
        self.u32(&mut out, block_type);
        self.u32(&mut out, total);
        out.extend_from_slice(body);
        out.resize(out.len() + padded - body.len(), 0);
        self.u32(&mut out, total);
        self.out = out;
    }

    /// Starts a new section in the given byte order.
    pub fn section(&mut self, big: bool) {
        self.big = big;
        let mut body = Vec::new();
        self.u32(&mut body, 0x1a2b_3c4d);
        self.u16(&mut body, 1);
        self.u16(&mut body, 0);
        body.extend_from_slice(&[0xff; 8]); // section length unknown (-1)
        self.block(0x0a0d_0d0a, &body);
    }

    pub fn idb(&mut self, link: u16, snaplen: u32, options: &[(u16, Vec<u8>)]) {
        let mut body = Vec::new();
        self.u16(&mut body, link);
        self.u16(&mut body, 0);
        self.u32(&mut body, snaplen);
        if !options.is_empty() {
            for (code, value) in options {
                self.u16(&mut body, *code);
                self.u16(&mut body, value.len() as u16);
                body.extend_from_slice(value);
                body.resize(body.len().next_multiple_of(4), 0);
            }
            body.extend_from_slice(&[0; 4]);
        }
        self.block(1, &body);
    }

    pub fn epb(&mut self, iface: u32, ts: u64, data: &[u8], orig_len: u32) {
        let mut body = Vec::new();
        self.u32(&mut body, iface);
        self.u32(&mut body, (ts >> 32) as u32);
        self.u32(&mut body, ts as u32);
        self.u32(&mut body, data.len() as u32);
        self.u32(&mut body, orig_len);
        body.extend_from_slice(data);
        self.block(6, &body);
    }

    pub fn pb(&mut self, iface: u16, ts: u64, data: &[u8], orig_len: u32) {
        let mut body = Vec::new();
        self.u16(&mut body, iface);
        self.u16(&mut body, 0);
        self.u32(&mut body, (ts >> 32) as u32);
        self.u32(&mut body, ts as u32);
        self.u32(&mut body, data.len() as u32);
        self.u32(&mut body, orig_len);
        body.extend_from_slice(data);
        self.block(2, &body);
    }

    pub fn spb(&mut self, data: &[u8], orig_len: u32) {
        let mut body = Vec::new();
        self.u32(&mut body, orig_len);
        body.extend_from_slice(data);
        self.block(3, &body);
    }
}
