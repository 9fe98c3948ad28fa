//! The trail control plane through the SDK: every member, every rule, every error, and state left untouched.

use crate::common::*;
use aws_sdk_cloudtrail::types::Tag;

const REGION: &str = "us-east-1";

#[tokio::test]
async fn create_with_every_member_then_get_describe_update_delete() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, REGION);
    server.logs_client(MGMT, REGION).create_log_group().log_group_name("audit").send().await.unwrap();
    server.trail_topic(MGMT, REGION, "delivery-topic").await;
    let out = ct
        .create_trail()
        .name("full-trail")
        .s3_bucket_name("trail-bucket")
        .s3_key_prefix("audit/logs")
        .sns_topic_name("delivery-topic")
        .include_global_service_events(true)
        .is_multi_region_trail(true)
        .enable_log_file_validation(true)
        .cloud_watch_logs_log_group_arn("arn:aws:logs:us-east-1:111111111111:log-group:audit:*")
        .cloud_watch_logs_role_arn("arn:aws:iam::111111111111:role/CloudTrail_CloudWatchLogs_Role")
        .tags_list(Tag::builder().key("env").value("prod").build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.trail_arn(), Some("arn:aws:cloudtrail:us-east-1:111111111111:trail/full-trail"));
    assert_eq!(out.s3_key_prefix(), Some("audit/logs"));
    assert_eq!(out.sns_topic_arn(), Some("arn:aws:sns:us-east-1:111111111111:delivery-topic"));
    // Local buckets cannot encrypt, so KmsKeyId is refused there (delivery.rs); its forms are checked in unit tests.
    assert_eq!(out.kms_key_id(), None);
    assert_eq!(out.log_file_validation_enabled(), Some(true));
    assert_eq!(out.is_multi_region_trail(), Some(true));
    assert_eq!(out.is_organization_trail(), Some(false));

    let t = ct.get_trail().name("full-trail").send().await.unwrap().trail.unwrap();
    assert_eq!(t.home_region(), Some(REGION));
    assert_eq!(t.has_custom_event_selectors(), Some(false));
    assert_eq!(t.has_insight_selectors(), Some(false));
    assert_eq!(t.cloud_watch_logs_role_arn(), Some("arn:aws:iam::111111111111:role/CloudTrail_CloudWatchLogs_Role"));

    let by_arn = ct.get_trail().name(out.trail_arn().unwrap()).send().await.unwrap().trail.unwrap();
    assert_eq!(by_arn.name(), Some("full-trail"));

    let up = ct
        .update_trail()
        .name("full-trail")
        .s3_bucket_name("other-bucket")
        .s3_key_prefix("")
        .kms_key_id("")
        .enable_log_file_validation(false)
        .send()
        .await
        .unwrap();
    assert_eq!(up.s3_bucket_name(), Some("other-bucket"));
    assert_eq!(up.s3_key_prefix(), None);
    assert_eq!(up.kms_key_id(), None);
    assert_eq!(up.log_file_validation_enabled(), Some(false));
    assert_eq!(
        up.sns_topic_arn(),
        Some("arn:aws:sns:us-east-1:111111111111:delivery-topic"),
        "members not given stay as they were"
    );

    let list = ct.describe_trails().send().await.unwrap();
    assert_eq!(list.trail_list().len(), 1);
    ct.delete_trail().name("full-trail").send().await.unwrap();
    assert!(ct.describe_trails().send().await.unwrap().trail_list().is_empty());
    assert_eq!(code(ct.get_trail().name("full-trail").send().await), "TrailNotFoundException");
    assert_eq!(code(ct.delete_trail().name("full-trail").send().await), "TrailNotFoundException");
}

