//! Link layers: strip the link header and find the network-layer bytes.
//!
//! References: tcpdump.org/linktypes.html; IEEE 802.1Q (VLAN, QinQ 0x88a8/0x9100);
//! RFC 3032 (MPLS label stack); RFC 2516 (PPPoE session, 0x8864); RFC 1661 (PPP);
//! RFC 1662 (PPP in HDLC-like framing); Linux cooked capture v1/v2
//! (tcpdump.org/linktypes/LINKTYPE_LINUX_SLL{,2}.html); Cisco HDLC
//! (tcpdump.org/linktypes/LINKTYPE_C_HDLC.html); IEEE 802.11-2020 §9.2 (MAC frame format);
//! RFC 1042 (LLC/SNAP); radiotap.org (radiotap header); PPI: CACE Technologies,
//! "Per-Packet Information Header Specification" 1.0.10.

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
const ETHERTYPE_MAX_LENGTH: u16 = 1500;
/// Linktype PPP (9) and PPP in HDLC framing (50).
const LINKTYPE_PPP: u32 = 9;
const LINKTYPE_PPP_HDLC: u32 = 50;
/// Cisco HDLC: address, control, then an Ethertype.
const LINKTYPE_C_HDLC: u32 = 104;
const LINKTYPE_IEEE802_11: u32 = 105;
/// 802.11 behind a Prism monitor-mode header (its length at byte 4, host order).
const LINKTYPE_IEEE802_11_PRISM: u32 = 119;
const LINKTYPE_IEEE802_11_RADIOTAP: u32 = 127;
/// 802.11 behind an AVS monitor-mode header (its length at byte 4, big-endian).
const LINKTYPE_IEEE802_11_AVS: u32 = 163;
const LINKTYPE_PPI: u32 = 192;
/// PPP preceded by one direction byte.
const LINKTYPE_PPP_WITH_DIR: u32 = 204;
/// IP over InfiniBand: a 2-byte Ethertype and 2 reserved bytes.
const LINKTYPE_IPOIB: u32 = 242;
/// Cisco HDLC addresses: unicast and broadcast (control is always 0).
const CHDLC_UNICAST: u8 = 0x0f;
const CHDLC_BROADCAST: u8 = 0x8f;
/// RFC 1042 SNAP header (LLC AA-AA-03, OUI 00-00-00) and 802.1H bridge tunnel (OUI 00-00-F8).
const LLC_SNAP_RFC1042: [u8; 6] = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00];
const LLC_SNAP_BRIDGE_TUNNEL: [u8; 6] = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0xf8];

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
        LinkType(LINKTYPE_PPP_WITH_DIR) => match frame.get(1..) {
            Some(rest) => ppp(rest),
            None => Network::Truncated,
        },
        LinkType(LINKTYPE_C_HDLC) => cisco_hdlc(frame),
        LinkType(LINKTYPE_IEEE802_11) => ieee80211(frame),
        LinkType(LINKTYPE_IEEE802_11_RADIOTAP) => radiotap(frame),
        LinkType(LINKTYPE_IEEE802_11_PRISM) => match frame.get(4..8) {
            Some(l) => skip_then_80211(frame, u32::from_le_bytes([l[0], l[1], l[2], l[3]])),
            None => Network::Truncated,
        },
        LinkType(LINKTYPE_IEEE802_11_AVS) => match frame.get(4..8) {
            Some(l) => skip_then_80211(frame, u32::from_be_bytes([l[0], l[1], l[2], l[3]])),
            None => Network::Truncated,
        },
        LinkType(LINKTYPE_PPI) => ppi(frame),
        LinkType(LINKTYPE_IPOIB) => match frame.get(0..4) {
            Some(t) => ethertype_payload(u16::from_be_bytes([t[0], t[1]]), &frame[4..], 0),
            None => Network::Truncated,
        },
        _ => Network::UnsupportedLink,
    }
}

/// Ethernet II, or IEEE 802.3 with an LLC/SNAP header when the type field is a length.
pub(crate) fn ethernet(frame: &[u8]) -> Network<'_> {
    match frame.get(12..14) {
        Some(t) => match u16::from_be_bytes([t[0], t[1]]) {
            len if len <= ETHERTYPE_MAX_LENGTH => llc_snap(&frame[14..]),
            ethertype => ethertype_payload(ethertype, &frame[14..], 0),
        },
        None => Network::Truncated,
    }
}

