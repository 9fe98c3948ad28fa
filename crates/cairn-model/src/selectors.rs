//! Event selectors (basic and advanced) and insight selectors, with the limits and rules AWS enforces on trails.
//!
//! Selectors are user-authored JSON documents; their canonical form is AWS's own (PascalCase members), which is also
//! how the catalog stores them.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Most basic event selectors a trail may have.
pub const MAX_EVENT_SELECTORS: usize = 5;
/// Most data resource values across all basic selectors of a trail.
pub const MAX_DATA_RESOURCE_VALUES: usize = 250;
/// Most condition values across all advanced selectors of a trail.
pub const MAX_ADVANCED_VALUES: usize = 500;

const READ_WRITE_TYPES: [&str; 3] = ["ReadOnly", "WriteOnly", "All"];
const EXCLUDABLE_SOURCES: [&str; 2] = ["kms.amazonaws.com", "rdsdata.amazonaws.com"];
const BASIC_RESOURCE_TYPES: [(&str, &str); 3] = [
    ("AWS::S3::Object", "arn:aws:s3"),
    ("AWS::Lambda::Function", "arn:aws:lambda"),
    ("AWS::DynamoDB::Table", "arn:aws:dynamodb"),
];
const ADVANCED_FIELDS: [&str; 11] = [
    "eventCategory",
    "eventSource",
    "eventName",
    "eventType",
    "readOnly",
    "resources.type",
    "resources.ARN",
    "errorCode",
    "sessionCredentialFromConsole",
    "userIdentity.arn",
    "vpcEndpointId",
];
const TRAIL_EVENT_CATEGORIES: [&str; 3] = ["Management", "Data", "NetworkActivity"];

