//! cairn's own S3 and KMS calls become CloudTrail events as AWS records them, and trails select them for real: KMS
//! read events excluded by event source or by read/write type, S3 data events by bucket.

use std::collections::HashSet;
use std::io::Read;
use std::time::{Duration, Instant};

use aws_sdk_cloudtrail::types::{DataResource, EventSelector, LookupAttribute, LookupAttributeKey, ReadWriteType};
use aws_sdk_kms::primitives::Blob;
use serde_json::Value;

use crate::buckets::console_policy;
use crate::common::{journal_events, Server, TempDir, MGMT, OUTSIDER};

/// Every record delivered under `prefix/` of `bucket`.
async fn delivered(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<Value> {
    let page = s3.list_objects_v2().bucket(bucket).prefix(format!("{prefix}/")).send().await.unwrap();
    let mut out = Vec::new();
    for o in page.contents() {
        let got = s3.get_object().bucket(bucket).key(o.key().unwrap()).send().await.unwrap();
        let gz = got.body.collect().await.unwrap().into_bytes();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).unwrap();
        let file: Value = serde_json::from_str(&text).unwrap();
        out.extend(file["Records"].as_array().unwrap().iter().cloned());
    }
    out
}

fn names(records: &[Value], source: &str) -> HashSet<String> {
    records
        .iter()
        .filter(|r| r["eventSource"] == source)
        .map(|r| r["eventName"].as_str().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> HashSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn s3_and_kms_calls_are_recorded_and_trails_select_them() {
    let dir = TempDir::new();
    let mut server = Server::start_configured(&dir, "[delivery]\nwindow_seconds = 1\n");
    let ct = server.client(MGMT, "us-east-1");
    let s3 = server.s3_client(MGMT, "us-east-1");
    let kms = server.kms_client(MGMT, "us-east-1");
    s3.create_bucket().bucket("audit").send().await.unwrap();
    let trail_arn = |name: &str| format!("arn:aws:cloudtrail:us-east-1:111111111111:trail/{name}");
    // One bucket policy admitting the three trails.
    let mut policy: Value = serde_json::from_str(&console_policy("audit", &trail_arn("no-kms"))).unwrap();
    for s in policy["Statement"].as_array_mut().unwrap() {
        if s["Action"] == "s3:PutObject" {
            s["Resource"] = "arn:aws:s3:::audit/*".into();
        }
        s["Condition"]["StringEquals"]["aws:SourceArn"] =
            serde_json::json!([trail_arn("no-kms"), trail_arn("writes"), trail_arn("data")]);
    }
    s3.put_bucket_policy().bucket("audit").policy(policy.to_string()).send().await.unwrap();
    for name in ["no-kms", "writes", "data"] {
        ct.create_trail().name(name).s3_bucket_name("audit").s3_key_prefix(name).send().await.unwrap();
    }
    let selector = |rw: ReadWriteType, exclude_kms: bool| {
        let mut b = EventSelector::builder().read_write_type(rw).include_management_events(true);
        if exclude_kms {
            b = b.exclude_management_event_sources("kms.amazonaws.com");
        }
        b.build()
    };
    ct.put_event_selectors()
        .trail_name("no-kms")
        .event_selectors(selector(ReadWriteType::All, true))
        .send()
        .await
        .unwrap();
    ct.put_event_selectors()
        .trail_name("writes")
        .event_selectors(selector(ReadWriteType::WriteOnly, false))
        .send()
        .await
        .unwrap();
    let data = EventSelector::builder()
        .read_write_type(ReadWriteType::All)
        .include_management_events(false)
        .data_resources(DataResource::builder().r#type("AWS::S3::Object").values("arn:aws:s3:::watched/").build())
        .build();
    ct.put_event_selectors().trail_name("data").event_selectors(data).send().await.unwrap();
    for name in ["no-kms", "writes", "data"] {
        ct.start_logging().name(name).send().await.unwrap();
    }

    // The calls.
    s3.create_bucket().bucket("watched").send().await.unwrap();
    s3.create_bucket().bucket("unwatched").send().await.unwrap();
    for b in ["watched", "unwatched"] {
        s3.put_object().bucket(b).key("report.csv").body(b"a,b\n1,2\n".to_vec().into()).send().await.unwrap();
        s3.get_object().bucket(b).key("report.csv").send().await.unwrap();
    }
    let missing = s3.get_object().bucket("watched").key("nope").send().await;
    assert!(missing.is_err());
    s3.list_objects_v2().bucket("watched").prefix("rep").send().await.unwrap();
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let blob = kms.encrypt().key_id(&key).plaintext(Blob::new(b"x".to_vec())).send().await.unwrap().ciphertext_blob;
    kms.decrypt().ciphertext_blob(blob.unwrap()).send().await.unwrap();
    kms.generate_data_key().key_id(&key).number_of_bytes(32).send().await.unwrap();
    kms.disable_key().key_id(&key).send().await.unwrap();
    kms.schedule_key_deletion().key_id(&key).pending_window_in_days(7).send().await.unwrap();
    // Another account reads a watched object it is allowed to: recorded for the owner and for the reader.
    let open = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "333333333333"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::watched/*"}]});
    s3.put_bucket_policy().bucket("watched").policy(open.to_string()).send().await.unwrap();
    server.s3_client(OUTSIDER, "us-east-1").get_object().bucket("watched").key("report.csv").send().await.unwrap();

    // What each trail delivers.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (no_kms, writes, data) = loop {
        let got = (
            delivered(&s3, "audit", "no-kms").await,
            delivered(&s3, "audit", "writes").await,
            delivered(&s3, "audit", "data").await,
        );
        let done = names(&got.0, "s3.amazonaws.com").contains("PutBucketPolicy")
            && names(&got.1, "kms.amazonaws.com").contains("ScheduleKeyDeletion")
            && got.2.iter().filter(|r| r["eventName"] == "GetObject").count() >= 3;
        if done {
            break got;
        }
        assert!(Instant::now() < deadline, "timed out waiting for delivery");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(names(&no_kms, "kms.amazonaws.com").is_empty(), "ExcludeManagementEventSources drops every KMS event");
    assert_eq!(names(&no_kms, "s3.amazonaws.com"), set(&["CreateBucket", "PutBucketPolicy"]), "management only");
    assert_eq!(
        names(&writes, "kms.amazonaws.com"),
        set(&["CreateKey", "DisableKey", "ScheduleKeyDeletion"]),
        "write-only management events keep DisableKey and ScheduleKeyDeletion, not Decrypt"
    );
    assert!(data.iter().all(|r| r["eventCategory"] == "Data"), "no management events");
    let objects: HashSet<&str> = data.iter().filter_map(|r| r["resources"][0]["ARN"].as_str()).collect();
    assert_eq!(objects, HashSet::from(["arn:aws:s3:::watched/report.csv", "arn:aws:s3:::watched/nope"]));
    assert_eq!(names(&data, "s3.amazonaws.com"), set(&["PutObject", "GetObject"]));
    // The trail's own deliveries are not API calls: none is recorded.
    let events = journal_events(&dir.0.join("data"));
    assert!(events.iter().all(|e| e["requestParameters"]["bucketName"] != "audit" || e["eventName"] != "PutObject"));

    // Shapes, as AWS records them.
    let get = events
        .iter()
        .find(|e| {
            e["eventName"] == "GetObject"
                && e["requestParameters"]["bucketName"] == "watched"
                && e["errorCode"].is_null()
        })
        .unwrap();
    assert_eq!(get["eventSource"], "s3.amazonaws.com");
    assert_eq!((get["managementEvent"].as_bool(), get["readOnly"].as_bool()), (Some(false), Some(true)));
    assert_eq!(get["requestParameters"]["key"], "report.csv");
    assert_eq!(get["additionalEventData"]["bytesTransferredOut"], 8.0);
    assert_eq!(get["additionalEventData"]["AuthenticationMethod"], "AuthHeader");
    assert_eq!(get["additionalEventData"]["SignatureVersion"], "SigV4");
    assert_eq!(
        get["resources"][1],
        serde_json::json!({"accountId": "111111111111", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::watched"})
    );
    assert_eq!(get["userIdentity"]["type"], "Root");
    assert_eq!(get["requestID"].as_str().unwrap().len(), 16);
    let put = events
        .iter()
        .find(|e| e["eventName"] == "PutObject" && e["requestParameters"]["bucketName"] == "watched")
        .unwrap();
    assert_eq!(put["additionalEventData"]["bytesTransferredIn"], 8.0);
    assert_eq!(put["readOnly"], false);
    let failed = events.iter().find(|e| e["requestParameters"]["key"] == "nope").unwrap();
    assert_eq!(failed["errorCode"], "NoSuchKey");
    let list = events.iter().find(|e| e["eventName"] == "ListObjects").unwrap();
    assert_eq!(
        (list["requestParameters"]["list-type"].as_str(), list["requestParameters"]["prefix"].as_str()),
        (Some("2"), Some("rep"))
    );
    let shared: Vec<&Value> = events
        .iter()
        .filter(|e| e["eventName"] == "GetObject" && e["userIdentity"]["accountId"] == "333333333333")
        .collect();
    let recipients: HashSet<&str> = shared.iter().map(|e| e["recipientAccountId"].as_str().unwrap()).collect();
    assert_eq!(recipients, HashSet::from(["111111111111", "333333333333"]));
    assert_eq!(shared[0]["sharedEventID"], shared[1]["sharedEventID"]);
    let decrypt = events.iter().find(|e| e["eventName"] == "Decrypt").unwrap();
    assert_eq!(
        (decrypt["eventSource"].as_str(), decrypt["readOnly"].as_bool()),
        (Some("kms.amazonaws.com"), Some(true))
    );
    assert!(decrypt["requestParameters"].get("ciphertextBlob").is_none(), "no ciphertext in events");
    assert_eq!(decrypt["resources"][0]["type"], "AWS::KMS::Key");
    let gdk = events.iter().find(|e| e["eventName"] == "GenerateDataKey").unwrap();
    assert!(!gdk.to_string().contains("\"plaintext\""), "no plaintext in events");

    // Event history holds management events only.
    let lookup = ct
        .lookup_events()
        .lookup_attributes(
            LookupAttribute::builder()
                .attribute_key(LookupAttributeKey::EventSource)
                .attribute_value("s3.amazonaws.com")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let history: HashSet<&str> = lookup.events().iter().filter_map(|e| e.event_name()).collect();
    assert!(history.contains("CreateBucket") && !history.contains("GetObject"), "{history:?}");
    server.kill();
}
