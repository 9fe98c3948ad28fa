//! IAM's policy language as resource policies use it: a JSON document parsed and validated once ([`Policy::parse`],
//! with the rules of the service that holds it as a [`Dialect`]), then evaluated against each request
//! ([`Policy::evaluate`]) with the request's principal, action, resource and condition keys ([`Request`]).
//!
//! The evaluation follows AWS's: a statement applies when its principal, action, resource and every condition match;
//! an applicable `Deny` wins over any `Allow`; with no applicable statement the policy says nothing
//! ([`Decision::NotApplicable`]) and the service decides (cairn: the owning account may, others may not).

mod caller;
mod condition;
mod document;
mod error;
mod eval;
pub mod fuzz;
mod pattern;

pub use caller::{Caller, RequestFacts};
pub use condition::{Condition, Operator, SetQualifier};
pub use document::{Dialect, Effect, Policy, Principals, Statement, Values, Version};
pub use error::PolicyError;
pub use eval::{Context, Decision, Principal, Request};
pub use pattern::glob;
