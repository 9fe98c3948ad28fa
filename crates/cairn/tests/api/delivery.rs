//! Trail delivery against the real binary: log files in AWS's layout on local buckets and on a real S3-compatible
//! server (Garage, started by `scripts/test`), selection by logging state, selectors, regions and organizations,
//! GetTrailStatus, and exactly-once delivery through a bucket outage and SIGKILL.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_cloudtrail::operation::RequestId;
use serde_json::{json, Value};

use crate::common::*;

/// A delivered log file: its key and its records exactly as stored.
#[derive(Debug, Clone)]
struct LogFile {
    key: String,
    records: Vec<String>,
}

/// The records of a log file; checks it is one gzip member holding `{"Records":[...]}`.
fn records_of(key: &str, gz: &[u8]) -> Vec<String> {
    let mut text = String::new();
    let mut decoder = flate2::read::GzDecoder::new(gz);
    decoder.read_to_string(&mut text).unwrap_or_else(|e| panic!("{key} is not gzip: {e}"));
    let mut rest = Vec::new();
    decoder.into_inner().read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{key} holds more than one gzip member");
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File<'a> {
        #[serde(borrow, rename = "Records")]
        records: Vec<&'a serde_json::value::RawValue>,
    }
    let file: File<'_> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{key}: {e}: {text}"));
    file.records.iter().map(|r| r.get().to_string()).collect()
}

