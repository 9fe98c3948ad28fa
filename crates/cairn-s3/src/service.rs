//! The S3 protocol over the bucket store: `s3s` parses requests, checks SigV4 with the secrets the [`Directory`]
//! gives, and serializes S3's XML; each operation here authorizes the caller against the bucket (see [`access`])
//! and then acts on the [`Store`].

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, S3};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::access::{self, Caller, RequestFacts};
use crate::error::StoreError;
use crate::store::{self, ObjectMeta, Store};

/// What the server knows about credentials and accounts.
pub trait Directory: Send + Sync + std::fmt::Debug + 'static {
    /// The secret key of an access key, for SigV4.
    fn secret(&self, access_key: &str) -> Option<String>;
    /// The account and principal ARN an access key acts as.
    fn principal(&self, access_key: &str) -> Option<(String, String)>;
    /// The organization an account belongs to.
    fn organization(&self, account: &str) -> Option<String>;
    /// Milliseconds since the epoch, by the server's clock.
    fn now_ms(&self) -> i64;
}

/// The client's address, which the server puts in the request's extensions (for `aws:SourceIp`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub IpAddr);

/// What the endpoint learned of a request once it was authenticated and its operation known: the server records
/// the call from it. Put an empty [`ParsedSlot`] in the request's extensions to receive it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// S3's operation name (`GetObject`, `ListObjectsV2` ...).
    pub operation: String,
    pub bucket: Option<String>,
    pub key: Option<String>,
    /// The access key that signed the request; None for an anonymous one.
    pub access_key: Option<String>,
}

/// Where the endpoint leaves a request's [`Parsed`].
#[derive(Debug, Clone, Default)]
pub struct ParsedSlot(Arc<std::sync::Mutex<Option<Parsed>>>);

impl ParsedSlot {
    /// What was left for this request, if it reached an operation.
    pub fn take(&self) -> Option<Parsed> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// cairn's S3 endpoint.
#[derive(Debug, Clone)]
pub struct Buckets {
    store: Store,
    directory: Arc<dyn Directory>,
    kms: Arc<cairn_kms::Kms>,
}

/// SigV4 through the directory.
#[derive(Debug)]
struct Auth(Arc<dyn Directory>);

#[async_trait::async_trait]
impl s3s::auth::S3Auth for Auth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<s3s::auth::SecretKey> {
        match self.0.secret(access_key) {
            Some(s) => Ok(s.into()),
            None => Err(S3Error::with_message(
                S3ErrorCode::InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records.",
            )),
        }
    }
}

/// Virtual-host addressing: a Host of `<bucket>.<domain>` (any port) names the bucket; any other host (an address,
/// `localhost`, another name) is path-style.
#[derive(Debug)]
struct VirtualHosts(Vec<String>);

impl s3s::host::S3Host for VirtualHosts {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<s3s::host::VirtualHost<'a>> {
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        let bucket = self.0.iter().find_map(|d| {
            let cut = name.len().checked_sub(d.len() + 1).filter(|n| *n > 0)?;
            let (bucket, rest) = (name.get(..cut)?, name.get(cut..)?);
            rest.strip_prefix('.').filter(|r| r.eq_ignore_ascii_case(d)).map(|_| bucket)
        });
        Ok(match bucket {
            Some(b) => s3s::host::VirtualHost::new(host).with_bucket(b),
            None => s3s::host::VirtualHost::new(host),
        })
    }
}

/// Anonymous requests reach the operations, which refuse what the bucket policy does not grant.
#[derive(Debug)]
struct Admit;

#[async_trait::async_trait]
impl s3s::access::S3Access for Admit {
    async fn check(&self, cx: &mut s3s::access::S3AccessContext<'_>) -> S3Result<()> {
        let (bucket, key) = match cx.s3_path() {
            s3s::path::S3Path::Root => (None, None),
            s3s::path::S3Path::Bucket { bucket } => (Some(bucket.to_string()), None),
            s3s::path::S3Path::Object { bucket, key } => (Some(bucket.to_string()), Some(key.to_string())),
        };
        let parsed = Parsed {
            operation: cx.s3_op().name().to_string(),
            bucket,
            key,
            access_key: cx.credentials().map(|c| c.access_key.clone()),
        };
        if let Some(slot) = cx.extensions_mut().get::<ParsedSlot>() {
            *slot.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(parsed);
        }
        Ok(())
    }
}

