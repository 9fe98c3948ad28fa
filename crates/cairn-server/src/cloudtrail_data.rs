//! The `cloudtrail-data` service on the shared listen address: PutAuditEvents (rest-json, `POST /PutAuditEvents`
//! with `channelArn` and `externalId` in the query string, SigV4 name `cloudtrail-data`).
//!
//! Each event is checked on its own (the checksum, the integration event schema, the recipient): a bad event is
//! answered in `failed` with AWS's code while the good ones are journaled, durably and in one append, before the
//! answer. The Lake consumer takes them from the journal into the channel's destinations. The call itself is recorded
//! as a data event on the channel (for its owner too when the caller is another account, allowed by the channel's
//! resource policy).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, Method};
use axum::response::Response;
use base64::Engine;
use bytes::Bytes;
use cairn_api::channels::{
    AuditEvent, AuditEventFailure, AuditEventResult, PutAuditEventsBody, PutAuditEventsResponse,
};
use cairn_api::{required, ApiError, ErrorCode, Result};
use cairn_model::channel::{activity_record, check_event_data, AuditEventFailure as Failure};
use cairn_model::Channel;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::http::{call_context, finish, read_body, refuse_unrecordable};
use crate::lake::policies;
use crate::{audit, App, Ctx};

/// The SigV4 signing name of the CloudTrail Data service.
pub(crate) const SERVICE: &str = "cloudtrail-data";
const PATH: &str = "/PutAuditEvents";
const CONTENT_TYPE: &str = "application/json";
/// Most events of one call.
const MAX_EVENTS: usize = 100;
/// Most bytes of events (their `eventData`) in one call.
const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
/// The largest request body: 1 MB of events, JSON-escaped, with their ids and checksums.
const MAX_REQUEST_BYTES: usize = 3 * MAX_PAYLOAD_BYTES;

pub(crate) async fn handle(app: Arc<App>, peer: SocketAddr, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = respond(app, req, &request_id, peer).await;
    finish(&request_id, CONTENT_TYPE, result)
}

fn validation(message: String) -> ApiError {
    ApiError::new(ErrorCode::Validation, format!("1 validation error detected: {message}"))
}

/// The query string members: `channelArn` (required) and `externalId`.
fn query_members(query: &str) -> Result<(String, Option<String>)> {
    let mut channel = None;
    let mut external = None;
    for (k, v) in crate::http::query_pairs(query) {
        match k.as_str() {
            "channelArn" => channel = Some(v),
            "externalId" => external = Some(v),
            _ => {}
        }
    }
    let channel = required(channel, "channelArn")?;
    if let Some(e) = &external {
        let ok = (2..=1224).contains(&e.chars().count())
            && e.chars().all(|c| c.is_alphanumeric() || c == '_' || "+=,.@:/-".contains(c));
        if !ok {
            return Err(validation(format!(
                "Value '{e}' at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224 and match pattern ^[\\w+=,.@:\\/-]*$"
            )));
        }
    }
    Ok((channel, external))
}

/// Checks the events' members as the model constrains them; the events, by their ids.
fn check_events(events: &[AuditEvent]) -> Result<()> {
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(validation(format!(
            "Value at 'auditEvents' failed to satisfy constraint: Member must have length between 1 and {MAX_EVENTS}"
        )));
    }
    let mut ids = HashSet::new();
    let mut payload = 0usize;
    for (i, e) in events.iter().enumerate() {
        let id = required(e.id.as_deref(), &format!("auditEvents.{}.member.id", i + 1))?;
        let data = required(e.event_data.as_deref(), &format!("auditEvents.{}.member.eventData", i + 1))?;
        let ok =
            (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(validation(format!(
                "Value '{id}' at 'auditEvents.{}.member.id' failed to satisfy constraint: Member must have length between 1 and 128 and match pattern ^[-_A-Za-z0-9]+$",
                i + 1
            )));
        }
        if !ids.insert(id) {
            return Err(ApiError::new(
                ErrorCode::DataDuplicatedAuditEventId,
                format!("Two or more entries in the request have the same event ID {id}."),
            ));
        }
        payload += data.len();
    }
    if payload > MAX_PAYLOAD_BYTES {
        return Err(validation(format!(
            "the events' eventData add up to {payload} bytes, more than the {MAX_PAYLOAD_BYTES}-byte limit of one call"
        )));
    }
    Ok(())
}

