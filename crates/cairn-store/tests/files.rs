//! Event history with files: flushing, reopening, compaction, deduplication and expiry give the same pages as a
//! history held wholly in memory, and interrupted flushes and compactions leave nothing visible twice.

use std::path::Path;

use cairn_store::{Category, Cursor, History, LookupKey, Page, Query};
use serde_json::json;

mod common;
use common::{temp_dir, Rng, DAY, NOW};

const NAMES: [&str; 4] = ["RunInstances", "DescribeInstances", "CreateTrail", "PutObjectAcl"];
const REGIONS: [&str; 2] = ["eu-west-1", "us-west-2"];
const USERS: [&str; 3] = ["alice", "bob", "carol"];

fn event(i: u64, rng: &mut Rng) -> Vec<u8> {
    let name = NAMES[rng.below(4) as usize];
    // Times spread over ten days with frequent ties, so (time, sequence) ordering matters.
    let time = NOW - (rng.below(10 * 24) as i64) * 3600 * 1000;
    let region = REGIONS[rng.below(2) as usize];
    let account = ["111111111111", "222222222222"][rng.below(2) as usize];
    let user = USERS[rng.below(3) as usize];
    let mut e = json!({
        "eventVersion": "1.11", "eventTime": cairn_model::event::format_event_time(time), "eventID": format!("id-{i}"),
        "eventName": name, "eventSource": "ec2.amazonaws.com", "awsRegion": region,
        "recipientAccountId": account,
        "readOnly": name.starts_with("Describe"),
        "userIdentity": {"type": "IAMUser", "userName": user, "accessKeyId": format!("AKIA{}", rng.below(2))},
        "resources": [{"type": "AWS::EC2::Instance", "ARN": format!("i-{}", rng.below(5))}],
    });
    if rng.below(20) == 0 {
        e["eventCategory"] = json!("Insight");
        e["eventType"] = json!("AwsCloudTrailInsight");
    }
    e.to_string().into_bytes()
}

fn query<'a>(rng: &mut Rng, values: &'a [(LookupKey, String)]) -> Query<'a> {
    let attribute = match rng.below(values.len() as u64 + 2) as usize {
        i if i < values.len() => Some((values[i].0, values[i].1.as_str())),
        _ => None,
    };
    let (start_ms, end_ms) = if rng.below(3) == 0 {
        let a = NOW - rng.below(10 * 24) as i64 * 3600 * 1000;
        (a - rng.below(5 * 24) as i64 * 3600 * 1000, a)
    } else {
        (0, NOW)
    };
    Query {
        account_id: ["111111111111", "222222222222"][rng.below(2) as usize],
        region: REGIONS[rng.below(2) as usize],
        category: if rng.below(4) == 0 { Category::Insight } else { Category::Management },
        attribute,
        start_ms,
        end_ms,
        after: None,
        limit: 1 + rng.below(20) as usize,
    }
}

/// Every page of a lookup, as eventIDs.
fn all_pages(h: &History, q: &Query<'_>) -> Vec<Vec<String>> {
    let mut q = q.clone();
    let mut pages = Vec::new();
    loop {
        let page: Page = h.lookup(&q, NOW).expect("lookup");
        pages.push(page.events.iter().map(|e| e.fields.event_id.clone()).collect());
        match page.next {
            Some(c) => q.after = Some(c),
            None => return pages,
        }
    }
}

fn attribute_values() -> Vec<(LookupKey, String)> {
    let mut v = vec![(LookupKey::EventId, "id-7".to_string()), (LookupKey::ReadOnly, "true".into())];
    v.extend(NAMES.iter().map(|n| (LookupKey::EventName, n.to_string())));
    v.extend(USERS.iter().map(|u| (LookupKey::Username, u.to_string())));
    v.extend([(LookupKey::AccessKeyId, "AKIA1".into()), (LookupKey::ResourceName, "i-3".into())]);
    v.extend([
        (LookupKey::ResourceType, "AWS::EC2::Instance".into()),
        (LookupKey::EventSource, "ec2.amazonaws.com".into()),
    ]);
    v
}

