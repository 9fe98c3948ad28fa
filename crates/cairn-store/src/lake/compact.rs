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
//! Import files (`imp-...`) are left as they are: imports already write large files. The caller leaves out stores
//! that outside engines read directly (federated stores), since those engines would see a merged file and its inputs
//! side by side until the inputs go.
//!
//! The inputs are each in eventTime order, so they are merged as they are read: one batch of each is in memory.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::RecordBatch;
use datafusion::arrow::compute::interleave_record_batch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReader;

use super::files::{self, LakeFile};
use super::Lake;
use crate::Result;

/// Small files a date must hold next to each other before they are merged.
pub const COMPACT_FILES: usize = 8;
/// A file this large or larger is not small.
const SMALL_BYTES: u64 = 16 << 20;
/// At most this many bytes of files are merged into one.
const BUDGET_BYTES: u64 = 64 << 20;
/// Rows read from each input at a time, and written at most at a time.
const READ_ROWS: usize = 4096;
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
    /// The store's data key: the inputs are read and the merged file written with it.
    key: Option<super::DataKey>,
}

impl Lake {
    /// Merges each date's runs of small journal files built from records below `checkpoint` (the saved checkpoint
    /// of the `lake` consumer), in the stores `skip` does not name. Queries running meanwhile keep reading the files
    /// they hold.
    pub fn compact(&self, checkpoint: u64, skip: impl Fn(&str) -> bool) -> Result<LakeCompaction> {
        let mut done = LakeCompaction::default();
        for mut plan in self.plans(checkpoint).into_iter().filter(|p| !skip(&p.store)) {
            let merged = merge(&self.dir.join(&plan.store), &plan.date, &plan.inputs, plan.key.as_ref())?;
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
                // Retention or the store's deletion took the files meanwhile: the merged file goes too, and the
                // directories its writing made again, when nothing else is in them.
                _ => {
                    drop(stores);
                    let date_dir = merged.path.parent().map(Path::to_path_buf);
                    merged.retire();
                    drop(merged);
                    // The inputs were retired with the store: they go once let go of, before their directory.
                    drop(std::mem::take(&mut plan.inputs));
                    if let Some(date_dir) = date_dir {
                        let _ = std::fs::remove_dir(&date_dir);
                        date_dir.parent().map(std::fs::remove_dir);
                    }
                }
            }
        }
        Ok(done)
    }

    fn plans(&self, checkpoint: u64) -> Vec<Plan> {
        let stores = self.read();
        let mut plans = Vec::new();
        for (store, d) in stores.iter() {
            // An encrypted store whose key cannot be used now waits.
            let Ok(key) = d.writing_key(store) else { continue };
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
                    let (store, date) = (store.clone(), date[0].date.clone());
                    plans.push(Plan { store, date, inputs: run, key: key.clone() });
                }
            }
        }
        plans
    }
}

/// Writes the rows of `inputs` (files of one date, in journal order, each in eventTime order) as one file in
/// eventTime order; rows of equal times keep their journal order.
fn merge(dir: &Path, date: &str, inputs: &[Arc<LakeFile>], key: Option<&super::DataKey>) -> Result<LakeFile> {
    let mut readers = Vec::with_capacity(inputs.len());
    let mut schema = None;
    for f in inputs {
        let builder = files::reader(f, key)?.with_batch_size(READ_ROWS);
        schema.get_or_insert_with(|| Arc::clone(builder.schema()));
        readers.push(builder.build()?);
    }
    let schema = schema.ok_or_else(|| crate::Error::Engine("a compaction was planned with no files".into()))?;
    let mut merging = Merging::new(readers, schema.index_of("eventtime")?)?;
    let lo = inputs.iter().map(|f| f.lo).min().unwrap_or(0);
    let hi = inputs.iter().map(|f| f.hi).max().unwrap_or(0);
    let out = std::iter::from_fn(|| merging.next_batch().transpose());
    let name = format!("{}.parquet", files::stem(lo, hi));
    let mut merged = files::write_stream(dir, date, &name, schema, out, key)?;
    (merged.lo, merged.hi) = (lo, hi);
    Ok(merged)
}

/// One input of a merge: its current batch and the next row of it to take.
struct Input {
    reader: ParquetRecordBatchReader,
    batch: RecordBatch,
    row: usize,
}

/// A k-way merge by eventTime of inputs each in eventTime order.
struct Merging {
    inputs: Vec<Input>,
    /// (time of the input's next row, input), smallest first.
    heap: BinaryHeap<Reverse<(i64, usize)>>,
    time_column: usize,
}

impl Merging {
    fn new(readers: Vec<ParquetRecordBatchReader>, time_column: usize) -> Result<Merging> {
        let mut merging = Merging { inputs: Vec::new(), heap: BinaryHeap::new(), time_column };
        for mut reader in readers {
            if let Some(batch) = read(&mut reader)? {
                let i = merging.inputs.len();
                merging.inputs.push(Input { reader, batch, row: 0 });
                merging.queue(i);
            }
        }
        Ok(merging)
    }

    fn queue(&mut self, i: usize) {
        let input = &self.inputs[i];
        let time = input.batch.column(self.time_column).as_primitive::<TimestampMillisecondType>().value(input.row);
        self.heap.push(Reverse((time, i)));
    }

    /// The next rows in order, up to [`WRITE_ROWS`]; fewer when an input's batch runs out (it is read again only
    /// once the rows taken from it are written out).
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let mut picks: Vec<(usize, usize)> = Vec::with_capacity(WRITE_ROWS);
        let mut ran_out = None;
        while picks.len() < WRITE_ROWS {
            let Some(Reverse((_, i))) = self.heap.pop() else { break };
            let input = &mut self.inputs[i];
            picks.push((i, input.row));
            input.row += 1;
            if input.row < input.batch.num_rows() {
                self.queue(i);
            } else {
                ran_out = Some(i);
                break;
            }
        }
        if picks.is_empty() {
            return Ok(None);
        }
        let sources: Vec<&RecordBatch> = self.inputs.iter().map(|x| &x.batch).collect();
        let out = interleave_record_batch(&sources, &picks)?;
        if let Some(i) = ran_out {
            if let Some(batch) = read(&mut self.inputs[i].reader)? {
                (self.inputs[i].batch, self.inputs[i].row) = (batch, 0);
                self.queue(i);
            }
        }
        Ok(Some(out))
    }
}

/// The next batch with rows, if any.
fn read(reader: &mut ParquetRecordBatchReader) -> Result<Option<RecordBatch>> {
    for batch in reader.by_ref() {
        let batch = batch?;
        if batch.num_rows() > 0 {
            return Ok(Some(batch));
        }
    }
    Ok(None)
}
