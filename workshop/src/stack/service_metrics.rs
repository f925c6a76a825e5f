//! The AWS service metrics CloudWatch would record for the deployed stack, recorded by the
//! local runtime into the same metric store as the functions' EMF: Lambda (per function),
//! API Gateway (HTTP API), SQS (queue and DLQ) and DynamoDB (the store's calls).

use super::metrics::MetricStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orders::domain::Order;
use orders::ports::{
    CreateOutcome, DependencyError, IdempotencyKey, ListQuery, OrderStore, Page, Transition,
    TransitionRequest,
};
use orders_sqlite::{QueueCounts, SqliteQueue};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

// The metric and resource names are the ones the dashboards and alarms read, defined once in
// `alarms::catalog`.
use alarms::catalog::aws_metrics::{api, dynamodb, sqs};
use alarms::catalog::names::{STAGE, local as names};

impl MetricStore {
    /// Records one AWS service datapoint now.
    pub fn service(&self, namespace: &str, name: &str, dimensions: &[(&str, &str)], value: f64) {
        self.record(namespace, name, dimensions, Utc::now(), value);
    }

    /// One API Gateway request: count, 4xx/5xx (0 or 1, so Average is a rate), latencies.
    pub fn api_request(&self, status: u16, latency: Duration, integration: Option<Duration>) {
        let dims = [(api::API_ID, names::API_ID), (api::STAGE, STAGE)];
        self.service(api::NAMESPACE, api::COUNT.name, &dims, 1.0);
        self.service(
            api::NAMESPACE,
            api::ERRORS_4XX.name,
            &dims,
            f64::from(u8::from((400..500).contains(&status))),
        );
        self.service(
            api::NAMESPACE,
            api::ERRORS_5XX.name,
            &dims,
            f64::from(u8::from(status >= 500)),
        );
        self.service(api::NAMESPACE, api::LATENCY.name, &dims, ms(latency));
        if let Some(i) = integration {
            self.service(api::NAMESPACE, api::INTEGRATION_LATENCY.name, &dims, ms(i));
        }
    }

    fn queue(&self, counts: &QueueCounts, previous: Option<&QueueCounts>) {
        let dims = [(sqs::QUEUE_NAME, counts.name.as_str())];
        self.service(
            sqs::NAMESPACE,
            sqs::VISIBLE.name,
            &dims,
            counts.visible as f64,
        );
        self.service(
            sqs::NAMESPACE,
            sqs::NOT_VISIBLE.name,
            &dims,
            counts.in_flight as f64,
        );
        let age = counts.oldest_age.unwrap_or_default().as_secs_f64().floor();
        self.service(sqs::NAMESPACE, sqs::AGE_OF_OLDEST.name, &dims, age);
        // The totals only grow; CloudWatch's figures are per period, so record the increase.
        let delta =
            |now: u64, before: Option<u64>| now.saturating_sub(before.unwrap_or(now)) as f64;
        self.service(
            sqs::NAMESPACE,
            sqs::SENT.name,
            &dims,
            delta(counts.sent, previous.map(|p| p.sent)),
        );
        self.service(
            sqs::NAMESPACE,
            sqs::RECEIVED.name,
            &dims,
            delta(counts.received, previous.map(|p| p.received)),
        );
        self.service(
            sqs::NAMESPACE,
            sqs::DELETED.name,
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
        let dims = [
            (dynamodb::TABLE_NAME, names::TABLE),
            (dynamodb::OPERATION, operation),
        ];
        match &out {
            // SQLite never throttles; a zero keeps the throttles widget and alarm fed, as
            // DynamoDB on-demand reports none until it does.
            Ok(_) => {
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
            Err(_) => self.store.service(
                dynamodb::NAMESPACE,
                dynamodb::SYSTEM_ERRORS.name,
                &dims,
                1.0,
            ),
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
    async fn transition(&self, request: &TransitionRequest) -> Result<Transition, DependencyError> {
        self.call("UpdateItem", self.inner.transition(request))
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
