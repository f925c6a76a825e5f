//! The injection points around the ports and the HTTP handlers: decorators that every
//! function's wiring puts between a handler and its store, queue or caller.

use crate::faults::Dependency;
use crate::injector::{Chaos, InjectedFault};
use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use orders::domain::{Order, OrderStatus};
use orders::handlers::ProcessOrders;
use orders::handlers::record_span;
use orders::http::{ApiError, ErrorCode};
use orders::ports::{
    Clock, CreateOutcome, DependencyError, IdempotencyKey, ListQuery, OrderCreated, OrderQueue,
    OrderStore, Page, Transition, TransitionRequest,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// `inner` itself when chaos is disarmed (no layer, no cost), else `inner` behind `layer`.
fn when_armed<P: ?Sized>(
    inner: Arc<P>,
    chaos: &Arc<Chaos>,
    layer: impl FnOnce(Arc<P>, Arc<Chaos>) -> Arc<P>,
) -> Arc<P> {
    if chaos.armed() {
        layer(inner, chaos.clone())
    } else {
        inner
    }
}

/// An order store whose calls the chaos layer may slow or fail (`CHAOS_DEPENDENCY*`).
pub struct ChaoticStore {
    pub inner: Arc<dyn OrderStore>,
    pub chaos: Arc<Chaos>,
}

impl ChaoticStore {
    /// `inner` itself when chaos is disarmed.
    pub fn wrap(inner: Arc<dyn OrderStore>, chaos: &Arc<Chaos>) -> Arc<dyn OrderStore> {
        when_armed(inner, chaos, |inner, chaos| {
            Arc::new(ChaoticStore { inner, chaos })
        })
    }

    async fn gate(&self, operation: &'static str) -> Result<(), DependencyError> {
        self.chaos.dependency(Dependency::Store, operation).await
    }
}

#[async_trait]
impl OrderStore for ChaoticStore {
    async fn create(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyKey>,
        correlation_id: &str,
    ) -> Result<CreateOutcome, DependencyError> {
        self.gate("PutOrder").await?;
        self.inner.create(order, idempotency, correlation_id).await
    }
    async fn get(&self, id: Uuid) -> Result<Option<Order>, DependencyError> {
        self.gate("GetOrder").await?;
        self.inner.get(id).await
    }
    async fn list(&self, query: &ListQuery) -> Result<Page, DependencyError> {
        self.gate("QueryOrders").await?;
        self.inner.list(query).await
    }
    async fn transition(&self, request: &TransitionRequest) -> Result<Transition, DependencyError> {
        self.gate("UpdateOrder").await?;
        self.inner.transition(request).await
    }
    async fn ping(&self) -> Result<(), DependencyError> {
        self.gate("HealthCheck").await?;
        self.inner.ping().await
    }
}

/// The processor's store: when the order a record names is read and still `PENDING`, the
/// chaos layer may fail that read (a poison SKU, a per-record failure) with
/// `DependencyError::Injected`, which the processor counts as `InjectedFault`. Only the
/// processor is wired with it; put it outside [`ChaoticStore`] so the dependency fault is
/// drawn first, as the processor always did.
pub struct ChaoticProcessorStore {
    pub inner: Arc<dyn OrderStore>,
    pub chaos: Arc<Chaos>,
}

impl ChaoticProcessorStore {
    /// `inner` itself when chaos is disarmed.
    pub fn wrap(inner: Arc<dyn OrderStore>, chaos: &Arc<Chaos>) -> Arc<dyn OrderStore> {
        when_armed(inner, chaos, |inner, chaos| {
            Arc::new(ChaoticProcessorStore { inner, chaos })
        })
    }
}

#[async_trait]
impl OrderStore for ChaoticProcessorStore {
    async fn create(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyKey>,
        correlation_id: &str,
    ) -> Result<CreateOutcome, DependencyError> {
        self.inner.create(order, idempotency, correlation_id).await
    }
    async fn get(&self, id: Uuid) -> Result<Option<Order>, DependencyError> {
        let order = self.inner.get(id).await?;
        if let Some(pending) = order.as_ref().filter(|o| o.status == OrderStatus::Pending) {
            self.chaos
                .on_record(pending)
                .await
                .map_err(|f| f.into_dependency_error("GetOrder"))?;
        }
        Ok(order)
    }
    async fn list(&self, query: &ListQuery) -> Result<Page, DependencyError> {
        self.inner.list(query).await
    }
    async fn transition(&self, request: &TransitionRequest) -> Result<Transition, DependencyError> {
        self.inner.transition(request).await
    }
    async fn ping(&self) -> Result<(), DependencyError> {
        self.inner.ping().await
    }
}

/// Runs one processor batch (`ProcessOrders::handle`) behind the batch faults: latency, a
/// timeout that sleeps past `deadline` (the invocation's), or a whole-batch failure. An `Err`
/// is a function error: every message of the batch returns after the visibility timeout.
pub async fn processor_batch<F>(
    chaos: &Chaos,
    deadline: Instant,
    batch: F,
) -> Result<F::Output, InjectedFault>
where
    F: Future,
{
    chaos.before_batch(deadline).await?;
    Ok(batch.await)
}

/// The order processor behind the chaos layer: its store wrapped in
/// [`ChaoticProcessorStore`] and each batch in [`processor_batch`]. Disarmed, it is the bare
/// processor.
pub struct ChaoticProcessor {
    inner: ProcessOrders,
    chaos: Arc<Chaos>,
}

impl ChaoticProcessor {
    /// `store` is the processor's store as wired for every function (already behind
    /// [`ChaoticStore`]).
    pub fn new(store: Arc<dyn OrderStore>, clock: Arc<dyn Clock>, chaos: Arc<Chaos>) -> Self {
        let store = ChaoticProcessorStore::wrap(store, &chaos);
        ChaoticProcessor {
            inner: ProcessOrders::new(store, clock),
            chaos,
        }
    }

    /// One batch; an `Err` is an injected whole-batch failure or timeout (a function error).
    /// Each record of a failed batch still gets its failed CONSUMER span, in its order's
    /// trace, so that trace shows the receive and the fault.
    pub async fn handle(
        &self,
        event: SqsEvent,
        deadline: Instant,
    ) -> Result<SqsBatchResponse, InjectedFault> {
        // Kept to name the records if the batch fails (their spans are made only then).
        let records = if self.chaos.armed() {
            event.records.clone()
        } else {
            Vec::new()
        };
        let outcome = processor_batch(&self.chaos, deadline, self.inner.handle(event)).await;
        if let Err(e) = &outcome {
            for record in &records {
                let span = record_span(record);
                let fault = telemetry::catalogue::DimensionValue::as_str(e.fault);
                span.in_scope(|| telemetry::trace::spans::chaos_fault(fault, &e.detail));
                telemetry::trace::spans::fail(&span, "InjectedFault", e);
            }
        }
        outcome
    }
}

/// An order queue whose sends the chaos layer may slow or fail.
pub struct ChaoticQueue {
    pub inner: Arc<dyn OrderQueue>,
    pub chaos: Arc<Chaos>,
}

impl ChaoticQueue {
    pub fn wrap(inner: Arc<dyn OrderQueue>, chaos: &Arc<Chaos>) -> Arc<dyn OrderQueue> {
        when_armed(inner, chaos, |inner, chaos| {
            Arc::new(ChaoticQueue { inner, chaos })
        })
    }
}

#[async_trait]
impl OrderQueue for ChaoticQueue {
    async fn publish(&self, message: &OrderCreated) -> Result<String, DependencyError> {
        self.chaos
            .dependency(Dependency::Queue, "SendMessage")
            .await?;
        self.inner.publish(message).await
    }
    async fn ping(&self) -> Result<(), DependencyError> {
        self.chaos
            .dependency(Dependency::Queue, "HealthCheck")
            .await?;
        self.inner.ping().await
    }
}

/// Runs an HTTP handler behind the API faults: latency first, then perhaps an error status
/// (`{"error": ..., "code": "INJECTED_FAULT"}`) instead of the handler.
pub async fn http<F>(chaos: &Chaos, handler: F) -> Response<Body>
where
    F: Future<Output = Response<Body>>,
{
    match chaos.api().await {
        None => handler.await,
        Some(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            ApiError::new(
                status,
                ErrorCode::InjectedFault,
                "fault injected by the chaos layer (apiErrorRate); the request was not handled",
            )
            .into_response()
        }
    }
}
