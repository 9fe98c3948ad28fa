//! cairn's journal: one ordered, durable log of records (events), numbered by sequence. An append is acknowledged
//! only after its records are fsynced; concurrent appends share one fsync (group commit). Every consumer reads from
//! its own durable checkpoint; segments wholly below the lowest checkpoint can be deleted.
//!
//! # On-disk format
//!
//! ```text
//! <dir>/segments/<base seq, 20 decimal digits>.log
//!     segment     = header record*
//!     header      = "CAIRNJL1" base_seq:u64le                      (16 bytes)
//!     record      = len:u32le crc:u32le seq:u64le payload[len]       (16 bytes + payload)
//!     crc         = CRC32C(seq:u64le || payload)
//! <dir>/checkpoints/<consumer>.ckpt
//!     checkpoint  = "CAIRNCK1" seq:u64le crc:u32le                   crc = CRC32C(seq:u64le)
//! ```
//!
//! Sequence numbers start at 0 and are dense: record `n` of a segment has sequence `base_seq + n`. A checkpoint
//! `c` means "every record with sequence below `c` has been processed".
//!
//! # Writes and durability
//!
//! A single writer thread owns the active (last) segment. It takes every append request waiting in its queue,
//! writes their records in order with one `write`, calls `fdatasync` once, and only then publishes the new
//! committed sequence and answers the requests. A new segment is created (header written, file and directory
//! fsynced) when the active one exceeds the configured size. If a write or fsync fails the journal stops accepting
//! appends: after a failed fsync nothing can be said about what reached the disk, so it must be reopened.
//!
//! # Recovery
//!
//! Opening the journal scans the last segment from its header: the first record that is short, longer than the
//! record limit, fails its CRC, or does not carry the next sequence marks a torn tail, which is truncated away
//! (then fsynced). Every complete record before it is kept. The bytes cut off are first copied to
//! `<segment>.torn-<offset>` beside the segment, so that nothing is ever destroyed: after a power loss they are an
//! unacknowledged write, but a damaged disk could also put a bad record in the middle of good ones, and an
//! operator can then recover the rest. A last segment whose header never became durable (shorter than a header, or
//! a header that does not match its name with nothing after it) held nothing acknowledged and is removed. Sealed
//! segments were fsynced before the next one was created and are not rescanned; readers verify every record's CRC
//! and sequence as they read. Recovery and readers accept record lengths up to a fixed on-disk cap, whatever the
//! configured append limit.

mod checkpoint;
mod log;
mod reader;
mod writer;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

pub use log::{Cursor, Log};
pub use reader::{Reader, Record};

/// Segment header magic.
const SEGMENT_MAGIC: &[u8; 8] = b"CAIRNJL1";
const HEADER_LEN: u64 = 16;
const RECORD_HEADER_LEN: usize = 16;
/// The largest record length recovery and readers believe. Fixed, so that lowering the configured append limit
/// never turns acknowledged records into a "torn tail".
pub(crate) const ON_DISK_RECORD_CAP: u32 = 1 << 30;
/// Most payload bytes one group commit writes.
pub(crate) const MAX_BATCH_BYTES: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("journal I/O on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("record of {len} bytes is larger than the journal's {max}-byte limit")]
    RecordTooLarge { len: usize, max: u32 },
    #[error("journal is corrupt at {path} offset {offset}: {why}")]
    Corrupt { path: PathBuf, offset: u64, why: String },
    #[error("sequence {seq} is no longer in the journal (oldest kept is {first})")]
    Truncated { seq: u64, first: u64 },
    #[error("journal stopped accepting writes after a failure: {0}")]
    Failed(String),
    #[error("consumer name {0:?} must be 1-64 of [a-z0-9._-]")]
    InvalidConsumer(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// Tuning of a journal.
#[derive(Debug, Clone)]
pub struct Options {
    /// A new segment starts once the active one is at least this large.
    pub segment_bytes: u64,
    /// Largest payload of one record.
    pub max_record_bytes: u32,
    /// Appends waiting for the writer before callers wait for room (back-pressure).
    pub queue_depth: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { segment_bytes: 64 << 20, max_record_bytes: 4 << 20, queue_depth: 4096 }
    }
}

struct Request {
    records: Vec<Bytes>,
    done: oneshot::Sender<Result<Range<u64>>>,
}

/// State shared by the journal handle, the writer thread and readers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    /// Base sequences of the segments on disk, ascending; the last is the active segment.
    pub(crate) segments: RwLock<Vec<u64>>,
    /// One past the last durable record.
    pub(crate) committed: watch::Sender<u64>,
    pub(crate) checkpoints: Mutex<std::collections::BTreeMap<String, u64>>,
    pub(crate) failed: Mutex<Option<String>>,
    pub(crate) max_record_bytes: u32,
}

