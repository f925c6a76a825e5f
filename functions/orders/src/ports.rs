//! Ports: what the handlers need from the outside world, as traits. Adapters (SQLite for the
//! local stack, DynamoDB/SQS on AWS) implement them; handlers never see an SDK.

use crate::domain::{Order, OrderStatus};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Failure of a storage or queue dependency. The message names the operation and the cause.
#[derive(Debug, thiserror::Error)]
pub enum DependencyError {
    #[error("{operation} failed: {message}")]
    Failed {
        operation: &'static str,
        message: String,
    },
    #[error("{operation} returned data that could not be read: {message}")]
    Corrupt {
        operation: &'static str,
        message: String,
    },
    /// A failure injected on purpose by a layer around the port (fault injection), named by
    /// that layer. Handlers treat it like the failure it imitates, so it runs the real retry
    /// and redrive paths, but count it apart.
    #[error("injected fault {fault}: {detail}")]
    Injected {
        operation: &'static str,
        fault: &'static str,
        detail: String,
    },
}

impl DependencyError {
    /// A closed name for the failure (a span's `error.type`).
    pub fn kind(&self) -> &'static str {
        match self {
            DependencyError::Failed { .. } => "DependencyFailed",
            DependencyError::Corrupt { .. } => "CorruptData",
            DependencyError::Injected { .. } => "InjectedFault",
        }
    }

    pub fn failed(operation: &'static str, cause: impl std::fmt::Display) -> Self {
        DependencyError::Failed {
            operation,
            message: cause.to_string(),
        }
    }
    pub fn corrupt(operation: &'static str, cause: impl std::fmt::Display) -> Self {
        DependencyError::Corrupt {
            operation,
            message: cause.to_string(),
        }
    }
    /// An idempotency record whose order is gone: the stores write both in one step, so this
    /// is corruption, in the same words from every adapter.
    pub fn dangling_idempotency_key(operation: &'static str, order_id: Uuid) -> Self {
        Self::corrupt(
            operation,
            format!("idempotency key points at order {order_id}, which does not exist"),
        )
    }
}

/// An `Idempotency-Key` with the fingerprint of the request it was first used with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub key: String,
    /// Hex SHA-256 of the validated request, so the same key with another body is detected.
    pub request_hash: String,
    /// After this the key may be forgotten (a TTL on DynamoDB, a sweep locally).
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The order was written, with its outbox entry.
    Created(Order),
    /// The key was seen before with the same request: this is the order it created.
    Replayed(Order),
    /// The key was seen before with another request.
    KeyConflict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

impl SortOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }
}

/// One page of a listing. `cursor` is the store's own position marker; the handler signs it
/// into the public `nextToken`, so stores need not make it tamper-proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub status: Option<OrderStatus>,
    pub limit: u32,
    pub sort: SortOrder,
    pub cursor: Option<String>,
}

/// A page holds at most `limit` orders. With no writes during the walk, a page that has a
/// cursor is full; while orders change status a status listing's page can be short (an order
/// that left the status since the index was read is not listed under it), never wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub orders: Vec<Order>,
    /// Present when more orders may follow.
    pub cursor: Option<String>,
}

/// Move order `id` from `from` to `to` (with an optional reason) at `at`, only if it is still
/// in `from`: one value, so decorators and adapters pass it on whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionRequest {
    pub id: Uuid,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// The order was in the expected status and now has the new one.
    Applied(Order),
    /// The order had already left the expected status (a duplicate delivery).
    AlreadyDone(Order),
    NotFound,
}

