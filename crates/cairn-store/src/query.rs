//! SQL over event history, on Apache DataFusion. A query sees one account's history as the table `history` (the
//! columns of the history files but `seq`): the events of its in-memory tail and of its Parquet files, as of the
//! instant the query starts, and nothing past the 90-day retention.
//!
//! Only the account's rows are ever read: each file's index knows the row range of every (account, region,
//! category), and rows are newest first within it, so the scan hands DataFusion a row selection per file covering
//! exactly the account's rows within the time bounds the query's filters imply. The files are read through the
//! handles history opened them with, so a compaction or expiry removing a file during a query does not disturb it.
//!
//! Queries are read-only (no DDL, DML, COPY or SET) and cannot name any other table or file; each runs with its
//! own memory budget and no spilling to disk.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use bytes::Bytes;
use datafusion::arrow::compute::cast;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{DFSchema, DataFusionError, ScalarValue, Statistics};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::parquet::ParquetRowSelection;
use datafusion::datasource::physical_plan::{
    FileGroup, FileScanConfigBuilder, ParquetFileMetrics, ParquetFileReaderFactory, ParquetSource,
};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use futures::future::{BoxFuture, FutureExt};
use futures::StreamExt;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, RowSelection};
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;

use crate::chunks::View;
use crate::history::{History, StoredEvent, RETENTION_MS};
use crate::segment::{self, Segment};
use crate::{Error, Result};

/// The table a query names.
pub const TABLE: &str = "history";

/// What one query may use.
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    /// Rows returned at most; a query with more is answered with these and marked truncated.
    pub max_rows: usize,
    /// Memory the query's operators (sorts, joins, aggregations) may hold.
    pub memory_bytes: usize,
    /// Threads a query runs on.
    pub partitions: usize,
}

impl Default for QueryLimits {
    fn default() -> QueryLimits {
        QueryLimits { max_rows: 10_000, memory_bytes: 512 << 20, partitions: 2 }
    }
}

/// A query's answer, every value as text (timestamps `YYYY-MM-DD HH:MM:SS.mmm` in UTC) or null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// Whether rows past [`QueryLimits::max_rows`] were left out.
    pub truncated: bool,
}

/// Runs one SQL statement over the history of `account`.
pub async fn query(
    history: &History,
    account: &str,
    sql: &str,
    now_ms: i64,
    limits: &QueryLimits,
) -> Result<QueryResult> {
    run(Snapshot::take(history, account, now_ms - RETENTION_MS), sql, limits).await
}

/// A session for one query: its memory budget, no spilling to disk, no information schema.
pub(crate) fn session(limits: &QueryLimits) -> Result<SessionContext> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(limits.memory_bytes, 1.0)
        .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled))
        .build_arc()
        .map_err(engine)?;
    let config = SessionConfig::new().with_target_partitions(limits.partitions.max(1)).with_information_schema(false);
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(crate::count_by_view::CountByViewRule))
        .build();
    Ok(SessionContext::new_with_state(state))
}

async fn run(table: Snapshot, sql: &str, limits: &QueryLimits) -> Result<QueryResult> {
    let ctx = session(limits)?;
    // The table has Lake's columns, and Lake's functions (element_at on maps, json_extract_scalar, ...) read them.
    crate::lake::functions::register(&ctx);
    ctx.register_table(TABLE, Arc::new(table)).map_err(engine)?;
    let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let frame = ctx.sql_with_options(sql, options).await.map_err(classify)?;
    let mut stream = frame.execute_stream().await.map_err(classify)?;
    let columns = stream.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut result = QueryResult { columns, rows: Vec::new(), truncated: false };
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(classify)?;
        let room = limits.max_rows - result.rows.len();
        if batch.num_rows() > room {
            result.truncated = true;
        }
        append_rows(&mut result.rows, &batch.slice(0, batch.num_rows().min(room)))?;
        if result.truncated {
            break;
        }
    }
    Ok(result)
}

