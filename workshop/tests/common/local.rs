//! The local stack's SQLite queue and store opened beside the running stack, for tests that
//! put in what the API never would: messages for orders that do not exist, duplicates,
//! garbage, orders whose message was never sent.

use orders::domain::{LineItem, NewOrder, Order};
use orders::ports::{Clock, OrderCreated, OrderQueue, OrderStore, SystemClock};
use orders_sqlite::{QueueConfig, SqliteQueue};
use std::path::Path;
use std::sync::Arc;

pub struct LocalQueue {
    pub clock: Arc<dyn Clock>,
    pub queue: SqliteQueue,
}

impl LocalQueue {
    /// The queue in a stack's data dir, with the settings the stack uses.
    pub fn open(data_dir: &Path) -> LocalQueue {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let queue = SqliteQueue::open(
            &data_dir.join("queue.db"),
            QueueConfig::from_settings(),
            clock.clone(),
        )
        .expect("the stack's queue opens");
        LocalQueue { clock, queue }
    }

    /// Publishes an `OrderCreated` for `order_id`, stamped now; returns the message id.
    pub async fn publish_created(
        &self,
        order_id: uuid::Uuid,
        correlation_id: Option<&str>,
    ) -> String {
        let message = OrderCreated {
            order_id,
            created_at: self.clock.now(),
            correlation_id: correlation_id.map(str::to_owned),
        };
        self.queue.publish(&message).await.expect("publish")
    }
}

/// Writes a one-line order (SKU "A", qty 1 at `price`) placed at `placed_at` straight to
/// `store`, with no message sent for it; returns it.
pub async fn write_order(
    store: &impl OrderStore,
    id: uuid::Uuid,
    customer: &str,
    price: u32,
    placed_at: chrono::DateTime<chrono::Utc>,
) -> Order {
    let new = NewOrder {
        customer_name: customer.into(),
        items: vec![LineItem {
            sku: "A".into(),
            qty: 1,
            price: price.into(),
        }],
    };
    let order = Order::place(id, new, placed_at);
    store
        .create(&order, None, "test-seed")
        .await
        .expect("the order is written");
    order
}
