//! Alarm evaluation as CloudWatch documents it ("Configuring how CloudWatch alarms treat missing data"): a pure
//! function from an alarm's rule and the datapoints of its evaluation range to the state it should be in, with
//! CloudWatch's reason text.
//!
//! - The evaluation range is longer than EvaluationPeriods (N): N + max(N/3, 2) periods, 5 for N = 3 as in AWS's
//!   tables (AWS does not document the general size).
//! - With at least N real datapoints in the range, the most recent N are evaluated and missing data does not matter.
//! - With fewer, every real datapoint is evaluated and the most recent missing periods fill up to N, treated as
//!   TreatMissingData says. `breaching` and `notBreaching` count them; `missing` and `ignore` do not, and decide as
//!   AWS's tables do: ALARM when at least M (DatapointsToAlarm) real datapoints breach; OK when a real datapoint does
//!   not breach; otherwise `ignore` keeps the state, and `missing` goes to ALARM by the "premature alarm" rule (the
//!   oldest breaching datapoint among the N evaluated is at least M periods old and all newer ones are breaching or
//!   missing) or to INSUFFICIENT_DATA.
//! - With no real datapoint at all, `missing` is INSUFFICIENT_DATA and `ignore` keeps the state.

use std::fmt::Write;

use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ok,
    Alarm,
    InsufficientData,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Alarm => "ALARM",
            State::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        [State::Ok, State::Alarm, State::InsufficientData].into_iter().find(|st| st.as_str() == s)
    }
}

/// The static-threshold comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    GreaterThanOrEqual,
    GreaterThan,
    LessThan,
    LessThanOrEqual,
}

impl Comparison {
    pub const NAMES: [&'static str; 4] =
        ["GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"];

    pub fn parse(s: &str) -> Option<Comparison> {
        use Comparison::*;
        let all = [GreaterThanOrEqual, GreaterThan, LessThan, LessThanOrEqual];
        Comparison::NAMES.iter().position(|n| *n == s).map(|i| all[i])
    }

    pub fn name(self) -> &'static str {
        Comparison::NAMES[self as usize]
    }

    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanOrEqual => value >= threshold,
            Comparison::GreaterThan => value > threshold,
            Comparison::LessThan => value < threshold,
            Comparison::LessThanOrEqual => value <= threshold,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqual => "greater than or equal to",
            Comparison::GreaterThan => "greater than",
            Comparison::LessThan => "less than",
            Comparison::LessThanOrEqual => "less than or equal to",
        }
    }
}

/// TreatMissingData.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Missing,
    Ignore,
    Breaching,
    NotBreaching,
}

impl Missing {
    pub const NAMES: [&'static str; 4] = ["missing", "ignore", "breaching", "notBreaching"];

    pub fn parse(s: &str) -> Option<Missing> {
        let all = [Missing::Missing, Missing::Ignore, Missing::Breaching, Missing::NotBreaching];
        Missing::NAMES.iter().position(|n| *n == s).map(|i| all[i])
    }

    pub fn name(self) -> &'static str {
        Missing::NAMES[self as usize]
    }
}

/// What an alarm compares.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub comparison: Comparison,
    pub threshold: f64,
    pub evaluation_periods: usize,
    /// DatapointsToAlarm as given; N when absent.
    pub datapoints_to_alarm: Option<usize>,
    pub missing: Missing,
}

impl Rule {
    fn m(&self) -> usize {
        self.datapoints_to_alarm.unwrap_or(self.evaluation_periods)
    }
}

/// One period of the evaluation range: its start and its statistic's value, none when missing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot {
    pub start_ms: i64,
    pub value: Option<f64>,
    pub sample_count: f64,
}

/// An evaluation's result: the state to be in (none: keep the current one), CloudWatch's reason, and the periods
/// evaluated, newest first (missing ones included).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub state: Option<State>,
    pub reason: String,
    pub evaluated: Vec<Slot>,
}

/// How many periods the evaluation range holds for N evaluation periods.
pub fn range_len(evaluation_periods: usize) -> usize {
    evaluation_periods + (evaluation_periods / 3).max(2)
}

