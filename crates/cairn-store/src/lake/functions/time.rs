//! Trino's date and time functions Lake queries use: `date_diff`, `date_add`, `from_iso8601_timestamp`,
//! `to_iso8601`, `from_unixtime`, `to_unixtime`, `date_format` with Trino's (MySQL's) format specifiers rather than
//! DataFusion's (chrono's: `%i` is minutes in Trino, `%M` the month's name), and the field functions `year`,
//! `month`, `day`, `hour`, `minute`, `second`, `day_of_week` (`dow`, Monday = 1) and `day_of_year` (`doy`). Times
//! are UTC milliseconds, as Lake's `eventtime`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, TimestampMillisecondArray};
use arrow_schema::{DataType, TimeUnit};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::ScalarUDF;

use super::simple::udf;

const MS: [(&str, i64); 6] = [
    ("millisecond", 1),
    ("second", 1000),
    ("minute", 60_000),
    ("hour", 3_600_000),
    ("day", 86_400_000),
    ("week", 604_800_000),
];

pub(crate) fn functions() -> Vec<ScalarUDF> {
    let ts = || DataType::Timestamp(TimeUnit::Millisecond, None);
    let s = || DataType::Utf8;
    let i = || DataType::Int64;
    let mut out = vec![
        udf("date_diff", vec![vec![s(), ts(), ts()]], i(), date_diff),
        udf("date_add", vec![vec![s(), i(), ts()]], ts(), date_add),
        udf("from_iso8601_timestamp", vec![vec![s()]], ts(), from_iso8601_timestamp),
        udf("to_iso8601", vec![vec![ts()]], s(), to_iso8601),
        udf("from_unixtime", vec![vec![DataType::Float64]], ts(), from_unixtime),
        udf("to_unixtime", vec![vec![ts()]], DataType::Float64, to_unixtime),
        udf("date_format", vec![vec![ts(), s()]], s(), date_format),
    ];
    let fields: [(&'static str, super::simple::Body); 10] = [
        ("year", |a| field(a, |c| c.year)),
        ("month", |a| field(a, |c| c.month)),
        ("day", |a| field(a, |c| c.day)),
        ("hour", |a| field(a, |c| c.ms.rem_euclid(86_400_000) / 3_600_000)),
        ("minute", |a| field(a, |c| c.ms.rem_euclid(3_600_000) / 60_000)),
        ("second", |a| field(a, |c| c.ms.rem_euclid(60_000) / 1000)),
        ("day_of_week", |a| field(a, |c| (c.ms.div_euclid(86_400_000) + 3).rem_euclid(7) + 1)),
        ("dow", |a| field(a, |c| (c.ms.div_euclid(86_400_000) + 3).rem_euclid(7) + 1)),
        ("day_of_year", |a| field(a, day_of_year)),
        ("doy", |a| field(a, day_of_year)),
    ];
    out.extend(fields.into_iter().map(|(name, body)| udf(name, vec![vec![ts()]], i(), body)));
    out
}

/// A UTC time's calendar fields.
#[derive(Debug, Clone, Copy)]
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    ms: i64,
}

fn civil(ms: i64) -> Civil {
    let t = cairn_model::event::format_event_time(ms);
    let n = |r: std::ops::Range<usize>| t[r].parse::<i64>().unwrap_or(0);
    Civil { year: n(0..4), month: n(5..7), day: n(8..10), ms }
}

/// Milliseconds of a calendar date plus the time of day of `ms`.
fn from_civil(year: i64, month: i64, day: i64, time_of_day_ms: i64) -> Option<i64> {
    let date = cairn_model::event::event_time_millis(&format!("{year:04}-{month:02}-{day:02}T00:00:00Z"))?;
    Some(date + time_of_day_ms)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn day_of_year(c: Civil) -> i64 {
    (1..c.month).map(|m| days_in_month(c.year, m)).sum::<i64>() + c.day
}

fn field(args: &[ArrayRef], f: fn(Civil) -> i64) -> Result<ArrayRef> {
    let t = args[0].as_primitive::<TimestampMillisecondType>();
    Ok(Arc::new(t.iter().map(|v| v.map(|ms| f(civil(ms)))).collect::<Int64Array>()))
}

fn unit_ms(unit: &str) -> Option<i64> {
    MS.iter().find(|(u, _)| *u == unit).map(|(_, m)| *m)
}

fn months_of(unit: &str) -> Option<i64> {
    match unit {
        "month" => Some(1),
        "quarter" => Some(3),
        "year" => Some(12),
        _ => None,
    }
}

fn date_diff(args: &[ArrayRef]) -> Result<ArrayRef> {
    let units = args[0].as_string::<i32>();
    let (a, b) =
        (args[1].as_primitive::<TimestampMillisecondType>(), args[2].as_primitive::<TimestampMillisecondType>());
    let mut out = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        if units.is_null(i) || a.is_null(i) || b.is_null(i) {
            out.push(None);
            continue;
        }
        let unit = units.value(i).to_ascii_lowercase();
        let (x, y) = (a.value(i), b.value(i));
        let diff = if let Some(ms) = unit_ms(&unit) {
            (y - x) / ms
        } else if let Some(per) = months_of(&unit) {
            let (cx, cy) = (civil(x), civil(y));
            let mut months = (cy.year * 12 + cy.month) - (cx.year * 12 + cx.month);
            // A month counts once the later time reaches the earlier one's day and time of day.
            let within = |c: Civil| (c.day, c.ms.rem_euclid(86_400_000));
            if months > 0 && within(cy) < within(cx) {
                months -= 1;
            } else if months < 0 && within(cy) > within(cx) {
                months += 1;
            }
            months / per
        } else {
            return exec_err!("'{unit}' is not a valid unit for date_diff");
        };
        out.push(Some(diff));
    }
    Ok(Arc::new(Int64Array::from(out)))
}