fn append_rows(rows: &mut Vec<Vec<Option<String>>>, batch: &RecordBatch) -> Result<()> {
    let options = FormatOptions::default()
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.3f"))
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.3f"));
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    for i in 0..batch.num_rows() {
        let row = batch
            .columns()
            .iter()
            .zip(&formatters)
            .map(|(c, f)| (!c.is_null(i)).then(|| f.value(i).to_string()))
            .collect();
        rows.push(row);
    }
    Ok(())
}

pub(crate) fn engine(e: DataFusionError) -> Error {
    Error::Engine(e.to_string())
}

/// Sorts an engine error into the query's fault or the store's.
pub(crate) fn classify(e: DataFusionError) -> Error {
    let message = e.to_string();
    match e.find_root() {
        DataFusionError::ResourcesExhausted(_) => Error::QueryResources(message),
        DataFusionError::SQL(..)
        | DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::NotImplemented(_)
        | DataFusionError::ArrowError(..) => Error::InvalidQuery(message),
        // Evaluation errors of the query's own expressions (a bad cast, division by zero).
        DataFusionError::Execution(_) => Error::InvalidQuery(message),
        _ => Error::Engine(message),
    }
}

/// The state of a query's table at the instant it starts.
#[derive(Debug)]
struct Snapshot {
    account: String,
    cutoff_ms: i64,
    tail: View<Arc<StoredEvent>>,
    files: Vec<Arc<Segment>>,
    /// What the scan reads: [`scan_schema`].
    scan: SchemaRef,
    /// What the query sees: the scan's columns but `seq`, the last.
    schema: SchemaRef,
}

impl Snapshot {
    fn take(history: &History, account: &str, cutoff_ms: i64) -> Snapshot {
        let (tail, files) = history.snapshot(account, cutoff_ms);
        let scan = scan_schema();
        let columns: Vec<usize> = (0..scan.fields().len() - 1).collect();
        let schema = Arc::new(scan.project(&columns).expect("columns of the schema"));
        Snapshot { account: account.to_string(), cutoff_ms, tail, files, scan, schema }
    }
}

/// The history file schema as a scan produces it: [`view_schema`].
fn scan_schema() -> SchemaRef {
    view_schema(&segment::schema())
}

/// A schema as scans produce it: top-level string columns as string views, which the Parquet reader builds without
/// copying each value and the engine compares, groups and hashes faster.
pub(crate) fn view_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// A batch cast to `schema` (strings to string views), for in-memory events scanned beside files.
pub(crate) fn to_view(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

/// Tail events as one batch of [`scan_schema`].
fn tail_batch(events: &[Arc<StoredEvent>], schema: &SchemaRef) -> Result<RecordBatch> {
    let events: Vec<&StoredEvent> = events.iter().map(|e| e.as_ref()).collect();
    to_view(segment::batch(&events)?, schema)
}

#[async_trait]
impl TableProvider for Snapshot {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        // The scan uses filters to choose files and rows; DataFusion still applies them to what it reads.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let (low, high) = time_bounds(filters);
        let low = low.max(self.cutoff_ms);
        let projection: Vec<usize> = projection.cloned().unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        let file_schema = &self.scan;
        let mut inputs: Vec<Arc<dyn ExecutionPlan>> = Vec::new();

        // Tail events in sealed chunks were converted by an earlier query, most likely.
        let batches = self.tail.batches(low, high, |events| tail_batch(events, file_schema)).map_err(external)?;
        if !batches.is_empty() {
            inputs.push(MemorySourceConfig::try_new_exec(
                &[batches],
                Arc::clone(file_schema),
                Some(projection.clone()),
            )?);
        }

        let mut files = Vec::new();
        for s in self.files.iter().filter(|s| s.times.0 <= high && low <= s.times.1) {
            if let Some(rows) = account_rows(s, &self.account, low, high).map_err(external)? {
                // Every history file has the scan's schema: given it, the reader neither decodes the schema
                // stored in each file nor converts the strings it reads to views afterwards.
                let file = PartitionedFile::new(s.name(), s.size)
                    .with_arrow_schema(Arc::clone(file_schema))
                    .with_extension(SegmentFile(Arc::clone(s)))
                    .with_extension(ParquetRowSelection::new(rows));
                files.push(file);
            }
        }
        if !files.is_empty() {
            let source = ParquetSource::new(Arc::clone(file_schema))
                .with_parquet_file_reader_factory(Arc::new(SegmentReaders))
                // The row selection already narrows each file to the account and the time bounds, and the footer
                // history keeps holds the offset index the reader skips pages with; loading every file's column
                // index per query cost more than its pruning of the remaining columns saved. Filters are applied
                // after decoding (pushed into the decoder they measured slower: the selections they build cost more
                // than the decoding they avoid on these narrow columns).
                .with_enable_page_index(false);
            inputs.push(parquet_scan(state, source, file_schema, files, filters, projection.clone(), limit)?);
        }

        if inputs.is_empty() {
            return Ok(Arc::new(EmptyExec::new(Arc::new(self.schema.project(&projection)?))));
        }
        UnionExec::try_new(inputs)
    }
}

