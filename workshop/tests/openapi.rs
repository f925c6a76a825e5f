//! `api/openapi.yaml` and the handlers agree: the document has exactly the API's routes and
//! error codes, its bounds and headers are the code's own constants, and every status and code
//! it documents for an operation is one the running stack answers there, and no other (each
//! provoked below). That every body conforms to the document's schemas, for generated input
//! too, is schemathesis's check (`scripts/api-test.sh`).

mod common;

use common::{Stack, chaos_json};
use orders::handlers::{DEFAULT_LIMIT, IDEMPOTENCY_KEY_MAX, MAX_LIMIT};
use orders::http::{CORRELATION_HEADER, ErrorCode, IDEMPOTENCY_HEADER, IDEMPOTENT_REPLAY_HEADER};
use orders::settings::{MAX_BODY_BYTES, ROUTES};
use orders::validation::{CUSTOMER_NAME_MAX, ITEMS_MAX, PRICE_MAX, QTY_MAX, SKU_MAX};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

fn document() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/openapi.yaml");
    let text = std::fs::read_to_string(&path).expect("api/openapi.yaml");
    serde_norway::from_str(&text).expect("api/openapi.yaml is YAML")
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut at = doc;
            for part in r.trim_start_matches("#/").split('/') {
                at = &at[part];
            }
            resolve(doc, at)
        }
        None => v,
    }
}

/// `(method, path) -> operation` of every operation in the document.
fn operations(doc: &Value) -> BTreeMap<(String, String), &Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            out.insert((method.to_uppercase(), path.clone()), op);
        }
    }
    out
}

/// What one response's body can be: a plain body (not an error) and/or errors with these
/// codes (`code.enum` of an `allOf` with the Error schema; `oneOf` lists alternatives).
fn bodies(doc: &Value, schema: &Value) -> (bool, BTreeSet<String>) {
    let schema = resolve(doc, schema);
    if let Some(alternatives) = schema["oneOf"].as_array() {
        let mut out = (false, BTreeSet::new());
        for a in alternatives {
            let (plain, codes) = bodies(doc, a);
            out.0 |= plain;
            out.1.extend(codes);
        }
        return out;
    }
    let codes: BTreeSet<String> = schema["allOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|part| part["properties"]["code"]["enum"].as_array())
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    (codes.is_empty(), codes)
}

/// `(status, code)` of every answer an operation documents; `code` is empty for a non-error.
fn answers(doc: &Value, op: &Value) -> BTreeSet<(u16, String)> {
    let mut out = BTreeSet::new();
    for (status, response) in op["responses"].as_object().expect("responses") {
        let status: u16 = status.parse().expect("a numeric status");
        let schema = &resolve(doc, response)["content"]["application/json"]["schema"];
        let (plain, codes) = bodies(doc, schema);
        if plain {
            out.insert((status, String::new()));
        }
        out.extend(codes.into_iter().map(|c| (status, c)));
    }
    out
}

#[test]
fn the_document_has_exactly_the_apis_routes_and_error_codes() {
    let doc = document();
    let documented: BTreeSet<(String, String)> = operations(&doc).into_keys().collect();
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(documented, routes);

    let mut all_documented = BTreeSet::new();
    for op in operations(&doc).values() {
        for (_, code) in answers(&doc, op) {
            if !code.is_empty() {
                all_documented.insert(code);
            }
        }
    }
    let all_codes: BTreeSet<String> = ErrorCode::ALL
        .iter()
        .map(|c| {
            serde_json::to_value(c)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(all_documented, all_codes);
}

#[test]
fn the_documents_bounds_and_headers_are_the_codes_constants() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let new = &schemas["NewOrder"]["properties"];
    let item = &schemas["LineItem"]["properties"];
    assert_eq!(new["customerName"]["maxLength"], CUSTOMER_NAME_MAX);
    assert_eq!(new["items"]["maxItems"], ITEMS_MAX);
    assert_eq!(item["sku"]["maxLength"], SKU_MAX);
    assert_eq!(item["qty"]["maximum"], QTY_MAX);
    assert_eq!(item["price"]["maximum"].to_string(), PRICE_MAX.to_string());
    let key = resolve(&doc, &doc["components"]["parameters"]["IdempotencyKey"]);
    assert_eq!(key["schema"]["maxLength"], IDEMPOTENCY_KEY_MAX);
    let list = &doc["paths"]["/orders"]["get"]["parameters"];
    let param = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| resolve(&doc, p))
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no parameter {name}"))
            .clone()
    };
    assert_eq!(param("limit")["schema"]["maximum"], MAX_LIMIT);
    assert_eq!(param("limit")["schema"]["default"], DEFAULT_LIMIT);
    let statuses: Vec<String> = orders::domain::OrderStatus::ALL
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    assert_eq!(schemas["OrderStatus"]["enum"], json!(statuses));
    let params = &doc["components"]["parameters"];
    assert_eq!(
        params["IdempotencyKey"]["name"]
            .as_str()
            .map(str::to_lowercase)
            .as_deref(),
        Some(IDEMPOTENCY_HEADER)
    );
    assert_eq!(params["CorrelationId"]["name"], CORRELATION_HEADER);
    let created = &doc["paths"]["/orders"]["post"]["responses"]["201"]["headers"];
    assert!(created.get(IDEMPOTENT_REPLAY_HEADER).is_some());
    assert!(created.get("Location").is_some());
    assert!(
        doc["paths"]["/orders"]["post"]["requestBody"]["description"]
            .as_str()
            .is_some_and(|d| d.contains(&format!("{} KiB", MAX_BODY_BYTES / 1024)))
    );
}

