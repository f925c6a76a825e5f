use super::metrics;
use crate::domain::OrderStatus;
use crate::ports::{
    Clock, DependencyError, OrderCreated, OrderStore, Transition, TransitionRequest,
};
use crate::settings::{Function, QUEUE};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use std::sync::Arc;
use telemetry::catalogue::Operation;
use telemetry::trace::{AWS_TRACE_HEADER, Carrier, TRACEPARENT, spans};
use tracing::{Instrument, error, info, warn};

/// The CONSUMER span of one record, in the trace of the create that sent it (the
/// `traceparent` message attribute, else the `AWSTraceHeader` system attribute), so one trace
/// holds an order's whole life: each receive, failed or not, is a span in it.
pub fn record_span(record: &SqsMessage) -> tracing::Span {
    let message_id = record.message_id.as_deref().unwrap_or_default();
    let receive_count = receive_count(record);
    // `arn:aws:sqs:<region>:<account>:<name>`
    let queue = record
        .event_source_arn
        .as_deref()
        .and_then(|arn| arn.rsplit(':').next())
        .unwrap_or_default();
    let span = spans::process(
        Function::OrderProcessor.name(),
        queue,
        message_id,
        receive_count,
    );
    record_carrier(record).continue_in(&span);
    span
}

/// `ApproximateReceiveCount`: this receive included, so 1 on the first delivery.
fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1)
}

/// What becomes of a message whose processing failed on its `receives`-th receive, with the
/// queue's redrive policy: a person reading the log learns whether it comes back.
pub fn after_failure(receives: u32, max_receives: u32) -> String {
    if receives >= max_receives {
        format!(
            "receive {receives} of {max_receives}: SQS moves the message to the DLQ (no more retries)"
        )
    } else {
        format!(
            "receive {receives} of {max_receives}: SQS delivers it again after the visibility timeout"
        )
    }
}

/// The sender's context a record carries: the `traceparent` message attribute, else the
/// `AWSTraceHeader` system attribute.
fn record_carrier(record: &SqsMessage) -> Carrier {
    let traceparent = record
        .message_attributes
        .get(TRACEPARENT)
        .and_then(|a| a.string_value.as_deref());
    let xray = record.attributes.get(AWS_TRACE_HEADER).map(String::as_str);
    Carrier::from_parts(traceparent, xray)
}

/// Why one message could not be processed. Its record is reported as a batch item failure,
/// so SQS redelivers it and, after maxReceiveCount receives, moves it to the DLQ.
#[derive(Debug, thiserror::Error)]
pub enum ProcessingFailure {
    #[error("message body is not an OrderCreated message: {0}")]
    MalformedMessage(String),
    #[error("order {0} does not exist")]
    OrderNotFound(uuid::Uuid),
    #[error(transparent)]
    Dependency(DependencyError),
    /// A `DependencyError::Injected`: counted as `InjectedFault`, not as a dependency failure.
    #[error(transparent)]
    Injected(DependencyError),
}

impl From<DependencyError> for ProcessingFailure {
    fn from(e: DependencyError) -> Self {
        match e {
            DependencyError::Injected { .. } => ProcessingFailure::Injected(e),
            other => ProcessingFailure::Dependency(other),
        }
    }
}

