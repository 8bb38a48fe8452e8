//! Decode: slice a captured frame into a borrowed [`PacketView`] — addresses, ports, TCP
//! meta and the transport payload. Stateless except for IP fragment reassembly
//! ([`defrag`]), which the flow stage owns.
//!
//! Packets cut by the snap length are decoded as far as they go: the payload is whatever
//! was captured.
//!
//! Tunnels ([`tunnel`]) are opened where the outer protocol number or UDP port announces
//! one, up to [`tunnel::MAX_TUNNEL_DEPTH`] deep; the packet then describes the innermost IP
//! 5-tuple, as nDPI reports it. A tunnel whose inner bytes are not IP leaves the outer
//! packet as it was.

pub mod defrag;
pub mod link;
pub mod tunnel;

use crate::capture::LinkType;
use crate::model::IpProto;
use etherparse::{Ipv6ExtensionSlice, LaxIpSlice};
use link::Network;
use std::net::IpAddr;
use tunnel::{MAX_TUNNEL_DEPTH, Tunnel};

/// TCP header fields the flow table needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TcpMeta {
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
}

impl TcpMeta {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;

    pub fn has(self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// One decoded IP packet, borrowing the frame.
#[derive(Clone, Copy, Debug)]
pub struct PacketView<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: IpProto,
    pub sport: u16,
    pub dport: u16,
    pub tcp: Option<TcpMeta>,
    /// Transport payload as captured (may be shorter than on the wire).
    pub payload: &'a [u8],
    /// The outermost tunnel the packet was found in, if any.
    pub tunnel: Option<Tunnel>,
}

/// An IP fragment, to be handed to [`defrag::Defrag`].
#[derive(Clone, Copy, Debug)]
pub struct FragmentView<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: IpProto,
    pub id: u32,
    /// Offset of `data` in the original datagram, in bytes.
    pub offset: u32,
    pub more: bool,
    pub data: &'a [u8],
}

/// Why a frame produced no packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Skip {
    NonIp,
    Truncated,
    UnsupportedLink,
    BadIp,
}

#[derive(Clone, Copy, Debug)]
pub enum Decoded<'a> {
    Packet(PacketView<'a>),
    Fragment(FragmentView<'a>),
    Skipped(Skip),
}

/// Decode one frame.
pub fn decode(link: LinkType, frame: &[u8]) -> Decoded<'_> {
    network(link::network(link, frame), 0)
}

fn network(net: Network<'_>, depth: usize) -> Decoded<'_> {
    match net {
        Network::Ipv4(b) | Network::Ipv6(b) => ip_at(b, depth),
        Network::NonIp => Decoded::Skipped(Skip::NonIp),
        Network::Truncated => Decoded::Skipped(Skip::Truncated),
        Network::UnsupportedLink => Decoded::Skipped(Skip::UnsupportedLink),
    }
}

/// Decode an IPv4 or IPv6 packet (version from the first nibble).
pub fn decode_ip(ip: &[u8]) -> Decoded<'_> {
    ip_at(ip, 0)
}

/// `depth` counts the tunnels already opened around this IP header.
fn ip_at(ip: &[u8], depth: usize) -> Decoded<'_> {
    if let Some((src, dst, proto, payload)) = plain_ipv4(ip) {
        return transport_at(src, dst, proto, payload, depth);
    }
    let Ok((slice, _ext_err)) = LaxIpSlice::from_slice(ip) else {
        return Decoded::Skipped(Skip::BadIp);
    };
    let (src, dst) = (slice.source_addr(), slice.destination_addr());
    let payload = slice.payload();
    let proto = IpProto(payload.ip_number.0);
    if payload.fragmented {
        let frag = match &slice {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                Some((
                    u32::from(h.identification()),
                    h.fragments_offset(),
                    h.more_fragments(),
                ))
            }
            LaxIpSlice::Ipv6(v6) => v6.extensions().clone().into_iter().find_map(|e| match e {
                Ipv6ExtensionSlice::Fragment(f) => {
                    Some((f.identification(), f.fragment_offset(), f.more_fragments()))
                }
                _ => None,
            }),
        };
        return match frag {
            Some((id, offset, more)) => Decoded::Fragment(FragmentView {
                src,
                dst,
                proto,
                id,
                offset: u32::from(offset.value()) * 8,
                more,
                data: payload.payload,
            }),
            None => Decoded::Skipped(Skip::BadIp),
        };
    }
    transport_at(src, dst, proto, payload.payload, depth)
}

