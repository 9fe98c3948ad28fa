//! cairn's domain model: accounts, regions, ARNs, trails, selectors and tags, with the rules AWS applies to them.
//!
//! Nothing here performs I/O or knows about HTTP; the protocol layer (`cairn-api`) maps [`Error`] to AWS error codes.

pub mod arn;
pub mod channel;
pub mod dashboard;
pub mod event;
pub mod event_config;
pub mod names;
pub mod select;
pub mod selectors;
pub mod store;
pub mod tags;
pub mod trail;

pub use arn::{Arn, ResourceKind};
pub use channel::Channel;
pub use dashboard::Dashboard;
pub use select::EventView;
pub use selectors::{
    AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector, EventSelectors, InsightSelector,
};
pub use store::{EventDataStore, StoreStatus};
pub use tags::Tag;
pub use trail::{LoggingState, Trail};

/// A rule of the domain was broken; each variant corresponds to one AWS exception.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidTrailName(String),
    #[error("{0}")]
    InvalidS3BucketName(String),
    #[error("{0}")]
    InvalidS3Prefix(String),
    #[error("{0}")]
    InvalidSnsTopicName(String),
    #[error("{0}")]
    InvalidKmsKeyId(String),
    #[error("{0}")]
    InvalidCloudWatchLogsLogGroupArn(String),
    #[error("{0}")]
    InvalidCloudWatchLogsRoleArn(String),
    #[error("{0}")]
    InvalidArn(String),
    #[error("{0}")]
    InvalidEventSelectors(String),
    #[error("{0}")]
    InvalidInsightSelectors(String),
    #[error("{0}")]
    InvalidTagParameter(String),
    #[error("{0}")]
    TagsLimitExceeded(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    InvalidParameterCombination(String),
    /// A member violates a constraint of the API model (enum value set, length, pattern).
    #[error("{0}")]
    Validation(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
