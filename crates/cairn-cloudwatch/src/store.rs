//! Alarms, their history and tags in one SQLite database (`<data>/cloudwatch/cloudwatch.sqlite`, WAL, synchronous
//! FULL: an acknowledged PutMetricAlarm survives a crash). History is kept two weeks, as CloudWatch keeps it.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::{db, Error, Result};

/// How long alarm history is kept, in milliseconds.
pub const HISTORY_MS: i64 = 14 * 86_400_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alarms (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    config_updated_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    reason_data TEXT,
    state_updated_ms INTEGER NOT NULL,
    transitioned_ms INTEGER NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    alarm TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    item_type TEXT NOT NULL,
    summary TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_time ON history (account, region, at_ms);
CREATE TABLE IF NOT EXISTS tags (
    arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
";

/// An alarm as stored: its configuration (PutMetricAlarm's members, normalized) and its state.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlarm {
    pub account: String,
    pub region: String,
    pub name: String,
    pub config: Value,
    pub config_updated_ms: i64,
    pub state: String,
    pub reason: String,
    pub reason_data: Option<String>,
    pub state_updated_ms: i64,
    pub transitioned_ms: i64,
}

/// One history item.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryItem {
    pub alarm: String,
    pub at_ms: i64,
    pub item_type: String,
    pub summary: String,
    pub data: String,
}

#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

fn alarm_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAlarm> {
    let config: String = r.get(3)?;
    Ok(StoredAlarm {
        account: r.get(0)?,
        region: r.get(1)?,
        name: r.get(2)?,
        config: serde_json::from_str(&config).unwrap_or(Value::Null),
        config_updated_ms: r.get(4)?,
        state: r.get(5)?,
        reason: r.get(6)?,
        reason_data: r.get(7)?,
        state_updated_ms: r.get(8)?,
        transitioned_ms: r.get(9)?,
    })
}

const ALARM_COLUMNS: &str = "account, region, name, config, config_updated_ms, state, reason, reason_data, \
                             state_updated_ms, transitioned_ms";

