//! Trail operations: CreateTrail, UpdateTrail, DeleteTrail, GetTrail, DescribeTrails, ListTrails, GetTrailStatus,
//! StartLogging and StopLogging, and the name/ARN resolution and permission rules the other trail families share.

use std::collections::BTreeSet;

use cairn_api::shapes::{
    CreateTrailRequest, DescribeTrailsRequest, DescribeTrailsResponse, Empty, GetTrailResponse, GetTrailStatusResponse,
    ListTrailsResponse, NextTokenRequest, TrailInfo, TrailNameRequest, TrailShape, UpdateTrailRequest,
};
use cairn_api::{max_len, required, ApiError, ErrorCode, Result};
use cairn_catalog::{Changes, State};
use cairn_delivery::{Destination, StoreErrorKind};
use cairn_model::arn::{trail_arn, Arn, TrailRef};
use cairn_model::names::{validate_bucket_name, validate_s3_prefix, validate_sns_topic_name, validate_trail_name};
use cairn_model::{tags, EventSelectors, LoggingState, Trail};

use crate::{epoch_seconds, internal, App, Ctx};

/// Most trails an account may have in one region (a multi-region trail counts in every region).
pub const MAX_TRAILS_PER_REGION: usize = 5;
/// Trails per ListTrails page.
const LIST_PAGE_SIZE: usize = 50;

/// Runs a catalog write, mapping the catalog's own failure to an internal error.
pub(crate) fn write<T>(app: &App, f: impl FnOnce(&State, &mut Changes) -> Result<T>) -> Result<T> {
    app.catalog.update(f).map_err(internal)?
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// See it: own trails and the organization's trails.
    Read,
    /// Change it from any region (tags): the owner or a delegated administrator.
    Manage,
    /// Change it: as `Manage`, and only from its home region.
    Write,
}

/// Whether `account` can see `trail`: its own, or an organization trail of its organization.
fn visible(app: &App, account: &str, trail: &Trail) -> bool {
    trail.account_id == account
        || trail.organization_id.as_ref().is_some_and(|o| app.organization_of(account).is_some_and(|org| &org.id == o))
}

fn not_found(ctx: &Ctx, name: &str) -> ApiError {
    let arn = if name.starts_with("arn:") { name.to_string() } else { trail_arn(&ctx.region, &ctx.account_id, name) };
    ApiError::new(ErrorCode::TrailNotFound, format!("unknown trail: {arn} for the user: {}", ctx.account_id))
}

/// Resolves a trail named by name (in the caller's region) or ARN (any region), enforcing who may change it.
pub(crate) fn resolve<'s>(app: &App, state: &'s State, ctx: &Ctx, name: &str, access: Access) -> Result<&'s Trail> {
    let trail = match TrailRef::parse(name)? {
        TrailRef::Name(n) => {
            let mut found: Vec<&Trail> = state
                .trails()
                .filter(|t| t.name == n && t.exists_in(&ctx.region) && visible(app, &ctx.account_id, t))
                .collect();
            // The caller's own trail wins over an organization trail of the same name.
            found.sort_by_key(|t| t.account_id != ctx.account_id);
            found.first().copied()
        }
        TrailRef::Arn { .. } => state.trail(name).filter(|t| visible(app, &ctx.account_id, t)),
    };
    let trail = trail.ok_or_else(|| not_found(ctx, name))?;
    if access != Access::Read && trail.account_id != ctx.account_id {
        let delegated =
            trail.organization_id.as_ref().is_some_and(|o| state.delegated_admins(o).any(|a| a == ctx.account_id));
        if !delegated {
            return Err(ApiError::new(
                ErrorCode::NotOrganizationMasterAccount,
                format!(
                    "trail {} is an organization trail: only the management account or a delegated administrator can change it",
                    trail.arn()
                ),
            ));
        }
    }
    if access == Access::Write && trail.home_region != ctx.region {
        return Err(ApiError::new(
            ErrorCode::InvalidHomeRegion,
            format!("trail {} can be changed only from its home region {}", trail.arn(), trail.home_region),
        ));
    }
    Ok(trail)
}

/// The `Trail` shape of DescribeTrails and GetTrail.
pub(crate) fn full_shape(t: &Trail) -> TrailShape {
    TrailShape {
        home_region: Some(t.home_region.clone()),
        has_custom_event_selectors: Some(t.has_custom_event_selectors),
        has_insight_selectors: Some(!t.insight_selectors.is_empty()),
        ..response_shape(t)
    }
}