impl Buckets {
    pub fn new(store: Store, directory: Arc<dyn Directory>, kms: Arc<cairn_kms::Kms>) -> Buckets {
        Buckets { store, directory, kms }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The HTTP service for S3 requests: path-style, and virtual-host style under `domains`
    /// (`<bucket>.<domain>[:port]`).
    pub fn service(&self, domains: &[String]) -> s3s::service::S3Service {
        let mut b = s3s::service::S3ServiceBuilder::new(self.clone());
        b.set_host(VirtualHosts(domains.iter().map(|d| d.to_ascii_lowercase()).collect()));
        b.set_auth(Auth(Arc::clone(&self.directory)));
        b.set_access(Admit);
        b.build()
    }

    fn facts<T>(&self, req: &S3Request<T>) -> S3Result<RequestFacts> {
        let caller = match &req.credentials {
            None => Caller::Anonymous,
            Some(c) => {
                let (account, arn) = self.directory.principal(&c.access_key).ok_or_else(|| {
                    S3Error::with_message(
                        S3ErrorCode::InvalidAccessKeyId,
                        "The AWS Access Key Id you provided does not exist in our records.",
                    )
                })?;
                let organization = self.directory.organization(&account);
                Caller::Account { account, arn, organization }
            }
        };
        Ok(RequestFacts {
            caller,
            source_ip: req.extensions.get::<Peer>().map(|p| p.0),
            secure_transport: req.uri.scheme_str() == Some("https"),
            now: now(self.directory.now_ms()),
        })
    }

    /// The bucket, after checking `s3:<action>` on `key` (or the bucket itself).
    fn authorized(
        &self,
        facts: &RequestFacts,
        bucket: &str,
        key: Option<&str>,
        action: &str,
        extra: &[(&str, String)],
    ) -> S3Result<store::Bucket> {
        let b = match self.store.bucket(bucket) {
            Ok(b) => b,
            // Only a signed caller learns whether a bucket exists.
            Err(e) if facts.caller.account().is_some() => return Err(e.into()),
            Err(_) => return Err(S3Error::with_message(S3ErrorCode::AccessDenied, "Access Denied")),
        };
        access::authorize(&b, facts, action, &access::resource_arn(bucket, key), extra)?;
        Ok(b)
    }

    /// The bucket and the object, after authorizing `s3:GetObject` on it and checking the request's If-Match and
    /// If-None-Match (`etags`), If-Modified-Since and If-Unmodified-Since (`times`).
    fn readable(
        &self,
        facts: &RequestFacts,
        bucket: &str,
        key: &str,
        etags: [Option<&ETagCondition>; 2],
        times: [Option<&Timestamp>; 2],
    ) -> S3Result<(store::Bucket, store::Object)> {
        let b = self.authorized(facts, bucket, Some(key), "GetObject", &[])?;
        let o = self.store.head(bucket, key)?;
        preconditions(&o, etags[0], etags[1], times[0], times[1])?;
        Ok((b, o))
    }

    /// A KMS call made by S3 for the caller, in the bucket's region.
    fn kms_call<'a>(facts: &'a RequestFacts, region: &'a str, via: &'a str) -> cairn_kms::Call<'a> {
        cairn_kms::Call { facts, region, via_service: Some(via) }
    }

    /// An object's bytes as the caller reads them: SSE-KMS objects are decrypted, if KMS decrypts their data key
    /// for the caller.
    async fn plaintext(&self, facts: &RequestFacts, bucket: &store::Bucket, o: &store::Object) -> S3Result<Bytes> {
        if o.meta.sse.is_some() && facts.caller == Caller::Anonymous {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Requests specifying Server Side Encryption with AWS KMS managed keys require AWS Signature Version 4.",
            ));
        }
        // The file this index entry points at, even if the key is replaced meanwhile.
        let mut file = self.store.open_object(&bucket.name, o).await?;
        let mut stored = Vec::new();
        file.read_to_end(&mut stored).await.map_err(StoreError::from)?;
        let Some(sse) = &o.meta.sse else { return Ok(stored.into()) };
        let via = format!("s3.{}.amazonaws.com", bucket.region);
        let key_region = sse.key_arn.split(':').nth(3).unwrap_or(&bucket.region);
        let call = Self::kms_call(facts, key_region, &via);
        crate::sse::open(&self.kms, &call, sse, &stored).map(Bytes::from).map_err(crate::sse::s3_error)
    }

    /// Writes an object from memory, sealed under `kms_key` when given.
    async fn write_bytes(
        &self,
        facts: &RequestFacts,
        bucket: &store::Bucket,
        key: &str,
        body: Bytes,
        meta: ObjectMeta,
        kms_key: Option<&str>,
    ) -> S3Result<store::Object> {
        let now = self.directory.now_ms();
        let Some(kms_key) = kms_key else {
            return Ok(self.store.put_bytes(&bucket.name, key, body, meta, now).await?);
        };
        let via = format!("s3.{}.amazonaws.com", bucket.region);
        let call = Self::kms_call(facts, &bucket.region, &via);
        let context = [("aws:s3:arn".to_string(), access::resource_arn(&bucket.name, Some(key)))].into();
        let (sealed, sse) =
            crate::sse::seal(&self.kms, &call, kms_key, context, &body).map_err(crate::sse::s3_error)?;
        let meta = ObjectMeta { sse: Some(sse), ..meta };
        Ok(self.store.put_sealed(&bucket.name, key, sealed.into(), &body, meta, now).await?)
    }

    fn signed(facts: &RequestFacts) -> S3Result<&str> {
        facts.caller.account().ok_or_else(|| S3Error::with_message(S3ErrorCode::AccessDenied, "Access Denied"))
    }
}

