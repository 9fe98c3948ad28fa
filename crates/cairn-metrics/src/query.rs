//! Reading metrics back: which metrics exist (ListMetrics), and a metric's statistic sets over periods of any
//! multiple of a minute, with the values behind them when percentiles are asked for.

use std::collections::BTreeMap;

use rusqlite::params;

use crate::{db, Metrics, Result, RESOLUTIONS};

/// A metric as CloudWatch names it: the series without its unit. Dimensions are sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetricId {
    pub account: String,
    pub region: String,
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
}

impl MetricId {
    fn dimensions_key(&self) -> String {
        let mut d = self.dimensions.clone();
        d.sort();
        serde_json::to_string(&d).unwrap_or_default()
    }
}

/// One period of a metric: its statistic set, the unit its datapoints had (when they all had one), and, when asked
/// for and kept, each distinct value with its count.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub start_ms: i64,
    pub sample_count: f64,
    pub sum: f64,
    pub minimum: f64,
    pub maximum: f64,
    pub unit: Option<String>,
    pub values: Vec<(f64, f64)>,
}

impl Period {
    /// The `p`th percentile (0 to 100) of the period's values by nearest rank; none when values were not kept.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let total: f64 = self.values.iter().map(|(_, c)| c).sum();
        if self.values.is_empty() || total <= 0.0 {
            return None;
        }
        let mut sorted = self.values.clone();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let rank = (p / 100.0 * total).ceil().max(1.0);
        let mut seen = 0.0;
        for (v, c) in &sorted {
            seen += c;
            if seen >= rank {
                return Some(*v);
            }
        }
        sorted.last().map(|(v, _)| *v)
    }
}

/// A dimension filter of ListMetrics: a name, and a value unless any value matches.
pub type DimensionFilter = (String, Option<String>);