/// The shape of the CreateTrail and UpdateTrail responses.
fn response_shape(t: &Trail) -> TrailShape {
    TrailShape {
        name: t.name.clone(),
        s3_bucket_name: t.s3_bucket_name.clone(),
        s3_key_prefix: t.s3_key_prefix.clone(),
        sns_topic_name: t.sns_topic_name.clone(),
        sns_topic_arn: t.sns_topic_arn(),
        include_global_service_events: t.include_global_service_events,
        is_multi_region_trail: t.is_multi_region_trail,
        home_region: None,
        trail_arn: t.arn(),
        log_file_validation_enabled: t.log_file_validation_enabled,
        cloud_watch_logs_log_group_arn: t.cloud_watch_logs_log_group_arn.clone(),
        cloud_watch_logs_role_arn: t.cloud_watch_logs_role_arn.clone(),
        kms_key_id: t.kms_key_id.clone(),
        has_custom_event_selectors: None,
        has_insight_selectors: None,
        is_organization_trail: t.is_organization_trail(),
        recursive_logging: t.recursive_logging,
    }
}

/// An optional string member where the empty string clears the setting (UpdateTrail).
fn clearable(v: Option<String>) -> Option<Option<String>> {
    v.map(|s| if s.is_empty() { None } else { Some(s) })
}

fn validate_sns(topic: &str) -> Result<()> {
    if topic.starts_with("arn:") {
        let ok = Arn::parse(topic).is_ok_and(|a| {
            a.service == "sns"
                && cairn_model::names::is_account_id(&a.account)
                && validate_sns_topic_name(&a.resource).is_ok()
        });
        if !ok {
            return Err(ApiError::new(ErrorCode::InvalidSnsTopicName, format!("SNS topic ARN {topic:?} is not valid")));
        }
        return Ok(());
    }
    Ok(validate_sns_topic_name(topic)?)
}

/// The KMS key a trail stores: fully specified, and with cairn's own keys an alias resolved to the key it names (as
/// AWS stores the key ARN), so that retargeting the alias later does not change the trail's encryption.
fn trail_key(app: &App, key: &str, region: &str, account: &str) -> Result<String> {
    let arn = normalize_kms_key(key, region, account)?;
    let local = matches!(app.settings.storage, crate::config::Storage::Local { .. });
    Ok(local.then(|| app.kms.alias_target(account, &arn)).flatten().unwrap_or(arn))
}

/// Normalizes a KMS key given as key id, alias name, key ARN or alias ARN to a fully specified ARN.
pub(crate) fn normalize_kms_key(key: &str, region: &str, account: &str) -> Result<String> {
    let bad = || ApiError::new(ErrorCode::InvalidKmsKeyId, format!("KMS key id {key:?} is not valid"));
    if key.starts_with("arn:") {
        let arn = Arn::parse(key).map_err(|_| bad())?;
        let ok = arn.service == "kms"
            && cairn_model::names::is_account_id(&arn.account)
            && (arn.resource.strip_prefix("key/").is_some_and(is_key_id)
                || arn.resource.strip_prefix("alias/").is_some_and(|a| !a.is_empty()));
        return if ok { Ok(key.to_string()) } else { Err(bad()) };
    }
    if let Some(alias) = key.strip_prefix("alias/") {
        if alias.is_empty() || !alias.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b)) {
            return Err(bad());
        }
        return Ok(format!("arn:aws:kms:{region}:{account}:{key}"));
    }
    if is_key_id(key) {
        return Ok(format!("arn:aws:kms:{region}:{account}:key/{key}"));
    }
    Err(bad())
}

fn is_key_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let mrk = parts.first() == Some(&"mrk") && parts.len() == 2 && parts[1].len() == 32;
    let uuid = parts.len() == 5 && [8, 4, 4, 4, 12].iter().zip(&parts).all(|(n, p)| p.len() == *n);
    (mrk || uuid) && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-' || b"mrk".contains(&b))
}

fn validate_log_group_arn(arn: &str) -> Result<()> {
    let ok = Arn::parse(arn).is_ok_and(|a| {
        a.service == "logs"
            && cairn_model::names::is_region(&a.region)
            && cairn_model::names::is_account_id(&a.account)
            && a.resource.strip_prefix("log-group:").is_some_and(|g| !g.is_empty())
    });
    if ok {
        Ok(())
    } else {
        Err(cairn_model::Error::InvalidCloudWatchLogsLogGroupArn(format!(
            "CloudWatch Logs log group ARN {arn:?} is not valid"
        ))
        .into())
    }
}

