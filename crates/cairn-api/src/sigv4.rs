//! AWS Signature Version 4 verification, in the `Authorization` header form and the query-string (presigned) form.
//!
//! The server recomputes the canonical request from what arrived on the wire and compares signatures in constant
//! time. The credential scope names the tenant (through the access key) and the region of the request.

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::{macros::format_description, Duration, OffsetDateTime, PrimitiveDateTime};

use crate::error::{ApiError, ErrorCode, Result};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// How far a request's signing time may be from the server's clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(15);
/// The longest validity a presigned request may claim (`X-Amz-Expires`), as AWS allows.
const MAX_EXPIRES_SECONDS: i64 = 7 * 24 * 3600;

/// What arrived on the wire, as needed to recompute the signature.
#[derive(Debug)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The raw (still percent-encoded) path.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key_id: String,
    pub region: String,
    pub service: String,
    pub signed_at: OffsetDateTime,
}

struct Parts {
    credential: String,
    signed_headers: String,
    signature: String,
    amz_date: String,
    expires: Option<i64>,
    presigned: bool,
}

fn incomplete(msg: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::IncompleteSignature, msg)
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidSignature, msg)
}

/// Verifies `req` signed for `service`; `secret_for` returns the secret key of a known access key id.
pub fn verify<'s>(
    req: &SignedRequest<'_>,
    service: &str,
    now: OffsetDateTime,
    secret_for: impl FnOnce(&str) -> Option<&'s str>,
) -> Result<Verified> {
    let parts = extract(req)?;
    let scope: Vec<&str> = parts.credential.split('/').collect();
    let [access_key_id, date, region, scope_service, terminator] = scope[..] else {
        return Err(incomplete(format!(
            "credential {:?} is not of the form <key>/<date>/<region>/<service>/aws4_request",
            parts.credential
        )));
    };
    if terminator != "aws4_request" {
        return Err(incomplete("credential should be scoped with a valid terminator: 'aws4_request'"));
    }
    if !cairn_model::names::is_region(region) {
        return Err(incomplete(format!("credential should be scoped to a valid region, not {region:?}")));
    }
    if scope_service != service {
        return Err(invalid(format!(
            "credential should be scoped to correct service: '{service}', not {scope_service:?}"
        )));
    }
    let signed_at = parse_amz_date(&parts.amz_date).ok_or_else(|| {
        incomplete(format!("date {:?} is not in ISO-8601 basic format (YYYYMMDD'T'HHMMSS'Z')", parts.amz_date))
    })?;
    if !parts.amz_date.starts_with(date) {
        return Err(invalid(format!(
            "date in credential scope {date} does not match the date of the request {}",
            parts.amz_date
        )));
    }
    let Some(secret) = secret_for(access_key_id) else {
        return Err(ApiError::new(
            ErrorCode::UnrecognizedClient,
            "the security token included in the request is invalid",
        ));
    };
    check_time(&parts, signed_at, now)?;

    let signed: Vec<&str> = parts.signed_headers.split(';').collect();
    if !signed.contains(&"host") {
        return Err(incomplete("'host' must be a signed header"));
    }
    let body_hash = hex(&Sha256::digest(req.body));
    let claimed = header_str(req.headers, "x-amz-content-sha256");
    let mut hashes = Vec::with_capacity(2);
    match claimed {
        Some(UNSIGNED_PAYLOAD) if parts.presigned => hashes.push(UNSIGNED_PAYLOAD.to_string()),
        Some(UNSIGNED_PAYLOAD) => return Err(invalid("unsigned payloads are accepted only on presigned requests")),
        Some(h) if !h.eq_ignore_ascii_case(&body_hash) => {
            return Err(invalid("the x-amz-content-sha256 header does not match the body"))
        }
        _ => {
            hashes.push(body_hash);
            if parts.presigned {
                hashes.push(UNSIGNED_PAYLOAD.to_string());
            }
        }
    }
    let key = signing_key(secret, date, region, service);
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let mut matched = 0u8;
    for payload_hash in &hashes {
        let canonical = canonical_request(req, &signed, &parts.signed_headers, payload_hash, parts.presigned)?;
        let string_to_sign =
            format!("{ALGORITHM}\n{}\n{scope}\n{}", parts.amz_date, hex(&Sha256::digest(canonical.as_bytes())));
        let expected = hex(&hmac(&key, string_to_sign.as_bytes()));
        matched |= expected.as_bytes().ct_eq(parts.signature.as_bytes()).unwrap_u8();
    }
    if matched != 1 {
        return Err(invalid(
            "the request signature we calculated does not match the signature you provided; check your AWS secret access key and signing method",
        ));
    }
    Ok(Verified {
        access_key_id: access_key_id.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_at,
    })
}

