//! Event and insight selectors and event configurations through the SDK: AWS's shapes, limits and errors, and advanced
//! selectors replacing basic.

use crate::common::*;
use aws_sdk_cloudtrail::types::{
    AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector, InsightSelector, InsightType,
    ReadWriteType,
};

const REGION: &str = "us-east-1";

fn field(name: &str, equals: &[&str]) -> AdvancedFieldSelector {
    let mut f = AdvancedFieldSelector::builder().field(name);
    for v in equals {
        f = f.equals(*v);
    }
    f.build().unwrap()
}

#[tokio::test]
async fn basic_then_advanced_selectors() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, REGION);
    ct.create_trail().name("sel").s3_bucket_name("trail-bucket").send().await.unwrap();
    let defaults = ct.get_event_selectors().trail_name("sel").send().await.unwrap();
    let d = &defaults.event_selectors()[0];
    assert_eq!(d.read_write_type(), Some(&ReadWriteType::All));
    assert_eq!(d.include_management_events(), Some(true));
    assert!(defaults.advanced_event_selectors().is_empty());

    let s3 = DataResource::builder().r#type("AWS::S3::Object").values("arn:aws:s3:::trail-bucket/").build();
    let put = ct
        .put_event_selectors()
        .trail_name("sel")
        .event_selectors(
            EventSelector::builder()
                .read_write_type(ReadWriteType::WriteOnly)
                .include_management_events(true)
                .data_resources(s3)
                .exclude_management_event_sources("kms.amazonaws.com")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(put.trail_arn(), Some("arn:aws:cloudtrail:us-east-1:111111111111:trail/sel"));
    let got = ct.get_event_selectors().trail_name("sel").send().await.unwrap();
    assert_eq!(got.event_selectors()[0].read_write_type(), Some(&ReadWriteType::WriteOnly));
    assert_eq!(got.event_selectors()[0].data_resources()[0].values(), ["arn:aws:s3:::trail-bucket/"]);
    assert_eq!(got.event_selectors()[0].exclude_management_event_sources(), ["kms.amazonaws.com"]);
    let t = ct.get_trail().name("sel").send().await.unwrap().trail.unwrap();
    assert_eq!(t.has_custom_event_selectors(), Some(true));

    let advanced = AdvancedEventSelector::builder()
        .name("S3 writes")
        .field_selectors(field("eventCategory", &["Data"]))
        .field_selectors(field("resources.type", &["AWS::S3::Object"]))
        .field_selectors(field("readOnly", &["false"]))
        .build()
        .unwrap();
    ct.put_event_selectors().trail_name("sel").advanced_event_selectors(advanced.clone()).send().await.unwrap();
    let got = ct.get_event_selectors().trail_name("sel").send().await.unwrap();
    assert!(got.event_selectors().is_empty(), "advanced selectors replace basic ones");
    assert_eq!(got.advanced_event_selectors(), [advanced]);
}

