//! Event history: the last 90 days of management events (and Insights events) of every account and region,
//! newest first, looked up by one attribute and a time range.
//!
//! Each (account, region, category) partition keeps its events ordered by (eventTime, journal sequence) and one
//! ordered index per lookup attribute value, so a page costs a range scan over matching events only. Events are
//! deduplicated on eventID (consumers are at-least-once), and fall out 90 days after their eventTime, by the clock
//! the caller passes in.
//!
//! This is the in-memory tail of the history store, rebuilt from the journal at start; spilling it to Parquet
//! files by date is the next step of the store (see ARCHITECTURE.md).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use crate::extract::{extract, EventFields, LookupKey};

/// How long event history keeps an event, from its eventTime.
pub const RETENTION_MS: i64 = 90 * 24 * 3600 * 1000;

/// Which events a lookup returns: management events by default, Insights events when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Management,
    Insight,
}

/// A position in newest-first order: the next page holds events strictly older than it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub time_ms: i64,
    pub seq: u64,
}

/// An event as history keeps it: where it is in the journal, its indexed fields, and the record as stored.
#[derive(Debug)]
pub struct StoredEvent {
    pub seq: u64,
    pub fields: EventFields,
    pub raw: Arc<str>,
}

/// One page of a lookup.
#[derive(Debug)]
pub struct Page {
    pub events: Vec<Arc<StoredEvent>>,
    /// Where the next page starts, when there is one.
    pub next: Option<Cursor>,
}

type Key = (i64, u64);

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

    /// Keys in `range`, newest first, at most `n`.
    fn newest(&self, range: (std::ops::Bound<Key>, std::ops::Bound<Key>), n: usize) -> Vec<Key> {
        match self {
            Postings::One(k) if std::ops::RangeBounds::contains(&range, k) => vec![*k],
            Postings::One(_) => Vec::new(),
            Postings::Many(set) => set.range(range).rev().take(n).copied().collect(),
        }
    }
}

#[derive(Debug, Default)]
struct Partition {
    events: BTreeMap<Key, Arc<StoredEvent>>,
    index: HashMap<(LookupKey, String), Postings>,
}

fn attribute_values(f: &EventFields) -> Vec<(LookupKey, String)> {
    let mut out = vec![
        (LookupKey::EventId, f.event_id.clone()),
        (LookupKey::EventName, f.event_name.clone()),
        (LookupKey::EventSource, f.event_source.clone()),
    ];
    if let Some(r) = f.read_only {
        out.push((LookupKey::ReadOnly, r.to_string()));
    }
    if let Some(u) = &f.username {
        out.push((LookupKey::Username, u.clone()));
    }
    if let Some(a) = &f.access_key_id {
        out.push((LookupKey::AccessKeyId, a.clone()));
    }
    for (ty, name) in &f.resources {
        if let Some(t) = ty {
            out.push((LookupKey::ResourceType, t.clone()));
        }
        if let Some(n) = name {
            out.push((LookupKey::ResourceName, n.clone()));
        }
    }
    out.sort();
    out.dedup();
    out
}

impl Partition {
    fn insert(&mut self, event: StoredEvent) -> bool {
        let id_key = (LookupKey::EventId, event.fields.event_id.clone());
        if self.index.contains_key(&id_key) {
            return false;
        }
        let key = (event.fields.time_ms, event.seq);
        for attr in attribute_values(&event.fields) {
            match self.index.get_mut(&attr) {
                Some(p) => p.insert(key),
                None => {
                    self.index.insert(attr, Postings::One(key));
                }
            }
        }
        self.events.insert(key, Arc::new(event));
        true
    }

    fn expire(&mut self, cutoff_ms: i64) -> usize {
        let keep = self.events.split_off(&(cutoff_ms, 0));
        let old = std::mem::replace(&mut self.events, keep);
        for (key, event) in &old {
            for attr in attribute_values(&event.fields) {
                if self.index.get_mut(&attr).is_some_and(|p| p.remove(key)) {
                    self.index.remove(&attr);
                }
            }
        }
        old.len()
    }
}

/// What a lookup asks for.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    pub account_id: &'a str,
    pub region: &'a str,
    pub category: Category,
    pub attribute: Option<(LookupKey, &'a str)>,
    /// Inclusive bounds, in milliseconds since the epoch.
    pub start_ms: i64,
    pub end_ms: i64,
    pub after: Option<Cursor>,
    pub limit: usize,
}

#[derive(Debug, Default)]
pub struct History {
    partitions: RwLock<HashMap<(String, String, Category), Partition>>,
}

impl History {
    pub fn new() -> History {
        History::default()
    }

