//! SQL over event history: answers match a model of the stored events whether they are in the tail, in files or
//! both, through compaction and reopening; a query sees only its account and the retention window; statements that
//! would change or reach past history are refused; limits hold.

use cairn_store::{query, Error, History, QueryLimits, QueryResult};
use serde_json::json;

mod common;
use common::{temp_dir, Rng, DAY, NOW};

const ACCOUNTS: [&str; 2] = ["111111111111", "222222222222"];
const NAMES: [&str; 3] = ["CreateTrail", "DescribeTrails", "RunInstances"];

/// One stored event as the model sees it.
#[derive(Debug, Clone)]
struct Model {
    account: &'static str,
    region: &'static str,
    name: &'static str,
    time_ms: i64,
    id: String,
}

fn events(n: u64, seed: u64) -> Vec<(Model, Vec<u8>)> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let m = Model {
                account: ACCOUNTS[rng.below(2) as usize],
                region: ["eu-west-1", "us-east-1"][rng.below(2) as usize],
                name: NAMES[rng.below(3) as usize],
                // Up to 100 days back, so some are past retention when queried at NOW; eventTime has whole seconds.
                time_ms: (NOW - rng.below(100 * DAY as u64) as i64) / 1000 * 1000,
                id: format!("id-{i}"),
            };
            let raw = json!({
                "eventVersion": "1.11", "eventTime": cairn_model::event::format_event_time(m.time_ms),
                "eventID": m.id, "eventName": m.name, "eventSource": "cloudtrail.amazonaws.com",
                "awsRegion": m.region, "recipientAccountId": m.account, "readOnly": m.name.starts_with("Describe"),
                "userIdentity": {"type": "IAMUser", "userName": "alice", "accessKeyId": "AKIAEXAMPLE"},
                "resources": [{"type": "AWS::CloudTrail::Trail", "ARN": format!("trail-{}", i % 3)}],
            });
            (m, raw.to_string().into_bytes())
        })
        .collect()
}

fn run(h: &History, account: &str, sql: &str) -> Result<QueryResult, Error> {
    run_with(h, account, sql, &QueryLimits::default())
}

fn run_with(h: &History, account: &str, sql: &str, limits: &QueryLimits) -> Result<QueryResult, Error> {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(query(h, account, sql, NOW, limits))
}