#[tokio::test]
async fn selector_errors_change_nothing() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, REGION);
    ct.create_trail().name("sel").s3_bucket_name("trail-bucket").send().await.unwrap();
    let put = || ct.put_event_selectors().trail_name("sel");
    let mgmt =
        AdvancedEventSelector::builder().field_selectors(field("eventCategory", &["Management"])).build().unwrap();
    let mut six = put();
    for _ in 0..6 {
        six = six.event_selectors(EventSelector::builder().build());
    }
    let cases = vec![
        ("InvalidEventSelectorsException", six),
        ("InvalidEventSelectorsException", put()),
        (
            "InvalidEventSelectorsException",
            put().event_selectors(EventSelector::builder().build()).advanced_event_selectors(mgmt.clone()),
        ),
        (
            "InvalidEventSelectorsException",
            put().event_selectors(
                EventSelector::builder()
                    .data_resources(DataResource::builder().r#type("AWS::EC2::Instance").values("arn:aws:ec2").build())
                    .build(),
            ),
        ),
        (
            "InvalidEventSelectorsException",
            put()
                .event_selectors(EventSelector::builder().exclude_management_event_sources("s3.amazonaws.com").build()),
        ),
        (
            "InvalidEventSelectorsException",
            put().advanced_event_selectors(
                AdvancedEventSelector::builder().field_selectors(field("readOnly", &["true"])).build().unwrap(),
            ),
        ),
        (
            "InvalidEventSelectorsException",
            put().advanced_event_selectors(
                AdvancedEventSelector::builder().field_selectors(field("eventCategory", &["Data"])).build().unwrap(),
            ),
        ),
        (
            "InvalidEventSelectorsException",
            put().advanced_event_selectors(
                AdvancedEventSelector::builder()
                    .field_selectors(field("eventCategory", &["Management"]))
                    .field_selectors(field("eventName", &["CreateTrail"]))
                    .build()
                    .unwrap(),
            ),
        ),
        (
            "TrailNotFoundException",
            ct.put_event_selectors().trail_name("absent").advanced_event_selectors(mgmt.clone()),
        ),
        ("ValidationException", ct.put_event_selectors().advanced_event_selectors(mgmt.clone())),
    ];
    for (want, call) in cases {
        assert_eq!(code(call.send().await), want);
    }
    let many: Vec<String> = (0..501).map(|i| format!("arn:aws:s3:::trail-bucket/{i}")).collect();
    let mut arns = AdvancedFieldSelector::builder().field("resources.ARN");
    for a in &many {
        arns = arns.starts_with(a);
    }
    let big = AdvancedEventSelector::builder()
        .field_selectors(field("eventCategory", &["Data"]))
        .field_selectors(field("resources.type", &["AWS::S3::Object"]))
        .field_selectors(arns.build().unwrap())
        .build()
        .unwrap();
    assert_eq!(code(put().advanced_event_selectors(big).send().await), "InvalidEventSelectorsException");
    let got = ct.get_event_selectors().trail_name("sel").send().await.unwrap();
    assert_eq!(got.event_selectors().len(), 1, "refused selectors changed the trail");
    assert_eq!(
        ct.get_trail().name("sel").send().await.unwrap().trail.unwrap().has_custom_event_selectors(),
        Some(false)
    );
}

#[tokio::test]
async fn insight_selectors() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, REGION);
    ct.create_trail().name("ins").s3_bucket_name("trail-bucket").send().await.unwrap();
    assert_eq!(code(ct.get_insight_selectors().trail_name("ins").send().await), "InsightNotEnabledException");
    let call_rate = InsightSelector::builder().insight_type(InsightType::ApiCallRateInsight).build();
    let error_rate = InsightSelector::builder().insight_type(InsightType::ApiErrorRateInsight).build();
    let out = ct
        .put_insight_selectors()
        .trail_name("ins")
        .insight_selectors(call_rate.clone())
        .insight_selectors(error_rate.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.insight_selectors().len(), 2);
    let got = ct.get_insight_selectors().trail_name("ins").send().await.unwrap();
    assert_eq!(got.insight_selectors(), [call_rate.clone(), error_rate.clone()]);
    assert_eq!(ct.get_trail().name("ins").send().await.unwrap().trail.unwrap().has_insight_selectors(), Some(true));

    // An empty list turns Insights off.
    ct.put_insight_selectors().trail_name("ins").set_insight_selectors(Some(vec![])).send().await.unwrap();
    assert_eq!(code(ct.get_insight_selectors().trail_name("ins").send().await), "InsightNotEnabledException");

    // Call-rate Insights need write management events.
    ct.put_event_selectors()
        .trail_name("ins")
        .event_selectors(EventSelector::builder().read_write_type(ReadWriteType::ReadOnly).build())
        .send()
        .await
        .unwrap();
    let cases = vec![
        (
            "InvalidInsightSelectorsException",
            ct.put_insight_selectors().trail_name("ins").insight_selectors(call_rate.clone()),
        ),
        (
            "InvalidInsightSelectorsException",
            ct.put_insight_selectors()
                .trail_name("ins")
                .insight_selectors(error_rate.clone())
                .insight_selectors(error_rate.clone()),
        ),
        (
            "InvalidInsightSelectorsException",
            ct.put_insight_selectors()
                .trail_name("ins")
                .insight_selectors(InsightSelector::builder().insight_type(InsightType::from("Bogus")).build()),
        ),
        ("InvalidParameterCombinationException", ct.put_insight_selectors().insight_selectors(error_rate.clone())),
        (
            "InvalidParameterCombinationException",
            ct.put_insight_selectors().trail_name("ins").event_data_store("eds").insight_selectors(error_rate.clone()),
        ),
        ("ValidationException", ct.put_insight_selectors().trail_name("ins")),
        (
            "TrailNotFoundException",
            ct.put_insight_selectors().trail_name("absent").insight_selectors(error_rate.clone()),
        ),
    ];
    for (want, call) in cases {
        assert_eq!(code(call.send().await), want);
    }
    assert_eq!(code(ct.get_insight_selectors().trail_name("ins").send().await), "InsightNotEnabledException");
    ct.put_insight_selectors().trail_name("ins").insight_selectors(error_rate).send().await.unwrap();
}

