//! cairn's metadata catalog: trails, event data stores, channels, dashboards, resource policies, resource tags and
//! delegated administrators.
//!
//! SQLite (WAL, `synchronous=FULL`) is the durable copy; an in-memory copy answers every read. Writers are
//! serialized: [`Catalog::update`] lets a closure validate against the current state and stage changes, commits them
//! in one SQLite transaction, and only then applies them in memory, so a failed write changes nothing anywhere.
//!
//! Schema versions are kept in `PRAGMA user_version`; [`MIGRATIONS`] are applied in order at open.
//!
//! Every trail, event data store and channel change is also kept as a *version* stamped with the log position it takes effect
//! from (the position source's value while the writer lock is held), so that a consumer deciding what to do with the
//! record at sequence `s` uses the trail or store as it was configured when `s` was logged, the same way before and
//! after a restart. A deleted one leaves a version of `None`. Consumers prune versions they have passed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use cairn_model::event_config::EventConfiguration;
use cairn_model::{Channel, Dashboard, EventDataStore, Tag, Trail};
use rusqlite::{params, Connection};
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("catalog database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("catalog record {what} is corrupt: {why}")]
    Corrupt { what: String, why: String },
    #[error("catalog schema version {found} is newer than this cairn understands ({known})")]
    TooNew { found: i64, known: i64 },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Schema migrations; migration `i` takes the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: trails, tags, delegated administrators.
    "CREATE TABLE trails (
        arn TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        home_region TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE TABLE tags (
        resource_arn TEXT NOT NULL,
        position INTEGER NOT NULL,
        key TEXT NOT NULL,
        value TEXT,
        PRIMARY KEY (resource_arn, key)
    );
    CREATE TABLE delegated_admins (
        organization_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        PRIMARY KEY (organization_id, account_id)
    );",
    // 2: trail versions by log position (a NULL doc: the trail was deleted from that position).
    "CREATE TABLE trail_versions (
        arn TEXT NOT NULL,
        from_seq INTEGER NOT NULL,
        doc TEXT,
        PRIMARY KEY (arn, from_seq)
    );",
    // 3: event data stores (a JSON document per store, pending deletion included) and their versions.
    "CREATE TABLE event_data_stores (
        arn TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE TABLE store_versions (
        arn TEXT NOT NULL,
        from_seq INTEGER NOT NULL,
        doc TEXT,
        PRIMARY KEY (arn, from_seq)
    );",
    // 4: channels and their versions; dashboards; resource policies (of channels, event data stores and dashboards);
    // event configurations (of trails and event data stores).
    "CREATE TABLE channels (
        arn TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE TABLE channel_versions (
        arn TEXT NOT NULL,
        from_seq INTEGER NOT NULL,
        doc TEXT,
        PRIMARY KEY (arn, from_seq)
    );
    CREATE TABLE dashboards (
        arn TEXT PRIMARY KEY,
        doc TEXT NOT NULL
    );
    CREATE TABLE resource_policies (
        resource_arn TEXT PRIMARY KEY,
        policy TEXT NOT NULL
    );
    CREATE TABLE event_configurations (
        resource_arn TEXT PRIMARY KEY,
        doc TEXT NOT NULL
    );",
];

/// A configuration from a log position on; `None` once deleted.
pub type Version<T> = (u64, Option<Arc<T>>);
/// A trail's configuration from a log position on; `None` once deleted.
pub type TrailVersion = Version<Trail>;
/// An event data store's configuration from a log position on; `None` once deleted.
pub type StoreVersion = Version<EventDataStore>;
/// A channel's configuration from a log position on; `None` once deleted.
pub type ChannelVersion = Version<Channel>;

/// The versions of every trail or store, by ARN, ascending by position.
#[derive(Debug, Clone)]
struct Versions<T>(BTreeMap<String, Vec<Version<T>>>);

impl<T> Default for Versions<T> {
    fn default() -> Self {
        Versions(BTreeMap::new())
    }
}

impl<T> Versions<T> {
    fn of(&self, arn: &str) -> &[Version<T>] {
        self.0.get(arn).map(Vec::as_slice).unwrap_or_default()
    }

    fn push(&mut self, arn: &str, at: u64, value: Option<Arc<T>>) {
        let list = self.0.entry(arn.to_string()).or_default();
        match list.last_mut() {
            Some(last) if last.0 >= at => last.1 = value,
            _ => list.push((at, value)),
        }
    }

