//! `GROUP BY` one string column with only row counts (`SELECT eventname, count(*) ... GROUP BY eventname`), the most
//! common investigation query, counted by string view rather than by string.
//!
//! Strings read from a Parquet dictionary page come out as views (16 bytes: length and the bytes themselves when
//! short, else length, prefix, buffer and offset) copied from the dictionary's, so in a batch every row of one value
//! has the same view. Equal views are equal strings; equal strings may have different views (another page, or
//! strings that were not dictionary-encoded). So each batch's rows are counted by their 16-byte view in a small
//! open-addressing table (no string is hashed or compared per row), and only each distinct view's string is then
//! added to the totals by value. DataFusion's own grouping hashes every row's string.
//!
//! [`CountByViewRule`] replaces an aggregation (partial, or single) whose one grouping column is a string view and
//! whose aggregates are all `count` of a non-null literal (`count(*)`, `count(1)`), with no FILTER, DISTINCT,
//! grouping sets, limit or ordered input (whose output order the plan may rely on), by [`CountByView`], which
//! answers with the same schema: the final aggregation above it (when there is one) merges the counts as it would
//! have.

use std::fmt;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringViewArray};
use arrow_schema::{DataType, SchemaRef};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::common::{HashMap, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::expressions::{Column, Literal};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::InputOrderMode;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, PlanProperties};
use futures::StreamExt;

mod keys;

/// Replaces eligible aggregations by [`CountByView`].
#[derive(Debug, Default)]
pub(crate) struct CountByViewRule;

impl PhysicalOptimizerRule for CountByViewRule {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|plan| {
            let Some(agg) = plan.downcast_ref::<AggregateExec>() else { return Ok(Transformed::no(plan)) };
            match eligible(agg) {
                Some(column) => Ok(Transformed::yes(Arc::new(CountByView::new(agg, column)) as Arc<dyn ExecutionPlan>)),
                None => Ok(Transformed::no(plan)),
            }
        })
        .data()
    }

    fn name(&self) -> &str {
        "count_by_view"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The input column an aggregation groups by, when it only counts rows by one string-view column.
fn eligible(agg: &AggregateExec) -> Option<usize> {
    let mode_ok =
        matches!(agg.mode(), AggregateMode::Partial | AggregateMode::Single | AggregateMode::SinglePartitioned);
    let group = agg.group_expr();
    if !mode_ok || agg.limit_options().is_some() || !group.is_single() || group.expr().len() != 1 {
        return None;
    }
    // Its answer has no order: an aggregation whose output order the plan relies on stays as it is.
    let unordered = *agg.input_order_mode() == InputOrderMode::Linear && agg.properties().output_ordering().is_none();
    if !unordered {
        return None;
    }
    let column = group.expr()[0].0.downcast_ref::<Column>()?;
    let input = agg.input().schema();
    if input.fields().get(column.index())?.data_type() != &DataType::Utf8View {
        return None;
    }
    let counts_rows = |a: &Arc<datafusion::physical_expr::aggregate::AggregateFunctionExpr>| {
        a.fun().name() == "count"
            && !a.is_distinct()
            && a.order_bys().is_empty()
            && a.expressions().iter().all(|e| e.downcast_ref::<Literal>().is_some_and(|l| !l.value().is_null()))
    };
    let output = agg.schema();
    let shape_ok = output.fields().len() == 1 + agg.aggr_expr().len()
        && output.field(0).data_type() == &DataType::Utf8View
        && output.fields().iter().skip(1).all(|f| f.data_type() == &DataType::Int64);
    let all_counts = !agg.aggr_expr().is_empty() && agg.aggr_expr().iter().all(counts_rows);
    (shape_ok && all_counts && agg.filter_expr().iter().all(Option::is_none)).then_some(column.index())
}

/// Counts the rows of each value of one string-view column, per input partition.
#[derive(Debug)]
pub(crate) struct CountByView {
    input: Arc<dyn ExecutionPlan>,
    column: usize,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl CountByView {
    fn new(agg: &AggregateExec, column: usize) -> CountByView {
        CountByView::over(Arc::clone(agg.input()), column, agg.schema())
    }

    fn over(input: Arc<dyn ExecutionPlan>, column: usize, schema: SchemaRef) -> CountByView {
        let partitions = input.output_partitioning().partition_count();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        CountByView { input, column, schema, properties: Arc::new(properties) }
    }
}

impl DisplayAs for CountByView {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "CountByView: column={}", self.column)
    }
}