fn rows(h: &History, account: &str, sql: &str) -> Vec<Vec<String>> {
    let r = run(h, account, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.rows.into_iter().map(|row| row.into_iter().map(|v| v.unwrap_or_else(|| "NULL".into())).collect()).collect()
}

fn sql_time(ms: i64) -> String {
    let t = cairn_model::event::format_event_time(ms.div_euclid(1000) * 1000);
    format!("{} {}.{:03}", &t[..10], &t[11..19], ms.rem_euclid(1000))
}

/// The same questions, asked of cairn and of the model.
fn check(h: &History, model: &[Model], seed: u64) {
    let cutoff = NOW - 90 * DAY;
    let live: Vec<&Model> = model.iter().filter(|m| m.time_ms >= cutoff).collect();
    for account in ACCOUNTS {
        let mine: Vec<&&Model> = live.iter().filter(|m| m.account == account).collect();
        assert_eq!(rows(h, account, "SELECT count(*) FROM history"), vec![vec![mine.len().to_string()]]);
        assert_eq!(
            rows(h, account, "SELECT DISTINCT recipientaccountid FROM history"),
            vec![vec![account.to_string()]],
            "an account sees only itself"
        );

        let mut rng = Rng(seed);
        for _ in 0..6 {
            // Bounds at sub-millisecond precision exercise the scan's rounding of time bounds.
            let a = NOW - rng.below(95 * DAY as u64) as i64;
            let b = a + rng.below(20 * DAY as u64) as i64;
            let sql = format!(
                "SELECT eventname, count(*) FROM history WHERE eventtime >= TIMESTAMP '{}' AND eventtime < \
                 TIMESTAMP '{}5' AND awsregion = 'eu-west-1' GROUP BY eventname ORDER BY eventname",
                sql_time(a),
                sql_time(b)
            );
            let mut expect: Vec<Vec<String>> = NAMES
                .iter()
                .map(|n| {
                    let c = mine
                        .iter()
                        .filter(|m| m.name == *n && m.region == "eu-west-1" && m.time_ms >= a && m.time_ms <= b)
                        .count();
                    vec![n.to_string(), c.to_string()]
                })
                .filter(|r| r[1] != "0")
                .collect();
            expect.sort();
            assert_eq!(rows(h, account, &sql), expect, "{sql}");
        }

        // String functions, patterns, lists and structs of Lake's schema over both the tail's and the files' columns.
        let sql = "SELECT lower(eventname), count(*) FROM history WHERE regexp_like(eventname, '^(Create|Run)') \
                   AND eventsource LIKE 'cloud%' AND resources[1]['arn'] = 'trail-1' AND useridentity.username = 'alice' \
                   AND useridentity.sessioncontext.sessionissuer.arn IS NULL GROUP BY 1 ORDER BY 1";
        let mut expect: Vec<Vec<String>> = ["CreateTrail", "RunInstances"]
            .iter()
            .map(|n| {
                // Event i names the trail `trail-{i % 3}`.
                let trail_1 = |m: &Model| m.id[3..].parse::<u64>().unwrap() % 3 == 1;
                let c = mine.iter().filter(|m| m.name == *n && trail_1(m)).count();
                vec![n.to_lowercase(), c.to_string()]
            })
            .filter(|r| r[1] != "0")
            .collect();
        expect.sort();
        assert_eq!(rows(h, account, sql), expect, "{sql}");

        let mut newest: Vec<&&Model> = mine.clone();
        newest.sort_by_key(|m| (std::cmp::Reverse(m.time_ms), m.id.clone()));
        let expect: Vec<Vec<String>> = newest.iter().take(5).map(|m| vec![m.id.clone(), sql_time(m.time_ms)]).collect();
        assert_eq!(
            rows(h, account, "SELECT eventid, eventtime FROM history ORDER BY eventtime DESC, eventid LIMIT 5"),
            expect
        );
    }
}

#[test]
fn queries_match_the_model_across_tail_files_compaction_and_reopen() {
    let dir = temp_dir("query");
    let stored = events(3000, 0x51_c0de);
    // Inserted 20 days before the queries run: every event is kept, a tenth are past retention at NOW.
    let insert_now = NOW - 20 * DAY;
    let model: Vec<Model> = stored.iter().map(|(m, _)| m.clone()).collect();

    let h = History::open(&dir.0, 0).unwrap();
    for (i, chunk) in stored.chunks(250).enumerate() {
        let base = (i * 250) as u64 + 1;
        h.insert_batch(chunk.iter().enumerate().map(|(j, (_, raw))| (base + j as u64, raw.as_slice())), insert_now);
        // Every other chunk goes to files; the rest stays in the tail.
        if i % 2 == 0 {
            h.flush(base + 250).unwrap();
        }
    }
    assert!(h.file_count() > 0 && h.tail_size().0 > 0, "both tiers hold events");
    check(&h, &model, 1);

    // The whole record comes back byte for byte.
    let (m, raw) = stored.iter().find(|(m, _)| m.time_ms > NOW - 80 * DAY).unwrap();
    let got = rows(&h, m.account, &format!("SELECT eventjson FROM history WHERE eventid = '{}'", m.id));
    assert_eq!(got, vec![vec![String::from_utf8(raw.clone()).unwrap()]]);
    let other = ACCOUNTS.iter().find(|a| **a != m.account).unwrap();
    assert!(rows(&h, other, &format!("SELECT eventid FROM history WHERE eventid = '{}'", m.id)).is_empty());

    h.flush(u64::MAX).unwrap();
    for _ in 0..3 {
        h.compact().unwrap();
    }
    check(&h, &model, 2);
    drop(h);
    let h = History::open(&dir.0, u64::MAX).unwrap();
    check(&h, &model, 3);
}

/// A tail larger than one chunk per account: its sealed chunks are converted by the first query and read again by
/// the next ones, with time bounds and the retention cut-off applied to them, and a flush that takes part of a chunk
/// leaves the rest answering as before.
#[test]
fn a_tail_of_many_chunks_answers_as_the_model_before_and_after_a_partial_flush() {
    let dir = temp_dir("query-chunks");
    let stored = events(12_000, 0xc40c);
    let model: Vec<Model> = stored.iter().map(|(m, _)| m.clone()).collect();
    let h = History::open(&dir.0, 0).unwrap();
    h.insert_batch(stored.iter().enumerate().map(|(i, (_, raw))| (i as u64 + 1, raw.as_slice())), NOW - 20 * DAY);
    assert_eq!((h.tail_size().0, h.file_count()), (12_000, 0));
    check(&h, &model, 4);
    check(&h, &model, 5);
    // Events 1..=5000 go to files: each account's first chunk loses part of its events.
    h.flush(5001).unwrap();
    assert_eq!(h.tail_size().0, 7_000);
    check(&h, &model, 6);
}

/// Rewrites every history file under `dir` as cairn wrote them before history took Lake's schema: the record in
/// `cloudtrailevent` (beside a few of the old columns), then `seq`; the index files stay as they are.
fn write_old_format(dir: &std::path::Path) -> usize {
    use arrow_array::cast::AsArray;
    use arrow_array::{ArrayRef, RecordBatch};
    use std::sync::Arc;
    let mut rewritten = 0;
    for date in std::fs::read_dir(dir).unwrap() {
        for f in std::fs::read_dir(date.unwrap().path()).unwrap() {
            let path = f.unwrap().path();
            if path.extension().is_none_or(|e| e != "parquet") {
                continue;
            }
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                std::fs::File::open(&path).unwrap(),
            )
            .unwrap()
            .build()
            .unwrap();
            let batches: Vec<RecordBatch> = reader
                .map(|b| {
                    let b = b.unwrap();
                    let pick = |name: &'static str| (name, Arc::clone(b.column_by_name(name).unwrap()) as ArrayRef);
                    let event = b.column_by_name("eventjson").unwrap().as_string::<i32>().clone();
                    RecordBatch::try_from_iter([
                        pick("eventid"),
                        pick("eventname"),
                        ("cloudtrailevent", Arc::new(event) as ArrayRef),
                        pick("seq"),
                    ])
                    .unwrap()
                })
                .collect();
            let file = std::fs::File::create(&path).unwrap();
            let mut w = parquet::arrow::ArrowWriter::try_new(file, batches[0].schema(), None).unwrap();
            for b in &batches {
                w.write(b).unwrap();
            }
            w.close().unwrap();
            rewritten += 1;
        }
    }
    rewritten
}

