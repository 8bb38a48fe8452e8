//! Link layers: strip the link header and find the network-layer bytes.
//!
//! References: tcpdump.org/linktypes.html; IEEE 802.1Q (VLAN, QinQ 0x88a8/0x9100);
//! RFC 3032 (MPLS label stack); RFC 2516 (PPPoE session, 0x8864); RFC 1661 (PPP);
//! Linux cooked capture v1/v2 (tcpdump.org/linktypes/LINKTYPE_LINUX_SLL{,2}.html).

use crate::capture::LinkType;

/// What the link layer carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network<'a> {
    Ipv4(&'a [u8]),
    Ipv6(&'a [u8]),
    /// ARP, LLDP, STP, … counted but not inspected.
    NonIp,
    /// The link header itself was cut short.
    Truncated,
    /// A link type this build does not decode.
    UnsupportedLink,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MC: u16 = 0x8848;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;
/// Linktype PPP (9) and PPP in HDLC framing (50).
const LINKTYPE_PPP: u32 = 9;
const LINKTYPE_PPP_HDLC: u32 = 50;

/// Bound on stacked VLAN/MPLS/PPPoE headers, so a crafted frame cannot loop us.
const MAX_LINK_NESTING: usize = 8;

/// Split a frame of the given link type into its network-layer payload.
pub fn network(link: LinkType, frame: &[u8]) -> Network<'_> {
    match link {
        LinkType::ETHERNET => ethernet(frame),
        LinkType::RAW | LinkType::RAW_BSDOS | LinkType::RAW_OPENBSD => by_version_nibble(frame),
        LinkType::IPV4 => Network::Ipv4(frame),
        LinkType::IPV6 => Network::Ipv6(frame),
        LinkType::NULL | LinkType::LOOP => bsd_loopback(frame),
        LinkType::LINUX_SLL => match frame.get(14..16) {
            Some(p) => ethertype_payload(u16::from_be_bytes([p[0], p[1]]), &frame[16..], 0),
            None => Network::Truncated,
        },
        LinkType::LINUX_SLL2 => match frame.get(0..2) {
            Some(p) if frame.len() >= 20 => {
                ethertype_payload(u16::from_be_bytes([p[0], p[1]]), &frame[20..], 0)
            }
            _ => Network::Truncated,
        },
        LinkType(LINKTYPE_PPP) | LinkType(LINKTYPE_PPP_HDLC) => ppp(frame),
        _ => Network::UnsupportedLink,
    }
}

fn ethernet(frame: &[u8]) -> Network<'_> {
    match frame.get(12..14) {
        Some(t) => ethertype_payload(u16::from_be_bytes([t[0], t[1]]), &frame[14..], 0),
        None => Network::Truncated,
    }
}

fn ethertype_payload(ethertype: u16, rest: &[u8], depth: usize) -> Network<'_> {
    if depth > MAX_LINK_NESTING {
        return Network::NonIp;
    }
    match ethertype {
        ETHERTYPE_IPV4 => Network::Ipv4(rest),
        ETHERTYPE_IPV6 => Network::Ipv6(rest),
        ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => match rest.get(2..4) {
            Some(t) => ethertype_payload(u16::from_be_bytes([t[0], t[1]]), &rest[4..], depth + 1),
            None => Network::Truncated,
        },
        ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => mpls(rest),
        ETHERTYPE_PPPOE_SESSION => match rest.get(6..8) {
            Some(p) => ppp_protocol(u16::from_be_bytes([p[0], p[1]]), &rest[8..]),
            None => Network::Truncated,
        },
        _ => Network::NonIp,
    }
}

/// MPLS carries no next-protocol field: after the bottom-of-stack label, guess from the
/// IP version nibble, as tcpdump and Wireshark do.
fn mpls(mut rest: &[u8]) -> Network<'_> {
    for _ in 0..MAX_LINK_NESTING {
        let Some(label) = rest.get(0..4) else {
            return Network::Truncated;
        };
        let bottom = label[2] & 0x01 != 0;
        rest = &rest[4..];
        if bottom {
            return by_version_nibble(rest);
        }
    }
    Network::NonIp
}

