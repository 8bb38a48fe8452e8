//! Fuzz entry points, one per parser family, shared by the cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs` include this file by path) and the proptest runs in
//! `tests/fuzz_props.rs`, so both exercise exactly the same code.
//!
//! Each entry point takes arbitrary bytes and must return without panicking. Where a
//! property is cheap to check (JSON is valid, text output has no raw control characters),
//! the entry point asserts it, so a violation is a crash the fuzzer keeps.
//!
//! Inputs for trackers are a sequence of records: `[flags: u8][len: u16 BE][len bytes]`,
//! bit 0 of `flags` being the direction (0: to the server). A short last record takes what
//! is left. [`frame_records`] writes that layout, so seeds can be made from captures.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use leakscope::analyze::{Analyzer, AnalyzerConfig};
use leakscope::capture::{FileSource, LinkType};
use leakscope::decode::{self, Decoded, defrag::Defrag};
use leakscope::dissect::{demux, dns, dtls, http, media, quic, rtp, sdp, sip, stun, tls, zoom};
use leakscope::engine::EngineConfig;
use leakscope::flow::FlowConfig;
use leakscope::model::{Direction, Progress, Timestamp};
use leakscope::report::{
    FlowRecord, SessionRecord, Sink, Summary, json::JsonSink, ndjson::NdjsonSink, text::TextSink,
};
use std::io::Cursor;

/// The stream bytes a TCP tracker sees at most (as `flow::tcp::MAX_STREAM_BYTES`).
const MAX_STREAM: usize = 64 * 1024;
/// Records fed to one tracker at most (the inspector stops at 512 packets).
const MAX_RECORDS: usize = 512;

/// One record of a tracker input.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    pub dir: Direction,
    /// The flags byte; bits above 0 select options in some targets.
    pub flags: u8,
    pub bytes: &'a [u8],
}

/// Split fuzz bytes into records.
pub fn records(mut data: &[u8]) -> Vec<Record<'_>> {
    let mut out = Vec::new();
    while let Some((&flags, rest)) = data.split_first() {
        if out.len() == MAX_RECORDS {
            break;
        }
        let len = match rest {
            [a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])),
            _ => 0,
        };
        let body = rest.get(2..).unwrap_or_default();
        let (bytes, next) = body.split_at(len.min(body.len()));
        let dir = if flags & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        out.push(Record { dir, flags, bytes });
        data = next;
    }
    out
}

