//! Why a policy document was refused: one message, worded as the service that holds the policy words it.

/// A policy that cannot be stored. The message is what the service returns with its malformed-policy error code
/// (`MalformedPolicy` for S3, `MalformedPolicyDocumentException` for KMS).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    /// Services answer an oversized policy with another code than a malformed one (KMS: `LimitExceededException`).
    pub too_large: bool,
    pub message: String,
}

impl PolicyError {
    pub fn new(message: impl Into<String>) -> PolicyError {
        PolicyError { too_large: false, message: message.into() }
    }
}
