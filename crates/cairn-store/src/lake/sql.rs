//! Lake SQL: a statement as CloudTrail Lake takes it, run on DataFusion over the stores it names.
//!
//! A statement names stores by their ids, unquoted (`FROM 5e2676f8-9fce-46ef-8142-3e36a94e6691`), which no SQL
//! parser reads as one identifier: [`prepare`] finds every run of identifier characters and hyphens outside
//! literals, quoted identifiers and comments that is a store id the caller may query, and quotes it. Only one
//! `SELECT` (with joins, set operations, subqueries and `WITH`) of at most [`MAX_STATEMENT`] characters is
//! accepted. Identifiers are case-insensitive as in Trino (DataFusion folds unquoted ones to lower case, the case
//! of every Lake column); a timestamp compares with a string literal such as `'2023-01-22 00:00:00'`.
//!
//! Answers are text as Lake gives them: timestamps `YYYY-MM-DD HH:MM:SS.mmm`, rows `{name=value, ...}`, maps
//! `{key=value, ...}`, arrays `[a, b]`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMillisecondType, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use async_trait::async_trait;
use datafusion::arrow::compute::cast;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::config::{ConfigFileDecryptionProperties, TableParquetOptions};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::ParquetSource;
use datafusion::logical_expr::{col, lit, Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{execute_stream, ExecutionPlan};
use datafusion::prelude::SQLOptions;
use datafusion::sql::sqlparser::ast::{Expr as SqlExpr, Query, SelectItem, SetExpr, Statement};
use futures::StreamExt;

use super::{dialect, StoreSnapshot, TableKind, TailEvent};
use crate::chunks::View;
use crate::query::{classify, engine, parquet_scan, session, time_bounds, to_view, view_schema};
use crate::segment::date_of;
use crate::{Error, QueryLimits, Result};

/// Longest statement Lake runs.
pub const MAX_STATEMENT: usize = 10_000;

/// Limits of one Lake query (the same as event history's).
pub type LakeLimits = QueryLimits;

/// What a query read and found, as DescribeQuery reports it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct QueryStats {
    pub events_matched: u64,
    pub events_scanned: u64,
    pub bytes_scanned: u64,
    pub execution_ms: u64,
}

/// A finished query: its columns, its rows as text (`None` for NULL), and its statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeAnswer {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    pub truncated: bool,
    pub stats: QueryStats,
}

/// A statement checked and rewritten for DataFusion, with the stores it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub sql: String,
    pub stores: Vec<String>,
    /// The answer's column names as the statement writes them (Lake keeps their case: `eventName`), where the
    /// outermost SELECT lists plain columns or aliases; `None` where the engine's name stands.
    pub written: Vec<Option<String>>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidQuery(message.into())
}

/// Checks a statement and quotes the store ids in it (`is_store` answers for a lower-case candidate).
pub fn prepare(statement: &str, is_store: impl FnMut(&str) -> bool) -> Result<Prepared> {
    if statement.chars().count() > MAX_STATEMENT {
        return Err(invalid(format!("the query statement is longer than {MAX_STATEMENT} characters")));
    }
    let (sql, stores) = quote_store_ids(statement, is_store);
    let mut statements = dialect::parse(&sql)?;
    let (mut statement, written) = match statements.len() {
        0 => return Err(invalid("the query statement is empty")),
        1 => {
            let s = statements.remove(0);
            let written = match &s {
                Statement::Query(q) => written_names(q),
                _ => return Err(invalid("only SELECT statements are supported")),
            };
            (s, written)
        }
        _ => return Err(invalid("only one statement can be run at a time")),
    };
    if stores.is_empty() {
        return Err(invalid("the query statement must name an event data store in FROM"));
    }
    dialect::rewrite(&mut statement)?;
    Ok(Prepared { sql: statement.to_string(), stores, written })
}

/// The column names of the outermost SELECT as written (empty when a `*` makes positions unknowable).
fn written_names(query: &Query) -> Vec<Option<String>> {
    let mut body = query.body.as_ref();
    // A set operation's columns are named by its first SELECT.
    while let SetExpr::SetOperation { left, .. } = body {
        body = left.as_ref();
    }
    let SetExpr::Select(select) = body else { return Vec::new() };
    let mut names = Vec::new();
    for item in &select.projection {
        names.push(match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
            SelectItem::UnnamedExpr(SqlExpr::Identifier(i)) => Some(i.value.clone()),
            SelectItem::UnnamedExpr(SqlExpr::CompoundIdentifier(parts)) => parts.last().map(|p| p.value.clone()),
            // Trino names other expressions by position.
            SelectItem::UnnamedExpr(_) => Some(format!("_col{}", names.len())),
            _ => return Vec::new(),
        });
    }
    names
}

