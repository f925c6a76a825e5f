//! A durable queue with SQS standard-queue semantics, in SQLite: the local stack's stand-in
//! for the orders queue and its dead-letter queue.
//!
//! One file holds both queues (column `queue`), so moving a message to the DLQ or redriving
//! it back is a single UPDATE in one transaction: a killed process can never lose or
//! duplicate a message in the middle of a move. All time comes from the injected clock.

use crate::db::{Db, Schema, duration_ms, from_ms, to_ms};
use crate::error::{Ctx, SqliteError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orders::ports::{Clock, DependencyError, OrderCreated, OrderQueue, ReceivedMessage};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use telemetry::trace::{Carrier, TRACEPARENT};
use uuid::Uuid;

const SCHEMA: Schema = Schema {
    migrations: &[],
    application_id: 0x5153_5153, // "QSQS"
    version: 1,
    label: "queue",
    ddl: "
        CREATE TABLE IF NOT EXISTS messages (
            seq               INTEGER PRIMARY KEY,  -- ties between equal sent_at: send order
            message_id        TEXT NOT NULL UNIQUE,
            queue             TEXT NOT NULL,
            body              TEXT NOT NULL,
            attributes        TEXT NOT NULL,        -- JSON object of string attributes
            sent_at           INTEGER NOT NULL,     -- unix ms; retention counts from here
            visible_at        INTEGER NOT NULL,     -- unix ms; in flight while in the future
            receive_count     INTEGER NOT NULL DEFAULT 0,
            first_received_at INTEGER,
            receipt_handle    TEXT UNIQUE,          -- of the latest receive; NULL if never
            moved_at          INTEGER               -- when it was moved to the DLQ
        );
        CREATE INDEX IF NOT EXISTS messages_by_visibility ON messages (queue, visible_at);
        CREATE INDEX IF NOT EXISTS messages_by_sent ON messages (queue, sent_at);

        -- Running totals for the SQS metrics (NumberOfMessagesSent/Received/Deleted).
        CREATE TABLE IF NOT EXISTS counters (
            queue TEXT NOT NULL,
            name  TEXT NOT NULL,
            value INTEGER NOT NULL,
            PRIMARY KEY (queue, name)
        );
    ",
};

/// SQS's limit on a message body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// SQS's limit on a visibility timeout.
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * 3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    pub name: String,
    pub dlq_name: String,
    pub visibility_timeout: Duration,
    /// Receives before a message moves to the DLQ (the redrive policy's `maxReceiveCount`).
    pub max_receive_count: u32,
    /// Messages older than this (counted from when they were sent) are dropped.
    pub retention: Duration,
    pub dlq_retention: Duration,
}

impl QueueConfig {
    /// The orders queue as `orders::settings::QUEUE` defines it, the same values as on AWS.
    pub fn from_settings() -> Self {
        let s = orders::settings::QUEUE;
        QueueConfig {
            name: orders::settings::local::ORDERS_QUEUE.to_owned(),
            dlq_name: orders::settings::local::DEAD_LETTER_QUEUE.to_owned(),
            visibility_timeout: s.visibility_timeout,
            max_receive_count: s.max_receive_count,
            retention: s.retention,
            dlq_retention: s.dlq_retention,
        }
    }

    fn validate(&self) -> Result<(), SqliteError> {
        const OP: &str = "open queue";
        if self.name == self.dlq_name {
            return Err(SqliteError::invalid(
                OP,
                "the queue and its DLQ need different names",
            ));
        }
        // SQS accepts 1..=1000; 0 would dead-letter every message unseen.
        if !(1..=1000).contains(&self.max_receive_count) {
            return Err(SqliteError::invalid(
                OP,
                "max_receive_count must be 1..=1000",
            ));
        }
        if self.visibility_timeout > MAX_VISIBILITY_TIMEOUT {
            return Err(SqliteError::invalid(
                OP,
                "visibility_timeout is above 12 hours",
            ));
        }
        Ok(())
    }
}

/// A message in the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub message_id: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
    pub receive_count: u32,
    pub sent_at: DateTime<Utc>,
    pub moved_at: DateTime<Utc>,
}

/// What CloudWatch shows for one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCounts {
    pub name: String,
    /// `ApproximateNumberOfMessagesVisible`.
    pub visible: u64,
    /// `ApproximateNumberOfMessagesNotVisible`.
    pub in_flight: u64,
    /// `ApproximateAgeOfOldestMessage`, counted from when the message was sent.
    pub oldest_age: Option<Duration>,
    /// Totals since the file was created: `NumberOfMessagesSent/Received/Deleted`.
    pub sent: u64,
    pub received: u64,
    pub deleted: u64,
    /// Messages moved in from the other queue (dead-lettered into the DLQ, redriven into the
    /// source). Like SQS, these do not count as sent.
    pub moved_in: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    pub source: QueueCounts,
    pub dlq: QueueCounts,
}