/// Reads the bucket's log files (with the official S3 client) until `done` holds for them, for at most `timeout`.
async fn wait_for_files(s3: &S3Env, what: &str, timeout: Duration, done: impl Fn(&[LogFile]) -> bool) -> Vec<LogFile> {
    let deadline = Instant::now() + timeout;
    loop {
        let files = s3.files("").await;
        if done(&files) {
            return files;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Checks a log file key against AWS's layout and its records' account and region; returns its folder prefix.
fn check_layout(f: &LogFile, prefix: &str, org: Option<&str>) {
    let rest = f.key.strip_prefix(prefix).unwrap_or_else(|| panic!("{} is not under {prefix}", f.key));
    let parts: Vec<&str> = rest.split('/').collect();
    let parts = match org {
        Some(o) => {
            assert_eq!(parts[1], o, "{}", f.key);
            [&parts[..1], &parts[2..]].concat()
        }
        None => parts,
    };
    assert_eq!(parts.len(), 8, "{}", f.key);
    let (account, region, (y, m, d), name) = (parts[1], parts[3], (parts[4], parts[5], parts[6]), parts[7]);
    assert_eq!((parts[0], parts[2]), ("AWSLogs", "CloudTrail"), "{}", f.key);
    let stem = name.strip_suffix(".json.gz").unwrap_or_else(|| panic!("{name}"));
    let fields: Vec<&str> = stem.split('_').collect();
    assert_eq!(fields.len(), 5, "{name}");
    assert_eq!((fields[0], fields[1], fields[2]), (account, "CloudTrail", region), "{name}");
    let time = fields[3];
    assert_eq!(time.len(), 14, "{name}");
    assert_eq!(&time[..8], format!("{y}{m}{d}"), "{name}: the folder date is the delivery date");
    assert!(time.as_bytes()[8] == b'T' && time.ends_with('Z') && time[9..13].bytes().all(|b| b.is_ascii_digit()));
    assert!(fields[4].len() == 16 && fields[4].bytes().all(|b| b.is_ascii_alphanumeric()), "{name}");
    assert!(!f.records.is_empty(), "{name} is empty");
    for r in &f.records {
        let v: Value = serde_json::from_str(r).unwrap();
        assert_eq!(v["recipientAccountId"], account, "{name}");
        assert_eq!(v["awsRegion"], region, "{name}");
    }
}

fn event_ids(files: &[LogFile]) -> Vec<String> {
    files
        .iter()
        .flat_map(|f| &f.records)
        .map(|r| serde_json::from_str::<Value>(r).unwrap()["eventID"].as_str().unwrap().to_string())
        .collect()
}

fn request_ids(files: &[LogFile]) -> Vec<String> {
    files
        .iter()
        .flat_map(|f| &f.records)
        .filter_map(|r| serde_json::from_str::<Value>(r).unwrap()["requestID"].as_str().map(str::to_string))
        .collect()
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ingest(server: &Server, records: &[Value]) -> Vec<String> {
    let body = json!({ "Records": records }).to_string();
    let r = raw_to(server, "/v1/ingest", "cairn", &[], body.as_bytes(), Signing::as_(MGMT));
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body["failed"].as_array().is_none_or(|f| f.is_empty()), "{:?}", r.body);
    r.body["successful"].as_array().unwrap().iter().map(|s| s["eventID"].as_str().unwrap().to_string()).collect()
}

fn event(id: &str, account: &str, region: &str, source: &str, name: &str, read_only: bool) -> Value {
    json!({
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::{account}:user/alice"), "accountId": account},
        "eventTime": "2026-11-20T10:00:00Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "10.0.0.1",
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "eventCategory": "Management",
        "recipientAccountId": account,
        "eventID": id,
    })
}

fn s3_data_event(id: &str, object_arn: &str) -> Value {
    let mut e = event(id, MGMT.0, "us-east-1", "s3.amazonaws.com", "GetObject", true);
    e["managementEvent"] = json!(false);
    e["eventCategory"] = json!("Data");
    e["resources"] = json!([{"type": "AWS::S3::Object", "ARN": object_arn}]);
    e
}

const WINDOW: &str = "[delivery]\nwindow_seconds = 1\n";

#[tokio::test]
async fn delivers_what_was_logged_while_logging_in_aws_layout() {
    let dir = TempDir::new();
    let mut server = Server::start_configured(&dir, WINDOW);
    let east = server.client(MGMT, "us-east-1");
    let west = server.client(MGMT, "eu-west-1");
    let member = server.client(MEMBER, "us-east-1");
    east.create_trail()
        .name("deliver")
        .s3_bucket_name("trail-bucket")
        .s3_key_prefix("audit/logs")
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap();
    let status = east.get_trail_status().name("deliver").send().await.unwrap();
    assert!(status.latest_delivery_time().is_none() && status.latest_delivery_attempt_time().is_none());

    let mut expected = HashSet::new();
    let mut unexpected = HashSet::new();
    for _ in 0..2 {
        let r = east.describe_trails().send().await.unwrap();
        unexpected.insert(r.request_id().unwrap().to_string());
    }
    let r = east.start_logging().name("deliver").send().await.unwrap();
    expected.insert(r.request_id().unwrap().to_string());
    for _ in 0..3 {
        expected.insert(east.describe_trails().send().await.unwrap().request_id().unwrap().to_string());
        expected.insert(west.list_trails().send().await.unwrap().request_id().unwrap().to_string());
        // Another account's calls are not this trail's.
        unexpected.insert(member.describe_trails().send().await.unwrap().request_id().unwrap().to_string());
    }
    let r = east.stop_logging().name("deliver").send().await.unwrap();
    unexpected.insert(r.request_id().unwrap().to_string());
    for _ in 0..2 {
        unexpected.insert(west.list_trails().send().await.unwrap().request_id().unwrap().to_string());
    }

    // Read back through cairn's S3 endpoint, as the bucket owner.
    let s3 = S3Env::of_cairn(&server, MGMT, "trail-bucket");
    wait_for_files(&s3, "the logged calls to be delivered", Duration::from_secs(30), |files| {
        let got: HashSet<String> = request_ids(files).into_iter().collect();
        expected.is_subset(&got)
    })
    .await;
    // One more window: nothing else may arrive.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let files = s3.files("").await;
    let got = request_ids(&files);
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "no call is delivered twice");
    assert_eq!(unique.into_iter().cloned().collect::<HashSet<_>>(), expected);
    assert!(unexpected.iter().all(|u| !got.contains(u)));
    let regions: HashSet<&str> = files.iter().map(|f| f.key.split('/').nth(5).unwrap()).collect();
    assert_eq!(regions, HashSet::from(["us-east-1", "eu-west-1"]), "each region has its own folder");
    for f in &files {
        check_layout(f, "audit/logs/", None);
    }

    let status = east.get_trail_status().name("deliver").send().await.unwrap();
    assert!(status.latest_delivery_time().is_some());
    let attempt = status.latest_delivery_attempt_time().unwrap();
    assert!(attempt.len() == 20 && attempt.ends_with('Z'), "{attempt}");
    assert_eq!(status.latest_delivery_attempt_succeeded(), Some(attempt));
    assert_eq!(status.latest_delivery_error(), None);

    // Records are delivered byte for byte as the journal holds them.
    server.kill();
    let journal: HashSet<String> = journal_payloads(&dir.0.join("data")).into_iter().collect();
    for r in files.iter().flat_map(|f| &f.records) {
        assert!(journal.contains(r), "delivered record differs from the recorded one: {r}");
    }
}

#[tokio::test]
async fn selectors_regions_and_organizations_decide_what_is_delivered() {
    let dir = TempDir::new();
    let server = Server::start_configured(&dir, WINDOW);
    let ct = server.client(MGMT, "us-east-1");
    let create = |name: &'static str, multi: bool, org: bool| {
        ct.create_trail()
            .name(name)
            .s3_bucket_name("trail-bucket")
            .s3_key_prefix(name)
            .is_multi_region_trail(multi)
            .is_organization_trail(org)
            .send()
    };
    create("single", false, false).await.unwrap();
    create("multi", true, false).await.unwrap();
    create("org", true, true).await.unwrap();
    let selectors: Vec<aws_sdk_cloudtrail::types::AdvancedEventSelector> =
        serde_json::from_value::<Vec<Value>>(json!([
            {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}]},
            {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                                {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::data-bucket/"]}]}
        ]))
        .unwrap()
        .iter()
        .map(|s| {
            let mut b = aws_sdk_cloudtrail::types::AdvancedEventSelector::builder();
            for f in s["FieldSelectors"].as_array().unwrap() {
                let mut fb =
                    aws_sdk_cloudtrail::types::AdvancedFieldSelector::builder().field(f["Field"].as_str().unwrap());
                for (op, vals) in f.as_object().unwrap() {
                    for v in vals.as_array().into_iter().flatten() {
                        let v = v.as_str().unwrap();
                        fb = match op.as_str() {
                            "Equals" => fb.equals(v),
                            "NotEquals" => fb.not_equals(v),
                            "StartsWith" => fb.starts_with(v),
                            _ => fb,
                        };
                    }
                }
                b = b.field_selectors(fb.build().unwrap());
            }
            b.build().unwrap()
        })
        .collect();
    ct.put_event_selectors().trail_name("multi").set_advanced_event_selectors(Some(selectors)).send().await.unwrap();
    for t in ["single", "multi", "org"] {
        ct.start_logging().name(t).send().await.unwrap();
    }

    let (m, mem) = (MGMT.0, MEMBER.0);
    let batch1 = [
        event("test-ec2-west", m, "eu-west-1", "ec2.amazonaws.com", "RunInstances", false),
        event("test-iam-global", m, "us-east-1", "iam.amazonaws.com", "CreateUser", false),
        event("test-kms-read", m, "us-east-1", "kms.amazonaws.com", "Decrypt", true),
        s3_data_event("test-s3-data", "arn:aws:s3:::data-bucket/reports/q1.csv"),
        s3_data_event("test-s3-other", "arn:aws:s3:::other-bucket/x"),
        event("test-member-ec2", mem, "us-east-1", "ec2.amazonaws.com", "StopInstances", false),
        event("test-sts-regional", m, "eu-west-1", "sts.amazonaws.com", "AssumeRole", false),
    ];
    ingest(&server, &batch1);
    // Converting the single-region trail takes effect for events after it.
    ct.update_trail().name("single").is_multi_region_trail(true).send().await.unwrap();
    ingest(&server, &[event("test-ec2-west-after", m, "eu-west-1", "ec2.amazonaws.com", "RunInstances", false)]);
    ct.stop_logging().name("multi").send().await.unwrap();
    ingest(&server, &[event("test-after-stop", m, "us-east-1", "ec2.amazonaws.com", "RebootInstances", false)]);
    ct.delete_trail().name("org").send().await.unwrap();
    ingest(&server, &[event("test-after-delete", m, "us-east-1", "ec2.amazonaws.com", "RebootInstances", false)]);

    let expect: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
        (
            "single",
            vec!["test-iam-global", "test-kms-read", "test-ec2-west-after", "test-after-stop", "test-after-delete"],
        ),
        ("multi", vec!["test-ec2-west", "test-iam-global", "test-s3-data", "test-sts-regional", "test-ec2-west-after"]),
        (
            "org",
            vec![
                "test-ec2-west",
                "test-iam-global",
                "test-kms-read",
                "test-member-ec2",
                "test-sts-regional",
                "test-ec2-west-after",
                "test-after-stop",
            ],
        ),
    ]);
    let s3 = S3Env::of_cairn(&server, MGMT, "trail-bucket");
    let under = |files: &[LogFile], prefix: &str| -> Vec<LogFile> {
        files.iter().filter(|f| f.key.starts_with(&format!("{prefix}/"))).cloned().collect()
    };
    let delivered = |files: &[LogFile], trail: &str| -> Vec<String> {
        event_ids(&under(files, trail)).into_iter().filter(|id| id.starts_with("test-")).collect()
    };
    wait_for_files(&s3, "every trail's events", Duration::from_secs(30), |files| {
        expect.iter().all(|(t, ids)| delivered(files, t).len() >= ids.len())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let files = s3.files("").await;
    for (trail, ids) in &expect {
        let mut got = delivered(&files, trail);
        got.sort();
        let mut want: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "trail {trail}");
    }
    for f in under(&files, "org") {
        check_layout(&f, "org/", Some(ORG_ID));
        let account = f.key.split('/').nth(3).unwrap();
        assert!(account == m || account == mem, "{}", f.key);
    }
    for trail in ["single", "multi"] {
        for f in under(&files, trail) {
            check_layout(&f, &format!("{trail}/"), None);
        }
    }
    // The deleted trail's consumer finishes once it has delivered what it had selected: it leaves /metrics, and its
    // checkpoint and delivery state leave the data directory, so it pins no journal segment.
    let trail_consumers = |text: &str| -> BTreeSet<String> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| w.len() == "trail-".len() + 16 && w.starts_with("trail-"))
            .map(str::to_string)
            .collect()
    };
    wait_until("the deleted trail's consumer to finish", Duration::from_secs(10), || {
        trail_consumers(&http_get(&server, "/metrics")).len() == 2
    })
    .await;
    let files: Vec<String> = walk_all(&dir.0.join("data"))
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(trail_consumers(&files.join(" ")), trail_consumers(&http_get(&server, "/metrics")), "{files:?}");
    let metrics = http_get(&server, "/metrics");
    assert!(
        metrics.contains(
            "cairn_trail_delivered_files_total{trail=\"arn:aws:cloudtrail:us-east-1:111111111111:trail/single\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("cairn_consumer_lag_records{consumer=\"history\"}"), "{metrics}");
}

