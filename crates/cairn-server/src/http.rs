//! The HTTP endpoint: body limits, SigV4 authentication, `X-Amz-Target` dispatch to one handler per operation,
//! and AWS JSON 1.1 responses and errors.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use cairn_api::sigv4::{self, SignedRequest};
use cairn_api::{ApiError, ErrorCode, Operation, JSON_CONTENT_TYPE};
use http_body_util::{BodyExt, Limited};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::audit;
use crate::config::Credential;
use crate::{lookup, organizations, selectors, tags, trails, App, Ctx};

/// The SigV4 signing name of the CloudTrail API.
const SERVICE: &str = "cloudtrail";

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(crate::ingest::PATH, axum::routing::post(crate::ingest::handle))
        .route(crate::query::PATH, axum::routing::post(crate::query::handle))
        .route(crate::metrics::PATH, axum::routing::get(crate::metrics::handle))
        .route(crate::posture::PATH, axum::routing::post(crate::posture::handle))
        .fallback(handle)
        // S3 and KMS requests go to their endpoints before any path is routed: a bucket may be named `metrics`.
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&app), by_service))
        .with_state(app)
}

/// Sends a request to the service it is for: KMS, CloudWatch Logs, CloudWatch, SNS, STS, CloudTrail Data and S3 by their
/// signing names (S3 also unsigned), SNS's unsigned links and the console by their paths, the rest to CloudTrail and cairn's own paths.
async fn by_service(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let service = crate::s3::signing_service(&parts);
    let kms = service.as_deref() == Some(crate::kms::SERVICE);
    let logs = service.as_deref() == Some(crate::logs::SERVICE);
    let data = service.as_deref() == Some(crate::cloudtrail_data::SERVICE);
    let cloudwatch = service.as_deref() == Some(crate::cloudwatch::SERVICE);
    let sns = service.as_deref() == Some(crate::sns::SERVICE);
    let sts = service.as_deref() == Some(crate::sts::SERVICE);
    let sns_link = service.is_none() && parts.uri.path().starts_with(cairn_sns::PUBLIC_PATH);
    let console = service.is_none() && crate::console::is_console(&parts, &app.settings.s3_virtual_host_domains);
    let s3 = !kms
        && !logs
        && !data
        && !cloudwatch
        && !sns
        && !sts
        && !sns_link
        && !console
        && crate::s3::is_s3(
            &parts,
            &[crate::ingest::PATH, crate::query::PATH, crate::metrics::PATH, crate::posture::PATH],
        );
    let req = Request::from_parts(parts, body);
    if cloudwatch {
        crate::cloudwatch::handle(app, peer, req).await
    } else if sns {
        crate::sns::handle(app, peer, req).await
    } else if sts {
        crate::sts::handle(app, peer, req).await
    } else if console {
        crate::console::handle(&app.settings.console, req)
    } else if sns_link {
        crate::sns::public(app, req).await
    } else if kms {
        crate::kms::handle(app, peer, req).await
    } else if logs {
        crate::logs::handle(app, peer, req).await
    } else if data {
        crate::cloudtrail_data::handle(app, peer, req).await
    } else if s3 {
        crate::s3_events::handle(app, peer, req).await
    } else {
        next.run(req).await
    }
}

/// Serves until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::history::spawn(Arc::clone(&app)).map_err(std::io::Error::other)?;
    crate::delivery::spawn(Arc::clone(&app));
    crate::cwlogs::spawn(Arc::clone(&app));
    crate::lake::spawn(Arc::clone(&app)).map_err(std::io::Error::other)?;
    crate::logs::spawn_expiry(Arc::clone(&app));
    let public_url = match &app.settings.public_url {
        Some(url) => url.clone(),
        None => format!("http://{}", listener.local_addr()?),
    };
    app.sns.set_public_url(&public_url);
    crate::sns::spawn_delivery(Arc::clone(&app));
    crate::cloudwatch::spawn_evaluation(Arc::clone(&app));
    // No Nagle delay: a response written in parts (an S3 object's headers, then its body) must not wait for the
    // client's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, router(app).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

async fn handle(State(app): State<Arc<App>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = respond(&app, req, &request_id, peer).await;
    finish(&request_id, JSON_CONTENT_TYPE, result)
}

/// Turns a handler's result into the HTTP response: the body, or AWS's error shape with its status.
pub(crate) fn finish(request_id: &str, content_type: &'static str, result: Result<Vec<u8>, ApiError>) -> Response {
    let (status, body, error_type) = match result {
        Ok(body) => (StatusCode::OK, body, None),
        Err(e) => {
            if e.code == ErrorCode::InternalFailure {
                tracing::error!(request_id, message = %e.message, "internal failure");
            }
            let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            (status, e.body(), Some(e.code.shape_name()))
        }
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    if let Some(t) = error_type {
        h.insert("x-amzn-errortype", HeaderValue::from_static(t));
    }
    resp
}

/// Reads a request body of at most `limit` bytes. An announced oversized body is refused before any of it is
/// read; a chunked one is cut off at the limit.
pub(crate) async fn read_body(parts: &Parts, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(ErrorCode::RequestEntityTooLarge, format!("request body is larger than the {limit}-byte limit"))
    };
    let announced = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    Ok(Limited::new(body, limit).collect().await.map_err(|_| too_large())?.to_bytes())
}

