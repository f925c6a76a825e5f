//! Traces, the third signal: the `tracing` spans of every function become OpenTelemetry spans
//! (`tracing-opentelemetry`), with X-Ray-compatible ids (so a trace id has an X-Ray form) and
//! a parent-based sampler (an unsampled Lambda invocation exports nothing).
//!
//! Finished spans wait in a bounded buffer until [`Tracing::flush`] hands them to the sinks:
//! OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, the local stack's span store. On
//! Lambda the flush runs after the response is posted and before the next event is asked
//! for; locally a task flushes every few hundred milliseconds. A sink that fails or hangs
//! costs at most [`FLUSH_TIMEOUT`] per flush, then is left alone for [`RETRY_AFTER`], and is
//! never an error in the order flow; a full buffer drops spans and counts them
//! ([`Tracing::dropped`]).

mod carrier;
pub mod otlp;
pub mod spans;

pub use carrier::{
    AWS_TRACE_HEADER, Carrier, TRACEPARENT, parse_traceparent, traceparent, xray_trace_id,
};
pub use opentelemetry_sdk::trace::SpanData;
pub use spans::Trigger;

use opentelemetry::KeyValue;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanProcessor};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The longest a flush may take, whatever the sinks do.
pub const FLUSH_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a sink that failed is left alone before it is tried again.
pub const RETRY_AFTER: Duration = Duration::from_secs(10);
/// Finished spans kept for the next flush; beyond this they are dropped and counted.
pub const BUFFER_SPANS: usize = 4096;

/// Where finished spans go.
pub trait SpanSink: Send + Sync + 'static {
    /// A short name for the warning when it fails.
    fn name(&self) -> &str;
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
}

/// A sink that keeps every span it is given, in memory: for tests and tools that read back
/// what a run traced. Clones share the spans.
#[derive(Debug, Clone, Default)]
pub struct MemorySink(Arc<Mutex<Vec<SpanData>>>);

impl MemorySink {
    /// Every span exported so far.
    pub fn spans(&self) -> Vec<SpanData> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A tracer for `service` whose spans come here, installed as the global subscriber
    /// with INFO spans (as the functions install it: the SDKs' debug spans stay out). For a
    /// test binary: one global subscriber, since one per test thread races with tracing's
    /// per-callsite interest cache. Fails when a subscriber is already installed.
    pub fn install_global(
        service: &str,
    ) -> Result<(Tracing, MemorySink), tracing_subscriber::util::TryInitError> {
        use tracing_subscriber::prelude::*;
        let sink = MemorySink::default();
        let tracing = Tracing::new(resource(service, vec![]), vec![Box::new(sink.clone())]);
        tracing_subscriber::registry()
            .with(
                tracing
                    .layer()
                    .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
            )
            .try_init()?;
        Ok((tracing, sink))
    }

    /// The spans of one trace (`trace_id` in hex, as [`ids`] gives it).
    pub fn trace(&self, trace_id: &str) -> Vec<SpanData> {
        let spans = self.0.lock().unwrap_or_else(|p| p.into_inner());
        spans
            .iter()
            .filter(|s| s.span_context.trace_id().to_string() == trace_id)
            .cloned()
            .collect()
    }
}

impl SpanSink for MemorySink {
    fn name(&self) -> &str {
        "memory"
    }
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(batch);
        Box::pin(async { Ok(()) })
    }
}

/// The installed tracer: its provider (for the layer), buffer and sinks.
#[derive(Clone)]
pub struct Tracing {
    provider: SdkTracerProvider,
    buffer: Arc<Buffer>,
    sinks: Arc<Vec<Box<dyn SpanSink>>>,
}

