//! The Lambda runtime's side of the invocation path: the facts from the Lambda context, and
//! the loops that serve a function. Each loop is `lambda_runtime::Runtime` with one layer of
//! ours, [`FlushTraces`], in place of the runtime's default tracing layer: the invocation
//! span is ours (`Facts::scope`, continuing Lambda's X-Ray header), and the spans are
//! exported after the response is posted and before the next event is asked for.

use crate::http::HttpFunction;
use crate::invocation::{self, Emf, Facts};
use lambda_http::lambda_runtime::{self, Context, LambdaEvent, LambdaInvocation, Runtime};
use lambda_http::tower::{Layer, Service};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use telemetry::metrics::LambdaMetrics;
use telemetry::trace::{Tracing, Trigger, spans};
use tracing::Instrument;

static WARM: AtomicBool = AtomicBool::new(false);

/// What the serve loops need from the instance's init: the EMF backend and the tracer.
#[derive(Clone)]
pub struct Host {
    pub metrics: &'static LambdaMetrics,
    pub tracing: Tracing,
}

/// The facts of an invocation from its Lambda context; the first call in the process is the
/// cold start.
pub fn facts(context: &Context, trigger: Trigger) -> Facts<'_> {
    Facts {
        function_name: &context.env_config.function_name,
        request_id: &context.request_id,
        trace_header: context.xray_trace_id.as_deref(),
        cold_start: !WARM.swap(true, Ordering::Relaxed),
        trigger,
    }
}

/// The invocation's deadline as an `Instant` (the context gives epoch milliseconds).
pub fn deadline(context: &Context) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Instant::now() + Duration::from_millis(context.deadline.saturating_sub(now_ms))
}

/// Serves an HTTP function until the runtime stops: each request in its invocation span and
/// its SERVER span (API Gateway's HTTP API sends no span of its own), its EMF documents
/// flushed before the response leaves, its spans after.
pub async fn serve_http(
    function: Arc<dyn HttpFunction>,
    host: Host,
) -> Result<(), lambda_http::Error> {
    let metrics = host.metrics;
    let service = lambda_http::service_fn(move |req: Request| {
        let function = function.clone();
        async move { Ok::<_, lambda_http::Error>(http_invocation(function, req, metrics).await) }
    });
    Runtime::new(lambda_http::Adapter::from(service))
        .layer(FlushTraces(host.tracing))
        .run()
        .await
}

/// One HTTP invocation as [`serve_http`] runs it: the invocation span, the SERVER span inside
/// it, the call, the status on both, the EMF flush through `emf`. Public so the warm benches
/// time exactly this path.
pub async fn http_invocation<E: Emf>(
    function: Arc<dyn HttpFunction>,
    req: Request,
    emf: E,
) -> Response<Body> {
    let context = req.lambda_context();
    // Made inside the invocation's span, so it is that span's child (in Lambda's trace).
    let call = async move {
        let server = server_span(&req);
        let response = function.call(req).instrument(server.clone()).await;
        let status = response.status().as_u16();
        spans::http_status(&server, status);
        if status >= 500 {
            spans::fail(&tracing::Span::current(), "5xx", status);
        }
        response
    };
    invocation::run(&facts(&context, Trigger::Http), emf, call).await
}

/// The SERVER span from the request's route key (`POST /orders`) and path.
fn server_span(req: &Request) -> tracing::Span {
    use lambda_http::request::RequestContext;
    let route = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c.route_key.clone(),
        _ => None,
    };
    let method = req.method().as_str();
    let route = route
        .as_deref()
        .and_then(|key| key.split_once(' ').map(|(_, r)| r.to_owned()));
    spans::http_server(method, route.as_deref(), req.uri().path())
}

/// Serves an event function (SQS, schedule): `handle` gets the payload and the context; its
/// `Err` is a function error (the runtime reports it, the trigger retries).
pub async fn serve_events<E, R, Er, H, Fut>(
    host: Host,
    trigger: Trigger,
    handle: H,
) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send,
    R: Serialize + Send,
    Er: Into<lambda_runtime::Error> + Send,
    H: Fn(E, &Context) -> Fut,
    Fut: Future<Output = Result<R, Er>> + Send,
{
    let metrics = host.metrics;
    let handle = &handle;
    let service = lambda_runtime::service_fn(move |event: LambdaEvent<E>| async move {
        let call = handle(event.payload, &event.context);
        let scope = facts(&event.context, trigger).scope();
        let span = scope.span().clone();
        let handled: Result<R, lambda_runtime::Error> =
            scope.run(metrics, call).await.map_err(Into::into);
        if let Err(e) = &handled {
            // A function error: the trigger retries it.
            spans::fail(&span, "FunctionError", e);
        }
        handled
    });
    Runtime::new(service)
        .layer(FlushTraces(host.tracing))
        .run()
        .await
}

/// Exports the invocation's spans once the runtime has posted its response: the caller does
/// not wait for the export, and the sandbox is not frozen (the next `/next` is not asked
/// for) until it is done or [`telemetry::trace::FLUSH_TIMEOUT`] has passed.
pub struct FlushTraces(pub Tracing);

impl<S> Layer<S> for FlushTraces {
    type Service = FlushTracesService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        FlushTracesService {
            inner,
            tracing: self.0.clone(),
        }
    }
}

pub struct FlushTracesService<S> {
    inner: S,
    tracing: Tracing,
}

impl<S> Service<LambdaInvocation> for FlushTracesService<S>
where
    S: Service<LambdaInvocation, Response = ()>,
{
    type Response = ();
    type Error = S::Error;
    type Future = Flushing<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: LambdaInvocation) -> Self::Future {
        Flushing {
            posting: Some(Box::pin(self.inner.call(req))),
            posted: None,
            flush: None,
            tracing: self.tracing.clone(),
        }
    }
}

/// Posts the response, then flushes the spans, then completes with the post's result.
pub struct Flushing<F, E> {
    posting: Option<Pin<Box<F>>>,
    posted: Option<Result<(), E>>,
    flush: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    tracing: Tracing,
}

// The inner future is boxed and the result is never pinned, so moving `Flushing` is sound.
impl<F, E> Unpin for Flushing<F, E> {}

impl<F, E> Future for Flushing<F, E>
where
    F: Future<Output = Result<(), E>>,
{
    type Output = Result<(), E>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = Pin::into_inner(self);
        if let Some(posting) = this.posting.as_mut() {
            let Poll::Ready(result) = posting.as_mut().poll(cx) else {
                return Poll::Pending;
            };
            this.posting = None;
            this.posted = Some(result);
            let tracing = this.tracing.clone();
            this.flush = Some(Box::pin(async move { tracing.flush().await }));
        }
        if let Some(flush) = this.flush.as_mut() {
            if flush.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.flush = None;
        }
        match this.posted.take() {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }
}
