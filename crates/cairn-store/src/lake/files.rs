//! A store's Parquet files: `<store dir>/date=YYYY-MM-DD/<lo>-<hi>.parquet`, where `lo..=hi` is the journal
//! sequence range the file was built from and the date is the UTC day of every eventTime in it. Rows are in
//! eventTime order, in the store's Lake schema, so DuckDB, Trino or Spark read a store's directory as a Hive-style
//! partitioned table.
//!
//! An import's files are `imp-<import id>-<n>.parquet` beside them: they come from log files, not the journal, so
//! the checkpoint does not govern them.
//!
//! A store encrypted with a KMS key has its files encrypted with its data key ([`super::crypt`]); a file's last
//! four bytes say whether it is (`PARE`, not `PAR1`), so a store whose key was added later reads both.
//!
//! A file is written under a temporary name, synced, renamed into place and its directory synced: a file with its
//! final name is complete. A file is removed when it leaves the store (retention, deletion) only once no query
//! holds it ([`LakeFile::retire`]), so a running query never loses a file under it. Small files of a date are merged
//! in the background ([`super::compact`]).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::crypt::{self, DataKey};
use crate::segment::sync_dir;
use crate::{Error, Result};

/// One published file of a store.
#[derive(Debug)]
pub struct LakeFile {
    pub path: PathBuf,
    pub date: String,
    pub lo: u64,
    pub hi: u64,
    pub size: u64,
    /// Encrypted with the store's data key.
    pub encrypted: bool,
    retired: AtomicBool,
}

impl LakeFile {
    /// Whether an import wrote the file (rather than a flush of records of the journal).
    pub fn is_import(&self) -> bool {
        self.path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("imp-"))
    }

    /// Marks the file for removal once the last holder lets go of it.
    pub fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
    }
}

impl Drop for LakeFile {
    fn drop(&mut self) {
        if self.retired.load(Ordering::SeqCst) {
            if let Err(e) = crate::remove_if_exists(&self.path) {
                tracing::warn!(error = %e, "cannot remove a retired Lake file");
            }
        }
    }
}

pub(crate) fn stem(lo: u64, hi: u64) -> String {
    format!("{lo:020}-{hi:020}")
}

/// Parses `<lo>-<hi>.parquet`.
pub(crate) fn parse_name(name: &str) -> Option<(u64, u64)> {
    let (lo, hi) = name.strip_suffix(".parquet")?.split_once('-')?;
    (lo.len() == 20 && hi.len() == 20).then_some(())?;
    Some((lo.parse().ok()?, hi.parse().ok()?))
}

/// Columns whose every value differs: a dictionary would only be built and thrown away.
const UNIQUE_COLUMNS: [&str; 4] = ["eventjson", "eventjsonchecksum", "eventid", "requestid"];

fn properties(key: Option<&DataKey>) -> WriterProperties {
    let mut builder = WriterProperties::builder();
    for column in UNIQUE_COLUMNS {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    // Whole records have no useful minimum or maximum, and comparing them costs as much as compressing them.
    for column in ["eventjson", "eventjsonchecksum"] {
        builder = builder.set_column_statistics_enabled(ColumnPath::from(column), EnabledStatistics::None);
    }
    builder = builder
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("valid level")))
        .set_max_row_group_row_count(Some(128 * 1024))
        .set_created_by(format!("cairn {}", env!("CARGO_PKG_VERSION")));
    if let Some(key) = key {
        builder = builder.with_file_encryption_properties(key.encryption());
    }
    builder.build()
}

/// Writes `batches` as the file `lo-hi` of `date` under `dir` (encrypted with `key` when given) and publishes it
/// durably.
pub(crate) fn write(
    dir: &Path,
    date: &str,
    (lo, hi): (u64, u64),
    batches: &[RecordBatch],
    key: Option<&DataKey>,
) -> Result<LakeFile> {
    let mut file = write_named(dir, date, &format!("{}.parquet", stem(lo, hi)), batches, key)?;
    (file.lo, file.hi) = (lo, hi);
    Ok(file)
}

/// Writes `batches` as the file `name` of `date` under `dir` and publishes it durably. Files named `imp-...` are
/// an import's (not built from the journal).
pub(crate) fn write_named(
    dir: &Path,
    date: &str,
    name: &str,
    batches: &[RecordBatch],
    key: Option<&DataKey>,
) -> Result<LakeFile> {
    let schema = batches.first().map(RecordBatch::schema).ok_or_else(|| Error::Corrupt {
        path: dir.join(name),
        reason: "a Lake file needs at least one batch".into(),
    })?;
    write_stream(dir, date, name, schema, batches.iter().map(|b| Ok(b.clone())), key)
}

