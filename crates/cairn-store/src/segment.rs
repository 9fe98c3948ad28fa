//! History files: one Parquet file of events plus its lookup index (see [`crate::index`]) per flush or compaction,
//! under `<history dir>/date=YYYY-MM-DD/<lo>-<hi>.parquet`, where `lo..=hi` is the journal sequence range the file
//! was built from and the date is the UTC day of every eventTime in it.
//!
//! Rows are ordered by (account, region, category), then newest first. The columns are CloudTrail Lake's (the same
//! table SQL sees in a Lake event data store), plain and self-describing, so DuckDB, DataFusion or Spark read the
//! files as they are; `eventjson` holds the record byte for byte and is written in pages of a few dozen rows, so
//! returning one event decodes one small page. Files written before history took this schema are rewritten into it
//! when history opens them.
//!
//! A file is published by writing both files under temporary names, syncing them, renaming the Parquet file and
//! then the index, and syncing the directory: a file without its index is an unfinished write and is removed at open.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arrow_array::{RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::extract::{extract, LookupKey};
use crate::history::StoredEvent;
use crate::index::{attribute_hashes, key_hash, Builder, Index};
use crate::lake::TableKind;
use crate::{Category, Error, Result};

/// Rows per record batch when writing and reading whole files.
const BATCH_ROWS: usize = 8192;
/// Rows per Parquet page of the `event` column: one returned event decodes about this many.
const EVENT_PAGE_ROWS: usize = 32;
const EVENT_COLUMN: &str = "eventjson";
/// The record's column in files written before history took CloudTrail Lake's schema.
const OLD_EVENT_COLUMN: &str = "cloudtrailevent";

/// The file schema: CloudTrail Lake's columns for CloudTrail events (see [`crate::lake::schema`]; `eventjson` is
/// the record byte for byte, LookupEvents' `CloudTrailEvent`), and `seq`, last, the record's journal sequence number.
pub(crate) fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    Arc::clone(SCHEMA.get_or_init(|| {
        let lake = TableKind::CloudTrail.schema();
        let mut fields: Vec<Field> = lake.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new("seq", DataType::UInt64, false));
        Arc::new(Schema::new(fields))
    }))
}

/// The leaf (Parquet column) index of a top-level column of a file.
fn leaf(meta: &ArrowReaderMetadata, name: &str) -> Option<usize> {
    meta.parquet_schema().columns().iter().position(|c| c.path().parts() == [name])
}

/// Columns with few distinct values: their dictionary-encoded pages are small already, and left uncompressed they
/// are read without a zstd context, whose creation per column chunk dominated scans of them.
const PLAIN_COLUMNS: [&str; 6] =
    ["eventname", "eventsource", "awsregion", "recipientaccountid", "eventcategory", "readonly"];

