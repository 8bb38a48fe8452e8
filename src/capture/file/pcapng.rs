//! The pcapng file format: sections, interfaces and packet blocks.
//!
//! References:
//! - draft-ietf-opsawg-pcapng: <https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/>
//!   §3.1 block layout, §4.1 SHB, §4.2 IDB (`if_tsresol`, `if_tsoffset`), §4.3 EPB,
//!   §4.4 SPB, Appendix A obsolete Packet Block.
//! - Wireshark `wiretap/pcapng.c` for the limits real readers apply.

use super::RawFrame;
use super::endian::Endian;
use super::error::{At, CaptureErrorKind};
use super::stream::StreamBuf;
use crate::capture::LinkType;
use crate::model::Timestamp;

/// Block types (§11.1 of the draft).
pub(super) const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 0x0000_0001;
const PACKET_BLOCK_OBSOLETE: u32 = 0x0000_0002;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;

/// The SHB's byte-order magic, as written by the section's writer.
pub(super) const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
/// Block type, total length, byte-order magic: what must be read to know an SHB's order.
pub(super) const SHB_PREFIX_LEN: usize = 12;

/// Block type + total length + trailing total length (§3.1).
const BLOCK_OVERHEAD: usize = 12;
const BLOCK_HEADER_LEN: usize = 8;
/// Largest block accepted. Wireshark uses the same 16 MiB bound (`MAX_BLOCK_SIZE`);
/// larger lengths are corrupt files.
pub(super) const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;
/// Interfaces per section; each costs a block, this only stops a hostile stream from
/// growing the table without end.
const MAX_INTERFACES: usize = 1 << 16;

/// Fixed body sizes (§4).
const SHB_BODY_MIN: usize = 16; // byte-order magic, major, minor, section length
const IDB_BODY_MIN: usize = 8; // link type, reserved, snaplen
const EPB_BODY_MIN: usize = 20; // interface, ts high, ts low, caplen, orig len
const PB_BODY_MIN: usize = 20; // interface (16), drops (16), ts high, ts low, caplen, len
const SPB_BODY_MIN: usize = 4; // orig len

/// The only major version defined (§4.1); 1.0 and 1.2 both occur.
const SUPPORTED_MAJOR: u16 = 1;

/// IDB options (§4.2).
const OPT_ENDOFOPT: u16 = 0;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;
/// `if_tsresol`: the high bit selects a power of two, else a power of ten.
const TSRESOL_POW2: u8 = 0x80;
/// Microseconds, when `if_tsresol` is absent.
const DEFAULT_TSRESOL: u8 = 6;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// How an interface's timestamp units convert to nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TsUnit {
    /// Units of 10^-n s with n ≤ 9: a multiplication (the common µs and ns cases).
    NanosEach(u64),
    /// Any other resolution: units per second (saturated at `u128::MAX`).
    PerSecond(u128),
}

impl TsUnit {
    fn from_tsresol(r: u8) -> TsUnit {
        let exp = u32::from(r & !TSRESOL_POW2);
        if r & TSRESOL_POW2 != 0 {
            // exp ≤ 127, so the shift is in range.
            return TsUnit::PerSecond(1u128 << exp);
        }
        if exp <= 9 {
            TsUnit::NanosEach(10u64.pow(9 - exp))
        } else {
            TsUnit::PerSecond(10u128.checked_pow(exp).unwrap_or(u128::MAX))
        }
    }

