//! cairn's trail delivery: the buckets trails write to (local directories or any S3-compatible endpoint, through
//! `object_store`), CloudTrail log files in AWS's exact layout, and per-trail engines that batch the records a trail
//! selects and write each exactly once, through crashes and storage outages; and the signed digest files that chain
//! a validating trail's log files.

pub mod digest;
pub mod layout;
pub mod state;
pub mod storage;
pub mod trail;

pub use layout::Destination;
pub use state::{DeliveryStatus, StateError, TrailState};
pub use storage::{Storage, StorageConfig, StoreError, StoreErrorKind};
pub use trail::{Settings, TrailDelivery, Version};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
