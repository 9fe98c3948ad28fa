//! Lake queries: StartQuery, DescribeQuery, GetQueryResults, ListQueries and CancelQuery.
//!
//! A query is checked and its stores resolved when it starts (errors in the statement are answered at once, as
//! InvalidQueryStatementException), then runs on the query threads: QUEUED until it starts, RUNNING, and FINISHED,
//! FAILED, TIMED_OUT or CANCELLED. An account runs at most [`MAX_RUNNING`] queries at once. Queries and their
//! results are kept [`KEEP_MS`] (7 days), in memory and on disk ([`saved`]). A query given `DeliveryS3Uri` also writes its results and their
//! sign file to that bucket ([`super::results`]) before it reads FINISHED. A query of another account's stores is
//! the caller's, and allowed by the stores' resource policies ([`super::access`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn_api::lake::{
    CancelQueryResponse, DescribeQueryResponse, DescribeQueryStatistics, GetQueryResultsResponse, ListQueriesRequest,
    ListQueriesResponse, QueryRequest, QuerySummary, ResultRow, ResultStatistics, StartQueryRequest,
    StartQueryResponse,
};
use cairn_api::{required, ApiError, ErrorCode, Result};
use cairn_store::lake::sql::{check, prepare, run, MAX_STATEMENT};
use cairn_store::lake::{LakeAnswer, QueryStats};
use cairn_store::QueryLimits;

use super::access;
use super::stores::{active, page_size, resolve};

mod saved;
use crate::{epoch_seconds, App, Ctx};
pub(crate) use saved::restore;

/// Queries an account may have queued or running at once.
pub(crate) const MAX_RUNNING: usize = 10;
/// How long queries and their results are kept.
const KEEP_MS: i64 = 7 * 86_400_000;
const TOKEN_PREFIX: &str = "qr1-";
/// Rows a query keeps at least (more when `query.max_rows` says so); a larger answer is cut there.
const MAX_RESULT_ROWS: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Queued,
    Running,
    Finished,
    Failed,
    Cancelled,
    TimedOut,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "QUEUED",
            Status::Running => "RUNNING",
            Status::Finished => "FINISHED",
            Status::Failed => "FAILED",
            Status::Cancelled => "CANCELLED",
            Status::TimedOut => "TIMED_OUT",
        }
    }

    fn parse(s: &str) -> Option<Status> {
        [Status::Queued, Status::Running, Status::Finished, Status::Failed, Status::Cancelled, Status::TimedOut]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    fn active(self) -> bool {
        matches!(self, Status::Queued | Status::Running)
    }
}

#[derive(Debug)]
struct Progress {
    status: Status,
    answer: Option<LakeAnswer>,
    error: Option<String>,
    stats: QueryStats,
    /// DescribeQuery's DeliveryStatus, for a query delivering its results to a bucket.
    delivery_status: Option<&'static str>,
    task: Option<tokio::task::AbortHandle>,
    /// The answer of a query of an encrypted store, restored sealed with the store's data key (by store id) when the
    /// key could not be used at start (base64): opened with the key KMS gives the caller.
    sealed_answer: Option<(String, String)>,
}

#[derive(Debug)]
struct Query {
    id: String,
    account: String,
    /// The stores' owner, when another account's.
    owner: Option<String>,
    statement: String,
    /// The query alias it ran under (a managed query, or a dashboard widget) and the dashboard refresh it belongs to.
    alias: Option<String>,
    refresh_id: Option<String>,
    /// ARNs of the stores the statement reads.
    stores: Vec<String>,
    region: String,
    /// Where the results go, when StartQuery named a bucket.
    delivery: Option<super::results::Target>,
    created_ms: i64,
    progress: Mutex<Progress>,
}

