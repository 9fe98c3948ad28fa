//! Imports of CloudTrail log files into an event data store: the files a trail delivered (`.json.gz`, or `.json`),
//! from a bucket or a directory, as real archives hold them.
//!
//! A file is `{"Records": [...]}` on one line or many, possibly with other members, possibly gzip members one after
//! another; each record is kept byte for byte, whatever members it has or lacks. A file that cannot be read as that
//! is a recorded failure and the import goes on. Records outside the import's time range are skipped, and so is a
//! record whose eventID the store already holds for that date (from an earlier import, or the same import): importing
//! the same files twice adds nothing.
//!
//! Files are read in date order and parsed on several threads; a date's records become a Parquet file of the store
//! (`date=D/imp-<import>-<n>.parquet`, published as the store's other files are) once no file left can hold its
//! events, or once they pass a size: an import holds a few dates in memory, whatever the archive's size.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_schema::SchemaRef;
use datafusion::arrow::compute::{filter_record_batch, interleave_record_batch};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Lake, TableKind, TailEvent};
use crate::segment::date_of;
use crate::Result;

/// One file to import: where it is (a key or a path) and how to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub location: String,
    pub size: u64,
}

/// Where an import reads files from.
pub trait ImportSource: Send + Sync {
    /// The files to import, with the date prefixes (`YYYY/MM/DD` folders) they fall in.
    fn list(&self) -> std::result::Result<Vec<SourceFile>, String>;
    /// A file's bytes as stored.
    fn read(&self, file: &SourceFile) -> std::result::Result<Vec<u8>, String>;
}

/// A directory (walked recursively) or single files of trail logs, as `aws s3 sync` leaves them.
#[derive(Debug, Clone)]
pub struct LocalFiles(pub Vec<PathBuf>);

fn walk(path: &Path, out: &mut Vec<SourceFile>) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)?.collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            walk(&e.path(), out)?;
        }
    } else if is_log_file(&path.to_string_lossy()) {
        out.push(SourceFile { location: path.to_string_lossy().into_owned(), size: meta.len() });
    }
    Ok(())
}

/// Whether a name is a log file's: `.json.gz` or `.json`, not a digest.
pub fn is_log_file(name: &str) -> bool {
    (name.ends_with(".json.gz") || name.ends_with(".json")) && !name.contains("CloudTrail-Digest")
}

impl ImportSource for LocalFiles {
    fn list(&self) -> std::result::Result<Vec<SourceFile>, String> {
        let mut out = Vec::new();
        for p in &self.0 {
            walk(p, &mut out).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        Ok(out)
    }

    fn read(&self, file: &SourceFile) -> std::result::Result<Vec<u8>, String> {
        std::fs::read(&file.location).map_err(|e| e.to_string())
    }
}

/// What an import does: its time range (milliseconds; records outside are skipped) and where it stops early.
#[derive(Debug, Clone, Default)]
pub struct ImportPlan {
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Threads that read and parse files.
    pub threads: usize,
}

/// An import's progress, as ImportStatistics reports it.
#[derive(Debug, Default)]
pub struct ImportProgress {
    pub prefixes_found: AtomicU64,
    pub prefixes_completed: AtomicU64,
    pub files_completed: AtomicU64,
    pub events_completed: AtomicU64,
    /// Records skipped as already in the store.
    pub duplicates: AtomicU64,
    pub failed_entries: AtomicU64,
    pub failures: Mutex<Vec<ImportFailure>>,
    /// Set to stop the import after the files under way.
    pub stop: AtomicBool,
}

/// A file that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFailure {
    pub location: String,
    pub error_type: String,
    pub message: String,
}