#[tokio::test]
async fn create_errors_change_nothing() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, REGION);
    let create = || ct.create_trail().name("good-trail").s3_bucket_name("trail-bucket");
    let cases: Vec<(&str, aws_sdk_cloudtrail::operation::create_trail::builders::CreateTrailFluentBuilder)> = vec![
        ("InvalidTrailNameException", create().name("-bad")),
        ("InvalidTrailNameException", create().name("my--trail")),
        ("InvalidTrailNameException", create().name("10.0.0.1")),
        ("InvalidTrailNameException", create().name("ab")),
        ("InvalidS3BucketNameException", create().s3_bucket_name("Bad_Bucket")),
        ("InvalidS3PrefixException", create().s3_key_prefix("/leading")),
        ("InvalidS3PrefixException", create().s3_key_prefix("x".repeat(201))),
        ("S3BucketDoesNotExistException", create().s3_bucket_name("missing-bucket")),
        (
            "InvalidParameterCombinationException",
            create().is_multi_region_trail(true).include_global_service_events(false),
        ),
        ("InvalidSnsTopicNameException", create().sns_topic_name("bad topic")),
        ("InvalidKmsKeyIdException", create().kms_key_id("not-a-key")),
        (
            "InvalidCloudWatchLogsLogGroupArnException",
            create()
                .cloud_watch_logs_log_group_arn("log-group")
                .cloud_watch_logs_role_arn("arn:aws:iam::111111111111:role/r"),
        ),
        (
            "InvalidCloudWatchLogsRoleArnException",
            create().cloud_watch_logs_log_group_arn("arn:aws:logs:us-east-1:111111111111:log-group:g:*"),
        ),
        (
            "InvalidCloudWatchLogsRoleArnException",
            create()
                .cloud_watch_logs_log_group_arn("arn:aws:logs:us-east-1:111111111111:log-group:g:*")
                .cloud_watch_logs_role_arn("arn:aws:s3:::x"),
        ),
        ("InvalidTagParameterException", create().tags_list(Tag::builder().key("aws:reserved").build().unwrap())),
        ("ValidationException", ct.create_trail().s3_bucket_name("trail-bucket")),
        ("ValidationException", ct.create_trail().name("good-trail")),
        (
            "OrganizationsNotInUseException",
            server
                .client(OUTSIDER, REGION)
                .create_trail()
                .name("org")
                .s3_bucket_name("trail-bucket")
                .is_organization_trail(true),
        ),
    ];
    for (want, call) in cases {
        let got = code(call.send().await);
        assert_eq!(got, want);
    }
    let mut too_many = create();
    for i in 0..51 {
        too_many = too_many.tags_list(Tag::builder().key(format!("k{i}")).build().unwrap());
    }
    assert_eq!(code(too_many.send().await), "TagsLimitExceededException");
    assert!(ct.describe_trails().send().await.unwrap().trail_list().is_empty(), "failed creates left a trail");
    assert!(ct.list_trails().send().await.unwrap().trails().is_empty());

    create().send().await.unwrap();
    assert_eq!(code(create().send().await), "TrailAlreadyExistsException");
    assert_eq!(code(create().is_multi_region_trail(true).send().await), "TrailAlreadyExistsException");
}

#[tokio::test]
async fn five_trails_per_region_with_multi_region_trails_counting_everywhere() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let east = server.client(MGMT, "us-east-1");
    let west = server.client(MGMT, "us-west-2");
    east.create_trail()
        .name("everywhere")
        .s3_bucket_name("trail-bucket")
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap();
    for i in 0..4 {
        west.create_trail().name(format!("west-{i}")).s3_bucket_name("trail-bucket").send().await.unwrap();
    }
    assert_eq!(
        code(west.create_trail().name("west-5").s3_bucket_name("trail-bucket").send().await),
        "MaximumNumberOfTrailsExceededException"
    );
    // A second multi-region trail would make six in us-west-2, even though us-east-1 has room.
    assert_eq!(
        code(
            east.create_trail()
                .name("everywhere-2")
                .s3_bucket_name("trail-bucket")
                .is_multi_region_trail(true)
                .send()
                .await
        ),
        "MaximumNumberOfTrailsExceededException"
    );
    east.create_trail().name("east-only").s3_bucket_name("trail-bucket").send().await.unwrap();
    // Turning a single-region trail multi-region is checked the same way.
    assert_eq!(
        code(east.update_trail().name("east-only").is_multi_region_trail(true).send().await),
        "MaximumNumberOfTrailsExceededException"
    );
    // The same name in another region is a different single-region trail; not so when either is multi-region.
    west.delete_trail().name("west-3").send().await.unwrap();
    west.create_trail().name("east-only").s3_bucket_name("trail-bucket").send().await.unwrap();
    assert_eq!(
        code(west.create_trail().name("everywhere").s3_bucket_name("trail-bucket").send().await),
        "TrailAlreadyExistsException"
    );
    // Another account has its own quota and namespace.
    let other = server.client(OUTSIDER, "us-west-2");
    other.create_trail().name("west-0").s3_bucket_name("trail-bucket").send().await.unwrap();
}

