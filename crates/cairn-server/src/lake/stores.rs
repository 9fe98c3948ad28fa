//! Event data store operations: Create, Get, List, Update, Delete and RestoreEventDataStore, and Start and
//! StopEventDataStoreIngestion, with AWS's rules for names, quotas, retention, selectors and the lifecycle (a
//! deleted store waits [`PENDING_DELETION_MS`] in PENDING_DELETION, restorable, before its data goes).

use cairn_api::lake::{
    CreateEventDataStoreRequest, EventDataStoreRequest, EventDataStoreShape, EventDataStoreSummary,
    ListEventDataStoresRequest, ListEventDataStoresResponse, UpdateEventDataStoreRequest,
};
use cairn_api::shapes::Empty;
use cairn_api::{max_len, required, ApiError, ErrorCode, Result};
use cairn_catalog::State;
use cairn_model::store::{
    default_retention, default_store_selectors, store_arn, validate_retention, validate_store_name,
    validate_store_selectors, EXTENDABLE, FIXED, MAX_STORES_PER_REGION, PENDING_DELETION_MS,
};
use cairn_model::{tags, EventDataStore, StoreStatus};

use cairn_store::lake::StoreKey;

use crate::trails::{normalize_kms_key, write};
use crate::{epoch_seconds, App, Ctx};

const TOKEN_PREFIX: &str = "eds1-";

/// An `EventDataStore` member: an ARN or an id of the caller's store in its region.
pub(crate) fn resolve<'s>(state: &'s State, ctx: &Ctx, given: &str) -> Result<&'s EventDataStore> {
    let well_formed =
        (3..=256).contains(&given.len()) && given.bytes().all(|b| b.is_ascii_alphanumeric() || b"._/-:".contains(&b));
    if !well_formed {
        return Err(ApiError::new(
            ErrorCode::EventDataStoreARNInvalid,
            format!("{given:?} is not a valid event data store ARN or id"),
        ));
    }
    let arn = if given.starts_with("arn:") {
        let parts: Vec<&str> = given.splitn(6, ':').collect();
        let valid = parts.len() == 6
            && parts[2] == "cloudtrail"
            && parts[5].strip_prefix("eventdatastore/").is_some_and(|id| !id.is_empty() && !id.contains('/'));
        if !valid {
            return Err(ApiError::new(
                ErrorCode::EventDataStoreARNInvalid,
                format!("{given} is not a valid event data store ARN"),
            ));
        }
        given.to_string()
    } else {
        store_arn(&ctx.region, &ctx.account_id, &given.to_ascii_lowercase())
    };
    state.store(&arn).filter(|s| s.account_id == ctx.account_id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::EventDataStoreNotFound,
            format!("The specified event data store {given} was not found for account {}", ctx.account_id),
        )
    })
}

/// Refuses a store pending deletion, as every operation but Get, List and Restore does.
pub(crate) fn active(store: &EventDataStore) -> Result<()> {
    if store.status == StoreStatus::PendingDeletion {
        return Err(ApiError::new(
            ErrorCode::InactiveEventDataStore,
            format!("Event data store {} is inactive.", store.arn()),
        ));
    }
    Ok(())
}

/// A page size (`MaxResults`, `MaxQueryResults`): 1 to 1000, 1000 when not given.
pub(crate) fn page_size(given: Option<i64>, member: &str) -> Result<usize> {
    match given {
        None => Ok(1000),
        Some(n) if (1..=1000).contains(&n) => Ok(n as usize),
        Some(n) => Err(ApiError::new(ErrorCode::InvalidMaxResults, format!("{member} {n} must be between 1 and 1000"))),
    }
}

