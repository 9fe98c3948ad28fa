//! The slice of STS on the shared listen address that clients use to learn who they are: `GetCallerIdentity`
//! (query protocol, XML answer), recorded as STS records it. The console reads its account from it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::header;
use axum::response::Response;
use cairn_api::wire::Node;
use cairn_api::ApiError;
use serde_json::Value;

use crate::http::{call_context, read_body, refuse_unrecordable};
use crate::wire::{self, Service};
use crate::{audit, App};

/// The SigV4 signing name of STS.
pub(crate) const SERVICE: &str = "sts";

const STS: Service = Service {
    target_prefix: "AWSSecurityTokenServiceV20110615",
    xml_namespace: "https://sts.amazonaws.com/doc/2011-06-15/",
    query_compatible: false,
};

/// GetCallerIdentity has no parameters; anything larger is not an STS request.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

pub(crate) async fn handle(app: Arc<App>, peer: SocketAddr, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = req.into_parts();
    let protocol = wire::protocol(&parts, &STS);
    let (name, result) = match respond(&app, &parts, body, &request_id, peer).await {
        Ok(answer) => answer,
        Err(e) => (String::new(), Err(e)),
    };
    wire::respond(protocol, &STS, &name, &request_id, result)
}

async fn respond(
    app: &App,
    parts: &axum::http::request::Parts,
    body: axum::body::Body,
    request_id: &str,
    peer: SocketAddr,
) -> Result<(String, Result<Option<Node>, ApiError>), ApiError> {
    let received_at = app.clock.now_millis();
    let bytes = read_body(parts, body, MAX_REQUEST_BYTES).await?;
    let (ctx, akid) = call_context(app, parts, &bytes, SERVICE, request_id)?;
    let decoded = wire::decode(parts, &bytes, &STS)?;
    if decoded.operation != "GetCallerIdentity" {
        return Err(wire::unknown_operation(decoded.protocol, &decoded.operation));
    }
    refuse_unrecordable(app, true)?;
    let identity = audit::user_identity(&ctx.principal, &akid, "");
    let answer = Node::object()
        .with("UserId", identity.principal_id.as_str())
        .with("Account", ctx.account_id.as_str())
        .with("Arn", identity.arn.as_str());
    // Recorded in the region the call was signed for, as a regional STS endpoint records it (calls to AWS's global
    // endpoint are recorded in us-east-1; cairn has one endpoint, and the client's signing region says which it meant).
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let call = audit::Call {
        read_only: true,
        request_parameters: Value::Null,
        ..audit::Call::by(&ctx, &akid, (received_at, peer, user_agent), "sts.amazonaws.com", "GetCallerIdentity")
    };
    audit::record(app, call).await?;
    Ok((decoded.operation, Ok(Some(answer))))
}
