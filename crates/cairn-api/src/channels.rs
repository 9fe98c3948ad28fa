//! Request and response shapes of channels (CloudTrail Lake integrations), resource policies, and the
//! `cloudtrail-data` service's PutAuditEvents (rest-json: the channel in the query string, events in the body).

use cairn_model::channel::Destination;
use cairn_model::Tag;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateChannelRequest {
    pub name: Option<String>,
    pub source: Option<String>,
    pub destinations: Option<Vec<Destination>>,
    pub tags: Option<Vec<Tag>>,
}

/// Inputs whose only member is `Channel` (an ARN or an id).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelRequest {
    pub channel: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateChannelRequest {
    pub channel: Option<String>,
    pub destinations: Option<Vec<Destination>>,
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListChannelsRequest {
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// A channel as Create, Get and Update answer it (each leaves out what it does not return).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelShape {
    pub channel_arn: String,
    pub name: String,
    pub source: String,
    pub destinations: Vec<Destination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_config: Option<SourceConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingestion_status: Option<IngestionStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SourceConfig {
    pub apply_to_all_regions: bool,
    pub advanced_event_selectors: Vec<cairn_model::AdvancedEventSelector>,
}

/// What GetChannel reports of the channel's latest PutAuditEvents.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IngestionStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_ingestion_success_time: Option<f64>,
    #[serde(rename = "LatestIngestionSuccessEventID", skip_serializing_if = "Option::is_none")]
    pub latest_ingestion_success_event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_ingestion_error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_ingestion_attempt_time: Option<f64>,
    #[serde(rename = "LatestIngestionAttemptEventID", skip_serializing_if = "Option::is_none")]
    pub latest_ingestion_attempt_event_id: Option<String>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelSummary {
    pub channel_arn: String,
    pub name: String,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListChannelsResponse {
    pub channels: Vec<ChannelSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutResourcePolicyRequest {
    pub resource_arn: Option<String>,
    pub resource_policy: Option<String>,
}

/// Get and DeleteResourcePolicy's input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourcePolicyRequest {
    pub resource_arn: Option<String>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourcePolicyResponse {
    pub resource_arn: String,
    pub resource_policy: String,
}

/// One event of a PutAuditEvents call.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub event_data: Option<String>,
    pub event_data_checksum: Option<String>,
    pub id: Option<String>,
}

/// PutAuditEvents' body (`channelArn` and `externalId` travel in the query string).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutAuditEventsBody {
    pub audit_events: Option<Vec<AuditEvent>>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventResult {
    #[serde(rename = "eventID")]
    pub event_id: String,
    pub id: String,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventFailure {
    pub error_code: String,
    pub error_message: String,
    pub id: String,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PutAuditEventsResponse {
    pub failed: Vec<AuditEventFailure>,
    pub successful: Vec<AuditEventResult>,
}