/// A store as Create, Get, Update and Restore answer it.
fn shape(store: &EventDataStore, status: &str) -> EventDataStoreShape {
    EventDataStoreShape {
        event_data_store_arn: store.arn(),
        name: store.name.clone(),
        status: status.to_string(),
        advanced_event_selectors: store.advanced_event_selectors.clone(),
        multi_region_enabled: store.multi_region_enabled,
        organization_enabled: store.organization_enabled,
        retention_period: store.retention_period,
        termination_protection_enabled: store.termination_protection_enabled,
        tags_list: None,
        created_timestamp: epoch_seconds(store.created_ms),
        updated_timestamp: epoch_seconds(store.updated_ms),
        kms_key_id: store.kms_key_id.clone(),
        billing_mode: store.billing_mode.clone(),
        federation_status: None,
        federation_role_arn: None,
    }
}

fn with_federation(mut s: EventDataStoreShape, store: &EventDataStore) -> EventDataStoreShape {
    s.federation_status = Some(if store.federation_role_arn.is_some() { "ENABLED" } else { "DISABLED" }.into());
    s.federation_role_arn = store.federation_role_arn.clone();
    s
}

fn retention_days(value: i64) -> Result<u32> {
    u32::try_from(value).ok().filter(|d| *d >= 7).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Validation,
            format!("1 validation error detected: Value '{value}' at 'retentionPeriod' failed to satisfy constraint: Member must have value greater than or equal to 7"),
        )
    })
}

/// The organization a store of `ctx`'s account may cover, when it asks for one.
fn organization_for(app: &App, ctx: &Ctx, enabled: bool) -> Result<Option<String>> {
    if !enabled {
        return Ok(None);
    }
    Ok(Some(app.may_manage_organization(&ctx.account_id)?.id.clone()))
}

fn name_taken(state: &State, ctx: &Ctx, name: &str, except: Option<&str>) -> Result<()> {
    let taken = state.stores().any(|s| {
        s.account_id == ctx.account_id && s.region == ctx.region && s.name == name && Some(s.id.as_str()) != except
    });
    if taken {
        return Err(ApiError::new(
            ErrorCode::EventDataStoreAlreadyExists,
            format!("An event data store with the name {name} already exists."),
        ));
    }
    Ok(())
}

/// Whether a new store named `name` fits: the name is free and the region holds fewer than the most stores.
fn room_for(state: &State, ctx: &Ctx, name: &str) -> Result<()> {
    name_taken(state, ctx, name, None)?;
    let count = state.stores().filter(|s| s.account_id == ctx.account_id && s.region == ctx.region).count();
    if count >= MAX_STORES_PER_REGION {
        return Err(ApiError::new(
            ErrorCode::EventDataStoreMaxLimitExceeded,
            format!(
                "Your account has used the maximum number of event data stores ({MAX_STORES_PER_REGION}) in {}.",
                ctx.region
            ),
        ));
    }
    Ok(())
}

