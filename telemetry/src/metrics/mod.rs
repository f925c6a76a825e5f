//! Business metrics as CloudWatch EMF documents, recorded through the `metrics` facade.
//!
//! Handlers call the typed functions here ([`order_created`], [`validation_failure`], ...):
//! each one names a [`catalogue`](crate::catalogue) entry and takes its dimension values only
//! from that entry's closed enum, so an id can never become a dimension. Ids travel as EMF
//! properties ([`property`]): searchable in Logs Insights, free of metric cost.
//!
//! Two backends, one recording API:
//!
//! - **Lambda** ([`init_lambda`]): metrics-cloudwatch-embedded's collector is the global
//!   recorder; [`LambdaMetrics::invocation`] wraps each invocation and flushes its documents to
//!   stdout when it ends. Every Lambda main runs it through `order_functions`' invocation
//!   path (`order_functions::lambda::serve_http` / `serve_events`), which amounts to:
//!
//!   ```ignore
//!   let metrics = telemetry::metrics::init_lambda(SERVICE_NAME, &environment)?;
//!   run(service_fn(move |req: Request| async move {
//!       let context = req.lambda_context();
//!       let span = /* the `invocation` span of the context's facts */;
//!       Ok::<_, Error>(metrics.invocation(&context.request_id, handler.handle(req)).instrument(span).await)
//!   }))
//!   ```
//!
//!   We do not use the crate's own `lambda` feature (`MetricsLayer`, `run`): it pulls
//!   lambda_http with every event type into each binary, panics when stdout cannot be written,
//!   and keeps properties across invocations, so one order's id would tag the next
//!   invocation's metrics. [`LambdaMetrics::invocation`] clears them after each flush.
//!
//! - **Local stack** ([`local`]): every function runs in one process, so a task-local collector
//!   per invocation decides which function a recording belongs to.
//!
//! # Surviving log-level filtering
//!
//! EMF lines are written straight to stdout, never through `tracing`, so `RUST_LOG` and our
//! `EnvFilter` cannot drop them. Lambda's advanced logging controls filter JSON lines by their
//! `level` member and treat a line without one as INFO, which an application log level of WARN
//! or above would drop; so every document carries `"level"` equal to the configured threshold
//! (at least INFO): always kept, and only as severe as the threshold forces it to be.

pub mod local;

use crate::catalogue::{
    DimensionValue, ENVIRONMENT, Fault, Kind, LookupResult, Metric, NAMESPACE, Operation,
    ProcessedStatus, ProcessingError, SERVICE, ValidationReason,
};
use std::future::Future;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("a metrics recorder is already installed in this process")]
    AlreadyInstalled,
    #[error("could not install the EMF collector: {0}")]
    Install(String),
    #[error("default dimension {key}={value:?} {reason}")]
    InvalidDimension {
        key: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("could not write EMF documents: {0}")]
    Io(#[from] std::io::Error),
}

/// Per-invocation facts that belong in EMF properties, never in dimensions. A closed set of
/// keys, so a property cannot shadow a dimension or a metric at the document's root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Property {
    RequestId,
    TraceId,
    OrderId,
    CorrelationId,
    MessageId,
}

impl Property {
    pub const ALL: [Property; 5] = [
        Property::RequestId,
        Property::TraceId,
        Property::OrderId,
        Property::CorrelationId,
        Property::MessageId,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Property::RequestId => "RequestId",
            Property::TraceId => "TraceId",
            Property::OrderId => "OrderId",
            Property::CorrelationId => "CorrelationId",
            Property::MessageId => "MessageId",
        }
    }
}

// ---- recording API -------------------------------------------------------------------------

fn count(metric: Metric, labels: &[(&'static str, &'static str)], n: u64) {
    debug_assert_eq!(metric.def().kind, Kind::Counter);
    ::metrics::counter!(metric.name(), labels).increment(n);
}

fn observe(metric: Metric, labels: &[(&'static str, &'static str)], value: f64) {
    debug_assert_eq!(metric.def().kind, Kind::Histogram);
    ::metrics::histogram!(metric.name(), labels).record(value);
}