    fn nanos(self, ts: u64) -> u64 {
        match self {
            TsUnit::NanosEach(m) => ts.saturating_mul(m),
            TsUnit::PerSecond(p) => {
                let ns = u128::from(ts) * u128::from(NANOS_PER_SEC) / p.max(1);
                u64::try_from(ns).unwrap_or(u64::MAX)
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    unit: TsUnit,
    /// `if_tsoffset` in seconds, already in nanoseconds.
    offset_ns: i128,
}

impl Interface {
    fn timestamp(&self, high: u32, low: u32) -> Timestamp {
        let ns = self.unit.nanos((u64::from(high) << 32) | u64::from(low));
        if self.offset_ns == 0 {
            return Timestamp(ns);
        }
        let shifted = i128::from(ns) + self.offset_ns;
        Timestamp(u64::try_from(shifted.max(0)).unwrap_or(u64::MAX))
    }
}

#[derive(Debug)]
pub(super) struct PcapNgReader {
    endian: Endian,
    interfaces: Vec<Interface>,
    /// Simple Packet Blocks carry no timestamp; they get the last one seen.
    last_ts: Timestamp,
}

impl PcapNgReader {
    /// Reads the first Section Header Block. The caller checked the block type and the
    /// byte-order magic; a file too short for the SHB is not a capture.
    pub fn open(stream: &mut StreamBuf) -> Result<Self, At> {
        let mut reader = PcapNgReader {
            endian: Endian::Little,
            interfaces: Vec::new(),
            last_ts: Timestamp(0),
        };
        match reader.block(stream) {
            Ok(Block::Other) => Ok(reader),
            Ok(_) => Err(At::new(
                0,
                CaptureErrorKind::NotACapture {
                    found: "pcapng file without a section header".to_owned(),
                },
            )),
            Err(At {
                kind: CaptureErrorKind::Truncated { need, left, .. },
                ..
            }) => Err(At::new(
                0,
                CaptureErrorKind::NotACapture {
                    found: format!("pcapng section header truncated ({left} of {need} bytes)"),
                },
            )),
            Err(e) => Err(e),
        }
    }

    /// The next packet, skipping non-packet blocks; `Ok(None)` at a clean end.
    pub fn next(&mut self, stream: &mut StreamBuf) -> Result<Option<RawFrame>, At> {
        loop {
            match self.block(stream)? {
                Block::Packet(frame) => return Ok(Some(frame)),
                Block::Other => {}
                Block::End => return Ok(None),
            }
        }
    }

    /// Reads one block.
    fn block(&mut self, stream: &mut StreamBuf) -> Result<Block, At> {
        let offset = stream.offset();
        let have = stream.fill(BLOCK_HEADER_LEN);
        if have < BLOCK_HEADER_LEN {
            stream.ran_out(offset, "block header", BLOCK_HEADER_LEN, have)?;
            return Ok(Block::End);
        }
        // The SHB type is a palindrome, so it reads the same in either order.
        let block_type = self.endian.u32(stream.available(), 0);
        if block_type == SHB {
            let have = stream.fill(SHB_PREFIX_LEN);
            if have < SHB_PREFIX_LEN {
                stream.ran_out(offset, "section header block", SHB_PREFIX_LEN, have)?;
                return Ok(Block::End);
            }
            self.endian = section_endian(stream.available()).ok_or_else(|| {
                bad(
                    offset,
                    "section header",
                    "byte-order magic is not 1a2b3c4d".into(),
                )
            })?;
        }
        let total = self.endian.u32(stream.available(), 4);
        check_block_len(offset, total)?;
        let total = total as usize;
        let have = stream.fill(total);
        if have < total {
            stream.ran_out(offset, "block", total, have)?;
            return Ok(Block::End);
        }
        let block = stream.available().get(..total).unwrap_or_default();
        let trailer = self.endian.u32(block, total - 4);
        if trailer as usize != total {
            return Err(bad(
                offset,
                block_name(block_type),
                format!("trailing length {trailer} differs from leading length {total}"),
            ));
        }
        let body = block.get(BLOCK_HEADER_LEN..total - 4).unwrap_or_default();
        let frame = match block_type {
            SHB => {
                self.section(offset, body)?;
                None
            }
            IDB => {
                self.interface(offset, body)?;
                None
            }
            EPB => Some(self.enhanced_packet(offset, body)?),
            SPB => Some(self.simple_packet(offset, body)?),
            PACKET_BLOCK_OBSOLETE => Some(self.obsolete_packet(offset, body)?),
            // NRB, ISB, DSB, custom and unknown blocks carry no packets.
            _ => None,
        };
        let at = stream.consume(total);
        let Some((data_at, len, ts, link, orig_len)) = frame else {
            return Ok(Block::Other);
        };
        self.last_ts = ts;
        Ok(Block::Packet(RawFrame {
            ts,
            link,
            start: at + BLOCK_HEADER_LEN + data_at,
            len,
            orig_len,
        }))
    }

    fn section(&mut self, offset: u64, body: &[u8]) -> Result<(), At> {
        if body.len() < SHB_BODY_MIN {
            return Err(too_short(
                offset,
                "section header",
                body.len(),
                SHB_BODY_MIN,
            ));
        }
        let major = self.endian.u16(body, 4);
        let minor = self.endian.u16(body, 6);
        if major != SUPPORTED_MAJOR {
            return Err(bad(
                offset,
                "section header",
                format!("unsupported version {major}.{minor}"),
            ));
        }
        self.interfaces.clear();
        Ok(())
    }

    fn interface(&mut self, offset: u64, body: &[u8]) -> Result<(), At> {
        if body.len() < IDB_BODY_MIN {
            return Err(too_short(
                offset,
                "interface description",
                body.len(),
                IDB_BODY_MIN,
            ));
        }
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(bad(
                offset,
                "interface description",
                format!("more than {MAX_INTERFACES} interfaces"),
            ));
        }
        let mut iface = Interface {
            link: LinkType(self.endian.u16(body, 0).into()),
            snaplen: self.endian.u32(body, 4),
            unit: TsUnit::from_tsresol(DEFAULT_TSRESOL),
            offset_ns: 0,
        };
        for (code, value) in Options::new(self.endian, body.get(IDB_BODY_MIN..).unwrap_or_default())
        {
            match (code, value) {
                (IF_TSRESOL, [r]) => iface.unit = TsUnit::from_tsresol(*r),
                (IF_TSOFFSET, v) if v.len() == 8 => {
                    iface.offset_ns = i128::from(self.endian.i64(v, 0)) * i128::from(NANOS_PER_SEC);
                }
                _ => {}
            }
        }
        self.interfaces.push(iface);
        Ok(())
    }

    fn iface(&self, id: u32) -> Result<&Interface, CaptureErrorKind> {
        self.interfaces
            .get(id as usize)
            .ok_or(CaptureErrorKind::UnknownInterface {
                id,
                count: self.interfaces.len(),
            })
    }

    fn enhanced_packet(&self, offset: u64, body: &[u8]) -> Result<Packet, At> {
        if body.len() < EPB_BODY_MIN {
            return Err(too_short(
                offset,
                "enhanced packet",
                body.len(),
                EPB_BODY_MIN,
            ));
        }
        let e = self.endian;
        let iface = self.iface(e.u32(body, 0)).map_err(|k| At::new(offset, k))?;
        let caplen = captured_len(
            offset,
            "enhanced packet",
            e.u32(body, 12),
            body.len() - EPB_BODY_MIN,
        )?;
        let ts = iface.timestamp(e.u32(body, 4), e.u32(body, 8));
        Ok((EPB_BODY_MIN, caplen, ts, iface.link, e.u32(body, 16)))
    }

    fn obsolete_packet(&self, offset: u64, body: &[u8]) -> Result<Packet, At> {
        if body.len() < PB_BODY_MIN {
            return Err(too_short(offset, "packet", body.len(), PB_BODY_MIN));
        }
        let e = self.endian;
        let iface = self
            .iface(e.u16(body, 0).into())
            .map_err(|k| At::new(offset, k))?;
        let caplen = captured_len(offset, "packet", e.u32(body, 12), body.len() - PB_BODY_MIN)?;
        let ts = iface.timestamp(e.u32(body, 4), e.u32(body, 8));
        Ok((PB_BODY_MIN, caplen, ts, iface.link, e.u32(body, 16)))
    }

    fn simple_packet(&self, offset: u64, body: &[u8]) -> Result<Packet, At> {
        if body.len() < SPB_BODY_MIN {
            return Err(too_short(offset, "simple packet", body.len(), SPB_BODY_MIN));
        }
        let iface = self.iface(0).map_err(|k| At::new(offset, k))?;
        let orig_len = self.endian.u32(body, 0);
        // §4.4: the captured length is the original length cut by the snaplen; the data
        // field is padded, so the block length alone cannot tell it.
        let mut caplen = (orig_len as usize).min(body.len() - SPB_BODY_MIN);
        if iface.snaplen != 0 {
            caplen = caplen.min(iface.snaplen as usize);
        }
        Ok((SPB_BODY_MIN, caplen, self.last_ts, iface.link, orig_len))
    }
}

/// What one block was.
enum Block {
    Packet(RawFrame),
    /// A section, interface or skipped block.
    Other,
    /// Clean end of stream.
    End,
}

/// (data offset in the body, captured length, timestamp, link type, original length).
type Packet = (usize, usize, Timestamp, LinkType, u32);

/// The byte order announced by an SHB's byte-order magic (bytes 8..12 of the block).
pub(super) fn section_endian(block: &[u8]) -> Option<Endian> {
    if Endian::Little.u32(block, 8) == BYTE_ORDER_MAGIC {
        Some(Endian::Little)
    } else if Endian::Big.u32(block, 8) == BYTE_ORDER_MAGIC {
        Some(Endian::Big)
    } else {
        None
    }
}

fn check_block_len(offset: u64, total: u32) -> Result<(), At> {
    if total > MAX_BLOCK_LEN {
        return Err(At::new(
            offset,
            CaptureErrorKind::AbsurdLength {
                what: "block total length",
                len: total.into(),
                max: MAX_BLOCK_LEN.into(),
            },
        ));
    }
    if (total as usize) < BLOCK_OVERHEAD || !total.is_multiple_of(4) {
        return Err(bad(
            offset,
            "any",
            format!("total length {total} is not a multiple of 4 of at least {BLOCK_OVERHEAD}"),
        ));
    }
    Ok(())
}

fn captured_len(offset: u64, block: &'static str, caplen: u32, room: usize) -> Result<usize, At> {
    if caplen as usize > room {
        return Err(bad(
            offset,
            block,
            format!("captured length {caplen} exceeds the {room} bytes of packet data"),
        ));
    }
    Ok(caplen as usize)
}

fn block_name(block_type: u32) -> &'static str {
    match block_type {
        SHB => "section header",
        IDB => "interface description",
        PACKET_BLOCK_OBSOLETE => "packet",
        SPB => "simple packet",
        EPB => "enhanced packet",
        _ => "other",
    }
}

fn bad(offset: u64, block: &'static str, reason: String) -> At {
    At::new(offset, CaptureErrorKind::BadBlock { block, reason })
}

fn too_short(offset: u64, block: &'static str, body: usize, min: usize) -> At {
    bad(
        offset,
        block,
        format!("body of {body} bytes, needs at least {min}"),
    )
}

/// Iterates `(code, value)` over a block's options (§3.5); stops at `opt_endofopt` or at
/// the first option that does not fit, since nothing after it can be trusted.
struct Options<'a> {
    endian: Endian,
    rest: &'a [u8],
}

