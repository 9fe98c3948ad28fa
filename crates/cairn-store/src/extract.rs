//! What event history needs from a CloudTrail record: its time, identity, lookup attributes and resources, and
//! which account and region's history it belongs to.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// The lookup attributes of LookupEvents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LookupKey {
    EventId,
    EventName,
    ReadOnly,
    Username,
    ResourceType,
    ResourceName,
    EventSource,
    AccessKeyId,
}

impl LookupKey {
    pub const ALL: [LookupKey; 8] = [
        LookupKey::EventId,
        LookupKey::EventName,
        LookupKey::ReadOnly,
        LookupKey::Username,
        LookupKey::ResourceType,
        LookupKey::ResourceName,
        LookupKey::EventSource,
        LookupKey::AccessKeyId,
    ];

    pub fn parse(s: &str) -> Option<LookupKey> {
        LookupKey::ALL.into_iter().find(|k| k.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            LookupKey::EventId => "EventId",
            LookupKey::EventName => "EventName",
            LookupKey::ReadOnly => "ReadOnly",
            LookupKey::Username => "Username",
            LookupKey::ResourceType => "ResourceType",
            LookupKey::ResourceName => "ResourceName",
            LookupKey::EventSource => "EventSource",
            LookupKey::AccessKeyId => "AccessKeyId",
        }
    }
}

/// The parts of a record event history indexes and answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFields {
    pub account_id: String,
    /// The region whose history holds the event: its `awsRegion`, where AWS recorded it (us-east-1 for IAM and the
    /// other global services, the serving region for regional STS endpoints).
    pub region: String,
    pub time_ms: i64,
    pub event_id: String,
    pub event_name: String,
    pub event_source: String,
    pub read_only: Option<bool>,
    pub username: Option<String>,
    pub access_key_id: Option<String>,
    /// (type, name) pairs.
    pub resources: Vec<(Option<String>, Option<String>)>,
    pub category: String,
    pub management: bool,
}

// Only the members history needs are read, borrowed where the JSON allows; everything else is skipped without
// building values (requestParameters and responseElements can be large).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw<'a> {
    #[serde(borrow)]
    event_time: Option<Cow<'a, str>>,
    #[serde(rename = "eventID", borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    aws_region: Option<Cow<'a, str>>,
    #[serde(borrow)]
    recipient_account_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    read_only: Option<&'a RawValue>,
    #[serde(borrow)]
    management_event: Option<&'a RawValue>,
    #[serde(borrow)]
    event_category: Option<Cow<'a, str>>,
    // Parsed leniently: a producer's odd userIdentity or resources must not keep the event out of history.
    #[serde(borrow)]
    user_identity: Option<&'a RawValue>,
    #[serde(borrow)]
    resources: Option<&'a RawValue>,
    #[serde(borrow)]
    request_parameters: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    access_key_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow)]
    session_context: Option<SessionContext<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext<'a> {
    #[serde(borrow)]
    session_issuer: Option<SessionIssuer<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer<'a> {
    #[serde(borrow)]
    user_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ResourceRef<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "ARN", borrow)]
    upper_arn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arn: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrailParams<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    trail_name: Option<Cow<'a, str>>,
}

/// Milliseconds since the epoch of a CloudTrail `eventTime`.
pub fn parse_time(s: &str) -> Option<i64> {
    cairn_model::event::event_time_millis(s)
}

/// The user name LookupEvents reports: the IAM user, the role session, or `root`.
fn username(identity: &Identity<'_>) -> Option<String> {
    if let Some(name) = &identity.user_name {
        return Some(name.to_string());
    }
    match identity.kind.as_deref() {
        Some("Root") => Some("root".into()),
        Some("AssumedRole") | Some("FederatedUser") => {
            identity.arn.as_deref().and_then(|a| a.rsplit('/').next()).map(str::to_string)
        }
        _ => identity
            .session_context
            .as_ref()
            .and_then(|c| c.session_issuer.as_ref())
            .and_then(|i| i.user_name.as_deref())
            .or(identity.invoked_by.as_deref())
            .map(str::to_string),
    }
}

