//! The digest file format, as CloudTrail writes it and `aws cloudtrail validate-logs` reads it: the JSON document
//! (members named and ordered as AWS's), the string its signature covers, and the object metadata that carries the
//! signature. Writers (delivery) and readers (validation) share this module, so they cannot disagree.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The signature algorithm every digest names (RSASSA-PKCS1-v1_5 with SHA-256).
pub const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";
/// The hash algorithm of log files and previous digests.
pub const HASH_ALGORITHM: &str = "SHA-256";
/// Object metadata (`x-amz-meta-` + this) holding the hex signature.
pub const SIGNATURE_METADATA: &str = "signature";
/// Object metadata (`x-amz-meta-` + this) naming the signature algorithm.
pub const SIGNATURE_ALGORITHM_METADATA: &str = "signature-algorithm";

/// One log file a digest lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFileEntry {
    #[serde(rename = "s3Bucket")]
    pub s3_bucket: String,
    #[serde(rename = "s3Object")]
    pub s3_object: String,
    /// hex(SHA-256 of the uncompressed log file).
    #[serde(rename = "hashValue")]
    pub hash_value: String,
    #[serde(rename = "hashAlgorithm", default)]
    pub hash_algorithm: String,
    #[serde(rename = "newestEventTime")]
    pub newest_event_time: Option<String>,
    #[serde(rename = "oldestEventTime")]
    pub oldest_event_time: Option<String>,
}

/// cairn's per-event Merkle tree head, an extra member AWS's validators ignore (see docs/integrity.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTreeHead {
    /// Always `RFC6962-SHA-256`.
    pub algorithm: String,
    /// Events in the chain's tree, from its first digest through this one.
    #[serde(rename = "treeSize")]
    pub tree_size: u64,
    /// hex of the tree's root hash (of the empty string for an empty tree).
    #[serde(rename = "rootHash")]
    pub root_hash: String,
    /// The tree size at the previous digest of the chain (0 for the first).
    #[serde(rename = "previousTreeSize")]
    pub previous_tree_size: u64,
    /// hex roots of the tree's perfect subtrees, largest first: with the next hour's events they give that hour's
    /// proofs without reading earlier hours.
    pub peaks: Vec<String>,
}

/// A digest file's document. Reading is as lenient as AWS's validator: beyond the members it requires (checked
/// before a document is read), absent members read as empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    #[serde(rename = "awsAccountId", default)]
    pub aws_account_id: String,
    #[serde(rename = "digestStartTime")]
    pub digest_start_time: String,
    #[serde(rename = "digestEndTime")]
    pub digest_end_time: String,
    #[serde(rename = "digestS3Bucket")]
    pub digest_s3_bucket: String,
    #[serde(rename = "digestS3Object")]
    pub digest_s3_object: String,
    #[serde(rename = "digestPublicKeyFingerprint")]
    pub digest_public_key_fingerprint: String,
    #[serde(rename = "digestSignatureAlgorithm", default)]
    pub digest_signature_algorithm: String,
    #[serde(rename = "newestEventTime")]
    pub newest_event_time: Option<String>,
    #[serde(rename = "oldestEventTime")]
    pub oldest_event_time: Option<String>,
    #[serde(rename = "previousDigestS3Bucket")]
    pub previous_digest_s3_bucket: Option<String>,
    #[serde(rename = "previousDigestS3Object")]
    pub previous_digest_s3_object: Option<String>,
    #[serde(rename = "previousDigestHashValue")]
    pub previous_digest_hash_value: Option<String>,
    #[serde(rename = "previousDigestHashAlgorithm")]
    pub previous_digest_hash_algorithm: Option<String>,
    #[serde(rename = "previousDigestSignature")]
    pub previous_digest_signature: Option<String>,
    #[serde(rename = "logFiles", default)]
    pub log_files: Vec<LogFileEntry>,
    #[serde(rename = "cairnEventTree", default, skip_serializing_if = "Option::is_none")]
    pub event_tree: Option<EventTreeHead>,
}

/// The string a digest's signature covers: its end time, `bucket/key`, the hex SHA-256 of the uncompressed digest,
/// and the previous digest's signature (`null` for the first of a chain).
pub fn string_to_sign(
    end_time: &str,
    bucket: &str,
    key: &str,
    digest_sha256_hex: &str,
    previous: Option<&str>,
) -> String {
    format!("{end_time}\n{bucket}/{key}\n{digest_sha256_hex}\n{}", previous.unwrap_or("null"))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Bytes from hex (either case); `None` if it is not hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes().chunks(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

/// hex(SHA-256(bytes)).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_members_are_aws_names_in_aws_order() {
        let example = include_str!(
            "../../../../shared/reference/aws-docs-examples/json/cloudtrail-log-file-validation-digest-file-structure__02.json"
        );
        let doc: Document = serde_json::from_str(example).unwrap();
        assert_eq!(doc.log_files.len(), 1);
        assert_eq!(doc.digest_signature_algorithm, SIGNATURE_ALGORITHM);
        assert!(doc.event_tree.is_none());
        let ours: serde_json::Value = serde_json::from_str(&serde_json::to_string(&doc).unwrap()).unwrap();
        let theirs: serde_json::Value = serde_json::from_str(example).unwrap();
        assert_eq!(ours, theirs);
        let names = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(&ours), names(&theirs), "members in AWS's order");
    }

    #[test]
    fn signed_string_and_hex() {
        assert_eq!(string_to_sign("2015-08-17T15:01:31Z", "b", "k", "ab", None), "2015-08-17T15:01:31Z\nb/k\nab\nnull");
        assert_eq!(string_to_sign("t", "b", "p/k", "00", Some("5f")), "t\nb/p/k\n00\n5f");
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(unhex("00AB10"), Some(vec![0, 0xab, 0x10]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
