//! The producer ingestion API: `POST /v1/ingest`, SigV4-signed for the service `cairn`. It takes CloudTrail
//! records (a trail log file's `{"Records":[...]}` or a single record, optionally gzip-compressed), checks each one,
//! journals the good ones durably in one append, and answers which records were accepted and which were refused.

use std::io::Read;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::Response;
use bytes::Bytes;
use cairn_api::shapes::{IngestFailure, IngestResponse, IngestSuccess};
use cairn_api::{ApiError, ErrorCode};
use cairn_model::event::{check_record, fitted, MAX_EVENT_BYTES, STANDARD_EVENT_BYTES};
use serde_json::value::RawValue;

use crate::config::Credential;
use crate::http::{authenticate, finish, read_body};
use crate::App;

pub const PATH: &str = "/v1/ingest";
/// The SigV4 signing name of the ingestion API.
pub const SERVICE: &str = "cairn";
/// Most records one ingestion request may carry.
pub const MAX_RECORDS: usize = 10_000;
/// How far in the future an eventTime may be (clock skew between producers and cairn).
const MAX_FUTURE_MS: i64 = 15 * 60 * 1000;

/// The eventID given to a record that has none: derived from its bytes (a UUID of version 8), so that a producer
/// retrying the same record gets the same id and history keeps it once.
fn derived_event_id(raw: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut b: [u8; 16] = Sha256::digest(raw.as_bytes())[..16].try_into().expect("16 bytes");
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = cairn_api::sigv4::hex(&b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

pub(crate) async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = ingest(&app, req).await;
    finish(&request_id, "application/json", result)
}

async fn ingest(app: &Arc<App>, req: Request) -> Result<Vec<u8>, ApiError> {
    let (parts, body) = req.into_parts();
    let limit = app.settings.max_ingest_bytes;
    let bytes = read_body(&parts, body, limit).await?;
    let (_, credential) = authenticate(app, &parts, &bytes, SERVICE)?;
    if credential.ingest_accounts.is_empty() {
        return Err(ApiError::new(
            ErrorCode::AccessDenied,
            format!("credential of {} is not granted ingestion into any account", credential.principal.arn()),
        ));
    }
    let gzip = parts
        .headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let credential = credential.clone();
    let now_ms = app.clock.now_millis();
    // Decompressing, parsing and checking a large batch is CPU work: keep it off the request loop.
    let (payloads, mut response) =
        tokio::task::spawn_blocking(move || prepare(&bytes, gzip, limit, &credential, now_ms))
            .await
            .map_err(|e| ApiError::internal(format!("ingestion worker panicked: {e}")))??;
    if !payloads.is_empty() {
        app.journal.append(payloads).await.map_err(|e| {
            tracing::error!(error = %e, "cannot journal ingested events");
            ApiError::internal("the events could not be recorded durably; none of them were accepted")
        })?;
    }
    response.failed.sort_by_key(|f| f.index);
    serde_json::to_vec(&response).map_err(|e| ApiError::internal(format!("serializing a response: {e}")))
}

/// The records of a body: the elements of `{"Records": [...]}`, or the body itself when it is one record. Records
/// stay unparsed slices of the body.
fn split_records(body: &str) -> Result<Vec<&RawValue>, ApiError> {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(rename = "Records", borrow)]
        records: Option<&'a RawValue>,
    }
    let serialization = |m: String| ApiError::new(ErrorCode::Serialization, m);
    if !body.trim_start().starts_with('{') {
        return Err(serialization("request body must be a record or an object with a Records array".into()));
    }
    let envelope: Envelope<'_> =
        serde_json::from_str(body).map_err(|e| serialization(format!("request body is not valid JSON: {e}")))?;
    match envelope.records {
        Some(records) => serde_json::from_str::<Vec<&RawValue>>(records.get())
            .map_err(|_| serialization("Records must be an array of records".into())),
        None => {
            Ok(vec![serde_json::from_str(body)
                .map_err(|e| serialization(format!("request body is not valid JSON: {e}")))?])
        }
    }
}

fn decompress(bytes: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(limit as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| ApiError::new(ErrorCode::Serialization, format!("request body is not valid gzip: {e}")))?;
    if out.len() > limit {
        return Err(ApiError::new(
            ErrorCode::RequestEntityTooLarge,
            format!("decompressed request body is larger than the {limit}-byte limit"),
        ));
    }
    Ok(out)
}

/// Checks every record; returns the journal payloads of the accepted ones and the answer.
fn prepare(
    bytes: &[u8],
    gzip: bool,
    limit: usize,
    credential: &Credential,
    now_ms: i64,
) -> Result<(Vec<Bytes>, IngestResponse), ApiError> {
    let inflated;
    let body = if gzip {
        inflated = decompress(bytes, limit)?;
        &inflated[..]
    } else {
        bytes
    };
    let body = std::str::from_utf8(body)
        .map_err(|e| ApiError::new(ErrorCode::Serialization, format!("request body is not UTF-8: {e}")))?;
    let records = split_records(body)?;
    if records.len() > MAX_RECORDS {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("a request can carry at most {MAX_RECORDS} records, this one has {}", records.len()),
        ));
    }
    let mut payloads = Vec::with_capacity(records.len());
    let mut response = IngestResponse { successful: Vec::with_capacity(records.len()), failed: Vec::new() };
    for (index, raw) in records.into_iter().enumerate() {
        let refused =
            |code: &'static str, message: String| IngestFailure { index, error_code: code, error_message: message };
        let (info, payload) = match check_record(raw.get(), || derived_event_id(raw.get())) {
            Ok(checked) => checked,
            Err(e) => {
                response.failed.push(refused(e.code, e.message));
                continue;
            }
        };
        if info.time_ms > now_ms + MAX_FUTURE_MS {
            response.failed.push(refused("InvalidEventTime", "eventTime is more than 15 minutes in the future".into()));
            continue;
        }
        if !credential.may_ingest_into(&info.account_id) {
            response.failed.push(refused(
                "AccessDenied",
                format!("{} may not send events into account {}", credential.principal.arn(), info.account_id),
            ));
            continue;
        }
        if payload.len() > MAX_EVENT_BYTES {
            response.failed.push(refused(
                "EventTooLarge",
                format!("event is {} bytes, more than the {MAX_EVENT_BYTES}-byte limit", payload.len()),
            ));
            continue;
        }
        // Trails, event history and stores of the Standard size take it without its largest members: it must fit so.
        if let Err(e) = fitted(payload.as_bytes(), STANDARD_EVENT_BYTES) {
            response.failed.push(refused(e.code, e.message));
            continue;
        }
        payloads.push(Bytes::from(payload));
        response.successful.push(IngestSuccess { index, event_id: info.event_id });
    }
    Ok((payloads, response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_uuids() {
        let a = derived_event_id(r#"{"eventName":"X"}"#);
        assert_eq!(a, derived_event_id(r#"{"eventName":"X"}"#));
        assert_ne!(a, derived_event_id(r#"{"eventName":"Y"}"#));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8", "version 8");
    }
}
