//! Self-audit: every authenticated call is recorded as a CloudTrail management event, with AWS's shape, durably
//! before its answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_sdk_cloudtrail::operation::RequestId;
use serde_json::Value;

use crate::common::*;

fn by_request_id(events: &[Value]) -> HashMap<String, Vec<&Value>> {
    let mut out: HashMap<String, Vec<&Value>> = HashMap::new();
    for e in events {
        out.entry(e["requestID"].as_str().unwrap().to_string()).or_default().push(e);
    }
    out
}

#[tokio::test]
async fn calls_become_events_with_aws_shape() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let created = server
        .client(MGMT, "us-east-1")
        .create_trail()
        .name("audited")
        .s3_bucket_name("trail-bucket")
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap();
    let failed = server.client(MEMBER, "eu-west-1").get_trail().name("missing-trail").send().await.unwrap_err();
    let failed_id = failed.as_service_error().and_then(|e| e.request_id()).unwrap().to_string();
    let described = server.client(MEMBER2, "us-east-1").describe_trails().send().await.unwrap();
    let created_id = created.request_id().unwrap().to_string();
    let described_id = described.request_id().unwrap().to_string();
    assert_eq!(server.terminate().code(), Some(0));

    let events = journal_events(&dir.0.join("data"));
    let index = by_request_id(&events);
    let create = index[&created_id][0];
    let raw = journal_payloads(&dir.0.join("data")).into_iter().find(|p| p.contains(&created_id)).unwrap();
    let order = [
        "eventVersion",
        "userIdentity",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "requestParameters",
        "responseElements",
        "requestID",
        "eventID",
        "readOnly",
        "eventType",
        "managementEvent",
        "recipientAccountId",
        "eventCategory",
    ];
    let positions: Vec<usize> = order.iter().map(|k| raw.find(&format!("\"{k}\":")).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "members not in AWS's order: {raw}");
    assert_eq!(create.as_object().unwrap().len(), order.len());
    assert_eq!(create["eventVersion"], "1.11");
    assert_eq!(create["eventSource"], "cloudtrail.amazonaws.com");
    assert_eq!(create["eventName"], "CreateTrail");
    assert_eq!(create["awsRegion"], "us-east-1");
    assert_eq!(create["sourceIPAddress"], "127.0.0.1");
    assert!(create["userAgent"].as_str().unwrap().contains("aws-sdk-rust"));
    assert_eq!(
        create["userIdentity"],
        serde_json::json!({
            "type": "Root", "principalId": "111111111111", "arn": "arn:aws:iam::111111111111:root",
            "accountId": "111111111111", "accessKeyId": MGMT.1,
        })
    );
    assert_eq!(
        create["requestParameters"],
        serde_json::json!({"name": "audited", "s3BucketName": "trail-bucket", "isMultiRegionTrail": true})
    );
    assert_eq!(create["responseElements"]["trailARN"], "arn:aws:cloudtrail:us-east-1:111111111111:trail/audited");
    assert_eq!(create["readOnly"], false);
    assert_eq!(create["eventType"], "AwsApiCall");
    assert_eq!(create["managementEvent"], true);
    assert_eq!(create["recipientAccountId"], "111111111111");
    assert_eq!(create["eventCategory"], "Management");
    let time = create["eventTime"].as_str().unwrap();
    assert!(time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T', "{time}");
    assert_eq!(create["eventID"].as_str().unwrap().len(), 36);

    let fail = index[&failed_id][0];
    assert_eq!(fail["errorCode"], "TrailNotFoundException");
    assert!(fail["errorMessage"].as_str().unwrap().contains("missing-trail"));
    assert_eq!(fail["responseElements"], Value::Null);
    assert_eq!(fail["readOnly"], true);
    assert_eq!(fail["awsRegion"], "eu-west-1");
    assert_eq!(fail["userIdentity"]["type"], "IAMUser");
    assert_eq!(fail["userIdentity"]["userName"], "alice");
    assert_eq!(fail["userIdentity"]["arn"], "arn:aws:iam::222222222222:user/alice");
    assert!(fail["userIdentity"]["principalId"].as_str().unwrap().starts_with("AIDA"));
    assert_eq!(fail["recipientAccountId"], "222222222222");

    let desc = index[&described_id][0];
    assert_eq!(desc["requestParameters"], Value::Null);
    assert_eq!(desc["responseElements"], Value::Null, "read-only calls do not record their responses");
    assert_eq!(desc["userIdentity"]["type"], "AssumedRole");
    assert_eq!(desc["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"], "auditor");
    assert_eq!(events.len(), 3, "exactly one event per call");
}

