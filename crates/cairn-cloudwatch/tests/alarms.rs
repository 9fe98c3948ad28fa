//! Alarms driven by the clock without waiting: metrics put at chosen times, evaluations at chosen times, and the
//! states, reasons, history and notifications CloudWatch would produce.

use std::sync::Arc;

use cairn_api::wire::Node;
use cairn_api::ErrorCode;
use cairn_cloudwatch::{Call, CloudWatch, Operation};
use serde_json::{json, Value};

const T0: i64 = 1_796_464_800_000; // 2026-12-05T10:00:00Z
const MIN: i64 = 60_000;

struct Fixture {
    cw: CloudWatch,
    dir: std::path::PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fixture(name: &str) -> Fixture {
    let dir = std::env::temp_dir().join(format!("cairn-cw-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let metrics = Arc::new(cairn_metrics::Metrics::open(&dir.join("metrics")).unwrap());
    Fixture { cw: CloudWatch::open(&dir.join("cloudwatch"), metrics).unwrap(), dir }
}

fn call(cw: &CloudWatch, now: i64, op: Operation, input: Value) -> Result<Value, ErrorCode> {
    let c = Call { account: "111111111111", region: "us-east-1", now_ms: now };
    cw.call(&c, op, &input).map(|(n, _)| n.to_json()).map_err(|e| e.code)
}

fn put(cw: &CloudWatch, at: i64, value: f64) {
    call(
        cw,
        at,
        Operation::PutMetricData,
        json!({"Namespace": "CISBenchmark", "MetricData": [{"MetricName": "RootUsage", "Value": value, "Timestamp": at as f64 / 1000.0}]}),
    )
    .unwrap();
}

fn alarm(cw: &CloudWatch, extra: Value) {
    let mut input = json!({
        "AlarmName": "root-usage", "Namespace": "CISBenchmark", "MetricName": "RootUsage", "Statistic": "Sum",
        "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "AlarmActions": ["arn:aws:sns:us-east-1:111111111111:alerts"]
    });
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    call(cw, T0, Operation::PutMetricAlarm, input).unwrap();
}

fn state(cw: &CloudWatch) -> (String, String) {
    let out = call(cw, T0, Operation::DescribeAlarms, json!({"AlarmNames": ["root-usage"]})).unwrap();
    let a = &out["MetricAlarms"][0];
    (a["StateValue"].as_str().unwrap().to_string(), a["StateReason"].as_str().unwrap().to_string())
}

#[test]
fn an_alarm_moves_on_the_clock_and_actions_fire_on_transitions_only() {
    let f = fixture("clock");
    alarm(&f.cw, json!({"TreatMissingData": "notBreaching"}));
    assert_eq!(state(&f.cw), ("INSUFFICIENT_DATA".into(), "Unchecked: Initial alarm creation".into()));

    // No data: not breaching, so OK; no action is configured for OK.
    let t = f.cw.evaluate(T0 + 30_000).unwrap();
    assert_eq!(t.len(), 1);
    assert!(t[0].actions.is_empty());
    assert_eq!(state(&f.cw).0, "OK");
    assert!(state(&f.cw).1.contains("no datapoints were received for 1 period"));

    // A root login at 10:01:10: the current minute has data, so the alarm fires within it.
    put(&f.cw, T0 + MIN + 10_000, 1.0);
    let t = f.cw.evaluate(T0 + MIN + 20_000).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].actions, ["arn:aws:sns:us-east-1:111111111111:alerts"]);
    assert_eq!(
        state(&f.cw).1,
        "Threshold Crossed: 1 datapoint [1.0 (05/12/26 10:01:00)] was greater than or equal to the threshold (1.0)."
    );
    let m = t[0].message();
    assert_eq!(m["NewStateValue"], "ALARM");
    assert_eq!(m["OldStateValue"], "OK");
    assert_eq!(m["Region"], "US East (N. Virginia)");
    assert_eq!(m["Trigger"]["Statistic"], "SUM");
    assert_eq!(m["Trigger"]["StatisticType"], "Statistic");
    assert_eq!(m["StateChangeTime"], "2026-12-05T10:01:20.000+0000");
    assert_eq!(t[0].subject(), "ALARM: \"root-usage\" in US East (N. Virginia)");
    let keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "AlarmName",
            "AlarmDescription",
            "AWSAccountId",
            "AlarmConfigurationUpdatedTimestamp",
            "NewStateValue",
            "NewStateReason",
            "StateChangeTime",
            "Region",
            "AlarmArn",
            "OldStateValue",
            "OKActions",
            "AlarmActions",
            "InsufficientDataActions",
            "Trigger"
        ]
    );

    // Evaluating again in the same state changes nothing and fires nothing.
    assert!(f.cw.evaluate(T0 + MIN + 40_000).unwrap().is_empty());
    // The next minutes have no data, but the breaching one is still the newest real datapoint of the evaluation
    // range (3 periods for 1): CloudWatch keeps evaluating it. Once it leaves the range, missing data counts.
    assert!(f.cw.evaluate(T0 + 2 * MIN + 30_000).unwrap().is_empty());
    assert!(f.cw.evaluate(T0 + 4 * MIN + 30_000).unwrap().is_empty());
    let t = f.cw.evaluate(T0 + 5 * MIN + 30_000).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(state(&f.cw).0, "OK");

    let history = call(
        &f.cw,
        T0,
        Operation::DescribeAlarmHistory,
        json!({"AlarmName": "root-usage", "HistoryItemType": "StateUpdate"}),
    )
    .unwrap();
    let summaries: Vec<&str> = history["AlarmHistoryItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["HistorySummary"].as_str().unwrap())
        .collect();
    assert_eq!(
        summaries,
        [
            "Alarm updated from ALARM to OK",
            "Alarm updated from OK to ALARM",
            "Alarm updated from INSUFFICIENT_DATA to OK"
        ]
    );
    let data: Value = serde_json::from_str(history["AlarmHistoryItems"][1]["HistoryData"].as_str().unwrap()).unwrap();
    assert_eq!(data["newState"]["stateReasonData"]["evaluatedDatapoints"][0]["value"], 1.0);
    assert_eq!(data["newState"]["stateReasonData"]["statistic"], "Sum");

    // Disabled actions: transitions happen, nothing is to run.
    call(&f.cw, T0, Operation::DisableAlarmActions, json!({"AlarmNames": ["root-usage"]})).unwrap();
    put(&f.cw, T0 + 6 * MIN + 5_000, 4.0);
    let t = f.cw.evaluate(T0 + 6 * MIN + 10_000).unwrap();
    assert_eq!((t.len(), t[0].actions.len()), (1, 0));
}

