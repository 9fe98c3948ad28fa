//! A copy of a busy trail's bucket for the import benchmark: gzip log files in AWS's layout
//! (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<stamp>_<n>.json.gz`), of
//! realistic records with varied identities, parameters and sizes, up to a total of gzip bytes; and the floor the
//! import is compared with: reading, decompressing and parsing the same files and nothing else.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::records::record_at;

/// Writes files of `per_file` records until `gzip_mib` MiB are written; prints files, records and bytes.
pub fn generate(dir: &Path, gzip_mib: u64, per_file: usize, threads: usize) -> Result<()> {
    let target = gzip_mib << 20;
    let written = AtomicU64::new(0);
    let next = AtomicUsize::new(0);
    let records = AtomicU64::new(0);
    let raw = AtomicU64::new(0);
    let files_written = AtomicU64::new(0);
    let day0 = cairn_model::event::event_time_millis("2026-01-01T00:00:00Z").context("a time")?;
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| -> Result<()> {
                while written.load(Ordering::Relaxed) < target {
                    let f = next.fetch_add(1, Ordering::Relaxed);
                    // Twelve files an hour per region, three regions, days on from 2026-01-01.
                    let region = ["us-east-1", "eu-west-1", "ap-southeast-2"][f % 3];
                    let slot = (f / 3) as i64;
                    let start = day0 + slot * 300_000;
                    let stamp = cairn_model::event::format_event_time(start + 300_000);
                    let (date, time) = (&stamp[..10], &stamp[11..16]);
                    let folder =
                        dir.join(format!("AWSLogs/111111111111/CloudTrail/{region}/{}", date.replace('-', "/")));
                    std::fs::create_dir_all(&folder)?;
                    let mut body = Vec::with_capacity(per_file * 2000);
                    body.extend_from_slice(b"{\"Records\":[");
                    for r in 0..per_file {
                        let i = f * per_file + r;
                        let t = cairn_model::event::format_event_time(start + (r as i64 * 300_000) / per_file as i64);
                        let mut e = record_at(i, &t);
                        e["awsRegion"] = serde_json::json!(region);
                        if r > 0 {
                            body.push(b',');
                        }
                        serde_json::to_writer(&mut body, &e)?;
                    }
                    body.extend_from_slice(b"]}");
                    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
                    gz.write_all(&body)?;
                    let gz = gz.finish()?;
                    let name = format!(
                        "111111111111_CloudTrail_{region}_{}T{}Z_{f:016x}.json.gz",
                        date.replace('-', ""),
                        time.replace(':', "")
                    );
                    std::fs::write(folder.join(name), &gz)?;
                    written.fetch_add(gz.len() as u64, Ordering::Relaxed);
                    raw.fetch_add(body.len() as u64, Ordering::Relaxed);
                    records.fetch_add(per_file as u64, Ordering::Relaxed);
                    files_written.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            });
        }
    });
    println!(
        "{{\"files\": {}, \"records\": {}, \"gzip_bytes\": {}, \"json_bytes\": {}}}",
        files_written.load(Ordering::Relaxed),
        records.load(Ordering::Relaxed),
        written.load(Ordering::Relaxed),
        raw.load(Ordering::Relaxed)
    );
    Ok(())
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            files(&p, out)?;
        } else if p.to_string_lossy().ends_with(".json.gz") {
            out.push(p);
        }
    }
    Ok(())
}

/// The floor: read, gunzip and parse every file (each record into a JSON value) on `threads` threads; prints the
/// records and seconds.
pub fn floor(dir: &Path, threads: usize) -> Result<()> {
    let mut list = Vec::new();
    files(dir, &mut list)?;
    let next = AtomicUsize::new(0);
    let records = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| -> Result<()> {
                let mut text = Vec::new();
                while let Some(p) = list.get(next.fetch_add(1, Ordering::Relaxed)) {
                    text.clear();
                    flate2::read::MultiGzDecoder::new(std::fs::File::open(p)?).read_to_end(&mut text)?;
                    let v: serde_json::Value = serde_json::from_slice(&text)?;
                    records.fetch_add(v["Records"].as_array().map_or(0, Vec::len) as u64, Ordering::Relaxed);
                }
                Ok(())
            });
        }
    });
    println!(
        "{{\"records\": {}, \"seconds\": {:.3}}}",
        records.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