impl ExecutionPlan for CountByView {
    fn name(&self) -> &str {
        "CountByView"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children.into_iter().next().unwrap_or_else(|| Arc::clone(&self.input));
        Ok(Arc::new(CountByView::over(input, self.column, Arc::clone(&self.schema))))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let reservation = MemoryConsumer::new(format!("CountByView[{partition}]")).register(context.memory_pool());
        let mut totals = Totals::new(reservation);
        let schema = Arc::clone(&self.schema);
        // A partition that reads Parquet files and nothing else is counted from the files' dictionary keys.
        let answer: futures::future::BoxFuture<'static, Result<RecordBatch>> =
            match keys::KeyScan::of(&self.input, partition, self.column, &context) {
                Some(scan) => Box::pin(async move {
                    scan.count(&mut totals).await?;
                    totals.batch(schema)
                }),
                None => {
                    let input = self.input.execute(partition, Arc::clone(&context))?;
                    let column = self.column;
                    Box::pin(async move {
                        count(input, column, &mut totals).await?;
                        totals.batch(schema)
                    })
                }
            };
        Ok(Box::pin(RecordBatchStreamAdapter::new(Arc::clone(&self.schema), futures::stream::once(answer))))
    }
}

/// The rows counted so far, by value, and the NULLs.
pub(super) struct Totals {
    counts: HashMap<Box<str>, i64>,
    nulls: i64,
    reservation: MemoryReservation,
}

impl Totals {
    fn new(reservation: MemoryReservation) -> Totals {
        Totals { counts: HashMap::new(), nulls: 0, reservation }
    }

    pub(super) fn add(&mut self, value: &str, n: i64) -> Result<()> {
        match self.counts.get_mut(value) {
            Some(total) => *total += n,
            None => {
                self.reservation.try_grow(value.len() + 48)?;
                self.counts.insert(value.into(), n);
            }
        }
        Ok(())
    }

    pub(super) fn add_nulls(&mut self, n: usize) {
        self.nulls += n as i64;
    }

    /// The answer: one row per value, every count column the same.
    fn batch(&self, schema: SchemaRef) -> Result<RecordBatch> {
        let (keys, counts): (Vec<Option<&str>>, Vec<i64>) = (self.counts.iter())
            .map(|(k, n)| (Some(&**k), *n))
            .chain((self.nulls > 0).then_some((None, self.nulls)))
            .unzip();
        let mut columns: Vec<ArrayRef> = vec![Arc::new(StringViewArray::from(keys))];
        let counts: ArrayRef = Arc::new(Int64Array::from(counts));
        columns.extend(std::iter::repeat_n(counts, schema.fields().len() - 1));
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}

/// Counts the string-view column of every batch of `input`.
async fn count(mut input: SendableRecordBatchStream, column: usize, totals: &mut Totals) -> Result<()> {
    let mut views = ViewCounter::default();
    while let Some(batch) = input.next().await {
        views.count(batch?.column(column).as_string_view(), totals)?;
    }
    Ok(())
}

/// Counts string views batch by batch, by view while that pays.
#[derive(Debug)]
pub(super) struct ViewCounter {
    table: ViewTable,
    // A column whose batches have mostly distinct views (not dictionary-encoded, or of high cardinality) gains
    // nothing from the views: its rows go to the totals directly.
    by_view: bool,
}

impl Default for ViewCounter {
    fn default() -> ViewCounter {
        ViewCounter { table: ViewTable::default(), by_view: true }
    }
}

impl ViewCounter {
    pub(super) fn count(&mut self, strings: &StringViewArray, totals: &mut Totals) -> Result<()> {
        totals.add_nulls(strings.null_count());
        if !self.by_view {
            for value in strings.iter().flatten() {
                totals.add(value, 1)?;
            }
            return Ok(());
        }
        let table = &mut self.table;
        table.clear();
        let views = strings.views();
        match strings.nulls() {
            None => views.iter().enumerate().for_each(|(row, v)| table.add(*v, row)),
            Some(valid) => {
                for (row, v) in views.iter().enumerate() {
                    if valid.is_valid(row) {
                        table.add(*v, row);
                    }
                }
            }
        }
        for slot in table.entries() {
            totals.add(strings.value(slot.row as usize), i64::from(slot.count))?;
        }
        self.by_view = table.used.len() * 2 <= strings.len();
        Ok(())
    }
}

/// One distinct view of a batch: its first row and how many rows have it (0: an empty slot).
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    view: u128,
    row: u32,
    count: u32,
}

/// Open addressing by view, cleared between batches by resetting the slots used only.
#[derive(Debug)]
struct ViewTable {
    slots: Vec<Slot>,
    used: Vec<u32>,
}

impl Default for ViewTable {
    fn default() -> ViewTable {
        ViewTable { slots: vec![Slot::default(); 64], used: Vec::new() }
    }
}

