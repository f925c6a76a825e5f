//! The Lambda runtime's side of the invocation path: the facts from the Lambda context, and
//! the loops that serve a function (`lambda_http::run`, `lambda_runtime::run`).

use crate::http::HttpFunction;
use crate::invocation::{self, Facts};
use lambda_http::lambda_runtime::{self, Context, LambdaEvent};
use lambda_http::{Request, RequestExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use telemetry::metrics::LambdaMetrics;

static WARM: AtomicBool = AtomicBool::new(false);

/// The facts of an invocation from its Lambda context; the first call in the process is the
/// cold start.
pub fn facts(context: &Context) -> Facts<'_> {
    Facts {
        function_name: &context.env_config.function_name,
        request_id: &context.request_id,
        xray_trace_id: context.xray_trace_id.as_deref().unwrap_or(""),
        cold_start: !WARM.swap(true, Ordering::Relaxed),
    }
}

/// The invocation's deadline as an `Instant` (the context gives epoch milliseconds).
pub fn deadline(context: &Context) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Instant::now() + Duration::from_millis(context.deadline.saturating_sub(now_ms))
}

/// Serves an HTTP function until the runtime stops: each request in its invocation span,
/// its EMF documents flushed before the response leaves.
pub async fn serve_http(
    function: Arc<dyn HttpFunction>,
    metrics: &'static LambdaMetrics,
) -> Result<(), lambda_http::Error> {
    lambda_http::run(lambda_http::service_fn(move |req: Request| {
        let function = function.clone();
        async move {
            let context = req.lambda_context();
            let call = function.call(req);
            Ok::<_, lambda_http::Error>(invocation::run(&facts(&context), metrics, call).await)
        }
    }))
    .await
}

/// Serves an event function (SQS, schedule): `handle` gets the payload and the context; its
/// `Err` is a function error (the runtime reports it, the trigger retries).
pub async fn serve_events<E, R, Er, H, Fut>(
    metrics: &'static LambdaMetrics,
    handle: H,
) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send,
    R: Serialize + Send,
    Er: Into<lambda_runtime::Error> + Send,
    H: Fn(E, &Context) -> Fut,
    Fut: Future<Output = Result<R, Er>> + Send,
{
    let handle = &handle;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<E>| async move {
            let call = handle(event.payload, &event.context);
            let handled = invocation::run(&facts(&event.context), metrics, call).await;
            handled.map_err(Into::into)
        },
    ))
    .await
}
