//! A small client for cairn's APIs: requests signed with SigV4 by the official `aws-sigv4` signer (AWS JSON 1.1
//! CloudTrail operations, the ingestion and query APIs, and plain S3 object requests for the benchmarks), sent over
//! keep-alive HTTP/1.1 connections.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

/// The JSON 1.1 target prefix of CloudTrail operations.
pub const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("endpoint {0:?} is not a valid http URL")]
    Endpoint(String),
    #[error("signing the request: {0}")]
    Sign(String),
    #[error("sending the request: {0}")]
    Http(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where and as whom to call cairn.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// One request, signed afresh each time it is sent.
#[derive(Debug)]
pub struct Signer {
    method: http::Method,
    /// S3 requests are signed with `UNSIGNED-PAYLOAD` (as the AWS CLI signs uploads over TLS), others over the body.
    unsigned_payload: bool,
    identity: Identity,
    uri: String,
    host: String,
    region: String,
    service: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
}

impl Signer {
    fn new(
        ep: &Endpoint,
        path: &str,
        service: &'static str,
        headers: Vec<(&'static str, String)>,
        body: Bytes,
    ) -> Result<Signer> {
        let uri = format!("{}{path}", ep.url.trim_end_matches('/'));
        let parsed: http::Uri = uri.parse().map_err(|_| Error::Endpoint(ep.url.clone()))?;
        let host = parsed.authority().ok_or_else(|| Error::Endpoint(ep.url.clone()))?.to_string();
        Ok(Signer {
            method: http::Method::POST,
            unsigned_payload: false,
            identity: Credentials::new(&ep.access_key_id, &ep.secret_access_key, None, None, "cairn-client").into(),
            uri,
            host,
            region: ep.region.clone(),
            service,
            headers,
            body,
        })
    }

    /// A CloudTrail operation (AWS JSON 1.1 on `POST /`).
    pub fn cloudtrail(ep: &Endpoint, operation: &str, body: Bytes) -> Result<Signer> {
        let headers = vec![
            ("content-type", "application/x-amz-json-1.1".to_string()),
            ("x-amz-target", format!("{TARGET_PREFIX}{operation}")),
        ];
        Signer::new(ep, "/", "cloudtrail", headers, body)
    }

    /// An operation of another AWS JSON 1.1 service on `POST /`: `target` is the whole `X-Amz-Target`
    /// (`Logs_20140328.CreateLogGroup`), `service` its signing name (`logs`).
    pub fn json(ep: &Endpoint, service: &'static str, target: &str, body: Bytes) -> Result<Signer> {
        let headers =
            vec![("content-type", "application/x-amz-json-1.1".to_string()), ("x-amz-target", target.to_string())];
        Signer::new(ep, "/", service, headers, body)
    }

    /// A batch for cairn's ingestion API (`POST /v1/ingest`, signing name `cairn`).
    pub fn ingest(ep: &Endpoint, body: Bytes) -> Result<Signer> {
        Signer::new(ep, "/v1/ingest", "cairn", vec![("content-type", "application/json".to_string())], body)
    }

    /// A SQL query of event history (`POST /v1/query`, signing name `cairn`).
    pub fn query(ep: &Endpoint, body: Bytes) -> Result<Signer> {
        Signer::new(ep, "/v1/query", "cairn", vec![("content-type", "application/json".to_string())], body)
    }

    /// A posture check (`POST /v1/check`, signing name `cairn`).
    pub fn check(ep: &Endpoint) -> Result<Signer> {
        Signer::new(
            ep,
            "/v1/check",
            "cairn",
            vec![("content-type", "application/json".to_string())],
            Bytes::from_static(b"{}"),
        )
    }

    /// An S3 request (`GET`, `PUT`, `HEAD`, `DELETE` on `/<bucket>/<key>?<query>`, path-style).
    pub fn s3(ep: &Endpoint, method: http::Method, path_and_query: &str, body: Bytes) -> Result<Signer> {
        let mut signer = Signer::new(ep, path_and_query, "s3", Vec::new(), body)?;
        signer.method = method;
        signer.unsigned_payload = true;
        Ok(signer)
    }

    /// The request, signed now.
    pub fn request(&self) -> Result<http::Request<Full<Bytes>>> {
        self.request_with(self.body.clone())
    }

    /// The request with another body, signed now.
    pub fn request_with(&self, body: Bytes) -> Result<http::Request<Full<Bytes>>> {
        let mut req = http::Request::builder().method(self.method.clone()).uri(&self.uri).header("host", &self.host);
        for (k, v) in &self.headers {
            req = req.header(*k, v);
        }
        let mut req = req.body(body).map_err(|e| Error::Sign(e.to_string()))?;
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name(self.service)
            .time(SystemTime::now())
            .settings({
                let mut settings = SigningSettings::default();
                if self.unsigned_payload {
                    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
                }
                settings
            })
            .build()
            .map_err(|e| Error::Sign(e.to_string()))?
            .into();
        let body = if self.unsigned_payload { SignableBody::UnsignedPayload } else { SignableBody::Bytes(req.body()) };
        let signable = SignableRequest::new(
            self.method.as_str(),
            self.uri.as_str(),
            req.headers().iter().map(|(k, v)| (k.as_str(), v.to_str().unwrap_or(""))),
            body,
        )
        .map_err(|e| Error::Sign(e.to_string()))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| Error::Sign(e.to_string()))?.into_parts();
        instructions.apply_to_request_http1x(&mut req);
        Ok(req.map(Full::new))
    }
}

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A keep-alive HTTP/1.1 client holding up to `pool` idle connections.
pub fn http_client(pool: usize) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).pool_max_idle_per_host(pool).build(connector)
}

/// Signs and sends the request; returns the status and body.
pub async fn send(client: &HttpClient, signer: &Signer) -> Result<(http::StatusCode, Bytes)> {
    send_request(client, signer.request()?).await
}

/// Sends an already signed request; returns the status and body.
pub async fn send_request(client: &HttpClient, req: http::Request<Full<Bytes>>) -> Result<(http::StatusCode, Bytes)> {
    let (status, _, body) = send_request_with_headers(client, req).await?;
    Ok((status, body))
}

/// Signs and sends the request; returns the status, the response headers and the body.
pub async fn send_with_headers(
    client: &HttpClient,
    signer: &Signer,
) -> Result<(http::StatusCode, http::HeaderMap, Bytes)> {
    send_request_with_headers(client, signer.request()?).await
}

async fn send_request_with_headers(
    client: &HttpClient,
    req: http::Request<Full<Bytes>>,
) -> Result<(http::StatusCode, http::HeaderMap, Bytes)> {
    let resp = client.request(req).await.map_err(|e| Error::Http(e.to_string()))?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.map_err(|e| Error::Http(e.to_string()))?.to_bytes();
    Ok((parts.status, parts.headers, body))
}