fn date_add(args: &[ArrayRef]) -> Result<ArrayRef> {
    let units = args[0].as_string::<i32>();
    let (n, t) = (args[1].as_primitive::<Int64Type>(), args[2].as_primitive::<TimestampMillisecondType>());
    let mut out = Vec::with_capacity(t.len());
    for i in 0..t.len() {
        if units.is_null(i) || n.is_null(i) || t.is_null(i) {
            out.push(None);
            continue;
        }
        let unit = units.value(i).to_ascii_lowercase();
        let (k, ms) = (n.value(i), t.value(i));
        let added = if let Some(per) = unit_ms(&unit) {
            ms.checked_add(k.saturating_mul(per))
        } else if let Some(per) = months_of(&unit) {
            let c = civil(ms);
            let total = c.year * 12 + (c.month - 1) + k * per;
            let (year, month) = (total.div_euclid(12), total.rem_euclid(12) + 1);
            from_civil(year, month, c.day.min(days_in_month(year, month)), ms.rem_euclid(86_400_000))
        } else {
            return exec_err!("'{unit}' is not a valid unit for date_add");
        };
        out.push(added);
    }
    Ok(Arc::new(TimestampMillisecondArray::from(out)))
}

/// Parses ISO 8601: a date, optionally `T` and a time (`HH:MM[:SS[.fff]]`), optionally `Z` or `±HH:MM`.
pub(crate) fn parse_iso8601(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = s.split_at(s.find('T').unwrap_or(s.len()));
    let d: Vec<&str> = date.split('-').collect();
    let [y, m, day] = d.as_slice() else { return None };
    let (y, m, day) = (y.parse::<i64>().ok()?, m.parse::<i64>().ok()?, day.parse::<i64>().ok()?);
    if !(1..=12).contains(&m) || day < 1 || day > days_in_month(y, m) {
        return None;
    }
    let rest = rest.strip_prefix('T').unwrap_or(rest);
    let (time, offset_ms) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0)
    } else if let Some(p) = rest.rfind(['+', '-']).filter(|p| *p > 0) {
        let (t, off) = rest.split_at(p);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (h, mi) = off[1..].split_once(':').unwrap_or((&off[1..], "0"));
        (t, sign * (h.parse::<i64>().ok()? * 3_600_000 + mi.parse::<i64>().ok()? * 60_000))
    } else {
        (rest, 0)
    };
    let mut ms = 0;
    if !time.is_empty() {
        let parts: Vec<&str> = time.split(':').collect();
        let h = parts.first()?.parse::<i64>().ok()?;
        let mi = parts.get(1).map_or(Some(0), |p| p.parse::<i64>().ok())?;
        let sec = parts.get(2).map_or(Some(0.0), |p| p.parse::<f64>().ok())?;
        if parts.len() > 3 || h > 23 || mi > 59 || !(0.0..60.0).contains(&sec) {
            return None;
        }
        ms = h * 3_600_000 + mi * 60_000 + (sec * 1000.0).round() as i64;
    }
    Some(from_civil(y, m, day, ms)? - offset_ms)
}

fn from_iso8601_timestamp(args: &[ArrayRef]) -> Result<ArrayRef> {
    let s = args[0].as_string::<i32>();
    let mut out = Vec::with_capacity(s.len());
    for i in 0..s.len() {
        if s.is_null(i) {
            out.push(None);
            continue;
        }
        match parse_iso8601(s.value(i)) {
            Some(ms) => out.push(Some(ms)),
            None => return exec_err!("Invalid format: \"{}\"", s.value(i)),
        }
    }
    Ok(Arc::new(TimestampMillisecondArray::from(out)))
}

