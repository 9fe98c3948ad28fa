//! `cairn lookup`: event history for people. The filters of LookupEvents as flags, pages fetched as needed, and a
//! readable table (or the events as JSON).

use anyhow::{Context, Result};
use bytes::Bytes;
use clap::{ArgGroup, Args};

use crate::connection::{aligned, call, Connection, Output};
use serde_json::{json, Value};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("attribute").multiple(false)))]
pub struct LookupArgs {
    #[command(flatten)]
    connection: Connection,
    #[arg(long, group = "attribute")]
    event_id: Option<String>,
    #[arg(long, group = "attribute")]
    event_name: Option<String>,
    /// `true` or `false`.
    #[arg(long, group = "attribute")]
    read_only: Option<String>,
    #[arg(long, group = "attribute")]
    username: Option<String>,
    #[arg(long, group = "attribute")]
    resource_type: Option<String>,
    #[arg(long, group = "attribute")]
    resource_name: Option<String>,
    #[arg(long, group = "attribute")]
    event_source: Option<String>,
    #[arg(long, group = "attribute")]
    access_key: Option<String>,
    /// Earliest event time, as 2026-11-20 or 2026-11-20T10:00:00Z.
    #[arg(long)]
    start_time: Option<String>,
    /// Latest event time, as 2026-11-20 or 2026-11-20T10:00:00Z.
    #[arg(long)]
    end_time: Option<String>,
    /// Insights events instead of management events.
    #[arg(long)]
    insight: bool,
    /// Most events to show (fetched 50 per request).
    #[arg(long, default_value_t = 50)]
    max_events: usize,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
}

fn epoch_seconds(s: &str) -> Result<f64> {
    let full = if s.len() == 10 { format!("{s}T00:00:00Z") } else { s.to_string() };
    let ms = cairn_store::extract::parse_time(&full)
        .with_context(|| format!("{s:?} is not a date (2026-11-20) or a UTC time (2026-11-20T10:00:00Z)"))?;
    Ok(ms as f64 / 1000.0)
}

impl LookupArgs {
    fn request(&self, next_token: Option<&str>, page: usize) -> Result<Value> {
        let attrs = [
            ("EventId", &self.event_id),
            ("EventName", &self.event_name),
            ("ReadOnly", &self.read_only),
            ("Username", &self.username),
            ("ResourceType", &self.resource_type),
            ("ResourceName", &self.resource_name),
            ("EventSource", &self.event_source),
            ("AccessKeyId", &self.access_key),
        ];
        let mut req = json!({ "MaxResults": page });
        if let Some((k, Some(v))) = attrs.iter().find(|(_, v)| v.is_some()) {
            req["LookupAttributes"] = json!([{ "AttributeKey": k, "AttributeValue": v }]);
        }
        if let Some(t) = &self.start_time {
            req["StartTime"] = json!(epoch_seconds(t)?);
        }
        if let Some(t) = &self.end_time {
            req["EndTime"] = json!(epoch_seconds(t)?);
        }
        if self.insight {
            req["EventCategory"] = json!("insight");
        }
        if let Some(t) = next_token {
            req["NextToken"] = json!(t);
        }
        Ok(req)
    }
}

pub fn run(args: LookupArgs) -> Result<()> {
    let endpoint = args.connection.endpoint();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let events = rt.block_on(async {
        let client = cairn_client::http_client(1);
        let mut events: Vec<Value> = Vec::new();
        let mut token: Option<String> = None;
        while events.len() < args.max_events {
            let page = (args.max_events - events.len()).min(50);
            let body = serde_json::to_vec(&args.request(token.as_deref(), page)?)?;
            let signer = cairn_client::Signer::cloudtrail(&endpoint, "LookupEvents", Bytes::from(body))?;
            let resp = call(&client, &endpoint, &signer).await?;
            events.extend(resp["Events"].as_array().cloned().unwrap_or_default());
            match resp["NextToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        Ok::<_, anyhow::Error>(events)
    })?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&json!({ "Events": events }))?),
        Output::Table => print!("{}", table(&events)),
    }
    Ok(())
}

/// Events as aligned columns, newest first.
fn table(events: &[Value]) -> String {
    let header = ["EVENT TIME", "EVENT NAME", "USER NAME", "EVENT SOURCE", "RESOURCES", "EVENT ID"];
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("-").to_string();
            let time = e["EventTime"]
                .as_f64()
                .map_or("-".into(), |t| cairn_model::event::format_event_time((t * 1000.0) as i64));
            let resources: Vec<String> = e["Resources"]
                .as_array()
                .map(|rs| {
                    rs.iter()
                        .map(|r| {
                            format!(
                                "{} {}",
                                r["ResourceType"].as_str().unwrap_or("?"),
                                r["ResourceName"].as_str().unwrap_or("?")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let resources = if resources.is_empty() { "-".to_string() } else { resources.join(", ") };
            vec![time, s("EventName"), s("Username"), s("EventSource"), resources, s("EventId")]
        })
        .collect();
    let mut out = aligned(&header.map(String::from), &rows);
    if rows.is_empty() {
        out.push_str("(no events)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_table() {
        assert_eq!(epoch_seconds("2026-11-20").unwrap(), 1_795_132_800.0);
        assert_eq!(epoch_seconds("2026-11-20T00:00:01Z").unwrap(), 1_795_132_801.0);
        assert!(epoch_seconds("yesterday").is_err());
        let t = table(&[json!({"EventTime": 1_795_132_800.0, "EventName": "CreateTrail", "Username": "root",
            "EventSource": "cloudtrail.amazonaws.com", "EventId": "e-1",
            "Resources": [{"ResourceType": "AWS::CloudTrail::Trail", "ResourceName": "t"}]})]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("EVENT TIME"));
        assert!(lines[1].starts_with("2026-11-20T00:00:00Z  CreateTrail"), "{t}");
        assert!(lines[1].contains("AWS::CloudTrail::Trail t") && lines[1].ends_with("e-1"));
        assert!(table(&[]).contains("(no events)"));
    }
}
