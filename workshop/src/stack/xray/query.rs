//! What the console's Traces page and `workshop traces` ask of the span store: recent traces
//! (filtered), one trace with its log lines, and the service map, as X-Ray's trace list,
//! trace view and trace map show them.

use super::store::{SpanStore, SpanStoreError, StoredSpan};
use chrono::{TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead;
use std::path::Path;

/// How far back the list and the map look unless told (minutes).
pub const DEFAULT_WINDOW_MINUTES: u64 = 60;
/// Spans read for the list and the map at most.
const SCAN_SPANS: i64 = 20_000;
/// Traces read whole for one list, at most (the newest first).
const MAX_EXAMINED: usize = 1_000;

/// The trace list's filters (query parameters of `GET /api/traces`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TraceFilter {
    pub order_id: Option<String>,
    /// Traces with a span of this function (`faas.name`).
    pub function: Option<String>,
    /// Only traces with (true) or without (false) a failed span.
    pub error: Option<bool>,
    pub min_duration_ms: Option<f64>,
    pub limit: Option<usize>,
    pub minutes: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TraceSummary {
    pub trace_id: String,
    pub xray_trace_id: String,
    /// The root span's name (`POST /orders`), else the earliest span's.
    pub root: String,
    pub start: String,
    pub start_ns: i64,
    pub duration_ms: f64,
    pub spans: usize,
    pub errors: usize,
    pub functions: Vec<String>,
    pub order_ids: Vec<String>,
    /// Names of the faults injected in it (`chaos.fault` events).
    pub faults: Vec<String>,
}

/// One trace (or, for an order, every trace that holds it) with its spans and log lines.
#[derive(Debug, Clone, Serialize)]
pub struct TraceView {
    pub trace_ids: Vec<String>,
    pub summary: Vec<TraceSummary>,
    pub spans: Vec<StoredSpan>,
    /// The log lines that carry one of the trace ids, by time.
    pub logs: Vec<Value>,
}

fn summarize(trace_id: &str, spans: &[&StoredSpan]) -> TraceSummary {
    let start_ns = spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
    let end_ns = spans.iter().map(|s| s.end_ns).max().unwrap_or(start_ns);
    let ids: BTreeSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let root = spans
        .iter()
        .filter(|s| s.parent_span_id.is_empty() || !ids.contains(s.parent_span_id.as_str()))
        .min_by_key(|s| s.start_ns)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let set = |key: &str| -> Vec<String> {
        spans
            .iter()
            .filter_map(|s| s.attr(key).map(str::to_owned))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let faults = spans
        .iter()
        .flat_map(|s| s.events.iter())
        .filter(|e| e["name"] == "chaos.fault")
        .filter_map(|e| e["attributes"]["chaos.fault"].as_str().map(str::to_owned))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    TraceSummary {
        trace_id: trace_id.to_owned(),
        xray_trace_id: xray_form(trace_id),
        root,
        start: Utc
            .timestamp_nanos(start_ns)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        start_ns,
        duration_ms: (end_ns - start_ns) as f64 / 1e6,
        spans: spans.len(),
        errors: spans.iter().filter(|s| s.is_error()).count(),
        functions: set("faas.name"),
        order_ids: set("order_id"),
        faults,
    }
}

fn xray_form(trace_id: &str) -> String {
    opentelemetry::trace::TraceId::from_hex(trace_id)
        .map_or_else(|_| trace_id.to_owned(), telemetry::trace::xray_trace_id)
}

/// A trace id as typed: 32 hex, or the X-Ray form `1-xxxxxxxx-<24 hex>`.
pub fn parse_trace_id(text: &str) -> Option<String> {
    let t = text.trim().to_ascii_lowercase();
    let hex = match t.strip_prefix("1-") {
        Some(rest) => rest.replace('-', ""),
        None => t,
    };
    (hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

fn group(spans: &[StoredSpan]) -> BTreeMap<&str, Vec<&StoredSpan>> {
    let mut by_trace: BTreeMap<&str, Vec<&StoredSpan>> = BTreeMap::new();
    for s in spans {
        by_trace.entry(s.trace_id.as_str()).or_default().push(s);
    }
    by_trace
}

fn now_ns() -> i64 {
    Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn window_start(minutes: Option<u64>) -> i64 {
    let minutes = minutes.unwrap_or(DEFAULT_WINDOW_MINUTES).min(7 * 24 * 60);
    now_ns().saturating_sub(i64::try_from(minutes).unwrap_or(0) * 60 * 1_000_000_000)
}

/// Recent traces that match `filter`, newest first.
pub async fn list(
    store: &SpanStore,
    filter: &TraceFilter,
) -> Result<Vec<TraceSummary>, SpanStoreError> {
    let spans = match filter.order_id.as_deref().filter(|o| !o.is_empty()) {
        Some(order) => {
            let mut spans = Vec::new();
            for id in store.traces_of_order(order.trim()).await? {
                spans.extend(store.trace(&id).await?);
            }
            spans
        }
        None => {
            store
                .since(window_start(filter.minutes), SCAN_SPANS)
                .await?
        }
    };
    let matches = |t: &TraceSummary| {
        filter
            .function
            .as_deref()
            .filter(|f| !f.is_empty())
            .is_none_or(|f| t.functions.iter().any(|g| g == f))
            && filter.error.is_none_or(|e| (t.errors > 0) == e)
            && filter.min_duration_ms.is_none_or(|d| t.duration_ms >= d)
    };
    let limit = filter.limit.unwrap_or(50).clamp(1, 1000);
    let mut candidates: Vec<TraceSummary> = group(&spans)
        .into_iter()
        .map(|(id, spans)| summarize(id, &spans))
        .collect();
    candidates.sort_by_key(|t| std::cmp::Reverse(t.start_ns));
    // The window may cut a trace (its first spans before it, or past the scan's limit):
    // each listed trace is read whole, then judged.
    let mut out = Vec::new();
    for candidate in candidates.into_iter().take(MAX_EXAMINED) {
        if out.len() >= limit {
            break;
        }
        let whole = store.trace(&candidate.trace_id).await?;
        let refs: Vec<&StoredSpan> = whole.iter().collect();
        let t = summarize(&candidate.trace_id, &refs);
        if matches(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// What `id` names: a trace (either form) or an order (its traces, newest first).
pub async fn resolve(store: &SpanStore, id: &str) -> Result<Vec<String>, SpanStoreError> {
    if let Some(trace) = parse_trace_id(id)
        && store.has_trace(&trace).await?
    {
        return Ok(vec![trace]);
    }
    store.traces_of_order(id.trim()).await
}

/// The trace(s) `id` names with their log lines from `logs_dir`; `None` when it names none.
pub async fn show(
    store: &SpanStore,
    logs_dir: &Path,
    id: &str,
) -> Result<Option<TraceView>, SpanStoreError> {
    let mut traces = Vec::new();
    for t in resolve(store, id).await? {
        let spans = store.trace(&t).await?;
        traces.push((t, spans));
    }
    // An order's life (create, processing, retries, redrive), not its lookups
    // (`GET /orders/{id}`), unless it has nothing else.
    let is_lookup = |spans: &[StoredSpan]| {
        let refs: Vec<&StoredSpan> = spans.iter().collect();
        summarize("", &refs).root.starts_with("GET ")
    };
    if traces.iter().any(|(_, s)| !is_lookup(s)) {
        traces.retain(|(_, s)| !is_lookup(s));
    }
    if traces.is_empty() {
        return Ok(None);
    }
    let trace_ids: Vec<String> = traces.iter().map(|(t, _)| t.clone()).collect();
    let mut spans: Vec<StoredSpan> = traces.into_iter().flat_map(|(_, s)| s).collect();
    spans.sort_by_key(|s| s.start_ns);
    let summary = group(&spans)
        .into_iter()
        .map(|(id, spans)| summarize(id, &spans))
        .collect();
    let dir = logs_dir.to_owned();
    let wanted = trace_ids.clone();
    let logs = tokio::task::spawn_blocking(move || log_lines(&dir, &wanted))
        .await
        .map_err(|e| SpanStoreError::Task(e.to_string()))?;
    Ok(Some(TraceView {
        trace_ids,
        summary,
        spans,
        logs,
    }))
}

/// The JSON log lines (of every log group file in `dir`) whose `trace_id` is one of `ids`.
fn log_lines(dir: &Path, ids: &[String]) -> Vec<Value> {
    let needles: Vec<String> = ids
        .iter()
        .map(|id| format!("\"trace_id\":\"{id}\""))
        .collect();
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("log") {
            continue;
        }
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
            if needles.iter().any(|n| line.contains(n.as_str()))
                && let Ok(v) = serde_json::from_str::<Value>(&line)
            {
                out.push(v);
            }
        }
    }
    out.sort_by(|a, b| a["timestamp"].as_str().cmp(&b["timestamp"].as_str()));
    out
}

/// A box on the service map.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Node {
    pub id: String,
    pub name: String,
    /// `api`, `function`, `table`, `queue`, `dlq`, `aws` (another AWS service).
    pub kind: &'static str,
}

/// An arrow: calls from `source` to `target` with their outcome.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Edge {
    pub source: String,
    pub target: String,
    pub requests: usize,
    pub errors: usize,
    pub error_rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub avg_ms: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceMap {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub minutes: u64,
}

fn function_node(name: &str) -> Node {
    Node {
        id: format!("function:{name}"),
        name: name.to_owned(),
        kind: "function",
    }
}

fn api_node() -> Node {
    Node {
        id: "api".into(),
        name: "API Gateway".into(),
        kind: "api",
    }
}

fn queue_node(name: &str) -> Node {
    let dlq = name.ends_with("-dlq") || name == orders::settings::local::DEAD_LETTER_QUEUE;
    Node {
        id: format!("queue:{name}"),
        name: name.to_owned(),
        kind: if dlq { "dlq" } else { "queue" },
    }
}

/// The node a span stands for by itself (a function's invocation or consumer span, the
/// API's server span), if any.
fn own_node(s: &StoredSpan) -> Option<Node> {
    if let Some(f) = s.attr("faas.name") {
        return Some(function_node(f));
    }
    (s.kind == "server" && s.attr("http.route").is_some()).then(api_node)
}

/// The node a span calls (a table, a queue, another AWS service), if any.
fn target_node(s: &StoredSpan) -> Option<Node> {
    if s.kind == "producer" {
        return s.attr("messaging.destination.name").map(queue_node);
    }
    if s.kind != "client" {
        return None;
    }
    if let Some(table) = s
        .attr("aws.dynamodb.table_names")
        .or_else(|| s.attr("db.collection.name"))
    {
        return Some(Node {
            id: format!("table:{table}"),
            name: table.to_owned(),
            kind: "table",
        });
    }
    s.attr("rpc.service").map(|svc| Node {
        id: format!("aws:{svc}"),
        name: svc.to_owned(),
        kind: "aws",
    })
}

#[derive(Default)]
struct Calls {
    durations: Vec<f64>,
    errors: usize,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The service map of `spans`: who calls whom, how often, how fast, how often it fails.
pub fn service_map(spans: &[StoredSpan], minutes: u64) -> ServiceMap {
    let by_id: HashMap<(&str, &str), &StoredSpan> = spans
        .iter()
        .map(|s| ((s.trace_id.as_str(), s.span_id.as_str()), s))
        .collect();
    // The nearest node at or above a span, walking parents within its trace.
    let owner = |s: &StoredSpan| -> Option<Node> {
        let mut cur = Some(s);
        let mut hops = 0;
        while let Some(span) = cur {
            if let Some(n) = own_node(span) {
                return Some(n);
            }
            hops += 1;
            if hops > 64 {
                return None;
            }
            cur = by_id
                .get(&(span.trace_id.as_str(), span.parent_span_id.as_str()))
                .copied();
        }
        None
    };
    let parent_owner = |s: &StoredSpan| {
        by_id
            .get(&(s.trace_id.as_str(), s.parent_span_id.as_str()))
            .and_then(|p| owner(p))
    };
    let mut nodes: BTreeSet<Node> = BTreeSet::new();
    let mut calls: BTreeMap<(String, String), Calls> = BTreeMap::new();
    let mut add =
        |from: Node, to: Node, s: &StoredSpan, failed: bool, nodes: &mut BTreeSet<Node>| {
            let c = calls.entry((from.id.clone(), to.id.clone())).or_default();
            c.durations.push(s.duration_ms);
            c.errors += usize::from(failed || s.is_error());
            nodes.insert(from);
            nodes.insert(to);
        };
    for s in spans {
        if let Some(me) = own_node(s) {
            nodes.insert(me.clone());
            if s.kind == "consumer" {
                // A message's processing: from the queue it came from.
                if let Some(q) = s.attr("messaging.destination.name") {
                    add(queue_node(q), me, s, false, &mut nodes);
                }
            } else if let Some(caller) = parent_owner(s).filter(|c| *c != me) {
                // A request the API answered with a 5xx failed on this arrow, whatever the
                // invocation itself returned.
                let parent_failed = by_id
                    .get(&(s.trace_id.as_str(), s.parent_span_id.as_str()))
                    .is_some_and(|p| p.is_error());
                add(caller, me, s, parent_failed, &mut nodes);
            }
            continue;
        }
        if let Some(to) = target_node(s) {
            let from = match s.attr("messaging.aws_sqs.source_queue") {
                // The redrive policy moving a message: queue to DLQ.
                Some(q) => Some(queue_node(q)),
                None => owner(s),
            };
            if let Some(from) = from {
                add(from, to, s, false, &mut nodes);
            }
        }
    }
    let edges = calls
        .into_iter()
        .map(|((source, target), mut c)| {
            c.durations.sort_by(|a, b| a.total_cmp(b));
            let n = c.durations.len();
            Edge {
                source,
                target,
                requests: n,
                errors: c.errors,
                error_rate: if n == 0 {
                    0.0
                } else {
                    c.errors as f64 / n as f64
                },
                p50_ms: percentile(&c.durations, 0.5),
                p99_ms: percentile(&c.durations, 0.99),
                avg_ms: if n == 0 {
                    0.0
                } else {
                    c.durations.iter().sum::<f64>() / n as f64
                },
            }
        })
        .collect();
    ServiceMap {
        nodes: nodes.into_iter().collect(),
        edges,
        minutes,
    }
}

/// The service map of the last `minutes`.
pub async fn recent_map(
    store: &SpanStore,
    minutes: Option<u64>,
) -> Result<ServiceMap, SpanStoreError> {
    let window = minutes.unwrap_or(DEFAULT_WINDOW_MINUTES);
    let spans = store.since(window_start(Some(window)), SCAN_SPANS).await?;
    Ok(service_map(&spans, window))
}
