//! Every metric a dashboard widget or an alarm references is emitted by some code path: a
//! scenario runs through the local stack and each referenced series is found in its metric
//! store (by namespace, name and exact dimensions).

mod common;

use common::local::{LocalQueue, write_order};
use common::{PATIENCE, Stack, chaos_json, eventually, has_dimensions, injections, metrics, order};
use orders_sqlite::SqliteOrderStore;
use serde_json::Value;
use std::time::Duration;

/// Turns on one set of faults, runs `trigger`, and waits until `function` logged an injection
/// of `fault`.
async fn inject(
    stack: &Stack,
    args: &[&str],
    fault: &str,
    function: &str,
    trigger: impl AsyncFnOnce(),
) {
    let mut on = vec!["on"];
    on.extend_from_slice(args);
    chaos_json(stack, &on);
    trigger().await;
    eventually(PATIENCE, Duration::from_millis(100), async || {
        if injections(stack, function, fault).is_empty() {
            return Err(format!("{function} never injected {fault} ({args:?})"));
        }
        Ok(())
    })
    .await;
    chaos_json(stack, &["off"]);
}

fn present(rows: &[Value], series: &alarms::Metric) -> bool {
    let dims: Vec<(&str, &str)> = series
        .dimensions
        .iter()
        .map(|d| (d.name.as_str(), d.value.as_str()))
        .collect();
    rows.iter().any(|r| {
        r["namespace"] == series.namespace.as_str()
            && r["name"] == series.metric_name.as_str()
            && has_dimensions(r, &dims)
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn every_metric_a_dashboard_or_alarm_reads_is_emitted() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &["--chaos-armed", "--visibility-timeout", "1"]);
    let c = stack.client();

    // The happy path for every status, reads, lists, health and rejected requests.
    for (lines, price) in [(1, "5.00"), (11, "1.00"), (1, "20000.00")] {
        let id = c.place(&order(lines, price)).await;
        assert_eq!(c.get(&format!("/orders/{id}")).await.status, 200);
    }
    assert_eq!(
        c.get("/orders/00000000-0000-0000-0000-000000000000")
            .await
            .status,
        404
    );
    // One rejected request per validation reason.
    for body in [
        "{".to_owned(),
        r#"{"items":[{"sku":"A","qty":1,"price":1}]}"#.to_owned(),
        r#"{"customerName":5,"items":[{"sku":"A","qty":1,"price":1}]}"#.to_owned(),
        r#"{"customerName":"A","items":[{"sku":"A","qty":1,"price":1}],"x":1}"#.to_owned(),
        r#"{"customerName":"A","items":[{"sku":"A","qty":0,"price":1}]}"#.to_owned(),
        format!(r#"{{"customerName":"{}"}}"#, "x".repeat(70_000)),
    ] {
        assert!(matches!(c.post_raw(body, &[]).await.status, 400 | 413));
    }
    assert_eq!(c.get("/orders?limit=2").await.status, 200);
    assert_eq!(c.get("/health").await.status, 200);
    // With an Idempotency-Key the create is a transaction (TransactWriteItems), without one a
    // plain put: both operations have their series.
    let keyed = c
        .post_raw(
            order(1, "2.00").to_string(),
            &[("Idempotency-Key", "referenced-metrics")],
        )
        .await;
    assert_eq!(keyed.status, 201, "{}", keyed.text);

    // A duplicate delivery, a message that keeps failing (to the DLQ), and an order written
    // straight to the store (its outbox entry is published like any other).
    let queue = LocalQueue::open(dir.path());
    let store = SqliteOrderStore::open(&dir.path().join("orders.db")).unwrap();
    let done = c.get("/orders?limit=1").await.body["orders"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    queue.publish_created(done, None).await;
    queue.publish_created(uuid::Uuid::new_v4(), None).await;
    queue
        .queue
        .send("not an order message", &Default::default())
        .await
        .unwrap();
    let placed_at = queue.clock.now() - chrono::Duration::seconds(5);
    let stranded = write_order(&store, uuid::Uuid::new_v4(), "Stranded", 1, placed_at).await;
    c.wait_final(&stranded.id.to_string()).await;

    // Every fault of the chaos catalogue, each where it is injected: ChaosInjections by
    // Fault, and the failures they cause (PublishFailures, DependencyFailure, InjectedFault).
    let create = async || {
        c.create(&order(1, "1.00")).await;
    };
    let slow = [
        "--processor-latency-ms",
        "10",
        "--api-latency-ms",
        "10",
        "--dependency-latency-ms",
        "5",
    ];
    inject(&stack, &slow, "Latency", "order-processor", create).await;
    assert!(!injections(&stack, "create-order", "ApiLatency").is_empty());
    assert!(!injections(&stack, "create-order", "DependencyLatency").is_empty());
    let poison = ["--poison-sku", "SKU-0"];
    inject(&stack, &poison, "PoisonMessage", "order-processor", create).await;
    let record = ["--processor-failure-rate", "1"];
    inject(&stack, &record, "RecordFailure", "order-processor", create).await;
    let batch = [
        "--processor-failure-rate",
        "1",
        "--processor-failure-mode",
        "batch",
    ];
    inject(&stack, &batch, "BatchFailure", "order-processor", create).await;
    inject(
        &stack,
        &["--timeout-rate", "1"],
        "Timeout",
        "order-processor",
        create,
    )
    .await;
    let api = ["--api-error-rate", "1"];
    inject(&stack, &api, "ApiError", "create-order", create).await;
    let enqueue = ["--dependency", "queue", "--dependency-failure-rate", "1"];
    inject(
        &stack,
        &enqueue,
        "DependencyError",
        "order-publisher",
        create,
    )
    .await;
    let read = ["--dependency", "store", "--dependency-failure-rate", "1"];
    inject(
        &stack,
        &read,
        "DependencyError",
        "order-processor",
        async || {
            queue.publish_created(done, None).await;
        },
    )
    .await;

    // Wait until the scenario's last effects (the DLQ move, a queue sample after it, an alarm
    // round) are in the store, then look for every referenced series.
    let wanted: Vec<alarms::Metric> = dashboards::referenced_series(dashboards::Target::Local)
        .into_iter()
        .collect();
    eventually(PATIENCE, Duration::from_millis(500), async || {
        let rows = metrics(&stack);
        let missing: Vec<String> = wanted
            .iter()
            .filter(|m| !present(&rows, m))
            .map(|m| {
                format!(
                    "{} {} {:?}",
                    m.namespace,
                    m.metric_name,
                    m.dimensions
                        .iter()
                        .map(|d| format!("{}={}", d.name, d.value))
                        .collect::<Vec<_>>()
                )
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(format!("never emitted:\n{}", missing.join("\n")))
    })
    .await;
}