impl ViewTable {
    fn slot_of(&self, view: u128) -> usize {
        let mixed = (view as u64) ^ ((view >> 64) as u64).rotate_left(29);
        (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & (self.slots.len() - 1)
    }

    fn add(&mut self, view: u128, row: usize) {
        if (self.used.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = self.slot_of(view);
        loop {
            let s = &mut self.slots[i];
            if s.count == 0 {
                *s = Slot { view, row: row as u32, count: 1 };
                self.used.push(i as u32);
                return;
            }
            if s.view == view {
                s.count += 1;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let old: Vec<Slot> = self.used.iter().map(|&i| self.slots[i as usize]).collect();
        self.slots = vec![Slot::default(); self.slots.len() * 2];
        self.used.clear();
        let mask = self.slots.len() - 1;
        for s in old {
            let mut i = self.slot_of(s.view);
            while self.slots[i].count != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
            self.used.push(i as u32);
        }
    }

    fn clear(&mut self) {
        for &i in &self.used {
            self.slots[i as usize] = Slot::default();
        }
        self.used.clear();
    }

    fn entries(&self) -> impl Iterator<Item = Slot> + '_ {
        self.used.iter().map(|&i| self.slots[i as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::datasource::MemTable;

    /// Rows of `s` over three batches (two partitions), with NULLs and values repeated within and across batches.
    async fn answer(sql: &str) -> (Vec<String>, String) {
        let schema = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new("s", DataType::Utf8View, true)]));
        let long = "DescribeInstancesLongerThanTwelve";
        let one = StringViewArray::from(vec![Some(long), None, Some("Get"), Some(long), Some("Get")]);
        let two = StringViewArray::from(vec![Some(long), Some("Put"), None]);
        let three = StringViewArray::from(vec![Some(long), Some("Get")]);
        let batch = |a: StringViewArray| RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(a)]).unwrap();
        // The first batch's views are mostly distinct: the second is counted by string directly.
        let partitions = vec![vec![batch(one), batch(two)], vec![batch(three)]];
        let table = MemTable::try_new(Arc::clone(&schema), partitions).unwrap();
        let ctx = crate::query::session(&crate::query::QueryLimits::default()).unwrap();
        ctx.register_table("t", Arc::new(table)).unwrap();
        let df = ctx.sql(sql).await.unwrap();
        let plan = df.clone().create_physical_plan().await.unwrap();
        let shown = datafusion::physical_plan::displayable(plan.as_ref()).indent(false).to_string();
        let batches = df.collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
        (text.lines().map(str::to_string).collect(), shown)
    }

    #[tokio::test]
    async fn counts_by_view_answer_as_grouping_does() {
        let (rows, plan) = answer("SELECT s, count(*), count(1) AS c FROM t GROUP BY s ORDER BY 2 DESC, 1").await;
        assert!(plan.contains("CountByView"), "{plan}");
        let expected = [
            "| DescribeInstancesLongerThanTwelve | 4        | 4 |",
            "| Get                               | 3        | 3 |",
            "|                                   | 2        | 2 |",
            "| Put                               | 1        | 1 |",
        ];
        assert_eq!(rows[3..7], expected, "{rows:#?}");
        // Counting a column (NULLs left out), DISTINCT or FILTER is DataFusion's own grouping.
        for other in [
            "SELECT s, count(s) FROM t GROUP BY s",
            "SELECT s, count(DISTINCT s) FROM t GROUP BY s",
            "SELECT s, count(*) FILTER (WHERE s > 'A') FROM t GROUP BY s",
            "SELECT s, count(*), max(s) FROM t GROUP BY s",
            // Grouping rows already ordered by the key: the plan keeps the order the aggregation gives.
            "SELECT s, count(*) FROM (SELECT s, row_number() OVER (PARTITION BY s ORDER BY s) AS n FROM t) \
             WHERE n > 0 GROUP BY s ORDER BY s LIMIT 2",
        ] {
            let (_, plan) = answer(other).await;
            assert!(!plan.contains("CountByView"), "{other}: {plan}");
        }
    }

    #[test]
    fn equal_views_count_together_and_the_table_grows() {
        let mut t = ViewTable::default();
        for row in 0..10_000usize {
            t.add((row % 300) as u128 * 0x1_0000_0001, row);
        }
        let mut counts: Vec<u32> = t.entries().map(|s| s.count).collect();
        counts.sort();
        assert_eq!(counts.len(), 300);
        assert_eq!(counts.iter().map(|&c| u64::from(c)).sum::<u64>(), 10_000);
        t.clear();
        assert_eq!(t.entries().count(), 0);
        t.add(7, 3);
        assert_eq!(t.entries().map(|s| (s.row, s.count)).collect::<Vec<_>>(), vec![(3, 1)]);
    }
}
