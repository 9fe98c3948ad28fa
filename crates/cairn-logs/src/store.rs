//! Where log groups, streams, events, metric filters and tags are kept: one SQLite database (`<data>/logs/logs.sqlite`,
//! WAL, synchronous FULL), so that a batch PutLogEvents acknowledged survives any crash.
//!
//! Events are rows of `events` (stream, timestamp, ingestion time, message) under an increasing `seq`, which is also
//! their event id and the position pagination tokens carry. A group's retention is applied by [`Store::expire`]
//! (driven by the server's clock) and, until it runs, by every read.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};

use crate::{Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS groups (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    retention_days INTEGER,
    kms_key_id TEXT,
    class TEXT NOT NULL,
    deletion_protection INTEGER NOT NULL,
    UNIQUE (account, region, name)
);
CREATE TABLE IF NOT EXISTS streams (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    first_event_ms INTEGER,
    last_event_ms INTEGER,
    last_ingestion_ms INTEGER,
    UNIQUE (group_id, name)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL,
    stream_id INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    ingestion_ms INTEGER NOT NULL,
    message TEXT NOT NULL,
    -- Unused since deliveries keep positions in `delivered` (earlier versions: the trail's ARN and position).
    source TEXT
);
-- How far into its source (a trail's journal positions) cairn has delivered into a stream: what a replay after a
-- crash skips.
CREATE TABLE IF NOT EXISTS delivered (
    stream_id INTEGER NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (stream_id, source)
);
CREATE INDEX IF NOT EXISTS events_by_group ON events (group_id, timestamp_ms, seq);
CREATE INDEX IF NOT EXISTS events_by_stream ON events (stream_id, timestamp_ms, seq);
CREATE TABLE IF NOT EXISTS metric_filters (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    pattern TEXT NOT NULL,
    transformations TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (group_id, name)
);
CREATE TABLE IF NOT EXISTS tags (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (group_id, key)
);
";

/// A log group as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: i64,
    pub account: String,
    pub region: String,
    pub name: String,
    pub created_ms: i64,
    pub retention_days: Option<u32>,
    pub kms_key_id: Option<String>,
    pub class: String,
    pub deletion_protection: bool,
}

impl Group {
    /// The ARN DescribeLogGroups gives as `arn` (with `:*`, as IAM policies name a group's streams).
    pub fn arn(&self) -> String {
        format!("{}:*", self.group_arn())
    }

    /// The ARN of the group itself (`logGroupArn`, and what tagging takes).
    pub fn group_arn(&self) -> String {
        format!("arn:aws:logs:{}:{}:log-group:{}", self.region, self.account, self.name)
    }

    /// The oldest event time the group keeps at `now_ms`.
    pub fn kept_from(&self, now_ms: i64) -> i64 {
        self.retention_days.map_or(i64::MIN, |d| now_ms - i64::from(d) * 86_400_000)
    }
}

/// A log stream as stored, with its byte count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub id: i64,
    pub name: String,
    pub created_ms: i64,
    pub first_event_ms: Option<i64>,
    pub last_event_ms: Option<i64>,
    pub last_ingestion_ms: Option<i64>,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub seq: i64,
    pub stream: String,
    pub timestamp_ms: i64,
    pub ingestion_ms: i64,
    pub message: String,
}

/// A metric filter as stored; `transformations` is its MetricTransformations JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricFilter {
    pub group: String,
    pub name: String,
    pub pattern: String,
    pub transformations: String,
    pub created_ms: i64,
}

/// Which events a read wants.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only these streams (by id); all of the group's when `None`.
    pub streams: Option<Vec<i64>>,
    pub start_ms: Option<i64>,
    /// Exclusive.
    pub end_ms: Option<i64>,
    /// Events after this position (forward) or before it (backward).
    pub after_seq: Option<(i64, i64)>,
    pub before_seq: Option<(i64, i64)>,
    pub backward: bool,
    pub limit: usize,
}

#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

fn db(e: rusqlite::Error) -> Error {
    Error::Storage(e.to_string())
}

