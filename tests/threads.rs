//! `replay --threads N` writes the same NDJSON, byte for byte, as one thread: every recorded
//! capture, all of them as one run, and a generated capture built to stress the merge (DNS
//! answers naming flows on other shards, many flows idling out at the same sweep, closed
//! connections reopened, IP fragments completed and abandoned, time going backwards).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use leakscope::analyze::AnalyzerConfig;
use leakscope::engine::EngineConfig;
use leakscope::flow::FlowConfig;
use leakscope::model::Timestamp;
use leakscope::report::ndjson::NdjsonSink;
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use support::*;

/// How a run is split: the one-thread path, or the sharded pipeline with N shards.
#[derive(Clone, Copy, Debug)]
enum Split {
    Single,
    Shards(usize),
}

const SPLITS: [Split; 4] = [
    Split::Single,
    Split::Shards(1),
    Split::Shards(2),
    Split::Shards(3),
];

fn replay(paths: &[PathBuf], config: impl Fn() -> AnalyzerConfig, split: Split) -> String {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    {
        let mut sink = NdjsonSink::new(Box::new(&mut out));
        let mut on_error = |e: &str| errors.push(e.to_string());
        let outcome = match split {
            Split::Single => {
                leakscope::replay::replay_threads(paths, config(), 1, &mut sink, &mut on_error)
            }
            Split::Shards(n) => {
                leakscope::parallel::replay(paths, config(), n, &mut sink, &mut on_error)
            }
        };
        assert!(outcome.is_ok(), "{paths:?} {split:?}: {outcome:?}");
    }
    let mut text = String::from_utf8(out).unwrap();
    for e in errors {
        text.push_str(&format!("error: {e}\n"));
    }
    text
}

/// Every split gives the single-threaded output; returns it.
fn assert_same(paths: &[PathBuf], config: impl Fn() -> AnalyzerConfig) -> String {
    let single = replay(paths, &config, Split::Single);
    for split in SPLITS {
        let got = replay(paths, &config, split);
        if got != single {
            let first = single
                .lines()
                .zip(got.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{paths:?}: {split:?} differs from one thread at line {}:\n  one: {}\n  {split:?}: {}",
                first + 1,
                single.lines().nth(first).unwrap_or("<end>"),
                got.lines().nth(first).unwrap_or("<end>"),
            );
        }
    }
    single
}

#[test]
fn every_capture_is_the_same_on_any_number_of_threads() {
    let files = project_captures();
    assert!(files.len() >= 10, "captures/ holds {} files", files.len());
    for path in &files {
        assert_same(std::slice::from_ref(path), AnalyzerConfig::default);
    }
}

#[test]
fn all_captures_as_one_run_are_the_same_on_any_number_of_threads() {
    let files = project_captures();
    let out = assert_same(&files, AnalyzerConfig::default);
    let flows = out
        .lines()
        .filter(|l| l.contains(r#""record":"flow""#))
        .count();
    assert!(flows > 30, "{flows} flows");
}

/// A DNS response (RFC 1035 §4.1) for `name` with one A record per address.
fn dns_response(id: u16, name: &str, addrs: &[[u8; 4]], ttl: u32) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x81, 0x80, 0, 1]);
    m.extend_from_slice(&(addrs.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    for a in addrs {
        // A pointer to the question's name (offset 12).
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&[0, 4]);
        m.extend_from_slice(a);
    }
    m
}

const CLIENT: [u8; 4] = [10, 0, 0, 7];
const RESOLVER: [u8; 4] = [10, 0, 0, 53];

fn server(i: u32) -> [u8; 4] {
    [198, 51, (i / 200) as u8, (i % 200) as u8 + 1]
}

