//! cairn's event store. Today: event history, the always-on store of the last 90 days of management events per
//! account and region that LookupEvents queries, fed from the journal: an in-memory tail of recent events and
//! Parquet files by date with their lookup indexes, and SQL over it on Apache DataFusion ([`query`]).

use std::path::{Path, PathBuf};

mod chunks;
mod count_by_view;
pub mod extract;
pub mod history;
mod index;
pub mod lake;

/// Entry points for the fuzz targets in `fuzz/`.
#[doc(hidden)]
pub mod fuzz {
    pub use crate::index::fuzz_open as history_index;
    pub use crate::lake::sql::fuzz_statement as lake_sql;
    pub use crate::query::fuzz_statement as history_sql;
}
pub mod query;
mod segment;
mod tail;

pub use extract::{EventFields, LookupKey};
pub use history::{Category, Cursor, FlushStats, History, Page, Query, StoredEvent, RETENTION_MS};
pub use query::{query, QueryLimits, QueryResult};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A query the engine refuses or cannot evaluate: its syntax, names, types or values.
    #[error("{0}")]
    InvalidQuery(String),
    /// A query that needed more memory than its budget.
    #[error("{0}")]
    QueryResources(String),
    /// The query engine failed for a reason of its own.
    #[error("query engine: {0}")]
    Engine(String),
    /// An encrypted store whose data key is not available now (its KMS key cannot be used).
    #[error("event data store {store} is encrypted and its KMS key cannot be used now")]
    KeyUnavailable { store: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// Removes a file; one already gone is not an error.
pub(crate) fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path)(e)),
        _ => Ok(()),
    }
}