/// Resources of a record: its `resources` member, or for CloudTrail's own calls the trail it names.
fn resources(raw: &Raw<'_>) -> Vec<(Option<String>, Option<String>)> {
    if let Some(list) = raw.resources.and_then(|r| serde_json::from_str::<Vec<ResourceRef<'_>>>(r.get()).ok()) {
        return list
            .iter()
            .map(|r| {
                (r.kind.as_deref().map(str::to_string), r.upper_arn.as_ref().or(r.arn.as_ref()).map(|a| a.to_string()))
            })
            .collect();
    }
    if raw.event_source.as_deref() == Some("cloudtrail.amazonaws.com") {
        let params = raw.request_parameters.and_then(|p| serde_json::from_str::<TrailParams<'_>>(p.get()).ok());
        if let Some(name) = params.and_then(|p| p.name.or(p.trail_name)) {
            return vec![(Some("AWS::CloudTrail::Trail".into()), Some(name.to_string()))];
        }
    }
    Vec::new()
}

/// Extracts what history needs from a journaled record; `None` for records that are not CloudTrail events.
pub fn extract(payload: &[u8]) -> Option<EventFields> {
    let raw: Raw<'_> = serde_json::from_slice(payload).ok()?;
    let time_ms = parse_time(raw.event_time.as_deref()?)?;
    let event_source = raw.event_source.as_deref()?.to_string();
    let region = raw.aws_region.as_deref()?.to_string();
    let category = raw.event_category.as_deref().unwrap_or("Management").to_string();
    let management = match raw.management_event.map(RawValue::get) {
        Some("true") => true,
        Some("false") => false,
        _ => category == "Management",
    };
    let read_only = match raw.read_only.map(RawValue::get) {
        Some("true") | Some("\"true\"") => Some(true),
        Some("false") | Some("\"false\"") => Some(false),
        _ => None,
    };
    let identity = raw.user_identity.and_then(|i| serde_json::from_str::<Identity<'_>>(i.get()).ok());
    let identity = identity.as_ref();
    Some(EventFields {
        account_id: raw.recipient_account_id.as_deref()?.to_string(),
        region,
        time_ms,
        event_id: raw.event_id.as_deref()?.to_string(),
        event_name: raw.event_name.as_deref()?.to_string(),
        username: identity.and_then(username),
        access_key_id: identity.and_then(|i| i.access_key_id.as_deref()).map(str::to_string),
        resources: resources(&raw),
        event_source,
        read_only,
        category,
        management,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2026-11-22T13:58:51Z"), Some(1_795_355_931_000));
        assert_eq!(parse_time("2026-11-22T13:58:51.362Z"), Some(1_795_355_931_362));
        assert_eq!(parse_time("2024-02-29T00:00:00.5Z"), Some(1_709_164_800_500));
        assert_eq!(parse_time("2024-02-30T00:00:00Z"), None);
    }

    #[test]
    fn fields_identities_resources_and_regions() {
        let e = json!({"eventTime": "2026-01-01T00:00:00Z", "eventID": "e1", "eventName": "CreateUser",
            "eventSource": "sts.amazonaws.com", "awsRegion": "eu-west-1", "recipientAccountId": "111111111111",
            "readOnly": false, "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111111111111:assumed-role/admin/alice@example.com", "accessKeyId": "ASIAX"},
            "resources": [{"ARN": "arn:aws:iam::111111111111:user/bob", "accountId": "111111111111", "type": "AWS::IAM::User"}]});
        let f = extract(e.to_string().as_bytes()).unwrap();
        assert_eq!(f.region, "eu-west-1", "an STS call to a regional endpoint stays in the region that served it");
        assert_eq!(f.username.as_deref(), Some("alice@example.com"));
        assert_eq!(f.access_key_id.as_deref(), Some("ASIAX"));
        assert_eq!(f.read_only, Some(false));
        assert_eq!(
            f.resources,
            vec![(Some("AWS::IAM::User".into()), Some("arn:aws:iam::111111111111:user/bob".into()))]
        );
        assert!(f.management);

        let e = json!({"eventTime": "2026-01-01T00:00:00Z", "eventID": "e2", "eventName": "StopLogging",
            "eventSource": "cloudtrail.amazonaws.com", "awsRegion": "eu-west-1", "recipientAccountId": "111111111111",
            "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111111111111:root"}, "requestParameters": {"name": "my-trail"},
            "eventCategory": "Management"});
        let f = extract(e.to_string().as_bytes()).unwrap();
        assert_eq!((f.region.as_str(), f.username.as_deref()), ("eu-west-1", Some("root")));
        assert_eq!(f.resources, vec![(Some("AWS::CloudTrail::Trail".into()), Some("my-trail".into()))]);

        let data = json!({"eventTime": "2026-01-01T00:00:00Z", "eventID": "e3", "eventName": "GetObject",
            "eventSource": "s3.amazonaws.com", "awsRegion": "eu-west-1", "recipientAccountId": "111111111111",
            "managementEvent": false, "eventCategory": "Data"});
        assert!(!extract(data.to_string().as_bytes()).unwrap().management);
        assert!(extract(b"{\"not\": \"an event\"}").is_none());
        let odd = json!({"eventTime": "2026-01-01T00:00:00Z", "eventID": "e4", "eventName": "X", "eventSource": "x.amazonaws.com",
            "awsRegion": "eu-west-1", "recipientAccountId": "111111111111", "userIdentity": "not an object", "resources": 5});
        let f = extract(odd.to_string().as_bytes()).unwrap();
        assert_eq!((f.username, f.resources.len()), (None, 0));
    }
}