/// An LLC/SNAP header carrying an Ethertype (RFC 1042); other LLC payloads are not IP.
fn llc_snap(data: &[u8]) -> Network<'_> {
    match data.get(0..8) {
        Some(h) if h[..6] == LLC_SNAP_RFC1042 || h[..6] == LLC_SNAP_BRIDGE_TUNNEL => {
            ethertype_payload(u16::from_be_bytes([h[6], h[7]]), &data[8..], 0)
        }
        Some(_) => Network::NonIp,
        None if data.len() >= 3 => Network::NonIp,
        None => Network::Truncated,
    }
}

/// Cisco HDLC: address (0x0f or 0x8f), control 0, then an Ethertype (SLARP is 0x8035).
fn cisco_hdlc(frame: &[u8]) -> Network<'_> {
    match frame.get(0..4) {
        Some(h) => ethertype_payload(u16::from_be_bytes([h[2], h[3]]), &frame[4..], 0),
        None => Network::Truncated,
    }
}

/// Frame-control subfields (IEEE 802.11-2020 §9.2.4.1).
const WLAN_TYPE_DATA: u8 = 2;
const WLAN_SUBTYPE_QOS: u8 = 0x08;
const WLAN_SUBTYPE_NO_DATA: u8 = 0x04;
const WLAN_FLAG_TO_DS: u8 = 0x01;
const WLAN_FLAG_FROM_DS: u8 = 0x02;
const WLAN_FLAG_PROTECTED: u8 = 0x40;
/// +HTC/Order: an HT Control field follows the QoS Control field in QoS data frames.
const WLAN_FLAG_ORDER: u8 = 0x80;
/// QoS Control bit 7: the body is an A-MSDU (not decoded).
const WLAN_QOS_AMSDU: u8 = 0x80;
/// Frame control, duration, three addresses and sequence control.
const WLAN_BASE_HEADER: usize = 24;

/// An IEEE 802.11 frame: only unprotected data frames carry readable IP, behind LLC/SNAP.
/// Some controllers (Cisco CAPWAP) send the frame-control bytes swapped; the protocol
/// version must be 0, so a frame whose first byte says otherwise is read swapped.
pub(crate) fn ieee80211(frame: &[u8]) -> Network<'_> {
    let Some(&[b0, b1]) = frame.get(0..2) else {
        return Network::Truncated;
    };
    let (fc, flags) = if b0 & 0x03 != 0 && b1 & 0x03 == 0 {
        (b1, b0)
    } else {
        (b0, b1)
    };
    let (ftype, subtype) = ((fc >> 2) & 0x03, fc >> 4);
    if fc & 0x03 != 0
        || ftype != WLAN_TYPE_DATA
        || subtype & WLAN_SUBTYPE_NO_DATA != 0
        || flags & WLAN_FLAG_PROTECTED != 0
    {
        return Network::NonIp;
    }
    let mut len = WLAN_BASE_HEADER;
    if flags & WLAN_FLAG_TO_DS != 0 && flags & WLAN_FLAG_FROM_DS != 0 {
        len += 6;
    }
    if subtype & WLAN_SUBTYPE_QOS != 0 {
        match frame.get(len) {
            Some(qos) if qos & WLAN_QOS_AMSDU != 0 => return Network::NonIp,
            Some(_) => {}
            None => return Network::Truncated,
        }
        len += 2;
        if flags & WLAN_FLAG_ORDER != 0 {
            len += 4;
        }
    }
    match frame.get(len..) {
        Some(body) => llc_snap(body),
        None => Network::Truncated,
    }
}

/// Radiotap: version 0, pad, then the little-endian length of the whole header.
fn radiotap(frame: &[u8]) -> Network<'_> {
    match frame.get(0..4) {
        Some(h) if h[0] == 0 => skip_then_80211(frame, u32::from(u16::from_le_bytes([h[2], h[3]]))),
        Some(_) => Network::NonIp,
        None => Network::Truncated,
    }
}

fn skip_then_80211(frame: &[u8], header_len: u32) -> Network<'_> {
    match usize::try_from(header_len)
        .ok()
        .and_then(|l| frame.get(l..))
    {
        Some(rest) => ieee80211(rest),
        None => Network::Truncated,
    }
}

