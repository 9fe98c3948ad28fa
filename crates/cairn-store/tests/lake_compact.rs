//! Lake compaction: a store's small files merge without changing any answer; a query running meanwhile keeps the
//! files it holds; files past the checkpoint and import files stay as they are; and a crash between publishing the
//! merged file and removing the small ones leaves no event twice. Also a store's tail past one chunk of recent events
//! (`chunks.rs`), which a flush takes part of: what a store holds before it is compacted.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use cairn_store::lake::{sql, Lake, StoreSnapshot, TableKind, COMPACT_FILES};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;

mod common;
use common::{temp_dir, DAY, NOW};

const S: &str = "cccccccc-0000-4000-8000-000000000003";
const FLUSHES: u64 = 12;
const PER_FLUSH: u64 = 30;

fn parquet_files(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for date in std::fs::read_dir(dir.join(S)).unwrap() {
        let date = date.unwrap();
        for f in std::fs::read_dir(date.path()).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".parquet") {
                names.push(format!("{}/{name}", date.file_name().to_string_lossy()));
            }
        }
    }
    names.sort();
    names
}

async fn answers(snapshot: StoreSnapshot) -> Vec<Vec<Option<String>>> {
    let statement = format!(
        "SELECT eventid, eventtime, eventname FROM {S} UNION ALL SELECT 'count', NULL, CAST(count(*) AS varchar) \
         FROM {S} ORDER BY 2, 1"
    );
    let prepared = sql::prepare(&statement, |w| w == S).unwrap();
    let stores = HashMap::from([(S.to_string(), snapshot)]);
    sql::run(&prepared, stores, &Default::default()).await.unwrap().rows
}

#[tokio::test]
async fn small_files_merge_without_changing_answers_and_a_crash_midway_leaves_nothing_twice() {
    let dir = temp_dir("lake-compact");
    let lake = Lake::open(&dir.0, 0).unwrap();
    // Each flush writes one file for each of two dates; times repeat, so merged rows must keep their order.
    let mut seq = 0;
    for _ in 0..FLUSHES {
        for _ in 0..PER_FLUSH {
            let time = NOW - DAY * (seq % 2) as i64 - (seq % 7) as i64 * 1000;
            let name = ["CreateTrail", "RunInstances"][(seq % 3 % 2) as usize];
            let record = json!({
                "eventVersion": "1.11", "eventTime": cairn_model::event::format_event_time(time),
                "eventID": format!("id-{seq:04}"), "eventName": name,
                "eventSource": "cloudtrail.amazonaws.com", "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
            });
            lake.insert(S, TableKind::CloudTrail, seq, time, Arc::from(record.to_string().into_bytes()));
            seq += 1;
        }
        lake.flush(seq).unwrap();
    }
    let originals = parquet_files(&dir.0);
    assert_eq!(originals.len(), 2 * FLUSHES as usize);
    let before = answers(lake.snapshot(S, 0).unwrap()).await;
    assert_eq!(before.len(), (FLUSHES * PER_FLUSH) as usize + 1);

    // Nothing is below a checkpoint of 0.
    assert_eq!(lake.compact(0, |_| false).unwrap().merged, 0);
    // Keep copies of the small files, to put them back as a crash before their removal would leave them.
    let backup = dir.0.join("backup");
    std::fs::create_dir_all(&backup).unwrap();
    for (i, f) in originals.iter().enumerate() {
        std::fs::copy(dir.0.join(S).join(f), backup.join(i.to_string())).unwrap();
    }

    // A store the caller leaves out (a federated one) keeps its files.
    assert_eq!(lake.compact(u64::MAX, |id| id == S).unwrap().merged, 0);
    // A query holds the small files while they are merged away.
    let held = lake.snapshot(S, 0).unwrap();
    // The last flush's files are past the checkpoint: the first eleven of each date merge.
    let checkpoint = (FLUSHES - 1) * PER_FLUSH;
    let done = lake.compact(checkpoint, |_| false).unwrap();
    assert!(FLUSHES as usize > COMPACT_FILES);
    assert_eq!((done.merged, done.written), (2 * (FLUSHES as usize - 1), 2));
    assert_eq!(answers(lake.snapshot(S, 0).unwrap()).await, before);
    assert_eq!(answers(held).await, before, "a query keeps the files it started with");
    let after = parquet_files(&dir.0);
    assert_eq!(after.len(), 4, "{after:?}");
    assert!(after.iter().any(|f| f.ends_with(&format!("{:020}-{:020}.parquet", 1, checkpoint - 1))), "{after:?}");
    // Each merged file's rows are in eventTime order (its inputs, read a batch at a time, interleave).
    for f in &after {
        let file = std::fs::File::open(dir.0.join(S).join(f)).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().with_batch_size(7).build().unwrap();
        let mut times = Vec::new();
        for batch in reader {
            let batch = batch.unwrap();
            let column = batch.column(batch.schema().index_of("eventtime").unwrap()).clone();
            times.extend(column.as_primitive::<TimestampMillisecondType>().values().iter().copied());
        }
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{f} is not in eventTime order");
        let expect = if f.contains(&format!("{:020}-", 0)) || f.contains(&format!("{:020}-", 1)) { 165 } else { 15 };
        assert_eq!(times.len(), expect, "{f}");
    }
    // Nothing more to merge.
    assert_eq!(lake.compact(u64::MAX, |_| false).unwrap().merged, 0);
    drop(lake);

    // A crash after the merged files were published and before the small ones were removed: all of them are there.
    for (i, f) in originals.iter().enumerate() {
        std::fs::copy(backup.join(i.to_string()), dir.0.join(S).join(f)).unwrap();
    }
    // An import's file is not the journal's: it stays, whatever its rows.
    let date = originals[0].split('/').next().unwrap();
    let import = format!("{date}/imp-0000-1-00000.parquet");
    std::fs::copy(backup.join("0"), dir.0.join(S).join(&import)).unwrap();
    std::fs::remove_dir_all(&backup).unwrap();
    let lake = Lake::open(&dir.0, seq).unwrap();
    let mut expect = after.clone();
    expect.push(import.clone());
    expect.sort();
    assert_eq!(parquet_files(&dir.0), expect, "the merged files' leftovers are removed at open");
    std::fs::remove_file(dir.0.join(S).join(&import)).unwrap();
    let lake = {
        drop(lake);
        Lake::open(&dir.0, seq).unwrap()
    };
    assert_eq!(answers(lake.snapshot(S, 0).unwrap()).await, before);
}

