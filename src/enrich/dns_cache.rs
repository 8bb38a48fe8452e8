//! Address → name cache fed by DNS answers, so a flow to `13.35.1.2` can be reported as a
//! flow to `www.zoom.us`. Time is capture time (no wall clock), so replays are
//! deterministic.
//!
//! References: RFC 1035 §3.2.1 and RFC 2181 §8 (TTL), RFC 8767 §4 (capping cache TTLs).

use crate::model::Timestamp;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

/// A name shared by the cache and every flow it named: a thin pointer (8 bytes in each
/// `Flow`, where `Arc<str>` would take 16).
pub type SharedName = Arc<Box<str>>;

/// Entries kept by [`DnsCache::new`]: ~65 k addresses cost a few MiB and cover hours of a
/// busy office link.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// Shortest lifetime given to an entry. Clients keep using addresses past their TTL:
/// stub resolvers and browsers enforce their own minimums (Chrome ~60 s), apps reuse open
/// connections and connection pools for minutes, and Happy Eyeballs or retries connect
/// again after the record expired. A 5-second CDN TTL must not leave the flow that
/// follows it nameless.
pub const MIN_TTL_SECS: u32 = 60;

/// Longest lifetime given to an entry. TTLs may be up to 2^31 − 1 s (RFC 2181 §8) and
/// RFC 8767 §4 suggests capping caches at 7 days; we cap at one day because CDN and cloud
/// addresses are reassigned to other names, and a stale name is worse than none.
pub const MAX_TTL_SECS: u32 = 86_400;

#[derive(Clone, Debug)]
struct Entry {
    name: SharedName,
    expires: Timestamp,
    /// Matches the newest item for this address in `DnsCache::order`.
    seq: u64,
}

/// Counters a report can show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsCacheStats {
    pub inserts: u64,
    /// Live entries pushed out because the cache was full.
    pub evictions: u64,
    /// Expired entries removed to make room.
    pub expired_removed: u64,
}

/// Address → name with expiry. O(1) lookups (FxHashMap); a full cache first drops expired
/// entries, then the entry inserted or refreshed longest ago.
///
/// Names are stored lowercase (DNS names are case-insensitive, RFC 4343; clients using
/// 0x20 randomization send mixed case) and shared: consecutive inserts of the same name,
/// as the addresses of one answer are, share one allocation.
#[derive(Clone, Debug)]
pub struct DnsCache {
    map: FxHashMap<IpAddr, Entry>,
    /// Insertion order for eviction. Items whose `seq` no longer matches the map are stale
    /// (the address was refreshed or removed) and are skipped or compacted away.
    order: VecDeque<(IpAddr, u64)>,
    capacity: usize,
    next_seq: u64,
    last_name: Option<SharedName>,
    last_purge: Option<Timestamp>,
    stats: DnsCacheStats,
    /// Recording mode: inserts are kept here, in order, instead of being applied.
    recorded: Option<Vec<Learned>>,
}

/// One DNS answer as given to [`DnsCache::insert`], kept by a recording cache so another
/// thread can apply it to the one real cache in capture order.
#[derive(Clone, Debug)]
pub struct Learned {
    pub ip: IpAddr,
    pub name: Box<str>,
    pub ttl_secs: u32,
    pub at: Timestamp,
}

impl Default for DnsCache {
    fn default() -> Self {
        DnsCache::new()
    }
}

impl DnsCache {
    /// A cache of [`DEFAULT_CAPACITY`] entries.
    pub fn new() -> DnsCache {
        DnsCache::with_capacity(DEFAULT_CAPACITY)
    }

    /// A cache holding at most `capacity` addresses (at least one).
    pub fn with_capacity(capacity: usize) -> DnsCache {
        let capacity = capacity.max(1);
        DnsCache {
            map: FxHashMap::default(),
            order: VecDeque::new(),
            capacity,
            next_seq: 0,
            last_name: None,
            last_purge: None,
            stats: DnsCacheStats::default(),
            recorded: None,
        }
    }

    /// A cache that answers no lookup and only records its inserts (see
    /// [`take_recorded`](Self::take_recorded)): a flow-table shard uses it, and one cache
    /// elsewhere applies the answers of every shard in capture order.
    pub fn recording() -> DnsCache {
        DnsCache {
            recorded: Some(Vec::new()),
            ..DnsCache::with_capacity(1)
        }
    }

    /// The inserts recorded since the last call, oldest first (none unless recording).
    pub fn take_recorded(&mut self, into: &mut Vec<Learned>) {
        if let Some(r) = self.recorded.as_mut() {
            into.append(r);
        }
    }

