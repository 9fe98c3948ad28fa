//! Patterns as policies write them: `*` and `?` wildcards (in Action, Resource and the Like operators) and policy
//! variables (`${aws:username}`, `${*}`, `${aws:username, 'default'}`) substituted from the request.
//!
//! A pattern is compiled per request into tokens, so a substituted value is always literal: a user named `a*` does
//! not match every resource starting with `a`.

/// One unit of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    Lit(char),
    /// `*`: any run of characters, including none.
    Any,
    /// `?`: exactly one character.
    One,
}

/// Where variable values come from; keys are compared case-insensitively.
pub(crate) trait Vars {
    /// The single value of `key`, if the request has one.
    fn var(&self, key: &str) -> Option<String>;
}

/// Compiles `text`. `wildcards`: `*` and `?` are wildcards, else literal; `vars`: `${...}` is substituted (policies
/// of Version 2012-10-17), else literal. None when a variable has no value and no default: the pattern can match
/// nothing.
pub(crate) fn compile(text: &str, wildcards: bool, vars: Option<&dyn Vars>) -> Option<Vec<Token>> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let (Some(vars), true) = (vars, rest.starts_with("${")) {
            if let Some(end) = rest.find('}') {
                let value = substitute(&rest[2..end], vars)?;
                out.extend(value.chars().map(Token::Lit));
                rest = &rest[end + 1..];
                continue;
            }
        }
        out.push(match c {
            '*' if wildcards => Token::Any,
            '?' if wildcards => Token::One,
            c => Token::Lit(c),
        });
        rest = &rest[c.len_utf8()..];
    }
    Some(out)
}

/// The value of the inside of `${...}`: a special character, a key, or `key, 'default'`.
fn substitute(inner: &str, vars: &dyn Vars) -> Option<String> {
    match inner {
        "*" | "?" | "$" => return Some(inner.to_string()),
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((key, d)) => {
            let d = d.trim();
            let quoted = d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'');
            (key.trim(), quoted.then(|| d[1..d.len() - 1].to_string()))
        }
        None => (inner.trim(), None),
    };
    vars.var(key).or(default)
}

/// Whether the tokens match all of `text`.
pub(crate) fn matches(tokens: &[Token], text: &str, ignore_case: bool) -> bool {
    let text: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| if ignore_case { a.to_lowercase().eq(b.to_lowercase()) } else { a == b };
    // Greedy matching with one backtrack point: the last `*` seen, and where in the text it resumed.
    let (mut t, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < text.len() {
        match tokens.get(t) {
            Some(Token::Any) => {
                star = Some((t, i));
                t += 1;
            }
            Some(Token::One) => {
                t += 1;
                i += 1;
            }
            Some(Token::Lit(c)) if eq(*c, text[i]) => {
                t += 1;
                i += 1;
            }
            _ => match star {
                Some((st, si)) => {
                    t = st + 1;
                    i = si + 1;
                    star = Some((st, si + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(|k| *k == Token::Any)
}

/// The literal text of tokens compiled without wildcards.
pub(crate) fn literal(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|t| match t {
            Token::Lit(c) => *c,
            Token::Any => '*',
            Token::One => '?',
        })
        .collect()
}

/// Whether `text` matches `pattern`, whose `*` and `?` are wildcards (no variables), as Action and Resource match.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    compile(pattern, true, None).is_some_and(|t| matches(&t, text, ignore_case))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Map(HashMap<&'static str, &'static str>);
    impl Vars for Map {
        fn var(&self, key: &str) -> Option<String> {
            self.0.get(key.to_ascii_lowercase().as_str()).map(|v| v.to_string())
        }
    }

    #[test]
    fn wildcards() {
        for (p, t, want) in [
            ("*", "", true),
            ("*", "anything/at:all", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*/AWSLogs/*", "p/AWSLogs/1/x", true),
            ("arn:aws:s3:::b/*", "arn:aws:s3:::b", false),
            ("arn:aws:s3:::b*", "arn:aws:s3:::b", true),
            ("**a", "a", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("ü?", "üx", true),
        ] {
            assert_eq!(glob(p, t, false), want, "{p} ~ {t}");
        }
        assert!(glob("s3:Get*", "S3:getobject", true));
        assert!(!glob("s3:Get*", "S3:getobject", false));
    }

    #[test]
    fn variables_are_literal_and_missing_ones_match_nothing() {
        let vars = Map(HashMap::from([("aws:username", "a*"), ("aws:principalaccount", "111122223333")]));
        let t = compile("arn:aws:s3:::b/${aws:username}/*", true, Some(&vars)).unwrap();
        assert!(matches(&t, "arn:aws:s3:::b/a*/x", false));
        assert!(!matches(&t, "arn:aws:s3:::b/abc/x", false), "a substituted value is literal");
        let t = compile("AWSLogs/o-1/${aws:PrincipalAccount}/*", true, Some(&vars)).unwrap();
        assert!(matches(&t, "AWSLogs/o-1/111122223333/CloudTrail/x", false));
        assert!(compile("${aws:userid}", true, Some(&vars)).is_none());
        assert_eq!(literal(&compile("${aws:userid, 'nobody'}", true, Some(&vars)).unwrap()), "nobody");
        let t = compile("a${*}b${?}${$}", true, Some(&vars)).unwrap();
        assert!(matches(&t, "a*b?$", false));
        assert!(!matches(&t, "aXb?$", false), "${{*}} is a literal star");
        // Without variables (Version 2008-10-17) the text is literal.
        assert_eq!(literal(&compile("${aws:username}", false, None).unwrap()), "${aws:username}");
    }
}
