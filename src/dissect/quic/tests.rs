//! Tracker tests: RFC vectors end to end, packets built here (split, reordered, coalesced
//! ClientHellos; gQUIC CHLOs), and random bytes.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use super::crypto::seal_packet;
use super::crypto::test_util::hex;
use super::gquic::build::{chlo, q043_packet, q046_packet};
use super::test_vectors as tv;
use super::varint::encode;
use super::*;
use proptest::prelude::*;

const DCID: &[u8] = b"\x11\x22\x33\x44\x55\x66\x77\x88";

/// The RFC 9001 A.2 ClientHello (a handshake message for example.com, 241 bytes).
fn rfc_client_hello() -> Vec<u8> {
    hex(tv::CLIENT_CRYPTO_FRAME)[4..].to_vec()
}

fn crypto_frame(ftype: u8, offset: u64, data: &[u8]) -> Vec<u8> {
    let mut f = vec![ftype];
    encode(offset, &mut f);
    encode(data.len() as u64, &mut f);
    f.extend_from_slice(data);
    f
}

/// A protected client Initial with a 4-byte packet number; `pad_to` pads the payload.
fn initial(version: QuicVersion, dcid: &[u8], pn: u64, frames: &[u8], pad_to: usize) -> Vec<u8> {
    let type_bits = if version == QuicVersion::V2 {
        0x10
    } else {
        0x00
    };
    let mut payload = frames.to_vec();
    payload.resize(payload.len().max(pad_to), 0);
    let mut header = vec![0xc3 | type_bits];
    header.extend_from_slice(&version.0.to_be_bytes());
    header.push(dcid.len() as u8);
    header.extend_from_slice(dcid);
    header.push(0); // SCID
    header.push(0); // token
    encode((4 + payload.len() + 16) as u64, &mut header);
    header.extend_from_slice(&(pn as u32).to_be_bytes());
    let keys = InitialKeys::client(version, dcid).expect("known version");
    seal_packet(&keys, &header, pn, &payload)
}

fn feed(t: &mut QuicTracker, info: &mut QuicInfo, dir: Direction, d: &[u8]) -> Progress {
    t.on_datagram(dir, d, info)
}

fn complete_hello(t: &QuicTracker) -> Vec<u8> {
    t.stream.contiguous().to_vec()
}

#[test]
fn rfc9001_client_initial_completes_the_hello() {
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    let pkt = hex(tv::V1_CLIENT_PACKET);
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &pkt),
        Progress::Done
    );
    assert_eq!(info.version, QuicVersion::V1);
    assert_eq!(info.initial_packets, 1);
    assert!(!info.decrypt_failed && !info.malformed);
    assert_eq!(complete_hello(&t), rfc_client_hello());
    let json = serde_json::to_value(&info).expect("json");
    assert_eq!(json["version"], "v1");
}

#[test]
fn rfc9369_v2_client_initial_completes_the_hello() {
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    let pkt = hex(tv::V2_CLIENT_PACKET);
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &pkt),
        Progress::Done
    );
    assert_eq!(info.version, QuicVersion::V2);
    assert_eq!(complete_hello(&t), rfc_client_hello());
}

#[test]
fn rfc9001_client_initial_gives_sni_and_ja4() {
    for packet in [tv::V1_CLIENT_PACKET, tv::V2_CLIENT_PACKET] {
        let mut t = QuicTracker::default();
        let mut info = QuicInfo::default();
        feed(&mut t, &mut info, Direction::ToServer, &hex(packet));
        assert_eq!(info.sni.as_deref(), Some("example.com"));
        assert!(info.client_hello.is_some());
        assert!(!info.client_hello_unparsed);
        assert!(
            info.ja4.as_deref().is_some_and(|j| j.starts_with("q13")),
            "{:?}",
            info.ja4
        );
    }
}

