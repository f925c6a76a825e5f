//! Warm invocation cost of each function's handler, so the telemetry overhead is a number.
//!
//! One criterion group per function, `warm/<function>`, with two benchmarks over the
//! in-memory ports (`order_bench::memory`, so neither SQLite nor a network is measured):
//!
//! - `bare`: the handler's `handle(..)` alone, with no tracing subscriber and no metrics
//!   recorder in the process, so every `tracing` and `metrics` macro is a no-op.
//! - `telemetry`: the same call wrapped as the Lambda mains (`functions/lambdas/src/bin`) wrap
//!   it: the JSON log layer `telemetry::logs::init_lambda` installs, the invocation span, and
//!   the EMF flush of `LambdaMetrics::invocation` after each call, with the log lines and EMF
//!   documents written to `io::sink()` instead of stdout (their bytes are counted, and checked
//!   to be non-zero before measuring, so the variant cannot silently measure nothing).
//!
//! The Lambda EMF backend is a process-global recorder that cannot be removed once installed,
//! so every `bare` benchmark runs first (phase 1) and the recorder is installed only for the
//! `telemetry` ones (phase 2). The log subscriber is set per benchmark on the bench thread only.
//!
//! Criterion writes `$CARGO_TARGET_DIR/criterion/warm_<function>/<bare|telemetry>/new/estimates.json`
//! (the `/` of a group name becomes `_`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
use http::StatusCode;
use lambda_http::lambda_runtime::Config;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Context, Request, RequestExt, Response};
use order_bench::memory::{MemoryOrderQueue, MemoryOrderStore};
use orders::domain::{Order, OrderStatus};
use orders::handlers::{
    CreateOrder, GetOrder, Health, ListOrders, ProcessOrders, SweepReport, Sweeper,
};
use orders::pagination::PageTokens;
use orders::ports::{
    DependencyError, ListQuery, OrderCreated, OrderStore, SortOrder, SystemClock, Transition,
};
use orders::settings::{Function, SWEEPER};
use serde_json::{Map, Value, json};
use std::cell::Cell;
use std::future::Future;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use telemetry::logs::{JsonLayer, LogRecord, LogSink};
use telemetry::metrics::LambdaMetrics;
use tokio::runtime::Runtime;
use tracing::Instrument;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;
use uuid::Uuid;

/// `order_lambdas::SERVICE`, stamped on every log line and EMF document.
const SERVICE: &str = "orders";
/// The `Environment` EMF dimension.
const ENVIRONMENT: &str = "bench";
/// Orders (and queued messages) a bench keeps before its setup clears them, so millions of
/// iterations neither grow memory without bound nor make the maps ever slower.
const CAP: usize = 4_096;

// ---- the two variants ------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Variant {
    Bare,
    Telemetry(&'static LambdaMetrics),
}

/// Set when phase 2 installs the global EMF recorder; phase 1 asserts it is not.
static RECORDER_INSTALLED: AtomicBool = AtomicBool::new(false);

/// `bare` must run with nothing listening: no EMF recorder yet, and no tracing subscriber
/// (the level filter is OFF, so the macros skip their callsites entirely).
fn assert_no_telemetry() {
    assert!(
        !RECORDER_INSTALLED.load(Ordering::SeqCst),
        "bare benches must run before the EMF recorder is installed"
    );
    assert_eq!(
        LevelFilter::current(),
        LevelFilter::OFF,
        "a tracing subscriber is still listening"
    );
    tracing::dispatcher::get_default(|d| {
        assert!(
            d.is::<tracing::subscriber::NoSubscriber>(),
            "a tracing subscriber is set"
        );
    });
}

/// Bytes written to a sink, so a test can tell that telemetry really wrote something.
#[derive(Clone, Default)]
struct Written(Arc<AtomicU64>);

