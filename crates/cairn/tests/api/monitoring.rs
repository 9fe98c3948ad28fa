//! CloudWatch metrics and alarms through `aws-sdk-cloudwatch` (RPC v2 CBOR) and raw AWS JSON 1.0 and query requests;
//! SNS through `aws-sdk-sns` (query protocol) with a real HTTP subscriber run by the test: the confirmation
//! handshake, signed notifications verified against the certificate cairn serves, an alarm's notification as
//! CloudWatch writes it, and a trail refusing a topic whose policy does not let CloudTrail publish.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricDatum, StandardUnit, StateValue, Statistic};
use base64::Engine;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::common::*;

const REGION: &str = "us-east-1";

/// An HTTP endpoint that answers 200 to every POST and hands over each message's headers and body.
struct Subscriber {
    url: String,
    messages: mpsc::UnboundedReceiver<(Vec<(String, String)>, String)>,
}

impl Subscriber {
    async fn start() -> Subscriber {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, messages) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else { return };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    loop {
                        let n = conn.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf).to_string();
                        let Some((head, body)) = text.split_once("\r\n\r\n") else { continue };
                        let headers: Vec<(String, String)> = head
                            .lines()
                            .skip(1)
                            .filter_map(|l| l.split_once(':'))
                            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                            .collect();
                        let len: usize =
                            headers.iter().find(|(k, _)| k == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
                        if body.len() < len {
                            continue;
                        }
                        let _ = tx.send((headers, body[..len].to_string()));
                        let _ =
                            conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
                        return;
                    }
                });
            }
        });
        Subscriber { url, messages }
    }

    async fn next(&mut self, within: Duration) -> (Vec<(String, String)>, Value) {
        let (headers, body) =
            tokio::time::timeout(within, self.messages.recv()).await.expect("no message in time").unwrap();
        (headers, serde_json::from_str(&body).unwrap())
    }
}

