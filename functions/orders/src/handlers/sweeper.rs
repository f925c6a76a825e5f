use super::metrics;
use crate::ports::{Clock, DependencyError, OrderCreated, OrderQueue, OrderStore, Unpublished};
use crate::settings::SweeperSettings;
use std::sync::Arc;
use telemetry::catalogue::Operation;
use tracing::Instrument;
use tracing::{error, info};

/// What one sweep did (also the sweeper Lambda's return value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Unpublished orders older than the grace period.
    pub found: usize,
    pub published: usize,
    pub failed: usize,
}

/// Closes the gap between "order written" and "message sent": publishes every order still
/// marked unpublished after the grace period (its create call crashed or its send failed).
/// A message sent twice is harmless: the processor's update is conditional on `PENDING`.
pub struct Sweeper {
    store: Arc<dyn OrderStore>,
    queue: Arc<dyn OrderQueue>,
    clock: Arc<dyn Clock>,
    settings: SweeperSettings,
}

impl Sweeper {
    pub fn new(
        store: Arc<dyn OrderStore>,
        queue: Arc<dyn OrderQueue>,
        clock: Arc<dyn Clock>,
        settings: SweeperSettings,
    ) -> Self {
        Sweeper {
            store,
            queue,
            clock,
            settings,
        }
    }

    pub async fn handle(&self) -> Result<SweepReport, DependencyError> {
        let grace =
            chrono::Duration::from_std(self.settings.grace).unwrap_or(chrono::Duration::zero());
        let cutoff = self.clock.now() - grace;
        let unpublished = self.store.unpublished(cutoff, self.settings.batch);
        let orders = metrics::timed(Operation::QueryUnpublished, unpublished).await?;
        let mut report = SweepReport {
            found: orders.len(),
            ..SweepReport::default()
        };
        for Unpublished { order, created_in } in orders {
            let message = OrderCreated {
                order_id: order.id,
                created_at: order.created_at,
                correlation_id: None,
            };
            // One span per republished order, holding its id: its processing continues this
            // span's trace, and the span links back to the create's, so a trace of the order
            // leads to the other (the create's trace ended before this sweep began).
            let span = tracing::info_span!("republish_order", order_id = %order.id);
            created_in.link_from(&span);
            let republish = async {
                match metrics::timed(Operation::SendMessage, self.queue.publish(&message)).await {
                    Ok(_) => {
                        metrics::timed(
                            Operation::MarkPublished,
                            self.store.mark_published(order.id),
                        )
                        .await
                    }
                    Err(e) => Err(e),
                }
            };
            let sent = republish.instrument(span).await;
            match sent {
                Ok(()) => {
                    report.published += 1;
                    info!(order_id = %order.id, "unpublished order published by the sweeper");
                }
                Err(e) => {
                    report.failed += 1;
                    error!(order_id = %order.id, error = %e, "sweeper could not publish the order");
                }
            }
        }
        if report.published > 0 {
            telemetry::metrics::orders_swept(report.published as u64);
        }
        if report.found > 0 {
            info!(
                found = report.found,
                published = report.published,
                failed = report.failed,
                "sweep done"
            );
        }
        Ok(report)
    }
}