fn now(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from(now(ms))
}

fn etag(hex: &str) -> ETag {
    ETag::Strong(hex.to_string())
}

/// S3's canonical user id for an account.
fn canonical_id(account: &str) -> String {
    use md5::{Digest, Md5};
    let a = Md5::digest(format!("cairn-canonical:{account}").as_bytes());
    let b = Md5::digest(a);
    a.iter().chain(b.iter()).map(|x| format!("{x:02x}")).collect()
}

fn owner(account: &str) -> Owner {
    Owner { display_name: Some(account.to_string()), id: Some(canonical_id(account)) }
}

fn meta_from(writer: &str, content_type: Option<String>, user: Option<Metadata>, acl: Option<String>) -> ObjectMeta {
    ObjectMeta {
        content_type,
        user: user.unwrap_or_default().into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect(),
        acl,
        writer: writer.to_string(),
        sse: None,
    }
}

/// S3 condition keys a request sets, for the bucket policy.
type ConditionKeys = Vec<(&'static str, String)>;

/// The largest object written with SSE-KMS through the S3 API: it is sealed in memory.
const MAX_SSE_PUT_BYTES: usize = 256 << 20;

/// The KMS key a write asks to be encrypted with (`x-amz-server-side-encryption: aws:kms` and its key id), and the
/// condition keys the request sets for the bucket policy.
fn sse_request(
    sse: Option<&ServerSideEncryption>,
    key: Option<&SSEKMSKeyId>,
) -> S3Result<(Option<String>, ConditionKeys)> {
    let mut extra = Vec::new();
    if let Some(s) = sse {
        extra.push(("s3:x-amz-server-side-encryption", s.as_str().to_string()));
    }
    if let Some(k) = key {
        extra.push(("s3:x-amz-server-side-encryption-aws-kms-key-id", k.clone()));
    }
    match sse.map(ServerSideEncryption::as_str) {
        None if key.is_some() => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Server Side Encryption with KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
        )),
        None => Ok((None, extra)),
        Some(ServerSideEncryption::AWS_KMS) => match key {
            Some(k) => Ok((Some(k.clone()), extra)),
            None => Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "cairn has no AWS managed keys: name the KMS key with x-amz-server-side-encryption-aws-kms-key-id",
            )),
        },
        Some(other) => Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            format!("server-side encryption {other} is not supported by cairn; use aws:kms"),
        )),
    }
}

/// The `x-amz-server-side-encryption` and key id headers of an SSE-KMS object.
fn sse_headers(o: &store::Object) -> (Option<ServerSideEncryption>, Option<SSEKMSKeyId>) {
    match &o.meta.sse {
        Some(sse) => {
            (Some(ServerSideEncryption::from_static(ServerSideEncryption::AWS_KMS)), Some(sse.key_arn.clone()))
        }
        None => (None, None),
    }
}

/// Reads a request body into memory, refusing one over `max` bytes.
async fn collect(mut body: futures::stream::BoxStream<'static, Result<Bytes, String>>, max: usize) -> S3Result<Bytes> {
    let mut out = bytes::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| S3Error::with_message(S3ErrorCode::IncompleteBody, e))?;
        if out.len() + chunk.len() > max {
            return Err(S3Error::with_message(
                S3ErrorCode::EntityTooLarge,
                format!("objects written with SSE-KMS are at most {max} bytes in cairn"),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

/// The object's Content-Type, S3's default when it was written without one.
fn content_type(o: &store::Object) -> String {
    o.meta.content_type.clone().unwrap_or_else(|| "binary/octet-stream".into())
}

/// The object's `x-amz-meta-*` values, if it has any.
fn user_metadata(o: &store::Object) -> Option<Metadata> {
    (!o.meta.user.is_empty()).then(|| o.meta.user.clone().into_iter().collect())
}

/// The canned ACL of a write, and the `s3:x-amz-acl` condition key it sets.
fn canned_acl(acl: Option<&ObjectCannedACL>) -> (Option<String>, Vec<(&'static str, String)>) {
    let acl = acl.map(|a| a.as_str().to_string());
    let extra = acl.iter().map(|a| ("s3:x-amz-acl", a.clone())).collect();
    (acl, extra)
}

fn body_stream(body: Option<StreamingBlob>) -> futures::stream::BoxStream<'static, Result<Bytes, String>> {
    match body {
        Some(b) => b.map(|r| r.map_err(|e| e.to_string())).boxed(),
        None => futures::stream::empty().boxed(),
    }
}

/// A stream of `len` bytes of `file` from its current position, in 64 KiB chunks.
fn file_stream(file: tokio::fs::File, len: u64) -> StreamingBlob {
    let stream = futures::stream::unfold((file, len), |(mut file, left)| async move {
        if left == 0 {
            return None;
        }
        let mut buf = vec![0u8; left.min(64 * 1024) as usize];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buf)), (file, left - n as u64)))
            }
            Err(e) => Some((Err(e), (file, 0))),
        }
    });
    StreamingBlob::wrap(stream)
}

