//! cairn's metadata catalog: trails, resource tags and delegated administrators.
//!
//! SQLite (WAL, `synchronous=FULL`) is the durable copy; an in-memory copy answers every read. Writers are
//! serialized: [`Catalog::update`] lets a closure validate against the current state and stage changes, commits them
//! in one SQLite transaction, and only then applies them in memory, so a failed write changes nothing anywhere.
//!
//! Schema versions are kept in `PRAGMA user_version`; [`MIGRATIONS`] are applied in order at open.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Mutex, RwLock};

use cairn_model::{Tag, Trail};
use rusqlite::{params, Connection};

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
];

/// The catalog's contents, as every reader sees them.
#[derive(Debug, Default, Clone)]
pub struct State {
    trails: BTreeMap<String, Trail>,
    tags: HashMap<String, Vec<Tag>>,
    delegated_admins: BTreeSet<(String, String)>,
}

impl State {
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

    fn apply(&mut self, change: Change) {
        match change {
            Change::PutTrail(t) => {
                self.trails.insert(t.arn(), *t);
            }
            Change::DeleteTrail(arn) => {
                self.trails.remove(&arn);
                self.tags.remove(&arn);
            }
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
}

#[derive(Debug)]
pub struct Catalog {
    writer: Mutex<Connection>,
    state: RwLock<State>,
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
        Ok(Catalog { writer: Mutex::new(conn), state: RwLock::new(state) })
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
            persist(&mut conn, &changes.0)?;
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            for c in changes.0 {
                state.apply(c);
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
    Ok(state)
}

fn persist(conn: &mut Connection, changes: &[Change]) -> Result<()> {
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
            }
            Change::DeleteTrail(arn) => {
                tx.execute("DELETE FROM trails WHERE arn = ?1", [arn])?;
                tx.execute("DELETE FROM tags WHERE resource_arn = ?1", [arn])?;
            }
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
    use cairn_model::{EventSelectors, LoggingState};

    fn trail(name: &str) -> Trail {
        Trail {
            account_id: "123456789012".into(),
            name: name.into(),
            home_region: "us-east-1".into(),
            s3_bucket_name: "bucket".into(),
            s3_key_prefix: None,
            sns_topic_name: None,
            include_global_service_events: true,
            is_multi_region_trail: false,
            log_file_validation_enabled: false,
            cloud_watch_logs_log_group_arn: None,
            cloud_watch_logs_role_arn: None,
            kms_key_id: None,
            organization_id: None,
            recursive_logging: None,
            event_selectors: EventSelectors::default(),
            has_custom_event_selectors: false,
            insight_selectors: vec![],
            logging: LoggingState::default(),
            created_at: 0,
        }
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
    fn refuses_newer_schema() {
        let dir = temp_dir("newer");
        let path = dir.join("catalog.sqlite");
        Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(Catalog::open(&path), Err(Error::TooNew { found: 99, .. })));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
