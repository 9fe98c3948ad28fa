//! Metric data: PutMetricData (values, value lists with counts, statistic sets), GetMetricStatistics,
//! GetMetricData (MetricStat queries) and ListMetrics, with CloudWatch's limits.

use cairn_api::wire::Node;
use cairn_api::ApiError;
use cairn_metrics::{Datapoint, MetricId, Series, Values};
use serde_json::Value;

use crate::read::{self, bounded, one_of};
use crate::{
    combination, dimensions, dimensions_node, invalid, next_token, percentile, required, statistic_value,
    token_position, validation, Call, CloudWatch, STATISTICS,
};

/// How far back and ahead a datapoint's timestamp may be.
const PAST_MS: i64 = 14 * 86_400_000;
const FUTURE_MS: i64 = 2 * 3_600_000;
/// Datapoints per PutMetricData request, values per datum, and datapoints per GetMetricStatistics answer.
const MAX_DATA: usize = 1000;
const MAX_VALUES: usize = 150;
const MAX_STATISTICS_POINTS: i64 = 1440;
/// CloudWatch's bounds on values: magnitudes between 2^-360 and 2^360, or zero.
const MAX_MAGNITUDE: f64 = 2.348_542_582_773_833e108;
const MIN_MAGNITUDE: f64 = 4.258_030_798_153_131e-109;

fn check_value(v: f64, member: &str) -> Result<f64, ApiError> {
    let a = v.abs();
    if !v.is_finite() || a > MAX_MAGNITUDE || (a != 0.0 && a < MIN_MAGNITUDE) {
        return Err(invalid(format!("The value {v} for parameter {member} is invalid.")));
    }
    Ok(v)
}

