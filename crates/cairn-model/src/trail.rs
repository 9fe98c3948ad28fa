//! A trail: where events go, which events, and whether it is logging.

use serde::{Deserialize, Serialize};

use crate::arn::trail_arn;
use crate::{EventSelectors, InsightSelector};

/// Whether a trail is logging, and when that last changed (milliseconds since the Unix epoch).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggingState {
    pub is_logging: bool,
    pub start_logging_time: Option<i64>,
    pub stop_logging_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trail {
    /// The owning account: for an organization trail, the organization's management account.
    pub account_id: String,
    pub name: String,
    pub home_region: String,
    pub s3_bucket_name: String,
    pub s3_key_prefix: Option<String>,
    /// The SNS topic as given (a name or an ARN).
    pub sns_topic_name: Option<String>,
    pub include_global_service_events: bool,
    pub is_multi_region_trail: bool,
    pub log_file_validation_enabled: bool,
    pub cloud_watch_logs_log_group_arn: Option<String>,
    pub cloud_watch_logs_role_arn: Option<String>,
    /// The KMS key as a fully specified ARN.
    pub kms_key_id: Option<String>,
    /// The organization this trail covers, when it is an organization trail.
    pub organization_id: Option<String>,
    pub recursive_logging: Option<bool>,
    pub event_selectors: EventSelectors,
    /// True once `PutEventSelectors` has been called.
    pub has_custom_event_selectors: bool,
    pub insight_selectors: Vec<InsightSelector>,
    pub logging: LoggingState,
    pub created_at: i64,
}

impl Trail {
    /// A trail as CreateTrail makes it from only a name and a bucket: single-region, global service events
    /// included, default selectors (all management events), not logging.
    pub fn new(account_id: &str, name: &str, home_region: &str, bucket: &str) -> Trail {
        Trail {
            account_id: account_id.into(),
            name: name.into(),
            home_region: home_region.into(),
            s3_bucket_name: bucket.into(),
            s3_key_prefix: None,
            sns_topic_name: None,
            include_global_service_events: true,
            is_multi_region_trail: false,
            log_file_validation_enabled: false,
            cloud_watch_logs_log_group_arn: None,
            cloud_watch_logs_role_arn: None,
            kms_key_id: None,
            organization_id: None,
            recursive_logging: None,
            event_selectors: EventSelectors::default(),
            has_custom_event_selectors: false,
            insight_selectors: Vec::new(),
            logging: LoggingState::default(),
            created_at: 0,
        }
    }

    pub fn arn(&self) -> String {
        trail_arn(&self.home_region, &self.account_id, &self.name)
    }

    pub fn is_organization_trail(&self) -> bool {
        self.organization_id.is_some()
    }

    /// Whether the trail exists in `region`, as its home or as a shadow of a multi-region trail.
    pub fn exists_in(&self, region: &str) -> bool {
        self.home_region == region || self.is_multi_region_trail
    }

    /// The SNS topic ARN CloudTrail reports for the topic name, if any.
    pub fn sns_topic_arn(&self) -> Option<String> {
        self.sns_topic_name.as_ref().map(|t| {
            if t.starts_with("arn:") {
                t.clone()
            } else {
                format!("arn:aws:sns:{}:{}:{t}", self.home_region, self.account_id)
            }
        })
    }
}
