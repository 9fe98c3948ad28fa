//! `cairn validate-logs`: validates a trail's digest and log files as `aws cloudtrail validate-logs` does (same
//! arguments, checks, lines, streams, summary and exit codes), with files fetched and hashed in parallel, a progress
//! bar on a terminal, `--output json`, and an offline mode over a local copy of a bucket with public keys from a
//! file.
//!
//! The digest chain is walked as AWS's validator walks it: from the newest digest in range back along
//! `previousDigestS3Object`, falling back to the bucket's listing after a missing or invalid digest or a chain start.

mod events;
pub mod prove;
pub mod results;
mod source;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use base64::Engine;
use bytes::Bytes;
use cairn_integrity::digest::{Document, LogFileEntry};
use clap::{Args, ValueEnum};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::connection::{call, Connection};
use cairn_integrity::check::{self, LogStatus, PublicKeys};
use source::{Got, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// What to validate and where it is: the AWS CLI's arguments, plus cairn's offline mode.
#[derive(Debug, Args)]
pub struct Scope {
    /// ARN of the trail whose files to validate.
    #[arg(long)]
    trail_arn: String,
    /// Validate files delivered on or after this UTC time (such as 2026-01-08T05:21:42Z).
    #[arg(long)]
    start_time: String,
    /// ... and on or before this one (default: now).
    #[arg(long)]
    end_time: Option<String>,
    /// Bucket of the digests, if not the trail's current one (required with --local-dir: the bucket copied).
    #[arg(long)]
    s3_bucket: Option<String>,
    /// Key prefix of the digests, if not the trail's current one.
    #[arg(long)]
    s3_prefix: Option<String>,
    /// Account whose files to validate (organization trails: a member account).
    #[arg(long)]
    account_id: Option<String>,
    /// Organization id of an organization trail's folders.
    #[arg(long, value_name = "O-ID")]
    organization_id: Option<String>,
    /// Validate a local copy of the bucket (such as `aws s3 sync` writes) instead of reading S3.
    #[arg(long, value_name = "DIR", requires = "public_keys")]
    local_dir: Option<PathBuf>,
    /// The public keys, as `aws cloudtrail list-public-keys` prints them (JSON), for --local-dir.
    #[arg(long, value_name = "FILE")]
    public_keys: Option<PathBuf>,
    /// S3 endpoint of the bucket, if not the CloudTrail endpoint [env: AWS_ENDPOINT_URL_S3].
    #[arg(long, env = "AWS_ENDPOINT_URL_S3")]
    s3_endpoint_url: Option<String>,
    #[arg(long, env = "AWS_ENDPOINT_URL_CLOUDTRAIL", hide = true)]
    env_cloudtrail_endpoint: Option<String>,
    /// Files fetched and hashed at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    scope: Scope,
    /// Print a line for every valid file too.
    #[arg(long)]
    verbose: bool,
    /// text (as the AWS CLI prints) or json (one document on stdout).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    output: Format,
    /// Offline: do not fail for digests whose signature a local copy cannot hold (the newest of each chain); their
    /// log files are still checked against the hashes they list.
    #[arg(long)]
    allow_unverified: bool,
    /// Also check each digest's per-event Merkle tree head against its log files' events (cairn's digests).
    #[arg(long)]
    events: bool,
}

/// One step of the chain walk, in the order AWS's validator reports it.
#[derive(Debug, Clone)]
enum Item {
    /// A digest whose signature verified, or (offline only, `verified` false) one whose signature nothing names:
    /// the newest of a chain, whose signature only its object metadata held. Their log files are checked either way.
    Valid {
        bucket: String,
        key: String,
        doc: Box<Document>,
        backfill: bool,
        verified: bool,
    },
    Invalid {
        line: String,
        backfill: bool,
    },
    Missing {
        bucket: String,
        key: String,
        backfill: bool,
    },
    Gap {
        next_end: i64,
        last_start: i64,
        backfill: bool,
    },
}

/// What the walk needs to know about the trail.
struct Trail {
    account: String,
    name: String,
    home_region: String,
    source_region: String,
    organization_id: Option<String>,
}

impl Trail {
    fn folder(&self, prefix: Option<&str>) -> String {
        let mut key = String::from("AWSLogs/");
        if let Some(o) = &self.organization_id {
            key.push_str(o);
            key.push('/');
        }
        key.push_str(&self.account);
        key.push_str("/CloudTrail-Digest/");
        key.push_str(&self.source_region);
        match prefix.filter(|p| !p.is_empty()) {
            Some(p) => format!("{p}/{key}"),
            None => key,
        }
    }

    /// Whether `key` is one of this trail's digests for the account and source region (AWS's validator's pattern).
    fn is_digest(&self, key: &str, prefix: Option<&str>) -> bool {
        let Some(rest) = key.strip_prefix(&(self.folder(prefix) + "/")) else { return false };
        let mut parts = rest.splitn(4, '/');
        let dates_ok =
            (0..3).all(|_| parts.next().is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())));
        let Some(name) = parts.next() else { return false };
        let head =
            format!("{}_CloudTrail-Digest_{}_{}_{}_", self.account, self.source_region, self.name, self.home_region);
        dates_ok && name.len() > head.len() + ".json.gz".len() && name.starts_with(&head) && name.ends_with(".json.gz")
    }
}