impl Query {
    fn lock(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Every query of the last [`KEEP_MS`].
#[derive(Debug, Default)]
pub(crate) struct Registry {
    queries: Mutex<HashMap<String, Arc<Query>>>,
    /// Statements GenerateQuery wrote, by their alias: (account, statement, when).
    generated: Mutex<HashMap<String, (String, String, i64)>>,
}

impl Registry {
    fn get(&self, ctx: &Ctx, id: &str, now_ms: i64) -> Result<Arc<Query>> {
        // Queries past their 7 days are not found; housekeeping ([`expire`]) removes them and their files.
        let map = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        let kept = |q: &&Arc<Query>| q.account == ctx.account_id && now_ms - q.created_ms < KEEP_MS;
        map.get(id).filter(kept).cloned().ok_or_else(|| {
            ApiError::new(
                ErrorCode::QueryIdNotFound,
                format!("The query ID {id} does not exist or does not map to a query."),
            )
        })
    }

    /// The latest query of `ctx`'s account run under `alias` (in the dashboard refresh `refresh_id`, when given).
    fn by_alias(&self, ctx: &Ctx, alias: &str, refresh_id: Option<&str>) -> Result<Arc<Query>> {
        let map = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        map.values()
            .filter(|q| q.account == ctx.account_id && q.alias.as_deref() == Some(alias))
            .filter(|q| refresh_id.is_none_or(|r| q.refresh_id.as_deref() == Some(r)))
            .max_by_key(|q| q.created_ms)
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::QueryIdNotFound,
                    format!(
                        "No query ran under the alias {alias}{}.",
                        refresh_id.map(|r| format!(" in refresh {r}")).unwrap_or_default()
                    ),
                )
            })
    }

    /// Keeps a statement GenerateQuery wrote under its alias for [`KEEP_MS`].
    pub(crate) fn remember_generated(&self, account: &str, alias: &str, statement: &str, now_ms: i64) {
        let mut map = self.generated.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (_, _, at)| now_ms - *at < KEEP_MS);
        map.insert(alias.to_string(), (account.to_string(), statement.to_string(), now_ms));
    }

    /// The statement GenerateQuery wrote for `account` under `alias`, while it is kept.
    fn generated(&self, account: &str, alias: &str, now_ms: i64) -> Option<String> {
        let map = self.generated.lock().unwrap_or_else(|e| e.into_inner());
        map.get(alias).filter(|(a, _, at)| a == account && now_ms - *at < KEEP_MS).map(|(_, s, _)| s.clone())
    }

    fn of_account(&self, account: &str) -> Vec<Arc<Query>> {
        let map = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        map.values().filter(|q| q.account == account).cloned().collect()
    }
}

/// Checks a query parameter list as the model constrains it: 1 to 10 values of 1 to 1,024 characters.
fn check_parameters(values: &[String]) -> Result<()> {
    if !cairn_model::dashboard::valid_query_parameters(values) {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "1 validation error detected: Value at 'queryParameters' failed to satisfy constraint: Member must have 1 to 10 values of 1 to 1024 characters",
        ));
    }
    Ok(())
}

pub(crate) fn start(app: &Arc<App>, ctx: &Ctx, req: StartQueryRequest) -> Result<StartQueryResponse> {
    let target = req.delivery_s3_uri.as_deref().map(super::results::parse_uri).transpose()?;
    if let Some(values) = &req.query_parameters {
        check_parameters(values)?;
    }
    let (statement, alias) = match (req.query_statement, req.query_alias) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                "StartQuery takes either QueryStatement or QueryAlias, not both",
            ))
        }
        (None, Some(alias)) => match cairn_store::lake::samples::managed(&alias) {
            Some(managed) => {
                let values = req.query_parameters.clone().unwrap_or_default();
                (cairn_model::dashboard::bind(managed.sql, &values)?, Some(alias))
            }
            // A statement GenerateQuery wrote.
            None => match app.lake_queries.generated(&ctx.account_id, &alias, app.clock.now_millis()) {
                Some(statement) => (statement, None),
                None => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidParameter,
                        format!("{alias} is not a query alias cairn knows"),
                    ))
                }
            },
        },
        (Some(statement), None) => match &req.query_parameters {
            Some(values) => (cairn_model::dashboard::bind(&statement, values)?, None),
            None => (statement, None),
        },
        (None, None) => (required(None::<String>, "queryStatement")?, None),
    };
    let owner = access::owner_ctx(ctx, req.event_data_store_owner_account_id.as_deref())?;
    let id = launch(app, ctx, owner.as_ref(), statement, target, alias, None)?;
    Ok(StartQueryResponse { query_id: id, event_data_store_owner_account_id: req.event_data_store_owner_account_id })
}

