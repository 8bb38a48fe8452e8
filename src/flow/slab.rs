//! Flow slots in fixed-size chunks. A table of a million flows never reallocates one big
//! array: growing a 100 MB `Vec` copies it into a new block while the old one is still
//! mapped, which doubled the peak RSS with allocators that do not `mremap` (mimalloc).

/// Bytes per chunk: 512 KiB, eight of the 64 KiB slices mimalloc (v2) carves large objects
/// from, so a chunk does not round up to a further slice. 3 640 flows of 144 bytes; 275
/// chunks for a million.
const CHUNK_BYTES: usize = 512 * 1024;

/// Append-only storage of `Option<T>` addressed by a dense index.
pub(crate) struct Slab<T> {
    chunks: Vec<Vec<Option<T>>>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Slots per chunk (at least one).
    const CHUNK: usize = {
        let size = std::mem::size_of::<Option<T>>();
        if size == 0 || size > CHUNK_BYTES {
            1
        } else {
            CHUNK_BYTES / size
        }
    };

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn get(&self, i: usize) -> Option<&Option<T>> {
        self.chunks.get(i / Self::CHUNK)?.get(i % Self::CHUNK)
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut Option<T>> {
        self.chunks
            .get_mut(i / Self::CHUNK)?
            .get_mut(i % Self::CHUNK)
    }

    /// Append a slot; returns its index.
    pub fn push(&mut self, value: Option<T>) -> usize {
        if self.len.is_multiple_of(Self::CHUNK) {
            self.chunks.push(Vec::with_capacity(Self::CHUNK));
        }
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.push(value);
        }
        self.len += 1;
        self.len - 1
    }

    pub fn iter(&self) -> impl Iterator<Item = &Option<T>> {
        self.chunks.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const CHUNK: usize = Slab::<usize>::CHUNK;

    #[test]
    fn indices_are_dense_across_chunks() {
        let mut s = Slab::default();
        for i in 0..(2 * CHUNK + 3) {
            assert_eq!(s.push(Some(i)), i);
        }
        assert_eq!(s.len(), 2 * CHUNK + 3);
        assert_eq!(s.get(CHUNK), Some(&Some(CHUNK)));
        assert_eq!(s.get(2 * CHUNK + 3), None);
        if let Some(slot) = s.get_mut(CHUNK + 1) {
            *slot = None;
        }
        assert_eq!(s.iter().flatten().count(), 2 * CHUNK + 2);
        assert_eq!(s.iter().nth(CHUNK + 2), Some(&Some(CHUNK + 2)));
    }
}
