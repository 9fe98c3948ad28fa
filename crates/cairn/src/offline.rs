//! Offline analysis for responders: `cairn import PATH...` reads trail log files (directories and files of
//! `.json.gz`/`.json`, as `aws s3 sync` leaves them) into a local event data store, and `cairn query` runs Lake SQL
//! over it (the table `events`), with no server running. The store lives in `--store-dir` (default `cairn-events`
//! in the current directory); it is a plain Lake store directory, Parquet by date.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use cairn_store::lake::import::{ImportPlan, ImportProgress, LocalFiles};
use cairn_store::lake::{sql, Lake, LakeAnswer, TableKind};
use clap::Args;

/// The table (and store id) of the local store.
pub const TABLE: &str = "events";

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Directories and files of trail log files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Where the local store is (created if missing).
    #[arg(long, env = "CAIRN_STORE_DIR", default_value = "cairn-events")]
    store_dir: PathBuf,
    /// Import only events at or after this UTC time (such as 2026-01-01T00:00:00Z).
    #[arg(long)]
    start_time: Option<String>,
    /// ... and at or before this one.
    #[arg(long)]
    end_time: Option<String>,
    /// Threads reading and parsing files.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

fn time_arg(s: &Option<String>, name: &str) -> Result<Option<i64>> {
    s.as_deref()
        .map(|t| {
            cairn_model::event::event_time_millis(t)
                .with_context(|| format!("{name} {t:?} is not a time like 2026-01-01T00:00:00Z"))
        })
        .transpose()
}

fn open(store_dir: &Path) -> Result<Lake> {
    // A local store has no journal: every file in it is an import's, and none is past a checkpoint.
    let lake =
        Lake::open(store_dir, u64::MAX).with_context(|| format!("opening the store in {}", store_dir.display()))?;
    lake.declare(TABLE, TableKind::CloudTrail);
    Ok(lake)
}

pub fn import(args: ImportArgs) -> Result<i32> {
    let plan = ImportPlan {
        start_ms: time_arg(&args.start_time, "--start-time")?,
        end_ms: time_arg(&args.end_time, "--end-time")?,
        threads: args.threads,
    };
    for p in &args.paths {
        if !p.exists() {
            bail!("{} does not exist", p.display());
        }
    }
    let lake = open(&args.store_dir)?;
    let progress = ImportProgress::default();
    let source = LocalFiles(args.paths.clone());
    let id = uuid::Uuid::new_v4().simple().to_string();
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let outcome = std::thread::scope(|scope| {
        let work = scope.spawn(|| lake.import(TABLE, TableKind::CloudTrail, &id, &source, &plan, &progress));
        while !work.is_finished() {
            if terminal {
                eprint!(
                    "\r{} files, {} prefixes of {}   ",
                    progress.files_completed.load(Ordering::Relaxed),
                    progress.prefixes_completed.load(Ordering::Relaxed),
                    progress.prefixes_found.load(Ordering::Relaxed),
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        work.join().unwrap_or_else(|_| bail_panic())
    });
    if terminal {
        eprint!("\r\x1b[K");
    }
    outcome?;
    for f in progress.failures.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        eprintln!("failed: {} ({}): {}", f.location, f.error_type, f.message);
    }
    let failed = progress.failed_entries.load(Ordering::Relaxed);
    println!(
        "imported {} events from {} files in {:.1} s into {} ({} already there, {} files failed)",
        progress.events_completed.load(Ordering::Relaxed),
        progress.files_completed.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
        args.store_dir.display(),
        progress.duplicates.load(Ordering::Relaxed),
        failed,
    );
    Ok(if failed > 0 { 1 } else { 0 })
}

fn bail_panic() -> cairn_store::Result<()> {
    Err(cairn_store::Error::Engine("the import panicked".into()))
}

/// Whether a statement reads the local store (names the table `events`).
pub fn names_local_table(statement: &str) -> bool {
    sql::prepare(statement, |w| w == TABLE).is_ok_and(|p| p.stores == [TABLE])
}

/// The memory an offline query may use: three quarters of the machine's (sorts and windows over a whole archive need
/// it, and nothing else runs in this process), 2 GiB where the machine's is unknown.
fn memory_budget() -> usize {
    let total_kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines().find_map(|l| l.strip_prefix("MemTotal:")?.trim().strip_suffix("kB")?.trim().parse::<usize>().ok())
    });
    total_kib.map_or(2 << 30, |k| k * 1024 / 4 * 3)
}

/// Runs a statement over the local store.
pub fn query(statement: &str, store_dir: &Path, max_rows: usize) -> Result<LakeAnswer> {
    if !store_dir.join(TABLE).exists() {
        bail!("no local store in {}: import trail log files first with `cairn import PATH...`", store_dir.display());
    }
    let lake = open(store_dir)?;
    let prepared = sql::prepare(statement, |w| w == TABLE)?;
    let snapshot = lake.snapshot(TABLE, 0).context("the local store is empty")?;
    let limits = cairn_store::QueryLimits { max_rows, memory_bytes: memory_budget(), partitions: 2 };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    Ok(rt.block_on(sql::run(&prepared, [(TABLE.to_string(), snapshot)].into(), &limits))?)
}