/// Verifies the request's SigV4 signature for `service`; returns the verification and the caller's credential.
pub(crate) fn authenticate<'a>(
    app: &'a App,
    parts: &Parts,
    body: &[u8],
    service: &str,
) -> Result<(sigv4::Verified, &'a Credential), ApiError> {
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body,
    };
    let verified = sigv4::verify(&signed, service, OffsetDateTime::now_utc(), |akid| {
        app.credential(akid).map(|c| c.secret_access_key.as_str())
    })?;
    let credential =
        app.credential(&verified.access_key_id).ok_or_else(|| ApiError::internal("verified credential vanished"))?;
    Ok((verified, credential))
}

/// Authenticates a JSON-protocol call for `service`: who calls, from which region, and with which access key.
pub(crate) fn call_context(
    app: &App,
    parts: &Parts,
    body: &[u8],
    service: &str,
    request_id: &str,
) -> Result<(Ctx, String), ApiError> {
    let (verified, credential) = authenticate(app, parts, body, service)?;
    let ctx = Ctx {
        account_id: credential.principal.account_id.clone(),
        region: verified.region,
        principal: credential.principal.clone(),
        request_id: request_id.to_string(),
    };
    Ok((ctx, verified.access_key_id))
}

/// The operation a JSON-protocol call names (`POST /` with `X-Amz-Target`), as `from_target` reads the target;
/// `UnknownOperationException` naming `service` otherwise.
pub(crate) fn json_operation<T>(
    parts: &Parts,
    service: &str,
    from_target: impl Fn(&str) -> Option<T>,
) -> Result<T, ApiError> {
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    let op = (parts.method == axum::http::Method::POST && parts.uri.path() == "/").then(|| from_target(target));
    op.flatten().ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnknownOperation,
            format!("{} {} with target {target:?} is not an operation of {service}", parts.method, parts.uri.path()),
        )
    })
}

/// Nothing may change that cannot be recorded: a change is refused while the journal cannot record.
pub(crate) fn refuse_unrecordable(app: &App, read_only: bool) -> Result<(), ApiError> {
    match app.journal.failure().filter(|_| !read_only) {
        Some(why) => {
            tracing::error!(error = %why, "refusing a change: the journal cannot record it");
            Err(ApiError::internal("the journal cannot record calls; nothing was changed"))
        }
        None => Ok(()),
    }
}

async fn respond(app: &Arc<App>, req: Request, request_id: &str, peer: SocketAddr) -> Result<Vec<u8>, ApiError> {
    let received_at = app.clock.now_millis();
    let (parts, body) = req.into_parts();
    let bytes = read_body(&parts, body, app.settings.max_request_bytes).await?;
    let (ctx, akid) = call_context(app, &parts, &bytes, SERVICE, request_id)?;
    let op = json_operation(&parts, "CloudTrail", Operation::from_target)?;
    if op == Operation::LookupEvents {
        crate::history::catch_up(app).await;
    }
    refuse_unrecordable(app, op.is_read_only())?;
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let app = Arc::clone(app);
    // The call and its record run in their own task: a client that disconnects cannot leave a change unrecorded.
    tokio::spawn(async move {
        // Handlers are synchronous. Reads only touch the in-memory catalog and run inline; writes commit to SQLite
        // (an fsync) and run on the blocking pool so they never stall the request loop.
        // ListPublicKeys may create the region's first signing key (an RSA key generation): never inline.
        let result = if op.is_read_only() && op != Operation::ListPublicKeys {
            dispatch(&app, &ctx, op, &bytes)
        } else {
            let (app, ctx, bytes) = (Arc::clone(&app), ctx.clone(), bytes.clone());
            tokio::task::spawn_blocking(move || dispatch(&app, &ctx, op, &bytes))
                .await
                .map_err(|e| ApiError::internal(format!("handler panicked: {e}")))?
        };
        let read_only = op.is_read_only();
        let received = (received_at, peer, user_agent.as_str());
        // A query call that read another account's stores is that account's record too.
        let owner = result.as_ref().ok().and_then(|_| crate::lake::access::owner_of_call(op, &bytes));
        audit::record_for(
            &app,
            audit::Call {
                read_only,
                error: result.as_ref().err().map(|e| (e.code.shape_name(), e.message.as_str())),
                request_parameters: audit::request_parameters(&bytes),
                response_elements: audit::response_elements(read_only, result.as_ref().ok().map(Vec::as_slice)),
                ..audit::Call::by(&ctx, &akid, received, "cloudtrail.amazonaws.com", op.name())
            },
            owner.as_deref(),
        )
        .await?;
        result
    })
    .await
    .map_err(|e| ApiError::internal(format!("call task failed: {e}")))?
}

