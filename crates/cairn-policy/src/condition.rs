//! The Condition element: operators, the `IfExists` suffix, the `ForAnyValue:`/`ForAllValues:` set qualifiers, and
//! how each compares a request's key values with the policy's.
//!
//! Within one condition the policy's values are alternatives (OR) for a positive operator and all excluded (NOR) for
//! a negated one; conditions of a statement must all hold (AND). A key the request lacks fails a positive operator
//! and satisfies a negated one, unless `IfExists` makes any operator hold.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::error::PolicyError;
use crate::pattern::{self, Vars};

/// A condition operator, without its `IfExists` suffix or set qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const OPERATORS: [(&str, Operator); 27] = [
    ("StringEquals", Operator::StringEquals),
    ("StringNotEquals", Operator::StringNotEquals),
    ("StringEqualsIgnoreCase", Operator::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", Operator::StringNotEqualsIgnoreCase),
    ("StringLike", Operator::StringLike),
    ("StringNotLike", Operator::StringNotLike),
    ("NumericEquals", Operator::NumericEquals),
    ("NumericNotEquals", Operator::NumericNotEquals),
    ("NumericLessThan", Operator::NumericLessThan),
    ("NumericLessThanEquals", Operator::NumericLessThanEquals),
    ("NumericGreaterThan", Operator::NumericGreaterThan),
    ("NumericGreaterThanEquals", Operator::NumericGreaterThanEquals),
    ("DateEquals", Operator::DateEquals),
    ("DateNotEquals", Operator::DateNotEquals),
    ("DateLessThan", Operator::DateLessThan),
    ("DateLessThanEquals", Operator::DateLessThanEquals),
    ("DateGreaterThan", Operator::DateGreaterThan),
    ("DateGreaterThanEquals", Operator::DateGreaterThanEquals),
    ("Bool", Operator::Bool),
    ("BinaryEquals", Operator::BinaryEquals),
    ("IpAddress", Operator::IpAddress),
    ("NotIpAddress", Operator::NotIpAddress),
    ("ArnEquals", Operator::ArnEquals),
    ("ArnLike", Operator::ArnLike),
    ("ArnNotEquals", Operator::ArnNotEquals),
    ("ArnNotLike", Operator::ArnNotLike),
    ("Null", Operator::Null),
];

impl Operator {
    pub fn name(self) -> &'static str {
        OPERATORS.iter().find(|(_, o)| *o == self).map_or("", |(n, _)| n)
    }

    /// True for the operators that hold when no policy value matches.
    pub fn negated(self) -> bool {
        use Operator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    /// Whether policy variables are substituted in this operator's values (String and Arn operators).
    fn takes_variables(self) -> bool {
        self.name().starts_with("String") || self.name().starts_with("Arn")
    }
}

/// `ForAnyValue:` or `ForAllValues:`, for keys with several values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

/// One key of one operator of a Condition element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: Operator,
    pub qualifier: Option<SetQualifier>,
    pub if_exists: bool,
    /// The condition key as written (keys are compared case-insensitively).
    pub key: String,
    pub values: Vec<String>,
}

impl Condition {
    /// Parses an operator as written (`ForAnyValue:StringLikeIfExists`) with one key and its values.
    pub(crate) fn parse(op: &str, key: &str, values: Vec<String>) -> Result<Condition, PolicyError> {
        let invalid = || PolicyError::new(format!("Invalid Condition type : {op}"));
        let (qualifier, rest) = match op.split_once(':') {
            Some(("ForAnyValue", rest)) => (Some(SetQualifier::ForAnyValue), rest),
            Some(("ForAllValues", rest)) => (Some(SetQualifier::ForAllValues), rest),
            Some(_) => return Err(invalid()),
            None => (None, op),
        };
        let (name, if_exists) = match rest.strip_suffix("IfExists") {
            Some(n) => (n, true),
            None => (rest, false),
        };
        let operator = OPERATORS.iter().find(|(n, _)| *n == name).map(|(_, o)| *o).ok_or_else(invalid)?;
        if operator == Operator::Null && if_exists {
            return Err(invalid());
        }
        if key.is_empty() || key.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(PolicyError::new(format!("Policy has an invalid condition key: {key:?}")));
        }
        if values.is_empty() {
            return Err(PolicyError::new("Invalid policy syntax."));
        }
        let check = |ok: &dyn Fn(&str) -> bool, what: &str| -> Result<(), PolicyError> {
            match values.iter().find(|v| !ok(v)) {
                Some(v) => Err(PolicyError::new(format!("Invalid {what} in condition {op}: {v:?}"))),
                None => Ok(()),
            }
        };
        use Operator::*;
        match operator {
            Null | Bool => check(&|v| v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"), "boolean")?,
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => check(&|v| number(v).is_some(), "number")?,
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => check(&|v| date(v).is_some(), "date")?,
            IpAddress | NotIpAddress if values.iter().any(|v| Cidr::parse(v).is_none()) => {
                return Err(PolicyError::new("Invalid IP address in Conditions"));
            }
            _ => {}
        }
        Ok(Condition { operator, qualifier, if_exists, key: key.to_string(), values })
    }

