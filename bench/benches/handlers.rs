//! Warm invocation cost of each function's handler, so the telemetry overhead is a number.
//!
//! One criterion group per function, `warm/<function>`, with three benchmarks over the
//! in-memory ports (`order_bench::memory`, so neither SQLite nor a network is measured):
//!
//! Each function is built by `order_functions` (the builders the Lambda mains and the local
//! stack use, chaos disarmed), and each benchmark is one call of it:
//!
//! - `bare`: the function alone, with no tracing subscriber and no metrics recorder in the
//!   process, so every `tracing` and `metrics` macro is a no-op.
//! - `telemetry`: the same call through the Lambda invocation path
//!   (`order_functions::invocation`, as `order_functions::lambda` serves it): the JSON log
//!   layer `telemetry::logs::init_lambda` installs, the invocation span, and the EMF flush of
//!   `LambdaMetrics::invocation` after each call, with the log lines and EMF documents written
//!   to `io::sink()` instead of stdout (their bytes are counted, and checked to be non-zero
//!   before measuring, so the variant cannot silently measure nothing). The API functions go
//!   through `order_functions::lambda::http_invocation`, so their SERVER span is included.
//! - `traces`: the same, on a sampled invocation (`Sampled=1` in the trace header) with the
//!   OpenTelemetry layer a Lambda main installs (`telemetry::logs::subscriber`), and after
//!   each call the flush a Lambda does before asking for the next event: the spans encoded as
//!   OTLP protobuf by the real exporter (`telemetry::trace::otlp::Otlp`) and handed to an HTTP
//!   client that counts the bytes and answers 200 without a network (checked non-zero).
//!
//! The Lambda EMF backend is a process-global recorder that cannot be removed once installed,
//! so every `bare` benchmark runs first (phase 1) and the recorder is installed only for the
//! `telemetry` and `traces` ones (phases 2 and 3). The log subscriber is set per benchmark on
//! the bench thread only.
//!
//! Criterion writes `$CARGO_TARGET_DIR/criterion/warm_<function>/<bare|telemetry|traces>/new/estimates.json`
//! (the `/` of a group name becomes `_`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chaos::Chaos;
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
use http::StatusCode;
use lambda_http::lambda_runtime::Config;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Context, Request, RequestExt, Response};
use order_bench::memory::{MemoryOrderQueue, MemoryOrderStore};
use order_functions::build::KeySourceError;
use order_functions::{Emf, PageKeySource, Ports, invocation};
use orders::domain::{Order, OrderStatus};
use orders::handlers::PublishReport;
use orders::ports::{
    ListQuery, OrderCreated, OrderStore, OutboxEntry, SortOrder, SystemClock, Transition,
};
use orders::settings::Function;
use serde_json::{Map, Value, json};
use std::cell::Cell;
use std::future::Future;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use telemetry::catalogue::SERVICE_NAME;
use telemetry::logs::{JsonLayer, LogRecord, LogSink};
use telemetry::metrics::LambdaMetrics;
use telemetry::trace::Tracing;
use tokio::runtime::Runtime;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

/// The `Environment` EMF dimension.
const ENVIRONMENT: &str = "bench";
/// Orders (and queued messages) a bench keeps before its setup clears them, so millions of
/// iterations neither grow memory without bound nor make the maps ever slower.
const CAP: usize = 4_096;

// ---- the three variants ----------------------------------------------------------------