    /// Remember that `ip` answered for `name` at capture time `now`, for `ttl_secs`
    /// clamped to [`MIN_TTL_SECS`]..=[`MAX_TTL_SECS`]. The newest name for an address wins
    /// (a CDN address serves many names; the latest answer is the best guess).
    pub fn insert(&mut self, ip: IpAddr, name: &str, ttl_secs: u32, now: Timestamp) {
        if let Some(r) = self.recorded.as_mut() {
            r.push(Learned {
                ip,
                name: name.into(),
                ttl_secs,
                at: now,
            });
            return;
        }
        let ttl = u64::from(ttl_secs.clamp(MIN_TTL_SECS, MAX_TTL_SECS));
        let mut expires = Timestamp(now.0.saturating_add(ttl * Timestamp::NANOS_PER_SEC));
        let name = self.shared_name(ip, name);
        if let Some(old) = self.map.get(&ip)
            && old.name == name
        {
            // The same answer again: clients may still hold the earlier, longer one.
            expires = expires.max(old.expires);
        } else if !self.map.contains_key(&ip) && self.map.len() >= self.capacity {
            self.make_room(now);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.map.insert(ip, Entry { name, expires, seq });
        self.order.push_back((ip, seq));
        self.stats.inserts += 1;
        // Refreshes leave stale order items behind; compacting when they outnumber live
        // entries keeps `order` within twice the capacity at amortized O(1) per insert.
        if self.order.len() > 2 * self.capacity {
            let map = &self.map;
            self.order
                .retain(|(ip, seq)| map.get(ip).is_some_and(|e| e.seq == *seq));
        }
    }

    /// The name `ip` answered for, unless its entry expired before `now`.
    pub fn lookup(&self, ip: IpAddr, now: Timestamp) -> Option<&str> {
        self.live(ip, now).map(|e| &**e.name)
    }

    /// Like [`lookup`](Self::lookup), sharing the stored name instead of borrowing it.
    pub fn lookup_shared(&self, ip: IpAddr, now: Timestamp) -> Option<SharedName> {
        self.live(ip, now).map(|e| Arc::clone(&e.name))
    }

    /// Drop every entry expired at `now`; returns how many were dropped.
    pub fn purge_expired(&mut self, now: Timestamp) -> usize {
        let before = self.map.len();
        self.map.retain(|_, e| now < e.expires);
        let map = &self.map;
        self.order
            .retain(|(ip, seq)| map.get(ip).is_some_and(|e| e.seq == *seq));
        self.last_purge = Some(now);
        let removed = before - self.map.len();
        self.stats.expired_removed += removed as u64;
        removed
    }

    /// Addresses held, expired ones not yet dropped included.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Live entries pushed out because the cache was full.
    pub fn evictions(&self) -> u64 {
        self.stats.evictions
    }

    pub fn stats(&self) -> DnsCacheStats {
        self.stats
    }

    fn live(&self, ip: IpAddr, now: Timestamp) -> Option<&Entry> {
        self.map.get(&ip).filter(|e| now < e.expires)
    }

    /// The lowercase name as a shared string, reusing the address's current name or the
    /// previous insert's name when equal.
    fn shared_name(&mut self, ip: IpAddr, name: &str) -> SharedName {
        let lower;
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            lower = name.to_ascii_lowercase();
            lower.as_str()
        } else {
            name
        };
        let reuse = self
            .map
            .get(&ip)
            .map(|e| &e.name)
            .into_iter()
            .chain(self.last_name.as_ref())
            .find(|n| &****n == name)
            .cloned();
        let shared = reuse.unwrap_or_else(|| Arc::new(Box::from(name)));
        self.last_name = Some(Arc::clone(&shared));
        shared
    }

