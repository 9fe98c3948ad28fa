//! Request and response shapes of the operations cairn implements, as the AWS JSON 1.1 wire carries them.
//!
//! Member names follow the API model exactly (PascalCase, except `DescribeTrails`' camelCase members). Inputs keep
//! every member optional so that a missing required member is answered with AWS's validation error, not a
//! serialization error; unknown members are ignored as AWS does.

use cairn_model::{AdvancedEventSelector, EventSelector, InsightSelector, Tag};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTrailRequest {
    pub name: Option<String>,
    pub s3_bucket_name: Option<String>,
    pub s3_key_prefix: Option<String>,
    pub sns_topic_name: Option<String>,
    pub include_global_service_events: Option<bool>,
    pub is_multi_region_trail: Option<bool>,
    pub enable_log_file_validation: Option<bool>,
    pub cloud_watch_logs_log_group_arn: Option<String>,
    pub cloud_watch_logs_role_arn: Option<String>,
    pub kms_key_id: Option<String>,
    pub is_organization_trail: Option<bool>,
    pub tags_list: Option<Vec<Tag>>,
    pub recursive_logging: Option<bool>,
}

/// `UpdateTrail` takes the members of `CreateTrail` but `TagsList`, all optional but `Name`.
pub type UpdateTrailRequest = CreateTrailRequest;

/// Inputs whose only member is a trail's `Name` (a name or an ARN).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrailNameRequest {
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTrailsRequest {
    pub trail_name_list: Option<Vec<String>>,
    pub include_shadow_trails: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NextTokenRequest {
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutEventSelectorsRequest {
    pub trail_name: Option<String>,
    pub event_selectors: Option<Vec<EventSelector>>,
    pub advanced_event_selectors: Option<Vec<AdvancedEventSelector>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrailSelectorRequest {
    pub trail_name: Option<String>,
    pub event_data_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutInsightSelectorsRequest {
    pub trail_name: Option<String>,
    pub insight_selectors: Option<Vec<InsightSelector>>,
    pub event_data_store: Option<String>,
    pub insights_destination: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagsRequest {
    pub resource_id: Option<String>,
    pub tags_list: Option<Vec<Tag>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsRequest {
    pub resource_id_list: Option<Vec<String>>,
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterDelegatedAdminRequest {
    pub member_account_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeregisterDelegatedAdminRequest {
    pub delegated_admin_account_id: Option<String>,
}

/// A trail as the `Trail` shape (DescribeTrails, GetTrail) or the CreateTrail/UpdateTrail responses show it.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrailShape {
    pub name: String,
    pub s3_bucket_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_key_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sns_topic_name: Option<String>,
    #[serde(rename = "SnsTopicARN", skip_serializing_if = "Option::is_none")]
    pub sns_topic_arn: Option<String>,
    pub include_global_service_events: bool,
    pub is_multi_region_trail: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_region: Option<String>,
    #[serde(rename = "TrailARN")]
    pub trail_arn: String,
    pub log_file_validation_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_watch_logs_log_group_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_watch_logs_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_custom_event_selectors: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_insight_selectors: Option<bool>,
    pub is_organization_trail: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recursive_logging: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrailInfo {
    #[serde(rename = "TrailARN")]
    pub trail_arn: String,
    pub name: String,
    pub home_region: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTrailsResponse {
    pub trail_list: Vec<TrailShape>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetTrailResponse {
    pub trail: TrailShape,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTrailsResponse {
    pub trails: Vec<TrailInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// Trail status: only what happened is reported (no delivery members before a delivery exists).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetTrailStatusResponse {
    pub is_logging: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_logging_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_logging_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_logging_started: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_logging_stopped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_delivery_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_delivery_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_delivery_attempt_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_delivery_attempt_succeeded: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_digest_delivery_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_digest_delivery_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_cloud_watch_logs_delivery_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_cloud_watch_logs_delivery_error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSelectorsResponse {
    #[serde(rename = "TrailARN")]
    pub trail_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_selectors: Option<Vec<EventSelector>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advanced_event_selectors: Option<Vec<AdvancedEventSelector>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InsightSelectorsResponse {
    #[serde(rename = "TrailARN")]
    pub trail_arn: String,
    pub insight_selectors: Vec<InsightSelector>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceTag {
    pub resource_id: String,
    pub tags_list: Vec<Tag>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsResponse {
    pub resource_tag_list: Vec<ResourceTag>,
}

/// The empty output of operations that answer `{}`.
#[derive(Debug, Serialize)]
pub struct Empty {}

/// A record the ingestion API accepted: its position in the request and its event id.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestSuccess {
    pub index: usize,
    #[serde(rename = "eventID")]
    pub event_id: String,
}

/// A record the ingestion API refused, and why.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestFailure {
    pub index: usize,
    pub error_code: &'static str,
    pub error_message: String,
}

/// A SQL query of the caller's event history (cairn's query API).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct QueryRequest {
    pub query_statement: String,
    pub max_rows: Option<i64>,
}

/// A query's answer: column names, then rows of values as text (null for SQL NULL).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryResponse {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// Whether rows past `MaxRows` were left out.
    pub truncated: bool,
    pub execution_time_in_millis: u64,
}

/// The answer of the ingestion API: every record is either in `successful` (durable) or in `failed`.
#[derive(Debug, Serialize)]
pub struct IngestResponse {
    pub successful: Vec<IngestSuccess>,
    pub failed: Vec<IngestFailure>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupAttribute {
    pub attribute_key: Option<String>,
    pub attribute_value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupEventsRequest {
    pub lookup_attributes: Option<Vec<LookupAttribute>>,
    /// Seconds since the epoch.
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    pub event_category: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceShape {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventShape {
    pub event_id: String,
    pub event_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    pub event_time: f64,
    pub event_source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub resources: Vec<ResourceShape>,
    pub cloud_trail_event: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupEventsResponse {
    pub events: Vec<EventShape>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutEventConfigurationRequest {
    pub trail_name: Option<String>,
    pub event_data_store: Option<String>,
    pub max_event_size: Option<String>,
    pub context_key_selectors: Option<Vec<cairn_model::event_config::ContextKeySelector>>,
    pub aggregation_configurations: Option<Vec<cairn_model::event_config::AggregationConfiguration>>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventConfigurationResponse {
    #[serde(rename = "TrailARN", skip_serializing_if = "Option::is_none")]
    pub trail_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_data_store_arn: Option<String>,
    pub max_event_size: String,
    pub context_key_selectors: Vec<cairn_model::event_config::ContextKeySelector>,
    pub aggregation_configurations: Vec<cairn_model::event_config::AggregationConfiguration>,
}
