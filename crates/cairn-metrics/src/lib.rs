//! CloudWatch metrics for cairn: what metric filters (and, later, PutMetricData) publish, kept in one SQLite
//! database (`<data>/metrics/metrics.sqlite`, WAL).
//!
//! A metric is an account, region, namespace, name and set of dimensions (a *series*). Each datapoint is added to
//! the statistic set (sample count, sum, minimum, maximum) of its minute, of its 5 minutes and of its hour, and to
//! the series' running totals. CloudWatch's retention applies by resolution: minutes are kept 15 days, 5-minute
//! periods 63 days, hours 455 days ([`Metrics::expire`], on the clock). The totals never expire: they are what
//! `/metrics` exposes to Prometheus as counters.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

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

/// One value published for a metric at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Datapoint {
    pub series: Series,
    pub timestamp_ms: i64,
    pub value: f64,
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

#[derive(Debug)]
pub struct Metrics {
    conn: Mutex<Connection>,
}

impl Metrics {
    pub fn open(dir: &Path) -> Result<Metrics> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Storage(format!("creating {}: {e}", dir.display())))?;
        let conn = Connection::open(dir.join("metrics.sqlite")).map_err(db)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;").map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Metrics { conn: Mutex::new(conn) })
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
            tx.prepare_cached(
                "INSERT INTO series (account, region, namespace, name, dimensions, unit, samples, total) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7) ON CONFLICT (account, region, namespace, name, dimensions, unit) \
                 DO UPDATE SET samples = samples + 1, total = total + excluded.total",
            )
            .and_then(|mut st| st.execute(params![s.account, s.region, s.namespace, s.name, dims, unit, p.value]))
            .map_err(db)?;
            let id: i64 = tx
                .prepare_cached(
                    "SELECT id FROM series WHERE account = ?1 AND region = ?2 AND namespace = ?3 AND name = ?4 \
                     AND dimensions = ?5 AND unit = ?6",
                )
                .and_then(|mut st| {
                    st.query_row(params![s.account, s.region, s.namespace, s.name, dims, unit], |r| r.get(0))
                })
                .map_err(db)?;
            for (period, _) in RESOLUTIONS {
                let start = p.timestamp_ms.div_euclid(period * 1000) * period * 1000;
                tx.prepare_cached(
                    "INSERT INTO points (series_id, period, start_ms, sample_count, sum, minimum, maximum) \
                     VALUES (?1, ?2, ?3, 1, ?4, ?4, ?4) ON CONFLICT (series_id, period, start_ms) DO UPDATE SET \
                     sample_count = sample_count + 1, sum = sum + excluded.sum, \
                     minimum = min(minimum, excluded.minimum), maximum = max(maximum, excluded.maximum)",
                )
                .and_then(|mut st| st.execute(params![id, period, start, p.value]))
                .map_err(db)?;
            }
        }
        tx.commit().map_err(db)
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
        let point =
            |offset_s: i64, value: f64| Datapoint { series: s.clone(), timestamp_ms: t0 + offset_s * 1000, value };
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
        assert_eq!(m.expire(t0 + 16 * DAY_MS).unwrap(), 3);
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
