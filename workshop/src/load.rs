//! `workshop load`: an open-loop load generator for the order API (the local stack or a
//! deployed URL). Requests start on a fixed schedule whatever the responses do, so a slow
//! system shows as latency and errors rather than as a lower request rate; each request's
//! latency counts from when it was due, not from when a free connection let it start (no
//! coordinated omission). It stops by itself: after the duration, in-flight requests get a
//! grace period and whatever is still running is counted as timed out.

use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How long requests still running at the end may take before they count as timed out.
pub const DRAIN: Duration = Duration::from_secs(10);
/// A request taking longer than this is abandoned and counted as timed out.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Create,
    Get,
    List,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mix(pub Vec<(Operation, u32)>);

impl Mix {
    /// `create=70,get=20,list=10` (weights, not necessarily summing to 100).
    pub fn parse(s: &str) -> Result<Mix, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("expected OPERATION=WEIGHT, got {part:?}"))?;
            let op = match name {
                "create" => Operation::Create,
                "get" => Operation::Get,
                "list" => Operation::List,
                other => {
                    return Err(format!(
                        "unknown operation {other:?}; one of create, get, list"
                    ));
                }
            };
            let w: u32 = weight
                .parse()
                .map_err(|_| format!("weight {weight:?} of {name} is not a whole number"))?;
            out.push((op, w));
        }
        if out.iter().map(|(_, w)| w).sum::<u32>() == 0 {
            return Err("the mix needs at least one operation with a weight above 0".into());
        }
        Ok(Mix(out))
    }

    /// The operation of request `i`: a deterministic interleaving that keeps the proportions
    /// at every point of the run (not only on average).
    fn pick(&self, i: u64) -> Operation {
        let total: u64 = self.0.iter().map(|(_, w)| u64::from(*w)).sum();
        let slot = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) % total;
        let mut acc = 0;
        for (op, w) in &self.0 {
            acc += u64::from(*w);
            if slot < acc {
                return *op;
            }
        }
        self.0[0].0
    }
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub url: String,
    /// Requests per second.
    pub rate: f64,
    pub duration: Duration,
    /// Most requests in flight at once.
    pub concurrency: usize,
    pub mix: Mix,
    /// Print a progress line to stderr every second.
    pub progress: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub url: String,
    pub target_rate: f64,
    pub duration_seconds: f64,
    pub concurrency: usize,
    /// Requests started.
    pub sent: u64,
    /// Requests never started: the duration ended while `concurrency` requests were still in
    /// flight (the target is not keeping up).
    pub unsent: u64,
    /// Requests that got an HTTP response (any status).
    pub completed: u64,
    /// Responses by status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Responses with status 400 or above.
    pub http_errors: u64,
    /// Requests that got no response: connection errors and timeouts.
    pub transport_errors: u64,
    /// Requests that started late because `concurrency` requests were already in flight.
    pub delayed_starts: u64,
    pub by_operation: BTreeMap<Operation, u64>,
    /// Of completed requests, from when each was due.
    pub latency: Option<Latency>,
    /// Latency histogram: (upper bound in ms, count), doubling buckets.
    pub histogram: Vec<(f64, u64)>,
    pub achieved_rate: f64,
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    by_status: BTreeMap<u16, u64>,
    transport_errors: u64,
    delayed_starts: u64,
    by_operation: BTreeMap<Operation, u64>,
    ids: Vec<String>,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn histogram(sorted: &[u64]) -> Vec<(f64, u64)> {
    let mut out = Vec::new();
    let mut bound_us = 1_000u64;
    let mut i = 0;
    while i < sorted.len() {
        let n = sorted[i..].iter().take_while(|v| **v <= bound_us).count();
        out.push((bound_us as f64 / 1000.0, n as u64));
        i += n;
        bound_us *= 2;
    }
    out
}

fn body(i: u64) -> serde_json::Value {
    let lines = 1 + (i % 3);
    let items: Vec<_> = (0..lines)
        .map(|k| json!({"sku": format!("LOAD-{k}"), "qty": 1 + (i + k) % 3, "price": 9.99}))
        .collect();
    json!({"customerName": "Load Test", "items": items})
}

