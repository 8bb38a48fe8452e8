//! Micro-benchmarks of the per-packet hot paths, on bytes the project recorded itself
//! (`captures/`): the decoder, the flow table, and the dissectors that run on most flows
//! (TLS ClientHello, QUIC Initial, DNS, STUN, RTP) and every other dissector (DTLS, HTTP,
//! SIP, SDP, Zoom), and the whole analysis with NDJSON output. `cargo bench --bench
//! hot_paths`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use leakscope::analyze::{Analyzer, AnalyzerConfig};
use leakscope::capture::file::FileSource;
use leakscope::capture::{Frame, LinkType};
use leakscope::decode::{self, Decoded};
use leakscope::dissect::dtls::{self, DtlsInfo, DtlsTracker};
use leakscope::dissect::http::{HttpInfo, HttpTracker};
use leakscope::dissect::quic::{QuicInfo, QuicTracker};
use leakscope::dissect::tls::cert::CertCache;
use leakscope::dissect::zoom::{self, ZoomSummary, ZoomTracker};
use leakscope::dissect::{dns, rtp, sdp, sip, stun, tls};
use leakscope::flow::{FlowConfig, FlowTable};
use leakscope::model::{Direction, Endpoint, FlowKey, IpProto, Timestamp};
use leakscope::report::ndjson::NdjsonSink;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

/// Every frame of a project capture, owned.
fn frames(name: &str) -> Vec<(LinkType, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(mut src) = FileSource::open(Path::new("captures").join(name).as_path()) {
        while let Some(Ok(f)) = src.next_frame() {
            out.push((f.link, f.data.to_vec()));
        }
    }
    out
}

/// Transport payloads (with ports) of a capture's frames.
fn payloads(name: &str) -> Vec<(u16, u16, IpProto, Vec<u8>)> {
    frames(name)
        .iter()
        .filter_map(|(link, data)| match decode::decode(*link, data) {
            Decoded::Packet(p) => Some((p.sport, p.dport, p.proto, p.payload.to_vec())),
            _ => None,
        })
        .collect()
}

fn first_payload(name: &str, pick: impl Fn(u16, u16, IpProto, &[u8]) -> bool) -> Vec<u8> {
    payloads(name)
        .into_iter()
        .find(|(s, d, proto, p)| pick(*s, *d, *proto, p))
        .map(|(_, _, _, p)| p)
        .unwrap_or_default()
}

fn dissectors(c: &mut Criterion) {
    let hello = first_payload("tls13_zoom.pcap", |_, _, proto, p| {
        proto == IpProto::TCP && p.len() > 9 && p[0] == 0x16 && p[5] == 1
    });
    assert!(
        !hello.is_empty(),
        "no ClientHello in captures/tls13_zoom.pcap"
    );
    let msg = hello[5..].to_vec();
    let mut g = c.benchmark_group("dissect");
    g.throughput(Throughput::Bytes(msg.len() as u64));
    g.bench_function("tls_client_hello", |b| {
        b.iter(|| tls::parse_client_hello_message(black_box(&msg)))
    });
    g.bench_function("tls_ja3_ja4", |b| {
        let ch = tls::parse_client_hello_message(&msg).unwrap_or_default();
        b.iter(|| (tls::ja3(black_box(&ch)), tls::ja4(black_box(&ch), 't')))
    });

    let initial = first_payload("quic_v1.pcap", |_, d, proto, p| {
        proto == IpProto::UDP && d == 443 && p.first().is_some_and(|b| b & 0x80 != 0)
    });
    assert!(
        !initial.is_empty(),
        "no QUIC Initial in captures/quic_v1.pcap"
    );
    g.throughput(Throughput::Bytes(initial.len() as u64));
    g.bench_function("quic_initial", |b| {
        b.iter_batched(
            || (QuicTracker::default(), QuicInfo::default()),
            |(mut t, mut info)| {
                t.on_datagram(Direction::ToServer, black_box(&initial), &mut info);
                info
            },
            BatchSize::SmallInput,
        )
    });

    let answer = first_payload("dns_udp_tcp.pcap", |s, _, proto, p| {
        proto == IpProto::UDP && s == 53 && !p.is_empty()
    });
    assert!(
        !answer.is_empty(),
        "no DNS response in captures/dns_udp_tcp.pcap"
    );
    g.throughput(Throughput::Bytes(answer.len() as u64));
    g.bench_function("dns_response", |b| {
        b.iter(|| dns::parse(black_box(&answer)))
    });

    let binding = first_payload("webrtc_p2p.pcap", |_, _, proto, p| {
        proto == IpProto::UDP && stun::looks_like_stun(p)
    });
    assert!(!binding.is_empty(), "no STUN in captures/webrtc_p2p.pcap");
    g.throughput(Throughput::Bytes(binding.len() as u64));
    g.bench_function("stun", |b| b.iter(|| stun::parse(black_box(&binding))));

    let media = first_payload("sip_rtp_plain.pcap", |s, d, proto, p| {
        proto == IpProto::UDP && s != 5060 && d != 5060 && rtp::parse_rtp(p).is_ok()
    });
    assert!(!media.is_empty(), "no RTP in captures/sip_rtp_plain.pcap");
    g.throughput(Throughput::Bytes(media.len() as u64));
    g.bench_function("rtp", |b| b.iter(|| rtp::parse_rtp(black_box(&media))));
    other_dissectors(&mut g);
    g.finish();
}

