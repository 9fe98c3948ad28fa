//! The web console at `/console`: unsigned `GET`/`HEAD` requests for the embedded single-page application, answered
//! with validators and a content security policy that lets the page talk only to this endpoint.

use std::borrow::Cow;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use cairn_console::{Source, PREFIX};

/// The page may load its own scripts, styles and images and call only this origin (the AWS APIs it signs for).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Whether a request is for the console: unsigned, `GET` or `HEAD`, under [`PREFIX`], and not addressed to a bucket
/// by its host name (`<bucket>.<domain>` for one of `virtual_host_domains`: there `/console/...` is an object key).
/// An unsigned path-style request for a bucket named `console` is the console's; signed ones stay S3's.
pub(crate) fn is_console(parts: &Parts, virtual_host_domains: &[String]) -> bool {
    let path = parts.uri.path();
    let under = path == PREFIX || path.strip_prefix(PREFIX).is_some_and(|rest| rest.starts_with('/'));
    let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let host = host
        .rsplit_once(':')
        .map_or(host, |(name, port)| if port.bytes().all(|b| b.is_ascii_digit()) { name } else { host });
    let bucket_host = virtual_host_domains
        .iter()
        .any(|d| host.len() > d.len() + 1 && host.ends_with(d.as_str()) && host[..host.len() - d.len()].ends_with('.'));
    (parts.method == Method::GET || parts.method == Method::HEAD) && under && !bucket_host
}

pub(crate) fn handle(source: &Source, req: Request) -> Response {
    let path = req.uri().path();
    if path == PREFIX {
        // Relative asset paths in the page resolve against `/console/`.
        return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, HeaderValue::from_static("/console/"))])
            .into_response();
    }
    let Some(asset) = source.get(path) else {
        return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found\n")
            .into_response();
    };
    let gzip = accepts_gzip(req.headers());
    let etag = if gzip { asset.gzip_etag() } else { asset.etag.clone() };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let body = if gzip { asset.gzip } else { asset.body };
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if req.method() == Method::HEAD {
        let mut r = StatusCode::OK.into_response();
        r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        r
    } else {
        // Embedded files are sent from the binary's memory without a copy.
        let bytes = match body {
            Cow::Borrowed(b) => Bytes::from_static(b),
            Cow::Owned(v) => Bytes::from(v),
        };
        (StatusCode::OK, Body::from(bytes)).into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(tag) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, tag);
    }
    // Revalidated on every load: a new cairn binary serves its own console at once.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

/// Whether the client accepts gzip (`Accept-Encoding: gzip`, not with `q=0`).
fn accepts_gzip(headers: &axum::http::HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let q_zero = parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q == 0.0)));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !q_zero
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, uri: &str, host: &str) -> Parts {
        axum::http::Request::builder().method(method).uri(uri).header("host", host).body(()).unwrap().into_parts().0
    }

    #[test]
    fn only_unsigned_reads_under_the_prefix_and_not_on_a_bucket_host_are_the_consoles() {
        let domains = vec!["s3.example.com".to_string()];
        assert!(is_console(&parts("GET", "/console", "127.0.0.1:4573"), &domains));
        assert!(is_console(&parts("GET", "/console/app.js", "cairn.example.com"), &domains));
        assert!(is_console(&parts("HEAD", "/console/", "s3.example.com"), &domains));
        assert!(!is_console(&parts("GET", "/consoles/x", "127.0.0.1"), &domains));
        assert!(!is_console(&parts("PUT", "/console/x", "127.0.0.1"), &domains));
        assert!(!is_console(&parts("GET", "/console/app.js", "logs.s3.example.com"), &domains));
        assert!(!is_console(&parts("GET", "/console/app.js", "logs.s3.example.com:4573"), &domains));
    }

    #[test]
    fn gzip_is_sent_only_to_clients_that_accept_it() {
        let accept = |v: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepts_gzip(&h)
        };
        assert!(accept("gzip, deflate, br"));
        assert!(accept("br;q=1.0, GZIP;q=0.5"));
        assert!(!accept("gzip;q=0"));
        assert!(!accept("br, deflate"));
        assert!(!accepts_gzip(&axum::http::HeaderMap::new()));
    }
}