fn default_read_write() -> String {
    "All".into()
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSelector {
    #[serde(default = "default_read_write")]
    pub read_write_type: String,
    #[serde(default = "default_true")]
    pub include_management_events: bool,
    #[serde(default)]
    pub data_resources: Vec<DataResource>,
    #[serde(default)]
    pub exclude_management_event_sources: Vec<String>,
}

impl Default for EventSelector {
    /// What a trail created without selectors logs: all read and write management events, no data events.
    fn default() -> Self {
        EventSelector {
            read_write_type: default_read_write(),
            include_management_events: true,
            data_resources: Vec::new(),
            exclude_management_event_sources: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataResource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdvancedEventSelector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub field_selectors: Vec<AdvancedFieldSelector>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdvancedFieldSelector {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_with: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_starts_with: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_ends_with: Option<Vec<String>>,
}

impl AdvancedFieldSelector {
    fn operators(&self) -> [(&'static str, Option<&Vec<String>>); 6] {
        [
            ("Equals", self.equals.as_ref()),
            ("StartsWith", self.starts_with.as_ref()),
            ("EndsWith", self.ends_with.as_ref()),
            ("NotEquals", self.not_equals.as_ref()),
            ("NotStartsWith", self.not_starts_with.as_ref()),
            ("NotEndsWith", self.not_ends_with.as_ref()),
        ]
    }

    fn value_count(&self) -> usize {
        self.operators().iter().filter_map(|(_, v)| *v).map(Vec::len).sum()
    }

    /// True when the only operator used is `Equals`.
    fn equals_only(&self) -> bool {
        self.operators().iter().all(|(op, v)| *op == "Equals" || v.is_none())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InsightSelector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insight_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_categories: Option<Vec<String>>,
}

/// A trail logs either basic or advanced event selectors, never both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSelectors {
    Basic(Vec<EventSelector>),
    Advanced(Vec<AdvancedEventSelector>),
}

impl Default for EventSelectors {
    fn default() -> Self {
        EventSelectors::Basic(vec![EventSelector::default()])
    }
}

pub(crate) fn invalid<T>(msg: String) -> Result<T> {
    Err(Error::InvalidEventSelectors(msg))
}

impl EventSelectors {
    /// Validates selectors as `PutEventSelectors` must before storing them.
    pub fn validate(&self) -> Result<()> {
        match self {
            EventSelectors::Basic(selectors) => validate_basic(selectors),
            EventSelectors::Advanced(selectors) => validate_advanced(selectors),
        }
    }

    /// Whether the trail logs management events of the given kind (`read_only` true, false).
    pub fn logs_management(&self, read_only: bool) -> bool {
        match self {
            EventSelectors::Basic(selectors) => selectors.iter().any(|s| {
                s.include_management_events
                    && (s.read_write_type == "All" || (s.read_write_type == "ReadOnly") == read_only)
            }),
            EventSelectors::Advanced(selectors) => selectors.iter().any(|s| {
                category_of(s) == Some("Management")
                    && s.field_selectors.iter().filter(|f| f.field == "readOnly").all(|f| {
                        f.equals
                            .as_ref()
                            .is_some_and(|v| v.iter().any(|x| x == if read_only { "true" } else { "false" }))
                    })
            }),
        }
    }

    /// Whether the trail logs any data events.
    pub fn logs_data(&self) -> bool {
        match self {
            EventSelectors::Basic(selectors) => selectors.iter().any(|s| !s.data_resources.is_empty()),
            EventSelectors::Advanced(selectors) => selectors.iter().any(|s| category_of(s) == Some("Data")),
        }
    }
}

pub(crate) fn category_of(s: &AdvancedEventSelector) -> Option<&str> {
    s.field_selectors
        .iter()
        .find(|f| f.field == "eventCategory")
        .and_then(|f| f.equals.as_ref())
        .and_then(|v| v.first())
        .map(String::as_str)
}

fn validate_basic(selectors: &[EventSelector]) -> Result<()> {
    if selectors.len() > MAX_EVENT_SELECTORS {
        return invalid(format!(
            "a trail can have at most {MAX_EVENT_SELECTORS} event selectors, {} were given",
            selectors.len()
        ));
    }
    let mut total_values = 0;
    for s in selectors {
        if !READ_WRITE_TYPES.contains(&s.read_write_type.as_str()) {
            return Err(Error::Validation(format!(
                "value {:?} at 'eventSelectors.member.readWriteType' failed to satisfy constraint: member must satisfy enum value set: [ReadOnly, WriteOnly, All]",
                s.read_write_type
            )));
        }
        for source in &s.exclude_management_event_sources {
            if !EXCLUDABLE_SOURCES.contains(&source.as_str()) {
                return invalid(format!(
                    "excluded management event source {source:?} is not supported: use kms.amazonaws.com or rdsdata.amazonaws.com"
                ));
            }
        }
        for r in &s.data_resources {
            let Some(ty) = r.r#type.as_deref() else {
                return invalid("a data resource must have a Type".into());
            };
            let Some((_, prefix)) = BASIC_RESOURCE_TYPES.iter().find(|(t, _)| *t == ty) else {
                return invalid(format!(
                    "data resource type {ty:?} is not valid with basic event selectors: use AWS::S3::Object, AWS::Lambda::Function or AWS::DynamoDB::Table, or advanced event selectors"
                ));
            };
            if r.values.is_empty() {
                return invalid(format!("data resource of type {ty} must have at least one value"));
            }
            for v in &r.values {
                if !valid_data_resource_value(ty, prefix, v) {
                    return invalid(format!("value {v:?} is not valid for data resource type {ty}"));
                }
            }
            total_values += r.values.len();
        }
    }
    if total_values > MAX_DATA_RESOURCE_VALUES {
        return invalid(format!(
            "a trail can have at most {MAX_DATA_RESOURCE_VALUES} data resource values across its event selectors, {total_values} were given"
        ));
    }
    Ok(())
}

fn valid_data_resource_value(ty: &str, prefix: &str, v: &str) -> bool {
    if v == prefix || v == format!("{prefix}:") {
        return true;
    }
    // AWS also takes "arn:aws:s3:::", an S3 ARN without bucket, for every object.
    if ty == "AWS::S3::Object" && v == "arn:aws:s3:::" {
        return true;
    }
    match ty {
        // arn:aws:s3:::bucket/ or arn:aws:s3:::bucket/prefix
        "AWS::S3::Object" => v
            .strip_prefix("arn:aws:s3:::")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(bucket, _)| crate::names::validate_bucket_name(bucket).is_ok()),
        "AWS::Lambda::Function" => v.starts_with("arn:aws:lambda:") && v.contains(":function:"),
        "AWS::DynamoDB::Table" => v.starts_with("arn:aws:dynamodb:") && v.contains(":table/"),
        _ => false,
    }
}

/// The rules every advanced selector follows, of a trail or of an event data store: its name, at least one field
/// selector, known fields each used once, at least one operator with 1..2048-character values, Equals only on
/// eventCategory, readOnly and resources.type. Returns how many condition values it has.
pub(crate) fn check_advanced_fields(n: usize, s: &AdvancedEventSelector) -> Result<usize> {
    let mut values = 0;
    if let Some(name) = &s.name {
        if name.chars().count() > 1000 {
            return Err(Error::Validation(format!("advanced event selector {n} name is longer than 1000 characters")));
        }
    }
    if s.field_selectors.is_empty() {
        return invalid(format!("advanced event selector {n} must have at least one field selector"));
    }
    let mut seen = Vec::new();
    for f in &s.field_selectors {
        if !ADVANCED_FIELDS.contains(&f.field.as_str()) {
            return invalid(format!("field {:?} in advanced event selector {n} is not supported", f.field));
        }
        if seen.contains(&f.field.as_str()) {
            return invalid(format!("field {:?} appears more than once in advanced event selector {n}", f.field));
        }
        seen.push(f.field.as_str());
        let ops = f.operators();
        if ops.iter().all(|(_, v)| v.is_none()) {
            return invalid(format!("field {:?} in advanced event selector {n} has no operator", f.field));
        }
        for (op, values) in ops {
            let Some(values) = values else { continue };
            if values.is_empty() {
                return Err(Error::Validation(format!(
                    "{op} of field {:?} in advanced event selector {n} must have at least one value",
                    f.field
                )));
            }
            if let Some(bad) = values.iter().find(|v| v.is_empty() || v.chars().count() > 2048) {
                return Err(Error::Validation(format!(
                    "value {bad:?} of field {:?} must be between 1 and 2048 characters",
                    f.field
                )));
            }
        }
        if matches!(f.field.as_str(), "eventCategory" | "readOnly" | "resources.type") && !f.equals_only() {
            return invalid(format!("field {:?} supports only the Equals operator", f.field));
        }
        if f.field == "readOnly" {
            let v = f.equals.as_deref().unwrap_or_default();
            if v.len() != 1 || !(v[0] == "true" || v[0] == "false") {
                return invalid("readOnly must equal exactly one of \"true\" or \"false\"".into());
            }
        }
        values += f.value_count();
    }
    Ok(values)
}

fn validate_advanced(selectors: &[AdvancedEventSelector]) -> Result<()> {
    let mut total_values = 0;
    for (i, s) in selectors.iter().enumerate() {
        let n = i + 1;
        total_values += check_advanced_fields(n, s)?;
        let category = s.field_selectors.iter().find(|f| f.field == "eventCategory");
        let Some(values) = category.and_then(|f| f.equals.as_ref()) else {
            return invalid(format!("advanced event selector {n} must have an eventCategory field with Equals"));
        };
        if values.len() != 1 || !TRAIL_EVENT_CATEGORIES.contains(&values[0].as_str()) {
            return invalid(format!(
                "eventCategory of advanced event selector {n} must equal exactly one of Management, Data or NetworkActivity"
            ));
        }
        match values[0].as_str() {
            "Management" => {
                for f in &s.field_selectors {
                    match f.field.as_str() {
                        "eventCategory" | "readOnly" => {}
                        "eventSource" => {
                            let excluded = f.not_equals.as_deref().unwrap_or_default();
                            if f.operators().iter().any(|(op, v)| *op != "NotEquals" && v.is_some())
                                || excluded.iter().any(|x| !EXCLUDABLE_SOURCES.contains(&x.as_str()))
                            {
                                return invalid(format!(
                                    "management event selector {n} may only exclude kms.amazonaws.com or rdsdata.amazonaws.com with eventSource NotEquals"
                                ));
                            }
                        }
                        other => {
                            return invalid(format!(
                                "field {other:?} is not supported in a management event selector ({n})"
                            ))
                        }
                    }
                }
            }
            "Data" => {
                let ty = s.field_selectors.iter().find(|f| f.field == "resources.type");
                if ty.and_then(|f| f.equals.as_ref()).is_none_or(|v| v.len() != 1) {
                    return invalid(format!(
                        "data event selector {n} must have a resources.type field that equals exactly one resource type"
                    ));
                }
            }
            _ => {
                if !s.field_selectors.iter().any(|f| f.field == "eventSource") {
                    return invalid(format!("network activity event selector {n} must have an eventSource field"));
                }
            }
        }
    }
    if total_values > MAX_ADVANCED_VALUES {
        return invalid(format!(
            "advanced event selectors of a trail can have at most {MAX_ADVANCED_VALUES} values in all, {total_values} were given"
        ));
    }
    Ok(())
}

/// Validates insight selectors against the trail's event selectors, as `PutInsightSelectors` must.
pub fn validate_insight_selectors(insights: &[InsightSelector], events: &EventSelectors) -> Result<()> {
    let bad = |m: String| Err(Error::InvalidInsightSelectors(m));
    let mut seen = Vec::new();
    for s in insights {
        let ty = s.insight_type.as_deref().unwrap_or_default();
        if !matches!(ty, "ApiCallRateInsight" | "ApiErrorRateInsight") {
            return bad(format!("insight type {ty:?} is not valid: use ApiCallRateInsight or ApiErrorRateInsight"));
        }
        if seen.contains(&ty) {
            return bad(format!("insight type {ty} is given more than once"));
        }
        seen.push(ty);
        let categories = s.event_categories.clone().unwrap_or_else(|| vec!["Management".into()]);
        for c in &categories {
            match c.as_str() {
                "Management" => {
                    let ok = if ty == "ApiCallRateInsight" {
                        events.logs_management(false)
                    } else {
                        events.logs_management(false) || events.logs_management(true)
                    };
                    if !ok {
                        let what = if ty == "ApiCallRateInsight" { "write" } else { "read or write" };
                        return bad(format!(
                            "{ty} on management events requires the trail to log {what} management events"
                        ));
                    }
                }
                "Data" => {
                    if !events.logs_data() {
                        return bad(format!("{ty} on data events requires the trail to log data events"));
                    }
                }
                other => return bad(format!("event category {other:?} is not valid: use Management or Data")),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(json: &str) -> Result<()> {
        EventSelectors::Basic(serde_json::from_str(json).unwrap()).validate()
    }

    fn advanced(json: &str) -> Result<()> {
        EventSelectors::Advanced(serde_json::from_str(json).unwrap()).validate()
    }

    #[test]
    fn basic_selector_rules() {
        let cases: &[(&str, bool)] = &[
            (r#"[{"ReadWriteType":"All","IncludeManagementEvents":true}]"#, true),
            (r#"[{"ReadWriteType":"Sometimes"}]"#, false),
            (r#"[{},{},{},{},{}]"#, true),
            (r#"[{},{},{},{},{},{}]"#, false),
            (
                r#"[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::amzn-s3-demo-bucket1/"]}]}]"#,
                true,
            ),
            (r#"[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}]"#, true),
            (r#"[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::"]}]}]"#, true),
            (r#"[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::Bad_Bucket/"]}]}]"#, false),
            (
                r#"[{"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda:us-west-2:111111111111:function:helloworld"]}]}]"#,
                true,
            ),
            (r#"[{"DataResources":[{"Type":"AWS::EC2::Snapshot","Values":["arn:aws:ec2"]}]}]"#, false),
            (r#"[{"DataResources":[{"Type":"AWS::S3::Object","Values":[]}]}]"#, false),
            (r#"[{"ExcludeManagementEventSources":["kms.amazonaws.com"]}]"#, true),
            (r#"[{"ExcludeManagementEventSources":["s3.amazonaws.com"]}]"#, false),
        ];
        for (json, ok) in cases {
            assert_eq!(basic(json).is_ok(), *ok, "{json}: {:?}", basic(json));
        }
        let many: Vec<String> = (0..251).map(|i| format!("\"arn:aws:s3:::bucket-{i}/\"")).collect();
        let json = format!(r#"[{{"DataResources":[{{"Type":"AWS::S3::Object","Values":[{}]}}]}}]"#, many.join(","));
        assert!(matches!(basic(&json), Err(Error::InvalidEventSelectors(_))));
    }

    #[test]
    fn advanced_selector_rules() {
        let cases: &[(&str, bool)] = &[
            (r#"[{"Name":"mgmt","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]}]}]"#, true),
            (
                r#"[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["false"]}]}]"#,
                true,
            ),
            (
                r#"[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["maybe"]}]}]"#,
                false,
            ),
            (r#"[{"FieldSelectors":[{"Field":"readOnly","Equals":["true"]}]}]"#, false),
            (r#"[{"FieldSelectors":[{"Field":"eventCategory","StartsWith":["Man"]}]}]"#, false),
            (r#"[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Insight"]}]}]"#, false),
            (
                r#"[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},{"Field":"resources.ARN","StartsWith":["arn:aws:s3:::b/"]}]}]"#,
                true,
            ),
            (r#"[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]}]}]"#, false),
            (
                r#"[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventName","Equals":["CreateTrail"]}]}]"#,
                false,
            ),
            (
                r#"[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventSource","NotEquals":["kms.amazonaws.com"]}]}]"#,
                true,
            ),
            (
                r#"[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventCategory","Equals":["Management"]}]}]"#,
                false,
            ),
            (
                r#"[{"FieldSelectors":[{"Field":"noSuchField","Equals":["x"]},{"Field":"eventCategory","Equals":["Management"]}]}]"#,
                false,
            ),
            (
                r#"[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},{"Field":"eventName","Equals":[]}]}]"#,
                false,
            ),
            (r#"[{"FieldSelectors":[]}]"#, false),
            (
                r#"[{"FieldSelectors":[{"Field":"eventCategory","Equals":["NetworkActivity"]},{"Field":"eventSource","Equals":["ec2.amazonaws.com"]}]}]"#,
                true,
            ),
        ];
        for (json, ok) in cases {
            assert_eq!(advanced(json).is_ok(), *ok, "{json}: {:?}", advanced(json));
        }
        let many: Vec<String> = (0..501).map(|i| format!("\"arn:aws:s3:::b/{i}\"")).collect();
        let json = format!(
            r#"[{{"FieldSelectors":[{{"Field":"eventCategory","Equals":["Data"]}},{{"Field":"resources.type","Equals":["AWS::S3::Object"]}},{{"Field":"resources.ARN","StartsWith":[{}]}}]}}]"#,
            many.join(",")
        );
        assert!(matches!(advanced(&json), Err(Error::InvalidEventSelectors(_))));
    }

    #[test]
    fn insight_rules() {
        let sel = |t: &str, c: Option<&str>| InsightSelector {
            insight_type: Some(t.into()),
            event_categories: c.map(|c| vec![c.into()]),
        };
        let all = EventSelectors::default();
        let read_only =
            EventSelectors::Basic(vec![EventSelector { read_write_type: "ReadOnly".into(), ..Default::default() }]);
        assert!(validate_insight_selectors(&[sel("ApiCallRateInsight", None), sel("ApiErrorRateInsight", None)], &all)
            .is_ok());
        assert!(validate_insight_selectors(&[sel("ApiCallRateInsight", None)], &read_only).is_err());
        assert!(validate_insight_selectors(&[sel("ApiErrorRateInsight", None)], &read_only).is_ok());
        assert!(validate_insight_selectors(&[sel("ApiCallRateInsight", Some("Data"))], &all).is_err());
        assert!(validate_insight_selectors(&[sel("Bogus", None)], &all).is_err());
        assert!(validate_insight_selectors(&[sel("ApiCallRateInsight", None), sel("ApiCallRateInsight", None)], &all)
            .is_err());
        assert!(validate_insight_selectors(&[], &all).is_ok());
    }
}
