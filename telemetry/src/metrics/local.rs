//! EMF for the local stack, where every function runs in one process.
//!
//! A global recorder ([`Router`]) sends each recording to the collector of the invocation it
//! happens in: a `tokio::task_local!` that [`scope`] sets around the invocation's future. When
//! the future ends, that invocation's documents are rendered (the same documents
//! metrics-cloudwatch-embedded writes on Lambda, plus `level`) and handed to the [`EmfSink`]
//! with the function's name, for its log file and the local metric store.
//!
//! The routing happens when a value is recorded, not when a handle is registered, so a
//! `Counter` kept across invocations still lands in the right one. A recording outside any
//! scope (a task spawned without the scope, workshop code) is dropped with a debug log.
//! A timed-out or crashed invocation writes nothing, as on Lambda, where the sandbox dies
//! before its flush.
//!
//! Wiring, once at stack start and once per invocation (the emulator's `tokio::spawn`):
//!
//! ```ignore
//! telemetry::metrics::local::LocalMetrics::new("orders", "local", sink)?.install()?;
//! let scoped = telemetry::metrics::local::scope(
//!     telemetry::metrics::local::Invocation::new(self.name, &request_id, cold_start),
//!     call(handler.clone(), invocation),
//! );
//! let task = tokio::spawn(scoped.instrument(span.clone()));
//! ```

use super::{MetricsError, Property, check_default_dimension, emf_level, with_level};
use crate::catalogue::{self, DEFAULT_DIMENSIONS, ENVIRONMENT, Metric, NAMESPACE, SERVICE};
use ::metrics::{Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName};
use ::metrics::{Metadata, Recorder, SharedString, Unit};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Where a function's EMF lines go: its log file and the local metric store.
pub trait EmfSink: Send + Sync + 'static {
    /// `line` is one EMF document, a JSON object on one line without the newline.
    fn write(&self, function_name: &str, line: &str);
}

impl<F: Fn(&str, &str) + Send + Sync + 'static> EmfSink for F {
    fn write(&self, function_name: &str, line: &str) {
        self(function_name, line)
    }
}

/// Which invocation a scope collects for.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub function_name: &'static str,
    pub request_id: String,
    pub cold_start: bool,
    init: InitMetrics,
}

impl Invocation {
    pub fn new(function_name: &'static str, request_id: &str, cold_start: bool) -> Self {
        Invocation {
            function_name,
            request_id: request_id.to_owned(),
            cold_start,
            init: InitMetrics::default(),
        }
    }

    /// Adds what the instance's init phase recorded to this (its first) invocation's documents.
    pub fn with_init(mut self, init: InitMetrics) -> Self {
        self.init = init;
        self
    }
}

/// What a function's init phase recorded (a dependency call made once per instance). On
/// Lambda those recordings wait in the collector and leave with the first invocation's
/// flush; [`collect_init`] and [`Invocation::with_init`] do the same here.
#[derive(Clone, Default)]
pub struct InitMetrics(Arc<Mutex<Collector>>);

impl std::fmt::Debug for InitMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InitMetrics")
    }
}

/// Runs a function's init, collecting what it records.
pub fn collect_init<T>(init: impl FnOnce() -> T) -> (T, InitMetrics) {
    let collector = Arc::new(Mutex::new(Collector::default()));
    let out = CURRENT.sync_scope(collector.clone(), init);
    (out, InitMetrics(collector))
}

enum Values {
    Counter(u64),
    Gauge(f64),
    Histogram(Vec<f64>),
}

type Labels = Vec<(String, String)>;

/// One invocation's recordings: label set → metric name → values, the grouping
/// metrics-cloudwatch-embedded flushes by (one document per label set).
#[derive(Default)]
struct Collector {
    series: BTreeMap<Labels, BTreeMap<String, Values>>,
    properties: BTreeMap<&'static str, Value>,
    /// The function whose log the documents go to, for an early flush.
    function_name: &'static str,
}

impl Collector {
    fn entry(&mut self, key: &Key, empty: fn() -> Values) -> &mut Values {
        let labels = key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        self.series
            .entry(labels)
            .or_default()
            .entry(key.name().to_owned())
            .or_insert_with(empty)
    }
}

tokio::task_local! {
    static CURRENT: Arc<Mutex<Collector>>;
}

