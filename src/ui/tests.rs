//! Snapshot tests: every view, the detail panes and the help overlay rendered to a
//! `TestBackend` at 80×24 and 120×40, from a real capture replayed through the analyser, and
//! from a hostile TLS ClientHello whose SNI carries terminal escapes.

use super::action::{Action, Effect};
use super::draw::{DrawContext, draw};
use super::state::{SortKey, UiState, View};
use crate::analyze::{Analyzer, AnalyzerConfig};
use crate::capture::{Frame, LinkType};
use crate::live::replay_feed::replay_feed;
use crate::live::{Output, Publisher, Snapshot, SourceKind, Status, StopHandle};
use crate::model::Timestamp;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];
/// A call with SRTP keys in clear SIP, a Zoom TLS session, a WebRTC P2P call and plain HTTP
/// to trackers: every verdict colour and plenty of findings.
const MIX: &[&str] = &[
    "sip_sdes_srtp.pcap",
    "tls12_zoom.pcap",
    "webrtc_p2p.pcap",
    "http_plain.pcap",
];

fn config() -> AnalyzerConfig {
    AnalyzerConfig::default()
}

fn publisher(source: &str) -> (Publisher, watch::Receiver<Arc<Snapshot>>) {
    let kind = SourceKind::Replay {
        progress: None,
        speed: None,
    };
    let (tx, rx) = watch::channel(Arc::new(Snapshot::empty(source, kind.clone())));
    (Publisher::new(tx, source, kind), rx)
}

/// The final snapshot of captures from `captures/`, read as one capture.
fn replayed(names: &[&str]) -> Arc<Snapshot> {
    let paths: Vec<PathBuf> = names
        .iter()
        .map(|n| PathBuf::from("captures").join(n))
        .collect();
    let source = if names.len() == 1 {
        paths[0].display().to_string()
    } else {
        format!("{} captures", names.len())
    };
    let (mut out, rx) = publisher(&source);
    let result = replay_feed(&paths, config(), None, &mut out, &StopHandle::new());
    assert!(result.is_ok(), "{result:?}");
    rx.borrow().clone()
}

fn render(state: &UiState, snap: &Snapshot, (w, h): (u16, u16)) -> Terminal<TestBackend> {
    let mut t = match Terminal::new(TestBackend::new(w, h)) {
        Ok(t) => t,
        Err(e) => match e {},
    };
    let drawn = t.draw(|f| draw(f, &DrawContext { state, snap }));
    assert!(drawn.is_ok());
    t
}

fn text(t: &Terminal<TestBackend>) -> String {
    t.backend().to_string()
}

fn state(view: View) -> UiState {
    UiState {
        view,
        ..UiState::new()
    }
}

#[test]
fn every_view_and_help_at_two_sizes() {
    let snap = replayed(MIX);
    assert!(snap.finished);
    assert!(!snap.sessions.is_empty() && !snap.flows.is_empty() && !snap.findings.is_empty());
    for size in SIZES {
        let (w, h) = size;
        for view in View::ALL {
            let t = render(&state(view), &snap, size);
            insta::assert_snapshot!(
                format!("sip_{}_{w}x{h}", view.title().to_lowercase()),
                text(&t)
            );
        }
        let help = UiState {
            help: true,
            ..UiState::new()
        };
        insta::assert_snapshot!(format!("help_{w}x{h}"), text(&render(&help, &snap, size)));
        for view in View::ALL {
            let detail = UiState {
                detail: true,
                ..state(view)
            };
            insta::assert_snapshot!(
                format!("sip_{}_detail_{w}x{h}", view.title().to_lowercase()),
                text(&render(&detail, &snap, size))
            );
        }
    }
}

