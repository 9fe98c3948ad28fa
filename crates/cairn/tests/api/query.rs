//! The query API and `cairn query` against the real binary: SQL answers over the tail and the files, one account's
//! events only, every call to cairn among them; refused statements and bad requests get AWS's error shapes; the
//! concurrency and time limits hold.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::*;
use crate::lookup::{ingest, producer_event, wait_for_parquet_files};

fn query_as(server: &Server, who: (&str, &str, &str), body: Value) -> Raw {
    raw_to(server, "/v1/query", "cairn", &[], body.to_string().as_bytes(), Signing::as_(who))
}

fn sql(server: &Server, who: (&str, &str, &str), statement: &str) -> Vec<Vec<Value>> {
    let r = query_as(server, who, json!({ "QueryStatement": statement }));
    assert_eq!(r.status, 200, "{statement}: {:?}", r.body);
    r.body["Rows"].as_array().unwrap().iter().map(|row| row.as_array().unwrap().clone()).collect()
}

#[tokio::test]
async fn sql_answers_over_tail_and_files_for_the_callers_account_only() {
    let dir = TempDir::new();
    let data = dir.0.join("data");
    let server = Server::start_configured(&dir, "[history]\nflush_interval_seconds = 1\n");

    // Yesterday's events for the management account and a member, flushed to files; then more in the tail.
    let old: Vec<Value> = (0..2000)
        .map(|i| {
            let mut e = producer_event(&format!("Old{}", i % 4), "eu-west-1", "ec2.amazonaws.com", -86_400 - i);
            if i % 2 == 1 {
                e["recipientAccountId"] = json!(MEMBER.0);
            }
            e
        })
        .collect();
    ingest(&server, old);
    wait_for_parquet_files(&data, 1).await;
    ingest(&server, (0..10).map(|i| producer_event("New", "us-west-2", "ec2.amazonaws.com", -i)).collect());
    server
        .client(MGMT, "eu-west-1")
        .create_trail()
        .name("sql-trail")
        .s3_bucket_name("trail-bucket")
        .send()
        .await
        .unwrap();

    let counts = sql(
        &server,
        MGMT,
        "SELECT eventname, count(*) AS n FROM history WHERE eventsource = 'ec2.amazonaws.com' \
         GROUP BY eventname ORDER BY eventname",
    );
    assert_eq!(
        counts,
        vec![vec![json!("New"), json!("10")], vec![json!("Old0"), json!("500")], vec![json!("Old2"), json!("500")],]
    );
    let member = sql(&server, MEMBER, "SELECT eventname, count(*) FROM history GROUP BY 1 ORDER BY 1");
    assert_eq!(member, vec![vec![json!("Old1"), json!("500")], vec![json!("Old3"), json!("500")]]);
    let accounts = sql(&server, MEMBER, "SELECT DISTINCT recipientaccountid FROM history");
    assert_eq!(accounts, vec![vec![json!(MEMBER.0)]]);

    // The call just made is there at once, with its region and its full record.
    let trail = sql(
        &server,
        MGMT,
        "SELECT awsregion, readonly, element_at(requestparameters, 'name'), eventjson FROM history \
         WHERE eventname = 'CreateTrail'",
    );
    assert_eq!(trail.len(), 1);
    assert_eq!((&trail[0][0], &trail[0][1], &trail[0][2]), (&json!("eu-west-1"), &json!("false"), &json!("sql-trail")));
    let record: Value = serde_json::from_str(trail[0][3].as_str().unwrap()).unwrap();
    assert_eq!(record["requestParameters"]["name"], "sql-trail");

    // Time filters, and the answer's shape.
    let r = query_as(
        &server,
        MGMT,
        json!({"QueryStatement": "SELECT eventtime, eventid FROM history WHERE eventtime < now() - INTERVAL '1' HOUR \
                                  ORDER BY eventtime DESC", "MaxRows": 3}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["Columns"], json!(["eventtime", "eventid"]));
    assert_eq!(r.body["Rows"].as_array().unwrap().len(), 3);
    assert_eq!(r.body["Truncated"], json!(true));
    assert!(r.body["ExecutionTimeInMillis"].is_u64());
    let newest_old = r.body["Rows"][0][0].as_str().unwrap();
    assert!(newest_old.len() == 23 && newest_old.as_bytes()[10] == b' ', "{newest_old}");

    // `cairn query` prints a table and JSON.
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args(["query", "--endpoint", &server.endpoint(), "--access-key-id", MEMBER.1, "--secret-access-key"])
            .arg(MEMBER.2)
            .args(args)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (ok, table, err) = cli(&["SELECT eventname, count(*) AS n FROM history GROUP BY 1 ORDER BY 1"]);
    assert!(ok, "{err}");
    assert_eq!(table, "eventname  n\nOld1       500\nOld3       500\n(2 rows)\n");
    let (ok, out, _) = cli(&["--output", "json", "--max-rows", "1", "SELECT eventid FROM history"]);
    assert!(ok);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["Rows"].as_array().unwrap().len(), &v["Truncated"]), (1, &json!(true)));
    let (ok, _, err) = cli(&["SELECT nothing FROM history"]);
    assert!(!ok && err.contains("InvalidQueryStatementException"), "{err}");
}