#[tokio::test]
async fn shadow_trails_and_home_region() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let east = server.client(MGMT, "us-east-1");
    let west = server.client(MGMT, "eu-west-1");
    let arn = east
        .create_trail()
        .name("global")
        .s3_bucket_name("trail-bucket")
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap()
        .trail_arn
        .unwrap();
    east.create_trail().name("local").s3_bucket_name("trail-bucket").send().await.unwrap();

    let shadows = west.describe_trails().send().await.unwrap();
    assert_eq!(shadows.trail_list().len(), 1);
    assert_eq!(shadows.trail_list()[0].home_region(), Some("us-east-1"));
    let no_shadows = west.describe_trails().include_shadow_trails(false).send().await.unwrap();
    assert!(no_shadows.trail_list().is_empty());
    // Names match only trails of the caller's region; ARNs reach other regions.
    assert!(west.describe_trails().trail_name_list("local").send().await.unwrap().trail_list().is_empty());
    let local_arn = "arn:aws:cloudtrail:us-east-1:111111111111:trail/local";
    assert_eq!(west.describe_trails().trail_name_list(local_arn).send().await.unwrap().trail_list().len(), 1);
    assert_eq!(code(west.describe_trails().trail_name_list("x").send().await), "InvalidTrailNameException");
    assert_eq!(
        code(west.describe_trails().trail_name_list("arn:aws:cloudtrail:nowhere").send().await),
        "CloudTrailARNInvalidException"
    );

    // A shadow can be read from its region, but changed only from home.
    west.get_trail().name("global").send().await.unwrap();
    west.get_trail_status().name(&arn).send().await.unwrap();
    for call in [
        code(west.update_trail().name("global").enable_log_file_validation(true).send().await),
        code(west.start_logging().name(&arn).send().await),
        code(west.stop_logging().name("global").send().await),
        code(west.delete_trail().name("global").send().await),
        code(
            west.put_event_selectors()
                .trail_name("global")
                .event_selectors(aws_sdk_cloudtrail::types::EventSelector::builder().build())
                .send()
                .await,
        ),
    ] {
        assert_eq!(call, "InvalidHomeRegionException");
    }
    assert_eq!(code(west.get_trail().name("local").send().await), "TrailNotFoundException");
    let t = east.get_trail().name("global").send().await.unwrap().trail.unwrap();
    assert_eq!(t.log_file_validation_enabled(), Some(false), "refused update changed the trail");
    assert!(!east.get_trail_status().name("global").send().await.unwrap().is_logging().unwrap());

    // Making it single-region removes the shadows.
    east.update_trail().name("global").is_multi_region_trail(false).send().await.unwrap();
    assert!(west.describe_trails().send().await.unwrap().trail_list().is_empty());
}

#[tokio::test]
async fn logging_status_reports_only_what_happened() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, REGION);
    ct.create_trail().name("status-trail").s3_bucket_name("trail-bucket").send().await.unwrap();
    let s = ct.get_trail_status().name("status-trail").send().await.unwrap();
    assert_eq!(s.is_logging(), Some(false));
    assert!(s.start_logging_time().is_none() && s.stop_logging_time().is_none());
    assert!(s.latest_delivery_time().is_none() && s.latest_delivery_error().is_none());
    assert!(s.latest_digest_delivery_time().is_none() && s.latest_notification_time().is_none());

    ct.start_logging().name("status-trail").send().await.unwrap();
    let s = ct.get_trail_status().name("status-trail").send().await.unwrap();
    assert_eq!(s.is_logging(), Some(true));
    let started = s.start_logging_time().unwrap().secs();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - started).abs() < 60, "start time {started} is not now {now}");
    assert!(s.stop_logging_time().is_none());
    assert!(s.latest_delivery_time().is_none());

    ct.stop_logging().name("status-trail").send().await.unwrap();
    let s = ct.get_trail_status().name("status-trail").send().await.unwrap();
    assert_eq!(s.is_logging(), Some(false));
    assert!(s.stop_logging_time().unwrap().secs() >= started);
    assert_eq!(s.start_logging_time().unwrap().secs(), started);
    assert_eq!(code(ct.start_logging().name("nope-trail").send().await), "TrailNotFoundException");
    assert_eq!(code(ct.get_trail_status().name("a").send().await), "InvalidTrailNameException");
}