#[test]
fn badges_are_coloured_by_verdict() {
    let snap = replayed(MIX);
    for (view, word, colour) in [
        (View::Flows, "PLAINTEXT", Color::Red),
        (View::Flows, "NOT E2EE", super::style::ORANGE),
        (View::Sessions, "NOT E2EE", super::style::ORANGE),
    ] {
        let t = render(&state(view), &snap, (80, 24));
        let out = text(&t);
        let buf = t.backend().buffer();
        let w = buf.area.width;
        let row_text = |y: u16| -> String { (0..w).map(|x| buf[(x, y)].symbol()).collect() };
        let found = (0..buf.area.height).find_map(|y| {
            row_text(y)
                .find(&format!(" {word}"))
                .map(|x| (x as u16 + 2, y))
        });
        let Some(pos) = found else {
            panic!("no {word} badge in {view:?}:\n{out}")
        };
        assert_eq!(buf[pos].bg, colour, "{word} in {view:?}");
    }
}

#[test]
fn webrtc_p2p_sessions_and_flows() {
    let snap = replayed(&["webrtc_p2p.pcap"]);
    for size in SIZES {
        let (w, h) = size;
        for view in [View::Sessions, View::Flows] {
            let t = render(&state(view), &snap, size);
            insta::assert_snapshot!(
                format!("webrtc_{}_{w}x{h}", view.title().to_lowercase()),
                text(&t)
            );
        }
    }
}