/// A capture that exercises every path of the merge, over several batches of frames.
fn stress_capture() -> Pcap {
    let mut p = Pcap::ethernet();
    let sec = 1_000_000;
    for round in 0..6u32 {
        // Names first, on the resolver's flow (one shard), for servers on every shard.
        for i in 0..40u32 {
            let n = round * 40 + i;
            let name = format!("host{n}.example.net");
            let sport = 20_000 + n as u16;
            p.push(&udp(CLIENT, RESOLVER, sport, 53, &[0; 12]));
            p.push(&udp(
                RESOLVER,
                CLIENT,
                53,
                sport,
                &dns_response(n as u16, &name, &[server(n)], 30),
            ));
        }
        // Connections to the named servers, interleaved.
        for i in 0..40u32 {
            let n = round * 40 + i;
            let hello = client_hello(format!("host{n}.example.net").as_bytes());
            tls_connection(&mut p, CLIENT, server(n), 40_000 + n as u16, &hello);
        }
        // Half of them close; one closed tuple is reopened at once.
        for i in (0..40u32).step_by(2) {
            let n = round * 40 + i;
            let (c, s, cp) = (CLIENT, server(n), 40_000 + n as u16);
            p.push(&tcp(c, s, cp, 443, 3000, FIN | ACK, b""));
            p.push(&tcp(s, c, 443, cp, 6000, FIN | ACK, b""));
        }
        let n = round * 40;
        p.push(&tcp(
            CLIENT,
            server(n),
            40_000 + n as u16,
            443,
            9000,
            SYN,
            b"",
        ));
        // UDP chatter that all goes idle together.
        for i in 0..30u32 {
            p.push(&udp(
                CLIENT,
                server(1000 + i),
                50_000 + i as u16,
                3478,
                &[0; 20],
            ));
        }
        // A datagram in two fragments, and one whose second half never comes.
        let body = {
            let mut b = udp(CLIENT, server(2000 + round), 5000, 9999, &[7; 40]);
            b.drain(..34);
            b
        };
        p.push(&ipv4_fragment(
            CLIENT,
            server(2000 + round),
            17,
            100 + round as u16,
            0,
            true,
            &body[..24],
        ));
        p.push(&ipv4_fragment(
            CLIENT,
            server(2000 + round),
            17,
            100 + round as u16,
            24,
            false,
            &body[24..],
        ));
        p.push(&ipv4_fragment(
            CLIENT,
            server(3000 + round),
            17,
            200 + round as u16,
            0,
            true,
            &body[..24],
        ));
        // A frame from the past.
        let now = p.now_us;
        p.push_at(now - 5 * sec, &udp(CLIENT, RESOLVER, 1, 53, &[0; 12]));
        // Quiet long enough for the UDP flows, fragments and closed flows to time out.
        p.now_us += 20 * sec;
    }
    // Enough filler frames for several batches: one flow on every shard, packets alternating.
    for k in 0..20_000u32 {
        let i = k % 16;
        p.push(&udp(
            CLIENT,
            server(4000 + i),
            60_000 + i as u16,
            443,
            &[1; 64],
        ));
    }
    // An abandoned fragment at the very end (reported at end of input).
    p.push(&ipv4_fragment(
        CLIENT,
        server(5000),
        17,
        999,
        0,
        true,
        &[0; 24],
    ));
    p
}

fn short_timeouts() -> AnalyzerConfig {
    let s = Timestamp::NANOS_PER_SEC;
    AnalyzerConfig {
        engine: EngineConfig {
            flow: FlowConfig {
                udp_timeout_ns: 10 * s,
                tcp_timeout_ns: 15 * s,
                other_timeout_ns: 10 * s,
                closed_linger_ns: 5 * s,
                ..FlowConfig::default()
            },
        },
        ..AnalyzerConfig::default()
    }
}

#[test]
fn generated_stress_capture_is_the_same_on_any_number_of_threads() {
    let dir = TempDir::new("threads");
    let path = stress_capture().write(dir.path(), "stress.pcap");
    let out = assert_same(std::slice::from_ref(&path), short_timeouts);

    // The capture did stress what it meant to.
    let records: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let flows: Vec<&Value> = records.iter().filter(|r| r["record"] == "flow").collect();
    let ended = |reason: &str| flows.iter().filter(|f| f["end_reason"] == reason).count();
    assert!(ended("idle") >= 150, "idle {}", ended("idle"));
    assert!(ended("closed") >= 100, "closed {}", ended("closed"));
    let named = flows
        .iter()
        .filter(|f| f.to_string().contains(".example.net"))
        .count();
    assert!(named >= 200, "{named} flows named");
    let summary = records.last().unwrap();
    assert_eq!(summary["record"], "summary");
    assert!(
        summary["defrag"].to_string().contains(r#""reassembled":6"#),
        "{}",
        summary["defrag"]
    );
    assert!(summary["packets"]["time_went_backwards"].as_u64() >= Some(6));

    // The same capture twice in one run, and then with its ids: flow ids count from 0 in
    // creation order and each appears once.
    let out = assert_same(&[path.clone(), path], short_timeouts);
    let mut ids: Vec<u64> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["record"] == "flow")
        .filter_map(|r| r["id"].as_u64())
        .collect();
    ids.sort_unstable();
    assert!(
        ids.iter().enumerate().all(|(i, id)| i as u64 == *id),
        "{ids:?}"
    );
}