/// The inverse of [`records`]: for building seeds.
pub fn frame_records<'a>(recs: impl IntoIterator<Item = (Direction, &'a [u8])>) -> Vec<u8> {
    let mut out = Vec::new();
    for (dir, bytes) in recs {
        let bytes = bytes.get(..usize::from(u16::MAX)).unwrap_or(bytes);
        out.push(u8::from(dir == Direction::ToClient));
        out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

/// Feed records as TCP segments: each direction's stream grows (bounded like the flow
/// table's reassembly) and the tracker sees all of it, as `flow::inspect` does.
fn feed_stream(data: &[u8], mut f: impl FnMut(Direction, &[u8]) -> Progress) {
    let mut streams: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    for r in records(data) {
        let s = &mut streams[r.dir.index()];
        let room = MAX_STREAM - s.len();
        if room == 0 || r.bytes.is_empty() {
            continue;
        }
        s.extend_from_slice(r.bytes.get(..room).unwrap_or(r.bytes));
        if f(r.dir, s) != Progress::NeedMore {
            break;
        }
    }
}

/// Feed records as datagrams until the tracker stops.
fn feed_datagrams(data: &[u8], mut f: impl FnMut(Direction, &[u8]) -> Progress) {
    for r in records(data) {
        if f(r.dir, r.bytes) != Progress::NeedMore {
            break;
        }
    }
}

fn ts(i: usize) -> Timestamp {
    Timestamp(1_700_000_000 * Timestamp::NANOS_PER_SEC + i as u64 * 20_000_000)
}

fn json_ok<T: serde::Serialize>(v: &T) {
    let s = serde_json::to_string(v).expect("facts serialize");
    serde_json::from_str::<serde_json::Value>(&s).expect("facts serialize to valid JSON");
}

// ---------------------------------------------------------------------------------------
// capture, decode, pipeline

/// The capture reader on a whole file (pcap, pcapng or gzip of either).
pub fn capture(data: &[u8]) {
    let Ok(mut src) = FileSource::from_reader("fuzz", Box::new(Cursor::new(data.to_vec()))) else {
        return;
    };
    let mut frames = 0usize;
    while let Some(f) = src.next_frame() {
        match f {
            Ok(f) => {
                frames += 1;
                assert!(
                    f.data.len() <= data.len().max(1 << 20),
                    "frame larger than input"
                );
            }
            Err(e) => {
                let line = e.to_string();
                assert!(line.contains("fuzz"), "error names the source: {line}");
                break;
            }
        }
        // A decompressed gzip bomb cannot keep us here forever.
        if frames > 100_000 {
            break;
        }
    }
}

/// Link types the decoder handles, plus one it does not (user0).
const LINKS: [LinkType; 11] = [
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::NULL,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::RAW_OPENBSD,
    LinkType(9), // PPP
    LinkType(147),
];

/// Decode frames of every link type, and reassemble the fragments among them. The flags
/// byte of each record picks the link type.
pub fn decode(data: &[u8]) {
    let mut defrag = Defrag::default();
    for (i, r) in records(data).into_iter().enumerate() {
        let link = LINKS[usize::from(r.flags >> 1) % LINKS.len()];
        match decode::decode(link, r.bytes) {
            Decoded::Packet(p) => assert!(p.payload.len() <= r.bytes.len()),
            Decoded::Fragment(f) => {
                if let Some(d) = defrag.push(&f, ts(i)) {
                    assert!(
                        d.data.len()
                            <= usize::try_from(decode::defrag::MAX_DATAGRAM).unwrap_or(usize::MAX)
                    );
                    let _ = decode::transport(d.src, d.dst, d.proto, &d.data);
                }
            }
            Decoded::Skipped(_) => {}
        }
        if r.flags & 0x80 != 0 {
            defrag.expire(ts(i + 3000));
        }
        assert!(defrag.pending() <= decode::defrag::MAX_PENDING);
    }
}

/// pcap global header: µs, little-endian, Ethernet, snaplen 256 KiB.
pub const PCAP_ETHERNET_HEADER: [u8; 24] = [
    0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0,
];

/// The whole pipeline on a pcap body (records after an Ethernet pcap header): capture,
/// decode, flows, every dissector, and all three report formats. Asserts the NDJSON and
/// JSON are valid and the text has no raw control characters.
pub fn pipeline(body: &[u8]) {
    let mut file = PCAP_ETHERNET_HEADER.to_vec();
    file.extend_from_slice(body);
    pipeline_file(&file);
}

/// [`pipeline`] on a whole capture file.
pub fn pipeline_file(file: &[u8]) {
    let Ok(mut src) = FileSource::from_reader("fuzz", Box::new(Cursor::new(file.to_vec()))) else {
        return;
    };
    let config = AnalyzerConfig {
        engine: EngineConfig {
            flow: FlowConfig {
                max_flows: 64,
                ..FlowConfig::default()
            },
        },
        signatures: builtin_signatures(),
        geo: None,
        transfer: Default::default(),
    };
    let (mut nd, mut js, mut tx) = (Vec::new(), Vec::new(), Vec::new());
    {
        let mut all = FanOut(vec![
            Box::new(NdjsonSink::new(Box::new(&mut nd))),
            Box::new(JsonSink::new(Box::new(&mut js))),
            Box::new(TextSink::new(Box::new(&mut tx))),
            Box::new(SameAsSerde),
        ]);
        let mut analyzer = Analyzer::new(config);
        analyzer.begin_input("fuzz");
        while let Some(Ok(frame)) = src.next_frame() {
            analyzer.ingest(&frame, &mut all).expect("write to memory");
        }
        analyzer.finish(&mut all).expect("write to memory");
        let engine = analyzer.engine();
        let summary = leakscope::report::Summary {
            record: "summary",
            inputs: Vec::new(),
            first_seen: None,
            last_seen: None,
            packets: engine.packets,
            flows: leakscope::report::record::FlowCounts {
                reported: analyzer.stats().flows_reported,
                table: engine.table().stats,
            },
            analysis: analyzer.stats(),
            defrag: engine.defrag().stats,
            errors: 0,
            policy: None,
            live: None,
        };
        all.summary(&summary).expect("write to memory");
    }
    check_reports(&nd, &js, &tx);
}

/// NDJSON: every line a JSON object; JSON: one document; text: no raw C0 (but newline),
/// DEL or C1 control.
pub fn check_reports(nd: &[u8], js: &[u8], tx: &[u8]) {
    let nd = std::str::from_utf8(nd).expect("NDJSON is UTF-8");
    for line in nd.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("NDJSON line is JSON");
        assert!(v.is_object());
    }
    let _: serde_json::Value = serde_json::from_slice(js).expect("JSON document is valid");
    let tx = std::str::from_utf8(tx).expect("text is UTF-8");
    if let Some(c) = tx.chars().find(|&c| is_raw_control(c)) {
        panic!("text output holds raw control U+{:04X}", c as u32);
    }
}

/// A character that must never reach a terminal raw.
pub fn is_raw_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

// ---------------------------------------------------------------------------------------
// dissectors

/// DNS: one message parsed, the TCP splitter, and the tracker over UDP and TCP.
pub fn dns(data: &[u8]) {
    if let Ok(m) = dns::parse(data) {
        for (_ip, name, _ttl) in dns::answers_for_cache(&m) {
            assert!(name.len() <= 1024, "a DNS name longer than any wire name");
        }
    }
    let _ = dns::probe(data);
    let mut it = dns::tcp_messages(data);
    for _ in it.by_ref() {}
    assert!(it.consumed() <= data.len());

    let mut t = dns::DnsTracker::new();
    let mut info = dns::DnsInfo::default();
    feed_datagrams(data, |d, p| t.on_datagram(d, p, &mut info).progress);
    json_ok(&info);
    let mut t = dns::DnsTracker::new();
    let mut info = dns::DnsInfo::default();
    feed_stream(data, |d, s| t.on_stream(d, s, &mut info).progress);
    json_ok(&info);
}

/// HTTP tracker over a TCP stream.
pub fn http(data: &[u8]) {
    let _ = http::probe(data);
    let mut t = http::HttpTracker::new();
    let mut info = http::HttpInfo::default();
    feed_stream(data, |d, s| t.on_stream(d, s, &mut info));
    json_ok(&info);
}

/// TLS: handshake message parsers on the raw bytes (as a ClientHello, a ServerHello and a
/// certificate) and the tracker over a TCP stream.
pub fn tls(data: &[u8]) {
    let _ = tls::probe(data);
    if let Some(ch) = tls::parse_client_hello_message(data) {
        let _ = tls::ja3(&ch);
        let _ = tls::ja4(&ch, 't');
        let _ = tls::ja4(&ch, 'q');
    }
    let _ = tls::parse_server_hello_message(data);
    let _ = tls::parse_certificate(data);
    let _ = tls::record::read_record_header(data, 0);
    let mut t = tls::TlsTracker::default();
    let mut info = tls::TlsInfo::default();
    feed_stream(data, |d, s| t.on_stream(d, s, &mut info));
    json_ok(&info);
}

/// QUIC: long header, frames, gQUIC, and the tracker over datagrams.
pub fn quic(data: &[u8]) {
    let _ = quic::probe(data);
    let _ = quic::header::parse_long_header(data);
    for dialect in [
        quic::frames::Dialect::Ietf,
        quic::frames::Dialect::GoogleV5x,
    ] {
        for f in quic::frames::frames(data, dialect).take(4096) {
            let _ = f;
        }
    }
    if let Ok(p) = quic::gquic::parse_client_packet(data) {
        let _ = p;
    }
    let _ = quic::gquic::chlo_len(data);
    let _ = quic::gquic::parse_chlo(data);
    let mut t = quic::QuicTracker::default();
    let mut info = quic::QuicInfo::default();
    feed_datagrams(data, |d, p| t.on_datagram(d, p, &mut info));
    json_ok(&info);
}

/// STUN: one message, its attributes and addresses.
pub fn stun(data: &[u8]) {
    let _ = stun::looks_like_stun(data);
    if let Ok(m) = stun::parse(data) {
        for a in m.nonstandard_types().take(1 << 16) {
            let _ = a.name();
        }
    }
    let mut attrs = stun::Attributes::new(data);
    for _ in attrs.by_ref().take(1 << 16) {}
    // The last attribute's padding may lie past the end (at most 3 bytes).
    assert!(attrs.position() <= data.len() + 3);
    let _ = stun::plain_address(data);
    let tid = data.get(..12).unwrap_or(data);
    let _ = stun::xor_address(data.get(12..).unwrap_or_default(), tid);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = stun::realm_operator(s);
    }
}

