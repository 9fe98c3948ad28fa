//! CloudWatch Logs for cairn: log groups and streams, their events kept durably ([`store`]), metric filters, tags,
//! and the API over them ([`api`]); and the filter pattern language ([`pattern`]) that metric filters,
//! FilterLogEvents and TestMetricFilter use, parsed and checked as AWS checks it.

pub mod api;
pub mod fuzz;
mod operation;
pub mod pattern;
pub mod store;

use std::path::Path;

pub use api::Call;
pub use operation::{Operation, TARGET_PREFIX};
pub use pattern::{FilterPattern, LogEvent, Match, PatternKind};

/// cairn's CloudWatch Logs: the store every operation works on.
#[derive(Debug)]
pub struct Logs {
    store: store::Store,
}

impl Logs {
    /// Opens (creating) the log data under `dir` (`<data>/logs`).
    pub fn open(dir: &Path) -> Result<Logs> {
        Ok(Logs { store: store::Store::open(dir)? })
    }

    /// Whether an account and region has a log group of this name.
    pub fn has_group(&self, account: &str, region: &str, name: &str) -> Result<bool> {
        Ok(self.store.group(account, region, name)?.is_some())
    }

    /// Delivers events (timestamp, message, source) into a group's stream (created if need be), as a trail sends its
    /// events: once per source, whatever replays. How many were new.
    pub fn deliver(
        &self,
        (account, region, group): (&str, &str, &str),
        stream: &str,
        events: &[(i64, &str, String)],
        now_ms: i64,
    ) -> Result<usize> {
        let g = self
            .store
            .group(account, region, group)?
            .ok_or_else(|| Error::GroupNotFound(format!("log group {group} does not exist in {account} {region}")))?;
        self.store.deliver(g.id, stream, events, now_ms)
    }

    /// Deletes the events each group's retention no longer keeps at `now_ms`; how many went.
    pub fn expire(&self, now_ms: i64) -> Result<usize> {
        self.store.expire(now_ms)
    }
}

/// Why a filter pattern is refused: AWS answers `InvalidParameterException` for every one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The pattern is over 1,024 characters.
    #[error("filter pattern is {0} characters, more than 1024")]
    TooLong(usize),
    /// The pattern does not parse or uses a form AWS does not support; the text says which part and why.
    #[error("invalid filter pattern: {0}")]
    Invalid(String),
    /// A log group something is delivered to does not exist (any more).
    #[error("{0}")]
    GroupNotFound(String),
    /// The log database failed.
    #[error("log storage: {0}")]
    Storage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn invalid<T>(message: impl Into<String>) -> Result<T> {
    Err(Error::Invalid(message.into()))
}
