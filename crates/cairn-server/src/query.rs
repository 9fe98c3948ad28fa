//! The query API: `POST /v1/query`, SigV4-signed for the service `cairn`, runs one SQL statement over the caller's
//! account event history (the table `history`, see `cairn_store::query`) and answers its rows.
//!
//! Queries run on threads of their own at a lower scheduling priority than the threads answering requests, at most
//! `query.max_concurrent` at once (one more is refused with MaxConcurrentQueriesException), each within
//! `query.memory_mib` of memory and `query.timeout_seconds` of time. Like LookupEvents, a query first waits (for at
//! most two seconds) until history holds every event acknowledged before it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::response::Response;
use cairn_api::shapes::{QueryRequest, QueryResponse};
use cairn_api::{ApiError, ErrorCode};
use tokio::sync::Semaphore;

use crate::config::QueryConfig;
use crate::http::{authenticate, finish, read_body};
use crate::App;

pub const PATH: &str = "/v1/query";
/// Longest statement accepted, in characters (CloudTrail Lake's limit).
const MAX_STATEMENT_CHARS: usize = 10_000;
/// How long a query past its time may take to stop before the error goes out regardless.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The query threads and the slots of running queries.
#[derive(Debug)]
pub(crate) struct Queries {
    runtime: Option<tokio::runtime::Runtime>,
    slots: Arc<Semaphore>,
}

impl Queries {
    pub(crate) fn start(config: &QueryConfig) -> std::io::Result<Queries> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cairn-query")
            .on_thread_start(crate::lower_priority)
            .enable_all()
            .build()?;
        Ok(Queries { runtime: Some(runtime), slots: Arc::new(Semaphore::new(config.max_concurrent)) })
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.as_ref().expect("present until dropped").handle()
    }

    /// Runs a task on the query threads.
    pub(crate) fn spawn<F>(&self, task: F) -> tokio::task::AbortHandle
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.handle().spawn(task).abort_handle()
    }

    /// Runs a future on the query threads from a thread outside any runtime (a blocking handler) and waits for it.
    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.handle().block_on(f)
    }

    /// Waits for a query slot (Lake queries queue for one; `/v1/query` is refused when none is free).
    pub(crate) async fn slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.slots).acquire_owned().await.ok()
    }
}

impl Drop for Queries {
    fn drop(&mut self) {
        // Dropping a runtime may happen on a runtime thread, where waiting for its tasks is not allowed.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

pub(crate) async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = run(&app, req).await;
    finish(&request_id, "application/json", result)
}

async fn run(app: &Arc<App>, req: Request) -> Result<Vec<u8>, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = read_body(&parts, body, app.settings.max_request_bytes).await?;
    let (_, credential) = authenticate(app, &parts, &bytes, crate::ingest::SERVICE)?;
    let account = credential.principal.account_id.clone();
    let request: QueryRequest = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(ErrorCode::Serialization, format!("request body is not a query request: {e}")))?;
    let config = app.settings.query;
    let statement = request.query_statement;
    if statement.trim().is_empty() || statement.chars().count() > MAX_STATEMENT_CHARS {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("QueryStatement must hold between 1 and {MAX_STATEMENT_CHARS} characters"),
        ));
    }
    let max_rows = match request.max_rows {
        None => config.max_rows,
        Some(n) if (1..=config.max_rows as i64).contains(&n) => n as usize,
        Some(n) => {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!("MaxRows {n} must be between 1 and {}", config.max_rows),
            ))
        }
    };
    let permit = Arc::clone(&app.queries.slots).try_acquire_owned().map_err(|_| {
        ApiError::new(
            ErrorCode::MaxConcurrentQueries,
            format!("{} queries are running, the most that run at once; retry when one ends", config.max_concurrent),
        )
    })?;
    crate::history::catch_up(app).await;

    let limits = cairn_store::QueryLimits { max_rows, memory_bytes: config.memory_mib << 20, partitions: 2 };
    let now = app.clock.now_millis();
    let started = Instant::now();
    let owner = Arc::clone(app);
    let mut task = app.queries.handle().spawn(async move {
        let _permit = permit;
        cairn_store::query(&owner.history, &account, &statement, now, &limits).await
    });
    let timeout = Duration::from_secs(config.timeout_seconds);
    let result = match tokio::time::timeout(timeout, &mut task).await {
        Ok(joined) => joined.map_err(|e| ApiError::internal(format!("query task failed: {e}")))?,
        Err(_) => {
            task.abort();
            // The slot is the task's: wait (briefly) for the stopped query to let go of it, so that the caller told
            // "stopped" can run the next query at once.
            let _ = tokio::time::timeout(STOP_GRACE, task).await;
            return Err(ApiError::new(
                ErrorCode::InvalidQueryStatement,
                format!("the query ran longer than {} s; narrow its time range or filters", config.timeout_seconds),
            ));
        }
    };
    let answer = result.map_err(|e| match e {
        cairn_store::Error::InvalidQuery(m) => ApiError::new(ErrorCode::InvalidQueryStatement, m),
        cairn_store::Error::QueryResources(m) => ApiError::new(
            ErrorCode::InvalidQueryStatement,
            format!("the query needs more than its {} MiB of memory; narrow it ({m})", config.memory_mib),
        ),
        e => {
            tracing::error!(error = %e, "a query of event history failed");
            ApiError::internal("the query failed on an internal error")
        }
    })?;
    let response = QueryResponse {
        columns: answer.columns,
        rows: answer.rows,
        truncated: answer.truncated,
        execution_time_in_millis: started.elapsed().as_millis() as u64,
    };
    serde_json::to_vec(&response).map_err(|e| ApiError::internal(format!("serializing a response: {e}")))
}
