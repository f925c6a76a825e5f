//! Traces, end to end: what the stack exports over OTLP (decoded with the official
//! opentelemetry-proto schema by a receiver in this test) and what its span store shows.
//! One order is one trace from the API to the processor, on SQLite and on SQS (moto); a
//! poisoned order's trace tells each failed receive, the fault and the move to the DLQ, and
//! after a redrive the processing that healed it; an exporter that cannot be reached changes
//! nothing for the orders.

mod common;

#[cfg(feature = "aws")]
use common::Moto;
use common::{Stack, chaos_json, dlq_rows, order, wait_for, workshop_ok};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// One span as the receiver decoded it.
#[derive(Debug, Clone)]
struct Span {
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    name: String,
    kind: SpanKind,
    attributes: HashMap<String, Value>,
    failed: bool,
    service: String,
}

impl Span {
    fn attr(&self, key: &str) -> &Value {
        self.attributes.get(key).unwrap_or(&Value::Null)
    }
}

fn any(v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> Value {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(AnyValue::StringValue(s)) => json!(s),
        Some(AnyValue::BoolValue(b)) => json!(b),
        Some(AnyValue::IntValue(i)) => json!(i),
        Some(AnyValue::DoubleValue(d)) => json!(d),
        other => json!(format!("{other:?}")),
    }
}

fn attrs(kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> HashMap<String, Value> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), any(&kv.value)))
        .collect()
}

/// An OTLP/HTTP receiver (`POST /v1/traces`, protobuf) on a free loopback port.
struct Receiver {
    endpoint: String,
    spans: Arc<Mutex<Vec<Span>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let spans: Arc<Mutex<Vec<Span>>> = Arc::default();
        let store = spans.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let store = store.clone();
                async move {
                    let request = ExportTraceServiceRequest::decode(body)
                        .expect("the body is an OTLP ExportTraceServiceRequest");
                    let mut got = store.lock().unwrap();
                    for rs in request.resource_spans {
                        let resource = rs
                            .resource
                            .map(|r| attrs(&r.attributes))
                            .unwrap_or_default();
                        let service = resource
                            .get("service.name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        for ss in rs.scope_spans {
                            for s in ss.spans {
                                got.push(Span {
                                    trace_id: hex(&s.trace_id),
                                    span_id: hex(&s.span_id),
                                    parent_span_id: hex(&s.parent_span_id),
                                    name: s.name.clone(),
                                    kind: SpanKind::try_from(s.kind)
                                        .unwrap_or(SpanKind::Unspecified),
                                    attributes: attrs(&s.attributes),
                                    failed: s.status.is_some_and(|st| st.code == 2),
                                    service: service.clone(),
                                });
                            }
                        }
                    }
                    // An empty ExportTraceServiceResponse: everything accepted.
                    (
                        [("content-type", "application/x-protobuf")],
                        Vec::<u8>::new(),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { endpoint, spans }
    }

    fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The order's trace as the receiver holds it, once its processing (the CONSUMER span and
/// its store update) has arrived.
async fn order_trace(receiver: &Receiver, order_id: &str) -> Vec<Span> {
    let mut trace = Vec::new();
    wait_for("the processor's spans at the OTLP receiver", async || {
        let spans = receiver.spans();
        let Some(consumer) = spans
            .iter()
            .find(|s| s.kind == SpanKind::Consumer && s.attr("order_id") == order_id)
        else {
            return false;
        };
        trace = spans
            .iter()
            .filter(|s| s.trace_id == consumer.trace_id)
            .cloned()
            .collect();
        trace.iter().any(|s| {
            s.parent_span_id == consumer.span_id
                && s.kind == SpanKind::Client
                && s.name.contains("Update")
                || s.parent_span_id == consumer.span_id && s.name.starts_with("UPDATE")
        })
    })
    .await;
    trace
}

/// The processor's status update, on either store.
fn is_update(s: &Span) -> bool {
    s.kind == SpanKind::Client
        && (s.attr("db.operation.name") == "UPDATE" || s.attr("rpc.method") == "UpdateItem")
}

fn one<'a>(trace: &'a [Span], what: &str, pick: impl Fn(&Span) -> bool) -> &'a Span {
    let found: Vec<&Span> = trace.iter().filter(|s| pick(s)).collect();
    assert!(!found.is_empty(), "no {what} span in {:#?}", names(trace));
    found[0]
}

fn names(trace: &[Span]) -> Vec<String> {
    trace
        .iter()
        .map(|s| format!("{:?} {}", s.kind, s.name))
        .collect()
}

