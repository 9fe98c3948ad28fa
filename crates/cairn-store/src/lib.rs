//! cairn's event store. Today: event history, the always-on store of the last 90 days of management events per
//! account and region that LookupEvents queries, fed from the journal.

pub mod extract;
pub mod history;

pub use extract::{EventFields, LookupKey};
pub use history::{Category, Cursor, History, Page, Query, StoredEvent, RETENTION_MS};
