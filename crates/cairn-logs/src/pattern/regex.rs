//! Regular expressions in filter patterns (`%...%`), in AWS's restricted syntax: ASCII letters and digits, the symbols
//! `: _ # = @ / ; , -` and the blank, the operators `^ $ ? [ ] { } | \ * + .`, and the escapes `\d \D \s \S \w \W`,
//! `\xhh` and `\` before an operator or symbol. No parentheses (`\x28` and `\x29` stand for them), no other
//! characters, no multi-byte characters. A regular expression searches within what it is matched against, case
//! sensitively; `{m,n}` may leave out either bound.
//!
//! What passes is handed to the `regex` crate (bytes, ASCII classes), whose matching takes linear time, so no pattern
//! can make matching slow.

use std::fmt;

use crate::{invalid, Result};

pub(super) struct Regex {
    source: String,
    compiled: regex::bytes::Regex,
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{}%", self.source)
    }
}

const SYMBOLS: &str = ":_#=@/;,- ";
const OPERATORS: &str = "^$?[]{}|\\*+.";

impl Regex {
    /// Checks `body` (between the `%`s) and compiles it.
    pub(super) fn parse(body: &str) -> Result<Regex> {
        if body.is_empty() {
            return invalid("an empty regular expression (%%)");
        }
        let mut out = String::with_capacity(body.len() + 8);
        let mut chars = body.chars().peekable();
        let mut braces = false;
        while let Some(c) = chars.next() {
            match c {
                '(' | ')' => {
                    return invalid(format!(
                        "{c:?} in regular expression %{body}%: parentheses are not supported (match them with \\x28 and \\x29)"
                    ))
                }
                '\\' => match chars.next() {
                    Some(e @ ('d' | 'D' | 's' | 'S' | 'w' | 'W')) => {
                        out.push('\\');
                        out.push(e);
                    }
                    Some('x') => {
                        let hex: String = chars.by_ref().take(2).collect();
                        if hex.len() != 2 || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                            return invalid(format!("\\x must be followed by two hexadecimal digits in %{body}%"));
                        }
                        out.push_str("\\x");
                        out.push_str(&hex);
                    }
                    Some(e) if OPERATORS.contains(e) || SYMBOLS.contains(e) => {
                        out.push_str(&regex::escape(&e.to_string()));
                    }
                    Some(e) => return invalid(format!("unsupported escape \\{e} in regular expression %{body}%")),
                    None => return invalid(format!("regular expression %{body}% ends with \\")),
                },
                '{' => {
                    braces = true;
                    out.push('{');
                    // `{,n}`: AWS lets either bound go; the regex crate wants the lower one.
                    if chars.peek() == Some(&',') {
                        out.push('0');
                    }
                }
                '}' => {
                    braces = false;
                    out.push('}');
                }
                c if c.is_ascii_alphanumeric() || SYMBOLS.contains(c) || OPERATORS.contains(c) => out.push(c),
                c => {
                    return invalid(format!("character {c:?} is not supported in regular expression %{body}%"));
                }
            }
        }
        if braces {
            return invalid(format!("a repetition {{m,n}} is not closed in regular expression %{body}%"));
        }
        let compiled = regex::bytes::RegexBuilder::new(&out)
            .unicode(false)
            .size_limit(1 << 20)
            .dfa_size_limit(1 << 20)
            .build()
            .or_else(|e| {
                invalid(format!("regular expression %{body}% is not valid: {}", first_line(&e.to_string())))
            })?;
        Ok(Regex { source: body.to_string(), compiled })
    }

    pub(super) fn is_match(&self, s: &str) -> bool {
        self.compiled.is_match(s.as_bytes())
    }
}

fn first_line(s: &str) -> &str {
    s.lines().last().unwrap_or(s).trim_start_matches("error: ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(body: &str, s: &str) -> bool {
        Regex::parse(body).unwrap().is_match(s)
    }

    #[test]
    fn the_syntax_aws_documents() {
        assert!(m("^[hc]at", "hat") && !m("^[hc]at", "that"));
        assert!(m("colou?r", "color") && m("colou?r", "colour"));
        assert!(m("a{3,5}", "aaaa") && !m("^a{3,5}$", "aa") && m("^a{,2}$", "aa") && m("^a{2,}$", "aaaaa"));
        assert!(m("^starting|^initializing|^shutting down", "shutting down now"));
        assert!(!m("^starting|^initializing|^shutting down", "skipping initializing"));
        assert!(m("\\[.\\]", "[]]") && m("10\\.10\\.0\\.1", "10.10.0.1") && !m("10\\.10\\.0\\.1", "10010,051"));
        assert!(m("10.10.0.1", "10010,051"));
        assert!(m("\\w", "_") && !m("\\w", "#") && m("\\d{1,3}\\.\\d{1,3}", "10.0") && m("\\x3A", "a:b"));
        assert!(m("\\x28", "f(x)") && m("[Ee]rror|[Ff]ail", "Failure") && m("AUTHORIZED", "UNAUTHORIZED REQUEST"));
        assert!(m("ab[^c]$", "aba") && !m("ab[^c]$", "abc"));
    }

    #[test]
    fn what_aws_refuses() {
        for body in ["", "(a)", "a)", "something!", "caf\u{e9}", "\\q", "\\x4", "a{2", "a\\", "[a", "a{5,2}"] {
            assert!(Regex::parse(body).is_err(), "{body:?}");
        }
    }
}