/// Evaluates a rule over its range, oldest period first.
pub fn evaluate(rule: &Rule, range: &[Slot]) -> Outcome {
    let (n, m) = (rule.evaluation_periods, rule.m());
    let breaches = |s: &Slot| s.value.is_some_and(|v| rule.comparison.breaches(v, rule.threshold));
    let real: Vec<usize> = (0..range.len()).filter(|&i| range[i].value.is_some()).collect();
    // The evaluated periods, oldest first: the newest N real ones, or every real one and the newest missing ones.
    let chosen: Vec<usize> = if real.len() >= n {
        real[real.len() - n..].to_vec()
    } else {
        let fill: Vec<usize> =
            (0..range.len()).rev().filter(|&i| range[i].value.is_none()).take(n - real.len()).collect();
        let mut c: Vec<usize> = real.iter().copied().chain(fill).collect();
        c.sort_unstable();
        c
    };
    let evaluated: Vec<Slot> = chosen.iter().rev().map(|&i| range[i]).collect();
    let filled = chosen.len() - real.len().min(n);
    let real_breaching = evaluated.iter().filter(|s| breaches(s)).count();
    let real_ok = evaluated.iter().filter(|s| s.value.is_some() && !breaches(s)).count();

    if filled == 0 {
        let state = if real_breaching >= m { State::Alarm } else { State::Ok };
        return Outcome { state: Some(state), reason: reason(rule, state, &evaluated, 0), evaluated };
    }
    let state = match rule.missing {
        Missing::Breaching | Missing::NotBreaching => {
            let filled_breaching = if rule.missing == Missing::Breaching { filled } else { 0 };
            Some(if real_breaching + filled_breaching >= m { State::Alarm } else { State::Ok })
        }
        Missing::Missing | Missing::Ignore if real_breaching >= m => Some(State::Alarm),
        Missing::Missing | Missing::Ignore if real_ok > 0 => Some(State::Ok),
        Missing::Ignore => None,
        Missing::Missing if real_breaching == 0 => Some(State::InsufficientData),
        Missing::Missing => {
            // Premature alarm: the oldest breaching datapoint is at least M periods old among those evaluated
            // (newest first, so its position counts its age) and all newer ones breach or are missing.
            let oldest = evaluated.iter().rposition(breaches).map_or(0, |i| i + 1);
            Some(if oldest >= m { State::Alarm } else { State::InsufficientData })
        }
    };
    let text = state.map(|st| reason(rule, st, &evaluated, filled)).unwrap_or_default();
    Outcome { state, reason: text, evaluated }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn was(n: usize) -> &'static str {
    if n == 1 {
        "was"
    } else {
        "were"
    }
}

/// CloudWatch's reason for a state, in its words.
fn reason(rule: &Rule, state: State, evaluated: &[Slot], filled: usize) -> String {
    let n = evaluated.len();
    if state == State::InsufficientData {
        return format!("Insufficient Data: {} {} unknown.", plural(n, "datapoint", "datapoints"), was(n));
    }
    let breaching = state == State::Alarm;
    let treated = match rule.missing {
        Missing::Breaching => "Breaching",
        _ => "NonBreaching",
    };
    let not = if breaching { "" } else { "not " };
    let threshold = java_double(rule.threshold);
    let mut out = String::from("Threshold Crossed: ");
    if evaluated.iter().all(|s| s.value.is_none()) {
        let _ = write!(
            out,
            "no datapoints were received for {} and {} {} treated as [{treated}].",
            plural(n, "period", "periods"),
            plural(filled, "missing datapoint", "missing datapoints"),
            was(filled)
        );
        return out;
    }
    // The datapoints that made the state; when only filled-in ones did, the real ones, which did not.
    let made = |s: &&Slot| s.value.is_some_and(|v| rule.comparison.breaches(v, rule.threshold) == breaching);
    let (listed, not): (Vec<&Slot>, &str) = if evaluated.iter().any(|s| made(&s)) {
        (evaluated.iter().filter(made).collect(), not)
    } else {
        (evaluated.iter().filter(|s| s.value.is_some()).collect(), if breaching { "not " } else { "" })
    };
    let counted = listed.len();
    let listed: Vec<String> = listed
        .iter()
        .map(|s| format!("{} ({})", java_double(s.value.unwrap_or_default()), short_date(s.start_ms)))
        .collect();
    let what = format!("{} the threshold ({threshold})", rule.comparison.words());
    match rule.datapoints_to_alarm {
        None => {
            let _ = write!(
                out,
                "{} [{}] {} {not}{what}",
                plural(counted, "datapoint", "datapoints"),
                listed.join(", "),
                was(counted)
            );
        }
        Some(_) => {
            let _ = write!(
                out,
                "{counted} out of the last {n} datapoints [{}] {} {not}{what}",
                listed.join(", "),
                was(counted)
            );
        }
    }
    if filled > 0 && matches!(rule.missing, Missing::Breaching | Missing::NotBreaching) {
        let _ = write!(
            out,
            " and {} {} treated as [{treated}]",
            plural(filled, "missing datapoint", "missing datapoints"),
            was(filled)
        );
    }
    if let Some(m) = rule.datapoints_to_alarm {
        let (min, transition) =
            if breaching { (m, "OK -> ALARM") } else { (rule.evaluation_periods - m + 1, "ALARM -> OK") };
        let _ = write!(out, " (minimum {} for {transition} transition)", plural(min, "datapoint", "datapoints"));
    }
    out.push('.');
    out
}

/// A double as Java prints it, as CloudWatch's reasons do: `1.0`, `0.25`, `1.0E7`.
pub fn java_double(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e7).contains(&a) && v.is_finite() {
        let s = format!("{v:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') { mantissa.to_string() } else { format!("{mantissa}.0") };
        return format!("{mantissa}E{exp}");
    }
    format!("{v:?}")
}

