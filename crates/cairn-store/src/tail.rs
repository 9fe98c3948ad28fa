//! The in-memory tail of event history: events applied from the journal since the last flush to Parquet.
//!
//! Each (account, region, category) partition keeps its events ordered by (eventTime, journal sequence) and one
//! ordered index per lookup attribute value, so a page costs a range scan over matching events only. Each account's
//! events are also kept in arrival order in [`Chunks`], which SQL queries read converted to Arrow.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use crate::chunks::{Chunks, Timed, View};
use crate::extract::LookupKey;
use crate::history::{Category, StoredEvent};
use crate::index::value_hash;
use crate::segment::{attribute_values, category_of};

pub(crate) type Key = (i64, u64);

/// The events holding one attribute value. Most values (every eventID, most user names and resources) belong to a
/// single event, so that case takes no set of its own.
#[derive(Debug)]
enum Postings {
    One(Key),
    Many(BTreeSet<Key>),
}

impl Postings {
    fn insert(&mut self, key: Key) {
        match self {
            Postings::One(k) if *k == key => {}
            Postings::One(k) => *self = Postings::Many(BTreeSet::from([*k, key])),
            Postings::Many(set) => {
                set.insert(key);
            }
        }
    }

    /// Removes `key`; true when nothing is left.
    fn remove(&mut self, key: &Key) -> bool {
        match self {
            Postings::One(k) => k == key,
            Postings::Many(set) => {
                set.remove(key);
                set.is_empty()
            }
        }
    }

    fn newest(&self, range: (Bound<Key>, Bound<Key>), n: usize) -> Vec<Key> {
        match self {
            Postings::One(k) if std::ops::RangeBounds::contains(&range, k) => vec![*k],
            Postings::One(_) => Vec::new(),
            Postings::Many(set) => set.range(range).rev().take(n).copied().collect(),
        }
    }
}

/// One partition's events and their index. The index is keyed by a 64-bit hash of (attribute, value), which
/// spares an allocation per attribute of every event; what a (vanishingly rare) collision adds is filtered out by
/// the lookup, and deduplication compares the eventIDs themselves.
#[derive(Debug, Default)]
struct Partition {
    events: BTreeMap<Key, Arc<StoredEvent>>,
    index: HashMap<u64, Postings>,
}

impl Partition {
    /// Whether the partition holds `id` with the eventTime `time_ms`: deduplication means the same in the tail as in
    /// the files (a retried record repeats its eventID and eventTime; the same eventID at another time is kept).
    fn holds_event_id(&self, id: &str, time_ms: i64) -> bool {
        let Some(p) = self.index.get(&value_hash(LookupKey::EventId, id)) else { return false };
        let range = (Bound::Unbounded, Bound::Unbounded);
        p.newest(range, usize::MAX)
            .iter()
            .any(|k| self.events.get(k).is_some_and(|e| e.fields.event_id == id && e.fields.time_ms == time_ms))
    }

    fn insert(&mut self, event: Arc<StoredEvent>) -> bool {
        if self.holds_event_id(&event.fields.event_id, event.fields.time_ms) {
            return false;
        }
        let key = (event.fields.time_ms, event.seq);
        for (k, v) in attribute_values(&event.fields) {
            match self.index.entry(value_hash(k, v)) {
                Entry::Occupied(mut p) => p.get_mut().insert(key),
                Entry::Vacant(slot) => {
                    slot.insert(Postings::One(key));
                }
            }
        }
        self.events.insert(key, event);
        true
    }

    fn remove(&mut self, key: &Key) {
        if let Some(event) = self.events.remove(key) {
            for (k, v) in attribute_values(&event.fields) {
                let h = value_hash(k, v);
                if self.index.get_mut(&h).is_some_and(|p| p.remove(key)) {
                    self.index.remove(&h);
                }
            }
        }
    }
}

type PartKey = (String, String, Category);

#[derive(Debug, Default)]
pub(crate) struct Tail {
    partitions: HashMap<PartKey, Partition>,
    /// Each account's events in arrival order, for queries.
    accounts: HashMap<String, Chunks<Arc<StoredEvent>>>,
    len: usize,
    bytes: usize,
}

