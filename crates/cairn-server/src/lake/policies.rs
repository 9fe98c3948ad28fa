//! Resource policies of channels and event data stores: Put, Get and DeleteResourcePolicy, with AWS's rules for
//! each resource type's documents, and the checks PutAuditEvents and other accounts' queries make against them.

use cairn_api::channels::{PutResourcePolicyRequest, ResourcePolicyRequest, ResourcePolicyResponse};
use cairn_api::shapes::Empty;
use cairn_api::{required, ApiError, ErrorCode, Result};
use cairn_catalog::State;
use cairn_model::{Arn, ResourceKind};
use cairn_policy::{glob, Decision, Dialect, Policy, PolicyError, Statement};

use crate::lake::{channels, stores};
use crate::trails::write;
use crate::{App, Ctx};

/// Most statements of a resource policy, and principals of one statement.
const MAX_STATEMENTS: usize = 20;
const MAX_PRINCIPALS: usize = 50;
/// Largest policy document, in bytes.
const MAX_POLICY_BYTES: usize = 8192;
/// The action a channel's policy grants.
pub(crate) const PUT_AUDIT_EVENTS: &str = "cloudtrail-data:PutAuditEvents";
/// The action a dashboard's policy grants (CloudTrail refreshing it on its schedule).
const START_DASHBOARD_REFRESH: &str = "cloudtrail:StartDashboardRefresh";
/// The actions an event data store's policy may grant (its queries).
const STORE_ACTIONS: [&str; 8] = [
    "StartQuery",
    "DescribeQuery",
    "GetQueryResults",
    "CancelQuery",
    "ListQueries",
    "GenerateQuery",
    "GenerateQueryResultsSummary",
    "GetEventDataStore",
];

/// The rules CloudTrail adds to the policy language, per resource type.
struct ResourcePolicyDialect(ResourceKind);

impl Dialect for ResourcePolicyDialect {
    fn max_bytes(&self) -> usize {
        MAX_POLICY_BYTES
    }

    fn requires_resource(&self) -> bool {
        false
    }

    fn check_action(&self, action: &str) -> Result<(), PolicyError> {
        let ok = match self.0 {
            ResourceKind::Channel => action.eq_ignore_ascii_case(PUT_AUDIT_EVENTS),
            ResourceKind::Dashboard => action.eq_ignore_ascii_case(START_DASHBOARD_REFRESH),
            _ => action.split_once(':').is_some_and(|(service, name)| {
                service.eq_ignore_ascii_case("cloudtrail") && STORE_ACTIONS.iter().any(|a| glob(name, a, true))
            }),
        };
        if ok {
            Ok(())
        } else {
            let allowed = match self.0 {
                ResourceKind::Channel => PUT_AUDIT_EVENTS.to_string(),
                ResourceKind::Dashboard => START_DASHBOARD_REFRESH.to_string(),
                _ => STORE_ACTIONS.map(|a| format!("cloudtrail:{a}")).join(", "),
            };
            Err(PolicyError::new(format!("Action {action} is not valid in this resource policy; allowed: {allowed}")))
        }
    }

    fn check_resource(&self, resource: &str) -> Result<(), PolicyError> {
        if resource == "*" || resource.starts_with("arn:aws:cloudtrail:") {
            Ok(())
        } else {
            Err(PolicyError::new(format!("Resource {resource} is not a CloudTrail resource")))
        }
    }

    fn check_statement(&self, s: &Statement) -> Result<(), PolicyError> {
        let Some(p) = &s.principal else { return Ok(()) };
        let count = p.aws.len() + p.service.len() + p.other.len() + usize::from(p.everyone);
        if count == 0 || count > MAX_PRINCIPALS {
            return Err(PolicyError::new(format!(
                "Each statement needs 1 to {MAX_PRINCIPALS} principals; one has {count}"
            )));
        }
        let valid = |id: &str| {
            (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()))
                || (id.starts_with("arn:aws:iam::") || id.starts_with("arn:aws:sts::"))
                    && id.split(':').nth(4).is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        };
        let services_ok = p.service.iter().all(|s| s == "cloudtrail.amazonaws.com");
        if p.everyone || p.aws.iter().any(|id| !valid(id)) || !p.other.is_empty() || !services_ok {
            return Err(PolicyError::new("The policy contains a principal that is not valid"));
        }
        Ok(())
    }
}

