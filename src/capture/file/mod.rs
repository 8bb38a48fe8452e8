//! Capture files: pcap (µs and ns, both byte orders, Kuznetzov's variant), pcapng, gzip,
//! stdin.
//!
//! [`FileSource`] reads the stream in large chunks into one reusable buffer and hands out
//! frames borrowed from it, so a packet costs neither an allocation nor a syscall.
//!
//! References:
//! - pcap: <https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/>
//! - pcapng: <https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/>
//! - gzip: RFC 1952 §2.3.1 (magic `1f 8b`; members may be concatenated)

mod endian;
mod error;
mod pcap;
mod pcapng;
mod read_ahead;
mod stream;
#[cfg(test)]
mod testutil;

pub use error::{CaptureError, CaptureErrorKind};

use super::{Frame, LinkType};
use crate::model::Timestamp;
use endian::Endian;
use error::At;
use pcap::PcapReader;
use pcapng::PcapNgReader;
use std::io::Read;
use std::path::Path;
use stream::StreamBuf;

/// gzip member magic (RFC 1952 §2.3.1).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Enough to recognise every supported magic.
const MAGIC_LEN: usize = 4;
/// The name used in errors for `-`.
const STDIN_NAME: &str = "stdin";
/// Files smaller than this (on disk) are read in place: a thread started and handed the file
/// for each costs more than it saves (a folder of 531 small captures took 2.2× as long on an
/// idle machine, 7× on a busy one).
const READ_AHEAD_MIN_BYTES: u64 = 4 << 20;

/// The container format of a capture (after any gzip layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap {
        nanos: bool,
        big_endian: bool,
    },
    /// pcapng; sections may differ in byte order, so none is reported.
    PcapNg,
}

/// A packet located in the stream buffer, before it is borrowed as a [`Frame`].
#[derive(Clone, Copy, Debug)]
struct RawFrame {
    ts: Timestamp,
    link: LinkType,
    /// Position in the stream buffer.
    start: usize,
    len: usize,
    orig_len: u32,
}

#[derive(Debug)]
enum Format {
    Pcap(PcapReader),
    PcapNg(PcapNgReader),
}

/// A capture file or stream, read frame by frame.
pub struct FileSource {
    name: String,
    stream: StreamBuf,
    format: Format,
    /// The size of the file on disk (compressed or not); `None` for streams.
    file_len: Option<u64>,
    done: bool,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("name", &self.name)
            .field("format", &self.format())
            .field("bytes_read", &self.bytes_read())
            .field("total_bytes", &self.total_bytes())
            .field("done", &self.done)
            .finish()
    }
}

