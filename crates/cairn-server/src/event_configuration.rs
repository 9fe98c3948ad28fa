//! Get and PutEventConfiguration: the event configuration (largest event, context key selectors, aggregation of data
//! events) of a trail or an event data store, checked as AWS checks it and kept in the catalog.

use cairn_api::shapes::{EventConfigurationResponse, PutEventConfigurationRequest, TrailSelectorRequest};
use cairn_api::{ApiError, ErrorCode, Result};
use cairn_catalog::State;
use cairn_model::event_config::{validate, EventConfiguration};

use crate::lake::stores;
use crate::trails::{resolve, write, Access};
use crate::{App, Ctx};

/// What a call names: a trail (its ARN) or an event data store (its ARN).
enum Target {
    Trail(String),
    Store(String),
}

impl Target {
    fn arn(&self) -> &str {
        match self {
            Target::Trail(a) | Target::Store(a) => a,
        }
    }
}

fn target(
    app: &App,
    state: &State,
    ctx: &Ctx,
    trail: Option<&str>,
    store: Option<&str>,
    access: Access,
) -> Result<Target> {
    match (trail, store) {
        (Some(_), Some(_)) | (None, None) => Err(ApiError::new(
            ErrorCode::InvalidParameterCombination,
            "Specify either TrailName or EventDataStore, but not both.",
        )),
        (Some(name), None) => Ok(Target::Trail(resolve(app, state, ctx, name, access)?.arn())),
        (None, Some(given)) => {
            let s = stores::resolve(state, ctx, given)?;
            stores::active(s)?;
            if s.sole_category().is_some() {
                return Err(ApiError::new(
                    ErrorCode::InvalidEventDataStoreCategory,
                    format!(
                        "Event data store {} does not hold CloudTrail events; only those have an event configuration.",
                        s.arn()
                    ),
                ));
            }
            Ok(Target::Store(s.arn()))
        }
    }
}

fn response(t: &Target, c: EventConfiguration) -> EventConfigurationResponse {
    let (trail_arn, event_data_store_arn) = match t {
        Target::Trail(a) => (Some(a.clone()), None),
        Target::Store(a) => (None, Some(a.clone())),
    };
    EventConfigurationResponse {
        trail_arn,
        event_data_store_arn,
        max_event_size: c.max_event_size().to_string(),
        context_key_selectors: c.context_key_selectors,
        aggregation_configurations: c.aggregation_configurations,
    }
}

pub(crate) fn get(app: &App, ctx: &Ctx, req: TrailSelectorRequest) -> Result<EventConfigurationResponse> {
    app.catalog.read(|state| {
        let t = target(app, state, ctx, req.trail_name.as_deref(), req.event_data_store.as_deref(), Access::Read)?;
        let arn = t.arn().to_string();
        Ok(response(&t, state.event_configuration(&arn)))
    })
}

/// Members given replace the current ones; members left out keep theirs.
pub(crate) fn put(app: &App, ctx: &Ctx, req: PutEventConfigurationRequest) -> Result<EventConfigurationResponse> {
    write(app, |state, changes| {
        let t = target(app, state, ctx, req.trail_name.as_deref(), req.event_data_store.as_deref(), Access::Write)?;
        let arn = t.arn().to_string();
        let mut c = state.event_configuration(&arn);
        if let Some(size) = &req.max_event_size {
            c.max_event_size = Some(size.clone());
        }
        if let Some(selectors) = &req.context_key_selectors {
            c.context_key_selectors = selectors.clone();
        }
        if let Some(aggregations) = &req.aggregation_configurations {
            c.aggregation_configurations = aggregations.clone();
        }
        validate(&c, matches!(t, Target::Trail(_)))?;
        changes.set_event_configuration(arn, c.clone());
        Ok(response(&t, c))
    })
}
