//! Byte-order-aware integer reads that cannot panic.

/// The byte order of a pcap file or a pcapng section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Endian {
    Little,
    Big,
}

impl Endian {
    pub fn is_big(self) -> bool {
        self == Endian::Big
    }

    /// Reads a `u16` at `at`; zero when out of range (callers check lengths first).
    pub fn u16(self, b: &[u8], at: usize) -> u16 {
        let bytes = array(b, at);
        match self {
            Endian::Little => u16::from_le_bytes(bytes),
            Endian::Big => u16::from_be_bytes(bytes),
        }
    }

    /// Reads a `u32` at `at`; zero when out of range (callers check lengths first).
    pub fn u32(self, b: &[u8], at: usize) -> u32 {
        let bytes = array(b, at);
        match self {
            Endian::Little => u32::from_le_bytes(bytes),
            Endian::Big => u32::from_be_bytes(bytes),
        }
    }

    /// Four `u32`s, as in a pcap record header, with one byte-order decision.
    pub fn u32x4(self, b: &[u8; 16]) -> [u32; 4] {
        let words = [0, 4, 8, 12].map(|at| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&b[at..at + 4]);
            w
        });
        match self {
            Endian::Little => words.map(u32::from_le_bytes),
            Endian::Big => words.map(u32::from_be_bytes),
        }
    }

    /// Reads an `i64` at `at`; zero when out of range (callers check lengths first).
    pub fn i64(self, b: &[u8], at: usize) -> i64 {
        let bytes = array(b, at);
        match self {
            Endian::Little => i64::from_le_bytes(bytes),
            Endian::Big => i64::from_be_bytes(bytes),
        }
    }
}

fn array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    at.checked_add(N)
        .and_then(|end| b.get(at..end))
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; N])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_orders_and_tolerates_short_input() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(Endian::Little.u16(&b, 1), 0x0302);
        assert_eq!(Endian::Big.u32(&b, 0), 0x0102_0304);
        assert_eq!(Endian::Big.i64(&b, 0), 0x0102_0304_0506_0708);
        assert_eq!(Endian::Little.u32(&b, 6), 0);
        assert_eq!(Endian::Little.u32(&b, usize::MAX), 0);
        let h: [u8; 16] = std::array::from_fn(|i| i as u8);
        for e in [Endian::Little, Endian::Big] {
            assert_eq!(e.u32x4(&h), [0, 4, 8, 12].map(|at| e.u32(&h, at)));
        }
    }
}
