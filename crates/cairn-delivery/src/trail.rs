//! One trail's delivery: selects records as the trail was configured when each was logged, batches them per stream
//! (destination, account, region), closes a file after the window or at the size cap, and writes it exactly once
//! (see [`crate::state`] for how crashes are survived). For a trail that validates its log files, every delivered
//! file joins its stream's digest chain, sealed into a signed digest file every digest interval, and once more when
//! the trail stops logging, stops validating, moves or is deleted (see [`crate::digest`]).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use cairn_integrity::SigningKeys;
use cairn_model::select::EventView;
use cairn_model::Trail;

use crate::digest::{Chain, DigestedFile, StreamOf};
use crate::layout::{log_file, unique_part, Destination};
use crate::state::{DeliveryStatus, Intent, TrailState};
use crate::storage::Storage;
use crate::Error;

/// A trail's configuration from a journal position on; `None` once deleted.
pub type Version = (u64, Option<Arc<Trail>>);

/// How files are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// A file closes this long after its first record arrived.
    pub window_ms: i64,
    /// ... or once its records reach this many bytes.
    pub max_file_bytes: usize,
    /// gzip level of log files.
    pub gzip_level: u32,
    /// A validating trail seals a digest of each stream this often.
    pub digest_interval_ms: i64,
    /// Digests carry a Merkle tree head over their files' events (per-event proofs).
    pub event_proofs: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            window_ms: 300_000,
            max_file_bytes: 32 << 20,
            gzip_level: 6,
            digest_interval_ms: 3_600_000,
            event_proofs: true,
        }
    }
}

/// Longest a failing stream waits between attempts.
const MAX_RETRY_MS: i64 = 30_000;

/// The records of one file being filled.
#[derive(Debug)]
struct Batch {
    lo: u64,
    hi: u64,
    opened_ms: i64,
    records: Vec<Bytes>,
    bytes: usize,
    kms_key: Option<String>,
    times: EventTimes,
}

/// The oldest and newest eventTime of a file's records.
#[derive(Debug, Default, Clone)]
struct EventTimes {
    oldest: Option<String>,
    newest: Option<String>,
}

impl EventTimes {
    fn add(&mut self, t: Option<&String>) {
        let Some(t) = t else { return };
        if self.oldest.as_ref().is_none_or(|o| t < o) {
            self.oldest = Some(t.clone());
        }
        if self.newest.as_ref().is_none_or(|n| t > n) {
            self.newest = Some(t.clone());
        }
    }
}

/// A file decided on (its intent saved), waiting to be written.
#[derive(Debug)]
struct Pending {
    intent: Intent,
    bucket: String,
    records: Vec<Bytes>,
    times: EventTimes,
}

/// A failing stream's retry timing and the storage's error code of its last attempt.
#[derive(Debug, Default, Clone)]
struct Retry {
    next_ms: i64,
    attempts: u32,
    error: String,
}

/// A trail's delivery engine, driven by the consumer that follows the journal for it.
#[derive(Debug)]
pub struct TrailDelivery {
    arn: String,
    /// The trail's name and home region, as digest names carry them.
    name: String,
    home_region: String,
    storage: Arc<Storage>,
    signing: Arc<SigningKeys>,
    settings: Settings,
    organization_accounts: Arc<HashSet<String>>,
    state_path: PathBuf,
    state: TrailState,
    status: Arc<Mutex<DeliveryStatus>>,
    versions: Vec<Version>,
    /// Open files by stream id.
    open: BTreeMap<String, Open>,
    /// Files closed while records arrived (size cap reached, or the trail's KMS key changed), to become intents at
    /// the next settle before the open ones; in journal order.
    sealed: Vec<(String, Open)>,
    /// Files to write by stream id, in journal order.
    pending: BTreeMap<String, Vec<Pending>>,
    retry: BTreeMap<String, Retry>,
    /// Retry timing of streams whose digests fail to be written.
    digest_retry: BTreeMap<String, Retry>,
    /// Next journal position this engine has been given records up to.
    position: u64,
    /// Bytes held in open and pending files.
    held_bytes: usize,
    /// The consumer's saved checkpoint: no replay starts below it.
    checkpoint: u64,
    /// The state in memory differs from the saved state: nothing is written and no position is reported durable
    /// until it is saved.
    dirty: bool,
    /// Log files written since [`TrailDelivery::take_delivered`] last took them: bucket and key.
    delivered: Vec<(String, String)>,
}

/// An open file: where it goes, its account and region, its records.
type Open = (Destination, String, String, Batch);

fn stream_id(dest: &Destination, account: &str, region: &str) -> String {
    format!(
        "{}/{}/{}/{account}/{region}",
        dest.bucket,
        dest.prefix.as_deref().unwrap_or(""),
        dest.organization_id.as_deref().unwrap_or("")
    )
}

/// The account and region of a stream id (neither contains `/`).
fn stream_parts(id: &str) -> (&str, &str) {
    let mut parts = id.rsplitn(3, '/');
    let region = parts.next().unwrap_or("");
    let account = parts.next().unwrap_or("");
    (account, region)
}

fn destination_of(trail: &Trail) -> Destination {
    Destination {
        bucket: trail.s3_bucket_name.clone(),
        prefix: trail.s3_key_prefix.clone(),
        organization_id: trail.organization_id.clone(),
    }
}