/// The ARN of the caller's channel or event data store that `given` names (what a resource policy is kept under).
fn resource(state: &State, ctx: &Ctx, given: &str) -> Result<(ResourceKind, String)> {
    let arn = Arn::parse(given)
        .map_err(|_| ApiError::new(ErrorCode::ResourceARNNotValid, format!("{given:?} is not a valid resource ARN")))?;
    let Some((kind, _)) = arn.cloudtrail_resource() else {
        return Err(ApiError::new(
            ErrorCode::ResourceARNNotValid,
            format!("{given} is not the ARN of a CloudTrail event data store, channel or dashboard"),
        ));
    };
    let not_found = || ApiError::new(ErrorCode::ResourceNotFound, format!("Resource {given} was not found."));
    let found = match kind {
        ResourceKind::Channel => channels::resolve(state, ctx, given).map(|c| c.arn()).map_err(|_| not_found())?,
        ResourceKind::EventDataStore => stores::resolve(state, ctx, given).map(|s| s.arn()).map_err(|_| not_found())?,
        ResourceKind::Dashboard => crate::lake::dashboards::resolve_arn(state, ctx, given).map_err(|_| not_found())?,
        ResourceKind::Trail => {
            return Err(ApiError::new(
                ErrorCode::ResourceTypeNotSupported,
                format!("{given} is a trail; resource policies are for event data stores, channels and dashboards"),
            ))
        }
    };
    Ok((kind, found))
}

/// Parses a resource policy for a resource of `kind`; the errors are CloudTrail's.
fn parse(kind: ResourceKind, text: &str) -> Result<Policy> {
    let invalid = |m: String| ApiError::new(ErrorCode::ResourcePolicyNotValid, m);
    let policy = Policy::parse(text, &ResourcePolicyDialect(kind)).map_err(|e| invalid(e.message))?;
    if policy.statements.len() > MAX_STATEMENTS {
        return Err(invalid(format!(
            "The policy has {} statements; a resource policy has at most {MAX_STATEMENTS}",
            policy.statements.len()
        )));
    }
    Ok(policy)
}

pub(crate) fn put(app: &App, ctx: &Ctx, req: PutResourcePolicyRequest) -> Result<ResourcePolicyResponse> {
    let given = required(req.resource_arn, "resourceArn")?;
    let text = required(req.resource_policy, "resourcePolicy")?;
    write(app, |state, changes| {
        let (kind, arn) = resource(state, ctx, &given)?;
        parse(kind, &text)?;
        changes.set_resource_policy(arn.clone(), Some(text.clone()));
        Ok(ResourcePolicyResponse { resource_arn: arn, resource_policy: text.clone() })
    })
}

fn attached(state: &State, ctx: &Ctx, given: &str) -> Result<(String, String)> {
    let (_, arn) = resource(state, ctx, given)?;
    let policy = state.resource_policy(&arn).ok_or_else(|| {
        ApiError::new(ErrorCode::ResourcePolicyNotFound, format!("Resource {arn} has no resource policy."))
    })?;
    Ok((arn.clone(), policy.to_string()))
}

pub(crate) fn get(app: &App, ctx: &Ctx, req: ResourcePolicyRequest) -> Result<ResourcePolicyResponse> {
    let given = required(req.resource_arn, "resourceArn")?;
    app.catalog.read(|state| {
        let (resource_arn, resource_policy) = attached(state, ctx, &given)?;
        Ok(ResourcePolicyResponse { resource_arn, resource_policy })
    })
}

pub(crate) fn delete(app: &App, ctx: &Ctx, req: ResourcePolicyRequest) -> Result<Empty> {
    let given = required(req.resource_arn, "resourceArn")?;
    write(app, |state, changes| {
        let (arn, _) = attached(state, ctx, &given)?;
        changes.set_resource_policy(arn, None);
        Ok(Empty {})
    })
}

/// Whether the policy of a resource of `kind` lets `request` through: PutAuditEvents into a channel by a principal
/// of another account (with the request's `cloudtrail:ExternalId`), or a query action on an event data store. A
/// policy that no longer parses grants nothing.
pub(crate) fn allows(kind: ResourceKind, policy: &str, request: &cairn_policy::Request<'_>) -> bool {
    Policy::parse(policy, &ResourcePolicyDialect(kind)).map(|p| p.evaluate(request) == Decision::Allow).unwrap_or(false)
}