/// The dissectors that run on fewer flows: a whole DTLS handshake, an HTTP exchange, a SIP
/// INVITE and its SDP body, Zoom media.
fn other_dissectors(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    // Every DTLS datagram of a WebRTC call, oriented by the first one's sender.
    let datagrams: Vec<(u16, Vec<u8>)> = payloads("webrtc_p2p_dtls12.pcap")
        .into_iter()
        .filter(|(_, _, proto, p)| *proto == IpProto::UDP && dtls::looks_like_dtls(p))
        .map(|(s, _, _, p)| (s, p))
        .collect();
    let client = datagrams.first().map(|(s, _)| *s);
    let handshake: Vec<(Direction, Vec<u8>)> = datagrams
        .into_iter()
        .map(|(s, p)| {
            let dir = if Some(s) == client {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            (dir, p)
        })
        .collect();
    assert!(
        handshake.len() >= 4,
        "no DTLS handshake in captures/webrtc_p2p_dtls12.pcap"
    );
    let bytes: usize = handshake.iter().map(|(_, p)| p.len()).sum();
    g.throughput(Throughput::Bytes(bytes as u64));
    // Cold: every handshake parses its certificates. Warm: through the cache the engine
    // shares between flows, as for a peer seen before.
    g.bench_function("dtls_handshake", |b| {
        b.iter_batched(
            || (DtlsTracker::default(), DtlsInfo::default()),
            |(mut t, mut info)| {
                for (dir, p) in &handshake {
                    t.on_datagram(*dir, black_box(p), &mut info);
                }
                info
            },
            BatchSize::SmallInput,
        )
    });
    let mut certs = CertCache::default();
    g.bench_function("dtls_handshake_cached", |b| {
        b.iter_batched(
            || (DtlsTracker::default(), DtlsInfo::default()),
            |(mut t, mut info)| {
                for (dir, p) in &handshake {
                    t.on_datagram_cached(*dir, black_box(p), &mut info, &mut certs);
                }
                info
            },
            BatchSize::SmallInput,
        )
    });

    let request = first_payload("http_plain.pcap", |_, d, proto, p| {
        proto == IpProto::TCP && d == 80 && !p.is_empty()
    });
    let response = first_payload("http_plain.pcap", |s, _, proto, p| {
        proto == IpProto::TCP && s == 80 && !p.is_empty()
    });
    assert!(
        !request.is_empty() && !response.is_empty(),
        "no HTTP exchange in captures/http_plain.pcap"
    );
    g.throughput(Throughput::Bytes((request.len() + response.len()) as u64));
    g.bench_function("http_exchange", |b| {
        b.iter_batched(
            || (HttpTracker::new(), HttpInfo::default()),
            |(mut t, mut info)| {
                t.on_stream(Direction::ToServer, black_box(&request), &mut info);
                t.on_stream(Direction::ToClient, black_box(&response), &mut info);
                info
            },
            BatchSize::SmallInput,
        )
    });

    let invite = first_payload("sip_rtp_plain.pcap", |_, _, proto, p| {
        proto == IpProto::UDP && p.starts_with(b"INVITE ")
    });
    assert!(
        !invite.is_empty(),
        "no INVITE in captures/sip_rtp_plain.pcap"
    );
    g.throughput(Throughput::Bytes(invite.len() as u64));
    g.bench_function("sip_invite", |b| {
        b.iter(|| {
            sip::parse_message(black_box(&invite), true)
                .map(|(m, n)| (m.header(sip::Header::CallId).map(<[u8]>::len), n))
        })
    });
    let body = sip::parse_message(&invite, true)
        .map(|(m, _)| m.body.to_vec())
        .unwrap_or_default();
    assert!(!body.is_empty(), "the INVITE has no SDP body");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("sdp_offer", |b| b.iter(|| sdp::parse_sdp(black_box(&body))));

    // A Zoom multimedia-router datagram: the 8-byte SFU header, a type-15 audio
    // encapsulation, RTP at its documented offset 19 (zoom.lua).
    let mut datagram = vec![zoom::SFU_TYPE_MEDIA, 0x12, 0x34, 0, 0, 0, 0, 4];
    let mut media = vec![0u8; 19];
    media[0] = 15;
    datagram.extend_from_slice(&media);
    datagram.extend_from_slice(&[0x90, 112, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0xa]);
    datagram.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0]);
    datagram.extend_from_slice(&[0x5a; 120]);
    assert!(matches!(
        zoom::parse_server(&datagram),
        Some(zoom::ServerPacket::Media { .. })
    ));
    g.throughput(Throughput::Bytes(datagram.len() as u64));
    g.bench_function("zoom_media", |b| {
        b.iter_batched(
            || {
                let mut t = ZoomTracker::default();
                t.port_hint = true;
                (t, ZoomSummary::default())
            },
            |(mut t, mut sum)| {
                for _ in 0..4 {
                    black_box(t.on_datagram(Direction::ToServer, black_box(&datagram), &mut sum));
                }
                sum
            },
            BatchSize::SmallInput,
        )
    });
}