impl Written {
    /// Writes lines as `write_stdout`/`Stdout` do (one `writeln!` each), into `io::sink()`.
    fn lines<'a>(&self, lines: impl IntoIterator<Item = &'a str>) {
        let mut out = std::io::sink();
        for line in lines {
            // io::sink() cannot fail; the count is what matters.
            let _ = writeln!(out, "{line}");
            let n = u64::try_from(line.len())
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            self.0.fetch_add(n, Ordering::Relaxed);
        }
        let _ = out.flush();
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// `telemetry::logs::Stdout` with a sink in place of stdout.
struct LogBytes(Written);

impl LogSink for LogBytes {
    fn write(&self, record: &LogRecord) {
        self.0.lines([record.to_json().as_str()]);
    }
}

/// What a Lambda main wires around its handler.
struct Telemetry {
    dispatch: tracing::Dispatch,
    metrics: &'static LambdaMetrics,
    logs: Written,
    emf: Written,
}

impl Telemetry {
    /// The subscriber `telemetry::logs::init_lambda` installs (registry, level filter, JSON
    /// layer), with the level fixed at INFO, Lambda's default, rather than read from the
    /// environment, so a stray RUST_LOG cannot change the numbers.
    fn new(metrics: &'static LambdaMetrics) -> Self {
        let logs = Written::default();
        let subscriber = tracing_subscriber::registry()
            .with(EnvFilter::new("info"))
            .with(JsonLayer::new(SERVICE, LogBytes(logs.clone())));
        Telemetry {
            dispatch: tracing::Dispatch::new(subscriber),
            metrics,
            logs,
            emf: Written::default(),
        }
    }

    /// Runs `f` with this subscriber as the bench thread's default (the current-thread
    /// runtime polls every future on this thread), then leaves the thread without one.
    fn installed<T>(&self, f: impl FnOnce() -> T) -> T {
        let out = tracing::dispatcher::with_default(&self.dispatch, f);
        // Callsites cache whether anyone listens; recompute now that nobody does.
        tracing::callsite::rebuild_interest_cache();
        out
    }

    /// An HTTP main: `req.lambda_context()`, the span, the metrics around the handler.
    async fn http<F: Future>(&self, req: Request, handle: impl FnOnce(Request) -> F) -> F::Output {
        let context = req.lambda_context();
        let span = invocation_span(&context);
        let handled = self.invocation(&context.request_id, handle(req));
        handled.instrument(span).await
    }

    /// An SQS or scheduled main: the span and the metrics from `event.context`.
    async fn event<F: Future>(&self, context: &Context, handled: F) -> F::Output {
        let span = invocation_span(context);
        self.invocation(&context.request_id, handled)
            .instrument(span)
            .await
    }

    /// `LambdaMetrics::invocation` line for line (its public halves `begin` and `finish`),
    /// writing the documents to the sink instead of stdout.
    async fn invocation<F: Future>(&self, request_id: &str, handler: F) -> F::Output {
        self.metrics.begin(request_id);
        let output = handler.await;
        match self.metrics.finish() {
            Ok(lines) => self.emf.lines(lines.iter().map(String::as_str)),
            Err(e) => tracing::error!(error = %e, "EMF metrics of this invocation are lost"),
        }
        output
    }

    /// Fails the bench when the wrapped call wrote no EMF document, or no log line although
    /// the handler logs on this path (health logs nothing when healthy).
    fn assert_emitted(&self, function: Function, logs_expected: bool) {
        let name = function.name();
        assert!(self.emf.get() > 0, "{name}: no EMF document was written");
        if logs_expected {
            assert!(self.logs.get() > 0, "{name}: no log line was written");
        }
    }
}

/// `order_lambdas::invocation_span`, replicated rather than depended on (that crate pulls
/// the AWS SDKs and the chaos layer): the same span name, fields and cold-start flag.
fn invocation_span(context: &Context) -> tracing::Span {
    static WARM: AtomicBool = AtomicBool::new(false);
    let cold_start = !WARM.swap(true, Ordering::Relaxed);
    tracing::info_span!(
        "invocation",
        function_name = %context.env_config.function_name,
        function_request_id = %context.request_id,
        xray_trace_id = context.xray_trace_id.as_deref().unwrap_or(""),
        cold_start,
    )
}

// ---- the measuring loops ---------------------------------------------------------------

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime")
}