#[test]
fn hello_split_over_two_initials_arriving_out_of_order() {
    let ch = rfc_client_hello();
    let (a, b) = ch.split_at(100);
    let first = initial(QuicVersion::V1, DCID, 0, &crypto_frame(0x06, 0, a), 1162);
    let second = initial(QuicVersion::V1, DCID, 1, &crypto_frame(0x06, 100, b), 1162);
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &second),
        Progress::NeedMore
    );
    assert!(complete_hello(&t).is_empty());
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &first),
        Progress::Done
    );
    assert_eq!(complete_hello(&t), ch);
    assert_eq!(info.initial_packets, 2);
    assert!(!info.decrypt_failed);
}

#[test]
fn split_hello_gives_sni() {
    let ch = rfc_client_hello();
    let (a, b) = ch.split_at(150);
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    feed(
        &mut t,
        &mut info,
        Direction::ToServer,
        &initial(QuicVersion::V1, DCID, 0, &crypto_frame(6, 0, a), 1162),
    );
    feed(
        &mut t,
        &mut info,
        Direction::ToServer,
        &initial(QuicVersion::V1, DCID, 1, &crypto_frame(6, 150, b), 1162),
    );
    assert_eq!(info.sni.as_deref(), Some("example.com"));
}

#[test]
fn reordered_frames_in_one_packet_and_coalesced_packets() {
    let ch = rfc_client_hello();
    // Packet 1: the last 41 bytes, then the first 60 (frames out of order, Chrome-style).
    let mut frames1 = crypto_frame(0x06, 200, &ch[200..]);
    frames1.extend(crypto_frame(0x06, 0, &ch[..60]));
    frames1.push(0x01); // PING
    let p1 = initial(QuicVersion::V1, DCID, 0, &frames1, 100);
    // Packet 2 in the same datagram: the middle, after an ACK frame.
    let mut frames2 = vec![0x02, 0x00, 0x00, 0x00, 0x00];
    frames2.extend(crypto_frame(0x06, 60, &ch[60..200]));
    let p2 = initial(QuicVersion::V1, DCID, 1, &frames2, 100);
    // A 0-RTT packet follows (type bits 01); it cannot be opened and is skipped.
    let mut zero_rtt = vec![0xd3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 20];
    zero_rtt.extend_from_slice(&[0x5a; 20]);
    let mut datagram = p1;
    datagram.extend_from_slice(&p2);
    datagram.extend_from_slice(&zero_rtt);
    datagram.resize(1200, 0);
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &datagram),
        Progress::Done
    );
    assert_eq!(info.initial_packets, 2);
    assert_eq!(complete_hello(&t), ch);
    assert!(!info.malformed, "{info:?}");
}

#[test]
fn later_initials_use_the_first_dcid_keys_or_their_own() {
    let ch = rfc_client_hello();
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    let p1 = initial(
        QuicVersion::V1,
        DCID,
        0,
        &crypto_frame(6, 0, &ch[..120]),
        1162,
    );
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &p1),
        Progress::NeedMore
    );
    // After a Retry the client derives keys from the new DCID.
    let p2 = initial(
        QuicVersion::V1,
        b"newcid01",
        1,
        &crypto_frame(6, 120, &ch[120..]),
        1162,
    );
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &p2),
        Progress::Done
    );
    assert_eq!(complete_hello(&t), ch);
    assert!(!info.decrypt_failed);
}

#[test]
fn server_reply_while_reassembling_keeps_going() {
    let ch = rfc_client_hello();
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    let p1 = initial(
        QuicVersion::V1,
        DCID,
        0,
        &crypto_frame(6, 0, &ch[..120]),
        1162,
    );
    feed(&mut t, &mut info, Direction::ToServer, &p1);
    let server = hex(tv::V1_SERVER_PACKET);
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToClient, &server),
        Progress::NeedMore
    );
    assert!(info.server_seen);
    let p2 = initial(
        QuicVersion::V1,
        DCID,
        1,
        &crypto_frame(6, 120, &ch[120..]),
        1162,
    );
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &p2),
        Progress::Done
    );
}

