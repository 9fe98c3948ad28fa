//! Trails that send their events to CloudWatch Logs: one journal consumer per such trail (`cwl-<hash of its ARN>`),
//! apart from its S3 delivery so that a refusing bucket does not hold back its log group, nor the reverse.
//!
//! Each event the trail selects while logging goes, as it is in the trail's log files (256 KB at most: larger ones
//! without their largest members), to the log group in `CloudWatchLogsLogGroupArn`, in the stream
//! `<account>_CloudTrail_<region>` of its account and region (`<organization id>_<account>_CloudTrail_<region>` for
//! an organization trail), with its `eventTime` as the log event's timestamp. Each log event carries its trail and
//! journal position, and the log store takes a position once: a consumer that replays after a crash sends nothing
//! twice, so its checkpoint advances as soon as a batch is stored.
//!
//! GetTrailStatus reports the latest delivery and the latest error. Events for a log group deleted since are not
//! sent (the journal is not held for them); a batch the log store fails to take is tried again.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_delivery::trail::effective;
use cairn_delivery::Version;
use cairn_journal::Record;
use cairn_model::event::standard_sized;
use cairn_model::EventView;

use crate::consumers;
use crate::App;

/// Consumer names of trails' CloudWatch Logs delivery start with this.
const PREFIX: &str = "cwl-";
const SUPERVISE_EVERY: Duration = Duration::from_millis(500);
/// How often a consumer forgets trail versions both of the trail's consumers have passed.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The journal consumer name of a trail's CloudWatch Logs delivery.
fn consumer_name(arn: &str) -> String {
    crate::delivery::named_for(PREFIX, arn)
}

/// Where a trail's versions may be pruned below, given one of its consumers' `below`: no further than its other
/// consumer has read (`None`: not now, its CloudWatch Logs consumer is yet to start from a version).
pub(crate) fn prune_floor(app: &App, arn: &str, below: u64) -> Option<u64> {
    let log = app.log();
    let s3 = log.checkpoint(&crate::delivery::consumer_name(arn));
    let cwl = log.checkpoint(&consumer_name(arn));
    let sends_logs = app.catalog.read(|s| {
        s.trail_versions(arn)
            .iter()
            .any(|(_, t)| t.as_ref().is_some_and(|t| t.cloud_watch_logs_log_group_arn.is_some()))
    });
    if sends_logs && cwl.is_none() {
        return None;
    }
    Some([Some(below), s3, cwl].into_iter().flatten().min().unwrap_or(below))
}

/// Checks a trail's CloudWatch Logs settings against cairn's own log groups, and registers its CloudWatch Logs
/// consumer at the journal's end before the trail is written, so that the journal keeps every record from the version
/// that sends them on. cairn has no IAM: the role is only checked to be a role of the trail's account.
pub(crate) fn check_trail(app: &App, trail: &cairn_model::Trail) -> Result<(), cairn_api::ApiError> {
    use cairn_api::{ApiError, ErrorCode};
    let (Some(group), Some(role)) = (&trail.cloud_watch_logs_log_group_arn, &trail.cloud_watch_logs_role_arn) else {
        return Ok(());
    };
    let trail_arn = trail.arn();
    let account = trail_arn.split(':').nth(4).unwrap_or_default();
    if role.split(':').nth(4) != Some(account) {
        return Err(ApiError::new(
            ErrorCode::InvalidCloudWatchLogsRoleArn,
            format!("Access denied. {role} is not a role of the trail's account {account}"),
        ));
    }
    let Some((group_account, region, name)) = cairn_logs::parse_group_arn(group) else {
        return Err(ApiError::new(
            ErrorCode::InvalidCloudWatchLogsLogGroupArn,
            format!("{group} is not a log group ARN"),
        ));
    };
    if group_account != account {
        return Err(ApiError::new(
            ErrorCode::InvalidCloudWatchLogsLogGroupArn,
            format!("log group {group} is not in the trail's account {account}"),
        ));
    }
    let exists = app.logs.has_group(group_account, region, name).map_err(|e| ApiError::internal(e.to_string()))?;
    if !exists {
        return Err(ApiError::new(
            ErrorCode::InvalidCloudWatchLogsLogGroupArn,
            format!("log group {name} does not exist in {region}"),
        ));
    }
    let log = app.log();
    log.register_consumer(&consumer_name(&trail_arn), log.committed()).map_err(|e| {
        tracing::error!(error = %e, "cannot register a trail's CloudWatch Logs consumer");
        ApiError::new(ErrorCode::CloudWatchLogsDeliveryUnavailable, "CloudWatch Logs delivery cannot start now")
    })?;
    Ok(())
}