/// Runs a memory-port call from setup code, which criterion calls inside its own `block_on`:
/// the memory ports never wait, so one poll completes them.
fn ready<F: Future>(future: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a memory port call did not complete in one poll"),
    }
}

/// One invocation is checked (`check`) before measuring, then `routine` is timed on inputs
/// that `setup` prepares outside the timing.
struct Bench<'a, 'g, I, O> {
    group: &'a mut BenchmarkGroup<'g, WallTime>,
    rt: &'a Runtime,
    batch: BatchSize,
    setup: &'a mut dyn FnMut() -> I,
    check: &'a dyn Fn(&O),
}

impl<I, O> Bench<'_, '_, I, O> {
    fn bare<F: Future<Output = O>>(self, mut routine: impl FnMut(I) -> F) {
        assert_no_telemetry();
        let Bench {
            group,
            rt,
            batch,
            setup,
            check,
        } = self;
        check(&rt.block_on(routine(setup())));
        group.bench_function("bare", |b| {
            b.to_async(rt)
                .iter_batched(&mut *setup, &mut routine, batch)
        });
    }

    fn telemetry<F: Future<Output = O>>(
        self,
        telemetry: &Telemetry,
        function: Function,
        logs_expected: bool,
        mut routine: impl FnMut(I) -> F,
    ) {
        let Bench {
            group,
            rt,
            batch,
            setup,
            check,
        } = self;
        telemetry.installed(|| {
            check(&rt.block_on(routine(setup())));
            telemetry.assert_emitted(function, logs_expected);
            group.bench_function("telemetry", |b| {
                b.to_async(rt)
                    .iter_batched(&mut *setup, &mut routine, batch)
            });
        });
    }
}

// ---- realistic inputs ------------------------------------------------------------------

/// The function's configuration as the Lambda runtime reads it from its environment.
fn lambda_config(function: Function) -> Arc<Config> {
    let name = function.name();
    Arc::new(Config {
        function_name: name.to_owned(),
        memory: i32::try_from(function.memory_mb()).unwrap_or(128),
        version: "$LATEST".to_owned(),
        log_stream: "2026/01/01/[$LATEST]8f5c2a4e1b7d4c3e9f0a6d2b1e4c7a90".to_owned(),
        log_group: format!("/aws/lambda/{name}"),
    })
}

/// One invocation's context, from the headers the Runtime API sends with each event.
fn lambda_context(config: &Arc<Config>, function: Function) -> Context {
    let deadline_ms = SystemTime::now()
        .checked_add(function.timeout())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis());
    let arn = format!(
        "arn:aws:lambda:eu-west-1:123456789012:function:{}",
        config.function_name
    );
    let trace = format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        deadline_ms / 1000 % 0x1_0000_0000,
        &Uuid::new_v4().simple().to_string()[..24],
        &Uuid::new_v4().simple().to_string()[..16],
    );
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        ("lambda-runtime-invoked-function-arn", arn),
        ("lambda-runtime-trace-id", trace),
    ] {
        headers.insert(
            name,
            http::HeaderValue::from_str(&value).expect("a valid header value"),
        );
    }
    Context::new(&Uuid::new_v4().to_string(), config.clone(), &headers).expect("a Lambda context")
}

