//! cairn's own buckets on disk: each object's bytes in a file of its own under `<dir>/objects/<bucket>/`, and the
//! index (buckets with their owner, region and policy; objects with size, ETag and metadata; multipart uploads) in
//! SQLite (`<dir>/index.sqlite`, WAL, `synchronous=FULL`).
//!
//! Durability: a write goes to a fresh file that is fsynced (with its directory) before the index row pointing at it
//! is committed, and only then acknowledged; the file an overwrite or delete replaced is removed after the commit. A
//! crash leaves at worst files no row points at, which [`Store::open`] removes. Keys are compared as UTF-8 bytes
//! (SQLite's BINARY collation), which is S3's listing order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use rusqlite::{params, Connection, OptionalExtension};
use tokio::io::AsyncWriteExt;

use crate::error::StoreError;

pub type Result<T> = std::result::Result<T, StoreError>;

/// The largest object a single PUT may write (S3's limit).
pub const MAX_PUT_BYTES: u64 = 5 << 30;
/// The smallest part of a multipart upload other than the last (S3's limit).
pub const MIN_PART_BYTES: u64 = 5 << 20;

/// A bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub name: String,
    /// The account that owns it.
    pub owner: String,
    pub region: String,
    pub created_ms: i64,
    pub policy: Option<String>,
}

/// What is stored with an object besides its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    pub content_type: Option<String>,
    /// `x-amz-meta-*` values, by lower-case name without the prefix.
    pub user: BTreeMap<String, String>,
    /// The canned ACL it was written with (`bucket-owner-full-control`, ...), if any.
    pub acl: Option<String>,
    /// The account that wrote it.
    pub writer: String,
    /// SSE-KMS: the stored bytes are sealed under a data key of this KMS key.
    pub sse: Option<crate::sse::SseKms>,
}

/// An object as the index knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub size: u64,
    /// Hex MD5 of the bytes, or of the parts' MD5s followed by `-<parts>` for a multipart upload (unquoted).
    pub etag: String,
    pub modified_ms: i64,
    pub meta: ObjectMeta,
    file: String,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub objects: Vec<Object>,
    /// Common prefixes (keys rolled up at the delimiter), in order.
    pub prefixes: Vec<String>,
    pub truncated: bool,
    /// The last key or prefix of the page: where the next page starts after.
    pub last: Option<String>,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: String,
    pub bucket: String,
    pub key: String,
    pub initiated_ms: i64,
    pub meta: ObjectMeta,
}

/// A part of a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub number: u32,
    pub size: u64,
    pub etag: String,
    pub modified_ms: i64,
}

/// The buckets and their objects.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    db: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    region TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    policy TEXT
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    file TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    modified_ms INTEGER NOT NULL,
    meta TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    initiated_ms INTEGER NOT NULL,
    meta TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
    upload TEXT NOT NULL,
    number INTEGER NOT NULL,
    file TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    modified_ms INTEGER NOT NULL,
    PRIMARY KEY (upload, number)
) WITHOUT ROWID;
";

