//! In-memory [`OrderStore`] and [`OrderQueue`]: a lock and a few map operations per call. The
//! warm handler benches (`bench/benches/handlers.rs`) run on them, so a bench measures the
//! handler's own CPU time rather than SQLite's or a network's, and the handler tests
//! (`tests/handlers.rs`) drive every handler on them without a binary.
//!
//! They keep the real adapters' semantics (`functions/store-sqlite` is the reference): orders
//! stamped at millisecond precision, idempotency keys judged against the new order's
//! `createdAt`, conditional transitions, the outbox, listings by (`createdAt`, `id`)
//! with an optional status filter and opaque cursors. `tests/store_conformance.rs` runs the shared
//! conformance suite against them to prove it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orders::domain::{Order, OrderStatus, timestamp};
use orders::ports::{
    CreateOutcome, DependencyError, IdempotencyKey, ListQuery, OrderCreated, OrderQueue,
    OrderStore, Outbox, OutboxEntry, Page, SortOrder, Transition, TransitionRequest,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};
use telemetry::trace::Carrier;
use uuid::Uuid;

/// Where an order sits in every listing: creation time, then id (the adapters' sort key).
type Position = (DateTime<Utc>, Uuid);

/// The state of one adapter behind a lock. A lock whose holder panicked is reported as a
/// failed dependency, never unwrapped: a bench or test then fails with the operation's name
/// instead of a second panic.
#[derive(Default)]
struct Locked<T>(Mutex<T>);

impl<T> Locked<T> {
    fn lock(&self, operation: &'static str) -> Result<MutexGuard<'_, T>, DependencyError> {
        self.0.lock().map_err(|_| {
            DependencyError::failed(
                operation,
                "the in-memory lock is poisoned (a thread panicked while holding it)",
            )
        })
    }
}

/// The adapters show no state in `Debug`: it is behind the lock.
impl<T> std::fmt::Debug for Locked<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

/// An outbox entry: what the order's message needs besides the order.
struct Pending {
    order_id: Uuid,
    correlation_id: String,
    created_in: Carrier,
}

struct KeyRecord {
    request_hash: String,
    order_id: Uuid,
    expires_at: DateTime<Utc>,
}

/// The table and its indexes, all behind one lock so every call is atomic.
#[derive(Default)]
struct Tables {
    orders: HashMap<Uuid, Order>,
    /// Every order: the newest- or oldest-first listing (DynamoDB's `byCreatedAt` index).
    by_created: BTreeSet<Position>,
    /// One set per status: the status listing (the `byStatus` index).
    by_status: HashMap<OrderStatus, BTreeSet<Position>>,
    /// One entry per order written, until acknowledged, by sequence (the table's stream).
    outbox: BTreeMap<u64, Pending>,
    /// The last sequence handed out.
    sequence: u64,
    idempotency: HashMap<String, KeyRecord>,
}

impl Tables {
    fn remove(&mut self, id: Uuid) {
        if let Some(order) = self.orders.remove(&id) {
            let position = (order.created_at, order.id);
            self.by_created.remove(&position);
            self.outbox.retain(|_, entry| entry.order_id != id);
            if let Some(set) = self.by_status.get_mut(&order.status) {
                set.remove(&position);
            }
        }
    }
}

/// The order store in a map. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct MemoryOrderStore {
    tables: Locked<Tables>,
}

impl MemoryOrderStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many orders are stored (benches bound the store's growth with it).
    pub fn len(&self) -> Result<usize, DependencyError> {
        Ok(self.tables.lock("count orders")?.orders.len())
    }

    pub fn is_empty(&self) -> Result<bool, DependencyError> {
        Ok(self.len()? == 0)
    }

    /// Keeps only the orders `keep` accepts, with their idempotency keys; a bench uses it
    /// between batches so millions of iterations do not grow the store without bound.
    pub fn retain(&self, mut keep: impl FnMut(&Order) -> bool) -> Result<(), DependencyError> {
        let mut tables = self.tables.lock("remove orders")?;
        let gone: Vec<Uuid> = tables
            .orders
            .values()
            .filter(|o| !keep(o))
            .map(|o| o.id)
            .collect();
        for id in gone {
            tables.remove(id);
        }
        let Tables {
            orders,
            idempotency,
            ..
        } = &mut *tables;
        idempotency.retain(|_, record| orders.contains_key(&record.order_id));
        Ok(())
    }
}

