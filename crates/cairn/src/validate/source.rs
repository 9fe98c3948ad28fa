//! Where digests and log files are read from: an S3 endpoint (cairn's own, or any S3-compatible server, signed with
//! SigV4; ListObjectsV2, GetObject with its metadata, GetBucketLocation) or a local copy of a bucket (`aws s3 sync`
//! output: `<dir>/<key>`, no object metadata).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use bytes::Bytes;

use cairn_integrity::check::Fetched;

/// An object read, or its absence.
#[derive(Debug, Clone)]
pub enum Got {
    Found(Fetched),
    Missing,
}

#[derive(Debug)]
pub enum Source {
    S3 {
        client: Box<cairn_client::HttpClient>,
        endpoint: cairn_client::Endpoint,
        /// Region of each bucket (GetBucketLocation), to sign its requests with.
        regions: Mutex<BTreeMap<String, String>>,
    },
    Dir {
        root: PathBuf,
        /// The bucket the copy was made of; other buckets are not there.
        bucket: String,
    },
}

/// Percent-encodes a key or query value (RFC 3986 unreserved characters stay; `/` too when `keep_slash`).
pub fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The texts of every `<tag>` element of an S3 XML document (attributes allowed, self-closing elements empty),
/// unescaped.
fn xml_all(body: &[u8], tag: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = &text[..];
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        // `<tag>`, `<tag attr="...">` or `<tag/>`; not `<tagger>`.
        if !rest.starts_with(['>', ' ', '/', '\t', '\n', '\r']) {
            continue;
        }
        let Some(gt) = rest.find('>') else { break };
        let self_closing = rest[..gt].ends_with('/');
        rest = &rest[gt + 1..];
        if self_closing {
            out.push(String::new());
            continue;
        }
        let Some(j) = rest.find(&close) else { break };
        out.push(
            rest[..j]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&#13;", "\r")
                .replace("&amp;", "&"),
        );
        rest = &rest[j + close.len()..];
    }
    out
}

impl Source {
    pub fn s3(endpoint: cairn_client::Endpoint, connections: usize) -> Source {
        Source::S3 { client: Box::new(cairn_client::http_client(connections)), endpoint, regions: Mutex::default() }
    }

    /// The endpoint to sign requests for `bucket` with: its region, asked once.
    async fn endpoint_for(&self, bucket: &str) -> Result<cairn_client::Endpoint> {
        let Source::S3 { client, endpoint, regions } = self else { bail!("not an S3 source") };
        if let Some(r) = regions.lock().unwrap_or_else(|e| e.into_inner()).get(bucket) {
            return Ok(cairn_client::Endpoint { region: r.clone(), ..endpoint.clone() });
        }
        let path = format!("/{}?location", encode(bucket, false));
        let mut ep = endpoint.clone();
        let mut answer = None;
        // As the AWS SDKs: a server that names another signing region in its error is asked again in that region.
        for _ in 0..2 {
            let signer = cairn_client::Signer::s3(&ep, http::Method::GET, &path, Bytes::new())?;
            let (status, body) =
                cairn_client::send(client, &signer).await.with_context(|| format!("calling S3 at {}", ep.url))?;
            let redirect =
                xml_all(&body, "Region").into_iter().next().filter(|r| !status.is_success() && *r != ep.region);
            answer = Some((status, body));
            match redirect {
                Some(r) => ep.region = r,
                None => break,
            }
        }
        let (status, body) = answer.expect("asked at least once");
        if !status.is_success() {
            bail!("GetBucketLocation of {bucket}: {}", s3_error(status, &body));
        }
        let region = xml_all(&body, "LocationConstraint").into_iter().next().filter(|r| !r.is_empty());
        // An empty constraint is us-east-1; a self-closing element has no text either.
        let region = region.unwrap_or_else(|| "us-east-1".to_string());
        regions.lock().unwrap_or_else(|e| e.into_inner()).insert(bucket.to_string(), region.clone());
        Ok(cairn_client::Endpoint { region, ..endpoint.clone() })
    }