/// Quotes every unquoted run of `[A-Za-z0-9_-]` that is a store id; returns the statement and the ids found.
fn quote_store_ids(sql: &str, mut is_store: impl FnMut(&str) -> bool) -> (String, Vec<String>) {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 16);
    let mut stores: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let skip_to = match c {
            b'"' => {
                let end = closing_quote(bytes, i, c);
                let inner = sql[i + 1..end.saturating_sub(1).max(i + 1)].to_ascii_lowercase();
                if inner.contains('-') && is_store(&inner) {
                    out.push('"');
                    out.push_str(&inner);
                    out.push('"');
                    if !stores.contains(&inner) {
                        stores.push(inner);
                    }
                    i = end;
                    continue;
                }
                end
            }
            b'\'' | b'`' => closing_quote(bytes, i, c),
            b'-' if bytes.get(i + 1) == Some(&b'-') => sql[i..].find('\n').map_or(bytes.len(), |n| i + n),
            b'/' if bytes.get(i + 1) == Some(&b'*') => sql[i + 2..].find("*/").map_or(bytes.len(), |n| i + n + 4),
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                let end = i + bytes[i..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'-')
                    .count();
                let word = sql[i..end].to_ascii_lowercase();
                if is_store(&word) {
                    out.push('"');
                    out.push_str(&word);
                    out.push('"');
                    if !stores.contains(&word) {
                        stores.push(word);
                    }
                    i = end;
                    continue;
                }
                // Not an id: keep the identifier part only, so `a-b` stays an expression.
                i + bytes[i..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count()
            }
            _ => i + sql[i..].chars().next().map_or(1, char::len_utf8),
        };
        out.push_str(&sql[i..skip_to]);
        i = skip_to;
    }
    (out, stores)
}

/// The position just past the quote that closes the one at `start` (a doubled quote is an escaped one).
fn closing_quote(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// Runs a prepared statement over the snapshots of the stores it names.
pub async fn run(
    prepared: &Prepared,
    stores: HashMap<String, StoreSnapshot>,
    limits: &QueryLimits,
) -> Result<LakeAnswer> {
    let started = Instant::now();
    let ctx = session(limits)?;
    super::functions::register(&ctx);
    let mut tail_rows = 0u64;
    let mut tail_bytes = 0u64;
    for (id, snapshot) in stores {
        tail_rows += snapshot.tail.len() as u64;
        tail_bytes += snapshot.tail.iter().map(|e| e.record.len() as u64).sum::<u64>();
        ctx.register_table(id.as_str(), Arc::new(StoreTable::new(snapshot))).map_err(engine)?;
    }
    let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let frame = ctx.sql_with_options(&prepared.sql, options).await.map_err(classify)?;
    let plan = frame.create_physical_plan().await.map_err(classify)?;
    let mut stream = execute_stream(Arc::clone(&plan), ctx.task_ctx()).map_err(classify)?;
    let mut columns: Vec<String> = stream.schema().fields().iter().map(|f| f.name().clone()).collect();
    if prepared.written.len() == columns.len() {
        for (c, w) in columns.iter_mut().zip(&prepared.written) {
            if let Some(w) = w {
                *c = w.clone();
            }
        }
    }
    let mut answer = LakeAnswer { columns, rows: Vec::new(), truncated: false, stats: QueryStats::default() };
    let mut matched = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(classify)?;
        matched += batch.num_rows() as u64;
        if answer.truncated {
            continue;
        }
        let room = limits.max_rows - answer.rows.len();
        if batch.num_rows() > room {
            answer.truncated = true;
        }
        append_rows(&mut answer.rows, &batch.slice(0, batch.num_rows().min(room)))?;
    }
    let (file_rows, file_bytes) = scanned(plan.as_ref());
    answer.stats = QueryStats {
        events_matched: matched,
        events_scanned: file_rows + tail_rows,
        bytes_scanned: file_bytes + tail_bytes,
        execution_ms: started.elapsed().as_millis() as u64,
    };
    Ok(answer)
}

