//! CloudWatch Logs through `aws-sdk-cloudwatchlogs`: log groups and streams with AWS's names, limits and errors,
//! PutLogEvents' batch rules, GetLogEvents' tokens in both directions, FilterLogEvents with filter patterns and
//! pagination, metric filters and TestMetricFilter, tags, retention, the calls recorded as CloudTrail records them,
//! and acknowledged events surviving a SIGKILL.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::types::{InputLogEvent, MetricTransformation, OrderBy};
use aws_sdk_cloudwatchlogs::Client;

use crate::common::*;
use crate::delivery::http_get;

const REGION: &str = "eu-west-1";

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn event(ts: i64, message: &str) -> InputLogEvent {
    InputLogEvent::builder().timestamp(ts).message(message).build().unwrap()
}

fn transformation(value: &str) -> MetricTransformation {
    MetricTransformation::builder().metric_name("Hits").metric_namespace("App").metric_value(value).build().unwrap()
}

async fn put(logs: &Client, group: &str, stream: &str, events: Vec<InputLogEvent>) {
    let r =
        logs.put_log_events().log_group_name(group).log_stream_name(stream).set_log_events(Some(events)).send().await;
    assert!(r.unwrap().rejected_log_events_info().is_none());
}

#[tokio::test]
async fn log_groups_and_streams_follow_aws() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let logs = server.logs_client(MGMT, REGION);

    logs.create_log_group().log_group_name("/app/web").tags("team", "core").send().await.unwrap();
    logs.create_log_group().log_group_name("/app/worker").send().await.unwrap();
    logs.create_log_group().log_group_name("other").send().await.unwrap();
    assert_eq!(code(logs.create_log_group().log_group_name("/app/web").send().await), "ResourceAlreadyExistsException");
    for bad in ["has space", "colon:name", &"x".repeat(513)] {
        assert_eq!(
            code(logs.create_log_group().log_group_name(bad).send().await),
            "InvalidParameterException",
            "{bad}"
        );
    }
    assert_eq!(code(logs.create_log_group().log_group_name("aws/reserved").send().await), "InvalidParameterException");

    // Listing: by prefix, in pages, with AWS's members.
    let page = logs.describe_log_groups().log_group_name_prefix("/app/").limit(1).send().await.unwrap();
    assert_eq!(page.log_groups().len(), 1);
    let first = &page.log_groups()[0];
    assert_eq!(first.log_group_name(), Some("/app/web"));
    assert_eq!(first.arn(), Some(format!("arn:aws:logs:{REGION}:{}:log-group:/app/web:*", MGMT.0).as_str()));
    assert_eq!(first.log_group_arn(), Some(format!("arn:aws:logs:{REGION}:{}:log-group:/app/web", MGMT.0).as_str()));
    assert_eq!((first.retention_in_days(), first.metric_filter_count()), (None, Some(0)));
    let next = logs
        .describe_log_groups()
        .log_group_name_prefix("/app/")
        .limit(1)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(next.log_groups()[0].log_group_name(), Some("/app/worker"));
    assert!(next.next_token().is_none());
    let pattern = logs.describe_log_groups().log_group_name_pattern("work").send().await.unwrap();
    assert_eq!(pattern.log_groups().len(), 1);
    // Another account sees none of them; its own names are free.
    let member = server.logs_client(MEMBER, REGION);
    assert!(member.describe_log_groups().send().await.unwrap().log_groups().is_empty());
    member.create_log_group().log_group_name("/app/web").send().await.unwrap();

    // Retention: AWS's values only.
    assert_eq!(
        code(logs.put_retention_policy().log_group_name("/app/web").retention_in_days(4).send().await),
        "InvalidParameterException"
    );
    logs.put_retention_policy().log_group_name("/app/web").retention_in_days(30).send().await.unwrap();
    let g = logs.describe_log_groups().log_group_name_prefix("/app/web").send().await.unwrap();
    assert_eq!(g.log_groups()[0].retention_in_days(), Some(30));
    logs.delete_retention_policy().log_group_name("/app/web").send().await.unwrap();
    let g = logs.describe_log_groups().log_group_name_prefix("/app/web").send().await.unwrap();
    assert_eq!(g.log_groups()[0].retention_in_days(), None);
    assert_eq!(
        code(logs.put_retention_policy().log_group_name("/nope").retention_in_days(1).send().await),
        "ResourceNotFoundException"
    );

    // Streams.
    for s in ["b-stream", "a-stream", "c-stream"] {
        logs.create_log_stream().log_group_name("/app/web").log_stream_name(s).send().await.unwrap();
    }
    assert_eq!(
        code(logs.create_log_stream().log_group_name("/app/web").log_stream_name("a-stream").send().await),
        "ResourceAlreadyExistsException"
    );
    assert_eq!(
        code(logs.create_log_stream().log_group_name("/app/web").log_stream_name("bad:name").send().await),
        "InvalidParameterException"
    );
    assert_eq!(
        code(logs.create_log_stream().log_group_name("/nope").log_stream_name("s").send().await),
        "ResourceNotFoundException"
    );
    let now = now_ms();
    put(&logs, "/app/web", "c-stream", vec![event(now - 5_000, "older")]).await;
    put(&logs, "/app/web", "a-stream", vec![event(now - 1_000, "newer")]).await;
    let streams = logs.describe_log_streams().log_group_name("/app/web").send().await.unwrap();
    let names: Vec<_> = streams.log_streams().iter().map(|s| s.log_stream_name().unwrap()).collect();
    assert_eq!(names, ["a-stream", "b-stream", "c-stream"]);
    let a = &streams.log_streams()[0];
    assert_eq!((a.first_event_timestamp(), a.last_event_timestamp()), (Some(now - 1_000), Some(now - 1_000)));
    assert!(a.arn().unwrap().ends_with("log-group:/app/web:log-stream:a-stream"));
    let by_time = logs
        .describe_log_streams()
        .log_group_name("/app/web")
        .order_by(OrderBy::LastEventTime)
        .descending(true)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = by_time.log_streams().iter().map(|s| s.log_stream_name().unwrap()).collect();
    assert_eq!(names, ["a-stream", "c-stream", "b-stream"]);
    assert_eq!(
        code(
            logs.describe_log_streams()
                .log_group_name("/app/web")
                .order_by(OrderBy::LastEventTime)
                .log_stream_name_prefix("a")
                .send()
                .await
        ),
        "InvalidParameterException"
    );
    let paged = logs.describe_log_streams().log_group_name("/app/web").limit(2).send().await.unwrap();
    let rest = logs
        .describe_log_streams()
        .log_group_name("/app/web")
        .next_token(paged.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!((paged.log_streams().len(), rest.log_streams().len()), (2, 1));

    // Tags, by ARN and by the older calls.
    let arn = format!("arn:aws:logs:{REGION}:{}:log-group:/app/web", MGMT.0);
    logs.tag_resource().resource_arn(&arn).tags("env", "prod").send().await.unwrap();
    let tags = logs.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert_eq!(tags.tags().unwrap().len(), 2);
    logs.untag_resource().resource_arn(&arn).tag_keys("team").send().await.unwrap();
    #[allow(deprecated)]
    let old = logs.list_tags_log_group().log_group_name("/app/web").send().await.unwrap();
    assert_eq!(old.tags().unwrap().get("env").map(String::as_str), Some("prod"));
    let mut many = logs.tag_resource().resource_arn(&arn);
    for i in 0..50 {
        many = many.tags(format!("k{i}"), "v");
    }
    assert_eq!(code(many.send().await), "TooManyTagsException");
    assert_eq!(
        code(logs.list_tags_for_resource().resource_arn(format!("{arn}-gone")).send().await),
        "ResourceNotFoundException"
    );

    // Deleting.
    logs.delete_log_stream().log_group_name("/app/web").log_stream_name("b-stream").send().await.unwrap();
    assert_eq!(
        code(logs.delete_log_stream().log_group_name("/app/web").log_stream_name("b-stream").send().await),
        "ResourceNotFoundException"
    );
    logs.delete_log_group().log_group_name("/app/web").send().await.unwrap();
    assert_eq!(code(logs.delete_log_group().log_group_name("/app/web").send().await), "ResourceNotFoundException");
    logs.create_log_group().log_group_name("/app/web").send().await.unwrap();
    let fresh = logs.describe_log_streams().log_group_name("/app/web").send().await.unwrap();
    assert!(fresh.log_streams().is_empty(), "a deleted group takes its streams with it");
}

