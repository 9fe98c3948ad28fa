//! Trail delivery wiring: one journal consumer per trail (named `trail-<hash of its ARN>`), each driving a
//! [`TrailDelivery`] engine with the trail's versions from the catalog. A supervisor starts a consumer for every
//! trail that has versions, and removes consumers left behind by a crash after their trail was cleaned up.
//!
//! One consumer per trail means a trail whose bucket refuses writes holds back only itself: its consumer stops
//! reading once it holds [`MAX_HELD_BYTES`], the journal keeps the records, and every other trail carries on.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cairn_delivery::{DeliveryStatus, TrailDelivery};
use cairn_journal::Record;
use cairn_model::event::standard_sized;
use sha2::{Digest, Sha256};

use crate::consumers::{self, Progress};
use crate::App;

/// Consumer names of trails start with this.
const PREFIX: &str = "trail-";
/// How often the supervisor looks for trails to start.
const SUPERVISE_EVERY: Duration = Duration::from_millis(500);
/// A trail's consumer stops reading while it holds this many bytes of undelivered records.
const MAX_HELD_BYTES: usize = 256 << 20;
/// How often a consumer forgets trail versions it has passed.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The journal consumer name of a trail.
pub(crate) fn consumer_name(arn: &str) -> String {
    named_for(PREFIX, arn)
}