fn label<D: DimensionValue>(value: D) -> [(&'static str, &'static str); 1] {
    [(D::KEY, value.as_str())]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A new order was accepted: OrdersCreated, OrderValue (its total) and ItemsPerOrder.
pub fn order_created(total: f64, items: usize) {
    count(Metric::OrdersCreated, &[], 1);
    observe(Metric::OrderValue, &[], total);
    observe(Metric::ItemsPerOrder, &[], items as f64);
}

pub fn validation_failure(reason: ValidationReason) {
    count(Metric::ValidationFailures, &label(reason), 1);
}

pub fn order_published() {
    count(Metric::OrdersPublished, &[], 1);
}

pub fn publish_failure() {
    count(Metric::PublishFailures, &[], 1);
}

pub fn order_lookup(result: LookupResult) {
    count(Metric::OrderLookups, &label(result), 1);
}

pub fn order_processed(status: ProcessedStatus) {
    count(Metric::OrdersProcessed, &label(status), 1);
}

pub fn processing_failure(error: ProcessingError) {
    count(Metric::ProcessingFailures, &label(error), 1);
}

pub fn duplicate_skipped() {
    count(Metric::DuplicatesSkipped, &[], 1);
}

/// Items of one batch reported back as failed. Zero is not written (as every counter at zero).
pub fn batch_item_failures(items: u64) {
    count(Metric::BatchItemFailures, &[], items);
}

/// Time from the order's creation to its processing (clamp clock skew to zero before).
pub fn processing_lag(lag: Duration) {
    observe(Metric::ProcessingLag, &[], millis(lag));
}

pub fn dependency_latency(operation: Operation, elapsed: Duration) {
    observe(
        Metric::DependencyLatency,
        &label(operation),
        millis(elapsed),
    );
}

/// The capacity one DynamoDB call consumed, as DynamoDB reported it. Zero is not written: a
/// read records no write units and a write no read units.
pub fn consumed_capacity(operation: Operation, read_units: f64, write_units: f64) {
    if read_units > 0.0 {
        observe(Metric::ConsumedReadUnits, &label(operation), read_units);
    }
    if write_units > 0.0 {
        observe(Metric::ConsumedWriteUnits, &label(operation), write_units);
    }
}

pub fn chaos_injection(fault: Fault) {
    count(Metric::ChaosInjections, &label(fault), 1);
}

/// Writes the current invocation's documents now instead of at its end: for a handler about
/// to be cut off (an injected timeout), whose end-of-invocation flush would never run.
pub fn flush_now() {
    if local::flush_current() {
        return;
    }
    if let Some(lambda) = LAMBDA.get() {
        match lambda.finish() {
            Ok(lines) => write_stdout(&lines),
            Err(e) => tracing::error!(error = %e, "EMF metrics of this invocation are lost"),
        }
    }
}

/// Counted by [`LambdaMetrics::invocation`] and [`local`] themselves; public for custom wiring.
pub fn cold_start() {
    count(Metric::ColdStart, &[], 1);
}

/// Attaches an id to the EMF documents of the current invocation (last value wins: for a
/// batch, the documents carry the invocation's ids, and per-order ids belong in log lines).
/// Outside an invocation, or before any backend is installed, it does nothing.
pub fn property(key: Property, value: impl std::fmt::Display) {
    let value = value.to_string();
    if local::set_property(key, &value) {
        return;
    }
    if let Some(lambda) = LAMBDA.get() {
        lambda.collector.set_property(key.as_str(), value);
        lambda
            .properties
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(key);
    }
}

// ---- Lambda backend ------------------------------------------------------------------------

/// The `level` member EMF documents carry: the threshold of Lambda's application log level
/// filter (`AWS_LAMBDA_LOG_LEVEL`), but never below INFO, so the filter always keeps them.
pub fn emf_level(configured: Option<&str>) -> &'static str {
    match configured.map(str::to_ascii_uppercase).as_deref() {
        Some("WARN") => "WARN",
        Some("ERROR") => "ERROR",
        Some("FATAL") => "FATAL",
        _ => "INFO",
    }
}

/// Adds `"level"` as the first member of a serialized JSON object.
pub(crate) fn with_level(document: &str, level: &str) -> Option<String> {
    let rest = document.trim().strip_prefix('{')?;
    let rest = rest.trim_start();
    if rest.starts_with('}') {
        return None;
    }
    Some(format!("{{\"level\":\"{level}\",{rest}"))
}

pub(crate) fn check_default_dimension(key: &'static str, value: &str) -> Result<(), MetricsError> {
    let reason = crate::emf::value_problem(value).or_else(|| {
        crate::emf::is_id_like(value).then_some("looks like an id; dimensions take closed values")
    });
    match reason {
        None => Ok(()),
        Some(reason) => Err(MetricsError::InvalidDimension {
            key,
            value: value.to_owned(),
            reason,
        }),
    }
}

/// Tells the installed recorder each catalogued metric's unit (the facade's only way).
fn describe_catalogue() {
    for def in crate::catalogue::CATALOGUE {
        let Some(unit) = def.unit.to_facade() else {
            continue;
        };
        match def.kind {
            Kind::Counter => ::metrics::describe_counter!(def.name, unit, def.description),
            Kind::Histogram => ::metrics::describe_histogram!(def.name, unit, def.description),
        }
    }
}

/// The Lambda backend: one per process, made by [`init_lambda`].
pub struct LambdaMetrics {
    collector: &'static metrics_cloudwatch_embedded::Collector,
    level: &'static str,
    warm: AtomicBool,
    /// Properties set during the current invocation, removed after its flush.
    properties: Mutex<Vec<Property>>,
}

