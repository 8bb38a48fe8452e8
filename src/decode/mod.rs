//! Decode: slice a captured frame into a borrowed [`PacketView`] — addresses, ports, TCP
//! meta and the transport payload. Stateless except for IP fragment reassembly
//! ([`defrag`]), which the flow stage owns.
//!
//! Packets cut by the snap length are decoded as far as they go: the payload is whatever
//! was captured.

pub mod defrag;
pub mod link;

use crate::capture::LinkType;
use crate::model::IpProto;
use etherparse::{Ipv6ExtensionSlice, LaxIpSlice};
use link::Network;
use std::net::IpAddr;

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
    let ip = match link::network(link, frame) {
        Network::Ipv4(b) | Network::Ipv6(b) => b,
        Network::NonIp => return Decoded::Skipped(Skip::NonIp),
        Network::Truncated => return Decoded::Skipped(Skip::Truncated),
        Network::UnsupportedLink => return Decoded::Skipped(Skip::UnsupportedLink),
    };
    decode_ip(ip)
}

/// Decode an IPv4 or IPv6 packet (version from the first nibble).
pub fn decode_ip(ip: &[u8]) -> Decoded<'_> {
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
    transport(src, dst, proto, payload.payload)
}

/// Slice the transport header of a complete (or reassembled) IP payload.
pub fn transport(src: IpAddr, dst: IpAddr, proto: IpProto, data: &[u8]) -> Decoded<'_> {
    let mut view = PacketView {
        src,
        dst,
        proto,
        sport: 0,
        dport: 0,
        tcp: None,
        payload: data,
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
        }
        _ => {}
    }
    Decoded::Packet(view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

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

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..128)) {
            let _ = decode(LinkType::ETHERNET, &bytes);
            let _ = decode_ip(&bytes);
        }
    }
}
