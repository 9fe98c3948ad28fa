//! The producer ingestion API: batches and single records, per-record refusals, grants, limits, gzip, durability.

use std::io::Write;

use serde_json::{json, Value};

use crate::common::*;

fn record(account: &str, name: &str) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
        "eventTime": "2026-11-20T10:00:00Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "10.0.0.1",
        "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0abc"}]}},
        "responseElements": null,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "zzCustomField": [1, {"b": 2, "a": 1}],
    })
}

fn ingest(server: &Server, who: (&str, &str, &str), body: &[u8], headers: &[(&str, &str)]) -> Raw {
    raw_to(server, "/v1/ingest", "cairn", headers, body, Signing::as_(who))
}

#[tokio::test]
async fn batches_accept_good_records_and_refuse_bad_ones_one_by_one() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let mut no_id = record("111111111111", "StopInstances");
    no_id.as_object_mut().unwrap().remove("eventVersion");
    let mut with_id = record("222222222222", "StartInstances");
    with_id["eventID"] = json!("f2b2c3d4-0000-4000-8000-000000000001");
    let mut bad_time = record("111111111111", "X");
    bad_time["eventTime"] = json!("2026-11-20 10:00:00");
    let mut too_big = record("111111111111", "Big");
    too_big["requestParameters"] = json!({"blob": "x".repeat(1100 * 1024)});
    let body = json!({"Records": [
        no_id,
        bad_time,
        with_id,
        record("444444444444", "NotGranted"),
        json!("not an object"),
        too_big,
        record("111111111111", "RebootInstances"),
    ]});
    let r = ingest(&server, MGMT, body.to_string().as_bytes(), &[]);
    assert_eq!(r.status, 200, "{:?}", r.body);
    let ok: Vec<u64> = r.body["successful"].as_array().unwrap().iter().map(|s| s["index"].as_u64().unwrap()).collect();
    assert_eq!(ok, [0, 2, 6]);
    assert_eq!(r.body["successful"][1]["eventID"], "f2b2c3d4-0000-4000-8000-000000000001");
    let failed: Vec<(u64, &str)> = r.body["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["index"].as_u64().unwrap(), f["errorCode"].as_str().unwrap()))
        .collect();
    assert_eq!(failed, [(1, "InvalidEventTime"), (3, "AccessDenied"), (4, "InvalidRecord"), (5, "EventTooLarge")]);
    assert!(r.body["failed"][0]["errorMessage"].as_str().unwrap().contains("2026-11-20 10:00:00"));

    assert_eq!(server.terminate().code(), Some(0));
    let payloads = journal_payloads(&dir.0.join("data"));
    assert_eq!(payloads.len(), 3, "only accepted records are journaled");
    let events: Vec<Value> = payloads.iter().map(|p| serde_json::from_str(p).unwrap()).collect();
    assert_eq!(events[0]["eventName"], "StopInstances");
    assert_eq!(events[0]["eventVersion"], "1.11", "filled when absent");
    assert_eq!(events[0]["eventID"], r.body["successful"][0]["eventID"]);
    assert_eq!(events[1]["eventVersion"], "1.09", "kept when given");
    // Unknown members are kept verbatim, in the producer's order.
    assert_eq!(events[2]["zzCustomField"], json!([1, {"b": 2, "a": 1}]));
    assert!(payloads[2].contains(r#""zzCustomField":[1,{"b":2,"a":1}]"#), "{}", payloads[2]);
    assert!(payloads[2].find("\"eventVersion\"").unwrap() < payloads[2].find("\"userIdentity\"").unwrap());
}

#[tokio::test]
async fn single_records_gzip_and_whole_request_errors() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let single = ingest(&server, MGMT, record("111111111111", "Single").to_string().as_bytes(), &[]);
    assert_eq!(single.body["successful"].as_array().unwrap().len(), 1, "{:?}", single.body);

    // A trail log file as AWS writes it: one gzip member of {"Records":[...]}.
    let log = json!({"Records": [record("111111111111", "FromLog1"), record("222222222222", "FromLog2")]});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(log.to_string().as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let r = ingest(&server, MGMT, &gz, &[("content-encoding", "gzip")]);
    assert_eq!(r.body["successful"].as_array().unwrap().len(), 2, "{:?}", r.body);

    let refused: Vec<(Raw, &str)> = vec![
        (ingest(&server, MGMT, b"{\"Records\": [", &[]), "SerializationException"),
        (ingest(&server, MGMT, b"[1, 2]", &[]), "SerializationException"),
        (ingest(&server, MGMT, b"{\"Records\": {}}", &[]), "SerializationException"),
        (ingest(&server, MGMT, b"not gzip", &[("content-encoding", "gzip")]), "SerializationException"),
        (ingest(&server, OUTSIDER, record("333333333333", "X").to_string().as_bytes(), &[]), "AccessDeniedException"),
        (raw_to(&server, "/v1/ingest", "cairn", &[], b"{}", Signing::Unsigned), "MissingAuthenticationTokenException"),
        (raw_to(&server, "/v1/ingest", "cloudtrail", &[], b"{}", Signing::as_(MGMT)), "InvalidSignatureException"),
    ];
    for (r, want) in refused {
        assert_eq!(r.error_type(), want, "{:?}", r.body);
    }
    // Times too far in the future are refused; a retried record without an eventID gets the same derived id.
    let mut future = record("111111111111", "Future");
    future["eventTime"] = json!("2099-01-01T00:00:00Z");
    let r = ingest(&server, MGMT, future.to_string().as_bytes(), &[]);
    assert_eq!(r.body["failed"][0]["errorCode"], "InvalidEventTime");
    let retry = record("111111111111", "Retried").to_string();
    let first = ingest(&server, MGMT, retry.as_bytes(), &[]);
    let second = ingest(&server, MGMT, retry.as_bytes(), &[]);
    assert_eq!(first.body["successful"][0]["eventID"], second.body["successful"][0]["eventID"]);
    let many = json!({"Records": vec![Value::Null; 10_001]});
    assert_eq!(ingest(&server, MGMT, many.to_string().as_bytes(), &[]).error_type(), "ValidationException");
    assert_eq!(server.terminate().code(), Some(0));
    let names: Vec<String> = journal_events(&dir.0.join("data"))
        .iter()
        .filter(|e| e["eventSource"] == "ec2.amazonaws.com")
        .map(|e| e["eventName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Single", "FromLog1", "FromLog2", "Retried", "Retried"], "refused requests journaled nothing");
}
