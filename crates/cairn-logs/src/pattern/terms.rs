//! Unstructured patterns: terms an event must contain.
//!
//! - A term is a run of letters, digits and `_`, or anything in double quotes (a phrase, `\"` for a quote), or a
//!   `%regex%`. An event contains a term when the term is a substring of it (case-sensitive).
//! - Plain terms must all be contained; `-term` must not be; `?term`s match when any one is contained, and are
//!   ignored, as AWS documents, when the pattern also has plain or `-` terms.
//! - A quoted term of blanks only (`" "`), like the empty pattern, matches everything.
//! - Outside quotes, `-` and `?` start a term; any other character that is not a letter, digit or `_` is refused
//!   (AWS requires such terms to be quoted).

use super::regex::Regex;
use super::value::Cursor;
use crate::{invalid, Result};

#[derive(Debug, Default)]
pub(super) struct Terms {
    include: Vec<Term>,
    exclude: Vec<Term>,
    any: Vec<Term>,
}

#[derive(Debug)]
enum Term {
    Text(String),
    Everything,
    Regex(Regex),
}

impl Term {
    fn found_in(&self, message: &str) -> bool {
        match self {
            Term::Text(t) => message.contains(t.as_str()),
            Term::Everything => true,
            Term::Regex(r) => r.is_match(message),
        }
    }
}

pub(super) fn parse(text: &str, regexes: &mut usize) -> Result<Terms> {
    let mut terms = Terms::default();
    let mut c = Cursor::new(text);
    loop {
        c.skip_blanks();
        let Some(first) = c.peek() else { break };
        let list = match first {
            '-' => {
                c.bump();
                &mut terms.exclude
            }
            '?' => {
                c.bump();
                &mut terms.any
            }
            _ => &mut terms.include,
        };
        // AWS's own examples write `"ERROR" - "Exiting"`: a blank may follow the sign.
        c.skip_blanks();
        let term = match c.peek() {
            None => return invalid(format!("{first:?} is not followed by a term")),
            Some('"') => {
                let phrase = c.quoted()?;
                if phrase.trim().is_empty() {
                    Term::Everything
                } else {
                    Term::Text(phrase)
                }
            }
            Some('%') => Term::Regex(c.regex(regexes)?),
            Some(_) => {
                let mut word = String::new();
                while let Some(ch) = c.peek() {
                    if ch.is_whitespace() || ch == '-' || ch == '?' || ch == '"' {
                        break;
                    }
                    if !(ch.is_alphanumeric() || ch == '_') {
                        return invalid(format!(
                            "invalid character(s) in term: {ch:?} (terms with characters other than letters, digits and _ must be in double quotes)"
                        ));
                    }
                    word.push(ch);
                    c.bump();
                }
                if word.is_empty() {
                    return invalid(format!("{first:?} is not followed by a term"));
                }
                Term::Text(word)
            }
        };
        list.push(term);
    }
    Ok(terms)
}

impl Terms {
    pub(super) fn matches(&self, message: &str) -> bool {
        if !self.include.is_empty() || !self.exclude.is_empty() {
            return self.include.iter().all(|t| t.found_in(message))
                && !self.exclude.iter().any(|t| t.found_in(message));
        }
        self.any.is_empty() || self.any.iter().any(|t| t.found_in(message))
    }
}
