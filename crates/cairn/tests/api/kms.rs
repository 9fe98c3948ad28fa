//! cairn's KMS endpoint driven by the official `aws-sdk-kms`: keys, aliases, key policies, tags, the key states and
//! the cryptographic operations, with KMS's errors, against the real binary.

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, KeyState, Tag};

use crate::common::{Server, TempDir, MGMT, OUTSIDER};

fn code<T, E: ProvideErrorMetadata>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "success".into(),
        Err(e) => e.code().unwrap_or("no code").to_string(),
    }
}

fn message<T, E: ProvideErrorMetadata>(r: Result<T, E>) -> String {
    r.err().and_then(|e| e.message().map(str::to_string)).unwrap_or_default()
}

async fn new_key(kms: &aws_sdk_kms::Client, description: &str) -> (String, String) {
    let meta = kms.create_key().description(description).send().await.unwrap().key_metadata.unwrap();
    (meta.key_id, meta.arn.unwrap())
}

#[tokio::test]
async fn keys_aliases_and_their_lifecycle() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let kms = server.kms_client(MGMT, "us-east-1");
    let created = kms
        .create_key()
        .description("trail logs")
        .tags(Tag::builder().tag_key("team").tag_value("security").build().unwrap())
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let (id, arn) = (created.key_id.clone(), created.arn.clone().unwrap());
    assert_eq!(arn, format!("arn:aws:kms:us-east-1:111111111111:key/{id}"));
    assert_eq!(created.key_state, Some(KeyState::Enabled));
    assert_eq!(created.key_spec.as_ref().map(|s| s.as_str()), Some("SYMMETRIC_DEFAULT"));
    assert_eq!(created.aws_account_id.as_deref(), Some("111111111111"));
    assert!(created.enabled);

    kms.create_alias().alias_name("alias/trail-logs").target_key_id(&id).send().await.unwrap();
    assert_eq!(
        code(kms.create_alias().alias_name("alias/trail-logs").target_key_id(&id).send().await),
        "AlreadyExistsException"
    );
    assert_eq!(
        code(kms.create_alias().alias_name("alias/aws/s3").target_key_id(&id).send().await),
        "InvalidAliasNameException"
    );
    assert_eq!(
        code(kms.create_alias().alias_name("trail").target_key_id(&id).send().await),
        "InvalidAliasNameException"
    );
    // Every way of naming the key finds it.
    for name in [
        id.clone(),
        arn.clone(),
        "alias/trail-logs".into(),
        "arn:aws:kms:us-east-1:111111111111:alias/trail-logs".into(),
    ] {
        let d = kms.describe_key().key_id(&name).send().await.unwrap().key_metadata.unwrap();
        assert_eq!(d.key_id, id, "named as {name}");
        assert_eq!(d.description.as_deref(), Some("trail logs"));
    }
    assert_eq!(code(kms.describe_key().key_id("alias/nope").send().await), "NotFoundException");
    assert_eq!(
        code(kms.describe_key().key_id("1234abcd-12ab-34cd-56ef-1234567890ab").send().await),
        "NotFoundException"
    );
    // Keys are regional.
    let west = server.kms_client(MGMT, "eu-west-1");
    assert_eq!(code(west.describe_key().key_id(&id).send().await), "NotFoundException");
    assert!(west.list_keys().send().await.unwrap().keys().is_empty());

    let aliases = kms.list_aliases().key_id(&id).send().await.unwrap();
    let names: Vec<&str> = aliases.aliases().iter().filter_map(|a| a.alias_name()).collect();
    assert_eq!(names, ["alias/trail-logs"]);
    let (id2, _) = new_key(&kms, "second").await;
    kms.update_alias().alias_name("alias/trail-logs").target_key_id(&id2).send().await.unwrap();
    let d = kms.describe_key().key_id("alias/trail-logs").send().await.unwrap().key_metadata.unwrap();
    assert_eq!(d.key_id, id2);
    kms.delete_alias().alias_name("alias/trail-logs").send().await.unwrap();
    assert_eq!(code(kms.delete_alias().alias_name("alias/trail-logs").send().await), "NotFoundException");

    // ListKeys pages with Marker.
    new_key(&kms, "third").await;
    let first = kms.list_keys().limit(2).send().await.unwrap();
    assert!(first.truncated);
    let rest = kms.list_keys().limit(2).marker(first.next_marker.clone().unwrap()).send().await.unwrap();
    assert!(!rest.truncated);
    assert_eq!(first.keys().len() + rest.keys().len(), 3);
    assert_eq!(code(kms.list_keys().marker("garbage").send().await), "InvalidMarkerException");
    assert_eq!(code(kms.list_keys().limit(0).send().await), "ValidationException");

    // Disabled keys refuse cryptography; enabled again, they work.
    kms.disable_key().key_id(&id).send().await.unwrap();
    let plain = Blob::new(b"hello".to_vec());
    assert_eq!(code(kms.encrypt().key_id(&id).plaintext(plain.clone()).send().await), "DisabledException");
    kms.enable_key().key_id(&id).send().await.unwrap();
    kms.encrypt().key_id(&id).plaintext(plain.clone()).send().await.unwrap();

    // Scheduled deletion: 7 to 30 days; pending keys refuse cryptography; cancelling leaves the key disabled.
    assert_eq!(
        code(kms.schedule_key_deletion().key_id(&id).pending_window_in_days(5).send().await),
        "ValidationException"
    );
    let scheduled = kms.schedule_key_deletion().key_id(&id).pending_window_in_days(7).send().await.unwrap();
    assert_eq!(scheduled.key_state, Some(KeyState::PendingDeletion));
    assert_eq!(scheduled.pending_window_in_days, Some(7));
    let days = scheduled.deletion_date.unwrap().secs() - created.creation_date.unwrap().secs();
    assert!((7 * 86400 - 60..=7 * 86400 + 60).contains(&days), "deletion in {days} s");
    assert_eq!(code(kms.encrypt().key_id(&id).plaintext(plain.clone()).send().await), "KMSInvalidStateException");
    assert_eq!(code(kms.enable_key().key_id(&id).send().await), "KMSInvalidStateException");
    assert_eq!(code(kms.schedule_key_deletion().key_id(&id).send().await), "KMSInvalidStateException");
    let d = kms.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
    assert_eq!((d.key_state, d.pending_deletion_window_in_days), (Some(KeyState::PendingDeletion), Some(7)));
    kms.cancel_key_deletion().key_id(&id).send().await.unwrap();
    let d = kms.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
    assert_eq!(d.key_state, Some(KeyState::Disabled));
    assert!(d.deletion_date.is_none());
    assert_eq!(code(kms.cancel_key_deletion().key_id(&id).send().await), "KMSInvalidStateException");

    // Tags.
    kms.tag_resource()
        .key_id(&id)
        .tags(Tag::builder().tag_key("env").tag_value("prod").build().unwrap())
        .send()
        .await
        .unwrap();
    kms.untag_resource().key_id(&id).tag_keys("team").send().await.unwrap();
    let tags = kms.list_resource_tags().key_id(&id).send().await.unwrap();
    let tags: Vec<(&str, &str)> = tags.tags().iter().map(|t| (t.tag_key(), t.tag_value())).collect();
    assert_eq!(tags, [("env", "prod")]);
    let reserved = Tag::builder().tag_key("aws:x").tag_value("y").build().unwrap();
    assert_eq!(code(kms.tag_resource().key_id(&id).tags(reserved).send().await), "TagException");

    // Unsupported key kinds are refused, not faked.
    assert_eq!(
        code(kms.create_key().key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify).send().await),
        "UnsupportedOperationException"
    );
}

