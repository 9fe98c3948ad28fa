//! Trino's `regexp_extract` and `contains` (of an array: whether it holds a value; of a string: whether it holds a
//! substring, as DataFusion's `contains`).

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, BooleanArray};
use arrow_schema::DataType;
use datafusion::arrow::compute::cast;
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use super::simple::udf;

pub(crate) fn functions() -> Vec<ScalarUDF> {
    let s = || DataType::Utf8;
    vec![
        udf("regexp_extract", vec![vec![s(), s()], vec![s(), s(), DataType::Int64]], s(), regexp_extract),
        ScalarUDF::new_from_impl(Contains { signature: Signature::user_defined(Volatility::Immutable) }),
    ]
}

/// The first match of a pattern (or of its group `n`), NULL when there is none.
fn regexp_extract(args: &[ArrayRef]) -> Result<ArrayRef> {
    let (text, patterns) = (args[0].as_string::<i32>(), args[1].as_string::<i32>());
    let groups = args.get(2).map(|g| g.as_primitive::<Int64Type>());
    let mut cached: Option<(String, regex::Regex)> = None;
    let mut b = StringBuilder::new();
    for i in 0..text.len() {
        if text.is_null(i) || patterns.is_null(i) || groups.is_some_and(|g| g.is_null(i)) {
            b.append_null();
            continue;
        }
        let pattern = patterns.value(i);
        if cached.as_ref().is_none_or(|(p, _)| p != pattern) {
            match regex::Regex::new(pattern) {
                Ok(r) => cached = Some((pattern.to_string(), r)),
                Err(e) => return exec_err!("invalid regular expression {pattern:?}: {e}"),
            }
        }
        let re = &cached.as_ref().expect("just set").1;
        let group = groups.map_or(0, |g| g.value(i));
        if group < 0 || group as usize >= re.captures_len() {
            return exec_err!("pattern {pattern:?} has no group {group}");
        }
        b.append_option(re.captures(text.value(i)).and_then(|c| c.get(group as usize)).map(|m| m.as_str()));
    }
    Ok(Arc::new(b.finish()))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Contains {
    signature: Signature,
}

impl ScalarUDFImpl for Contains {
    fn name(&self) -> &str {
        "contains"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [l @ DataType::List(item), _] => Ok(vec![l.clone(), item.data_type().clone()]),
            [_, _] => Ok(vec![DataType::Utf8, DataType::Utf8]),
            _ => plan_err!("contains takes an array and a value, or a string and a substring"),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (container, wanted) = (&arrays[0], &arrays[1]);
        let out: BooleanArray = match container.data_type() {
            DataType::List(_) => {
                let list = container.as_list::<i32>();
                let wanted = cast(wanted, &DataType::Utf8)?;
                let wanted = wanted.as_string::<i32>();
                (0..list.len())
                    .map(|row| {
                        if list.is_null(row) || wanted.is_null(row) {
                            return None;
                        }
                        let items = cast(&list.value(row), &DataType::Utf8).ok()?;
                        let items = items.as_string::<i32>();
                        Some((0..items.len()).any(|j| !items.is_null(j) && items.value(j) == wanted.value(row)))
                    })
                    .collect()
            }
            _ => {
                let (text, part) = (cast(container, &DataType::Utf8)?, cast(wanted, &DataType::Utf8)?);
                let (text, part) = (text.as_string::<i32>(), part.as_string::<i32>());
                (0..text.len())
                    .map(|i| (!text.is_null(i) && !part.is_null(i)).then(|| text.value(i).contains(part.value(i))))
                    .collect()
            }
        };
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}