/// Plans a prepared statement against the stores' schemas alone, so that a statement naming unknown columns or
/// functions, or mixing types, is refused before it is queued.
pub async fn check(prepared: &Prepared, stores: &[(String, TableKind)]) -> Result<()> {
    let ctx = session(&QueryLimits::default())?;
    super::functions::register(&ctx);
    for (id, kind) in stores {
        let empty = StoreSnapshot::empty(*kind, 0);
        ctx.register_table(id.as_str(), Arc::new(StoreTable::new(empty))).map_err(engine)?;
    }
    let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    ctx.sql_with_options(&prepared.sql, options).await.map_err(classify)?;
    Ok(())
}

/// Rows and bytes the plan's Parquet scans read.
fn scanned(plan: &dyn ExecutionPlan) -> (u64, u64) {
    let mut total = (0, 0);
    if let Some(m) = plan.metrics() {
        if let Some(bytes) = m.sum_by_name("bytes_scanned") {
            total.1 += bytes.as_usize() as u64;
            total.0 += m.output_rows().unwrap_or(0) as u64;
        }
    }
    for child in plan.children() {
        let (r, b) = scanned(child.as_ref());
        total = (total.0 + r, total.1 + b);
    }
    total
}

/// One store as a table: its tail as memory batches and its files as a Parquet scan, the dates outside the
/// query's time bounds left out, and nothing before the retention cut-off.
#[derive(Debug)]
struct StoreTable {
    snapshot: StoreSnapshot,
    schema: SchemaRef,
}

impl StoreTable {
    fn new(snapshot: StoreSnapshot) -> StoreTable {
        StoreTable { schema: view_schema(&snapshot.kind.schema()), snapshot }
    }
}

#[async_trait]
impl TableProvider for StoreTable {
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
        let cutoff = self.snapshot.cutoff_ms;
        let low = low.max(cutoff);
        let wanted: Vec<usize> = projection.cloned().unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        let time_column = self.schema.index_of("eventtime")?;
        // Files of the cut-off's date hold events before it: the scan then reads eventtime too, to drop them.
        let cut_date = date_of(cutoff);
        let (low_date, high_date) = (date_of(low), if high == i64::MAX { "9999".into() } else { date_of(high) });
        let files: Vec<_> =
            self.snapshot.files.iter().filter(|f| low_date <= f.date && f.date <= high_date).cloned().collect();
        let cut = files.iter().any(|f| f.date == cut_date);
        let mut inner = wanted.clone();
        if cut && !inner.contains(&time_column) {
            inner.push(time_column);
        }

        let mut inputs: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        let batches = (self.snapshot.tail)
            .batches(low, high, |events| {
                super::batch(self.snapshot.kind, events).and_then(|b| to_view(b, &self.schema))
            })
            .map_err(|e| datafusion::common::DataFusionError::External(Box::new(e)))?;
        if !batches.is_empty() {
            inputs.push(MemorySourceConfig::try_new_exec(&[batches], Arc::clone(&self.schema), Some(inner.clone()))?);
        }
        // Files in clear and files encrypted with the store's data key (a store whose key was added later has both).
        for encrypted in [false, true] {
            let group: Vec<_> = files.iter().filter(|f| f.encrypted == encrypted).collect();
            if group.is_empty() {
                continue;
            }
            // Every file of a store has its kind's schema: given it, the reader neither decodes the schema stored
            // in each file nor converts the strings it reads to views afterwards.
            let parts = group
                .iter()
                .map(|f| {
                    PartitionedFile::new(f.path.to_string_lossy(), f.size).with_arrow_schema(Arc::clone(&self.schema))
                })
                .collect();
            let mut source = ParquetSource::new(Arc::clone(&self.schema));
            if encrypted {
                let key = self.snapshot.key.as_ref().ok_or_else(|| {
                    datafusion::common::DataFusionError::Execution(
                        "the event data store is encrypted and its KMS key cannot be used now".into(),
                    )
                })?;
                let mut options = TableParquetOptions::default();
                options.crypto.file_decryption = Some(ConfigFileDecryptionProperties::try_from(&key.decryption())?);
                source = source.with_table_parquet_options(options);
            }
            let limit = if cut { None } else { limit };
            inputs.push(parquet_scan(state, source, &self.schema, parts, filters, inner.clone(), limit)?);
        }
        if inputs.is_empty() {
            return Ok(Arc::new(EmptyExec::new(Arc::new(self.schema.project(&wanted)?))));
        }
        let mut plan = UnionExec::try_new(inputs)?;
        if cut {
            let inner_schema = Arc::new(self.schema.project(&inner)?);
            let df_schema = DFSchema::try_from(inner_schema.as_ref().clone())?;
            let keep = col("eventtime").gt_eq(lit(ScalarValue::TimestampMillisecond(Some(cutoff), None)));
            plan = Arc::new(FilterExec::try_new(state.create_physical_expr(keep, &df_schema)?, plan)?);
            let columns: Vec<(Arc<dyn datafusion::physical_expr::PhysicalExpr>, String)> = wanted
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let name = self.schema.field(*c).name().clone();
                    let e: Arc<dyn datafusion::physical_expr::PhysicalExpr> =
                        Arc::new(datafusion::physical_expr::expressions::Column::new(&name, i));
                    (e, name)
                })
                .collect();
            plan = Arc::new(ProjectionExec::try_new(columns, plan)?);
        }
        Ok(plan)
    }
}