    fn prune(&mut self, arn: &str, below: u64) {
        if let Some(list) = self.0.get_mut(arn) {
            prune(list, below);
            if list.is_empty() {
                self.0.remove(arn);
            }
        }
    }
}

/// Where the log stands: the position new trail versions take effect from.
pub type PositionSource = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The catalog's contents, as every reader sees them.
#[derive(Debug, Default, Clone)]
pub struct State {
    trails: BTreeMap<String, Trail>,
    tags: HashMap<String, Vec<Tag>>,
    delegated_admins: BTreeSet<(String, String)>,
    versions: Versions<Trail>,
    stores: BTreeMap<String, EventDataStore>,
    store_versions: Versions<EventDataStore>,
    channels: BTreeMap<String, Channel>,
    channel_versions: Versions<Channel>,
    dashboards: BTreeMap<String, Dashboard>,
    policies: HashMap<String, String>,
    event_configurations: HashMap<String, EventConfiguration>,
}

impl State {
    /// Every trail ARN with versions (current trails and deleted ones not yet passed by their consumers).
    pub fn versioned_trails(&self) -> impl Iterator<Item = (&str, &[TrailVersion])> {
        self.versions.0.iter().map(|(a, v)| (a.as_str(), v.as_slice()))
    }

    /// The versions of one trail, ascending by position.
    pub fn trail_versions(&self, arn: &str) -> &[TrailVersion] {
        self.versions.of(arn)
    }

    /// Every event data store ARN with versions (current stores and removed ones not yet passed by the consumer).
    pub fn versioned_stores(&self) -> impl Iterator<Item = (&str, &[StoreVersion])> {
        self.store_versions.0.iter().map(|(a, v)| (a.as_str(), v.as_slice()))
    }

    /// Every event data store of every account (pending deletion included), ordered by ARN.
    pub fn stores(&self) -> impl Iterator<Item = &EventDataStore> {
        self.stores.values()
    }

    pub fn store(&self, arn: &str) -> Option<&EventDataStore> {
        self.stores.get(arn)
    }

    /// Every channel of every account, ordered by ARN.
    pub fn channels(&self) -> impl Iterator<Item = &Channel> {
        self.channels.values()
    }

    pub fn channel(&self, arn: &str) -> Option<&Channel> {
        self.channels.get(arn)
    }

    /// Every channel ARN with versions (current channels and deleted ones not yet passed by the Lake).
    pub fn versioned_channels(&self) -> impl Iterator<Item = (&str, &[ChannelVersion])> {
        self.channel_versions.0.iter().map(|(a, v)| (a.as_str(), v.as_slice()))
    }

    /// The versions of one channel, ascending by position.
    pub fn channel_versions(&self, arn: &str) -> &[ChannelVersion] {
        self.channel_versions.of(arn)
    }

    /// Every dashboard of every account, ordered by ARN.
    pub fn dashboards(&self) -> impl Iterator<Item = &Dashboard> {
        self.dashboards.values()
    }

    pub fn dashboard(&self, arn: &str) -> Option<&Dashboard> {
        self.dashboards.get(arn)
    }

    /// The event configuration of a trail or event data store (the default when none was put).
    pub fn event_configuration(&self, arn: &str) -> EventConfiguration {
        self.event_configurations.get(arn).cloned().unwrap_or_default()
    }

    /// The resource policy attached to a channel, event data store or dashboard.
    pub fn resource_policy(&self, arn: &str) -> Option<&str> {
        self.policies.get(arn).map(String::as_str)
    }

    /// Every trail of every account, ordered by ARN.
    pub fn trails(&self) -> impl Iterator<Item = &Trail> {
        self.trails.values()
    }

    pub fn trail(&self, arn: &str) -> Option<&Trail> {
        self.trails.get(arn)
    }

    pub fn tags(&self, arn: &str) -> &[Tag] {
        self.tags.get(arn).map(Vec::as_slice).unwrap_or_default()
    }