pub(crate) fn create(app: &App, ctx: &Ctx, req: CreateEventDataStoreRequest) -> Result<EventDataStoreShape> {
    let name = required(req.name, "name")?;
    validate_store_name(&name)?;
    let billing_mode = req.billing_mode.unwrap_or_else(|| EXTENDABLE.into());
    let retention = match req.retention_period {
        Some(v) => retention_days(v)?,
        None => default_retention(&billing_mode),
    };
    validate_retention(&billing_mode, retention)?;
    let selectors = req.advanced_event_selectors.unwrap_or_else(default_store_selectors);
    validate_store_selectors(&selectors)?;
    let given_tags = req.tags_list.unwrap_or_default();
    max_len(&given_tags, 200, "tagsList")?;
    tags::validate(&given_tags)?;
    let kms_key_id =
        req.kms_key_id.map(|k| normalize_kms_key(&k, &ctx.region, &ctx.account_id).map(|_| k)).transpose()?;
    let organization_id = organization_for(app, ctx, req.organization_enabled.unwrap_or(false))?;
    let now = app.clock.now_millis();
    let mut store = EventDataStore {
        id: uuid::Uuid::new_v4().to_string(),
        account_id: ctx.account_id.clone(),
        region: ctx.region.clone(),
        name,
        advanced_event_selectors: selectors,
        multi_region_enabled: req.multi_region_enabled.unwrap_or(true),
        organization_enabled: organization_id.is_some(),
        organization_id,
        retention_period: retention,
        billing_mode,
        termination_protection_enabled: req.termination_protection_enabled.unwrap_or(true),
        kms_key_id,
        status: StoreStatus::Enabled,
        ingesting: req.start_ingestion.unwrap_or(true),
        created_ms: now,
        updated_ms: now,
        deleted_ms: None,
        federation_role_arn: None,
        data_key: None,
    };
    if !store.ingesting {
        if store.sole_category().is_some_and(|c| c != "ConfigurationItem") {
            return Err(ApiError::new(
                ErrorCode::InvalidEventDataStoreCategory,
                "StartIngestion can be false only for event data stores of management, data or configuration item events",
            ));
        }
        store.status = StoreStatus::StoppedIngestion;
    }
    let data_key = match store.kms_key_id.clone() {
        Some(key) => {
            // A store that could not be created makes no KMS calls.
            app.catalog.read(|state| room_for(state, ctx, &store.name))?;
            let (blob, data_key) = super::keys::issue(app, ctx, &store, &key)?;
            store.data_key = Some(blob);
            Some(data_key)
        }
        None => None,
    };
    let commit = || {
        write(app, |state, changes| {
            room_for(state, ctx, &store.name)?;
            changes.put_store(store.clone());
            if !given_tags.is_empty() {
                changes.set_tags(store.arn(), given_tags.clone());
            }
            Ok(())
        })
    };
    match data_key {
        // The Lake encrypts the store's files before any flush can see it in the catalog.
        Some(key) => super::keys::changing(app, commit, |()| {
            app.lake.declare(&store.id, super::kind_of(&store));
            app.lake.set_key(&store.id, StoreKey::Keyed(key));
        })?,
        None => commit()?,
    }
    let mut answer = shape(&store, "CREATED");
    answer.tags_list = (!given_tags.is_empty()).then_some(given_tags);
    Ok(answer)
}

pub(crate) fn get(app: &App, ctx: &Ctx, req: EventDataStoreRequest) -> Result<EventDataStoreShape> {
    let given = required(req.event_data_store, "eventDataStore")?;
    app.catalog.read(|state| {
        let store = resolve(state, ctx, &given)?;
        Ok(with_federation(shape(store, store.status.as_str()), store))
    })
}

pub(crate) fn list(app: &App, ctx: &Ctx, req: ListEventDataStoresRequest) -> Result<ListEventDataStoresResponse> {
    let max = page_size(req.max_results, "MaxResults")?;
    app.catalog.read(|state| {
        let mine = state.stores().filter(|s| s.account_id == ctx.account_id && s.region == ctx.region);
        let (page, next_token) =
            crate::lake::page_by_arn(mine, |s| s.arn(), max, TOKEN_PREFIX, req.next_token.as_deref())?;
        let event_data_stores = page
            .iter()
            .map(|s| EventDataStoreSummary { event_data_store_arn: s.arn(), name: s.name.clone() })
            .collect();
        Ok(ListEventDataStoresResponse { event_data_stores, next_token })
    })
}

