//! Where keys, aliases and tags are kept: one SQLite database (WAL, synchronous FULL), so a key acknowledged to its
//! creator survives any crash. Key material is stored wrapped; this module never sees it in plaintext.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};

/// A key's lifecycle state, as KMS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
}

impl KeyState {
    pub fn name(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
        }
    }

    fn parse(s: &str) -> KeyState {
        match s {
            "Enabled" => KeyState::Enabled,
            "PendingDeletion" => KeyState::PendingDeletion,
            _ => KeyState::Disabled,
        }
    }
}

/// A key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub id: String,
    pub account: String,
    pub region: String,
    pub description: String,
    pub state: KeyState,
    pub created_ms: i64,
    /// When a key pending deletion is deleted.
    pub deletion_ms: Option<i64>,
    pub pending_days: Option<u32>,
    pub policy: String,
    /// The material, wrapped under the master key.
    pub wrapped: Vec<u8>,
}

impl Key {
    pub fn arn(&self) -> String {
        format!("arn:aws:kms:{}:{}:key/{}", self.region, self.account, self.id)
    }
}

/// An alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub account: String,
    pub region: String,
    /// `alias/...`.
    pub name: String,
    pub key_id: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Alias {
    pub fn arn(&self) -> String {
        format!("arn:aws:kms:{}:{}:{}", self.region, self.account, self.name)
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    deletion_ms INTEGER,
    pending_days INTEGER,
    policy TEXT NOT NULL,
    wrapped BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS keys_by_owner ON keys (account, region, id);
CREATE TABLE IF NOT EXISTS aliases (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (account, region, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tags (
    key_id TEXT NOT NULL,
    tag_key TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (key_id, tag_key)
) WITHOUT ROWID;
";

pub type Result<T> = std::result::Result<T, rusqlite::Error>;

#[derive(Debug)]
pub struct KeyStore {
    db: Mutex<Connection>,
}

const KEY_COLUMNS: &str =
    "id, account, region, description, state, created_ms, deletion_ms, pending_days, policy, wrapped";

fn key_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Key> {
    Ok(Key {
        id: r.get(0)?,
        account: r.get(1)?,
        region: r.get(2)?,
        description: r.get(3)?,
        state: KeyState::parse(&r.get::<_, String>(4)?),
        created_ms: r.get(5)?,
        deletion_ms: r.get(6)?,
        pending_days: r.get(7)?,
        policy: r.get(8)?,
        wrapped: r.get(9)?,
    })
}

fn alias_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Alias> {
    Ok(Alias {
        account: r.get(0)?,
        region: r.get(1)?,
        name: r.get(2)?,
        key_id: r.get(3)?,
        created_ms: r.get(4)?,
        updated_ms: r.get(5)?,
    })
}

impl KeyStore {
    pub fn open(path: &Path) -> Result<KeyStore> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(KeyStore { db: Mutex::new(conn) })
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn insert(&self, k: &Key, tags: &[(String, String)]) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            &format!("INSERT INTO keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
            params![
                k.id,
                k.account,
                k.region,
                k.description,
                k.state.name(),
                k.created_ms,
                k.deletion_ms,
                k.pending_days,
                k.policy,
                k.wrapped
            ],
        )?;
        for (key, value) in tags {
            tx.execute("INSERT OR REPLACE INTO tags VALUES (?1, ?2, ?3)", params![k.id, key, value])?;
        }
        tx.commit()
    }

    pub fn key(&self, id: &str) -> Result<Option<Key>> {
        self.db()
            .query_row(&format!("SELECT {KEY_COLUMNS} FROM keys WHERE id = ?1"), params![id], key_from_row)
            .optional()
    }

    /// Keys of an account in a region, ordered by id, after `after`; at most `limit`.
    pub fn keys(&self, account: &str, region: &str, after: &str, limit: usize) -> Result<Vec<Key>> {
        let db = self.db();
        let mut q = db.prepare(&format!(
            "SELECT {KEY_COLUMNS} FROM keys WHERE account = ?1 AND region = ?2 AND id > ?3 ORDER BY id LIMIT ?4"
        ))?;
        let rows = q.query_map(params![account, region, after, limit as i64], key_from_row)?;
        rows.collect()
    }

    /// Sets a key's state and deletion schedule if its state is still one of `from` (a check and a write in one
    /// statement, so concurrent calls cannot undo each other); false if the key is gone or in another state.
    pub fn set_state(
        &self,
        id: &str,
        from: &[KeyState],
        state: KeyState,
        deletion: Option<(i64, u32)>,
    ) -> Result<bool> {
        let from: Vec<&str> = from.iter().map(|s| s.name()).collect();
        let n = self.db().execute(
            "UPDATE keys SET state = ?2, deletion_ms = ?3, pending_days = ?4
             WHERE id = ?1 AND state IN (SELECT value FROM json_each(?5))",
            params![
                id,
                state.name(),
                deletion.map(|d| d.0),
                deletion.map(|d| d.1),
                serde_json::to_string(&from).unwrap_or_default()
            ],
        )?;
        Ok(n == 1)
    }

    pub fn set_policy(&self, id: &str, policy: &str) -> Result<bool> {
        Ok(self.db().execute("UPDATE keys SET policy = ?2 WHERE id = ?1", params![id, policy])? == 1)
    }

    /// Deletes the keys whose waiting period has passed, with their aliases and tags; returns their ids.
    pub fn delete_due(&self, now_ms: i64) -> Result<Vec<String>> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let due: Vec<String> = {
            let mut q = tx.prepare("SELECT id FROM keys WHERE state = 'PendingDeletion' AND deletion_ms <= ?1")?;
            let rows = q.query_map(params![now_ms], |r| r.get(0))?;
            rows.collect::<Result<_>>()?
        };
        for id in &due {
            tx.execute("DELETE FROM keys WHERE id = ?1", params![id])?;
            tx.execute("DELETE FROM aliases WHERE key_id = ?1", params![id])?;
            tx.execute("DELETE FROM tags WHERE key_id = ?1", params![id])?;
        }
        tx.commit()?;
        Ok(due)
    }

    pub fn alias(&self, account: &str, region: &str, name: &str) -> Result<Option<Alias>> {
        self.db()
            .query_row(
                "SELECT account, region, name, key_id, created_ms, updated_ms FROM aliases
                 WHERE account = ?1 AND region = ?2 AND name = ?3",
                params![account, region, name],
                alias_from_row,
            )
            .optional()
    }

    /// Aliases of an account in a region (of one key, if given), ordered by name, after `after`; at most `limit`.
    pub fn aliases(
        &self,
        account: &str,
        region: &str,
        key_id: Option<&str>,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Alias>> {
        let db = self.db();
        let mut q = db.prepare(
            "SELECT account, region, name, key_id, created_ms, updated_ms FROM aliases
             WHERE account = ?1 AND region = ?2 AND (?3 IS NULL OR key_id = ?3) AND name > ?4
             ORDER BY name LIMIT ?5",
        )?;
        let rows = q.query_map(params![account, region, key_id, after, limit as i64], alias_from_row)?;
        rows.collect()
    }

    /// Inserts an alias; false if one of that name exists.
    pub fn insert_alias(&self, a: &Alias) -> Result<bool> {
        let n = self.db().execute(
            "INSERT OR IGNORE INTO aliases VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![a.account, a.region, a.name, a.key_id, a.created_ms, a.updated_ms],
        )?;
        Ok(n == 1)
    }

    pub fn retarget_alias(&self, account: &str, region: &str, name: &str, key_id: &str, now_ms: i64) -> Result<bool> {
        let n = self.db().execute(
            "UPDATE aliases SET key_id = ?4, updated_ms = ?5 WHERE account = ?1 AND region = ?2 AND name = ?3",
            params![account, region, name, key_id, now_ms],
        )?;
        Ok(n == 1)
    }

    pub fn delete_alias(&self, account: &str, region: &str, name: &str) -> Result<bool> {
        let n = self.db().execute(
            "DELETE FROM aliases WHERE account = ?1 AND region = ?2 AND name = ?3",
            params![account, region, name],
        )?;
        Ok(n == 1)
    }

    pub fn tags(&self, key_id: &str) -> Result<Vec<(String, String)>> {
        let db = self.db();
        let mut q = db.prepare("SELECT tag_key, tag_value FROM tags WHERE key_id = ?1 ORDER BY tag_key")?;
        let rows = q.query_map(params![key_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    }

    /// Replaces the key's tags with `tags` in one transaction.
    pub fn set_tags(&self, key_id: &str, tags: &[(String, String)]) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute("DELETE FROM tags WHERE key_id = ?1", params![key_id])?;
        for (k, v) in tags {
            tx.execute("INSERT INTO tags VALUES (?1, ?2, ?3)", params![key_id, k, v])?;
        }
        tx.commit()
    }
}
