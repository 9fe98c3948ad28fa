//! The `cairn` command: `cairn serve` runs the CloudTrail-compatible server; `cairn lookup` reads event history,
//! `cairn query` runs SQL over it, `cairn trails` shows trails and their deliveries, and `cairn trail-bucket` makes a
//! bucket with the policy a trail needs.

mod bucket;
mod check;
mod config;
mod connection;
mod lookup;
mod offline;
mod profile;
mod query;
mod trails;
mod validate;

/// mimalloc returns freed memory to the system promptly: after event history flushes its in-memory tail to files,
/// the resident set falls back instead of staying at its high-water mark as with glibc's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keeps freed memory in the process instead of returning it to the system: a one-shot command that allocates and
/// frees large buffers all the time (an import) otherwise spends a fifth of its time having the kernel zero pages.
#[allow(unsafe_code)]
fn keep_freed_memory() {
    // mimalloc's `mi_option_purge_delay` (the same index in its v2 and v3), in milliseconds; -1 never purges.
    const PURGE_DELAY: std::ffi::c_int = 15;
    extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    // SAFETY: mi_option_set only stores the option's value; any thread may call it at any time.
    unsafe { mi_option_set(PURGE_DELAY, -1) };
}

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use cairn_server::{App, SystemClock};
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

#[derive(Debug, Parser)]
#[command(name = "cairn", version, about = "A self-hosted audit trail service that speaks the AWS CloudTrail API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// TOML configuration file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Address to listen on, such as 127.0.0.1:4573 (port 0 picks a free port).
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Data directory (catalog, local buckets).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Look up events in event history (LookupEvents) of a running cairn.
    Lookup(Box<lookup::LookupArgs>),
    /// Run SQL over your account's event history (the table `history`) in a running cairn, or over the local store
    /// `cairn import` fills (the table `events`), with no server.
    Query(Box<query::QueryArgs>),
    /// Import trail log files (directories and files of .json.gz/.json, as `aws s3 sync` leaves them) into a local
    /// store for `cairn query` (exit 1 if some files could not be read).
    Import(Box<offline::ImportArgs>),
    /// Check your account's posture in a running cairn against Security Hub's CloudTrail.1-7 and CloudWatch.1-14
    /// controls (exit 0: every control PASSED; 1: some did not).
    Check(Box<check::CheckArgs>),
    /// Show your trails in a running cairn: logging, last delivery, lag and last error.
    Trails(Box<trails::TrailsArgs>),
    /// Create a bucket in a running cairn with the policy AWS's console writes for a trail's bucket.
    TrailBucket(Box<bucket::TrailBucketArgs>),
    /// Validate a trail's log files against its signed digests, as `aws cloudtrail validate-logs` does (exit 0: all
    /// valid; 1: something is INVALID).
    ValidateLogs(Box<validate::ValidateArgs>),
    /// Replace a region's digest signing key now (on demand), in the data directory of a cairn that may be running;
    /// the old key stays listed by ListPublicKeys for the period it signed.
    RotateSigningKey {
        /// The region whose key to replace.
        #[arg(long)]
        region: String,
        /// TOML configuration file (for its data directory and rotation period).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Prove one event: its inclusion in the event tree head a signed digest carries (cairn's digests).
    Prove(Box<validate::prove::ProveArgs>),
    /// Verify the signed results a CloudTrail Lake query delivered to a bucket (DeliveryS3Uri), as
    /// `aws cloudtrail verify-query-results` does (exit 0: valid; 1: not).
    VerifyQueryResults(Box<validate::results::VerifyResultsArgs>),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in log files or journald.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.command {
        Command::Serve { config, listen, data_dir } => {
            let env = std::env::vars().filter(|(k, _)| k.starts_with("CAIRN_")).collect();
            let settings = config::load(&config::Overrides { config, listen, data_dir }, &env)?;
            serve(settings)
        }
        Command::Lookup(args) => lookup::run(*args),
        Command::Query(args) => query::run(*args),
        Command::Import(args) => {
            keep_freed_memory();
            std::process::exit(offline::import(*args)?)
        }
        Command::Check(args) => check::run(*args),
        Command::Trails(args) => trails::run(*args),
        Command::TrailBucket(args) => bucket::run(*args),
        Command::RotateSigningKey { region, config, data_dir } => {
            let env = std::env::vars().filter(|(k, _)| k.starts_with("CAIRN_")).collect();
            let settings = config::load(&config::Overrides { config, listen: None, data_dir }, &env)?;
            let keys = cairn_integrity::SigningKeys::open(
                &settings.data_dir.join("signing-keys"),
                settings.signing_key_rotation_ms,
            )?;
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
            let key = keys.rotate(&region, now)?;
            println!("{region}: new digest signing key {} signs from now on", key.fingerprint());
            Ok(())
        }
        Command::Prove(args) => match validate::prove::run(*args) {
            Ok(code) => std::process::exit(code),
            Err(e) => {
                eprintln!("{e:#}");
                std::process::exit(255)
            }
        },
        Command::VerifyQueryResults(args) => match validate::results::run(*args) {
            Ok(code) => std::process::exit(code),
            Err(e) => {
                eprintln!("{e:#}");
                std::process::exit(255)
            }
        },
        Command::ValidateLogs(args) => match validate::run(*args) {
            Ok(code) => std::process::exit(code),
            // As the AWS CLI: the error on stderr, exit status 255.
            Err(e) => {
                eprintln!("\n{e:#}");
                std::process::exit(255)
            }
        },
    }
}

fn serve(settings: cairn_server::config::Settings) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        // SIGTERM and SIGINT are taken over before anything is served: one right after start-up shuts down
        // gracefully instead of killing the process.
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
        let listener =
            TcpListener::bind(settings.listen).await.with_context(|| format!("binding {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let data_dir = settings.data_dir.clone();
        let app = Arc::new(App::open(settings, Arc::new(SystemClock))?);
        // Tests and scripts read this line to learn the port.
        println!("cairn listening on http://{addr} (data directory {})", data_dir.display());
        tracing::info!(%addr, data_dir = %data_dir.display(), "cairn serving");
        cairn_server::serve(listener, app, shutdown_signal(term, interrupt)).await?;
        tracing::info!("cairn stopped");
        Ok(())
    })
}

async fn shutdown_signal(mut term: tokio::signal::unix::Signal, mut interrupt: tokio::signal::unix::Signal) {
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
        _ = interrupt.recv() => tracing::info!("interrupt received, shutting down"),
    }
}