/// A scan of local Parquet files with `source`: the filters as its predicate (for pruning; they are applied again
/// after it), the files spread over the session's partitions.
pub(crate) fn parquet_scan(
    state: &dyn Session,
    mut source: ParquetSource,
    schema: &SchemaRef,
    files: Vec<PartitionedFile>,
    filters: &[Expr],
    projection: Vec<usize>,
    limit: Option<usize>,
) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
    if let Some(filter) = conjunction(filters.to_vec()) {
        let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
        source = source.with_predicate(state.create_physical_expr(filter, &df_schema)?);
    }
    let groups = state.config().target_partitions().clamp(1, files.len().max(1));
    // Estimated sizes (about 200 bytes of Parquet a row) let the planner put the smaller side of a join into its hash
    // table; without them it builds on the left side, however large.
    let bytes: u64 = files.iter().map(|f| f.object_meta.size).sum();
    let mut statistics = Statistics::new_unknown(schema);
    statistics.num_rows = Precision::Inexact((bytes / 200) as usize);
    statistics.total_byte_size = Precision::Inexact(bytes as usize);
    let mut file_groups = vec![Vec::new(); groups];
    for (i, f) in files.into_iter().enumerate() {
        file_groups[i % groups].push(f);
    }
    let config = FileScanConfigBuilder::new(ObjectStoreUrl::local_filesystem(), Arc::new(source))
        .with_file_groups(file_groups.into_iter().map(FileGroup::new).collect())
        .with_projection_indices(Some(projection))?
        .with_limit(limit)
        .with_statistics(statistics)
        .build();
    Ok(DataSourceExec::from_data_source(config))
}

fn external(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// The rows of a file that belong to `account` and whose eventTime is within `low..=high`; `None` when there are
/// none.
fn account_rows(s: &Segment, account: &str, low: i64, high: i64) -> Result<Option<RowSelection>> {
    let io = |e| s.io_error(e);
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for p in s.index.parts.iter().filter(|p| p.account == account) {
        // Rows are newest first within a partition. Bounds the whole file is within need no search of its keys.
        let first = match high >= s.times.1 {
            true => p.start,
            false => s.index.first_row(p.start, p.end, |(t, _)| t <= high).map_err(io)?,
        };
        let end = match low <= s.times.0 {
            true => p.end,
            false => s.index.first_row(first, p.end, |(t, _)| t < low).map_err(io)?,
        };
        if first < end {
            ranges.push(first as usize..end as usize);
        }
    }
    ranges.sort_by_key(|r| r.start);
    // Partitions next to each other make one range: the reader's cost grows with the number of ranges.
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => merged.push(r),
        }
    }
    let ranges = merged;
    Ok((!ranges.is_empty()).then(|| RowSelection::from_consecutive_ranges(ranges.into_iter(), s.index.rows as usize)))
}

