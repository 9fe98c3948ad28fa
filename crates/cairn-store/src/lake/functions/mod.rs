//! Trino functions CloudTrail Lake queries use, where DataFusion lacks them or means something else by the name:
//! JSON ([`json`]), dates and times ([`time`]), `regexp_extract` and `contains` ([`text`]), lambdas ([`lambda`]),
//! `approx_percentile` (DataFusion's `approx_percentile_cont`), and `element_at` (here).
//!
//! `element_at(map, key)` is the value for `key`, NULL when the map has none (DataFusion's `element_at` is its
//! `map_extract`, which answers a one-element list); `element_at(array, i)` is the `i`-th element counting from 1,
//! from the end when negative, NULL past either end.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Int64Array};
use arrow_schema::DataType;
use datafusion::arrow::compute::{cast, take};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use datafusion::prelude::SessionContext;

pub(crate) mod json;
pub(crate) mod lambda;
mod simple;
pub(crate) mod text;
pub(crate) mod time;

/// Registers the Lake dialect's functions on a session.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(ElementAt::new()));
    for f in json::functions().into_iter().chain(time::functions()).chain(text::functions()).chain(lambda::functions())
    {
        ctx.register_udf(f);
    }
    let percentile = datafusion::functions_aggregate::approx_percentile_cont::approx_percentile_cont_udaf();
    ctx.register_udaf(percentile.as_ref().clone().with_aliases(["approx_percentile"]));
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ElementAt {
    signature: Signature,
}

impl ElementAt {
    fn new() -> ElementAt {
        ElementAt { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for ElementAt {
    fn name(&self) -> &str {
        "element_at"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [m @ DataType::Map(..), _] => Ok(vec![m.clone(), DataType::Utf8]),
            [l @ (DataType::List(_) | DataType::LargeList(_)), _] => Ok(vec![l.clone(), DataType::Int64]),
            [DataType::Null, k] => Ok(vec![DataType::Null, k.clone()]),
            _ => plan_err!("element_at takes a map and a key, or an array and an index"),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args.first() {
            Some(DataType::Map(entries, _)) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => Ok(kv[1].data_type().clone()),
                _ => plan_err!("element_at: malformed map type"),
            },
            Some(DataType::List(item) | DataType::LargeList(item)) => Ok(item.data_type().clone()),
            Some(DataType::Null) => Ok(DataType::Null),
            _ => plan_err!("element_at takes a map and a key, or an array and an index"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [container, key] = arrays.as_slice() else { return exec_err!("element_at takes two arguments") };
        let out = match container.data_type() {
            DataType::Map(..) => map_value(container, key, rows)?,
            DataType::List(_) => list_element(container, key)?,
            DataType::LargeList(_) => list_element(&cast(container, &list_of(container))?, key)?,
            DataType::Null => Arc::clone(container),
            other => return exec_err!("element_at does not take {other}"),
        };
        Ok(ColumnarValue::Array(out))
    }
}

fn list_of(large: &ArrayRef) -> DataType {
    match large.data_type() {
        DataType::LargeList(item) => DataType::List(Arc::clone(item)),
        other => other.clone(),
    }
}

fn map_value(map: &ArrayRef, key: &ArrayRef, rows: usize) -> Result<ArrayRef> {
    let map = map.as_map();
    let keys = cast(map.keys(), &DataType::Utf8)?;
    let keys = keys.as_string::<i32>();
    let wanted = cast(key, &DataType::Utf8)?;
    let wanted = wanted.as_string::<i32>();
    let values = map.values();
    let offsets = map.value_offsets();
    let mut picks: Vec<Option<i64>> = Vec::with_capacity(rows);
    for row in 0..map.len() {
        if map.is_null(row) || wanted.is_null(row) {
            picks.push(None);
            continue;
        }
        let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
        let k = wanted.value(row);
        picks.push((start..end).find(|&i| keys.value(i) == k).map(|i| i as i64));
    }
    let indices = Int64Array::from(picks);
    if values.data_type() == &DataType::Utf8 {
        // The common case (Lake's map<string,string>), without a generic take.
        let values = values.as_string::<i32>();
        let mut b = StringBuilder::new();
        for i in indices.iter() {
            b.append_option(i.and_then(|i| (!values.is_null(i as usize)).then(|| values.value(i as usize))));
        }
        return Ok(Arc::new(b.finish()));
    }
    Ok(take(values.as_ref(), &indices, None)?)
}

fn list_element(list: &ArrayRef, index: &ArrayRef) -> Result<ArrayRef> {
    let list = list.as_list::<i32>();
    let index = cast(index, &DataType::Int64)?;
    let index = index.as_primitive::<arrow_array::types::Int64Type>();
    let offsets = list.value_offsets();
    let picks: Int64Array = (0..list.len())
        .map(|row| {
            if list.is_null(row) || index.is_null(row) {
                return None;
            }
            let (start, end) = (offsets[row] as i64, offsets[row + 1] as i64);
            let i = index.value(row);
            let at = if i > 0 { start + i - 1 } else { end + i };
            (i != 0 && (start..end).contains(&at)).then_some(at)
        })
        .collect();
    Ok(take(list.values().as_ref(), &picks, None)?)
}