/// Demux helpers on the raw bytes, then the media tracker over datagrams (with and without
/// the Zoom port hint, from the first record's flags).
pub fn media(data: &[u8]) {
    let _ = demux::classify(data);
    let _ = demux::channel_data(data);
    let mut it = demux::rfc4571_frames(data);
    for _ in it.by_ref() {}
    assert!(it.consumed() <= data.len());
    let mut it = demux::ms_turn_frames(data);
    for _ in it.by_ref() {}
    assert!(it.consumed() <= data.len());
    let _ = demux::strip_ms_turn(data);
    let _ = demux::stun_or_channel_data_len(data);

    let recs = records(data);
    let mut t = media::MediaTracker::default();
    t.set_zoom_port_hint(recs.first().is_some_and(|r| r.flags & 2 != 0));
    let mut info = media::MediaInfo::default();
    for (i, r) in recs.iter().enumerate() {
        let step = t.on_datagram(r.dir, r.bytes, ts(i), &mut info);
        if let Some(inner) = step.relayed {
            assert!(inner.len() <= r.bytes.len());
        }
        if step.progress != Progress::NeedMore {
            break;
        }
    }
    json_ok(&info);
}

/// RTP and RTCP parsers and the RTP tracker on every record that parses.
pub fn rtp(data: &[u8]) {
    if let Ok(p) = rtp::parse_rtp(data) {
        assert!(p.csrc_iter().count() <= 15);
    }
    let _ = rtp::parse_rtp_header_only(data);
    let mut it = rtp::rtcp_packets(data);
    for _ in it.by_ref() {}
    assert!(it.covered() <= data.len());
    if let Ok(s) = rtp::rtcp_shape(data) {
        assert!(s.covered + s.rest == data.len());
        if let Some(ntp) = s.sr_ntp {
            let _ = rtp::ntp_plausible(ntp, Timestamp(0));
            let _ = rtp::ntp_plausible(ntp, ts(0));
        }
    }
    for tag in [0, 4, 10, 16, usize::MAX] {
        let _ = rtp::srtcp_trailer(data, tag);
    }

    let mut t = rtp::RtpTracker::default();
    let (mut sum, mut rtcp) = (rtp::RtpSummary::default(), rtp::RtcpSummary::default());
    for (i, r) in records(data).iter().enumerate() {
        if r.flags & 2 == 0 {
            if let Ok(p) = rtp::parse_rtp(r.bytes) {
                t.on_rtp(r.dir, &p, &mut sum);
            }
        } else {
            t.on_rtcp(r.dir, r.bytes, ts(i), &mut rtcp);
        }
    }
    t.decide(&mut sum, &rtcp);
    json_ok(&sum);
    json_ok(&rtcp);
}

