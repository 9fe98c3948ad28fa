//! Request and response shapes of CloudTrail Lake's operations: event data stores and queries, as the AWS JSON 1.1
//! wire carries them (members as the API model names them; inputs all optional so that a missing required member is
//! answered with AWS's validation error).

use cairn_model::{AdvancedEventSelector, Tag};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateEventDataStoreRequest {
    pub name: Option<String>,
    pub advanced_event_selectors: Option<Vec<AdvancedEventSelector>>,
    pub multi_region_enabled: Option<bool>,
    pub organization_enabled: Option<bool>,
    pub retention_period: Option<i64>,
    pub termination_protection_enabled: Option<bool>,
    pub tags_list: Option<Vec<Tag>>,
    pub kms_key_id: Option<String>,
    pub start_ingestion: Option<bool>,
    pub billing_mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateEventDataStoreRequest {
    pub event_data_store: Option<String>,
    pub name: Option<String>,
    pub advanced_event_selectors: Option<Vec<AdvancedEventSelector>>,
    pub multi_region_enabled: Option<bool>,
    pub organization_enabled: Option<bool>,
    pub retention_period: Option<i64>,
    pub termination_protection_enabled: Option<bool>,
    pub kms_key_id: Option<String>,
    pub billing_mode: Option<String>,
}

/// Inputs whose only member is `EventDataStore` (an ARN or an id).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventDataStoreRequest {
    pub event_data_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEventDataStoresRequest {
    pub next_token: Option<String>,
    pub max_results: Option<i64>,
}

/// An event data store as Create, Get, Update and Restore answer it (each leaves out what it does not return).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventDataStoreShape {
    pub event_data_store_arn: String,
    pub name: String,
    pub status: String,
    pub advanced_event_selectors: Vec<AdvancedEventSelector>,
    pub multi_region_enabled: bool,
    pub organization_enabled: bool,
    pub retention_period: u32,
    pub termination_protection_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_list: Option<Vec<Tag>>,
    pub created_timestamp: f64,
    pub updated_timestamp: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub billing_mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federation_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federation_role_arn: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventDataStoreSummary {
    pub event_data_store_arn: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEventDataStoresResponse {
    pub event_data_stores: Vec<EventDataStoreSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartQueryRequest {
    pub query_statement: Option<String>,
    pub delivery_s3_uri: Option<String>,
    pub query_alias: Option<String>,
    pub query_parameters: Option<Vec<String>>,
    pub event_data_store_owner_account_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartQueryResponse {
    pub query_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_data_store_owner_account_id: Option<String>,
}

/// DescribeQuery, GetQueryResults and CancelQuery name a query (the store is deprecated and optional).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryRequest {
    pub event_data_store: Option<String>,
    pub query_id: Option<String>,
    pub query_alias: Option<String>,
    pub refresh_id: Option<String>,
    pub next_token: Option<String>,
    pub max_query_results: Option<i64>,
    pub event_data_store_owner_account_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeQueryStatistics {
    pub events_matched: u64,
    pub events_scanned: u64,
    pub bytes_scanned: u64,
    pub execution_time_in_millis: u64,
    pub creation_time: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeQueryResponse {
    pub query_id: String,
    pub query_string: String,
    pub query_status: String,
    pub query_statistics: DescribeQueryStatistics,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_s3_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_data_store_owner_account_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultStatistics {
    pub results_count: u64,
    pub total_results_count: u64,
    pub bytes_scanned: u64,
}

/// A result row: one single-entry map per column, in the statement's column order, as Lake answers.
pub type ResultRow = Vec<serde_json::Map<String, serde_json::Value>>;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueryResultsResponse {
    pub query_status: String,
    pub query_statistics: ResultStatistics,
    pub query_result_rows: Vec<ResultRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueriesRequest {
    pub event_data_store: Option<String>,
    pub next_token: Option<String>,
    pub max_results: Option<i64>,
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    pub query_status: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QuerySummary {
    pub query_id: String,
    pub query_status: String,
    pub creation_time: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueriesResponse {
    pub queries: Vec<QuerySummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelQueryResponse {
    pub query_id: String,
    pub query_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_data_store_owner_account_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3ImportSource {
    pub s3_location_uri: Option<String>,
    pub s3_bucket_region: Option<String>,
    pub s3_bucket_access_role_arn: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportSource {
    #[serde(rename = "S3")]
    pub s3: Option<S3ImportSource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartImportRequest {
    pub destinations: Option<Vec<String>>,
    pub import_source: Option<ImportSource>,
    pub start_event_time: Option<f64>,
    pub end_event_time: Option<f64>,
    pub import_id: Option<String>,
}

/// GetImport, StopImport and ListImportFailures name an import.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportRequest {
    pub import_id: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListImportsRequest {
    pub max_results: Option<i64>,
    pub destination: Option<String>,
    pub import_status: Option<String>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportStatistics {
    pub prefixes_found: u64,
    pub prefixes_completed: u64,
    pub files_completed: u64,
    pub events_completed: u64,
    pub failed_entries: u64,
}

/// An import as StartImport, GetImport and StopImport answer it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportShape {
    pub import_id: String,
    pub destinations: Vec<String>,
    pub import_source: ImportSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_event_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_event_time: Option<f64>,
    pub import_status: String,
    pub created_timestamp: f64,
    pub updated_timestamp: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_statistics: Option<ImportStatistics>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportsListItem {
    pub import_id: String,
    pub import_status: String,
    pub destinations: Vec<String>,
    pub created_timestamp: f64,
    pub updated_timestamp: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListImportsResponse {
    pub imports: Vec<ImportsListItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportFailureItem {
    pub location: String,
    pub status: String,
    pub error_type: String,
    pub error_message: String,
    pub last_updated_time: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListImportFailuresResponse {
    pub failures: Vec<ImportFailureItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FederationRequest {
    pub event_data_store: Option<String>,
    pub federation_role_arn: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FederationResponse {
    pub event_data_store_arn: String,
    pub federation_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federation_role_arn: Option<String>,
}