fn extract(req: &SignedRequest<'_>) -> Result<Parts> {
    if let Some(auth) = header_str(req.headers, "authorization") {
        let Some(rest) = auth.strip_prefix(ALGORITHM).filter(|r| r.starts_with(' ')) else {
            return Err(incomplete(format!("authorization header must use {ALGORITHM}")));
        };
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let Some((k, v)) = part.trim().split_once('=') else {
                return Err(incomplete(format!("authorization header part {:?} is not key=value", part.trim())));
            };
            match k {
                "Credential" => credential = Some(v.to_string()),
                "SignedHeaders" => signed_headers = Some(v.to_string()),
                "Signature" => signature = Some(v.to_string()),
                _ => {}
            }
        }
        let missing = |n: &str| incomplete(format!("authorization header requires '{n}' parameter"));
        let amz_date = header_str(req.headers, "x-amz-date")
            .ok_or_else(|| incomplete("authorization header requires existence of a 'X-Amz-Date' header"))?;
        return Ok(Parts {
            credential: credential.ok_or_else(|| missing("Credential"))?,
            signed_headers: signed_headers.ok_or_else(|| missing("SignedHeaders"))?,
            signature: signature.ok_or_else(|| missing("Signature"))?,
            amz_date: amz_date.to_string(),
            expires: None,
            presigned: false,
        });
    }
    let query = parse_query(req.query);
    let get = |k: &str| query.iter().find(|(qk, _)| qk == k).map(|(_, v)| v.clone());
    match get("X-Amz-Algorithm") {
        None => Err(ApiError::new(ErrorCode::MissingAuthenticationToken, "missing authentication token")),
        Some(a) if a != ALGORITHM => Err(incomplete(format!("X-Amz-Algorithm must be {ALGORITHM}"))),
        Some(_) => {
            let missing = |n: &str| incomplete(format!("presigned request requires the '{n}' query parameter"));
            let expires = match get("X-Amz-Expires") {
                Some(e) => {
                    Some(e.parse::<i64>().ok().filter(|e| (0..=MAX_EXPIRES_SECONDS).contains(e)).ok_or_else(|| {
                        incomplete(format!(
                            "X-Amz-Expires {e:?} must be a number of seconds up to {MAX_EXPIRES_SECONDS}"
                        ))
                    })?)
                }
                None => None,
            };
            Ok(Parts {
                credential: get("X-Amz-Credential").ok_or_else(|| missing("X-Amz-Credential"))?,
                signed_headers: get("X-Amz-SignedHeaders").ok_or_else(|| missing("X-Amz-SignedHeaders"))?,
                signature: get("X-Amz-Signature").ok_or_else(|| missing("X-Amz-Signature"))?,
                amz_date: get("X-Amz-Date").ok_or_else(|| missing("X-Amz-Date"))?,
                expires,
                presigned: true,
            })
        }
    }
}

