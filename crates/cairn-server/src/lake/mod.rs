//! CloudTrail Lake: event data stores ([`stores`]), queries over them ([`queries`]), and the `lake` journal
//! consumer that fills them.
//!
//! The consumer reads every record and hands it to each store whose version in effect at the record's position
//! takes it (so a store receives events from the moment it was created or started, with the selectors it had when
//! each was recorded, the same way after a restart). The flusher writes the stores' tails to Parquet files and then
//! saves the checkpoint; housekeeping drops events past each store's retention and removes stores whose wait after
//! deletion is over.

pub(crate) mod access;
pub(crate) mod channels;
pub(crate) mod dashboards;
pub(crate) mod federation;
pub(crate) mod generate;
pub(crate) mod imports;
pub(crate) mod keys;
pub(crate) mod policies;
pub(crate) mod queries;
pub(crate) mod results;
pub(crate) mod samples;
pub(crate) mod stores;

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::{HashMap, HashSet};

use cairn_catalog::{ChannelVersion, StoreVersion};
use cairn_journal::Record;
use cairn_model::event::standard_sized;
use cairn_model::{EventDataStore, EventView};
use cairn_store::lake::TableKind;

use crate::{consumers, App};

/// The journal consumer name of the Lake.
pub(crate) const CONSUMER: &str = "lake";
/// How often retention and deletion are applied.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);
/// Longest a query waits for the Lake to catch up with the journal.
const CATCH_UP: Duration = Duration::from_secs(2);
const DAY_MS: i64 = 86_400_000;

/// The table kind of a store's events.
pub(crate) fn kind_of(store: &EventDataStore) -> TableKind {
    match store.sole_category() {
        Some("ActivityAuditLog") => TableKind::ActivityAuditLog,
        _ => TableKind::CloudTrail,
    }
}

/// One page of a listing in ARN order: at most `max` items after the ARN the token (issued with `prefix`) carries,
/// and the token of the next page when there is one.
pub(crate) fn page_by_arn<T>(
    items: impl Iterator<Item = T>,
    arn: impl Fn(&T) -> String,
    max: usize,
    prefix: &str,
    token: Option<&str>,
) -> cairn_api::Result<(Vec<T>, Option<String>)> {
    let after = token
        .map(|t| {
            cairn_api::token::decode(prefix, t).ok_or_else(|| {
                cairn_api::ApiError::new(cairn_api::ErrorCode::InvalidNextToken, "the pagination token is not valid")
            })
        })
        .transpose()?;
    let mut rest = items.filter(|i| after.as_deref().is_none_or(|a| arn(i).as_str() > a));
    let page: Vec<T> = rest.by_ref().take(max).collect();
    let next = match (rest.next(), page.last()) {
        (Some(_), Some(last)) => Some(cairn_api::token::encode(prefix, &arn(last))),
        _ => None,
    };
    Ok((page, next))
}

/// `MaxResults` as the model bounds it (1 to 1000, 1000 when not given), refused with a validation error.
pub(crate) fn max_results(given: Option<i64>) -> cairn_api::Result<usize> {
    match given {
        None => Ok(1000),
        Some(n) if (1..=1000).contains(&n) => Ok(n as usize),
        Some(n) => Err(cairn_api::ApiError::new(
            cairn_api::ErrorCode::Validation,
            format!("1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000"),
        )),
    }
}

/// Waits (at most [`CATCH_UP`]) until the Lake has applied every record committed before this call.
pub(crate) async fn catch_up(app: &App) {
    let target = app.log().committed();
    let mut applied = app.lake_applied.subscribe();
    if tokio::time::timeout(CATCH_UP, applied.wait_for(|a| *a >= target)).await.is_err() {
        tracing::warn!(target, applied = *applied.borrow(), "the Lake is behind the journal; querying what it has");
    }
}

/// Starts the Lake's consumer, its flusher and its housekeeping.
pub(crate) fn spawn(app: Arc<App>) -> Result<(), crate::Error> {
    for store in app.catalog.read(|s| s.stores().cloned().collect::<Vec<_>>()) {
        app.lake.declare(&store.id, kind_of(&store));
    }
    keys::refresh(&app);
    imports::Imports::load(&app);
    queries::restore(&app);
    let spec = consumers::Spec { name: CONSUMER.into(), start: 0, tick: Duration::from_secs(1) };
    let (from, progress) = consumers::register(&app.log(), &app.consumers, &app.clock, &spec)?;
    let sink = LakeSink { app: Arc::clone(&app), last_prune: Instant::now() };
    consumers::run(Arc::clone(&app.consumers), spec, from, progress.clone(), Box::new(sink));
    let a = Arc::clone(&app);
    crate::background("cairn-lake-flush", move || flusher(a, progress));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HOUSEKEEPING_EVERY);
        loop {
            tick.tick().await;
            let a = Arc::clone(&app);
            if let Err(e) = tokio::task::spawn_blocking(move || housekeeping(&a)).await {
                tracing::error!(error = %e, "Lake housekeeping panicked");
            }
        }
    });
    Ok(())
}

