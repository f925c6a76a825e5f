//! The AWS service metrics CloudWatch would record for the deployed stack, recorded by the
//! local runtime into the same metric store as the functions' EMF: Lambda (per function),
//! API Gateway (HTTP API), SQS (queue and DLQ) and DynamoDB (the store's calls).

use super::metrics::MetricStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orders::domain::{Order, OrderStatus};
use orders::ports::{
    CreateOutcome, DependencyError, IdempotencyKey, ListQuery, OrderStore, Page, Transition,
};
use orders_sqlite::{QueueCounts, SqliteQueue};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

/// The local stack's answers to the names the dashboards and alarms use for resources.
pub mod names {
    pub const API_ID: &str = "local";
    pub const STAGE: &str = "$default";
    pub const TABLE: &str = "orders";
}

pub mod lambda {
    pub const NAMESPACE: &str = "AWS/Lambda";
    pub const INVOCATIONS: &str = "Invocations";
    pub const ERRORS: &str = "Errors";
    pub const THROTTLES: &str = "Throttles";
    pub const DURATION: &str = "Duration";
    pub const CONCURRENT_EXECUTIONS: &str = "ConcurrentExecutions";
    pub const DIMENSION: &str = "FunctionName";
}

pub mod api {
    pub const NAMESPACE: &str = "AWS/ApiGateway";
    pub const COUNT: &str = "Count";
    pub const ERRORS_4XX: &str = "4xx";
    pub const ERRORS_5XX: &str = "5xx";
    pub const LATENCY: &str = "Latency";
    pub const INTEGRATION_LATENCY: &str = "IntegrationLatency";
}

pub mod sqs {
    pub const NAMESPACE: &str = "AWS/SQS";
    pub const VISIBLE: &str = "ApproximateNumberOfMessagesVisible";
    pub const NOT_VISIBLE: &str = "ApproximateNumberOfMessagesNotVisible";
    pub const AGE_OF_OLDEST: &str = "ApproximateAgeOfOldestMessage";
    pub const SENT: &str = "NumberOfMessagesSent";
    pub const RECEIVED: &str = "NumberOfMessagesReceived";
    pub const DELETED: &str = "NumberOfMessagesDeleted";
    pub const DIMENSION: &str = "QueueName";
}

pub mod dynamodb {
    pub const NAMESPACE: &str = "AWS/DynamoDB";
    pub const LATENCY: &str = "SuccessfulRequestLatency";
    pub const SYSTEM_ERRORS: &str = "SystemErrors";
}

impl MetricStore {
    /// Records one AWS service datapoint now.
    pub fn service(&self, namespace: &str, name: &str, dimensions: &[(&str, &str)], value: f64) {
        self.record(namespace, name, dimensions, Utc::now(), value);
    }

    /// One API Gateway request: count, 4xx/5xx (0 or 1, so Average is a rate), latencies.
    pub fn api_request(&self, status: u16, latency: Duration, integration: Option<Duration>) {
        let dims = [("ApiId", names::API_ID), ("Stage", names::STAGE)];
        self.service(api::NAMESPACE, api::COUNT, &dims, 1.0);
        self.service(
            api::NAMESPACE,
            api::ERRORS_4XX,
            &dims,
            f64::from(u8::from((400..500).contains(&status))),
        );
        self.service(
            api::NAMESPACE,
            api::ERRORS_5XX,
            &dims,
            f64::from(u8::from(status >= 500)),
        );
        self.service(api::NAMESPACE, api::LATENCY, &dims, ms(latency));
        if let Some(i) = integration {
            self.service(api::NAMESPACE, api::INTEGRATION_LATENCY, &dims, ms(i));
        }
    }

