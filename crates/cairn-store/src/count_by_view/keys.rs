//! Counting a partition that only reads Parquet files straight from its files' dictionary keys.
//!
//! Read as strings, a dictionary-encoded column costs a 16-byte view gathered per row and a hash probe per row to
//! count it. Read as an Arrow dictionary, it is the page's keys as they are stored: each batch is counted with one
//! array increment per row, and only the distinct values of its dictionary are then added to the totals as strings.
//! The files are read as the scan would have read them (its reader factory, its decryption keys, its byte ranges of
//! row groups) but with the counted column asked for as `Dictionary(Int32, Utf8)`; pages that are not
//! dictionary-encoded still come out right, only slower.
//!
//! Only a scan the aggregation reads directly (or through a union) qualifies: no predicate, limit, row selection or
//! other extension on its files, and the counted column one of the files' own string columns.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, DictionaryArray, StringArray};
use arrow_schema::{DataType, Schema, SchemaRef};
use datafusion::common::Result;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::DefaultParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{FileSource, ParquetFileReaderFactory, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use futures::StreamExt;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::basic::Encoding;
use parquet::encryption::decrypt::FileDecryptionProperties;
use parquet::file::metadata::{ColumnChunkMetaData, PageIndexPolicy};

use super::{Totals, ViewCounter};

/// The files of one scan partition and how to read the counted column from them.
pub(super) struct KeyScan {
    files: Vec<PartitionedFile>,
    partition: usize,
    factory: Arc<dyn ParquetFileReaderFactory>,
    decryption: Option<Arc<FileDecryptionProperties>>,
    column: String,
    batch_size: usize,
}

impl KeyScan {
    /// The scan behind `partition` of `plan` when it qualifies, counting `plan`'s output column `column`.
    pub(super) fn of(
        plan: &Arc<dyn ExecutionPlan>,
        partition: usize,
        column: usize,
        context: &TaskContext,
    ) -> Option<KeyScan> {
        if let Some(union) = plan.downcast_ref::<UnionExec>() {
            let mut partition = partition;
            for child in union.children() {
                let count = child.output_partitioning().partition_count();
                if partition < count {
                    return KeyScan::of(child, partition, column, context);
                }
                partition -= count;
            }
            return None;
        }
        let (config, source) = plan.downcast_ref::<DataSourceExec>()?.downcast_to_file_source::<ParquetSource>()?;
        if source.filter().is_some() || config.limit.is_some() {
            return None;
        }
        let table_column = match source.projection() {
            Some(projection) => projection.iter().nth(column)?.expr.downcast_ref::<Column>()?.index(),
            None => column,
        };
        // A partition column is not in the files.
        let field = config.file_schema().fields().get(table_column)?;
        let files: Vec<PartitionedFile> = config.file_groups.get(partition)?.iter().cloned().collect();
        if files.iter().any(|f| !f.extensions.is_empty()) {
            return None;
        }
        let decryption = match source.table_parquet_options().crypto.file_decryption.clone() {
            Some(d) => Some(Arc::new(FileDecryptionProperties::try_from(d).ok()?)),
            None => None,
        };
        let factory = match source.parquet_file_reader_factory() {
            Some(factory) => Arc::clone(factory),
            None => {
                let store = context.runtime_env().object_store(&config.object_store_url).ok()?;
                Arc::new(DefaultParquetFileReaderFactory::new(store))
            }
        };
        let batch_size = config.batch_size.unwrap_or(context.session_config().batch_size());
        Some(KeyScan { files, partition, factory, decryption, column: field.name().clone(), batch_size })
    }

    /// Adds the counted column of every file to `totals`.
    pub(super) async fn count(self, totals: &mut Totals) -> Result<()> {
        let metrics = ExecutionPlanMetricsSet::new();
        let mut keys = KeyCounter::default();
        for file in &self.files {
            let mut reader: Box<dyn AsyncFileReader> =
                self.factory.create_reader(self.partition, file.clone(), file.metadata_size_hint, &metrics)?;
            let mut options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Skip);
            if let Some(schema) = &file.arrow_schema {
                options = options.with_schema(Arc::clone(schema));
            }
            if let Some(decryption) = &self.decryption {
                options = options.with_file_decryption_properties(Arc::clone(decryption));
            }
            let metadata = ArrowReaderMetadata::load_async(&mut reader, options.clone()).await?;
            let Ok(root) = metadata.schema().index_of(&self.column) else {
                // A file written before the column existed: every row is NULL in it.
                totals.add_nulls(metadata.metadata().file_metadata().num_rows() as usize);
                continue;
            };
            let row_groups: Vec<usize> = (metadata.metadata().row_groups().iter().enumerate())
                .filter(|(_, group)| {
                    let first = group.column(0);
                    let offset = first.dictionary_page_offset().unwrap_or_else(|| first.data_page_offset());
                    file.range.as_ref().is_none_or(|range| range.contains(offset))
                })
                .map(|(i, _)| i)
                .collect();
            // Chunks that fell back from their dictionary to plain pages would have a dictionary built per batch:
            // such a file is read as string views.
            let leaf =
                metadata.parquet_schema().columns().iter().position(|c| c.path().parts() == [self.column.as_str()]);
            let all_dictionary = leaf.is_some_and(|leaf| {
                row_groups.iter().all(|&g| dictionary_encoded(metadata.metadata().row_group(g).column(leaf)))
            });
            let metadata = match as_dictionary(metadata.schema(), root).filter(|_| all_dictionary) {
                Some(schema) => {
                    ArrowReaderMetadata::try_new(Arc::clone(metadata.metadata()), options.with_schema(schema))
                        .unwrap_or(metadata)
                }
                None => metadata,
            };
            let mask = ProjectionMask::roots(metadata.parquet_schema(), [root]);
            let mut batches = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, metadata)
                .with_projection(mask)
                .with_row_groups(row_groups)
                .with_batch_size(self.batch_size)
                .build()?;
            while let Some(batch) = batches.next().await {
                keys.count(batch?.column(0).as_ref(), totals)?;
            }
        }
        keys.finish(totals)
    }
}

