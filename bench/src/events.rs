//! The events each function receives on AWS, as JSON: API Gateway HTTP API (payload 2.0)
//! requests, an SQS batch of one record, a DynamoDB Streams batch of one new order.

use orders::domain::Order;
use orders::ports::OrderCreated;
use orders::settings::Function;
use serde_json::{Value, json};
use uuid::Uuid;

/// The six functions' names, in `orders::settings::Function::ALL`'s order (template.yaml's).
pub fn functions() -> [&'static str; 6] {
    Function::ALL.map(Function::name)
}

/// An API Gateway HTTP API event for `method path` on route `route`.
pub fn http(
    method: &str,
    route: &str,
    path: &str,
    query: &[(&str, &str)],
    path_parameters: Option<(&str, String)>,
    body: Option<String>,
) -> Value {
    let raw_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {route}"),
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": {
            "content-type": "application/json",
            "x-correlation-id": Uuid::new_v4().to_string(),
            "user-agent": "order-bench",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "bench",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "order-bench",
            },
            "requestId": Uuid::new_v4().to_string(),
            "routeKey": format!("{method} {route}"),
            "stage": "$default",
            "time": "24/Nov/2026:00:00:00 +0000",
            "timeEpoch": 1_795_478_400_000u64,
        },
        "isBase64Encoded": false,
    });
    if !query.is_empty() {
        event["queryStringParameters"] = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    if let Some((name, value)) = path_parameters {
        event["pathParameters"] = json!({ name: value });
    }
    if let Some(body) = body {
        event["body"] = Value::String(body);
    }
    event
}

/// `POST /orders` with the README's example body.
pub fn create_order(i: usize) -> Value {
    let body = json!({
        "customerName": format!("Bench Customer {i}"),
        "items": [
            {"sku": "BOOK-42", "qty": 3, "price": 0.10},
            {"sku": "PEN-7", "qty": 1, "price": 0.20},
        ],
    });
    http(
        "POST",
        "/orders",
        "/orders",
        &[],
        None,
        Some(body.to_string()),
    )
}

pub fn get_order(id: Uuid) -> Value {
    http(
        "GET",
        "/orders/{id}",
        &format!("/orders/{id}"),
        &[],
        Some(("id", id.to_string())),
        None,
    )
}

/// The first page of the status index: 20 PENDING orders.
pub fn list_orders() -> Value {
    http(
        "GET",
        "/orders",
        "/orders",
        &[("status", "PENDING"), ("limit", "20")],
        None,
        None,
    )
}

pub fn health() -> Value {
    http("GET", "/health", "/health", &[], None, None)
}

/// An SQS event of one record carrying `message`, as the event source mapping delivers it.
pub fn sqs(message: &OrderCreated, receive_count: u32) -> Value {
    let body = serde_json::to_string(message).unwrap_or_default();
    json!({
        "Records": [{
            "messageId": Uuid::new_v4().to_string(),
            "receiptHandle": format!("bench-{}", Uuid::new_v4().simple()),
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": receive_count.to_string(),
                "SentTimestamp": "1795478400000",
                "SenderId": "AIDAEXAMPLE",
                "ApproximateFirstReceiveTimestamp": "1795478400001",
            },
            "messageAttributes": {},
            "md5OfBody": "00000000000000000000000000000000",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench-orders",
            "awsRegion": "us-east-1",
        }]
    })
}

/// A DynamoDB Streams event of one record, the insert of `order` as the table's stream
/// carries it to the publisher (new and old images; an insert has no old one).
pub fn stream_insert(order: &Order, sequence: u64) -> Value {
    let item = orders_aws::order_item(order);
    json!({
        "Records": [{
            "eventID": Uuid::new_v4().simple().to_string(),
            "eventName": "INSERT",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1795478400,
                "Keys": { "pk": { "S": format!("ORDER#{}", order.id) } },
                "NewImage": orders_aws::image_to_json(&item),
                "SequenceNumber": sequence.to_string(),
                "SizeBytes": 400,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/bench-orders/stream/2026-11-24T00:00:00.000",
        }]
    })
}

/// Whether a function's answer is the success the run meant to measure: a 2xx for the API,
/// no failed record for the processor and the publisher.
pub fn succeeded(function: &str, answer: &Value) -> bool {
    match function {
        "order-processor" | "order-publisher" => answer["batchItemFailures"]
            .as_array()
            .is_some_and(Vec::is_empty),
        _ => answer["statusCode"]
            .as_u64()
            .is_some_and(|s| (200..300).contains(&s)),
    }
}