/// The statement's plan and the stores it reads, each the caller's and active; errors as StartQuery answers them.
pub(crate) fn plan(
    app: &App,
    ctx: &Ctx,
    statement: &str,
) -> Result<(cairn_store::lake::sql::Prepared, Vec<cairn_model::EventDataStore>)> {
    if statement.is_empty() || statement.chars().count() > MAX_STATEMENT {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("1 validation error detected: Value at 'queryStatement' failed to satisfy constraint: Member must have length between 1 and {MAX_STATEMENT}"),
        ));
    }
    let (prepared, stores) = app.catalog.read(|state| {
        let mut named = Vec::new();
        let prepared = prepare(statement, |id| {
            let found = resolve(state, ctx, id).ok().cloned();
            let ok = found.is_some();
            named.extend(found);
            ok
        })
        .map_err(|e| ApiError::new(ErrorCode::InvalidQueryStatement, e.to_string()))?;
        named.sort_by(|a, b| a.id.cmp(&b.id));
        named.dedup_by(|a, b| a.id == b.id);
        named.iter().try_for_each(active)?;
        Ok::<_, ApiError>((prepared, named))
    })?;
    let kinds: Vec<(String, cairn_store::lake::TableKind)> =
        stores.iter().map(|s| (s.id.clone(), super::kind_of(s))).collect();
    app.queries
        .block_on(check(&prepared, &kinds))
        .map_err(|e| ApiError::new(ErrorCode::InvalidQueryStatement, e.to_string()))?;
    Ok((prepared, stores))
}