#[tokio::test]
async fn event_configuration_of_trails_and_stores() {
    use aws_sdk_cloudtrail::types::{ContextKeySelector, MaxEventSize, Type};
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, "us-east-1");
    let trail = ct.create_trail().name("cfg").s3_bucket_name("trail-bucket").send().await.unwrap();
    let trail_arn = trail.trail_arn().unwrap().to_string();

    let got = ct.get_event_configuration().trail_name("cfg").send().await.unwrap();
    assert_eq!(got.trail_arn(), Some(trail_arn.as_str()));
    assert_eq!(got.max_event_size(), Some(&MaxEventSize::Standard));
    assert!(got.context_key_selectors().is_empty());

    let tags = ContextKeySelector::builder().r#type(Type::TagContext).equals("env").equals("team").build().unwrap();
    // Context keys need large events; the refusal changes nothing.
    let c = ct.put_event_configuration().trail_name("cfg").context_key_selectors(tags.clone()).send().await;
    assert_eq!(code(c), "InvalidParameterCombinationException");
    let put = ct
        .put_event_configuration()
        .trail_name("cfg")
        .max_event_size(MaxEventSize::Large)
        .context_key_selectors(tags.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.max_event_size(), Some(&MaxEventSize::Large));
    let got = ct.get_event_configuration().trail_name(&trail_arn).send().await.unwrap();
    assert_eq!(got.context_key_selectors()[0].equals(), ["env", "team"]);
    // A later call changes only what it gives.
    let twice = ct
        .put_event_configuration()
        .trail_name("cfg")
        .context_key_selectors(tags.clone())
        .context_key_selectors(tags.clone());
    assert_eq!(code(twice.send().await), "InvalidParameterException");
    assert_eq!(ct.get_event_configuration().trail_name("cfg").send().await.unwrap().context_key_selectors().len(), 1);

    let c = ct.get_event_configuration().trail_name("cfg").event_data_store("x").send().await;
    assert_eq!(code(c), "InvalidParameterCombinationException");
    assert_eq!(code(ct.get_event_configuration().send().await), "InvalidParameterCombinationException");
    assert_eq!(code(ct.get_event_configuration().trail_name("missing").send().await), "TrailNotFoundException");

    let store = ct.create_event_data_store().name("cfg-store").send().await.unwrap();
    let store_arn = store.event_data_store_arn().unwrap();
    let put = ct
        .put_event_configuration()
        .event_data_store(store_arn)
        .max_event_size(MaxEventSize::Large)
        .send()
        .await
        .unwrap();
    assert_eq!(put.event_data_store_arn(), Some(store_arn));
    let got = ct.get_event_configuration().event_data_store(store_arn).send().await.unwrap();
    assert_eq!(got.max_event_size(), Some(&MaxEventSize::Large));
    let aggregation = aws_sdk_cloudtrail::types::AggregationConfiguration::builder()
        .templates(aws_sdk_cloudtrail::types::Template::ApiActivity)
        .event_category(aws_sdk_cloudtrail::types::EventCategoryAggregation::Data)
        .build()
        .unwrap();
    let c = ct
        .put_event_configuration()
        .event_data_store(store_arn)
        .aggregation_configurations(aggregation.clone())
        .send()
        .await;
    assert_eq!(code(c), "InvalidParameterException");
    ct.put_event_configuration().trail_name("cfg").aggregation_configurations(aggregation).send().await.unwrap();
    // The configuration goes with its trail.
    ct.delete_trail().name("cfg").send().await.unwrap();
    ct.create_trail().name("cfg").s3_bucket_name("trail-bucket").send().await.unwrap();
    let fresh = ct.get_event_configuration().trail_name("cfg").send().await.unwrap();
    assert_eq!(fresh.max_event_size(), Some(&MaxEventSize::Standard));
    assert!(fresh.aggregation_configurations().is_empty());
}