#[tokio::test]
async fn log_events_go_in_and_come_out_as_aws_answers() {
    let dir = TempDir::new();
    let mut server = Server::start(&dir);
    let logs = server.logs_client(MGMT, REGION);
    logs.create_log_group().log_group_name("app").send().await.unwrap();
    logs.create_log_stream().log_group_name("app").log_stream_name("s1").send().await.unwrap();
    logs.create_log_stream().log_group_name("app").log_stream_name("s2").send().await.unwrap();
    let now = now_ms();

    // The batch rules.
    let unordered = vec![event(now, "b"), event(now - 1, "a")];
    let r =
        logs.put_log_events().log_group_name("app").log_stream_name("s1").set_log_events(Some(unordered)).send().await;
    assert_eq!(code(r), "InvalidParameterException");
    let wide = vec![event(now - 25 * 3_600_000, "a"), event(now, "b")];
    let r = logs.put_log_events().log_group_name("app").log_stream_name("s1").set_log_events(Some(wide)).send().await;
    assert_eq!(code(r), "InvalidParameterException");
    let big = vec![event(now, &"x".repeat(600_000)), event(now, &"y".repeat(600_000))];
    let r = logs.put_log_events().log_group_name("app").log_stream_name("s1").set_log_events(Some(big)).send().await;
    assert_eq!(code(r), "InvalidParameterException");
    let r =
        logs.put_log_events().log_group_name("app").log_stream_name("nope").log_events(event(now, "x")).send().await;
    assert_eq!(code(r), "ResourceNotFoundException");
    // Too old and too new events are refused, the rest kept.
    let mixed = vec![
        event(now - 15 * 86_400_000, "ancient"),
        event(now - 120_000, "kept"),
        event(now + 3 * 3_600_000, "future"),
    ];
    let r = logs.put_log_events().log_group_name("app").log_stream_name("s1").set_log_events(Some(mixed)).send().await;
    let info = r.unwrap().rejected_log_events_info().cloned().unwrap();
    assert_eq!((info.too_old_log_event_end_index(), info.too_new_log_event_start_index()), (Some(0), Some(2)));

    // 30 events over two streams, JSON and text.
    let mut s1 = Vec::new();
    let mut s2 = Vec::new();
    for i in 0..15i64 {
        s1.push(event(
            now - 60_000 + i * 1_000,
            &format!(r#"{{"eventName":"Call{i}","errorCode":"{}"}}"#, if i % 3 == 0 { "AccessDenied" } else { "" }),
        ));
        s2.push(event(now - 59_500 + i * 1_000, &format!("ERROR {i} request failed")));
    }
    put(&logs, "app", "s1", s1).await;
    put(&logs, "app", "s2", s2).await;

    // GetLogEvents: the newest by default, from the head on request, and tokens both ways.
    let tail = logs.get_log_events().log_group_name("app").log_stream_name("s1").limit(5).send().await.unwrap();
    let messages: Vec<_> = tail.events().iter().map(|e| e.message().unwrap().to_string()).collect();
    assert_eq!(messages.len(), 5);
    assert!(messages[4].contains("Call14"), "{messages:?}");
    assert!(tail.events()[0].ingestion_time().is_some());
    let head = logs
        .get_log_events()
        .log_group_name("app")
        .log_stream_name("s1")
        .start_from_head(true)
        .limit(4)
        .send()
        .await
        .unwrap();
    assert_eq!(head.events()[0].message(), Some("kept"));
    let forward = logs
        .get_log_events()
        .log_group_name("app")
        .log_stream_name("s1")
        .next_token(head.next_forward_token().unwrap())
        .limit(4)
        .send()
        .await
        .unwrap();
    assert!(forward.events()[0].message().unwrap().contains("Call3"));
    let back = logs
        .get_log_events()
        .log_group_name("app")
        .log_stream_name("s1")
        .next_token(forward.next_backward_token().unwrap())
        .limit(4)
        .send()
        .await
        .unwrap();
    let again: Vec<_> = back.events().iter().map(|e| e.message().unwrap()).collect();
    let first: Vec<_> = head.events().iter().map(|e| e.message().unwrap()).collect();
    assert_eq!(again, first);
    // At the end of the stream the forward token comes back as it was given.
    let end =
        logs.get_log_events().log_group_name("app").log_stream_name("s1").start_from_head(true).send().await.unwrap();
    let token = end.next_forward_token().unwrap().to_string();
    let still =
        logs.get_log_events().log_group_name("app").log_stream_name("s1").next_token(&token).send().await.unwrap();
    assert!(still.events().is_empty());
    assert_eq!(still.next_forward_token(), Some(token.as_str()));
    let windowed = logs
        .get_log_events()
        .log_group_name("app")
        .log_stream_name("s2")
        .start_time(now - 59_500)
        .end_time(now - 56_500)
        .start_from_head(true)
        .send()
        .await
        .unwrap();
    assert_eq!(windowed.events().len(), 3);
    let bad_token = logs.get_log_events().log_group_name("app").log_stream_name("s1").next_token("f00zz").send().await;
    assert_eq!(code(bad_token), "InvalidParameterException");

    // FilterLogEvents: patterns over both streams in time order, pages, stream choices.
    let denied = logs
        .filter_log_events()
        .log_group_name("app")
        .filter_pattern(r#"{ $.errorCode = "AccessDenied*" }"#)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = denied.events().iter().map(|e| e.message().unwrap()).collect();
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(denied.events().iter().all(|e| e.log_stream_name() == Some("s1") && e.event_id().is_some()));
    let errors = logs.filter_log_events().log_group_name("app").filter_pattern("ERROR -failed").send().await.unwrap();
    assert!(errors.events().is_empty());
    let all = logs.filter_log_events().log_group_name("app").send().await.unwrap();
    let stamps: Vec<i64> = all.events().iter().map(|e| e.timestamp().unwrap()).collect();
    assert_eq!(stamps.len(), 31);
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "interleaved in time order");
    let mut pages = 0;
    let mut seen = 0;
    let mut token: Option<String> = None;
    loop {
        let p = logs
            .filter_log_events()
            .log_group_name("app")
            .filter_pattern("%request fail%")
            .limit(4)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        seen += p.events().len();
        pages += 1;
        match p.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!((seen, pages), (15, 4));
    let only = logs
        .filter_log_events()
        .log_group_name("app")
        .log_stream_names("s2")
        .filter_pattern("\"ERROR 1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(only.events().len(), 6, "ERROR 1, 10-14");
    let r = logs.filter_log_events().log_group_name("app").filter_pattern("{ $.a IS NOT NULL }").send().await;
    assert_eq!(code(r), "InvalidParameterException");
    let r =
        logs.filter_log_events().log_group_name("app").log_stream_names("s1").log_stream_name_prefix("s").send().await;
    assert_eq!(code(r), "InvalidParameterException");

    // A retention shorter than an event's age hides it at once.
    logs.put_retention_policy().log_group_name("app").retention_in_days(1).send().await.unwrap();
    logs.create_log_stream().log_group_name("app").log_stream_name("old").send().await.unwrap();
    let r = logs
        .put_log_events()
        .log_group_name("app")
        .log_stream_name("old")
        .log_events(event(now - 2 * 86_400_000, "stale"))
        .send()
        .await;
    assert_eq!(r.unwrap().rejected_log_events_info().unwrap().expired_log_event_end_index(), Some(0));

    // Acknowledged events survive a SIGKILL.
    server.kill();
    let server = Server::start(&dir);
    let logs = server.logs_client(MGMT, REGION);
    let all = logs.filter_log_events().log_group_name("app").send().await.unwrap();
    assert_eq!(all.events().len(), 31);
}

#[tokio::test]
async fn metric_filters_follow_aws() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let logs = server.logs_client(MGMT, REGION);
    logs.create_log_group().log_group_name("trail").send().await.unwrap();

    let cis = r#"{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }"#;
    logs.put_metric_filter()
        .log_group_name("trail")
        .filter_name("unauthorized")
        .filter_pattern(cis)
        .metric_transformations(transformation("1"))
        .send()
        .await
        .unwrap();
    let with_dims = MetricTransformation::builder()
        .metric_name("Bytes")
        .metric_namespace("Web")
        .metric_value("$bytes")
        .dimensions("Server", "$server")
        .unit(aws_sdk_cloudwatchlogs::types::StandardUnit::Bytes)
        .build()
        .unwrap();
    logs.put_metric_filter()
        .log_group_name("trail")
        .filter_name("bytes")
        .filter_pattern("[ip, server, user, timestamp, request, status, bytes]")
        .metric_transformations(with_dims)
        .send()
        .await
        .unwrap();
    let listed = logs.describe_metric_filters().log_group_name("trail").send().await.unwrap();
    let names: Vec<_> = listed.metric_filters().iter().map(|f| f.filter_name().unwrap()).collect();
    assert_eq!(names, ["bytes", "unauthorized"]);
    let t = &listed.metric_filters()[0].metric_transformations()[0];
    assert_eq!(
        (t.metric_value(), t.dimensions().unwrap().get("Server").map(String::as_str)),
        ("$bytes", Some("$server"))
    );
    let by_metric = logs.describe_metric_filters().metric_name("Hits").metric_namespace("App").send().await.unwrap();
    assert_eq!(by_metric.metric_filters().len(), 1);
    let g = logs.describe_log_groups().log_group_name_prefix("trail").send().await.unwrap();
    assert_eq!(g.log_groups()[0].metric_filter_count(), Some(2));

    // What AWS refuses.
    let refused = [
        ("{ $.a = 'x' }", transformation("1")),
        (
            "ERROR",
            MetricTransformation::builder()
                .metric_name("M")
                .metric_namespace("N")
                .metric_value("1")
                .dimensions("D", "$d")
                .build()
                .unwrap(),
        ),
        (
            "{ $.a = 1 }",
            MetricTransformation::builder()
                .metric_name("M")
                .metric_namespace("N")
                .metric_value("1")
                .default_value(0.0)
                .dimensions("D", "$.d")
                .build()
                .unwrap(),
        ),
        ("ERROR", transformation("$.latency")),
        (
            "{ $.a = 1 }",
            MetricTransformation::builder().metric_name("M:x").metric_namespace("N").metric_value("1").build().unwrap(),
        ),
    ];
    for (pattern, t) in refused {
        let r = logs
            .put_metric_filter()
            .log_group_name("trail")
            .filter_name("x")
            .filter_pattern(pattern)
            .metric_transformations(t)
            .send()
            .await;
        assert_eq!(code(r), "InvalidParameterException", "{pattern}");
    }
    let r = logs
        .put_metric_filter()
        .log_group_name("none")
        .filter_name("x")
        .filter_pattern("")
        .metric_transformations(transformation("1"))
        .send()
        .await;
    assert_eq!(code(r), "ResourceNotFoundException");
    // 100 filters per group; at most 5 of them with regular expressions.
    for i in 0..98 {
        let pattern = if i < 5 { format!("%x{i}%") } else { format!("T{i}") };
        logs.put_metric_filter()
            .log_group_name("trail")
            .filter_name(format!("f{i}"))
            .filter_pattern(pattern)
            .metric_transformations(transformation("1"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("filter {i}: {e:?}"));
    }
    let r = logs
        .put_metric_filter()
        .log_group_name("trail")
        .filter_name("regex6")
        .filter_pattern("%y%")
        .metric_transformations(transformation("1"))
        .send()
        .await;
    assert_eq!(code(r), "LimitExceededException");
    let r = logs
        .put_metric_filter()
        .log_group_name("trail")
        .filter_name("one-more")
        .filter_pattern("X")
        .metric_transformations(transformation("1"))
        .send()
        .await;
    assert_eq!(code(r), "LimitExceededException");
    // Replacing one is not a new one.
    logs.put_metric_filter()
        .log_group_name("trail")
        .filter_name("f50")
        .filter_pattern("Y")
        .metric_transformations(transformation("2"))
        .send()
        .await
        .unwrap();
    logs.delete_metric_filter().log_group_name("trail").filter_name("f50").send().await.unwrap();
    assert_eq!(
        code(logs.delete_metric_filter().log_group_name("trail").filter_name("f50").send().await),
        "ResourceNotFoundException"
    );

    // TestMetricFilter: matches with their 1-based numbers and extracted values.
    let tested = logs
        .test_metric_filter()
        .filter_pattern("[ip, user, ..., status = 4*, bytes]")
        .log_event_messages(r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#)
        .log_event_messages(r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 200 1534"#)
        .send()
        .await
        .unwrap();
    assert_eq!(tested.matches().len(), 1);
    let m = &tested.matches()[0];
    assert_eq!(m.event_number(), 1);
    let values = m.extracted_values().unwrap();
    assert_eq!(
        (values.get("$status").map(String::as_str), values.get("$4").map(String::as_str)),
        (Some("404"), Some("10/Oct/2000:13:25:15 -0700"))
    );
    let r = logs.test_metric_filter().filter_pattern("[a, ..., b, ...]").log_event_messages("x").send().await;
    assert_eq!(code(r), "InvalidParameterException");
    let fifty_one: Vec<String> = (0..51).map(|i| i.to_string()).collect();
    let r = logs.test_metric_filter().filter_pattern("").set_log_event_messages(Some(fifty_one)).send().await;
    assert_eq!(code(r), "InvalidParameterException");
}

#[tokio::test]
async fn logs_calls_are_recorded_as_cloudwatch_logs_records_them() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let logs = server.logs_client(MGMT, REGION);
    logs.create_log_group().log_group_name("audited").send().await.unwrap();
    logs.create_log_stream().log_group_name("audited").log_stream_name("s").send().await.unwrap();
    put(&logs, "audited", "s", vec![event(now_ms(), "secret payload")]).await;
    let _ = logs.delete_log_group().log_group_name("missing").send().await;
    assert_eq!(server.terminate().code(), Some(0));
    let events = journal_events(&dir.0.join("data"));
    let find = |name: &str| {
        events.iter().find(|e| e["eventSource"] == "logs.amazonaws.com" && e["eventName"] == name).cloned()
    };
    let create = find("CreateLogGroup").expect("CreateLogGroup recorded");
    assert_eq!(create["requestParameters"]["logGroupName"], "audited");
    assert_eq!(create["managementEvent"], true);
    assert_eq!(create["resources"][0]["type"], "AWS::Logs::LogGroup");
    let put = find("PutLogEvents").expect("PutLogEvents recorded");
    assert_eq!((put["managementEvent"].clone(), put["eventCategory"].clone()), (false.into(), "Data".into()));
    assert!(!put.to_string().contains("secret payload"), "log data is not recorded");
    let failed = find("DeleteLogGroup").expect("a failed call is recorded");
    assert_eq!(failed["errorCode"], "ResourceNotFoundException");
}

#[tokio::test]
async fn a_trail_sends_its_events_to_a_log_group() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, REGION);
    let logs = server.logs_client(MGMT, REGION);
    logs.create_log_group().log_group_name("CloudTrail/audit").send().await.unwrap();
    let group_arn = format!("arn:aws:logs:{REGION}:{}:log-group:CloudTrail/audit:*", MGMT.0);
    let role = format!("arn:aws:iam::{}:role/CloudTrail_CloudWatchLogs_Role", MGMT.0);
    let create = |group: String, role: String| {
        ct.create_trail()
            .name("watched")
            .s3_bucket_name("trail-bucket")
            .cloud_watch_logs_log_group_arn(group)
            .cloud_watch_logs_role_arn(role)
            .send()
    };
    // A group that does not exist, in another account, or a role of another account.
    let missing = format!("arn:aws:logs:{REGION}:{}:log-group:nope:*", MGMT.0);
    assert_eq!(code(create(missing, role.clone()).await), "InvalidCloudWatchLogsLogGroupArnException");
    let elsewhere = format!("arn:aws:logs:{REGION}:{}:log-group:CloudTrail/audit:*", MEMBER.0);
    assert_eq!(code(create(elsewhere, role.clone()).await), "InvalidCloudWatchLogsLogGroupArnException");
    let foreign_role = format!("arn:aws:iam::{}:role/R", MEMBER.0);
    assert_eq!(code(create(group_arn.clone(), foreign_role).await), "InvalidCloudWatchLogsRoleArnException");
    let trail = create(group_arn.clone(), role.clone()).await.unwrap();
    assert_eq!(trail.cloud_watch_logs_log_group_arn(), Some(group_arn.as_str()));
    let not_found = MetricTransformation::builder()
        .metric_name("NotFound")
        .metric_namespace("CloudTrailMetrics")
        .metric_value("1")
        .build()
        .unwrap();
    logs.put_metric_filter()
        .log_group_name("CloudTrail/audit")
        .filter_name("not-found")
        .filter_pattern(r#"{ $.errorCode = "TrailNotFound*" }"#)
        .metric_transformations(not_found)
        .send()
        .await
        .unwrap();
    ct.start_logging().name("watched").send().await.unwrap();

    // Calls after logging started reach the stream of the account and region, CIS patterns match them.
    let denied = ct.get_trail().name("no-such-trail").send().await;
    assert_eq!(code(denied), "TrailNotFoundException");
    ct.describe_trails().send().await.unwrap();
    let stream = format!("{}_CloudTrail_{REGION}", MGMT.0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let events = loop {
        let r = logs.filter_log_events().log_group_name("CloudTrail/audit").send().await.unwrap();
        if r.events().iter().any(|e| e.message().unwrap().contains("\"DescribeTrails\"")) {
            break r.events().to_vec();
        }
        assert!(std::time::Instant::now() < deadline, "no CloudTrail events in the log group");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(events.iter().all(|e| e.log_stream_name() == Some(stream.as_str())));
    let record: serde_json::Value = serde_json::from_str(events.last().unwrap().message().unwrap()).unwrap();
    assert_eq!(record["eventSource"], "cloudtrail.amazonaws.com");
    let first: serde_json::Value = serde_json::from_str(events[0].message().unwrap()).unwrap();
    let time = cairn_model::event::event_time_millis(first["eventTime"].as_str().unwrap()).unwrap();
    assert_eq!(events[0].timestamp(), Some(time), "the log event's time is the event's");
    let not_found = logs
        .filter_log_events()
        .log_group_name("CloudTrail/audit")
        .filter_pattern(r#"{ ($.eventSource = cloudtrail.amazonaws.com) && ($.errorCode = "TrailNotFound*") }"#)
        .send()
        .await
        .unwrap();
    assert_eq!(not_found.events().len(), 1);
    // The group's metric filter counted the delivered event once.
    let metrics = http_get(&server, "/metrics");
    let counted = format!(
        "cairn_cloudwatch_metric_samples_total{{account=\"{}\",region=\"{REGION}\",namespace=\"CloudTrailMetrics\",metric=\"NotFound\",dimensions=\"\"}} 1",
        MGMT.0
    );
    assert!(metrics.lines().any(|l| l == counted), "{counted} not in\n{metrics}");
    let status = ct.get_trail_status().name("watched").send().await.unwrap();
    assert!(status.latest_cloud_watch_logs_delivery_time().is_some());
    assert!(status.latest_cloud_watch_logs_delivery_error().is_none());

    // A deleted group: the trail reports why its events do not arrive.
    logs.delete_log_group().log_group_name("CloudTrail/audit").send().await.unwrap();
    ct.describe_trails().send().await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = ct.get_trail_status().name("watched").send().await.unwrap();
        if let Some(error) = status.latest_cloud_watch_logs_delivery_error() {
            assert!(error.contains("CloudTrail/audit"), "{error}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no delivery error reported");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn metric_filters_publish_metrics_that_prometheus_can_scrape() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let logs = server.logs_client(MGMT, REGION);
    logs.create_log_group().log_group_name("web").send().await.unwrap();
    logs.create_log_stream().log_group_name("web").log_stream_name("s").send().await.unwrap();
    // Latency from JSON events, by method; a count of errors with 0 for quiet minutes; bytes from access lines.
    let latency = MetricTransformation::builder()
        .metric_name("Latency")
        .metric_namespace("Web")
        .metric_value("$.latency")
        .dimensions("Method", "$.method")
        .build()
        .unwrap();
    logs.put_metric_filter()
        .log_group_name("web")
        .filter_name("latency")
        .filter_pattern("{ $.latency = * }")
        .metric_transformations(latency)
        .send()
        .await
        .unwrap();
    let errors = MetricTransformation::builder()
        .metric_name("Errors")
        .metric_namespace("Web")
        .metric_value("1")
        .default_value(0.0)
        .build()
        .unwrap();
    logs.put_metric_filter()
        .log_group_name("web")
        .filter_name("errors")
        .filter_pattern("{ $.status >= 500 }")
        .metric_transformations(errors)
        .send()
        .await
        .unwrap();
    let bytes = MetricTransformation::builder()
        .metric_name("Bytes")
        .metric_namespace("Web")
        .metric_value("$bytes")
        .build()
        .unwrap();
    logs.put_metric_filter()
        .log_group_name("web")
        .filter_name("bytes")
        .filter_pattern("[ip, user, ..., status, bytes]")
        .metric_transformations(bytes)
        .send()
        .await
        .unwrap();

    let minute = (now_ms() - 10 * 60_000).div_euclid(60_000) * 60_000;
    let events = vec![
        event(minute, r#"{"latency": 120, "method": "GET", "status": 200}"#),
        event(minute + 1_000, r#"{"latency": 80, "method": "GET", "status": 503}"#),
        event(minute + 2_000, r#"{"latency": 40, "method": "PUT", "status": 200}"#),
        event(minute + 3_000, r#"{"latency": "slow", "status": 200}"#),
        // The next minute: no error, so the default value 0 is published for it.
        event(minute + 61_000, r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET / HTTP/1.0" 200 1534"#),
    ];
    put(&logs, "web", "s", events).await;
    let metrics = http_get(&server, "/metrics");
    let line = |metric: &str, dims: &str, kind: &str| {
        let prefix = format!(
            "cairn_cloudwatch_metric_{kind}_total{{account=\"{}\",region=\"{REGION}\",namespace=\"Web\",metric=\"{metric}\",dimensions=\"{dims}\"}} ",
            MGMT.0
        );
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
            .unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"))
    };
    assert_eq!(
        (line("Latency", "Method=GET", "samples"), line("Latency", "Method=GET", "sum")),
        ("2".into(), "200".into())
    );
    assert_eq!(line("Latency", "Method=PUT", "sum"), "40");
    // An event without a number publishes nothing; errors: 1 in the first minute, the default 0 in the second.
    assert_eq!((line("Errors", "", "samples"), line("Errors", "", "sum")), ("2".into(), "1".into()));
    assert_eq!((line("Bytes", "", "samples"), line("Bytes", "", "sum")), ("1".into(), "1534".into()));
}
