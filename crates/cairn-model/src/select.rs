//! Which trails take which events: the members of a record that selection reads, and AWS's rules for basic and
//! advanced event selectors, regions, global service events and organization trails.
//!
//! This runs for every event and every trail on the delivery path, so a record is read once into an [`EventView`]
//! (only the members selection needs; everything else is skipped unparsed) and every rule is a pure function of it.
//! Reading is lenient: a record the journal accepted must never fail here because an optional member has an
//! unexpected shape; such a member reads as absent.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::{AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector, EventSelectors, Trail};

/// The region where AWS records global service events since November 2021.
pub const GLOBAL_SERVICE_REGION: &str = "us-east-1";

/// Event sources of the services AWS lists as global: their events, when recorded in [`GLOBAL_SERVICE_REGION`], go
/// only to trails that include global service events.
pub const GLOBAL_SERVICE_SOURCES: [&str; 13] = [
    "iam.amazonaws.com",
    "sts.amazonaws.com",
    "cloudfront.amazonaws.com",
    "route53.amazonaws.com",
    "organizations.amazonaws.com",
    "waf.amazonaws.com",
    "shield.amazonaws.com",
    "globalaccelerator.amazonaws.com",
    "account.amazonaws.com",
    "billingconsole.amazonaws.com",
    "health.amazonaws.com",
    "networkmanager.amazonaws.com",
    "signin.amazonaws.com",
];

/// The members of a CloudTrail record that trail selection reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventView {
    pub recipient_account_id: String,
    pub aws_region: String,
    pub event_source: String,
    pub event_name: String,
    /// `eventCategory`; "Management" when the record has none, as in records older than event version 1.07.
    pub event_category: String,
    /// `managementEvent` when the record has it, else whether the category is Management.
    pub management_event: bool,
    /// `readOnly`, from a JSON boolean or the strings "true" and "false"; `None` for events that are neither
    /// (many non-API events).
    pub read_only: Option<bool>,
    pub event_type: Option<String>,
    pub session_credential_from_console: Option<bool>,
    /// `userIdentity.arn`.
    pub user_identity_arn: Option<String>,
    pub error_code: Option<String>,
    pub vpc_endpoint_id: Option<String>,
    /// `resources[]` as (type, ARN) pairs; the ARN is read from `ARN`, or from `arn` as some producers write it.
    pub resources: Vec<(Option<String>, Option<String>)>,
    /// `eventTime` as written (`YYYY-MM-DDTHH:MM:SSZ` in CloudTrail records).
    pub event_time: Option<String>,
}

impl EventView {
    /// Reads the view of one record (a JSON object). `None` when the payload is not a JSON object or lacks one of
    /// eventSource, eventName, recipientAccountId and awsRegion as a string: such a record cannot be routed.
    pub fn parse(payload: &[u8]) -> Option<EventView> {
        let raw: RawRecord = serde_json::from_slice(payload).ok()?;
        let event_category = raw.event_category.0.unwrap_or_else(|| "Management".to_string());
        Some(EventView {
            recipient_account_id: raw.recipient_account_id.0?,
            aws_region: raw.aws_region.0?,
            event_source: raw.event_source.0?,
            event_name: raw.event_name.0?,
            management_event: raw.management_event.0.unwrap_or(event_category == "Management"),
            event_category,
            read_only: raw.read_only.0,
            event_type: raw.event_type.0,
            session_credential_from_console: raw.session_credential_from_console.0,
            user_identity_arn: raw.user_identity.0,
            error_code: raw.error_code.0,
            vpc_endpoint_id: raw.vpc_endpoint_id.0,
            resources: raw.resources.0,
            event_time: raw.event_time.0,
        })
    }

    /// Whether AWS treats the event as a global service event: one of [`GLOBAL_SERVICE_SOURCES`] recorded in
    /// [`GLOBAL_SERVICE_REGION`]. The same services called through a regional endpoint (STS in eu-west-1, say) are
    /// recorded in that region and are ordinary regional events there.
    pub fn is_global_service_event(&self) -> bool {
        self.aws_region == GLOBAL_SERVICE_REGION && GLOBAL_SERVICE_SOURCES.contains(&self.event_source.as_str())
    }
}

impl EventSelectors {
    /// Whether these selectors select the event, as CloudTrail evaluates them for a trail: basic selectors as
    /// management and data resource rules, advanced selectors as field conditions. Insight events are never
    /// selected: they are produced from the selected events, not selected themselves.
    pub fn selects(&self, e: &EventView) -> bool {
        if e.event_category == "Insight" {
            return false;
        }
        match self {
            EventSelectors::Basic(selectors) => selectors.iter().any(|s| basic_selects(s, e)),
            EventSelectors::Advanced(selectors) => selectors.iter().any(|s| advanced_selects(s, e)),
        }
    }
}

impl Trail {
    /// Whether this trail delivers the event, whatever its logging state: the event's account is the trail's (or,
    /// for an organization trail, one for which `in_organization` holds), its region is covered, a global service
    /// event is wanted, and the selectors select it. Insight events are never taken here; they are delivered by the
    /// trail's insight selectors.
    pub fn takes(&self, e: &EventView, in_organization: impl Fn(&str) -> bool) -> bool {
        if e.event_category == "Insight" {
            return false;
        }
        let account = e.recipient_account_id == self.account_id
            || (self.organization_id.is_some() && in_organization(&e.recipient_account_id));
        let region = self.is_multi_region_trail || e.aws_region == self.home_region;
        let global = self.include_global_service_events || !e.is_global_service_event();
        account && region && global && self.event_selectors.selects(e)
    }
}

/// Whether a basic selector's ReadWriteType admits the event. An event without readOnly is neither a read nor a
/// write, so only All admits it; a value other than the three AWS accepts (refused by validation) admits nothing.
fn read_write_admits(read_write_type: &str, read_only: Option<bool>) -> bool {
    match read_write_type {
        "All" => true,
        "ReadOnly" => read_only == Some(true),
        "WriteOnly" => read_only == Some(false),
        _ => false,
    }
}

fn basic_selects(s: &EventSelector, e: &EventView) -> bool {
    match e.event_category.as_str() {
        "Management" => {
            e.management_event
                && s.include_management_events
                && read_write_admits(&s.read_write_type, e.read_only)
                && !s.exclude_management_event_sources.contains(&e.event_source)
        }
        "Data" => {
            read_write_admits(&s.read_write_type, e.read_only) && s.data_resources.iter().any(|r| data_matches(r, e))
        }
        // Network activity needs advanced selectors; any other category has no basic selector that names it.
        _ => false,
    }
}

/// Whether a basic data resource matches one of the event's resources of the same type.
fn data_matches(r: &DataResource, e: &EventView) -> bool {
    let Some(ty) = r.r#type.as_deref() else { return false };
    let arns = || e.resources.iter().filter(|(t, _)| t.as_deref() == Some(ty)).filter_map(|(_, a)| a.as_deref());
    r.values.iter().any(|v| arns().any(|arn| data_value_matches(ty, v, arn)))
}

fn data_value_matches(ty: &str, value: &str, arn: &str) -> bool {
    // "arn:aws:<service>" (optionally with the colons that follow) means every resource of the type, whichever
    // account or partition owns it.
    let all = |service: &str| {
        value
            .strip_prefix("arn:aws:")
            .and_then(|rest| rest.strip_prefix(service))
            .is_some_and(|rest| rest.bytes().all(|b| b == b':') && rest.len() <= if service == "s3" { 3 } else { 1 })
    };
    match ty {
        // Values are ARN prefixes: a bucket followed by "/" is every object in it, anything longer a key prefix.
        "AWS::S3::Object" => all("s3") || arn.starts_with(value),
        // Function ARNs are exact ("helloworld" does not select "helloworld2"), but a function ARN without
        // qualifier also covers its invocations through a version or alias, which the record names by the
        // qualified ARN.
        "AWS::Lambda::Function" => {
            all("lambda")
                || arn == value
                || (value.split(':').count() == 7
                    && arn
                        .strip_prefix(value)
                        .and_then(|q| q.strip_prefix(':'))
                        .is_some_and(|q| !q.is_empty() && !q.contains(':')))
        }
        "AWS::DynamoDB::Table" => all("dynamodb") || arn == value,
        _ => false,
    }
}

/// An advanced selector selects the event when every one of its field selectors holds.
pub(crate) fn advanced_selects(s: &AdvancedEventSelector, e: &EventView) -> bool {
    let type_field = s.field_selectors.iter().find(|f| f.field == "resources.type");
    s.field_selectors.iter().all(|f| field_holds(f, e, type_field))
}

fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn field_holds(f: &AdvancedFieldSelector, e: &EventView, type_field: Option<&AdvancedFieldSelector>) -> bool {
    let value = match f.field.as_str() {
        "eventCategory" => Some(e.event_category.as_str()),
        "eventSource" => Some(e.event_source.as_str()),
        "eventName" => Some(e.event_name.as_str()),
        "eventType" => e.event_type.as_deref(),
        "readOnly" => e.read_only.map(bool_str),
        "errorCode" => e.error_code.as_deref(),
        "vpcEndpointId" => e.vpc_endpoint_id.as_deref(),
        "sessionCredentialFromConsole" => e.session_credential_from_console.map(bool_str),
        "userIdentity.arn" => e.user_identity_arn.as_deref(),
        "resources.type" => {
            return if e.resources.is_empty() {
                conditions_hold(f, None)
            } else {
                e.resources.iter().any(|(t, _)| conditions_hold(f, t.as_deref()))
            };
        }
        "resources.ARN" => {
            // The ARN conditions apply to the resources of the selected type: an S3 data event names the bucket
            // and the object, and a prefix meant for object ARNs must not be tested against the bucket's.
            let mut candidates = e
                .resources
                .iter()
                .filter(|(t, _)| type_field.is_none_or(|tf| conditions_hold(tf, t.as_deref())))
                .peekable();
            return if candidates.peek().is_none() {
                conditions_hold(f, None)
            } else {
                candidates.any(|(_, arn)| conditions_hold(f, arn.as_deref()))
            };
        }
        // Validation refuses other fields; one the record cannot have reads as a missing member.
        _ => None,
    };
    conditions_hold(f, value)
}