#[tokio::test]
async fn list_trails_paginates_across_regions_with_bound_tokens() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let regions = [
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "eu-west-1",
        "eu-west-2",
        "eu-central-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-southeast-1",
        "sa-east-1",
    ];
    let mut futures = Vec::new();
    for r in regions {
        let ct = server.client(MGMT, r);
        futures.push(tokio::spawn(async move {
            for i in 0..5 {
                ct.create_trail().name(format!("{r}-t{i}")).s3_bucket_name("trail-bucket").send().await.unwrap();
            }
        }));
    }
    for f in futures {
        f.await.unwrap();
    }
    let ct = server.client(MGMT, REGION);
    let first = ct.list_trails().send().await.unwrap();
    assert_eq!(first.trails().len(), 50);
    let token = first.next_token().unwrap().to_string();
    let second = ct.list_trails().next_token(&token).send().await.unwrap();
    assert_eq!(second.trails().len(), 5);
    assert!(second.next_token().is_none());
    let mut all: Vec<String> =
        first.trails().iter().chain(second.trails()).map(|t| t.trail_arn().unwrap().to_string()).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 55);
    assert!(
        first.trails().iter().any(|t| t.home_region() == Some("sa-east-1"))
            || second.trails().iter().any(|t| t.home_region() == Some("sa-east-1"))
    );
    // The paginator of the SDK walks every page.
    let paged: Vec<_> = ct.list_trails().into_paginator().items().send().collect::<Vec<_>>().await;
    assert_eq!(paged.len(), 55);
    assert_eq!(code(ct.list_trails().next_token("forged").send().await), "InvalidNextTokenException");
    // Another account sees none of them.
    assert!(server.client(OUTSIDER, REGION).list_trails().send().await.unwrap().trails().is_empty());
}

#[tokio::test]
async fn tenants_are_isolated() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let mgmt = server.client(MGMT, REGION);
    let outsider = server.client(OUTSIDER, REGION);
    let arn =
        mgmt.create_trail().name("private").s3_bucket_name("trail-bucket").send().await.unwrap().trail_arn.unwrap();
    assert!(outsider.describe_trails().send().await.unwrap().trail_list().is_empty());
    assert!(outsider.describe_trails().trail_name_list(&arn).send().await.unwrap().trail_list().is_empty());
    assert_eq!(code(outsider.get_trail().name(&arn).send().await), "TrailNotFoundException");
    assert_eq!(code(outsider.get_trail().name("private").send().await), "TrailNotFoundException");
    assert_eq!(code(outsider.delete_trail().name(&arn).send().await), "TrailNotFoundException");
    assert_eq!(code(outsider.stop_logging().name(&arn).send().await), "TrailNotFoundException");
    let theirs = outsider.create_trail().name("private").s3_bucket_name("trail-bucket").send().await.unwrap();
    assert_eq!(theirs.trail_arn(), Some("arn:aws:cloudtrail:us-east-1:333333333333:trail/private"));
    assert_eq!(mgmt.describe_trails().send().await.unwrap().trail_list().len(), 1);
}

#[tokio::test]
async fn update_errors_change_nothing() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, REGION);
    ct.create_trail().name("steady").s3_bucket_name("trail-bucket").s3_key_prefix("p").send().await.unwrap();
    let cases = [
        ("S3BucketDoesNotExistException", ct.update_trail().name("steady").s3_bucket_name("missing-bucket")),
        ("InvalidS3BucketNameException", ct.update_trail().name("steady").s3_bucket_name("BAD")),
        (
            "InvalidParameterCombinationException",
            ct.update_trail().name("steady").is_multi_region_trail(true).include_global_service_events(false),
        ),
        ("InvalidKmsKeyIdException", ct.update_trail().name("steady").kms_key_id("nope")),
        ("TrailNotFoundException", ct.update_trail().name("absent")),
        ("InvalidTrailNameException", ct.update_trail().name("no")),
        ("CloudTrailARNInvalidException", ct.update_trail().name("arn:aws:cloudtrail:us-east-1:1:trail/steady")),
    ];
    for (want, call) in cases {
        assert_eq!(code(call.send().await), want);
    }
    let t = ct.get_trail().name("steady").send().await.unwrap().trail.unwrap();
    assert_eq!((t.s3_bucket_name(), t.s3_key_prefix(), t.kms_key_id()), (Some("trail-bucket"), Some("p"), None));
    assert_eq!(t.is_multi_region_trail(), Some(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_of_one_name_let_exactly_one_win() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let ct = server.client(MGMT, REGION);
        tasks.push(tokio::spawn(async move {
            ct.create_trail().name("contended").s3_bucket_name("trail-bucket").send().await.map(|_| ()).map_err(|e| {
                e.as_service_error()
                    .and_then(|s| aws_sdk_cloudtrail::error::ProvideErrorMetadata::code(s))
                    .unwrap_or("?")
                    .to_string()
            })
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(code) => assert_eq!(code, "TrailAlreadyExistsException"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(server.client(MGMT, REGION).describe_trails().send().await.unwrap().trail_list().len(), 1);
}
