//! The local CloudWatch metric store: every EMF document a function writes lands in its log
//! file (as in CloudWatch Logs) and its datapoints in an in-memory store the alarm evaluator
//! and the console read (as CloudWatch extracts metrics from EMF).

use super::logs::LocalLogs;
use alarms::InMemoryMetrics;
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex, PoisonError};
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
