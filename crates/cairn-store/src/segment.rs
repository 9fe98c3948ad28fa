//! History files: one Parquet file of events plus its lookup index (see [`crate::index`]) per flush or compaction,
//! under `<history dir>/date=YYYY-MM-DD/<lo>-<hi>.parquet`, where `lo..=hi` is the journal sequence range the file
//! was built from and the date is the UTC day of every eventTime in it.
//!
//! Rows are ordered by (account, region, category), then newest first. The columns are plain and self-describing,
//! so DuckDB, DataFusion or Spark read the files as they are; `event` holds the record byte for byte and is written
//! in pages of a few dozen rows, so returning one event decodes one small page.
//!
//! A file is published by writing both files under temporary names, syncing them, renaming the Parquet file and
//! then the index, and syncing the directory: a file without its index is an unfinished write and is removed at open.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arrow_array::builder::{BooleanBuilder, ListBuilder, StringBuilder};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, TimestampMillisecondArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
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
use crate::{Category, Error, Result};

/// Rows per record batch when writing and reading whole files.
const BATCH_ROWS: usize = 8192;
/// Rows per Parquet page of the `event` column: one returned event decodes about this many.
const EVENT_PAGE_ROWS: usize = 32;
const EVENT_COLUMN: &str = "cloudtrailevent";

/// The file schema. Column names follow CloudTrail Lake's event schema where it has the field; `cloudtrailevent`
/// is the record itself (LookupEvents' `CloudTrailEvent`), and `seq`, last, the record's journal sequence number.
pub(crate) fn schema() -> SchemaRef {
    let list = || DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    Arc::new(Schema::new(vec![
        Field::new("eventtime", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), false),
        Field::new("eventid", DataType::Utf8, false),
        Field::new("eventname", DataType::Utf8, false),
        Field::new("eventsource", DataType::Utf8, false),
        Field::new("awsregion", DataType::Utf8, false),
        Field::new("recipientaccountid", DataType::Utf8, false),
        Field::new("eventcategory", DataType::Utf8, false),
        Field::new("readonly", DataType::Boolean, true),
        Field::new("username", DataType::Utf8, true),
        Field::new("accesskeyid", DataType::Utf8, true),
        Field::new("resourcetypes", list(), false),
        Field::new("resourcenames", list(), false),
        Field::new(EVENT_COLUMN, DataType::Utf8, false),
        Field::new("seq", DataType::UInt64, false),
    ]))
}

/// Leaf column indexes (each list column is one leaf).
const EVENT_LEAF: usize = 12;
const SEQ_LEAF: usize = 13;

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

        let file = File::create(&tmp_parquet).map_err(crate::io(&tmp_parquet))?;
        let mut writer = ArrowWriter::try_new(file, schema(), Some(properties()))?;
        let mut index = Builder::default();
        for chunk in events.chunks(BATCH_ROWS) {
            writer.write(&batch(chunk)?)?;
            for e in chunk {
                let part = (e.fields.account_id.as_str(), e.fields.region.as_str(), category_of(e));
                let hashes = attribute_hashes(part, attribute_values(&e.fields));
                index.push(part, e.fields.time_ms, e.seq, &hashes, event_id_hash(e));
                index.raw_bytes += e.raw.len() as u64;
            }
        }
        let file = writer.into_inner()?;
        file.sync_all().map_err(crate::io(&tmp_parquet))?;
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
        let mask = ProjectionMask::leaves(meta.parquet_schema(), [EVENT_LEAF]);
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
        let mask = ProjectionMask::leaves(meta.parquet_schema(), [SEQ_LEAF, EVENT_LEAF]);
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

pub(crate) fn batch(events: &[&StoredEvent]) -> Result<RecordBatch> {
    let strings = |f: &dyn Fn(&StoredEvent) -> Option<&str>| -> ArrayRef {
        Arc::new(events.iter().map(|e| f(e)).collect::<StringArray>())
    };
    type Resource = (Option<String>, Option<String>);
    let lists = |pick: fn(&Resource) -> &Option<String>| -> ArrayRef {
        let mut b = ListBuilder::new(StringBuilder::new());
        for e in events {
            for r in &e.fields.resources {
                b.values().append_option(pick(r).as_deref());
            }
            b.append(true);
        }
        Arc::new(b.finish())
    };
    let mut read_only = BooleanBuilder::with_capacity(events.len());
    for e in events {
        read_only.append_option(e.fields.read_only);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMillisecondArray::from(events.iter().map(|e| e.fields.time_ms).collect::<Vec<_>>())
                .with_timezone("UTC"),
        ),
        strings(&|e| Some(&e.fields.event_id)),
        strings(&|e| Some(&e.fields.event_name)),
        strings(&|e| Some(&e.fields.event_source)),
        strings(&|e| Some(&e.fields.region)),
        strings(&|e| Some(&e.fields.account_id)),
        strings(&|e| Some(category_of(e).name())),
        Arc::new(read_only.finish()),
        strings(&|e| e.fields.username.as_deref()),
        strings(&|e| e.fields.access_key_id.as_deref()),
        lists(|r| &r.0),
        lists(|r| &r.1),
        strings(&|e| Some(&e.raw)),
        Arc::new(UInt64Array::from(events.iter().map(|e| e.seq).collect::<Vec<_>>())),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(crate::io(dir))
}
