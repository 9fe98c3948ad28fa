//! `cairn verify-query-results`: checks the signed results of a CloudTrail Lake query, as AWS CLI v2's
//! `aws cloudtrail verify-query-results` does: in a bucket (`--s3-bucket`, `--s3-prefix` naming the results folder)
//! or in a local copy of it (`--local-export-path`). The public keys come from ListPublicKeys (from the results'
//! completion time on) or, offline, from a file of `aws cloudtrail list-public-keys` output.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use cairn_integrity::results::{verify, SignFile, SIGN_FILE};
use clap::Args;
use serde_json::json;

use super::source::{Got, Source};
use super::{keys_from_file, keys_from_list};
use crate::connection::{call, Connection};

#[derive(Debug, Args)]
pub struct VerifyResultsArgs {
    /// Bucket holding the results.
    #[arg(long, conflicts_with = "local_export_path")]
    s3_bucket: Option<String>,
    /// The results folder in the bucket (`.../CloudTrail-Lake/Query/YYYY/MM/DD/<query id>/`).
    #[arg(long, requires = "s3_bucket")]
    s3_prefix: Option<String>,
    /// A local copy of the results folder.
    #[arg(long, value_name = "DIR")]
    local_export_path: Option<PathBuf>,
    /// The public keys, as `aws cloudtrail list-public-keys` prints them (JSON), instead of asking cairn.
    #[arg(long, value_name = "FILE")]
    public_keys: Option<PathBuf>,
    /// S3 endpoint of the bucket, if not the CloudTrail endpoint [env: AWS_ENDPOINT_URL_S3].
    #[arg(long, env = "AWS_ENDPOINT_URL_S3")]
    s3_endpoint_url: Option<String>,
    #[command(flatten)]
    connection: Connection,
}

/// Exit status 0 when the results verify, 1 when they do not.
pub fn run(args: VerifyResultsArgs) -> Result<i32> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(verify_results(args))
}

async fn verify_results(args: VerifyResultsArgs) -> Result<i32> {
    let ep = args.connection.endpoint();
    let (src, bucket, prefix) = match (&args.local_export_path, &args.s3_bucket) {
        (Some(dir), _) => (Source::Dir { root: dir.clone(), bucket: String::new() }, String::new(), String::new()),
        (None, Some(b)) => {
            let s3 = cairn_client::Endpoint {
                url: args.s3_endpoint_url.clone().unwrap_or_else(|| ep.url.clone()),
                ..ep.clone()
            };
            let mut prefix = args.s3_prefix.clone().unwrap_or_default();
            if !prefix.is_empty() && !prefix.ends_with('/') {
                prefix.push('/');
            }
            (Source::s3(s3, 4), b.clone(), prefix)
        }
        (None, None) => bail!("either --s3-bucket or --local-export-path is required"),
    };
    let read = |name: String| {
        let (src, bucket) = (&src, &bucket);
        async move {
            match src.get(bucket, &name).await? {
                Got::Found(f) => Ok::<Bytes, anyhow::Error>(f.body),
                Got::Missing => bail!("{name} was not found"),
            }
        }
    };
    let sign_bytes = read(format!("{prefix}{SIGN_FILE}")).await.context("Unable to load result_sign.json file")?;
    let sign: SignFile = serde_json::from_slice(&sign_bytes).context("Unable to load result_sign.json file")?;
    let keys = match &args.public_keys {
        Some(file) => keys_from_file(file)?,
        None => {
            let start =
                time::OffsetDateTime::parse(&sign.query_complete_time, &time::format_description::well_known::Rfc3339)
                    .context("queryCompleteTime is not a time")?
                    .unix_timestamp();
            let client = cairn_client::http_client(1);
            let body = json!({ "StartTime": start, "EndTime": start + 20 * 86_400 });
            let signer = cairn_client::Signer::cloudtrail(&ep, "ListPublicKeys", Bytes::from(body.to_string()))?;
            keys_from_list(&call(&client, &ep, &signer).await?)?
        }
    };
    let mut files = std::collections::HashMap::new();
    for f in &sign.files {
        let bytes = read(format!("{prefix}{}", f.file_name)).await?;
        files.insert(f.file_name.clone(), bytes.to_vec());
    }
    let outcome = verify(&sign, |name| files.get(name).cloned().ok_or_else(|| format!("{name} was not found")), &keys);
    match outcome {
        Ok(()) => {
            println!("Successfully validated sign and query result files");
            Ok(0)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(1)
        }
    }
}