/// PPI: version 0, flags, little-endian header length and the inner link type.
fn ppi(frame: &[u8]) -> Network<'_> {
    let Some(h) = frame.get(0..8) else {
        return Network::Truncated;
    };
    let len = usize::from(u16::from_le_bytes([h[2], h[3]]));
    let inner = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    match frame.get(len..) {
        // PPI inside PPI would let a frame recurse; no capture tool writes it.
        Some(_) if inner == LINKTYPE_PPI || h[0] != 0 => Network::NonIp,
        Some(rest) if len >= 8 => network(LinkType(inner), rest),
        _ => Network::Truncated,
    }
}

pub(crate) fn ethertype_payload(ethertype: u16, rest: &[u8], depth: usize) -> Network<'_> {
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

/// PPP, with or without HDLC-like address/control bytes; a frame that starts with a Cisco
/// HDLC address is Cisco HDLC (routers log it under the PPP link type, as Wireshark knows).
pub(crate) fn ppp(frame: &[u8]) -> Network<'_> {
    let body = match frame {
        [CHDLC_UNICAST | CHDLC_BROADCAST, 0x00, ..] => return cisco_hdlc(frame),
        // PPP in HDLC-like framing starts with address 0xff and control 0x03.
        [0xff, 0x03, rest @ ..] => rest,
        _ => frame,
    };
    match body {
        // Protocol-field compression (RFC 1661 §6.5): an odd first byte is the whole field.
        [p, rest @ ..] if p & 0x01 != 0 => ppp_protocol(u16::from(*p), rest),
        [a, b, rest @ ..] => ppp_protocol(u16::from_be_bytes([*a, *b]), rest),
        _ => Network::Truncated,
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
        // An unknown family: trust the IP version nibble, as nDPI does.
        _ => by_version_nibble(rest),
    }
}