fn to_iso8601(args: &[ArrayRef]) -> Result<ArrayRef> {
    let t = args[0].as_primitive::<TimestampMillisecondType>();
    let strings: arrow_array::StringArray = t
        .iter()
        .map(|v| {
            v.map(|ms| {
                let s = cairn_model::event::format_event_time(ms);
                format!("{}.{:03}Z", &s[..19], ms.rem_euclid(1000))
            })
        })
        .collect();
    Ok(Arc::new(strings))
}

fn from_unixtime(args: &[ArrayRef]) -> Result<ArrayRef> {
    let f = args[0].as_primitive::<Float64Type>();
    Ok(Arc::new(f.iter().map(|v| v.map(|s| (s * 1000.0).round() as i64)).collect::<TimestampMillisecondArray>()))
}

fn to_unixtime(args: &[ArrayRef]) -> Result<ArrayRef> {
    let t = args[0].as_primitive::<TimestampMillisecondType>();
    Ok(Arc::new(t.iter().map(|v| v.map(|ms| ms as f64 / 1000.0)).collect::<Float64Array>()))
}

/// `date_format(timestamp, format)` with Trino's specifiers, in UTC.
fn date_format(args: &[ArrayRef]) -> Result<ArrayRef> {
    let times = args[0].as_primitive::<TimestampMillisecondType>();
    let formats = args[1].as_string::<i32>();
    let mut out = arrow_array::builder::StringBuilder::new();
    for row in 0..times.len() {
        if times.is_null(row) || formats.is_null(row) {
            out.append_null();
            continue;
        }
        let pattern = chrono_format(formats.value(row))?;
        match chrono::DateTime::from_timestamp_millis(times.value(row)) {
            Some(t) => out.append_value(t.format(&pattern).to_string()),
            None => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// A Trino `date_format` pattern as chrono's; the specifiers Trino does not support are errors, as in Trino.
fn chrono_format(trino: &str) -> Result<String> {
    let mut out = String::with_capacity(trino.len() + 8);
    let mut chars = trino.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(spec) = chars.next() else {
            out.push_str("%%");
            break;
        };
        let chrono = match spec {
            'a' => "%a",
            'b' => "%b",
            'c' => "%-m",
            'd' => "%d",
            'e' => "%-d",
            'f' => "%6f",
            'H' => "%H",
            'h' | 'I' => "%I",
            'i' => "%M",
            'j' => "%j",
            'k' => "%-H",
            'l' => "%-I",
            'M' => "%B",
            'm' => "%m",
            'p' => "%p",
            'r' => "%I:%M:%S %p",
            'S' | 's' => "%S",
            'T' => "%H:%M:%S",
            'v' => "%V",
            'W' => "%A",
            'x' => "%G",
            'Y' => "%Y",
            'y' => "%y",
            '%' => "%%",
            'D' | 'U' | 'u' | 'V' | 'w' | 'X' => return exec_err!("date_format: %{spec} is not supported"),
            // Any other character stands for itself, as in MySQL.
            other => {
                out.push(other);
                continue;
            }
        };
        out.push_str(chrono);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_reads_trino_forms() {
        let base = cairn_model::event::event_time_millis("2026-01-02T03:04:05Z").unwrap();
        assert_eq!(parse_iso8601("2026-01-02T03:04:05Z"), Some(base));
        assert_eq!(parse_iso8601("2026-01-02T03:04:05.250Z"), Some(base + 250));
        assert_eq!(parse_iso8601("2026-01-02T04:04:05+01:00"), Some(base));
        assert_eq!(parse_iso8601("2026-01-02"), Some(base - 3 * 3_600_000 - 4 * 60_000 - 5000));
        for bad in ["2026-13-01", "2026-02-30", "x", "2026-01-02T25:00"] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn trino_patterns_become_chronos_and_unsupported_specifiers_are_refused() {
        assert_eq!(chrono_format("%Y-%m-%d %H:%i:%s").unwrap(), "%Y-%m-%d %H:%M:%S");
        assert_eq!(chrono_format("%M %W %k %l %e %c").unwrap(), "%B %A %-H %-I %-d %-m");
        assert_eq!(chrono_format("100%% %q %").unwrap(), "100%% q %%");
        for unsupported in ["%D", "%U", "%u", "%V", "%w", "%X"] {
            assert!(chrono_format(unsupported).is_err(), "{unsupported}");
        }
    }
}
