//! LookupEvents through the SDK: every call shows up, with AWS's event shape; attributes, time ranges, pagination
//! bound to its parameters, isolation, regions as recorded, and history rebuilt after a restart.

use std::time::{Duration, Instant, SystemTime};

use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{EventCategory, LookupAttribute, LookupAttributeKey};
use serde_json::json;

use crate::common::*;

fn attr(key: LookupAttributeKey, value: &str) -> LookupAttribute {
    LookupAttribute::builder().attribute_key(key).attribute_value(value).build().unwrap()
}

fn now_iso(offset_secs: i64) -> String {
    let t = DateTime::from_secs(
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64 + offset_secs,
    );
    t.fmt(aws_sdk_cloudtrail::primitives::DateTimeFormat::DateTime)
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .trim_end_matches('Z')
        .to_string()
        + "Z"
}

pub(crate) fn producer_event(name: &str, region: &str, source: &str, offset_secs: i64) -> serde_json::Value {
    json!({"eventTime": now_iso(offset_secs), "eventSource": source, "eventName": name, "awsRegion": region,
           "recipientAccountId": MGMT.0, "readOnly": false,
           "userIdentity": {"type": "IAMUser", "userName": "deployer", "accessKeyId": "AKIAPRODUCER"},
           "resources": [{"ARN": "arn:aws:ec2:eu-west-1:111111111111:instance/i-1", "accountId": MGMT.0, "type": "AWS::EC2::Instance"}]})
}

pub(crate) fn ingest(server: &Server, records: Vec<serde_json::Value>) {
    let r = raw_to(
        server,
        "/v1/ingest",
        "cairn",
        &[],
        json!({"Records": records}).to_string().as_bytes(),
        Signing::as_(MGMT),
    );
    assert!(r.body["failed"].as_array().unwrap().is_empty(), "{:?}", r.body);
}