/// `dd/MM/yy HH:mm:ss` in UTC, as reasons date datapoints.
fn short_date(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:02}/{:02}/{:02} {:02}:{:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year() % 100,
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A range from AWS's notation, oldest first: `0` does not breach, `X` breaches, `-` is missing.
    fn range(pattern: &str) -> Vec<Slot> {
        pattern
            .split_whitespace()
            .enumerate()
            .map(|(i, c)| Slot {
                start_ms: 1_796_464_800_000 + i as i64 * 300_000,
                value: match c {
                    "0" => Some(0.0),
                    "X" => Some(5.0),
                    _ => None,
                },
                sample_count: 1.0,
            })
            .collect()
    }

    fn state(m: usize, missing: Missing, pattern: &str) -> &'static str {
        let rule = Rule {
            comparison: Comparison::GreaterThanOrEqual,
            threshold: 1.0,
            evaluation_periods: 3,
            datapoints_to_alarm: Some(m),
            missing,
        };
        evaluate(&rule, &range(pattern)).state.map_or("Retain current state", State::as_str)
    }

    /// AWS's two decision tables, row for row: MISSING, IGNORE, BREACHING, NOT BREACHING.
    #[test]
    fn decision_tables_of_the_cloudwatch_documentation() {
        let three_of_three = [
            ("0 - X - X", ["OK", "OK", "OK", "OK"]),
            ("0 - - - -", ["OK", "OK", "OK", "OK"]),
            ("- - - - -", ["INSUFFICIENT_DATA", "Retain current state", "ALARM", "OK"]),
            ("0 X X - X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
            ("- - X - -", ["ALARM", "Retain current state", "ALARM", "OK"]),
        ];
        let two_of_three = [
            ("0 - X - X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
            ("0 0 X 0 X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
            ("0 - X - -", ["OK", "OK", "ALARM", "OK"]),
            ("- - - - 0", ["OK", "OK", "ALARM", "OK"]),
            ("- - - X -", ["ALARM", "Retain current state", "ALARM", "OK"]),
        ];
        let treatments = [Missing::Missing, Missing::Ignore, Missing::Breaching, Missing::NotBreaching];
        for (m, table) in [(3, three_of_three), (2, two_of_three)] {
            for (pattern, expected) in table {
                for (t, want) in treatments.iter().zip(expected) {
                    assert_eq!(state(m, *t, pattern), want, "{m} of 3, {pattern}, {t:?}");
                }
            }
        }
        // The earlier table's rows: a breaching datapoint too recent to alarm early, and one old enough.
        assert_eq!(state(3, Missing::Missing, "- - - - X"), "INSUFFICIENT_DATA");
        assert_eq!(state(3, Missing::Missing, "X - - - -"), "ALARM");
        assert_eq!(state(3, Missing::Ignore, "- - - - X"), "Retain current state");
        assert_eq!(range_len(3), 5);
        assert_eq!(range_len(1), 3);
        assert_eq!(range_len(12), 16);
    }

    #[test]
    fn reasons_are_in_cloudwatchs_words() {
        let mut rule = Rule {
            comparison: Comparison::GreaterThanOrEqual,
            threshold: 1.0,
            evaluation_periods: 1,
            datapoints_to_alarm: None,
            missing: Missing::Missing,
        };
        let one = |v: Option<f64>| vec![Slot { start_ms: 1_796_464_800_000, value: v, sample_count: 1.0 }];
        assert_eq!(
            evaluate(&rule, &one(Some(2.0))).reason,
            "Threshold Crossed: 1 datapoint [2.0 (05/12/26 10:00:00)] was greater than or equal to the threshold (1.0)."
        );
        rule.datapoints_to_alarm = Some(1);
        assert_eq!(
            evaluate(&rule, &one(Some(0.0))).reason,
            "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (05/12/26 10:00:00)] was not greater than or equal to \
             the threshold (1.0) (minimum 1 datapoint for ALARM -> OK transition)."
        );
        assert_eq!(evaluate(&rule, &one(None)).reason, "Insufficient Data: 1 datapoint was unknown.");
        rule.missing = Missing::NotBreaching;
        let o = evaluate(&rule, &one(None));
        assert_eq!(o.state, Some(State::Ok));
        assert_eq!(
            o.reason,
            "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching]."
        );
        rule.evaluation_periods = 3;
        rule.datapoints_to_alarm = Some(2);
        rule.missing = Missing::Breaching;
        let o = evaluate(&rule, &range("- - - - 0"));
        assert_eq!(o.state, Some(State::Alarm));
        assert_eq!(o.evaluated.len(), 3);
        assert_eq!(
            o.reason,
            "Threshold Crossed: 1 out of the last 3 datapoints [0.0 (05/12/26 10:20:00)] was not greater than or equal to \
             the threshold (1.0) and 2 missing datapoints were treated as [Breaching] (minimum 2 datapoints for OK -> \
             ALARM transition)."
        );
        assert_eq!(java_double(1.0e7), "1.0E7");
        assert_eq!(java_double(0.25), "0.25");
        assert_eq!(java_double(-3.0), "-3.0");
    }
}
