//! Which part of the address space an IP is in: only public addresses are geolocated.
//!
//! References:
//! - IANA IPv4 Special-Purpose Address Registry (RFC 6890):
//!   <https://www.iana.org/assignments/iana-ipv4-special-registry/>
//! - IANA IPv6 Special-Purpose Address Registry:
//!   <https://www.iana.org/assignments/iana-ipv6-special-registry/>
//! - RFC 1918 (private IPv4), RFC 6598 (shared 100.64/10), RFC 4193 (ULA),
//!   RFC 5737 / RFC 3849 / RFC 9637 (documentation), RFC 6052 (NAT64 64:ff9b::/96),
//!   RFC 4291 §2.5.5.2 (IPv4-mapped IPv6).

use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where an address sits in the special-purpose registries.
///
/// Only `Public` addresses get a country or ASN: a private peer is never "abroad".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressScope {
    #[default]
    Public,
    /// RFC 1918 IPv4 and RFC 4193 unique local IPv6 (fc00::/7).
    Private,
    /// 127.0.0.0/8 and ::1.
    Loopback,
    /// 169.254.0.0/16 and fe80::/10.
    LinkLocal,
    /// RFC 6598 shared address space 100.64.0.0/10 (carrier-grade NAT).
    Cgnat,
    /// 224.0.0.0/4 and ff00::/8.
    Multicast,
    /// 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// Everything else that is not routable on the public Internet
    /// (0.0.0.0/8, 240.0.0.0/4, 192.0.0.0/24, 198.18.0.0/15, ::, 100::/64, …).
    Reserved,
}

impl AddressScope {
    pub fn of(ip: IpAddr) -> AddressScope {
        match ip {
            IpAddr::V4(v4) => scope_v4(v4),
            IpAddr::V6(v6) => match embedded_ipv4(v6) {
                Some(v4) => scope_v4(v4),
                None => scope_v6(v6),
            },
        }
    }

    pub fn is_public(self) -> bool {
        self == AddressScope::Public
    }
}

/// The IPv4 address that an IPv6 address stands for, where the IPv4 host is the real
/// destination: IPv4-mapped `::ffff:a.b.c.d` (dual-stack sockets) and the NAT64
/// well-known prefix `64:ff9b::a.b.c.d` (the NAT64 gateway forwards to that host).
pub fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let seg = v6.segments();
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let o = v6.octets();
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    None
}

/// `(network, prefix length)` in host order; a hit when the top `len` bits match.
fn in_v4(ip: u32, net: [u8; 4], len: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    ip & mask == u32::from_be_bytes(net) & mask
}

fn scope_v4(v4: Ipv4Addr) -> AddressScope {
    use AddressScope::*;
    let ip = u32::from(v4);
    const TABLE: &[([u8; 4], u32, AddressScope)] = &[
        ([10, 0, 0, 0], 8, Private),
        ([172, 16, 0, 0], 12, Private),
        ([192, 168, 0, 0], 16, Private),
        ([127, 0, 0, 0], 8, Loopback),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([100, 64, 0, 0], 10, Cgnat),
        ([224, 0, 0, 0], 4, Multicast),
        ([192, 0, 2, 0], 24, Documentation),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([0, 0, 0, 0], 8, Reserved),
        // IETF protocol assignments (DS-Lite, NAT64 discovery, ...) except the two
        // anycast /32s in it, which are rare enough to ignore.
        ([192, 0, 0, 0], 24, Reserved),
        ([198, 18, 0, 0], 15, Reserved), // benchmarking, RFC 2544
        ([240, 0, 0, 0], 4, Reserved),   // includes 255.255.255.255
    ];
    TABLE
        .iter()
        .find(|(net, len, _)| in_v4(ip, *net, *len))
        .map_or(Public, |(_, _, scope)| *scope)
}

fn in_v6(ip: u128, net: [u16; 8], len: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    ip & mask == u128::from(Ipv6Addr::from(net)) & mask
}

fn scope_v6(v6: Ipv6Addr) -> AddressScope {
    use AddressScope::*;
    let ip = u128::from(v6);
    const TABLE: &[([u16; 8], u32, AddressScope)] = &[
        ([0, 0, 0, 0, 0, 0, 0, 1], 128, Loopback),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, Private),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, LinkLocal),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Multicast),
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, Documentation),
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, Documentation),
        ([0, 0, 0, 0, 0, 0, 0, 0], 128, Reserved), // unspecified
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, Reserved), // discard-only, RFC 6666
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, Reserved), // deprecated site-local
        // Outside 2000::/3 nothing is globally routed today; `::/8` also holds the
        // deprecated IPv4-compatible form.
        ([0, 0, 0, 0, 0, 0, 0, 0], 8, Reserved),
    ];
    TABLE
        .iter()
        .find(|(net, len, _)| in_v6(ip, *net, *len))
        .map_or(Public, |(_, _, scope)| *scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressScope::*;

    fn scope(s: &str) -> AddressScope {
        AddressScope::of(s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
    }

    #[test]
    fn ipv4_special_ranges() {
        for (ip, want) in [
            ("10.1.2.3", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.32.0.1", Public),
            ("192.168.178.1", Private),
            ("127.0.0.1", Loopback),
            ("169.254.10.20", LinkLocal),
            ("100.64.0.1", Cgnat),
            ("100.127.255.255", Cgnat),
            ("100.128.0.1", Public),
            ("224.0.0.251", Multicast),
            ("239.255.255.250", Multicast),
            ("192.0.2.1", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("0.0.0.0", Reserved),
            ("255.255.255.255", Reserved),
            ("198.18.0.1", Reserved),
            ("8.8.8.8", Public),
            ("88.198.1.1", Public),
        ] {
            assert_eq!(scope(ip), want, "{ip}");
        }
    }

    #[test]
    fn ipv6_special_ranges_and_embedded_ipv4() {
        for (ip, want) in [
            ("::1", Loopback),
            ("::", Reserved),
            ("fd12:3456::1", Private),
            ("fc00::1", Private),
            ("fe80::1", LinkLocal),
            ("ff02::fb", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff:0fff::1", Documentation),
            ("2001:4860:4860::8888", Public),
            ("::ffff:10.0.0.1", Private),
            ("::ffff:8.8.8.8", Public),
            ("64:ff9b::192.168.1.1", Private),
            ("64:ff9b::8.8.8.8", Public),
        ] {
            assert_eq!(scope(ip), want, "{ip}");
        }
        assert_eq!(
            embedded_ipv4("64:ff9b::1.2.3.4".parse().unwrap_or(Ipv6Addr::UNSPECIFIED)),
            Some(Ipv4Addr::new(1, 2, 3, 4))
        );
        assert_eq!(embedded_ipv4(Ipv6Addr::LOCALHOST), None);
    }
}
