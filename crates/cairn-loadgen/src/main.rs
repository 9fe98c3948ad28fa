//! Load generator for cairn's benchmarks. It sends AWS JSON 1.1 requests, each signed with SigV4 by the official
//! `aws-sigv4` signer, from a number of concurrent clients for a duration, and reports throughput and latency
//! percentiles. It also times a server's start-up: from spawning the process to its first answered request.
//!
//! The same tool drives cairn and the baselines (moto), so their figures are comparable.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::{Args, Parser, Subcommand};

mod archive;
mod delivery;
mod integrity;
mod patterns;
mod records;
mod s3;

#[derive(Debug, Parser)]
#[command(name = "cairn-loadgen", about = "Signed AWS JSON load and start-up timing for cairn's benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Send requests from concurrent clients for a duration and report throughput and latency percentiles.
    Run {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Send one request and print the status and body (for setting up benchmark state).
    Call {
        #[command(flatten)]
        target: Target,
    },
    /// Send batches of realistic 1-2 KB CloudTrail records to cairn's ingestion API and report events/s and the
    /// acknowledgement latency percentiles (each acknowledgement means the batch is durable).
    Ingest {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        load: LoadArgs,
        /// Records in each request.
        #[arg(long, default_value_t = 100)]
        records_per_request: usize,
        /// Requests per second across all clients (unlimited when absent).
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Fill cairn with `events` deterministic records spread over the last `days` days (through the ingestion API),
    /// optionally writing the same records as JSON lines for a baseline to load.
    Fill {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        events: usize,
        #[arg(long, default_value_t = 80)]
        days: u64,
        /// Records per request.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Also write every record, one JSON object per line, to this file.
        #[arg(long)]
        dump: Option<std::path::PathBuf>,
    },
    /// The hardware floor: append the same record bytes to a file and fdatasync after every batch, for a duration.
    Floor {
        /// File to append to (on the disk under test); removed afterwards.
        #[arg(long)]
        file: std::path::PathBuf,
        /// Records per write + fdatasync.
        #[arg(long, default_value_t = 1600)]
        records_per_batch: usize,
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
    },
    /// Write a busy trail's log files and signed hourly digests for `hours` into a cairn data directory (stopped),
    /// made by cairn's own delivery code and signing keys; prints the counts and bytes.
    DigestFixture {
        #[arg(long)]
        data_dir: std::path::PathBuf,
        #[arg(long)]
        bucket: String,
        #[arg(long, default_value = "111111111111")]
        account: String,
        #[arg(long, default_value = "us-east-1")]
        region: String,
        #[arg(long)]
        trail: String,
        #[arg(long, default_value_t = 24)]
        hours: u64,
        #[arg(long, default_value_t = 100)]
        files_per_hour: u64,
        #[arg(long, default_value_t = 50)]
        records_per_file: usize,
        /// End of the period, seconds since the epoch.
        #[arg(long)]
        end: i64,
    },
    /// Write a copy of a busy trail's bucket (gzip log files in AWS's layout) of about `gzip_mib` MiB, for the import
    /// benchmark.
    Archive {
        #[arg(long)]
        dir: std::path::PathBuf,
        #[arg(long, default_value_t = 2048)]
        gzip_mib: u64,
        #[arg(long, default_value_t = 500)]
        records_per_file: usize,
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// The import floor: read, gunzip and parse every log file under `dir`, and nothing else.
    ParseFloor {
        #[arg(long)]
        dir: std::path::PathBuf,
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Match the CIS metric filter patterns of a TSV against realistic records, against the floor of parsing them.
    Patterns {
        #[arg(long)]
        tsv: std::path::PathBuf,
        #[arg(long, default_value_t = 200_000)]
        records: usize,
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// The machine's single-core SHA-256 throughput over `mib` MiB.
    Sha256Floor {
        #[arg(long, default_value_t = 1024)]
        mib: usize,
    },
    /// The delivery floor: gzip the same records into log files at the same level and write each durably, for a
    /// duration.
    GzipFloor {
        /// Directory to write to (on the disk under test); removed afterwards.
        #[arg(long)]
        dir: std::path::PathBuf,
        #[arg(long, default_value_t = 5000)]
        records_per_file: usize,
        #[arg(long, default_value_t = 6)]
        level: u32,
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
    },
    /// Ingest single records at an interval and time how long each takes, from its acknowledgement, to be in a log
    /// file visible in the trail's bucket.
    Latency {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        bucket: delivery::BucketArgs,
        #[arg(long, default_value_t = 60)]
        count: usize,
        #[arg(long, default_value_t = 500)]
        interval_ms: u64,
        /// Give up waiting for files after this many seconds.
        #[arg(long, default_value_t = 120.0)]
        timeout: f64,
    },
    /// PUT or GET fixed-size objects on an S3 endpoint from concurrent clients for a duration.
    S3Load {
        #[command(flatten)]
        target: s3::S3Target,
        /// `put` (keys objects/<n>) or `get` (of the first `keys` objects a put left).
        #[arg(long)]
        op: String,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        #[arg(long, default_value_t = 20480)]
        size: usize,
        #[arg(long, default_value_t = 1000)]
        keys: usize,
    },
    /// Fill an S3 bucket with `count` small log-file-like objects under `list/`.
    S3Fill {
        #[command(flatten)]
        target: s3::S3Target,
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 256)]
        size: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Time full ListObjectsV2 walks of the keys an S3 fill wrote.
    S3List {
        #[command(flatten)]
        target: s3::S3Target,
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 5)]
        repeats: usize,
    },
    /// Spawn a server command and time how long until it answers a request successfully.
    Startup {
        #[command(flatten)]
        target: Target,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 60.0)]
        timeout: f64,
        /// The server command and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

/// How hard and how long to load.
#[derive(Debug, Args, Clone, Copy)]
struct LoadArgs {
    /// Concurrent clients, each with its own keep-alive connection.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Measured duration in seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured warm-up in seconds.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Worker threads of the generator itself.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

impl LoadArgs {
    fn runtime(&self) -> Result<tokio::runtime::Runtime> {
        Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(self.threads.max(1)).enable_all().build()?)
    }

    fn load(&self, rate: Option<f64>, events_per_request: usize) -> Load {
        Load {
            concurrency: self.concurrency.max(1),
            warmup: Duration::from_secs_f64(self.warmup),
            duration: Duration::from_secs_f64(self.duration),
            rate,
            events_per_request,
        }
    }
}

#[derive(Debug, Args, Clone)]
struct Target {
    #[arg(long, default_value = "http://127.0.0.1:4573")]
    endpoint: String,
    /// The CloudTrail operation, sent as X-Amz-Target; or a whole CloudWatch Logs target (`Logs_20140328.<Name>`).
    #[arg(long, default_value = "DescribeTrails")]
    operation: String,
    #[arg(long, default_value = "{}")]
    body: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, default_value = "AKIAIOSFODNN7EXAMPLE")]
    access_key_id: String,
    #[arg(long, default_value = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")]
    secret_access_key: String,
}

