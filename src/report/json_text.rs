//! JSON text by hand for the one record written per flow: fixed keys go out as raw bytes,
//! strings are escaped exactly as serde_json escapes them (a property test
//! compares), so the hand-written line equals the derived `Serialize` output (a test
//! compares on every shipped capture). Serde's per-key escaping cost a fifth of a replay.

use std::net::IpAddr;

/// `"s"` with JSON escapes: `"`, `\`, and control characters; everything else verbatim.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if is_clean(bytes) {
        out.extend_from_slice(bytes);
    } else {
        push_escaped(out, bytes);
    }
    out.push(b'"');
}

/// No byte needs an escape (most strings): eight bytes per step, no early exit. The tail
/// is the last eight bytes read in place (overlapping is harmless); copying it into a
/// padded buffer cost a memcpy call and a store-forwarding stall per string.
fn is_clean(bytes: &[u8]) -> bool {
    let Some(tail) = bytes.last_chunk::<8>() else {
        return bytes.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\');
    };
    let mut any = needs_escape(u64::from_le_bytes(*tail));
    for c in bytes.chunks_exact(8) {
        any |= needs_escape(u64::from_le_bytes(c.try_into().unwrap_or_default()));
    }
    !any
}

fn push_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Whether any of the eight bytes is below 0x20, `"` or `\` (SWAR: a byte's high bit is
/// set when it is zero or, for the first test, below 0x20; never a miss, rarely a false alarm,
/// which only sends the chunk to the byte loop).
fn needs_escape(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
    below_space | zero_byte(x ^ (ONES * u64::from(b'"'))) | zero_byte(x ^ (ONES * u64::from(b'\\')))
        != 0
}

/// `"s"` or `null`.
pub fn push_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => push_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A decimal integer.
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    if v < 10 {
        out.push(b'0' + v as u8);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
}

/// `,"key":` — keys are the contract's fixed ASCII names, written without escaping.
#[inline(always)] // constant keys: the copies become a few moves, not memcpy calls
pub fn push_key(out: &mut Vec<u8>, key: &'static str) {
    out.push(b',');
    push_raw_key(out, key);
}

/// `"key":` for a name fixed in the source (a contract key, a serde-derived field name),
/// which needs no escaping.
#[inline(always)]
pub fn push_raw_key(out: &mut Vec<u8>, key: &'static str) {
    debug_assert!(
        key.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    );
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// An address as a JSON string: dotted quad, or RFC 5952 text for IPv6.
pub fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut buf = [0u8; 17];
            let n = crate::model::ipv4_quoted(v4.octets(), &mut buf);
            out.extend_from_slice(&buf[..n]);
        }
        // Only hex digits, colons and dots: no escaping.
        IpAddr::V6(v6) => {
            out.push(b'"');
            crate::model::push_ipv6(out, v6);
            out.push(b'"');
        }
    }
}

/// RFC 3339 UTC time as a JSON string.
pub fn push_time(out: &mut Vec<u8>, t: crate::model::Timestamp) {
    const LEN: usize = crate::model::RFC3339_LEN;
    let mut buf = [b'"'; LEN + 2];
    if let Some(inner) = buf
        .get_mut(1..=LEN)
        .and_then(|s| <&mut [u8; LEN]>::try_from(s).ok())
    {
        t.rfc3339_into(inner);
    }
    out.extend_from_slice(&buf);
}

/// Any other value through serde (nested dissector facts, floats).
pub fn push_serde(out: &mut Vec<u8>, value: &impl serde::Serialize) -> std::io::Result<()> {
    Ok(super::json_ser::to_vec(out, value)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_eight_byte_test_never_misses_a_byte_that_needs_an_escape() {
        for filler in [b'a', 0x7f, 0xff, b' ', 0x21] {
            for b in 0..=255u8 {
                for at in 0..8 {
                    let mut chunk = [filler; 8];
                    chunk[at] = b;
                    let needed = b < 0x20 || b == b'"' || b == b'\\';
                    if needed {
                        assert!(needs_escape(u64::from_le_bytes(chunk)), "{b:#x} at {at}");
                    }
                }
            }
        }
        assert!(!needs_escape(u64::from_le_bytes(*b"abcdefgh")));
        assert!(!needs_escape(u64::from_le_bytes(*b"\xff\x7f ~!#[]")));
    }

    proptest! {
        #[test]
        fn strings_escape_like_serde(s in any::<String>()) {
            prop_assert_eq!(text(|o| push_str(o, &s)), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn control_heavy_strings_escape_like_serde(s in "[\\x00-\\x21\"\\\\\\x7f-\\u{10ffff}]{0,40}") {
            prop_assert_eq!(text(|o| push_str(o, &s)), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn one_escape_anywhere_in_printable_text_is_found(
            head in "[ -~]{0,20}",
            special in "[\\x00-\\x1f\"\\\\]",
            tail in "[ -~]{0,20}",
        ) {
            let s = format!("{head}{special}{tail}");
            prop_assert_eq!(text(|o| push_str(o, &s)), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn integers_match_serde(v in any::<u64>()) {
            prop_assert_eq!(text(|o| push_u64(o, v)), v.to_string());
        }

        #[test]
        fn times_match_serde(ns in any::<u64>()) {
            let t = crate::model::Timestamp(ns);
            prop_assert_eq!(text(|o| push_time(o, t)), serde_json::to_string(&t).unwrap());
        }

        #[test]
        fn addresses_match_serde(ip in any::<IpAddr>()) {
            prop_assert_eq!(text(|o| push_ip(o, ip)), serde_json::to_string(&ip).unwrap());
        }
    }
}
