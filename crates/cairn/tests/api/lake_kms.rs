//! Event data stores encrypted with cairn's KMS keys, against the real binary with `aws-sdk-cloudtrail` and
//! `aws-sdk-kms`: the key is checked as AWS checks it (unknown key, a key policy without CloudTrail), the store's
//! files and saved query answers hold nothing in clear, queries and GetQueryResults need the key (a disabled key is
//! `InsufficientEncryptionPolicyException`, and events that arrive meanwhile are not stored), the key's uses are
//! recorded as KMS events, a federated store's readers get the data key from KMS, and all of it survives a SIGKILL.

use std::time::{Duration, Instant};

use aws_sdk_cloudtrail::types::QueryStatus;
use base64::Engine;
use serde_json::json;

use crate::common::*;
use crate::lake::{finished, rows};
use crate::lookup::{ingest, producer_event};

const REGION: &str = "eu-west-1";
const CONFIG: &str = "[lake]\nflush_interval_seconds = 1\n";

fn contains(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every Parquet file of a store, once at least `at_least` of them are there.
async fn store_files(dir: &std::path::Path, at_least: usize) -> Vec<std::path::PathBuf> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let files = crate::lake::parquet_files(dir);
        if files.len() >= at_least {
            return files;
        }
        assert!(Instant::now() < deadline, "no files in {dir:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Events of encrypted stores the server dropped, from /metrics.
fn dropped(server: &Server) -> u64 {
    let text = crate::delivery::http_get(server, "/metrics");
    let line = text.lines().find(|l| l.starts_with("cairn_lake_events_dropped_total ")).expect("the metric is there");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

async fn ec2_count(ct: &aws_sdk_cloudtrail::Client, id: &str) -> String {
    let statement = format!(
        "SELECT count(*) FROM {id} WHERE eventsource = 'ec2.amazonaws.com' AND useridentity.username = 'deployer'"
    );
    rows(ct, &statement).await[0][0].1.clone()
}

#[tokio::test]
async fn an_encrypted_store_keeps_nothing_in_clear_and_needs_its_key() {
    let dir = TempDir::new();
    let mut server = Server::start_configured(&dir, CONFIG);
    let ct = server.client(MGMT, REGION);
    let kms = server.kms_client(MGMT, REGION);
    let account = MGMT.0;

    // A key whose policy does not let CloudTrail use it, and a key that does not exist.
    let plain = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let create = |key: String| ct.create_event_data_store().name("sealed").kms_key_id(key).send();
    assert_eq!(code(create(plain.clone()).await), "InsufficientEncryptionPolicyException");
    assert_eq!(code(create("alias/no-such-key".into()).await), "KmsKeyNotFoundException");
    assert_eq!(code(create("not a key".into()).await), "InvalidKmsKeyIdException");
    assert!(ct.list_event_data_stores().send().await.unwrap().event_data_stores().is_empty(), "nothing was created");

    // The policy AWS's documentation gives for event data stores.
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM user permissions", "Effect": "Allow",
         "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "The key created by CloudTrail to encrypt event data stores", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
         "Resource": "*"}]});
    kms.put_key_policy().key_id(&key.key_id).policy(policy.to_string()).send().await.unwrap();
    // A disabled key that CloudTrail could otherwise use.
    let off = kms.create_key().policy(policy.to_string()).send().await.unwrap().key_metadata.unwrap().key_id;
    kms.disable_key().key_id(&off).send().await.unwrap();
    assert_eq!(code(create(off).await), "KmsException");
    kms.create_alias().alias_name("alias/lake").target_key_id(&key.key_id).send().await.unwrap();
    let store = create("alias/lake".into()).await.unwrap();
    assert_eq!(store.kms_key_id(), Some("alias/lake"));
    let arn = store.event_data_store_arn().unwrap().to_string();
    let id = arn.rsplit('/').next().unwrap().to_string();
    let store_dir = dir.0.join("data").join("lake").join(&id);

    let events: Vec<_> =
        (0..20).map(|i| producer_event("RunInstances", REGION, "ec2.amazonaws.com", -i * 60)).collect();
    ingest(&server, events);
    let files = store_files(&store_dir, 1).await;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert_eq!(&bytes[bytes.len() - 4..], b"PARE", "{f:?} is encrypted");
        assert!(!contains(&bytes, "deployer") && !contains(&bytes, "RunInstances"), "{f:?} holds events in clear");
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while ec2_count(&ct, &id).await != "20" {
        assert!(Instant::now() < deadline, "the store's events are not all there");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let done = ct
        .start_query()
        .query_statement(format!(
            "SELECT eventname, useridentity.username FROM {id} WHERE eventsource = 'ec2.amazonaws.com' LIMIT 1"
        ))
        .send()
        .await
        .unwrap()
        .query_id
        .unwrap();
    assert_eq!(finished(&ct, &done).await, QueryStatus::Finished);

    // The key disabled: queries and their results are refused, and events that come meanwhile are not stored.
    kms.disable_key().key_id(&key.key_id).send().await.unwrap();
    let refused = ct.start_query().query_statement(format!("SELECT count(*) FROM {id}")).send().await;
    assert_eq!(code(refused), "InsufficientEncryptionPolicyException");
    assert_eq!(code(ct.get_query_results().query_id(&done).send().await), "InsufficientEncryptionPolicyException");
    ingest(&server, (0..5).map(|i| producer_event("RunInstances", REGION, "ec2.amazonaws.com", -i)).collect());
    // Dropped at the next flush, not written in clear; /metrics counts them.
    let deadline = Instant::now() + Duration::from_secs(15);
    while dropped(&server) < 5 {
        assert!(Instant::now() < deadline, "the events that came while the key was disabled were not dropped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    kms.enable_key().key_id(&key.key_id).send().await.unwrap();
    assert_eq!(ec2_count(&ct, &id).await, "20", "events that came while the key was disabled are not stored");
    let got = ct.get_query_results().query_id(&done).send().await.unwrap();
    assert_eq!(got.query_result_rows().len(), 1);

    // A federated store's readers get the data key from KMS, as the key policy allows them.
    let role = format!("arn:aws:iam::{account}:role/LakeFederation");
    ct.enable_federation().event_data_store(&id).federation_role_arn(&role).send().await.unwrap();
    let table: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store_dir.join("_table.json")).unwrap()).unwrap();
    let blob = base64::engine::general_purpose::STANDARD
        .decode(table["Encryption"]["FooterKeyCiphertextBlob"].as_str().unwrap())
        .unwrap();
    assert_eq!(table["Encryption"]["EncryptionContext"]["aws:cloudtrail:arn"], arn.as_str());
    let plain_key = kms
        .decrypt()
        .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob))
        .encryption_context("aws:cloudtrail:arn", &arn)
        .send()
        .await
        .unwrap()
        .plaintext
        .unwrap()
        .into_inner();
    let decryption = parquet::encryption::decrypt::FileDecryptionProperties::builder(plain_key).build().unwrap();
    let mut read = 0;
    for f in crate::lake::parquet_files(&store_dir) {
        let options = parquet::arrow::arrow_reader::ArrowReaderOptions::new()
            .with_file_decryption_properties(std::sync::Arc::clone(&decryption));
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new_with_options(
            std::fs::File::open(&f).unwrap(),
            options,
        )
        .unwrap()
        .build()
        .unwrap();
        read += reader.map(|b| b.unwrap().num_rows()).sum::<usize>();
    }
    assert!(read >= 20, "an outside reader with the key reads the files ({read} rows)");
    ct.disable_federation().event_data_store(&id).send().await.unwrap();

    // Across a SIGKILL: the finished query's answer was saved sealed; restarted with the key disabled, it stays
    // sealed until the key can be used again, and the store's data key is opened again then.
    kms.disable_key().key_id(&key.key_id).send().await.unwrap();
    server.kill();
    let saved = std::fs::read(dir.0.join("data").join("lake").join("queries").join(format!("{done}.json"))).unwrap();
    assert!(!contains(&saved, "deployer"), "a saved answer of an encrypted store is not in clear");
    let events = journal_events(&dir.0.join("data"));
    let decrypts: Vec<_> = events
        .iter()
        .filter(|e| {
            e["eventSource"] == "kms.amazonaws.com"
                && e["eventName"] == "Decrypt"
                && e["requestParameters"]["encryptionContext"]["aws:cloudtrail:arn"] == arn.as_str()
        })
        .collect();
    assert!(decrypts.iter().any(|e| e["userIdentity"]["invokedBy"] == "cloudtrail.amazonaws.com"
        && e["userIdentity"]["accessKeyId"] == MGMT.1
        && e["errorCode"].is_null()));
    assert!(decrypts.iter().any(|e| e["errorCode"] == "DisabledException"), "the refused use is recorded too");
    assert!(events.iter().any(|e| e["eventName"] == "GenerateDataKey"
        && e["userIdentity"]["invokedBy"] == "cloudtrail.amazonaws.com"
        && e["requestParameters"]["encryptionContext"]["aws:cloudtrail:arn"] == arn.as_str()));

    let server = Server::start_configured(&dir, CONFIG);
    let ct = server.client(MGMT, REGION);
    let kms = server.kms_client(MGMT, REGION);
    assert_eq!(code(ct.get_query_results().query_id(&done).send().await), "InsufficientEncryptionPolicyException");
    kms.enable_key().key_id(&key.key_id).send().await.unwrap();
    let got = ct.get_query_results().query_id(&done).send().await.unwrap();
    assert_eq!(got.query_status(), Some(&QueryStatus::Finished));
    assert_eq!(got.query_result_rows()[0][0].get("eventname").map(String::as_str), Some("RunInstances"));
    assert_eq!(ec2_count(&ct, &id).await, "20");
    let got = ct.get_query_results().query_id(&done).send().await.unwrap();
    assert_eq!(got.query_result_rows()[0][0].get("eventname").map(String::as_str), Some("RunInstances"));

    // A store's key can be added later, not changed.
    let other = ct.create_event_data_store().name("later").send().await.unwrap().event_data_store_arn.unwrap();
    let updated = ct.update_event_data_store().event_data_store(&other).kms_key_id("alias/lake").send().await.unwrap();
    assert_eq!(updated.kms_key_id(), Some("alias/lake"));
    let changed = ct.update_event_data_store().event_data_store(&other).kms_key_id(plain).send().await;
    assert_eq!(code(changed), "InvalidParameterException");
    // Its files from then on are encrypted (it takes the management events these calls make).
    let other_dir = dir.0.join("data").join("lake").join(other.rsplit('/').next().unwrap());
    for f in store_files(&other_dir, 1).await {
        let bytes = std::fs::read(&f).unwrap();
        assert_eq!(&bytes[bytes.len() - 4..], b"PARE", "{f:?} is encrypted");
    }
}

