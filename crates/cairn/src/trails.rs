//! `cairn trails`: every trail the caller sees in its region, with its logging state, delivery status, lag and last
//! error, as a table (or as JSON).

use anyhow::Result;
use bytes::Bytes;
use clap::Args;
use serde_json::{json, Value};

use crate::connection::{aligned, call, Connection, Output};

#[derive(Debug, Args)]
pub struct TrailsArgs {
    #[command(flatten)]
    connection: Connection,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
}

pub fn run(args: TrailsArgs) -> Result<()> {
    let endpoint = args.connection.endpoint();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let trails: Vec<Value> = rt.block_on(async {
        let client = cairn_client::http_client(1);
        let op =
            |name: &str, body: Value| cairn_client::Signer::cloudtrail(&endpoint, name, Bytes::from(body.to_string()));
        let described = call(&client, &endpoint, &op("DescribeTrails", json!({}))?).await?;
        // Delivery lag is cairn's own figure: read from /metrics where it is served (loopback only).
        let lags = lags(&client, &endpoint.url).await;
        let mut out = Vec::new();
        for t in described["trailList"].as_array().cloned().unwrap_or_default() {
            let arn = t["TrailARN"].as_str().unwrap_or_default().to_string();
            let status = call(&client, &endpoint, &op("GetTrailStatus", json!({ "Name": arn }))?).await?;
            out.push(json!({ "trail": t, "status": status, "lagRecords": lags.get(&arn) }));
        }
        anyhow::Ok(out)
    })?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&trails)?),
        Output::Table => print!("{}", table(&trails)),
    }
    Ok(())
}

/// Trail ARN to delivery lag (journal records), from cairn's metrics; empty when they cannot be read.
async fn lags(client: &cairn_client::HttpClient, url: &str) -> std::collections::HashMap<String, u64> {
    let Ok(req) = http::Request::get(format!("{}/metrics", url.trim_end_matches('/')))
        .body(http_body_util::Full::new(Bytes::new()))
    else {
        return Default::default();
    };
    match cairn_client::send_request(client, req).await {
        Ok((status, body)) if status.is_success() => parse_lags(&String::from_utf8_lossy(&body)),
        _ => Default::default(),
    }
}

fn parse_lags(metrics: &str) -> std::collections::HashMap<String, u64> {
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix("cairn_trail_delivery_lag_records{trail=\""))
        .filter_map(|rest| {
            let (arn, value) = rest.split_once("\"} ")?;
            Some((arn.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

fn table(trails: &[Value]) -> String {
    let header: Vec<String> =
        ["NAME", "HOME", "MULTI-REGION", "ORG", "DESTINATION", "LOGGING", "LAST DELIVERY", "LAG", "LAST ERROR"]
            .map(String::from)
            .to_vec();
    let yes = |v: &Value| if v.as_bool() == Some(true) { "yes" } else { "no" }.to_string();
    let rows: Vec<Vec<String>> = trails
        .iter()
        .map(|x| {
            let (t, s) = (&x["trail"], &x["status"]);
            let dest = match t["S3KeyPrefix"].as_str() {
                Some(p) => format!("s3://{}/{p}", t["S3BucketName"].as_str().unwrap_or("")),
                None => format!("s3://{}", t["S3BucketName"].as_str().unwrap_or("")),
            };
            let last = s["LatestDeliveryTime"]
                .as_f64()
                .map(|secs| cairn_model::event::format_event_time((secs * 1000.0) as i64))
                .unwrap_or_else(|| "-".into());
            vec![
                t["Name"].as_str().unwrap_or("").to_string(),
                t["HomeRegion"].as_str().unwrap_or("").to_string(),
                yes(&t["IsMultiRegionTrail"]),
                yes(&t["IsOrganizationTrail"]),
                dest,
                yes(&s["IsLogging"]),
                last,
                x["lagRecords"].as_u64().map_or("-".into(), |n| n.to_string()),
                s["LatestDeliveryError"].as_str().unwrap_or("-").to_string(),
            ]
        })
        .collect();
    let mut out = aligned(&header, &rows);
    out.push_str(&format!("({} trail{})\n", rows.len(), if rows.len() == 1 { "" } else { "s" }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trails_as_a_table_with_lag_from_metrics() {
        let lags = parse_lags(
            "# HELP x\ncairn_trail_delivery_lag_records{trail=\"arn:aws:cloudtrail:us-east-1:1:trail/a\"} 42\nother 1\n",
        );
        assert_eq!(lags["arn:aws:cloudtrail:us-east-1:1:trail/a"], 42);
        let t = table(&[json!({
            "trail": {"Name": "a", "HomeRegion": "us-east-1", "IsMultiRegionTrail": true, "IsOrganizationTrail": false,
                      "S3BucketName": "b", "S3KeyPrefix": "p"},
            "status": {"IsLogging": true, "LatestDeliveryTime": 1795355931.0, "LatestDeliveryError": "AccessDenied"},
            "lagRecords": 42,
        })]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("NAME"));
        for cell in ["a", "us-east-1", "yes", "s3://b/p", "2026-11-22T13:58:51Z", "42", "AccessDenied"] {
            assert!(lines[1].contains(cell), "{cell} in {}", lines[1]);
        }
        assert_eq!(lines[2], "(1 trail)");
    }
}
