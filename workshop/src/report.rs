//! `workshop metrics`: the terminal view of a running stack's metrics, the same figures the
//! dashboards plot.

use crate::stack::control::MetricSummary;

type Error = Box<dyn std::error::Error>;

pub async fn fetch_metrics(console: &str, minutes: i64) -> Result<Vec<MetricSummary>, Error> {
    let url = format!(
        "{}/api/metrics?minutes={minutes}",
        console.trim_end_matches('/')
    );
    let response = reqwest::get(&url).await.map_err(|e| {
        format!("cannot reach the local stack at {console} ({e}); is `workshop up` running?")
    })?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()).into());
    }
    Ok(response.json().await?)
}

pub async fn metrics(console: &str, minutes: i64, as_json: bool) -> Result<String, Error> {
    let rows = fetch_metrics(console, minutes).await?;
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