/// Trail log files a bucket keeps encrypted with SSE-KMS are imported as the caller reads them through S3: a key the
/// caller may use decrypts them, a disabled key leaves a failure for that file and the import goes on.
#[tokio::test]
async fn imports_read_sse_kms_objects_with_the_callers_key() {
    let dir = TempDir::new();
    let server = Server::start_configured(&dir, CONFIG);
    let ct = server.client(MGMT, REGION);
    let kms = server.kms_client(MGMT, "us-east-1");
    let s3 = server.s3_client(MGMT, "us-east-1");
    let store = ct.create_event_data_store().name("imported").send().await.unwrap();
    let arn = store.event_data_store_arn().unwrap().to_string();
    let id = arn.rsplit('/').next().unwrap().to_string();
    let usable = kms.create_key().send().await.unwrap().key_metadata.unwrap().arn.unwrap();
    let disabled = kms.create_key().send().await.unwrap().key_metadata.unwrap().arn.unwrap();
    s3.create_bucket().bucket("sealed-archive").send().await.unwrap();
    let day = "AWSLogs/111111111111/CloudTrail/eu-west-1/2026/01/05/111111111111_CloudTrail_eu-west-1_20260105T01";
    for (key, tag, n, kms_key) in [("00Z_a", "a", 12, &usable), ("10Z_b", "b", 5, &disabled)] {
        s3.put_object()
            .bucket("sealed-archive")
            .key(format!("{day}{key}.json.gz"))
            .body(crate::lake::log_file(tag, n).into())
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
            .ssekms_key_id(kms_key)
            .send()
            .await
            .unwrap();
    }
    kms.disable_key().key_id(&disabled).send().await.unwrap();
    let started = ct
        .start_import()
        .destinations(&arn)
        .import_source(crate::lake::s3_source("s3://sealed-archive/AWSLogs/", MGMT.0))
        .send()
        .await
        .unwrap();
    let import = started.import_id().unwrap().to_string();
    let done = crate::lake::import_done(&ct, &import).await;
    let stats = done.import_statistics().unwrap();
    assert_eq!((stats.events_completed(), stats.failed_entries()), (Some(12), Some(1)));
    let failures = ct.list_import_failures().import_id(&import).send().await.unwrap();
    let failure = &failures.failures()[0];
    assert!(failure.location().unwrap().ends_with("10Z_b.json.gz"));
    assert!(failure.error_message().unwrap().contains("DisabledException"), "{failure:?}");
    let count = format!("SELECT count(*) FROM {id} WHERE eventsource = 'ec2.amazonaws.com'");
    assert_eq!(rows(&ct, &count).await[0][0].1, "12");
}
