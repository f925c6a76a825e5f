//! Every function's business metrics reach its log as EMF documents that are valid by the
//! specification, with ids as properties and only closed-set dimensions.

mod common;

use common::{Stack, order};
use serde_json::Value;
use std::collections::HashSet;

fn emf_documents(stack: &Stack, function: &str) -> Vec<Value> {
    stack
        .log(function)
        .into_iter()
        .filter(|l| l.get("_aws").is_some())
        .collect()
}

fn metric_names(docs: &[Value]) -> HashSet<String> {
    docs.iter()
        .flat_map(|d| {
            d["_aws"]["CloudWatchMetrics"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .flat_map(|directive| directive["Metrics"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m["Name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn functions_write_valid_emf_with_their_business_metrics() {
    let stack = Stack::fresh(&[]);
    let c = stack.client();
    let id = c.place(&order(2, "5.00")).await;
    assert_eq!(c.post_raw(r#"{"items":[]}"#, &[]).await.status, 400);
    assert_eq!(
        c.get("/orders/00000000-0000-0000-0000-000000000000")
            .await
            .status,
        404
    );

    let expected = [
        (
            "create-order",
            &[
                "OrdersCreated",
                "OrderValue",
                "ItemsPerOrder",
                "ValidationFailures",
                "DependencyLatency",
                "ColdStart",
            ][..],
        ),
        ("get-order", &["OrderLookups", "DependencyLatency"][..]),
        (
            "order-publisher",
            &["OrdersPublished", "DependencyLatency", "ColdStart"][..],
        ),
        (
            "order-processor",
            &["OrdersProcessed", "ProcessingLag", "DependencyLatency"][..],
        ),
    ];
    for (function, names) in expected {
        let docs = emf_documents(&stack, function);
        assert!(!docs.is_empty(), "{function} wrote no EMF");
        for doc in &docs {
            telemetry::emf::validate(doc).unwrap_or_else(|v| panic!("{function}: {v:?} in {doc}"));
            telemetry::catalogue::check(doc)
                .unwrap_or_else(|v| panic!("{function}: {v:?} in {doc}"));
            assert_eq!(doc["Service"], "orders");
            assert_eq!(doc["Environment"], "local");
        }
        let found = metric_names(&docs);
        for name in names {
            assert!(
                found.contains(*name),
                "{function} never emitted {name}: {found:?}"
            );
        }
    }
    // Ids travel as properties, never as dimensions.
    let create_docs = emf_documents(&stack, "create-order");
    assert!(
        create_docs.iter().any(|d| d["OrderId"] == id.as_str()),
        "order id property missing"
    );
}
