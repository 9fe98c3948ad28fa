//! The filter pattern language of CloudWatch Logs, one parser and one matcher for its three forms:
//! - unstructured terms (`ERROR -ARGUMENTS`, `?ERROR ?WARN`, `"quoted phrase"`, `%regex%`): [`terms`];
//! - space-delimited fields (`[ip, user, ..., status_code=4*, bytes>1000]`): [`delimited`];
//! - JSON expressions (`{ $.a.b[0] = "x*" && ($.n > 1e3 || $.c NOT EXISTS) }`): [`json`].
//!
//! Values compared in the last two ([`value`]) are strings with `*` at either end, numbers, `*` alone, or regular
//! expressions in AWS's restricted syntax ([`regex`]), of which a pattern holds at most two. An empty pattern, or one
//! of only blanks (`""`, `" "`), matches every event. Matching is case-sensitive throughout.

mod delimited;
mod json;
mod regex;
mod terms;
mod value;

use crate::{Error, Result};

pub use value::number;

/// Longest pattern AWS takes, in characters.
pub const MAX_PATTERN_CHARS: usize = 1024;
/// Most regular expressions (`%...%`) one pattern may hold.
pub const MAX_REGEXES: usize = 2;

/// Which of the three forms a pattern is; metric filter dimensions need fields, so not [`PatternKind::Terms`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    Terms,
    Delimited,
    Json,
}

/// A parsed, valid filter pattern.
#[derive(Debug)]
pub struct FilterPattern {
    body: Body,
    regexes: usize,
}

#[derive(Debug)]
enum Body {
    Terms(terms::Terms),
    Delimited(delimited::Delimited),
    Json(json::Expr),
}

/// What a matching event yields: the fields a space-delimited pattern extracts, and the event itself for values
/// (`$.field`, `$name`) that metric filters read.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// `$name` (or `$position`, 1-based, for fields the pattern leaves unnamed) to the field's text, in the event's
    /// order; empty for unstructured and JSON patterns, as TestMetricFilter answers.
    pub extracted: Vec<(String, String)>,
    json: Option<serde_json::Value>,
}

impl Match {
    /// The value a metric filter's `metricValue` or dimension names: `$.selector` in a JSON event, `$name` among
    /// the extracted fields. Strings come as they are, numbers and booleans as their JSON text; `None` when the
    /// event has no such value (or it is an object, an array or null).
    pub fn value(&self, reference: &str) -> Option<String> {
        lookup(reference, || self.json.as_ref(), &self.extracted)
    }
}

/// A `$.selector` in the event's JSON (parsed on demand), else a `$name` among the extracted fields.
fn lookup<'v>(
    reference: &str,
    json: impl FnOnce() -> Option<&'v serde_json::Value>,
    extracted: &[(String, String)],
) -> Option<String> {
    if reference.starts_with("$.") {
        let selector = json::Selector::parse_all(reference).ok()?;
        return selector.resolve(json()?).into_iter().find_map(value::scalar_text);
    }
    extracted.iter().find(|(name, _)| name == reference).map(|(_, v)| v.clone())
}

/// A log event as several patterns read it: its JSON is parsed once, when the first JSON pattern needs it.
#[derive(Debug)]
pub struct LogEvent<'a> {
    message: &'a str,
    json: std::cell::OnceCell<Option<serde_json::Value>>,
}

impl<'a> LogEvent<'a> {
    pub fn new(message: &'a str) -> LogEvent<'a> {
        LogEvent { message, json: std::cell::OnceCell::new() }
    }

    pub fn message(&self) -> &'a str {
        self.message
    }

    fn json(&self) -> Option<&serde_json::Value> {
        self.json.get_or_init(|| serde_json::from_str(self.message).ok()).as_ref()
    }

    /// The value a metric filter's `metricValue` or dimension names (see [`Match::value`]), given what a pattern
    /// extracted from this event.
    pub fn value(&self, reference: &str, extracted: &[(String, String)]) -> Option<String> {
        lookup(reference, || self.json(), extracted)
    }
}

impl FilterPattern {
    /// Parses and checks `text` as AWS does for PutMetricFilter, PutSubscriptionFilter, TestMetricFilter and
    /// FilterLogEvents.
    pub fn parse(text: &str) -> Result<FilterPattern> {
        let chars = text.chars().count();
        if chars > MAX_PATTERN_CHARS {
            return Err(Error::TooLong(chars));
        }
        let mut regexes = 0;
        let trimmed = text.trim();
        let body = if trimmed.starts_with('{') {
            Body::Json(json::parse(trimmed, &mut regexes)?)
        } else if trimmed.starts_with('[') {
            Body::Delimited(delimited::parse(trimmed, &mut regexes)?)
        } else {
            Body::Terms(terms::parse(trimmed, &mut regexes)?)
        };
        if regexes > MAX_REGEXES {
            return crate::invalid(format!("{regexes} regular expressions, more than {MAX_REGEXES} in one pattern"));
        }
        Ok(FilterPattern { body, regexes })
    }

    pub fn kind(&self) -> PatternKind {
        match self.body {
            Body::Terms(_) => PatternKind::Terms,
            Body::Delimited(_) => PatternKind::Delimited,
            Body::Json(_) => PatternKind::Json,
        }
    }

    /// How many regular expressions the pattern holds (AWS limits the patterns with any per log group).
    pub fn regex_count(&self) -> usize {
        self.regexes
    }

    /// Whether `event` matches, and the fields it extracts when it does: for many patterns over one event (a log
    /// group's metric filters), which parse the event's JSON once between them.
    pub fn matches_event(&self, event: &LogEvent) -> Option<Vec<(String, String)>> {
        match &self.body {
            Body::Terms(t) => t.matches(event.message).then(Vec::new),
            Body::Delimited(d) => d.matches(event.message),
            Body::Json(e) => e.matches(event.json()?).then(Vec::new),
        }
    }

    /// Whether `message` matches, and what it yields when it does.
    pub fn matches(&self, message: &str) -> Option<Match> {
        match &self.body {
            Body::Terms(t) => t.matches(message).then(|| Match { extracted: Vec::new(), json: None }),
            Body::Delimited(d) => d.matches(message).map(|extracted| Match { extracted, json: None }),
            Body::Json(e) => {
                let event: serde_json::Value = serde_json::from_str(message).ok()?;
                e.matches(&event).then(|| Match { extracted: Vec::new(), json: Some(event) })
            }
        }
    }
}
