//! QUIC variable-length integers (RFC 9000 §16): the two high bits of the first byte give
//! the length (1, 2, 4 or 8 bytes), the rest is a big-endian value of up to 62 bits.
//!
//! Reference: <https://www.rfc-editor.org/rfc/rfc9000#section-16>

/// A cursor over a byte slice that never reads past its end.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn at(buf: &'a [u8], pos: usize) -> Self {
        Reader { buf, pos }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    pub fn u32_be(&mut self) -> Option<u32> {
        let b = self.bytes(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// One variable-length integer, `None` when the buffer ends inside it.
    pub fn varint(&mut self) -> Option<u64> {
        let first = *self.buf.get(self.pos)?;
        let len = 1usize << (first >> 6);
        let raw = self.bytes(len)?;
        let mut v = u64::from(first & 0x3f);
        for b in raw.iter().skip(1) {
            v = (v << 8) | u64::from(*b);
        }
        Some(v)
    }

    /// A varint used as a length, checked against what is left.
    pub fn varint_len(&mut self) -> Option<usize> {
        let v = usize::try_from(self.varint()?).ok()?;
        (v <= self.remaining()).then_some(v)
    }
}

/// Encode `v` as the shortest varint (test helper and packet builder).
#[cfg(test)]
pub fn encode(v: u64, out: &mut Vec<u8>) {
    if v < 1 << 6 {
        out.push(v as u8);
    } else if v < 1 << 14 {
        out.extend_from_slice(&((v as u16) | 0x4000).to_be_bytes());
    } else if v < 1 << 30 {
        out.extend_from_slice(&((v as u32) | 0x8000_0000).to_be_bytes());
    } else {
        out.extend_from_slice(&(v | 0xc000_0000_0000_0000).to_be_bytes());
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc9000_appendix_a1_examples() {
        let cases: [(&[u8], u64); 4] = [
            (
                &[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c],
                151_288_809_941_952_652,
            ),
            (&[0x9d, 0x7f, 0x3e, 0x7d], 494_878_333),
            (&[0x7b, 0xbd], 15_293),
            (&[0x25], 37),
        ];
        for (bytes, want) in cases {
            let mut r = Reader::new(bytes);
            assert_eq!(r.varint(), Some(want));
            assert_eq!(r.remaining(), 0);
        }
        // Two-byte encoding of a one-byte value is legal.
        assert_eq!(Reader::new(&[0x40, 0x25]).varint(), Some(37));
    }

    #[test]
    fn truncated_varint_is_none() {
        assert_eq!(Reader::new(&[0x80, 0x01]).varint(), None);
        assert_eq!(Reader::new(&[]).varint(), None);
        assert_eq!(Reader::new(&[0x05, 1, 2]).varint_len(), None);
    }

    proptest! {
        #[test]
        fn varint_round_trips(v in 0u64..(1 << 62)) {
            let mut buf = Vec::new();
            encode(v, &mut buf);
            prop_assert_eq!(Reader::new(&buf).varint(), Some(v));
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let mut r = Reader::new(&bytes);
            while r.varint().is_some() {}
        }
    }
}
