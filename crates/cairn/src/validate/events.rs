//! Per-event Merkle trees (cairn's extra digest member `cairnEventTree`, docs/integrity.md): each event of a log
//! file is a leaf (its record's exact bytes), leaves follow the digest's log files in order, and a digest's tree head
//! extends the previous digest's. A tree check rebuilds a digest's head from the previous head's peaks and its log
//! files' events; the same pieces give one event's inclusion proof and the consistency proof between two heads.

use super::source::Got;
use super::{Checked, Item, Prepared};
use anyhow::Result;
use cairn_integrity::check::{self, LogStatus};
use cairn_integrity::digest::{Document, EventTreeHead, LogFileEntry};
use cairn_integrity::merkle::{self, Frontier};

/// One digest's tree check.
#[derive(Debug, Clone)]
pub struct TreeCheck {
    /// `s3://bucket/key` of the digest.
    pub digest: String,
    pub events: u64,
    /// Why the tree is INVALID, if it is.
    pub problem: Option<String>,
}

/// The tree head a digest extends: the previous digest's (found among the walked digests, else fetched and its
/// signature checked), or the empty tree for the first digest of a chain.
pub async fn previous_head(p: &Prepared, items: &[Item], doc: &Document) -> Result<EventTreeHead, String> {
    let head = doc.event_tree.as_ref().ok_or("the digest has no event tree")?;
    let empty = || EventTreeHead {
        algorithm: head.algorithm.clone(),
        tree_size: 0,
        root_hash: cairn_integrity::digest::hex(&merkle::empty_root()),
        previous_tree_size: 0,
        peaks: Vec::new(),
    };
    let (Some(bucket), Some(key)) = (&doc.previous_digest_s3_bucket, &doc.previous_digest_s3_object) else {
        return if head.previous_tree_size == 0 {
            Ok(empty())
        } else {
            Err("the first digest of a chain extends a tree".into())
        };
    };
    let walked = items.iter().find_map(|i| match i {
        Item::Valid { bucket: b, key: k, doc, verified: true, .. } if b == bucket && k == key => {
            Some(doc.event_tree.clone())
        }
        _ => None,
    });
    let tree = match walked {
        Some(t) => t,
        None => {
            let fetched = match p.src.get(bucket, key).await.map_err(|e| e.to_string())? {
                Got::Found(f) => f,
                Got::Missing => return Err(format!("its previous digest s3://{bucket}/{key} is not found")),
            };
            let signature = doc.previous_digest_signature.as_deref();
            let valid = check::check_digest(bucket, key, &fetched, signature, &p.keys, &p.trail.home_region)
                .map_err(|e| e.0.replace('\t', " "))?;
            valid.doc.event_tree
        }
    };
    match tree {
        Some(t) => Ok(t),
        None if head.previous_tree_size == 0 => Ok(empty()),
        None => Err("its previous digest has no event tree".into()),
    }
}

/// A tree head's frontier, if its peaks are hashes that fold to its root.
pub fn frontier(head: &EventTreeHead) -> Result<Frontier, String> {
    match Frontier::from_hex(head.tree_size, &head.peaks) {
        Some(f) if cairn_integrity::digest::hex(&f.root()) == head.root_hash => Ok(f),
        _ => Err(format!("the tree head of size {} does not hash to its root", head.tree_size)),
    }
}

/// Checks the tree head of every valid digest that has one against its log files' events and the previous head.
pub async fn check_trees(
    p: &Prepared,
    items: &[Item],
    logs: &[LogFileEntry],
    checked: &[Checked],
) -> Result<Vec<TreeCheck>> {
    let mut out = Vec::new();
    let mut next = 0;
    for item in items {
        let Item::Valid { bucket, key, doc, verified, .. } = item else { continue };
        let files = &checked[next..next + doc.log_files.len()];
        debug_assert!(logs[next..next + doc.log_files.len()].iter().zip(&doc.log_files).all(|(a, b)| a == b));
        next += doc.log_files.len();
        // An unverified digest's head is not signed: nothing to check it against.
        if !verified {
            continue;
        }
        let Some(head) = &doc.event_tree else { continue };
        let digest = format!("s3://{bucket}/{key}");
        let problem = async {
            if files.iter().any(|(s, _)| *s != LogStatus::Valid) {
                return Err("not all of its log files are valid".to_string());
            }
            let previous = previous_head(p, items, doc).await?;
            if head.previous_tree_size != previous.tree_size {
                return Err(format!(
                    "it extends a tree of {} events, its previous digest's has {}",
                    head.previous_tree_size, previous.tree_size
                ));
            }
            let mut f = frontier(&previous)?;
            for (_, leaves) in files {
                for l in leaves.as_deref().ok_or("a log file's events cannot be read")? {
                    f.push(*l);
                }
            }
            if f.size != head.tree_size
                || f.hex_peaks() != head.peaks
                || cairn_integrity::digest::hex(&f.root()) != head.root_hash
            {
                return Err(format!("its log files' {} events do not give its tree head", f.size - previous.tree_size));
            }
            Ok(())
        }
        .await
        .err();
        out.push(TreeCheck { digest, events: head.tree_size.saturating_sub(head.previous_tree_size), problem });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_heads_must_hash_to_their_root() {
        let head = EventTreeHead {
            algorithm: "RFC6962-SHA-256".into(),
            tree_size: 1,
            root_hash: cairn_integrity::digest::hex(&merkle::leaf_hash(b"x")),
            previous_tree_size: 0,
            peaks: vec![cairn_integrity::digest::hex(&merkle::leaf_hash(b"x"))],
        };
        assert!(frontier(&head).is_ok());
        assert!(frontier(&EventTreeHead { tree_size: 3, ..head.clone() }).is_err(), "one peak per set bit");
        assert!(frontier(&EventTreeHead { root_hash: "00".into(), ..head }).is_err());
    }
}