/// The date a log file's name or prefix gives (`..._YYYYMMDDTHHMMZ_...` or `/YYYY/MM/DD/`), as `YYYY-MM-DD`.
pub fn file_date(location: &str) -> Option<String> {
    let name = location.rsplit('/').next().unwrap_or(location);
    let stamp = name.split('_').find(|p| p.len() == 14 && p.as_bytes()[8] == b'T' && p.ends_with('Z'));
    if let Some(s) = stamp.filter(|s| s[..8].bytes().all(|b| b.is_ascii_digit())) {
        return Some(format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..8]));
    }
    let parts: Vec<&str> = location.split('/').collect();
    parts.windows(3).rev().find_map(|w| {
        let ok = w[0].len() == 4 && w[1].len() == 2 && w[2].len() == 2;
        (ok && w.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))).then(|| format!("{}-{}-{}", w[0], w[1], w[2]))
    })
}

/// The folder a file is in (its date prefix, for PrefixesFound).
fn prefix_of(location: &str) -> &str {
    location.rsplit_once('/').map_or("", |(p, _)| p)
}

#[derive(Deserialize)]
struct LogFile<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct EventId<'a> {
    #[serde(rename = "eventID", borrow, default)]
    event_id: Option<std::borrow::Cow<'a, str>>,
}

/// Reads one log file (gzip or plain, decompressed into `buf`) into a batch of `schema`, one row per record that is
/// a JSON object, each converted in one pass.
pub fn read_log_file(
    bytes: &[u8],
    buf: &mut Vec<u8>,
    schema: &SchemaRef,
) -> std::result::Result<RecordBatch, (String, String)> {
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        buf.clear();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(buf)
            .map_err(|e| ("DecompressionFailed".to_string(), format!("not a readable gzip file: {e}")))?;
        &buf[..]
    } else {
        bytes
    };
    // Checked as text once, the file is then parsed without checking each string again.
    let text = std::str::from_utf8(text)
        .map_err(|e| ("InvalidLogFile".to_string(), format!("not a CloudTrail log file (not UTF-8): {e}")))?;
    let file: LogFile<'_> = serde_json::from_str(text).map_err(|e| {
        ("InvalidLogFile".to_string(), format!("not a CloudTrail log file ({{\"Records\": [...]}}): {e}"))
    })?;
    let records: Vec<&str> = file.records.iter().map(|r| r.get()).collect();
    super::schema::text_records_batch(schema, &records).map_err(|e| ("InvalidLogFile".to_string(), e.to_string()))
}

/// A file's rows by date (`YYYY-MM-DD` of eventtime), keeping those with an eventtime within the plan's range.
fn by_date(batch: RecordBatch, plan: &ImportPlan) -> Result<Vec<(String, RecordBatch)>> {
    const DAY: i64 = 86_400_000;
    let index = batch.schema().index_of("eventtime")?;
    let times = batch.column(index).as_primitive::<TimestampMillisecondType>().clone();
    let keep = |t: Option<i64>| {
        t.filter(|&t| plan.start_ms.is_none_or(|s| t >= s) && plan.end_ms.is_none_or(|e| t <= e))
            .map(|t| t.div_euclid(DAY))
    };
    let mut days: Vec<i64> = times.iter().filter_map(keep).collect();
    days.sort_unstable();
    days.dedup();
    if let [day] = days[..] {
        if times.iter().all(|t| keep(t) == Some(day)) {
            return Ok(vec![(date_of(day * DAY), batch)]);
        }
    }
    days.into_iter()
        .map(|day| {
            let mask: BooleanArray = times.iter().map(|t| Some(keep(t) == Some(day))).collect();
            Ok((date_of(day * DAY), filter_record_batch(&batch, &mask)?))
        })
        .collect()
}

