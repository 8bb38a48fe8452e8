//! The classic libpcap file format.
//!
//! References:
//! - draft-ietf-opsawg-pcap: <https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/>
//! - pcap-savefile(5): <https://www.tcpdump.org/manpages/pcap-savefile.5.html>
//! - Kuznetzov's modified format: libpcap `sf-pcap.c` (`KUZNETZOV_TCPDUMP_MAGIC`,
//!   `struct pcap_sf_patched_pkthdr`) and Wireshark `wiretap/libpcap.c`.

use super::RawFrame;
use super::endian::Endian;
use super::error::{At, CaptureErrorKind};
use super::stream::StreamBuf;
use crate::capture::LinkType;
use crate::model::Timestamp;

/// Magic numbers as read in the file's own byte order.
pub(super) const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
pub(super) const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// Alexey Kuznetzov's patched tcpdump: microseconds, 8 extra bytes per record header.
pub(super) const MAGIC_KUZNETZOV: u32 = 0xa1b2_cd34;

/// File header: magic, version (2+2), thiszone, sigfigs, snaplen, network.
pub(super) const FILE_HEADER_LEN: usize = 24;
/// Record header: ts_sec, ts_frac, caplen, orig_len.
const RECORD_HEADER_LEN: usize = 16;
/// Kuznetzov record header adds ifindex (4), protocol (2), pkt_type (1), pad (1).
const KUZNETZOV_RECORD_HEADER_LEN: usize = 24;

/// Largest captured length accepted whatever the header says: libpcap's
/// `MAXIMUM_SNAPLEN` (pcap-int.h). Larger values are corrupt files, not packets.
pub(super) const SANE_CAPLEN: u32 = 256 * 1024;
/// A header snaplen above [`SANE_CAPLEN`] raises the bound, up to this (USB and D-Bus
/// captures use such snaplens; nothing real goes beyond).
pub(super) const MAX_SNAPLEN: u32 = 16 * 1024 * 1024;

/// The link type occupies the low 16 bits of the header's `network` field; the upper bits
/// carry the FCS length (draft-ietf-opsawg-pcap §4, "LinkType and additional information").
const LINK_TYPE_MASK: u32 = 0xffff;

/// Writers before libpcap 2.3 put the original length before the captured length; 2.3
/// files may have either order. libpcap `sf-pcap.c` (`lengths_swapped`) and Wireshark
/// both undo this, so real files rely on it. Version 543 is a known buggy writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LengthOrder {
    Normal,
    Swapped,
    /// Swap only when the captured length would exceed the original length.
    MaybeSwapped,
}

impl LengthOrder {
    fn from_version(major: u16, minor: u16) -> Self {
        match (major, minor) {
            (2, 0..=2) | (543, _) => LengthOrder::Swapped,
            (2, 3) => LengthOrder::MaybeSwapped,
            _ => LengthOrder::Normal,
        }
    }

    /// (captured, original) from the record's third and fourth fields.
    fn apply(self, third: u32, fourth: u32) -> (u32, u32) {
        match self {
            LengthOrder::Normal => (third, fourth),
            LengthOrder::MaybeSwapped if third <= fourth => (third, fourth),
            LengthOrder::MaybeSwapped | LengthOrder::Swapped => (fourth, third),
        }
    }
}

#[derive(Debug)]
pub(super) struct PcapReader {
    endian: Endian,
    nanos: bool,
    link: LinkType,
    record_header_len: usize,
    max_caplen: u32,
    lengths: LengthOrder,
}

impl PcapReader {
    /// Recognises a pcap magic in the first four bytes: (byte order, nanoseconds,
    /// Kuznetzov).
    pub fn sniff(head: &[u8]) -> Option<(Endian, bool, bool)> {
        let le = Endian::Little.u32(head, 0);
        let be = Endian::Big.u32(head, 0);
        if head.len() < 4 {
            return None;
        }
        for (endian, magic) in [(Endian::Little, le), (Endian::Big, be)] {
            match magic {
                MAGIC_MICROS => return Some((endian, false, false)),
                MAGIC_NANOS => return Some((endian, true, false)),
                MAGIC_KUZNETZOV => return Some((endian, false, true)),
                _ => {}
            }
        }
        None
    }

    /// Reads the file header at the start of `stream`, whose magic [`sniff`](Self::sniff)
    /// recognised.
    pub fn open(
        stream: &mut StreamBuf,
        endian: Endian,
        nanos: bool,
        kuznetzov: bool,
    ) -> Result<Self, At> {
        let have = stream.fill(FILE_HEADER_LEN);
        if have < FILE_HEADER_LEN {
            if let Some(e) = stream.take_pending() {
                return Err(e);
            }
            return Err(At::new(
                0,
                CaptureErrorKind::NotACapture {
                    found: format!(
                        "pcap file header truncated ({have} of {FILE_HEADER_LEN} bytes)"
                    ),
                },
            ));
        }
        let h = stream.available();
        let lengths = LengthOrder::from_version(endian.u16(h, 4), endian.u16(h, 6));
        let snaplen = endian.u32(h, 16);
        let network = endian.u32(h, 20);
        stream.consume(FILE_HEADER_LEN);
        Ok(PcapReader {
            endian,
            nanos,
            link: LinkType(network & LINK_TYPE_MASK),
            record_header_len: if kuznetzov {
                KUZNETZOV_RECORD_HEADER_LEN
            } else {
                RECORD_HEADER_LEN
            },
            max_caplen: max_caplen(snaplen),
            lengths,
        })
    }

