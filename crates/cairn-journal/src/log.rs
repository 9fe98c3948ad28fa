//! The log that consumers follow, as a trait: the local [`Journal`](crate::Journal) implements it, and a distributed
//! log (a replicated stream with durable consumer groups) can stand in for it without the consumers changing.

use tokio::sync::watch;

use crate::{Record, Result};

/// A position-keeping reader of a [`Log`].
pub trait Cursor: Send + std::fmt::Debug {
    /// The sequence of the next record this cursor returns.
    fn position(&self) -> u64;
    /// Reads up to `max_records` committed records in order (fewer once `max_bytes` of payload is reached); empty at
    /// the end of the log.
    fn next_batch(&mut self, max_records: usize, max_bytes: usize) -> Result<Vec<Record>>;
}

/// An ordered, durable log of records numbered by a dense sequence, with named consumer checkpoints. A checkpoint
/// `c` of consumer `n` promises that `n` has made durable whatever it does with every record below `c`; the log keeps
/// every record at or above the lowest checkpoint.
pub trait Log: Send + Sync + std::fmt::Debug {
    /// One past the last durable record.
    fn committed(&self) -> u64;
    /// Notified whenever [`Log::committed`] advances.
    fn subscribe(&self) -> watch::Receiver<u64>;
    /// A cursor positioned at `from`.
    fn cursor(&self, from: u64) -> Result<Box<dyn Cursor>>;
    /// Registers consumer `name` (idempotent) and returns its checkpoint; a new consumer starts at `start` (clamped
    /// to the oldest record kept).
    fn register_consumer(&self, name: &str, start: u64) -> Result<u64>;
    /// The saved checkpoint of `name`, if it is registered.
    fn checkpoint(&self, name: &str) -> Option<u64>;
    /// Durably records that `name` has processed every record below `seq`.
    fn save_checkpoint(&self, name: &str, seq: u64) -> Result<()>;
    /// Names of the registered consumers.
    fn consumers(&self) -> Vec<String>;
    /// Forgets consumer `name`: the log no longer keeps records for it.
    fn remove_consumer(&self, name: &str) -> Result<()>;
    /// Releases what every consumer has passed; returns how many units of storage were released.
    fn release_consumed(&self) -> Result<usize>;
}
