//! cairn's S3 endpoint driven by the official `aws-sdk-s3`: buckets, objects, listings, multipart uploads, bucket
//! policies and S3's errors, against the real binary.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CompletedMultipartUpload, CompletedPart, CreateBucketConfiguration, Delete,
    ObjectIdentifier,
};

use std::time::{Duration, Instant};

use aws_sdk_cloudtrail::operation::RequestId;

use crate::common::{Server, TempDir, MEMBER, MGMT, OUTSIDER};

/// The bucket policy AWS's console writes for a trail's new bucket (no prefix).
pub fn console_policy(bucket: &str, trail_arn: &str) -> String {
    let account = trail_arn.split(':').nth(4).unwrap();
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AWSCloudTrailAclCheck20150319", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:GetBucketAcl", "Resource": format!("arn:aws:s3:::{bucket}"),
             "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}},
            {"Sid": "AWSCloudTrailWrite20150319", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{bucket}/AWSLogs/{account}/*"),
             "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail_arn}}}
        ]
    })
    .to_string()
}

fn code<T, E: ProvideErrorMetadata>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "success".into(),
        Err(e) => e.code().unwrap_or("no code").to_string(),
    }
}

async fn body(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    s3.get_object().bucket(bucket).key(key).send().await.unwrap().body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test]
async fn buckets_belong_to_their_creator() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let mgmt = server.s3_client(MGMT, "us-east-1");
    let other = server.s3_client(OUTSIDER, "us-east-1");
    mgmt.create_bucket().bucket("audit-logs").send().await.unwrap();
    // A repeated create by the owner succeeds in us-east-1, as S3's legacy region answers; another account cannot.
    mgmt.create_bucket().bucket("audit-logs").send().await.unwrap();
    assert_eq!(code(other.create_bucket().bucket("audit-logs").send().await), "BucketAlreadyExists");
    let west = server.s3_client(MGMT, "eu-west-1");
    let cfg = CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::EuWest1).build();
    west.create_bucket().bucket("audit-west").create_bucket_configuration(cfg).send().await.unwrap();
    assert_eq!(
        code(
            west.create_bucket()
                .bucket("audit-west")
                .create_bucket_configuration(
                    CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::EuWest1).build()
                )
                .send()
                .await
        ),
        "BucketAlreadyOwnedByYou"
    );
    let loc = mgmt.get_bucket_location().bucket("audit-west").send().await.unwrap();
    assert_eq!(loc.location_constraint(), Some(&BucketLocationConstraint::EuWest1));
    let loc = mgmt.get_bucket_location().bucket("audit-logs").send().await.unwrap();
    assert!(loc.location_constraint().is_none_or(|c| c.as_str().is_empty()), "us-east-1 has no constraint");

    let listed = mgmt.list_buckets().send().await.unwrap();
    let names: Vec<&str> = listed.buckets().iter().filter_map(|b| b.name()).collect();
    assert!(
        names.contains(&"audit-logs") && names.contains(&"audit-west") && names.contains(&"trail-bucket"),
        "{names:?}"
    );
    let theirs = other.list_buckets().send().await.unwrap();
    assert!(
        theirs.buckets().iter().all(|b| !b.name().unwrap().starts_with("audit-")),
        "only one's own buckets are listed"
    );

    mgmt.head_bucket().bucket("audit-logs").send().await.unwrap();
    // HEAD answers carry no body: the status is the answer.
    let denied = other.head_bucket().bucket("audit-logs").send().await.unwrap_err();
    assert_eq!(denied.raw_response().map(|r| r.status().as_u16()), Some(403));
    let missing = mgmt.head_bucket().bucket("no-such-bucket-here").send().await.unwrap_err();
    assert_eq!(missing.raw_response().map(|r| r.status().as_u16()), Some(404));
    let acl = mgmt.get_bucket_acl().bucket("audit-logs").send().await.unwrap();
    assert_eq!(acl.grants().len(), 1);
    assert_eq!(acl.owner().and_then(|o| o.display_name()), Some(MGMT.0));

    mgmt.put_object().bucket("audit-logs").key("k").body(ByteStream::from_static(b"x")).send().await.unwrap();
    assert_eq!(code(mgmt.delete_bucket().bucket("audit-logs").send().await), "BucketNotEmpty");
    assert_eq!(code(other.delete_bucket().bucket("audit-logs").send().await), "AccessDenied");
    mgmt.delete_object().bucket("audit-logs").key("k").send().await.unwrap();
    mgmt.delete_bucket().bucket("audit-logs").send().await.unwrap();
    assert_eq!(code(mgmt.get_bucket_location().bucket("audit-logs").send().await), "NoSuchBucket");
    assert_eq!(code(mgmt.create_bucket().bucket("Bad_Name").send().await), "InvalidBucketName");
}

#[tokio::test]
async fn objects_round_trip_with_metadata_ranges_and_conditions() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let s3 = server.s3_client(MGMT, "us-east-1");
    let put = s3
        .put_object()
        .bucket("trail-bucket")
        .key("dir/hello.txt")
        .content_type("text/plain")
        .metadata("origin", "test")
        .body(ByteStream::from_static(b"hello, world"))
        .send()
        .await
        .unwrap();
    let etag = put.e_tag().unwrap().to_string();
    assert_eq!(etag, "\"e4d7f1b4ed2e42d15898f4b27b019da4\"");
    let got = s3.get_object().bucket("trail-bucket").key("dir/hello.txt").send().await.unwrap();
    assert_eq!(got.content_type(), Some("text/plain"));
    assert_eq!(got.metadata().and_then(|m| m.get("origin")).map(String::as_str), Some("test"));
    assert_eq!(got.e_tag(), Some(etag.as_str()));
    assert_eq!(&got.body.collect().await.unwrap().into_bytes()[..], b"hello, world");
    let part = s3.get_object().bucket("trail-bucket").key("dir/hello.txt").range("bytes=7-").send().await.unwrap();
    assert_eq!(part.content_range(), Some("bytes 7-11/12"));
    assert_eq!(&part.body.collect().await.unwrap().into_bytes()[..], b"world");
    assert_eq!(
        code(s3.get_object().bucket("trail-bucket").key("dir/hello.txt").range("bytes=50-60").send().await),
        "InvalidRange"
    );
    let unchanged = s3.get_object().bucket("trail-bucket").key("dir/hello.txt").if_none_match(&etag).send().await;
    assert!(unchanged.is_err(), "If-None-Match with the current ETag is answered 304");
    assert_eq!(
        code(s3.get_object().bucket("trail-bucket").key("dir/hello.txt").if_match("\"nope\"").send().await),
        "PreconditionFailed"
    );
    let head = s3.head_object().bucket("trail-bucket").key("dir/hello.txt").send().await.unwrap();
    assert_eq!(head.content_length(), Some(12));
    assert_eq!(code(s3.get_object().bucket("trail-bucket").key("missing").send().await), "NoSuchKey");
    assert_eq!(code(s3.get_object().bucket("no-such-bucket-here").key("k").send().await), "NoSuchBucket");

    // Copy, then delete one and many.
    s3.copy_object()
        .bucket("other-bucket")
        .key("copy.txt")
        .copy_source("trail-bucket/dir/hello.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(body(&s3, "other-bucket", "copy.txt").await, b"hello, world");
    s3.delete_object().bucket("other-bucket").key("copy.txt").send().await.unwrap();
    assert_eq!(code(s3.get_object().bucket("other-bucket").key("copy.txt").send().await), "NoSuchKey");
    for k in ["a", "b", "c"] {
        s3.put_object().bucket("other-bucket").key(k).body(ByteStream::from_static(b"1")).send().await.unwrap();
    }
    let ids: Vec<ObjectIdentifier> =
        ["a", "b", "zz"].iter().map(|k| ObjectIdentifier::builder().key(*k).build().unwrap()).collect();
    let deleted = s3
        .delete_objects()
        .bucket("other-bucket")
        .delete(Delete::builder().set_objects(Some(ids)).build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.deleted().len(), 3, "deleting a missing key succeeds, as S3 answers");
    let left = s3.list_objects_v2().bucket("other-bucket").send().await.unwrap();
    assert_eq!(left.contents().iter().filter_map(|o| o.key()).collect::<Vec<_>>(), ["c"]);
}

#[tokio::test]
async fn listings_page_and_roll_up_as_s3_does() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let s3 = server.s3_client(MGMT, "us-east-1");
    // In S3's order, by UTF-8 bytes: "CloudTrail-Digest" sorts before "CloudTrail/" ('-' < '/').
    let keys = [
        "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2026/12/03/d.json.gz",
        "AWSLogs/111111111111/CloudTrail/eu-west-1/2026/12/03/a.json.gz",
        "AWSLogs/111111111111/CloudTrail/us-east-1/2026/12/02/b.json.gz",
        "AWSLogs/111111111111/CloudTrail/us-east-1/2026/12/03/c.json.gz",
        "top.txt",
    ];
    for k in keys {
        s3.put_object().bucket("trail-bucket").key(k).body(ByteStream::from_static(b"{}")).send().await.unwrap();
    }
    let regions = s3
        .list_objects_v2()
        .bucket("trail-bucket")
        .prefix("AWSLogs/111111111111/CloudTrail/")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let prefixes: Vec<&str> = regions.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, ["AWSLogs/111111111111/CloudTrail/eu-west-1/", "AWSLogs/111111111111/CloudTrail/us-east-1/"]);
    assert_eq!(regions.key_count(), Some(2));
    // V2 pages of two with continuation tokens visit every key once, in order.
    let mut seen = Vec::new();
    let mut pages = s3.list_objects_v2().bucket("trail-bucket").max_keys(2).into_paginator().send();
    while let Some(page) = pages.next().await {
        seen.extend(page.unwrap().contents().iter().filter_map(|o| o.key().map(str::to_string)));
    }
    assert_eq!(seen, keys);
    // V1 with Marker, as `aws cloudtrail validate-logs` lists.
    let v1 = s3.list_objects().bucket("trail-bucket").marker(keys[1]).max_keys(2).send().await.unwrap();
    assert_eq!(v1.contents().iter().filter_map(|o| o.key()).collect::<Vec<_>>(), &keys[2..4]);
    assert_eq!(v1.is_truncated(), Some(true));
    let after = s3.list_objects_v2().bucket("trail-bucket").start_after(keys[3]).send().await.unwrap();
    assert_eq!(after.contents().iter().filter_map(|o| o.key()).collect::<Vec<_>>(), &keys[4..]);
    assert_eq!(
        code(s3.list_objects_v2().bucket("trail-bucket").continuation_token("not-a-token").send().await),
        "InvalidArgument"
    );
}

#[tokio::test]
async fn multipart_uploads_assemble_their_parts() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let s3 = server.s3_client(MGMT, "us-east-1");
    let up = s3.create_multipart_upload().bucket("trail-bucket").key("big.bin").send().await.unwrap();
    let id = up.upload_id().unwrap();
    let first = vec![1u8; 5 << 20];
    let p1 = s3
        .upload_part()
        .bucket("trail-bucket")
        .key("big.bin")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from(first.clone()))
        .send()
        .await
        .unwrap();
    let p2 = s3
        .upload_part()
        .bucket("trail-bucket")
        .key("big.bin")
        .upload_id(id)
        .part_number(2)
        .body(ByteStream::from_static(b"end"))
        .send()
        .await
        .unwrap();
    let parts = s3.list_parts().bucket("trail-bucket").key("big.bin").upload_id(id).send().await.unwrap();
    assert_eq!(parts.parts().len(), 2);
    let uploads = s3.list_multipart_uploads().bucket("trail-bucket").send().await.unwrap();
    assert_eq!(uploads.uploads().len(), 1);
    let done = CompletedMultipartUpload::builder()
        .parts(CompletedPart::builder().part_number(1).e_tag(p1.e_tag().unwrap()).build())
        .parts(CompletedPart::builder().part_number(2).e_tag(p2.e_tag().unwrap()).build())
        .build();
    let o = s3
        .complete_multipart_upload()
        .bucket("trail-bucket")
        .key("big.bin")
        .upload_id(id)
        .multipart_upload(done)
        .send()
        .await
        .unwrap();
    assert!(o.e_tag().unwrap().ends_with("-2\""), "{:?}", o.e_tag());
    let got = body(&s3, "trail-bucket", "big.bin").await;
    assert_eq!(got.len(), (5 << 20) + 3);
    assert_eq!(&got[5 << 20..], b"end");
    assert_eq!(code(s3.list_parts().bucket("trail-bucket").key("big.bin").upload_id(id).send().await), "NoSuchUpload");
    let aborted = s3.create_multipart_upload().bucket("trail-bucket").key("gone").send().await.unwrap();
    s3.abort_multipart_upload()
        .bucket("trail-bucket")
        .key("gone")
        .upload_id(aborted.upload_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(code(s3.get_object().bucket("trail-bucket").key("gone").send().await), "NoSuchKey");
}

#[tokio::test]
async fn bucket_policies_decide_what_other_accounts_may_do() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let owner = server.s3_client(MGMT, "us-east-1");
    let member = server.s3_client(MEMBER, "us-east-1");
    let outsider = server.s3_client(OUTSIDER, "us-east-1");
    owner.create_bucket().bucket("policy-demo").send().await.unwrap();
    owner.put_object().bucket("policy-demo").key("shared/a").body(ByteStream::from_static(b"a")).send().await.unwrap();
    owner.put_object().bucket("policy-demo").key("private/b").body(ByteStream::from_static(b"b")).send().await.unwrap();
    assert_eq!(code(owner.get_bucket_policy().bucket("policy-demo").send().await), "NoSuchBucketPolicy");
    assert_eq!(code(member.get_object().bucket("policy-demo").key("shared/a").send().await), "AccessDenied");

    for (bad, message) in [
        ("not json", "Policies must be valid JSON and the first byte must be '{'"),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other-bucket/*"}]}"#,
            "Policy has invalid resource",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::policy-demo"}]}"#,
            "Action does not apply to any resource(s) in statement",
        ),
    ] {
        let err = owner.put_bucket_policy().bucket("policy-demo").policy(bad).send().await.unwrap_err();
        assert_eq!((err.code(), err.message()), (Some("MalformedPolicy"), Some(message)), "{bad}");
    }
    assert_eq!(
        code(owner.get_bucket_policy().bucket("policy-demo").send().await),
        "NoSuchBucketPolicy",
        "a refused policy changes nothing"
    );

    // The organization's accounts may read `shared/`; nobody may delete anything.
    let policy = r#"{
      "Version": "2012-10-17",
      "Statement": [
        {"Sid": "OrgRead", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::policy-demo/shared/*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}},
        {"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::policy-demo/*"}
      ]
    }"#;
    owner.put_bucket_policy().bucket("policy-demo").policy(policy).send().await.unwrap();
    assert_eq!(owner.get_bucket_policy().bucket("policy-demo").send().await.unwrap().policy(), Some(policy));
    assert_eq!(body(&member, "policy-demo", "shared/a").await, b"a");
    assert_eq!(code(member.get_object().bucket("policy-demo").key("private/b").send().await), "AccessDenied");
    assert_eq!(code(outsider.get_object().bucket("policy-demo").key("shared/a").send().await), "AccessDenied");
    assert_eq!(
        code(
            member.put_object().bucket("policy-demo").key("shared/x").body(ByteStream::from_static(b"x")).send().await
        ),
        "AccessDenied"
    );
    assert_eq!(
        code(owner.delete_object().bucket("policy-demo").key("private/b").send().await),
        "AccessDenied",
        "an explicit Deny binds the owner too"
    );
    let status = owner.get_bucket_policy_status().bucket("policy-demo").send().await.unwrap();
    assert_eq!(status.policy_status().and_then(|s| s.is_public()), Some(false), "pinned to the organization");
    // The owner's root can always remove the policy, whatever it says.
    owner.delete_bucket_policy().bucket("policy-demo").send().await.unwrap();
    owner.delete_object().bucket("policy-demo").key("private/b").send().await.unwrap();
    assert_eq!(code(member.put_bucket_policy().bucket("policy-demo").policy(policy).send().await), "AccessDenied");
}

#[tokio::test]
async fn unsigned_and_badly_signed_requests_are_refused() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let wrong_secret = server.s3_client((MGMT.0, MGMT.1, "not-the-secret-000000000000000000000000"), "us-east-1");
    assert_eq!(code(wrong_secret.list_buckets().send().await), "SignatureDoesNotMatch");
    let unknown = server
        .s3_client(("111111111111", "AKIAUNKNOWN000000000", "whatever-secret-0000000000000000000000"), "us-east-1");
    assert_eq!(code(unknown.list_buckets().send().await), "InvalidAccessKeyId");
    // An anonymous GET of an object reaches the S3 endpoint, which refuses what no policy grants.
    let req = http::Request::builder()
        .method("GET")
        .uri(format!("http://{}/trail-bucket/anything", server.addr))
        .header("host", &server.addr)
        .body(Vec::new())
        .unwrap();
    let resp = crate::common::send(&server, &req, None);
    assert_eq!(resp.status, 403);
}

#[tokio::test]
async fn virtual_host_addressing_names_the_bucket_in_the_host() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let s3 = server.s3_client(MGMT, "us-east-1");
    s3.create_bucket().bucket("vhost-logs").send().await.unwrap();
    s3.put_object()
        .bucket("vhost-logs")
        .key("a/b.json")
        .body(ByteStream::from_static(b"{\"virtual\":true}"))
        .send()
        .await
        .unwrap();
    let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::vhost-logs","arn:aws:s3:::vhost-logs/*"]}]}"#;
    s3.put_bucket_policy().bucket("vhost-logs").policy(public).send().await.unwrap();
    let port = server.addr.rsplit(':').next().unwrap();
    let get = |host: String, path: &str| {
        let req = http::Request::get(path).header("host", host).body(Vec::new()).unwrap();
        crate::common::send(&server, &req, None)
    };
    // `<bucket>.localhost[:port]`: the bucket is the host's first labels; the path is the key.
    let object = get(format!("vhost-logs.localhost:{port}"), "/a/b.json");
    assert_eq!((object.status, object.body.clone()), (200, serde_json::json!({"virtual": true})));
    assert_eq!(get(format!("vhost-logs.localhost:{port}"), "/?list-type=2").status, 200);
    // An unsigned caller learns nothing about other buckets' existence.
    assert_eq!(get(format!("no-such-bucket.localhost:{port}"), "/a/b.json").status, 403);
    // Any other host is path-style, as before.
    assert_eq!(get(format!("localhost:{port}"), "/vhost-logs/a/b.json").status, 200);
    assert_eq!(get(server.addr.clone(), "/vhost-logs/a/b.json").status, 200);
}

#[tokio::test]
async fn bucket_directories_of_earlier_versions_become_buckets() {
    let dir = TempDir::new();
    let old = dir.0.join("data/buckets/trail-bucket/AWSLogs/111111111111/CloudTrail/us-east-1/2026/01/02");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("f.json.gz"), b"log file").unwrap();
    std::fs::create_dir_all(dir.0.join("data/buckets/legacy-bucket")).unwrap();
    let server = Server::start(&dir);
    let s3 = server.s3_client(MGMT, "us-east-1");
    let key = "AWSLogs/111111111111/CloudTrail/us-east-1/2026/01/02/f.json.gz";
    assert_eq!(body(&s3, "trail-bucket", key).await, b"log file");
    s3.head_bucket().bucket("legacy-bucket").send().await.unwrap();
    assert!(!dir.0.join("data/buckets").exists(), "the old directories are emptied into the store");
}

#[tokio::test]
async fn cloudtrail_delivers_only_where_the_bucket_policy_lets_it() {
    let dir = TempDir::new();
    let server = Server::start_configured(&dir, "[delivery]\nwindow_seconds = 1\n");
    let s3 = server.s3_client(MGMT, "us-east-1");
    let ct = server.client(MGMT, "us-east-1");
    let trail = "arn:aws:cloudtrail:us-east-1:111111111111:trail/watched";
    s3.create_bucket().bucket("policy-bucket").send().await.unwrap();
    let refused = ct.create_trail().name("watched").s3_bucket_name("policy-bucket").send().await.unwrap_err();
    assert_eq!(
        (refused.code(), refused.message()),
        (
            Some("InsufficientS3BucketPolicyException"),
            Some("Incorrect S3 bucket policy is detected for bucket: policy-bucket")
        )
    );
    // Another trail's policy is not this trail's.
    let others = console_policy("policy-bucket", "arn:aws:cloudtrail:us-east-1:111111111111:trail/other");
    s3.put_bucket_policy().bucket("policy-bucket").policy(others).send().await.unwrap();
    assert_eq!(
        code(ct.create_trail().name("watched").s3_bucket_name("policy-bucket").send().await),
        "InsufficientS3BucketPolicyException"
    );
    let policy = console_policy("policy-bucket", trail);
    s3.put_bucket_policy().bucket("policy-bucket").policy(&policy).send().await.unwrap();
    ct.create_trail().name("watched").s3_bucket_name("policy-bucket").send().await.unwrap();
    ct.start_logging().name("watched").send().await.unwrap();

    let mut expected = Vec::new();
    let call = || async { ct.list_trails().send().await.unwrap().request_id().unwrap().to_string() };
    expected.push(call().await);
    // The experiment of deleting a CloudTrail bucket's policy: the next delivery fails with AccessDenied.
    s3.delete_bucket_policy().bucket("policy-bucket").send().await.unwrap();
    expected.push(call().await);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let st = ct.get_trail_status().name("watched").send().await.unwrap();
        if st.latest_delivery_error() == Some("AccessDenied") {
            break;
        }
        assert!(Instant::now() < deadline, "GetTrailStatus never showed AccessDenied: {st:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    expected.push(call().await);
    // Put back: what was held back is delivered, once.
    s3.put_bucket_policy().bucket("policy-bucket").policy(&policy).send().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let delivered = loop {
        let mut ids = Vec::new();
        let listed = s3.list_objects_v2().bucket("policy-bucket").send().await.unwrap();
        for o in listed.contents() {
            let gz = body(&s3, "policy-bucket", o.key().unwrap()).await;
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            ids.extend(
                v["Records"].as_array().unwrap().iter().filter_map(|r| r["requestID"].as_str().map(str::to_string)),
            );
        }
        if expected.iter().all(|e| ids.contains(e)) {
            break ids;
        }
        assert!(Instant::now() < deadline, "not everything was delivered after the policy came back: {ids:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    for e in &expected {
        assert_eq!(delivered.iter().filter(|d| *d == e).count(), 1, "{e} delivered once");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let st = ct.get_trail_status().name("watched").send().await.unwrap();
        if st.latest_delivery_error().is_none() {
            break;
        }
        assert!(Instant::now() < deadline, "the delivery error stayed: {st:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn organization_members_read_their_own_logs_with_one_statement() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let owner = server.s3_client(MGMT, "us-east-1");
    owner.create_bucket().bucket("org-trail-logs").send().await.unwrap();
    let member_a = "222222222222"; // MEMBER
    let member_b = "444444444444"; // MEMBER2
    for account in [member_a, member_b] {
        let key = format!("AWSLogs/o-a1b2c3d4e5/{account}/CloudTrail/us-east-1/2026/12/03/{account}_log.json.gz");
        owner
            .put_object()
            .bucket("org-trail-logs")
            .key(key)
            .body(ByteStream::from(account.as_bytes().to_vec()))
            .send()
            .await
            .unwrap();
    }
    // One statement per action for every member, present and future: the account comes from the caller.
    let policy = r#"{
      "Version": "2012-10-17",
      "Statement": [
        {"Sid": "MembersReadTheirOwnLogs", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::org-trail-logs/AWSLogs/o-a1b2c3d4e5/${aws:PrincipalAccount}/*",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}},
        {"Sid": "MembersListTheirOwnFolder", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:ListBucket",
         "Resource": "arn:aws:s3:::org-trail-logs",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
                       "StringLike": {"s3:prefix": "AWSLogs/o-a1b2c3d4e5/${aws:PrincipalAccount}/*"}}}
      ]
    }"#;
    owner.put_bucket_policy().bucket("org-trail-logs").policy(policy).send().await.unwrap();
    let key =
        |account: &str| format!("AWSLogs/o-a1b2c3d4e5/{account}/CloudTrail/us-east-1/2026/12/03/{account}_log.json.gz");
    let a = server.s3_client(MEMBER, "us-east-1");
    let b = server.s3_client(crate::common::MEMBER2, "us-east-1");
    assert_eq!(body(&a, "org-trail-logs", &key(member_a)).await, member_a.as_bytes());
    assert_eq!(code(a.get_object().bucket("org-trail-logs").key(key(member_b)).send().await), "AccessDenied");
    assert_eq!(
        body(&b, "org-trail-logs", &key(member_b)).await,
        member_b.as_bytes(),
        "the same statement serves every member"
    );
    assert_eq!(code(b.get_object().bucket("org-trail-logs").key(key(member_a)).send().await), "AccessDenied");
    let listed = a
        .list_objects_v2()
        .bucket("org-trail-logs")
        .prefix(format!("AWSLogs/o-a1b2c3d4e5/{member_a}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 1);
    assert_eq!(
        code(
            a.list_objects_v2()
                .bucket("org-trail-logs")
                .prefix(format!("AWSLogs/o-a1b2c3d4e5/{member_b}/"))
                .send()
                .await
        ),
        "AccessDenied"
    );
    assert_eq!(code(a.list_objects_v2().bucket("org-trail-logs").send().await), "AccessDenied", "not the whole bucket");
    let outsider = server.s3_client(OUTSIDER, "us-east-1");
    assert_eq!(code(outsider.get_object().bucket("org-trail-logs").key(key(OUTSIDER.0)).send().await), "AccessDenied");
}
