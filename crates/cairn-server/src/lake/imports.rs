//! Lake imports: StartImport, GetImport, ListImports, StopImport and ListImportFailures.
//!
//! An import reads trail log files from `s3://bucket/prefix` (cairn's own buckets, or the S3-compatible endpoint
//! cairn stores in) or, a cairn extension, from `file:///dir` under a directory `[lake] import_directories` allows,
//! into one CloudTrail-event store, on a thread of its own (see `cairn_store::lake::import`). cairn has no IAM: the
//! role ARN is checked for form and must be of the caller's account, and a bucket of cairn's own must be the
//! caller's. An account runs one import at a time. Imports are kept in `<data>/lake/imports/` and survive a restart;
//! one interrupted by a crash reads FAILED and can be started again with its ImportId (what it imported is not
//! imported twice).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use cairn_api::lake::{
    ImportFailureItem, ImportRequest, ImportShape, ImportSource as SourceShape, ImportStatistics, ImportsListItem,
    ListImportFailuresResponse, ListImportsRequest, ListImportsResponse, StartImportRequest,
};
use cairn_api::{required, ApiError, ErrorCode, Result};
use cairn_store::lake::import::{ImportPlan, ImportProgress, ImportSource, LocalFiles, SourceFile};
use serde::{Deserialize, Serialize};

use super::stores::{active, resolve};
use crate::{epoch_seconds, App, Ctx};

const TOKEN_PREFIX: &str = "imp1-";

/// One import, as kept on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    id: String,
    account: String,
    destination: String,
    location: String,
    region: String,
    role: String,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    status: String,
    created_ms: i64,
    updated_ms: i64,
    stats: [u64; 5],
    failures: Vec<(String, String, String, i64)>,
}

#[derive(Debug)]
struct Running {
    record: Mutex<Record>,
    progress: Arc<ImportProgress>,
}

/// Every import, by id.
#[derive(Debug, Default)]
pub(crate) struct Imports {
    by_id: Mutex<std::collections::BTreeMap<String, Arc<Running>>>,
}

fn dir(app: &App) -> PathBuf {
    app.settings.data_dir.join("lake").join("imports")
}

fn save(app: &App, r: &Record) {
    let d = dir(app);
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(&d)?;
        let tmp = d.join(format!(".{}.json.tmp", r.id));
        std::fs::write(&tmp, serde_json::to_vec(r)?)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, d.join(format!("{}.json", r.id)))
    };
    if let Err(e) = write() {
        tracing::error!(import = r.id, error = %e, "cannot save an import's state");
    }
}

impl Imports {
    /// Loads the imports of earlier runs; those that were running are now FAILED (start them again to finish).
    pub(crate) fn load(app: &App) {
        let Ok(entries) = std::fs::read_dir(dir(app)) else { return };
        for e in entries.flatten() {
            let Ok(bytes) = std::fs::read(e.path()) else { continue };
            let Ok(mut r) = serde_json::from_slice::<Record>(&bytes) else { continue };
            if matches!(r.status.as_str(), "INITIALIZING" | "IN_PROGRESS") {
                r.status = "FAILED".into();
                r.failures.push((
                    String::new(),
                    "Interrupted".into(),
                    "cairn stopped during the import; start it again with its ImportId".into(),
                    r.updated_ms,
                ));
                save(app, &r);
            }
            let running = Running { record: Mutex::new(r.clone()), progress: Arc::default() };
            app.lake_imports.by_id.lock().unwrap_or_else(|p| p.into_inner()).insert(r.id.clone(), Arc::new(running));
        }
    }

    fn get(&self, ctx: &Ctx, id: &str) -> Result<Arc<Running>> {
        let map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id)
            .filter(|r| r.lock().account == ctx.account_id)
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::ImportNotFound, format!("The import {id} was not found.")))
    }
}

