//! Event selectors and insight selectors of trails: PutEventSelectors, GetEventSelectors, PutInsightSelectors,
//! GetInsightSelectors.

use cairn_api::shapes::{
    EventSelectorsResponse, InsightSelectorsResponse, PutEventSelectorsRequest, PutInsightSelectorsRequest,
    TrailSelectorRequest,
};
use cairn_api::{required, ApiError, ErrorCode, Result};
use cairn_model::selectors::validate_insight_selectors;
use cairn_model::{EventSelectors, Trail};

use crate::trails::{resolve, write, Access};
use crate::{App, Ctx};

fn selectors_response(t: &Trail) -> EventSelectorsResponse {
    let (basic, advanced) = match &t.event_selectors {
        EventSelectors::Basic(b) => (Some(b.clone()), None),
        EventSelectors::Advanced(a) => (None, Some(a.clone())),
    };
    EventSelectorsResponse { trail_arn: t.arn(), event_selectors: basic, advanced_event_selectors: advanced }
}

pub(crate) fn put_event_selectors(
    app: &App,
    ctx: &Ctx,
    req: PutEventSelectorsRequest,
) -> Result<EventSelectorsResponse> {
    let name = required(req.trail_name, "trailName")?;
    let selectors = match (req.event_selectors, req.advanced_event_selectors) {
        (Some(b), None) => EventSelectors::Basic(b),
        (None, Some(a)) => EventSelectors::Advanced(a),
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::InvalidEventSelectors,
                "specify either EventSelectors or AdvancedEventSelectors, not both",
            ))
        }
        (None, None) => {
            return Err(ApiError::new(
                ErrorCode::InvalidEventSelectors,
                "specify either EventSelectors or AdvancedEventSelectors",
            ))
        }
    };
    selectors.validate()?;
    write(app, |state, changes| {
        let mut t = resolve(app, state, ctx, &name, Access::Write)?.clone();
        // Selectors of one kind replace those of the other.
        t.event_selectors = selectors;
        t.has_custom_event_selectors = true;
        let response = selectors_response(&t);
        changes.put_trail(t);
        Ok(response)
    })
}

pub(crate) fn get_event_selectors(app: &App, ctx: &Ctx, req: TrailSelectorRequest) -> Result<EventSelectorsResponse> {
    let name = required(req.trail_name, "trailName")?;
    app.catalog.read(|state| Ok(selectors_response(resolve(app, state, ctx, &name, Access::Read)?)))
}

/// Event data stores arrive with CloudTrail Lake; until then no store exists to name.
fn no_event_data_store(eds: &str) -> ApiError {
    ApiError::new(ErrorCode::EventDataStoreNotFound, format!("event data store {eds} does not exist"))
}

pub(crate) fn put_insight_selectors(
    app: &App,
    ctx: &Ctx,
    req: PutInsightSelectorsRequest,
) -> Result<InsightSelectorsResponse> {
    let insights = required(req.insight_selectors, "insightSelectors")?;
    let name = match (req.trail_name, req.event_data_store, req.insights_destination) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterCombination,
                "TrailName cannot be combined with EventDataStore or InsightsDestination",
            ))
        }
        (Some(name), None, None) => name,
        (None, Some(eds), _) => return Err(no_event_data_store(&eds)),
        (None, None, _) => {
            return Err(ApiError::new(ErrorCode::InvalidParameterCombination, "specify TrailName or EventDataStore"))
        }
    };
    write(app, |state, changes| {
        let mut t = resolve(app, state, ctx, &name, Access::Write)?.clone();
        validate_insight_selectors(&insights, &t.event_selectors)?;
        t.insight_selectors = insights;
        let response = InsightSelectorsResponse { trail_arn: t.arn(), insight_selectors: t.insight_selectors.clone() };
        changes.put_trail(t);
        Ok(response)
    })
}

pub(crate) fn get_insight_selectors(
    app: &App,
    ctx: &Ctx,
    req: TrailSelectorRequest,
) -> Result<InsightSelectorsResponse> {
    let name = match (req.trail_name, req.event_data_store) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterCombination,
                "specify TrailName or EventDataStore, not both",
            ))
        }
        (Some(name), None) => name,
        (None, Some(eds)) => return Err(no_event_data_store(&eds)),
        (None, None) => {
            return Err(ApiError::new(ErrorCode::InvalidParameterCombination, "specify TrailName or EventDataStore"))
        }
    };
    app.catalog.read(|state| {
        let t = resolve(app, state, ctx, &name, Access::Read)?;
        if t.insight_selectors.is_empty() {
            return Err(ApiError::new(
                ErrorCode::InsightNotEnabled,
                format!("trail {} does not have Insights enabled", t.arn()),
            ));
        }
        Ok(InsightSelectorsResponse { trail_arn: t.arn(), insight_selectors: t.insight_selectors.clone() })
    })
}
