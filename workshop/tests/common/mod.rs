//! Test harness: runs the real `workshop up` binary on a free loopback port with its own data
//! dir, and talks to it over HTTP like any client.
#![allow(dead_code)]

pub mod local;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Stack {
    child: Child,
    pub url: String,
    /// The ready line, which names the backend the stack runs on.
    pub banner: String,
    /// The control plane / console base URL.
    pub console: String,
    pub data_dir: PathBuf,
    /// The data dir when the stack made its own ([`Stack::fresh`]); removed after the stack
    /// is killed (fields drop after `Drop::drop`).
    _own_dir: Option<tempfile::TempDir>,
}

/// Upper bound for waiting on asynchronous outcomes; generous for slow CI machines.
pub const PATIENCE: Duration = Duration::from_secs(120);

pub fn workshop() -> Command {
    Command::new(env!("CARGO_BIN_EXE_workshop"))
}

/// `workshop up` quiet on these ports (`"0"`: a free one); the data dir comes next.
pub fn up_args<'a>(api_port: &'a str, console_port: &'a str) -> [&'a str; 7] {
    [
        "up",
        "--port",
        api_port,
        "--console-port",
        console_port,
        "--quiet",
        "--data-dir",
    ]
}

impl Stack {
    /// A stack on a data dir of its own, for tests that never look at the dir or restart.
    pub fn fresh(extra: &[&str]) -> Stack {
        let dir = tempfile::tempdir().expect("a temporary data dir");
        let mut stack = Self::start(dir.path(), extra);
        stack._own_dir = Some(dir);
        stack
    }

    pub fn start(data_dir: &Path, extra: &[&str]) -> Stack {
        Self::start_with_env(data_dir, extra, &[])
    }

    pub fn start_with_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Stack {
        let mut cmd = workshop();
        cmd.args(up_args("0", "0"))
            .arg(data_dir)
            .args(extra)
            .envs(env.iter().copied());
        Self::spawn(cmd, data_dir)
    }