impl Store {
    /// Opens (creating) the store in `dir`, and removes files no index row points at.
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir.join("objects"))?;
        std::fs::create_dir_all(dir.join("parts"))?;
        let conn = Connection::open(dir.join("index.sqlite"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        let store = Store { inner: Arc::new(Inner { dir: dir.to_path_buf(), db: Mutex::new(conn) }) };
        store.remove_unreferenced()?;
        Ok(store)
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.inner.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn object_path(&self, bucket: &str, file: &str) -> PathBuf {
        self.inner.dir.join("objects").join(bucket).join(file)
    }

    fn part_path(&self, upload: &str, file: &str) -> PathBuf {
        self.inner.dir.join("parts").join(upload).join(file)
    }

    /// Removes object and part files that no row points at (written by a request that crashed before its commit).
    fn remove_unreferenced(&self) -> Result<()> {
        let (objects, parts) = {
            let db = self.db();
            let mut objects: std::collections::HashSet<(String, String)> = std::collections::HashSet::new();
            let mut q = db.prepare("SELECT bucket, file FROM objects")?;
            for row in q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
                objects.insert(row?);
            }
            let mut parts: std::collections::HashSet<(String, String)> = std::collections::HashSet::new();
            let mut q = db.prepare("SELECT upload, file FROM parts")?;
            for row in q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
                parts.insert(row?);
            }
            (objects, parts)
        };
        for (root, known) in [("objects", objects), ("parts", parts)] {
            for dir in std::fs::read_dir(self.inner.dir.join(root))? {
                let dir = dir?;
                let owner = dir.file_name().to_string_lossy().into_owned();
                if !dir.file_type()?.is_dir() {
                    continue;
                }
                for f in std::fs::read_dir(dir.path())? {
                    let f = f?;
                    let name = f.file_name().to_string_lossy().into_owned();
                    if !known.contains(&(owner.clone(), name)) {
                        tracing::info!(path = %f.path().display(), "removing a file a crashed write left behind");
                        std::fs::remove_file(f.path())?;
                    }
                }
            }
        }
        Ok(())
    }

    // ---- buckets ----

    /// Creates a bucket owned by `owner`. Creating one the caller already owns answers
    /// [`StoreError::BucketAlreadyOwnedByYou`], one another account owns [`StoreError::BucketAlreadyExists`].
    pub fn create_bucket(&self, name: &str, owner: &str, region: &str, now_ms: i64) -> Result<Bucket> {
        let db = self.db();
        if let Some(existing) = bucket_row(&db, name)? {
            return Err(if existing.owner == owner {
                StoreError::BucketAlreadyOwnedByYou
            } else {
                StoreError::BucketAlreadyExists
            });
        }
        std::fs::create_dir_all(self.inner.dir.join("objects").join(name))?;
        sync_dir(&self.inner.dir.join("objects"))?;
        db.execute(
            "INSERT INTO buckets (name, owner, region, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![name, owner, region, now_ms],
        )?;
        Ok(Bucket { name: name.into(), owner: owner.into(), region: region.into(), created_ms: now_ms, policy: None })
    }

    pub fn bucket(&self, name: &str) -> Result<Bucket> {
        bucket_row(&self.db(), name)?.ok_or(StoreError::NoSuchBucket)
    }

    /// Every bucket, by name.
    pub fn buckets(&self) -> Result<Vec<Bucket>> {
        let db = self.db();
        let mut q = db.prepare("SELECT name, owner, region, created_ms, policy FROM buckets ORDER BY name")?;
        let rows = q.query_map([], bucket_from_row)?.collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Deletes an empty bucket.
    pub fn delete_bucket(&self, name: &str) -> Result<()> {
        let db = self.db();
        bucket_row(&db, name)?.ok_or(StoreError::NoSuchBucket)?;
        let busy: bool = db.query_row(
            "SELECT EXISTS (SELECT 1 FROM objects WHERE bucket = ?1) OR EXISTS (SELECT 1 FROM uploads WHERE bucket = ?1)",
            params![name],
            |r| r.get(0),
        )?;
        if busy {
            return Err(StoreError::BucketNotEmpty);
        }
        db.execute("DELETE FROM buckets WHERE name = ?1", params![name])?;
        let _ = std::fs::remove_dir_all(self.inner.dir.join("objects").join(name));
        Ok(())
    }

    /// Sets (Some) or removes (None) the bucket's policy, stored as given.
    pub fn set_policy(&self, name: &str, policy: Option<&str>) -> Result<()> {
        let n = self.db().execute("UPDATE buckets SET policy = ?2 WHERE name = ?1", params![name, policy])?;
        if n == 0 {
            return Err(StoreError::NoSuchBucket);
        }
        Ok(())
    }

    /// Moves every file under `dir` into `bucket` (created for `owner` if missing), the file's path relative to
    /// `dir` becoming its key; returns how many. Each object's row is committed before its file is moved, so a crash
    /// midway leaves files still in `dir` for the next run (their rows are replaced then).
    pub fn adopt_directory(&self, dir: &Path, bucket: &str, owner: &str, now_ms: i64) -> Result<usize> {
        match self.create_bucket(bucket, owner, "us-east-1", now_ms) {
            Ok(_) | Err(StoreError::BucketAlreadyOwnedByYou) | Err(StoreError::BucketAlreadyExists) => {}
            Err(e) => return Err(e),
        }
        let mut pending = vec![dir.to_path_buf()];
        let mut count = 0;
        while let Some(d) = pending.pop() {
            for entry in std::fs::read_dir(&d)? {
                let entry = entry?;
                let path = entry.path();
                if entry.file_type()?.is_dir() {
                    pending.push(path);
                    continue;
                }
                let Some(key) = path.strip_prefix(dir).ok().and_then(|k| k.to_str()).map(|k| k.replace('\\', "/"))
                else {
                    continue;
                };
                let bytes = std::fs::read(&path)?;
                let modified_ms = entry
                    .metadata()?
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(now_ms, |d| d.as_millis() as i64);
                let file = new_file_name();
                let object = Object {
                    key,
                    size: bytes.len() as u64,
                    etag: hex(&Md5::digest(&bytes)),
                    modified_ms,
                    meta: ObjectMeta { writer: owner.to_string(), ..ObjectMeta::default() },
                    file: file.clone(),
                };
                insert_object(&self.db(), bucket, &object)?;
                std::fs::rename(&path, self.object_path(bucket, &file))?;
                count += 1;
            }
        }
        sync_dir(&self.inner.dir.join("objects").join(bucket))?;
        Ok(count)
    }

    // ---- objects ----

    /// Writes an object from a stream of chunks; durable before it returns. Replaces any object of that key.
    pub async fn put<S, E>(&self, bucket: &str, key: &str, body: S, meta: ObjectMeta, now_ms: i64) -> Result<Object>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        self.bucket(bucket)?;
        let file = new_file_name();
        let path = self.object_path(bucket, &file);
        let (size, md5) = write_stream(&path, body, MAX_PUT_BYTES).await?;
        let object = Object { key: key.into(), size, etag: hex(&md5), modified_ms: now_ms, meta, file };
        self.commit_object(bucket, &object).await?;
        Ok(object)
    }

    /// Writes an object whose stored bytes are `sealed` (SSE-KMS, described in `meta.sse`): the index keeps the size
    /// and MD5 of the plaintext, as S3 reports them.
    pub async fn put_sealed(
        &self,
        bucket: &str,
        key: &str,
        sealed: Bytes,
        plaintext: &[u8],
        meta: ObjectMeta,
        now_ms: i64,
    ) -> Result<Object> {
        self.bucket(bucket)?;
        let file = new_file_name();
        let path = self.object_path(bucket, &file);
        let stream = futures::stream::iter([Ok::<_, std::io::Error>(sealed)]);
        write_stream(&path, stream, MAX_PUT_BYTES).await?;
        let etag = hex(&Md5::digest(plaintext));
        let object = Object { key: key.into(), size: plaintext.len() as u64, etag, modified_ms: now_ms, meta, file };
        self.commit_object(bucket, &object).await?;
        Ok(object)
    }

    /// Writes an object whose bytes are in memory.
    pub async fn put_bytes(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        meta: ObjectMeta,
        now_ms: i64,
    ) -> Result<Object> {
        let stream = futures::stream::iter([Ok::<_, std::io::Error>(body)]);
        self.put(bucket, key, stream, meta, now_ms).await
    }

    /// Points the index at a written, fsynced file, then removes the file it replaced.
    async fn commit_object(&self, bucket: &str, object: &Object) -> Result<()> {
        let store = self.clone();
        let (bucket, object) = (bucket.to_string(), object.clone());
        blocking(move || {
            let replaced: Option<String> = {
                let mut db = store.db();
                let tx = db.transaction()?;
                let exists: bool =
                    tx.query_row("SELECT EXISTS (SELECT 1 FROM buckets WHERE name = ?1)", params![bucket], |r| {
                        r.get(0)
                    })?;
                if !exists {
                    drop(tx);
                    let _ = std::fs::remove_file(store.object_path(&bucket, &object.file));
                    return Err(StoreError::NoSuchBucket);
                }
                let old: Option<String> = tx
                    .query_row(
                        "SELECT file FROM objects WHERE bucket = ?1 AND key = ?2",
                        params![bucket, object.key],
                        |r| r.get(0),
                    )
                    .optional()?;
                insert_object(&tx, &bucket, &object)?;
                tx.commit()?;
                old
            };
            if let Some(old) = replaced {
                let _ = std::fs::remove_file(store.object_path(&bucket, &old));
            }
            Ok(())
        })
        .await
    }

    /// The object's index entry.
    pub fn head(&self, bucket: &str, key: &str) -> Result<Object> {
        let db = self.db();
        bucket_row(&db, bucket)?.ok_or(StoreError::NoSuchBucket)?;
        db.query_row(
            "SELECT key, size, etag, modified_ms, meta, file FROM objects WHERE bucket = ?1 AND key = ?2",
            params![bucket, key],
            object_from_row,
        )
        .optional()?
        .ok_or(StoreError::NoSuchKey)
    }

    /// Opens the object's bytes for reading. The file stays readable even if the object is replaced meanwhile.
    pub async fn open_object(&self, bucket: &str, object: &Object) -> Result<tokio::fs::File> {
        match tokio::fs::File::open(self.object_path(bucket, &object.file)).await {
            Ok(f) => Ok(f),
            // Replaced between the index read and the open: the caller sees the key as it is now.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NoSuchKey),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads a whole object.
    pub async fn get_bytes(&self, bucket: &str, key: &str) -> Result<(Object, Bytes)> {
        let object = self.head(bucket, key)?;
        let bytes = tokio::fs::read(self.object_path(bucket, &object.file)).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::NoSuchKey,
            _ => e.into(),
        })?;
        Ok((object, Bytes::from(bytes)))
    }

    /// Deletes an object; deleting a key that does not exist succeeds, as in S3. Returns whether it existed.
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<bool> {
        let store = self.clone();
        let (bucket, key) = (bucket.to_string(), key.to_string());
        blocking(move || {
            let file: Option<String> = {
                let db = store.db();
                bucket_row(&db, &bucket)?.ok_or(StoreError::NoSuchBucket)?;
                let file = db
                    .query_row("SELECT file FROM objects WHERE bucket = ?1 AND key = ?2", params![bucket, key], |r| {
                        r.get(0)
                    })
                    .optional()?;
                db.execute("DELETE FROM objects WHERE bucket = ?1 AND key = ?2", params![bucket, key])?;
                file
            };
            if let Some(f) = &file {
                let _ = std::fs::remove_file(store.object_path(&bucket, f));
            }
            Ok(file.is_some())
        })
        .await
    }

    /// Copies an object within or across buckets: a new file with the source's bytes.
    pub async fn copy(
        &self,
        from: (&str, &Object),
        to_bucket: &str,
        to_key: &str,
        meta: ObjectMeta,
        now_ms: i64,
    ) -> Result<Object> {
        self.bucket(to_bucket)?;
        let file = new_file_name();
        let (src, dst) = (self.object_path(from.0, &from.1.file), self.object_path(to_bucket, &file));
        let d = dst.clone();
        blocking(move || {
            std::fs::copy(&src, &d).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => StoreError::NoSuchKey,
                _ => e.into(),
            })?;
            sync_file_and_dir(&d)?;
            Ok(())
        })
        .await?;
        let object = Object {
            key: to_key.into(),
            size: from.1.size,
            etag: from.1.etag.clone(),
            modified_ms: now_ms,
            meta,
            file,
        };
        self.commit_object(to_bucket, &object).await?;
        Ok(object)
    }

    /// A page of the bucket's keys after `after` (exclusive) that start with `prefix`, keys sharing the part up to the
    /// first `delimiter` after the prefix rolled up into one common prefix; at most `max` keys and prefixes together.
    pub fn list(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<&str>,
        max: usize,
    ) -> Result<Listing> {
        let db = self.db();
        bucket_row(&db, bucket)?.ok_or(StoreError::NoSuchBucket)?;
        let delimiter = delimiter.filter(|d| !d.is_empty());
        let mut out = Listing::default();
        // The next key to consider is the first one > `cursor` (exclusive) and >= `floor`.
        let mut cursor: Option<String> = after.map(str::to_string);
        let mut floor: String = prefix.to_string();
        // A page that ended on a common prefix continues after every key under it.
        if let (Some(a), Some(d)) = (after, delimiter) {
            let rolls_to_itself =
                a.starts_with(prefix) && a[prefix.len()..].find(d).map(|i| prefix.len() + i + d.len()) == Some(a.len());
            if let Some(next) = successor(a).filter(|_| rolls_to_itself) {
                floor = floor.max(next);
            }
        }
        // Two queries with one bound each, so every page is an index range scan from where it starts (a query
        // with both bounds and an `IS NULL` test makes SQLite scan from the prefix on every page).
        let mut from_floor = db.prepare(
            "SELECT key, size, etag, modified_ms, meta, file FROM objects
             WHERE bucket = ?1 AND key >= ?2 ORDER BY key LIMIT 512",
        )?;
        let mut after_cursor = db.prepare(
            "SELECT key, size, etag, modified_ms, meta, file FROM objects
             WHERE bucket = ?1 AND key > ?2 ORDER BY key LIMIT 512",
        )?;
        'scan: loop {
            let rows: Vec<Object> = match cursor.as_deref().filter(|c| *c >= floor.as_str()) {
                Some(c) => after_cursor
                    .query_map(params![bucket, c], object_from_row)?
                    .collect::<std::result::Result<_, _>>()?,
                None => from_floor
                    .query_map(params![bucket, floor], object_from_row)?
                    .collect::<std::result::Result<_, _>>()?,
            };
            if rows.is_empty() {
                break;
            }
            let mut skip_to: Option<String> = None;
            for o in rows {
                if !o.key.starts_with(prefix) {
                    break 'scan;
                }
                cursor = Some(o.key.clone());
                let rolled = delimiter.and_then(|d| {
                    o.key[prefix.len()..].find(d).map(|i| o.key[..prefix.len() + i + d.len()].to_string())
                });
                if rolled.is_some() && out.prefixes.last() == rolled.as_ref() {
                    continue;
                }
                if out.objects.len() + out.prefixes.len() == max {
                    out.truncated = true;
                    break 'scan;
                }
                match rolled {
                    Some(cp) => {
                        out.last = Some(cp.clone());
                        // Jump past every key under this prefix.
                        skip_to = successor(&cp);
                        out.prefixes.push(cp);
                        if skip_to.is_some() {
                            break;
                        }
                    }
                    None => {
                        out.last = Some(o.key.clone());
                        out.objects.push(o);
                    }
                }
            }
            if let Some(s) = skip_to {
                floor = s;
            }
        }
        if max == 0 {
            out.truncated = false;
        }
        Ok(out)
    }

    // ---- multipart uploads ----

    pub fn create_upload(&self, bucket: &str, key: &str, meta: ObjectMeta, now_ms: i64) -> Result<Upload> {
        let db = self.db();
        bucket_row(&db, bucket)?.ok_or(StoreError::NoSuchBucket)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        std::fs::create_dir_all(self.inner.dir.join("parts").join(&id))?;
        db.execute(
            "INSERT INTO uploads (id, bucket, key, initiated_ms, meta) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, bucket, key, now_ms, meta_json(&meta)],
        )?;
        Ok(Upload { id, bucket: bucket.into(), key: key.into(), initiated_ms: now_ms, meta })
    }

    pub fn upload(&self, bucket: &str, key: &str, id: &str) -> Result<Upload> {
        let db = self.db();
        bucket_row(&db, bucket)?.ok_or(StoreError::NoSuchBucket)?;
        db.query_row(
            "SELECT id, bucket, key, initiated_ms, meta FROM uploads WHERE id = ?1 AND bucket = ?2 AND key = ?3",
            params![id, bucket, key],
            upload_from_row,
        )
        .optional()?
        .ok_or(StoreError::NoSuchUpload)
    }

    /// Uploads in progress in `bucket` whose key starts with `prefix`, by key then initiation.
    pub fn uploads(&self, bucket: &str, prefix: &str) -> Result<Vec<Upload>> {
        let db = self.db();
        bucket_row(&db, bucket)?.ok_or(StoreError::NoSuchBucket)?;
        let mut q = db.prepare(
            "SELECT id, bucket, key, initiated_ms, meta FROM uploads WHERE bucket = ?1 AND key >= ?2 ORDER BY key, initiated_ms",
        )?;
        let rows =
            q.query_map(params![bucket, prefix], upload_from_row)?.collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows.into_iter().take_while(|u| u.key.starts_with(prefix)).collect())
    }

    /// Writes part `number` of an upload (replacing an earlier upload of that part).
    pub async fn put_part<S, E>(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
        number: u32,
        body: S,
        now_ms: i64,
    ) -> Result<Part>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        self.upload(bucket, key, id)?;
        let file = new_file_name();
        let path = self.part_path(id, &file);
        let (size, md5) = write_stream(&path, body, MAX_PUT_BYTES).await?;
        let part = Part { number, size, etag: hex(&md5), modified_ms: now_ms };
        let store = self.clone();
        let (id, p) = (id.to_string(), part.clone());
        blocking(move || {
            let old: Option<String> = {
                let mut db = store.db();
                let tx = db.transaction()?;
                let live: bool =
                    tx.query_row("SELECT EXISTS (SELECT 1 FROM uploads WHERE id = ?1)", params![id], |r| r.get(0))?;
                if !live {
                    drop(tx);
                    let _ = std::fs::remove_file(store.part_path(&id, &file));
                    return Err(StoreError::NoSuchUpload);
                }
                let old = tx
                    .query_row("SELECT file FROM parts WHERE upload = ?1 AND number = ?2", params![id, p.number], |r| r.get(0))
                    .optional()?;
                tx.execute(
                    "INSERT OR REPLACE INTO parts (upload, number, file, size, etag, modified_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![id, p.number, file, p.size as i64, p.etag, p.modified_ms],
                )?;
                tx.commit()?;
                old
            };
            if let Some(old) = old {
                let _ = std::fs::remove_file(store.part_path(&id, &old));
            }
            Ok(())
        })
        .await?;
        Ok(part)
    }

    /// The parts uploaded so far, by number.
    pub fn parts(&self, bucket: &str, key: &str, id: &str) -> Result<Vec<Part>> {
        self.upload(bucket, key, id)?;
        Ok(self.part_rows(id)?.into_iter().map(|(p, _)| p).collect())
    }

    fn part_rows(&self, id: &str) -> Result<Vec<(Part, String)>> {
        let db = self.db();
        let mut q =
            db.prepare("SELECT number, size, etag, modified_ms, file FROM parts WHERE upload = ?1 ORDER BY number")?;
        let rows = q
            .query_map(params![id], |r| {
                Ok((
                    Part {
                        number: r.get(0)?,
                        size: r.get::<_, i64>(1)? as u64,
                        etag: r.get(2)?,
                        modified_ms: r.get(3)?,
                    },
                    r.get::<_, String>(4)?,
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Completes an upload from the listed (part number, ETag) pairs, in ascending order: the object is the parts'
    /// bytes in that order, its ETag the MD5 of their MD5s followed by `-<count>`.
    pub async fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
        chosen: &[(u32, String)],
        now_ms: i64,
    ) -> Result<Object> {
        let upload = self.upload(bucket, key, id)?;
        if chosen.is_empty() {
            return Err(StoreError::InvalidPart);
        }
        if chosen.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(StoreError::InvalidPartOrder);
        }
        let stored: BTreeMap<u32, (Part, String)> =
            self.part_rows(id)?.into_iter().map(|(p, f)| (p.number, (p, f))).collect();
        let mut files = Vec::with_capacity(chosen.len());
        let mut digests = Vec::with_capacity(chosen.len() * 16);
        let mut picked = Vec::with_capacity(chosen.len());
        for (number, etag) in chosen {
            let (part, file) = stored.get(number).ok_or(StoreError::InvalidPart)?;
            if etag.trim_matches('"') != part.etag {
                return Err(StoreError::InvalidPart);
            }
            picked.push((part, file));
        }
        // Every part but the last must be at least 5 MiB.
        if picked.iter().rev().skip(1).any(|(p, _)| p.size < MIN_PART_BYTES) {
            return Err(StoreError::EntityTooSmall);
        }
        for (part, file) in picked {
            digests.extend(unhex(&part.etag));
            files.push(self.part_path(id, file));
        }
        let file = new_file_name();
        let path = self.object_path(bucket, &file);
        let p = path.clone();
        let size = blocking(move || {
            let mut out = std::fs::File::create(&p)?;
            let mut size = 0;
            for f in &files {
                size += std::io::copy(&mut std::fs::File::open(f)?, &mut out)?;
            }
            drop(out);
            sync_file_and_dir(&p)?;
            Ok(size)
        })
        .await?;
        let etag = format!("{}-{}", hex(&Md5::digest(&digests)), chosen.len());
        let object = Object { key: key.into(), size, etag, modified_ms: now_ms, meta: upload.meta, file };
        self.commit_object(bucket, &object).await?;
        self.drop_upload(id).await?;
        Ok(object)
    }

    /// Aborts an upload: its parts are removed.
    pub async fn abort_upload(&self, bucket: &str, key: &str, id: &str) -> Result<()> {
        self.upload(bucket, key, id)?;
        self.drop_upload(id).await
    }

    async fn drop_upload(&self, id: &str) -> Result<()> {
        let store = self.clone();
        let id = id.to_string();
        blocking(move || {
            {
                let mut db = store.db();
                let tx = db.transaction()?;
                tx.execute("DELETE FROM parts WHERE upload = ?1", params![id])?;
                tx.execute("DELETE FROM uploads WHERE id = ?1", params![id])?;
                tx.commit()?;
            }
            let _ = std::fs::remove_dir_all(store.inner.dir.join("parts").join(&id));
            Ok(())
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::Io(std::io::Error::other(e)))?
}

/// Writes the chunks to a new file at `path`, hashing them, and fsyncs it and its directory; on failure the file
/// is removed.
async fn write_stream<S, E>(path: &Path, body: S, limit: u64) -> Result<(u64, [u8; 16])>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let written = write_new_file(path, body, limit).await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(path).await;
    }
    written
}

async fn write_new_file<S, E>(path: &Path, mut body: S, limit: u64) -> Result<(u64, [u8; 16])>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(path).await?;
    let mut md5 = Md5::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| StoreError::InvalidArgument(format!("the request body could not be read: {e}")))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(StoreError::EntityTooLarge);
        }
        md5.update(&chunk);
        file.write_all(&chunk).await?;
    }
    file.sync_all().await?;
    drop(file);
    let p = path.to_path_buf();
    blocking(move || sync_dir(p.parent().unwrap_or(Path::new(".")))).await?;
    Ok((size, md5.finalize().into()))
}

