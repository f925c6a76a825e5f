use super::metrics;
use crate::ports::{OrderQueue, OutboxEntry};
use crate::settings::Function;
use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use telemetry::catalogue::Operation;
use telemetry::trace::spans;
use tracing::{Instrument, error, info, warn};

/// Sends at most this many messages at once: a batch of 100 entries goes out in about ten
/// round trips' time instead of a hundred, without opening a hundred connections.
pub const SEND_CONCURRENCY: usize = 10;

/// No send starts later than this before the invocation's deadline: what is left is reported
/// failed, for the next batch, so a slow queue makes batches smaller instead of timing every
/// one out (and resending it whole) forever.
pub const STOP_BEFORE_DEADLINE: Duration = Duration::from_secs(5);

/// What one batch did (the publisher Lambda answers `failed` as `batchItemFailures`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PublishReport {
    pub published: usize,
    /// The `sequence` of every entry that was not sent: its event source hands it out again.
    pub failed: Vec<String>,
}

/// Sends the `OrderCreated` of every order written, from the outbox the store keeps (the
/// table's stream on AWS). An entry that fails is reported, not dropped: the event source
/// retries it until it is sent, so an accepted order always reaches the queue. A message sent
/// twice (a retried batch) is harmless: the processor's update is conditional on `PENDING`.
pub struct Publisher {
    queue: Arc<dyn OrderQueue>,
}

impl Publisher {
    pub fn new(queue: Arc<dyn OrderQueue>) -> Self {
        Publisher { queue }
    }

    /// Publishes `entries` before `deadline` (the invocation's).
    pub async fn handle(&self, entries: Vec<OutboxEntry>, deadline: Instant) -> PublishReport {
        let results: Vec<Result<(), String>> = futures::stream::iter(entries)
            .map(|entry| self.publish(entry, deadline))
            .buffer_unordered(SEND_CONCURRENCY)
            .collect()
            .await;
        let mut report = PublishReport::default();
        for result in results {
            match result {
                Ok(()) => report.published += 1,
                Err(sequence) => report.failed.push(sequence),
            }
        }
        report
    }

    async fn publish(&self, entry: OutboxEntry, deadline: Instant) -> Result<(), String> {
        if Instant::now() + STOP_BEFORE_DEADLINE > deadline {
            warn!(
                order_id = %entry.order.id,
                "left for the next batch: this invocation's time is nearly up"
            );
            return Err(entry.sequence);
        }
        // One span per order, a child of the create's: its processing continues this span,
        // so the create, the publish and the processing are one trace.
        let span = spans::publish(Function::OrderPublisher.name(), &entry.order.id);
        if let Some(id) = &entry.correlation_id {
            span.record("correlation_id", id.as_str());
        }
        entry.created_in.continue_in(&span);
        let message = entry.message();
        let sent = metrics::timed(Operation::SendMessage, self.queue.publish(&message))
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        match sent {
            Ok(message_id) => {
                telemetry::metrics::order_published();
                info!(message_id, "order published");
                Ok(())
            }
            Err(e) => {
                spans::fail(&span, e.kind(), &e);
                telemetry::metrics::publish_failure();
                error!(error = %e, "publish failed; the order stays in the outbox and is sent again");
                Err(entry.sequence)
            }
        }
    }
}