fn with_current(key: &Key, record: impl FnOnce(&mut Collector)) {
    let found = CURRENT.try_with(|c| record(&mut c.lock().unwrap_or_else(PoisonError::into_inner)));
    if found.is_err() {
        tracing::debug!(
            metric = key.name(),
            "metric recorded outside a function invocation; dropped"
        );
    }
}

/// Sets a property on the current scope; false when there is none.
pub(super) fn set_property(key: Property, value: &str) -> bool {
    CURRENT
        .try_with(|c| {
            c.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .properties
                .insert(key.as_str(), Value::String(value.to_owned()));
        })
        .is_ok()
}

/// A handle that finds its collector each time it records.
struct Routed(Key);

impl Routed {
    /// Updates this key's counter in the current invocation's collector.
    fn counter(&self, update: impl FnOnce(&mut u64)) {
        with_current(&self.0, |c| {
            if let Values::Counter(n) = c.entry(&self.0, || Values::Counter(0)) {
                update(n);
            }
        });
    }

    /// Updates this key's gauge in the current invocation's collector.
    fn gauge(&self, update: impl FnOnce(&mut f64)) {
        with_current(&self.0, |c| {
            if let Values::Gauge(g) = c.entry(&self.0, || Values::Gauge(0.0)) {
                update(g);
            }
        });
    }
}

impl CounterFn for Routed {
    fn increment(&self, value: u64) {
        self.counter(|n| *n = n.saturating_add(value));
    }
    fn absolute(&self, value: u64) {
        self.counter(|n| *n = value);
    }
}

impl GaugeFn for Routed {
    fn increment(&self, value: f64) {
        self.gauge(|g| *g += value);
    }
    fn decrement(&self, value: f64) {
        GaugeFn::increment(self, -value);
    }
    fn set(&self, value: f64) {
        self.gauge(|g| *g = value);
    }
}

impl HistogramFn for Routed {
    fn record(&self, value: f64) {
        with_current(&self.0, |c| {
            if let Values::Histogram(vs) = c.entry(&self.0, || Values::Histogram(Vec::new())) {
                vs.push(value);
            }
        });
    }
}

/// The local stack's global recorder. Units come from the catalogue at render time, so the
/// describe calls are ignored.
#[derive(Debug, Default, Clone, Copy)]
pub struct Router;

impl Recorder for Router {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(Routed(key.clone())))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(Arc::new(Routed(key.clone())))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Routed(key.clone())))
    }
}

struct Config {
    service: String,
    environment: String,
    level: &'static str,
    sink: Box<dyn EmfSink>,
}

/// The local stack's EMF backend: default dimensions, the `level` of every document, and the
/// sink. Cheap to clone.
#[derive(Clone)]
pub struct LocalMetrics(Arc<Config>);

static INSTALLED: OnceLock<LocalMetrics> = OnceLock::new();

impl LocalMetrics {
    pub fn new(service: &str, environment: &str, sink: impl EmfSink) -> Result<Self, MetricsError> {
        check_default_dimension(SERVICE, service)?;
        check_default_dimension(ENVIRONMENT, environment)?;
        Ok(LocalMetrics(Arc::new(Config {
            service: service.to_owned(),
            environment: environment.to_owned(),
            level: emf_level(std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref()),
            sink: Box::new(sink),
        })))
    }

    /// Makes [`Router`] the process's recorder and this backend the one [`scope`] uses.
    pub fn install(self) -> Result<(), MetricsError> {
        INSTALLED
            .set(self)
            .map_err(|_| MetricsError::AlreadyInstalled)?;
        ::metrics::set_global_recorder(Router).map_err(|_| MetricsError::AlreadyInstalled)
    }