/// API Gateway's request ids look like `Abc123defGHIjkl=`; unique per request.
fn api_request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("B{:014X}=", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// An HTTP API (payload 2.0) request as `lambda_http` hands it to the handler on Lambda: the
/// event JSON deserialised into `LambdaRequest`, converted, with the X-Ray header and the
/// Lambda context added (what `lambda_http::Adapter::call` does).
struct HttpCall<'a> {
    config: &'a Arc<Config>,
    function: Function,
    method: &'static str,
    route: &'static str,
    path: String,
    query: &'a [(&'static str, &'static str)],
    path_parameters: Option<(&'static str, String)>,
    body: Option<&'a str>,
}

impl HttpCall<'_> {
    fn request(&self) -> Request {
        let context = lambda_context(self.config, self.function);
        let request_id = api_request_id();
        let mut headers = Map::new();
        let mut header = |name: &str, value: String| {
            headers.insert(name.to_owned(), Value::String(value));
        };
        header("accept", "application/json".into());
        header(
            "host",
            "k3x9v2a1b0.execute-api.eu-west-1.amazonaws.com".into(),
        );
        header("user-agent", "curl/8.5.0".into());
        header("x-forwarded-for", "203.0.113.7".into());
        header("x-forwarded-port", "443".into());
        header("x-forwarded-proto", "https".into());
        if let Some(trace) = &context.xray_trace_id {
            header("x-amzn-trace-id", trace.clone());
        }
        if let Some(body) = self.body {
            header("content-type", "application/json".into());
            header("content-length", body.len().to_string());
        }
        let raw_query = self
            .query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let query: Map<String, Value> = self
            .query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect();
        let path_parameters = self
            .path_parameters
            .as_ref()
            .map_or(Value::Null, |(k, v)| json!({ *k: v }));
        let route_key = format!("{} {}", self.method, self.route);
        let now = chrono::Utc::now();
        let event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": self.path,
            "rawQueryString": raw_query,
            "headers": headers,
            "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
            "pathParameters": path_parameters,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "k3x9v2a1b0",
                "domainName": "k3x9v2a1b0.execute-api.eu-west-1.amazonaws.com",
                "domainPrefix": "k3x9v2a1b0",
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.7",
                    "userAgent": "curl/8.5.0",
                },
                "requestId": request_id,
                "routeKey": route_key,
                "stage": "$default",
                "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
                "timeEpoch": now.timestamp_millis(),
            },
            "body": self.body,
            "isBase64Encoded": false,
        });
        let lambda_request: LambdaRequest =
            serde_json::from_value(event).expect("an HTTP API payload 2.0 event");
        Request::from(lambda_request).with_lambda_context(context)
    }
}

/// `count` published orders a second apart, ending now; every fifth stays `PENDING`, the
/// rest are `CONFIRMED`, as a store a processor keeps up with looks.
fn seed(store: &MemoryOrderStore, count: i64) -> Vec<Order> {
    let now = chrono::Utc::now();
    (0..count)
        .map(|i| {
            let order = conformance::sample_order(now - chrono::Duration::seconds(count - i));
            ready(store.create(&order, None)).expect("seed an order");
            ready(store.mark_published(order.id)).expect("mark it published");
            if i % 5 == 0 {
                return order;
            }
            let moved = ready(store.transition(&conformance::from_pending(
                order.id,
                OrderStatus::Confirmed,
                None,
                now,
            )));
            match moved.expect("confirm a seeded order") {
                Transition::Applied(o) => o,
                other => panic!("seeding: {other:?}"),
            }
        })
        .collect()
}

/// A new `PENDING` order, written and published as create-order leaves it.
fn pending_order(store: &MemoryOrderStore, age: chrono::Duration, published: bool) -> Order {
    let order = conformance::sample_order(chrono::Utc::now() - age);
    ready(store.create(&order, None)).expect("write a pending order");
    if published {
        ready(store.mark_published(order.id)).expect("mark it published");
    }
    order
}

/// Drops everything the benches wrote once it passes [`CAP`], keeping what `keep` accepts.
fn bound(store: &MemoryOrderStore, queue: &MemoryOrderQueue, keep: impl FnMut(&Order) -> bool) {
    if store.len().expect("count orders") >= CAP {
        store.retain(keep).expect("trim the store");
    }
    if queue.len().expect("count messages") >= CAP {
        queue.drain().expect("drain the queue");
    }
}

