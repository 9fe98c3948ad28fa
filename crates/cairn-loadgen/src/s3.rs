//! S3 object benchmarks against any S3 endpoint (cairn's own, Garage): PUT and GET of fixed-size objects from
//! concurrent clients for a duration, filling a bucket with many small log-file-like objects, and timing full
//! ListObjectsV2 walks of it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use bytes::Bytes;
use cairn_client::{send_request, Endpoint, HttpClient, Signer};

/// Where the bucket is and as whom to call it.
#[derive(Debug, Clone, clap::Args)]
pub struct S3Target {
    #[arg(long)]
    pub s3_endpoint: String,
    #[arg(long, default_value = "us-east-1")]
    pub s3_region: String,
    #[arg(long)]
    pub s3_access_key_id: String,
    #[arg(long)]
    pub s3_secret_access_key: String,
    #[arg(long)]
    pub bucket: String,
}

impl S3Target {
    fn endpoint(&self) -> Endpoint {
        Endpoint {
            url: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.clone(),
        }
    }

    async fn call(&self, client: &HttpClient, method: http::Method, path: &str, body: Bytes) -> Result<(u16, Bytes)> {
        let signer = Signer::s3(&self.endpoint(), method, &format!("/{}/{path}", self.bucket), body)?;
        let (status, body) = send_request(client, signer.request()?).await?;
        Ok((status.as_u16(), body))
    }
}

fn percentiles(mut us: Vec<u32>) -> (f64, f64) {
    us.sort_unstable();
    let pct = |p: f64| {
        us.get(((us.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0) as f64 / 1000.0
    };
    (pct(0.5), pct(0.99))
}

/// PUTs (`put`) or GETs (`get`, of the keys a `put` run or fill left under `objects/`) `size`-byte objects from
/// `concurrency` clients for `seconds`; prints requests/s and latency percentiles.
pub async fn load(
    target: S3Target,
    op: &str,
    concurrency: usize,
    seconds: f64,
    size: usize,
    keys: usize,
) -> Result<()> {
    let client = cairn_client::http_client(concurrency);
    let body = Bytes::from((0..size).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let put = op == "put";
    if !put {
        // The keys to read must exist.
        let (status, _) = target.call(&client, http::Method::GET, "objects/0", Bytes::new()).await?;
        if status != 200 {
            bail!("objects/0 is not readable ({status}): run a put first");
        }
    }
    let counter = Arc::new(AtomicUsize::new(0));
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, target, body, counter) = (client.clone(), target.clone(), body.clone(), Arc::clone(&counter));
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < end {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t0 = Instant::now();
                let result = if put {
                    target.call(&client, http::Method::PUT, &format!("objects/{n}"), body.clone()).await
                } else {
                    target.call(&client, http::Method::GET, &format!("objects/{}", n % keys.max(1)), Bytes::new()).await
                };
                match result {
                    Ok((200, b)) if put || b.len() == body.len() => {
                        lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32)
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    let n = all.len();
    let (p50, p99) = percentiles(all);
    println!(
        "{}",
        serde_json::json!({"op": op, "size": size, "concurrency": concurrency, "requests": n, "errors": errors,
            "requests_per_s": n as f64 / seconds, "p50_ms": p50, "p99_ms": p99})
    );
    Ok(())
}

/// The key of the `i`th of `count` log-file-like objects, spread over 30 days and two regions.
fn log_key(i: usize) -> String {
    let region = ["us-east-1", "eu-west-1"][i % 2];
    let day = 1 + (i / 2) % 30;
    format!("list/AWSLogs/111111111111/CloudTrail/{region}/2026/11/{day:02}/111111111111_CloudTrail_{region}_202611{day:02}T0000Z_{i:016}.json.gz")
}

/// Writes `count` small objects under `list/` from `concurrency` clients.
pub async fn fill(target: S3Target, count: usize, size: usize, concurrency: usize) -> Result<()> {
    let client = cairn_client::http_client(concurrency);
    let body = Bytes::from(vec![b'x'; size]);
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, target, body, next) = (client.clone(), target.clone(), body.clone(), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, anyhow::Error>(());
                }
                let (status, b) = target.call(&client, http::Method::PUT, &log_key(i), body.clone()).await?;
                if status != 200 {
                    bail!("PUT {} answered {status}: {}", log_key(i), String::from_utf8_lossy(&b));
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    println!("{}", serde_json::json!({"filled": count, "seconds": t0.elapsed().as_secs_f64()}));
    Ok(())
}

/// Walks every key under `list/` with ListObjectsV2 pages of 1,000, `repeats` times; prints the time per walk.
pub async fn list(target: S3Target, repeats: usize, expect: usize) -> Result<()> {
    let client = cairn_client::http_client(1);
    let mut times = Vec::new();
    for _ in 0..repeats {
        let t0 = Instant::now();
        let mut keys = 0;
        let mut token: Option<String> = None;
        loop {
            let mut query = "?list-type=2&max-keys=1000&prefix=list%2F".to_string();
            if let Some(t) = &token {
                query.push_str(&format!("&continuation-token={}", encode(t)));
            }
            let signer =
                Signer::s3(&target.endpoint(), http::Method::GET, &format!("/{}{query}", target.bucket), Bytes::new())?;
            let (status, body) = send_request(&client, signer.request()?).await?;
            if status.as_u16() != 200 {
                bail!("ListObjectsV2 answered {status}: {}", String::from_utf8_lossy(&body));
            }
            let text = String::from_utf8_lossy(&body);
            keys += text.matches("<Key>").count();
            token = between(&text, "<NextContinuationToken>", "</NextContinuationToken>").map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        if keys != expect {
            bail!("the walk found {keys} keys, expected {expect}");
        }
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{}",
        serde_json::json!({"keys": expect, "walks": repeats, "median_ms": median, "keys_per_s": expect as f64 / (median / 1000.0)})
    );
    Ok(())
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept), as SigV4 canonicalizes it.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
