//! `workshop metrics`: the terminal view of a running stack's metrics, the same figures the
//! dashboards plot.

use crate::stack::cloudwatch::alarm_loop::AlarmsView;
use crate::stack::cloudwatch::metric_store::MetricSummary;
use crate::stack::console::routes::{self, Route};
use alarms::catalog::aws_metrics::{api, dynamodb, lambda, sqs};

type Error = Box<dyn std::error::Error>;

/// One call to a running stack's control plane: its JSON answer, or an error in words (the
/// control plane's own `error` message, or that the stack is not running).
pub async fn console_call<T: serde::de::DeserializeOwned>(
    console: &str,
    route: Route,
    query: &str,
    body: Option<&impl serde::Serialize>,
) -> Result<T, Error> {
    let mut url = format!("{}{}", console.trim_end_matches('/'), route.path);
    if !query.is_empty() {
        url = format!("{url}?{query}");
    }
    let mut request = reqwest::Client::new().request(route.method.http(), &url);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.map_err(|e| {
        format!("cannot reach the local stack at {console} ({e}); is `workshop up` running?")
    })?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or(text);
        return Err(format!("{url}: {message} ({status})").into());
    }
    Ok(response.json().await?)
}

pub async fn fetch_metrics(console: &str, minutes: i64) -> Result<Vec<MetricSummary>, Error> {
    let query = format!("minutes={minutes}");
    console_call(console, routes::METRICS, &query, None::<&()>).await
}

/// Where `workshop metrics` reads from.
pub enum Source<'a> {
    /// A running local stack's control plane.
    Local { console: &'a str },
    /// CloudWatch, through aws-config (a deployed stack, or `AWS_ENDPOINT_URL`).
    CloudWatch,
}

pub async fn metrics(source: Source<'_>, minutes: i64, as_json: bool) -> Result<String, Error> {
    let rows = match source {
        Source::Local { console } => fetch_metrics(console, minutes).await?,
        Source::CloudWatch => {
            let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            fetch_cloudwatch(&aws_sdk_cloudwatch::Client::new(&aws), minutes).await?
        }
    };
    if as_json {
        return Ok(serde_json::to_string_pretty(&rows)?);
    }
    if rows.is_empty() {
        return Ok(format!("No datapoints in the last {minutes} minutes."));
    }
    let mut out = format!(
        "{:<16} {:<38} {:<40} {:>7} {:>12} {:>10} {:>10}\n",
        "NAMESPACE", "METRIC", "DIMENSIONS", "SAMPLES", "SUM", "AVG", "MAX"
    );
    for r in rows {
        let dims: Vec<String> = r
            .dimensions
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push_str(&format!(
            "{:<16} {:<38} {:<40} {:>7} {:>12.2} {:>10.2} {:>10.2}\n",
            r.namespace,
            r.name,
            dims.join(","),
            r.samples,
            r.sum,
            r.average,
            r.maximum
        ));
    }
    Ok(out.trim_end().to_owned())
}

/// The namespaces `--aws` reads: the functions' EMF namespace and the AWS services the
/// dashboards plot.
pub const AWS_NAMESPACES: [&str; 5] = [
    telemetry::catalogue::NAMESPACE,
    lambda::NAMESPACE,
    api::NAMESPACE,
    sqs::NAMESPACE,
    dynamodb::NAMESPACE,
];

