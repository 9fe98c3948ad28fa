//! CloudTrail Lake's event data stores: each store's events in the Lake schema ([`schema`]), as an in-memory tail
//! of the records applied since the last flush plus Parquet files by date ([`files`]), and SQL over them as Lake
//! runs it ([`sql`]).
//!
//! The server's `lake` journal consumer decides which records each store takes and [`Lake::insert`]s them; the
//! flusher writes every store's tail below a position to files and then saves the consumer's checkpoint, so the
//! files of all stores cover exactly the journal below it (files past it are removed at open and their records
//! applied again). Retention drops whole dates once they are past, and queries never see an event past it.
//!
//! A store encrypted with a KMS key ([`Lake::set_key`]) writes every file encrypted with its data key
//! ([`crypt`]); while the server cannot use the KMS key (disabled, pending deletion, its policy changed), the store
//! has no data key here and its events are dropped at flush rather than written in clear, as CloudTrail stops
//! logging to such a store.

mod compact;
pub mod crypt;
pub(crate) mod dialect;
pub mod files;
pub mod functions;
pub mod import;
mod rows;
pub mod samples;
pub mod schema;
pub mod sql;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use arrow_array::RecordBatch;

pub use compact::{LakeCompaction, COMPACT_FILES};
pub use crypt::DataKey;
pub use files::LakeFile;
pub use schema::TableKind;
pub use sql::{LakeAnswer, LakeLimits, QueryStats};

use crate::chunks::{Chunks, Timed, View};
use crate::segment::date_of;
use crate::Result;

/// A record applied to a store and not yet in its files.
#[derive(Debug, Clone)]
pub struct TailEvent {
    pub seq: u64,
    pub time_ms: i64,
    pub record: Arc<[u8]>,
}

/// One store's data.
#[derive(Debug)]
struct StoreData {
    kind: TableKind,
    tail: Chunks<TailEvent>,
    tail_bytes: usize,
    files: Vec<Arc<LakeFile>>,
    key: StoreKey,
}

/// How a store's files are written.
#[derive(Debug, Clone, Default)]
pub enum StoreKey {
    /// In clear.
    #[default]
    Clear,
    /// Encrypted with the store's data key.
    Keyed(DataKey),
    /// Encrypted, and the KMS key cannot be used now: nothing is written, encrypted files cannot be read.
    Unavailable,
}

impl StoreKey {
    fn data_key(&self) -> Option<DataKey> {
        match self {
            StoreKey::Keyed(k) => Some(k.clone()),
            _ => None,
        }
    }
}

impl StoreData {
    fn new(kind: TableKind) -> StoreData {
        StoreData { kind, tail: Chunks::default(), tail_bytes: 0, files: Vec::new(), key: StoreKey::Clear }
    }

    /// The key new files are written with: none for a store in clear; an error for an encrypted store whose key
    /// cannot be used now.
    fn writing_key(&self, id: &str) -> Result<Option<DataKey>> {
        match &self.key {
            StoreKey::Clear => Ok(None),
            StoreKey::Keyed(k) => Ok(Some(k.clone())),
            StoreKey::Unavailable => Err(crate::Error::KeyUnavailable { store: id.to_string() }),
        }
    }
}

/// What a query reads of one store: its tail and files as of the query's start, and its retention cut-off.
#[derive(Debug, Clone)]
pub struct StoreSnapshot {
    pub kind: TableKind,
    pub tail: View<TailEvent>,
    pub files: Vec<Arc<LakeFile>>,
    /// Events before this eventTime (milliseconds) are past retention.
    pub cutoff_ms: i64,
    /// The data key of the store's encrypted files.
    pub key: Option<DataKey>,
}

impl StoreSnapshot {
    /// A store with no data yet.
    pub fn empty(kind: TableKind, cutoff_ms: i64) -> StoreSnapshot {
        StoreSnapshot { kind, tail: View::default(), files: Vec::new(), cutoff_ms, key: None }
    }
}

/// Every event data store's data, under `<data>/lake/<store id>/`.
#[derive(Debug)]
pub struct Lake {
    dir: PathBuf,
    stores: RwLock<BTreeMap<String, StoreData>>,
}

/// What a flush wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LakeFlush {
    pub events: usize,
    pub files: usize,
    /// Events of encrypted stores whose KMS key could not be used, dropped rather than written in clear.
    pub dropped: usize,
}

