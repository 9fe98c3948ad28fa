//! An event data store (CloudTrail Lake): which events it takes, how long it keeps them, and its lifecycle, with
//! the rules AWS applies to its settings.

use serde::{Deserialize, Serialize};

use crate::select::advanced_selects;
use crate::selectors::{category_of, check_advanced_fields, invalid};
use crate::{AdvancedEventSelector, AdvancedFieldSelector, Error, EventView, Result};

/// Longest a store keeps events under each billing mode, and the default retention, in days.
pub const MIN_RETENTION_DAYS: u32 = 7;
pub const EXTENDABLE_MAX_RETENTION_DAYS: u32 = 3653;
pub const EXTENDABLE_DEFAULT_RETENTION_DAYS: u32 = 366;
pub const FIXED_MAX_RETENTION_DAYS: u32 = 2557;
/// Event data stores an account may have in a region, those pending deletion included.
pub const MAX_STORES_PER_REGION: usize = 10;
/// How long a deleted store waits, restorable, before its data is removed.
pub const PENDING_DELETION_MS: i64 = 7 * 86_400_000;
/// Most advanced selectors of a store.
pub const MAX_STORE_SELECTORS: usize = 5;
/// Most condition values across a store's advanced selectors.
pub const MAX_STORE_VALUES: usize = 500;

pub const EXTENDABLE: &str = "EXTENDABLE_RETENTION_PRICING";
pub const FIXED: &str = "FIXED_RETENTION_PRICING";

/// The categories of CloudTrail events, which one store may mix.
const CLOUDTRAIL_CATEGORIES: [&str; 3] = ["Management", "Data", "NetworkActivity"];
/// Categories a store holds alone, selected by eventCategory only.
const SOLE_CATEGORIES: [&str; 4] = ["Insight", "ConfigurationItem", "Evidence", "ActivityAuditLog"];
/// Fields a store's management selectors may use.
const MANAGEMENT_FIELDS: [&str; 7] = [
    "eventCategory",
    "eventSource",
    "eventName",
    "readOnly",
    "eventType",
    "sessionCredentialFromConsole",
    "userIdentity.arn",
];

/// Where a store is in its lifecycle. (AWS's CREATED, STARTING_INGESTION and STOPPING_INGESTION are passing states
/// that cairn settles at once.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StoreStatus {
    Enabled,
    StoppedIngestion,
    PendingDeletion,
}

impl StoreStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreStatus::Enabled => "ENABLED",
            StoreStatus::StoppedIngestion => "STOPPED_INGESTION",
            StoreStatus::PendingDeletion => "PENDING_DELETION",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDataStore {
    /// The id: a lower-case UUID, the last part of the ARN, and the table name in queries.
    pub id: String,
    pub account_id: String,
    /// The region the store was created in.
    pub region: String,
    pub name: String,
    pub advanced_event_selectors: Vec<AdvancedEventSelector>,
    pub multi_region_enabled: bool,
    pub organization_enabled: bool,
    /// The organization whose accounts' events an organization store takes.
    pub organization_id: Option<String>,
    pub retention_period: u32,
    pub billing_mode: String,
    pub termination_protection_enabled: bool,
    /// The KMS key as given.
    pub kms_key_id: Option<String>,
    pub status: StoreStatus,
    /// Whether ingestion is on (kept while pending deletion, so that a restore puts it back).
    pub ingesting: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// When the store was deleted (pending deletion).
    pub deleted_ms: Option<i64>,
    #[serde(default)]
    pub federation_role_arn: Option<String>,
    /// For a store with a KMS key: its data key encrypted under that key (base64 of KMS's ciphertext blob).
    #[serde(default)]
    pub data_key: Option<String>,
}

impl EventDataStore {
    pub fn arn(&self) -> String {
        store_arn(&self.region, &self.account_id, &self.id)
    }

    /// The event category the store holds when it is one of those held alone (ActivityAuditLog, ...), else `None`
    /// (CloudTrail events).
    pub fn sole_category(&self) -> Option<&str> {
        self.advanced_event_selectors.first().and_then(category_of).filter(|c| SOLE_CATEGORIES.contains(c))
    }