#[test]
fn undecryptable_initial_then_server_reply_is_done() {
    let mut pkt = hex(tv::V1_CLIENT_PACKET);
    pkt[700] ^= 0x40;
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &pkt),
        Progress::NeedMore
    );
    assert!(info.decrypt_failed);
    assert_eq!(
        feed(
            &mut t,
            &mut info,
            Direction::ToClient,
            &hex(tv::V1_SERVER_PACKET)
        ),
        Progress::Done
    );
    assert!(info.server_seen);
}

#[test]
fn version_negotiation_and_retry_are_noted() {
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    // An Initial of an unknown version: probe refuses it...
    let mut unknown = hex(tv::V1_CLIENT_PACKET);
    unknown[1..5].copy_from_slice(&[0x12, 0x34, 0x56, 0x78]);
    assert!(!probe(&unknown));
    // ...while a reserved version forces Version Negotiation, and the client retries.
    let mut reserved = unknown.clone();
    reserved[1..5].copy_from_slice(&[0xba, 0xba, 0xba, 0xba]);
    assert!(probe(&reserved));
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &reserved),
        Progress::NeedMore
    );
    assert_eq!(info.version.name(), "0xbabababa");
    let vn = [0x80, 0, 0, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1];
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToClient, &vn),
        Progress::NeedMore
    );
    assert!(info.version_negotiation);
    assert_eq!(
        feed(
            &mut t,
            &mut info,
            Direction::ToServer,
            &hex(tv::V1_CLIENT_PACKET)
        ),
        Progress::Done
    );
    assert_eq!(info.version, QuicVersion::V1);
    // RFC 9001 A.4 Retry.
    let retry = hex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba");
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    feed(
        &mut t,
        &mut info,
        Direction::ToServer,
        &hex(tv::V1_CLIENT_PACKET)[..1199],
    );
    feed(&mut t, &mut info, Direction::ToClient, &retry);
    assert!(info.retry);
}

#[test]
fn non_quic_first_datagram_is_not_mine() {
    let dns = [0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &dns),
        Progress::NotMine
    );
    assert!(!probe(&[]));
    assert!(!probe(&[0xc0, 0, 0, 0]));
    assert!(probe(&hex(tv::V1_CLIENT_PACKET)));
    assert!(probe(&q043_packet(0, b"CHLO")));
    assert!(probe(&q046_packet(b"CHLO")));
}

#[test]
fn datagram_bound_ends_an_incomplete_hello() {
    let ch = rfc_client_hello();
    let p = initial(
        QuicVersion::V1,
        DCID,
        0,
        &crypto_frame(6, 0, &ch[..50]),
        1162,
    );
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    for _ in 1..MAX_CLIENT_DATAGRAMS {
        assert_eq!(
            feed(&mut t, &mut info, Direction::ToServer, &p),
            Progress::NeedMore
        );
    }
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &p),
        Progress::Done
    );
    assert!(info.crypto_incomplete);
}

#[test]
fn oversized_hello_is_flagged() {
    // A ClientHello header claiming 64 KiB: more than the reassembly bound.
    let p = initial(
        QuicVersion::V1,
        DCID,
        0,
        &crypto_frame(6, 0, &[1, 0x01, 0x00, 0x00, 3, 3]),
        1162,
    );
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &p),
        Progress::Done
    );
    assert!(info.crypto_overflow);
}

#[test]
fn draft29_uses_its_own_salt() {
    let ch = rfc_client_hello();
    let p = initial(
        QuicVersion::DRAFT_29,
        DCID,
        0,
        &crypto_frame(6, 0, &ch),
        1162,
    );
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &p),
        Progress::Done
    );
    assert_eq!(info.version.name(), "draft-29");
    assert_eq!(complete_hello(&t), ch);
}

