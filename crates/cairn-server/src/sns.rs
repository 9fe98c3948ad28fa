//! cairn's SNS endpoint on the shared listen address: requests signed for `sns` in the query protocol, answered by
//! `cairn-sns` in XML and recorded as SNS events (Publish as a data event). Also SNS's unsigned URLs under
//! `/_sns/` (the signing certificate, the confirm and unsubscribe links), the worker that delivers queued messages
//! to HTTP endpoints with their retry policies, and the publishers for CloudWatch alarms and trail log files.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cairn_api::wire::{query, Node};
use cairn_api::ApiError;
use cairn_sns::{Call, Delivery, Operation};
use serde_json::{json, Value};

use crate::http::{call_context, read_body, refuse_unrecordable};
use crate::wire::{self, Protocol, Service};
use crate::{audit, App};

/// The SigV4 signing name of SNS.
pub(crate) const SERVICE: &str = "sns";

const SNS: Service = Service {
    target_prefix: "AmazonSNS",
    xml_namespace: "http://sns.amazonaws.com/doc/2010-03-31/",
    query_compatible: false,
};

/// A Publish of 256 KiB with attributes, form-encoded (up to three bytes per byte), with room to spare.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// How long an endpoint has to answer, as SNS allows.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);
/// How many deliveries run at once.
const DELIVERY_BATCH: usize = 32;

pub(crate) async fn handle(app: Arc<App>, peer: SocketAddr, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = req.into_parts();
    let (name, result) = match respond(app, parts, body, &request_id, peer).await {
        Ok(answer) => answer,
        Err(e) => (String::new(), Err(e)),
    };
    wire::respond(Protocol::Query, &SNS, &name, &request_id, result)
}

async fn respond(
    app: Arc<App>,
    parts: axum::http::request::Parts,
    body: axum::body::Body,
    request_id: &str,
    peer: SocketAddr,
) -> Result<(String, Result<Option<Node>, ApiError>), ApiError> {
    let received_at = app.clock.now_millis();
    let bytes = read_body(&parts, body, MAX_REQUEST_BYTES).await?;
    let (ctx, akid) = call_context(&app, &parts, &bytes, SERVICE, request_id)?;
    let decoded = wire::decode(&parts, &bytes, &SNS)?;
    if decoded.protocol != Protocol::Query {
        return Err(wire::unknown_operation(Protocol::Query, &decoded.operation));
    }
    let op = Operation::from_name(&decoded.operation)
        .ok_or_else(|| wire::unknown_operation(Protocol::Query, &decoded.operation))?;
    refuse_unrecordable(&app, op.is_read_only())?;
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let name = decoded.operation.clone();
    let answer = tokio::spawn(async move {
        let input = decoded.input;
        let facts = crate::kms::facts(&app, &ctx, Some(peer));
        let result = {
            let (app, ctx, input) = (Arc::clone(&app), ctx.clone(), input.clone());
            tokio::task::spawn_blocking(move || {
                let call = Call { facts: &facts, region: &ctx.region, now_ms: app.clock.now_millis() };
                app.sns.call(&call, op, &input)
            })
            .await
            .map_err(|e| ApiError::internal(format!("SNS handler panicked: {e}")))?
        };
        if matches!(op, Operation::Publish | Operation::Subscribe | Operation::Unsubscribe) {
            app.sns_wake.notify_one();
        }
        let received = (received_at, peer, user_agent.as_str());
        let mut recorded = input;
        if let Value::Object(m) = &mut recorded {
            // The message is data, never recorded.
            m.remove("Message");
            m.remove("MessageAttributes");
        }
        let output = result.as_ref().ok().and_then(|n| n.as_ref().map(Node::to_json));
        let call = audit::Call {
            read_only: op.is_read_only(),
            data_event: op.is_data(),
            error: result.as_ref().err().map(|e| (e.code.query_code(), e.message.as_str())),
            request_parameters: audit::parameters_or_null(recorded),
            response_elements: if op.is_read_only() { Value::Null } else { output.unwrap_or(Value::Null) },
            ..audit::Call::by(&ctx, &akid, received, "sns.amazonaws.com", op.name())
        };
        audit::record(&app, call).await?;
        result
    })
    .await
    .map_err(|e| ApiError::internal(format!("SNS call task failed: {e}")))?;
    Ok((name, answer))
}

/// SNS's unsigned URLs: the certificate, and the links in confirmation requests and notifications.
pub(crate) async fn public(app: Arc<App>, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let path = req.uri().path().to_string();
    if path == format!("{}{}", cairn_sns::PUBLIC_PATH, cairn_sns::CERTIFICATE_FILE) {
        let mut resp = (StatusCode::OK, app.sns.certificate_pem().to_string()).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-x509-ca-cert"));
        return resp;
    }
    let input = query::decode(req.uri().query().unwrap_or(""));
    let action = input["Action"].as_str().unwrap_or("").to_string();
    let now = app.clock.now_millis();
    let a = Arc::clone(&app);
    let result = tokio::task::spawn_blocking(move || match action.as_str() {
        "ConfirmSubscription" => a.sns.confirm_by_url(&input, now).map(|n| (action, Some(n))),
        "Unsubscribe" => a.sns.unsubscribe_by_url(&input, now).map(|()| (action, None)),
        other => Err(wire::unknown_operation(Protocol::Query, other)),
    })
    .await
    .unwrap_or_else(|e| Err(ApiError::internal(format!("SNS link task failed: {e}"))));
    app.sns_wake.notify_one();
    match result {
        Ok((action, node)) => wire::respond(Protocol::Query, &SNS, &action, &request_id, Ok(node)),
        Err(e) => wire::respond(Protocol::Query, &SNS, "", &request_id, Err(e)),
    }
}