    /// Adds journaled records (sequence, payload); returns how many were new history events. Data events,
    /// records that are not CloudTrail events, events already past retention and repeated eventIDs are skipped.
    pub fn insert_batch<'p>(&self, records: impl IntoIterator<Item = (u64, &'p [u8])>, now_ms: i64) -> usize {
        let cutoff = now_ms - RETENTION_MS;
        let events: Vec<StoredEvent> = records
            .into_iter()
            .filter_map(|(seq, payload)| {
                let fields = extract(payload)?;
                let insight = fields.category == "Insight";
                if !(fields.management || insight) || fields.time_ms < cutoff {
                    return None;
                }
                let raw: Arc<str> = Arc::from(std::str::from_utf8(payload).ok()?);
                Some(StoredEvent { seq, fields, raw })
            })
            .collect();
        let mut partitions = self.partitions.write().unwrap_or_else(|e| e.into_inner());
        let mut added = 0;
        for e in events {
            let category = if e.fields.category == "Insight" { Category::Insight } else { Category::Management };
            let key = (e.fields.account_id.clone(), e.fields.region.clone(), category);
            added += usize::from(partitions.entry(key).or_default().insert(e));
        }
        added
    }

    /// Drops events whose eventTime is more than 90 days before `now_ms`; returns how many.
    pub fn expire(&self, now_ms: i64) -> usize {
        let mut partitions = self.partitions.write().unwrap_or_else(|e| e.into_inner());
        let n = partitions.values_mut().map(|p| p.expire(now_ms - RETENTION_MS)).sum();
        partitions.retain(|_, p| !p.events.is_empty());
        n
    }

    /// Events kept, over all partitions.
    pub fn len(&self) -> usize {
        self.partitions.read().unwrap_or_else(|e| e.into_inner()).values().map(|p| p.events.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One page, newest first. Events older than the retention window are never returned, even before
    /// [`History::expire`] has dropped them.
    pub fn lookup(&self, q: &Query<'_>, now_ms: i64) -> Page {
        let partitions = self.partitions.read().unwrap_or_else(|e| e.into_inner());
        let Some(p) = partitions.get(&(q.account_id.to_string(), q.region.to_string(), q.category)) else {
            return Page { events: Vec::new(), next: None };
        };
        let low = (q.start_ms.max(now_ms - RETENTION_MS), 0u64);
        let high = match q.after {
            Some(c) => std::ops::Bound::Excluded((c.time_ms, c.seq)),
            None => std::ops::Bound::Included((q.end_ms, u64::MAX)),
        };
        if high_below(high, low) {
            return Page { events: Vec::new(), next: None };
        }
        let range = (std::ops::Bound::Included(low), high);
        let mut keys: Vec<Key> = match q.attribute {
            None => p.events.range(range).rev().take(q.limit + 1).map(|(k, _)| *k).collect(),
            Some((key, value)) => match p.index.get(&(key, value.to_string())) {
                Some(postings) => postings.newest(range, q.limit + 1),
                None => Vec::new(),
            },
        };
        let more = keys.len() > q.limit;
        keys.truncate(q.limit);
        let next = if more { keys.last().map(|&(time_ms, seq)| Cursor { time_ms, seq }) } else { None };
        Page { events: keys.iter().filter_map(|k| p.events.get(k).cloned()).collect(), next }
    }
}

fn high_below(high: std::ops::Bound<Key>, low: Key) -> bool {
    match high {
        std::ops::Bound::Included(h) => h < low,
        std::ops::Bound::Excluded(h) => h <= low,
        std::ops::Bound::Unbounded => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DAY: i64 = 24 * 3600 * 1000;
    const NOW: i64 = 1_795_355_931_000; // 2026-11-22T13:58:51Z

    fn time(ms: i64) -> String {
        cairn_model::event::format_event_time(ms)
    }

    fn event(id: &str, name: &str, ms: i64, region: &str) -> Vec<u8> {
        json!({"eventTime": time(ms), "eventID": id, "eventName": name, "eventSource": "ec2.amazonaws.com",
               "awsRegion": region, "recipientAccountId": "111111111111", "readOnly": name.starts_with("Describe"),
               "userIdentity": {"type": "IAMUser", "userName": "alice", "accessKeyId": "AKIA1"}})
        .to_string()
        .into_bytes()
    }

    fn q(attribute: Option<(LookupKey, &str)>, after: Option<Cursor>, limit: usize) -> Query<'_> {
        Query {
            account_id: "111111111111",
            region: "eu-west-1",
            category: Category::Management,
            attribute,
            start_ms: 0,
            end_ms: i64::MAX,
            after,
            limit,
        }
    }

    fn ids(p: &Page) -> Vec<&str> {
        p.events.iter().map(|e| e.fields.event_id.as_str()).collect()
    }

    #[test]
    fn newest_first_pages_are_stable_while_events_arrive() {
        let h = History::new();
        let recs: Vec<Vec<u8>> =
            (0..10).map(|i| event(&format!("e{i}"), "RunInstances", NOW - DAY + i * 1000, "eu-west-1")).collect();
        h.insert_batch(recs.iter().enumerate().map(|(i, r)| (i as u64, r.as_slice())), NOW);
        let first = h.lookup(&q(None, None, 4), NOW);
        assert_eq!(ids(&first), ["e9", "e8", "e7", "e6"]);
        // Newer events arriving between pages do not shift the following pages.
        let newer = event("e10", "RunInstances", NOW - 1000, "eu-west-1");
        h.insert_batch([(10, newer.as_slice())], NOW);
        let second = h.lookup(&q(None, first.next, 4), NOW);
        assert_eq!(ids(&second), ["e5", "e4", "e3", "e2"]);
        let third = h.lookup(&q(None, second.next, 4), NOW);
        assert_eq!(ids(&third), ["e1", "e0"]);
        assert!(third.next.is_none());
        assert_eq!(ids(&h.lookup(&q(None, None, 1), NOW)), ["e10"]);
    }

    #[test]
    fn attributes_time_ranges_partitions_and_duplicates() {
        let h = History::new();
        let recs = [
            event("a", "RunInstances", NOW - 3000, "eu-west-1"),
            event("b", "DescribeInstances", NOW - 2000, "eu-west-1"),
            event("c", "RunInstances", NOW - 1000, "us-east-1"),
            event("a", "RunInstances", NOW - 3000, "eu-west-1"),
        ];
        assert_eq!(
            h.insert_batch(recs.iter().enumerate().map(|(i, r)| (i as u64, r.as_slice())), NOW),
            3,
            "eventID dedupe"
        );
        assert_eq!(ids(&h.lookup(&q(Some((LookupKey::EventName, "RunInstances")), None, 50), NOW)), ["a"]);
        assert_eq!(ids(&h.lookup(&q(Some((LookupKey::ReadOnly, "true")), None, 50), NOW)), ["b"]);
        assert_eq!(ids(&h.lookup(&q(Some((LookupKey::Username, "alice")), None, 50), NOW)), ["b", "a"]);
        assert_eq!(ids(&h.lookup(&q(Some((LookupKey::AccessKeyId, "AKIA1")), None, 50), NOW)), ["b", "a"]);
        assert_eq!(
            ids(&h.lookup(&q(Some((LookupKey::EventId, "c")), None, 50), NOW)),
            Vec::<&str>::new(),
            "other region"
        );
        let mut bounded = q(None, None, 50);
        bounded.start_ms = NOW - 2000;
        bounded.end_ms = NOW - 2000;
        assert_eq!(ids(&h.lookup(&bounded, NOW)), ["b"], "bounds are inclusive");
        let mut other = q(None, None, 50);
        other.account_id = "222222222222";
        assert!(h.lookup(&other, NOW).events.is_empty());
    }

    #[test]
    fn retention_follows_the_clock() {
        let h = History::new();
        let old = event("old", "RunInstances", NOW - 91 * DAY, "eu-west-1");
        let edge = event("edge", "RunInstances", NOW - 89 * DAY, "eu-west-1");
        let fresh = event("fresh", "RunInstances", NOW, "eu-west-1");
        assert_eq!(h.insert_batch([(0, old.as_slice()), (1, edge.as_slice()), (2, fresh.as_slice())], NOW), 2);
        // Two days later the edge event is past 90 days: hidden at once, dropped by expire.
        let later = NOW + 2 * DAY;
        assert_eq!(ids(&h.lookup(&q(None, None, 50), later)), ["fresh"]);
        assert_eq!(h.len(), 2);
        assert_eq!(h.expire(later), 1);
        assert_eq!(h.len(), 1);
        assert!(h.lookup(&q(Some((LookupKey::EventId, "edge")), None, 50), later).events.is_empty());
    }

    #[test]
    fn data_events_stay_out_and_insights_are_apart() {
        let h = History::new();
        let data = json!({"eventTime": time(NOW), "eventID": "d", "eventName": "GetObject", "eventSource": "s3.amazonaws.com",
            "awsRegion": "eu-west-1", "recipientAccountId": "111111111111", "managementEvent": false, "eventCategory": "Data"}).to_string();
        let insight = json!({"eventTime": time(NOW), "eventID": "i", "eventName": "CreateTrail", "eventSource": "cloudtrail.amazonaws.com",
            "awsRegion": "eu-west-1", "recipientAccountId": "111111111111", "eventCategory": "Insight", "eventType": "AwsCloudTrailInsight"}).to_string();
        assert_eq!(h.insert_batch([(0, data.as_bytes()), (1, insight.as_bytes())], NOW), 1);
        assert!(h.lookup(&q(None, None, 50), NOW).events.is_empty());
        let mut qi = q(None, None, 50);
        qi.category = Category::Insight;
        assert_eq!(ids(&h.lookup(&qi, NOW)), ["i"]);
    }
}