/// The digests of the range, ascending, split into standard and backfill (AWS's validator's listing).
async fn list_digests(
    src: &Source,
    trail: &Trail,
    bucket: &str,
    prefix: Option<&str>,
    start: i64,
    end: i64,
) -> Result<(Vec<String>, Vec<String>)> {
    // The marker is where a digest of one minute before the start would be.
    let before = start - 60;
    let t = time::OffsetDateTime::from_unix_timestamp(before).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let marker_name = format!(
        "{}/{:04}/{:02}/{:02}/{}_CloudTrail-Digest_{}_{}_{}_{}.json.gz",
        trail.folder(prefix),
        t.year(),
        u8::from(t.month()),
        t.day(),
        trail.account,
        trail.source_region,
        trail.name,
        trail.home_region,
        check::format_compact(before)
    );
    let keys = src.list(bucket, &trail.folder(prefix), &marker_name).await?;
    let (from, to) = (check::format_compact(start), check::format_compact(end + 3600));
    let (mut standard, mut backfill) = (Vec::new(), Vec::new());
    for key in keys {
        if !trail.is_digest(&key, prefix) {
            continue;
        }
        let Some(date) = check::key_date(&key) else { continue };
        if date > to.as_str() {
            break;
        }
        if date < from.as_str() {
            continue;
        }
        if check::is_backfill(&key) {
            backfill.push(key);
        } else {
            standard.push(key);
        }
    }
    Ok((standard, backfill))
}

/// Pops the newest digest (or the newest one dated before `before`), as AWS's validator does.
fn pop_last(digests: &mut Vec<String>, before: Option<&str>) -> Option<(String, i64)> {
    let before_date = before.and_then(check::key_date).and_then(check::parse_compact);
    while let Some(k) = digests.pop() {
        let date = check::key_date(&k).and_then(check::parse_compact)?;
        match before_date {
            None => return Some((k, date)),
            Some(b) if date < b => return Some((k, date)),
            Some(_) => {}
        }
    }
    None
}

/// Everything the walk reads, shared by the tasks that fetch in parallel.
struct Walk<'a> {
    src: &'a Source,
    trail: &'a Trail,
    keys: &'a PublicKeys,
    prefix: Option<String>,
    start: i64,
    concurrency: usize,
    /// Online: where to ask for the public keys of a backfill digest's generation time.
    lister: Option<&'a cairn_client::Endpoint>,
    /// The keys backfill digests are checked with, loaded around each one's generation time (as the AWS CLI does).
    backfill_keys: PublicKeys,
    /// Fetched digests by (bucket, key).
    fetched: HashMap<(String, String), Got>,
    /// Offline: signatures of digests, from the digests that point back to them.
    signatures: HashMap<(String, String), String>,
}

