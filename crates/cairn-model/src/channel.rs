//! A channel (CloudTrail Lake integrations): how events from outside AWS reach event data stores through
//! PutAuditEvents, and the rules AWS applies to a channel's settings and to the events sent through it (the
//! integration event schema).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// The source of a channel for any application's events (every other source names one integration partner).
pub const CUSTOM_SOURCE: &str = "Custom";
/// Channels an account may have in a region (cairn's quota; AWS does not publish one).
pub const MAX_CHANNELS_PER_REGION: usize = 25;
/// Most destinations of one channel.
pub const MAX_DESTINATIONS: usize = 200;
/// The destination type of Lake integrations (`AWS_SERVICE` is for service-linked channels, which AWS creates).
pub const EVENT_DATA_STORE: &str = "EVENT_DATA_STORE";
/// The event version of the records PutAuditEvents creates.
pub const ACTIVITY_EVENT_VERSION: &str = "1.00";
/// Largest `eventData` of one audit event, in bytes (CloudTrail's event size limit).
pub const MAX_EVENT_DATA_BYTES: usize = 256 * 1024;

/// Where a channel's events go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Destination {
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub location: Option<String>,
}

/// A channel, as cairn keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: String,
    pub account_id: String,
    pub region: String,
    pub name: String,
    pub source: String,
    /// The ARNs of the event data stores the channel sends to.
    pub destinations: Vec<String>,
    pub created_ms: i64,
}

impl Channel {
    pub fn arn(&self) -> String {
        channel_arn(&self.region, &self.account_id, &self.id)
    }
}

pub fn channel_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{account}:channel/{id}")
}

/// A channel name: 3 to 128 letters, digits, `.`, `_` and `-`.
pub fn validate_channel_name(name: &str) -> Result<()> {
    let ok = (3..=128).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParameter(format!(
            "Channel name {name:?} is not valid: use 3 to 128 letters, digits, periods, underscores and hyphens"
        )))
    }
}

/// A source name: `Custom` or an integration partner's source name (1 to 256 printable characters).
pub fn valid_source(source: &str) -> bool {
    (1..=256).contains(&source.chars().count()) && !source.trim().is_empty() && source.chars().all(|c| !c.is_control())
}

/// Why one audit event of a PutAuditEvents call was not ingested: AWS's per-event error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEventFailure {
    FieldTooLong,
    FieldNotFound,
    InvalidChecksum,
    InvalidData,
    InvalidRecipient,
    InvalidEventSource,
}

impl AuditEventFailure {
    pub fn code(self) -> &'static str {
        match self {
            AuditEventFailure::FieldTooLong => "FieldTooLong",
            AuditEventFailure::FieldNotFound => "FieldNotFound",
            AuditEventFailure::InvalidChecksum => "InvalidChecksum",
            AuditEventFailure::InvalidData => "InvalidData",
            AuditEventFailure::InvalidRecipient => "InvalidRecipient",
            AuditEventFailure::InvalidEventSource => "InvalidEventSource",
        }
    }
}

/// An audit event refused, with what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub failure: AuditEventFailure,
    pub message: String,
}

fn reject(failure: AuditEventFailure, message: impl Into<String>) -> Rejected {
    Rejected { failure, message: message.into() }
}

/// An `eventData` that follows the integration event schema.
#[derive(Debug, Clone, PartialEq)]
pub struct EventData {
    pub fields: Map<String, Value>,
    /// `eventTime`, in milliseconds since the epoch.
    pub event_time_ms: i64,
}

/// The members of `eventData` that must be strings, and whether each is required.
const STRING_FIELDS: [(&str, bool); 9] = [
    ("version", true),
    ("eventSource", true),
    ("eventName", true),
    ("eventTime", true),
    ("UID", true),
    ("recipientAccountId", true),
    ("userAgent", false),
    ("errorCode", false),
    ("sourceIPAddress", false),
];
/// The members of `eventData` that must be JSON objects when present.
const OBJECT_FIELDS: [&str; 3] = ["requestParameters", "responseElements", "additionalEventData"];
/// Longest value of a string member of `eventData`, in characters (errorMessage has its own limit).
const MAX_FIELD_CHARS: usize = 1024;
const MAX_ERROR_MESSAGE_CHARS: usize = 4096;

