//! Self-audit: every call to cairn's APIs (CloudTrail, S3, KMS) becomes an event, shaped exactly as AWS records
//! those services' calls, and is durable in the journal before the call is answered.

use std::net::SocketAddr;

use cairn_api::ApiError;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::{Principal, PrincipalKind};
use crate::{App, Ctx};

/// The event version cairn writes.
pub const EVENT_VERSION: &str = "1.11";

/// AWS's field order for an API-call record.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiCallEvent<'a> {
    pub event_version: &'static str,
    pub user_identity: UserIdentity,
    pub event_time: String,
    pub event_source: &'static str,
    pub event_name: &'a str,
    pub aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    pub user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<&'a str>,
    pub request_parameters: Value,
    pub response_elements: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_event_data: Option<Value>,
    #[serde(rename = "requestID")]
    pub request_id: &'a str,
    #[serde(rename = "eventID")]
    pub event_id: String,
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Value>,
    pub event_type: &'static str,
    pub management_event: bool,
    pub recipient_account_id: &'a str,
    #[serde(rename = "sharedEventID", skip_serializing_if = "Option::is_none")]
    pub shared_event_id: Option<&'a str>,
    pub event_category: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub principal_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub arn: String,
    pub account_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub access_key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_context: Option<Value>,
}

/// Who made a recorded call.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Identity<'a> {
    /// A configured credential.
    Credential { principal: &'a Principal, access_key_id: &'a str },
    /// An unsigned request (S3 records these as `AWSAccount` `anonymous`).
    Anonymous,
}

/// One answered call, as the service that answered it describes it.
#[derive(Debug, Clone)]
pub(crate) struct Call<'a> {
    pub identity: Identity<'a>,
    pub region: &'a str,
    pub request_id: &'a str,
    pub received_at: i64,
    pub peer: SocketAddr,
    pub user_agent: &'a str,
    pub event_source: &'static str,
    pub event_name: &'a str,
    pub read_only: bool,
    /// A data event (S3 object-level calls) rather than a management event.
    pub data_event: bool,
    /// The error code and message answered, if the call failed.
    pub error: Option<(&'a str, &'a str)>,
    pub request_parameters: Value,
    pub response_elements: Value,
    pub additional_event_data: Option<Value>,
    pub resources: Option<Value>,
    pub recipient_account_id: &'a str,
    /// Set when one call is recorded for two accounts (bucket owner and requester): the id both records share.
    pub shared_event_id: Option<&'a str>,
}

impl<'a> Call<'a> {
    /// A call made with a credential of `ctx`, received at `received_at` from `peer` with `user_agent`, recorded for
    /// `ctx`'s account as a successful management event without parameters, elements or resources; callers set what
    /// their call has.
    pub(crate) fn by(
        ctx: &'a Ctx,
        access_key_id: &'a str,
        (received_at, peer, user_agent): (i64, SocketAddr, &'a str),
        event_source: &'static str,
        event_name: &'a str,
    ) -> Call<'a> {
        Call {
            identity: Identity::Credential { principal: &ctx.principal, access_key_id },
            region: &ctx.region,
            request_id: &ctx.request_id,
            received_at,
            peer,
            user_agent,
            event_source,
            event_name,
            read_only: false,
            data_event: false,
            error: None,
            request_parameters: Value::Null,
            response_elements: Value::Null,
            additional_event_data: None,
            resources: None,
            recipient_account_id: &ctx.account_id,
            shared_event_id: None,
        }
    }
}

/// Records a call for its recipient account and, when `also` names another account (the owner of the resource acted
/// on, or the requester), for that account too, both records sharing one `sharedEventID`, as AWS records calls
/// across accounts.
pub(crate) async fn record_for(app: &App, call: Call<'_>, also: Option<&str>) -> Result<(), ApiError> {
    let Some(other) = also.filter(|a| *a != call.recipient_account_id) else {
        return record(app, call).await;
    };
    let shared = uuid::Uuid::new_v4().to_string();
    for recipient in [call.recipient_account_id, other] {
        let mut c = call.clone();
        c.recipient_account_id = recipient;
        c.shared_event_id = Some(&shared);
        record(app, c).await?;
    }
    Ok(())
}

/// Records a call and waits until its event is durable: no answer without its record.
pub(crate) async fn record(app: &App, call: Call<'_>) -> Result<(), ApiError> {
    let event_time = cairn_model::event::format_event_time(call.received_at);
    let event = ApiCallEvent {
        event_version: EVENT_VERSION,
        user_identity: match call.identity {
            Identity::Credential { principal, access_key_id } => user_identity(principal, access_key_id, &event_time),
            Identity::Anonymous => UserIdentity {
                kind: "AWSAccount",
                principal_id: String::new(),
                arn: String::new(),
                account_id: "anonymous".into(),
                access_key_id: String::new(),
                user_name: None,
                session_context: None,
            },
        },
        event_source: call.event_source,
        event_name: call.event_name,
        aws_region: call.region,
        source_ip_address: call.peer.ip().to_string(),
        user_agent: call.user_agent.to_string(),
        error_code: call.error.map(|e| e.0),
        error_message: call.error.map(|e| e.1),
        request_parameters: call.request_parameters,
        response_elements: call.response_elements,
        additional_event_data: call.additional_event_data,
        request_id: call.request_id,
        event_id: uuid::Uuid::new_v4().to_string(),
        read_only: call.read_only,
        resources: call.resources,
        event_type: "AwsApiCall",
        management_event: !call.data_event,
        recipient_account_id: call.recipient_account_id,
        shared_event_id: call.shared_event_id,
        event_category: if call.data_event { "Data" } else { "Management" },
        event_time,
    };
    let serialize = |e: &ApiCallEvent<'_>| {
        serde_json::to_vec(e).map_err(|e| ApiError::internal(format!("serializing an event: {e}")))
    };
    let mut payload = serialize(&event)?;
    // The call is recorded whatever its size; what does not fit is left out, and the record says so.
    if let Ok(Some(fitted)) = cairn_model::event::fitted(&payload, cairn_model::event::MAX_EVENT_BYTES) {
        payload = fitted;
    }
    app.journal.append(vec![payload.into()]).await.map_err(|e| {
        tracing::error!(error = %e, "cannot record an API call in the journal");
        ApiError::internal("the call could not be recorded durably")
    })?;
    Ok(())
}

