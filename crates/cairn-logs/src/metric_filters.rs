//! Metric filters at work: each log event a group takes is matched against the group's metric filters, and each
//! match publishes its metric's value, as CloudWatch Logs does.
//!
//! - The value is `metricValue`: a number, or the `$.field` (JSON pattern) or `$field` (space-delimited) it names,
//!   when that is a number in the event; an event without one publishes nothing.
//! - A dimension's value comes from the event the same way; a dimension the event has no value for is left out of
//!   that datapoint.
//! - A filter with a `defaultValue` publishes it once for each minute in which the group took events and the filter
//!   matched none of them.
//! - Values are aggregated per metric and minute, as CloudWatch Logs does before it publishes: one datapoint per
//!   series and minute carries every value with how often it occurred, so percentiles stay exact.

use std::collections::{BTreeMap, BTreeSet};

use cairn_metrics::{Datapoint, Series, Values};
use serde_json::Value;

use crate::pattern::{number, FilterPattern, LogEvent};
use crate::store::{Group, MetricFilter};

/// A metric filter ready to match: its pattern and its (one) transformation.
struct Active {
    pattern: Option<FilterPattern>,
    name: String,
    namespace: String,
    value: String,
    default: Option<f64>,
    dimensions: Vec<(String, String)>,
    unit: Option<String>,
}

fn active(f: &MetricFilter) -> Option<Active> {
    let t: Value = serde_json::from_str(&f.transformations).ok()?;
    let t = t.get(0)?;
    let pattern = if f.pattern.trim().is_empty() { None } else { Some(FilterPattern::parse(&f.pattern).ok()?) };
    let dimensions = t["dimensions"]
        .as_object()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    Some(Active {
        pattern,
        name: t["metricName"].as_str()?.to_string(),
        namespace: t["metricNamespace"].as_str()?.to_string(),
        value: t["metricValue"].as_str()?.to_string(),
        default: t["defaultValue"].as_f64(),
        dimensions,
        unit: t["unit"].as_str().map(str::to_string),
    })
}

/// The datapoints `events` (timestamp, message) publish through `filters` of `group`.
pub(crate) fn datapoints(group: &Group, filters: &[MetricFilter], events: &[(i64, &str)]) -> Vec<Datapoint> {
    let filters: Vec<Active> = filters.iter().filter_map(active).collect();
    let minute = |ts: i64| ts.div_euclid(60_000) * 60_000;
    if filters.is_empty() {
        return Vec::new();
    }
    // (series, minute) -> value bits -> occurrences.
    let mut sums: BTreeMap<(Series, i64), BTreeMap<u64, f64>> = BTreeMap::new();
    let mut add = |series: Series, ts: i64, value: f64| {
        *sums.entry((series, minute(ts))).or_default().entry(value.to_bits()).or_default() += 1.0;
    };
    let minutes: BTreeSet<i64> = events.iter().map(|(ts, _)| minute(*ts)).collect();
    let mut matched: Vec<BTreeSet<i64>> = vec![BTreeSet::new(); filters.len()];
    let series = |f: &Active, dimensions: Vec<(String, String)>| Series {
        account: group.account.clone(),
        region: group.region.clone(),
        namespace: f.namespace.clone(),
        name: f.name.clone(),
        dimensions,
        unit: f.unit.clone(),
    };
    for (ts, message) in events {
        let event = LogEvent::new(message);
        for (i, f) in filters.iter().enumerate() {
            let extracted = match &f.pattern {
                Some(p) => match p.matches_event(&event) {
                    Some(x) => x,
                    None => continue,
                },
                None => Vec::new(),
            };
            matched[i].insert(minute(*ts));
            let value = number(&f.value).or_else(|| event.value(&f.value, &extracted).and_then(|v| number(v.trim())));
            let Some(value) = value else { continue };
            let dimensions =
                f.dimensions.iter().filter_map(|(k, r)| Some((k.clone(), event.value(r, &extracted)?))).collect();
            add(series(f, dimensions), *ts, value);
        }
    }
    for (i, f) in filters.iter().enumerate() {
        let Some(default) = f.default else { continue };
        for m in minutes.difference(&matched[i]) {
            add(series(f, Vec::new()), *m, default);
        }
    }
    sums.into_iter()
        .map(|((series, minute), values)| Datapoint {
            series,
            timestamp_ms: minute,
            values: Values::Counted(values.into_iter().map(|(bits, n)| (f64::from_bits(bits), n)).collect()),
        })
        .collect()
}
