//! The checks of one digest file and one log file, worded as `aws cloudtrail validate-logs` words them; the date
//! handling of digest names and times (AWS's validator compares `YYYYMMDDTHHMMSSZ` strings); and reading a log
//! file's records byte for byte, for per-event trees. Validators (`cairn validate-logs`, `cairn prove`) build on
//! these; every function takes untrusted bytes (see [`crate::fuzz`]).

use std::collections::BTreeMap;
use std::io::Read;

use crate::digest::{self, Document};
use crate::merkle::{self, Hash};
use serde_json::value::RawValue;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime};

/// A public key by fingerprint: its DER PKCS#1 RSAPublicKey.
pub type PublicKeys = BTreeMap<String, Vec<u8>>;

/// A digest's object, as fetched.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: bytes::Bytes,
    /// `x-amz-meta-*` values by name without the prefix; `None` where the source keeps no metadata (a local copy).
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Whether a digest key is a backfill digest's.
pub fn is_backfill(key: &str) -> bool {
    key.ends_with("_backfill.json.gz")
}

/// The `YYYYMMDDTHHMMSSZ` in a digest's name, read by position as AWS's validator reads it.
pub fn key_date(key: &str) -> Option<&str> {
    let (from_end, to_end) = if is_backfill(key) { (33, 17) } else { (24, 8) };
    let start = key.len().checked_sub(from_end)?;
    key.get(start..key.len() - to_end)
}