/// Starts the dashboard refreshes that are due; forgets queries past their 7 days; drops events past each store's
/// retention; removes stores whose wait after deletion is over, with their data.
pub(crate) fn housekeeping(app: &Arc<App>) {
    dashboards::run_schedules(app);
    queries::expire(app);
    let now = app.clock.now_millis();
    for store in app.catalog.read(|s| s.stores().cloned().collect::<Vec<_>>()) {
        let dropped = app.lake.expire(&store.id, now - i64::from(store.retention_period) * DAY_MS);
        if dropped > 0 {
            tracing::info!(store = store.id, files = dropped, "event data store dropped files past retention");
        }
    }
    for store in stores::purge_deleted(app, now) {
        match app.lake.remove(&store.id) {
            Ok(()) => tracing::info!(store = store.id, "event data store removed after its deletion wait"),
            Err(e) => tracing::error!(store = store.id, error = %e, "cannot remove an event data store's data"),
        }
    }
}

/// Hands each record to the stores that take it.
struct LakeSink {
    app: Arc<App>,
    last_prune: Instant,
}

/// The version of a store or channel in effect at `seq`.
fn in_effect<T>(versions: &[cairn_catalog::Version<T>], seq: u64) -> Option<&T> {
    versions.iter().rev().find(|(at, _)| *at <= seq).and_then(|(_, s)| s.as_deref())
}

