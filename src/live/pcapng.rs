//! A minimal pcapng writer for `live --write`: one section, one interface, Enhanced Packet
//! Blocks with microsecond timestamps (the if_tsresol default).
//!
//! References: draft-ietf-opsawg-pcapng (§4.1 Section Header Block, §4.2 Interface
//! Description Block, §4.3 Enhanced Packet Block), <https://www.tcpdump.org/linktypes.html>.

use crate::capture::LinkType;
use crate::model::Timestamp;
use std::io::{self, Write};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// Writes frames as pcapng in host byte order (readers check the byte-order magic).
pub struct PcapngWriter<W: Write> {
    out: W,
    frames: u64,
}

fn padding(len: usize) -> usize {
    (4 - len % 4) % 4
}

impl<W: Write> PcapngWriter<W> {
    /// Write the section header and the one interface description.
    pub fn new(mut out: W, link: LinkType, snaplen: u32) -> io::Result<Self> {
        // SHB: type, length, magic, version 1.0, section length unknown (-1), length.
        let mut shb = Vec::with_capacity(28);
        shb.extend_from_slice(&SHB.to_ne_bytes());
        shb.extend_from_slice(&28u32.to_ne_bytes());
        shb.extend_from_slice(&BYTE_ORDER_MAGIC.to_ne_bytes());
        shb.extend_from_slice(&1u16.to_ne_bytes());
        shb.extend_from_slice(&0u16.to_ne_bytes());
        shb.extend_from_slice(&(-1i64).to_ne_bytes());
        shb.extend_from_slice(&28u32.to_ne_bytes());
        out.write_all(&shb)?;
        // IDB: link type (16 bits), reserved, snaplen; no options.
        let mut idb = Vec::with_capacity(20);
        idb.extend_from_slice(&IDB.to_ne_bytes());
        idb.extend_from_slice(&20u32.to_ne_bytes());
        idb.extend_from_slice(&(link.0 as u16).to_ne_bytes());
        idb.extend_from_slice(&0u16.to_ne_bytes());
        idb.extend_from_slice(&snaplen.to_ne_bytes());
        idb.extend_from_slice(&20u32.to_ne_bytes());
        out.write_all(&idb)?;
        Ok(PcapngWriter { out, frames: 0 })
    }

    /// Append one frame.
    pub fn frame(&mut self, ts: Timestamp, data: &[u8], orig_len: u32) -> io::Result<()> {
        let pad = padding(data.len());
        let total = 32 + data.len() + pad;
        let total = u32::try_from(total)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
        let micros = ts.0 / 1_000;
        let caplen = data.len() as u32;
        let mut head = [0u8; 28];
        head[0..4].copy_from_slice(&EPB.to_ne_bytes());
        head[4..8].copy_from_slice(&total.to_ne_bytes());
        head[8..12].copy_from_slice(&0u32.to_ne_bytes()); // interface 0
        head[12..16].copy_from_slice(&((micros >> 32) as u32).to_ne_bytes());
        head[16..20].copy_from_slice(&(micros as u32).to_ne_bytes());
        head[20..24].copy_from_slice(&caplen.to_ne_bytes());
        head[24..28].copy_from_slice(&orig_len.to_ne_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(data)?;
        self.out.write_all(&[0u8; 3][..pad])?;
        self.out.write_all(&total.to_ne_bytes())?;
        self.frames += 1;
        Ok(())
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::FileSource;

    #[test]
    fn written_file_reads_back() {
        let dir = std::env::temp_dir().join(format!("leakscope-pcapng-{}", std::process::id()));
        let path = dir.with_extension("pcapng");
        {
            let file = std::fs::File::create(&path).map(io::BufWriter::new);
            let Ok(file) = file else { return };
            let mut w = match PcapngWriter::new(file, LinkType::ETHERNET, 262_144) {
                Ok(w) => w,
                Err(e) => panic!("{e}"),
            };
            let ts = Timestamp::from_secs_nanos(1_700_000_000, 123_456_000);
            assert!(w.frame(ts, &[1, 2, 3, 4, 5], 60).is_ok());
            assert!(w.frame(ts, &[9; 8], 8).is_ok());
            assert!(w.flush().is_ok());
            assert_eq!(w.frames(), 2);
        }
        let mut src = match FileSource::open(&path) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let mut got = Vec::new();
        while let Some(Ok(f)) = src.next_frame() {
            got.push((f.ts, f.link, f.data.to_vec(), f.orig_len));
        }
        let _ = std::fs::remove_file(&path);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].0,
            Timestamp::from_secs_nanos(1_700_000_000, 123_456_000)
        );
        assert_eq!(got[0].1, LinkType::ETHERNET);
        assert_eq!(got[0].2, [1, 2, 3, 4, 5]);
        assert_eq!(got[0].3, 60);
        assert_eq!(got[1].2, [9; 8]);
    }
}