/// The narrowest `low..=high` (milliseconds) the filters' comparisons of `eventtime` with constants imply; a
/// superset of the rows the filters keep (they are still applied).
pub(crate) fn time_bounds(filters: &[Expr]) -> (i64, i64) {
    let (mut low, mut high) = (i64::MIN, i64::MAX);
    for e in filters.iter().flat_map(split_conjunction) {
        match e {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let (op, v) = match (event_time(left), millis(right), event_time(right), millis(left)) {
                    (true, Some(v), _, _) => (*op, v),
                    (_, _, true, Some(v)) => match op.swap() {
                        Some(op) => (op, v),
                        None => continue,
                    },
                    _ => continue,
                };
                match op {
                    Operator::Gt | Operator::GtEq => low = low.max(v.0),
                    Operator::Lt | Operator::LtEq => high = high.min(v.1),
                    Operator::Eq => {
                        low = low.max(v.0);
                        high = high.min(v.1);
                    }
                    _ => {}
                }
            }
            Expr::Between(Between { expr, negated: false, low: l, high: h }) if event_time(expr) => {
                if let Some(v) = millis(l) {
                    low = low.max(v.0);
                }
                if let Some(v) = millis(h) {
                    high = high.min(v.1);
                }
            }
            _ => {}
        }
    }
    (low, high)
}

fn event_time(e: &Expr) -> bool {
    matches!(e, Expr::Column(c) if c.name == "eventtime")
}

/// A timestamp constant as the milliseconds at or before it and at or after it.
fn millis(e: &Expr) -> Option<(i64, i64)> {
    let Expr::Literal(v, _) = e else { return None };
    let (v, per_ms) = match v {
        ScalarValue::TimestampSecond(Some(v), _) => return Some((v.saturating_mul(1000), v.saturating_mul(1000))),
        ScalarValue::TimestampMillisecond(Some(v), _) => return Some((*v, *v)),
        ScalarValue::TimestampMicrosecond(Some(v), _) => (*v, 1_000),
        ScalarValue::TimestampNanosecond(Some(v), _) => (*v, 1_000_000),
        _ => return None,
    };
    let floor = v.div_euclid(per_ms);
    Some((floor, if v.rem_euclid(per_ms) == 0 { floor } else { floor + 1 }))
}

/// Carries a history file to the reader factory.
#[derive(Debug)]
struct SegmentFile(Arc<Segment>);

/// Opens history files through history's own handles and with their already-read footers.
#[derive(Debug)]
struct SegmentReaders;

impl ParquetFileReaderFactory for SegmentReaders {
    fn create_reader(
        &self,
        partition_index: usize,
        file: PartitionedFile,
        _metadata_size_hint: Option<usize>,
        metrics: &ExecutionPlanMetricsSet,
    ) -> datafusion::common::Result<Box<dyn AsyncFileReader + Send>> {
        let segment = file
            .extension::<SegmentFile>()
            .map(|f| Arc::clone(&f.0))
            .ok_or_else(|| DataFusionError::Internal(format!("{} is not a history file", file.path())))?;
        let metrics = ParquetFileMetrics::new(partition_index, file.path().as_ref(), metrics);
        Ok(Box::new(SegmentReader { segment, metrics }))
    }
}

struct SegmentReader {
    segment: Arc<Segment>,
    metrics: ParquetFileMetrics,
}

fn parquet_error(e: Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for SegmentReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        self.metrics.bytes_scanned.add((range.end.saturating_sub(range.start)) as usize);
        let read = self.segment.read_range(range).map(Bytes::from).map_err(parquet_error);
        futures::future::ready(read).boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        let meta = self.segment.metadata().map(|m| Arc::clone(m.metadata())).map_err(parquet_error);
        futures::future::ready(meta).boxed()
    }
}