/// The same rows from CloudWatch (ListMetrics, then GetMetricData with the four statistics
/// over the whole window as one period), so both tracks of the workshop see the same view.
pub async fn fetch_cloudwatch(
    client: &aws_sdk_cloudwatch::Client,
    minutes: i64,
) -> Result<Vec<MetricSummary>, Error> {
    use aws_sdk_cloudwatch::error::DisplayErrorContext;
    use aws_sdk_cloudwatch::types::{Metric, MetricDataQuery, MetricStat};
    let mut metrics: Vec<Metric> = Vec::new();
    for namespace in AWS_NAMESPACES {
        let mut pages = client
            .list_metrics()
            .namespace(namespace)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| format!("ListMetrics failed: {}", DisplayErrorContext(&e)))?;
            metrics.extend(page.metrics().iter().cloned());
        }
    }
    let end =
        aws_sdk_cloudwatch::primitives::DateTime::from_secs(chrono::Utc::now().timestamp() + 60);
    let start = aws_sdk_cloudwatch::primitives::DateTime::from_secs(
        chrono::Utc::now().timestamp() - minutes.max(1) * 60,
    );
    // One period covering the whole window (a multiple of 60 s, as CloudWatch requires).
    let period = i32::try_from(minutes.max(1) * 60 + 120).unwrap_or(i32::MAX);
    const STATS: [&str; 5] = ["SampleCount", "Sum", "Average", "Maximum", "Minimum"];
    let mut rows = Vec::new();
    // GetMetricData takes at most 500 queries: 5 per metric, so 100 metrics a call.
    for chunk in metrics.chunks(100) {
        let queries: Vec<MetricDataQuery> = chunk
            .iter()
            .enumerate()
            .flat_map(|(i, m)| {
                STATS.iter().enumerate().map(move |(s, stat)| {
                    MetricDataQuery::builder()
                        .id(format!("m{i}s{s}"))
                        .metric_stat(
                            MetricStat::builder()
                                .metric(m.clone())
                                .period(period)
                                .stat(*stat)
                                .build(),
                        )
                        .return_data(true)
                        .build()
                })
            })
            .collect();
        let out = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(start)
            .end_time(end)
            .send()
            .await
            .map_err(|e| format!("GetMetricData failed: {}", DisplayErrorContext(&e)))?;
        let value = |id: String| -> f64 {
            out.metric_data_results()
                .iter()
                .find(|r| r.id() == Some(id.as_str()))
                .map(|r| r.values().iter().sum())
                .unwrap_or_default()
        };
        for (i, m) in chunk.iter().enumerate() {
            let samples = value(format!("m{i}s0"));
            if samples <= 0.0 {
                continue;
            }
            rows.push(MetricSummary {
                namespace: m.namespace().unwrap_or_default().to_owned(),
                name: m.metric_name().unwrap_or_default().to_owned(),
                dimensions: m
                    .dimensions()
                    .iter()
                    .map(|d| {
                        (
                            d.name().unwrap_or_default().to_owned(),
                            d.value().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect(),
                samples: samples as usize,
                sum: value(format!("m{i}s1")),
                average: value(format!("m{i}s2")),
                minimum: value(format!("m{i}s4")),
                maximum: value(format!("m{i}s3")),
            });
        }
    }
    rows.sort_by(|a, b| {
        (&a.namespace, &a.name, &a.dimensions).cmp(&(&b.namespace, &b.name, &b.dimensions))
    });
    Ok(rows)
}

/// One alarm as `workshop alarms` prints it, from either source.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AlarmRow {
    pub name: String,
    pub state: String,
    pub reason: String,
    pub updated: Option<String>,
}

pub async fn fetch_local_alarms(console: &str) -> Result<AlarmsView, Error> {
    console_call(console, routes::ALARMS, "", None::<&()>).await
}

/// DescribeAlarms (metric and composite alarms), paginated.
pub async fn fetch_cloudwatch_alarms(
    client: &aws_sdk_cloudwatch::Client,
) -> Result<Vec<AlarmRow>, Error> {
    use aws_sdk_cloudwatch::error::DisplayErrorContext;
    use aws_sdk_cloudwatch::types::AlarmType;
    let mut rows = Vec::new();
    let mut pages = client
        .describe_alarms()
        .alarm_types(AlarmType::MetricAlarm)
        .alarm_types(AlarmType::CompositeAlarm)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| format!("DescribeAlarms failed: {}", DisplayErrorContext(&e)))?;
        let time = |t: Option<&aws_sdk_cloudwatch::primitives::DateTime>| {
            t.and_then(|t| {
                t.fmt(aws_sdk_cloudwatch::primitives::DateTimeFormat::DateTime)
                    .ok()
            })
        };
        // Metric and composite alarms are different SDK types with the same accessors.
        macro_rules! row {
            ($a:expr) => {
                AlarmRow {
                    name: $a.alarm_name().unwrap_or_default().to_owned(),
                    state: $a
                        .state_value()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    reason: $a.state_reason().unwrap_or_default().to_owned(),
                    updated: time($a.state_updated_timestamp()),
                }
            };
        }
        rows.extend(page.metric_alarms().iter().map(|a| row!(a)));
        rows.extend(page.composite_alarms().iter().map(|a| row!(a)));
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

pub async fn alarms(source: Source<'_>, as_json: bool) -> Result<String, Error> {
    let rows = match source {
        Source::Local { console } => fetch_local_alarms(console)
            .await?
            .alarms
            .into_iter()
            .map(|(name, s)| AlarmRow {
                name,
                state: s.state.as_str().to_owned(),
                reason: s.reason,
                updated: s
                    .state_updated
                    .map(|t| orders::domain::timestamp::format(&t)),
            })
            .collect(),
        Source::CloudWatch => {
            let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            fetch_cloudwatch_alarms(&aws_sdk_cloudwatch::Client::new(&aws)).await?
        }
    };
    if as_json {
        return Ok(serde_json::to_string_pretty(&rows)?);
    }
    if rows.is_empty() {
        return Ok("No alarms.".to_owned());
    }
    let mut out = format!("{:<44} {:<18} REASON\n", "ALARM", "STATE");
    for r in rows {
        out.push_str(&format!("{:<44} {:<18} {}\n", r.name, r.state, r.reason));
    }
    Ok(out.trim_end().to_owned())
}
