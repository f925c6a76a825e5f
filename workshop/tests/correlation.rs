//! A created order can be followed through the logs, by its correlation id and its order id,
//! from the API request through the publisher and the queue to the processor's status update.

mod common;

use common::{Stack, order};
use serde_json::Value;

/// The `message` of each log line.
fn messages(lines: &[Value]) -> Vec<&str> {
    lines.iter().filter_map(|l| l["message"].as_str()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_order_can_be_followed_from_request_to_status_update() {
    let stack = Stack::fresh(&[]);
    let c = stack.client();
    let correlation = "lab-trace-42";
    let r = c
        .post_raw(
            order(1, "2.50").to_string(),
            &[("x-correlation-id", correlation)],
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.headers["x-correlation-id"], correlation);
    let id = r.body["id"].as_str().unwrap().to_owned();
    c.wait_final(&id).await;

    let about = |function: &str| -> Vec<Value> {
        stack
            .log(function)
            .into_iter()
            .filter(|l| l["correlation_id"] == correlation && l["order_id"] == id.as_str())
            .collect()
    };
    let created = about("create-order");
    let said = messages(&created);
    assert!(said.contains(&"order created"), "{said:?}");
    // The publisher, reading the order's outbox entry, logs under the same correlation id.
    let published = about("order-publisher");
    let said = messages(&published);
    assert!(said.contains(&"order published"), "{said:?}");
    for (function, lines) in [("create-order", &created), ("order-publisher", &published)] {
        for line in lines {
            assert_eq!(line["function_name"], function);
            assert!(
                line["function_request_id"]
                    .as_str()
                    .is_some_and(|r| !r.is_empty())
            );
            assert!(line["level"].is_string() && line["timestamp"].is_string());
        }
    }
    // The message id the publisher logged is the one the processor received.
    let message_id = published
        .iter()
        .find_map(|l| l["message_id"].as_str())
        .unwrap()
        .to_owned();
    let processed = about("order-processor");
    let said = messages(&processed);
    assert!(said.contains(&"status updated"), "{said:?}");
    assert!(
        processed
            .iter()
            .all(|l| l["message_id"] == message_id.as_str())
    );
    assert!(processed.iter().any(|l| l["status"] == "CONFIRMED"));
}