fn properties() -> WriterProperties {
    let event = ColumnPath::from(EVENT_COLUMN);
    let time = ColumnPath::from("eventtime");
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("valid level")))
        // Times are sorted within each partition: their deltas pack into a few bits without a codec.
        .set_column_dictionary_enabled(time.clone(), false)
        .set_column_encoding(time.clone(), Encoding::DELTA_BINARY_PACKED)
        .set_column_compression(time, Compression::UNCOMPRESSED);
    for column in PLAIN_COLUMNS {
        builder = builder.set_column_compression(ColumnPath::from(column), Compression::UNCOMPRESSED);
    }
    // Columns whose every value differs: a dictionary would only be built and thrown away.
    for column in ["eventid", "requestid", "eventjsonchecksum"] {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    builder = builder.set_column_statistics_enabled(ColumnPath::from("eventjsonchecksum"), EnabledStatistics::None);
    builder
        .set_write_batch_size(EVENT_PAGE_ROWS)
        .set_max_row_group_row_count(Some(256 * 1024))
        .set_column_dictionary_enabled(event.clone(), false)
        .set_column_statistics_enabled(event.clone(), EnabledStatistics::None)
        // Pages of about EVENT_PAGE_ROWS typical (2 KB) records: parquet 59 has no per-column row limit, and a
        // one-byte size limit closed a page per record (four times the bytes on disk, a far larger page index).
        .set_column_data_page_size_limit(event, EVENT_PAGE_ROWS * 2048)
        .set_created_by(format!("cairn {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The category an event belongs to in history.
pub(crate) fn category_of(e: &StoredEvent) -> Category {
    if e.fields.category == "Insight" {
        Category::Insight
    } else {
        Category::Management
    }
}

/// The lookup attribute values of an event.
pub(crate) fn attribute_values(f: &crate::EventFields) -> Vec<(LookupKey, &str)> {
    let mut out = vec![
        (LookupKey::EventId, f.event_id.as_str()),
        (LookupKey::EventName, f.event_name.as_str()),
        (LookupKey::EventSource, f.event_source.as_str()),
    ];
    if let Some(r) = f.read_only {
        out.push((LookupKey::ReadOnly, if r { "true" } else { "false" }));
    }
    if let Some(u) = &f.username {
        out.push((LookupKey::Username, u));
    }
    if let Some(a) = &f.access_key_id {
        out.push((LookupKey::AccessKeyId, a));
    }
    for (ty, name) in &f.resources {
        if let Some(t) = ty {
            out.push((LookupKey::ResourceType, t));
        }
        if let Some(n) = name {
            out.push((LookupKey::ResourceName, n));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The eventID key used for deduplication.
pub(crate) fn event_id_hash(e: &StoredEvent) -> u64 {
    key_hash(&e.fields.account_id, &e.fields.region, category_of(e), LookupKey::EventId, &e.fields.event_id)
}

/// The UTC day (YYYY-MM-DD) of a time.
pub(crate) fn date_of(time_ms: i64) -> String {
    cairn_model::event::format_event_time(time_ms)[..10].to_string()
}

/// One published history file.
#[derive(Debug)]
pub(crate) struct Segment {
    pub date: String,
    /// First and last millisecond of the date.
    pub day: (i64, i64),
    pub lo: u64,
    pub hi: u64,
    /// Oldest and newest eventTime in the file.
    pub times: (i64, i64),
    pub index: Index,
    parquet_path: PathBuf,
    idx_path: PathBuf,
    parquet: File,
    /// Size of the Parquet file in bytes.
    pub size: u64,
    meta: OnceLock<ArrowReaderMetadata>,
}

fn file_stem(lo: u64, hi: u64) -> String {
    format!("{lo:020}-{hi:020}")
}

/// Parses `<lo>-<hi>` from a history file stem.
pub(crate) fn parse_stem(stem: &str) -> Option<(u64, u64)> {
    let (lo, hi) = stem.split_once('-')?;
    (lo.len() == 20 && hi.len() == 20).then_some(())?;
    Some((lo.parse().ok()?, hi.parse().ok()?))
}

pub(crate) fn day_bounds(date: &str) -> Option<(i64, i64)> {
    let start = cairn_model::event::event_time_millis(&format!("{date}T00:00:00Z"))?;
    Some((start, start + 86_400_000 - 1))
}

impl Segment {
    /// Opens a published file (`<dir>/date=D/<lo>-<hi>.parquet` and its index).
    pub fn open(date_dir: &Path, date: &str, lo: u64, hi: u64) -> Result<Segment> {
        let stem = file_stem(lo, hi);
        let parquet_path = date_dir.join(format!("{stem}.parquet"));
        let idx_path = date_dir.join(format!("{stem}.idx"));
        let index = Index::open(&idx_path)?;
        let mut times = (i64::MAX, i64::MIN);
        for p in &index.parts {
            // Each partition's rows are newest first.
            let newest = index.key(p.start).map_err(crate::io(&idx_path))?.0;
            let oldest = index.key(p.end - 1).map_err(crate::io(&idx_path))?.0;
            times = (times.0.min(oldest), times.1.max(newest));
        }
        let parquet = File::open(&parquet_path).map_err(crate::io(&parquet_path))?;
        let size = parquet.metadata().map_err(crate::io(&parquet_path))?.len();
        let day = day_bounds(date)
            .ok_or_else(|| Error::Corrupt { path: date_dir.to_path_buf(), reason: "not a date directory".into() })?;
        Ok(Segment {
            date: date.to_string(),
            day,
            lo,
            hi,
            times,
            index,
            parquet_path,
            idx_path,
            parquet,
            size,
            meta: OnceLock::new(),
        })
    }

    /// Writes `events` (all of `date`, already in file order) as a new file replacing the files `replaced`, and
    /// publishes it durably.
    pub fn write(
        dir: &Path,
        date: &str,
        (lo, hi): (u64, u64),
        replaced: &[(u64, u64)],
        events: &[&StoredEvent],
    ) -> Result<Segment> {
        let date_dir = dir.join(format!("date={date}"));
        std::fs::create_dir_all(&date_dir).map_err(crate::io(&date_dir))?;
        let stem = file_stem(lo, hi);
        let tmp_parquet = date_dir.join(format!(".{stem}.parquet.tmp"));
        let tmp_idx = date_dir.join(format!(".{stem}.idx.tmp"));

        write_parquet(&tmp_parquet, events)?;
        let mut index = Builder::default();
        for e in events {
            let part = (e.fields.account_id.as_str(), e.fields.region.as_str(), category_of(e));
            let hashes = attribute_hashes(part, attribute_values(&e.fields));
            index.push(part, e.fields.time_ms, e.seq, &hashes, event_id_hash(e));
            index.raw_bytes += e.raw.len() as u64;
        }
        index.write(&tmp_idx, replaced)?;
        File::open(&tmp_idx).and_then(|f| f.sync_all()).map_err(crate::io(&tmp_idx))?;

        let parquet_path = date_dir.join(format!("{stem}.parquet"));
        let idx_path = date_dir.join(format!("{stem}.idx"));
        std::fs::rename(&tmp_parquet, &parquet_path).map_err(crate::io(&parquet_path))?;
        std::fs::rename(&tmp_idx, &idx_path).map_err(crate::io(&idx_path))?;
        sync_dir(&date_dir)?;
        sync_dir(dir)?;
        Segment::open(&date_dir, date, lo, hi)
    }

    /// The file in the current schema: a file written before history took CloudTrail Lake's schema is rewritten
    /// into it, row for row (so its index stays true), and replaces the old one atomically.
    pub fn upgraded(self) -> Result<Segment> {
        if leaf(self.metadata()?, OLD_EVENT_COLUMN).is_none() {
            return Ok(self);
        }
        let events = self.read_all()?;
        let date_dir = self.parquet_path.parent().map(Path::to_path_buf).unwrap_or_default();
        let tmp = date_dir.join(format!(".{}.parquet.tmp", file_stem(self.lo, self.hi)));
        write_parquet(&tmp, &events.iter().collect::<Vec<_>>())?;
        std::fs::rename(&tmp, &self.parquet_path).map_err(crate::io(&self.parquet_path))?;
        sync_dir(&date_dir)?;
        tracing::info!(file = %self.name(), "event history file rewritten in CloudTrail Lake's schema");
        Segment::open(&date_dir, &self.date, self.lo, self.hi)
    }

    /// Removes the file and its index (open handles keep working until dropped).
    pub fn remove(&self) -> Result<()> {
        crate::remove_if_exists(&self.idx_path)?;
        crate::remove_if_exists(&self.parquet_path)?;
        if let Some(d) = self.parquet_path.parent() {
            sync_dir(d)?;
        }
        Ok(())
    }

    /// The file's path under the history directory (`date=D/<lo>-<hi>.parquet`).
    pub fn name(&self) -> String {
        format!("date={}/{}.parquet", self.date, file_stem(self.lo, self.hi))
    }

    /// Bytes `range` of the Parquet file, read through the handle opened with the file (which keeps working after
    /// the file is removed).
    pub fn read_range(&self, range: std::ops::Range<u64>) -> Result<Vec<u8>> {
        if range.start > range.end || range.end > self.size {
            return Err(self.corrupt("a read past its end"));
        }
        let mut buf = vec![0; (range.end - range.start) as usize];
        self.parquet.read_exact_at(&mut buf, range.start).map_err(crate::io(&self.parquet_path))?;
        Ok(buf)
    }

    /// The Parquet footer with the offset index, read once.
    pub fn metadata(&self) -> Result<&ArrowReaderMetadata> {
        if let Some(m) = self.meta.get() {
            return Ok(m);
        }
        let options = ArrowReaderOptions::new()
            .with_offset_index_policy(PageIndexPolicy::Required)
            .with_column_index_policy(PageIndexPolicy::Skip);
        let m = ArrowReaderMetadata::load(&self.parquet, options)?;
        Ok(self.meta.get_or_init(|| m))
    }

    /// The `event` column of `rows` (ascending), in that order.
    pub fn fetch(&self, rows: &[u32]) -> Result<Vec<String>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let meta = self.metadata()?.clone();
        let mut selectors = Vec::new();
        let mut at = 0usize;
        for &r in rows {
            let r = r as usize;
            if r > at {
                selectors.push(RowSelector::skip(r - at));
            }
            selectors.push(RowSelector::select(1));
            at = r + 1;
        }
        let event = leaf(&meta, EVENT_COLUMN).ok_or_else(|| self.corrupt("no eventjson column"))?;
        let mask = ProjectionMask::leaves(meta.parquet_schema(), [event]);
        let file = self.parquet.try_clone().map_err(crate::io(&self.parquet_path))?;
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta)
            .with_projection(mask)
            .with_row_selection(RowSelection::from(selectors))
            .with_batch_size(rows.len())
            .build()?;
        let mut out = Vec::with_capacity(rows.len());
        for b in reader {
            let b = b?;
            let col = b.column(0).as_any().downcast_ref::<StringArray>().ok_or_else(|| self.corrupt("event column"))?;
            out.extend(col.iter().map(|v| v.unwrap_or_default().to_string()));
        }
        if out.len() != rows.len() {
            return Err(self.corrupt("fewer rows than its index"));
        }
        Ok(out)
    }

    /// Every event of the file, in file order (for compaction).
    pub fn read_all(&self) -> Result<Vec<StoredEvent>> {
        let meta = self.metadata()?.clone();
        let event = leaf(&meta, EVENT_COLUMN)
            .or_else(|| leaf(&meta, OLD_EVENT_COLUMN))
            .ok_or_else(|| self.corrupt("no eventjson column"))?;
        let seq = leaf(&meta, "seq").ok_or_else(|| self.corrupt("no seq column"))?;
        let mask = ProjectionMask::leaves(meta.parquet_schema(), [seq, event]);
        let file = self.parquet.try_clone().map_err(crate::io(&self.parquet_path))?;
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta)
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()?;
        let mut out = Vec::with_capacity(self.index.rows as usize);
        for b in reader {
            let b = b?;
            // Projected columns keep file order: the event, then its sequence number.
            let events = b.column(0).as_any().downcast_ref::<StringArray>().ok_or_else(|| self.corrupt("event"))?;
            let seqs = b.column(1).as_any().downcast_ref::<UInt64Array>().ok_or_else(|| self.corrupt("seq"))?;
            for (seq, raw) in seqs.values().iter().zip(events.iter()) {
                let raw = raw.unwrap_or_default();
                let fields = extract(raw.as_bytes()).ok_or_else(|| self.corrupt("an event history cannot read"))?;
                out.push(StoredEvent { seq: *seq, fields, raw: Arc::from(raw) });
            }
        }
        Ok(out)
    }

    fn corrupt(&self, reason: &str) -> Error {
        Error::Corrupt { path: self.parquet_path.clone(), reason: reason.to_string() }
    }

    pub fn io_error(&self, e: std::io::Error) -> Error {
        crate::io(&self.idx_path)(e)
    }
}

/// Writes `events` (in file order) as a Parquet file of [`schema`] at `path`, synced.
fn write_parquet(path: &Path, events: &[&StoredEvent]) -> Result<()> {
    let file = File::create(path).map_err(crate::io(path))?;
    let mut writer = ArrowWriter::try_new(file, schema(), Some(properties()))?;
    for chunk in events.chunks(BATCH_ROWS) {
        writer.write(&batch(chunk)?)?;
    }
    writer.into_inner()?.sync_all().map_err(crate::io(path))
}

/// Events as one batch of [`schema`]: each record converted into Lake's columns, then its sequence number.
pub(crate) fn batch(events: &[&StoredEvent]) -> Result<RecordBatch> {
    let records: Vec<&str> = events.iter().map(|e| &*e.raw).collect();
    let lake = crate::lake::schema::text_records_batch(&TableKind::CloudTrail.schema(), &records)?;
    if lake.num_rows() != events.len() {
        return Err(Error::Corrupt { path: PathBuf::new(), reason: "an event history cannot convert".into() });
    }
    let mut columns = lake.columns().to_vec();
    columns.push(Arc::new(UInt64Array::from(events.iter().map(|e| e.seq).collect::<Vec<_>>())));
    Ok(RecordBatch::try_new(schema(), columns)?)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(crate::io(dir))
}
