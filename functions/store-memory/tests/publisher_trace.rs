//! The publish of an order continues the trace of the request that created it: the outbox
//! entry keeps the create's context, and the publish span is its child, so the create, the
//! publish and (through the message) the processing are one trace. A binary of its own: it
//! installs the global tracer.

use orders::handlers::Publisher;
use orders::ports::{OrderStore, Outbox};
use orders_memory::{MemoryOrderQueue, MemoryOrderStore};
use std::sync::Arc;
use telemetry::trace::MemorySink;
use tracing::Instrument;

#[tokio::test]
async fn the_publish_is_a_child_of_the_request_that_created_the_order() {
    let (tracing, spans) =
        MemorySink::install_global("publisher-test").expect("the only subscriber of this binary");
    let store = Arc::new(MemoryOrderStore::new());
    let queue = Arc::new(MemoryOrderQueue::new());
    let order = conformance::sample_order(conformance::base_time());

    // The create's request: the order and its outbox entry are written.
    let request = tracing::info_span!("create order request");
    let (create_trace, request_span) = telemetry::trace::ids(&request).expect("a traced request");
    async {
        store
            .create(&order, None, "corr-1")
            .await
            .expect("the order is written")
    }
    .instrument(request)
    .await;

    // Later, in another invocation: the publisher reads the entry.
    let entries = store.pending(10).await.expect("the outbox answers");
    let invocation = tracing::info_span!("publisher invocation");
    let (invocation_trace, _) = telemetry::trace::ids(&invocation).expect("a traced invocation");
    let report = Publisher::new(queue.clone())
        .handle(
            entries,
            std::time::Instant::now() + orders::settings::PUBLISHER_TIMEOUT,
        )
        .instrument(invocation)
        .await;
    assert_eq!(report.published, 1, "{report:?}");
    assert_ne!(create_trace, invocation_trace);

    tracing.flush().await;
    let publish = spans
        .trace(&create_trace)
        .into_iter()
        .find(|s| s.name == "publish_order")
        .expect("the publish is a span of the create's trace");
    assert_eq!(publish.parent_span_id.to_string(), request_span);
    let attribute = |key: &str| {
        publish
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(attribute("order_id"), Some(order.id.to_string()));
    assert_eq!(attribute("correlation_id"), Some("corr-1".to_owned()));
    // It runs in the publisher, and says so: the service map draws create -> publisher.
    assert_eq!(attribute("faas.name"), Some("order-publisher".to_owned()));
    assert_eq!(publish.status, opentelemetry::trace::Status::Unset);

    // A publish whose send fails is a failed span, so a queue outage shows among the errors.
    let failing = conformance::sample_order(conformance::base_time());
    store
        .create(&failing, None, "corr-2")
        .await
        .expect("written");
    let entries: Vec<_> = store
        .pending(10)
        .await
        .expect("the outbox answers")
        .into_iter()
        .filter(|e| e.order.id == failing.id)
        .collect();
    let report = Publisher::new(Arc::new(Down))
        .handle(
            entries,
            std::time::Instant::now() + orders::settings::PUBLISHER_TIMEOUT,
        )
        .await;
    assert_eq!(report.failed.len(), 1);
    tracing.flush().await;
    let failed = spans
        .spans()
        .into_iter()
        .find(|s| {
            s.name == "publish_order"
                && s.attributes.iter().any(|kv| {
                    kv.key.as_str() == "order_id" && kv.value.to_string() == failing.id.to_string()
                })
        })
        .expect("the failed publish's span");
    assert!(
        matches!(failed.status, opentelemetry::trace::Status::Error { .. }),
        "{:?}",
        failed.status
    );
}

/// Refuses every send, as an unreachable queue does.
struct Down;

#[async_trait::async_trait]
impl orders::ports::OrderQueue for Down {
    async fn publish(
        &self,
        _: &orders::ports::OrderCreated,
    ) -> Result<String, orders::ports::DependencyError> {
        Err(orders::ports::DependencyError::failed(
            "SendMessage",
            "connection refused",
        ))
    }
    async fn ping(&self) -> Result<(), orders::ports::DependencyError> {
        Ok(())
    }
}