/// Fuzz entry: any text as a statement over a small history, with tight limits. Every outcome but a panic is fine.
pub fn fuzz_statement(sql: &[u8]) {
    static HISTORY: std::sync::OnceLock<History> = std::sync::OnceLock::new();
    const NOW: i64 = 1_795_355_931_000;
    let history = HISTORY.get_or_init(|| {
        let h = History::new();
        for seq in 0..64u64 {
            let name = ["CreateTrail", "DescribeTrails"][seq as usize % 2];
            let account = ["111111111111", "222222222222"][seq as usize % 4 / 2];
            let e = serde_json::json!({
                "eventVersion": "1.11", "eventTime": cairn_model::event::format_event_time(NOW - seq as i64 * 60_000),
                "eventID": format!("id-{seq}"), "eventName": name,
                "eventSource": "cloudtrail.amazonaws.com", "awsRegion": "us-east-1", "readOnly": seq % 2 == 1,
                "recipientAccountId": account,
                "resources": [{"type": "AWS::CloudTrail::Trail", "ARN": format!("t{}", seq % 3)}],
            });
            h.insert_batch([(seq, e.to_string().as_bytes())], NOW);
        }
        h
    });
    let Ok(sql) = std::str::from_utf8(sql) else { return };
    let limits = QueryLimits { max_rows: 100, memory_bytes: 16 << 20, partitions: 1 };
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let _ = rt.block_on(query(history, "111111111111", sql, NOW, &limits));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz body over mutations of real statements: truncations and single-byte changes.
    #[test]
    fn mangled_statements_fail_cleanly() {
        let seeds = [
            "SELECT eventname, count(*) FROM history WHERE eventtime > TIMESTAMP '2026-11-20 00:00:00' GROUP BY 1",
            "SELECT resources[1]['arn'] = 't1', eventjson FROM history ORDER BY eventtime DESC LIMIT 3",
            "SELECT a.eventid FROM history a JOIN history b ON a.eventid = b.eventid WHERE a.readonly",
        ];
        for seed in seeds {
            let bytes = seed.as_bytes();
            for cut in (0..bytes.len()).step_by(3) {
                fuzz_statement(&bytes[..cut]);
            }
            for at in (0..bytes.len()).step_by(5) {
                for b in [b'(', b'\'', b'0', b' ', b'*', 0xff] {
                    let mut m = bytes.to_vec();
                    m[at] = b;
                    fuzz_statement(&m);
                }
            }
        }
    }

    const NOW: i64 = 1_795_355_931_000;

    #[tokio::test]
    async fn a_query_reads_files_a_compaction_removes_meanwhile() {
        let dir = std::env::temp_dir().join(format!("cairn-query-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let h = History::open(&dir, 0).unwrap();
        for seq in 1..=900u64 {
            let e = serde_json::json!({
                "eventVersion": "1.11", "eventTime": cairn_model::event::format_event_time(NOW - seq as i64 * 1000),
                "eventID": format!("id-{seq}"), "eventName": "CreateTrail", "eventSource": "cloudtrail.amazonaws.com",
                "awsRegion": "us-east-1", "recipientAccountId": "111111111111",
            });
            h.insert_batch([(seq, e.to_string().as_bytes())], NOW);
            if seq % 100 == 0 {
                h.flush(seq + 1).unwrap();
            }
        }
        let sql = "SELECT count(*), min(eventid), max(eventtime) FROM history";
        let limits = QueryLimits::default();
        let before = query(&h, "111111111111", sql, NOW, &limits).await.unwrap();
        let snapshot = Snapshot::take(&h, "111111111111", NOW - RETENTION_MS);
        let files = h.file_count();
        // The compaction merges the nine files and removes them before the query reads a byte.
        assert_eq!(h.compact().unwrap().files, files);
        let during = run(snapshot, sql, &limits).await.unwrap();
        assert_eq!(during, before);
        assert_eq!(
            before.rows,
            vec![vec![Some("900".into()), Some("id-1".into()), Some("2026-11-22 13:58:50.000".into())]]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