/// The channel `given` names (an ARN, of any account, or the id of one of the caller's channels in its region).
fn channel(app: &App, ctx: &Ctx, given: &str) -> Result<Channel> {
    let arn = crate::lake::channels::arn_of(ctx, given).ok_or_else(|| {
        ApiError::new(
            ErrorCode::DataInvalidChannelArn,
            format!("The specified channel ARN {given:?} is not a valid channel ARN."),
        )
    })?;
    app.catalog.read(|s| s.channel(&arn).filter(|c| c.region == ctx.region).cloned()).ok_or_else(|| {
        ApiError::new(ErrorCode::DataChannelNotFound, format!("The channel {given} could not be found."))
    })
}

/// Whether the caller may put events into `channel`: its owner may; another account only as the channel's resource
/// policy allows, with the request's external id.
fn authorize(app: &App, ctx: &Ctx, channel: &Channel, external_id: Option<&str>, peer: SocketAddr) -> Result<()> {
    if channel.account_id == ctx.account_id {
        return Ok(());
    }
    let facts = crate::kms::facts(app, ctx, Some(peer));
    let extra: Vec<(&str, String)> =
        external_id.map(|e| ("cloudtrail:ExternalId", e.to_string())).into_iter().collect();
    let context = facts.context(&extra);
    let principal = facts.caller.principal();
    let arn = channel.arn();
    let request = cairn_policy::Request {
        principal: &principal,
        action: policies::PUT_AUDIT_EVENTS,
        resource: &arn,
        context: &context,
    };
    let allowed = app
        .catalog
        .read(|s| s.resource_policy(&arn).map(|p| policies::allows(cairn_model::ResourceKind::Channel, p, &request)));
    if allowed == Some(true) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::DataChannelInsufficientPermission,
        format!(
            "Account {} may not put events into channel {arn}: the caller's account must own the channel or be allowed by its resource policy{}.",
            ctx.account_id,
            if external_id.is_none() { " (which may require an externalId)" } else { "" }
        ),
    ))
}

/// The base64 SHA-256 of an event's data, as `eventDataChecksum` carries it.
fn checksum(data: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(data.as_bytes()))
}

/// What one call ingested: the records to journal and the answer.
fn ingest(
    channel: &Channel,
    region: &str,
    events: Vec<AuditEvent>,
    now_ms: i64,
) -> (Vec<Bytes>, PutAuditEventsResponse) {
    let mut records = Vec::with_capacity(events.len());
    let mut answer = PutAuditEventsResponse::default();
    let arn = channel.arn();
    for e in events {
        let (id, data) = (e.id.unwrap_or_default(), e.event_data.unwrap_or_default());
        let checked = match e.event_data_checksum.as_deref() {
            Some(sum) if sum != checksum(&data) => Err(cairn_model::channel::Rejected {
                failure: Failure::InvalidChecksum,
                message: "eventDataChecksum is not the base64 SHA-256 of eventData".into(),
            }),
            _ => check_event_data(&data, &channel.account_id),
        };
        match checked {
            Ok(fields) => {
                let event_id = uuid::Uuid::new_v4().to_string();
                let record = activity_record(&event_id, fields, region, &channel.account_id, &arn, now_ms);
                records.push(Bytes::from(record.to_string()));
                answer.successful.push(AuditEventResult { event_id, id });
            }
            Err(r) => answer.failed.push(AuditEventFailure {
                error_code: r.failure.code().into(),
                error_message: r.message,
                id,
            }),
        }
    }
    (records, answer)
}

async fn put_audit_events(
    app: &App,
    ctx: &Ctx,
    query: &str,
    body: &[u8],
    peer: SocketAddr,
) -> (Option<Channel>, Result<PutAuditEventsResponse>) {
    let (given, external_id) = match query_members(query) {
        Ok(q) => q,
        Err(e) => return (None, Err(e)),
    };
    let checked = (|| {
        let input: PutAuditEventsBody = cairn_api::parse_input(body)?;
        let events = required(input.audit_events, "auditEvents")?;
        check_events(&events)?;
        let channel = channel(app, ctx, &given)?;
        Ok((events, channel))
    })();
    let (events, channel) = match checked {
        Ok(c) => c,
        Err(e) => return (None, Err(e)),
    };
    if let Err(e) = authorize(app, ctx, &channel, external_id.as_deref(), peer) {
        return (Some(channel), Err(e));
    }
    let now = app.clock.now_millis();
    let (records, answer) = ingest(&channel, &ctx.region, events, now);
    if !records.is_empty() {
        if let Err(e) = app.journal.append(records).await {
            return (Some(channel), Err(ApiError::internal(format!("the journal cannot record the events: {e}"))));
        }
    }
    let last_success = answer.successful.last().map(|s| s.event_id.as_str());
    let first_error = answer.failed.first().map(|f| f.error_code.as_str());
    let last_attempt = last_success.or(answer.failed.last().map(|f| f.id.as_str()));
    app.channel_ingestion.record(&channel.arn(), now, last_success, last_attempt, first_error);
    (Some(channel), Ok(answer))
}