#[tokio::test]
async fn ciphertext_is_bound_to_its_key_and_encryption_context() {
    let dir = TempDir::new();
    let mut server = Server::start(&dir);
    let kms = server.kms_client(MGMT, "us-east-1");
    let (id, arn) = new_key(&kms, "a").await;
    let (other, other_arn) = new_key(&kms, "b").await;
    let secret = b"the audit log key".to_vec();
    let enc = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new(secret.clone()))
        .encryption_context("aws:cloudtrail:arn", "arn:aws:cloudtrail:us-east-1:111111111111:trail/t")
        .send()
        .await
        .unwrap();
    assert_eq!(enc.key_id.as_deref(), Some(arn.as_str()));
    let blob = enc.ciphertext_blob.unwrap();
    let dec = kms
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("aws:cloudtrail:arn", "arn:aws:cloudtrail:us-east-1:111111111111:trail/t")
        .send()
        .await
        .unwrap();
    assert_eq!(dec.plaintext.unwrap().into_inner(), secret);
    assert_eq!(dec.key_id.as_deref(), Some(arn.as_str()), "the blob names its key");
    assert_eq!(code(kms.decrypt().ciphertext_blob(blob.clone()).send().await), "InvalidCiphertextException");
    let wrong = kms.decrypt().ciphertext_blob(blob.clone()).encryption_context("aws:cloudtrail:arn", "other");
    assert_eq!(code(wrong.send().await), "InvalidCiphertextException");
    let mut bytes = blob.clone().into_inner();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert_eq!(code(kms.decrypt().ciphertext_blob(Blob::new(bytes)).send().await), "InvalidCiphertextException");
    assert_eq!(
        code(kms.decrypt().ciphertext_blob(Blob::new(b"not a ciphertext at all, no".repeat(3))).send().await),
        "InvalidCiphertextException"
    );
    let named_other = kms
        .decrypt()
        .ciphertext_blob(blob.clone())
        .key_id(&other)
        .encryption_context("aws:cloudtrail:arn", "arn:aws:cloudtrail:us-east-1:111111111111:trail/t");
    assert_eq!(code(named_other.send().await), "IncorrectKeyException");
    assert_eq!(code(kms.encrypt().key_id(&id).plaintext(Blob::new(vec![0; 4097])).send().await), "ValidationException");

    // Data keys: the blob decrypts to the plaintext handed out.
    let dk = kms.generate_data_key().key_id(&id).key_spec(DataKeySpec::Aes256).send().await.unwrap();
    let plain = dk.plaintext.unwrap().into_inner();
    assert_eq!(plain.len(), 32);
    let again = kms.decrypt().ciphertext_blob(dk.ciphertext_blob.clone().unwrap()).send().await.unwrap();
    assert_eq!(again.plaintext.unwrap().into_inner(), plain);
    let bare = kms.generate_data_key_without_plaintext().key_id(&id).number_of_bytes(64).send().await.unwrap();
    assert!(bare.ciphertext_blob.is_some());
    let both = kms.generate_data_key().key_id(&id).key_spec(DataKeySpec::Aes128).number_of_bytes(16);
    assert_eq!(code(both.send().await), "ValidationException");
    assert_eq!(code(kms.generate_data_key().key_id(&id).send().await), "ValidationException");

    // ReEncrypt moves a ciphertext to another key without showing the plaintext.
    let re = kms
        .re_encrypt()
        .ciphertext_blob(dk.ciphertext_blob.unwrap())
        .destination_key_id(&other_arn)
        .destination_encryption_context("purpose", "test")
        .send()
        .await
        .unwrap();
    assert_eq!((re.source_key_id.as_deref(), re.key_id.as_deref()), (Some(arn.as_str()), Some(other_arn.as_str())));
    let moved =
        kms.decrypt().ciphertext_blob(re.ciphertext_blob.unwrap()).encryption_context("purpose", "test").send().await;
    assert_eq!(moved.unwrap().plaintext.unwrap().into_inner(), plain);

    // A ciphertext is decrypted in its key's region only.
    let west = server.kms_client(MGMT, "eu-west-1");
    assert_eq!(code(west.decrypt().ciphertext_blob(blob.clone()).send().await), "InvalidCiphertextException");

    // Keys survive a crash; the master key file is readable by cairn's user alone.
    server.kill();
    let server = Server::start(&dir);
    let kms = server.kms_client(MGMT, "us-east-1");
    let dec = kms
        .decrypt()
        .ciphertext_blob(blob)
        .encryption_context("aws:cloudtrail:arn", "arn:aws:cloudtrail:us-east-1:111111111111:trail/t")
        .send()
        .await
        .unwrap();
    assert_eq!(dec.plaintext.unwrap().into_inner(), secret);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.0.join("data/kms/master.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn key_policies_decide_who_uses_a_key() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let kms = server.kms_client(MGMT, "us-east-1");
    let outsider = server.kms_client(OUTSIDER, "us-east-1");
    let (id, arn) = new_key(&kms, "shared").await;

    let got = kms.get_key_policy().key_id(&id).send().await.unwrap();
    let default: serde_json::Value = serde_json::from_str(got.policy.as_deref().unwrap()).unwrap();
    assert_eq!(default["Id"], "key-default-1");
    assert_eq!(default["Statement"][0]["Sid"], "Enable IAM User Permissions");
    assert_eq!(default["Statement"][0]["Principal"]["AWS"], "arn:aws:iam::111111111111:root");
    let names = kms.list_key_policies().key_id(&id).send().await.unwrap();
    assert_eq!(names.policy_names(), ["default"]);

    // Another account: nothing without the key policy, and never the owner's management calls.
    assert_eq!(code(outsider.describe_key().key_id(&arn).send().await), "AccessDeniedException");
    let plain = Blob::new(b"x".to_vec());
    let denied = outsider.encrypt().key_id(&arn).plaintext(plain.clone()).send().await;
    assert!(message(denied).contains("is not authorized to perform: kms:Encrypt"), "AWS's wording");
    assert_eq!(code(outsider.describe_key().key_id(&id).send().await), "NotFoundException", "bare ids are per account");
    let shared = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Partner encrypts", "Effect": "Allow", "Principal": {"AWS": "333333333333"},
             "Action": ["kms:Encrypt", "kms:DescribeKey"], "Resource": "*",
             "Condition": {"StringEquals": {"kms:EncryptionContext:partner": "acme"}}}
        ]
    })
    .to_string();
    kms.put_key_policy().key_id(&id).policy(&shared).send().await.unwrap();
    outsider
        .encrypt()
        .key_id(&arn)
        .plaintext(plain.clone())
        .encryption_context("partner", "acme")
        .send()
        .await
        .unwrap();
    let wrong_context = outsider.encrypt().key_id(&arn).plaintext(plain.clone()).encryption_context("partner", "x");
    assert_eq!(code(wrong_context.send().await), "AccessDeniedException");
    assert_eq!(code(outsider.disable_key().key_id(&arn).send().await), "NotFoundException");

    // Refused policies change nothing.
    let bad = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#;
    assert_eq!(code(kms.put_key_policy().key_id(&id).policy(bad).send().await), "MalformedPolicyDocumentException");
    assert_eq!(
        code(kms.put_key_policy().key_id(&id).policy("not json").send().await),
        "MalformedPolicyDocumentException"
    );
    let lockout = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/bob"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
    let refused = kms.put_key_policy().key_id(&id).policy(lockout).send().await;
    assert_eq!(message(refused), "The new key policy will not allow you to update the key policy in the future.");
    let huge = format!(
        r#"{{"Statement":[{{"Sid":"{}","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}]}}"#,
        "x".repeat(33 * 1024)
    );
    assert_eq!(code(kms.put_key_policy().key_id(&id).policy(huge).send().await), "LimitExceededException");
    let now = kms.get_key_policy().key_id(&id).send().await.unwrap().policy.unwrap();
    assert_eq!(now, shared, "the refused policies changed nothing");

    // A key created with a policy that locks its creator out is refused, unless the check is bypassed.
    assert_eq!(code(kms.create_key().policy(lockout).send().await), "MalformedPolicyDocumentException");
    let locked = kms.create_key().policy(lockout).bypass_policy_lockout_safety_check(true).send().await.unwrap();
    let locked = locked.key_metadata.unwrap().key_id;
    assert_eq!(code(kms.describe_key().key_id(&locked).send().await), "AccessDeniedException");

    // The partner's use of the key is recorded for the partner and for the key's owner, as KMS records it.
    let mut server = server;
    server.kill();
    let events = crate::common::journal_events(&dir.0.join("data"));
    let used: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| {
            e["eventName"] == "Encrypt" && e["userIdentity"]["accountId"] == "333333333333" && e["errorCode"].is_null()
        })
        .collect();
    let recipients: std::collections::BTreeSet<&str> =
        used.iter().filter_map(|e| e["recipientAccountId"].as_str()).collect();
    assert_eq!(recipients, ["111111111111", "333333333333"].into());
    assert!(used.iter().all(|e| e["sharedEventID"].is_string() && e["resources"][0]["accountId"] == "111111111111"));
    assert_eq!(used[0]["requestParameters"]["encryptionContext"], serde_json::json!({"partner": "acme"}));
}
