//! Channel operations (CloudTrail Lake integrations): Create, Get, List, Update and DeleteChannel. A channel sends
//! the events PutAuditEvents receives to ActivityAuditLog event data stores of its account; what happened at its
//! latest PutAuditEvents is kept in memory for GetChannel.

use std::collections::HashMap;
use std::sync::Mutex;

use cairn_api::channels::{
    ChannelRequest, ChannelShape, ChannelSummary, CreateChannelRequest, IngestionStatus, ListChannelsRequest,
    ListChannelsResponse, UpdateChannelRequest,
};
use cairn_api::shapes::Empty;
use cairn_api::{max_len, required, ApiError, ErrorCode, Result};
use cairn_catalog::State;
use cairn_model::channel::{
    channel_arn, valid_source, validate_channel_name, Destination, CUSTOM_SOURCE, EVENT_DATA_STORE,
    MAX_CHANNELS_PER_REGION, MAX_DESTINATIONS,
};
use cairn_model::{tags, Arn, Channel, ResourceKind, StoreStatus};

use crate::lake::stores;
use crate::trails::write;
use crate::{App, Ctx};

const TOKEN_PREFIX: &str = "ch1-";

/// The latest PutAuditEvents of each channel, by channel ARN.
#[derive(Debug, Default)]
pub(crate) struct IngestionStatuses(Mutex<HashMap<String, IngestionStatus>>);

impl IngestionStatuses {
    /// Records a PutAuditEvents call: the last event it accepted, and the error code of the first it refused.
    pub(crate) fn record(
        &self,
        arn: &str,
        now_ms: i64,
        last_success: Option<&str>,
        last_attempt: Option<&str>,
        error: Option<&str>,
    ) {
        let now = crate::epoch_seconds(now_ms);
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let status = all.entry(arn.to_string()).or_default();
        status.latest_ingestion_attempt_time = Some(now);
        status.latest_ingestion_attempt_event_id = last_attempt.map(str::to_string);
        if let Some(id) = last_success {
            status.latest_ingestion_success_time = Some(now);
            status.latest_ingestion_success_event_id = Some(id.to_string());
        }
        status.latest_ingestion_error_code = error.map(str::to_string);
    }

    fn forget(&self, arn: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(arn);
    }

    fn get(&self, arn: &str) -> IngestionStatus {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(arn).cloned().unwrap_or_default()
    }
}

/// The channel ARN `given` names: a channel's ARN (of any account), or a channel id (the ARN's last part) in the
/// caller's account and region; `None` when it is neither.
pub(crate) fn arn_of(ctx: &Ctx, given: &str) -> Option<String> {
    if given.starts_with("arn:") {
        let arn = Arn::parse(given).ok()?;
        let (kind, id) = arn.cloudtrail_resource()?;
        (kind == ResourceKind::Channel && !id.contains('/')).then(|| given.to_string())
    } else {
        let id = (1..=128).contains(&given.len()) && given.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        id.then(|| channel_arn(&ctx.region, &ctx.account_id, given))
    }
}

/// A `Channel` member: an ARN or an id of the caller's channel in its region.
pub(crate) fn resolve<'s>(state: &'s State, ctx: &Ctx, given: &str) -> Result<&'s Channel> {
    let arn = arn_of(ctx, given).ok_or_else(|| {
        ApiError::new(ErrorCode::ChannelARNInvalid, format!("{given:?} is not a valid channel ARN or id"))
    })?;
    state.channel(&arn).filter(|c| c.account_id == ctx.account_id && c.region == ctx.region).ok_or_else(|| {
        ApiError::new(
            ErrorCode::ChannelNotFound,
            format!("Channel {given} was not found for account {}.", ctx.account_id),
        )
    })
}

/// The stores `destinations` name, as ARNs: each an active ActivityAuditLog store of the caller, none twice.
fn destination_stores(state: &State, ctx: &Ctx, destinations: &[Destination]) -> Result<Vec<String>> {
    if destinations.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "1 validation error detected: Value at 'destinations' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    max_len(destinations, MAX_DESTINATIONS, "destinations")?;
    let mut arns = Vec::with_capacity(destinations.len());
    for d in destinations {
        let kind = required(d.kind.as_deref(), "destinations.member.type")?;
        let location = required(d.location.as_deref(), "destinations.member.location")?;
        if kind != EVENT_DATA_STORE {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!("Destination type {kind} is not valid: channels of Lake integrations send to {EVENT_DATA_STORE} destinations (AWS_SERVICE channels are created by AWS services)"),
            ));
        }
        let store = stores::resolve(state, ctx, location)?;
        stores::active(store)?;
        if store.sole_category() != Some("ActivityAuditLog") {
            return Err(ApiError::new(
                ErrorCode::InvalidEventDataStoreCategory,
                format!(
                    "Event data store {} does not hold ActivityAuditLog events, so a channel cannot send to it.",
                    store.arn()
                ),
            ));
        }
        if store.status != StoreStatus::Enabled {
            return Err(ApiError::new(
                ErrorCode::InactiveEventDataStore,
                format!("Event data store {} is not enabled.", store.arn()),
            ));
        }
        let arn = store.arn();
        if arns.contains(&arn) {
            return Err(ApiError::new(ErrorCode::InvalidParameter, format!("Destination {arn} is listed twice.")));
        }
        arns.push(arn);
    }
    Ok(arns)
}

/// A channel's destinations as the API shows them.
fn destinations_of(channel: &Channel) -> Vec<Destination> {
    channel
        .destinations
        .iter()
        .map(|arn| Destination { kind: Some(EVENT_DATA_STORE.into()), location: Some(arn.clone()) })
        .collect()
}

