//! Where trail buckets live: cairn's own buckets (the default, `cairn-s3`'s store, also served on cairn's S3
//! endpoint), or any S3-compatible endpoint through the `object_store` crate. Every failure carries the storage's own error code (`AccessDenied`,
//! `NoSuchBucket`, ...) because that is what GetTrailStatus shows as LatestDeliveryError.
//!
//! Storage calls run on a small runtime of their own, so callers on any runtime (a consumer's thread, a request
//! handler) share one connection pool whose tasks are always being polled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, AttributeValue, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload, RetryConfig,
};

/// Which storage holds the buckets.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// cairn's own buckets, and the keys that encrypt log files in them.
    Local { store: cairn_s3::Store, kms: Arc<cairn_kms::Kms> },
    /// An S3-compatible endpoint.
    S3 {
        endpoint: String,
        region: String,
        access_key_id: String,
        secret_access_key: String,
        /// `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`.
        force_path_style: bool,
    },
}

/// A storage failure, with the code S3 would give for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct StoreError {
    /// S3's error code: `NoSuchBucket`, `AccessDenied`, `InvalidAccessKeyId`, `KMS.NotFoundException`, ...;
    /// `ServiceUnavailable` when the storage could not be reached. Kept as the server gave it, because that is what
    /// GetTrailStatus shows; [`StoreError::kind`] is what callers decide on.
    pub code: String,
    pub message: String,
}

/// What a storage failure means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The bucket (or, on a read, the object) does not exist.
    NoSuchBucket,
    /// The storage refused the request to cairn's credentials (a bucket policy or ACL; not bad credentials).
    AccessDenied,
    /// The storage could not encrypt with the KMS key, or did not confirm that it did.
    Kms,
    /// The storage could not be reached or did not answer in time.
    Unreachable,
    /// Anything else.
    Other,
}

impl StoreError {
    fn new(code: &str, message: impl Into<String>) -> StoreError {
        StoreError { code: code.to_string(), message: message.into() }
    }

    fn from_local(e: cairn_s3::StoreError) -> StoreError {
        StoreError::new(e.code().as_str(), e.to_string())
    }

    pub fn kind(&self) -> StoreErrorKind {
        match self.code.as_str() {
            "NoSuchBucket" | "NoSuchKey" => StoreErrorKind::NoSuchBucket,
            "AccessDenied" | "AllAccessDisabled" => StoreErrorKind::AccessDenied,
            c if c.starts_with("KMS.") || c == "NotImplemented" => StoreErrorKind::Kms,
            "ServiceUnavailable" | "SlowDown" | "RequestTimeout" => StoreErrorKind::Unreachable,
            _ => StoreErrorKind::Other,
        }
    }

    fn from_object_store(e: &object_store::Error) -> StoreError {
        let text = error_chain(e);
        let code = xml_code(&text).map(str::to_string).unwrap_or_else(|| {
            match e {
                object_store::Error::NotFound { .. } => "NoSuchBucket",
                object_store::Error::PermissionDenied { .. } => "AccessDenied",
                object_store::Error::Unauthenticated { .. } => "InvalidAccessKeyId",
                object_store::Error::NotSupported { .. } | object_store::Error::NotImplemented { .. } => {
                    "NotImplemented"
                }
                _ if unreachable(e) => "ServiceUnavailable",
                _ => "InternalError",
            }
            .to_string()
        });
        StoreError { code, message: text }
    }
}

/// Whether the HTTP client never got an answer: it could not connect, or timed out.
fn unreachable(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<reqwest::Error>().is_some_and(|r| r.is_connect() || r.is_timeout()) {
            return true;
        }
        if s.downcast_ref::<std::io::Error>().is_some_and(|io| {
            use std::io::ErrorKind::*;
            matches!(io.kind(), ConnectionRefused | ConnectionReset | ConnectionAborted | TimedOut | NotConnected)
        }) {
            return true;
        }
        source = s.source();
    }
    false
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// The `<Code>` of an S3 XML error body quoted in an error message.
fn xml_code(text: &str) -> Option<&str> {
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    Some(&text[start..start + len]).filter(|c| !c.is_empty() && c.len() < 64)
}

