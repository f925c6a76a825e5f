//! The stream event source mapping: reads a batch of outbox entries, invokes the publisher,
//! acknowledges what it published. Like Lambda on a stream, it retries a batch that failed
//! (after a back-off) rather than skip it, so an order written is an order published.

use crate::stack::cloudwatch::metric_store::MetricStore;
use crate::stack::lambda::pool::FunctionPool;
use alarms::catalog::aws_metrics::lambda;
use orders::handlers::{PublishReport, Publisher};
use orders::ports::{Clock, Outbox, OutboxEntry};
use orders::settings::{Function, PublisherSettings};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::warn;

/// Back-off after a failed read or batch, as the event source mapping backs off.
pub const BACKOFF: Duration = Duration::from_secs(1);

pub struct StreamSource {
    pub outbox: Arc<dyn Outbox>,
    pub publisher: Arc<FunctionPool<Publisher>>,
    pub settings: PublisherSettings,
    pub metrics: Arc<MetricStore>,
    pub clock: Arc<dyn Clock>,
}

/// What one round did.
#[derive(Debug, PartialEq, Eq)]
enum Round {
    /// The outbox was empty.
    Idle,
    /// Every entry read was published and acknowledged.
    Published,
    /// Something failed: the entries not published are read again after [`BACKOFF`].
    Failed,
}

impl StreamSource {
    /// Polls until told to stop. One poller: a stream shard is read in order, by one reader.
    pub async fn poll(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let wait = match self.round().await {
                Round::Idle => self.settings.idle_poll,
                Round::Published => Duration::ZERO,
                Round::Failed => BACKOFF,
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn round(&self) -> Round {
        let entries = match self.outbox.pending(self.settings.batch_size).await {
            Ok(entries) if entries.is_empty() => return Round::Idle,
            Ok(entries) => entries,
            Err(e) => {
                warn!(error = %e, "could not read the outbox; reading again shortly");
                return Round::Failed;
            }
        };
        self.iterator_age(&entries);
        let sequences: Vec<String> = entries.iter().map(|e| e.sequence.clone()).collect();
        let report: PublishReport = match self
            .publisher
            .invoke(|publisher, invocation| async move {
                let report = publisher.handle(entries, invocation.deadline).await;
                Ok::<_, std::convert::Infallible>(report)
            })
            .await
        {
            Ok(report) => report,
            // A throttle, a timeout or a crash: the whole batch again (the pool logged it).
            Err(_) => return Round::Failed,
        };
        let failed: HashSet<&str> = report.failed.iter().map(String::as_str).collect();
        let published: Vec<String> = sequences
            .into_iter()
            .filter(|s| !failed.contains(s.as_str()))
            .collect();
        if let Err(e) = self.outbox.acknowledge(&published).await {
            // They are read and sent again: the processor skips what it has seen.
            warn!(error = %e, "could not acknowledge published outbox entries");
            return Round::Failed;
        }
        if failed.is_empty() {
            Round::Published
        } else {
            Round::Failed
        }
    }

    /// `IteratorAge`: how old the batch's last record is when it is handed to the function.
    fn iterator_age(&self, entries: &[OutboxEntry]) {
        let Some(newest) = entries.iter().map(|e| e.order.created_at).max() else {
            return;
        };
        let age = (self.clock.now() - newest).num_milliseconds().max(0) as f64;
        self.metrics.service(
            lambda::NAMESPACE,
            lambda::ITERATOR_AGE.name,
            &[(lambda::FUNCTION_NAME, Function::OrderPublisher.name())],
            age,
        );
    }
}
