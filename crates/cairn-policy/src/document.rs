//! The policy document: its JSON grammar, checked strictly (unknown fields, wrong types and empty lists are
//! refused), and the service-specific rules a [`Dialect`] adds (which actions and resources the service knows).

use serde_json::{Map, Value};

use crate::condition::Condition;
use crate::error::PolicyError;

/// The policy language version. Policy variables are substituted only in `2012-10-17` policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2008_10_17,
    V2012_10_17,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// A list of patterns that matches what it lists (`Action`, `Resource`) or what it does not (`NotAction`,
/// `NotResource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values {
    pub negated: bool,
    pub items: Vec<String>,
}

/// The principals of a `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principals {
    pub negated: bool,
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous callers included.
    pub everyone: bool,
    /// `AWS`: account ids and IAM ARNs, as written.
    pub aws: Vec<String>,
    /// `Service`: service principals (`cloudtrail.amazonaws.com`).
    pub service: Vec<String>,
    /// `Federated` and `CanonicalUser`: kept, never matched (cairn has neither).
    pub other: Vec<String>,
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<Principals>,
    pub action: Values,
    pub resource: Option<Values>,
    pub conditions: Vec<Condition>,
}

/// A parsed, validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub version: Version,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

/// What the service holding a policy adds to the grammar.
pub trait Dialect {
    /// Largest document, in bytes.
    fn max_bytes(&self) -> usize;
    /// Whether a statement must name principals (resource policies do).
    fn requires_principal(&self) -> bool {
        true
    }
    /// Whether a statement must name resources.
    fn requires_resource(&self) -> bool {
        true
    }
    /// Checks an action as written (wildcards allowed); the error is the service's message.
    fn check_action(&self, action: &str) -> Result<(), PolicyError>;
    /// Checks a resource as written.
    fn check_resource(&self, resource: &str) -> Result<(), PolicyError>;
    /// Checks a condition key (AWS accepts any `aws:` key; a service refuses its own keys it does not know).
    fn check_condition_key(&self, _key: &str) -> Result<(), PolicyError> {
        Ok(())
    }
    /// Checks a whole statement once its parts are valid (for example, that its actions apply to its resources).
    fn check_statement(&self, _statement: &Statement) -> Result<(), PolicyError> {
        Ok(())
    }
}

fn malformed(message: impl Into<String>) -> PolicyError {
    PolicyError::new(message)
}

impl Policy {
    /// Parses and validates a policy document.
    pub fn parse(text: &str, dialect: &dyn Dialect) -> Result<Policy, PolicyError> {
        if !text.trim_start().starts_with('{') {
            return Err(malformed("Policies must be valid JSON and the first byte must be '{'"));
        }
        let value: Value = serde_json::from_str(text).map_err(|_| malformed("This policy contains invalid Json"))?;
        // The size limit applies to the document without insignificant whitespace.
        let normalized = serde_json::to_string(&value).map_or(text.len(), |s| s.len());
        if normalized > dialect.max_bytes() {
            return Err(PolicyError {
                too_large: true,
                message: format!(
                    "Normalized policy document exceeds the maximum allowed size of {} bytes",
                    dialect.max_bytes()
                ),
            });
        }
        let Value::Object(top) = value else {
            return Err(malformed("Policies must be valid JSON and the first byte must be '{'"));
        };
        let mut version = Version::V2008_10_17;
        let mut id = None;
        let mut statements = None;
        for (k, v) in top {
            match k.as_str() {
                "Version" => {
                    version = match v.as_str() {
                        Some("2012-10-17") => Version::V2012_10_17,
                        Some("2008-10-17") => Version::V2008_10_17,
                        _ => return Err(malformed("The policy must contain a valid version string")),
                    }
                }
                "Id" => id = Some(string(&v)?),
                "Statement" => {
                    let list = match v {
                        Value::Array(list) => list,
                        obj @ Value::Object(_) => vec![obj],
                        _ => return Err(syntax()),
                    };
                    if list.is_empty() {
                        return Err(malformed("Could not parse the policy: Statement is empty!"));
                    }
                    statements = Some(list);
                }
                _ => return Err(syntax()),
            }
        }
        let statements = statements.ok_or_else(|| malformed("Missing required field Statement"))?;
        let mut parsed = Vec::with_capacity(statements.len());
        for s in statements {
            // Sids need not be unique in resource policies (S3 accepts repeats).
            let Value::Object(s) = s else { return Err(syntax()) };
            parsed.push(statement(s, dialect)?);
        }
        Ok(Policy { version, id, statements: parsed })
    }
}

/// A field of the wrong JSON type, or one the grammar does not have.
fn syntax() -> PolicyError {
    malformed("Invalid policy syntax.")
}

fn string(v: &Value) -> Result<String, PolicyError> {
    v.as_str().map(str::to_string).ok_or_else(syntax)
}

/// A string or a non-empty list of strings.
fn strings(v: Value) -> Result<Vec<String>, PolicyError> {
    let list = match v {
        Value::String(s) => vec![s],
        Value::Array(items) => items.into_iter().map(|i| string(&i)).collect::<Result<_, _>>()?,
        _ => return Err(syntax()),
    };
    if list.is_empty() {
        return Err(syntax());
    }
    Ok(list)
}

/// One of two mutually exclusive fields (`Action`/`NotAction`, ...): which was given, and its value.
fn one_of(s: &mut Map<String, Value>, yes: &str, no: &str) -> Result<Option<(bool, Value)>, PolicyError> {
    match (s.remove(yes), s.remove(no)) {
        (Some(_), Some(_)) => Err(syntax()),
        (Some(v), None) => Ok(Some((false, v))),
        (None, Some(v)) => Ok(Some((true, v))),
        (None, None) => Ok(None),
    }
}

