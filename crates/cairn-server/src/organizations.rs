//! Organization delegated administrators: RegisterOrganizationDelegatedAdmin and
//! DeregisterOrganizationDelegatedAdmin. The organization itself (management and member accounts) is configured.

use cairn_api::shapes::{DeregisterDelegatedAdminRequest, Empty, RegisterDelegatedAdminRequest};
use cairn_api::{required, ApiError, ErrorCode, Result};

use crate::config::OrganizationConfig;
use crate::trails::write;
use crate::{App, Ctx};

/// Most delegated administrators an organization may have.
pub const MAX_DELEGATED_ADMINS: usize = 3;

fn check_account_id(id: &str, member: &str) -> Result<()> {
    if !(12..=16).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("1 validation error detected: Value '{id}' at '{member}' failed to satisfy constraint: Member must be 12 to 16 digits"),
        ));
    }
    Ok(())
}

/// The caller's organization, when the caller is its management account.
fn managed_organization<'a>(app: &'a App, ctx: &Ctx) -> Result<&'a OrganizationConfig> {
    let Some(org) = app.organization_of(&ctx.account_id) else {
        return Err(ApiError::new(
            ErrorCode::OrganizationsNotInUse,
            format!("account {} is not a member of an organization", ctx.account_id),
        ));
    };
    if org.management_account != ctx.account_id {
        return Err(ApiError::new(
            ErrorCode::NotOrganizationManagementAccount,
            format!("account {} is not the management account of organization {}", ctx.account_id, org.id),
        ));
    }
    Ok(org)
}

pub(crate) fn register(app: &App, ctx: &Ctx, req: RegisterDelegatedAdminRequest) -> Result<Empty> {
    let member = required(req.member_account_id, "memberAccountId")?;
    check_account_id(&member, "memberAccountId")?;
    let org = managed_organization(app, ctx)?;
    if member == org.management_account {
        return Err(ApiError::new(
            ErrorCode::CannotDelegateManagementAccount,
            "the management account cannot be registered as a delegated administrator",
        ));
    }
    if !org.member_accounts.contains(&member) {
        return Err(ApiError::new(
            ErrorCode::AccountNotFound,
            format!("account {member} is not a member of organization {}", org.id),
        ));
    }
    write(app, |state, changes| {
        let admins: Vec<&str> = state.delegated_admins(&org.id).collect();
        if admins.contains(&member.as_str()) {
            return Err(ApiError::new(
                ErrorCode::AccountRegistered,
                format!("account {member} is already a delegated administrator"),
            ));
        }
        if admins.len() >= MAX_DELEGATED_ADMINS {
            return Err(ApiError::new(
                ErrorCode::DelegatedAdminAccountLimitExceeded,
                format!("organization {} already has {MAX_DELEGATED_ADMINS} delegated administrators", org.id),
            ));
        }
        changes.add_delegated_admin(org.id.clone(), member.clone());
        Ok(Empty {})
    })
}

pub(crate) fn deregister(app: &App, ctx: &Ctx, req: DeregisterDelegatedAdminRequest) -> Result<Empty> {
    let admin = required(req.delegated_admin_account_id, "delegatedAdminAccountId")?;
    check_account_id(&admin, "delegatedAdminAccountId")?;
    let org = managed_organization(app, ctx)?;
    if admin != org.management_account && !org.member_accounts.contains(&admin) {
        return Err(ApiError::new(
            ErrorCode::AccountNotFound,
            format!("account {admin} is not a member of organization {}", org.id),
        ));
    }
    write(app, |state, changes| {
        if !state.delegated_admins(&org.id).any(|a| a == admin) {
            return Err(ApiError::new(
                ErrorCode::AccountNotRegistered,
                format!("account {admin} is not a delegated administrator"),
            ));
        }
        changes.remove_delegated_admin(org.id.clone(), admin.clone());
        Ok(Empty {})
    })
}