pub(crate) fn update(app: &App, ctx: &Ctx, req: UpdateEventDataStoreRequest) -> Result<EventDataStoreShape> {
    let given = required(req.event_data_store, "eventDataStore")?;
    let nothing = req.name.is_none()
        && req.advanced_event_selectors.is_none()
        && req.multi_region_enabled.is_none()
        && req.organization_enabled.is_none()
        && req.retention_period.is_none()
        && req.termination_protection_enabled.is_none()
        && req.kms_key_id.is_none()
        && req.billing_mode.is_none();
    if nothing {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            "UpdateEventDataStore needs at least one setting to change besides EventDataStore",
        ));
    }
    if let Some(name) = &req.name {
        validate_store_name(name)?;
    }
    if let Some(s) = &req.advanced_event_selectors {
        validate_store_selectors(s)?;
    }
    let retention = req.retention_period.map(retention_days).transpose()?;
    let organization = req.organization_enabled.map(|on| organization_for(app, ctx, on)).transpose()?;
    // A key given to a store without one: its data key is made first (KMS's refusals change nothing).
    let issued = match &req.kms_key_id {
        Some(key) => {
            normalize_kms_key(key, &ctx.region, &ctx.account_id)?;
            let current = app.catalog.read(|state| resolve(state, ctx, &given).cloned())?;
            active(&current)?;
            match (&current.kms_key_id, &current.data_key) {
                (Some(k), _) if k != key => None,
                (_, None) => Some(super::keys::issue(app, ctx, &current, key)?),
                _ => None,
            }
        }
        None => None,
    };
    let issued_blob = issued.as_ref().map(|(blob, _)| blob.clone());
    let now = app.clock.now_millis();
    let commit = || {
        write(app, |state, changes| {
            let current = resolve(state, ctx, &given)?;
            active(current)?;
            let mut store = current.clone();
            if let Some(name) = req.name.clone() {
                name_taken(state, ctx, &name, Some(&store.id))?;
                store.name = name;
            }
            if let Some(selectors) = req.advanced_event_selectors.clone() {
                let mut changed = store.clone();
                changed.advanced_event_selectors = selectors;
                if changed.sole_category() != store.sole_category() {
                    return Err(ApiError::new(
                        ErrorCode::InvalidEventSelectors,
                        "an event data store cannot change the category of events it holds",
                    ));
                }
                store = changed;
            }
            if let Some(mode) = req.billing_mode.clone() {
                if store.billing_mode == EXTENDABLE && mode == FIXED {
                    return Err(ApiError::new(
                        ErrorCode::InvalidParameter,
                        "BillingMode cannot change from EXTENDABLE_RETENTION_PRICING to FIXED_RETENTION_PRICING",
                    ));
                }
                store.billing_mode = mode;
            }
            if let Some(days) = retention {
                store.retention_period = days;
            }
            validate_retention(&store.billing_mode, store.retention_period)?;
            if let Some(key) = req.kms_key_id.clone() {
                normalize_kms_key(&key, &ctx.region, &ctx.account_id)?;
                if store.kms_key_id.as_ref().is_some_and(|k| *k != key) {
                    return Err(ApiError::new(
                        ErrorCode::InvalidParameter,
                        "the KMS key of an event data store cannot be changed once set",
                    ));
                }
                store.kms_key_id = Some(key);
                if store.data_key.is_none() {
                    store.data_key = issued_blob.clone();
                }
            }
            if let Some(on) = req.multi_region_enabled {
                store.multi_region_enabled = on;
            }
            if let Some(org) = organization.clone() {
                store.organization_enabled = org.is_some();
                store.organization_id = org;
            }
            if let Some(on) = req.termination_protection_enabled {
                store.termination_protection_enabled = on;
            }
            store.updated_ms = now;
            changes.put_store(store.clone());
            Ok(store)
        })
    };
    let updated = match issued {
        // The Lake encrypts the store's files before any flush can see its key in the catalog.
        Some((blob, key)) => super::keys::changing(app, commit, |updated: &EventDataStore| {
            if updated.data_key.as_ref() == Some(&blob) {
                app.lake.declare(&updated.id, super::kind_of(updated));
                app.lake.set_key(&updated.id, StoreKey::Keyed(key));
                if updated.federation_role_arn.is_some() {
                    super::federation::publish(app, updated);
                }
            }
        })?,
        None => commit()?,
    };
    Ok(with_federation(shape(&updated, updated.status.as_str()), &updated))
}

