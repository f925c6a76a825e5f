//! The processor behind the chaos layer (`ChaoticProcessor`): faults reach it from outside,
//! and the processor counts an injected record fault as `InjectedFault`, not as a dependency
//! failure.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chaos::{Chaos, ChaoticProcessor, FailureMode, Faults, Settings};
use orders::domain::{LineItem, NewOrder, Order, OrderStatus};
use orders::handlers::{ProcessOrders, ProcessingFailure};
use orders::ports::{ManualClock, OrderStore};
use orders_memory::MemoryOrderStore;
use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::{Duration, Instant};
use telemetry::catalogue::Fault;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(chrono::Utc::now()))
}

fn armed(faults: Faults) -> Arc<Chaos> {
    let settings = Settings {
        armed: true,
        faults,
        seed: Some(1),
        ..Settings::default()
    };
    Arc::new(Chaos::new(settings, None, clock()))
}

async fn pending(store: &MemoryOrderStore, sku: &str) -> Order {
    let new = NewOrder {
        customer_name: "Ada".into(),
        items: vec![LineItem {
            sku: sku.into(),
            qty: 1,
            price: Decimal::ONE,
        }],
    };
    let order = Order::place(uuid::Uuid::new_v4(), new, chrono::Utc::now());
    store
        .create(&order, None, "chaos")
        .await
        .expect("the store answers");
    order
}

fn event(orders: &[&Order]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = orders
        .iter()
        .map(|o| {
            let mut m = SqsMessage::default();
            m.message_id = Some(o.id.to_string());
            m.body = Some(
                serde_json::json!({"orderId": o.id, "createdAt": o.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)})
                    .to_string(),
            );
            m
        })
        .collect();
    event
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[tokio::test]
async fn a_poison_sku_fails_its_record_as_an_injected_fault() {
    let store = Arc::new(MemoryOrderStore::new());
    let poison = pending(&store, "POISON").await;
    let fine = pending(&store, "OK").await;
    let chaos = armed(Faults {
        poison_sku: Some("POISON".into()),
        ..Faults::default()
    });
    let processor = ChaoticProcessor::new(store.clone(), clock(), chaos.clone());
    let response = processor
        .handle(event(&[&poison, &fine]), later())
        .await
        .expect("no batch fault");
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, vec![poison.id.to_string()]);
    let stored = |id| {
        let store = store.clone();
        async move {
            store
                .get(id)
                .await
                .expect("the store answers")
                .expect("the order")
        }
    };
    assert_eq!(stored(poison.id).await.status, OrderStatus::Pending);
    assert_eq!(stored(fine.id).await.status, OrderStatus::Confirmed);

    // The failure as the processor sees it: InjectedFault, with the injector's message.
    let bare = ProcessOrders::new(
        chaos::ChaoticProcessorStore::wrap(store.clone(), &chaos),
        clock(),
    );
    let record = &event(&[&poison]).records[0];
    match bare.process(record).await {
        Err(e @ ProcessingFailure::Injected(_)) => {
            assert_eq!(e.kind(), "InjectedFault");
            assert_eq!(
                e.to_string(),
                "injected fault PoisonMessage: the order holds poison SKU POISON"
            );
        }
        other => panic!("a poison order gave {other:?}, want an injected failure"),
    }
}

#[tokio::test]
async fn a_batch_failure_is_a_function_error_and_touches_no_record() {
    let store = Arc::new(MemoryOrderStore::new());
    let order = pending(&store, "OK").await;
    let chaos = armed(Faults {
        processor_failure_rate: 1.0,
        processor_failure_mode: FailureMode::Batch,
        ..Faults::default()
    });
    let processor = ChaoticProcessor::new(store.clone(), clock(), chaos);
    let e = processor
        .handle(event(&[&order]), later())
        .await
        .expect_err("the whole batch fails");
    assert_eq!(e.fault, Fault::BatchFailure);
    let stored = store.get(order.id).await.expect("the store answers");
    assert_eq!(stored.map(|o| o.status), Some(OrderStatus::Pending));
}

#[tokio::test]
async fn disarmed_the_processor_is_the_bare_processor() {
    let store = Arc::new(MemoryOrderStore::new());
    let order = pending(&store, "POISON").await;
    let chaos = Arc::new(Chaos::disarmed(clock()));
    let processor = ChaoticProcessor::new(store.clone(), clock(), chaos);
    let response = processor
        .handle(event(&[&order]), later())
        .await
        .expect("no batch fault");
    assert!(response.batch_item_failures.is_empty());
}