impl Tail {
    /// Adds an event unless its partition already holds its eventID.
    pub fn insert(&mut self, event: StoredEvent) -> bool {
        let key = (event.fields.account_id.clone(), event.fields.region.clone(), category_of(&event));
        let bytes = event.raw.len();
        let event = Arc::new(event);
        let added = self.partitions.entry(key).or_default().insert(Arc::clone(&event));
        if added {
            self.len += 1;
            self.bytes += bytes;
            match self.accounts.get_mut(&event.fields.account_id) {
                Some(chunks) => chunks.push(event),
                None => self.accounts.entry(event.fields.account_id.clone()).or_default().push(event),
            }
        }
        added
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes of records held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Every event with a sequence below `seq`.
    pub fn below(&self, seq: u64) -> Vec<Arc<StoredEvent>> {
        self.partitions.values().flat_map(|p| p.events.values()).filter(|e| e.seq < seq).cloned().collect()
    }

    /// Drops the events with a sequence below `seq` (they are now in files).
    pub fn remove_below(&mut self, seq: u64) {
        self.retain(|e| e.seq >= seq);
    }

    /// Drops events older than `cutoff_ms`; returns how many.
    pub fn expire(&mut self, cutoff_ms: i64) -> usize {
        let before = self.len;
        self.retain(|e| e.fields.time_ms >= cutoff_ms);
        before - self.len
    }

    fn retain(&mut self, keep: impl Fn(&StoredEvent) -> bool) {
        for p in self.partitions.values_mut() {
            let kept: Vec<Arc<StoredEvent>> = p.events.values().filter(|e| keep(e)).cloned().collect();
            if kept.len() * 4 < p.events.len() {
                // The usual case after a flush: most of the partition goes. Rebuilding it from what stays is
                // cheaper than unpicking the index event by event.
                self.len -= p.events.len() - kept.len();
                self.bytes -= p.events.values().filter(|e| !keep(e)).map(|e| e.raw.len()).sum::<usize>();
                *p = Partition::default();
                for e in kept {
                    p.insert(e);
                }
                continue;
            }
            let gone: Vec<(Key, usize)> =
                p.events.iter().filter(|(_, e)| !keep(e)).map(|(k, e)| (*k, e.raw.len())).collect();
            for (k, bytes) in gone {
                p.remove(&k);
                self.len -= 1;
                self.bytes -= bytes;
            }
        }
        self.partitions.retain(|_, p| !p.events.is_empty());
        for chunks in self.accounts.values_mut() {
            chunks.retain(|e| keep(e));
        }
        self.accounts.retain(|_, c| !c.is_empty());
        if self.partitions.is_empty() {
            // Give the maps' memory back after a flush.
            self.partitions = HashMap::new();
            self.accounts = HashMap::new();
        }
    }

    /// The events of an account, over its regions and categories, that may have an eventTime of `low` or later.
    pub fn view_of(&self, account: &str, low: i64) -> View<Arc<StoredEvent>> {
        self.accounts.get(account).map(|c| c.view(low)).unwrap_or_default()
    }

    /// Up to `n` events of a partition within `range`, newest first, holding `attribute` when given.
    pub fn newest(
        &self,
        part: (&str, &str, Category),
        attribute: Option<(LookupKey, &str)>,
        range: (Bound<Key>, Bound<Key>),
        n: usize,
    ) -> Vec<Arc<StoredEvent>> {
        let Some(p) = self.partitions.get(&(part.0.to_string(), part.1.to_string(), part.2)) else {
            return Vec::new();
        };
        match attribute {
            None => p.events.range(range).rev().take(n).map(|(_, e)| Arc::clone(e)).collect(),
            Some((key, value)) => match p.index.get(&value_hash(key, value)) {
                Some(postings) => postings.newest(range, n).iter().filter_map(|k| p.events.get(k).cloned()).collect(),
                None => Vec::new(),
            },
        }
    }
}

impl Timed for Arc<StoredEvent> {
    fn time_ms(&self) -> i64 {
        self.fields.time_ms
    }
}
