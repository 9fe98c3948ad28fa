//! `cairn import` and `cairn query` over a local store, with no server: a copy of a trail bucket imports once, its
//! broken files are reported, and SQL over the table `events` answers as a table, CSV and JSON.

use std::io::Write;
use std::process::Command;

use serde_json::{json, Value};

use crate::common::TempDir;

fn cairn(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn a_copied_bucket_imports_once_and_answers_sql_offline() {
    let dir = TempDir::new();
    let logs = dir.0.join("bucket/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/02/03");
    std::fs::create_dir_all(&logs).unwrap();
    let records: Vec<Value> = (0..30)
        .map(|i| {
            json!({"eventVersion": "1.09", "eventID": format!("id-{i}"), "eventTime": format!("2026-02-03T10:{:02}:00Z", i),
                   "eventSource": "iam.amazonaws.com", "eventName": if i % 3 == 0 { "CreateUser" } else { "ListUsers" },
                   "awsRegion": "eu-west-1", "recipientAccountId": "111122223333", "sourceIPAddress": "198.51.100.7",
                   "userIdentity": {"type": "IAMUser", "userName": "eve, the intruder"}})
        })
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(json!({"Records": records}).to_string().as_bytes()).unwrap();
    std::fs::write(logs.join("111122223333_CloudTrail_eu-west-1_20260203T1035Z_x.json.gz"), gz.finish().unwrap())
        .unwrap();
    std::fs::write(logs.join("111122223333_CloudTrail_eu-west-1_20260203T1040Z_y.json"), "{ not json").unwrap();
    let store = dir.0.join("store");
    let store = store.to_str().unwrap();
    let bucket = dir.0.join("bucket");

    let (code, out, err) = cairn(&["import", bucket.to_str().unwrap(), "--store-dir", store]);
    assert_eq!(code, 1, "a broken file fails the run: {out} {err}");
    assert!(out.contains("imported 30 events from 2 files") && out.contains("1 files failed"), "{out}");
    assert!(err.contains("_y.json (InvalidLogFile)"), "{err}");
    let (_, out, _) = cairn(&[
        "import",
        logs.join("111122223333_CloudTrail_eu-west-1_20260203T1035Z_x.json.gz").to_str().unwrap(),
        "--store-dir",
        store,
    ]);
    assert!(out.contains("imported 0 events from 1 files") && out.contains("30 already there"), "{out}");

    let sql = "SELECT eventName, count(*) AS n FROM events GROUP BY eventName ORDER BY n DESC";
    let (code, table, err) = cairn(&["query", sql, "--store-dir", store]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["eventName", "n"]);
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["ListUsers", "20"]);
    assert_eq!(lines[3], "(2 rows)");
    let (_, csv, _) =
        cairn(&["query", "SELECT DISTINCT useridentity.username FROM events", "--store-dir", store, "--output", "csv"]);
    assert_eq!(csv, "username\n\"eve, the intruder\"\n");
    let (_, json, _) =
        cairn(&["query", "SELECT min(eventtime) AS first FROM events", "--store-dir", store, "--output", "json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["Rows"], json!([["2026-02-03 10:00:00.000"]]));

    let (code, _, err) =
        cairn(&["query", "SELECT count(*) FROM events", "--store-dir", dir.0.join("nothing").to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("cairn import"), "{err}");
}