/// A record of an event sent through a channel (PutAuditEvents): its channel and time.
fn activity_of(payload: &[u8]) -> Option<(String, i64)> {
    #[derive(serde::Deserialize)]
    struct Metadata {
        #[serde(rename = "channelARN")]
        channel_arn: String,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Activity {
        event_category: String,
        event_time: String,
        metadata: Metadata,
    }
    let a: Activity = serde_json::from_slice(payload).ok()?;
    let time = cairn_model::event::event_time_millis(&a.event_time)?;
    (a.event_category == "ActivityAuditLog").then_some((a.metadata.channel_arn, time))
}

#[async_trait::async_trait]
impl consumers::Sink for LakeSink {
    async fn apply(&mut self, records: &[Record]) -> Result<(), crate::Error> {
        let app = &self.app;
        // Read after the records: every version they fall under is in the catalog (see `Catalog::settled`).
        type Settled = (HashMap<String, Vec<StoreVersion>>, HashMap<String, Vec<ChannelVersion>>, HashSet<String>);
        let (stores, channels, large): Settled = app.catalog.settled(|_, s| {
            let stores: HashMap<String, Vec<StoreVersion>> =
                s.versioned_stores().map(|(a, v)| (a.to_string(), v.to_vec())).collect();
            // Stores of the Large event size (PutEventConfiguration) take events of up to 1 MB whole.
            let large = (stores.keys())
                .filter(|a| s.event_configuration(a).max_event_bytes() > cairn_model::event::STANDARD_EVENT_BYTES)
                .cloned()
                .collect();
            (stores, s.versioned_channels().map(|(a, v)| (a.to_string(), v.to_vec())).collect(), large)
        });
        if !stores.is_empty() {
            let in_org = |a: &str| app.organization_accounts.contains(a);
            for r in records {
                let Some(view) = EventView::parse(&r.payload) else {
                    // Events sent through a channel go to the channel's destinations.
                    let Some((channel, time)) = activity_of(&r.payload) else { continue };
                    let Some(channel) = channels.get(&channel).and_then(|v| in_effect(v, r.seq)) else { continue };
                    let record: Arc<[u8]> = Arc::from(&r.payload[..]);
                    for arn in &channel.destinations {
                        let Some(store) = stores.get(arn).and_then(|v| in_effect(v, r.seq)) else { continue };
                        if store.takes_activity() {
                            app.lake.insert(&store.id, kind_of(store), r.seq, time, Arc::clone(&record));
                        }
                    }
                    continue;
                };
                let Some(time) = view.event_time.as_deref().and_then(cairn_model::event::event_time_millis) else {
                    continue;
                };
                // The record whole, and as stores of the Standard size take it (the same when it fits).
                let mut whole: Option<Arc<[u8]>> = None;
                let mut standard: Option<Arc<[u8]>> = None;
                for (arn, v) in &stores {
                    let Some(store) = in_effect(v, r.seq) else { continue };
                    if !store.takes(&view, in_org) {
                        continue;
                    }
                    let whole = whole.get_or_insert_with(|| Arc::from(&r.payload[..]));
                    let record = if large.contains(arn) {
                        Arc::clone(whole)
                    } else {
                        let fitted = || standard_sized(whole).map_or_else(|| Arc::clone(whole), Arc::from);
                        Arc::clone(standard.get_or_insert_with(fitted))
                    };
                    app.lake.insert(&store.id, kind_of(store), r.seq, time, record);
                }
            }
        }
        if let Some(last) = records.last() {
            app.lake_applied.send_replace(last.seq + 1);
        }
        while app.lake.tail_size().1 >= app.settings.lake.flush_bytes.saturating_mul(2) {
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    async fn settle(&mut self, position: u64, _now_ms: i64) -> Result<Option<u64>, crate::Error> {
        self.app.lake_applied.send_if_modified(|a| {
            let advanced = position > *a;
            *a = (*a).max(position);
            advanced
        });
        if self.last_prune.elapsed() >= Duration::from_secs(60) {
            self.last_prune = Instant::now();
            let below = self.app.log().checkpoint(CONSUMER).unwrap_or(0);
            let (stores, channels): (Vec<String>, Vec<String>) = self.app.catalog.read(|s| {
                (
                    s.versioned_stores().map(|(a, _)| a.to_string()).collect(),
                    s.versioned_channels().map(|(a, _)| a.to_string()).collect(),
                )
            });
            let pruned = self.app.catalog.update::<_, ()>(|_, changes| {
                for arn in stores {
                    changes.prune_store_versions(arn, below);
                }
                for arn in channels {
                    changes.prune_channel_versions(arn, below);
                }
                Ok(())
            });
            if let Err(e) = pruned {
                tracing::warn!(error = %e, "cannot prune event data store and channel versions");
            }
        }
        Ok(None)
    }
}

/// Writes the tails to files (at `lake.flush_bytes`, or whatever they hold every `lake.flush_interval_seconds`),
/// then saves the checkpoint, then merges the small files of dates that gathered many.
async fn flusher(app: Arc<App>, progress: consumers::Progress) {
    let mut last_flush = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let applied = *app.lake_applied.borrow();
        let (events, bytes) = app.lake.tail_size();
        let checkpoint = app.log().checkpoint(CONSUMER).unwrap_or(0);
        let policy = &app.settings.lake;
        let every = Duration::from_secs(policy.flush_interval_seconds);
        let due =
            bytes >= policy.flush_bytes || (last_flush.elapsed() >= every && (events > 0 || applied > checkpoint));
        let flushed = {
            // Every tick, so that an idle store too forgets a data key KMS no longer lets CloudTrail use; a store
            // whose key cannot be used drops its events at the flush rather than write them in clear.
            let _gate = app.lake_keys.lock().unwrap_or_else(|e| e.into_inner());
            keys::refresh(&app);
            if !due {
                continue;
            }
            app.lake.flush(applied).map_err(crate::Error::from).and_then(|f| progress.durable(applied).map(|()| f))
        };
        match flushed {
            Ok(f) => {
                last_flush = Instant::now();
                if f.dropped > 0 {
                    app.lake_dropped.fetch_add(f.dropped as u64, std::sync::atomic::Ordering::Relaxed);
                }
                if f.events > 0 {
                    tracing::debug!(events = f.events, files = f.files, "Lake flushed");
                }
                if f.files > 0 {
                    // Every file is now below the saved checkpoint: dates that gathered many small files merge them.
                    // Outside engines read federated stores' files directly: those are left as they are.
                    let app = Arc::clone(&app);
                    let federated: std::collections::HashSet<String> = app.catalog.read(|s| {
                        s.stores().filter(|d| d.federation_role_arn.is_some()).map(|d| d.id.clone()).collect()
                    });
                    let compacted =
                        tokio::task::spawn_blocking(move || app.lake.compact(applied, |id| federated.contains(id)));
                    match compacted.await {
                        Ok(Ok(c)) if c.merged > 0 => {
                            tracing::debug!(merged = c.merged, written = c.written, "Lake compacted")
                        }
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::warn!(error = %e, "cannot compact Lake files; they stay as they are"),
                        Err(e) => tracing::warn!(error = %e, "the Lake compaction stopped"),
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "the Lake cannot write its files; keeping events in memory");
                progress.failed(format!("cannot write Lake files: {e}"));
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}
