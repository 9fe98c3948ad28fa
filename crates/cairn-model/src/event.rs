//! CloudTrail event records sent by producers: the checks a record must pass before it is journaled, and the
//! members cairn fills in when a producer leaves them out. Unknown members are kept verbatim.

use serde_json::value::RawValue;
use serde_json::Value;

use crate::names::{is_account_id, is_region};

/// Largest serialized event cairn records: what an event data store of the `Large` event size keeps
/// (PutEventConfiguration).
pub const MAX_EVENT_BYTES: usize = crate::event_config::LARGE_MAX_EVENT_BYTES;
/// Largest serialized event that trails, event history and event data stores of the `Standard` size keep.
pub const STANDARD_EVENT_BYTES: usize = crate::event_config::STANDARD_MAX_EVENT_BYTES;
/// The members left out, in this order and as few as needed, of an event too large for where it goes.
const OMITTABLE: [&str; 4] = ["requestParameters", "responseElements", "serviceEventDetails", "additionalEventData"];
/// The event version cairn fills in when a producer gives none.
pub const DEFAULT_EVENT_VERSION: &str = "1.11";

/// Why a record was refused; `code` is what the producer sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> RecordError {
    RecordError { code, message: message.into() }
}

/// What routing needs to know about a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordInfo {
    pub account_id: String,
    pub region: String,
    pub event_id: String,
    /// The eventTime, in milliseconds since the epoch.
    pub time_ms: i64,
}

/// `payload` made to fit in `limit` bytes, when it does not: `requestParameters`, `responseElements`,
/// `serviceEventDetails` and `additionalEventData` become null, in this order and as few as needed, and
/// `additionalEventData` then says which were left out. `None` when it fits as it is; an error when it cannot fit
/// even so (or is not a JSON object).
pub fn fitted(payload: &[u8], limit: usize) -> Result<Option<Vec<u8>>, RecordError> {
    if payload.len() <= limit {
        return Ok(None);
    }
    let too_large = || {
        refuse(
            "EventTooLarge",
            format!(
                "event is {} bytes, more than the {limit}-byte limit even without {}",
                payload.len(),
                OMITTABLE.join(", ")
            ),
        )
    };
    let Ok(Value::Object(mut event)) = serde_json::from_slice::<Value>(payload) else { return Err(too_large()) };
    let size = if limit.is_multiple_of(1024 * 1024) {
        format!("{} MB", limit / (1024 * 1024))
    } else {
        format!("{} KB", limit / 1024)
    };
    // The marker goes into additionalEventData, beside what it holds while that is kept.
    let kept = match event.get("additionalEventData") {
        Some(Value::Object(m)) => m.clone(),
        _ => serde_json::Map::new(),
    };
    let mut omitted: Vec<&str> = Vec::new();
    for member in OMITTABLE {
        if event.get(member).is_none_or(|v| v.is_null()) {
            continue;
        }
        omitted.push(member);
        let list = match omitted.split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        };
        let mut marker = if member == "additionalEventData" { serde_json::Map::new() } else { kept.clone() };
        marker.insert("omitted".into(), Value::String(format!("{list} (the event would exceed {size})")));
        event.insert(member.to_string(), Value::Null);
        event.insert("additionalEventData".into(), Value::Object(marker));
        let bytes = serde_json::to_vec(&event).map_err(|_| too_large())?;
        if bytes.len() <= limit {
            return Ok(Some(bytes));
        }
    }
    Err(too_large())
}

/// A journal record as trails, event history and event data stores of the `Standard` size take it: `None` when it
/// is theirs as it is (ingestion refuses events that cannot be made to fit).
pub fn standard_sized(payload: &[u8]) -> Option<Vec<u8>> {
    fitted(payload, STANDARD_EVENT_BYTES).ok().flatten()
}

/// Checks `eventTime`: `YYYY-MM-DDTHH:MM:SSZ`, optionally with a fraction of a second, a real UTC date and time.
pub fn is_event_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || b[b.len() - 1] != b'Z' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r.clone()].iter().all(u8::is_ascii_digit);
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(u32::MAX);
    let shape = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape {
        return false;
    }
    let fraction = &b[19..b.len() - 1];
    if !(fraction.is_empty()
        || fraction.len() >= 2 && fraction[0] == b'.' && fraction[1..].iter().all(u8::is_ascii_digit))
    {
        return false;
    }
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1970..=9999).contains(&year)
        && (1..=days).contains(&day)
        && num(11..13) < 24
        && num(14..16) < 60
        && num(17..19) < 60
}