/// [`write_named`] for batches made one at a time as the file is written, so that only one is in memory.
pub(crate) fn write_stream(
    dir: &Path,
    date: &str,
    name: &str,
    schema: SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch>>,
    key: Option<&DataKey>,
) -> Result<LakeFile> {
    let date_dir = dir.join(format!("date={date}"));
    std::fs::create_dir_all(&date_dir).map_err(crate::io(&date_dir))?;
    let tmp = date_dir.join(format!(".{name}.tmp"));
    let file = File::create(&tmp).map_err(crate::io(&tmp))?;
    let mut writer = ArrowWriter::try_new(file, schema, Some(properties(key)))?;
    for b in batches {
        writer.write(&b?)?;
    }
    let file = writer.into_inner()?;
    file.sync_all().map_err(crate::io(&tmp))?;
    let size = file.metadata().map_err(crate::io(&tmp))?.len();
    let path = date_dir.join(name);
    std::fs::rename(&tmp, &path).map_err(crate::io(&path))?;
    sync_dir(&date_dir)?;
    sync_dir(dir)?;
    Ok(LakeFile {
        path,
        date: date.to_string(),
        lo: 0,
        hi: 0,
        size,
        encrypted: key.is_some(),
        retired: AtomicBool::new(false),
    })
}

/// A reader of a store's file, decrypting it with `key`; an encrypted file without the key is an error.
pub(crate) fn reader(f: &LakeFile, key: Option<&DataKey>) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let file = File::open(&f.path).map_err(crate::io(&f.path))?;
    let mut options = ArrowReaderOptions::new();
    if f.encrypted {
        let store = f.path.parent().and_then(Path::parent).and_then(Path::file_name);
        let key = key.ok_or_else(|| Error::KeyUnavailable {
            store: store.map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        })?;
        options = options.with_file_decryption_properties(key.decryption());
    }
    Ok(ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)?)
}

/// Opens the files of a store directory: removes unfinished writes and files at or past `checkpoint` (written
/// from journal records the checkpoint does not cover: they will be applied again), and returns the rest.
pub(crate) fn open_dir(dir: &Path, checkpoint: u64) -> Result<Vec<LakeFile>> {
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(crate::io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(crate::io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(date) = name.strip_prefix("date=") else { continue };
        let date_dir = entry.path();
        for f in std::fs::read_dir(&date_dir).map_err(crate::io(&date_dir))? {
            let f = f.map_err(crate::io(&date_dir))?;
            let fname = f.file_name().to_string_lossy().into_owned();
            let path = f.path();
            if fname.ends_with(".tmp") {
                crate::remove_if_exists(&path)?;
                continue;
            }
            if fname.starts_with("imp-") && fname.ends_with(".parquet") {
                let size = f.metadata().map_err(crate::io(&path))?.len();
                let encrypted = crypt::is_encrypted(&path)?;
                files.push(LakeFile {
                    path,
                    date: date.to_string(),
                    lo: 0,
                    hi: 0,
                    size,
                    encrypted,
                    retired: AtomicBool::new(false),
                });
                continue;
            }
            let Some((lo, hi)) = parse_name(&fname) else { continue };
            if hi >= checkpoint {
                crate::remove_if_exists(&path)?;
                continue;
            }
            let size = f.metadata().map_err(crate::io(&path))?.len();
            let encrypted = crypt::is_encrypted(&path)?;
            let date = date.to_string();
            files.push(LakeFile { path, date, lo, hi, size, encrypted, retired: AtomicBool::new(false) });
        }
    }
    // A journal file within the range of another of its date was merged into it by a compaction that did not get
    // to remove it ([`super::compact`]): its rows are in the other.
    files.sort_by(|a, b| (&a.date, a.lo, std::cmp::Reverse(a.hi)).cmp(&(&b.date, b.lo, std::cmp::Reverse(b.hi))));
    let mut kept: Vec<LakeFile> = Vec::with_capacity(files.len());
    let mut reach: Option<(String, u64)> = None;
    for f in files {
        if f.is_import() {
            kept.push(f);
            continue;
        }
        if reach.as_ref().is_some_and(|(date, hi)| *date == f.date && f.hi <= *hi) {
            crate::remove_if_exists(&f.path)?;
            continue;
        }
        reach = Some((f.date.clone(), f.hi));
        kept.push(f);
    }
    kept.sort_by(|a, b| (&a.date, a.lo).cmp(&(&b.date, b.lo)));
    Ok(kept)
}