impl FileSource {
    /// Opens a capture file; `-` means stdin. Detects gzip (then reads through a
    /// multi-member decoder), pcap (all magics, both byte orders) and pcapng.
    pub fn open(path: &Path) -> Result<FileSource, CaptureError> {
        if path.as_os_str() == "-" {
            return Self::build(STDIN_NAME, Box::new(std::io::stdin()), None);
        }
        let name = path.display().to_string();
        let io_err = |e| At::new(0, CaptureErrorKind::Io(e)).named(&name);
        let file = std::fs::File::open(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        let total = meta.is_file().then_some(meta.len());
        Self::build(&name, Box::new(file), total)
    }

    /// Reads a capture from any byte stream; `source_name` appears in errors.
    pub fn from_reader(
        source_name: &str,
        r: Box<dyn Read + Send>,
    ) -> Result<FileSource, CaptureError> {
        Self::build(source_name, r, None)
    }

    fn build(
        name: &str,
        r: Box<dyn Read + Send>,
        file_len: Option<u64>,
    ) -> Result<FileSource, CaptureError> {
        let mut stream = StreamBuf::new(r);
        stream.fill(MAGIC_LEN);
        if stream.available().starts_with(&GZIP_MAGIC) {
            stream = stream.into_gzip();
            stream.fill(MAGIC_LEN);
        }
        let format = Self::detect(&mut stream).map_err(|e| e.named(name))?;
        Ok(FileSource {
            name: name.to_owned(),
            stream,
            format,
            file_len,
            done: false,
        })
    }

    fn detect(stream: &mut StreamBuf) -> Result<Format, At> {
        let head = stream.available();
        if let Some((endian, nanos, kuznetzov)) = PcapReader::sniff(head) {
            return PcapReader::open(stream, endian, nanos, kuznetzov).map(Format::Pcap);
        }
        if Endian::Little.u32(head, 0) == pcapng::SHB {
            let have = stream.fill(pcapng::SHB_PREFIX_LEN);
            if let Some(e) = stream.take_pending() {
                return Err(e);
            }
            if pcapng::section_endian(stream.available()).is_none() {
                let found = if have < pcapng::SHB_PREFIX_LEN {
                    format!("pcapng section header truncated ({have} bytes)")
                } else {
                    "pcapng block type without the byte-order magic 1a2b3c4d".to_owned()
                };
                return Err(At::new(0, CaptureErrorKind::NotACapture { found }));
            }
            return PcapNgReader::open(stream).map(Format::PcapNg);
        }
        if let Some(e) = stream.take_pending() {
            return Err(e);
        }
        Err(At::new(
            0,
            CaptureErrorKind::NotACapture {
                found: describe_head(stream.available()),
            },
        ))
    }

    /// The next frame, borrowed from the internal buffer until the next call. After an
    /// error the source is finished and returns `None`.
    pub fn next_frame(&mut self) -> Option<Result<Frame<'_>, CaptureError>> {
        if self.done {
            return None;
        }
        let next = match &mut self.format {
            Format::Pcap(r) => r.next(&mut self.stream),
            Format::PcapNg(r) => r.next(&mut self.stream),
        };
        match next {
            Ok(Some(raw)) => Some(Ok(Frame {
                ts: raw.ts,
                link: raw.link,
                data: self.stream.slice(raw.start, raw.len),
                orig_len: raw.orig_len,
            })),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e.named(&self.name)))
            }
        }
    }

    pub fn format(&self) -> CaptureFormat {
        match &self.format {
            Format::Pcap(r) => CaptureFormat::Pcap {
                nanos: r.nanos(),
                big_endian: r.big_endian(),
            },
            Format::PcapNg(_) => CaptureFormat::PcapNg,
        }
    }

    /// From now on the file is read (and decompressed) on a thread of its own, ahead of the
    /// frames asked for, so the caller's thread only parses; it costs a thread and about
    /// 2.3 MB. Done only when it pays beside `busy` busy threads: for a stream or a file of
    /// at least 4 MiB, when it is gzip (inflating costs more than the analysis) or the
    /// machine has a core to spare (the kernel's copy then runs there; on a full machine a
    /// further busy thread only slows the others: 5 % more wall time measured with two busy
    /// threads on two cores). Nothing changes when no thread can be started.
    pub fn read_ahead_beside(&mut self, busy: usize) {
        if self.file_len.is_some_and(|n| n < READ_AHEAD_MIN_BYTES) {
            return;
        }
        let spare_core = std::thread::available_parallelism().is_ok_and(|n| n.get() > busy);
        if self.stream.is_gzip() || spare_core {
            self.stream
                .read_ahead(read_ahead::CHUNK, read_ahead::HEADROOM);
        }
    }

    /// Bytes consumed so far of the (decompressed) stream, for progress bars.
    pub fn bytes_read(&self) -> u64 {
        self.stream.offset()
    }

    /// The file size when known (not for stdin or gzip), for progress bars.
    pub fn total_bytes(&self) -> Option<u64> {
        // A decompressed size is unknown up front.
        self.file_len.filter(|_| !self.stream.is_gzip())
    }
}

