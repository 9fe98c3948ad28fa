//! `cairn prove EVENT_ID`: finds an event in a trail's validated log files and prints its proof: the audit path from
//! the event's leaf to the event tree head signed in a digest, and the consistency proof from the previous digest's
//! head, both verified before they are printed (docs/integrity.md has the format and how to check it by hand).

use std::io::IsTerminal;

use anyhow::{bail, Context, Result};
use cairn_integrity::digest::hex;
use cairn_integrity::merkle::{self, Extension, Hash};
use clap::Args;
use futures::StreamExt;
use serde_json::{json, Value};

use cairn_integrity::check;

use super::events::{frontier, previous_head};
use super::source::Got;
use super::{listed_logs, prepare, walk, Format, Item, Scope};

#[derive(Debug, Args)]
pub struct ProveArgs {
    /// The eventID of the event to prove.
    event_id: String,
    #[command(flatten)]
    scope: Scope,
    /// text or json (the whole proof, for another verifier).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    output: Format,
}

pub fn run(args: ProveArgs) -> Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(prove(args))
}

/// Where an event was found: its log file's index among the walked log files and its place in the file.
#[derive(Debug, Clone, Copy)]
struct Found {
    log: usize,
    position: usize,
}

async fn prove(args: ProveArgs) -> Result<i32> {
    let p = prepare(&args.scope).await?;
    let items = walk(&p).await?;
    let logs = listed_logs(&items);
    let id = args.event_id.as_str();
    let needle = format!("\"{id}\"");
    let src = &p.src;
    if std::io::stderr().is_terminal() {
        eprintln!("searching {} log files for event {id}", logs.len());
    }
    let found: Vec<Option<Found>> = futures::stream::iter(logs.iter().enumerate())
        .map(|(i, l)| {
            let needle = needle.clone();
            async move {
                let Ok(Got::Found(f)) = src.get(&l.s3_bucket, &l.s3_object).await else { return None };
                tokio::task::spawn_blocking(move || {
                    let raw = check::inflate(&f.body)?;
                    let records = check::records(&raw)?;
                    let position = records.iter().position(|r| {
                        r.get().contains(&needle)
                            && serde_json::from_str::<Value>(r.get())
                                .is_ok_and(|v| v["eventID"].as_str() == Some(id_of(&needle)))
                    })?;
                    Some(Found { log: i, position })
                })
                .await
                .ok()
                .flatten()
            }
        })
        .buffered(p.concurrency.max(1))
        .collect()
        .await;
    let Some(at) = found.into_iter().flatten().next() else {
        eprintln!("event {id} is in none of the validated log files between the start and end times");
        return Ok(1);
    };
    // The digest that lists the file, and every file it lists.
    let mut first = 0;
    let (bucket, key, doc, verified) = items
        .iter()
        .find_map(|i| match i {
            Item::Valid { bucket, key, doc, verified, .. } => {
                let range = first..first + doc.log_files.len();
                first += doc.log_files.len();
                range.contains(&at.log).then(|| (bucket.clone(), key.clone(), doc.clone(), *verified))
            }
            _ => None,
        })
        .context("the event's log file is listed by no valid digest")?;
    if !verified {
        bail!("digest s3://{bucket}/{key}, which lists the event's log file, is UNVERIFIED (offline, no signature)");
    }
    let Some(head) = doc.event_tree.clone() else {
        bail!("digest s3://{bucket}/{key} has no event tree (digests CloudTrail wrote have none): the event's file is proven, not the event");
    };
    let file_index = at.log - (first - doc.log_files.len());
    let mut leaves: Vec<Hash> = Vec::new();
    let mut offset = 0;
    for (i, l) in doc.log_files.iter().enumerate() {
        let body = match p.src.get(&l.s3_bucket, &l.s3_object).await? {
            Got::Found(f) => f.body,
            Got::Missing => bail!("log file s3://{}/{} is not found", l.s3_bucket, l.s3_object),
        };
        let file_leaves = check::leaves_of(&body).context("a log file's events cannot be read")?;
        if i == file_index {
            offset = leaves.len() + at.position;
        }
        leaves.extend(file_leaves);
    }
    let previous = previous_head(&p, &items, &doc).await.map_err(|e| anyhow::anyhow!(e))?;
    let f = frontier(&previous).map_err(|e| anyhow::anyhow!(e))?;
    let tree = Extension::new(f.size, &f.peaks, &leaves).context("the previous tree head's peaks")?;
    let root = tree.root().context("the tree's root")?;
    if hex(&root) != head.root_hash || tree.size() != head.tree_size {
        bail!("the digest's log files do not give its event tree head: the proof cannot be made");
    }
    let index = f.size + offset as u64;
    let leaf = leaves[offset];
    let path = tree.inclusion(index).context("the audit path")?;
    let consistency = tree.consistency().context("the consistency proof")?;
    let previous_root = f.root();
    let included = merkle::verify_inclusion(&leaf, index, tree.size(), &path, &root);
    let consistent = merkle::verify_consistency(f.size, tree.size(), &previous_root, &root, &consistency);
    if !(included && consistent) {
        bail!("the proof does not verify");
    }
    let log = &doc.log_files[file_index];
    let hexes = |hs: &[Hash]| hs.iter().map(|h| hex(h)).collect::<Vec<_>>();
    let proof = json!({
        "eventId": id,
        "logFile": {"s3Bucket": log.s3_bucket, "s3Object": log.s3_object, "position": at.position},
        "algorithm": head.algorithm,
        "leafIndex": index,
        "leafHash": hex(&leaf),
        "treeSize": head.tree_size,
        "rootHash": head.root_hash,
        "auditPath": hexes(&path),
        "digest": {
            "s3Bucket": bucket, "s3Object": key, "digestEndTime": doc.digest_end_time,
            "digestPublicKeyFingerprint": doc.digest_public_key_fingerprint,
        },
        "previousTreeSize": f.size,
        "previousRootHash": hex(&previous_root),
        "previousDigest": {"s3Bucket": doc.previous_digest_s3_bucket, "s3Object": doc.previous_digest_s3_object},
        "consistencyProof": hexes(&consistency),
    });
    match args.output {
        Format::Json => println!("{}", serde_json::to_string_pretty(&proof)?),
        Format::Text => {
            println!("Event {id}");
            println!("  in log file   s3://{}/{} (record {})", log.s3_bucket, log.s3_object, at.position + 1);
            println!("  is leaf {index} of {} in the event tree signed by", head.tree_size);
            println!("  digest file   s3://{bucket}/{key} (valid, key {})", doc.digest_public_key_fingerprint);
            println!("  leaf hash     {}", hex(&leaf));
            println!("  root hash     {}", head.root_hash);
            println!("  audit path    {} hashes", path.len());
            println!(
                "  and that tree extends the previous digest's ({} events, root {}): consistency proof of {} hashes",
                f.size,
                hex(&previous_root),
                consistency.len()
            );
            println!("proof verified");
        }
    }
    Ok(0)
}

/// The event id inside a quoted needle.
fn id_of(needle: &str) -> &str {
    needle.trim_matches('"')
}
