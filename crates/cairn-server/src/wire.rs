//! Requests and answers of the services that speak more than AWS JSON 1.1: which protocol a request uses (Smithy
//! RPC v2 CBOR by its path and `smithy-protocol` header, AWS JSON 1.0 by `X-Amz-Target`, else the query protocol's
//! form), its operation name and input, and the answer or error in the same protocol. Errors of query-compatible
//! services also carry `x-amzn-query-error`, the code query clients match.

use std::io::Read;

use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cairn_api::wire::{cbor, query, Node};
use cairn_api::{ApiError, ErrorCode};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Cbor,
    Json10,
    Query,
}

/// What a service answers in which protocol: its JSON target prefix (also the CBOR service name), its XML namespace,
/// and whether its errors carry query codes for JSON and CBOR clients.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Service {
    pub target_prefix: &'static str,
    pub xml_namespace: &'static str,
    pub query_compatible: bool,
}

/// A decoded request: its protocol, operation name, and input with the query protocol's `Action` and `Version`
/// removed.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub protocol: Protocol,
    pub operation: String,
    pub input: Value,
}

/// How large a gzip-compressed request may grow (PutMetricData compresses its bodies).
const MAX_INFLATED: u64 = 8 * 1024 * 1024;

/// The protocol a request uses, from its headers and path alone (errors of decoding are answered in it).
pub(crate) fn protocol(parts: &Parts, service: &Service) -> Protocol {
    let header = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    if header("smithy-protocol") == "rpc-v2-cbor"
        || parts.uri.path().starts_with(&format!("/service/{}/operation/", service.target_prefix))
    {
        Protocol::Cbor
    } else if !header("x-amz-target").is_empty() {
        Protocol::Json10
    } else {
        Protocol::Query
    }
}

/// Decodes a request (after SigV4 verified the body as sent).
pub(crate) fn decode(parts: &Parts, body: &[u8], service: &Service) -> Result<Decoded, ApiError> {
    let protocol = protocol(parts, service);
    let inflated;
    let body =
        if parts.headers.get(header::CONTENT_ENCODING).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip")) {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body).take(MAX_INFLATED + 1).read_to_end(&mut out).map_err(|e| {
                ApiError::new(ErrorCode::Serialization, format!("the gzip request body is malformed: {e}"))
            })?;
            if out.len() as u64 > MAX_INFLATED {
                return Err(ApiError::new(ErrorCode::RequestEntityTooLarge, "the inflated request body is too large"));
            }
            inflated = out;
            &inflated[..]
        } else {
            body
        };
    let unknown =
        |what: &str| ApiError::new(ErrorCode::UnknownOperation, format!("{what} is not an operation of this service"));
    match protocol {
        Protocol::Cbor => {
            let path = parts.uri.path();
            let op = path
                .strip_prefix(&format!("/service/{}/operation/", service.target_prefix))
                .filter(|op| !op.is_empty() && !op.contains('/'))
                .ok_or_else(|| unknown(path))?;
            let input = cbor::decode(body).map_err(|e| ApiError::new(ErrorCode::Serialization, e))?;
            Ok(Decoded { protocol, operation: op.to_string(), input })
        }
        Protocol::Json10 => {
            let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
            let op = target
                .strip_prefix(service.target_prefix)
                .and_then(|t| t.strip_prefix('.'))
                .ok_or_else(|| unknown(target))?;
            let input = if body.iter().all(u8::is_ascii_whitespace) {
                Value::Object(Default::default())
            } else {
                serde_json::from_slice(body).map_err(|e| {
                    ApiError::new(ErrorCode::Serialization, format!("request body is not valid JSON: {e}"))
                })?
            };
            Ok(Decoded { protocol, operation: op.to_string(), input })
        }
        Protocol::Query => {
            let form = std::str::from_utf8(body)
                .map_err(|_| ApiError::new(ErrorCode::QueryValidation, "the request body is not UTF-8 form data"))?;
            // The query protocol also accepts its parameters in the URL.
            let url = parts.uri.query().unwrap_or("");
            let joined = if url.is_empty() { form.to_string() } else { format!("{url}&{form}") };
            let mut input = query::decode(&joined);
            let action = input.get("Action").and_then(Value::as_str).map(str::to_string);
            if let Value::Object(m) = &mut input {
                m.remove("Action");
                m.remove("Version");
            }
            let operation = action
                .filter(|a| !a.is_empty())
                .ok_or_else(|| ApiError::new(ErrorCode::QueryMissingAction, "Missing Action"))?;
            Ok(Decoded { protocol, operation, input })
        }
    }
}

/// The error for an operation name the service does not have, in the protocol's terms.
pub(crate) fn unknown_operation(protocol: Protocol, name: &str) -> ApiError {
    match protocol {
        Protocol::Query => ApiError::new(ErrorCode::QueryInvalidAction, format!("Could not find operation {name}")),
        _ => ApiError::new(ErrorCode::UnknownOperation, format!("{name} is not an operation of this service")),
    }
}

/// The answer to a call in its protocol; `None` is an operation without output.
pub(crate) fn respond(
    protocol: Protocol,
    service: &Service,
    operation: &str,
    request_id: &str,
    result: Result<Option<Node>, ApiError>,
) -> Response {
    let (status, body, content_type, error) = match result {
        Ok(node) => {
            let (body, ct) = match protocol {
                Protocol::Cbor => (cbor::encode(&node.unwrap_or_else(Node::object)), cbor::CONTENT_TYPE),
                Protocol::Json10 => {
                    let json = node.unwrap_or_else(Node::object).to_json();
                    (serde_json::to_vec(&json).unwrap_or_default(), "application/x-amz-json-1.0")
                }
                Protocol::Query => {
                    (query::response(operation, service.xml_namespace, node.as_ref(), request_id), query::CONTENT_TYPE)
                }
            };
            (StatusCode::OK, body, ct, None)
        }
        Err(e) => {
            if e.code.http_status() >= 500 {
                tracing::error!(request_id, message = %e.message, "internal failure");
            }
            let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            let sender = e.code.http_status() < 500;
            let (body, ct) = match protocol {
                Protocol::Cbor => {
                    let n = Node::object().with("__type", e.code.shape_name()).with("message", e.message.as_str());
                    (cbor::encode(&n), cbor::CONTENT_TYPE)
                }
                Protocol::Json10 => (e.body(), "application/x-amz-json-1.0"),
                Protocol::Query => (
                    query::error(service.xml_namespace, e.code.query_code(), &e.message, sender, request_id),
                    query::CONTENT_TYPE,
                ),
            };
            (status, body, ct, Some((e.code, sender)))
        }
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if protocol == Protocol::Cbor {
        h.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    if let Some((code, sender)) = error {
        if protocol != Protocol::Query {
            h.insert("x-amzn-errortype", HeaderValue::from_static(code.shape_name()));
            if service.query_compatible {
                let fault = if sender { "Sender" } else { "Receiver" };
                if let Ok(v) = HeaderValue::from_str(&format!("{};{fault}", code.query_code())) {
                    h.insert("x-amzn-query-error", v);
                }
            }
        }
    }
    resp
}