fn validate_role_arn(arn: &str) -> Result<()> {
    let ok = Arn::parse(arn).is_ok_and(|a| {
        a.service == "iam"
            && a.region.is_empty()
            && cairn_model::names::is_account_id(&a.account)
            && a.resource.strip_prefix("role/").is_some_and(|r| !r.is_empty())
    });
    if ok {
        Ok(())
    } else {
        Err(cairn_model::Error::InvalidCloudWatchLogsRoleArn(format!("CloudWatch Logs role ARN {arn:?} is not valid"))
            .into())
    }
}

/// Checks a trail's settings as a whole, after a create or an update has been applied to them.
fn validate_settings(t: &Trail) -> Result<()> {
    validate_bucket_name(&t.s3_bucket_name)?;
    if let Some(p) = &t.s3_key_prefix {
        validate_s3_prefix(p)?;
    }
    if let Some(s) = &t.sns_topic_name {
        validate_sns(s)?;
    }
    match (&t.cloud_watch_logs_log_group_arn, &t.cloud_watch_logs_role_arn) {
        (Some(g), Some(r)) => {
            validate_log_group_arn(g)?;
            validate_role_arn(r)?;
        }
        (Some(_), None) => {
            return Err(ApiError::new(
                ErrorCode::InvalidCloudWatchLogsRoleArn,
                "a CloudWatch Logs log group needs a CloudWatch Logs role ARN",
            ))
        }
        (None, Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::InvalidCloudWatchLogsLogGroupArn,
                "a CloudWatch Logs role needs a CloudWatch Logs log group ARN",
            ))
        }
        (None, None) => {}
    }
    if t.is_multi_region_trail && !t.include_global_service_events {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterCombination,
            "a multi-region trail must include global service events",
        ));
    }
    Ok(())
}

/// Checks that the trail's bucket exists and that cairn can deliver there (with the trail's KMS key, if it has one),
/// as CreateTrail and UpdateTrail must before they change anything. Runs outside the catalog's writer lock: it talks
/// to the storage.
fn check_destination(app: &App, t: &Trail) -> Result<()> {
    let bucket = &t.s3_bucket_name;
    let missing = || ApiError::new(ErrorCode::S3BucketDoesNotExist, format!("S3 bucket {bucket} does not exist"));
    let storage = &app.storage;
    let dest = Destination {
        bucket: bucket.clone(),
        prefix: t.s3_key_prefix.clone(),
        organization_id: t.organization_id.clone(),
    };
    let folder = dest.account_folder(&t.account_id);
    let checked = tokio::runtime::Handle::current().block_on(async {
        if !storage.bucket_exists(bucket).await? {
            return Ok(false);
        }
        storage.check_write(bucket, &folder, t.kms_key_id.as_deref(), &t.arn()).await.map(|()| true)
    });
    match checked {
        Ok(true) => Ok(()),
        Ok(false) => Err(missing()),
        Err(e) if e.kind() == StoreErrorKind::NoSuchBucket => Err(missing()),
        Err(e) if e.kind() == StoreErrorKind::AccessDenied => Err(ApiError::new(
            ErrorCode::InsufficientS3BucketPolicy,
            format!("Incorrect S3 bucket policy is detected for bucket: {bucket}"),
        )),
        Err(e) if e.code.starts_with("KMS.") => {
            Err(kms_refusal(&e.code, bucket, t.kms_key_id.as_deref().unwrap_or("")))
        }
        Err(e) if t.kms_key_id.is_some() => Err(ApiError::new(
            ErrorCode::Kms,
            format!(
                "the trail's storage cannot encrypt with KMS key {}: {}",
                t.kms_key_id.as_deref().unwrap_or(""),
                e.code
            ),
        )),
        Err(e) => {
            tracing::error!(bucket, error = %e, "cannot check the trail's bucket");
            Err(ApiError::internal(format!(
                "the trail's storage could not be reached ({}); nothing was changed",
                e.code
            )))
        }
    }
}