impl Lake {
    /// Opens the stores' directories. `checkpoint` is the `lake` consumer's: files built from records at or past it
    /// are removed (the records are applied again). Stores are known by their directories until the server
    /// [`Lake::declare`]s them with their kind.
    pub fn open(dir: &Path, checkpoint: u64) -> Result<Lake> {
        std::fs::create_dir_all(dir).map_err(crate::io(dir))?;
        let mut stores = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(crate::io(dir))? {
            let entry = entry.map_err(crate::io(dir))?;
            if !entry.file_type().map_err(crate::io(dir))?.is_dir() {
                continue;
            }
            let id = entry.file_name().to_string_lossy().into_owned();
            let mut data = StoreData::new(TableKind::CloudTrail);
            data.files = files::open_dir(&entry.path(), checkpoint)?.into_iter().map(Arc::new).collect();
            stores.insert(id, data);
        }
        Ok(Lake { dir: dir.to_path_buf(), stores: RwLock::new(stores) })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, StoreData>> {
        self.stores.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, StoreData>> {
        self.stores.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes a store known with its kind (creating its data if it has none).
    pub fn declare(&self, id: &str, kind: TableKind) {
        self.write().entry(id.to_string()).or_insert_with(|| StoreData::new(kind)).kind = kind;
    }

    /// Sets how a declared store writes and reads its files from now on.
    pub fn set_key(&self, id: &str, key: StoreKey) {
        if let Some(d) = self.write().get_mut(id) {
            d.key = key;
        }
    }

    /// The store's data key, when it encrypts its files and its KMS key can be used now.
    pub fn data_key(&self, id: &str) -> Option<DataKey> {
        self.read().get(id).and_then(|d| d.key.data_key())
    }

    /// The ids of every store with data.
    pub fn store_ids(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// Applies one record (at journal sequence `seq`, eventTime `time_ms`) to a store.
    pub fn insert(&self, id: &str, kind: TableKind, seq: u64, time_ms: i64, record: Arc<[u8]>) {
        let mut stores = self.write();
        let data = stores.entry(id.to_string()).or_insert_with(|| StoreData::new(kind));
        data.tail_bytes += record.len();
        data.tail.push(TailEvent { seq, time_ms, record });
    }

    /// Events and bytes in every store's tail.
    pub fn tail_size(&self) -> (usize, usize) {
        self.read().values().fold((0, 0), |(e, b), d| (e + d.tail.len(), b + d.tail_bytes))
    }

    /// Writes every store's tail events below `upto` to files (one per store and date) and drops them from the
    /// tails. The caller saves the checkpoint at `upto` afterwards.
    pub fn flush(&self, upto: u64) -> Result<LakeFlush> {
        // Conversion and writing happen outside the lock; the tails keep taking records meanwhile.
        type Work = (String, TableKind, Vec<TailEvent>, Result<Option<DataKey>>);
        let work: Vec<Work> = self
            .read()
            .iter()
            .map(|(id, d)| {
                let events = d.tail.iter().filter(|e| e.seq < upto).cloned().collect::<Vec<_>>();
                (id.clone(), d.kind, events, d.writing_key(id))
            })
            .filter(|(_, _, events, _)| !events.is_empty())
            .collect();
        let mut stats = LakeFlush::default();
        let mut written: Vec<(String, Vec<LakeFile>)> = Vec::new();
        for (id, kind, mut events, key) in work {
            let Ok(key) = key else {
                tracing::warn!(
                    store = id,
                    events = events.len(),
                    "dropping events of an encrypted event data store whose KMS key cannot be used"
                );
                stats.dropped += events.len();
                written.push((id, Vec::new()));
                continue;
            };
            events.sort_by_key(|e| (e.time_ms, e.seq));
            let mut store_files = Vec::new();
            for day in events.chunk_by(|a, b| date_of(a.time_ms) == date_of(b.time_ms)) {
                let lo = day.iter().map(|e| e.seq).min().unwrap_or(0);
                let hi = day.iter().map(|e| e.seq).max().unwrap_or(0);
                let batch = self::batch(kind, day)?;
                let date = date_of(day[0].time_ms);
                store_files.push(files::write(&self.dir.join(&id), &date, (lo, hi), &[batch], key.as_ref())?);
                stats.files += 1;
            }
            stats.events += events.len();
            written.push((id, store_files));
        }
        let mut stores = self.write();
        for (id, new_files) in written {
            if let Some(d) = stores.get_mut(&id) {
                d.tail.retain(|e| e.seq >= upto);
                d.tail_bytes = d.tail.iter().map(|e| e.record.len()).sum();
                d.files.extend(new_files.into_iter().map(Arc::new));
            }
        }
        Ok(stats)
    }

    /// Drops a store's dates wholly before `cutoff_ms` and its tail events before it; returns the files dropped.
    pub fn expire(&self, id: &str, cutoff_ms: i64) -> usize {
        let cutoff_date = date_of(cutoff_ms);
        let mut stores = self.write();
        let Some(d) = stores.get_mut(id) else { return 0 };
        d.tail.retain(|e| e.time_ms >= cutoff_ms);
        d.tail_bytes = d.tail.iter().map(|e| e.record.len()).sum();
        let before = d.files.len();
        d.files.retain(|f| {
            let keep = f.date >= cutoff_date;
            if !keep {
                f.retire();
            }
            keep
        });
        before - d.files.len()
    }

    /// Removes a store and all its data (its files go once no query holds them).
    pub fn remove(&self, id: &str) -> Result<()> {
        if let Some(d) = self.write().remove(id) {
            d.files.iter().for_each(|f| f.retire());
        }
        let dir = self.dir.join(id);
        // Empty date directories and the store directory; files still held by queries keep theirs until dropped.
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let _ = std::fs::remove_dir(e.path());
            }
        }
        match std::fs::remove_dir(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound && e.kind() != std::io::ErrorKind::DirectoryNotEmpty => {
                Err(crate::io(&dir)(e))
            }
            _ => Ok(()),
        }
    }

    /// A store's data as of now, for a query; `None` for a store with no data yet.
    pub fn snapshot(&self, id: &str, cutoff_ms: i64) -> Option<StoreSnapshot> {
        let stores = self.read();
        let d = stores.get(id)?;
        Some(StoreSnapshot {
            kind: d.kind,
            tail: d.tail.view(cutoff_ms),
            files: d.files.iter().filter(|f| f.date >= date_of(cutoff_ms)).cloned().collect(),
            cutoff_ms,
            key: d.key.data_key(),
        })
    }
}

impl Timed for TailEvent {
    fn time_ms(&self) -> i64 {
        self.time_ms
    }
}

/// Tail events as one batch of the kind's schema.
pub(crate) fn batch(kind: TableKind, events: &[TailEvent]) -> Result<RecordBatch> {
    let records: Vec<&[u8]> = events.iter().map(|e| &e.record[..]).collect();
    schema::records_batch(&kind.schema(), &records)
}
