//! IP prefixes and a longest-prefix-match table per address family.
//!
//! The table keeps one hash map per prefix length that occurs (at most 33 for IPv4, 129 for
//! IPv6) for exact access, and answers longest-prefix matches from a sorted list of disjoint
//! address ranges, each labelled with the longest prefix covering it (built on the first
//! lookup after a change): one binary search, and a hash probe only on a hit. Most addresses
//! match nothing, and probing every length's map for them cost a miss per length.
//!
//! References: RFC 4632 (CIDR notation), RFC 4291 §2.3 (IPv6 prefixes).

use rustc_hash::FxHashMap;
use serde::{Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::OnceLock;

/// An IP network: address with all host bits zero, and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    addr: IpAddr,
    len: u8,
}

impl IpPrefix {
    /// A prefix from an address and length; `None` if the length is too long for the family
    /// or host bits are set.
    pub fn new(addr: IpAddr, len: u8) -> Option<IpPrefix> {
        let p = IpPrefix { addr, len };
        if len > max_len(addr) || p.masked_addr() != addr {
            return None;
        }
        Some(p)
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn len(&self) -> u8 {
        self.len
    }

    /// True for `/0`, the prefix that holds every address of its family.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask_v4(u32::from(ip), self.len) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask_v6(u128::from(ip), self.len) == u128::from(net)
            }
            _ => false,
        }
    }

    fn masked_addr(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(mask_v4(u32::from(a), self.len))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(mask_v6(u128::from(a), self.len))),
        }
    }
}

fn max_len(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn mask_v4(a: u32, len: u8) -> u32 {
    match len {
        0 => 0,
        l if l >= 32 => a,
        l => a & (u32::MAX << (32 - u32::from(l))),
    }
}

fn mask_v6(a: u128, len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => a,
        l => a & (u128::MAX << (128 - u32::from(l))),
    }
}

/// Why a prefix string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error("expected ADDRESS/LENGTH, e.g. 192.0.2.0/24")]
    MissingSlash,
    #[error("`{0}` is not an IPv4 or IPv6 address")]
    BadAddress(String),
    #[error("`{0}` is not a prefix length")]
    BadLength(String),
    #[error("prefix length {len} is longer than {max} bits")]
    TooLong { len: u8, max: u8 },
    #[error("host bits are set; the network is {0}")]
    HostBits(String),
}

impl FromStr for IpPrefix {
    type Err = PrefixError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, len) = s.trim().split_once('/').ok_or(PrefixError::MissingSlash)?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| PrefixError::BadAddress(addr.to_string()))?;
        let len: u8 = len
            .parse()
            .map_err(|_| PrefixError::BadLength(len.to_string()))?;
        let max = max_len(addr);
        if len > max {
            return Err(PrefixError::TooLong { len, max });
        }
        let p = IpPrefix { addr, len };
        let masked = p.masked_addr();
        if masked != addr {
            return Err(PrefixError::HostBits(format!("{masked}/{len}")));
        }
        Ok(p)
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl Serialize for IpPrefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Longest-prefix-match table from prefixes to a value `T`.
#[derive(Clone, Debug)]
pub struct PrefixTable<T> {
    v4: Family<u32, T>,
    v6: Family<u128, T>,
}

impl<T> Default for PrefixTable<T> {
    fn default() -> Self {
        PrefixTable {
            v4: Family::default(),
            v6: Family::default(),
        }
    }
}

#[derive(Clone, Debug)]
struct Family<K, T> {
    /// Prefix lengths present, longest first; `maps[i]` holds the prefixes of `lens[i]`.
    lens: Vec<u8>,
    maps: Vec<FxHashMap<K, T>>,
    /// Disjoint covered ranges, sorted; emptied by every change, rebuilt when next read.
    ranges: OnceLock<Vec<Covered>>,
}

/// Addresses `start..=end` (as u128, IPv4 zero-extended) whose longest prefix has `len` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Covered {
    start: u128,
    end: u128,
    len: u8,
}