/// Checks that the trail's SNS topic exists and its policy lets CloudTrail publish to it, as CreateTrail and
/// UpdateTrail must.
fn check_topic(app: &App, t: &Trail) -> Result<()> {
    let Some(topic) = t.sns_topic_arn() else { return Ok(()) };
    app.sns
        .service_may_publish(&topic, "cloudtrail.amazonaws.com", &t.arn(), &t.account_id, app.clock.now_millis())
        .map_err(|_| {
            ApiError::new(
                ErrorCode::InsufficientSnsTopicPolicy,
                format!("Incorrect SNS topic policy or KMS key policy is detected for topic: {topic}"),
            )
        })
}

/// CloudTrail's error when KMS refuses to let it encrypt the trail's log files with `key`.
fn kms_refusal(code: &str, bucket: &str, key: &str) -> ApiError {
    match code {
        "KMS.NotFoundException" => {
            ApiError::new(ErrorCode::KmsKeyNotFound, format!("KMS key {key} does not exist or is not in this account"))
        }
        "KMS.DisabledException" => ApiError::new(ErrorCode::KmsKeyDisabled, format!("KMS key {key} is disabled")),
        "KMS.KMSInvalidStateException" => {
            ApiError::new(ErrorCode::Kms, format!("KMS key {key} is pending deletion and cannot encrypt log files"))
        }
        "KMS.InvalidArnException" => {
            ApiError::new(ErrorCode::InvalidKmsKeyId, format!("KMS key id {key:?} is not valid"))
        }
        "KMS.AccessDeniedException" => ApiError::new(
            ErrorCode::InsufficientEncryptionPolicy,
            format!("Insufficient permissions to access S3 bucket {bucket} or KMS key {key}."),
        ),
        other => ApiError::new(ErrorCode::Kms, format!("KMS refused to encrypt with key {key}: {other}")),
    }
}

/// Trails of `account` present in `region`, other than `except`.
fn count_in_region(state: &State, account: &str, region: &str, except: &str) -> usize {
    state.trails().filter(|t| t.account_id == account && t.exists_in(region) && t.arn() != except).count()
}

/// Name uniqueness and the per-region limit, for a trail about to be stored (new or changed).
fn check_room(state: &State, t: &Trail, previous_arn: Option<&str>) -> Result<()> {
    let except = previous_arn.unwrap_or("");
    let clash = state.trails().find(|o| {
        o.account_id == t.account_id
            && o.name == t.name
            && o.arn() != except
            && (o.home_region == t.home_region || o.is_multi_region_trail || t.is_multi_region_trail)
    });
    if let Some(o) = clash {
        return Err(ApiError::new(
            ErrorCode::TrailAlreadyExists,
            format!("trail {} already exists in account {} (home region {})", o.name, o.account_id, o.home_region),
        ));
    }
    let regions: BTreeSet<&str> = if t.is_multi_region_trail {
        state
            .trails()
            .filter(|o| o.account_id == t.account_id)
            .map(|o| o.home_region.as_str())
            .chain([t.home_region.as_str()])
            .collect()
    } else {
        [t.home_region.as_str()].into()
    };
    for region in regions {
        if count_in_region(state, &t.account_id, region, except) >= MAX_TRAILS_PER_REGION {
            return Err(ApiError::new(
                ErrorCode::MaximumNumberOfTrailsExceeded,
                format!("account {} already has {MAX_TRAILS_PER_REGION} trails in region {region}", t.account_id),
            ));
        }
    }
    Ok(())
}