/// What GetTrailStatus reports of a trail's CloudWatch Logs delivery.
#[derive(Debug, Clone, Default)]
pub struct LogsDeliveryStatus {
    pub latest_delivery_ms: Option<i64>,
    pub latest_error: Option<String>,
}

/// CloudWatch Logs delivery of every trail that has it, by ARN.
#[derive(Debug, Default)]
pub struct LogsDeliveries {
    statuses: Mutex<BTreeMap<String, LogsDeliveryStatus>>,
    running: Mutex<BTreeMap<String, consumers::Handle>>,
}

impl LogsDeliveries {
    pub fn status(&self, arn: &str) -> LogsDeliveryStatus {
        self.statuses.lock().unwrap_or_else(|e| e.into_inner()).get(arn).cloned().unwrap_or_default()
    }

    fn set(&self, arn: &str, f: impl FnOnce(&mut LogsDeliveryStatus)) {
        f(self.statuses.lock().unwrap_or_else(|e| e.into_inner()).entry(arn.to_string()).or_default());
    }
}

/// Starts the supervisor on the current runtime.
pub(crate) fn spawn(app: Arc<App>) {
    tokio::spawn(async move {
        let mut rounds = 0u64;
        loop {
            // Now and then: a consumer registered for a trail change that did not happen holds no records back.
            if rounds.is_multiple_of(120) {
                remove_orphans(&app);
            }
            rounds += 1;
            supervise(&app);
            tokio::time::sleep(SUPERVISE_EVERY).await;
        }
    });
}

/// Removes the consumers of trails that have no version sending to CloudWatch Logs (deleted trails, or a change
/// that was refused after its consumer was registered), unless one runs.
fn remove_orphans(app: &App) {
    let known: HashSet<String> = app.catalog.read(|s| {
        s.versioned_trails()
            .filter(|(_, v)| {
                v.iter().any(|(_, t)| t.as_ref().is_some_and(|t| t.cloud_watch_logs_log_group_arn.is_some()))
            })
            .map(|(arn, _)| consumer_name(arn))
            .collect()
    });
    let running: HashSet<String> = app
        .logs_deliveries
        .running
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .keys()
        .map(|a| consumer_name(a))
        .collect();
    for name in app.log().consumers() {
        if name.starts_with(PREFIX) && !known.contains(&name) && !running.contains(&name) {
            if let Err(e) = app.log().remove_consumer(&name) {
                tracing::error!(consumer = name, error = %e, "cannot remove an orphaned CloudWatch Logs consumer");
            }
        }
    }
}

/// Starts a consumer for each trail that has sent, or sends, its events to CloudWatch Logs, from the first version
/// that does.
fn supervise(app: &Arc<App>) {
    let trails: Vec<(String, u64)> = app.catalog.read(|s| {
        s.versioned_trails()
            .filter_map(|(arn, versions)| {
                let first = versions
                    .iter()
                    .find(|(_, t)| t.as_ref().is_some_and(|t| t.cloud_watch_logs_log_group_arn.is_some()));
                first.map(|(at, _)| (arn.to_string(), *at))
            })
            .collect()
    });
    let mut running = app.logs_deliveries.running.lock().unwrap_or_else(|e| e.into_inner());
    running.retain(|_, h| h.is_running());
    for (arn, start) in trails {
        if running.contains_key(&arn) {
            continue;
        }
        let name = consumer_name(&arn);
        let spec = consumers::Spec { name: name.clone(), start, tick: Duration::from_millis(250) };
        match consumers::register(&app.log(), &app.consumers, &app.clock, &spec) {
            Ok((from, progress)) => {
                let sink = LogsSink {
                    app: Arc::clone(app),
                    arn: arn.clone(),
                    versions: Vec::new(),
                    last_prune: Instant::now(),
                };
                let handle = consumers::run(Arc::clone(&app.consumers), spec, from, progress, Box::new(sink));
                running.insert(arn, handle);
            }
            Err(e) => tracing::error!(trail = arn, error = %e, "cannot start the trail's CloudWatch Logs delivery"),
        }
    }
}

