//! The Lambda path: metrics-cloudwatch-embedded as the global recorder. One process, one
//! collector, so the whole story is one test.

mod common;

use serde_json::Value;
use telemetry::metrics::local::{Invocation, LocalMetrics, Router};
use telemetry::metrics::{self as m, MetricsError};

fn without_timestamp(mut docs: Vec<Value>) -> Vec<String> {
    for d in &mut docs {
        d["_aws"]["Timestamp"] = Value::from(0);
    }
    let mut lines: Vec<String> = docs.iter().map(Value::to_string).collect();
    lines.sort();
    lines
}

#[tokio::test]
async fn lambda_documents_are_valid_catalogued_and_per_invocation() {
    let metrics = m::init_lambda("orders", "dev").unwrap();
    assert!(matches!(
        m::init_lambda("orders", "dev"),
        Err(MetricsError::AlreadyInstalled)
    ));

    // First invocation: a cold start, every metric, ids as properties.
    metrics.begin("8f5c2a4e-1b7d-4c3e-9f0a-6d2b1e4c7a90");
    common::record_everything();
    let lines = metrics.finish().unwrap();
    let docs = common::check_lines(&lines);
    common::assert_cold_invocation_of_everything(
        &docs,
        "dev",
        "8f5c2a4e-1b7d-4c3e-9f0a-6d2b1e4c7a90",
    );
    assert!(docs.iter().all(|d| d["Service"] == "orders"));
    let value_doc = docs.iter().find(|d| d.get("OrderValue").is_some()).unwrap();
    assert_eq!(value_doc["OrderValue"], serde_json::json!([149.95]));
    assert_eq!(value_doc["ItemsPerOrder"], serde_json::json!([3.0]));

    // Second invocation: warm, and the first one's properties are gone.
    metrics.begin("c3d9e1f2-7a8b-4c5d-8e9f-0a1b2c3d4e5f");
    m::order_lookup(telemetry::catalogue::LookupResult::NotFound);
    let docs = common::check_lines(&metrics.finish().unwrap());
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["OrderLookups"], 1);
    assert_eq!(docs[0]["RequestId"], "c3d9e1f2-7a8b-4c5d-8e9f-0a1b2c3d4e5f");
    assert!(docs[0].get("OrderId").is_none(), "{}", docs[0]);
    assert!(docs[0].get("ColdStart").is_none());

    // Nothing recorded, nothing written.
    assert!(metrics.finish().unwrap().is_empty());
    let answer = metrics
        .invocation("5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", async { 42 })
        .await;
    assert_eq!(answer, 42);
    assert!(metrics.finish().unwrap().is_empty(), "invocation flushed");

    // The local stack's renderer writes the same documents as the crate for the same
    // recordings (the Router as this thread's recorder, the crate stays global).
    metrics.begin("0f1e2d3c-4b5a-4968-8776-655443322110");
    common::record_everything();
    let from_crate = common::check_lines(&metrics.finish().unwrap());
    let local = LocalMetrics::new("orders", "dev", |_: &str, _: &str| {}).unwrap();
    let _guard = ::metrics::set_default_local_recorder(&Router);
    let ((), lines) = local
        .collect(
            &Invocation::new(
                "create-order",
                "0f1e2d3c-4b5a-4968-8776-655443322110",
                false,
            ),
            async { common::record_everything() },
        )
        .await;
    let from_local = common::check_lines(&lines);
    assert_eq!(without_timestamp(from_local), without_timestamp(from_crate));
}
