//! A Lambda Runtime API emulator: the HTTP interface a bootstrap talks to on Lambda
//! (`AWS_LAMBDA_RUNTIME_API`), so the real release binaries run their real `lambda_runtime`
//! loop here, and the Node.js peer its own. It hands out queued events one at a time and
//! records when the function first asked for work (the end of its init, as Lambda measures
//! `Init Duration`), when each answer arrived, and how long after each answer the function
//! asked for the next event (what it did in between: exporting its spans).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, watch};

/// How long an invocation may run before its deadline, as the function sees it.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The ARN every invocation names; `lambda_runtime` parses it, nothing checks it.
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:bench";

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("could not bind the Runtime API emulator on 127.0.0.1: {0}")]
    Bind(std::io::Error),
}

/// One answered invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    pub request_id: String,
    /// When the function took the event (its `next` call returned).
    pub handed_at: Instant,
    pub answered_at: Instant,
    /// `false` when the function posted to `/error`.
    pub ok: bool,
    pub body: Bytes,
}

#[derive(Debug, Default)]
struct Log {
    first_next: Option<Instant>,
    init_error: Option<String>,
    handed: HashMap<String, Instant>,
    answers: Vec<Answer>,
    /// The last answer not yet followed by a `next` call.
    pending_answer: Option<Instant>,
    /// Per answer followed by a `next` call: answer posted → `next` asked.
    after_answer: Vec<Duration>,
    next_id: u64,
    handed_count: u64,
}

struct Shared {
    queue: Mutex<VecDeque<(String, Bytes)>>,
    queued: Notify,
    log: Mutex<Log>,
    /// Answers so far (init errors count as one, so waiters wake up).
    progress: watch::Sender<usize>,
    /// Whether the trace header marks invocations sampled, as Lambda does for the requests
    /// X-Ray's sampling rules pick: a function exports spans only for those.
    sampled: bool,
}

impl Shared {
    fn log(&self) -> MutexGuard<'_, Log> {
        // A panic while holding the lock only happens on a bug here; the data stays usable.
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn queue(&self) -> MutexGuard<'_, VecDeque<(String, Bytes)>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running emulator on a free loopback port; dropped, it stops serving.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// An emulator whose invocations are sampled for tracing or not.
    pub async fn start(sampled: bool) -> Result<RuntimeApi, EmulatorError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(EmulatorError::Bind)?;
        let addr = listener.local_addr().map_err(EmulatorError::Bind)?;
        let (progress, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            queued: Notify::new(),
            log: Mutex::new(Log::default()),
            progress,
            sampled,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(answer::<true>),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(answer::<false>),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            // Serving ends only when the task is aborted (on drop).
            let _ = axum::serve(listener, app).await;
        });
        Ok(RuntimeApi {
            addr,
            shared,
            server,
        })
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API` for the function.
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// Queues one event; returns its request id.
    pub fn push(&self, event: impl Into<Bytes>) -> String {
        let id = {
            let mut log = self.shared.log();
            log.next_id += 1;
            format!("bench-{:08}", log.next_id)
        };
        self.shared.queue().push_back((id.clone(), event.into()));
        self.shared.queued.notify_one();
        id
    }

    /// Waits until `n` invocations are answered or the function reported an init error.
    /// `false` if `patience` ran out first.
    pub async fn wait_answers(&self, n: usize, patience: Duration) -> bool {
        let mut rx = self.shared.progress.subscribe();
        tokio::time::timeout(patience, rx.wait_for(|count| *count >= n))
            .await
            .is_ok()
    }

    pub fn first_next(&self) -> Option<Instant> {
        self.shared.log().first_next
    }

    pub fn init_error(&self) -> Option<String> {
        self.shared.log().init_error.clone()
    }

    pub fn answers(&self) -> Vec<Answer> {
        self.shared.log().answers.clone()
    }

    pub fn answered(&self) -> usize {
        self.shared.log().answers.len()
    }

    /// For each answer the function followed with a `next` call, how long after it.
    pub fn after_answer(&self) -> Vec<Duration> {
        self.shared.log().after_answer.clone()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    {
        let now = Instant::now();
        let mut log = shared.log();
        log.first_next.get_or_insert(now);
        if let Some(answered) = log.pending_answer.take() {
            log.after_answer.push(now - answered);
        }
    }
    // Long poll, as Lambda does: the function waits here between invocations.
    let (id, event) = loop {
        let notified = shared.queued.notified();
        if let Some(item) = shared.queue().pop_front() {
            break item;
        }
        notified.await;
    };
    let seq = {
        let mut log = shared.log();
        log.handed.insert(id.clone(), Instant::now());
        log.handed_count += 1;
        log.handed_count
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let deadline = now.saturating_add(TIMEOUT).as_millis();
    let mut headers = HeaderMap::new();
    let header = |v: &str| HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static(""));
    headers.insert("lambda-runtime-aws-request-id", header(&id));
    headers.insert("lambda-runtime-deadline-ms", header(&deadline.to_string()));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static(FUNCTION_ARN),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        // A trace of its own per invocation, as Lambda starts one for each event.
        header(&format!(
            "Root=1-{:08x}-{seq:024x};Parent=0000000000000001;Sampled={}",
            now.as_secs() % 0x1_0000_0000,
            u8::from(shared.sampled)
        )),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, event).into_response()
}

fn record(shared: &Shared, id: String, ok: bool, body: Bytes) -> StatusCode {
    let count = {
        let mut log = shared.log();
        let Some(handed_at) = log.handed.remove(&id) else {
            return StatusCode::BAD_REQUEST;
        };
        let answered_at = Instant::now();
        log.answers.push(Answer {
            request_id: id,
            handed_at,
            answered_at,
            ok,
            body,
        });
        log.pending_answer = Some(answered_at);
        log.answers.len()
    };
    shared.progress.send_replace(count);
    StatusCode::ACCEPTED
}

/// The function's answer to invocation `id`: a response (`OK`) or an error report.
async fn answer<const OK: bool>(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    record(&shared, id, OK, body)
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    shared.log().init_error = Some(String::from_utf8_lossy(&body).into_owned());
    shared.progress.send_modify(|n| *n = usize::MAX);
    StatusCode::ACCEPTED
}
