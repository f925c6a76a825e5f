//! The local stack's control plane on its own loopback port (the console's port): what
//! `workshop metrics`, `workshop alarms` and `workshop chaos` (and later the console) use.

use super::alarm_loop::{AlarmsView, LocalAlarms};
use super::chaos::{ChaosControlError, ChaosStatus, LocalChaos, StartRequest};
use super::functions::Functions;
use super::insights::Query as InsightsQuery;
use super::lambda::{FunctionPool, StatsSnapshot};
use super::metric_data::{MetricDataRequest, MetricDataResponse};
use super::metrics::MetricStore;
use crate::data_dir::DataDir;
use crate::stack::backend::Backend;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chaos::journal::{EndReason, Experiment};
use chrono::{Duration as ChronoDuration, Utc};
use orders::settings::Function;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Clone)]
pub struct Control {
    pub metrics: Arc<MetricStore>,
    pub alarms: Arc<LocalAlarms>,
    pub chaos: Arc<LocalChaos>,
    pub data_dir: DataDir,
    pub backend: Backend,
    pub functions: FunctionsView,
    /// The HTTP API's base URL, shown by the console.
    pub api_url: String,
}

/// One function's pool as the functions panel sees it: name, limit, live counters.
#[derive(Clone)]
pub struct PoolView {
    name: &'static str,
    limit: usize,
    stats: Arc<dyn Fn() -> StatsSnapshot + Send + Sync>,
}

impl PoolView {
    fn of<H: ?Sized + Send + Sync + 'static>(pool: &Arc<FunctionPool<H>>) -> PoolView {
        let p = pool.clone();
        PoolView {
            name: pool.name,
            limit: pool.limit(),
            stats: Arc::new(move || p.stats()),
        }
    }
}

/// Each function's pool, as the console's functions panel shows it.
#[derive(Clone)]
pub struct FunctionsView(Vec<PoolView>);