/// A journal consumer name for a trail: `prefix` and a hash of its ARN (names have a length limit, ARNs do not).
pub(crate) fn named_for(prefix: &str, arn: &str) -> String {
    let digest = Sha256::digest(arn.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

/// Forgets the trail's versions below `below`, as far as both of its consumers (S3 and CloudWatch Logs) have read.
pub(crate) fn prune_versions(app: &App, arn: &str, below: u64) {
    let Some(below) = crate::cwlogs::prune_floor(app, arn, below) else { return };
    let owned = arn.to_string();
    let pruned = app.catalog.update::<_, ()>(|_, changes| {
        changes.prune_versions(owned, below);
        Ok(())
    });
    if let Err(e) = pruned {
        tracing::warn!(trail = arn, error = %e, "cannot prune trail versions");
    }
}

/// Delivery status of every trail that has a consumer, by ARN.
#[derive(Debug, Default)]
pub struct Deliveries {
    statuses: Mutex<BTreeMap<String, Arc<Mutex<DeliveryStatus>>>>,
    running: Mutex<BTreeMap<String, consumers::Handle>>,
}

impl Deliveries {
    /// The delivery status of a trail, if it has ever had a consumer in this process.
    pub fn status(&self, arn: &str) -> Option<DeliveryStatus> {
        let map = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        map.get(arn).map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Every trail's status, by ARN.
    pub fn all(&self) -> Vec<(String, DeliveryStatus)> {
        let map = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        map.iter().map(|(a, s)| (a.clone(), s.lock().unwrap_or_else(|e| e.into_inner()).clone())).collect()
    }
}

/// Starts the supervisor on the current runtime.
pub(crate) fn spawn(app: Arc<App>) {
    tokio::spawn(async move {
        remove_orphans(&app);
        loop {
            supervise(&app);
            tokio::time::sleep(SUPERVISE_EVERY).await;
        }
    });
}

/// Removes trail consumers whose trail has no versions left (a crash between cleaning up a deleted trail and
/// removing its consumer), so the journal does not keep records for them forever.
fn remove_orphans(app: &App) {
    let known: HashSet<String> =
        app.catalog.read(|s| s.versioned_trails().map(|(arn, _)| consumer_name(arn)).collect());
    for name in app.log().consumers() {
        if name.starts_with(PREFIX) && !known.contains(&name) {
            match app.log().remove_consumer(&name) {
                Ok(()) => tracing::info!(consumer = name, "removed the consumer of a trail that no longer exists"),
                Err(e) => tracing::error!(consumer = name, error = %e, "cannot remove an orphaned trail consumer"),
            }
        }
    }
}

fn supervise(app: &Arc<App>) {
    let trails: Vec<(String, u64)> = app.catalog.read(|s| {
        s.versioned_trails().filter_map(|(arn, v)| v.first().map(|(at, _)| (arn.to_string(), *at))).collect()
    });
    let mut running = app.deliveries.running.lock().unwrap_or_else(|e| e.into_inner());
    running.retain(|_, h| h.is_running());
    for (arn, start) in trails {
        if running.contains_key(&arn) {
            continue;
        }
        match start_trail(app, &arn, start) {
            Ok(handle) => {
                running.insert(arn, handle);
            }
            Err(e) => tracing::error!(trail = arn, error = %e, "cannot start the trail's delivery"),
        }
    }
}

fn start_trail(app: &Arc<App>, arn: &str, start: u64) -> Result<consumers::Handle, crate::Error> {
    let name = consumer_name(arn);
    let spec = consumers::Spec { name: name.clone(), start, tick: Duration::from_millis(250) };
    let state_path = app.settings.data_dir.join("delivery").join(format!("{name}.json"));
    let engine = TrailDelivery::open(
        arn,
        Arc::clone(&app.storage),
        Arc::clone(&app.signing_keys),
        app.settings.delivery,
        Arc::clone(&app.organization_accounts),
        state_path,
    )?;
    app.deliveries.statuses.lock().unwrap_or_else(|e| e.into_inner()).insert(arn.to_string(), engine.status());
    let (from, progress) = consumers::register(&app.log(), &app.consumers, &app.clock, &spec)?;
    tracing::debug!(trail = arn, consumer = name, from, "trail delivery started");
    let sink = TrailSink {
        app: Arc::clone(app),
        arn: arn.to_string(),
        engine,
        progress: progress.clone(),
        last_prune: Instant::now(),
        position: from,
    };
    Ok(consumers::run(Arc::clone(&app.consumers), spec, from, progress, Box::new(sink)))
}

/// A trail's consumer: hands records and the trail's versions to its engine.
struct TrailSink {
    app: Arc<App>,
    arn: String,
    engine: TrailDelivery,
    progress: Progress,
    last_prune: Instant,
    position: u64,
}

impl TrailSink {
    /// The trail's versions as of now; called after records were read, so every version they fall under is seen.
    fn refresh_versions(&mut self) {
        let versions = self.app.catalog.settled(|_, s| s.trail_versions(&self.arn).to_vec());
        self.engine.set_versions(versions);
    }

    fn prune_versions(&mut self, below: u64) {
        prune_versions(&self.app, &self.arn, below);
    }
}

#[async_trait::async_trait]
impl consumers::Sink for TrailSink {
    async fn apply(&mut self, records: &[Record]) -> Result<(), crate::Error> {
        self.refresh_versions();
        let now = self.app.clock.now_millis();
        let standard: Vec<Option<Bytes>> =
            records.iter().map(|r| standard_sized(&r.payload).map(Bytes::from)).collect();
        self.engine.apply(records.iter().zip(&standard).map(|(r, s)| (r.seq, s.as_ref().unwrap_or(&r.payload))), now);
        if let Some(last) = records.last() {
            self.position = last.seq + 1;
        }
        Ok(())
    }

    async fn settle(&mut self, position: u64, now_ms: i64) -> Result<Option<u64>, crate::Error> {
        self.position = self.position.max(position);
        self.refresh_versions();
        let checkpoint = self.progress.checkpoint();
        self.engine.set_checkpoint(checkpoint);
        let failures_before = self.engine.status().lock().unwrap_or_else(|e| e.into_inner()).failed_attempts;
        let durable = self.engine.settle(position, now_ms).await?;
        let delivered = self.engine.take_delivered();
        if !delivered.is_empty() {
            crate::sns::notify_log_files(&self.app, &self.arn, delivered).await;
        }
        if self.last_prune.elapsed() >= PRUNE_EVERY {
            self.last_prune = Instant::now();
            self.prune_versions(checkpoint);
        }
        // While a stream of the trail fails, the consumer is failing (for /metrics) though its checkpoint may
        // still advance past what other streams delivered.
        let Some(error) = self.engine.failing() else { return Ok(Some(durable)) };
        self.progress.advance(durable)?;
        let failures = self.engine.status().lock().unwrap_or_else(|e| e.into_inner()).failed_attempts;
        let message = format!("the bucket refused or could not be reached: {error}");
        if failures > failures_before {
            self.progress.failed(message);
        } else {
            self.progress.still_failing(message);
        }
        Ok(None)
    }

    fn wants_more(&self) -> bool {
        self.engine.held_bytes() < MAX_HELD_BYTES
    }

    fn finished(&self) -> bool {
        self.engine.finished()
    }

    async fn finish(&mut self) -> Result<(), crate::Error> {
        self.engine.remove_state()?;
        // Keeps a version of a trail re-created with the same ARN meanwhile (it takes effect past this position).
        self.prune_versions(self.position);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_names_are_valid_and_distinct() {
        let a = consumer_name("arn:aws:cloudtrail:us-east-1:123456789012:trail/a");
        let b = consumer_name("arn:aws:cloudtrail:us-east-1:123456789012:trail/b");
        assert_ne!(a, b);
        assert_eq!(a.len(), PREFIX.len() + 16);
        assert!(a.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'));
    }
}
