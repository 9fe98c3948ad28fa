//! The consumer runtime: every part of cairn that follows the journal (event history, trail delivery, and later
//! event data stores, metric filters and rules) is a named consumer. The runtime reads batches from the consumer's
//! checkpoint, hands them to its [`Sink`], and saves the checkpoint only once the sink says its output below that
//! position is durable; it then lets the log release what every consumer has passed.
//!
//! Each consumer runs on a thread of its own at a lower scheduling priority than the request threads, so a slow or
//! failing consumer never holds up acknowledgements or another consumer; the log keeps records until the slowest
//! consumer has passed them. Position, checkpoint, lag, last success and last error of every consumer are kept in
//! [`Consumers`] for `/metrics` and the trail status.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn_journal::{Log, Record};

use crate::Clock;

/// Records and bytes read per batch.
const BATCH_RECORDS: usize = 4096;
const BATCH_BYTES: usize = 16 << 20;
/// Longest wait between retries of a failing batch.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What a consumer does with the records it reads.
#[async_trait::async_trait]
pub(crate) trait Sink: Send {
    /// Takes the next records, in order, continuing from the previous call. An error makes the runtime retry the
    /// same records later (with backoff), so applying must be all-or-nothing.
    async fn apply(&mut self, records: &[Record]) -> Result<(), crate::Error>;

    /// Called after every batch and at least every tick while idle, with the position the sink has been given
    /// records up to: writes out what is due and returns the position below which all of its output is durable
    /// (`None`: no news, or the sink reports through its [`Progress`] itself).
    async fn settle(&mut self, position: u64, now_ms: i64) -> Result<Option<u64>, crate::Error>;

    /// False while the sink holds as much as it should (its output is failing): the runtime stops reading and only
    /// settles until it is true again. The log keeps the records meanwhile.
    fn wants_more(&self) -> bool {
        true
    }

    /// True once the sink will never need another record (its trail was deleted and everything delivered): the
    /// runtime then calls [`Sink::finish`] and removes the consumer from the log.
    fn finished(&self) -> bool {
        false
    }

    /// Cleans up what the sink kept for itself, before its consumer is removed.
    async fn finish(&mut self) -> Result<(), crate::Error> {
        Ok(())
    }
}

/// What the runtime and `/metrics` know about one consumer.
#[derive(Debug, Default)]
pub struct ConsumerStatus {
    /// Next record the consumer will read.
    pub position: AtomicU64,
    /// Everything below is durable in the consumer's output.
    pub checkpoint: AtomicU64,
    /// When the checkpoint last advanced or a settle succeeded, in milliseconds since the epoch (0: never).
    pub last_success_ms: AtomicI64,
    pub errors_total: AtomicU64,
    /// The last error and when it happened, cleared by the next success.
    pub last_error: Mutex<Option<(i64, String)>>,
}

impl ConsumerStatus {
    fn failed(&self, now_ms: i64, error: String) {
        self.errors_total.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some((now_ms, error));
    }

    fn succeeded(&self, now_ms: i64) {
        self.last_success_ms.store(now_ms, Ordering::Relaxed);
        self.last_error.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    pub fn last_error(&self) -> Option<(i64, String)> {
        self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Every running consumer's status, by name.
#[derive(Debug, Default)]
pub struct Consumers {
    by_name: Mutex<BTreeMap<String, Arc<ConsumerStatus>>>,
}

impl Consumers {
    pub fn snapshot(&self) -> Vec<(String, Arc<ConsumerStatus>)> {
        let map = self.by_name.lock().unwrap_or_else(|e| e.into_inner());
        map.iter().map(|(n, s)| (n.clone(), Arc::clone(s))).collect()
    }

    pub fn get(&self, name: &str) -> Option<Arc<ConsumerStatus>> {
        self.by_name.lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }

    fn insert(&self, name: &str) -> Arc<ConsumerStatus> {
        let status = Arc::new(ConsumerStatus::default());
        self.by_name.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), Arc::clone(&status));
        status
    }

    fn remove(&self, name: &str) {
        self.by_name.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
    }
}

/// A consumer's handle on its checkpoint, for sinks that make output durable on a thread of their own.
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    name: String,
    log: Arc<dyn Log>,
    status: Arc<ConsumerStatus>,
    clock: Arc<dyn Clock>,
}