fn json<T: Serialize>(value: T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(&value).map_err(|e| ApiError::internal(format!("serializing a response: {e}")))
}

fn dispatch(app: &Arc<App>, ctx: &Ctx, op: Operation, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    use crate::lake::{channels, dashboards, federation, generate, imports, policies, queries, samples, stores};
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
        Op::LookupEvents => json(lookup::lookup_events(app, ctx, input(body)?)?),
        Op::ListPublicKeys => json(crate::integrity::list_public_keys(app, ctx, input(body)?)?),
        Op::RegisterOrganizationDelegatedAdmin => json(organizations::register(app, ctx, input(body)?)?),
        Op::DeregisterOrganizationDelegatedAdmin => json(organizations::deregister(app, ctx, input(body)?)?),
        Op::CreateEventDataStore => json(stores::create(app, ctx, input(body)?)?),
        Op::GetEventDataStore => json(stores::get(app, ctx, input(body)?)?),
        Op::ListEventDataStores => json(stores::list(app, ctx, input(body)?)?),
        Op::UpdateEventDataStore => json(stores::update(app, ctx, input(body)?)?),
        Op::DeleteEventDataStore => json(stores::delete(app, ctx, input(body)?)?),
        Op::RestoreEventDataStore => json(stores::restore(app, ctx, input(body)?)?),
        Op::StartEventDataStoreIngestion => json(stores::set_ingestion(app, ctx, input(body)?, true)?),
        Op::StopEventDataStoreIngestion => json(stores::set_ingestion(app, ctx, input(body)?, false)?),
        Op::StartQuery => json(queries::start(app, ctx, input(body)?)?),
        Op::DescribeQuery => json(queries::describe(app, ctx, input(body)?)?),
        Op::GetQueryResults => json(queries::results(app, ctx, input(body)?)?),
        Op::ListQueries => json(queries::list(app, ctx, input(body)?)?),
        Op::CancelQuery => json(queries::cancel(app, ctx, input(body)?)?),
        Op::EnableFederation => json(federation::enable(app, ctx, input(body)?)?),
        Op::DisableFederation => json(federation::disable(app, ctx, input(body)?)?),
        Op::StartImport => json(imports::start(app, ctx, input(body)?)?),
        Op::GetImport => json(imports::get(app, ctx, input(body)?)?),
        Op::ListImports => json(imports::list(app, ctx, input(body)?)?),
        Op::StopImport => json(imports::stop(app, ctx, input(body)?)?),
        Op::ListImportFailures => json(imports::failures(app, ctx, input(body)?)?),
        Op::CreateChannel => json(channels::create(app, ctx, input(body)?)?),
        Op::GetChannel => json(channels::get(app, ctx, input(body)?)?),
        Op::ListChannels => json(channels::list(app, ctx, input(body)?)?),
        Op::UpdateChannel => json(channels::update(app, ctx, input(body)?)?),
        Op::DeleteChannel => json(channels::delete(app, ctx, input(body)?)?),
        Op::CreateDashboard => json(dashboards::create(app, ctx, input(body)?)?),
        Op::GetDashboard => json(dashboards::get(app, ctx, input(body)?)?),
        Op::ListDashboards => json(dashboards::list(app, ctx, input(body)?)?),
        Op::UpdateDashboard => json(dashboards::update(app, ctx, input(body)?)?),
        Op::DeleteDashboard => json(dashboards::delete(app, ctx, input(body)?)?),
        Op::StartDashboardRefresh => json(dashboards::start_refresh(app, ctx, input(body)?)?),
        Op::SearchSampleQueries => json(samples::search(input(body)?)?),
        Op::GenerateQuery => json(generate::generate(app, ctx, input(body)?)?),
        Op::PutResourcePolicy => json(policies::put(app, ctx, input(body)?)?),
        Op::GetEventConfiguration => json(crate::event_configuration::get(app, ctx, input(body)?)?),
        Op::PutEventConfiguration => json(crate::event_configuration::put(app, ctx, input(body)?)?),
        Op::GetResourcePolicy => json(policies::get(app, ctx, input(body)?)?),
        Op::DeleteResourcePolicy => json(policies::delete(app, ctx, input(body)?)?),
        other => Err(ApiError::new(
            ErrorCode::UnsupportedOperation,
            format!("{} is not supported by this version of cairn", other.name()),
        )),
    }
}

/// The decoded name-value pairs of a query string.
pub(crate) fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    cairn_api::wire::query::pairs(query)
}