    /// Whether the condition holds for the request's values of its key (None: the request lacks the key).
    /// `vars` substitutes policy variables in the values of String and Arn operators (Version 2012-10-17).
    pub(crate) fn holds(&self, present: Option<&[String]>, vars: Option<&dyn Vars>) -> bool {
        let present = present.filter(|v| !v.is_empty());
        if self.operator == Operator::Null {
            let want_absent = self.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
            let want_present = self.values.iter().any(|v| v.eq_ignore_ascii_case("false"));
            return if present.is_none() { want_absent } else { want_present };
        }
        let Some(present) = present else {
            return self.if_exists
                || match self.qualifier {
                    Some(SetQualifier::ForAllValues) => true,
                    Some(SetQualifier::ForAnyValue) => false,
                    None => self.operator.negated(),
                };
        };
        let vars = vars.filter(|_| self.operator.takes_variables());
        let compiled: Vec<Option<Vec<pattern::Token>>> = self
            .values
            .iter()
            .map(|v| pattern::compile(v, matches!(self.operator, Operator::StringLike | Operator::StringNotLike), vars))
            .collect();
        // Whether one request value matches any policy value under the operator's positive form.
        let any_policy = |value: &str| compiled.iter().flatten().any(|p| self.matches(p, value));
        let negated = self.operator.negated();
        match self.qualifier {
            None => present.iter().any(|v| any_policy(v)) != negated,
            Some(SetQualifier::ForAnyValue) => present.iter().any(|v| any_policy(v) != negated),
            Some(SetQualifier::ForAllValues) => present.iter().all(|v| any_policy(v) != negated),
        }
    }

    /// The positive comparison of one request value with one (compiled) policy value.
    fn matches(&self, policy: &[pattern::Token], value: &str) -> bool {
        use Operator::*;
        let text = || pattern::literal(policy);
        match self.operator {
            StringEquals | StringNotEquals => text() == value,
            StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => text().to_lowercase() == value.to_lowercase(),
            StringLike | StringNotLike => pattern::matches(policy, value, false),
            BinaryEquals => text() == value,
            Bool => text().eq_ignore_ascii_case(value),
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => match (number(value), number(&text())) {
                (Some(v), Some(p)) => compare(self.operator, v.partial_cmp(&p)),
                _ => false,
            },
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => match (date(value), date(&text())) {
                (Some(v), Some(p)) => compare(self.operator, Some(v.cmp(&p))),
                _ => false,
            },
            IpAddress | NotIpAddress => {
                match (
                    value.parse::<IpAddr>().ok().or_else(|| Cidr::parse(value).map(|c| c.addr)),
                    Cidr::parse(&text()),
                ) {
                    (Some(ip), Some(net)) => net.contains(ip),
                    _ => false,
                }
            }
            ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => arn_like(policy, value),
            Null => false,
        }
    }
}

fn compare(op: Operator, ord: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    use Operator::*;
    let Some(ord) = ord else { return false };
    match op {
        NumericEquals | NumericNotEquals | DateEquals | DateNotEquals => ord == Equal,
        NumericLessThan | DateLessThan => ord == Less,
        NumericLessThanEquals | DateLessThanEquals => ord != Greater,
        NumericGreaterThan | DateGreaterThan => ord == Greater,
        NumericGreaterThanEquals | DateGreaterThanEquals => ord != Less,
        _ => false,
    }
}

fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    s.parse::<f64>().ok().filter(|n| ok && n.is_finite())
}

/// A date as policies write it (ISO 8601 date or date-time, or epoch seconds), as nanoseconds since the epoch.
fn date(s: &str) -> Option<i128> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok().map(|secs| i128::from(secs) * 1_000_000_000);
    }
    if let Ok(t) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(t.unix_timestamp_nanos());
    }
    let date_only = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(s, date_only) {
        return Some(d.midnight().assume_utc().unix_timestamp_nanos());
    }
    // Without seconds or zone, as some policies write it: 2026-01-01T00:00Z.
    let minutes = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]Z");
    time::PrimitiveDateTime::parse(s, minutes).ok().map(|t| t.assume_utc().unix_timestamp_nanos())
}