struct LogsSink {
    app: Arc<App>,
    arn: String,
    versions: Vec<Version>,
    last_prune: Instant,
}

#[async_trait::async_trait]
impl consumers::Sink for LogsSink {
    async fn apply(&mut self, records: &[Record]) -> Result<(), crate::Error> {
        // Read after the records: every version they fall under is in the catalog.
        self.versions = self.app.catalog.settled(|_, s| s.trail_versions(&self.arn).to_vec());
        let orgs = Arc::clone(&self.app.organization_accounts);
        // (group ARN, stream) -> events.
        let mut batches: BTreeMap<(String, String), Vec<(i64, Vec<u8>, u64)>> = BTreeMap::new();
        for r in records {
            let Some(trail) = effective(&self.versions, r.seq) else { continue };
            let Some(group) = trail.cloud_watch_logs_log_group_arn.clone() else { continue };
            if !trail.logging.is_logging {
                continue;
            }
            let Some(event) = EventView::parse(&r.payload) else { continue };
            if !trail.takes(&event, |a| orgs.contains(a)) {
                continue;
            }
            let Some(time) = event.event_time.as_deref().and_then(cairn_model::event::event_time_millis) else {
                continue;
            };
            let account = &event.recipient_account_id;
            let stream = match &trail.organization_id {
                Some(org) => format!("{org}_{account}_CloudTrail_{}", event.aws_region),
                None => format!("{account}_CloudTrail_{}", event.aws_region),
            };
            let message = standard_sized(&r.payload).unwrap_or_else(|| r.payload.to_vec());
            batches.entry((group, stream)).or_default().push((time, message, r.seq));
        }
        if batches.is_empty() {
            return Ok(());
        }
        let app = Arc::clone(&self.app);
        let arn = self.arn.clone();
        let source = self.arn.clone();
        // A group that does not exist (deleted since the trail was set up) loses these events, as AWS's would, with
        // the error reported; a failing store is retried with the same records.
        let result = tokio::task::spawn_blocking(move || -> Result<Option<String>, String> {
            let now = app.clock.now_millis();
            let mut lost = None;
            for ((group, stream), events) in &batches {
                let Some((account, region, name)) = cairn_logs::parse_group_arn(group) else {
                    lost = Some(format!("{group} is not a log group ARN"));
                    continue;
                };
                let events: Vec<(i64, &str, u64)> =
                    events.iter().map(|(t, m, p)| (*t, std::str::from_utf8(m).unwrap_or_default(), *p)).collect();
                match app.logs.deliver((account, region, name), stream, &source, &events, now) {
                    Ok(_) => {}
                    Err(cairn_logs::Error::GroupNotFound(why)) => {
                        lost = Some(format!("cannot deliver {} events to CloudWatch Logs: {why}", events.len()));
                    }
                    Err(e) => return Err(format!("cannot deliver to CloudWatch Logs log group {name}: {e}")),
                }
            }
            Ok(lost)
        })
        .await
        .map_err(|e| crate::Error::LogsDelivery(format!("CloudWatch Logs delivery task failed: {e}")))?;
        let now = self.app.clock.now_millis();
        match result {
            Ok(None) => {
                self.app.logs_deliveries.set(&arn, |s| {
                    s.latest_delivery_ms = Some(now);
                    s.latest_error = None;
                });
                Ok(())
            }
            Ok(Some(lost)) => {
                tracing::warn!(trail = arn, error = lost, "CloudWatch Logs delivery failed; the events are not sent");
                self.app.logs_deliveries.set(&arn, |s| s.latest_error = Some(lost));
                Ok(())
            }
            Err(why) => {
                tracing::warn!(trail = arn, error = why, "CloudWatch Logs delivery failed; retrying");
                self.app.logs_deliveries.set(&arn, |s| s.latest_error = Some(why.clone()));
                Err(crate::Error::LogsDelivery(why))
            }
        }
    }

    async fn settle(&mut self, position: u64, _now_ms: i64) -> Result<Option<u64>, crate::Error> {
        if self.last_prune.elapsed() >= PRUNE_EVERY {
            self.last_prune = Instant::now();
            crate::delivery::prune_versions(&self.app, &self.arn, position);
        }
        Ok(Some(position))
    }
}