fn check_time(parts: &Parts, signed_at: OffsetDateTime, now: OffsetDateTime) -> Result<()> {
    let fmt = |t: OffsetDateTime| format_amz_date(t);
    if signed_at > now + MAX_CLOCK_SKEW {
        return Err(invalid(format!(
            "signature not yet current: {} is still later than {} ({} + 15 min.)",
            parts.amz_date,
            fmt(now + MAX_CLOCK_SKEW),
            fmt(now)
        )));
    }
    match parts.expires {
        Some(expires) if now > signed_at + Duration::seconds(expires) => Err(invalid(format!(
            "signature expired: request signed at {} was valid for {expires} seconds and it is now {}",
            parts.amz_date,
            fmt(now)
        ))),
        None if signed_at < now - MAX_CLOCK_SKEW => Err(invalid(format!(
            "signature expired: {} is now earlier than {} ({} - 15 min.)",
            parts.amz_date,
            fmt(now - MAX_CLOCK_SKEW),
            fmt(now)
        ))),
        _ => Ok(()),
    }
}

fn canonical_request(
    req: &SignedRequest<'_>,
    signed: &[&str],
    signed_headers: &str,
    payload_hash: &str,
    presigned: bool,
) -> Result<String> {
    let mut out = String::with_capacity(256 + req.query.len());
    out.push_str(req.method);
    out.push('\n');
    if req.path.is_empty() {
        out.push('/');
    }
    // Services other than S3 sign the already-encoded path encoded once more.
    for (i, segment) in req.path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        encode_into(&mut out, segment);
    }
    out.push('\n');
    let mut query: Vec<(String, String)> = parse_query(req.query)
        .into_iter()
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .map(|(k, v)| (encode(&k), encode(&v)))
        .collect();
    query.sort();
    for (i, (k, v)) in query.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out.push('\n');
    for name in signed {
        let values: Vec<String> = req
            .headers
            .get_all(*name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return Err(invalid(format!("signed header {name:?} is missing from the request")));
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(signed_headers);
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

/// Derives the SigV4 signing key for a secret, date, region and service.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    hmac(&k, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    PrimitiveDateTime::parse(s, &fmt).ok().map(PrimitiveDateTime::assume_utc)
}

/// Formats a time as SigV4's `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    t.to_offset(time::UtcOffset::UTC).format(&fmt).expect("a UTC date always formats")
}

/// Splits a raw query string into percent-decoded pairs.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hexval = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hexval(b[i + 1]), hexval(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(&mut out, s);
    out
}

/// SigV4 URI encoding: everything but unreserved characters as `%XX` with uppercase hex.
fn encode_into(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[(b >> 4) as usize]));
            out.push(char::from(b"0123456789ABCDEF"[(b & 15) as usize]));
        }
    }
}

