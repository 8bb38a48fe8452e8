//! IPv4/IPv6 fragment reassembly, bounded in datagrams, pieces and bytes.
//!
//! References: RFC 791 §3.2 (IPv4 reassembly), RFC 8200 §4.5 (IPv6 fragment header),
//! RFC 5722 (overlapping IPv6 fragments must drop the whole datagram; we do so for both,
//! but an exact duplicate of a held fragment is only ignored, as Linux does).
//!
//! A datagram that cannot be rebuilt (overlap, a bound reached, timeout, end of input) is
//! not lost to the flow table: its first fragment, which holds the transport header, comes
//! back as a [`Datagram`] with `complete: false`, so the conversation is still counted (nDPI
//! likewise reads first fragments).

use super::FragmentView;
use crate::model::{IpProto, Timestamp};
use rustc_hash::FxHashMap;
use std::net::IpAddr;

/// Datagrams being reassembled at once; more are dropped and counted.
pub const MAX_PENDING: usize = 1024;
/// Largest datagram rebuilt (the IPv4 total-length field's limit).
pub const MAX_DATAGRAM: u32 = 65_535;
/// Fragments kept per datagram (a 64 KiB datagram in 1280-byte pieces needs 52).
pub const MAX_PIECES: usize = 64;
/// Bytes held across all pending datagrams.
pub const MAX_HELD_BYTES: usize = 8 << 20;
/// Linux's default `ipfrag_time`.
pub const TIMEOUT_NS: u64 = 30 * Timestamp::NANOS_PER_SEC;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    proto: IpProto,
    id: u32,
}

#[derive(Debug)]
struct Pending {
    first_seen: Timestamp,
    pieces: Vec<(u32, Vec<u8>)>,
    total: Option<u32>,
    bytes: usize,
}

/// Counters of what reassembly did and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DefragStats {
    pub fragments: u64,
    pub reassembled: u64,
    pub dropped_overlap: u64,
    pub dropped_limit: u64,
    pub timed_out: u64,
    /// Exact duplicates of held fragments, ignored.
    pub duplicates: u64,
    /// First fragments handed on alone because their datagram was never completed.
    pub partial: u64,
}

/// A reassembled datagram's transport bytes.
#[derive(Debug)]
pub struct Datagram {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: IpProto,
    pub data: Vec<u8>,
    /// False for the first fragment of a datagram that was never completed.
    pub complete: bool,
    /// When the datagram's first piece arrived.
    pub first_seen: Timestamp,
}

#[derive(Debug, Default)]
pub struct Defrag {
    pending: FxHashMap<Key, Pending>,
    held: usize,
    /// First fragments of timed-out datagrams, waiting for [`Defrag::take_stale`].
    stale: Vec<Datagram>,
    pub stats: DefragStats,
}

