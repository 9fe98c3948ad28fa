//! Where CloudTrail puts log files, and what they hold: AWS's object key layout and the gzip-compressed
//! `{"Records":[...]}` document, records kept byte for byte.
//!
//! ```text
//! [prefix/]AWSLogs/[o-id/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz
//! ```
//! Digest files go to `...<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_<trail>_<home region>_<YYYYMMDDTHHMMSSZ>.json.gz`,
//! named by the end of the period they cover. The date and time of a log file are those of delivery (UTC). The 16 characters are derived from the trail, account, region
//! and the journal range the file covers, so delivering the same batch again writes the same object.

use std::io::Write;

use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Where a trail's files go: bucket, optional key prefix, and the organization folder of organization trails.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Destination {
    pub bucket: String,
    pub prefix: Option<String>,
    pub organization_id: Option<String>,
}

impl Destination {
    /// `[prefix/]AWSLogs/[o-id/]<account>/`: the folder of one account's files.
    pub fn account_folder(&self, account: &str) -> String {
        let mut key = String::new();
        if let Some(p) = self.prefix.as_deref().filter(|p| !p.is_empty()) {
            key.push_str(p.trim_end_matches('/'));
            key.push('/');
        }
        key.push_str("AWSLogs/");
        if let Some(o) = &self.organization_id {
            key.push_str(o);
            key.push('/');
        }
        key.push_str(account);
        key.push('/');
        key
    }

    /// The key of a log file delivered at `delivered_ms` (milliseconds since the epoch, UTC).
    pub fn log_file_key(&self, account: &str, region: &str, delivered_ms: i64, unique: &str) -> String {
        let t = utc(delivered_ms);
        format!(
            "{folder}CloudTrail/{region}/{y:04}/{m:02}/{d:02}/{account}_CloudTrail_{region}_{y:04}{m:02}{d:02}T{hh:02}{mm:02}Z_{unique}.json.gz",
            folder = self.account_folder(account),
            y = t.year(),
            m = u8::from(t.month()),
            d = t.day(),
            hh = t.hour(),
            mm = t.minute(),
        )
    }

    /// The key of a digest file of trail `trail_name` (home region `home_region`) for the account and source region,
    /// ending at `end_ms`: its name ends `_<YYYYMMDDTHHMMSSZ>.json.gz`, the part AWS's validator reads the time from.
    pub fn digest_key(&self, account: &str, region: &str, trail_name: &str, home_region: &str, end_ms: i64) -> String {
        let t = utc(end_ms);
        format!(
            "{folder}CloudTrail-Digest/{region}/{y:04}/{m:02}/{d:02}/{account}_CloudTrail-Digest_{region}_{trail_name}_{home_region}_{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z.json.gz",
            folder = self.account_folder(account),
            y = t.year(),
            m = u8::from(t.month()),
            d = t.day(),
            hh = t.hour(),
            mm = t.minute(),
            ss = t.second(),
        )
    }
}

