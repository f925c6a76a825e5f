//! The local stack records the AWS service metrics the dashboards use, next to the functions'
//! business metrics, and `workshop metrics` prints them from the running stack.

mod common;

use common::{PATIENCE, Stack, eventually, has_dimensions, metrics, order, workshop_ok};
use serde_json::Value;
use std::time::Duration;

/// Namespace, metric name, and dimensions the metric must carry.
type Expected = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
);

fn lambda(name: &'static str, function: &'static str) -> Expected {
    ("AWS/Lambda", name, vec![("FunctionName", function)])
}

fn sqs(name: &'static str, queue: &'static str) -> Expected {
    ("AWS/SQS", name, vec![("QueueName", queue)])
}

fn has(rows: &[Value], namespace: &str, name: &str, dims: &[(&str, &str)]) -> bool {
    rows.iter()
        .any(|r| r["namespace"] == namespace && r["name"] == name && has_dimensions(r, dims))
}

#[tokio::test(flavor = "multi_thread")]
async fn service_and_business_metrics_are_recorded_and_printed() {
    let stack = Stack::fresh(&[]);
    let c = stack.client();
    c.place(&order(1, "4.00")).await;
    assert_eq!(c.get("/orders/not-a-uuid").await.status, 400);
    // The queue gauges are sampled every few seconds: wait for a sample after the processing.
    let rows = eventually(PATIENCE, Duration::from_millis(500), async || {
        let rows = metrics(&stack);
        let sampled = rows
            .iter()
            .filter(|r| r["namespace"] == "AWS/SQS" && r["name"] == "NumberOfMessagesDeleted")
            .count();
        if sampled > 0
            && rows
                .iter()
                .any(|r| r["name"] == "NumberOfMessagesDeleted" && r["sum"].as_f64() >= Some(1.0))
        {
            return Ok(rows);
        }
        Err("no SQS sample with the deleted message".to_owned())
    })
    .await;
    let expected: Vec<Expected> = vec![
        lambda("Invocations", "create-order"),
        lambda("Duration", "order-processor"),
        lambda("Errors", "get-order"),
        lambda("ConcurrentExecutions", "create-order"),
        (
            "AWS/ApiGateway",
            "Count",
            vec![("ApiId", "local"), ("Stage", "$default")],
        ),
        ("AWS/ApiGateway", "4xx", vec![("ApiId", "local")]),
        ("AWS/ApiGateway", "Latency", vec![("ApiId", "local")]),
        sqs("ApproximateNumberOfMessagesVisible", "orders"),
        sqs("ApproximateNumberOfMessagesVisible", "orders-dlq"),
        sqs("ApproximateAgeOfOldestMessage", "orders"),
        (
            "AWS/DynamoDB",
            "SuccessfulRequestLatency",
            vec![("TableName", "orders"), ("Operation", "GetItem")],
        ),
        (
            "OrderKit",
            "OrdersCreated",
            vec![("Service", "orders"), ("Environment", "local")],
        ),
        ("OrderKit", "OrdersProcessed", vec![("Status", "CONFIRMED")]),
    ];
    for (ns, name, dims) in &expected {
        assert!(has(&rows, ns, name, dims), "{ns} {name} {dims:?} missing");
    }
    // The API saw one 4xx out of its requests: the 4xx metric's sum counts it.
    let four = rows
        .iter()
        .find(|r| r["namespace"] == "AWS/ApiGateway" && r["name"] == "4xx")
        .unwrap();
    assert_eq!(four["sum"], 1.0);

    let text = workshop_ok(&["metrics", "--console", &stack.console], None);
    assert!(
        text.contains("OrdersCreated") && text.contains("Invocations"),
        "{text}"
    );
}
