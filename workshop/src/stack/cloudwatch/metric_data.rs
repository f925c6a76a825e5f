//! GetMetricData for the console: a dashboard widget's `metrics` rows (CloudWatch's metric
//! widget format, metric math included) evaluated against the local metric store with the
//! same statistics and math the alarm evaluator uses, one value per aligned period.

use super::metric_store::MetricStore;
use alarms::{Metric, MetricQuery, MetricStat, QueryKind, Statistic, math_series};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// CloudWatch returns at most 1,440 datapoints a series in a dashboard graph.
pub const MAX_POINTS: i64 = 1440;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricDataRequest {
    /// The widget's `properties.metrics`.
    pub metrics: Vec<Value>,
    /// The widget's default statistic and period.
    #[serde(default)]
    pub stat: Option<String>,
    #[serde(default)]
    pub period: Option<u32>,
    /// Epoch milliseconds.
    pub start: i64,
    pub end: i64,
    /// The widget's `setPeriodToTimeRange`: each series also gets one value over the whole
    /// range (a single-value widget's "total over the time range").
    #[serde(default)]
    pub set_period_to_time_range: bool,
}

/// One series as the console reads it: camelCase on the wire, like every console API type
/// (`wholeRange`; `workshop/console/widgets/` reads these names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    pub id: String,
    pub label: String,
    /// Period starts, epoch milliseconds.
    pub timestamps: Vec<i64>,
    pub values: Vec<Option<f64>>,
    /// With `setPeriodToTimeRange`: the statistic over the whole range, as one period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whole_range: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MetricDataResponse {
    pub series: Vec<Series>,
    pub errors: Vec<String>,
}

/// One parsed row: the query, its label, and whether the graph shows it.
struct Row {
    query: MetricQuery,
    label: String,
    visible: bool,
}

fn parse_row(i: usize, row: &Value, stat: &str, period: u32) -> Result<Row, String> {
    let items = row
        .as_array()
        .ok_or_else(|| format!("row {i} is not an array"))?;
    let (options, rest) = match items.split_last() {
        Some((Value::Object(o), rest)) => (o.clone(), rest),
        _ => (Map::new(), items.as_slice()),
    };
    let opt_str = |k: &str| options.get(k).and_then(Value::as_str).map(str::to_owned);
    let visible = options
        .get("visible")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if let Some(expression) = opt_str("expression") {
        let id = opt_str("id").unwrap_or_else(|| format!("e{i}"));
        return Ok(Row {
            label: opt_str("label").unwrap_or_else(|| expression.clone()),
            query: MetricQuery {
                id,
                kind: QueryKind::Expression(expression),
                label: None,
                return_data: false,
            },
            visible,
        });
    }
    let strings: Vec<&str> = rest.iter().filter_map(Value::as_str).collect();
    if strings.len() != rest.len() {
        return Err(format!(
            "row {i}: namespace, name and dimensions must be strings"
        ));
    }
    let [namespace, name, dims @ ..] = strings.as_slice() else {
        return Err(format!(
            "row {i}: a metric row needs a namespace and a metric name"
        ));
    };
    if dims.len() % 2 != 0 {
        return Err(format!("row {i}: dimensions come in name/value pairs"));
    }
    let metric = dims
        .chunks_exact(2)
        .fold(Metric::new(*namespace, *name), |m, kv| {
            m.dimension(kv[0], kv[1])
        });
    let stat_text = opt_str("stat").unwrap_or_else(|| stat.to_owned());
    let stat: Statistic = stat_text
        .parse()
        .map_err(|_| format!("row {i}: unknown statistic {stat_text:?}"))?;
    // One time axis per widget: a row with a period of its own would not line up with it.
    if let Some(own) = options.get("period").and_then(Value::as_u64)
        && own != u64::from(period)
    {
        return Err(format!(
            "row {i}: period {own} differs from the widget's {period}; the console draws one period per widget"
        ));
    }
    // CloudWatch's default label: the metric name, with the dimension values that tell
    // series apart (not the Service/Environment every business metric carries).
    let distinct: Vec<&str> = dims
        .chunks_exact(2)
        .filter(|kv| !matches!(kv[0], "Service" | "Environment" | "ApiId" | "Stage"))
        .map(|kv| kv[1])
        .collect();
    let label = opt_str("label").unwrap_or_else(|| {
        if distinct.is_empty() {
            (*name).to_owned()
        } else {
            format!("{name} {}", distinct.join(" "))
        }
    });
    Ok(Row {
        query: MetricQuery {
            id: opt_str("id").unwrap_or_else(|| format!("m{i}")),
            kind: QueryKind::MetricStat(MetricStat::new(metric, period, stat)),
            label: None,
            return_data: false,
        },
        label,
        visible,
    })
}