    /// Delegated administrator accounts of an organization.
    pub fn delegated_admins<'a>(&'a self, organization_id: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.delegated_admins.iter().filter(move |(o, _)| o == organization_id).map(|(_, a)| a.as_str())
    }

    fn apply(&mut self, change: Change, at: u64) {
        match change {
            Change::PutTrail(t) => {
                let arn = t.arn();
                self.versions.push(&arn, at, Some(Arc::new((*t).clone())));
                self.trails.insert(arn, *t);
            }
            Change::DeleteTrail(arn) => {
                self.versions.push(&arn, at, None);
                self.trails.remove(&arn);
                self.tags.remove(&arn);
                self.event_configurations.remove(&arn);
            }
            Change::SetEventConfiguration(arn, c) => {
                self.event_configurations.insert(arn, c);
            }
            Change::PruneVersions(arn, below) => self.versions.prune(&arn, below),
            Change::PutStore(store) => {
                let arn = store.arn();
                self.store_versions.push(&arn, at, Some(Arc::new((*store).clone())));
                self.stores.insert(arn, *store);
            }
            Change::RemoveStore(arn) => {
                self.store_versions.push(&arn, at, None);
                self.stores.remove(&arn);
                self.tags.remove(&arn);
                self.policies.remove(&arn);
                self.event_configurations.remove(&arn);
            }
            Change::PutChannel(channel) => {
                let arn = channel.arn();
                self.channel_versions.push(&arn, at, Some(Arc::new((*channel).clone())));
                self.channels.insert(arn, *channel);
            }
            Change::DeleteChannel(arn) => {
                self.channel_versions.push(&arn, at, None);
                self.channels.remove(&arn);
                self.tags.remove(&arn);
                self.policies.remove(&arn);
            }
            Change::PruneChannelVersions(arn, below) => self.channel_versions.prune(&arn, below),
            Change::PutDashboard(d) => {
                self.dashboards.insert(d.arn(), *d);
            }
            Change::DeleteDashboard(arn) => {
                self.dashboards.remove(&arn);
                self.tags.remove(&arn);
                self.policies.remove(&arn);
            }
            Change::SetPolicy(arn, policy) => match policy {
                Some(p) => {
                    self.policies.insert(arn, p);
                }
                None => {
                    self.policies.remove(&arn);
                }
            },
            Change::PruneStoreVersions(arn, below) => self.store_versions.prune(&arn, below),
            Change::SetTags(arn, tags) => {
                self.tags.insert(arn, tags);
            }
            Change::AddDelegatedAdmin(o, a) => {
                self.delegated_admins.insert((o, a));
            }
            Change::RemoveDelegatedAdmin(o, a) => {
                self.delegated_admins.remove(&(o, a));
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Change {
    PutTrail(Box<Trail>),
    DeleteTrail(String),
    SetTags(String, Vec<Tag>),
    AddDelegatedAdmin(String, String),
    RemoveDelegatedAdmin(String, String),
    PruneVersions(String, u64),
    PutStore(Box<EventDataStore>),
    RemoveStore(String),
    PruneStoreVersions(String, u64),
    PutChannel(Box<Channel>),
    DeleteChannel(String),
    PruneChannelVersions(String, u64),
    PutDashboard(Box<Dashboard>),
    DeleteDashboard(String),
    SetPolicy(String, Option<String>),
    SetEventConfiguration(String, EventConfiguration),
}

/// Drops the versions no record at or above `below` can use: all before the one in effect at `below`, and that one
/// too when it is a deletion.
fn prune<T>(list: &mut Vec<Version<T>>, below: u64) {
    let in_effect = list.iter().rposition(|(at, _)| *at <= below);
    if let Some(i) = in_effect {
        let drop_to = if list[i].1.is_none() { i + 1 } else { i };
        list.drain(..drop_to);
    }
}

/// Changes staged by one [`Catalog::update`], committed together or not at all.
#[derive(Debug, Default)]
pub struct Changes(Vec<Change>);

impl Changes {
    pub fn put_trail(&mut self, trail: Trail) {
        self.0.push(Change::PutTrail(Box::new(trail)));
    }

    /// Deletes a trail and its tags.
    pub fn delete_trail(&mut self, arn: String) {
        self.0.push(Change::DeleteTrail(arn));
    }

    pub fn set_tags(&mut self, arn: String, tags: Vec<Tag>) {
        self.0.push(Change::SetTags(arn, tags));
    }

    pub fn add_delegated_admin(&mut self, organization_id: String, account_id: String) {
        self.0.push(Change::AddDelegatedAdmin(organization_id, account_id));
    }

    pub fn remove_delegated_admin(&mut self, organization_id: String, account_id: String) {
        self.0.push(Change::RemoveDelegatedAdmin(organization_id, account_id));
    }

    /// Forgets the versions of trail `arn` that no record at or past position `below` uses.
    pub fn prune_versions(&mut self, arn: String, below: u64) {
        self.0.push(Change::PruneVersions(arn, below));
    }

    /// Creates or changes an event data store (its status included).
    pub fn put_store(&mut self, store: EventDataStore) {
        self.0.push(Change::PutStore(Box::new(store)));
    }

    /// Forgets an event data store for good (its tags too); its data is the caller's to remove.
    pub fn remove_store(&mut self, arn: String) {
        self.0.push(Change::RemoveStore(arn));
    }

    /// Forgets the versions of store `arn` that no record at or past position `below` uses.
    pub fn prune_store_versions(&mut self, arn: String, below: u64) {
        self.0.push(Change::PruneStoreVersions(arn, below));
    }

    /// Creates or changes a channel.
    pub fn put_channel(&mut self, channel: Channel) {
        self.0.push(Change::PutChannel(Box::new(channel)));
    }

    /// Deletes a channel, its tags and its resource policy.
    pub fn delete_channel(&mut self, arn: String) {
        self.0.push(Change::DeleteChannel(arn));
    }

    /// Forgets the versions of channel `arn` that no record at or past position `below` uses.
    pub fn prune_channel_versions(&mut self, arn: String, below: u64) {
        self.0.push(Change::PruneChannelVersions(arn, below));
    }

    /// Sets the event configuration of a trail or event data store.
    pub fn set_event_configuration(&mut self, arn: String, configuration: EventConfiguration) {
        self.0.push(Change::SetEventConfiguration(arn, configuration));
    }

    /// Creates or changes a dashboard (its refresh state included).
    pub fn put_dashboard(&mut self, dashboard: Dashboard) {
        self.0.push(Change::PutDashboard(Box::new(dashboard)));
    }

    /// Deletes a dashboard, its tags and its resource policy.
    pub fn delete_dashboard(&mut self, arn: String) {
        self.0.push(Change::DeleteDashboard(arn));
    }

    /// Attaches (`Some`) or removes (`None`) the resource policy of a channel, event data store or dashboard.
    pub fn set_resource_policy(&mut self, arn: String, policy: Option<String>) {
        self.0.push(Change::SetPolicy(arn, policy));
    }
}

pub struct Catalog {
    writer: Mutex<Connection>,
    state: RwLock<State>,
    position: RwLock<Option<PositionSource>>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").field("state", &self.state).finish_non_exhaustive()
    }
}

impl Catalog {
    /// Opens (creating if needed) the catalog at `path`, migrates it and loads it into memory.
    pub fn open(path: &Path) -> Result<Catalog> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        let state = load(&conn)?;
        Ok(Catalog { writer: Mutex::new(conn), state: RwLock::new(state), position: RwLock::new(None) })
    }

    /// Sets where trail versions read the log position from (until set, versions take effect from position 0).
    pub fn set_position_source(&self, source: PositionSource) {
        *self.position.write().unwrap_or_else(|e| e.into_inner()) = Some(source);
    }

    fn position(&self) -> u64 {
        self.position.read().unwrap_or_else(|e| e.into_inner()).as_ref().map_or(0, |p| p())
    }

    /// Runs `f` with the log position and the state while no write is under way, so that every trail version taking
    /// effect at or below that position is in the state `f` sees. A consumer that read records below a position `p`
    /// and then calls this sees every version those records fall under.
    pub fn settled<T>(&self, f: impl FnOnce(u64, &State) -> T) -> T {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let position = self.position();
        f(position, &self.state.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Runs `f` against the current state.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Runs `f` with the current state and a change set; if it succeeds, its changes are made durable and then
    /// visible. Writers are serialized, so what `f` validated still holds when its changes apply. The outer error is
    /// the catalog's own failure (nothing changed); the inner result is `f`'s.
    pub fn update<T, E>(&self, f: impl FnOnce(&State, &mut Changes) -> Result<T, E>) -> Result<Result<T, E>> {
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut changes = Changes::default();
        let out = match f(&self.state.read().unwrap_or_else(|e| e.into_inner()), &mut changes) {
            Ok(out) => out,
            Err(e) => return Ok(Err(e)),
        };
        if !changes.0.is_empty() {
            let at = self.position();
            persist(&mut conn, &changes.0, at)?;
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            for c in changes.0 {
                state.apply(c, at);
            }
        }
        Ok(Ok(out))
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(Error::TooNew { found: version, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn load(conn: &Connection) -> Result<State> {
    let mut state = State::default();
    let mut stmt = conn.prepare("SELECT arn, doc FROM trails")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (arn, doc) = row?;
        let trail: Trail = serde_json::from_str(&doc)
            .map_err(|e| Error::Corrupt { what: format!("trail {arn}"), why: e.to_string() })?;
        state.trails.insert(arn, trail);
    }
    let mut stmt = conn.prepare("SELECT resource_arn, key, value FROM tags ORDER BY resource_arn, position")?;
    let rows =
        stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?)))?;
    for row in rows {
        let (arn, key, value) = row?;
        state.tags.entry(arn).or_default().push(Tag { key, value });
    }
    let mut stmt = conn.prepare("SELECT organization_id, account_id FROM delegated_admins")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        state.delegated_admins.insert(row?);
    }
    state.versions = load_versions(conn, "trail_versions", "trail")?;
    // Trails from before versions were kept take effect from the start of the log.
    let unversioned: Vec<Trail> =
        state.trails.values().filter(|t| !state.versions.0.contains_key(&t.arn())).cloned().collect();
    for t in unversioned {
        state.versions.0.insert(t.arn(), vec![(0, Some(Arc::new(t)))]);
    }
    let mut stmt = conn.prepare("SELECT arn, doc FROM event_data_stores")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (arn, doc) = row?;
        let store: EventDataStore = serde_json::from_str(&doc)
            .map_err(|e| Error::Corrupt { what: format!("event data store {arn}"), why: e.to_string() })?;
        state.stores.insert(arn, store);
    }
    state.store_versions = load_versions(conn, "store_versions", "event data store")?;
    let mut stmt = conn.prepare("SELECT arn, doc FROM channels")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (arn, doc) = row?;
        let channel: Channel = serde_json::from_str(&doc)
            .map_err(|e| Error::Corrupt { what: format!("channel {arn}"), why: e.to_string() })?;
        state.channels.insert(arn, channel);
    }
    state.channel_versions = load_versions(conn, "channel_versions", "channel")?;
    let mut stmt = conn.prepare("SELECT arn, doc FROM dashboards")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (arn, doc) = row?;
        let dashboard: Dashboard = serde_json::from_str(&doc)
            .map_err(|e| Error::Corrupt { what: format!("dashboard {arn}"), why: e.to_string() })?;
        state.dashboards.insert(arn, dashboard);
    }
    let mut stmt = conn.prepare("SELECT resource_arn, doc FROM event_configurations")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (arn, doc) = row?;
        let c: EventConfiguration = serde_json::from_str(&doc)
            .map_err(|e| Error::Corrupt { what: format!("event configuration of {arn}"), why: e.to_string() })?;
        state.event_configurations.insert(arn, c);
    }
    let mut stmt = conn.prepare("SELECT resource_arn, policy FROM resource_policies")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (arn, policy) = row?;
        state.policies.insert(arn, policy);
    }
    Ok(state)
}

