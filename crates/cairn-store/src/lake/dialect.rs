//! Trino syntax Lake queries use that DataFusion does not read, rewritten into forms it does, on the parsed
//! statement:
//!
//! - `FROM t CROSS JOIN UNNEST(expr) AS u(x)` (or `FROM t, UNNEST(...)`): DataFusion cannot unnest a column of the
//!   table it joins, so the pair becomes `(SELECT t.*, unnest(expr) AS x FROM t) AS t`, and `u.x` reads `t.x`. An
//!   array of rows unnested into several columns (`AS u(accountid, type, arn, arnprefix)`) takes the rows' fields.
//!   Several arrays unnest side by side, and `WITH ORDINALITY` numbers the rows of each array from 1.
//! - `f(array, x -> body)` for the lambda functions becomes `f(array, 'x', 'body', outer...)`, the row's other
//!   columns the body reads passed after it (see `functions::lambda`).
//! - Field access on an expression (`resources[1].type`, `element_at(resources, 1).arn`) becomes `get_field`.
//!
//! Statements are parsed with a dialect that reads lambdas (DuckDB's, otherwise close to the generic one) and
//! handed to DataFusion as text.

use std::collections::HashMap;
use std::ops::ControlFlow;

use arrow_schema::DataType;
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, AccessExpr, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, JoinOperator,
    Query, SetExpr, Statement, TableAlias, TableFactor, TableWithJoins,
};
use datafusion::sql::sqlparser::dialect::DuckDbDialect;
use datafusion::sql::sqlparser::parser::Parser;

use super::functions::lambda;
use super::TableKind;
use crate::{Error, Result};

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidQuery(message.into())
}

/// Parses one statement of Lake SQL.
pub(crate) fn parse(sql: &str) -> Result<Vec<Statement>> {
    Parser::parse_sql(&DuckDbDialect {}, sql).map_err(|e| invalid(e.to_string()))
}

fn parse_expr(sql: &str) -> Result<Expr> {
    Parser::new(&DuckDbDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| invalid(e.to_string()))
}

