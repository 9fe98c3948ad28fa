//! cairn's CloudWatch: metrics (PutMetricData, GetMetricData, GetMetricStatistics, ListMetrics over
//! `cairn-metrics`) and metric alarms (configuration, evaluation on the clock as CloudWatch documents it, state
//! history, tags). Requests arrive as JSON values whatever the wire protocol (`cairn_api::wire`); answers are
//! [`Node`]s. What an alarm's actions do is the caller's: [`CloudWatch::evaluate`] answers the transitions.

mod alarms;
mod data;
pub mod evaluate;
mod operation;
mod store;
mod watch;

use std::path::Path;
use std::sync::Arc;

use cairn_api::wire::{self, Node};
use cairn_api::{ApiError, ErrorCode};
use serde_json::Value;

pub use operation::Operation;
pub use store::{HistoryItem, StoredAlarm};
pub use watch::Transition;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("CloudWatch storage: {0}")]
    Storage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn db(e: rusqlite::Error) -> Error {
    Error::Storage(e.to_string())
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError::new(ErrorCode::CwInternalServiceFault, e.to_string())
    }
}

impl From<cairn_metrics::Error> for Error {
    fn from(e: cairn_metrics::Error) -> Error {
        Error::Storage(e.to_string())
    }
}

/// Who calls, where, and when.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub now_ms: i64,
}

/// The ARN of a metric alarm.
pub fn alarm_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudwatch:{region}:{account}:alarm:{name}")
}

#[derive(Debug)]
pub struct CloudWatch {
    metrics: Arc<cairn_metrics::Metrics>,
    store: store::Store,
}

impl CloudWatch {
    /// Opens the alarm store in `dir` over the metrics that metric filters and PutMetricData write.
    pub fn open(dir: &Path, metrics: Arc<cairn_metrics::Metrics>) -> Result<CloudWatch> {
        Ok(CloudWatch { metrics, store: store::Store::open(dir)? })
    }

    /// Runs an operation; the answer is the operation's output structure (empty for those without output), and
    /// any state changes SetAlarmState made, for their actions.
    pub fn call(&self, call: &Call<'_>, op: Operation, input: &Value) -> Result<(Node, Vec<Transition>), ApiError> {
        if !input.is_object() {
            return Err(validation("The request must be a structure."));
        }
        let none = |r: Result<(), ApiError>| r.map(|()| (Node::object(), Vec::new()));
        let out = |r: Result<Node, ApiError>| r.map(|n| (n, Vec::new()));
        match op {
            Operation::PutMetricData => none(data::put_metric_data(self, call, input)),
            Operation::GetMetricStatistics => out(data::get_metric_statistics(self, call, input)),
            Operation::GetMetricData => out(data::get_metric_data(self, call, input)),
            Operation::ListMetrics => out(data::list_metrics(self, call, input)),
            Operation::PutMetricAlarm => none(alarms::put_metric_alarm(self, call, input)),
            Operation::DescribeAlarms => out(alarms::describe_alarms(self, call, input)),
            Operation::DescribeAlarmsForMetric => out(alarms::describe_alarms_for_metric(self, call, input)),
            Operation::DeleteAlarms => none(alarms::delete_alarms(self, call, input)),
            Operation::DescribeAlarmHistory => out(alarms::describe_alarm_history(self, call, input)),
            Operation::SetAlarmState => watch::set_alarm_state(self, call, input).map(|t| (Node::object(), t)),
            Operation::EnableAlarmActions => none(alarms::set_actions_enabled(self, call, input, true)),
            Operation::DisableAlarmActions => none(alarms::set_actions_enabled(self, call, input, false)),
            Operation::TagResource => out(alarms::tag_resource(self, call, input)),
            Operation::UntagResource => out(alarms::untag_resource(self, call, input)),
            Operation::ListTagsForResource => out(alarms::list_tags_for_resource(self, call, input)),
        }
    }

    /// Evaluates every alarm at `now_ms`, stores the transitions and answers them for their actions.
    pub fn evaluate(&self, now_ms: i64) -> Result<Vec<Transition>> {
        watch::evaluate_all(self, now_ms)
    }

    /// Records what an alarm action did in the alarm's history.
    pub fn record_action(&self, t: &Transition, action: &str, error: Option<&str>, now_ms: i64) -> Result<()> {
        watch::record_action(self, t, action, error, now_ms)
    }

    /// Deletes alarm history older than two weeks.
    pub fn expire(&self, now_ms: i64) -> Result<usize> {
        self.store.expire(now_ms)
    }
}

/// AWS's model validation failure (`ValidationError`).
pub(crate) fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::QueryValidation, message)
}

pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::CwInvalidParameterValue, message)
}

pub(crate) fn combination(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterCombination, message)
}

/// A required member, or AWS's error naming it.
pub(crate) fn required<T>(value: Option<T>, member: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::new(ErrorCode::CwMissingParameter, format!("The parameter {member} is required.")))
}

fn bad(e: wire::BadMember) -> ApiError {
    invalid(e.to_string())
}

/// Readers of request members answering CloudWatch's errors.
pub(crate) mod read {
    use super::*;

