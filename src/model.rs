//! The shared vocabulary of the pipeline: capture time, endpoints, flow keys, directions.
//!
//! Everything here is plain data with no dependencies beyond `std` and serde, so every
//! stage (capture → decode → flow → dissect → classify → verdict → report/ui) can use it.

use serde::{Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;

/// A unit enum written as one fixed word: the match gives `as_str` (text reports, the fast
/// NDJSON writer) and the serde form alike, so the two can never disagree.
macro_rules! word_enum {
    ($ty:ty { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word),+
                }
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use word_enum;

/// Capture time: nanoseconds since the Unix epoch, taken from the packet record.
///
/// The engine never reads the wall clock, so a replay is deterministic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub const NANOS_PER_SEC: u64 = 1_000_000_000;

    pub fn from_secs_nanos(secs: u64, nanos: u64) -> Self {
        Timestamp(
            secs.saturating_mul(Self::NANOS_PER_SEC)
                .saturating_add(nanos),
        )
    }

    pub fn from_secs(secs: u64) -> Self {
        Self::from_secs_nanos(secs, 0)
    }

    pub fn secs(self) -> u64 {
        self.0 / Self::NANOS_PER_SEC
    }

    /// Nanoseconds elapsed since `earlier`, zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / Self::NANOS_PER_SEC as f64
    }

    /// RFC 3339 in UTC with microsecond precision, e.g. `2020-04-01T10:00:00.123456Z`.
    pub fn rfc3339(self) -> String {
        let mut buf = [0u8; RFC3339_LEN];
        self.rfc3339_ascii(&mut buf).to_owned()
    }

    /// [`Timestamp::rfc3339`] into a stack buffer (one per flow record field: no
    /// allocation).
    pub(crate) fn rfc3339_ascii(self, buf: &mut [u8; RFC3339_LEN]) -> &str {
        self.rfc3339_into(buf);
        std::str::from_utf8(buf).unwrap_or_default()
    }

    /// The ASCII bytes of [`Timestamp::rfc3339`]. Years beyond 9999 cannot occur: u64
    /// nanoseconds end in 2554.
    pub(crate) fn rfc3339_into(self, buf: &mut [u8; RFC3339_LEN]) {
        let secs = self.secs();
        let micros = (self.0 % Self::NANOS_PER_SEC) / 1_000;
        let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
        let rem = secs % 86_400;
        let y = y.max(0) as u64;
        // Two digits per step from a table: a quarter of the divisions of digit by digit.
        let mut put2 = |at: usize, v: u64| {
            let i = (v % 100) as usize * 2;
            if let (Some(dst), Some(src)) = (buf.get_mut(at..at + 2), DIGIT_PAIRS.get(i..i + 2)) {
                dst.copy_from_slice(src);
            }
        };
        put2(0, y / 100);
        put2(2, y);
        put2(5, u64::from(mo));
        put2(8, u64::from(d));
        put2(11, rem / 3600);
        put2(14, rem % 3600 / 60);
        put2(17, rem % 60);
        put2(20, micros / 10_000);
        put2(22, micros / 100);
        put2(24, micros);
        for (i, c) in [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (26, b'Z'),
        ] {
            buf[i] = c;
        }
    }
}

/// "00" to "99" back to back.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub(crate) const RFC3339_LEN: usize = 27;

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; RFC3339_LEN];
        s.serialize_str(self.rfc3339_ascii(&mut buf))
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// An IP protocol number. A newtype, not an enum: unknown protocols survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpProto(pub u8);

impl IpProto {
    pub const ICMP: IpProto = IpProto(1);
    pub const TCP: IpProto = IpProto(6);
    pub const UDP: IpProto = IpProto(17);
    pub const ICMPV6: IpProto = IpProto(58);

    /// The name used in reports (`tcp`, `udp`, `icmp`, `icmpv6`, else `ip-<n>`).
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self {
            IpProto::TCP => "tcp".into(),
            IpProto::UDP => "udp".into(),
            IpProto::ICMP => "icmp".into(),
            IpProto::ICMPV6 => "icmpv6".into(),
            IpProto(n) => format!("ip-{n}").into(),
        }
    }

    pub fn has_ports(self) -> bool {
        self == IpProto::TCP || self == IpProto::UDP
    }
}

impl Serialize for IpProto {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// One side of a flow: address and port (port 0 for protocols without ports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

impl Endpoint {
    pub fn new(ip: IpAddr, port: u16) -> Self {
        Endpoint { ip, port }
    }

