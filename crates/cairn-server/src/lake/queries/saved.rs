//! Lake queries on disk: each query's statement, state, statistics and answer in `<data>/lake/queries/<id>.json`,
//! written when it is queued and again when it ends (synced, then renamed into place), so that DescribeQuery,
//! GetQueryResults and ListQueries answer for the 7 days a query is kept, across restarts. A query that was queued or
//! running when cairn stopped is FAILED at the next start: its run did not end.
//!
//! The answer of a query that read an encrypted event data store is kept encrypted with that store's data key
//! (never in clear); it comes back at start when the store's KMS key can be used then.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine;
use cairn_store::lake::{LakeAnswer, QueryStats};
use serde::{Deserialize, Serialize};

use super::{Progress, Query, Status, KEEP_MS};
use crate::App;

/// What a query file holds.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    id: String,
    account: String,
    owner: Option<String>,
    statement: String,
    alias: Option<String>,
    refresh_id: Option<String>,
    stores: Vec<String>,
    region: String,
    delivery_uri: Option<String>,
    created_ms: i64,
    status: String,
    error: Option<String>,
    /// Events matched, events scanned, bytes scanned, execution milliseconds.
    stats: [u64; 4],
    delivery_status: Option<String>,
    answer: Option<SavedAnswer>,
    /// The answer of a query of an encrypted store: the store's id and the answer's JSON sealed with its data key
    /// (base64).
    #[serde(default)]
    sealed_answer: Option<(String, String)>,
    /// A finished query of an encrypted store whose answer could not be sealed (the key could not be used): not
    /// kept anywhere but in memory.
    #[serde(default)]
    answer_withheld: bool,
}

/// A finished query's columns, rows (`None` for NULL) and whether rows were cut.
#[derive(Debug, Serialize, Deserialize)]
struct SavedAnswer {
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
    truncated: bool,
}

impl SavedAnswer {
    fn with(self, stats: QueryStats) -> LakeAnswer {
        LakeAnswer { columns: self.columns, rows: self.rows, truncated: self.truncated, stats }
    }
}

fn dir(app: &App) -> PathBuf {
    app.settings.data_dir.join("lake").join("queries")
}

/// Writes the query's file as it stands. A failure is logged: the query itself goes on.
pub(super) fn save(app: &App, q: &Query) {
    let saved = {
        let p = q.lock();
        let s = p.stats;
        Saved {
            id: q.id.clone(),
            account: q.account.clone(),
            owner: q.owner.clone(),
            statement: q.statement.clone(),
            alias: q.alias.clone(),
            refresh_id: q.refresh_id.clone(),
            stores: q.stores.clone(),
            region: q.region.clone(),
            delivery_uri: q.delivery.as_ref().map(|t| t.uri.clone()),
            created_ms: q.created_ms,
            status: p.status.as_str().into(),
            error: p.error.clone(),
            stats: [s.events_matched, s.events_scanned, s.bytes_scanned, s.execution_ms],
            delivery_status: p.delivery_status.map(str::to_string),
            answer: p.answer.as_ref().map(|a| SavedAnswer {
                columns: a.columns.clone(),
                rows: a.rows.clone(),
                truncated: a.truncated,
            }),
            sealed_answer: None,
            answer_withheld: false,
        }
    };
    let saved = seal(app, q, saved);
    if let Err(e) = write(&dir(app), &saved) {
        tracing::warn!(query = %q.id, error = %e, "cannot save a Lake query; it is kept in memory only");
    }
}

/// The answer of a query of an encrypted store, moved into `sealed_answer`; withheld (with a warning) when the
/// store's key cannot be used now, rather than written in clear.
fn seal(app: &App, q: &Query, mut saved: Saved) -> Saved {
    let Some(answer) = saved.answer.take() else { return saved };
    let sealed_by = crate::lake::keys::stores_of(app, &q.stores).into_iter().find(|s| s.data_key.is_some());
    let Some(store) = sealed_by else {
        saved.answer = Some(answer);
        return saved;
    };
    match (app.lake.data_key(&store.id), serde_json::to_vec(&answer)) {
        (Some(key), Ok(json)) => {
            let blob = base64::engine::general_purpose::STANDARD.encode(key.seal(&q.id, &json));
            saved.sealed_answer = Some((store.id, blob));
        }
        _ => {
            tracing::warn!(query = %q.id, "the answer of a query of an encrypted store is kept in memory only");
            saved.answer_withheld = true;
        }
    }
    saved
}

/// The sealed answer of a saved query opened with its store's data key when that can be used now; else left
/// sealed, for [`open_sealed`] with the caller's key.
fn unseal(app: &App, s: &mut Saved) {
    let Some((store, blob)) = &s.sealed_answer else { return };
    let opened = app.lake.data_key(store).and_then(|key| open(&key, &s.id, blob));
    if opened.is_some() {
        s.answer = opened;
        s.sealed_answer = None;
    }
}

fn open(key: &cairn_store::lake::DataKey, id: &str, blob: &str) -> Option<SavedAnswer> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(blob).ok()?;
    serde_json::from_slice(&key.open(id, &bytes)?).ok()
}

/// Opens a restored query's sealed answer with the keys KMS gave the caller (by store id).
pub(super) fn open_sealed(q: &Query, keys: &HashMap<String, cairn_store::lake::DataKey>) -> cairn_api::Result<()> {
    let mut p = q.lock();
    let Some((store, blob)) = p.sealed_answer.clone() else { return Ok(()) };
    let answer = keys.get(&store).and_then(|key| open(key, &q.id, &blob)).ok_or_else(|| {
        cairn_api::ApiError::new(
            cairn_api::ErrorCode::InsufficientEncryptionPolicy,
            format!("the saved results of query {} do not open with the key of event data store {store}", q.id),
        )
    })?;
    let stats = p.stats;
    p.answer = Some(answer.with(stats));
    p.sealed_answer = None;
    Ok(())
}

