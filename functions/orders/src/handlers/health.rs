use crate::http::{json, with_correlation};
use crate::ports::{DependencyError, OrderQueue, OrderStore};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use telemetry::catalogue::Operation;
use tracing::warn;

/// Each dependency check gets this long before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /health`: a real, cheap call to each dependency.
pub struct Health {
    store: Arc<dyn OrderStore>,
    queue: Arc<dyn OrderQueue>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Check {
    status: &'static str,
    latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct HealthBody {
    status: &'static str,
    checks: BTreeMap<&'static str, Check>,
}

async fn check(fut: impl Future<Output = Result<(), DependencyError>>) -> Check {
    let started = Instant::now();
    let result = tokio::time::timeout(CHECK_TIMEOUT, fut).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let error = match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("no answer within {} ms", CHECK_TIMEOUT.as_millis())),
    };
    Check {
        status: if error.is_none() { "ok" } else { "failed" },
        latency_ms,
        error,
    }
}

impl Health {
    pub fn new(store: Arc<dyn OrderStore>, queue: Arc<dyn OrderQueue>) -> Self {
        Health { store, queue }
    }

    /// Answers with the request's correlation id, as every route does.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let info = super::request_info(&req);
        let checks = async { tokio::join!(check(self.store.ping()), check(self.queue.ping())) };
        let (store, queue) = super::metrics::timed(Operation::HealthCheck, checks).await;
        let healthy = store.error.is_none() && queue.error.is_none();
        if !healthy {
            warn!(store = ?store.error, queue = ?queue.error, "unhealthy");
        }
        let body = HealthBody {
            status: if healthy { "healthy" } else { "unhealthy" },
            checks: BTreeMap::from([("store", store), ("queue", queue)]),
        };
        let status = if healthy {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        with_correlation(json(status, &body), &info.correlation_id)
    }
}
