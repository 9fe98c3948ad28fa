//! Alarms on the clock: each evaluation reads an alarm's evaluation range from the metrics, decides its state
//! (`evaluate`), and stores a transition with CloudWatch's reason, reason data and history. SetAlarmState changes a
//! state by hand. A transition carries what its actions need, including CloudWatch's notification message.

use cairn_api::{ApiError, ErrorCode};
use cairn_metrics::MetricId;
use serde_json::{json, Value};

use crate::alarms::Config;
use crate::evaluate::{self, Slot, State};
use crate::read::{bounded, one_of};
use crate::store::{HistoryItem, StoredAlarm};
use crate::{alarm_arn, percentile, plus_zero, required, statistic_value, Call, CloudWatch};

/// An alarm's change of state: the alarm after it, where it came from, and the actions to run (none when its
/// actions are disabled).
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub alarm: StoredAlarm,
    pub old_state: String,
    pub actions: Vec<String>,
}

impl Transition {
    /// The message CloudWatch publishes to an alarm's SNS topics.
    pub fn message(&self) -> Value {
        let a = &self.alarm;
        let c = Config::from_value(&a.config);
        let (statistic_type, statistic) = match (&c.statistic, &c.extended_statistic) {
            (Some(s), _) => ("Statistic", s.to_uppercase()),
            (None, Some(e)) => ("ExtendedStatistic", e.clone()),
            (None, None) => ("Statistic", String::new()),
        };
        let mut trigger = json!({
            "MetricName": c.metric_name,
            "Namespace": c.namespace,
            "StatisticType": statistic_type,
            "Statistic": statistic,
            "Unit": c.unit,
            "Dimensions": c.dimensions.iter().map(|(n, v)| json!({"value": v, "name": n})).collect::<Vec<_>>(),
            "Period": c.period,
            "EvaluationPeriods": c.evaluation_periods,
        });
        if let Some(m) = c.datapoints_to_alarm {
            trigger["DatapointsToAlarm"] = json!(m);
        }
        trigger["ComparisonOperator"] = json!(c.comparison);
        trigger["Threshold"] = json!(c.threshold);
        trigger["TreatMissingData"] = json!(c.treat_missing_data.as_deref().unwrap_or("missing"));
        trigger["EvaluateLowSampleCountPercentile"] = json!(c.evaluate_low_sample_count_percentile.unwrap_or_default());
        json!({
            "AlarmName": a.name,
            "AlarmDescription": c.description,
            "AWSAccountId": a.account,
            "AlarmConfigurationUpdatedTimestamp": plus_zero(a.config_updated_ms),
            "NewStateValue": a.state,
            "NewStateReason": a.reason,
            "StateChangeTime": plus_zero(a.state_updated_ms),
            "Region": region_name(&a.region),
            "AlarmArn": alarm_arn(&a.region, &a.account, &a.name),
            "OldStateValue": self.old_state,
            "OKActions": c.ok_actions,
            "AlarmActions": c.alarm_actions,
            "InsufficientDataActions": c.insufficient_data_actions,
            "Trigger": trigger,
        })
    }

    /// The subject of the notification: `ALARM: "name" in US East (N. Virginia)`.
    pub fn subject(&self) -> String {
        let a = &self.alarm;
        let subject = format!("{}: \"{}\" in {}", a.state, a.name, region_name(&a.region));
        // SNS subjects are at most 100 characters.
        subject.chars().take(100).collect()
    }
}