impl Store {
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Storage(format!("creating {}: {e}", dir.display())))?;
        let conn = Connection::open(dir.join("cloudwatch.sqlite")).map_err(db)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;").map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Store { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates or replaces an alarm with a history item, in one transaction. A replaced alarm keeps its state.
    pub fn put_alarm(&self, alarm: &StoredAlarm, history: &HistoryItem) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        tx.execute(
            &format!(
                "INSERT INTO alarms ({ALARM_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
                 ON CONFLICT (account, region, name) DO UPDATE SET config = excluded.config, \
                 config_updated_ms = excluded.config_updated_ms"
            ),
            params![
                alarm.account,
                alarm.region,
                alarm.name,
                alarm.config.to_string(),
                alarm.config_updated_ms,
                alarm.state,
                alarm.reason,
                alarm.reason_data,
                alarm.state_updated_ms,
                alarm.transitioned_ms
            ],
        )
        .map_err(db)?;
        insert_history(&tx, &alarm.account, &alarm.region, history)?;
        tx.commit().map_err(db)
    }

    pub fn alarm(&self, account: &str, region: &str, name: &str) -> Result<Option<StoredAlarm>> {
        self.conn()
            .query_row(
                &format!("SELECT {ALARM_COLUMNS} FROM alarms WHERE account = ?1 AND region = ?2 AND name = ?3"),
                params![account, region, name],
                alarm_row,
            )
            .optional()
            .map_err(db)
    }

    /// An account and region's alarms in name order; every account's with `None`.
    pub fn alarms(&self, scope: Option<(&str, &str)>) -> Result<Vec<StoredAlarm>> {
        let conn = self.conn();
        let (account, region) = scope.unzip();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {ALARM_COLUMNS} FROM alarms WHERE (?1 IS NULL OR account = ?1) AND (?2 IS NULL OR region = ?2) \
                 ORDER BY account, region, name"
            ))
            .map_err(db)?;
        let rows = stmt.query_map(params![account, region], alarm_row).map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    /// Deletes alarms and their tags (their history stays, as CloudWatch keeps it); the names that did not exist are answered and nothing is deleted.
    pub fn delete_alarms(&self, account: &str, region: &str, names: &[String]) -> Result<Vec<String>> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let mut missing = Vec::new();
        for n in names {
            let gone = tx
                .execute(
                    "DELETE FROM alarms WHERE account = ?1 AND region = ?2 AND name = ?3",
                    params![account, region, n],
                )
                .map_err(db)?;
            if gone == 0 {
                missing.push(n.clone());
            }
            tx.execute("DELETE FROM tags WHERE arn = ?1", params![crate::alarm_arn(region, account, n)]).map_err(db)?;
        }
        if missing.is_empty() {
            tx.commit().map_err(db)?;
        }
        Ok(missing)
    }

    /// Sets an alarm's state (and history), unless its configuration changed since `config_updated_ms`.
    pub fn set_state(&self, alarm: &StoredAlarm, history: &[HistoryItem]) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let n = tx
            .execute(
                "UPDATE alarms SET state = ?4, reason = ?5, reason_data = ?6, state_updated_ms = ?7, transitioned_ms = ?8 \
                 WHERE account = ?1 AND region = ?2 AND name = ?3 AND config_updated_ms = ?9",
                params![
                    alarm.account,
                    alarm.region,
                    alarm.name,
                    alarm.state,
                    alarm.reason,
                    alarm.reason_data,
                    alarm.state_updated_ms,
                    alarm.transitioned_ms,
                    alarm.config_updated_ms
                ],
            )
            .map_err(db)?;
        if n == 0 {
            return Ok(false);
        }
        for h in history {
            insert_history(&tx, &alarm.account, &alarm.region, h)?;
        }
        tx.commit().map_err(db)?;
        Ok(true)
    }

    /// Replaces an alarm's configuration without a history item (EnableAlarmActions and DisableAlarmActions).
    pub fn set_config(&self, alarm: &StoredAlarm) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE alarms SET config = ?4 WHERE account = ?1 AND region = ?2 AND name = ?3",
                params![alarm.account, alarm.region, alarm.name, alarm.config.to_string()],
            )
            .map_err(db)?;
        Ok(())
    }

    pub fn add_history(&self, account: &str, region: &str, item: &HistoryItem) -> Result<()> {
        let conn = self.conn();
        insert_history(&conn, account, region, item)
    }

    /// History items of an account and region in [start, end), newest first unless `ascending`.
    pub fn history(
        &self,
        account: &str,
        region: &str,
        alarm: Option<&str>,
        item_type: Option<&str>,
        (start_ms, end_ms): (i64, i64),
        ascending: bool,
    ) -> Result<Vec<HistoryItem>> {
        let conn = self.conn();
        let order = if ascending { "ASC" } else { "DESC" };
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT alarm, at_ms, item_type, summary, data FROM history WHERE account = ?1 AND region = ?2 \
                 AND (?3 IS NULL OR alarm = ?3) AND (?4 IS NULL OR item_type = ?4) AND at_ms >= ?5 AND at_ms < ?6 \
                 ORDER BY at_ms {order}, id {order}"
            ))
            .map_err(db)?;
        let rows = stmt
            .query_map(params![account, region, alarm, item_type, start_ms, end_ms], |r| {
                Ok(HistoryItem {
                    alarm: r.get(0)?,
                    at_ms: r.get(1)?,
                    item_type: r.get(2)?,
                    summary: r.get(3)?,
                    data: r.get(4)?,
                })
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    /// Deletes history older than two weeks at `now_ms`.
    pub fn expire(&self, now_ms: i64) -> Result<usize> {
        self.conn().execute("DELETE FROM history WHERE at_ms < ?1", params![now_ms - HISTORY_MS]).map_err(db)
    }

    pub fn tags(&self, arn: &str) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT key, value FROM tags WHERE arn = ?1 ORDER BY key").map_err(db)?;
        let rows = stmt.query_map(params![arn], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    /// Adds or replaces tags and removes keys, in one transaction.
    pub fn retag(&self, arn: &str, add: &[(String, String)], remove: &[String]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        for (k, v) in add {
            tx.execute(
                "INSERT INTO tags (arn, key, value) VALUES (?1, ?2, ?3) ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value",
                params![arn, k, v],
            )
            .map_err(db)?;
        }
        for k in remove {
            tx.execute("DELETE FROM tags WHERE arn = ?1 AND key = ?2", params![arn, k]).map_err(db)?;
        }
        tx.commit().map_err(db)
    }
}

fn insert_history(conn: &Connection, account: &str, region: &str, h: &HistoryItem) -> Result<()> {
    conn.execute(
        "INSERT INTO history (account, region, alarm, at_ms, item_type, summary, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![account, region, h.alarm, h.at_ms, h.item_type, h.summary, h.data],
    )
    .map_err(db)?;
    Ok(())
}