/// Publishes an alarm's state change to one of its SNS actions, as CloudWatch does.
pub(crate) async fn publish_alarm(app: &Arc<App>, topic: &str, t: &cairn_cloudwatch::Transition) -> Result<(), String> {
    let region = topic.split(':').nth(3).unwrap_or("");
    if region != t.alarm.region {
        return Err(format!("the topic {topic} is not in the alarm's region {}", t.alarm.region));
    }
    let (a, topic, t) = (Arc::clone(app), topic.to_string(), t.clone());
    let published = tokio::task::spawn_blocking(move || {
        let alarm_arn = cairn_cloudwatch::alarm_arn(&t.alarm.region, &t.alarm.account, &t.alarm.name);
        a.sns.publish_as_service(
            &topic,
            "cloudwatch.amazonaws.com",
            &alarm_arn,
            &t.alarm.account,
            Some(&t.subject()),
            &t.message().to_string(),
            a.clock.now_millis(),
        )
    })
    .await
    .map_err(|e| e.to_string())?;
    app.sns_wake.notify_one();
    published.map(|_| ()).map_err(|e| e.message)
}

/// Publishes CloudTrail's notice of delivered log files to the trail's topic, one message per file.
pub(crate) async fn notify_log_files(app: &Arc<App>, trail_arn: &str, files: Vec<(String, String)>) {
    let trail = app.catalog.settled(|_, s| s.trail(trail_arn).cloned());
    let Some((topic, account)) = trail.and_then(|t| Some((t.sns_topic_arn()?, t.account_id.clone()))) else { return };
    let (a, arn) = (Arc::clone(app), trail_arn.to_string());
    let outcome = tokio::task::spawn_blocking(move || {
        for (bucket, key) in files {
            let message = json!({"s3Bucket": bucket, "s3ObjectKey": [key]}).to_string();
            a.sns.publish_as_service(
                &topic,
                "cloudtrail.amazonaws.com",
                &arn,
                &account,
                None,
                &message,
                a.clock.now_millis(),
            )?;
        }
        Ok::<_, ApiError>(())
    })
    .await;
    match outcome {
        Ok(Ok(())) => app.sns_wake.notify_one(),
        Ok(Err(e)) => {
            tracing::warn!(trail = trail_arn, error = %e.message, "cannot publish the trail's log file notification")
        }
        Err(e) => tracing::warn!(trail = trail_arn, error = %e, "log file notification task failed"),
    }
}

/// Delivers queued messages to their endpoints, retrying per their policies; wakes when a message is queued.
pub(crate) fn spawn_delivery(app: Arc<App>) {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder().timeout(DELIVERY_TIMEOUT).build() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot build the SNS delivery client; SNS messages will not be delivered");
                return;
            }
        };
        loop {
            let now = app.clock.now_millis();
            let due = match app.sns.due(now, DELIVERY_BATCH) {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the SNS delivery queue");
                    Vec::new()
                }
            };
            let full = due.len() == DELIVERY_BATCH;
            let mut sends = tokio::task::JoinSet::new();
            for d in due {
                let (client, app) = (client.clone(), Arc::clone(&app));
                sends.spawn(async move {
                    let outcome = send(&client, &d).await;
                    settle(&app, &d, outcome);
                });
            }
            while sends.join_next().await.is_some() {}
            if full {
                continue;
            }
            let next = app.sns.next_due().ok().flatten();
            let wait = next.map_or(Duration::from_secs(1), |t| {
                Duration::from_millis((t - app.clock.now_millis()).clamp(0, 1000) as u64)
            });
            let _ = tokio::time::timeout(wait, app.sns_wake.notified()).await;
        }
    });
}

/// What became of one attempt.
enum Outcome {
    Delivered,
    /// The endpoint refused it for good (a 4xx other than 429): not retried.
    Refused(u16),
    /// Retried per the policy: a 5xx, a 429, or no answer.
    Failed(String),
}

async fn send(client: &reqwest::Client, d: &Delivery) -> Outcome {
    let meta: Value = serde_json::from_str(&d.meta).unwrap_or(Value::Null);
    let mut headers = HeaderMap::new();
    if let Some(h) = meta["headers"].as_object() {
        for (k, v) in h {
            if let (Ok(name), Some(Ok(value))) =
                (axum::http::HeaderName::try_from(k.as_str()), v.as_str().map(HeaderValue::from_str))
            {
                headers.insert(name, value);
            }
        }
    }
    match client.post(&d.endpoint).headers(headers).body(d.body.clone()).send().await {
        Ok(r) if r.status().is_success() => Outcome::Delivered,
        Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => Outcome::Refused(r.status().as_u16()),
        Ok(r) => Outcome::Failed(format!("HTTP {}", r.status().as_u16())),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

fn settle(app: &App, d: &Delivery, outcome: Outcome) {
    let now = app.clock.now_millis();
    let result = match outcome {
        Outcome::Delivered => app.sns.delivered(d),
        Outcome::Refused(status) => {
            tracing::warn!(
                endpoint = d.endpoint,
                status,
                kind = d.kind,
                "the SNS endpoint refused a message; not retried"
            );
            app.sns.delivered(d)
        }
        Outcome::Failed(why) => app.sns.failed(d, now).map(|dropped| {
            if dropped {
                tracing::warn!(
                    endpoint = d.endpoint,
                    error = why,
                    attempts = d.attempts + 1,
                    "SNS delivery retries spent; message dropped"
                );
            } else {
                tracing::debug!(endpoint = d.endpoint, error = why, "SNS delivery failed; will retry");
            }
        }),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot update the SNS delivery queue");
    }
}
