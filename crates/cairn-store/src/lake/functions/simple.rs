//! A scalar function from a name, the types it takes, its answer's type and a body over whole columns: most Trino
//! functions the Lake adds need nothing more.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

/// The body: the argument columns (all of the batch's length) to the answer column.
pub(crate) type Body = fn(&[ArrayRef]) -> Result<ArrayRef>;

#[derive(Debug)]
pub(crate) struct Simple {
    name: &'static str,
    signature: Signature,
    forms: Vec<Vec<DataType>>,
    returns: DataType,
    body: Body,
}

impl PartialEq for Simple {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Simple {}

impl Hash for Simple {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

/// A function taking any of `forms` (each a list of argument types, coerced to them) and answering `returns`.
pub(crate) fn udf(name: &'static str, forms: Vec<Vec<DataType>>, returns: DataType, body: Body) -> ScalarUDF {
    let signature = Signature::new(TypeSignature::UserDefined, Volatility::Immutable);
    ScalarUDF::new_from_impl(Simple { name, signature, forms, returns, body })
}

/// Whether an argument of type `given` can be cast to a form's `wanted` type as Trino would take it: the same type,
/// any timestamp for a timestamp (`now()` is in nanoseconds with a zone), any string or NULL, any integer for an
/// integer, any number for a double.
fn coercible(given: &DataType, wanted: &DataType) -> bool {
    use DataType::*;
    given == wanted
        || matches!(given, Null)
        || match wanted {
            Timestamp(..) => matches!(given, Timestamp(..) | Date32 | Date64),
            Utf8 => matches!(given, Utf8View | LargeUtf8),
            Int64 => given.is_integer(),
            Float64 => given.is_numeric(),
            _ => false,
        }
}

impl ScalarUDFImpl for Simple {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.returns.clone())
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let form =
            self.forms.iter().find(|f| f.len() == args.len() && f.iter().zip(args).all(|(w, g)| coercible(g, w)));
        match form {
            Some(f) => Ok(f.clone()),
            None => datafusion::common::plan_err!(
                "{}({}) is not a form of {}; it takes {}",
                self.name,
                args.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                self.name,
                self.forms
                    .iter()
                    .map(|f| format!("({})", f.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let arrays: Vec<ArrayRef> = arrays
            .into_iter()
            .map(|a| match a.data_type() {
                // Bodies read plain strings; string views and large strings become them.
                DataType::Utf8View | DataType::LargeUtf8 => datafusion::arrow::compute::cast(&a, &DataType::Utf8),
                _ => Ok(a),
            })
            .collect::<std::result::Result<_, _>>()?;
        let out = (self.body)(&arrays)?;
        debug_assert_eq!(out.len(), arrays.first().map_or(args.number_rows, |a| a.len()));
        Ok(ColumnarValue::Array(out))
    }
}

/// Applies `f` to each row of one string column, answering a string column.
pub(crate) fn map_strings(a: &ArrayRef, mut f: impl FnMut(&str) -> Result<Option<String>>) -> Result<ArrayRef> {
    let strings = arrow_array::cast::AsArray::as_string::<i32>(a.as_ref());
    let mut b = arrow_array::builder::StringBuilder::with_capacity(a.len(), a.len() * 8);
    for i in 0..a.len() {
        if strings.is_null(i) {
            b.append_null();
        } else {
            b.append_option(f(strings.value(i))?);
        }
    }
    Ok(Arc::new(b.finish()))
}