fn parse_factor(sql: &str) -> Result<TableFactor> {
    Parser::new(&DuckDbDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_table_factor())
        .map_err(|e| invalid(e.to_string()))
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Rewrites a parsed query in place.
pub(crate) fn rewrite(statement: &mut Statement) -> Result<()> {
    let Statement::Query(query) = statement else { return Ok(()) };
    let mut renames: HashMap<String, Ident> = HashMap::new();
    rewrite_query(query, &mut renames)?;
    let mut failure: Option<Error> = None;
    let _ = visit_expressions_mut(statement, |e| {
        if let Err(err) = rewrite_expr(e, &renames) {
            failure = Some(err);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    failure.map_or(Ok(()), Err)
}

fn rewrite_query(query: &mut Query, renames: &mut HashMap<String, Ident>) -> Result<()> {
    if let Some(with) = &mut query.with {
        for cte in &mut with.cte_tables {
            rewrite_query(&mut cte.query, renames)?;
        }
    }
    rewrite_set(&mut query.body, renames)
}

fn rewrite_set(body: &mut SetExpr, renames: &mut HashMap<String, Ident>) -> Result<()> {
    match body {
        SetExpr::Select(select) => {
            let mut from = std::mem::take(&mut select.from);
            for twj in &mut from {
                rewrite_factor(&mut twj.relation, renames)?;
                for j in &mut twj.joins {
                    rewrite_factor(&mut j.relation, renames)?;
                }
            }
            select.from = fold_unnests(from, renames)?;
            Ok(())
        }
        SetExpr::Query(q) => rewrite_query(q, renames),
        SetExpr::SetOperation { left, right, .. } => {
            rewrite_set(left, renames)?;
            rewrite_set(right, renames)
        }
        _ => Ok(()),
    }
}

fn rewrite_factor(factor: &mut TableFactor, renames: &mut HashMap<String, Ident>) -> Result<()> {
    match factor {
        TableFactor::Derived { subquery, .. } => rewrite_query(subquery, renames),
        TableFactor::NestedJoin { table_with_joins, .. } => {
            rewrite_factor(&mut table_with_joins.relation, renames)?;
            for j in &mut table_with_joins.joins {
                rewrite_factor(&mut j.relation, renames)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Folds every UNNEST joined to the relation before it into that relation.
fn fold_unnests(from: Vec<TableWithJoins>, renames: &mut HashMap<String, Ident>) -> Result<Vec<TableWithJoins>> {
    let mut out: Vec<TableWithJoins> = Vec::new();
    for twj in from {
        if is_unnest(&twj.relation) && twj.joins.is_empty() {
            // `FROM t, UNNEST(...)`: joins the previous relation.
            let Some(last) = out.pop() else { return Err(invalid("UNNEST must follow the table it unnests")) };
            if !last.joins.is_empty() {
                return Err(invalid("UNNEST after a join is not supported; unnest before joining"));
            }
            out.push(TableWithJoins { relation: unnest_into(last.relation, twj.relation, renames)?, joins: vec![] });
            continue;
        }
        let mut relation = twj.relation;
        let mut joins = Vec::new();
        for j in twj.joins {
            let cross = matches!(j.join_operator, JoinOperator::CrossJoin(_));
            if cross && is_unnest(&j.relation) && joins.is_empty() {
                relation = unnest_into(relation, j.relation, renames)?;
            } else if is_unnest(&j.relation) {
                return Err(invalid("UNNEST is supported as CROSS JOIN UNNEST directly after the table it unnests"));
            } else {
                joins.push(j);
            }
        }
        out.push(TableWithJoins { relation, joins });
    }
    Ok(out)
}

/// An UNNEST in FROM: the standard form, or a table function named `unnest` as some dialects read it.
fn is_unnest(f: &TableFactor) -> bool {
    match f {
        TableFactor::UNNEST { .. } => true,
        TableFactor::Table { name, args: Some(_), .. } => name.to_string().eq_ignore_ascii_case("unnest"),
        _ => false,
    }
}

/// The alias, arrays and ordinality of an UNNEST in FROM.
fn unnest_parts(f: TableFactor) -> Result<(Option<TableAlias>, Vec<Expr>, bool)> {
    match f {
        TableFactor::UNNEST { with_offset: true, .. } => {
            Err(invalid("UNNEST ... WITH OFFSET is not Trino's; use WITH ORDINALITY"))
        }
        TableFactor::UNNEST { alias, array_exprs, with_ordinality, .. } => Ok((alias, array_exprs, with_ordinality)),
        TableFactor::Table { alias, args: Some(args), with_ordinality, .. } => {
            let exprs = args
                .args
                .into_iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e),
                    other => Err(invalid(format!("UNNEST does not take {other}"))),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok((alias, exprs, with_ordinality))
        }
        _ => Err(invalid("not an UNNEST")),
    }
}

/// `base CROSS JOIN UNNEST(exprs) [WITH ORDINALITY] AS u(cols)` as one derived table named as `base`. Several arrays
/// unnest side by side (the shorter ones padded with NULLs, as in Trino); the ordinality column numbers each row of
/// a base row from 1.
fn unnest_into(base: TableFactor, unnest: TableFactor, renames: &mut HashMap<String, Ident>) -> Result<TableFactor> {
    let (alias, array_exprs, ordinality) = unnest_parts(unnest)?;
    let name = match &base {
        TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => a.name.clone(),
        TableFactor::Table { name, alias: None, .. } => {
            name.0.last().and_then(|p| p.as_ident()).cloned().ok_or_else(|| invalid("a table needs a name"))?
        }
        _ => return Err(invalid("UNNEST needs the relation before it to have a name (an alias)")),
    };
    let base_sql = match &base {
        TableFactor::Table { alias: None, .. } => format!("{base} AS {name}"),
        _ => base.to_string(),
    };
    let mut columns: Vec<Ident> =
        alias.as_ref().map(|a| a.columns.iter().map(|c| c.name.clone()).collect()).unwrap_or_default();
    if let Some(a) = &alias {
        renames.insert(a.name.value.to_ascii_lowercase(), name.clone());
    }
    // The ordinality column is the last one named; the arrays' values come before it.
    let ordinal = match ordinality {
        false => String::new(),
        true => {
            let column = columns.pop().filter(|_| !columns.is_empty()).ok_or_else(|| {
                invalid("UNNEST ... WITH ORDINALITY needs an alias naming its columns and the ordinality column")
            })?;
            let longest: Vec<String> =
                array_exprs.iter().map(|e| format!("CAST(cardinality({e}) AS BIGINT)")).collect();
            let longest =
                if longest.len() == 1 { longest[0].clone() } else { format!("greatest({})", longest.join(", ")) };
            format!(", unnest(range(1, {longest} + 1)) AS {column}")
        }
    };
    let select = match (array_exprs.as_slice(), columns.as_slice()) {
        ([], _) => return Err(invalid("UNNEST needs an array")),
        ([expr], []) => format!("SELECT {name}.*, unnest({expr}) AS unnest{ordinal} FROM {base_sql}"),
        ([expr], [one]) => format!("SELECT {name}.*, unnest({expr}) AS {one}{ordinal} FROM {base_sql}"),
        ([expr], many) => {
            let fields = row_fields(expr)
                .ok_or_else(|| invalid(format!("UNNEST({expr}) into {} columns needs an array of rows", many.len())))?;
            if fields.len() != many.len() {
                return Err(invalid(format!(
                    "UNNEST({expr}) gives {} columns, {} were named",
                    fields.len(),
                    many.len()
                )));
            }
            let picks: Vec<String> =
                fields.iter().zip(many).map(|(f, c)| format!("get_field(__unnest, {}) AS {c}", quoted(f))).collect();
            format!(
                "SELECT {name}.*, {} FROM (SELECT {name}.*, unnest({expr}) AS __unnest{ordinal} FROM {base_sql}) AS {name}",
                picks.join(", ")
            )
        }
        (exprs, named) => {
            if named.len() != exprs.len() {
                return Err(invalid(format!(
                    "UNNEST of {} arrays gives {} columns, {} were named",
                    exprs.len(),
                    exprs.len(),
                    named.len()
                )));
            }
            let values: Vec<String> = exprs.iter().zip(named).map(|(e, c)| format!("unnest({e}) AS {c}")).collect();
            format!("SELECT {name}.*, {}{ordinal} FROM {base_sql}", values.join(", "))
        }
    };
    parse_factor(&format!("({select}) AS {name}"))
}

/// The row fields of a Lake column that is an array of rows (`resources`).
fn row_fields(expr: &Expr) -> Option<Vec<String>> {
    let column = match expr {
        Expr::Identifier(i) => i.value.to_ascii_lowercase(),
        Expr::CompoundIdentifier(parts) => parts.last()?.value.to_ascii_lowercase(),
        _ => return None,
    };
    let schema = TableKind::CloudTrail.schema();
    match schema.field_with_name(&column).ok()?.data_type() {
        DataType::List(item) => match item.data_type() {
            DataType::Struct(fields) => Some(fields.iter().map(|f| f.name().clone()).collect()),
            _ => None,
        },
        _ => None,
    }
}

fn rewrite_expr(e: &mut Expr, renames: &HashMap<String, Ident>) -> Result<()> {
    match e {
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
            if let Some(to) = renames.get(&parts[0].value.to_ascii_lowercase()) {
                parts[0] = to.clone();
            }
        }
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_lowercase();
            if !lambda::NAMES.contains(&name.as_str()) {
                return Ok(());
            }
            let FunctionArguments::List(list) = &f.args else { return Ok(()) };
            let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Lambda(l)))) = list.args.last() else {
                return Ok(());
            };
            // Identifiers are folded to lower case, as DataFusion folds the body's.
            let params = l.params.to_string().to_ascii_lowercase();
            let param = params.trim_matches(|c| c == '(' || c == ')').trim();
            if param.contains(',') {
                return Err(invalid(format!("{name} takes a lambda of one parameter")));
            }
            let rest: Vec<String> = list.args[..list.args.len() - 1].iter().map(ToString::to_string).collect();
            // The row's other columns the body reads are passed after it, and named `__outer<i>` in it.
            let mut body = (*l.body).clone();
            let mut outer: Vec<String> = Vec::new();
            let _ = visit_expressions_mut(&mut body, |x| {
                let captured = match x {
                    Expr::Identifier(i) => !i.value.eq_ignore_ascii_case(param),
                    Expr::CompoundIdentifier(parts) => !parts[0].value.eq_ignore_ascii_case(param),
                    _ => false,
                };
                if captured {
                    let text = x.to_string();
                    let i = outer.iter().position(|o| *o == text).unwrap_or_else(|| {
                        outer.push(text);
                        outer.len() - 1
                    });
                    *x = Expr::Identifier(Ident::new(format!("{}{i}", lambda::OUTER)));
                }
                ControlFlow::<()>::Continue(())
            });
            let outer: String = outer.iter().map(|o| format!(", {o}")).collect();
            *e = parse_expr(&format!(
                "{name}({}, {}, {}{outer})",
                rest.join(", "),
                quoted(param),
                quoted(&body.to_string())
            ))?;
        }
        Expr::CompoundFieldAccess { root, access_chain }
            if access_chain.iter().any(|a| matches!(a, AccessExpr::Dot(_))) =>
        {
            let mut text = root.to_string();
            for a in access_chain.iter() {
                text = match a {
                    AccessExpr::Subscript(s) => format!("({text})[{s}]"),
                    AccessExpr::Dot(Expr::Identifier(i)) => {
                        format!("get_field({text}, {})", quoted(&i.value.to_ascii_lowercase()))
                    }
                    AccessExpr::Dot(other) => return Err(invalid(format!("cannot read field {other} of {root}"))),
                };
            }
            *e = parse_expr(&text)?;
        }
        _ => {}
    }
    Ok(())
}
