//! The shared conformance suite against the in-memory ports, so what the warm handler
//! benches and the handler tests run on behaves like the SQLite and DynamoDB adapters; plus the helpers the
//! benches use to bound the store's growth.

use orders::domain::OrderStatus;
use orders::ports::{CreateOutcome, OrderQueue, OrderStore, Outbox, SortOrder, Transition};
use orders_memory::{MemoryOrderQueue, MemoryOrderStore};
use std::sync::Arc;

/// A fresh, empty store; nothing has to outlive it.
async fn fresh() -> (MemoryOrderStore, ()) {
    (MemoryOrderStore::new(), ())
}

mod checks {
    // One #[tokio::test] per conformance check.
    conformance::store_tests!(super::fresh);
}

/// A fresh store and its outbox, which is the store itself.
async fn fresh_outbox() -> (Arc<dyn OrderStore>, Arc<dyn Outbox>, ()) {
    let store = Arc::new(MemoryOrderStore::new());
    (store.clone(), store, ())
}

mod outbox_checks {
    conformance::outbox_tests!(super::fresh_outbox);
}

#[tokio::test]
async fn queue_conformance() {
    let queue = MemoryOrderQueue::new();
    let drain = || async {
        queue
            .drain()
            .expect("drain")
            .into_iter()
            .map(|d| conformance::Delivered {
                body: d.body,
                attributes: d.attributes,
            })
            .collect()
    };
    conformance::run_queue_all(&queue, drain).await;
    assert!(queue.ping().await.is_ok());
}

#[tokio::test]
async fn drain_empties_the_queue() {
    let queue = MemoryOrderQueue::new();
    let message = orders::ports::OrderCreated {
        order_id: uuid::Uuid::new_v4(),
        created_at: conformance::at(1),
        correlation_id: None,
    };
    let id = queue.publish(&message).await.unwrap();
    assert_eq!(queue.len().unwrap(), 1);
    let delivered = queue.drain().unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].message_id, id);
    assert!(delivered[0].attributes.is_empty(), "no correlation id");
    assert!(queue.is_empty().unwrap());
}

/// Timestamps come back at millisecond precision, as from the real stores' round trip.
#[tokio::test]
async fn timestamps_are_kept_to_the_millisecond() {
    let store = MemoryOrderStore::new();
    let precise = conformance::at(5) + chrono::Duration::microseconds(250);
    let order = conformance::sample_order(precise);
    let CreateOutcome::Created(stored) = store
        .create(&order, None, conformance::CORRELATION_ID)
        .await
        .unwrap()
    else {
        panic!("a new order must be created");
    };
    assert_eq!(stored.created_at, conformance::at(5));
    assert_eq!(store.get(order.id).await.unwrap(), Some(stored));
}

/// `retain` removes orders from every index and drops the keys that named them.
#[tokio::test]
async fn retain_removes_orders_everywhere() {
    let store = MemoryOrderStore::new();
    let key = conformance::fresh_key("h", conformance::at(1_000_000));
    let keyed = conformance::sample_order(conformance::at(1));
    store
        .create(&keyed, Some(&key), conformance::CORRELATION_ID)
        .await
        .unwrap();
    let kept = conformance::sample_order(conformance::at(2));
    store
        .create(&kept, None, conformance::CORRELATION_ID)
        .await
        .unwrap();
    let done = store
        .transition(&conformance::from_pending(
            kept.id,
            OrderStatus::Confirmed,
            None,
            conformance::at(3),
        ))
        .await
        .unwrap();
    assert!(matches!(done, Transition::Applied(_)));

    store
        .retain(|o| o.status == OrderStatus::Confirmed)
        .unwrap();
    assert_eq!(store.len().unwrap(), 1);
    assert_eq!(store.get(keyed.id).await.unwrap(), None);
    let all = conformance::list_all(&store, None, SortOrder::Desc, 10, 1).await;
    assert_eq!(all.len(), 1);
    let pending = conformance::list_all(&store, Some(OrderStatus::Pending), SortOrder::Asc, 10, 0);
    assert!(pending.await.is_empty());
    let entries = store.pending(10).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.order.id).collect::<Vec<_>>(),
        vec![kept.id],
        "a removed order leaves the outbox too"
    );
    // The key's order is gone, so the key is new again rather than pointing at nothing.
    let again = conformance::sample_order(conformance::at(4));
    let outcome = store
        .create(&again, Some(&key), conformance::CORRELATION_ID)
        .await
        .unwrap();
    assert_eq!(outcome, CreateOutcome::Created(again));
}