/// An SQS event with one record announcing `order`, as the event source mapping delivers it
/// (the `OrderCreated` body and the `correlationId` attribute create-order sends).
fn sqs_event(order: &Order) -> SqsEvent {
    let correlation_id = api_request_id();
    let body = serde_json::to_string(&OrderCreated {
        order_id: order.id,
        created_at: order.created_at,
        correlation_id: Some(correlation_id.clone()),
    })
    .expect("an OrderCreated body");
    let sent = order.created_at.timestamp_millis().to_string();
    let event = json!({
        "Records": [{
            "messageId": Uuid::new_v4().to_string(),
            "receiptHandle": format!("AQEB{}", Uuid::new_v4().simple()),
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": sent,
                "SenderId": "AROAEXAMPLE:create-order",
                "ApproximateFirstReceiveTimestamp": sent,
            },
            "messageAttributes": {
                "correlationId": {
                    "stringValue": correlation_id,
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "String",
                }
            },
            "md5OfBody": "0123456789abcdef0123456789abcdef",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders",
            "awsRegion": "eu-west-1",
        }]
    });
    serde_json::from_value(event).expect("an SQS event")
}

fn group_name(function: Function) -> String {
    format!("warm/{}", function.name())
}

fn status_is(expected: StatusCode) -> impl Fn(&Response<Body>) {
    move |response| {
        assert_eq!(
            response.status(),
            expected,
            "unexpected answer: {:?}",
            response.body()
        );
    }
}

// ---- the six functions -----------------------------------------------------------------

/// The four HTTP functions: `handle` is the handler's `handle`, called directly (bare) or
/// inside the main's wrapping (telemetry).
fn http_function<F: Future<Output = Response<Body>>>(
    c: &mut Criterion,
    variant: Variant,
    function: Function,
    setup: &mut dyn FnMut() -> Request,
    check: &dyn Fn(&Response<Body>),
    handle: impl Fn(Request) -> F,
) {
    let rt = runtime();
    let mut group = c.benchmark_group(group_name(function));
    let bench = Bench {
        group: &mut group,
        rt: &rt,
        batch: BatchSize::SmallInput,
        setup,
        check,
    };
    match variant {
        Variant::Bare => bench.bare(&handle),
        Variant::Telemetry(metrics) => {
            let telemetry = Telemetry::new(metrics);
            // Health logs nothing on its healthy path; the others log on theirs.
            let logs_expected = function != Function::Health;
            bench.telemetry(&telemetry, function, logs_expected, |req| {
                telemetry.http(req, &handle)
            });
        }
    }
    group.finish();
}

/// POST /orders with a valid body and no Idempotency-Key: each call writes a new order,
/// publishes it and clears its marker.
fn create_order(c: &mut Criterion, variant: Variant) {
    let function = Function::CreateOrder;
    let store = Arc::new(MemoryOrderStore::new());
    let queue = Arc::new(MemoryOrderQueue::new());
    let handler = CreateOrder::new(store.clone(), queue.clone(), Arc::new(SystemClock));
    let config = lambda_config(function);
    let body = r#"{"customerName": "Ada Lovelace", "items": [{"sku": "BOOK-42", "qty": 3, "price": 0.10}, {"sku": "PEN-7", "qty": 1, "price": 0.20}, {"sku": "INK-3", "qty": 2, "price": 12.50}]}"#;
    let call = HttpCall {
        config: &config,
        function,
        method: "POST",
        route: "/orders",
        path: "/orders".into(),
        query: &[],
        path_parameters: None,
        body: Some(body),
    };
    let mut setup = || {
        bound(&store, &queue, |_| false);
        call.request()
    };
    let check = status_is(StatusCode::CREATED);
    http_function(c, variant, function, &mut setup, &check, |req| {
        handler.handle(req)
    });
}

/// GET /orders/{id} of an existing order, in a store of 50.
fn get_order(c: &mut Criterion, variant: Variant) {
    let function = Function::GetOrder;
    let store = Arc::new(MemoryOrderStore::new());
    let id = seed(&store, 50)[21].id;
    let handler = GetOrder::new(store.clone());
    let config = lambda_config(function);
    let call = HttpCall {
        config: &config,
        function,
        method: "GET",
        route: "/orders/{id}",
        path: format!("/orders/{id}"),
        query: &[],
        path_parameters: Some(("id", id.to_string())),
        body: None,
    };
    let mut setup = || call.request();
    let check = status_is(StatusCode::OK);
    http_function(c, variant, function, &mut setup, &check, |req| {
        handler.handle(req)
    });
}

