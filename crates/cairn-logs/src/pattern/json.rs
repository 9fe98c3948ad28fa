//! JSON patterns: `{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != "Yes") }`.
//!
//! - A test is `selector op value` ([`super::value`]), `selector IS NULL|TRUE|FALSE` or `selector NOT EXISTS`;
//!   tests join with `&&` and `||`, `&&` binding tighter, with parentheses. `IS NOT` and `EXISTS` alone are
//!   refused, as AWS refuses them.
//! - A selector is `$` then steps: `.name` (letters, digits, `_`, `-`), `[n]`, `.['name with dots']`, and the
//!   wildcards `[*]` and `.*` (one per selector, three per pattern). A wildcard test holds when it holds for any of
//!   the values selected.
//! - A test of a selector that selects nothing, or an object or array, is false whatever its operator; only
//!   `NOT EXISTS` holds for a missing value.
//! - An event that is not JSON matches no JSON pattern.

use serde_json::Value;

use super::value::{Cursor, Literal, Op};
use crate::{invalid, Result};

const MAX_WILDCARDS: usize = 3;

#[derive(Debug)]
pub(super) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Test(Selector, Test),
}

#[derive(Debug)]
pub(super) enum Test {
    Compare(Op, Literal),
    IsNull,
    IsTrue,
    IsFalse,
    NotExists,
}

#[derive(Debug)]
pub(super) struct Selector {
    steps: Vec<Step>,
}

#[derive(Debug)]
enum Step {
    Key(String),
    Index(usize),
    AnyIndex,
    AnyKey,
}

pub(super) fn parse(text: &str, regexes: &mut usize) -> Result<Expr> {
    let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) else {
        return invalid("If a filter pattern starts with '{' it must end with '}'");
    };
    let mut c = Cursor::new(inner);
    let mut wildcards = 0;
    let expr = or(&mut c, regexes, &mut wildcards)?;
    c.skip_blanks();
    if !c.at_end() {
        return invalid(format!("unexpected {:?} in a JSON pattern", c.rest()));
    }
    if wildcards > MAX_WILDCARDS {
        return invalid(format!("{wildcards} wildcard selectors, more than {MAX_WILDCARDS} in one pattern"));
    }
    Ok(expr)
}

fn or(c: &mut Cursor, regexes: &mut usize, wildcards: &mut usize) -> Result<Expr> {
    let mut any = vec![and(c, regexes, wildcards)?];
    loop {
        c.skip_blanks();
        if !c.eat("||") {
            break;
        }
        any.push(and(c, regexes, wildcards)?);
    }
    Ok(if any.len() == 1 { any.remove(0) } else { Expr::Or(any) })
}

fn and(c: &mut Cursor, regexes: &mut usize, wildcards: &mut usize) -> Result<Expr> {
    let mut all = vec![primary(c, regexes, wildcards)?];
    loop {
        c.skip_blanks();
        if !c.eat("&&") {
            break;
        }
        all.push(primary(c, regexes, wildcards)?);
    }
    Ok(if all.len() == 1 { all.remove(0) } else { Expr::And(all) })
}

fn primary(c: &mut Cursor, regexes: &mut usize, wildcards: &mut usize) -> Result<Expr> {
    c.skip_blanks();
    if c.eat("(") {
        let inner = or(c, regexes, wildcards)?;
        c.skip_blanks();
        if !c.eat(")") {
            return invalid("a parenthesis is not closed in a JSON pattern");
        }
        return Ok(inner);
    }
    if c.peek() != Some('$') {
        return invalid(format!("a selector ($.field) is expected at {:?}", c.rest()));
    }
    let selector = Selector::parse(c)?;
    *wildcards += selector.wildcards();
    c.skip_blanks();
    if let Some(op) = c.op() {
        let literal = c.literal(&[')', '}'], regexes)?;
        literal.check(op)?;
        return Ok(Expr::Test(selector, Test::Compare(op, literal)));
    }
    let word = |c: &mut Cursor| {
        c.skip_blanks();
        let start = c.rest();
        let len = start.chars().take_while(char::is_ascii_alphabetic).map(char::len_utf8).sum::<usize>();
        let w = start[..len].to_ascii_uppercase();
        c.eat(&start[..len]);
        w
    };
    let test = match (word(c).as_str(), c) {
        ("IS", c) => match word(c).as_str() {
            "NULL" => Test::IsNull,
            "TRUE" => Test::IsTrue,
            "FALSE" => Test::IsFalse,
            "NOT" => return invalid("IS NOT is not supported (use != or NOT EXISTS)"),
            other => return invalid(format!("IS must be followed by NULL, TRUE or FALSE, not {other:?}")),
        },
        ("NOT", c) => match word(c).as_str() {
            "EXISTS" => Test::NotExists,
            other => return invalid(format!("NOT must be followed by EXISTS, not {other:?}")),
        },
        ("EXISTS", _) => return invalid("EXISTS is not supported (use = * or NOT EXISTS)"),
        ("", c) => return invalid(format!("a comparison is expected at {:?}", c.rest())),
        (other, _) => return invalid(format!("unexpected {other:?} after a selector")),
    };
    Ok(Expr::Test(selector, test))
}

