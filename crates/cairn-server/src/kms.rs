//! cairn's KMS endpoint on the shared listen address: requests signed for the `kms` service, AWS JSON 1.1 with
//! `TrentService.*` targets, answered by `cairn-kms` and recorded as KMS management events.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::header;
use axum::response::Response;
use cairn_api::{ApiError, JSON_CONTENT_TYPE};
use cairn_kms::{Call, Operation};
use cairn_policy::{Caller, RequestFacts};
use serde_json::{json, Value};

use crate::http::{call_context, finish, json_operation, read_body, refuse_unrecordable};
use crate::{audit, App, Ctx};

/// The SigV4 signing name of KMS.
pub(crate) const SERVICE: &str = "kms";

/// The largest KMS request: a 32 KB key policy, JSON-escaped, fits with room to spare.
const MAX_REQUEST_BYTES: usize = 300 * 1024;

/// Who calls, as key policies see them.
pub(crate) fn facts(app: &App, ctx: &Ctx, peer: Option<SocketAddr>) -> RequestFacts {
    RequestFacts {
        caller: Caller::Account {
            account: ctx.account_id.clone(),
            arn: ctx.principal.arn(),
            organization: app.organization_of(&ctx.account_id).map(|o| o.id.clone()),
        },
        source_ip: peer.map(|p| p.ip()),
        secure_transport: false,
        now: crate::now(app.clock.now_millis()),
    }
}

pub(crate) async fn handle(app: Arc<App>, peer: SocketAddr, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = respond(app, req, &request_id, peer).await;
    finish(&request_id, JSON_CONTENT_TYPE, result)
}

async fn respond(app: Arc<App>, req: Request, request_id: &str, peer: SocketAddr) -> Result<Vec<u8>, ApiError> {
    let received_at = app.clock.now_millis();
    let (parts, body) = req.into_parts();
    let bytes = read_body(&parts, body, MAX_REQUEST_BYTES).await?;
    let (ctx, akid) = call_context(&app, &parts, &bytes, SERVICE, request_id)?;
    let op = json_operation(&parts, "cairn's KMS", Operation::from_target)?;
    refuse_unrecordable(&app, op.is_read_only())?;
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    // The call and its record run in their own task: a client that disconnects cannot leave a change unrecorded.
    tokio::spawn(async move {
        let facts = facts(&app, &ctx, Some(peer));
        let result = {
            let (app, ctx, bytes) = (Arc::clone(&app), ctx.clone(), bytes.clone());
            tokio::task::spawn_blocking(move || {
                let call = Call { facts: &facts, region: &ctx.region, via_service: None };
                app.kms.call(&call, op, &bytes)
            })
            .await
            .map_err(|e| ApiError::internal(format!("KMS handler panicked: {e}")))?
        };
        let input: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let output: Value = result.as_ref().ok().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        let key = key_arn(&input, &output, &ctx);
        // A call on another account's key is recorded for that account too, as KMS does.
        let owner = key.as_deref().and_then(|k| k.split(':').nth(4)).unwrap_or(&ctx.account_id).to_string();
        let resources = key.map(|arn| json!([{ "accountId": owner, "type": "AWS::KMS::Key", "ARN": arn }]));
        let received = (received_at, peer, user_agent.as_str());
        let call = audit::Call {
            read_only: op.is_read_only(),
            error: result.as_ref().err().map(|e| (e.code.shape_name(), e.message.as_str())),
            request_parameters: request_parameters(input),
            response_elements: response_elements(op, output),
            resources,
            ..audit::Call::by(&ctx, &akid, received, "kms.amazonaws.com", op.name())
        };
        audit::record_for(&app, call, Some(&owner)).await?;
        result
    })
    .await
    .map_err(|e| ApiError::internal(format!("KMS call task failed: {e}")))?
}

/// Members that carry secrets or ciphertext: never recorded.
const SECRET_MEMBERS: [&str; 3] = ["Plaintext", "CiphertextBlob", "CiphertextForRecipient"];

/// Members whose keys are the caller's own data: recorded as given, not camelCased.
const VERBATIM_MEMBERS: [&str; 3] = ["EncryptionContext", "SourceEncryptionContext", "DestinationEncryptionContext"];

/// `requestParameters`: the input without plaintext or ciphertext, camelCased (encryption contexts as given), as
/// KMS's events show it.
fn request_parameters(mut input: Value) -> Value {
    let Value::Object(m) = &mut input else { return Value::Null };
    for k in SECRET_MEMBERS {
        m.remove(k);
    }
    if m.is_empty() {
        return Value::Null;
    }
    let verbatim: Vec<(String, Value)> =
        VERBATIM_MEMBERS.iter().filter_map(|k| Some((audit::camel_case_name(k), m.remove(*k)?))).collect();
    let mut out = audit::camel_case(input);
    if let Value::Object(o) = &mut out {
        o.extend(verbatim);
    }
    out
}

/// `responseElements`: the output of a change, without secrets; null for reads, as KMS's events show it.
fn response_elements(op: Operation, mut output: Value) -> Value {
    if op.is_read_only() {
        return Value::Null;
    }
    if let Value::Object(m) = &mut output {
        for k in SECRET_MEMBERS {
            m.remove(k);
        }
        if m.is_empty() {
            return Value::Null;
        }
    }
    audit::camel_case(output)
}

