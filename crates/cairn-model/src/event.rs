//! CloudTrail event records sent by producers: the checks a record must pass before it is journaled, and the
//! members cairn fills in when a producer leaves them out. Unknown members are kept verbatim.

use serde_json::{Map, Value};

use crate::names::{is_account_id, is_region};

/// Largest serialized event, as CloudTrail allows.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
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

fn required_str<'a>(record: &'a Map<String, Value>, field: &str) -> Result<&'a str, RecordError> {
    match record.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(refuse("MissingField", format!("record has no {field}")))
        }
        Some(_) => Err(refuse("InvalidField", format!("{field} must be a string"))),
    }
}

/// Validates a producer's record and fills `eventID` (from `new_id`), `eventVersion` and `eventCategory` when
/// absent. The caller checks the serialized size against [`MAX_EVENT_BYTES`].
pub fn check_record(value: &mut Value, new_id: impl FnOnce() -> String) -> Result<RecordInfo, RecordError> {
    let Value::Object(record) = value else {
        return Err(refuse("InvalidRecord", "a record must be a JSON object"));
    };
    let time = required_str(record, "eventTime")?;
    if !is_event_time(time) {
        return Err(refuse(
            "InvalidEventTime",
            format!("eventTime {time:?} is not a UTC time like 2026-01-01T00:00:00Z"),
        ));
    }
    required_str(record, "eventSource")?;
    required_str(record, "eventName")?;
    let region = required_str(record, "awsRegion")?;
    if !is_region(region) {
        return Err(refuse("InvalidField", format!("awsRegion {region:?} is not a region")));
    }
    let account = required_str(record, "recipientAccountId")?;
    if !is_account_id(account) {
        return Err(refuse("InvalidField", format!("recipientAccountId {account:?} is not a 12-digit account id")));
    }
    let (account_id, region) = (account.to_string(), region.to_string());
    let event_id = match record.get("eventID") {
        None | Some(Value::Null) => {
            let id = new_id();
            record.insert("eventID".into(), Value::String(id.clone()));
            id
        }
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => s.clone(),
        Some(_) => return Err(refuse("InvalidField", "eventID must be a string of 1 to 256 characters")),
    };
    match record.get("eventVersion") {
        None | Some(Value::Null) => {
            record.insert("eventVersion".into(), Value::String(DEFAULT_EVENT_VERSION.into()));
        }
        Some(Value::String(_)) => {}
        Some(_) => return Err(refuse("InvalidField", "eventVersion must be a string")),
    }
    if !record.contains_key("eventCategory") {
        let data = record.get("managementEvent") == Some(&Value::Bool(false));
        record.insert("eventCategory".into(), Value::String(if data { "Data" } else { "Management" }.into()));
    }
    Ok(RecordInfo { account_id, region, event_id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn records_are_checked_and_filled() {
        let mut r = base();
        let info = check_record(&mut r, || "new-id".into()).unwrap();
        assert_eq!(
            info,
            RecordInfo { account_id: "111111111111".into(), region: "us-east-1".into(), event_id: "new-id".into() }
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
        let info = check_record(&mut data, || unreachable!()).unwrap();
        assert_eq!(
            (info.event_id.as_str(), data["eventVersion"].as_str(), data["eventCategory"].as_str()),
            ("given", Some("1.08"), Some("Data"))
        );

        let bad: &[(&str, Value, &str)] = &[
            ("eventTime", json!("yesterday"), "InvalidEventTime"),
            ("eventTime", Value::Null, "MissingField"),
            ("eventSource", json!(""), "MissingField"),
            ("eventName", json!(5), "InvalidField"),
            ("awsRegion", json!("mars"), "InvalidField"),
            ("recipientAccountId", json!("1234"), "InvalidField"),
            ("eventID", json!(7), "InvalidField"),
            ("eventVersion", json!(1.11), "InvalidField"),
        ];
        for (field, v, code) in bad {
            let mut r = base();
            r[*field] = v.clone();
            assert_eq!(check_record(&mut r, || "x".into()).unwrap_err().code, *code, "{field}");
        }
        let mut r = base();
        r.as_object_mut().unwrap().remove("recipientAccountId");
        assert_eq!(check_record(&mut r, || "x".into()).unwrap_err().code, "MissingField");
        assert_eq!(check_record(&mut json!([1]), || "x".into()).unwrap_err().code, "InvalidRecord");
    }
}
