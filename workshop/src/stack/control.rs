//! The local stack's control plane on its own loopback port (the console's port): what
//! `workshop metrics`, `workshop alarms` and `workshop chaos` (and later the console) use.

use super::alarm_loop::{AlarmsView, LocalAlarms};
use super::chaos::{ChaosControlError, ChaosStatus, LocalChaos, StartRequest};
use super::metrics::MetricStore;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chaos::journal::{EndReason, Experiment};
use chrono::{Duration as ChronoDuration, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Clone)]
pub struct Control {
    pub metrics: Arc<MetricStore>,
    pub alarms: Arc<LocalAlarms>,
    pub chaos: Arc<LocalChaos>,
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

/// A control-plane error: `{"error": "...", "code": "..."}`, as the API's errors look.
pub struct ControlError(StatusCode, &'static str, String);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(serde_json::json!({ "error": self.2, "code": self.1 })),
        )
            .into_response()
    }
}

impl From<ChaosControlError> for ControlError {
    fn from(e: ChaosControlError) -> Self {
        let (status, code) = match &e {
            ChaosControlError::Disarmed => (StatusCode::CONFLICT, "CHAOS_DISARMED"),
            ChaosControlError::Invalid(_) | ChaosControlError::UnknownAlarm(_) => {
                (StatusCode::BAD_REQUEST, "INVALID_CHAOS_REQUEST")
            }
            ChaosControlError::Journal(_) | ChaosControlError::State { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, "CHAOS_STATE")
            }
        };
        ControlError(status, code, e.to_string())
    }
}

async fn chaos_status(State(control): State<Control>) -> Json<ChaosStatus> {
    Json(control.chaos.status().await)
}

async fn chaos_start(
    State(control): State<Control>,
    body: Result<Json<StartRequest>, JsonRejection>,
) -> Result<Json<Experiment>, ControlError> {
    let Json(req) = body.map_err(|e| {
        ControlError(
            StatusCode::BAD_REQUEST,
            "INVALID_CHAOS_REQUEST",
            e.body_text(),
        )
    })?;
    Ok(Json(control.chaos.start(req)?))
}

async fn chaos_stop(
    State(control): State<Control>,
) -> Result<Json<Option<Experiment>>, ControlError> {
    Ok(Json(control.chaos.stop(EndReason::SwitchedOff)?))
}

async fn chaos_journal(
    State(control): State<Control>,
) -> Result<Json<Vec<Experiment>>, ControlError> {
    Ok(Json(control.chaos.journal()?))
}

impl Control {
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/api/metrics", axum::routing::get(metrics))
            .route("/api/alarms", axum::routing::get(alarms))
            .route(
                "/api/chaos",
                axum::routing::get(chaos_status)
                    .put(chaos_start)
                    .delete(chaos_stop),
            )
            .route("/api/chaos/journal", axum::routing::get(chaos_journal))
            .with_state(self)
    }
}