impl Lake {
    /// The eventIDs a store holds for a date (in its files and its tail), to keep imports from adding them again.
    fn event_ids_of(&self, id: &str, date: &str) -> Result<HashSet<String>> {
        let (files, tail, key) = {
            let stores = self.read();
            let Some(d) = stores.get(id) else { return Ok(HashSet::new()) };
            let files: Vec<_> = d.files.iter().filter(|f| f.date == date).cloned().collect();
            let tail: Vec<TailEvent> = d.tail.iter().filter(|e| date_of(e.time_ms) == date).cloned().collect();
            (files, tail, d.key.data_key())
        };
        let mut ids = HashSet::new();
        for f in files {
            let builder = super::files::reader(&f, key.as_ref())?;
            let index = builder.schema().index_of("eventid")?;
            let mask = parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), [index]);
            for batch in builder.with_projection(mask).build()? {
                let batch = batch?;
                let col = arrow_array::cast::AsArray::as_string::<i32>(batch.column(0).as_ref());
                ids.extend(col.iter().flatten().map(str::to_string));
            }
        }
        for e in tail {
            if let Ok(k) = serde_json::from_slice::<EventId<'_>>(&e.record) {
                ids.extend(k.event_id.map(|c| c.into_owned()));
            }
        }
        Ok(ids)
    }

    /// Imports log files from `source` into store `id` (of kind `kind`), naming its files after `import_id`.
    /// Progress and failures go to `progress` as the import runs; an error is the store's own (its files could not
    /// be written), not a file's.
    pub fn import(
        &self,
        id: &str,
        kind: TableKind,
        import_id: &str,
        source: &dyn ImportSource,
        plan: &ImportPlan,
        progress: &ImportProgress,
    ) -> Result<()> {
        let listed = match source.list() {
            Ok(l) => l,
            Err(e) => {
                progress.failed_entries.fetch_add(1, Ordering::Relaxed);
                progress.failures.lock().unwrap_or_else(|p| p.into_inner()).push(ImportFailure {
                    location: String::new(),
                    error_type: "ListFailed".into(),
                    message: e,
                });
                return Ok(());
            }
        };
        // Files dated (by name or prefix) more than a day outside the range cannot hold its events.
        let day = 86_400_000;
        let in_range = |f: &SourceFile| {
            let Some(date) = file_date(&f.location) else { return true };
            let Some(start) = crate::segment::day_bounds(&date).map(|b| b.0) else { return true };
            plan.start_ms.is_none_or(|s| start + 2 * day > s) && plan.end_ms.is_none_or(|e| start - day <= e)
        };
        let mut files: Vec<SourceFile> = listed.into_iter().filter(in_range).collect();
        files.sort_by_cached_key(|f| (file_date(&f.location).unwrap_or_else(|| "9999".into()), f.location.clone()));
        let prefixes: BTreeMap<&str, usize> = files.iter().fold(BTreeMap::new(), |mut m, f| {
            *m.entry(prefix_of(&f.location)).or_default() += 1;
            m
        });
        progress.prefixes_found.store(prefixes.len() as u64, Ordering::Relaxed);

        // Files in date order (undated ones last), read and parsed on several threads. Records gather by date and a
        // date is written once no file left can hold its events (files dated more than a day after it), or once
        // its records pass [`FLUSH_BYTES`]: memory stays bounded whatever the archive's size.
        let dates: Vec<Option<String>> = files.iter().map(|f| file_date(&f.location)).collect();
        let state = Mutex::new(Gather { buffers: BTreeMap::new(), done: vec![false; files.len()], lowest_open: 0 });
        let key = match self.read().get(id) {
            Some(d) => d.writing_key(id)?,
            None => None,
        };
        // A run's files carry its start time, so a restarted import (same id) never replaces the files of an earlier run.
        let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let writer = DateWriter {
            lake: self,
            id,
            kind,
            dir: self.dir.join(id),
            import_id,
            run,
            progress,
            seen: Mutex::default(),
            next_file: Default::default(),
            key,
        };
        let remaining: Mutex<BTreeMap<String, usize>> =
            Mutex::new(prefixes.iter().map(|(p, n)| (p.to_string(), *n)).collect());
        let next = std::sync::atomic::AtomicUsize::new(0);
        let failure: Mutex<Option<crate::Error>> = Mutex::new(None);
        let threads = plan.threads.clamp(1, 16).min(files.len().max(1));
        let schema = kind.schema();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    // Each thread decompresses into one buffer, grown to its largest file and kept.
                    let mut buf = Vec::new();
                    loop {
                        if progress.stop.load(Ordering::Relaxed)
                            || failure.lock().unwrap_or_else(|p| p.into_inner()).is_some()
                        {
                            return;
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(f) = files.get(i) else { return };
                        let outcome = source
                            .read(f)
                            .map_err(|e| ("ReadFailed".to_string(), e))
                            .and_then(|bytes| read_log_file(&bytes, &mut buf, &schema));
                        let parts = match outcome.map(|batch| by_date(batch, plan)) {
                            Ok(Ok(parts)) => parts,
                            Ok(Err(e)) => {
                                failure.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                                return;
                            }
                            Err((error_type, message)) => {
                                progress.failed_entries.fetch_add(1, Ordering::Relaxed);
                                progress.failures.lock().unwrap_or_else(|p| p.into_inner()).push(ImportFailure {
                                    location: f.location.clone(),
                                    error_type,
                                    message,
                                });
                                Vec::new()
                            }
                        };
                        let due = {
                            let mut g = state.lock().unwrap_or_else(|p| p.into_inner());
                            for (date, part) in parts {
                                let b = g.buffers.entry(date).or_default();
                                b.bytes += record_bytes(&part);
                                b.batches.push(part);
                            }
                            g.done[i] = true;
                            while g.lowest_open < g.done.len() && g.done[g.lowest_open] {
                                g.lowest_open += 1;
                            }
                            // Files from here on are dated no earlier than this; their events no earlier than a day before.
                            let open_date = dates.get(g.lowest_open).cloned();
                            g.take_due(open_date)
                        };
                        for (date, records, closed) in due {
                            if let Err(e) = writer.write(&date, records, closed) {
                                failure.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                                return;
                            }
                        }
                        progress.files_completed.fetch_add(1, Ordering::Relaxed);
                        let mut left = remaining.lock().unwrap_or_else(|p| p.into_inner());
                        if let Some(n) = left.get_mut(prefix_of(&f.location)) {
                            *n -= 1;
                            if *n == 0 {
                                progress.prefixes_completed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                });
            }
        });
        if let Some(e) = failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(e);
        }
        // What is left (a stopped import writes what it read), on the import's threads.
        let rest = std::mem::take(&mut state.lock().unwrap_or_else(|p| p.into_inner()).buffers);
        let rest = Mutex::new(rest.into_iter());
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let Some((date, b)) = rest.lock().unwrap_or_else(|p| p.into_inner()).next() else { return };
                    if let Err(e) = writer.write(&date, b.batches, true) {
                        failure.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                        return;
                    }
                });
            }
        });
        match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Rows of one date waiting to be written.
