//! Adversarial captures, generated here into a temp dir and replayed through
//! `leakscope::replay::replay`: floods, overlaps, loops and absurd lengths must neither
//! panic nor grow memory without bound, and the summary counters must say what was dropped.
//! `docs/hostile-input.md` tabulates what each one does.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use leakscope::analyze::AnalyzerConfig;
use leakscope::engine::EngineConfig;
use leakscope::flow::FlowConfig;
use leakscope::report::ndjson::NdjsonSink;
use leakscope::report::{FlowRecord, Sink, Summary};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::Path;
use support::*;

const C: [u8; 4] = [10, 0, 0, 1];
const S: [u8; 4] = [10, 0, 0, 2];

/// Replay one file; returns the flow records and the summary as JSON.
fn replay(path: &Path, max_flows: usize) -> (Vec<Value>, Value) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    {
        let mut sink = NdjsonSink::new(Box::new(&mut out));
        leakscope::replay::replay(
            &[path.to_path_buf()],
            config(max_flows),
            &mut sink,
            &mut |e| errors.push(e.to_string()),
        )
        .expect("replay");
    }
    assert!(errors.is_empty(), "{errors:?}");
    let mut recs: Vec<Value> = String::from_utf8(out)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON line"))
        .collect();
    let summary = recs.pop().expect("summary");
    assert_eq!(summary["record"], "summary");
    // Session records (a SIP or RTP call of no known app) are not flows.
    recs.retain(|r| r["record"] == "flow");
    (recs, summary)
}

fn config(max_flows: usize) -> AnalyzerConfig {
    AnalyzerConfig {
        engine: EngineConfig {
            flow: FlowConfig {
                max_flows,
                ..FlowConfig::default()
            },
        },
        ..AnalyzerConfig::default()
    }
}

fn one(pcap: &Pcap, tag: &str) -> (Vec<Value>, Value) {
    let dir = TempDir::new(tag);
    let path = pcap.write(dir.path(), "in.pcap");
    replay(&path, 1_000_000)
}

/// Counts flow records and keeps the summary, for floods too big to collect.
#[derive(Default)]
struct Counting {
    flows: u64,
    evicted: u64,
    summary: Option<(u64, u64, u64, u64, u64)>,
}

impl Sink for Counting {
    fn flow(&mut self, rec: &FlowRecord<'_>) -> std::io::Result<()> {
        self.flows += 1;
        if matches!(rec.end_reason, leakscope::flow::EndReason::Evicted) {
            self.evicted += 1;
        }
        Ok(())
    }
    fn session(&mut self, _: &leakscope::report::SessionRecord) -> std::io::Result<()> {
        Ok(())
    }
    fn summary(&mut self, s: &Summary) -> std::io::Result<()> {
        let t = s.flows.table;
        self.summary = Some((
            t.created,
            t.evicted,
            t.max_live,
            s.flows.reported,
            s.packets.tcp,
        ));
        Ok(())
    }
}