#[test]
fn m_of_n_with_missing_data_follows_the_documented_table() {
    let f = fixture("mofn");
    alarm(&f.cw, json!({"Period": 300, "EvaluationPeriods": 3, "DatapointsToAlarm": 2}));
    // "- - - X -" from AWS's 2-of-3 table: one breaching period, then a missing one. Premature ALARM.
    let base = T0; // on a 5-minute boundary
    put(&f.cw, base + 3 * 5 * MIN + 1000, 5.0);
    f.cw.evaluate(base + 5 * 5 * MIN + 1000).unwrap();
    let (st, reason) = state(&f.cw);
    assert_eq!(st, "ALARM");
    assert!(reason.contains("(minimum 2 datapoints for OK -> ALARM transition)"), "{reason}");

    // With notBreaching the same data is OK.
    alarm(
        &f.cw,
        json!({"Period": 300, "EvaluationPeriods": 3, "DatapointsToAlarm": 2, "TreatMissingData": "notBreaching"}),
    );
    f.cw.evaluate(base + 5 * 5 * MIN + 2000).unwrap();
    assert_eq!(state(&f.cw).0, "OK");
}

#[test]
fn percentile_alarms_and_statistics_read_the_values_kept() {
    let f = fixture("pct");
    let values: Vec<f64> = (1..=100).map(f64::from).collect();
    call(
        &f.cw,
        T0,
        Operation::PutMetricData,
        json!({"Namespace": "App", "MetricData": [{"MetricName": "Latency", "Unit": "Milliseconds", "Values": values, "Timestamp": T0 as f64 / 1000.0}]}),
    )
    .unwrap();
    let stats = call(
        &f.cw,
        T0 + MIN,
        Operation::GetMetricStatistics,
        json!({"Namespace": "App", "MetricName": "Latency", "StartTime": T0 as f64 / 1000.0, "EndTime": (T0 + MIN) as f64 / 1000.0,
               "Period": 60, "Statistics": ["Average", "SampleCount"], "ExtendedStatistics": ["p90"]}),
    )
    .unwrap();
    let p = &stats["Datapoints"][0];
    assert_eq!((p["Average"].as_f64(), p["SampleCount"].as_f64()), (Some(50.5), Some(100.0)));
    assert_eq!(p["ExtendedStatistics"]["p90"], 90.0);
    assert_eq!(p["Unit"], "Milliseconds");

    call(
        &f.cw,
        T0,
        Operation::PutMetricAlarm,
        json!({"AlarmName": "slow", "Namespace": "App", "MetricName": "Latency", "ExtendedStatistic": "p90", "Period": 60,
               "EvaluationPeriods": 1, "Threshold": 80.0, "ComparisonOperator": "GreaterThanThreshold"}),
    )
    .unwrap();
    let t = f.cw.evaluate(T0 + 10_000).unwrap();
    assert_eq!(t[0].alarm.state, "ALARM");
    assert_eq!(t[0].message()["Trigger"]["StatisticType"], "ExtendedStatistic");

    let data = call(
        &f.cw,
        T0 + MIN,
        Operation::GetMetricData,
        json!({"MetricDataQueries": [{"Id": "p", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Latency"}, "Period": 60, "Stat": "p50"}}],
               "StartTime": (T0 - MIN) as f64 / 1000.0, "EndTime": (T0 + MIN) as f64 / 1000.0}),
    )
    .unwrap();
    assert_eq!(data["MetricDataResults"][0]["Values"], json!([50.0]));
    assert_eq!(data["MetricDataResults"][0]["StatusCode"], "Complete");
}

#[test]
fn bad_requests_get_cloudwatchs_codes_and_change_nothing() {
    let f = fixture("bad");
    let base = json!({"AlarmName": "a", "Namespace": "N", "MetricName": "M", "Statistic": "Sum", "Period": 60,
                      "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"});
    let with = |k: &str, v: Value| {
        let mut i = base.clone();
        i[k] = v;
        i
    };
    let cases = [
        (with("Period", json!(45)), ErrorCode::CwInvalidParameterValue),
        (with("EvaluationPeriods", json!(1441)), ErrorCode::QueryValidation),
        (with("DatapointsToAlarm", json!(2)), ErrorCode::QueryValidation),
        (with("ExtendedStatistic", json!("p99")), ErrorCode::InvalidParameterCombination),
        (with("Statistic", json!("Median")), ErrorCode::QueryValidation),
        (with("ComparisonOperator", json!("Bigger")), ErrorCode::QueryValidation),
        (with("TreatMissingData", json!("sometimes")), ErrorCode::QueryValidation),
        (
            with("AlarmActions", json!(["arn:1", "arn:2", "arn:3", "arn:4", "arn:5", "arn:6"])),
            ErrorCode::QueryValidation,
        ),
        (with("AlarmName", json!("x".repeat(256))), ErrorCode::QueryValidation),
        (with("Threshold", Value::Null), ErrorCode::CwMissingParameter),
    ];
    for (input, code) in cases {
        assert_eq!(call(&f.cw, T0, Operation::PutMetricAlarm, input.clone()).unwrap_err(), code, "{input}");
    }
    let alarms = call(&f.cw, T0, Operation::DescribeAlarms, json!({})).unwrap();
    assert_eq!(alarms["MetricAlarms"], json!([]));

    assert_eq!(
        call(&f.cw, T0, Operation::DeleteAlarms, json!({"AlarmNames": ["nope"]})).unwrap_err(),
        ErrorCode::CwResourceNotFound
    );
    assert_eq!(
        call(&f.cw, T0, Operation::SetAlarmState, json!({"AlarmName": "nope", "StateValue": "OK", "StateReason": "r"}))
            .unwrap_err(),
        ErrorCode::CwResourceNotFound
    );
    let bad_data = [
        json!({"Namespace": "AWS/EC2", "MetricData": [{"MetricName": "m", "Value": 1.0}]}),
        json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1.0, "Timestamp": (T0 - 15 * 86_400_000) as f64 / 1000.0}]}),
        json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Values": [1.0, 2.0], "Counts": [1.0]}]}),
        json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1.0, "Values": [1.0]}]}),
        json!({"Namespace": "N", "MetricData": [{"MetricName": "m"}]}),
    ];
    for input in bad_data {
        assert!(call(&f.cw, T0, Operation::PutMetricData, input.clone()).is_err(), "{input}");
    }
    let listed = call(&f.cw, T0, Operation::ListMetrics, json!({})).unwrap();
    assert_eq!(listed["Metrics"], json!([]), "no refused datapoint was kept");
    assert_eq!(
        call(&f.cw, T0, Operation::DescribeAlarms, json!({"NextToken": "forged"})).unwrap_err(),
        ErrorCode::CwInvalidNextToken
    );
}