#[derive(Debug, Default)]
struct DateBuffer {
    batches: Vec<RecordBatch>,
    bytes: usize,
}

/// The records gathered so far, and which files are done.
struct Gather {
    buffers: BTreeMap<String, DateBuffer>,
    done: Vec<bool>,
    /// The first file (in date order) not yet done.
    lowest_open: usize,
}

/// The size of a batch's records as JSON (its `eventjson` column).
fn record_bytes(batch: &RecordBatch) -> usize {
    batch.column_by_name("eventjson").map_or(0, |c| c.as_string::<i32>().values().len())
}

/// Bytes of records (as JSON) a date gathers before they are written, whatever files are left.
const FLUSH_BYTES: usize = 256 << 20;

impl Gather {
    /// Takes the dates to write: those before the day before `open_date` (the date of the first file not done;
    /// `Some(None)`: an undated file, which may hold any date; `None`: no file left), and any past [`FLUSH_BYTES`].
    fn take_due(&mut self, open_date: Option<Option<String>>) -> Vec<(String, Vec<RecordBatch>, bool)> {
        let closed_before = match open_date {
            None => None,
            Some(None) => Some(String::new()),
            Some(Some(d)) => {
                Some(crate::segment::day_bounds(&d).map_or(String::new(), |(start, _)| date_of(start - 86_400_000)))
            }
        };
        let due: Vec<String> = self
            .buffers
            .iter()
            .filter(|(date, b)| {
                closed_before.as_ref().is_none_or(|c| date.as_str() < c.as_str()) || b.bytes >= FLUSH_BYTES
            })
            .map(|(d, _)| d.clone())
            .collect();
        due.into_iter()
            .filter_map(|d| {
                let closed = closed_before.as_ref().is_none_or(|c| d.as_str() < c.as_str());
                self.buffers.remove(&d).map(|b| (d, b.batches, closed))
            })
            .collect()
    }
}