/// The members of a record cairn checks; every other member stays as the producer wrote it.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checked<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    event_time: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    event_source: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    event_name: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    aws_region: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    recipient_account_id: Option<&'a RawValue>,
    #[serde(rename = "eventID", borrow, default, deserialize_with = "present")]
    event_id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    event_version: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    event_category: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    management_event: Option<&'a RawValue>,
    // Members event history reads: declared so that a record giving one of them twice is refused here rather
    // than dropped by history later.
    #[serde(borrow, default, deserialize_with = "present")]
    #[allow(dead_code)]
    user_identity: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    #[allow(dead_code)]
    resources: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    #[allow(dead_code)]
    read_only: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    #[allow(dead_code)]
    request_parameters: Option<&'a RawValue>,
}

/// Keeps a member that is present, even as `null` (which `Option` alone would read as absent).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue as serde::Deserialize>::deserialize(d).map(Some)
}

/// A member that must be a non-empty string when present.
fn string_member(raw: Option<&RawValue>, field: &str) -> Result<Option<String>, RecordError> {
    let Some(raw) = raw else { return Ok(None) };
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
        Ok(Value::String(_)) => Err(refuse("MissingField", format!("record has an empty {field}"))),
        Ok(Value::Null) => Err(refuse("MissingField", format!("record has no {field}"))),
        _ => Err(refuse("InvalidField", format!("{field} must be a string"))),
    }
}

fn required(raw: Option<&RawValue>, field: &str) -> Result<String, RecordError> {
    string_member(raw, field)?.ok_or_else(|| refuse("MissingField", format!("record has no {field}")))
}

/// Milliseconds since the epoch of a valid `eventTime` (see [`is_event_time`]).
pub fn event_time_millis(s: &str) -> Option<i64> {
    if !is_event_time(s) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(11..13)? * 3600 + n(14..16)? * 60 + n(17..19)?;
    let frac = &s[19..s.len() - 1];
    let millis = if frac.len() > 1 {
        let digits: String = frac[1..].chars().chain("000".chars()).take(3).collect();
        digits.parse::<i64>().ok()?
    } else {
        0
    };
    Some(secs * 1000 + millis)
}