impl Progress {
    /// Records that everything below `seq` is durable: saves the checkpoint (if it advances) and releases what
    /// every consumer has passed.
    pub(crate) fn durable(&self, seq: u64) -> Result<(), crate::Error> {
        self.advance(seq)?;
        self.status.succeeded(self.clock.now_millis());
        Ok(())
    }

    /// Saves the checkpoint at `seq` (if it advances) without counting as a success: for a sink whose output is
    /// partly failing.
    pub(crate) fn advance(&self, seq: u64) -> Result<(), crate::Error> {
        if seq > self.status.checkpoint.load(Ordering::Relaxed) {
            self.log.save_checkpoint(&self.name, seq)?;
            self.status.checkpoint.store(seq, Ordering::Relaxed);
            self.log.release_consumed()?;
        }
        Ok(())
    }

    pub(crate) fn failed(&self, error: String) {
        self.status.failed(self.clock.now_millis(), error);
    }

    /// Keeps `error` as the consumer's last error without counting another failure.
    pub(crate) fn still_failing(&self, error: String) {
        let mut last = self.status.last_error.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none() {
            *last = Some((self.clock.now_millis(), error));
        }
    }

    /// The last saved checkpoint: a restart replays from here.
    pub(crate) fn checkpoint(&self) -> u64 {
        self.status.checkpoint.load(Ordering::Relaxed)
    }
}

/// How to start a consumer.
#[derive(Debug)]
pub(crate) struct Spec {
    pub name: String,
    /// Where a consumer that has no checkpoint yet starts.
    pub start: u64,
    /// Longest idle wait between settles.
    pub tick: Duration,
}

/// Registers the consumer with the log (at its checkpoint, or at `spec.start` when new) and returns its progress
/// handle, for a sink to be built with; then [`run`] starts it.
pub(crate) fn register(
    log: &Arc<dyn Log>,
    consumers: &Consumers,
    clock: &Arc<dyn Clock>,
    spec: &Spec,
) -> Result<(u64, Progress), crate::Error> {
    let from = log.register_consumer(&spec.name, spec.start)?;
    let status = consumers.insert(&spec.name);
    status.position.store(from, Ordering::Relaxed);
    status.checkpoint.store(from, Ordering::Relaxed);
    let progress = Progress { name: spec.name.clone(), log: Arc::clone(log), status, clock: Arc::clone(clock) };
    Ok((from, progress))
}

/// A running consumer; it runs until its sink finishes (dropping the handle does not stop it).
#[derive(Debug, Clone)]
pub(crate) struct Handle {
    done: Arc<AtomicBool>,
}

impl Handle {
    pub(crate) fn is_running(&self) -> bool {
        !self.done.load(Ordering::Relaxed)
    }
}

/// Runs the consumer on a thread of its own from position `from` until its sink finishes.
pub(crate) fn run(
    consumers: Arc<Consumers>,
    spec: Spec,
    from: u64,
    progress: Progress,
    mut sink: Box<dyn Sink>,
) -> Handle {
    let done = Arc::new(AtomicBool::new(false));
    let handle = Handle { done: Arc::clone(&done) };
    let thread_name = format!("cairn-{}", spec.name);
    let thread_name = thread_name.chars().take(15).collect::<String>();
    crate::background(&thread_name, move || async move {
        follow(&consumers, &spec, from, &progress, sink.as_mut(), &done).await;
        done.store(true, Ordering::Relaxed);
    });
    handle
}

