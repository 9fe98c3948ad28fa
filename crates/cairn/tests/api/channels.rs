//! Channels and PutAuditEvents against the real binary, with `aws-sdk-cloudtrail` and `aws-sdk-cloudtraildata`:
//! the channel lifecycle and its refusals, per-event failures beside accepted events, the events queryable in the
//! channel's ActivityAuditLog store, cross-account puts through the channel's resource policy and external id.

use aws_sdk_cloudtrail::types::{Destination, DestinationType, Tag};
use aws_sdk_cloudtraildata::types::AuditEvent;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::common::*;
use crate::lake::{rows, selector};

const REGION: &str = "eu-west-1";

fn event_data(name: &str, principal: &str, account: &str) -> String {
    json!({
        "version": "1.0",
        "userIdentity": {"type": "CustomUser", "principalId": principal, "details": {"team": "payments"}},
        "userAgent": "billing-app/2.1",
        "eventSource": "billing.example.com",
        "eventName": name,
        "eventTime": "2026-11-30T10:11:12Z",
        "UID": format!("uid-{name}"),
        "requestParameters": {"amount": 42, "currency": "EUR"},
        "sourceIPAddress": "10.0.0.7",
        "recipientAccountId": account,
    })
    .to_string()
}

fn audit_event(id: &str, data: &str, checksum: Option<&str>) -> AuditEvent {
    AuditEvent::builder().id(id).event_data(data).set_event_data_checksum(checksum.map(str::to_string)).build().unwrap()
}

fn checksum(data: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(data.as_bytes()))
}

fn data_code<
    T: std::fmt::Debug,
    E: aws_sdk_cloudtraildata::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
>(
    r: Result<T, aws_sdk_cloudtraildata::error::SdkError<E, R>>,
) -> String {
    let e = r.expect_err("the call should have failed");
    match e.as_service_error() {
        Some(s) => s.code().unwrap_or("<no code>").to_string(),
        None => panic!("not a service error: {e:?}"),
    }
}

fn destination(location: &str) -> Destination {
    Destination::builder().r#type(DestinationType::EventDataStore).location(location).build().unwrap()
}