fn youtube_chlo() -> Vec<u8> {
    chlo(&[
        (b"PAD\0", &[0x2d; 30]),
        (b"SNI\0", b"r4---sn-example.googlevideo.com"),
        (b"UAID", b"Chrome/79.0.3945.130 Windows NT 10.0; Win64; x64"),
        (b"VER\0", b"Q046"),
    ])
}

#[test]
fn gquic_q043_and_q046_chlo_in_clear() {
    let msg = youtube_chlo();
    for pkt in [q043_packet(0, &msg), q046_packet(&msg)] {
        let mut t = QuicTracker::default();
        let mut info = QuicInfo::default();
        assert_eq!(
            feed(&mut t, &mut info, Direction::ToServer, &pkt),
            Progress::Done
        );
        assert_eq!(info.sni.as_deref(), Some("r4---sn-example.googlevideo.com"));
        assert_eq!(
            info.user_agent.as_deref(),
            Some("Chrome/79.0.3945.130 Windows NT 10.0; Win64; x64")
        );
        assert!(matches!(info.version.name().as_str(), "Q043" | "Q046"));
    }
}

#[test]
fn gquic_chlo_split_over_two_packets() {
    let msg = youtube_chlo();
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    let second = q043_packet(40, &msg[40..]);
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &second),
        Progress::NeedMore
    );
    assert_eq!(
        feed(
            &mut t,
            &mut info,
            Direction::ToServer,
            &q043_packet(0, &msg[..40])
        ),
        Progress::Done
    );
    assert_eq!(info.sni.as_deref(), Some("r4---sn-example.googlevideo.com"));
}

#[test]
fn gquic_q050_chlo_is_decrypted() {
    let msg = youtube_chlo();
    let p = initial(
        QuicVersion::Q050,
        DCID,
        1,
        &crypto_frame(0x08, 0, &msg),
        1162,
    );
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &p),
        Progress::Done
    );
    assert_eq!(info.version, QuicVersion::Q050);
    assert_eq!(info.sni.as_deref(), Some("r4---sn-example.googlevideo.com"));
}

#[test]
fn gquic_t051_tls_hello_is_decrypted() {
    let ch = rfc_client_hello();
    let p = initial(
        QuicVersion::T051,
        DCID,
        1,
        &crypto_frame(0x08, 0, &ch),
        1162,
    );
    let mut t = QuicTracker::default();
    let mut info = QuicInfo::default();
    assert_eq!(
        feed(&mut t, &mut info, Direction::ToServer, &p),
        Progress::Done
    );
    assert_eq!(info.version.name(), "T051");
    assert_eq!(complete_hello(&t), ch);
}

#[test]
fn info_serializes_small() {
    let info = QuicInfo {
        version: QuicVersion::Q046,
        sni: Some("a.b".into()),
        ..QuicInfo::default()
    };
    let json = serde_json::to_string(&info).expect("json");
    assert_eq!(
        json,
        r#"{"version":"Q046","sni":"a.b","server_seen":false}"#
    );
}

proptest! {
    #[test]
    fn random_datagrams_never_panic(
        datagrams in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 1..10),
    ) {
        let mut t = QuicTracker::default();
        let mut info = QuicInfo::default();
        for (to_server, mut d) in datagrams {
            let _ = probe(&d);
            // Make some of them look like QUIC so the deeper paths run.
            if d.len() > 6 && d[0] & 1 == 1 {
                d[0] = 0xc3;
                d[1..5].copy_from_slice(&1u32.to_be_bytes());
            }
            let dir = if to_server { Direction::ToServer } else { Direction::ToClient };
            let _ = t.on_datagram(dir, &d, &mut info);
        }
    }

    #[test]
    fn mutated_initials_never_panic(pos in 0usize..1200, byte in any::<u8>()) {
        let mut pkt = hex(tv::V1_CLIENT_PACKET);
        pkt[pos] = byte;
        let mut t = QuicTracker::default();
        let mut info = QuicInfo::default();
        let _ = t.on_datagram(Direction::ToServer, &pkt, &mut info);
    }
}