/// The ARN of the key a call acted on: from the answer when it names one, else from the key the input named.
fn key_arn(input: &Value, output: &Value, ctx: &Ctx) -> Option<String> {
    let answered = output["KeyMetadata"]["Arn"].as_str().or_else(|| output["KeyId"].as_str());
    if let Some(arn) = answered.filter(|a| a.starts_with("arn:aws:kms:")) {
        return Some(arn.to_string());
    }
    let named = input["KeyId"].as_str().or_else(|| input["TargetKeyId"].as_str())?;
    if named.starts_with("arn:aws:kms:") && named.contains(":key/") {
        return Some(named.to_string());
    }
    uuid::Uuid::parse_str(named).ok().map(|_| format!("arn:aws:kms:{}:{}:key/{named}", ctx.region, ctx.account_id))
}

/// The observer of the key uses cairn's own services make for a caller: each becomes the KMS event AWS records for
/// such a call. CloudTrail's data keys are recorded as an `AWSService` call by `cloudtrail.amazonaws.com`; S3's
/// decryption for a reader as the reader's call `invokedBy` S3. The record is appended without waiting: the use is
/// not an API call to cairn, and nothing is answered on it.
pub(crate) fn observer(
    journal: Arc<cairn_journal::Journal>,
    clock: Arc<dyn crate::Clock>,
    credentials: &[(String, crate::config::Credential)],
) -> cairn_kms::Observer {
    let identities: std::collections::HashMap<String, (crate::config::Principal, String)> =
        credentials.iter().map(|(akid, c)| (c.principal.arn(), (c.principal.clone(), akid.clone()))).collect();
    Arc::new(move |used: &cairn_kms::KeyUse<'_>| {
        let Some(event) = key_use_event(used, &identities, clock.now_millis()) else { return };
        let journal = Arc::clone(&journal);
        let append = async move {
            if let Err(e) = journal.append(vec![event.into()]).await {
                tracing::error!(error = %e, "cannot record a KMS key use in the journal");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn(append)),
            Err(_) => tracing::warn!("a KMS key use outside a runtime was not recorded"),
        }
    })
}

fn key_use_event(
    used: &cairn_kms::KeyUse<'_>,
    identities: &std::collections::HashMap<String, (crate::config::Principal, String)>,
    now_ms: i64,
) -> Option<Vec<u8>> {
    let event_time = cairn_model::event::format_event_time(now_ms);
    let (identity, source) = match &used.call.facts.caller {
        Caller::Service { name, .. } => (json!({ "type": "AWSService", "invokedBy": name }), name.clone()),
        Caller::Account { arn, .. } => {
            // `s3.<region>.amazonaws.com` acts as `s3.amazonaws.com`.
            let via = used.call.via_service.map_or("AWS Internal".to_string(), |v| {
                let service = v.split('.').next().unwrap_or(v);
                format!("{service}.amazonaws.com")
            });
            let (principal, akid) = identities.get(arn)?;
            let mut id = serde_json::to_value(audit::user_identity(principal, akid, &event_time)).ok()?;
            id["invokedBy"] = json!(via);
            (id, via)
        }
        Caller::Anonymous => return None,
    };
    let caller_account = used.call.account().to_string();
    let owner = used.key_arn.as_deref().and_then(|a| a.split(':').nth(4)).unwrap_or(&caller_account).to_string();
    let mut parameters = json!({ "encryptionContext": used.context });
    match used.operation {
        Operation::GenerateDataKey => {
            parameters["keySpec"] = json!("AES_256");
            if let Some(k) = &used.key_arn {
                parameters["keyId"] = json!(k);
            }
        }
        _ => parameters["encryptionAlgorithm"] = json!("SYMMETRIC_DEFAULT"),
    }
    let mut event = json!({
        "eventVersion": audit::EVENT_VERSION,
        "userIdentity": identity,
        "eventTime": event_time,
        "eventSource": "kms.amazonaws.com",
        "eventName": used.operation.name(),
        "awsRegion": used.call.region,
        "sourceIPAddress": source,
        "userAgent": source,
    });
    if let Some(e) = used.error {
        event["errorCode"] = json!(e.code.shape_name());
        event["errorMessage"] = json!(e.message);
    }
    let rest = json!({
        "requestParameters": parameters,
        "responseElements": null,
        "requestID": uuid::Uuid::new_v4().to_string(),
        "eventID": uuid::Uuid::new_v4().to_string(),
        "readOnly": true,
        "resources": used.key_arn.as_ref().map(|arn| json!([{ "accountId": owner, "type": "AWS::KMS::Key", "ARN": arn }])),
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": owner,
        "eventCategory": "Management",
    });
    if let (Value::Object(e), Value::Object(r)) = (&mut event, rest) {
        // An unknown key has no resources entry.
        e.extend(r.into_iter().filter(|(k, v)| !(k == "resources" && v.is_null())));
    }
    serde_json::to_vec(&event).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_recorded() {
        let input =
            json!({"KeyId": "alias/x", "Plaintext": "c2VjcmV0", "EncryptionContext": {"Dept": "b", "dept": "c"}});
        assert_eq!(
            request_parameters(input),
            json!({"keyId": "alias/x", "encryptionContext": {"Dept": "b", "dept": "c"}})
        );
        assert_eq!(request_parameters(json!({"CiphertextBlob": "AAAA"})), Value::Null);
        let out = json!({"KeyId": "arn:aws:kms:us-east-1:1:key/k", "Plaintext": "x", "CiphertextBlob": "y"});
        assert_eq!(response_elements(Operation::GenerateDataKey, out.clone()), Value::Null);
        assert_eq!(
            response_elements(Operation::ScheduleKeyDeletion, out),
            json!({"keyId": "arn:aws:kms:us-east-1:1:key/k"})
        );
    }
}