    pub fn big_endian(&self) -> bool {
        self.endian.is_big()
    }

    pub fn nanos(&self) -> bool {
        self.nanos
    }

    /// The next record, `Ok(None)` at a clean end of stream.
    pub fn next(&mut self, stream: &mut StreamBuf) -> Result<Option<RawFrame>, At> {
        let offset = stream.offset();
        let hl = self.record_header_len;
        let have = stream.fill(hl);
        if have < hl {
            stream.ran_out(offset, "record header", hl, have)?;
            return Ok(None);
        }
        // The first 16 bytes of every record header (24-byte headers append fields).
        let h = stream
            .available()
            .first_chunk::<16>()
            .map_or([0; 4], |h| self.endian.u32x4(h));
        let [secs, frac] = [h[0], h[1]];
        let (caplen, orig_len) = self.lengths.apply(h[2], h[3]);
        if caplen > self.max_caplen {
            return Err(At::new(
                offset,
                CaptureErrorKind::AbsurdLength {
                    what: "record captured length",
                    len: caplen.into(),
                    max: self.max_caplen.into(),
                },
            ));
        }
        // Bounded by max_caplen (≤ 16 MiB), so no overflow.
        let total = hl + caplen as usize;
        let have = stream.fill(total);
        if have < total {
            stream.ran_out(offset, "record", total, have)?;
            // Unreachable with have ≥ hl > 0, but a clean end is the harmless answer.
            return Ok(None);
        }
        let at = stream.consume(total);
        let nanos = if self.nanos {
            frac.into()
        } else {
            u64::from(frac) * 1_000
        };
        Ok(Some(RawFrame {
            ts: Timestamp::from_secs_nanos(secs.into(), nanos),
            link: self.link,
            start: at + hl,
            len: caplen as usize,
            orig_len,
        }))
    }
}