/// GET /orders?status=CONFIRMED&limit=20: the first page of the status index (40 of the 50
/// orders are confirmed), so it also signs a nextToken.
fn list_orders(c: &mut Criterion, variant: Variant) {
    let function = Function::ListOrders;
    let store = Arc::new(MemoryOrderStore::new());
    seed(&store, 50);
    let tokens = PageTokens::new(b"bench-page-token-key-0123456789abcdef".to_vec())
        .expect("a page token key");
    let handler = ListOrders::new(store.clone(), tokens);
    let config = lambda_config(function);
    let call = HttpCall {
        config: &config,
        function,
        method: "GET",
        route: "/orders",
        path: "/orders".into(),
        query: &[("status", "CONFIRMED"), ("limit", "20")],
        path_parameters: None,
        body: None,
    };
    let mut setup = || call.request();
    let check = |response: &Response<Body>| {
        status_is(StatusCode::OK)(response);
        let page: Value = serde_json::from_slice(response.body().as_ref()).expect("a JSON page");
        assert_eq!(page["count"], 20, "a full page: {page}");
        assert!(page["nextToken"].is_string(), "a nextToken: {page}");
    };
    http_function(c, variant, function, &mut setup, &check, |req| {
        handler.handle(req)
    });
}

/// GET /health: a ping of the store and of the queue.
fn health(c: &mut Criterion, variant: Variant) {
    let function = Function::Health;
    let store = Arc::new(MemoryOrderStore::new());
    seed(&store, 50);
    let handler = Health::new(store.clone(), Arc::new(MemoryOrderQueue::new()));
    let config = lambda_config(function);
    let call = HttpCall {
        config: &config,
        function,
        method: "GET",
        route: "/health",
        path: "/health".into(),
        query: &[],
        path_parameters: None,
        body: None,
    };
    let mut setup = || call.request();
    let check = status_is(StatusCode::OK);
    http_function(c, variant, function, &mut setup, &check, |req| {
        handler.handle(req)
    });
}

/// One SQS record per call, for a `PENDING` order that setup wrote just before: every
/// measured call reads the order and does the real PENDING → CONFIRMED transition.
fn order_processor(c: &mut Criterion, variant: Variant) {
    let function = Function::OrderProcessor;
    // No seeded orders: the processor only reads and updates its own, so the store holds
    // just the ones setup prepares, and none may be left pending at the end.
    let store = Arc::new(MemoryOrderStore::new());
    let queue = MemoryOrderQueue::new();
    let handler = ProcessOrders::new(store.clone(), Arc::new(SystemClock));
    let config = lambda_config(function);
    let last = Cell::new(Uuid::nil());
    let mut prepare = || {
        // Processed orders may go; the pending ones this batch prepared must stay.
        bound(&store, &queue, |o| o.status == OrderStatus::Pending);
        let order = pending_order(&store, chrono::Duration::milliseconds(80), true);
        last.set(order.id);
        let context = lambda_context(&config, function);
        let deadline = Instant::now() + function.timeout();
        (sqs_event(&order), context, deadline)
    };
    let check = |response: &SqsBatchResponse| {
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
        let order = ready(store.get(last.get())).expect("read the order");
        let status = order.map(|o| o.status);
        assert_eq!(status, Some(OrderStatus::Confirmed), "the order was moved");
    };
    let rt = runtime();
    let mut group = c.benchmark_group(group_name(function));
    match variant {
        Variant::Bare => {
            let mut setup = || {
                let (event, _context, deadline) = prepare();
                (event, deadline)
            };
            let bench = Bench {
                group: &mut group,
                rt: &rt,
                batch: BatchSize::SmallInput,
                setup: &mut setup,
                check: &check,
            };
            bench.bare(|(event, _deadline)| handler.handle(event));
        }
        Variant::Telemetry(metrics) => {
            let telemetry = Telemetry::new(metrics);
            let bench = Bench {
                group: &mut group,
                rt: &rt,
                batch: BatchSize::SmallInput,
                setup: &mut prepare,
                check: &check,
            };
            let telemetry = &telemetry;
            let handler = &handler;
            bench.telemetry(
                telemetry,
                function,
                true,
                |(event, context, _deadline): (SqsEvent, Context, Instant)| async move {
                    let handled = handler.handle(event);
                    telemetry.event(&context, handled).await
                },
            );
        }
    }
    group.finish();
    // Every prepared order went through the transition: none is left pending.
    let pending = ready(store.list(&ListQuery {
        status: Some(OrderStatus::Pending),
        limit: 1,
        sort: SortOrder::Asc,
        cursor: None,
    }))
    .expect("list pending orders");
    assert!(
        pending.orders.is_empty(),
        "an order prepared for the processor is still pending"
    );
}

