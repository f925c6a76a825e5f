//! The pieces of a dashboard body in CloudWatch's documented shapes: metric rows
//! `[namespace, name, dimName, dimValue, ..., {options}]`, expression rows
//! `[{"expression": .., "id": .., "label": ..}]`, and the properties of metric, log and alarm
//! widgets. Rows are built from `alarm_engine::Metric` values, which only come from the telemetry
//! catalogue or [`crate::aws_metrics`] (see `alarms::catalog::{business_metric, aws_metric}`).

use alarm_engine::Metric;
use alarms::catalog::{Target, business_metric};
use serde_json::{Map, Value, json};
use telemetry::catalogue::{self, DimensionValue};

/// One metric row; `options` is appended when it is a non-empty object.
pub fn row(metric: &Metric, options: Value) -> Value {
    let mut out = vec![json!(metric.namespace), json!(metric.metric_name)];
    for d in &metric.dimensions {
        out.push(json!(d.name));
        out.push(json!(d.value));
    }
    if options.as_object().is_some_and(|o| !o.is_empty()) {
        out.push(options);
    }
    Value::Array(out)
}

/// Row options that name a line in the legend.
pub fn label(text: &str) -> Value {
    json!({ "label": text })
}

/// Row options for a series an expression reads but the graph does not draw.
pub fn hidden(id: &str) -> Value {
    json!({ "id": id, "visible": false })
}

/// `FILL(p0, 0) + FILL(p1, 0) + ...`: a total over a closed dimension's series in which a quiet
/// value counts as 0 instead of blanking the sum.
pub fn fill_sum(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("FILL({prefix}{i}, 0)"))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// A stacked Sum of an OrderKit count, one line per value of a closed dimension: what each
/// reason, status or fault contributes.
pub fn breakdown<D: DimensionValue>(
    target: Target,
    title: &str,
    metric: catalogue::Metric,
    values: &[D],
) -> Chart {
    Chart::new(title, "Sum")
        .stacked()
        .per_value(target, metric, values)
}

/// An expression row. Expressions stay within the metric math the alarms crate evaluates, so
/// the local stack can draw the same line.
pub fn expression(id: &str, expression: &str, label: &str) -> Value {
    json!([{ "expression": expression, "id": id, "label": label }])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    TimeSeries,
    SingleValue,
    Gauge,
}

impl View {
    fn as_str(self) -> &'static str {
        match self {
            View::TimeSeries => "timeSeries",
            View::SingleValue => "singleValue",
            View::Gauge => "gauge",
        }
    }
}

/// A metric widget's properties.
#[derive(Debug, Clone)]
pub struct Chart {
    title: String,
    view: View,
    stacked: bool,
    stat: String,
    period: u32,
    rows: Vec<Value>,
    horizontal: Vec<Value>,
    y_label: Option<String>,
    whole_range: bool,
    gauge_range: Option<(f64, f64)>,
}

