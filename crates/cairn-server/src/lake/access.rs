//! Queries of another account's event data stores. A caller names the stores' owner with
//! `EventDataStoreOwnerAccountId` on StartQuery, and may on DescribeQuery, GetQueryResults and CancelQuery; each call
//! is then allowed only as the resource policy of every store the query reads grants that action to the caller
//! (evaluated by cairn's policy engine), as does ListQueries given another account's store ARN. Without a grant
//! the call is `AccessDeniedException` and changes nothing.
//! A store's owner needs no policy.

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
            return Err(ApiError::new(
                ErrorCode::AccessDenied,
                format!(
                    "User: {} is not authorized to perform: {action} on resource: {arn} because no resource-based policy allows the {action} action",
                    ctx.principal.arn()
                ),
            ));
        }
    }
    Ok(())
}