/// The order as the real stores return it: timestamps at millisecond precision, what their
/// JSON or DynamoDB round trip keeps.
fn as_stored(order: &Order) -> Order {
    Order {
        created_at: timestamp::to_millis(order.created_at),
        updated_at: timestamp::to_millis(order.updated_at),
        ..order.clone()
    }
}

/// The positions of one page: up to `n` after `after`, in `sort` order.
fn page(
    index: &BTreeSet<Position>,
    after: Option<Position>,
    sort: SortOrder,
    n: usize,
) -> Vec<Position> {
    let after = after.map_or(Bound::Unbounded, Bound::Excluded);
    match sort {
        SortOrder::Asc => index
            .range((after, Bound::Unbounded))
            .take(n)
            .copied()
            .collect(),
        SortOrder::Desc => index
            .range((Bound::Unbounded, after))
            .rev()
            .take(n)
            .copied()
            .collect(),
    }
}

/// Position after the last order of a page: `v1:<createdAt ms>:<id>`, as the SQLite store
/// writes it. Not signed; the handler seals it into the public `nextToken`.
fn format_cursor((created_at, id): Position) -> String {
    format!("v1:{}:{id}", created_at.timestamp_millis())
}

fn parse_cursor(text: &str) -> Result<Position, DependencyError> {
    let bad = || DependencyError::corrupt("list orders", format!("{text:?} is not a list cursor"));
    let rest = text.strip_prefix("v1:").ok_or_else(bad)?;
    let (ms, id) = rest.split_once(':').ok_or_else(bad)?;
    let created_at = ms
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(bad)?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((created_at, id))
}

#[async_trait]
impl OrderStore for MemoryOrderStore {
    async fn create(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyKey>,
        correlation_id: &str,
    ) -> Result<CreateOutcome, DependencyError> {
        const OP: &str = "create order";
        let order = as_stored(order);
        let mut tables = self.tables.lock(OP)?;
        if let Some(key) = idempotency {
            // An expired record counts as absent, judged at the request's time (the order's
            // createdAt), as the real stores do; the insert below then replaces it.
            let live = tables
                .idempotency
                .get(&key.key)
                .filter(|r| r.expires_at > order.created_at);
            if let Some(record) = live {
                if record.request_hash != key.request_hash {
                    return Ok(CreateOutcome::KeyConflict);
                }
                let first = tables
                    .orders
                    .get(&record.order_id)
                    .cloned()
                    .ok_or_else(|| {
                        DependencyError::dangling_idempotency_key(OP, record.order_id)
                    })?;
                return Ok(CreateOutcome::Replayed(first));
            }
        }
        if tables.orders.contains_key(&order.id) {
            return Err(DependencyError::failed(
                OP,
                format!("order {} already exists", order.id),
            ));
        }
        let position = (order.created_at, order.id);
        tables.by_created.insert(position);
        tables
            .by_status
            .entry(order.status)
            .or_default()
            .insert(position);
        tables.sequence += 1;
        let sequence = tables.sequence;
        tables.outbox.insert(
            sequence,
            Pending {
                order_id: order.id,
                correlation_id: correlation_id.to_owned(),
                created_in: Carrier::of(&tracing::Span::current()),
            },
        );
        tables.orders.insert(order.id, order.clone());
        if let Some(key) = idempotency {
            tables.idempotency.insert(
                key.key.clone(),
                KeyRecord {
                    request_hash: key.request_hash.clone(),
                    order_id: order.id,
                    expires_at: timestamp::to_millis(key.expires_at),
                },
            );
        }
        Ok(CreateOutcome::Created(order))
    }

