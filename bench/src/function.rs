//! Runs one function process under the Runtime API emulator, as Lambda runs a sandbox: a
//! cold start (exec to first answer, and its init alone) or a long-lived instance that
//! answers thousands of invocations, whose peak resident memory is then read.

use crate::error::BenchError;
use crate::runtime_api::RuntimeApi;
use crate::stats::ms;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// A function's executable and environment: a Rust bootstrap, or `node runtime/bootstrap.mjs`.
#[derive(Debug, Clone)]
pub struct Program {
    /// `create-order`, or `create-order (Node.js)` for the peer.
    pub label: String,
    /// The function name whose events it takes.
    pub function: String,
    pub command: PathBuf,
    pub args: Vec<String>,
    pub dir: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    /// Whether Lambda's trace header marks its invocations sampled (the traced twins).
    pub sampled: bool,
}

/// One cold start, measured from just before exec; the report's rows are these as they are.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ColdStart {
    /// Exec to the first `next` call: what Lambda reports as `Init Duration`.
    pub init_ms: f64,
    /// Exec to the first answer: what the first caller waits for (plus Lambda's own share).
    pub first_answer_ms: f64,
    /// The first invocation alone (event handed to answer posted).
    pub first_invocation_ms: f64,
}

/// A long-lived instance after `invocations` answers.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Steady {
    pub invocations: usize,
    /// `VmHWM` of the process: its peak resident set, in KiB.
    pub peak_rss_kib: u64,
    /// Median of event handed → answer posted, over the warm invocations.
    pub warm_median_ms: f64,
    /// Median of answer posted → next event asked for: the work a function does after
    /// answering and before Lambda may freeze it (exporting its spans).
    pub after_answer_median_ms: f64,
}

impl Program {
    fn spawn(&self, api: &RuntimeApi, log: &Path) -> Result<Child, BenchError> {
        let out = append(log)?;
        let err = out.try_clone().map_err(|source| BenchError::File {
            what: "duplicating the log handle of",
            path: log.to_owned(),
            source,
        })?;
        let mut cmd = Command::new(&self.command);
        cmd.args(&self.args)
            // Only what Lambda would give it: no profile files, no developer credentials.
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .env("TZ", ":UTC")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", api.endpoint())
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd.spawn()
            .map_err(|e| BenchError::step(format!("starting {}", self.command.display()), e))
    }

    /// Starts the process with one event queued; stops it after its first answer.
    pub async fn cold_start(
        &self,
        event: serde_json::Value,
        log: &Path,
    ) -> Result<ColdStart, BenchError> {
        let api = RuntimeApi::start(self.sampled).await?;
        api.push(event.to_string());
        let started = Instant::now();
        let mut child = self.spawn(&api, log)?;
        self.wait(&api, &mut child, 1, log).await?;
        let _ = child.kill().await;
        let answer = api.answers().into_iter().next().ok_or_else(|| {
            BenchError::step(format!("cold start of {}", self.label), "no answer")
        })?;
        let init = api.first_next().unwrap_or(answer.handed_at);
        Ok(ColdStart {
            init_ms: ms(init - started),
            first_answer_ms: ms(answer.answered_at - started),
            first_invocation_ms: ms(answer.answered_at - answer.handed_at),
        })
    }

    /// Starts the process, feeds it `events` one after another as it asks, and reads its
    /// peak resident set once all are answered.
    pub async fn steady(
        &self,
        events: impl Iterator<Item = serde_json::Value>,
        log: &Path,
    ) -> Result<Steady, BenchError> {
        let api = RuntimeApi::start(self.sampled).await?;
        let mut count = 0;
        for event in events {
            api.push(event.to_string());
            count += 1;
        }
        let mut child = self.spawn(&api, log)?;
        self.wait(&api, &mut child, count, log).await?;
        let pid = child.id().ok_or_else(|| {
            BenchError::step(
                format!("{} after {count} invocations", self.label),
                "exited",
            )
        })?;
        let peak_rss_kib = peak_rss_kib(pid)?;
        let _ = child.kill().await;
        // The first answer is the cold one: the steady figure is about the warm ones.
        let warm: Vec<f64> = api
            .answers()
            .iter()
            .skip(1)
            .map(|a| ms(a.answered_at - a.handed_at))
            .collect();
        let after: Vec<f64> = api.after_answer().into_iter().map(ms).collect();
        Ok(Steady {
            invocations: count,
            peak_rss_kib,
            warm_median_ms: crate::stats::median(&warm).unwrap_or(f64::NAN),
            after_answer_median_ms: crate::stats::median(&after).unwrap_or(f64::NAN),
        })
    }

    /// Waits for `n` answers, failing on an init error, an early exit, a failed invocation,
    /// or an answer that is not the success the run meant to measure.
    async fn wait(
        &self,
        api: &RuntimeApi,
        child: &mut Child,
        n: usize,
        log: &Path,
    ) -> Result<(), BenchError> {
        let step = || format!("running {} ({} invocations)", self.label, n);
        // Generous: moto answers in milliseconds, a stuck run still ends.
        let patience = Duration::from_secs(60) + Duration::from_millis(200) * n as u32;
        tokio::select! {
            done = api.wait_answers(n, patience) => {
                if !done {
                    return Err(BenchError::step(step(), format!(
                        "only {} of {n} answered within {patience:?}; see {}",
                        api.answered(), log.display())));
                }
            }
            status = child.wait() => {
                return Err(BenchError::step(step(), format!(
                    "the process exited ({}) after {} answers; see {}",
                    status.map(|s| s.to_string()).unwrap_or_default(),
                    api.answered(), log.display())));
            }
        }
        if let Some(e) = api.init_error() {
            return Err(BenchError::step(step(), format!("init error: {e}")));
        }
        for answer in api.answers() {
            let value: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
            if !answer.ok || !crate::events::succeeded(&self.function, &value) {
                return Err(BenchError::step(
                    step(),
                    format!(
                        "invocation {} did not succeed: {}",
                        answer.request_id,
                        String::from_utf8_lossy(&answer.body)
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn append(path: &Path) -> Result<File, BenchError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| BenchError::File {
            what: "opening the function log",
            path: path.to_owned(),
            source,
        })
}

/// `VmHWM` from `/proc/<pid>/status`, in KiB (Linux).
pub fn peak_rss_kib(pid: u32) -> Result<u64, BenchError> {
    let path = PathBuf::from(format!("/proc/{pid}/status"));
    let status = std::fs::read_to_string(&path).map_err(|source| BenchError::File {
        what: "reading",
        path: path.clone(),
        source,
    })?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| BenchError::step("reading VmHWM", format!("not in {}", path.display())))
}