/// The orders queue and its DLQ in one SQLite file. Cloning shares the connection.
#[derive(Clone)]
pub struct SqliteQueue {
    db: Db,
    config: Arc<QueueConfig>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SqliteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteQueue")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

const SENT: &str = "sent";
const RECEIVED: &str = "received";
const DELETED: &str = "deleted";
const MOVED_IN: &str = "moved_in";

impl SqliteQueue {
    pub fn open(
        path: &Path,
        config: QueueConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SqliteError> {
        config.validate()?;
        Ok(SqliteQueue {
            db: Db::open(path, &SCHEMA)?,
            config: Arc::new(config),
            clock,
        })
    }

    /// A private in-memory queue, for tests.
    pub fn open_in_memory(config: QueueConfig, clock: Arc<dyn Clock>) -> Result<Self, SqliteError> {
        config.validate()?;
        Ok(SqliteQueue {
            db: Db::open_in_memory(&SCHEMA)?,
            config: Arc::new(config),
            clock,
        })
    }

    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// Sends a message to the source queue; returns its message id.
    pub async fn send(
        &self,
        body: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<String, SqliteError> {
        const OP: &str = "send message";
        if body.len() > MAX_BODY_BYTES {
            return Err(SqliteError::invalid(
                OP,
                format!("body of {} bytes is above {MAX_BODY_BYTES}", body.len()),
            ));
        }
        let attributes =
            serde_json::to_string(attributes).map_err(|e| SqliteError::invalid(OP, e))?;
        let body = body.to_owned();
        let now = to_ms(self.clock.now());
        let config = Arc::clone(&self.config);
        let id = Uuid::new_v4().to_string();
        let message_id = id.clone();
        self.db
            .write(OP, move |tx| {
                tx.execute(
                    "INSERT INTO messages (message_id, queue, body, attributes, sent_at, visible_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    params![message_id, config.name, body, attributes, now],
                )
                .ctx(OP)?;
                bump(tx, OP, &config.name, SENT, 1)?;
                Ok(())
            })
            .await?;
        Ok(id)
    }

    /// Receives up to `max` visible messages, oldest first, making each invisible for the
    /// visibility timeout. A message already received `max_receive_count` times is moved to
    /// the DLQ instead of being returned (SQS moves it on the receive after its last allowed
    /// one).
    pub async fn receive(&self, max: usize) -> Result<Vec<ReceivedMessage>, SqliteError> {
        const OP: &str = "receive messages";
        if max == 0 {
            return Ok(Vec::new());
        }
        let now = to_ms(self.clock.now());
        let config = Arc::clone(&self.config);
        let (received, dead_lettered) = self
            .db
            .write(OP, move |tx| receive(tx, &config, now, max))
            .await?;
        for moved in &dead_lettered {
            moved.tell(&self.config);
        }
        Ok(received)
    }

    /// Deletes the message if `receipt_handle` is its latest one. A handle from an earlier
    /// receive deletes nothing (the message is someone else's now) and returns false.
    pub async fn delete(&self, receipt_handle: &str) -> Result<bool, SqliteError> {
        const OP: &str = "delete message";
        let handle = receipt_handle.to_owned();
        let config = Arc::clone(&self.config);
        self.db
            .write(OP, move |tx| {
                let n = tx
                    .execute(
                        "DELETE FROM messages WHERE receipt_handle = ?1 AND queue = ?2",
                        params![handle, config.name],
                    )
                    .ctx(OP)?;
                if n > 0 {
                    bump(tx, OP, &config.name, DELETED, n)?;
                }
                Ok(n > 0)
            })
            .await
    }

    /// Makes an in-flight message visible again after `timeout` from now (0: at once).
    /// Returns false when the handle is stale or the message is no longer in flight, where
    /// SQS answers `MessageNotInflight` / `ReceiptHandleIsInvalid`.
    pub async fn change_visibility(
        &self,
        receipt_handle: &str,
        timeout: Duration,
    ) -> Result<bool, SqliteError> {
        const OP: &str = "change message visibility";
        if timeout > MAX_VISIBILITY_TIMEOUT {
            return Err(SqliteError::invalid(
                OP,
                "visibility timeout is above 12 hours",
            ));
        }
        let handle = receipt_handle.to_owned();
        let now = to_ms(self.clock.now());
        let visible_at = now.saturating_add(duration_ms(timeout));
        let config = Arc::clone(&self.config);
        self.db
            .call(OP, move |conn| {
                let n = conn
                    .execute(
                        "UPDATE messages SET visible_at = ?1
                         WHERE receipt_handle = ?2 AND queue = ?3 AND visible_at > ?4",
                        params![visible_at, handle, config.name, now],
                    )
                    .ctx(OP)?;
                Ok(n > 0)
            })
            .await
    }

    /// Up to `limit` messages in the DLQ, in the order they were moved there. Changes nothing.
    pub async fn dlq_list(&self, limit: usize) -> Result<Vec<DeadLetter>, SqliteError> {
        const OP: &str = "list dead letters";
        let now = to_ms(self.clock.now());
        let config = Arc::clone(&self.config);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .call(OP, move |conn| {
                let cutoff = now.saturating_sub(duration_ms(config.dlq_retention));
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT message_id, body, attributes, receive_count, sent_at, moved_at
                         FROM messages WHERE queue = ?1 AND sent_at > ?2
                         ORDER BY moved_at, seq LIMIT ?3",
                    )
                    .ctx(OP)?;
                let rows = stmt
                    .query_map(params![config.dlq_name, cutoff, limit], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, Option<i64>>(5)?,
                        ))
                    })
                    .ctx(OP)?
                    .collect::<Result<Vec<_>, _>>()
                    .ctx(OP)?;
                rows.into_iter()
                    .map(|(message_id, body, attributes, count, sent_at, moved_at)| {
                        Ok(DeadLetter {
                            attributes: decode_attributes(OP, &attributes)?,
                            receive_count: count_u32(OP, count)?,
                            sent_at: from_ms(OP, sent_at)?,
                            moved_at: from_ms(OP, moved_at.unwrap_or(sent_at))?,
                            message_id,
                            body,
                        })
                    })
                    .collect()
            })
            .await
    }

    /// Moves every message in the DLQ back to the source queue, visible now, with its receive
    /// count reset, as SQS's `StartMessageMoveTask` does. Returns how many moved. Each move
    /// is a span in its message's trace.
    pub async fn redrive(&self) -> Result<usize, SqliteError> {
        const OP: &str = "redrive dead letters";
        let now = to_ms(self.clock.now());
        let config = Arc::clone(&self.config);
        let moved: Vec<(String, Option<String>)> = self
            .db
            .write(OP, move |tx| {
                let cutoff = now.saturating_sub(duration_ms(config.dlq_retention));
                let moving = {
                    let mut stmt = tx
                        .prepare_cached(
                            "SELECT message_id, attributes FROM messages
                             WHERE queue = ?1 AND sent_at > ?2",
                        )
                        .ctx(OP)?;
                    let rows = stmt
                        .query_map(params![config.dlq_name, cutoff], |r| {
                            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                        })
                        .ctx(OP)?
                        .collect::<Result<Vec<_>, _>>()
                        .ctx(OP)?;
                    rows.into_iter()
                        .map(|(id, attributes)| {
                            let trace = decode_attributes(OP, &attributes)
                                .ok()
                                .and_then(|a| a.get(TRACEPARENT).cloned());
                            (id, trace)
                        })
                        .collect::<Vec<_>>()
                };
                // A redriven message is a new arrival in the source queue (SQS re-sends it),
                // so its retention starts again: `sent_at` is now.
                let n = tx
                    .execute(
                        "UPDATE messages SET queue = ?1, sent_at = ?2, visible_at = ?2,
                             receive_count = 0, first_received_at = NULL,
                             receipt_handle = NULL, moved_at = NULL
                         WHERE queue = ?3 AND sent_at > ?4",
                        params![config.name, now, config.dlq_name, cutoff],
                    )
                    .ctx(OP)?;
                if n > 0 {
                    bump(tx, OP, &config.name, MOVED_IN, n)?;
                }
                Ok(moving)
            })
            .await?;
        for (message_id, trace) in &moved {
            let span = telemetry::trace::spans::redrive(
                &self.config.dlq_name,
                &self.config.name,
                message_id,
            );
            Carrier::from_parts(trace.as_deref(), None).continue_in(&span);
            drop(span);
        }
        Ok(moved.len())
    }

    /// Deletes messages past their queue's retention; returns how many. Expired messages are
    /// already invisible to every other call, so this only reclaims space.
    pub async fn purge_expired(&self) -> Result<usize, SqliteError> {
        const OP: &str = "purge expired messages";
        let now = to_ms(self.clock.now());
        let config = Arc::clone(&self.config);
        self.db
            .write(OP, move |tx| {
                let mut n = 0;
                for (queue, retention) in [
                    (&config.name, config.retention),
                    (&config.dlq_name, config.dlq_retention),
                ] {
                    n += tx
                        .execute(
                            "DELETE FROM messages WHERE queue = ?1 AND sent_at <= ?2",
                            params![queue, now.saturating_sub(duration_ms(retention))],
                        )
                        .ctx(OP)?;
                }
                Ok(n)
            })
            .await
    }

    pub async fn stats(&self) -> Result<QueueStats, SqliteError> {
        const OP: &str = "queue stats";
        let now = to_ms(self.clock.now());
        let config = Arc::clone(&self.config);
        self.db
            .call(OP, move |conn| {
                // A read transaction, so both queues are counted at the same instant.
                let tx = conn.transaction().ctx(OP)?;
                let source = counts(&tx, &config.name, config.retention, now)?;
                let dlq = counts(&tx, &config.dlq_name, config.dlq_retention, now)?;
                tx.commit().ctx(OP)?;
                Ok(QueueStats { source, dlq })
            })
            .await
    }
}

