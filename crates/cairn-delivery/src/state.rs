//! A trail's durable delivery state: per stream (destination, account, region) the journal position below which
//! everything has been delivered, and the files it has decided to write but not yet confirmed (intents); and the
//! delivery status GetTrailStatus reports; and per stream its digest chain and the digests sealed but not yet
//! written (see [`crate::digest`]).
//!
//! # Exactly once
//! Before a file is written, its intent (journal range, delivery time and object key) is saved here. After a crash
//! the consumer replays the journal from its checkpoint, which is never past the first record of an undelivered
//! file: records inside an intent's range rebuild exactly that file (same records, same key), records at or below a
//! stream's watermark are skipped, and the rest form new files. So every selected record lands in exactly one object.
//!
//! # On disk
//! `<dir>/<consumer>.json`, replaced atomically (write a temporary file, fsync, rename, fsync the directory).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::{Chain, SealedDigest};
use crate::layout::Destination;

/// What GetTrailStatus reports about a trail's deliveries; times in milliseconds since the epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStatus {
    /// The last time a log file was delivered.
    pub latest_delivery_ms: Option<i64>,
    /// The last time a delivery was attempted, successful or not.
    pub latest_attempt_ms: Option<i64>,
    /// The last time an attempt succeeded.
    pub latest_attempt_succeeded_ms: Option<i64>,
    /// The storage's error code of the last attempt, if it failed.
    pub latest_error: Option<String>,
    pub delivered_files: u64,
    pub delivered_events: u64,
    pub failed_attempts: u64,
    /// The last time a digest file was delivered.
    #[serde(default)]
    pub latest_digest_delivery_ms: Option<i64>,
    /// The storage's error code of the last digest delivery, if it failed.
    #[serde(default)]
    pub latest_digest_error: Option<String>,
}

/// A file decided on but not yet confirmed written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// First and last journal sequence of the file's records.
    pub lo: u64,
    pub hi: u64,
    pub at_ms: i64,
    pub key: String,
    pub kms_key: Option<String>,
    /// How many records the file holds (0 in state saved before this was kept: unchecked).
    #[serde(default)]
    pub records: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    pub destination: Option<Destination>,
    /// Every record of this stream below this sequence is in a delivered file.
    pub delivered_below: u64,
    /// Files to write, in journal order.
    pub intents: Vec<Intent>,
    /// The open digest chain, while the trail validates this stream's files.
    #[serde(default)]
    pub chain: Option<Chain>,
    /// Sealed digests to write, oldest first.
    #[serde(default)]
    pub digests: Vec<SealedDigest>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailState {
    /// By stream id (`bucket/prefix/org/account/region`).
    pub streams: BTreeMap<String, StreamState>,
    pub status: DeliveryStatus,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("delivery state {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("delivery state {path} is corrupt: {why}")]
    Corrupt { path: PathBuf, why: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io { path: path.to_path_buf(), source }
}

impl TrailState {
    /// Loads the state at `path`; a missing file is a new trail's empty state.
    pub fn load(path: &Path) -> Result<TrailState, StateError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| StateError::Corrupt { path: path.to_path_buf(), why: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TrailState::default()),
            Err(e) => Err(StateError::Io { path: path.to_path_buf(), source: e }),
        }
    }

    /// Replaces the state at `path` durably.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(self)
            .map_err(|e| StateError::Corrupt { path: path.to_path_buf(), why: e.to_string() })?;
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))?;
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
    }

    /// Removes the state file (the trail is gone and everything delivered).
    pub fn remove(path: &Path) -> Result<(), StateError> {
        match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StateError::Io { path: path.to_path_buf(), source: e }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_missing_is_empty() {
        let dir = std::env::temp_dir().join(format!("cairn-dstate-{}", std::process::id()));
        let path = dir.join("trail-x.json");
        assert_eq!(TrailState::load(&path).unwrap(), TrailState::default());
        let mut s = TrailState::default();
        s.streams.insert(
            "s".into(),
            StreamState {
                destination: None,
                delivered_below: 7,
                intents: vec![Intent { lo: 7, hi: 9, at_ms: 1, key: "k".into(), kms_key: None, records: 3 }],
                chain: Some(Chain::new(5_000)),
                digests: Vec::new(),
            },
        );
        s.status.latest_error = Some("AccessDenied".into());
        s.save(&path).unwrap();
        assert_eq!(TrailState::load(&path).unwrap(), s);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(TrailState::load(&path), Err(StateError::Corrupt { .. })));
        TrailState::remove(&path).unwrap();
        TrailState::remove(&path).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
