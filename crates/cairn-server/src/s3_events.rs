//! cairn's S3 calls recorded as AWS records S3's: bucket-level calls as management events, object-level calls (and
//! listings) as data events with `resources` of types `AWS::S3::Object` and `AWS::S3::Bucket`, the request's
//! `requestParameters` and S3's `additionalEventData`. A call is recorded for the bucket owner, and also for the
//! requester when another account makes it (the two records share a `sharedEventID`), durably before it is
//! answered. Anonymous calls and requests that never reach an operation (a bad signature) are not recorded.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cairn_s3::{Parsed, ParsedSlot};
use http_body_util::BodyExt;
use serde_json::{json, Map, Value};

use crate::{audit, App};

/// Object-level operations: CloudTrail's S3 data events.
const DATA_OPERATIONS: &[&str] = &[
    "AbortMultipartUpload",
    "CompleteMultipartUpload",
    "CopyObject",
    "CreateMultipartUpload",
    "DeleteObject",
    "DeleteObjectTagging",
    "DeleteObjects",
    "GetObject",
    "GetObjectAcl",
    "GetObjectAttributes",
    "GetObjectTagging",
    "HeadObject",
    "ListMultipartUploads",
    "ListObjects",
    "ListObjectsV2",
    "ListParts",
    "PutObject",
    "PutObjectAcl",
    "PutObjectTagging",
    "RestoreObject",
    "UploadPart",
    "UploadPartCopy",
];

/// Request headers S3 records among `requestParameters`.
const RECORDED_HEADERS: &[&str] = &[
    "x-amz-acl",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-copy-source",
    "x-amz-metadata-directive",
    "x-amz-storage-class",
];

/// What the request looked like before the S3 service consumed it.
#[derive(Debug)]
struct Seen {
    host: String,
    query: Vec<(String, String)>,
    headers: Vec<(&'static str, String)>,
    bytes_in: u64,
    region: Option<String>,
    query_signed: bool,
    user_agent: String,
}

fn seen(req: &Request) -> Seen {
    let h = req.headers();
    let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let query = crate::http::query_pairs(req.uri().query().unwrap_or(""))
        .filter(|(k, _)| !k.starts_with("X-Amz-") && !k.starts_with("x-amz-"))
        .collect();
    let bytes_in = text("x-amz-decoded-content-length")
        .or_else(|| text("content-length"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let scope = crate::s3::signing_scope(req.headers(), req.uri());
    Seen {
        host: text("host").unwrap_or_default(),
        query,
        headers: RECORDED_HEADERS.iter().filter_map(|n| Some((*n, text(n)?))).collect(),
        bytes_in,
        region: scope.as_ref().map(|s| s.0.clone()),
        query_signed: scope.is_some_and(|s| s.1),
        user_agent: text("user-agent").unwrap_or_default(),
    }
}

/// S3's request ids: 16 upper-case hex digits.
fn request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_ascii_uppercase()
}

/// An S3 XML error's code and message.
fn xml_error(body: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(body);
    let field = |tag: &str| {
        let open = format!("<{tag}>");
        let start = text.find(&open)? + open.len();
        let len = text[start..].find(&format!("</{tag}>"))?;
        Some(text[start..start + len].to_string())
    };
    (field("Code").unwrap_or_else(|| "InternalError".into()), field("Message").unwrap_or_default())
}

fn s3_error_response(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
    );
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert("content-type", HeaderValue::from_static("application/xml"));
    resp
}

/// Serves one S3 request and records it.
pub(crate) async fn handle(app: Arc<App>, peer: SocketAddr, req: Request) -> Response {
    let received_at = app.clock.now_millis();
    let id = request_id();
    let reads = matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD);
    if let Some(why) = app.journal.failure().filter(|_| !reads) {
        tracing::error!(error = %why, "refusing an S3 change: the journal cannot record it");
        return s3_error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "the journal cannot record calls; nothing was changed",
            &id,
        );
    }
    let seen = seen(&req);
    let slot = ParsedSlot::default();
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(slot.clone());
    let resp = crate::s3::handle(app.s3_service(), peer, Request::from_parts(parts, body)).await;
    let (mut parts, body) = resp.into_parts();
    if let Ok(v) = HeaderValue::from_str(&id) {
        parts.headers.insert("x-amz-request-id", v);
    }
    let Some(parsed) = slot.take() else { return Response::from_parts(parts, body) };
    let failed = parts.status.is_client_error() || parts.status.is_server_error();
    let (body, error) = if failed {
        // Error bodies are small XML documents: read, then answered as they were.
        match body.collect().await {
            Ok(b) => {
                let bytes = b.to_bytes();
                let error = xml_error(&bytes);
                (Body::from(bytes), Some(error))
            }
            Err(_) => (Body::empty(), Some(("InternalError".into(), String::new()))),
        }
    } else {
        (body, None)
    };
    // A HEAD answers the object's Content-Length without its bytes.
    let bytes_out = if failed || parsed.operation == "HeadObject" || parsed.operation == "HeadBucket" {
        0
    } else {
        content_length(&parts.headers)
    };
    let recorded =
        record(&app, &parsed, &seen, &parts.headers, error.as_ref(), bytes_out, received_at, peer, &id).await;
    if let Err(e) = recorded {
        tracing::error!(error = %e, "an S3 call could not be recorded");
        return s3_error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "the call could not be recorded durably",
            &id,
        );
    }
    Response::from_parts(parts, body)
}

fn content_length(h: &HeaderMap) -> u64 {
    h.get("content-length").and_then(|v| v.to_str().ok()?.parse().ok()).unwrap_or(0)
}

