//! The asynchronous flow on the local stack: final statuses, the DLQ and redrive, throttling.

mod common;

use common::local::{LocalQueue, write_order};
use common::{PATIENCE, Stack, dlq_rows, eventually, is_uuid, order, workshop_ok};
use orders_sqlite::SqliteOrderStore;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn orders_reach_their_final_status() {
    let stack = Stack::fresh(&[]);
    let c = stack.client();
    let cases = [
        (order(2, "9.99"), "CONFIRMED"),
        (order(10, "999.99"), "CONFIRMED"),
        (order(11, "1.00"), "PENDING_REVIEW"),
        (order(1, "10000.01"), "PENDING_APPROVAL"),
        (order(12, "5000.00"), "PENDING_APPROVAL"),
    ];
    for (body, expected) in cases {
        let r = c.create(&body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.body["id"].as_str().unwrap();
        assert!(is_uuid(id));
        let done = c.wait_final(id).await;
        assert_eq!(done["status"], expected, "{body}");
        if expected != "CONFIRMED" {
            assert!(done["statusReason"].as_str().is_some_and(|r| !r.is_empty()));
        }
        assert!(done["updatedAt"].as_str() >= done["createdAt"].as_str());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_message_is_received_max_receive_count_times_then_redriven() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &["--visibility-timeout", "1"]);
    let c = stack.client();

    // A message for an order that does not exist yet: the processor fails it every time.
    let queue = LocalQueue::open(dir.path());
    let order_id = uuid::Uuid::new_v4();
    let message_id = queue.publish_created(order_id, Some("dlq-test")).await;

    let dead = eventually(PATIENCE, Duration::from_millis(200), async || {
        let dead = dlq_rows(dir.path());
        if dead.is_empty() {
            return Err("message never reached the DLQ".to_owned());
        }
        Ok(dead)
    })
    .await;
    let max = orders::settings::QUEUE.max_receive_count;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["messageId"], message_id.as_str());
    assert_eq!(dead[0]["receiveCount"], max);
    let failures = stack
        .log("order-processor")
        .iter()
        .filter(|l| l["message_id"] == message_id.as_str() && l["error_type"] == "OrderNotFound")
        .count();
    assert_eq!(
        failures, max as usize,
        "received exactly maxReceiveCount times"
    );
    // It stays in the DLQ.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(dlq_rows(dir.path()).len(), 1);

    // Fix the cause (the order now exists; the stack's publisher also sends it a message of
    // its own, which the processor skips if the redriven one came first), redrive, and the
    // order is processed.
    let store = SqliteOrderStore::open(&dir.path().join("orders.db")).unwrap();
    write_order(&store, order_id, "Late", 5, queue.clock.now()).await;

    let out = workshop_ok(&["dlq", "redrive"], Some(dir.path()));
    assert!(out.contains("Redrove 1 message"), "{out}");
    let done = c.wait_final(&order_id.to_string()).await;
    assert_eq!(done["status"], "CONFIRMED");
    assert!(dlq_rows(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn throttled_invocations_look_like_api_gateway_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    // Reserved concurrency 0: every invocation is throttled.
    let stack = Stack::start(dir.path(), &["--concurrency", "create-order=0"]);
    let c = stack.client();
    let r = c.create(&order(1, "1")).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.body,
        serde_json::json!({ "message": "Internal Server Error" })
    );
    let throttles = stack
        .log("create-order")
        .iter()
        .filter(|l| l["message"] == "invocation throttled (TooManyRequestsException)")
        .count();
    assert_eq!(throttles, 1);
    drop(stack);

    // A limit of 2 under a burst: never more than 2 instances, so at most 2 cold starts;
    // every request is either served or throttled, nothing else.
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &["--concurrency", "create-order=2"]);
    let c = stack.client();
    let tasks: Vec<_> = (0..60)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.create(&order(1, "1")).await })
        })
        .collect();
    let mut served = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            201 => served += 1,
            500 => assert_eq!(r.body["message"], "Internal Server Error"),
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert!(served >= 1);
    let log = stack.log("create-order");
    let cold_starts = log
        .iter()
        .filter(|l| {
            l["type"] == "platform.report"
                && l.get("record.metrics.initDurationMs")
                    .is_some_and(|d| !d.is_null())
        })
        .count();
    assert!((1..=2).contains(&cold_starts), "cold starts: {cold_starts}");
    let reports = log
        .iter()
        .filter(|l| l["type"] == "platform.report")
        .count();
    assert_eq!(reports, served, "one REPORT per served request");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_cleanly_and_data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &[]);
    let c = stack.client();
    let id = c.place(&order(1, "3.00")).await;
    assert!(stack.stop().success(), "clean exit on Ctrl-C");
    let stack = Stack::start(dir.path(), &[]);
    let r = stack.client().get(&format!("/orders/{id}")).await;
    assert_eq!(r.body["status"], "CONFIRMED");
}
