//! The scheduled sweeper on Lambda: publishes orders whose enqueue failed.
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use order_lambdas::{SERVICE, aws, chaos_layer, invocation_span, metrics, queue, store};
use orders::handlers::{SweepReport, Sweeper};
use orders::ports::SystemClock;
use orders::settings::SWEEPER;
use std::sync::Arc;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::logs::init_lambda(SERVICE);
    let metrics = metrics()?;
    let aws = aws().await;
    let chaos = chaos_layer(&aws);
    let handler = Sweeper::new(
        store(&aws, &chaos)?,
        queue(&aws, &chaos)?,
        Arc::new(SystemClock),
        SWEEPER,
    );
    let handler = &handler;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let span = invocation_span(&event.context);
            // A failed sweep is a function error: the Errors metric and the next run pick it up.
            let handled = metrics.invocation(&event.context.request_id, handler.handle());
            let report: SweepReport = handled.instrument(span).await?;
            Ok::<_, Error>(report)
        },
    ))
    .await
}
