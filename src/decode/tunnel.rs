//! Tunnels: find the inner network-layer bytes of IP-in-IP, GRE (with ERSPAN and PPTP's
//! enhanced GRE), VXLAN, GTP-U and CAPWAP data packets. Each function is pure: the outer
//! transport payload in, the inner [`Network`] out. The decoder calls them only when the
//! outer protocol number or UDP port says a tunnel may follow, and bounds the nesting.
//!
//! References: RFC 2003 (IPv4 in IPv4), RFC 2473 / RFC 4213 (IPv6 in IP);
//! RFC 2784 and RFC 2890 (GRE, key and sequence number); RFC 2637 §4.1 (enhanced GRE);
//! draft-foschiano-erspan-03 (ERSPAN types I, II and III); RFC 7348 (VXLAN);
//! 3GPP TS 29.281 §5 (GTP-U header and extension headers); RFC 5415 §4.3 (CAPWAP header)
//! and RFC 5416 (IEEE 802.11 binding).

use super::link::{self, Network};
use crate::model::IpProto;

/// Which encapsulation a packet was found in (the outermost one, when tunnels nest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tunnel {
    IpInIp,
    Gre,
    Erspan,
    Vxlan,
    GtpU,
    Capwap,
}

/// Tunnels unwrapped at most per packet. Real deployments nest two or three (GTP in
/// GRE in IPsec-less VXLAN); the bound keeps a crafted packet from recursing further.
pub const MAX_TUNNEL_DEPTH: usize = 4;

/// IP protocol numbers that carry a tunnel.
pub const IPPROTO_IPIP: IpProto = IpProto(4);
pub const IPPROTO_IPV6: IpProto = IpProto(41);
pub const IPPROTO_GRE: IpProto = IpProto(47);

/// RFC 7348 §5: the IANA destination port of VXLAN.
pub const VXLAN_PORT: u16 = 4789;
/// 3GPP TS 29.281 §4.4.2.3: GTP-U uses port 2152 on both sides.
pub const GTP_U_PORT: u16 = 2152;
/// RFC 5415 §3.1: the CAPWAP data channel's port at the access controller.
pub const CAPWAP_DATA_PORT: u16 = 5247;

/// GRE protocol types (they are Ethertypes) with a special meaning inside GRE.
const GRE_PROTO_TEB: u16 = 0x6558;
const GRE_PROTO_ERSPAN_2: u16 = 0x88be;
const GRE_PROTO_ERSPAN_3: u16 = 0x22eb;
const GRE_PROTO_PPP: u16 = 0x880b;
/// GRE flag bits (first byte) and version (low bits of the second).
const GRE_CHECKSUM: u8 = 0x80;
const GRE_ROUTING: u8 = 0x40;
const GRE_KEY: u8 = 0x20;
const GRE_SEQ: u8 = 0x10;
/// RFC 2637: the acknowledgment-number flag of enhanced GRE (second byte).
const GRE_ACK: u8 = 0x80;
const GRE_VERSION_MASK: u8 = 0x07;
/// ERSPAN header lengths (type II; type III without and with its platform sub-header).
const ERSPAN_2_HEADER: usize = 8;
const ERSPAN_3_HEADER: usize = 12;
const ERSPAN_3_PLATFORM: usize = 8;

/// VXLAN: 8-byte header whose first byte has the I (valid VNI) flag.
const VXLAN_HEADER: usize = 8;
const VXLAN_FLAG_VNI: u8 = 0x08;

/// GTP-U: version 1 with protocol type GTP, carrying a G-PDU (user data).
const GTP_MANDATORY_HEADER: usize = 8;
const GTP_OPTIONAL_FIELDS: usize = 4;
const GTP_MSG_G_PDU: u8 = 0xff;
const GTP_FLAG_EXT: u8 = 0x04;
const GTP_FLAGS_OPTIONAL: u8 = 0x07;
/// Extension headers followed at most (TS 29.281 §5.2 sets no limit; real packets carry
/// one or two, e.g. the PDU session container of 5G).
const MAX_GTP_EXTENSIONS: usize = 8;

/// CAPWAP: preamble version 0 / type 0 (type 1 is a DTLS-protected packet).
const CAPWAP_PREAMBLE_CLEAR: u8 = 0x00;
const CAPWAP_WBID_IEEE80211: u8 = 1;
const CAPWAP_FLAG_FRAGMENT: u8 = 0x80;