/// Starts a checked statement on the query threads; its id. The statement reads the stores of `owner` when given
/// (another account's, as their policies allow), else the caller's.
pub(crate) fn launch(
    app: &Arc<App>,
    ctx: &Ctx,
    owner: Option<&Ctx>,
    statement: String,
    target: Option<super::results::Target>,
    alias: Option<String>,
    refresh_id: Option<String>,
) -> Result<String> {
    let (prepared, stores) = match (plan(app, owner.unwrap_or(ctx), &statement), owner) {
        (Err(e), Some(owner)) => return Err(access::planning_error(app, ctx, owner, e)),
        (planned, _) => planned?,
    };
    if owner.is_some() {
        let arns: Vec<String> = stores.iter().map(|s| s.arn()).collect();
        access::authorize(app, ctx, &arns, access::START_QUERY)?;
    }
    if let (Some(t), Some(first)) = (&target, stores.first()) {
        super::results::check(app, t, &ctx.account_id, &first.arn())?;
    }
    // Reading an encrypted store needs its KMS key, for the caller.
    super::keys::for_caller(app, ctx, &stores)?;
    let now = app.clock.now_millis();
    let running = app.lake_queries.of_account(&ctx.account_id).iter().filter(|q| q.lock().status.active()).count();
    if running >= MAX_RUNNING {
        return Err(ApiError::new(
            ErrorCode::MaxConcurrentQueries,
            format!("You are already running the maximum number of concurrent queries. The maximum number of concurrent queries is {MAX_RUNNING}. Wait a minute for some queries to finish, and then run the query again."),
        ));
    }
    let query = Arc::new(Query {
        id: uuid::Uuid::new_v4().to_string(),
        account: ctx.account_id.clone(),
        owner: owner.map(|o| o.account_id.clone()),
        statement,
        alias,
        refresh_id,
        stores: stores.iter().map(|s| s.arn()).collect(),
        region: ctx.region.clone(),
        delivery: target,
        created_ms: now,
        progress: Mutex::new(Progress {
            status: Status::Queued,
            answer: None,
            error: None,
            stats: QueryStats::default(),
            delivery_status: None,
            task: None,
            sealed_answer: None,
        }),
    });
    app.lake_queries.queries.lock().unwrap_or_else(|e| e.into_inner()).insert(query.id.clone(), Arc::clone(&query));
    saved::save(app, &query);
    let (a, q, caller) = (Arc::clone(app), Arc::clone(&query), ctx.clone());
    let cutoffs: Vec<(String, cairn_store::lake::TableKind, i64)> = stores
        .iter()
        .map(|s| (s.id.clone(), super::kind_of(s), now - i64::from(s.retention_period) * 86_400_000))
        .collect();
    let task = app.queries.spawn(async move {
        let _slot = a.queries.slot().await;
        {
            let mut p = q.lock();
            if p.status != Status::Queued {
                return;
            }
            p.status = Status::Running;
        }
        // Another account's stores are read only while their policies still grant it: checked again as the query
        // starts running, and before its results leave for a bucket.
        let denied = || q.owner.is_some() && access::authorize(&a, &caller, &q.stores, access::START_QUERY).is_err();
        // And encrypted stores only while their keys can still be used.
        let keys = if denied() {
            Err("a store's resource policy no longer grants cloudtrail:StartQuery".to_string())
        } else {
            super::keys::for_caller(&a, &caller, &super::keys::stores_of(&a, &q.stores)).map_err(|e| e.message)
        };
        let keys = match keys {
            Ok(keys) => keys,
            Err(error) => {
                {
                    let mut p = q.lock();
                    p.error = Some(error);
                    p.status = Status::Failed;
                }
                saved::save(&a, &q);
                return;
            }
        };
        super::catch_up(&a).await;
        // Encrypted stores are read with the keys KMS gave the caller.
        let snapshots: HashMap<_, _> = cutoffs
            .iter()
            .filter_map(|(id, _, cutoff)| a.lake.snapshot(id, *cutoff).map(|s| (id.clone(), s)))
            .map(|(id, mut s)| {
                s.key = keys.get(&id).cloned().or(s.key);
                (id, s)
            })
            .collect();
        let limits = QueryLimits {
            max_rows: a.settings.query.max_rows.max(MAX_RESULT_ROWS),
            memory_bytes: a.settings.query.memory_mib << 20,
            partitions: 2,
        };
        let timeout = Duration::from_secs(a.settings.query.timeout_seconds);
        let outcome = tokio::time::timeout(timeout, run(&prepared, with_empty(snapshots, &cutoffs), &limits)).await;
        let outcome = match outcome {
            Ok(Ok(_)) if q.delivery.is_some() && denied() => Ok(Err(cairn_store::Error::InvalidQuery(
                "a store's resource policy no longer grants cloudtrail:StartQuery".into(),
            ))),
            other => other,
        };
        if let (Ok(Ok(answer)), Some(target)) = (&outcome, &q.delivery) {
            q.lock().delivery_status = Some("PENDING");
            let store = q.stores.first().cloned().unwrap_or_default();
            let now = a.clock.now_millis();
            let status = super::results::deliver(&a, target, answer, (&q.account, &q.region, &q.id, &store), now).await;
            q.lock().delivery_status = Some(status);
        }
        let mut p = q.lock();
        if p.status != Status::Running {
            return;
        }
        match outcome {
            Ok(Ok(answer)) => {
                p.stats = answer.stats;
                p.answer = Some(answer);
                p.status = Status::Finished;
            }
            Ok(Err(e)) => {
                p.error = Some(e.to_string());
                p.status = Status::Failed;
            }
            Err(_) => {
                p.error = Some(format!("the query ran longer than {} seconds", timeout.as_secs()));
                p.status = Status::TimedOut;
            }
        }
        drop(p);
        saved::save(&a, &q);
    });
    query.lock().task = Some(task);
    Ok(query.id.clone())
}

/// Stores without data yet still answer as empty tables.
fn with_empty(
    mut snapshots: HashMap<String, cairn_store::lake::StoreSnapshot>,
    cutoffs: &[(String, cairn_store::lake::TableKind, i64)],
) -> HashMap<String, cairn_store::lake::StoreSnapshot> {
    for (id, kind, cutoff) in cutoffs {
        snapshots.entry(id.clone()).or_insert_with(|| cairn_store::lake::StoreSnapshot::empty(*kind, *cutoff));
    }
    snapshots
}

fn query_id(req: &QueryRequest) -> Result<String> {
    let id = required(req.query_id.clone(), "queryId")?;
    if id.len() != 36 || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-') {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("1 validation error detected: Value '{id}' at 'queryId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-f0-9\\-]+$ and have length 36"),
        ));
    }
    Ok(id)
}

