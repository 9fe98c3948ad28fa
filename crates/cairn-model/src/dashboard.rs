//! A CloudTrail Lake dashboard: widgets that are Lake queries with parameters, refreshed on demand or on a
//! schedule, with the rules AWS applies to names, widgets and schedules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Dashboards an account may have in a region.
pub const MAX_DASHBOARDS_PER_REGION: usize = 100;
/// Widgets of one dashboard.
pub const MAX_WIDGETS: usize = 10;
/// The name of the managed Highlights dashboard.
pub const HIGHLIGHTS: &str = "AWSCloudTrail-Highlights";
pub const CUSTOM: &str = "CUSTOM";
pub const MANAGED: &str = "MANAGED";
/// The parameters a widget's statement may name, bound at each refresh.
pub const START_TIME: &str = "$StartTime$";
pub const END_TIME: &str = "$EndTime$";
pub const PERIOD: &str = "$Period$";
pub const EVENT_DATA_STORE_ID: &str = "$EventDataStoreId$";
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// One widget: a statement with `?` placeholders, the values bound to them in order, and how it is drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Widget {
    pub query_statement: String,
    #[serde(default)]
    pub query_parameters: Vec<String>,
    #[serde(default)]
    pub view_properties: BTreeMap<String, String>,
    /// The query alias of a managed widget (cairn's Highlights queries).
    #[serde(default)]
    pub query_alias: Option<String>,
}

/// When a dashboard refreshes itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RefreshSchedule {
    pub frequency: Option<Frequency>,
    pub status: Option<String>,
    pub time_of_day: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Frequency {
    pub unit: Option<String>,
    pub value: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub account_id: String,
    pub region: String,
    pub name: String,
    /// `CUSTOM` or `MANAGED`.
    pub kind: String,
    pub widgets: Vec<Widget>,
    pub refresh_schedule: Option<RefreshSchedule>,
    pub termination_protection_enabled: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub last_refresh_id: Option<String>,
    pub last_refresh_ms: Option<i64>,
    pub last_refresh_failure: Option<String>,
}

impl Dashboard {
    pub fn arn(&self) -> String {
        dashboard_arn(&self.region, &self.account_id, &self.name)
    }
}

pub fn dashboard_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{account}:dashboard/{name}")
}

/// A dashboard name: 3 to 128 letters, digits, `_` and `-`.
pub fn validate_dashboard_name(name: &str) -> Result<()> {
    let ok =
        (3..=128).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::Validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must have length between 3 and 128 and match pattern ^[a-zA-Z0-9_\\-]+$"
        )))
    }
}

/// Whether query parameters are as the model bounds them: 1 to 10 values of 1 to 1,024 characters.
pub fn valid_query_parameters(values: &[String]) -> bool {
    (1..=10).contains(&values.len()) && values.iter().all(|v| !v.is_empty() && v.chars().count() <= 1024)
}

/// Checks a widget's members as the model constrains them: 1 to 10 parameters of 1 to 1,024 characters, view
/// property keys of 3 to 128 and values of 1 to 128 characters of the model's patterns, and as many `?`
/// placeholders as parameters.
pub fn validate_widget(w: &Widget) -> Result<()> {
    let invalid = |m: String| Err(Error::InvalidParameter(m));
    if !w.query_parameters.is_empty() && !valid_query_parameters(&w.query_parameters) {
        return invalid("a widget has at most 10 query parameters, each of 1 to 1024 characters".into());
    }
    for (k, v) in &w.view_properties {
        let key_ok =
            (3..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        let value_ok =
            (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"._- ".contains(&b));
        if !key_ok || !value_ok {
            return invalid(format!("view property {k:?}: {v:?} is not valid"));
        }
    }
    let placeholders = w.query_statement.matches('?').count();
    if placeholders != w.query_parameters.len() {
        return invalid(format!(
            "the widget's statement has {placeholders} ? placeholders but {} query parameters",
            w.query_parameters.len()
        ));
    }
    Ok(())
}

/// A refresh schedule: every 1, 6 or 12 hours, or every day at `TimeOfDay` (`HH:MM`, UTC); `ENABLED` or
/// `DISABLED`.
pub fn validate_schedule(s: &RefreshSchedule) -> Result<()> {
    let invalid = |m: &str| Err(Error::InvalidParameter(m.into()));
    if !matches!(s.status.as_deref(), None | Some("ENABLED") | Some("DISABLED")) {
        return invalid("RefreshSchedule Status must be ENABLED or DISABLED");
    }
    let Some(f) = &s.frequency else { return invalid("RefreshSchedule needs a Frequency") };
    match (f.unit.as_deref(), f.value) {
        (Some("HOURS"), Some(1 | 6 | 12)) => {}
        (Some("DAYS"), Some(1)) => {}
        _ => return invalid("RefreshSchedule Frequency must be 1, 6 or 12 HOURS, or 1 DAYS"),
    }
    if let Some(t) = &s.time_of_day {
        if time_of_day_ms(t).is_none() {
            return invalid("RefreshSchedule TimeOfDay must be HH:MM (UTC)");
        }
    }
    Ok(())
}

fn time_of_day_ms(t: &str) -> Option<i64> {
    let (h, m) = t.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * HOUR_MS + m * 60_000)
}