impl<'a> Options<'a> {
    fn new(endian: Endian, rest: &'a [u8]) -> Self {
        Options { endian, rest }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let code = self.endian.u16(self.rest, 0);
        let len = usize::from(self.endian.u16(self.rest, 2));
        if self.rest.len() < 4 || code == OPT_ENDOFOPT {
            return None;
        }
        let value = self.rest.get(4..4 + len)?;
        let padded = 4 + len.next_multiple_of(4);
        self.rest = self.rest.get(padded..).unwrap_or_default();
        Some((code, value))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::testutil::{NgWriter, read_all};
    use super::*;
    use crate::capture::file::{CaptureFormat, FileSource};
    use std::io::Cursor;

    const T0: u64 = 1_585_735_200_123_456;

    #[test]
    fn reads_epbs_in_both_orders_with_default_microseconds() {
        for big in [false, true] {
            let mut w = NgWriter::new(big);
            w.idb(1, 0, &[]);
            w.epb(0, T0, &[1, 2, 3], 60);
            w.epb(0, T0 + 1, &[4; 64], 64);
            let bytes = w.finish();
            let src = FileSource::from_reader("t", Box::new(Cursor::new(bytes.clone()))).unwrap();
            assert_eq!(src.format(), CaptureFormat::PcapNg);
            let (frames, err) = read_all(&bytes);
            assert!(err.is_none(), "{err:?}");
            assert_eq!(frames.len(), 2);
            assert_eq!(frames[0].ts, Timestamp(T0 * 1_000));
            assert_eq!(frames[0].data, [1, 2, 3]);
            assert_eq!(frames[0].orig_len, 60);
            assert_eq!(frames[0].link, LinkType::ETHERNET);
            assert_eq!(frames[1].data, [4; 64]);
        }
    }

    #[test]
    fn tsresol_and_tsoffset_convert_to_nanoseconds() {
        let cases: [(u8, u64, u64); 6] = [
            (9, 1_500_000_000, 1_500_000_000),
            (3, 1_500, 1_500_000_000),
            (0, 2, 2_000_000_000),
            (12, 1_500_000_000_000, 1_500_000_000),
            (0x80 | 20, 3 << 20, 3_000_000_000),
            (0x80 | 1, 3, 1_500_000_000),
        ];
        for (resol, ts, want) in cases {
            let mut w = NgWriter::new(false);
            w.idb(101, 0, &[(IF_TSRESOL, vec![resol])]);
            w.epb(0, ts, &[0x45], 1);
            let (frames, err) = read_all(&w.finish());
            assert!(err.is_none());
            assert_eq!(frames[0].ts, Timestamp(want), "tsresol {resol:#x}");
            assert_eq!(frames[0].link, LinkType::RAW);
        }
        // Absurd resolutions do not panic: 10^-127 s units are all zero nanoseconds.
        assert_eq!(TsUnit::from_tsresol(127).nanos(u64::MAX), 0);
        assert_eq!(TsUnit::from_tsresol(0x80 | 127).nanos(u64::MAX), 0);
        let mut w = NgWriter::new(true);
        w.idb(1, 0, &[(IF_TSOFFSET, 100i64.to_be_bytes().to_vec())]);
        w.idb(1, 0, &[(IF_TSOFFSET, (-100i64).to_be_bytes().to_vec())]);
        w.epb(0, 5, &[], 0);
        w.epb(1, 5, &[], 0);
        let (frames, _) = read_all(&w.finish());
        assert_eq!(frames[0].ts, Timestamp(100_000_005_000));
        assert_eq!(frames[1].ts, Timestamp(0));
    }

    #[test]
    fn sections_reset_interfaces_and_may_switch_byte_order() {
        let mut w = NgWriter::new(false);
        w.idb(1, 0, &[]);
        w.idb(113, 0, &[]);
        w.epb(1, 1, &[1], 1);
        w.section(true);
        w.idb(101, 0, &[]);
        w.epb(0, 2, &[2], 1);
        let bad_at = w.len();
        w.epb(1, 3, &[3], 1);
        let (frames, err) = read_all(&w.finish());
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].link, LinkType::LINUX_SLL);
        assert_eq!(frames[1].link, LinkType::RAW);
        let err = err.unwrap();
        assert_eq!(err.offset, bad_at as u64);
        assert!(matches!(
            err.kind,
            CaptureErrorKind::UnknownInterface { id: 1, count: 1 }
        ));
    }

    #[test]
    fn later_section_without_byte_order_magic_is_a_bad_block() {
        let mut w = NgWriter::new(false);
        w.idb(1, 0, &[]);
        let at = w.len();
        w.section(false);
        let mut bytes = w.finish();
        bytes[at + 8] = 0;
        let err = read_all(&bytes).1.unwrap();
        assert_eq!(err.offset, at as u64);
        assert!(err.to_string().contains("byte-order magic"), "{err}");
    }

    #[test]
    fn simple_packets_use_interface_zero_and_the_last_timestamp() {
        let mut w = NgWriter::new(true);
        w.idb(1, 4, &[]);
        w.epb(0, 7, &[9; 4], 4);
        w.spb(&[1, 2, 3, 4, 5, 6], 6);
        w.spb(&[1, 2], 2);
        let (frames, err) = read_all(&w.finish());
        assert!(err.is_none());
        assert_eq!(frames[1].ts, Timestamp(7_000));
        assert_eq!(frames[1].data, [1, 2, 3, 4], "cut by the snaplen");
        assert_eq!(frames[1].orig_len, 6);
        assert_eq!(frames[2].data, [1, 2], "padding is not data");
    }

    #[test]
    fn simple_packet_without_interface_is_an_error() {
        let mut w = NgWriter::new(false);
        w.spb(&[1], 1);
        let (frames, err) = read_all(&w.finish());
        assert!(frames.is_empty());
        assert!(matches!(
            err.unwrap().kind,
            CaptureErrorKind::UnknownInterface { id: 0, count: 0 }
        ));
    }

    #[test]
    fn obsolete_packet_blocks_are_read() {
        let mut w = NgWriter::new(false);
        w.idb(1, 0, &[]);
        w.idb(228, 0, &[]);
        w.pb(1, 42, &[0x45, 0], 20);
        let (frames, err) = read_all(&w.finish());
        assert!(err.is_none());
        assert_eq!(frames[0].link, LinkType::IPV4);
        assert_eq!(frames[0].ts, Timestamp(42_000));
        assert_eq!(frames[0].data, [0x45, 0]);
        assert_eq!(frames[0].orig_len, 20);
    }

    #[test]
    fn other_blocks_are_skipped() {
        let mut w = NgWriter::new(false);
        w.idb(1, 0, &[]);
        for block_type in [4, 5, 0x0a, 0xbad, 0x4000_0bad, 0x8000_0001] {
            w.block(block_type, &[1, 2, 3, 4, 5, 6, 7, 8]);
        }
        w.block(5, &[]);
        w.epb(0, 1, &[1], 1);
        let (frames, err) = read_all(&w.finish());
        assert!(err.is_none());
        assert_eq!(frames.len(), 1);
    }

    fn patched(patch: impl Fn(&mut Vec<u8>, usize)) -> (usize, Vec<u8>) {
        let mut w = NgWriter::new(false);
        w.idb(1, 0, &[]);
        w.epb(0, 1, &[1], 1);
        let at = w.len();
        w.epb(0, 2, &[2; 8], 8);
        w.epb(0, 3, &[3], 1);
        let mut bytes = w.finish();
        patch(&mut bytes, at);
        (at, bytes)
    }

    #[test]
    fn bad_block_lengths_are_errors_at_the_block() {
        let set_len = |v: u32| {
            move |b: &mut Vec<u8>, at: usize| b[at + 4..at + 8].copy_from_slice(&v.to_le_bytes())
        };
        for len in [0, 8, 13, 42, 44] {
            let (at, bytes) = patched(set_len(len));
            let (frames, err) = read_all(&bytes);
            assert_eq!(frames.len(), 1);
            let err = err.unwrap();
            assert_eq!(err.offset, at as u64);
            assert!(
                matches!(err.kind, CaptureErrorKind::BadBlock { .. }),
                "{len}: {err}"
            );
        }
        let (at, bytes) = patched(set_len(MAX_BLOCK_LEN + 4));
        let (_, err) = read_all(&bytes);
        let err = err.unwrap();
        assert_eq!(err.offset, at as u64);
        assert!(matches!(err.kind, CaptureErrorKind::AbsurdLength { .. }));
        // Trailing copy differs.
        let (at, bytes) = patched(|b, at| b[at + 36] ^= 4);
        let err = read_all(&bytes).1.unwrap();
        assert_eq!(err.offset, at as u64);
        assert!(err.to_string().contains("trailing length"), "{err}");
        // Captured length beyond the block.
        let (at, bytes) = patched(|b, at| b[at + 20] = 13);
        let err = read_all(&bytes).1.unwrap();
        assert_eq!(err.offset, at as u64);
        assert!(err.to_string().contains("captured length 13"), "{err}");
    }

    #[test]
    fn truncated_block_keeps_earlier_frames() {
        let (at, mut bytes) = patched(|_, _| {});
        bytes.truncate(at + 30);
        let (frames, err) = read_all(&bytes);
        assert_eq!(frames.len(), 1);
        let err = err.unwrap();
        assert_eq!(err.offset, at as u64);
        assert!(matches!(
            err.kind,
            CaptureErrorKind::Truncated {
                need: 40,
                left: 30,
                ..
            }
        ));
        bytes.truncate(at + 5);
        let err = read_all(&bytes).1.unwrap();
        assert!(matches!(
            err.kind,
            CaptureErrorKind::Truncated {
                need: 8,
                left: 5,
                ..
            }
        ));
    }

    #[test]
    fn first_section_must_be_whole_and_well_formed() {
        let bytes = NgWriter::new(false).finish();
        let short = FileSource::from_reader("s", Box::new(Cursor::new(bytes[..20].to_vec())))
            .err()
            .unwrap();
        assert_eq!(short.offset, 0);
        assert!(
            matches!(short.kind, CaptureErrorKind::NotACapture { .. }),
            "{short}"
        );
        let mut no_bom = bytes.clone();
        no_bom[8] = 0;
        let err = FileSource::from_reader("s", Box::new(Cursor::new(no_bom)))
            .err()
            .unwrap();
        assert!(
            matches!(err.kind, CaptureErrorKind::NotACapture { .. }),
            "{err}"
        );
        let mut v2 = bytes;
        v2[12] = 2;
        let err = FileSource::from_reader("s", Box::new(Cursor::new(v2)))
            .err()
            .unwrap();
        assert!(err.to_string().contains("unsupported version 2.0"), "{err}");
    }

    #[test]
    fn large_blocks_grow_the_buffer() {
        let big = vec![0x77; 5 * 1024 * 1024 + 3];
        let mut w = NgWriter::new(false);
        w.idb(1, 0, &[]);
        w.epb(0, 1, &[1], 1);
        w.epb(0, 2, &big, big.len() as u32);
        w.epb(0, 3, &[3], 1);
        let (frames, err) = read_all(&w.finish());
        assert!(err.is_none(), "{err:?}");
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[1].data, big);
        assert_eq!(frames[2].data, [3]);
    }

    #[test]
    fn options_stop_at_end_or_garbage() {
        let e = Endian::Little;
        let opts = [9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0, 14, 0, 8, 0];
        let got: Vec<_> = Options::new(e, &opts).collect();
        assert_eq!(got, vec![(9, &[9u8][..])]);
        let overlong = [9, 0, 200, 0, 1, 2];
        assert_eq!(Options::new(e, &overlong).count(), 0);
    }
}
