//! The local stack's control plane on its own loopback port (the console's port): what
//! `workshop metrics`, `workshop alarms` and `workshop chaos` (and later the console) use.

use super::routes::{self, Route};
use crate::data_dir::DataDir;
use crate::stack::backend::Backend;
use crate::stack::chaos::{ChaosControlError, ChaosStatus, LocalChaos, StartRequest};
use crate::stack::cloudwatch::alarm_loop::{AlarmsView, LocalAlarms};
use crate::stack::cloudwatch::insights::{self, Query as InsightsQuery};
use crate::stack::cloudwatch::metric_data::{self, MetricDataRequest, MetricDataResponse};
use crate::stack::cloudwatch::metric_store::{MetricStore, MetricSummary};
use crate::stack::lambda::functions::Functions;
use crate::stack::lambda::pool::{FunctionPool, StatsSnapshot};
use crate::stack::xray::{
    self,
    query::{ServiceMap, TraceFilter, TraceSummary, TraceView},
    store::{SpanStore, SpanStoreError},
};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
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
    /// The local X-Ray's spans.
    pub spans: SpanStore,
    /// What the control plane refuses (rebinding `Host`s, cross-site requests).
    pub guard: Arc<super::guard::Guard>,
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
        out.push(PoolView::of(&functions.publisher));
        FunctionsView(out)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FunctionRow {
    pub name: String,
    pub limit: usize,
    /// The pool's own counters, their keys at the row's top level as the console reads them.
    #[serde(flatten)]
    pub stats: StatsSnapshot,
}

#[derive(Debug, Deserialize)]
pub struct Window {
    /// Minutes back from now (default 15).
    pub minutes: Option<i64>,
}

pub const DEFAULT_WINDOW_MINUTES: i64 = 15;

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

/// A JSON body, or a 400 with `code` and serde's words for what is wrong.
fn json_body<T>(
    body: Result<Json<T>, JsonRejection>,
    code: &'static str,
) -> Result<T, ControlError> {
    body.map(|Json(v)| v)
        .map_err(|e| ControlError(StatusCode::BAD_REQUEST, code, e.body_text()))
}

async fn chaos_status(State(control): State<Control>) -> Json<ChaosStatus> {
    Json(control.chaos.status().await)
}

async fn chaos_start(
    State(control): State<Control>,
    body: Result<Json<StartRequest>, JsonRejection>,
) -> Result<Json<Experiment>, ControlError> {
    let req = json_body(body, "INVALID_CHAOS_REQUEST")?;
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

/// The fault catalogue with its caps, from which the console builds its chaos form.
async fn chaos_faults() -> Json<&'static [chaos::faults::FaultSpec]> {
    Json(chaos::faults::FAULTS)
}

async fn functions(State(control): State<Control>) -> Json<Vec<FunctionRow>> {
    Json(
        control
            .functions
            .0
            .iter()
            .map(|pool| FunctionRow {
                name: pool.name.to_owned(),
                limit: pool.limit,
                stats: (pool.stats)(),
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
    /// The dead-letter queue's name, as the DLQ panel shows it.
    dlq: &'static str,
    /// The requests the control plane refused since the start, by code.
    refused: super::guard::Refusals,
}

async fn about(State(control): State<Control>) -> Json<About> {
    Json(About {
        api: control.api_url.clone(),
        dlq: alarms::catalog::names::local::DEAD_LETTER_QUEUE,
        refused: control.guard.refusals(),
    })
}

async fn metric_data(
    State(control): State<Control>,
    body: Result<Json<MetricDataRequest>, JsonRejection>,
) -> Result<Json<MetricDataResponse>, ControlError> {
    let req = json_body(body, "INVALID_METRIC_QUERY")?;
    Ok(Json(metric_data::query(&control.metrics, &req)))
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
) -> Result<Json<insights::Table>, ControlError> {
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
        for (group, f) in query.groups() {
            lines.extend(
                tail_lines(&dir.join(format!("{f}.log")))
                    .into_iter()
                    .map(|mut l| {
                        // Logs Insights' `@log`: the group a line is in.
                        l.insert("@log".into(), serde_json::Value::from(group.clone()));
                        l
                    })
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

/// Adds one route of [`routes::ALL`] with its handler.
fn serve<H, T>(router: Router<Control>, route: Route, handler: H) -> Router<Control>
where
    H: Handler<T, Control>,
    T: 'static,
{
    router.route(
        route.path,
        axum::routing::on(route.method.filter(), handler),
    )
}

async fn traces(
    State(control): State<Control>,
    Query(filter): Query<TraceFilter>,
) -> Result<Json<Vec<TraceSummary>>, ControlError> {
    xray::query::list(&control.spans, &filter)
        .await
        .map(Json)
        .map_err(span_store_error)
}

#[derive(Deserialize)]
struct TraceParams {
    id: String,
}

async fn trace(
    State(control): State<Control>,
    Query(params): Query<TraceParams>,
) -> Result<Json<TraceView>, ControlError> {
    match xray::query::show(&control.spans, &control.data_dir.logs(), &params.id).await {
        Ok(Some(view)) => Ok(Json(view)),
        Ok(None) => Err(ControlError(
            StatusCode::NOT_FOUND,
            "TRACE_NOT_FOUND",
            format!(
                "no trace {:?}: give a trace id (32 hex digits or 1-xxxxxxxx-…) or an order id the stack has traced",
                params.id
            ),
        )),
        Err(e) => Err(span_store_error(e)),
    }
}

#[derive(Deserialize)]
struct MapParams {
    minutes: Option<u64>,
}

async fn service_map(
    State(control): State<Control>,
    Query(params): Query<MapParams>,
) -> Result<Json<ServiceMap>, ControlError> {
    xray::query::recent_map(&control.spans, params.minutes)
        .await
        .map(Json)
        .map_err(span_store_error)
}

fn span_store_error(e: SpanStoreError) -> ControlError {
    ControlError(
        StatusCode::INTERNAL_SERVER_ERROR,
        "SPAN_STORE",
        e.to_string(),
    )
}

impl Control {
    pub fn router(self) -> axum::Router {
        let r = Router::new();
        let r = serve(r, routes::ABOUT, about);
        let r = serve(r, routes::DASHBOARDS, dashboard_bodies);
        let r = serve(r, routes::METRIC_DATA, metric_data);
        let r = serve(r, routes::LOGS, logs);
        let r = serve(r, routes::FUNCTIONS, functions);
        let r = serve(r, routes::DLQ, dlq_list);
        let r = serve(r, routes::DLQ_REDRIVE, dlq_redrive);
        let r = serve(r, routes::METRICS, metrics);
        let r = serve(r, routes::ALARMS, alarms);
        let r = serve(r, routes::CHAOS_STATUS, chaos_status);
        let r = serve(r, routes::CHAOS_START, chaos_start);
        let r = serve(r, routes::CHAOS_STOP, chaos_stop);
        let r = serve(r, routes::CHAOS_JOURNAL, chaos_journal);
        let r = serve(r, routes::CHAOS_FAULTS, chaos_faults);
        let r = serve(r, routes::TRACES, traces);
        let r = serve(r, routes::TRACE, trace);
        let r = serve(r, routes::SERVICE_MAP, service_map);
        let guard = self.guard.clone();
        // Outermost: nothing, not even an asset, answers a request the guard refuses.
        r.fallback(super::assets::asset).with_state(self).layer(
            axum::middleware::from_fn_with_state(guard, super::guard::enforce),
        )
    }
}