fn syn_flood(n: u32, max_flows: usize) {
    let mut pcap = Pcap::ethernet();
    pcap.bytes.reserve(n as usize * 70);
    let template = tcp([10, 1, 0, 0], [192, 0, 2, 1], 1024, 443, 7, SYN, b"");
    // Patch addresses and ports into one template: etherparse per packet would dominate.
    for i in 0..n {
        let mut f = template.clone();
        f[14 + 12..14 + 16].copy_from_slice(&[10, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
        f[34..36].copy_from_slice(&(1024 + (i % 60_000) as u16).to_be_bytes());
        pcap.push_at(pcap.now_us + u64::from(i), &f);
    }
    let dir = TempDir::new("synflood");
    let path = pcap.write(dir.path(), "syn.pcap");
    drop(pcap);
    let mut sink = Counting::default();
    leakscope::replay::replay(&[path], config(max_flows), &mut sink, &mut |e| {
        panic!("{e}")
    })
    .expect("replay");
    let (created, evicted, max_live, reported, tcp) = sink.summary.expect("summary");
    let n = u64::from(n);
    let cap = max_flows as u64;
    println!(
        "syn flood {n} at cap {cap}: created {created}, evicted {evicted}, peak live {max_live}"
    );
    assert_eq!(tcp, n);
    assert_eq!(created, n, "every SYN is its own flow");
    assert_eq!(max_live, cap.min(n), "the table never exceeds the cap");
    assert_eq!(evicted, n.saturating_sub(cap));
    assert_eq!(sink.evicted, evicted, "evicted flows are reported as such");
    assert_eq!(reported, n);
    assert_eq!(sink.flows, n);
}

#[test]
fn syn_flood_200k_is_evicted_at_the_cap() {
    syn_flood(200_000, 10_000);
}

#[test]
#[ignore = "a million flows, twice: about 15 s and 70 MB of capture in debug builds"]
fn syn_flood_1m() {
    syn_flood(1_000_000, 1_000_000);
    syn_flood(1_000_000, 100_000);
}

#[test]
fn fragment_flood_and_overlaps_are_bounded_and_counted() {
    let mut pcap = Pcap::ethernet();
    // Overlapping fragments of one datagram (the second rewrites bytes 8..16).
    pcap.push(&ipv4_fragment(C, S, 17, 60_000, 0, true, &[1; 16]));
    pcap.push(&ipv4_fragment(C, S, 17, 60_000, 8, false, &[2; 16]));
    // 100 tiny fragments of one datagram: more pieces than kept.
    for k in 0..100u32 {
        pcap.push(&ipv4_fragment(C, S, 17, 60_001, k * 8, true, &[3; 8]));
    }
    // A fragment reaching past 65 535 bytes.
    pcap.push(&ipv4_fragment(C, S, 17, 60_002, 65_528, false, &[4; 64]));
    // 5000 first fragments that never complete: more than the 1024 datagrams held.
    for id in 0..5000u16 {
        pcap.push(&ipv4_fragment(C, S, 17, id, 0, true, &[0xaa; 64]));
    }
    // A minute later (stale datagrams time out), one honest fragmented UDP datagram.
    pcap.now_us += 60_000_000;
    let whole = udp(C, S, 5000, 6000, &[5; 3000]);
    let transport = &whole[34..];
    for (k, chunk) in transport.chunks(1480).enumerate() {
        let off = (k * 1480) as u32;
        let more = off as usize + chunk.len() < transport.len();
        pcap.push(&ipv4_fragment(C, S, 17, 60_003, off, more, chunk));
    }
    let (flows, summary) = one(&pcap, "frag");
    let d = &summary["defrag"];
    println!("fragments: {d}");
    assert!(d["dropped_limit"].as_u64().unwrap() >= 5000 - 1024, "{d}");
    assert!(d["dropped_overlap"].as_u64().unwrap() >= 1, "{d}");
    assert!(d["timed_out"].as_u64().unwrap() >= 1000, "{d}");
    assert_eq!(d["reassembled"], 1, "{d}");
    assert!(
        flows.iter().any(|f| f["dst"]["port"] == 6000),
        "the honest datagram is a flow"
    );
}

#[test]
fn overlapping_and_out_of_window_tcp_segments() {
    let mut pcap = Pcap::ethernet();
    let hello = client_hello(b"reassembled.example");
    let sport = 40_000;
    pcap.push(&tcp(C, S, sport, 443, 1000, SYN, b""));
    pcap.push(&tcp(S, C, 443, sport, 5000, SYN | ACK, b""));
    // Far out of window (2^31 - 1 ahead) and far behind: dropped or held, never appended.
    pcap.push(&tcp(
        C,
        S,
        sport,
        443,
        1001u32.wrapping_add(0x7fff_ffff),
        ACK,
        b"ahead",
    ));
    pcap.push(&tcp(
        C,
        S,
        sport,
        443,
        1001u32.wrapping_sub(0x7fff_0000),
        ACK,
        b"behind",
    ));
    // Held segments beyond a hole. (Eight payload packets that add no contiguous bytes
    // make the inspector give up on the flow: see docs/hostile-input.md.)
    for k in 0..4u32 {
        pcap.push(&tcp(
            C,
            S,
            sport,
            443,
            1001 + 100_000 + k * 1000,
            ACK,
            &[0x16; 100],
        ));
    }
    // The hello in overlapping pieces: [0, 40), [20, 60) with garbage in the overlap
    // (first copy wins), then the rest, then a full retransmission.
    let h = &hello;
    pcap.push(&tcp(C, S, sport, 443, 1001, ACK, &h[..40]));
    let mut overlap = h[20..60].to_vec();
    overlap[..20].fill(0xee);
    pcap.push(&tcp(C, S, sport, 443, 1021, ACK, &overlap));
    pcap.push(&tcp(C, S, sport, 443, 1061, ACK | PSH, &h[60..]));
    pcap.push(&tcp(C, S, sport, 443, 1001, ACK | PSH, h));
    let (flows, summary) = one(&pcap, "tcp");
    assert_eq!(flows.len(), 1, "{flows:?}");
    let f = &flows[0];
    println!(
        "tcp overlap: server_name {}, protocol {}",
        f["server_name"], f["protocol"]
    );
    assert_eq!(f["server_name"], "reassembled.example");
    assert_eq!(summary["packets"]["tcp"], 12);
}

#[test]
fn more_held_segments_than_kept() {
    let mut pcap = Pcap::ethernet();
    let sport = 40_000;
    pcap.push(&tcp(C, S, sport, 443, 1000, SYN, b""));
    // 40 segments beyond a hole: 16 are held, the rest dropped; then the hole is filled.
    for k in 0..40u32 {
        pcap.push(&tcp(
            C,
            S,
            sport,
            443,
            1001 + 1000 + k * 1000,
            ACK,
            &[0x16; 1000],
        ));
    }
    pcap.push(&tcp(C, S, sport, 443, 1001, ACK, &[0x16; 1000]));
    let (flows, summary) = one(&pcap, "tcpheld");
    assert_eq!(flows.len(), 1);
    println!(
        "held: protocol {} tls {}",
        flows[0]["protocol"], flows[0]["tls"]
    );
    assert_eq!(summary["packets"]["tcp"], 42);
}

/// A DNS response header with one question and `ancount` answers.
fn dns_header(ancount: u16) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1];
    m.extend_from_slice(&ancount.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m
}

#[test]
fn dns_compression_loops_and_long_names() {
    let mut pcap = Pcap::ethernet();
    // A question name that points at itself.
    let mut self_loop = dns_header(0);
    self_loop.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    // Two answers whose names point at each other, after a normal question.
    let mut cycle = dns_header(2);
    cycle.extend_from_slice(&[1, b'a', 0, 0, 1, 0, 1]); // question at 12, 7 bytes
    let a1 = cycle.len(); // 19
    cycle.extend_from_slice(&[1, b'b', 0xc0, (a1 + 18) as u8]);
    cycle.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    cycle.extend_from_slice(&[1, b'c', 0xc0, a1 as u8]);
    cycle.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 2]);
    // 255 one-byte labels (510 bytes: twice the wire limit).
    let mut long = dns_header(0);
    for _ in 0..255 {
        long.extend_from_slice(&[1, b'x']);
    }
    long.extend_from_slice(&[0, 0, 1, 0, 1]);
    // 255 labels of 63 bytes, truncated by the datagram.
    let mut huge = dns_header(0);
    for _ in 0..255 {
        huge.push(63);
        huge.extend_from_slice(&[b'y'; 63]);
    }
    // A question name reached through a chain of 200 pointers, each to the previous one.
    let mut chain = dns_header(0);
    let last = 21 + 2 * 199;
    chain.extend_from_slice(&[0xc0 | (last >> 8) as u8, last as u8, 0, 1, 0, 1]);
    chain.extend_from_slice(&[1, b'z', 0]);
    for k in 0..200usize {
        let prev = if k == 0 { 18 } else { 21 + 2 * (k - 1) };
        chain.extend_from_slice(&[0xc0 | (prev >> 8) as u8, prev as u8]);
    }
    for (i, m) in [&self_loop, &cycle, &long, &huge, &chain]
        .iter()
        .enumerate()
    {
        pcap.push(&udp(S, C, 53, 30_000 + i as u16, m));
    }
    let (flows, _) = one(&pcap, "dns");
    assert_eq!(flows.len(), 5);
    assert!(
        flows
            .iter()
            .any(|f| f["dns"]["anomalies"].to_string().contains("pointer_loop")),
        "the answer cycle is flagged"
    );
    for f in &flows {
        println!("dns: protocol {} dns {}", f["protocol"], f["dns"]);
        if let Some(name) = f["dns"]["query_name"].as_str() {
            assert!(
                name.len() <= 255,
                "names stay within the wire limit: {}",
                name.len()
            );
        }
    }
}