/// A TLS ClientHello record whose SNI is `name` (bytes as given, not validated).
fn client_hello(name: &[u8]) -> Vec<u8> {
    let mut sni = vec![0u8];
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    let mut list = (sni.len() as u16).to_be_bytes().to_vec();
    list.extend_from_slice(&sni);
    let mut ext = vec![0, 0];
    ext.extend_from_slice(&(list.len() as u16).to_be_bytes());
    ext.extend_from_slice(&list);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.push(0); // session id
    body.extend_from_slice(&[0, 2, 0x13, 0x01]); // TLS_AES_128_GCM_SHA256
    body.extend_from_slice(&[1, 0]); // null compression
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

const HOSTILE_SNI: &str = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31m.example\u{202e}gpj.exe";

fn hostile_snapshot() -> Arc<Snapshot> {
    use etherparse::PacketBuilder;
    let c = [10, 0, 0, 1];
    let s = [10, 0, 0, 2];
    let mut frames = Vec::new();
    let mut push = |b: etherparse::PacketBuilderStep<etherparse::TcpHeader>, payload: &[u8]| {
        let mut out = Vec::new();
        let _ = b.write(&mut out, payload);
        frames.push(out);
    };
    push(
        PacketBuilder::ipv4(c, s, 64)
            .tcp(40000, 443, 100, 1000)
            .syn(),
        &[],
    );
    push(
        PacketBuilder::ipv4(s, c, 64)
            .tcp(443, 40000, 500, 1000)
            .syn()
            .ack(101),
        &[],
    );
    push(
        PacketBuilder::ipv4(c, s, 64)
            .tcp(40000, 443, 101, 1000)
            .ack(501),
        &[],
    );
    let hello = client_hello(HOSTILE_SNI.as_bytes());
    push(
        PacketBuilder::ipv4(c, s, 64)
            .tcp(40000, 443, 101, 1000)
            .ack(501)
            .psh(),
        &hello,
    );
    let (mut out, rx) = publisher("hostile-sni (built in the test)");
    let mut a = Analyzer::new(config());
    a.begin_input("hostile");
    let t0 = Timestamp::from_secs(1_700_000_000);
    for (i, f) in frames.iter().enumerate() {
        let frame = Frame {
            ts: Timestamp(t0.0 + i as u64 * 1_000_000),
            link: LinkType::RAW,
            data: f,
            orig_len: f.len() as u32,
        };
        assert!(a.ingest(&frame, &mut out).is_ok());
        out.frame(frame.ts, frame.orig_len);
    }
    assert!(a.finish(&mut out).is_ok());
    out.publish(
        &a,
        &Status {
            first_seen: Some(t0),
            finished: true,
            ..Status::default()
        },
    );
    rx.borrow().clone()
}

#[test]
fn hostile_sni_is_escaped_everywhere() {
    let snap = hostile_snapshot();
    let flow = snap.flows.first().map(|f| f.server_name.clone());
    assert_eq!(
        flow,
        Some(Some(HOSTILE_SNI.to_string())),
        "the SNI was parsed raw"
    );
    for size in SIZES {
        let (w, h) = size;
        for st in [
            state(View::Flows),
            UiState {
                detail: true,
                ..state(View::Flows)
            },
        ] {
            let t = render(&st, &snap, size);
            let buf = t.backend().buffer();
            for cell in &buf.content {
                assert!(
                    !cell
                        .symbol()
                        .chars()
                        .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
                    "raw control character reached the terminal: {:?}",
                    cell.symbol()
                );
            }
            let out = text(&t);
            assert!(out.contains("evil\\u{1b}]0;"), "{out}");
            if st.detail {
                assert!(
                    out.contains("\\u{1b}[2J\\u{1b}[31m.example\\u{202e}gpj.exe"),
                    "{out}"
                );
            }
            let name = if st.detail { "detail" } else { "table" };
            insta::assert_snapshot!(format!("hostile_sni_{name}_{w}x{h}"), out);
        }
    }
}

#[test]
fn filter_sort_pause_and_navigation() {
    let snap = replayed(MIX);
    let mut st = state(View::Flows);
    let all = st.visible(&snap).len();
    assert!(all >= 3, "{all}");
    // Filter on a finding code.
    for c in "keys-exposed".chars() {
        st.update(Action::FilterChar(c), &snap);
    }
    let some = st.visible(&snap);
    assert!(
        !some.is_empty() && some.len() < all,
        "{} of {all}",
        some.len()
    );
    assert!(some.iter().all(|&i| {
        snap.flows
            .get(i)
            .is_some_and(|f| f.findings.iter().any(|x| x.code == "keys-exposed"))
    }));
    st.update(Action::Back, &snap);
    assert!(st.filter.is_empty());
    // Sort by bytes: non-increasing.
    while st.sort != SortKey::Bytes {
        st.update(Action::CycleSort, &snap);
    }
    let sizes: Vec<u64> = st
        .visible(&snap)
        .iter()
        .filter_map(|&i| snap.flows.get(i).map(|f| f.total_bytes()))
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    // Navigation is clamped.
    st.update(Action::End, &snap);
    assert_eq!(st.selected(), all - 1);
    st.update(Action::Down, &snap);
    assert_eq!(st.selected(), all - 1);
    st.update(Action::PageUp, &snap);
    st.update(Action::Home, &snap);
    assert_eq!(st.selected(), 0);
    // Pause freezes the shown snapshot; a newer one does not replace it.
    st.update(Action::TogglePause, &snap);
    let newer = Arc::new(Snapshot::empty("x", SourceKind::Live));
    assert!(Arc::ptr_eq(st.shown(&newer), &snap));
    st.update(Action::TogglePause, &newer);
    assert!(Arc::ptr_eq(st.shown(&newer), &newer));
    assert_eq!(st.update(Action::Export, &newer), Some(Effect::Export));
    assert_eq!(st.update(Action::Quit, &newer), Some(Effect::Quit));
}

#[test]
fn export_writes_the_current_view() {
    let snap = replayed(MIX);
    let dir = std::env::temp_dir().join(format!("leakscope-ui-export-{}", std::process::id()));
    assert!(std::fs::create_dir_all(&dir).is_ok());
    for view in View::ALL {
        let st = state(view);
        let result = super::export::export(&st, &snap, &dir, 1);
        let Ok((path, n)) = result else {
            panic!("{result:?}")
        };
        assert_eq!(n, st.visible(&snap).len());
        let body = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(body.lines().count(), n);
        for line in body.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            assert!(v.get("record").is_some(), "{line}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tiny_terminal_draws_a_hint() {
    let snap = replayed(&["sip_sdes_srtp.pcap"]);
    let t = render(&state(View::Sessions), &snap, (30, 8));
    assert!(text(&t).contains("at least"));
}
