//! Imports of trail log files into an event data store: messy real-world files import whole, broken ones are
//! recorded failures, the time range holds, a second import of the same files adds nothing, and imported files stay
//! across a reopen; imports stream by date and a stopped one restarts under its id without losing what it wrote.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::Ordering;

use cairn_store::lake::import::{ImportPlan, ImportProgress, LocalFiles};
use cairn_store::lake::{sql, Lake, TableKind};
use serde_json::json;

const ID: &str = "cccccccc-0000-4000-8000-000000000003";

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cairn-lake-import-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn record(id: &str, time: &str) -> serde_json::Value {
    json!({"eventVersion": "1.08", "eventID": id, "eventTime": time, "eventSource": "ec2.amazonaws.com",
           "eventName": "RunInstances", "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
           "userIdentity": {"type": "IAMUser", "userName": "alice"}})
}

fn gz(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

/// A copy of a trail bucket with the messes real archives have.
fn archive(root: &std::path::Path) {
    let day = |d: u32| root.join(format!("AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/{d:02}"));
    for d in 1..=3 {
        std::fs::create_dir_all(day(d)).unwrap();
    }
    // Pretty-printed and gzip, as CloudTrail writes.
    let records: Vec<_> = (0..50).map(|i| record(&format!("a{i}"), "2026-01-01T10:00:00Z")).collect();
    let text = serde_json::to_string_pretty(&json!({"Records": records})).unwrap();
    std::fs::write(day(1).join("111122223333_CloudTrail_us-east-1_20260101T1005Z_aaaa.json.gz"), gz(&text)).unwrap();
    // One line, plain JSON, with unknown members, records without resources, and a huge requestParameters.
    let mut odd = record("b0", "2026-01-02T00:00:00Z");
    odd["someFutureMember"] = json!({"nested": [1, 2, 3]});
    odd["requestParameters"] = json!({"blob": "x".repeat(300_000)});
    let text = json!({"Records": [odd, record("b1", "2026-01-02T23:59:59Z")], "extra": 1}).to_string();
    std::fs::write(day(2).join("111122223333_CloudTrail_us-east-1_20260102T0005Z_bbbb.json"), text).unwrap();
    // The same events again in another file (a re-delivered copy), and one outside the range asked later.
    let text =
        json!({"Records": [record("b1", "2026-01-02T23:59:59Z"), record("c0", "2026-01-03T12:00:00Z")]}).to_string();
    std::fs::write(day(3).join("111122223333_CloudTrail_us-east-1_20260103T1205Z_cccc.json.gz"), gz(&text)).unwrap();
    // Broken: a cut-off gzip file, and JSON that is not a log file.
    let cut = gz(&text)[..20].to_vec();
    std::fs::write(day(3).join("111122223333_CloudTrail_us-east-1_20260103T1300Z_dddd.json.gz"), cut).unwrap();
    std::fs::write(day(3).join("111122223333_CloudTrail_us-east-1_20260103T1400Z_eeee.json"), b"{\"Records\": {}}")
        .unwrap();
    // Digests and other files are not imported.
    std::fs::write(root.join("README.txt"), b"not a log").unwrap();
}

async fn count(lake: &Lake, statement: &str) -> Vec<String> {
    let text = statement.replace("{S}", ID);
    let prepared = sql::prepare(&text, |w| w == ID).unwrap();
    let snapshots = HashMap::from([(ID.to_string(), lake.snapshot(ID, 0).unwrap())]);
    let answer = sql::run(&prepared, snapshots, &Default::default()).await.unwrap();
    answer
        .rows
        .into_iter()
        .map(|r| r.into_iter().map(|c| c.unwrap_or_default()).collect::<Vec<_>>().join("|"))
        .collect()
}

#[tokio::test]
async fn archives_import_once_with_failures_recorded() {
    let src = temp("src");
    archive(&src);
    let dir = temp("lake");
    let lake = Lake::open(&dir, 0).unwrap();
    lake.declare(ID, TableKind::CloudTrail);
    let source = LocalFiles(vec![src.clone()]);
    let plan = ImportPlan { threads: 2, ..ImportPlan::default() };
    let progress = ImportProgress::default();
    lake.import(ID, TableKind::CloudTrail, "one", &source, &plan, &progress).unwrap();
    assert_eq!(progress.files_completed.load(Ordering::Relaxed), 5);
    assert_eq!(progress.prefixes_found.load(Ordering::Relaxed), 3);
    assert_eq!(progress.prefixes_completed.load(Ordering::Relaxed), 3);
    assert_eq!(progress.events_completed.load(Ordering::Relaxed), 53);
    assert_eq!(progress.duplicates.load(Ordering::Relaxed), 1);
    let failures = progress.failures.lock().unwrap().clone();
    assert_eq!(progress.failed_entries.load(Ordering::Relaxed), 2);
    let mut types: Vec<&str> = failures.iter().map(|f| f.error_type.as_str()).collect();
    types.sort();
    assert_eq!(types, vec!["DecompressionFailed", "InvalidLogFile"]);

    assert_eq!(count(&lake, "SELECT count(*), count(DISTINCT eventid) FROM {S}").await, vec!["53|53"]);
    let odd = count(&lake, "SELECT length(element_at(requestparameters, 'blob')), json_extract_scalar(eventjson, '$.someFutureMember.nested[2]') FROM {S} WHERE eventid = 'b0'").await;
    assert_eq!(odd, vec!["300000|3"]);

    // Again: nothing new.
    let again = ImportProgress::default();
    lake.import(ID, TableKind::CloudTrail, "two", &source, &plan, &again).unwrap();
    assert_eq!((again.events_completed.load(Ordering::Relaxed), again.duplicates.load(Ordering::Relaxed)), (0, 54));
    assert_eq!(count(&lake, "SELECT count(*) FROM {S}").await, vec!["53"]);

    // A time range imports only its events, into another store; files dated far outside it are not read.
    const OTHER: &str = "dddddddd-0000-4000-8000-000000000004";
    let ranged = ImportPlan {
        start_ms: cairn_model::event::event_time_millis("2026-01-02T00:00:00Z"),
        end_ms: cairn_model::event::event_time_millis("2026-01-02T23:59:59Z"),
        threads: 1,
    };
    let p = ImportProgress::default();
    lake.import(OTHER, TableKind::CloudTrail, "three", &source, &ranged, &p).unwrap();
    assert_eq!(p.events_completed.load(Ordering::Relaxed), 2);

    // Reopened (even past any journal checkpoint), the imported files are still there.
    drop(lake);
    let lake = Lake::open(&dir, 0).unwrap();
    assert_eq!(count(&lake, "SELECT count(*) FROM {S}").await, vec!["53"]);
    let _ = std::fs::remove_dir_all(&src);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn late_events_of_written_dates_import_once_in_date_order() {
    // Ten days of files; the file of the last day also holds a re-delivered event of the first day and a late one.
    let src = temp("late");
    for d in 1..=10u32 {
        let folder = src.join(format!("AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/{d:02}"));
        std::fs::create_dir_all(&folder).unwrap();
        let mut records: Vec<_> =
            (0..20).map(|i| record(&format!("d{d}-{i}"), &format!("2026-01-{d:02}T10:00:{i:02}Z"))).collect();
        if d == 10 {
            records.push(record("d1-0", "2026-01-01T10:00:00Z"));
            records.push(record("late", "2026-01-01T23:00:00Z"));
        }
        let name = format!("111122223333_CloudTrail_us-east-1_202601{d:02}T1005Z_{d:04}.json.gz");
        std::fs::write(folder.join(name), gz(&json!({"Records": records}).to_string())).unwrap();
    }
    let dir = temp("late-lake");
    let lake = Lake::open(&dir, 0).unwrap();
    lake.declare(ID, TableKind::CloudTrail);
    let source = LocalFiles(vec![src.clone()]);
    for threads in [1, 2] {
        let progress = ImportProgress::default();
        let plan = ImportPlan { threads, ..ImportPlan::default() };
        lake.import(ID, TableKind::CloudTrail, &format!("t{threads}"), &source, &plan, &progress).unwrap();
        let expected = if threads == 1 { (201, 1) } else { (0, 202) };
        let got = (progress.events_completed.load(Ordering::Relaxed), progress.duplicates.load(Ordering::Relaxed));
        assert_eq!(got, expected, "threads {threads}");
    }
    assert_eq!(count(&lake, "SELECT count(*), count(DISTINCT eventid) FROM {S}").await, vec!["201|201"]);
    let first_day = count(&lake, "SELECT count(*) FROM {S} WHERE eventtime < '2026-01-02 00:00:00'").await;
    assert_eq!(first_day, vec!["21"]);
}

/// A source that stops its import after `after` files, as StopImport does.
struct Stopping<'a> {
    inner: LocalFiles,
    progress: &'a ImportProgress,
    after: usize,
    reads: std::sync::atomic::AtomicUsize,
}

impl cairn_store::lake::import::ImportSource for Stopping<'_> {
    fn list(&self) -> Result<Vec<cairn_store::lake::import::SourceFile>, String> {
        self.inner.list()
    }

    fn read(&self, file: &cairn_store::lake::import::SourceFile) -> Result<Vec<u8>, String> {
        if self.reads.fetch_add(1, Ordering::SeqCst) + 1 >= self.after {
            self.progress.stop.store(true, Ordering::SeqCst);
        }
        self.inner.read(file)
    }
}

