//! GET /orders/{id} on Lambda.
use lambda_http::{Error, Request, RequestExt, run, service_fn};
use order_lambdas::{SERVICE, aws, invocation_span, store};
use orders::handlers::GetOrder;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::logs::init_lambda(SERVICE);
    let aws = aws().await;
    let handler = GetOrder::new(store(&aws)?);
    let handler = &handler;
    run(service_fn(move |req: Request| async move {
        let span = invocation_span(&req.lambda_context());
        Ok::<_, Error>(handler.handle(req).instrument(span).await)
    }))
    .await
}