/// ARN matching for the Arn operators: the six parts compared one by one, each with wildcards, so a wildcard does
/// not reach across the part it is written in.
fn arn_like(policy: &[pattern::Token], value: &str) -> bool {
    let parts = |tokens: &[pattern::Token]| -> Vec<Vec<pattern::Token>> {
        let mut out = vec![Vec::new()];
        for t in tokens {
            if *t == pattern::Token::Lit(':') && out.len() < 6 {
                out.push(Vec::new());
            } else if let Some(last) = out.last_mut() {
                last.push(*t);
            }
        }
        out
    };
    // ArnEquals and ArnLike both honour wildcards, as AWS documents.
    let tokens: Vec<pattern::Token> = policy
        .iter()
        .map(|t| match t {
            pattern::Token::Lit('*') => pattern::Token::Any,
            pattern::Token::Lit('?') => pattern::Token::One,
            t => *t,
        })
        .collect();
    let p = parts(&tokens);
    let v: Vec<&str> = value.splitn(6, ':').collect();
    p.len() == 6 && v.len() == 6 && p.iter().zip(&v).all(|(p, v)| pattern::matches(p, v, false))
}

/// An address range of IpAddress/NotIpAddress.
#[derive(Debug, Clone, Copy)]
struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    fn parse(s: &str) -> Option<Cidr> {
        let (a, bits) = match s.trim().split_once('/') {
            Some((a, b)) => (a, Some(b.parse::<u8>().ok()?)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Cidr { addr, bits })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4-mapped IPv6 address is its IPv4 address; an IPv4 address is compared with an IPv6 range mapped.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (net, ip, len) = match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => (u128::from(u32::from(n)), u128::from(u32::from(i)), 32),
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
            (IpAddr::V6(n), IpAddr::V4(i)) => (u128::from(n), u128::from(i.to_ipv6_mapped()), 128),
            (IpAddr::V4(_), IpAddr::V6(_)) => return false,
        };
        let shift = len - u32::from(self.bits);
        self.bits == 0 || net >> shift == ip >> shift
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(op: &str, values: &[&str]) -> Condition {
        Condition::parse(op, "k", values.iter().map(|v| v.to_string()).collect()).unwrap()
    }

    fn holds(cond: &Condition, present: Option<&[&str]>) -> bool {
        let owned: Option<Vec<String>> = present.map(|v| v.iter().map(|s| s.to_string()).collect());
        cond.holds(owned.as_deref(), None)
    }

    #[test]
    fn operators_compare_as_aws_documents() {
        /// (operator, policy values, the request's values, holds)
        type Row<'a> = (&'a str, &'a [&'a str], Option<&'a [&'a str]>, bool);
        let rows: &[Row] = &[
            ("StringEquals", &["a", "b"], Some(&["b"]), true),
            ("StringEquals", &["a"], Some(&["A"]), false),
            ("StringEquals", &["a"], None, false),
            ("StringEqualsIfExists", &["a"], None, true),
            ("StringNotEquals", &["a", "b"], Some(&["c"]), true),
            ("StringNotEquals", &["a", "b"], Some(&["b"]), false),
            ("StringNotEquals", &["a"], None, true),
            ("StringEqualsIgnoreCase", &["Abc"], Some(&["aBC"]), true),
            ("StringNotEqualsIgnoreCase", &["Abc"], Some(&["aBC"]), false),
            ("StringLike", &["home/*/x?"], Some(&["home/a/b/xy"]), true),
            ("StringLike", &["home/*/x?"], Some(&["home/a/b/x"]), false),
            ("StringNotLike", &["*.tmp"], Some(&["a.log"]), true),
            ("StringEquals", &["a*"], Some(&["ab"]), false),
            ("NumericLessThan", &["10"], Some(&["9.5"]), true),
            ("NumericLessThan", &["10"], Some(&["10"]), false),
            ("NumericLessThanEquals", &["10"], Some(&["10"]), true),
            ("NumericGreaterThan", &["1e3"], Some(&["1001"]), true),
            ("NumericGreaterThanEquals", &["-5"], Some(&["-5"]), true),
            ("NumericEquals", &["3"], Some(&["three"]), false),
            ("NumericNotEquals", &["3"], Some(&["4"]), true),
            ("DateLessThan", &["2026-01-01T00:00:00Z"], Some(&["2025-12-31T23:59:59Z"]), true),
            ("DateGreaterThan", &["2026-01-01"], Some(&["2026-01-01T00:00:01Z"]), true),
            ("DateEquals", &["1767225600"], Some(&["2026-01-01T00:00:00Z"]), true),
            ("DateGreaterThanEquals", &["2026-06-01T00:00:00+02:00"], Some(&["2026-05-31T22:00:00Z"]), true),
            ("Bool", &["true"], Some(&["TRUE"]), true),
            ("Bool", &["false"], Some(&["true"]), false),
            ("Bool", &["false"], None, false),
            ("BoolIfExists", &["false"], None, true),
            ("IpAddress", &["203.0.113.0/24"], Some(&["203.0.113.9"]), true),
            ("IpAddress", &["203.0.113.0/24"], Some(&["203.0.114.9"]), false),
            ("IpAddress", &["2001:db8::/32"], Some(&["2001:db8:1::5"]), true),
            ("IpAddress", &["10.0.0.1"], Some(&["10.0.0.1"]), true),
            ("IpAddress", &["0.0.0.0/0"], Some(&["192.0.2.1"]), true),
            ("NotIpAddress", &["203.0.113.0/24"], Some(&["198.51.100.1"]), true),
            ("NotIpAddress", &["203.0.113.0/24"], Some(&["203.0.113.1"]), false),
            (
                "ArnLike",
                &["arn:aws:cloudtrail:*:111122223333:trail/*"],
                Some(&["arn:aws:cloudtrail:us-east-1:111122223333:trail/t"]),
                true,
            ),
            (
                "ArnLike",
                &["arn:aws:cloudtrail:*:111122223333:trail/*"],
                Some(&["arn:aws:cloudtrail:us-east-1:444455556666:trail/t"]),
                false,
            ),
            (
                "ArnEquals",
                &["arn:aws:cloudtrail:us-east-1:111122223333:trail/t"],
                Some(&["arn:aws:cloudtrail:us-east-1:111122223333:trail/t"]),
                true,
            ),
            (
                "ArnEquals",
                &["arn:aws:cloudtrail:*:111122223333:trail/t"],
                Some(&["arn:aws:cloudtrail:eu-west-1:111122223333:trail/t"]),
                true,
            ),
            ("ArnLike", &["arn:aws:s3:::*"], Some(&["arn:aws:s3::111122223333:b"]), false),
            ("ArnLike", &["arn:*"], Some(&["arn:aws:s3:::b"]), false),
            ("ArnNotLike", &["arn:aws:iam::*:role/admin*"], Some(&["arn:aws:iam::1:role/dev"]), true),
            ("ArnNotEquals", &["arn:aws:iam::1:role/a"], None, true),
            ("Null", &["true"], None, true),
            ("Null", &["true"], Some(&["x"]), false),
            ("Null", &["false"], Some(&["x"]), true),
            ("Null", &["false"], None, false),
            ("ForAnyValue:StringEquals", &["a", "b"], Some(&["x", "b"]), true),
            ("ForAnyValue:StringEquals", &["a", "b"], Some(&["x", "y"]), false),
            ("ForAnyValue:StringEquals", &["a"], None, false),
            ("ForAnyValue:StringEquals", &["a"], Some(&[]), false),
            ("ForAllValues:StringEquals", &["a", "b"], Some(&["a", "b"]), true),
            ("ForAllValues:StringEquals", &["a", "b"], Some(&["a", "c"]), false),
            ("ForAllValues:StringEquals", &["a"], None, true),
            ("ForAllValues:StringEquals", &["a"], Some(&[]), true),
            ("ForAllValues:StringNotEquals", &["a"], Some(&["b", "c"]), true),
            ("ForAllValues:StringNotEquals", &["a"], Some(&["b", "a"]), false),
            ("ForAnyValue:StringNotEquals", &["a"], Some(&["a", "b"]), true),
            ("ForAnyValue:StringNotEquals", &["a"], Some(&["a"]), false),
            ("ForAnyValue:StringLike", &["tag-*"], Some(&["x", "tag-1"]), true),
            ("StringEquals", &["a"], Some(&["b", "a"]), true),
            ("StringNotEquals", &["a"], Some(&["b", "a"]), false),
        ];
        for (op, values, present, want) in rows {
            assert_eq!(holds(&c(op, values), *present), *want, "{op} {values:?} with {present:?}");
        }
    }

    #[test]
    fn bad_operators_and_values_are_refused() {
        for (op, values) in [
            ("StringEqualz", &["a"][..]),
            ("NullIfExists", &["true"]),
            ("ForSomeValues:StringEquals", &["a"]),
            ("Bool", &["yes"]),
            ("NumericEquals", &["ten"]),
            ("DateLessThan", &["yesterday"]),
            ("IpAddress", &["300.1.1.1/8"]),
            ("IpAddress", &["10.0.0.0/33"]),
            ("StringEquals", &[]),
        ] {
            let values = values.iter().map(|v| v.to_string()).collect();
            assert!(Condition::parse(op, "k", values).is_err(), "{op}");
        }
        assert_eq!(
            Condition::parse("StringEqualz", "k", vec!["a".into()]).unwrap_err().message,
            "Invalid Condition type : StringEqualz"
        );
    }
}
