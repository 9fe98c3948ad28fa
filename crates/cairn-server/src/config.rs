//! cairn's typed configuration: what the TOML file, `CAIRN_*` variables and flags resolve to, validated once.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use cairn_model::names::{is_account_id, validate_bucket_name};
use serde::Deserialize;

/// The development account used when the configuration names none.
pub const DEV_ACCOUNT_ID: &str = "123456789012";
/// The development access key id (AWS's documented example key).
pub const DEV_ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// The development secret access key (AWS's documented example key).
pub const DEV_SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// Where cairn listens by default: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4573";
/// The default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "cairn-data";
/// Largest request body accepted on the CloudTrail endpoint, by default.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// Largest (decompressed) request body accepted on the ingestion endpoint, by default.
pub const DEFAULT_MAX_INGEST_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:4573`.
    pub listen: Option<SocketAddr>,
    /// Directory holding the catalog and (with local storage) the trail buckets.
    pub data_dir: Option<PathBuf>,
    /// The URL clients and SNS subscribers reach cairn at (SNS's SigningCertURL, SubscribeURL and
    /// UnsubscribeURL); `http://<listen address>` by default.
    pub public_url: Option<String>,
    /// Serve the web console's files from this directory instead of the ones built into the binary (for working
    /// on the console: `node build.mjs` there, then reload the page).
    pub console_dir: Option<PathBuf>,
    /// Largest request body accepted, in bytes.
    pub max_request_bytes: Option<usize>,
    /// Largest (decompressed) ingestion request body accepted, in bytes.
    pub max_ingest_bytes: Option<usize>,
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    pub organization: Option<OrganizationConfig>,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub history: HistoryConfig,
    #[serde(default)]
    pub query: QueryConfig,
    #[serde(default)]
    pub lake: LakeConfig,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub s3: S3EndpointConfig,
}

/// cairn's S3 endpoint.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct S3EndpointConfig {
    /// Host names under which `<bucket>.<domain>` addresses a bucket (virtual-host style).
    #[serde(default = "virtual_host_domains")]
    pub virtual_host_domains: Vec<String>,
}

fn virtual_host_domains() -> Vec<String> {
    vec!["localhost".into()]
}

impl Default for S3EndpointConfig {
    fn default() -> Self {
        S3EndpointConfig { virtual_host_domains: virtual_host_domains() }
    }
}

/// How trails cut their log files.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// A log file closes this many seconds after its first event (AWS: about 5 minutes).
    #[serde(default = "window_seconds")]
    pub window_seconds: u64,
    /// ... or once its events reach this many bytes (uncompressed).
    #[serde(default = "max_file_bytes")]
    pub max_file_bytes: usize,
    /// gzip level of log files (1 fastest .. 9 smallest).
    #[serde(default = "gzip_level")]
    pub gzip_level: u32,
    /// A region's digest signing key is replaced after this many days.
    #[serde(default = "signing_key_rotation_days")]
    pub signing_key_rotation_days: u32,
    /// A trail with log file validation delivers a digest file of each account and region this often (AWS: hourly).
    #[serde(default = "digest_interval_seconds")]
    pub digest_interval_seconds: u64,
    /// Digests carry a Merkle tree head over their events, for `cairn prove` (cairn's addition to AWS's format).
    #[serde(default = "event_proofs")]
    pub event_proofs: bool,
}

fn event_proofs() -> bool {
    true
}

fn digest_interval_seconds() -> u64 {
    3600
}

fn signing_key_rotation_days() -> u32 {
    30
}

fn window_seconds() -> u64 {
    300
}

fn max_file_bytes() -> usize {
    32 << 20
}

fn gzip_level() -> u32 {
    6
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            window_seconds: window_seconds(),
            max_file_bytes: max_file_bytes(),
            gzip_level: gzip_level(),
            signing_key_rotation_days: signing_key_rotation_days(),
            digest_interval_seconds: digest_interval_seconds(),
            event_proofs: event_proofs(),
        }
    }
}

/// What SQL queries of event history may use.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QueryConfig {
    /// Most rows one answer carries (a request may ask for fewer).
    #[serde(default = "max_rows")]
    pub max_rows: usize,
    /// Memory one query's sorts, joins and aggregations may hold, in MiB.
    #[serde(default = "memory_mib")]
    pub memory_mib: usize,
    /// Longest a query may run, in seconds.
    #[serde(default = "timeout_seconds")]
    pub timeout_seconds: u64,
    /// Queries running at once; one more is refused with MaxConcurrentQueriesException.
    #[serde(default = "max_concurrent")]
    pub max_concurrent: usize,
}

