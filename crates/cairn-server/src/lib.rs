//! cairn's server: the HTTP endpoint speaking AWS JSON 1.1, authentication, and one handler module per operation
//! family. Only this crate (and the binary above it) knows about sockets and HTTP.

pub mod audit;
mod cloudtrail_data;
mod cloudwatch;
pub mod config;
mod console;
pub mod consumers;
mod cwlogs;
pub mod delivery;
mod event_configuration;
mod history;
mod http;
mod ingest;
mod integrity;
mod kms;
mod lake;
mod logs;
mod lookup;
mod metrics;
mod organizations;
mod posture;
mod query;
mod s3;
mod s3_events;
mod selectors;
mod sns;
mod sts;
mod tags;
mod trails;
mod wire;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use cairn_api::{ApiError, ErrorCode};
use cairn_catalog::Catalog;
use cairn_journal::Journal;
use config::{Credential, OrganizationConfig, Principal, Settings};

pub use http::{router, serve};

/// Where the server reads the time; tests substitute their own.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64;
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Catalog(#[from] cairn_catalog::Error),
    #[error(transparent)]
    Journal(#[from] cairn_journal::Error),
    #[error("event history: {0}")]
    History(#[from] cairn_store::Error),
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("trail delivery: {0}")]
    Delivery(#[from] cairn_delivery::Error),
    #[error("buckets: {0}")]
    Buckets(#[from] cairn_s3::StoreError),
    #[error("signing keys: {0}")]
    SigningKeys(#[from] cairn_integrity::KeyError),
    #[error("CloudWatch Logs delivery: {0}")]
    LogsDelivery(String),
}

/// Everything a request handler can reach.
#[derive(Debug)]
pub struct App {
    pub settings: Settings,
    pub catalog: Catalog,
    /// Every event, durable before it is acknowledged.
    pub journal: Arc<Journal>,
    /// Event history (LookupEvents), fed from the journal; its files cover the journal below its checkpoint.
    pub history: cairn_store::History,
    /// The journal position event history has applied up to.
    pub history_applied: tokio::sync::watch::Sender<u64>,
    /// CloudTrail Lake's event data stores, fed from the journal; their files cover the journal below the `lake`
    /// checkpoint.
    pub lake: cairn_store::lake::Lake,
    /// The journal position the Lake has applied up to.
    pub lake_applied: tokio::sync::watch::Sender<u64>,
    /// Held while a store's key changes in the catalog and the Lake, and while the flusher checks keys and writes:
    /// no flush sees a store encrypted in the catalog and not yet in the Lake.
    lake_keys: std::sync::Mutex<()>,
    /// Events of encrypted stores dropped at flush while their KMS key could not be used (`/metrics`).
    lake_dropped: std::sync::atomic::AtomicU64,
    /// Lake queries of the last seven days.
    lake_queries: lake::queries::Registry,
    /// Lake imports.
    lake_imports: lake::imports::Imports,
    /// What happened at each channel's latest PutAuditEvents (GetChannel's IngestionStatus).
    channel_ingestion: lake::channels::IngestionStatuses,
    pub clock: Arc<dyn Clock>,
    /// Status of every journal consumer.
    pub consumers: Arc<consumers::Consumers>,
    /// Where trail buckets live.
    pub storage: Arc<cairn_delivery::Storage>,
    /// cairn's KMS keys: the KMS endpoint's, and those trails encrypt log files with.
    pub kms: Arc<cairn_kms::Kms>,
    /// cairn's CloudWatch Logs: log groups, streams, events and metric filters.
    pub logs: Arc<cairn_logs::Logs>,
    /// CloudWatch metrics: what metric filters and PutMetricData publish.
    pub metrics: Arc<cairn_metrics::Metrics>,
    /// CloudWatch alarms, over the metrics.
    pub cloudwatch: Arc<cairn_cloudwatch::CloudWatch>,
    /// SNS topics, subscriptions and the queue of messages to their endpoints.
    pub sns: Arc<cairn_sns::Sns>,
    /// Wakes the SNS delivery worker when a message is queued.
    pub sns_wake: tokio::sync::Notify,
    /// Wakes alarm evaluation when metrics receive data, so that an alarm answers its datapoint at once.
    pub alarm_wake: Arc<tokio::sync::Notify>,
    /// The per-region keys that sign digest files (ListPublicKeys).
    pub signing_keys: Arc<cairn_integrity::SigningKeys>,
    /// cairn's own buckets, and the S3 endpoint that serves them.
    pub buckets: cairn_s3::Buckets,
    s3_service: s3s::service::S3Service,
    /// Trail delivery status.
    pub deliveries: delivery::Deliveries,
    /// Trails' delivery to CloudWatch Logs.
    logs_deliveries: cwlogs::LogsDeliveries,
    /// Accounts of the organization (management and members), for organization trails.
    pub organization_accounts: Arc<std::collections::HashSet<String>>,
    credentials: HashMap<String, Credential>,
    /// Where SQL queries of event history run.
    queries: query::Queries,
}

/// Who is calling, from where: the tenant (account) and region come from the verified SigV4 credential.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub account_id: String,
    pub region: String,
    pub principal: Principal,
    pub request_id: String,
}

impl App {
    /// Opens the data directory (creating it and the configured local buckets) and the catalog.
    pub fn open(settings: Settings, clock: Arc<dyn Clock>) -> Result<App, Error> {
        let io = |what, path: &PathBuf| {
            let path = path.clone();
            move |source| Error::Io { what, path, source }
        };
        std::fs::create_dir_all(&settings.data_dir).map_err(io("creating data directory", &settings.data_dir))?;
        let owner = settings
            .credentials
            .first()
            .map_or(config::DEV_ACCOUNT_ID.to_string(), |(_, c)| c.principal.account_id.clone());
        let kms_dir = settings.data_dir.join("kms");
        let kms = Arc::new(cairn_kms::Kms::open(&kms_dir).map_err(io("opening the KMS key store", &kms_dir))?);
        let logs_dir = settings.data_dir.join("logs");
        let metrics_dir = settings.data_dir.join("metrics");
        let metrics = Arc::new(cairn_metrics::Metrics::open(&metrics_dir).map_err(|e| {
            io("opening the CloudWatch metrics store", &metrics_dir)(std::io::Error::other(e.to_string()))
        })?);
        let alarm_wake = Arc::new(tokio::sync::Notify::new());
        let wake = Arc::clone(&alarm_wake);
        metrics.on_put(move || wake.notify_one());
        let cloudwatch_dir = settings.data_dir.join("cloudwatch");
        let cloudwatch = cairn_cloudwatch::CloudWatch::open(&cloudwatch_dir, Arc::clone(&metrics)).map_err(|e| {
            io("opening the CloudWatch alarm store", &cloudwatch_dir)(std::io::Error::other(e.to_string()))
        })?;
        let sns_dir = settings.data_dir.join("sns");
        let sns = cairn_sns::Sns::open(&sns_dir)
            .map_err(|e| io("opening the SNS store", &sns_dir)(std::io::Error::other(e.to_string())))?;
        let logs = cairn_logs::Logs::open(&logs_dir, Arc::clone(&metrics))
            .map_err(|e| io("opening the CloudWatch Logs store", &logs_dir)(std::io::Error::other(e.to_string())))?;
        let signing_keys = Arc::new(cairn_integrity::SigningKeys::open(
            &settings.data_dir.join("signing-keys"),
            settings.signing_key_rotation_ms,
        )?);
        let bucket_store = cairn_s3::Store::open(&settings.data_dir.join("s3"))?;
        let storage_config = match &settings.storage {
            config::Storage::Local { buckets } => {
                // Bucket directories of earlier versions become cairn buckets.
                s3::import_directories(&bucket_store, &settings.data_dir.join("buckets"), &owner, clock.now_millis())?;
                s3::create_configured(&bucket_store, buckets, &owner, clock.now_millis())?;
                cairn_delivery::StorageConfig::Local { store: bucket_store.clone(), kms: Arc::clone(&kms) }
            }
            config::Storage::S3(s3) => s3.clone(),
        };
        let storage =
            cairn_delivery::Storage::open(storage_config).map_err(io("opening trail storage", &settings.data_dir))?;
        let directory = s3::Directory {
            credentials: settings.credentials.iter().cloned().collect(),
            organization: settings.organization.clone(),
            clock: Arc::clone(&clock),
        };
        let buckets = cairn_s3::Buckets::new(bucket_store, Arc::new(directory), Arc::clone(&kms));
        let s3_service = buckets.service(&settings.s3_virtual_host_domains);
        let catalog = Catalog::open(&settings.data_dir.join("catalog.sqlite"))?;
        let journal = Arc::new(Journal::open(&settings.data_dir.join("journal"), cairn_journal::Options::default())?);
        kms.observe(kms::observer(Arc::clone(&journal), Arc::clone(&clock), &settings.credentials));
        let position = Arc::clone(&journal);
        catalog.set_position_source(Arc::new(move || position.committed()));
        let checkpoint = cairn_journal::Log::register_consumer(&*journal, history::CONSUMER, 0)?;
        let history = cairn_store::History::open(&settings.data_dir.join("history"), checkpoint)?;
        let lake_checkpoint = cairn_journal::Log::register_consumer(&*journal, lake::CONSUMER, 0)?;
        let lake = cairn_store::lake::Lake::open(&settings.data_dir.join("lake"), lake_checkpoint)?;
        let credentials = settings.credentials.iter().cloned().collect();
        let queries = query::Queries::start(&settings.query).map_err(|source| Error::Io {
            what: "starting the query threads",
            path: settings.data_dir.clone(),
            source,
        })?;
        let organization_accounts = settings
            .organization
            .iter()
            .flat_map(|o| std::iter::once(&o.management_account).chain(&o.member_accounts))
            .cloned()
            .collect();
        Ok(App {
            storage: Arc::new(storage),
            kms,
            logs: Arc::new(logs),
            metrics,
            cloudwatch: Arc::new(cloudwatch),
            sns: Arc::new(sns),
            sns_wake: tokio::sync::Notify::new(),
            alarm_wake,
            signing_keys,
            buckets,
            s3_service,
            deliveries: delivery::Deliveries::default(),
            logs_deliveries: cwlogs::LogsDeliveries::default(),
            organization_accounts: Arc::new(organization_accounts),
            queries,
            settings,
            catalog,
            journal,
            history,
            history_applied: tokio::sync::watch::channel(checkpoint).0,
            lake,
            lake_applied: tokio::sync::watch::channel(lake_checkpoint).0,
            lake_keys: std::sync::Mutex::default(),
            lake_dropped: std::sync::atomic::AtomicU64::default(),
            lake_queries: lake::queries::Registry::default(),
            lake_imports: lake::imports::Imports::default(),
            channel_ingestion: lake::channels::IngestionStatuses::default(),
            clock,
            consumers: Arc::default(),
            credentials,
        })
    }

    /// The journal, as the log consumers follow.
    pub fn log(&self) -> Arc<dyn cairn_journal::Log> {
        Arc::clone(&self.journal) as Arc<dyn cairn_journal::Log>
    }

    /// The HTTP service of cairn's S3 endpoint.
    pub(crate) fn s3_service(&self) -> &s3s::service::S3Service {
        &self.s3_service
    }

    pub fn credential(&self, access_key_id: &str) -> Option<&Credential> {
        self.credentials.get(access_key_id)
    }

    pub fn organization(&self) -> Option<&OrganizationConfig> {
        self.settings.organization.as_ref()
    }

    /// The organization `account` belongs to (as management or member account), if any.
    pub fn organization_of(&self, account: &str) -> Option<&OrganizationConfig> {
        self.organization().filter(|o| o.includes(account))
    }

    /// Whether `account` may manage organization trails: the management account or a delegated administrator.
    pub fn may_manage_organization(&self, account: &str) -> Result<&OrganizationConfig, ApiError> {
        let Some(org) = self.organization_of(account) else {
            return Err(ApiError::new(
                ErrorCode::OrganizationsNotInUse,
                format!("account {account} is not a member of an organization"),
            ));
        };
        let delegated = self.catalog.read(|s| s.delegated_admins(&org.id).any(|a| a == account));
        if org.management_account != account && !delegated {
            return Err(ApiError::new(
                ErrorCode::NotOrganizationMasterAccount,
                format!(
                    "account {account} is neither the management account nor a delegated administrator of organization {}",
                    org.id
                ),
            ));
        }
        Ok(org)
    }
}

/// A time in milliseconds since the epoch, as policies' `aws:CurrentTime` sees it.
pub(crate) fn now(millis: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// Seconds since the epoch, as the AWS JSON protocol encodes timestamps.
pub(crate) fn epoch_seconds(millis: i64) -> f64 {
    millis as f64 / 1000.0
}

pub(crate) fn internal(e: cairn_catalog::Error) -> ApiError {
    tracing::error!(error = %e, "catalog failure");
    ApiError::internal("an internal error occurred; the request changed nothing")
}

/// Runs `task` on a new thread with a single-threaded runtime of its own, niced below the request threads.
pub(crate) fn background<F, Fut>(name: &str, task: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let thread = name.to_string();
    let spawned = std::thread::Builder::new().name(name.to_string()).spawn(move || {
        lower_priority();
        match tokio::runtime::Builder::new_current_thread().enable_time().build() {
            Ok(rt) => rt.block_on(task()),
            Err(e) => tracing::error!(error = %e, thread, "a background thread cannot start its runtime"),
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, thread = name, "cannot start a background thread");
    }
}

/// Lowers the calling thread's scheduling priority (nice 10), for background work (event history) and queries, so
/// that acknowledging events comes first. Best effort: a failure only means they compete on equal terms.
#[allow(unsafe_code)]
pub(crate) fn lower_priority() {
    // SAFETY: setpriority only reads its integer arguments; on Linux, PRIO_PROCESS with who = 0 applies to the
    // calling thread alone.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
    if rc != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "a background thread keeps normal priority");
    }
}
