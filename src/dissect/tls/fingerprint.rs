//! Client fingerprints of a ClientHello: JA3 and JA4 (the JA4 part of FoxIO's JA4+ suite,
//! BSD-3-Clause; JA4S/JA4X and the other JA4+ methods are under a different licence and
//! deliberately not implemented here).
//!
//! Checked against nDPI on 226 ClientHellos of the shared corpus (TCP and QUIC): JA3 and the
//! two JA4 hashes agree everywhere; the JA4 `a` part differs where nDPI departs from the
//! spec (it takes the first two ALPN characters, decides `d`/`i` from its own host name
//! instead of the SNI extension, and hashes an empty extension list). We follow JA4.md.
//!
//! References: JA3 <https://github.com/salesforce/ja3> (README: string layout, GREASE),
//! JA4 <https://github.com/FoxIO-LLC/ja4/blob/main/technical_details/JA4.md>,
//! RFC 8701 (GREASE).

use super::ClientHelloInfo;
use super::client_hello::{ext, is_grease};
use md5::Md5;
use sha2::{Digest, Sha256};

/// JA4 hash parts are the first 12 hex characters of a SHA-256.
const JA4_HASH_LEN: usize = 12;
/// JA4 writes an empty list as twelve zeros instead of hashing nothing.
const JA4_EMPTY_HASH: &str = "000000000000";
/// JA4 counts are two digits, capped at 99.
const JA4_MAX_COUNT: usize = 99;

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Bytes for a hash are gathered here first: a few large updates cost less than many small
/// ones. The hash sees exactly the bytes the fingerprint string would hold.
const FEED_LEN: usize = 256;
/// Value lists up to this long are filtered and sorted on the stack; real ClientHellos
/// carry fewer than 64 cipher suites and 30 extensions (RFC 8446 allows up to 32 767).
const STACK_LIST_LEN: usize = 64;
/// Lists up to this long are sorted by insertion, which beats the general sort there.
const INSERTION_SORT_MAX: usize = 32;

/// Fingerprint text is written in pieces of at most this many bytes: a separator and
/// five decimal digits. A fixed size lets a piece be copied without a length loop.
const PIECE_LEN: usize = 6;
type Piece = [u8; PIECE_LEN];

/// Where fingerprint text goes: a hash or a string.
trait Sink {
    /// Append the first `len` bytes of `piece`.
    fn put(&mut self, piece: &Piece, len: usize);

    fn put_byte(&mut self, b: u8) {
        self.put(&[b, 0, 0, 0, 0, 0], 1);
    }
}

impl Sink for String {
    fn put(&mut self, piece: &Piece, len: usize) {
        // Every piece is ASCII.
        let text = piece.get(..len).unwrap_or_default();
        self.push_str(std::str::from_utf8(text).unwrap_or_default());
    }
}

/// A hash fed through a [`FEED_LEN`]-byte buffer.
struct HashFeed<D> {
    hasher: D,
    buf: [u8; FEED_LEN],
    len: usize,
}

impl<D: Digest> HashFeed<D> {
    fn new() -> Self {
        HashFeed {
            hasher: D::new(),
            buf: [0; FEED_LEN],
            len: 0,
        }
    }

    fn flush(&mut self) {
        self.hasher
            .update(self.buf.get(..self.len).unwrap_or_default());
        self.len = 0;
    }

    fn finish(mut self) -> sha2::digest::Output<D> {
        self.flush();
        self.hasher.finalize()
    }
}

impl<D: Digest> Sink for HashFeed<D> {
    #[inline]
    fn put(&mut self, piece: &Piece, len: usize) {
        if self.len + PIECE_LEN > FEED_LEN {
            self.flush();
        }
        // The whole piece is copied; only `len` bytes count, the rest is overwritten next.
        if let Some(dst) = self.buf.get_mut(self.len..self.len + PIECE_LEN) {
            dst.copy_from_slice(piece);
            self.len += len.min(PIECE_LEN);
        }
    }
}

fn hex_digit(n: u8) -> u8 {
    HEX_DIGITS[usize::from(n & 0x0f)]
}

/// Append lowercase hex of `bytes` to `s`.
pub(super) fn push_hex(s: &mut String, bytes: &[u8]) {
    for &b in bytes {
        s.push(char::from(hex_digit(b >> 4)));
        s.push(char::from(hex_digit(b)));
    }
}

