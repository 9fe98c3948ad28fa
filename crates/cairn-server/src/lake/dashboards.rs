//! Lake dashboards: Create, Get, List, Update and DeleteDashboard, StartDashboardRefresh, and the refresh schedules
//! the Lake's housekeeping runs on the Clock.
//!
//! A widget is a Lake statement whose `?` placeholders take its query parameters; `$StartTime$`, `$EndTime$`,
//! `$Period$` and `$EventDataStoreId$` are bound at each refresh. A refresh starts one query per widget, under the
//! widget's query alias and the refresh's id, so `DescribeQuery` with `QueryAlias` and `RefreshId` finds it. The
//! managed Highlights dashboard (`AWSCloudTrail-Highlights`) is made of cairn's Highlights queries.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use cairn_api::dashboards::{
    CreateDashboardRequest, DashboardDetail, DashboardRequest, DashboardShape, ListDashboardsRequest,
    ListDashboardsResponse, RequestWidget, StartDashboardRefreshRequest, StartDashboardRefreshResponse,
    UpdateDashboardRequest, WidgetShape,
};
use cairn_api::shapes::Empty;
use cairn_api::{max_len, required, ApiError, ErrorCode, Result};
use cairn_catalog::State;
use cairn_model::dashboard::{
    bind, dashboard_arn, next_refresh, validate_dashboard_name, validate_schedule, validate_widget, Widget, CUSTOM,
    END_TIME, EVENT_DATA_STORE_ID, HIGHLIGHTS, MANAGED, MAX_DASHBOARDS_PER_REGION, MAX_WIDGETS, PERIOD, START_TIME,
};
use cairn_model::{tags, Dashboard, StoreStatus};

use crate::config::{Principal, PrincipalKind};
use crate::lake::{kind_of, queries};
use crate::trails::write;
use crate::{epoch_seconds, App, Ctx};

const TOKEN_PREFIX: &str = "db1-";
const DAY_MS: i64 = 86_400_000;

/// The dashboard `given` names (an ARN or a name) among the caller's in its region.
fn resolve<'s>(state: &'s State, ctx: &Ctx, given: &str) -> Result<&'s Dashboard> {
    let arn =
        if given.starts_with("arn:") { given.to_string() } else { dashboard_arn(&ctx.region, &ctx.account_id, given) };
    state
        .dashboard(&arn)
        .filter(|d| d.account_id == ctx.account_id && d.region == ctx.region)
        .ok_or_else(|| ApiError::new(ErrorCode::ResourceNotFound, format!("The dashboard {given} was not found.")))
}

pub(crate) fn resolve_arn(state: &State, ctx: &Ctx, given: &str) -> Result<String> {
    resolve(state, ctx, given).map(Dashboard::arn)
}

/// The query alias of widget `i` of a dashboard: the managed query's, or `widget-<n>`.
fn alias_of(w: &Widget, i: usize) -> String {
    w.query_alias.clone().unwrap_or_else(|| format!("widget-{}", i + 1))
}

fn shape(d: &Dashboard) -> DashboardShape {
    DashboardShape {
        dashboard_arn: d.arn(),
        kind: d.kind.clone(),
        widgets: d
            .widgets
            .iter()
            .enumerate()
            .map(|(i, w)| WidgetShape {
                query_alias: Some(alias_of(w, i)),
                query_statement: w.query_statement.clone(),
                query_parameters: w.query_parameters.clone(),
                view_properties: w.view_properties.clone(),
            })
            .collect(),
        refresh_schedule: d.refresh_schedule.clone(),
        termination_protection_enabled: d.termination_protection_enabled,
        ..DashboardShape::default()
    }
}

/// The account's default store for `$EventDataStoreId$`: its oldest enabled store of CloudTrail events in the region.
fn default_store(state: &State, ctx: &Ctx) -> Option<String> {
    state
        .stores()
        .filter(|s| {
            s.account_id == ctx.account_id && s.region == ctx.region && s.status != StoreStatus::PendingDeletion
        })
        .filter(|s| kind_of(s) == cairn_store::lake::TableKind::CloudTrail)
        .min_by_key(|s| (s.created_ms, s.id.clone()))
        .map(|s| s.id.clone())
}

