//! `cairn check`: Security Hub's CloudTrail.1-7 and CloudWatch.1-14 controls evaluated by a running cairn for the
//! caller's account and region (`POST /v1/check`), printed as a table (or JSON); exit 1 when a control did not pass.

use anyhow::Result;
use clap::Args;
use serde_json::Value;

use crate::connection::{aligned, call, Connection, Output};

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    connection: Connection,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
}

pub fn run(args: CheckArgs) -> Result<()> {
    let endpoint = args.connection.endpoint();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let answer: Value = rt.block_on(async {
        let client = cairn_client::http_client(1);
        call(&client, &endpoint, &cairn_client::Signer::check(&endpoint)?).await
    })?;
    let controls = answer["Controls"].as_array().cloned().unwrap_or_default();
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&answer)?),
        Output::Table => {
            let header: Vec<String> = ["CONTROL", "STATUS", "REASON"].map(String::from).to_vec();
            let text = |v: &Value| v.as_str().unwrap_or("").to_string();
            let rows: Vec<Vec<String>> =
                controls.iter().map(|c| vec![text(&c["ControlId"]), text(&c["Status"]), text(&c["Reason"])]).collect();
            println!(
                "account {} in {}",
                answer["AccountId"].as_str().unwrap_or(""),
                answer["Region"].as_str().unwrap_or("")
            );
            print!("{}", aligned(&header, &rows));
        }
    }
    if controls.iter().any(|c| c["Status"] != "PASSED") {
        std::process::exit(1);
    }
    Ok(())
}
