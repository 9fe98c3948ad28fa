//! SSE-KMS log files end to end: a key with CloudTrail's policy, a bucket with the console's policy, a trail that
//! encrypts, readers who need both policies, and a disabled key that stops delivery visibly, never in plaintext.

use std::io::Read;
use std::time::{Duration, Instant};

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::ServerSideEncryption;

use crate::buckets::console_policy;
use crate::common::{code, send, Server, TempDir, MGMT, OUTSIDER};

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111111111111:trail/encrypted";

fn s3_code<T, E: ProvideErrorMetadata>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "success".into(),
        Err(e) => e.code().unwrap_or("no code").to_string(),
    }
}

/// Every key of the bucket under `AWSLogs/`.
async fn log_keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let page = s3.list_objects_v2().bucket(bucket).prefix("AWSLogs/").send().await.unwrap();
    page.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect()
}

async fn wait_for<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn trails_encrypt_log_files_with_sse_kms_and_readers_need_the_key() {
    let dir = TempDir::new();
    let mut server = Server::start_configured(&dir, "[delivery]\nwindow_seconds = 1\n");
    let kms = server.kms_client(MGMT, "us-east-1");
    let s3 = server.s3_client(MGMT, "us-east-1");
    let ct = server.client(MGMT, "us-east-1");
    s3.create_bucket().bucket("encrypted-logs").send().await.unwrap();
    s3.put_bucket_policy()
        .bucket("encrypted-logs")
        .policy(console_policy("encrypted-logs", TRAIL))
        .send()
        .await
        .unwrap();

    // Keys CloudTrail cannot use are refused at CreateTrail, each with CloudTrail's error.
    let plain_key = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let create =
        |key: &str| ct.create_trail().name("encrypted").s3_bucket_name("encrypted-logs").kms_key_id(key).send();
    assert_eq!(code(create(&plain_key).await), "InsufficientEncryptionPolicyException");
    assert_eq!(code(create("alias/no-such-key").await), "KmsKeyNotFoundException");
    let key = kms.create_key().description("CloudTrail logs").send().await.unwrap().key_metadata.unwrap();
    let (key_id, key_arn) = (key.key_id, key.arn.unwrap());
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Allow CloudTrail to encrypt logs", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceArn": TRAIL},
                           "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111111111111:trail/*"}}}
        ]
    });
    kms.put_key_policy().key_id(&key_id).policy(policy.to_string()).send().await.unwrap();
    kms.create_alias().alias_name("alias/cloudtrail").target_key_id(&key_id).send().await.unwrap();
    kms.disable_key().key_id(&key_id).send().await.unwrap();
    assert_eq!(code(create("alias/cloudtrail").await), "KmsKeyDisabledException");
    kms.enable_key().key_id(&key_id).send().await.unwrap();
    let trail = create("alias/cloudtrail").await.unwrap();
    assert_eq!(trail.kms_key_id(), Some(key_arn.as_str()), "the alias is resolved to its key, as AWS stores it");
    ct.start_logging().name("encrypted").send().await.unwrap();

    // Delivered files are SSE-KMS objects: the headers say so, the stored bytes are not the log.
    wait_for("an encrypted log file", || async { !log_keys(&s3, "encrypted-logs").await.is_empty() }).await;
    let file = log_keys(&s3, "encrypted-logs").await.remove(0);
    let head = s3.head_object().bucket("encrypted-logs").key(&file).send().await.unwrap();
    assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::AwsKms));
    assert_eq!(head.ssekms_key_id(), Some(key_arn.as_str()));
    let got = s3.get_object().bucket("encrypted-logs").key(&file).send().await.unwrap();
    assert_eq!(got.server_side_encryption(), Some(&ServerSideEncryption::AwsKms));
    let gz = got.body.collect().await.unwrap().into_bytes();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).unwrap();
    assert!(text.starts_with("{\"Records\":["), "decrypted for the owner: {text:.60}");
    let stored = walk(&dir.0.join("data/s3/objects/encrypted-logs"));
    assert!(!stored.is_empty());
    for f in stored {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut String::new()).is_err(),
            "{f:?} is plaintext"
        );
    }

    // A reader the bucket policy admits but the key policy does not gets AccessDenied; listing still works.
    let mut reader = policy_json(&console_policy("encrypted-logs", TRAIL));
    reader["Statement"].as_array_mut().unwrap().push(serde_json::json!({
        "Sid": "Auditor reads", "Effect": "Allow", "Principal": {"AWS": "333333333333"},
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": ["arn:aws:s3:::encrypted-logs", "arn:aws:s3:::encrypted-logs/*"]
    }));
    s3.put_bucket_policy().bucket("encrypted-logs").policy(reader.to_string()).send().await.unwrap();
    let auditor = server.s3_client(OUTSIDER, "us-east-1");
    assert!(!log_keys(&auditor, "encrypted-logs").await.is_empty());
    assert_eq!(s3_code(auditor.get_object().bucket("encrypted-logs").key(&file).send().await), "AccessDenied");
    auditor.head_object().bucket("encrypted-logs").key(&file).send().await.unwrap();
    // The key policy grants the auditor Decrypt through S3 only: then the file reads.
    let mut with_auditor = policy.clone();
    with_auditor["Statement"].as_array_mut().unwrap().push(serde_json::json!({
        "Sid": "Auditor decrypts through S3", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
        "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    }));
    kms.put_key_policy().key_id(&key_id).policy(with_auditor.to_string()).send().await.unwrap();
    auditor.get_object().bucket("encrypted-logs").key(&file).send().await.unwrap();

    // A disabled key stops delivery visibly; nothing is written meanwhile, and everything arrives once enabled.
    kms.disable_key().key_id(&key_id).send().await.unwrap();
    let before = log_keys(&s3, "encrypted-logs").await.len();
    ct.describe_trails().send().await.unwrap();
    wait_for("the delivery error", || async {
        let status = ct.get_trail_status().name("encrypted").send().await.unwrap();
        status.latest_delivery_error() == Some("KMS.DisabledException")
    })
    .await;
    assert_eq!(log_keys(&s3, "encrypted-logs").await.len(), before, "nothing is delivered unencrypted");
    kms.enable_key().key_id(&key_id).send().await.unwrap();
    wait_for("delivery to resume", || async { log_keys(&s3, "encrypted-logs").await.len() > before }).await;
    wait_for("the error to clear", || async {
        ct.get_trail_status().name("encrypted").send().await.unwrap().latest_delivery_error().is_none()
    })
    .await;

    // The KMS calls CloudTrail and S3 made inside cairn are recorded as AWS records them.
    server.kill();
    let events = crate::common::journal_events(&dir.0.join("data"));
    let kms_event = |name: &str, who: &str| {
        events.iter().find(|e| {
            e["eventSource"] == "kms.amazonaws.com"
                && e["eventName"] == name
                && e["userIdentity"]["invokedBy"] == who
                && e["errorCode"].is_null()
        })
    };
    let gdk = kms_event("GenerateDataKey", "cloudtrail.amazonaws.com").expect("CloudTrail's data keys are recorded");
    assert_eq!(gdk["userIdentity"]["type"], "AWSService");
    assert_eq!(gdk["requestParameters"]["encryptionContext"]["aws:cloudtrail:arn"], TRAIL);
    assert_eq!((gdk["readOnly"].as_bool(), gdk["recipientAccountId"].as_str()), (Some(true), Some("111111111111")));
    assert_eq!(gdk["resources"][0]["ARN"], key_arn.as_str());
    let refused = events.iter().any(|e| {
        e["eventName"] == "GenerateDataKey"
            && e["errorCode"] == "DisabledException"
            && e["userIdentity"]["type"] == "AWSService"
    });
    assert!(refused, "the refusals while the key was disabled are recorded too");
    let decrypt = events
        .iter()
        .find(|e| {
            e["eventName"] == "Decrypt" && e["userIdentity"]["accountId"] == "333333333333" && e["errorCode"].is_null()
        })
        .expect("S3's decryption for the auditor is recorded");
    assert_eq!(decrypt["userIdentity"]["invokedBy"], "s3.amazonaws.com");
    assert_eq!(decrypt["recipientAccountId"], "111111111111", "in the key owner's account");
}

fn policy_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default()
}

#[tokio::test]
async fn put_object_with_sse_kms_through_the_s3_api() {
    let dir = TempDir::new();
    let mut server = Server::start(&dir);
    let kms = server.kms_client(MGMT, "us-east-1");
    let s3 = server.s3_client(MGMT, "us-east-1");
    s3.create_bucket().bucket("sealed").send().await.unwrap();
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    let put = s3
        .put_object()
        .bucket("sealed")
        .key("secret.txt")
        .body(b"classified".to_vec().into())
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key.key_id)
        .send()
        .await
        .unwrap();
    assert_eq!(put.ssekms_key_id(), key.arn.as_deref());
    let got = s3.get_object().bucket("sealed").key("secret.txt").range("bytes=2-5").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"assi");
    let head = s3.head_object().bucket("sealed").key("secret.txt").send().await.unwrap();
    assert_eq!(head.content_length(), Some(10), "the plaintext's size");
    // A copy of an encrypted object is decrypted for the caller.
    s3.copy_object().bucket("sealed").key("copy.txt").copy_source("sealed/secret.txt").send().await.unwrap();
    let copy = s3.get_object().bucket("sealed").key("copy.txt").send().await.unwrap();
    assert!(copy.server_side_encryption().is_none());
    assert_eq!(copy.body.collect().await.unwrap().into_bytes().as_ref(), b"classified");
    // Bad keys are KMS's errors as S3 relays them, and write nothing.
    let bad = s3
        .put_object()
        .bucket("sealed")
        .key("other.txt")
        .body(b"x".to_vec().into())
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("alias/none")
        .send()
        .await;
    assert_eq!(s3_code(bad), "KMS.NotFoundException");
    assert_eq!(s3_code(s3.head_object().bucket("sealed").key("other.txt").send().await), "NotFound");
    // Multipart uploads are not encrypted by cairn: asking for SSE-KMS there is refused, never stored in plaintext.
    let multipart = s3
        .create_multipart_upload()
        .bucket("sealed")
        .key("big.bin")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key.key_id)
        .send()
        .await;
    assert_eq!(s3_code(multipart), "NotImplemented");
    // Even where the policies admit everyone, an unsigned request cannot read an SSE-KMS object (S3's rule).
    let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::sealed/*"}]}"#;
    s3.put_bucket_policy().bucket("sealed").policy(public).send().await.unwrap();
    let unsigned = http::Request::get("/sealed/secret.txt").header("host", &server.addr).body(Vec::new()).unwrap();
    assert_eq!(send(&server, &unsigned, None).status, 400, "InvalidArgument");
    let unsigned_plain = http::Request::get("/sealed/copy.txt").header("host", &server.addr).body(Vec::new()).unwrap();
    assert_eq!(send(&server, &unsigned_plain, None).status, 200, "the plain copy is public");
    kms.disable_key().key_id(&key.key_id).send().await.unwrap();
    let disabled = s3.get_object().bucket("sealed").key("secret.txt").send().await;
    assert_eq!(s3_code(disabled), "KMS.DisabledException");

    // The unsigned reads are recorded for the bucket's owner, as S3 records anonymous data events.
    server.kill();
    let events = crate::common::journal_events(&dir.0.join("data"));
    let anonymous: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["userIdentity"]["accountId"] == "anonymous").collect();
    assert_eq!(anonymous.len(), 2, "{anonymous:?}");
    for e in &anonymous {
        assert_eq!(
            e["userIdentity"],
            serde_json::json!({"type": "AWSAccount", "principalId": "", "accountId": "anonymous"})
        );
        assert_eq!(
            (e["eventName"].as_str(), e["recipientAccountId"].as_str()),
            (Some("GetObject"), Some("111111111111"))
        );
    }
    assert!(anonymous.iter().any(|e| e["errorCode"] == "InvalidArgument"));
}