impl Running {
    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The record with the live statistics folded in.
    fn snapshot(&self) -> Record {
        let mut r = self.lock().clone();
        let p = &self.progress;
        if matches!(r.status.as_str(), "INITIALIZING" | "IN_PROGRESS") {
            r.stats = stats_of(p);
        }
        r
    }
}

/// ImportStatistics' five counts, as a running import has them.
fn stats_of(p: &ImportProgress) -> [u64; 5] {
    [
        p.prefixes_found.load(Ordering::Relaxed),
        p.prefixes_completed.load(Ordering::Relaxed),
        p.files_completed.load(Ordering::Relaxed),
        p.events_completed.load(Ordering::Relaxed),
        p.failed_entries.load(Ordering::Relaxed),
    ]
}

/// A running import's failures as kept in its record (location, type, message, time).
fn failures_of(p: &ImportProgress, now_ms: i64) -> Vec<(String, String, String, i64)> {
    let failures = p.failures.lock().unwrap_or_else(|e| e.into_inner());
    failures.iter().map(|f| (f.location.clone(), f.error_type.clone(), f.message.clone(), now_ms)).collect()
}

fn shape(r: &Record, with_stats: bool) -> ImportShape {
    ImportShape {
        import_id: r.id.clone(),
        destinations: vec![r.destination.clone()],
        import_source: SourceShape {
            s3: Some(cairn_api::lake::S3ImportSource {
                s3_location_uri: Some(r.location.clone()),
                s3_bucket_region: Some(r.region.clone()),
                s3_bucket_access_role_arn: Some(r.role.clone()),
            }),
        },
        start_event_time: r.start_ms.map(epoch_seconds),
        end_event_time: r.end_ms.map(epoch_seconds),
        import_status: r.status.clone(),
        created_timestamp: epoch_seconds(r.created_ms),
        updated_timestamp: epoch_seconds(r.updated_ms),
        import_statistics: with_stats.then(|| ImportStatistics {
            prefixes_found: r.stats[0],
            prefixes_completed: r.stats[1],
            files_completed: r.stats[2],
            events_completed: r.stats[3],
            failed_entries: r.stats[4],
        }),
    }
}

fn invalid_source(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidImportSource, message)
}

/// Log files in a bucket under a prefix, read through cairn's storage.
struct Bucket {
    storage: Arc<cairn_delivery::Storage>,
    bucket: String,
    prefix: String,
    runtime: tokio::runtime::Handle,
    /// Objects encrypted with SSE-KMS are decrypted through S3 with the caller's authority (the import's role is the
    /// caller's: cairn has no IAM).
    kms: Arc<cairn_kms::Kms>,
    caller: cairn_policy::RequestFacts,
}

impl ImportSource for Bucket {
    fn list(&self) -> std::result::Result<Vec<SourceFile>, String> {
        let keys = self.runtime.block_on(self.storage.list(&self.bucket, &self.prefix)).map_err(|e| e.to_string())?;
        Ok(keys
            .into_iter()
            .filter(|k| cairn_store::lake::import::is_log_file(k))
            .map(|location| SourceFile { location, size: 0 })
            .collect())
    }

    fn read(&self, file: &SourceFile) -> std::result::Result<Vec<u8>, String> {
        let (bytes, sse) =
            self.runtime.block_on(self.storage.get_sealed(&self.bucket, &file.location)).map_err(|e| e.to_string())?;
        let Some(sse) = sse else { return Ok(bytes.to_vec()) };
        let region = sse.key_arn.split(':').nth(3).unwrap_or_default().to_string();
        let via = format!("s3.{region}.amazonaws.com");
        let call = cairn_kms::Call { facts: &self.caller, region: &region, via_service: Some(&via) };
        cairn_s3::sse::open(&self.kms, &call, &sse, &bytes)
            .map_err(|e| format!("{}: KMS refused to decrypt the object: {}", e.code.shape_name(), e.message))
    }
}

