//! The pipeline on the local stack: orders created at a rate, then followed through the queue
//! and the processor to their final status. It checks that none was lost, and measures the
//! orders per second from the first create to the last final status, and each order's
//! processing lag (`updatedAt - createdAt`).

use crate::error::BenchError;
use crate::stats::percentile;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::{Duration, Instant};
use workshop::load::{LoadOptions, Mix};

#[derive(Debug, Clone, Serialize)]
pub struct Pipeline {
    pub target_rate: f64,
    pub seconds: f64,
    /// Orders accepted (201).
    pub accepted: u64,
    /// Orders found in a final status at the end (must equal `accepted`).
    pub finalized: u64,
    /// `accepted` over the time from the first create to the last final status.
    pub orders_per_s: f64,
    pub lag_p50_ms: f64,
    pub lag_p99_ms: f64,
}

/// How long the processor may take to drain after the creates stop.
const DRAIN_PATIENCE: Duration = Duration::from_secs(600);

pub async fn run(url: &str, rate: f64, duration: Duration) -> Result<Pipeline, BenchError> {
    let http = reqwest::Client::new();
    let before = count_orders(&http, url).await?.len() as u64;
    let started = Instant::now();
    let load = workshop::load::run(LoadOptions {
        url: url.to_owned(),
        rate,
        duration,
        concurrency: 64,
        mix: Mix::parse("create=1").map_err(|e| BenchError::step("load mix", e))?,
        progress: false,
    })
    .await
    .map_err(|e| BenchError::step("pipeline load", e))?;
    let accepted = load.by_status.get(&201).copied().unwrap_or(0);
    loop {
        let pending = page(&http, url, "status=PENDING&limit=1").await?;
        if pending["orders"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        if started.elapsed() > DRAIN_PATIENCE + duration {
            return Err(BenchError::step(
                "pipeline drain",
                format!("orders still PENDING after {DRAIN_PATIENCE:?}"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let orders = count_orders(&http, url).await?;
    let finalized = orders.len() as u64 - before;
    if finalized != accepted {
        return Err(BenchError::step(
            "pipeline",
            format!("{accepted} orders accepted but {finalized} found"),
        ));
    }
    // The newest `accepted` orders are this run's (the list is newest first).
    let lags: Vec<f64> = orders
        .iter()
        .take(accepted as usize)
        .filter_map(|(created, updated)| {
            Some(((*updated)? - (*created)?).num_microseconds()? as f64 / 1000.0)
        })
        .collect();
    Ok(Pipeline {
        target_rate: rate,
        seconds: duration.as_secs_f64(),
        accepted,
        finalized,
        orders_per_s: accepted as f64 / elapsed,
        lag_p50_ms: percentile(&lags, 50.0).unwrap_or(f64::NAN),
        lag_p99_ms: percentile(&lags, 99.0).unwrap_or(f64::NAN),
    })
}

type Stamps = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

async fn page(
    http: &reqwest::Client,
    url: &str,
    query: &str,
) -> Result<serde_json::Value, BenchError> {
    http.get(format!("{url}/orders?{query}"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| BenchError::step("listing orders", e))?
        .json()
        .await
        .map_err(|e| BenchError::step("listing orders", e))
}

/// Every order, newest first, as (createdAt, updatedAt).
async fn count_orders(http: &reqwest::Client, url: &str) -> Result<Vec<Stamps>, BenchError> {
    let stamp = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc))
    };
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let query = match &token {
            Some(t) => format!("limit=100&nextToken={t}"),
            None => "limit=100".to_owned(),
        };
        let body = page(http, url, &query).await?;
        for order in body["orders"].as_array().into_iter().flatten() {
            out.push((stamp(&order["createdAt"]), stamp(&order["updatedAt"])));
        }
        match body["nextToken"].as_str() {
            Some(t) => token = Some(form_urlencoded_token(t)),
            None => return Ok(out),
        }
    }
}

/// Page tokens are base64url, but percent-encode anyway: a `+` or `=` must survive the query.
fn form_urlencoded_token(t: &str) -> String {
    t.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