#[tokio::test]
async fn channels_put_audit_events_into_activity_stores() {
    let dir = TempDir::new();
    let config = "[lake]\nflush_interval_seconds = 1\n";
    let mut server = Server::start_configured(&dir, config);
    let ct = server.client(MGMT, REGION);
    let data = server.data_client(MGMT, REGION);

    let apps = ct
        .create_event_data_store()
        .name("apps")
        .advanced_event_selectors(selector("ActivityAuditLog", None))
        .termination_protection_enabled(false)
        .send()
        .await
        .unwrap();
    let apps_arn = apps.event_data_store_arn().unwrap().to_string();
    let apps_id = apps_arn.rsplit('/').next().unwrap().to_string();
    let mgmt = ct.create_event_data_store().name("mgmt").send().await.unwrap();
    let mgmt_arn = mgmt.event_data_store_arn().unwrap().to_string();

    // Refusals that change nothing.
    let c = ct.create_channel().name("app").source("Custom").destinations(destination(&mgmt_arn)).send().await;
    assert_eq!(code(c), "InvalidEventDataStoreCategoryException");
    let c = ct.create_channel().name("a b").source("Custom").destinations(destination(&apps_arn)).send().await;
    assert_eq!(code(c), "InvalidParameterException");
    let c = ct.create_channel().name("app").source(" ").destinations(destination(&apps_arn)).send().await;
    assert_eq!(code(c), "InvalidSourceException");
    let c = ct.create_channel().name("app").source("Custom").destinations(destination("nope!")).send().await;
    assert_eq!(code(c), "EventDataStoreARNInvalidException");
    let other = format!("arn:aws:cloudtrail:{REGION}:{}:eventdatastore/00000000-0000-4000-8000-000000000000", MGMT.0);
    let c = ct.create_channel().name("app").source("Custom").destinations(destination(&other)).send().await;
    assert_eq!(code(c), "EventDataStoreNotFoundException");
    let aws_service = Destination::builder().r#type(DestinationType::AwsService).location("config").build().unwrap();
    let c = ct.create_channel().name("app").source("Custom").destinations(aws_service).send().await;
    assert_eq!(code(c), "InvalidParameterException");
    assert!(ct.list_channels().send().await.unwrap().channels().is_empty());

    let created = ct
        .create_channel()
        .name("app")
        .source("Custom")
        .destinations(destination(&apps_id))
        .tags(Tag::builder().key("team").value("payments").build().unwrap())
        .send()
        .await
        .unwrap();
    let channel_arn = created.channel_arn().unwrap().to_string();
    assert!(channel_arn.starts_with(&format!("arn:aws:cloudtrail:{REGION}:{}:channel/", MGMT.0)));
    assert_eq!(created.destinations()[0].location(), apps_arn);
    assert_eq!(created.tags().len(), 1);
    let c = ct.create_channel().name("app").source("Custom").destinations(destination(&apps_arn)).send().await;
    assert_eq!(code(c), "ChannelAlreadyExistsException");
    ct.create_channel().name("okta").source("Okta").destinations(destination(&apps_arn)).send().await.unwrap();
    let c = ct.create_channel().name("okta-2").source("Okta").destinations(destination(&apps_arn)).send().await;
    assert_eq!(code(c), "ChannelAlreadyExistsException");
    let listed = ct.list_channels().max_results(1).send().await.unwrap();
    assert_eq!(listed.channels().len(), 1);
    let rest = ct.list_channels().next_token(listed.next_token().unwrap()).send().await.unwrap();
    assert_eq!(rest.channels().len(), 1);
    assert!(rest.next_token().is_none());
    let tags = ct.list_tags().resource_id_list(&channel_arn).send().await.unwrap();
    assert_eq!(tags.resource_tag_list()[0].tags_list()[0].value(), Some("payments"));
    let c = ct.get_channel().channel("arn:aws:s3:::bucket").send().await;
    assert_eq!(code(c), "ChannelARNInvalidException");
    let c = ct.get_channel().channel("00000000-0000-4000-8000-000000000000").send().await;
    assert_eq!(code(c), "ChannelNotFoundException");

    // A call's good events are ingested; each bad one is answered with AWS's code.
    let good = event_data("ChargeCard", "alice", MGMT.0);
    let second = event_data("RefundCard", "bob", MGMT.0);
    let put = data
        .put_audit_events()
        .channel_arn(&channel_arn)
        .audit_events(audit_event("e1", &good, Some(&checksum(&good))))
        .audit_events(audit_event("e2", &second, None))
        .audit_events(audit_event("e3", &good, Some(&checksum("something else"))))
        .audit_events(audit_event("e4", &good.replace("\"UID\"", "\"uid\""), None))
        .audit_events(audit_event("e5", &event_data("X", "eve", OUTSIDER.0), None))
        .audit_events(audit_event("e6", "{not json", None))
        .audit_events(audit_event(
            "e7",
            &event_data("X", "eve", MGMT.0).replace("billing.example.com", "iam.amazonaws.com"),
            None,
        ))
        .send()
        .await
        .unwrap();
    let ok: Vec<&str> = put.successful().iter().map(|s| s.id()).collect();
    assert_eq!(ok, ["e1", "e2"]);
    let failed: Vec<(&str, &str)> = put.failed().iter().map(|f| (f.id(), f.error_code())).collect();
    assert_eq!(
        failed,
        [
            ("e3", "InvalidChecksum"),
            ("e4", "FieldNotFound"),
            ("e5", "InvalidRecipient"),
            ("e6", "InvalidData"),
            ("e7", "InvalidEventSource")
        ]
    );
    let first_event_id = put.successful()[0].event_id().to_string();

    // Whole-call refusals.
    let p = data
        .put_audit_events()
        .channel_arn(&channel_arn)
        .audit_events(audit_event("d", &good, None))
        .audit_events(audit_event("d", &good, None))
        .send()
        .await;
    assert_eq!(data_code(p), "DuplicatedAuditEventId");
    let mut many = data.put_audit_events().channel_arn(&channel_arn);
    for i in 0..101 {
        many = many.audit_events(audit_event(&format!("m{i}"), &good, None));
    }
    assert_eq!(data_code(many.send().await), "ValidationException");
    let p = data
        .put_audit_events()
        .channel_arn("arn:aws:s3:::nope")
        .audit_events(audit_event("x", &good, None))
        .send()
        .await;
    assert_eq!(data_code(p), "InvalidChannelARN");
    let missing = format!("arn:aws:cloudtrail:{REGION}:{}:channel/00000000-0000-4000-8000-000000000000", MGMT.0);
    let p = data.put_audit_events().channel_arn(&missing).audit_events(audit_event("x", &good, None)).send().await;
    assert_eq!(data_code(p), "ChannelNotFound");

    // Another account may put only as the channel's resource policy allows, with its external id.
    let outsider = server.data_client(OUTSIDER, REGION);
    let theirs = event_data("PartnerSync", "partner", MGMT.0);
    let p = outsider
        .put_audit_events()
        .channel_arn(&channel_arn)
        .audit_events(audit_event("o1", &theirs, None))
        .send()
        .await;
    assert_eq!(data_code(p), "ChannelInsufficientPermission");
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "Partner",
            "Effect": "Allow",
            "Principal": {"AWS": OUTSIDER.0},
            "Action": "cloudtrail-data:PutAuditEvents",
            "Resource": channel_arn,
            "Condition": {"StringEquals": {"cloudtrail:ExternalId": "partner-secret"}}
        }]
    })
    .to_string();
    let bad_policy = policy.replace("cloudtrail-data:PutAuditEvents", "s3:GetObject");
    let r = ct.put_resource_policy().resource_arn(&channel_arn).resource_policy(bad_policy).send().await;
    assert_eq!(code(r), "ResourcePolicyNotValidException");
    let r = ct.get_resource_policy().resource_arn(&channel_arn).send().await;
    assert_eq!(code(r), "ResourcePolicyNotFoundException");
    let trail = format!("arn:aws:cloudtrail:{REGION}:{}:trail/t", MGMT.0);
    let r = ct.put_resource_policy().resource_arn(&trail).resource_policy(&policy).send().await;
    assert_eq!(code(r), "ResourceTypeNotSupportedException");
    let put = ct.put_resource_policy().resource_arn(&channel_arn).resource_policy(&policy).send().await.unwrap();
    assert_eq!(put.resource_policy(), Some(policy.as_str()));
    let got = ct.get_resource_policy().resource_arn(&channel_arn).send().await.unwrap();
    assert_eq!(got.resource_policy(), Some(policy.as_str()));
    let p = outsider
        .put_audit_events()
        .channel_arn(&channel_arn)
        .audit_events(audit_event("o1", &theirs, None))
        .send()
        .await;
    assert_eq!(data_code(p), "ChannelInsufficientPermission");
    let p = outsider
        .put_audit_events()
        .channel_arn(&channel_arn)
        .external_id("wrong-secret")
        .audit_events(audit_event("o1", &theirs, None))
        .send()
        .await;
    assert_eq!(data_code(p), "ChannelInsufficientPermission");
    let p = outsider
        .put_audit_events()
        .channel_arn(&channel_arn)
        .external_id("partner-secret")
        .audit_events(audit_event("o1", &theirs, None))
        .send()
        .await
        .unwrap();
    assert_eq!(p.successful().len(), 1);

    // The events are queryable in the channel's store, in Lake's ActivityAuditLog schema.
    let statement = format!(
        "SELECT eventdata.eventname AS name, eventdata.useridentity.principalid AS who, eventcategory, \
         element_at(eventdata.requestparameters, 'currency') AS currency, metadata.channelarn AS channel \
         FROM {apps_id} ORDER BY name"
    );
    let got = rows(&ct, &statement).await;
    let names: Vec<&str> = got.iter().map(|r| r[0].1.as_str()).collect();
    assert_eq!(names, ["ChargeCard", "PartnerSync", "RefundCard"], "{got:?}");
    assert_eq!(got[0][1].1, "alice");
    assert_eq!(got[0][2].1, "ActivityAuditLog");
    assert_eq!(got[0][3].1, "EUR");
    assert_eq!(got[0][4].1, channel_arn);
    // Nothing reached the management store, and a store takes only what its channels send.
    let mgmt_id = mgmt_arn.rsplit('/').next().unwrap();
    let activity =
        rows(&ct, &format!("SELECT count(*) AS n FROM {mgmt_id} WHERE eventcategory = 'ActivityAuditLog'")).await;
    assert_eq!(activity[0][0].1, "0");
    // Acknowledged events survive a SIGKILL, once each, whether or not the Lake had written them to files.
    server.kill();
    let server = Server::start_configured(&dir, config);
    let (ct, data) = (server.client(MGMT, REGION), server.data_client(MGMT, REGION));
    assert_eq!(rows(&ct, &statement).await, got);

    let put =
        data.put_audit_events().channel_arn(&channel_arn).audit_events(audit_event("late", &good, None)).send().await;
    let latest = put.unwrap().successful()[0].event_id().to_string();
    let status = ct.get_channel().channel(&channel_arn).send().await.unwrap();
    let ingestion = status.ingestion_status().unwrap();
    assert_eq!(ingestion.latest_ingestion_success_event_id(), Some(latest.as_str()));
    assert!(ingestion.latest_ingestion_success_time().is_some());
    assert_ne!(latest, first_event_id);

    // A store a channel sends to cannot be deleted; the channel can, and takes its policy with it.
    let d = ct.delete_event_data_store().event_data_store(&apps_arn).send().await;
    assert_eq!(code(d), "ChannelExistsForEDSException");
    let renamed = ct.update_channel().channel(&channel_arn).name("app-events").send().await.unwrap();
    assert_eq!(renamed.name(), Some("app-events"));
    let u = ct.update_channel().channel(&channel_arn).destinations(destination(&mgmt_arn)).send().await;
    assert_eq!(code(u), "InvalidEventDataStoreCategoryException");
    ct.delete_channel().channel(&channel_arn).send().await.unwrap();
    let okta = ct.list_channels().send().await.unwrap().channels()[0].channel_arn().unwrap().to_string();
    ct.delete_channel().channel(&okta).send().await.unwrap();
    let p = data.put_audit_events().channel_arn(&channel_arn).audit_events(audit_event("x", &good, None)).send().await;
    assert_eq!(data_code(p), "ChannelNotFound");
    let r = ct.get_resource_policy().resource_arn(&channel_arn).send().await;
    assert_eq!(code(r), "ResourceNotFoundException");
    ct.delete_event_data_store().event_data_store(&apps_arn).send().await.unwrap();
}
