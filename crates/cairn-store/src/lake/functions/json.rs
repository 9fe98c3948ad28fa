//! Trino's JSON functions over JSON text (Lake's `requestparameters` values, `eventjson`): `json_extract`,
//! `json_extract_scalar`, `json_parse`, `json_format`, `json_array_get`, `json_array_length` and `json_size`.
//!
//! Paths are Trino's JSONPath subset: `$`, then `.name`, `["name"]` or `['name']`, and `[index]`. A path that does
//! not parse fails the query; a path that finds nothing answers NULL, as does text that is not JSON.

use std::sync::Arc;

use arrow_array::builder::{Int64Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::ScalarUDF;
use serde_json::Value;

use super::simple::{map_strings, udf};

pub(crate) fn functions() -> Vec<ScalarUDF> {
    let s = || DataType::Utf8;
    vec![
        udf("json_extract", vec![vec![s(), s()]], s(), json_extract),
        udf("json_extract_scalar", vec![vec![s(), s()]], s(), json_extract_scalar),
        udf("json_parse", vec![vec![s()]], s(), json_parse),
        udf("json_format", vec![vec![s()]], s(), json_format),
        udf("json_array_get", vec![vec![s(), DataType::Int64]], s(), json_array_get),
        udf("json_array_length", vec![vec![s()]], DataType::Int64, json_array_length),
        udf("json_size", vec![vec![s(), s()]], DataType::Int64, json_size),
    ]
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(i64),
}

/// Parses a JSONPath of Trino's subset.
fn parse_path(path: &str) -> Result<Vec<Step>> {
    let bad = || datafusion::common::DataFusionError::Execution(format!("Invalid JSON path: '{path}'"));
    let rest = path.trim().strip_prefix('$').ok_or_else(bad)?;
    let b = rest.as_bytes();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                let end = i + 1 + rest[i + 1..].find(['.', '[']).unwrap_or(rest.len() - i - 1);
                let key = &rest[i + 1..end];
                if key.is_empty() {
                    return Err(bad());
                }
                steps.push(Step::Key(key.to_string()));
                i = end;
            }
            b'[' => {
                let close = i + rest[i..].find(']').ok_or_else(bad)?;
                let inner = rest[i + 1..close].trim();
                if let Some(q) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    steps.push(Step::Key(q.to_string()));
                } else if let Some(q) = inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                    steps.push(Step::Key(q.to_string()));
                } else {
                    steps.push(Step::Index(inner.parse().map_err(|_| bad())?));
                }
                i = close + 1;
            }
            _ => return Err(bad()),
        }
    }
    Ok(steps)
}

fn walk<'v>(mut v: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    for s in steps {
        v = match (s, v) {
            (Step::Key(k), Value::Object(m)) => m.get(k)?,
            (Step::Index(i), Value::Array(a)) => a.get(usize::try_from(*i).ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Runs `f` over (JSON value, path) rows with one parsed path per distinct path text.
fn with_path(args: &[ArrayRef], mut f: impl FnMut(Option<&Value>) -> Option<String>) -> Result<ArrayRef> {
    let (docs, paths) = (args[0].as_string::<i32>(), args[1].as_string::<i32>());
    let mut cached: Option<(String, Vec<Step>)> = None;
    let mut b = StringBuilder::with_capacity(docs.len(), docs.len() * 8);
    for i in 0..docs.len() {
        if docs.is_null(i) || paths.is_null(i) {
            b.append_null();
            continue;
        }
        let path = paths.value(i);
        if cached.as_ref().is_none_or(|(p, _)| p != path) {
            cached = Some((path.to_string(), parse_path(path)?));
        }
        let steps = &cached.as_ref().expect("just set").1;
        let doc: Option<Value> = serde_json::from_str(docs.value(i)).ok();
        b.append_option(doc.as_ref().and_then(|d| f(walk(d, steps))));
    }
    Ok(Arc::new(b.finish()))
}

fn json_extract(args: &[ArrayRef]) -> Result<ArrayRef> {
    with_path(args, |v| v.map(Value::to_string))
}

fn json_extract_scalar(args: &[ArrayRef]) -> Result<ArrayRef> {
    with_path(args, |v| match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

fn json_parse(args: &[ArrayRef]) -> Result<ArrayRef> {
    map_strings(&args[0], |s| match serde_json::from_str::<Value>(s) {
        Ok(v) => Ok(Some(v.to_string())),
        Err(e) => exec_err!("Cannot convert value to JSON: '{s}': {e}"),
    })
}

fn json_format(args: &[ArrayRef]) -> Result<ArrayRef> {
    map_strings(&args[0], |s| Ok(serde_json::from_str::<Value>(s).ok().map(|v| v.to_string())))
}

fn json_array_get(args: &[ArrayRef]) -> Result<ArrayRef> {
    let (docs, idx) = (args[0].as_string::<i32>(), args[1].as_primitive::<Int64Type>());
    let mut b = StringBuilder::new();
    for i in 0..docs.len() {
        let v = (!docs.is_null(i) && !idx.is_null(i))
            .then(|| serde_json::from_str::<Value>(docs.value(i)).ok())
            .flatten()
            .and_then(|v| {
                let a = v.as_array()?;
                let n = idx.value(i);
                let at = if n >= 0 { n } else { a.len() as i64 + n };
                usize::try_from(at).ok().and_then(|at| a.get(at)).map(Value::to_string)
            });
        b.append_option(v);
    }
    Ok(Arc::new(b.finish()))
}

fn json_array_length(args: &[ArrayRef]) -> Result<ArrayRef> {
    let docs = args[0].as_string::<i32>();
    let mut b = Int64Builder::with_capacity(docs.len());
    for i in 0..docs.len() {
        let n = (!docs.is_null(i))
            .then(|| serde_json::from_str::<Value>(docs.value(i)).ok())
            .flatten()
            .and_then(|v| v.as_array().map(|a| a.len() as i64));
        b.append_option(n);
    }
    Ok(Arc::new(b.finish()))
}

fn json_size(args: &[ArrayRef]) -> Result<ArrayRef> {
    let sizes = with_path(args, |v| {
        v.map(|v| match v {
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            _ => 0,
        })
        .map(|n| n.to_string())
    })?;
    Ok(datafusion::arrow::compute::cast(&sizes, &DataType::Int64)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_as_trino_reads_them() {
        assert_eq!(parse_path("$").unwrap(), vec![]);
        assert_eq!(
            parse_path("$.a[0][\"b c\"]['d'].e").unwrap(),
            vec![
                Step::Key("a".into()),
                Step::Index(0),
                Step::Key("b c".into()),
                Step::Key("d".into()),
                Step::Key("e".into())
            ]
        );
        for bad in ["a.b", "$.", "$[x", "$[1.5]", "$x"] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
    }
}
