//! cairn's S3 endpoint on the shared listen address: which requests are S3's (signed for the `s3` service, or
//! unsigned and not a CloudTrail call), the directory of credentials and accounts that `cairn-s3` authenticates and
//! authorizes with, and the buckets of the configuration and of earlier versions' bucket directories.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::config::{Credential, OrganizationConfig};
use crate::Clock;

/// Credentials, organization and clock, as the S3 service sees them.
#[derive(Debug)]
pub(crate) struct Directory {
    pub credentials: HashMap<String, Credential>,
    pub organization: Option<OrganizationConfig>,
    pub clock: Arc<dyn Clock>,
}

impl cairn_s3::Directory for Directory {
    fn secret(&self, access_key: &str) -> Option<String> {
        self.credentials.get(access_key).map(|c| c.secret_access_key.clone())
    }

    fn principal(&self, access_key: &str) -> Option<(String, String)> {
        self.credentials.get(access_key).map(|c| (c.principal.account_id.clone(), c.principal.arn()))
    }

    fn organization(&self, account: &str) -> Option<String> {
        self.organization.as_ref().filter(|o| o.includes(account)).map(|o| o.id.clone())
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_millis()
    }
}

/// The SigV4 credential scope of a request (`Authorization` header or presigned `X-Amz-Credential`), if signed: its
/// `<akid>/<date>/<region>/<service>/aws4_request` parts, and whether it was signed in the query string.
fn credential_scope(headers: &axum::http::HeaderMap, uri: &axum::http::Uri) -> Option<(Vec<String>, bool)> {
    let split = |credential: &str| credential.split('/').map(str::to_string).collect::<Vec<_>>();
    if let Some(auth) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let credential = auth.split("Credential=").nth(1)?.split(',').next()?;
        return Some((split(credential), false));
    }
    let query = uri.query()?;
    let credential = query.split('&').find_map(|kv| kv.strip_prefix("X-Amz-Credential="))?;
    Some((split(&credential.replace("%2F", "/").replace("%2f", "/")), true))
}

/// The SigV4 signing service of a request, if signed.
pub(crate) fn signing_service(parts: &Parts) -> Option<String> {
    credential_scope(&parts.headers, &parts.uri).and_then(|(scope, _)| scope.get(3).cloned())
}

/// The signing region of a request, and whether it was presigned (signed in the query string).
pub(crate) fn signing_scope(headers: &axum::http::HeaderMap, uri: &axum::http::Uri) -> Option<(String, bool)> {
    credential_scope(headers, uri).and_then(|(scope, presigned)| Some((scope.get(2)?.clone(), presigned)))
}

/// Whether a request is for the S3 endpoint: signed for `s3`; or unsigned, not shaped as a JSON-protocol call
/// (`POST /` with `X-Amz-Target`, which anonymous S3 requests never are) and not for one of cairn's own paths
/// (`cairn_paths`: `/metrics` is scraped unsigned). A bucket named after one of those paths (or `console`, the web
/// console's path) is reachable only by signed requests, or by its virtual host name.
pub(crate) fn is_s3(parts: &Parts, cairn_paths: &[&str]) -> bool {
    match signing_service(parts) {
        Some(service) => service == "s3",
        None => {
            let json_call = parts.method == axum::http::Method::POST && parts.headers.contains_key("x-amz-target");
            let cairn_path = cairn_paths.contains(&parts.uri.path());
            !(json_call || cairn_path)
        }
    }
}

/// Hands the request to the S3 service, with the client's address for `aws:SourceIp`.
pub(crate) async fn handle(service: &s3s::service::S3Service, peer: SocketAddr, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(cairn_s3::Peer(peer.ip()));
    let req = axum::http::Request::from_parts(parts, s3s::Body::http_body_unsync(body));
    match service.call(req).await {
        Ok(resp) => resp.map(Body::new).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "the S3 endpoint failed a request");
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Creates the configured buckets (owned by `owner`) that do not exist yet, with a policy that lets CloudTrail
/// deliver every trail to them.
pub(crate) fn create_configured(
    store: &cairn_s3::Store,
    names: &[String],
    owner: &str,
    now_ms: i64,
) -> Result<(), cairn_s3::StoreError> {
    for name in names {
        match store.create_bucket(name, owner, "us-east-1", now_ms) {
            Ok(_) => {
                store.set_policy(name, Some(&cairn_s3::access::cloudtrail_policy_for_any_trail(name)))?;
                tracing::info!(
                    bucket = name,
                    owner,
                    "created a configured bucket, with a policy that admits CloudTrail"
                );
            }
            Err(cairn_s3::StoreError::BucketAlreadyOwnedByYou | cairn_s3::StoreError::BucketAlreadyExists) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Moves the bucket directories of versions before the S3 endpoint (`<data_dir>/buckets/<bucket>/<key>`) into the
/// store, each file becoming the object of its relative path, then removes the emptied directories.
pub(crate) fn import_directories(
    store: &cairn_s3::Store,
    root: &Path,
    owner: &str,
    now_ms: i64,
) -> Result<(), cairn_s3::StoreError> {
    let Ok(entries) = std::fs::read_dir(root) else { return Ok(()) };
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let bucket = entry.file_name().to_string_lossy().into_owned();
        let imported = store.adopt_directory(&entry.path(), &bucket, owner, now_ms)?;
        // Trails delivered there before: they keep doing so.
        if store.bucket(&bucket)?.policy.is_none() {
            store.set_policy(&bucket, Some(&cairn_s3::access::cloudtrail_policy_for_any_trail(&bucket)))?;
        }
        tracing::info!(bucket, objects = imported, "moved a bucket directory into cairn's buckets");
        std::fs::remove_dir_all(entry.path())?;
    }
    let _ = std::fs::remove_dir(root);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = axum::http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn s3_requests_are_told_apart_by_signing_service_and_shape() {
        let auth = |service: &str| {
            format!("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261203/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00")
        };
        let own = ["/metrics", "/v1/ingest"];
        assert!(is_s3(&parts("GET", "/bucket/key", &[("authorization", &auth("s3"))]), &own));
        assert!(
            is_s3(&parts("GET", "/metrics", &[("authorization", &auth("s3"))]), &own),
            "a signed S3 request to a bucket named metrics"
        );
        assert!(!is_s3(&parts("POST", "/", &[("authorization", &auth("cloudtrail")), ("x-amz-target", "x")]), &own));
        assert!(!is_s3(&parts("POST", "/v1/ingest", &[("authorization", &auth("cairn"))]), &own));
        assert!(is_s3(&parts("GET", "/bucket/key", &[]), &own), "anonymous reads are S3's");
        assert!(!is_s3(&parts("GET", "/metrics", &[]), &own), "Prometheus scrapes unsigned");
        assert!(!is_s3(&parts("POST", "/", &[("x-amz-target", "CloudTrail_20131101.ListTrails")]), &own));
        let presigned = "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261203%2Fus-east-1%2Fs3%2Faws4_request";
        assert!(is_s3(&parts("GET", presigned, &[]), &own));
    }
}