/// The common case read by hand (most frames): a whole, unfragmented IPv4 packet whose
/// lengths agree and whose protocol is no IPsec AH. Anything else is `None` and goes to
/// etherparse, which gives the same answer here (a property test compares).
fn plain_ipv4(ip: &[u8]) -> Option<(IpAddr, IpAddr, IpProto, &[u8])> {
    const AH: u8 = 51;
    let h = ip.get(..20)?;
    let header_len = usize::from(h[0] & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let fragmenting = u16::from_be_bytes([h[6], h[7]]) & 0x3fff != 0;
    if h[0] >> 4 != 4 || header_len < 20 || total_len < header_len || total_len > ip.len() {
        return None;
    }
    if fragmenting || h[9] == AH {
        return None;
    }
    let src = IpAddr::from([h[12], h[13], h[14], h[15]]);
    let dst = IpAddr::from([h[16], h[17], h[18], h[19]]);
    Some((src, dst, IpProto(h[9]), ip.get(header_len..total_len)?))
}

/// Slice the transport header of a complete (or reassembled) IP payload, opening the
/// tunnel it may carry.
pub fn transport(src: IpAddr, dst: IpAddr, proto: IpProto, data: &[u8]) -> Decoded<'_> {
    transport_at(src, dst, proto, data, 0)
}

// Inlined into `ip_at`: the addresses then go straight into the view; passed by value, the
// just-written IPv4 address was reloaded as 16 bytes, a store-forwarding stall per packet.
#[inline(always)]
fn transport_at(
    src: IpAddr,
    dst: IpAddr,
    proto: IpProto,
    data: &[u8],
    depth: usize,
) -> Decoded<'_> {
    let mut view = PacketView {
        src,
        dst,
        proto,
        sport: 0,
        dport: 0,
        tcp: None,
        payload: data,
        tunnel: None,
    };
    match proto {
        IpProto::TCP => {
            // Fields read by hand so a header cut by the snap length still yields ports.
            let Some(h) = data.get(0..14) else {
                return Decoded::Skipped(Skip::Truncated);
            };
            view.sport = u16::from_be_bytes([h[0], h[1]]);
            view.dport = u16::from_be_bytes([h[2], h[3]]);
            view.tcp = Some(TcpMeta {
                seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
                flags: h[13],
            });
            let header_len = usize::from(h[12] >> 4) * 4;
            view.payload = data.get(header_len.max(20)..).unwrap_or(&[]);
            if is_ack_padding(h[13], view.payload) {
                view.payload = &[];
            }
        }
        IpProto::UDP => {
            let Some(h) = data.get(0..8) else {
                return Decoded::Skipped(Skip::Truncated);
            };
            view.sport = u16::from_be_bytes([h[0], h[1]]);
            view.dport = u16::from_be_bytes([h[2], h[3]]);
            // Trust the UDP length only when it shortens the payload (Ethernet padding).
            let udp_len = usize::from(u16::from_be_bytes([h[4], h[5]]));
            let end = if udp_len >= 8 {
                udp_len.min(data.len())
            } else {
                data.len()
            };
            view.payload = &data[8..end];
            if tunnel::udp_port_hint(view.sport, view.dport)
                && let Some(inner) = tunnel::over_udp(view.sport, view.dport, view.payload)
                && let Some(d) = open(inner, depth)
            {
                return d;
            }
        }
        tunnel::IPPROTO_IPIP | tunnel::IPPROTO_IPV6 | tunnel::IPPROTO_GRE => {
            if let Some(inner) = tunnel::over_ip(proto, data)
                && let Some(d) = open(inner, depth)
            {
                return d;
            }
        }
        _ => {}
    }
    Decoded::Packet(view)
}