fn group_row(r: &rusqlite::Row) -> rusqlite::Result<Group> {
    Ok(Group {
        id: r.get(0)?,
        account: r.get(1)?,
        region: r.get(2)?,
        name: r.get(3)?,
        created_ms: r.get(4)?,
        retention_days: r.get(5)?,
        kms_key_id: r.get(6)?,
        class: r.get(7)?,
        deletion_protection: r.get::<_, i64>(8)? != 0,
    })
}

const GROUP_COLUMNS: &str =
    "id, account, region, name, created_ms, retention_days, kms_key_id, class, deletion_protection";
const STREAM_COLUMNS: &str = "id, name, created_ms, first_event_ms, last_event_ms, last_ingestion_ms";

/// Widens a stream's first and last event times to take in `stamps`, and sets its last ingestion time.
fn stream_times(
    tx: &rusqlite::Transaction,
    stream: i64,
    stamps: impl Iterator<Item = i64> + Clone,
    now_ms: i64,
) -> Result<()> {
    let (first, last) = (stamps.clone().min(), stamps.max());
    tx.execute(
        "UPDATE streams SET first_event_ms = min(coalesce(first_event_ms, ?2), ?2), \
         last_event_ms = max(coalesce(last_event_ms, ?3), ?3), last_ingestion_ms = ?4 WHERE id = ?1",
        params![stream, first, last, now_ms],
    )
    .map_err(db)?;
    Ok(())
}

fn stream_row(r: &rusqlite::Row) -> rusqlite::Result<Stream> {
    Ok(Stream {
        id: r.get(0)?,
        name: r.get(1)?,
        created_ms: r.get(2)?,
        first_event_ms: r.get(3)?,
        last_event_ms: r.get(4)?,
        last_ingestion_ms: r.get(5)?,
    })
}

/// Earlier versions kept each delivered event's `<source>#<position>` under a unique index, which cost every
/// delivered event an index entry; their highest position per stream and source becomes that stream's mark.
fn migrate_sources(conn: &Connection) -> Result<()> {
    let indexed: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'index' AND name = 'events_by_source'",
            [],
            |r| r.get(0),
        )
        .map_err(db)?;
    if indexed {
        conn.execute_batch(
            "BEGIN;
             INSERT OR REPLACE INTO delivered (stream_id, source, position)
               SELECT stream_id, substr(source, 1, instr(source, '#') - 1),
                      max(CAST(substr(source, instr(source, '#') + 1) AS INTEGER))
               FROM events WHERE instr(source, '#') > 0 GROUP BY 1, 2;
             DROP INDEX events_by_source;
             COMMIT;",
        )
        .map_err(db)?;
    }
    Ok(())
}

