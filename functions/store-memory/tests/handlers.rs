//! The API contract of the root README ("The API"), branch by branch, driven through the
//! handlers of `orders::handlers` on the in-memory ports: requests are built by hand as API
//! Gateway would deliver them, SQS events as the event source mapping would, and no binary
//! is started. Each test is named by the behaviour a client relies on.

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use lambda_http::http::{Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use orders::domain::{Order, OrderStatus};
use orders::handlers::{CreateOrder, GetOrder, Health, ListOrders, ProcessOrders, Publisher};
use orders::pagination::PageTokens;
use orders::ports::{
    CreateOutcome, DependencyError, IdempotencyKey, ListQuery, ManualClock, OrderCreated,
    OrderQueue, OrderStore, Outbox, Page, Transition, TransitionRequest,
};
use orders::settings::MAX_BODY_BYTES;
use orders_memory::{MemoryOrderQueue, MemoryOrderStore};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// The kit: every handler on one in-memory store and queue, with a clock the test moves.
// ---------------------------------------------------------------------------------------------

struct Kit {
    store: Arc<MemoryOrderStore>,
    queue: Arc<MemoryOrderQueue>,
    clock: Arc<ManualClock>,
    create: CreateOrder,
    get: GetOrder,
    list: ListOrders,
}

fn tokens() -> PageTokens {
    PageTokens::new(b"handler-tests-page-token-key-0123456789".to_vec()).expect("a 32+ byte key")
}

impl Kit {
    fn new() -> Kit {
        let store = Arc::new(MemoryOrderStore::new());
        let queue = Arc::new(MemoryOrderQueue::new());
        let clock = Arc::new(ManualClock::new(conformance::base_time()));
        Kit {
            create: CreateOrder::new(store.clone(), clock.clone()),
            get: GetOrder::new(store.clone()),
            list: ListOrders::new(store.clone(), tokens()),
            store,
            queue,
            clock,
        }
    }

    fn orders(&self) -> usize {
        self.store.len().expect("the store answers")
    }

    fn messages(&self) -> usize {
        self.queue.len().expect("the queue answers")
    }

    /// What the publisher's event source does: every outbox entry published, then
    /// acknowledged.
    async fn publish(&self) {
        let entries = self.store.pending(1_000).await.expect("the outbox answers");
        let sequences: Vec<String> = entries.iter().map(|e| e.sequence.clone()).collect();
        let report = Publisher::new(self.queue.clone())
            .handle(entries, deadline())
            .await;
        assert!(report.failed.is_empty(), "{report:?}");
        self.store
            .acknowledge(&sequences)
            .await
            .expect("the outbox answers");
    }

    async fn post(&self, body: &str) -> Reply {
        Reply::of(self.create.handle(post(body)).await)
    }

    /// Creates an order one millisecond after the previous one, so every order has its own
    /// place in a listing.
    async fn order(&self, lines: usize, price: &str) -> Value {
        self.clock.advance(Duration::from_millis(1));
        let reply = self.post(&body(lines, price)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.json
    }

    /// The ids of `n` one-line orders, oldest first.
    async fn order_ids(&self, n: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let order = self.order(1, "1").await;
            ids.push(order["id"].as_str().unwrap_or_default().to_owned());
        }
        ids
    }

    async fn get_order(&self, id: &str) -> Reply {
        let req = Request::default()
            .with_path_parameters(HashMap::from([("id".to_owned(), id.to_owned())]));
        Reply::of(self.get.handle(req).await)
    }

    async fn list_orders(&self, query: &[(&str, &str)]) -> Reply {
        let mut params: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in query {
            params
                .entry((*k).to_owned())
                .or_default()
                .push((*v).to_owned());
        }
        Reply::of(
            self.list
                .handle(Request::default().with_query_string_parameters(params))
                .await,
        )
    }

    fn processor(&self) -> ProcessOrders {
        ProcessOrders::new(self.store.clone(), self.clock.clone())
    }

    /// The order as stored now, by the `id` of its JSON.
    async fn stored(&self, order: &Value) -> Order {
        let id = Uuid::parse_str(order["id"].as_str().unwrap_or_default()).expect("a UUID");
        let got = self.store.get(id).await.expect("the store answers");
        got.expect("the order exists")
    }
}

fn post(body: &str) -> Request {
    let mut req = Request::new(Body::from(body.to_owned()));
    *req.method_mut() = Method::POST;
    req.headers_mut().insert(
        "content-type",
        "application/json".parse().expect("a header"),
    );
    req
}

fn with_header(mut req: Request, name: &'static str, value: &str) -> Request {
    req.headers_mut()
        .insert(name, value.parse().expect("a header value"));
    req
}

/// A valid body with `lines` lines of one unit at `price`.
fn body(lines: usize, price: &str) -> String {
    let items: Vec<String> = (0..lines)
        .map(|i| format!(r#"{{"sku":"SKU-{i}","qty":1,"price":{price}}}"#))
        .collect();
    format!(r#"{{"customerName":"Ada","items":[{}]}}"#, items.join(","))
}

struct Reply {
    status: StatusCode,
    headers: lambda_http::http::HeaderMap,
    text: String,
    json: Value,
}

impl Reply {
    fn of(response: Response<Body>) -> Reply {
        let (parts, body) = response.into_parts();
        let text = String::from_utf8_lossy(body.as_ref()).into_owned();
        Reply {
            status: parts.status,
            headers: parts.headers,
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an error answer: its status, its code, and that it says something.
    fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.json["code"], code, "{}", self.text);
        assert!(self.json["error"].as_str().is_some_and(|e| !e.is_empty()));
    }

    /// The `field` of every entry of `details`.
    fn detail_fields(&self) -> Vec<String> {
        self.json["details"]
            .as_array()
            .map(|d| {
                d.iter()
                    .filter_map(|p| p["field"].as_str())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A store and queue that are down: every call fails, as a dependency outage would.
struct Down;

fn down(operation: &'static str) -> DependencyError {
    DependencyError::failed(operation, "the dependency is down (test double)")
}

#[async_trait]
impl OrderStore for Down {
    async fn create(
        &self,
        _: &Order,
        _: Option<&IdempotencyKey>,
        _: &str,
    ) -> Result<CreateOutcome, DependencyError> {
        Err(down("create"))
    }
    async fn get(&self, _: Uuid) -> Result<Option<Order>, DependencyError> {
        Err(down("get"))
    }
    async fn list(&self, _: &ListQuery) -> Result<Page, DependencyError> {
        Err(down("list"))
    }
    async fn transition(&self, _: &TransitionRequest) -> Result<Transition, DependencyError> {
        Err(down("transition"))
    }
    async fn ping(&self) -> Result<(), DependencyError> {
        Err(down("ping"))
    }
}

#[async_trait]
impl OrderQueue for Down {
    async fn publish(&self, _: &OrderCreated) -> Result<String, DependencyError> {
        Err(down("publish"))
    }
    async fn ping(&self) -> Result<(), DependencyError> {
        Err(down("ping"))
    }
}

// ---------------------------------------------------------------------------------------------
// POST /orders
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_order_is_created_pending_with_its_location_and_exact_total() {
    let kit = Kit::new();
    let reply = kit
        .post(r#"{"customerName":"  Ada Lovelace  ","items":[{"sku":"A","qty":3,"price":0.10},{"sku":"B","qty":1,"price":0.20}]}"#)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let id = reply.json["id"].as_str().expect("an id");
    assert_eq!(
        reply.header("location"),
        Some(format!("/orders/{id}").as_str())
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json["status"], "PENDING");
    assert_eq!(
        reply.json["customerName"], "Ada Lovelace",
        "the name is trimmed"
    );
    // Exact decimal money: 3 × 0.10 + 0.20 is 0.50, not 0.5000000000000001.
    assert!(reply.text.contains(r#""total":0.50"#), "{}", reply.text);
    assert_eq!(reply.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn a_created_order_is_in_the_outbox_with_its_correlation_id_and_not_yet_sent() {
    let kit = Kit::new();
    let req = with_header(post(&body(1, "5")), "x-correlation-id", "corr-42");
    let order = Reply::of(kit.create.handle(req).await).json;
    assert_eq!(kit.messages(), 0, "create-order sends nothing itself");
    let entries = kit.store.pending(10).await.expect("the outbox answers");
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].order.id.to_string(),
        order["id"].as_str().unwrap_or_default()
    );
    assert_eq!(entries[0].correlation_id.as_deref(), Some("corr-42"));
}

#[tokio::test]
async fn a_replayed_create_adds_nothing_to_the_outbox() {
    let kit = Kit::new();
    for _ in 0..3 {
        let req = with_header(post(&body(1, "5")), "idempotency-key", "k-1");
        let reply = Reply::of(kit.create.handle(req).await);
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
    assert_eq!(kit.store.pending(10).await.expect("the outbox").len(), 1);
}

#[tokio::test]
async fn a_store_outage_on_create_is_503_and_creates_nothing() {
    let clock = Arc::new(ManualClock::new(conformance::base_time()));
    let create = CreateOrder::new(Arc::new(Down), clock);
    let reply = Reply::of(create.handle(post(&body(1, "5"))).await);
    reply.assert_error(StatusCode::SERVICE_UNAVAILABLE, "DEPENDENCY_FAILED");
}

/// Each body breaks one rule; each answer is 400 `VALIDATION_FAILED` naming the field.
#[tokio::test]
async fn every_validation_rule_is_enforced_and_names_its_field() {
    let name =
        |n: &str| format!(r#"{{"customerName":{n},"items":[{{"sku":"A","qty":1,"price":1}}]}}"#);
    let line = |l: &str| format!(r#"{{"customerName":"Ada","items":[{l}]}}"#);
    let cases: Vec<(String, &str)> = vec![
        (name(r#""""#), "customerName"),
        (name(r#""   ""#), "customerName"),
        (name(&format!("\"{}\"", "x".repeat(201))), "customerName"),
        (name("42"), "customerName"),
        (
            r#"{"items":[{"sku":"A","qty":1,"price":1}]}"#.into(),
            "customerName",
        ),
        (r#"{"customerName":"Ada"}"#.into(), "items"),
        (r#"{"customerName":"Ada","items":[]}"#.into(), "items"),
        (body(101, "1"), "items"),
        (r#"{"customerName":"Ada","items":"A"}"#.into(), "items"),
        (line(r#""A""#), "items[0]"),
        (line(r#"{"sku":"","qty":1,"price":1}"#), "items[0].sku"),
        (
            line(&format!(
                r#"{{"sku":"{}","qty":1,"price":1}}"#,
                "s".repeat(65)
            )),
            "items[0].sku",
        ),
        (line(r#"{"sku":7,"qty":1,"price":1}"#), "items[0].sku"),
        (line(r#"{"qty":1,"price":1}"#), "items[0].sku"),
        (line(r#"{"sku":"A","qty":0,"price":1}"#), "items[0].qty"),
        (line(r#"{"sku":"A","qty":10001,"price":1}"#), "items[0].qty"),
        (line(r#"{"sku":"A","qty":1.5,"price":1}"#), "items[0].qty"),
        (line(r#"{"sku":"A","qty":"1","price":1}"#), "items[0].qty"),
        (line(r#"{"sku":"A","price":1}"#), "items[0].qty"),
        (line(r#"{"sku":"A","qty":1,"price":-1}"#), "items[0].price"),
        (
            line(r#"{"sku":"A","qty":1,"price":1000000.01}"#),
            "items[0].price",
        ),
        (
            line(r#"{"sku":"A","qty":1,"price":1.234}"#),
            "items[0].price",
        ),
        (line(r#"{"sku":"A","qty":1,"price":"1"}"#), "items[0].price"),
        (line(r#"{"sku":"A","qty":1}"#), "items[0].price"),
        (
            line(r#"{"sku":"A","qty":1,"price":1,"colour":"red"}"#),
            "items[0].colour",
        ),
        (
            r#"{"customerName":"Ada","items":[{"sku":"A","qty":1,"price":1}],"coupon":"X"}"#.into(),
            "coupon",
        ),
    ];
    let kit = Kit::new();
    for (body, field) in &cases {
        let reply = kit.post(body).await;
        reply.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
        assert_eq!(
            reply.detail_fields(),
            vec![field.to_string()],
            "{body}: {}",
            reply.text
        );
    }
    assert_eq!(kit.orders(), 0, "nothing was created");
}

#[tokio::test]
async fn the_limits_themselves_are_accepted() {
    let kit = Kit::new();
    let name = "n".repeat(200);
    let sku = "s".repeat(64);
    let edge = format!(
        r#"{{"customerName":"{name}","items":[{{"sku":"{sku}","qty":10000,"price":1000000}},{{"sku":"B","qty":1,"price":0}},{{"sku":"C","qty":1,"price":19.99}}]}}"#
    );
    let reply = kit.post(&edge).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let reply = kit.post(&body(100, "1")).await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "100 lines: {}",
        reply.text
    );
}

#[tokio::test]
async fn every_problem_of_a_body_is_listed_in_details() {
    let kit = Kit::new();
    let reply = kit
        .post(r#"{"customerName":"","items":[{"sku":"","qty":0,"price":1.234},{"sku":"B","qty":1,"price":1,"x":1}],"extra":true}"#)
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    let mut fields = reply.detail_fields();
    fields.sort();
    let mut want = vec![
        "customerName",
        "extra",
        "items[0].sku",
        "items[0].qty",
        "items[0].price",
        "items[1].x",
    ];
    want.sort();
    assert_eq!(fields, want, "{}", reply.text);
    for detail in reply.json["details"].as_array().into_iter().flatten() {
        assert!(
            detail["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{detail}"
        );
    }
}

#[tokio::test]
async fn malformed_empty_and_non_object_bodies_are_400() {
    let kit = Kit::new();
    kit.post(r#"{"customerName": "Ada", "items": ["#)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "INVALID_JSON");
    kit.post("")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    kit.post("[1, 2]")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    kit.post("\"an order\"")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
}

#[tokio::test]
async fn a_body_over_64_kib_is_413() {
    let kit = Kit::new();
    let padding = "x".repeat(MAX_BODY_BYTES);
    let reply = kit
        .post(&format!(r#"{{"customerName":"{padding}","items":[]}}"#))
        .await;
    reply.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
}

// ---------------------------------------------------------------------------------------------
// Idempotency-Key
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_replays_the_same_order() {
    let kit = Kit::new();
    let send = |text: String| with_header(post(&text), "idempotency-key", "retry-1");
    let first = Reply::of(kit.create.handle(send(body(2, "3"))).await);
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    // The same request, formatted differently: still "the same body".
    let again = r#"{ "items": [{"price": 3.00, "qty": 1, "sku": "SKU-0"}, {"sku":"SKU-1","qty":1,"price":3}], "customerName": "Ada" }"#;
    let replay = Reply::of(kit.create.handle(send(again.into())).await);
    assert_eq!(replay.status, StatusCode::CREATED, "{}", replay.text);
    assert_eq!(replay.json["id"], first.json["id"]);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.header("location"), first.header("location"));
    assert_eq!(kit.orders(), 1, "one order");
    kit.publish().await;
    assert_eq!(kit.messages(), 1, "one message");
}

#[tokio::test]
async fn the_same_key_with_another_body_is_409() {
    let kit = Kit::new();
    let send = |text: String| with_header(post(&text), "idempotency-key", "k-409");
    let first = Reply::of(kit.create.handle(send(body(1, "3"))).await);
    assert_eq!(first.status, StatusCode::CREATED);
    Reply::of(kit.create.handle(send(body(1, "4"))).await)
        .assert_error(StatusCode::CONFLICT, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(kit.orders(), 1);
}

#[tokio::test]
async fn an_unusable_idempotency_key_is_400() {
    let kit = Kit::new();
    for key in ["", &"k".repeat(256), "has space"] {
        let req = with_header(post(&body(1, "1")), "idempotency-key", key);
        Reply::of(kit.create.handle(req).await)
            .assert_error(StatusCode::BAD_REQUEST, "INVALID_HEADER");
    }
    let longest = with_header(post(&body(1, "1")), "idempotency-key", &"k".repeat(255));
    assert_eq!(
        Reply::of(kit.create.handle(longest).await).status,
        StatusCode::CREATED
    );
}

// ---------------------------------------------------------------------------------------------
// GET /orders/{id}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_order_reads_back_as_created() {
    let kit = Kit::new();
    let created = kit.order(2, "1.25").await;
    let id = created["id"].as_str().expect("an id");
    let reply = kit.get_order(id).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json, created);
}

#[tokio::test]
async fn an_unknown_order_is_404() {
    let kit = Kit::new();
    let reply = kit.get_order(&Uuid::new_v4().to_string()).await;
    reply.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn an_id_that_is_not_a_uuid_is_400() {
    let kit = Kit::new();
    let simple = Uuid::new_v4().simple().to_string();
    for id in ["42", "not-a-uuid", "", &simple] {
        kit.get_order(id)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "INVALID_ID");
    }
}

#[tokio::test]
async fn a_store_outage_on_get_is_503() {
    let get = GetOrder::new(Arc::new(Down));
    let req = Request::default().with_path_parameters(HashMap::from([(
        "id".to_owned(),
        Uuid::new_v4().to_string(),
    )]));
    Reply::of(get.handle(req).await)
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "DEPENDENCY_FAILED");
}

// ---------------------------------------------------------------------------------------------
// GET /orders
// ---------------------------------------------------------------------------------------------

/// Every page of a listing from `query`, following `nextToken`; the ids in order.
async fn walk(kit: &Kit, query: &[(&str, &str)]) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut token: Option<String> = None;
    loop {
        let mut q = query.to_vec();
        if let Some(t) = &token {
            q.push(("nextToken", t.as_str()));
        }
        let reply = kit.list_orders(&q).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        pages += 1;
        let orders = reply.json["orders"].as_array().cloned().unwrap_or_default();
        assert_eq!(reply.json["count"], orders.len());
        ids.extend(
            orders
                .iter()
                .filter_map(|o| o["id"].as_str().map(str::to_owned)),
        );
        match reply.json["nextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => return (ids, pages),
        }
        assert!(pages < 100, "the listing never ends");
    }
}

#[tokio::test]
async fn a_listing_defaults_to_20_newest_first() {
    let kit = Kit::new();
    let ids = kit.order_ids(25).await;
    let reply = kit.list_orders(&[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["count"], 20);
    let listed: Vec<_> = reply.json["orders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["id"].as_str())
        .collect();
    let newest: Vec<_> = ids.iter().rev().take(20).map(String::as_str).collect();
    assert_eq!(listed, newest);
    assert!(reply.json["nextToken"].is_string());
}

#[tokio::test]
async fn pages_never_repeat_or_skip_an_order_in_either_order() {
    let kit = Kit::new();
    let ids = kit.order_ids(23).await;
    let (asc, pages) = walk(&kit, &[("limit", "5"), ("sortOrder", "asc")]).await;
    assert_eq!(asc, ids, "oldest first, each once");
    assert_eq!(pages, 5);
    let (desc, _) = walk(&kit, &[("limit", "7"), ("sortOrder", "desc")]).await;
    let mut newest = ids.clone();
    newest.reverse();
    assert_eq!(desc, newest, "newest first, each once");
}

#[tokio::test]
async fn a_listing_filters_by_status() {
    let kit = Kit::new();
    let small = kit.order(1, "1").await;
    let review = kit.order(11, "1").await;
    let processor = kit.processor();
    for order in [&small, &review] {
        let event = sqs_event(&[("m", &message_for(order))]);
        assert!(processor.handle(event).await.batch_item_failures.is_empty());
    }
    let pending_review = kit.list_orders(&[("status", "PENDING_REVIEW")]).await;
    assert_eq!(pending_review.json["count"], 1, "{}", pending_review.text);
    assert_eq!(pending_review.json["orders"][0]["id"], review["id"]);
    let pending = kit.list_orders(&[("status", "PENDING")]).await;
    assert_eq!(pending.json["count"], 0, "{}", pending.text);
}

#[tokio::test]
async fn limit_is_1_to_100() {
    let kit = Kit::new();
    kit.order(1, "1").await;
    for ok in ["1", "100"] {
        assert_eq!(
            kit.list_orders(&[("limit", ok)]).await.status,
            StatusCode::OK,
            "{ok}"
        );
    }
    for bad in ["0", "101", "-1", "ten", "2.5", ""] {
        let reply = kit.list_orders(&[("limit", bad)]).await;
        reply.assert_error(StatusCode::BAD_REQUEST, "INVALID_QUERY");
        assert_eq!(reply.detail_fields(), vec!["limit"], "{bad}");
    }
}

#[tokio::test]
async fn a_bad_status_sort_order_or_parameter_is_400() {
    let kit = Kit::new();
    type Query<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Query, &[&str]); 5] = [
        (&[("status", "SHIPPED")], &["status"]),
        (&[("status", "pending")], &["status"]),
        (&[("sortOrder", "newest")], &["sortOrder"]),
        (&[("colour", "red")], &["colour"]),
        (
            &[("limit", "0"), ("sortOrder", "up")],
            &["limit", "sortOrder"],
        ),
    ];
    for (query, fields) in cases {
        let reply = kit.list_orders(query).await;
        reply.assert_error(StatusCode::BAD_REQUEST, "INVALID_QUERY");
        let mut got = reply.detail_fields();
        got.sort();
        assert_eq!(got, fields, "{query:?}: {}", reply.text);
    }
    let twice = kit.list_orders(&[("limit", "5"), ("limit", "6")]).await;
    twice.assert_error(StatusCode::BAD_REQUEST, "INVALID_QUERY");
}

#[tokio::test]
async fn a_next_token_is_signed_and_bound_to_its_query() {
    let kit = Kit::new();
    for _ in 0..4 {
        kit.order(1, "1").await;
    }
    let first = kit
        .list_orders(&[("limit", "2"), ("status", "PENDING")])
        .await;
    let token = first.json["nextToken"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let ok = kit
        .list_orders(&[("limit", "2"), ("status", "PENDING"), ("nextToken", &token)])
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);

    let mut altered = token.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap_or_default();
    let forged = tokens_with_another_key().issue(
        "2026-01-01T00:00:00.001Z",
        Some(OrderStatus::Pending),
        orders::ports::SortOrder::Desc,
    );
    let refused: [&[(&str, &str)]; 6] = [
        &[("status", "PENDING"), ("nextToken", &altered)],
        &[("status", "PENDING"), ("nextToken", &forged)],
        &[("status", "PENDING"), ("nextToken", "garbage")],
        &[("status", "CONFIRMED"), ("nextToken", &token)],
        &[("nextToken", &token)],
        &[
            ("status", "PENDING"),
            ("sortOrder", "asc"),
            ("nextToken", &token),
        ],
    ];
    for query in refused {
        let reply = kit.list_orders(query).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query:?}: {}",
            reply.text
        );
        assert_eq!(
            reply.json["code"], "INVALID_NEXT_TOKEN",
            "{query:?}: {}",
            reply.text
        );
    }
    // Altered in any one position (payload, separator or signature), the token is refused.
    for i in 0..token.len() {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(bytes).unwrap_or_default();
        let reply = kit
            .list_orders(&[
                ("limit", "2"),
                ("status", "PENDING"),
                ("nextToken", &altered),
            ])
            .await;
        assert_eq!(
            (reply.status, reply.json["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("INVALID_NEXT_TOKEN")),
            "position {i} of {token}: {}",
            reply.text
        );
    }
}

fn tokens_with_another_key() -> PageTokens {
    PageTokens::new(b"another-key-another-key-another-key!!".to_vec()).expect("a 32+ byte key")
}

#[tokio::test]
async fn a_store_outage_on_list_is_503() {
    let list = ListOrders::new(Arc::new(Down), tokens());
    Reply::of(list.handle(Request::default()).await)
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "DEPENDENCY_FAILED");
}

// ---------------------------------------------------------------------------------------------
// GET /health and x-correlation-id
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn health_is_200_when_store_and_queue_answer() {
    let kit = Kit::new();
    let health = Health::new(kit.store.clone(), kit.queue.clone());
    let reply = Reply::of(health.handle(Request::default()).await);
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["status"], "healthy");
    assert_eq!(reply.json["checks"]["store"]["status"], "ok");
    assert_eq!(reply.json["checks"]["queue"]["status"], "ok");
}

#[tokio::test]
async fn health_is_503_when_the_store_or_the_queue_fails() {
    let store: Arc<dyn OrderStore> = Arc::new(MemoryOrderStore::new());
    let queue: Arc<dyn OrderQueue> = Arc::new(MemoryOrderQueue::new());
    type Ports = (Arc<dyn OrderStore>, Arc<dyn OrderQueue>);
    let cases: [(Ports, &str); 2] = [
        ((Arc::new(Down), queue.clone()), "store"),
        ((store.clone(), Arc::new(Down)), "queue"),
    ];
    for ((store, queue), failing) in cases {
        let reply = Reply::of(Health::new(store, queue).handle(Request::default()).await);
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            reply.text
        );
        assert_eq!(reply.json["status"], "unhealthy");
        assert_eq!(reply.json["checks"][failing]["status"], "failed");
        assert!(reply.json["checks"][failing]["error"].is_string());
    }
}

#[tokio::test]
async fn every_answer_echoes_the_callers_correlation_id() {
    let kit = Kit::new();
    let id = kit.order(1, "1").await["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mine = "my-correlation-42";
    let create = kit
        .create
        .handle(with_header(post(&body(1, "1")), "x-correlation-id", mine));
    let bad = kit
        .create
        .handle(with_header(post("{"), "x-correlation-id", mine));
    let get = kit.get.handle(with_header(
        Request::default().with_path_parameters(HashMap::from([("id".to_owned(), id)])),
        "x-correlation-id",
        mine,
    ));
    let list = kit
        .list
        .handle(with_header(Request::default(), "x-correlation-id", mine));
    let health = Health::new(kit.store.clone(), kit.queue.clone());
    let health = health.handle(with_header(Request::default(), "x-correlation-id", mine));
    for reply in [create.await, bad.await, get.await, list.await, health.await] {
        let reply = Reply::of(reply);
        assert_eq!(
            reply.header("x-correlation-id"),
            Some(mine),
            "{}",
            reply.text
        );
    }
}

#[tokio::test]
async fn without_a_correlation_id_the_api_request_id_is_echoed() {
    let kit = Kit::new();
    let mut context = aws_lambda_events::event::apigw::ApiGatewayV2httpRequestContext::default();
    context.request_id = Some("api-request-7".into());
    let req = post(&body(1, "1")).with_request_context(RequestContext::ApiGatewayV2(context));
    let reply = Reply::of(kit.create.handle(req).await);
    assert_eq!(reply.header("x-correlation-id"), Some("api-request-7"));
    // The message carries it on to the processor.
    kit.publish().await;
    let delivered = kit.queue.drain().expect("the queue drains");
    let message: OrderCreated = serde_json::from_str(&delivered[0].body).expect("a message");
    assert_eq!(message.correlation_id.as_deref(), Some("api-request-7"));
}

// ---------------------------------------------------------------------------------------------
// The processor
// ---------------------------------------------------------------------------------------------

fn message_for(order: &Value) -> String {
    json!({"orderId": order["id"], "createdAt": order["createdAt"]}).to_string()
}

fn sqs_event(records: &[(&str, &str)]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records
        .iter()
        .map(|(id, body)| {
            let mut m = SqsMessage::default();
            m.message_id = Some((*id).to_owned());
            m.body = Some((*body).to_owned());
            m.attributes
                .insert("ApproximateReceiveCount".into(), "1".into());
            m
        })
        .collect();
    event
}

fn failed_ids(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn the_processor_moves_each_order_to_its_final_status() {
    let kit = Kit::new();
    let small = kit.order(1, "10").await;
    let many_lines = kit.order(11, "1").await;
    let big = kit.order(1, "10000.01").await;
    let big_and_many = kit.order(11, "1000").await;
    let ten_lines = kit.order(10, "1").await;
    let event = sqs_event(&[
        ("1", &message_for(&small)),
        ("2", &message_for(&many_lines)),
        ("3", &message_for(&big)),
        ("4", &message_for(&big_and_many)),
        ("5", &message_for(&ten_lines)),
    ]);
    let response = kit.processor().handle(event).await;
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    let small = kit.stored(&small).await;
    assert_eq!(small.status, OrderStatus::Confirmed);
    assert_eq!(small.status_reason, None);
    let many_lines = kit.stored(&many_lines).await;
    assert_eq!(many_lines.status, OrderStatus::PendingReview);
    assert!(many_lines.status_reason.is_some());
    let big = kit.stored(&big).await;
    assert_eq!(big.status, OrderStatus::PendingApproval);
    assert!(big.status_reason.is_some());
    let big_and_many = kit.stored(&big_and_many).await;
    assert_eq!(
        big_and_many.status,
        OrderStatus::PendingApproval,
        "approval wins over review"
    );
    let ten_lines = kit.stored(&ten_lines).await;
    assert_eq!(
        ten_lines.status,
        OrderStatus::Confirmed,
        "10 lines is not more than 10"
    );
}

#[tokio::test]
async fn a_duplicate_delivery_is_skipped_not_failed() {
    let kit = Kit::new();
    let order = kit.order(1, "10").await;
    let processor = kit.processor();
    let first = processor
        .handle(sqs_event(&[("1", &message_for(&order))]))
        .await;
    assert!(first.batch_item_failures.is_empty());
    let moved = kit.stored(&order).await;
    kit.clock.advance(Duration::from_secs(5));
    let again = processor
        .handle(sqs_event(&[("1", &message_for(&order))]))
        .await;
    assert!(
        again.batch_item_failures.is_empty(),
        "a duplicate is not a failure"
    );
    let after = kit.stored(&order).await;
    assert_eq!(after, moved, "the duplicate changed nothing");
}

#[tokio::test]
async fn only_the_bad_records_of_a_batch_are_reported_failed() {
    let kit = Kit::new();
    let good = kit.order(1, "10").await;
    let missing = json!({"orderId": Uuid::new_v4(), "createdAt": "2026-01-01T00:00:00.000Z"});
    let event = sqs_event(&[
        ("good", &message_for(&good)),
        ("not-json", "{"),
        ("wrong-shape", r#"{"order":"x"}"#),
        (
            "unknown-field",
            &json!({"orderId": good["id"], "createdAt": good["createdAt"], "x": 1}).to_string(),
        ),
        ("missing", &missing.to_string()),
    ]);
    let response = kit.processor().handle(event).await;
    assert_eq!(
        failed_ids(&response),
        vec!["not-json", "wrong-shape", "unknown-field", "missing"]
    );
    let good = kit.stored(&good).await;
    assert_eq!(
        good.status,
        OrderStatus::Confirmed,
        "the good record was processed"
    );
}

#[tokio::test]
async fn a_store_outage_fails_every_record_for_redelivery() {
    let clock = Arc::new(ManualClock::new(conformance::base_time()));
    let processor = ProcessOrders::new(Arc::new(Down), clock);
    let order = json!({"id": Uuid::new_v4(), "createdAt": "2026-01-01T00:00:00.000Z"});
    let event = sqs_event(&[("a", &message_for(&order)), ("b", &message_for(&order))]);
    let response = processor.handle(event).await;
    assert_eq!(failed_ids(&response), vec!["a", "b"]);
}

// ---------------------------------------------------------------------------------------------
// The publisher
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_publisher_sends_each_entry_with_its_correlation_id() {
    let kit = Kit::new();
    let req = with_header(post(&body(1, "5")), "x-correlation-id", "corr-7");
    let first = Reply::of(kit.create.handle(req).await).json;
    kit.order(2, "1").await;
    let entries = kit.store.pending(10).await.expect("the outbox answers");
    let report = Publisher::new(kit.queue.clone())
        .handle(entries, deadline())
        .await;
    assert_eq!((report.published, report.failed.len()), (2, 0));
    let delivered = kit.queue.drain().expect("the queue drains");
    let mut messages: Vec<OrderCreated> = delivered
        .iter()
        .map(|d| serde_json::from_str(&d.body).expect("a message"))
        .collect();
    messages.sort_by_key(|m| m.created_at);
    assert_eq!(
        messages[0].order_id.to_string(),
        first["id"].as_str().unwrap_or_default()
    );
    assert_eq!(messages[0].correlation_id.as_deref(), Some("corr-7"));
}

/// An invocation's deadline with its whole timeout ahead.
fn deadline() -> std::time::Instant {
    std::time::Instant::now() + orders::settings::PUBLISHER_TIMEOUT
}

#[tokio::test]
async fn near_its_deadline_the_publisher_sends_nothing_more_and_reports_the_rest() {
    let kit = Kit::new();
    kit.order_ids(3).await;
    let entries = kit.store.pending(10).await.expect("the outbox answers");
    let soon = std::time::Instant::now() + orders::handlers::STOP_BEFORE_DEADLINE / 2;
    let report = Publisher::new(kit.queue.clone())
        .handle(entries, soon)
        .await;
    assert_eq!((report.published, report.failed.len()), (0, 3));
    assert_eq!(kit.messages(), 0, "nothing sent that could be cut off");
}

#[tokio::test]
async fn entries_the_publisher_cannot_send_are_reported_by_sequence_not_dropped() {
    let kit = Kit::new();
    kit.order_ids(3).await;
    let entries = kit.store.pending(10).await.expect("the outbox answers");
    let mut want: Vec<String> = entries.iter().map(|e| e.sequence.clone()).collect();
    let report = Publisher::new(Arc::new(Down))
        .handle(entries, deadline())
        .await;
    assert_eq!(report.published, 0);
    let mut failed = report.failed;
    failed.sort();
    want.sort();
    assert_eq!(
        failed, want,
        "every entry is reported, so its source retries it"
    );
}