/// Some middleboxes pad bare ACKs to a minimum frame size *inside* the IP length, so the
/// padding looks like payload and would corrupt the stream at that sequence number. A
/// segment with only ACK set and at most this many bytes, all zero, is treated as empty
/// (nDPI's "TCP ACK payload" heuristic; a keep-alive's single garbage byte goes too).
const MAX_ACK_PADDING: usize = 6;

fn is_ack_padding(flags: u8, payload: &[u8]) -> bool {
    flags == TcpMeta::ACK
        && !payload.is_empty()
        && payload.len() <= MAX_ACK_PADDING
        && payload.iter().all(|&b| b == 0)
}

/// Decode a tunnel's inner network layer; `None` (keep the outer packet) when it holds no
/// IP or the nesting bound is reached.
fn open<'a>((kind, inner): (Tunnel, Network<'a>), depth: usize) -> Option<Decoded<'a>> {
    if depth >= MAX_TUNNEL_DEPTH {
        return None;
    }
    match network(inner, depth + 1) {
        Decoded::Packet(mut p) => {
            p.tunnel = Some(kind);
            Some(Decoded::Packet(p))
        }
        f @ Decoded::Fragment(_) => Some(f),
        Decoded::Skipped(_) => None,
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use proptest::prelude::*;

    /// What etherparse alone says about an IP packet (the path before the hand-read one).
    fn by_etherparse(ip: &[u8]) -> Option<(IpAddr, IpAddr, IpProto, &[u8])> {
        let (slice, _) = LaxIpSlice::from_slice(ip).ok()?;
        let payload = slice.payload();
        (!payload.fragmented).then(|| {
            let proto = IpProto(payload.ip_number.0);
            (
                slice.source_addr(),
                slice.destination_addr(),
                proto,
                payload.payload,
            )
        })
    }

    #[test]
    fn an_ordinary_ipv4_packet_takes_the_hand_read_path() {
        let frame = udp_frame(b"hello");
        let ip = &frame[14..];
        let (src, dst, proto, payload) = plain_ipv4(ip).expect("fast path");
        assert_eq!(
            (src, dst, proto),
            by_etherparse(ip).map(|(s, d, p, _)| (s, d, p)).expect("ok")
        );
        assert_eq!(payload.len(), 8 + 5);
        let mut fragment = ip.to_vec();
        fragment[6] = 0x20; // more fragments
        assert_eq!(plain_ipv4(&fragment), None);
    }

    proptest! {
        #[test]
        fn hand_read_ipv4_agrees_with_etherparse(
            mut ip in proptest::collection::vec(any::<u8>(), 0..120),
            ihl in 0u8..16,
            total in 0usize..130,
            flags in prop_oneof![Just(0u8), Just(0x40), any::<u8>()],
            proto in prop_oneof![Just(6u8), Just(17), Just(51), any::<u8>()],
        ) {
            // Mostly well-formed headers, so both the fast path and its refusals are tried.
            if ip.len() >= 20 {
                ip[0] = 0x40 | ihl;
                ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
                ip[6] = flags;
                ip[9] = proto;
            }
            if let Some(fast) = plain_ipv4(&ip) {
                prop_assert_eq!(Some(fast), by_etherparse(&ip));
            }
        }
    }

    fn udp_frame(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(5000, 3478);
        let mut out = Vec::new();
        let _ = b.write(&mut out, payload);
        out
    }

    #[test]
    fn udp_over_ethernet() {
        let f = udp_frame(b"hello");
        let Decoded::Packet(p) = decode(LinkType::ETHERNET, &f) else {
            panic!("not a packet")
        };
        assert_eq!((p.sport, p.dport, p.proto), (5000, 3478, IpProto::UDP));
        assert_eq!(p.payload, b"hello");
        assert_eq!(p.src, IpAddr::from([10, 0, 0, 1]));
    }

    #[test]
    fn tcp_over_ipv6_with_flags() {
        let b = PacketBuilder::ipv6([1; 16], [2; 16], 64)
            .tcp(40000, 443, 7, 100)
            .syn();
        let mut out = Vec::new();
        let _ = b.write(&mut out, b"");
        let Decoded::Packet(p) = decode(LinkType::RAW, &out) else {
            panic!("not a packet")
        };
        let tcp = p.tcp.unwrap_or_default();
        assert!(tcp.has(TcpMeta::SYN) && !tcp.has(TcpMeta::ACK));
        assert_eq!(tcp.seq, 7);
        assert_eq!(p.dport, 443);
    }

    #[test]
    fn snap_cut_packet_keeps_ports() {
        let f = udp_frame(&[7u8; 100]);
        let cut = &f[..14 + 20 + 8 + 10];
        let Decoded::Packet(p) = decode(LinkType::ETHERNET, cut) else {
            panic!("not a packet")
        };
        assert_eq!(p.payload.len(), 10);
    }

    fn tcp_v4(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = PacketBuilder::ipv4([192, 168, 0, 1], [10, 10, 10, 1], 64)
            .tcp(50000, 443, 1, 100)
            .write(&mut out, payload);
        out
    }

    fn outer_udp(dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([172, 16, 0, 1], [172, 16, 0, 2], 64)
            .udp(40000, dport)
            .write(&mut out, payload);
        out
    }

    fn packet(d: Decoded<'_>) -> PacketView<'_> {
        match d {
            Decoded::Packet(p) => p,
            other => panic!("not a packet: {other:?}"),
        }
    }

    #[test]
    fn zero_padding_on_a_bare_ack_is_not_payload() {
        let ack = |payload: &[u8], psh: bool| {
            let mut b = PacketBuilder::ipv4([1; 4], [2; 4], 64)
                .tcp(50000, 80, 1, 100)
                .ack(1);
            if psh {
                b = b.psh();
            }
            let mut out = Vec::new();
            let _ = b.write(&mut out, payload);
            out
        };
        let padded = ack(&[0, 0], false);
        assert_eq!(packet(decode(LinkType::RAW, &padded)).payload, b"");
        // Real bytes, a PSH, or more than the padding bound stay payload.
        let data = ack(b"GE", false);
        assert_eq!(packet(decode(LinkType::RAW, &data)).payload, b"GE");
        let pushed = ack(&[0, 0], true);
        assert_eq!(packet(decode(LinkType::RAW, &pushed)).payload, &[0, 0]);
        let long = ack(&[0; MAX_ACK_PADDING + 1], false);
        assert_eq!(packet(decode(LinkType::RAW, &long)).payload.len(), 7);
    }

    #[test]
    fn vxlan_packet_uses_the_inner_five_tuple() {
        let mut v = vec![0x08, 0, 0, 0, 0, 0, 7, 0];
        v.extend_from_slice(&[3; 12]);
        v.extend_from_slice(&[0x08, 0x00]);
        v.extend_from_slice(&tcp_v4(b"hello"));
        let f = outer_udp(tunnel::VXLAN_PORT, &v);
        let p = packet(decode(LinkType::ETHERNET, &f));
        assert_eq!((p.proto, p.sport, p.dport), (IpProto::TCP, 50000, 443));
        assert_eq!(p.src, IpAddr::from([192, 168, 0, 1]));
        assert_eq!(p.payload, b"hello");
        assert_eq!(p.tunnel, Some(Tunnel::Vxlan));
    }

    #[test]
    fn ipv4_in_ipv6_and_outermost_tunnel_kind() {
        let inner = tcp_v4(b"x");
        let mut out = Vec::new();
        let _ = PacketBuilder::ipv6([1; 16], [2; 16], 64).write(
            &mut out,
            etherparse::IpNumber(4),
            &inner,
        );
        let p = packet(decode(LinkType::RAW, &out));
        assert_eq!((p.dport, p.tunnel), (443, Some(Tunnel::IpInIp)));
        // The same IPv6 packet inside GRE: the outermost tunnel is reported.
        let mut gre = vec![0, 0, 0x86, 0xdd];
        gre.extend_from_slice(&out);
        let mut outer = Vec::new();
        let _ = PacketBuilder::ipv4([9, 9, 9, 9], [8, 8, 8, 8], 64).write(
            &mut outer,
            etherparse::IpNumber(47),
            &gre,
        );
        let p = packet(decode(LinkType::RAW, &outer));
        assert_eq!((p.dport, p.tunnel), (443, Some(Tunnel::Gre)));
    }

    #[test]
    fn non_ip_inside_a_tunnel_keeps_the_outer_packet() {
        // A GTP-U echo request on port 2152 is GTP's own traffic, not a user packet.
        let echo = [0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0];
        let f = outer_udp(tunnel::GTP_U_PORT, &echo);
        let p = packet(decode(LinkType::ETHERNET, &f));
        assert_eq!((p.dport, p.tunnel, p.payload), (2152, None, &echo[..]));
    }

    #[test]
    fn nesting_is_bounded() {
        // IP-in-IP wrapped deeper than the bound: the packet at the bound is kept.
        let mut pkt = tcp_v4(b"deep");
        for i in 0..=MAX_TUNNEL_DEPTH {
            let mut out = Vec::new();
            let _ = PacketBuilder::ipv4([10, 0, 0, i as u8], [10, 0, 1, i as u8], 64).write(
                &mut out,
                etherparse::IpNumber(4),
                &pkt,
            );
            pkt = out;
        }
        let p = packet(decode(LinkType::RAW, &pkt));
        assert_eq!(p.proto, tunnel::IPPROTO_IPIP);
        assert_eq!(p.tunnel, Some(Tunnel::IpInIp));
        assert_eq!(p.dst, IpAddr::from([10, 0, 1, 0]));
    }

    #[test]
    fn fragment_inside_a_tunnel_is_the_inner_fragment() {
        // A GTP-U user packet that is itself the first fragment of a larger datagram.
        let mut inner = Vec::new();
        let mut ip = etherparse::Ipv4Header::new(8, 64, etherparse::IpNumber::UDP, [1; 4], [2; 4])
            .unwrap_or_default();
        ip.more_fragments = true;
        ip.identification = 77;
        let _ = ip.write(&mut inner);
        inner.extend_from_slice(&[0; 8]);
        let mut g = vec![0x30, 0xff, 0, inner.len() as u8, 0, 0, 0, 1];
        g.extend_from_slice(&inner);
        let f = outer_udp(tunnel::GTP_U_PORT, &g);
        let Decoded::Fragment(frag) = decode(LinkType::ETHERNET, &f) else {
            panic!("not a fragment")
        };
        assert_eq!(
            (frag.id, frag.more, frag.src),
            (77, true, IpAddr::from([1, 1, 1, 1]))
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..128)) {
            let _ = decode(LinkType::ETHERNET, &bytes);
            let _ = decode_ip(&bytes);
        }

        #[test]
        fn tunnel_payloads_never_panic(
            dport in proptest::sample::select(vec![
                tunnel::VXLAN_PORT, tunnel::GTP_U_PORT, tunnel::CAPWAP_DATA_PORT,
            ]),
            proto in proptest::sample::select(vec![4u8, 41, 47]),
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..160),
        ) {
            let _ = decode(LinkType::ETHERNET, &outer_udp(dport, &bytes));
            let _ = transport([1, 1, 1, 1].into(), [2, 2, 2, 2].into(), IpProto(proto), &bytes);
        }
    }
}