/// Polls until `f` holds: history follows the journal within moments, not synchronously.
async fn eventually<F, Fut>(mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(1);
    while !f().await {
        assert!(Instant::now() < deadline, "not visible in event history within a second");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn every_call_shows_up_with_aws_shape() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, "us-east-1");
    ct.create_trail().name("looked-up").s3_bucket_name("trail-bucket").send().await.unwrap();
    let by_name = || ct.lookup_events().lookup_attributes(attr(LookupAttributeKey::EventName, "CreateTrail")).send();
    eventually(|| async { !by_name().await.unwrap().events().is_empty() }).await;
    let out = by_name().await.unwrap();
    let e = &out.events()[0];
    assert_eq!(e.event_name(), Some("CreateTrail"));
    assert_eq!(e.event_source(), Some("cloudtrail.amazonaws.com"));
    assert_eq!(e.read_only(), Some("false"));
    assert_eq!(e.username(), Some("root"));
    assert_eq!(e.access_key_id(), Some(MGMT.1));
    assert_eq!(e.resources()[0].resource_type(), Some("AWS::CloudTrail::Trail"));
    assert_eq!(e.resources()[0].resource_name(), Some("looked-up"));
    let age = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64
        - e.event_time().unwrap().secs();
    assert!((0..60).contains(&age));
    let full: serde_json::Value = serde_json::from_str(e.cloud_trail_event().unwrap()).unwrap();
    assert_eq!(full["eventID"], e.event_id().unwrap());
    assert_eq!(full["requestParameters"]["name"], "looked-up");
    assert_eq!(full["eventVersion"], "1.11");

    // Lookups are calls too, recorded as read-only events; by event id, exactly one event comes back.
    let one = ct
        .lookup_events()
        .lookup_attributes(attr(LookupAttributeKey::EventId, e.event_id().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(one.events().len(), 1);
    eventually(|| async {
        let r = ct.lookup_events().lookup_attributes(attr(LookupAttributeKey::ReadOnly, "true")).send().await.unwrap();
        r.events().iter().any(|e| e.event_name() == Some("LookupEvents"))
    })
    .await;
    // Other accounts and regions see none of it.
    let member = server.client(MEMBER, "us-east-1").lookup_events().send().await.unwrap();
    assert!(member.events().iter().all(|e| e.event_name() == Some("LookupEvents")), "member sees only its own calls");
    let west = server
        .client(MGMT, "eu-west-1")
        .lookup_events()
        .lookup_attributes(attr(LookupAttributeKey::EventName, "CreateTrail"))
        .send()
        .await
        .unwrap();
    assert!(west.events().is_empty());
}

#[tokio::test]
async fn producers_events_paginate_newest_first_and_stably() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let records: Vec<_> =
        (0..120).map(|i| producer_event(&format!("Op{i:03}"), "eu-west-1", "ec2.amazonaws.com", -600 + i)).collect();
    ingest(&server, records);
    let ct = server.client(MGMT, "eu-west-1");
    let source = || attr(LookupAttributeKey::EventSource, "ec2.amazonaws.com");
    eventually(|| async { ct.lookup_events().lookup_attributes(source()).send().await.unwrap().events().len() == 50 })
        .await;
    let first = ct.lookup_events().lookup_attributes(source()).send().await.unwrap();
    assert_eq!(first.events()[0].event_name(), Some("Op119"), "newest first");
    assert_eq!(first.events()[49].event_name(), Some("Op070"));
    // Newer events arriving between pages do not disturb the pages that follow.
    ingest(&server, vec![producer_event("Newest", "eu-west-1", "ec2.amazonaws.com", 0)]);
    let second =
        ct.lookup_events().lookup_attributes(source()).next_token(first.next_token().unwrap()).send().await.unwrap();
    assert_eq!(second.events()[0].event_name(), Some("Op069"));
    let third =
        ct.lookup_events().lookup_attributes(source()).next_token(second.next_token().unwrap()).send().await.unwrap();
    assert_eq!(third.events().len(), 20);
    assert!(third.next_token().is_none());
    // The SDK's paginator walks every page.
    let all = ct
        .lookup_events()
        .lookup_attributes(source())
        .max_results(7)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(all.len(), 121);
    let by_resource = ct
        .lookup_events()
        .lookup_attributes(attr(LookupAttributeKey::ResourceName, "arn:aws:ec2:eu-west-1:111111111111:instance/i-1"))
        .max_results(5)
        .send()
        .await
        .unwrap();
    assert_eq!(by_resource.events().len(), 5);
    assert_eq!(by_resource.events()[0].resources()[0].resource_type(), Some("AWS::EC2::Instance"));
    // A token is bound to the parameters it came with.
    let other = ct
        .lookup_events()
        .lookup_attributes(attr(LookupAttributeKey::Username, "deployer"))
        .next_token(first.next_token().unwrap())
        .send()
        .await;
    assert_eq!(code(other), "InvalidNextTokenException");
    // Time ranges are inclusive and narrow the pages.
    let t = *first.events()[10].event_time().unwrap();
    let exact = ct.lookup_events().lookup_attributes(source()).start_time(t).end_time(t).send().await.unwrap();
    assert_eq!(exact.events().len(), 1);
    assert_eq!(exact.events()[0].event_name(), Some("Op109"));
}

#[tokio::test]
async fn events_are_in_the_region_aws_recorded_them_and_history_survives_restart() {
    let dir = TempDir::new();
    let names = |ct: &aws_sdk_cloudtrail::Client, name: &'static str| {
        ct.lookup_events().lookup_attributes(attr(LookupAttributeKey::EventName, name)).send()
    };
    {
        let server = Server::start(&dir);
        // AWS records IAM in us-east-1, and an STS call to a regional endpoint in the region that served it.
        ingest(
            &server,
            vec![
                producer_event("CreateUser", "us-east-1", "iam.amazonaws.com", -5),
                producer_event("AssumeRole", "eu-west-1", "sts.amazonaws.com", -4),
            ],
        );
        let east = server.client(MGMT, "us-east-1");
        let west = server.client(MGMT, "eu-west-1");
        eventually(|| async { names(&east, "CreateUser").await.unwrap().events().len() == 1 }).await;
        eventually(|| async { names(&west, "AssumeRole").await.unwrap().events().len() == 1 }).await;
        assert!(names(&west, "CreateUser").await.unwrap().events().is_empty());
        assert!(names(&east, "AssumeRole").await.unwrap().events().is_empty(), "regional STS stays in its region");
        assert_eq!(server.terminate().code(), Some(0));
    }
    let server = Server::start(&dir);
    let east = server.client(MGMT, "us-east-1");
    let west = server.client(MGMT, "eu-west-1");
    eventually(|| async { names(&east, "CreateUser").await.unwrap().events().len() == 1 }).await;
    eventually(|| async { names(&west, "AssumeRole").await.unwrap().events().len() == 1 }).await;
}