pub(crate) fn delete(app: &App, ctx: &Ctx, req: EventDataStoreRequest) -> Result<Empty> {
    let given = required(req.event_data_store, "eventDataStore")?;
    let now = app.clock.now_millis();
    write(app, |state, changes| {
        let store = resolve(state, ctx, &given)?;
        active(store)?;
        if store.termination_protection_enabled {
            return Err(ApiError::new(
                ErrorCode::EventDataStoreTerminationProtected,
                format!(
                    "Event data store {} cannot be deleted because termination protection is enabled.",
                    store.arn()
                ),
            ));
        }
        crate::lake::channels::refuse_if_destination(state, &store.arn())?;
        if store.federation_role_arn.is_some() {
            return Err(ApiError::new(
                ErrorCode::EventDataStoreFederationEnabled,
                "Lake query federation must be disabled before the event data store is deleted",
            ));
        }
        let mut store = store.clone();
        store.status = StoreStatus::PendingDeletion;
        store.deleted_ms = Some(now);
        store.updated_ms = now;
        changes.put_store(store);
        Ok(Empty {})
    })
}

pub(crate) fn restore(app: &App, ctx: &Ctx, req: EventDataStoreRequest) -> Result<EventDataStoreShape> {
    let given = required(req.event_data_store, "eventDataStore")?;
    let now = app.clock.now_millis();
    write(app, |state, changes| {
        let store = resolve(state, ctx, &given)?;
        if store.status != StoreStatus::PendingDeletion {
            return Err(ApiError::new(
                ErrorCode::InvalidEventDataStoreStatus,
                format!("Event data store {} is not pending deletion, so it cannot be restored.", store.arn()),
            ));
        }
        let mut store = store.clone();
        store.status = if store.ingesting { StoreStatus::Enabled } else { StoreStatus::StoppedIngestion };
        store.deleted_ms = None;
        store.updated_ms = now;
        changes.put_store(store.clone());
        Ok(shape(&store, store.status.as_str()))
    })
}

/// StartEventDataStoreIngestion (`on`) and StopEventDataStoreIngestion.
pub(crate) fn set_ingestion(app: &App, ctx: &Ctx, req: EventDataStoreRequest, on: bool) -> Result<Empty> {
    let given = required(req.event_data_store, "eventDataStore")?;
    let now = app.clock.now_millis();
    write(app, |state, changes| {
        let store = resolve(state, ctx, &given)?;
        if store.sole_category().is_some_and(|c| c != "ConfigurationItem") {
            return Err(ApiError::new(
                ErrorCode::InvalidEventDataStoreCategory,
                "ingestion can be started and stopped only for event data stores of management, data, network activity or configuration item events",
            ));
        }
        let (from, to) = if on {
            (StoreStatus::StoppedIngestion, StoreStatus::Enabled)
        } else {
            (StoreStatus::Enabled, StoreStatus::StoppedIngestion)
        };
        if store.status != from {
            return Err(ApiError::new(
                ErrorCode::InvalidEventDataStoreStatus,
                format!("Event data store {} is {}, not {}.", store.arn(), store.status.as_str(), from.as_str()),
            ));
        }
        let mut store = store.clone();
        store.status = to;
        store.ingesting = on;
        store.updated_ms = now;
        changes.put_store(store);
        Ok(Empty {})
    })
}

/// Stores whose wait after deletion is over: removed from the catalog (their data is the caller's to remove).
pub(crate) fn purge_deleted(app: &App, now_ms: i64) -> Vec<EventDataStore> {
    let purged = write(app, |state, changes| {
        let due: Vec<EventDataStore> = state
            .stores()
            .filter(|s| s.deleted_ms.is_some_and(|d| now_ms - d >= PENDING_DELETION_MS))
            .cloned()
            .collect();
        for s in &due {
            changes.remove_store(s.arn());
        }
        Ok(due)
    });
    purged.unwrap_or_else(|e| {
        tracing::error!(error = %e.message, "cannot remove event data stores past their deletion wait");
        Vec::new()
    })
}