/// The values a refresh binds: the given ones, else the last day up to now, an hourly period (daily past two days),
/// and the account's default store.
fn refresh_values(app: &App, ctx: &Ctx, given: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let now = app.clock.now_millis();
    let time = |ms: i64| cairn_model::event::format_event_time(ms).replace('T', " ").trim_end_matches('Z').to_string();
    let mut values = BTreeMap::new();
    values.insert(START_TIME.to_string(), time(now - DAY_MS));
    values.insert(END_TIME.to_string(), time(now));
    // Times as `2026-01-01T00:00:00Z` or as the defaults are written, `2026-01-01 00:00:00`.
    let parse = |v: Option<&String>| {
        v.and_then(|t| {
            let iso = if t.ends_with('Z') { t.replace(' ', "T") } else { format!("{}Z", t.replace(' ', "T")) };
            cairn_model::event::event_time_millis(&iso)
        })
    };
    let span = parse(given.get(END_TIME)).unwrap_or(now) - parse(given.get(START_TIME)).unwrap_or(now - DAY_MS);
    values.insert(PERIOD.to_string(), if span > 2 * DAY_MS { "day" } else { "hour" }.to_string());
    if let Some(store) = app.catalog.read(|s| default_store(s, ctx)) {
        values.insert(EVENT_DATA_STORE_ID.to_string(), store);
    }
    values.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
    values
}

/// A widget's statement with its parameters bound (`$Name$` parameters from `values`, others as written).
fn bound(w: &Widget, values: &BTreeMap<String, String>) -> Result<String> {
    let params: Vec<String> = w
        .query_parameters
        .iter()
        .map(|p| match values.get(p) {
            Some(v) => Ok(v.clone()),
            None if p == EVENT_DATA_STORE_ID => Err(ApiError::new(
                ErrorCode::EventDataStoreNotFound,
                format!("the account has no event data store of CloudTrail events here for {p}: give it in QueryParameterValues"),
            )),
            None if p.starts_with('$') && p.ends_with('$') && p.len() > 1 => Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!("no value for the query parameter {p}: give it in QueryParameterValues"),
            )),
            None => Ok(p.clone()),
        })
        .collect::<Result<_>>()?;
    Ok(bind(&w.query_statement, &params)?)
}

/// The widgets a request gives, checked: their members, then each statement planned with sample parameter values.
fn widgets(app: &App, ctx: &Ctx, given: Vec<RequestWidget>) -> Result<Vec<Widget>> {
    if given.len() > MAX_WIDGETS {
        return Err(ApiError::new(
            ErrorCode::ServiceQuotaExceeded,
            format!("A dashboard has at most {MAX_WIDGETS} widgets; {} were given.", given.len()),
        ));
    }
    let values = refresh_values(app, ctx, &BTreeMap::new());
    given
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            let widget = Widget {
                query_statement: required(w.query_statement, &format!("widgets.{}.member.queryStatement", i + 1))?,
                query_parameters: w.query_parameters.unwrap_or_default(),
                view_properties: required(w.view_properties, &format!("widgets.{}.member.viewProperties", i + 1))?,
                query_alias: None,
            };
            validate_widget(&widget)?;
            queries::plan(app, ctx, &bound(&widget, &values)?)?;
            Ok(widget)
        })
        .collect()
}

/// The Highlights dashboard's widgets: cairn's managed queries.
fn highlights() -> Vec<Widget> {
    cairn_store::lake::samples::HIGHLIGHTS
        .iter()
        .map(|m| Widget {
            query_statement: m.sql.to_string(),
            query_parameters: m.parameters.iter().map(|p| p.to_string()).collect(),
            view_properties: [("View".to_string(), m.view.to_string())].into(),
            query_alias: Some(m.alias.to_string()),
        })
        .collect()
}

pub(crate) fn create(app: &App, ctx: &Ctx, req: CreateDashboardRequest) -> Result<DashboardShape> {
    let name = required(req.name, "name")?;
    validate_dashboard_name(&name)?;
    if let Some(s) = &req.refresh_schedule {
        validate_schedule(s)?;
    }
    let given_tags = req.tags_list.unwrap_or_default();
    max_len(&given_tags, 200, "tagsList")?;
    tags::validate(&given_tags)?;
    let (kind, widgets) = if name == HIGHLIGHTS {
        if req.widgets.as_ref().is_some_and(|w| !w.is_empty()) {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!("{HIGHLIGHTS} is a managed dashboard: its widgets are CloudTrail's and cannot be given"),
            ));
        }
        (MANAGED, highlights())
    } else {
        (CUSTOM, widgets(app, ctx, req.widgets.unwrap_or_default())?)
    };
    let now = app.clock.now_millis();
    let dashboard = Dashboard {
        account_id: ctx.account_id.clone(),
        region: ctx.region.clone(),
        name,
        kind: kind.to_string(),
        widgets,
        refresh_schedule: req.refresh_schedule,
        termination_protection_enabled: req.termination_protection_enabled.unwrap_or(false),
        created_ms: now,
        updated_ms: now,
        last_refresh_id: None,
        last_refresh_ms: None,
        last_refresh_failure: None,
    };
    write(app, |state, changes| {
        if state.dashboard(&dashboard.arn()).is_some() {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("A dashboard named {} already exists.", dashboard.name),
            ));
        }
        let count = state.dashboards().filter(|d| d.account_id == ctx.account_id && d.region == ctx.region).count();
        if count >= MAX_DASHBOARDS_PER_REGION {
            return Err(ApiError::new(
                ErrorCode::ServiceQuotaExceeded,
                format!(
                    "Your account has the maximum number of dashboards ({MAX_DASHBOARDS_PER_REGION}) in {}.",
                    ctx.region
                ),
            ));
        }
        changes.put_dashboard(dashboard.clone());
        if !given_tags.is_empty() {
            changes.set_tags(dashboard.arn(), given_tags.clone());
        }
        Ok(())
    })?;
    let mut answer = shape(&dashboard);
    answer.name = Some(dashboard.name.clone());
    answer.tags_list = (!given_tags.is_empty()).then_some(given_tags);
    Ok(answer)
}