/// The version in effect at `seq`: the last one taking effect at or before it.
pub fn effective(versions: &[Version], seq: u64) -> Option<&Arc<Trail>> {
    let i = versions.partition_point(|(at, _)| *at <= seq);
    i.checked_sub(1).and_then(|i| versions[i].1.as_ref())
}

impl TrailDelivery {
    /// Loads the trail's delivery state; intents saved before a crash are rebuilt as their records are replayed.
    pub fn open(
        arn: &str,
        storage: Arc<Storage>,
        signing: Arc<SigningKeys>,
        settings: Settings,
        organization_accounts: Arc<HashSet<String>>,
        state_path: PathBuf,
    ) -> Result<TrailDelivery, Error> {
        let state = TrailState::load(&state_path)?;
        let mut pending: BTreeMap<String, Vec<Pending>> = BTreeMap::new();
        for (id, s) in &state.streams {
            let bucket = s.destination.as_ref().map(|d| d.bucket.clone()).unwrap_or_default();
            for intent in &s.intents {
                pending.entry(id.clone()).or_default().push(Pending {
                    intent: intent.clone(),
                    bucket: bucket.clone(),
                    records: Vec::new(),
                    times: EventTimes::default(),
                });
            }
        }
        let status = Arc::new(Mutex::new(state.status.clone()));
        // arn:<partition>:cloudtrail:<home region>:<account>:trail/<name>
        let home_region = arn.split(':').nth(3).unwrap_or_default().to_string();
        let name = arn.rsplit('/').next().unwrap_or_default().to_string();
        Ok(TrailDelivery {
            arn: arn.to_string(),
            name,
            home_region,
            storage,
            signing,
            settings,
            organization_accounts,
            state_path,
            state,
            status,
            versions: Vec::new(),
            open: BTreeMap::new(),
            sealed: Vec::new(),
            pending,
            retry: BTreeMap::new(),
            digest_retry: BTreeMap::new(),
            position: 0,
            held_bytes: 0,
            checkpoint: 0,
            dirty: false,
            delivered: Vec::new(),
        })
    }

    /// The status GetTrailStatus reads, kept current by this engine.
    pub fn status(&self) -> Arc<Mutex<DeliveryStatus>> {
        Arc::clone(&self.status)
    }

    /// Sets the trail's versions (ascending by position) that the next records are selected by.
    pub fn set_versions(&mut self, versions: Vec<Version>) {
        self.versions = versions;
    }

