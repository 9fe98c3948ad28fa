//! Space-delimited patterns: `[ip, user, ..., status_code = 4* || status_code = 5*, bytes > 1000]`.
//!
//! The pattern names the event's fields in order. A field is a name, a name with conditions on it (comparisons joined
//! by `&&` and `||`, `&&` first, parentheses allowed, every one about that field), empty (unnamed), or `...`, which
//! stands for any number of fields and may appear once.
//!
//! The event splits at blanks; text in `[...]` or `"..."` is one field, without its brackets or quotes. Fields before
//! `...` are the event's first ones, fields after it its last ones. Without `...`, the last field takes the rest of
//! the event, as AWS's subscription filters do (`[timestamp, request_id, event]`). An event with fewer fields than the
//! pattern does not match.
//!
//! A match extracts every field: `$name`, or `$position` (1-based) for one the pattern leaves unnamed.

use super::value::{Cursor, Literal, Op};
use crate::{invalid, Result};

#[derive(Debug)]
pub(super) struct Delimited {
    slots: Vec<Slot>,
    /// Where `...` is among the slots.
    ellipsis: Option<usize>,
}

#[derive(Debug)]
struct Slot {
    name: Option<String>,
    condition: Option<Condition>,
}

#[derive(Debug)]
enum Condition {
    Or(Vec<Condition>),
    And(Vec<Condition>),
    Compare(Op, Literal),
}

impl Condition {
    fn holds(&self, field: &str) -> bool {
        match self {
            Condition::Or(any) => any.iter().any(|c| c.holds(field)),
            Condition::And(all) => all.iter().all(|c| c.holds(field)),
            Condition::Compare(op, literal) => literal.matches_text(*op, field),
        }
    }
}

pub(super) fn parse(text: &str, regexes: &mut usize) -> Result<Delimited> {
    let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
        return invalid("a space-delimited pattern starts with [ and ends with ]");
    };
    let mut slots = Vec::new();
    let mut ellipsis = None;
    for part in split_slots(inner)? {
        let part = part.trim();
        if part == "..." {
            if ellipsis.is_some() {
                return invalid("Duplicate field '...'");
            }
            ellipsis = Some(slots.len());
            slots.push(Slot { name: None, condition: None });
        } else if part.is_empty() {
            slots.push(Slot { name: None, condition: None });
        } else {
            slots.push(slot(part, regexes)?);
        }
    }
    if slots.len() == 1 && slots[0].name.is_none() && ellipsis.is_none() {
        return invalid("a space-delimited pattern names at least one field");
    }
    Ok(Delimited { slots, ellipsis })
}

