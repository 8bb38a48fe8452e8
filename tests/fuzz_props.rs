//! The fuzz entry points of `tests/support/harness.rs` under proptest: random bytes and
//! mutated seeds (flows cut from `captures/`, signature files from `signatures/`), a few
//! hundred cases each so the whole file runs in seconds. The cargo-fuzz targets in `fuzz/`
//! run the same entry points for as long as one likes.
//!
//! Inputs that once crashed a target live in `fuzz/regressions/<target>/` and are replayed
//! by [`regressions_do_not_crash`].

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use leakscope::capture::FileSource;
use leakscope::decode::Decoded;
use leakscope::model::{Direction, Endpoint, FlowKey, IpProto};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use support::harness;

/// Seed inputs per target, made once from the project's own captures and signature files.
struct Seeds {
    by_target: BTreeMap<&'static str, Vec<Vec<u8>>>,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files_in(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == ext));
    v.sort();
    v
}

/// One flow's payloads in capture order.
#[derive(Default)]
struct FlowPayloads {
    proto: u8,
    ports: (u16, u16),
    client: Option<Endpoint>,
    recs: Vec<(Direction, Vec<u8>)>,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut by: BTreeMap<&'static str, Vec<Vec<u8>>> = BTreeMap::new();
        for path in files_in(&root().join("captures"), "pcap") {
            let file = std::fs::read(&path).expect("read capture");
            if file.len() <= 8 << 10 {
                by.entry("capture").or_default().push(file.clone());
            }
            if let Some(body) = file.get(24..) {
                // Keep pipeline seeds small: the first 40 records at most.
                by.entry("pipeline")
                    .or_default()
                    .push(first_records(body, 40));
            }
            let mut index: HashMap<FlowKey, usize> = HashMap::new();
            let mut flows: Vec<FlowPayloads> = Vec::new();
            let mut frames = Vec::new();
            let mut src = FileSource::open(&path).expect("open capture");
            while let Some(Ok(f)) = src.next_frame() {
                if frames.len() < 32 {
                    frames.push(f.data.to_vec());
                }
                let Decoded::Packet(p) = leakscope::decode::decode(f.link, f.data) else {
                    continue;
                };
                let (s, d) = (Endpoint::new(p.src, p.sport), Endpoint::new(p.dst, p.dport));
                let (key, _) = FlowKey::new(p.proto, s, d);
                let i = *index.entry(key).or_insert_with(|| {
                    flows.push(FlowPayloads::default());
                    flows.len() - 1
                });
                let fl = &mut flows[i];
                let client = *fl.client.get_or_insert(s);
                fl.proto = p.proto.0;
                fl.ports = (p.sport, p.dport);
                if !p.payload.is_empty() && fl.recs.len() < 64 {
                    let dir = if s == client {
                        Direction::ToServer
                    } else {
                        Direction::ToClient
                    };
                    fl.recs.push((dir, p.payload.to_vec()));
                }
            }
            by.entry("decode").or_default().push(harness::frame_records(
                frames.iter().map(|b| (Direction::ToServer, b.as_slice())),
            ));
            for fl in flows.iter().filter(|f| !f.recs.is_empty()) {
                let framed =
                    harness::frame_records(fl.recs.iter().map(|(d, b)| (*d, b.as_slice())));
                let first = fl.recs[0].1.clone();
                let port = |p: u16| fl.ports.0 == p || fl.ports.1 == p;
                let targets: &[&'static str] = match (fl.proto, port(53), port(443) || port(80)) {
                    (17, true, _) => &["dns"],
                    (6, true, _) => &["dns"],
                    (6, _, true) => &["tls", "http"],
                    (6, _, _) => &["sip", "tls", "http"],
                    (17, _, true) => &["quic"],
                    (17, _, _) => &["media", "dtls", "rtp", "zoom", "sip"],
                    _ => &[],
                };
                for t in targets {
                    let v = by.entry(t).or_default();
                    if v.len() < 24 {
                        v.push(framed.clone());
                    }
                }
                if fl.proto == IpProto::UDP.0 {
                    for t in ["stun", "rtp", "dns", "dtls"] {
                        let v = by.entry(t).or_default();
                        if v.len() < 48 {
                            v.push(first.clone());
                        }
                    }
                }
            }
        }
        for dir in ["apps", "telemetry"] {
            for p in files_in(&root().join("signatures").join(dir), "toml") {
                let mut seed = vec![u8::from(dir == "telemetry")];
                seed.extend(std::fs::read(p).expect("read signature file"));
                by.entry("signatures").or_default().push(seed);
            }
        }
        // The committed hand-made seeds (`fuzz/seeds/<target>/`).
        for t in std::fs::read_dir(root().join("fuzz/seeds"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let dir_name = t.file_name().to_string_lossy().into_owned();
            let Some(name) = TARGETS.iter().find(|n| **n == dir_name) else {
                continue;
            };
            for f in std::fs::read_dir(t.path()).into_iter().flatten().flatten() {
                by.entry(name)
                    .or_default()
                    .push(std::fs::read(f.path()).expect("read seed"));
            }
        }
        by.entry("signatures")
            .or_default()
            .push(b"\x030.0.0.0 tracker.example\n||ads.example^\n".to_vec());
        Seeds { by_target: by }
    })
}