/// Loads a versions table (`trail_versions`, `store_versions`).
fn load_versions<T: DeserializeOwned>(conn: &Connection, table: &str, what: &str) -> Result<Versions<T>> {
    let mut versions = Versions::default();
    let mut stmt = conn.prepare(&format!("SELECT arn, from_seq, doc FROM {table} ORDER BY arn, from_seq"))?;
    let rows =
        stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<String>>(2)?)))?;
    for row in rows {
        let (arn, at, doc) = row?;
        let value = doc
            .map(|d| serde_json::from_str::<T>(&d))
            .transpose()
            .map_err(|e| Error::Corrupt { what: format!("{what} version {arn}@{at}"), why: e.to_string() })?;
        versions.0.entry(arn).or_default().push((at as u64, value.map(Arc::new)));
    }
    Ok(versions)
}

/// Records a version at `at` in `table`, replacing one at the same position; a version never lands before the last
/// one.
fn persist_version(tx: &rusqlite::Transaction<'_>, table: &str, arn: &str, at: u64, doc: Option<&str>) -> Result<()> {
    let last: Option<i64> =
        tx.query_row(&format!("SELECT max(from_seq) FROM {table} WHERE arn = ?1"), [arn], |r| r.get(0))?;
    let at = last.map_or(at as i64, |l| l.max(at as i64));
    tx.execute(
        &format!(
            "INSERT INTO {table} (arn, from_seq, doc) VALUES (?1, ?2, ?3)
             ON CONFLICT (arn, from_seq) DO UPDATE SET doc = excluded.doc"
        ),
        params![arn, at, doc],
    )?;
    Ok(())
}

