//! cairn's own buckets: a durable object store ([`store`]) served over the S3 protocol, with bucket policies
//! evaluated by `cairn-policy` and objects encrypted at rest with keys of `cairn-kms` ([`sse`]).

pub mod access;
pub mod error;
pub mod service;
pub mod sse;
pub mod store;

pub use error::StoreError;
pub use service::{Buckets, Directory, Parsed, ParsedSlot, Peer};
pub use store::{Bucket, Listing, Object, ObjectMeta, Part, Store, Upload};