#[tokio::test]
async fn bad_queries_get_aws_errors_and_change_nothing() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let outside = dir.0.join("written.parquet");
    for (body, status, code) in [
        (json!({"QueryStatement": "SELEC 1"}), 400, "InvalidQueryStatementException"),
        (json!({"QueryStatement": "SELECT * FROM other"}), 400, "InvalidQueryStatementException"),
        (json!({"QueryStatement": "SELECT * FROM '/etc/hostname'"}), 400, "InvalidQueryStatementException"),
        (json!({"QueryStatement": "DROP TABLE history"}), 400, "InvalidQueryStatementException"),
        (
            json!({"QueryStatement": format!("COPY (SELECT * FROM history) TO '{}'", outside.display())}),
            400,
            "InvalidQueryStatementException",
        ),
        (json!({"QueryStatement": "   "}), 400, "ValidationException"),
        (json!({"QueryStatement": "x".repeat(10_001)}), 400, "ValidationException"),
        (json!({"QueryStatement": "SELECT 1", "MaxRows": 0}), 400, "InvalidParameterException"),
        (json!({"QueryStatement": "SELECT 1", "MaxRows": 10_001}), 400, "InvalidParameterException"),
        (json!({"Query": "SELECT 1"}), 400, "SerializationException"),
    ] {
        let r = query_as(&server, MGMT, body.clone());
        assert_eq!((r.status, r.error_type()), (status, code), "{body}: {:?}", r.body);
        assert!(r.header("x-amzn-requestid").is_some());
    }
    assert!(!outside.exists());
    let r = raw_to(&server, "/v1/query", "cairn", &[], b"{\"QueryStatement\": \"SELECT 1\"}", Signing::Unsigned);
    assert_eq!(r.error_type(), "MissingAuthenticationTokenException", "{:?}", r.body);
    let r = raw_to(
        &server,
        "/v1/query",
        "cairn",
        &[],
        b"{\"QueryStatement\": \"SELECT 1\"}",
        Signing::as_((MGMT.0, MGMT.1, "wrong-secret-000000000000000000000000000")),
    );
    assert_eq!(r.error_type(), "InvalidSignatureException", "{:?}", r.body);
    assert_eq!(sql(&server, MGMT, "SELECT 1 + 1"), vec![vec![json!("2")]]);
}

#[tokio::test]
async fn queries_past_their_time_or_concurrency_are_refused() {
    let dir = TempDir::new();
    let server = Server::start_configured(&dir, "[query]\ntimeout_seconds = 1\nmax_concurrent = 1\n");
    let slow = json!({"QueryStatement": "SELECT count(*) FROM range(100000000000)"});
    let started = Instant::now();
    let (a, b) = std::thread::scope(|s| {
        let first = s.spawn(|| query_as(&server, MGMT, slow.clone()));
        std::thread::sleep(Duration::from_millis(300));
        let second = query_as(&server, MEMBER, slow.clone());
        (first.join().unwrap(), second)
    });
    assert_eq!(a.error_type(), "InvalidQueryStatementException", "{:?}", a.body);
    assert!(a.body["message"].as_str().unwrap().contains("longer than 1 s"), "{:?}", a.body);
    assert!(started.elapsed() < Duration::from_secs(5), "the slow query was stopped");
    assert_eq!(b.error_type(), "MaxConcurrentQueriesException", "{:?}", b.body);
    // The slot is free again once the slow query is stopped.
    assert_eq!(sql(&server, MGMT, "SELECT 40 + 2"), vec![vec![json!("42")]]);
}