#[cfg(test)]
mod tests {
    //! Requests here are signed by the official `aws-sigv4` crate, never by the code under test.
    use super::*;
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings};
    use aws_sigv4::sign::v4;
    use std::time::SystemTime;

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn signed(
        body: &[u8],
        at: SystemTime,
        location: SignatureLocation,
        service: &str,
        region: &str,
    ) -> http::Request<Vec<u8>> {
        let identity = Credentials::new(AKID, SECRET, None, None, "test").into();
        let mut settings = SigningSettings::default();
        settings.signature_location = location;
        settings.expires_in = Some(std::time::Duration::from_secs(300));
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(service)
            .time(at)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let mut req = http::Request::builder()
            .method("POST")
            .uri("http://127.0.0.1:4573/?")
            .header("host", "127.0.0.1:4573")
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "CloudTrail_20131101.DescribeTrails")
            .body(body.to_vec())
            .unwrap();
        let signable = SignableRequest::new(
            "POST",
            req.uri().to_string(),
            req.headers().iter().map(|(k, v)| (k.as_str(), v.to_str().unwrap())),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        instructions.apply_to_request_http1x(&mut req);
        req
    }

    fn check(req: &http::Request<Vec<u8>>, now: SystemTime) -> Result<Verified> {
        let parts = SignedRequest {
            method: req.method().as_str(),
            path: req.uri().path(),
            query: req.uri().query().unwrap_or(""),
            headers: req.headers(),
            body: req.body(),
        };
        verify(&parts, "cloudtrail", now.into(), |k| (k == AKID).then_some(SECRET))
    }

    fn code(r: Result<Verified>) -> ErrorCode {
        r.unwrap_err().code
    }

    #[test]
    fn header_and_query_forms_verify() {
        let now = SystemTime::now();
        for loc in [SignatureLocation::Headers, SignatureLocation::QueryParams] {
            let req = signed(b"{}", now, loc, "cloudtrail", "eu-west-1");
            let v = check(&req, now).unwrap();
            assert_eq!((v.access_key_id.as_str(), v.region.as_str()), (AKID, "eu-west-1"));
        }
    }

    #[test]
    fn tampering_is_refused() {
        let now = SystemTime::now();
        let mut req = signed(b"{}", now, SignatureLocation::Headers, "cloudtrail", "us-east-1");
        *req.body_mut() = b"{\"a\":1}".to_vec();
        assert_eq!(code(check(&req, now)), ErrorCode::InvalidSignature);

        let mut req = signed(b"{}", now, SignatureLocation::Headers, "cloudtrail", "us-east-1");
        req.headers_mut().insert("x-amz-target", "CloudTrail_20131101.DeleteTrail".parse().unwrap());
        assert_eq!(code(check(&req, now)), ErrorCode::InvalidSignature);

        let mut req = signed(b"{}", now, SignatureLocation::QueryParams, "cloudtrail", "us-east-1");
        *req.body_mut() = b"{\"a\":1}".to_vec();
        assert_eq!(code(check(&req, now)), ErrorCode::InvalidSignature);
    }

    #[test]
    fn credentials_scope_and_time() {
        let now = SystemTime::now();
        let req = signed(b"{}", now, SignatureLocation::Headers, "cloudtrail", "us-east-1");
        let parts = SignedRequest { method: "POST", path: "/", query: "", headers: req.headers(), body: req.body() };
        assert_eq!(code(verify(&parts, "cloudtrail", now.into(), |_| None)), ErrorCode::UnrecognizedClient);
        let wrong_service = signed(b"{}", now, SignatureLocation::Headers, "s3", "us-east-1");
        assert_eq!(code(check(&wrong_service, now)), ErrorCode::InvalidSignature);
        let old = now - std::time::Duration::from_secs(16 * 60);
        assert_eq!(
            code(check(&signed(b"{}", old, SignatureLocation::Headers, "cloudtrail", "us-east-1"), now)),
            ErrorCode::InvalidSignature
        );
        let future = now + std::time::Duration::from_secs(16 * 60);
        assert_eq!(
            code(check(&signed(b"{}", future, SignatureLocation::Headers, "cloudtrail", "us-east-1"), now)),
            ErrorCode::InvalidSignature
        );
        let near = now - std::time::Duration::from_secs(14 * 60);
        assert!(check(&signed(b"{}", near, SignatureLocation::Headers, "cloudtrail", "us-east-1"), now).is_ok());
    }

    fn unsigned_code(headers: &HeaderMap) -> ErrorCode {
        let parts = SignedRequest { method: "POST", path: "/", query: "", headers, body: b"" };
        code(verify(&parts, "cloudtrail", OffsetDateTime::now_utc(), |_| None))
    }

    #[test]
    fn missing_and_incomplete() {
        let mut headers = HeaderMap::new();
        assert_eq!(unsigned_code(&headers), ErrorCode::MissingAuthenticationToken);
        let no_signature = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/cloudtrail/aws4_request";
        headers.insert("authorization", no_signature.parse().unwrap());
        assert_eq!(unsigned_code(&headers), ErrorCode::IncompleteSignature);
        headers.insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
        assert_eq!(unsigned_code(&headers), ErrorCode::IncompleteSignature);
    }

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("a=b%2Fc&d=&e"),
            vec![("a".into(), "b/c".into()), ("d".into(), "".into()), ("e".into(), "".into())]
        );
        assert_eq!(decode("%"), "%");
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("%41"), "A");
        assert_eq!(encode("a b/c~"), "a%20b%2Fc~");
    }
}