fn decoder(c: &mut Criterion) {
    let all: Vec<(LinkType, Vec<u8>)> = [
        "tls13_zoom.pcap",
        "quic_v1.pcap",
        "sip_rtp_plain.pcap",
        "webrtc_p2p.pcap",
    ]
    .iter()
    .flat_map(|n| frames(n))
    .collect();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(all.len() as u64));
    g.bench_function("frames", |b| {
        b.iter(|| {
            all.iter()
                .filter(|(link, data)| {
                    matches!(decode::decode(*link, black_box(data)), Decoded::Packet(_))
                })
                .count()
        })
    });
    g.finish();
}

const FLOWS: u32 = 100_000;

fn key(i: u32) -> (FlowKey, Endpoint, Endpoint) {
    let client = Endpoint::new(
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i >> 16))),
        i as u16,
    );
    let server = Endpoint::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 443);
    let (k, _) = FlowKey::new(IpProto::TCP, client, server);
    (k, client, server)
}

fn flow_table(c: &mut Criterion) {
    let keys: Vec<_> = (0..FLOWS).map(key).collect();
    let fill = |table: &mut FlowTable| {
        for (i, (k, cl, sv)) in keys.iter().enumerate() {
            table.insert(
                *k,
                *cl,
                *sv,
                Timestamp::from_secs(i as u64 / 1000),
                &mut |_, _| {},
            );
        }
    };
    let mut g = c.benchmark_group("flow_table");
    g.throughput(Throughput::Elements(u64::from(FLOWS)));
    g.bench_function("insert", |b| {
        b.iter_batched(
            || FlowTable::new(FlowConfig::default()),
            |mut t| {
                fill(&mut t);
                t
            },
            BatchSize::LargeInput,
        )
    });
    let mut table = FlowTable::new(FlowConfig::default());
    fill(&mut table);
    g.bench_function("lookup_touch", |b| {
        b.iter(|| {
            for (k, _, _) in &keys {
                if let Some(idx) = table.get(black_box(k)) {
                    table.touch(idx);
                }
            }
        })
    });
    g.bench_function("expire_all", |b| {
        b.iter_batched(
            || {
                let mut t = FlowTable::new(FlowConfig::default());
                fill(&mut t);
                t
            },
            |mut t| {
                let mut n = 0u32;
                t.expire(Timestamp::from_secs(100_000), &mut |_, _| n += 1);
                n
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// Every frame of the project's captures with its time: decode → flows → dissectors →
/// classify → verdict → NDJSON (written to a sink that discards it).
fn analysis(c: &mut Criterion) {
    let mut all = Vec::new();
    for name in [
        "tls13_zoom.pcap",
        "quic_v1.pcap",
        "webrtc_p2p.pcap",
        "dns_udp_tcp.pcap",
        "http_plain.pcap",
    ] {
        if let Ok(mut src) = FileSource::open(Path::new("captures").join(name).as_path()) {
            while let Some(Ok(f)) = src.next_frame() {
                all.push((f.ts, f.link, f.orig_len, f.data.to_vec()));
            }
        }
    }
    let mut g = c.benchmark_group("analysis");
    g.throughput(Throughput::Elements(all.len() as u64));
    let config = AnalyzerConfig::default();
    g.bench_function("replay_ndjson", |b| {
        b.iter_batched(
            || Analyzer::new(config.clone()),
            |mut analyzer| {
                let mut sink = NdjsonSink::new(Box::new(std::io::sink()));
                analyzer.begin_input("bench");
                for (ts, link, orig_len, data) in &all {
                    let frame = Frame {
                        ts: *ts,
                        link: *link,
                        data,
                        orig_len: *orig_len,
                    };
                    let _ = analyzer.ingest(&frame, &mut sink);
                }
                let _ = analyzer.finish(&mut sink);
                analyzer.stats().flows_reported
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, dissectors, decoder, flow_table, analysis);
criterion_main!(benches);