static LAMBDA: OnceLock<LambdaMetrics> = OnceLock::new();

/// Installs metrics-cloudwatch-embedded as the global recorder: namespace
/// [`NAMESPACE`], default dimensions `Service` and `Environment`, units from the catalogue.
/// Call once in `main`, after `telemetry::logs::init_lambda`.
pub fn init_lambda(
    service: &str,
    environment: &str,
) -> Result<&'static LambdaMetrics, MetricsError> {
    check_default_dimension(SERVICE, service)?;
    check_default_dimension(ENVIRONMENT, environment)?;
    if LAMBDA.get().is_some() {
        return Err(MetricsError::AlreadyInstalled);
    }
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(NAMESPACE)
        .with_dimension(SERVICE, service.to_owned())
        .with_dimension(ENVIRONMENT, environment.to_owned())
        .init()
        .map_err(|e| MetricsError::Install(e.to_string()))?;
    describe_catalogue();
    let level = emf_level(std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref());
    Ok(LAMBDA.get_or_init(|| LambdaMetrics {
        collector,
        level,
        warm: AtomicBool::new(false),
        properties: Mutex::new(Vec::new()),
    }))
}

impl LambdaMetrics {
    /// Runs one invocation: counts a cold start on the instance's first, tags the documents
    /// with the request id, and writes the invocation's EMF documents to stdout when `handler`
    /// finishes (before the response is returned, so a frozen sandbox loses nothing).
    pub async fn invocation<F: Future>(&self, request_id: &str, handler: F) -> F::Output {
        self.begin(request_id);
        let output = handler.await;
        match self.finish() {
            Ok(lines) => write_stdout(&lines),
            Err(e) => tracing::error!(error = %e, "EMF metrics of this invocation are lost"),
        }
        output
    }

    /// The first half of [`invocation`](Self::invocation), for wiring that cannot wrap a future.
    pub fn begin(&self, request_id: &str) {
        if !self.warm.swap(true, Ordering::Relaxed) {
            cold_start();
        }
        property(Property::RequestId, request_id);
    }

    /// Takes the documents recorded since the last call, as JSON lines with `level`, and
    /// forgets this invocation's properties.
    pub fn finish(&self) -> Result<Vec<String>, MetricsError> {
        let mut buffer = Vec::new();
        let flushed = self.collector.flush(&mut buffer);
        for key in self
            .properties
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            self.collector.remove_property(key.as_str());
        }
        flushed?;
        let text = String::from_utf8_lossy(&buffer);
        Ok(text
            .lines()
            .filter_map(|line| with_level(line, self.level))
            .collect())
    }
}

/// One locked write per batch: each document stays one line even when a log line from another
/// thread is being written at the same moment.
fn write_stdout(lines: &[String]) {
    let mut out = std::io::stdout().lock();
    let written = lines
        .iter()
        .try_for_each(|line| writeln!(out, "{line}"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        tracing::error!(error = %e, "could not write EMF metrics to stdout");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_never_hides_metrics() {
        assert_eq!(emf_level(None), "INFO");
        assert_eq!(emf_level(Some("DEBUG")), "INFO");
        assert_eq!(emf_level(Some("trace")), "INFO");
        assert_eq!(emf_level(Some("warn")), "WARN");
        assert_eq!(emf_level(Some("ERROR")), "ERROR");
        assert_eq!(emf_level(Some("FATAL")), "FATAL");
    }

    #[test]
    fn level_goes_first_in_the_object() {
        assert_eq!(
            with_level(r#"{"_aws":{},"a":1}"#, "WARN").as_deref(),
            Some(r#"{"level":"WARN","_aws":{},"a":1}"#)
        );
        assert_eq!(with_level("{}", "INFO"), None);
        assert_eq!(with_level("not json", "INFO"), None);
    }

    #[test]
    fn properties_cannot_shadow_dimensions_or_metrics() {
        for p in Property::ALL {
            assert!(crate::catalogue::find(p.as_str()).is_none());
            assert!(
                crate::catalogue::CATALOGUE
                    .iter()
                    .all(|d| !d.dimension_keys().contains(&p.as_str()))
            );
            assert_ne!(p.as_str(), "level");
        }
    }

    #[test]
    fn default_dimensions_must_be_closed_values() {
        assert!(check_default_dimension(SERVICE, "orders").is_ok());
        assert!(check_default_dimension(ENVIRONMENT, "prod").is_ok());
        assert!(matches!(
            check_default_dimension(ENVIRONMENT, ""),
            Err(MetricsError::InvalidDimension { .. })
        ));
        assert!(matches!(
            check_default_dimension(ENVIRONMENT, "pr-0b9f6f2e-5c1e-4d8e-9a57-3f1b2f0c9d11"),
            Err(MetricsError::InvalidDimension { .. })
        ));
    }
}