/// Formats milliseconds since the epoch as CloudTrail's `eventTime`: whole seconds, UTC, `Z`.
pub fn format_event_time(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    // Civil date from days (the inverse of the conversion in `event_time_millis`).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let s = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

/// Validates a producer's record (one JSON object, as sent) and returns it ready for the journal: byte for byte
/// as sent, with `eventID` (from `new_id`), `eventVersion` and `eventCategory` added when absent.
pub fn check_record(raw: &str, new_id: impl FnOnce() -> String) -> Result<(RecordInfo, String), RecordError> {
    let raw = raw.trim();
    if !raw.starts_with('{') {
        return Err(refuse("InvalidRecord", "a record must be a JSON object"));
    }
    let c: Checked<'_> = serde_json::from_str(raw)
        .map_err(|e| refuse("InvalidRecord", format!("record is not a valid JSON object: {e}")))?;
    let time = required(c.event_time, "eventTime")?;
    let Some(time_ms) = event_time_millis(&time) else {
        return Err(refuse(
            "InvalidEventTime",
            format!("eventTime {time:?} is not a UTC time like 2026-01-01T00:00:00Z"),
        ));
    };
    if let Some(m) = c.management_event.map(RawValue::get).filter(|m| !matches!(*m, "true" | "false")) {
        return Err(refuse("InvalidField", format!("managementEvent must be true or false, not {m}")));
    }
    required(c.event_source, "eventSource")?;
    required(c.event_name, "eventName")?;
    let region = required(c.aws_region, "awsRegion")?;
    if !is_region(&region) {
        return Err(refuse("InvalidField", format!("awsRegion {region:?} is not a region")));
    }
    let account_id = required(c.recipient_account_id, "recipientAccountId")?;
    if !is_account_id(&account_id) {
        return Err(refuse("InvalidField", format!("recipientAccountId {account_id:?} is not a 12-digit account id")));
    }
    let given_id = string_member(c.event_id, "eventID")
        .map_err(|_| refuse("InvalidField", "eventID must be a string of 1 to 256 characters"))?;
    if given_id.as_ref().is_some_and(|id| id.len() > 256) {
        return Err(refuse("InvalidField", "eventID must be a string of 1 to 256 characters"));
    }
    let version = string_member(c.event_version, "eventVersion")
        .map_err(|_| refuse("InvalidField", "eventVersion must be a non-empty string"))?;
    let category = string_member(c.event_category, "eventCategory")
        .map_err(|_| refuse("InvalidField", "eventCategory must be a non-empty string"))?;
    // Members to add go right after the opening brace; the rest of the record is untouched.
    let mut added = String::new();
    if version.is_none() {
        added.push_str(&format!("\"eventVersion\":\"{DEFAULT_EVENT_VERSION}\","));
    }
    let event_id = match given_id {
        Some(id) => id,
        None => {
            let id = new_id();
            added.push_str(&format!("\"eventID\":{},", Value::String(id.clone())));
            id
        }
    };
    if category.is_none() {
        let data = c.management_event.is_some_and(|m| m.get() == "false");
        added.push_str(if data { "\"eventCategory\":\"Data\"," } else { "\"eventCategory\":\"Management\"," });
    }
    let payload = if added.is_empty() {
        raw.to_string()
    } else {
        let mut p = String::with_capacity(raw.len() + added.len());
        p.push('{');
        p.push_str(&added);
        p.push_str(&raw[1..]);
        p
    };
    Ok((RecordInfo { account_id, region, event_id, time_ms }, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_too_large_leave_out_their_largest_members_in_order() {
        let big = |n: usize| "x".repeat(n);
        let event = |e: Value| serde_json::to_vec(&e).unwrap();
        let small = event(json!({"eventName": "A", "requestParameters": {"a": big(100)}}));
        assert_eq!(fitted(&small, 1024).unwrap(), None);

        // Only the request parameters need to go; additionalEventData keeps its members beside the marker.
        let e =
            event(json!({"eventName": "A", "requestParameters": {"a": big(2000)}, "responseElements": {"b": big(300)},
            "additionalEventData": {"k": "v"}, "z": 1}));
        let fitted_event: Value = serde_json::from_slice(&fitted(&e, 1024).unwrap().unwrap()).unwrap();
        assert_eq!(fitted_event["requestParameters"], Value::Null);
        assert_eq!(fitted_event["responseElements"]["b"], big(300));
        assert_eq!(fitted_event["additionalEventData"]["k"], "v");
        assert_eq!(fitted_event["additionalEventData"]["omitted"], "requestParameters (the event would exceed 1 KB)");
        let order: Vec<&String> = fitted_event.as_object().unwrap().keys().collect();
        assert_eq!(order, ["eventName", "requestParameters", "responseElements", "additionalEventData", "z"]);

        // Then the response, the service details and the additional data themselves.
        let e = event(json!({"requestParameters": {"a": big(600)}, "responseElements": {"b": big(600)},
            "serviceEventDetails": {"c": big(600)}, "additionalEventData": {"d": big(900)}}));
        let fitted_event: Value = serde_json::from_slice(&fitted(&e, 1024).unwrap().unwrap()).unwrap();
        assert_eq!(
            fitted_event["additionalEventData"],
            json!({"omitted": "requestParameters, responseElements, serviceEventDetails and additionalEventData \
                (the event would exceed 1 KB)"})
        );
        let large = event(json!({"requestParameters": {"a": big(600)}}));
        let fitted_event: Value =
            serde_json::from_slice(&fitted(&large, 1024 * 1024).unwrap().unwrap_or(large)).unwrap();
        assert_eq!(fitted_event["requestParameters"]["a"], big(600));

        // Nothing left to leave out, or not an object: it cannot fit.
        assert_eq!(fitted(&event(json!({"other": big(2000)})), 1024).unwrap_err().code, "EventTooLarge");
        assert_eq!(fitted(&event(json!([big(2000)])), 1024).unwrap_err().code, "EventTooLarge");
    }

    #[test]
    fn event_times() {
        let cases = [
            ("2026-01-01T00:00:00Z", true),
            ("2024-02-29T23:59:59Z", true),
            ("2023-02-29T00:00:00Z", false),
            ("2026-01-01T00:00:00.123Z", true),
            ("2026-01-01T00:00:00.Z", false),
            ("2026-01-01T24:00:00Z", false),
            ("2026-13-01T00:00:00Z", false),
            ("2026-01-01 00:00:00Z", false),
            ("2026-01-01T00:00:00+01:00", false),
            ("2026-01-01T00:00:00", false),
            ("1969-12-31T23:59:59Z", false),
            ("", false),
        ];
        for (t, ok) in cases {
            assert_eq!(is_event_time(t), ok, "{t}");
        }
    }

    fn base() -> Value {
        json!({"eventTime": "2026-01-01T00:00:00Z", "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances",
               "awsRegion": "us-east-1", "recipientAccountId": "111111111111", "custom": {"kept": [1, 2]}})
    }

    fn check(v: &Value, id: &str) -> Result<(RecordInfo, Value), RecordError> {
        check_record(&v.to_string(), || id.to_string()).map(|(i, p)| (i, serde_json::from_str(&p).unwrap()))
    }

    #[test]
    fn records_are_checked_and_filled() {
        let (info, r) = check(&base(), "new-id").unwrap();
        assert_eq!(
            info,
            RecordInfo {
                account_id: "111111111111".into(),
                region: "us-east-1".into(),
                event_id: "new-id".into(),
                time_ms: 1_767_225_600_000
            }
        );
        assert_eq!(
            (r["eventID"].as_str(), r["eventVersion"].as_str(), r["eventCategory"].as_str()),
            (Some("new-id"), Some("1.11"), Some("Management"))
        );
        assert_eq!(r["custom"], json!({"kept": [1, 2]}));

        let mut data = base();
        data["managementEvent"] = json!(false);
        data["eventID"] = json!("given");
        data["eventVersion"] = json!("1.08");
        let (info, r) = check(&data, "unused").unwrap();
        assert_eq!(
            (info.event_id.as_str(), r["eventVersion"].as_str(), r["eventCategory"].as_str()),
            ("given", Some("1.08"), Some("Data"))
        );

        // A complete record is kept byte for byte, whitespace and member order included.
        let complete = r#"{ "eventVersion":"1.09", "zz":1, "eventID":"e-1", "eventCategory":"Management", "eventTime":"2026-01-01T00:00:00Z",
            "eventSource":"s3.amazonaws.com", "eventName":"GetObject", "awsRegion":"eu-west-1", "recipientAccountId":"111111111111", "aa":{"b":2,"a":1} }"#;
        assert_eq!(check_record(complete, || unreachable!()).unwrap().1, complete.trim());

        let bad: &[(&str, Value, &str)] = &[
            ("eventTime", json!("yesterday"), "InvalidEventTime"),
            ("eventTime", Value::Null, "MissingField"),
            ("eventSource", json!(""), "MissingField"),
            ("eventName", json!(5), "InvalidField"),
            ("awsRegion", json!("mars"), "InvalidField"),
            ("recipientAccountId", json!("1234"), "InvalidField"),
            ("eventID", json!(7), "InvalidField"),
            ("eventID", Value::Null, "InvalidField"),
            ("eventID", json!("x".repeat(257)), "InvalidField"),
            ("eventVersion", json!(1.11), "InvalidField"),
            ("eventCategory", json!(["Data"]), "InvalidField"),
            ("managementEvent", json!("false"), "InvalidField"),
        ];
        let twice = base().to_string().replacen(
            '{',
            r#"{"userIdentity":{"type":"Root"},"userIdentity":{"type":"IAMUser"},"#,
            1,
        );
        assert_eq!(check_record(&twice, || "x".into()).unwrap_err().code, "InvalidRecord");
        assert_eq!(event_time_millis("2026-11-22T13:58:51.362Z"), Some(1_795_355_931_362));
        assert_eq!(format_event_time(1_795_355_931_362), "2026-11-22T13:58:51Z");
        for t in ["1970-01-01T00:00:00Z", "2024-02-29T23:59:59Z", "2000-03-01T12:00:00Z", "9999-12-31T23:59:59Z"] {
            assert_eq!(format_event_time(event_time_millis(t).unwrap()), t);
        }
        for (field, v, code) in bad {
            let mut r = base();
            r[*field] = v.clone();
            assert_eq!(check(&r, "x").unwrap_err().code, *code, "{field}");
        }
        let mut r = base();
        r.as_object_mut().unwrap().remove("recipientAccountId");
        assert_eq!(check(&r, "x").unwrap_err().code, "MissingField");
        assert_eq!(check(&json!([1]), "x").unwrap_err().code, "InvalidRecord");
        assert_eq!(check_record("{\"eventTime\": ", || "x".into()).unwrap_err().code, "InvalidRecord");
        assert_eq!(
            check_record(r#"{"eventName":"a","eventName":"b"}"#, || "x".into()).unwrap_err().code,
            "InvalidRecord"
        );
    }
}