pub(crate) fn by_version_nibble(data: &[u8]) -> Network<'_> {
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
        assert_eq!(network(LinkType(147), &[0; 40]), Network::UnsupportedLink);
        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06]);
        assert_eq!(network(LinkType::ETHERNET, &arp), Network::NonIp);
    }

    #[test]
    fn cisco_hdlc_and_ppp_variants() {
        let chdlc = [CHDLC_UNICAST, 0x00, 0x08, 0x00, 0x45, 0x00];
        assert_eq!(
            network(LinkType(LINKTYPE_C_HDLC), &chdlc),
            Network::Ipv4(&IP)
        );
        // Routers write Cisco HDLC under the PPP link type.
        assert_eq!(network(LinkType(LINKTYPE_PPP), &chdlc), Network::Ipv4(&IP));
        // SLARP keepalives are not IP.
        let slarp = [CHDLC_BROADCAST, 0x00, 0x80, 0x35, 0, 0, 0, 2];
        assert_eq!(network(LinkType(LINKTYPE_PPP), &slarp), Network::NonIp);
        // MPLS under Cisco HDLC, as a provider edge router captures it.
        let mpls = [
            CHDLC_UNICAST,
            0x00,
            0x88,
            0x47,
            0x00,
            0x01,
            0x2d,
            0xfe,
            0x45,
            0x00,
        ];
        assert_eq!(
            network(LinkType(LINKTYPE_C_HDLC), &mpls),
            Network::Ipv4(&IP)
        );
        assert_eq!(
            network(LinkType(LINKTYPE_C_HDLC), &[0x0f, 0]),
            Network::Truncated
        );
        // PPP with a direction byte, and protocol-field compression.
        let with_dir = [1, 0xff, 0x03, 0x00, 0x57, 0x60];
        assert_eq!(
            network(LinkType(LINKTYPE_PPP_WITH_DIR), &with_dir),
            Network::Ipv6(&[0x60])
        );
        assert_eq!(
            network(LinkType(LINKTYPE_PPP), &[0x21, 0x45, 0x00]),
            Network::Ipv4(&IP)
        );
    }

    /// An 802.11 data frame from a station (To DS), QoS when `qos`, with LLC/SNAP + IPv4.
    fn wlan_data(qos: bool) -> Vec<u8> {
        let subtype = if qos { 0x80 } else { 0x00 };
        let mut w = vec![0x08 | subtype, WLAN_FLAG_TO_DS];
        w.extend_from_slice(&[0; 22]);
        if qos {
            w.extend_from_slice(&[0, 0]);
        }
        w.extend_from_slice(&LLC_SNAP_RFC1042);
        w.extend_from_slice(&[0x08, 0x00]);
        w.extend_from_slice(&IP);
        w
    }

    #[test]
    fn ieee80211_data_frames() {
        assert_eq!(
            network(LinkType(LINKTYPE_IEEE802_11), &wlan_data(false)),
            Network::Ipv4(&IP)
        );
        assert_eq!(
            network(LinkType(LINKTYPE_IEEE802_11), &wlan_data(true)),
            Network::Ipv4(&IP)
        );
        // Protected (encrypted), A-MSDU, null-data and beacon frames carry no readable IP.
        let mut protected = wlan_data(false);
        protected[1] |= WLAN_FLAG_PROTECTED;
        assert_eq!(ieee80211(&protected), Network::NonIp);
        let mut amsdu = wlan_data(true);
        amsdu[24] = WLAN_QOS_AMSDU;
        assert_eq!(ieee80211(&amsdu), Network::NonIp);
        assert_eq!(ieee80211(&[0x48, 0x01, 0, 0]), Network::NonIp);
        assert_eq!(ieee80211(&[0x80, 0x00, 0, 0]), Network::NonIp);
        // Four addresses (WDS) add six bytes.
        let mut wds = vec![0x08, WLAN_FLAG_TO_DS | WLAN_FLAG_FROM_DS];
        wds.extend_from_slice(&[0; 28]);
        wds.extend_from_slice(&LLC_SNAP_RFC1042);
        wds.extend_from_slice(&[0x86, 0xdd, 0x60]);
        assert_eq!(ieee80211(&wds), Network::Ipv6(&[0x60]));
        assert_eq!(ieee80211(&wlan_data(false)[..20]), Network::Truncated);
    }

    #[test]
    fn radiotap_and_ppi_headers() {
        let mut rt = vec![0, 0, 12, 0, 0x04, 0, 0, 0, 0, 0, 0, 0];
        rt.extend_from_slice(&wlan_data(true));
        assert_eq!(
            network(LinkType(LINKTYPE_IEEE802_11_RADIOTAP), &rt),
            Network::Ipv4(&IP)
        );
        // PPI with one 8-byte field in front of Ethernet.
        let mut ppi = vec![0, 0, 16, 0, 1, 0, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0];
        ppi.extend_from_slice(&[0; 12]);
        ppi.extend_from_slice(&[0x08, 0x00]);
        ppi.extend_from_slice(&IP);
        assert_eq!(network(LinkType(LINKTYPE_PPI), &ppi), Network::Ipv4(&IP));
        let nested = [0, 0, 8, 0, 192, 0, 0, 0, 0, 0, 8, 0, 192, 0, 0, 0];
        assert_eq!(network(LinkType(LINKTYPE_PPI), &nested), Network::NonIp);
        assert_eq!(
            network(LinkType(LINKTYPE_PPI), &[0, 0, 200, 0, 1, 0, 0, 0]),
            Network::Truncated
        );
    }

    #[test]
    fn ieee8023_llc_snap_and_unknown_loopback_family() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x00, 0x40]);
        f.extend_from_slice(&LLC_SNAP_RFC1042);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&IP);
        assert_eq!(network(LinkType::ETHERNET, &f), Network::Ipv4(&IP));
        // Spanning tree: LLC 42-42-03.
        let mut stp = vec![0u8; 12];
        stp.extend_from_slice(&[0x00, 0x26, 0x42, 0x42, 0x03, 0, 0, 0, 0, 0]);
        assert_eq!(network(LinkType::ETHERNET, &stp), Network::NonIp);
        // An unknown address family falls back to the version nibble.
        assert_eq!(
            network(LinkType::NULL, &[0, 0x2f, 0, 0x6c, 0x65, 0]),
            Network::Ipv6(&[0x65, 0])
        );
        assert_eq!(
            network(LinkType::NULL, &[0, 0x2f, 0, 0x6c, 0x15]),
            Network::NonIp
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(link in 0u32..300, bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = network(LinkType(link), &bytes);
        }
    }
}
