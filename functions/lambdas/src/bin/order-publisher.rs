//! The stream-triggered publisher on Lambda: sends the `OrderCreated` of every new order
//! from the table's stream, the outbox. Returns partial batch failures, so the event source
//! mapping must have `ReportBatchItemFailures` (template.yaml sets it).
use lambda_runtime::Error;
use order_functions::lambda::{deadline, serve_events};
use orders::settings::Function;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let lambda = order_lambdas::init(Function::OrderPublisher).await?;
    let publisher = &lambda.ports.order_publisher();
    serve_events(
        lambda.host,
        Function::OrderPublisher.trigger(),
        |event: serde_json::Value, context| {
            let deadline = deadline(context);
            async move {
                let answer = order_lambdas::publish_stream_batch(publisher, &event, deadline).await;
                Ok::<_, std::convert::Infallible>(answer)
            }
        },
    )
    .await
}