pub(crate) fn put_metric_data(cw: &CloudWatch, call: &Call<'_>, input: &Value) -> Result<(), ApiError> {
    let namespace = required(bounded(input, "Namespace", 1, 255)?, "Namespace")?;
    if namespace.starts_with("AWS/") || namespace.starts_with(':') {
        return Err(invalid(format!("The value {namespace} for parameter Namespace is invalid.")));
    }
    let data = read::list(input, "MetricData")?;
    if data.is_empty() {
        return Err(required(None::<()>, "MetricData").unwrap_err());
    }
    if data.len() > MAX_DATA {
        return Err(invalid(format!("The collection MetricData must not have a size greater than {MAX_DATA}.")));
    }
    let mut points = Vec::with_capacity(data.len());
    for (i, d) in data.iter().enumerate() {
        let at = |m: &str| format!("MetricData.member.{}.{m}", i + 1);
        let name = required(bounded(d, "MetricName", 1, 255)?, &at("MetricName"))?;
        let timestamp = read::timestamp(d, "Timestamp")?.unwrap_or(call.now_ms);
        if timestamp < call.now_ms - PAST_MS || timestamp > call.now_ms + FUTURE_MS {
            return Err(invalid(format!(
                "The parameter {} must specify a time no more than two weeks in the past and no more than two hours in the future.",
                at("Timestamp")
            )));
        }
        let value = read::number(d, "Value")?;
        let set = &d["StatisticValues"];
        let values = read::list(d, "Values")?;
        let counts = read::list(d, "Counts")?;
        let given = [value.is_some(), !set.is_null(), !values.is_empty()].iter().filter(|g| **g).count();
        if given > 1 {
            return Err(combination(format!(
                "The parameters {}, {} and {} are mutually exclusive and you have specified more than one.",
                at("Value"),
                at("StatisticValues"),
                at("Values")
            )));
        }
        let values = if let Some(v) = value {
            Values::One(check_value(v, &at("Value"))?)
        } else if !set.is_null() {
            let member = |m: &str| -> Result<f64, ApiError> {
                let v = required(read::number(set, m)?, &at(&format!("StatisticValues.{m}")))?;
                check_value(v, &at(&format!("StatisticValues.{m}")))
            };
            let (n, sum, lo, hi) = (member("SampleCount")?, member("Sum")?, member("Minimum")?, member("Maximum")?);
            if n <= 0.0 || lo > hi {
                return Err(invalid(format!("The parameter {} is not a valid statistic set.", at("StatisticValues"))));
            }
            Values::Set { sample_count: n, sum, minimum: lo, maximum: hi }
        } else if !values.is_empty() {
            if values.len() > MAX_VALUES {
                return Err(invalid(format!(
                    "The collection {} must not have a size greater than {MAX_VALUES}.",
                    at("Values")
                )));
            }
            if !counts.is_empty() && counts.len() != values.len() {
                return Err(invalid(format!(
                    "The parameters {} and {} must be of the same size.",
                    at("Values"),
                    at("Counts")
                )));
            }
            let num = |v: &Value, m: &str| {
                read::number(&serde_json::json!({ "v": v }), "v")?.ok_or_else(|| invalid(m.to_string()))
            };
            let mut pairs = Vec::with_capacity(values.len());
            for (j, v) in values.iter().enumerate() {
                let v = check_value(num(v, &at("Values"))?, &at("Values"))?;
                let c = match counts.get(j) {
                    Some(c) => num(c, &at("Counts"))?,
                    None => 1.0,
                };
                if !(c.is_finite() && c >= 0.0) {
                    return Err(invalid(format!("The parameter {} must hold counts of zero or more.", at("Counts"))));
                }
                pairs.push((v, c));
            }
            Values::Counted(pairs)
        } else {
            return Err(combination(format!(
                "One of the parameters {}, {} or {} must be specified.",
                at("Value"),
                at("StatisticValues"),
                at("Values")
            )));
        };
        if let Some(r) = read::integer(d, "StorageResolution")? {
            if r != 1 && r != 60 {
                return Err(invalid(format!("The parameter {} must be 1 or 60.", at("StorageResolution"))));
            }
        }
        points.push(Datapoint {
            series: Series {
                account: call.account.to_string(),
                region: call.region.to_string(),
                namespace: namespace.to_string(),
                name: name.to_string(),
                dimensions: dimensions(d, "Dimensions")?,
                unit: one_of(d, "Unit", &cairn_metrics::UNITS)?.map(str::to_string).filter(|u| u != "None"),
            },
            timestamp_ms: timestamp,
            values,
        });
    }
    cw.metrics.put(&points).map_err(crate::Error::from)?;
    Ok(())
}

/// A metric named by a request: `Namespace`, `MetricName`, `Dimensions`.
fn metric(call: &Call<'_>, v: &Value, prefix: &str) -> Result<MetricId, ApiError> {
    Ok(MetricId {
        account: call.account.to_string(),
        region: call.region.to_string(),
        namespace: required(bounded(v, "Namespace", 1, 255)?, &format!("{prefix}Namespace"))?.to_string(),
        name: required(bounded(v, "MetricName", 1, 255)?, &format!("{prefix}MetricName"))?.to_string(),
        dimensions: dimensions(v, "Dimensions")?,
    })
}

fn period(v: &Value, member: &str) -> Result<i64, ApiError> {
    let p = required(read::integer(v, "Period")?, member)?;
    if p < 60 || p % 60 != 0 {
        return Err(invalid(format!(
            "The parameter {member} must be a multiple of 60 (cairn keeps metrics at 1-minute resolution)."
        )));
    }
    Ok(p)
}

