//! [`OrderStore`] on SQLite: the local stack's stand-in for the DynamoDB table.
//!
//! The order itself is kept as its JSON (`body`), exactly as the API returns it, so money
//! and timestamps survive byte for byte; the columns next to it exist only to index and to
//! make updates conditional.

use crate::db::{Db, Schema, to_ms};
use crate::error::{Ctx, SqliteError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orders::domain::Order;
use orders::ports::{
    CreateOutcome, DependencyError, IdempotencyKey, ListQuery, OrderStore, Outbox, OutboxEntry,
    Page, SortOrder, Transition, TransitionRequest,
};
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use std::path::Path;
use telemetry::trace::Carrier;
use uuid::Uuid;

const SCHEMA: Schema = Schema {
    application_id: 0x4f52_4453, // "ORDS"
    // 2: `created_in`, the trace context of an unpublished order's create.
    // 3: the outbox table replaces the `unpublished` marker; marked orders move into it.
    version: 3,
    migrations: &[
        "ALTER TABLE orders ADD COLUMN created_in TEXT;",
        "DROP INDEX IF EXISTS orders_unpublished;
         CREATE TABLE outbox (
             seq            INTEGER PRIMARY KEY AUTOINCREMENT,
             order_id       TEXT NOT NULL,
             correlation_id TEXT,
             created_in     TEXT
         );
         INSERT INTO outbox (order_id, created_in)
             SELECT id, created_in FROM orders WHERE unpublished = 1 ORDER BY created_at, id;
         -- The old columns stay, emptied: DROP COLUMN rewrites the table's SQL text and fails
         -- on the comments that version 1 wrote after its last column.
         UPDATE orders SET unpublished = NULL, created_in = NULL
             WHERE unpublished IS NOT NULL OR created_in IS NOT NULL;",
    ],
    label: "order store",
    ddl: "
        CREATE TABLE IF NOT EXISTS orders (
            id          TEXT PRIMARY KEY,
            status      TEXT NOT NULL,
            created_at  INTEGER NOT NULL,   -- unix ms
            updated_at  INTEGER NOT NULL,   -- unix ms
            body        TEXT NOT NULL       -- the Order as JSON, the source of truth
        );
        -- Newest- or oldest-first listing; id breaks ties within a millisecond.
        CREATE INDEX IF NOT EXISTS orders_by_created ON orders (created_at, id);
        -- Listing one status (the DynamoDB status GSI).
        CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, created_at, id);
        -- The outbox (the table's stream on DynamoDB): one row per order written in the
        -- order's own transaction, deleted once the publisher has sent its message. `seq`
        -- is the stream's sequence number: entries are handed out in write order.
        CREATE TABLE IF NOT EXISTS outbox (
            seq            INTEGER PRIMARY KEY AUTOINCREMENT,
            order_id       TEXT NOT NULL,
            correlation_id TEXT,
            created_in     TEXT             -- the create's traceparent
        );

        CREATE TABLE IF NOT EXISTS idempotency (
            key          TEXT PRIMARY KEY,
            request_hash TEXT NOT NULL,
            order_id     TEXT NOT NULL,
            expires_at   INTEGER NOT NULL   -- unix ms
        );
        CREATE INDEX IF NOT EXISTS idempotency_by_expiry ON idempotency (expires_at);
    ",
};

/// The order store in one SQLite file. Cloning shares the connection.
#[derive(Clone)]
pub struct SqliteOrderStore {
    db: Db,
}

impl std::fmt::Debug for SqliteOrderStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteOrderStore").finish_non_exhaustive()
    }
}

