//! A newcomer's first hour, end to end on the real binary: one stack per data dir, commands
//! that refuse a folder without a stack, errors that name the flag to change, output that
//! survives `| head`, a terminal that shows what a person watches for, and graphs and alarm
//! history that survive a SIGKILL.

mod common;

use common::{PATIENCE, Stack, eventually, outcome, up_args, workshop};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A refused command: it failed, printed no panic, and its message holds each of `words`.
fn refused(args: &[&str], words: &[&str]) -> String {
    let (ok, _, err) = outcome(workshop().args(args));
    assert!(!ok, "{args:?} was accepted");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for w in words {
        assert!(err.contains(w), "{args:?}: {err:?} does not say {w:?}");
    }
    err
}

async fn health(stack: &Stack) -> u16 {
    stack.client().get("/health").await.status
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_stack_on_the_same_data_dir_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let first = Stack::start(dir.path(), &[]);
    let port = first.url.rsplit(':').next().unwrap().to_owned();
    let data_dir = dir.path().to_str().unwrap();
    let err = refused(
        &[&up_args("0", "0")[..], &[data_dir]].concat(),
        &[
            "another local stack is running on the data dir",
            &port,
            "pid",
        ],
    );
    assert!(err.contains(&first.console), "{err}");
    // The first one kept its queue and its API.
    assert_eq!(health(&first).await, 200);
    // SIGKILL releases the lock: a new stack starts on the same dir.
    first.kill();
    let again = Stack::start(dir.path(), &[]);
    assert_eq!(health(&again).await, 200);
}

#[test]
fn commands_that_read_a_stack_refuse_a_folder_without_one() {
    let empty = tempfile::tempdir().unwrap();
    let typo = empty.path().join("not-the-stack");
    let typo = typo.to_str().unwrap();
    for args in [
        vec!["dlq", "list", "--data-dir", typo],
        vec!["dlq", "redrive", "--data-dir", typo],
        vec!["chaos", "journal", "--data-dir", typo],
    ] {
        refused(
            &args,
            &["no local stack has run in", "not-the-stack", "--data-dir"],
        );
    }
    assert!(
        !empty.path().join("not-the-stack").exists(),
        "a refused command made the folder"
    );
}

#[test]
fn a_data_dir_that_is_a_file_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orders.txt");
    std::fs::write(&file, "not a folder").unwrap();
    let file = file.to_str().unwrap();
    for args in [
        [&up_args("0", "0")[..], &[file]].concat(),
        vec!["dlq", "list", "--data-dir", file],
    ] {
        let err = refused(&args, &["is a file, not a folder", "orders.txt"]);
        assert!(!err.contains("os error 17"), "{err}");
    }
}

#[test]
fn a_busy_port_names_the_flag_that_moves_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    refused(
        &[&up_args("0", &port)[..], &[data_dir]].concat(),
        &[&port, "pass --console-port to pick another port"],
    );
    refused(
        &[&up_args(&port, "0")[..], &[data_dir]].concat(),
        &[&port, "pass --port to pick another port"],
    );
}

#[test]
fn bad_arguments_are_refused_with_the_problem_named() {
    // A bare number is not a duration: 10 minutes of load instead of 10 seconds is not a typo
    // a person notices.
    refused(
        &["load", "--duration", "10"],
        &["has no unit", "10s, 10m or 10h"],
    );
    refused(&["chaos", "on", "--for", "5"], &["has no unit"]);
    refused(&["metrics", "--minutes", "0"], &["--minutes", "0"]);
}

#[test]
fn chaos_on_without_a_fault_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &["--chaos-armed"]);
    let data_dir = dir.path().to_str().unwrap();
    refused(
        &[
            "chaos",
            "on",
            "--for",
            "1m",
            "--console",
            &stack.console,
            "--data-dir",
            data_dir,
        ],
        &["no fault given"],
    );
}

#[test]
fn a_reader_that_stops_reading_is_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &["--chaos-armed"]);
    // `workshop chaos journal | head -0`: stdout is closed before the command writes.
    let mut child = workshop()
        .args(["chaos", "status", "--console", &stack.console])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(status.success(), "{status}: {err}");
}

