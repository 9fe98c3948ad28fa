//! The event history consumer: reads the journal from history's checkpoint and feeds every record to event
//! history within moments of its append; the flusher moves the in-memory tail to Parquet files, saves the
//! checkpoint, lets the journal delete what every consumer has passed, and merges small files; and events past the
//! 90-day retention are dropped as the clock advances.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::App;

/// The journal consumer name of event history.
pub(crate) const CONSUMER: &str = "history";

/// Records read per journal batch.
const BATCH_RECORDS: usize = 4096;
const BATCH_BYTES: usize = 16 << 20;
/// How often events past retention are dropped.
const EXPIRE_EVERY: Duration = Duration::from_secs(60);

/// The tail is flushed once it holds `history.flush_bytes` of records, or an eighth of that when nothing new arrived
/// for [`FLUSH_IDLE`], and whatever it holds every `history.flush_interval_seconds` (so the journal behind it can be
/// deleted).
const FLUSH_IDLE: Duration = Duration::from_secs(2);

/// Longest a lookup waits for history to catch up with the journal.
const CATCH_UP: Duration = Duration::from_secs(2);

/// Waits until history has applied every record committed before this call (so a lookup sees every call answered
/// before it), for at most [`CATCH_UP`]; after that the lookup answers from what history has.
pub(crate) async fn catch_up(app: &App) {
    let target = app.journal.committed();
    let mut applied = app.history_applied.subscribe();
    if tokio::time::timeout(CATCH_UP, applied.wait_for(|a| *a >= target)).await.is_err() {
        tracing::warn!(
            target,
            applied = *applied.borrow(),
            "event history is behind the journal; answering from what it has"
        );
    }
}

/// Starts the consumer and the flusher on threads of their own, at a lower scheduling priority than the threads
/// answering requests (acknowledging events comes first; history catches up when the load eases), and the expiry
/// loop on the current runtime.
pub(crate) fn spawn(app: Arc<App>) {
    let flush_now = Arc::new(tokio::sync::Notify::new());
    let (a, f) = (Arc::clone(&app), Arc::clone(&flush_now));
    background("cairn-history", move || consume(a, f));
    let a = Arc::clone(&app);
    background("cairn-history-flush", move || flusher(a, flush_now));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EXPIRE_EVERY);
        loop {
            tick.tick().await;
            let history = Arc::clone(&app);
            let now = app.clock.now_millis();
            match tokio::task::spawn_blocking(move || history.history.expire(now)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(dropped)) => tracing::info!(dropped, "event history dropped events past retention"),
                Ok(Err(e)) => tracing::error!(error = %e, "event history cannot drop expired files"),
                Err(e) => tracing::error!(error = %e, "event history expiry panicked"),
            }
        }
    });
}

/// Runs `task` on a new thread with a single-threaded runtime of its own, niced below the request threads.
fn background<F, Fut>(name: &str, task: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let spawned = std::thread::Builder::new().name(name.to_string()).spawn(move || {
        crate::lower_priority();
        match tokio::runtime::Builder::new_current_thread().enable_time().build() {
            Ok(rt) => rt.block_on(task()),
            Err(e) => tracing::error!(error = %e, "event history cannot start its runtime"),
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, thread = name, "event history cannot start a thread");
    }
}

async fn consume(app: Arc<App>, flush_now: Arc<tokio::sync::Notify>) {
    let from = *app.history_applied.borrow();
    let mut reader = match app.journal.reader(from) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "event history cannot read the journal");
            return;
        }
    };
    loop {
        // This thread is history's own: reading and applying block nothing else.
        match reader.next_batch(BATCH_RECORDS, BATCH_BYTES) {
            Ok(records) if records.is_empty() => {
                app.history_applied.send_replace(reader.position());
                reader.wait().await
            }
            Ok(records) => {
                let now = app.clock.now_millis();
                app.history.insert_batch(records.iter().map(|r| (r.seq, &r.payload[..])), now);
                app.history_applied.send_replace(reader.position());
                let limit = app.settings.history.flush_bytes;
                if app.history.tail_size().1 >= limit {
                    flush_now.notify_one();
                }
                // Bound memory: while a flush is under way, apply at most one more flush's worth, then wait for it.
                while app.history.tail_size().1 >= limit.saturating_mul(2) {
                    flush_now.notify_one();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Err(e) => {
                // A corrupt or unreadable journal must be looked at; retrying keeps the rest of cairn serving.
                tracing::error!(error = %e, position = reader.position(), "event history cannot read the journal");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// Flushes the tail by the policy above; runs beside the consumer (on its own thread), which keeps applying records
/// meanwhile.
async fn flusher(app: Arc<App>, flush_now: Arc<tokio::sync::Notify>) {
    let mut last_flush = Instant::now();
    let mut last_applied = (*app.history_applied.borrow(), Instant::now());
    loop {
        let _ = tokio::time::timeout(Duration::from_secs(1), flush_now.notified()).await;
        let applied = *app.history_applied.borrow();
        if applied != last_applied.0 {
            last_applied = (applied, Instant::now());
        }
        let (events, bytes) = app.history.tail_size();
        let idle = last_applied.1.elapsed() >= FLUSH_IDLE;
        let policy = app.settings.history;
        let due = bytes >= policy.flush_bytes
            || (idle && bytes >= policy.flush_bytes / 8)
            || (last_flush.elapsed() >= Duration::from_secs(policy.flush_interval_seconds)
                && (events > 0 || applied > checkpoint(&app)));
        if !due {
            continue;
        }
        match flush(&app, applied) {
            Ok(()) => last_flush = Instant::now(),
            Err(e) => {
                tracing::error!(error = %e, "event history cannot write its files; keeping events in memory");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

fn checkpoint(app: &App) -> u64 {
    app.journal.checkpoint(CONSUMER).unwrap_or(0)
}

fn flush(app: &App, upto: u64) -> Result<(), crate::Error> {
    let started = Instant::now();
    let flushed = app.history.flush(upto)?;
    app.journal.save_checkpoint(CONSUMER, upto)?;
    let segments = app.journal.delete_consumed()?;
    let merged = app.history.compact()?;
    tracing::info!(
        events = flushed.events,
        files = flushed.files,
        merged_files = merged.files,
        journal_segments_deleted = segments,
        ms = started.elapsed().as_millis() as u64,
        "event history flushed"
    );
    Ok(())
}