/// A capture big enough to be read ahead (4 MiB on disk, compressed or not): the stress
/// capture, then incompressible datagrams.
fn big_capture() -> Pcap {
    let mut p = stress_capture();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut payload = [0u8; 1400];
    for i in 0..3200u32 {
        for b in payload.chunks_exact_mut(8) {
            // xorshift64: bytes gzip cannot shrink.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.copy_from_slice(&x.to_le_bytes());
        }
        p.push(&udp(CLIENT, server(3000 + i % 4), 60_000, 7000, &payload));
    }
    p
}

/// A compressed capture is read ahead (and decompressed) on a thread of its own, and a big
/// plain one too when a core is spare (each split decides for itself, so on a small
/// machine some splits read in place): the same records on every split, and the same
/// records from the compressed file as from the plain one.
#[test]
fn big_and_gzip_captures_are_the_same_on_any_number_of_threads() {
    use std::io::Write;
    let dir = TempDir::new("threads-gzip");
    let plain = big_capture().write(dir.path(), "big.pcap");
    let bytes = std::fs::read(&plain).unwrap();
    let gz = dir.path().join("big.pcap.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    for path in [&plain, &gz] {
        let len = std::fs::metadata(path).unwrap().len();
        assert!(
            len >= 4 << 20,
            "{path:?}: {len} bytes, too small to be read ahead"
        );
    }
    let out = assert_same(std::slice::from_ref(&gz), short_timeouts);
    let unzipped = assert_same(std::slice::from_ref(&plain), short_timeouts);
    let name = |p: &Path| serde_json::to_string(&p.display().to_string()).unwrap();
    assert_eq!(out.replace(&name(&gz), &name(&plain)), unzipped);
    assert!(
        unzipped.contains(r#""port":7000"#),
        "the bulk flow is reported"
    );
}

/// Far more flows left open at the end of input than the shards' queues hold in drained
/// chunks: the end-of-input hand-over must not wait on a channel nobody reads (the one-shard
/// pipeline deadlocked here while its reader held the merger's channel open).
#[test]
fn many_flows_open_at_end_of_input_are_drained_on_any_number_of_threads() {
    const FLOWS: u32 = 40_000;
    let dir = TempDir::new("threads-drain");
    let mut p = Pcap::ethernet();
    for k in 0..FLOWS {
        let dst = [203, 0, (k / 250) as u8, (k % 250) as u8 + 1];
        p.push(&udp(CLIENT, dst, 1024 + (k % 60_000) as u16, 9, &[0; 8]));
    }
    let path = p.write(dir.path(), "open-flows.pcap");
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let out = assert_same(std::slice::from_ref(&path), AnalyzerConfig::default);
        let _ = done_tx.send(out);
    });
    // A hang is a failure with a message, not a stuck test run.
    let out = done_rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("replay with threads finished within 2 minutes");
    let flows = out
        .lines()
        .filter(|l| l.contains(r#""record":"flow""#))
        .count();
    assert_eq!(flows, FLOWS as usize);
}

#[test]
fn cli_threads_flag_gives_the_same_output() {
    let files: Vec<PathBuf> = project_captures().into_iter().take(4).collect();
    let run = |threads: &str| {
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("replay"),
            OsStr::new("--format"),
            OsStr::new("ndjson"),
            OsStr::new("--threads"),
            OsStr::new(threads),
        ];
        args.extend(files.iter().map(|p| p.as_os_str()));
        let (code, out, err) = run_bin(&args);
        assert_eq!(code, 0, "--threads {threads}: {err}");
        out
    };
    let one = run("1");
    assert!(!one.is_empty());
    assert_eq!(run("2"), one);
    assert_eq!(run("0"), one);
    let (code, _, err) = run_bin(&[
        OsStr::new("replay"),
        OsStr::new("--threads"),
        OsStr::new("65"),
        Path::new("captures").as_os_str(),
    ]);
    assert_eq!(code, 2, "{err}");
}