pub(crate) fn create(app: &App, ctx: &Ctx, req: CreateTrailRequest) -> Result<TrailShape> {
    let name = required(req.name, "name")?;
    let bucket = required(req.s3_bucket_name, "s3BucketName")?;
    validate_trail_name(&name)?;
    let tag_list = req.tags_list.unwrap_or_default();
    max_len(&tag_list, 200, "tagsList")?;
    let tag_list = tags::merge(&[], &tag_list)?;
    let organization_id = if req.is_organization_trail == Some(true) {
        Some(app.may_manage_organization(&ctx.account_id)?)
    } else {
        None
    };
    // Organization trails belong to the management account, also when a delegated administrator creates them.
    let owner = organization_id.map_or(ctx.account_id.clone(), |o| o.management_account.clone());
    let kms_key_id = match req.kms_key_id.filter(|k| !k.is_empty()) {
        Some(k) => Some(trail_key(app, &k, &ctx.region, &owner)?),
        None => None,
    };
    let trail = Trail {
        account_id: owner,
        name,
        home_region: ctx.region.clone(),
        s3_bucket_name: bucket,
        s3_key_prefix: req.s3_key_prefix.filter(|p| !p.is_empty()),
        sns_topic_name: req.sns_topic_name.filter(|s| !s.is_empty()),
        include_global_service_events: req.include_global_service_events.unwrap_or(true),
        is_multi_region_trail: req.is_multi_region_trail.unwrap_or(false),
        log_file_validation_enabled: req.enable_log_file_validation.unwrap_or(false),
        cloud_watch_logs_log_group_arn: req.cloud_watch_logs_log_group_arn.filter(|s| !s.is_empty()),
        cloud_watch_logs_role_arn: req.cloud_watch_logs_role_arn.filter(|s| !s.is_empty()),
        kms_key_id,
        organization_id: organization_id.map(|o| o.id.clone()),
        recursive_logging: req.recursive_logging,
        event_selectors: EventSelectors::default(),
        has_custom_event_selectors: false,
        insight_selectors: Vec::new(),
        logging: LoggingState::default(),
        created_at: app.clock.now_millis(),
    };
    validate_settings(&trail)?;
    app.catalog.read(|state| check_room(state, &trail, None))?;
    check_destination(app, &trail)?;
    check_topic(app, &trail)?;
    crate::cwlogs::check_trail(app, &trail)?;
    // The trail's delivery consumer is registered before the trail exists, so the journal keeps every record from
    // the trail's first version on, even before the supervisor starts the consumer.
    let consumer = crate::delivery::consumer_name(&trail.arn());
    let log = app.log();
    log.register_consumer(&consumer, log.committed()).map_err(|e| {
        tracing::error!(error = %e, "cannot register a trail's delivery consumer");
        ApiError::internal("an internal error occurred; the request changed nothing")
    })?;
    let created = write(app, |state, changes| {
        check_room(state, &trail, None)?;
        if !tag_list.is_empty() {
            changes.set_tags(trail.arn(), tag_list);
        }
        changes.put_trail(trail.clone());
        Ok(response_shape(&trail))
    });
    if created.is_err() && app.catalog.read(|s| s.trail_versions(&trail.arn()).is_empty()) {
        if let Err(e) = log.remove_consumer(&consumer) {
            tracing::warn!(error = %e, consumer, "cannot remove the consumer of a trail that was not created");
        }
    }
    created
}

pub(crate) fn update(app: &App, ctx: &Ctx, req: UpdateTrailRequest) -> Result<TrailShape> {
    let name = required(req.name.clone(), "name")?;
    let org_change = match req.is_organization_trail {
        Some(true) => Some(Some(app.may_manage_organization(&ctx.account_id)?.id.clone())),
        Some(false) => Some(None),
        None => None,
    };
    // The storage is checked outside the writer lock, then the change is made again under it; a destination that
    // changed in between is checked again.
    let (_, planned) = app.catalog.read(|state| updated(app, state, ctx, &name, &req, &org_change))?;
    check_destination(app, &planned)?;
    check_topic(app, &planned)?;
    crate::cwlogs::check_trail(app, &planned)?;
    write(app, |state, changes| {
        let (old_arn, t) = updated(app, state, ctx, &name, &req, &org_change)?;
        if (&t.s3_bucket_name, &t.s3_key_prefix, &t.kms_key_id, &t.organization_id)
            != (&planned.s3_bucket_name, &planned.s3_key_prefix, &planned.kms_key_id, &planned.organization_id)
        {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "the trail changed while this update was being checked; try again",
            ));
        }
        check_room(state, &t, Some(&old_arn))?;
        changes.put_trail(t.clone());
        Ok(response_shape(&t))
    })
}