    /// Runs `future` as `invocation` and returns its output with the EMF lines it produced
    /// (the sink is not called).
    pub async fn collect<F: Future>(
        &self,
        invocation: &Invocation,
        future: F,
    ) -> (F::Output, Vec<String>) {
        let mut start = std::mem::take(
            &mut *invocation
                .init
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if invocation.cold_start
            && let Values::Counter(n) = start
                .entry(&Key::from_static_name(Metric::ColdStart.name()), || {
                    Values::Counter(0)
                })
        {
            *n += 1;
        }
        start.function_name = invocation.function_name;
        start.properties.insert(
            Property::RequestId.as_str(),
            Value::String(invocation.request_id.clone()),
        );
        let collector = Arc::new(Mutex::new(start));
        let output = CURRENT.scope(collector.clone(), future).await;
        let taken = std::mem::take(&mut *collector.lock().unwrap_or_else(PoisonError::into_inner));
        (output, self.render(taken, now_ms()))
    }

    /// Runs `future` as `invocation` and writes its EMF lines to the sink.
    pub async fn scope<F: Future>(&self, invocation: Invocation, future: F) -> F::Output {
        let (output, lines) = self.collect(&invocation, future).await;
        for line in &lines {
            self.0.sink.write(invocation.function_name, line);
        }
        output
    }

    /// The documents metrics-cloudwatch-embedded would write for these recordings: one per
    /// label set (more when a histogram passes 100 values or a set 100 metrics), default
    /// dimensions first, then the labels, then the properties, plus `level`.
    fn render(&self, collector: Collector, timestamp: u64) -> Vec<String> {
        let mut lines = Vec::new();
        for (labels, metrics) in &collector.series {
            let mut base = Map::new();
            base.insert("Service".into(), json!(self.0.service));
            base.insert("Environment".into(), json!(self.0.environment));
            for (k, v) in labels {
                base.insert(k.clone(), json!(v));
            }
            for (k, v) in &collector.properties {
                base.insert((*k).to_owned(), v.clone());
            }
            let dimension_set: Vec<&str> = DEFAULT_DIMENSIONS
                .into_iter()
                .chain(labels.iter().map(|(k, _)| k.as_str()))
                .collect();
            for round in 0.. {
                let entries: Vec<(&str, Value)> = metrics
                    .iter()
                    .filter_map(|(name, values)| {
                        let value = match values {
                            Values::Counter(n) if round == 0 && *n > 0 => json!(n),
                            Values::Gauge(g) if round == 0 => json!(g),
                            Values::Histogram(vs) => {
                                json!(vs.chunks(crate::emf::MAX_VALUES).nth(round)?)
                            }
                            _ => return None,
                        };
                        Some((name.as_str(), value))
                    })
                    .collect();
                if entries.is_empty() {
                    break;
                }
                for group in entries.chunks(crate::emf::MAX_METRICS) {
                    let mut doc = base.clone();
                    let definitions: Vec<Value> = group
                        .iter()
                        .map(|(name, value)| {
                            doc.insert((*name).to_owned(), value.clone());
                            match catalogue::find(name).and_then(|d| d.unit.emf_value()) {
                                Some(unit) => json!({"Name": name, "Unit": unit}),
                                None => json!({"Name": name}),
                            }
                        })
                        .collect();
                    doc.insert(
                        "_aws".into(),
                        json!({
                            "Timestamp": timestamp,
                            "CloudWatchMetrics": [{
                                "Namespace": NAMESPACE,
                                "Dimensions": [dimension_set],
                                "Metrics": definitions,
                            }]
                        }),
                    );
                    if let Some(line) = with_level(&Value::Object(doc).to_string(), self.0.level) {
                        lines.push(line);
                    }
                }
            }
        }
        lines
    }
}

fn now_ms() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or_default()
}

/// Writes what the current invocation recorded so far and starts its collection afresh
/// (properties stay). False outside an invocation or without an installed backend.
pub(super) fn flush_current() -> bool {
    let Some(metrics) = INSTALLED.get() else {
        return false;
    };
    CURRENT
        .try_with(|c| {
            let mut collector = c.lock().unwrap_or_else(PoisonError::into_inner);
            let taken = Collector {
                series: std::mem::take(&mut collector.series),
                properties: collector.properties.clone(),
                function_name: collector.function_name,
            };
            for line in metrics.render(taken, now_ms()) {
                metrics.0.sink.write(collector.function_name, &line);
            }
        })
        .is_ok()
}

/// Runs `future` in the installed backend's scope (see the module doc). Without
/// [`LocalMetrics::install`] it just runs the future: the stack works without metrics.
pub async fn scope<F: Future>(invocation: Invocation, future: F) -> F::Output {
    match INSTALLED.get() {
        Some(metrics) => metrics.scope(invocation, future).await,
        None => future.await,
    }
}
