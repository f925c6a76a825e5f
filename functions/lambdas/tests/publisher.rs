//! The publisher Lambda's answer to a DynamoDB Streams batch: every new order sent, and every
//! record that was not (its send failed, or its item could not be read) named by its sequence
//! number in `batchItemFailures`, the shape the event source mapping reads.

use async_trait::async_trait;
use orders::handlers::Publisher;
use orders::ports::{DependencyError, OrderCreated, OrderQueue};
use orders_memory::MemoryOrderQueue;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

/// A stream record of the insert of a new order.
fn insert(sequence: &str, image: Value) -> Value {
    json!({
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": { "SequenceNumber": sequence, "NewImage": image },
    })
}

fn order_image() -> (String, Value) {
    let order = conformance::sample_order(conformance::base_time());
    (
        order.id.to_string(),
        orders_aws::image_to_json(&orders_aws::order_item(&order)),
    )
}

fn deadline() -> Instant {
    Instant::now() + orders::settings::PUBLISHER_TIMEOUT
}

/// Refuses every send, as an unreachable queue does.
struct Down;

#[async_trait]
impl OrderQueue for Down {
    async fn publish(&self, _: &OrderCreated) -> Result<String, DependencyError> {
        Err(DependencyError::failed("SendMessage", "connection refused"))
    }
    async fn ping(&self) -> Result<(), DependencyError> {
        Ok(())
    }
}

#[tokio::test]
async fn new_orders_are_sent_and_unreadable_records_are_named_for_a_retry() {
    let queue = Arc::new(MemoryOrderQueue::new());
    let publisher = Publisher::new(queue.clone());
    let (id, image) = order_image();
    let event = json!({ "Records": [
        insert("100", image),
        insert("101", json!({ "pk": { "S": "ORDER#broken" }, "total": { "N": "1" } })),
        insert("102", json!({ "pk": { "S": "IDEMPOTENCY#key" } })),
    ]});
    let answer = order_lambdas::publish_stream_batch(&publisher, &event, deadline()).await;
    let answer = serde_json::to_value(&answer).unwrap();
    assert_eq!(
        answer,
        json!({ "batchItemFailures": [{ "itemIdentifier": "101" }] })
    );
    let sent = queue.drain().unwrap();
    assert_eq!(sent.len(), 1);
    let message: OrderCreated = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(message.order_id.to_string(), id);
}

#[tokio::test]
async fn a_failed_send_is_named_and_an_empty_answer_means_all_sent() {
    let (_, first) = order_image();
    let (_, second) = order_image();
    let event = json!({ "Records": [insert("7", first), insert("8", second)] });
    let down = Publisher::new(Arc::new(Down));
    let answer = order_lambdas::publish_stream_batch(&down, &event, deadline()).await;
    let mut failed: Vec<String> = answer
        .batch_item_failures
        .iter()
        .filter_map(|f| f.item_identifier.clone())
        .collect();
    failed.sort();
    assert_eq!(failed, ["7", "8"]);

    let up = Publisher::new(Arc::new(MemoryOrderQueue::new()));
    let answer = order_lambdas::publish_stream_batch(&up, &event, deadline()).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
}