/// Rows per batch written: a batch is made (in eventtime order, from the rows gathered) just before it is written.
const WRITE_ROWS: usize = 4096;

/// One date's eventIDs, loaded from the store at its first write (`None` until then).
type SeenIds = Arc<Mutex<Option<HashSet<String>>>>;

/// Writes one date's records at a time into the store, each date's eventIDs remembered so that neither the store's
/// nor this import's earlier events come in twice.
struct DateWriter<'a> {
    lake: &'a Lake,
    id: &'a str,
    kind: TableKind,
    dir: PathBuf,
    import_id: &'a str,
    run: u128,
    progress: &'a ImportProgress,
    /// Per date, the eventIDs the store holds (loaded at the date's first write), behind a lock that also keeps
    /// two writes of one date apart.
    seen: Mutex<BTreeMap<String, SeenIds>>,
    next_file: std::sync::atomic::AtomicUsize,
    /// The store's data key, when its files are encrypted.
    key: Option<super::DataKey>,
}

impl DateWriter<'_> {
    /// Writes the rows of `date`; a `closed` date (no file left can hold its events) forgets its eventIDs after,
    /// and reloads them from the store should a late event of it come.
    fn write(&self, date: &str, batches: Vec<RecordBatch>, closed: bool) -> Result<()> {
        self.write_rows(date, &batches)?;
        if closed {
            self.seen.lock().unwrap_or_else(|p| p.into_inner()).remove(date);
        }
        Ok(())
    }

    /// Writes the rows whose eventIDs are new, ordered by eventtime, as one file.
    fn write_rows(&self, date: &str, batches: &[RecordBatch]) -> Result<()> {
        let slot = Arc::clone(self.seen.lock().unwrap_or_else(|p| p.into_inner()).entry(date.to_string()).or_default());
        let mut seen = slot.lock().unwrap_or_else(|p| p.into_inner());
        if seen.is_none() {
            *seen = Some(self.lake.event_ids_of(self.id, date)?);
        }
        let seen = seen.as_mut().expect("loaded above");
        // (time, batch, row) of each row to write.
        let mut rows: Vec<(i64, usize, usize)> = Vec::new();
        let mut total = 0;
        for (b, batch) in batches.iter().enumerate() {
            let schema = batch.schema();
            let times = batch.column(schema.index_of("eventtime")?).as_primitive::<TimestampMillisecondType>();
            let ids = batch.column(schema.index_of("eventid")?).as_string::<i32>();
            total += batch.num_rows();
            for row in 0..batch.num_rows() {
                if ids.is_null(row) || seen.insert(ids.value(row).to_string()) {
                    rows.push((times.value(row), b, row));
                }
            }
        }
        self.progress.duplicates.fetch_add((total - rows.len()) as u64, Ordering::Relaxed);
        if rows.is_empty() {
            return Ok(());
        }
        rows.sort_by_key(|&(time, ..)| time);
        let n = self.next_file.fetch_add(1, Ordering::Relaxed);
        let sources: Vec<&RecordBatch> = batches.iter().collect();
        let indices: Vec<(usize, usize)> = rows.iter().map(|&(_, b, row)| (b, row)).collect();
        let out = indices.chunks(WRITE_ROWS).map(|c| Ok(interleave_record_batch(&sources, c)?));
        let name = format!("imp-{}-{:x}-{n:05}.parquet", self.import_id, self.run);
        let file = super::files::write_stream(&self.dir, date, &name, batches[0].schema(), out, self.key.as_ref())?;
        self.lake
            .write()
            .entry(self.id.to_string())
            .or_insert_with(|| super::StoreData::new(self.kind))
            .files
            .push(Arc::new(file));
        self.progress.events_completed.fetch_add(rows.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_come_from_names_and_prefixes() {
        assert_eq!(
            file_date("AWSLogs/1/CloudTrail/us-east-1/2026/01/02/1_CloudTrail_us-east-1_20260102T0105Z_abc.json.gz"),
            Some("2026-01-02".into())
        );
        assert_eq!(file_date("x/2025/12/31/odd-name.json"), Some("2025-12-31".into()));
        assert_eq!(file_date("plain.json"), None);
        assert!(is_log_file("a.json.gz") && is_log_file("a.json") && !is_log_file("a.txt"));
        assert!(!is_log_file("AWSLogs/1/CloudTrail-Digest/us-east-1/2026/01/02/x.json.gz"));
    }

    #[test]
    fn messy_log_files_read_and_broken_ones_fail() {
        let one_line = br#"{"Records":[{"eventTime":"2026-01-02T00:00:00Z","eventID":"a","futureMember":{"x":1}},{"eventTime":"bad"},{"eventID":"no-time"}],"extra":true}"#;
        let schema = TableKind::CloudTrail.schema();
        let mut buf = Vec::new();
        let mut read = |bytes: &[u8]| read_log_file(bytes, &mut buf, &schema);
        let batch = read(one_line).unwrap();
        assert_eq!(batch.num_rows(), 3);
        let parts = by_date(batch, &ImportPlan::default()).unwrap();
        assert_eq!(parts.len(), 1);
        let (date, rows) = &parts[0];
        assert_eq!((date.as_str(), rows.num_rows()), ("2026-01-02", 1));
        let json = rows.column(rows.schema().index_of("eventjson").unwrap()).as_string::<i32>().value(0);
        assert_eq!(json, r#"{"eventTime":"2026-01-02T00:00:00Z","eventID":"a","futureMember":{"x":1}}"#);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"{\n \"Records\": [\n {\"eventTime\": \"2026-01-02T00:00:01Z\"}\n ]\n}")
            .unwrap();
        let mut two = gz.finish().unwrap();
        let again = two.clone();
        two.extend_from_slice(&again[..10]);
        assert_eq!(read(&two).unwrap_err().0, "DecompressionFailed");
        assert_eq!(read(&again).unwrap().num_rows(), 1);
        assert_eq!(read(b"{\"Records\": 5}").unwrap_err().0, "InvalidLogFile");
        assert_eq!(read(b"not json").unwrap_err().0, "InvalidLogFile");
        // Rows of two dates, and a range that keeps one of them.
        let two_dates = br#"{"Records":[{"eventTime":"2026-01-02T23:59:59Z"},{"eventTime":"2026-01-03T00:00:00Z"}]}"#;
        let parts = by_date(read(two_dates).unwrap(), &ImportPlan::default()).unwrap();
        let dates: Vec<(&str, usize)> = parts.iter().map(|(d, b)| (d.as_str(), b.num_rows())).collect();
        assert_eq!(dates, [("2026-01-02", 1), ("2026-01-03", 1)]);
        let plan = ImportPlan { start_ms: Some(1_767_398_400_000), ..ImportPlan::default() };
        let parts = by_date(read(two_dates).unwrap(), &plan).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].0, "2026-01-03");
    }
}
