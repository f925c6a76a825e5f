//! The SQS event source mapping: pollers receive batches from the queue, invoke the processor
//! and delete what it did not report as failed (`ReportBatchItemFailures`). What is not deleted
//! comes back after the visibility timeout and, after maxReceiveCount receives, goes to the DLQ.

use crate::stack::lambda::pool::FunctionPool;
use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chaos::ChaoticProcessor;
use orders::ports::{DependencyError, ReceivedMessage};
use orders::settings::QueueSettings;
use orders_sqlite::SqliteQueue;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{error, warn};

/// How long a poller waits before asking an empty queue again (SQS long polling answers as
/// soon as a message arrives; this keeps the local emulation close to that).
pub const IDLE_POLL: Duration = Duration::from_millis(100);
/// Back-off after an error or a throttle, as the event source mapping does.
pub const BACKOFF: Duration = Duration::from_secs(1);

/// The ARN the event names its source queue by (its last segment is the queue's name, the
/// processor's `messaging.destination.name`).
pub fn queue_arn(queue_name: &str) -> String {
    format!("arn:aws:sqs:local:000000000000:{queue_name}")
}

/// The queue as the event source mapping sees it: receive a batch, delete what succeeded.
/// Implemented by the SQLite queue (local backend) and by SQS (`--backend aws`).
#[async_trait]
pub trait Consumer: Send + Sync {
    async fn receive(&self, max: usize) -> Result<Vec<ReceivedMessage>, DependencyError>;
    async fn delete(&self, receipt_handle: &str) -> Result<(), DependencyError>;
    /// The queue's name, as SQS names it.
    fn name(&self) -> String;
}

#[async_trait]
impl Consumer for SqliteQueue {
    async fn receive(&self, max: usize) -> Result<Vec<ReceivedMessage>, DependencyError> {
        Ok(SqliteQueue::receive(self, max).await?)
    }
    async fn delete(&self, receipt_handle: &str) -> Result<(), DependencyError> {
        SqliteQueue::delete(self, receipt_handle).await?;
        Ok(())
    }
    fn name(&self) -> String {
        self.config().name.clone()
    }
}

/// SQS (`--backend aws`): its messages have the local queue's shape, so one poller serves both.
#[cfg(feature = "aws")]
#[async_trait]
impl Consumer for orders_aws::SqsConsumer {
    async fn receive(&self, max: usize) -> Result<Vec<ReceivedMessage>, DependencyError> {
        orders_aws::SqsConsumer::receive(self, max).await
    }
    async fn delete(&self, receipt_handle: &str) -> Result<(), DependencyError> {
        orders_aws::SqsConsumer::delete(self, receipt_handle).await
    }
    fn name(&self) -> String {
        self.queue_name().to_owned()
    }
}

pub struct EventSource {
    pub queue: Arc<dyn Consumer>,
    pub processor: Arc<FunctionPool<ChaoticProcessor>>,
    pub settings: QueueSettings,
}

/// The event Lambda would receive for these messages.
pub fn sqs_event(
    queue_arn: &str,
    messages: &[ReceivedMessage],
) -> Result<SqsEvent, serde_json::Error> {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut attrs = Map::new();
            for (k, v) in &m.attributes {
                attrs.insert(k.clone(), json!({ "stringValue": v, "dataType": "String" }));
            }
            let mut system = json!({
                "ApproximateReceiveCount": m.receive_count.to_string(),
                "SentTimestamp": m.sent_at.timestamp_millis().to_string(),
                "SenderId": "local",
                "ApproximateFirstReceiveTimestamp": m.first_received_at.timestamp_millis().to_string(),
            });
            // What Lambda gives the processor on AWS: the sender's trace as a system attribute.
            if let Some(header) = m.trace.xray_header() {
                system[telemetry::trace::AWS_TRACE_HEADER] = Value::String(header);
            }
            json!({
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": system,
                "messageAttributes": attrs,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "local",
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records }))
}

/// Which messages to delete after the processor answered. Like Lambda, a response that names
/// a message not in the batch (or an empty id) fails the whole batch.
pub fn to_delete<'a>(
    messages: &'a [ReceivedMessage],
    response: &SqsBatchResponse,
) -> Vec<&'a ReceivedMessage> {
    let ids: HashSet<&str> = messages.iter().map(|m| m.message_id.as_str()).collect();
    let failed: HashSet<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    if failed.iter().any(|id| !ids.contains(id)) {
        return Vec::new();
    }
    messages
        .iter()
        .filter(|m| !failed.contains(m.message_id.as_str()))
        .collect()
}

impl EventSource {
    /// One poller; the mapping runs `max_concurrency` of them.
    pub async fn poll(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let pause = match self.once().await {
                Ok(0) => IDLE_POLL,
                Ok(_) => Duration::ZERO,
                Err(()) => BACKOFF,
            };
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// Receives one batch and processes it; returns how many messages it received.
    pub async fn once(&self) -> Result<usize, ()> {
        let messages = self
            .queue
            .receive(self.settings.batch_size)
            .await
            .map_err(|e| {
                error!(error = %e, "event source could not receive from the queue");
            })?;
        if messages.is_empty() {
            return Ok(0);
        }
        let event = sqs_event(&queue_arn(&self.queue.name()), &messages)
            .map_err(|e| error!(error = %e, "could not build the SQS event"))?;
        let outcome = self
            .processor
            .invoke(|handler, invocation| async move {
                handler.handle(event, invocation.deadline).await
            })
            .await;
        let response = match outcome {
            Ok(r) => r,
            Err(e) => {
                // Nothing is deleted: the whole batch returns after the visibility timeout.
                warn!(error = %e, messages = messages.len(), "processor invocation failed; the batch will be retried");
                return Err(());
            }
        };
        for m in to_delete(&messages, &response) {
            if let Err(e) = self.queue.delete(&m.receipt_handle).await {
                error!(error = %e, message_id = %m.message_id, "could not delete a processed message");
            }
        }
        Ok(messages.len())
    }
}