/// `YYYYMMDDTHHMMSSZ`: digest names' times.
const COMPACT: &[time::format_description::BorrowedFormatItem<'_>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
/// `YYYY-MM-DDTHH:MM:SSZ`: digest members' times, and how the validator prints times.
const DISPLAY: &[time::format_description::BorrowedFormatItem<'_>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Seconds since the epoch of a `YYYYMMDDTHHMMSSZ` string.
pub fn parse_compact(s: &str) -> Option<i64> {
    PrimitiveDateTime::parse(s, COMPACT).ok().map(|t| t.assume_utc().unix_timestamp())
}

fn format(secs: i64, description: &[time::format_description::BorrowedFormatItem<'_>]) -> String {
    let t = OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(description).unwrap_or_default()
}

/// `YYYYMMDDTHHMMSSZ` of seconds since the epoch.
pub fn format_compact(secs: i64) -> String {
    format(secs, COMPACT)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of seconds since the epoch, as the validator prints times.
pub fn format_display(secs: i64) -> String {
    format(secs, DISPLAY)
}

/// Seconds since the epoch of a time as people and digests write it: RFC 3339 (`2026-01-08T05:21:42Z`, with an
/// offset or fractions), without a zone (UTC), a date alone (midnight UTC), or epoch seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let naive = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    if let Ok(t) = PrimitiveDateTime::parse(s.trim_end_matches('Z'), &naive) {
        return Some(t.assume_utc().unix_timestamp());
    }
    let spaced = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    if let Ok(t) = PrimitiveDateTime::parse(s.trim_end_matches('Z'), &spaced) {
        return Some(t.assume_utc().unix_timestamp());
    }
    let date = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(s, &date) {
        return Some(d.midnight().assume_utc().unix_timestamp());
    }
    if let Some(t) = parse_compact(s) {
        return Some(t);
    }
    s.parse::<i64>().ok()
}

/// Object metadata of a backfill digest: when it was generated.
pub const BACKFILL_TIMESTAMP_METADATA: &str = "backfill-generation-timestamp";

/// Whether an Invalid is the missing-public-key verdict (a backfill digest's keys are then looked up by its time).
pub fn is_missing_key(invalid: &Invalid) -> bool {
    invalid.0.contains("\tINVALID: public key not found in region ")
}

/// Members a digest must have before anything else is checked.
const REQUIRED: [&str; 6] = [
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
];

/// A valid digest: its document and the members the traversal follows.
#[derive(Debug, Clone)]
pub struct ValidDigest {
    pub doc: Document,
    pub start: i64,
    pub end: i64,
}

/// Why a digest is not valid: the whole line the validator prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

fn uri(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// Validates a fetched digest at `bucket/key` as AWS's validator does, in its order: format, signature metadata,
/// required members, location, public key, signature. `signature` overrides missing metadata (offline: the next
/// digest's `previousDigestSignature`). `home_region` only words the missing-key message.
pub fn check_digest(
    bucket: &str,
    key: &str,
    fetched: &Fetched,
    signature: Option<&str>,
    keys: &PublicKeys,
    home_region: &str,
) -> Result<ValidDigest, Invalid> {
    let at = uri(bucket, key);
    let invalid_format = || Invalid(format!("Digest file\t{at}\tINVALID: invalid format"));
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&fetched.body[..]).read_to_end(&mut raw).map_err(|_| invalid_format())?;
    let value: serde_json::Value = serde_json::from_slice(&raw).map_err(|_| invalid_format())?;
    let meta_signature = fetched.metadata.as_ref().and_then(|m| {
        m.contains_key(digest::SIGNATURE_ALGORITHM_METADATA).then(|| m.get(digest::SIGNATURE_METADATA)).flatten()
    });
    let Some(signature) = meta_signature.map(String::as_str).or(signature) else {
        return Err(Invalid(format!("Digest file\t{at}\tINVALID: signature verification failed")));
    };
    // A backfill digest names when it was generated (its keys are looked up around that time).
    if is_backfill(key) && fetched.metadata.as_ref().is_some_and(|m| !m.contains_key(BACKFILL_TIMESTAMP_METADATA)) {
        return Err(invalid_format());
    }
    let obj = value.as_object().ok_or_else(invalid_format)?;
    if REQUIRED.iter().any(|m| !obj.contains_key(*m)) {
        return Err(invalid_format());
    }
    let text = |m: &str| obj.get(m).and_then(|v| v.as_str()).map(str::to_string);
    if text("digestS3Bucket").as_deref() != Some(bucket) || text("digestS3Object").as_deref() != Some(key) {
        return Err(Invalid(format!("Digest file\t{at}\tINVALID: has been moved from its original location")));
    }
    let fingerprint = match obj.get("digestPublicKeyFingerprint") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let Some(der) = keys.get(&fingerprint) else {
        return Err(Invalid(format!(
            "Digest file\t{at}\tINVALID: public key not found in region {home_region} for fingerprint {fingerprint}"
        )));
    };
    if !crate::is_public_key(der) {
        return Err(Invalid(format!(
            "Digest file\t{at}\tINVALID: Unable to load PKCS #1 key with fingerprint {fingerprint}"
        )));
    }
    let end_time = text("digestEndTime").unwrap_or_default();
    let previous = match obj.get("previousDigestSignature") {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let to_sign = digest::string_to_sign(&end_time, bucket, key, &digest::sha256_hex(&raw), previous.as_deref());
    let Some(sig) = digest::unhex(signature) else {
        let why = if signature.len() % 2 == 1 { "Odd-length string" } else { "Non-hexadecimal digit found" };
        return Err(Invalid(format!("Digest file\t{at}\tINVALID: {why}")));
    };
    if !crate::verify(der, to_sign.as_bytes(), &sig) {
        return Err(Invalid(format!("Digest file\t{at}\tINVALID: signature verification failed")));
    }
    let doc: Document = serde_json::from_value(value).map_err(|_| invalid_format())?;
    // The end is read first, then the start, as AWS's validator reads them.
    let unparsable = |v: &str| Invalid(format!("Digest file\t{at}\tINVALID: Unable to parse date value: {v}"));
    let end = parse_time(&doc.digest_end_time).ok_or_else(|| unparsable(&doc.digest_end_time))?;
    let start = parse_time(&doc.digest_start_time).ok_or_else(|| unparsable(&doc.digest_start_time))?;
    Ok(ValidDigest { doc, start, end })
}

/// A digest's document read without checking its signature (offline, for the newest digest of a chain, whose
/// signature only its object metadata held).
pub fn read_unverified(fetched: &Fetched) -> Option<ValidDigest> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&fetched.body[..]).read_to_end(&mut raw).ok()?;
    let doc: Document = serde_json::from_slice(&raw).ok()?;
    let start = parse_time(&doc.digest_start_time)?;
    let end = parse_time(&doc.digest_end_time)?;
    Some(ValidDigest { doc, start, end })
}

/// What a log file check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStatus {
    Valid,
    NotFound,
    HashMismatch,
    TrailingData,
    InvalidFormat,
}

impl LogStatus {
    /// The validator's words after the tab (`valid`, `INVALID: ...`).
    pub fn words(self) -> &'static str {
        match self {
            LogStatus::Valid => "valid",
            LogStatus::NotFound => "INVALID: not found",
            LogStatus::HashMismatch => "INVALID: hash value doesn't match",
            LogStatus::TrailingData => "INVALID: unexpected data after end of compressed stream",
            LogStatus::InvalidFormat => "INVALID: invalid format",
        }
    }
}

