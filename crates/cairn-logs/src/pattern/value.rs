//! The values that space-delimited and JSON patterns compare fields with, how they are read from the pattern, and
//! how each operator compares them with a field.
//!
//! - `*` alone: any value (the field exists with one).
//! - A string, bare (`kms.amazonaws.com`, `4*`) or in double quotes (`"AccessDenied*"`): `*` at its start and/or
//!   end is a wildcard; one inside is itself. Only `=` and `!=` compare strings.
//! - A number (`400`, `-1.5`, `+10e-3`): compared as a number with a numeric field; a field that is a string of
//!   plain decimal digits counts as one ("strings don't support scientific notation").
//! - `%regex%`: a search within the field ([`super::regex`]).
//!
//! A field that is an object, an array, a boolean or null equals nothing and differs from nothing.

use serde_json::Value;

use super::regex::Regex;
use crate::{invalid, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug)]
pub(super) enum Literal {
    Any,
    Text { text: String, prefix: bool, suffix: bool },
    Number { value: f64, text: String },
    Regex(Regex),
}

/// A position in the pattern's text.
#[derive(Debug)]
pub(super) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, pos: 0 }
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(super) fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    pub(super) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    pub(super) fn eat(&mut self, s: &str) -> bool {
        let found = self.rest().starts_with(s);
        if found {
            self.pos += s.len();
        }
        found
    }

    pub(super) fn skip_blanks(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// Reads a comparison operator, if one is next.
    pub(super) fn op(&mut self) -> Option<Op> {
        for (s, op) in [("!=", Op::Ne), ("<=", Op::Le), (">=", Op::Ge), ("=", Op::Eq), ("<", Op::Lt), (">", Op::Gt)] {
            if self.eat(s) {
                return Some(op);
            }
        }
        None
    }

    /// Reads a double-quoted string (the cursor on its opening quote); `\"` and `\\` stand for `"` and `\`.
    pub(super) fn quoted(&mut self) -> Result<String> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return invalid("a double-quoted string is not closed"),
                Some('"') => return Ok(out),
                Some('\\') if matches!(self.peek(), Some('"' | '\\')) => out.extend(self.bump()),
                Some(c) => out.push(c),
            }
        }
    }

    /// Reads `%regex%` (the cursor on its opening `%`), counting it.
    pub(super) fn regex(&mut self, regexes: &mut usize) -> Result<Regex> {
        self.bump();
        let Some(end) = self.rest().find('%') else { return invalid("a regular expression (%...%) is not closed") };
        let body = &self.rest()[..end];
        self.pos += end + 1;
        *regexes += 1;
        Regex::parse(body)
    }

    /// Reads the value after an operator: `"quoted"`, `%regex%`, or a bare token that ends at a blank or at one of
    /// `stops` (or at `&&`/`||`).
    pub(super) fn literal(&mut self, stops: &[char], regexes: &mut usize) -> Result<Literal> {
        self.skip_blanks();
        match self.peek() {
            Some('"') => Ok(Literal::text(&self.quoted()?)),
            Some('%') => Ok(Literal::Regex(self.regex(regexes)?)),
            Some('\'') => invalid("single quotes are not supported: quote strings with double quotes"),
            _ => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if c.is_whitespace()
                        || stops.contains(&c)
                        || self.rest().starts_with("&&")
                        || self.rest().starts_with("||")
                    {
                        break;
                    }
                    if !(c.is_alphanumeric() || "_.*+-:/".contains(c)) {
                        return invalid(format!("character {c:?} in a value: values with it must be in double quotes"));
                    }
                    self.bump();
                }
                let token = &self.text[start..self.pos];
                if token.is_empty() {
                    return invalid("a comparison has no value");
                }
                Ok(match number(token) {
                    Some(value) => Literal::Number { value, text: token.to_string() },
                    None => Literal::text(token),
                })
            }
        }
    }
}

/// A number as patterns write them: an optional sign, digits with an optional fraction, an optional exponent.
pub fn number(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    let whole = digits(&mut i);
    let fraction = b.get(i) == Some(&b'.') && {
        i += 1;
        digits(&mut i)
    };
    if !whole && !fraction {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        i += usize::from(matches!(b.get(i), Some(b'+' | b'-')));
        if !digits(&mut i) {
            return None;
        }
    }
    (i == b.len()).then(|| s.parse().ok()).flatten()
}