impl Selector {
    /// A selector that is the whole of `text` (as a metric value or dimension names it).
    pub(super) fn parse_all(text: &str) -> Result<Selector> {
        let mut c = Cursor::new(text);
        let s = Selector::parse(&mut c)?;
        if !c.at_end() {
            return invalid(format!("unexpected {:?} after a selector", c.rest()));
        }
        Ok(s)
    }

    fn parse(c: &mut Cursor) -> Result<Selector> {
        c.bump(); // `$`
        let mut steps = Vec::new();
        loop {
            if c.eat(".*") {
                steps.push(Step::AnyKey);
            } else if c.eat(".['") || c.eat("['") {
                let Some(end) = c.rest().find("']") else { return invalid("a selector's ['name'] is not closed") };
                steps.push(Step::Key(c.rest()[..end].to_string()));
                c.eat(&c.rest()[..end + 2]);
            } else if c.eat(".") {
                let name: String =
                    c.rest().chars().take_while(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == '-').collect();
                if name.is_empty() {
                    return invalid(format!("a selector has an empty property name at {:?}", c.rest()));
                }
                c.eat(&name);
                steps.push(Step::Key(name));
            } else if c.eat("[*]") {
                steps.push(Step::AnyIndex);
            } else if c.eat("[") {
                let digits: String = c.rest().chars().take_while(char::is_ascii_digit).collect();
                c.eat(&digits);
                let index = digits.parse().ok().filter(|_| c.eat("]"));
                let Some(index) = index else { return invalid("an array index is [n], [*] or ['name']") };
                steps.push(Step::Index(index));
            } else {
                break;
            }
        }
        if !matches!(steps.first(), Some(Step::Key(_) | Step::AnyKey)) {
            return invalid("a selector starts with $. and a property name");
        }
        let selector = Selector { steps };
        if selector.wildcards() > 1 {
            return invalid("a selector may hold one wildcard ([*] or .*)");
        }
        Ok(selector)
    }

    fn wildcards(&self) -> usize {
        self.steps.iter().filter(|s| matches!(s, Step::AnyIndex | Step::AnyKey)).count()
    }

    /// The values the selector selects in `event`.
    pub(super) fn resolve<'v>(&self, event: &'v Value) -> Vec<&'v Value> {
        let mut current = vec![event];
        for step in &self.steps {
            let mut next = Vec::new();
            for v in current {
                match (step, v) {
                    (Step::Key(k), Value::Object(m)) => next.extend(m.get(k)),
                    (Step::Index(i), Value::Array(a)) => next.extend(a.get(*i)),
                    (Step::AnyIndex, Value::Array(a)) => next.extend(a),
                    (Step::AnyKey, Value::Object(m)) => next.extend(m.values()),
                    _ => {}
                }
            }
            current = next;
        }
        current
    }
}

impl Expr {
    pub(super) fn matches(&self, event: &Value) -> bool {
        match self {
            Expr::Or(any) => any.iter().any(|e| e.matches(event)),
            Expr::And(all) => all.iter().all(|e| e.matches(event)),
            Expr::Test(selector, test) => {
                let values = selector.resolve(event);
                match test {
                    Test::NotExists => values.is_empty(),
                    Test::IsNull => values.iter().any(|v| v.is_null()),
                    Test::IsTrue => values.iter().any(|v| **v == Value::Bool(true)),
                    Test::IsFalse => values.iter().any(|v| **v == Value::Bool(false)),
                    Test::Compare(op, literal) => values.iter().any(|v| literal.matches_node(*op, v)),
                }
            }
        }
    }
}
