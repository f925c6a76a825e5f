//! `workshop traces`: the local X-Ray's trace list and one trace as a waterfall in the
//! terminal, from a running stack's control plane (the same JSON the console's Traces page
//! draws).

use crate::report::console_call;
use crate::stack::console::routes;
use serde_json::Value;
use std::fmt::Write as _;

type Error = Box<dyn std::error::Error>;

/// The list's filters, as `GET /api/traces` takes them.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub order_id: Option<String>,
    pub function: Option<String>,
    pub errors_only: bool,
    pub min_duration_ms: Option<f64>,
    pub minutes: u64,
    pub limit: usize,
}

fn query(filter: &ListFilter) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    if let Some(o) = &filter.order_id {
        q.append_pair("order_id", o);
    }
    if let Some(f) = &filter.function {
        q.append_pair("function", f);
    }
    if filter.errors_only {
        q.append_pair("error", "true");
    }
    if let Some(d) = filter.min_duration_ms {
        q.append_pair("min_duration_ms", &d.to_string());
    }
    q.append_pair("minutes", &filter.minutes.to_string());
    q.append_pair("limit", &filter.limit.to_string());
    q.finish()
}

fn list_of(v: &Value, key: &str) -> String {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// Recent traces, newest first: a table, or the JSON.
pub async fn list(console: &str, filter: &ListFilter, json: bool) -> Result<String, Error> {
    let traces: Vec<Value> =
        console_call(console, routes::TRACES, &query(filter), None::<&()>).await?;
    if json {
        return Ok(serde_json::to_string_pretty(&traces)?);
    }
    if traces.is_empty() {
        return Ok("no traces yet (create an order, or widen --minutes)".into());
    }
    let mut out = format!(
        "{:<24} {:<35} {:<18} {:>10} {:>5} {:>6}  {:<32} {:<36} {}\n",
        "START", "TRACE ID", "ROOT", "DURATION", "SPANS", "ERRORS", "FUNCTIONS", "ORDER", "FAULTS"
    );
    for t in &traces {
        let _ = writeln!(
            out,
            "{:<24} {:<35} {:<18} {:>7.1} ms {:>5} {:>6}  {:<32} {:<36} {}",
            t["start"].as_str().unwrap_or_default(),
            t["xray_trace_id"].as_str().unwrap_or_default(),
            t["root"].as_str().unwrap_or_default(),
            t["duration_ms"].as_f64().unwrap_or_default(),
            t["spans"],
            t["errors"],
            list_of(t, "functions"),
            list_of(t, "order_ids"),
            list_of(t, "faults"),
        );
    }
    Ok(out.trim_end().to_owned())
}

/// One trace (or an order's traces) as a waterfall with its log lines, or the JSON.
pub async fn show(console: &str, id: &str, json: bool) -> Result<String, Error> {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("id", id)
        .finish();
    let view: Value = console_call(console, routes::TRACE, &q, None::<&()>).await?;
    if json {
        return Ok(serde_json::to_string_pretty(&view)?);
    }
    Ok(waterfall(&view))
}

/// The attributes worth a glance on a span's line.
const SHOWN: &[&str] = &[
    "http.response.status_code",
    "faas.coldstart",
    "db.operation.name",
    "rpc.method",
    "messaging.message.id",
    "messaging.aws_sqs.receive_count",
    "order_id",
    "error.type",
];

/// The text form of a trace view: spans indented under their parents, offsets from the
/// trace's start, failed spans and injected faults marked, then the log lines.
pub fn waterfall(view: &Value) -> String {
    let empty = Vec::new();
    let spans = view["spans"].as_array().unwrap_or(&empty);
    let start = spans
        .iter()
        .filter_map(|s| s["start_ns"].as_i64())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for t in view["summary"].as_array().unwrap_or(&empty) {
        let _ = writeln!(
            out,
            "trace {}  {}  {:.1} ms  {} spans  {} failed",
            t["xray_trace_id"].as_str().unwrap_or_default(),
            t["root"].as_str().unwrap_or_default(),
            t["duration_ms"].as_f64().unwrap_or_default(),
            t["spans"],
            t["errors"]
        );
    }
    let ids: std::collections::HashSet<(&str, &str)> = spans
        .iter()
        .map(|s| {
            (
                s["trace_id"].as_str().unwrap_or_default(),
                s["span_id"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let is_root = |s: &Value| {
        let parent = s["parent_span_id"].as_str().unwrap_or_default();
        parent.is_empty() || !ids.contains(&(s["trace_id"].as_str().unwrap_or_default(), parent))
    };
    fn walk(out: &mut String, spans: &[Value], span: &Value, depth: usize, start: i64) {
        let offset = (span["start_ns"].as_i64().unwrap_or(start) - start) as f64 / 1e6;
        let failed = span["status"] == "ERROR";
        let attrs: Vec<String> = SHOWN
            .iter()
            .filter_map(|k| {
                let v = &span["attributes"][*k];
                (!v.is_null())
                    .then(|| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_owned)))
            })
            .collect();
        let _ = writeln!(
            out,
            "{} {:>9.1} ms {:>8.1} ms  {:<9} {}{}  {}",
            if failed { "!" } else { " " },
            offset,
            span["duration_ms"].as_f64().unwrap_or_default(),
            span["kind"].as_str().unwrap_or_default().to_uppercase(),
            "  ".repeat(depth),
            span["name"].as_str().unwrap_or_default(),
            attrs.join(" ")
        );
        for e in span["events"].as_array().into_iter().flatten() {
            if e["name"] == "chaos.fault" {
                let _ = writeln!(
                    out,
                    "!{:>33}{}  chaos.fault {}: {}",
                    "",
                    "  ".repeat(depth + 1),
                    e["attributes"]["chaos.fault"].as_str().unwrap_or_default(),
                    e["attributes"]["chaos.detail"].as_str().unwrap_or_default()
                );
            }
        }
        let id = span["span_id"].as_str().unwrap_or_default();
        for child in spans
            .iter()
            .filter(|c| c["parent_span_id"] == id && c["trace_id"] == span["trace_id"])
        {
            walk(out, spans, child, depth + 1, start);
        }
    }
    for root in spans.iter().filter(|s| is_root(s)) {
        walk(&mut out, spans, root, 0, start);
    }
    let logs = view["logs"].as_array().unwrap_or(&empty);
    if !logs.is_empty() {
        let _ = writeln!(out, "\nlog lines ({}):", logs.len());
        for l in logs {
            let _ = writeln!(
                out,
                "  {} {:<5} {:<16} {}",
                l["timestamp"].as_str().unwrap_or_default(),
                l["level"].as_str().unwrap_or_default(),
                l["function_name"].as_str().unwrap_or("workshop"),
                l["message"].as_str().unwrap_or_default()
            );
        }
    }
    out.trim_end().to_owned()
}