#[tokio::test]
async fn a_stopped_import_restarted_under_its_id_keeps_what_it_wrote() {
    let src = temp("restart");
    // Two files a day: an import stopped after the first leaves its day half written.
    for d in 1..=6u32 {
        let folder = src.join(format!("AWSLogs/111122223333/CloudTrail/us-east-1/2026/02/{d:02}"));
        std::fs::create_dir_all(&folder).unwrap();
        for (half, minute) in [("a", "05"), ("b", "10")] {
            let records: Vec<_> = (0..10)
                .map(|i| record(&format!("r{d}{half}-{i}"), &format!("2026-02-{d:02}T08:{minute}:{i:02}Z")))
                .collect();
            let name = format!("111122223333_CloudTrail_us-east-1_202602{d:02}T08{minute}Z_{d:04}{half}.json.gz");
            std::fs::write(folder.join(name), gz(&json!({"Records": records}).to_string())).unwrap();
        }
    }
    let dir = temp("restart-lake");
    let lake = Lake::open(&dir, 0).unwrap();
    lake.declare(ID, TableKind::CloudTrail);
    let plan = ImportPlan { threads: 1, ..ImportPlan::default() };
    let first = ImportProgress::default();
    let stopping =
        Stopping { inner: LocalFiles(vec![src.clone()]), progress: &first, after: 1, reads: Default::default() };
    lake.import(ID, TableKind::CloudTrail, "same", &stopping, &plan, &first).unwrap();
    assert_eq!(first.events_completed.load(Ordering::Relaxed), 10);
    let again = ImportProgress::default();
    lake.import(ID, TableKind::CloudTrail, "same", &LocalFiles(vec![src.clone()]), &plan, &again).unwrap();
    assert_eq!((again.events_completed.load(Ordering::Relaxed), again.duplicates.load(Ordering::Relaxed)), (110, 10));
    assert_eq!(count(&lake, "SELECT count(*), count(DISTINCT eventid) FROM {S}").await, vec!["120|120"]);
    drop(lake);
    let lake = Lake::open(&dir, 0).unwrap();
    assert_eq!(count(&lake, "SELECT count(*), count(DISTINCT eventid) FROM {S}").await, vec!["120|120"]);
}