impl FunctionsView {
    pub fn of(functions: &Functions) -> FunctionsView {
        let mut out: Vec<PoolView> = Function::ALL
            .iter()
            .filter_map(|f| functions.http.get(f).map(PoolView::of))
            .collect();
        out.push(PoolView::of(&functions.processor));
        out.push(PoolView::of(&functions.sweeper));
        FunctionsView(out)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FunctionRow {
    pub name: String,
    pub limit: usize,
    pub invocations: u64,
    pub errors: u64,
    pub throttles: u64,
    pub cold_starts: u64,
    pub timeouts: u64,
    pub peak_concurrency: usize,
    pub busy: usize,
    pub idle: usize,
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
            ChaosControlError::Invalid(_)
            | ChaosControlError::UnknownAlarm(_)
            | ChaosControlError::StopConditionFiring(_) => {
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

async fn functions(State(control): State<Control>) -> Json<Vec<FunctionRow>> {
    Json(
        control
            .functions
            .0
            .iter()
            .map(|pool| {
                let s = (pool.stats)();
                FunctionRow {
                    name: pool.name.to_owned(),
                    limit: pool.limit,
                    invocations: s.invocations,
                    errors: s.errors,
                    throttles: s.throttles,
                    cold_starts: s.cold_starts,
                    timeouts: s.timeouts,
                    peak_concurrency: s.peak_concurrency,
                    busy: s.busy,
                    idle: s.idle,
                }
            })
            .collect(),
    )
}

#[derive(Serialize)]
struct DashboardView {
    name: &'static str,
    body: serde_json::Value,
}

async fn dashboard_bodies() -> Json<Vec<DashboardView>> {
    Json(
        dashboards::Dashboard::ALL
            .iter()
            .map(|d| DashboardView {
                name: d.slug(),
                body: d.render(dashboards::Target::Local),
            })
            .collect(),
    )
}

#[derive(Serialize)]
struct About {
    api: String,
}

async fn about(State(control): State<Control>) -> Json<About> {
    Json(About {
        api: control.api_url.clone(),
    })
}

async fn metric_data(
    State(control): State<Control>,
    body: Result<Json<MetricDataRequest>, JsonRejection>,
) -> Result<Json<MetricDataResponse>, ControlError> {
    let Json(req) = body.map_err(|e| {
        ControlError(
            StatusCode::BAD_REQUEST,
            "INVALID_METRIC_QUERY",
            e.body_text(),
        )
    })?;
    Ok(Json(super::metric_data::query(&control.metrics, &req)))
}

#[derive(Debug, Deserialize)]
pub struct LogsParams {
    pub query: String,
    /// Epoch milliseconds; default the last 15 minutes.
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// How much of each log file the console reads: the newest lines are what a dashboard shows.
const LOG_TAIL_BYTES: u64 = 4 * 1024 * 1024;

fn tail_lines(path: &std::path::Path) -> Vec<serde_json::Map<String, serde_json::Value>> {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let from = len.saturating_sub(LOG_TAIL_BYTES);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(from)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    // The cut may fall inside a character: lossy, and the partial first line is dropped.
    let text = String::from_utf8_lossy(&bytes);
    // Starting mid-file, the first line may be partial.
    let skip = usize::from(from > 0);
    text.lines()
        .skip(skip)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| match v {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        })
        .collect()
}

async fn logs(
    State(control): State<Control>,
    Query(params): Query<LogsParams>,
) -> Result<Json<super::insights::Table>, ControlError> {
    let query = InsightsQuery::parse(&params.query)
        .map_err(|e| ControlError(StatusCode::BAD_REQUEST, "INVALID_LOG_QUERY", e.to_string()))?;
    let end = params
        .end
        .and_then(chrono::DateTime::from_timestamp_millis)
        .unwrap_or_else(Utc::now);
    let start = params
        .start
        .and_then(chrono::DateTime::from_timestamp_millis)
        .or_else(|| end.checked_sub_signed(ChronoDuration::minutes(DEFAULT_WINDOW_MINUTES)))
        .unwrap_or(end);
    let dir = control.data_dir.logs();
    let table = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for f in query.functions() {
            lines.extend(
                tail_lines(&dir.join(format!("{f}.log")))
                    .into_iter()
                    .filter(|l| {
                        l.get("timestamp")
                            .and_then(serde_json::Value::as_str)
                            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                            .is_some_and(|t| t >= start && t <= end)
                    }),
            );
        }
        query.run(lines)
    })
    .await
    .map_err(|e| ControlError(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", e.to_string()))?;
    Ok(Json(table))
}

fn dlq_error(e: Box<dyn std::error::Error + Send + Sync>) -> ControlError {
    ControlError(StatusCode::INTERNAL_SERVER_ERROR, "DLQ", e.to_string())
}

async fn dlq_list(
    State(control): State<Control>,
) -> Result<Json<Vec<serde_json::Value>>, ControlError> {
    let rows = crate::dlq::messages(control.backend, &control.data_dir, 1000)
        .await
        .map_err(dlq_error)?;
    Ok(Json(rows))
}

async fn dlq_redrive(
    State(control): State<Control>,
) -> Result<Json<crate::dlq::Redriven>, ControlError> {
    let done = crate::dlq::redrive_messages(control.backend, &control.data_dir)
        .await
        .map_err(dlq_error)?;
    Ok(Json(done))
}

impl Control {
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/api/about", axum::routing::get(about))
            .route("/api/dashboards", axum::routing::get(dashboard_bodies))
            .route("/api/metric-data", axum::routing::post(metric_data))
            .route("/api/logs", axum::routing::get(logs))
            .route("/api/functions", axum::routing::get(functions))
            .route("/api/dlq", axum::routing::get(dlq_list))
            .route("/api/dlq/redrive", axum::routing::post(dlq_redrive))
            .fallback(super::console::asset)
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
