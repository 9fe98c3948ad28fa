//! `cairn query`: SQL over the caller's event history in a running cairn (its query API), answered as a table or
//! as JSON.

use anyhow::Result;
use bytes::Bytes;
use clap::Args;
use serde_json::{json, Value};

use crate::connection::{aligned, call, Connection, Output};

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    connection: Connection,
    /// The SQL statement, over the table `history` (see docs/query.md).
    sql: String,
    /// Most rows to return.
    #[arg(long)]
    max_rows: Option<u32>,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
}

pub fn run(args: QueryArgs) -> Result<()> {
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
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&answer)?),
        Output::Table => print!("{}", table(&answer)),
    }
    Ok(())
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
    }
}
