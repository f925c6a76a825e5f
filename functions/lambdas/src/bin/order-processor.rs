//! The SQS-triggered processor on Lambda. Returns partial batch failures, so the event source
//! mapping must have `ReportBatchItemFailures` (template.yaml sets it). An `Err` is an
//! injected whole-batch failure: a function error, so SQS retries the batch.
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::Error;
use order_functions::lambda::{deadline, serve_events};
use orders::settings::Function;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let lambda = order_lambdas::init(Function::OrderProcessor).await?;
    let processor = lambda.ports.order_processor();
    serve_events(
        lambda.host,
        Function::OrderProcessor.trigger(),
        |batch: SqsEvent, context| processor.handle(batch, deadline(context)),
    )
    .await
}