fn receive(
    tx: &Connection,
    config: &QueueConfig,
    now: i64,
    max: usize,
) -> Result<(Vec<ReceivedMessage>, Vec<DeadLettered>), SqliteError> {
    const OP: &str = "receive messages";
    let cutoff = now.saturating_sub(duration_ms(config.retention));
    let visible_until = now.saturating_add(duration_ms(config.visibility_timeout));
    let max_count = i64::from(config.max_receive_count);
    let mut out = Vec::new();
    let mut dead_lettered = Vec::new();
    let mut moved = 0;
    // Messages moved to the DLQ leave room in the batch, so pick again until the batch is
    // full or nothing visible is left; each round either fills or moves at least one.
    loop {
        let want = i64::try_from(max - out.len()).unwrap_or(i64::MAX);
        let mut stmt = tx
            .prepare_cached(
                "SELECT seq, message_id, body, attributes, receive_count, sent_at,
                        first_received_at
                 FROM messages WHERE queue = ?1 AND visible_at <= ?2 AND sent_at > ?3
                 ORDER BY sent_at, seq LIMIT ?4",
            )
            .ctx(OP)?;
        let rows = stmt
            .query_map(params![config.name, now, cutoff, want], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                ))
            })
            .ctx(OP)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(OP)?;
        if rows.is_empty() {
            break;
        }
        let mut moved_now = 0;
        for (seq, message_id, body, attributes, count, sent_at, first) in rows {
            if count >= max_count {
                tx.execute(
                    "UPDATE messages SET queue = ?1, visible_at = ?2, moved_at = ?2,
                         receipt_handle = NULL
                     WHERE seq = ?3",
                    params![config.dlq_name, now, seq],
                )
                .ctx(OP)?;
                dead_lettered.push(DeadLettered {
                    message_id,
                    receive_count: count,
                    trace: decode_attributes(OP, &attributes)
                        .ok()
                        .and_then(|a| a.get(TRACEPARENT).cloned()),
                });
                moved_now += 1;
                continue;
            }
            let handle = Uuid::new_v4().to_string();
            let first = first.unwrap_or(now);
            tx.execute(
                "UPDATE messages SET receive_count = receive_count + 1,
                     first_received_at = ?1, visible_at = ?2, receipt_handle = ?3
                 WHERE seq = ?4",
                params![first, visible_until, handle, seq],
            )
            .ctx(OP)?;
            let attributes = decode_attributes(OP, &attributes)?;
            out.push(ReceivedMessage {
                trace: Carrier::from_parts(attributes.get(TRACEPARENT).map(String::as_str), None),
                attributes,
                receive_count: count_u32(OP, count + 1)?,
                sent_at: from_ms(OP, sent_at)?,
                first_received_at: from_ms(OP, first)?,
                message_id,
                receipt_handle: handle,
                body,
            });
        }
        moved += moved_now;
        if moved_now == 0 || out.len() >= max {
            break;
        }
    }
    if !out.is_empty() {
        bump(tx, OP, &config.name, RECEIVED, out.len())?;
    }
    if moved > 0 {
        bump(tx, OP, &config.dlq_name, MOVED_IN, moved)?;
    }
    Ok((out, dead_lettered))
}