/// What the first bytes of a non-capture look like, for the error message.
fn describe_head(head: &[u8]) -> String {
    if head.is_empty() {
        return "empty file".to_owned();
    }
    let hex: Vec<String> = head
        .iter()
        .take(MAGIC_LEN)
        .map(|b| format!("{b:02x}"))
        .collect();
    if head.len() < MAGIC_LEN {
        format!("only {} bytes ({})", head.len(), hex.join(" "))
    } else {
        format!("unknown magic {}", hex.join(" "))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::testutil::{NgWriter, OwnedFrame, PcapWriter, read_all, read_from, read_from_ahead};
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use proptest::prelude::*;
    use std::io::{Cursor, Write};

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn sample_pcap(n: u32) -> Vec<u8> {
        let packets: Vec<_> = (0..n)
            .map(|i| (i, i, vec![i as u8; (i % 300) as usize]))
            .collect();
        PcapWriter::default().file(&packets)
    }

    #[test]
    fn not_a_capture_names_what_was_found() {
        for (bytes, want) in [
            (&b""[..], "empty file"),
            (&b"GET / HTTP/1.1\r\n"[..], "unknown magic 47 45 54 20"),
            (&b"\xa1\xb2"[..], "only 2 bytes (a1 b2)"),
        ] {
            let err = FileSource::from_reader("x.pcap", Box::new(Cursor::new(bytes.to_vec())))
                .err()
                .unwrap();
            assert_eq!(err.offset, 0);
            assert!(matches!(err.kind, CaptureErrorKind::NotACapture { .. }));
            assert_eq!(
                err.to_string(),
                format!("x.pcap: byte 0: not a capture file: {want}")
            );
        }
    }

    #[test]
    fn gzip_is_transparent_and_multi_member() {
        let plain = sample_pcap(500);
        let (want, _) = read_all(&plain);
        let mut gz = gzip(&plain[..1000]);
        gz.extend(gzip(&plain[1000..]));
        let src = FileSource::from_reader("t.gz", Box::new(Cursor::new(gz.clone()))).unwrap();
        assert_eq!(src.total_bytes(), None);
        let (got, err) = read_all(&gz);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(got, want);
    }

    #[test]
    fn corrupt_gzip_reports_gzip_error() {
        let plain = sample_pcap(2000);
        let mut gz = gzip(&plain);
        let mid = gz.len() / 2;
        gz.truncate(mid);
        let (frames, err) = read_all(&gz);
        let err = err.unwrap();
        assert!(matches!(err.kind, CaptureErrorKind::Gzip(_)), "{err}");
        assert!(err.offset > 0);
        assert!(!frames.is_empty() && frames.len() < 2000);
        let mut flipped = gzip(&plain);
        for b in flipped.iter_mut().skip(30).take(200) {
            *b ^= 0x55;
        }
        let err = read_all(&flipped).1.unwrap();
        assert!(matches!(err.kind, CaptureErrorKind::Gzip(_)), "{err}");
        // A bare gzip magic.
        let err = read_all(&[0x1f, 0x8b]).1.unwrap();
        assert!(matches!(err.kind, CaptureErrorKind::Gzip(_)), "{err}");
    }

    #[test]
    fn open_reads_files_and_reports_progress() {
        let dir = std::env::temp_dir().join(format!("leakscope-capture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.pcap");
        let bytes = sample_pcap(3000);
        std::fs::write(&path, &bytes).unwrap();
        let mut src = FileSource::open(&path).unwrap();
        assert_eq!(src.total_bytes(), Some(bytes.len() as u64));
        assert_eq!(src.bytes_read(), 24);
        let mut n = 0;
        while let Some(f) = src.next_frame() {
            f.unwrap();
            n += 1;
        }
        assert_eq!(n, 3000);
        assert_eq!(src.bytes_read(), bytes.len() as u64);
        let gz = dir.join("a.pcap.gz");
        std::fs::write(&gz, gzip(&bytes)).unwrap();
        let src = FileSource::open(&gz).unwrap();
        assert_eq!(src.total_bytes(), None);
        assert_eq!(
            src.format(),
            CaptureFormat::Pcap {
                nanos: false,
                big_endian: false
            }
        );
        let missing = FileSource::open(&dir.join("missing.pcap")).err().unwrap();
        assert!(matches!(missing.kind, CaptureErrorKind::Io(_)));
        assert!(
            missing
                .to_string()
                .contains("missing.pcap: byte 0: read failed"),
            "{missing}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn many_records_cross_chunk_boundaries() {
        // ~3.5 MiB of records of many sizes, so records straddle every buffer refill.
        let packets: Vec<_> = (0..4000u32)
            .map(|i| (i, i, vec![i as u8; (i * 7 % 1700) as usize]))
            .collect();
        let bytes = PcapWriter::default().file(&packets);
        assert!(bytes.len() > 3 * stream::READ_CHUNK);
        let (frames, err) = read_all(&bytes);
        assert!(err.is_none());
        assert_eq!(frames.len(), 4000);
        for (f, (_, _, d)) in frames.iter().zip(&packets) {
            assert_eq!(&f.data, d);
        }
    }

    /// Hands out the stream in pieces of the given sizes, cycling.
    struct Pieces {
        data: Vec<u8>,
        pos: usize,
        sizes: Vec<usize>,
        turn: usize,
    }

    impl Read for Pieces {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let step = self.sizes[self.turn % self.sizes.len()].max(1);
            self.turn += 1;
            let n = step.min(out.len()).min(self.data.len() - self.pos);
            out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    /// `packets` as a pcap file, or as a pcapng file with one interface.
    fn capture_bytes(packets: &[(u32, u32, Vec<u8>)], ng: bool) -> Vec<u8> {
        if !ng {
            return PcapWriter::default().file(packets);
        }
        let mut w = NgWriter::new(false);
        w.idb(1, 0, &[]);
        for (s, _, d) in packets {
            w.epb(0, u64::from(*s), d, 0);
        }
        w.finish()
    }

    fn packet_strategy() -> impl Strategy<Value = Vec<(u32, u32, Vec<u8>)>> {
        proptest::collection::vec(
            (
                any::<u32>(),
                any::<u32>(),
                proptest::collection::vec(any::<u8>(), 0..200),
            ),
            0..20,
        )
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = read_all(&bytes);
        }

        #[test]
        fn random_bodies_after_valid_headers_never_panic(
            prefix in 0usize..4,
            tail in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let mut bytes = match prefix {
                0 => PcapWriter::default().header(),
                1 => PcapWriter { big_endian: true, kuznetzov: true, ..PcapWriter::default() }.header(),
                2 => { let mut w = NgWriter::new(false); w.idb(1, 0, &[]); w.finish() }
                _ => gzip(&PcapWriter::default().header()),
            };
            bytes.extend(tail);
            let _ = read_all(&bytes);
        }

        #[test]
        fn pcap_round_trip(packets in packet_strategy(), big_endian: bool, nanos: bool) {
            let w = PcapWriter { big_endian, nanos, ..PcapWriter::default() };
            let (frames, err) = read_all(&w.file(&packets));
            prop_assert!(err.is_none());
            let mult = if nanos { 1 } else { 1_000 };
            let want: Vec<_> = packets.iter().map(|(s, f, d)| OwnedFrame {
                ts: Timestamp::from_secs_nanos((*s).into(), u64::from(*f) * mult),
                link: LinkType::ETHERNET,
                data: d.clone(),
                orig_len: d.len() as u32,
            }).collect();
            prop_assert_eq!(frames, want);
        }

        #[test]
        fn pcapng_round_trip(
            packets in proptest::collection::vec((any::<u64>(), proptest::collection::vec(any::<u8>(), 0..200), 0u32..2), 0..20),
            big: bool,
            resol in 0u8..=9,
        ) {
            let mut w = NgWriter::new(big);
            w.idb(1, 0, &[(9, vec![resol])]);
            w.idb(229, 0, &[(9, vec![resol])]);
            for (ts, d, iface) in &packets {
                w.epb(*iface, *ts, d, d.len() as u32 + 1);
            }
            let (frames, err) = read_all(&w.finish());
            prop_assert!(err.is_none());
            let mult = 10u64.pow(9 - u32::from(resol));
            let want: Vec<_> = packets.iter().map(|(ts, d, iface)| OwnedFrame {
                ts: Timestamp(ts.saturating_mul(mult)),
                link: if *iface == 0 { LinkType::ETHERNET } else { LinkType::IPV6 },
                data: d.clone(),
                orig_len: d.len() as u32 + 1,
            }).collect();
            prop_assert_eq!(frames, want);
        }

        #[test]
        fn results_do_not_depend_on_read_sizes(
            packets in packet_strategy(),
            sizes in proptest::collection::vec(1usize..64, 1..8),
            cut in any::<prop::sample::Index>(),
            ng: bool,
        ) {
            let mut bytes = capture_bytes(&packets, ng);
            bytes.truncate(cut.index(bytes.len() + 1));
            let whole = read_all(&bytes);
            let pieces = read_from("test", Box::new(Pieces { data: bytes, pos: 0, sizes, turn: 0 }));
            prop_assert_eq!(&whole.0, &pieces.0);
            prop_assert_eq!(whole.1.map(|e| e.to_string()), pieces.1.map(|e| e.to_string()));
        }

        /// Read ahead on a thread in tiny chunks (records cut everywhere, tails longer and
        /// shorter than the headroom): the same frames and the same errors at the same
        /// offsets as reading in place.
        #[test]
        fn results_do_not_depend_on_reading_ahead(
            packets in packet_strategy(),
            sizes in proptest::collection::vec(1usize..64, 1..8),
            chunk in 1usize..96,
            headroom in 0usize..48,
            cut in any::<prop::sample::Index>(),
            ng: bool,
        ) {
            let mut bytes = capture_bytes(&packets, ng);
            bytes.truncate(cut.index(bytes.len() + 1));
            let whole = read_all(&bytes);
            let pieces = Pieces { data: bytes, pos: 0, sizes, turn: 0 };
            let ahead = read_from_ahead("test", Box::new(pieces), Some((chunk, headroom)));
            prop_assert_eq!(&whole.0, &ahead.0);
            prop_assert_eq!(whole.1.map(|e| e.to_string()), ahead.1.map(|e| e.to_string()));
        }
    }
}