/// The trail `name` with the update applied and validated (not stored), and its ARN before the update.
fn updated(
    app: &App,
    state: &State,
    ctx: &Ctx,
    name: &str,
    req: &UpdateTrailRequest,
    org_change: &Option<Option<String>>,
) -> Result<(String, Trail)> {
    let old = resolve(app, state, ctx, name, Access::Write)?;
    let mut t = old.clone();
    if let Some(b) = &req.s3_bucket_name {
        t.s3_bucket_name = b.clone();
    }
    if let Some(p) = clearable(req.s3_key_prefix.clone()) {
        t.s3_key_prefix = p;
    }
    if let Some(s) = clearable(req.sns_topic_name.clone()) {
        t.sns_topic_name = s;
    }
    if let Some(v) = req.include_global_service_events {
        t.include_global_service_events = v;
    }
    if let Some(v) = req.is_multi_region_trail {
        t.is_multi_region_trail = v;
    }
    if let Some(v) = req.enable_log_file_validation {
        t.log_file_validation_enabled = v;
    }
    if let Some(g) = clearable(req.cloud_watch_logs_log_group_arn.clone()) {
        t.cloud_watch_logs_log_group_arn = g;
    }
    if let Some(r) = clearable(req.cloud_watch_logs_role_arn.clone()) {
        t.cloud_watch_logs_role_arn = r;
    }
    if let Some(k) = clearable(req.kms_key_id.clone()) {
        t.kms_key_id = k.map(|k| trail_key(app, &k, &t.home_region, &t.account_id)).transpose()?;
    }
    if let Some(o) = org_change {
        if o.is_some() && t.account_id != *app.organization().map(|o| &o.management_account).unwrap_or(&t.account_id) {
            return Err(ApiError::new(
                ErrorCode::NotOrganizationMasterAccount,
                format!("trail {} does not belong to the organization's management account", t.arn()),
            ));
        }
        t.organization_id = o.clone();
    }
    if req.recursive_logging.is_some() {
        t.recursive_logging = req.recursive_logging;
    }
    validate_settings(&t)?;
    Ok((old.arn(), t))
}

pub(crate) fn delete(app: &App, ctx: &Ctx, req: TrailNameRequest) -> Result<Empty> {
    let name = required(req.name, "name")?;
    write(app, |state, changes| {
        let t = resolve(app, state, ctx, &name, Access::Write)?;
        changes.delete_trail(t.arn());
        Ok(Empty {})
    })
}

pub(crate) fn get(app: &App, ctx: &Ctx, req: TrailNameRequest) -> Result<GetTrailResponse> {
    let name = required(req.name, "name")?;
    app.catalog.read(|state| {
        let t = resolve(app, state, ctx, &name, Access::Read)?;
        Ok(GetTrailResponse { trail: full_shape(t) })
    })
}

pub(crate) fn describe(app: &App, ctx: &Ctx, req: DescribeTrailsRequest) -> Result<DescribeTrailsResponse> {
    let names = req.trail_name_list.unwrap_or_default();
    let include_shadows = req.include_shadow_trails.unwrap_or(true);
    let refs = names.iter().map(|n| TrailRef::parse(n)).collect::<Result<Vec<_>, _>>()?;
    app.catalog.read(|state| {
        let shown = |t: &&Trail| {
            visible(app, &ctx.account_id, t)
                && if include_shadows {
                    t.exists_in(&ctx.region)
                } else {
                    t.home_region == ctx.region && t.account_id == ctx.account_id
                }
        };
        let trail_list = if refs.is_empty() {
            state.trails().filter(shown).map(full_shape).collect()
        } else {
            let mut out: Vec<TrailShape> = Vec::new();
            for (r, raw) in refs.iter().zip(&names) {
                let found: Vec<&Trail> = match r {
                    // Names match trails of the caller's region and account only.
                    TrailRef::Name(n) => state
                        .trails()
                        .filter(|t| &t.name == n && t.account_id == ctx.account_id && t.exists_in(&ctx.region))
                        .collect(),
                    TrailRef::Arn { .. } => {
                        state.trail(raw).filter(|t| visible(app, &ctx.account_id, t)).into_iter().collect()
                    }
                };
                for t in found {
                    if !out.iter().any(|o| o.trail_arn == t.arn()) {
                        out.push(full_shape(t));
                    }
                }
            }
            out
        };
        Ok(DescribeTrailsResponse { trail_list })
    })
}

const TOKEN_PREFIX: &str = "cairn-trails-v1:";

fn encode_token(arn: &str) -> String {
    cairn_api::token::encode(TOKEN_PREFIX, arn)
}

fn decode_token(token: &str) -> Result<String> {
    cairn_api::token::decode(TOKEN_PREFIX, token)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidNextToken, "the pagination token is not valid"))
}

