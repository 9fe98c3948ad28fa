//! A stream's digest chain: the log files delivered since its last digest, the link to that digest, and the
//! per-event Merkle frontier; and the sealing of a digest file (document, SHA-256, SHA256withRSA signature) from it.
//!
//! # Crash safety
//! A delivered log file joins the chain in the same state save that records its delivery, so it is listed in exactly
//! one digest. Sealing a digest moves the chain on (new start, link to the sealed digest, no files) and queues the
//! sealed object in the same save, before it is written: after a crash the queued object is written as it was
//! sealed (same bytes, same signature), and the next digest links to it. So the chain has no gap and no fork.

use cairn_integrity::digest::{self, Document, EventTreeHead, LogFileEntry};
use cairn_integrity::merkle::{self, Frontier};
use cairn_integrity::SigningKey;
use serde::{Deserialize, Serialize};

use crate::layout::{iso_seconds, Destination};

/// A log file delivered while the chain was open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestedFile {
    pub key: String,
    /// hex SHA-256 of the uncompressed file.
    pub hash: String,
    pub oldest: Option<String>,
    pub newest: Option<String>,
}

/// The digest a chain's next digest points back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub bucket: String,
    pub key: String,
    /// hex SHA-256 of the uncompressed digest.
    pub hash: String,
    /// hex signature.
    pub signature: String,
}

/// An open digest chain of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// Start of the period the next digest covers (whole seconds).
    pub started_ms: i64,
    pub files: Vec<DigestedFile>,
    pub previous: Option<Link>,
    /// The Merkle frontier over every event of the chain's files so far.
    #[serde(default)]
    pub tree: Frontier,
    /// The tree size at the previous digest.
    #[serde(default)]
    pub previous_tree_size: u64,
    /// A file of this period joined without its events (per-event proofs off): the digest carries no tree head, and
    /// the next period's tree starts afresh.
    #[serde(default)]
    pub untreed: bool,
}

/// A sealed digest waiting to be written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedDigest {
    pub bucket: String,
    pub key: String,
    /// The uncompressed document.
    pub body: String,
    /// hex signature for `x-amz-meta-signature`.
    pub signature: String,
}

/// Who a stream's digests are for.
#[derive(Debug, Clone, Copy)]
pub struct StreamOf<'a> {
    pub destination: &'a Destination,
    pub account: &'a str,
    pub region: &'a str,
    pub trail_name: &'a str,
    pub home_region: &'a str,
}

/// Milliseconds truncated to whole seconds, as digest times are written.
pub fn whole_seconds(ms: i64) -> i64 {
    ms - ms.rem_euclid(1000)
}

impl Chain {
    pub fn new(now_ms: i64) -> Chain {
        Chain {
            started_ms: whole_seconds(now_ms),
            files: Vec::new(),
            previous: None,
            tree: Frontier::default(),
            previous_tree_size: 0,
            untreed: false,
        }
    }

