//! Queries of another account's event data stores. A caller names the stores' owner with
//! `EventDataStoreOwnerAccountId` on StartQuery, and may on DescribeQuery, GetQueryResults and CancelQuery; each call
//! is then allowed only as the resource policy of every store the query reads grants that action to the caller
//! (evaluated by cairn's policy engine), as does ListQueries given another account's store ARN. Without a grant
//! the call is `AccessDeniedException` and changes nothing, and a caller that no store of the owner grants anything
//! learns nothing else (not which stores exist). A store's owner needs no policy. Successful calls are recorded for
//! the owner's account too.

use cairn_api::operation::Operation;
use cairn_api::{ApiError, ErrorCode, Result};
use cairn_model::ResourceKind;

use super::policies;
use crate::{App, Ctx};

pub(crate) const START_QUERY: &str = "cloudtrail:StartQuery";
pub(crate) const DESCRIBE_QUERY: &str = "cloudtrail:DescribeQuery";
pub(crate) const GET_QUERY_RESULTS: &str = "cloudtrail:GetQueryResults";
pub(crate) const CANCEL_QUERY: &str = "cloudtrail:CancelQuery";
pub(crate) const LIST_QUERIES: &str = "cloudtrail:ListQueries";

/// Checks an `EventDataStoreOwnerAccountId` as the model constrains it: 12 to 16 digits.
pub(crate) fn check_owner(given: &str) -> Result<()> {
    if (12..=16).contains(&given.len()) && given.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::Validation,
        format!("1 validation error detected: Value '{given}' at 'eventDataStoreOwnerAccountId' failed to satisfy constraint: Member must satisfy regular expression pattern: \\d+ and have length between 12 and 16"),
    ))
}

/// The context the stores of a StartQuery are found in: the owner's account when another one is named.
pub(crate) fn owner_ctx(ctx: &Ctx, given: Option<&str>) -> Result<Option<Ctx>> {
    let Some(owner) = given else { return Ok(None) };
    check_owner(owner)?;
    Ok((owner != ctx.account_id).then(|| Ctx { account_id: owner.to_string(), ..ctx.clone() }))
}

/// StartQuery's answer to a caller of another account whose statement could not be planned: the planning error
/// when some store of the owner in the region grants the caller StartQuery (a partner who mistyped), else
/// `AccessDeniedException`, so that a stranger cannot probe which stores and columns exist.
pub(crate) fn planning_error(app: &App, ctx: &Ctx, owner: &Ctx, error: ApiError) -> ApiError {
    let arns: Vec<String> = app.catalog.read(|s| {
        s.stores().filter(|d| d.account_id == owner.account_id && d.region == owner.region).map(|d| d.arn()).collect()
    });
    if arns.iter().any(|arn| authorize(app, ctx, std::slice::from_ref(arn), START_QUERY).is_ok()) {
        return error;
    }
    denied(ctx, START_QUERY, &format!("the event data stores of account {}", owner.account_id))
}

fn denied(ctx: &Ctx, action: &str, resource: &str) -> ApiError {
    ApiError::new(
        ErrorCode::AccessDenied,
        format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} because no resource-based policy allows the {action} action",
            ctx.principal.arn()
        ),
    )
}

/// The other account a call of a Lake query operation acted for, read from its request, to record the call for
/// that account too.
pub(crate) fn owner_of_call(op: Operation, body: &[u8]) -> Option<String> {
    // Every successful call passes here: only the query operations' bodies are read again.
    let member = match op {
        Operation::StartQuery | Operation::DescribeQuery | Operation::GetQueryResults | Operation::CancelQuery => {
            "EventDataStoreOwnerAccountId"
        }
        Operation::ListQueries => "EventDataStore",
        _ => return None,
    };
    let request: serde_json::Value = serde_json::from_slice(body).ok()?;
    let value = request[member].as_str()?;
    match op {
        Operation::ListQueries => cairn_model::Arn::parse(value).ok().map(|a| a.account),
        _ => Some(value.to_string()),
    }
}

/// Whether the resource policy of every store in `stores` (ARNs) grants `action` to the caller.
pub(crate) fn authorize(app: &App, ctx: &Ctx, stores: &[String], action: &str) -> Result<()> {
    let facts = crate::kms::facts(app, ctx, None);
    let context = facts.context(&[]);
    let principal = facts.caller.principal();
    for arn in stores {
        let request = cairn_policy::Request { principal: &principal, action, resource: arn, context: &context };
        let allowed = app.catalog.read(|s| {
            s.resource_policy(arn).is_some_and(|p| policies::allows(ResourceKind::EventDataStore, p, &request))
        });
        if !allowed {
            return Err(denied(ctx, action, arn));
        }
    }
    Ok(())
}