    async fn get(&self, id: Uuid) -> Result<Option<Order>, DependencyError> {
        Ok(self.tables.lock("get order")?.orders.get(&id).cloned())
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, DependencyError> {
        const OP: &str = "list orders";
        if query.limit == 0 {
            return Err(DependencyError::failed(OP, "limit must be at least 1"));
        }
        let after = query.cursor.as_deref().map(parse_cursor).transpose()?;
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        let tables = self.tables.lock(OP)?;
        let empty = BTreeSet::new();
        let index = match query.status {
            Some(status) => tables.by_status.get(&status).unwrap_or(&empty),
            None => &tables.by_created,
        };
        // One more than asked tells whether another page exists, so the last page never
        // carries a cursor to an empty one.
        let mut positions = page(index, after, query.sort, limit.saturating_add(1));
        let more = positions.len() > limit;
        positions.truncate(limit);
        let orders = positions
            .iter()
            .map(|(_, id)| {
                tables.orders.get(id).cloned().ok_or_else(|| {
                    DependencyError::corrupt(OP, format!("the index names missing order {id}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cursor = positions
            .last()
            .copied()
            .filter(|_| more)
            .map(format_cursor);
        Ok(Page { orders, cursor })
    }

    async fn transition(&self, request: &TransitionRequest) -> Result<Transition, DependencyError> {
        let (id, from, to) = (request.id, request.from, request.to);
        let mut tables = self.tables.lock("transition order")?;
        let Some(order) = tables.orders.get_mut(&id) else {
            return Ok(Transition::NotFound);
        };
        if order.status != from {
            return Ok(Transition::AlreadyDone(order.clone()));
        }
        order.status = to;
        order.updated_at = timestamp::to_millis(request.at);
        order.status_reason = request.reason.clone();
        let updated = order.clone();
        let position = (updated.created_at, updated.id);
        if let Some(set) = tables.by_status.get_mut(&from) {
            set.remove(&position);
        }
        tables.by_status.entry(to).or_default().insert(position);
        Ok(Transition::Applied(updated))
    }

    async fn ping(&self) -> Result<(), DependencyError> {
        self.tables.lock("ping order store").map(|_| ())
    }
}

#[async_trait]
impl Outbox for MemoryOrderStore {
    async fn pending(&self, limit: u32) -> Result<Vec<OutboxEntry>, DependencyError> {
        const OP: &str = "read the outbox";
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let tables = self.tables.lock(OP)?;
        tables
            .outbox
            .iter()
            .take(limit)
            .map(|(sequence, entry)| {
                let order = tables.orders.get(&entry.order_id).cloned().ok_or_else(|| {
                    DependencyError::corrupt(
                        OP,
                        format!("the outbox names missing order {}", entry.order_id),
                    )
                })?;
                Ok(OutboxEntry {
                    sequence: sequence.to_string(),
                    order,
                    correlation_id: Some(entry.correlation_id.clone()),
                    created_in: entry.created_in.clone(),
                })
            })
            .collect()
    }

    async fn acknowledge(&self, sequences: &[String]) -> Result<(), DependencyError> {
        let mut tables = self.tables.lock("acknowledge outbox entries")?;
        for sequence in sequences.iter().filter_map(|s| s.parse::<u64>().ok()) {
            tables.outbox.remove(&sequence);
        }
        Ok(())
    }
}

/// A message as a consumer receives it: the body SQS would carry and its string attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: String,
    /// The `OrderCreated` message as camelCase JSON, as the SQS and SQLite queues send it.
    pub body: String,
    /// `correlationId` when the message has one, as the real queues set it.
    pub attributes: BTreeMap<String, String>,
}

#[derive(Default)]
struct Messages {
    sent: u64,
    waiting: Vec<(String, OrderCreated)>,
}

/// The orders queue in a list. Publishing only stores the message; it is rendered as JSON
/// when drained, so the benches do not count the adapter's serialisation as the handler's.
#[derive(Debug, Default)]
pub struct MemoryOrderQueue {
    messages: Locked<Messages>,
}

impl MemoryOrderQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Messages published and not drained yet.
    pub fn len(&self) -> Result<usize, DependencyError> {
        Ok(self.messages.lock("count messages")?.waiting.len())
    }

    pub fn is_empty(&self) -> Result<bool, DependencyError> {
        Ok(self.len()? == 0)
    }

    /// Receives and deletes every waiting message, oldest first.
    pub fn drain(&self) -> Result<Vec<Delivery>, DependencyError> {
        const OP: &str = "receive messages";
        let waiting = std::mem::take(&mut self.messages.lock(OP)?.waiting);
        waiting
            .into_iter()
            .map(|(message_id, message)| {
                let body =
                    serde_json::to_string(&message).map_err(|e| DependencyError::failed(OP, e))?;
                let attributes = message
                    .correlation_id
                    .map(|id| BTreeMap::from([("correlationId".to_owned(), id)]))
                    .unwrap_or_default();
                Ok(Delivery {
                    message_id,
                    body,
                    attributes,
                })
            })
            .collect()
    }
}

#[async_trait]
impl OrderQueue for MemoryOrderQueue {
    async fn publish(&self, message: &OrderCreated) -> Result<String, DependencyError> {
        let mut messages = self.messages.lock("send message")?;
        messages.sent += 1;
        let id = format!("memory-{}", messages.sent);
        messages.waiting.push((id.clone(), message.clone()));
        Ok(id)
    }

    async fn ping(&self) -> Result<(), DependencyError> {
        self.messages.lock("ping queue").map(|_| ())
    }
}