async fn one(
    http: &reqwest::Client,
    url: &str,
    op: Operation,
    i: u64,
    tally: &Mutex<Tally>,
) -> Result<u16, ()> {
    let request = match op {
        Operation::Create => http.post(format!("{url}/orders")).json(&body(i)),
        Operation::Get => {
            let id = {
                let t = tally.lock().unwrap_or_else(PoisonError::into_inner);
                // A recent order if there is one, else one that does not exist (a 404).
                t.ids
                    .get(t.ids.len().saturating_sub(1 + (i as usize % 50)))
                    .cloned()
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
            };
            http.get(format!("{url}/orders/{id}"))
        }
        Operation::List => http.get(format!("{url}/orders?limit=20")),
    };
    let response = request.send().await.map_err(|_| ())?;
    let status = response.status().as_u16();
    if op == Operation::Create && status == 201 {
        if let Ok(v) = response.json::<serde_json::Value>().await
            && let Some(id) = v["id"].as_str()
        {
            let mut t = tally.lock().unwrap_or_else(PoisonError::into_inner);
            if t.ids.len() > 10_000 {
                t.ids.drain(..5_000);
            }
            t.ids.push(id.to_owned());
        }
    } else {
        let _ = response.bytes().await;
    }
    Ok(status)
}

fn check(opts: &LoadOptions) -> Result<(), String> {
    if !(opts.rate > 0.0 && opts.rate <= 100_000.0) {
        return Err(format!(
            "--rate must be above 0 and at most 100000, got {}",
            opts.rate
        ));
    }
    if opts.duration.is_zero() {
        return Err("--duration must be above 0".into());
    }
    if opts.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    Ok(())
}

pub async fn run(opts: LoadOptions) -> Result<Summary, String> {
    check(&opts)?;
    let url = opts.url.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(opts.concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    let total = (opts.rate * opts.duration.as_secs_f64()).round() as u64;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let sent = send(&opts, &http, &url, total, &tally, started, &mut tasks).await?;
    let sending = started.elapsed().max(opts.duration);
    let abandoned = drain(tasks).await;
    if opts.progress {
        progress(&tally, sent, total, sending, opts.duration);
        eprintln!();
    }
    let mut t = std::mem::take(&mut *tally.lock().unwrap_or_else(PoisonError::into_inner));
    t.transport_errors += abandoned;
    Ok(summarize(&opts, url, t, sent, total, sending))
}

/// Starts the requests on schedule; returns how many were sent before the duration ran out.
async fn send(
    opts: &LoadOptions,
    http: &reqwest::Client,
    url: &str,
    total: u64,
    tally: &Arc<Mutex<Tally>>,
    started: Instant,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<u64, String> {
    let interval = Duration::from_secs_f64(1.0 / opts.rate);
    let permits = Arc::new(Semaphore::new(opts.concurrency));
    let mut next_progress = Duration::from_secs(1);
    let deadline = started + opts.duration;
    let mut sent = 0;
    for i in 0..total {
        let due = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                tally
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .delayed_starts += 1;
                // Waiting for a free slot never runs past the duration: the run stops on time.
                let free = permits.clone().acquire_owned();
                match tokio::time::timeout_at(deadline.into(), free).await {
                    Ok(p) => p.map_err(|e| e.to_string())?,
                    Err(_) => break,
                }
            }
        };
        sent += 1;
        let op = opts.mix.pick(i);
        let (http, url, mine) = (http.clone(), url.to_owned(), tally.clone());
        tasks.spawn(async move {
            let tally = mine;
            let result = one(&http, &url, op, i, &tally).await;
            let elapsed = due.elapsed();
            drop(permit);
            let mut t = tally.lock().unwrap_or_else(PoisonError::into_inner);
            *t.by_operation.entry(op).or_default() += 1;
            match result {
                Ok(status) => {
                    *t.by_status.entry(status).or_default() += 1;
                    t.latencies_us.push(elapsed.as_micros() as u64);
                }
                Err(()) => t.transport_errors += 1,
            }
        });
        // Reap finished tasks so the set does not grow with the run.
        while tasks.try_join_next().is_some() {}
        if opts.progress && started.elapsed() >= next_progress {
            next_progress += Duration::from_secs(1);
            progress(tally, i + 1, total, started.elapsed(), opts.duration);
        }
    }
    Ok(sent)
}

/// Waits up to [`DRAIN`] for requests in flight; returns how many were abandoned.
async fn drain(mut tasks: tokio::task::JoinSet<()>) -> u64 {
    let _ = tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    // What still runs after the drain is abandoned; a task that finished in between has
    // counted itself already, so count only the ones the abort actually cancelled.
    tasks.abort_all();
    let mut abandoned = 0;
    while let Some(done) = tasks.join_next().await {
        if done.is_err_and(|e| e.is_cancelled()) {
            abandoned += 1;
        }
    }
    abandoned
}

