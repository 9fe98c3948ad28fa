//! SNS's HTTP delivery policy: how many times and how far apart a failed delivery is retried. The default is SNS's
//! (3 retries, 20 seconds apart); a topic's `DeliveryPolicy` (`http.defaultHealthyRetryPolicy`) or a subscription's
//! (`healthyRetryPolicy`, unless the topic disables overrides) replaces it.

use serde_json::{json, Value};

/// A healthy retry policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub min_delay_s: i64,
    pub max_delay_s: i64,
    pub num_retries: i64,
    pub num_no_delay_retries: i64,
    pub num_min_delay_retries: i64,
    pub num_max_delay_retries: i64,
    pub backoff: Backoff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    Linear,
    Arithmetic,
    Geometric,
    Exponential,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            min_delay_s: 20,
            max_delay_s: 20,
            num_retries: 3,
            num_no_delay_retries: 0,
            num_min_delay_retries: 0,
            num_max_delay_retries: 0,
            backoff: Backoff::Linear,
        }
    }
}

impl RetryPolicy {
    /// A `healthyRetryPolicy` object, checked as SNS checks it; missing members take the default's values.
    pub fn parse(v: &Value) -> Result<RetryPolicy, String> {
        let d = RetryPolicy::default();
        let int = |k: &str, default: i64| -> Result<i64, String> {
            match &v[k] {
                Value::Null => Ok(default),
                x => x.as_i64().ok_or_else(|| format!("{k} must be an integer")),
            }
        };
        let backoff = match v["backoffFunction"].as_str().unwrap_or("linear") {
            "linear" => Backoff::Linear,
            "arithmetic" => Backoff::Arithmetic,
            "geometric" => Backoff::Geometric,
            "exponential" => Backoff::Exponential,
            other => {
                return Err(format!("backoffFunction {other} is not one of linear, arithmetic, geometric, exponential"))
            }
        };
        let p = RetryPolicy {
            min_delay_s: int("minDelayTarget", d.min_delay_s)?,
            max_delay_s: int("maxDelayTarget", d.max_delay_s)?,
            num_retries: int("numRetries", d.num_retries)?,
            num_no_delay_retries: int("numNoDelayRetries", 0)?,
            num_min_delay_retries: int("numMinDelayRetries", 0)?,
            num_max_delay_retries: int("numMaxDelayRetries", 0)?,
            backoff,
        };
        if p.min_delay_s < 1 || p.max_delay_s > 3600 || p.min_delay_s > p.max_delay_s {
            return Err(
                "minDelayTarget must be at least 1 and at most maxDelayTarget, which must be at most 3600".into()
            );
        }
        if !(0..=100).contains(&p.num_retries) {
            return Err("numRetries must be between 0 and 100".into());
        }
        let phases = [p.num_no_delay_retries, p.num_min_delay_retries, p.num_max_delay_retries];
        if phases.iter().any(|n| *n < 0) || phases.iter().sum::<i64>() > p.num_retries {
            return Err(
                "numNoDelayRetries, numMinDelayRetries and numMaxDelayRetries must add up to at most numRetries".into(),
            );
        }
        Ok(p)
    }

    pub fn to_json(self) -> Value {
        json!({
            "minDelayTarget": self.min_delay_s,
            "maxDelayTarget": self.max_delay_s,
            "numRetries": self.num_retries,
            "numMaxDelayRetries": self.num_max_delay_retries,
            "numNoDelayRetries": self.num_no_delay_retries,
            "numMinDelayRetries": self.num_min_delay_retries,
            "backoffFunction": match self.backoff {
                Backoff::Linear => "linear",
                Backoff::Arithmetic => "arithmetic",
                Backoff::Geometric => "geometric",
                Backoff::Exponential => "exponential",
            },
        })
    }

    /// The delay before retry `n` (1-based), or none when the retries are spent.
    pub fn delay_s(&self, n: i64) -> Option<i64> {
        if n < 1 || n > self.num_retries {
            return None;
        }
        let backoff_n =
            self.num_retries - self.num_no_delay_retries - self.num_min_delay_retries - self.num_max_delay_retries;
        let mut k = n;
        if k <= self.num_no_delay_retries {
            return Some(0);
        }
        k -= self.num_no_delay_retries;
        if k <= self.num_min_delay_retries {
            return Some(self.min_delay_s);
        }
        k -= self.num_min_delay_retries;
        if k <= backoff_n {
            let (lo, hi, i, n) = (self.min_delay_s as f64, self.max_delay_s as f64, k as f64, backoff_n as f64);
            let f = match self.backoff {
                Backoff::Linear => i / n,
                Backoff::Arithmetic => (i * (i + 1.0)) / (n * (n + 1.0)),
                Backoff::Geometric => ((1.0 + i).ln()) / ((1.0 + n).ln()),
                Backoff::Exponential => (2f64.powf(i) - 1.0) / (2f64.powf(n) - 1.0),
            };
            return Some((lo + (hi - lo) * f).round() as i64);
        }
        Some(self.max_delay_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_retries_three_times_twenty_seconds_apart() {
        let p = RetryPolicy::default();
        assert_eq!((1..=4).map(|n| p.delay_s(n)).collect::<Vec<_>>(), [Some(20), Some(20), Some(20), None]);
    }

    #[test]
    fn phases_run_in_order() {
        let p = RetryPolicy::parse(&json!({"minDelayTarget": 1, "maxDelayTarget": 60, "numRetries": 8, "numNoDelayRetries": 1,
                                           "numMinDelayRetries": 2, "numMaxDelayRetries": 1, "backoffFunction": "linear"}))
        .unwrap();
        let delays: Vec<i64> = (1..=8).filter_map(|n| p.delay_s(n)).collect();
        assert_eq!(delays, [0, 1, 1, 16, 31, 45, 60, 60]);
        assert!(RetryPolicy::parse(&json!({"minDelayTarget": 30, "maxDelayTarget": 20})).is_err());
        assert!(RetryPolicy::parse(&json!({"numRetries": 101})).is_err());
        assert!(RetryPolicy::parse(&json!({"backoffFunction": "random"})).is_err());
    }
}
