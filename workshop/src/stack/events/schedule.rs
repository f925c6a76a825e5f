//! EventBridge Scheduler emulation: invokes the sweeper at start-up and then every interval.

use crate::stack::lambda::pool::FunctionPool;
use orders::handlers::Sweeper;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::warn;

pub async fn run(
    sweeper: Arc<FunctionPool<Sweeper>>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        // Errors are logged and counted by the pool; the next tick tries again.
        if let Err(e) = sweeper.invoke(|h, _| async move { h.handle().await }).await {
            warn!(error = %e, "sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => {}
        }
    }
}
