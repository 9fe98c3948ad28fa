//! The store's failures, and the one place they become S3's error codes.

use s3s::{S3Error, S3ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("The specified bucket does not exist")]
    NoSuchBucket,
    #[error("Your previous request to create the named bucket succeeded and you already own it.")]
    BucketAlreadyOwnedByYou,
    #[error("The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")]
    BucketAlreadyExists,
    #[error("The bucket you tried to delete is not empty")]
    BucketNotEmpty,
    #[error("The specified key does not exist.")]
    NoSuchKey,
    #[error("The bucket policy does not exist")]
    NoSuchBucketPolicy,
    #[error("The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")]
    NoSuchUpload,
    #[error("One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")]
    InvalidPart,
    #[error("The list of parts was not in ascending order. Parts must be ordered by part number.")]
    InvalidPartOrder,
    #[error("Your proposed upload is smaller than the minimum allowed object size.")]
    EntityTooSmall,
    #[error("Your proposed upload exceeds the maximum allowed size")]
    EntityTooLarge,
    #[error("{0}")]
    InvalidArgument(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("index: {0}")]
    Index(#[from] rusqlite::Error),
}

impl StoreError {
    /// S3's code for the failure.
    pub fn code(&self) -> S3ErrorCode {
        match self {
            StoreError::NoSuchBucket => S3ErrorCode::NoSuchBucket,
            StoreError::BucketAlreadyOwnedByYou => S3ErrorCode::BucketAlreadyOwnedByYou,
            StoreError::BucketAlreadyExists => S3ErrorCode::BucketAlreadyExists,
            StoreError::BucketNotEmpty => S3ErrorCode::BucketNotEmpty,
            StoreError::NoSuchKey => S3ErrorCode::NoSuchKey,
            StoreError::NoSuchBucketPolicy => S3ErrorCode::NoSuchBucketPolicy,
            StoreError::NoSuchUpload => S3ErrorCode::NoSuchUpload,
            StoreError::InvalidPart => S3ErrorCode::InvalidPart,
            StoreError::InvalidPartOrder => S3ErrorCode::InvalidPartOrder,
            StoreError::EntityTooSmall => S3ErrorCode::EntityTooSmall,
            StoreError::EntityTooLarge => S3ErrorCode::EntityTooLarge,
            StoreError::InvalidArgument(_) => S3ErrorCode::InvalidArgument,
            StoreError::Io(_) | StoreError::Index(_) => S3ErrorCode::InternalError,
        }
    }
}

impl From<StoreError> for S3Error {
    fn from(e: StoreError) -> S3Error {
        let code = e.code();
        if code == S3ErrorCode::InternalError {
            tracing::error!(error = %e, "bucket store failure");
            return S3Error::with_message(code, "We encountered an internal error. Please try again.");
        }
        S3Error::with_message(code, e.to_string())
    }
}
