//! The event history consumer: follows the journal on the consumer runtime and feeds every record to event
//! history within moments of its append; the flusher moves the in-memory tail to Parquet files, saves the
//! checkpoint, lets the journal delete what every consumer has passed, and merges small files; and events past the
//! 90-day retention are dropped as the clock advances.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_journal::Record;
use cairn_model::event::standard_sized;

use crate::{consumers, App};

/// The journal consumer name of event history.
pub(crate) const CONSUMER: &str = "history";
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
    let target = app.log().committed();
    let mut applied = app.history_applied.subscribe();
    if tokio::time::timeout(CATCH_UP, applied.wait_for(|a| *a >= target)).await.is_err() {
        tracing::warn!(
            target,
            applied = *applied.borrow(),
            "event history is behind the journal; answering from what it has"
        );
    }
}

/// Starts event history's consumer (on the consumer runtime) and its flusher on threads of their own, at a lower
/// scheduling priority than the threads answering requests (acknowledging events comes first; history catches up when
/// the load eases), and the expiry loop on the current runtime.
pub(crate) fn spawn(app: Arc<App>) -> Result<(), crate::Error> {
    let spec = consumers::Spec { name: CONSUMER.into(), start: 0, tick: Duration::from_secs(1) };
    let (from, progress) = consumers::register(&app.log(), &app.consumers, &app.clock, &spec)?;
    let flush_now = Arc::new(tokio::sync::Notify::new());
    let sink = HistorySink { app: Arc::clone(&app), flush_now: Arc::clone(&flush_now) };
    consumers::run(Arc::clone(&app.consumers), spec, from, progress.clone(), Box::new(sink));
    let a = Arc::clone(&app);
    crate::background("cairn-history-flush", move || flusher(a, progress, flush_now));
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
    Ok(())
}

/// Applies records to history's in-memory tail; the flusher makes them durable in files and saves the checkpoint.
struct HistorySink {
    app: Arc<App>,
    flush_now: Arc<tokio::sync::Notify>,
}

#[async_trait::async_trait]
impl consumers::Sink for HistorySink {
    async fn apply(&mut self, records: &[Record]) -> Result<(), crate::Error> {
        let app = &self.app;
        let now = app.clock.now_millis();
        let standard: Vec<Option<Vec<u8>>> = records.iter().map(|r| standard_sized(&r.payload)).collect();
        let payloads = records.iter().zip(&standard).map(|(r, s)| (r.seq, s.as_deref().unwrap_or(&r.payload[..])));
        app.history.insert_batch(payloads, now);
        if let Some(last) = records.last() {
            app.history_applied.send_replace(last.seq + 1);
        }
        let limit = app.settings.history.flush_bytes;
        if app.history.tail_size().1 >= limit {
            self.flush_now.notify_one();
        }
        // Bound memory: while a flush is under way, apply at most one more flush's worth, then wait for it.
        while app.history.tail_size().1 >= limit.saturating_mul(2) {
            self.flush_now.notify_one();
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    async fn settle(&mut self, position: u64, _now_ms: i64) -> Result<Option<u64>, crate::Error> {
        self.app.history_applied.send_if_modified(|a| {
            let advanced = position > *a;
            *a = (*a).max(position);
            advanced
        });
        Ok(None)
    }
}

/// Flushes the tail by the policy above; runs beside the consumer (on its own thread), which keeps applying records
/// meanwhile.
async fn flusher(app: Arc<App>, progress: consumers::Progress, flush_now: Arc<tokio::sync::Notify>) {
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
        match flush(&app, &progress, applied) {
            Ok(()) => last_flush = Instant::now(),
            Err(e) => {
                tracing::error!(error = %e, "event history cannot write its files; keeping events in memory");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

fn checkpoint(app: &App) -> u64 {
    app.log().checkpoint(CONSUMER).unwrap_or(0)
}

/// Writes the tail below `upto` to files, then saves the checkpoint (so files cover exactly the journal below it) and
/// releases the journal every consumer has passed, then merges small files.
fn flush(app: &App, progress: &consumers::Progress, upto: u64) -> Result<(), crate::Error> {
    let started = Instant::now();
    let flushed = app.history.flush(upto)?;
    if let Err(e) = progress.durable(upto) {
        progress.failed(format!("cannot save the checkpoint: {e}"));
        return Err(e);
    }
    let merged = app.history.compact()?;
    tracing::info!(
        events = flushed.events,
        files = flushed.files,
        merged_files = merged.files,
        ms = started.elapsed().as_millis() as u64,
        "event history flushed"
    );
    Ok(())
}