fn utc(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `YYYY-MM-DDTHH:MM:SSZ`, as GetTrailStatus shows delivery times and digests their periods.
pub fn iso_seconds(millis: i64) -> String {
    cairn_integrity::check::format_display(millis.div_euclid(1000))
}

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The 16 letters and digits that end a log file's name, derived from what the file covers (`lo..=hi` of the
/// journal, for one trail, account and region), so a retry after a crash rewrites the same object.
pub fn unique_part(trail_arn: &str, account: &str, region: &str, lo: u64, hi: u64) -> String {
    let mut h = Sha256::new();
    for part in [trail_arn.as_bytes(), account.as_bytes(), region.as_bytes()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.update(lo.to_le_bytes());
    h.update(hi.to_le_bytes());
    let digest = h.finalize();
    // 16 base-62 digits from the first 12 bytes (96 bits; 62^16 is about 2^95.3, so the modulo bias is negligible).
    let mut n = u128::from_be_bytes(digest[..16].try_into().expect("16 bytes")) >> 32;
    let mut out = [0u8; 16];
    for c in out.iter_mut().rev() {
        *c = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|&b| b as char).collect()
}

/// A log file: one gzip member holding `{"Records":[r1,r2,...]}` with each record exactly as recorded; with the
/// SHA-256 of the uncompressed document, as digests list it.
pub fn log_file<'a>(records: impl IntoIterator<Item = &'a [u8]>, level: u32) -> std::io::Result<(Vec<u8>, [u8; 32])> {
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    let mut hash = Sha256::new();
    let mut write = |bytes: &[u8]| {
        hash.update(bytes);
        gz.write_all(bytes)
    };
    write(b"{\"Records\":[")?;
    for (i, r) in records.into_iter().enumerate() {
        if i > 0 {
            write(b",")?;
        }
        write(r)?;
    }
    write(b"]}")?;
    Ok((gz.finish()?, hash.finalize().into()))
}

/// `bytes` as one gzip member.
pub fn gzip(bytes: &[u8], level: u32) -> std::io::Result<Vec<u8>> {
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    gz.write_all(bytes)?;
    gz.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn keys_follow_aws_layout() {
        // 2026-11-22T13:58:51Z
        let at = 1_795_355_931_000;
        let plain = Destination { bucket: "b".into(), prefix: None, organization_id: None };
        assert_eq!(
            plain.log_file_key("111122223333", "us-east-2", at, "0123456789ABCDEF"),
            "AWSLogs/111122223333/CloudTrail/us-east-2/2026/11/22/111122223333_CloudTrail_us-east-2_20261122T1358Z_0123456789ABCDEF.json.gz"
        );
        let org = Destination {
            bucket: "b".into(),
            prefix: Some("audit/logs/".into()),
            organization_id: Some("o-exampleorgid".into()),
        };
        assert_eq!(
            org.log_file_key("111122223333", "eu-west-1", 0, "aaaaaaaaaaaaaaaa"),
            "audit/logs/AWSLogs/o-exampleorgid/111122223333/CloudTrail/eu-west-1/1970/01/01/111122223333_CloudTrail_eu-west-1_19700101T0000Z_aaaaaaaaaaaaaaaa.json.gz"
        );
        assert_eq!(iso_seconds(at + 999), "2026-11-22T13:58:51Z");
        assert_eq!(
            org.digest_key("111122223333", "eu-west-1", "my-trail", "us-east-1", at),
            "audit/logs/AWSLogs/o-exampleorgid/111122223333/CloudTrail-Digest/eu-west-1/2026/11/22/111122223333_CloudTrail-Digest_eu-west-1_my-trail_us-east-1_20261122T135851Z.json.gz"
        );
    }

    #[test]
    fn unique_part_is_deterministic_and_distinct() {
        let a = unique_part("arn:t", "111122223333", "us-east-1", 10, 20);
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(a, unique_part("arn:t", "111122223333", "us-east-1", 10, 20));
        for other in [
            unique_part("arn:u", "111122223333", "us-east-1", 10, 20),
            unique_part("arn:t", "111122223334", "us-east-1", 10, 20),
            unique_part("arn:t", "111122223333", "us-east-2", 10, 20),
            unique_part("arn:t", "111122223333", "us-east-1", 11, 20),
            unique_part("arn:t", "111122223333", "us-east-1", 10, 21),
        ] {
            assert_ne!(a, other);
        }
    }

    #[test]
    fn log_files_are_one_gzip_member_with_records_verbatim() {
        let records: [&[u8]; 2] = [br#"{"eventID":"a", "x" : 1}"#, br#"{"eventID":"b"}"#];
        let (gz, hash) = log_file(records, 6).unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).unwrap();
        assert_eq!(text, r#"{"Records":[{"eventID":"a", "x" : 1},{"eventID":"b"}]}"#);
        assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(text.as_bytes())));
        // Exactly one member: a multi-member reader sees nothing after it.
        let mut all = String::new();
        flate2::read::MultiGzDecoder::new(&gz[..]).read_to_string(&mut all).unwrap();
        assert_eq!(all, text);
        let (empty, _) = log_file(std::iter::empty(), 6).unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&empty[..]).read_to_string(&mut text).unwrap();
        assert_eq!(text, r#"{"Records":[]}"#);
    }
}