/// A store's tail past one chunk: answers with time bounds and a retention cut-off that fall inside chunks match a
/// count of the events, before and after a flush that takes part of a chunk, and a second query (reading the chunks
/// the first converted) answers the same.
#[tokio::test]
async fn a_tail_of_many_chunks_answers_as_its_events_across_a_partial_flush() {
    let dir = temp_dir("lake-chunks");
    let lake = Lake::open(&dir.0, 0).unwrap();
    let n = 10_000u64;
    // Times go back and forth over ten days, so every chunk spans most of them.
    let time = |seq: u64| NOW - ((seq * 7919) % (10 * 24)) as i64 * 3600 * 1000;
    for seq in 0..n {
        let record = json!({
            "eventVersion": "1.11", "eventTime": cairn_model::event::format_event_time(time(seq)),
            "eventID": format!("id-{seq:05}"), "eventName": "CreateTrail", "eventSource": "cloudtrail.amazonaws.com",
            "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
        });
        lake.insert(S, TableKind::CloudTrail, seq, time(seq), Arc::from(record.to_string().into_bytes()));
    }
    let (from, to, cutoff) = (NOW - 6 * DAY, NOW - 2 * DAY, NOW - 8 * DAY);
    let bounds = format!(
        "eventtime >= '{}' AND eventtime < '{}'",
        &cairn_model::event::format_event_time(from).replace('T', " ")[..19],
        &cairn_model::event::format_event_time(to).replace('T', " ")[..19]
    );
    let expect = |lo: i64, hi: i64| (0..n).filter(|s| (lo..hi).contains(&time(*s)) && time(*s) >= cutoff).count();
    for round in 0..3 {
        let all = count(&lake, cutoff, &format!("SELECT count(*) FROM {S}")).await;
        assert_eq!(all, expect(i64::MIN, i64::MAX), "round {round}");
        let bounded = count(&lake, cutoff, &format!("SELECT count(*) FROM {S} WHERE {bounds}")).await;
        assert_eq!(bounded, expect(from, to), "round {round}");
        if round == 1 {
            // Events 0..5000 go to files: the second chunk loses part of its events.
            assert_eq!(lake.flush(5000).unwrap().events, 5000);
        }
    }
}

async fn count(lake: &Lake, cutoff: i64, statement: &str) -> usize {
    let prepared = sql::prepare(statement, |w| w == S).unwrap();
    let stores = HashMap::from([(S.to_string(), lake.snapshot(S, cutoff).unwrap())]);
    let rows = sql::run(&prepared, stores, &Default::default()).await.unwrap().rows;
    rows[0][0].clone().unwrap().parse::<usize>().unwrap()
}

/// A store deleted while its files are being merged: the merged file does not join a store that is gone, and no file
/// or directory of the store is left behind.
#[tokio::test]
async fn a_store_removed_during_its_compaction_leaves_nothing() {
    let dir = temp_dir("lake-compact-removed");
    let lake = Lake::open(&dir.0, 0).unwrap();
    let mut seq = 0;
    for _ in 0..COMPACT_FILES {
        let time = NOW + seq as i64;
        let record = json!({
            "eventVersion": "1.11", "eventTime": cairn_model::event::format_event_time(time),
            "eventID": format!("id-{seq}"), "eventName": "CreateTrail", "eventSource": "cloudtrail.amazonaws.com",
            "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
        });
        lake.insert(S, TableKind::CloudTrail, seq, time, Arc::from(record.to_string().into_bytes()));
        seq += 1;
        lake.flush(seq).unwrap();
    }
    assert_eq!(parquet_files(&dir.0).len(), COMPACT_FILES);
    // The store goes as its merge is about to start (`skip` is asked right before each merge).
    let done = lake
        .compact(seq, |id| {
            lake.remove(id).unwrap();
            false
        })
        .unwrap();
    assert_eq!(done.merged, 0);
    assert!(lake.snapshot(S, 0).is_none());
    assert!(
        !dir.0.join(S).exists(),
        "the store's directory is gone: {:?}",
        std::fs::read_dir(dir.0.join(S)).map(|d| d.count())
    );
}