impl Chart {
    pub fn new(title: impl Into<String>, stat: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            view: View::TimeSeries,
            stacked: false,
            stat: stat.into(),
            period: alarms::catalog::PERIOD,
            rows: Vec::new(),
            horizontal: Vec::new(),
            y_label: None,
            whole_range: false,
            gauge_range: None,
        }
    }

    pub fn view(mut self, view: View) -> Self {
        self.view = view;
        self
    }

    /// A gauge from `min` to `max` (CloudWatch requires both for the gauge view).
    pub fn gauge(mut self, min: f64, max: f64) -> Self {
        self.view = View::Gauge;
        self.gauge_range = Some((min, max));
        self
    }

    pub fn stacked(mut self) -> Self {
        self.stacked = true;
        self
    }

    pub fn period(mut self, seconds: u32) -> Self {
        self.period = seconds;
        self
    }

    /// A single value over the dashboard's whole time range instead of the last period.
    pub fn whole_range(mut self) -> Self {
        self.whole_range = true;
        self
    }

    pub fn y_label(mut self, label: impl Into<String>) -> Self {
        self.y_label = Some(label.into());
        self
    }

    pub fn row(mut self, metric: &Metric, options: Value) -> Self {
        self.rows.push(row(metric, options));
        self
    }

    pub fn expression(mut self, id: &str, text: &str, label: &str) -> Self {
        self.rows.push(expression(id, text, label));
        self
    }

    /// One labelled line per `(metric, label)`: a line per function, operation or value.
    pub fn labelled_rows<L: AsRef<str>>(self, rows: impl IntoIterator<Item = (Metric, L)>) -> Self {
        rows.into_iter().fold(self, |c, (metric, text)| {
            c.row(&metric, label(text.as_ref()))
        })
    }

    /// One line of `metric` per statistic (`p50`, `Average`, ...), labelled with the statistic.
    pub fn stats(self, metric: &Metric, stats: &[&str]) -> Self {
        self.stats_labelled(metric, stats, str::to_owned)
    }

    /// One line of `metric` per statistic, labelled `label(stat)`.
    pub fn stats_labelled(
        self,
        metric: &Metric,
        stats: &[&str],
        label: impl Fn(&str) -> String,
    ) -> Self {
        stats.iter().fold(self, |c, stat| {
            c.row(metric, json!({ "stat": stat, "label": label(stat) }))
        })
    }

    /// One line per value of a closed dimension of an OrderKit metric, labelled with the value.
    pub fn per_value<D: DimensionValue>(
        self,
        target: Target,
        metric: catalogue::Metric,
        values: &[D],
    ) -> Self {
        self.labelled_rows(values.iter().map(|v| {
            let series = business_metric(target, metric, &[(D::KEY, v.as_str())]);
            (series, v.as_str())
        }))
    }

    /// One line `id` for the total over every value of a closed dimension: hidden rows
    /// `{prefix}0..` and their [`fill_sum`].
    pub fn total_over<D: DimensionValue>(
        self,
        target: Target,
        metric: catalogue::Metric,
        values: &[D],
        prefix: &str,
        (id, text): (&str, &str),
    ) -> Self {
        values
            .iter()
            .enumerate()
            .fold(self, |c, (i, v)| {
                c.row(
                    &business_metric(target, metric, &[(D::KEY, v.as_str())]),
                    hidden(&format!("{prefix}{i}")),
                )
            })
            .expression(id, &fill_sum(prefix, values.len()), text)
    }

    /// A horizontal line, usually an alarm's threshold so the graph shows how close it is.
    pub fn threshold(mut self, label: impl Into<String>, value: f64) -> Self {
        self.horizontal
            .push(json!({ "label": label.into(), "value": value }));
        self
    }

    pub fn properties(self, target: Target) -> Value {
        let mut p = Map::new();
        p.insert("title".into(), json!(self.title));
        p.insert("view".into(), json!(self.view.as_str()));
        p.insert("region".into(), json!(target.region()));
        p.insert("stat".into(), json!(self.stat));
        p.insert("period".into(), json!(self.period));
        p.insert("metrics".into(), Value::Array(self.rows));
        match self.view {
            View::TimeSeries => {
                p.insert("stacked".into(), json!(self.stacked));
            }
            View::SingleValue => {
                p.insert("sparkline".into(), json!(!self.whole_range));
                if self.whole_range {
                    p.insert("setPeriodToTimeRange".into(), json!(true));
                }
            }
            View::Gauge => {
                let (min, max) = self.gauge_range.unwrap_or((0.0, 100.0));
                p.insert(
                    "yAxis".into(),
                    json!({ "left": { "min": min, "max": max } }),
                );
            }
        }
        if !self.horizontal.is_empty() {
            p.insert(
                "annotations".into(),
                json!({ "horizontal": self.horizontal }),
            );
        }
        if let Some(label) = self.y_label {
            p.insert(
                "yAxis".into(),
                json!({ "left": { "label": label, "showUnits": false, "min": 0 } }),
            );
        }
        Value::Object(p)
    }
}

/// A Logs Insights widget over `log_groups`; `query` is what follows the SOURCE commands.
pub fn log_properties(target: Target, title: &str, log_groups: &[String], query: &str) -> Value {
    let sources = log_groups
        .iter()
        .map(|g| format!("SOURCE '{g}'"))
        .collect::<Vec<_>>()
        .join(" | ");
    json!({
        "title": title,
        "region": target.region(),
        "view": "table",
        "query": format!("{sources} | {query}"),
    })
}

/// An alarm status widget listing `arns`.
pub fn alarm_properties(title: &str, arns: Vec<String>) -> Value {
    json!({ "title": title, "alarms": arns, "sortBy": "stateUpdatedTimestamp" })
}