pub(crate) fn list(app: &App, ctx: &Ctx, req: NextTokenRequest) -> Result<ListTrailsResponse> {
    let after = req.next_token.as_deref().map(decode_token).transpose()?;
    app.catalog.read(|state| {
        // Trails are ordered by ARN; the token is the last ARN of the previous page, so pages stay stable while
        // trails are created or deleted.
        let mut rest = state
            .trails()
            .filter(|t| visible(app, &ctx.account_id, t))
            .filter(|t| after.as_ref().is_none_or(|a| t.arn() > *a));
        let trails: Vec<TrailInfo> = rest
            .by_ref()
            .take(LIST_PAGE_SIZE)
            .map(|t| TrailInfo { trail_arn: t.arn(), name: t.name.clone(), home_region: t.home_region.clone() })
            .collect();
        let next_token = match (rest.next(), trails.last()) {
            (Some(_), Some(last)) => Some(encode_token(&last.trail_arn)),
            _ => None,
        };
        Ok(ListTrailsResponse { trails, next_token })
    })
}

pub(crate) fn status(app: &App, ctx: &Ctx, req: TrailNameRequest) -> Result<GetTrailStatusResponse> {
    let name = required(req.name, "name")?;
    app.catalog.read(|state| {
        let t = resolve(app, state, ctx, &name, Access::Read)?;
        let l = &t.logging;
        // Only what happened: no delivery members before the first attempt.
        let d = app.deliveries.status(&t.arn()).unwrap_or_default();
        let logs = app.logs_deliveries.status(&t.arn());
        let iso_seconds = cairn_delivery::layout::iso_seconds;
        Ok(GetTrailStatusResponse {
            is_logging: l.is_logging,
            start_logging_time: l.start_logging_time.map(epoch_seconds),
            stop_logging_time: l.stop_logging_time.map(epoch_seconds),
            time_logging_started: l.start_logging_time.map(iso_seconds),
            time_logging_stopped: l.stop_logging_time.map(iso_seconds),
            latest_delivery_time: d.latest_delivery_ms.map(epoch_seconds),
            latest_delivery_error: d.latest_error,
            latest_delivery_attempt_time: d.latest_attempt_ms.map(iso_seconds),
            latest_delivery_attempt_succeeded: d.latest_attempt_succeeded_ms.map(iso_seconds),
            latest_digest_delivery_time: d.latest_digest_delivery_ms.map(epoch_seconds),
            latest_digest_delivery_error: d.latest_digest_error,
            latest_cloud_watch_logs_delivery_time: logs.latest_delivery_ms.map(epoch_seconds),
            latest_cloud_watch_logs_delivery_error: logs.latest_error,
        })
    })
}

pub(crate) fn set_logging(app: &App, ctx: &Ctx, req: TrailNameRequest, on: bool) -> Result<Empty> {
    let name = required(req.name, "name")?;
    let now = app.clock.now_millis();
    write(app, |state, changes| {
        let t = resolve(app, state, ctx, &name, Access::Write)?;
        if t.logging.is_logging != on {
            let mut t = t.clone();
            t.logging.is_logging = on;
            if on {
                t.logging.start_logging_time = Some(now);
            } else {
                t.logging.stop_logging_time = Some(now);
            }
            changes.put_trail(t);
        }
        Ok(Empty {})
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_keys_normalize() {
        let (r, a) = ("us-east-1", "123456789012");
        assert_eq!(
            normalize_kms_key("alias/MyAlias", r, a).unwrap(),
            "arn:aws:kms:us-east-1:123456789012:alias/MyAlias"
        );
        assert_eq!(
            normalize_kms_key("12345678-1234-1234-1234-123456789012", r, a).unwrap(),
            "arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"
        );
        let arn = "arn:aws:kms:us-east-2:123456789012:key/12345678-1234-1234-1234-123456789012";
        assert_eq!(normalize_kms_key(arn, r, a).unwrap(), arn);
        for bad in ["not-a-key", "alias/", "arn:aws:s3:::bucket", "1234"] {
            assert_eq!(normalize_kms_key(bad, r, a).unwrap_err().code, ErrorCode::InvalidKmsKeyId, "{bad}");
        }
    }

    #[test]
    fn list_tokens_round_trip() {
        let arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/t";
        assert_eq!(decode_token(&encode_token(arn)).unwrap(), arn);
        for bad in ["", "garbage", "cairn-trails-v1:zz", "cairn-trails-v1:abc"] {
            assert_eq!(decode_token(bad).unwrap_err().code, ErrorCode::InvalidNextToken);
        }
    }
}
