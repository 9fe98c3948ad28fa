//! Encrypted event data stores: every file a flush, a compaction or an import writes is encrypted with the store's
//! data key (nothing of it readable without the key), queries, compaction and import deduplication read them with
//! it, a store whose key was added later reads its older files in clear beside the encrypted ones (a compaction
//! that merges them with newer ones writes them encrypted), and a store
//! whose key cannot be used drops its events at flush rather than write them in clear.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cairn_store::lake::import::{ImportPlan, ImportProgress, LocalFiles};
use cairn_store::lake::{sql, DataKey, Lake, StoreKey, TableKind, COMPACT_FILES};
use serde_json::json;

mod common;
use common::{temp_dir, NOW};

const S: &str = "eeeeeeee-0000-4000-8000-000000000005";

fn files_of(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for date in std::fs::read_dir(dir.join(S)).unwrap() {
        for f in std::fs::read_dir(date.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "parquet") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn tail_magic(p: &Path) -> Vec<u8> {
    let bytes = std::fs::read(p).unwrap();
    bytes[bytes.len() - 4..].to_vec()
}

fn insert(lake: &Lake, seq: u64, id: &str) {
    let time = NOW + seq as i64 * 1000;
    let record = json!({
        "eventVersion": "1.11", "eventTime": cairn_model::event::format_event_time(time),
        "eventID": id, "eventName": "RunInstances", "eventSource": "ec2.amazonaws.com",
        "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "userName": "secret-user-name"},
    });
    lake.insert(S, TableKind::CloudTrail, seq, time, Arc::from(record.to_string().into_bytes()));
}

async fn count(lake: &Lake) -> Result<String, String> {
    let statement =
        format!("SELECT count(*), count(DISTINCT eventid) FROM {S} WHERE useridentity.username = 'secret-user-name'");
    let prepared = sql::prepare(&statement, |w| w == S).unwrap();
    let snapshots = HashMap::from([(S.to_string(), lake.snapshot(S, 0).unwrap())]);
    match sql::run(&prepared, snapshots, &Default::default()).await {
        Ok(a) => Ok(a.rows[0].iter().map(|c| c.clone().unwrap_or_default()).collect::<Vec<_>>().join("|")),
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::test]
async fn encrypted_stores_write_nothing_in_clear_and_read_with_their_key() {
    let dir = temp_dir("lake-encrypt");
    let key = DataKey::new(&[0x5au8; 32]).unwrap();
    let lake = Lake::open(&dir.0, 0).unwrap();
    lake.declare(S, TableKind::CloudTrail);
    // Before the key: one file in clear.
    insert(&lake, 0, "plain-0");
    lake.flush(1).unwrap();
    lake.set_key(S, StoreKey::Keyed(key.clone()));
    assert!(lake.data_key(S).is_some());
    let mut seq = 1;
    for _ in 0..COMPACT_FILES {
        insert(&lake, seq, &format!("sealed-{seq}"));
        seq += 1;
        lake.flush(seq).unwrap();
    }
    let written = files_of(&dir.0);
    assert_eq!(written.len(), 1 + COMPACT_FILES);
    let sealed: Vec<_> = written.iter().filter(|p| tail_magic(p) == b"PARE").collect();
    assert_eq!(sealed.len(), COMPACT_FILES, "every file written after the key is encrypted");
    for p in &sealed {
        let bytes = std::fs::read(p).unwrap();
        assert!(!bytes.windows(b"secret-user-name".len()).any(|w| w == b"secret-user-name"));
        assert!(!bytes.windows(b"eventname".len()).any(|w| w == b"eventname"), "not even the schema is in clear");
        let plain =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(p).unwrap());
        assert!(plain.is_err(), "a reader without the key cannot open an encrypted file");
    }
    assert_eq!(count(&lake).await.unwrap(), format!("{seq}|{seq}"));

    // Compaction reads the files (in clear and encrypted) and writes the merged file encrypted.
    let done = lake.compact(seq, |_| false).unwrap();
    assert_eq!(done.merged, COMPACT_FILES + 1);
    let after = files_of(&dir.0);
    assert_eq!(after.len(), 1);
    assert_eq!(tail_magic(&after[0]), b"PARE");
    assert_eq!(count(&lake).await.unwrap(), format!("{seq}|{seq}"));

    // An import into the store writes encrypted files and reads the encrypted ones to skip events it holds.
    let src = dir.0.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let again = json!({"eventVersion": "1.11", "eventTime": cairn_model::event::format_event_time(NOW + 1000),
        "eventID": "sealed-1", "eventName": "RunInstances", "eventSource": "ec2.amazonaws.com", "awsRegion": "us-east-1",
        "recipientAccountId": "111122223333", "userIdentity": {"type": "IAMUser", "userName": "secret-user-name"}});
    let mut new = again.clone();
    new["eventID"] = json!("imported-1");
    std::fs::write(src.join("log.json"), json!({"Records": [again, new]}).to_string()).unwrap();
    let progress = ImportProgress::default();
    lake.import(S, TableKind::CloudTrail, "imp1", &LocalFiles(vec![src]), &ImportPlan::default(), &progress).unwrap();
    let imported: Vec<_> = files_of(&dir.0).into_iter().filter(|p| p.to_string_lossy().contains("imp-")).collect();
    assert_eq!(imported.len(), 1);
    assert_eq!(tail_magic(&imported[0]), b"PARE");
    assert_eq!(count(&lake).await.unwrap(), format!("{}|{}", seq + 1, seq + 1), "the duplicate was skipped");

    // Reopened, the files are known encrypted: without the key a query fails, with it the answer is whole.
    drop(lake);
    let lake = Lake::open(&dir.0, seq).unwrap();
    lake.declare(S, TableKind::CloudTrail);
    lake.set_key(S, StoreKey::Unavailable);
    assert!(lake.data_key(S).is_none());
    // Compaction waits for the key.
    assert_eq!(lake.compact(u64::MAX, |_| false).unwrap().merged, 0);
    let refused = count(&lake).await.unwrap_err();
    assert!(refused.contains("KMS key cannot be used"), "{refused}");
    // Events that arrive while the key cannot be used are dropped at flush, never written in clear.
    insert(&lake, seq, "while-disabled");
    let flushed = lake.flush(seq + 1).unwrap();
    assert_eq!((flushed.dropped, flushed.files), (1, 0));
    let refused = lake.import(S, TableKind::CloudTrail, "imp2", &LocalFiles(vec![]), &ImportPlan::default(), &progress);
    assert!(matches!(refused, Err(cairn_store::Error::KeyUnavailable { .. })), "{refused:?}");
    lake.set_key(S, StoreKey::Keyed(key));
    assert_eq!(count(&lake).await.unwrap(), format!("{}|{}", seq + 1, seq + 1));
}
