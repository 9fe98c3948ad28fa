//! CloudWatch metrics for cairn: what metric filters and PutMetricData publish, kept in one SQLite database
//! (`<data>/metrics/metrics.sqlite`, WAL).
//!
//! A metric is an account, region, namespace, name and set of dimensions; with a unit it is a *series*. Each
//! datapoint is added to the statistic set (sample count, sum, minimum, maximum) of its minute, of its 5 minutes and
//! of its hour, and to the series' running totals; datapoints published as values (not as statistic sets) also keep
//! each distinct value with its count per minute, for percentiles. CloudWatch's retention applies by resolution:
//! minutes (and values) are kept 15 days, 5-minute periods 63 days, hours 455 days ([`Metrics::expire`], on the
//! clock). The totals never expire: they are what `/metrics` exposes to Prometheus as counters.

mod query;

pub use query::{MetricId, Period};

use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock};

use rusqlite::{params, Connection};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("metric storage: {0}")]
    Storage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn db(e: rusqlite::Error) -> Error {
    Error::Storage(e.to_string())
}

/// Resolutions kept, in seconds, with how long (ms) each is kept.
pub const RESOLUTIONS: [(i64, i64); 3] = [(60, 15 * DAY_MS), (300, 63 * DAY_MS), (3600, 455 * DAY_MS)];
const DAY_MS: i64 = 86_400_000;

/// What was published for a metric at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Datapoint {
    pub series: Series,
    pub timestamp_ms: i64,
    pub values: Values,
}

/// CloudWatch's standard units (what PutMetricData, alarms and metric filters may name).
pub const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// A datapoint's content, in PutMetricData's three forms.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// One value.
    One(f64),
    /// Values, each with how many times it occurred.
    Counted(Vec<(f64, f64)>),
    /// A statistic set: sample count, sum, minimum, maximum. Percentiles cannot be computed from it.
    Set { sample_count: f64, sum: f64, minimum: f64, maximum: f64 },
}

impl Values {
    /// The statistic set of these values: sample count, sum, minimum, maximum.
    pub fn statistics(&self) -> (f64, f64, f64, f64) {
        match self {
            Values::One(v) => (1.0, *v, *v, *v),
            Values::Counted(vs) => {
                vs.iter().fold((0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY), |(n, s, lo, hi), (v, c)| {
                    (n + c, s + v * c, lo.min(*v), hi.max(*v))
                })
            }
            Values::Set { sample_count, sum, minimum, maximum } => (*sample_count, *sum, *minimum, *maximum),
        }
    }

    fn raw(&self) -> &[(f64, f64)] {
        match self {
            Values::Counted(vs) => vs,
            _ => &[],
        }
    }
}

/// What identifies a metric: dimensions are sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Series {
    pub account: String,
    pub region: String,
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
    pub unit: Option<String>,
}

impl Series {
    /// The dimensions as labelled: `name=value` pairs, sorted by name, comma-separated.
    pub fn dimensions_text(&self) -> String {
        self.sorted().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
    }

    fn sorted(&self) -> Vec<(String, String)> {
        let mut d = self.dimensions.clone();
        d.sort();
        d
    }

    /// The dimensions as stored: a JSON array of sorted pairs, whatever characters names and values hold.
    fn dimensions_key(&self) -> String {
        serde_json::to_string(&self.sorted()).unwrap_or_default()
    }
}

/// A period's statistic set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Statistics {
    pub start_ms: i64,
    pub sample_count: f64,
    pub sum: f64,
    pub minimum: f64,
    pub maximum: f64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    unit TEXT NOT NULL,
    samples REAL NOT NULL DEFAULT 0,
    total REAL NOT NULL DEFAULT 0,
    UNIQUE (account, region, namespace, name, dimensions, unit)
);
CREATE TABLE IF NOT EXISTS samples (
    series_id INTEGER NOT NULL REFERENCES series(id),
    start_ms INTEGER NOT NULL,
    value REAL NOT NULL,
    count REAL NOT NULL,
    PRIMARY KEY (series_id, start_ms, value)
);
CREATE TABLE IF NOT EXISTS points (
    series_id INTEGER NOT NULL REFERENCES series(id),
    period INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    sample_count REAL NOT NULL,
    sum REAL NOT NULL,
    minimum REAL NOT NULL,
    maximum REAL NOT NULL,
    PRIMARY KEY (series_id, period, start_ms)
);
";