/// The first `n` pcap records of a pcap body (little-endian lengths).
fn first_records(body: &[u8], n: usize) -> Vec<u8> {
    let mut at = 0usize;
    for _ in 0..n {
        let Some(len) = body.get(at + 8..at + 12) else {
            break;
        };
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if at + 16 + len > body.len() {
            break;
        }
        at += 16 + len;
    }
    body[..at].to_vec()
}

/// Apply byte-level mutations (flip, set interesting value, insert, delete, truncate,
/// duplicate) chosen by `ops` to a copy of `seed`.
fn mutate(seed: &[u8], ops: &[(u8, u32, u8)]) -> Vec<u8> {
    const INTERESTING: [u8; 8] = [0, 1, 0x7f, 0x80, 0xfe, 0xff, 0x3f, 0x40];
    let mut v = seed.to_vec();
    for &(op, pos, val) in ops {
        let len = v.len();
        let at = if len == 0 { 0 } else { pos as usize % len };
        match op % 7 {
            0 if len > 0 => v[at] ^= 1 << (val % 8),
            1 if len > 0 => v[at] = INTERESTING[usize::from(val) % INTERESTING.len()],
            2 => v.insert(at, val),
            3 if len > 0 => {
                let end = (at + usize::from(val % 32) + 1).min(len);
                v.drain(at..end);
            }
            4 => v.truncate(at),
            5 if len > 0 => {
                let end = (at + usize::from(val) + 1).min(len);
                let chunk = v[at..end].to_vec();
                v.splice(at..at, chunk);
            }
            6 if len >= 2 => {
                // A big-endian length field set to something absurd.
                let at = at.min(len - 2);
                v[at] = 0xff;
                v[at + 1] = val;
            }
            _ => {}
        }
    }
    v
}

fn seed_and_ops() -> impl Strategy<Value = (usize, Vec<(u8, u32, u8)>)> {
    (
        any::<usize>(),
        prop::collection::vec(any::<(u8, u32, u8)>(), 1..12),
    )
}

/// For each target: one proptest of random bytes, one of mutated seeds.
macro_rules! fuzz_props {
    ($($name:ident => $target:literal, $cases:expr;)*) => {$(
        mod $name {
            use super::*;

            proptest! {
                #![proptest_config(ProptestConfig {
                    cases: $cases,
                    failure_persistence: None,
                    ..ProptestConfig::default()
                })]

                #[test]
                fn random_bytes(data in prop::collection::vec(any::<u8>(), 0..4096)) {
                    harness::$name(&data);
                }

                #[test]
                fn mutated_seeds((pick, ops) in seed_and_ops()) {
                    let all = &seeds().by_target;
                    let list = all.get($target).map(Vec::as_slice).unwrap_or_default();
                    prop_assume!(!list.is_empty());
                    let data = mutate(&list[pick % list.len()], &ops);
                    harness::$name(&data);
                }
            }

            #[test]
            fn seeds_pass() {
                let list = seeds().by_target.get($target).cloned().unwrap_or_default();
                assert!(!list.is_empty(), "no seeds for {}", $target);
                for s in &list {
                    harness::$name(s);
                }
            }
        }
    )*};
}

fuzz_props! {
    capture => "capture", 256;
    decode => "decode", 256;
    pipeline => "pipeline", 48;
    dns => "dns", 256;
    http => "http", 256;
    tls => "tls", 256;
    quic => "quic", 256;
    stun => "stun", 256;
    media => "media", 256;
    rtp => "rtp", 256;
    zoom => "zoom", 256;
    dtls => "dtls", 256;
    sip => "sip", 256;
    signatures => "signatures", 64;
}

/// Every target's name (as in `fuzz/fuzz_targets/`).
const TARGETS: [&str; 14] = [
    "capture",
    "decode",
    "pipeline",
    "dns",
    "http",
    "tls",
    "quic",
    "stun",
    "media",
    "rtp",
    "zoom",
    "dtls",
    "sip",
    "signatures",
];

/// The harness function of a target name (the fuzz target's file name).
fn target_fn(name: &str) -> Option<fn(&[u8])> {
    Some(match name {
        "capture" => harness::capture,
        "decode" => harness::decode,
        "pipeline" => harness::pipeline,
        "dns" => harness::dns,
        "http" => harness::http,
        "tls" => harness::tls,
        "quic" => harness::quic,
        "stun" => harness::stun,
        "media" => harness::media,
        "rtp" => harness::rtp,
        "zoom" => harness::zoom,
        "dtls" => harness::dtls,
        "sip" => harness::sip,
        "signatures" => harness::signatures,
        _ => return None,
    })
}

/// Every input a fuzzer once crashed on (`fuzz/regressions/<target>/*`) now passes.
#[test]
fn regressions_do_not_crash() {
    let dir = root().join("fuzz/regressions");
    let Ok(targets) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut ran = 0;
    for t in targets.flatten() {
        let name = t.file_name().to_string_lossy().into_owned();
        let f = target_fn(&name).unwrap_or_else(|| panic!("unknown target dir {name}"));
        for input in std::fs::read_dir(t.path()).into_iter().flatten().flatten() {
            let bytes = std::fs::read(input.path()).expect("read regression input");
            f(&bytes);
            ran += 1;
        }
    }
    println!("{ran} regression inputs");
}
