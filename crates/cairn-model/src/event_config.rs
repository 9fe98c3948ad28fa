//! The event configuration of a trail or event data store (PutEventConfiguration): the largest event it takes, the
//! context keys its events carry, and for trails the aggregation of data events, with AWS's rules.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub const STANDARD: &str = "Standard";
pub const LARGE: &str = "Large";
/// The largest event of each size setting, in bytes.
pub const STANDARD_MAX_EVENT_BYTES: usize = 256 * 1024;
pub const LARGE_MAX_EVENT_BYTES: usize = 1024 * 1024;
const CONTEXT_TYPES: [&str; 2] = ["TagContext", "RequestContext"];
const TEMPLATES: [&str; 3] = ["API_ACTIVITY", "RESOURCE_ACCESS", "USER_ACTIONS"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContextKeySelector {
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub equals: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AggregationConfiguration {
    pub templates: Option<Vec<String>>,
    pub event_category: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_event_size: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_key_selectors: Vec<ContextKeySelector>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aggregation_configurations: Vec<AggregationConfiguration>,
}

impl EventConfiguration {
    /// The size setting in effect: `Standard` unless set.
    pub fn max_event_size(&self) -> &str {
        self.max_event_size.as_deref().unwrap_or(STANDARD)
    }

    /// The largest event the trail or store takes, in bytes.
    pub fn max_event_bytes(&self) -> usize {
        if self.max_event_size() == LARGE {
            LARGE_MAX_EVENT_BYTES
        } else {
            STANDARD_MAX_EVENT_BYTES
        }
    }
}

fn validation(m: String) -> Error {
    Error::Validation(format!("1 validation error detected: {m}"))
}

/// Checks a configuration for a trail (`for_trail`) or an event data store.
pub fn validate(c: &EventConfiguration, for_trail: bool) -> Result<()> {
    if let Some(size) = &c.max_event_size {
        if size != STANDARD && size != LARGE {
            return Err(validation(format!(
                "Value '{size}' at 'maxEventSize' failed to satisfy constraint: Member must satisfy enum value set: [Standard, Large]"
            )));
        }
    }
    if c.context_key_selectors.len() > 2 {
        return Err(validation("Value at 'contextKeySelectors' failed to satisfy constraint: Member must have length less than or equal to 2".into()));
    }
    let mut seen = Vec::new();
    for s in &c.context_key_selectors {
        let kind = s.kind.as_deref().ok_or_else(|| {
            validation(
                "Value null at 'contextKeySelectors.member.type' failed to satisfy constraint: Member must not be null"
                    .into(),
            )
        })?;
        if !CONTEXT_TYPES.contains(&kind) {
            return Err(validation(format!("Value '{kind}' at 'contextKeySelectors.member.type' failed to satisfy constraint: Member must satisfy enum value set: [TagContext, RequestContext]")));
        }
        let values = s.equals.as_deref().unwrap_or_default();
        if values.is_empty() || values.len() > 50 || values.iter().any(|v| v.is_empty() || v.chars().count() > 128) {
            return Err(validation("Value at 'contextKeySelectors.member.equals' failed to satisfy constraint: Member must have 1 to 50 values of 1 to 128 characters".into()));
        }
        if seen.contains(&kind) {
            return Err(Error::InvalidParameter(format!("Only one context key selector of type {kind} is allowed")));
        }
        seen.push(kind);
    }
    if !c.context_key_selectors.is_empty() && c.max_event_size() != LARGE {
        return Err(Error::InvalidParameterCombination(
            "ContextKeySelectors can be set only when MaxEventSize is Large".into(),
        ));
    }
    if !c.aggregation_configurations.is_empty() && !for_trail {
        return Err(Error::InvalidParameter("AggregationConfigurations can be set only for trails".into()));
    }
    if c.aggregation_configurations.len() > 1 {
        return Err(validation("Value at 'aggregationConfigurations' failed to satisfy constraint: Member must have length less than or equal to 1".into()));
    }
    for a in &c.aggregation_configurations {
        if a.event_category.as_deref() != Some("Data") {
            return Err(validation("Value at 'aggregationConfigurations.member.eventCategory' failed to satisfy constraint: Member must satisfy enum value set: [Data]".into()));
        }
        let templates = a.templates.as_deref().unwrap_or_default();
        if templates.is_empty() || templates.len() > 50 || templates.iter().any(|t| !TEMPLATES.contains(&t.as_str())) {
            return Err(validation("Value at 'aggregationConfigurations.member.templates' failed to satisfy constraint: Member must have 1 to 50 values of [API_ACTIVITY, RESOURCE_ACCESS, USER_ACTIONS]".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(kind: &str, values: &[&str]) -> ContextKeySelector {
        ContextKeySelector { kind: Some(kind.into()), equals: Some(values.iter().map(|v| v.to_string()).collect()) }
    }

    #[test]
    fn configurations_follow_aws_rules() {
        let large = |selectors: Vec<ContextKeySelector>| EventConfiguration {
            max_event_size: Some(LARGE.into()),
            context_key_selectors: selectors,
            aggregation_configurations: vec![],
        };
        assert!(validate(
            &large(vec![selector("TagContext", &["env"]), selector("RequestContext", &["aws:SourceIp"])]),
            false
        )
        .is_ok());
        assert_eq!(large(vec![]).max_event_bytes(), LARGE_MAX_EVENT_BYTES);
        assert_eq!(EventConfiguration::default().max_event_bytes(), STANDARD_MAX_EVENT_BYTES);
        let mut standard = large(vec![selector("TagContext", &["env"])]);
        standard.max_event_size = None;
        assert!(matches!(validate(&standard, true), Err(Error::InvalidParameterCombination(_))));
        assert!(matches!(
            validate(&large(vec![selector("TagContext", &["a"]), selector("TagContext", &["b"])]), true),
            Err(Error::InvalidParameter(_))
        ));
        assert!(matches!(validate(&large(vec![selector("Other", &["a"])]), true), Err(Error::Validation(_))));
        assert!(matches!(validate(&large(vec![selector("TagContext", &[])]), true), Err(Error::Validation(_))));
        let mut sized = EventConfiguration { max_event_size: Some("Huge".into()), ..Default::default() };
        assert!(matches!(validate(&sized, true), Err(Error::Validation(_))));
        sized.max_event_size = None;
        sized.aggregation_configurations = vec![AggregationConfiguration {
            templates: Some(vec!["API_ACTIVITY".into()]),
            event_category: Some("Data".into()),
        }];
        assert!(validate(&sized, true).is_ok());
        assert!(matches!(validate(&sized, false), Err(Error::InvalidParameter(_))));
        sized.aggregation_configurations[0].templates = Some(vec!["EVERYTHING".into()]);
        assert!(matches!(validate(&sized, true), Err(Error::Validation(_))));
    }
}
