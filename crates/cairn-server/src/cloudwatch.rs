//! cairn's CloudWatch endpoint on the shared listen address: requests signed for `monitoring` in any of the three
//! protocols CloudWatch's model lists (RPC v2 CBOR, which the AWS CLI and SDKs choose; AWS JSON 1.0; query),
//! answered by `cairn-cloudwatch` and recorded as CloudWatch events (alarm calls as management events, metric data
//! as data events). Also the task that evaluates alarms on the clock and runs their actions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::header;
use axum::response::Response;
use cairn_api::wire::Node;
use cairn_api::ApiError;
use cairn_cloudwatch::{Call, Operation, Transition};
use serde_json::Value;

use crate::http::{call_context, read_body, refuse_unrecordable};
use crate::wire::{self, Service};
use crate::{audit, App};

/// The SigV4 signing name of CloudWatch.
pub(crate) const SERVICE: &str = "monitoring";

const CLOUDWATCH: Service = Service {
    target_prefix: "GraniteServiceVersion20100801",
    xml_namespace: "http://monitoring.amazonaws.com/doc/2010-08-01/",
    query_compatible: true,
};

/// PutMetricData's 1 MB payload (2 MB with the CBOR or form overhead of a full batch), with room to spare.
const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// How often alarms are evaluated on the clock. CloudWatch evaluates each minute; evaluating more often only
/// answers sooner. Metrics receiving data also wake an evaluation, at most one each `EVALUATION_GAP`.
const EVALUATION_INTERVAL: Duration = Duration::from_secs(10);
const EVALUATION_GAP: Duration = Duration::from_millis(50);

pub(crate) async fn handle(app: Arc<App>, peer: SocketAddr, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = req.into_parts();
    let protocol = wire::protocol(&parts, &CLOUDWATCH);
    let (name, result) = match respond(app, parts, body, &request_id, peer).await {
        Ok((name, result)) => (name, result),
        Err(e) => (String::new(), Err(e)),
    };
    wire::respond(protocol, &CLOUDWATCH, &name, &request_id, result)
}

type Answer = (String, Result<Option<Node>, ApiError>);

async fn respond(
    app: Arc<App>,
    parts: axum::http::request::Parts,
    body: axum::body::Body,
    request_id: &str,
    peer: SocketAddr,
) -> Result<Answer, ApiError> {
    let received_at = app.clock.now_millis();
    let bytes = read_body(&parts, body, MAX_REQUEST_BYTES).await?;
    let (ctx, akid) = call_context(&app, &parts, &bytes, SERVICE, request_id)?;
    let decoded = wire::decode(&parts, &bytes, &CLOUDWATCH)?;
    let op = Operation::from_name(&decoded.operation)
        .ok_or_else(|| wire::unknown_operation(decoded.protocol, &decoded.operation))?;
    refuse_unrecordable(&app, op.is_read_only())?;
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let name = decoded.operation.clone();
    // The call and its record run in their own task: a client that disconnects cannot leave a change unrecorded.
    let answer = tokio::spawn(async move {
        let input = decoded.input;
        let result = {
            let (app, ctx, input) = (Arc::clone(&app), ctx.clone(), input.clone());
            tokio::task::spawn_blocking(move || {
                let call = Call { account: &ctx.account_id, region: &ctx.region, now_ms: app.clock.now_millis() };
                app.cloudwatch.call(&call, op, &input)
            })
            .await
            .map_err(|e| ApiError::internal(format!("CloudWatch handler panicked: {e}")))?
        };
        let received = (received_at, peer, user_agent.as_str());
        let recorded_input = if op.is_data() { metric_data_parameters(op, &input) } else { input };
        let call = audit::Call {
            read_only: op.is_read_only(),
            data_event: op.is_data(),
            error: result.as_ref().err().map(|e| (e.code.query_code(), e.message.as_str())),
            request_parameters: audit::parameters_or_null(recorded_input),
            ..audit::Call::by(&ctx, &akid, received, "monitoring.amazonaws.com", op.name())
        };
        audit::record(&app, call).await?;
        let (node, transitions) = result?;
        run_actions(&app, transitions).await;
        let has_output = !matches!(
            op,
            Operation::PutMetricData
                | Operation::PutMetricAlarm
                | Operation::DeleteAlarms
                | Operation::SetAlarmState
                | Operation::EnableAlarmActions
                | Operation::DisableAlarmActions
        );
        Ok::<_, ApiError>(has_output.then_some(node))
    })
    .await
    .map_err(|e| ApiError::internal(format!("CloudWatch call task failed: {e}")))?;
    Ok((name, answer))
}

/// What a metric data call records: its namespace and metric names, never the values.
fn metric_data_parameters(op: Operation, input: &Value) -> Value {
    match op {
        Operation::PutMetricData => serde_json::json!({
            "namespace": input["Namespace"],
            "metricNames": input["MetricData"].as_array().map(|d| d.iter().map(|m| m["MetricName"].clone()).collect::<Vec<_>>()),
        }),
        _ => input.clone(),
    }
}

/// Runs the actions of alarm transitions: SNS topics are published to; other actions are recorded as failed.
pub(crate) async fn run_actions(app: &Arc<App>, transitions: Vec<Transition>) {
    for t in transitions {
        for action in &t.actions {
            let outcome = if action.starts_with("arn:aws:sns:") {
                crate::sns::publish_alarm(app, action, &t).await
            } else {
                Err(format!("cairn does not run {action}: only SNS topic actions are supported"))
            };
            if let Err(e) = &outcome {
                tracing::warn!(alarm = %t.alarm.name, action, error = %e, "alarm action failed");
            }
            let (app2, t2, action2) = (Arc::clone(app), t.clone(), action.clone());
            let recorded = tokio::task::spawn_blocking(move || {
                app2.cloudwatch.record_action(&t2, &action2, outcome.err().as_deref(), app2.clock.now_millis())
            })
            .await;
            if let Ok(Err(e)) | Err(e) = recorded.map_err(|e| cairn_cloudwatch::Error::Storage(e.to_string())) {
                tracing::warn!(error = %e, "cannot record an alarm action");
            }
        }
    }
}

/// Evaluates every alarm on the clock, and when metrics receive data, and runs the actions of those that changed
/// state.
pub(crate) fn spawn_evaluation(app: Arc<App>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVALUATION_INTERVAL);
        loop {
            let on_clock = tokio::select! {
                _ = tick.tick() => true,
                _ = app.alarm_wake.notified() => false,
            };
            let a = Arc::clone(&app);
            let evaluated = tokio::task::spawn_blocking(move || {
                let now = a.clock.now_millis();
                if on_clock {
                    if let Err(e) = a.cloudwatch.expire(now) {
                        tracing::warn!(error = %e, "cannot apply alarm history retention");
                    }
                }
                a.cloudwatch.evaluate(now)
            })
            .await;
            match evaluated {
                Ok(Ok(transitions)) => run_actions(&app, transitions).await,
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot evaluate alarms"),
                Err(e) => tracing::warn!(error = %e, "alarm evaluation task failed"),
            }
            // A wake while this evaluation ran is kept by the Notify and answered after the gap.
            tokio::time::sleep(EVALUATION_GAP).await;
        }
    });
}