/// Write `values` in decimal (as `{v}` prints them), `-` between them.
fn put_decimal_list(sink: &mut impl Sink, values: impl IntoIterator<Item = u16>) {
    for (i, v) in values.into_iter().enumerate() {
        let digits = match v {
            0..=9 => 1,
            10..=99 => 2,
            100..=999 => 3,
            1000..=9999 => 4,
            _ => 5,
        };
        let mut piece = [b'-', 0, 0, 0, 0, 0];
        let start = usize::from(i > 0);
        let end = start + digits;
        let mut n = v;
        for d in piece
            .get_mut(start..end)
            .unwrap_or_default()
            .iter_mut()
            .rev()
        {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        sink.put(&piece, end);
    }
}

/// Write `values` as 4-digit lowercase hex, `,` between them.
fn put_hex4_list(sink: &mut impl Sink, values: impl IntoIterator<Item = u16>) {
    for (i, v) in values.into_iter().enumerate() {
        let [hi, lo] = v.to_be_bytes();
        let hex = [
            hex_digit(hi >> 4),
            hex_digit(hi),
            hex_digit(lo >> 4),
            hex_digit(lo),
        ];
        let [a, b, c, d] = hex;
        if i == 0 {
            sink.put(&[a, b, c, d, 0, 0], 4);
        } else {
            sink.put(&[b',', a, b, c, d, 0], 5);
        }
    }
}

fn write_ja3(sink: &mut impl Sink, ch: &ClientHelloInfo) {
    fn clean(v: &[u16]) -> impl Iterator<Item = u16> + '_ {
        v.iter().copied().filter(|x| !is_grease(*x))
    }
    put_decimal_list(sink, [ch.legacy_version]);
    sink.put_byte(b',');
    put_decimal_list(sink, clean(&ch.cipher_suites));
    sink.put_byte(b',');
    put_decimal_list(sink, clean(&ch.extensions));
    sink.put_byte(b',');
    put_decimal_list(sink, clean(&ch.supported_groups));
    sink.put_byte(b',');
    put_decimal_list(sink, ch.ec_point_formats.iter().map(|&f| u16::from(f)));
}

/// The JA3 string before hashing:
/// `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`, decimal values
/// joined by `-`, GREASE removed.
pub fn ja3_string(ch: &ClientHelloInfo) -> String {
    let mut s = String::with_capacity(
        8 + 6 * (ch.cipher_suites.len() + ch.extensions.len() + ch.supported_groups.len())
            + 4 * ch.ec_point_formats.len(),
    );
    write_ja3(&mut s, ch);
    s
}

/// The JA3 fingerprint (MD5 of the JA3 string, lowercase hex) of a ClientHello.
pub fn ja3(ch: &ClientHelloInfo) -> String {
    let mut feed = HashFeed::<Md5>::new();
    write_ja3(&mut feed, ch);
    let mut out = String::with_capacity(32);
    push_hex(&mut out, &feed.finish());
    out
}

/// The two-character JA4 version code.
fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// Order of protocol versions: DTLS counts down from 0xfeff (1.0) to 0xfefc (1.3).
fn version_rank(v: u16) -> u32 {
    if v >= 0xfe00 {
        0x1_0000 + u32::from(0xffff - v)
    } else {
        u32::from(v)
    }
}

/// The version JA4 reports: the highest non-GREASE supported_versions entry, else the
/// ClientHello's legacy version.
fn ja4_offered_version(ch: &ClientHelloInfo) -> u16 {
    ch.supported_versions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .max_by_key(|v| version_rank(*v))
        .unwrap_or(ch.legacy_version)
}

/// First and last character of the first ALPN value; hex digits when either byte is not
/// ASCII alphanumeric; "00" when there is none.
fn ja4_alpn(ch: &ClientHelloInfo) -> [u8; 2] {
    let first: &[u8] = match &ch.first_alpn_raw {
        Some(raw) => raw,
        None => ch.alpn.first().map_or(&[], |s| s.as_bytes()),
    };
    match (first.first(), first.last()) {
        (Some(&a), Some(&z)) if a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric() => [a, z],
        (Some(&a), Some(&z)) => [hex_digit(a >> 4), hex_digit(z)],
        _ => *b"00",
    }
}

