//! Resource tags: key/value rules and the 50-tag limit per resource.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Most tags one trail, event data store, dashboard or channel may carry.
pub const MAX_TAGS_PER_RESOURCE: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

fn allowed(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

/// Validates tags given in one request: key and value rules, no key twice.
pub fn validate(tags: &[Tag]) -> Result<()> {
    let bad = |m: String| Err(Error::InvalidTagParameter(m));
    for (i, t) in tags.iter().enumerate() {
        let len = t.key.chars().count();
        if !(1..=128).contains(&len) || !t.key.chars().all(allowed) {
            return bad(format!("tag key {:?} is not valid: 1 to 128 letters, digits, spaces or _.:/=+-@", t.key));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return bad(format!("tag key {:?} uses the reserved prefix aws:", t.key));
        }
        if let Some(v) = &t.value {
            if v.chars().count() > 256 || !v.chars().all(allowed) {
                return bad(format!(
                    "tag value {v:?} for key {:?} is not valid: at most 256 letters, digits, spaces or _.:/=+-@",
                    t.key
                ));
            }
        }
        if tags[..i].iter().any(|o| o.key == t.key) {
            return bad(format!("tag key {:?} is given more than once", t.key));
        }
    }
    Ok(())
}

/// Adds `new` to `existing` (a key already present takes the new value), enforcing the per-resource limit.
pub fn merge(existing: &[Tag], new: &[Tag]) -> Result<Vec<Tag>> {
    validate(new)?;
    let mut out = existing.to_vec();
    for t in new {
        match out.iter_mut().find(|o| o.key == t.key) {
            Some(o) => o.value = t.value.clone(),
            None => out.push(t.clone()),
        }
    }
    if out.len() > MAX_TAGS_PER_RESOURCE {
        return Err(Error::TagsLimitExceeded(format!(
            "a resource can have at most {MAX_TAGS_PER_RESOURCE} tags, this would make {}",
            out.len()
        )));
    }
    Ok(out)
}

/// Removes the tags named by `remove` (by key; a given value must match).
pub fn remove(existing: &[Tag], remove: &[Tag]) -> Result<Vec<Tag>> {
    validate(remove)?;
    Ok(existing
        .iter()
        .filter(|t| !remove.iter().any(|r| r.key == t.key && (r.value.is_none() || r.value == t.value)))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: Option<&str>) -> Tag {
        Tag { key: k.into(), value: v.map(Into::into) }
    }

    #[test]
    fn tag_rules() {
        assert!(validate(&[tag("env", Some("prod")), tag("team", None)]).is_ok());
        assert!(validate(&[tag("", None)]).is_err());
        assert!(validate(&[tag(&"k".repeat(129), None)]).is_err());
        assert!(validate(&[tag("aws:secret", None)]).is_err());
        assert!(validate(&[tag("k", Some(&"v".repeat(257)))]).is_err());
        assert!(validate(&[tag("k", Some("bad#char"))]).is_err());
        assert!(validate(&[tag("k", None), tag("k", None)]).is_err());
    }

    #[test]
    fn merge_and_remove() {
        let a = merge(&[tag("a", Some("1"))], &[tag("a", Some("2")), tag("b", None)]).unwrap();
        assert_eq!(a, vec![tag("a", Some("2")), tag("b", None)]);
        let full: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), None)).collect();
        assert!(merge(&full, &[tag("k0", Some("x"))]).is_ok());
        assert!(matches!(merge(&full, &[tag("new", None)]), Err(Error::TagsLimitExceeded(_))));
        assert_eq!(remove(&a, &[tag("a", Some("wrong"))]).unwrap().len(), 2);
        assert_eq!(remove(&a, &[tag("a", None)]).unwrap(), vec![tag("b", None)]);
    }
}
