//! Where the local CloudWatch keeps what it must not forget: every datapoint and every alarm
//! state change, in `cloudwatch.db` in the data dir, so a restart (or a SIGKILL) keeps the
//! graphs and the alarm history of the hours before it. Bounded like CloudWatch, smaller:
//! [`RETENTION`] of raw datapoints (CloudWatch keeps 1-minute data for 15 days; a workshop
//! reads the last hours).

use alarms::{AlarmState, Dimension, Metric, Transition};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long datapoints and alarm history are kept (the console reads at most 3 hours back;
/// `workshop metrics --minutes` at most a day).
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);

const DDL: &str = "
    CREATE TABLE IF NOT EXISTS metrics (
        id         INTEGER PRIMARY KEY,
        namespace  TEXT NOT NULL,
        name       TEXT NOT NULL,
        dimensions TEXT NOT NULL,           -- JSON [[name, value], ...], sorted by name
        UNIQUE (namespace, name, dimensions)
    );
    CREATE TABLE IF NOT EXISTS datapoints (
        metric INTEGER NOT NULL REFERENCES metrics (id),
        at_ms  INTEGER NOT NULL,            -- unix ms
        value  REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS datapoints_by_time ON datapoints (at_ms);
    CREATE TABLE IF NOT EXISTS alarm_history (
        at_ms      INTEGER NOT NULL,
        alarm      TEXT NOT NULL,
        from_state TEXT NOT NULL,
        to_state   TEXT NOT NULL,
        reason     TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS alarm_history_by_time ON alarm_history (at_ms);
";

#[derive(Debug, thiserror::Error)]
pub enum MetricFileError {
    #[error("the metric store {path}: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("the metric store {path} holds an unreadable row: {message}")]
    Corrupt { path: PathBuf, message: String },
}

/// What a restarted stack reads back.
#[derive(Debug, Default)]
pub struct Retained {
    pub datapoints: Vec<(Metric, DateTime<Utc>, f64)>,
    /// Oldest first.
    pub history: Vec<Transition>,
}

pub struct MetricFile {
    conn: Connection,
    path: PathBuf,
    ids: HashMap<Metric, i64>,
}

impl MetricFile {
    pub fn open(path: &Path) -> Result<MetricFile, MetricFileError> {
        let sql = |source| MetricFileError::Sql {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        // WAL and NORMAL: a crash loses at most the last transaction, never the file.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(sql)?;
        conn.execute_batch(DDL).map_err(sql)?;
        Ok(MetricFile {
            conn,
            path: path.to_owned(),
            ids: HashMap::new(),
        })
    }

    fn sql(&self, source: rusqlite::Error) -> MetricFileError {
        MetricFileError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// Everything newer than `since`.
    pub fn load(&mut self, since: DateTime<Utc>) -> Result<Retained, MetricFileError> {
        let since_ms = since.timestamp_millis();
        let mut retained = Retained::default();
        let metrics = self.metrics()?;
        let mut stmt = self
            .conn
            .prepare("SELECT metric, at_ms, value FROM datapoints WHERE at_ms >= ?1 ORDER BY at_ms")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([since_ms], |r| <(i64, i64, f64)>::try_from(r))
            .map_err(|e| self.sql(e))?;
        for row in rows {
            let (id, at_ms, value) = row.map_err(|e| self.sql(e))?;
            if let (Some(metric), Some(at)) =
                (metrics.get(&id), DateTime::from_timestamp_millis(at_ms))
            {
                retained.datapoints.push((metric.clone(), at, value));
            }
        }
        drop(stmt);
        for (metric, id) in metrics.into_iter().map(|(id, m)| (m, id)) {
            self.ids.insert(metric, id);
        }
        retained.history = self.history(since_ms)?;
        Ok(retained)
    }

    fn metrics(&self) -> Result<HashMap<i64, Metric>, MetricFileError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, namespace, name, dimensions FROM metrics")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            // rusqlite reads a row into a tuple of the column types.
            .query_map([], |r| <(i64, String, String, String)>::try_from(r))
            .map_err(|e| self.sql(e))?;
        let mut out = HashMap::new();
        for row in rows {
            let (id, namespace, name, dims) = row.map_err(|e| self.sql(e))?;
            let dims: Vec<(String, String)> =
                serde_json::from_str(&dims).map_err(|e| MetricFileError::Corrupt {
                    path: self.path.clone(),
                    message: format!("dimensions of metric {id}: {e}"),
                })?;
            let mut metric = Metric::new(namespace, name);
            metric.dimensions = dims
                .into_iter()
                .map(|(n, v)| Dimension::new(n, v))
                .collect();
            out.insert(id, metric);
        }
        Ok(out)
    }

    fn history(&self, since_ms: i64) -> Result<Vec<Transition>, MetricFileError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT at_ms, alarm, from_state, to_state, reason FROM alarm_history
                 WHERE at_ms >= ?1 ORDER BY at_ms, rowid",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([since_ms], |r| {
                <(i64, String, String, String, String)>::try_from(r)
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (at_ms, alarm, from, to, reason) = row.map_err(|e| self.sql(e))?;
            let state = |s: &str| {
                state_of(s).ok_or_else(|| MetricFileError::Corrupt {
                    path: self.path.clone(),
                    message: format!("alarm state {s:?} of {alarm}"),
                })
            };
            out.push(Transition {
                timestamp: DateTime::from_timestamp_millis(at_ms).unwrap_or_default(),
                from: state(&from)?,
                to: state(&to)?,
                alarm: alarm.clone(),
                reason,
            });
        }
        Ok(out)
    }

    /// Appends datapoints in one transaction.
    pub fn append(
        &mut self,
        points: &[(Metric, DateTime<Utc>, f64)],
    ) -> Result<(), MetricFileError> {
        if points.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let sql = |source| MetricFileError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO datapoints (metric, at_ms, value) VALUES (?1, ?2, ?3)")
                .map_err(sql)?;
            for (metric, at, value) in points {
                let id = match self.ids.get(metric) {
                    Some(id) => *id,
                    None => {
                        let dims: Vec<(String, String)> = metric
                            .sorted_dimensions()
                            .into_iter()
                            .map(|d| (d.name, d.value))
                            .collect();
                        // Pairs of strings always serialise.
                        let dims = serde_json::to_string(&dims).unwrap_or_default();
                        tx.execute(
                            "INSERT INTO metrics (namespace, name, dimensions) VALUES (?1, ?2, ?3)
                             ON CONFLICT (namespace, name, dimensions) DO NOTHING",
                            params![metric.namespace, metric.metric_name, dims],
                        )
                        .map_err(sql)?;
                        let id: i64 = tx
                            .query_row(
                                "SELECT id FROM metrics WHERE namespace = ?1 AND name = ?2 AND dimensions = ?3",
                                params![metric.namespace, metric.metric_name, dims],
                                |r| r.get(0),
                            )
                            .map_err(sql)?;
                        self.ids.insert(metric.clone(), id);
                        id
                    }
                };
                insert
                    .execute(params![id, at.timestamp_millis(), value])
                    .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)
    }

    pub fn append_history(&mut self, transitions: &[Transition]) -> Result<(), MetricFileError> {
        let path = self.path.clone();
        let sql = |source| MetricFileError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        for t in transitions {
            tx.execute(
                "INSERT INTO alarm_history (at_ms, alarm, from_state, to_state, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    t.timestamp.timestamp_millis(),
                    t.alarm,
                    t.from.as_str(),
                    t.to.as_str(),
                    t.reason
                ],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }

    /// Deletes what is older than `before`.
    pub fn prune(&mut self, before: DateTime<Utc>) -> Result<(), MetricFileError> {
        let ms = before.timestamp_millis();
        self.conn
            .execute("DELETE FROM datapoints WHERE at_ms < ?1", [ms])
            .map_err(|e| self.sql(e))?;
        self.conn
            .execute("DELETE FROM alarm_history WHERE at_ms < ?1", [ms])
            .map_err(|e| self.sql(e))?;
        Ok(())
    }
}

fn state_of(s: &str) -> Option<AlarmState> {
    [
        AlarmState::Ok,
        AlarmState::Alarm,
        AlarmState::InsufficientData,
    ]
    .into_iter()
    .find(|state| state.as_str() == s)
}
