//! The events the harness feeds the bootstraps parse as the AWS event types they imitate.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::sqs::SqsEvent;
use order_bench::events;
use orders::ports::OrderCreated;

#[test]
fn http_events_are_api_gateway_payload_v2() {
    let id = uuid::Uuid::new_v4();
    for (event, method, path) in [
        (events::create_order(1), "POST", "/orders".to_owned()),
        (events::get_order(id), "GET", format!("/orders/{id}")),
        (events::list_orders(), "GET", "/orders".to_owned()),
        (events::health(), "GET", "/health".to_owned()),
    ] {
        let req: ApiGatewayV2httpRequest = serde_json::from_value(event).expect("parses");
        assert_eq!(req.request_context.http.method.as_str(), method);
        assert_eq!(req.raw_path.as_deref(), Some(path.as_str()));
    }
    let get: ApiGatewayV2httpRequest =
        serde_json::from_value(events::get_order(id)).expect("parses");
    assert_eq!(get.path_parameters.get("id"), Some(&id.to_string()));
    let list: ApiGatewayV2httpRequest =
        serde_json::from_value(events::list_orders()).expect("parses");
    assert_eq!(
        list.query_string_parameters.first("status"),
        Some("PENDING")
    );
}

#[test]
fn the_processor_event_carries_the_order_message() {
    let message = OrderCreated {
        order_id: uuid::Uuid::new_v4(),
        created_at: chrono::Utc::now(),
        correlation_id: None,
    };
    let event: SqsEvent = serde_json::from_value(events::sqs(&message, 1)).expect("parses");
    let body = event.records[0].body.as_deref().expect("a body");
    let back: OrderCreated = serde_json::from_str(body).expect("an OrderCreated");
    assert_eq!(back.order_id, message.order_id);
}

#[test]
fn success_is_judged_per_function() {
    use serde_json::json;
    assert!(events::succeeded(
        "create-order",
        &json!({"statusCode": 201})
    ));
    assert!(!events::succeeded(
        "create-order",
        &json!({"statusCode": 503})
    ));
    assert!(events::succeeded(
        "order-processor",
        &json!({"batchItemFailures": []})
    ));
    assert!(!events::succeeded(
        "order-processor",
        &json!({"batchItemFailures": [{"itemIdentifier": "m1"}]})
    ));
    assert!(events::succeeded(
        "order-publisher",
        &json!({"batchItemFailures": []})
    ));
    assert!(!events::succeeded(
        "order-publisher",
        &json!({"batchItemFailures": [{"itemIdentifier": "100"}]})
    ));
}