    /// Whether the store takes the event now: ingesting, the event's account is the store's (or of its
    /// organization), its region is covered, and a selector selects it.
    pub fn takes(&self, e: &EventView, in_organization: impl Fn(&str) -> bool) -> bool {
        if self.status != StoreStatus::Enabled || !self.ingesting {
            return false;
        }
        let account = e.recipient_account_id == self.account_id
            || (self.organization_enabled
                && self.organization_id.is_some()
                && in_organization(&e.recipient_account_id));
        let region = self.multi_region_enabled || e.aws_region == self.region;
        account && region && self.advanced_event_selectors.iter().any(|s| advanced_selects(s, e))
    }
}

impl EventDataStore {
    /// Whether the store takes events sent through channels that name it as a destination.
    pub fn takes_activity(&self) -> bool {
        self.status == StoreStatus::Enabled && self.ingesting && self.sole_category() == Some("ActivityAuditLog")
    }
}

pub fn store_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{account}:eventdatastore/{id}")
}

/// The selectors a store gets when none are given: all management events.
pub fn default_store_selectors() -> Vec<AdvancedEventSelector> {
    vec![AdvancedEventSelector {
        name: Some("Default management events".into()),
        field_selectors: vec![AdvancedFieldSelector {
            field: "eventCategory".into(),
            equals: Some(vec!["Management".into()]),
            ..Default::default()
        }],
    }]
}

/// Validates a store name: 3 to 128 of letters, digits, `.`, `_` and `-`.
pub fn validate_store_name(name: &str) -> Result<()> {
    let ok = (3..=128).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::Validation(format!(
            "event data store name {name:?} must be 3 to 128 characters of letters, digits, '.', '_' and '-'"
        )))
    }
}

/// Validates a billing mode and a retention period under it.
pub fn validate_retention(billing_mode: &str, days: u32) -> Result<()> {
    let max = match billing_mode {
        EXTENDABLE => EXTENDABLE_MAX_RETENTION_DAYS,
        FIXED => FIXED_MAX_RETENTION_DAYS,
        other => {
            return Err(Error::Validation(format!("BillingMode {other:?} must be one of {EXTENDABLE} or {FIXED}")))
        }
    };
    if (MIN_RETENTION_DAYS..=max).contains(&days) {
        Ok(())
    } else {
        Err(Error::InvalidParameter(format!(
            "RetentionPeriod must be between {MIN_RETENTION_DAYS} and {max} days with BillingMode {billing_mode}; {days} was given"
        )))
    }
}

/// The retention a store gets when none is given.
pub fn default_retention(billing_mode: &str) -> u32 {
    if billing_mode == FIXED {
        FIXED_MAX_RETENTION_DAYS
    } else {
        EXTENDABLE_DEFAULT_RETENTION_DAYS
    }
}