/// The scheduled sweep finding one unpublished order past the grace period: it publishes it
/// and clears its marker (the path that does work; an idle sweep is one empty query).
/// PerIteration, since a batch's setup would otherwise leave all its orders to the first call.
fn order_sweeper(c: &mut Criterion, variant: Variant) {
    let function = Function::OrderSweeper;
    let store = Arc::new(MemoryOrderStore::new());
    let queue = Arc::new(MemoryOrderQueue::new());
    let handler = Sweeper::new(store.clone(), queue.clone(), Arc::new(SystemClock), SWEEPER);
    let config = lambda_config(function);
    let mut prepare = || {
        bound(&store, &queue, |_| false);
        let age = chrono::Duration::from_std(SWEEPER.grace * 2).expect("a grace period");
        pending_order(&store, age, false);
        lambda_context(&config, function)
    };
    let check = |result: &Result<SweepReport, DependencyError>| {
        let report = result.as_ref().expect("a sweep");
        assert_eq!((report.found, report.published), (1, 1), "{report:?}");
    };
    let rt = runtime();
    let mut group = c.benchmark_group(group_name(function));
    match variant {
        Variant::Bare => {
            let mut setup = || {
                prepare();
            };
            let bench = Bench {
                group: &mut group,
                rt: &rt,
                batch: BatchSize::PerIteration,
                setup: &mut setup,
                check: &check,
            };
            bench.bare(|()| handler.handle());
        }
        Variant::Telemetry(metrics) => {
            let telemetry = Telemetry::new(metrics);
            let bench = Bench {
                group: &mut group,
                rt: &rt,
                batch: BatchSize::PerIteration,
                setup: &mut prepare,
                check: &check,
            };
            let telemetry = &telemetry;
            let handler = &handler;
            bench.telemetry(telemetry, function, true, |context: Context| async move {
                telemetry.event(&context, handler.handle()).await
            });
        }
    }
    group.finish();
    let left = ready(store.unpublished(chrono::Utc::now(), 1)).expect("query unpublished");
    assert!(left.is_empty(), "the sweeper left an order unpublished");
}

const FUNCTIONS: [fn(&mut Criterion, Variant); 6] = [
    create_order,
    get_order,
    list_orders,
    health,
    order_processor,
    order_sweeper,
];

/// Phase 1: every `bare` benchmark, before any recorder exists.
fn bare(c: &mut Criterion) {
    for bench in FUNCTIONS {
        bench(c, Variant::Bare);
    }
}

/// Phase 2: the Lambda EMF backend (`telemetry::metrics::init_lambda`, as each main calls
/// it), then every `telemetry` benchmark.
fn with_telemetry(c: &mut Criterion) {
    let metrics = telemetry::metrics::init_lambda(SERVICE, ENVIRONMENT)
        .expect("install the EMF recorder (once per process)");
    RECORDER_INSTALLED.store(true, Ordering::SeqCst);
    for bench in FUNCTIONS {
        bench(c, Variant::Telemetry(metrics));
    }
}

criterion_group! {
    name = warm;
    // About a minute for all twelve on 2 cores.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bare, with_telemetry
}
criterion_main!(warm);