#[tokio::test]
async fn lookup_errors() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, "us-east-1");
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    let cases = vec![
        (
            "InvalidLookupAttributesException",
            ct.lookup_events()
                .lookup_attributes(attr(LookupAttributeKey::EventName, "a"))
                .lookup_attributes(attr(LookupAttributeKey::Username, "b")),
        ),
        (
            "InvalidLookupAttributesException",
            ct.lookup_events().lookup_attributes(attr(LookupAttributeKey::from("Color"), "red")),
        ),
        (
            "InvalidLookupAttributesException",
            ct.lookup_events().lookup_attributes(attr(LookupAttributeKey::EventName, &"_".repeat(1001))),
        ),
        ("InvalidMaxResultsException", ct.lookup_events().max_results(0)),
        ("InvalidMaxResultsException", ct.lookup_events().max_results(51)),
        (
            "InvalidTimeRangeException",
            ct.lookup_events().start_time(DateTime::from_secs(now)).end_time(DateTime::from_secs(now - 60)),
        ),
        ("InvalidTimeRangeException", ct.lookup_events().end_time(DateTime::from_secs(now - 91 * 86_400))),
        ("InvalidEventCategoryException", ct.lookup_events().event_category(EventCategory::from("management"))),
        ("InvalidNextTokenException", ct.lookup_events().next_token("forged")),
    ];
    for (want, call) in cases {
        assert_eq!(code(call.send().await), want);
    }
    let insights = ct.lookup_events().event_category(EventCategory::Insight).send().await.unwrap();
    assert!(insights.events().is_empty(), "no Insights events exist yet");
    ct.lookup_events().lookup_attributes(attr(LookupAttributeKey::EventName, &"a".repeat(2000))).send().await.unwrap();
}

