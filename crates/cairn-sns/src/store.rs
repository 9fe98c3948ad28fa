//! Topics, subscriptions, tags and the delivery queue in one SQLite database (`<data>/sns/sns.sqlite`, WAL,
//! synchronous FULL). A message is accepted only once each of its deliveries is a row here, so a crash after
//! Publish answers loses no delivery; the worker removes a row when its endpoint took the message or its retries ran
//! out.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use crate::{db, Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS topics (
    arn TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    attributes TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subscriptions (
    arn TEXT PRIMARY KEY,
    topic_arn TEXT NOT NULL,
    owner TEXT NOT NULL,
    protocol TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    token TEXT NOT NULL,
    confirmed INTEGER NOT NULL,
    attributes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS subscriptions_by_topic ON subscriptions (topic_arn);
CREATE TABLE IF NOT EXISTS tags (
    arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    subscription_arn TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    meta TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    due_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (due_ms);
";

#[derive(Debug, Clone, PartialEq)]
pub struct Topic {
    pub arn: String,
    pub account: String,
    pub region: String,
    pub name: String,
    pub attributes: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub arn: String,
    pub topic_arn: String,
    pub owner: String,
    pub protocol: String,
    pub endpoint: String,
    pub token: String,
    pub confirmed: bool,
    pub attributes: Map<String, Value>,
}

/// A message on its way to an endpoint: what to send, with which retry policy, how often it was tried.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub subscription_arn: String,
    pub endpoint: String,
    /// `Notification`, `SubscriptionConfirmation` or `UnsubscribeConfirmation`.
    pub kind: String,
    pub body: String,
    /// The HTTP headers to send and the effective retry policy: `{"headers": {...}, "retry": {...}}`.
    pub meta: String,
    pub attempts: i64,
    pub due_ms: i64,
}

#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

fn object(text: String) -> Map<String, Value> {
    serde_json::from_str(&text).unwrap_or_default()
}

fn topic_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Topic> {
    Ok(Topic { arn: r.get(0)?, account: r.get(1)?, region: r.get(2)?, name: r.get(3)?, attributes: object(r.get(4)?) })
}

fn subscription_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Subscription> {
    Ok(Subscription {
        arn: r.get(0)?,
        topic_arn: r.get(1)?,
        owner: r.get(2)?,
        protocol: r.get(3)?,
        endpoint: r.get(4)?,
        token: r.get(5)?,
        confirmed: r.get(6)?,
        attributes: object(r.get(7)?),
    })
}

const SUBSCRIPTION_COLUMNS: &str = "arn, topic_arn, owner, protocol, endpoint, token, confirmed, attributes";

impl Store {
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Storage(format!("creating {}: {e}", dir.display())))?;
        let conn = Connection::open(dir.join("sns.sqlite")).map_err(db)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;").map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Store { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a topic with its tags; false when it already existed (nothing changed).
    pub fn create_topic(&self, t: &Topic, tags: &[(String, String)]) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let n = tx
            .execute(
                "INSERT OR IGNORE INTO topics (arn, account, region, name, attributes) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![t.arn, t.account, t.region, t.name, Value::Object(t.attributes.clone()).to_string()],
            )
            .map_err(db)?;
        if n == 1 {
            for (k, v) in tags {
                tx.execute("INSERT OR REPLACE INTO tags (arn, key, value) VALUES (?1, ?2, ?3)", params![t.arn, k, v])
                    .map_err(db)?;
            }
        }
        tx.commit().map_err(db)?;
        Ok(n == 1)
    }

    pub fn topic(&self, arn: &str) -> Result<Option<Topic>> {
        self.conn()
            .query_row(
                "SELECT arn, account, region, name, attributes FROM topics WHERE arn = ?1",
                params![arn],
                topic_row,
            )
            .optional()
            .map_err(db)
    }

    /// An account and region's topics, by ARN.
    pub fn topics(&self, account: &str, region: &str) -> Result<Vec<Topic>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT arn, account, region, name, attributes FROM topics WHERE account = ?1 AND region = ?2 ORDER BY arn",
            )
            .map_err(db)?;
        let rows = stmt.query_map(params![account, region], topic_row).map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    pub fn set_topic_attributes(&self, arn: &str, attributes: &Map<String, Value>) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE topics SET attributes = ?2 WHERE arn = ?1",
                params![arn, Value::Object(attributes.clone()).to_string()],
            )
            .map_err(db)?;
        Ok(())
    }

    /// Deletes a topic, its subscriptions, tags and pending deliveries.
    pub fn delete_topic(&self, arn: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        tx.execute(
            "DELETE FROM deliveries WHERE subscription_arn IN (SELECT arn FROM subscriptions WHERE topic_arn = ?1)",
            params![arn],
        )
        .map_err(db)?;
        tx.execute(
            "DELETE FROM tags WHERE arn = ?1 OR arn IN (SELECT arn FROM subscriptions WHERE topic_arn = ?1)",
            params![arn],
        )
        .map_err(db)?;
        tx.execute("DELETE FROM subscriptions WHERE topic_arn = ?1", params![arn]).map_err(db)?;
        tx.execute("DELETE FROM topics WHERE arn = ?1", params![arn]).map_err(db)?;
        tx.commit().map_err(db)
    }

    /// Adds a subscription and, in the same transaction, the deliveries that go with it (its confirmation request).
    pub fn add_subscription(&self, s: &Subscription, deliveries: &[Delivery]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        tx.execute(
            &format!("INSERT INTO subscriptions ({SUBSCRIPTION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![
                s.arn,
                s.topic_arn,
                s.owner,
                s.protocol,
                s.endpoint,
                s.token,
                s.confirmed,
                Value::Object(s.attributes.clone()).to_string()
            ],
        )
        .map_err(db)?;
        insert_deliveries(&tx, deliveries)?;
        tx.commit().map_err(db)
    }

    pub fn subscription(&self, arn: &str) -> Result<Option<Subscription>> {
        self.conn()
            .query_row(
                &format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE arn = ?1"),
                params![arn],
                subscription_row,
            )
            .optional()
            .map_err(db)
    }

    /// Subscriptions of a topic, or of an account's topics in a region, by ARN.
    pub fn subscriptions(&self, topic: Option<&str>, scope: Option<(&str, &str)>) -> Result<Vec<Subscription>> {
        let conn = self.conn();
        let (account, region) = scope.unzip();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions s WHERE (?1 IS NULL OR topic_arn = ?1) AND \
                 (?2 IS NULL OR EXISTS (SELECT 1 FROM topics t WHERE t.arn = s.topic_arn AND t.account = ?2 AND t.region = ?3)) \
                 ORDER BY arn"
            ))
            .map_err(db)?;
        let rows = stmt.query_map(params![topic, account, region], subscription_row).map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    pub fn confirm(&self, arn: &str) -> Result<()> {
        self.conn().execute("UPDATE subscriptions SET confirmed = 1 WHERE arn = ?1", params![arn]).map_err(db)?;
        Ok(())
    }

    pub fn set_subscription_attributes(&self, arn: &str, attributes: &Map<String, Value>) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE subscriptions SET attributes = ?2 WHERE arn = ?1",
                params![arn, Value::Object(attributes.clone()).to_string()],
            )
            .map_err(db)?;
        Ok(())
    }

    /// Removes a subscription and its pending deliveries, then queues `farewell` (its unsubscribe confirmation).
    pub fn delete_subscription(&self, arn: &str, farewell: &[Delivery]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        tx.execute("DELETE FROM deliveries WHERE subscription_arn = ?1", params![arn]).map_err(db)?;
        tx.execute("DELETE FROM subscriptions WHERE arn = ?1", params![arn]).map_err(db)?;
        tx.execute("DELETE FROM tags WHERE arn = ?1", params![arn]).map_err(db)?;
        insert_deliveries(&tx, farewell)?;
        tx.commit().map_err(db)
    }

    /// Queues deliveries, durably, in one transaction.
    pub fn enqueue(&self, deliveries: &[Delivery]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        insert_deliveries(&tx, deliveries)?;
        tx.commit().map_err(db)
    }

    /// Deliveries due at `now_ms`, oldest first.
    pub fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<Delivery>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, subscription_arn, endpoint, kind, body, meta, attempts, due_ms FROM deliveries \
                 WHERE due_ms <= ?1 ORDER BY due_ms, id LIMIT ?2",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![now_ms, limit as i64], |r| {
                Ok(Delivery {
                    id: r.get(0)?,
                    subscription_arn: r.get(1)?,
                    endpoint: r.get(2)?,
                    kind: r.get(3)?,
                    body: r.get(4)?,
                    meta: r.get(5)?,
                    attempts: r.get(6)?,
                    due_ms: r.get(7)?,
                })
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    /// When the next delivery is due, if any is queued.
    pub fn next_due(&self) -> Result<Option<i64>> {
        self.conn().query_row("SELECT min(due_ms) FROM deliveries", [], |r| r.get(0)).map_err(db)
    }

    /// A delivery is done: taken by its endpoint, or out of retries.
    pub fn finish(&self, id: i64) -> Result<()> {
        self.conn().execute("DELETE FROM deliveries WHERE id = ?1", params![id]).map_err(db)?;
        Ok(())
    }

    /// A delivery failed and is tried again at `due_ms`.
    pub fn retry(&self, id: i64, due_ms: i64) -> Result<()> {
        self.conn()
            .execute("UPDATE deliveries SET attempts = attempts + 1, due_ms = ?2 WHERE id = ?1", params![id, due_ms])
            .map_err(db)?;
        Ok(())
    }

    pub fn tags(&self, arn: &str) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT key, value FROM tags WHERE arn = ?1 ORDER BY key").map_err(db)?;
        let rows = stmt.query_map(params![arn], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    pub fn retag(&self, arn: &str, add: &[(String, String)], remove: &[String]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        for (k, v) in add {
            tx.execute("INSERT OR REPLACE INTO tags (arn, key, value) VALUES (?1, ?2, ?3)", params![arn, k, v])
                .map_err(db)?;
        }
        for k in remove {
            tx.execute("DELETE FROM tags WHERE arn = ?1 AND key = ?2", params![arn, k]).map_err(db)?;
        }
        tx.commit().map_err(db)
    }
}

fn insert_deliveries(conn: &Connection, deliveries: &[Delivery]) -> Result<()> {
    for d in deliveries {
        conn.execute(
            "INSERT INTO deliveries (subscription_arn, endpoint, kind, body, meta, attempts, due_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
            params![d.subscription_arn, d.endpoint, d.kind, d.body, d.meta, d.due_ms],
        )
        .map_err(db)?;
    }
    Ok(())
}