/// The tunnel an IP protocol number announces, and its inner network layer.
pub fn over_ip(proto: IpProto, data: &[u8]) -> Option<(Tunnel, Network<'_>)> {
    match proto {
        IPPROTO_IPIP | IPPROTO_IPV6 => Some((Tunnel::IpInIp, link::by_version_nibble(data))),
        IPPROTO_GRE => Some(gre(data)),
        _ => None,
    }
}

/// True when a UDP port pair may carry a tunnel this module opens (a cheap pre-check).
pub fn udp_port_hint(sport: u16, dport: u16) -> bool {
    dport == VXLAN_PORT
        || sport == GTP_U_PORT
        || dport == GTP_U_PORT
        || sport == CAPWAP_DATA_PORT
        || dport == CAPWAP_DATA_PORT
}

/// The tunnel a UDP port pair announces, and its inner network layer.
pub fn over_udp(sport: u16, dport: u16, payload: &[u8]) -> Option<(Tunnel, Network<'_>)> {
    if dport == VXLAN_PORT {
        Some((Tunnel::Vxlan, vxlan(payload)))
    } else if sport == GTP_U_PORT || dport == GTP_U_PORT {
        Some((Tunnel::GtpU, gtp_u(payload)))
    } else if sport == CAPWAP_DATA_PORT || dport == CAPWAP_DATA_PORT {
        Some((Tunnel::Capwap, capwap_data(payload)))
    } else {
        None
    }
}

/// GRE version 0 (RFC 2784/2890) or 1 (PPTP, RFC 2637). Source routing (RFC 1701's R
/// bit) is obsolete and not followed.
pub fn gre(data: &[u8]) -> (Tunnel, Network<'_>) {
    let Some(&[flags, ver, p0, p1]) = data.get(0..4) else {
        return (Tunnel::Gre, Network::Truncated);
    };
    let proto = u16::from_be_bytes([p0, p1]);
    let version = ver & GRE_VERSION_MASK;
    if flags & GRE_ROUTING != 0 || version > 1 || (version == 1 && flags & GRE_KEY == 0) {
        return (Tunnel::Gre, Network::NonIp);
    }
    let mut len = 4;
    if flags & GRE_CHECKSUM != 0 {
        len += 4;
    }
    for (present, size) in [
        (flags & GRE_KEY != 0, 4),
        (flags & GRE_SEQ != 0, 4),
        (version == 1 && ver & GRE_ACK != 0, 4),
    ] {
        if present {
            len += size;
        }
    }
    let Some(rest) = data.get(len..) else {
        return (Tunnel::Gre, Network::Truncated);
    };
    match proto {
        GRE_PROTO_TEB => (Tunnel::Gre, link::ethernet(rest)),
        GRE_PROTO_PPP => (Tunnel::Gre, link::ppp(rest)),
        // ERSPAN type I has no header of its own (and no GRE sequence number).
        GRE_PROTO_ERSPAN_2 if flags & GRE_SEQ == 0 => (Tunnel::Erspan, link::ethernet(rest)),
        GRE_PROTO_ERSPAN_2 => (Tunnel::Erspan, skip_then_ethernet(rest, ERSPAN_2_HEADER)),
        GRE_PROTO_ERSPAN_3 => {
            let Some(&last) = rest.get(ERSPAN_3_HEADER - 1) else {
                return (Tunnel::Erspan, Network::Truncated);
            };
            // The O bit announces an 8-byte platform-specific sub-header.
            let header = if last & 0x01 != 0 {
                ERSPAN_3_HEADER + ERSPAN_3_PLATFORM
            } else {
                ERSPAN_3_HEADER
            };
            (Tunnel::Erspan, skip_then_ethernet(rest, header))
        }
        _ => (Tunnel::Gre, link::ethertype_payload(proto, rest, 0)),
    }
}

fn skip_then_ethernet(data: &[u8], header: usize) -> Network<'_> {
    match data.get(header..) {
        Some(rest) => link::ethernet(rest),
        None => Network::Truncated,
    }
}

