//! Event history: the last 90 days of management events (and Insights events) of every account and region,
//! newest first, looked up by one attribute and a time range.
//!
//! Recent events live in the in-memory tail ([`crate::tail`]); [`History::flush`] moves them into Parquet files by
//! date, each with its lookup index ([`crate::segment`], [`crate::index`]), and [`History::compact`] merges a
//! date's small files. A lookup merges the tail with the files of the dates in its range, newest date first, and
//! stops as soon as no older date can change the page.
//!
//! Durability: the files cover the journal up to the checkpoint their owner saves after [`History::flush`]; at
//! [`History::open`] files at or past that checkpoint (written by a flush whose checkpoint never landed), files a
//! finished compaction replaced, and unfinished writes are removed, so replaying the journal from the checkpoint
//! rebuilds exactly the tail. A record is skipped as a repeat when its partition holds one with the same eventID
//! and eventTime, in the tail or in a file (consumers are at-least-once and producers retry). Events fall out 90
//! days after their eventTime, by the clock the caller passes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use crate::chunks::View;
use crate::extract::{extract, EventFields, LookupKey};
use crate::index::key_hash;
use crate::segment::{category_of, date_of, event_id_hash, parse_stem, Segment};
use crate::tail::{Key, Tail};
use crate::{Error, Result};

/// How long event history keeps an event, from its eventTime.
pub const RETENTION_MS: i64 = 90 * 24 * 3600 * 1000;

/// The last millisecond of year 9999.
const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// A date's files are merged once it has this many small ones.
const COMPACT_FILES: usize = 8;
/// Files holding at least this many bytes of records are left as they are.
const COMPACT_SMALL_BYTES: u64 = 32 << 20;
/// At most this many bytes of records are merged at once (compaction holds them in memory).
const COMPACT_BUDGET_BYTES: u64 = 96 << 20;

/// Which events a lookup returns: management events by default, Insights events when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Management,
    Insight,
}

impl Category {
    pub(crate) fn code(self) -> u8 {
        match self {
            Category::Management => 0,
            Category::Insight => 1,
        }
    }

    pub(crate) fn from_code(c: u8) -> Option<Category> {
        match c {
            0 => Some(Category::Management),
            1 => Some(Category::Insight),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Category::Management => "Management",
            Category::Insight => "Insight",
        }
    }
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

/// What a flush or compaction did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FlushStats {
    pub events: usize,
    pub files: usize,
}

#[derive(Debug, Default)]
struct State {
    tail: Tail,
    /// Published files by date (YYYY-MM-DD), each date's in journal order.
    dates: BTreeMap<String, Vec<Arc<Segment>>>,
}

/// Event history: the tail plus the files, behind one lock so a flush moves events atomically.
#[derive(Debug, Default)]
pub struct History {
    dir: Option<PathBuf>,
    state: RwLock<State>,
    /// One flush, compaction or expiry of files at a time.
    files: Mutex<()>,
    /// Records skipped because history already held them (producer retries, replays after a restart).
    duplicates: std::sync::atomic::AtomicU64,
}

/// A lookup candidate: a tail event, or a row of a file.
enum Source {
    Tail(Arc<StoredEvent>),
    File(Arc<Segment>, u32),
}

type Candidate = (Key, Source);

/// A file and the (row, sequence) pairs to read from it.
type FileRows = (Arc<Segment>, Vec<(u32, u64)>);

impl History {
    /// A history that keeps everything in memory (no files).
    pub fn new() -> History {
        History::default()
    }

