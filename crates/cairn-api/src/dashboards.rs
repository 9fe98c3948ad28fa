//! Request and response shapes of Lake dashboards, SearchSampleQueries and GenerateQuery, as the AWS JSON 1.1 wire
//! carries them.

use std::collections::BTreeMap;

use cairn_model::dashboard::RefreshSchedule;
use cairn_model::Tag;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestWidget {
    pub query_statement: Option<String>,
    pub query_parameters: Option<Vec<String>>,
    pub view_properties: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateDashboardRequest {
    pub name: Option<String>,
    pub refresh_schedule: Option<RefreshSchedule>,
    pub tags_list: Option<Vec<Tag>>,
    pub termination_protection_enabled: Option<bool>,
    pub widgets: Option<Vec<RequestWidget>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateDashboardRequest {
    pub dashboard_id: Option<String>,
    pub widgets: Option<Vec<RequestWidget>>,
    pub refresh_schedule: Option<RefreshSchedule>,
    pub termination_protection_enabled: Option<bool>,
}

/// Inputs whose only member is `DashboardId` (an ARN or a name).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DashboardRequest {
    pub dashboard_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDashboardsRequest {
    pub name_prefix: Option<String>,
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub next_token: Option<String>,
    pub max_results: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartDashboardRefreshRequest {
    pub dashboard_id: Option<String>,
    pub query_parameter_values: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WidgetShape {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_alias: Option<String>,
    pub query_statement: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub query_parameters: Vec<String>,
    pub view_properties: BTreeMap<String, String>,
}

/// A dashboard as Create, Get and Update answer it (each leaves out what it does not return).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DashboardShape {
    pub dashboard_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub widgets: Vec<WidgetShape>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_list: Option<Vec<Tag>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_schedule: Option<RefreshSchedule>,
    pub termination_protection_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_timestamp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_timestamp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refresh_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refresh_failure_reason: Option<String>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DashboardDetail {
    pub dashboard_arn: String,
    #[serde(rename = "Type")]
    pub kind: String,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDashboardsResponse {
    pub dashboards: Vec<DashboardDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartDashboardRefreshResponse {
    pub refresh_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchSampleQueriesRequest {
    pub search_phrase: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SampleQueryResult {
    pub name: String,
    pub description: String,
    #[serde(rename = "SQL")]
    pub sql: String,
    pub relevance: f32,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchSampleQueriesResponse {
    pub search_results: Vec<SampleQueryResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateQueryRequest {
    pub event_data_stores: Option<Vec<String>>,
    pub prompt: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateQueryResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_statement: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_alias: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_data_store_owner_account_id: Option<String>,
}