/// VXLAN: an 8-byte header with the I flag, then an Ethernet frame.
pub fn vxlan(payload: &[u8]) -> Network<'_> {
    match payload.get(0..VXLAN_HEADER) {
        Some(h) if h[0] & VXLAN_FLAG_VNI != 0 => link::ethernet(&payload[VXLAN_HEADER..]),
        Some(_) => Network::NonIp,
        None => Network::Truncated,
    }
}

/// GTP-U version 1 G-PDU: skip the header, its optional fields and the extension-header
/// chain, then read the user packet's IP version.
pub fn gtp_u(payload: &[u8]) -> Network<'_> {
    let Some(&[flags, msg_type]) = payload.get(0..2) else {
        return Network::Truncated;
    };
    // Version 1 (bits 7-5) with protocol type 1 (bit 4): GTP, not GTP'.
    if flags & 0xf0 != 0x30 || msg_type != GTP_MSG_G_PDU {
        return Network::NonIp;
    }
    let mut offset = GTP_MANDATORY_HEADER;
    if flags & GTP_FLAGS_OPTIONAL != 0 {
        offset += GTP_OPTIONAL_FIELDS;
        if flags & GTP_FLAG_EXT != 0 {
            // The next-extension-type byte ends the optional fields; each extension is
            // a length in 4-byte units, its content, and the next type in its last byte.
            let Some(mut next) = payload.get(offset - 1).copied() else {
                return Network::Truncated;
            };
            let mut extensions = 0;
            while next != 0 {
                extensions += 1;
                if extensions > MAX_GTP_EXTENSIONS {
                    return Network::NonIp;
                }
                let Some(&units) = payload.get(offset) else {
                    return Network::Truncated;
                };
                if units == 0 {
                    return Network::NonIp;
                }
                offset += usize::from(units) * 4;
                let Some(&n) = payload.get(offset - 1) else {
                    return Network::Truncated;
                };
                next = n;
            }
        }
    }
    match payload.get(offset..) {
        Some(inner) => link::by_version_nibble(inner),
        None => Network::Truncated,
    }
}