    /// Keys under `prefix` after `marker`, ascending.
    pub async fn list(&self, bucket: &str, prefix: &str, marker: &str) -> Result<Vec<String>> {
        match self {
            Source::Dir { root, bucket: mine } => {
                if bucket != mine {
                    return Ok(Vec::new());
                }
                let mut keys = Vec::new();
                // Only the folder the prefix names (and below) is walked.
                let folder = prefix.rsplit_once('/').map_or("", |(f, _)| f);
                walk(root, &root.join(folder), &mut keys)?;
                keys.retain(|k| k.starts_with(prefix) && k.as_str() > marker);
                keys.sort();
                Ok(keys)
            }
            Source::S3 { client, .. } => {
                let ep = self.endpoint_for(bucket).await?;
                let mut keys = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let mut q = format!("/{}?list-type=2&prefix={}", encode(bucket, false), encode(prefix, false));
                    match &token {
                        Some(t) => q.push_str(&format!("&continuation-token={}", encode(t, false))),
                        None if !marker.is_empty() => q.push_str(&format!("&start-after={}", encode(marker, false))),
                        None => {}
                    }
                    let signer = cairn_client::Signer::s3(&ep, http::Method::GET, &q, Bytes::new())?;
                    let (status, body) = cairn_client::send(client, &signer)
                        .await
                        .with_context(|| format!("calling S3 at {}", ep.url))?;
                    if !status.is_success() {
                        bail!("ListObjectsV2 of {bucket}: {}", s3_error(status, &body));
                    }
                    keys.extend(xml_all(&body, "Key"));
                    token = xml_all(&body, "NextContinuationToken").into_iter().next();
                    let truncated = xml_all(&body, "IsTruncated").first().is_some_and(|t| t == "true");
                    if !truncated || token.is_none() {
                        return Ok(keys);
                    }
                }
            }
        }
    }

    /// An object's bytes and metadata.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Got> {
        match self {
            Source::Dir { root, bucket: mine } => {
                // Only relative keys inside the copy: no absolute paths, no `..`, no empty or `.` segments.
                let outside = key.starts_with('/') || key.contains('\\');
                if bucket != mine || outside || key.split('/').any(|p| p.is_empty() || p == ".." || p == ".") {
                    return Ok(Got::Missing);
                }
                match tokio::fs::read(root.join(key)).await {
                    Ok(b) => Ok(Got::Found(Fetched { body: Bytes::from(b), metadata: None })),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Got::Missing),
                    Err(e) => Err(e).with_context(|| format!("reading {}", root.join(key).display())),
                }
            }
            Source::S3 { client, .. } => {
                let ep = self.endpoint_for(bucket).await?;
                let path = format!("/{}/{}", encode(bucket, false), encode(key, true));
                let signer = cairn_client::Signer::s3(&ep, http::Method::GET, &path, Bytes::new())?;
                let (status, headers, body) = cairn_client::send_with_headers(client, &signer)
                    .await
                    .with_context(|| format!("calling S3 at {}", ep.url))?;
                if status == http::StatusCode::NOT_FOUND
                    && xml_all(&body, "Code").first().is_some_and(|c| c == "NoSuchKey")
                {
                    return Ok(Got::Missing);
                }
                if !status.is_success() {
                    bail!("GetObject s3://{bucket}/{key}: {}", s3_error(status, &body));
                }
                let metadata = headers
                    .iter()
                    .filter_map(|(name, value)| {
                        let name = name.as_str().strip_prefix("x-amz-meta-")?;
                        Some((name.to_string(), value.to_str().ok()?.to_string()))
                    })
                    .collect();
                Ok(Got::Found(Fetched { body, metadata: Some(metadata) }))
            }
        }
    }
}

fn s3_error(status: http::StatusCode, body: &[u8]) -> String {
    let code = xml_all(body, "Code").into_iter().next().unwrap_or_else(|| status.to_string());
    let message = xml_all(body, "Message").into_iter().next().unwrap_or_default();
    format!("{code}: {message}")
}

/// Every file under `dir`, as keys relative to `root` with `/` separators.
fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_reads_xml() {
        assert_eq!(encode("a b/c~d", true), "a%20b/c~d");
        assert_eq!(encode("a/b", false), "a%2Fb");
        let xml = b"<R><Contents><Key>a&amp;b</Key></Contents><Contents><Key>c</Key></Contents></R>";
        assert_eq!(xml_all(xml, "Key"), ["a&b", "c"]);
        let location = br#"<?xml version="1.0"?><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">garage</LocationConstraint>"#;
        assert_eq!(xml_all(location, "LocationConstraint"), ["garage"]);
        assert_eq!(xml_all(b"<LocationConstraint/>", "LocationConstraint"), [""]);
        assert!(xml_all(b"<Keys>x</Keys>", "Key").is_empty());
    }

    #[tokio::test]
    async fn a_local_copy_lists_and_reads_keys() {
        let root = std::env::temp_dir().join(format!("cairn-validate-dir-{}", std::process::id()));
        std::fs::create_dir_all(root.join("AWSLogs/1/CloudTrail-Digest/us-east-1/2026")).unwrap();
        std::fs::write(root.join("AWSLogs/1/CloudTrail-Digest/us-east-1/2026/b"), b"x").unwrap();
        std::fs::write(root.join("AWSLogs/1/CloudTrail-Digest/us-east-1/2026/a"), b"y").unwrap();
        let src = Source::Dir { root: root.clone(), bucket: "bk".into() };
        let keys = src.list("bk", "AWSLogs/1/CloudTrail-Digest/us-east-1", "").await.unwrap();
        assert_eq!(
            keys,
            ["AWSLogs/1/CloudTrail-Digest/us-east-1/2026/a", "AWSLogs/1/CloudTrail-Digest/us-east-1/2026/b"]
        );
        let after = src.list("bk", "AWSLogs/1/CloudTrail-Digest/us-east-1", &keys[0]).await.unwrap();
        assert_eq!(after, [keys[1].clone()]);
        assert!(src.list("other", "AWSLogs", "").await.unwrap().is_empty());
        assert!(
            matches!(src.get("bk", &keys[0]).await.unwrap(), Got::Found(f) if &f.body[..] == b"y" && f.metadata.is_none())
        );
        assert!(matches!(src.get("bk", "AWSLogs/none").await.unwrap(), Got::Missing));
        assert!(matches!(src.get("bk", "../etc/passwd").await.unwrap(), Got::Missing));
        assert!(matches!(src.get("bk", "/etc/passwd").await.unwrap(), Got::Missing));
        assert!(matches!(src.get("bk", "AWSLogs//x").await.unwrap(), Got::Missing));
        std::fs::remove_dir_all(root).unwrap();
    }
}