pub(crate) fn get(app: &App, ctx: &Ctx, req: DashboardRequest) -> Result<DashboardShape> {
    let given = required(req.dashboard_id, "dashboardId")?;
    app.catalog.read(|state| {
        let d = resolve(state, ctx, &given)?;
        let mut answer = shape(d);
        answer.status = Some(if d.updated_ms > d.created_ms { "UPDATED" } else { "CREATED" }.into());
        answer.created_timestamp = Some(epoch_seconds(d.created_ms));
        answer.updated_timestamp = Some(epoch_seconds(d.updated_ms));
        answer.last_refresh_id = d.last_refresh_id.clone();
        answer.last_refresh_failure_reason = d.last_refresh_failure.clone();
        Ok(answer)
    })
}

pub(crate) fn list(app: &App, ctx: &Ctx, req: ListDashboardsRequest) -> Result<ListDashboardsResponse> {
    let max = crate::lake::max_results(req.max_results)?;
    if let Some(k) = &req.kind {
        if k != CUSTOM && k != MANAGED {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("1 validation error detected: Value '{k}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [MANAGED, CUSTOM]"),
            ));
        }
    }
    app.catalog.read(|state| {
        let mine = state
            .dashboards()
            .filter(|d| d.account_id == ctx.account_id && d.region == ctx.region)
            .filter(|d| req.name_prefix.as_deref().is_none_or(|p| d.name.starts_with(p)))
            .filter(|d| req.kind.as_deref().is_none_or(|k| d.kind == k));
        let (page, next_token) =
            crate::lake::page_by_arn(mine, |d| d.arn(), max, TOKEN_PREFIX, req.next_token.as_deref())?;
        let dashboards =
            page.iter().map(|d| DashboardDetail { dashboard_arn: d.arn(), kind: d.kind.clone() }).collect();
        Ok(ListDashboardsResponse { dashboards, next_token })
    })
}

pub(crate) fn update(app: &App, ctx: &Ctx, req: UpdateDashboardRequest) -> Result<DashboardShape> {
    let given = required(req.dashboard_id, "dashboardId")?;
    if let Some(s) = &req.refresh_schedule {
        validate_schedule(s)?;
    }
    let current = app.catalog.read(|state| resolve(state, ctx, &given).cloned())?;
    let widgets = match req.widgets {
        Some(_) if current.kind == MANAGED => {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!("{} is a managed dashboard: its widgets cannot be changed", current.name),
            ))
        }
        Some(w) => Some(widgets(app, ctx, w)?),
        None => None,
    };
    let now = app.clock.now_millis();
    write(app, |state, changes| {
        let mut d = resolve(state, ctx, &given)?.clone();
        if let Some(w) = widgets.clone() {
            d.widgets = w;
        }
        if let Some(s) = req.refresh_schedule.clone() {
            d.refresh_schedule = Some(s);
        }
        if let Some(on) = req.termination_protection_enabled {
            d.termination_protection_enabled = on;
        }
        d.updated_ms = now;
        changes.put_dashboard(d.clone());
        let mut answer = shape(&d);
        answer.name = Some(d.name.clone());
        answer.created_timestamp = Some(epoch_seconds(d.created_ms));
        answer.updated_timestamp = Some(epoch_seconds(d.updated_ms));
        Ok(answer)
    })
}

pub(crate) fn delete(app: &App, ctx: &Ctx, req: DashboardRequest) -> Result<Empty> {
    let given = required(req.dashboard_id, "dashboardId")?;
    write(app, |state, changes| {
        let d = resolve(state, ctx, &given)?;
        if d.termination_protection_enabled {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("Dashboard {} has termination protection enabled; turn it off to delete it.", d.arn()),
            ));
        }
        changes.delete_dashboard(d.arn());
        Ok(Empty {})
    })
}