/// A CAPWAP data packet in the clear: skip the header (HLEN counts 4-byte words) and read
/// the 802.11 or 802.3 frame it carries. Fragments are left to the outer flow.
pub fn capwap_data(payload: &[u8]) -> Network<'_> {
    let Some(&[preamble, b1, b2, b3]) = payload.get(0..4) else {
        return Network::Truncated;
    };
    if preamble != CAPWAP_PREAMBLE_CLEAR || b3 & CAPWAP_FLAG_FRAGMENT != 0 {
        return Network::NonIp;
    }
    let header = usize::from(b1 >> 3) * 4;
    let wbid = (b2 >> 1) & 0x1f;
    // T bit: the payload is in the binding's native format, else an 802.3 frame.
    let native = b2 & 0x01 != 0;
    let Some(frame) = payload.get(header..).filter(|_| header >= 8) else {
        return Network::Truncated;
    };
    match (native, wbid) {
        (false, _) => link::ethernet(frame),
        (true, CAPWAP_WBID_IEEE80211) => link::ieee80211(frame),
        _ => Network::NonIp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn inner_v4() -> Vec<u8> {
        let mut out = Vec::new();
        let _ = PacketBuilder::ipv4([192, 168, 0, 1], [10, 0, 0, 1], 64)
            .udp(1234, 53)
            .write(&mut out, b"q");
        out
    }

    fn eth_header(ethertype: u16) -> Vec<u8> {
        let mut e = vec![2u8; 12];
        e.extend_from_slice(&ethertype.to_be_bytes());
        e
    }

    #[test]
    fn ip_in_ip_reads_version_nibble() {
        let ip = inner_v4();
        assert_eq!(
            over_ip(IPPROTO_IPV6, &ip),
            Some((Tunnel::IpInIp, Network::Ipv4(&ip[..])))
        );
        assert_eq!(over_ip(IpProto::TCP, &ip), None);
    }

    #[test]
    fn gre_with_checksum_key_and_sequence() {
        let ip = inner_v4();
        let mut g = vec![GRE_CHECKSUM | GRE_KEY | GRE_SEQ, 0, 0x08, 0x00];
        g.extend_from_slice(&[0; 12]);
        g.extend_from_slice(&ip);
        assert_eq!(gre(&g), (Tunnel::Gre, Network::Ipv4(&ip[..])));
        // Cut inside the options.
        assert_eq!(gre(&g[..10]).1, Network::Truncated);
        // Routing present or version 2: not followed.
        g[0] |= GRE_ROUTING;
        assert_eq!(gre(&g).1, Network::NonIp);
    }

    #[test]
    fn gre_transparent_ethernet_and_erspan() {
        let ip = inner_v4();
        let mut teb = vec![GRE_KEY, 0, 0x65, 0x58, 0, 0, 0, 9];
        teb.extend_from_slice(&eth_header(0x0800));
        teb.extend_from_slice(&ip);
        assert_eq!(gre(&teb), (Tunnel::Gre, Network::Ipv4(&ip[..])));

        let mut e2 = vec![GRE_SEQ, 0, 0x88, 0xbe, 0, 0, 0, 1];
        e2.extend_from_slice(&[0x10, 0, 0, 1, 0, 0, 0, 0]);
        e2.extend_from_slice(&eth_header(0x0800));
        e2.extend_from_slice(&ip);
        assert_eq!(gre(&e2), (Tunnel::Erspan, Network::Ipv4(&ip[..])));

        let mut e3 = vec![0, 0, 0x22, 0xeb];
        e3.extend_from_slice(&[0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x01]);
        e3.extend_from_slice(&[0; ERSPAN_3_PLATFORM]);
        e3.extend_from_slice(&eth_header(0x86dd));
        e3.extend_from_slice(&[0x60, 0]);
        assert_eq!(gre(&e3), (Tunnel::Erspan, Network::Ipv6(&[0x60, 0])));
    }

    #[test]
    fn enhanced_gre_carries_ppp() {
        let ip = inner_v4();
        // Version 1, key (payload length + call id), sequence and acknowledgment.
        let mut g = vec![GRE_KEY | GRE_SEQ, GRE_ACK | 1, 0x88, 0x0b];
        g.extend_from_slice(&[0; 12]);
        g.extend_from_slice(&[0xff, 0x03, 0x00, 0x21]);
        g.extend_from_slice(&ip);
        assert_eq!(gre(&g), (Tunnel::Gre, Network::Ipv4(&ip[..])));
        // Protocol-field compression: a single 0x21 byte.
        let mut c = vec![GRE_KEY, 1, 0x88, 0x0b, 0, 0, 0, 0, 0x21];
        c.extend_from_slice(&ip);
        assert_eq!(gre(&c).1, Network::Ipv4(&ip[..]));
        // Version 1 without the key is malformed.
        assert_eq!(gre(&[0, 1, 0x88, 0x0b, 0x21]).1, Network::NonIp);
    }

    #[test]
    fn vxlan_needs_the_vni_flag() {
        let ip = inner_v4();
        let mut v = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        v.extend_from_slice(&eth_header(0x0800));
        v.extend_from_slice(&ip);
        assert_eq!(
            over_udp(50000, VXLAN_PORT, &v),
            Some((Tunnel::Vxlan, Network::Ipv4(&ip[..])))
        );
        v[0] = 0;
        assert_eq!(vxlan(&v), Network::NonIp);
        // ARP inside: not IP.
        let mut arp = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        arp.extend_from_slice(&eth_header(0x0806));
        assert_eq!(vxlan(&arp), Network::NonIp);
    }

    #[test]
    fn gtp_u_with_extension_chain() {
        let ip = inner_v4();
        let len = (ip.len() + 12) as u16;
        // E flag, G-PDU, length, TEID; seq, N-PDU, next type 0x85 (PDU session container).
        let mut g = vec![0x34, 0xff];
        g.extend_from_slice(&len.to_be_bytes());
        g.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0x85]);
        // One 4-byte extension, then "no more".
        g.extend_from_slice(&[1, 0x10, 0x09, 0x00]);
        g.extend_from_slice(&ip);
        assert_eq!(gtp_u(&g), Network::Ipv4(&ip[..]));
        // A zero-length extension would never end.
        let mut bad = g.clone();
        bad[12] = 0;
        assert_eq!(gtp_u(&bad), Network::NonIp);
        // Without flags: the plain 8-byte header.
        let mut plain = vec![0x30, 0xff, 0, 0, 0, 0, 0, 1];
        plain.extend_from_slice(&ip);
        assert_eq!(gtp_u(&plain), Network::Ipv4(&ip[..]));
        // GTP-U echo request, GTP' (protocol type 0) and version 2: not user data.
        assert_eq!(gtp_u(&[0x32, 0x01, 0, 4, 0, 0, 0, 0]), Network::NonIp);
        assert_eq!(gtp_u(&[0x20, 0xff, 0, 0, 0, 0, 0, 0]), Network::NonIp);
        assert_eq!(gtp_u(&[0x48, 0xff, 0, 0, 0, 0, 0, 0]), Network::NonIp);
    }

    #[test]
    fn gtp_u_extension_chain_is_bounded() {
        let mut g = vec![0x34, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x85];
        for _ in 0..=MAX_GTP_EXTENSIONS {
            g.extend_from_slice(&[1, 0, 0, 0x85]);
        }
        g.extend_from_slice(&inner_v4());
        assert_eq!(gtp_u(&g), Network::NonIp);
    }

    /// CAPWAP header: HLEN 4 words, WBID 1 (802.11), T set, W set with 4 bytes of
    /// wireless-specific information, as an access point sends it.
    fn capwap_80211_header() -> Vec<u8> {
        vec![0x00, 0x20, 0x03, 0x20, 0, 0, 0, 0, 4, 1, 2, 0, 0, 0, 0, 0]
    }

    fn wlan_data_to_ds(swapped: bool) -> Vec<u8> {
        let fc = if swapped { [0x01, 0x08] } else { [0x08, 0x01] };
        let mut w = fc.to_vec();
        w.extend_from_slice(&[0; 22]);
        w.extend_from_slice(&LLC_SNAP);
        w
    }

    const LLC_SNAP: [u8; 8] = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];

    #[test]
    fn capwap_carries_80211_with_llc_snap() {
        let ip = inner_v4();
        for swapped in [false, true] {
            let mut c = capwap_80211_header();
            c.extend_from_slice(&wlan_data_to_ds(swapped));
            c.extend_from_slice(&ip);
            assert_eq!(
                over_udp(40000, CAPWAP_DATA_PORT, &c),
                Some((Tunnel::Capwap, Network::Ipv4(&ip[..])))
            );
        }
        // A management frame (beacon) is not IP; a fragment is left alone.
        let mut beacon = capwap_80211_header();
        beacon.extend_from_slice(&[0x80, 0x00]);
        beacon.extend_from_slice(&[0; 30]);
        assert_eq!(capwap_data(&beacon), Network::NonIp);
        let mut frag = capwap_80211_header();
        frag[3] |= CAPWAP_FLAG_FRAGMENT;
        assert_eq!(capwap_data(&frag), Network::NonIp);
        // A DTLS-protected packet (preamble type 1) is not read.
        assert_eq!(capwap_data(&[0x01, 0x20, 0x03, 0x20]), Network::NonIp);
    }

    #[test]
    fn capwap_carries_8023() {
        let ip = inner_v4();
        let mut c = vec![0x00, 0x10, 0x02, 0x00, 0, 0, 0, 0];
        c.extend_from_slice(&eth_header(0x0800));
        c.extend_from_slice(&ip);
        assert_eq!(capwap_data(&c), Network::Ipv4(&ip[..]));
    }

    #[test]
    fn ports_hint_only_the_tunnel_ports() {
        assert!(udp_port_hint(1, VXLAN_PORT));
        assert!(udp_port_hint(GTP_U_PORT, 1));
        assert!(!udp_port_hint(VXLAN_PORT, 1));
        assert!(!udp_port_hint(443, 50000));
        assert_eq!(over_udp(443, 50000, &[]), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(
            proto in 0u8..64,
            sport in proptest::sample::select(vec![GTP_U_PORT, CAPWAP_DATA_PORT, 1]),
            dport in proptest::sample::select(vec![VXLAN_PORT, GTP_U_PORT, 1]),
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..96),
        ) {
            let _ = over_ip(IpProto(proto), &bytes);
            let _ = over_udp(sport, dport, &bytes);
            let _ = gre(&bytes);
            let _ = gtp_u(&bytes);
            let _ = capwap_data(&bytes);
        }
    }
}
