//! Compaction of a store's small files. A live store writes one file per date at every flush (every few seconds to
//! minutes), so a busy date gathers hundreds of small files, and every query pays for each file it opens. Once a
//! date holds [`COMPACT_FILES`] small journal files next to each other, they are merged into one file named for
//! the journal range of all of them, rows in eventTime order.
//!
//! Crash safety: the merged file is published (renamed into place, synced) before the files it replaces leave the
//! store. A crash in between leaves both; at open, a journal file whose range lies within another file's range of
//! the same date is such a leftover and is removed ([`super::files::open_dir`]). That rule is sound because only
//! files next to each other in journal order are merged, and because only files below the saved checkpoint are
//! merged (a merged file past the checkpoint would be removed at open with the files it replaced already gone).
//! Import files (`imp-...`) are left as they are: imports already write large files.

use std::fs::File;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::RecordBatch;
use datafusion::arrow::compute::interleave_record_batch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::files::{self, LakeFile};
use super::Lake;
use crate::Result;

/// Small files a date must hold next to each other before they are merged.
pub const COMPACT_FILES: usize = 8;
/// A file this large or larger is not small.
const SMALL_BYTES: u64 = 16 << 20;
/// At most this many bytes of files are merged at once (their decoded rows are held in memory meanwhile).
const BUDGET_BYTES: u64 = 64 << 20;
/// Rows written at a time.
const WRITE_ROWS: usize = 4096;

/// What a compaction did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LakeCompaction {
    /// Files merged away.
    pub merged: usize,
    /// Files written in their place.
    pub written: usize,
}

/// Files of one store and date to merge into one.
struct Plan {
    store: String,
    date: String,
    inputs: Vec<Arc<LakeFile>>,
}

impl Lake {
    /// Merges each date's runs of small journal files built from records below `checkpoint` (the saved checkpoint
    /// of the `lake` consumer). Queries running meanwhile keep reading the files they hold.
    pub fn compact(&self, checkpoint: u64) -> Result<LakeCompaction> {
        let mut done = LakeCompaction::default();
        for plan in self.plans(checkpoint) {
            let merged = merge(&self.dir.join(&plan.store), &plan.date, &plan.inputs)?;
            let mut stores = self.write();
            let current = stores.get_mut(&plan.store);
            let still_there =
                current.as_ref().is_some_and(|d| plan.inputs.iter().all(|i| d.files.iter().any(|f| Arc::ptr_eq(f, i))));
            match (current, still_there) {
                (Some(d), true) => {
                    d.files.retain(|f| !plan.inputs.iter().any(|i| Arc::ptr_eq(f, i)));
                    plan.inputs.iter().for_each(|f| f.retire());
                    d.files.push(Arc::new(merged));
                    done.merged += plan.inputs.len();
                    done.written += 1;
                }
                // Retention or the store's deletion took the files meanwhile: the merged file goes too.
                _ => merged.retire(),
            }
        }
        Ok(done)
    }

    fn plans(&self, checkpoint: u64) -> Vec<Plan> {
        let stores = self.read();
        let mut plans = Vec::new();
        for (store, d) in stores.iter() {
            let mut journal: Vec<&Arc<LakeFile>> = d.files.iter().filter(|f| !f.is_import()).collect();
            journal.sort_by(|a, b| (&a.date, a.lo).cmp(&(&b.date, b.lo)));
            for date in journal.chunk_by(|a, b| a.date == b.date) {
                // Files are in journal order within a date; a run stops at a file that is large, past the
                // checkpoint or over the budget.
                let mut run: Vec<Arc<LakeFile>> = Vec::new();
                let mut bytes = 0;
                for f in date {
                    let small = f.size < SMALL_BYTES && f.hi < checkpoint;
                    if !small || bytes + f.size > BUDGET_BYTES {
                        if run.len() >= COMPACT_FILES {
                            break;
                        }
                        run.clear();
                        bytes = 0;
                        if !small {
                            continue;
                        }
                    }
                    bytes += f.size;
                    run.push(Arc::clone(f));
                }
                if run.len() >= COMPACT_FILES {
                    plans.push(Plan { store: store.clone(), date: date[0].date.clone(), inputs: run });
                }
            }
        }
        plans
    }
}

/// Writes the rows of `inputs` (files of one date, in journal order) as one file, in eventTime order.
fn merge(dir: &std::path::Path, date: &str, inputs: &[Arc<LakeFile>]) -> Result<LakeFile> {
    let mut batches: Vec<RecordBatch> = Vec::new();
    let mut schema = None;
    for f in inputs {
        let file = File::open(&f.path).map_err(crate::io(&f.path))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.with_batch_size(8192);
        schema.get_or_insert_with(|| Arc::clone(reader.schema()));
        for batch in reader.build()? {
            batches.push(batch?);
        }
    }
    let schema = schema
        .ok_or_else(|| crate::Error::Corrupt { path: dir.to_path_buf(), reason: "no Lake files to merge".into() })?;
    // (time, batch, row), sorted stably: rows of equal times keep their journal order.
    let mut rows: Vec<(i64, usize, usize)> = Vec::new();
    for (b, batch) in batches.iter().enumerate() {
        let times = batch.column(batch.schema().index_of("eventtime")?).as_primitive::<TimestampMillisecondType>();
        rows.extend((0..batch.num_rows()).map(|r| (times.value(r), b, r)));
    }
    rows.sort_by_key(|&(time, ..)| time);
    let sources: Vec<&RecordBatch> = batches.iter().collect();
    let indices: Vec<(usize, usize)> = rows.iter().map(|&(_, b, r)| (b, r)).collect();
    let out = indices.chunks(WRITE_ROWS).map(|c| Ok(interleave_record_batch(&sources, c)?));
    let lo = inputs.iter().map(|f| f.lo).min().unwrap_or(0);
    let hi = inputs.iter().map(|f| f.hi).max().unwrap_or(0);
    let mut merged = files::write_stream(dir, date, &format!("{}.parquet", files::stem(lo, hi)), schema, out)?;
    (merged.lo, merged.hi) = (lo, hi);
    Ok(merged)
}