fn shape(channel: &Channel) -> ChannelShape {
    ChannelShape {
        channel_arn: channel.arn(),
        name: channel.name.clone(),
        source: channel.source.clone(),
        destinations: destinations_of(channel),
        ..ChannelShape::default()
    }
}

/// Refuses a name another channel of the caller's region has, and a partner source that already has a channel.
fn unique(state: &State, ctx: &Ctx, name: &str, source: Option<&str>, except: Option<&str>) -> Result<()> {
    for c in state.channels() {
        if c.account_id != ctx.account_id || c.region != ctx.region || Some(c.id.as_str()) == except {
            continue;
        }
        if c.name == name {
            return Err(ApiError::new(
                ErrorCode::ChannelAlreadyExists,
                format!("A channel with the name {name} already exists."),
            ));
        }
        if source.is_some_and(|s| s != CUSTOM_SOURCE && s == c.source) {
            return Err(ApiError::new(
                ErrorCode::ChannelAlreadyExists,
                format!(
                    "Channel {} already takes events from source {}; a source has at most one channel.",
                    c.arn(),
                    c.source
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn create(app: &App, ctx: &Ctx, req: CreateChannelRequest) -> Result<ChannelShape> {
    let name = required(req.name, "name")?;
    let source = required(req.source, "source")?;
    let destinations = required(req.destinations, "destinations")?;
    validate_channel_name(&name)?;
    if !valid_source(&source) {
        return Err(ApiError::new(
            ErrorCode::InvalidSource,
            format!("Source {source:?} is not valid: use {CUSTOM_SOURCE} or an integration partner's source name"),
        ));
    }
    let given_tags = req.tags.unwrap_or_default();
    max_len(&given_tags, 200, "tags")?;
    tags::validate(&given_tags)?;
    let now = app.clock.now_millis();
    write(app, |state, changes| {
        let destinations = destination_stores(state, ctx, &destinations)?;
        unique(state, ctx, &name, Some(&source), None)?;
        let count = state.channels().filter(|c| c.account_id == ctx.account_id && c.region == ctx.region).count();
        if count >= MAX_CHANNELS_PER_REGION {
            return Err(ApiError::new(
                ErrorCode::ChannelMaxLimitExceeded,
                format!(
                    "Your account has used the maximum number of channels ({MAX_CHANNELS_PER_REGION}) in {}.",
                    ctx.region
                ),
            ));
        }
        let channel = Channel {
            id: uuid::Uuid::new_v4().to_string(),
            account_id: ctx.account_id.clone(),
            region: ctx.region.clone(),
            name: name.clone(),
            source: source.clone(),
            destinations,
            created_ms: now,
        };
        changes.put_channel(channel.clone());
        if !given_tags.is_empty() {
            changes.set_tags(channel.arn(), given_tags.clone());
        }
        let mut answer = shape(&channel);
        answer.tags = (!given_tags.is_empty()).then(|| given_tags.clone());
        Ok(answer)
    })
}

pub(crate) fn get(app: &App, ctx: &Ctx, req: ChannelRequest) -> Result<ChannelShape> {
    let given = required(req.channel, "channel")?;
    app.catalog.read(|state| {
        let channel = resolve(state, ctx, &given)?;
        let mut answer = shape(channel);
        answer.ingestion_status = Some(app.channel_ingestion.get(&channel.arn()));
        Ok(answer)
    })
}

pub(crate) fn list(app: &App, ctx: &Ctx, req: ListChannelsRequest) -> Result<ListChannelsResponse> {
    let max = crate::lake::max_results(req.max_results)?;
    app.catalog.read(|state| {
        let mine = state.channels().filter(|c| c.account_id == ctx.account_id && c.region == ctx.region);
        let (page, next_token) =
            crate::lake::page_by_arn(mine, |c| c.arn(), max, TOKEN_PREFIX, req.next_token.as_deref())?;
        let channels = page.iter().map(|c| ChannelSummary { channel_arn: c.arn(), name: c.name.clone() }).collect();
        Ok(ListChannelsResponse { channels, next_token })
    })
}

pub(crate) fn update(app: &App, ctx: &Ctx, req: UpdateChannelRequest) -> Result<ChannelShape> {
    let given = required(req.channel, "channel")?;
    if let Some(name) = &req.name {
        validate_channel_name(name)?;
    }
    write(app, |state, changes| {
        let mut channel = resolve(state, ctx, &given)?.clone();
        if let Some(destinations) = &req.destinations {
            channel.destinations = destination_stores(state, ctx, destinations)?;
        }
        if let Some(name) = &req.name {
            unique(state, ctx, name, None, Some(&channel.id))?;
            channel.name = name.clone();
        }
        changes.put_channel(channel.clone());
        Ok(shape(&channel))
    })
}

pub(crate) fn delete(app: &App, ctx: &Ctx, req: ChannelRequest) -> Result<Empty> {
    let given = required(req.channel, "channel")?;
    let arn = write(app, |state, changes| {
        let channel = resolve(state, ctx, &given)?;
        changes.delete_channel(channel.arn());
        Ok(channel.arn())
    })?;
    app.channel_ingestion.forget(&arn);
    Ok(Empty {})
}

/// Refuses to delete a store a channel sends to (`ChannelExistsForEDSException`).
pub(crate) fn refuse_if_destination(state: &State, store_arn: &str) -> Result<()> {
    match state.channels().find(|c| c.destinations.iter().any(|d| d == store_arn)) {
        Some(c) => Err(ApiError::new(
            ErrorCode::ChannelExistsForEDS,
            format!("Channel {} sends events to event data store {store_arn}; delete the channel or change its destinations first.", c.arn()),
        )),
        None => Ok(()),
    }
}
