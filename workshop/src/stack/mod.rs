//! `workshop up`: the local stack. One process emulating API Gateway, Lambda, SQS and the
//! table's stream around the same handlers the Lambda binaries run, on SQLite files in the
//! data dir, so a killed process loses nothing and picks up where it stopped.

pub mod apigw;
pub mod backend;
pub mod chaos;
pub mod cloudwatch;
pub mod console;
pub mod lambda;
pub mod sqs;
pub mod streams;
pub mod xray;

use crate::data_dir::DataDir;
use backend::{Backend, BackendError};
use cloudwatch::{alarm_loop, service_metrics};
use console::control;
use lambda::functions::{Dependencies, Functions, Limits};
use orders::pagination::PageTokens;
use orders::ports::{Clock, SystemClock};
use orders::settings::{PUBLISHER, PublisherSettings, QUEUE, QueueSettings};
use sqs::event_source::EventSource;
use std::net::SocketAddr;
use std::sync::Arc;
use streams::source::StreamSource;
use tokio::sync::watch;
use tracing::info;

#[derive(Debug, Clone)]
pub struct StackOptions {
    pub addr: SocketAddr,
    /// The control plane (and console) address; loopback.
    pub console_addr: SocketAddr,
    pub data_dir: DataDir,
    pub limits: Limits,
    pub queue: QueueSettings,
    pub publisher: PublisherSettings,
    pub backend: Backend,
    /// Where the functions' EMF datapoints land (the dashboards and alarms read it).
    pub metrics: Arc<cloudwatch::metric_store::MetricStore>,
    /// The alarms the stack evaluates against its metric store.
    pub alarms: Vec<alarms::Alarm>,
    /// The chaos flags (`CHAOS_*`); disarmed unless `--chaos-armed` or `CHAOS_ARMED=true`.
    pub chaos: ::chaos::Settings,
    /// The span store the installed tracer writes to; the stack opens the data dir's when
    /// `None`.
    pub spans: Option<xray::store::SpanStore>,
    /// The data dir's lock, when the caller took it before anything else (`workshop up`);
    /// the stack takes it itself when `None`.
    pub lock: Option<Arc<crate::data_dir::StackLock>>,
    /// The names besides loopback the control plane answers to (`--allow-host`).
    pub allowed_hosts: Vec<console::guard::AllowedHost>,
}