/// Zoom: packet parsers and the tracker over datagrams.
pub fn zoom(data: &[u8]) {
    let _ = zoom::parse_media(data);
    let _ = zoom::parse_server(data);
    let _ = zoom::parse_p2p_hello(data);
    let recs = records(data);
    let mut t = zoom::ZoomTracker::default();
    t.port_hint = recs.first().is_some_and(|r| r.flags & 2 != 0);
    let mut sum = zoom::ZoomSummary::default();
    for r in &recs {
        let (m, _) = t.on_datagram(r.dir, r.bytes, &mut sum);
        if let Some(m) = m {
            let _ = m;
        }
    }
    json_ok(&sum);
}

/// DTLS: handshake body parsers and the tracker over datagrams.
pub fn dtls(data: &[u8]) {
    let _ = dtls::looks_like_dtls(data);
    let _ = dtls::parse_client_hello_body(data);
    let _ = dtls::parse_server_hello_body(data);
    let _ = dtls::parse_hello_verify_request(data);
    let mut t = dtls::DtlsTracker::default();
    let mut info = dtls::DtlsInfo::default();
    feed_datagrams(data, |d, p| t.on_datagram(d, p, &mut info));
    json_ok(&info);
}

/// SIP and SDP: message parser, URI helper, SDP, and the tracker over UDP and TCP.
pub fn sip(data: &[u8]) {
    let _ = sip::probe(data);
    for datagram in [true, false] {
        if let Ok((m, used)) = sip::parse_message(data, datagram) {
            assert!(used <= data.len());
            let _ = m.header(sip::Header::CallId);
        }
    }
    let _ = sip::user_at_host(data);
    let s = sdp::parse_sdp(data);
    json_ok(&s);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sdp::parse_candidate(text);
    }
    let mut t = sip::SipTracker::default();
    let mut info = sip::SipInfo::default();
    feed_datagrams(data, |d, p| t.on_datagram(d, p, &mut info));
    let _ = info.media_endpoints();
    json_ok(&info);
    let mut t = sip::SipTracker::default();
    let mut info = sip::SipInfo::default();
    feed_stream(data, |d, s| t.on_stream(d, s, &mut info));
    json_ok(&info);
}

