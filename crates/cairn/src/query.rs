//! `cairn query`: SQL over the caller's event history in a running cairn (its query API, the table `history`), or
//! over the local store `cairn import` fills (the table `events`, no server needed), answered as a table, JSON or
//! CSV.

use anyhow::Result;
use bytes::Bytes;
use clap::Args;
use serde_json::{json, Value};

use crate::connection::{aligned, call, Connection};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    connection: Connection,
    /// The SQL statement: over `history` in a running cairn (docs/query.md), or over `events`, the local store
    /// `cairn import` fills (docs/lake.md).
    sql: String,
    /// Most rows to return.
    #[arg(long)]
    max_rows: Option<u32>,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
    /// Where the local store is, for statements over `events`.
    #[arg(long, env = "CAIRN_STORE_DIR", default_value = "cairn-events")]
    store_dir: std::path::PathBuf,
    /// Print how long a statement over `events` took (opening the store, planning and running), to stderr.
    #[arg(long)]
    timing: bool,
}

pub fn run(args: QueryArgs) -> Result<()> {
    if crate::offline::names_local_table(&args.sql) {
        let started = std::time::Instant::now();
        let answer = crate::offline::query(&args.sql, &args.store_dir, args.max_rows.map_or(100_000, |n| n as usize))?;
        if args.timing {
            eprintln!("{} rows in {:.1} ms", answer.rows.len(), started.elapsed().as_secs_f64() * 1000.0);
        }
        let rows: Vec<Value> = answer.rows.iter().map(|r| json!(r)).collect();
        let as_json = json!({ "Columns": answer.columns, "Rows": rows, "Truncated": answer.truncated });
        return print(&as_json, args.output);
    }
    server(args)
}

fn print(answer: &Value, output: Output) -> Result<()> {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(answer)?),
        Output::Table => print!("{}", table(answer)),
        Output::Csv => print!("{}", csv(answer)),
    }
    Ok(())
}

/// The answer as CSV: a header, then the rows (NULL as an empty field).
fn csv(answer: &Value) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let strings = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let mut out = String::new();
    let header: Vec<String> = strings(&answer["Columns"]).iter().map(|c| field(c.as_str().unwrap_or(""))).collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for r in strings(&answer["Rows"]) {
        let cells: Vec<String> = strings(&r).iter().map(|v| v.as_str().map(field).unwrap_or_default()).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn server(args: QueryArgs) -> Result<()> {
    let endpoint = args.connection.endpoint();
    let mut request = json!({ "QueryStatement": args.sql });
    if let Some(n) = args.max_rows {
        request["MaxRows"] = json!(n);
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let answer: Value = rt.block_on(async {
        let client = cairn_client::http_client(1);
        let signer = cairn_client::Signer::query(&endpoint, Bytes::from(serde_json::to_vec(&request)?))?;
        call(&client, &endpoint, &signer).await
    })?;
    print(&answer, args.output)
}

/// The answer as aligned columns, with NULL for nulls, and a note when rows were left out.
fn table(answer: &Value) -> String {
    let strings = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let header: Vec<String> =
        strings(&answer["Columns"]).iter().map(|c| c.as_str().unwrap_or("").to_string()).collect();
    let rows: Vec<Vec<String>> = strings(&answer["Rows"])
        .iter()
        .map(|r| strings(r).iter().map(|v| v.as_str().unwrap_or("NULL").replace('\n', " ")).collect())
        .collect();
    let mut out = aligned(&header, &rows);
    let n = rows.len();
    out.push_str(&format!("({n} row{})\n", if n == 1 { "" } else { "s" }));
    if answer["Truncated"].as_bool() == Some(true) {
        out.push_str("(more rows left out: raise --max-rows or narrow the query)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_as_tables() {
        let t = table(&json!({"Columns": ["eventname", "n"], "Rows": [["CreateTrail", "12"], [null, "3"]],
            "Truncated": true}));
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "eventname    n");
        assert_eq!(lines[1], "CreateTrail  12");
        assert_eq!(lines[2], "NULL         3");
        assert_eq!(lines[3], "(2 rows)");
        assert!(lines[4].contains("left out"));
        let c = csv(&json!({"Columns": ["a", "b"], "Rows": [["x,y", null], ["say \"hi\"", "2"]]}));
        assert_eq!(c, "a,b\nx,y\",\n\"say \"\"hi\"\"\",2\n".replacen("x,y\"", "\"x,y\"", 1));
    }
}