impl Walk<'_> {
    /// Fetches the listed digests of `bucket` at once.
    async fn prefetch(&mut self, bucket: &str, keys: &[String]) -> Result<()> {
        let src = self.src;
        let got: Vec<(String, Result<Got>)> = futures::stream::iter(keys.iter().cloned())
            .map(|k| async move {
                let g = src.get(bucket, &k).await;
                (k, g)
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        for (k, g) in got {
            let g = g?;
            if let Got::Found(f) = &g {
                if f.metadata.is_none() {
                    self.learn_signature(f);
                }
            }
            self.fetched.insert((bucket.to_string(), k), g);
        }
        Ok(())
    }

    /// Offline: a digest names the previous digest's signature; remember it for that digest.
    fn learn_signature(&mut self, f: &check::Fetched) {
        let mut raw = Vec::new();
        if std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&f.body[..]), &mut raw).is_err() {
            return;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&raw) else { return };
        if let (Some(b), Some(k), Some(s)) = (
            v["previousDigestS3Bucket"].as_str(),
            v["previousDigestS3Object"].as_str(),
            v["previousDigestSignature"].as_str(),
        ) {
            self.signatures.insert((b.to_string(), k.to_string()), s.to_string());
        }
    }

    async fn get(&mut self, bucket: &str, key: &str) -> Result<Got> {
        if let Some(g) = self.fetched.remove(&(bucket.to_string(), key.to_string())) {
            return Ok(g);
        }
        self.src.get(bucket, key).await
    }

    /// Checks a backfill digest with the keys of its generation time, loading them (one hour either side) when its
    /// key is not among those loaded so far.
    async fn check_backfill(
        &mut self,
        bucket: &str,
        key: &str,
        fetched: &check::Fetched,
        signature: Option<&str>,
    ) -> Result<Result<check::ValidDigest, check::Invalid>> {
        let home = self.trail.home_region.clone();
        // Offline, the file of public keys is all there is.
        let Some(lister) = self.lister else {
            return Ok(check::check_digest(bucket, key, fetched, signature, self.keys, &home));
        };
        let first = check::check_digest(bucket, key, fetched, signature, &self.backfill_keys, &home);
        let generated = fetched.metadata.as_ref().and_then(|m| m.get(check::BACKFILL_TIMESTAMP_METADATA));
        let (Err(e), Some(generated)) = (&first, generated) else { return Ok(first) };
        if !check::is_missing_key(e) {
            return Ok(first);
        }
        let Some(at) = check::parse_time(generated) else {
            return Ok(Err(check::Invalid(format!(
                "Digest file\ts3://{bucket}/{key}\tINVALID: Unable to parse date value: {generated}"
            ))));
        };
        let client = cairn_client::http_client(1);
        let body = json!({ "StartTime": at - 3600, "EndTime": at + 3600 });
        let signer = cairn_client::Signer::cloudtrail(lister, "ListPublicKeys", Bytes::from(body.to_string()))?;
        let loaded = keys_from_list(&call(&client, lister, &signer).await?)?;
        if loaded.is_empty() {
            return Ok(Err(check::Invalid(format!(
                "Digest file\ts3://{bucket}/{key}\tINVALID: No public keys found between {} and {}",
                check::format_display(at - 3600),
                check::format_display(at + 3600)
            ))));
        }
        self.backfill_keys.extend(loaded);
        Ok(check::check_digest(bucket, key, fetched, signature, &self.backfill_keys, &home))
    }

    /// Walks one chain (standard or backfill digests) from the newest in range back to the start.
    async fn chain(&mut self, bucket: &str, mut digests: Vec<String>, backfill: bool) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut bucket = bucket.to_string();
        let Some((first, first_end)) = pop_last(&mut digests, None) else { return Ok(items) };
        let mut key = Some(first);
        let mut last_start = first_end;
        while let Some(k) = key.clone() {
            if self.start > last_start {
                break;
            }
            let fetched = match self.get(&bucket, &k).await? {
                Got::Missing => {
                    items.push(Item::Missing { bucket: bucket.clone(), key: k.clone(), backfill });
                    key = pop_last(&mut digests, Some(&k)).map(|(n, _)| n);
                    continue;
                }
                Got::Found(f) => f,
            };
            let signature = self.signatures.get(&(bucket.clone(), k.clone())).cloned();
            let unverifiable = fetched.metadata.is_none() && signature.is_none();
            let checked = match unverifiable {
                true => check::read_unverified(&fetched)
                    .ok_or_else(|| check::Invalid(format!("Digest file\ts3://{bucket}/{k}\tINVALID: invalid format"))),
                false if backfill => self.check_backfill(&bucket, &k, &fetched, signature.as_deref()).await?,
                false => {
                    check::check_digest(&bucket, &k, &fetched, signature.as_deref(), self.keys, &self.trail.home_region)
                }
            };
            match checked {
                Err(check::Invalid(line)) => {
                    items.push(Item::Invalid { line, backfill });
                    key = pop_last(&mut digests, Some(&k)).map(|(n, _)| n);
                }
                Ok(valid) => {
                    last_start = valid.start;
                    let end_date = valid.end;
                    let (prev_bucket, prev_key) =
                        (valid.doc.previous_digest_s3_bucket.clone(), valid.doc.previous_digest_s3_object.clone());
                    items.push(Item::Valid {
                        bucket: bucket.clone(),
                        key: k.clone(),
                        doc: Box::new(valid.doc),
                        backfill,
                        verified: !unverifiable,
                    });
                    match (prev_bucket, prev_key) {
                        (Some(pb), Some(pk)) => {
                            key = Some(pk);
                            if pb != bucket {
                                bucket = pb;
                                let (standard, back) = list_digests(
                                    self.src,
                                    self.trail,
                                    &bucket,
                                    self.prefix.as_deref(),
                                    self.start,
                                    end_date,
                                )
                                .await?;
                                digests = if backfill { back } else { standard };
                            }
                        }
                        _ => {
                            let next = pop_last(&mut digests, Some(&k));
                            if let Some((_, next_end)) = &next {
                                items.push(Item::Gap { next_end: *next_end, last_start, backfill });
                            }
                            key = next.map(|(n, _)| n);
                        }
                    }
                }
            }
        }
        Ok(items)
    }
}