/// A string field as a number: plain decimals only.
fn plain_number(s: &str) -> Option<f64> {
    if s.contains(['e', 'E']) {
        return None;
    }
    number(s)
}

impl Literal {
    /// A string value, with its `*` wildcards.
    pub(super) fn text(s: &str) -> Literal {
        if !s.is_empty() && s.chars().all(|c| c == '*') {
            return Literal::Any;
        }
        let prefix = s.starts_with('*');
        let suffix = s.len() > usize::from(prefix) && s.ends_with('*');
        let text = &s[usize::from(prefix)..s.len() - usize::from(suffix)];
        Literal::Text { text: text.to_string(), prefix, suffix }
    }

    /// Refuses what AWS refuses: ordering a string, a wildcard or a regular expression.
    pub(super) fn check(&self, op: Op) -> Result<()> {
        match (self, op) {
            (Literal::Number { .. }, _) | (_, Op::Eq | Op::Ne) => Ok(()),
            _ => invalid("<, <=, > and >= compare numbers only"),
        }
    }

    /// Compares a field's text (space-delimited patterns).
    pub(super) fn matches_text(&self, op: Op, field: &str) -> bool {
        match self {
            Literal::Any => op == Op::Eq,
            Literal::Text { text, prefix, suffix } => (op == Op::Eq) == wildcard(text, *prefix, *suffix, field),
            Literal::Regex(r) => (op == Op::Eq) == r.is_match(field),
            Literal::Number { value, text } => match plain_number(field).or_else(|| number(field)) {
                Some(n) => compare(op, n, *value),
                None => match op {
                    Op::Eq => field == text,
                    Op::Ne => field != text,
                    _ => false,
                },
            },
        }
    }

    /// Compares a JSON node (JSON patterns): strings and numbers only.
    pub(super) fn matches_node(&self, op: Op, node: &Value) -> bool {
        match node {
            Value::String(s) => match self {
                Literal::Number { value, .. } => match plain_number(s) {
                    Some(n) => compare(op, n, *value),
                    None => op == Op::Ne,
                },
                _ => self.matches_text(op, s),
            },
            Value::Number(n) => match self {
                Literal::Number { value, .. } => n.as_f64().is_some_and(|n| compare(op, n, *value)),
                _ => self.matches_text(op, &n.to_string()),
            },
            _ => false,
        }
    }
}

fn compare(op: Op, a: f64, b: f64) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
    }
}

fn wildcard(text: &str, prefix: bool, suffix: bool, field: &str) -> bool {
    match (prefix, suffix) {
        (false, false) => field == text,
        (true, false) => field.ends_with(text),
        (false, true) => field.starts_with(text),
        (true, true) => field.contains(text),
    }
}

/// A JSON value as a metric value or dimension reads it: strings as they are, numbers and booleans as JSON text.
pub(super) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_patterns_write_them() {
        for (s, want) in [
            ("400", Some(400.0)),
            ("-1.5", Some(-1.5)),
            ("+10e-3", Some(0.01)),
            ("1e+3", Some(1000.0)),
            ("55.", Some(55.0)),
            (".5", Some(0.5)),
            ("10E3", Some(10000.0)),
            ("1e", None),
            ("e3", None),
            ("4*", None),
            ("123.123.1", None),
            ("", None),
            ("-", None),
            ("0x10", None),
        ] {
            assert_eq!(number(s), want, "{s}");
        }
    }

    #[test]
    fn wildcards_only_at_the_ends() {
        let m = |pattern: &str, field: &str| Literal::text(pattern).matches_text(Op::Eq, field);
        assert!(m("*Event", "PutEvent") && m("Event*", "EventName") && m("*html*", "GET /index.html"));
        assert!(m("Ev*ent", "Ev*ent") && !m("Ev*ent", "Event"));
        assert!(m("*", "anything") && m("AccessDenied*", "AccessDenied"));
        assert!(!Literal::text("*").matches_text(Op::Ne, "x"));
    }
}