    /// `self <= other` in the derived order (IPv4 before IPv6, then address bytes, then
    /// port), with the addresses compared as integers: this runs once per packet.
    #[inline]
    fn le(&self, other: &Endpoint) -> bool {
        match (self.ip, other.ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                (u32::from(a), self.port) <= (u32::from(b), other.port)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                (u128::from(a), self.port) <= (u128::from(b), other.port)
            }
            (IpAddr::V4(_), IpAddr::V6(_)) => true,
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

/// `{"ip": "192.0.2.1", "port": 443}`. IPv4 text is written without `core::fmt` (two per
/// flow record); IPv6 uses the standard RFC 5952 form.
impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Endpoint", 2)?;
        match self.ip {
            IpAddr::V4(ip) => {
                let mut buf = [0u8; 15];
                st.serialize_field("ip", ipv4_text(ip.octets(), &mut buf))?;
            }
            IpAddr::V6(ip) => st.serialize_field("ip", &ip)?,
        }
        st.serialize_field("port", &self.port)?;
        st.end()
    }
}

/// Dotted-quad text of `octets` in `buf`.
pub(crate) fn ipv4_text(octets: [u8; 4], buf: &mut [u8; 15]) -> &str {
    let n = put_ipv4(octets, buf, 0);
    std::str::from_utf8(&buf[..n]).unwrap_or_default()
}

/// Dotted-quad text of `octets` between double quotes (a JSON string); returns its length.
pub(crate) fn ipv4_quoted(octets: [u8; 4], buf: &mut [u8; 17]) -> usize {
    buf[0] = b'"';
    let n = put_ipv4(octets, buf, 1);
    buf[n] = b'"';
    n + 1
}

/// RFC 5952 text of an IPv6 address appended to `out`, exactly as `Ipv6Addr`'s `Display`
/// writes it (first longest run of two or more zero groups as `::`, IPv4-mapped as
/// `::ffff:a.b.c.d`), without the formatting machinery.
pub(crate) fn push_ipv6(out: &mut Vec<u8>, ip: std::net::Ipv6Addr) {
    if let Some(v4) = ip.to_ipv4_mapped() {
        let mut buf = [0u8; 15];
        out.extend_from_slice(b"::ffff:");
        out.extend_from_slice(ipv4_text(v4.octets(), &mut buf).as_bytes());
        return;
    }
    let groups = ip.segments();
    let (mut run_at, mut run_len, mut at, mut len) = (0, 0, 0, 0);
    for (i, &g) in groups.iter().enumerate() {
        if g != 0 {
            len = 0;
            continue;
        }
        if len == 0 {
            at = i;
        }
        len += 1;
        if len > run_len {
            (run_at, run_len) = (at, len);
        }
    }
    let push_groups = |out: &mut Vec<u8>, groups: &[u16]| {
        for (i, &g) in groups.iter().enumerate() {
            if i > 0 {
                out.push(b':');
            }
            push_hex_group(out, g);
        }
    };
    if run_len > 1 {
        push_groups(out, groups.get(..run_at).unwrap_or_default());
        out.extend_from_slice(b"::");
        push_groups(out, groups.get(run_at + run_len..).unwrap_or_default());
    } else {
        push_groups(out, &groups);
    }
}

/// A 16-bit group in lowercase hex without leading zeros.
fn push_hex_group(out: &mut Vec<u8>, g: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digits = (4 - g.leading_zeros() / 4).max(1);
    for shift in (0..digits).rev() {
        out.push(HEX[usize::from((g >> (shift * 4)) & 0xf)]);
    }
}

/// Writes the dotted quad into `buf` from `n` (15 bytes must fit); returns the end.
fn put_ipv4(octets: [u8; 4], buf: &mut [u8], mut n: usize) -> usize {
    for (i, o) in octets.into_iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        if o >= 100 {
            buf[n] = b'0' + o / 100;
            n += 1;
        }
        if o >= 10 {
            buf[n] = b'0' + o / 10 % 10;
            n += 1;
        }
        buf[n] = b'0' + o % 10;
        n += 1;
    }
    n
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// A direction-free flow key: the lower endpoint first, so both directions of a
/// conversation map to the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowKey {
    pub proto: IpProto,
    pub lo: Endpoint,
    pub hi: Endpoint,
}

impl FlowKey {
    /// The canonical key of a packet from `src` to `dst`, and whether `src` is `lo`.
    pub fn new(proto: IpProto, src: Endpoint, dst: Endpoint) -> (FlowKey, bool) {
        if src.le(&dst) {
            (
                FlowKey {
                    proto,
                    lo: src,
                    hi: dst,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    proto,
                    lo: dst,
                    hi: src,
                },
                false,
            )
        }
    }
}