async fn respond(app: Arc<App>, req: Request, request_id: &str, peer: SocketAddr) -> Result<Vec<u8>> {
    let received_at = app.clock.now_millis();
    let (parts, body) = req.into_parts();
    let bytes = read_body(&parts, body, MAX_REQUEST_BYTES).await?;
    let (ctx, akid) = call_context(&app, &parts, &bytes, SERVICE, request_id)?;
    if parts.method != Method::POST || parts.uri.path() != PATH {
        return Err(ApiError::new(
            ErrorCode::UnknownOperation,
            format!("{} {} is not an operation of CloudTrail Data", parts.method, parts.uri.path()),
        ));
    }
    refuse_unrecordable(&app, false)?;
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    // The call and its record run in their own task: a client that disconnects cannot leave events unrecorded.
    tokio::spawn(async move {
        let (channel, result) = put_audit_events(&app, &ctx, &query, &bytes, peer).await;
        let owner = channel.as_ref().map(|c| c.account_id.clone()).unwrap_or_else(|| ctx.account_id.clone());
        let resources = channel
            .as_ref()
            .map(|c| json!([{ "accountId": owner, "type": "AWS::CloudTrail::Channel", "ARN": c.arn() }]));
        let mut params = serde_json::Map::new();
        for (k, v) in crate::http::query_pairs(&query) {
            if k == "channelArn" || k == "externalId" {
                params.insert(k, Value::String(v));
            }
        }
        let received = (received_at, peer, user_agent.as_str());
        let call = audit::Call {
            data_event: true,
            error: result.as_ref().err().map(|e| (e.code.shape_name(), e.message.as_str())),
            request_parameters: if params.is_empty() { Value::Null } else { Value::Object(params) },
            resources,
            ..audit::Call::by(&ctx, &akid, received, "cloudtrail-data.amazonaws.com", "PutAuditEvents")
        };
        audit::record_for(&app, call, Some(&owner)).await?;
        result.and_then(|r| serde_json::to_vec(&r).map_err(|e| ApiError::internal(format!("serializing: {e}"))))
    })
    .await
    .map_err(|e| ApiError::internal(format!("PutAuditEvents task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_base64_sha256() {
        // printf %s 'hello' | openssl dgst -binary -sha256 | base64
        assert_eq!(checksum("hello"), "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=");
    }

    #[test]
    fn query_and_events_are_checked_as_the_model_constrains_them() {
        assert_eq!(query_members("channelArn=abc&externalId=x%2By").unwrap(), ("abc".into(), Some("x+y".into())));
        assert_eq!(query_members("externalId=xy").unwrap_err().code, ErrorCode::Validation);
        assert_eq!(query_members("channelArn=a&externalId=x").unwrap_err().code, ErrorCode::Validation);
        assert_eq!(query_members("channelArn=a&externalId=a%20b").unwrap_err().code, ErrorCode::Validation);
        let event = |id: &str, data: &str| AuditEvent {
            id: Some(id.into()),
            event_data: Some(data.into()),
            event_data_checksum: None,
        };
        assert_eq!(check_events(&[]).unwrap_err().code, ErrorCode::Validation);
        let many: Vec<AuditEvent> = (0..101).map(|i| event(&i.to_string(), "{}")).collect();
        assert_eq!(check_events(&many).unwrap_err().code, ErrorCode::Validation);
        assert!(check_events(&many[..100]).is_ok());
        assert_eq!(check_events(&[event("a b", "{}")]).unwrap_err().code, ErrorCode::Validation);
        assert_eq!(
            check_events(&[event("a", "{}"), event("a", "{}")]).unwrap_err().code,
            ErrorCode::DataDuplicatedAuditEventId
        );
        let big = "x".repeat(600 * 1024);
        assert_eq!(check_events(&[event("a", &big), event("b", &big)]).unwrap_err().code, ErrorCode::Validation);
        let missing = AuditEvent { id: Some("a".into()), event_data: None, event_data_checksum: None };
        assert_eq!(check_events(&[missing]).unwrap_err().code, ErrorCode::Validation);
    }
}