/// The text of each slot: commas outside quotes, regular expressions and parentheses separate them.
fn split_slots(inner: &str) -> Result<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut start, mut depth, mut quoted, mut regex, mut escaped) = (0, 0i32, false, false, false);
    for (i, c) in inner.char_indices() {
        if quoted {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => quoted = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' if !regex => quoted = true,
            '%' => regex = !regex,
            '(' if !regex => depth += 1,
            ')' if !regex => depth -= 1,
            ',' if !regex && depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted || regex || depth != 0 {
        return invalid("unbalanced quotes, % or parentheses in a space-delimited pattern");
    }
    parts.push(&inner[start..]);
    Ok(parts)
}

/// One slot with a name: `name`, or conditions on it.
fn slot(text: &str, regexes: &mut usize) -> Result<Slot> {
    if is_name(text) {
        return Ok(Slot { name: Some(text.to_string()), condition: None });
    }
    let mut c = Cursor::new(text);
    let mut name: Option<String> = None;
    let condition = or(&mut c, &mut name, regexes)?;
    c.skip_blanks();
    if !c.at_end() {
        return invalid(format!("unexpected {:?} in field {text:?}", c.rest()));
    }
    Ok(Slot { name, condition: Some(condition) })
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

fn or(c: &mut Cursor, name: &mut Option<String>, regexes: &mut usize) -> Result<Condition> {
    let mut any = vec![and(c, name, regexes)?];
    loop {
        c.skip_blanks();
        if !c.eat("||") {
            break;
        }
        any.push(and(c, name, regexes)?);
    }
    Ok(if any.len() == 1 { any.remove(0) } else { Condition::Or(any) })
}

fn and(c: &mut Cursor, name: &mut Option<String>, regexes: &mut usize) -> Result<Condition> {
    let mut all = vec![primary(c, name, regexes)?];
    loop {
        c.skip_blanks();
        if !c.eat("&&") {
            break;
        }
        all.push(primary(c, name, regexes)?);
    }
    Ok(if all.len() == 1 { all.remove(0) } else { Condition::And(all) })
}

fn primary(c: &mut Cursor, name: &mut Option<String>, regexes: &mut usize) -> Result<Condition> {
    c.skip_blanks();
    if c.eat("(") {
        let inner = or(c, name, regexes)?;
        c.skip_blanks();
        if !c.eat(")") {
            return invalid("a parenthesis is not closed in a space-delimited field");
        }
        return Ok(inner);
    }
    let mut field = String::new();
    while let Some(ch) = c.peek().filter(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == '-') {
        field.push(ch);
        c.bump();
    }
    if field.is_empty() {
        return invalid(format!("a field name is expected at {:?}", c.rest()));
    }
    match name {
        None => *name = Some(field.clone()),
        Some(n) if *n == field => {}
        Some(n) => return invalid(format!("conditions in field {n:?} name another field, {field:?}")),
    }
    c.skip_blanks();
    let Some(op) = c.op() else { return invalid(format!("field {field:?} has no comparison operator")) };
    let literal = c.literal(&[')'], regexes)?;
    literal.check(op)?;
    Ok(Condition::Compare(op, literal))
}

/// The event's fields: (text, byte offset where the field starts in the event).
fn fields(message: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let b = message.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let close = match b[i] {
            b'[' => Some(b']'),
            b'"' => Some(b'"'),
            _ => None,
        };
        match close {
            Some(close) => {
                let end = message[i + 1..].find(close as char).map_or(b.len(), |e| i + 1 + e);
                out.push((&message[i + 1..end], start));
                i = end + 1;
            }
            None => {
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                out.push((&message[start..i], start));
            }
        }
    }
    out
}

impl Delimited {
    pub(super) fn matches(&self, message: &str) -> Option<Vec<(String, String)>> {
        let fields = fields(message);
        let named = self.slots.len() - usize::from(self.ellipsis.is_some());
        if fields.len() < named {
            return None;
        }
        // Each event field's slot, or None for those `...` covers.
        let mut slot_of: Vec<Option<usize>> = Vec::with_capacity(fields.len());
        let mut values: Vec<&str> = fields.iter().map(|(v, _)| *v).collect();
        match self.ellipsis {
            Some(e) => {
                let after = self.slots.len() - e - 1;
                slot_of.extend((0..e).map(Some));
                slot_of.extend(std::iter::repeat_n(None, fields.len() - e - after));
                slot_of.extend((e + 1..self.slots.len()).map(Some));
            }
            None => {
                // The last slot takes the rest of the event.
                let last = self.slots.len() - 1;
                if fields.len() > self.slots.len() {
                    values.truncate(self.slots.len());
                    values[last] = message[fields[last].1..].trim_end();
                }
                slot_of.extend((0..self.slots.len()).map(Some));
            }
        }
        let mut extracted = Vec::with_capacity(values.len());
        for (position, (value, slot)) in values.iter().zip(&slot_of).enumerate() {
            let slot = slot.map(|s| &self.slots[s]);
            if let Some(condition) = slot.and_then(|s| s.condition.as_ref()) {
                if !condition.holds(value) {
                    return None;
                }
            }
            let name = match slot.and_then(|s| s.name.as_deref()) {
                Some(name) => format!("${name}"),
                None => format!("${}", position + 1),
            };
            extracted.push((name, value.to_string()));
        }
        Some(extracted)
    }
}
