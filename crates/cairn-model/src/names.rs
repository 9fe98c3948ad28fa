//! Name rules AWS applies to trails, S3 buckets and key prefixes, accounts and regions.

use crate::{Error, Result};

/// Trail names: 3-128 of `[A-Za-z0-9._-]`, starting and ending with a letter or digit, no two adjacent
/// punctuation characters, and not shaped like an IPv4 address.
pub fn validate_trail_name(name: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::InvalidTrailName(format!("trail name {name:?} is not valid: {why}")));
    if !(3..=128).contains(&name.len()) {
        return bad("it must be between 3 and 128 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        return bad("it may contain only ASCII letters, digits, periods, underscores and dashes");
    }
    let (first, last) = (name.as_bytes()[0], name.as_bytes()[name.len() - 1]);
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return bad("it must start and end with a letter or a digit");
    }
    let punct = |b: u8| matches!(b, b'.' | b'_' | b'-');
    if name.as_bytes().windows(2).any(|w| punct(w[0]) && punct(w[1])) {
        return bad("it must not contain adjacent periods, underscores or dashes");
    }
    if looks_like_ipv4(name) {
        return bad("it must not be in IP address format");
    }
    Ok(())
}

fn looks_like_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// S3 general purpose bucket naming rules.
pub fn validate_bucket_name(name: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::InvalidS3BucketName(format!("bucket name {name:?} is not valid: {why}")));
    if !(3..=63).contains(&name.len()) {
        return bad("it must be between 3 and 63 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-') {
        return bad("it may contain only lowercase letters, digits, periods and dashes");
    }
    let (first, last) = (name.as_bytes()[0], name.as_bytes()[name.len() - 1]);
    if !(first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric()) {
        return bad("it must start and end with a letter or a digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return bad("it must not contain adjacent periods or a period next to a dash");
    }
    if looks_like_ipv4(name) {
        return bad("it must not be formatted as an IP address");
    }
    if name.starts_with("xn--")
        || name.starts_with("sthree-")
        || name.ends_with("-s3alias")
        || name.ends_with("--ol-s3")
    {
        return bad("it uses a reserved prefix or suffix");
    }
    Ok(())
}

/// S3 key prefixes for trail delivery: at most 200 characters, no empty path segment, no leading slash.
pub fn validate_s3_prefix(prefix: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::InvalidS3Prefix(format!("S3 key prefix {prefix:?} is not valid: {why}")));
    if prefix.len() > 200 {
        return bad("it must be at most 200 characters");
    }
    if prefix.starts_with('/') || prefix.ends_with('/') || prefix.contains("//") {
        return bad("it must not start or end with a slash or contain an empty path segment");
    }
    if prefix.chars().any(|c| c.is_control()) {
        return bad("it must not contain control characters");
    }
    Ok(())
}

/// A 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A region name such as `us-east-1` or `us-gov-west-1`.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

/// An SNS topic name: 1-256 of letters, digits, dashes and underscores (FIFO topics end in `.fifo`).
pub fn validate_sns_topic_name(name: &str) -> Result<()> {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    if base.is_empty() || name.len() > 256 || !base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::InvalidSnsTopicName(format!("SNS topic name {name:?} is not valid")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_names() {
        let (a128, a129) = ("a".repeat(128), "a".repeat(129));
        let cases = [
            ("my-trail", true),
            ("abc", true),
            ("ab", false),
            (a128.as_str(), true),
            (a129.as_str(), false),
            ("-trail", false),
            ("trail-", false),
            ("my--trail", false),
            ("my-_namespace", false),
            ("my.trail_v2-x", true),
            ("192.168.5.4", false),
            ("192.168.5", true),
            ("has space", false),
            ("Trail9", true),
        ];
        for (name, ok) in cases {
            assert_eq!(validate_trail_name(name).is_ok(), ok, "{name}");
        }
    }

    #[test]
    fn bucket_names() {
        let cases = [
            ("amzn-s3-demo-bucket", true),
            ("trail-bucket", true),
            ("ab", false),
            ("UpperCase", false),
            ("a..b", false),
            ("a.-b", false),
            ("10.0.0.1", false),
            ("xn--bucket", false),
            ("bucket-", false),
            ("my_bucket", false),
        ];
        for (name, ok) in cases {
            assert_eq!(validate_bucket_name(name).is_ok(), ok, "{name}");
        }
    }

    #[test]
    fn prefixes_accounts_regions() {
        assert!(validate_s3_prefix("logs/cloudtrail").is_ok());
        assert!(validate_s3_prefix("/logs").is_err());
        assert!(validate_s3_prefix("logs//x").is_err());
        assert!(validate_s3_prefix(&"p".repeat(201)).is_err());
        assert!(is_account_id("123456789012"));
        assert!(!is_account_id("12345678901a"));
        assert!(is_region("us-east-1") && is_region("us-gov-west-1") && is_region("ap-southeast-2"));
        assert!(!is_region("useast1") && !is_region("us-east-x") && !is_region("US-east-1"));
        assert!(validate_sns_topic_name("MyTopic").is_ok() && validate_sns_topic_name("a b").is_err());
    }
}
