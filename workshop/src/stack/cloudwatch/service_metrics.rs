//! Where the AWS service metrics CloudWatch would record come from locally: the queue gauges
//! sampled on a timer, and DynamoDB's per-call figures around the order store. The datapoints
//! themselves are written by [`MetricStore`]'s service methods.

use super::metric_store::{MetricStore, ms};
use async_trait::async_trait;
use orders::domain::Order;
use orders::ports::{
    CreateOutcome, DependencyError, IdempotencyKey, ListQuery, OrderStore, Page, Transition,
    TransitionRequest,
};
use orders_sqlite::SqliteQueue;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

// The metric and resource names are the ones the dashboards and alarms read, defined once in
// `alarms::catalog`.
use alarms::catalog::aws_metrics::dynamodb;
use alarms::catalog::names::local as names;

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
                store.queue_sample(&stats.source, before.map(|p| &p.source));
                store.queue_sample(&stats.dlq, before.map(|p| &p.dlq));
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
        self.call_as(&[operation], fut).await
    }

    /// One port call that stands for several DynamoDB operations (a list is a `Query` of the
    /// shards and a `BatchGetItem` of the page on AWS; SQLite answers it with one read): each
    /// operation gets the call's outcome and latency, so every series the dashboards and
    /// alarms name has its datapoints locally.
    async fn call_as<T>(
        &self,
        operations: &[&str],
        fut: impl Future<Output = Result<T, DependencyError>>,
    ) -> Result<T, DependencyError> {
        let started = Instant::now();
        let out = fut.await;
        for operation in operations {
            self.record(operation, started, out.is_ok());
        }
        out
    }

    fn record(&self, operation: &str, started: Instant, ok: bool) {
        let dims = [
            (dynamodb::TABLE_NAME, names::TABLE),
            (dynamodb::OPERATION, operation),
        ];
        match ok {
            // SQLite never throttles; a zero keeps the throttles widget and alarm fed, as
            // DynamoDB on-demand reports none until it does.
            true => {
                self.store.service(
                    dynamodb::NAMESPACE,
                    dynamodb::THROTTLED_REQUESTS.name,
                    &dims,
                    0.0,
                );
                let latency = ms(started.elapsed());
                self.store
                    .service(dynamodb::NAMESPACE, dynamodb::LATENCY.name, &dims, latency);
                self.store.service(
                    dynamodb::NAMESPACE,
                    dynamodb::SYSTEM_ERRORS.name,
                    &dims,
                    0.0,
                );
            }
            false => self.store.service(
                dynamodb::NAMESPACE,
                dynamodb::SYSTEM_ERRORS.name,
                &dims,
                1.0,
            ),
        }
    }
}

#[async_trait]
impl OrderStore for MeteredStore {
    async fn create(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyKey>,
        correlation_id: &str,
    ) -> Result<CreateOutcome, DependencyError> {
        // The operations the DynamoDB store calls: a transaction only with a key.
        let operation = if idempotency.is_some() {
            "TransactWriteItems"
        } else {
            "PutItem"
        };
        self.call(
            operation,
            self.inner.create(order, idempotency, correlation_id),
        )
        .await
    }
    async fn get(&self, id: Uuid) -> Result<Option<Order>, DependencyError> {
        self.call("GetItem", self.inner.get(id)).await
    }
    async fn list(&self, query: &ListQuery) -> Result<Page, DependencyError> {
        self.call_as(&["Query", "BatchGetItem"], self.inner.list(query))
            .await
    }
    async fn transition(&self, request: &TransitionRequest) -> Result<Transition, DependencyError> {
        self.call("UpdateItem", self.inner.transition(request))
            .await
    }
    async fn ping(&self) -> Result<(), DependencyError> {
        self.call("GetItem", self.inner.ping()).await
    }
}
