//! One moto server per test binary, on a free loopback port, and an AWS config that can
//! only reach it (fixed endpoint, fake credentials, never real AWS). Shared by the tests of
//! `orders-aws` (through `common`) and of `chaos` with feature `aws` (by `#[path]`), so it
//! names no crate of the kit.
//!
//! The server binary is `$MOTO_SERVER`, or the venv that `scripts/moto-server.sh install`
//! makes.

#![allow(dead_code)] // each test binary uses a different part of the harness

use aws_config::BehaviorVersion;
use aws_config::Region;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use uuid::Uuid;

const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running moto server. Dropping it stops the server; if the test process dies instead
/// (statics are never dropped), the wrapper shell sees its stdin close and stops it too.
pub struct MotoServer {
    pub endpoint: String,
    wrapper: Child,
    /// Held open for the wrapper: its EOF is the "parent is gone" signal.
    lifeline: Option<ChildStdin>,
    log: PathBuf,
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.wrapper.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.wrapper.kill();
        let _ = self.wrapper.wait();
    }
}

fn moto_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "MOTO_SERVER={} does not exist; run scripts/moto-server.sh install",
            path.display()
        );
        return path;
    }
    let venvs = std::env::var_os("KIT_VENV_DIR")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/order-kit/venvs"))
        })
        .unwrap_or_else(|| PathBuf::from(".cache/order-kit/venvs"));
    let path = venvs.join("moto/bin/moto_server");
    assert!(
        path.is_file(),
        "moto server not found at {} and MOTO_SERVER is not set: run scripts/moto-server.sh install",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    listener.local_addr().expect("local addr").port()
}

/// moto's own API answers once the server is ready.
fn answers(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

fn log_tail(path: &PathBuf) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

impl MotoServer {
    /// Starts a server on a free port and waits until it answers. A port taken between the
    /// probe and moto's bind makes moto exit; then another port is tried.
    pub fn start() -> MotoServer {
        let binary = moto_server_binary();
        // One log per test binary, overwritten by each run, so logs do not pile up.
        let log_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let binary_name = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "tests".to_owned());
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = log_dir.join(format!("moto-{binary_name}.log"));
            // The shell runs moto in the background and stops it when its own stdin (our
            // pipe) closes, i.e. when this process exits however it exits; it exits itself
            // when moto does, which tells us a start failed.
            let script = r#"
                exec 3<&0
                "$0" -H 127.0.0.1 -p "$1" >"$2" 2>&1 </dev/null &
                pid=$!
                { cat >/dev/null; kill "$pid" 2>/dev/null; } <&3 &
                wait "$pid"
            "#;
            let mut wrapper = Command::new("sh")
                .arg("-c")
                .arg(script)
                .arg(&binary)
                .arg(port.to_string())
                .arg(&log)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let lifeline = wrapper.stdin.take();
            let server = MotoServer {
                endpoint: format!("http://127.0.0.1:{port}"),
                wrapper,
                lifeline,
                log: log.clone(),
            };
            let deadline = Instant::now() + START_TIMEOUT;
            let mut server = Some(server);
            while Instant::now() < deadline {
                let s = server.as_mut().expect("server");
                if answers(port) {
                    return server.take().expect("server");
                }
                if let Ok(Some(status)) = s.wrapper.try_wait() {
                    last_error = format!("moto_server exited ({status}):\n{}", log_tail(&log));
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if server.is_some() && last_error.is_empty() {
                last_error = format!(
                    "moto_server did not answer on port {port} within {START_TIMEOUT:?}:\n{}",
                    log_tail(&log)
                );
            }
        }
        panic!(
            "could not start moto server {}: {last_error}",
            binary.display()
        );
    }

    pub fn log_path(&self) -> &PathBuf {
        &self.log
    }
}

/// This binary's server, started on first use and shared by its tests.
pub fn moto() -> &'static MotoServer {
    static SERVER: OnceLock<MotoServer> = OnceLock::new();
    SERVER.get_or_init(MotoServer::start)
}

/// Shared config pointing at moto, with fake credentials; nothing here can reach AWS.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&moto().endpoint)
        .region(Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::new_v4().simple())
}