/// Validates a store's advanced selectors: each names one category with eventCategory Equals; CloudTrail
/// categories (Management, Data, NetworkActivity) mix, the others stand alone and use only eventCategory; a
/// management selector uses the fields stores allow, a data selector names one resources.type, a network activity
/// selector an eventSource.
pub fn validate_store_selectors(selectors: &[AdvancedEventSelector]) -> Result<()> {
    if selectors.is_empty() {
        return invalid("an event data store needs at least one advanced event selector".into());
    }
    if selectors.len() > MAX_STORE_SELECTORS {
        return invalid(format!(
            "an event data store can have at most {MAX_STORE_SELECTORS} advanced event selectors, {} were given",
            selectors.len()
        ));
    }
    let mut total = 0;
    let mut categories = Vec::new();
    for (i, s) in selectors.iter().enumerate() {
        let n = i + 1;
        total += check_advanced_fields(n, s)?;
        let Some(values) =
            s.field_selectors.iter().find(|f| f.field == "eventCategory").and_then(|f| f.equals.as_ref())
        else {
            return invalid(format!("advanced event selector {n} must have an eventCategory field with Equals"));
        };
        let [category] = values.as_slice() else {
            return invalid(format!("eventCategory of advanced event selector {n} must equal exactly one category"));
        };
        let category = category.as_str();
        if SOLE_CATEGORIES.contains(&category) {
            if s.field_selectors.len() != 1 {
                return invalid(format!(
                    "advanced event selector {n} for {category} events can only use the eventCategory field"
                ));
            }
        } else if !CLOUDTRAIL_CATEGORIES.contains(&category) {
            return invalid(format!("eventCategory {category:?} of advanced event selector {n} is not supported"));
        }
        match category {
            "Management" => {
                if let Some(f) = s.field_selectors.iter().find(|f| !MANAGEMENT_FIELDS.contains(&f.field.as_str())) {
                    return invalid(format!(
                        "field {:?} is not supported in a management event selector ({n})",
                        f.field
                    ));
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
            "NetworkActivity" if !s.field_selectors.iter().any(|f| f.field == "eventSource") => {
                return invalid(format!("network activity event selector {n} must have an eventSource field"));
            }
            _ => {}
        }
        categories.push(category);
    }
    let sole = categories.iter().filter(|c| SOLE_CATEGORIES.contains(c)).count();
    if sole > 0 && (sole != categories.len() || categories.iter().any(|c| *c != categories[0])) {
        return invalid(format!(
            "an event data store for {} events cannot select other event categories",
            categories.iter().find(|c| SOLE_CATEGORIES.contains(c)).unwrap_or(&"")
        ));
    }
    if total > MAX_STORE_VALUES {
        return invalid(format!(
            "advanced event selectors of an event data store can have at most {MAX_STORE_VALUES} values in all, {total} were given"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(fields: &[(&str, &[&str])]) -> AdvancedEventSelector {
        AdvancedEventSelector {
            name: None,
            field_selectors: fields
                .iter()
                .map(|(f, v)| AdvancedFieldSelector {
                    field: f.to_string(),
                    equals: Some(v.iter().map(|s| s.to_string()).collect()),
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[test]
    fn store_selectors_follow_aws_rules() {
        let ok: &[&[AdvancedEventSelector]] = &[
            &default_store_selectors(),
            &[selector(&[("eventCategory", &["Management"]), ("eventName", &["ConsoleLogin"])])],
            &[
                selector(&[("eventCategory", &["Management"])]),
                selector(&[("eventCategory", &["Data"]), ("resources.type", &["AWS::S3::Object"])]),
            ],
            &[selector(&[("eventCategory", &["ActivityAuditLog"])])],
        ];
        for s in ok {
            validate_store_selectors(s).unwrap();
        }
        let bad: &[&[AdvancedEventSelector]] = &[
            &[],
            &[selector(&[("eventName", &["x"])])],
            &[selector(&[("eventCategory", &["Management", "Data"])])],
            &[selector(&[("eventCategory", &["Other"])])],
            &[selector(&[("eventCategory", &["Management"]), ("resources.ARN", &["x"])])],
            &[selector(&[("eventCategory", &["Data"])])],
            &[selector(&[("eventCategory", &["ActivityAuditLog"]), ("eventName", &["x"])])],
            &[selector(&[("eventCategory", &["ActivityAuditLog"])]), selector(&[("eventCategory", &["Management"])])],
            &[
                selector(&[("eventCategory", &["Management"])]),
                selector(&[("eventCategory", &["Management"])]),
                selector(&[("eventCategory", &["Management"])]),
                selector(&[("eventCategory", &["Management"])]),
                selector(&[("eventCategory", &["Management"])]),
                selector(&[("eventCategory", &["Management"])]),
            ],
        ];
        for s in bad {
            assert!(matches!(validate_store_selectors(s), Err(Error::InvalidEventSelectors(_))), "{s:?}");
        }
    }

    #[test]
    fn retention_limits_depend_on_billing_mode() {
        validate_retention(EXTENDABLE, 7).unwrap();
        validate_retention(EXTENDABLE, 3653).unwrap();
        validate_retention(FIXED, 2557).unwrap();
        assert!(matches!(validate_retention(FIXED, 2558), Err(Error::InvalidParameter(_))));
        assert!(matches!(validate_retention(EXTENDABLE, 6), Err(Error::InvalidParameter(_))));
        assert!(matches!(validate_retention("X", 10), Err(Error::Validation(_))));
        assert_eq!(default_retention(EXTENDABLE), 366);
        assert_eq!(default_retention(FIXED), 2557);
        validate_store_name("my-store_1.x").unwrap();
        assert!(validate_store_name("ab").is_err());
        assert!(validate_store_name("a b c").is_err());
    }
}
