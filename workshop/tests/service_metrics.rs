//! The local stack records the AWS service metrics the dashboards use, next to the functions'
//! business metrics, and `workshop metrics` prints them from the running stack.

mod common;

use common::{Stack, order, workshop};
use serde_json::Value;

/// Namespace, metric name, and dimensions the metric must carry.
type Expected<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

fn has(rows: &[Value], namespace: &str, name: &str, dims: &[(&str, &str)]) -> bool {
    rows.iter().any(|r| {
        r["namespace"] == namespace
            && r["name"] == name
            && dims.iter().all(|(k, v)| {
                r["dimensions"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(|p| p[0] == *k && p[1] == *v))
            })
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn service_and_business_metrics_are_recorded_and_printed() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &[]);
    let c = stack.client();
    let id = c.create(&order(1, "4.00")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.wait_final(&id).await;
    assert_eq!(c.get("/orders/not-a-uuid").await.status, 400);
    // The queue gauges are sampled every few seconds: wait for a sample after the processing.
    let started = std::time::Instant::now();
    let rows = loop {
        let out = workshop()
            .args(["metrics", "--json", "--console", &stack.console])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        let sampled = rows
            .iter()
            .filter(|r| r["namespace"] == "AWS/SQS" && r["name"] == "NumberOfMessagesDeleted")
            .count();
        if sampled > 0
            && rows
                .iter()
                .any(|r| r["name"] == "NumberOfMessagesDeleted" && r["sum"].as_f64() >= Some(1.0))
        {
            break rows;
        }
        assert!(
            started.elapsed() < common::PATIENCE,
            "no SQS sample with the deleted message"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let expected: &[Expected] = &[
        (
            "AWS/Lambda",
            "Invocations",
            &[("FunctionName", "create-order")],
        ),
        (
            "AWS/Lambda",
            "Duration",
            &[("FunctionName", "order-processor")],
        ),
        ("AWS/Lambda", "Errors", &[("FunctionName", "get-order")]),
        (
            "AWS/Lambda",
            "ConcurrentExecutions",
            &[("FunctionName", "create-order")],
        ),
        (
            "AWS/ApiGateway",
            "Count",
            &[("ApiId", "local"), ("Stage", "$default")],
        ),
        ("AWS/ApiGateway", "4xx", &[("ApiId", "local")]),
        ("AWS/ApiGateway", "Latency", &[("ApiId", "local")]),
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            &[("QueueName", "orders")],
        ),
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            &[("QueueName", "orders-dlq")],
        ),
        (
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            &[("QueueName", "orders")],
        ),
        (
            "AWS/DynamoDB",
            "SuccessfulRequestLatency",
            &[("TableName", "orders"), ("Operation", "GetItem")],
        ),
        (
            "OrderKit",
            "OrdersCreated",
            &[("Service", "orders"), ("Environment", "local")],
        ),
        ("OrderKit", "OrdersProcessed", &[("Status", "CONFIRMED")]),
    ];
    for (ns, name, dims) in expected {
        assert!(has(&rows, ns, name, dims), "{ns} {name} {dims:?} missing");
    }
    // The API saw one 4xx out of its requests: the 4xx metric's sum counts it.
    let four = rows
        .iter()
        .find(|r| r["namespace"] == "AWS/ApiGateway" && r["name"] == "4xx")
        .unwrap();
    assert_eq!(four["sum"], 1.0);

    let table = workshop()
        .args(["metrics", "--console", &stack.console])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("OrdersCreated") && text.contains("Invocations"),
        "{text}"
    );
}