/// Whether every operator of a field selector holds for one value of the field (`None` when the record lacks it):
/// a positive operator holds when one of its values matches, a negative one when none does. A missing member
/// matches no value, so positive operators fail on it and negative ones hold.
fn conditions_hold(f: &AdvancedFieldSelector, value: Option<&str>) -> bool {
    fn positive(values: Option<&Vec<String>>, value: Option<&str>, m: fn(&str, &str) -> bool) -> bool {
        values.is_none_or(|vs| value.is_some_and(|v| vs.iter().any(|x| m(v, x))))
    }
    fn negative(values: Option<&Vec<String>>, value: Option<&str>, m: fn(&str, &str) -> bool) -> bool {
        values.is_none_or(|vs| value.is_none_or(|v| !vs.iter().any(|x| m(v, x))))
    }
    let equals: fn(&str, &str) -> bool = |v, x| v == x;
    let starts: fn(&str, &str) -> bool = |v, x| v.starts_with(x);
    let ends: fn(&str, &str) -> bool = |v, x| v.ends_with(x);
    positive(f.equals.as_ref(), value, equals)
        && positive(f.starts_with.as_ref(), value, starts)
        && positive(f.ends_with.as_ref(), value, ends)
        && negative(f.not_equals.as_ref(), value, equals)
        && negative(f.not_starts_with.as_ref(), value, starts)
        && negative(f.not_ends_with.as_ref(), value, ends)
}

// Reading a record. Each member type below reads any JSON value, keeps what it can use and skips the rest, so that
// one odd member (a number where a string was expected, an object where a list was) never makes the record
// unreadable. The record itself is read by a map visitor rather than a derived one, which would refuse a record that
// repeats a member; here the last occurrence wins, as in most JSON readers.

/// A value read from any JSON value: the shapes it has no use for read as `Default` and are skipped unparsed.
trait Loose: Default {
    fn from_str(_: &str) -> Self {
        Self::default()
    }
    fn from_bool(_: bool) -> Self {
        Self::default()
    }
    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::default())
    }
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Self::default())
    }
}

struct LooseVisitor<T>(PhantomData<T>);

impl<'de, T: Loose> Visitor<'de> for LooseVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E>(self, v: &str) -> Result<T, E> {
        Ok(T::from_str(v))
    }
    fn visit_bool<E>(self, v: bool) -> Result<T, E> {
        Ok(T::from_bool(v))
    }
    fn visit_i64<E>(self, _: i64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_unit<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_none<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::from_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::from_map(map)
    }
}

macro_rules! deserialize_loose {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(LooseVisitor(PhantomData))
            }
        }
    )*};
}

deserialize_loose!(RawRecord, LooseString, LooseBool, IdentityArn, Resources, Resource);