#[tokio::test]
async fn cairn_lookup_prints_a_table_and_json() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, "us-east-1");
    ct.create_trail().name("cli-trail").s3_bucket_name("trail-bucket").send().await.unwrap();
    let by_name = || ct.lookup_events().lookup_attributes(attr(LookupAttributeKey::EventName, "CreateTrail")).send();
    eventually(|| async { !by_name().await.unwrap().events().is_empty() }).await;
    let lookup = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args([
                "lookup",
                "--endpoint",
                &server.endpoint(),
                "--access-key-id",
                MGMT.1,
                "--secret-access-key",
                MGMT.2,
            ])
            .args(args)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (ok, table, err) = lookup(&["--event-name", "CreateTrail"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("EVENT TIME") && lines.len() == 2, "{table}");
    assert!(
        lines[1].contains("CreateTrail")
            && lines[1].contains("root")
            && lines[1].contains("AWS::CloudTrail::Trail cli-trail")
    );
    let (ok, json, _) =
        lookup(&["--output", "json", "--event-source", "cloudtrail.amazonaws.com", "--max-events", "3"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["Events"].as_array().unwrap().len(), 3, "{json}");
    let (ok, _, err) = lookup(&["--event-name", "A", "--username", "B"]);
    assert!(!ok && err.contains("cannot be used with"), "{err}");
    let (ok, _, err) = lookup(&["--start-time", "2026-02-02", "--end-time", "2026-01-01"]);
    assert!(!ok && err.contains("InvalidTimeRangeException"), "{err}");
}

#[tokio::test]
async fn lookups_read_their_writes_even_right_after_a_restart() {
    let dir = TempDir::new();
    {
        let server = Server::start(&dir);
        let records: Vec<_> = (0..5000)
            .map(|i| producer_event(&format!("Bulk{i}"), "eu-west-1", "ec2.amazonaws.com", -3000 + i / 2))
            .collect();
        ingest(&server, records);
        assert_eq!(server.terminate().code(), Some(0));
    }
    let server = Server::start(&dir);
    let ct = server.client(MGMT, "eu-west-1");
    // No polling: the first lookup after start waits for history to replay what the journal holds.
    let all = ct
        .lookup_events()
        .lookup_attributes(attr(LookupAttributeKey::EventSource, "ec2.amazonaws.com"))
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(all.len(), 5000);
    // And a call is visible to the very next lookup.
    ct.create_trail().name("instant").s3_bucket_name("trail-bucket").send().await.unwrap();
    let seen =
        ct.lookup_events().lookup_attributes(attr(LookupAttributeKey::ResourceName, "instant")).send().await.unwrap();
    assert_eq!(seen.events().len(), 1);
}

/// Parquet files and index files under the data directory's history.
fn history_files(data: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(data.join("history")).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
            out.push(f.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

/// Waits (at most 20 s) until history has written at least `n` Parquet files.
pub(crate) async fn wait_for_parquet_files(data: &std::path::Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while history_files(data).iter().filter(|f| f.ends_with(".parquet")).count() < n {
        assert!(Instant::now() < deadline, "history was not flushed: {:?}", history_files(data));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn history_moves_to_parquet_files_and_survives_sigkill() {
    let dir = TempDir::new();
    let data = dir.0.join("data");
    let start = || Server::start_configured(&dir, "[history]\nflush_interval_seconds = 1\n");
    let mut server = start();
    // Yesterday's and today's events, so the flush writes two dates.
    let records: Vec<_> = (0..3000)
        .map(|i| producer_event(&format!("Old{i}"), "eu-west-1", "ec2.amazonaws.com", -86_400 - 3000 + i))
        .chain((0..3000).map(|i| producer_event(&format!("New{i}"), "eu-west-1", "ec2.amazonaws.com", -3000 + i)))
        .collect();
    ingest(&server, records);
    wait_for_parquet_files(&data, 2).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let ckpt = data.join("journal/checkpoints/history.ckpt");
    while !ckpt.exists() || std::fs::read(&ckpt).unwrap()[8..16] == [0; 8] {
        assert!(Instant::now() < deadline, "the history checkpoint was not saved");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all = |ct: aws_sdk_cloudtrail::Client| async move {
        ct.lookup_events()
            .lookup_attributes(attr(LookupAttributeKey::EventSource, "ec2.amazonaws.com"))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event_name().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let expected: Vec<String> =
        (0..3000).rev().map(|i| format!("New{i}")).chain((0..3000).rev().map(|i| format!("Old{i}"))).collect();
    assert_eq!(all(server.client(MGMT, "eu-west-1")).await, expected, "files answer newest first across dates");
    // By attribute, from a file: one event by name, its full record intact.
    let one = server
        .client(MGMT, "eu-west-1")
        .lookup_events()
        .lookup_attributes(attr(LookupAttributeKey::EventName, "Old1234"))
        .send()
        .await
        .unwrap();
    assert_eq!(one.events().len(), 1);
    let full: serde_json::Value = serde_json::from_str(one.events()[0].cloud_trail_event().unwrap()).unwrap();
    assert_eq!(full["userIdentity"]["userName"], "deployer");

    // Events after the flush live in the tail; a SIGKILL loses neither.
    ingest(&server, vec![producer_event("AfterFlush", "eu-west-1", "ec2.amazonaws.com", 0)]);
    server.kill();
    let server = start();
    let mut expected = expected;
    expected.insert(0, "AfterFlush".into());
    assert_eq!(all(server.client(MGMT, "eu-west-1")).await, expected, "nothing lost or doubled after SIGKILL");
}