/// A TLS handshake record (type 22) with the given header length and body.
fn tls_record(len: u16, body: &[u8]) -> Vec<u8> {
    let mut r = vec![0x16, 3, 3];
    r.extend_from_slice(&len.to_be_bytes());
    r.extend_from_slice(body);
    r
}

#[test]
fn oversized_tls_records_and_huge_certificate_chains() {
    let mut pcap = Pcap::ethernet();
    // A record claiming 65 535 bytes (over the 2^14 + 2048 limit), then 60 KB of it.
    let mut big = tls_record(0xffff, &[1, 0, 0xff, 0xfb]);
    big.extend_from_slice(&[0x41; 1400]);
    tls_connection(&mut pcap, C, S, 40_001, &big);
    for k in 0..42u32 {
        let seq = 1001 + big.len() as u32 + k * 1400;
        pcap.push(&tcp(C, S, 40_001, 443, seq, ACK, &[0x42; 1400]));
    }
    // A server flight: ServerHello, then a Certificate message claiming 16 MB whose chain
    // is 40 certificates of 1400 bytes of garbage, in records of 16 KiB.
    let mut sh = vec![2, 0, 0, 38, 3, 3];
    sh.extend_from_slice(&[0; 32]);
    sh.extend_from_slice(&[0, 0x13, 0x01, 0]);
    let mut cert = vec![11, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xfc];
    for _ in 0..40 {
        cert.extend_from_slice(&[0, 0x05, 0x78]);
        cert.extend_from_slice(&[0x30; 1400]);
    }
    let mut flight = tls_record(sh.len() as u16, &sh);
    for chunk in cert.chunks(16_384) {
        flight.extend(tls_record(chunk.len() as u16, chunk));
    }
    let sport = 40_002;
    pcap.push(&tcp(C, S, sport, 443, 1000, SYN, b""));
    pcap.push(&tcp(S, C, 443, sport, 5000, SYN | ACK, b""));
    pcap.push(&tcp(
        C,
        S,
        sport,
        443,
        1001,
        ACK | PSH,
        &client_hello(b"chain.example"),
    ));
    for (k, seg) in flight.chunks(1400).enumerate() {
        pcap.push(&tcp(S, C, 443, sport, 5001 + (k * 1400) as u32, ACK, seg));
    }
    let (flows, summary) = one(&pcap, "tls");
    assert_eq!(flows.len(), 2);
    for f in &flows {
        println!("tls: protocol {} tls {}", f["protocol"], f["tls"]);
    }
    let chain = flows.iter().find(|f| f["src"]["port"] == sport).unwrap();
    assert_eq!(chain["server_name"], "chain.example");
    assert!(summary["packets"]["tcp"].as_u64().unwrap() > 80);
}

