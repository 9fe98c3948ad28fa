//! Metric alarms' configuration: PutMetricAlarm with CloudWatch's checks, DescribeAlarms, DescribeAlarmsForMetric,
//! DeleteAlarms, DescribeAlarmHistory, Enable/DisableAlarmActions and the tagging operations.

use cairn_api::wire::Node;
use cairn_api::{ApiError, ErrorCode};
use serde_json::{json, Value};

use crate::evaluate::{Comparison, Missing, Rule, State};
use crate::read::{self, bounded, one_of};
use crate::store::{HistoryItem, StoredAlarm};
use crate::{
    alarm_arn, combination, dimensions, dimensions_node, invalid, next_token, percentile, plus_zero, required,
    token_position, validation, Call, CloudWatch, STATISTICS,
};

/// Anomaly-detection operators: they need a ThresholdMetricId and metric math, which cairn does not evaluate.
const BAND_OPERATORS: [&str; 3] =
    ["LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold"];

/// An alarm's configuration, as checked by PutMetricAlarm.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub name: String,
    pub description: Option<String>,
    pub actions_enabled: bool,
    pub ok_actions: Vec<String>,
    pub alarm_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
    pub statistic: Option<String>,
    pub extended_statistic: Option<String>,
    pub period: i64,
    pub unit: Option<String>,
    pub evaluation_periods: i64,
    pub datapoints_to_alarm: Option<i64>,
    pub threshold: f64,
    pub comparison: String,
    pub treat_missing_data: Option<String>,
    pub evaluate_low_sample_count_percentile: Option<String>,
}

impl Config {
    /// PutMetricAlarm's input, checked as CloudWatch checks it.
    fn parse(input: &Value) -> Result<Config, ApiError> {
        let name = required(bounded(input, "AlarmName", 1, 255)?, "AlarmName")?;
        if name.chars().any(|c| c.is_control()) {
            return Err(invalid("The parameter AlarmName must not contain control characters."));
        }
        if !read::list(input, "Metrics")?.is_empty() || read::text(input, "ThresholdMetricId")?.is_some() {
            return Err(invalid(
                "cairn does not evaluate metric math alarms (Metrics, ThresholdMetricId): give MetricName, Namespace and a statistic.",
            ));
        }
        let actions = |member: &str| -> Result<Vec<String>, ApiError> {
            read::at_most(input, member, 5)?;
            let list = read::texts(input, member)?;
            for a in &list {
                if !a.starts_with("arn:") || a.len() > 1024 {
                    return Err(invalid(format!("Invalid arn syntax: {a}")));
                }
            }
            Ok(list)
        };
        let statistic = one_of(input, "Statistic", &STATISTICS)?.map(str::to_string);
        let extended = read::text(input, "ExtendedStatistic")?.map(str::to_string);
        match (&statistic, &extended) {
            (Some(_), Some(_)) => {
                return Err(combination("Exactly one of Statistic and ExtendedStatistic must be specified, not both."))
            }
            (None, None) => {
                return Err(combination("Exactly one of Statistic and ExtendedStatistic must be specified."))
            }
            _ => {}
        }
        if let Some(e) = extended.as_deref().filter(|e| percentile(e).is_none()) {
            return Err(invalid(format!("The value {e} for parameter ExtendedStatistic is not supported.")));
        }
        let period = required(read::integer(input, "Period")?, "Period")?;
        if period < 60 || period % 60 != 0 {
            return Err(invalid(if [10, 20, 30].contains(&period) {
                "cairn keeps metrics at 1-minute resolution: Period must be a multiple of 60.".to_string()
            } else {
                "Period must be 10, 20, 30 or a multiple of 60".to_string()
            }));
        }
        let evaluation_periods = required(read::integer(input, "EvaluationPeriods")?, "EvaluationPeriods")?;
        if evaluation_periods < 1 {
            return Err(validation(format!(
                "1 validation error detected: Value '{evaluation_periods}' at 'evaluationPeriods' failed to satisfy constraint: Member must have value greater than or equal to 1"
            )));
        }
        let (limit, span) = if period < 3600 { (86_400, "a day") } else { (604_800, "7 days") };
        if period.saturating_mul(evaluation_periods) > limit {
            return Err(validation(format!(
                "Metrics cannot be checked across more than {span} (EvaluationPeriods * Period must be <= {limit})."
            )));
        }
        let datapoints_to_alarm = read::integer(input, "DatapointsToAlarm")?;
        if let Some(m) = datapoints_to_alarm {
            if m < 1 || m > evaluation_periods {
                return Err(validation("DatapointsToAlarm must be less than or equal to EvaluationPeriods"));
            }
        }
        let comparison = required(read::text(input, "ComparisonOperator")?, "ComparisonOperator")?;
        if BAND_OPERATORS.contains(&comparison) {
            return Err(combination(format!("{comparison} needs ThresholdMetricId, which cairn does not evaluate.")));
        }
        let mut operators: Vec<&str> = Comparison::NAMES.to_vec();
        operators.extend(BAND_OPERATORS);
        one_of(input, "ComparisonOperator", &operators)?;
        let threshold = required(read::number(input, "Threshold")?, "Threshold")?;
        let treat = one_of(input, "TreatMissingData", &Missing::NAMES)?.map(str::to_string);
        let low = one_of(input, "EvaluateLowSampleCountPercentile", &["evaluate", "ignore"])?.map(str::to_string);
        if low.is_some() && extended.is_none() {
            return Err(combination(
                "EvaluateLowSampleCountPercentile applies only to alarms on an ExtendedStatistic.",
            ));
        }
        let namespace = required(bounded(input, "Namespace", 1, 255)?, "Namespace")?;
        Ok(Config {
            name: name.to_string(),
            description: bounded(input, "AlarmDescription", 0, 1024)?.map(str::to_string),
            actions_enabled: read::boolean(input, "ActionsEnabled")?.unwrap_or(true),
            ok_actions: actions("OKActions")?,
            alarm_actions: actions("AlarmActions")?,
            insufficient_data_actions: actions("InsufficientDataActions")?,
            namespace: namespace.to_string(),
            metric_name: required(bounded(input, "MetricName", 1, 255)?, "MetricName")?.to_string(),
            dimensions: dimensions(input, "Dimensions")?,
            statistic,
            extended_statistic: extended,
            period,
            unit: one_of(input, "Unit", &cairn_metrics::UNITS)?.map(str::to_string),
            evaluation_periods,
            datapoints_to_alarm,
            threshold,
            comparison: comparison.to_string(),
            treat_missing_data: treat,
            evaluate_low_sample_count_percentile: low,
        })
    }