/// A request to send repeatedly, with what to call it in reports.
struct Signer {
    inner: cairn_client::Signer,
    target: Target,
    /// For ingestion: the body and where its records' eventIDs end, stamped afresh for every request so that every
    /// record sent is a distinct event.
    template: Option<(Vec<u8>, Vec<usize>)>,
}

/// The next eventID number to stamp (above the ids `fill` uses).
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 40);

impl Target {
    fn endpoint(&self) -> cairn_client::Endpoint {
        cairn_client::Endpoint {
            url: self.endpoint.clone(),
            region: self.region.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
        }
    }
}

impl Signer {
    fn new(target: &Target) -> Result<Signer> {
        let body = Bytes::from(target.body.clone());
        // `Logs_20140328.CreateLogGroup`: an operation of CloudWatch Logs rather than CloudTrail.
        let inner = match target.operation.strip_prefix("Logs_20140328.") {
            Some(_) => cairn_client::Signer::json(&target.endpoint(), "logs", &target.operation, body)?,
            None => cairn_client::Signer::cloudtrail(&target.endpoint(), &target.operation, body)?,
        };
        Ok(Signer { inner, target: target.clone(), template: None })
    }

    /// A signer for cairn's ingestion API with the given body.
    fn ingest(target: &Target, body: Bytes) -> Result<Signer> {
        let inner = cairn_client::Signer::ingest(&target.endpoint(), body)?;
        Ok(Signer { inner, target: Target { operation: "ingest".into(), ..target.clone() }, template: None })
    }

    /// A signer for cairn's ingestion API whose records get fresh eventIDs at every request.
    fn ingest_template(target: &Target, (body, offsets): (Vec<u8>, Vec<usize>)) -> Result<Signer> {
        let mut s = Signer::ingest(target, Bytes::new())?;
        s.template = Some((body, offsets));
        Ok(s)
    }
}

type HttpClient = cairn_client::HttpClient;

fn client(pool: usize) -> HttpClient {
    cairn_client::http_client(pool)
}