fn write(dir: &Path, saved: &Saved) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{}.json", saved.id));
    let tmp = dir.join(format!(".{}.json.tmp", saved.id));
    let file = std::fs::File::create(&tmp)?;
    serde_json::to_writer(std::io::BufWriter::new(&file), saved)?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// The queries of the last 7 days, as their files left them; files of older queries, and unfinished writes, go.
pub(super) fn load(app: &App) -> Vec<Query> {
    let dir = dir(app);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let now = app.clock.now_millis();
    let mut queries = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let saved: Option<Saved> = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok());
        match saved {
            Some(mut s) if now - s.created_ms < KEEP_MS => {
                unseal(app, &mut s);
                let interrupted = Status::parse(&s.status).is_none_or(Status::active);
                let q = query(s);
                if interrupted {
                    save(app, &q);
                }
                queries.push(q);
            }
            Some(_) => {
                let _ = std::fs::remove_file(&path);
            }
            None => tracing::warn!(path = %path.display(), "a Lake query file cannot be read; it is left as it is"),
        }
    }
    queries
}

/// Removes a query's file.
pub(super) fn remove(app: &App, id: &str) {
    let _ = std::fs::remove_file(dir(app).join(format!("{id}.json")));
}

fn query(s: Saved) -> Query {
    let status = Status::parse(&s.status).filter(|st| !st.active());
    let [events_matched, events_scanned, bytes_scanned, execution_ms] = s.stats;
    let stats = QueryStats { events_matched, events_scanned, bytes_scanned, execution_ms };
    let answer = s.answer.map(|a| a.with(stats));
    // A finished answer that was not kept reads FAILED, never FINISHED with no rows.
    let status = status.filter(|st| !(s.answer_withheld && *st == Status::Finished && answer.is_none()));
    Query {
        id: s.id,
        account: s.account,
        owner: s.owner,
        statement: s.statement,
        alias: s.alias,
        refresh_id: s.refresh_id,
        stores: s.stores,
        region: s.region,
        delivery: s.delivery_uri.as_deref().and_then(|u| crate::lake::results::parse_uri(u).ok()),
        created_ms: s.created_ms,
        progress: Mutex::new(Progress {
            status: status.unwrap_or(Status::Failed),
            answer,
            error: match status {
                Some(_) => s.error,
                None if s.answer_withheld => Some(
                    "cairn stopped before it kept the answer: the KMS key of the event data store could not seal it"
                        .into(),
                ),
                None => Some("cairn stopped while the query ran".into()),
            },
            stats,
            delivery_status: s.delivery_status.as_deref().map(delivery_status),
            task: None,
            sealed_answer: s.sealed_answer,
        }),
    }
}

/// A DeliveryStatus as the static text the query keeps.
fn delivery_status(s: &str) -> &'static str {
    [
        "SUCCESS",
        "FAILED",
        "FAILED_SIGNING_FILE",
        "PENDING",
        "RESOURCE_NOT_FOUND",
        "ACCESS_DENIED",
        "ACCESS_DENIED_SIGNING_FILE",
        "CANCELLED",
        "UNKNOWN",
    ]
    .into_iter()
    .find(|x| *x == s)
    .unwrap_or("UNKNOWN")
}

/// Loads the saved queries into the registry.
pub(crate) fn restore(app: &App) {
    let queries = load(app);
    let mut map = app.lake_queries.queries.lock().unwrap_or_else(|e| e.into_inner());
    for q in queries {
        map.insert(q.id.clone(), Arc::new(q));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(status: &str) -> Saved {
        Saved {
            id: "q".into(),
            account: "111111111111".into(),
            owner: None,
            statement: "SELECT 1".into(),
            alias: None,
            refresh_id: None,
            stores: vec![],
            region: "eu-west-1".into(),
            delivery_uri: Some("s3://bucket/prefix".into()),
            created_ms: 0,
            status: status.into(),
            error: None,
            stats: [3, 4, 5, 6],
            delivery_status: Some("SUCCESS".into()),
            answer: Some(SavedAnswer {
                columns: vec!["n".into()],
                rows: vec![vec![Some("3".into())]],
                truncated: false,
            }),
            sealed_answer: None,
            answer_withheld: false,
        }
    }

    #[test]
    fn a_saved_query_comes_back_as_it_ended_and_an_interrupted_one_as_failed() {
        let done = query(saved("FINISHED"));
        let p = done.lock();
        assert_eq!((p.status, p.error.as_deref(), p.delivery_status), (Status::Finished, None, Some("SUCCESS")));
        assert_eq!(p.answer.as_ref().unwrap().rows, vec![vec![Some("3".to_string())]]);
        assert_eq!((p.stats.events_matched, p.stats.execution_ms), (3, 6));
        assert_eq!(done.delivery.as_ref().map(|t| t.bucket.as_str()), Some("bucket"));
        for interrupted in ["QUEUED", "RUNNING", "NOT_A_STATUS"] {
            let q = query(saved(interrupted));
            let p = q.lock();
            assert_eq!(p.status, Status::Failed, "{interrupted}");
            assert_eq!(p.error.as_deref(), Some("cairn stopped while the query ran"));
        }
        assert_eq!(delivery_status("SOMETHING_NEW"), "UNKNOWN");
    }
}
