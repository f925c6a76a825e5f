//! Lambda emulation: per function a pool of instances. An instance serves one event at a
//! time; a new instance runs the function's init first (a cold start, reported like Lambda's
//! `Init Duration`); at most `limit` instances run at once and the excess is throttled, as
//! reserved concurrency does. A timed-out or crashed instance is discarded, as Lambda resets
//! the sandbox.

use crate::stack::cloudwatch::metric_store::MetricStore;
use alarms::catalog::aws_metrics::lambda as lambda_metrics;
use order_functions::Facts;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use telemetry::metrics::local::InitMetrics;
use tracing::{error, info, warn};

/// Idle instances older than this are reclaimed, so a quiet function cold-starts again.
pub const IDLE_INSTANCE_TTL: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// `TooManyRequestsException`: every allowed instance is busy.
    #[error("Rate Exceeded: {function} is at its concurrency limit of {limit}")]
    Throttled {
        function: &'static str,
        limit: usize,
    },
    #[error("Task timed out after {} seconds", .0.as_secs_f64())]
    TimedOut(Duration),
    /// The handler crashed (a panic: Lambda's `Runtime.ExitError`).
    #[error("function crashed: {0}")]
    Crashed(String),
    /// The handler returned an error (Lambda's `Errors` metric counts it; the sandbox lives on).
    #[error("function error: {0}")]
    Failed(String),
    /// The init phase failed (`Runtime.InitError`): no instance; the next invocation retries.
    #[error("init failed: {0}")]
    InitFailed(String),
}

impl InvokeError {
    /// A closed name for the failure (the invocation span's `error.type`), as Lambda names it.
    pub fn kind(&self) -> &'static str {
        match self {
            InvokeError::Throttled { .. } => "TooManyRequestsException",
            InvokeError::TimedOut(_) => "Sandbox.Timedout",
            InvokeError::Crashed(_) => "Runtime.ExitError",
            InvokeError::Failed(_) => "FunctionError",
            InvokeError::InitFailed(_) => "Runtime.InitError",
        }
    }
}

/// Counters a dashboard reads (the AWS/Lambda metrics of this function).
#[derive(Debug, Default)]
pub struct FunctionStats {
    pub invocations: AtomicU64,
    pub errors: AtomicU64,
    pub throttles: AtomicU64,
    pub cold_starts: AtomicU64,
    pub timeouts: AtomicU64,
    /// Highest number of instances busy at once.
    pub peak_concurrency: AtomicUsize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsSnapshot {
    pub invocations: u64,
    pub errors: u64,
    pub throttles: u64,
    pub cold_starts: u64,
    pub timeouts: u64,
    pub peak_concurrency: usize,
    pub busy: usize,
    pub idle: usize,
}

struct Instance<H: ?Sized> {
    handler: Arc<H>,
    last_used: Instant,
}

/// Runs the function's init phase, building what a Lambda `main` builds before its loop. An
/// `Err` is an init failure, reported like Lambda's `Runtime.InitError`.
pub type Init<H> = Box<dyn Fn() -> Result<Arc<H>, String> + Send + Sync>;

pub struct FunctionPool<H: ?Sized> {
    pub name: &'static str,
    /// What invokes it (`faas.trigger` of its invocation spans).
    trigger: telemetry::trace::Trigger,
    limit: usize,
    timeout: Duration,
    memory_mb: u32,
    init: Init<H>,
    idle: Mutex<Vec<Instance<H>>>,
    busy: AtomicUsize,
    stats: FunctionStats,
    /// Where the AWS/Lambda metrics of this function are recorded, when the stack has a store.
    metrics: Option<Arc<MetricStore>>,
    next_request: AtomicU64,
}

/// What the function sees of its invocation (Lambda's context).
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub deadline: Instant,
    pub cold_start: bool,
}

/// What a cold start adds to its invocation: how long the init took, what it recorded.
struct ColdStart {
    duration: Duration,
    metrics: InitMetrics,
}