impl ProcessingFailure {
    /// A closed set of names, for logs and metric dimensions.
    pub fn kind(&self) -> &'static str {
        match self {
            ProcessingFailure::MalformedMessage(_) => "MalformedMessage",
            ProcessingFailure::OrderNotFound(_) => "OrderNotFound",
            ProcessingFailure::Dependency(_) => "DependencyFailure",
            ProcessingFailure::Injected(_) => "InjectedFault",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processed {
    Moved(OrderStatus),
    /// A duplicate delivery: the order had already left `PENDING`. Counted, not an error.
    AlreadyProcessed,
}

/// The SQS-triggered order processor: moves each `PENDING` order to its final status. Fault
/// injection wraps it from outside (crate `chaos`): around `handle` for the batch, and
/// around the store for each record.
pub struct ProcessOrders {
    store: Arc<dyn OrderStore>,
    clock: Arc<dyn Clock>,
}

impl ProcessOrders {
    pub fn new(store: Arc<dyn OrderStore>, clock: Arc<dyn Clock>) -> Self {
        ProcessOrders { store, clock }
    }

    /// Processes every record and reports the failed ones (`ReportBatchItemFailures`), so one
    /// bad message does not make SQS redeliver the whole batch.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        // The batch's invocation links to each record's trace (the messaging conventions'
        // batch receive), so it leads to the orders it processed.
        let batch = tracing::Span::current();
        for record in &event.records {
            record_carrier(record).link_from(&batch);
        }
        for record in &event.records {
            let message_id = record.message_id.clone().unwrap_or_default();
            let span = record_span(record);
            let result = self.process(record).instrument(span.clone()).await;
            let _entered = span.enter();
            match result {
                Ok(Processed::Moved(status)) => {
                    metrics::processed(status);
                    info!(%status, "order processed")
                }
                Ok(Processed::AlreadyProcessed) => {
                    telemetry::metrics::duplicate_skipped();
                    info!("duplicate delivery skipped: order already processed")
                }
                Err(e) => {
                    telemetry::trace::spans::fail(&span, e.kind(), &e);
                    metrics::processing_failure(&e);
                    let receives = receive_count(record);
                    let next = after_failure(receives, QUEUE.max_receive_count);
                    error!(error = %e, error_type = e.kind(), receive_count = receives, "processing failed on {next}");
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = message_id;
                    response.batch_item_failures.push(failure);
                }
            }
        }
        if !response.batch_item_failures.is_empty() {
            telemetry::metrics::batch_item_failures(response.batch_item_failures.len() as u64);
        }
        response
    }

    /// Processes one record, in the span [`record_span`] made for it.
    pub async fn process(&self, record: &SqsMessage) -> Result<Processed, ProcessingFailure> {
        let body = record.body.as_deref().unwrap_or_default();
        let message: OrderCreated = serde_json::from_str(body)
            .map_err(|e| ProcessingFailure::MalformedMessage(e.to_string()))?;
        let span = tracing::Span::current();
        span.record("order_id", tracing::field::display(message.order_id));
        if let Some(c) = &message.correlation_id {
            span.record("correlation_id", c.as_str());
        }
        let order = metrics::timed(Operation::GetOrder, self.store.get(message.order_id))
            .await?
            .ok_or(ProcessingFailure::OrderNotFound(message.order_id))?;
        if order.status != OrderStatus::Pending {
            return Ok(Processed::AlreadyProcessed);
        }
        let decision = order.decide();
        let now = self.clock.now();
        let request = TransitionRequest {
            id: order.id,
            from: OrderStatus::Pending,
            to: decision.status,
            reason: decision.reason,
            at: now,
        };
        let update = self.store.transition(&request);
        let transition = metrics::timed(Operation::UpdateOrder, update).await?;
        match transition {
            Transition::Applied(order) => {
                let lag_ms = (now - order.created_at).num_milliseconds();
                // Created → processed, the figure the processing-lag alarm watches.
                telemetry::metrics::processing_lag(
                    (now - order.created_at).to_std().unwrap_or_default(),
                );
                info!(lag_ms, status = %order.status, "status updated");
                Ok(Processed::Moved(order.status))
            }
            Transition::AlreadyDone(_) => Ok(Processed::AlreadyProcessed),
            Transition::NotFound => {
                warn!("order vanished between read and update");
                Err(ProcessingFailure::OrderNotFound(order.id))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_says_whether_the_message_comes_back() {
        let max = QUEUE.max_receive_count;
        assert!(after_failure(1, max).contains("delivers it again"));
        let last = after_failure(max, max);
        assert!(last.contains("to the DLQ"), "{last}");
        assert!(!last.contains("again"), "{last}");
    }
}