fn ppp(frame: &[u8]) -> Network<'_> {
    // PPP in HDLC-like framing starts with address 0xff and control 0x03.
    let body = match frame {
        [0xff, 0x03, rest @ ..] => rest,
        _ => frame,
    };
    match body.get(0..2) {
        Some(p) => ppp_protocol(u16::from_be_bytes([p[0], p[1]]), &body[2..]),
        None => Network::Truncated,
    }
}

fn ppp_protocol(protocol: u16, rest: &[u8]) -> Network<'_> {
    match protocol {
        PPP_IPV4 => Network::Ipv4(rest),
        PPP_IPV6 => Network::Ipv6(rest),
        _ => Network::NonIp,
    }
}

/// BSD loopback: a 4-byte address family, in host byte order for NULL and network order
/// for LOOP; we accept both orders. IPv6 is 24, 28 or 30 depending on the BSD.
fn bsd_loopback(frame: &[u8]) -> Network<'_> {
    let Some(af) = frame.get(0..4) else {
        return Network::Truncated;
    };
    let le = u32::from_le_bytes([af[0], af[1], af[2], af[3]]);
    let be = u32::from_be_bytes([af[0], af[1], af[2], af[3]]);
    let family = if le < 256 { le } else { be };
    let rest = &frame[4..];
    match family {
        2 => Network::Ipv4(rest),
        24 | 28 | 30 => Network::Ipv6(rest),
        _ => Network::NonIp,
    }
}

fn by_version_nibble(data: &[u8]) -> Network<'_> {
    match data.first().map(|b| b >> 4) {
        Some(4) => Network::Ipv4(data),
        Some(6) => Network::Ipv6(data),
        Some(_) => Network::NonIp,
        None => Network::Truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: [u8; 2] = [0x45, 0x00];

    #[test]
    fn ethernet_with_qinq_vlan() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2, 0x08, 0x00]);
        f.extend_from_slice(&IP);
        assert_eq!(network(LinkType::ETHERNET, &f), Network::Ipv4(&IP));
    }

    #[test]
    fn mpls_then_pppoe() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0x47, 0, 0, 0x10, 0xff, 0, 0, 0x21, 0xff]);
        f.extend_from_slice(&[0x60, 0]);
        assert_eq!(network(LinkType::ETHERNET, &f), Network::Ipv6(&[0x60, 0]));

        let mut p = vec![0u8; 12];
        p.extend_from_slice(&[0x88, 0x64, 0x11, 0, 0, 1, 0, 2, 0x00, 0x21]);
        p.extend_from_slice(&IP);
        assert_eq!(network(LinkType::ETHERNET, &p), Network::Ipv4(&IP));
    }

    #[test]
    fn sll_sll2_null_loop_raw() {
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x86, 0xdd, 0x60]);
        assert_eq!(network(LinkType::LINUX_SLL, &sll), Network::Ipv6(&[0x60]));
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&IP);
        assert_eq!(network(LinkType::LINUX_SLL2, &sll2), Network::Ipv4(&IP));
        assert_eq!(
            network(LinkType::NULL, &[2, 0, 0, 0, 0x45]),
            Network::Ipv4(&[0x45])
        );
        assert_eq!(
            network(LinkType::LOOP, &[0, 0, 0, 30, 0x60]),
            Network::Ipv6(&[0x60])
        );
        assert_eq!(network(LinkType::RAW, &IP), Network::Ipv4(&IP));
    }

    #[test]
    fn short_and_unknown_frames() {
        assert_eq!(network(LinkType::ETHERNET, &[0; 13]), Network::Truncated);
        assert_eq!(network(LinkType::ETHERNET, &[]), Network::Truncated);
        assert_eq!(network(LinkType(127), &[0; 40]), Network::UnsupportedLink);
        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06]);
        assert_eq!(network(LinkType::ETHERNET, &arp), Network::NonIp);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(link in 0u32..300, bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = network(LinkType(link), &bytes);
        }
    }
}