/// A new refresh id: the time in milliseconds and a counter, unique and increasing.
fn refresh_id(now_ms: i64) -> String {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let candidate = now_ms.saturating_mul(1000);
    let mut last = LAST.load(Ordering::SeqCst);
    loop {
        let next = candidate.max(last + 1);
        match LAST.compare_exchange(last, next, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return next.to_string(),
            Err(actual) => last = actual,
        }
    }
}

/// Starts a refresh of `dashboard`: one query per widget. Records the refresh (and its failure) on the dashboard.
fn refresh(app: &Arc<App>, ctx: &Ctx, arn: &str, given: &BTreeMap<String, String>) -> Result<String> {
    let d = app
        .catalog
        .read(|s| s.dashboard(arn).cloned())
        .ok_or_else(|| ApiError::new(ErrorCode::ResourceNotFound, format!("The dashboard {arn} was not found.")))?;
    let now = app.clock.now_millis();
    let id = refresh_id(now);
    let values = refresh_values(app, ctx, given);
    // Every widget is bound and planned before any starts: a refresh starts whole or not at all.
    let statements: Result<Vec<String>> =
        d.widgets.iter().map(|w| bound(w, &values).and_then(|s| queries::plan(app, ctx, &s).map(|_| s))).collect();
    let started: Result<()> = statements.and_then(|statements| {
        d.widgets.iter().zip(statements).enumerate().try_for_each(|(i, (w, statement))| {
            queries::launch(app, ctx, None, statement, None, Some(alias_of(w, i)), Some(id.clone()))
                .map(|_| ())
                .map_err(|e| match e.code {
                    ErrorCode::MaxConcurrentQueries => ApiError::new(ErrorCode::ServiceQuotaExceeded, e.message),
                    _ => e,
                })
        })
    });
    let failure = started.as_ref().err().map(|e| format!("{}: {}", e.code.shape_name(), e.message));
    let saved = write(app, |state, changes| {
        if let Some(current) = state.dashboard(arn) {
            let mut d = current.clone();
            d.last_refresh_id = Some(id.clone());
            d.last_refresh_ms = Some(now);
            d.last_refresh_failure = failure.clone();
            changes.put_dashboard(d);
        }
        Ok(())
    });
    saved?;
    started.map(|()| id)
}

pub(crate) fn start_refresh(
    app: &Arc<App>,
    ctx: &Ctx,
    req: StartDashboardRefreshRequest,
) -> Result<StartDashboardRefreshResponse> {
    let given = required(req.dashboard_id, "dashboardId")?;
    let values = req.query_parameter_values.unwrap_or_default();
    for (k, v) in &values {
        let key_ok =
            (3..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"._/-:$".contains(&b));
        let value_ok =
            (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"._/-: ".contains(&b));
        if !key_ok || !value_ok {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("1 validation error detected: query parameter value {k:?}: {v:?} does not match the model's patterns"),
            ));
        }
    }
    let arn = app.catalog.read(|state| resolve_arn(state, ctx, &given))?;
    Ok(StartDashboardRefreshResponse { refresh_id: refresh(app, ctx, &arn, &values)? })
}

/// Refreshes the dashboards whose schedule says so (run by the Lake's housekeeping), as their account's root.
pub(crate) fn run_schedules(app: &Arc<App>) {
    let now = app.clock.now_millis();
    let due: Vec<Dashboard> = app.catalog.read(|s| {
        s.dashboards()
            .filter(|d| {
                d.refresh_schedule
                    .as_ref()
                    .and_then(|r| next_refresh(r, d.last_refresh_ms, d.created_ms))
                    .is_some_and(|at| at <= now)
            })
            .cloned()
            .collect()
    });
    for d in due {
        let ctx = Ctx {
            account_id: d.account_id.clone(),
            region: d.region.clone(),
            principal: Principal { account_id: d.account_id.clone(), kind: PrincipalKind::Root },
            request_id: uuid::Uuid::new_v4().to_string(),
        };
        match refresh(app, &ctx, &d.arn(), &BTreeMap::new()) {
            Ok(id) => tracing::info!(dashboard = d.arn(), refresh = id, "scheduled dashboard refresh started"),
            Err(e) => tracing::warn!(dashboard = d.arn(), error = %e.message, "scheduled dashboard refresh failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_ids_are_unique_increasing_and_of_the_model_s_length() {
        let ids: Vec<u64> = (0..50).map(|_| refresh_id(1_796_000_000_000).parse().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert!(ids.iter().all(|i| (10..=20).contains(&i.to_string().len())));
        let later: u64 = refresh_id(1_796_000_000_500).parse().unwrap();
        assert!(later > *ids.last().unwrap());
    }
}
