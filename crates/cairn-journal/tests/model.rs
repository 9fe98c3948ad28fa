//! Model-based property tests: random sequences of appends, reopens, torn tails, checkpoints, segment deletion
//! and reads, checked against an in-memory model of the journal.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use cairn_journal::{Journal, Options};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<Vec<u8>>),
    Reopen,
    TornTail(Vec<u8>),
    Checkpoint { consumer: usize, at: f64 },
    DeleteConsumed,
    Read { at: f64, max: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..6).prop_map(Op::Append),
        1 => Just(Op::Reopen),
        1 => prop::collection::vec(any::<u8>(), 1..40).prop_map(Op::TornTail),
        2 => (0..2usize, 0.0..=1.0f64).prop_map(|(consumer, at)| Op::Checkpoint { consumer, at }),
        1 => Just(Op::DeleteConsumed),
        2 => (0.0..=1.0f64, 1..50usize).prop_map(|(at, max)| Op::Read { at, max }),
    ]
}

fn options() -> Options {
    Options { segment_bytes: 600, max_record_bytes: 1 << 16, queue_depth: 16 }
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir() -> Dir {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "cairn-journal-model-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    Dir(d)
}

fn last_segment(dir: &Path) -> PathBuf {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(dir.join("segments")).unwrap().map(|e| e.unwrap().path()).collect();
    segs.sort();
    segs.pop().unwrap()
}

fn read_all(j: &Journal, from: u64, max: usize) -> Vec<(u64, Vec<u8>)> {
    let mut r = j.reader(from).unwrap();
    let mut out = Vec::new();
    loop {
        let batch = r.next_batch(max, usize::MAX).unwrap();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch.into_iter().map(|rec| (rec.seq, rec.payload.to_vec())));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn journal_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        let dir = temp_dir();
        let mut journal = Journal::open(&dir.0, options()).unwrap();
        let mut model: Vec<Vec<u8>> = Vec::new();
        let consumers = ["store", "delivery"];
        for name in consumers {
            journal.register_consumer(name).unwrap();
        }
        let mut checkpoints = [0u64; 2];
        for op in ops {
            match op {
                Op::Append(records) => {
                    let range = journal.append_blocking(records.iter().cloned().map(Bytes::from).collect()).unwrap();
                    prop_assert_eq!(range.start, model.len() as u64);
                    model.extend(records);
                    prop_assert_eq!(range.end, model.len() as u64);
                }
                Op::Reopen => {
                    drop(journal);
                    journal = Journal::open(&dir.0, options()).unwrap();
                }
                Op::TornTail(garbage) => {
                    drop(journal);
                    // A write that was never acknowledged: bytes after the last complete record.
                    std::fs::OpenOptions::new().append(true).open(last_segment(&dir.0)).unwrap().write_all(&garbage).unwrap();
                    journal = Journal::open(&dir.0, options()).unwrap();
                }
                Op::Checkpoint { consumer, at } => {
                    let seq = (model.len() as f64 * at) as u64;
                    let seq = seq.max(checkpoints[consumer]);
                    journal.save_checkpoint(consumers[consumer], seq).unwrap();
                    checkpoints[consumer] = seq;
                }
                Op::DeleteConsumed => {
                    journal.delete_consumed().unwrap();
                    let low = *checkpoints.iter().min().unwrap();
                    prop_assert!(journal.first_seq() <= low, "deleted records a consumer still needs");
                }
                Op::Read { at, max } => {
                    let first = journal.first_seq();
                    let from = first + ((model.len() as u64 - first) as f64 * at) as u64;
                    let got = read_all(&journal, from, max);
                    let want: Vec<(u64, Vec<u8>)> = model.iter().cloned().enumerate().skip(from as usize).map(|(i, r)| (i as u64, r)).collect();
                    prop_assert_eq!(got, want);
                }
            }
            prop_assert_eq!(journal.committed(), model.len() as u64);
            for (i, name) in consumers.iter().enumerate() {
                prop_assert_eq!(journal.checkpoint(name), Some(checkpoints[i]));
            }
        }
        // Everything from the lowest checkpoint on is still readable, exactly once and in order.
        let low = *checkpoints.iter().min().unwrap();
        let got = read_all(&journal, low, 7);
        prop_assert_eq!(got.len() as u64, model.len() as u64 - low);
        for (seq, payload) in got {
            prop_assert_eq!(&payload, &model[seq as usize]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_fsyncs_and_get_dense_sequences() {
    let dir = temp_dir();
    let journal = std::sync::Arc::new(Journal::open(&dir.0, Options::default()).unwrap());
    let mut tasks = Vec::new();
    for t in 0..32u8 {
        let j = std::sync::Arc::clone(&journal);
        tasks.push(tokio::spawn(async move {
            let mut ranges = Vec::new();
            for i in 0..50u8 {
                ranges.push(j.append(vec![Bytes::from(vec![t, i]), Bytes::from(vec![t, i, 1])]).await.unwrap());
            }
            ranges
        }));
    }
    let mut all: Vec<std::ops::Range<u64>> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by_key(|r| r.start);
    for w in all.windows(2) {
        assert_eq!(w[0].end, w[1].start, "sequences must be dense and disjoint");
    }
    assert_eq!(journal.committed(), 32 * 50 * 2);
    let records = read_all(&journal, 0, 1000);
    assert_eq!(records.len(), 3200);
    // Each append's two records are adjacent.
    for pair in records.chunks(2) {
        assert_eq!(&pair[1].1[..2], &pair[0].1[..]);
    }
}

#[test]
fn limits_and_corruption_are_reported() {
    let dir = temp_dir();
    let journal = Journal::open(&dir.0, Options { max_record_bytes: 10, ..options() }).unwrap();
    assert!(matches!(
        journal.append_blocking(vec![Bytes::from(vec![0u8; 11])]),
        Err(cairn_journal::Error::RecordTooLarge { .. })
    ));
    assert_eq!(journal.committed(), 0);
    journal.append_blocking(vec![Bytes::from_static(b"abc"), Bytes::from_static(b"def")]).unwrap();
    assert!(matches!(journal.register_consumer("Bad Name"), Err(cairn_journal::Error::InvalidConsumer(_))));
    drop(journal);
    // Flip a payload bit in a complete record at the tail: recovery drops it (it cannot be told from a torn write)...
    let seg = last_segment(&dir.0);
    let mut bytes = std::fs::read(&seg).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    std::fs::write(&seg, &bytes).unwrap();
    let journal = Journal::open(&dir.0, Options { max_record_bytes: 10, ..options() }).unwrap();
    assert_eq!(journal.committed(), 1);
    assert_eq!(read_all(&journal, 0, 10), vec![(0, b"abc".to_vec())]);
    // ...and a reader position below the oldest segment is refused, not silently skipped.
    for i in 0..50u8 {
        journal.append_blocking(vec![Bytes::from(vec![i; 10])]).unwrap();
    }
    journal.register_consumer("c").unwrap();
    journal.save_checkpoint("c", 40).unwrap();
    assert!(journal.delete_consumed().unwrap() > 0);
    assert!(matches!(journal.reader(0).unwrap().next_batch(1, 100), Err(cairn_journal::Error::Truncated { .. })));
}

#[test]
fn recovery_keeps_acknowledged_records_and_destroys_nothing() {
    let dir = temp_dir();
    let journal = Journal::open(&dir.0, Options { max_record_bytes: 1 << 20, ..options() }).unwrap();
    journal.append_blocking(vec![Bytes::from(vec![7u8; 300]), Bytes::from(vec![8u8; 300])]).unwrap();
    drop(journal);
    // A smaller append limit later must not turn acknowledged records into a "torn tail".
    let journal = Journal::open(&dir.0, Options { max_record_bytes: 10, ..options() }).unwrap();
    assert_eq!(journal.committed(), 2);
    assert_eq!(read_all(&journal, 0, 10).len(), 2);
    drop(journal);

    // A torn tail is cut from the segment but kept beside it.
    let seg = last_segment(&dir.0);
    let intact = std::fs::metadata(&seg).unwrap().len();
    std::fs::OpenOptions::new().append(true).open(&seg).unwrap().write_all(b"\x05\x00\x00\x00garbage").unwrap();
    let journal = Journal::open(&dir.0, options()).unwrap();
    assert_eq!(journal.committed(), 2);
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), intact);
    let kept = seg.with_extension(format!("log.torn-{intact}"));
    assert_eq!(std::fs::read(kept).unwrap(), b"\x05\x00\x00\x00garbage");
    drop(journal);

    // A new segment whose header never reached the disk (zeros) holds nothing acknowledged and does not block opening.
    std::fs::write(dir.0.join("segments").join(format!("{:020}.log", 2)), [0u8; 16]).unwrap();
    let journal = Journal::open(&dir.0, options()).unwrap();
    assert_eq!(journal.committed(), 2);
    assert_eq!(journal.segment_count(), 1);
    journal.append_blocking(vec![Bytes::from_static(b"after")]).unwrap();
    assert_eq!(read_all(&journal, 0, 10).last().unwrap().1, b"after");
}
