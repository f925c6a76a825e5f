//! The scheduled sweeper on Lambda: publishes orders whose enqueue failed. A failed sweep is
//! a function error: the Errors metric and the next run pick it up.
use lambda_runtime::Error;
use order_functions::lambda::serve_events;
use orders::settings::Function;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let lambda = order_lambdas::init(Function::OrderSweeper).await?;
    let sweeper = lambda.ports.order_sweeper();
    serve_events(
        lambda.host,
        Function::OrderSweeper.trigger(),
        |_: serde_json::Value, _| sweeper.handle(),
    )
    .await
}