/// Every span's parent is in the trace, except the root's (the API's SERVER span).
fn assert_parents_present(trace: &[Span]) {
    let ids: HashSet<&str> = trace.iter().map(|s| s.span_id.as_str()).collect();
    let orphans: Vec<String> = trace
        .iter()
        .filter(|s| !s.parent_span_id.is_empty() && !ids.contains(s.parent_span_id.as_str()))
        .map(|s| s.name.clone())
        .collect();
    assert!(
        orphans.is_empty(),
        "spans whose parent is missing: {orphans:?}"
    );
    let roots: Vec<&Span> = trace
        .iter()
        .filter(|s| s.parent_span_id.is_empty())
        .collect();
    assert_eq!(roots.len(), 1, "one root: {:?}", names(trace));
}

/// The chain the issue names, with the semantic conventions' attributes.
fn assert_order_chain(trace: &[Span], order_id: &str, correlation: &str, store: &str) {
    assert_parents_present(trace);
    let server = one(trace, "SERVER", |s| {
        s.kind == SpanKind::Server && s.attributes.contains_key("http.route")
    });
    assert_eq!(server.name, "POST /orders");
    assert_eq!(server.attr("http.request.method"), "POST");
    assert_eq!(server.attr("http.route"), "/orders");
    assert_eq!(server.attr("http.response.status_code"), 201);
    assert!(
        server.parent_span_id.is_empty(),
        "the API's span is the root"
    );

    let create = one(trace, "create-order invocation", |s| {
        s.attr("faas.name") == "create-order" && s.attr("faas.invocation_id").is_string()
    });
    assert_eq!(create.parent_span_id, server.span_id);
    assert_eq!(create.attr("faas.trigger"), "http");
    assert!(create.attr("faas.coldstart").is_boolean());
    assert_eq!(create.attr("cloud.provider"), "aws");

    let handler = one(trace, "create_order", |s| {
        s.attr("order_id") == order_id && s.kind == SpanKind::Internal
    });
    assert_eq!(handler.attr("correlation_id"), correlation);

    // The publish continues the create's trace from the outbox entry: a child of the create
    // handler's span, in the publisher's invocation, after the create has answered.
    let publish = one(trace, "publish_order", |s| s.name == "publish_order");
    assert_eq!(publish.parent_span_id, handler.span_id);
    assert_eq!(publish.attr("order_id"), order_id);
    assert_eq!(publish.attr("correlation_id"), correlation);
    let in_create_call = |s: &Span| {
        // A descendant of the create-order invocation that is not the later publish.
        let mut cur = Some(s);
        while let Some(span) = cur {
            if span.span_id == publish.span_id {
                return false;
            }
            if span.span_id == create.span_id {
                return true;
            }
            cur = trace.iter().find(|p| p.span_id == span.parent_span_id);
        }
        false
    };
    let writes: Vec<&Span> = trace
        .iter()
        .filter(|s| s.kind == SpanKind::Client && in_create_call(s))
        .collect();
    assert!(!writes.is_empty(), "the write: {:?}", names(trace));
    for w in &writes {
        match store {
            "sqlite" => {
                assert_eq!(w.attr("db.system.name"), "sqlite", "{w:?}");
                assert_eq!(w.attr("db.collection.name"), "orders");
                assert!(w.attr("db.operation.name").is_string());
            }
            _ => {
                assert_eq!(w.attr("rpc.system"), "aws-api", "{w:?}");
                assert_eq!(w.attr("rpc.service"), "DynamoDB");
                assert!(w.attr("rpc.method").is_string());
                assert!(w.attr("aws.dynamodb.table_names").is_string());
            }
        }
    }
    // One round trip on the create path: the conditional put (a transaction only with an
    // Idempotency-Key), no send; the message leaves from the outbox.
    let sends = trace
        .iter()
        .filter(|s| s.kind == SpanKind::Producer && in_create_call(s))
        .count();
    assert_eq!(sends, 0, "{:?}", names(trace));
    if store == "dynamodb" {
        let methods: Vec<&str> = writes
            .iter()
            .filter_map(|w| w.attr("rpc.method").as_str())
            .collect();
        assert_eq!(methods, ["PutItem"], "{:?}", names(trace));
    }
    let producer = one(trace, "PRODUCER", |s| {
        s.kind == SpanKind::Producer && s.parent_span_id == publish.span_id
    });
    assert_eq!(producer.attr("messaging.system"), "aws_sqs");
    assert_eq!(producer.attr("messaging.operation.type"), "send");
    assert!(producer.attr("messaging.destination.name").is_string());
    let message_id = producer.attr("messaging.message.id").clone();
    assert!(
        message_id.as_str().is_some_and(|m| !m.is_empty()),
        "{producer:?}"
    );

    let consumer = one(trace, "CONSUMER", |s| s.kind == SpanKind::Consumer);
    assert_eq!(
        consumer.parent_span_id, producer.span_id,
        "the processing continues the enqueue"
    );
    assert_eq!(consumer.attr("messaging.system"), "aws_sqs");
    assert_eq!(consumer.attr("messaging.operation.type"), "process");
    assert_eq!(consumer.attr("messaging.message.id"), &message_id);
    assert_eq!(
        consumer.attr("messaging.destination.name"),
        producer.attr("messaging.destination.name")
    );
    assert_eq!(consumer.attr("order_id"), order_id);
    assert_eq!(consumer.attr("correlation_id"), correlation);
    let update = one(trace, "the processor's store update", |s| {
        s.parent_span_id == consumer.span_id && is_update(s)
    });
    assert!(!update.failed);
}