/// The members of the record a view is made from; a payload that is not an object reads as a record without any.
#[derive(Default)]
struct RawRecord {
    recipient_account_id: LooseString,
    aws_region: LooseString,
    event_source: LooseString,
    event_name: LooseString,
    event_category: LooseString,
    management_event: LooseBool,
    read_only: LooseBool,
    event_type: LooseString,
    session_credential_from_console: LooseBool,
    user_identity: IdentityArn,
    error_code: LooseString,
    vpc_endpoint_id: LooseString,
    resources: Resources,
    event_time: LooseString,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum RecordMember {
    RecipientAccountId,
    AwsRegion,
    EventSource,
    EventName,
    EventCategory,
    ManagementEvent,
    ReadOnly,
    EventType,
    SessionCredentialFromConsole,
    UserIdentity,
    ErrorCode,
    VpcEndpointId,
    Resources,
    EventTime,
    #[serde(other)]
    Other,
}

impl Loose for RawRecord {
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut r = RawRecord::default();
        while let Some(key) = map.next_key::<RecordMember>()? {
            match key {
                RecordMember::RecipientAccountId => r.recipient_account_id = map.next_value()?,
                RecordMember::AwsRegion => r.aws_region = map.next_value()?,
                RecordMember::EventSource => r.event_source = map.next_value()?,
                RecordMember::EventName => r.event_name = map.next_value()?,
                RecordMember::EventCategory => r.event_category = map.next_value()?,
                RecordMember::ManagementEvent => r.management_event = map.next_value()?,
                RecordMember::ReadOnly => r.read_only = map.next_value()?,
                RecordMember::EventType => r.event_type = map.next_value()?,
                RecordMember::SessionCredentialFromConsole => r.session_credential_from_console = map.next_value()?,
                RecordMember::UserIdentity => r.user_identity = map.next_value()?,
                RecordMember::ErrorCode => r.error_code = map.next_value()?,
                RecordMember::VpcEndpointId => r.vpc_endpoint_id = map.next_value()?,
                RecordMember::Resources => r.resources = map.next_value()?,
                RecordMember::EventTime => r.event_time = map.next_value()?,
                RecordMember::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(r)
    }
}

/// A string member, absent when it is not a string.
#[derive(Default)]
struct LooseString(Option<String>);

impl Loose for LooseString {
    fn from_str(v: &str) -> Self {
        LooseString(Some(v.to_string()))
    }
}

/// A boolean member written as `true`/`false` or as the strings "true"/"false"; absent otherwise.
#[derive(Default)]
struct LooseBool(Option<bool>);

impl Loose for LooseBool {
    fn from_str(v: &str) -> Self {
        LooseBool(match v {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
    }
    fn from_bool(v: bool) -> Self {
        LooseBool(Some(v))
    }
}

/// `userIdentity.arn`, when userIdentity is an object with a string arn.
#[derive(Default)]
struct IdentityArn(Option<String>);

#[derive(Deserialize)]
#[serde(field_identifier)]
enum IdentityMember {
    #[serde(rename = "arn")]
    Arn,
    #[serde(other)]
    Other,
}

impl Loose for IdentityArn {
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut arn = None;
        while let Some(key) = map.next_key::<IdentityMember>()? {
            match key {
                IdentityMember::Arn => arn = map.next_value::<LooseString>()?.0,
                IdentityMember::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(IdentityArn(arn))
    }
}

/// `resources[]` as (type, ARN) pairs; elements that are not objects are left out.
#[derive(Default)]
struct Resources(Vec<(Option<String>, Option<String>)>);

impl Loose for Resources {
    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut out = Vec::new();
        while let Some(r) = seq.next_element::<Resource>()? {
            out.extend(r.0);
        }
        Ok(Resources(out))
    }
}

/// One element of `resources`: `None` unless it is an object.
#[derive(Default)]
struct Resource(Option<(Option<String>, Option<String>)>);

#[derive(Deserialize)]
#[serde(field_identifier)]
enum ResourceMember {
    #[serde(rename = "type")]
    Type,
    #[serde(rename = "ARN", alias = "arn")]
    Arn,
    #[serde(other)]
    Other,
}

impl Loose for Resource {
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let (mut ty, mut arn) = (None, None);
        while let Some(key) = map.next_key::<ResourceMember>()? {
            match key {
                ResourceMember::Type => ty = map.next_value::<LooseString>()?.0,
                ResourceMember::Arn => arn = map.next_value::<LooseString>()?.0,
                ResourceMember::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Resource(Some((ty, arn))))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    const ACCOUNT: &str = "111111111111";
    const BUCKET_OBJECT: &str = "arn:aws:s3:::amzn-s3-demo-bucket1/photos/cat.jpg";
    const HELLOWORLD: &str = "arn:aws:lambda:us-west-2:111111111111:function:helloworld";
    const ORDERS: &str = "arn:aws:dynamodb:us-east-2:111111111111:table/Orders";

    // The project's own CloudTrail records, one per kind of event selection must tell apart (tests/fixtures/records).
    const CONSOLE_LOGIN: &str = include_str!("../tests/fixtures/records/console-login.json");
    const STS_ASSUME_ROLE_REGIONAL: &str = include_str!("../tests/fixtures/records/sts-assume-role-regional.json");
    const IAM_CREATE_ACCESS_KEY: &str = include_str!("../tests/fixtures/records/iam-create-access-key.json");
    const S3_GET_OBJECT: &str = include_str!("../tests/fixtures/records/s3-get-object.json");
    const LAMBDA_INVOKE: &str = include_str!("../tests/fixtures/records/lambda-invoke.json");
    const DYNAMODB_GET_ITEM: &str = include_str!("../tests/fixtures/records/dynamodb-get-item.json");
    const KMS_DECRYPT_BY_SERVICE: &str = include_str!("../tests/fixtures/records/kms-decrypt-by-service.json");
    const EC2_RUN_INSTANCES_DENIED: &str = include_str!("../tests/fixtures/records/ec2-run-instances-denied.json");
    const NETWORK_ACTIVITY_DENIED: &str = include_str!("../tests/fixtures/records/network-activity-denied.json");
    const KMS_DELETE_KEY_SERVICE_EVENT: &str =
        include_str!("../tests/fixtures/records/kms-delete-key-service-event.json");
    const SSM_GET_PARAMETERS: &str = include_str!("../tests/fixtures/records/ssm-get-parameters.json");
    const INSIGHT_START: &str = include_str!("../tests/fixtures/records/insight-start.json");
    const LEGACY_LOG_FILE: &str = include_str!("../tests/fixtures/records/legacy-log-file.json");
    /// The account of the fixture records.
    const FIXTURE_ACCOUNT: &str = "210987654321";

    /// Record `index` of a fixture file (a single record, a JSON array of records, or a `{"Records": [...]}` log
    /// file), read the way the delivery path reads it: from the record's bytes.
    fn fixture(file: &str, index: usize) -> EventView {
        EventView::parse(&fixture_bytes(file, index)).expect("a routable record")
    }

    fn fixture_bytes(file: &str, index: usize) -> Vec<u8> {
        let v: Value = serde_json::from_str(file).unwrap();
        let record = match &v {
            Value::Array(records) => records[index].clone(),
            Value::Object(o) if o.contains_key("Records") => v["Records"][index].clone(),
            _ => v.clone(),
        };
        serde_json::to_vec(&record).unwrap()
    }

    /// A write management event (EC2 RunInstances in us-east-2), with `changes` merged in; a `null` removes a member.
    fn event(changes: Value) -> EventView {
        let mut v = json!({
            "eventVersion": "1.11",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/Alice", "accountId": ACCOUNT},
            "eventTime": "2026-01-01T00:00:00Z",
            "eventSource": "ec2.amazonaws.com",
            "eventName": "RunInstances",
            "awsRegion": "us-east-2",
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
        });
        for (k, c) in changes.as_object().unwrap() {
            if c.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = c.clone();
            }
        }
        EventView::parse(&serde_json::to_vec(&v).unwrap()).unwrap()
    }

    fn write_event() -> EventView {
        event(json!({}))
    }

    fn read_event() -> EventView {
        event(json!({"eventName": "DescribeInstances", "readOnly": true}))
    }

    /// A management event that is neither read nor write, as many non-API events are.
    fn neither_event() -> EventView {
        event(
            json!({"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "eventType": "AwsConsoleSignIn", "readOnly": null}),
        )
    }

    fn source_event(source: &str, name: &str, read_only: bool) -> EventView {
        event(json!({"eventSource": source, "eventName": name, "readOnly": read_only}))
    }

    /// A data event on the given resources.
    fn data_event(source: &str, name: &str, read_only: bool, resources: Value) -> EventView {
        event(json!({
            "eventSource": source,
            "eventName": name,
            "readOnly": read_only,
            "managementEvent": false,
            "eventCategory": "Data",
            "resources": resources,
        }))
    }

    /// An S3 object data event: the record names the object and its bucket, as S3 does.
    fn s3_event(name: &str, object_arn: &str) -> EventView {
        let bucket = object_arn.split('/').next().unwrap();
        data_event(
            "s3.amazonaws.com",
            name,
            name.starts_with("Get") || name.starts_with("Head"),
            json!([
                {"type": "AWS::S3::Object", "ARN": object_arn},
                {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": bucket},
            ]),
        )
    }

    fn get_object() -> EventView {
        s3_event("GetObject", BUCKET_OBJECT)
    }

    fn lambda_event(function_arn: &str) -> EventView {
        data_event(
            "lambda.amazonaws.com",
            "Invoke",
            false,
            json!([{"type": "AWS::Lambda::Function", "ARN": function_arn}]),
        )
    }

    fn dynamodb_event(table_arn: &str) -> EventView {
        data_event(
            "dynamodb.amazonaws.com",
            "GetItem",
            true,
            json!([{"type": "AWS::DynamoDB::Table", "ARN": table_arn}]),
        )
    }

    /// A network activity event (an API call through a VPC endpoint), with `changes` merged in.
    fn network_event(source: &str, changes: Value) -> EventView {
        let mut v = json!({
            "eventSource": source,
            "eventName": "ListTrails",
            "readOnly": true,
            "managementEvent": false,
            "eventCategory": "NetworkActivity",
            "eventType": "AwsVpceEvent",
            "vpcEndpointId": "vpce-1111aaaa2222bbbb3",
        });
        for (k, c) in changes.as_object().unwrap() {
            v[k] = c.clone();
        }
        event(v)
    }

    fn insight_event() -> EventView {
        event(
            json!({"eventCategory": "Insight", "eventType": "AwsCloudTrailInsight", "managementEvent": null, "readOnly": null}),
        )
    }

    fn basic(v: Value) -> EventSelectors {
        EventSelectors::Basic(serde_json::from_value(v).unwrap())
    }

    fn advanced(v: Value) -> EventSelectors {
        EventSelectors::Advanced(serde_json::from_value::<Vec<AdvancedEventSelector>>(v).unwrap())
    }

    fn s3_bucket(values: &[&str], read_write: &str) -> EventSelectors {
        basic(json!([{"ReadWriteType": read_write, "IncludeManagementEvents": false,
            "DataResources": [{"Type": "AWS::S3::Object", "Values": values}]}]))
    }

    fn data_resource(ty: &str, values: &[&str]) -> EventSelectors {
        basic(json!([{"IncludeManagementEvents": false, "DataResources": [{"Type": ty, "Values": values}]}]))
    }

    fn management(more: Value) -> EventSelectors {
        let mut fields = vec![json!({"Field": "eventCategory", "Equals": ["Management"]})];
        fields.extend(more.as_array().unwrap().iter().cloned());
        advanced(json!([{"Name": "management", "FieldSelectors": fields}]))
    }

    /// An advanced data selector on `resources.type` `ty` with the extra field selectors given.
    fn data(ty: &str, more: Value) -> EventSelectors {
        let mut fields = vec![
            json!({"Field": "eventCategory", "Equals": ["Data"]}),
            json!({"Field": "resources.type", "Equals": [ty]}),
        ];
        fields.extend(more.as_array().unwrap().iter().cloned());
        advanced(json!([{"FieldSelectors": fields}]))
    }

    fn s3_data(more: Value) -> EventSelectors {
        data("AWS::S3::Object", more)
    }

    fn network(more: Value) -> EventSelectors {
        let mut fields = vec![json!({"Field": "eventCategory", "Equals": ["NetworkActivity"]})];
        fields.extend(more.as_array().unwrap().iter().cloned());
        advanced(json!([{"FieldSelectors": fields}]))
    }

    fn check_selection(cases: Vec<(&str, EventView, EventSelectors, bool)>) {
        for (name, e, selectors, expected) in &cases {
            // Every selector here is one a trail can hold, so the table also exercises what validation lets through.
            assert_eq!(selectors.validate(), Ok(()), "{name}: selectors must be valid");
            assert_eq!(selectors.selects(e), *expected, "{name}: {e:?}");
        }
    }

    #[test]
    fn basic_selectors() {
        let default = EventSelectors::default;
        let read_only = || basic(json!([{"ReadWriteType": "ReadOnly"}]));
        let write_only = || basic(json!([{"ReadWriteType": "WriteOnly"}]));
        let bucket1 = "arn:aws:s3:::amzn-s3-demo-bucket1/";
        let cases = vec![
            ("default selects write management", write_event(), default(), true),
            ("default selects read management", read_event(), default(), true),
            ("default selects management without readOnly", neither_event(), default(), true),
            ("default selects no S3 data", get_object(), default(), false),
            ("default selects no Lambda data", lambda_event(HELLOWORLD), default(), false),
            (
                "default selects no network activity",
                network_event("cloudtrail.amazonaws.com", json!({})),
                default(),
                false,
            ),
            ("default selects no insight", insight_event(), default(), false),
            ("unknown category", event(json!({"eventCategory": "ConfigurationItem"})), default(), false),
            ("no basic selectors select nothing", write_event(), basic(json!([])), false),
            ("ReadOnly takes reads", read_event(), read_only(), true),
            ("ReadOnly drops writes", write_event(), read_only(), false),
            ("ReadOnly drops events without readOnly", neither_event(), read_only(), false),
            ("WriteOnly takes writes", write_event(), write_only(), true),
            ("WriteOnly drops reads", read_event(), write_only(), false),
            ("WriteOnly drops events without readOnly", neither_event(), write_only(), false),
            ("readOnly as a string", event(json!({"readOnly": "true"})), read_only(), true),
            (
                "IncludeManagementEvents false",
                write_event(),
                basic(
                    json!([{"IncludeManagementEvents": false, "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]),
                ),
                false,
            ),
            (
                "managementEvent false is not a management event",
                event(json!({"managementEvent": false})),
                default(),
                false,
            ),
            (
                "KMS excluded",
                source_event("kms.amazonaws.com", "Decrypt", true),
                basic(json!([{"ExcludeManagementEventSources": ["kms.amazonaws.com"]}])),
                false,
            ),
            (
                "KMS exclusion keeps other sources",
                write_event(),
                basic(json!([{"ExcludeManagementEventSources": ["kms.amazonaws.com"]}])),
                true,
            ),
            (
                "RDS Data excluded",
                source_event("rdsdata.amazonaws.com", "ExecuteStatement", false),
                basic(json!([{"ExcludeManagementEventSources": ["kms.amazonaws.com", "rdsdata.amazonaws.com"]}])),
                false,
            ),
            (
                "KMS exclusion keeps RDS Data",
                source_event("rdsdata.amazonaws.com", "ExecuteStatement", false),
                basic(json!([{"ExcludeManagementEventSources": ["kms.amazonaws.com"]}])),
                true,
            ),
            (
                "KMS excluded by one selector, kept by another",
                source_event("kms.amazonaws.com", "Decrypt", true),
                basic(json!([{"ExcludeManagementEventSources": ["kms.amazonaws.com"]}, {"ReadWriteType": "ReadOnly"}])),
                true,
            ),
            ("S3 all objects (arn:aws:s3)", get_object(), s3_bucket(&["arn:aws:s3"], "All"), true),
            ("S3 all objects (arn:aws:s3:::)", get_object(), s3_bucket(&["arn:aws:s3:::"], "All"), true),
            (
                "S3 all objects (arn:aws:s3:::), any bucket",
                s3_event("GetObject", "arn:aws:s3:::other/k"),
                s3_bucket(&["arn:aws:s3:::"], "All"),
                true,
            ),
            (
                "S3 all objects covers other partitions",
                s3_event("GetObject", "arn:aws-cn:s3:::bucket-cn/a"),
                s3_bucket(&["arn:aws:s3"], "All"),
                true,
            ),
            ("S3 bucket", get_object(), s3_bucket(&[bucket1], "All"), true),
            (
                "S3 other bucket",
                s3_event("GetObject", "arn:aws:s3:::amzn-s3-demo-bucket2/photos/cat.jpg"),
                s3_bucket(&[bucket1], "All"),
                false,
            ),
            (
                "S3 bucket name is not a bucket prefix",
                s3_event("GetObject", "arn:aws:s3:::amzn-s3-demo-bucket10/photos/cat.jpg"),
                s3_bucket(&[bucket1], "All"),
                false,
            ),
            ("S3 object prefix", get_object(), s3_bucket(&["arn:aws:s3:::amzn-s3-demo-bucket1/photos/"], "All"), true),
            (
                "S3 object outside prefix",
                s3_event("GetObject", "arn:aws:s3:::amzn-s3-demo-bucket1/docs/a.pdf"),
                s3_bucket(&["arn:aws:s3:::amzn-s3-demo-bucket1/photos/"], "All"),
                false,
            ),
            (
                "S3 one of several values",
                get_object(),
                s3_bucket(&["arn:aws:s3:::amzn-s3-demo-bucket2/", bucket1], "All"),
                true,
            ),
            ("S3 read with ReadOnly", get_object(), s3_bucket(&[bucket1], "ReadOnly"), true),
            ("S3 read with WriteOnly", get_object(), s3_bucket(&[bucket1], "WriteOnly"), false),
            ("S3 write with WriteOnly", s3_event("PutObject", BUCKET_OBJECT), s3_bucket(&[bucket1], "WriteOnly"), true),
            (
                "S3 data without readOnly only with All",
                data_event(
                    "s3.amazonaws.com",
                    "GetObject",
                    true,
                    json!([{"type": "AWS::S3::Object", "ARN": BUCKET_OBJECT}]),
                )
                .with_read_only(None),
                s3_bucket(&[bucket1], "ReadOnly"),
                false,
            ),
            (
                "S3 selector ignores S3 on Outposts",
                data_event(
                    "s3-outposts.amazonaws.com",
                    "GetObject",
                    true,
                    json!([{"type": "AWS::S3Outposts::Object", "ARN": "arn:aws:s3-outposts:us-east-2:111111111111:outpost/op-1/bucket/b/object/k"}]),
                ),
                s3_bucket(&["arn:aws:s3"], "All"),
                false,
            ),
            (
                "S3 selector does not take management events when they are off",
                write_event(),
                s3_bucket(&[bucket1], "All"),
                false,
            ),
            (
                "S3 selector with management events on",
                write_event(),
                basic(json!([{"DataResources": [{"Type": "AWS::S3::Object", "Values": [bucket1]}]}])),
                true,
            ),
            (
                "Lambda all functions",
                lambda_event(HELLOWORLD),
                data_resource("AWS::Lambda::Function", &["arn:aws:lambda"]),
                true,
            ),
            (
                "Lambda all functions (colon)",
                lambda_event(HELLOWORLD),
                data_resource("AWS::Lambda::Function", &["arn:aws:lambda:"]),
                true,
            ),
            ("Lambda function", lambda_event(HELLOWORLD), data_resource("AWS::Lambda::Function", &[HELLOWORLD]), true),
            (
                "Lambda function ARNs are exact",
                lambda_event("arn:aws:lambda:us-west-2:111111111111:function:helloworld2"),
                data_resource("AWS::Lambda::Function", &[HELLOWORLD]),
                false,
            ),
            (
                "Lambda function covers its qualified ARN",
                lambda_event("arn:aws:lambda:us-west-2:111111111111:function:helloworld:prod"),
                data_resource("AWS::Lambda::Function", &[HELLOWORLD]),
                true,
            ),
            (
                "Lambda qualified value takes that qualifier",
                lambda_event("arn:aws:lambda:us-west-2:111111111111:function:helloworld:prod"),
                data_resource(
                    "AWS::Lambda::Function",
                    &["arn:aws:lambda:us-west-2:111111111111:function:helloworld:prod"],
                ),
                true,
            ),
            (
                "Lambda qualified value leaves other qualifiers",
                lambda_event("arn:aws:lambda:us-west-2:111111111111:function:helloworld:dev"),
                data_resource(
                    "AWS::Lambda::Function",
                    &["arn:aws:lambda:us-west-2:111111111111:function:helloworld:prod"],
                ),
                false,
            ),
            (
                "Lambda qualified value leaves the unqualified function",
                lambda_event(HELLOWORLD),
                data_resource(
                    "AWS::Lambda::Function",
                    &["arn:aws:lambda:us-west-2:111111111111:function:helloworld:prod"],
                ),
                false,
            ),
            (
                "Lambda selector ignores S3",
                get_object(),
                data_resource("AWS::Lambda::Function", &["arn:aws:lambda"]),
                false,
            ),
            ("S3 selector ignores Lambda", lambda_event(HELLOWORLD), s3_bucket(&["arn:aws:s3"], "All"), false),
            (
                "DynamoDB all tables",
                dynamodb_event(ORDERS),
                data_resource("AWS::DynamoDB::Table", &["arn:aws:dynamodb"]),
                true,
            ),
            ("DynamoDB table", dynamodb_event(ORDERS), data_resource("AWS::DynamoDB::Table", &[ORDERS]), true),
            (
                "DynamoDB table ARNs are exact",
                dynamodb_event("arn:aws:dynamodb:us-east-2:111111111111:table/OrdersArchive"),
                data_resource("AWS::DynamoDB::Table", &[ORDERS]),
                false,
            ),
            (
                "OR across selectors: data",
                get_object(),
                basic(
                    json!([{"ReadWriteType": "WriteOnly"}, {"IncludeManagementEvents": false, "DataResources": [{"Type": "AWS::S3::Object", "Values": [bucket1]}]}]),
                ),
                true,
            ),
            (
                "OR across selectors: management",
                write_event(),
                basic(
                    json!([{"ReadWriteType": "WriteOnly"}, {"IncludeManagementEvents": false, "DataResources": [{"Type": "AWS::S3::Object", "Values": [bucket1]}]}]),
                ),
                true,
            ),
            (
                "OR across selectors: neither",
                read_event(),
                basic(
                    json!([{"ReadWriteType": "WriteOnly"}, {"IncludeManagementEvents": false, "DataResources": [{"Type": "AWS::S3::Object", "Values": [bucket1]}]}]),
                ),
                false,
            ),
            (
                "network activity needs advanced selectors",
                network_event("s3.amazonaws.com", json!({})),
                s3_bucket(&["arn:aws:s3"], "All"),
                false,
            ),
            ("insight with every basic option", insight_event(), basic(json!([{"ReadWriteType": "All"}])), false),
        ];
        check_selection(cases);
    }

    #[test]
    fn advanced_selectors() {
        let bucket1 = "arn:aws:s3:::amzn-s3-demo-bucket1/";
        let cases = vec![
            ("management: write", write_event(), management(json!([])), true),
            ("management: read", read_event(), management(json!([])), true),
            ("management: neither read nor write", neither_event(), management(json!([])), true),
            ("management: no data", get_object(), management(json!([])), false),
            (
                "management: no network activity",
                network_event("ec2.amazonaws.com", json!({})),
                management(json!([])),
                false,
            ),
            ("management: no insight", insight_event(), management(json!([])), false),
            ("readOnly true: read", read_event(), management(json!([{"Field": "readOnly", "Equals": ["true"]}])), true),
            (
                "readOnly true: write",
                write_event(),
                management(json!([{"Field": "readOnly", "Equals": ["true"]}])),
                false,
            ),
            (
                "readOnly true: missing",
                neither_event(),
                management(json!([{"Field": "readOnly", "Equals": ["true"]}])),
                false,
            ),
            (
                "readOnly false: write",
                write_event(),
                management(json!([{"Field": "readOnly", "Equals": ["false"]}])),
                true,
            ),
            (
                "readOnly false: read",
                read_event(),
                management(json!([{"Field": "readOnly", "Equals": ["false"]}])),
                false,
            ),
            (
                "eventSource NotEquals kms: KMS",
                source_event("kms.amazonaws.com", "Decrypt", true),
                management(json!([{"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}])),
                false,
            ),
            (
                "eventSource NotEquals kms: EC2",
                write_event(),
                management(json!([{"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}])),
                true,
            ),
            (
                "eventSource NotEquals kms, rdsdata: RDS Data (no value may match)",
                source_event("rdsdata.amazonaws.com", "ExecuteStatement", false),
                management(
                    json!([{"Field": "eventSource", "NotEquals": ["kms.amazonaws.com", "rdsdata.amazonaws.com"]}]),
                ),
                false,
            ),
            (
                "eventSource NotEquals and readOnly: AND across fields",
                source_event("kms.amazonaws.com", "CreateKey", false),
                management(json!([
                    {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]},
                    {"Field": "readOnly", "Equals": ["false"]},
                ])),
                false,
            ),
            ("S3: every object", get_object(), s3_data(json!([])), true),
            ("S3: not a management event", write_event(), s3_data(json!([])), false),
            ("S3: not a Lambda event", lambda_event(HELLOWORLD), s3_data(json!([])), false),
            (
                "S3: data event without resources",
                data_event("s3.amazonaws.com", "GetObject", true, json!([])),
                s3_data(json!([])),
                false,
            ),
            (
                "resources.ARN StartsWith: bucket",
                get_object(),
                s3_data(json!([{"Field": "resources.ARN", "StartsWith": [bucket1]}])),
                true,
            ),
            (
                "resources.ARN StartsWith: other bucket",
                s3_event("GetObject", "arn:aws:s3:::amzn-s3-demo-bucket2/a"),
                s3_data(json!([{"Field": "resources.ARN", "StartsWith": [bucket1]}])),
                false,
            ),
            (
                "resources.ARN StartsWith any value",
                s3_event("GetObject", "arn:aws:s3:::amzn-s3-demo-bucket2/a"),
                s3_data(
                    json!([{"Field": "resources.ARN", "StartsWith": [bucket1, "arn:aws:s3:::amzn-s3-demo-bucket2/"]}]),
                ),
                true,
            ),
            (
                "resources.ARN only tests resources of the selected type",
                get_object(),
                s3_data(json!([{"Field": "resources.ARN", "Equals": ["arn:aws:s3:::amzn-s3-demo-bucket1"]}])),
                false,
            ),
            (
                "resources.ARN Equals",
                get_object(),
                s3_data(json!([{"Field": "resources.ARN", "Equals": [BUCKET_OBJECT]}])),
                true,
            ),
            (
                "resources.ARN EndsWith",
                get_object(),
                s3_data(json!([{"Field": "resources.ARN", "EndsWith": [".png", ".jpg"]}])),
                true,
            ),
            (
                "resources.ARN EndsWith: no match",
                s3_event("GetObject", "arn:aws:s3:::amzn-s3-demo-bucket1/docs/a.pdf"),
                s3_data(json!([{"Field": "resources.ARN", "EndsWith": [".png", ".jpg"]}])),
                false,
            ),
            (
                "resources.ARN NotEquals: that object",
                get_object(),
                s3_data(json!([{"Field": "resources.ARN", "NotEquals": [BUCKET_OBJECT]}])),
                false,
            ),
            (
                "resources.ARN NotEquals: another object",
                s3_event("GetObject", "arn:aws:s3:::amzn-s3-demo-bucket1/photos/dog.jpg"),
                s3_data(json!([{"Field": "resources.ARN", "NotEquals": [BUCKET_OBJECT]}])),
                true,
            ),
            (
                "resources.ARN NotStartsWith: outside",
                get_object(),
                s3_data(
                    json!([{"Field": "resources.ARN", "NotStartsWith": ["arn:aws:s3:::amzn-s3-demo-bucket1/private/"]}]),
                ),
                true,
            ),
            (
                "resources.ARN NotStartsWith: inside",
                s3_event("GetObject", "arn:aws:s3:::amzn-s3-demo-bucket1/private/key.pem"),
                s3_data(
                    json!([{"Field": "resources.ARN", "NotStartsWith": ["arn:aws:s3:::amzn-s3-demo-bucket1/private/"]}]),
                ),
                false,
            ),
            (
                "resources.ARN NotEndsWith: kept",
                get_object(),
                s3_data(json!([{"Field": "resources.ARN", "NotEndsWith": [".tmp", ".part"]}])),
                true,
            ),
            (
                "resources.ARN NotEndsWith: dropped",
                s3_event("PutObject", "arn:aws:s3:::amzn-s3-demo-bucket1/upload.part"),
                s3_data(json!([{"Field": "resources.ARN", "NotEndsWith": [".tmp", ".part"]}])),
                false,
            ),
            (
                "AND across operators: StartsWith and NotEndsWith hold",
                get_object(),
                s3_data(json!([{"Field": "resources.ARN", "StartsWith": [bucket1], "NotEndsWith": [".tmp"]}])),
                true,
            ),
            (
                "AND across operators: NotEndsWith fails",
                s3_event("PutObject", "arn:aws:s3:::amzn-s3-demo-bucket1/photos/cat.tmp"),
                s3_data(json!([{"Field": "resources.ARN", "StartsWith": [bucket1], "NotEndsWith": [".tmp"]}])),
                false,
            ),
            ("eventName Equals", get_object(), s3_data(json!([{"Field": "eventName", "Equals": ["GetObject"]}])), true),
            (
                "eventName Equals: other name",
                s3_event("PutObject", BUCKET_OBJECT),
                s3_data(json!([{"Field": "eventName", "Equals": ["GetObject"]}])),
                false,
            ),
            (
                "eventName Equals any value",
                s3_event("DeleteObject", BUCKET_OBJECT),
                s3_data(json!([{"Field": "eventName", "Equals": ["PutObject", "DeleteObject"]}])),
                true,
            ),
            (
                "eventName NotEquals: none may match",
                s3_event("DeleteObject", BUCKET_OBJECT),
                s3_data(json!([{"Field": "eventName", "NotEquals": ["PutObject", "DeleteObject"]}])),
                false,
            ),
            (
                "eventName NotEquals: no value matches",
                get_object(),
                s3_data(json!([{"Field": "eventName", "NotEquals": ["PutObject", "DeleteObject"]}])),
                true,
            ),
            (
                "eventName StartsWith and EndsWith",
                get_object(),
                s3_data(json!([{"Field": "eventName", "StartsWith": ["Get"], "EndsWith": ["Object"]}])),
                true,
            ),
            (
                "eventName StartsWith holds, EndsWith fails",
                s3_event("GetObjectAcl", BUCKET_OBJECT),
                s3_data(json!([{"Field": "eventName", "StartsWith": ["Get"], "EndsWith": ["Object"]}])),
                false,
            ),
            (
                "eventName NotStartsWith",
                s3_event("PutObject", BUCKET_OBJECT),
                s3_data(json!([{"Field": "eventName", "NotStartsWith": ["Put", "Delete"]}])),
                false,
            ),
            (
                "eventName NotEndsWith",
                s3_event("GetObjectAcl", BUCKET_OBJECT),
                s3_data(json!([{"Field": "eventName", "NotEndsWith": ["Acl", "Tagging"]}])),
                false,
            ),
            (
                "matching is case-sensitive",
                get_object(),
                s3_data(json!([{"Field": "eventName", "Equals": ["getobject"]}])),
                false,
            ),
            (
                "eventSource Equals",
                get_object(),
                s3_data(json!([{"Field": "eventSource", "Equals": ["s3.amazonaws.com"]}])),
                true,
            ),
            (
                "eventSource StartsWith: other",
                get_object(),
                s3_data(json!([{"Field": "eventSource", "StartsWith": ["s3-outposts."]}])),
                false,
            ),
            ("readOnly true on data", get_object(), s3_data(json!([{"Field": "readOnly", "Equals": ["true"]}])), true),
            (
                "readOnly true on a data write",
                s3_event("PutObject", BUCKET_OBJECT),
                s3_data(json!([{"Field": "readOnly", "Equals": ["true"]}])),
                false,
            ),
            (
                "eventType Equals",
                get_object(),
                s3_data(json!([{"Field": "eventType", "Equals": ["AwsApiCall"]}])),
                true,
            ),
            (
                "eventType Equals: missing",
                get_object().with_event_type(None),
                s3_data(json!([{"Field": "eventType", "Equals": ["AwsApiCall"]}])),
                false,
            ),
            (
                "eventType NotEquals: missing",
                get_object().with_event_type(None),
                s3_data(json!([{"Field": "eventType", "NotEquals": ["AwsServiceEvent"]}])),
                true,
            ),
            (
                "userIdentity.arn StartsWith",
                get_object(),
                s3_data(json!([{"Field": "userIdentity.arn", "StartsWith": ["arn:aws:iam::111111111111:user/"]}])),
                true,
            ),
            (
                "userIdentity.arn Equals: another principal",
                get_object(),
                s3_data(json!([{"Field": "userIdentity.arn", "Equals": ["arn:aws:iam::111111111111:user/Bob"]}])),
                false,
            ),
            (
                "userIdentity.arn NotEndsWith: missing",
                get_object().with_identity(None),
                s3_data(json!([{"Field": "userIdentity.arn", "NotEndsWith": ["/Bob"]}])),
                true,
            ),
            (
                "userIdentity.arn EndsWith: missing",
                get_object().with_identity(None),
                s3_data(json!([{"Field": "userIdentity.arn", "EndsWith": ["/Alice"]}])),
                false,
            ),
            (
                "sessionCredentialFromConsole Equals true",
                get_object().with_console(Some(true)),
                s3_data(json!([{"Field": "sessionCredentialFromConsole", "Equals": ["true"]}])),
                true,
            ),
            (
                "sessionCredentialFromConsole Equals true: missing",
                get_object(),
                s3_data(json!([{"Field": "sessionCredentialFromConsole", "Equals": ["true"]}])),
                false,
            ),
            (
                "sessionCredentialFromConsole NotEquals true: missing",
                get_object(),
                s3_data(json!([{"Field": "sessionCredentialFromConsole", "NotEquals": ["true"]}])),
                true,
            ),
            (
                "sessionCredentialFromConsole NotEquals true: from the console",
                get_object().with_console(Some(true)),
                s3_data(json!([{"Field": "sessionCredentialFromConsole", "NotEquals": ["true"]}])),
                false,
            ),
            (
                "Lambda by ARN",
                lambda_event(HELLOWORLD),
                data("AWS::Lambda::Function", json!([{"Field": "resources.ARN", "Equals": [HELLOWORLD]}])),
                true,
            ),
            (
                "Lambda by ARN: another function",
                lambda_event("arn:aws:lambda:us-west-2:111111111111:function:helloworld2"),
                data("AWS::Lambda::Function", json!([{"Field": "resources.ARN", "Equals": [HELLOWORLD]}])),
                false,
            ),
            ("DynamoDB tables", dynamodb_event(ORDERS), data("AWS::DynamoDB::Table", json!([])), true),
            (
                "DynamoDB by ARN NotEquals",
                dynamodb_event(ORDERS),
                data("AWS::DynamoDB::Table", json!([{"Field": "resources.ARN", "NotEquals": [ORDERS]}])),
                false,
            ),
            (
                "resources.type any resource: several types on the event",
                data_event(
                    "s3.amazonaws.com",
                    "CopyObject",
                    false,
                    json!([
                        {"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::amzn-s3-demo-bucket1"},
                        {"type": "AWS::S3::Object", "ARN": BUCKET_OBJECT},
                        {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::amzn-s3-demo-bucket2/copy.jpg"},
                    ]),
                ),
                s3_data(json!([{"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::amzn-s3-demo-bucket2/"]}])),
                true,
            ),
            (
                "network activity by eventSource",
                network_event("cloudtrail.amazonaws.com", json!({})),
                network(json!([{"Field": "eventSource", "Equals": ["cloudtrail.amazonaws.com"]}])),
                true,
            ),
            (
                "network activity: another source",
                network_event("kms.amazonaws.com", json!({})),
                network(json!([{"Field": "eventSource", "Equals": ["cloudtrail.amazonaws.com"]}])),
                false,
            ),
            (
                "network activity selector ignores management events of the source",
                source_event("cloudtrail.amazonaws.com", "ListTrails", true),
                network(json!([{"Field": "eventSource", "Equals": ["cloudtrail.amazonaws.com"]}])),
                false,
            ),
            (
                "network activity errorCode VpceAccessDenied",
                network_event("s3.amazonaws.com", json!({"errorCode": "VpceAccessDenied"})),
                network(json!([
                    {"Field": "eventSource", "Equals": ["s3.amazonaws.com"]},
                    {"Field": "errorCode", "Equals": ["VpceAccessDenied"]},
                ])),
                true,
            ),
            (
                "network activity errorCode: missing",
                network_event("s3.amazonaws.com", json!({})),
                network(json!([
                    {"Field": "eventSource", "Equals": ["s3.amazonaws.com"]},
                    {"Field": "errorCode", "Equals": ["VpceAccessDenied"]},
                ])),
                false,
            ),
            (
                "network activity errorCode NotEquals: missing",
                network_event("s3.amazonaws.com", json!({})),
                network(json!([
                    {"Field": "eventSource", "Equals": ["s3.amazonaws.com"]},
                    {"Field": "errorCode", "NotEquals": ["VpceAccessDenied"]},
                ])),
                true,
            ),
            (
                "network activity vpcEndpointId Equals",
                network_event("s3.amazonaws.com", json!({})),
                network(json!([
                    {"Field": "eventSource", "Equals": ["s3.amazonaws.com"]},
                    {"Field": "vpcEndpointId", "Equals": ["vpce-1111aaaa2222bbbb3"]},
                ])),
                true,
            ),
            (
                "network activity vpcEndpointId NotEquals",
                network_event("s3.amazonaws.com", json!({})),
                network(json!([
                    {"Field": "eventSource", "Equals": ["s3.amazonaws.com"]},
                    {"Field": "vpcEndpointId", "NotEquals": ["vpce-1111aaaa2222bbbb3"]},
                ])),
                false,
            ),
            (
                "network activity vpcEndpointId StartsWith: missing",
                network_event("s3.amazonaws.com", json!({"vpcEndpointId": null})),
                network(json!([
                    {"Field": "eventSource", "Equals": ["s3.amazonaws.com"]},
                    {"Field": "vpcEndpointId", "StartsWith": ["vpce-"]},
                ])),
                false,
            ),
            (
                "OR across selectors: second selects",
                get_object(),
                advanced(json!([
                    {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]},
                    {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]},
                ])),
                true,
            ),
            (
                "OR across selectors: none selects",
                read_event(),
                advanced(json!([
                    {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]},
                    {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]},
                ])),
                false,
            ),
            ("no advanced selectors select nothing", write_event(), advanced(json!([])), false),
        ];
        check_selection(cases);
    }

    /// A common shape of advanced selectors: every management event, plus S3 writes and deletes under two key
    /// prefixes of two buckets, over events of each kind.
    #[test]
    fn management_and_s3_writes_under_prefixes() {
        let selectors = advanced(json!([
            {
                "Name": "All management events",
                "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
            },
            {
                "Name": "Uploads and deletes of invoices and exports",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "eventName", "Equals": ["PutObject", "DeleteObject"]},
                    {"Field": "resources.ARN", "StartsWith": [
                        "arn:aws:s3:::cairn-example-billing/invoices/",
                        "arn:aws:s3:::cairn-example-exports/daily-",
                    ]},
                ],
            },
        ]));
        let cases = vec![
            ("management write", write_event(), selectors.clone(), true),
            ("management read", read_event(), selectors.clone(), true),
            (
                "upload under the first prefix",
                s3_event("PutObject", "arn:aws:s3:::cairn-example-billing/invoices/2026/02/inv-0042.pdf"),
                selectors.clone(),
                true,
            ),
            (
                "delete under the second prefix",
                s3_event("DeleteObject", "arn:aws:s3:::cairn-example-exports/daily-2026-02-03.parquet"),
                selectors.clone(),
                true,
            ),
            (
                "read under a prefix",
                s3_event("GetObject", "arn:aws:s3:::cairn-example-billing/invoices/2026/02/inv-0042.pdf"),
                selectors.clone(),
                false,
            ),
            (
                "upload outside the prefixes",
                s3_event("PutObject", "arn:aws:s3:::cairn-example-billing/drafts/inv-0043.pdf"),
                selectors.clone(),
                false,
            ),
            (
                "a prefix of one bucket does not apply to the other",
                s3_event("PutObject", "arn:aws:s3:::cairn-example-exports/invoices/inv-0042.pdf"),
                selectors.clone(),
                false,
            ),
            ("other data events", lambda_event(HELLOWORLD), selectors.clone(), false),
            ("S3 GetObject (fixture)", fixture(S3_GET_OBJECT, 0), selectors.clone(), false),
            ("KMS Decrypt by a service (fixture)", fixture(KMS_DECRYPT_BY_SERVICE, 0), selectors.clone(), true),
        ];
        check_selection(cases);
    }

    #[test]
    fn fixture_records() {
        let default = EventSelectors::default;
        let write_only = || basic(json!([{"ReadWriteType": "WriteOnly"}]));
        let read_only = || basic(json!([{"ReadWriteType": "ReadOnly"}]));
        let no_kms = || basic(json!([{"ExcludeManagementEventSources": ["kms.amazonaws.com"]}]));
        let create_key = || fixture(IAM_CREATE_ACCESS_KEY, 0);
        let denied = || fixture(EC2_RUN_INSTANCES_DENIED, 0);
        let s3_get = || fixture(S3_GET_OBJECT, 0);
        let decrypt = || fixture(KMS_DECRYPT_BY_SERVICE, 0);
        let delete_key = || fixture(KMS_DELETE_KEY_SERVICE_EVENT, 0);
        let login = || fixture(CONSOLE_LOGIN, 0);
        let invoke = || fixture(LAMBDA_INVOKE, 0);
        let get_item = || fixture(DYNAMODB_GET_ITEM, 0);
        let vpce = || fixture(NETWORK_ACTIVITY_DENIED, 0);
        let price_quote = "arn:aws:lambda:us-west-2:210987654321:function:price-quote";
        let carts = "arn:aws:dynamodb:us-east-2:210987654321:table/Carts";
        let reports = "arn:aws:s3:::cairn-example-reports/";
        let cases = vec![
            ("CreateAccessKey", create_key(), default(), true),
            ("CreateAccessKey with WriteOnly", create_key(), write_only(), true),
            ("CreateAccessKey with ReadOnly", create_key(), read_only(), false),
            (
                "CreateAccessKey with advanced readOnly false",
                create_key(),
                management(json!([{"Field": "readOnly", "Equals": ["false"]}])),
                true,
            ),
            ("CreateAccessKey with KMS excluded", create_key(), no_kms(), true),
            ("denied RunInstances", denied(), default(), true),
            ("denied RunInstances with WriteOnly", denied(), write_only(), true),
            ("denied RunInstances with ReadOnly", denied(), read_only(), false),
            ("untyped resources of GetParameters", fixture(SSM_GET_PARAMETERS, 0), default(), true),
            ("AssumeRole through a regional endpoint", fixture(STS_ASSUME_ROLE_REGIONAL, 0), read_only(), true),
            ("AssumeRole with WriteOnly", fixture(STS_ASSUME_ROLE_REGIONAL, 0), write_only(), false),
            (
                "AssumeRole with advanced readOnly true",
                fixture(STS_ASSUME_ROLE_REGIONAL, 0),
                management(json!([{"Field": "readOnly", "Equals": ["true"]}])),
                true,
            ),
            ("S3 GetObject by default", s3_get(), default(), false),
            ("S3 GetObject in its bucket", s3_get(), s3_bucket(&[reports], "All"), true),
            ("S3 GetObject in its bucket, ReadOnly", s3_get(), s3_bucket(&[reports], "ReadOnly"), true),
            ("S3 GetObject in its bucket, WriteOnly", s3_get(), s3_bucket(&[reports], "WriteOnly"), false),
            ("S3 GetObject, all objects (arn:aws:s3:::)", s3_get(), s3_bucket(&["arn:aws:s3:::"], "All"), true),
            (
                "S3 GetObject in another bucket",
                s3_get(),
                s3_bucket(&["arn:aws:s3:::cairn-example-exports/"], "All"),
                false,
            ),
            (
                "S3 GetObject by prefix",
                s3_get(),
                s3_data(
                    json!([{"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::cairn-example-reports/monthly/"]}]),
                ),
                true,
            ),
            (
                "S3 GetObject: the bucket ARN is not an object ARN",
                s3_get(),
                s3_data(json!([{"Field": "resources.ARN", "Equals": ["arn:aws:s3:::cairn-example-reports"]}])),
                false,
            ),
            (
                "S3 GetObject by a role session",
                s3_get(),
                s3_data(json!([
                    {"Field": "eventName", "Equals": ["GetObject"]},
                    {"Field": "userIdentity.arn", "StartsWith": ["arn:aws:sts::210987654321:assumed-role/report-runner/"]},
                ])),
                true,
            ),
            (
                "S3 GetObject through its VPC endpoint is still a data event",
                s3_get(),
                network(json!([
                    {"Field": "eventSource", "Equals": ["s3.amazonaws.com"]},
                    {"Field": "vpcEndpointId", "Equals": ["vpce-0f1e2d3c4b5a69788"]},
                ])),
                false,
            ),
            ("KMS Decrypt by a service", decrypt(), default(), true),
            ("KMS Decrypt with KMS excluded", decrypt(), no_kms(), false),
            (
                "KMS Decrypt with advanced NotEquals",
                decrypt(),
                management(json!([{"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}])),
                false,
            ),
            ("KMS DeleteKey service event", delete_key(), default(), true),
            ("KMS DeleteKey service event with KMS excluded", delete_key(), no_kms(), false),
            (
                "KMS DeleteKey service event with RDS Data excluded",
                delete_key(),
                management(json!([{"Field": "eventSource", "NotEquals": ["rdsdata.amazonaws.com"]}])),
                true,
            ),
            ("ConsoleLogin", login(), default(), true),
            ("ConsoleLogin with ReadOnly", login(), read_only(), false),
            ("ConsoleLogin with WriteOnly", login(), write_only(), true),
            ("Lambda Invoke by default", invoke(), default(), false),
            (
                "Lambda Invoke of an alias, by the function",
                invoke(),
                data_resource("AWS::Lambda::Function", &[price_quote]),
                true,
            ),
            (
                "Lambda Invoke, another function",
                invoke(),
                data_resource("AWS::Lambda::Function", &["arn:aws:lambda:us-west-2:210987654321:function:price"]),
                false,
            ),
            (
                "Lambda Invoke by advanced ARN prefix",
                invoke(),
                data("AWS::Lambda::Function", json!([{"Field": "resources.ARN", "StartsWith": [price_quote]}])),
                true,
            ),
            ("DynamoDB GetItem by default", get_item(), default(), false),
            ("DynamoDB GetItem by table", get_item(), data_resource("AWS::DynamoDB::Table", &[carts]), true),
            (
                "DynamoDB GetItem, all tables",
                get_item(),
                data_resource("AWS::DynamoDB::Table", &["arn:aws:dynamodb"]),
                true,
            ),
            (
                "DynamoDB GetItem, writes only",
                get_item(),
                data("AWS::DynamoDB::Table", json!([{"Field": "readOnly", "Equals": ["false"]}])),
                false,
            ),
            ("network activity by default", vpce(), default(), false),
            (
                "network activity denied by the endpoint policy",
                vpce(),
                network(json!([
                    {"Field": "eventSource", "Equals": ["ec2.amazonaws.com"]},
                    {"Field": "errorCode", "Equals": ["VpceAccessDenied"]},
                ])),
                true,
            ),
            (
                "network activity of another endpoint",
                vpce(),
                network(json!([
                    {"Field": "eventSource", "Equals": ["ec2.amazonaws.com"]},
                    {"Field": "vpcEndpointId", "NotEquals": ["vpce-0a1b2c3d4e5f6a7b8"]},
                ])),
                false,
            ),
        ];
        check_selection(cases);
    }

    /// The views of the fixture records, read straight from the files' bytes.
    #[test]
    fn fixture_record_views() {
        let delete_key = EventView::parse(KMS_DELETE_KEY_SERVICE_EVENT.as_bytes()).unwrap();
        assert_eq!(
            delete_key,
            EventView {
                recipient_account_id: FIXTURE_ACCOUNT.into(),
                aws_region: "us-east-2".into(),
                event_source: "kms.amazonaws.com".into(),
                event_name: "DeleteKey".into(),
                event_category: "Management".into(),
                management_event: true,
                read_only: Some(false),
                event_type: Some("AwsServiceEvent".into()),
                session_credential_from_console: None,
                user_identity_arn: None,
                error_code: None,
                vpc_endpoint_id: None,
                resources: vec![(
                    Some("AWS::KMS::Key".into()),
                    Some("arn:aws:kms:us-east-2:210987654321:key/0e2f4a6c-8b0d-4f2a-b4c6-e8a0c2e4f6a8".into())
                )],
                event_time: Some("2026-02-03T00:00:17Z".into()),
            }
        );
        let s3 = fixture(S3_GET_OBJECT, 0);
        assert_eq!((s3.event_category.as_str(), s3.management_event, s3.read_only), ("Data", false, Some(true)));
        assert_eq!(s3.vpc_endpoint_id.as_deref(), Some("vpce-0f1e2d3c4b5a69788"));
        assert_eq!(
            s3.resources,
            vec![
                (
                    Some("AWS::S3::Object".into()),
                    Some("arn:aws:s3:::cairn-example-reports/monthly/2026-01/summary.csv".into())
                ),
                (Some("AWS::S3::Bucket".into()), Some("arn:aws:s3:::cairn-example-reports".into())),
            ]
        );
        let denied = fixture(EC2_RUN_INSTANCES_DENIED, 0);
        assert_eq!(denied.session_credential_from_console, Some(true));
        assert_eq!(denied.user_identity_arn.as_deref(), Some("arn:aws:iam::210987654321:user/jin.sato"));
        assert_eq!(denied.error_code.as_deref(), Some("Client.UnauthorizedOperation"));
        let assume = fixture(STS_ASSUME_ROLE_REGIONAL, 0);
        assert_eq!((assume.aws_region.as_str(), assume.is_global_service_event()), ("eu-west-1", false));
        assert!(fixture(CONSOLE_LOGIN, 0).is_global_service_event());
        assert!(fixture(IAM_CREATE_ACCESS_KEY, 0).is_global_service_event());
        let vpce = fixture(NETWORK_ACTIVITY_DENIED, 0);
        assert_eq!((vpce.event_category.as_str(), vpce.management_event), ("NetworkActivity", false));
        assert_eq!(vpce.user_identity_arn, None);
        let params = fixture(SSM_GET_PARAMETERS, 0);
        assert_eq!(params.resources.len(), 2);
        assert!(params.resources.iter().all(|(t, a)| t.is_none() && a.is_some()), "{:?}", params.resources);
        // An insight record names its source only inside insightDetails, and records older than event version 1.02
        // lack recipientAccountId: neither can be routed.
        assert_eq!(EventView::parse(INSIGHT_START.as_bytes()), None);
        assert_eq!(EventView::parse(&fixture_bytes(LEGACY_LOG_FILE, 0)), None);
        assert_eq!(EventView::parse(&fixture_bytes(LEGACY_LOG_FILE, 1)), None);
    }

    fn base_view() -> EventView {
        EventView {
            recipient_account_id: ACCOUNT.into(),
            aws_region: "us-east-2".into(),
            event_source: "ec2.amazonaws.com".into(),
            event_name: "RunInstances".into(),
            event_category: "Management".into(),
            management_event: true,
            read_only: None,
            event_type: None,
            session_credential_from_console: None,
            user_identity_arn: None,
            error_code: None,
            vpc_endpoint_id: None,
            resources: Vec::new(),
            event_time: None,
        }
    }

    #[test]
    fn parse_is_lenient() {
        let record = |extra: &str| {
            format!(
                r#"{{"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-2","recipientAccountId":"111111111111"{extra}}}"#
            )
        };
        let resource = |t: Option<&str>, a: Option<&str>| (t.map(String::from), a.map(String::from));
        let cases: Vec<(String, Option<EventView>)> = vec![
            (record(""), Some(base_view())),
            ("not json".into(), None),
            ("[]".into(), None),
            (r#""a string""#.into(), None),
            (record("").replace(r#""eventSource":"ec2.amazonaws.com","#, ""), None),
            (record("").replace(r#""ec2.amazonaws.com""#, "7"), None),
            (record("").replace(r#""awsRegion":"us-east-2","#, r#""awsRegion":null,"#), None),
            (record("").replace(r#""recipientAccountId":"111111111111""#, r#""recipientAccountId":{}"#), None),
            (format!("{} trailing", record("")), None),
            (record(r#","readOnly":true"#), Some(EventView { read_only: Some(true), ..base_view() })),
            (record(r#","readOnly":"false""#), Some(EventView { read_only: Some(false), ..base_view() })),
            (record(r#","readOnly":"yes""#), Some(base_view())),
            (record(r#","readOnly":1"#), Some(base_view())),
            (record(r#","readOnly":null"#), Some(base_view())),
            (
                record(r#","eventCategory":"Data""#),
                Some(EventView { event_category: "Data".into(), management_event: false, ..base_view() }),
            ),
            (
                record(r#","eventCategory":"Data","managementEvent":"true""#),
                Some(EventView { event_category: "Data".into(), management_event: true, ..base_view() }),
            ),
            (record(r#","managementEvent":false"#), Some(EventView { management_event: false, ..base_view() })),
            (record(r#","eventCategory":null"#), Some(base_view())),
            (record(r#","eventCategory":["Data"]"#), Some(base_view())),
            (
                record(r#","eventType":"AwsApiCall""#),
                Some(EventView { event_type: Some("AwsApiCall".into()), ..base_view() }),
            ),
            (
                record(r#","errorCode":"AccessDenied""#),
                Some(EventView { error_code: Some("AccessDenied".into()), ..base_view() }),
            ),
            (record(r#","errorCode":{"code":1}"#), Some(base_view())),
            (
                record(r#","vpcEndpointId":"vpce-1""#),
                Some(EventView { vpc_endpoint_id: Some("vpce-1".into()), ..base_view() }),
            ),
            (
                record(r#","sessionCredentialFromConsole":"true""#),
                Some(EventView { session_credential_from_console: Some(true), ..base_view() }),
            ),
            (
                record(r#","sessionCredentialFromConsole":false"#),
                Some(EventView { session_credential_from_console: Some(false), ..base_view() }),
            ),
            (
                record(
                    r#","userIdentity":{"type":"Root","arn":"arn:aws:iam::111111111111:root","sessionContext":{"attributes":{}}}"#,
                ),
                Some(EventView { user_identity_arn: Some("arn:aws:iam::111111111111:root".into()), ..base_view() }),
            ),
            (record(r#","userIdentity":"arn:aws:iam::111111111111:root""#), Some(base_view())),
            (record(r#","userIdentity":{"arn":5}"#), Some(base_view())),
            (record(r#","userIdentity":[{"arn":"x"}]"#), Some(base_view())),
            (
                record(
                    r#","resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::b/k","accountId":"1"},{"arn":"arn:aws:ssm:x"},7,null,{}]"#,
                ),
                Some(EventView {
                    resources: vec![
                        resource(Some("AWS::S3::Object"), Some("arn:aws:s3:::b/k")),
                        resource(None, Some("arn:aws:ssm:x")),
                        resource(None, None),
                    ],
                    ..base_view()
                }),
            ),
            (record(r#","resources":{"type":"AWS::S3::Object"}"#), Some(base_view())),
            (record(r#","resources":null"#), Some(base_view())),
            (
                record(r#","resources":[{"type":["x"],"ARN":{"a":1}}]"#),
                Some(EventView { resources: vec![resource(None, None)], ..base_view() }),
            ),
            (
                record(
                    r#","requestParameters":{"nested":[1,{"readOnly":true}],"eventName":"x"},"responseElements":null"#,
                ),
                Some(base_view()),
            ),
            (
                record(r#","eventName":"StopInstances""#),
                Some(EventView { event_name: "StopInstances".into(), ..base_view() }),
            ),
            (
                record(r#","event\u004eame":"Escaped\"Name""#),
                Some(EventView { event_name: "Escaped\"Name".into(), ..base_view() }),
            ),
        ];
        for (payload, expected) in &cases {
            assert_eq!(&EventView::parse(payload.as_bytes()), expected, "{payload}");
        }
    }

    fn trail(home: &str, multi_region: bool, global: bool) -> Trail {
        Trail {
            include_global_service_events: global,
            is_multi_region_trail: multi_region,
            ..Trail::new(ACCOUNT, "t", home, "amzn-s3-demo-bucket")
        }
    }

    fn org_trail() -> Trail {
        Trail { organization_id: Some("o-exampleorgid".into()), ..trail("us-east-2", true, true) }
    }

    fn at(region: &str, source: &str) -> EventView {
        event(json!({"awsRegion": region, "eventSource": source}))
    }

    fn in_account(account: &str) -> EventView {
        event(json!({"recipientAccountId": account}))
    }

    #[test]
    fn trails_take() {
        const MEMBER: &str = "222222222222";
        let members = |a: &str| a == MEMBER;
        let cases: Vec<(&str, Trail, EventView, bool)> = vec![
            ("home region", trail("us-east-2", false, true), write_event(), true),
            ("single-region trail, other region", trail("us-west-2", false, true), write_event(), false),
            ("multi-region trail, other region", trail("us-west-2", true, true), write_event(), true),
            ("other account", trail("us-east-2", true, true), in_account(MEMBER), false),
            ("organization member", org_trail(), in_account(MEMBER), true),
            ("not an organization member", org_trail(), in_account("333333333333"), false),
            ("organization management account", org_trail(), write_event(), true),
            (
                "IAM in us-east-1, multi-region with global events",
                trail("eu-west-1", true, true),
                at("us-east-1", "iam.amazonaws.com"),
                true,
            ),
            (
                "IAM in us-east-1, multi-region without global events",
                trail("eu-west-1", true, false),
                at("us-east-1", "iam.amazonaws.com"),
                false,
            ),
            (
                "IAM in us-east-1, us-east-1 trail with global events",
                trail("us-east-1", false, true),
                at("us-east-1", "iam.amazonaws.com"),
                true,
            ),
            (
                "IAM in us-east-1, us-east-1 trail without global events",
                trail("us-east-1", false, false),
                at("us-east-1", "iam.amazonaws.com"),
                false,
            ),
            (
                "IAM in us-east-1, single-region trail elsewhere",
                trail("eu-west-1", false, true),
                at("us-east-1", "iam.amazonaws.com"),
                false,
            ),
            (
                "CloudFront is global",
                trail("us-east-1", true, false),
                at("us-east-1", "cloudfront.amazonaws.com"),
                false,
            ),
            ("Route 53 is global", trail("us-east-1", true, false), at("us-east-1", "route53.amazonaws.com"), false),
            ("WAF Classic is global", trail("us-east-1", true, false), at("us-east-1", "waf.amazonaws.com"), false),
            ("sign-in is global", trail("us-east-1", true, false), at("us-east-1", "signin.amazonaws.com"), false),
            (
                "EC2 in us-east-1 is regional",
                trail("us-east-1", true, false),
                at("us-east-1", "ec2.amazonaws.com"),
                true,
            ),
            (
                "STS through a regional endpoint is regional",
                trail("eu-west-1", false, false),
                at("eu-west-1", "sts.amazonaws.com"),
                true,
            ),
            (
                "STS global endpoint, multi-region without global events",
                trail("eu-west-1", true, false),
                at("us-east-1", "sts.amazonaws.com"),
                false,
            ),
            ("insight never", trail("us-east-2", true, true), insight_event(), false),
            (
                "selectors apply",
                Trail {
                    event_selectors: basic(json!([{"ReadWriteType": "WriteOnly"}])),
                    ..trail("us-east-2", true, true)
                },
                read_event(),
                false,
            ),
            (
                "organization trail selectors apply to members",
                Trail { event_selectors: basic(json!([{"ReadWriteType": "ReadOnly"}])), ..org_trail() },
                in_account(MEMBER),
                false,
            ),
            (
                "data events reach a trail that selects them",
                Trail { event_selectors: s3_bucket(&["arn:aws:s3"], "All"), ..trail("us-east-2", false, false) },
                get_object(),
                true,
            ),
            (
                "ConsoleLogin with global events",
                Trail { account_id: FIXTURE_ACCOUNT.into(), ..trail("us-east-2", true, true) },
                fixture(CONSOLE_LOGIN, 0),
                true,
            ),
            (
                "ConsoleLogin without global events",
                Trail { account_id: FIXTURE_ACCOUNT.into(), ..trail("us-east-2", true, false) },
                fixture(CONSOLE_LOGIN, 0),
                false,
            ),
            (
                "CreateAccessKey on a us-east-1 trail",
                Trail { account_id: FIXTURE_ACCOUNT.into(), ..trail("us-east-1", false, true) },
                fixture(IAM_CREATE_ACCESS_KEY, 0),
                true,
            ),
            (
                "CreateAccessKey on a us-east-1 trail without global events",
                Trail { account_id: FIXTURE_ACCOUNT.into(), ..trail("us-east-1", false, false) },
                fixture(IAM_CREATE_ACCESS_KEY, 0),
                false,
            ),
            (
                "AssumeRole through eu-west-1 is regional",
                Trail { account_id: FIXTURE_ACCOUNT.into(), ..trail("eu-west-1", false, false) },
                fixture(STS_ASSUME_ROLE_REGIONAL, 0),
                true,
            ),
            (
                "AssumeRole through eu-west-1, trail in another region",
                Trail { account_id: FIXTURE_ACCOUNT.into(), ..trail("us-east-1", false, true) },
                fixture(STS_ASSUME_ROLE_REGIONAL, 0),
                false,
            ),
            (
                "AssumeRole for another account",
                trail("eu-west-1", true, true),
                fixture(STS_ASSUME_ROLE_REGIONAL, 0),
                false,
            ),
            (
                "AssumeRole in an account outside the organization",
                org_trail(),
                fixture(STS_ASSUME_ROLE_REGIONAL, 0),
                false,
            ),
            (
                "network activity needs a trail that selects it",
                Trail { account_id: FIXTURE_ACCOUNT.into(), ..trail("us-east-2", true, true) },
                fixture(NETWORK_ACTIVITY_DENIED, 0),
                false,
            ),
            (
                "network activity on a trail that selects it",
                Trail {
                    account_id: FIXTURE_ACCOUNT.into(),
                    event_selectors: network(json!([{"Field": "eventSource", "Equals": ["ec2.amazonaws.com"]}])),
                    ..trail("us-east-2", false, false)
                },
                fixture(NETWORK_ACTIVITY_DENIED, 0),
                true,
            ),
        ];
        for (name, t, e, expected) in &cases {
            assert_eq!(t.takes(e, members), *expected, "{name}");
        }
        // A non-organization trail never asks about membership; an organization trail asks only about others.
        assert!(!trail("us-east-2", true, true).takes(&in_account(MEMBER), |_| panic!("asked about membership")));
        assert!(org_trail().takes(&write_event(), |_| panic!("asked about its own account")));
    }

    /// Test-only edits of a view, for members `event` cannot drop from the JSON template in one call.
    impl EventView {
        fn with_read_only(mut self, v: Option<bool>) -> Self {
            self.read_only = v;
            self
        }
        fn with_event_type(mut self, v: Option<&str>) -> Self {
            self.event_type = v.map(String::from);
            self
        }
        fn with_identity(mut self, v: Option<&str>) -> Self {
            self.user_identity_arn = v.map(String::from);
            self
        }
        fn with_console(mut self, v: Option<bool>) -> Self {
            self.session_credential_from_console = v;
            self
        }
    }
}
