//! cairn's CloudWatch Logs endpoint on the shared listen address: requests signed for the `logs` service, AWS JSON
//! 1.1 with `Logs_20140328.*` targets, answered by `cairn-logs` and recorded as CloudWatch Logs events (log group
//! changes and reads as management events, reading and writing log events as data events). Also the task that
//! applies log and metric retention on the clock.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::header;
use axum::response::Response;
use cairn_api::{ApiError, JSON_CONTENT_TYPE};
use cairn_logs::{Call, Operation};
use serde_json::{json, Value};

use crate::http::{call_context, finish, json_operation, read_body, refuse_unrecordable};
use crate::{audit, App};

/// The SigV4 signing name of CloudWatch Logs.
pub(crate) const SERVICE: &str = "logs";

/// A full PutLogEvents batch (1 MB of messages) JSON-escaped, with room to spare.
const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

/// How often retention deletes expired events (reads leave them out before that).
const EXPIRY_INTERVAL: Duration = Duration::from_secs(60);

/// Members of requests and answers never recorded: log data.
const DATA_MEMBERS: [&str; 3] = ["logEvents", "logEventMessages", "events"];

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
    let op = json_operation(&parts, "cairn's CloudWatch Logs", Operation::from_target)?;
    refuse_unrecordable(&app, op.is_read_only())?;
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    // The call and its record run in their own task: a client that disconnects cannot leave a change unrecorded.
    tokio::spawn(async move {
        let result = {
            let (app, ctx, bytes) = (Arc::clone(&app), ctx.clone(), bytes.clone());
            tokio::task::spawn_blocking(move || {
                let call = Call { account: &ctx.account_id, region: &ctx.region, now_ms: app.clock.now_millis() };
                app.logs.call(&call, op, &bytes)
            })
            .await
            .map_err(|e| ApiError::internal(format!("CloudWatch Logs handler panicked: {e}")))?
        };
        let input: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let group = input["logGroupName"]
            .as_str()
            .map(|name| format!("arn:aws:logs:{}:{}:log-group:{name}", ctx.region, ctx.account_id))
            .or_else(|| input["logGroupIdentifier"].as_str().filter(|i| i.starts_with("arn:")).map(str::to_string))
            .or_else(|| input["resourceArn"].as_str().map(str::to_string));
        let resources =
            group.map(|arn| json!([{ "accountId": ctx.account_id, "type": "AWS::Logs::LogGroup", "ARN": arn }]));
        let received = (received_at, peer, user_agent.as_str());
        let output: Value = result.as_ref().ok().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        let call = audit::Call {
            read_only: op.is_read_only(),
            data_event: op.is_data(),
            error: result.as_ref().err().map(|e| (e.code.shape_name(), e.message.as_str())),
            request_parameters: without_data(input),
            response_elements: if op.is_read_only() { Value::Null } else { without_data(output) },
            resources,
            ..audit::Call::by(&ctx, &akid, received, "logs.amazonaws.com", op.name())
        };
        audit::record(&app, call).await?;
        result
    })
    .await
    .map_err(|e| ApiError::internal(format!("CloudWatch Logs call task failed: {e}")))?
}

/// A request or answer as recorded: without log data; null when nothing is left.
fn without_data(mut v: Value) -> Value {
    let Value::Object(m) = &mut v else { return Value::Null };
    for k in DATA_MEMBERS {
        m.remove(k);
    }
    if m.is_empty() {
        Value::Null
    } else {
        v
    }
}

/// Applies every log group's retention on the clock, every minute.
pub(crate) fn spawn_expiry(app: Arc<App>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EXPIRY_INTERVAL);
        loop {
            tick.tick().await;
            let app = Arc::clone(&app);
            let expired = tokio::task::spawn_blocking(move || {
                let now = app.clock.now_millis();
                if let Err(e) = app.metrics.expire(now) {
                    tracing::warn!(error = %e, "cannot apply CloudWatch metric retention");
                }
                app.logs.expire(now)
            })
            .await;
            match expired {
                Ok(Ok(n)) if n > 0 => tracing::info!(events = n, "log events past their group's retention deleted"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot apply log retention"),
                Err(e) => tracing::warn!(error = %e, "log retention task failed"),
            }
        }
    });
}