impl std::fmt::Debug for Tracing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracing")
            .field(
                "sinks",
                &self
                    .sinks
                    .iter()
                    .map(|s| s.name().to_owned())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[derive(Debug, Default)]
struct Buffer {
    spans: Mutex<Vec<SpanData>>,
    dropped: AtomicU64,
    /// Per sink: when it last failed, while it is failing.
    failing: Mutex<Vec<Option<Instant>>>,
}

#[derive(Debug)]
struct BufferProcessor(Arc<Buffer>);

impl SpanProcessor for BufferProcessor {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}
    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let mut spans = self.0.spans.lock().unwrap_or_else(|p| p.into_inner());
        if spans.len() < BUFFER_SPANS {
            spans.push(span);
        } else {
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
}

impl Tracing {
    /// A tracer whose spans go to `sinks` (none: spans are made, for the log lines' ids, and
    /// dropped at each flush).
    pub fn new(resource: Resource, sinks: Vec<Box<dyn SpanSink>>) -> Tracing {
        let buffer = Arc::new(Buffer {
            failing: Mutex::new(vec![None; sinks.len()]),
            ..Buffer::default()
        });
        let provider = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_id_generator(opentelemetry_aws::trace::XrayIdGenerator::default())
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
            .with_span_processor(BufferProcessor(buffer.clone()))
            .build();
        Tracing {
            provider,
            buffer,
            sinks: Arc::new(sinks),
        }
    }

    /// The `tracing` layer that makes the spans (install it with the JSON log layer).
    pub fn layer<S>(
        &self,
    ) -> tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("order-kit"))
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            // busy_ns/idle_ns on every span say nothing a duration does not.
            .with_tracked_inactivity(false)
    }

    /// Installs this tracer alone as the global subscriber (spans, no log lines): for a
    /// command that acts on the stack's data from another process (a DLQ redrive).
    pub fn install_alone(&self) -> Result<(), tracing_subscriber::util::TryInitError> {
        use tracing_subscriber::prelude::*;
        tracing_subscriber::registry()
            .with(self.layer().with_filter(spans_only()))
            .try_init()
    }

    /// Spans dropped because the buffer was full, or because their sink was failing.
    pub fn dropped(&self) -> u64 {
        self.buffer.dropped.load(Ordering::Relaxed)
    }

    /// Hands the buffered spans to every sink, each bounded by [`FLUSH_TIMEOUT`]. A sink that
    /// failed is skipped (its spans dropped and counted) for [`RETRY_AFTER`], so an exporter
    /// that hangs costs one timeout every few seconds, not one per flush. Failures are logged
    /// once when a sink starts failing and once when it recovers.
    pub async fn flush(&self) {
        let batch =
            std::mem::take(&mut *self.buffer.spans.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() || self.sinks.is_empty() {
            return;
        }
        for (i, sink) in self.sinks.iter().enumerate() {
            if self.resting(i) {
                self.buffer
                    .dropped
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                continue;
            }
            let outcome =
                match tokio::time::timeout(FLUSH_TIMEOUT, sink.export(batch.clone())).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("no answer within {} ms", FLUSH_TIMEOUT.as_millis())),
                };
            self.note(i, sink.name(), outcome);
        }
    }

    fn failing(&self) -> std::sync::MutexGuard<'_, Vec<Option<Instant>>> {
        self.buffer
            .failing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Whether sink `i` failed less than [`RETRY_AFTER`] ago.
    fn resting(&self, i: usize) -> bool {
        self.failing()
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|since| since.elapsed() < RETRY_AFTER)
    }

    fn note(&self, i: usize, name: &str, outcome: Result<(), String>) {
        let mut failing = self.failing();
        let Some(state) = failing.get_mut(i) else {
            return;
        };
        match outcome {
            Err(e) => {
                if state.is_none() {
                    tracing::warn!(sink = name, error = %e, retry_after_s = RETRY_AFTER.as_secs(), "spans could not be exported; the order flow goes on, spans are dropped until the exporter answers");
                }
                *state = Some(Instant::now());
            }
            Ok(()) if state.is_some() => {
                tracing::info!(
                    sink = name,
                    dropped = self.dropped(),
                    "span export recovered"
                );
                *state = None;
            }
            Ok(()) => {}
        }
    }

    /// Flushes every `every` until the process ends (the local stack).
    pub fn spawn_flusher(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let tracing = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                tracing.flush().await;
            }
        })
    }
}

/// The resource every span of this process shares: `service.name` and `attributes`.
pub fn resource(service: &str, attributes: Vec<KeyValue>) -> Resource {
    Resource::builder_empty()
        .with_attribute(KeyValue::new("service.name", service.to_owned()))
        .with_attributes(attributes)
        .build()
}

/// The trace and span id of `span` (`None` outside tracing), hex.
pub fn ids(span: &Span) -> Option<(String, String)> {
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid()
        .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
}

/// The trace id of the current span, hex; `None` outside tracing.
pub fn current_trace_id() -> Option<String> {
    ids(&Span::current()).map(|(t, _)| t)
}

/// What the tracer's layer takes: INFO spans, not events (log lines stay in the logs, joined
/// to spans by `trace_id`; the span events that matter, `chaos.fault`, are added explicitly).
pub(crate) fn spans_only()
-> tracing_subscriber::filter::FilterFn<impl Fn(&tracing::Metadata<'_>) -> bool> {
    tracing_subscriber::filter::filter_fn(|m| m.is_span() && *m.level() <= tracing::Level::INFO)
}