/// The caller's query, checked against the deprecated `EventDataStore` member and `EventDataStoreOwnerAccountId`
/// when given; a query of another account's stores only as their policies still grant `action`.
fn find(app: &App, ctx: &Ctx, req: &QueryRequest, action: &str) -> Result<Arc<Query>> {
    let owner = access::owner_ctx(ctx, req.event_data_store_owner_account_id.as_deref())?;
    if let Some(given) = &req.event_data_store {
        app.catalog.read(|state| resolve(state, owner.as_ref().unwrap_or(ctx), given).map(|_| ()))?;
    }
    let q = if let (None, Some(alias)) = (&req.query_id, &req.query_alias) {
        app.lake_queries.by_alias(ctx, alias, req.refresh_id.as_deref())?
    } else {
        let id = query_id(req)?;
        app.lake_queries.get(ctx, &id, app.clock.now_millis())?
    };
    if req.event_data_store_owner_account_id.is_some() && owner.as_ref().map(|o| &o.account_id) != q.owner.as_ref() {
        return Err(ApiError::new(
            ErrorCode::QueryIdNotFound,
            format!("The query ID {} does not exist or does not map to a query.", q.id),
        ));
    }
    if q.owner.is_some() {
        access::authorize(app, ctx, &q.stores, action)?;
    }
    Ok(q)
}

pub(crate) fn describe(app: &App, ctx: &Ctx, req: QueryRequest) -> Result<DescribeQueryResponse> {
    let q = find(app, ctx, &req, access::DESCRIBE_QUERY)?;
    let p = q.lock();
    Ok(DescribeQueryResponse {
        query_id: q.id.clone(),
        query_string: q.statement.clone(),
        query_status: p.status.as_str().into(),
        query_statistics: DescribeQueryStatistics {
            events_matched: p.stats.events_matched,
            events_scanned: p.stats.events_scanned,
            bytes_scanned: p.stats.bytes_scanned,
            execution_time_in_millis: p.stats.execution_ms,
            creation_time: epoch_seconds(q.created_ms),
        },
        error_message: p.error.clone(),
        delivery_s3_uri: q.delivery.as_ref().map(|t| t.uri.clone()),
        delivery_status: p.delivery_status.map(str::to_string),
        event_data_store_owner_account_id: q.owner.clone(),
    })
}

pub(crate) fn results(app: &App, ctx: &Ctx, req: QueryRequest) -> Result<GetQueryResultsResponse> {
    let q = find(app, ctx, &req, access::GET_QUERY_RESULTS)?;
    let page = page_size(req.max_query_results, "MaxQueryResults")?;
    // The results of encrypted stores are read with their keys.
    let keys = super::keys::for_caller(app, ctx, &super::keys::stores_of(app, &q.stores))?;
    saved::open_sealed(&q, &keys)?;
    let offset = match &req.next_token {
        None => 0,
        Some(t) => cairn_api::token::decode(TOKEN_PREFIX, t)
            .and_then(|s| s.split_once(':').filter(|(id, _)| *id == q.id).and_then(|(_, n)| n.parse::<usize>().ok()))
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidNextToken, "the pagination token is not valid"))?,
    };
    let p = q.lock();
    let mut rows: Vec<ResultRow> = Vec::new();
    let mut total = 0;
    if let Some(answer) = &p.answer {
        total = answer.rows.len();
        for row in answer.rows.iter().skip(offset).take(page) {
            rows.push(
                answer
                    .columns
                    .iter()
                    .zip(row)
                    .map(|(c, v)| {
                        // A NULL is a column map without its entry: SDKs refuse null in these (dense) maps.
                        let mut m = serde_json::Map::new();
                        if let Some(v) = v {
                            m.insert(c.clone(), serde_json::Value::String(v.clone()));
                        }
                        m
                    })
                    .collect(),
            );
        }
    }
    let shown = (offset + rows.len()).min(total);
    let next_token = (shown < total).then(|| cairn_api::token::encode(TOKEN_PREFIX, &format!("{}:{shown}", q.id)));
    Ok(GetQueryResultsResponse {
        query_status: p.status.as_str().into(),
        query_statistics: ResultStatistics {
            results_count: shown as u64,
            total_results_count: total as u64,
            bytes_scanned: p.stats.bytes_scanned,
        },
        query_result_rows: rows,
        next_token,
        error_message: p.error.clone(),
    })
}