    /// The stored form: the API's member names.
    pub fn to_value(&self) -> Value {
        json!({
            "AlarmName": self.name,
            "AlarmDescription": self.description,
            "ActionsEnabled": self.actions_enabled,
            "OKActions": self.ok_actions,
            "AlarmActions": self.alarm_actions,
            "InsufficientDataActions": self.insufficient_data_actions,
            "Namespace": self.namespace,
            "MetricName": self.metric_name,
            "Dimensions": self.dimensions.iter().map(|(n, v)| json!({"Name": n, "Value": v})).collect::<Vec<_>>(),
            "Statistic": self.statistic,
            "ExtendedStatistic": self.extended_statistic,
            "Period": self.period,
            "Unit": self.unit,
            "EvaluationPeriods": self.evaluation_periods,
            "DatapointsToAlarm": self.datapoints_to_alarm,
            "Threshold": self.threshold,
            "ComparisonOperator": self.comparison,
            "TreatMissingData": self.treat_missing_data,
            "EvaluateLowSampleCountPercentile": self.evaluate_low_sample_count_percentile,
        })
    }

    /// The configuration of a stored alarm (written by [`Config::to_value`]).
    pub fn from_value(v: &Value) -> Config {
        let s = |k: &str| v[k].as_str().map(str::to_string);
        let list = |k: &str| -> Vec<String> {
            v[k].as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        Config {
            name: s("AlarmName").unwrap_or_default(),
            description: s("AlarmDescription"),
            actions_enabled: v["ActionsEnabled"].as_bool().unwrap_or(true),
            ok_actions: list("OKActions"),
            alarm_actions: list("AlarmActions"),
            insufficient_data_actions: list("InsufficientDataActions"),
            namespace: s("Namespace").unwrap_or_default(),
            metric_name: s("MetricName").unwrap_or_default(),
            dimensions: v["Dimensions"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|d| Some((d["Name"].as_str()?.to_string(), d["Value"].as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            statistic: s("Statistic"),
            extended_statistic: s("ExtendedStatistic"),
            period: v["Period"].as_i64().unwrap_or(60),
            unit: s("Unit"),
            evaluation_periods: v["EvaluationPeriods"].as_i64().unwrap_or(1),
            datapoints_to_alarm: v["DatapointsToAlarm"].as_i64(),
            threshold: v["Threshold"].as_f64().unwrap_or_default(),
            comparison: s("ComparisonOperator").unwrap_or_default(),
            treat_missing_data: s("TreatMissingData"),
            evaluate_low_sample_count_percentile: s("EvaluateLowSampleCountPercentile"),
        }
    }

    pub fn rule(&self) -> Rule {
        Rule {
            comparison: Comparison::parse(&self.comparison).unwrap_or(Comparison::GreaterThanOrEqual),
            threshold: self.threshold,
            evaluation_periods: self.evaluation_periods.max(1) as usize,
            datapoints_to_alarm: self.datapoints_to_alarm.map(|m| m.max(1) as usize),
            missing: self.treat_missing_data.as_deref().and_then(Missing::parse).unwrap_or(Missing::Missing),
        }
    }

    /// The statistic the alarm compares: one of the five, or a percentile.
    pub fn stat(&self) -> &str {
        self.statistic.as_deref().or(self.extended_statistic.as_deref()).unwrap_or("Sum")
    }

    /// The actions for a state.
    pub fn actions_for(&self, state: State) -> &[String] {
        match state {
            State::Ok => &self.ok_actions,
            State::Alarm => &self.alarm_actions,
            State::InsufficientData => &self.insufficient_data_actions,
        }
    }
}

/// An alarm as DescribeAlarms answers it (`MetricAlarm`).
pub(crate) fn alarm_node(a: &StoredAlarm) -> Node {
    let c = Config::from_value(&a.config);
    Node::object()
        .with("AlarmName", a.name.as_str())
        .with("AlarmArn", alarm_arn(&a.region, &a.account, &a.name))
        .with("AlarmDescription", c.description.clone())
        .with("AlarmConfigurationUpdatedTimestamp", Node::Time(a.config_updated_ms))
        .with("ActionsEnabled", c.actions_enabled)
        .with("OKActions", Node::list(c.ok_actions.clone()))
        .with("AlarmActions", Node::list(c.alarm_actions.clone()))
        .with("InsufficientDataActions", Node::list(c.insufficient_data_actions.clone()))
        .with("StateValue", a.state.as_str())
        .with("StateReason", a.reason.as_str())
        .with("StateReasonData", a.reason_data.clone())
        .with("StateUpdatedTimestamp", Node::Time(a.state_updated_ms))
        .with("MetricName", c.metric_name.as_str())
        .with("Namespace", c.namespace.as_str())
        .with("Statistic", c.statistic.clone())
        .with("ExtendedStatistic", c.extended_statistic.clone())
        .with("Dimensions", dimensions_node(&c.dimensions))
        .with("Period", c.period)
        .with("Unit", c.unit.clone())
        .with("EvaluationPeriods", c.evaluation_periods)
        .with("DatapointsToAlarm", c.datapoints_to_alarm)
        .with("Threshold", c.threshold)
        .with("ComparisonOperator", c.comparison.as_str())
        .with("TreatMissingData", c.treat_missing_data.clone())
        .with("EvaluateLowSampleCountPercentile", c.evaluate_low_sample_count_percentile.clone())
        .with("StateTransitionedTimestamp", Node::Time(a.transitioned_ms))
}

/// The configuration as alarm history writes it: lower camel case members.
fn history_config(a: &StoredAlarm) -> Value {
    let c = Config::from_value(&a.config);
    json!({
        "alarmName": c.name,
        "alarmDescription": c.description,
        "alarmConfigurationUpdatedTimestamp": plus_zero(a.config_updated_ms),
        "namespace": c.namespace,
        "metricName": c.metric_name,
        "dimensions": c.dimensions.iter().map(|(n, v)| json!({"value": v, "name": n})).collect::<Vec<_>>(),
        "statistic": c.statistic,
        "extendedStatistic": c.extended_statistic,
        "period": c.period,
        "unit": c.unit,
        "threshold": c.threshold,
        "comparisonOperator": c.comparison,
        "evaluationPeriods": c.evaluation_periods,
        "datapointsToAlarm": c.datapoints_to_alarm,
        "treatMissingData": c.treat_missing_data,
        "stateValue": a.state,
        "stateUpdatedTimestamp": plus_zero(a.state_updated_ms),
        "actionsEnabled": c.actions_enabled,
        "alarmActions": c.alarm_actions,
        "insufficientDataActions": c.insufficient_data_actions,
        "okactions": c.ok_actions,
    })
}

fn tag_list(input: &Value) -> Result<Vec<(String, String)>, ApiError> {
    let mut tags = Vec::new();
    for t in read::list(input, "Tags")? {
        let key = required(bounded(t, "Key", 1, 128)?, "Tags.member.N.Key")?;
        let value = required(bounded(t, "Value", 0, 256)?, "Tags.member.N.Value")?;
        if key.starts_with("aws:") {
            return Err(invalid("Tag keys must not begin with aws:"));
        }
        tags.push((key.to_string(), value.to_string()));
    }
    if tags.len() > 50 {
        return Err(invalid("A resource can have at most 50 tags."));
    }
    Ok(tags)
}

pub(crate) fn put_metric_alarm(cw: &CloudWatch, call: &Call<'_>, input: &Value) -> Result<(), ApiError> {
    let config = Config::parse(input)?;
    let tags = tag_list(input)?;
    let existing = cw.store.alarm(call.account, call.region, &config.name)?;
    let now = call.now_ms;
    let alarm = match &existing {
        Some(e) => StoredAlarm { config: config.to_value(), config_updated_ms: now, ..e.clone() },
        None => StoredAlarm {
            account: call.account.to_string(),
            region: call.region.to_string(),
            name: config.name.clone(),
            config: config.to_value(),
            config_updated_ms: now,
            state: State::InsufficientData.as_str().to_string(),
            reason: "Unchecked: Initial alarm creation".to_string(),
            reason_data: None,
            state_updated_ms: now,
            transitioned_ms: now,
        },
    };
    let (verb, kind, member) =
        if existing.is_some() { ("updated", "Update", "updatedAlarm") } else { ("created", "Create", "createdAlarm") };
    let history = HistoryItem {
        alarm: config.name.clone(),
        at_ms: now,
        item_type: "ConfigurationUpdate".into(),
        summary: format!("Alarm \"{}\" {verb}", config.name),
        data: json!({"version": "1.0", "type": kind, member: history_config(&alarm)}).to_string(),
    };
    cw.store.put_alarm(&alarm, &history)?;
    if existing.is_none() && !tags.is_empty() {
        cw.store.retag(&alarm_arn(call.region, call.account, &config.name), &tags, &[])?;
    }
    Ok(())
}

pub(crate) fn describe_alarms(cw: &CloudWatch, call: &Call<'_>, input: &Value) -> Result<Node, ApiError> {
    read::at_most(input, "AlarmNames", 100)?;
    let names = read::texts(input, "AlarmNames")?;
    let prefix = bounded(input, "AlarmNamePrefix", 1, 255)?;
    if !names.is_empty() && prefix.is_some() {
        return Err(combination("AlarmNames and AlarmNamePrefix cannot be given together."));
    }
    let state = one_of(input, "StateValue", &["OK", "ALARM", "INSUFFICIENT_DATA"])?;
    let action_prefix = bounded(input, "ActionPrefix", 1, 1024)?;
    let types = read::texts(input, "AlarmTypes")?;
    for t in &types {
        if !["CompositeAlarm", "MetricAlarm", "LogAlarm"].contains(&t.as_str()) {
            return Err(validation(format!(
                "1 validation error detected: Value '{t}' at 'alarmTypes' failed to satisfy constraint: Member must satisfy enum value set: [CompositeAlarm, MetricAlarm, LogAlarm]"
            )));
        }
    }
    if read::text(input, "ChildrenOfAlarmName")?.is_some() || read::text(input, "ParentsOfAlarmName")?.is_some() {
        // cairn has no composite alarms: no alarm has children or parents.
        return Ok(Node::object()
            .with("MetricAlarms", Node::List(Vec::new()))
            .with("CompositeAlarms", Node::List(Vec::new())));
    }
    let max = read::integer(input, "MaxRecords")?.unwrap_or(50);
    if !(1..=100).contains(&max) {
        return Err(validation(format!(
            "1 validation error detected: Value '{max}' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and 100"
        )));
    }
    let start = token_position("cwa", input)?;
    let metric = types.is_empty() || types.iter().any(|t| t == "MetricAlarm");
    let alarms: Vec<StoredAlarm> =
        if metric { cw.store.alarms(Some((call.account, call.region)))? } else { Vec::new() };
    let selected: Vec<&StoredAlarm> = alarms
        .iter()
        .filter(|a| names.is_empty() || names.contains(&a.name))
        .filter(|a| prefix.is_none_or(|p| a.name.starts_with(p)))
        .filter(|a| state.is_none_or(|s| a.state == s))
        .filter(|a| {
            action_prefix.is_none_or(|p| {
                let c = Config::from_value(&a.config);
                c.ok_actions
                    .iter()
                    .chain(&c.alarm_actions)
                    .chain(&c.insufficient_data_actions)
                    .any(|x| x.starts_with(p))
            })
        })
        .collect();
    let page: Vec<Node> = selected.iter().skip(start).take(max as usize).map(|a| alarm_node(a)).collect();
    let next = (start + page.len() < selected.len()).then(|| next_token("cwa", start + page.len()));
    let mut out = Node::object().with("MetricAlarms", Node::List(page));
    if types.iter().any(|t| t == "CompositeAlarm") {
        out = out.with("CompositeAlarms", Node::List(Vec::new()));
    }
    Ok(out.with("NextToken", next))
}

pub(crate) fn describe_alarms_for_metric(cw: &CloudWatch, call: &Call<'_>, input: &Value) -> Result<Node, ApiError> {
    let name = required(bounded(input, "MetricName", 1, 255)?, "MetricName")?;
    let namespace = required(bounded(input, "Namespace", 1, 255)?, "Namespace")?;
    let statistic = one_of(input, "Statistic", &STATISTICS)?;
    let extended = read::text(input, "ExtendedStatistic")?;
    let dims = dimensions(input, "Dimensions")?;
    let period = read::integer(input, "Period")?;
    let unit = one_of(input, "Unit", &cairn_metrics::UNITS)?;
    let alarms: Vec<Node> = cw
        .store
        .alarms(Some((call.account, call.region)))?
        .iter()
        .filter(|a| {
            let c = Config::from_value(&a.config);
            c.metric_name == name
                && c.namespace == namespace
                && statistic.is_none_or(|s| c.statistic.as_deref() == Some(s))
                && extended.is_none_or(|s| c.extended_statistic.as_deref() == Some(s))
                && (input["Dimensions"].is_null() || c.dimensions == dims)
                && period.is_none_or(|p| c.period == p)
                && unit.is_none_or(|u| c.unit.as_deref() == Some(u))
        })
        .map(alarm_node)
        .collect();
    Ok(Node::object().with("MetricAlarms", Node::List(alarms)))
}

pub(crate) fn delete_alarms(cw: &CloudWatch, call: &Call<'_>, input: &Value) -> Result<(), ApiError> {
    read::at_most(input, "AlarmNames", 100)?;
    let names = read::texts(input, "AlarmNames")?;
    if input["AlarmNames"].is_null() {
        return Err(required(None::<()>, "AlarmNames").unwrap_err());
    }
    let missing = cw.store.delete_alarms(call.account, call.region, &names)?;
    if !missing.is_empty() {
        return Err(ApiError::new(ErrorCode::CwResourceNotFound, format!("{} does not exist", missing.join(", "))));
    }
    for n in &names {
        let item = HistoryItem {
            alarm: n.clone(),
            at_ms: call.now_ms,
            item_type: "ConfigurationUpdate".into(),
            summary: format!("Alarm \"{n}\" deleted"),
            data: json!({"version": "1.0", "type": "Delete", "deletedAlarm": {"alarmName": n}}).to_string(),
        };
        cw.store.add_history(call.account, call.region, &item)?;
    }
    Ok(())
}

pub(crate) fn describe_alarm_history(cw: &CloudWatch, call: &Call<'_>, input: &Value) -> Result<Node, ApiError> {
    let alarm = bounded(input, "AlarmName", 1, 255)?;
    let item_type = one_of(
        input,
        "HistoryItemType",
        &["ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate", "AlarmContributorAction"],
    )?;
    let start = read::timestamp(input, "StartDate")?.unwrap_or(i64::MIN);
    let end = read::timestamp(input, "EndDate")?.unwrap_or(i64::MAX);
    let ascending =
        one_of(input, "ScanBy", &["TimestampDescending", "TimestampAscending"])? == Some("TimestampAscending");
    let max = read::integer(input, "MaxRecords")?.unwrap_or(100);
    if !(1..=100).contains(&max) {
        return Err(validation(format!(
            "1 validation error detected: Value '{max}' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and 100"
        )));
    }
    let types = read::texts(input, "AlarmTypes")?;
    let from = token_position("cwh", input)?;
    let items = if types.is_empty() || types.iter().any(|t| t == "MetricAlarm") {
        cw.store.history(call.account, call.region, alarm, item_type, (start, end), ascending)?
    } else {
        Vec::new()
    };
    let page: Vec<Node> = items
        .iter()
        .skip(from)
        .take(max as usize)
        .map(|h| {
            Node::object()
                .with("AlarmName", h.alarm.as_str())
                .with("AlarmType", "MetricAlarm")
                .with("Timestamp", Node::Time(h.at_ms))
                .with("HistoryItemType", h.item_type.as_str())
                .with("HistorySummary", h.summary.as_str())
                .with("HistoryData", h.data.as_str())
        })
        .collect();
    let next = (from + page.len() < items.len()).then(|| next_token("cwh", from + page.len()));
    Ok(Node::object().with("AlarmHistoryItems", Node::List(page)).with("NextToken", next))
}

pub(crate) fn set_actions_enabled(
    cw: &CloudWatch,
    call: &Call<'_>,
    input: &Value,
    enabled: bool,
) -> Result<(), ApiError> {
    read::at_most(input, "AlarmNames", 100)?;
    for name in read::texts(input, "AlarmNames")? {
        // Names of alarms that do not exist are ignored, as CloudWatch ignores them.
        if let Some(mut a) = cw.store.alarm(call.account, call.region, &name)? {
            a.config["ActionsEnabled"] = Value::Bool(enabled);
            cw.store.set_config(&a)?;
        }
    }
    Ok(())
}

/// The alarm an ARN names, or CloudWatch's ResourceNotFoundException.
fn tagged_alarm(cw: &CloudWatch, call: &Call<'_>, input: &Value) -> Result<String, ApiError> {
    let arn = required(bounded(input, "ResourceARN", 1, 1024)?, "ResourceARN")?;
    let prefix = format!("arn:aws:cloudwatch:{}:{}:alarm:", call.region, call.account);
    let found = match arn.strip_prefix(&prefix) {
        Some(name) => cw.store.alarm(call.account, call.region, name)?.is_some(),
        None if arn.starts_with("arn:aws:cloudwatch:") => false,
        None => return Err(invalid(format!("Invalid ARN: {arn}"))),
    };
    if !found {
        return Err(ApiError::new(ErrorCode::ResourceNotFound, format!("Alarm {arn} does not exist")));
    }
    Ok(arn.to_string())
}

pub(crate) fn tag_resource(cw: &CloudWatch, call: &Call<'_>, input: &Value) -> Result<Node, ApiError> {
    let arn = tagged_alarm(cw, call, input)?;
    let tags = tag_list(input)?;
    let existing = cw.store.tags(&arn)?;
    let keys: std::collections::BTreeSet<&str> =
        existing.iter().map(|(k, _)| k.as_str()).chain(tags.iter().map(|(k, _)| k.as_str())).collect();
    if keys.len() > 50 {
        return Err(invalid("A resource can have at most 50 tags."));
    }
    cw.store.retag(&arn, &tags, &[])?;
    Ok(Node::object())
}

pub(crate) fn untag_resource(cw: &CloudWatch, call: &Call<'_>, input: &Value) -> Result<Node, ApiError> {
    let arn = tagged_alarm(cw, call, input)?;
    let keys = read::texts(input, "TagKeys")?;
    cw.store.retag(&arn, &[], &keys)?;
    Ok(Node::object())
}

pub(crate) fn list_tags_for_resource(cw: &CloudWatch, call: &Call<'_>, input: &Value) -> Result<Node, ApiError> {
    let arn = tagged_alarm(cw, call, input)?;
    let tags = cw.store.tags(&arn)?;
    Ok(Node::object()
        .with("Tags", Node::list(tags.into_iter().map(|(k, v)| Node::object().with("Key", k).with("Value", v)))))
}