    /// `workshop up` as `cmd` runs it (its arguments already given, e.g. under a wrapper),
    /// once it has printed its ready line.
    pub fn spawn(mut cmd: Command, data_dir: &Path) -> Stack {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("workshop up starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let (url, banner) = loop {
            let line = lines
                .next()
                .expect("workshop up printed its ready line before exiting")
                .expect("stdout is readable");
            if let Some(rest) = line.strip_prefix("Local stack ready: API ") {
                break (
                    rest.split_whitespace().next().unwrap().to_owned(),
                    line.clone(),
                );
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Stack {
            child,
            url,
            console: banner
                .split_whitespace()
                .skip_while(|w| *w != "console")
                .nth(1)
                .expect("the ready line names the console")
                .to_owned(),
            banner,
            data_dir: data_dir.to_owned(),
            _own_dir: None,
        }
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// SIGINT, as Ctrl-C sends, and wait for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill -INT");
        self.child.wait().expect("wait")
    }

    pub fn client(&self) -> Client {
        Client {
            http: reqwest::Client::new(),
            url: self.url.clone(),
        }
    }

    /// Lines of one function's JSON log in the data dir.
    pub fn log(&self, function: &str) -> Vec<Value> {
        read_log(&self.data_dir, function)
    }
}

/// Runs a prepared command whether it succeeds or not; returns (success, stdout, stderr).
pub fn outcome(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("the command runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `workshop chaos <args>` against the stack; returns (success, stdout, stderr).
pub fn chaos(stack: &Stack, args: &[&str]) -> (bool, String, String) {
    outcome(
        workshop()
            .arg("chaos")
            .args(args)
            .args(["--console", &stack.console, "--data-dir"])
            .arg(&stack.data_dir),
    )
}

pub fn chaos_json(stack: &Stack, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (ok, out, err) = chaos(stack, &all);
    assert!(ok, "workshop chaos {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

pub fn injections(stack: &Stack, function: &str, fault: &str) -> Vec<Value> {
    stack
        .log(function)
        .into_iter()
        .filter(|l| l["kind"] == "chaos.injection" && l["fault"] == fault)
        .collect()
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a prepared command, asserts it exited 0 (failing with its stderr) and returns its
/// stdout.
pub fn succeed(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `workshop <args>`, asserts it succeeded and returns what it printed.
pub fn workshop_ok(args: &[&str], data_dir: Option<&Path>) -> String {
    let mut cmd = workshop();
    cmd.args(args);
    if let Some(dir) = data_dir {
        cmd.arg("--data-dir").arg(dir);
    }
    String::from_utf8(succeed(&mut cmd)).expect("UTF-8 output")
}

/// Polls `check` every `every` until it answers `Ok`, and returns that; fails the test with
/// the last `Err` (what was still missing) once `within` has passed.
pub async fn eventually<T>(
    within: Duration,
    every: Duration,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let started = Instant::now();
    loop {
        match check().await {
            Ok(done) => return done,
            Err(missing) => assert!(started.elapsed() < within, "{missing}"),
        }
        tokio::time::sleep(every).await;
    }
}

/// `workshop metrics --json` from the stack's control plane.
pub fn metrics(stack: &Stack) -> Vec<Value> {
    let out = workshop_ok(&["metrics", "--json", "--console", &stack.console], None);
    serde_json::from_str(&out).expect("metrics JSON")
}

/// Polls `done` until it holds, for up to twice [`PATIENCE`] (the chaos scenarios wait on
/// retries, alarm periods and publishes); fails the test naming `what` it waited for.
pub async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    eventually(PATIENCE * 2, Duration::from_millis(250), async || {
        if done().await {
            Ok(())
        } else {
            Err(format!("gave up waiting for {what}"))
        }
    })
    .await
}

/// Whether a `workshop metrics --json` row carries every one of `dims` (name, value).
pub fn has_dimensions(row: &Value, dims: &[(&str, &str)]) -> bool {
    dims.iter().all(|(k, v)| {
        row["dimensions"]
            .as_array()
            .is_some_and(|ds| ds.iter().any(|d| d[0] == *k && d[1] == *v))
    })
}

/// `workshop alarms --json` from the stack's control plane.
pub fn alarm_rows(stack: &Stack) -> Vec<Value> {
    let out = workshop_ok(&["alarms", "--console", &stack.console, "--json"], None);
    serde_json::from_str(&out).expect("alarms JSON")
}

/// One alarm's state in `workshop alarms --json` rows; empty when the alarm is absent.
pub fn alarm_state(rows: &[Value], name: &str) -> String {
    rows.iter()
        .find(|r| r["name"] == name)
        .map(|r| r["state"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// `workshop dlq list --json` of a data dir.
pub fn dlq_rows(data_dir: &Path) -> Vec<Value> {
    let out = workshop_ok(
        &["dlq", "list", "--json", "--limit", "10000"],
        Some(data_dir),
    );
    serde_json::from_str(&out).expect("DLQ JSON")
}

pub fn read_log(data_dir: &Path, function: &str) -> Vec<Value> {
    let path = data_dir.join("logs").join(format!("{function}.log"));
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub url: String,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Client {
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.expect("request reaches the stack");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn post_raw(
        &self,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self
            .http
            .post(format!("{}/orders", self.url))
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    pub async fn create(&self, order: &Value) -> Reply {
        self.post_raw(order.to_string(), &[]).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(format!("{}{path}", self.url)))
            .await
    }

    /// Polls `GET /orders/{id}` until the order leaves PENDING; returns it.
    pub async fn wait_final(&self, id: &str) -> Value {
        eventually(PATIENCE, Duration::from_millis(50), async || {
            let r = self.get(&format!("/orders/{id}")).await;
            assert_eq!(r.status, 200, "{}", r.text);
            if r.body["status"] != "PENDING" {
                return Ok(r.body);
            }
            Err(format!("order {id} still PENDING after {PATIENCE:?}"))
        })
        .await
    }

    /// Every order `GET /orders?{query}` lists, following `nextToken` page by page; asserts
    /// each page answers 200 with a `count` that matches it, and the last one has no token.
    pub async fn pages(&self, query: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut path = format!("/orders?{query}");
            if let Some(t) = &token {
                path.push_str(&format!("&nextToken={}", urlencode(t)));
            }
            let r = self.get(&path).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            let orders = r.body["orders"].as_array().unwrap().clone();
            assert_eq!(r.body["count"], orders.len());
            seen.extend(orders);
            match r.body["nextToken"].as_str() {
                Some(t) => token = Some(t.to_owned()),
                None => {
                    assert!(r.body["nextToken"].is_null());
                    return seen;
                }
            }
        }
    }

    /// Creates `order`, asserts it was accepted, and waits until it is final; returns its id.
    pub async fn place(&self, order: &Value) -> String {
        let r = self.create(order).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.body["id"].as_str().expect("an order id").to_owned();
        self.wait_final(&id).await;
        id
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a page token in a
/// query string.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn order(lines: usize, price: &str) -> Value {
    let items: Vec<Value> = (0..lines)
        .map(|i| json!({ "sku": format!("SKU-{i}"), "qty": 1, "price": serde_json::from_str::<Value>(price).unwrap() }))
        .collect();
    json!({ "customerName": "Test Customer", "items": items })
}

pub fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

/// A moto server of this test's own on a free loopback port: DynamoDB, SQS and Secrets Manager
/// as AWS speaks them, never real AWS. Installed by `scripts/moto-server.sh install`.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Moto {
    pub fn start() -> Moto {
        let path = std::env::var_os("MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let venvs = std::env::var_os("KIT_VENV_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| {
                        PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                            .join(".cache/order-kit/venvs")
                    });
                venvs.join("moto/bin/moto_server")
            });
        assert!(
            path.exists(),
            "moto_server not found at {}: run scripts/moto-server.sh install",
            path.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&path)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < PATIENCE, "moto_server did not answer");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The environment that points aws-config at this server with dummy credentials.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Moto {
    /// An SDK configuration for this server, for tests that look at AWS state directly.
    #[cfg(feature = "aws")]
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load()
            .await
    }
}

impl Moto {
    /// A `workshop` command whose AWS clients talk to this server.
    pub fn workshop(&self) -> Command {
        let mut cmd = workshop();
        cmd.envs(self.env());
        cmd
    }

    /// `workshop up --backend aws` on this server, with `data_dir` for what stays local.
    pub fn up(&self, data_dir: &Path) -> Stack {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Stack::start_with_env(data_dir, &["--backend", "aws"], &env)
    }

    /// Runs a `workshop` command against this server and parses its `--json` output.
    pub fn workshop_json(&self, args: &[&str]) -> Vec<Value> {
        let out = succeed(self.workshop().args(args));
        serde_json::from_slice(&out).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
