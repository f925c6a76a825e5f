//! The local stack evaluates the template's alarms against its own metrics: a message in the
//! DLQ turns `dlq-not-empty` and the composite `pipeline-unhealthy` to ALARM, as CloudWatch
//! would, and `workshop alarms` shows it.

mod common;

use common::{PATIENCE, Stack, workshop};
use orders::ports::{Clock, OrderCreated, OrderQueue, SystemClock};
use orders_sqlite::{QueueConfig, SqliteQueue};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn state(rows: &[Value], name: &str) -> String {
    rows.iter()
        .find(|r| r["name"] == name)
        .map(|r| r["state"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_letter_sets_off_the_dlq_alarm_and_the_composite() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &["--visibility-timeout", "1"]);
    let alarms = |json: bool| {
        let mut cmd = workshop();
        cmd.args(["alarms", "--console", &stack.console]);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let rows: Vec<Value> = serde_json::from_slice(&alarms(true)).unwrap();
    assert!(
        rows.len() > 20,
        "the template's whole set is evaluated: {}",
        rows.len()
    );
    assert_ne!(state(&rows, "dlq-not-empty"), "ALARM");

    // A message whose order does not exist fails every time and is dead-lettered.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let queue = SqliteQueue::open(
        &dir.path().join("queue.db"),
        QueueConfig::from_settings(),
        clock.clone(),
    )
    .unwrap();
    queue
        .publish(&OrderCreated {
            order_id: uuid::Uuid::new_v4(),
            created_at: clock.now(),
            correlation_id: None,
        })
        .await
        .unwrap();

    // The alarm's period (60 s) must close with the DLQ sample in it before it can fire.
    let started = Instant::now();
    loop {
        let rows: Vec<Value> = serde_json::from_slice(&alarms(true)).unwrap();
        if state(&rows, "dlq-not-empty") == "ALARM" && state(&rows, "pipeline-unhealthy") == "ALARM"
        {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE + PATIENCE,
            "alarms never fired: {rows:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let table = String::from_utf8(alarms(false)).unwrap();
    assert!(
        table.contains("dlq-not-empty") && table.contains("ALARM"),
        "{table}"
    );
    let changes: Vec<Value> = stack
        .log("workshop")
        .into_iter()
        .filter(|l| l["kind"] == "alarm.state_change" && l["alarm"] == "dlq-not-empty")
        .collect();
    assert!(
        changes.iter().any(|l| l["level"] == "WARN"),
        "the ALARM transition is logged"
    );
}