    fn queue(&self, counts: &QueueCounts, previous: Option<&QueueCounts>) {
        let dims = [(sqs::DIMENSION, counts.name.as_str())];
        self.service(sqs::NAMESPACE, sqs::VISIBLE, &dims, counts.visible as f64);
        self.service(
            sqs::NAMESPACE,
            sqs::NOT_VISIBLE,
            &dims,
            counts.in_flight as f64,
        );
        let age = counts.oldest_age.unwrap_or_default().as_secs_f64().floor();
        self.service(sqs::NAMESPACE, sqs::AGE_OF_OLDEST, &dims, age);
        // The totals only grow; CloudWatch's figures are per period, so record the increase.
        let delta =
            |now: u64, before: Option<u64>| now.saturating_sub(before.unwrap_or(now)) as f64;
        self.service(
            sqs::NAMESPACE,
            sqs::SENT,
            &dims,
            delta(counts.sent, previous.map(|p| p.sent)),
        );
        self.service(
            sqs::NAMESPACE,
            sqs::RECEIVED,
            &dims,
            delta(counts.received, previous.map(|p| p.received)),
        );
        self.service(
            sqs::NAMESPACE,
            sqs::DELETED,
            &dims,
            delta(counts.deleted, previous.map(|p| p.deleted)),
        );
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// How often the queue gauges are sampled (SQS publishes them every minute; finer here so a
/// lab sees the queue move).
pub const QUEUE_SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// Samples the local queue and DLQ into the store until told to stop.
pub async fn sample_queues(
    queue: Arc<SqliteQueue>,
    store: Arc<MetricStore>,
    mut stop: watch::Receiver<bool>,
) {
    let mut previous = None;
    while !*stop.borrow() {
        match queue.stats().await {
            Ok(stats) => {
                let before: Option<&orders_sqlite::QueueStats> = previous.as_ref();
                store.queue(&stats.source, before.map(|p| &p.source));
                store.queue(&stats.dlq, before.map(|p| &p.dlq));
                previous = Some(stats);
            }
            Err(e) => tracing::warn!(error = %e, "could not sample the queue's metrics"),
        }
        tokio::select! {
            _ = tokio::time::sleep(QUEUE_SAMPLE_EVERY) => {}
            _ = stop.changed() => {}
        }
    }
}

/// The order store with DynamoDB's service metrics: latency of each successful call by
/// operation, and system errors.
pub struct MeteredStore {
    pub inner: Arc<dyn OrderStore>,
    pub store: Arc<MetricStore>,
}

impl MeteredStore {
    async fn call<T>(
        &self,
        operation: &str,
        fut: impl Future<Output = Result<T, DependencyError>>,
    ) -> Result<T, DependencyError> {
        let started = Instant::now();
        let out = fut.await;
        let dims = [("TableName", names::TABLE), ("Operation", operation)];
        match &out {
            Ok(_) => self.store.service(
                dynamodb::NAMESPACE,
                dynamodb::LATENCY,
                &dims,
                ms(started.elapsed()),
            ),
            Err(_) => self
                .store
                .service(dynamodb::NAMESPACE, dynamodb::SYSTEM_ERRORS, &dims, 1.0),
        }
        out
    }
}

#[async_trait]
impl OrderStore for MeteredStore {
    async fn create(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyKey>,
    ) -> Result<CreateOutcome, DependencyError> {
        self.call("TransactWriteItems", self.inner.create(order, idempotency))
            .await
    }
    async fn get(&self, id: Uuid) -> Result<Option<Order>, DependencyError> {
        self.call("GetItem", self.inner.get(id)).await
    }
    async fn list(&self, query: &ListQuery) -> Result<Page, DependencyError> {
        self.call("Query", self.inner.list(query)).await
    }
    async fn transition(
        &self,
        id: Uuid,
        from: OrderStatus,
        to: OrderStatus,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Transition, DependencyError> {
        self.call(
            "UpdateItem",
            self.inner.transition(id, from, to, reason, at),
        )
        .await
    }
    async fn mark_published(&self, id: Uuid) -> Result<(), DependencyError> {
        self.call("UpdateItem", self.inner.mark_published(id)).await
    }
    async fn unpublished(
        &self,
        created_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Order>, DependencyError> {
        self.call("Query", self.inner.unpublished(created_before, limit))
            .await
    }
    async fn ping(&self) -> Result<(), DependencyError> {
        self.call("GetItem", self.inner.ping()).await
    }
}