#[tokio::test]
async fn unauthenticated_calls_are_not_recorded_and_unknown_operations_neither() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    raw(&server, Some("CloudTrail_20131101.DescribeTrails"), b"{}", Signing::Unsigned);
    raw(&server, Some("CloudTrail_20131101.Bogus"), b"{}", Signing::as_(MGMT));
    let r = raw(&server, Some("CloudTrail_20131101.CreateTrail"), b"{\"Name\":", Signing::as_(MGMT));
    assert_eq!(r.error_type(), "SerializationException");
    let rid = r.header("x-amzn-requestid").unwrap().to_string();
    assert_eq!(server.terminate().code(), Some(0));
    let events = journal_events(&dir.0.join("data"));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["requestID"], rid.as_str());
    assert_eq!(events[0]["errorCode"], "SerializationException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_call() {
    let dir = TempDir::new();
    let mut server = Server::start(&dir);
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..8 {
        let ct = server.client(MGMT, "us-east-1");
        let stop = Arc::clone(&stop);
        let answered = Arc::clone(&answered);
        workers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let id = if i % 4 == 0 {
                    let name = format!("w{w}-trail-{i}");
                    ct.create_trail()
                        .name(name)
                        .s3_bucket_name("missing-bucket")
                        .send()
                        .await
                        .err()
                        .and_then(|e| e.as_service_error().and_then(|s| s.request_id()).map(str::to_string))
                } else {
                    ct.describe_trails().send().await.ok().and_then(|o| o.request_id().map(str::to_string))
                };
                if let Some(id) = id {
                    acked.push(id);
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
            acked
        }));
    }
    // Kill while calls are in flight, once the load is running (however loaded the machine is).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while answered.load(Ordering::Relaxed) < 100 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    server.kill();
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for w in workers {
        acked.extend(w.await.unwrap());
    }
    assert!(acked.len() > 50, "the load did not run: {} calls", acked.len());
    let events = journal_events(&dir.0.join("data"));
    let index = by_request_id(&events);
    for id in &acked {
        let n = index.get(id).map_or(0, Vec::len);
        assert_eq!(n, 1, "acknowledged call {id} is in the journal {n} times");
    }
    // The server comes back on the same data and keeps recording.
    let server = Server::start(&dir);
    server.client(MGMT, "us-east-1").describe_trails().send().await.unwrap();
    assert_eq!(server.terminate().code(), Some(0));
    assert_eq!(journal_events(&dir.0.join("data")).len(), events.len() + 1);
}

#[tokio::test]
async fn calls_too_large_to_record_whole_are_recorded_without_their_parameters() {
    let dir = TempDir::new();
    // Request bodies of up to 4 MiB: more than an event may hold (1 MB).
    let config = config(&dir.0.join("data")).replace("max_request_bytes = 65536", "max_request_bytes = 4194304");
    let config_path = dir.0.join("cairn.toml");
    std::fs::write(&config_path, config).unwrap();
    let server = Server::start_with(dir.0.clone(), &["--config", config_path.to_str().unwrap()]);
    let arns =
        |c: &str| -> Vec<String> { (0..300).map(|i| format!("arn:aws:s3:::bucket/{i}/{}", c.repeat(2000))).collect() };
    let call = |values: Vec<String>| {
        let body = serde_json::json!({"TrailName": "no-such-trail", "AdvancedEventSelectors": [{"FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "resources.ARN", "StartsWith": values}]}]});
        let r = raw(
            &server,
            Some("CloudTrail_20131101.PutEventSelectors"),
            body.to_string().as_bytes(),
            Signing::as_(MGMT),
        );
        assert_eq!(r.error_type(), "TrailNotFoundException");
        r.header("x-amzn-requestid").unwrap().to_string()
    };
    // About 600 KB: recorded whole (event history and trails take it without its parameters).
    let whole = call(arns("k"));
    // Two bytes a character: about 1.2 MB, recorded without its parameters.
    let over = call(arns("é"));
    assert_eq!(server.terminate().code(), Some(0));
    let events = journal_events(&dir.0.join("data"));
    let find = |rid: &str| events.iter().find(|e| e["requestID"] == rid).expect("the call is recorded").clone();
    assert!(find(&whole)["requestParameters"].to_string().len() > 600_000);
    let e = find(&over);
    assert_eq!(e["requestParameters"], Value::Null);
    assert_eq!(e["additionalEventData"]["omitted"], "requestParameters (the event would exceed 1 MB)");
    assert_eq!(e["errorCode"], "TrailNotFoundException");
}