impl SqliteOrderStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, SqliteError> {
        Ok(SqliteOrderStore {
            db: Db::open(path, &SCHEMA)?,
        })
    }

    /// A private in-memory store, for tests.
    pub fn open_in_memory() -> Result<Self, SqliteError> {
        Ok(SqliteOrderStore {
            db: Db::open_in_memory(&SCHEMA)?,
        })
    }

    /// Forgets idempotency keys that expired at or before `now` (DynamoDB does this with a
    /// TTL); returns how many were removed. Expired keys are already ignored by `create`, so
    /// this only bounds the table's size.
    pub async fn purge_expired_keys(&self, now: DateTime<Utc>) -> Result<usize, SqliteError> {
        const OP: &str = "purge idempotency keys";
        self.db
            .call(OP, move |conn| {
                conn.execute(
                    "DELETE FROM idempotency WHERE expires_at <= ?1",
                    [to_ms(now)],
                )
                .ctx(OP)
            })
            .await
    }

    async fn create_inner(
        &self,
        order: &Order,
        key: Option<&IdempotencyKey>,
        entry: Entry,
    ) -> Result<CreateOutcome, SqliteError> {
        const OP: &str = "create order";
        let order = order.clone();
        let key = key.cloned();
        self.db
            .call(OP, move |conn| create(conn, order, key, entry))
            .await
    }

    async fn list_inner(&self, query: &ListQuery) -> Result<Page, SqliteError> {
        const OP: &str = "list orders";
        if query.limit == 0 {
            return Err(SqliteError::invalid(OP, "limit must be at least 1"));
        }
        let after = query.cursor.as_deref().map(Cursor::parse).transpose()?;
        let (cmp, dir) = match query.sort {
            SortOrder::Asc => (">", "ASC"),
            SortOrder::Desc => ("<", "DESC"),
        };
        let mut sql = String::from("SELECT created_at, id, body FROM orders");
        let mut conditions = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        if let Some(status) = query.status {
            conditions.push("status = ?".to_owned());
            args.push(Value::Text(status.as_str().to_owned()));
        }
        if let Some(c) = after {
            // A row value comparison is what lets SQLite seek straight into the index.
            conditions.push(format!("(created_at, id) {cmp} (?, ?)"));
            args.push(Value::Integer(c.created_at));
            args.push(Value::Text(c.id.to_string()));
        }
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY created_at {dir}, id {dir} LIMIT ?"));
        // One row more than asked tells whether another page exists, so the last page
        // never carries a cursor to an empty page.
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        args.push(Value::Integer(i64::from(query.limit) + 1));

        self.db
            .call(OP, move |conn| {
                let mut stmt = conn.prepare_cached(&sql).ctx(OP)?;
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(args), |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                        ))
                    })
                    .ctx(OP)?
                    .collect::<Result<Vec<_>, _>>()
                    .ctx(OP)?;
                let more = rows.len() > limit;
                let mut orders = Vec::with_capacity(limit.min(rows.len()));
                let mut last = None;
                for (created_at, id, body) in rows.into_iter().take(limit) {
                    orders.push(decode(OP, &body)?);
                    last = Some((created_at, id));
                }
                let cursor = match (more, last) {
                    (true, Some((created_at, id))) => Some(Cursor::format(created_at, &id)),
                    _ => None,
                };
                Ok(Page { orders, cursor })
            })
            .await
    }

    async fn transition_inner(
        &self,
        TransitionRequest {
            id,
            from,
            to,
            reason,
            at,
        }: TransitionRequest,
    ) -> Result<Transition, SqliteError> {
        const OP: &str = "transition order";
        self.db
            .call(OP, move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .ctx(OP)?;
                let Some((status, body)) = tx
                    .query_row(
                        "SELECT status, body FROM orders WHERE id = ?1",
                        [id.to_string()],
                        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
                    )
                    .optional()
                    .ctx(OP)?
                else {
                    return Ok(Transition::NotFound);
                };
                let mut order = decode(OP, &body)?;
                if order.status.as_str() != status {
                    return Err(SqliteError::corrupt(
                        OP,
                        format!(
                            "order {id} has status {status} in its column but {} in its body",
                            order.status
                        ),
                    ));
                }
                if order.status != from {
                    return Ok(Transition::AlreadyDone(order));
                }
                order.status = to;
                order.updated_at = at;
                order.status_reason = reason;
                let body = encode(OP, &order)?;
                // Conditional on the status, like the DynamoDB ConditionExpression; inside the
                // IMMEDIATE transaction it cannot miss, but it keeps the rule in one statement.
                let changed = tx
                    .execute(
                        "UPDATE orders SET status = ?1, updated_at = ?2, body = ?3
                         WHERE id = ?4 AND status = ?5",
                        params![to.as_str(), to_ms(at), body, id.to_string(), from.as_str()],
                    )
                    .ctx(OP)?;
                if changed != 1 {
                    return Err(SqliteError::corrupt(
                        OP,
                        format!("order {id} changed while it was being updated"),
                    ));
                }
                tx.commit().ctx(OP)?;
                // Read back through JSON so the caller sees exactly what `get` will return
                // (timestamps at millisecond precision).
                Ok(Transition::Applied(decode(OP, &body)?))
            })
            .await
    }
}