/// Holds a concurrency slot; releasing it on drop keeps the count right on every path,
/// including a cancelled future.
struct Slot<'a>(&'a AtomicUsize);
impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<H: ?Sized + Send + Sync + 'static> FunctionPool<H> {
    pub fn new(
        name: &'static str,
        limit: usize,
        timeout: Duration,
        memory_mb: u32,
        init: Init<H>,
    ) -> Self {
        FunctionPool {
            name,
            trigger: telemetry::trace::Trigger::Http,
            limit,
            timeout,
            memory_mb,
            init,
            idle: Mutex::new(Vec::new()),
            busy: AtomicUsize::new(0),
            stats: FunctionStats::default(),
            next_request: AtomicU64::new(1),
            metrics: None,
        }
    }

    /// What invokes the function (an API function unless told otherwise).
    pub fn with_trigger(mut self, trigger: telemetry::trace::Trigger) -> Self {
        self.trigger = trigger;
        self
    }

    /// Records this function's AWS/Lambda metrics into `store`.
    pub fn with_metrics(mut self, store: Arc<MetricStore>) -> Self {
        self.metrics = Some(store);
        self
    }

    fn metric(&self, name: &str, value: f64) {
        if let Some(store) = &self.metrics {
            store.service(
                lambda_metrics::NAMESPACE,
                name,
                &[(lambda_metrics::FUNCTION_NAME, self.name)],
                value,
            );
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn stats(&self) -> StatsSnapshot {
        let s = &self.stats;
        StatsSnapshot {
            invocations: s.invocations.load(Ordering::Relaxed),
            errors: s.errors.load(Ordering::Relaxed),
            throttles: s.throttles.load(Ordering::Relaxed),
            cold_starts: s.cold_starts.load(Ordering::Relaxed),
            timeouts: s.timeouts.load(Ordering::Relaxed),
            peak_concurrency: s.peak_concurrency.load(Ordering::Relaxed),
            busy: self.busy.load(Ordering::Relaxed),
            idle: self.idle.lock().map(|i| i.len()).unwrap_or(0),
        }
    }

    fn reserve(&self) -> Option<Slot<'_>> {
        let mut current = self.busy.load(Ordering::Acquire);
        loop {
            if current >= self.limit {
                return None;
            }
            match self.busy.compare_exchange(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    self.stats
                        .peak_concurrency
                        .fetch_max(current + 1, Ordering::Relaxed);
                    return Some(Slot(&self.busy));
                }
                Err(actual) => current = actual,
            }
        }
    }

    fn take_idle(&self) -> Option<Instance<H>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|i| i.last_used.elapsed() < IDLE_INSTANCE_TTL);
        // Most recently used first: Lambda keeps reusing warm sandboxes.
        idle.pop()
    }

    fn give_back(&self, handler: Arc<H>) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.push(Instance {
            handler,
            last_used: Instant::now(),
        });
    }

    /// Invokes the function with `event`: picks a warm instance or cold-starts one, runs
    /// `call` under the function's timeout through the functions' one invocation path
    /// (`order_functions::Facts`), and logs START/END/REPORT as Lambda does.
    pub async fn invoke<R, E, F, Fut>(&self, call: F) -> Result<R, InvokeError>
    where
        F: FnOnce(Arc<H>, Invocation) -> Fut,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
        R: Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let request_id = format!(
            "{:08x}-local-{:012x}",
            rand::random::<u32>(),
            self.next_request.fetch_add(1, Ordering::Relaxed)
        );
        let slot = self.admit()?;
        let (handler, cold) = self.instance(&request_id)?;
        let cold_start = cold.is_some();
        let (init_duration, init_metrics) = cold.map(|c| (c.duration, c.metrics)).unzip();
        let scope = Facts {
            function_name: self.name,
            request_id: &request_id,
            // In-process: the caller's span (the gateway's, the event source's) is the parent.
            trace_header: None,
            cold_start,
            trigger: self.trigger,
        }
        .scope();
        let span = scope.span().clone();
        let invocation = Invocation {
            request_id: request_id.clone(),
            deadline: Instant::now() + self.timeout,
            cold_start,
        };
        let started = Instant::now();
        span.in_scope(|| info!("type" = "platform.start", "START RequestId: {request_id}"));
        // Metrics recorded during the call become this invocation's EMF documents, flushed at
        // its end as Lambda's runtime does (a timed-out or crashed invocation writes none).
        let emf = telemetry::metrics::local::Invocation::new(self.name, &request_id, cold_start)
            .with_init(init_metrics.unwrap_or_default());
        let (outcome, elapsed) = self
            .run(started, scope.run(emf, call(handler.clone(), invocation)))
            .await;
        if let Err(e) = &outcome {
            telemetry::trace::spans::fail(&span, e.kind(), e);
        }
        let _entered = span.enter();
        self.settle(handler, &outcome, &request_id);
        self.report(&request_id, elapsed, init_duration);
        drop(slot);
        outcome
    }

    /// Takes a concurrency slot and counts the invocation, or throttles it.
    fn admit(&self) -> Result<Slot<'_>, InvokeError> {
        let Some(slot) = self.reserve() else {
            self.stats.throttles.fetch_add(1, Ordering::Relaxed);
            self.metric(lambda_metrics::THROTTLES.name, 1.0);
            let e = InvokeError::Throttled {
                function: self.name,
                limit: self.limit,
            };
            warn!(function_name = self.name, error = %e, "invocation throttled (TooManyRequestsException)");
            return Err(e);
        };
        self.stats.invocations.fetch_add(1, Ordering::Relaxed);
        self.metric(lambda_metrics::INVOCATIONS.name, 1.0);
        // 0 for an invocation that ran, 1 for each throttle: Sum counts throttles, and the
        // metric has datapoints (a quiet graph, not an empty one) while nothing is throttled.
        self.metric(lambda_metrics::THROTTLES.name, 0.0);
        self.metric(
            lambda_metrics::CONCURRENT_EXECUTIONS.name,
            self.busy.load(Ordering::Relaxed) as f64,
        );
        Ok(slot)
    }

    /// A warm instance, or a new one after its init (then with its [`ColdStart`]).
    fn instance(&self, request_id: &str) -> Result<(Arc<H>, Option<ColdStart>), InvokeError> {
        if let Some(instance) = self.take_idle() {
            return Ok((instance.handler, None));
        }
        let started = Instant::now();
        let (built, init_metrics) = telemetry::metrics::local::collect_init(|| (self.init)());
        self.stats.cold_starts.fetch_add(1, Ordering::Relaxed);
        match built {
            Ok(handler) => {
                let duration = started.elapsed();
                let metrics = init_metrics;
                Ok((handler, Some(ColdStart { duration, metrics })))
            }
            Err(message) => {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
                self.metric(lambda_metrics::ERRORS.name, 1.0);
                let e = InvokeError::InitFailed(message);
                error!(function_name = self.name, function_request_id = %request_id, "type" = "platform.initError", error = %e, "INIT_REPORT Init Duration: {:.2} ms\tPhase: init\tStatus: error\tError Type: Runtime.InitError", started.elapsed().as_secs_f64() * 1000.0);
                Err(e)
            }
        }
    }

    /// Runs the call in a task of its own under the timeout, so a panicking handler is
    /// reported as a crash, not a dead stack. Returns the one duration that both the
    /// `Duration` metric and the `REPORT` line show.
    async fn run<R, E>(
        &self,
        started: Instant,
        call: impl Future<Output = Result<R, E>> + Send + 'static,
    ) -> (Result<R, InvokeError>, Duration)
    where
        R: Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let task = tokio::spawn(call);
        let abort = task.abort_handle();
        let outcome = match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(Ok(r))) => Ok(r),
            Ok(Ok(Err(e))) => Err(InvokeError::Failed(e.to_string())),
            Ok(Err(join)) => Err(InvokeError::Crashed(join.to_string())),
            Err(_) => {
                abort.abort();
                Err(InvokeError::TimedOut(self.timeout))
            }
        };
        let elapsed = started.elapsed();
        self.metric(
            lambda_metrics::DURATION.name,
            elapsed.as_secs_f64() * 1000.0,
        );
        // Errors is 0 or 1 per invocation, so its Average is the error rate.
        self.metric(
            lambda_metrics::ERRORS.name,
            f64::from(u8::from(outcome.is_err())),
        );
        (outcome, elapsed)
    }

    /// Keeps the instance warm, or discards it as Lambda resets a timed-out or crashed
    /// sandbox (the next invocation cold-starts).
    fn settle<R>(&self, handler: Arc<H>, outcome: &Result<R, InvokeError>, request_id: &str) {
        match outcome {
            Ok(_) => self.give_back(handler),
            Err(e @ InvokeError::Failed(_)) => {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
                error!("type" = "platform.error", error = %e, "RequestId: {request_id} Error: {e}");
                self.give_back(handler);
            }
            Err(e) => {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
                if matches!(e, InvokeError::TimedOut(_)) {
                    self.stats.timeouts.fetch_add(1, Ordering::Relaxed);
                }
                error!("type" = "platform.runtimeError", error = %e, "RequestId: {request_id} Error: {e}");
            }
        }
    }

    /// The END and REPORT lines. The REPORT's figures carry the names Lambda's JSON log format
    /// gives them (`type`, `record.metrics.*`), so one Logs Insights query counts cold starts
    /// here and on AWS: a REPORT with `initDurationMs` is a cold start.
    fn report(&self, request_id: &str, elapsed: Duration, init_duration: Option<Duration>) {
        info!("type" = "platform.end", "END RequestId: {request_id}");
        let duration_ms = telemetry::round::ms(elapsed);
        let billed_ms = (elapsed.as_secs_f64() * 1000.0).ceil() as u64;
        let init_ms = init_duration.map(telemetry::round::ms);
        let init = init_ms
            .map(|ms| format!("\tInit Duration: {ms:.2} ms"))
            .unwrap_or_default();
        info!(
            "type" = "platform.report",
            "record.metrics.durationMs" = duration_ms,
            "record.metrics.billedDurationMs" = billed_ms,
            "record.metrics.memorySizeMB" = self.memory_mb,
            "record.metrics.initDurationMs" = init_ms,
            "REPORT RequestId: {request_id}\tDuration: {duration_ms:.2} ms\tBilled Duration: {billed_ms} ms\tMemory Size: {} MB{init}",
            self.memory_mb
        );
    }
}