/// When a dashboard with `schedule` next refreshes itself, given its last refresh (or its creation): `None` when the
/// schedule is off.
pub fn next_refresh(schedule: &RefreshSchedule, last_ms: Option<i64>, created_ms: i64) -> Option<i64> {
    if schedule.status.as_deref() != Some("ENABLED") {
        return None;
    }
    let f = schedule.frequency.as_ref()?;
    let since = last_ms.unwrap_or(created_ms);
    match (f.unit.as_deref()?, f.value?) {
        ("HOURS", n) if n > 0 => Some(since + n * HOUR_MS),
        ("DAYS", n) if n > 0 => {
            let at = schedule.time_of_day.as_deref().and_then(time_of_day_ms).unwrap_or(0);
            // The first time of day after the last refresh (and `n - 1` more days).
            let base = since + (n - 1) * DAY_MS;
            let day = base.div_euclid(DAY_MS) * DAY_MS;
            Some(if day + at > base { day + at } else { day + DAY_MS + at })
        }
        _ => None,
    }
}

/// Binds `values` to the `?` placeholders of `statement`, in order.
pub fn bind(statement: &str, values: &[String]) -> Result<String> {
    let mut out = String::with_capacity(statement.len());
    let mut next = values.iter();
    for c in statement.chars() {
        if c == '?' {
            let v = next.next().ok_or_else(|| {
                Error::InvalidParameter("the statement has more ? placeholders than query parameters".into())
            })?;
            out.push_str(v);
        } else {
            out.push(c);
        }
    }
    if next.next().is_some() {
        return Err(Error::InvalidParameter("the statement has fewer ? placeholders than query parameters".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(unit: &str, value: i64, at: Option<&str>) -> RefreshSchedule {
        RefreshSchedule {
            frequency: Some(Frequency { unit: Some(unit.into()), value: Some(value) }),
            status: Some("ENABLED".into()),
            time_of_day: at.map(str::to_string),
        }
    }

    #[test]
    fn schedules_follow_aws_rules() {
        assert!(validate_schedule(&schedule("HOURS", 6, None)).is_ok());
        assert!(validate_schedule(&schedule("DAYS", 1, Some("07:30"))).is_ok());
        for bad in [
            schedule("HOURS", 5, None),
            schedule("DAYS", 2, None),
            schedule("WEEKS", 1, None),
            schedule("DAYS", 1, Some("25:00")),
        ] {
            assert!(validate_schedule(&bad).is_err(), "{bad:?}");
        }
        let mut off = schedule("HOURS", 1, None);
        off.status = Some("PAUSED".into());
        assert!(validate_schedule(&off).is_err());
    }

    #[test]
    fn next_refresh_follows_the_schedule() {
        let day = 20_000 * DAY_MS;
        assert_eq!(next_refresh(&schedule("HOURS", 6, None), None, day), Some(day + 6 * HOUR_MS));
        assert_eq!(next_refresh(&schedule("HOURS", 1, None), Some(day + 5), day), Some(day + 5 + HOUR_MS));
        // Daily at 07:30: created at 10:00, the next 07:30 is the next day's.
        let at = schedule("DAYS", 1, Some("07:30"));
        let seven_thirty = 7 * HOUR_MS + 30 * 60_000;
        assert_eq!(next_refresh(&at, None, day + 10 * HOUR_MS), Some(day + DAY_MS + seven_thirty));
        // Refreshed at 07:30 on time: the next is a day later.
        assert_eq!(next_refresh(&at, Some(day + seven_thirty), day), Some(day + DAY_MS + seven_thirty));
        let mut off = at.clone();
        off.status = Some("DISABLED".into());
        assert_eq!(next_refresh(&off, None, day), None);
    }

    #[test]
    fn parameters_bind_in_order_and_must_match() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            bind("SELECT * FROM ? WHERE eventTime > '?'", &v(&["s1", "2026-01-01 00:00:00"])).unwrap(),
            "SELECT * FROM s1 WHERE eventTime > '2026-01-01 00:00:00'"
        );
        assert!(bind("SELECT ?", &v(&[])).is_err());
        assert!(bind("SELECT 1", &v(&["x"])).is_err());
        let w = |statement: &str, params: &[&str]| Widget {
            query_statement: statement.into(),
            query_parameters: v(params),
            view_properties: [("View".to_string(), "Table".to_string())].into(),
            query_alias: None,
        };
        assert!(validate_widget(&w("SELECT * FROM ? WHERE x > '?'", &["$EventDataStoreId$", "$StartTime$"])).is_ok());
        assert!(validate_widget(&w("SELECT 1", &["x"])).is_err());
        let mut bad = w("SELECT 1", &[]);
        bad.view_properties.insert("x".into(), "y".into());
        assert!(validate_widget(&bad).is_err());
        assert!(validate_dashboard_name("my_dash-1").is_ok());
        assert!(validate_dashboard_name("no").is_err() && validate_dashboard_name("has.dot").is_err());
    }
}