impl Defrag {
    /// Add a fragment; returns the datagram once every byte of it has arrived.
    pub fn push(&mut self, f: &FragmentView<'_>, now: Timestamp) -> Option<Datagram> {
        self.stats.fragments += 1;
        let key = Key {
            src: f.src,
            dst: f.dst,
            proto: f.proto,
            id: f.id,
        };
        let end = f.offset.checked_add(f.data.len() as u32)?;
        if end > MAX_DATAGRAM {
            self.stats.dropped_limit += 1;
            return None;
        }
        if !self.pending.contains_key(&key) {
            if self.pending.len() >= MAX_PENDING {
                self.expire(now);
            }
            if self.pending.len() >= MAX_PENDING {
                self.stats.dropped_limit += 1;
                return None;
            }
            self.pending.insert(
                key,
                Pending {
                    first_seen: now,
                    pieces: Vec::new(),
                    total: None,
                    bytes: 0,
                },
            );
        }
        let entry = self.pending.get_mut(&key)?;
        let duplicate = entry
            .pieces
            .iter()
            .any(|(o, d)| *o == f.offset && d.as_slice() == f.data)
            && (f.more || entry.total == Some(end));
        if duplicate {
            self.stats.duplicates += 1;
            return None;
        }
        let overlaps = entry
            .pieces
            .iter()
            .any(|(o, d)| f.offset < o + d.len() as u32 && *o < end);
        let too_many =
            entry.pieces.len() >= MAX_PIECES || self.held + f.data.len() > MAX_HELD_BYTES;
        if overlaps || too_many || (!f.more && entry.total.is_some()) {
            if overlaps || !f.more {
                self.stats.dropped_overlap += 1;
            } else {
                self.stats.dropped_limit += 1;
            }
            let pending = self.remove(&key)?;
            let head = pending
                .head()
                .or_else(|| (f.offset == 0).then(|| f.data.to_vec()));
            return self.partial(key, head, pending.first_seen);
        }
        if !f.more {
            entry.total = Some(end);
        }
        entry.pieces.push((f.offset, f.data.to_vec()));
        entry.bytes += f.data.len();
        self.held += f.data.len();
        let total = entry.total?;
        if entry.bytes != total as usize {
            return None;
        }
        let mut pending = self.remove(&key)?;
        pending.pieces.sort_unstable_by_key(|(o, _)| *o);
        let mut data = Vec::with_capacity(total as usize);
        for (offset, piece) in pending.pieces {
            if offset as usize != data.len() {
                return None;
            }
            data.extend_from_slice(&piece);
        }
        self.stats.reassembled += 1;
        Some(Datagram {
            src: f.src,
            dst: f.dst,
            proto: f.proto,
            data,
            complete: true,
            first_seen: pending.first_seen,
        })
    }

    /// Drop datagrams older than [`TIMEOUT_NS`]; their first fragments wait in
    /// [`Defrag::take_stale`].
    pub fn expire(&mut self, now: Timestamp) {
        self.expire_where(|p| now.since(p.first_seen) >= TIMEOUT_NS);
    }

    /// The input ended: give up on every pending datagram (first fragments go to
    /// [`Defrag::take_stale`]).
    pub fn expire_all(&mut self) {
        self.expire_where(|_| true);
    }

    /// The next first fragment of a datagram that expired unfinished.
    pub fn take_stale(&mut self) -> Option<Datagram> {
        self.stale.pop()
    }

    fn expire_where(&mut self, mut stale: impl FnMut(&Pending) -> bool) {
        let before = self.pending.len();
        let mut freed = 0;
        let held_before = self.stale.len();
        let mut heads = std::mem::take(&mut self.stale);
        self.pending.retain(|key, p| {
            if !stale(p) {
                return true;
            }
            freed += p.bytes;
            if heads.len() < MAX_PENDING
                && let Some(data) = p.head()
            {
                heads.push(Datagram {
                    src: key.src,
                    dst: key.dst,
                    proto: key.proto,
                    data,
                    complete: false,
                    first_seen: p.first_seen,
                });
            }
            false
        });
        // Oldest first once popped.
        heads.sort_by_key(|d| std::cmp::Reverse(d.first_seen));
        self.stats.partial += (heads.len() - held_before) as u64;
        self.stale = heads;
        self.held -= freed;
        self.stats.timed_out += (before - self.pending.len()) as u64;
    }