/// Records the call for the bucket owner, and for the requester when that is another account. An anonymous call
/// is recorded for the owner of the bucket it reached.
#[allow(clippy::too_many_arguments)]
async fn record(
    app: &App,
    parsed: &Parsed,
    seen: &Seen,
    response: &HeaderMap,
    error: Option<&(String, String)>,
    bytes_out: u64,
    received_at: i64,
    peer: SocketAddr,
    request_id: &str,
) -> Result<(), cairn_api::ApiError> {
    let credential = match &parsed.access_key {
        Some(akid) => match app.credential(akid) {
            Some(c) => Some((akid.as_str(), c)),
            None => return Ok(()),
        },
        None => None,
    };
    let requester = credential.map(|(_, c)| c.principal.account_id.clone());
    let bucket = parsed.bucket.as_deref().and_then(|b| app.buckets.store().bucket(b).ok());
    let Some(owner) = bucket.as_ref().map(|b| b.owner.clone()).or_else(|| requester.clone()) else { return Ok(()) };
    let region =
        bucket.as_ref().map(|b| b.region.clone()).or_else(|| seen.region.clone()).unwrap_or_else(|| "us-east-1".into());
    let data = DATA_OPERATIONS.contains(&parsed.operation.as_str());
    let name = if parsed.operation == "ListObjectsV2" { "ListObjects" } else { parsed.operation.as_str() };
    let read_only = ["Get", "Head", "List"].iter().any(|p| name.starts_with(p));
    let identity = match credential {
        Some((akid, c)) => audit::Identity::Credential { principal: &c.principal, access_key_id: akid },
        None => audit::Identity::Anonymous,
    };
    let resources = resources(parsed, &owner, data);
    // Recorded for the bucket owner, and for the requesting account too when it is another.
    let call = audit::Call {
        identity,
        region: &region,
        request_id,
        received_at,
        peer,
        user_agent: &seen.user_agent,
        event_source: "s3.amazonaws.com",
        event_name: name,
        read_only,
        data_event: data,
        error: error.map(|(c, m)| (c.as_str(), m.as_str())),
        request_parameters: request_parameters(parsed, seen),
        response_elements: response_elements(response, error.is_some()),
        additional_event_data: Some(additional_event_data(seen, response, bytes_out, credential.is_some())),
        resources: Some(resources),
        recipient_account_id: &owner,
        shared_event_id: None,
    };
    audit::record_for(app, call, requester.as_deref()).await
}

fn request_parameters(parsed: &Parsed, seen: &Seen) -> Value {
    let mut m = Map::new();
    if let Some(b) = &parsed.bucket {
        m.insert("bucketName".into(), json!(b));
    }
    m.insert("Host".into(), json!(seen.host));
    for (k, v) in &seen.query {
        m.insert(k.clone(), json!(v));
    }
    for (k, v) in &seen.headers {
        m.insert((*k).to_string(), json!(v));
    }
    if let Some(k) = &parsed.key {
        m.insert("key".into(), json!(k));
    }
    Value::Object(m)
}

fn response_elements(response: &HeaderMap, failed: bool) -> Value {
    let mut m = Map::new();
    if !failed {
        for name in ["x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"] {
            if let Some(v) = response.get(name).and_then(|v| v.to_str().ok()) {
                m.insert(name.into(), json!(v));
            }
        }
    }
    if m.is_empty() {
        Value::Null
    } else {
        Value::Object(m)
    }
}

fn additional_event_data(seen: &Seen, response: &HeaderMap, bytes_out: u64, signed: bool) -> Value {
    let mut m = Map::new();
    if signed {
        m.insert("SignatureVersion".into(), json!("SigV4"));
    }
    // cairn serves plain HTTP (TLS is a proxy's), so there is no cipher suite to record.
    m.insert("bytesTransferredIn".into(), json!(seen.bytes_in as f64));
    if signed {
        m.insert("AuthenticationMethod".into(), json!(if seen.query_signed { "QueryString" } else { "AuthHeader" }));
    }
    m.insert("x-amz-id-2".into(), json!(amz_id_2()));
    m.insert("bytesTransferredOut".into(), json!(bytes_out as f64));
    if response.get("x-amz-server-side-encryption").is_some_and(|v| v == "aws:kms") {
        m.insert("SSEApplied".into(), json!("SSE_KMS"));
    }
    Value::Object(m)
}

/// S3's extended request id: opaque base64.
fn amz_id_2() -> String {
    use base64::Engine;
    let bytes: Vec<u8> = (0..3).flat_map(|_| *uuid::Uuid::new_v4().as_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(&bytes[..45])
}

fn resources(parsed: &Parsed, owner: &str, data: bool) -> Value {
    let Some(bucket) = &parsed.bucket else { return json!([]) };
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let mut list = Vec::new();
    if let (Some(key), true) = (&parsed.key, data) {
        list.push(json!({ "type": "AWS::S3::Object", "ARN": format!("{bucket_arn}/{key}") }));
    }
    list.push(json!({ "accountId": owner, "type": "AWS::S3::Bucket", "ARN": bucket_arn }));
    Value::Array(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_decoded_and_errors_read() {
        assert_eq!(cairn_api::wire::query::form_decode("AWSLogs%2F1%2F"), "AWSLogs/1/");
        assert_eq!(cairn_api::wire::query::form_decode("a+b%zz%4"), "a b%zz%4");
        let (code, message) = xml_error(b"<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>");
        assert_eq!((code.as_str(), message.as_str()), ("NoSuchKey", "gone"));
        let id = request_id();
        assert!(id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()));
        assert_eq!(amz_id_2().len(), 60);
    }
}