/// A bucket and the KMS key its writes are encrypted with.
type StoreId = (String, Option<String>);

/// Encrypts a log file as CloudTrail does: a data key generated under the trail's KMS key by
/// `cloudtrail.amazonaws.com` for the trail, with the encryption context `aws:cloudtrail:arn` = the trail's ARN.
/// KMS's refusals come back as `KMS.<code>` (`KMS.DisabledException`, `KMS.AccessDeniedException` ...).
fn seal_for_trail(
    kms: &cairn_kms::Kms,
    kms_key: &str,
    trail_arn: &str,
    body: &[u8],
    now: time::OffsetDateTime,
) -> Result<(Vec<u8>, cairn_s3::sse::SseKms), StoreError> {
    let facts = cairn_policy::RequestFacts {
        caller: cairn_policy::Caller::Service {
            name: cairn_s3::access::CLOUDTRAIL.to_string(),
            source_arn: trail_arn.to_string(),
            source_account: trail_arn.split(':').nth(4).unwrap_or("").to_string(),
        },
        source_ip: None,
        secure_transport: true,
        now,
    };
    let region = kms_key.split(':').nth(3).unwrap_or("");
    let call = cairn_kms::Call { facts: &facts, region, via_service: None };
    let context = [("aws:cloudtrail:arn".to_string(), trail_arn.to_string())].into();
    cairn_s3::sse::seal(kms, &call, kms_key, context, body)
        .map_err(|e| StoreError::new(&cairn_s3::sse::error_code(&e), e.message))
}

/// The buckets cairn delivers to.
#[derive(Debug)]
pub struct Storage {
    config: StorageConfig,
    runtime: IoRuntime,
    /// One client per (bucket, KMS key): object_store clients are bucket-scoped and carry their encryption setting.
    stores: Mutex<HashMap<StoreId, Arc<dyn ObjectStore>>>,
}

/// The storage runtime; shut down without waiting, so dropping it from async code is safe.
#[derive(Debug)]
struct IoRuntime(Option<tokio::runtime::Runtime>);

impl Drop for IoRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Requests to S3 are retried by the delivery loop (with its own backoff, so that its status tells the truth);
/// object_store retries only briefly.
fn retry() -> RetryConfig {
    RetryConfig { max_retries: 2, retry_timeout: Duration::from_secs(15), ..RetryConfig::default() }
}

