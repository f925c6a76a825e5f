//! The local stack under `workshop load` at fixed request rates, beside the ceiling: a
//! minimal HTTP server that answers the same routes with a canned body and does no work,
//! driven by the same load generator in the same run. The ratio of the two is what the
//! stack's emulation (gateway, Lambda pool, SQLite, telemetry) costs.

use crate::error::BenchError;
use crate::fixture::{free_port, wait_for_port};
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};
use workshop::load::{LoadOptions, Mix, Summary};

/// What the minimal server answers: the size of a real created order.
const CANNED_ORDER: &str = r#"{"id":"00000000-0000-4000-8000-000000000000","customerName":"Load Test","items":[{"sku":"LOAD-0","qty":1,"price":9.99}],"status":"PENDING","total":9.99,"itemCount":1,"createdAt":"2026-11-24T00:00:00.000Z","updatedAt":"2026-11-24T00:00:00.000Z"}"#;

/// Serves the ceiling on 127.0.0.1:`port` until killed (`order-bench minimal-server`).
pub async fn serve_minimal(port: u16) -> Result<(), BenchError> {
    let order = || async { (StatusCode::OK, json_header(), CANNED_ORDER) };
    let app = Router::new()
        .route(
            "/orders",
            get(|| async {
                (
                    StatusCode::OK,
                    json_header(),
                    format!(r#"{{"orders":[{CANNED_ORDER}],"count":1,"nextToken":null}}"#),
                )
            })
            .post(|| async { (StatusCode::CREATED, json_header(), CANNED_ORDER) }),
        )
        .route("/orders/{id}", get(order))
        .route(
            "/health",
            get(|| async { (StatusCode::OK, "{}").into_response() }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| BenchError::step("binding the minimal server", e))?;
    axum::serve(listener, app)
        .await
        .map_err(|e| BenchError::step("serving the minimal server", e))
}

fn json_header() -> [(header::HeaderName, &'static str); 1] {
    [(header::CONTENT_TYPE, "application/json")]
}

/// A server under test, stopped when dropped.
pub struct Server {
    _child: Child,
    pub url: String,
}

impl Server {
    /// This executable's `minimal-server` in its own process, like the stack.
    pub async fn minimal() -> Result<Server, BenchError> {
        let exe = std::env::current_exe()
            .map_err(|e| BenchError::step("finding the order-bench executable", e))?;
        let port = free_port()?;
        let child = Command::new(exe)
            .args(["minimal-server", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BenchError::step("starting the minimal server", e))?;
        wait_for_port(port, Duration::from_secs(30), "the minimal server").await?;
        Ok(Server {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// `workshop up` on free ports with a fresh data dir, ready once `/health` answers.
    pub async fn stack(workshop: &Path, data_dir: &Path, log: &Path) -> Result<Server, BenchError> {
        let port = free_port()?;
        let console = free_port()?;
        let out = std::fs::File::create(log).map_err(|source| BenchError::File {
            what: "creating",
            path: log.to_owned(),
            source,
        })?;
        let child = Command::new(workshop)
            .args(["up", "--port", &port.to_string()])
            .args(["--console-port", &console.to_string()])
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::from(out))
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BenchError::step(format!("starting {}", workshop.display()), e))?;
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = http.get(format!("{url}/health")).send().await
                && r.status().is_success()
            {
                return Ok(Server { _child: child, url });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(BenchError::step(
            "starting the local stack",
            format!(
                "/health did not answer 200 within 60 s; see {}",
                log.display()
            ),
        ))
    }
}

/// One load run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub target_rate: f64,
    /// Successful answers (2xx, and the 404s of gets for orders not yet written) per second.
    pub ok_per_s: f64,
    /// 5xx answers: at saturation, the stack's emulated Lambda throttles (a function past its
    /// reserved concurrency; API Gateway answers 500 for a throttled Lambda, as on AWS).
    pub server_errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Other error answers, plus transport errors (requests the generator could not start
    /// within the run, at saturation, are not failures: they were never sent).
    pub failed: u64,
}

impl Run {
    fn from(s: &Summary) -> Run {
        let count = |keep: &dyn Fn(u16) -> bool| -> u64 {
            s.by_status
                .iter()
                .filter(|(code, _)| keep(**code))
                .map(|(_, n)| n)
                .sum()
        };
        let ok = count(&|c| (200..300).contains(&c) || c == 404);
        let server_errors = count(&|c| c >= 500);
        let unexpected = count(&|c| !((200..300).contains(&c) || c == 404 || c >= 500));
        Run {
            target_rate: s.target_rate,
            ok_per_s: ok as f64 / s.duration_seconds,
            server_errors,
            p50_ms: s.latency.as_ref().map_or(f64::NAN, |l| l.p50_ms),
            p99_ms: s.latency.as_ref().map_or(f64::NAN, |l| l.p99_ms),
            failed: unexpected + s.transport_errors,
        }
    }
}

/// `workshop load` against `url`: an open-loop run at `rate` for `duration`.
pub async fn load(
    url: &str,
    mix: &str,
    rate: f64,
    duration: Duration,
    concurrency: usize,
) -> Result<Run, BenchError> {
    let summary = workshop::load::run(LoadOptions {
        url: url.to_owned(),
        rate,
        duration,
        concurrency,
        mix: Mix::parse(mix).map_err(|e| BenchError::step("load mix", e))?,
        progress: false,
    })
    .await
    .map_err(|e| BenchError::step(format!("load on {url}"), e))?;
    Ok(Run::from(&summary))
}
