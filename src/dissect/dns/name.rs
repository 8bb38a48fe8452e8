//! Domain names on the wire: decompression with bounds (RFC 1035 §4.1.4) and dig's
//! presentation format, so label bytes never reach a terminal raw.

use super::{MAX_LABELS, MAX_NAME_WIRE_LEN, MAX_POINTER_JUMPS};
use serde::{Serialize, Serializer};
use std::fmt;

/// Anomalies met while reading a name or a message. They are recorded, not fatal:
/// whatever could be read is still returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DnsFlags(u8);

impl DnsFlags {
    pub const EMPTY: DnsFlags = DnsFlags(0);
    /// The bytes ended inside a name, a record or a section.
    pub const TRUNCATED: DnsFlags = DnsFlags(1);
    /// More than [`MAX_POINTER_JUMPS`] compression pointers: a loop.
    pub const POINTER_LOOP: DnsFlags = DnsFlags(1 << 1);
    /// A name over [`MAX_NAME_WIRE_LEN`] bytes or [`MAX_LABELS`] labels; it is cut there.
    pub const TOO_LONG: DnsFlags = DnsFlags(1 << 2);
    /// A compression pointer past the end of the message.
    pub const BAD_POINTER: DnsFlags = DnsFlags(1 << 3);
    /// A label type 0x40 or 0x80 (RFC 6891 §5 retired extended labels).
    pub const BAD_LABEL_TYPE: DnsFlags = DnsFlags(1 << 4);
    /// RDATA whose length does not fit its type (an A record that is not 4 bytes, ...).
    pub const BAD_RDATA: DnsFlags = DnsFlags(1 << 5);

    const NAMES: [(DnsFlags, &'static str); 6] = [
        (DnsFlags::TRUNCATED, "truncated"),
        (DnsFlags::POINTER_LOOP, "pointer_loop"),
        (DnsFlags::TOO_LONG, "too_long"),
        (DnsFlags::BAD_POINTER, "bad_pointer"),
        (DnsFlags::BAD_LABEL_TYPE, "bad_label_type"),
        (DnsFlags::BAD_RDATA, "bad_rdata"),
    ];

    pub fn contains(self, other: DnsFlags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    pub fn insert(&mut self, other: DnsFlags) {
        self.0 |= other.0;
    }

    /// The snake_case names of the set flags, as they appear in reports.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        DnsFlags::NAMES
            .into_iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, n)| n)
    }
}

impl Serialize for DnsFlags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

/// A decompressed domain name in dig's presentation format: labels joined by `.`, no
/// trailing dot (the root is `.`), case kept as seen on the wire. Bytes that could be
/// misread or reach a terminal raw are escaped: `\.` `\\` and other specials with a
/// backslash, non-printable bytes as `\DDD` (decimal), as BIND's `dns_name_totext` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsName {
    text: Box<str>,
    labels: u8,
    flags: DnsFlags,
}

impl DnsName {
    /// The name as seen (escaped, original case).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The name with ASCII letters lowercased (escapes are unaffected: they use digits and
    /// punctuation only). DNS compares names case-insensitively (RFC 4343).
    pub fn to_lowercase(&self) -> String {
        self.text.to_ascii_lowercase()
    }

    /// Case-insensitive comparison (RFC 4343).
    pub fn eq_ignore_case(&self, other: &DnsName) -> bool {
        self.text.eq_ignore_ascii_case(&other.text)
    }

    pub fn label_count(&self) -> usize {
        usize::from(self.labels)
    }

    /// Anomalies met while reading this name; empty for a well-formed name.
    pub fn flags(&self) -> DnsFlags {
        self.flags
    }

    pub fn is_root(&self) -> bool {
        self.labels == 0 && self.flags.is_empty()
    }
}

impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Presentation length of each byte (dig's `dns_name_totext`): 1 for a printable byte
/// kept as is, 2 for a special escaped as `\X`, 4 for any other byte as `\DDD`.
const ESCAPED_LEN: [u8; 256] = {
    let mut table = [4u8; 256];
    let mut b = 0x21;
    while b <= 0x7e {
        table[b] = 1;
        b += 1;
    }
    let specials = *b".\\\"();@$";
    let mut i = 0;
    while i < specials.len() {
        table[specials[i] as usize] = 2;
        i += 1;
    }
    table
};

/// Labels remembered by the measuring walk; names with more are walked a second time.
const KEPT_LABELS: usize = 16;

fn escaped_len(b: u8) -> usize {
    usize::from(ESCAPED_LEN[usize::from(b)])
}

/// Append one label in presentation format; `clean` says every byte is kept as is.
fn escape_label(label: &[u8], clean: bool, out: &mut Vec<u8>) {
    if clean {
        out.extend_from_slice(label);
        return;
    }
    for &b in label {
        match escaped_len(b) {
            1 => out.push(b),
            2 => out.extend_from_slice(&[b'\\', b]),
            _ => out.extend_from_slice(&[b'\\', b'0' + b / 100, b'0' + b / 10 % 10, b'0' + b % 10]),
        }
    }
}

/// The labels of a possibly compressed name, in order, following pointers with the
/// bounds of RFC 1035 §2.3.4 and §4.1.4. Once exhausted, [`Labels::labels`],
/// [`Labels::flags`] and [`Labels::end`] say what the walk found. A label that would make
/// the name too long is not yielded.
struct Labels<'a> {
    msg: &'a [u8],
    pos: usize,
    /// The terminating root label counts towards the wire length.
    wire_len: usize,
    labels: usize,
    visited: [u16; MAX_POINTER_JUMPS],
    jumps: usize,
    end: Option<usize>,
    flags: DnsFlags,
    done: bool,
}

impl<'a> Labels<'a> {
    fn new(msg: &'a [u8], start: usize) -> Labels<'a> {
        Labels {
            msg,
            pos: start,
            wire_len: 1,
            labels: 0,
            visited: [0; MAX_POINTER_JUMPS],
            jumps: 0,
            end: None,
            flags: DnsFlags::EMPTY,
            done: false,
        }
    }

    /// Stop the walk, recording `flag`.
    fn stop(&mut self, flag: DnsFlags) -> Option<&'a [u8]> {
        self.flags.insert(flag);
        self.done = true;
        None
    }
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    // Inlined so the walk's state stays in registers inside `read_name`.
    #[inline(always)]
    fn next(&mut self) -> Option<&'a [u8]> {
        let msg = self.msg;
        while !self.done {
            let pos = self.pos;
            let Some(&len) = msg.get(pos) else {
                return self.stop(DnsFlags::TRUNCATED);
            };
            match len & 0xc0 {
                0x00 if len == 0 => {
                    self.end.get_or_insert(pos + 1);
                    return self.stop(DnsFlags::EMPTY);
                }
                0x00 => {
                    let len = usize::from(len);
                    let Some(label) = msg.get(pos + 1..pos + 1 + len) else {
                        return self.stop(DnsFlags::TRUNCATED);
                    };
                    self.wire_len += 1 + len;
                    self.pos = pos + 1 + len;
                    if self.wire_len > MAX_NAME_WIRE_LEN || self.labels + 1 > MAX_LABELS {
                        if self.end.is_none() {
                            self.end = skip_uncompressed(msg, self.pos);
                            if self.end.is_none() {
                                self.flags.insert(DnsFlags::TRUNCATED);
                            }
                        }
                        return self.stop(DnsFlags::TOO_LONG);
                    }
                    self.labels += 1;
                    return Some(label);
                }
                0xc0 => {
                    let Some(&lo) = msg.get(pos + 1) else {
                        return self.stop(DnsFlags::TRUNCATED);
                    };
                    self.end.get_or_insert(pos + 2);
                    let target = u16::from_be_bytes([len & 0x3f, lo]);
                    if usize::from(target) >= msg.len() {
                        return self.stop(DnsFlags::BAD_POINTER);
                    }
                    // A target seen before is a loop; the jump cap also ends long chains.
                    let jumps = self.jumps;
                    let looped = self
                        .visited
                        .get(..jumps)
                        .is_none_or(|seen| seen.contains(&target));
                    let Some(slot) = self.visited.get_mut(jumps).filter(|_| !looped) else {
                        return self.stop(DnsFlags::POINTER_LOOP);
                    };
                    *slot = target;
                    self.jumps = jumps + 1;
                    self.pos = usize::from(target);
                }
                _ => return self.stop(DnsFlags::BAD_LABEL_TYPE),
            }
        }
        None
    }
}

