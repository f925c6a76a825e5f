//! The SQS-triggered processor on Lambda. Returns partial batch failures, so the event source
//! mapping must have `ReportBatchItemFailures` (template.yaml sets it).
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use order_lambdas::{SERVICE, aws, chaos_layer, deadline, invocation_span, metrics, store};
use orders::ports::SystemClock;
use std::sync::Arc;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::logs::init_lambda(SERVICE);
    let metrics = metrics()?;
    let aws = aws().await;
    let chaos = chaos_layer(&aws);
    let handler = chaos::ChaoticProcessor::new(store(&aws, &chaos)?, Arc::new(SystemClock), chaos);
    let handler = &handler;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let span = invocation_span(&event.context);
        let deadline = deadline(&event.context);
        let handled = metrics.invocation(
            &event.context.request_id,
            handler.handle(event.payload, deadline),
        );
        // An Err is an injected whole-batch failure: a function error, so SQS retries the batch.
        Ok::<SqsBatchResponse, Error>(handled.instrument(span).await?)
    }))
    .await
}