/// A QUIC v1 long header (Initial) with the given DCID length byte and trailing bytes.
fn quic_long(dcid_len: u8, rest: &[u8]) -> Vec<u8> {
    let mut p = vec![0xc3, 0, 0, 0, 1, dcid_len];
    p.extend_from_slice(rest);
    p
}

#[test]
fn quic_with_bogus_lengths() {
    let mut pcap = Pcap::ethernet();
    let mut v = Vec::new();
    // DCID length 255 (over 20) with 255 bytes of it present.
    v.push(quic_long(255, &[7; 300]));
    // Token length varint of 2^62 - 1.
    let mut p = quic_long(8, &[1; 8]);
    p.extend_from_slice(&[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    p.extend_from_slice(&[0; 1200]);
    v.push(p);
    // Packet length varint far beyond the datagram, then a second coalesced packet.
    let mut p = quic_long(8, &[1; 8]);
    p.extend_from_slice(&[0, 0, 0xbf, 0xff, 0xff, 0xff]);
    p.extend_from_slice(&[0; 1200]);
    v.push(p);
    // Length 0 then a coalesced packet that is itself truncated.
    let mut p = quic_long(8, &[1; 8]);
    p.extend_from_slice(&[0, 0, 0, 0]);
    p.extend(quic_long(8, &[1; 4]));
    p.resize(1200, 0);
    v.push(p);
    for (i, p) in v.iter().enumerate() {
        pcap.push(&udp(C, S, 50_000 + i as u16, 443, p));
    }
    let (flows, _) = one(&pcap, "quic");
    assert_eq!(flows.len(), v.len());
    for f in &flows {
        println!("quic: protocol {} quic {}", f["protocol"], f["quic"]);
    }
}

#[test]
fn stun_with_ten_thousand_attributes() {
    let mut msg = vec![0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42];
    msg.extend_from_slice(&[9; 12]);
    for k in 0..10_000u16 {
        // Unknown comprehension-optional attributes of length 0.
        msg.extend_from_slice(&(0x8100 + (k % 0x100)).to_be_bytes());
        msg.extend_from_slice(&[0, 0]);
    }
    let len = (msg.len() - 20) as u16;
    msg[2..4].copy_from_slice(&len.to_be_bytes());
    let mut pcap = Pcap::ethernet();
    pcap.push(&udp(C, S, 50_000, 3478, &msg));
    pcap.push(&udp(S, C, 3478, 50_000, &msg));
    let started = std::time::Instant::now();
    let (flows, _) = one(&pcap, "stun");
    assert_eq!(flows.len(), 1);
    println!(
        "stun: protocol {} media {}",
        flows[0]["protocol"], flows[0]["media"]
    );
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn rtp_with_absurd_csrc_counts_and_ssrc_churn() {
    let mut pcap = Pcap::ethernet();
    for k in 0..2000u32 {
        // CC = 15 claims 60 bytes of CSRCs; the packet alternates between having them and
        // being 12 bytes long. The SSRC changes every packet.
        let mut p = vec![0x8f, 0x60];
        p.extend_from_slice(&(k as u16).to_be_bytes());
        p.extend_from_slice(&(k * 960).to_be_bytes());
        p.extend_from_slice(&k.wrapping_mul(2_654_435_761).to_be_bytes());
        if k % 2 == 0 {
            p.extend_from_slice(&[0xcc; 60]);
            p.extend_from_slice(&[0; 40]);
        }
        pcap.push(&udp(C, S, 40_000, 40_002, &p));
    }
    let (flows, _) = one(&pcap, "rtp");
    assert_eq!(flows.len(), 1);
    let f = &flows[0];
    println!("rtp: protocol {} media {}", f["protocol"], f["media"]);
    let text = f.to_string();
    assert!(
        text.len() < 64 << 10,
        "the record stays small: {} bytes",
        text.len()
    );
}

#[test]
fn sip_with_huge_headers() {
    let mut pcap = Pcap::ethernet();
    // One 60 KB header line over UDP.
    let mut big =
        b"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nSubject: ".to_vec();
    big.extend(std::iter::repeat_n(b'A', 60_000));
    big.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    pcap.push(&udp(C, S, 5060, 5060, &big));
    // 5000 headers and a Content-Length of 10^20 over UDP.
    let mut many = b"INVITE sip:bob@example.com SIP/2.0\r\n".to_vec();
    for k in 0..5000 {
        many.extend_from_slice(format!("X-H{k}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"Content-Length: 100000000000000000000\r\n\r\nv=0\r\n");
    pcap.push(&udp(C, S, 5062, 5060, &many));
    // Over TCP: the same, spread over segments, never ending its headers.
    let sport = 40_100;
    pcap.push(&tcp(C, S, sport, 5060, 1000, SYN, b""));
    pcap.push(&tcp(S, C, 5060, sport, 5000, SYN | ACK, b""));
    let mut stream = b"REGISTER sip:example.com SIP/2.0\r\nVia: x\r\nX-Long: ".to_vec();
    stream.extend(std::iter::repeat_n(b'B', 100_000));
    for (k, seg) in stream.chunks(1400).enumerate() {
        pcap.push(&tcp(C, S, sport, 5060, 1001 + (k * 1400) as u32, ACK, seg));
    }
    let (flows, _) = one(&pcap, "sip");
    assert_eq!(flows.len(), 3);
    for f in &flows {
        println!("sip: protocol {} sip {}", f["protocol"], f["sip"]);
        assert!(
            f.to_string().len() < 16 << 10,
            "no huge header is copied into the record"
        );
    }
}

/// The capture of `/work/shared/eval/hostile_pcap.py`, built the same way, with more
/// terminal tricks in the SNI: OSC title, BEL, CSI colours, a C1 CSI and a bidi override.
fn hostile_capture(dir: &Path) -> std::path::PathBuf {
    let mut pcap = Pcap::ethernet();
    let sni = "evil\u{1b}]0;pwned\u{7}\u{1b}[31m.example\u{1b}[0m\u{9b}2J\u{202e}gpj.exe";
    tls_connection(&mut pcap, C, S, 40_000, &client_hello(sni.as_bytes()));
    pcap.write(dir, "hostile.pcap")
}

#[test]
fn hostile_sni_is_escaped_in_text_and_json() {
    let dir = TempDir::new("hostile");
    let path = hostile_capture(dir.path());
    let (code, text, err) = run_bin(&[
        OsStr::new("replay"),
        path.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("text"),
    ]);
    assert_eq!(code, 0, "{err}");
    for bad in [0x1b, 0x07] {
        assert!(!text.contains(&bad), "raw {bad:#x} in text output");
    }
    let text = String::from_utf8(text).expect("UTF-8");
    assert!(
        !text.chars().any(harness::is_raw_control),
        "raw control in:\n{text}"
    );
    assert!(
        !text.contains('\u{202e}'),
        "raw bidi override in text output"
    );
    assert!(text.contains("evil\\u{1b}]0;pwned"), "{text}");

    for format in ["json", "ndjson"] {
        let (code, out, err) = run_bin(&[
            OsStr::new("replay"),
            path.as_os_str(),
            OsStr::new("--format"),
            OsStr::new(format),
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(!out.contains(&0x1b) && !out.contains(&0x07));
        let out = String::from_utf8(out).expect("UTF-8");
        let docs: Vec<Value> = if format == "json" {
            vec![serde_json::from_str(&out).expect("valid JSON")]
        } else {
            out.lines()
                .map(|l| serde_json::from_str(l).expect("valid NDJSON"))
                .collect()
        };
        assert!(out.contains("\\u001b]0;pwned\\u0007"), "{out}");
        assert!(docs.iter().any(|d| d.to_string().contains("pwned")));
    }

    // The same file made by the shared script, when python3 is there.
    let script = Path::new("/work/shared/eval/hostile_pcap.py");
    let py = dir.path().join("py.pcap");
    let made = script.exists()
        && std::process::Command::new("python3")
            .arg(script)
            .arg(&py)
            .status()
            .is_ok_and(|s| s.success());
    if made {
        let (code, text, _) = run_bin(&[
            OsStr::new("replay"),
            py.as_os_str(),
            OsStr::new("--format"),
            OsStr::new("text"),
        ]);
        assert_eq!(code, 0);
        assert!(!text.contains(&0x1b) && !text.contains(&0x07));
    }
}