/// A region's name as CloudWatch writes it in notifications; the code itself for regions it does not know.
pub fn region_name(region: &str) -> String {
    const NAMES: [(&str, &str); 30] = [
        ("us-east-1", "US East (N. Virginia)"),
        ("us-east-2", "US East (Ohio)"),
        ("us-west-1", "US West (N. California)"),
        ("us-west-2", "US West (Oregon)"),
        ("af-south-1", "Africa (Cape Town)"),
        ("ap-east-1", "Asia Pacific (Hong Kong)"),
        ("ap-south-1", "Asia Pacific (Mumbai)"),
        ("ap-south-2", "Asia Pacific (Hyderabad)"),
        ("ap-southeast-1", "Asia Pacific (Singapore)"),
        ("ap-southeast-2", "Asia Pacific (Sydney)"),
        ("ap-southeast-3", "Asia Pacific (Jakarta)"),
        ("ap-southeast-4", "Asia Pacific (Melbourne)"),
        ("ap-northeast-1", "Asia Pacific (Tokyo)"),
        ("ap-northeast-2", "Asia Pacific (Seoul)"),
        ("ap-northeast-3", "Asia Pacific (Osaka)"),
        ("ca-central-1", "Canada (Central)"),
        ("ca-west-1", "Canada West (Calgary)"),
        ("eu-central-1", "EU (Frankfurt)"),
        ("eu-central-2", "EU (Zurich)"),
        ("eu-west-1", "EU (Ireland)"),
        ("eu-west-2", "EU (London)"),
        ("eu-west-3", "EU (Paris)"),
        ("eu-north-1", "EU (Stockholm)"),
        ("eu-south-1", "EU (Milan)"),
        ("eu-south-2", "EU (Spain)"),
        ("il-central-1", "Israel (Tel Aviv)"),
        ("me-south-1", "Middle East (Bahrain)"),
        ("me-central-1", "Middle East (UAE)"),
        ("sa-east-1", "South America (Sao Paulo)"),
        ("us-gov-west-1", "AWS GovCloud (US-West)"),
    ];
    NAMES.iter().find(|(code, _)| *code == region).map_or_else(|| region.to_string(), |(_, name)| name.to_string())
}

/// Evaluates every alarm; answers the transitions stored.
pub(crate) fn evaluate_all(cw: &CloudWatch, now_ms: i64) -> crate::Result<Vec<Transition>> {
    let mut out = Vec::new();
    for alarm in cw.store.alarms(None)? {
        match evaluate_one(cw, &alarm, now_ms) {
            Ok(Some(t)) => out.push(t),
            Ok(None) => {}
            Err(e) => tracing::warn!(alarm = %alarm.name, error = %e, "cannot evaluate alarm"),
        }
    }
    Ok(out)
}

fn evaluate_one(cw: &CloudWatch, alarm: &StoredAlarm, now_ms: i64) -> crate::Result<Option<Transition>> {
    let c = Config::from_value(&alarm.config);
    let rule = c.rule();
    let period_ms = c.period * 1000;
    let len = evaluate::range_len(rule.evaluation_periods) as i64;
    let metric = MetricId {
        account: alarm.account.clone(),
        region: alarm.region.clone(),
        namespace: c.namespace.clone(),
        name: c.metric_name.clone(),
        dimensions: c.dimensions.clone(),
    };
    let stat = c.stat().to_string();
    let wants_values = percentile(&stat).is_some();
    // The range ends with the newest complete period, or with the current one once it has data.
    let current = now_ms.div_euclid(period_ms) * period_ms;
    let read = |end: i64| {
        let start = end - len * period_ms;
        cw.metrics
            .periods(&metric, c.unit.as_deref(), start, end, c.period, now_ms, wants_values)
            .map(|p| (start, p))
            .map_err(crate::Error::from)
    };
    let (mut start, mut periods) = read(current + period_ms)?;
    if !periods.iter().any(|p| p.start_ms == current) {
        (start, periods) = read(current)?;
    }
    let low_samples = c.evaluate_low_sample_count_percentile.as_deref() == Some("ignore")
        && percentile(&stat).is_some_and(|p| {
            let needed = if p >= 100.0 { 1.0 } else { (1.0 / (1.0 - p / 100.0)).ceil() };
            periods.iter().any(|x| x.sample_count < needed)
        });
    if low_samples {
        return Ok(None);
    }
    let slots: Vec<Slot> = (0..len)
        .map(|i| {
            let at = start + i * period_ms;
            let p = periods.iter().find(|p| p.start_ms == at);
            Slot {
                start_ms: at,
                value: p.and_then(|p| statistic_value(&stat, p)),
                sample_count: p.map_or(0.0, |p| p.sample_count),
            }
        })
        .collect();
    let outcome = evaluate::evaluate(&rule, &slots);
    let Some(state) = outcome.state else { return Ok(None) };
    if state.as_str() == alarm.state {
        return Ok(None);
    }
    let reason_data = reason_data(&c, &stat, now_ms, &slots, &outcome.evaluated);
    transition(cw, alarm, &c, state, outcome.reason, Some(reason_data.to_string()), now_ms)
}