/// Sends one ingestion request with fresh eventIDs; returns them once it was answered with HTTP 200.
async fn call_ids(client: &HttpClient, signer: &Signer) -> Result<Vec<String>> {
    let Some((body, offsets)) = &signer.template else { bail!("not an ingestion template") };
    let mut body = body.clone();
    let first = NEXT_ID.fetch_add(offsets.len() as u64, std::sync::atomic::Ordering::Relaxed);
    records::stamp(&mut body, offsets, first);
    let ids = (0..offsets.len() as u64).map(|n| format!("00000000-0000-4000-8000-{:012x}", first + n)).collect();
    let (status, answer) = cairn_client::send_request(client, signer.inner.request_with(Bytes::from(body))?).await?;
    if status != http::StatusCode::OK {
        bail!("ingestion answered {status}: {}", String::from_utf8_lossy(&answer));
    }
    Ok(ids)
}

/// Sends one request; Ok(true) when it was answered with HTTP 200.
async fn call(client: &HttpClient, signer: &Signer) -> Result<bool> {
    let req = match &signer.template {
        Some((body, offsets)) => {
            let mut body = body.clone();
            let first = NEXT_ID.fetch_add(offsets.len() as u64, std::sync::atomic::Ordering::Relaxed);
            records::stamp(&mut body, offsets, first);
            signer.inner.request_with(Bytes::from(body))?
        }
        None => signer.inner.request()?,
    };
    Ok(cairn_client::send_request(client, req).await?.0 == http::StatusCode::OK)
}

#[derive(Debug, Default)]
struct WorkerStats {
    latencies_us: Vec<u32>,
    errors: u64,
}

/// How requests are paced and counted.
#[derive(Debug, Clone, Copy)]
struct Load {
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    /// Requests per second across all clients; unlimited when `None`.
    rate: Option<f64>,
    /// Events each request carries (for events/s).
    events_per_request: usize,
}

