//! Query results delivered to a bucket (StartQuery's `DeliveryS3Uri`), as Lake delivers them: the rows as CSV
//! with a header (`result_1.csv.gz`) in `[prefix/]AWSLogs/<account>/CloudTrail-Lake/Query/YYYY/MM/DD/<query id>/`,
//! and `result_sign.json` beside it, signed with the region's key (see `cairn_integrity::results`). The bucket's
//! policy must let `cloudtrail.amazonaws.com` write there for the store (`aws:SourceArn` the store's ARN), as for
//! trails; the check is made when the query starts.

use std::io::Write;

use bytes::Bytes;
use cairn_api::{ApiError, ErrorCode, Result};
use cairn_delivery::StoreErrorKind;
use cairn_integrity::results::{results_folder, sign, SIGN_FILE};
use cairn_store::lake::LakeAnswer;

use crate::App;

/// Where a query's results go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub uri: String,
    pub bucket: String,
    pub prefix: Option<String>,
}

/// Parses `s3://bucket[/prefix]` as the API model constrains it.
pub(crate) fn parse_uri(uri: &str) -> Result<Target> {
    let bad = || {
        ApiError::new(
            ErrorCode::Validation,
            format!("1 validation error detected: Value '{uri}' at 'deliveryS3Uri' failed to satisfy constraint: Member must satisfy regular expression pattern: s3://[a-z0-9][\\.\\-a-z0-9]{{1,61}}[a-z0-9](/.*)?"),
        )
    };
    if uri.len() > 1024 {
        return Err(bad());
    }
    let rest = uri.strip_prefix("s3://").ok_or_else(bad)?;
    let (bucket, prefix) = rest.split_once('/').map_or((rest, None), |(b, p)| (b, Some(p)));
    let b = bucket.as_bytes();
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok = (3..=63).contains(&b.len())
        && edge(b[0])
        && edge(b[b.len() - 1])
        && b.iter().all(|c| edge(*c) || *c == b'.' || *c == b'-');
    if !ok {
        return Err(bad());
    }
    let prefix = prefix.map(|p| p.trim_matches('/').to_string()).filter(|p| !p.is_empty());
    Ok(Target { uri: uri.to_string(), bucket: bucket.to_string(), prefix })
}

/// Checks, when a query starts, that its results can be delivered: the bucket exists and its policy lets CloudTrail
/// write under the account's folder for the store.
pub(crate) fn check(app: &App, target: &Target, account: &str, store_arn: &str) -> Result<()> {
    let folder = results_folder(target.prefix.as_deref(), account, "2000-01-01", "check");
    let folder = folder.split("CloudTrail-Lake/").next().unwrap_or_default().to_string();
    let storage = &app.storage;
    let checked = tokio::runtime::Handle::current().block_on(async {
        if !storage.bucket_exists(&target.bucket).await? {
            return Ok(false);
        }
        storage.check_write(&target.bucket, &folder, None, store_arn).await.map(|()| true)
    });
    match checked {
        Ok(true) => Ok(()),
        Ok(false) => Err(missing(&target.bucket)),
        Err(e) if e.kind() == StoreErrorKind::NoSuchBucket => Err(missing(&target.bucket)),
        Err(e) if e.kind() == StoreErrorKind::AccessDenied => Err(ApiError::new(
            ErrorCode::InsufficientS3BucketPolicy,
            format!("Incorrect S3 bucket policy is detected for bucket: {}", target.bucket),
        )),
        Err(e) => Err(ApiError::internal(format!("the results bucket could not be reached ({})", e.code))),
    }
}

fn missing(bucket: &str) -> ApiError {
    ApiError::new(ErrorCode::S3BucketDoesNotExist, format!("S3 bucket {bucket} does not exist"))
}

/// An answer as CSV: a header of the column names, then the rows; NULL is an empty field.
pub(crate) fn csv(answer: &LakeAnswer) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, s: &str) {
        if s.contains([',', '"', '\n', '\r']) {
            out.push(b'"');
            out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(s.as_bytes());
        }
    }
    let mut out = Vec::new();
    let mut line = |cells: &mut dyn Iterator<Item = Option<&str>>| {
        for (i, c) in cells.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if let Some(c) = c {
                field(&mut out, c);
            }
        }
        out.extend_from_slice(b"\r\n");
    };
    line(&mut answer.columns.iter().map(|c| Some(c.as_str())));
    for row in &answer.rows {
        line(&mut row.iter().map(Option::as_deref));
    }
    out
}

/// Writes an answer and its sign file; answers the DeliveryStatus.
pub(crate) async fn deliver(
    app: &App,
    target: &Target,
    answer: &LakeAnswer,
    (account, region, query_id, store_arn): (&str, &str, &str, &str),
    now_ms: i64,
) -> &'static str {
    let complete = cairn_model::event::format_event_time(now_ms);
    let folder = results_folder(target.prefix.as_deref(), account, &complete[..10], query_id);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let body = match gz.write_all(&csv(answer)).and_then(|()| gz.finish()) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(query = query_id, error = %e, "cannot compress query results");
            return "FAILED";
        }
    };
    let name = "result_1.csv.gz".to_string();
    let put = |key: String, bytes: Vec<u8>| async move {
        app.storage.put(&target.bucket, &key, Bytes::from(bytes), None, store_arn, &[]).await
    };
    match put(format!("{folder}{name}"), body.clone()).await {
        Ok(()) => {}
        Err(e) if e.kind() == StoreErrorKind::AccessDenied => return "ACCESS_DENIED",
        Err(e) if e.kind() == StoreErrorKind::NoSuchBucket => return "RESOURCE_NOT_FOUND",
        Err(e) => {
            tracing::warn!(query = query_id, error = %e, "cannot deliver query results");
            return "FAILED";
        }
    }
    let key = match app.signing_keys.current(region, now_ms) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(query = query_id, error = %e, "no signing key for query results");
            return "FAILED_SIGNING_FILE";
        }
    };
    let sign_file = sign(&key, region, &[(name, &body)], &complete);
    let text = serde_json::to_vec(&sign_file).unwrap_or_default();
    match put(format!("{folder}{SIGN_FILE}"), text).await {
        Ok(()) => "SUCCESS",
        Err(e) if e.kind() == StoreErrorKind::AccessDenied => "ACCESS_DENIED_SIGNING_FILE",
        Err(e) => {
            tracing::warn!(query = query_id, error = %e, "cannot deliver the query results' sign file");
            "FAILED_SIGNING_FILE"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_uris_follow_the_model() {
        let t = parse_uri("s3://my-bucket/some/prefix/").unwrap();
        assert_eq!((t.bucket.as_str(), t.prefix.as_deref()), ("my-bucket", Some("some/prefix")));
        assert_eq!(parse_uri("s3://my-bucket").unwrap().prefix, None);
        for bad in ["my-bucket", "s3://My-Bucket", "s3://a", "s3://-bucket", "https://b/x"] {
            assert_eq!(parse_uri(bad).unwrap_err().code, ErrorCode::Validation, "{bad}");
        }
    }

    #[test]
    fn csv_quotes_as_rfc4180() {
        let answer = LakeAnswer {
            columns: vec!["a".into(), "b".into()],
            rows: vec![vec![Some("x,y".into()), None], vec![Some("say \"hi\"".into()), Some("plain".into())]],
            truncated: false,
            stats: Default::default(),
        };
        assert_eq!(String::from_utf8(csv(&answer)).unwrap(), "a,b\r\n\"x,y\",\r\n\"say \"\"hi\"\"\",plain\r\n");
    }
}
