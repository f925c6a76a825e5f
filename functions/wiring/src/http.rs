//! The HTTP functions' one trait: what `lambda_http::run` serves on Lambda
//! ([`crate::lambda::serve_http`]) and what the local gateway calls.

use lambda_http::{Body, Request, Response};
use orders::handlers::{CreateOrder, GetOrder, Health, ListOrders};
use std::sync::Arc;

/// A function reachable through the HTTP API: one request in, one response out.
pub trait HttpFunction: Send + Sync + 'static {
    fn call(self: Arc<Self>, req: Request) -> lambda_http::BoxFuture<'static, Response<Body>>;
}

/// An API handler behind the chaos layer's API faults (injected latency counts in the
/// invocation's duration, as on Lambda).
pub(crate) struct Api<H> {
    pub(crate) handler: H,
    pub(crate) chaos: Arc<chaos::Chaos>,
}

// The handlers' `handle` methods are inherent, so each gets its impl; the body is one.
macro_rules! http_function {
    ($($t:ty),*) => {$(
        impl HttpFunction for Api<$t> {
            fn call(
                self: Arc<Self>,
                req: Request,
            ) -> lambda_http::BoxFuture<'static, Response<Body>> {
                Box::pin(async move {
                    // An injected error answers in the handler's place: it carries the
                    // request's correlation id as every answer does.
                    let correlation = orders::handlers::request_info(&req).correlation_id;
                    let response = chaos::wrap::http(&self.chaos, self.handler.handle(req)).await;
                    orders::http::with_correlation(response, &correlation)
                })
            }
        }
    )*};
}

http_function!(CreateOrder, GetOrder, ListOrders, Health);