fn create(
    conn: &mut Connection,
    order: Order,
    key: Option<IdempotencyKey>,
    entry: Entry,
) -> Result<CreateOutcome, SqliteError> {
    const OP: &str = "create order";
    // IMMEDIATE takes the write lock before the key is read, so two requests with the same
    // key cannot both see it missing.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx(OP)?;
    // The store has no clock of its own: the order is stamped with the request's time, so
    // that is the "now" a key's expiry is judged against.
    let now = to_ms(order.created_at);
    if let Some(k) = &key {
        let existing = tx
            .query_row(
                "SELECT request_hash, order_id, expires_at FROM idempotency WHERE key = ?1",
                [&k.key],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )
            .optional()
            .ctx(OP)?;
        // A record that has expired counts as absent (DynamoDB's TTL deletes lazily too).
        let live = existing.filter(|(_, _, expires_at)| *expires_at > now);
        if let Some((hash, order_id, _)) = live {
            if hash != k.request_hash {
                return Ok(CreateOutcome::KeyConflict);
            }
            let id = Uuid::parse_str(&order_id).map_err(|e| {
                SqliteError::corrupt(OP, format!("idempotency key points at {order_id:?}: {e}"))
            })?;
            let first = get(&tx, OP, id)?.ok_or_else(|| {
                SqliteError::corrupt(
                    OP,
                    format!("idempotency key points at order {id}, which does not exist"),
                )
            })?;
            return Ok(CreateOutcome::Replayed(first));
        }
        // No record, or an expired one: the insert below replaces it.
    }

    let body = encode(OP, &order)?;
    let inserted = tx.execute(
        "INSERT INTO orders (id, status, created_at, updated_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            order.id.to_string(),
            order.status.as_str(),
            to_ms(order.created_at),
            to_ms(order.updated_at),
            body,
        ],
    );
    match inserted {
        Ok(_) => {}
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
            // Dropping `tx` rolls back; nothing was written.
            return Err(SqliteError::DuplicateOrder {
                operation: OP,
                id: order.id,
            });
        }
        Err(e) => return Err(e).ctx(OP),
    }
    if let Some(k) = &key {
        tx.execute(
            "INSERT INTO idempotency (key, request_hash, order_id, expires_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash,
                 order_id = excluded.order_id, expires_at = excluded.expires_at",
            params![
                k.key,
                k.request_hash,
                order.id.to_string(),
                to_ms(k.expires_at)
            ],
        )
        .ctx(OP)?;
    }
    tx.execute(
        "INSERT INTO outbox (order_id, correlation_id, created_in) VALUES (?1, ?2, ?3)",
        params![order.id.to_string(), entry.correlation_id, entry.created_in],
    )
    .ctx(OP)?;
    tx.commit().ctx(OP)?;
    Ok(CreateOutcome::Created(decode(OP, &body)?))
}

fn get(conn: &Connection, op: &'static str, id: Uuid) -> Result<Option<Order>, SqliteError> {
    let body = conn
        .prepare_cached("SELECT body FROM orders WHERE id = ?1")
        .ctx(op)?
        .query_row([id.to_string()], |r| r.get::<_, String>(0))
        .optional()
        .ctx(op)?;
    body.map(|b| decode(op, &b)).transpose()
}

fn encode(op: &'static str, order: &Order) -> Result<String, SqliteError> {
    serde_json::to_string(order).map_err(|e| SqliteError::invalid(op, e))
}

fn decode(op: &'static str, body: &str) -> Result<Order, SqliteError> {
    serde_json::from_str(body).map_err(|e| SqliteError::corrupt(op, format!("stored order: {e}")))
}

/// Position after the last row of a page: `v1:<created_at ms>:<id>`. Not secret and not
/// signed; the handler seals it into the public `nextToken`.
struct Cursor {
    created_at: i64,
    id: Uuid,
}

impl Cursor {
    fn format(created_at: i64, id: &str) -> String {
        format!("v1:{created_at}:{id}")
    }

    fn parse(text: &str) -> Result<Cursor, SqliteError> {
        const OP: &str = "list orders";
        let bad = || SqliteError::corrupt(OP, format!("{text:?} is not a list cursor"));
        let rest = text.strip_prefix("v1:").ok_or_else(bad)?;
        let (created_at, id) = rest.split_once(':').ok_or_else(bad)?;
        Ok(Cursor {
            created_at: created_at.parse().map_err(|_| bad())?,
            // Re-formatted from the parsed value, so it compares like the stored ids
            // (lowercase, hyphenated) whatever form it came in.
            id: Uuid::parse_str(id).map_err(|_| bad())?,
        })
    }
}

/// The SQLite table of orders, as the CLIENT spans name it.
const TABLE: &str = "orders";

/// One store call as a CLIENT span (`db.system.name=sqlite`), failed when the call fails.
async fn traced<T>(
    operation: &'static str,
    call: impl Future<Output = Result<T, DependencyError>>,
) -> Result<T, DependencyError> {
    telemetry::trace::spans::in_span(
        telemetry::trace::spans::sqlite(operation, TABLE),
        DependencyError::kind,
        call,
    )
    .await
}

#[async_trait]
impl OrderStore for SqliteOrderStore {
    async fn create(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyKey>,
        correlation_id: &str,
    ) -> Result<CreateOutcome, DependencyError> {
        // The request's span, not the INSERT's: the publish continues it.
        let entry = Entry {
            correlation_id: correlation_id.to_owned(),
            created_in: Carrier::of(&tracing::Span::current()).traceparent,
        };
        traced("INSERT", async {
            Ok(self.create_inner(order, idempotency, entry).await?)
        })
        .await
    }