fn compare(disk: &History, memory: &History, seed: u64, rounds: usize) {
    let values = attribute_values();
    let mut rng = Rng(seed);
    for _ in 0..rounds {
        let q = query(&mut rng, &values);
        assert_eq!(all_pages(disk, &q), all_pages(memory, &q), "query {q:?}");
    }
}

#[test]
fn files_answer_exactly_as_memory_across_flushes_compaction_and_reopen() {
    let dir = temp_dir("model");
    let memory = History::new();
    let mut disk = History::open(dir.0.as_path(), 0).unwrap();
    let mut rng = Rng(0x5eed_cafe);
    let mut seq = 0u64;
    for round in 0..12 {
        let batch: Vec<(u64, Vec<u8>)> = (0..150)
            .map(|_| {
                seq += 1;
                // Some records are repeats of earlier ones (retries): same bytes, new sequence.
                let i = if seq > 10 && rng.below(10) == 0 { rng.below(seq - 1) } else { seq };
                (seq, event(i, &mut Rng(i * 7919 + 1)))
            })
            .collect();
        let recs = || batch.iter().map(|(s, r)| (*s, r.as_slice()));
        assert_eq!(disk.insert_batch(recs(), NOW), memory.insert_batch(recs(), NOW), "round {round}");
        compare(&disk, &memory, round, 40);
        // Flush most of the tail (not all: the tail and the files answer together).
        let upto = seq + 1 - rng.below(40);
        disk.flush(upto).unwrap();
        let checkpoint = upto;
        compare(&disk, &memory, round + 100, 40);
        if round % 4 == 3 {
            // A restart: files reopen, the journal replays what the checkpoint does not cover.
            disk = History::open(dir.0.as_path(), checkpoint).unwrap();
            let replay = batch.iter().filter(|(s, _)| *s >= checkpoint).map(|(s, r)| (*s, r.as_slice()));
            disk.insert_batch(replay, NOW);
            compare(&disk, &memory, round + 200, 40);
        }
    }
    let before = disk.file_count();
    let merged = disk.compact().unwrap();
    assert!(merged.files >= 8 && disk.file_count() < before, "{merged:?}, {before} -> {}", disk.file_count());
    compare(&disk, &memory, 999, 200);
    assert_eq!(disk.len(), memory.len());
}

fn one(id: &str, time: i64) -> Vec<u8> {
    json!({"eventTime": cairn_model::event::format_event_time(time), "eventID": id, "eventName": "CreateTrail",
           "eventSource": "cloudtrail.amazonaws.com", "awsRegion": "eu-west-1", "recipientAccountId": "111111111111"})
    .to_string()
    .into_bytes()
}

fn ids(h: &History) -> Vec<String> {
    let q = Query {
        account_id: "111111111111",
        region: "eu-west-1",
        category: Category::Management,
        attribute: None,
        start_ms: 0,
        end_ms: NOW,
        after: None::<Cursor>,
        limit: 50,
    };
    h.lookup(&q, NOW).unwrap().events.iter().map(|e| e.fields.event_id.clone()).collect()
}

fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(dir).unwrap() {
        let d = d.unwrap();
        if d.path().is_dir() {
            for f in std::fs::read_dir(d.path()).unwrap() {
                out.push(format!("{}/{}", d.file_name().to_string_lossy(), f.unwrap().file_name().to_string_lossy()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_flush_whose_checkpoint_never_landed_is_replayed_not_doubled() {
    let dir = temp_dir("orphan");
    let h = History::open(&dir.0, 0).unwrap();
    h.insert_batch([(0, one("a", NOW - 10).as_slice()), (1, one("b", NOW - 5).as_slice())], NOW);
    h.flush(2).unwrap();
    // Checkpoint 2 saved. Then c is flushed but the process dies before saving checkpoint 3.
    h.insert_batch([(2, one("c", NOW).as_slice())], NOW);
    h.flush(3).unwrap();
    assert_eq!(files(&dir.0).len(), 4);
    drop(h);
    let h = History::open(&dir.0, 2).unwrap();
    assert_eq!(files(&dir.0).len(), 2, "the unrecorded flush is removed");
    assert_eq!(ids(&h), ["b", "a"]);
    h.insert_batch([(2, one("c", NOW).as_slice())], NOW);
    assert_eq!(ids(&h), ["c", "b", "a"]);
    // A retried record already in a file is not recorded again, from the tail or after a restart.
    assert_eq!(h.insert_batch([(3, one("a", NOW - 10).as_slice())], NOW), 0);
    // Leftover temporary files of an unfinished write are removed at open.
    let date_dir = std::fs::read_dir(&dir.0).unwrap().next().unwrap().unwrap().path();
    std::fs::write(date_dir.join(".x.parquet.tmp"), b"partial").unwrap();
    drop(h);
    History::open(&dir.0, 3).unwrap();
    assert!(files(&dir.0).iter().all(|f| !f.ends_with(".tmp")));
}

#[test]
fn an_interrupted_compaction_leaves_no_event_twice() {
    let dir = temp_dir("compact");
    let h = History::open(&dir.0, 0).unwrap();
    for i in 0..9u64 {
        h.insert_batch([(i, one(&format!("e{i}"), NOW - 1000 + i as i64).as_slice())], NOW);
        h.flush(i + 1).unwrap();
    }
    let inputs: Vec<(String, Vec<u8>)> = files(&dir.0)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(dir.0.join(&f)).unwrap();
            (f, bytes)
        })
        .collect();
    assert_eq!(h.compact().unwrap().files, 9);
    assert_eq!(files(&dir.0).len(), 2);
    drop(h);
    // As if the process stopped after publishing the merged file but before removing its inputs.
    for (f, bytes) in &inputs {
        std::fs::write(dir.0.join(f), bytes).unwrap();
    }
    let h = History::open(&dir.0, 9).unwrap();
    assert_eq!(files(&dir.0).len(), 2);
    assert_eq!(ids(&h), (0..9).rev().map(|i| format!("e{i}")).collect::<Vec<_>>());
}

#[test]
fn expiry_removes_whole_dates_past_retention() {
    let dir = temp_dir("expire");
    let h = History::open(&dir.0, 0).unwrap();
    h.insert_batch([(0, one("old", NOW - 85 * DAY).as_slice()), (1, one("new", NOW - DAY).as_slice())], NOW);
    h.flush(2).unwrap();
    assert_eq!(h.file_count(), 2);
    let later = NOW + 7 * DAY;
    assert_eq!(h.expire(later).unwrap(), 1);
    assert_eq!(h.file_count(), 1);
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1, "the date directory is gone");
}

#[test]
fn a_corrupt_index_is_refused_with_its_path() {
    let dir = temp_dir("corrupt");
    let h = History::open(&dir.0, 0).unwrap();
    h.insert_batch([(0, one("a", NOW).as_slice())], NOW);
    h.flush(1).unwrap();
    drop(h);
    let idx = files(&dir.0).into_iter().find(|f| f.ends_with(".idx")).unwrap();
    let path = dir.0.join(&idx);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let err = History::open(&dir.0, 1).unwrap_err().to_string();
    assert!(err.contains(".idx"), "{err}");
}

#[test]
fn time_bounds_far_outside_any_date_are_answered() {
    let dir = temp_dir("bounds");
    let h = History::open(&dir.0, 0).unwrap();
    h.insert_batch([(0, one("a", NOW - 10).as_slice())], NOW);
    h.flush(1).unwrap();
    let year_10000 = 253_402_300_800_000 + DAY;
    for (start_ms, end_ms, expect) in [(0, i64::MAX, 1), (i64::MIN, year_10000, 1), (NOW + DAY, i64::MAX, 0)] {
        let q = Query {
            account_id: "111111111111",
            region: "eu-west-1",
            category: Category::Management,
            attribute: None,
            start_ms,
            end_ms,
            after: None,
            limit: 50,
        };
        assert_eq!(h.lookup(&q, NOW).unwrap().events.len(), expect, "{start_ms}..{end_ms}");
    }
}