pub struct Metrics {
    conn: Mutex<Connection>,
    on_put: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("listening", &self.on_put.get().is_some()).finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn open(dir: &Path) -> Result<Metrics> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Storage(format!("creating {}: {e}", dir.display())))?;
        let conn = Connection::open(dir.join("metrics.sqlite")).map_err(db)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;").map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Metrics { conn: Mutex::new(conn), on_put: OnceLock::new() })
    }

    /// Calls `f` after every put that stored datapoints (the server wakes alarm evaluation with it); set once.
    pub fn on_put(&self, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.on_put.set(Box::new(f));
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds datapoints to their periods and their series' totals, in one transaction.
    pub fn put(&self, points: &[Datapoint]) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        for p in points {
            let s = &p.series;
            let (dims, unit) = (s.dimensions_key(), s.unit.clone().unwrap_or_else(|| "None".into()));
            let (count, sum, min, max) = p.values.statistics();
            if count <= 0.0 {
                continue;
            }
            let id: i64 = tx
                .prepare_cached(
                    "INSERT INTO series (account, region, namespace, name, dimensions, unit, samples, total) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (account, region, namespace, name, dimensions, unit) \
                     DO UPDATE SET samples = samples + excluded.samples, total = total + excluded.total RETURNING id",
                )
                .and_then(|mut st| {
                    st.query_row(params![s.account, s.region, s.namespace, s.name, dims, unit, count, sum], |r| r.get(0))
                })
                .map_err(db)?;
            for (period, _) in RESOLUTIONS {
                let start = p.timestamp_ms.div_euclid(period * 1000) * period * 1000;
                tx.prepare_cached(
                    "INSERT INTO points (series_id, period, start_ms, sample_count, sum, minimum, maximum) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (series_id, period, start_ms) DO UPDATE SET \
                     sample_count = sample_count + excluded.sample_count, sum = sum + excluded.sum, \
                     minimum = min(minimum, excluded.minimum), maximum = max(maximum, excluded.maximum)",
                )
                .and_then(|mut st| st.execute(params![id, period, start, count, sum, min, max]))
                .map_err(db)?;
            }
            let minute = p.timestamp_ms.div_euclid(60_000) * 60_000;
            let one = [(sum, 1.0)];
            let raw = if let Values::One(_) = p.values { &one[..] } else { p.values.raw() };
            for (value, n) in raw {
                tx.prepare_cached(
                    "INSERT INTO samples (series_id, start_ms, value, count) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (series_id, start_ms, value) DO UPDATE SET count = count + excluded.count",
                )
                .and_then(|mut st| st.execute(params![id, minute, value, n]))
                .map_err(db)?;
            }
        }
        tx.commit().map_err(db)?;
        drop(conn);
        if let Some(f) = self.on_put.get() {
            f();
        }
        Ok(())
    }

    /// A series' statistic sets of `period` seconds (60, 300 or 3600) starting in [start_ms, end_ms), in time order.
    pub fn statistics(&self, series: &Series, period: i64, start_ms: i64, end_ms: i64) -> Result<Vec<Statistics>> {
        let unit = series.unit.clone().unwrap_or_else(|| "None".into());
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT p.start_ms, p.sample_count, p.sum, p.minimum, p.maximum FROM points p JOIN series s ON s.id = p.series_id \
                 WHERE s.account = ?1 AND s.region = ?2 AND s.namespace = ?3 AND s.name = ?4 AND s.dimensions = ?5 \
                 AND s.unit = ?6 AND p.period = ?7 AND p.start_ms >= ?8 AND p.start_ms < ?9 ORDER BY p.start_ms",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(
                params![
                    series.account,
                    series.region,
                    series.namespace,
                    series.name,
                    series.dimensions_key(),
                    unit,
                    period,
                    start_ms,
                    end_ms
                ],
                |r| {
                    Ok(Statistics {
                        start_ms: r.get(0)?,
                        sample_count: r.get(1)?,
                        sum: r.get(2)?,
                        minimum: r.get(3)?,
                        maximum: r.get(4)?,
                    })
                },
            )
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    /// Every series with its running sample count and sum.
    pub fn totals(&self) -> Result<Vec<(Series, f64, f64)>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT account, region, namespace, name, dimensions, unit, samples, total FROM series \
                 ORDER BY account, region, namespace, name, dimensions",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([], |r| {
                let dims: String = r.get(4)?;
                let unit: String = r.get(5)?;
                let dimensions = serde_json::from_str(&dims).unwrap_or_default();
                let series = Series {
                    account: r.get(0)?,
                    region: r.get(1)?,
                    namespace: r.get(2)?,
                    name: r.get(3)?,
                    dimensions,
                    unit: (unit != "None").then_some(unit),
                };
                Ok((series, r.get(6)?, r.get(7)?))
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    /// Deletes the periods each resolution no longer keeps at `now_ms`; how many went.
    pub fn expire(&self, now_ms: i64) -> Result<usize> {
        let conn = self.conn();
        let mut gone = 0;
        gone +=
            conn.execute("DELETE FROM samples WHERE start_ms < ?1", params![now_ms - RESOLUTIONS[0].1]).map_err(db)?;
        for (period, keep) in RESOLUTIONS {
            gone += conn
                .execute("DELETE FROM points WHERE period = ?1 AND start_ms < ?2", params![period, now_ms - keep])
                .map_err(db)?;
        }
        Ok(gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(dims: &[(&str, &str)]) -> Series {
        Series {
            account: "111111111111".into(),
            region: "eu-west-1".into(),
            namespace: "CloudTrailMetrics".into(),
            name: "UnauthorizedAPICalls".into(),
            dimensions: dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            unit: None,
        }
    }

    #[test]
    fn datapoints_aggregate_per_period_and_expire_by_resolution() {
        let dir = std::env::temp_dir().join(format!("cairn-metrics-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let m = Metrics::open(&dir).unwrap();
        let s = series(&[("b", "2"), ("a", "1")]);
        // On the hour.
        let t0 = 1_800_000_000_000i64;
        let point = |offset_s: i64, value: f64| Datapoint {
            series: s.clone(),
            timestamp_ms: t0 + offset_s * 1000,
            values: Values::One(value),
        };
        m.put(&[point(0, 1.0), point(30, 3.0), point(61, 5.0), point(400, 2.0)]).unwrap();
        // The same series however its dimensions are ordered.
        let reordered = series(&[("a", "1"), ("b", "2")]);
        let minutes = m.statistics(&reordered, 60, t0, t0 + 3_600_000).unwrap();
        let shape: Vec<(i64, f64, f64, f64, f64)> =
            minutes.iter().map(|p| ((p.start_ms - t0) / 1000, p.sample_count, p.sum, p.minimum, p.maximum)).collect();
        assert_eq!(shape, [(0, 2.0, 4.0, 1.0, 3.0), (60, 1.0, 5.0, 5.0, 5.0), (360, 1.0, 2.0, 2.0, 2.0)]);
        let fives = m.statistics(&s, 300, t0, t0 + 3_600_000).unwrap();
        assert_eq!(fives.iter().map(|p| p.sum).collect::<Vec<_>>(), [9.0, 2.0]);
        let hours = m.statistics(&s, 3600, t0, t0 + 3_600_000).unwrap();
        assert_eq!((hours[0].sample_count, hours[0].sum, hours[0].minimum, hours[0].maximum), (4.0, 11.0, 1.0, 5.0));
        assert!(m.statistics(&series(&[]), 60, t0, t0 + 3_600_000).unwrap().is_empty());

        // 16 days on, the minutes are gone, the 5-minute and hourly periods stay; totals never go.
        assert_eq!(m.expire(t0 + 16 * DAY_MS).unwrap(), 3 + 4);
        assert!(m.statistics(&s, 60, t0, t0 + 3_600_000).unwrap().is_empty());
        assert_eq!(m.statistics(&s, 300, t0, t0 + 3_600_000).unwrap().len(), 2);
        assert_eq!(m.expire(t0 + 456 * DAY_MS).unwrap(), 3);
        let totals = m.totals().unwrap();
        assert_eq!(totals.len(), 1);
        assert_eq!((totals[0].0.dimensions_text(), totals[0].1, totals[0].2), ("a=1,b=2".to_string(), 4.0, 11.0));
        drop(m);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