/// One request that makes the stack give one documented answer.
struct Case {
    operation: &'static str,
    status: u16,
    code: &'static str,
    send: fn(&common::Client, &Ctx) -> reqwest::RequestBuilder,
}

struct Ctx {
    order_id: String,
}

fn post(c: &common::Client, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    c.http
        .post(format!("{}/orders", c.url))
        .header("content-type", "application/json")
        .body(body)
}

fn good_order() -> String {
    common::order(1, "2.50").to_string()
}

const CASES: &[Case] = &[
    Case {
        operation: "createOrder",
        status: 201,
        code: "",
        send: |c, _| post(c, good_order()),
    },
    Case {
        operation: "createOrder",
        status: 400,
        code: "VALIDATION_FAILED",
        send: |c, _| post(c, r#"{"customerName":"","items":[]}"#),
    },
    Case {
        operation: "createOrder",
        status: 400,
        code: "INVALID_JSON",
        send: |c, _| post(c, "{not json"),
    },
    Case {
        operation: "createOrder",
        status: 400,
        code: "INVALID_HEADER",
        send: |c, _| post(c, good_order()).header(IDEMPOTENCY_HEADER, "has space"),
    },
    Case {
        operation: "createOrder",
        status: 409,
        code: "IDEMPOTENCY_KEY_REUSED",
        send: |c, _| {
            post(c, common::order(2, "1.00").to_string()).header(IDEMPOTENCY_HEADER, "openapi-key")
        },
    },
    Case {
        operation: "createOrder",
        status: 413,
        code: "PAYLOAD_TOO_LARGE",
        send: |c, _| {
            post(
                c,
                format!(r#"{{"customerName":"{}"}}"#, "x".repeat(MAX_BODY_BYTES)),
            )
        },
    },
    Case {
        operation: "listOrders",
        status: 200,
        code: "",
        send: |c, _| c.http.get(format!("{}/orders?limit=1", c.url)),
    },
    Case {
        operation: "listOrders",
        status: 400,
        code: "INVALID_QUERY",
        send: |c, _| c.http.get(format!("{}/orders?limit=0", c.url)),
    },
    Case {
        operation: "listOrders",
        status: 400,
        code: "INVALID_NEXT_TOKEN",
        send: |c, _| c.http.get(format!("{}/orders?nextToken=forged", c.url)),
    },
    Case {
        operation: "getOrder",
        status: 200,
        code: "",
        send: |c, x| c.http.get(format!("{}/orders/{}", c.url, x.order_id)),
    },
    Case {
        operation: "getOrder",
        status: 400,
        code: "INVALID_ID",
        send: |c, _| c.http.get(format!("{}/orders/not-a-uuid", c.url)),
    },
    Case {
        operation: "getOrder",
        status: 404,
        code: "NOT_FOUND",
        send: |c, _| {
            c.http.get(format!(
                "{}/orders/00000000-0000-4000-8000-000000000000",
                c.url
            ))
        },
    },
    Case {
        operation: "health",
        status: 200,
        code: "",
        send: |c, _| c.http.get(format!("{}/health", c.url)),
    },
];

/// Answers that need a fault: the store failing (every dependency call), or the chaos layer
/// answering instead of the handler.
const FAULT_CASES: &[(&str, u16, &str)] = &[
    ("createOrder", 503, "DEPENDENCY_FAILED"),
    ("listOrders", 503, "DEPENDENCY_FAILED"),
    ("getOrder", 503, "DEPENDENCY_FAILED"),
    ("health", 503, ""),
];

/// Documented but never answered on purpose: `INTERNAL` is the body of a response the
/// function could not serialise, which its own types never cause.
const UNREACHABLE: &str = "INTERNAL";

fn request_for(c: &common::Client, operation: &str, ctx: &Ctx) -> reqwest::RequestBuilder {
    match operation {
        "createOrder" => post(c, good_order()),
        "listOrders" => c.http.get(format!("{}/orders", c.url)),
        "getOrder" => c.http.get(format!("{}/orders/{}", c.url, ctx.order_id)),
        "health" => c.http.get(format!("{}/health", c.url)),
        other => panic!("no request for {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_answer_is_one_the_stack_gives() {
    let doc = document();
    let ops: BTreeMap<String, &Value> = operations(&doc)
        .into_values()
        .map(|op| (op["operationId"].as_str().unwrap().to_owned(), op))
        .collect();
    let stack = Stack::fresh(&["--chaos-armed"]);
    let c = stack.client();
    let first = c
        .send(
            post(&c, common::order(1, "1.00").to_string())
                .header(IDEMPOTENCY_HEADER, "openapi-key"),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let ctx = Ctx {
        order_id: first.body["id"].as_str().unwrap().to_owned(),
    };

    let mut seen: BTreeSet<(String, u16, String)> = BTreeSet::new();
    let mut check = |operation: &str, status: u16, code: &str, reply: common::Reply| {
        assert_eq!(
            (reply.status, reply.body["code"].as_str().unwrap_or("")),
            (status, code),
            "{operation}: {}",
            reply.text
        );
        assert!(
            reply.headers.contains_key(CORRELATION_HEADER),
            "{operation} {status}: no {CORRELATION_HEADER}"
        );
        seen.insert((operation.to_owned(), status, code.to_owned()));
    };
    for case in CASES {
        let reply = c.send((case.send)(&c, &ctx)).await;
        check(case.operation, case.status, case.code, reply);
    }
    chaos_json(
        &stack,
        &["on", "--dependency-failure-rate", "1", "--for", "5m"],
    );
    for (operation, status, code) in FAULT_CASES {
        let reply = c.send(request_for(&c, operation, &ctx)).await;
        check(operation, *status, code, reply);
    }
    chaos_json(&stack, &["off"]);
    chaos_json(&stack, &["on", "--api-error-rate", "1", "--for", "5m"]);
    for operation in ops.keys() {
        let reply = c.send(request_for(&c, operation, &ctx)).await;
        check(operation, 503, "INJECTED_FAULT", reply);
    }

    let documented: BTreeSet<(String, u16, String)> = ops
        .iter()
        .flat_map(|(id, op)| {
            answers(&doc, op)
                .into_iter()
                .map(move |(s, code)| (id.clone(), s, code))
        })
        .filter(|(_, _, code)| code != UNREACHABLE)
        .collect();
    let never: Vec<_> = documented.difference(&seen).collect();
    assert!(
        never.is_empty(),
        "documented but never answered (provoke it here, or drop it from the document): {never:?}"
    );
    let undocumented: Vec<_> = seen.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "answered but not documented: {undocumented:?}"
    );
}
