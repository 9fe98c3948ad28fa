//! CloudWatch Logs for cairn. So far its filter pattern language: the unstructured, space-delimited and JSON
//! patterns that metric filters, subscription filters, FilterLogEvents and TestMetricFilter use, parsed and checked
//! as AWS checks them, matched against log events, with the values they extract. No I/O.

pub mod fuzz;
pub mod pattern;

pub use pattern::{FilterPattern, Match, PatternKind};

/// Why a filter pattern is refused: AWS answers `InvalidParameterException` for every one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The pattern is over 1,024 characters.
    #[error("filter pattern is {0} characters, more than 1024")]
    TooLong(usize),
    /// The pattern does not parse or uses a form AWS does not support; the text says which part and why.
    #[error("invalid filter pattern: {0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn invalid<T>(message: impl Into<String>) -> Result<T> {
    Err(Error::Invalid(message.into()))
}