/// The source a location names, checked against what the caller may read.
fn source(app: &App, ctx: &Ctx, location: &str) -> Result<Box<dyn ImportSource>> {
    if let Some(path) = location.strip_prefix("file://") {
        let path = PathBuf::from(path);
        let canonical = path.canonicalize().map_err(|e| invalid_source(format!("{location}: {e}")))?;
        let allowed = app
            .settings
            .lake
            .import_directories
            .iter()
            .any(|d| d.canonicalize().is_ok_and(|d| canonical.starts_with(d)));
        if !allowed {
            return Err(invalid_source(format!(
                "{location} is not under a directory that [lake] import_directories allows imports to read"
            )));
        }
        return Ok(Box::new(LocalFiles(vec![canonical])));
    }
    let rest =
        location.strip_prefix("s3://").ok_or_else(|| invalid_source(format!("{location} is not an s3:// URI")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if cairn_model::names::validate_bucket_name(bucket).is_err() {
        return Err(invalid_source(format!("{bucket} is not a bucket name")));
    }
    let storage = Arc::clone(&app.storage);
    let runtime = tokio::runtime::Handle::current();
    let exists =
        runtime.block_on(storage.bucket_exists(bucket)).map_err(|e| invalid_source(format!("{bucket}: {e}")))?;
    if !exists {
        return Err(invalid_source(format!("The bucket {bucket} does not exist.")));
    }
    if storage.is_local() && storage.local_bucket_owner(bucket).as_deref() != Some(ctx.account_id.as_str()) {
        return Err(invalid_source(format!("The bucket {bucket} cannot be read by account {}.", ctx.account_id)));
    }
    Ok(Box::new(Bucket {
        storage,
        bucket: bucket.into(),
        prefix: prefix.into(),
        runtime,
        kms: Arc::clone(&app.kms),
        caller: crate::kms::facts(app, ctx, None),
    }))
}

fn uuid_arg(id: &str) -> Result<()> {
    if id.len() != 36 || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-') {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("1 validation error detected: Value '{id}' at 'importId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-f0-9\\-]+$"),
        ));
    }
    Ok(())
}

