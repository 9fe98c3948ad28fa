//! cairn's log file integrity, as CloudTrail's log file validation provides it: per-region signing keys
//! ([`keys`], listed by ListPublicKeys) that sign the hourly digest files ([`digest`]) chaining a trail's log files,
//! the per-event Merkle trees ([`merkle`]) cairn adds to them, the checks validators make ([`check`]), and the
//! signed results of CloudTrail Lake queries ([`results`]).

pub mod check;
pub mod digest;
pub mod fuzz;
pub mod keys;
pub mod merkle;
pub mod results;

pub use keys::{fingerprint, is_public_key, load_or_create, verify, KeyError, PublicKey, SigningKey, SigningKeys};
