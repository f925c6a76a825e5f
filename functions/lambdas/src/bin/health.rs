//! GET /health on Lambda.
use lambda_http::{Error, Request, RequestExt, run, service_fn};
use order_lambdas::{SERVICE, aws, chaos_layer, invocation_span, metrics, queue, store};
use orders::handlers::Health;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::logs::init_lambda(SERVICE);
    let metrics = metrics()?;
    let aws = aws().await;
    let chaos = chaos_layer(&aws);
    let handler = Health::new(store(&aws, &chaos)?, queue(&aws, &chaos)?);
    let (handler, chaos) = (&handler, &chaos);
    run(service_fn(move |req: Request| async move {
        let context = req.lambda_context();
        let span = invocation_span(&context);
        let handled = metrics.invocation(
            &context.request_id,
            chaos::wrap::http(chaos, handler.handle(req)),
        );
        Ok::<_, Error>(handled.instrument(span).await)
    }))
    .await
}