pub(crate) fn start(app: &Arc<App>, ctx: &Ctx, req: StartImportRequest) -> Result<ImportShape> {
    let now = app.clock.now_millis();
    let ongoing = |id: Option<&str>| {
        let map = app.lake_imports.by_id.lock().unwrap_or_else(|p| p.into_inner());
        map.values().any(|r| {
            let r = r.lock();
            r.account == ctx.account_id
                && matches!(r.status.as_str(), "INITIALIZING" | "IN_PROGRESS")
                && Some(r.id.as_str()) != id
        })
    };
    let record = match req.import_id {
        // Starting an import again: its source, destination and range as before.
        Some(id) => {
            uuid_arg(&id)?;
            let running = app.lake_imports.get(ctx, &id)?;
            let mut r = running.lock().clone();
            if matches!(r.status.as_str(), "INITIALIZING" | "IN_PROGRESS") {
                return Err(ApiError::new(
                    ErrorCode::AccountHasOngoingImport,
                    format!("The import {id} is in progress."),
                ));
            }
            r.status = "INITIALIZING".into();
            r.updated_ms = now;
            r.stats = [0; 5];
            r.failures.clear();
            r
        }
        None => {
            let destinations = required(req.destinations, "destinations")?;
            let [destination] = destinations.as_slice() else {
                return Err(ApiError::new(ErrorCode::Validation, "1 validation error detected: Value at 'destinations' failed to satisfy constraint: Member must have length 1"));
            };
            let s3 = required(required(req.import_source, "importSource")?.s3, "importSource.s3")?;
            let location = required(s3.s3_location_uri, "importSource.s3.s3LocationUri")?;
            let region = required(s3.s3_bucket_region, "importSource.s3.s3BucketRegion")?;
            let role = required(s3.s3_bucket_access_role_arn, "importSource.s3.s3BucketAccessRoleArn")?;
            let role_ok =
                role.strip_prefix(&format!("arn:aws:iam::{}:role/", ctx.account_id)).is_some_and(|n| !n.is_empty());
            if !role_ok {
                return Err(ApiError::new(
                    ErrorCode::InvalidParameter,
                    format!("S3BucketAccessRoleArn {role} must be a role of account {}", ctx.account_id),
                ));
            }
            let to_ms = |s: f64| (s * 1000.0) as i64;
            let (start_ms, end_ms) = (req.start_event_time.map(to_ms), req.end_event_time.map(to_ms));
            if let (Some(s), Some(e)) = (start_ms, end_ms) {
                if s > e {
                    return Err(ApiError::new(
                        ErrorCode::InvalidParameter,
                        "StartEventTime must be before EndEventTime",
                    ));
                }
            }
            Record {
                id: uuid::Uuid::new_v4().to_string(),
                account: ctx.account_id.clone(),
                destination: destination.clone(),
                location,
                region,
                role,
                start_ms,
                end_ms,
                status: "INITIALIZING".into(),
                created_ms: now,
                updated_ms: now,
                stats: [0; 5],
                failures: Vec::new(),
            }
        }
    };
    let store = app.catalog.read(|state| resolve(state, ctx, &record.destination).cloned())?;
    active(&store)?;
    if store.sole_category().is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidEventDataStoreCategory,
            "only event data stores of CloudTrail events take imports of trail log files",
        ));
    }
    // Importing into an encrypted store needs its key, for the caller as for CloudTrail.
    super::keys::for_caller(app, ctx, std::slice::from_ref(&store))?;
    let src = source(app, ctx, &record.location)?;
    if ongoing(Some(&record.id)) {
        return Err(ApiError::new(
            ErrorCode::AccountHasOngoingImport,
            "This account already has an import in progress.",
        ));
    }
    let mut record = record;
    record.destination = store.arn();
    save(app, &record);
    let running = Arc::new(Running { record: Mutex::new(record.clone()), progress: Arc::default() });
    app.lake_imports.by_id.lock().unwrap_or_else(|p| p.into_inner()).insert(record.id.clone(), Arc::clone(&running));
    let (a, r) = (Arc::clone(app), Arc::clone(&running));
    let kind = super::kind_of(&store);
    let spawned = std::thread::Builder::new().name("cairn-import".into()).spawn(move || {
        crate::lower_priority();
        let (id, plan) = {
            let mut rec = r.lock();
            rec.status = "IN_PROGRESS".into();
            (rec.id.clone(), ImportPlan { start_ms: rec.start_ms, end_ms: rec.end_ms, threads: 2 })
        };
        let outcome = a.lake.import(&store.id, kind, &id, src.as_ref(), &plan, &r.progress);
        let mut final_record = r.snapshot();
        let p = &r.progress;
        final_record.stats = stats_of(p);
        let now = a.clock.now_millis();
        final_record.failures = failures_of(p, now);
        final_record.status = match (&outcome, p.stop.load(Ordering::Relaxed)) {
            (Err(_), _) => "FAILED",
            (Ok(()), true) => "STOPPED",
            (Ok(()), false) => "COMPLETED",
        }
        .into();
        if let Err(e) = outcome {
            tracing::error!(import = id, error = %e, "an import could not write its files");
            final_record.failures.push((String::new(), "StoreFailure".into(), e.to_string(), now));
        }
        final_record.updated_ms = now;
        save(&a, &final_record);
        *r.lock() = final_record;
    });
    if let Err(e) = spawned {
        return Err(ApiError::internal(format!("cannot start the import: {e}")));
    }
    Ok(shape(&record, false))
}

pub(crate) fn get(app: &App, ctx: &Ctx, req: ImportRequest) -> Result<ImportShape> {
    let id = required(req.import_id, "importId")?;
    uuid_arg(&id)?;
    Ok(shape(&app.lake_imports.get(ctx, &id)?.snapshot(), true))
}

