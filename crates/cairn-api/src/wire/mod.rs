//! The wire formats of AWS services that are not AWS JSON 1.1: Smithy RPC v2 CBOR and the query protocol (form
//! requests, XML answers), beside AWS JSON 1.0. A request in any of them decodes to one JSON value that handlers
//! read with the lenient accessors here (a number may arrive as a query string's text, a timestamp as CBOR epoch
//! seconds or as ISO 8601 text); an answer is a [`Node`] tree that renders in whichever protocol asked.

pub mod cbor;
pub mod query;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An answer's shape, with the distinctions the wire formats need: integers apart from doubles (CBOR types them),
/// timestamps apart from numbers (CBOR tags them, XML writes them as text), and maps apart from structures (XML
/// writes a map's pairs as `entry` elements).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Milliseconds since the epoch.
    Time(i64),
    List(Vec<Node>),
    Struct(Vec<(String, Node)>),
    Map(Vec<(String, Node)>),
}

impl Node {
    /// An empty structure, to fill with [`Node::with`].
    pub fn object() -> Node {
        Node::Struct(Vec::new())
    }

    /// Adds a member to a structure or map; a [`Node::Null`] member is left out.
    pub fn with(mut self, name: &str, value: impl Into<Node>) -> Node {
        let value = value.into();
        if let (Node::Struct(m) | Node::Map(m), false) = (&mut self, value == Node::Null) {
            m.push((name.to_string(), value));
        }
        self
    }

    pub fn str(s: impl Into<String>) -> Node {
        Node::Str(s.into())
    }

    pub fn list<T: Into<Node>>(items: impl IntoIterator<Item = T>) -> Node {
        Node::List(items.into_iter().map(Into::into).collect())
    }

    /// The answer as AWS JSON 1.0: timestamps as epoch seconds.
    pub fn to_json(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::from(*i),
            Node::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null),
            Node::Str(s) => Value::String(s.clone()),
            Node::Time(ms) => Value::from(*ms as f64 / 1000.0),
            Node::List(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Node::Struct(m) | Node::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }
}

impl From<&str> for Node {
    fn from(s: &str) -> Node {
        Node::Str(s.to_string())
    }
}

impl From<String> for Node {
    fn from(s: String) -> Node {
        Node::Str(s)
    }
}

impl From<bool> for Node {
    fn from(b: bool) -> Node {
        Node::Bool(b)
    }
}

impl From<i64> for Node {
    fn from(i: i64) -> Node {
        Node::Int(i)
    }
}

impl From<f64> for Node {
    fn from(f: f64) -> Node {
        Node::Float(f)
    }
}

impl<T: Into<Node>> From<Option<T>> for Node {
    fn from(o: Option<T>) -> Node {
        o.map(Into::into).unwrap_or(Node::Null)
    }
}

/// Formats a time as the query protocol writes timestamps: ISO 8601 in UTC with milliseconds.
pub fn iso8601(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Why a member could not be read: its name and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadMember {
    pub member: String,
    pub expected: &'static str,
}

impl std::fmt::Display for BadMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "The parameter {} must be {}.", self.member, self.expected)
    }
}

type Read<T> = Result<Option<T>, BadMember>;

fn bad(member: &str, expected: &'static str) -> BadMember {
    BadMember { member: member.to_string(), expected }
}

/// A text member.
pub fn text<'v>(input: &'v Value, member: &str) -> Read<&'v str> {
    match &input[member] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(bad(member, "a string")),
    }
}

/// A number member, from a number or (query protocol) its text.
pub fn number(input: &Value, member: &str) -> Read<f64> {
    match &input[member] {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_f64().map(Some).ok_or_else(|| bad(member, "a number")),
        // Rust's parser takes `NaN` and `inf`, which no AWS number is.
        Value::String(s) => {
            s.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map(Some).ok_or_else(|| bad(member, "a number"))
        }
        _ => Err(bad(member, "a number")),
    }
}

/// An integer member.
pub fn integer(input: &Value, member: &str) -> Read<i64> {
    match number(input, member)? {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
        Some(_) => Err(bad(member, "an integer")),
        None => Ok(None),
    }
}

/// A boolean member, from a boolean or the text `true`/`false`.
pub fn boolean(input: &Value, member: &str) -> Read<bool> {
    match &input[member] {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        _ => Err(bad(member, "a boolean")),
    }
}

/// A timestamp member in milliseconds: epoch seconds (JSON, CBOR, or their text) or ISO 8601 text.
pub fn timestamp(input: &Value, member: &str) -> Read<i64> {
    match &input[member] {
        Value::Null => Ok(None),
        Value::Number(n) => {
            n.as_f64().map(|s| Some((s * 1000.0).round() as i64)).ok_or_else(|| bad(member, "a timestamp"))
        }
        Value::String(s) => {
            if let Ok(secs) = s.parse::<f64>() {
                if !secs.is_finite() {
                    return Err(bad(member, "a timestamp"));
                }
                return Ok(Some((secs * 1000.0).round() as i64));
            }
            let t = OffsetDateTime::parse(s, &Rfc3339)
                .or_else(|_| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
                .map_err(|_| bad(member, "a timestamp"))?;
            Ok(Some((t.unix_timestamp_nanos() / 1_000_000) as i64))
        }
        _ => Err(bad(member, "a timestamp")),
    }
}

/// A list member; the query protocol's empty text (`Member=`) is an empty list.
pub fn list<'v>(input: &'v Value, member: &str) -> Read<&'v [Value]> {
    match &input[member] {
        Value::Null => Ok(None),
        Value::Array(items) => Ok(Some(items)),
        Value::String(s) if s.is_empty() => Ok(Some(&[])),
        _ => Err(bad(member, "a list")),
    }
}

/// A list of text members.
pub fn texts(input: &Value, member: &str) -> Read<Vec<String>> {
    let Some(items) = list(input, member)? else { return Ok(None) };
    items
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(|| bad(member, "a list of strings")))
        .collect::<Result<_, _>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accessors_read_every_protocols_forms() {
        let v = json!({"n": "2.5", "i": 3, "b": "TRUE", "t": "2026-12-05T10:00:00Z", "e": 1.5, "l": "", "s": ["a"]});
        assert_eq!(number(&v, "n").unwrap(), Some(2.5));
        assert_eq!(integer(&v, "i").unwrap(), Some(3));
        assert!(integer(&v, "n").is_err());
        assert_eq!(boolean(&v, "b").unwrap(), Some(true));
        assert_eq!(timestamp(&v, "t").unwrap(), Some(1_796_464_800_000));
        assert_eq!(timestamp(&v, "e").unwrap(), Some(1500));
        assert_eq!(list(&v, "l").unwrap().map(<[Value]>::len), Some(0));
        assert_eq!(texts(&v, "s").unwrap(), Some(vec!["a".to_string()]));
        assert_eq!(text(&v, "missing").unwrap(), None);
        assert_eq!(text(&v, "i").unwrap_err().to_string(), "The parameter i must be a string.");
        assert_eq!(iso8601(1_796_464_800_123), "2026-12-05T10:00:00.123Z");
    }

    #[test]
    fn nodes_leave_out_null_members() {
        let n = Node::object().with("A", 1i64).with("B", Option::<String>::None).with("T", Node::Time(1500));
        assert_eq!(n.to_json(), json!({"A": 1, "T": 1.5}));
    }
}
