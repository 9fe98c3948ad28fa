//! Event sizes: events of up to 1 MB are recorded whole; event history, trails and event data stores of the
//! Standard event size take one over 256 KB without its largest members, stores of the Large size take it whole.

use std::time::{Duration, Instant};

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey, MaxEventSize};
use serde_json::json;

use crate::common::*;
use crate::lake::rows;
use crate::lookup::producer_event;

const REGION: &str = "eu-west-1";

#[tokio::test]
async fn events_over_256_kb_are_whole_only_in_stores_of_the_large_size() {
    let dir = TempDir::new();
    let server = Server::start_configured(&dir, "");
    let ct = server.client(MGMT, REGION);
    let id = |arn: &str| arn.rsplit('/').next().unwrap().to_string();
    let standard =
        id(ct.create_event_data_store().name("standard").send().await.unwrap().event_data_store_arn().unwrap());
    let large = ct.create_event_data_store().name("large").send().await.unwrap();
    let large_arn = large.event_data_store_arn().unwrap();
    let c = ct.put_event_configuration().event_data_store(large_arn).max_event_size(MaxEventSize::Large).send().await;
    assert_eq!(c.unwrap().max_event_size(), Some(&MaxEventSize::Large));
    let large = id(large_arn);

    let mut big = producer_event("BigCall", REGION, "ec2.amazonaws.com", 0);
    big["requestParameters"] = json!({"blob": "x".repeat(400_000)});
    big["additionalEventData"] = json!({"kept": "yes"});
    // Over 1 MB; and over 256 KB in a member that cannot be left out.
    let mut huge = producer_event("HugeCall", REGION, "ec2.amazonaws.com", 0);
    huge["requestParameters"] = json!({"blob": "x".repeat(1_100_000)});
    let mut unfit = producer_event("UnfitCall", REGION, "ec2.amazonaws.com", 0);
    unfit["customDetails"] = json!("x".repeat(300_000));
    let body = json!({"Records": [big, huge, unfit]}).to_string();
    let r = raw_to(&server, "/v1/ingest", "cairn", &[], body.as_bytes(), Signing::as_(MGMT));
    let failed = r.body["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{:?}", r.body["failed"]);
    assert!(failed.iter().all(|f| f["errorCode"] == "EventTooLarge"), "{failed:?}");

    // Event history: without the request parameters, and saying so beside what additionalEventData held.
    let by_name = LookupAttribute::builder()
        .attribute_key(LookupAttributeKey::EventName)
        .attribute_value("BigCall")
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let looked = loop {
        let r = ct.lookup_events().lookup_attributes(by_name.clone()).send().await.unwrap();
        if let Some(e) = r.events().first() {
            break serde_json::from_str::<serde_json::Value>(e.cloud_trail_event().unwrap()).unwrap();
        }
        assert!(Instant::now() < deadline, "BigCall not in event history");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(looked["requestParameters"], serde_json::Value::Null);
    assert_eq!(looked["additionalEventData"]["kept"], "yes");
    assert_eq!(looked["additionalEventData"]["omitted"], "requestParameters (the event would exceed 256 KB)");

    let statement = |store: &str| {
        format!(
            "SELECT length(element_at(requestparameters, 'blob')) AS n, element_at(additionaleventdata, 'omitted') AS o \
             FROM {store} WHERE eventname = 'BigCall'"
        )
    };
    let cell = |rows: &[Vec<(String, String)>], i: usize| rows[0][i].1.clone();
    let whole = rows(&ct, &statement(&large)).await;
    assert_eq!((whole.len(), cell(&whole, 0), cell(&whole, 1)), (1, "400000".to_string(), "NULL".to_string()));
    let fitted = rows(&ct, &statement(&standard)).await;
    assert_eq!(fitted.len(), 1);
    assert_eq!(
        (cell(&fitted, 0), cell(&fitted, 1)),
        ("NULL".into(), "requestParameters (the event would exceed 256 KB)".into())
    );
    // Neither refused event is anywhere.
    let none =
        rows(&ct, &format!("SELECT count(*) AS n FROM {large} WHERE eventname IN ('HugeCall', 'UnfitCall')")).await;
    assert_eq!(cell(&none, 0), "0");
}