    /// Bytes of records held in memory, for back-pressure.
    /// The log files written since the last call (bucket, key), for the trail's SNS notifications.
    pub fn take_delivered(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.delivered)
    }

    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Selects and batches records (ascending, continuing from the previous call); `now_ms` opens new files.
    pub fn apply<'a>(&mut self, records: impl IntoIterator<Item = (u64, &'a Bytes)>, now_ms: i64) {
        for (seq, payload) in records {
            self.position = seq + 1;
            let Some(trail) = effective(&self.versions, seq) else { continue };
            if !trail.logging.is_logging {
                continue;
            }
            let Some(event) = EventView::parse(payload) else { continue };
            let orgs = &self.organization_accounts;
            if !trail.takes(&event, |a| orgs.contains(a)) {
                continue;
            }
            let dest = destination_of(trail);
            let (account, region) = (event.recipient_account_id, event.aws_region);
            let id = stream_id(&dest, &account, &region);
            if self.state.streams.get(&id).is_some_and(|s| seq < s.delivered_below) {
                continue;
            }
            if let Some(p) = self
                .pending
                .get_mut(&id)
                .and_then(|list| list.iter_mut().find(|p| (p.intent.lo..=p.intent.hi).contains(&seq)))
            {
                // Replayed after a restart: rebuilds the file its intent names.
                p.records.push(payload.clone());
                p.times.add(event.event_time.as_ref());
                self.held_bytes += payload.len();
                continue;
            }
            let seal = self.open.get(&id).is_some_and(|(_, _, _, b)| {
                b.kms_key != trail.kms_key_id || b.bytes + payload.len() > self.settings.max_file_bytes
            });
            if seal {
                // Never a record encrypted other than its trail asked, nor a file past the cap.
                if let Some(open) = self.open.remove(&id) {
                    self.sealed.push((id.clone(), open));
                }
            }
            let entry = self.open.entry(id).or_insert_with(|| {
                let batch = Batch {
                    lo: seq,
                    hi: seq,
                    opened_ms: now_ms,
                    records: Vec::new(),
                    bytes: 0,
                    kms_key: trail.kms_key_id.clone(),
                    times: EventTimes::default(),
                };
                (dest, account, region, batch)
            });
            let batch = &mut entry.3;
            batch.hi = seq;
            batch.bytes += payload.len();
            batch.records.push(payload.clone());
            batch.times.add(event.event_time.as_ref());
            self.held_bytes += payload.len();
        }
    }

    /// Closes due files (saving their intents), writes every file whose records are all in, and returns the journal
    /// position below which everything this trail selected is delivered. `position` is where the records given so
    /// far end.
    pub async fn settle(&mut self, position: u64, now_ms: i64) -> Result<u64, Error> {
        self.position = self.position.max(position);
        if self.dirty {
            // A save that failed before: no file is written until every intent is durable.
            self.save()?;
        }
        self.close_due(now_ms)?;
        let ids: Vec<String> = self.pending.keys().cloned().collect();
        for id in ids {
            self.write_stream(&id, now_ms).await;
        }
        self.seal_digests(now_ms)?;
        self.write_digests(now_ms).await;
        if self.dirty {
            self.save()?;
        }
        Ok(self.durable())
    }

    /// Everything below this position is delivered or not selected.
    fn durable(&self) -> u64 {
        let open = self.open.values().chain(self.sealed.iter().map(|(_, o)| o)).map(|(_, _, _, b)| b.lo);
        let pending = self.pending.values().flatten().map(|p| p.intent.lo);
        let durable = open.chain(pending).min().unwrap_or(self.position).min(self.position);
        // A deleted trail's final digests are not written yet: the checkpoint stays before the deletion, so that the
        // versions (and the consumer) are kept until they are.
        match self.versions.last() {
            Some((at, None)) if self.digest_work() => durable.min(at.saturating_sub(1)),
            _ => durable,
        }
    }

    /// Whether any stream has an open chain or a sealed digest to write.
    fn digest_work(&self) -> bool {
        self.state.streams.values().any(|s| s.chain.is_some() || !s.digests.is_empty())
    }

    fn close_due(&mut self, now_ms: i64) -> Result<(), Error> {
        // Nothing more can join the files of a trail deleted before the position read: they close at once.
        let deleted = matches!(self.versions.last(), Some((at, None)) if self.position > *at);
        let due: Vec<String> = self
            .open
            .iter()
            .filter(|(_, (_, _, _, b))| {
                deleted || now_ms - b.opened_ms >= self.settings.window_ms || b.bytes >= self.settings.max_file_bytes
            })
            .map(|(id, _)| id.clone())
            .collect();
        if due.is_empty() && self.sealed.is_empty() {
            return Ok(());
        }
        let mut closing = std::mem::take(&mut self.sealed);
        closing.extend(due.into_iter().filter_map(|id| self.open.remove(&id).map(|o| (id, o))));
        for (id, (dest, account, region, batch)) in closing {
            let unique = unique_part(&self.arn, &account, &region, batch.lo, batch.hi);
            let intent = Intent {
                lo: batch.lo,
                hi: batch.hi,
                at_ms: now_ms,
                key: dest.log_file_key(&account, &region, now_ms, &unique),
                kms_key: batch.kms_key,
                records: batch.records.len() as u64,
            };
            let stream = self.state.streams.entry(id.clone()).or_default();
            stream.destination = Some(dest.clone());
            stream.intents.push(intent.clone());
            self.pending.entry(id).or_default().push(Pending {
                intent,
                bucket: dest.bucket,
                records: batch.records,
                times: batch.times,
            });
        }
        // The intents must be durable before any of their files is written.
        self.dirty = true;
        self.save()
    }

    /// Writes the stream's ready files in order, stopping at the first failure.
    async fn write_stream(&mut self, id: &str, now_ms: i64) {
        loop {
            let retry = self.retry.get(id).cloned().unwrap_or_default();
            let Some(p) = self.pending.get(id).and_then(|l| l.first()) else { break };
            // Its records are all in once the journal has been read past its last one.
            if self.position <= p.intent.hi || now_ms < retry.next_ms {
                break;
            }
            if p.intent.records != 0 && p.records.len() as u64 != p.intent.records {
                // A rebuilt file must be the file decided on: never overwrite a delivered object with less.
                tracing::error!(
                    trail = self.arn,
                    key = p.intent.key,
                    expected = p.intent.records,
                    rebuilt = p.records.len(),
                    "a log file rebuilt after a restart does not match its intent; it is not written"
                );
                break;
            }
            let (body, hash) = match log_file(p.records.iter().map(|r| &r[..]), self.settings.gzip_level) {
                Ok((b, hash)) => (Bytes::from(b), hash),
                Err(e) => {
                    tracing::error!(trail = self.arn, error = %e, "cannot compress a log file");
                    break;
                }
            };
            let put =
                self.storage.put(&p.bucket, &p.intent.key, body, p.intent.kms_key.as_deref(), &self.arn, &[]).await;
            let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
            status.latest_attempt_ms = Some(now_ms);
            match put {
                Ok(()) => {
                    let Some(list) = self.pending.get_mut(id) else { break };
                    let done = list.remove(0);
                    if list.is_empty() {
                        self.pending.remove(id);
                    }
                    self.retry.remove(id);
                    let n = done.records.len() as u64;
                    self.held_bytes -= done.records.iter().map(Bytes::len).sum::<usize>();
                    status.latest_delivery_ms = Some(now_ms);
                    status.latest_attempt_succeeded_ms = Some(now_ms);
                    // Another stream of the trail may still be failing.
                    status.latest_error = self.retry.values().next().map(|r| r.error.clone());
                    status.delivered_files += 1;
                    status.delivered_events += n;
                    drop(status);
                    self.delivered.push((done.bucket.clone(), done.intent.key.clone()));
                    // Digested if the trail validates the stream now, or did when the file's records were logged.
                    let validating = self.validates(id)
                        || effective(&self.versions, done.intent.lo).is_some_and(|t| t.log_file_validation_enabled);
                    let stream = self.state.streams.entry(id.to_string()).or_default();
                    stream.delivered_below = done.intent.hi + 1;
                    stream.intents.retain(|i| i.lo != done.intent.lo);
                    // Joins the digest chain in the same save that records its delivery: in exactly one digest.
                    if stream.chain.is_none() && validating {
                        stream.chain = Some(Chain::new(now_ms));
                    }
                    if let Some(chain) = stream.chain.as_mut() {
                        let file = DigestedFile {
                            key: done.intent.key.clone(),
                            hash: cairn_integrity::digest::hex(&hash),
                            oldest: done.times.oldest.clone(),
                            newest: done.times.newest.clone(),
                        };
                        if self.settings.event_proofs {
                            chain.add(file, done.records.iter().map(|r| &r[..]));
                        } else {
                            chain.add_without_events(file);
                        }
                    }
                    tracing::debug!(trail = self.arn, key = done.intent.key, events = n, "log file delivered");
                    self.dirty = true;
                }
                Err(e) => {
                    status.latest_error = Some(e.code.clone());
                    status.failed_attempts += 1;
                    drop(status);
                    let attempts = retry.attempts + 1;
                    let wait = (500i64 << attempts.min(6)).min(MAX_RETRY_MS);
                    // Jitter from the key, so streams failing together spread their retries.
                    let jitter = p.intent.key.bytes().fold(0i64, |h, b| h.wrapping_mul(31).wrapping_add(b as i64));
                    let next_ms = now_ms + wait / 2 + jitter.rem_euclid(wait / 2 + 1);
                    self.retry.insert(id.to_string(), Retry { next_ms, attempts, error: e.code.clone() });
                    tracing::warn!(trail = self.arn, bucket = p.bucket, error = %e, "log file delivery failed; will retry");
                    break;
                }
            }
        }
    }

    /// The storage's error code while any stream of the trail is failing.
    pub fn failing(&self) -> Option<String> {
        self.retry.values().chain(self.digest_retry.values()).next().map(|r| r.error.clone())
    }

    /// The trail as configured at the position read so far; `None` once deleted.
    fn current(&self) -> Option<&Arc<Trail>> {
        effective(&self.versions, self.position.saturating_sub(1))
    }

    /// Whether the trail, as configured now, validates the log files of stream `id`: it is logging with log file
    /// validation on, still delivers to the stream's destination, and still covers its account and region.
    fn validates(&self, id: &str) -> bool {
        let Some(t) = self.current() else { return false };
        if !(t.logging.is_logging && t.log_file_validation_enabled) {
            return false;
        }
        let (account, region) = stream_parts(id);
        let dest = destination_of(t);
        let same_dest = match self.state.streams.get(id).and_then(|s| s.destination.as_ref()) {
            Some(d) => *d == dest,
            None => stream_id(&dest, account, region) == id,
        };
        let covers_account =
            account == t.account_id || (t.organization_id.is_some() && self.organization_accounts.contains(account));
        same_dest && covers_account && (t.is_multi_region_trail || region == t.home_region)
    }

    /// Whether stream `id` has records not yet delivered.
    fn busy(&self, id: &str) -> bool {
        self.open.contains_key(id) || self.sealed.iter().any(|(i, _)| i == id) || self.pending.contains_key(id)
    }

    /// Opens the home stream's chain of a validating trail (so hours without files get digests too), and seals every
    /// chain that is due: after the digest interval while the trail validates it, else once its last files are in.
    fn seal_digests(&mut self, now_ms: i64) -> Result<(), Error> {
        if let Some(t) = self.current().filter(|t| t.logging.is_logging && t.log_file_validation_enabled).cloned() {
            let dest = destination_of(&t);
            let id = stream_id(&dest, &t.account_id, &t.home_region);
            let stream = self.state.streams.entry(id).or_default();
            if stream.chain.is_none() {
                stream.destination = Some(dest);
                stream.chain = Some(Chain::new(now_ms));
                self.dirty = true;
            }
        }
        let ids: Vec<String> =
            self.state.streams.iter().filter(|(_, s)| s.chain.is_some()).map(|(id, _)| id.clone()).collect();
        for id in ids {
            let active = self.validates(&id);
            let busy = self.busy(&id);
            let stream = self.state.streams.get_mut(&id).expect("listed above");
            let (Some(chain), Some(dest)) = (stream.chain.as_mut(), stream.destination.as_ref()) else { continue };
            let due = if active { now_ms - chain.started_ms >= self.settings.digest_interval_ms } else { !busy };
            if !due || !chain.can_seal(now_ms) {
                continue;
            }
            let (account, region) = stream_parts(&id);
            let key = match self.signing.current(region, now_ms) {
                Ok(k) => k,
                Err(e) => {
                    tracing::error!(trail = self.arn, region, error = %e, "cannot get the digest signing key");
                    let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
                    status.latest_digest_error = Some("InternalError".into());
                    continue;
                }
            };
            let of =
                StreamOf { destination: dest, account, region, trail_name: &self.name, home_region: &self.home_region };
            let sealed = chain.seal(of, now_ms, &key);
            tracing::debug!(trail = self.arn, key = sealed.key, final_digest = !active, "digest sealed");
            if !active {
                stream.chain = None;
            }
            stream.digests.push(sealed);
            self.dirty = true;
        }
        // A sealed digest is durable before it is written.
        if self.dirty {
            self.save()?;
        }
        Ok(())
    }

    /// Writes every stream's sealed digests in order, stopping a stream at its first failure.
    async fn write_digests(&mut self, now_ms: i64) {
        let ids: Vec<String> =
            self.state.streams.iter().filter(|(_, s)| !s.digests.is_empty()).map(|(id, _)| id.clone()).collect();
        for id in ids {
            let retry = self.digest_retry.get(&id).cloned().unwrap_or_default();
            if now_ms < retry.next_ms {
                continue;
            }
            while let Some(d) = self.state.streams.get(&id).and_then(|s| s.digests.first()).cloned() {
                let body = match crate::layout::gzip(d.body.as_bytes(), self.settings.gzip_level) {
                    Ok(b) => Bytes::from(b),
                    Err(e) => {
                        tracing::error!(trail = self.arn, error = %e, "cannot compress a digest file");
                        break;
                    }
                };
                let metadata = [
                    (cairn_integrity::digest::SIGNATURE_METADATA, d.signature.as_str()),
                    (
                        cairn_integrity::digest::SIGNATURE_ALGORITHM_METADATA,
                        cairn_integrity::digest::SIGNATURE_ALGORITHM,
                    ),
                ];
                // As AWS: digests are not SSE-KMS objects even when the trail's log files are (auditors validate
                // without the key).
                let put = self.storage.put(&d.bucket, &d.key, body, None, &self.arn, &metadata).await;
                let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
                match put {
                    Ok(()) => {
                        status.latest_digest_delivery_ms = Some(now_ms);
                        status.latest_digest_error = None;
                        drop(status);
                        self.digest_retry.remove(&id);
                        if let Some(s) = self.state.streams.get_mut(&id) {
                            s.digests.remove(0);
                        }
                        tracing::debug!(trail = self.arn, key = d.key, "digest file delivered");
                        self.dirty = true;
                    }
                    Err(e) => {
                        status.latest_digest_error = Some(e.code.clone());
                        drop(status);
                        let attempts = retry.attempts + 1;
                        let wait = (500i64 << attempts.min(6)).min(MAX_RETRY_MS);
                        self.digest_retry
                            .insert(id.clone(), Retry { next_ms: now_ms + wait, attempts, error: e.code.clone() });
                        tracing::warn!(trail = self.arn, key = d.key, error = %e, "digest delivery failed; will retry");
                        break;
                    }
                }
            }
        }
    }

    /// Tells the engine the consumer's saved checkpoint (a replay after a crash starts there).
    pub fn set_checkpoint(&mut self, checkpoint: u64) {
        self.checkpoint = self.checkpoint.max(checkpoint);
    }

    /// Saves the state, forgetting streams with nothing left that no replay can reach.
    fn save(&mut self) -> Result<(), Error> {
        let checkpoint = self.checkpoint;
        self.state.streams.retain(|_, s| {
            !s.intents.is_empty() || s.delivered_below > checkpoint || s.chain.is_some() || !s.digests.is_empty()
        });
        self.state.status = self.status.lock().unwrap_or_else(|e| e.into_inner()).clone();
        self.state.save(&self.state_path)?;
        self.dirty = false;
        Ok(())
    }

    /// True once the trail is deleted, the journal has been read past the deletion, and nothing is left to write.
    pub fn finished(&self) -> bool {
        let deleted_at = match self.versions.last() {
            Some((at, None)) => *at,
            _ => return false,
        };
        self.position > deleted_at
            && self.open.is_empty()
            && self.sealed.is_empty()
            && self.pending.is_empty()
            && !self.digest_work()
    }

    /// Removes the state file once [`TrailDelivery::finished`].
    pub fn remove_state(&self) -> Result<(), Error> {
        Ok(TrailState::remove(&self.state_path)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::LoggingState;

    use crate::storage::StorageConfig;

    const ARN: &str = "arn:aws:cloudtrail:us-east-1:111111111111:trail/t";

    /// One-second windows and ten-second digest periods.
    const SETTINGS: Settings = Settings {
        window_ms: 1000,
        max_file_bytes: 1 << 20,
        gzip_level: 1,
        digest_interval_ms: 10_000,
        event_proofs: true,
    };

    fn trail(logging: bool) -> Arc<Trail> {
        Arc::new(Trail {
            s3_key_prefix: Some("p".into()),
            is_multi_region_trail: true,
            logging: LoggingState { is_logging: logging, ..Default::default() },
            ..Trail::new("111111111111", "t", "us-east-1", "b")
        })
    }

    fn record(seq: u64, region: &str) -> Bytes {
        Bytes::from(format!(
            r#"{{"eventVersion":"1.11","eventTime":"2026-11-20T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"{region}","readOnly":false,"managementEvent":true,"eventCategory":"Management","recipientAccountId":"111111111111","eventID":"e{seq}"}}"#
        ))
    }

    struct Fixture {
        root: PathBuf,
        storage: Arc<Storage>,
        signing: Arc<SigningKeys>,
        local: cairn_s3::Store,
        state: PathBuf,
        records: Vec<(u64, Bytes)>,
    }

    impl Fixture {
        fn new(name: &str) -> Fixture {
            let root = std::env::temp_dir().join(format!("cairn-trail-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            let local = cairn_s3::Store::open(&root.join("buckets")).unwrap();
            let kms = Arc::new(cairn_kms::Kms::open(&root.join("kms")).unwrap());
            let storage = Arc::new(Storage::open(StorageConfig::Local { store: local.clone(), kms }).unwrap());
            let records = (0..20).map(|s| (s, record(s, ["us-east-1", "eu-west-1"][s as usize % 2]))).collect();
            let signing = Arc::new(SigningKeys::open(&root.join("keys"), 86_400_000).unwrap());
            Fixture { state: root.join("state.json"), root, storage, signing, local, records }
        }

        /// Creates bucket `b` with a policy that lets CloudTrail deliver to it.
        fn bucket(&self) {
            self.local.create_bucket("b", "111111111111", "us-east-1", 0).unwrap();
            self.local.set_policy("b", Some(&cairn_s3::access::cloudtrail_policy_for_any_trail("b"))).unwrap();
        }

        fn engine(&self) -> TrailDelivery {
            let mut e = self.open(SETTINGS);
            // Not logging for records 0..4, logging from 4, stopped from 16.
            e.set_versions(vec![(0, Some(trail(false))), (4, Some(trail(true))), (16, Some(trail(false)))]);
            e
        }

        fn open(&self, settings: Settings) -> TrailDelivery {
            let (storage, signing) = (Arc::clone(&self.storage), Arc::clone(&self.signing));
            TrailDelivery::open(ARN, storage, signing, settings, Arc::default(), self.state.clone()).unwrap()
        }

        /// Every delivered file: key and record eventIDs.
        async fn files(&self) -> BTreeMap<String, Vec<String>> {
            let mut out = BTreeMap::new();
            for key in self.storage.list("b", "p").await.unwrap() {
                if key.contains("/CloudTrail-Digest/") {
                    continue;
                }
                let gz = self.storage.get("b", &key).await.unwrap();
                let mut text = String::new();
                std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                let ids = v["Records"].as_array().unwrap().iter().map(|r| r["eventID"].to_string()).collect();
                out.insert(key, ids);
            }
            out
        }
    }

    #[tokio::test]
    async fn selects_by_version_and_delivers_exactly_once_across_a_crash() {
        let f = Fixture::new("crash");
        let mut e = f.engine();
        e.apply(f.records.iter().map(|(s, r)| (*s, r)), 0);
        // Within the window nothing is due; everything from the first selected record on is held.
        assert_eq!(e.settle(20, 500).await.unwrap(), 4);
        // Due, but the bucket does not exist yet: intents are saved, nothing is written, the error is reported.
        assert_eq!(e.settle(20, 1000).await.unwrap(), 4);
        assert_eq!(e.status().lock().unwrap().latest_error.as_deref(), Some("NoSuchBucket"));
        let saved_intents = std::fs::read(&f.state).unwrap();
        f.bucket();
        assert_eq!(e.settle(20, 60_000).await.unwrap(), 20);
        let first = f.files().await;
        assert_eq!(first.len(), 2, "one file per region: {first:?}");
        let ids: Vec<&String> = first.values().flatten().collect();
        assert_eq!(ids.len(), 12, "records 4..16 only: {first:?}");
        let status = e.status().lock().unwrap().clone();
        assert_eq!((status.latest_error, status.delivered_files, status.delivered_events), (None, 2, 12));

        // A crash after the files were written but before the state said so: the intents come back, the replay
        // rebuilds the same files under the same keys, and nothing else appears.
        drop(e);
        std::fs::write(&f.state, &saved_intents).unwrap();
        let mut e = f.engine();
        e.apply(f.records.iter().map(|(s, r)| (*s, r)), 70_000);
        assert_eq!(e.settle(20, 70_000).await.unwrap(), 20);
        assert_eq!(f.files().await, first);

        // A crash after the state was saved: replaying skips what was delivered.
        drop(e);
        let mut e = f.engine();
        e.apply(f.records.iter().map(|(s, r)| (*s, r)), 80_000);
        assert_eq!(e.settle(20, 200_000).await.unwrap(), 20);
        assert_eq!(f.files().await, first);
        std::fs::remove_dir_all(&f.root).unwrap();
    }

    #[tokio::test]
    async fn size_cap_cuts_files_and_deletion_finishes() {
        let f = Fixture::new("cap");
        f.bucket();
        let settings = Settings {
            window_ms: 3_600_000,
            max_file_bytes: 1000,
            gzip_level: 1,
            digest_interval_ms: 10_000,
            event_proofs: true,
        };
        let mut e = f.open(settings);
        e.set_versions(vec![(0, Some(trail(true))), (10, None)]);
        e.apply(f.records.iter().map(|(s, r)| (*s, r)), 0);
        assert!(!e.finished());
        assert_eq!(e.settle(20, 1).await.unwrap(), 20, "records past the cap are cut without waiting");
        let files = f.files().await;
        assert_eq!(files.values().flatten().count(), 10, "the deleted trail delivers what it had selected");
        // Five records of each region, three of which fit under the cap: two files per region.
        let per_file = 1000 / f.records[0].1.len();
        assert_eq!(per_file, 3, "records of {} bytes", f.records[0].1.len());
        assert_eq!(files.len(), 4, "{files:?}");
        assert!(files.values().all(|ids| ids.len() <= per_file), "{files:?}");
        assert!(e.finished());
        e.remove_state().unwrap();
        assert!(!f.state.exists());
        std::fs::remove_dir_all(&f.root).unwrap();
    }

    #[tokio::test]
    async fn a_kms_key_change_closes_the_file_and_nothing_is_written_with_the_wrong_encryption() {
        let f = Fixture::new("kms");
        f.bucket();
        let mut e = f.engine();
        let encrypted = Arc::new(Trail {
            kms_key_id: Some("arn:aws:kms:us-east-1:111111111111:key/k".into()),
            ..(*trail(true)).clone()
        });
        e.set_versions(vec![(0, Some(trail(true))), (10, Some(encrypted))]);
        e.apply(f.records.iter().map(|(s, r)| (*s, r)), 0);
        // The records before the key was set go out in their own files, unencrypted as their trail asked; the
        // rest wait for a key that can encrypt them (this one does not exist), and are never written in plaintext.
        assert_eq!(e.settle(20, 1000).await.unwrap(), 10);
        let files = f.files().await;
        assert_eq!(files.len(), 2, "{files:?}");
        let mut ids: Vec<&String> = files.values().flatten().collect();
        ids.sort();
        let mut want: Vec<String> = (0..10).map(|s| format!("\"e{s}\"")).collect();
        want.sort();
        assert_eq!(ids, want.iter().collect::<Vec<_>>());
        assert_eq!(e.failing().as_deref(), Some("KMS.NotFoundException"));
        assert_eq!(e.status().lock().unwrap().latest_error.as_deref(), Some("KMS.NotFoundException"));
        std::fs::remove_dir_all(&f.root).unwrap();
    }

    #[tokio::test]
    async fn no_file_is_written_while_its_intent_cannot_be_saved() {
        let f = Fixture::new("save");
        f.bucket();
        let mut e = f.engine();
        // A directory where the state file should be: every save fails.
        std::fs::create_dir_all(&f.state).unwrap();
        e.apply(f.records.iter().map(|(s, r)| (*s, r)), 0);
        assert!(e.settle(20, 1000).await.is_err());
        assert!(e.settle(20, 2000).await.is_err(), "still unsaved: still refused");
        assert!(f.files().await.is_empty(), "a file whose intent is not durable is never written");
        std::fs::remove_dir(&f.state).unwrap();
        assert_eq!(e.settle(20, 3000).await.unwrap(), 20);
        assert_eq!(f.files().await.values().flatten().count(), 12);
        assert!(f.state.is_file());
        std::fs::remove_dir_all(&f.root).unwrap();
    }

    fn validating(logging: bool) -> Arc<Trail> {
        Arc::new(Trail { log_file_validation_enabled: true, ..(*trail(logging)).clone() })
    }

    /// Every digest under `p/`, oldest first per stream: (key, document, signature metadata).
    async fn digests(f: &Fixture) -> Vec<(String, cairn_integrity::digest::Document, String)> {
        let mut keys: Vec<String> =
            f.storage.list("b", "p").await.unwrap().into_iter().filter(|k| k.contains("CloudTrail-Digest/")).collect();
        keys.sort();
        let mut out = Vec::new();
        for key in keys {
            let gz = f.storage.get("b", &key).await.unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
            let meta = f.local.head("b", &key).unwrap().meta;
            assert_eq!(meta.user.get("signature-algorithm").map(String::as_str), Some("SHA256withRSA"));
            let doc: cairn_integrity::digest::Document = serde_json::from_str(&text).unwrap();
            // The signature covers end time, location, the document's hash and the previous signature.
            let signed = cairn_integrity::digest::string_to_sign(
                &doc.digest_end_time,
                "b",
                &key,
                &cairn_integrity::digest::sha256_hex(text.as_bytes()),
                doc.previous_digest_signature.as_deref(),
            );
            let region = key.split("CloudTrail-Digest/").nth(1).unwrap().split('/').next().unwrap();
            let public = f.signing.public_keys(region, 0, i64::MAX);
            let signature = cairn_integrity::digest::unhex(&meta.user["signature"]).unwrap();
            assert!(
                public.iter().any(|k| k.fingerprint == doc.digest_public_key_fingerprint
                    && cairn_integrity::verify(&k.der, signed.as_bytes(), &signature)),
                "{key} verifies"
            );
            out.push((key, doc, meta.user["signature"].clone()));
        }
        out
    }

    #[tokio::test]
    async fn a_validating_trail_chains_signed_digests_through_empty_periods_a_failure_and_a_crash() {
        let f = Fixture::new("digests");
        f.bucket();
        let mut e = f.open(SETTINGS);
        e.set_versions(vec![(0, Some(validating(true)))]);
        e.apply(f.records[..10].iter().map(|(s, r)| (*s, r)), 0);
        // The home region's chain opens at once; the other region's with its first file.
        assert_eq!(e.settle(10, 0).await.unwrap(), 0);
        assert_eq!(e.settle(10, 1000).await.unwrap(), 10);
        assert_eq!(f.files().await.len(), 2);
        assert_eq!(e.settle(10, 10_000).await.unwrap(), 10);
        assert_eq!(digests(&f).await.len(), 1, "the home chain is due, the other not yet");
        e.settle(10, 11_000).await.unwrap();
        e.settle(10, 20_000).await.unwrap();
        let got = digests(&f).await;
        assert_eq!(got.len(), 3);
        let home: Vec<_> = got.iter().filter(|(k, _, _)| k.contains("/us-east-1/")).collect();
        assert_eq!(home.len(), 2);
        assert_eq!(home[0].0, "p/AWSLogs/111111111111/CloudTrail-Digest/us-east-1/1970/01/01/111111111111_CloudTrail-Digest_us-east-1_t_us-east-1_19700101T000010Z.json.gz");
        assert_eq!(
            (home[0].1.digest_start_time.as_str(), home[0].1.digest_end_time.as_str()),
            ("1970-01-01T00:00:00Z", "1970-01-01T00:00:10Z")
        );
        assert_eq!(home[0].1.log_files.len(), 1);
        assert!(home[0].1.previous_digest_s3_object.is_none());
        // An empty period still gets its digest, linked to the previous one.
        assert!(home[1].1.log_files.is_empty());
        assert_eq!(home[1].1.previous_digest_s3_object.as_deref(), Some(home[0].0.as_str()));
        assert_eq!(home[1].1.previous_digest_signature.as_deref(), Some(home[0].2.as_str()));

        // Digests are refused for a while (a policy that admits log files only); they stay sealed in the state.
        let logs_only = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::b/p/AWSLogs/111111111111/CloudTrail/*"}]});
        f.local.set_policy("b", Some(&logs_only.to_string())).unwrap();
        e.settle(10, 30_000).await.unwrap();
        assert_eq!(e.status().lock().unwrap().latest_digest_error.as_deref(), Some("AccessDenied"));
        assert_eq!(digests(&f).await.len(), 3);
        // A crash: the sealed digests come back from the state and are written as sealed; the chain goes on.
        drop(e);
        f.local.set_policy("b", Some(&cairn_s3::access::cloudtrail_policy_for_any_trail("b"))).unwrap();
        let mut e = f.open(SETTINGS);
        e.set_versions(vec![(0, Some(validating(true))), (10, Some(validating(false)))]);
        e.apply(f.records[10..].iter().map(|(s, r)| (*s, r)), 31_000);
        // Stopped logging: a final digest of each chain, then no more.
        e.settle(20, 31_000).await.unwrap();
        e.settle(20, 90_000).await.unwrap();
        let got = digests(&f).await;
        assert_eq!(e.status().lock().unwrap().latest_digest_error, None);
        for region in ["us-east-1", "eu-west-1"] {
            let chain: Vec<_> = got.iter().filter(|(k, _, _)| k.contains(&format!("Digest/{region}/"))).collect();
            assert!(chain.len() >= 3, "{region}: {}", chain.len());
            assert!(chain[0].1.previous_digest_signature.is_none());
            for pair in chain.windows(2) {
                assert_eq!(pair[1].1.previous_digest_s3_object.as_deref(), Some(pair[0].0.as_str()), "no gap, no fork");
                assert_eq!(pair[1].1.previous_digest_signature.as_deref(), Some(pair[0].2.as_str()));
                assert_eq!(pair[1].1.digest_start_time, pair[0].1.digest_end_time);
            }
            assert_eq!(
                chain.last().unwrap().1.digest_end_time,
                "1970-01-01T00:00:31Z",
                "{region} ends when logging stopped"
            );
        }
        // Each log file is in exactly one digest, with the hash of its uncompressed content.
        let listed: Vec<_> = got.iter().flat_map(|(_, d, _)| d.log_files.clone()).collect();
        let files = f.files().await;
        assert_eq!(listed.len(), files.len());
        for l in &listed {
            let gz = f.storage.get("b", &l.s3_object).await.unwrap();
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw).unwrap();
            assert_eq!(l.hash_value, cairn_integrity::digest::sha256_hex(&raw));
            assert_eq!(l.oldest_event_time.as_deref(), Some("2026-11-20T10:00:00Z"));
        }
        std::fs::remove_dir_all(&f.root).unwrap();
    }

    #[tokio::test]
    async fn a_deleted_validating_trail_keeps_its_checkpoint_until_its_final_digests_are_written() {
        let f = Fixture::new("deleted");
        f.bucket();
        let mut e = f.open(SETTINGS);
        e.set_versions(vec![(0, Some(validating(true))), (10, None)]);
        e.apply(f.records.iter().map(|(s, r)| (*s, r)), 0);
        // The files are delivered and join new chains, whose final digests cannot be named in the same second.
        assert_eq!(e.settle(20, 1000).await.unwrap(), 9, "held before the deletion while digests are owed");
        assert!(!e.finished());
        assert_eq!(f.files().await.len(), 2);
        assert_eq!(e.settle(20, 2000).await.unwrap(), 20);
        assert!(e.finished());
        let got = digests(&f).await;
        assert_eq!(got.len(), 2, "one final digest per region");
        assert_eq!(got.iter().map(|(_, d, _)| d.log_files.len()).sum::<usize>(), 2);
        std::fs::remove_dir_all(&f.root).unwrap();
    }
}