    async fn get(&self, id: Uuid) -> Result<Option<Order>, DependencyError> {
        const OP: &str = "get order";
        traced("SELECT", async {
            Ok(self.db.call(OP, move |conn| get(conn, OP, id)).await?)
        })
        .await
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, DependencyError> {
        traced("SELECT", async { Ok(self.list_inner(query).await?) }).await
    }

    async fn transition(&self, request: &TransitionRequest) -> Result<Transition, DependencyError> {
        traced("UPDATE", async {
            Ok(self.transition_inner(request.clone()).await?)
        })
        .await
    }

    async fn ping(&self) -> Result<(), DependencyError> {
        const OP: &str = "ping order store";
        self.db
            .call(OP, |conn| {
                // Touches the orders table, so a missing or unreadable schema fails too.
                conn.query_row(
                    "SELECT count(*) FROM (SELECT 1 FROM orders LIMIT 1)",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .ctx(OP)
            })
            .await?;
        Ok(())
    }
}

/// What the outbox row of a new order keeps besides its id.
struct Entry {
    correlation_id: String,
    created_in: Option<String>,
}

/// Read by the local stack's event source, not by a function: no spans, as Lambda's polling
/// of a stream makes none.
#[async_trait]
impl Outbox for SqliteOrderStore {
    async fn pending(&self, limit: u32) -> Result<Vec<OutboxEntry>, DependencyError> {
        const OP: &str = "read the outbox";
        Ok(self
            .db
            .call(OP, move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT outbox.seq, orders.body, outbox.correlation_id, outbox.created_in
                         FROM outbox JOIN orders ON orders.id = outbox.order_id
                         ORDER BY outbox.seq LIMIT ?1",
                    )
                    .ctx(OP)?;
                let rows = stmt
                    .query_map([i64::from(limit)], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, Option<String>>(3)?,
                        ))
                    })
                    .ctx(OP)?
                    .collect::<Result<Vec<_>, _>>()
                    .ctx(OP)?;
                rows.into_iter()
                    .map(|(seq, body, correlation_id, created_in)| {
                        Ok(OutboxEntry {
                            sequence: seq.to_string(),
                            order: decode(OP, &body)?,
                            correlation_id,
                            created_in: Carrier::from_parts(created_in.as_deref(), None),
                        })
                    })
                    .collect()
            })
            .await?)
    }

    async fn acknowledge(&self, sequences: &[String]) -> Result<(), DependencyError> {
        const OP: &str = "acknowledge outbox entries";
        // A sequence this store did not hand out names no row: ignored, as documented.
        let seqs: Vec<i64> = sequences.iter().filter_map(|s| s.parse().ok()).collect();
        if seqs.is_empty() {
            return Ok(());
        }
        self.db
            .call(OP, move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .ctx(OP)?;
                {
                    let mut delete = tx
                        .prepare_cached("DELETE FROM outbox WHERE seq = ?1")
                        .ctx(OP)?;
                    for seq in &seqs {
                        delete.execute([seq]).ctx(OP)?;
                    }
                }
                tx.commit().ctx(OP)
            })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every listing must be served by an index in its own order: a full sort per page would
    /// be the "per-page sort of a Scan" the design forbids, and slow with many orders.
    #[test]
    fn listings_use_their_indexes() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA.ddl).unwrap();
        let plan = |sql: &str| -> String {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            rows.join(" | ")
        };
        let cases = [
            (
                "SELECT body FROM orders WHERE (created_at, id) < (1, 'x') ORDER BY created_at DESC, id DESC LIMIT 8",
                "orders_by_created",
            ),
            (
                "SELECT body FROM orders WHERE status = 'PENDING' AND (created_at, id) > (1, 'x') ORDER BY created_at ASC, id ASC LIMIT 8",
                "orders_by_status",
            ),
        ];
        for (sql, index) in cases {
            let p = plan(sql);
            assert!(p.contains(index), "{sql}\nplan: {p}");
            assert!(
                !p.contains("TEMP B-TREE"),
                "{sql} sorts per query\nplan: {p}"
            );
        }
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let id = Uuid::new_v4();
        let c = Cursor::parse(&Cursor::format(-5, &id.to_string())).unwrap();
        assert_eq!((c.created_at, c.id), (-5, id));
        for bad in [
            "",
            "v1:",
            "v1:12",
            "v1:x:y",
            "v2:1:00000000-0000-0000-0000-000000000000",
            "1:2:3",
        ] {
            assert!(
                matches!(Cursor::parse(bad), Err(SqliteError::Corrupt { .. })),
                "{bad:?}"
            );
        }
    }
}