/// The public keys of an `aws cloudtrail list-public-keys` JSON document, by fingerprint.
fn keys_from_file(path: &std::path::Path) -> Result<PublicKeys> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    keys_from_list(&v).with_context(|| format!("{}: not the output of aws cloudtrail list-public-keys", path.display()))
}

fn keys_from_list(v: &Value) -> Result<PublicKeys> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut keys = PublicKeys::new();
    for k in v["PublicKeyList"].as_array().context("no PublicKeyList")? {
        let (Some(value), Some(fp)) = (k["Value"].as_str(), k["Fingerprint"].as_str()) else {
            bail!("a public key without Value or Fingerprint");
        };
        keys.insert(fp.to_string(), b64.decode(value).context("a Value that is not base64")?);
    }
    Ok(keys)
}

impl Item {
    /// Whether the step is in the backfill chain (its lines start `(backfill) `).
    fn backfill(&self) -> bool {
        match self {
            Item::Valid { backfill, .. }
            | Item::Invalid { backfill, .. }
            | Item::Missing { backfill, .. }
            | Item::Gap { backfill, .. } => *backfill,
        }
    }
}

/// What was found, for the summary.
#[derive(Debug, Default)]
struct Tally {
    valid_digests: u64,
    invalid_digests: u64,
    valid_backfill: u64,
    invalid_backfill: u64,
    valid_logs: u64,
    invalid_logs: u64,
    found_start: Option<i64>,
    found_end: Option<i64>,
    /// Offline: digests whose signature could not be known.
    unverified: u64,
    valid_trees: u64,
    invalid_trees: u64,
}

impl Tally {
    /// Counts a digest, standard or backfill, valid or not.
    fn digest(&mut self, backfill: bool, valid: bool) {
        let n = match (backfill, valid) {
            (false, true) => &mut self.valid_digests,
            (false, false) => &mut self.invalid_digests,
            (true, true) => &mut self.valid_backfill,
            (true, false) => &mut self.invalid_backfill,
        };
        *n += 1;
    }
}

/// Writes lines as AWS's validator does: valid lines to stdout when verbose, INVALID lines to stderr set off by
/// blank lines.
struct Printer {
    verbose: bool,
    last_double: bool,
}

impl Printer {
    fn status(&mut self, message: &str, error: bool) {
        if error {
            let mut err = std::io::stderr().lock();
            let _ = if self.last_double { write!(err, "{message}\n\n") } else { write!(err, "\n{message}\n\n") };
            self.last_double = true;
        } else if self.verbose {
            self.last_double = false;
            println!("{message}");
        }
    }
}

pub fn run(args: ValidateArgs) -> Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(validate(args))
}

/// A validation's sources, keys and range, resolved from its arguments.
pub(crate) struct Prepared {
    src: Source,
    keys: PublicKeys,
    trail: Trail,
    bucket: String,
    prefix: Option<String>,
    start: i64,
    end: i64,
    concurrency: usize,
    /// Online: the CloudTrail endpoint, for backfill digests' keys.
    lister: Option<cairn_client::Endpoint>,
}