impl<K, T> Default for Family<K, T> {
    fn default() -> Self {
        Family {
            lens: Vec::new(),
            maps: Vec::new(),
            ranges: OnceLock::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Copy + Into<u128>, T> Family<K, T> {
    fn map_for(&mut self, len: u8) -> &mut FxHashMap<K, T> {
        self.ranges = OnceLock::new();
        let i = match self.lens.iter().position(|&l| l <= len) {
            Some(i) if self.lens.get(i) == Some(&len) => i,
            Some(i) => {
                self.lens.insert(i, len);
                self.maps.insert(i, FxHashMap::default());
                i
            }
            None => {
                self.lens.push(len);
                self.maps.push(FxHashMap::default());
                self.lens.len() - 1
            }
        };
        // `i` indexes both vectors, which always have the same length.
        let last = self.maps.len() - 1;
        &mut self.maps[i.min(last)]
    }

    /// The longest stored prefix containing `addr` (`bits` wide), with its value.
    fn lookup(&self, addr: u128, bits: u8, key_for: impl Fn(u8) -> K) -> Option<(u8, &T)> {
        let ranges = self.ranges.get_or_init(|| self.covered(bits));
        let i = ranges.partition_point(|r| r.start <= addr).checked_sub(1)?;
        let r = ranges.get(i).filter(|r| addr <= r.end)?;
        self.get(r.len, key_for(r.len)).map(|v| (r.len, v))
    }

    /// Flattens the nested prefixes into disjoint ranges. CIDR prefixes either nest or do
    /// not overlap, so a sweep in start order with a stack of the open prefixes labels every
    /// piece with the innermost (longest) one.
    fn covered(&self, bits: u8) -> Vec<Covered> {
        let mut prefixes: Vec<(u128, u128, u8)> = self
            .lens
            .iter()
            .zip(&self.maps)
            .flat_map(|(&len, map)| {
                let host = u32::from(bits.saturating_sub(len));
                let span = u128::MAX.checked_shr(128 - host).unwrap_or(0);
                map.keys().map(move |&k| {
                    let start: u128 = k.into();
                    (start, start | span, len)
                })
            })
            .collect();
        prefixes.sort_unstable_by_key(|&(start, _, len)| (start, len));
        let mut out = Vec::new();
        let mut open: Vec<(u128, u8)> = Vec::new();
        // First address not yet labelled; None once the whole space is.
        let mut next = Some(0u128);
        let close = |upto: u128, len: u8, next: &mut Option<u128>, out: &mut Vec<Covered>| {
            if let Some(start) = next.filter(|&n| n <= upto) {
                out.push(Covered {
                    start,
                    end: upto,
                    len,
                });
                *next = upto.checked_add(1);
            }
        };
        for (start, end, len) in prefixes {
            while let Some(&(top_end, top_len)) = open.last().filter(|(e, _)| *e < start) {
                close(top_end, top_len, &mut next, &mut out);
                open.pop();
            }
            if let (Some(&(_, top_len)), Some(before)) = (open.last(), start.checked_sub(1)) {
                close(before, top_len, &mut next, &mut out);
            }
            next = next.map(|n| n.max(start));
            open.push((end, len));
        }
        while let Some((top_end, top_len)) = open.pop() {
            close(top_end, top_len, &mut next, &mut out);
        }
        out
    }

    fn get(&self, len: u8, key: K) -> Option<&T> {
        let i = self.lens.iter().position(|&l| l == len)?;
        self.maps.get(i)?.get(&key)
    }

    fn len(&self) -> usize {
        self.maps.iter().map(|m| m.len()).sum()
    }
}

impl<T> PrefixTable<T> {
    /// The value stored for exactly this prefix.
    pub fn get_exact(&self, p: IpPrefix) -> Option<&T> {
        match p.addr {
            IpAddr::V4(a) => self.v4.get(p.len, u32::from(a)),
            IpAddr::V6(a) => self.v6.get(p.len, u128::from(a)),
        }
    }

    /// The value stored for exactly this prefix, mutable.
    pub fn get_exact_mut(&mut self, p: IpPrefix) -> Option<&mut T> {
        match p.addr {
            IpAddr::V4(a) => {
                let key = u32::from(a);
                self.v4.get(p.len, key)?;
                self.v4.map_for(p.len).get_mut(&key)
            }
            IpAddr::V6(a) => {
                let key = u128::from(a);
                self.v6.get(p.len, key)?;
                self.v6.map_for(p.len).get_mut(&key)
            }
        }
    }

    /// Stores `value` for `p`, replacing any value stored for exactly `p`.
    pub fn insert(&mut self, p: IpPrefix, value: T) {
        match p.addr {
            IpAddr::V4(a) => {
                self.v4.map_for(p.len).insert(u32::from(a), value);
            }
            IpAddr::V6(a) => {
                self.v6.map_for(p.len).insert(u128::from(a), value);
            }
        }
    }

    /// The value of the longest prefix that contains `ip`, with that prefix.
    pub fn longest_match(&self, ip: IpAddr) -> Option<(IpPrefix, &T)> {
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                let (len, v) = self.v4.lookup(a.into(), 32, |len| mask_v4(a, len))?;
                let net = IpAddr::V4(Ipv4Addr::from(mask_v4(a, len)));
                Some((IpPrefix { addr: net, len }, v))
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                let (len, v) = self.v6.lookup(a, 128, |len| mask_v6(a, len))?;
                let net = IpAddr::V6(Ipv6Addr::from(mask_v6(a, len)));
                Some((IpPrefix { addr: net, len }, v))
            }
        }
    }

    /// Number of stored prefixes.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> IpPrefix {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!(p("13.107.64.0/18").to_string(), "13.107.64.0/18");
        assert_eq!(p("2603:1063::/38").len(), 38);
        assert_eq!(
            "13.107.64.1/18".parse::<IpPrefix>(),
            Err(PrefixError::HostBits("13.107.64.0/18".into()))
        );
        assert_eq!(
            "10.0.0.0/33".parse::<IpPrefix>(),
            Err(PrefixError::TooLong { len: 33, max: 32 })
        );
        assert_eq!(
            "10.0.0.0".parse::<IpPrefix>(),
            Err(PrefixError::MissingSlash)
        );
        assert!(matches!(
            "10.0.0/8".parse::<IpPrefix>(),
            Err(PrefixError::BadAddress(_))
        ));
        assert!(matches!(
            "10.0.0.0/x".parse::<IpPrefix>(),
            Err(PrefixError::BadLength(_))
        ));
        assert!(p("0.0.0.0/0").is_empty());
    }