fn sync_file_and_dir(path: &Path) -> Result<()> {
    std::fs::File::open(path)?.sync_all()?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

fn new_file_name() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

/// The smallest string greater than every string starting with `s`: its last character incremented (None when it
/// cannot be, and the caller scans on instead).
fn successor(s: &str) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    let last = chars.pop()?;
    let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32)?;
    chars.push(next);
    Some(chars.into_iter().collect())
}

fn bucket_row(db: &Connection, name: &str) -> Result<Option<Bucket>> {
    Ok(db
        .query_row(
            "SELECT name, owner, region, created_ms, policy FROM buckets WHERE name = ?1",
            params![name],
            bucket_from_row,
        )
        .optional()?)
}

fn bucket_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Bucket> {
    Ok(Bucket { name: r.get(0)?, owner: r.get(1)?, region: r.get(2)?, created_ms: r.get(3)?, policy: r.get(4)? })
}

fn object_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Object> {
    Ok(Object {
        key: r.get(0)?,
        size: r.get::<_, i64>(1)? as u64,
        etag: r.get(2)?,
        modified_ms: r.get(3)?,
        meta: meta_from_json(&r.get::<_, String>(4)?),
        file: r.get(5)?,
    })
}

fn upload_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Upload> {
    Ok(Upload {
        id: r.get(0)?,
        bucket: r.get(1)?,
        key: r.get(2)?,
        initiated_ms: r.get(3)?,
        meta: meta_from_json(&r.get::<_, String>(4)?),
    })
}

/// Points `bucket`'s row for the object's key at its file (replacing any row of that key).
fn insert_object(db: &Connection, bucket: &str, o: &Object) -> rusqlite::Result<usize> {
    db.execute(
        "INSERT OR REPLACE INTO objects (bucket, key, file, size, etag, modified_ms, meta) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![bucket, o.key, o.file, o.size as i64, o.etag, o.modified_ms, meta_json(&o.meta)],
    )
}

fn meta_json(m: &ObjectMeta) -> String {
    serde_json::json!({
        "contentType": m.content_type,
        "user": m.user,
        "acl": m.acl,
        "writer": m.writer,
        "sse": m.sse.as_ref().map(crate::sse::SseKms::to_json),
    })
    .to_string()
}

fn meta_from_json(s: &str) -> ObjectMeta {
    let v: serde_json::Value = serde_json::from_str(s).unwrap_or_default();
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    ObjectMeta {
        content_type: text("contentType"),
        user: v
            .get("user")
            .and_then(|u| u.as_object())
            .map(|u| u.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default(),
        acl: text("acl"),
        writer: text("writer").unwrap_or_default(),
        sse: v.get("sse").and_then(crate::sse::SseKms::from_json),
    }
}
