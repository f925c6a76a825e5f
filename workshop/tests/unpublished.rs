//! Outcome: an enqueue that fails after the order is written does not leave the order PENDING
//! forever. The handlers run over the real SQLite adapters; only the queue's send is broken.

use async_trait::async_trait;
use lambda_http::{Body, Request};
use orders::domain::OrderStatus;
use orders::handlers::{CreateOrder, ProcessOrders, Sweeper};
use orders::ports::{DependencyError, ManualClock, OrderCreated, OrderQueue, OrderStore};
use orders::settings::SWEEPER;
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
    store: Arc<dyn OrderStore>,
    queue: Arc<SqliteQueue>,
}

fn adapters() -> Adapters {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let store: Arc<dyn OrderStore> =
        Arc::new(SqliteOrderStore::open(&dir.path().join("orders.db")).unwrap());
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

#[tokio::test]
async fn a_failed_enqueue_is_recovered_by_the_sweeper() {
    let Adapters {
        _dir,
        clock,
        store,
        queue: sqlite_queue,
    } = adapters();
    let queue = Arc::new(Breakable {
        inner: sqlite_queue.clone(),
        broken: AtomicBool::new(true),
    });
    let create = CreateOrder::new(store.clone(), queue.clone(), clock.clone());
    let sweeper = Sweeper::new(store.clone(), queue.clone(), clock.clone(), SWEEPER);
    let processor = ProcessOrders::new(store.clone(), clock.clone());

    // The write succeeds, the send fails: the order is still accepted.
    let req = Request::new(Body::from(
        r#"{"customerName":"Gap","items":[{"sku":"A","qty":1,"price":2.5}]}"#,
    ));
    let resp = create.handle(req).await;
    assert_eq!(resp.status(), 201);
    let order: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    let id: uuid::Uuid = order["id"].as_str().unwrap().parse().unwrap();
    assert!(
        sqlite_queue.receive(10).await.unwrap().is_empty(),
        "nothing reached the queue"
    );

    // Within the grace period the sweeper leaves it to the create call.
    assert_eq!(sweeper.handle().await.unwrap().found, 0);
    // After it, a sweep while the queue is still down fails and keeps the marker...
    clock.advance(SWEEPER.grace + std::time::Duration::from_secs(1));
    let report = sweeper.handle().await.unwrap();
    assert_eq!((report.found, report.published, report.failed), (1, 0, 1));
    // ...and the next sweep after the queue recovers publishes it.
    queue.broken.store(false, Ordering::SeqCst);
    let report = sweeper.handle().await.unwrap();
    assert_eq!((report.found, report.published), (1, 1));
    assert_eq!(
        sweeper.handle().await.unwrap().found,
        0,
        "published once, not again"
    );

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
    let create = CreateOrder::new(store.clone(), queue.clone(), clock.clone());
    let processor = ProcessOrders::new(store.clone(), clock.clone());
    let resp = create
        .handle(Request::new(Body::from(
            r#"{"customerName":"Dup","items":[{"sku":"A","qty":1,"price":1}]}"#,
        )))
        .await;
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
