//! GET /orders on Lambda; reads its `nextToken` key from Secrets Manager at init.
use lambda_http::Error;
use order_functions::lambda::serve_http;
use orders::settings::Function;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let lambda = order_lambdas::init(Function::ListOrders).await?;
    let function = lambda.ports.list_orders().await?;
    serve_http(function, lambda.host).await
}
