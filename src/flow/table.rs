//! The flow table: a slab of flows indexed by key, with one least-recently-seen list per
//! timeout class so idle expiry and eviction are O(1) per flow.
//!
//! The index holds only slot numbers (4 bytes and a control byte per bucket) and hashes the
//! key stored in the slot: a map from key to slot would store every key a second time.

use super::slab::Slab;
use super::{EndReason, Flow, Inspection};
use crate::model::{Endpoint, FlowKey, IpProto, Timestamp};
use hashbrown::HashTable;
use std::hash::BuildHasher;

const NIL: u32 = u32::MAX;

/// Timeout classes, each with its own least-recently-seen list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Tcp = 0,
    Udp = 1,
    Other = 2,
    /// TCP after FIN both ways or RST: kept briefly for the last ACKs.
    Closed = 3,
}
const CLASSES: usize = 4;

/// Position of a flow in its class list (the class is a field of its own in [`Flow`], where
/// it fills padding instead of making this 12 bytes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Links {
    prev: u32,
    next: u32,
}

impl Default for Links {
    fn default() -> Self {
        Links {
            prev: NIL,
            next: NIL,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct List {
    head: u32,
    tail: u32,
}

/// Timeouts and bounds. Defaults follow Zeek's inactivity timeouts.
#[derive(Clone, Copy, Debug)]
pub struct FlowConfig {
    pub tcp_timeout_ns: u64,
    pub udp_timeout_ns: u64,
    pub other_timeout_ns: u64,
    /// How long a closed TCP flow stays after its last packet, so late ACKs and
    /// retransmitted FINs join it instead of starting a nameless flow of their own.
    pub closed_linger_ns: u64,
    /// Hard cap on live flows; the least recently seen flow is evicted beyond it.
    pub max_flows: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        let s = Timestamp::NANOS_PER_SEC;
        FlowConfig {
            tcp_timeout_ns: 300 * s,
            udp_timeout_ns: 120 * s,
            other_timeout_ns: 60 * s,
            // Linux keeps a closed connection in TIME_WAIT this long (TCP_TIMEWAIT_LEN);
            // peers retransmit FINs over tens of seconds.
            closed_linger_ns: 60 * s,
            max_flows: 1_000_000,
        }
    }
}

/// Counters of the table's life.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct TableStats {
    pub created: u64,
    pub expired_idle: u64,
    pub closed: u64,
    pub evicted: u64,
    pub max_live: u64,
}

impl TableStats {
    /// A flow was created; `live` flows are now in the table.
    pub fn created(&mut self, live: u64) {
        self.created += 1;
        self.max_live = self.max_live.max(live);
    }

    /// A flow left the table for `reason`.
    pub fn ended(&mut self, reason: EndReason) {
        match reason {
            EndReason::Idle => self.expired_idle += 1,
            EndReason::Closed => self.closed += 1,
            EndReason::Evicted => self.evicted += 1,
            EndReason::EndOfInput => {}
        }
    }
}

/// Keys are canonical (direction-free) already, so a plain hash of the key serves both ways.
fn hash_key(key: &FlowKey) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(key)
}

/// The hash of the flow in `slot` (for the index's rehashing; every indexed slot is live).
fn slot_hash(slots: &Slab<Flow>, slot: u32) -> u64 {
    slots
        .get(slot as usize)
        .and_then(Option::as_ref)
        .map_or(0, |f| hash_key(&f.key))
}

pub struct FlowTable {
    /// Slot numbers, hashed by the key of the flow in the slot.
    index: HashTable<u32>,
    slots: Slab<Flow>,
    free: Vec<u32>,
    lists: [List; CLASSES],
    config: FlowConfig,
    next_id: u64,
    /// Slots still to report while draining, newest first; the slot number is in the low 32
    /// bits (see [`FlowTable::drain_order`]).
    draining: Vec<u64>,
    pub stats: TableStats,
}