pub(crate) fn list(app: &App, ctx: &Ctx, req: ListQueriesRequest) -> Result<ListQueriesResponse> {
    let given = required(req.event_data_store, "eventDataStore")?;
    // Another account's store, by its ARN: the caller's queries of it, as its policy allows listing them.
    let owner = cairn_model::Arn::parse(&given)
        .ok()
        .filter(|a| a.account != ctx.account_id)
        .map(|a| Ctx { account_id: a.account, ..ctx.clone() });
    let store = app.catalog.read(|state| resolve(state, owner.as_ref().unwrap_or(ctx), &given).cloned())?;
    if owner.is_some() {
        access::authorize(app, ctx, &[store.arn()], access::LIST_QUERIES)?;
    }
    active(&store)?;
    let max = page_size(req.max_results, "MaxResults")?;
    let to_ms = |s: f64| (s * 1000.0) as i64;
    let (start, end) = (req.start_time.map(to_ms), req.end_time.map(to_ms));
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            return Err(ApiError::new(
                ErrorCode::InvalidDateRange,
                "Be sure that the start time is chronologically before the end time.",
            ));
        }
    }
    let status = req
        .query_status
        .as_deref()
        .map(|s| {
            Status::parse(s).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidQueryStatus,
                    format!("The query status {s} is not valid for the operation."),
                )
            })
        })
        .transpose()?;
    let offset = match &req.next_token {
        None => 0,
        Some(t) => cairn_api::token::decode(TOKEN_PREFIX, t)
            .and_then(|s| s.strip_prefix("list:").and_then(|n| n.parse::<usize>().ok()))
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidNextToken, "the pagination token is not valid"))?,
    };
    let now = app.clock.now_millis();
    let arn = store.arn();
    // Newest first, then by id, so pages are stable.
    let mut matching: BTreeMap<(std::cmp::Reverse<i64>, String), QuerySummary> = BTreeMap::new();
    for q in app.lake_queries.of_account(&ctx.account_id) {
        let st = q.lock().status;
        let keep = q.stores.contains(&arn)
            && now - q.created_ms < KEEP_MS
            && start.is_none_or(|s| q.created_ms >= s)
            && end.is_none_or(|e| q.created_ms <= e)
            && status.is_none_or(|s| s == st);
        if keep {
            matching.insert(
                (std::cmp::Reverse(q.created_ms), q.id.clone()),
                QuerySummary {
                    query_id: q.id.clone(),
                    query_status: st.as_str().into(),
                    creation_time: epoch_seconds(q.created_ms),
                },
            );
        }
    }
    let total = matching.len();
    let queries: Vec<QuerySummary> = matching.into_values().skip(offset).take(max).collect();
    let shown = offset + queries.len();
    let next_token = (shown < total).then(|| cairn_api::token::encode(TOKEN_PREFIX, &format!("list:{shown}")));
    Ok(ListQueriesResponse { queries, next_token })
}

pub(crate) fn cancel(app: &App, ctx: &Ctx, req: QueryRequest) -> Result<CancelQueryResponse> {
    let q = find(app, ctx, &req, access::CANCEL_QUERY)?;
    let mut p = q.lock();
    if !p.status.active() {
        return Err(ApiError::new(
            ErrorCode::InactiveQuery,
            format!("The query {} cannot be canceled because it is in the {} state.", q.id, p.status.as_str()),
        ));
    }
    if let Some(task) = p.task.take() {
        task.abort();
    }
    p.status = Status::Cancelled;
    if q.delivery.is_some() {
        p.delivery_status = Some("CANCELLED");
    }
    drop(p);
    saved::save(app, &q);
    Ok(CancelQueryResponse {
        query_id: q.id.clone(),
        query_status: Status::Cancelled.as_str().into(),
        event_data_store_owner_account_id: q.owner.clone(),
    })
}

/// Forgets the queries past their 7 days, in memory and on disk.
pub(crate) fn expire(app: &App) {
    let now = app.clock.now_millis();
    let mut gone = Vec::new();
    app.lake_queries.queries.lock().unwrap_or_else(|e| e.into_inner()).retain(|id, q| {
        let keep = now - q.created_ms < KEEP_MS;
        if !keep {
            gone.push(id.clone());
        }
        keep
    });
    for id in gone {
        saved::remove(app, &id);
    }
}