/// CloudWatch's StateReasonData for an evaluation.
fn reason_data(c: &Config, stat: &str, now_ms: i64, range: &[Slot], evaluated: &[Slot]) -> Value {
    let mut data = json!({"version": "1.0", "queryDate": plus_zero(now_ms)});
    if let Some(first) = range.first() {
        data["startDate"] = json!(plus_zero(first.start_ms));
    }
    if let Some(u) = &c.unit {
        data["unit"] = json!(u);
    }
    data["statistic"] = json!(stat);
    data["period"] = json!(c.period);
    data["recentDatapoints"] = json!(range.iter().filter_map(|s| s.value).collect::<Vec<_>>());
    data["threshold"] = json!(c.threshold);
    data["evaluatedDatapoints"] = json!(evaluated
        .iter()
        .map(|s| match s.value {
            Some(v) => json!({"timestamp": plus_zero(s.start_ms), "sampleCount": s.sample_count, "value": v}),
            None => json!({"timestamp": plus_zero(s.start_ms)}),
        })
        .collect::<Vec<_>>());
    data
}

/// Stores a new state with its history item; answers the transition unless the alarm changed meanwhile.
fn transition(
    cw: &CloudWatch,
    alarm: &StoredAlarm,
    c: &Config,
    state: State,
    reason: String,
    reason_data: Option<String>,
    now_ms: i64,
) -> crate::Result<Option<Transition>> {
    let old = alarm.clone();
    let new = StoredAlarm {
        state: state.as_str().to_string(),
        reason,
        reason_data,
        state_updated_ms: now_ms,
        transitioned_ms: now_ms,
        ..alarm.clone()
    };
    let side = |a: &StoredAlarm| {
        let mut s = json!({"stateValue": a.state, "stateReason": a.reason});
        if let Some(d) = a.reason_data.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok()) {
            s["stateReasonData"] = d;
        }
        s
    };
    let history = HistoryItem {
        alarm: alarm.name.clone(),
        at_ms: now_ms,
        item_type: "StateUpdate".into(),
        summary: format!("Alarm updated from {} to {}", old.state, new.state),
        data: json!({"version": "1.0", "oldState": side(&old), "newState": side(&new)}).to_string(),
    };
    if !cw.store.set_state(&new, &[history])? {
        return Ok(None);
    }
    let actions = if c.actions_enabled { c.actions_for(state).to_vec() } else { Vec::new() };
    Ok(Some(Transition { alarm: new, old_state: old.state, actions }))
}

pub(crate) fn set_alarm_state(cw: &CloudWatch, call: &Call<'_>, input: &Value) -> Result<Vec<Transition>, ApiError> {
    let name = required(bounded(input, "AlarmName", 1, 255)?, "AlarmName")?;
    let value = required(one_of(input, "StateValue", &["OK", "ALARM", "INSUFFICIENT_DATA"])?, "StateValue")?;
    let reason = required(bounded(input, "StateReason", 0, 1023)?, "StateReason")?;
    let data = bounded(input, "StateReasonData", 0, 4000)?;
    if let Some(d) = data {
        if serde_json::from_str::<Value>(d).is_err() {
            return Err(ApiError::new(ErrorCode::CwInvalidFormat, "StateReasonData is not valid JSON."));
        }
    }
    let alarm = cw
        .store
        .alarm(call.account, call.region, name)?
        .ok_or_else(|| ApiError::new(ErrorCode::CwResourceNotFound, format!("Alarm {name} not found")))?;
    if alarm.state == value {
        return Ok(Vec::new());
    }
    let state = State::parse(value).unwrap_or(State::InsufficientData);
    let c = Config::from_value(&alarm.config);
    let t = transition(cw, &alarm, &c, state, reason.to_string(), data.map(str::to_string), call.now_ms)?;
    Ok(t.into_iter().collect())
}

/// Records an action's outcome as an `Action` history item.
pub(crate) fn record_action(
    cw: &CloudWatch,
    t: &Transition,
    action: &str,
    error: Option<&str>,
    now_ms: i64,
) -> crate::Result<()> {
    let summary = match error {
        None => format!("Successfully executed action {action}"),
        Some(e) => format!("Failed to execute action {action}. Received error: \"{e}\""),
    };
    let data = json!({
        "actionState": if error.is_none() { "Succeeded" } else { "Failed" },
        "stateUpdateTimestamp": t.alarm.state_updated_ms,
        "notificationResource": action,
        "publishedMessage": error.is_none().then(|| t.message().to_string()),
        "error": error,
    });
    let item = HistoryItem {
        alarm: t.alarm.name.clone(),
        at_ms: now_ms,
        item_type: "Action".into(),
        summary: summary.chars().take(255).collect(),
        data: data.to_string(),
    };
    cw.store.add_history(&t.alarm.account, &t.alarm.region, &item)
}