impl StackOptions {
    pub fn new(addr: SocketAddr, data_dir: DataDir) -> Self {
        StackOptions {
            addr,
            console_addr: SocketAddr::new(addr.ip(), 0),
            data_dir,
            limits: Limits::default(),
            queue: QUEUE,
            publisher: PUBLISHER,
            backend: Backend::Local,
            metrics: Arc::default(),
            alarms: Vec::new(),
            chaos: ::chaos::Settings::default(),
            spans: None,
            lock: None,
            allowed_hosts: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(
        "cannot listen on {addr}: {source} (is another program using it? pass {flag} to pick another port)"
    )]
    Bind {
        addr: SocketAddr,
        /// The flag that sets this address's port.
        flag: &'static str,
        source: std::io::Error,
    },
    #[error(transparent)]
    Data(#[from] crate::data_dir::DataDirError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("the alarm set is invalid: {0}")]
    Alarms(#[from] alarms::AlarmError),
    #[error(transparent)]
    Chaos(#[from] chaos::ChaosControlError),
    #[error(transparent)]
    Spans(#[from] xray::store::SpanStoreError),
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// What the stack runs: the functions over their adapters, the alarm evaluator and chaos.
struct Parts {
    functions: Functions,
    consumer: Arc<dyn sqs::event_source::Consumer>,
    outbox: Option<Arc<dyn orders::ports::Outbox>>,
    clock: Arc<dyn Clock>,
    local_queue: Option<Arc<orders_sqlite::SqliteQueue>>,
    describe: String,
    alarms: Arc<alarm_loop::LocalAlarms>,
    chaos: Arc<chaos::LocalChaos>,
}

async fn assemble(opts: &StackOptions) -> Result<Parts, StackError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let wiring = backend::wire(opts.backend, &opts.data_dir, &opts.queue, clock.clone()).await?;
    // Fail at start on a bad key; list-orders reads it again at each cold start.
    PageTokens::new(opts.data_dir.page_token_key()?)
        .map_err(crate::data_dir::DataDirError::from)?;
    let local_alarms = alarm_loop::LocalAlarms::new(opts.alarms.clone())?;
    // The states and history of before a restart, as CloudWatch keeps them.
    local_alarms.restore(opts.metrics.take_history());
    let local_alarms = Arc::new(local_alarms);
    let local_chaos = Arc::new(chaos::LocalChaos::new(
        opts.chaos.clone(),
        opts.data_dir.path(),
        local_alarms.clone(),
        clock.clone(),
    )?);
    let injector = local_chaos.injector();
    if injector.armed() {
        tracing::warn!(
            flags = %injector.flags().summary(),
            "chaos is ARMED: `workshop chaos on` (and any CHAOS_* flag) can inject faults"
        );
    }
    // The builders put the chaos layer in front of the metered store: an injected failure
    // never reaches the dependency, so it shows in our metrics, not in DynamoDB's, as on AWS.
    let deps = Dependencies {
        store: Arc::new(service_metrics::MeteredStore {
            inner: wiring.store,
            store: opts.metrics.clone(),
        }),
        queue: wiring.queue,
        clock: clock.clone(),
        secrets: opts.data_dir.clone(),
        metrics: opts.metrics.clone(),
        chaos: injector,
    };
    Ok(Parts {
        functions: Functions::new(&deps, &opts.limits),
        consumer: wiring.consumer,
        outbox: wiring.outbox,
        clock,
        local_queue: wiring.local_queue,
        describe: wiring.describe,
        alarms: local_alarms,
        chaos: local_chaos,
    })
}

/// The flags of `workshop up` that set the API's and the console's ports.
pub const API_PORT_FLAG: &str = "--port";
pub const CONSOLE_PORT_FLAG: &str = "--console-port";

async fn bind(
    addr: SocketAddr,
    flag: &'static str,
) -> Result<(tokio::net::TcpListener, SocketAddr), StackError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StackError::Bind { addr, flag, source })?;
    let bound = listener.local_addr().map_err(StackError::Serve)?;
    Ok((listener, bound))
}

/// The background loops: queue pollers, the stream's, the queue gauges, chaos and alarms.
fn spawn_workers(
    opts: &StackOptions,
    parts: &Parts,
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut workers = Vec::new();
    let source = Arc::new(EventSource {
        queue: parts.consumer.clone(),
        processor: parts.functions.processor.clone(),
        settings: opts.queue,
    });
    for _ in 0..opts.queue.max_concurrency {
        workers.push(tokio::spawn(source.clone().poll(stop.clone())));
    }
    if let Some(outbox) = parts.outbox.clone() {
        let stream = Arc::new(StreamSource {
            outbox,
            publisher: parts.functions.publisher.clone(),
            settings: opts.publisher,
            metrics: opts.metrics.clone(),
            clock: parts.clock.clone(),
        });
        workers.push(tokio::spawn(stream.poll(stop.clone())));
    }
    if let Some(queue) = parts.local_queue.clone() {
        workers.push(tokio::spawn(service_metrics::sample_queues(
            queue,
            opts.metrics.clone(),
            stop.clone(),
        )));
    }
    workers.push(tokio::spawn(opts.metrics.clone().persist(stop.clone())));
    workers.push(tokio::spawn(chaos::run(parts.chaos.clone(), stop.clone())));
    workers.push(tokio::spawn(alarm_loop::run(
        parts.alarms.clone(),
        opts.metrics.clone(),
        stop.clone(),
    )));
    workers
}

/// Runs the stack until `shutdown` resolves, then stops taking requests, lets in-flight
/// invocations finish and returns.
pub async fn run(
    opts: StackOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StackError> {
    let lock = match &opts.lock {
        Some(lock) => lock.clone(),
        None => Arc::new(opts.data_dir.lock()?),
    };
    let parts = assemble(&opts).await?;
    let (listener, addr) = bind(opts.addr, API_PORT_FLAG).await?;
    let (console_listener, console_addr) = bind(opts.console_addr, CONSOLE_PORT_FLAG).await?;
    lock.announce(&format!("http://{addr}"), &format!("http://{console_addr}"))?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = spawn_workers(&opts, &parts, &stop_rx);
    let functions_view = control::FunctionsView::of(&parts.functions);
    let router = apigw::gateway::Gateway::new(parts.functions.http, opts.metrics.clone()).router();
    let spans = match &opts.spans {
        Some(s) => s.clone(),
        None => xray::store::SpanStore::open(&opts.data_dir.traces_file())?,
    };
    let guard = Arc::new(console::guard::Guard::new(
        console_addr.port(),
        opts.allowed_hosts.clone(),
    ));
    let control = control::Control {
        metrics: opts.metrics.clone(),
        alarms: parts.alarms,
        chaos: parts.chaos,
        data_dir: opts.data_dir.clone(),
        backend: opts.backend,
        functions: functions_view,
        api_url: format!("http://{addr}"),
        spans,
        guard,
    }
    .router();
    let (console_stop_tx, mut console_stop_rx) = watch::channel(false);
    let console = tokio::spawn(async move {
        let stopped = async move {
            let _ = console_stop_rx.changed().await;
        };
        axum::serve(console_listener, control)
            .with_graceful_shutdown(stopped)
            .await
    });
    // The line tests and scripts wait for; keep its shape.
    cloudwatch::logs::terminal_line(&format!(
        "Local stack ready: API http://{addr}  console http://{console_addr}  ({})",
        parts.describe
    ));
    info!(%addr, "local stack ready");
    let server = axum::serve(listener, router).with_graceful_shutdown(shutdown);
    let served = server.await;
    info!("shutting down: waiting for in-flight invocations");
    let _ = stop_tx.send(true);
    let _ = console_stop_tx.send(true);
    let _ = console.await;
    for w in workers {
        let _ = w.await;
    }
    info!("stopped");
    served.map_err(StackError::Serve)
}
