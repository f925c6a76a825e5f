//! The local CloudWatch metric store: every EMF document a function writes lands in its log
//! file (as in CloudWatch Logs) and its datapoints in the store the alarm evaluator and the
//! console read (as CloudWatch extracts metrics from EMF): in memory, and written through to
//! the data dir's `cloudwatch.db` (`metric_file`) so a restart keeps the graphs.

use super::logs::LocalLogs;
use super::metric_file::{MetricFile, MetricFileError, RETENTION};
use alarms::catalog::aws_metrics::{api, sqs};
use alarms::catalog::names::{STAGE, local as names};
use alarms::{InMemoryMetrics, Metric, Transition};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use orders_sqlite::QueueCounts;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use telemetry::metrics::local::EmfSink;
use tracing::warn;

/// How often datapoints are written to the file: a SIGKILL loses at most this much.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How often what is past [`RETENTION`] is dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

#[derive(Default)]
pub struct MetricStore {
    memory: Mutex<InMemoryMetrics>,
    /// The data dir's file; `None` keeps everything in memory only (tests, benches).
    file: Option<Persisted>,
}

struct Persisted {
    file: Mutex<MetricFile>,
    /// Recorded since the last flush.
    pending: Mutex<Vec<(Metric, DateTime<Utc>, f64)>>,
    /// The alarm history read back at open, for the alarm evaluator to resume from.
    history: Mutex<Vec<Transition>>,
}

impl std::fmt::Debug for MetricStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricStore")
    }
}

impl MetricStore {
    /// The store of a data dir: what the file holds of the last [`RETENTION`] is read back.
    pub fn open(path: &std::path::Path) -> Result<MetricStore, MetricFileError> {
        let mut file = MetricFile::open(path)?;
        let since = Utc::now() - ChronoDuration::from_std(RETENTION).unwrap_or_default();
        let retained = file.load(since)?;
        let mut memory = InMemoryMetrics::new();
        for (metric, at, value) in &retained.datapoints {
            memory.record_metric(metric, *at, *value);
        }
        Ok(MetricStore {
            memory: Mutex::new(memory),
            file: Some(Persisted {
                file: Mutex::new(file),
                pending: Mutex::default(),
                history: Mutex::new(retained.history),
            }),
        })
    }

    /// The alarm history the file held at open (once; empty after).
    pub fn take_history(&self) -> Vec<Transition> {
        self.file
            .as_ref()
            .map(|p| std::mem::take(&mut *lock(&p.history)))
            .unwrap_or_default()
    }

    /// Keeps alarm state changes with the datapoints that caused them.
    pub fn record_transitions(&self, transitions: &[Transition]) {
        let Some(p) = &self.file else { return };
        if let Err(e) = lock(&p.file).append_history(transitions) {
            warn!(error = %e, "alarm history not saved");
        }
    }

    /// Writes what was recorded since the last flush.
    pub fn flush(&self) {
        let Some(p) = &self.file else { return };
        let pending = std::mem::take(&mut *lock(&p.pending));
        if let Err(e) = lock(&p.file).append(&pending) {
            warn!(error = %e, datapoints = pending.len(), "datapoints not saved");
        }
    }

    /// Drops what is older than [`RETENTION`], in memory and in the file.
    pub fn prune(&self, now: DateTime<Utc>) {
        let before = now - ChronoDuration::from_std(RETENTION).unwrap_or_default();
        lock(&self.memory).prune(before);
        if let Some(p) = &self.file
            && let Err(e) = lock(&p.file).prune(before)
        {
            warn!(error = %e, "old datapoints not pruned");
        }
    }