/// The X-Ray trace header Lambda passes a function: `Root=1-<epoch seconds>-<24 hex>`.
#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::sync::Semaphore;

    struct Slow {
        running: AtomicUsize,
        max_seen: AtomicUsize,
        gate: Semaphore,
    }

    impl Slow {
        /// Nothing running yet; calls wait for one of `permits` (released by the test).
        fn gated(permits: usize) -> Arc<Slow> {
            Arc::new(Slow {
                running: AtomicUsize::new(0),
                max_seen: AtomicUsize::new(0),
                gate: Semaphore::new(permits),
            })
        }
    }

    fn pool(limit: usize, inits: Arc<AtomicUsize>, shared: Arc<Slow>) -> Arc<FunctionPool<Slow>> {
        Arc::new(FunctionPool::new(
            "slow",
            limit,
            Duration::from_secs(30),
            128,
            Box::new(move || {
                inits.fetch_add(1, Ordering::SeqCst);
                Ok(shared.clone())
            }),
        ))
    }

    async fn slow_call(h: Arc<Slow>) -> Result<usize, String> {
        let now = h.running.fetch_add(1, Ordering::SeqCst) + 1;
        h.max_seen.fetch_max(now, Ordering::SeqCst);
        let _permit = h.gate.acquire().await;
        h.running.fetch_sub(1, Ordering::SeqCst);
        Ok(now)
    }

    #[tokio::test]
    async fn at_most_limit_run_at_once_and_the_excess_is_throttled() {
        let shared = Slow::gated(0);
        let inits = Arc::new(AtomicUsize::new(0));
        let pool = pool(3, inits.clone(), shared.clone());
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                pool.invoke(|h, _| slow_call(h)).await
            }));
        }
        while shared.running.load(Ordering::SeqCst) < 3 {
            tokio::task::yield_now().await;
        }
        // All three instances are busy: the fourth and fifth calls are throttled at once.
        for _ in 0..2 {
            let r = pool.invoke(|h, _| slow_call(h)).await;
            assert_eq!(
                r,
                Err(InvokeError::Throttled {
                    function: "slow",
                    limit: 3
                })
            );
        }
        shared.gate.add_permits(10);
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        let s = pool.stats();
        assert_eq!(
            (
                s.invocations,
                s.throttles,
                s.cold_starts,
                s.peak_concurrency
            ),
            (3, 2, 3, 3)
        );
        assert_eq!(shared.max_seen.load(Ordering::SeqCst), 3);
        assert_eq!(inits.load(Ordering::SeqCst), 3, "one init per instance");

        // Warm instances are reused: no new cold start.
        pool.invoke(|h, _| slow_call(h)).await.unwrap();
        assert_eq!(pool.stats().cold_starts, 3);
        assert_eq!(pool.stats().idle, 3);
    }

    #[tokio::test]
    async fn a_limit_of_zero_throttles_everything() {
        let shared = Slow::gated(1);
        let pool = pool(0, Arc::new(AtomicUsize::new(0)), shared);
        assert!(matches!(
            pool.invoke(|h, _| slow_call(h)).await,
            Err(InvokeError::Throttled { .. })
        ));
        assert_eq!(pool.stats().throttles, 1);
    }

    #[tokio::test]
    async fn timeouts_and_crashes_discard_the_instance() {
        let shared = Slow::gated(0);
        let inits = Arc::new(AtomicUsize::new(0));
        let pool = Arc::new(FunctionPool::new("t", 2, Duration::from_millis(50), 128, {
            let (inits, shared) = (inits.clone(), shared.clone());
            Box::new(move || {
                inits.fetch_add(1, Ordering::SeqCst);
                Ok(shared.clone())
            })
        }));
        let r = pool.invoke(|h, _| slow_call(h)).await;
        assert!(matches!(r, Err(InvokeError::TimedOut(_))));
        let r: Result<(), _> = pool
            .invoke(|_, _| async {
                if true {
                    panic!("boom")
                }
                Ok::<(), String>(())
            })
            .await;
        assert!(matches!(r, Err(InvokeError::Crashed(_))));
        let s = pool.stats();
        assert_eq!((s.errors, s.timeouts, s.idle, s.busy), (2, 1, 0, 0));
        assert_eq!(inits.load(Ordering::SeqCst), 2);
        // A handler error is counted but keeps the instance warm.
        let r: Result<(), _> = pool
            .invoke(|_, _| async { Err::<(), _>("bad input") })
            .await;
        assert_eq!(r, Err(InvokeError::Failed("bad input".into())));
        assert_eq!((pool.stats().errors, pool.stats().idle), (3, 1));
    }

    #[tokio::test]
    async fn a_failed_init_fails_the_invocation_and_the_next_one_retries_it() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let pool = FunctionPool::new("flaky-init", 1, Duration::from_secs(5), 128, {
            let attempts = attempts.clone();
            Box::new(move || {
                if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err("the secret could not be read".to_owned())
                } else {
                    Ok(Arc::new(7usize))
                }
            })
        });
        let first = pool.invoke(|h, _| async move { Ok::<_, String>(*h) }).await;
        assert_eq!(
            first,
            Err(InvokeError::InitFailed(
                "the secret could not be read".into()
            ))
        );
        let second = pool.invoke(|h, _| async move { Ok::<_, String>(*h) }).await;
        assert_eq!(second, Ok(7));
        let stats = pool.stats();
        assert_eq!((stats.errors, stats.cold_starts, stats.busy), (1, 2, 0));
    }
}