fn append_rows(rows: &mut Vec<Vec<Option<String>>>, batch: &RecordBatch) -> Result<()> {
    let options = FormatOptions::default();
    for i in 0..batch.num_rows() {
        let row = batch.columns().iter().map(|c| cell(c.as_ref(), i, &options)).collect::<Result<Vec<_>>>()?;
        rows.push(row);
    }
    Ok(())
}

/// One value as Lake shows it (Trino's text forms), `None` for NULL.
fn cell(array: &dyn Array, i: usize, options: &FormatOptions<'_>) -> Result<Option<String>> {
    if array.is_null(i) {
        return Ok(None);
    }
    let text = match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(i).to_string(),
        DataType::Utf8View => array.as_string_view().value(i).to_string(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(i).to_string(),
        DataType::Boolean => array.as_boolean().value(i).to_string(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(i).to_string(),
        DataType::Float64 => array.as_primitive::<Float64Type>().value(i).to_string(),
        DataType::Timestamp(unit, _) => {
            let millis = if *unit == TimeUnit::Millisecond {
                array.as_primitive::<TimestampMillisecondType>().value(i)
            } else {
                let c = cast(&array.slice(i, 1), &DataType::Timestamp(TimeUnit::Millisecond, None))?;
                c.as_primitive::<TimestampMillisecondType>().value(0)
            };
            timestamp_text(millis)
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let parts = fields
                .iter()
                .zip(s.columns())
                .map(|(f, c)| Ok(format!("{}={}", f.name(), cell(c.as_ref(), i, options)?.unwrap_or("null".into()))))
                .collect::<Result<Vec<_>>>()?;
            format!("{{{}}}", parts.join(", "))
        }
        DataType::Map(..) => {
            let entries = array.as_map().value(i);
            let (k, v) = (entries.column(0), entries.column(1));
            let parts = (0..entries.len())
                .map(|j| {
                    Ok(format!(
                        "{}={}",
                        cell(k.as_ref(), j, options)?.unwrap_or_default(),
                        cell(v.as_ref(), j, options)?.unwrap_or("null".into())
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            format!("{{{}}}", parts.join(", "))
        }
        DataType::List(_) | DataType::LargeList(_) => {
            let values = if let DataType::List(_) = array.data_type() {
                array.as_list::<i32>().value(i)
            } else {
                array.as_list::<i64>().value(i)
            };
            let parts = (0..values.len())
                .map(|j| Ok(cell(values.as_ref(), j, options)?.unwrap_or("null".into())))
                .collect::<Result<Vec<_>>>()?;
            format!("[{}]", parts.join(", "))
        }
        _ => ArrayFormatter::try_new(array, options)?.value(i).to_string(),
    };
    Ok(Some(text))
}

/// `YYYY-MM-DD HH:MM:SS.mmm`, UTC.
fn timestamp_text(millis: i64) -> String {
    let t = cairn_model::event::format_event_time(millis);
    format!("{} {}.{:03}", &t[..10], &t[11..19], millis.rem_euclid(1000))
}

/// Fuzz entry: any text as a Lake statement (the StartQuery entry: id quoting, the dialect pass, planning and
/// running) over a small store in memory, with tight limits. Every outcome but a panic is fine.
pub fn fuzz_statement(statement: &[u8]) {
    const ID: &str = "eeeeeeee-0000-4000-8000-000000000000";
    static STORE: std::sync::OnceLock<StoreSnapshot> = std::sync::OnceLock::new();
    let store = STORE.get_or_init(|| {
        let tail = (0..32u64)
            .map(|seq| {
                let name = ["CreateTrail", "RunInstances"][seq as usize % 2];
                let e = serde_json::json!({
                    "eventVersion": "1.11", "eventTime": cairn_model::event::format_event_time(1_767_225_600_000 + seq as i64 * 60_000),
                    "eventID": format!("id-{seq}"), "eventName": name,
                    "eventSource": "cloudtrail.amazonaws.com", "awsRegion": "us-east-1", "readOnly": seq % 2 == 1,
                    "recipientAccountId": "111111111111", "requestParameters": {"name": format!("t{seq}"), "n": seq},
                    "userIdentity": {"type": "IAMUser", "userName": "alice"},
                    "resources": [{"type": "AWS::CloudTrail::Trail", "ARN": format!("t{}", seq % 3)}],
                });
                TailEvent { seq, time_ms: 1_767_225_600_000 + seq as i64 * 60_000, record: Arc::from(e.to_string().into_bytes()) }
            })
            .collect();
        StoreSnapshot { kind: TableKind::CloudTrail, tail: View::of(tail), files: Vec::new(), cutoff_ms: 0, key: None }
    });
    let Ok(text) = std::str::from_utf8(statement) else { return };
    let Ok(prepared) = prepare(&text.replace("EDS", ID), |w| w == ID) else { return };
    let limits = QueryLimits { max_rows: 100, memory_bytes: 16 << 20, partitions: 1 };
    let stores = HashMap::from([(ID.to_string(), store.clone())]);
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let _ = rt.block_on(run(&prepared, stores, &limits));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_ids_are_quoted_outside_literals_only() {
        let id = "5e2676f8-9fce-46ef-8142-3e36a94e6691";
        let is = |w: &str| w == id;
        let (sql, stores) = quote_store_ids(
            &format!("SELECT a-b, 'x {id}' FROM {} -- {id}\n JOIN \"{id}\" ON x", id.to_uppercase()),
            is,
        );
        assert_eq!(sql, format!("SELECT a-b, 'x {id}' FROM \"{id}\" -- {id}\n JOIN \"{id}\" ON x"));
        assert_eq!(stores, vec![id.to_string()]);
        assert!(prepare(&format!("DELETE FROM {id}"), is).is_err());
        assert!(prepare(&format!("SELECT 1 FROM {id}; SELECT 2 FROM {id}"), is).is_err());
        assert!(prepare("SELECT 1", is).is_err());
        assert!(prepare(&format!("SELECT 1 FROM {id} WHERE '{}' = ''", "x".repeat(MAX_STATEMENT)), is).is_err());
        assert_eq!(prepare(&format!("select * from {id} limit 1"), is).unwrap().stores, vec![id.to_string()]);
    }

    /// The fuzz body over mutations of Lake statements: truncations and single-byte changes.
    #[test]
    fn mangled_statements_fail_cleanly() {
        let seeds = [
            "SELECT eventName, count(*) FROM EDS WHERE eventTime > '2026-01-01 00:00:00' GROUP BY 1",
            "SELECT r.type, element_at(requestparameters, 'name') FROM EDS CROSS JOIN UNNEST(resources) AS t(r)",
            "SELECT filter(resources, x -> x.arn LIKE 't%'), json_extract_scalar(eventjson, '$.userIdentity.userName') FROM EDS",
        ];
        for seed in seeds {
            let bytes = seed.as_bytes();
            for cut in (0..bytes.len()).step_by(4) {
                fuzz_statement(&bytes[..cut]);
            }
            for at in (0..bytes.len()).step_by(6) {
                for b in [b'(', b'\'', b'-', b' ', b'.', 0xff] {
                    let mut m = bytes.to_vec();
                    m[at] = b;
                    fuzz_statement(&m);
                }
            }
        }
    }

    #[test]
    fn timestamps_read_as_lake_shows_them() {
        assert_eq!(timestamp_text(1_674_382_272_005), "2023-01-22 10:11:12.005");
    }
}