    /// Adds a delivered log file and its records (in file order) to the chain.
    pub fn add<'a>(&mut self, file: DigestedFile, records: impl IntoIterator<Item = &'a [u8]>) {
        for r in records {
            self.tree.push(merkle::leaf_hash(r));
        }
        self.files.push(file);
    }

    /// Adds a delivered log file without its events (per-event proofs off).
    pub fn add_without_events(&mut self, file: DigestedFile) {
        self.untreed = true;
        self.files.push(file);
    }

    /// Whether a digest ending at `now_ms` would get a name of its own (digest names have whole seconds).
    pub fn can_seal(&self, now_ms: i64) -> bool {
        whole_seconds(now_ms) > self.started_ms
    }

    /// Seals the digest of everything since the last one, ending at `now_ms`, and moves the chain on.
    pub fn seal(&mut self, s: StreamOf<'_>, now_ms: i64, key: &SigningKey) -> SealedDigest {
        let end_ms = whole_seconds(now_ms);
        let bucket = s.destination.bucket.clone();
        let object = s.destination.digest_key(s.account, s.region, s.trail_name, s.home_region, end_ms);
        let times = |pick: fn(&DigestedFile) -> &Option<String>, newest: bool| {
            let it = self.files.iter().filter_map(|f| pick(f).clone());
            if newest {
                it.max()
            } else {
                it.min()
            }
        };
        let prev = self.previous.as_ref();
        let doc = Document {
            aws_account_id: s.account.to_string(),
            digest_start_time: iso_seconds(self.started_ms),
            digest_end_time: iso_seconds(end_ms),
            digest_s3_bucket: bucket.clone(),
            digest_s3_object: object.clone(),
            digest_public_key_fingerprint: key.fingerprint().to_string(),
            digest_signature_algorithm: digest::SIGNATURE_ALGORITHM.to_string(),
            newest_event_time: times(|f| &f.newest, true),
            oldest_event_time: times(|f| &f.oldest, false),
            previous_digest_s3_bucket: prev.map(|p| p.bucket.clone()),
            previous_digest_s3_object: prev.map(|p| p.key.clone()),
            previous_digest_hash_value: prev.map(|p| p.hash.clone()),
            previous_digest_hash_algorithm: prev.map(|_| digest::HASH_ALGORITHM.to_string()),
            previous_digest_signature: prev.map(|p| p.signature.clone()),
            log_files: self
                .files
                .iter()
                .map(|f| LogFileEntry {
                    s3_bucket: bucket.clone(),
                    s3_object: f.key.clone(),
                    hash_value: f.hash.clone(),
                    hash_algorithm: digest::HASH_ALGORITHM.to_string(),
                    newest_event_time: f.newest.clone(),
                    oldest_event_time: f.oldest.clone(),
                })
                .collect(),
            event_tree: (!self.untreed).then(|| EventTreeHead {
                algorithm: "RFC6962-SHA-256".into(),
                tree_size: self.tree.size,
                root_hash: digest::hex(&self.tree.root()),
                previous_tree_size: self.previous_tree_size,
                peaks: self.tree.hex_peaks(),
            }),
        };
        let body = serde_json::to_string(&doc).expect("a digest document serializes");
        let hash = digest::sha256_hex(body.as_bytes());
        let to_sign =
            digest::string_to_sign(&doc.digest_end_time, &bucket, &object, &hash, prev.map(|p| p.signature.as_str()));
        let signature = digest::hex(&key.sign(to_sign.as_bytes()));
        self.previous = Some(Link { bucket: bucket.clone(), key: object.clone(), hash, signature: signature.clone() });
        self.started_ms = end_ms;
        self.files.clear();
        if self.untreed {
            self.tree = Frontier::default();
            self.untreed = false;
        }
        self.previous_tree_size = self.tree.size;
        SealedDigest { bucket, key: object, body, signature }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_digests_chain_and_verify() {
        let dir = std::env::temp_dir().join(format!("cairn-digest-{}", std::process::id()));
        let keys = cairn_integrity::SigningKeys::open(&dir, 86_400_000).unwrap();
        let key = keys.current("us-east-2", 0).unwrap();
        let dest = Destination { bucket: "b".into(), prefix: Some("p".into()), organization_id: None };
        let s = StreamOf {
            destination: &dest,
            account: "111122223333",
            region: "us-east-2",
            trail_name: "t",
            home_region: "us-east-1",
        };
        let mut chain = Chain::new(1_439_820_091_500);
        assert!(!chain.can_seal(1_439_820_091_999));
        let first = chain.seal(s, 1_439_823_691_000, &key);
        assert_eq!(
            first.key,
            "p/AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_t_us-east-1_20150817T150131Z.json.gz"
        );
        let doc: Document = serde_json::from_str(&first.body).unwrap();
        assert_eq!(
            (doc.digest_start_time.as_str(), doc.digest_end_time.as_str()),
            ("2015-08-17T14:01:31Z", "2015-08-17T15:01:31Z")
        );
        assert_eq!(doc.previous_digest_signature, None);
        assert!(doc.log_files.is_empty() && doc.newest_event_time.is_none());
        let v: serde_json::Value = serde_json::from_str(&first.body).unwrap();
        assert!(v["previousDigestS3Object"].is_null() && v["oldestEventTime"].is_null(), "nulls, not absent");
        let signed = digest::string_to_sign(
            &doc.digest_end_time,
            "b",
            &first.key,
            &digest::sha256_hex(first.body.as_bytes()),
            None,
        );
        assert!(cairn_integrity::verify(
            key.public_der(),
            signed.as_bytes(),
            &digest::unhex(&first.signature).unwrap()
        ));

        let records: [&[u8]; 2] = [b"{\"a\":1}", b"{\"b\":2}"];
        chain.add(
            DigestedFile {
                key: "log1".into(),
                hash: "00".into(),
                oldest: Some("2015-08-17T14:42:27Z".into()),
                newest: Some("2015-08-17T14:52:27Z".into()),
            },
            records,
        );
        let second = chain.seal(s, 1_439_827_291_000, &key);
        let doc2: Document = serde_json::from_str(&second.body).unwrap();
        assert_eq!(doc2.previous_digest_s3_object.as_deref(), Some(first.key.as_str()));
        assert_eq!(doc2.previous_digest_signature.as_deref(), Some(first.signature.as_str()));
        assert_eq!(doc2.previous_digest_hash_value, Some(digest::sha256_hex(first.body.as_bytes())));
        assert_eq!(doc2.oldest_event_time.as_deref(), Some("2015-08-17T14:42:27Z"));
        assert_eq!(doc2.log_files[0].s3_bucket, "b");
        let tree = doc2.event_tree.unwrap();
        assert_eq!((tree.tree_size, tree.previous_tree_size), (2, 0));
        let leaves: Vec<_> = records.iter().map(|r| merkle::leaf_hash(r)).collect();
        assert_eq!(tree.root_hash, digest::hex(&merkle::root(&leaves)));
        let signed = digest::string_to_sign(
            &doc2.digest_end_time,
            "b",
            &second.key,
            &digest::sha256_hex(second.body.as_bytes()),
            Some(&first.signature),
        );
        assert!(cairn_integrity::verify(
            key.public_der(),
            signed.as_bytes(),
            &digest::unhex(&second.signature).unwrap()
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn without_per_event_proofs_a_digest_has_no_tree_and_the_next_tree_starts_afresh() {
        let dir = std::env::temp_dir().join(format!("cairn-digest-untreed-{}", std::process::id()));
        let keys = cairn_integrity::SigningKeys::open(&dir, 86_400_000).unwrap();
        let key = keys.current("us-east-1", 0).unwrap();
        let dest = Destination { bucket: "b".into(), prefix: None, organization_id: None };
        let s = StreamOf {
            destination: &dest,
            account: "1",
            region: "us-east-1",
            trail_name: "t",
            home_region: "us-east-1",
        };
        let file = |k: &str| DigestedFile { key: k.into(), hash: "00".into(), oldest: None, newest: None };
        let mut chain = Chain::new(0);
        chain.add(file("a"), [&b"{}"[..]]);
        chain.add_without_events(file("b"));
        let first: Document = serde_json::from_str(&chain.seal(s, 10_000, &key).body).unwrap();
        assert!(first.event_tree.is_none() && first.log_files.len() == 2);
        chain.add(file("c"), [&b"{}"[..], &b"[]"[..]]);
        let second: Document = serde_json::from_str(&chain.seal(s, 20_000, &key).body).unwrap();
        let tree = second.event_tree.unwrap();
        assert_eq!((tree.previous_tree_size, tree.tree_size), (0, 2));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