#[derive(Clone, Copy)]
enum Variant {
    Bare,
    Telemetry(&'static LambdaMetrics),
    Traces(&'static LambdaMetrics),
}

/// Set when phase 2 installs the global EMF recorder; phase 1 asserts it is not.
static RECORDER_INSTALLED: AtomicBool = AtomicBool::new(false);
/// Set by phase 3: the Lambda contexts made from then on are sampled for tracing.
static SAMPLED: AtomicBool = AtomicBool::new(false);

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

/// The OTLP exporter's HTTP client, without a network: counts the bytes of each request it
/// is given and answers 200 with an empty `ExportTraceServiceResponse`.
#[derive(Debug, Clone, Default)]
struct DiscardOtlp(Arc<AtomicU64>);

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for DiscardOtlp {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let n = u64::try_from(request.body().len()).unwrap_or(u64::MAX);
        self.0.fetch_add(n, Ordering::Relaxed);
        Ok(http::Response::builder()
            .status(200)
            .header("content-type", "application/x-protobuf")
            .body(bytes::Bytes::new())?)
    }
}

/// What a Lambda main wires around its handler.
struct Telemetry {
    dispatch: tracing::Dispatch,
    metrics: &'static LambdaMetrics,
    logs: Written,
    emf: Written,
    /// With tracing on: the tracer, and the OTLP bytes its flushes produced.
    tracing: Option<(Tracing, DiscardOtlp)>,
}

impl Telemetry {
    /// The subscriber `telemetry::logs::init_lambda` installs (registry, JSON layer behind
    /// its level filter, and with `traced` the tracer's layer), with the level fixed at INFO,
    /// Lambda's default, rather than read from the environment, so a stray RUST_LOG cannot
    /// change the numbers. Leaked: the benches' closures hold it for the process's life.
    fn new(metrics: &'static LambdaMetrics, traced: bool) -> &'static Self {
        let logs = Written::default();
        let tracing = traced.then(|| {
            let resource = telemetry::trace::resource("bench", vec![]);
            let client = DiscardOtlp::default();
            let otlp = telemetry::trace::otlp::Otlp::new(
                "http://127.0.0.1:4318/v1/traces",
                client.clone(),
                &resource,
            )
            .expect("an OTLP exporter");
            (Tracing::new(resource, vec![Box::new(otlp)]), client)
        });
        let subscriber = telemetry::logs::subscriber(
            JsonLayer::new(SERVICE_NAME, LogBytes(logs.clone())),
            EnvFilter::new("info"),
            tracing.as_ref().map(|(t, _)| t),
        );
        Box::leak(Box::new(Telemetry {
            dispatch: tracing::Dispatch::new(subscriber),
            metrics,
            logs,
            emf: Written::default(),
            tracing,
        }))
    }

    /// What a Lambda does after posting the answer: export the invocation's spans.
    async fn flush(&self) {
        if let Some((tracing, _)) = &self.tracing {
            tracing.flush().await;
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

    /// One invocation through the Lambda invocation path, with this flusher.
    async fn run<F: Future>(&self, function: Function, context: Context, call: F) -> F::Output {
        let facts = order_functions::lambda::facts(&context, function.trigger());
        invocation::run(&facts, self, call).await
    }

    /// Fails the bench when the wrapped call wrote no EMF document, no log line although
    /// the handler logs on this path (health logs nothing when healthy), or, traced, no span.
    fn assert_emitted(&self, function: Function, logs_expected: bool) {
        let name = function.name();
        assert!(self.emf.get() > 0, "{name}: no EMF document was written");
        if logs_expected {
            assert!(self.logs.get() > 0, "{name}: no log line was written");
        }
        if let Some((tracing, otlp)) = &self.tracing {
            assert!(
                otlp.0.load(Ordering::Relaxed) > 0,
                "{name}: no span was exported"
            );
            assert_eq!(tracing.dropped(), 0, "{name}: spans were dropped");
        }
    }
}

/// `LambdaMetrics::invocation` line for line (its public halves `begin` and `finish`),
/// writing the documents to the sink instead of stdout.
impl Emf for &Telemetry {
    async fn scope<F: Future>(self, request_id: &str, call: F) -> F::Output {
        self.metrics.begin(request_id);
        let output = call.await;
        match self.metrics.finish() {
            Ok(lines) => self.emf.lines(lines.iter().map(String::as_str)),
            Err(e) => tracing::error!(error = %e, "EMF metrics of this invocation are lost"),
        }
        output
    }
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

    /// `name` is `telemetry` or `traces`.
    fn telemetry<F: Future<Output = O>>(
        self,
        name: &str,
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
            group.bench_function(name, |b| {
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
        "Root=1-{:08x}-{};Parent={};Sampled={}",
        deadline_ms / 1000 % 0x1_0000_0000,
        &Uuid::new_v4().simple().to_string()[..24],
        &Uuid::new_v4().simple().to_string()[..16],
        u8::from(SAMPLED.load(Ordering::Relaxed)),
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
    config: Arc<Config>,
    function: Function,
    method: &'static str,
    route: &'static str,
    path: String,
    query: &'a [(&'static str, &'static str)],
    path_parameters: Option<(&'static str, String)>,
    body: Option<&'a str>,
}

impl HttpCall<'_> {
    /// A call of `function` on `method route` at `path`, without query, parameters or body.
    fn new(function: Function, method: &'static str, route: &'static str, path: String) -> Self {
        HttpCall {
            config: lambda_config(function),
            function,
            method,
            route,
            path,
            query: &[],
            path_parameters: None,
            body: None,
        }
    }

    fn request(&self) -> Request {
        let context = lambda_context(&self.config, self.function);
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
            ready(store.create(&order, None, "bench")).expect("seed an order");
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

/// A new `PENDING` order, written as create-order leaves it.
fn pending_order(store: &MemoryOrderStore, age: chrono::Duration) -> Order {
    let order = conformance::sample_order(chrono::Utc::now() - age);
    ready(store.create(&order, None, "bench")).expect("write a pending order");
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

/// The page token key list-orders reads at init.
struct BenchKey;

#[async_trait::async_trait]
impl PageKeySource for BenchKey {
    async fn page_key(&self) -> Result<Vec<u8>, KeySourceError> {
        Ok(b"bench-page-token-key-0123456789abcdef".to_vec())
    }
}

/// The ports every function is built from: the in-memory store and queue, chaos disarmed.
/// An empty store and queue, for a bench whose calls write to both.
fn memory() -> (Arc<MemoryOrderStore>, Arc<MemoryOrderQueue>) {
    (
        Arc::new(MemoryOrderStore::new()),
        Arc::new(MemoryOrderQueue::new()),
    )
}

fn ports(store: &Arc<MemoryOrderStore>, queue: &Arc<MemoryOrderQueue>) -> Ports {
    let clock = Arc::new(SystemClock);
    Ports {
        store: store.clone(),
        queue: queue.clone(),
        clock: clock.clone(),
        chaos: Arc::new(Chaos::disarmed(clock)),
        page_key: Arc::new(BenchKey),
    }
}

/// One function's group: `prepare` makes each call's input and its Lambda context outside
/// the timing; `handle` is the built function's call, timed alone (bare), and `instrumented`
/// the same call through the Lambda invocation path (telemetry, traces; traced, the spans
/// are flushed after each call, inside the timing).
fn function_bench<I, O, F: Future<Output = O>, G: Future<Output = O>>(
    c: &mut Criterion,
    variant: Variant,
    function: Function,
    batch: BatchSize,
    prepare: &mut dyn FnMut() -> (I, Context),
    check: &dyn Fn(&O),
    (handle, instrumented): (
        impl Fn(I) -> F,
        impl Fn(&'static Telemetry, I, Context) -> G,
    ),
) {
    let rt = runtime();
    let mut group = c.benchmark_group(group_name(function));
    match variant {
        Variant::Bare => {
            let mut setup = || prepare().0;
            let bench = Bench {
                group: &mut group,
                rt: &rt,
                batch,
                setup: &mut setup,
                check,
            };
            bench.bare(&handle);
        }
        Variant::Telemetry(metrics) | Variant::Traces(metrics) => {
            let traced = matches!(variant, Variant::Traces(_));
            let telemetry = Telemetry::new(metrics, traced);
            let bench = Bench {
                group: &mut group,
                rt: &rt,
                batch,
                setup: prepare,
                check,
            };
            // Health logs nothing on its healthy path; the others log on theirs.
            let logs_expected = function != Function::Health;
            let name = if traced { "traces" } else { "telemetry" };
            bench.telemetry(
                name,
                telemetry,
                function,
                logs_expected,
                |(input, context)| {
                    let call = instrumented(telemetry, input, context);
                    async move {
                        let output = call.await;
                        telemetry.flush().await;
                        output
                    }
                },
            );
        }
    }
    group.finish();
}

/// An event function (SQS, schedule): its call through the invocation path is the one
/// `order_functions::lambda::serve_events` makes.
fn event_function<I, O, F: Future<Output = O>>(
    c: &mut Criterion,
    variant: Variant,
    function: Function,
    batch: BatchSize,
    prepare: &mut dyn FnMut() -> (I, Context),
    check: &dyn Fn(&O),
    handle: impl Fn(I) -> F + Copy,
) {
    let instrumented = move |telemetry: &'static Telemetry, input: I, context: Context| {
        telemetry.run(function, context, handle(input))
    };
    function_bench(
        c,
        variant,
        function,
        batch,
        prepare,
        check,
        (handle, instrumented),
    );
}

/// An HTTP function built from `ports`, called with the requests of `call`; `before` runs
/// ahead of each request's setup.
fn http_function(
    c: &mut Criterion,
    variant: Variant,
    ports: &Ports,
    call: &HttpCall,
    before: &mut dyn FnMut(),
    check: &dyn Fn(&Response<Body>),
) {
    let built = ready(ports.http(call.function)).expect("build the HTTP function");
    let mut prepare = || {
        before();
        let req = call.request();
        let context = req.lambda_context();
        (req, context)
    };
    let handle = |req: Request| built.clone().call(req);
    let instrumented = |telemetry: &'static Telemetry, req: Request, _: Context| {
        order_functions::lambda::http_invocation(built.clone(), req, telemetry)
    };
    let batch = BatchSize::SmallInput;
    function_bench(
        c,
        variant,
        call.function,
        batch,
        &mut prepare,
        check,
        (handle, instrumented),
    );
}

/// POST /orders with a valid body and no Idempotency-Key: each call writes a new order,
/// publishes it and clears its marker.
fn create_order(c: &mut Criterion, variant: Variant) {
    let (store, queue) = memory();
    let body = r#"{"customerName": "Ada Lovelace", "items": [{"sku": "BOOK-42", "qty": 3, "price": 0.10}, {"sku": "PEN-7", "qty": 1, "price": 0.20}, {"sku": "INK-3", "qty": 2, "price": 12.50}]}"#;
    let call = HttpCall {
        body: Some(body),
        ..HttpCall::new(Function::CreateOrder, "POST", "/orders", "/orders".into())
    };
    let mut before = || bound(&store, &queue, |_| false);
    let check = status_is(StatusCode::CREATED);
    http_function(
        c,
        variant,
        &ports(&store, &queue),
        &call,
        &mut before,
        &check,
    );
}

/// GET /orders/{id} of an existing order, in a store of 50.
fn get_order(c: &mut Criterion, variant: Variant) {
    let store = Arc::new(MemoryOrderStore::new());
    let id = seed(&store, 50)[21].id;
    let call = HttpCall {
        path_parameters: Some(("id", id.to_string())),
        ..HttpCall::new(
            Function::GetOrder,
            "GET",
            "/orders/{id}",
            format!("/orders/{id}"),
        )
    };
    let check = status_is(StatusCode::OK);
    let ports = ports(&store, &Arc::new(MemoryOrderQueue::new()));
    http_function(c, variant, &ports, &call, &mut || {}, &check);
}

/// GET /orders?status=CONFIRMED&limit=20: the first page of the status index (40 of the 50
/// orders are confirmed), so it also signs a nextToken.
fn list_orders(c: &mut Criterion, variant: Variant) {
    let store = Arc::new(MemoryOrderStore::new());
    seed(&store, 50);
    let call = HttpCall {
        query: &[("status", "CONFIRMED"), ("limit", "20")],
        ..HttpCall::new(Function::ListOrders, "GET", "/orders", "/orders".into())
    };
    let check = |response: &Response<Body>| {
        status_is(StatusCode::OK)(response);
        let page: Value = serde_json::from_slice(response.body().as_ref()).expect("a JSON page");
        assert_eq!(page["count"], 20, "a full page: {page}");
        assert!(page["nextToken"].is_string(), "a nextToken: {page}");
    };
    let ports = ports(&store, &Arc::new(MemoryOrderQueue::new()));
    http_function(c, variant, &ports, &call, &mut || {}, &check);
}

/// GET /health: a ping of the store and of the queue.
fn health(c: &mut Criterion, variant: Variant) {
    let store = Arc::new(MemoryOrderStore::new());
    seed(&store, 50);
    let call = HttpCall::new(Function::Health, "GET", "/health", "/health".into());
    let check = status_is(StatusCode::OK);
    let ports = ports(&store, &Arc::new(MemoryOrderQueue::new()));
    http_function(c, variant, &ports, &call, &mut || {}, &check);
}

/// One SQS record per call, for a `PENDING` order that setup wrote just before: every
/// measured call reads the order and does the real PENDING → CONFIRMED transition.
fn order_processor(c: &mut Criterion, variant: Variant) {
    let function = Function::OrderProcessor;
    // No seeded orders: the processor only reads and updates its own, so the store holds
    // just the ones setup prepares, and none may be left pending at the end.
    let (store, queue) = memory();
    let processor = ports(&store, &queue).order_processor();
    let config = lambda_config(function);
    let last = Cell::new(Uuid::nil());
    let mut prepare = || {
        // Processed orders may go; the pending ones this batch prepared must stay.
        bound(&store, &queue, |o| o.status == OrderStatus::Pending);
        let order = pending_order(&store, chrono::Duration::milliseconds(80));
        last.set(order.id);
        let deadline = Instant::now() + function.timeout();
        (
            (sqs_event(&order), deadline),
            lambda_context(&config, function),
        )
    };
    let check = |handled: &Result<SqsBatchResponse, chaos::InjectedFault>| {
        let response = handled.as_ref().expect("chaos is disarmed: no batch fails");
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
        let order = ready(store.get(last.get())).expect("read the order");
        let status = order.map(|o| o.status);
        assert_eq!(status, Some(OrderStatus::Confirmed), "the order was moved");
    };
    let handle = |(event, deadline): (SqsEvent, Instant)| processor.handle(event, deadline);
    let batch = BatchSize::SmallInput;
    event_function(c, variant, function, batch, &mut prepare, &check, handle);
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

/// The publisher handed one new order, as the stream's event source mapping hands it a batch
/// of one record: it sends the order's message.
fn order_publisher(c: &mut Criterion, variant: Variant) {
    let function = Function::OrderPublisher;
    let (store, queue) = memory();
    let publisher = ports(&store, &queue).order_publisher();
    let config = lambda_config(function);
    let mut sequence = 0u64;
    let mut prepare = || {
        bound(&store, &queue, |_| false);
        sequence += 1;
        let entry = OutboxEntry {
            sequence: sequence.to_string(),
            order: conformance::sample_order(chrono::Utc::now()),
            correlation_id: Some("bench".to_owned()),
            created_in: telemetry::trace::Carrier::default(),
        };
        (vec![entry], lambda_context(&config, function))
    };
    let check = |report: &PublishReport| {
        assert_eq!(
            (report.published, report.failed.len()),
            (1, 0),
            "{report:?}"
        );
    };
    let handle = |entries| {
        let deadline = std::time::Instant::now() + orders::settings::PUBLISHER_TIMEOUT;
        publisher.handle(entries, deadline)
    };
    event_function(
        c,
        variant,
        function,
        BatchSize::SmallInput,
        &mut prepare,
        &check,
        handle,
    );
}

/// Each function's bench, over `orders::settings::Function`'s one list.
fn bench(c: &mut Criterion, variant: Variant, function: Function) {
    match function {
        Function::CreateOrder => create_order(c, variant),
        Function::GetOrder => get_order(c, variant),
        Function::ListOrders => list_orders(c, variant),
        Function::Health => health(c, variant),
        Function::OrderProcessor => order_processor(c, variant),
        Function::OrderPublisher => order_publisher(c, variant),
    }
}

/// Phase 1: every `bare` benchmark, before any recorder exists.
fn bare(c: &mut Criterion) {
    for function in Function::ALL {
        bench(c, Variant::Bare, function);
    }
}

/// Phase 2: the Lambda EMF backend (`telemetry::metrics::init_lambda`, as each main calls
/// it), then every `telemetry` benchmark; phase 3: every `traces` one, on sampled
/// invocations.
fn with_telemetry(c: &mut Criterion) {
    let metrics = telemetry::metrics::init_lambda(SERVICE_NAME, ENVIRONMENT)
        .expect("install the EMF recorder (once per process)");
    RECORDER_INSTALLED.store(true, Ordering::SeqCst);
    for function in Function::ALL {
        bench(c, Variant::Telemetry(metrics), function);
    }
    SAMPLED.store(true, Ordering::SeqCst);
    for function in Function::ALL {
        bench(c, Variant::Traces(metrics), function);
    }
}

criterion_group! {
    name = warm;
    // About a minute and a half for all eighteen on 2 cores.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bare, with_telemetry
}
criterion_main!(warm);
