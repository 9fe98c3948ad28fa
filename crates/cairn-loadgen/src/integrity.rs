//! Log file validation measurements: a day of a busy trail written into a cairn data directory (log files of the
//! benchmark's records and their signed digest chain, made by cairn's own delivery code and signing keys, so that
//! cairn serves them and both validators check them), and the machine's single-core SHA-256 floor.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use bytes::Bytes;
use cairn_delivery::digest::{Chain, DigestedFile, StreamOf};
use cairn_delivery::layout::{gzip, log_file, unique_part, Destination};
use cairn_integrity::digest::{hex, SIGNATURE_ALGORITHM, SIGNATURE_ALGORITHM_METADATA, SIGNATURE_METADATA};
use sha2::{Digest, Sha256};

use crate::records;

/// What the fixture holds.
pub struct Fixture<'a> {
    pub data_dir: &'a Path,
    pub bucket: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    pub trail: &'a str,
    pub hours: u64,
    pub files_per_hour: u64,
    pub records_per_file: usize,
    /// The end of the period, seconds since the epoch.
    pub end: i64,
}

pub async fn fixture(f: Fixture<'_>) -> Result<()> {
    let store = cairn_s3::Store::open(&f.data_dir.join("s3")).context("opening cairn's bucket store")?;
    let keys = cairn_integrity::SigningKeys::open(&f.data_dir.join("signing-keys"), 30 * 86_400_000)?;
    let start_ms = (f.end - f.hours as i64 * 3600) * 1000;
    store.create_bucket(f.bucket, f.account, f.region, start_ms).context("creating the bucket")?;
    let key = keys.current(f.region, start_ms)?;
    let dest = Destination { bucket: f.bucket.to_string(), prefix: None, organization_id: None };
    let arn = format!("arn:aws:cloudtrail:{}:{}:trail/{}", f.region, f.account, f.trail);
    let of = StreamOf {
        destination: &dest,
        account: f.account,
        region: f.region,
        trail_name: f.trail,
        home_region: f.region,
    };
    let meta = |user: Vec<(String, String)>| cairn_s3::ObjectMeta {
        acl: Some("bucket-owner-full-control".into()),
        writer: f.account.to_string(),
        user: user.into_iter().collect(),
        ..cairn_s3::ObjectMeta::default()
    };
    let mut chain = Chain::new(start_ms);
    let (mut files, mut events, mut raw_bytes, mut gz_bytes) = (0u64, 0u64, 0u64, 0u64);
    let step_ms = 3_600_000 / f.files_per_hour as i64;
    for h in 0..f.hours as i64 {
        for i in 0..f.files_per_hour as i64 {
            let at_ms = start_ms + h * 3_600_000 + i * step_ms + step_ms / 2;
            let when = cairn_delivery::layout::iso_seconds(at_ms);
            let recs: Vec<Vec<u8>> = (0..f.records_per_file)
                .map(|r| {
                    let n = (files as usize) * f.records_per_file + r;
                    let mut v = records::record_at(n, &when);
                    v["awsRegion"] = f.region.into();
                    v["recipientAccountId"] = f.account.into();
                    serde_json::to_vec(&v).expect("records serialize")
                })
                .collect();
            let (gz, hash) = log_file(recs.iter().map(Vec::as_slice), 6)?;
            let unique = unique_part(&arn, f.account, f.region, files, files);
            let object = dest.log_file_key(f.account, f.region, at_ms, &unique);
            raw_bytes += recs.iter().map(|r| r.len() as u64 + 1).sum::<u64>() + 13;
            gz_bytes += gz.len() as u64;
            store.put_bytes(f.bucket, &object, Bytes::from(gz), meta(Vec::new()), at_ms).await?;
            let file = DigestedFile { key: object, hash: hex(&hash), oldest: Some(when.clone()), newest: Some(when) };
            chain.add(file, recs.iter().map(Vec::as_slice));
            files += 1;
            events += recs.len() as u64;
        }
        let end_ms = start_ms + (h + 1) * 3_600_000;
        let sealed = chain.seal(of, end_ms, &key);
        let user = vec![
            (SIGNATURE_METADATA.to_string(), sealed.signature.clone()),
            (SIGNATURE_ALGORITHM_METADATA.to_string(), SIGNATURE_ALGORITHM.to_string()),
        ];
        store
            .put_bytes(f.bucket, &sealed.key, Bytes::from(gzip(sealed.body.as_bytes(), 6)?), meta(user), end_ms)
            .await?;
    }
    println!(
        "{}",
        serde_json::json!({
            "log_files": files, "digests": f.hours, "events": events,
            "uncompressed_bytes": raw_bytes, "compressed_bytes": gz_bytes,
        })
    );
    Ok(())
}

/// SHA-256 of `mib` MiB on one core; prints bytes/s.
pub fn sha256_floor(mib: usize) -> Result<()> {
    let buf: Vec<u8> = (0..1 << 20).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let start = Instant::now();
    let mut h = Sha256::new();
    for _ in 0..mib {
        h.update(&buf);
    }
    let digest = h.finalize();
    let secs = start.elapsed().as_secs_f64();
    println!("{}", serde_json::json!({"bytes_per_s": (mib << 20) as f64 / secs, "digest": hex(&digest)}));
    Ok(())
}
