//! The API contract of the README ("The API"), over HTTP against the running local stack.

mod common;

use common::{Stack, is_uuid, order, urlencode};
use serde_json::Value;
use std::collections::HashSet;

fn fields(body: &Value) -> Vec<String> {
    body["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|p| p["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_and_get_follow_the_contract() {
    let stack = Stack::fresh(&[]);
    let c = stack.client();

    // Exact money: 3 x 0.10 + 1 x 0.20 = 0.50, written with two decimals.
    let r = c
        .post_raw(r#"{"customerName":"Ada","items":[{"sku":"A","qty":3,"price":0.10},{"sku":"B","qty":1,"price":0.20}]}"#, &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.text.contains(r#""total":0.50"#), "{}", r.text);
    assert_eq!(r.headers["content-type"], "application/json");
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(is_uuid(&id));
    assert_eq!(r.headers["location"], format!("/orders/{id}").as_str());
    assert_eq!(r.body["status"], "PENDING");
    assert_eq!(r.body["itemCount"], 4);
    let created = r.body["createdAt"].as_str().unwrap();
    assert!(
        created.ends_with('Z') && created.len() == 24,
        "RFC 3339 UTC with ms: {created}"
    );

    let g = c.get(&format!("/orders/{id}")).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body["id"], id.as_str());
    assert_eq!(g.body["customerName"], "Ada");
    assert!(g.text.contains(r#""price":0.10"#), "{}", g.text);

    // 404 names the order; 400 for a non-UUID id.
    let missing = "00000000-0000-0000-0000-000000000000";
    let r = c.get(&format!("/orders/{missing}")).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    assert_eq!(
        r.body["error"],
        format!("order {missing} not found").as_str()
    );
    let r = c.get("/orders/not-a-uuid").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("INVALID_ID"))
    );
    assert_eq!(r.headers["content-type"], "application/json");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_body_is_a_400_that_names_the_problem() {
    let stack = Stack::fresh(&[]);
    let c = stack.client();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            r#"{"items":[{"sku":"A","qty":1,"price":1}]}"#,
            "VALIDATION_FAILED",
            &["customerName"],
        ),
        (r#"{"customerName":"A"}"#, "VALIDATION_FAILED", &["items"]),
        (
            r#"{"customerName":7,"items":"x"}"#,
            "VALIDATION_FAILED",
            &["customerName", "items"],
        ),
        (
            r#"{"customerName":"A","items":[{"sku":"A","qty":1,"price":1}],"coupon":"X"}"#,
            "VALIDATION_FAILED",
            &["coupon"],
        ),
        (
            r#"{"customerName":"A","items":[{"sku":"A","qty":"1","price":1}]}"#,
            "VALIDATION_FAILED",
            &["items[0].qty"],
        ),
        (
            r#"{"customerName":"A","items":[{"sku":"A","qty":1,"price":0.001}]}"#,
            "VALIDATION_FAILED",
            &["items[0].price"],
        ),
        (
            r#"{"customerName":"A","items":[{"sku":"A","qty":1,"price":-1}]}"#,
            "VALIDATION_FAILED",
            &["items[0].price"],
        ),
        (
            r#"{"customerName":"A","items":[{"qty":0,"price":1,"color":"red"}]}"#,
            "VALIDATION_FAILED",
            &["items[0].color", "items[0].sku", "items[0].qty"],
        ),
        (
            r#"{"customerName":"A","items":[]}"#,
            "VALIDATION_FAILED",
            &["items"],
        ),
        (r#"{"customerName": "A", "items": [ }"#, "INVALID_JSON", &[]),
        (r#"[1,2]"#, "VALIDATION_FAILED", &[]),
        ("", "VALIDATION_FAILED", &[]),
    ];
    for (body, code, expected) in cases {
        let r = c.post_raw(*body, &[]).await;
        assert_eq!(r.status, 400, "{body} -> {}", r.text);
        assert_eq!(r.body["code"], *code, "{body} -> {}", r.text);
        assert!(!r.body["error"].as_str().unwrap().is_empty());
        assert_eq!(fields(&r.body), *expected, "{body} -> {}", r.text);
    }
    let r = c.post_raw(r#"{"customerName":"A"}"#, &[]).await;
    assert_eq!(r.body["error"], "items is required");

    // Over 64 KiB: 413.
    let big = format!(r#"{{"customerName":"{}","items":[]}}"#, "x".repeat(70_000));
    let r = c.post_raw(big, &[]).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idempotency_key_replays_and_conflicts() {
    let stack = Stack::fresh(&[]);
    let c = stack.client();
    let body = r#"{"customerName":"Idem","items":[{"sku":"A","qty":2,"price":1.5}]}"#;
    let first = c.post_raw(body, &[("Idempotency-Key", "key-123")]).await;
    assert_eq!(first.status, 201);
    // Same request, formatted differently: the same order comes back.
    let same = r#"{ "items": [ {"price": 1.50, "qty": 2, "sku": "A"} ], "customerName": "Idem" }"#;
    let again = c.post_raw(same, &[("Idempotency-Key", "key-123")]).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    // Same key, another body: 409.
    let other = c
        .post_raw(
            r#"{"customerName":"Idem","items":[{"sku":"A","qty":3,"price":1.5}]}"#,
            &[("Idempotency-Key", "key-123")],
        )
        .await;
    assert_eq!(
        (other.status, other.body["code"].as_str()),
        (409, Some("IDEMPOTENCY_KEY_REUSED"))
    );
    // Without a key, each POST is a new order.
    let a = c.post_raw(body, &[]).await;
    let b = c.post_raw(body, &[]).await;
    assert_ne!(a.body["id"], b.body["id"]);
    // Only one order exists for the key.
    let all = c.get("/orders?limit=100").await;
    let idem: Vec<_> = all.body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["id"] == first.body["id"])
        .collect();
    assert_eq!(idem.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_pages_through_every_order_once_in_order() {
    let stack = Stack::fresh(&[]);
    let c = stack.client();
    let mut ids = Vec::new();
    for i in 0..45 {
        // Every fifth order needs review, so the status filter has something to find.
        let lines = if i % 5 == 0 { 11 } else { 1 };
        let r = c.create(&order(lines, "1.00")).await;
        assert_eq!(r.status, 201);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        c.wait_final(id).await;
    }

    let desc = c.pages("limit=7").await;
    let desc_ids: Vec<_> = desc
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(desc_ids.len(), 45, "every order exactly once");
    assert_eq!(
        desc_ids.iter().collect::<HashSet<_>>().len(),
        45,
        "no order repeated"
    );
    let stamps: Vec<_> = desc
        .iter()
        .map(|o| o["createdAt"].as_str().unwrap().to_owned())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(desc_ids.first(), ids.last());

    let asc = c.pages("limit=10&sortOrder=asc").await;
    let asc_ids: Vec<_> = asc
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    let mut reversed = desc_ids.clone();
    reversed.reverse();
    assert_eq!(asc_ids, reversed, "asc is desc reversed");

    let review = c.pages("status=PENDING_REVIEW&limit=2").await;
    assert_eq!(review.len(), 9);
    assert!(review.iter().all(|o| o["status"] == "PENDING_REVIEW"));
    let default = c.get("/orders").await;
    assert_eq!(default.body["count"], 20, "default limit is 20");

    // Invalid query values are 400, never ignored.
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("status=SHIPPED", "status"),
        ("sortOrder=up", "sortOrder"),
        ("colour=red", "colour"),
    ] {
        let r = c.get(&format!("/orders?{q}")).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (400, Some("INVALID_QUERY")),
            "{q}: {}",
            r.text
        );
        assert_eq!(fields(&r.body), [field], "{q}");
    }

    // nextToken is tamper-evident and bound to its query.
    let first = c.get("/orders?limit=5").await;
    let token = first.body["nextToken"].as_str().unwrap().to_owned();
    let (payload, sig) = token.split_once('.').unwrap();
    let mut forged_sig = sig.to_owned();
    let last = forged_sig.pop().unwrap();
    forged_sig.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [
        format!("{payload}.{forged_sig}"),
        "garbage".to_owned(),
        format!("{}x.{sig}", payload),
    ] {
        let r = c
            .get(&format!("/orders?limit=5&nextToken={}", urlencode(&bad)))
            .await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (400, Some("INVALID_NEXT_TOKEN")),
            "{bad}: {}",
            r.text
        );
    }
    let r = c
        .get(&format!(
            "/orders?status=CONFIRMED&nextToken={}",
            urlencode(&token)
        ))
        .await;
    assert_eq!(r.status, 400, "a token from another query is refused");
    let r = c
        .get(&format!("/orders?limit=5&nextToken={}", urlencode(&token)))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["orders"][0]["id"], desc_ids[5].as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_unknown_routes() {
    let stack = Stack::fresh(&[]);
    let c = stack.client();
    let h = c.get("/health").await;
    assert_eq!(h.status, 200);
    assert_eq!(h.body["status"], "healthy");
    assert_eq!(h.body["checks"]["store"]["status"], "ok");
    assert_eq!(h.body["checks"]["queue"]["status"], "ok");
    assert!(h.headers.contains_key("x-correlation-id"));
    let h = c
        .send(
            c.http
                .get(format!("{}/health", c.url))
                .header("x-correlation-id", "probe-7"),
        )
        .await;
    assert_eq!(
        h.headers["x-correlation-id"], "probe-7",
        "echoed like every route"
    );
    // API Gateway's own answer for a route that does not exist.
    let r = c.get("/nowhere").await;
    assert_eq!(
        (r.status, r.body["message"].as_str()),
        (404, Some("Not Found"))
    );
    let r = c
        .send(c.http.delete(format!(
            "{}/orders/00000000-0000-0000-0000-000000000000",
            c.url
        )))
        .await;
    assert_eq!(r.status, 404);
}