pub(crate) fn get_metric_statistics(cw: &CloudWatch, call: &Call<'_>, input: &Value) -> Result<Node, ApiError> {
    let metric = metric(call, input, "")?;
    let start = required(read::timestamp(input, "StartTime")?, "StartTime")?;
    let end = required(read::timestamp(input, "EndTime")?, "EndTime")?;
    let period = period(input, "Period")?;
    let statistics = read::texts(input, "Statistics")?;
    let extended = read::texts(input, "ExtendedStatistics")?;
    let unit = one_of(input, "Unit", &cairn_metrics::UNITS)?;
    if statistics.is_empty() && extended.is_empty() {
        return Err(combination("Must specify either Statistics or ExtendedStatistics"));
    }
    if statistics.len() > 5 || extended.len() > 10 {
        return Err(validation(
            "1 validation error detected: Value at 'statistics' failed to satisfy constraint: Member must have length less than or equal to 5",
        ));
    }
    for s in &statistics {
        if !STATISTICS.contains(&s.as_str()) {
            return Err(validation(format!(
                "1 validation error detected: Value '[{s}]' at 'statistics' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [{}]]",
                STATISTICS.join(", ")
            )));
        }
    }
    for e in &extended {
        if percentile(e).is_none() {
            return Err(invalid(format!("The value {e} for parameter ExtendedStatistics is not supported.")));
        }
    }
    if start >= end {
        return Err(invalid("The parameter StartTime must be less than the parameter EndTime."));
    }
    let requested = (end - start).div_euclid(period * 1000) + 1;
    if requested > MAX_STATISTICS_POINTS {
        return Err(combination(format!(
            "You have requested up to {requested} datapoints, which exceeds the limit of {MAX_STATISTICS_POINTS}. \
             You may reduce the datapoints requested by increasing Period, or decreasing the time range."
        )));
    }
    let periods = cw
        .metrics
        .periods(&metric, unit, start, end, period, call.now_ms, !extended.is_empty())
        .map_err(crate::Error::from)?;
    let points: Vec<Node> = periods
        .iter()
        .map(|p| {
            let mut n = Node::object().with("Timestamp", Node::Time(p.start_ms));
            for s in &statistics {
                n = n.with(s, statistic_value(s, p));
            }
            n = n.with("Unit", p.unit.clone().or(unit.map(str::to_string)).unwrap_or_else(|| "None".into()));
            if !extended.is_empty() {
                let map =
                    extended.iter().filter_map(|e| Some((e.clone(), Node::Float(statistic_value(e, p)?)))).collect();
                n = n.with("ExtendedStatistics", Node::Map(map));
            }
            n
        })
        .collect();
    Ok(Node::object().with("Label", metric.name).with("Datapoints", Node::List(points)))
}

