//! The local CloudWatch metric store: every EMF document a function writes lands in its log
//! file (as in CloudWatch Logs) and its datapoints in an in-memory store the alarm evaluator
//! and the console read (as CloudWatch extracts metrics from EMF).

use super::logs::LocalLogs;
use alarms::InMemoryMetrics;
use alarms::catalog::aws_metrics::{api, sqs};
use alarms::catalog::names::{STAGE, local as names};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use orders_sqlite::QueueCounts;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use telemetry::metrics::local::EmfSink;
use tracing::warn;

#[derive(Default)]
pub struct MetricStore(Mutex<InMemoryMetrics>);

impl std::fmt::Debug for MetricStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricStore")
    }
}

impl MetricStore {
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
        let mut store = self.0.lock().unwrap_or_else(PoisonError::into_inner);
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
                store.record(&p.namespace, &p.name, &dims, at, *value);
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
        let mut store = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        store.record(namespace, name, dimensions, at, value);
    }

    /// Reads the store (for the evaluator, `workshop metrics`, the console).
    pub fn with<T>(&self, read: impl FnOnce(&InMemoryMetrics) -> T) -> T {
        read(&self.0.lock().unwrap_or_else(PoisonError::into_inner))
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