#[tokio::test]
async fn create_and_update_refuse_buckets_cairn_cannot_use() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, "us-east-1");
    assert_eq!(
        code(ct.create_trail().name("trail-a").s3_bucket_name("no-such-bucket").send().await),
        "S3BucketDoesNotExistException"
    );
    let kms = ct
        .create_trail()
        .name("trail-a")
        .s3_bucket_name("trail-bucket")
        .kms_key_id("arn:aws:kms:us-east-1:111111111111:key/12345678-1234-1234-1234-123456789012")
        .send()
        .await;
    assert_eq!(code(kms), "KmsKeyNotFoundException", "never plaintext where encryption was asked");
    ct.create_trail().name("trail-a").s3_bucket_name("trail-bucket").send().await.unwrap();
    assert_eq!(
        code(ct.update_trail().name("trail-a").s3_bucket_name("no-such-bucket").send().await),
        "S3BucketDoesNotExistException"
    );
    let t = ct.get_trail().name("trail-a").send().await.unwrap().trail.unwrap();
    assert_eq!(t.s3_bucket_name(), Some("trail-bucket"), "a refused update changes nothing");
    // The checks leave nothing behind in the bucket.
    let leftovers = S3Env::of_cairn(&server, MGMT, "trail-bucket").keys("").await;
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk_all(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_all(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub(crate) fn http_get(server: &Server, path: &str) -> String {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(&server.addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n", server.addr).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

/// The S3-compatible server the tests deliver to (Garage from `scripts/test`, or any other through these variables).
pub(crate) struct S3Env {
    pub endpoint: String,
    region: String,
    key: String,
    secret: String,
    pub bucket: String,
    /// The Garage CLI (with its config), to revoke and restore cairn's write permission.
    garage: Option<Vec<String>>,
}

pub(crate) fn s3_env() -> S3Env {
    let var = |n: &str| {
        std::env::var(n).unwrap_or_else(|_| {
            panic!(
                "{n} is not set: run the tests with `bash scripts/test`, which starts Garage, or set CAIRN_TEST_S3_*"
            )
        })
    };
    S3Env {
        endpoint: var("CAIRN_TEST_S3_ENDPOINT"),
        region: var("CAIRN_TEST_S3_REGION"),
        key: var("CAIRN_TEST_S3_ACCESS_KEY_ID"),
        secret: var("CAIRN_TEST_S3_SECRET_ACCESS_KEY"),
        bucket: var("CAIRN_TEST_S3_BUCKET"),
        garage: std::env::var("CAIRN_TEST_GARAGE").ok().map(|g| g.split_whitespace().map(str::to_string).collect()),
    }
}

impl S3Env {
    /// A bucket of cairn's own, read through cairn's S3 endpoint with `who`'s credentials.
    fn of_cairn(server: &Server, who: (&str, &str, &str), bucket: &str) -> S3Env {
        S3Env {
            endpoint: server.endpoint(),
            region: "us-east-1".into(),
            key: who.1.into(),
            secret: who.2.into(),
            bucket: bucket.into(),
            garage: None,
        }
    }

    /// Every key under `prefix`.
    async fn keys(&self, prefix: &str) -> Vec<String> {
        let s3 = self.client();
        let mut out = Vec::new();
        let mut pages = s3.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            out.extend(page.unwrap().contents().iter().filter_map(|o| o.key().map(str::to_string)));
        }
        out
    }

    pub(crate) fn config(&self) -> String {
        format!(
            "{WINDOW}[storage]\nkind = \"s3\"\nendpoint = \"{}\"\nregion = \"{}\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\nforce_path_style = true\n",
            self.endpoint, self.region, self.key, self.secret
        )
    }

    pub(crate) fn client(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(self.region.clone()))
            .credentials_provider(aws_credential_types::Credentials::new(&self.key, &self.secret, None, None, "t"))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    fn garage(&self, args: &[&str]) {
        let g = self.garage.as_ref().expect("CAIRN_TEST_GARAGE");
        let out = std::process::Command::new(&g[0]).args(&g[1..]).args(args).output().unwrap();
        assert!(out.status.success(), "garage {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Every log file under `prefix`, read back with the official S3 client.
    async fn files(&self, prefix: &str) -> Vec<LogFile> {
        let s3 = self.client();
        let mut out = Vec::new();
        let mut pages = s3.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            for o in page.unwrap().contents() {
                let key = o.key().unwrap().to_string();
                let body = s3.get_object().bucket(&self.bucket).key(&key).send().await.unwrap().body;
                let bytes = body.collect().await.unwrap().into_bytes();
                out.push(LogFile { records: records_of(&key, &bytes), key });
            }
        }
        out
    }
}

pub(crate) fn unique_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{name}-{nanos}")
}

#[tokio::test]
async fn s3_delivery_is_exactly_once_through_an_outage_and_sigkill() {
    let s3 = s3_env();
    let dir = TempDir::new();
    let mut server = Server::start_configured(&dir, &s3.config());
    let ct = server.client(MGMT, "us-east-1");
    assert_eq!(
        code(ct.create_trail().name("trail-a").s3_bucket_name("cairn-no-such-bucket").send().await),
        "S3BucketDoesNotExistException"
    );
    // Garage accepts SSE-KMS headers but stores plaintext; cairn asks the server and refuses the key.
    let kms = ct
        .create_trail()
        .name("trail-a")
        .s3_bucket_name(&s3.bucket)
        .kms_key_id("arn:aws:kms:us-east-1:111111111111:key/12345678-1234-1234-1234-123456789012")
        .send()
        .await;
    assert_eq!(code(kms), "KmsException");
    let prefix = unique_prefix("outage");
    ct.create_trail()
        .name("trail-a")
        .s3_bucket_name(&s3.bucket)
        .s3_key_prefix(&prefix)
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap();
    ct.start_logging().name("trail-a").send().await.unwrap();

    let regions = ["us-east-1", "eu-west-1", "ap-southeast-2"];
    let mut acked: Vec<String> = Vec::new();
    let mut n = 0;
    let mut produce = |server: &Server, acked: &mut Vec<String>, batches: usize| {
        for _ in 0..batches {
            let records: Vec<Value> = (0..20)
                .map(|_| {
                    n += 1;
                    let region = regions[n % regions.len()];
                    event(&format!("s3-{prefix}-{n}"), MGMT.0, region, "ec2.amazonaws.com", "RunInstances", false)
                })
                .collect();
            acked.extend(ingest(server, &records));
        }
    };
    produce(&server, &mut acked, 5);

    if s3.garage.is_some() {
        s3.garage(&["bucket", "deny", "--write", &s3.bucket, "--key", &s3.key]);
        produce(&server, &mut acked, 5);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let st = ct.get_trail_status().name("trail-a").send().await.unwrap();
            if st.latest_delivery_error() == Some("AccessDenied") {
                assert!(st.latest_delivery_attempt_time().is_some());
                break;
            }
            assert!(Instant::now() < deadline, "GetTrailStatus never showed AccessDenied: {st:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // While cairn cannot write, a trail cannot be pointed there.
        assert_eq!(
            code(ct.create_trail().name("trail-b").s3_bucket_name(&s3.bucket).send().await),
            "InsufficientS3BucketPolicyException"
        );
        produce(&server, &mut acked, 5);
        s3.garage(&["bucket", "allow", "--write", &s3.bucket, "--key", &s3.key]);
    } else {
        eprintln!(
            "CAIRN_TEST_GARAGE is not set: the S3 server is not Garage, so the outage (revoked write permission) is \
             not exercised; the SIGKILL part still runs"
        );
    }
    produce(&server, &mut acked, 5);
    // SIGKILL while files are being cut and written, then carry on.
    server.kill();
    let server = Server::start_configured(&dir, &s3.config());
    let ct = server.client(MGMT, "us-east-1");
    produce(&server, &mut acked, 5);

    let want: HashSet<String> = acked.iter().cloned().collect();
    assert_eq!(want.len(), acked.len());
    let deadline = Instant::now() + Duration::from_secs(90);
    let files = loop {
        let files = s3.files(&prefix).await;
        let got: HashSet<String> = event_ids(&files).into_iter().filter(|i| i.starts_with("s3-")).collect();
        if want.is_subset(&got) {
            break files;
        }
        assert!(Instant::now() < deadline, "{} of {} acknowledged events delivered", got.len(), want.len());
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let ids: Vec<String> = event_ids(&files).into_iter().filter(|i| i.starts_with("s3-")).collect();
    let mut seen = HashMap::new();
    for id in &ids {
        *seen.entry(id).or_insert(0) += 1;
    }
    let dups: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(dups.is_empty(), "delivered more than once: {dups:?}");
    assert_eq!(ids.len(), want.len());
    for f in &files {
        check_layout(f, &format!("{prefix}/"), None);
    }
    let st = ct.get_trail_status().name("trail-a").send().await.unwrap();
    assert_eq!(st.latest_delivery_error(), None, "{st:?}");
    assert!(st.latest_delivery_time().is_some());
}

#[tokio::test]
async fn cairn_trails_reads_an_aws_profile_and_shows_deliveries() {
    let dir = TempDir::new();
    let server = Server::start_configured(&dir, WINDOW);
    let west = server.client(MGMT, "eu-west-1");
    west.create_trail().name("shown").s3_bucket_name("trail-bucket").send().await.unwrap();
    west.start_logging().name("shown").send().await.unwrap();
    let s3 = S3Env::of_cairn(&server, MGMT, "trail-bucket");
    wait_for_files(&s3, "a delivery", Duration::from_secs(20), |files| !files.is_empty()).await;
    // Credentials, region and endpoint all come from a named profile, as the AWS CLI takes them.
    let credentials = dir.0.join("credentials");
    let config = dir.0.join("config");
    std::fs::write(
        &credentials,
        format!("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n[audit]\naws_access_key_id = {}\naws_secret_access_key = {}\n", MGMT.1, MGMT.2),
    )
    .unwrap();
    std::fs::write(&config, format!("[profile audit]\nregion = eu-west-1\nendpoint_url = {}\n", server.endpoint()))
        .unwrap();
    let trails = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
            .arg("trails")
            .args(args)
            .env_clear()
            .env("AWS_PROFILE", "audit")
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_CONFIG_FILE", &config)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let wait_status = Instant::now();
    let json: Value = loop {
        let v: Value = serde_json::from_str(&trails(&["--output", "json"])).unwrap();
        if v[0]["status"]["LatestDeliveryTime"].is_number() || wait_status.elapsed() > Duration::from_secs(10) {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(json.as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json[0]["trail"]["Name"], "shown");
    assert_eq!(json[0]["status"]["IsLogging"], true);
    assert!(json[0]["status"]["LatestDeliveryTime"].is_number(), "{json}");
    assert!(json[0]["lagRecords"].is_u64(), "lag comes from /metrics on loopback: {json}");
    let table = trails(&[]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("NAME") && lines[1].starts_with("shown"), "{table}");
    assert!(lines[1].contains("eu-west-1") && lines[1].contains("s3://trail-bucket"), "{table}");
    // A flag beats the profile: in us-east-1 the caller has no trail.
    assert_eq!(trails(&["--region", "us-east-1"]).lines().last(), Some("(0 trails)"));
}
