//! Evaluating a policy for one request: which statements apply, and what they decide together.

use std::collections::HashMap;

use crate::document::{Effect, Policy, Principals, Statement, Values, Version};
use crate::pattern::{self, Vars};

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A principal of an account: its root (`arn:aws:iam::<account>:root`), an IAM user or role, or an assumed-role
    /// session (`arn:aws:sts::<account>:assumed-role/<role>/<session>`).
    Aws { account: String, arn: String },
    /// An AWS service acting for a customer (`cloudtrail.amazonaws.com`).
    Service(String),
    /// An unsigned request.
    Anonymous,
}

/// The condition keys of a request, by lower-cased name; a key may have several values.
#[derive(Debug, Clone, Default)]
pub struct Context {
    keys: HashMap<String, Vec<String>>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// Sets a single-valued key.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Context {
        self.keys.insert(key.to_ascii_lowercase(), vec![value.into()]);
        self
    }

    /// Sets a multivalued key.
    pub fn set_all(&mut self, key: &str, values: Vec<String>) -> &mut Context {
        self.keys.insert(key.to_ascii_lowercase(), values);
        self
    }

    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.keys.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
    }
}

impl Vars for Context {
    fn var(&self, key: &str) -> Option<String> {
        match self.get(key) {
            Some([one]) => Some(one.clone()),
            _ => None,
        }
    }
}

/// One request, as a policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub principal: &'a Principal,
    /// `service:Action`, such as `s3:GetObject`.
    pub action: &'a str,
    /// The ARN of the resource acted on.
    pub resource: &'a str,
    pub context: &'a Context,
}

/// What a policy says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An applicable statement allows it, and none denies it.
    Allow,
    /// An applicable statement denies it: nothing else can allow it.
    Deny,
    /// No statement applies.
    NotApplicable,
}

impl Policy {
    /// What the policy decides for `request`; an explicit Deny wins over any Allow.
    pub fn evaluate(&self, request: &Request) -> Decision {
        let mut allowed = false;
        for s in &self.statements {
            if self.applies(s, request) {
                match s.effect {
                    Effect::Deny => return Decision::Deny,
                    Effect::Allow => allowed = true,
                }
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::NotApplicable
        }
    }

    /// Whether `s` applies to `request`: principal, action, resource and every condition match.
    pub fn applies(&self, s: &Statement, request: &Request) -> bool {
        let vars: Option<&dyn Vars> = (self.version == Version::V2012_10_17).then_some(request.context as &dyn Vars);
        s.principal.as_ref().is_none_or(|p| principal_matches(p, request.principal))
            && values_match(&s.action, |a| pattern::glob(a, request.action, true))
            && s.resource.as_ref().is_none_or(|r| {
                values_match(r, |pat| {
                    pattern::compile(pat, true, vars).is_some_and(|t| pattern::matches(&t, request.resource, false))
                })
            })
            && s.conditions.iter().all(|c| c.holds(request.context.get(&c.key), vars))
    }
}

fn values_match(values: &Values, one: impl Fn(&str) -> bool) -> bool {
    values.items.iter().any(|v| one(v)) != values.negated
}

fn principal_matches(p: &Principals, who: &Principal) -> bool {
    let listed = p.everyone
        || match who {
            Principal::Aws { account, arn } => p.aws.iter().any(|id| aws_principal_matches(id, account, arn)),
            Principal::Service(name) => p.service.iter().any(|s| s == name),
            Principal::Anonymous => false,
        };
    listed != p.negated
}

/// An `AWS` principal of a policy against the caller: an account id or root ARN names every principal of the
/// account; a role ARN names the role and its sessions; any other ARN names itself.
fn aws_principal_matches(id: &str, account: &str, arn: &str) -> bool {
    if id == account || id.strip_prefix("arn:aws:iam::").and_then(|r| r.strip_suffix(":root")) == Some(account) {
        return true;
    }
    if id == arn {
        return true;
    }
    // arn:aws:iam::<account>:role/<path/>name names the sessions arn:aws:sts::<account>:assumed-role/name/<session>.
    let role = id
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(":role/"))
        .map(|(acct, path_name)| (acct, path_name.rsplit('/').next().unwrap_or(path_name)));
    let session = arn
        .strip_prefix("arn:aws:sts::")
        .and_then(|r| r.split_once(":assumed-role/"))
        .and_then(|(acct, rest)| rest.split_once('/').map(|(role, _)| (acct, role)));
    matches!((role, session), (Some(r), Some(s)) if r == s)
}