// ---------------------------------------------------------------------------------------
// signatures

/// The signature loader on one user file: the first byte picks the file name (an app,
/// telemetry or network TOML file, or a third-party list), the rest is its content.
pub fn signatures(data: &[u8]) {
    use leakscope::signature::SignatureSet;
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let name = match pick % 4 {
        0 => "app.toml",
        1 => "telemetry.toml",
        2 => "network.toml",
        _ => "trackers.txt",
    };
    let dir = scratch_dir();
    // One file at a time: clear what an earlier input left.
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    if std::fs::write(dir.join(name), body).is_err() {
        return;
    }
    let mut set = SignatureSet::empty();
    match set.load_dir(&dir) {
        Ok(_) => {
            let _ = set.match_domain("zoom.us");
            let _ = set.match_domain(&String::from_utf8_lossy(body));
            let _ = set.match_ip(std::net::IpAddr::from([1, 2, 3, 4]));
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty());
        }
    }
}

/// A per-process scratch directory for [`signatures`].
fn scratch_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "leakscope-fuzz-sig-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// The built-in signatures, parsed once per process: parsing them on every run cost the
/// `pipeline` fuzz target nine tenths of its time.
fn builtin_signatures() -> leakscope::signature::SignatureSet {
    static BUILTIN: std::sync::OnceLock<leakscope::signature::SignatureSet> =
        std::sync::OnceLock::new();
    BUILTIN
        .get_or_init(|| {
            leakscope::signature::SignatureSet::builtin()
                .unwrap_or_else(|_| leakscope::signature::SignatureSet::empty())
        })
        .clone()
}

/// Every record to every sink.
/// Checks the hand-written NDJSON flow line against the derived `Serialize` output.
pub struct SameAsSerde;

impl Sink for SameAsSerde {
    fn flow(&mut self, rec: &FlowRecord<'_>) -> std::io::Result<()> {
        let mut fast = Vec::new();
        leakscope::report::ndjson::flow_json(&mut fast, rec)?;
        let derived = serde_json::to_string(rec).expect("serialise");
        assert_eq!(String::from_utf8_lossy(&fast), derived);
        Ok(())
    }
    fn session(&mut self, _: &SessionRecord) -> std::io::Result<()> {
        Ok(())
    }
    fn summary(&mut self, _: &Summary) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct FanOut<'a>(pub Vec<Box<dyn Sink + 'a>>);

impl Sink for FanOut<'_> {
    fn flow(&mut self, rec: &FlowRecord<'_>) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.flow(rec))
    }
    fn session(&mut self, rec: &SessionRecord) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.session(rec))
    }
    fn summary(&mut self, summary: &Summary) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.summary(summary))
    }
}