/// Which way a packet goes relative to the flow's client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the client (the SYN sender, else the first sender) to the server.
    ToServer,
    /// From the server back to the client.
    ToClient,
}

impl Direction {
    pub fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }

    pub fn reverse(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
}

/// Whether a dissector has seen enough of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The bytes are not this protocol; do not call again for this flow.
    NotMine,
    /// Keep feeding this flow.
    NeedMore,
    /// Everything of interest was read; later packets only update counters.
    Done,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_order_matches_the_derived_order() {
        let eps = [
            Endpoint::new("10.0.0.1".parse().unwrap(), 80),
            Endpoint::new("10.0.0.1".parse().unwrap(), 79),
            Endpoint::new("9.255.255.255".parse().unwrap(), 65535),
            Endpoint::new("255.0.0.0".parse().unwrap(), 0),
            Endpoint::new("::1".parse().unwrap(), 1),
            Endpoint::new("fe80::1".parse().unwrap(), 1),
            Endpoint::new("::ffff:10.0.0.1".parse().unwrap(), 80),
        ];
        for a in &eps {
            for b in &eps {
                assert_eq!(a.le(b), a <= b, "{a} vs {b}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_paths_agree_with_std(a: [u8; 4], b: [u8; 16], pa: u16, pb: u16, v6a: bool, v6b: bool) {
            let ip = |v6: bool| -> IpAddr { if v6 { b.into() } else { a.into() } };
            let x = Endpoint::new(ip(v6a), pa);
            let y = Endpoint::new(ip(v6b), pb);
            proptest::prop_assert_eq!(x.le(&y), x <= y);
            let mut buf = [0u8; 15];
            let v4 = std::net::Ipv4Addr::from(a);
            proptest::prop_assert_eq!(ipv4_text(a, &mut buf), v4.to_string());
        }

        #[test]
        fn ipv6_text_matches_display(groups: [u16; 8], zeros: [bool; 8], mapped: bool) {
            // Zero groups made common so runs of every length and position occur.
            let mut g = groups;
            for (g, z) in g.iter_mut().zip(zeros) {
                if z { *g = 0; }
            }
            if mapped { g[..6].copy_from_slice(&[0, 0, 0, 0, 0, 0xffff]); }
            let ip = std::net::Ipv6Addr::from(g);
            let mut out = Vec::new();
            push_ipv6(&mut out, ip);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), ip.to_string());
        }
    }

    proptest::proptest! {
        #[test]
        fn rfc3339_digits_match_format(ns: u64) {
            let t = Timestamp(ns);
            let secs = t.secs();
            let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
            let rem = secs % 86_400;
            let want = format!(
                "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60,
                ns % Timestamp::NANOS_PER_SEC / 1_000
            );
            proptest::prop_assert_eq!(t.rfc3339(), want);
        }
    }

    #[test]
    fn ipv4_text_matches_display() {
        for ip in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.9.100",
            "192.168.1.10",
            "1.22.103.4",
        ] {
            let ip: std::net::Ipv4Addr = ip.parse().unwrap();
            let mut buf = [0u8; 15];
            assert_eq!(ipv4_text(ip.octets(), &mut buf), ip.to_string());
        }
        let e = Endpoint::new("192.0.2.1".parse().unwrap(), 443);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"ip":"192.0.2.1","port":443}"#
        );
    }

    #[test]
    fn rfc3339_formats_utc_with_micros() {
        assert_eq!(Timestamp(0).rfc3339(), "1970-01-01T00:00:00.000000Z");
        let t = Timestamp::from_secs_nanos(1_585_735_200, 123_456_789);
        assert_eq!(t.rfc3339(), "2020-04-01T10:00:00.123456Z");
        assert_eq!(
            Timestamp::from_secs(951_782_400).rfc3339(),
            "2000-02-29T00:00:00.000000Z"
        );
    }

    #[test]
    fn flow_key_is_direction_free() {
        let a = Endpoint::new([10, 0, 0, 1].into(), 5000);
        let b = Endpoint::new([10, 0, 0, 2].into(), 443);
        let (k1, a_lo) = FlowKey::new(IpProto::TCP, a, b);
        let (k2, b_lo) = FlowKey::new(IpProto::TCP, b, a);
        assert_eq!(k1, k2);
        assert!(a_lo && !b_lo);
    }
}
