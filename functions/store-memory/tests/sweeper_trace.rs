//! The sweeper's republish links back to the trace of the request that created the order:
//! the create's trace ended (its publish failed) before the sweep began, so the link is what
//! joins the order's two traces. A binary of its own: it installs the global tracer.

use orders::handlers::Sweeper;
use orders::ports::{ManualClock, OrderStore};
use orders::settings::SweeperSettings;
use orders_memory::{MemoryOrderQueue, MemoryOrderStore};
use std::sync::Arc;
use std::time::Duration;
use telemetry::trace::MemorySink;
use tracing::Instrument;

#[tokio::test]
async fn a_republish_links_to_the_trace_that_created_the_order() {
    let (tracing, spans) =
        MemorySink::install_global("sweeper-test").expect("the only subscriber of this binary");
    let store = Arc::new(MemoryOrderStore::new());
    let queue = Arc::new(MemoryOrderQueue::new());
    let clock = Arc::new(ManualClock::new(conformance::base_time()));
    let order = conformance::sample_order(conformance::base_time());

    // The create's request: the order is written, its message never sent.
    let request = tracing::info_span!("create order request");
    let (create_trace, _) = telemetry::trace::ids(&request).expect("a traced request");
    async {
        store
            .create(&order, None)
            .await
            .expect("the order is written")
    }
    .instrument(request)
    .await;

    clock.advance(Duration::from_secs(120));
    let settings = SweeperSettings {
        interval: Duration::from_secs(60),
        grace: Duration::from_secs(30),
        batch: 10,
    };
    let sweeper = Sweeper::new(store.clone(), queue.clone(), clock, settings);
    let sweep = tracing::info_span!("scheduled sweep");
    let (sweep_trace, _) = telemetry::trace::ids(&sweep).expect("a traced sweep");
    let report = sweeper.handle().instrument(sweep).await.expect("a sweep");
    assert_eq!((report.found, report.published), (1, 1), "{report:?}");
    assert_ne!(create_trace, sweep_trace);

    tracing.flush().await;
    let republish = spans
        .trace(&sweep_trace)
        .into_iter()
        .find(|s| s.name == "republish_order")
        .expect("the republish is a span of the sweep's trace");
    let linked: Vec<String> = republish
        .links
        .iter()
        .map(|l| l.span_context.trace_id().to_string())
        .collect();
    assert_eq!(
        linked,
        vec![create_trace],
        "one link, to the create's trace"
    );
    let order_id = republish
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "order_id")
        .map(|kv| kv.value.to_string());
    assert_eq!(order_id, Some(order.id.to_string()));
}
