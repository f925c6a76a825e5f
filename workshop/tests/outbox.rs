//! Outcome: an order written is an order published, even when the queue is down when it is
//! written: its outbox entry, written with it, stays until the publisher has sent it, across
//! failed sends and restarts. The handlers run over the real SQLite adapters; only the queue's
//! send is broken.

use async_trait::async_trait;
use lambda_http::{Body, Request};
use orders::domain::OrderStatus;
use orders::handlers::{CreateOrder, ProcessOrders, Publisher};
use orders::ports::{DependencyError, ManualClock, OrderCreated, OrderQueue, OrderStore, Outbox};
use orders_sqlite::{QueueConfig, SqliteOrderStore, SqliteQueue};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use workshop::stack::sqs::event_source::{queue_arn, sqs_event};

/// The real queue, with a switch that makes every send fail as an unreachable SQS would.
struct Breakable {
    inner: Arc<SqliteQueue>,
    broken: AtomicBool,
}

#[async_trait]
impl OrderQueue for Breakable {
    async fn publish(&self, message: &OrderCreated) -> Result<String, DependencyError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(DependencyError::failed("SendMessage", "connection refused"));
        }
        self.inner.publish(message).await
    }
    async fn ping(&self) -> Result<(), DependencyError> {
        self.inner.ping().await
    }
}

/// The real SQLite store and queue in a fresh data dir, on a manual clock.
struct Adapters {
    _dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    store: Arc<SqliteOrderStore>,
    queue: Arc<SqliteQueue>,
}

fn adapters() -> Adapters {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let store = Arc::new(SqliteOrderStore::open(&dir.path().join("orders.db")).unwrap());
    let queue = Arc::new(
        SqliteQueue::open(
            &dir.path().join("queue.db"),
            QueueConfig::from_settings(),
            clock.clone(),
        )
        .unwrap(),
    );
    Adapters {
        _dir: dir,
        clock,
        store,
        queue,
    }
}

/// What the stream's event source does once: read the outbox, publish, acknowledge what was
/// sent. Returns how many were published.
async fn publish_round(outbox: &SqliteOrderStore, publisher: &Publisher) -> (usize, usize) {
    let entries = outbox.pending(100).await.unwrap();
    let sequences: Vec<String> = entries.iter().map(|e| e.sequence.clone()).collect();
    let deadline = std::time::Instant::now() + orders::settings::PUBLISHER_TIMEOUT;
    let report = publisher.handle(entries, deadline).await;
    let sent: Vec<String> = sequences
        .into_iter()
        .filter(|s| !report.failed.contains(s))
        .collect();
    outbox.acknowledge(&sent).await.unwrap();
    (report.published, report.failed.len())
}

#[tokio::test]
async fn an_order_written_while_the_queue_is_down_is_published_when_it_is_back() {
    let Adapters {
        _dir: dir,
        clock,
        store,
        queue: sqlite_queue,
    } = adapters();
    let queue = Arc::new(Breakable {
        inner: sqlite_queue.clone(),
        broken: AtomicBool::new(true),
    });
    let create = CreateOrder::new(store.clone(), clock.clone());
    let publisher = Publisher::new(queue.clone());
    let processor = ProcessOrders::new(store.clone(), clock.clone());

    // The queue is down: the order is still accepted, with its outbox entry.
    let req = Request::new(Body::from(
        r#"{"customerName":"Gap","items":[{"sku":"A","qty":1,"price":2.5}]}"#,
    ));
    let resp = create.handle(req).await;
    assert_eq!(resp.status(), 201);
    let order: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    let id: uuid::Uuid = order["id"].as_str().unwrap().parse().unwrap();

    // Sends fail: the entry is reported and stays, round after round.
    assert_eq!(publish_round(&store, &publisher).await, (0, 1));
    assert_eq!(publish_round(&store, &publisher).await, (0, 1));
    assert!(
        sqlite_queue.receive(10).await.unwrap().is_empty(),
        "nothing reached the queue"
    );
    // A restart loses nothing: the entry is in the file, with the order.
    let path = dir.path().join("orders.db");
    let reopened = SqliteOrderStore::open(&path).unwrap();
    let pending = reopened.pending(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].order.id, id);

    // The queue is back: it is published once, and not again.
    queue.broken.store(false, Ordering::SeqCst);
    assert_eq!(publish_round(&reopened, &publisher).await, (1, 0));
    assert_eq!(publish_round(&reopened, &publisher).await, (0, 0));

    let messages = sqlite_queue.receive(10).await.unwrap();
    assert_eq!(messages.len(), 1);
    let response = processor
        .handle(sqs_event(&queue_arn("orders"), &messages).unwrap())
        .await;
    assert!(response.batch_item_failures.is_empty());
    let order = store.get(id).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Confirmed);
}

#[tokio::test]
async fn a_duplicate_delivery_is_a_no_op() {
    let Adapters {
        _dir,
        clock,
        store,
        queue,
    } = adapters();
    let create = CreateOrder::new(store.clone(), clock.clone());
    let processor = ProcessOrders::new(store.clone(), clock.clone());
    let resp = create
        .handle(Request::new(Body::from(
            r#"{"customerName":"Dup","items":[{"sku":"A","qty":1,"price":1}]}"#,
        )))
        .await;
    assert_eq!(
        publish_round(&store, &Publisher::new(queue.clone())).await,
        (1, 0)
    );
    let order: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    let id: uuid::Uuid = order["id"].as_str().unwrap().parse().unwrap();
    let messages = queue.receive(10).await.unwrap();
    // The same message delivered twice in one batch, as SQS at-least-once delivery allows.
    let mut event = sqs_event(&queue_arn("orders"), &messages).unwrap();
    event.records.push(event.records[0].clone());
    let response = processor.handle(event).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "a duplicate is not a failure"
    );
    assert_eq!(
        store.get(id).await.unwrap().unwrap().status,
        OrderStatus::Confirmed
    );
}