async fn prepare(args: &Scope) -> Result<Prepared> {
    let start = check::parse_time(&args.start_time)
        .with_context(|| format!("Unable to parse date value: {}", args.start_time))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let end = match &args.end_time {
        Some(e) => check::parse_time(e).with_context(|| format!("Unable to parse date value: {e}"))?,
        None => now,
    };
    if start > end {
        bail!("Invalid time range specified: start-time must occur before end-time");
    }
    let arn = &args.trail_arn;
    let parts: Vec<&str> = arn.split(':').collect();
    let valid_arn = parts.len() >= 6
        && parts[0] == "arn"
        && parts[2] == "cloudtrail"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("trail/").is_some_and(|n| !n.is_empty());
    if !valid_arn {
        bail!("Invalid trail ARN provided: {arn}");
    }
    let mut ep = args.connection.endpoint();
    let trail = Trail {
        account: args.account_id.clone().unwrap_or_else(|| parts[4].to_string()),
        name: arn.rsplit('/').next().unwrap_or_default().to_string(),
        home_region: parts[3].to_string(),
        source_region: ep.region.clone(),
        organization_id: args.organization_id.clone().filter(|o| !o.is_empty()),
    };
    if let Some(dir) = &args.local_dir {
        let bucket =
            args.s3_bucket.clone().context("--local-dir needs --s3-bucket: the bucket the copy was made of")?;
        let keys = keys_from_file(args.public_keys.as_deref().context("--local-dir needs --public-keys")?)?;
        let src = Source::Dir { root: dir.clone(), bucket: bucket.clone() };
        let prefix = args.s3_prefix.clone();
        return Ok(Prepared {
            src,
            keys,
            trail,
            bucket,
            prefix,
            start,
            end,
            concurrency: args.concurrency,
            lister: None,
        });
    }
    if let Some(ct) = args.env_cloudtrail_endpoint.clone().filter(|_| args.connection.endpoint_flag().is_none()) {
        ep.url = ct;
    }
    let client = cairn_client::http_client(2);
    let op = |name: &str, body: Value| cairn_client::Signer::cloudtrail(&ep, name, Bytes::from(body.to_string()));
    let (bucket, prefix) = match &args.s3_bucket {
        Some(b) => (b.clone(), args.s3_prefix.clone()),
        None => {
            let described = call(&client, &ep, &op("DescribeTrails", json!({}))?).await?;
            let t = described["trailList"]
                .as_array()
                .and_then(|l| l.iter().find(|t| t["TrailARN"].as_str() == Some(arn.as_str())))
                .with_context(|| format!("A trail could not be found for {arn}"))?;
            if t["IsOrganizationTrail"].as_bool() == Some(true) {
                if args.account_id.is_none() {
                    bail!("Missing required parameter for organization trail: '--account-id'");
                }
                if trail.organization_id.is_none() {
                    bail!("an organization trail's files are under its organization's folder: pass --organization-id");
                }
            }
            (t["S3BucketName"].as_str().unwrap_or_default().to_string(), t["S3KeyPrefix"].as_str().map(str::to_string))
        }
    };
    let listed =
        call(&client, &ep, &op("ListPublicKeys", json!({ "StartTime": start, "EndTime": end + 7200 }))?).await?;
    let keys = keys_from_list(&listed)?;
    if keys.is_empty() {
        bail!(
            "No public keys found between {} and {}",
            check::format_display(start),
            check::format_display(end + 7200)
        );
    }
    let s3 =
        cairn_client::Endpoint { url: args.s3_endpoint_url.clone().unwrap_or_else(|| ep.url.clone()), ..ep.clone() };
    let src = Source::s3(s3, args.concurrency);
    let lister = Some(ep.clone());
    Ok(Prepared { src, keys, trail, bucket, prefix, start, end, concurrency: args.concurrency, lister })
}

/// Walks the standard and the backfill chains of the range.
async fn walk(p: &Prepared) -> Result<Vec<Item>> {
    let mut walk = Walk {
        src: &p.src,
        trail: &p.trail,
        keys: &p.keys,
        prefix: p.prefix.clone(),
        start: p.start,
        concurrency: p.concurrency,
        lister: p.lister.as_ref(),
        backfill_keys: PublicKeys::new(),
        fetched: HashMap::new(),
        signatures: HashMap::new(),
    };
    let (standard, backfill) = list_digests(&p.src, &p.trail, &p.bucket, p.prefix.as_deref(), p.start, p.end).await?;
    let all: Vec<String> = standard.iter().chain(&backfill).cloned().collect();
    walk.prefetch(&p.bucket, &all).await?;
    let mut items = walk.chain(&p.bucket, standard, false).await?;
    items.extend(walk.chain(&p.bucket, backfill, true).await?);
    Ok(items)
}

