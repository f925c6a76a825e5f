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
    } else if route.method != routes::Method::Get {
        // The control plane takes a change only as JSON, body or not.
        request = request.header(reqwest::header::CONTENT_TYPE, "application/json");
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
        Source::CloudWatch => crate::aws::cloudwatch_metrics(minutes)
            .await
            .map_err(|e| e as Error)?,
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
        Source::CloudWatch => crate::aws::cloudwatch_alarms()
            .await
            .map_err(|e| e as Error)?,
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