/// A GET of an `http://host:port/path` URL: status and body.
fn get(url: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.split_whitespace().nth(1).unwrap().parse().unwrap(), body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

/// Verifies a message's SignatureVersion 2 signature with the certificate at its SigningCertURL.
fn verify_signature(msg: &Value) {
    let url = msg["SigningCertURL"].as_str().unwrap();
    let pem = get(url).1;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    // The RSAPublicKey sits in the BIT STRING after the rsaEncryption algorithm identifier.
    let oid = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
    let at = der.windows(oid.len()).position(|w| w == oid).unwrap() + oid.len();
    assert_eq!(der[at], 0x03);
    let (len, skip) = match der[at + 1] {
        n if n < 0x80 => (n as usize, 2),
        0x81 => (der[at + 2] as usize, 3),
        _ => (u16::from_be_bytes([der[at + 2], der[at + 3]]) as usize, 4),
    };
    let public = &der[at + skip + 1..at + skip + len];
    let kind = msg["Type"].as_str().unwrap();
    let fields: &[&str] = if kind == "Notification" {
        &["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    } else {
        &["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    };
    let text: String = fields.iter().filter_map(|f| msg[*f].as_str().map(|v| format!("{f}\n{v}\n"))).collect();
    let signature = base64::engine::general_purpose::STANDARD.decode(msg["Signature"].as_str().unwrap()).unwrap();
    assert_eq!(msg["SignatureVersion"], "2");
    assert!(cairn_integrity::verify(public, text.as_bytes(), &signature), "the signature does not verify");
}

/// Subscribes the subscriber to a topic and confirms by visiting the SubscribeURL; answers the subscription ARN.
async fn subscribe(server: &Server, topic: &str, sub: &mut Subscriber) -> String {
    let sns = server.sns_client(MGMT, REGION);
    let pending = sns.subscribe().topic_arn(topic).protocol("http").endpoint(&sub.url).send().await.unwrap();
    assert_eq!(pending.subscription_arn(), Some("pending confirmation"));
    let (headers, msg) = sub.next(Duration::from_secs(10)).await;
    assert_eq!(header(&headers, "x-amz-sns-message-type"), "SubscriptionConfirmation");
    assert_eq!(header(&headers, "x-amz-sns-topic-arn"), topic);
    assert_eq!(msg["Type"], "SubscriptionConfirmation");
    verify_signature(&msg);
    let (status, body) = get(msg["SubscribeURL"].as_str().unwrap());
    assert_eq!(status, 200, "{body}");
    let arn = body.split("<SubscriptionArn>").nth(1).unwrap().split('<').next().unwrap().to_string();
    let listed = sns.list_subscriptions_by_topic().topic_arn(topic).send().await.unwrap();
    assert_eq!(listed.subscriptions()[0].subscription_arn(), Some(arn.as_str()));
    arn
}

#[tokio::test]
async fn metrics_and_alarms_through_the_sdk() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let cw = server.cloudwatch_client(MGMT, REGION);
    let now = SystemTime::now();
    let datum = |v: f64| {
        MetricDatum::builder()
            .metric_name("Latency")
            .dimensions(Dimension::builder().name("Host").value("a").build())
            .unit(StandardUnit::Milliseconds)
            .timestamp(DateTime::from(now))
            .value(v)
            .build()
    };
    cw.put_metric_data().namespace("App").metric_data(datum(10.0)).metric_data(datum(30.0)).send().await.unwrap();
    let stats = cw
        .get_metric_statistics()
        .namespace("App")
        .metric_name("Latency")
        .dimensions(Dimension::builder().name("Host").value("a").build())
        .start_time(DateTime::from(now - Duration::from_secs(600)))
        .end_time(DateTime::from(now + Duration::from_secs(600)))
        .period(60)
        .statistics(Statistic::Average)
        .statistics(Statistic::Maximum)
        .extended_statistics("p50")
        .send()
        .await
        .unwrap();
    let p = &stats.datapoints()[0];
    assert_eq!((p.average(), p.maximum(), p.unit()), (Some(20.0), Some(30.0), Some(&StandardUnit::Milliseconds)));
    assert_eq!(p.extended_statistics().unwrap()["p50"], 10.0);
    let listed = cw.list_metrics().namespace("App").send().await.unwrap();
    assert_eq!(listed.metrics()[0].metric_name(), Some("Latency"));

    cw.put_metric_alarm()
        .alarm_name("slow")
        .namespace("App")
        .metric_name("Latency")
        .dimensions(Dimension::builder().name("Host").value("a").build())
        .statistic(Statistic::Maximum)
        .period(60)
        .evaluation_periods(1)
        .threshold(25.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .tags(aws_sdk_cloudwatch::types::Tag::builder().key("team").value("web").build())
        .send()
        .await
        .unwrap();
    let alarms = cw.describe_alarms().alarm_names("slow").send().await.unwrap();
    let a = &alarms.metric_alarms()[0];
    assert_eq!(a.state_value(), Some(&StateValue::InsufficientData));
    assert_eq!(a.state_reason(), Some("Unchecked: Initial alarm creation"));
    assert_eq!(a.alarm_arn(), Some("arn:aws:cloudwatch:us-east-1:111111111111:alarm:slow"));
    assert!(a.alarm_configuration_updated_timestamp().is_some());

    // The evaluator runs every 10 seconds: the breaching datapoint moves the alarm to ALARM.
    let mut state = None;
    for _ in 0..30 {
        let a = cw.describe_alarms().alarm_names("slow").send().await.unwrap();
        state = a.metric_alarms()[0].state_value().cloned();
        if state == Some(StateValue::Alarm) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(state, Some(StateValue::Alarm));
    let history = cw.describe_alarm_history().alarm_name("slow").send().await.unwrap();
    let summaries: Vec<&str> = history.alarm_history_items().iter().filter_map(|h| h.history_summary()).collect();
    assert_eq!(summaries, ["Alarm updated from INSUFFICIENT_DATA to ALARM", "Alarm \"slow\" created"]);

    cw.set_alarm_state().alarm_name("slow").state_value(StateValue::Ok).state_reason("by hand").send().await.unwrap();
    let a = cw.describe_alarms().alarm_names("slow").send().await.unwrap();
    assert_eq!(a.metric_alarms()[0].state_reason(), Some("by hand"));
    let tags = cw
        .list_tags_for_resource()
        .resource_arn("arn:aws:cloudwatch:us-east-1:111111111111:alarm:slow")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].key(), Some("team"));

    // CloudWatch's error codes reach the SDK through x-amzn-query-error.
    let e = cw
        .put_metric_alarm()
        .alarm_name("bad")
        .namespace("App")
        .metric_name("Latency")
        .statistic(Statistic::Sum)
        .period(45)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await;
    assert_eq!(code(e), "InvalidParameterValue");
    let e = cw.set_alarm_state().alarm_name("nope").state_value(StateValue::Ok).state_reason("x").send().await;
    assert_eq!(code(e), "ResourceNotFound");
    let e = cw.put_metric_data().namespace("AWS/EC2").metric_data(datum(1.0)).send().await;
    assert_eq!(code(e), "InvalidParameterValue");
    let e = cw.delete_alarms().alarm_names("nope").send().await;
    assert_eq!(code(e), "ResourceNotFound");
    cw.delete_alarms().alarm_names("slow").send().await.unwrap();
    assert!(cw.describe_alarms().send().await.unwrap().metric_alarms().is_empty());

    // Recorded as CloudWatch records calls: alarms as management events, metric data as data events.
    assert_eq!(server.terminate().code(), Some(0));
    let events = journal_events(&dir.0.join("data"));
    let put = events.iter().find(|e| e["eventName"] == "PutMetricAlarm").unwrap();
    assert_eq!(put["eventSource"], "monitoring.amazonaws.com");
    assert_eq!(put["managementEvent"], true);
    let data = events.iter().find(|e| e["eventName"] == "PutMetricData").unwrap();
    assert_eq!(data["eventCategory"], "Data");
    assert!(data["requestParameters"].to_string().contains("Latency"));
    assert!(!data["requestParameters"].to_string().contains("30"), "values are not recorded");
}

#[test]
fn json_and_query_protocols_answer_in_kind() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let as_mgmt = Signing::as_(MGMT);
    let json10 = [
        ("x-amz-target", "GraniteServiceVersion20100801.DescribeAlarms"),
        ("content-type", "application/x-amz-json-1.0"),
    ];
    let r = raw_to(&server, "/", "monitoring", &json10, b"{}", as_mgmt);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"MetricAlarms": []}));
    let bad = [
        ("x-amz-target", "GraniteServiceVersion20100801.SetAlarmState"),
        ("content-type", "application/x-amz-json-1.0"),
    ];
    let r =
        raw_to(&server, "/", "monitoring", &bad, br#"{"AlarmName":"x","StateValue":"OK","StateReason":"r"}"#, as_mgmt);
    assert_eq!((r.status, r.header("x-amzn-query-error")), (404, Some("ResourceNotFound;Sender")));

    let form = [("content-type", "application/x-www-form-urlencoded")];
    let body = b"Action=PutMetricData&Version=2010-08-01&Namespace=Q&MetricData.member.1.MetricName=m&MetricData.member.1.Value=2";
    let r = raw_to(&server, "/", "monitoring", &form, body, as_mgmt);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.starts_with("<PutMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">"));
    let r = raw_to(&server, "/", "monitoring", &form, b"Action=ListMetrics&Version=2010-08-01&Namespace=Q", as_mgmt);
    assert!(r.text.contains("<Metrics><member><Namespace>Q</Namespace><MetricName>m</MetricName>"), "{}", r.text);
    let r = raw_to(
        &server,
        "/",
        "monitoring",
        &form,
        b"Action=PutMetricData&Version=2010-08-01&Namespace=AWS%2FX",
        as_mgmt,
    );
    assert_eq!(r.status, 400);
    assert!(r.text.contains("<Code>InvalidParameterValue</Code>"), "{}", r.text);
    let r = raw_to(&server, "/", "monitoring", &form, b"Action=Frobnicate&Version=2010-08-01", as_mgmt);
    assert!(r.text.contains("<Code>InvalidAction</Code>"), "{}", r.text);
    // A wrong signature: refused before anything runs.
    let wrong = Signing::Headers { akid: MGMT.1, secret: "not-the-secret", at: SystemTime::now() };
    let r = raw_to(&server, "/", "monitoring", &form, b"Action=PutMetricData&Version=2010-08-01&Namespace=W", wrong);
    assert!(r.status >= 400 && r.text.contains("<Code>InvalidSignatureException</Code>"), "{}", r.text);
}

#[tokio::test]
async fn topics_subscriptions_and_signed_notifications() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let sns = server.sns_client(MGMT, REGION);
    let topic = sns.create_topic().name("alerts").send().await.unwrap().topic_arn().unwrap().to_string();
    assert_eq!(topic, "arn:aws:sns:us-east-1:111111111111:alerts");
    // Idempotent.
    assert_eq!(sns.create_topic().name("alerts").send().await.unwrap().topic_arn(), Some(topic.as_str()));
    let mut sub = Subscriber::start().await;
    let arn = subscribe(&server, &topic, &mut sub).await;

    let id = sns.publish().topic_arn(&topic).subject("Hello").message("first").send().await.unwrap();
    let (headers, msg) = sub.next(Duration::from_secs(10)).await;
    assert_eq!(header(&headers, "x-amz-sns-message-type"), "Notification");
    assert_eq!(header(&headers, "x-amz-sns-subscription-arn"), arn);
    assert_eq!(msg["MessageId"].as_str(), id.message_id());
    assert_eq!((msg["Subject"].as_str(), msg["Message"].as_str()), (Some("Hello"), Some("first")));
    verify_signature(&msg);
    let attrs = sns.get_topic_attributes().topic_arn(&topic).send().await.unwrap();
    assert_eq!(attrs.attributes().unwrap()["SubscriptionsConfirmed"], "1");
    assert!(attrs.attributes().unwrap()["Policy"].contains("AWS:SourceOwner"));

    // Another account may not publish until the topic policy lets it.
    let outsider = server.sns_client(OUTSIDER, REGION);
    assert_eq!(code(outsider.publish().topic_arn(&topic).message("x").send().await), "AuthorizationError");
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "333333333333"},
                        "Action": "SNS:Publish", "Resource": topic}]});
    set_topic_policy(&sns, &topic, &policy).await;
    outsider.publish().topic_arn(&topic).message("from outside").send().await.unwrap();
    assert_eq!(sub.next(Duration::from_secs(10)).await.1["Message"], "from outside");

    // SNS's errors.
    assert_eq!(code(sns.publish().topic_arn(format!("{topic}-x")).message("x").send().await), "NotFound");
    assert_eq!(code(sns.publish().topic_arn(&topic).message("").send().await), "InvalidParameter");
    assert_eq!(code(sns.create_topic().name("bad.name").send().await), "InvalidParameter");
    let e = sns.subscribe().topic_arn(&topic).protocol("email").endpoint("a@example.com").send().await;
    assert_eq!(code(e), "InvalidParameter");
    let e = sns.set_topic_attributes().topic_arn(&topic).attribute_name("Policy").attribute_value("{").send().await;
    assert_eq!(code(e), "InvalidParameter");

    sns.unsubscribe().subscription_arn(&arn).send().await.unwrap();
    let (_, bye) = sub.next(Duration::from_secs(10)).await;
    assert_eq!(bye["Type"], "UnsubscribeConfirmation");
    verify_signature(&bye);
    sns.delete_topic().topic_arn(&topic).send().await.unwrap();
    assert!(sns.list_topics().send().await.unwrap().topics().is_empty());
}