    pub fn text<'v>(v: &'v Value, m: &str) -> Result<Option<&'v str>, ApiError> {
        wire::text(v, m).map_err(bad)
    }
    pub fn number(v: &Value, m: &str) -> Result<Option<f64>, ApiError> {
        wire::number(v, m).map_err(bad)
    }
    pub fn integer(v: &Value, m: &str) -> Result<Option<i64>, ApiError> {
        wire::integer(v, m).map_err(bad)
    }
    pub fn boolean(v: &Value, m: &str) -> Result<Option<bool>, ApiError> {
        wire::boolean(v, m).map_err(bad)
    }
    pub fn timestamp(v: &Value, m: &str) -> Result<Option<i64>, ApiError> {
        wire::timestamp(v, m).map_err(bad)
    }
    pub fn list<'v>(v: &'v Value, m: &str) -> Result<&'v [Value], ApiError> {
        wire::list(v, m).map(Option::unwrap_or_default).map_err(bad)
    }
    pub fn texts(v: &Value, m: &str) -> Result<Vec<String>, ApiError> {
        wire::texts(v, m).map(Option::unwrap_or_default).map_err(bad)
    }

    /// A text member within the model's length bounds.
    pub fn bounded<'v>(v: &'v Value, m: &str, min: usize, max: usize) -> Result<Option<&'v str>, ApiError> {
        let s = text(v, m)?;
        if let Some(s) = s {
            let n = s.chars().count();
            if n < min || n > max {
                let bound = if n < min {
                    format!("greater than or equal to {min}")
                } else {
                    format!("less than or equal to {max}")
                };
                return Err(validation(format!(
                    "1 validation error detected: Value '{s}' at '{}' failed to satisfy constraint: Member must have length {bound}",
                    lower_first(m)
                )));
            }
        }
        Ok(s)
    }

    /// A list member of at most `max` items.
    pub fn at_most<'v>(v: &'v Value, m: &str, max: usize) -> Result<&'v [Value], ApiError> {
        let items = list(v, m)?;
        if items.len() > max {
            return Err(validation(format!(
                "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must have length less than or equal to {max}",
                lower_first(m)
            )));
        }
        Ok(items)
    }

    /// A member that must be one of a set of values.
    pub fn one_of<'v>(v: &'v Value, m: &str, allowed: &[&str]) -> Result<Option<&'v str>, ApiError> {
        let s = text(v, m)?;
        if let Some(s) = s.filter(|s| !allowed.contains(s)) {
            return Err(validation(format!(
                "1 validation error detected: Value '{s}' at '{}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                lower_first(m),
                allowed.join(", ")
            )));
        }
        Ok(s)
    }

    pub fn lower_first(m: &str) -> String {
        let mut c = m.chars();
        c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
    }
}

/// The five statistics.
pub(crate) const STATISTICS: [&str; 5] = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

/// A percentile statistic's number (`p99`, `p99.9`, `p0.0` to `p100`).
pub(crate) fn percentile(stat: &str) -> Option<f64> {
    let n = stat.strip_prefix('p')?;
    if n.is_empty()
        || !n.chars().all(|c| c.is_ascii_digit() || c == '.')
        || n.split('.').nth(1).is_some_and(|d| d.len() > 10)
    {
        return None;
    }
    n.parse::<f64>().ok().filter(|p| (0.0..=100.0).contains(p))
}

/// A statistic's value for a period: one of the five, or a percentile from the values kept.
pub(crate) fn statistic_value(stat: &str, p: &cairn_metrics::Period) -> Option<f64> {
    match stat {
        "SampleCount" => Some(p.sample_count),
        "Sum" => Some(p.sum),
        "Average" => (p.sample_count > 0.0).then(|| p.sum / p.sample_count),
        "Minimum" => Some(p.minimum),
        "Maximum" => Some(p.maximum),
        other => p.percentile(percentile(other)?),
    }
}

/// Dimensions `[{Name, Value}]` of a request, checked.
pub(crate) fn dimensions(v: &Value, member: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for d in read::at_most(v, member, 30)? {
        let name = required(read::bounded(d, "Name", 1, 255)?, &format!("{member}.member.N.Name"))?;
        let value = required(read::bounded(d, "Value", 1, 1024)?, &format!("{member}.member.N.Value"))?;
        if out.iter().any(|(n, _)| n == name) {
            return Err(invalid(format!("No Metric may specify the same dimension twice: {name}")));
        }
        out.push((name.to_string(), value.to_string()));
    }
    out.sort();
    Ok(out)
}

pub(crate) fn dimensions_node(dims: &[(String, String)]) -> Node {
    Node::list(dims.iter().map(|(n, v)| Node::object().with("Name", n.as_str()).with("Value", v.as_str())))
}

/// Pagination tokens of CloudWatch answers.
pub(crate) fn next_token(prefix: &str, position: usize) -> String {
    cairn_api::token::encode(prefix, &position.to_string())
}

pub(crate) fn token_position(prefix: &str, input: &Value) -> Result<usize, ApiError> {
    match read::text(input, "NextToken")? {
        None => Ok(0),
        Some(t) => cairn_api::token::decode(prefix, t)
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| ApiError::new(ErrorCode::CwInvalidNextToken, "The service couldn't process the NextToken.")),
    }
}

/// Timestamps as CloudWatch writes them in reasons and notifications: `2026-12-05T10:00:00.000+0000`.
pub fn plus_zero(ms: i64) -> String {
    let iso = wire::iso8601(ms);
    format!("{}+0000", iso.trim_end_matches('Z'))
}