fn max_rows() -> usize {
    10_000
}

fn memory_mib() -> usize {
    512
}

fn timeout_seconds() -> u64 {
    60
}

fn max_concurrent() -> usize {
    2
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            max_rows: max_rows(),
            memory_mib: memory_mib(),
            timeout_seconds: timeout_seconds(),
            max_concurrent: max_concurrent(),
        }
    }
}

/// When event history moves its in-memory tail to Parquet files.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {
    /// Flush once the tail holds this many bytes of records.
    #[serde(default = "flush_bytes")]
    pub flush_bytes: usize,
    /// Flush whatever the tail holds at least this often (the journal behind it is then deleted).
    #[serde(default = "flush_interval_seconds")]
    pub flush_interval_seconds: u64,
}

fn flush_bytes() -> usize {
    64 << 20
}

fn flush_interval_seconds() -> u64 {
    300
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig { flush_bytes: flush_bytes(), flush_interval_seconds: flush_interval_seconds() }
    }
}

/// CloudTrail Lake: when it moves its stores' in-memory tails to Parquet files, and which server directories
/// StartImport may read (`file://` sources).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LakeConfig {
    /// Flush once the tails hold this many bytes of records.
    #[serde(default = "flush_bytes")]
    pub flush_bytes: usize,
    /// Flush whatever the tails hold at least this often.
    #[serde(default = "lake_flush_interval_seconds")]
    pub flush_interval_seconds: u64,
    /// Directories (and their subdirectories) that imports may read with `file://` URIs; none by default.
    #[serde(default)]
    pub import_directories: Vec<PathBuf>,
    /// The language model GenerateQuery asks; none by default (GenerateQuery is then unsupported).
    #[serde(default)]
    pub query_generator: Option<QueryGeneratorConfig>,
}

/// A language model behind OpenAI's chat completions API (`POST <endpoint>/chat/completions`).
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QueryGeneratorConfig {
    /// The API's base URL, such as `http://127.0.0.1:11434/v1` for Ollama.
    pub endpoint: String,
    /// The model to ask.
    pub model: String,
    /// The environment variable holding the API key, sent as a bearer token, when the server needs one.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// How long to wait for the model's answer.
    #[serde(default = "generator_timeout_seconds")]
    pub timeout_seconds: u64,
    /// The key itself, read from `api_key_env` when the configuration is checked.
    #[serde(skip)]
    pub api_key: Option<String>,
}

/// Everything but the key.
impl std::fmt::Debug for QueryGeneratorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryGeneratorConfig")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("api_key_env", &self.api_key_env)
            .field("timeout_seconds", &self.timeout_seconds)
            .finish_non_exhaustive()
    }
}

fn generator_timeout_seconds() -> u64 {
    60
}

fn lake_flush_interval_seconds() -> u64 {
    10
}