impl Storage {
    pub fn open(config: StorageConfig) -> std::io::Result<Storage> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("cairn-storage")
            .enable_all()
            .build()?;
        Ok(Storage { config, runtime: IoRuntime(Some(runtime)), stores: Mutex::default() })
    }

    /// The object_store client of an S3 bucket (local buckets go to cairn's store directly).
    fn store(&self, bucket: &str, kms_key: Option<&str>) -> Result<Arc<dyn ObjectStore>, StoreError> {
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        let id = (bucket.to_string(), kms_key.map(str::to_string));
        if let Some(s) = stores.get(&id) {
            return Ok(Arc::clone(s));
        }
        let store: Arc<dyn ObjectStore> = match &self.config {
            StorageConfig::Local { .. } => {
                return Err(StoreError::new("InternalError", "local buckets have no S3 client"))
            }
            StorageConfig::S3 { endpoint, region, access_key_id, secret_access_key, force_path_style } => {
                let mut b = AmazonS3Builder::new()
                    .with_endpoint(endpoint)
                    .with_region(region)
                    .with_bucket_name(bucket)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key)
                    .with_virtual_hosted_style_request(!force_path_style)
                    .with_allow_http(true)
                    .with_retry(retry());
                if let Some(k) = kms_key {
                    b = b.with_sse_kms_encryption(k);
                }
                Arc::new(b.build().map_err(|e| StoreError::from_object_store(&e))?)
            }
        };
        stores.insert(id, Arc::clone(&store));
        Ok(store)
    }

    async fn on_runtime<T: Send + 'static>(
        &self,
        f: impl std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let rt = self.runtime.0.as_ref().ok_or_else(|| StoreError::new("ServiceUnavailable", "storage is closed"))?;
        rt.spawn(f).await.map_err(|e| StoreError::new("InternalError", format!("storage task failed: {e}")))?
    }

    /// Whether `bucket` exists.
    pub async fn bucket_exists(&self, bucket: &str) -> Result<bool, StoreError> {
        if let StorageConfig::Local { store: local, .. } = &self.config {
            return match local.bucket(bucket) {
                Ok(_) => Ok(true),
                Err(cairn_s3::StoreError::NoSuchBucket) => Ok(false),
                Err(e) => Err(StoreError::from_local(e)),
            };
        }
        let store = self.store(bucket, None)?;
        let listed = self
            .on_runtime(async move {
                store.list_with_delimiter(None).await.map(|_| ()).map_err(|e| StoreError::from_object_store(&e))
            })
            .await;
        match listed {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == StoreErrorKind::NoSuchBucket => Ok(false),
            // Listing may be denied to a writer; a bucket that answers AccessDenied exists.
            Err(e) if e.kind() == StoreErrorKind::AccessDenied => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Writes an object for the trail `trail_arn`, with `x-amz-meta-*` values `metadata` (names without the
    /// prefix); durable before this returns. In cairn's own buckets the bucket policy must let CloudTrail write for
    /// that trail, as AWS requires.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        kms_key: Option<&str>,
        trail_arn: &str,
        metadata: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        if let StorageConfig::Local { store: local, kms } = &self.config {
            let b = local.bucket(bucket).map_err(StoreError::from_local)?;
            cairn_s3::access::cloudtrail_may(&b, trail_arn, "PutObject", Some(key), time::OffsetDateTime::now_utc())
                .map_err(|_| {
                    StoreError::new(
                        "AccessDenied",
                        format!("the policy of bucket {bucket} does not let CloudTrail write {key}"),
                    )
                })?;
            // Delivered objects belong to the bucket owner (CloudTrail writes with bucket-owner-full-control).
            let owner = b.owner;
            let meta = cairn_s3::ObjectMeta {
                acl: Some("bucket-owner-full-control".into()),
                writer: owner,
                user: metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                ..cairn_s3::ObjectMeta::default()
            };
            let now = time::OffsetDateTime::now_utc();
            let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
            match kms_key {
                None => local.put_bytes(bucket, key, body, meta, now_ms).await.map_err(StoreError::from_local)?,
                Some(kms_key) => {
                    let (sealed, sse) = seal_for_trail(kms, kms_key, trail_arn, &body, now)?;
                    let meta = cairn_s3::ObjectMeta { sse: Some(sse), ..meta };
                    local
                        .put_sealed(bucket, key, sealed.into(), &body, meta, now_ms)
                        .await
                        .map_err(StoreError::from_local)?
                }
            };
            return Ok(());
        }
        let store = self.store(bucket, kms_key)?;
        let path = ObjectPath::parse(key).map_err(|e| StoreError::new("InvalidArgument", e.to_string()))?;
        let p = path.clone();
        let attributes: Attributes = metadata
            .iter()
            .map(|(k, v)| (Attribute::Metadata(k.to_string().into()), AttributeValue::from(v.to_string())))
            .collect();
        let opts = PutOptions { attributes, ..PutOptions::default() };
        self.on_runtime(async move {
            store
                .put_opts(&p, PutPayload::from_bytes(body), opts)
                .await
                .map(|_| ())
                .map_err(|e| StoreError::from_object_store(&e))
        })
        .await
    }

    /// Reads a whole object's stored bytes (for an SSE-KMS object in cairn's buckets, the sealed bytes: readers
    /// decrypt through the S3 endpoint, with their own authority).
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Bytes, StoreError> {
        self.get_sealed(bucket, key).await.map(|(bytes, _)| bytes)
    }

    /// [`Storage::get`], with how an SSE-KMS object of cairn's buckets is sealed, for a reader that decrypts it
    /// with its own authority (`cairn_s3::sse::open`).
    pub async fn get_sealed(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(Bytes, Option<cairn_s3::sse::SseKms>), StoreError> {
        if let StorageConfig::Local { store: local, .. } = &self.config {
            return local.get_bytes(bucket, key).await.map(|(o, b)| (b, o.meta.sse)).map_err(StoreError::from_local);
        }
        let store = self.store(bucket, None)?;
        let path = ObjectPath::parse(key).map_err(|e| StoreError::new("InvalidArgument", e.to_string()))?;
        self.on_runtime(async move {
            let got = store.get(&path).await.map_err(|e| StoreError::from_object_store(&e))?;
            got.bytes().await.map(|b| (b, None)).map_err(|e| StoreError::from_object_store(&e))
        })
        .await
    }

    /// Keys under `prefix`, in no particular order.
    /// The account owning one of cairn's own buckets; `None` for an S3-compatible endpoint's (which cairn cannot
    /// tell), or a bucket that does not exist.
    pub fn local_bucket_owner(&self, bucket: &str) -> Option<String> {
        match &self.config {
            StorageConfig::Local { store: local, .. } => local.bucket(bucket).ok().map(|b| b.owner),
            _ => None,
        }
    }

    /// Whether buckets are cairn's own.
    pub fn is_local(&self) -> bool {
        matches!(self.config, StorageConfig::Local { .. })
    }

    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        if let StorageConfig::Local { store: local, .. } = &self.config {
            let mut keys = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = local.list(bucket, prefix, None, after.as_deref(), 1000).map_err(StoreError::from_local)?;
                keys.extend(page.objects.into_iter().map(|o| o.key));
                if !page.truncated {
                    return Ok(keys);
                }
                after = page.last;
            }
        }
        let store = self.store(bucket, None)?;
        let prefix = ObjectPath::parse(prefix).map_err(|e| StoreError::new("InvalidArgument", e.to_string()))?;
        self.on_runtime(async move {
            let metas: Vec<_> =
                store.list(Some(&prefix)).try_collect().await.map_err(|e| StoreError::from_object_store(&e))?;
            Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
        })
        .await
    }

    /// Checks that cairn can write under `folder` of `bucket` (with `kms_key`, when given), as CreateTrail must:
    /// writes a small object there and removes it. With a KMS key, the storage must also confirm that it stored the
    /// object encrypted with SSE-KMS (a server that ignores the request would otherwise get plaintext).
    pub async fn check_write(
        &self,
        bucket: &str,
        folder: &str,
        kms_key: Option<&str>,
        trail_arn: &str,
    ) -> Result<(), StoreError> {
        if let StorageConfig::Local { store: local, .. } = &self.config {
            // cairn's own buckets: the policy must let CloudTrail check the ACL and write under the folder.
            let b = local.bucket(bucket).map_err(StoreError::from_local)?;
            let now = time::OffsetDateTime::now_utc();
            let probe = format!("{folder}CloudTrail/");
            cairn_s3::access::cloudtrail_may(&b, trail_arn, "GetBucketAcl", None, now)
                .and_then(|()| cairn_s3::access::cloudtrail_may(&b, trail_arn, "PutObject", Some(&probe), now))
                .map_err(|_| {
                    StoreError::new(
                        "AccessDenied",
                        format!("the policy of bucket {bucket} does not let CloudTrail deliver there"),
                    )
                })?;
            // With a key, CloudTrail must be able to generate data keys for this trail (nothing is written).
            if let (Some(kms_key), StorageConfig::Local { kms, .. }) = (kms_key, &self.config) {
                seal_for_trail(kms, kms_key, trail_arn, b"", now)?;
            }
            return Ok(());
        }
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Distinct per check: concurrent checks must not remove each other's object.
        let key = format!("{folder}cairn-write-check-{}-{n}", std::process::id());
        self.put(bucket, &key, Bytes::from_static(b"cairn checks that it can deliver here\n"), kms_key, trail_arn, &[])
            .await?;
        let store = self.store(bucket, None)?;
        let path = ObjectPath::parse(&key).map_err(|e| StoreError::new("InvalidArgument", e.to_string()))?;
        let encrypted = match kms_key {
            Some(_) => self.sse_kms_confirmed(bucket, &path).await,
            None => Ok(()),
        };
        let removed = self
            .on_runtime(async move { store.delete(&path).await.map_err(|e| StoreError::from_object_store(&e)) })
            .await;
        if let Err(e) = removed {
            tracing::warn!(bucket, key, error = %e, "cannot remove the write-check object");
        }
        encrypted
    }

    /// Asks the S3 server (HEAD through a presigned URL) whether the object is stored with SSE-KMS.
    async fn sse_kms_confirmed(&self, bucket: &str, path: &ObjectPath) -> Result<(), StoreError> {
        let StorageConfig::S3 { endpoint, region, access_key_id, secret_access_key, force_path_style } = &self.config
        else {
            return Err(StoreError::new("NotImplemented", "local buckets cannot encrypt with a KMS key"));
        };
        let signer = AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_region(region)
            .with_bucket_name(bucket)
            .with_access_key_id(access_key_id)
            .with_secret_access_key(secret_access_key)
            .with_virtual_hosted_style_request(!force_path_style)
            .with_allow_http(true)
            .build()
            .map_err(|e| StoreError::from_object_store(&e))?;
        let path = path.clone();
        self.on_runtime(async move {
            let url =
                object_store::signer::Signer::signed_url(&signer, http::Method::HEAD, &path, Duration::from_secs(300))
                    .await
                    .map_err(|e| StoreError::from_object_store(&e))?;
            let head = reqwest::Client::new()
                .head(url)
                .send()
                .await
                .map_err(|e| StoreError::new("ServiceUnavailable", e.to_string()))?;
            let sse = head.headers().get("x-amz-server-side-encryption").and_then(|v| v.to_str().ok());
            if head.status().is_success() && sse == Some("aws:kms") {
                Ok(())
            } else {
                Err(StoreError::new(
                    "KMS.NotEncrypted",
                    format!(
                        "the server did not store the object with SSE-KMS (status {}, encryption {sse:?})",
                        head.status()
                    ),
                ))
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_come_from_s3_bodies() {
        let text = "Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Forbidden</Message></Error>";
        assert_eq!(xml_code(text), Some("AccessDenied"));
        assert_eq!(xml_code("no body"), None);
        assert_eq!(xml_code("<Code></Code>"), None);
    }

    #[test]
    fn kinds_are_decided_by_code() {
        let kind = |code: &str| StoreError::new(code, "").kind();
        assert_eq!(kind("NoSuchBucket"), StoreErrorKind::NoSuchBucket);
        assert_eq!(kind("AllAccessDisabled"), StoreErrorKind::AccessDenied);
        assert_eq!(kind("KMS.NotFoundException"), StoreErrorKind::Kms);
        assert_eq!(kind("SlowDown"), StoreErrorKind::Unreachable);
        assert_eq!(kind("InvalidAccessKeyId"), StoreErrorKind::Other);
    }

    #[tokio::test]
    async fn a_storage_nobody_answers_at_is_unreachable() {
        // A port just bound and released: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let storage = Storage::open(StorageConfig::S3 {
            endpoint: format!("http://127.0.0.1:{port}"),
            region: "us-east-1".into(),
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "secret".into(),
            force_path_style: true,
        })
        .unwrap();
        let err = storage
            .put("b", "k", Bytes::from_static(b"x"), None, "arn:aws:cloudtrail:us-east-1:1:trail/t", &[])
            .await
            .unwrap_err();
        assert_eq!((err.code.as_str(), err.kind()), ("ServiceUnavailable", StoreErrorKind::Unreachable), "{err}");
    }

    #[tokio::test]
    async fn local_buckets_are_cairns_own() {
        let root = std::env::temp_dir().join(format!("cairn-storage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let local = cairn_s3::Store::open(&root).unwrap();
        let kms = Arc::new(cairn_kms::Kms::open(&root.join("kms")).unwrap());
        let storage = Storage::open(StorageConfig::Local { store: local.clone(), kms: Arc::clone(&kms) }).unwrap();
        assert!(!storage.bucket_exists("b").await.unwrap());
        let trail = "arn:aws:cloudtrail:us-east-1:111122223333:trail/t";
        let err = storage.put("b", "k", Bytes::from_static(b"x"), None, trail, &[]).await.unwrap_err();
        assert_eq!(err.code, "NoSuchBucket");
        local.create_bucket("b", "111122223333", "us-east-1", 0).unwrap();
        assert!(storage.bucket_exists("b").await.unwrap());
        // Without a policy that admits CloudTrail, nothing is written, even to the owner's bucket.
        assert_eq!(
            storage.check_write("b", "AWSLogs/111122223333/", None, trail).await.unwrap_err().code,
            "AccessDenied"
        );
        let denied =
            storage.put("b", "AWSLogs/1/CloudTrail/f.json.gz", Bytes::from_static(b"data"), None, trail, &[]).await;
        assert_eq!(denied.unwrap_err().code, "AccessDenied");
        local.set_policy("b", Some(&cairn_s3::access::cloudtrail_policy_for_any_trail("b"))).unwrap();
        storage.check_write("b", "AWSLogs/111122223333/", None, trail).await.unwrap();
        storage
            .put("b", "AWSLogs/1/CloudTrail/f.json.gz", Bytes::from_static(b"data"), None, trail, &[])
            .await
            .unwrap();
        assert_eq!(&storage.get("b", "AWSLogs/1/CloudTrail/f.json.gz").await.unwrap()[..], b"data");
        assert_eq!(storage.list("b", "AWSLogs").await.unwrap(), vec!["AWSLogs/1/CloudTrail/f.json.gz".to_string()]);
        let o = local.head("b", "AWSLogs/1/CloudTrail/f.json.gz").unwrap();
        assert_eq!(
            (o.meta.writer.as_str(), o.meta.acl.as_deref()),
            ("111122223333", Some("bucket-owner-full-control"))
        );

        // SSE-KMS: sealed under a data key CloudTrail generates for the trail; refusals keep KMS's code.
        let missing = storage
            .put(
                "b",
                "AWSLogs/1/e",
                Bytes::from_static(b"x"),
                Some("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
                trail,
                &[],
            )
            .await;
        assert_eq!(missing.unwrap_err().code, "KMS.NotFoundException");
        let owner = cairn_policy::RequestFacts {
            caller: cairn_policy::Caller::Account {
                account: "111122223333".into(),
                arn: "arn:aws:iam::111122223333:root".into(),
                organization: None,
            },
            source_ip: None,
            secure_transport: true,
            now: time::OffsetDateTime::now_utc(),
        };
        let call = cairn_kms::Call { facts: &owner, region: "us-east-1", via_service: None };
        let create = |policy: String| {
            let out = kms.call(
                &call,
                cairn_kms::Operation::CreateKey,
                serde_json::json!({"Policy": policy}).to_string().as_bytes(),
            );
            let v: serde_json::Value = serde_json::from_slice(&out.unwrap()).unwrap();
            v["KeyMetadata"]["Arn"].as_str().unwrap().to_string()
        };
        let key = create(cairn_kms::policy::cloudtrail_policy(trail));
        storage.check_write("b", "AWSLogs/111122223333/", Some(&key), trail).await.unwrap();
        storage.put("b", "AWSLogs/1/e", Bytes::from_static(b"secret log"), Some(&key), trail, &[]).await.unwrap();
        let o = local.head("b", "AWSLogs/1/e").unwrap();
        assert_eq!((o.size, o.meta.sse.as_ref().map(|s| s.key_arn.as_str())), (10, Some(key.as_str())));
        let (_, stored) = local.get_bytes("b", "AWSLogs/1/e").await.unwrap();
        assert!(!stored.windows(10).any(|w| w == b"secret log"), "nothing is written in plaintext");
        let plain = cairn_s3::sse::open(&kms, &call, o.meta.sse.as_ref().unwrap(), &stored).unwrap();
        assert_eq!(plain, b"secret log");
        let default_only = create(cairn_kms::policy::default_policy("111122223333"));
        let denied = storage.check_write("b", "AWSLogs/111122223333/", Some(&default_only), trail).await;
        assert_eq!(denied.unwrap_err().code, "KMS.AccessDeniedException");
        let id = key.rsplit('/').next().unwrap();
        kms.call(&call, cairn_kms::Operation::DisableKey, format!(r#"{{"KeyId":"{id}"}}"#).as_bytes()).unwrap();
        let disabled = storage.put("b", "AWSLogs/1/f", Bytes::from_static(b"x"), Some(&key), trail, &[]).await;
        assert_eq!(disabled.unwrap_err().code, "KMS.DisabledException");
        assert!(local.head("b", "AWSLogs/1/f").is_err(), "a refused write writes nothing");
        std::fs::remove_dir_all(root).unwrap();
    }
}