/// Every log line of create-order and the processor about `order_id` carries its trace id,
/// and the span id of a span in it.
fn assert_logs_carry(stack: &Stack, trace: &[Span], order_id: &str) {
    let trace_id = &trace[0].trace_id;
    let ids: HashSet<&str> = trace.iter().map(|s| s.span_id.as_str()).collect();
    for function in ["create-order", "order-processor"] {
        let lines: Vec<Value> = stack
            .log(function)
            .into_iter()
            .filter(|l| l["order_id"] == order_id)
            .collect();
        assert!(
            !lines.is_empty(),
            "{function} logged nothing about {order_id}"
        );
        for l in &lines {
            assert_eq!(l["trace_id"], trace_id.as_str(), "{function}: {l}");
            assert!(
                ids.contains(l["span_id"].as_str().unwrap_or_default()),
                "{function}: {l}"
            );
            let xray = format!("1-{}-{}", &trace_id[..8], &trace_id[8..]);
            assert_eq!(l["xray_trace_id"], xray.as_str());
        }
    }
}

async fn create(stack: &Stack, correlation: &str) -> String {
    let c = stack.client();
    let r = c
        .post_raw(
            order(2, "3.00").to_string(),
            &[("x-correlation-id", correlation)],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(c.wait_final(&id).await["status"], "CONFIRMED");
    id
}

/// Outcome 1 (and the log half of 4): the local stack, SQLite and its emulated queue.
#[tokio::test(flavor = "multi_thread")]
async fn one_order_is_one_trace_from_the_api_to_the_processor() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start_with_env(
        dir.path(),
        &[],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.as_str())],
    );
    let id = create(&stack, "trace-local-1").await;
    let trace = order_trace(&receiver, &id).await;
    assert_order_chain(&trace, &id, "trace-local-1", "sqlite");
    assert!(
        trace.iter().all(|s| s.service == "orders"),
        "service.name of the resource"
    );
    assert_logs_carry(&stack, &trace, &id);
    // The stack's own span store holds the same trace.
    let view = console_trace(&stack, &id).await;
    assert_eq!(view["trace_ids"][0], trace[0].trace_id.as_str());
}

/// Outcome 2: `--backend aws` against moto: DynamoDB and SQS carry the same trace.
#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread")]
async fn with_sqs_the_processor_continues_the_producers_trace() {
    let receiver = Receiver::start().await;
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let mut env: Vec<(&str, String)> = moto.env();
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let stack = Stack::start_with_env(dir.path(), &["--backend", "aws"], &env);
    let id = create(&stack, "trace-aws-1").await;
    let trace = order_trace(&receiver, &id).await;
    assert_order_chain(&trace, &id, "trace-aws-1", "dynamodb");
    assert_logs_carry(&stack, &trace, &id);
}

async fn console_trace(stack: &Stack, id: &str) -> Value {
    let r = reqwest::get(format!("{}/api/trace?id={id}", stack.console))
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "GET /api/trace?id={id}: {}",
        r.status()
    );
    r.json().await.unwrap()
}

fn spans_named<'a>(view: &'a Value, kind: &str) -> Vec<&'a Value> {
    view["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == kind)
        .collect()
}