    fn partial(
        &mut self,
        key: Key,
        head: Option<Vec<u8>>,
        first_seen: Timestamp,
    ) -> Option<Datagram> {
        let data = head?;
        self.stats.partial += 1;
        Some(Datagram {
            src: key.src,
            dst: key.dst,
            proto: key.proto,
            data,
            complete: false,
            first_seen,
        })
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn remove(&mut self, key: &Key) -> Option<Pending> {
        let p = self.pending.remove(key)?;
        self.held -= p.bytes;
        Some(p)
    }
}

impl Pending {
    /// A copy of the piece at offset 0, which holds the transport header.
    fn head(&self) -> Option<Vec<u8>> {
        self.pieces
            .iter()
            .find(|(o, _)| *o == 0)
            .map(|(_, d)| d.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(offset: u32, more: bool, data: &[u8]) -> FragmentView<'_> {
        FragmentView {
            src: [10, 0, 0, 1].into(),
            dst: [10, 0, 0, 2].into(),
            proto: IpProto::UDP,
            id: 7,
            offset,
            more,
            data,
        }
    }

    #[test]
    fn reassembles_out_of_order() {
        let mut d = Defrag::default();
        let t = Timestamp(0);
        assert!(d.push(&frag(16, false, b"tail"), t).is_none());
        assert!(d.push(&frag(8, true, b"middle!!"), t).is_none());
        let got = d.push(&frag(0, true, b"head....."[..8].as_ref()), t);
        assert_eq!(got.map(|g| g.data), Some(b"head....middle!!tail".to_vec()));
        assert_eq!(d.pending(), 0);
        assert_eq!(d.held, 0);
    }

    #[test]
    fn overlap_drops_the_datagram() {
        let mut d = Defrag::default();
        let t = Timestamp(0);
        d.push(&frag(0, true, &[1; 16]), t);
        // The datagram is dropped; its first fragment comes back alone.
        let head = d.push(&frag(8, false, &[2; 16]), t);
        assert_eq!(
            head.map(|h| (h.complete, h.data)),
            Some((false, vec![1; 16]))
        );
        assert_eq!(d.stats.dropped_overlap, 1);
        assert_eq!(d.stats.partial, 1);
        assert_eq!(d.pending(), 0);
        assert_eq!(d.held, 0);
        // Without a first fragment nothing comes back.
        d.push(&frag(16, true, &[1; 16]), t);
        assert!(d.push(&frag(24, false, &[2; 16]), t).is_none());
    }

    #[test]
    fn exact_duplicate_is_ignored() {
        let mut d = Defrag::default();
        let t = Timestamp(0);
        assert!(d.push(&frag(0, true, &[1; 8]), t).is_none());
        assert!(d.push(&frag(0, true, &[1; 8]), t).is_none());
        assert_eq!(d.stats.duplicates, 1);
        let got = d.push(&frag(8, false, &[2; 8]), t);
        assert_eq!(got.map(|g| (g.complete, g.data.len())), Some((true, 16)));
        // A different payload at the same offset is an overlap.
        d.push(&frag(0, true, &[1; 8]), t);
        let head = d.push(&frag(0, true, &[3; 8]), t);
        assert_eq!(head.map(|h| h.data), Some(vec![1; 8]));
    }

    #[test]
    fn unfinished_datagrams_leave_their_first_fragment() {
        let mut d = Defrag::default();
        d.push(&frag(0, true, b"header.."), Timestamp(5));
        let mut other = frag(8, true, b"middle..");
        other.id = 8;
        d.push(&other, Timestamp(6));
        d.expire(Timestamp(TIMEOUT_NS));
        assert!(d.take_stale().is_none());
        d.expire(Timestamp(TIMEOUT_NS + 5));
        let head = d.take_stale();
        assert_eq!(
            head.map(|h| (h.complete, h.first_seen, h.data)),
            Some((false, Timestamp(5), b"header..".to_vec()))
        );
        assert_eq!(d.pending(), 1);
        // End of input: everything goes, but only first fragments come back.
        d.expire_all();
        assert!(d.take_stale().is_none());
        assert_eq!((d.pending(), d.held), (0, 0));
        assert_eq!(d.stats.timed_out, 2);
        assert_eq!(d.stats.partial, 1);
    }

    #[test]
    fn pending_is_bounded_and_expires() {
        let mut d = Defrag::default();
        for id in 0..(MAX_PENDING as u32 + 10) {
            let mut f = frag(0, true, &[0; 8]);
            f.id = id;
            d.push(&f, Timestamp(0));
        }
        assert_eq!(d.pending(), MAX_PENDING);
        assert_eq!(d.stats.dropped_limit, 10);
        d.expire(Timestamp(TIMEOUT_NS));
        assert_eq!(d.pending(), 0);
        assert_eq!(d.held, 0);
    }

    #[test]
    fn oversized_datagram_rejected() {
        let mut d = Defrag::default();
        assert!(
            d.push(&frag(65_528, false, &[0; 16]), Timestamp(0))
                .is_none()
        );
        assert_eq!(d.stats.dropped_limit, 1);
    }
}