#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Writes a new order, its idempotency record if any and its outbox entry, atomically:
    /// the order's `OrderCreated` message is published from the outbox ([`Outbox`] locally,
    /// the table's stream on AWS), never by the caller, so an order written is an order
    /// published. Key expiry is judged against `order.created_at` (the request's "now").
    /// The entry keeps `correlation_id` and the trace context of the span the call runs in
    /// (the create's request), so the publish continues the order's trace
    /// ([`OutboxEntry::created_in`]). `Replayed` returns the order as it is now, which may be
    /// past `PENDING`, and writes no entry.
    async fn create(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyKey>,
        correlation_id: &str,
    ) -> Result<CreateOutcome, DependencyError>;

    async fn get(&self, id: Uuid) -> Result<Option<Order>, DependencyError>;

    /// Newest or oldest first by (`createdAt`, `id`), optionally for one status. A cursor the
    /// store cannot read is `DependencyError::Corrupt` (the handler checks tokens first).
    async fn list(&self, query: &ListQuery) -> Result<Page, DependencyError>;

    /// Moves an order from `request.from` to `request.to`, only if it is still in `from`.
    async fn transition(&self, request: &TransitionRequest) -> Result<Transition, DependencyError>;

    /// A cheap read that proves the store answers.
    async fn ping(&self) -> Result<(), DependencyError>;
}

/// An order written whose message the publisher has to send: a record of the table's stream
/// on AWS, a row of the outbox locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The entry's position in its outbox (the stream record's sequence number on AWS): what
    /// the publisher names when it reports the entry failed, and what is acknowledged.
    pub sequence: String,
    pub order: Order,
    /// The `x-correlation-id` of the request that created it, carried on to the processor.
    pub correlation_id: Option<String>,
    /// The trace context of the request that created it (empty when it was not traced):
    /// the publish continues it, so the order's create and its processing share one trace.
    pub created_in: telemetry::trace::Carrier,
}

impl OutboxEntry {
    /// The message this entry publishes.
    pub fn message(&self) -> OrderCreated {
        OrderCreated {
            order_id: self.order.id,
            created_at: self.order.created_at,
            correlation_id: self.correlation_id.clone(),
        }
    }
}

/// The outbox as its event source reads it: the entries not yet acknowledged, oldest first,
/// and the acknowledgement of those published. On AWS Lambda's event source mapping reads the
/// table's stream and no code here implements this; the local stack's event source reads the
/// SQLite (or in-memory) outbox, or the stream of a DynamoDB emulator, through it.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// At most `limit` entries not yet acknowledged, oldest first. An entry handed out and not
    /// acknowledged is handed out again by a later call.
    async fn pending(&self, limit: u32) -> Result<Vec<OutboxEntry>, DependencyError>;

    /// Acknowledges entries by `sequence`: they are not handed out again. Unknown ones are
    /// ignored.
    async fn acknowledge(&self, sequences: &[String]) -> Result<(), DependencyError>;
}

/// The message that tells the processor an order was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderCreated {
    pub order_id: Uuid,
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

#[async_trait]
pub trait OrderQueue: Send + Sync {
    /// Sends the message; returns the queue's message id.
    async fn publish(&self, message: &OrderCreated) -> Result<String, DependencyError>;

    /// A cheap call that proves the queue answers.
    async fn ping(&self) -> Result<(), DependencyError>;
}

/// A message as a consumer receives it from the orders queue (SQS `ReceiveMessage`, or the
/// local queue that emulates it): one shape, so one poller serves every backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    /// Valid until the message is received again; needed to delete it.
    pub receipt_handle: String,
    pub body: String,
    /// The string message attributes.
    pub attributes: BTreeMap<String, String>,
    /// `ApproximateReceiveCount`, this receive included.
    pub receive_count: u32,
    /// The sender's trace context (SQS: the `AWSTraceHeader` system attribute and the
    /// `traceparent` message attribute; locally the `traceparent` in the queue row).
    pub trace: telemetry::trace::Carrier,
    pub sent_at: DateTime<Utc>,
    pub first_received_at: DateTime<Utc>,
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// Wall-clock time truncated to milliseconds, the precision of every stored timestamp.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        crate::domain::timestamp::to_millis(Utc::now())
    }
}

/// A clock that only moves when told to: for tests of time-based behaviour (visibility
/// timeouts, grace periods, expiry) without sleeping.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock(std::sync::Mutex::new(start))
    }
    pub fn advance(&self, by: std::time::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero());
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
