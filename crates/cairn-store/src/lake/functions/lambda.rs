//! Trino's array functions with lambdas: `filter(array, x -> cond)`, `transform(array, x -> expr)`,
//! `any_match`, `all_match` and `none_match`.
//!
//! DataFusion has no lambdas, so the dialect pass ([`crate::lake::dialect`]) rewrites `f(array, x -> body)` into
//! `f(array, 'x', 'body', outer...)`, and these functions plan `body` as an expression over a column `x` of the
//! array's element type and the row's other columns it reads (`outer`, named [`OUTER`]`<i>` in `body`), then
//! evaluate it once over all elements of the batch, each element beside its row's values of those columns.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, ListArray, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::{filter as keep, take};
use datafusion::common::{exec_err, plan_err, DFSchema, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;

/// The prefix of the names a lambda body gives the row's other columns it reads.
pub(crate) const OUTER: &str = "__outer";

/// The functions that take a lambda, by name.
pub(crate) const NAMES: [&str; 5] = ["filter", "transform", "any_match", "all_match", "none_match"];

pub(crate) fn functions() -> Vec<ScalarUDF> {
    NAMES
        .iter()
        .map(|n| {
            ScalarUDF::new_from_impl(Lambda { name: n, signature: Signature::variadic_any(Volatility::Immutable) })
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Lambda {
    name: &'static str,
    signature: Signature,
}

fn item_type(list: &DataType) -> Result<&DataType> {
    match list {
        DataType::List(item) => Ok(item.data_type()),
        DataType::Null => Ok(&DataType::Null),
        other => plan_err!("a lambda function takes an array, not {other}"),
    }
}

fn literal(v: Option<&ScalarValue>) -> Option<String> {
    match v? {
        ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => {
            Some(s.clone())
        }
        _ => None,
    }
}

/// Plans a lambda body over a column named `param` of type `item` and the outer columns of types `outer`.
fn plan(param: &str, item: &DataType, outer: &[DataType], body: &str) -> Result<(Arc<dyn PhysicalExpr>, Arc<Schema>)> {
    let mut fields = vec![Field::new(param, item.clone(), true)];
    fields.extend(outer.iter().enumerate().map(|(i, t)| Field::new(format!("{OUTER}{i}"), t.clone(), true)));
    let schema = Arc::new(Schema::new(fields));
    let ctx = SessionContext::new();
    super::register(&ctx);
    let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
    let expr = ctx.parse_sql_expr(body, &df_schema)?;
    Ok((ctx.create_physical_expr(expr, &df_schema)?, schema))
}

impl ScalarUDFImpl for Lambda {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        plan_err!("{} is planned from its arguments", self.name)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        if args.arg_fields.len() < 3 {
            return plan_err!("{} takes an array and a lambda", self.name);
        }
        let list = args.arg_fields[0].data_type();
        let ty = match self.name {
            "filter" => list.clone(),
            "transform" => {
                let (Some(param), Some(body)) = (literal(args.scalar_arguments[1]), literal(args.scalar_arguments[2]))
                else {
                    return plan_err!("transform takes an array and a lambda");
                };
                let outer: Vec<DataType> = args.arg_fields[3..].iter().map(|f| f.data_type().clone()).collect();
                let (expr, schema) = plan(&param, item_type(list)?, &outer, &body)?;
                DataType::List(Arc::new(Field::new("item", expr.data_type(&schema)?, true)))
            }
            _ => DataType::Boolean,
        };
        Ok(Arc::new(Field::new(self.name, ty, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if args.args.len() < 3 {
            return exec_err!("{} takes an array and a lambda", self.name);
        }
        let text = |i: usize| match &args.args[i] {
            ColumnarValue::Scalar(v) => literal(Some(v)),
            ColumnarValue::Array(_) => None,
        };
        let (Some(param), Some(body)) = (text(1), text(2)) else {
            return exec_err!("{} takes an array and a lambda", self.name);
        };
        let lists = args.args[0].to_array(args.number_rows)?;
        if lists.data_type() == &DataType::Null {
            return Ok(ColumnarValue::Array(lists));
        }
        let lists = lists.as_list::<i32>();
        let offsets = lists.value_offsets();
        let values = Arc::clone(lists.values());
        // Each element beside its row's values of the outer columns.
        let mut columns = vec![Arc::clone(&values)];
        if args.args.len() > 3 && !values.is_empty() {
            let mut row_of = vec![0u32; values.len()];
            for row in 0..lists.len() {
                row_of[offsets[row] as usize..offsets[row + 1] as usize].fill(row as u32);
            }
            let row_of = UInt32Array::from(row_of);
            for a in &args.args[3..] {
                columns.push(take(&a.to_array(args.number_rows)?, &row_of, None)?);
            }
        } else {
            for a in &args.args[3..] {
                columns.push(datafusion::arrow::array::new_empty_array(&a.data_type()));
            }
        }
        let outer: Vec<DataType> = columns[1..].iter().map(|c| c.data_type().clone()).collect();
        let (expr, schema) = plan(&param, item_type(lists.data_type())?, &outer, &body)?;
        let batch = RecordBatch::try_new(schema, columns)?;
        let result = expr.evaluate(&batch)?.into_array(values.len())?;
        let rows = 0..lists.len();
        let out: ArrayRef = match self.name {
            "transform" => Arc::new(ListArray::new(
                Arc::new(Field::new("item", result.data_type().clone(), true)),
                lists.offsets().clone(),
                result,
                lists.nulls().cloned(),
            )),
            "filter" => {
                let mask = boolean(&result)?;
                let mut kept_offsets = vec![0i32];
                let mut take = Vec::with_capacity(values.len());
                for row in rows {
                    let (s, e) = (offsets[row] as usize, offsets[row + 1] as usize);
                    let mut n = 0;
                    for j in s..e {
                        let yes = mask.is_valid(j) && mask.value(j);
                        take.push(yes);
                        n += i32::from(yes);
                    }
                    kept_offsets.push(kept_offsets.last().copied().unwrap_or(0) + n);
                }
                let window = values.slice(offsets[0] as usize, take.len());
                let kept = keep(&window, &BooleanArray::from(take))?;
                let field = match lists.data_type() {
                    DataType::List(f) => Arc::clone(f),
                    _ => unreachable!("checked above"),
                };
                Arc::new(ListArray::new(field, OffsetBuffer::new(kept_offsets.into()), kept, lists.nulls().cloned()))
            }
            matcher => {
                let mask = boolean(&result)?;
                let answers: BooleanArray = rows
                    .map(|row| {
                        if lists.is_null(row) {
                            return None;
                        }
                        let (s, e) = (offsets[row] as usize, offsets[row + 1] as usize);
                        let hits = (s..e).filter(|&j| mask.is_valid(j) && mask.value(j)).count();
                        Some(match matcher {
                            "any_match" => hits > 0,
                            "all_match" => hits == e - s,
                            _ => hits == 0,
                        })
                    })
                    .collect();
                Arc::new(answers)
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

fn boolean(a: &ArrayRef) -> Result<&BooleanArray> {
    match a.data_type() {
        DataType::Boolean => Ok(a.as_boolean()),
        other => exec_err!("a lambda's condition must be boolean, not {other}"),
    }
}