/// Checks If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since as S3 does.
fn preconditions(
    object: &store::Object,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> S3Result<()> {
    let matches = |c: &ETagCondition| match c {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == object.etag,
    };
    let modified = now(object.modified_ms).replace_nanosecond(0).unwrap_or(now(object.modified_ms));
    let time_of = |t: &Timestamp| OffsetDateTime::from(t.clone());
    if let Some(c) = if_match {
        if !matches(c) {
            return Err(S3Error::with_message(
                S3ErrorCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            ));
        }
    } else if let Some(t) = if_unmodified_since {
        if modified > time_of(t) {
            return Err(S3Error::with_message(
                S3ErrorCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            ));
        }
    }
    let not_modified = || {
        let mut e = S3Error::new(S3ErrorCode::NotModified);
        e.set_status_code(http::StatusCode::NOT_MODIFIED);
        e
    };
    if let Some(c) = if_none_match {
        if matches(c) {
            return Err(not_modified());
        }
    } else if let Some(t) = if_modified_since {
        if modified <= time_of(t) {
            return Err(not_modified());
        }
    }
    Ok(())
}

fn max_keys(n: Option<i32>) -> S3Result<usize> {
    match n {
        None => Ok(1000),
        Some(n) if n < 0 => Err(S3Error::with_message(S3ErrorCode::InvalidArgument, "max-keys cannot be negative")),
        Some(n) => Ok((n as usize).min(1000)),
    }
}

fn list_extra(prefix: &Option<String>, delimiter: &Option<String>, max: usize) -> Vec<(&'static str, String)> {
    let mut extra = vec![("s3:max-keys", max.to_string())];
    if let Some(p) = prefix {
        extra.push(("s3:prefix", p.clone()));
    }
    if let Some(d) = delimiter {
        extra.push(("s3:delimiter", d.clone()));
    }
    extra
}

fn object_dto(o: &store::Object, fetch_owner: bool) -> Object {
    Object {
        key: Some(o.key.clone()),
        size: Some(o.size as i64),
        e_tag: Some(etag(&o.etag)),
        last_modified: Some(ts(o.modified_ms)),
        storage_class: Some(ObjectStorageClass::from_static(ObjectStorageClass::STANDARD)),
        owner: fetch_owner.then(|| owner(&o.meta.writer)),
        ..Default::default()
    }
}

fn prefixes_dto(prefixes: Vec<String>) -> Option<Vec<CommonPrefix>> {
    (!prefixes.is_empty()).then(|| prefixes.into_iter().map(|p| CommonPrefix { prefix: Some(p) }).collect())
}

/// Continuation tokens are the last key of the page, hex-encoded (opaque to clients, as S3's are).
fn encode_token(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_token(token: &str) -> S3Result<String> {
    let bad = || S3Error::with_message(S3ErrorCode::InvalidArgument, "The continuation token provided is incorrect");
    if !token.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes: Option<Vec<u8>> =
        (0..token.len() / 2).map(|i| u8::from_str_radix(token.get(2 * i..2 * i + 2)?, 16).ok()).collect();
    String::from_utf8(bytes.ok_or_else(bad)?).map_err(|_| bad())
}

#[async_trait::async_trait]
impl S3 for Buckets {
    async fn list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        let facts = self.facts(&req)?;
        let account = Self::signed(&facts)?;
        let prefix = req.input.prefix.clone().unwrap_or_default();
        let buckets: Vec<Bucket> = self
            .store
            .buckets()?
            .into_iter()
            .filter(|b| b.owner == account && b.name.starts_with(&prefix))
            .filter(|b| req.input.bucket_region.as_ref().is_none_or(|r| *r == b.region))
            .map(|b| Bucket {
                name: Some(b.name),
                creation_date: Some(ts(b.created_ms)),
                bucket_region: Some(b.region),
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(owner(account)),
            prefix: req.input.prefix,
            ..Default::default()
        }))
    }

    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        let facts = self.facts(&req)?;
        let account = Self::signed(&facts)?.to_string();
        let signing_region = req.region.as_ref().map_or("us-east-1".to_string(), |r| r.to_string());
        let constraint = req
            .input
            .create_bucket_configuration
            .as_ref()
            .and_then(|c| c.location_constraint.as_ref())
            .map(|c| c.as_str().to_string());
        let region = match constraint.as_deref() {
            None | Some("") => "us-east-1".to_string(),
            Some("EU") => "eu-west-1".to_string(),
            Some(r) => r.to_string(),
        };
        // A bucket is made in the region the request was signed for, as a regional endpoint makes it.
        if region != signing_region {
            let asked = constraint.as_deref().filter(|c| !c.is_empty()).unwrap_or("unspecified");
            return Err(S3Error::with_message(
                S3ErrorCode::IllegalLocationConstraintException,
                format!("The {asked} location constraint is incompatible for the region specific endpoint this request was sent to."),
            ));
        }
        let name = req.input.bucket.clone();
        match self.store.create_bucket(&name, &account, &region, self.directory.now_ms()) {
            Ok(_) => {}
            // us-east-1 answers a repeated create by the owner with success.
            Err(StoreError::BucketAlreadyOwnedByYou) if region == "us-east-1" => {}
            Err(e) => return Err(e.into()),
        }
        Ok(S3Response::new(CreateBucketOutput { location: Some(format!("/{name}")) }))
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        let facts = self.facts(&req)?;
        self.authorized(&facts, &req.input.bucket, None, "DeleteBucket", &[])?;
        self.store.delete_bucket(&req.input.bucket)?;
        Ok(S3Response::new(DeleteBucketOutput::default()))
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        let facts = self.facts(&req)?;
        let b = self.authorized(&facts, &req.input.bucket, None, "ListBucket", &[])?;
        Ok(S3Response::new(HeadBucketOutput { bucket_region: Some(b.region), ..Default::default() }))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let facts = self.facts(&req)?;
        let b = self.authorized(&facts, &req.input.bucket, None, "GetBucketLocation", &[])?;
        // us-east-1 is reported as no constraint, as S3 does.
        let constraint = (b.region != "us-east-1").then(|| BucketLocationConstraint::from(b.region));
        Ok(S3Response::new(GetBucketLocationOutput { location_constraint: constraint }))
    }

    async fn get_bucket_acl(&self, req: S3Request<GetBucketAclInput>) -> S3Result<S3Response<GetBucketAclOutput>> {
        let facts = self.facts(&req)?;
        let b = self.authorized(&facts, &req.input.bucket, None, "GetBucketAcl", &[])?;
        let grant = Grant {
            grantee: Some(Grantee {
                display_name: Some(b.owner.clone()),
                email_address: None,
                id: Some(canonical_id(&b.owner)),
                type_: Type::from_static(Type::CANONICAL_USER),
                uri: None,
            }),
            permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
        };
        Ok(S3Response::new(GetBucketAclOutput { grants: Some(vec![grant]), owner: Some(owner(&b.owner)) }))
    }

    async fn put_bucket_policy(
        &self,
        req: S3Request<PutBucketPolicyInput>,
    ) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        let facts = self.facts(&req)?;
        self.authorized(&facts, &req.input.bucket, None, "PutBucketPolicy", &[])?;
        access::parse_bucket_policy(&req.input.bucket, &req.input.policy)?;
        self.store.set_policy(&req.input.bucket, Some(&req.input.policy))?;
        let mut resp = S3Response::new(PutBucketPolicyOutput::default());
        resp.status = Some(http::StatusCode::NO_CONTENT);
        Ok(resp)
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        let facts = self.facts(&req)?;
        let b = self.authorized(&facts, &req.input.bucket, None, "GetBucketPolicy", &[])?;
        let policy = b.policy.ok_or(StoreError::NoSuchBucketPolicy)?;
        Ok(S3Response::new(GetBucketPolicyOutput { policy: Some(policy) }))
    }

    async fn delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
        let facts = self.facts(&req)?;
        self.authorized(&facts, &req.input.bucket, None, "DeleteBucketPolicy", &[])?;
        self.store.set_policy(&req.input.bucket, None)?;
        let mut resp = S3Response::new(DeleteBucketPolicyOutput::default());
        resp.status = Some(http::StatusCode::NO_CONTENT);
        Ok(resp)
    }

    async fn get_bucket_policy_status(
        &self,
        req: S3Request<GetBucketPolicyStatusInput>,
    ) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
        let facts = self.facts(&req)?;
        let b = self.authorized(&facts, &req.input.bucket, None, "GetBucketPolicyStatus", &[])?;
        let text = b.policy.ok_or(StoreError::NoSuchBucketPolicy)?;
        let policy = access::parse_bucket_policy(&b.name, &text)?;
        Ok(S3Response::new(GetBucketPolicyStatusOutput {
            policy_status: Some(PolicyStatus { is_public: Some(access::is_public(&policy)) }),
        }))
    }

    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        let facts = self.facts(&req)?;
        let i = &req.input;
        let max = max_keys(i.max_keys)?;
        self.authorized(&facts, &i.bucket, None, "ListBucket", &list_extra(&i.prefix, &i.delimiter, max))?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let page = self.store.list(
            &i.bucket,
            &prefix,
            i.delimiter.as_deref(),
            i.marker.as_deref().filter(|m| !m.is_empty()),
            max,
        )?;
        // NextMarker is given only with a delimiter, as S3 does (without one, clients continue from the last key).
        let next_marker = (page.truncated && i.delimiter.is_some()).then(|| page.last.clone()).flatten();
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(i.bucket.clone()),
            prefix: Some(prefix),
            marker: Some(i.marker.clone().unwrap_or_default()),
            max_keys: Some(max as i32),
            delimiter: i.delimiter.clone(),
            is_truncated: Some(page.truncated),
            next_marker,
            contents: Some(page.objects.iter().map(|o| object_dto(o, true)).collect()),
            common_prefixes: prefixes_dto(page.prefixes),
            encoding_type: i.encoding_type.clone(),
            ..Default::default()
        }))
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        let facts = self.facts(&req)?;
        let i = &req.input;
        let max = max_keys(i.max_keys)?;
        self.authorized(&facts, &i.bucket, None, "ListBucket", &list_extra(&i.prefix, &i.delimiter, max))?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let after = match &i.continuation_token {
            Some(t) => Some(decode_token(t)?),
            None => i.start_after.clone().filter(|s| !s.is_empty()),
        };
        let page = self.store.list(&i.bucket, &prefix, i.delimiter.as_deref(), after.as_deref(), max)?;
        let count = page.objects.len() + page.prefixes.len();
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(i.bucket.clone()),
            prefix: Some(prefix),
            max_keys: Some(max as i32),
            key_count: Some(count as i32),
            continuation_token: i.continuation_token.clone(),
            is_truncated: Some(page.truncated),
            next_continuation_token: page.truncated.then(|| page.last.as_deref().map(encode_token)).flatten(),
            contents: Some(page.objects.iter().map(|o| object_dto(o, i.fetch_owner == Some(true))).collect()),
            common_prefixes: prefixes_dto(page.prefixes),
            delimiter: i.delimiter.clone(),
            encoding_type: i.encoding_type.clone(),
            start_after: i.start_after.clone(),
            ..Default::default()
        }))
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let facts = self.facts(&req)?;
        let i = &req.input;
        let (bucket, o) = self.readable(
            &facts,
            &i.bucket,
            &i.key,
            [i.if_match.as_ref(), i.if_none_match.as_ref()],
            [i.if_modified_since.as_ref(), i.if_unmodified_since.as_ref()],
        )?;
        let range = match &i.range {
            Some(r) => Some(r.check(o.size).map_err(|_| {
                S3Error::with_message(S3ErrorCode::InvalidRange, "The requested range is not satisfiable")
            })?),
            None => None,
        };
        let (start, len) = range.as_ref().map_or((0, o.size), |r| (r.start, r.end - r.start));
        let body = if o.meta.sse.is_some() {
            let plain = self.plaintext(&facts, &bucket, &o).await?;
            let part = plain.slice(start as usize..(start + len) as usize);
            StreamingBlob::wrap(futures::stream::iter([Ok::<_, std::io::Error>(part)]))
        } else {
            let mut file = self.store.open_object(&i.bucket, &o).await?;
            if start > 0 {
                file.seek(std::io::SeekFrom::Start(start)).await.map_err(StoreError::from)?;
            }
            file_stream(file, len)
        };
        let (server_side_encryption, ssekms_key_id) = sse_headers(&o);
        Ok(S3Response::new(GetObjectOutput {
            body: Some(body),
            server_side_encryption,
            ssekms_key_id,
            accept_ranges: Some("bytes".into()),
            content_length: Some(len as i64),
            content_range: range.map(|r| format!("bytes {}-{}/{}", r.start, r.end.saturating_sub(1), o.size)),
            content_type: Some(content_type(&o)),
            e_tag: Some(etag(&o.etag)),
            last_modified: Some(ts(o.modified_ms)),
            metadata: user_metadata(&o),
            ..Default::default()
        }))
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        let facts = self.facts(&req)?;
        let i = &req.input;
        let (_, o) = self.readable(
            &facts,
            &i.bucket,
            &i.key,
            [i.if_match.as_ref(), i.if_none_match.as_ref()],
            [i.if_modified_since.as_ref(), i.if_unmodified_since.as_ref()],
        )?;
        let (server_side_encryption, ssekms_key_id) = sse_headers(&o);
        Ok(S3Response::new(HeadObjectOutput {
            server_side_encryption,
            ssekms_key_id,
            accept_ranges: Some("bytes".into()),
            content_length: Some(o.size as i64),
            content_type: Some(content_type(&o)),
            e_tag: Some(etag(&o.etag)),
            last_modified: Some(ts(o.modified_ms)),
            metadata: user_metadata(&o),
            ..Default::default()
        }))
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let facts = self.facts(&req)?;
        let i = req.input;
        let (acl, mut extra) = canned_acl(i.acl.as_ref());
        let (kms_key, sse_extra) = sse_request(i.server_side_encryption.as_ref(), i.ssekms_key_id.as_ref())?;
        extra.extend(sse_extra);
        let bucket = self.authorized(&facts, &i.bucket, Some(&i.key), "PutObject", &extra)?;
        let writer = facts.caller.account().unwrap_or("anonymous").to_string();
        let meta = meta_from(&writer, i.content_type, i.metadata, acl);
        let o = match kms_key {
            None => self.store.put(&i.bucket, &i.key, body_stream(i.body), meta, self.directory.now_ms()).await?,
            Some(k) => {
                let body = collect(body_stream(i.body), MAX_SSE_PUT_BYTES).await?;
                self.write_bytes(&facts, &bucket, &i.key, body, meta, Some(&k)).await?
            }
        };
        let (server_side_encryption, ssekms_key_id) = sse_headers(&o);
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(etag(&o.etag)),
            server_side_encryption,
            ssekms_key_id,
            ..Default::default()
        }))
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        let facts = self.facts(&req)?;
        let i = req.input;
        let CopySource::Bucket { bucket: src_bucket, key: src_key, .. } = &i.copy_source else {
            return Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                "copying from an access point is not supported",
            ));
        };
        let src = self.authorized(&facts, src_bucket, Some(src_key), "GetObject", &[])?;
        let (acl, mut extra) = canned_acl(i.acl.as_ref());
        let (kms_key, sse_extra) = sse_request(i.server_side_encryption.as_ref(), i.ssekms_key_id.as_ref())?;
        extra.extend(sse_extra);
        let dst = self.authorized(&facts, &i.bucket, Some(&i.key), "PutObject", &extra)?;
        let source = self.store.head(src_bucket, src_key)?;
        let replace = i.metadata_directive.as_ref().is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        if !replace && **src_bucket == *i.bucket && **src_key == *i.key {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
            ));
        }
        let writer = facts.caller.account().unwrap_or("anonymous").to_string();
        let meta = if replace {
            meta_from(&writer, i.content_type, i.metadata, acl)
        } else {
            ObjectMeta { writer, acl, sse: None, ..source.meta.clone() }
        };
        // A plain copy copies the file; an encrypted source is decrypted for the caller, and the copy is encrypted
        // only if the request asks for it.
        let o = if source.meta.sse.is_none() && kms_key.is_none() {
            self.store.copy((src_bucket, &source), &i.bucket, &i.key, meta, self.directory.now_ms()).await?
        } else {
            let body = self.plaintext(&facts, &src, &source).await?;
            self.write_bytes(&facts, &dst, &i.key, body, meta, kms_key.as_deref()).await?
        };
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(etag(&o.etag)),
                last_modified: Some(ts(o.modified_ms)),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        let facts = self.facts(&req)?;
        let i = &req.input;
        self.authorized(&facts, &i.bucket, Some(&i.key), "DeleteObject", &[])?;
        self.store.delete(&i.bucket, &i.key).await?;
        let mut resp = S3Response::new(DeleteObjectOutput::default());
        resp.status = Some(http::StatusCode::NO_CONTENT);
        Ok(resp)
    }

    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let facts = self.facts(&req)?;
        let i = &req.input;
        if i.delete.objects.len() > 1000 {
            return Err(S3Error::with_message(
                S3ErrorCode::MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema",
            ));
        }
        let b = self.store.bucket(&i.bucket)?;
        let quiet = i.delete.quiet == Some(true);
        let (mut deleted, mut errors) = (Vec::new(), Vec::new());
        for id in &i.delete.objects {
            let outcome = match access::authorize(
                &b,
                &facts,
                "DeleteObject",
                &access::resource_arn(&i.bucket, Some(&id.key)),
                &[],
            ) {
                Ok(()) => self.store.delete(&i.bucket, &id.key).await.map(|_| ()).map_err(S3Error::from),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) if !quiet => deleted.push(DeletedObject { key: Some(id.key.clone()), ..Default::default() }),
                Ok(()) => {}
                Err(e) => errors.push(Error {
                    code: Some(e.code().as_str().to_string()),
                    key: Some(id.key.clone()),
                    message: e.message().map(str::to_string),
                    version_id: None,
                }),
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let facts = self.facts(&req)?;
        let i = req.input;
        if i.server_side_encryption.is_some() || i.ssekms_key_id.is_some() {
            // Never a plaintext object where encryption was asked for.
            return Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                "cairn does not encrypt multipart uploads: upload objects to be written with SSE-KMS with PutObject (the AWS CLI does so below its multipart threshold)",
            ));
        }
        let (acl, extra) = canned_acl(i.acl.as_ref());
        self.authorized(&facts, &i.bucket, Some(&i.key), "PutObject", &extra)?;
        let writer = facts.caller.account().unwrap_or("anonymous").to_string();
        let up = self.store.create_upload(
            &i.bucket,
            &i.key,
            meta_from(&writer, i.content_type, i.metadata, acl),
            self.directory.now_ms(),
        )?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(up.bucket),
            key: Some(up.key),
            upload_id: Some(up.id),
            ..Default::default()
        }))
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        let facts = self.facts(&req)?;
        let i = req.input;
        self.authorized(&facts, &i.bucket, Some(&i.key), "PutObject", &[])?;
        if !(1..=10_000).contains(&i.part_number) {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive",
            ));
        }
        let part = self
            .store
            .put_part(
                &i.bucket,
                &i.key,
                &i.upload_id,
                i.part_number as u32,
                body_stream(i.body),
                self.directory.now_ms(),
            )
            .await?;
        Ok(S3Response::new(UploadPartOutput { e_tag: Some(etag(&part.etag)), ..Default::default() }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let facts = self.facts(&req)?;
        let i = req.input;
        self.authorized(&facts, &i.bucket, Some(&i.key), "PutObject", &[])?;
        let parts: Vec<(u32, String)> = i
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                (p.part_number.unwrap_or(0).max(0) as u32, p.e_tag.map(|e| e.value().to_string()).unwrap_or_default())
            })
            .collect();
        let o = self.store.complete_upload(&i.bucket, &i.key, &i.upload_id, &parts, self.directory.now_ms()).await?;
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(i.bucket.clone()),
            key: Some(o.key.clone()),
            e_tag: Some(etag(&o.etag)),
            location: Some(format!("/{}/{}", i.bucket, o.key)),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let facts = self.facts(&req)?;
        let i = &req.input;
        self.authorized(&facts, &i.bucket, Some(&i.key), "AbortMultipartUpload", &[])?;
        self.store.abort_upload(&i.bucket, &i.key, &i.upload_id).await?;
        let mut resp = S3Response::new(AbortMultipartUploadOutput::default());
        resp.status = Some(http::StatusCode::NO_CONTENT);
        Ok(resp)
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        let facts = self.facts(&req)?;
        let i = &req.input;
        self.authorized(&facts, &i.bucket, Some(&i.key), "ListMultipartUploadParts", &[])?;
        let max = i.max_parts.map_or(1000, |m| m.clamp(0, 1000) as usize);
        let marker = i.part_number_marker.map_or(0, |m| m.max(0) as u32);
        let parts: Vec<store::Part> =
            self.store.parts(&i.bucket, &i.key, &i.upload_id)?.into_iter().filter(|p| p.number > marker).collect();
        let truncated = parts.len() > max;
        let page: Vec<store::Part> = parts.into_iter().take(max).collect();
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(i.bucket.clone()),
            key: Some(i.key.clone()),
            upload_id: Some(i.upload_id.clone()),
            max_parts: Some(max as i32),
            is_truncated: Some(truncated),
            part_number_marker: i.part_number_marker,
            next_part_number_marker: page.last().map(|p| p.number as i32),
            parts: Some(
                page.iter()
                    .map(|p| Part {
                        part_number: Some(p.number as i32),
                        size: Some(p.size as i64),
                        e_tag: Some(etag(&p.etag)),
                        last_modified: Some(ts(p.modified_ms)),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let facts = self.facts(&req)?;
        let i = &req.input;
        self.authorized(&facts, &i.bucket, None, "ListBucketMultipartUploads", &[])?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let max = i.max_uploads.map_or(1000, |m| m.clamp(0, 1000) as usize);
        let marker = i.key_marker.clone().unwrap_or_default();
        let all: Vec<store::Upload> = self
            .store
            .uploads(&i.bucket, &prefix)?
            .into_iter()
            .filter(|u| marker.is_empty() || u.key > marker)
            .collect();
        let truncated = all.len() > max;
        let page: Vec<store::Upload> = all.into_iter().take(max).collect();
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(i.bucket.clone()),
            prefix: Some(prefix),
            max_uploads: Some(max as i32),
            is_truncated: Some(truncated),
            key_marker: i.key_marker.clone(),
            next_key_marker: truncated.then(|| page.last().map(|u| u.key.clone())).flatten(),
            next_upload_id_marker: truncated.then(|| page.last().map(|u| u.id.clone())).flatten(),
            uploads: Some(
                page.iter()
                    .map(|u| MultipartUpload {
                        key: Some(u.key.clone()),
                        upload_id: Some(u.id.clone()),
                        initiated: Some(ts(u.initiated_ms)),
                        owner: Some(owner(&u.meta.writer)),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }))
    }
}

#[cfg(test)]
mod host_tests {
    use s3s::host::S3Host;

    #[test]
    fn virtual_hosts_name_buckets_under_their_domains_only() {
        let hosts = super::VirtualHosts(vec!["localhost".into(), "s3.example.com".into()]);
        let bucket = |h: &str| hosts.parse_host_header(h).unwrap().bucket().map(str::to_string);
        assert_eq!(bucket("logs.localhost:4573").as_deref(), Some("logs"));
        assert_eq!(bucket("a.b.s3.example.com").as_deref(), Some("a.b"));
        assert_eq!(bucket("LOGS.LOCALHOST").as_deref(), Some("LOGS"));
        for path_style in ["localhost:4573", ".localhost", "s3.example.com", "evil-localhost", "cairn.internal:80"] {
            assert_eq!(bucket(path_style), None, "{path_style}");
        }
    }
}