/// Checks a log file's bytes against the hash its digest lists: the first gzip member is inflated and hashed; bytes
/// after it make the file INVALID, as do a corrupt stream and a different hash. A stream cut short hashes what it
/// holds (a mismatch), as zlib's incremental inflater does.
pub fn check_log(gz: &[u8], expected_hex: &str) -> LogStatus {
    use sha2::{Digest, Sha256};
    let mut cursor = std::io::Cursor::new(gz);
    let mut decoder = flate2::bufread::GzDecoder::new(&mut cursor);
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match decoder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hash.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return LogStatus::HashMismatch,
            Err(_) => return LogStatus::InvalidFormat,
        }
    }
    drop(decoder);
    if (cursor.position() as usize) < gz.len() {
        return LogStatus::TrailingData;
    }
    if digest::hex(&hash.finalize()) == expected_hex {
        LogStatus::Valid
    } else {
        LogStatus::HashMismatch
    }
}

/// The records of a log file, each exactly as it is written in the file.
pub fn records(raw: &[u8]) -> Option<Vec<&RawValue>> {
    #[derive(serde::Deserialize)]
    struct File<'a> {
        #[serde(borrow, rename = "Records")]
        records: Vec<&'a RawValue>,
    }
    serde_json::from_slice::<File<'_>>(raw).ok().map(|f| f.records)
}

/// Inflates a log file's first gzip member.
pub fn inflate(gz: &[u8]) -> Option<Vec<u8>> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz).read_to_end(&mut raw).ok()?;
    Some(raw)
}

/// The leaf hashes of a log file's events, in file order.
pub fn leaves_of(gz: &[u8]) -> Option<Vec<Hash>> {
    let raw = inflate(gz)?;
    Some(records(&raw)?.iter().map(|r| merkle::leaf_hash(r.get().as_bytes())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn log_files_are_checked_as_aws_does() {
        let body = br#"{"Records":[{"eventID":"a"}]}"#;
        let hash = digest::sha256_hex(body);
        let file = gz(body);
        assert_eq!(check_log(&file, &hash), LogStatus::Valid);
        assert_eq!(check_log(&file, &digest::sha256_hex(b"other")), LogStatus::HashMismatch);
        let mut trailing = file.clone();
        trailing.extend_from_slice(b"more");
        assert_eq!(check_log(&trailing, &hash), LogStatus::TrailingData);
        let mut two_members = file.clone();
        two_members.extend_from_slice(&gz(b"x"));
        assert_eq!(check_log(&two_members, &hash), LogStatus::TrailingData);
        assert_eq!(check_log(&file[..file.len() - 12], &hash), LogStatus::HashMismatch);
        assert_eq!(check_log(b"not gzip at all", &hash), LogStatus::InvalidFormat);
    }

    #[test]
    fn digest_names_and_times() {
        let key = "AWSLogs/1/CloudTrail-Digest/us-east-1/2026/12/03/1_CloudTrail-Digest_us-east-1_t_us-east-1_20261203T120905Z.json.gz";
        assert_eq!(key_date(key), Some("20261203T120905Z"));
        let backfill = key.replace(".json.gz", "_backfill.json.gz");
        assert_eq!(key_date(&backfill), Some("20261203T120905Z"));
        let secs = parse_compact("20261203T120905Z").unwrap();
        assert_eq!(format_compact(secs), "20261203T120905Z");
        assert_eq!(format_display(secs), "2026-12-03T12:09:05Z");
        for s in ["2026-12-03T12:09:05Z", "2026-12-03T12:09:05", "2026-12-03T13:09:05+01:00", "2026-12-03 12:09:05"] {
            assert_eq!(parse_time(s), Some(secs), "{s}");
        }
        assert_eq!(parse_time("2026-12-03"), Some(secs - (12 * 3600 + 9 * 60 + 5)));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn records_are_read_byte_for_byte() {
        let raw = br#"{"Records":[{"eventID":"a", "x" : 1},{"eventID":"b"}]}"#;
        let r = records(raw).unwrap();
        assert_eq!(
            r.iter().map(|r| r.get()).collect::<Vec<_>>(),
            [r#"{"eventID":"a", "x" : 1}"#, r#"{"eventID":"b"}"#]
        );
        assert!(records(b"{}").is_none());
        assert_eq!(leaves_of(&gz(raw)).unwrap()[1], merkle::leaf_hash(br#"{"eventID":"b"}"#));
    }
}
