//! `cairn trail-bucket`: creates a bucket in a running cairn with the bucket policy AWS's console writes for a new
//! trail's bucket, so that `aws cloudtrail create-trail` can deliver there right away.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Args;

use crate::connection::Connection;

#[derive(Debug, Args)]
pub struct TrailBucketArgs {
    /// Name of the bucket to create (or to give the policy, if you already own it).
    bucket: String,
    /// Name of the trail that will deliver there (in the connection's region).
    #[arg(long)]
    trail: String,
    /// The trail's S3 key prefix, if it will have one.
    #[arg(long)]
    prefix: Option<String>,
    /// For an organization trail: the organization's id, so member accounts' folders are writable too.
    #[arg(long, value_name = "O-ID")]
    organization_id: Option<String>,
    /// Replace a policy the bucket already has (by default cairn refuses, not to drop its statements).
    #[arg(long)]
    replace: bool,
    #[command(flatten)]
    connection: Connection,
}

/// The `<tag>` text of an S3 XML document.
fn xml_field(body: &[u8], tag: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(&format!("</{tag}>"))?;
    Some(text[start..start + len].to_string())
}

/// An S3 error answer: its code and message.
#[derive(Debug)]
struct S3Failure {
    code: String,
    message: String,
}

impl std::fmt::Display for S3Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for S3Failure {}

pub fn run(args: TrailBucketArgs) -> Result<()> {
    let endpoint = args.connection.endpoint();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let bucket = &args.bucket;
    let (trail_arn, policy) = rt.block_on(async {
        let client = cairn_client::http_client(1);
        let (client, endpoint) = (&client, &endpoint);
        // Ok(Err(..)) is S3's answer of an error; Err(..) is a failure to reach cairn.
        let s3 = |method: http::Method, path: String, body: Bytes| async move {
            let signer = cairn_client::Signer::s3(endpoint, method, &path, body)?;
            let (status, body) = cairn_client::send(client, &signer)
                .await
                .with_context(|| format!("calling cairn's S3 endpoint at {}", endpoint.url))?;
            if status.is_success() {
                return anyhow::Ok(Ok(body));
            }
            let code = xml_field(&body, "Code").unwrap_or_else(|| status.to_string());
            anyhow::Ok(Err(S3Failure { code, message: xml_field(&body, "Message").unwrap_or_default() }))
        };
        let location = match endpoint.region.as_str() {
            "us-east-1" => Bytes::new(),
            region => Bytes::from(format!(
                "<CreateBucketConfiguration><LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
            )),
        };
        match s3(http::Method::PUT, format!("/{bucket}"), location).await? {
            Ok(_) => {}
            Err(e) if e.code == "BucketAlreadyOwnedByYou" => {}
            Err(e) => bail!("creating bucket {bucket}: {e}"),
        }
        // A policy the bucket already has is not replaced unless asked: it may hold other statements.
        match s3(http::Method::GET, format!("/{bucket}?policy"), Bytes::new()).await? {
            Err(e) if e.code == "NoSuchBucketPolicy" => {}
            Ok(_) if args.replace => {}
            Ok(_) => bail!("bucket {bucket} already has a policy: add CloudTrail's statements to it, or pass --replace"),
            Err(e) => bail!("reading the policy of bucket {bucket}: {e}"),
        }
        // The bucket's owner is the caller's account: S3 names it in the ACL.
        let acl = s3(http::Method::GET, format!("/{bucket}?acl"), Bytes::new()).await??;
        let account = xml_field(&acl, "DisplayName").context("the bucket's ACL names no owner")?;
        let trail_arn = format!("arn:aws:cloudtrail:{}:{account}:trail/{}", endpoint.region, args.trail);
        let policy = cairn_s3::access::cloudtrail_console_policy(
            bucket,
            args.prefix.as_deref(),
            &trail_arn,
            args.organization_id.as_deref(),
        );
        s3(http::Method::PUT, format!("/{bucket}?policy"), Bytes::from(policy.clone()))
            .await?
            .with_context(|| format!("putting the policy of bucket {bucket}"))?;
        anyhow::Ok((trail_arn, policy))
    })?;
    let pretty: serde_json::Value = serde_json::from_str(&policy)?;
    eprintln!("s3://{bucket} is ready for trail {trail_arn}, with this bucket policy:");
    println!("{}", serde_json::to_string_pretty(&pretty)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_s3_xml_fields() {
        let acl = b"<AccessControlPolicy><Owner><ID>abc</ID><DisplayName>111111111111</DisplayName></Owner></AccessControlPolicy>";
        assert_eq!(super::xml_field(acl, "DisplayName").as_deref(), Some("111111111111"));
        assert_eq!(
            super::xml_field(b"<Error><Code>NoSuchBucket</Code></Error>", "Code").as_deref(),
            Some("NoSuchBucket")
        );
        assert_eq!(super::xml_field(b"junk", "Code"), None);
    }
}