/// The captured-length bound: [`SANE_CAPLEN`], or the header's snaplen when that is larger
/// and at most [`MAX_SNAPLEN`].
fn max_caplen(snaplen: u32) -> u32 {
    if snaplen > SANE_CAPLEN && snaplen <= MAX_SNAPLEN {
        snaplen
    } else {
        SANE_CAPLEN
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::testutil::{PcapWriter, read_all, read_from};
    use super::*;
    use crate::capture::file::{CaptureFormat, FileSource};

    fn packets() -> Vec<(u32, u32, Vec<u8>)> {
        vec![
            (1_585_735_200, 123_456, vec![0xaa; 60]),
            (1_585_735_201, 999_999, vec![]),
            (1_585_735_202, 1, (0..=255).collect()),
        ]
    }

    #[test]
    fn reads_all_four_standard_magics() {
        for big_endian in [false, true] {
            for nanos in [false, true] {
                let w = PcapWriter {
                    big_endian,
                    nanos,
                    ..PcapWriter::default()
                };
                let bytes = w.file(&packets());
                let src = FileSource::from_reader(
                    "t.pcap",
                    Box::new(std::io::Cursor::new(bytes.clone())),
                );
                let src = src.expect("valid header");
                assert_eq!(src.format(), CaptureFormat::Pcap { nanos, big_endian });
                let (frames, err) = read_all(&bytes);
                assert!(err.is_none(), "{err:?}");
                assert_eq!(frames.len(), 3);
                let mult = if nanos { 1 } else { 1_000 };
                for (f, (s, frac, data)) in frames.iter().zip(packets()) {
                    assert_eq!(
                        f.ts,
                        Timestamp::from_secs_nanos(s.into(), u64::from(frac) * mult)
                    );
                    assert_eq!(f.link, LinkType::ETHERNET);
                    assert_eq!(f.data, data);
                    assert_eq!(f.orig_len as usize, data.len());
                }
            }
        }
    }

    #[test]
    fn reads_kuznetzov_records_in_both_orders() {
        for big_endian in [false, true] {
            let w = PcapWriter {
                big_endian,
                kuznetzov: true,
                ..PcapWriter::default()
            };
            let (frames, err) = read_all(&w.file(&packets()));
            assert!(err.is_none(), "{err:?}");
            assert_eq!(frames.len(), 3);
            assert_eq!(frames[2].data, (0..=255).collect::<Vec<u8>>());
            assert_eq!(
                frames[1].ts,
                Timestamp::from_secs_nanos(1_585_735_201, 999_999_000)
            );
        }
    }

    #[test]
    fn old_versions_have_swapped_lengths() {
        let record = |version: (u16, u16), caplen: u32, orig: u32| {
            let w = PcapWriter {
                version,
                ..PcapWriter::default()
            };
            let mut bytes = w.header();
            w.record(&mut bytes, 1, 2, &[7; 10], 0);
            bytes[32..36].copy_from_slice(&caplen.to_le_bytes());
            bytes[36..40].copy_from_slice(&orig.to_le_bytes());
            let (frames, err) = read_all(&bytes);
            assert!(err.is_none(), "{version:?}: {err:?}");
            (frames[0].data.len(), frames[0].orig_len)
        };
        assert_eq!(record((2, 0), 1500, 10), (10, 1500));
        assert_eq!(record((543, 0), 1500, 10), (10, 1500));
        assert_eq!(record((2, 3), 1500, 10), (10, 1500));
        assert_eq!(record((2, 3), 10, 1500), (10, 1500));
        assert_eq!(record((2, 4), 10, 1500), (10, 1500));
        assert_eq!(record((2, 4), 10, 5), (10, 5));
    }

    #[test]
    fn link_type_ignores_fcs_bits() {
        let w = PcapWriter {
            // FCS present (bit 28), 4 octets of FCS (bits 26–27 = 2), LINKTYPE_RAW.
            network: (1 << 28) | (2 << 26) | 101,
            ..PcapWriter::default()
        };
        let (frames, _) = read_all(&w.file(&packets()));
        assert_eq!(frames[0].link, LinkType::RAW);
    }

    #[test]
    fn caplen_above_orig_len_is_tolerated() {
        let w = PcapWriter::default();
        let mut bytes = w.header();
        w.record(&mut bytes, 1, 2, &[1, 2, 3, 4], 2);
        let (frames, err) = read_all(&bytes);
        assert!(err.is_none());
        assert_eq!(frames[0].data, [1, 2, 3, 4]);
        assert_eq!(frames[0].orig_len, 2);
    }

    #[test]
    fn absurd_caplen_is_an_error_at_the_record() {
        let w = PcapWriter::default();
        let mut bytes = w.file(&packets());
        let second = bytes.len();
        w.record(&mut bytes, 1, 2, &[0; 16], 16);
        // Patch the caplen of the last record beyond the bound.
        bytes[second + 8..second + 12].copy_from_slice(&(SANE_CAPLEN + 1).to_le_bytes());
        let (frames, err) = read_all(&bytes);
        assert_eq!(frames.len(), 3);
        let err = err.expect("error");
        assert_eq!(err.offset, second as u64);
        assert!(
            matches!(err.kind, CaptureErrorKind::AbsurdLength { len, max, .. }
            if len == u64::from(SANE_CAPLEN) + 1 && max == u64::from(SANE_CAPLEN))
        );
    }

    #[test]
    fn large_header_snaplen_raises_the_bound_and_grows_the_buffer() {
        let big = vec![0x5a; 3 * 1024 * 1024];
        let w = PcapWriter {
            snaplen: 4 * 1024 * 1024,
            ..PcapWriter::default()
        };
        let (frames, err) = read_all(&w.file(&[
            (1, 1, vec![1; 10]),
            (2, 2, big.clone()),
            (3, 3, vec![2; 10]),
        ]));
        assert!(err.is_none(), "{err:?}");
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[1].data, big);
        assert_eq!(frames[2].data, [2; 10]);
        // An insane snaplen does not lift the bound.
        assert_eq!(max_caplen(MAX_SNAPLEN + 1), SANE_CAPLEN);
        assert_eq!(max_caplen(65_535), SANE_CAPLEN);
        assert_eq!(max_caplen(MAX_SNAPLEN), MAX_SNAPLEN);
    }

    #[test]
    fn truncated_record_header_after_frames() {
        let w = PcapWriter::default();
        let mut bytes = w.header();
        bytes.extend_from_slice(&[0; 7]);
        let (frames, err) = read_from("broken.pcap", Box::new(std::io::Cursor::new(bytes)));
        assert!(frames.is_empty());
        let err = err.expect("error");
        assert_eq!(
            err.to_string(),
            "broken.pcap: byte 24: record header truncated (need 16 bytes, 7 left)"
        );
    }

    #[test]
    fn truncated_record_data_keeps_earlier_frames() {
        let w = PcapWriter {
            big_endian: true,
            ..PcapWriter::default()
        };
        let mut bytes = w.file(&packets());
        let last = bytes.len();
        w.record(&mut bytes, 9, 9, &[3; 100], 100);
        bytes.truncate(bytes.len() - 40);
        let (frames, err) = read_all(&bytes);
        assert_eq!(frames.len(), 3);
        let err = err.expect("error");
        assert_eq!(err.offset, last as u64);
        assert!(matches!(
            err.kind,
            CaptureErrorKind::Truncated {
                need: 116,
                left: 76,
                ..
            }
        ));
    }

    #[test]
    fn short_file_with_pcap_magic_is_not_a_capture() {
        let bytes = &PcapWriter::default().header()[..10];
        let err =
            FileSource::from_reader("s", Box::new(std::io::Cursor::new(bytes.to_vec()))).err();
        let err = err.expect("error");
        assert_eq!(err.offset, 0);
        assert!(matches!(err.kind, CaptureErrorKind::NotACapture { .. }));
        assert!(err.to_string().contains("10 of 24"), "{err}");
    }
}