    /// Free one slot: drop expired entries (at most once per [`MIN_TTL_SECS`] of capture
    /// time, so a cache full of live entries does not rescan on every insert), then evict
    /// the oldest live entry if still full.
    fn make_room(&mut self, now: Timestamp) {
        let rescan_after = u64::from(MIN_TTL_SECS) * Timestamp::NANOS_PER_SEC;
        if self.last_purge.is_none_or(|t| now.since(t) >= rescan_after) {
            self.purge_expired(now);
        }
        while self.map.len() >= self.capacity {
            let Some((ip, seq)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&ip).is_some_and(|e| e.seq == seq) {
                self.map.remove(&ip);
                self.stats.evictions += 1;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    fn at(secs: u64) -> Timestamp {
        Timestamp::from_secs(1_700_000_000 + secs)
    }

    #[test]
    fn entries_expire_in_capture_time() {
        let mut c = DnsCache::new();
        c.insert(ip(1), "www.zoom.us", 300, at(0));
        assert_eq!(c.lookup(ip(1), at(0)), Some("www.zoom.us"));
        assert_eq!(
            c.lookup(ip(1), Timestamp(at(300).0 - 1)),
            Some("www.zoom.us")
        );
        assert_eq!(c.lookup(ip(1), at(300)), None);
        assert_eq!(c.lookup(ip(2), at(0)), None);
    }

    #[test]
    fn ttl_is_floored_and_capped() {
        let mut c = DnsCache::new();
        c.insert(ip(1), "short.example", 0, at(0));
        c.insert(ip(2), "long.example", u32::MAX, at(0));
        assert_eq!(c.lookup(ip(1), at(59)), Some("short.example"));
        assert_eq!(c.lookup(ip(1), at(60)), None);
        assert!(c.lookup(ip(2), at(86_399)).is_some());
        assert_eq!(c.lookup(ip(2), at(86_400)), None);
    }

    #[test]
    fn newest_name_wins_and_same_answer_keeps_longer_expiry() {
        let mut c = DnsCache::new();
        c.insert(ip(1), "a.example", 600, at(0));
        c.insert(ip(1), "a.example", 60, at(10));
        assert_eq!(c.lookup(ip(1), at(500)), Some("a.example"));
        c.insert(ip(1), "b.example", 60, at(510));
        assert_eq!(c.lookup(ip(1), at(520)), Some("b.example"));
        assert_eq!(c.lookup(ip(1), at(570)), None);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn names_are_lowercased_and_shared() {
        let mut c = DnsCache::new();
        c.insert(ip(1), "WwW.Zoom.US", 60, at(0));
        c.insert(ip(2), "www.zoom.us", 60, at(0));
        let a = c.lookup_shared(ip(1), at(1)).unwrap();
        let b = c.lookup_shared(ip(2), at(1)).unwrap();
        assert_eq!(&**a, "www.zoom.us");
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn full_cache_evicts_the_oldest_live_entry() {
        let mut c = DnsCache::with_capacity(3);
        for i in 1..=3 {
            c.insert(ip(i), &format!("n{i}.example"), 3600, at(u64::from(i)));
        }
        // Refreshing 1 makes 2 the oldest.
        c.insert(ip(1), "n1.example", 3600, at(4));
        c.insert(ip(4), "n4.example", 3600, at(5));
        assert_eq!(c.len(), 3);
        assert_eq!(c.evictions(), 1);
        assert_eq!(c.lookup(ip(2), at(6)), None);
        for i in [1, 3, 4] {
            assert!(c.lookup(ip(i), at(6)).is_some(), "{i}");
        }
    }

    #[test]
    fn full_cache_drops_expired_entries_before_live_ones() {
        let mut c = DnsCache::with_capacity(2);
        c.insert(ip(1), "old.example", 60, at(0));
        c.insert(ip(2), "live.example", 3600, at(100));
        c.insert(ip(3), "new.example", 3600, at(100));
        assert_eq!(c.evictions(), 0);
        assert_eq!(c.stats().expired_removed, 1);
        assert!(c.lookup(ip(2), at(101)).is_some());
        assert!(c.lookup(ip(3), at(101)).is_some());
    }

    #[test]
    fn refreshes_do_not_grow_the_order_queue() {
        let mut c = DnsCache::with_capacity(4);
        for t in 0..10_000 {
            c.insert(ip(1), "hot.example", 60, at(t));
        }
        assert!(c.order.len() <= 2 * c.capacity());
        assert_eq!(c.len(), 1);
        assert_eq!(c.stats().inserts, 10_000);
    }

    #[test]
    fn recording_cache_keeps_inserts_in_order_and_answers_nothing() {
        let mut c = DnsCache::recording();
        c.insert(ip(1), "A.example", 30, at(0));
        c.insert(ip(2), "b.example", 600, at(1));
        assert_eq!(c.lookup(ip(1), at(0)), None);
        let mut got = Vec::new();
        c.take_recorded(&mut got);
        let seen: Vec<_> = got
            .iter()
            .map(|l| (l.ip, &*l.name, l.ttl_secs, l.at))
            .collect();
        assert_eq!(
            seen,
            vec![
                (ip(1), "A.example", 30, at(0)),
                (ip(2), "b.example", 600, at(1))
            ]
        );
        c.take_recorded(&mut got);
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn zero_capacity_still_holds_one() {
        let mut c = DnsCache::with_capacity(0);
        c.insert(ip(1), "a", 60, at(0));
        c.insert(ip(2), "b", 60, at(0));
        assert_eq!((c.capacity(), c.len()), (1, 1));
        assert_eq!(c.lookup(ip(2), at(0)), Some("b"));
    }

    proptest! {
        #[test]
        fn stays_bounded_and_consistent(
            ops in proptest::collection::vec((0u8..16, 0u32..200, 0u64..30), 0..300),
        ) {
            let mut c = DnsCache::with_capacity(5);
            let mut now = 0;
            for (last, ttl, step) in ops {
                now += step;
                c.insert(ip(last), &format!("h{last}"), ttl, at(now));
                prop_assert!(c.len() <= 5);
                prop_assert!(c.order.len() <= 10);
                let expected = format!("h{last}");
                prop_assert_eq!(c.lookup(ip(last), at(now)), Some(expected.as_str()));
            }
        }
    }
}