#[test]
fn files_from_before_the_lake_schema_are_rewritten_in_it_at_open() {
    let dir = temp_dir("query-upgrade");
    let stored = events(600, 0x01d_f11e);
    let model: Vec<Model> = stored.iter().map(|(m, _)| m.clone()).collect();
    let h = History::open(&dir.0, 0).unwrap();
    h.insert_batch(stored.iter().enumerate().map(|(i, (_, raw))| (i as u64 + 1, raw.as_slice())), NOW - 20 * DAY);
    h.flush(u64::MAX).unwrap();
    drop(h);
    assert!(write_old_format(&dir.0) > 0);

    let h = History::open(&dir.0, u64::MAX).unwrap();
    check(&h, &model, 4);
    let (m, raw) = stored.iter().find(|(m, _)| m.time_ms > NOW - 80 * DAY).unwrap();
    let got = rows(
        &h,
        m.account,
        &format!("SELECT eventjson, useridentity.username FROM history WHERE eventid = '{}'", m.id),
    );
    assert_eq!(got, vec![vec![String::from_utf8(raw.clone()).unwrap(), "alice".into()]]);
}

#[test]
fn statements_other_than_queries_of_history_are_refused() {
    let dir = temp_dir("query-refused");
    let h = History::open(&dir.0, 0).unwrap();
    let (_, raw) = &events(1, 3)[0];
    h.insert_batch([(1, raw.as_slice())], NOW);
    let outside = dir.0.join("outside.parquet");
    for sql in [
        "SELEC eventid FROM history".to_string(),
        "SELECT nosuchcolumn FROM history".into(),
        "SELECT * FROM other_table".into(),
        format!("SELECT * FROM '{}'", outside.display()),
        format!("CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{}'", dir.0.display()),
        format!("COPY (SELECT * FROM history) TO '{}'", outside.display()),
        "INSERT INTO history SELECT * FROM history".into(),
        "DROP TABLE history".into(),
        "SET datafusion.execution.batch_size = 1".into(),
        "SELECT 1; SELECT 2".into(),
        "SELECT CAST('not a number' AS INT)".into(),
    ] {
        match run(&h, ACCOUNTS[0], &sql) {
            Err(Error::InvalidQuery(_)) => {}
            other => panic!("{sql}: {other:?}"),
        }
    }
    assert!(!outside.exists(), "nothing was written");
    assert_eq!(rows(&h, ACCOUNTS[0], "SELECT count(*) FROM history").len(), 1, "history is unchanged");
}

#[test]
fn limits_on_rows_and_memory_hold() {
    let dir = temp_dir("query-limits");
    let h = History::open(&dir.0, 0).unwrap();
    let stored = events(2000, 11);
    h.insert_batch(stored.iter().enumerate().map(|(i, (_, raw))| (i as u64 + 1, raw.as_slice())), NOW);
    h.flush(1000).unwrap();

    let limits = QueryLimits { max_rows: 7, ..QueryLimits::default() };
    let r = run_with(&h, ACCOUNTS[0], "SELECT eventid FROM history", &limits).unwrap();
    assert_eq!((r.rows.len(), r.truncated), (7, true));
    let r = run_with(&h, ACCOUNTS[0], "SELECT count(*) FROM history", &limits).unwrap();
    assert_eq!((r.rows.len(), r.truncated), (1, false));

    let tiny = QueryLimits { memory_bytes: 64 << 10, ..QueryLimits::default() };
    let sql = "SELECT a.eventjson FROM history a JOIN history b ON a.eventname = b.eventname ORDER BY 1";
    match run_with(&h, ACCOUNTS[0], sql, &tiny) {
        Err(Error::QueryResources(_)) => {}
        other => panic!("{other:?}"),
    }
}