impl Store {
    /// Opens (creating) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Storage(format!("creating {}: {e}", dir.display())))?;
        let conn = Connection::open(dir.join("logs.sqlite")).map_err(db)?;
        // A trail delivers thousands of events a batch: a 64 MiB page cache and fewer, larger WAL checkpoints keep
        // the index pages those inserts touch in memory instead of reading them back.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
             PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 8192;",
        )
        .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        migrate_sources(&conn)?;
        Ok(Store { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn group(&self, account: &str, region: &str, name: &str) -> Result<Option<Group>> {
        let sql = format!("SELECT {GROUP_COLUMNS} FROM groups WHERE account = ?1 AND region = ?2 AND name = ?3");
        self.conn().query_row(&sql, params![account, region, name], group_row).optional().map_err(db)
    }

    /// The groups of an account and region, by name, from `after` (exclusive), names starting with `prefix`.
    pub fn groups(&self, account: &str, region: &str, prefix: &str, after: &str, limit: usize) -> Result<Vec<Group>> {
        let sql = format!(
            "SELECT {GROUP_COLUMNS} FROM groups WHERE account = ?1 AND region = ?2 AND name > ?3 \
             AND substr(name, 1, length(?4)) = ?4 ORDER BY name LIMIT ?5"
        );
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql).map_err(db)?;
        let rows = stmt.query_map(params![account, region, after, prefix, limit as i64], group_row).map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    pub fn group_count(&self, account: &str, region: &str) -> Result<usize> {
        self.conn()
            .query_row(
                "SELECT count(*) FROM groups WHERE account = ?1 AND region = ?2",
                params![account, region],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(db)
    }

    /// Creates a group with its tags; false when the name is taken.
    pub fn create_group(&self, g: &Group, tags: &[(String, String)]) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let inserted = tx
            .execute(
                "INSERT OR IGNORE INTO groups (account, region, name, created_ms, retention_days, kms_key_id, class, \
                 deletion_protection) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    g.account,
                    g.region,
                    g.name,
                    g.created_ms,
                    g.retention_days,
                    g.kms_key_id,
                    g.class,
                    i64::from(g.deletion_protection)
                ],
            )
            .map_err(db)?;
        if inserted == 0 {
            return Ok(false);
        }
        let id = tx.last_insert_rowid();
        for (k, v) in tags {
            tx.execute("INSERT OR REPLACE INTO tags (group_id, key, value) VALUES (?1, ?2, ?3)", params![id, k, v])
                .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(true)
    }

    /// Deletes a group with everything in it.
    pub fn delete_group(&self, id: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        tx.execute("DELETE FROM events WHERE group_id = ?1", [id]).map_err(db)?;
        tx.execute("DELETE FROM streams WHERE group_id = ?1", [id]).map_err(db)?;
        tx.execute("DELETE FROM groups WHERE id = ?1", [id]).map_err(db)?;
        tx.commit().map_err(db)
    }

    pub fn set_retention(&self, id: i64, days: Option<u32>) -> Result<()> {
        self.conn().execute("UPDATE groups SET retention_days = ?2 WHERE id = ?1", params![id, days]).map_err(db)?;
        Ok(())
    }

    /// Bytes of messages the group holds (`storedBytes`) and its metric filter count.
    pub fn group_stats(&self, id: i64) -> Result<(i64, usize)> {
        let conn = self.conn();
        let bytes = conn
            .query_row(
                "SELECT coalesce(sum(length(CAST(message AS BLOB))), 0) FROM events WHERE group_id = ?1",
                [id],
                |r| r.get(0),
            )
            .map_err(db)?;
        let filters: i64 = conn
            .query_row("SELECT count(*) FROM metric_filters WHERE group_id = ?1", [id], |r| r.get(0))
            .map_err(db)?;
        Ok((bytes, filters as usize))
    }

    pub fn stream(&self, group: i64, name: &str) -> Result<Option<Stream>> {
        let sql = format!("SELECT {STREAM_COLUMNS} FROM streams WHERE group_id = ?1 AND name = ?2");
        self.conn().query_row(&sql, params![group, name], stream_row).optional().map_err(db)
    }

    /// A group's streams whose names start with `prefix`, by name or by last event time.
    pub fn streams(&self, group: i64, prefix: &str, by_last_event: bool, descending: bool) -> Result<Vec<Stream>> {
        let order = match (by_last_event, descending) {
            (false, false) => "name ASC",
            (false, true) => "name DESC",
            (true, false) => "coalesce(last_event_ms, -1) ASC, name ASC",
            (true, true) => "coalesce(last_event_ms, -1) DESC, name DESC",
        };
        let sql = format!(
            "SELECT {STREAM_COLUMNS} FROM streams WHERE group_id = ?1 AND substr(name, 1, length(?2)) = ?2 ORDER BY {order}"
        );
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql).map_err(db)?;
        let rows = stmt.query_map(params![group, prefix], stream_row).map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    /// Creates a stream; false when the name is taken in the group.
    pub fn create_stream(&self, group: i64, name: &str, now_ms: i64) -> Result<bool> {
        let n = self
            .conn()
            .execute(
                "INSERT OR IGNORE INTO streams (group_id, name, created_ms) VALUES (?1, ?2, ?3)",
                params![group, name, now_ms],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub fn delete_stream(&self, id: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        tx.execute("DELETE FROM events WHERE stream_id = ?1", [id]).map_err(db)?;
        tx.execute("DELETE FROM streams WHERE id = ?1", [id]).map_err(db)?;
        tx.commit().map_err(db)
    }

    /// Bytes of messages a stream holds.
    pub fn stream_bytes(&self, id: i64) -> Result<i64> {
        self.conn()
            .query_row(
                "SELECT coalesce(sum(length(CAST(message AS BLOB))), 0) FROM events WHERE stream_id = ?1",
                [id],
                |r| r.get(0),
            )
            .map_err(db)
    }

    /// Appends events (timestamp, message) to a stream in one transaction, synced before it returns.
    pub fn append(&self, group: i64, stream: i64, events: &[(i64, &str)], now_ms: i64) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (group_id, stream_id, timestamp_ms, ingestion_ms, message) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(db)?;
            for (ts, message) in events {
                insert.execute(params![group, stream, ts, now_ms, message]).map_err(db)?;
            }
        }
        stream_times(&tx, stream, events.iter().map(|e| e.0), now_ms)?;
        tx.commit().map_err(db)
    }

    /// Appends events (timestamp, message, position) that cairn delivers from `source` (a trail's events, by journal
    /// position, in increasing order), creating the stream if need be; an event at or below the stream's mark for
    /// the source was delivered before and is not appended again. Which were appended.
    pub fn deliver(
        &self,
        group: i64,
        stream: &str,
        source: &str,
        events: &[(i64, &str, u64)],
        now_ms: i64,
    ) -> Result<Vec<bool>> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        tx.execute(
            "INSERT OR IGNORE INTO streams (group_id, name, created_ms) VALUES (?1, ?2, ?3)",
            params![group, stream, now_ms],
        )
        .map_err(db)?;
        let stream_id: i64 = tx
            .query_row("SELECT id FROM streams WHERE group_id = ?1 AND name = ?2", params![group, stream], |r| r.get(0))
            .map_err(db)?;
        let mark: Option<i64> = tx
            .query_row(
                "SELECT position FROM delivered WHERE stream_id = ?1 AND source = ?2",
                params![stream_id, source],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        let mut added = Vec::with_capacity(events.len());
        let mut newest = mark;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (group_id, stream_id, timestamp_ms, ingestion_ms, message) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(db)?;
            for (ts, message, position) in events {
                let position = i64::try_from(*position).map_err(|_| Error::Storage("position out of range".into()))?;
                let new = newest.is_none_or(|m| position > m);
                if new {
                    insert.execute(params![group, stream_id, ts, now_ms, message]).map_err(db)?;
                    newest = Some(position);
                }
                added.push(new);
            }
        }
        if let Some(position) = newest.filter(|_| newest != mark) {
            tx.execute(
                "INSERT INTO delivered (stream_id, source, position) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (stream_id, source) DO UPDATE SET position = excluded.position",
                params![stream_id, source, position],
            )
            .map_err(db)?;
        }
        if added.iter().any(|a| *a) {
            stream_times(&tx, stream_id, events.iter().map(|e| e.0), now_ms)?;
        }
        tx.commit().map_err(db)?;
        Ok(added)
    }

    /// Events of a group in (timestamp, seq) order (or its reverse), from the given position on.
    pub fn events(&self, group: i64, q: &EventQuery) -> Result<Vec<Event>> {
        let mut sql = String::from(
            "SELECT e.seq, s.name, e.timestamp_ms, e.ingestion_ms, e.message FROM events e JOIN streams s ON s.id = e.stream_id \
             WHERE e.group_id = ?1",
        );
        let mut args: Vec<rusqlite::types::Value> = vec![group.into()];
        let arg = |v: i64, args: &mut Vec<rusqlite::types::Value>| {
            args.push(v.into());
            format!("?{}", args.len())
        };
        if let Some(streams) = &q.streams {
            let list: Vec<String> = streams.iter().map(|s| arg(*s, &mut args)).collect();
            sql.push_str(&format!(
                " AND e.stream_id IN ({})",
                if list.is_empty() { "NULL".into() } else { list.join(",") }
            ));
        }
        if let Some(s) = q.start_ms {
            sql.push_str(&format!(" AND e.timestamp_ms >= {}", arg(s, &mut args)));
        }
        if let Some(e) = q.end_ms {
            sql.push_str(&format!(" AND e.timestamp_ms < {}", arg(e, &mut args)));
        }
        if let Some((ts, seq)) = q.after_seq {
            let (a, b) = (arg(ts, &mut args), arg(seq, &mut args));
            sql.push_str(&format!(" AND (e.timestamp_ms > {a} OR (e.timestamp_ms = {a} AND e.seq > {b}))"));
        }
        if let Some((ts, seq)) = q.before_seq {
            let (a, b) = (arg(ts, &mut args), arg(seq, &mut args));
            sql.push_str(&format!(" AND (e.timestamp_ms < {a} OR (e.timestamp_ms = {a} AND e.seq < {b}))"));
        }
        let dir = if q.backward { "DESC" } else { "ASC" };
        sql.push_str(&format!(" ORDER BY e.timestamp_ms {dir}, e.seq {dir} LIMIT {}", q.limit));
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql).map_err(db)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), |r| {
                Ok(Event {
                    seq: r.get(0)?,
                    stream: r.get(1)?,
                    timestamp_ms: r.get(2)?,
                    ingestion_ms: r.get(3)?,
                    message: r.get(4)?,
                })
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    /// Deletes the events every group's retention no longer keeps at `now_ms`; how many went.
    pub fn expire(&self, now_ms: i64) -> Result<usize> {
        self.conn()
            .execute(
                "DELETE FROM events WHERE seq IN (SELECT e.seq FROM events e JOIN groups g ON g.id = e.group_id \
                 WHERE g.retention_days IS NOT NULL AND e.timestamp_ms < ?1 - g.retention_days * 86400000)",
                [now_ms],
            )
            .map_err(db)
    }

    /// A group's metric filters (every group's when `None`).
    pub fn metric_filters(&self, group: Option<i64>) -> Result<Vec<MetricFilter>> {
        self.filters_where("?1 IS NULL OR f.group_id = ?1", &[&group])
    }

    /// The metric filters of an account and region's groups.
    pub fn account_metric_filters(&self, account: &str, region: &str) -> Result<Vec<MetricFilter>> {
        self.filters_where("g.account = ?1 AND g.region = ?2", &[&account, &region])
    }

    fn filters_where(&self, condition: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<MetricFilter>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT g.name, f.name, f.pattern, f.transformations, f.created_ms FROM metric_filters f \
             JOIN groups g ON g.id = f.group_id WHERE {condition} ORDER BY g.name, f.name"
        );
        let mut stmt = conn.prepare(&sql).map_err(db)?;
        let rows = stmt
            .query_map(args, |r| {
                Ok(MetricFilter {
                    group: r.get(0)?,
                    name: r.get(1)?,
                    pattern: r.get(2)?,
                    transformations: r.get(3)?,
                    created_ms: r.get(4)?,
                })
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    /// Creates or replaces a metric filter (a replaced one keeps its creation time).
    pub fn put_metric_filter(&self, group: i64, f: &MetricFilter) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO metric_filters (group_id, name, pattern, transformations, created_ms) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (group_id, name) DO UPDATE SET pattern = excluded.pattern, transformations = excluded.transformations",
                params![group, f.name, f.pattern, f.transformations, f.created_ms],
            )
            .map_err(db)?;
        Ok(())
    }

    /// Deletes a metric filter; false when there was none.
    pub fn delete_metric_filter(&self, group: i64, name: &str) -> Result<bool> {
        let n = self
            .conn()
            .execute("DELETE FROM metric_filters WHERE group_id = ?1 AND name = ?2", params![group, name])
            .map_err(db)?;
        Ok(n > 0)
    }

    pub fn tags(&self, group: i64) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT key, value FROM tags WHERE group_id = ?1 ORDER BY key").map_err(db)?;
        let rows = stmt.query_map([group], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    /// Adds or replaces tags and removes keys, in one transaction.
    pub fn change_tags(&self, group: i64, set: &[(String, String)], remove: &[String]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        for (k, v) in set {
            tx.execute("INSERT OR REPLACE INTO tags (group_id, key, value) VALUES (?1, ?2, ?3)", params![group, k, v])
                .map_err(db)?;
        }
        for k in remove {
            tx.execute("DELETE FROM tags WHERE group_id = ?1 AND key = ?2", params![group, k]).map_err(db)?;
        }
        tx.commit().map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_deletes_by_event_time_on_the_clock_and_survives_reopening() {
        let dir = std::env::temp_dir().join(format!("cairn-logs-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let day = 86_400_000;
        let now = 100 * day;
        {
            let store = Store::open(&dir).unwrap();
            let group = |name: &str, retention| Group {
                id: 0,
                account: "111111111111".into(),
                region: "eu-west-1".into(),
                name: name.into(),
                created_ms: 0,
                retention_days: retention,
                kms_key_id: None,
                class: "STANDARD".into(),
                deletion_protection: false,
            };
            assert!(store.create_group(&group("kept", None), &[]).unwrap());
            assert!(store.create_group(&group("short", Some(1)), &[]).unwrap());
            for name in ["kept", "short"] {
                let g = store.group("111111111111", "eu-west-1", name).unwrap().unwrap();
                assert!(store.create_stream(g.id, "s", 0).unwrap());
                let s = store.stream(g.id, "s").unwrap().unwrap();
                store.append(g.id, s.id, &[(now - 3 * day, "old"), (now - day / 2, "recent")], now).unwrap();
            }
            assert_eq!(store.expire(now).unwrap(), 1);
            assert_eq!(store.expire(now).unwrap(), 0);
        }
        let store = Store::open(&dir).unwrap();
        let count = |name: &str| {
            let g = store.group("111111111111", "eu-west-1", name).unwrap().unwrap();
            store.events(g.id, &EventQuery { limit: 10, ..EventQuery::default() }).unwrap().len()
        };
        assert_eq!((count("kept"), count("short")), (2, 1));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn test_group(store: &Store) -> i64 {
        let g = Group {
            id: 0,
            account: "111111111111".into(),
            region: "us-east-1".into(),
            name: "g".into(),
            created_ms: 0,
            retention_days: None,
            kms_key_id: None,
            class: "STANDARD".into(),
            deletion_protection: false,
        };
        store.create_group(&g, &[]).unwrap();
        store.group("111111111111", "us-east-1", "g").unwrap().unwrap().id
    }

    #[test]
    fn a_replayed_delivery_appends_each_position_once_per_source() {
        let dir = std::env::temp_dir().join(format!("cairn-logs-mark-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir).unwrap();
        let g = test_group(&store);
        let events = [(1, "a", 10u64), (2, "b", 11), (3, "c", 12)];
        assert_eq!(store.deliver(g, "s", "trail-1", &events[..2], 5).unwrap(), [true, true]);
        // After a crash the consumer sends the batch again, and more.
        assert_eq!(store.deliver(g, "s", "trail-1", &events, 5).unwrap(), [false, false, true]);
        // Another trail's positions are its own; so are another stream's.
        assert_eq!(store.deliver(g, "s", "trail-2", &events[..1], 5).unwrap(), [true]);
        assert_eq!(store.deliver(g, "t", "trail-1", &events[..1], 5).unwrap(), [true]);
        let all = store.events(g, &EventQuery { limit: 10, ..EventQuery::default() }).unwrap();
        assert_eq!(all.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(), ["a", "a", "a", "b", "c"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sources_of_earlier_versions_become_marks() {
        let dir = std::env::temp_dir().join(format!("cairn-logs-migrate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let g = {
            let store = Store::open(&dir).unwrap();
            let g = test_group(&store);
            store.create_stream(g, "s", 0).unwrap();
            let conn = store.conn();
            // As an earlier version left them: a unique index of sources, and the events it delivered.
            conn.execute_batch(
                "CREATE UNIQUE INDEX events_by_source ON events (group_id, source);
                 INSERT INTO events (group_id, stream_id, timestamp_ms, ingestion_ms, message, source)
                   SELECT 1, id, 1, 1, 'old', 'arn:aws:cloudtrail:us-east-1:1:trail/t#41' FROM streams;
                 INSERT INTO events (group_id, stream_id, timestamp_ms, ingestion_ms, message, source)
                   SELECT 1, id, 2, 2, 'old', 'arn:aws:cloudtrail:us-east-1:1:trail/t#42' FROM streams;",
            )
            .unwrap();
            g
        };
        let store = Store::open(&dir).unwrap();
        let trail = "arn:aws:cloudtrail:us-east-1:1:trail/t";
        assert_eq!(store.deliver(g, "s", trail, &[(3, "m", 42), (4, "n", 43)], 5).unwrap(), [false, true]);
        let indexes: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'events_by_source'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(indexes, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