/// Checks an audit event's `eventData` against the integration event schema for a channel of `owner`: valid JSON
/// object, the required members present with the right types, `recipientAccountId` the channel owner's, an event
/// source that is not an AWS service's, a valid `eventTime`.
pub fn check_event_data(event_data: &str, owner: &str) -> Result<EventData, Rejected> {
    use AuditEventFailure::*;
    if event_data.len() > MAX_EVENT_DATA_BYTES {
        return Err(reject(
            FieldTooLong,
            format!("eventData is {} bytes, more than the {MAX_EVENT_DATA_BYTES}-byte limit", event_data.len()),
        ));
    }
    let value: Value = serde_json::from_str(event_data)
        .map_err(|e| reject(InvalidData, format!("eventData is not valid JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(reject(InvalidData, "eventData must be a JSON object"));
    };
    for (name, required) in STRING_FIELDS {
        match fields.get(name) {
            None | Some(Value::Null) if required => {
                return Err(reject(FieldNotFound, format!("eventData has no {name}, which is required")))
            }
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.chars().count() > MAX_FIELD_CHARS => {
                return Err(reject(
                    FieldTooLong,
                    format!("eventData.{name} is longer than {MAX_FIELD_CHARS} characters"),
                ))
            }
            Some(Value::String(s)) if required && s.is_empty() => {
                return Err(reject(InvalidData, format!("eventData.{name} must not be empty")))
            }
            Some(Value::String(_)) => {}
            Some(_) => return Err(reject(InvalidData, format!("eventData.{name} must be a string"))),
        }
    }
    match fields.get("errorMessage") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.chars().count() > MAX_ERROR_MESSAGE_CHARS => {
            return Err(reject(
                FieldTooLong,
                format!("eventData.errorMessage is longer than {MAX_ERROR_MESSAGE_CHARS} characters"),
            ))
        }
        Some(Value::String(_)) => {}
        Some(_) => return Err(reject(InvalidData, "eventData.errorMessage must be a string")),
    }
    for name in OBJECT_FIELDS {
        if !matches!(fields.get(name), None | Some(Value::Null) | Some(Value::Object(_))) {
            return Err(reject(InvalidData, format!("eventData.{name} must be a JSON object")));
        }
    }
    check_identity(fields.get("userIdentity"))?;
    let text = |name: &str| fields.get(name).and_then(Value::as_str).unwrap_or_default();
    if text("recipientAccountId") != owner {
        return Err(reject(
            InvalidRecipient,
            format!("eventData.recipientAccountId must be {owner}, the account that owns the channel"),
        ));
    }
    let source = text("eventSource");
    if source.to_ascii_lowercase().ends_with(".amazonaws.com") {
        return Err(reject(
            InvalidEventSource,
            format!("eventData.eventSource {source} is an AWS service's; channels take events from outside AWS"),
        ));
    }
    let event_time_ms = crate::event::event_time_millis(text("eventTime")).ok_or_else(|| {
        reject(
            InvalidData,
            format!("eventData.eventTime {:?} is not a time like 2023-01-22T10:11:12Z", text("eventTime")),
        )
    })?;
    Ok(EventData { fields, event_time_ms })
}

fn check_identity(identity: Option<&Value>) -> Result<(), Rejected> {
    use AuditEventFailure::*;
    let identity = match identity {
        None | Some(Value::Null) => {
            return Err(reject(FieldNotFound, "eventData has no userIdentity, which is required"))
        }
        Some(Value::Object(o)) => o,
        Some(_) => return Err(reject(InvalidData, "eventData.userIdentity must be a JSON object")),
    };
    for name in ["type", "principalId"] {
        match identity.get(name) {
            None | Some(Value::Null) => {
                return Err(reject(FieldNotFound, format!("eventData.userIdentity has no {name}, which is required")))
            }
            Some(Value::String(s)) if s.chars().count() > MAX_FIELD_CHARS => {
                return Err(reject(
                    FieldTooLong,
                    format!("eventData.userIdentity.{name} is longer than {MAX_FIELD_CHARS} characters"),
                ))
            }
            Some(Value::String(_)) => {}
            Some(_) => return Err(reject(InvalidData, format!("eventData.userIdentity.{name} must be a string"))),
        }
    }
    if !matches!(identity.get("details"), None | Some(Value::Null) | Some(Value::Object(_))) {
        return Err(reject(InvalidData, "eventData.userIdentity.details must be a JSON object"));
    }
    Ok(())
}

/// The record CloudTrail Lake keeps for one audit event: the fields CloudTrail adds after ingestion around the
/// producer's `eventData`, in AWS's order.
pub fn activity_record(
    event_id: &str,
    data: EventData,
    region: &str,
    account: &str,
    channel_arn: &str,
    ingestion_ms: i64,
) -> Value {
    let mut record = Map::new();
    record.insert("eventVersion".into(), ACTIVITY_EVENT_VERSION.into());
    record.insert("eventCategory".into(), "ActivityAuditLog".into());
    record.insert("eventType".into(), "ActivityLog".into());
    record.insert("eventID".into(), event_id.into());
    record.insert("eventTime".into(), crate::event::format_event_time(data.event_time_ms).into());
    record.insert("awsRegion".into(), region.into());
    record.insert("recipientAccountId".into(), account.into());
    let mut metadata = Map::new();
    metadata.insert("ingestionTime".into(), crate::event::format_event_time(ingestion_ms).into());
    metadata.insert("channelARN".into(), channel_arn.into());
    record.insert("metadata".into(), Value::Object(metadata));
    record.insert("eventData".into(), Value::Object(data.fields));
    Value::Object(record)
}

/// The channel a record of an ActivityAuditLog event came through (`metadata.channelARN`).
pub fn record_channel(record: &Value) -> Option<&str> {
    record.get("metadata")?.get("channelARN")?.as_str()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn good() -> Value {
        json!({
            "version": "1.0",
            "userIdentity": {"type": "CustomUser", "principalId": "alice", "details": {"team": "red"}},
            "userAgent": "app/1.0",
            "eventSource": "billing.example.com",
            "eventName": "ChargeCard",
            "eventTime": "2026-11-30T10:11:12Z",
            "UID": "u-1",
            "requestParameters": {"amount": 12},
            "recipientAccountId": "111122223333",
        })
    }

    fn with(change: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut v = good();
        change(v.as_object_mut().unwrap());
        v.to_string()
    }

    #[test]
    fn event_data_is_checked_against_the_integration_schema() {
        use AuditEventFailure::*;
        let owner = "111122223333";
        let ok = check_event_data(&good().to_string(), owner).unwrap();
        assert_eq!(ok.event_time_ms, 1_796_033_472_000);
        let cases: Vec<(String, AuditEventFailure)> = vec![
            ("not json".into(), InvalidData),
            ("[1]".into(), InvalidData),
            (with(|m| drop(m.remove("UID"))), FieldNotFound),
            (with(|m| drop(m.remove("version"))), FieldNotFound),
            (with(|m| drop(m.insert("eventName".into(), Value::Null))), FieldNotFound),
            (with(|m| drop(m.remove("userIdentity"))), FieldNotFound),
            (with(|m| drop(m.insert("userIdentity".into(), json!({"type": "X"})))), FieldNotFound),
            (with(|m| drop(m.insert("userIdentity".into(), json!("alice")))), InvalidData),
            (with(|m| drop(m.insert("userIdentity".into(), json!({"type": "X", "principalId": 1})))), InvalidData),
            (with(|m| drop(m.insert("eventName".into(), json!(7)))), InvalidData),
            (with(|m| drop(m.insert("eventName".into(), json!("")))), InvalidData),
            (with(|m| drop(m.insert("requestParameters".into(), json!("a=1")))), InvalidData),
            (with(|m| drop(m.insert("eventTime".into(), json!("yesterday")))), InvalidData),
            (with(|m| drop(m.insert("eventName".into(), json!("x".repeat(1025))))), FieldTooLong),
            (with(|m| drop(m.insert("recipientAccountId".into(), json!("444455556666")))), InvalidRecipient),
            (with(|m| drop(m.insert("eventSource".into(), json!("iam.amazonaws.com")))), InvalidEventSource),
            (with(|m| drop(m.insert("blob".into(), json!("x".repeat(MAX_EVENT_DATA_BYTES))))), FieldTooLong),
        ];
        for (data, expected) in cases {
            let got = check_event_data(&data, owner).unwrap_err();
            assert_eq!(got.failure, expected, "{}: {}", &data[..data.len().min(120)], got.message);
        }
        // Optional members may be absent or null; unknown members are kept.
        let lean = with(|m| {
            m.remove("userAgent");
            m.insert("responseElements".into(), Value::Null);
            m.insert("extra".into(), json!([1, 2]));
        });
        assert!(check_event_data(&lean, owner).unwrap().fields.contains_key("extra"));
    }

    #[test]
    fn records_wrap_event_data_as_lake_keeps_it() {
        let data = check_event_data(&good().to_string(), "111122223333").unwrap();
        let arn = channel_arn("us-east-1", "111122223333", "c-1");
        let record = activity_record("e-1", data, "us-east-1", "111122223333", &arn, 1_796_033_500_123);
        assert_eq!(record["eventCategory"], "ActivityAuditLog");
        assert_eq!(record["eventType"], "ActivityLog");
        assert_eq!(record["eventTime"], "2026-11-30T10:11:12Z");
        assert_eq!(record["metadata"]["ingestionTime"], crate::event::format_event_time(1_796_033_500_123));
        assert_eq!(record_channel(&record), Some(arn.as_str()));
        assert_eq!(record["eventData"]["UID"], "u-1");
        // Not a record trails or selectors route: it has no eventSource or eventName of its own.
        assert!(crate::EventView::parse(record.to_string().as_bytes()).is_none());
    }

    #[test]
    fn names_and_sources() {
        assert!(validate_channel_name("my-channel_1.0").is_ok());
        for bad in ["ab", "has space", &"x".repeat(129), "ünï"] {
            assert!(validate_channel_name(bad).is_err(), "{bad}");
        }
        assert!(valid_source("Custom") && valid_source("Okta") && valid_source("Kong Inc"));
        assert!(!valid_source("") && !valid_source("  ") && !valid_source("a\nb") && !valid_source(&"x".repeat(257)));
    }
}