/// Read a possibly compressed name starting at `start`.
///
/// Returns the name (cut short and flagged on anomalies) and the offset just past the name
/// in its original position, or `None` when that position cannot be known (the name ran
/// off the end of the message before any pointer).
pub(super) fn read_name(msg: &[u8], start: usize) -> (DnsName, Option<usize>) {
    let (name, end, _) = read_name_walked(msg, start);
    (name, end)
}

/// A name read earlier in the same message whose walk a later name that is one
/// compression pointer to `start` repeats exactly: the walk was clean (so it never pointed
/// back to `start`) and left a pointer jump to spare for that extra first jump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Reusable {
    start: usize,
}

/// [`read_name`], also saying whether a pointer to this name may copy it (see [`Reusable`]).
pub(super) fn read_name_walked(
    msg: &[u8],
    start: usize,
) -> (DnsName, Option<usize>, Option<Reusable>) {
    // The first walk measures the text so it is allocated once at its exact size, and
    // keeps the labels of ordinary names so the copy needs no second walk.
    let mut walk = Labels::new(msg, start);
    let mut kept: [&[u8]; KEPT_LABELS] = [&[]; KEPT_LABELS];
    let mut text_len = 0usize;
    // Bit i: label i needs no escapes (MAX_LABELS < 128).
    let mut clean = 0u128;
    for (i, label) in (&mut walk).enumerate() {
        if let Some(slot) = kept.get_mut(i) {
            *slot = label;
        }
        let len: usize = label.iter().map(|&b| escaped_len(b)).sum();
        if len == label.len() {
            clean |= 1 << (i % 128);
        }
        text_len += len;
    }
    let labels = walk.labels;
    let flags = walk.flags;
    let text = if labels == 0 {
        if flags.is_empty() { "." } else { "" }.into()
    } else {
        let mut text = Vec::with_capacity(text_len + labels - 1);
        match kept.get(..labels) {
            Some(kept) => {
                for (i, label) in kept.iter().enumerate() {
                    push_label(&mut text, i, label, clean);
                }
            }
            None => {
                for (i, label) in Labels::new(msg, start).enumerate() {
                    push_label(&mut text, i, label, clean);
                }
            }
        }
        // Every byte written is printable ASCII, so this never takes the lossy path.
        match String::from_utf8(text) {
            Ok(s) => s.into_boxed_str(),
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into(),
        }
    };
    let name = DnsName {
        text,
        // `labels` never exceeds MAX_LABELS (127) here.
        labels: u8::try_from(labels).unwrap_or(u8::MAX),
        flags,
    };
    let reusable =
        (flags.is_empty() && walk.jumps < MAX_POINTER_JUMPS).then_some(Reusable { start });
    (name, walk.end, reusable)
}

/// Append label `i` (dot-separated from the previous one); bit `i` of `clean` says it
/// needs no escapes.
#[inline(always)]
fn push_label(text: &mut Vec<u8>, i: usize, label: &[u8], clean: u128) {
    if i > 0 {
        text.push(b'.');
    }
    escape_label(label, clean >> (i % 128) & 1 == 1, text);
}