impl Metrics {
    /// The metrics of an account and region matching the filters, in name order; `active_since` keeps only those
    /// with a datapoint at or after that time.
    pub fn list(
        &self,
        account: &str,
        region: &str,
        namespace: Option<&str>,
        name: Option<&str>,
        dimensions: &[DimensionFilter],
        active_since: Option<i64>,
    ) -> Result<Vec<MetricId>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT s.namespace, s.name, s.dimensions FROM series s WHERE s.account = ?1 AND s.region = ?2 \
                 AND (?3 IS NULL OR s.namespace = ?3) AND (?4 IS NULL OR s.name = ?4) AND (?5 IS NULL OR EXISTS \
                 (SELECT 1 FROM points p WHERE p.series_id = s.id AND p.period = 60 AND p.start_ms >= ?5)) \
                 ORDER BY s.namespace, s.name, s.dimensions",
            )
            .map_err(db)?;
        let since = active_since.map(|t| t.div_euclid(60_000) * 60_000);
        let rows = stmt
            .query_map(params![account, region, namespace, name, since], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (namespace, name, dims) = row.map_err(db)?;
            let dims: Vec<(String, String)> = serde_json::from_str(&dims).unwrap_or_default();
            let matches = dimensions
                .iter()
                .all(|(n, v)| dims.iter().any(|(dn, dv)| dn == n && v.as_ref().is_none_or(|v| v == dv)));
            if matches {
                out.push(MetricId {
                    account: account.to_string(),
                    region: region.to_string(),
                    namespace,
                    name,
                    dimensions: dims,
                });
            }
        }
        Ok(out)
    }

    /// A metric's periods of `period_s` seconds (a multiple of 60) from `start_ms` (rounded down to the stored
    /// resolution) to before `end_ms`, only those with datapoints, in time order. Without `unit` every unit's
    /// datapoints count. The stored resolution is the finest that divides the period and still covers `start_ms`
    /// at `now_ms`, so older ranges are answered from 5-minute or hourly sets as CloudWatch does.
    #[allow(clippy::too_many_arguments)]
    pub fn periods(
        &self,
        metric: &MetricId,
        unit: Option<&str>,
        start_ms: i64,
        end_ms: i64,
        period_s: i64,
        now_ms: i64,
        with_values: bool,
    ) -> Result<Vec<Period>> {
        let dividing: Vec<(i64, i64)> = RESOLUTIONS.iter().copied().filter(|(r, _)| period_s % r == 0).collect();
        let Some(&(resolution, _)) = dividing.iter().find(|(_, keep)| start_ms >= now_ms - keep).or(dividing.last())
        else {
            return Ok(Vec::new());
        };
        let (period_ms, res_ms) = (period_s * 1000, resolution * 1000);
        let origin = start_ms.div_euclid(res_ms) * res_ms;
        let bucket = |t: i64| origin + (t - origin).div_euclid(period_ms) * period_ms;
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT p.start_ms, p.sample_count, p.sum, p.minimum, p.maximum, s.unit, s.id FROM points p \
                 JOIN series s ON s.id = p.series_id WHERE s.account = ?1 AND s.region = ?2 AND s.namespace = ?3 \
                 AND s.name = ?4 AND s.dimensions = ?5 AND (?6 IS NULL OR s.unit = ?6) AND p.period = ?7 \
                 AND p.start_ms >= ?8 AND p.start_ms < ?9 ORDER BY p.start_ms",
            )
            .map_err(db)?;
        let key = metric.dimensions_key();
        let args = params![
            metric.account,
            metric.region,
            metric.namespace,
            metric.name,
            key,
            unit,
            resolution,
            origin,
            end_ms
        ];
        let rows = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    [r.get::<_, f64>(1)?, r.get(2)?, r.get(3)?, r.get(4)?],
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })
            .map_err(db)?;
        let mut periods: BTreeMap<i64, Period> = BTreeMap::new();
        let mut ids = Vec::new();
        for row in rows {
            let (at, [n, sum, lo, hi], u, id) = row.map_err(db)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
            let u = (u != "None").then_some(u);
            let start = bucket(at);
            let p = periods.entry(start).or_insert(Period {
                start_ms: start,
                sample_count: 0.0,
                sum: 0.0,
                minimum: f64::INFINITY,
                maximum: f64::NEG_INFINITY,
                unit: u.clone(),
                values: Vec::new(),
            });
            p.sample_count += n;
            p.sum += sum;
            p.minimum = p.minimum.min(lo);
            p.maximum = p.maximum.max(hi);
            if p.unit != u {
                p.unit = None;
            }
        }
        if with_values && resolution == 60 {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT start_ms, value, count FROM samples WHERE series_id = ?1 AND start_ms >= ?2 AND start_ms < ?3",
                )
                .map_err(db)?;
            for id in ids {
                let rows = stmt
                    .query_map(params![id, origin, end_ms], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)))
                    .map_err(db)?;
                for row in rows {
                    let (at, v, c): (i64, f64, f64) = row.map_err(db)?;
                    if let Some(p) = periods.get_mut(&bucket(at)) {
                        p.values.push((v, c));
                    }
                }
            }
        }
        Ok(periods.into_values().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Datapoint, Series, Values};

    #[test]
    fn periods_aggregate_across_minutes_units_and_keep_values_for_percentiles() {
        let dir = std::env::temp_dir().join(format!("cairn-metrics-q-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let m = Metrics::open(&dir).unwrap();
        let series = |unit: Option<&str>, dims: &[(&str, &str)]| Series {
            account: "1".into(),
            region: "r".into(),
            namespace: "App".into(),
            name: "Latency".into(),
            dimensions: dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            unit: unit.map(str::to_string),
        };
        let t0 = 1_800_000_000_000i64;
        let s = series(Some("Milliseconds"), &[("Host", "a")]);
        let values: Vec<(f64, f64)> = (1..=100).map(|v| (v as f64, 1.0)).collect();
        m.put(&[
            Datapoint { series: s.clone(), timestamp_ms: t0, values: Values::Counted(values) },
            Datapoint { series: s.clone(), timestamp_ms: t0 + 90_000, values: Values::One(500.0) },
            Datapoint {
                series: series(Some("Seconds"), &[("Host", "a")]),
                timestamp_ms: t0 + 200_000,
                values: Values::Set { sample_count: 2.0, sum: 4.0, minimum: 1.0, maximum: 3.0 },
            },
            Datapoint { series: series(None, &[("Host", "b")]), timestamp_ms: t0, values: Values::One(1.0) },
        ])
        .unwrap();
        let id = MetricId {
            account: "1".into(),
            region: "r".into(),
            namespace: "App".into(),
            name: "Latency".into(),
            dimensions: vec![("Host".into(), "a".into())],
        };
        // One 5-minute period over every unit: 100 values, then 500, then a statistic set.
        let all = m.periods(&id, None, t0, t0 + 300_000, 300, t0, true).unwrap();
        assert_eq!(all.len(), 1);
        let p = &all[0];
        assert_eq!((p.sample_count, p.sum, p.minimum, p.maximum), (103.0, 5050.0 + 500.0 + 4.0, 1.0, 500.0));
        assert_eq!(p.unit, None, "two units");
        assert_eq!(p.percentile(50.0), Some(51.0));
        assert_eq!(p.percentile(100.0), Some(500.0));
        assert_eq!(p.percentile(0.0), Some(1.0));
        // Minutes of one unit.
        let ms = m.periods(&id, Some("Milliseconds"), t0, t0 + 300_000, 60, t0, false).unwrap();
        assert_eq!(
            ms.iter().map(|p| (p.start_ms - t0, p.sample_count)).collect::<Vec<_>>(),
            [(0, 100.0), (60_000, 1.0)]
        );
        assert_eq!(ms[0].unit.as_deref(), Some("Milliseconds"));
        assert!(ms[0].values.is_empty(), "values only when asked for");
        // 20 days on, 1-minute sets are no longer the source: the 5-minute ones answer.
        m.expire(t0 + 20 * 86_400_000).unwrap();
        let old = m.periods(&id, None, t0, t0 + 600_000, 300, t0 + 20 * 86_400_000, true).unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].percentile(50.0), None, "values are kept as long as minutes");

        let listed = m.list("1", "r", Some("App"), None, &[("Host".into(), None)], None).unwrap();
        assert_eq!(listed.len(), 2, "two hosts, units folded");
        let b = m.list("1", "r", None, Some("Latency"), &[("Host".into(), Some("b".into()))], None).unwrap();
        assert_eq!(b[0].dimensions, [("Host".to_string(), "b".to_string())]);
        assert!(m.list("1", "r", None, None, &[], Some(t0 + 86_400_000)).unwrap().is_empty());
        drop(m);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