/// A message the receive moved to the DLQ, told once the move is committed.
struct DeadLettered {
    message_id: String,
    receive_count: i64,
    trace: Option<String>,
}

impl DeadLettered {
    /// The move as SQS's redrive policy makes it: a log line and, in the order's trace, a
    /// PRODUCER span to the DLQ.
    fn tell(&self, config: &QueueConfig) {
        let span = telemetry::trace::spans::dead_letter(
            &config.name,
            &config.dlq_name,
            &self.message_id,
            self.receive_count,
        );
        Carrier::from_parts(self.trace.as_deref(), None).continue_in(&span);
        span.in_scope(|| {
            tracing::info!(
                queue = %config.name,
                dlq = %config.dlq_name,
                message_id = %self.message_id,
                receive_count = self.receive_count,
                "message moved to the dead-letter queue"
            )
        });
    }
}

fn counts(
    conn: &Connection,
    queue: &str,
    retention: Duration,
    now: i64,
) -> Result<QueueCounts, SqliteError> {
    const OP: &str = "queue stats";
    let cutoff = now.saturating_sub(duration_ms(retention));
    let (visible, in_flight, oldest): (i64, i64, Option<i64>) = conn
        .query_row(
            "SELECT coalesce(sum(visible_at <= ?2), 0), coalesce(sum(visible_at > ?2), 0),
                    min(sent_at)
             FROM messages WHERE queue = ?1 AND sent_at > ?3",
            params![queue, now, cutoff],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .ctx(OP)?;
    let counter = |name: &str| -> Result<u64, SqliteError> {
        let v: Option<i64> = conn
            .query_row(
                "SELECT value FROM counters WHERE queue = ?1 AND name = ?2",
                params![queue, name],
                |r| r.get(0),
            )
            .optional()
            .ctx(OP)?;
        Ok(u64::try_from(v.unwrap_or(0)).unwrap_or(0))
    };
    Ok(QueueCounts {
        name: queue.to_owned(),
        visible: u64::try_from(visible).unwrap_or(0),
        in_flight: u64::try_from(in_flight).unwrap_or(0),
        oldest_age: oldest.map(|sent| {
            Duration::from_millis(u64::try_from(now.saturating_sub(sent)).unwrap_or(0))
        }),
        sent: counter(SENT)?,
        received: counter(RECEIVED)?,
        deleted: counter(DELETED)?,
        moved_in: counter(MOVED_IN)?,
    })
}

/// Adds `by` to a counter, in the caller's transaction so counts and messages agree.
fn bump(
    conn: &Connection,
    op: &'static str,
    queue: &str,
    name: &str,
    by: usize,
) -> Result<(), SqliteError> {
    conn.execute(
        "INSERT INTO counters (queue, name, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (queue, name) DO UPDATE SET value = value + excluded.value",
        params![queue, name, i64::try_from(by).unwrap_or(i64::MAX)],
    )
    .ctx(op)?;
    Ok(())
}

fn decode_attributes(
    op: &'static str,
    text: &str,
) -> Result<BTreeMap<String, String>, SqliteError> {
    serde_json::from_str(text).map_err(|e| SqliteError::corrupt(op, format!("attributes: {e}")))
}

fn count_u32(op: &'static str, n: i64) -> Result<u32, SqliteError> {
    u32::try_from(n).map_err(|_| SqliteError::corrupt(op, format!("receive count {n}")))
}

#[async_trait]
impl OrderQueue for SqliteQueue {
    async fn publish(&self, message: &OrderCreated) -> Result<String, DependencyError> {
        let body = serde_json::to_string(message)
            .map_err(|e| DependencyError::failed("send message", e))?;
        let mut attributes = BTreeMap::new();
        if let Some(id) = &message.correlation_id {
            attributes.insert("correlationId".to_owned(), id.clone());
        }
        // The PRODUCER span; its context rides in the row, so the processor continues it.
        let span = telemetry::trace::spans::send(&self.config.name);
        if let Some(traceparent) = Carrier::of(&span).traceparent {
            attributes.insert(TRACEPARENT.to_owned(), traceparent);
        }
        let sent = async { Ok(self.send(&body, &attributes).await?) };
        let id: String =
            telemetry::trace::spans::in_span(span.clone(), DependencyError::kind, sent).await?;
        span.record("messaging.message.id", id.as_str());
        Ok(id)
    }

    async fn ping(&self) -> Result<(), DependencyError> {
        const OP: &str = "ping queue";
        self.db
            .call(OP, |conn| {
                conn.query_row(
                    "SELECT count(*) FROM (SELECT 1 FROM messages LIMIT 1)",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .ctx(OP)
            })
            .await?;
        Ok(())
    }
}
