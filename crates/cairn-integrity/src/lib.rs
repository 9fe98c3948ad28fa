//! cairn's log file integrity, as CloudTrail's log file validation provides it: per-region signing keys
//! ([`keys`], listed by ListPublicKeys) that sign the hourly digest files chaining a trail's log files.

pub mod keys;

pub use keys::{fingerprint, verify, KeyError, PublicKey, SigningKey, SigningKeys};
