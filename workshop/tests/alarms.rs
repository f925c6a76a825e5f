//! The local stack evaluates the template's alarms against its own metrics: a message in the
//! DLQ turns `dlq-not-empty` and the composite `pipeline-unhealthy` to ALARM, as CloudWatch
//! would, and `workshop alarms` shows it.

mod common;

use common::local::LocalQueue;
use common::{PATIENCE, Stack, alarm_rows, alarm_state, eventually, workshop_ok};
use serde_json::Value;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_letter_sets_off_the_dlq_alarm_and_the_composite() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &["--visibility-timeout", "1"]);
    let rows = alarm_rows(&stack);
    assert!(
        rows.len() > 20,
        "the template's whole set is evaluated: {}",
        rows.len()
    );
    assert_ne!(alarm_state(&rows, "dlq-not-empty"), "ALARM");

    // A message whose order does not exist fails every time and is dead-lettered.
    LocalQueue::open(dir.path())
        .publish_created(uuid::Uuid::new_v4(), None)
        .await;

    // The alarm's period (60 s) must close with the DLQ sample in it before it can fire.
    eventually(PATIENCE + PATIENCE, Duration::from_secs(1), async || {
        let rows = alarm_rows(&stack);
        let fired = ["dlq-not-empty", "pipeline-unhealthy"];
        if fired.iter().all(|name| alarm_state(&rows, name) == "ALARM") {
            return Ok(());
        }
        Err(format!("alarms never fired: {rows:?}"))
    })
    .await;
    let table = workshop_ok(&["alarms", "--console", &stack.console], None);
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