impl Shared {
    pub(crate) fn segment_path(&self, base: u64) -> PathBuf {
        segment_path(&self.dir, base)
    }
}

pub(crate) fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join("segments").join(format!("{base:020}.log"))
}

/// The journal. Dropping it finishes pending appends and stops the writer.
#[derive(Debug)]
pub struct Journal {
    shared: Arc<Shared>,
    tx: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request").field("records", &self.records.len()).finish()
    }
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir`, recovering a torn tail.
    pub fn open(dir: &Path, options: Options) -> Result<Journal> {
        let (state, segments) = writer::recover(dir)?;
        let (committed, _) = watch::channel(state.next_seq);
        let checkpoints = checkpoint::load_all(dir)?;
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            segments: RwLock::new(segments),
            committed,
            checkpoints: Mutex::new(checkpoints),
            failed: Mutex::new(None),
            max_record_bytes: options.max_record_bytes,
        });
        let (tx, rx) = mpsc::channel(options.queue_depth.max(1));
        let writer_shared = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("cairn-journal-writer".into())
            .spawn(move || writer::run(writer_shared, state, options, rx))
            .map_err(io(dir))?;
        Ok(Journal { shared, tx: Some(tx), writer: Some(writer) })
    }

    /// Why the journal stopped accepting appends, if it did.
    pub fn failure(&self) -> Option<String> {
        self.shared.failed.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn check(&self, records: &[Bytes]) -> Result<()> {
        if let Some(why) = self.shared.failed.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Err(Error::Failed(why));
        }
        let max = self.shared.max_record_bytes;
        match records.iter().find(|r| r.len() > max as usize) {
            Some(r) => Err(Error::RecordTooLarge { len: r.len(), max }),
            None => Ok(()),
        }
    }

    /// Checks the records and builds the writer's request; `Err(range)` when there is nothing to write.
    #[allow(clippy::type_complexity)]
    fn prepare(
        &self,
        records: Vec<Bytes>,
    ) -> Result<Result<(&mpsc::Sender<Request>, Request, oneshot::Receiver<Result<Range<u64>>>), Range<u64>>> {
        self.check(&records)?;
        if records.is_empty() {
            let end = self.committed();
            return Ok(Err(end..end));
        }
        let tx = self.tx.as_ref().ok_or_else(|| Error::Failed("journal is closed".into()))?;
        let (done, rx) = oneshot::channel();
        Ok(Ok((tx, Request { records, done }, rx)))
    }

    /// Appends records in order; returns their sequence numbers once they are durable.
    pub async fn append(&self, records: Vec<Bytes>) -> Result<Range<u64>> {
        let stopped = || Error::Failed("journal writer stopped".into());
        match self.prepare(records)? {
            Err(empty) => Ok(empty),
            Ok((tx, req, rx)) => {
                tx.send(req).await.map_err(|_| stopped())?;
                rx.await.map_err(|_| stopped())?
            }
        }
    }

    /// [`Journal::append`] for callers outside an async runtime.
    pub fn append_blocking(&self, records: Vec<Bytes>) -> Result<Range<u64>> {
        let stopped = || Error::Failed("journal writer stopped".into());
        match self.prepare(records)? {
            Err(empty) => Ok(empty),
            Ok((tx, req, rx)) => {
                tx.blocking_send(req).map_err(|_| stopped())?;
                rx.blocking_recv().map_err(|_| stopped())?
            }
        }
    }

    /// One past the last durable record: the sequence the next record will get.
    pub fn committed(&self) -> u64 {
        *self.shared.committed.borrow()
    }

    /// The oldest sequence still in the journal.
    pub fn first_seq(&self) -> u64 {
        self.shared.segments.read().unwrap_or_else(|e| e.into_inner()).first().copied().unwrap_or(0)
    }

    /// Notified whenever the committed sequence advances.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.committed.subscribe()
    }

    /// A reader positioned at `from`.
    pub fn reader(&self, from: u64) -> Result<Reader> {
        Reader::new(Arc::clone(&self.shared), from)
    }

    /// Registers a consumer (idempotent) and returns its checkpoint; a new consumer starts at the oldest record.
    pub fn register_consumer(&self, name: &str) -> Result<u64> {
        self.register_consumer_at(name, 0)
    }

    /// Registers a consumer (idempotent) and returns its checkpoint; a new consumer starts at `start`, or at the
    /// oldest record kept if that is later (or at the end of the journal if `start` is past it).
    pub fn register_consumer_at(&self, name: &str, start: u64) -> Result<u64> {
        checkpoint::validate_name(name)?;
        // Held across reading the oldest record and recording it, so no deletion runs in between.
        let mut checkpoints = self.shared.checkpoints.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = checkpoints.get(name) {
            return Ok(*c);
        }
        let at = start.max(self.first_seq()).min(self.committed());
        checkpoint::save(&self.shared.dir, name, at)?;
        checkpoints.insert(name.to_string(), at);
        Ok(at)
    }

    /// Removes consumer `name` and its checkpoint file; segments are no longer kept for it.
    pub fn remove_consumer(&self, name: &str) -> Result<()> {
        checkpoint::validate_name(name)?;
        let mut checkpoints = self.shared.checkpoints.lock().unwrap_or_else(|e| e.into_inner());
        checkpoint::remove(&self.shared.dir, name)?;
        checkpoints.remove(name);
        Ok(())
    }

    pub fn checkpoint(&self, name: &str) -> Option<u64> {
        self.shared.checkpoints.lock().unwrap_or_else(|e| e.into_inner()).get(name).copied()
    }

    /// Durably records that consumer `name` has processed every record below `seq`.
    pub fn save_checkpoint(&self, name: &str, seq: u64) -> Result<()> {
        checkpoint::validate_name(name)?;
        let seq = seq.min(self.committed());
        checkpoint::save(&self.shared.dir, name, seq)?;
        self.shared.checkpoints.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), seq);
        Ok(())
    }

    /// Deletes the segments every registered consumer has passed; returns how many were deleted. Without any
    /// registered consumer nothing is deleted.
    pub fn delete_consumed(&self) -> Result<usize> {
        // Held through the deletion, so a consumer registering meanwhile cannot start below what is deleted.
        let checkpoints = self.shared.checkpoints.lock().unwrap_or_else(|e| e.into_inner());
        let low = checkpoints.values().min().copied();
        match low {
            Some(low) => self.delete_below(low),
            None => Ok(0),
        }
    }

    /// Deletes segments all of whose records are below `seq`; the active segment is always kept.
    fn delete_below(&self, seq: u64) -> Result<usize> {
        let mut segments = self.shared.segments.write().unwrap_or_else(|e| e.into_inner());
        let mut deleted = 0;
        while segments.len() > 1 && segments[1] <= seq {
            let path = self.shared.segment_path(segments[0]);
            std::fs::remove_file(&path).map_err(io(&path))?;
            segments.remove(0);
            deleted += 1;
        }
        if deleted > 0 {
            writer::sync_dir(&self.shared.dir.join("segments"))?;
        }
        Ok(deleted)
    }

    /// Number of segment files on disk.
    pub fn segment_count(&self) -> usize {
        self.shared.segments.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Log for Journal {
    fn committed(&self) -> u64 {
        Journal::committed(self)
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        Journal::subscribe(self)
    }

    fn cursor(&self, from: u64) -> Result<Box<dyn Cursor>> {
        Ok(Box::new(self.reader(from)?))
    }

    fn register_consumer(&self, name: &str, start: u64) -> Result<u64> {
        self.register_consumer_at(name, start)
    }

    fn checkpoint(&self, name: &str) -> Option<u64> {
        Journal::checkpoint(self, name)
    }

    fn save_checkpoint(&self, name: &str, seq: u64) -> Result<()> {
        Journal::save_checkpoint(self, name, seq)
    }

    fn consumers(&self) -> Vec<String> {
        self.shared.checkpoints.lock().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect()
    }

    fn remove_consumer(&self, name: &str) -> Result<()> {
        Journal::remove_consumer(self, name)
    }

    fn release_consumed(&self) -> Result<usize> {
        self.delete_consumed()
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}