pub(crate) fn get_metric_data(cw: &CloudWatch, call: &Call<'_>, input: &Value) -> Result<Node, ApiError> {
    let queries = read::list(input, "MetricDataQueries")?;
    if queries.is_empty() {
        return Err(required(None::<()>, "MetricDataQueries").unwrap_err());
    }
    if queries.len() > 500 {
        return Err(invalid("The collection MetricDataQueries must not have a size greater than 500."));
    }
    let start = required(read::timestamp(input, "StartTime")?, "StartTime")?;
    let end = required(read::timestamp(input, "EndTime")?, "EndTime")?;
    if start >= end {
        return Err(invalid("The parameter StartTime must be less than the parameter EndTime."));
    }
    let ascending =
        one_of(input, "ScanBy", &["TimestampDescending", "TimestampAscending"])? == Some("TimestampAscending");
    let max = read::integer(input, "MaxDatapoints")?.unwrap_or(100_800).max(1) as usize;
    let skip = token_position("cwd", input)?;
    let mut ids = Vec::new();
    let mut results = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        let at = |m: &str| format!("MetricDataQueries.member.{}.{m}", i + 1);
        let id = required(bounded(q, "Id", 1, 255)?, &at("Id"))?;
        let mut chars = id.chars();
        if !chars.next().is_some_and(|c| c.is_ascii_lowercase())
            || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(validation(format!(
                "The value {id} for parameter {} is not valid: it must start with a lowercase letter and hold only letters, digits and underscores.",
                at("Id")
            )));
        }
        if ids.contains(&id) {
            return Err(validation(format!("The value {id} for parameter MetricDataQueries.member.Id is duplicated.")));
        }
        ids.push(id);
        if read::text(q, "Expression")?.is_some() {
            return Err(invalid(format!(
                "cairn does not evaluate metric math: {} must be a MetricStat query.",
                at("Expression")
            )));
        }
        let stat_query = &q["MetricStat"];
        if stat_query.is_null() {
            return Err(combination(format!(
                "Exactly one of {} and {} must be specified.",
                at("MetricStat"),
                at("Expression")
            )));
        }
        let metric = metric(call, &stat_query["Metric"], &at("MetricStat.Metric."))?;
        let period = period(stat_query, &at("MetricStat.Period"))?;
        let stat = required(read::text(stat_query, "Stat")?, &at("MetricStat.Stat"))?;
        if !STATISTICS.contains(&stat) && percentile(stat).is_none() {
            return Err(invalid(format!("The value {stat} for parameter {} is not supported.", at("MetricStat.Stat"))));
        }
        let unit = one_of(stat_query, "Unit", &cairn_metrics::UNITS)?;
        if read::boolean(q, "ReturnData")? == Some(false) {
            continue;
        }
        let periods = cw
            .metrics
            .periods(&metric, unit, start, end, period, call.now_ms, percentile(stat).is_some())
            .map_err(crate::Error::from)?;
        let mut points: Vec<(i64, f64)> =
            periods.iter().filter_map(|p| Some((p.start_ms, statistic_value(stat, p)?))).collect();
        if !ascending {
            points.reverse();
        }
        let label = read::text(q, "Label")?.map_or_else(|| metric.name.clone(), str::to_string);
        results.push((id.to_string(), label, points));
    }
    // Pages run across the results in order: `skip` datapoints were answered before.
    let (mut skipped, mut budget, mut out, mut more) = (0usize, max, Vec::new(), false);
    for (id, label, points) in results {
        let from = skip.saturating_sub(skipped).min(points.len());
        skipped += points.len();
        let take = (points.len() - from).min(budget);
        budget -= take;
        let page = &points[from..from + take];
        if from + take < points.len() {
            more = true;
        }
        if from == points.len() && !points.is_empty() {
            continue;
        }
        out.push(
            Node::object()
                .with("Id", id)
                .with("Label", label)
                .with("Timestamps", Node::list(page.iter().map(|(t, _)| Node::Time(*t))))
                .with("Values", Node::list(page.iter().map(|(_, v)| *v)))
                .with("StatusCode", if from + take < points.len() { "PartialData" } else { "Complete" }),
        );
    }
    let next = more.then(|| next_token("cwd", skip + (max - budget)));
    Ok(Node::object()
        .with("MetricDataResults", Node::List(out))
        .with("Messages", Node::List(Vec::new()))
        .with("NextToken", next))
}

pub(crate) fn list_metrics(cw: &CloudWatch, call: &Call<'_>, input: &Value) -> Result<Node, ApiError> {
    let namespace = bounded(input, "Namespace", 1, 255)?;
    let name = bounded(input, "MetricName", 1, 255)?;
    let mut filters = Vec::new();
    for d in read::at_most(input, "Dimensions", 10)? {
        let n = required(bounded(d, "Name", 1, 255)?, "Dimensions.member.N.Name")?;
        filters.push((n.to_string(), bounded(d, "Value", 1, 1024)?.map(str::to_string)));
    }
    let active = one_of(input, "RecentlyActive", &["PT3H"])?.map(|_| call.now_ms - 3 * 3_600_000);
    let from = token_position("cwm", input)?;
    let metrics =
        cw.metrics.list(call.account, call.region, namespace, name, &filters, active).map_err(crate::Error::from)?;
    const PAGE: usize = 500;
    let page: Vec<Node> = metrics
        .iter()
        .skip(from)
        .take(PAGE)
        .map(|m| {
            Node::object()
                .with("Namespace", m.namespace.as_str())
                .with("MetricName", m.name.as_str())
                .with("Dimensions", dimensions_node(&m.dimensions))
        })
        .collect();
    let next = (from + page.len() < metrics.len()).then(|| next_token("cwm", from + page.len()));
    Ok(Node::object().with("Metrics", Node::List(page)).with("NextToken", next))
}
