//! cairn's log file integrity, as CloudTrail's log file validation provides it: per-region signing keys
//! ([`keys`], listed by ListPublicKeys) that sign the hourly digest files ([`digest`]) chaining a trail's log files,
//! the per-event Merkle trees ([`merkle`]) cairn adds to them, and the checks validators make ([`check`]).

pub mod check;
pub mod digest;
pub mod fuzz;
pub mod keys;
pub mod merkle;

pub use keys::{fingerprint, is_public_key, verify, KeyError, PublicKey, SigningKey, SigningKeys};