impl FlowTable {
    pub fn new(config: FlowConfig) -> Self {
        FlowTable {
            index: HashTable::new(),
            slots: Slab::default(),
            free: Vec::new(),
            lists: [List {
                head: NIL,
                tail: NIL,
            }; CLASSES],
            config,
            next_id: 0,
            draining: Vec::new(),
            stats: TableStats::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn get(&self, key: &FlowKey) -> Option<u32> {
        let holds_key = |i: u32| self.flow(i).is_some_and(|f| f.key == *key);
        // Packets of one flow often follow each other: the flow seen last heads its list.
        let head = self.lists[class_of(key.proto) as usize].head;
        if holds_key(head) {
            return Some(head);
        }
        self.index.find(hash_key(key), |&i| holds_key(i)).copied()
    }

    pub fn flow(&self, idx: u32) -> Option<&Flow> {
        self.slots.get(idx as usize)?.as_ref()
    }

    pub fn flow_mut(&mut self, idx: u32) -> Option<&mut Flow> {
        self.slots.get_mut(idx as usize)?.as_mut()
    }

    /// Live flows in no particular order (for snapshots).
    pub fn iter(&self) -> impl Iterator<Item = &Flow> {
        self.slots.iter().flatten()
    }

    /// Create a flow; evicts the least recently seen flow when the table is full. `client`
    /// and `server` are the two endpoints of `key`.
    pub fn insert(
        &mut self,
        key: FlowKey,
        client: Endpoint,
        server: Endpoint,
        now: Timestamp,
        finished: &mut impl FnMut(Flow, EndReason),
    ) -> u32 {
        if self.index.len() >= self.config.max_flows.max(1)
            && let Some(victim) = self.oldest()
        {
            self.finish(victim, EndReason::Evicted, finished);
        }
        let flow = Flow {
            key,
            client_is_lo: client == key.lo && server == key.hi,
            id: self.next_id,
            first_seen: now,
            last_seen: now,
            packets: [0; 2],
            bytes: [0; 2],
            tcp_flags: [0; 2],
            dns_name: None,
            source: 0,
            facts: None,
            inspection: Inspection::for_proto(key.proto),
            lru: Links::default(),
            lru_class: Class::Other,
        };
        self.next_id += 1;
        let idx = match self.free.pop() {
            Some(i) => {
                if let Some(slot) = self.slots.get_mut(i as usize) {
                    *slot = Some(flow);
                }
                i
            }
            None => self.slots.push(Some(flow)) as u32,
        };
        let slots = &self.slots;
        self.index
            .insert_unique(hash_key(&key), idx, |&i| slot_hash(slots, i));
        self.link_front(idx, class_of(key.proto));
        self.stats.created(self.index.len() as u64);
        idx
    }

    /// Mark a flow as just seen: it moves to the front of its (possibly new) class list.
    pub fn touch(&mut self, idx: u32) {
        let Some(flow) = self.flow(idx) else { return };
        let class = if flow.key.proto == IpProto::TCP && flow.tcp_closed() {
            Class::Closed
        } else {
            class_of(flow.key.proto)
        };
        if self.lists[class as usize].head == idx {
            return;
        }
        self.unlink(idx);
        self.link_front(idx, class);
    }

    /// Report and remove flows idle for longer than their class's timeout.
    pub fn expire(&mut self, now: Timestamp, finished: &mut impl FnMut(Flow, EndReason)) {
        for class in [Class::Tcp, Class::Udp, Class::Other, Class::Closed] {
            let timeout = self.timeout(class);
            loop {
                let tail = self.lists[class as usize].tail;
                let Some(flow) = self.flow(tail) else { break };
                if now.since(flow.last_seen) <= timeout {
                    break;
                }
                let reason = if class == Class::Closed {
                    EndReason::Closed
                } else {
                    EndReason::Idle
                };
                self.finish(tail, reason, finished);
            }
        }
    }

    /// Remove one flow and report it.
    pub fn finish(
        &mut self,
        idx: u32,
        reason: EndReason,
        finished: &mut impl FnMut(Flow, EndReason),
    ) {
        self.unlink(idx);
        let Some(mut flow) = self.slots.get_mut(idx as usize).and_then(Option::take) else {
            return;
        };
        flow.leave_inspection();
        if let Ok(entry) = self.index.find_entry(hash_key(&flow.key), |&i| i == idx) {
            entry.remove();
        }
        self.free.push(idx);
        self.stats.ended(reason);
        finished(flow, reason);
    }

    /// Report every remaining flow, in the order they were first seen.
    pub fn drain(&mut self, finished: &mut impl FnMut(Flow, EndReason)) {
        while self.drain_some(usize::MAX, finished) {}
    }

    /// Report up to `max` of the remaining flows, oldest first; false once the table is
    /// empty. Reporting in batches keeps the end of a big capture from holding every flow
    /// twice (in the table and in the caller's queue). Only for the end of input: the first
    /// call empties the lookup index, so no packet may be ingested until it returns false.
    pub fn drain_some(&mut self, max: usize, finished: &mut impl FnMut(Flow, EndReason)) -> bool {
        if self.draining.is_empty() {
            if self.index.is_empty() {
                return false;
            }
            // Every flow goes now: drop the lookup structures at once instead of per flow
            // (before the drain order is built, so the two are never held together).
            self.index = HashTable::new();
            self.free = Vec::new();
            self.lists = [List {
                head: NIL,
                tail: NIL,
            }; CLASSES];
            self.draining = self.drain_order();
        }
        for _ in 0..max {
            let Some(idx) = self.draining.pop().map(|v| v as u32) else {
                break;
            };
            if let Some(mut flow) = self.slots.get_mut(idx as usize).and_then(Option::take) {
                flow.leave_inspection();
                finished(flow, EndReason::EndOfInput);
            }
        }
        if self.draining.is_empty() {
            self.slots = Slab::default();
            self.draining = Vec::new();
            return false;
        }
        true
    }

    /// Live slots by descending flow id (`pop` yields the oldest flow), one `u64` each: the
    /// id's offset from the oldest live id in the high half, the slot in the low half, so
    /// a plain integer sort orders them without touching the flows again.
    fn drain_order(&self) -> Vec<u64> {
        let live = || {
            self.slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.as_ref().map(|f| (f.id, i as u32)))
        };
        let oldest = live().map(|(id, _)| id).min().unwrap_or(0);
        let mut order: Vec<u64>;
        if self.next_id - oldest <= u64::from(u32::MAX) {
            order = live()
                .map(|(id, slot)| (id - oldest) << 32 | u64::from(slot))
                .collect();
            order.sort_unstable_by(|a, b| b.cmp(a));
        } else {
            // Ids more than 2^32 apart (an endless live capture): sort by the ids themselves.
            let id = |slot: u64| self.flow(slot as u32).map_or(0, |f| f.id);
            order = live().map(|(_, slot)| u64::from(slot)).collect();
            order.sort_unstable_by_key(|&slot| std::cmp::Reverse(id(slot)));
        }
        order
    }

    fn timeout(&self, class: Class) -> u64 {
        match class {
            Class::Tcp => self.config.tcp_timeout_ns,
            Class::Udp => self.config.udp_timeout_ns,
            Class::Other => self.config.other_timeout_ns,
            Class::Closed => self.config.closed_linger_ns,
        }
    }

    /// The least recently seen flow over all classes.
    fn oldest(&self) -> Option<u32> {
        self.lists
            .iter()
            .filter_map(|l| self.flow(l.tail).map(|f| (f.last_seen, l.tail)))
            .min()
            .map(|(_, idx)| idx)
    }

    fn link_front(&mut self, idx: u32, class: Class) {
        let head = self.lists[class as usize].head;
        if let Some(f) = self.flow_mut(idx) {
            f.lru = Links {
                prev: NIL,
                next: head,
            };
            f.lru_class = class;
        }
        if let Some(h) = self.flow_mut(head) {
            h.lru.prev = idx;
        }
        let list = &mut self.lists[class as usize];
        list.head = idx;
        if list.tail == NIL {
            list.tail = idx;
        }
    }

    fn unlink(&mut self, idx: u32) {
        let Some((links, class)) = self.flow(idx).map(|f| (f.lru, f.lru_class)) else {
            return;
        };
        match self.flow_mut(links.prev) {
            Some(p) => p.lru.next = links.next,
            None => self.lists[class as usize].head = links.next,
        }
        match self.flow_mut(links.next) {
            Some(n) => n.lru.prev = links.prev,
            None => self.lists[class as usize].tail = links.prev,
        }
    }
}

fn class_of(proto: IpProto) -> Class {
    match proto {
        IpProto::TCP => Class::Tcp,
        IpProto::UDP => Class::Udp,
        _ => Class::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16) -> (FlowKey, Endpoint, Endpoint) {
        let a = Endpoint::new([10, 0, 0, 1].into(), port);
        let b = Endpoint::new([10, 0, 0, 2].into(), 53);
        (FlowKey::new(IpProto::UDP, a, b).0, a, b)
    }

    fn seen(t: &mut FlowTable, idx: u32, at: u64) {
        if let Some(f) = t.flow_mut(idx) {
            f.last_seen = Timestamp(at);
        }
        t.touch(idx);
    }

    #[test]
    fn idle_flows_expire_in_lru_order() {
        let mut t = FlowTable::new(FlowConfig {
            udp_timeout_ns: 10,
            ..Default::default()
        });
        let mut out = Vec::new();
        let mut sink = |f: Flow, r| out.push((f.client().port, r));
        for p in 1..=3 {
            let (k, a, b) = key(p);
            let i = t.insert(k, a, b, Timestamp(u64::from(p)), &mut sink);
            seen(&mut t, i, u64::from(p));
        }
        // Flow 1 is seen again late: it must outlive flow 2.
        let i1 = t.get(&key(1).0).unwrap_or(NIL);
        seen(&mut t, i1, 8);
        t.expire(Timestamp(14), &mut sink);
        assert_eq!(out, vec![(2, EndReason::Idle), (3, EndReason::Idle)]);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn closed_tcp_flow_lingers_for_late_retransmissions() {
        let mut t = FlowTable::new(FlowConfig::default());
        let mut out = Vec::new();
        let (a, b) = (key(1).1, key(1).2);
        let k = FlowKey::new(IpProto::TCP, a, b).0;
        let i = t.insert(k, a, b, Timestamp(0), &mut |_, r| out.push(r));
        if let Some(f) = t.flow_mut(i) {
            f.tcp_flags = [0x11, 0x11];
        }
        seen(&mut t, i, 0);
        // A FIN retransmitted 30 s later still finds the flow.
        t.expire(Timestamp::from_secs(30), &mut |_, r| out.push(r));
        assert_eq!(t.get(&k), Some(i));
        seen(&mut t, i, Timestamp::from_secs(30).0);
        t.expire(Timestamp::from_secs(89), &mut |_, r| out.push(r));
        assert!(out.is_empty());
        t.expire(Timestamp::from_secs(91), &mut |_, r| out.push(r));
        assert_eq!(out, vec![EndReason::Closed]);
    }

    #[test]
    fn cap_evicts_least_recent() {
        let mut t = FlowTable::new(FlowConfig {
            max_flows: 2,
            ..Default::default()
        });
        let mut out = Vec::new();
        let mut sink = |f: Flow, r| out.push((f.client().port, r));
        for p in 1..=3 {
            let (k, a, b) = key(p);
            let i = t.insert(k, a, b, Timestamp(u64::from(p)), &mut sink);
            seen(&mut t, i, u64::from(p));
        }
        assert_eq!(out, vec![(1, EndReason::Evicted)]);
        assert_eq!(t.stats.evicted, 1);
        assert_eq!(t.len(), 2);
        let mut rest = Vec::new();
        t.drain(&mut |f: Flow, _| rest.push(f.client().port));
        assert_eq!(rest, vec![2, 3]);
    }

    #[test]
    fn drain_reports_in_id_order_even_for_far_apart_ids() {
        for far in [false, true] {
            let mut t = FlowTable::new(FlowConfig {
                max_flows: 3,
                ..Default::default()
            });
            let mut sink = |_: Flow, _| {};
            // Slot reuse after an eviction puts a newer flow in an older slot.
            for p in 1..=4 {
                let (k, a, b) = key(p);
                let i = t.insert(k, a, b, Timestamp(u64::from(p)), &mut sink);
                seen(&mut t, i, u64::from(p));
                if far && p == 4 {
                    t.next_id = u64::from(u32::MAX) * 3;
                    if let Some(f) = t.flow_mut(i) {
                        f.id = u64::from(u32::MAX) * 2;
                    }
                }
            }
            let mut rest = Vec::new();
            t.drain(&mut |f: Flow, _| rest.push(f.client().port));
            assert_eq!(rest, vec![2, 3, 4], "far ids: {far}");
        }
    }

    #[test]
    fn slots_are_reused() {
        let mut t = FlowTable::new(FlowConfig {
            udp_timeout_ns: 0,
            ..Default::default()
        });
        let mut sink = |_: Flow, _| {};
        for p in 0..100u16 {
            let (k, a, b) = key(p);
            t.insert(k, a, b, Timestamp(u64::from(p)), &mut sink);
            t.expire(Timestamp(u64::from(p) + 1), &mut sink);
        }
        assert!(t.slots.len() <= 2);
    }
}
