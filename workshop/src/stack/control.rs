//! The local stack's control plane on its own loopback port (the console's port): what
//! `workshop metrics` (and later the console, alarms and chaos) read from a running stack.

use super::alarm_loop::{AlarmsView, LocalAlarms};
use super::metrics::MetricStore;
use axum::Json;
use axum::extract::{Query, State};
use chrono::{Duration as ChronoDuration, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Clone)]
pub struct Control {
    pub metrics: Arc<MetricStore>,
    pub alarms: Arc<LocalAlarms>,
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

#[derive(Debug, Deserialize)]
pub struct Window {
    /// Minutes back from now (default 15).
    pub minutes: Option<i64>,
}

pub const DEFAULT_WINDOW_MINUTES: i64 = 15;

impl MetricStore {
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

async fn metrics(
    State(control): State<Control>,
    Query(window): Query<Window>,
) -> Json<Vec<MetricSummary>> {
    Json(
        control
            .metrics
            .summary(window.minutes.unwrap_or(DEFAULT_WINDOW_MINUTES)),
    )
}

async fn alarms(State(control): State<Control>) -> Json<AlarmsView> {
    Json(control.alarms.view())
}

impl Control {
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/api/metrics", axum::routing::get(metrics))
            .route("/api/alarms", axum::routing::get(alarms))
            .with_state(self)
    }
}