    #[test]
    fn longest_prefix_wins_v4_and_v6() {
        let mut t = PrefixTable::default();
        t.insert(p("17.0.0.0/8"), "apple");
        t.insert(p("17.1.0.0/16"), "narrow");
        t.insert(p("2a03:2880::/32"), "meta");
        t.insert(p("2a03:2880:f000::/36"), "meta-narrow");
        assert_eq!(
            t.longest_match(ip("17.1.2.3")).map(|(_, v)| *v),
            Some("narrow")
        );
        assert_eq!(
            t.longest_match(ip("17.2.2.3"))
                .map(|(p, v)| (p.to_string(), *v)),
            Some(("17.0.0.0/8".into(), "apple"))
        );
        assert_eq!(t.longest_match(ip("18.0.0.1")), None);
        assert_eq!(
            t.longest_match(ip("2a03:2880:f001::1")).map(|(_, v)| *v),
            Some("meta-narrow")
        );
        assert_eq!(
            t.longest_match(ip("2a03:2880:1::1")).map(|(_, v)| *v),
            Some("meta")
        );
        assert_eq!(
            t.longest_match(ip("::ffff:17.1.2.3")),
            None,
            "v4-mapped v6 is not v4"
        );
        assert_eq!(t.len(), 4);
        assert_eq!(t.get_exact(p("17.0.0.0/8")), Some(&"apple"));
        assert_eq!(t.get_exact(p("17.0.0.0/9")), None);
    }

