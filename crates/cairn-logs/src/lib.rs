//! CloudWatch Logs for cairn: log groups and streams, their events kept durably ([`store`]), metric filters, tags,
//! and the API over them ([`api`]); and the filter pattern language ([`pattern`]) that metric filters,
//! FilterLogEvents and TestMetricFilter use, parsed and checked as AWS checks it.

pub mod api;
pub mod fuzz;
mod metric_filters;
mod operation;
pub mod pattern;
pub mod store;

use std::path::Path;
use std::sync::Arc;

pub use api::Call;
pub use operation::{Operation, TARGET_PREFIX};
pub use pattern::{FilterPattern, LogEvent, Match, PatternKind};

/// A log group ARN's account, region and name (`arn:aws:logs:<region>:<account>:log-group:<name>[:*]`).
pub fn parse_group_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    (parts.len() == 7 && parts[0] == "arn" && parts[2] == "logs" && parts[5] == "log-group")
        .then(|| (parts[4], parts[3], parts[6].strip_suffix(":*").unwrap_or(parts[6])))
}

/// cairn's CloudWatch Logs: the store every operation works on, and the metrics its metric filters publish to.
#[derive(Debug)]
pub struct Logs {
    store: store::Store,
    metrics: Arc<cairn_metrics::Metrics>,
}

impl Logs {
    /// Opens (creating) the log data under `dir` (`<data>/logs`); metric filters publish to `metrics`.
    pub fn open(dir: &Path, metrics: Arc<cairn_metrics::Metrics>) -> Result<Logs> {
        Ok(Logs { store: store::Store::open(dir)?, metrics })
    }

    /// Publishes what the group's metric filters make of events it just took. A failure to publish is logged: the
    /// events are stored and acknowledged whatever happens to their metrics.
    fn publish(&self, group: &store::Group, events: &[(i64, &str)]) {
        let filters = self.filters(group);
        if !filters.is_empty() {
            self.put(group, &metric_filters::datapoints(group, &filters, events));
        }
    }

    /// A group's metric filters (none, logged, when they cannot be read: metrics are lost, events are not).
    fn filters(&self, group: &store::Group) -> Vec<store::MetricFilter> {
        self.store.metric_filters(Some(group.id)).unwrap_or_else(|e| {
            tracing::warn!(group = group.name, error = %e, "cannot read metric filters; no metrics published");
            Vec::new()
        })
    }

    fn put(&self, group: &store::Group, points: &[cairn_metrics::Datapoint]) {
        if let Err(e) = self.metrics.put(points) {
            tracing::warn!(group = group.name, error = %e, "cannot publish metric filter datapoints");
        }
    }

    /// Whether an account and region has a log group of this name.
    pub fn has_group(&self, account: &str, region: &str, name: &str) -> Result<bool> {
        Ok(self.store.group(account, region, name)?.is_some())
    }

    /// Delivers events (timestamp, message, position) from `source` into a group's stream (created if need be), as
    /// a trail sends its events by journal position: each position once, whatever replays. How many were new.
    pub fn deliver(
        &self,
        (account, region, group): (&str, &str, &str),
        stream: &str,
        source: &str,
        events: &[(i64, &str, u64)],
        now_ms: i64,
    ) -> Result<usize> {
        let g = self
            .store
            .group(account, region, group)?
            .ok_or_else(|| Error::GroupNotFound(format!("log group {group} does not exist in {account} {region}")))?;
        let filters = self.filters(&g);
        let all: Vec<(i64, &str)> = events.iter().map(|e| (e.0, e.1)).collect();
        // The metric filters match on a thread of their own while the events are stored: on the assumption, true
        // but after a crash, that every event is new.
        let (added, points) = std::thread::scope(|scope| {
            let matching =
                (!filters.is_empty()).then(|| scope.spawn(|| metric_filters::datapoints(&g, &filters, &all)));
            let added = self.store.deliver(g.id, stream, source, events, now_ms);
            (added, matching.map(|m| m.join().unwrap_or_default()))
        });
        let added = added?;
        let new: Vec<(i64, &str)> = all.iter().zip(&added).filter(|(_, a)| **a).map(|(e, _)| *e).collect();
        match points {
            Some(points) if new.len() == all.len() => self.put(&g, &points),
            Some(_) if !new.is_empty() => self.put(&g, &metric_filters::datapoints(&g, &filters, &new)),
            _ => {}
        }
        Ok(new.len())
    }

    /// Deletes the events each group's retention no longer keeps at `now_ms`; how many went.
    pub fn expire(&self, now_ms: i64) -> Result<usize> {
        self.store.expire(now_ms)
    }
}

/// Why a filter pattern is refused: AWS answers `InvalidParameterException` for every one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The pattern is over 1,024 characters.
    #[error("filter pattern is {0} characters, more than 1024")]
    TooLong(usize),
    /// The pattern does not parse or uses a form AWS does not support; the text says which part and why.
    #[error("invalid filter pattern: {0}")]
    Invalid(String),
    /// A log group something is delivered to does not exist (any more).
    #[error("{0}")]
    GroupNotFound(String),
    /// The log database failed.
    #[error("log storage: {0}")]
    Storage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn invalid<T>(message: impl Into<String>) -> Result<T> {
    Err(Error::Invalid(message.into()))
}
