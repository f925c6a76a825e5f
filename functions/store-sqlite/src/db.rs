//! The connection both adapters share the handling of: opening with the right pragmas,
//! creating or checking the schema, and running blocking SQLite calls off the async runtime.

use crate::error::{Ctx, SqliteError};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a writer waits for another connection (another process of the local stack)
/// to release the database before giving up with SQLITE_BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Identifies a database file and the schema version this build writes.
pub(crate) struct Schema {
    /// Stored in `PRAGMA application_id`, so the store's file and the queue's file cannot be
    /// mixed up (their `user_version`s would otherwise be confused).
    pub application_id: i32,
    /// Stored in `PRAGMA user_version`; a future migration reads it to know where to start.
    pub version: i32,
    pub label: &'static str,
    /// Idempotent DDL (`CREATE ... IF NOT EXISTS`) for the current version.
    pub ddl: &'static str,
    /// `migrations[i]` brings a file at version `i + 1` to version `i + 2` (before the DDL
    /// runs): a data dir kept from an earlier release opens with its data.
    pub migrations: &'static [&'static str],
}

enum Integrity {
    Damaged(String),
    Sqlite(rusqlite::Error),
}

/// `PRAGMA quick_check`: a damaged page anywhere fails the start, not a request an hour later
/// (it reads every page once; the workshop's files take milliseconds).
fn check_integrity(conn: &Connection, path: &Path) -> Result<(), Integrity> {
    let mut stmt = conn
        .prepare("PRAGMA quick_check(3)")
        .map_err(Integrity::Sqlite)?;
    let problems: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                Integrity::Damaged(e.to_string())
            }
            _ => Integrity::Sqlite(e),
        })?;
    match problems.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        [] => Ok(()),
        found => {
            tracing::error!(path = %path.display(), problems = ?found, "SQLite file is damaged");
            Err(Integrity::Damaged(found.join("; ")))
        }
    }
}

#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    pub fn open(path: &Path, schema: &Schema) -> Result<Db, SqliteError> {
        let open_err = |source: rusqlite::Error| match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                SqliteError::Damaged {
                    path: path.to_path_buf(),
                    problem: source.to_string(),
                }
            }
            _ => SqliteError::Open {
                path: path.to_path_buf(),
                source,
            },
        };
        let conn = Connection::open(path).map_err(open_err)?;
        // Set first: the pragmas and the schema transaction below may wait for another process.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            // Still durable against a killed process, but readers now block writers.
            tracing::warn!(path = %path.display(), mode, "SQLite could not switch to WAL mode");
        }
        // In WAL mode a commit has been written to the WAL file (though not fsynced) when it
        // returns: a killed process loses nothing; only an OS crash or power cut can lose the
        // last transactions. That is the durability the local stack promises, without an fsync
        // per message.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        check_integrity(&conn, path).map_err(|e| match e {
            Integrity::Damaged(problem) => SqliteError::Damaged {
                path: path.to_path_buf(),
                problem,
            },
            Integrity::Sqlite(source) => open_err(source),
        })?;
        Self::prepare(conn, path.to_path_buf(), schema)
    }

    /// A private in-memory database, for tests. Nothing survives the value being dropped.
    pub fn open_in_memory(schema: &Schema) -> Result<Db, SqliteError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| SqliteError::Open {
            path: path.clone(),
            source,
        })?;
        Self::prepare(conn, path, schema)
    }

    fn prepare(mut conn: Connection, path: PathBuf, schema: &Schema) -> Result<Db, SqliteError> {
        const OP: &str = "open database";
        // IMMEDIATE: two processes opening a new file at once create the schema one after
        // the other instead of failing on a lock upgrade.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(OP)?;
        let app_id: i32 = tx
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .ctx(OP)?;
        let version: i32 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .ctx(OP)?;
        if app_id != 0 && app_id != schema.application_id {
            return Err(SqliteError::WrongDatabase {
                path,
                expected: schema.label,
                found: app_id,
            });
        }
        if version > schema.version {
            return Err(SqliteError::SchemaTooNew {
                path,
                found: version,
                supported: schema.version,
            });
        }
        // A new file (version 0) gets the current DDL; an older one its migrations first (the
        // DDL's `IF NOT EXISTS` would skip a table that lacks a new column).
        if version > 0 {
            let from = usize::try_from(version - 1).unwrap_or(0);
            for step in schema.migrations.iter().skip(from) {
                tx.execute_batch(step).ctx(OP)?;
            }
        }
        tx.execute_batch(schema.ddl).ctx(OP)?;
        tx.pragma_update(None, "application_id", schema.application_id)
            .ctx(OP)?;
        tx.pragma_update(None, "user_version", schema.version)
            .ctx(OP)?;
        tx.commit().ctx(OP)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// `f` in one IMMEDIATE transaction, committed when it returns `Ok`: a writer takes the
    /// lock up front, so two processes queue behind each other instead of failing on a lock
    /// upgrade.
    pub async fn write<T, F>(&self, operation: &'static str, f: F) -> Result<T, SqliteError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, SqliteError> + Send + 'static,
    {
        self.call(operation, move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx(operation)?;
            let out = f(&tx)?;
            tx.commit().ctx(operation)?;
            Ok(out)
        })
        .await
    }

    /// Runs `f` with the connection on tokio's blocking pool: SQLite calls block (disk I/O,
    /// busy waits) and must not stall the async workers.
    pub async fn call<T, F>(&self, operation: &'static str, f: F) -> Result<T, SqliteError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, SqliteError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave a half-done write behind: an
            // unfinished rusqlite Transaction rolls back on unwind. So the connection is still
            // sound, and refusing every later call would turn one bug into an outage.
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| SqliteError::Join {
            operation,
            message: e.to_string(),
        })?
    }
}

/// Timestamps are stored as unix milliseconds, the precision of every timestamp in the system.
pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(operation: &'static str, ms: i64) -> Result<DateTime<Utc>, SqliteError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| SqliteError::corrupt(operation, format!("{ms} is not a timestamp")))
}

pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
