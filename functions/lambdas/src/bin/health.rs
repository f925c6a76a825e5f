//! GET /health on Lambda.
use lambda_http::Error;
use order_functions::lambda::serve_http;
use orders::settings::Function;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let lambda = order_lambdas::init(Function::Health).await?;
    serve_http(lambda.ports.health(), lambda.host).await
}