/// A stable IAM-style unique id (`AIDA…`, `AROA…`) for a principal, derived from its ARN.
fn unique_id(prefix: &str, arn: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut out = String::from(prefix);
    for round in 0..17u64 {
        for b in arn.bytes().chain(round.to_le_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        out.push(ALPHABET[(h >> 59) as usize] as char);
    }
    out
}

/// The `userIdentity` AWS records for a credential: root, an IAM user, or an assumed role session.
pub fn user_identity(principal: &Principal, access_key_id: &str, event_time: &str) -> UserIdentity {
    let account = principal.account_id.clone();
    match &principal.kind {
        PrincipalKind::Root => UserIdentity {
            kind: "Root",
            principal_id: account.clone(),
            arn: principal.arn(),
            account_id: account,
            access_key_id: access_key_id.to_string(),
            user_name: None,
            session_context: None,
        },
        PrincipalKind::User(name) => UserIdentity {
            kind: "IAMUser",
            principal_id: unique_id("AIDA", &principal.arn()),
            arn: principal.arn(),
            account_id: account,
            access_key_id: access_key_id.to_string(),
            user_name: Some(name.clone()),
            session_context: None,
        },
        PrincipalKind::Role(name) => {
            let role_id = unique_id("AROA", &principal.arn());
            let session = access_key_id;
            UserIdentity {
                kind: "AssumedRole",
                principal_id: format!("{role_id}:{session}"),
                arn: format!("arn:aws:sts::{account}:assumed-role/{name}/{session}"),
                account_id: account.clone(),
                access_key_id: access_key_id.to_string(),
                user_name: None,
                session_context: Some(serde_json::json!({
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": role_id,
                        "arn": principal.arn(),
                        "accountId": account,
                        "userName": name,
                    },
                    "attributes": { "creationDate": event_time, "mfaAuthenticated": "false" },
                })),
            }
        }
    }
}

/// A member name as AWS records it: its first letter lower-cased.
pub fn camel_case_name(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// AWS records request parameters and response elements with camelCase member names.
pub fn camel_case(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter().map(|(k, v)| (camel_case_name(&k), camel_case(v))).collect::<Map<String, Value>>(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(camel_case).collect()),
        other => other,
    }
}

/// `requestParameters`: the input as given, camelCased; null when the call had no input.
pub fn request_parameters(body: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) if !m.is_empty() => camel_case(Value::Object(m)),
        _ => Value::Null,
    }
}

/// `requestParameters` of an input already decoded (the query and CBOR protocols): null when it is empty.
pub fn parameters_or_null(input: Value) -> Value {
    if input.as_object().is_some_and(|m| !m.is_empty()) {
        input
    } else {
        Value::Null
    }
}

/// `responseElements`: the output of a successful mutating call, camelCased; null for read-only calls, empty
/// outputs and errors, as AWS records them.
pub fn response_elements(read_only: bool, response: Option<&[u8]>) -> Value {
    match response {
        Some(body) if !read_only => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) if !m.is_empty() => camel_case(Value::Object(m)),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn camel_cases_nested_members() {
        let v = camel_case(
            json!({"TrailName": "t", "EventSelectors": [{"ReadWriteType": "All", "DataResources": [{"Type": "x", "Values": []}]}], "S3BucketName": "b", "TrailARN": "a"}),
        );
        assert_eq!(
            v,
            json!({"trailName": "t", "eventSelectors": [{"readWriteType": "All", "dataResources": [{"type": "x", "values": []}]}], "s3BucketName": "b", "trailARN": "a"})
        );
        assert_eq!(request_parameters(b"{}"), Value::Null);
        assert_eq!(request_parameters(b""), Value::Null);
        assert_eq!(response_elements(true, Some(b"{\"A\":1}")), Value::Null);
        assert_eq!(response_elements(false, Some(b"{}")), Value::Null);
        assert_eq!(response_elements(false, Some(b"{\"TrailARN\":\"x\"}")), json!({"trailARN": "x"}));
    }

    #[test]
    fn identities_and_times() {
        let user = Principal { account_id: "111111111111".into(), kind: PrincipalKind::User("alice".into()) };
        let id = user_identity(&user, "AKIAEXAMPLE", "2026-01-01T00:00:00Z");
        assert_eq!((id.kind, id.user_name.as_deref()), ("IAMUser", Some("alice")));
        assert!(id.principal_id.starts_with("AIDA") && id.principal_id.len() == 21);
        assert_eq!(id.principal_id, user_identity(&user, "AKIAOTHER", "x").principal_id, "ids are stable");
        let role = Principal { account_id: "111111111111".into(), kind: PrincipalKind::Role("auditor".into()) };
        let id = user_identity(&role, "AKIAEXAMPLE", "2026-01-01T00:00:00Z");
        assert_eq!(id.arn, "arn:aws:sts::111111111111:assumed-role/auditor/AKIAEXAMPLE");
        assert_eq!(id.session_context.unwrap()["sessionIssuer"]["arn"], "arn:aws:iam::111111111111:role/auditor");
    }
}