/// `queries` with only query `id` returning data, as GetMetricData answers one row at a time.
fn returning_only(queries: &[MetricQuery], id: &str) -> Vec<MetricQuery> {
    queries
        .iter()
        .map(|q| MetricQuery {
            return_data: q.id == id,
            ..q.clone()
        })
        .collect()
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Evaluates the widget's rows over `[start, end]`, the period containing `end` included (a
/// live graph shows the period in progress, as CloudWatch's does).
pub fn query(store: &MetricStore, req: &MetricDataRequest) -> MetricDataResponse {
    let stat = req.stat.as_deref().unwrap_or("Average");
    let period = req.period.unwrap_or(300).max(1);
    let mut out = MetricDataResponse::default();
    // Timestamps CloudWatch would accept: from 1970 to 9999, start before end.
    const LATEST_MS: i64 = 253_402_300_799_000;
    if !(0..=LATEST_MS).contains(&req.start) || !(req.start..=LATEST_MS).contains(&req.end) {
        out.errors.push(format!(
            "start and end must be epoch milliseconds with start <= end, got {}..{}",
            req.start, req.end
        ));
        return out;
    }
    let mut rows = Vec::new();
    for (i, row) in req.metrics.iter().enumerate() {
        match parse_row(i, row, stat, period) {
            Ok(r) => rows.push(r),
            Err(e) => out.errors.push(e),
        }
    }
    if !out.errors.is_empty() {
        return out;
    }
    let p = i64::from(period) * 1000;
    let start = req.start.div_euclid(p) * p;
    let end = (req.end.div_euclid(p) + 1) * p;
    if end <= start || (end - start) / p > MAX_POINTS {
        out.errors.push(format!(
            "the range holds {} periods of {period} s; at most {MAX_POINTS}",
            (end - start) / p
        ));
        return out;
    }
    let timestamps: Vec<i64> = (0..(end - start) / p).map(|k| start + k * p).collect();
    let queries: Vec<MetricQuery> = rows.iter().map(|r| r.query.clone()).collect();
    // The whole range as one period, for setPeriodToTimeRange.
    let range_secs =
        u32::try_from(((req.end - req.start).max(1000) + 999) / 1000).unwrap_or(u32::MAX);
    let whole: Vec<MetricQuery> = queries
        .iter()
        .map(|q| match &q.kind {
            QueryKind::MetricStat(stat) => MetricQuery {
                kind: QueryKind::MetricStat(MetricStat::new(
                    stat.metric.clone(),
                    range_secs,
                    stat.stat,
                )),
                ..q.clone()
            },
            QueryKind::Expression(_) => q.clone(),
        })
        .collect();
    store.with(|metrics| {
        for row in rows.iter().filter(|r| r.visible) {
            let only = returning_only(&queries, &row.query.id);
            let whole_range = if req.set_period_to_time_range {
                let only = returning_only(&whole, &row.query.id);
                let range_end = req.start + i64::from(range_secs) * 1000;
                math_series(&only, metrics, at(req.start), at(range_end))
                    .ok()
                    .and_then(|v| v.first().copied().flatten())
            } else {
                None
            };
            match math_series(&only, metrics, at(start), at(end)) {
                Ok(mut values) => {
                    values.resize(timestamps.len(), None);
                    out.series.push(Series {
                        id: row.query.id.clone(),
                        label: row.label.clone(),
                        timestamps: timestamps.clone(),
                        values,
                        whole_range,
                    });
                }
                Err(e) => out.errors.push(format!("{}: {e}", row.query.id)),
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alarms::catalog::aws_metrics::api;
    use serde_json::json;

    fn store() -> MetricStore {
        let store = MetricStore::default();
        store.record(
            api::NAMESPACE,
            "Count",
            &[("ApiId", "local")],
            at(60_000),
            1.0,
        );
        store.record(
            api::NAMESPACE,
            "Count",
            &[("ApiId", "local")],
            at(61_000),
            1.0,
        );
        store.record(
            api::NAMESPACE,
            "5xx",
            &[("ApiId", "local")],
            at(61_000),
            1.0,
        );
        store.record(
            api::NAMESPACE,
            "Count",
            &[("ApiId", "local")],
            at(125_000),
            1.0,
        );
        store
    }

    #[test]
    fn rows_math_and_hidden_inputs() {
        let req = MetricDataRequest {
            metrics: vec![
                json!([api::NAMESPACE, "Count", "ApiId", "local", {"id": "requests", "visible": false}]),
                json!([api::NAMESPACE, "5xx", "ApiId", "local", {"id": "errors"}]),
                json!([{"expression": "IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)", "id": "rate", "label": "5xx %"}]),
            ],
            stat: Some("Sum".into()),
            period: Some(60),
            start: 60_000,
            end: 130_000,
            set_period_to_time_range: true,
        };
        let r = query(&store(), &req);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.series.len(), 2, "the hidden input is not returned");
        assert_eq!(r.series[0].label, "5xx");
        assert_eq!(r.series[0].timestamps, [60_000, 120_000]);
        assert_eq!(r.series[0].values, [Some(1.0), None]);
        assert_eq!(r.series[1].label, "5xx %");
        assert_eq!(r.series[1].values, [Some(50.0), Some(0.0)]);
        // Over the whole 70 s range: 1 error of 3 requests, as one period (not an average of
        // the per-minute rates).
        assert_eq!(r.series[0].whole_range, Some(1.0));
        let third = r.series[1].whole_range.unwrap();
        assert!((third - 100.0 / 3.0).abs() < 1e-9, "{third}");
    }

    #[test]
    fn bad_rows_are_named() {
        let req = MetricDataRequest {
            metrics: vec![
                json!(["OnlyNamespace"]),
                json!(["A", "B", {"stat": "Median"}]),
            ],
            stat: None,
            period: Some(60),
            start: 0,
            end: 60_000,
            set_period_to_time_range: false,
        };
        let r = query(&store(), &req);
        assert_eq!(
            r.errors,
            [
                "row 0: a metric row needs a namespace and a metric name",
                "row 1: unknown statistic \"Median\""
            ]
        );
    }
}
