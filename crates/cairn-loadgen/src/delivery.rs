//! Trail delivery measurements: the floor (gzip-compressing the same records into log files at the same level and
//! writing them durably), and the time from an event's acknowledgement to its log file being visible in the bucket.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use cairn_delivery::{Storage, StorageConfig};

use crate::records;

/// Writes log files of `per_file` records (the benchmark's records, gzip at `level`, each fsynced) into `dir` for
/// `seconds`; prints events/s.
pub fn floor(dir: &Path, per_file: usize, level: u32, seconds: f64) -> Result<()> {
    let recs: Vec<Vec<u8>> =
        (0..per_file).map(|i| serde_json::to_vec(&records::record(i)).expect("records serialize")).collect();
    std::fs::create_dir_all(dir)?;
    let (start, mut files, mut bytes_out) = (Instant::now(), 0u64, 0u64);
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        let (gz, _) = cairn_delivery::layout::log_file(recs.iter().map(Vec::as_slice), level)?;
        let path = dir.join(format!("{files}.json.gz"));
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&gz)?;
        f.sync_all()?;
        bytes_out += gz.len() as u64;
        files += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(dir);
    let raw = recs.iter().map(Vec::len).sum::<usize>() as f64;
    println!(
        "{}",
        serde_json::json!({
            "records_per_file": per_file,
            "level": level,
            "events_per_s": (files * per_file as u64) as f64 / secs,
            "compression_ratio": raw * files as f64 / bytes_out.max(1) as f64,
        })
    );
    Ok(())
}

/// Where the bucket under test is.
#[derive(Debug, Clone, clap::Args)]
pub struct BucketArgs {
    /// The S3 endpoint holding the bucket (cairn's own, for its local buckets), its region and a key pair there.
    #[arg(long)]
    pub s3_endpoint: String,
    #[arg(long, default_value = "us-east-1")]
    pub s3_region: String,
    #[arg(long, default_value = "")]
    pub s3_access_key_id: String,
    #[arg(long, default_value = "")]
    pub s3_secret_access_key: String,
    #[arg(long)]
    pub bucket: String,
    /// Key prefix the trail writes under.
    #[arg(long, default_value = "")]
    pub prefix: String,
}

impl BucketArgs {
    fn storage(&self) -> Result<Storage> {
        let config = StorageConfig::S3 {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.clone(),
            force_path_style: true,
        };
        Ok(Storage::open(config)?)
    }
}

/// Eventids of a log file's records.
fn event_ids(gz: &[u8]) -> Result<Vec<String>> {
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz), &mut text)?;
    let v: serde_json::Value = serde_json::from_slice(&text)?;
    let records = v["Records"].as_array().context("a log file without Records")?;
    Ok(records.iter().filter_map(|r| r["eventID"].as_str().map(str::to_string)).collect())
}

/// Sends `count` single-record ingestions `interval` apart, and watches the bucket for the log files that hold
/// them; prints the acknowledgement-to-visible latency percentiles.
pub async fn latency(
    signer: Arc<crate::Signer>,
    bucket: BucketArgs,
    count: usize,
    interval: Duration,
    timeout: Duration,
) -> Result<()> {
    let storage = Arc::new(bucket.storage()?);
    let prefix = bucket.prefix.trim_end_matches('/');
    // Files delivered before the first marker cannot hold one: reading them would only delay noticing the markers'.
    let mut read_keys: std::collections::HashSet<String> =
        storage.list(&bucket.bucket, prefix).await.unwrap_or_default().into_iter().collect();
    let acked: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let sender = {
        let acked = Arc::clone(&acked);
        tokio::spawn(async move {
            let client = crate::client(1);
            let mut tick = tokio::time::interval(interval);
            for _ in 0..count {
                tick.tick().await;
                match crate::call_ids(&client, &signer).await {
                    Ok(ids) => {
                        let now = Instant::now();
                        acked.lock().unwrap_or_else(|e| e.into_inner()).extend(ids.into_iter().map(|i| (i, now)));
                    }
                    Err(e) => eprintln!("marker ingestion failed: {e}"),
                }
            }
        })
    };
    let started = Instant::now();
    loop {
        let keys = storage.list(&bucket.bucket, prefix).await.unwrap_or_default();
        for key in keys {
            if !key.ends_with(".json.gz") || read_keys.contains(&key) {
                continue;
            }
            let body = storage.get(&bucket.bucket, &key).await?;
            let now = Instant::now();
            let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
            for id in event_ids(&body)? {
                seen.entry(id).or_insert(now);
            }
            read_keys.insert(key);
        }
        let done = sender.is_finished() && {
            let acked = acked.lock().unwrap_or_else(|e| e.into_inner());
            let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
            acked.len() >= count && acked.keys().all(|k| seen.contains_key(k))
        };
        if done || started.elapsed() > timeout {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let acked = acked.lock().unwrap_or_else(|e| e.into_inner());
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    let mut lat: Vec<f64> = acked
        .iter()
        .filter_map(|(id, at)| seen.get(id).map(|s| s.saturating_duration_since(*at).as_secs_f64() * 1000.0))
        .collect();
    let missing = acked.len() - lat.len();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if lat.is_empty() {
            f64::NAN
        } else {
            lat[((lat.len() as f64 * p).ceil() as usize).saturating_sub(1).min(lat.len() - 1)]
        }
    };
    println!(
        "{}",
        serde_json::json!({
            "markers": acked.len(),
            "missing": missing,
            "p50_ms": pct(0.5),
            "p99_ms": pct(0.99),
            "max_ms": lat.last().copied().unwrap_or(f64::NAN),
        })
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_of_a_log_file() {
        let records: [&[u8]; 2] = [br#"{"eventID":"a"}"#, br#"{"eventID":"b"}"#];
        let (gz, _) = cairn_delivery::layout::log_file(records, 6).unwrap();
        assert_eq!(event_ids(&gz).unwrap(), ["a", "b"]);
    }
}