fn statement(mut s: Map<String, Value>, dialect: &dyn Dialect) -> Result<Statement, PolicyError> {
    const FIELDS: [&str; 9] =
        ["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];
    if s.keys().any(|k| !FIELDS.contains(&k.as_str())) {
        return Err(syntax());
    }
    let sid = s.remove("Sid").map(|v| string(&v)).transpose()?;
    let effect = match s.remove("Effect") {
        None => return Err(malformed("Missing required field Effect")),
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => {
            return Err(malformed(format!("Invalid effect: {}", other.as_str().unwrap_or(&other.to_string()))))
        }
    };
    let principal = match one_of(&mut s, "Principal", "NotPrincipal")? {
        Some((negated, v)) => {
            // NotPrincipal only narrows a Deny; with Allow it would grant nearly everyone.
            if negated && effect == Effect::Allow {
                return Err(malformed("Invalid principal in policy"));
            }
            Some(principals(v, negated)?)
        }
        None if dialect.requires_principal() => return Err(malformed("Missing required field Principal")),
        None => None,
    };
    let action = match one_of(&mut s, "Action", "NotAction")? {
        Some((negated, v)) => Values { negated, items: strings(v)? },
        None => return Err(malformed("Missing required field Action")),
    };
    for a in &action.items {
        if a != "*" && !valid_action(a) {
            return Err(malformed("Policy has invalid action"));
        }
        dialect.check_action(a)?;
    }
    let resource = match one_of(&mut s, "Resource", "NotResource")? {
        Some((negated, v)) => Some(Values { negated, items: strings(v)? }),
        None if dialect.requires_resource() => return Err(malformed("Missing required field Resource")),
        None => None,
    };
    for r in resource.iter().flat_map(|r| &r.items) {
        dialect.check_resource(r)?;
    }
    let conditions = match s.remove("Condition") {
        Some(v) => conditions(v)?,
        None => Vec::new(),
    };
    for c in &conditions {
        dialect.check_condition_key(&c.key)?;
    }
    let st = Statement { sid, effect, principal, action, resource, conditions };
    dialect.check_statement(&st)?;
    Ok(st)
}

/// `service:Action`, the action part possibly with wildcards.
fn valid_action(a: &str) -> bool {
    let Some((service, name)) = a.split_once(':') else { return false };
    !service.is_empty()
        && service.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?')
}

fn principals(v: Value, negated: bool) -> Result<Principals, PolicyError> {
    let invalid = || malformed("Invalid principal in policy");
    let mut p = Principals { negated, ..Principals::default() };
    match v {
        Value::String(s) if s == "*" => p.everyone = true,
        Value::Object(map) => {
            if map.is_empty() {
                return Err(invalid());
            }
            for (kind, ids) in map {
                let ids = strings(ids).map_err(|_| invalid())?;
                match kind.as_str() {
                    "AWS" => {
                        for id in ids {
                            if id == "*" {
                                p.everyone = true;
                            } else if valid_aws_principal(&id) {
                                p.aws.push(id);
                            } else {
                                return Err(invalid());
                            }
                        }
                    }
                    "Service" => {
                        if ids.iter().any(|s| !valid_service_principal(s)) {
                            return Err(invalid());
                        }
                        p.service.extend(ids);
                    }
                    "Federated" | "CanonicalUser" => p.other.extend(ids),
                    _ => return Err(invalid()),
                }
            }
        }
        _ => return Err(invalid()),
    }
    Ok(p)
}

/// An account id, or an IAM or STS ARN of a principal (`root`, `user/...`, `role/...`, `assumed-role/...`).
fn valid_aws_principal(id: &str) -> bool {
    let account = |a: &str| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit());
    if account(id) {
        return true;
    }
    let parts: Vec<&str> = id.splitn(6, ':').collect();
    let [arn, partition, service, region, acct, resource] = parts[..] else { return false };
    arn == "arn"
        && partition.starts_with("aws")
        && region.is_empty()
        && account(acct)
        && match service {
            "iam" => {
                resource == "root"
                    || ["user/", "role/", "group/"]
                        .iter()
                        .any(|k| resource.strip_prefix(k).is_some_and(|n| !n.is_empty()))
            }
            "sts" => {
                resource.strip_prefix("assumed-role/").is_some_and(|r| r.split('/').count() == 2)
                    || resource.strip_prefix("federated-user/").is_some_and(|n| !n.is_empty())
            }
            _ => false,
        }
        && !resource.contains('*')
}

fn valid_service_principal(s: &str) -> bool {
    s.len() > ".amazonaws.com".len()
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && s.contains('.')
}

fn conditions(v: Value) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(ops) = v else { return Err(syntax()) };
    let mut out = Vec::new();
    for (op, keys) in ops {
        let Value::Object(keys) = keys else { return Err(syntax()) };
        for (key, values) in keys {
            let values = match values {
                Value::Array(items) => items.into_iter().map(scalar).collect::<Result<Vec<_>, _>>()?,
                v => vec![scalar(v)?],
            };
            out.push(Condition::parse(&op, &key, values)?);
        }
    }
    Ok(out)
}

/// A condition value: strings as they are, numbers and booleans as their JSON text.
fn scalar(v: Value) -> Result<String, PolicyError> {
    match v {
        Value::String(s) => Ok(s),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(syntax()),
    }
}