/// Whether every data page of a column chunk is dictionary-encoded (unknown when the file does not say: assumed).
fn dictionary_encoded(chunk: &ColumnChunkMetaData) -> bool {
    chunk.dictionary_page_offset().is_some()
        && chunk
            .page_encoding_stats_mask()
            .is_none_or(|pages| pages.is_only(Encoding::RLE_DICTIONARY) || pages.is_only(Encoding::PLAIN_DICTIONARY))
}

/// `schema` with its string column `root` read as a dictionary, when it is one of the string types.
fn as_dictionary(schema: &SchemaRef, root: usize) -> Option<SchemaRef> {
    let field = schema.field(root);
    if !matches!(field.data_type(), DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) {
        return None;
    }
    let mut fields = schema.fields().to_vec();
    let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    fields[root] = Arc::new(field.as_ref().clone().with_data_type(dictionary));
    Some(Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())))
}

/// Counts batches of dictionary keys (or, when the file would not be read as a dictionary, of strings).
///
/// The batches of one column chunk share its dictionary: counts by key accumulate over all of them, and the
/// dictionary's values are added to the totals once, when the next batch brings another dictionary (or at the end).
#[derive(Default)]
struct KeyCounter {
    /// The dictionary counted by key now; kept so that its buffers cannot be reused by the next one's.
    dictionary: Option<StringArray>,
    per_key: Vec<u32>,
    views: ViewCounter,
}

impl KeyCounter {
    fn count(&mut self, array: &dyn Array, totals: &mut Totals) -> Result<()> {
        let dictionary = array.as_dictionary_opt::<Int32Type>();
        let Some((dictionary, strings)) = dictionary.and_then(|d| Some((d, d.values().as_string_opt::<i32>()?))) else {
            let strings = datafusion::arrow::compute::cast(array, &DataType::Utf8View)?;
            return self.views.count(strings.as_string_view(), totals);
        };
        if !self.dictionary.as_ref().is_some_and(|d| same(d, strings)) {
            self.finish(totals)?;
            self.per_key.resize(strings.len(), 0);
            self.dictionary = Some(strings.clone());
        }
        count_keys(dictionary, &mut self.per_key);
        // NULL keys, and keys of NULL values (which `finish` leaves out).
        totals.add_nulls(dictionary.logical_null_count());
        Ok(())
    }

    /// Adds the counts by key of the dictionary counted until now to `totals`.
    fn finish(&mut self, totals: &mut Totals) -> Result<()> {
        if let Some(strings) = self.dictionary.take() {
            for (i, &n) in self.per_key.iter().enumerate() {
                if n > 0 && strings.is_valid(i) {
                    totals.add(strings.value(i), i64::from(n))?;
                }
            }
        }
        self.per_key.clear();
        Ok(())
    }
}

/// Whether two string arrays are the same array (the same buffers), as a column chunk's batches share its dictionary.
fn same(a: &StringArray, b: &StringArray) -> bool {
    a.len() == b.len()
        && a.offsets().inner().inner().as_ptr() == b.offsets().inner().inner().as_ptr()
        && a.values().as_ptr() == b.values().as_ptr()
}