fn summarize(
    opts: &LoadOptions,
    url: String,
    mut t: Tally,
    sent: u64,
    total: u64,
    sending: Duration,
) -> Summary {
    t.latencies_us.sort_unstable();
    let completed = t.latencies_us.len() as u64;
    let latency = (!t.latencies_us.is_empty()).then(|| {
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            p50_ms: ms(percentile(&t.latencies_us, 50.0)),
            p90_ms: ms(percentile(&t.latencies_us, 90.0)),
            p99_ms: ms(percentile(&t.latencies_us, 99.0)),
            max_ms: ms(*t.latencies_us.last().unwrap_or(&0)),
            mean_ms: ms(t.latencies_us.iter().sum::<u64>() / completed.max(1)),
        }
    });
    Summary {
        url,
        target_rate: opts.rate,
        duration_seconds: opts.duration.as_secs_f64(),
        concurrency: opts.concurrency,
        sent,
        unsent: total - sent,
        completed,
        http_errors: t
            .by_status
            .iter()
            .filter(|(s, _)| **s >= 400)
            .map(|(_, n)| n)
            .sum(),
        by_status: t.by_status,
        transport_errors: t.transport_errors,
        delayed_starts: t.delayed_starts,
        by_operation: t.by_operation,
        histogram: histogram(&t.latencies_us),
        latency,
        achieved_rate: sent as f64 / sending.as_secs_f64(),
    }
}

fn progress(tally: &Mutex<Tally>, sent: u64, total: u64, elapsed: Duration, duration: Duration) {
    let t = tally.lock().unwrap_or_else(PoisonError::into_inner);
    let done = (elapsed.as_secs_f64() / duration.as_secs_f64()).min(1.0);
    let width = 30;
    let filled = (done * width as f64).round() as usize;
    let errors: u64 = t
        .by_status
        .iter()
        .filter(|(s, _)| **s >= 400)
        .map(|(_, n)| n)
        .sum::<u64>()
        + t.transport_errors;
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r[{}{}] {:>5.1}s  sent {sent}/{total}  done {}  errors {errors}   ",
        "#".repeat(filled),
        "-".repeat(width - filled),
        elapsed.as_secs_f64(),
        t.latencies_us.len(),
    );
    let _ = err.flush();
}

/// The summary as the terminal shows it.
pub fn render(s: &Summary) -> String {
    let mut out = format!(
        "{} requests to {} in {:.0} s (target {} req/s, achieved {:.1} req/s, concurrency {})\n",
        s.sent, s.url, s.duration_seconds, s.target_rate, s.achieved_rate, s.concurrency
    );
    let ops: Vec<String> = s
        .by_operation
        .iter()
        .map(|(o, n)| format!("{o:?} {n}").to_lowercase())
        .collect();
    out.push_str(&format!("mix: {}\n", ops.join(", ")));
    let statuses: Vec<String> = s
        .by_status
        .iter()
        .map(|(c, n)| format!("{c}: {n}"))
        .collect();
    out.push_str(&format!(
        "responses: {}  (HTTP errors {}, no response {}, delayed starts {}, never sent {})\n",
        statuses.join(", "),
        s.http_errors,
        s.transport_errors,
        s.delayed_starts,
        s.unsent
    ));
    if let Some(l) = &s.latency {
        out.push_str(&format!(
            "latency from schedule: p50 {:.1} ms  p90 {:.1} ms  p99 {:.1} ms  max {:.1} ms  mean {:.1} ms\n",
            l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.mean_ms
        ));
        let most = s
            .histogram
            .iter()
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(1)
            .max(1);
        for (bound, n) in &s.histogram {
            let bar = "#".repeat(((*n as f64 / most as f64) * 40.0).ceil() as usize);
            out.push_str(&format!("  <= {bound:>8.0} ms {n:>7} {bar}\n"));
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_and_keeps_its_proportions() {
        let mix = Mix::parse("create=70,get=20,list=10").unwrap();
        let mut counts = BTreeMap::new();
        for i in 0..10_000 {
            *counts.entry(mix.pick(i)).or_insert(0u32) += 1;
        }
        assert!(
            (6_700..7_300).contains(&counts[&Operation::Create]),
            "{counts:?}"
        );
        assert!(
            (1_700..2_300).contains(&counts[&Operation::Get]),
            "{counts:?}"
        );
        assert!(
            Mix::parse("create=1,delete=1")
                .unwrap_err()
                .contains("unknown operation \"delete\"")
        );
        assert!(Mix::parse("create=0").is_err());
        assert!(
            Mix::parse("create")
                .unwrap_err()
                .contains("OPERATION=WEIGHT")
        );
    }

    #[test]
    fn percentiles_and_histogram() {
        let v: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile(&v, 50.0), 50_000);
        assert_eq!(percentile(&v, 99.0), 99_000);
        let h = histogram(&v);
        assert_eq!(h.iter().map(|(_, n)| n).sum::<u64>(), 100);
        assert_eq!(h[0], (1.0, 1));
        assert_eq!(h.last().unwrap().0, 128.0);
    }
}