    #[test]
    fn host_route_and_default_route() {
        let mut t = PrefixTable::default();
        t.insert(p("0.0.0.0/0"), 0);
        t.insert(p("192.0.2.7/32"), 32);
        assert_eq!(t.longest_match(ip("192.0.2.7")).map(|(_, v)| *v), Some(32));
        assert_eq!(t.longest_match(ip("192.0.2.8")).map(|(_, v)| *v), Some(0));
    }

    /// The first longest-match: every length's map probed, longest first.
    fn probe_every_length<T>(t: &PrefixTable<T>, ip: IpAddr) -> Option<(IpPrefix, &T)> {
        let exact = |len: u8| {
            let addr = match ip {
                IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(mask_v4(u32::from(a), len))),
                IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(mask_v6(u128::from(a), len))),
            };
            let p = IpPrefix::new(addr, len)?;
            t.get_exact(p).map(|v| (p, v))
        };
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        (0..=bits).rev().find_map(exact)
    }

    proptest! {
        #[test]
        fn ranges_answer_like_probing_every_length(
            nets in proptest::collection::vec((any::<u32>(), 0u8..=32, any::<u16>()), 0..40),
            nets6 in proptest::collection::vec((any::<u128>(), 0u8..=128), 0..20),
            probes in proptest::collection::vec(any::<u32>(), 1..40),
            probes6 in proptest::collection::vec(any::<u128>(), 1..20),
        ) {
            let mut t = PrefixTable::default();
            // Nearby prefixes, so nesting is common: share the top 8 bits.
            for &(a, len, v) in &nets {
                let a = (a & 0x00ff_ffff) | 0x0a00_0000;
                let addr = IpAddr::V4(Ipv4Addr::from(mask_v4(a, len)));
                t.insert(IpPrefix::new(addr, len).unwrap(), v);
            }
            for &(a, len) in &nets6 {
                let addr = IpAddr::V6(Ipv6Addr::from(mask_v6(a, len)));
                t.insert(IpPrefix::new(addr, len).unwrap(), u16::from(len));
            }
            let v4 = probes.iter().map(|&p| IpAddr::V4(Ipv4Addr::from((p & 0x00ff_ffff) | 0x0a00_0000)));
            let v4_raw = probes.iter().map(|&p| IpAddr::V4(Ipv4Addr::from(p)));
            let v6 = probes6.iter().map(|&p| IpAddr::V6(Ipv6Addr::from(p)));
            let v6_near = nets6.iter().map(|&(a, _)| IpAddr::V6(Ipv6Addr::from(a)));
            for ip in v4.chain(v4_raw).chain(v6).chain(v6_near) {
                prop_assert_eq!(t.longest_match(ip), probe_every_length(&t, ip), "{}", ip);
            }
            // A change after a lookup is seen by the next lookup.
            let all = IpPrefix::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0).unwrap();
            t.insert(all, 7);
            prop_assert!(t.longest_match(IpAddr::V4(Ipv4Addr::BROADCAST)).is_some());
        }

        #[test]
        fn parse_never_panics(s in ".{0,64}") {
            let _ = s.parse::<IpPrefix>();
        }

        #[test]
        fn match_agrees_with_contains(a in any::<u32>(), len in 0u8..=32, probe in any::<u32>()) {
            let net = IpPrefix::new(IpAddr::V4(Ipv4Addr::from(mask_v4(a, len))), len);
            prop_assert!(net.is_some());
            if let Some(net) = net {
                let mut t = PrefixTable::default();
                t.insert(net, ());
                let probe = IpAddr::V4(Ipv4Addr::from(probe));
                prop_assert_eq!(t.longest_match(probe).is_some(), net.contains(probe));
                prop_assert!(net.contains(net.addr()));
            }
        }
    }
}