#[tokio::test]
async fn an_alarm_notifies_its_topic_as_cloudwatch_does() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let sns = server.sns_client(MGMT, REGION);
    let cw = server.cloudwatch_client(MGMT, REGION);
    let topic = sns.create_topic().name("pager").send().await.unwrap().topic_arn().unwrap().to_string();
    let mut sub = Subscriber::start().await;
    subscribe(&server, &topic, &mut sub).await;
    cw.put_metric_alarm()
        .alarm_name("root-login")
        .alarm_description("Root signed in")
        .namespace("CISBenchmark")
        .metric_name("RootUsage")
        .statistic(Statistic::Sum)
        .period(300)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .alarm_actions(&topic)
        .treat_missing_data("notBreaching")
        .send()
        .await
        .unwrap();
    let one = MetricDatum::builder().metric_name("RootUsage").value(1.0).build();
    cw.put_metric_data().namespace("CISBenchmark").metric_data(one).send().await.unwrap();

    let (_, msg) = sub.next(Duration::from_secs(40)).await;
    assert_eq!(msg["Subject"], "ALARM: \"root-login\" in US East (N. Virginia)");
    verify_signature(&msg);
    let body: Value = serde_json::from_str(msg["Message"].as_str().unwrap()).unwrap();
    assert_eq!(body["AlarmName"], "root-login");
    assert_eq!(body["AlarmDescription"], "Root signed in");
    assert_eq!(body["NewStateValue"], "ALARM");
    assert_eq!(body["Region"], "US East (N. Virginia)");
    assert_eq!(body["Trigger"]["Statistic"], "SUM");
    assert_eq!(body["Trigger"]["TreatMissingData"], "notBreaching");
    assert!(body["NewStateReason"].as_str().unwrap().starts_with("Threshold Crossed: 1 datapoint [1.0 ("));
    assert!(body["StateChangeTime"].as_str().unwrap().ends_with("+0000"));
    let history =
        cw.describe_alarm_history().alarm_name("root-login").history_item_type("Action".into()).send().await.unwrap();
    let summary = history.alarm_history_items()[0].history_summary().unwrap();
    assert_eq!(summary, format!("Successfully executed action {topic}"));
}

#[tokio::test]
async fn a_trail_needs_a_topic_policy_that_lets_cloudtrail_publish() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let sns = server.sns_client(MGMT, REGION);
    let ct = server.client(MGMT, REGION);
    let topic = sns.create_topic().name("trail-files").send().await.unwrap().topic_arn().unwrap().to_string();
    let create = || ct.create_trail().name("audit").s3_bucket_name("trail-bucket").sns_topic_name("trail-files").send();
    assert_eq!(code(create().await), "InsufficientSnsTopicPolicyException");
    assert_eq!(
        code(ct.create_trail().name("audit").s3_bucket_name("trail-bucket").sns_topic_name("missing").send().await),
        "InsufficientSnsTopicPolicyException"
    );
    assert!(ct.describe_trails().send().await.unwrap().trail_list().is_empty(), "nothing was created");
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "AWSCloudTrailSNSPolicy", "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "SNS:Publish", "Resource": topic,
        "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/audit"}}}]});
    set_topic_policy(&sns, &topic, &policy).await;
    let created = create().await.unwrap();
    assert_eq!(created.sns_topic_arn(), Some(topic.as_str()));
}