/// [`read_name`] for a name that may be a single pointer to `known`, a name already read
/// from `msg` (answers usually point at the question): then the result is a copy of it,
/// exactly what a walk would give, without the walk.
pub(super) fn read_name_reusing(
    msg: &[u8],
    start: usize,
    known: Option<(Reusable, &DnsName)>,
) -> (DnsName, Option<usize>) {
    if let Some((Reusable { start: at }, name)) = known
        && let Some(&[hi, lo]) = msg.get(start..).and_then(<[u8]>::first_chunk::<2>)
        && hi & 0xc0 == 0xc0
        && usize::from(u16::from_be_bytes([hi & 0x3f, lo])) == at
    {
        return (name.clone(), Some(start + 2));
    }
    read_name(msg, start)
}

/// Find the end of a name's original run without following pointers (used once the name
/// is already known to be too long). Terminates because `pos` only grows.
fn skip_uncompressed(msg: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *msg.get(pos)?;
        match len & 0xc0 {
            0x00 if len == 0 => return Some(pos + 1),
            0x00 => pos += 1 + usize::from(len),
            0xc0 => return msg.get(pos + 1).map(|_| pos + 2),
            _ => return None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Uncompressed wire form of a name.
    fn wire(labels: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for l in labels {
            out.push(l.len() as u8);
            out.extend_from_slice(l);
        }
        out.push(0);
        out
    }

    #[test]
    fn unsafe_label_bytes_are_escaped() {
        let w = wire(&[b"a.b\x07 \x1b[2J\\\xff".to_vec(), b"Test".to_vec()]);
        let (n, end) = read_name(&w, 0);
        assert_eq!(end, Some(w.len()));
        assert_eq!(n.as_str(), r"a\.b\007\032\027[2J\\\255.Test");
        assert!(n.as_str().bytes().all(|b| (0x21..=0x7e).contains(&b)));
        assert_eq!(n.to_lowercase(), r"a\.b\007\032\027[2j\\\255.test");
        assert_eq!(n.to_string(), n.as_str());
    }

    #[test]
    fn specials_are_escaped_like_dig() {
        let w = wire(&[b"\"();@$".to_vec()]);
        assert_eq!(read_name(&w, 0).0.as_str(), r#"\"\(\)\;\@\$"#);
    }

    #[test]
    fn case_insensitive_equality() {
        let (a, _) = read_name(&wire(&[b"WwW".to_vec(), b"Zoom".to_vec()]), 0);
        let (b, _) = read_name(&wire(&[b"www".to_vec(), b"zOOm".to_vec()]), 0);
        assert!(a.eq_ignore_case(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn reuse_needs_a_pointer_jump_to_spare() {
        // "a." at 0, then a chain of distinct pointers, each to the one before.
        let mut msg = vec![1, b'a', 0, 0xc0, 0];
        for _ in 1..MAX_POINTER_JUMPS {
            let prev = (msg.len() - 2) as u16;
            msg.extend((0xc000 | prev).to_be_bytes());
        }
        let last = msg.len() - 2;
        for (known, spare) in [(last - 2, true), (last, false)] {
            let mut m = msg.clone();
            m.extend((0xc000 | known as u16).to_be_bytes());
            let (name, _, reusable) = read_name_walked(&m, known);
            assert!(name.flags().is_empty());
            assert_eq!(reusable.is_some(), spare);
            let walked = read_name(&m, m.len() - 2);
            assert_eq!(walked.0.flags().is_empty(), spare);
            if let Some(r) = reusable {
                assert_eq!(read_name_reusing(&m, m.len() - 2, Some((r, &name))), walked);
            }
        }
    }

    /// Inverse of the presentation format, written independently of `escape_label`.
    fn unescape(text: &str) -> Vec<Vec<u8>> {
        if text == "." {
            return Vec::new();
        }
        let mut labels = vec![Vec::new()];
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' if b[i + 1].is_ascii_digit() => {
                    let d = std::str::from_utf8(&b[i + 1..i + 4]).unwrap();
                    labels.last_mut().unwrap().push(d.parse::<u8>().unwrap());
                    i += 4;
                }
                b'\\' => {
                    labels.last_mut().unwrap().push(b[i + 1]);
                    i += 2;
                }
                b'.' => {
                    labels.push(Vec::new());
                    i += 1;
                }
                c => {
                    labels.last_mut().unwrap().push(c);
                    i += 1;
                }
            }
        }
        labels
    }

    fn valid_labels() -> impl Strategy<Value = Vec<Vec<u8>>> {
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..=63), 0..=8)
            .prop_filter("fits 255 bytes", |ls| {
                ls.iter().map(|l| l.len() + 1).sum::<usize>() < MAX_NAME_WIRE_LEN
            })
    }

    /// The implementation before the label walker (per-character pushes, shrink at the
    /// end), kept as the reference the walker-based `read_name` must match exactly.
    fn reference_read_name(msg: &[u8], start: usize) -> (DnsName, Option<usize>) {
        fn escape_label(label: &[u8], out: &mut String) {
            for &b in label {
                match b {
                    b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                        out.push('\\');
                        out.push(char::from(b));
                    }
                    0x21..=0x7e => out.push(char::from(b)),
                    _ => {
                        out.push('\\');
                        out.push(char::from(b'0' + b / 100));
                        out.push(char::from(b'0' + b / 10 % 10));
                        out.push(char::from(b'0' + b % 10));
                    }
                }
            }
        }
        let mut text = String::with_capacity(64);
        let mut flags = DnsFlags::EMPTY;
        let mut labels = 0usize;
        let mut wire_len = 1usize;
        let mut visited = [0u16; MAX_POINTER_JUMPS];
        let mut jumps = 0usize;
        let mut end: Option<usize> = None;
        let mut pos = start;
        loop {
            let Some(&len) = msg.get(pos) else {
                flags.insert(DnsFlags::TRUNCATED);
                break;
            };
            match len & 0xc0 {
                0x00 if len == 0 => {
                    end.get_or_insert(pos + 1);
                    break;
                }
                0x00 => {
                    let len = usize::from(len);
                    let Some(label) = msg.get(pos + 1..pos + 1 + len) else {
                        flags.insert(DnsFlags::TRUNCATED);
                        break;
                    };
                    wire_len += 1 + len;
                    labels += 1;
                    pos += 1 + len;
                    if wire_len > MAX_NAME_WIRE_LEN || labels > MAX_LABELS {
                        flags.insert(DnsFlags::TOO_LONG);
                        labels -= 1;
                        if end.is_none() {
                            end = skip_uncompressed(msg, pos);
                            if end.is_none() {
                                flags.insert(DnsFlags::TRUNCATED);
                            }
                        }
                        break;
                    }
                    if labels > 1 {
                        text.push('.');
                    }
                    escape_label(label, &mut text);
                }
                0xc0 => {
                    let Some(&lo) = msg.get(pos + 1) else {
                        flags.insert(DnsFlags::TRUNCATED);
                        break;
                    };
                    end.get_or_insert(pos + 2);
                    let target = u16::from_be_bytes([len & 0x3f, lo]);
                    if usize::from(target) >= msg.len() {
                        flags.insert(DnsFlags::BAD_POINTER);
                        break;
                    }
                    let looped = visited
                        .get(..jumps)
                        .is_none_or(|seen| seen.contains(&target));
                    let Some(slot) = visited.get_mut(jumps).filter(|_| !looped) else {
                        flags.insert(DnsFlags::POINTER_LOOP);
                        break;
                    };
                    *slot = target;
                    jumps += 1;
                    pos = usize::from(target);
                }
                _ => {
                    flags.insert(DnsFlags::BAD_LABEL_TYPE);
                    break;
                }
            }
        }
        if labels == 0 && flags.is_empty() {
            text.push('.');
        }
        let name = DnsName {
            text: text.into_boxed_str(),
            labels: u8::try_from(labels).unwrap_or(u8::MAX),
            flags,
        };
        (name, end)
    }

    /// One piece of a generated message: a label (bytes biased towards specials and
    /// non-printables), a compression pointer, a root label, or a stray byte.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        let label_byte = prop_oneof![
            4 => proptest::sample::select(b"abcxyz-_019".to_vec()),
            2 => proptest::sample::select(b".\\\"();@$".to_vec()),
            1 => any::<u8>(),
        ];
        prop_oneof![
            6 => proptest::collection::vec(label_byte, 0..=63).prop_map(|l| {
                let mut out = vec![l.len() as u8];
                out.extend(l);
                out
            }),
            // Pointers land near the start, where the other pieces are.
            3 => (0u16..160).prop_map(|t| (0xc000 | t).to_be_bytes().to_vec()),
            1 => any::<u16>().prop_map(|t| (0xc000 | t).to_be_bytes().to_vec()),
            2 => Just(vec![0]),
            1 => any::<u8>().prop_map(|b| vec![b]),
            // Long runs of short labels reach the 255-byte and 127-label limits.
            1 => (1usize..200).prop_map(|n| [1, b'x'].repeat(n)),
        ]
    }

    proptest! {
        #[test]
        fn read_name_matches_reference(
            pieces in proptest::collection::vec(piece(), 0..40),
            starts in proptest::collection::vec(0usize..1200, 1..8),
        ) {
            let msg = pieces.concat();
            for start in starts {
                let start = if msg.is_empty() { start } else { start % (msg.len() + 2) };
                prop_assert_eq!(read_name(&msg, start), reference_read_name(&msg, start));
            }
        }

        #[test]
        fn reused_names_match_a_walk(
            pieces in proptest::collection::vec(piece(), 0..40),
            known in 0usize..1200,
            tail in proptest::collection::vec(any::<u8>(), 0..4),
        ) {
            let mut msg = pieces.concat();
            let known = if msg.is_empty() { 0 } else { known % msg.len() };
            // A name that is one pointer to `known`, then whatever follows it.
            let start = msg.len();
            msg.extend((0xc000 | known as u16).to_be_bytes());
            msg.extend(tail);
            let (name, _, reusable) = read_name_walked(&msg, known);
            let walked = read_name(&msg, start);
            prop_assert_eq!(read_name_reusing(&msg, start, None), walked.clone());
            if let Some(r) = reusable {
                prop_assert_eq!(read_name_reusing(&msg, start, Some((r, &name))), walked);
            }
        }

        #[test]
        fn read_name_matches_reference_on_random_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            start in 0usize..700,
        ) {
            prop_assert_eq!(read_name(&bytes, start), reference_read_name(&bytes, start));
        }
    }

    proptest! {
        #[test]
        fn names_round_trip(labels in valid_labels()) {
            let w = wire(&labels);
            let (n, end) = read_name(&w, 0);
            prop_assert_eq!(end, Some(w.len()));
            prop_assert!(n.flags().is_empty());
            prop_assert_eq!(n.label_count(), labels.len());
            prop_assert!(n.as_str().bytes().all(|b| (0x21..=0x7e).contains(&b)));
            prop_assert_eq!(unescape(n.as_str()), labels);
        }

        #[test]
        fn random_names_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), start in 0usize..700) {
            let (n, end) = read_name(&bytes, start);
            prop_assert!(n.label_count() <= MAX_LABELS);
            prop_assert!(end.is_none_or(|e| e <= bytes.len()));
            prop_assert!(n.as_str().bytes().all(|b| (0x21..=0x7e).contains(&b)));
        }
    }
}