/// The log files of the valid digests, in the walk's order.
fn listed_logs(items: &[Item]) -> Vec<LogFileEntry> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Valid { doc, .. } => Some(doc.log_files.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

async fn validate(args: ValidateArgs) -> Result<i32> {
    let p = prepare(&args.scope).await?;
    let text = args.output == Format::Text;
    if text {
        print!(
            "Validating log files for trail {} between {} and {}\n\n",
            args.scope.trail_arn,
            check::format_display(p.start),
            check::format_display(p.end)
        );
    }
    let items = walk(&p).await?;
    // Every log file of every valid digest, fetched and checked in parallel; reported in the walk's order.
    let logs = listed_logs(&items);
    let progress = text && std::io::stderr().is_terminal();
    let checked = check_logs(&p.src, &logs, p.concurrency, progress, args.events).await?;
    let trees = match args.events {
        true => Some(events::check_trees(&p, &items, &logs, &checked).await?),
        false => None,
    };
    let statuses: Vec<LogStatus> = checked.iter().map(|c| c.0).collect();
    report(&args, &items, &logs, &statuses, trees.as_deref(), p.start, p.end)
}

/// A log file's check, and with `leaves` its events' Merkle leaf hashes (when valid).
pub(crate) type Checked = (LogStatus, Option<Vec<cairn_integrity::merkle::Hash>>);

/// Fetches and checks log files, `concurrency` at once, hashing off the I/O threads.
async fn check_logs(
    src: &Source,
    logs: &[LogFileEntry],
    concurrency: usize,
    progress: bool,
    leaves: bool,
) -> Result<Vec<Checked>> {
    let done = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let total = logs.len();
    let results: Vec<(usize, Result<Checked>)> = futures::stream::iter(logs.iter().enumerate())
        .map(|(i, l)| {
            let (done, bytes) = (Arc::clone(&done), Arc::clone(&bytes));
            async move {
                let status = match src.get(&l.s3_bucket, &l.s3_object).await {
                    Ok(Got::Missing) => Ok((LogStatus::NotFound, None)),
                    Ok(Got::Found(f)) => {
                        bytes.fetch_add(f.body.len() as u64, Ordering::Relaxed);
                        let expected = l.hash_value.clone();
                        tokio::task::spawn_blocking(move || {
                            let status = check::check_log(&f.body, &expected);
                            let leaves =
                                (leaves && status == LogStatus::Valid).then(|| check::leaves_of(&f.body)).flatten();
                            (status, leaves)
                        })
                        .await
                        .context("a hashing task failed")
                    }
                    Err(e) => Err(e),
                };
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if progress && (n % 16 == 0 || n as usize == total) {
                    let mb = bytes.load(Ordering::Relaxed) as f64 / 1e6;
                    eprint!("\r{n}/{total} log files checked ({mb:.1} MB)");
                }
                (i, status)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    if progress && total > 0 {
        eprint!("\r\x1b[2K");
    }
    let mut out = vec![(LogStatus::Valid, None); total];
    for (i, r) in results {
        out[i] = r?;
    }
    Ok(out)
}

/// Reports the log files a digest lists, with their checks.
#[allow(clippy::too_many_arguments)]
fn report_logs(
    p: &mut Printer,
    t: &mut Tally,
    logs_json: &mut Vec<Value>,
    doc: &Document,
    logs: &[LogFileEntry],
    statuses: &[LogStatus],
    next_log: &mut usize,
    text: bool,
) {
    for l in &doc.log_files {
        let status = statuses[*next_log];
        debug_assert_eq!(logs[*next_log].s3_object, l.s3_object);
        *next_log += 1;
        if status == LogStatus::Valid {
            t.valid_logs += 1;
        } else {
            t.invalid_logs += 1;
        }
        if text {
            let line = format!("Log file\ts3://{}/{}\t{}", l.s3_bucket, l.s3_object, status.words());
            p.status(&line, status != LogStatus::Valid);
        }
        logs_json.push(json!({
            "s3Bucket": l.s3_bucket, "s3Object": l.s3_object, "valid": status == LogStatus::Valid,
            "status": status.words(),
        }));
    }
}

fn report(
    args: &ValidateArgs,
    items: &[Item],
    logs: &[LogFileEntry],
    statuses: &[LogStatus],
    trees: Option<&[events::TreeCheck]>,
    start: i64,
    end: i64,
) -> Result<i32> {
    let text = args.output == Format::Text;
    let mut p = Printer { verbose: args.verbose, last_double: true };
    let mut t = Tally::default();
    let mut next_log = 0;
    let (mut digests_json, mut logs_json, mut gaps_json) = (Vec::new(), Vec::new(), Vec::new());
    let mut trees_json = Vec::new();
    let tree_of: HashMap<&str, &events::TreeCheck> =
        trees.unwrap_or_default().iter().map(|c| (c.digest.as_str(), c)).collect();
    for item in items {
        let tag = if item.backfill() { "(backfill) " } else { "" };
        match item {
            Item::Valid { bucket, key, doc, backfill, verified: false } => {
                t.unverified += 1;
                if text {
                    p.status(
                        &format!(
                            "{tag}Digest file\ts3://{bucket}/{key}\tUNVERIFIED: its signature was in object metadata, \
                             which a local copy does not keep"
                        ),
                        true,
                    );
                }
                digests_json.push(json!({
                    "s3Bucket": bucket, "s3Object": key, "backfill": backfill, "valid": null, "status": "UNVERIFIED",
                }));
                report_logs(&mut p, &mut t, &mut logs_json, doc, logs, statuses, &mut next_log, text);
            }
            Item::Valid { bucket, key, doc, backfill, verified: true } => {
                let ds = check::parse_time(&doc.digest_start_time).unwrap_or(start).max(start);
                let de = check::parse_time(&doc.digest_end_time).unwrap_or(end).min(end);
                t.found_start = Some(t.found_start.map_or(ds, |f| f.min(ds)));
                t.found_end = Some(t.found_end.map_or(de, |f| f.max(de)));
                t.digest(*backfill, true);
                if text {
                    p.status(&format!("{tag}Digest file\ts3://{bucket}/{key}\tvalid"), false);
                }
                digests_json.push(json!({"s3Bucket": bucket, "s3Object": key, "backfill": backfill, "valid": true}));
                report_logs(&mut p, &mut t, &mut logs_json, doc, logs, statuses, &mut next_log, text);
                if let Some(c) = tree_of.get(format!("s3://{bucket}/{key}").as_str()) {
                    let words = c.problem.as_deref().map_or("valid".to_string(), |why| format!("INVALID: {why}"));
                    if c.problem.is_none() {
                        t.valid_trees += 1;
                    } else {
                        t.invalid_trees += 1;
                    }
                    if text {
                        p.status(&format!("Event tree\t{}\t{words}", c.digest), c.problem.is_some());
                    }
                    trees_json.push(
                        json!({"digest": c.digest, "events": c.events, "valid": c.problem.is_none(), "status": words}),
                    );
                }
            }
            Item::Invalid { line, backfill } => {
                t.digest(*backfill, false);
                if text {
                    p.status(&format!("{tag}{line}"), true);
                }
                let mut cols = line.splitn(3, '\t');
                let (_, uri, why) = (cols.next(), cols.next().unwrap_or(""), cols.next().unwrap_or(""));
                digests_json.push(json!({"uri": uri, "backfill": backfill, "valid": false, "status": why}));
            }
            Item::Missing { bucket, key, backfill } => {
                t.digest(*backfill, false);
                if text {
                    p.status(&format!("{tag}Digest file\ts3://{bucket}/{key}\tINVALID: not found"), true);
                }
                digests_json.push(json!({
                    "s3Bucket": bucket, "s3Object": key, "backfill": backfill, "valid": false, "status": "INVALID: not found",
                }));
            }
            Item::Gap { next_end, last_start, .. } => {
                if text {
                    p.status(
                        &format!(
                            "{tag}No log files were delivered by CloudTrail between {} and {}",
                            check::format_display(*next_end),
                            check::format_display(*last_start)
                        ),
                        true,
                    );
                }
                gaps_json
                    .push(json!({"from": check::format_display(*next_end), "to": check::format_display(*last_start)}));
            }
        }
    }
    let invalid = t.invalid_digests + t.invalid_backfill + t.invalid_logs + t.invalid_trees;
    let code = i32::from(invalid > 0 || (t.unverified > 0 && !args.allow_unverified));
    if !text {
        let doc = json!({
            "trailArn": args.scope.trail_arn,
            "requestedStart": check::format_display(start),
            "requestedEnd": check::format_display(end),
            "foundStart": t.found_start.map(check::format_display),
            "foundEnd": t.found_end.map(check::format_display),
            "digestFiles": digests_json,
            "logFiles": logs_json,
            "gaps": gaps_json,
            "eventTrees": trees_json,
            "summary": {
                "validDigestFiles": t.valid_digests, "invalidDigestFiles": t.invalid_digests,
                "validBackfillDigestFiles": t.valid_backfill, "invalidBackfillDigestFiles": t.invalid_backfill,
                "validLogFiles": t.valid_logs, "invalidLogFiles": t.invalid_logs,
                "unverifiedDigestFiles": t.unverified,
                "validEventTrees": t.valid_trees, "invalidEventTrees": t.invalid_trees,
            },
            "valid": invalid == 0,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(code);
    }
    let mut out = String::new();
    if !p.last_double {
        out.push('\n');
    }
    out.push_str(&format!(
        "Results requested for {} to {}\n",
        check::format_display(start),
        check::format_display(end)
    ));
    let digests_seen = t.valid_digests + t.invalid_digests + t.valid_backfill + t.invalid_backfill + t.unverified;
    if digests_seen == 0 {
        out.push_str("No digests found\n");
        print!("{out}");
        return Ok(code);
    }
    match (t.found_start, t.found_end) {
        (Some(s), Some(e)) => {
            out.push_str(&format!("Results found for {} to {}:\n", check::format_display(s), check::format_display(e)))
        }
        _ => out.push_str("No valid digests found in range\n"),
    }
    let ratio = |valid: u64, invalid: u64, name: &str| {
        let total = valid + invalid;
        let mut s = String::new();
        if total > 0 {
            s.push_str(&format!("\n{valid}/{total} {name} files valid"));
            if invalid > 0 {
                s.push_str(&format!(", {invalid}/{total} {name} files INVALID"));
            }
        }
        s
    };
    out.push_str(&ratio(t.valid_digests, t.invalid_digests, "digest"));
    out.push_str(&ratio(t.valid_backfill, t.invalid_backfill, "backfill digest"));
    out.push_str(&ratio(t.valid_logs, t.invalid_logs, "log"));
    if trees.is_some() {
        let (valid, total) = (t.valid_trees, t.valid_trees + t.invalid_trees);
        out.push_str(&format!("\n{valid}/{total} event trees valid"));
        if t.invalid_trees > 0 {
            out.push_str(&format!(", {}/{total} event trees INVALID", t.invalid_trees));
        }
    }
    if t.unverified > 0 {
        out.push_str(&format!("\n{} digest files UNVERIFIED (offline: no signature)", t.unverified));
        if !args.allow_unverified {
            out.push_str("; pass --allow-unverified to accept them");
        }
    }
    out.push('\n');
    print!("{out}");
    std::io::stdout().flush()?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_keys_of_the_trail_only() {
        let t = Trail {
            account: "111111111111".into(),
            name: "t".into(),
            home_region: "us-east-1".into(),
            source_region: "eu-west-1".into(),
            organization_id: None,
        };
        let key = "p/AWSLogs/111111111111/CloudTrail-Digest/eu-west-1/2026/12/03/111111111111_CloudTrail-Digest_eu-west-1_t_us-east-1_20261203T120905Z.json.gz";
        assert!(t.is_digest(key, Some("p")));
        assert!(!t.is_digest(key, None));
        assert!(!t.is_digest(&key.replace("_t_", "_other_"), Some("p")));
        assert!(!t.is_digest(&key.replace("/2026/", "/x/"), Some("p")));
        let mut digests = vec![
            "a_20261203T100000Z.json.gz".to_string(),
            "a_20261203T110000Z.json.gz".to_string(),
            "a_20261203T120000Z.json.gz".to_string(),
        ];
        let (last, _) = pop_last(&mut digests, None).unwrap();
        assert_eq!(last, "a_20261203T120000Z.json.gz");
        assert_eq!(pop_last(&mut digests, Some("a_20261203T105959Z.json.gz")).unwrap().0, "a_20261203T100000Z.json.gz");
        assert!(digests.is_empty());
    }

    #[test]
    fn public_keys_from_the_cli_output() {
        let v =
            json!({"PublicKeyList": [{"Value": "MAoCAwEAAQIDAQAB", "Fingerprint": "ab", "ValidityStartTime": 1.0}]});
        let keys = keys_from_list(&v).unwrap();
        assert_eq!(keys["ab"], base64::engine::general_purpose::STANDARD.decode("MAoCAwEAAQIDAQAB").unwrap());
        assert!(keys_from_list(&json!({})).is_err());
        assert!(keys_from_list(&json!({"PublicKeyList": [{"Value": "!", "Fingerprint": "x"}]})).is_err());
    }
}