/// Deletes the versions of `arn` in `table` that no record at or past `below` uses (as [`prune`]).
fn prune_persisted(tx: &rusqlite::Transaction<'_>, table: &str, arn: &str, below: u64) -> Result<()> {
    let mut list: Vec<(i64, bool)> = tx
        .prepare(&format!("SELECT from_seq, doc IS NULL FROM {table} WHERE arn = ?1 ORDER BY from_seq"))?
        .query_map([arn], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if let Some(i) = list.iter().rposition(|(at, _)| *at as u64 <= below) {
        let drop_to = if list[i].1 { i + 1 } else { i };
        for (at, _) in list.drain(..drop_to) {
            tx.execute(&format!("DELETE FROM {table} WHERE arn = ?1 AND from_seq = ?2"), params![arn, at])?;
        }
    }
    Ok(())
}

fn persist(conn: &mut Connection, changes: &[Change], at: u64) -> Result<()> {
    let tx = conn.transaction()?;
    for change in changes {
        match change {
            Change::PutTrail(t) => {
                let doc = serde_json::to_string(t).map_err(|e| Error::Corrupt { what: t.arn(), why: e.to_string() })?;
                tx.execute(
                    "INSERT INTO trails (arn, account_id, name, home_region, doc) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (arn) DO UPDATE SET doc = excluded.doc",
                    params![t.arn(), t.account_id, t.name, t.home_region, doc],
                )?;
                persist_version(&tx, "trail_versions", &t.arn(), at, Some(&doc))?;
            }
            Change::DeleteTrail(arn) => {
                tx.execute("DELETE FROM trails WHERE arn = ?1", [arn])?;
                tx.execute("DELETE FROM tags WHERE resource_arn = ?1", [arn])?;
                tx.execute("DELETE FROM event_configurations WHERE resource_arn = ?1", [arn])?;
                persist_version(&tx, "trail_versions", arn, at, None)?;
            }
            Change::PruneVersions(arn, below) => prune_persisted(&tx, "trail_versions", arn, *below)?,
            Change::PutStore(store) => {
                let arn = store.arn();
                let doc = serde_json::to_string(store)
                    .map_err(|e| Error::Corrupt { what: arn.clone(), why: e.to_string() })?;
                tx.execute(
                    "INSERT INTO event_data_stores (arn, account_id, region, doc) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (arn) DO UPDATE SET doc = excluded.doc",
                    params![arn, store.account_id, store.region, doc],
                )?;
                persist_version(&tx, "store_versions", &arn, at, Some(&doc))?;
            }
            Change::RemoveStore(arn) => {
                tx.execute("DELETE FROM event_data_stores WHERE arn = ?1", [arn])?;
                tx.execute("DELETE FROM tags WHERE resource_arn = ?1", [arn])?;
                tx.execute("DELETE FROM event_configurations WHERE resource_arn = ?1", [arn])?;
                tx.execute("DELETE FROM resource_policies WHERE resource_arn = ?1", [arn])?;
                persist_version(&tx, "store_versions", arn, at, None)?;
            }
            Change::PutChannel(channel) => {
                let arn = channel.arn();
                let doc = serde_json::to_string(channel)
                    .map_err(|e| Error::Corrupt { what: arn.clone(), why: e.to_string() })?;
                tx.execute(
                    "INSERT INTO channels (arn, account_id, region, doc) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (arn) DO UPDATE SET doc = excluded.doc",
                    params![arn, channel.account_id, channel.region, doc],
                )?;
                persist_version(&tx, "channel_versions", &arn, at, Some(&doc))?;
            }
            Change::DeleteChannel(arn) => {
                tx.execute("DELETE FROM channels WHERE arn = ?1", [arn])?;
                tx.execute("DELETE FROM tags WHERE resource_arn = ?1", [arn])?;
                tx.execute("DELETE FROM resource_policies WHERE resource_arn = ?1", [arn])?;
                persist_version(&tx, "channel_versions", arn, at, None)?;
            }
            Change::PruneChannelVersions(arn, below) => prune_persisted(&tx, "channel_versions", arn, *below)?,
            Change::PutDashboard(d) => {
                let arn = d.arn();
                let doc =
                    serde_json::to_string(d).map_err(|e| Error::Corrupt { what: arn.clone(), why: e.to_string() })?;
                tx.execute(
                    "INSERT INTO dashboards (arn, doc) VALUES (?1, ?2) ON CONFLICT (arn) DO UPDATE SET doc = excluded.doc",
                    params![arn, doc],
                )?;
            }
            Change::DeleteDashboard(arn) => {
                tx.execute("DELETE FROM dashboards WHERE arn = ?1", [arn])?;
                tx.execute("DELETE FROM tags WHERE resource_arn = ?1", [arn])?;
                tx.execute("DELETE FROM resource_policies WHERE resource_arn = ?1", [arn])?;
            }
            Change::SetEventConfiguration(arn, c) => {
                let doc =
                    serde_json::to_string(c).map_err(|e| Error::Corrupt { what: arn.clone(), why: e.to_string() })?;
                tx.execute(
                    "INSERT INTO event_configurations (resource_arn, doc) VALUES (?1, ?2)
                     ON CONFLICT (resource_arn) DO UPDATE SET doc = excluded.doc",
                    params![arn, doc],
                )?;
            }
            Change::SetPolicy(arn, policy) => match policy {
                Some(p) => {
                    tx.execute(
                        "INSERT INTO resource_policies (resource_arn, policy) VALUES (?1, ?2)
                         ON CONFLICT (resource_arn) DO UPDATE SET policy = excluded.policy",
                        params![arn, p],
                    )?;
                }
                None => {
                    tx.execute("DELETE FROM resource_policies WHERE resource_arn = ?1", [arn])?;
                }
            },
            Change::PruneStoreVersions(arn, below) => prune_persisted(&tx, "store_versions", arn, *below)?,
            Change::SetTags(arn, tags) => {
                tx.execute("DELETE FROM tags WHERE resource_arn = ?1", [arn])?;
                for (i, t) in tags.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO tags (resource_arn, position, key, value) VALUES (?1, ?2, ?3, ?4)",
                        params![arn, i as i64, t.key, t.value],
                    )?;
                }
            }
            Change::AddDelegatedAdmin(o, a) => {
                tx.execute(
                    "INSERT OR IGNORE INTO delegated_admins (organization_id, account_id) VALUES (?1, ?2)",
                    [o, a],
                )?;
            }
            Change::RemoveDelegatedAdmin(o, a) => {
                tx.execute("DELETE FROM delegated_admins WHERE organization_id = ?1 AND account_id = ?2", [o, a])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trail(name: &str) -> Trail {
        Trail::new("123456789012", name, "us-east-1", "bucket")
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("cairn-catalog-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn changes_survive_reopen_and_failures_change_nothing() {
        let dir = temp_dir("reopen");
        let path = dir.join("catalog.sqlite");
        {
            let cat = Catalog::open(&path).unwrap();
            cat.update::<_, ()>(|_, c| {
                c.put_trail(trail("one"));
                c.put_trail(trail("two"));
                c.set_tags(
                    trail("one").arn(),
                    vec![Tag { key: "b".into(), value: None }, Tag { key: "a".into(), value: Some("1".into()) }],
                );
                c.add_delegated_admin("o-1".into(), "222222222222".into());
                Ok(())
            })
            .unwrap()
            .unwrap();
            cat.update::<_, ()>(|_, c| {
                c.delete_trail(trail("two").arn());
                Ok(())
            })
            .unwrap()
            .unwrap();
            let failed = cat.update(|_, c| {
                c.delete_trail(trail("one").arn());
                Err::<(), _>("refused")
            });
            assert_eq!(failed.unwrap(), Err("refused"));
            assert!(cat.read(|s| s.trail(&trail("one").arn()).is_some()));
        }
        let cat = Catalog::open(&path).unwrap();
        cat.read(|s| {
            assert_eq!(s.trails().map(|t| t.name.as_str()).collect::<Vec<_>>(), vec!["one"]);
            assert_eq!(s.tags(&trail("one").arn())[0].key, "b");
            assert_eq!(s.delegated_admins("o-1").collect::<Vec<_>>(), vec!["222222222222"]);
        });
        let version: i64 = Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn trail_versions_follow_the_position_and_survive_reopen() {
        let dir = temp_dir("versions");
        let path = dir.join("catalog.sqlite");
        let pos = Arc::new(std::sync::atomic::AtomicU64::new(10));
        let change = |cat: &Catalog, f: &dyn Fn(&mut Changes)| {
            cat.update::<_, ()>(|_, c| {
                f(c);
                Ok(())
            })
            .unwrap()
            .unwrap()
        };
        let put = |cat: &Catalog, t: Trail| change(cat, &|c| c.put_trail(t.clone()));
        let versions = |cat: &Catalog| {
            cat.settled(|_, s| {
                s.trail_versions(&trail("t").arn())
                    .iter()
                    .map(|(at, t)| (*at, t.as_ref().map(|t| t.logging.is_logging)))
                    .collect::<Vec<_>>()
            })
        };
        {
            let cat = Catalog::open(&path).unwrap();
            let p = Arc::clone(&pos);
            cat.set_position_source(Arc::new(move || p.load(std::sync::atomic::Ordering::SeqCst)));
            put(&cat, trail("t"));
            let mut on = trail("t");
            on.logging.is_logging = true;
            // Two changes at one position: the later wins.
            pos.store(20, std::sync::atomic::Ordering::SeqCst);
            put(&cat, trail("t"));
            put(&cat, on);
            pos.store(30, std::sync::atomic::Ordering::SeqCst);
            change(&cat, &|c| c.delete_trail(trail("t").arn()));
            assert_eq!(versions(&cat), vec![(10, Some(false)), (20, Some(true)), (30, None)]);
            assert_eq!(cat.settled(|p, _| p), 30);
        }
        let cat = Catalog::open(&path).unwrap();
        assert_eq!(versions(&cat), vec![(10, Some(false)), (20, Some(true)), (30, None)]);
        // Below 25: the version in effect at 25 (20) and the later ones stay.
        change(&cat, &|c| c.prune_versions(trail("t").arn(), 25));
        assert_eq!(versions(&cat), vec![(20, Some(true)), (30, None)]);
        // Past the deletion nothing is left.
        change(&cat, &|c| c.prune_versions(trail("t").arn(), 30));
        assert!(versions(&cat).is_empty());
        drop(cat);
        let cat = Catalog::open(&path).unwrap();
        assert!(versions(&cat).is_empty());
        assert_eq!(cat.read(|s| s.versioned_trails().count()), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn channels_and_resource_policies_survive_reopen_and_leave_with_their_resource() {
        let dir = temp_dir("channels");
        let path = dir.join("catalog.sqlite");
        let channel = Channel {
            id: "c-1".into(),
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            name: "app".into(),
            source: "Custom".into(),
            destinations: vec!["arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/s-1".into()],
            created_ms: 1,
        };
        let arn = channel.arn();
        let update = |cat: &Catalog, f: &dyn Fn(&mut Changes)| {
            cat.update::<_, ()>(|_, c| {
                f(c);
                Ok(())
            })
            .unwrap()
            .unwrap()
        };
        {
            let cat = Catalog::open(&path).unwrap();
            update(&cat, &|c| {
                c.put_channel(channel.clone());
                c.set_resource_policy(arn.clone(), Some("{\"Statement\":[]}".into()));
                c.set_resource_policy(
                    "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/s-1".into(),
                    Some("p".into()),
                );
            });
        }
        let cat = Catalog::open(&path).unwrap();
        cat.read(|s| {
            assert_eq!(s.channel(&arn), Some(&channel));
            assert_eq!(s.resource_policy(&arn), Some("{\"Statement\":[]}"));
            assert_eq!(s.channel_versions(&arn).len(), 1);
        });
        update(&cat, &|c| {
            c.set_resource_policy("arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/s-1".into(), None)
        });
        update(&cat, &|c| c.delete_channel(arn.clone()));
        drop(cat);
        let cat = Catalog::open(&path).unwrap();
        cat.read(|s| {
            assert_eq!(s.channels().count(), 0);
            assert_eq!(s.resource_policy(&arn), None);
            assert_eq!(s.resource_policy("arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/s-1"), None);
            // The deletion stays a version until the Lake has passed it.
            assert!(s.channel_versions(&arn).last().is_some_and(|(_, c)| c.is_none()));
        });
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn refuses_newer_schema() {
        let dir = temp_dir("newer");
        let path = dir.join("catalog.sqlite");
        Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(Catalog::open(&path), Err(Error::TooNew { found: 99, .. })));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