pub(crate) fn stop(app: &App, ctx: &Ctx, req: ImportRequest) -> Result<ImportShape> {
    let id = required(req.import_id, "importId")?;
    uuid_arg(&id)?;
    let running = app.lake_imports.get(ctx, &id)?;
    running.progress.stop.store(true, Ordering::Relaxed);
    let mut r = running.snapshot();
    if matches!(r.status.as_str(), "INITIALIZING" | "IN_PROGRESS") {
        r.status = "STOPPED".into();
    }
    Ok(shape(&r, true))
}

fn page_args(max: Option<i64>, token: Option<&str>) -> Result<(usize, usize)> {
    let max = match max {
        None => 1000,
        Some(n) if (1..=1000).contains(&n) => n as usize,
        Some(n) => {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!("MaxResults {n} must be between 1 and 1000"),
            ))
        }
    };
    let offset = match token {
        None => 0,
        Some(t) => cairn_api::token::decode(TOKEN_PREFIX, t)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidNextToken, "the pagination token is not valid"))?,
    };
    Ok((max, offset))
}

pub(crate) fn list(app: &App, ctx: &Ctx, req: ListImportsRequest) -> Result<ListImportsResponse> {
    let (max, offset) = page_args(req.max_results, req.next_token.as_deref())?;
    let destination = req
        .destination
        .as_deref()
        .map(|d| app.catalog.read(|state| resolve(state, ctx, d).map(|s| s.arn())))
        .transpose()?;
    const STATUSES: [&str; 5] = ["INITIALIZING", "IN_PROGRESS", "FAILED", "STOPPED", "COMPLETED"];
    if let Some(s) = req.import_status.as_deref().filter(|s| !STATUSES.contains(s)) {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("ImportStatus {s} must be one of {}", STATUSES.join(", ")),
        ));
    }
    let mut all: Vec<Record> = {
        let map = app.lake_imports.by_id.lock().unwrap_or_else(|p| p.into_inner());
        map.values().map(|r| r.snapshot()).filter(|r| r.account == ctx.account_id).collect()
    };
    all.retain(|r| destination.as_ref().is_none_or(|d| &r.destination == d));
    all.retain(|r| req.import_status.as_ref().is_none_or(|s| &r.status == s));
    all.sort_by(|a, b| (b.created_ms, &b.id).cmp(&(a.created_ms, &a.id)));
    let total = all.len();
    let imports: Vec<ImportsListItem> = all
        .into_iter()
        .skip(offset)
        .take(max)
        .map(|r| ImportsListItem {
            import_id: r.id,
            import_status: r.status,
            destinations: vec![r.destination],
            created_timestamp: epoch_seconds(r.created_ms),
            updated_timestamp: epoch_seconds(r.updated_ms),
        })
        .collect();
    let shown = offset + imports.len();
    let next_token = (shown < total).then(|| cairn_api::token::encode(TOKEN_PREFIX, &shown.to_string()));
    Ok(ListImportsResponse { imports, next_token })
}

pub(crate) fn failures(app: &App, ctx: &Ctx, req: ImportRequest) -> Result<ListImportFailuresResponse> {
    let id = required(req.import_id, "importId")?;
    uuid_arg(&id)?;
    let (max, offset) = page_args(req.max_results, req.next_token.as_deref())?;
    let running = app.lake_imports.get(ctx, &id)?;
    let mut list: Vec<(String, String, String, i64)> = running.lock().failures.clone();
    if list.is_empty() {
        list = failures_of(&running.progress, app.clock.now_millis());
    }
    let total = list.len();
    let failures: Vec<ImportFailureItem> = list
        .into_iter()
        .skip(offset)
        .take(max)
        .map(|(location, error_type, error_message, at)| ImportFailureItem {
            location,
            status: "FAILED".into(),
            error_type,
            error_message,
            last_updated_time: epoch_seconds(at),
        })
        .collect();
    let shown = offset + failures.len();
    let next_token = (shown < total).then(|| cairn_api::token::encode(TOKEN_PREFIX, &shown.to_string()));
    Ok(ListImportFailuresResponse { failures, next_token })
}