/// Adds one to `per_key` at the key of every row that is not NULL (keys out of range, which a valid dictionary
/// does not have, are not counted).
fn count_keys(dictionary: &DictionaryArray<Int32Type>, per_key: &mut [u32]) {
    let keys = dictionary.keys();
    let mut add = |key: i32| {
        if let Some(n) = per_key.get_mut(key as usize) {
            *n += 1;
        }
    };
    match keys.nulls() {
        None => keys.values().iter().for_each(|&k| add(k)),
        Some(valid) => {
            for (row, &k) in keys.values().iter().enumerate() {
                if valid.is_valid(row) {
                    add(k);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{RecordBatch, StringArray};
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::common::HashMap;
    use datafusion::prelude::ParquetReadOptions;
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    /// Writes `rows` values of column `s` to `path`, in row groups of 3,000, dictionary-encoded or not.
    /// `dictionary`: `Some(limit)` dictionary-encodes with a dictionary page of at most `limit` bytes (when the
    /// distinct values outgrow it, the rest of the chunk falls back to plain pages); `distinct` values are
    /// addresses, nearly all different.
    fn write(
        path: &std::path::Path,
        rows: usize,
        dictionary: Option<usize>,
        distinct: bool,
        expected: &mut HashMap<Option<String>, i64>,
    ) {
        let names = ["Get", "Put", "DescribeInstancesLongerThanTwelve", "AssumeRoleWithWebIdentity", "List"];
        let value = |i: usize| match distinct {
            true => format!("10.{}.{}.{}", i / 65536, i / 256 % 256, i % 256),
            false => names[(i * 7 + i / 5) % names.len()].to_string(),
        };
        let values: Vec<Option<String>> = (0..rows).map(|i| (i % 11 != 3).then(|| value(i))).collect();
        for v in &values {
            *expected.entry(v.clone()).or_default() += 1;
        }
        let schema = Arc::new(Schema::new(vec![arrow_schema::Field::new("s", DataType::Utf8, true)]));
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(StringArray::from(values))]).unwrap();
        let properties = WriterProperties::builder()
            .set_dictionary_enabled(dictionary.is_some())
            .set_dictionary_page_size_limit(dictionary.unwrap_or(1024 * 1024))
            .set_max_row_group_row_count(Some(3_000))
            .build();
        let mut writer = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    #[tokio::test]
    async fn counts_from_dictionary_keys_answer_as_grouping_does() {
        let dir = std::env::temp_dir().join(format!("cairn-count-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut expected = HashMap::new();
        write(&dir.join("a.parquet"), 30_000, Some(1024 * 1024), false, &mut expected);
        write(&dir.join("b.parquet"), 25_000, None, false, &mut expected);
        write(&dir.join("c.parquet"), 20_000, Some(4096), true, &mut expected);

        let ctx = crate::query::session(&crate::query::QueryLimits::default()).unwrap();
        // Files split into byte ranges over the partitions: each row group is counted by one of them.
        ctx.sql("SET datafusion.execution.target_partitions = 5").await.unwrap();
        // Several batches of each row group: they share its dictionary.
        ctx.sql("SET datafusion.execution.batch_size = 1000").await.unwrap();
        ctx.sql("SET datafusion.optimizer.repartition_file_min_size = 1").await.unwrap();
        ctx.register_parquet("t", dir.to_str().unwrap(), ParquetReadOptions::default()).await.unwrap();
        let df = ctx.sql("SELECT s, count(*) AS n FROM t GROUP BY s").await.unwrap();
        let plan = df.clone().create_physical_plan().await.unwrap();
        let mut scans = 0;
        plan.apply(|node| {
            if let Some(count) = node.downcast_ref::<super::super::CountByView>() {
                for p in 0..count.input.output_partitioning().partition_count() {
                    scans += usize::from(KeyScan::of(&count.input, p, count.column, &ctx.task_ctx()).is_some());
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .unwrap();
        assert_eq!(scans, 5, "{}", datafusion::physical_plan::displayable(plan.as_ref()).indent(false));

        let mut got = HashMap::new();
        for batch in df.collect().await.unwrap() {
            let (s, n) =
                (batch.column(0).as_string_view(), batch.column(1).as_primitive::<arrow_array::types::Int64Type>());
            for row in 0..batch.num_rows() {
                got.insert(s.is_valid(row).then(|| s.value(row).to_string()), n.value(row));
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(got, expected);
    }
}