async fn run(signers: Vec<Arc<Signer>>, load: Load) -> Result<()> {
    let Load { concurrency, warmup, duration, rate, events_per_request } = load;
    let client = client(concurrency);
    // One check before loading, so a misconfigured target fails loudly instead of measuring errors.
    if !call(&client, &signers[0]).await? {
        bail!("the first {} request was not answered with 200", signers[0].target.operation);
    }
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let mut tasks = Vec::new();
    // With a rate, each client sends on its own schedule, spread evenly over the interval.
    let interval = rate.map(|r| Duration::from_secs_f64(concurrency as f64 / r));
    for worker in 0..concurrency {
        let (client, signers) = (client.clone(), signers.clone());
        tasks.push(tokio::spawn(async move {
            let mut stats = WorkerStats::default();
            let mut next = start + interval.map_or(Duration::ZERO, |i| i.mul_f64(worker as f64 / concurrency as f64));
            let mut n = worker;
            loop {
                if let Some(i) = interval {
                    tokio::time::sleep_until(next.into()).await;
                    next += i;
                }
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                n += 1;
                let ok = call(&client, &signers[n % signers.len()]).await.unwrap_or(false);
                if t0 >= measure_from {
                    stats.latencies_us.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    stats.errors += u64::from(!ok);
                }
            }
            stats
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let s = t.await?;
        all.extend(s.latencies_us);
        errors += s.errors;
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0) as f64 / 1000.0
    };
    let secs = duration.as_secs_f64();
    let report = serde_json::json!({
        "operation": signers[0].target.operation,
        "endpoint": signers[0].target.endpoint,
        "concurrency": concurrency,
        "duration_s": secs,
        "requests": all.len(),
        "errors": errors,
        "throughput_rps": all.len() as f64 / secs,
        "events_per_s": (all.len() as u64 - errors) as f64 * events_per_request as f64 / secs,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": all.last().copied().unwrap_or(0) as f64 / 1000.0,
    });
    println!("{report}");
    Ok(())
}

async fn fill(
    target: Target,
    events: usize,
    days: u64,
    batch: usize,
    concurrency: usize,
    dump: Option<std::path::PathBuf>,
) -> Result<()> {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let next = Arc::new(AtomicUsize::new(0));
    let dump = match dump {
        Some(p) => Some(Arc::new(std::sync::Mutex::new(std::io::BufWriter::new(std::fs::File::create(p)?)))),
        None => None,
    };
    let client = client(concurrency);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, dump, client, target) = (Arc::clone(&next), dump.clone(), client.clone(), target.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let first = next.fetch_add(batch, Ordering::Relaxed);
                if first >= events {
                    return Ok::<_, anyhow::Error>(());
                }
                let records = records::spread(first, batch.min(events - first), events, days, now);
                if let Some(d) = &dump {
                    let mut w = d.lock().unwrap_or_else(|e| e.into_inner());
                    for r in &records {
                        serde_json::to_writer(&mut *w, r)?;
                        w.write_all(b"\n")?;
                    }
                }
                let body = Bytes::from(serde_json::to_vec(&serde_json::json!({ "Records": records }))?);
                let signer = Signer::ingest(&target, body)?;
                let (status, answer) = cairn_client::send(&client, &signer.inner).await?;
                if !status.is_success() || answer.windows(12).any(|w| w == b"\"errorCode\":") {
                    bail!("ingestion refused records: {status} {}", String::from_utf8_lossy(&answer));
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    if let Some(d) = dump {
        d.lock().unwrap_or_else(|e| e.into_inner()).flush()?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{}", serde_json::json!({ "events": events, "seconds": secs, "events_per_s": events as f64 / secs }));
    Ok(())
}

async fn startup(signer: Arc<Signer>, timeout: Duration, command: &[String]) -> Result<()> {
    let client = client(1);
    let t0 = Instant::now();
    let mut child = Command::new(&command[0])
        .args(&command[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("spawning {command:?}"))?;
    let result = loop {
        if let Ok(true) = call(&client, &signer).await {
            break Ok(t0.elapsed());
        }
        if let Some(status) = child.try_wait()? {
            break Err(anyhow::anyhow!("server exited before answering: {status}"));
        }
        if t0.elapsed() > timeout {
            break Err(anyhow::anyhow!("no answer within {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    let elapsed = result?;
    println!("{}", serde_json::json!({ "command": command[0], "startup_ms": elapsed.as_secs_f64() * 1000.0 }));
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Run { target, load } => {
            let signer = Arc::new(Signer::new(&target)?);
            load.runtime()?.block_on(run(vec![signer], load.load(None, 1)))
        }
        Cmd::Ingest { target, load, records_per_request, rate } => {
            let signers = (0..16)
                .map(|i| Ok(Arc::new(Signer::ingest_template(&target, records::batch(i, records_per_request))?)))
                .collect::<Result<Vec<_>>>()?;
            load.runtime()?.block_on(run(signers, load.load(rate, records_per_request)))
        }
        Cmd::Fill { target, events, days, batch, concurrency, dump } => {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            rt.block_on(fill(target, events, days, batch.max(1), concurrency.max(1), dump))
        }
        Cmd::Floor { file, records_per_batch, duration } => records::floor(&file, records_per_batch, duration),
        Cmd::DigestFixture {
            data_dir,
            bucket,
            account,
            region,
            trail,
            hours,
            files_per_hour,
            records_per_file,
            end,
        } => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(integrity::fixture(integrity::Fixture {
                data_dir: &data_dir,
                bucket: &bucket,
                account: &account,
                region: &region,
                trail: &trail,
                hours,
                files_per_hour,
                records_per_file,
                end,
            }))
        }
        Cmd::Sha256Floor { mib } => integrity::sha256_floor(mib),
        Cmd::Patterns { tsv, records, runs } => patterns::bench(&tsv, records, runs),
        Cmd::Archive { dir, gzip_mib, records_per_file, threads } => {
            archive::generate(&dir, gzip_mib, records_per_file.max(1), threads)
        }
        Cmd::ParseFloor { dir, threads } => archive::floor(&dir, threads),
        Cmd::GzipFloor { dir, records_per_file, level, duration } => {
            delivery::floor(&dir, records_per_file, level, duration)
        }
        Cmd::Latency { target, bucket, count, interval_ms, timeout } => {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            let signer = Arc::new(Signer::ingest_template(&target, records::batch(0, 1))?);
            let interval = Duration::from_millis(interval_ms);
            rt.block_on(delivery::latency(signer, bucket, count, interval, Duration::from_secs_f64(timeout)))
        }
        Cmd::S3Load { target, op, concurrency, duration, size, keys } => {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            rt.block_on(s3::load(target, &op, concurrency.max(1), duration, size, keys))
        }
        Cmd::S3Fill { target, count, size, concurrency } => {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            rt.block_on(s3::fill(target, count, size, concurrency.max(1)))
        }
        Cmd::S3List { target, count, repeats } => {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            rt.block_on(s3::list(target, repeats.max(1), count))
        }
        Cmd::Call { target } => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let signer = Signer::new(&target)?;
            rt.block_on(async {
                let (status, body) = cairn_client::send(&client(1), &signer.inner).await?;
                println!("{} {}", status.as_u16(), String::from_utf8_lossy(&body));
                if !status.is_success() {
                    bail!("{} answered {status}", target.operation);
                }
                Ok(())
            })
        }
        Cmd::Startup { target, timeout, command } => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let signer = Arc::new(Signer::new(&target)?);
            rt.block_on(startup(signer, Duration::from_secs_f64(timeout), &command))
        }
    }
}