/// Throwaway corpus check: `cargo test --lib dissect::quic::tests::corpus -- --ignored
/// --nocapture`. Reads captures at run time with tshark; commits no capture bytes.
#[test]
#[ignore = "needs tshark and the nDPI corpus"]
fn corpus() {
    use std::collections::HashMap;
    let dir =
        std::env::var("QUIC_CORPUS").unwrap_or_else(|_| "/work/shared/corpus/ndpi/pcap".into());
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.retain(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        [
            "quic", "chrome", "meet", "youtube", "doq", "facebook", "snapchat",
        ]
        .iter()
        .any(|k| name.contains(k))
    });
    files.sort();
    for f in files {
        let out = std::process::Command::new("tshark")
            .args(["-r"])
            .arg(&f)
            .args([
                "-Y",
                "udp",
                "-T",
                "fields",
                "-e",
                "udp.stream",
                "-e",
                "ip.src",
                "-e",
                "ipv6.src",
                "-e",
                "udp.srcport",
                "-e",
                "udp.payload",
            ])
            .output();
        let Ok(out) = out else { continue };
        let text = String::from_utf8_lossy(&out.stdout);
        let mut flows: HashMap<String, (String, QuicTracker, QuicInfo, Option<Progress>)> =
            HashMap::new();
        for line in text.lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            let [stream, src4, src6, sport, payload] = cols[..] else {
                continue;
            };
            let src = format!("{src4}{src6}:{sport}");
            let e = flows.entry(stream.to_string()).or_insert_with(|| {
                (
                    src.clone(),
                    QuicTracker::default(),
                    QuicInfo::default(),
                    None,
                )
            });
            if matches!(e.3, Some(Progress::NotMine)) {
                continue;
            }
            let dir = if e.0 == src {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            let bytes = hex(payload);
            e.3 = Some(e.1.on_datagram(dir, &bytes, &mut e.2));
        }
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let mut keys: Vec<_> = flows.keys().cloned().collect();
        keys.sort_by_key(|k| k.parse::<u32>().unwrap_or(0));
        for k in keys {
            let (_, t, info, progress) = &flows[&k];
            if matches!(progress, Some(Progress::NotMine) | None) {
                continue;
            }
            let complete = t.done && !info.crypto_incomplete;
            let sni = info
                .sni
                .clone()
                .or_else(|| sni_via_tls_parser(t.stream.contiguous()));
            if let Ok(dump) = std::env::var("QUIC_DUMP") {
                let _ = std::fs::write(format!("{dump}/{name}-{k}.bin"), t.stream.contiguous());
            }
            println!(
                "{name} stream={k} version={} initials={} hello_bytes={} complete={complete} sni={:?} ua={:?} flags={}",
                info.version,
                info.initial_packets,
                t.stream.contiguous().len(),
                sni,
                info.user_agent,
                serde_json::to_string(info).unwrap_or_default()
            );
        }
    }
}

/// Cross-check for the corpus run while the TLS parser is a stub: read the SNI of the
/// reassembled ClientHello with tls-parser directly.
fn sni_via_tls_parser(stream: &[u8]) -> Option<String> {
    use tls_parser::{TlsExtension, TlsMessage, TlsMessageHandshake};
    let (_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch))) =
        tls_parser::parse_tls_message_handshake(stream).ok()?
    else {
        return None;
    };
    let (_, exts) = tls_parser::parse_tls_client_hello_extensions(ch.ext?).ok()?;
    exts.iter().find_map(|e| match e {
        TlsExtension::SNI(names) => names
            .first()
            .map(|(_, n)| String::from_utf8_lossy(n).into_owned()),
        _ => None,
    })
}