    /// Opens the history files under `dir`, which cover the journal below `checkpoint`; removes what an
    /// interrupted flush or compaction left behind.
    pub fn open(dir: &Path, checkpoint: u64) -> Result<History> {
        std::fs::create_dir_all(dir).map_err(crate::io(dir))?;
        let mut dates: BTreeMap<String, Vec<Arc<Segment>>> = BTreeMap::new();
        let mut removed = 0usize;
        for entry in std::fs::read_dir(dir).map_err(crate::io(dir))? {
            let entry = entry.map_err(crate::io(dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(date) = name.strip_prefix("date=").filter(|d| crate::segment::day_bounds(d).is_some()) else {
                continue;
            };
            let date_dir = entry.path();
            let mut found: HashMap<(u64, u64), (bool, bool)> = HashMap::new();
            for f in std::fs::read_dir(&date_dir).map_err(crate::io(&date_dir))? {
                let f = f.map_err(crate::io(&date_dir))?;
                let fname = f.file_name().to_string_lossy().into_owned();
                let parsed = fname
                    .strip_suffix(".parquet")
                    .map(|s| (s, true))
                    .or_else(|| fname.strip_suffix(".idx").map(|s| (s, false)))
                    .and_then(|(stem, pq)| Some((parse_stem(stem)?, pq)));
                match parsed {
                    Some((range, true)) => found.entry(range).or_default().0 = true,
                    Some((range, false)) => found.entry(range).or_default().1 = true,
                    None if fname.ends_with(".tmp") => {
                        crate::remove_if_exists(&f.path())?;
                        removed += 1;
                    }
                    None => {}
                }
            }
            let mut segments = Vec::new();
            for ((lo, hi), (pq, idx)) in found {
                if pq && idx && lo < checkpoint {
                    segments.push(Segment::open(&date_dir, date, lo, hi)?.upgraded()?);
                } else {
                    // An unfinished write, or a flush whose checkpoint never landed: the journal still has it.
                    let stem = format!("{lo:020}-{hi:020}");
                    crate::remove_if_exists(&date_dir.join(format!("{stem}.idx")))?;
                    crate::remove_if_exists(&date_dir.join(format!("{stem}.parquet")))?;
                    removed += 1;
                }
            }
            // A compaction that published its output but was stopped before removing its inputs.
            let replaced: HashSet<(u64, u64)> = segments.iter().flat_map(|s| s.index.replaced.clone()).collect();
            let (gone, kept): (Vec<_>, Vec<_>) = segments.into_iter().partition(|s| replaced.contains(&(s.lo, s.hi)));
            for s in gone {
                s.remove()?;
                removed += 1;
            }
            let mut kept: Vec<Arc<Segment>> = kept.into_iter().map(Arc::new).collect();
            kept.sort_by_key(|s| s.lo);
            if !kept.is_empty() {
                dates.insert(date.to_string(), kept);
            }
        }
        if removed > 0 {
            tracing::info!(removed, "event history removed files an interrupted flush or compaction left");
        }
        Ok(History {
            dir: Some(dir.to_path_buf()),
            state: RwLock::new(State { tail: Tail::default(), dates }),
            files: Mutex::new(()),
            duplicates: Default::default(),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
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
        let mut state = self.write();
        let candidates = events.len();
        let mut added = 0;
        for e in events {
            if !state.in_files(&e) {
                added += usize::from(state.tail.insert(e));
            }
        }
        if candidates > added {
            let skipped = (candidates - added) as u64;
            self.duplicates.fetch_add(skipped, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(skipped, "event history skipped records it already held");
        }
        added
    }

    /// Records skipped so far because history already held one with their account, region, eventID and eventTime.
    pub fn duplicates_skipped(&self) -> u64 {
        self.duplicates.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Events in the in-memory tail, and the bytes of their records.
    pub fn tail_size(&self) -> (usize, usize) {
        let state = self.read();
        (state.tail.len(), state.tail.bytes())
    }

    /// Writes the tail's events with a sequence below `upto` to files, durably, and drops them from memory. The
    /// caller then records `upto` as the history checkpoint.
    pub fn flush(&self, upto: u64) -> Result<FlushStats> {
        let Some(dir) = &self.dir else { return Ok(FlushStats::default()) };
        let _files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let events = self.read().tail.below(upto);
        let mut by_date: BTreeMap<String, Vec<&StoredEvent>> = BTreeMap::new();
        for e in &events {
            by_date.entry(date_of(e.fields.time_ms)).or_default().push(e);
        }
        let mut written = Vec::new();
        for (date, mut group) in by_date {
            sort_for_file(&mut group);
            let lo = group.iter().map(|e| e.seq).min().expect("non-empty");
            let hi = group.iter().map(|e| e.seq).max().expect("non-empty");
            written.push(Arc::new(Segment::write(dir, &date, (lo, hi), &[], &group)?));
        }
        let stats = FlushStats { events: events.len(), files: written.len() };
        drop(events);
        let mut state = self.write();
        for s in written {
            let date = state.dates.entry(s.date.clone()).or_default();
            date.push(s);
            date.sort_by_key(|s| s.lo);
        }
        state.tail.remove_below(upto);
        Ok(stats)
    }

    /// Merges the small files of dates that have gathered many; returns what was merged.
    pub fn compact(&self) -> Result<FlushStats> {
        let Some(dir) = &self.dir else { return Ok(FlushStats::default()) };
        let _files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let plans: Vec<Vec<Arc<Segment>>> = self
            .read()
            .dates
            .values()
            .filter_map(|segs| {
                let mut budget = 0;
                let small: Vec<Arc<Segment>> = segs
                    .iter()
                    .filter(|s| s.index.raw_bytes < COMPACT_SMALL_BYTES)
                    .take_while(|s| {
                        budget += s.index.raw_bytes;
                        budget <= COMPACT_BUDGET_BYTES
                    })
                    .cloned()
                    .collect();
                (small.len() >= COMPACT_FILES).then_some(small)
            })
            .collect();
        let mut stats = FlushStats::default();
        for inputs in plans {
            let mut events = Vec::new();
            for s in &inputs {
                events.extend(s.read_all()?);
            }
            // Keep the first recording of each eventID.
            events.sort_by_key(|e| e.seq);
            let mut seen = HashSet::new();
            events.retain(|e| seen.insert(event_id_hash(e)));
            let mut refs: Vec<&StoredEvent> = events.iter().collect();
            sort_for_file(&mut refs);
            let lo = inputs.iter().map(|s| s.lo).min().expect("inputs");
            let hi = inputs.iter().map(|s| s.hi).max().expect("inputs");
            let replaced: Vec<(u64, u64)> = inputs.iter().map(|s| (s.lo, s.hi)).collect();
            let date = inputs[0].date.clone();
            let merged = Arc::new(Segment::write(dir, &date, (lo, hi), &replaced, &refs)?);
            {
                let mut state = self.write();
                let segs = state.dates.entry(date).or_default();
                segs.retain(|s| !replaced.contains(&(s.lo, s.hi)));
                segs.push(merged);
                segs.sort_by_key(|s| s.lo);
            }
            for s in &inputs {
                s.remove()?;
            }
            stats.events += refs.len();
            stats.files += inputs.len();
        }
        Ok(stats)
    }

    /// Drops events whose eventTime is more than 90 days before `now_ms`, and the files of dates wholly past it;
    /// returns how many events were dropped.
    pub fn expire(&self, now_ms: i64) -> Result<usize> {
        let cutoff = now_ms - RETENTION_MS;
        let _files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let (mut dropped, gone) = {
            let mut state = self.write();
            let dropped = state.tail.expire(cutoff);
            let old: Vec<String> =
                state.dates.iter().filter(|(_, s)| s[0].day.1 < cutoff).map(|(d, _)| d.clone()).collect();
            let gone: Vec<Arc<Segment>> = old.iter().flat_map(|d| state.dates.remove(d).unwrap_or_default()).collect();
            (dropped, gone)
        };
        for s in &gone {
            dropped += s.index.rows as usize;
            s.remove()?;
        }
        if let Some(dir) = &self.dir {
            for date in gone.iter().map(|s| &s.date).collect::<HashSet<_>>() {
                let d = dir.join(format!("date={date}"));
                let _ = std::fs::remove_dir(&d);
            }
        }
        Ok(dropped)
    }

    /// Events kept, over all partitions, in memory and in files.
    pub fn len(&self) -> usize {
        let state = self.read();
        state.tail.len() + state.dates.values().flatten().map(|s| s.index.rows as usize).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of history files.
    pub fn file_count(&self) -> usize {
        self.read().dates.values().map(Vec::len).sum()
    }

    /// What a query of one account reads: its tail events from `low` on and every file that may hold such events,
    /// all taken at one instant, so each event is in exactly one of them. The files stay
    /// readable while the snapshot lives, even if a compaction or expiry removes them meanwhile.
    pub(crate) fn snapshot(&self, account: &str, low: i64) -> (View<Arc<StoredEvent>>, Vec<Arc<Segment>>) {
        let state = self.read();
        let tail = state.tail.view_of(account, low);
        let files = state
            .dates
            .values()
            .flatten()
            .filter(|s| low <= s.times.1 && s.index.parts.iter().any(|p| p.account == account))
            .cloned()
            .collect();
        (tail, files)
    }

    /// One page, newest first. Events older than the retention window are never returned, even before
    /// [`History::expire`] has dropped them.
    pub fn lookup(&self, q: &Query<'_>, now_ms: i64) -> Result<Page> {
        let empty = Page { events: Vec::new(), next: None };
        let low: Key = (q.start_ms.max(now_ms - RETENTION_MS), 0);
        let high = match q.after {
            Some(c) => Bound::Excluded((c.time_ms, c.seq)),
            None => Bound::Included((q.end_ms, u64::MAX)),
        };
        let high_key = match high {
            Bound::Included(k) | Bound::Excluded(k) => k,
            Bound::Unbounded => unreachable!("always bounded"),
        };
        if high_key < low || (matches!(high, Bound::Excluded(_)) && high_key == low) {
            return Ok(empty);
        }
        let part = (q.account_id, q.region, q.category);
        let n = q.limit + 1;
        let (mut found, dates): (Vec<Candidate>, Vec<Vec<Arc<Segment>>>) = {
            let state = self.read();
            let tail = state.tail.newest(part, q.attribute, (Bound::Included(low), high), n);
            let found = tail.into_iter().map(|e| ((e.fields.time_ms, e.seq), Source::Tail(e))).collect();
            // Dates compare as strings only within years 0000-9999; no event lies outside them.
            let (first, last) = (date_of(low.0.max(0)), date_of(high_key.0.min(MAX_TIME_MS)));
            let dates = if first <= last {
                let range = (Bound::Included(first), Bound::Included(last));
                state.dates.range::<String, _>(range).rev().map(|(_, s)| s.clone()).collect()
            } else {
                Vec::new()
            };
            (found, dates)
        };
        let hash = q.attribute.map(|(k, v)| key_hash(q.account_id, q.region, q.category, k, v));
        for segs in dates {
            // Every event of this date and older ranks below what is found already.
            let day_end = segs[0].day.1;
            if found.iter().filter(|(k, _)| k.0 > day_end).count() >= n {
                break;
            }
            for s in segs {
                for (key, row) in candidates(&s, part, hash, low, high, n)? {
                    found.push((key, Source::File(Arc::clone(&s), row)));
                }
            }
        }
        found.sort_by_key(|c| std::cmp::Reverse(c.0));
        found.truncate(n);
        let more = found.len() > q.limit;
        found.truncate(q.limit);
        let next = if more { found.last().map(|&((time_ms, seq), _)| Cursor { time_ms, seq }) } else { None };
        Ok(Page { events: materialize(found, q.attribute)?, next })
    }
}

impl State {
    /// Whether a file of the event's date already holds its eventID at its eventTime.
    fn in_files(&self, e: &StoredEvent) -> bool {
        let Some(segs) = self.dates.get(&date_of(e.fields.time_ms)) else { return false };
        let hash = event_id_hash(e);
        let t = e.fields.time_ms;
        // A repeat carries the same eventTime, so only files spanning it can hold one.
        segs.iter().filter(|s| s.times.0 <= t && t <= s.times.1 && s.index.may_hold_event_id(hash)).any(|s| {
            let fetched = s.index.rows_for(hash).map_err(|err| s.io_error(err)).and_then(|rows| s.fetch(&rows));
            match fetched {
                Ok(raws) => raws.iter().filter_map(|r| extract(r.as_bytes())).any(|f| {
                    f.event_id == e.fields.event_id
                        && f.time_ms == e.fields.time_ms
                        && f.account_id == e.fields.account_id
                        && f.region == e.fields.region
                }),
                Err(err) => {
                    tracing::error!(error = %err, "event history cannot read a file to deduplicate an event");
                    false
                }
            }
        })
    }
}

/// File order: partition, then newest first.
fn sort_for_file(events: &mut [&StoredEvent]) {
    events.sort_by(|a, b| {
        (&a.fields.account_id, &a.fields.region, category_of(a))
            .cmp(&(&b.fields.account_id, &b.fields.region, category_of(b)))
            .then_with(|| (b.fields.time_ms, b.seq).cmp(&(a.fields.time_ms, a.seq)))
    });
}

fn within(key: Key, low: Key, high: Bound<Key>) -> bool {
    key >= low
        && match high {
            Bound::Included(h) => key <= h,
            Bound::Excluded(h) => key < h,
            Bound::Unbounded => true,
        }
}

fn below_high(key: Key, high: Bound<Key>) -> bool {
    within(key, (i64::MIN, 0), high)
}

/// Up to `n` rows of one file in the partition within the bounds (holding the attribute value with `hash` when
/// given), newest first.
fn candidates(
    s: &Segment,
    part: (&str, &str, Category),
    hash: Option<u64>,
    low: Key,
    high: Bound<Key>,
    n: usize,
) -> Result<Vec<(Key, u32)>> {
    let Some(p) = s.index.parts.iter().find(|p| p.account == part.0 && p.region == part.1 && p.category == part.2)
    else {
        return Ok(Vec::new());
    };
    let io = |e| s.io_error(e);
    let mut out = Vec::new();
    match hash {
        None => {
            // Rows are newest first: find the first one under the upper bound.
            let a = s.index.first_row(p.start, p.end, |key| below_high(key, high)).map_err(io)?;
            let end = p.end.min(a.saturating_add(n as u32));
            for (i, key) in s.index.keys(a, end).map_err(io)?.into_iter().enumerate() {
                if key < low {
                    break;
                }
                out.push((key, a + i as u32));
            }
        }
        Some(hash) => {
            let rows = s.index.rows_for(hash).map_err(io)?;
            let (mut a, mut b) = (0, rows.len());
            while a < b {
                let mid = a + (b - a) / 2;
                if below_high(s.index.key(rows[mid]).map_err(io)?, high) {
                    b = mid;
                } else {
                    a = mid + 1;
                }
            }
            for &row in rows[a..].iter().take(n) {
                let key = s.index.key(row).map_err(io)?;
                if key < low {
                    break;
                }
                out.push((key, row));
            }
        }
    }
    Ok(out)
}

/// Turns the chosen candidates into events, reading each file's rows in one pass.
fn materialize(found: Vec<Candidate>, attribute: Option<(LookupKey, &str)>) -> Result<Vec<Arc<StoredEvent>>> {
    // Per file, the rows to read with the sequence numbers their candidates already carry.
    let mut by_file: HashMap<*const Segment, FileRows> = HashMap::new();
    for ((_, seq), src) in &found {
        if let Source::File(s, row) = src {
            by_file.entry(Arc::as_ptr(s)).or_insert_with(|| (Arc::clone(s), Vec::new())).1.push((*row, *seq));
        }
    }
    let mut fetched: HashMap<(*const Segment, u32), Arc<StoredEvent>> = HashMap::new();
    for (ptr, (s, mut rows)) in by_file {
        rows.sort_unstable();
        let raws = s.fetch(&rows.iter().map(|&(row, _)| row).collect::<Vec<_>>())?;
        for ((row, seq), raw) in rows.into_iter().zip(raws) {
            let fields = extract(raw.as_bytes())
                .ok_or_else(|| Error::Corrupt { path: PathBuf::from(&s.date), reason: "unreadable event".into() })?;
            fetched.insert((ptr, row), Arc::new(StoredEvent { seq, fields, raw: Arc::from(raw) }));
        }
    }
    Ok(found
        .into_iter()
        .filter_map(|(_, src)| match src {
            Source::Tail(e) => Some(e),
            Source::File(s, row) => fetched.remove(&(Arc::as_ptr(&s), row)),
        })
        // A 64-bit hash collision in a file's index would name a row without the value.
        .filter(|e| attribute.is_none_or(|(k, v)| crate::segment::attribute_values(&e.fields).contains(&(k, v))))
        .collect())
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
        let first = h.lookup(&q(None, None, 4), NOW).unwrap();
        assert_eq!(ids(&first), ["e9", "e8", "e7", "e6"]);
        // Newer events arriving between pages do not shift the following pages.
        let newer = event("e10", "RunInstances", NOW - 1000, "eu-west-1");
        h.insert_batch([(10, newer.as_slice())], NOW);
        let second = h.lookup(&q(None, first.next, 4), NOW).unwrap();
        assert_eq!(ids(&second), ["e5", "e4", "e3", "e2"]);
        let third = h.lookup(&q(None, second.next, 4), NOW).unwrap();
        assert_eq!(ids(&third), ["e1", "e0"]);
        assert!(third.next.is_none());
        assert_eq!(ids(&h.lookup(&q(None, None, 1), NOW).unwrap()), ["e10"]);
    }

    #[test]
    fn an_event_id_repeated_at_another_time_is_another_event() {
        // Real archives repeat eventIDs across days and within one; only a repeat of eventID and eventTime is a retry.
        let h = History::new();
        let day = 86_400_000;
        let recs = [
            event("same", "RunInstances", NOW - 2 * day, "eu-west-1"),
            event("same", "StopInstances", NOW - day, "eu-west-1"),
            event("same", "StopInstances", NOW - day, "eu-west-1"),
            event("same", "StartInstances", NOW - day + 1000, "eu-west-1"),
        ];
        assert_eq!(h.insert_batch(recs.iter().enumerate().map(|(i, r)| (i as u64, r.as_slice())), NOW), 3);
        assert_eq!(h.duplicates_skipped(), 1);
        let found = h.lookup(&q(Some((LookupKey::EventId, "same")), None, 50), NOW).unwrap();
        assert_eq!(found.events.len(), 3);
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
        assert_eq!(ids(&h.lookup(&q(Some((LookupKey::EventName, "RunInstances")), None, 50), NOW).unwrap()), ["a"]);
        assert_eq!(ids(&h.lookup(&q(Some((LookupKey::ReadOnly, "true")), None, 50), NOW).unwrap()), ["b"]);
        assert_eq!(ids(&h.lookup(&q(Some((LookupKey::Username, "alice")), None, 50), NOW).unwrap()), ["b", "a"]);
        assert_eq!(ids(&h.lookup(&q(Some((LookupKey::AccessKeyId, "AKIA1")), None, 50), NOW).unwrap()), ["b", "a"]);
        assert_eq!(
            ids(&h.lookup(&q(Some((LookupKey::EventId, "c")), None, 50), NOW).unwrap()),
            Vec::<&str>::new(),
            "other region"
        );
        let mut bounded = q(None, None, 50);
        bounded.start_ms = NOW - 2000;
        bounded.end_ms = NOW - 2000;
        assert_eq!(ids(&h.lookup(&bounded, NOW).unwrap()), ["b"], "bounds are inclusive");
        let mut other = q(None, None, 50);
        other.account_id = "222222222222";
        assert!(h.lookup(&other, NOW).unwrap().events.is_empty());
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
        assert_eq!(ids(&h.lookup(&q(None, None, 50), later).unwrap()), ["fresh"]);
        assert_eq!(h.len(), 2);
        assert_eq!(h.expire(later).unwrap(), 1);
        assert_eq!(h.len(), 1);
        assert!(h.lookup(&q(Some((LookupKey::EventId, "edge")), None, 50), later).unwrap().events.is_empty());
    }

    #[test]
    fn data_events_stay_out_and_insights_are_apart() {
        let h = History::new();
        let data = json!({"eventTime": time(NOW), "eventID": "d", "eventName": "GetObject", "eventSource": "s3.amazonaws.com",
            "awsRegion": "eu-west-1", "recipientAccountId": "111111111111", "managementEvent": false, "eventCategory": "Data"}).to_string();
        let insight = json!({"eventTime": time(NOW), "eventID": "i", "eventName": "CreateTrail", "eventSource": "cloudtrail.amazonaws.com",
            "awsRegion": "eu-west-1", "recipientAccountId": "111111111111", "eventCategory": "Insight", "eventType": "AwsCloudTrailInsight"}).to_string();
        assert_eq!(h.insert_batch([(0, data.as_bytes()), (1, insight.as_bytes())], NOW), 1);
        assert!(h.lookup(&q(None, None, 50), NOW).unwrap().events.is_empty());
        let mut qi = q(None, None, 50);
        qi.category = Category::Insight;
        assert_eq!(ids(&h.lookup(&qi, NOW).unwrap()), ["i"]);
    }
}