#[test]
fn set_alarm_state_tags_and_pages() {
    let f = fixture("set");
    for i in 0..3 {
        alarm(&f.cw, json!({"AlarmName": format!("a{i}"), "Tags": [{"Key": "team", "Value": "sec"}]}));
    }
    let page = call(&f.cw, T0, Operation::DescribeAlarms, json!({"MaxRecords": 2})).unwrap();
    assert_eq!(page["MetricAlarms"].as_array().unwrap().len(), 2);
    let rest = call(&f.cw, T0, Operation::DescribeAlarms, json!({"NextToken": page["NextToken"]})).unwrap();
    assert_eq!(rest["MetricAlarms"][0]["AlarmName"], "a2");
    assert!(rest.get("NextToken").is_none());

    let c = Call { account: "111111111111", region: "us-east-1", now_ms: T0 };
    let (_, t) =
        f.cw.call(
            &c,
            Operation::SetAlarmState,
            &json!({"AlarmName": "a1", "StateValue": "ALARM", "StateReason": "testing"}),
        )
        .unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].alarm.reason, "testing");
    let arn = "arn:aws:cloudwatch:us-east-1:111111111111:alarm:a1";
    assert_eq!(
        call(&f.cw, T0, Operation::ListTagsForResource, json!({"ResourceARN": arn})).unwrap()["Tags"],
        json!([{"Key": "team", "Value": "sec"}])
    );
    call(&f.cw, T0, Operation::UntagResource, json!({"ResourceARN": arn, "TagKeys": ["team"]})).unwrap();
    assert_eq!(
        call(&f.cw, T0, Operation::ListTagsForResource, json!({"ResourceARN": arn})).unwrap()["Tags"],
        json!([])
    );
    assert_eq!(
        call(&f.cw, T0, Operation::ListTagsForResource, json!({"ResourceARN": format!("{arn}x")})).unwrap_err(),
        ErrorCode::ResourceNotFound
    );
    let for_metric = call(
        &f.cw,
        T0,
        Operation::DescribeAlarmsForMetric,
        json!({"Namespace": "CISBenchmark", "MetricName": "RootUsage", "Statistic": "Sum"}),
    )
    .unwrap();
    assert_eq!(for_metric["MetricAlarms"].as_array().unwrap().len(), 3);
    assert!(matches!(Node::object(), Node::Struct(_)));
}