async fn follow(
    consumers: &Consumers,
    spec: &Spec,
    from: u64,
    progress: &Progress,
    sink: &mut dyn Sink,
    done: &AtomicBool,
) {
    let log = &progress.log;
    let status = &progress.status;
    let clock = &progress.clock;
    let mut committed = log.subscribe();
    let mut cursor = loop {
        match log.cursor(from) {
            Ok(c) => break c,
            Err(e) => {
                progress.failed(format!("cannot read the journal: {e}"));
                tracing::error!(consumer = spec.name, error = %e, "consumer cannot read the journal");
                tokio::time::sleep(MAX_BACKOFF).await;
            }
        }
    };
    let mut backoff = Backoff::default();
    let mut pending: Vec<Record> = Vec::new();
    while !done.load(Ordering::Relaxed) {
        let wants_more = sink.wants_more();
        if pending.is_empty() && wants_more {
            match cursor.next_batch(BATCH_RECORDS, BATCH_BYTES) {
                Ok(records) => pending = records,
                Err(e) => {
                    // A corrupt or unreadable journal must be looked at; retrying keeps the rest of cairn serving.
                    progress.failed(format!("cannot read the journal at {}: {e}", cursor.position()));
                    tracing::error!(consumer = spec.name, error = %e, "consumer cannot read the journal");
                    tokio::time::sleep(backoff.next()).await;
                    continue;
                }
            }
        }
        let read = !pending.is_empty() && wants_more;
        let mut apply_failed = false;
        if read {
            match sink.apply(&pending).await {
                Ok(()) => pending.clear(),
                Err(e) => {
                    apply_failed = true;
                    progress.failed(e.to_string());
                    tracing::warn!(consumer = spec.name, error = %e, "consumer will retry a batch");
                }
            }
        }
        // Records read but not applied are not yet the sink's.
        let position = pending.first().map_or(cursor.position(), |r| r.seq);
        status.position.store(position, Ordering::Relaxed);
        match sink.settle(position, clock.now_millis()).await {
            Ok(Some(durable)) => match progress.durable(durable) {
                Ok(()) => {}
                Err(e) => {
                    progress.failed(format!("cannot save the checkpoint: {e}"));
                    tracing::error!(consumer = spec.name, error = %e, "consumer cannot save its checkpoint");
                }
            },
            Ok(None) => {}
            Err(e) => {
                progress.failed(e.to_string());
                tracing::warn!(consumer = spec.name, error = %e, "consumer output failed; retrying");
            }
        }
        if sink.finished() {
            let removed = match sink.finish().await {
                Ok(()) => log.remove_consumer(&spec.name).map_err(crate::Error::from),
                Err(e) => Err(e),
            };
            match removed {
                Ok(()) => {
                    consumers.remove(&spec.name);
                    let _ = log.release_consumed();
                    tracing::info!(consumer = spec.name, "consumer finished and removed");
                    return;
                }
                Err(e) => progress.failed(format!("cannot remove the consumer: {e}")),
            }
        }
        if apply_failed {
            tokio::time::sleep(backoff.next()).await;
        } else if !read {
            if wants_more {
                let _ = tokio::time::timeout(spec.tick, committed.wait_for(|c| *c > position)).await;
            } else {
                tokio::time::sleep(spec.tick).await;
            }
        } else {
            backoff = Backoff::default();
        }
    }
}

/// Exponential backoff with jitter, from 100 ms up to [`MAX_BACKOFF`].
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    attempt: u32,
}

impl Backoff {
    pub(crate) fn next(&mut self) -> Duration {
        let base = Duration::from_millis(100).saturating_mul(1 << self.attempt.min(9)).min(MAX_BACKOFF);
        self.attempt = self.attempt.saturating_add(1);
        // Full jitter in the upper half, so retries of many streams spread out.
        let jitter = uuid::Uuid::new_v4().as_u128() as u64 % (base.as_millis() as u64 / 2 + 1);
        base / 2 + Duration::from_millis(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let mut b = Backoff::default();
        let first = b.next();
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100), "{first:?}");
        let later: Vec<Duration> = (0..20).map(|_| b.next()).collect();
        assert!(later.iter().all(|d| *d <= MAX_BACKOFF));
        assert!(*later.last().unwrap() >= MAX_BACKOFF / 2);
    }
}
