//! The engine over frames built here: tunnels give flows their inner 5-tuple, link types
//! beyond Ethernet decode, and datagrams that never reassemble still make a flow.

use etherparse::{IpNumber, Ipv4Header, PacketBuilder};
use leakscope::capture::{Frame, LinkType};
use leakscope::classify::server_name;
use leakscope::engine::{Engine, EngineConfig};
use leakscope::flow::Flow;
use leakscope::model::{IpProto, Timestamp};

const CLIENT: [u8; 4] = [192, 168, 7, 2];
const SERVER: [u8; 4] = [93, 184, 216, 34];
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: inner.example\r\nUser-Agent: t\r\n\r\n";

fn run(link: LinkType, frames: &[Vec<u8>]) -> Vec<Flow> {
    let mut e = Engine::new(EngineConfig::default());
    let mut out = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let frame = Frame {
            ts: Timestamp::from_secs(1_000 + i as u64),
            link,
            data: f,
            orig_len: f.len() as u32,
        };
        e.ingest(&frame, &mut |f, _| out.push(f));
    }
    e.finish(&mut |f, _| out.push(f));
    out
}

/// An inner TCP handshake plus one HTTP request, as raw IPv4 packets.
fn inner_http() -> Vec<Vec<u8>> {
    let seg = |from_client: bool, syn: bool, seq: u32, ack: Option<u32>, payload: &[u8]| {
        let (s, d, sp, dp) = if from_client {
            (CLIENT, SERVER, 50_000, 80)
        } else {
            (SERVER, CLIENT, 80, 50_000)
        };
        let mut b = PacketBuilder::ipv4(s, d, 64).tcp(sp, dp, seq, 65_000);
        if syn {
            b = b.syn();
        }
        if let Some(a) = ack {
            b = b.ack(a);
        }
        if !payload.is_empty() {
            b = b.psh();
        }
        let mut out = Vec::new();
        let _ = b.write(&mut out, payload);
        out
    };
    vec![
        seg(true, true, 100, None, b""),
        seg(false, true, 900, Some(101), b""),
        seg(true, false, 101, Some(901), b""),
        seg(true, false, 101, Some(901), REQUEST),
    ]
}

fn only_flow(flows: &[Flow]) -> &Flow {
    assert_eq!(flows.len(), 1, "{flows:#?}");
    &flows[0]
}

#[test]
fn http_inside_vxlan_is_one_inner_flow_with_its_host() {
    let frames: Vec<Vec<u8>> = inner_http()
        .iter()
        .enumerate()
        .map(|(i, ip)| {
            let mut vxlan = vec![0x08, 0, 0, 0, 0, 0x10, 0x01, 0];
            vxlan.extend_from_slice(&[0xaa; 12]);
            vxlan.extend_from_slice(&[0x08, 0x00]);
            vxlan.extend_from_slice(ip);
            let mut out = Vec::new();
            // The tunnel's source port varies by packet, as VXLAN's entropy hash does.
            let _ = PacketBuilder::ethernet2([1; 6], [2; 6])
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .udp(40_000 + i as u16, 4789)
                .write(&mut out, &vxlan);
            out
        })
        .collect();
    let flows = run(LinkType::ETHERNET, &frames);
    let f = only_flow(&flows);
    assert_eq!(f.key.proto, IpProto::TCP);
    assert_eq!((f.client().port, f.server().port), (50_000, 80));
    assert_eq!(f.server().ip, std::net::IpAddr::from(SERVER));
    assert_eq!(server_name(f).map(|(n, _)| n), Some("inner.example"));
}

#[test]
fn http_over_gre_over_cisco_hdlc() {
    let frames: Vec<Vec<u8>> = inner_http()
        .iter()
        .map(|ip| {
            let mut gre = vec![0x20, 0, 0x08, 0x00, 0, 0, 0, 7];
            gre.extend_from_slice(ip);
            let mut out = vec![0x0f, 0x00, 0x08, 0x00];
            let _ = PacketBuilder::ipv4([172, 16, 0, 1], [172, 16, 0, 2], 64).write(
                &mut out,
                IpNumber(47),
                &gre,
            );
            out
        })
        .collect();
    let flows = run(LinkType(104), &frames);
    assert_eq!(
        server_name(only_flow(&flows)).map(|(n, _)| n),
        Some("inner.example")
    );
}

#[test]
fn zero_padded_ack_does_not_hide_the_request() {
    let mut frames = inner_http();
    // The bare ACK carries two padding zeros at the request's sequence number.
    let mut padded = Vec::new();
    let _ = PacketBuilder::ipv4(CLIENT, SERVER, 64)
        .tcp(50_000, 80, 101, 65_000)
        .ack(901)
        .write(&mut padded, &[0, 0]);
    frames[2] = padded;
    let flows = run(LinkType::RAW, &frames);
    assert_eq!(
        server_name(only_flow(&flows)).map(|(n, _)| n),
        Some("inner.example")
    );
}

#[test]
fn first_fragment_of_an_unfinished_datagram_still_makes_a_flow() {
    let mut ip = Ipv4Header::new(16, 64, IpNumber::UDP, CLIENT, SERVER).unwrap_or_default();
    ip.more_fragments = true;
    ip.identification = 4242;
    let mut frame = Vec::new();
    let _ = ip.write(&mut frame);
    // UDP header (length says 1200) and the first bytes of the datagram.
    frame.extend_from_slice(&[0xc3, 0x50, 0x01, 0xbb, 0x04, 0xb0, 0, 0]);
    frame.extend_from_slice(&[0x20; 8]);
    let flows = run(LinkType::RAW, &[frame]);
    let f = only_flow(&flows);
    assert_eq!(f.key.proto, IpProto::UDP);
    assert_eq!((f.client().port, f.server().port), (50_000, 443));
}
