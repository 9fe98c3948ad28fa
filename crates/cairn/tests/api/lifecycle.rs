//! The process: zero-configuration start, persistence across restart, clean shutdown on SIGTERM, a plain log when
//! the log is not a terminal.

use crate::common::*;
use aws_sdk_cloudtrail::types::{AdvancedEventSelector, AdvancedFieldSelector, InsightSelector, InsightType, Tag};

#[tokio::test]
async fn state_survives_restart() {
    let dir = TempDir::new();
    let arn;
    {
        let server = Server::start(&dir);
        let ct = server.client(MGMT, "eu-central-1");
        arn = ct
            .create_trail()
            .name("durable")
            .s3_bucket_name("trail-bucket")
            .is_multi_region_trail(true)
            .tags_list(Tag::builder().key("k").value("v").build().unwrap())
            .send()
            .await
            .unwrap()
            .trail_arn
            .unwrap();
        ct.put_event_selectors()
            .trail_name("durable")
            .advanced_event_selectors(
                AdvancedEventSelector::builder()
                    .field_selectors(
                        AdvancedFieldSelector::builder().field("eventCategory").equals("Management").build().unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        ct.put_insight_selectors()
            .trail_name("durable")
            .insight_selectors(InsightSelector::builder().insight_type(InsightType::ApiCallRateInsight).build())
            .send()
            .await
            .unwrap();
        ct.start_logging().name("durable").send().await.unwrap();
        ct.register_organization_delegated_admin().member_account_id(MEMBER.0).send().await.unwrap();
        // SIGKILL: nothing gets a chance to flush.
        drop(server);
    }
    let server = Server::start(&dir);
    let ct = server.client(MGMT, "eu-central-1");
    let t = ct.get_trail().name(&arn).send().await.unwrap().trail.unwrap();
    assert_eq!(t.is_multi_region_trail(), Some(true));
    assert_eq!(t.has_insight_selectors(), Some(true));
    assert!(ct.get_trail_status().name("durable").send().await.unwrap().is_logging().unwrap());
    let sel = ct.get_event_selectors().trail_name("durable").send().await.unwrap();
    assert_eq!(sel.advanced_event_selectors().len(), 1);
    let tags = ct.list_tags().resource_id_list(&arn).send().await.unwrap();
    assert_eq!(tags.resource_tag_list()[0].tags_list().len(), 1);
    assert_eq!(
        code(ct.register_organization_delegated_admin().member_account_id(MEMBER.0).send().await),
        "AccountRegisteredException"
    );
    assert_eq!(server.terminate().code(), Some(0));
}

#[tokio::test]
async fn zero_configuration_serves_the_development_account_and_stops_on_sigterm() {
    let dir = TempDir::new();
    // No config, no data directory flag: ./cairn-data under the working directory.
    let server = Server::start_with(dir.0.clone(), &[]);
    assert!(dir.0.join("cairn-data").join("catalog.sqlite").exists());
    let ct =
        client(&server.endpoint(), "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1");
    // The README's quick start: the bucket is made on cairn's S3 endpoint, as `aws s3 mb` makes it.
    let dev = ("123456789012", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    let s3 = server.s3_client(dev, "us-east-1");
    s3.create_bucket().bucket("amzn-s3-demo-bucket").send().await.unwrap();
    let trail = "arn:aws:cloudtrail:us-east-1:123456789012:trail/my-trail";
    let policy = crate::buckets::console_policy("amzn-s3-demo-bucket", trail);
    s3.put_bucket_policy().bucket("amzn-s3-demo-bucket").policy(policy).send().await.unwrap();
    let out = ct.create_trail().name("my-trail").s3_bucket_name("amzn-s3-demo-bucket").send().await.unwrap();
    assert_eq!(out.trail_arn(), Some("arn:aws:cloudtrail:us-east-1:123456789012:trail/my-trail"));
    assert_eq!(server.terminate().code(), Some(0));
}

#[tokio::test]
async fn a_log_that_is_not_a_terminal_has_no_colour_codes() {
    let dir = TempDir::new();
    let log = dir.0.join("cairn.log");
    let server = Server::start_logging_to(dir.0.clone(), &[], "debug", &log);
    let ct =
        client(&server.endpoint(), "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1");
    assert_eq!(code(ct.get_trail().name("absent").send().await), "TrailNotFoundException");
    assert_eq!(server.terminate().code(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() >= 2, "cairn logged its start and stop: {text:?}");
    assert!(text.contains("INFO") && !text.contains('\u{1b}'), "escape codes in a file log: {text:?}");
}