/// The lines `workshop up` prints to the terminal while `wanted` is not yet seen (or 60 s).
fn terminal_lines(dir: &std::path::Path, wanted: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut child = workshop()
        .args(["up", "--port", "0", "--console-port", "0"])
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let started = Instant::now();
    while !wanted(&lines) && started.elapsed() < Duration::from_secs(60) {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(line);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}

#[test]
fn the_terminal_shows_what_a_person_watches_for() {
    let dir = tempfile::tempdir().unwrap();
    // An order in the outbox before the start: the stack publishes and processes it, so the
    // publisher and the processor each run while the terminal is read.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = orders_sqlite::SqliteOrderStore::open(&dir.path().join("orders.db")).unwrap();
        common::local::write_order(&store, uuid::Uuid::new_v4(), "Early", 1, chrono::Utc::now())
            .await;
    });
    let ran = |function: &str| {
        std::fs::read_to_string(dir.path().join(format!("logs/{function}.log")))
            .is_ok_and(|log| log.contains("REPORT RequestId"))
    };
    // The first alarm round's summary, and both event functions' runs.
    let lines = terminal_lines(dir.path(), |lines| {
        lines.iter().any(|l| l.contains("alarms:"))
            && ran("order-publisher")
            && ran("order-processor")
    });
    assert!(
        ran("order-publisher") && ran("order-processor"),
        "{lines:#?}"
    );
    assert!(lines[0].starts_with("Local stack ready"), "{lines:?}");
    let summary: Vec<&String> = lines.iter().filter(|l| l.contains("alarms:")).collect();
    assert_eq!(summary.len(), 1, "{lines:#?}");
    assert!(summary[0].contains(" OK"), "{}", summary[0]);
    let noise: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("REPORT RequestId") || l.contains("INSUFFICIENT_DATA -> OK"))
        .collect();
    assert!(noise.is_empty(), "terminal noise: {noise:#?}");
    // The detail stays in the files: each alarm's first evaluation, each REPORT.
    let stack_log = std::fs::read_to_string(dir.path().join("logs/workshop.log")).unwrap();
    assert!(stack_log.contains("INSUFFICIENT_DATA -> OK"));
}

/// The stack's OrdersCreated over the last minutes, as `workshop metrics` reads it from the
/// store the console's graphs read.
fn orders_created(stack: &Stack) -> f64 {
    common::metrics(stack)
        .iter()
        .filter(|r| r["name"] == "OrdersCreated")
        .filter_map(|r| r["sum"].as_f64())
        .sum()
}

async fn alarms_view(console: &str) -> Value {
    reqwest::get(format!("{console}/api/alarms"))
        .await
        .expect("GET /api/alarms")
        .json()
        .await
        .expect("alarms JSON")
}

/// Outcome 3: a stack killed with SIGKILL and restarted shows the graphs of the minutes
/// before the kill, and its alarms' history.
#[tokio::test(flavor = "multi_thread")]
async fn the_graphs_and_the_alarm_history_survive_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &[]);
    let c = stack.client();
    for i in 0..3 {
        c.place(&common::order(1 + i, "2.50")).await;
    }
    // The alarms have had their first round, and the datapoints are in the store.
    let before = eventually(PATIENCE, Duration::from_millis(500), async || {
        let view = alarms_view(&stack.console).await;
        let n = orders_created(&stack);
        let history = view["history"].as_array().map(Vec::len).unwrap_or(0);
        if n >= 3.0 && history > 0 {
            Ok(view)
        } else {
            Err(format!("OrdersCreated {n}, {history} alarm transitions"))
        }
    })
    .await;
    // The writer flushes every second; then no clean stop.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stack.kill();

    let again = Stack::start(dir.path(), &[]);
    assert_eq!(
        orders_created(&again),
        3.0,
        "the datapoints before the kill"
    );
    let after = alarms_view(&again.console).await;
    let kept = before["history"].as_array().cloned().unwrap_or_default();
    let history = after["history"].as_array().cloned().unwrap_or_default();
    assert!(history.len() >= kept.len(), "{after}");
    assert_eq!(
        history[..kept.len()],
        kept[..],
        "the history before the kill, in order"
    );
    // Each alarm resumes in the state it had: no alarm starts over in INSUFFICIENT_DATA.
    for (name, status) in after["alarms"].as_object().cloned().unwrap_or_default() {
        assert_eq!(status["state"], before["alarms"][&name]["state"], "{name}");
    }
}