/// Two decimal digits of `n`, capped at [`JA4_MAX_COUNT`].
fn two_digits(n: usize) -> [u8; 2] {
    let n = n.min(JA4_MAX_COUNT) as u8;
    [b'0' + n / 10, b'0' + n % 10]
}

fn sort_small(v: &mut [u16]) {
    if v.len() > INSERTION_SORT_MAX {
        v.sort_unstable();
        return;
    }
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && v.get(j - 1) > v.get(j) {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// Call `f` with the values that pass `keep`, sorted (on the stack for short lists).
fn with_sorted<R>(values: &[u16], keep: impl Fn(u16) -> bool, f: impl FnOnce(&[u16]) -> R) -> R {
    if values.len() <= STACK_LIST_LEN {
        let mut stack = [0u16; STACK_LIST_LEN];
        let mut n = 0;
        for &v in values {
            if let Some(slot) = stack.get_mut(n).filter(|_| keep(v)) {
                *slot = v;
                n += 1;
            }
        }
        let kept = stack.get_mut(..n).unwrap_or_default();
        sort_small(kept);
        f(kept)
    } else {
        let mut kept: Vec<u16> = values.iter().copied().filter(|&v| keep(v)).collect();
        kept.sort_unstable();
        f(&kept)
    }
}

/// Append the first [`JA4_HASH_LEN`] hex characters of the SHA-256 of what `write` puts,
/// or [`JA4_EMPTY_HASH`] when `empty`.
fn push_ja4_hash(out: &mut String, empty: bool, write: impl FnOnce(&mut HashFeed<Sha256>)) {
    if empty {
        out.push_str(JA4_EMPTY_HASH);
        return;
    }
    let mut feed = HashFeed::<Sha256>::new();
    write(&mut feed);
    let digest = feed.finish();
    push_hex(out, digest.get(..JA4_HASH_LEN / 2).unwrap_or_default());
}

/// The JA4 fingerprint (FoxIO, BSD-3) of a ClientHello. `transport` is `'t'` for TLS over
/// TCP, `'q'` for QUIC and `'d'` for DTLS.
pub fn ja4(ch: &ClientHelloInfo, transport: char) -> String {
    let mut n_exts = 0;
    let mut has_sni = false;
    for &e in &ch.extensions {
        if !is_grease(e) {
            n_exts += 1;
            has_sni |= e == ext::SERVER_NAME;
        }
    }
    let mut out = String::with_capacity(8 + 2 * (1 + JA4_HASH_LEN) + 2 + transport.len_utf8());
    out.push(transport);
    out.push_str(ja4_version(ja4_offered_version(ch)));
    out.push(if has_sni { 'd' } else { 'i' });
    with_sorted(
        &ch.cipher_suites,
        |c| !is_grease(c),
        |ciphers| {
            for b in two_digits(ciphers.len())
                .into_iter()
                .chain(two_digits(n_exts))
                .chain(ja4_alpn(ch))
            {
                out.push(char::from(b));
            }
            out.push('_');
            push_ja4_hash(&mut out, ciphers.is_empty(), |feed| {
                put_hex4_list(feed, ciphers.iter().copied());
            });
        },
    );
    out.push('_');
    with_sorted(
        &ch.extensions,
        |e| !is_grease(e) && e != ext::SERVER_NAME && e != ext::ALPN,
        |exts| {
            push_ja4_hash(&mut out, exts.is_empty(), |feed| {
                put_hex4_list(feed, exts.iter().copied());
                put_signature_part(feed, ch);
            });
        },
    );
    out
}

/// `_` and the signature algorithms in offered order, GREASE removed, when there are any.
fn put_signature_part(sink: &mut impl Sink, ch: &ClientHelloInfo) {
    let sigs = || {
        ch.signature_algorithms
            .iter()
            .copied()
            .filter(|s| !is_grease(*s))
    };
    if sigs().next().is_some() {
        sink.put_byte(b'_');
        put_hex4_list(sink, sigs());
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::dissect::tls::client_hello::tests::{alpn_ext, chrome_like, client_hello, sni_ext};
    use crate::dissect::tls::parse_client_hello_message;
    use proptest::prelude::*;

    /// The implementation before the allocation-free rewrite, kept to check that every
    /// fingerprint stays byte-identical.
    mod reference {
        // Only what changed is kept here; unchanged helpers are the module's own.
        use super::super::{
            ClientHelloInfo, JA4_EMPTY_HASH, JA4_HASH_LEN, JA4_MAX_COUNT, ext, is_grease,
            ja4_offered_version, ja4_version,
        };
        use md5::{Digest as _, Md5};
        use sha2::Sha256;
        use std::fmt::Write as _;

        const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

        fn push_hex(s: &mut String, bytes: &[u8]) {
            for &b in bytes {
                s.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
                s.push(char::from(HEX_DIGITS[usize::from(b & 0x0f)]));
            }
        }

        fn hex(bytes: &[u8]) -> String {
            let mut s = String::with_capacity(bytes.len() * 2);
            push_hex(&mut s, bytes);
            s
        }

        /// Append `values` in decimal, `sep` between them (what `write!("{v}")` would print).
        fn push_joined(s: &mut String, values: impl IntoIterator<Item = u16>, sep: char) {
            for (i, v) in values.into_iter().enumerate() {
                if i > 0 {
                    s.push(sep);
                }
                let mut digits = [0u8; 5];
                let mut n = v;
                let mut at = digits.len();
                loop {
                    at -= 1;
                    digits[at] = b'0' + (n % 10) as u8;
                    n /= 10;
                    if n == 0 {
                        break;
                    }
                }
                for &d in &digits[at..] {
                    s.push(char::from(d));
                }
            }
        }

        /// The JA3 string before hashing:
        /// `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`, decimal values
        /// joined by `-`, GREASE removed.
        pub fn ja3_string(ch: &ClientHelloInfo) -> String {
            fn clean(v: &[u16]) -> impl Iterator<Item = u16> + '_ {
                v.iter().copied().filter(|x| !is_grease(*x))
            }
            let mut s = String::with_capacity(
                8 + 6 * (ch.cipher_suites.len() + ch.extensions.len() + ch.supported_groups.len())
                    + 4 * ch.ec_point_formats.len(),
            );
            push_joined(&mut s, [ch.legacy_version], '-');
            s.push(',');
            push_joined(&mut s, clean(&ch.cipher_suites), '-');
            s.push(',');
            push_joined(&mut s, clean(&ch.extensions), '-');
            s.push(',');
            push_joined(&mut s, clean(&ch.supported_groups), '-');
            s.push(',');
            push_joined(
                &mut s,
                ch.ec_point_formats.iter().map(|&f| u16::from(f)),
                '-',
            );
            s
        }

        /// The JA3 fingerprint (MD5 of the JA3 string, lowercase hex) of a ClientHello.
        pub fn ja3(ch: &ClientHelloInfo) -> String {
            hex(&Md5::digest(ja3_string(ch).as_bytes()))
        }

        /// First and last character of the first ALPN value; hex digits when either byte is not
        /// ASCII alphanumeric; "00" when there is none.
        fn ja4_alpn(ch: &ClientHelloInfo) -> String {
            let first: &[u8] = match &ch.first_alpn_raw {
                Some(raw) => raw,
                None => ch.alpn.first().map_or(&[], |s| s.as_bytes()),
            };
            let (Some(&a), Some(&z)) = (first.first(), first.last()) else {
                return "00".to_owned();
            };
            if a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric() {
                format!("{}{}", char::from(a), char::from(z))
            } else {
                let nibble = |n: u8| char::from_digit(u32::from(n & 0x0f), 16).unwrap_or('0');
                format!("{}{}", nibble(a >> 4), nibble(z))
            }
        }

        /// Append the first [`JA4_HASH_LEN`] hex characters of SHA-256(`s`).
        fn push_sha256_12(out: &mut String, s: &str) {
            let digest = Sha256::digest(s.as_bytes());
            push_hex(out, digest.get(..JA4_HASH_LEN / 2).unwrap_or_default());
        }

        pub fn sha256_12(s: &str) -> String {
            let mut out = String::new();
            push_sha256_12(&mut out, s);
            out
        }

        /// Append `values` as 4-digit lowercase hex, `,` between them.
        fn push_hex4_list(s: &mut String, values: &[u16]) {
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                push_hex(s, &v.to_be_bytes());
            }
        }

        /// The JA4 fingerprint (FoxIO, BSD-3) of a ClientHello. `transport` is `'t'` for TLS over
        /// TCP, `'q'` for QUIC and `'d'` for DTLS.
        pub fn ja4(ch: &ClientHelloInfo, transport: char) -> String {
            let ciphers: Vec<u16> = ch
                .cipher_suites
                .iter()
                .copied()
                .filter(|c| !is_grease(*c))
                .collect();
            let exts: Vec<u16> = ch
                .extensions
                .iter()
                .copied()
                .filter(|e| !is_grease(*e))
                .collect();
            let sigs: Vec<u16> = ch
                .signature_algorithms
                .iter()
                .copied()
                .filter(|s| !is_grease(*s))
                .collect();

            let sni = if exts.contains(&ext::SERVER_NAME) {
                'd'
            } else {
                'i'
            };
            let mut out = String::with_capacity(10 + 2 * (1 + JA4_HASH_LEN) + 2);
            let _ = write!(
                out,
                "{transport}{}{sni}{:02}{:02}{}",
                ja4_version(ja4_offered_version(ch)),
                ciphers.len().min(JA4_MAX_COUNT),
                exts.len().min(JA4_MAX_COUNT),
                ja4_alpn(ch),
            );
            let mut scratch =
                String::with_capacity(5 * (ciphers.len() + exts.len() + sigs.len()) + 1);

            out.push('_');
            let mut ciphers = ciphers;
            if ciphers.is_empty() {
                out.push_str(JA4_EMPTY_HASH);
            } else {
                ciphers.sort_unstable();
                push_hex4_list(&mut scratch, &ciphers);
                push_sha256_12(&mut out, &scratch);
            }

            out.push('_');
            let mut sorted_exts: Vec<u16> = exts
                .into_iter()
                .filter(|e| *e != ext::SERVER_NAME && *e != ext::ALPN)
                .collect();
            sorted_exts.sort_unstable();
            if sorted_exts.is_empty() {
                out.push_str(JA4_EMPTY_HASH);
            } else {
                scratch.clear();
                push_hex4_list(&mut scratch, &sorted_exts);
                if !sigs.is_empty() {
                    scratch.push('_');
                    push_hex4_list(&mut scratch, &sigs);
                }
                push_sha256_12(&mut out, &scratch);
            }
            out
        }
    }

    /// The example ClientHello of the JA4 technical details (JA4.md, "Example").
    fn ja4_readme_hello() -> ClientHelloInfo {
        ClientHelloInfo {
            legacy_version: 0x0303,
            supported_versions: vec![0x0304, 0x0303],
            sni: Some("example.com".into()),
            alpn: vec!["h2".into(), "http/1.1".into()],
            cipher_suites: vec![
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            extensions: vec![
                0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023,
                0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
            ],
            signature_algorithms: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            ..ClientHelloInfo::default()
        }
    }

    #[test]
    fn ja4_readme_example() {
        let ch = ja4_readme_hello();
        assert_eq!(ja4(&ch, 't'), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(ja4(&ch, 'q'), "q13d1516h2_8daaf6152771_e5627efa2ab1");
        // Without signature algorithms the string ends without '_' (JA4.md: 6d807ffa2a79).
        let no_sigs = ClientHelloInfo {
            signature_algorithms: vec![],
            ..ch
        };
        assert_eq!(ja4(&no_sigs, 't'), "t13d1516h2_8daaf6152771_6d807ffa2a79");
    }

    #[test]
    fn ja4_with_grease_equals_without() {
        let mut ch = ja4_readme_hello();
        ch.cipher_suites.insert(0, 0x0a0a);
        ch.extensions.insert(3, 0xfafa);
        ch.supported_versions.insert(0, 0x2a2a);
        ch.signature_algorithms.push(0x1a1a);
        assert_eq!(ja4(&ch, 't'), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    /// A published JA3/JA4 pair (browserleaks.com output for Chrome 143, also its ja3_text).
    #[test]
    fn ja3_and_ja4_of_a_published_chrome_hello() {
        let ch = ClientHelloInfo {
            legacy_version: 771,
            supported_versions: vec![0x0304, 0x0303],
            sni: Some("tls.browserleaks.com".into()),
            alpn: vec!["h2".into()],
            cipher_suites: vec![
                4865, 4866, 4867, 49195, 49199, 49196, 49200, 52393, 52392, 49171, 49172, 156, 157,
                47, 53,
            ],
            extensions: vec![
                45, 51, 16, 65037, 23, 17613, 0, 11, 10, 43, 65281, 35, 18, 5, 13, 27,
            ],
            supported_groups: vec![4588, 29, 23, 24],
            ec_point_formats: vec![0],
            signature_algorithms: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            ..ClientHelloInfo::default()
        };
        assert_eq!(
            ja3_string(&ch),
            "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
             45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0"
        );
        assert_eq!(ja3(&ch), "98487aa16281980e7d1120d399efb6a4");
        assert_eq!(ja4(&ch, 't'), "t13d1516h2_8daaf6152771_d8a2da3f94cd");
    }

    /// The example of the salesforce/ja3 README.
    #[test]
    fn ja3_readme_example() {
        let ch = ClientHelloInfo {
            legacy_version: 769,
            cipher_suites: vec![47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4],
            extensions: vec![0, 10, 11],
            supported_groups: vec![23, 24, 25],
            ec_point_formats: vec![0],
            ..ClientHelloInfo::default()
        };
        assert_eq!(
            ja3_string(&ch),
            "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0"
        );
        assert_eq!(ja3(&ch), "ada70206e40642a3e4461f35503241d5");
    }

    #[test]
    fn ja3_from_parsed_bytes_drops_grease() {
        let ch = parse_client_hello_message(&chrome_like()).expect("client hello");
        assert_eq!(
            ja3_string(&ch),
            "771,4865-4866-4867-49195-49199,0-23-10-11-16-13-43-65037,4588-29-23,0"
        );
        assert_eq!(ja3(&ch).len(), 32);
    }

    #[test]
    fn ja4_alpn_rules() {
        let alpn = |raw: &[u8]| {
            let msg = client_hello(0x0303, &[0x1301], &[alpn_ext(&[raw])]);
            let ch = parse_client_hello_message(&msg).expect("client hello");
            ja4(&ch, 't')[8..10].to_owned()
        };
        assert_eq!(alpn(b"h2"), "h2");
        assert_eq!(alpn(b"http/1.1"), "h1");
        assert_eq!(alpn(b"h3"), "h3");
        assert_eq!(alpn(b"x"), "xx");
        // JA4.md: non-alphanumeric first or last byte → first/last hex digit.
        assert_eq!(alpn(&[0xab]), "ab");
        assert_eq!(alpn(&[0xab, 0xcd]), "ad");
        assert_eq!(alpn(&[0x30, 0xab]), "3b");
        assert_eq!(alpn(&[0x30, 0x31, 0xab, 0xcd]), "3d");
        assert_eq!(alpn(&[0x30, 0xab, 0xcd, 0x31]), "01");
        // No ALPN, or an empty first value.
        let msg = client_hello(0x0303, &[0x1301], &[]);
        let ch = parse_client_hello_message(&msg).expect("client hello");
        assert_eq!(&ja4(&ch, 't')[8..10], "00");
        let ch = ClientHelloInfo {
            alpn: vec![String::new()],
            ..ClientHelloInfo::default()
        };
        assert_eq!(&ja4(&ch, 't')[8..10], "00");
    }

    #[test]
    fn ja4_version_sni_counts_and_empty_lists() {
        // No supported_versions → legacy version; no SNI → 'i'; no extensions → zeros.
        let ch = ClientHelloInfo {
            legacy_version: 0x0301,
            cipher_suites: vec![0x002f],
            ..ClientHelloInfo::default()
        };
        assert_eq!(
            ja4(&ch, 't'),
            format!("t10i010000_{}_000000000000", reference::sha256_12("002f"))
        );
        // Nothing at all.
        let empty = ClientHelloInfo::default();
        assert_eq!(ja4(&empty, 'd'), "d00i000000_000000000000_000000000000");
        // Only SNI and ALPN: the sorted extension list is empty.
        let msg = client_hello(0x0303, &[], &[sni_ext("a.b"), alpn_ext(&[b"h2"])]);
        let ch = parse_client_hello_message(&msg).expect("client hello");
        assert_eq!(ja4(&ch, 't'), "t12d0002h2_000000000000_000000000000");
        // Counts are capped at 99.
        let many = ClientHelloInfo {
            legacy_version: 0x0303,
            cipher_suites: (1..=150).collect(),
            extensions: (0x100..0x100 + 120).collect(),
            ..ClientHelloInfo::default()
        };
        assert!(ja4(&many, 't').starts_with("t12i9999"));
        // DTLS 1.3 (0xfefc) outranks DTLS 1.2 (0xfefd).
        let dtls = ClientHelloInfo {
            legacy_version: 0xfefd,
            supported_versions: vec![0xfefd, 0xfefc],
            ..ClientHelloInfo::default()
        };
        assert!(ja4(&dtls, 'd').starts_with("dd3i"));
        // A GREASE-only supported_versions falls back to the legacy version.
        let grease_only = ClientHelloInfo {
            legacy_version: 0x0303,
            supported_versions: vec![0x0a0a],
            ..ClientHelloInfo::default()
        };
        assert!(ja4(&grease_only, 't').starts_with("t12i"));
    }

    /// u16 code points with many GREASE values and the extensions JA4 treats specially.
    fn code_point() -> impl Strategy<Value = u16> {
        prop_oneof![
            4 => any::<u16>(),
            2 => (0..16u16).prop_map(|i| (i << 12) | 0x0a00 | (i << 4) | 0x0a),
            1 => Just(ext::SERVER_NAME),
            1 => Just(ext::ALPN),
            1 => 0..0x40u16,
        ]
    }

    fn code_points(max: usize) -> impl Strategy<Value = Vec<u16>> {
        prop_oneof![
            4 => proptest::collection::vec(code_point(), 0..40),
            1 => proptest::collection::vec(code_point(), 0..max),
        ]
    }

    fn any_hello() -> impl Strategy<Value = ClientHelloInfo> {
        (
            (
                any::<u16>(),
                proptest::collection::vec(
                    prop_oneof![code_point(), 0xfefc..=0xfeffu16, 0x0300..=0x0304u16],
                    0..5,
                ),
                code_points(150),
                code_points(150),
                code_points(40),
            ),
            (
                code_points(20),
                proptest::collection::vec(any::<u8>(), 0..6),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..6)),
                proptest::collection::vec("[a-z0-9/.]{0,6}", 0..3),
            ),
        )
            .prop_map(
                |((legacy, versions, ciphers, exts, sigs), (groups, formats, alpn_raw, alpn))| {
                    ClientHelloInfo {
                        legacy_version: legacy,
                        supported_versions: versions,
                        cipher_suites: ciphers,
                        extensions: exts,
                        signature_algorithms: sigs,
                        supported_groups: groups,
                        ec_point_formats: formats,
                        first_alpn_raw: alpn_raw,
                        alpn,
                        ..ClientHelloInfo::default()
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn same_fingerprints_as_the_reference(
            ch in any_hello(),
            transport in prop_oneof![Just('t'), Just('q'), Just('d'), any::<char>()],
        ) {
            prop_assert_eq!(ja3_string(&ch), reference::ja3_string(&ch));
            prop_assert_eq!(ja3(&ch), reference::ja3(&ch));
            prop_assert_eq!(ja4(&ch, transport), reference::ja4(&ch, transport));
        }

        #[test]
        fn fingerprints_have_fixed_shape(
            ciphers in proptest::collection::vec(any::<u16>(), 0..120),
            exts in proptest::collection::vec(any::<u16>(), 0..120),
            sigs in proptest::collection::vec(any::<u16>(), 0..20),
            versions in proptest::collection::vec(any::<u16>(), 0..5),
            legacy in any::<u16>(),
            alpn in proptest::collection::vec(any::<u8>(), 0..5),
        ) {
            let ch = ClientHelloInfo {
                legacy_version: legacy,
                supported_versions: versions,
                cipher_suites: ciphers,
                extensions: exts,
                signature_algorithms: sigs,
                first_alpn_raw: Some(alpn),
                ..ClientHelloInfo::default()
            };
            let j = ja4(&ch, 'q');
            prop_assert_eq!(j.len(), 36, "{}", j);
            prop_assert!(j.is_ascii());
            prop_assert_eq!(ja3(&ch).len(), 32);
        }
    }
}
