//! The HTTP endpoint: body limits, SigV4 authentication, `X-Amz-Target` dispatch to one handler per operation,
//! and AWS JSON 1.1 responses and errors.

use std::future::Future;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use cairn_api::sigv4::{self, SignedRequest};
use cairn_api::{ApiError, ErrorCode, Operation, JSON_CONTENT_TYPE};
use http_body_util::{BodyExt, Limited};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::{organizations, selectors, tags, trails, App, Ctx};

/// The SigV4 signing name of the CloudTrail API.
const SERVICE: &str = "cloudtrail";

pub fn router(app: Arc<App>) -> Router {
    Router::new().fallback(handle).with_state(app)
}

/// Serves until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = respond(&app, req, &request_id).await;
    let (status, body, error_type) = match result {
        Ok(body) => (StatusCode::OK, body, None),
        Err(e) => {
            if e.code == ErrorCode::InternalFailure {
                tracing::error!(request_id, message = %e.message, "internal failure");
            }
            let status =
                StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            (status, e.body(), Some(e.code.shape_name()))
        }
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-amzn-requestid", v);
    }
    if let Some(t) = error_type {
        h.insert("x-amzn-errortype", HeaderValue::from_static(t));
    }
    resp
}

async fn respond(app: &Arc<App>, req: Request, request_id: &str) -> Result<Vec<u8>, ApiError> {
    let (parts, body) = req.into_parts();
    let limit = app.settings.max_request_bytes;
    let too_large = || {
        ApiError::new(
            ErrorCode::RequestEntityTooLarge,
            format!("request body is larger than the {limit}-byte limit"),
        )
    };
    // Refuse an announced oversized body before reading any of it; a chunked one is cut off at the limit.
    let announced = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let body: Body = body;
    let bytes = Limited::new(body, limit)
        .collect()
        .await
        .map_err(|_| too_large())?
        .to_bytes();

    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &bytes,
    };
    let verified = sigv4::verify(&signed, SERVICE, OffsetDateTime::now_utc(), |akid| {
        app.credential(akid).map(|c| c.secret_access_key.as_str())
    })?;
    let credential = app
        .credential(&verified.access_key_id)
        .ok_or_else(|| ApiError::internal("verified credential vanished"))?;
    let ctx = Ctx {
        account_id: credential.principal.account_id.clone(),
        region: verified.region,
        principal: credential.principal.clone(),
        request_id: request_id.to_string(),
    };

    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let op = if parts.method == axum::http::Method::POST && parts.uri.path() == "/" {
        Operation::from_target(target)
    } else {
        None
    };
    let Some(op) = op else {
        return Err(ApiError::new(
            ErrorCode::UnknownOperation,
            format!(
                "{} {} with target {target:?} is not an operation of CloudTrail",
                parts.method,
                parts.uri.path()
            ),
        ));
    };
    // Handlers are synchronous. Reads only touch the in-memory catalog and run inline; writes commit to SQLite
    // (an fsync) and run on the blocking pool so they never stall the request loop.
    if op.is_read_only() {
        return dispatch(app, &ctx, op, &bytes);
    }
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || dispatch(&app, &ctx, op, &bytes))
        .await
        .map_err(|e| ApiError::internal(format!("handler panicked: {e}")))?
}

fn json<T: Serialize>(value: T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(&value)
        .map_err(|e| ApiError::internal(format!("serializing a response: {e}")))
}

fn dispatch(app: &App, ctx: &Ctx, op: Operation, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    use cairn_api::parse_input as input;
    use Operation as Op;
    match op {
        Op::CreateTrail => json(trails::create(app, ctx, input(body)?)?),
        Op::UpdateTrail => json(trails::update(app, ctx, input(body)?)?),
        Op::DeleteTrail => json(trails::delete(app, ctx, input(body)?)?),
        Op::GetTrail => json(trails::get(app, ctx, input(body)?)?),
        Op::DescribeTrails => json(trails::describe(app, ctx, input(body)?)?),
        Op::ListTrails => json(trails::list(app, ctx, input(body)?)?),
        Op::GetTrailStatus => json(trails::status(app, ctx, input(body)?)?),
        Op::StartLogging => json(trails::set_logging(app, ctx, input(body)?, true)?),
        Op::StopLogging => json(trails::set_logging(app, ctx, input(body)?, false)?),
        Op::PutEventSelectors => json(selectors::put_event_selectors(app, ctx, input(body)?)?),
        Op::GetEventSelectors => json(selectors::get_event_selectors(app, ctx, input(body)?)?),
        Op::PutInsightSelectors => json(selectors::put_insight_selectors(app, ctx, input(body)?)?),
        Op::GetInsightSelectors => json(selectors::get_insight_selectors(app, ctx, input(body)?)?),
        Op::AddTags => json(tags::add(app, ctx, input(body)?)?),
        Op::RemoveTags => json(tags::remove(app, ctx, input(body)?)?),
        Op::ListTags => json(tags::list(app, ctx, input(body)?)?),
        Op::RegisterOrganizationDelegatedAdmin => {
            json(organizations::register(app, ctx, input(body)?)?)
        }
        Op::DeregisterOrganizationDelegatedAdmin => {
            json(organizations::deregister(app, ctx, input(body)?)?)
        }
        other => Err(ApiError::new(
            ErrorCode::UnsupportedOperation,
            format!("{} is not supported by this version of cairn", other.name()),
        )),
    }
}