impl Default for LakeConfig {
    fn default() -> Self {
        LakeConfig {
            flush_bytes: flush_bytes(),
            flush_interval_seconds: lake_flush_interval_seconds(),
            import_directories: Vec::new(),
            query_generator: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub id: String,
    #[serde(default)]
    pub credentials: Vec<CredentialConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `root`, `user/<name>` or `role/<name>`.
    #[serde(default = "root")]
    pub principal: String,
    /// Accounts this credential may send events into through the ingestion API (`"*"`: every account).
    #[serde(default)]
    pub ingest_accounts: Vec<String>,
}

fn root() -> String {
    "root".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationConfig {
    pub id: String,
    pub management_account: String,
    #[serde(default)]
    pub member_accounts: Vec<String>,
}

impl OrganizationConfig {
    /// Whether `account` is the management account or a member.
    pub fn includes(&self, account: &str) -> bool {
        self.management_account == account || self.member_accounts.iter().any(|m| m == account)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    #[serde(default = "local")]
    pub kind: String,
    /// Buckets that exist (local storage creates them at start).
    #[serde(default)]
    pub buckets: Vec<String>,
    /// S3 storage: the endpoint URL (`http://127.0.0.1:3900`), its region, and cairn's key pair there.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), as most self-hosted S3 servers want. Default true.
    pub force_path_style: Option<bool>,
}

fn local() -> String {
    "local".into()
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            kind: local(),
            buckets: Vec::new(),
            endpoint: None,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            force_path_style: None,
        }
    }
}

/// Where trail buckets live, validated.
#[derive(Debug, Clone)]
pub enum Storage {
    /// Directories under `<data_dir>/buckets`; the listed buckets are created at start.
    Local {
        buckets: Vec<String>,
    },
    S3(cairn_delivery::StorageConfig),
}

/// Who a credential acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    Root,
    User(String),
    Role(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: String,
    pub kind: PrincipalKind,
}

impl Principal {
    pub fn arn(&self) -> String {
        match &self.kind {
            PrincipalKind::Root => format!("arn:aws:iam::{}:root", self.account_id),
            PrincipalKind::User(n) => format!("arn:aws:iam::{}:user/{n}", self.account_id),
            PrincipalKind::Role(n) => format!("arn:aws:iam::{}:role/{n}", self.account_id),
        }
    }
}

/// A credential known to the server.
#[derive(Debug, Clone)]
pub struct Credential {
    pub secret_access_key: String,
    pub principal: Principal,
    /// Accounts the credential may ingest events into; `"*"` grants every account.
    pub ingest_accounts: Vec<String>,
}

impl Credential {
    pub fn may_ingest_into(&self, account: &str) -> bool {
        self.ingest_accounts.iter().any(|a| a == "*" || a == account)
    }
}

/// The configuration after defaults and validation: what the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub max_request_bytes: usize,
    pub max_ingest_bytes: usize,
    /// Access key id to credential.
    pub credentials: Vec<(String, Credential)>,
    pub organization: Option<OrganizationConfig>,
    pub storage: Storage,
    pub history: HistoryConfig,
    pub query: QueryConfig,
    pub lake: LakeConfig,
    pub delivery: cairn_delivery::Settings,
    /// Host names under which `<bucket>.<domain>` addresses a bucket.
    pub s3_virtual_host_domains: Vec<String>,
    /// How long a region's digest signing key signs, in milliseconds.
    pub signing_key_rotation_ms: i64,
    /// The URL SNS's links and certificate URL start with, if configured.
    pub public_url: Option<String>,
    /// Where the web console's files come from.
    pub console: cairn_console::Source,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

fn parse_principal(account_id: &str, s: &str) -> Result<Principal, ConfigError> {
    let kind = match s.split_once('/') {
        None if s == "root" => PrincipalKind::Root,
        Some(("user", n)) if !n.is_empty() => PrincipalKind::User(n.into()),
        Some(("role", n)) if !n.is_empty() => PrincipalKind::Role(n.into()),
        _ => return Err(ConfigError(format!("principal {s:?} must be root, user/<name> or role/<name>"))),
    };
    Ok(Principal { account_id: account_id.into(), kind })
}

impl Config {
    /// Applies defaults and checks every rule; the server starts only from a validated configuration.
    pub fn validate(mut self) -> Result<Settings, ConfigError> {
        let err = |m: String| Err(ConfigError(m));
        if let Some(u) = self.public_url.as_deref().filter(|u| !u.starts_with("http://") && !u.starts_with("https://"))
        {
            return err(format!("public_url {u:?} must start with http:// or https://"));
        }
        let mut credentials = Vec::new();
        let mut seen_accounts = HashSet::new();
        for a in &self.accounts {
            if !is_account_id(&a.id) {
                return err(format!("account id {:?} must be 12 digits", a.id));
            }
            if !seen_accounts.insert(a.id.as_str()) {
                return err(format!("account {} is configured twice", a.id));
            }
            for c in &a.credentials {
                if c.access_key_id.len() < 16 || !c.access_key_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return err(format!("access key id {:?} must be at least 16 letters or digits", c.access_key_id));
                }
                if c.secret_access_key.len() < 16 {
                    return err(format!("secret access key of {} must be at least 16 characters", c.access_key_id));
                }
                if credentials.iter().any(|(k, _)| k == &c.access_key_id) {
                    return err(format!("access key id {} is configured twice", c.access_key_id));
                }
                let principal = parse_principal(&a.id, &c.principal)?;
                if let Some(bad) = c.ingest_accounts.iter().find(|i| *i != "*" && !is_account_id(i)) {
                    return err(format!("ingest account {bad:?} of {} must be 12 digits or \"*\"", c.access_key_id));
                }
                credentials.push((
                    c.access_key_id.clone(),
                    Credential {
                        secret_access_key: c.secret_access_key.clone(),
                        principal,
                        ingest_accounts: c.ingest_accounts.clone(),
                    },
                ));
            }
        }
        if self.accounts.is_empty() {
            credentials.push((
                DEV_ACCESS_KEY_ID.into(),
                Credential {
                    secret_access_key: DEV_SECRET_ACCESS_KEY.into(),
                    principal: Principal { account_id: DEV_ACCOUNT_ID.into(), kind: PrincipalKind::Root },
                    ingest_accounts: vec![DEV_ACCOUNT_ID.into()],
                },
            ));
        }
        if let Some(org) = &self.organization {
            let valid_id = org.id.len() >= 12
                && org.id.starts_with("o-")
                && org.id[2..].bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            if !valid_id {
                return err(format!("organization id {:?} must look like o-a1b2c3d4e5", org.id));
            }
            if !is_account_id(&org.management_account) {
                return err(format!("management account {:?} must be 12 digits", org.management_account));
            }
            if let Some(m) = org.member_accounts.iter().find(|m| !is_account_id(m)) {
                return err(format!("member account {m:?} must be 12 digits"));
            }
        }
        let storage = match self.storage.kind.as_str() {
            "local" => {
                for b in &self.storage.buckets {
                    validate_bucket_name(b).map_err(|e| ConfigError(e.to_string()))?;
                }
                Storage::Local { buckets: self.storage.buckets.clone() }
            }
            "s3" => {
                let st = &self.storage;
                if !st.buckets.is_empty() {
                    return err("storage.buckets is for local storage: create buckets on the S3 endpoint".into());
                }
                let need = |v: &Option<String>, name: &str| match v.as_deref().filter(|v| !v.is_empty()) {
                    Some(v) => Ok(v.to_string()),
                    None => Err(ConfigError(format!("storage kind \"s3\" needs storage.{name}"))),
                };
                let endpoint = need(&st.endpoint, "endpoint")?;
                if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                    return err(format!("storage.endpoint {endpoint:?} must be an http:// or https:// URL"));
                }
                Storage::S3(cairn_delivery::StorageConfig::S3 {
                    endpoint,
                    region: st.region.clone().unwrap_or_else(|| "us-east-1".into()),
                    access_key_id: need(&st.access_key_id, "access_key_id")?,
                    secret_access_key: need(&st.secret_access_key, "secret_access_key")?,
                    force_path_style: st.force_path_style.unwrap_or(true),
                })
            }
            other => return err(format!("storage kind {other:?} must be \"local\" or \"s3\"")),
        };
        let d = &self.delivery;
        if !(1..=3600).contains(&d.window_seconds) {
            return err(format!("delivery.window_seconds {} must be between 1 and 3600", d.window_seconds));
        }
        if !(1024..=1 << 30).contains(&d.max_file_bytes) {
            return err(format!("delivery.max_file_bytes {} must be between 1 KiB and 1 GiB", d.max_file_bytes));
        }
        if !(1..=9).contains(&d.gzip_level) {
            return err(format!("delivery.gzip_level {} must be between 1 and 9", d.gzip_level));
        }
        if !(1..=3650).contains(&d.signing_key_rotation_days) {
            return err(format!(
                "delivery.signing_key_rotation_days {} must be between 1 and 3650",
                d.signing_key_rotation_days
            ));
        }
        if !(1..=86_400).contains(&d.digest_interval_seconds) {
            return err(format!(
                "delivery.digest_interval_seconds {} must be between 1 and 86400",
                d.digest_interval_seconds
            ));
        }
        let max_request_bytes = self.max_request_bytes.unwrap_or(DEFAULT_MAX_REQUEST_BYTES);
        if !(1024..=64 * 1024 * 1024).contains(&max_request_bytes) {
            return err(format!("max_request_bytes {max_request_bytes} must be between 1 KiB and 64 MiB"));
        }
        let max_ingest_bytes = self.max_ingest_bytes.unwrap_or(DEFAULT_MAX_INGEST_BYTES);
        if !(1024..=1024 * 1024 * 1024).contains(&max_ingest_bytes) {
            return err(format!("max_ingest_bytes {max_ingest_bytes} must be between 1 KiB and 1 GiB"));
        }
        if self.history.flush_bytes == 0 || self.history.flush_interval_seconds == 0 {
            return err("history.flush_bytes and history.flush_interval_seconds must be positive".into());
        }
        if let Some(g) = &mut self.lake.query_generator {
            let scheme_ok = g.endpoint.starts_with("http://") || g.endpoint.starts_with("https://");
            if !scheme_ok || g.model.is_empty() || g.timeout_seconds == 0 {
                return err("lake.query_generator needs an http:// or https:// endpoint, a model and a positive timeout_seconds".into());
            }
            if let Some(var) = &g.api_key_env {
                match std::env::var(var) {
                    Ok(key) => g.api_key = Some(key),
                    Err(_) => return err(format!("lake.query_generator.api_key_env names {var}, which is not set")),
                }
            }
        }
        if self.lake.flush_bytes == 0 || self.lake.flush_interval_seconds == 0 {
            return err("lake.flush_bytes and lake.flush_interval_seconds must be positive".into());
        }
        for d in &self.s3.virtual_host_domains {
            let label_ok =
                |l: &str| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if d.len() > 253 || !d.split('.').all(label_ok) {
                return err(format!("s3.virtual_host_domains: {d:?} is not a host name"));
            }
        }
        let q = &self.query;
        if q.max_rows == 0 || q.memory_mib == 0 || q.timeout_seconds == 0 || q.max_concurrent == 0 {
            return err("query.max_rows, memory_mib, timeout_seconds and max_concurrent must be positive".into());
        }
        Ok(Settings {
            max_ingest_bytes,
            listen: self.listen.unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("the default address parses")),
            data_dir: self.data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            max_request_bytes,
            credentials,
            organization: self.organization,
            storage,
            history: self.history,
            query: self.query,
            lake: self.lake,
            delivery: cairn_delivery::Settings {
                window_ms: d.window_seconds as i64 * 1000,
                max_file_bytes: d.max_file_bytes,
                gzip_level: d.gzip_level,
                digest_interval_ms: d.digest_interval_seconds as i64 * 1000,
                event_proofs: d.event_proofs,
            },
            s3_virtual_host_domains: self.s3.virtual_host_domains,
            signing_key_rotation_ms: i64::from(d.signing_key_rotation_days) * 86_400_000,
            public_url: self.public_url.map(|u| u.trim_end_matches('/').to_string()),
            console: match self.console_dir {
                Some(dir) => cairn_console::Source::Directory(dir),
                None => cairn_console::Source::Embedded,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<Settings, String> {
        let c: Config = toml_from_str(toml_text)?;
        c.validate().map_err(|e| e.to_string())
    }

    // The binary owns TOML parsing; this keeps the tests here free of a TOML dependency.
    fn toml_from_str(s: &str) -> Result<Config, String> {
        serde_json::from_str(s).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_give_the_development_account() {
        let s = parse("{}").unwrap();
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(s.credentials.len(), 1);
        assert_eq!(s.credentials[0].0, DEV_ACCESS_KEY_ID);
        assert_eq!(s.credentials[0].1.principal.arn(), "arn:aws:iam::123456789012:root");
    }

    #[test]
    fn rules() {
        let bad = [
            r#"{"accounts":[{"id":"1234"}]}"#,
            r#"{"accounts":[{"id":"111111111111"},{"id":"111111111111"}]}"#,
            r#"{"accounts":[{"id":"111111111111","credentials":[{"access_key_id":"AKIA0000000000000001","secret_access_key":"0123456789abcdef","principal":"group/x"}]}]}"#,
            r#"{"accounts":[{"id":"111111111111","credentials":[{"access_key_id":"short","secret_access_key":"0123456789abcdef"}]}]}"#,
            r#"{"organization":{"id":"bad","management_account":"111111111111"}}"#,
            r#"{"storage":{"kind":"ftp"}}"#,
            r#"{"storage":{"buckets":["Bad_Bucket"]}}"#,
            r#"{"storage":{"kind":"s3"}}"#,
            r#"{"storage":{"kind":"s3","endpoint":"ftp://x","access_key_id":"a","secret_access_key":"b"}}"#,
            r#"{"delivery":{"window_seconds":0}}"#,
            r#"{"delivery":{"gzip_level":10}}"#,
            r#"{"delivery":{"signing_key_rotation_days":0}}"#,
            r#"{"delivery":{"digest_interval_seconds":0}}"#,
            r#"{"s3":{"virtual_host_domains":["bad domain"]}}"#,
            r#"{"s3":{"virtual_host_domains":["a..b"]}}"#,
            r#"{"max_request_bytes":10}"#,
            r#"{"unknown_field":1}"#,
        ];
        for b in bad {
            assert!(parse(b).is_err(), "{b}");
        }
        let s = parse(r#"{"accounts":[{"id":"111111111111","credentials":[{"access_key_id":"AKIA0000000000000001","secret_access_key":"0123456789abcdef","principal":"role/admin"}]}]}"#).unwrap();
        assert_eq!(s.credentials[0].1.principal.arn(), "arn:aws:iam::111111111111:role/admin");
    }
}