    /// The stack's writer: flushes every [`FLUSH_EVERY`], prunes now and then, and flushes a
    /// last time when the stack stops.
    pub async fn persist(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        if self.file.is_none() {
            return;
        }
        let mut since_prune = PRUNE_EVERY;
        loop {
            let stopping = *stop.borrow();
            let store = self.clone();
            let prune = since_prune >= PRUNE_EVERY;
            let _ = tokio::task::spawn_blocking(move || {
                store.flush();
                if prune {
                    store.prune(Utc::now());
                }
            })
            .await;
            since_prune = if prune {
                FLUSH_EVERY
            } else {
                since_prune + FLUSH_EVERY
            };
            if stopping {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(FLUSH_EVERY) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Adds one EMF document's datapoints; an invalid document is reported, not stored.
    pub fn ingest(&self, line: &str) {
        let parsed = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => return warn!(error = %e, "EMF line is not JSON"),
        };
        let points = match telemetry::emf::datapoints(&parsed) {
            Ok(p) => p,
            Err(violations) => {
                return warn!(?violations, "EMF document violates the specification");
            }
        };
        for p in points {
            let at =
                DateTime::from_timestamp_millis(i64::try_from(p.timestamp_ms).unwrap_or(i64::MAX))
                    .unwrap_or_default();
            let dims: Vec<(&str, &str)> = p
                .dimensions
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            for value in &p.values {
                self.record(&p.namespace, &p.name, &dims, at, *value);
            }
        }
    }

    /// Adds one datapoint.
    pub fn record(
        &self,
        namespace: &str,
        name: &str,
        dimensions: &[(&str, &str)],
        at: DateTime<Utc>,
        value: f64,
    ) {
        let mut metric = Metric::new(namespace, name);
        for (n, v) in dimensions {
            metric = metric.dimension(*n, *v);
        }
        lock(&self.memory).record_metric(&metric, at, value);
        if let Some(p) = &self.file {
            lock(&p.pending).push((metric, at, value));
        }
    }

    /// Reads the store (for the evaluator, `workshop metrics`, the console).
    pub fn with<T>(&self, read: impl FnOnce(&InMemoryMetrics) -> T) -> T {
        read(&lock(&self.memory))
    }

    // AWS service metrics: what CloudWatch records for the deployed stack's Lambda, API
    // Gateway, SQS and DynamoDB, recorded into the same store as the functions' EMF.

    /// Records one AWS service datapoint now.
    pub fn service(&self, namespace: &str, name: &str, dimensions: &[(&str, &str)], value: f64) {
        self.record(namespace, name, dimensions, Utc::now(), value);
    }

    /// One API Gateway request: count, 4xx/5xx (0 or 1, so Average is a rate), latencies.
    pub fn api_request(&self, status: u16, latency: Duration, integration: Option<Duration>) {
        let dims = [(api::API_ID, names::API_ID), (api::STAGE, STAGE)];
        self.service(api::NAMESPACE, api::COUNT.name, &dims, 1.0);
        self.service(
            api::NAMESPACE,
            api::ERRORS_4XX.name,
            &dims,
            f64::from(u8::from((400..500).contains(&status))),
        );
        self.service(
            api::NAMESPACE,
            api::ERRORS_5XX.name,
            &dims,
            f64::from(u8::from(status >= 500)),
        );
        self.service(api::NAMESPACE, api::LATENCY.name, &dims, ms(latency));
        if let Some(i) = integration {
            self.service(api::NAMESPACE, api::INTEGRATION_LATENCY.name, &dims, ms(i));
        }
    }

    /// One sample of a queue's gauges; the totals are recorded as the increase since `previous`.
    pub fn queue_sample(&self, counts: &QueueCounts, previous: Option<&QueueCounts>) {
        let dims = [(sqs::QUEUE_NAME, counts.name.as_str())];
        self.service(
            sqs::NAMESPACE,
            sqs::VISIBLE.name,
            &dims,
            counts.visible as f64,
        );
        self.service(
            sqs::NAMESPACE,
            sqs::NOT_VISIBLE.name,
            &dims,
            counts.in_flight as f64,
        );
        let age = counts.oldest_age.unwrap_or_default().as_secs_f64().floor();
        self.service(sqs::NAMESPACE, sqs::AGE_OF_OLDEST.name, &dims, age);
        // The totals only grow; CloudWatch's figures are per period, so record the increase.
        let delta =
            |now: u64, before: Option<u64>| now.saturating_sub(before.unwrap_or(now)) as f64;
        self.service(
            sqs::NAMESPACE,
            sqs::SENT.name,
            &dims,
            delta(counts.sent, previous.map(|p| p.sent)),
        );
        self.service(
            sqs::NAMESPACE,
            sqs::RECEIVED.name,
            &dims,
            delta(counts.received, previous.map(|p| p.received)),
        );
        self.service(
            sqs::NAMESPACE,
            sqs::DELETED.name,
            &dims,
            delta(counts.deleted, previous.map(|p| p.deleted)),
        );
    }

    /// Every metric with samples in the last `minutes`, sorted by namespace, name, dimensions.
    pub fn summary(&self, minutes: i64) -> Vec<MetricSummary> {
        let end = Utc::now() + ChronoDuration::seconds(1);
        let start = end - ChronoDuration::minutes(minutes.max(1));
        let mut out: Vec<MetricSummary> = self.with(|store| {
            store
                .metrics()
                .filter_map(|m| {
                    let values = store.samples(m, start, end);
                    if values.is_empty() {
                        return None;
                    }
                    let sum: f64 = values.iter().sum();
                    Some(MetricSummary {
                        namespace: m.namespace.clone(),
                        name: m.metric_name.clone(),
                        dimensions: m
                            .dimensions
                            .iter()
                            .map(|d| (d.name.clone(), d.value.clone()))
                            .collect(),
                        samples: values.len(),
                        sum,
                        average: sum / values.len() as f64,
                        minimum: values.iter().copied().fold(f64::INFINITY, f64::min),
                        maximum: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    })
                })
                .collect()
        });
        out.sort_by(|a, b| {
            (&a.namespace, &a.name, &a.dimensions).cmp(&(&b.namespace, &b.name, &b.dimensions))
        });
        out
    }
}

/// One metric's figures over the window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MetricSummary {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
    pub samples: usize,
    pub sum: f64,
    pub average: f64,
    pub minimum: f64,
    pub maximum: f64,
}

/// The EMF sink of the local stack: the function's log file, then the metric store.
pub struct EmfCapture {
    pub logs: LocalLogs,
    pub store: Arc<MetricStore>,
}

impl EmfSink for EmfCapture {
    fn write(&self, function_name: &str, line: &str) {
        self.logs.append(function_name, line);
        self.store.ingest(line);
    }
}

/// Milliseconds, the unit of every latency metric CloudWatch reports.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