/// Outcome 3: each failed receive, the injected fault and the move to the DLQ are in the
/// poisoned order's trace; after the redrive, so is the processing that succeeded.
#[tokio::test(flavor = "multi_thread")]
async fn a_poisoned_orders_trace_tells_its_failures_the_dlq_and_the_redrive() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &["--chaos-armed", "--visibility-timeout", "1"]);
    chaos_json(&stack, &["on", "--poison-sku", "POISON-9"]);
    let c = stack.client();
    let r = c
        .create(
            &json!({"customerName": "P", "items": [{"sku": "POISON-9", "qty": 1, "price": 1.0}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    wait_for("the poisoned order in the DLQ", async || {
        dlq_rows(dir.path())
            .iter()
            .any(|m| m["body"]["orderId"] == id.as_str())
    })
    .await;
    let max = orders::settings::QUEUE.max_receive_count as usize;
    let mut view = Value::Null;
    wait_for("the DLQ move in the order's trace", async || {
        view = console_trace(&stack, &id).await;
        spans_named(&view, "producer")
            .iter()
            .any(|s| s["attributes"]["messaging.destination.name"] == "orders-dlq")
    })
    .await;
    assert_eq!(
        view["trace_ids"].as_array().unwrap().len(),
        1,
        "one trace: {view}"
    );
    let failed: Vec<&Value> = spans_named(&view, "consumer")
        .into_iter()
        .filter(|s| s["status"] == "ERROR")
        .collect();
    assert_eq!(failed.len(), max, "one failed CONSUMER span per receive");
    let counts: HashSet<i64> = failed
        .iter()
        .filter_map(|s| s["attributes"]["messaging.aws_sqs.receive_count"].as_i64())
        .collect();
    assert_eq!(counts, (1..=max as i64).collect::<HashSet<_>>());
    for s in &failed {
        let fault = s["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "chaos.fault")
            .unwrap_or_else(|| panic!("no chaos.fault event on {s}"));
        assert_eq!(fault["attributes"]["chaos.fault"], "PoisonMessage");
        assert_eq!(s["attributes"]["error.type"], "InjectedFault");
    }
    let summary = &view["summary"][0];
    // The DLQ's view of the message leads to the same trace.
    let dead = dlq_rows(dir.path());
    let row = dead
        .iter()
        .find(|m| m["body"]["orderId"] == id.as_str())
        .unwrap();
    assert_eq!(row["traceId"], summary["xray_trace_id"]);
    assert!(
        summary["faults"]
            .as_array()
            .unwrap()
            .contains(&json!("PoisonMessage"))
    );

    // Heal: chaos off, redrive from the CLI; the processing lands in the same trace.
    chaos_json(&stack, &["off"]);
    workshop_ok(&["dlq", "redrive"], Some(dir.path()));
    assert_eq!(c.wait_final(&id).await["status"], "CONFIRMED");
    wait_for("the healed processing in the order's trace", async || {
        view = console_trace(&stack, &id).await;
        spans_named(&view, "consumer")
            .iter()
            .any(|s| s["status"] != "ERROR")
    })
    .await;
    assert_eq!(
        view["trace_ids"].as_array().unwrap().len(),
        1,
        "still one trace: {view}"
    );
    let spans = view["spans"].as_array().unwrap();
    let healed = spans_named(&view, "consumer")
        .into_iter()
        .find(|s| s["status"] != "ERROR")
        .unwrap();
    assert!(
        spans
            .iter()
            .any(|s| s["parent_span_id"] == healed["span_id"]
                && s["attributes"]["db.operation.name"] == "UPDATE"),
        "the healed receive updated the order: {view}"
    );
    assert!(
        spans.iter().any(|s| s["kind"] == "producer"
            && s["attributes"]["messaging.aws_sqs.source_queue"] == "orders-dlq"),
        "the redrive is a span of the trace: {view}"
    );
    // Its log lines come with the trace.
    assert!(
        view["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["message"] == "status updated")
    );
}

/// Outcome 6: an endpoint where nothing listens costs the orders nothing.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_exporter_changes_nothing_for_the_orders() {
    // A privileged port (the stack's own listeners get ephemeral ones), checked to be closed.
    let port = 9;
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something listens on 127.0.0.1:{port}"
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start_with_env(
        dir.path(),
        &[],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())],
    );
    let c = stack.client();
    let mut ids = Vec::new();
    for i in 0..20 {
        let r = c.create(&order(1 + i % 3, "1.25")).await;
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        assert_eq!(c.wait_final(id).await["status"], "CONFIRMED");
    }
    // No function logged an error; the stack said once that spans are not leaving.
    for function in ["create-order", "order-processor"] {
        let errors: Vec<Value> = stack
            .log(function)
            .into_iter()
            .filter(|l| l["level"] == "ERROR")
            .collect();
        assert!(errors.is_empty(), "{function}: {errors:?}");
    }
    let export_warnings = || -> Vec<Value> {
        stack
            .log("workshop")
            .into_iter()
            .filter(|l| {
                l["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("spans could not be exported"))
            })
            .collect()
    };
    wait_for("the warning that spans are not leaving", async || {
        !export_warnings().is_empty()
    })
    .await;
    // More orders, more failed flushes: still that one warning.
    for _ in 0..5 {
        let r = c.create(&order(1, "1.25")).await;
        assert_eq!(r.status, 201, "{}", r.text);
        c.wait_final(r.body["id"].as_str().unwrap()).await;
    }
    assert_eq!(export_warnings().len(), 1, "one warning, not one per flush");
    // The local span store is unaffected.
    let view = console_trace(&stack, &ids[0]).await;
    assert!(!spans_named(&view, "consumer").is_empty());
}
